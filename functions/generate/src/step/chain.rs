//! Looking at a job again: the polling chain's next link, or a completion call's
//! message sent back through the queue when a look failed for now. Submitting, polling
//! and storing all end here while the job is not done, so it is one module they share.

use std::time::Duration;

use shared::adapters::sqs::GenerateMessage;
use shared::domain::video::Job;
use shared::edge::queue_batch::StepError;

use super::Look;

/// The job is still pending: the chain's next look, unless the provider will call. A
/// call whose request still reads as pending (its status lagging its call) comes back
/// through the queue.
pub(super) async fn pending(
    state: &crate::state::Services,
    job: &Job,
    look: Look<'_>,
) -> Result<(), StepError> {
    match look {
        Look::Completed(_) => Err(StepError::retry(
            "called, but the request's status still says pending",
        )),
        Look::Chain(_) | Look::Stop if !called_back(state, job) => {
            again(state, job, state.policy.provider_poll_interval).await
        }
        Look::Chain(_) | Look::Stop => Ok(()),
    }
}

/// Whether the job's provider calls our webhook when its request ends (so it is not
/// polled): only if it says it does and we have a webhook to give it.
fn called_back(state: &crate::state::Services, job: &Job) -> bool {
    state.callback.is_some() && state.providers.of_job(job).is_some_and(|p| p.calls_back())
}

/// A look failed for now: a completion call's message comes back through the queue (it
/// is not deleted); the chain looks again later (or, for a provider that calls, the
/// sweep does).
pub(super) async fn later(
    state: &crate::state::Services,
    job: &Job,
    look: Look<'_>,
    why: &str,
) -> Result<(), StepError> {
    match look {
        Look::Completed(_) => Err(StepError::retry(why)),
        Look::Chain(_) | Look::Stop => {
            tracing::info!(job_id = %job.id, why, "look failed for now; looking again later");
            pending(state, job, look).await
        }
    }
}

/// Looks at the job again after `delay`: a new message on a new polling token, then
/// the job's token handed on to it. The message is sent first, so a crash between the
/// two leaves the old message to come back and try again; if another copy of this
/// step handed the token on first, the message just sent is dropped when it arrives.
pub(super) async fn again(
    state: &crate::state::Services,
    job: &Job,
    delay: Duration,
) -> Result<(), StepError> {
    let next = uuid::Uuid::new_v4().simple().to_string();
    state
        .queue
        .send_generate(
            &GenerateMessage {
                job_id: job.id.to_string(),
                token: Some(next.clone()),
                completed: None,
                stop: false,
                sent_epoch: None,
            },
            delay,
        )
        .await
        .map_err(StepError::retry)?;
    let Some(current) = job.poll_token.as_deref() else {
        return Ok(());
    };
    match state
        .videos
        .pass_poll_token(&job.id, current, &next, state.clock.epoch_secs())
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(StepError::retry(e)),
    }
}
