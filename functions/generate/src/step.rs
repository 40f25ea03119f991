//! One look at one job.

use std::time::Duration;

use futures_util::StreamExt;
use std::sync::Arc;

use shared::adapters::dynamo::circuits::Verdict;
use shared::adapters::providers::video::{
    ByteStream, GenerationRequest, Progress, ProviderError, SubmitError, VideoProvider,
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
    state: &GenerateState,
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
    state: &GenerateState,
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

/// The job is still pending: the chain's next look, unless the provider will call. A
/// call whose request still reads as pending (its status lagging its call) comes back
/// through the queue.
async fn pending(state: &GenerateState, job: &Job, look: Look<'_>) -> Result<(), StepError> {
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
fn called_back(state: &GenerateState, job: &Job) -> bool {
    state.callback.is_some() && state.providers.of_job(job).is_some_and(|p| p.calls_back())
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

/// The providers that may still get `job`, in the model's order, each with its id of
/// the model: every one that serves the job's mode and has not failed it (R43).
fn candidates(state: &GenerateState, job: &Job) -> Vec<(String, String)> {
    let Ok(model) = state.catalogue.get(job.model.as_deref()) else {
        return Vec::new();
    };
    model
        .servings(job.mode)
        .filter(|(p, _)| !job.tried.iter().any(|t| t == p))
        .filter(|(p, _)| state.providers.get(p).is_some())
        .map(|(p, m)| (p.to_owned(), m.to_owned()))
        .collect()
}

/// Submits the job to the first healthy provider of its model that has not failed it
/// (R43). A provider that fails the submission (down, or throttling past its budget)
/// is counted against its circuit and the job moves at once to the next; the last one
/// left is tried again with backoff, and past `provider_max_submits` the job fails
/// with its one refund. A refusal for content is never retried elsewhere.
async fn submit(state: &GenerateState, mut job: Job) -> Result<(), StepError> {
    let policy = &state.policy;
    let Some(prompt) = job.prompt.clone() else {
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
    loop {
        let left = candidates(state, &job);
        if left.is_empty() {
            state
                .jobs
                .end(&job, JobStatus::Failed, Some("provider_unavailable"))
                .await?;
            return Ok(());
        }
        let Some((name, model, probing)) = choose(state, &left).await else {
            // Every provider left is down (its circuit open): wait as for a refusal.
            tracing::info!(event = "providers_unavailable", job_id = %job.id, "every provider of the model is down");
            return retry_later(state, &job, None).await;
        };
        let Some(provider) = state.providers.get(&name).cloned() else {
            return Ok(());
        };
        // The job's id goes in the address; a call is trusted for its signature, not for it.
        let callback = state
            .callback
            .as_ref()
            .filter(|_| provider.calls_back())
            .map(|url| format!("{url}/{name}?job={}", job.id));
        let request = GenerationRequest {
            model: &model,
            prompt: &prompt,
            mode: job.mode,
            settings: &job.settings,
            image_url: image_url.as_deref(),
            callback: callback.as_deref(),
        };
        let failure = match provider.submit(&request).await {
            Ok(handle) => return accepted(state, &job, &provider, &handle, probing).await,
            Err(SubmitError::Refused) => {
                state
                    .jobs
                    .end(&job, JobStatus::Rejected, Some("provider_refused"))
                    .await?;
                return Ok(());
            }
            Err(SubmitError::Failed(reason)) => {
                tracing::error!(event = "provider_error", job_id = %job.id, provider = %name, reason, "submission failed");
                state
                    .jobs
                    .end(&job, JobStatus::Failed, Some("provider_error"))
                    .await?;
                return Ok(());
            }
            // A short wait asked for: the provider is busy, not down.
            Err(SubmitError::Throttled { after })
                if after.is_none_or(|a| a <= policy.provider_throttle_budget) =>
            {
                if probing {
                    // Busy is alive: the probe's answer is "up".
                    recovered(state, &name).await;
                }
                return retry_later(state, &job, after).await;
            }
            Err(SubmitError::Throttled { after }) => ("throttled past its budget", after),
            Err(SubmitError::Unavailable) => ("unavailable", None),
        };
        let (why, after) = failure;
        tracing::info!(event = "provider_failed", job_id = %job.id, provider = %name, why, "submission failed for now");
        failed(state, &name, probing).await;
        if left.len() == 1 {
            return retry_later(state, &job, after).await;
        }
        // Never accepted: the provider has nothing to stop, and the deadline stays.
        if !move_on(state, &mut job, &name, 0).await? {
            return Ok(());
        }
    }
}

/// The first provider in `left` to send work to now: closed, or half-open with the
/// probe claimed here. `None` when every one is open.
async fn choose(
    state: &GenerateState,
    left: &[(String, String)],
) -> Option<(String, String, bool)> {
    let now = state.clock.epoch_secs();
    // One read while the first choice is healthy (the usual case); the next provider's
    // health is read only when the one before it is avoided.
    for (name, model) in left {
        // Health that cannot be read is taken as closed: the call itself will tell.
        let health = state.circuits.health(name).await.unwrap_or_default();
        let verdict = state
            .circuits
            .verdict(name, &health, now, &state.breaker)
            .await
            .unwrap_or(Verdict::Use);
        match verdict {
            Verdict::Use => return Some((name.clone(), model.clone(), false)),
            Verdict::Probe => {
                tracing::info!(event = "circuit_probe", provider = %name, "probing a provider");
                return Some((name.clone(), model.clone(), true));
            }
            Verdict::Avoid => {}
        }
    }
    None
}

/// Counts a failed call against the provider's circuit.
async fn failed(state: &GenerateState, provider: &str, probing: bool) {
    match state
        .circuits
        .failed(provider, state.clock.epoch_secs(), probing, &state.breaker)
        .await
    {
        Ok(true) => {
            tracing::warn!(event = "circuit_opened", provider, "provider marked down");
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(provider, error = %e, "could not record a provider failure"),
    }
}

/// The probe got through: the provider's circuit closes.
async fn recovered(state: &GenerateState, provider: &str) {
    match state.circuits.recovered(provider).await {
        Ok(true) => tracing::info!(event = "circuit_closed", provider, "provider up again"),
        Ok(false) => {}
        Err(e) => tracing::warn!(provider, error = %e, "could not record a provider's recovery"),
    }
}

/// Moves the job off `provider` (see `VideoStore::move_on`), and updates the copy in
/// hand to match. `Ok(false)` when another copy of this step moved it first.
async fn move_on(
    state: &GenerateState,
    job: &mut Job,
    provider: &str,
    extra: i64,
) -> Result<bool, StepError> {
    match state.videos.move_on(job, provider, extra).await {
        Ok(()) => {
            tracing::info!(event = "job_moved", job_id = %job.id, from = provider, "job moves to the next provider");
            job.tried.push(provider.to_owned());
            job.provider_handle = None;
            job.submitted_epoch = None;
            job.submits = 0;
            job.deadline_extra += extra;
            Ok(true)
        }
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(StepError::retry(e)),
    }
}

/// The provider took the job: record it (one copy of the step wins), and close the
/// provider's circuit if this was its probe.
async fn accepted(
    state: &GenerateState,
    job: &Job,
    provider: &Arc<dyn VideoProvider>,
    handle: &str,
    probing: bool,
) -> Result<(), StepError> {
    if probing {
        recovered(state, provider.name()).await;
    }
    match state
        .videos
        .mark_generating(
            job,
            provider.name(),
            handle,
            &rfc3339(state.clock.now()),
            state.clock.epoch_secs(),
        )
        .await
    {
        Ok(()) => {
            tracing::info!(event = "video_submitted", job_id = %job.id, provider = provider.name(), "submitted to the provider");
            let mut at = job.clone();
            at.provider = Some(provider.name().to_owned());
            pending(state, &at, Look::Chain(None)).await
        }
        Err(e) if e.is_condition_failure() => {
            // Another copy of this message submitted first: stop ours.
            let _ = provider.cancel(handle).await;
            Ok(())
        }
        Err(e) => {
            let _ = provider.cancel(handle).await;
            Err(e.into())
        }
    }
}

/// A submission to try again later, with backoff (or the wait the provider asked
/// for); past `provider_max_submits` attempts the job fails, refunded.
async fn retry_later(
    state: &GenerateState,
    job: &Job,
    after: Option<Duration>,
) -> Result<(), StepError> {
    let policy = &state.policy;
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

/// The provider that accepted the job failed it, or let it hang past its time (R43):
/// stop it there and drop its copy, and move the job to the next provider of its
/// model, with its deadline extended. With none left, the job fails (`hung` jobs
/// instead wait for the deadline: the provider may still finish).
async fn fail_over(
    state: &GenerateState,
    job: &Job,
    provider: &Arc<dyn VideoProvider>,
    handle: &str,
    hung: bool,
) -> Result<(), StepError> {
    let others = candidates(state, job)
        .into_iter()
        .any(|(p, _)| p != provider.name());
    if !others {
        if hung {
            return Ok(());
        }
        state
            .jobs
            .end(job, JobStatus::Failed, Some("generation_failed"))
            .await?;
        return Ok(());
    }
    let mut moved = job.clone();
    let extra = state.policy.failover_extension.as_secs() as i64;
    if !move_on(state, &mut moved, provider.name(), extra).await? {
        return Ok(());
    }
    if hung {
        // A provider that let a job hang past its time failed a call: counted once
        // per job moved, not at every look.
        failed(state, provider.name(), false).await;
    }
    // Our record no longer points at the request: stop it and drop its copy (R16).
    // Best effort: a provider that cannot now ends the request on its own, and keeps
    // its copy only as long as its own retention.
    if let Err(e) = provider.cancel(handle).await {
        tracing::warn!(event = "provider_request_not_stopped", job_id = %job.id, provider = provider.name(), error = %e, "request left running");
    }
    if let Err(e) = provider.delete(handle).await {
        tracing::warn!(event = "provider_copy_kept", job_id = %job.id, provider = provider.name(), error = %e, "provider copy not deleted");
    }
    submit(state, moved).await
}

async fn poll(
    state: &GenerateState,
    job: &Job,
    provider: &Arc<dyn VideoProvider>,
    handle: &str,
    look: Look<'_>,
) -> Result<(), StepError> {
    match provider.progress(handle).await {
        Ok(Progress::Pending) => {
            let since = job.submitted_epoch.unwrap_or(job.created_epoch);
            let waited = state.clock.epoch_secs() - since;
            // Accepted, then silent past its time. (A completion call whose status
            // still lags is not that: it comes back through the queue.)
            if waited >= state.policy.provider_attempt_deadline.as_secs() as i64
                && !matches!(look, Look::Completed(_))
            {
                tracing::warn!(event = "provider_hung", job_id = %job.id, provider = provider.name(), waited, "provider past its time");
                fail_over(state, job, provider, handle, true).await?;
                return Ok(());
            }
            pending(state, job, look).await
        }
        // A passing fault at the provider: look again later; the deadline still holds.
        Err(ProviderError::Transient(reason)) => {
            tracing::info!(job_id = %job.id, reason, "provider status unavailable for now");
            later(state, job, look, "provider status unavailable").await
        }
        Ok(Progress::Refused) => {
            state
                .jobs
                .end(job, JobStatus::Rejected, Some("provider_refused"))
                .await?;
            Ok(())
        }
        Ok(Progress::Failed) | Err(ProviderError::Failed(_)) => {
            fail_over(state, job, provider, handle, false).await
        }
        Ok(Progress::Completed) => store_output(state, job, provider, handle, look).await,
    }
}

/// Streams the finished file to its staging key in the outputs bucket, marked as
/// AI-generated (R21); `stamp` signs its content credentials into the output (R41).
async fn store_output(
    state: &GenerateState,
    job: &Job,
    provider: &Arc<dyn VideoProvider>,
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
    let output = match provider.output(handle).await {
        Ok(o) => o,
        Err(ProviderError::Transient(_)) => {
            return later(state, job, look, "provider result unavailable").await;
        }
        Err(ProviderError::Failed(_)) => {
            return fail_over(state, job, provider, handle, false).await;
        }
    };
    let deadline = tokio::time::Instant::now() + state.policy.provider_download_deadline;
    let stream = match tokio::time::timeout_at(deadline, provider.download(&output)).await {
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
    // The provider's id of the model, for the content credentials (R41).
    let model = state
        .catalogue
        .get(job.model.as_deref())
        .ok()
        .and_then(|m| {
            m.servings(job.mode)
                .find(|(p, _)| *p == provider.name())
                .map(|(_, id)| id.to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let meta = ObjectMeta {
        content_type: "video/mp4",
        metadata: &[
            ("ai-generated", "true"),
            ("job-id", &job.id),
            ("generator", provider.name()),
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
            model: None,
            provider: handle.map(|_| "fal".to_owned()),
            tried: Vec::new(),
            deadline_extra: 0,
            submitted_epoch: None,
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
