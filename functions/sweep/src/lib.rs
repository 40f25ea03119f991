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
use shared::adapters::metrics::{self, Dim, Metric};
use shared::adapters::sqs::GenerateMessage;
use shared::domain::clock::utc_day;
use shared::domain::video::{Job, JobStatus};
use shared::edge::schedule::ScheduledStep;

pub use state::SweepState;

/// How many UTC days of active jobs each run reads.
pub const DAYS: i64 = 3;

/// The UTC days a run reads, today first.
fn days(now: i64) -> impl Iterator<Item = String> {
    (0..DAYS).map(move |back| utc_day(now - back * 24 * 3600))
}

/// R13, R43: whether a job's generation time has run out at `now` (its deadline
/// plus what moves to other providers added).
fn past_deadline(job: &Job, now: i64, deadline: i64) -> bool {
    job.deadline_epoch(deadline) <= now
}

/// R16: the message asking `generate` to stop the provider's request of a job the
/// sweep ended; none for a job no provider holds.
fn stop_message(job: &Job) -> Option<GenerateMessage> {
    job.provider_handle.is_some().then(|| GenerateMessage {
        job_id: job.id.to_string(),
        token: None,
        completed: None,
        stop: true,
        sent_epoch: None,
    })
}

/// R13: the message that queues a waiting job again, on its current polling chain, so
/// a slow message and this one make one chain, not two.
fn requeue_message(job: &Job) -> GenerateMessage {
    GenerateMessage {
        job_id: job.id.to_string(),
        token: job.poll_token.clone(),
        completed: None,
        stop: false,
        sent_epoch: None,
    }
}

impl ScheduledStep for crate::state::Services {
    const FUNCTION: &'static str = "sweep";
    const HEARTBEAT: shared::adapters::metrics::Metric =
        shared::adapters::metrics::Metric::SweepRound;

    async fn run(&self) -> Result<serde_json::Value, String> {
        let now = self.clock.epoch_secs();
        let deadline = self.policy.generation_deadline.as_secs() as i64;
        let waited = now - self.policy.requeue_after.as_secs() as i64;
        let (mut seen, mut ended, mut requeued) = (0, 0, 0);
        for day in days(now) {
            let jobs = self
                .videos
                .active_made(&day, waited)
                .await
                .map_err(|e| e.to_string())?;
            for job in jobs {
                seen += 1;
                if past_deadline(&job, now, deadline) {
                    let done = self
                        .jobs
                        .end(&job, JobStatus::Failed, Some("timed_out"))
                        .await
                        .map_err(|e| e.to_string())?;
                    if done {
                        ended += 1;
                        tracing::info!(event = "job_swept", job_id = %job.id, "stuck job ended and refunded");
                        // `generate` finds it failed and stops the provider's request
                        // (best effort: the refund is done, and the provider ends
                        // a request on its own in the end).
                        if let Some(stop) = stop_message(&job)
                            && let Err(e) = self
                                .queue
                                .send_generate(&stop, std::time::Duration::ZERO)
                                .await
                        {
                            tracing::warn!(job_id = %job.id, error = %e, "could not ask generate to stop the provider");
                        }
                    }
                    continue;
                }
                match self.videos.claim_requeue(&job.id, now, waited).await {
                    Ok(()) => {}
                    Err(e) if e.is_condition_failure() => continue,
                    Err(e) => return Err(e.to_string()),
                }
                let message = requeue_message(&job);
                self.queue
                    .send_generate(&message, std::time::Duration::ZERO)
                    .await
                    .map_err(|e| e.to_string())?;
                requeued += 1;
                tracing::info!(event = "job_requeued", job_id = %job.id, "waiting job queued again");
            }
        }
        let open = self.circuits_gauge().await;
        Ok(
            json!({ "active_looked_at": seen, "ended": ended, "requeued": requeued, "circuits_open": open }),
        )
    }
}

impl crate::state::Services {
    /// R48: whether each provider's circuit is open now (1) or not (0), every round,
    /// so an alarm sees one that stays open; a health that cannot be read is skipped
    /// (and the step's errors show it). Returns how many are open.
    async fn circuits_gauge(&self) -> u32 {
        let mut open = 0;
        for provider in &self.providers {
            match self.circuits.health(provider).await {
                Ok(health) => {
                    let tripped = health.tripped();
                    open += u32::from(tripped);
                    metrics::emit(
                        Metric::CircuitOpen,
                        if tripped { 1.0 } else { 0.0 },
                        &[(Dim::Provider, provider)],
                    );
                }
                Err(e) => {
                    tracing::warn!(provider = %provider, error = %e, "could not read a provider's circuit")
                }
            }
        }
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::clock::epoch_of;
    use shared::domain::video::VideoSettings;

    const DEADLINE: i64 = 1800;

    fn job(handle: Option<&str>) -> Job {
        Job {
            status: JobStatus::Generating,
            provider: handle.map(|_| "fal".to_owned()),
            provider_handle: handle.map(str::to_owned),
            poll_token: Some("t7".into()),
            ..Job::queued(
                shared::domain::ids::JobId::new("vid_1"),
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
    fn r13_a_stuck_job_is_ended_at_its_deadline_not_a_second_before() {
        let j = job(Some("h"));
        assert!(!past_deadline(&j, 1_000 + DEADLINE - 1, DEADLINE));
        assert!(past_deadline(&j, 1_000 + DEADLINE, DEADLINE));
    }

    #[test]
    fn r43_time_added_by_a_move_to_another_provider_postpones_the_end() {
        let moved = Job {
            deadline_extra: 600,
            ..job(Some("h"))
        };
        assert!(!past_deadline(&moved, 1_000 + DEADLINE, DEADLINE));
        assert!(!past_deadline(&moved, 1_000 + DEADLINE + 599, DEADLINE));
        assert!(past_deadline(&moved, 1_000 + DEADLINE + 600, DEADLINE));
    }

    #[test]
    fn r16_an_ended_job_a_provider_holds_is_stopped_there_and_no_other_is() {
        let stop = stop_message(&job(Some("h"))).unwrap();
        assert_eq!(
            stop,
            GenerateMessage {
                job_id: "vid_1".into(),
                // No chain: the stop is not a look at the job that could start one.
                token: None,
                completed: None,
                stop: true,
                sent_epoch: None,
            }
        );
        assert_eq!(stop_message(&job(None)), None);
    }

    #[test]
    fn r13_a_waiting_job_is_queued_again_on_its_current_polling_chain() {
        let again = requeue_message(&job(Some("h")));
        assert_eq!(again.job_id, "vid_1");
        assert_eq!(again.token.as_deref(), Some("t7"));
        assert!(!again.stop);
        assert_eq!(again.completed, None);
    }

    #[test]
    fn r13_each_run_reads_the_last_three_utc_days_today_first() {
        let now = epoch_of("2026-12-08T00:00:00Z").unwrap();
        let read: Vec<_> = days(now).collect();
        assert_eq!(read, ["2026-12-08", "2026-12-07", "2026-12-06"]);
    }
}
