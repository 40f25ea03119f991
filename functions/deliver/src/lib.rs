//! `deliver` (SQS, fed by the outputs bucket's ObjectCreated events): marks the job
//! ready with its expiry (R15), drops the provider's copy (R16) and tells the owner
//! by email (a service notice, not marketing).
//!
//! Each effect is guarded by the job's record, so an event delivered twice (S3 and SQS
//! both deliver at least once) marks once and emails once.

mod notify;
mod state;

use aws_lambda_events::event::sqs::SqsMessage;
use shared::adapters::metrics::{self, Dim, Metric};
use shared::domain::video::{Job, JobStatus, job_id_of_output};
use shared::edge::queue_batch::{QueueStep, StepError};
use shared::edge::s3_events::{ObjectCreated, for_each_object};

pub use state::DeliverState;

impl QueueStep for crate::state::Services {
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

pub async fn deliver(
    state: &crate::state::Services,
    object: &ObjectCreated,
) -> Result<(), StepError> {
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
    let completed = state.clock.now_secs();
    let expires = kept_until(completed, state.policy.output_retention);
    match state
        .videos
        .mark_ready(
            job_id,
            &object.key,
            completed,
            expires,
            state.clock.epoch_secs(),
        )
        .await
    {
        Ok(job) => {
            tracing::info!(event = "video_ready", job_id = %job.id, account_id = %job.account_id, "video ready");
            let model = job.model.as_deref().unwrap_or("");
            let dims = [
                (Dim::Model, model),
                (Dim::Provider, job.provider.as_deref().unwrap_or("")),
            ];
            metrics::count(Metric::VideosReady, &dims);
            let waited = (completed - job.created_at).num_milliseconds() as f64 / 1000.0;
            metrics::emit(Metric::TimeToReady, waited.max(0.0), &[(Dim::Model, model)]);
            // The model's recent times, for the wait shown on videos still being made.
            if let Some(m) = job.model.as_deref()
                && let Err(e) = state.videos.record_ready_time(m, waited.max(0.0)).await
            {
                tracing::warn!(error = %e, "could not note the time to ready");
            }
            return notify::send_claimed(state, &job).await;
        }
        Err(e) if e.is_condition_failure() => {}
        Err(e) => return Err(StepError::retry(e)),
    }
    let job = state.videos.get(job_id).await.map_err(StepError::retry)?;
    match unmarked(job.as_ref()) {
        Unmarked::RemoveFile => {
            state
                .blobs
                .delete(bucket, &object.key)
                .await
                .map_err(StepError::retry)?;
            match &job {
                None => tracing::info!(%job_id, "output without a job removed"),
                Some(j) => {
                    tracing::info!(%job_id, status = j.status.as_str(), "output of an ended job removed")
                }
            }
            Ok(())
        }
        Unmarked::Notify(job) => notify::notify(state, job).await,
        Unmarked::Done => Ok(()),
        Unmarked::Retry => Err(StepError::Retry(
            "the job changed while being marked ready".into(),
        )),
    }
}

/// R15: when a video completed at `completed` is deleted: its retention later.
fn kept_until(
    completed: chrono::DateTime<chrono::Utc>,
    retention: std::time::Duration,
) -> chrono::DateTime<chrono::Utc> {
    completed + chrono::Duration::seconds(retention.as_secs() as i64)
}

/// What an output calls for when its job could not be marked ready by it.
#[derive(Debug, PartialEq, Eq)]
enum Unmarked<'a> {
    /// No job (or it was deleted while the file was being written), or one deleted,
    /// failed, rejected or expired before the file landed (a slow upload, a late
    /// duplicate): the file must not outlive it.
    RemoveFile,
    /// Made ready by another copy of this event: the notice may still be owed.
    Notify(&'a Job),
    /// Ready and notified: nothing left to do.
    Done,
    /// Still active, yet not marked: it changed between the two; look again later.
    Retry,
}

/// Sorts out an output whose job the conditional write did not mark ready.
fn unmarked(job: Option<&Job>) -> Unmarked<'_> {
    match job {
        None => Unmarked::RemoveFile,
        Some(j) if !j.status.is_active() && j.status != JobStatus::Ready => Unmarked::RemoveFile,
        Some(j) if j.status == JobStatus::Ready && !j.notified => Unmarked::Notify(j),
        Some(j) if j.status == JobStatus::Ready => Unmarked::Done,
        Some(_) => Unmarked::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::clock::{epoch_of, from_epoch};
    use shared::domain::video::VideoSettings;

    pub(crate) fn job(status: JobStatus) -> Job {
        Job {
            status,
            ..Job::queued(
                shared::domain::ids::JobId::new("vid_0123456789abcdef0123456789abcdef"),
                shared::domain::ids::AccountId::new("acc_1"),
                shared::domain::clock::from_epoch(1_000),
                "a kite".into(),
                VideoSettings {
                    seconds: 4,
                    aspect_ratio: "16:9".into(),
                    audio: true,
                },
                1,
            )
        }
    }

    #[test]
    fn r15_a_video_is_kept_for_its_retention_counted_from_completion() {
        let completed = from_epoch(epoch_of("2026-12-01T10:00:00Z").unwrap());
        let week = std::time::Duration::from_secs(7 * 24 * 3600);
        assert_eq!(
            shared::domain::clock::rfc3339(kept_until(completed, week)),
            "2026-12-08T10:00:00Z"
        );
        assert_eq!(kept_until(completed, std::time::Duration::ZERO), completed);
    }

    #[test]
    fn r15_r16_an_output_without_a_live_job_is_removed() {
        assert_eq!(unmarked(None), Unmarked::RemoveFile);
        for ended in [
            JobStatus::Deleted,
            JobStatus::Failed,
            JobStatus::Rejected,
            JobStatus::Expired,
        ] {
            assert_eq!(
                unmarked(Some(&job(ended))),
                Unmarked::RemoveFile,
                "{ended:?}"
            );
        }
    }

    #[test]
    fn r15_a_copy_of_the_event_sends_the_notice_only_if_still_owed() {
        let ready = job(JobStatus::Ready);
        assert_eq!(unmarked(Some(&ready)), Unmarked::Notify(&ready));
        let notified = Job {
            notified: true,
            ..job(JobStatus::Ready)
        };
        assert_eq!(unmarked(Some(&notified)), Unmarked::Done);
    }

    #[test]
    fn a_job_still_being_made_is_looked_at_again_and_its_file_kept() {
        for active in [JobStatus::Queued, JobStatus::Generating] {
            assert_eq!(unmarked(Some(&job(active))), Unmarked::Retry, "{active:?}");
        }
    }
}
