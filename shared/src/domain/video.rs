//! Video jobs and their state machine (R13, R15). Plain Rust, no I/O.
//!
//! ```text
//! queued ──▶ generating ──▶ ready ──(retention)──▶ expired
//!   │            │            │
//!   ├──▶ failed ◀┘            └──▶ deleted
//!   ├──▶ deleted ◀── generating
//!   └──▶ rejected ◀── generating
//! ```
//! `failed`, `rejected` and `deleted`-before-`ready` refund the job's cost exactly once.

use chrono::{DateTime, Utc};

use super::ids::{AccountId, JobId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Generating,
    Ready,
    Failed,
    Rejected,
    Expired,
    Deleted,
}

impl JobStatus {
    pub const ALL: [Self; 7] = [
        Self::Queued,
        Self::Generating,
        Self::Ready,
        Self::Failed,
        Self::Rejected,
        Self::Expired,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Generating => "generating",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "generating" => Self::Generating,
            "ready" => Self::Ready,
            "failed" => Self::Failed,
            "rejected" => Self::Rejected,
            "expired" => Self::Expired,
            "deleted" => Self::Deleted,
            _ => return None,
        })
    }

    /// Still being worked on: the background steps act only on these.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Generating)
    }

    /// The states from which a job may become `to`: the store conditions every status
    /// change on them, so this machine is the only statement of the transitions.
    pub fn sources(to: Self) -> Vec<Self> {
        Self::ALL.into_iter().filter(|s| s.can_become(to)).collect()
    }

    /// Whether a job in this state may move to `to`.
    pub fn can_become(self, to: Self) -> bool {
        use JobStatus::*;
        matches!(
            (self, to),
            (Queued, Generating | Failed | Rejected | Deleted)
                // A provider's moderation can refuse a job it accepted (R43).
                | (Generating, Ready | Failed | Rejected | Deleted)
                | (Ready, Expired | Deleted)
                | (Expired, Deleted)
                | (Failed | Rejected, Deleted)
        )
    }

    /// Leaving an active state for one of these gives the credits back.
    pub fn refunds(self) -> bool {
        matches!(self, Self::Failed | Self::Rejected | Self::Deleted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Text,
    Image,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
        }
    }
}

/// Every aspect ratio a model may offer (each model offers some of them).
pub const ASPECT_RATIOS: [&str; 3] = ["16:9", "9:16", "1:1"];
pub const PROMPT_MAX_CHARS: usize = 2000;

/// What the user asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoSettings {
    pub seconds: u32,
    pub aspect_ratio: String,
    pub audio: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("prompt must not be empty")]
    EmptyPrompt,
    #[error("prompt is longer than {PROMPT_MAX_CHARS} characters")]
    PromptTooLong,
}

/// The prompt without its surrounding blanks. Its length is counted as sent, and a
/// blank is what JSON Schema's `\s` calls one (white space and the separators
/// U+001C–U+001F), so the API's schema (`maxLength`, `pattern: \S`) says exactly what is
/// accepted.
pub fn check_prompt(prompt: &str) -> Result<&str, SettingsError> {
    if prompt.chars().count() > PROMPT_MAX_CHARS {
        return Err(SettingsError::PromptTooLong);
    }
    let blank = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    let p = prompt.trim_matches(blank);
    if p.is_empty() {
        return Err(SettingsError::EmptyPrompt);
    }
    Ok(p)
}

/// Id of a job. With an `Idempotency-Key`, derived from the account and the key so a
/// retried POST names the same job (and is charged once); otherwise random.
pub fn job_id(account_id: &str, idempotency_key: Option<&str>) -> String {
    match idempotency_key {
        Some(key) => {
            let digest = crate::domain::crypto::sha256_hex(&format!("{account_id}\0{key}"));
            format!("{JOB_ID_PREFIX}{}", &digest[..32])
        }
        None => format!("{JOB_ID_PREFIX}{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Whether `s` has the shape of an id this service gives out (`{prefix}` and 32 hex
/// digits). Anything else is answered "not found" before it reaches storage.
pub fn is_id(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub const JOB_ID_PREFIX: &str = "vid_";
/// The provider of a job stored before jobs named theirs: the only one there was.
pub const LEGACY_PROVIDER: &str = "fal";
pub const UPLOAD_ID_PREFIX: &str = "upl_";

/// Key of a job's output in the outputs bucket; the `deliver` step reads the job id
/// back from it.
pub fn output_key(job_id: &str) -> String {
    format!("videos/{job_id}.mp4")
}

/// The job id an output key names, if it is one.
pub fn job_id_of_output(key: &str) -> Option<&str> {
    key.strip_prefix("videos/")?
        .strip_suffix(".mp4")
        .filter(|id| is_id(JOB_ID_PREFIX, id))
}

/// Prefix of the provider's files as `generate` stores them, before `stamp` signs
/// their content credentials into the output (R41). Its own lifecycle rule (a day)
/// and notification (to `stamp`) hang on this prefix.
pub const STAGING_PREFIX: &str = "staging/";

/// Key of a job's unstamped file in the outputs bucket.
pub fn staging_key(job_id: &str) -> String {
    format!("{STAGING_PREFIX}{job_id}.mp4")
}

/// The job id a staging key names, if it is one.
pub fn job_id_of_staging(key: &str) -> Option<&str> {
    key.strip_prefix(STAGING_PREFIX)?
        .strip_suffix(".mp4")
        .filter(|id| is_id(JOB_ID_PREFIX, id))
}

/// Every key a job's files may have in the outputs bucket: the stamped output and,
/// while it is being stamped, the staging copy. Deleting a video deletes both.
pub fn outputs_of(job_id: &str) -> [String; 2] {
    [output_key(job_id), staging_key(job_id)]
}

#[cfg(test)]
mod tests {
    use super::JobStatus::*;
    use super::*;

    #[test]
    fn output_keys_name_their_job() {
        let id = "vid_0123456789abcdef0123456789abcdef";
        assert_eq!(job_id_of_output(&output_key(id)), Some(id));
        assert_eq!(job_id_of_output("videos/vid_abc123.mp4"), None);
        assert_eq!(job_id_of_output("videos/../x.mp4"), None);
        assert_eq!(job_id_of_output("other/vid_1.mp4"), None);
    }

    #[test]
    fn staging_keys_name_their_job_and_are_never_outputs() {
        let id = "vid_0123456789abcdef0123456789abcdef";
        assert_eq!(job_id_of_staging(&staging_key(id)), Some(id));
        assert_eq!(job_id_of_output(&staging_key(id)), None);
        assert_eq!(job_id_of_staging(&output_key(id)), None);
        assert_eq!(job_id_of_staging("staging/../x.mp4"), None);
        assert_eq!(outputs_of(id), [output_key(id), staging_key(id)]);
    }

    #[test]
    fn r15_r11_the_state_machine() {
        assert!(Queued.can_become(Generating));
        assert!(Generating.can_become(Ready));
        assert!(Ready.can_become(Expired));
        assert!(
            !Ready.can_become(Failed),
            "a delivered video cannot fail later"
        );
        assert!(!Failed.can_become(Ready));
        assert!(!Deleted.can_become(Ready));
        assert!(Failed.refunds() && Rejected.refunds() && Deleted.refunds());
        assert!(!Ready.refunds());
        for s in [
            Queued, Generating, Ready, Failed, Rejected, Expired, Deleted,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn prompts_are_checked() {
        assert_eq!(check_prompt("   "), Err(SettingsError::EmptyPrompt));
        assert!(check_prompt(&"x".repeat(2001)).is_err());
    }

    #[test]
    fn idempotency_keys_name_the_same_job_per_account() {
        assert_eq!(job_id("a", Some("k")), job_id("a", Some("k")));
        assert_ne!(job_id("a", Some("k")), job_id("b", Some("k")));
        assert_ne!(job_id("a", None), job_id("a", None));
        assert!(is_id(JOB_ID_PREFIX, &job_id("a", Some("k"))));
        assert!(is_id(JOB_ID_PREFIX, &job_id("a", None)));
        assert!(!is_id(JOB_ID_PREFIX, "vid_../../x"));
        assert!(!is_id(UPLOAD_ID_PREFIX, &job_id("a", None)));
    }
}

/// A video job as stored: what was asked, its state, and where its files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub account_id: AccountId,
    /// To the millisecond, which also orders a person's videos.
    pub created_at: DateTime<Utc>,
    pub created_epoch: i64,
    pub status: JobStatus,
    /// Gone once the video is deleted.
    pub prompt: Option<String>,
    pub mode: Mode,
    pub settings: VideoSettings,
    pub cost: i64,
    pub upload_id: Option<String>,
    pub input_key: Option<String>,
    pub output_key: Option<String>,
    /// Our model (R42); `None` for a job stored before models existed, which the
    /// catalogue's default model stands for.
    pub model: Option<String>,
    /// The provider the job is at now, or was made by (R43); `None` before its first
    /// submission (and for a job stored before failover, whose provider was fal).
    pub provider: Option<String>,
    /// The providers that had the job and failed it, in order: it goes to each at most
    /// once (R43).
    pub tried: Vec<String>,
    /// Seconds added to the generation deadline, one stated amount per move to
    /// another provider (R43).
    pub deadline_extra: i64,
    /// When the current provider accepted the job (epoch seconds).
    pub submitted_epoch: Option<i64>,
    /// The provider's own reference to the request, opaque to everything but the
    /// provider's module.
    pub provider_handle: Option<String>,
    pub submits: u32,
    pub completed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub expires_epoch: Option<i64>,
    pub error: Option<String>,
    pub notified: bool,
    /// A hash of what was asked (prompt, image, settings): a replay of the
    /// `Idempotency-Key` must ask the same.
    pub request_hash: Option<String>,
    /// The current polling chain (see `GenerateMessage::token`).
    pub poll_token: Option<String>,
    /// When the job was last put on the generate queue (epoch seconds).
    pub enqueued_epoch: i64,
    /// R16: attempts at deleting the provider's copy that the provider refused so far,
    /// and when the first was refused (epoch seconds): the purge's backoff and report.
    pub cleanup_tries: u32,
    pub cleanup_since: Option<i64>,
    /// Its live share link, if the owner shared it (R49).
    pub share: Option<crate::domain::sharing::ShareState>,
}

impl Job {
    /// A job as it is asked for, at `created` (to the millisecond, which also orders a
    /// person's videos): queued, for text, nothing yet done with it. What the rest of
    /// its life adds is written by its steps.
    pub fn queued(
        id: JobId,
        account_id: AccountId,
        created: DateTime<Utc>,
        prompt: String,
        settings: VideoSettings,
        cost: i64,
    ) -> Self {
        Self {
            id,
            account_id,
            created_at: created,
            created_epoch: created.timestamp(),
            status: JobStatus::Queued,
            prompt: Some(prompt),
            mode: Mode::Text,
            settings,
            cost,
            upload_id: None,
            input_key: None,
            output_key: None,
            model: None,
            provider: None,
            tried: Vec::new(),
            deadline_extra: 0,
            submitted_epoch: None,
            provider_handle: None,
            submits: 0,
            completed_at: None,
            expires_at: None,
            expires_epoch: None,
            error: None,
            notified: false,
            request_hash: None,
            poll_token: None,
            enqueued_epoch: created.timestamp(),
            cleanup_tries: 0,
            cleanup_since: None,
            share: None,
        }
    }

    /// When the job's generation time runs out (epoch seconds): `deadline` seconds
    /// after it was made, plus what moves to another provider added (R13, R43).
    pub fn deadline_epoch(&self, deadline: i64) -> i64 {
        self.created_epoch + deadline + self.deadline_extra
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub owner: String,
    pub key: String,
    pub content_type: String,
    pub size: u64,
    pub created_at: String,
    /// When the upload link expires (epoch seconds).
    pub expires_epoch: i64,
    /// When the record goes with its input (R15, epoch seconds): its TTL, and read as
    /// gone from then on.
    pub retained_until: i64,
    /// Its image was deleted when the last video made from it was done: no new video
    /// may use it.
    pub released: bool,
}

/// How many recent times to ready are kept per model for the wait's estimate (R49's
/// library issue: "a small rolling statistic kept per model").
pub const READY_TIMES_KEPT: usize = 20;

/// The wait left for a video still queued or generating: the model's recent median time
/// to ready, less the time already spent (never below zero); none without history.
pub fn eta_seconds(recent: &[f64], spent_secs: i64) -> Option<u32> {
    if recent.is_empty() {
        return None;
    }
    let mut sorted = recent.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mid = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    };
    Some((median - spent_secs as f64).max(0.0).round() as u32)
}

#[cfg(test)]
mod eta_tests {
    use super::eta_seconds;

    #[test]
    fn the_wait_left_is_the_recent_median_less_the_time_spent() {
        assert_eq!(eta_seconds(&[], 0), None);
        assert_eq!(eta_seconds(&[40.0, 10.0, 100.0], 0), Some(40));
        assert_eq!(eta_seconds(&[40.0, 10.0, 100.0, 20.0], 5), Some(25));
        assert_eq!(eta_seconds(&[30.0], 45), Some(0), "never below zero");
    }
}
