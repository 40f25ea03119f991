//! One look at one job: what the message and the job as read call for, decided by
//! `next` alone (so it is tested without a queue or a provider), and `run`, which
//! carries it out. The work a decision leads to lives in the modules below, one
//! concern each: submitting to a provider, taking the finished output, and looking
//! at the job again later.

mod chain;
mod output;
mod submit;

use std::time::Duration;

use shared::adapters::sqs::GenerateMessage;
use shared::domain::video::{Job, JobStatus};
use shared::edge::queue_batch::StepError;

use chain::later;
use output::poll;
use submit::submit;

/// What a message is: a link of the job's polling chain, or the provider's word that
/// a request ended.
///
/// A provider that calls our webhook is not polled: after the submission the chain
/// stops, the call's message makes the one look that is needed, and `sweep`, which
/// queues a look at any job that waited longer than `requeue_after`, is the fallback
/// for a call that never came. A provider that does not call is polled by the chain,
/// one delayed message after another.
#[derive(Debug, Clone, Copy)]
pub enum Look<'a> {
    /// Carries the chain's token (from `videos`, `sweep` or the previous link).
    Chain(Option<&'a str>),
    /// The provider called about this request (its id): one look now, which starts no
    /// chain; a passing failure sends this message back.
    Completed(&'a str),
    /// `sweep` ended the job at its deadline: stop the provider's request.
    Stop,
}

/// What a look at a job leads to, decided from the job as read, the message and the
/// clock alone (so it is tested without a queue or a provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing to do; why, for the log.
    Nothing(&'static str),
    /// The job ended while the provider may still be at it: stop the request, and drop
    /// the provider's copy when the job was deleted (R16).
    StopProvider { drop_copy: bool },
    /// Past the generation deadline: stop the provider, end the job failed (refunded).
    TimedOut,
    /// Not at the provider yet: submit it.
    Submit,
    /// At the provider: look at the request.
    Poll,
    /// A completion call for a job whose submission is not recorded yet: look again
    /// when the message comes back.
    NotYet,
    /// The provider refused the job: its owner is told, once (R46); a message that
    /// comes back because the mail failed tells again.
    TellRefused,
}

/// How long a completion call for a generating job without a handle is taken for one
/// that overtook its own submission (the provider accepted the request and called back
/// before the handle was written), and so looked at again rather than submitted anew.
/// The write follows the acceptance at once; seconds cover its retries.
pub const SUBMISSION_IN_FLIGHT_SECS: i64 = 10;

/// The next step of `job` for `look` at `now`. `named` is the provider's request id
/// in the job's handle, if any (a completion call must name it). `young`: the message
/// was sent less than [`SUBMISSION_IN_FLIGHT_SECS`] ago.
pub fn next(
    job: &Job,
    look: Look<'_>,
    now: i64,
    deadline: i64,
    named: Option<&str>,
    young: bool,
) -> Next {
    if !job.status.is_active() {
        // Done, failed or deleted meanwhile: a late or repeated message, or one sent to
        // stop the provider. A job deleted while the provider worked on it: stop it and
        // drop its copy (R16); one `sweep` ended at its deadline while the provider was
        // still at it: stop it. Both are idempotent at the provider.
        return match (job.provider_handle.is_some(), job.status, look) {
            (_, JobStatus::Rejected, _) => Next::TellRefused,
            (true, JobStatus::Deleted, _) => Next::StopProvider { drop_copy: true },
            (true, JobStatus::Failed, Look::Stop) => Next::StopProvider { drop_copy: false },
            _ => Next::Nothing("the job has ended"),
        };
    }
    match look {
        // A copy of a message whose chain was handed on by another copy: one job, one
        // polling chain.
        Look::Chain(token) if token != job.poll_token.as_deref() => {
            return Next::Nothing("a superseded polling chain");
        }
        // A fast provider's call can come before the submission's handle is stored:
        // the call is looked at again when its message comes back, not dropped (the
        // provider calls once, and a dropped call leaves the job to the sweep).
        Look::Completed(_) if named.is_none() && job.status == JobStatus::Queued => {
            return Next::NotYet;
        }
        // Generating without a handle, and the call is young: its submission may be
        // writing the handle now. Submitting again would make a second request, and if
        // the first one's handle were then written, this call (the provider's only one
        // for it) would have been spent: the job would wait for the sweep.
        Look::Completed(_) if named.is_none() && young => return Next::NotYet,
        // Generating without a handle, and the call no longer young: the job was moved
        // off a provider (R43) and this message's step stopped before it was submitted
        // to the next. Nothing else
        // will submit it (a provider that calls back has no polling chain): this look
        // does.
        Look::Completed(_) if named.is_none() => {}
        // Not this job's request: the chain will see.
        Look::Completed(request_id) if named != Some(request_id) => {
            return Next::Nothing("a completion call about another request");
        }
        Look::Chain(_) | Look::Completed(_) => {}
        // Sent only for a job `sweep` has ended: nothing to do for an active one.
        Look::Stop => return Next::Nothing("a stop for a job still active"),
    }
    if now >= job.deadline_epoch(deadline) {
        return Next::TimedOut;
    }
    if job.provider_handle.is_none() {
        Next::Submit
    } else {
        Next::Poll
    }
}

pub async fn run(
    state: &crate::state::Services,
    job_id: &str,
    look: Look<'_>,
    sent_epoch: Option<i64>,
) -> Result<(), StepError> {
    let Some(job) = state.videos.get(job_id).await? else {
        return before_its_job(state, job_id, look, sent_epoch).await;
    };
    let provider = state.providers.of_job(&job).cloned();
    let named = job
        .provider_handle
        .as_deref()
        .zip(provider.as_ref())
        .and_then(|(h, p)| p.request_id(h));
    let deadline = state.policy.generation_deadline.as_secs() as i64;
    let handle = job.provider_handle.clone().unwrap_or_default();
    let now = state.clock.epoch_secs();
    let young = sent_epoch.is_some_and(|sent| now - sent < SUBMISSION_IN_FLIGHT_SECS);
    let next = next(&job, look, now, deadline, named.as_deref(), young);
    // A job at a provider this deployment no longer has cannot be looked at there.
    let at = match (&next, provider) {
        (Next::StopProvider { .. } | Next::TimedOut | Next::Poll, None)
            if job.provider_handle.is_some() =>
        {
            tracing::error!(event = "provider_unknown", job_id = %job.id, "the job's provider is not configured");
            None
        }
        (_, p) => p,
    };
    match next {
        Next::Nothing(why) => {
            tracing::info!(job_id = %job.id, why, "message dropped");
            Ok(())
        }
        Next::StopProvider { drop_copy } => {
            if let Some(p) = &at {
                let _ = p.cancel(&handle).await;
                if drop_copy {
                    let _ = p.delete(&handle).await;
                }
            }
            Ok(())
        }
        Next::TimedOut => {
            if let Some(p) = at.as_ref().filter(|_| job.provider_handle.is_some()) {
                let _ = p.cancel(&handle).await;
            }
            state
                .jobs
                .end(&job, JobStatus::Failed, Some("timed_out"))
                .await?;
            Ok(())
        }
        Next::NotYet => Err(StepError::retry(
            "a completion call before the submission is recorded",
        )),
        Next::TellRefused => output::tell_refused(state, &job).await,
        Next::Submit => submit(state, job).await,
        Next::Poll => match at {
            Some(p) => poll(state, &job, &p, &handle, look).await,
            None => later(state, &job, look, "the job's provider is not configured").await,
        },
    }
}

/// No such job. The submission sends its message beside the commit of the job, so a
/// young message may have come first: it is sent again, delayed by its age (1, 1, 2,
/// 4… seconds), until the job is there or the message is older than `requeue_after`,
/// when the job was never made (its commit failed) and the message is dropped.
async fn before_its_job(
    state: &crate::state::Services,
    job_id: &str,
    look: Look<'_>,
    sent_epoch: Option<i64>,
) -> Result<(), StepError> {
    let (Look::Chain(token), Some(sent)) = (look, sent_epoch) else {
        tracing::info!(%job_id, "no such job; message dropped");
        return Ok(());
    };
    let age = state.clock.epoch_secs() - sent;
    if age >= state.policy.requeue_after.as_secs() as i64 {
        tracing::info!(%job_id, age, "no such job, and the message is old; dropped");
        return Ok(());
    }
    let message = GenerateMessage {
        job_id: job_id.to_owned(),
        token: token.map(str::to_owned),
        completed: None,
        stop: false,
        sent_epoch: Some(sent),
    };
    tracing::info!(%job_id, age, "the job is not committed yet; looking again shortly");
    state
        .queue
        .send_generate(&message, Duration::from_secs(age.max(1) as u64))
        .await
        .map_err(StepError::retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINE: i64 = 1800;

    fn job(status: JobStatus, handle: Option<&str>) -> Job {
        Job {
            status,
            provider: handle.map(|_| "fal".to_owned()),
            provider_handle: handle.map(str::to_owned),
            poll_token: Some("t1".into()),
            ..Job::queued(
                shared::domain::ids::JobId::new("vid_1"),
                shared::domain::ids::AccountId::new("acc_1"),
                shared::domain::clock::from_epoch(1_000),
                "a kite".into(),
                shared::domain::video::VideoSettings {
                    seconds: 4,
                    aspect_ratio: "16:9".into(),
                    audio: true,
                },
                1,
            )
        }
    }

    #[test]
    fn a_new_job_is_submitted_and_one_at_the_provider_polled() {
        let chain = Look::Chain(Some("t1"));
        assert_eq!(
            next(
                &job(JobStatus::Queued, None),
                chain,
                1_010,
                DEADLINE,
                None,
                false
            ),
            Next::Submit
        );
        let at = job(JobStatus::Generating, Some("h"));
        assert_eq!(
            next(&at, chain, 1_010, DEADLINE, Some("r1"), false),
            Next::Poll
        );
        // A completion call about its request: one look now.
        assert_eq!(
            next(
                &at,
                Look::Completed("r1"),
                1_010,
                DEADLINE,
                Some("r1"),
                false
            ),
            Next::Poll
        );
    }

    #[test]
    fn r13_a_call_that_comes_before_the_submission_is_recorded_comes_back() {
        // The provider finished and called before `submit` stored its handle.
        let submitting = job(JobStatus::Queued, None);
        assert_eq!(
            next(
                &submitting,
                Look::Completed("r1"),
                1_010,
                DEADLINE,
                None,
                false
            ),
            Next::NotYet
        );
    }

    #[test]
    fn r13_a_young_call_about_a_generating_job_without_its_handle_comes_back() {
        // Marked generating and accepted by the provider, whose call overtook the write
        // of the handle: submitting again would spend the provider's one call.
        let writing = job(JobStatus::Generating, None);
        assert_eq!(
            next(&writing, Look::Completed("r1"), 1_010, DEADLINE, None, true),
            Next::NotYet
        );
        // Still without a handle once the call is no longer young: submitted.
        assert_eq!(
            next(
                &writing,
                Look::Completed("r1"),
                1_010,
                DEADLINE,
                None,
                false
            ),
            Next::Submit
        );
    }

    #[test]
    fn r43_a_call_about_a_job_left_between_providers_submits_it() {
        // Moved off a provider (no handle, still generating), its next submission cut
        // short: the message that comes back carries the job on.
        let mut moved = job(JobStatus::Generating, None);
        moved.tried = vec!["fal".into()];
        assert_eq!(
            next(&moved, Look::Completed("r1"), 1_010, DEADLINE, None, false),
            Next::Submit
        );
    }

    #[test]
    fn r13_copies_calls_and_stops_that_are_not_for_this_job_do_nothing() {
        let at = job(JobStatus::Generating, Some("h"));
        assert!(matches!(
            next(
                &at,
                Look::Chain(Some("old")),
                1_010,
                DEADLINE,
                Some("r1"),
                false
            ),
            Next::Nothing(_)
        ));
        assert!(matches!(
            next(
                &at,
                Look::Completed("r2"),
                1_010,
                DEADLINE,
                Some("r1"),
                false
            ),
            Next::Nothing(_)
        ));
        assert!(matches!(
            next(&at, Look::Stop, 1_010, DEADLINE, Some("r1"), false),
            Next::Nothing(_)
        ));
    }

    #[test]
    fn r13_r11_past_the_deadline_a_job_times_out() {
        let at = job(JobStatus::Generating, Some("h"));
        let chain = Look::Chain(Some("t1"));
        assert_eq!(
            next(&at, chain, 1_000 + DEADLINE - 1, DEADLINE, None, false),
            Next::Poll
        );
        assert_eq!(
            next(&at, chain, 1_000 + DEADLINE, DEADLINE, None, false),
            Next::TimedOut
        );
    }

    #[test]
    fn r16_an_ended_job_stops_the_provider_and_a_deleted_one_drops_its_copy() {
        let chain = Look::Chain(Some("t1"));
        assert_eq!(
            next(
                &job(JobStatus::Deleted, Some("h")),
                chain,
                1_010,
                DEADLINE,
                None,
                false
            ),
            Next::StopProvider { drop_copy: true }
        );
        assert_eq!(
            next(
                &job(JobStatus::Failed, Some("h")),
                Look::Stop,
                1_010,
                DEADLINE,
                None,
                false
            ),
            Next::StopProvider { drop_copy: false }
        );
        // Ready, or never at the provider: nothing.
        assert!(matches!(
            next(
                &job(JobStatus::Ready, Some("h")),
                chain,
                1_010,
                DEADLINE,
                None,
                false
            ),
            Next::Nothing(_)
        ));
        assert!(matches!(
            next(
                &job(JobStatus::Deleted, None),
                chain,
                1_010,
                DEADLINE,
                None,
                false
            ),
            Next::Nothing(_)
        ));
    }
}
