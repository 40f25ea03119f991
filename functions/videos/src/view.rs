//! The `video` object of the API, as its owner sees it.

use serde_json::{Value, json};
use shared::ApiError;
use shared::adapters::dynamo::videos::Job;
use shared::domain::video::{JOB_ID_PREFIX, JobStatus, is_id};

use crate::state::VideosState;

/// The status a reader sees: a ready video past its retention reads `expired` (R15),
/// whether or not the purge has got to it yet.
pub fn visible_status(job: &Job, now: i64) -> JobStatus {
    match (job.status, job.expires_epoch) {
        (JobStatus::Ready, Some(exp)) if exp <= now => JobStatus::Expired,
        (s, _) => s,
    }
}

pub async fn video_json(state: &VideosState, job: &Job) -> Result<Value, ApiError> {
    let status = visible_status(job, state.clock.epoch_secs());
    let mut v = json!({
        "id": job.id,
        "status": status.as_str(),
        "prompt": job.prompt,
        "mode": job.mode.as_str(),
        "seconds": job.settings.seconds,
        "aspect_ratio": job.settings.aspect_ratio,
        "audio": job.settings.audio,
        "cost": job.cost,
        "created_at": job.created_at,
        // R21: every output is AI-generated, and says so.
        "ai_generated": true,
    });
    for (field, value) in [
        ("completed_at", &job.completed_at),
        ("expires_at", &job.expires_at),
        ("error", &job.error),
    ] {
        if let Some(x) = value {
            v[field] = json!(x);
        }
    }
    if status == JobStatus::Ready
        && let Some(key) = &job.output_key
    {
        // R17: a short-lived link for the owner only.
        let url = state
            .blobs
            .presign_get(
                &state.outputs_bucket,
                key,
                state.policy.download_link_ttl,
                Some(&format!("{}.mp4", job.id)),
            )
            .await?;
        v["download_url"] = json!(url);
    }
    Ok(v)
}

/// The caller's job, or 404 exactly as for one that does not exist (R36).
pub async fn owned_job(state: &VideosState, account_id: &str, id: &str) -> Result<Job, ApiError> {
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
