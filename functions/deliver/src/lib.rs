//! `deliver` (SQS, fed by the outputs bucket's ObjectCreated events): marks the job
//! ready with its expiry (R15), drops the provider's copy (R16) and tells the owner
//! by email (a service notice, not marketing).
//!
//! Each effect is guarded by the job's record, so an event delivered twice (S3 and SQS
//! both deliver at least once) marks once and emails once.

mod notify;
mod state;

use aws_lambda_events::event::sqs::SqsMessage;
use shared::domain::video::{JobStatus, job_id_of_output};
use shared::edge::s3_events::{ObjectCreated, for_each_object};
use shared::edge::sqs::{QueueStep, StepError};

pub use state::DeliverState;

impl QueueStep for DeliverState {
    const FUNCTION: &'static str = "deliver";

    async fn step(&self, message: &SqsMessage) -> Result<(), StepError> {
        for_each_object(
            message.body.as_deref(),
            job_id_of_output,
            |object| async move { deliver(self, &object).await },
        )
        .await
    }
}

pub async fn deliver(state: &DeliverState, object: &ObjectCreated) -> Result<(), StepError> {
    let bucket = &state.outputs_bucket;
    if object.bucket != *bucket {
        return Ok(());
    }
    let Some(job_id) = job_id_of_output(&object.key) else {
        tracing::warn!("object that is no job's output ignored");
        return Ok(());
    };
    // The common case first, in one write: the job becomes ready and this attempt
    // holds the claim to send its notice. Anything else (no job, an ended one, a copy
    // of the event) is read and sorted out below.
    let completed = state.clock.now();
    let expires =
        completed + chrono::Duration::seconds(state.policy.output_retention.as_secs() as i64);
    let rfc = shared::domain::clock::rfc3339;
    match state
        .videos
        .mark_ready(
            job_id,
            &object.key,
            &rfc(completed),
            &rfc(expires),
            expires.timestamp(),
            completed.timestamp(),
            state.clock.epoch_secs(),
        )
        .await
    {
        Ok(job) => {
            tracing::info!(event = "video_ready", job_id = %job.id, account_id = %job.account_id, "video ready");
            return notify::send_claimed(state, &job).await;
        }
        Err(e) if e.is_condition_failure() => {}
        Err(e) => return Err(StepError::retry(e)),
    }
    let job = state.videos.get(job_id).await.map_err(StepError::retry)?;
    let job = match job {
        // No job (or it was deleted while the file was being written): the file must
        // not outlive it.
        None => {
            state
                .blobs
                .delete(bucket, &object.key)
                .await
                .map_err(StepError::retry)?;
            tracing::info!(%job_id, "output without a job removed");
            return Ok(());
        }
        // Deleted, failed, rejected or expired before the file landed (a slow upload,
        // a late duplicate): the file must not outlive it.
        Some(j) if !j.status.is_active() && j.status != JobStatus::Ready => {
            state
                .blobs
                .delete(bucket, &object.key)
                .await
                .map_err(StepError::retry)?;
            tracing::info!(%job_id, status = j.status.as_str(), "output of an ended job removed");
            return Ok(());
        }
        Some(j) => j,
    };
    match job.status {
        // Made ready by another copy of this event: the notice may still be owed.
        JobStatus::Ready if !job.notified => notify::notify(state, &job).await,
        JobStatus::Ready => Ok(()),
        // Still active, yet not marked: it changed between the two; look again later.
        _ => Err(StepError::Retry(
            "the job changed while being marked ready".into(),
        )),
    }
}
