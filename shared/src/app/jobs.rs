//! Ending a job, shared by every step that can: the status change and, when the job
//! was still active, the refund of its cost, in one transaction (R11). A job ends once;
//! a second attempt fails its condition and changes nothing.

use crate::adapters::dynamo::ledger::LedgerStore;
use crate::adapters::dynamo::videos::{Job, VideoStore};
use crate::adapters::dynamo::{StoreError, Transactions};
use crate::adapters::metrics::{self, Dim, Metric};
use crate::domain::clock::{Clock, rfc3339};
use crate::domain::ledger::EntryKind;
use crate::domain::video::JobStatus;

/// What ending a job needs, held by the functions that end jobs.
#[derive(Clone, Debug)]
pub struct Jobs {
    pub videos: VideoStore,
    pub ledger: LedgerStore,
    pub transactions: Transactions,
    pub clock: Clock,
    /// How long a ready video is kept: a failed or rejected job's prompt is kept as
    /// long (R15).
    pub prompt_retention: std::time::Duration,
}

impl Jobs {
    /// Ends `job` (as read) in `to`. `Ok(false)` if it had already moved on.
    pub async fn end(
        &self,
        job: &Job,
        to: JobStatus,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.end_with(job, to, error, None).await
    }

    /// Ends `job` as [`Jobs::end`] does, with `also` written in the same transaction
    /// (a refusal's record, R46): both or neither.
    pub async fn end_with(
        &self,
        job: &Job,
        to: JobStatus,
        error: Option<&str>,
        also: Option<(&'static str, crate::adapters::dynamo::Write)>,
    ) -> Result<bool, StoreError> {
        let at = rfc3339(self.clock.now());
        let mut tx = self.transactions.begin();
        match self.videos.end_write(
            job,
            to,
            error,
            &at,
            self.clock.epoch_secs(),
            self.clock.epoch_secs() + self.prompt_retention.as_secs() as i64,
        ) {
            Ok(write) => tx.add("job", write),
            Err(e) if e.is_condition_failure() => return Ok(false),
            Err(e) => return Err(e),
        };
        if let Some((label, write)) = also {
            tx.add(label, write);
        }
        let refund = to.refunds() && job.status.is_active();
        if refund {
            tx.add_all(
                "refund",
                self.ledger.effect_writes(
                    &job.account_id,
                    EntryKind::Refund,
                    job.cost,
                    &job.id,
                    &at,
                )?,
            );
        }
        match tx.commit().await {
            Ok(()) => {
                let model = job.model.as_deref().unwrap_or("");
                match to {
                    JobStatus::Failed => metrics::count(
                        Metric::VideosFailed,
                        &[
                            (Dim::Model, model),
                            (Dim::Outcome, error.unwrap_or("failed")),
                        ],
                    ),
                    JobStatus::Rejected => {
                        metrics::count(Metric::VideosRejected, &[(Dim::Model, model)])
                    }
                    _ => {}
                }
                if refund {
                    metrics::count(Metric::Refunds, &[]);
                }
                tracing::info!(
                    event = "job_ended",
                    job_id = %job.id,
                    account_id = %job.account_id,
                    status = to.as_str(),
                    reason = error.unwrap_or(""),
                    refunded = refund,
                    "job ended"
                );
                Ok(true)
            }
            Err(e) if e.is_condition_failure() => Ok(false),
            Err(e) => Err(e),
        }
    }
}
