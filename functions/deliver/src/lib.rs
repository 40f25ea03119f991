//! `deliver` (SQS, fed by the outputs bucket's ObjectCreated events): marks the job
//! ready with its expiry (R15), drops the provider's copy (R16) and tells the owner
//! by email (a service notice, not marketing).
//!
//! Each effect is guarded by the job's record, so an event delivered twice (S3 and SQS
//! both deliver at least once) marks once and emails once.

mod event;
mod notify;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shared::VideoState;
use shared::domain::video::JobStatus;
use shared::jobs::job_id_of_output;
use shared::sqs_batch::run_batch;

pub use event::{ObjectCreated, parse_notification};

/// A step that could not finish for now; the message comes back later.
#[derive(Debug)]
pub struct DeliverError(pub String);

pub async fn handle_batch(state: &VideoState, event: SqsEvent) -> SqsBatchResponse {
    run_batch(event, |message| async move {
        let objects = match parse_notification(message.body.as_deref().unwrap_or_default()) {
            Ok(objects) => objects,
            Err(reason) => {
                tracing::error!(message_id = ?message.message_id, reason, "unreadable S3 notification dropped");
                return Ok(());
            }
        };
        for object in objects {
            deliver(state, &object).await.map_err(|DeliverError(reason)| reason)?;
        }
        Ok(())
    })
    .await
}

fn retry(e: impl std::fmt::Display) -> DeliverError {
    DeliverError(e.to_string())
}

pub async fn deliver(state: &VideoState, object: &ObjectCreated) -> Result<(), DeliverError> {
    let bucket = &state.config.outputs_bucket;
    if object.bucket != *bucket {
        return Ok(());
    }
    let Some(job_id) = job_id_of_output(&object.key) else {
        tracing::warn!("object that is no job's output ignored");
        return Ok(());
    };
    let job = state.videos.get(job_id).await.map_err(retry)?;
    let job = match job {
        // No job (or it was deleted while the file was being written): the file must
        // not outlive it.
        None => {
            state
                .blobs
                .delete(bucket, &object.key)
                .await
                .map_err(retry)?;
            tracing::info!(%job_id, "output without a job removed");
            return Ok(());
        }
        Some(j) if j.status == JobStatus::Deleted => {
            state
                .blobs
                .delete(bucket, &object.key)
                .await
                .map_err(retry)?;
            tracing::info!(%job_id, "output of a deleted job removed");
            return Ok(());
        }
        Some(j) => j,
    };
    if job.status.is_active() {
        let core = &state.core;
        let completed = core.clock.now();
        let expires =
            completed + chrono::Duration::seconds(core.policy.output_retention.as_secs() as i64);
        let rfc = shared::clock::rfc3339;
        match state
            .videos
            .mark_ready(
                &job.id,
                &object.key,
                &rfc(completed),
                &rfc(expires),
                expires.timestamp(),
            )
            .await
        {
            Ok(()) => {
                tracing::info!(event = "video_ready", job_id = %job.id, account_id = %job.account_id, "video ready")
            }
            Err(e) if e.is_condition_failure() => {}
            Err(e) => return Err(retry(e)),
        }
    }
    let job = state.videos.get(job_id).await.map_err(retry)?;
    match job {
        Some(job) if job.status == JobStatus::Ready && !job.notified => {
            notify::notify(state, &job).await
        }
        _ => Ok(()),
    }
}
