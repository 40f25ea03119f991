//! The `video` object of the API, as its owner sees it.

use serde::Serialize;
use shared::ApiError;
use shared::domain::clock::{rfc3339, rfc3339_millis};
use shared::domain::models::Catalogue;
use shared::domain::video::Job;
use shared::domain::video::{JOB_ID_PREFIX, JobStatus, Mode, is_id};
use utoipa::ToSchema;

/// The status a reader sees: a ready video past its retention reads `expired` (R15),
/// whether or not the purge has got to it yet.
pub fn visible_status(job: &Job, now: i64) -> JobStatus {
    match (job.status, job.expires_epoch) {
        (JobStatus::Ready, Some(exp)) if exp <= now => JobStatus::Expired,
        (s, _) => s,
    }
}

/// The `video` object.
#[derive(Serialize, ToSchema)]
pub struct Video {
    pub id: String,
    /// A ready video past its retention reads `expired`.
    pub status: JobStatus,
    /// Gone (null) once the video is deleted or expired.
    pub prompt: Option<String>,
    pub mode: Mode,
    /// The model (R42).
    pub model: String,
    /// The provider that has it or made it (R43); absent before it is submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub seconds: u32,
    pub aspect_ratio: String,
    pub audio: bool,
    pub cost: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Why a video failed or was rejected (`timed_out`, `provider_refused`, …); a
    /// rejected one names the rule (R46) and is appealed by its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<VideoError>,
    /// Only when `ready`: a link valid for 15 minutes (R17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// Always true (R21).
    pub ai_generated: bool,
    /// While queued or generating: the seconds likely left, from the model's recent
    /// median time to ready less the time already spent. Not part of the `ETag`: it
    /// counts down by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u32>,
    /// While the video is being made from an image: that image's upload, which a new
    /// video may use too ("make again"). Absent once it is done: its image is deleted
    /// then (R15), and a new video needs the image uploaded again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// The live share link, while there is one (R49).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<crate::sharing::ShareLink>,
}

/// Why a video ended without being made.
#[derive(Serialize, ToSchema, Clone, Debug, PartialEq, Eq)]
pub struct VideoError {
    /// `timed_out`, `provider_refused`, `provider_unavailable`, …
    pub code: String,
    /// Only for a rejected video: the rules broken, as categories (R46).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
}

/// The wait likely left for a video still being made; none for one that is not, or
/// when its model has no history (or it cannot be read: an estimate is never worth a
/// failed answer).
pub async fn eta(state: &crate::state::Services, job: &Job) -> Option<u32> {
    if !job.status.is_active() {
        return None;
    }
    let model = job
        .model
        .clone()
        .unwrap_or_else(|| state.catalogue.default_model().id.clone());
    let now = state.clock.epoch_secs();
    let times = state
        .recent_times
        .get(&model, now, || state.videos.ready_times(&model))
        .await?;
    shared::domain::video::eta_seconds(&times, now - job.created_epoch)
}

/// Each model's recent times to ready, as this process last read them: read again
/// once a minute at most, so a poll costs no extra round trip (an estimate a minute
/// old is as good as a new one).
#[derive(Default)]
pub struct RecentTimes(std::sync::Mutex<std::collections::HashMap<String, (i64, Vec<f64>)>>);

impl RecentTimes {
    const FRESH_SECS: i64 = 60;

    pub async fn get<F, Fut>(&self, model: &str, now: i64, read: F) -> Option<Vec<f64>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<f64>, shared::adapters::dynamo::StoreError>>,
    {
        if let Some((at, times)) = self.0.lock().ok()?.get(model)
            && now - at < Self::FRESH_SECS
        {
            return Some(times.clone());
        }
        let times = read().await.ok()?;
        // A model without history yet is kept so too, for as long: its first video's
        // time shows within the minute, and a poll never pays the read meanwhile.
        if let Ok(mut cache) = self.0.lock() {
            cache.insert(model.to_owned(), (now, times.clone()));
        }
        Some(times)
    }
}

pub async fn video_view(state: &crate::state::Services, job: &Job) -> Result<Video, ApiError> {
    let video = video_state(job, state.clock.epoch_secs(), &state.catalogue);
    complete(state, job, video, Wait::Omitted).await
}

/// Whether an answer says how long is left ([`eta`]): a read does, the answer to a
/// submission does not (it is counted in the submission's request budget).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Shown,
    Omitted,
}

/// `video` (the state of `job`) with what is made afresh for each answer: its
/// download link, its share link and, if asked, the wait.
pub async fn complete(
    state: &crate::state::Services,
    job: &Job,
    mut video: Video,
    wait: Wait,
) -> Result<Video, ApiError> {
    video.download_url = download_link(state, job, video.status).await?;
    if video.status == JobStatus::Ready {
        video.shared = crate::sharing::link_of(state, job);
    }
    if wait == Wait::Shown {
        video.eta_seconds = eta(state, job).await;
    }
    Ok(video)
}

/// The video as it stands, without its link: what its entity tag is made of.
pub fn video_state(job: &Job, now: i64, catalogue: &Catalogue) -> Video {
    Video {
        id: job.id.to_string(),
        status: visible_status(job, now),
        prompt: job.prompt.clone(),
        mode: job.mode,
        // A job stored before models existed was made by the default model.
        model: job
            .model
            .clone()
            .unwrap_or_else(|| catalogue.default_model().id.clone()),
        provider: job.provider.clone(),
        seconds: job.settings.seconds,
        aspect_ratio: job.settings.aspect_ratio.clone(),
        audio: job.settings.audio,
        cost: job.cost,
        created_at: rfc3339_millis(job.created_at),
        completed_at: job.completed_at.map(rfc3339),
        expires_at: job.expires_at.map(rfc3339),
        error: job.error.clone().map(|code| VideoError {
            categories: (job.status == JobStatus::Rejected)
                .then(|| vec![shared::domain::moderation::category::PROVIDER_POLICY.to_owned()]),
            code,
        }),
        download_url: None,
        ai_generated: true,
        eta_seconds: None,
        upload_id: job.upload_id.clone().filter(|_| job.status.is_active()),
        shared: None,
    }
}

/// The entity tag of a video's state (`GET /v1/videos/{id}`'s `ETag`): it changes
/// whenever anything but the link does. The link is left out: it is signed anew on
/// every read, and a client holding the state may ask for a fresh one at any time.
pub fn entity_tag(video: &Video) -> String {
    let text = serde_json::to_string(video).unwrap_or_default();
    format!("\"{}\"", &shared::domain::crypto::sha256_hex(&text)[..32])
}

pub async fn download_link(
    state: &crate::state::Services,
    job: &Job,
    status: JobStatus,
) -> Result<Option<String>, ApiError> {
    Ok(match (&job.output_key, status) {
        // R17: a short-lived link for the owner only.
        (Some(key), JobStatus::Ready) => Some(
            state
                .blobs
                .presign_get(
                    &state.outputs_bucket,
                    key,
                    state.policy.download_link_ttl,
                    Some(&format!("{}.mp4", job.id)),
                )
                .await?,
        ),
        _ => None,
    })
}

/// The caller's job, or 404 exactly as for one that does not exist (R36).
pub async fn owned_job(
    state: &crate::state::Services,
    account_id: &str,
    id: &str,
) -> Result<Job, ApiError> {
    if !is_id(JOB_ID_PREFIX, id) {
        return Err(ApiError::NotFound);
    }
    state
        .videos
        .get(id)
        .await?
        .filter(|j| j.account_id == account_id)
        .ok_or(ApiError::NotFound)
}
