//! `sweep` (every five minutes): no job waits forever (R11, R13).
//!
//! A job's steps are driven by queue messages; if the function that queued it died
//! between the debit and the send, or a message went to the dead-letter queue, nothing
//! would look at the job again. The sweep reads the active jobs through the sparse
//! `active_by_day` index — its cost grows with the jobs being made, not with the table
//! — and for each one older than the policy allows:
//! - past the generation deadline: ends it as failed, with exactly one refund (the end
//!   is conditional, so a step or another sweep that ends it first wins), and asks
//!   `generate` to stop the provider's request;
//! - waiting for a step longer than `requeue_after`: queues it again on its current
//!   polling chain (a claim on the job lets one sweep or replay do it; a message that
//!   was only slow is harmless, since one chain goes on).
//!
//! Jobs are looked for in the last [`DAYS`] days: a job can only be older than that
//! and still active if the sweep did not run for that long.

mod state;

use serde_json::json;
use shared::adapters::sqs::GenerateMessage;
use shared::domain::clock::utc_day;
use shared::domain::video::JobStatus;
use shared::edge::schedule::ScheduledStep;

pub use state::SweepState;

/// How many UTC days of active jobs each run reads.
pub const DAYS: i64 = 3;

impl ScheduledStep for SweepState {
    const FUNCTION: &'static str = "sweep";

    async fn run(&self) -> Result<serde_json::Value, String> {
        let now = self.clock.epoch_secs();
        let deadline = self.policy.generation_deadline.as_secs() as i64;
        let waited = now - self.policy.requeue_after.as_secs() as i64;
        let (mut seen, mut ended, mut requeued) = (0, 0, 0);
        for back in 0..DAYS {
            let day = utc_day(now - back * 24 * 3600);
            let jobs = self
                .videos
                .active_made(&day, waited)
                .await
                .map_err(|e| e.to_string())?;
            for job in jobs {
                seen += 1;
                if job.deadline_epoch(deadline) <= now {
                    let done = self
                        .jobs
                        .end(&job, JobStatus::Failed, Some("timed_out"))
                        .await
                        .map_err(|e| e.to_string())?;
                    if done {
                        ended += 1;
                        tracing::info!(event = "job_swept", job_id = %job.id, "stuck job ended and refunded");
                        if job.provider_handle.is_some() {
                            // `generate` finds it failed and stops the provider's request
                            // (best effort: the refund is done, and the provider ends
                            // a request on its own in the end).
                            let stop = GenerateMessage {
                                job_id: job.id.clone(),
                                token: None,
                                completed: None,
                                stop: true,
                                sent_epoch: None,
                            };
                            if let Err(e) = self
                                .queue
                                .send_generate(&stop, std::time::Duration::ZERO)
                                .await
                            {
                                tracing::warn!(job_id = %job.id, error = %e, "could not ask generate to stop the provider");
                            }
                        }
                    }
                    continue;
                }
                match self.videos.claim_requeue(&job.id, now, waited).await {
                    Ok(()) => {}
                    Err(e) if e.is_condition_failure() => continue,
                    Err(e) => return Err(e.to_string()),
                }
                let message = GenerateMessage {
                    job_id: job.id.clone(),
                    token: job.poll_token.clone(),
                    completed: None,
                    stop: false,
                    sent_epoch: None,
                };
                self.queue
                    .send_generate(&message, std::time::Duration::ZERO)
                    .await
                    .map_err(|e| e.to_string())?;
                requeued += 1;
                tracing::info!(event = "job_requeued", job_id = %job.id, "waiting job queued again");
            }
        }
        Ok(json!({ "active_looked_at": seen, "ended": ended, "requeued": requeued }))
    }
}
