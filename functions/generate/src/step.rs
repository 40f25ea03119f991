//! One look at one job.

use std::time::Duration;

use futures_util::StreamExt;
use shared::adapters::providers::video::{
    ByteStream, GenerationRequest, Progress, ProviderError, SubmitError,
};
use shared::adapters::s3::ObjectMeta;
use shared::adapters::sqs::GenerateMessage;
use shared::domain::clock::rfc3339;
use shared::domain::video::Job;
use shared::domain::video::{JobStatus, Mode, output_key, staging_key};
use shared::edge::sqs::StepError;

use crate::state::GenerateState;

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
}

/// The next step of `job` for `look` at `now`. `named` is the provider's request id
/// in the job's handle, if any (a completion call must name it).
pub fn next(job: &Job, look: Look<'_>, now: i64, deadline: i64, named: Option<&str>) -> Next {
    if !job.status.is_active() {
        // Done, failed or deleted meanwhile: a late or repeated message, or one sent to
        // stop the provider. A job deleted while the provider worked on it: stop it and
        // drop its copy (R16); one `sweep` ended at its deadline while the provider was
        // still at it: stop it. Both are idempotent at the provider.
        return match (job.provider_handle.is_some(), job.status, look) {
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
        Look::Completed(_) if named.is_none() => return Next::NotYet,
        // Not this job's request: the chain will see.
        Look::Completed(request_id) if named != Some(request_id) => {
            return Next::Nothing("a completion call about another request");
        }
        Look::Chain(_) | Look::Completed(_) => {}
        // Sent only for a job `sweep` has ended: nothing to do for an active one.
        Look::Stop => return Next::Nothing("a stop for a job still active"),
    }
    if now >= job.created_epoch + deadline {
        return Next::TimedOut;
    }
    if job.provider_handle.is_none() {
        Next::Submit
    } else {
        Next::Poll
    }
}

pub async fn run(state: &GenerateState, job_id: &str, look: Look<'_>) -> Result<(), StepError> {
    let Some(job) = state.videos.get(job_id).await? else {
        tracing::info!(%job_id, "no such job; message dropped");
        return Ok(());
    };
    let named = job
        .provider_handle
        .as_deref()
        .and_then(|h| state.provider.request_id(h));
    let deadline = state.policy.generation_deadline.as_secs() as i64;
    let handle = job.provider_handle.clone().unwrap_or_default();
    match next(
        &job,
        look,
        state.clock.epoch_secs(),
        deadline,
        named.as_deref(),
    ) {
        Next::Nothing(why) => {
            tracing::info!(job_id = %job.id, why, "message dropped");
            Ok(())
        }
        Next::StopProvider { drop_copy } => {
            let _ = state.provider.cancel(&handle).await;
            if drop_copy {
                let _ = state.provider.delete(&handle).await;
            }
            Ok(())
        }
        Next::TimedOut => {
            if job.provider_handle.is_some() {
                let _ = state.provider.cancel(&handle).await;
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
        Next::Submit => submit(state, &job).await,
        Next::Poll => poll(state, &job, &handle, look).await,
    }
}

/// The job is still pending: the chain's next look, unless the provider will call. A
/// call whose request still reads as pending (its status lagging its call) comes back
/// through the queue.
async fn pending(state: &GenerateState, job: &Job, look: Look<'_>) -> Result<(), StepError> {
    match look {
        Look::Completed(_) => Err(StepError::retry(
            "called, but the request's status still says pending",
        )),
        Look::Chain(_) | Look::Stop if state.callback.is_none() => {
            again(state, job, state.policy.provider_poll_interval).await
        }
        Look::Chain(_) | Look::Stop => Ok(()),
    }
}

/// A look failed for now: a completion call's message comes back through the queue (it
/// is not deleted); the chain looks again later (or, for a provider that calls, the
/// sweep does).
async fn later(
    state: &GenerateState,
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
async fn again(state: &GenerateState, job: &Job, delay: Duration) -> Result<(), StepError> {
    let next = uuid::Uuid::new_v4().simple().to_string();
    state
        .queue
        .send_generate(
            &GenerateMessage {
                job_id: job.id.clone(),
                token: Some(next.clone()),
                completed: None,
                stop: false,
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

async fn submit(state: &GenerateState, job: &Job) -> Result<(), StepError> {
    let policy = &state.policy;
    let Some(prompt) = job.prompt.as_deref() else {
        return Ok(());
    };
    // R14: the image is read by the provider through a short-lived link, never public.
    let image_url = match (&job.mode, &job.input_key) {
        (Mode::Image, Some(key)) => Some(
            state
                .blobs
                .presign_get(&state.inputs_bucket, key, policy.upload_link_ttl, None)
                .await
                .map_err(StepError::retry)?,
        ),
        _ => None,
    };
    // The job's id goes in the address; a call is trusted for its signature, not for it.
    let callback = state
        .callback
        .as_ref()
        .map(|url| format!("{url}?job={}", job.id));
    let request = GenerationRequest {
        prompt,
        mode: job.mode,
        settings: &job.settings,
        image_url: image_url.as_deref(),
        callback: callback.as_deref(),
    };
    match state.provider.submit(&request).await {
        Ok(handle) => {
            match state
                .videos
                .mark_generating(&job.id, &handle, &rfc3339(state.clock.now()))
                .await
            {
                Ok(()) => {
                    tracing::info!(event = "video_submitted", job_id = %job.id, provider = state.provider.name(), "submitted to the provider");
                    pending(state, job, Look::Chain(None)).await
                }
                Err(e) if e.is_condition_failure() => {
                    // Another copy of this message submitted first: stop ours.
                    let _ = state.provider.cancel(&handle).await;
                    Ok(())
                }
                Err(e) => {
                    let _ = state.provider.cancel(&handle).await;
                    Err(e.into())
                }
            }
        }
        Err(SubmitError::Retry { after }) => {
            let attempt = job.submits + 1;
            if attempt >= policy.provider_max_submits {
                state
                    .jobs
                    .end(job, JobStatus::Failed, Some("provider_unavailable"))
                    .await?;
                return Ok(());
            }
            state.videos.count_submit(&job.id).await?;
            let backoff = policy.provider_retry_base * 2u32.saturating_pow(attempt - 1);
            let delay = after.map_or(backoff, |a| a.max(backoff));
            tracing::info!(event = "provider_busy", job_id = %job.id, attempt, delay_secs = delay.as_secs(), "provider refused for now");
            again(state, job, delay).await
        }
        Err(SubmitError::Refused) => {
            state
                .jobs
                .end(job, JobStatus::Rejected, Some("provider_refused"))
                .await?;
            Ok(())
        }
        Err(SubmitError::Failed(reason)) => {
            tracing::error!(event = "provider_error", job_id = %job.id, reason, "submission failed");
            state
                .jobs
                .end(job, JobStatus::Failed, Some("provider_error"))
                .await?;
            Ok(())
        }
    }
}

async fn poll(
    state: &GenerateState,
    job: &Job,
    handle: &str,
    look: Look<'_>,
) -> Result<(), StepError> {
    match state.provider.progress(handle).await {
        Ok(Progress::Pending) => pending(state, job, look).await,
        // A passing fault at the provider: look again later; the deadline still holds.
        Err(ProviderError::Transient(reason)) => {
            tracing::info!(job_id = %job.id, reason, "provider status unavailable for now");
            later(state, job, look, "provider status unavailable").await
        }
        Ok(Progress::Failed) | Err(ProviderError::Failed(_)) => {
            state
                .jobs
                .end(job, JobStatus::Failed, Some("generation_failed"))
                .await?;
            Ok(())
        }
        Ok(Progress::Completed) => store_output(state, job, handle, look).await,
    }
}

/// Streams the finished file to its staging key in the outputs bucket, marked as
/// AI-generated (R21); `stamp` signs its content credentials into the output (R41).
async fn store_output(
    state: &GenerateState,
    job: &Job,
    handle: &str,
    look: Look<'_>,
) -> Result<(), StepError> {
    let bucket = &state.outputs_bucket;
    let key = staging_key(&job.id);
    let output = output_key(&job.id);
    // Stored by an earlier copy of this message: `stamp` has it, or has stamped it.
    let (staged, stamped) = tokio::join!(
        state.blobs.head(bucket, &key),
        state.blobs.head(bucket, &output)
    );
    if stamped.map_err(StepError::retry)?.is_some() {
        return Ok(());
    }
    if let Some(staged) = staged.map_err(StepError::retry)? {
        // Waiting for `stamp`. If it has waited past the time `sweep` gives a lost
        // message, its event was lost too (a dead letter): announce it again, so the
        // video that was made is delivered rather than refunded at the deadline.
        let waited = state.clock.epoch_secs() - staged.written.unwrap_or(i64::MAX);
        if waited >= state.policy.requeue_after.as_secs() as i64 {
            tracing::warn!(event = "staged_output_announced_again", job_id = %job.id, waited, "staged file announced to stamp again");
            state
                .blobs
                .announce_again(bucket, &key, &staged)
                .await
                .map_err(StepError::retry)?;
        }
        return Ok(());
    }
    let output = match state.provider.output(handle).await {
        Ok(o) => o,
        Err(ProviderError::Transient(_)) => {
            return later(state, job, look, "provider result unavailable").await;
        }
        Err(ProviderError::Failed(_)) => {
            state
                .jobs
                .end(job, JobStatus::Failed, Some("generation_failed"))
                .await?;
            return Ok(());
        }
    };
    let deadline = tokio::time::Instant::now() + state.policy.provider_download_deadline;
    let stream = match tokio::time::timeout_at(deadline, state.provider.download(&output)).await {
        Ok(Ok(s)) => until(deadline, s),
        // An output at a place the provider does not serve from is never fetched.
        Ok(Err(ProviderError::Failed(reason))) => {
            tracing::warn!(event = "output_refused", job_id = %job.id, %reason, "output refused");
            state
                .jobs
                .end(job, JobStatus::Failed, Some("output_refused"))
                .await?;
            return Ok(());
        }
        Ok(Err(_)) | Err(_) => return later(state, job, look, "download unavailable").await,
    };
    let model = state.provider.model(job.mode).to_owned();
    let meta = ObjectMeta {
        content_type: "video/mp4",
        metadata: &[
            ("ai-generated", "true"),
            ("job-id", &job.id),
            ("generator", state.provider.name()),
            ("model", &model),
        ],
    };
    match state.blobs.upload_stream(bucket, &key, meta, stream).await {
        Ok(bytes) => {
            tracing::info!(event = "video_stored", job_id = %job.id, bytes, "output stored");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(job_id = %job.id, error = %e, "storing the output failed; will retry");
            later(state, job, look, "storing the output failed").await
        }
    }
}

/// The download as a stream that fails once `deadline` passes: the upload then stops
/// and aborts its multipart upload, and the message is looked at again later, instead
/// of a stalled provider holding the whole batch until Lambda's timeout.
fn until(deadline: tokio::time::Instant, source: ByteStream) -> ByteStream {
    Box::pin(futures_util::stream::unfold(
        Some(source),
        move |source| async move {
            let mut source = source?;
            match tokio::time::timeout_at(deadline, source.next()).await {
                Ok(Some(item)) => Some((item, Some(source))),
                Ok(None) => None,
                Err(_) => Some((
                    Err(ProviderError::Transient("download deadline passed".into())),
                    None,
                )),
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINE: i64 = 1800;

    fn job(status: JobStatus, handle: Option<&str>) -> Job {
        Job {
            id: "vid_1".into(),
            account_id: "acc_1".into(),
            created_at: "2026-12-05T00:00:00Z".into(),
            created_epoch: 1_000,
            status,
            prompt: Some("a kite".into()),
            mode: Mode::Text,
            settings: shared::domain::video::VideoSettings {
                seconds: 4,
                aspect_ratio: "16:9".into(),
                audio: true,
            },
            cost: 1,
            upload_id: None,
            input_key: None,
            output_key: None,
            provider_handle: handle.map(str::to_owned),
            submits: 0,
            completed_at: None,
            expires_at: None,
            expires_epoch: None,
            error: None,
            notified: false,
            request_hash: None,
            poll_token: Some("t1".into()),
            enqueued_epoch: 1_000,
        }
    }

    #[test]
    fn a_new_job_is_submitted_and_one_at_the_provider_polled() {
        let chain = Look::Chain(Some("t1"));
        assert_eq!(
            next(&job(JobStatus::Queued, None), chain, 1_010, DEADLINE, None),
            Next::Submit
        );
        let at = job(JobStatus::Generating, Some("h"));
        assert_eq!(next(&at, chain, 1_010, DEADLINE, Some("r1")), Next::Poll);
        // A completion call about its request: one look now.
        assert_eq!(
            next(&at, Look::Completed("r1"), 1_010, DEADLINE, Some("r1")),
            Next::Poll
        );
    }

    #[test]
    fn r13_a_call_that_comes_before_the_submission_is_recorded_comes_back() {
        // The provider finished and called before `submit` stored its handle.
        let submitting = job(JobStatus::Queued, None);
        assert_eq!(
            next(&submitting, Look::Completed("r1"), 1_010, DEADLINE, None),
            Next::NotYet
        );
    }

    #[test]
    fn r13_copies_calls_and_stops_that_are_not_for_this_job_do_nothing() {
        let at = job(JobStatus::Generating, Some("h"));
        assert!(matches!(
            next(&at, Look::Chain(Some("old")), 1_010, DEADLINE, Some("r1")),
            Next::Nothing(_)
        ));
        assert!(matches!(
            next(&at, Look::Completed("r2"), 1_010, DEADLINE, Some("r1")),
            Next::Nothing(_)
        ));
        assert!(matches!(
            next(&at, Look::Stop, 1_010, DEADLINE, Some("r1")),
            Next::Nothing(_)
        ));
    }

    #[test]
    fn r13_r11_past_the_deadline_a_job_times_out() {
        let at = job(JobStatus::Generating, Some("h"));
        let chain = Look::Chain(Some("t1"));
        assert_eq!(
            next(&at, chain, 1_000 + DEADLINE - 1, DEADLINE, None),
            Next::Poll
        );
        assert_eq!(
            next(&at, chain, 1_000 + DEADLINE, DEADLINE, None),
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
                None
            ),
            Next::StopProvider { drop_copy: true }
        );
        assert_eq!(
            next(
                &job(JobStatus::Failed, Some("h")),
                Look::Stop,
                1_010,
                DEADLINE,
                None
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
                None
            ),
            Next::Nothing(_)
        ));
        assert!(matches!(
            next(&job(JobStatus::Deleted, None), chain, 1_010, DEADLINE, None),
            Next::Nothing(_)
        ));
    }
}
