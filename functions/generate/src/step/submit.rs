//! Sending a job to a provider (R43): the first healthy one of its model that has not
//! failed it, each failure counted against that provider's circuit, and the job moved
//! on to the next when a provider fails it. Kept apart from the decision of a look
//! because it is the one part that reads and writes the providers' circuits.

use std::sync::Arc;

use shared::adapters::metrics::{self, Dim, Metric};
use std::time::Duration;

use shared::adapters::dynamo::circuits::Verdict;
use shared::adapters::providers::video::{GenerationRequest, SubmitError, VideoProvider};
use shared::domain::clock::rfc3339;
use shared::domain::models::Endpoint;
use shared::domain::video::{Job, JobStatus, Mode};
use shared::edge::queue_batch::StepError;

use super::Look;
use super::chain::{again, pending};

/// The providers that may still get `job`, in the model's order, each with its id of
/// the model: every one that serves the job's mode and has not failed it (R43).
fn candidates(state: &crate::state::Services, job: &Job) -> Vec<(String, Endpoint)> {
    let Ok(model) = state.catalogue.get(job.model.as_deref()) else {
        return Vec::new();
    };
    model
        .servings(job.mode)
        .filter(|(p, _)| !job.tried.iter().any(|t| t == p))
        .filter(|(p, _)| state.providers.get(p).is_some())
        .map(|(p, e)| (p.to_owned(), e.clone()))
        .collect()
}

/// Submits the job to the first healthy provider of its model that has not failed it
/// (R43). A provider that fails the submission (down, or throttling past its budget)
/// is counted against its circuit and the job moves at once to the next; the last one
/// left is tried again with backoff, and past `provider_max_submits` the job fails
/// with its one refund. A refusal for content is never retried elsewhere.
pub(super) async fn submit(state: &crate::state::Services, mut job: Job) -> Result<(), StepError> {
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
        let Some((name, endpoint, probing)) = choose(state, &left).await else {
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
        let input = endpoint.input(&prompt, &job.settings, image_url.as_deref());
        let request = GenerationRequest {
            model: &endpoint.model,
            input: &input,
            callback: callback.as_deref(),
        };
        let failure = match provider.submit(&request).await {
            Ok(handle) => return accepted(state, &job, &provider, &handle, probing).await,
            Err(SubmitError::Refused) => return super::output::refused(state, &job).await,
            Err(SubmitError::Failed(reason)) => {
                tracing::error!(event = "provider_error", job_id = %job.id, provider = %name, reason, "submission failed");
                state
                    .jobs
                    .end(&job, JobStatus::Failed, Some("provider_error"))
                    .await?;
                return Ok(());
            }
            // Our input does not fit this provider's model (the catalogue is out of
            // date): not the person's content, and not the provider being down. The
            // next provider may take it; its circuit is not counted.
            Err(SubmitError::BadInput(reason)) => {
                tracing::error!(event = "provider_bad_input", job_id = %job.id, provider = %name, reason, "the provider's schema refused our input");
                if left.len() == 1 {
                    state
                        .jobs
                        .end(&job, JobStatus::Failed, Some("provider_error"))
                        .await?;
                    return Ok(());
                }
                if !move_on(state, &mut job, &name, 0).await? {
                    return Ok(());
                }
                continue;
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
    state: &crate::state::Services,
    left: &[(String, Endpoint)],
) -> Option<(String, Endpoint, bool)> {
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
async fn failed(state: &crate::state::Services, provider: &str, probing: bool) {
    match state
        .circuits
        .failed(provider, state.clock.epoch_secs(), probing, &state.breaker)
        .await
    {
        Ok(true) => {
            tracing::warn!(event = "circuit_opened", provider, "provider marked down");
            metrics::count(Metric::CircuitOpened, &[(Dim::Provider, provider)]);
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(provider, error = %e, "could not record a provider failure"),
    }
}

/// The probe got through: the provider's circuit closes.
async fn recovered(state: &crate::state::Services, provider: &str) {
    match state.circuits.recovered(provider).await {
        Ok(true) => {
            tracing::info!(event = "circuit_closed", provider, "provider up again");
            metrics::count(Metric::CircuitClosed, &[(Dim::Provider, provider)]);
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(provider, error = %e, "could not record a provider's recovery"),
    }
}

/// Moves the job off `provider` (see `VideoStore::move_on`), and updates the copy in
/// hand to match. `Ok(false)` when another copy of this step moved it first.
async fn move_on(
    state: &crate::state::Services,
    job: &mut Job,
    provider: &str,
    extra: i64,
) -> Result<bool, StepError> {
    match state.videos.move_on(job, provider, extra).await {
        Ok(()) => {
            tracing::info!(event = "job_moved", job_id = %job.id, from = provider, "job moves to the next provider");
            metrics::count(
                Metric::Failovers,
                &[
                    (Dim::Model, job.model.as_deref().unwrap_or("")),
                    (Dim::Provider, provider),
                ],
            );
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
    state: &crate::state::Services,
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
    state: &crate::state::Services,
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
pub(super) async fn fail_over(
    state: &crate::state::Services,
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
