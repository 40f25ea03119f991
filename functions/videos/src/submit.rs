//! POST /v1/videos: checks, moderation, the debit and the job, then the generate queue.
//!
//! Order matters: everything that can refuse runs before anything is spent, and the
//! prompt leaves the service (to moderation) only after the local personal-data check
//! passed. Every refusal costs nothing (R18–R20).

use crate::moderation::Verdict;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::ApiError;
use shared::adapters::dynamo::videos::{Job, Upload};
use shared::adapters::dynamo::{StoreError, transact};
use shared::adapters::sqs::GenerateMessage;
use shared::domain::account::AccountStatus;
use shared::domain::clock::rfc3339_millis;
use shared::domain::ledger::EntryKind;
use shared::domain::policy::{VIDEO_SECONDS, video_cost};
use shared::domain::sensitive;
use shared::domain::video::{
    JobStatus, Mode, UPLOAD_ID_PREFIX, VideoSettings, check_prompt, is_id, job_id,
};
use shared::edge::http::{ApiJson, AuthUser, ClientIp};
use shared::edge::problem::within_limit;

use crate::state::VideosState;

#[derive(Deserialize)]
pub struct SubmitRequest {
    prompt: String,
    upload_id: Option<String>,
    seconds: Option<u32>,
    aspect_ratio: Option<String>,
    audio: Option<bool>,
}

fn accepted(job: &Job) -> (StatusCode, Json<Value>) {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "id": job.id,
            "status": JobStatus::Queued.as_str(),
            "cost": job.cost,
            "created_at": job.created_at,
        })),
    )
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::InvalidField("Idempotency-Key must be 1 to 255 visible characters".into())
        })?;
    Ok(Some(key.to_owned()))
}

pub async fn submit(
    State(state): State<VideosState>,
    user: AuthUser,
    ip: ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SubmitRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = idempotency_key(&headers)?;
    let prompt = check_prompt(&req.prompt).map_err(|e| ApiError::InvalidField(e.to_string()))?;
    let settings = VideoSettings::new(
        req.seconds,
        req.aspect_ratio.as_deref(),
        req.audio,
        VIDEO_SECONDS,
    )
    .map_err(|e| ApiError::InvalidField(e.to_string()))?;
    let id = job_id(&user.account_id, key.as_deref());

    // A retried POST with the same key: the same job, charged once.
    if key.is_some()
        && let Some(job) = state.videos.get(&id).await?
    {
        resend_if_queued(&state, &job).await;
        return Ok(accepted(&job));
    }

    let now = state.clock.epoch_secs();
    within_limit(
        &state.limits,
        "videos_account",
        &user.account_id,
        state.policy.videos_per_account,
        now,
    )
    .await?;
    within_limit(
        &state.limits,
        "videos_ip",
        &ip.0.to_string(),
        state.policy.videos_per_ip,
        now,
    )
    .await?;
    let account = state
        .accounts
        .get(&user.account_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if account.status != AccountStatus::Active {
        return Err(ApiError::AccountSuspended);
    }

    // R19: personal data never leaves the service, not even to moderation.
    let kinds = sensitive::detect(prompt);
    if !kinds.is_empty() {
        tracing::info!(event = "prompt_refused", reason = "sensitive_data", account_id = %user.account_id, "prompt refused");
        return Err(ApiError::SensitiveData(
            kinds.iter().map(|k| k.as_str()).collect(),
        ));
    }

    // R14, R36: only the caller's own, really uploaded image.
    let upload = match &req.upload_id {
        Some(upload_id) => Some(checked_upload(&state, &user.account_id, upload_id).await?),
        None => None,
    };

    // Cheap read first: no moderation call for a request that cannot be paid for.
    let cost = video_cost(settings.seconds);
    if state.ledger.balance(&user.account_id).await? < cost {
        return Err(ApiError::InsufficientCredits);
    }

    // R18: moderated before any credit is spent or any provider called.
    match state.moderation.screen(prompt, &id).await {
        Ok(Verdict::Allow) => {}
        Ok(Verdict::Deny) => {
            tracing::info!(event = "prompt_refused", reason = "moderation", account_id = %user.account_id, "prompt refused");
            // R20: repeated violations suspend the account.
            shared::app::enforcement::record_violation(&state, &user.account_id).await?;
            return Err(ApiError::PromptRejected);
        }
        Err(e) => {
            tracing::warn!(event = "moderation_unavailable", error = %e, "moderation unavailable");
            return Err(ApiError::ModerationUnavailable);
        }
    }

    let job = Job {
        id: id.clone(),
        account_id: user.account_id.clone(),
        created_at: rfc3339_millis(state.clock.now()),
        created_epoch: now,
        status: JobStatus::Queued,
        prompt: Some(prompt.to_owned()),
        mode: if upload.is_some() {
            Mode::Image
        } else {
            Mode::Text
        },
        settings,
        cost,
        upload_id: upload.as_ref().map(|u| u.id.clone()),
        input_key: upload.as_ref().map(|u| u.key.clone()),
        output_key: None,
        provider_handle: None,
        submits: 0,
        completed_at: None,
        expires_at: None,
        expires_epoch: None,
        error: None,
        notified: false,
    };
    // R11: debit (only if covered) + ledger entry + job, all or nothing.
    let mut writes = state.ledger.effect_writes(
        &job.account_id,
        EntryKind::Debit,
        cost,
        &job.id,
        &job.created_at,
    )?;
    writes.push(state.videos.create_write(&job)?);
    match transact(&state.dynamodb, writes).await {
        Ok(()) => {}
        Err(StoreError::Cancelled(reasons)) => {
            let failed = |i: usize| {
                reasons.get(i).and_then(|r| r.as_deref()) == Some("ConditionalCheckFailed")
            };
            // The same key raced itself: the other request made the job.
            if failed(0) || failed(2) {
                let job = state.videos.get(&id).await?.ok_or(ApiError::Unavailable)?;
                return Ok(accepted(&job));
            }
            if failed(1) {
                return Err(ApiError::InsufficientCredits);
            }
            return Err(ApiError::Unavailable);
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "video_queued", job_id = %job.id, account_id = %job.account_id, cost, mode = job.mode.as_str(), "video queued");

    if let Err(e) = state
        .queue
        .send_generate(
            &GenerateMessage {
                job_id: job.id.clone(),
            },
            std::time::Duration::ZERO,
        )
        .await
    {
        // Not queued means not charged: end it now rather than leave it waiting.
        tracing::error!(event = "enqueue_failed", job_id = %job.id, error = %e, "could not queue the job");
        shared::app::jobs::end(&state, &job, JobStatus::Failed, Some("not_queued")).await?;
        return Err(ApiError::Unavailable);
    }
    Ok(accepted(&job))
}

/// A retry of a request whose first attempt may have stopped between charging and
/// queueing: queue it again. `generate` ignores the extra message if there is one.
async fn resend_if_queued(state: &VideosState, job: &Job) {
    if job.status == JobStatus::Queued {
        let msg = GenerateMessage {
            job_id: job.id.clone(),
        };
        if let Err(e) = state
            .queue
            .send_generate(&msg, std::time::Duration::ZERO)
            .await
        {
            tracing::warn!(job_id = %job.id, error = %e, "could not queue the job again");
        }
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

async fn checked_upload(
    state: &VideosState,
    account_id: &str,
    upload_id: &str,
) -> Result<Upload, ApiError> {
    if !is_id(UPLOAD_ID_PREFIX, upload_id) {
        return Err(ApiError::NotFound);
    }
    let upload = state
        .videos
        .get_upload(upload_id)
        .await?
        .filter(|u| u.owner == account_id)
        .ok_or(ApiError::NotFound)?;
    let bucket = &state.inputs_bucket;
    let info = state
        .blobs
        .head(bucket, &upload.key)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::InvalidUpload("the image has not been uploaded yet".into()))?;
    if info.size == 0 || info.size > state.policy.upload_max_bytes || info.size != upload.size {
        return Err(ApiError::InvalidUpload(
            "the uploaded file's size is not the declared one".into(),
        ));
    }
    let head = state
        .blobs
        .first_bytes(bucket, &upload.key, 12)
        .await
        .map_err(ApiError::from)?;
    if sniff(&head) != Some(upload.content_type.as_str()) {
        return Err(ApiError::InvalidUpload(format!(
            "the uploaded file is not a {} image",
            upload.content_type
        )));
    }
    Ok(upload)
}
