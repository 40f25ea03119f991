//! POST /v1/videos: checks, moderation, the debit and the job, then the generate queue.
//!
//! Order matters: everything that can refuse runs before anything is spent, and the
//! prompt leaves the service (to moderation) only after the local personal-data check
//! passed. Every refusal costs nothing (R18–R20).

use crate::moderation::Verdict;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use serde::Deserialize;
use shared::ApiError;
use shared::adapters::rekognition::ScreeningError;
use shared::adapters::sqs::GenerateMessage;
use shared::domain::clock::rfc3339_millis;
use shared::domain::ids::{AccountId, JobId};
use shared::domain::ledger::EntryKind;
use shared::domain::models::{Ask, Catalogue};
use shared::domain::moderation::{ImageVerdict, Refusal, RefusalKind, category, refusal_id};
use shared::domain::sensitive;
use shared::domain::video::{Job, Upload};
use shared::domain::video::{
    JobStatus, Mode, UPLOAD_ID_PREFIX, VideoSettings, check_prompt, is_id, job_id,
};
use shared::edge::http::json::whole_opt;
use shared::edge::http::{ApiJson, AuthUser, ClientIp};
use shared::edge::openapi::Problem;
use shared::edge::problem::Statement;
use shared::edge::problem::within_limit;
use utoipa::ToSchema;

use crate::state::VideosState;
use crate::view::{Video, video_view};

#[derive(Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// What to make; surrounding blanks are dropped, and personal data is refused (R19).
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    prompt: String,
    /// An upload of the caller's (`POST /v1/uploads`) for image-to-video.
    upload_id: Option<String>,
    /// A model of `GET /v1/models`; the catalogue's default when absent (R42).
    #[schema(min_length = 1, max_length = 64)]
    model: Option<String>,
    /// A length the model makes (`GET /v1/models`); its longest by default.
    #[serde(default, deserialize_with = "whole_opt")]
    #[schema(minimum = 1, maximum = 60)]
    seconds: Option<u32>,
    /// An aspect ratio the model makes; its first by default.
    aspect_ratio: Option<AspectRatio>,
    /// Synchronized audio; on by default when the model makes it.
    audio: Option<bool>,
    /// The person's statement that everyone shown in the image agrees to appear in a
    /// video, or is them (R45); needed when the image shows a face.
    #[serde(default)]
    likeness_confirmed: bool,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
pub enum AspectRatio {
    #[serde(rename = "16:9")]
    Landscape,
    #[serde(rename = "9:16")]
    Portrait,
    #[serde(rename = "1:1")]
    Square,
}

impl AspectRatio {
    fn as_str(self) -> &'static str {
        match self {
            Self::Landscape => "16:9",
            Self::Portrait => "9:16",
            Self::Square => "1:1",
        }
    }
}

/// The answer to a submission: the video as it is now (`queued` when new; a replay of
/// the same `Idempotency-Key` shows the job's current state).
async fn accepted(
    state: &crate::state::Services,
    job: &Job,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<Video>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/videos/{}", job.id))],
        Json(video_view(state, job).await?),
    ))
}

/// `Idempotency-Key`: 1 to 255 visible ASCII characters.
const IDEMPOTENCY_KEY_MAX: usize = 255;

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .filter(|k| {
            (1..=IDEMPOTENCY_KEY_MAX).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::InvalidField(
                "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
            )
        })?;
    Ok(Some(key.to_owned()))
}

#[utoipa::path(
    post,
    path = "/v1/videos",
    tag = "videos",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request the same job, charged once", min_length = 1, max_length = 255, pattern = r"^[!-~]+$"),
    ),
    request_body(content = SubmitRequest, content_type = "application/json"),
    security(("session" = [])),
    responses(
        (status = 202, description = "Queued and charged: the new video", body = Video,
            headers(("Location" = String, description = "The video's URL, to follow its progress"))),
        (status = 402, description = "`insufficient_credits`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the upload is not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`idempotency_key_spent`: the video this key made was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_request`, `prompt_rejected` (moderation), `image_rejected` (with `categories`), `minor_in_image`, `likeness_statement_required` (the image shows a face; send `likeness_confirmed: true`), `sensitive_data_in_prompt` (with `kinds`) or `invalid_upload` (including an image that cannot be screened: JPEG or PNG only), `idempotency_key_reused` (the key was used for another request), `unknown_model`, `model_unsupported` (the model does not make that mode, length, aspect ratio or audio); none costs anything. A content refusal (`prompt_rejected`, `image_rejected`, `minor_in_image`) carries `refusal_id`, `categories` and `appeal_url` (R46); a resent request with the same `Idempotency-Key` gets the same refusal, not screened or counted again", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
        (status = 503, description = "`moderation_unavailable` (prompt moderation or image screening cannot answer) or `service_unavailable`; nothing was charged", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn submit(
    State(state): State<VideosState>,
    user: AuthUser,
    ip: ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SubmitRequest>,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<Video>), ApiError> {
    let asked = parse(&user.account_id, &headers, &req, &state.catalogue)?;
    let (upload, cost) = match guard(&state, &user.account_id, &ip, &asked).await? {
        Guarded::Replay(job) => return replayed(&state, &job, &asked.hash).await,
        Guarded::New { upload, cost } => (upload, cost),
    };
    // Its usage row was written beside the checks: stored before anything is spent.
    user.usage_recorded().await?;
    // The debit with its job, and the job's message to `generate`, at once: the
    // message may arrive before the commit (`generate` looks again shortly while it
    // is young), or name a job that is never committed (dropped once it is old).
    let token = uuid::Uuid::new_v4().simple().to_string();
    let message = GenerateMessage {
        job_id: asked.id.to_string(),
        token: Some(token.clone()),
        completed: None,
        stop: false,
        sent_epoch: Some(state.clock.epoch_secs()),
    };
    let (charged, sent) = tokio::join!(
        charge(&state, &user.account_id, &asked, upload, cost, token),
        state
            .queue
            .send_generate(&message, std::time::Duration::ZERO)
    );
    let job = match charged? {
        Charged::New(job) => job,
        // The same key raced itself: the other request made the job (and queued it;
        // the message sent here names a polling chain that is not the job's).
        Charged::Raced(job) => return replayed(&state, &job, &asked.hash).await,
    };
    if let Err(e) = sent {
        // The job is stored and charged: it is accepted, and queued later, as a job
        // whose message was lost is (R13): by the sweep once it has waited
        // `requeue_after`, or by the client's retry with its key. Ending it here would
        // answer that retry with a failed video, the key spent on nothing.
        tracing::warn!(event = "enqueue_failed", job_id = %job.id, error = %e, "could not queue the job; it is queued again later");
    }
    accepted(&state, &job).await
}

/// What was asked, checked on its own (no I/O).
struct Asked<'a> {
    key: Option<String>,
    prompt: &'a str,
    upload_id: Option<&'a str>,
    settings: VideoSettings,
    /// Our model (R42) and its price for these settings.
    model: String,
    cost: i64,
    /// The job's id: derived from the key when there is one, so a retry finds it.
    id: JobId,
    /// What was asked, as a hash (see [`request_hash`]).
    hash: String,
    /// The likeness statement (R45): not part of what was asked, so a request resent
    /// with it after `likeness_statement_required` is the same request.
    likeness_confirmed: bool,
}

fn parse<'a>(
    account_id: &str,
    headers: &HeaderMap,
    req: &'a SubmitRequest,
    catalogue: &Catalogue,
) -> Result<Asked<'a>, ApiError> {
    let key = idempotency_key(headers)?;
    let prompt = check_prompt(&req.prompt).map_err(|e| ApiError::InvalidField(e.to_string()))?;
    let upload_id = req.upload_id.as_deref();
    // R42: the model's lengths, aspect ratios, audio and price.
    let model = catalogue.get(req.model.as_deref())?;
    let fitted = model.fit(Ask {
        mode: Some(if upload_id.is_some() {
            Mode::Image
        } else {
            Mode::Text
        }),
        seconds: req.seconds,
        aspect_ratio: req.aspect_ratio.map(AspectRatio::as_str),
        audio: req.audio,
    })?;
    let settings = VideoSettings {
        seconds: fitted.seconds,
        aspect_ratio: fitted.aspect_ratio,
        audio: fitted.audio,
    };
    Ok(Asked {
        id: JobId::new(job_id(account_id, key.as_deref())),
        hash: request_hash(prompt, upload_id, &model.id, &settings),
        key,
        prompt,
        upload_id,
        settings,
        model: model.id.clone(),
        cost: fitted.cost,
        likeness_confirmed: req.likeness_confirmed,
    })
}

/// What the guard found: a replay of an earlier request, or a new one that may be
/// charged (its upload checked, its cost covered, its prompt allowed).
enum Guarded {
    Replay(Box<Job>),
    New { upload: Option<Upload>, cost: i64 },
}

/// Everything that can refuse, before anything is spent: the limits (replays count
/// too, R39), a replay, personal data (R19: never sent out, not even to moderation),
/// the upload (R14, R36), the credits (a cheap read, so no moderation call for what
/// cannot be paid), moderation (R18, R20).
async fn guard(
    state: &crate::state::Services,
    account_id: &AccountId,
    ip: &ClientIp,
    asked: &Asked<'_>,
) -> Result<Guarded, ApiError> {
    let now = state.clock.epoch_secs();
    let ip = ip.limit_subject();
    // The limits, the replay and the balance are independent reads (and the limits'
    // counting writes): one round trip for all of them. Whatever they find, nothing
    // is spent before every check has passed.
    let earlier_refusal = refusal_id(&asked.id);
    let (by_account, by_ip, (replay, refused), balance, upload_record) = tokio::join!(
        within_limit(
            &state.limits,
            "videos_account",
            account_id,
            state.policy.videos_per_account,
            now,
        ),
        within_limit(
            &state.limits,
            "videos_ip",
            &ip,
            state.policy.videos_per_ip,
            now,
        ),
        async {
            match asked.key {
                // A resent request finds its job, or the refusal it got.
                Some(_) => tokio::join!(
                    state.videos.get(&asked.id),
                    state
                        .refusals
                        .moderation
                        .refusal(account_id, &earlier_refusal)
                ),
                None => (Ok(None), Ok(None)),
            }
        },
        state.ledger.balance(account_id),
        // The upload's record beside them: its checks need it first.
        async {
            match asked.upload_id {
                Some(id) if is_id(UPLOAD_ID_PREFIX, id) => state.videos.get_upload(id, now).await,
                _ => Ok(None),
            }
        }
    );
    by_account?;
    by_ip?;
    if let Some(job) = replay? {
        return Ok(Guarded::Replay(Box::new(job)));
    }
    if let Some(refusal) = refused? {
        // Refused before: the same answer, not screened or counted again (R45); a
        // refused image is deleted again, should the first deletion have failed.
        drop_refused_image(state, &refusal, asked.upload_id).await;
        return Err(statement(state, &refusal));
    }
    let kinds = sensitive::detect(asked.prompt);
    if !kinds.is_empty() {
        tracing::info!(event = "prompt_refused", reason = "sensitive_data", account_id = %account_id, "prompt refused");
        return Err(ApiError::SensitiveData(
            kinds.iter().map(|k| k.as_str()).collect(),
        ));
    }
    let upload = match asked.upload_id {
        Some(_) => Some(checked_upload(state, account_id, upload_record?).await?),
        None => None,
    };
    let cost = asked.cost;
    if balance? < cost {
        return Err(ApiError::InsufficientCredits);
    }
    // The prompt's moderation and the image's screening at once: one round trip.
    let (prompt, image) = tokio::join!(state.moderation.screen(asked.prompt, &asked.id), async {
        match &upload {
            Some(u) => Some(state.screening.screen(&u.key).await),
            None => None,
        }
    });
    let refusal = |kind, categories: Vec<&str>| {
        state.refusals.new_refusal(
            account_id,
            &asked.id,
            kind,
            categories.into_iter().map(str::to_owned).collect(),
            0,
        )
    };
    match prompt {
        Ok(Verdict::Allow) => {}
        Ok(Verdict::Deny) => {
            tracing::info!(event = "prompt_refused", reason = "moderation", account_id = %account_id, "prompt refused");
            let refused = refusal(RefusalKind::Prompt, vec![category::PROMPT_POLICY]);
            return Err(refuse(state, refused, asked.upload_id).await?);
        }
        Err(e) => {
            tracing::warn!(event = "moderation_unavailable", error = %e, "moderation unavailable");
            return Err(ApiError::ModerationUnavailable);
        }
    }
    let verdict = match image {
        None => ImageVerdict::Clear,
        Some(Ok(found)) => state
            .policy
            .screening
            .judge(&found, asked.likeness_confirmed),
        Some(Err(ScreeningError::Unavailable(why))) => {
            // Never let an image through unscreened (R45).
            tracing::warn!(event = "screening_unavailable", error = %why, "image screening unavailable");
            return Err(ApiError::ModerationUnavailable);
        }
        Some(Err(ScreeningError::Unreadable(why))) => {
            tracing::info!(event = "image_unscreenable", error = %why, "the image cannot be screened");
            return Err(ApiError::InvalidUpload(
                "the image cannot be checked: use a JPEG or PNG image of at least 80 × 80 pixels"
                    .into(),
            ));
        }
    };
    match verdict {
        ImageVerdict::Clear => Ok(Guarded::New { upload, cost }),
        ImageVerdict::NeedsLikenessStatement => Err(ApiError::LikenessStatementRequired),
        ImageVerdict::Rejected(categories) => {
            tracing::info!(event = "image_refused", reason = "screening", account_id = %account_id, "image refused");
            Err(refuse(
                state,
                refusal(RefusalKind::Image, categories),
                asked.upload_id,
            )
            .await?)
        }
        ImageVerdict::Minor => {
            tracing::info!(event = "image_refused", reason = "minor", account_id = %account_id, "image refused");
            Err(refuse(
                state,
                refusal(RefusalKind::Minor, vec![category::MINOR]),
                asked.upload_id,
            )
            .await?)
        }
    }
}

/// Records a refusal at submission (and its violation, R20, R45), deletes a refused
/// image at once, and answers its statement of reasons (R46).
async fn refuse(
    state: &crate::state::Services,
    refusal: Refusal,
    upload_id: Option<&str>,
) -> Result<ApiError, ApiError> {
    let recorded = state.refusals.record(refusal, &state.enforcement).await?;
    drop_refused_image(state, &recorded.refusal, upload_id).await;
    Ok(statement(state, &recorded.refusal))
}

/// A refused image goes at once (R45); its upload record expires with its link. A
/// deletion that fails is tried again by a resend, and the input's lifecycle rule
/// removes it within a day in any case.
async fn drop_refused_image(
    state: &crate::state::Services,
    refusal: &Refusal,
    upload_id: Option<&str>,
) {
    if !matches!(refusal.kind, RefusalKind::Image | RefusalKind::Minor) {
        return;
    }
    let Some(upload_id) = upload_id.filter(|id| is_id(UPLOAD_ID_PREFIX, id)) else {
        return;
    };
    // An upload's object is keyed by its id (`uploads.rs`); one that is not the
    // caller's never got this far (`checked_upload`), nor has a refusal of theirs. One
    // a job still being made uses stays until that job is done.
    let dropped = match state.videos.release_upload(upload_id, None).await {
        Ok(false) => return,
        Ok(true) => state
            .blobs
            .delete(&state.inputs_bucket, upload_id)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = dropped {
        tracing::warn!(event = "refused_image_kept", refusal_id = %refusal.id, error = %e, "could not delete a refused image");
    }
}

/// A recorded refusal as the API answers it (R46).
fn statement(state: &crate::state::Services, refusal: &Refusal) -> ApiError {
    let s = Statement {
        refusal_id: refusal.id.clone(),
        categories: refusal.categories.clone(),
        appeal_url: state.refusals.appeal_url(&refusal.id),
    };
    match refusal.kind {
        RefusalKind::Image => ApiError::ImageRejected(s),
        RefusalKind::Minor => ApiError::MinorInImage(s),
        RefusalKind::Prompt | RefusalKind::Output | RefusalKind::Removal => {
            ApiError::PromptRejected(s)
        }
    }
}

/// How the charge went: the new job, or the one the same key made meanwhile.
enum Charged {
    New(Box<Job>),
    Raced(Box<Job>),
}

/// R11: the debit (only if covered), its ledger entry and the job, all or nothing.
async fn charge(
    state: &crate::state::Services,
    account_id: &AccountId,
    asked: &Asked<'_>,
    upload: Option<Upload>,
    cost: i64,
    poll_token: String,
) -> Result<Charged, ApiError> {
    let job = Job {
        mode: if upload.is_some() {
            Mode::Image
        } else {
            Mode::Text
        },
        upload_id: upload.as_ref().map(|u| u.id.clone()),
        input_key: upload.as_ref().map(|u| u.key.clone()),
        model: Some(asked.model.clone()),
        request_hash: Some(asked.hash.clone()),
        poll_token: Some(poll_token),
        ..Job::queued(
            asked.id.clone(),
            account_id.clone(),
            state.clock.now_millis(),
            asked.prompt.to_owned(),
            asked.settings.clone(),
            cost,
        )
    };
    let mut tx = state.transactions.begin();
    tx.add(
        "debit_entry",
        state.ledger.entry_write(
            &job.account_id,
            EntryKind::Debit,
            cost,
            &job.id,
            &rfc3339_millis(job.created_at),
        )?,
    )
    .add(
        "balance",
        state
            .ledger
            .balance_write(&job.account_id, -cost, Some(cost))?,
    )
    .add("job", state.videos.create_write(&job)?);
    if let Some(upload) = &job.upload_id {
        tx.add("upload", state.videos.use_upload_write(upload, &job.id)?);
    }
    match tx.commit().await {
        Ok(()) => {}
        Err(e) if e.failed("debit_entry") || e.failed("job") => {
            let job = state
                .videos
                .get(&asked.id)
                .await?
                .ok_or(ApiError::Unavailable)?;
            return Ok(Charged::Raced(Box::new(job)));
        }
        Err(e) if e.failed("balance") => return Err(ApiError::InsufficientCredits),
        // Its image went with the last video made from it (R15).
        Err(e) if e.failed("upload") => return Err(no_longer_kept()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "video_queued", job_id = %job.id, account_id = %job.account_id, cost, mode = job.mode.as_str(), "video queued");
    shared::adapters::metrics::count(
        shared::adapters::metrics::Metric::VideosSubmitted,
        &[(shared::adapters::metrics::Dim::Model, &asked.model)],
    );
    Ok(Charged::New(Box::new(job)))
}

/// What was asked, as a hash: a replay must ask the same thing.
fn request_hash(
    prompt: &str,
    upload_id: Option<&str>,
    model: &str,
    settings: &VideoSettings,
) -> String {
    let asked = serde_json::json!([
        prompt,
        upload_id,
        model,
        settings.seconds,
        settings.aspect_ratio,
        settings.audio
    ]);
    shared::domain::crypto::sha256_hex(&asked.to_string())
}

/// The answer to a replay of an `Idempotency-Key`: the job as it is now, queued again
/// if its first message seems lost.
async fn replayed(
    state: &crate::state::Services,
    job: &Job,
    request_hash: &str,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<Video>), ApiError> {
    if job
        .request_hash
        .as_deref()
        .is_some_and(|h| h != request_hash)
    {
        return Err(ApiError::IdempotencyKeyReused);
    }
    if job.status == JobStatus::Deleted {
        return Err(ApiError::IdempotencyKeySpent);
    }
    requeue_if_waiting(state, job).await;
    accepted(state, job).await
}

/// A job still waiting for its first step after [`Policy::requeue_after`] may have lost
/// its message (the first attempt stopped between charging and queueing, or the
/// message went to the dead-letter queue): queue it again, once, on the job's current
/// polling chain, so `generate` runs one chain whatever arrives.
///
/// [`Policy::requeue_after`]: shared::domain::policy::Policy::requeue_after
async fn requeue_if_waiting(state: &crate::state::Services, job: &Job) {
    let now = state.clock.epoch_secs();
    let not_after = now - state.policy.requeue_after.as_secs() as i64;
    if job.status != JobStatus::Queued || job.enqueued_epoch > not_after {
        return;
    }
    match state.videos.claim_requeue(&job.id, now, not_after).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failure() => return,
        Err(e) => {
            tracing::warn!(job_id = %job.id, error = %e, "could not claim the requeue");
            return;
        }
    }
    let msg = GenerateMessage {
        job_id: job.id.to_string(),
        token: job.poll_token.clone(),
        completed: None,
        stop: false,
        sent_epoch: None,
    };
    match state
        .queue
        .send_generate(&msg, std::time::Duration::ZERO)
        .await
    {
        Ok(()) => tracing::info!(event = "video_requeued", job_id = %job.id, "job queued again"),
        Err(e) => tracing::warn!(job_id = %job.id, error = %e, "could not queue the job again"),
    }
}

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// What the first bytes of a file say it is.
fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(JPEG) {
        Some("image/jpeg")
    } else if head.starts_with(PNG) {
        Some("image/png")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// An upload whose image went with the last video made from it (R15).
fn no_longer_kept() -> ApiError {
    ApiError::InvalidUpload(
        "the image is no longer kept (it is deleted once the videos made from it are done): upload it again".into(),
    )
}

/// The upload as read (none for an id that is not one of ours): the caller's, whole,
/// of the declared size and of its declared type.
async fn checked_upload(
    state: &crate::state::Services,
    account_id: &str,
    record: Option<Upload>,
) -> Result<Upload, ApiError> {
    let upload = record
        .filter(|u| u.owner == account_id)
        .ok_or(ApiError::NotFound)?;
    if upload.released {
        return Err(no_longer_kept());
    }
    let bucket = &state.inputs_bucket;
    // Its size and its first bytes at once: one round trip.
    let (info, head) = tokio::join!(
        state.blobs.head(bucket, &upload.key),
        state.blobs.first_bytes(bucket, &upload.key, 12)
    );
    let info = info
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::InvalidUpload("the image has not been uploaded yet".into()))?;
    if info.size == 0 || info.size > state.policy.upload_max_bytes || info.size != upload.size {
        return Err(ApiError::InvalidUpload(
            "the uploaded file's size is not the declared one".into(),
        ));
    }
    let head = head.map_err(ApiError::from)?;
    if sniff(&head) != Some(upload.content_type.as_str()) {
        return Err(ApiError::InvalidUpload(format!(
            "the uploaded file is not a {} image",
            upload.content_type
        )));
    }
    Ok(upload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(body: serde_json::Value, key: Option<&str>) -> Result<(String, String), ApiError> {
        let req: SubmitRequest = serde_json::from_value(body).unwrap();
        let mut headers = HeaderMap::new();
        if let Some(k) = key {
            headers.insert("idempotency-key", k.parse().unwrap());
        }
        let catalogue = Catalogue::parse(
            r#"[{"id":"a","name":"A","modes":["text","image"],"seconds":[4,6,8],
                "aspect_ratios":["16:9","9:16"],"audio":true,"cost":{"4":1,"6":2,"8":2},
                "default":true,"providers":[{"provider":"fal",
                  "text":{"model":"t","duration":{"field":"duration","form":"integer"},
                          "aspect_ratio":"aspect_ratio","audio":"generate_audio"},
                  "image":{"model":"i","image":"image_url","duration":{"field":"duration","form":"integer"},
                          "aspect_ratio":"aspect_ratio","audio":"generate_audio"}}]},
               {"id":"b","name":"B","modes":["text"],"seconds":[4],"aspect_ratios":["16:9"],
                "audio":false,"cost":{"4":3},"providers":[{"provider":"fal",
                  "text":{"model":"t","duration":{"field":"duration","form":"integer"}}}]}]"#,
            &["fal"],
        )
        .unwrap();
        parse("acc_1", &headers, &req, &catalogue).map(|a| (a.id.into(), a.hash))
    }

    #[test]
    fn the_same_key_is_the_same_job_and_the_same_ask_the_same_hash() {
        let body = serde_json::json!({ "prompt": "  a kite  ", "seconds": 4 });
        let (id, hash) = asked(body.clone(), Some("k-1")).unwrap();
        assert_eq!(
            asked(body.clone(), Some("k-1")).unwrap(),
            (id.clone(), hash.clone())
        );
        // Surrounding blanks are not part of what was asked.
        let trimmed = serde_json::json!({ "prompt": "a kite", "seconds": 4 });
        assert_eq!(asked(trimmed, Some("k-1")).unwrap().1, hash);
        // Another key, another job; no key, a new job every time.
        assert_ne!(asked(body.clone(), Some("k-2")).unwrap().0, id);
        assert_ne!(
            asked(body.clone(), None).unwrap().0,
            asked(body, None).unwrap().0
        );
    }

    #[test]
    fn a_different_ask_under_the_same_key_has_another_hash() {
        let (_, hash) = asked(
            serde_json::json!({ "prompt": "a kite", "seconds": 4 }),
            Some("k"),
        )
        .unwrap();
        for other in [
            serde_json::json!({ "prompt": "a kite", "seconds": 6 }),
            serde_json::json!({ "prompt": "a kite", "seconds": 4, "audio": false }),
            serde_json::json!({ "prompt": "a kite", "seconds": 4, "aspect_ratio": "9:16" }),
            serde_json::json!({ "prompt": "a kite!", "seconds": 4 }),
            serde_json::json!({ "prompt": "a kite", "seconds": 4, "upload_id": "upl_x" }),
            serde_json::json!({ "prompt": "a kite", "seconds": 4, "model": "b", "audio": false }),
        ] {
            assert_ne!(asked(other.clone(), Some("k")).unwrap().1, hash, "{other}");
        }
    }

    #[test]
    fn bad_keys_and_settings_are_refused_before_anything_is_read() {
        let ok = serde_json::json!({ "prompt": "a kite" });
        for key in ["", "with space", &"x".repeat(256)] {
            assert!(asked(ok.clone(), Some(key)).is_err(), "{key:?}");
        }
        assert!(
            asked(
                serde_json::json!({ "prompt": "a kite", "seconds": 5 }),
                None
            )
            .is_err()
        );
        assert!(asked(serde_json::json!({ "prompt": "   " }), None).is_err());
        // R42: what the model does not make, and a model that does not exist.
        for (body, code) in [
            (
                serde_json::json!({ "prompt": "a kite", "model": "c" }),
                "unknown_model",
            ),
            (
                serde_json::json!({ "prompt": "a kite", "model": "b", "audio": true }),
                "model_unsupported",
            ),
            (
                serde_json::json!({ "prompt": "a kite", "model": "b", "audio": false, "upload_id": "upl_x" }),
                "model_unsupported",
            ),
            (
                serde_json::json!({ "prompt": "a kite", "aspect_ratio": "1:1" }),
                "model_unsupported",
            ),
        ] {
            assert_eq!(
                asked(body.clone(), None).unwrap_err().code(),
                code,
                "{body}"
            );
        }
    }
}
