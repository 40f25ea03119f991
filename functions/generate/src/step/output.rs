//! A job at its provider: its request's progress read and, once it is finished, its
//! file streamed into the outputs bucket for `stamp` (R21, R41). Kept apart because
//! this is the one part that moves the video's bytes, under its own download deadline.

use shared::app::refusals::TellError;
use shared::domain::moderation::{RefusalKind, category, refusal_id};
use std::sync::Arc;

use futures_util::StreamExt;
use shared::adapters::providers::video::{ByteStream, Progress, ProviderError, VideoProvider};
use shared::adapters::s3::ObjectMeta;
use shared::domain::video::{Job, JobStatus, output_key, staging_key};
use shared::edge::queue_batch::StepError;

use super::Look;
use super::chain::{later, pending};
use super::submit::fail_over;

/// Looks at the job's request at its provider, and acts on what it says.
pub(super) async fn poll(
    state: &crate::state::Services,
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
        Ok(Progress::Refused) | Err(ProviderError::Refused) => refused(state, job).await,
        Ok(Progress::Failed) | Err(ProviderError::Failed(_)) => {
            fail_over(state, job, provider, handle, false).await
        }
        Ok(Progress::Completed) => store_output(state, job, provider, handle, look).await,
    }
}

/// The provider's moderation refused the job: it ends rejected (refunded once) with
/// its refusal recorded, goes to no other provider (R43), and its owner is told why
/// and how to appeal (R46).
pub(crate) async fn refused(state: &crate::state::Services, job: &Job) -> Result<(), StepError> {
    tracing::info!(event = "provider_refused", job_id = %job.id, "the provider refused the content");
    shared::adapters::metrics::count(
        shared::adapters::metrics::Metric::ContentRefusals,
        &[(
            shared::adapters::metrics::Dim::Outcome,
            RefusalKind::Output.as_str(),
        )],
    );
    let refusal = state.refusals.new_refusal(
        &job.account_id,
        &job.id,
        RefusalKind::Output,
        vec![category::PROVIDER_POLICY.to_owned()],
        // Refunded with the job's end.
        0,
    );
    let write = state
        .refusals
        .moderation
        .refusal_write(&refusal, state.policy.refusal_retention)?;
    state
        .jobs
        .end_with(
            job,
            JobStatus::Rejected,
            Some("provider_refused"),
            Some(("refusal", write)),
        )
        .await?;
    tell_refused(state, job).await
}

/// Tells the owner of a rejected job of its refusal, once (a repeated message finds it
/// told). A send that fails comes back with its message.
pub(crate) async fn tell_refused(
    state: &crate::state::Services,
    job: &Job,
) -> Result<(), StepError> {
    let refusals = &state.refusals;
    let Some(refusal) = refusals
        .moderation
        .refusal(&job.account_id, &refusal_id(&job.id))
        .await?
    else {
        // Rejected before refusals were recorded, or ended by another path: nothing
        // to tell.
        return Ok(());
    };
    let Some(account) = refusals.accounts.get(&job.account_id).await? else {
        return Ok(());
    };
    let lease = state.policy.notice_lease.as_secs() as i64;
    match refusals
        .tell(&state.mailer, &account.email, &refusal, lease)
        .await
    {
        Ok(_) => Ok(()),
        Err(TellError::Store(e)) => Err(e.into()),
        Err(TellError::Mail(e)) => Err(StepError::retry(e)),
    }
}

/// Streams the finished file to its staging key in the outputs bucket, marked as
/// AI-generated (R21); `stamp` signs its content credentials into the output (R41).
async fn store_output(
    state: &crate::state::Services,
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
        // fal refuses content in the result, after the request completed.
        Err(ProviderError::Refused) => return refused(state, job).await,
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
                .map(|(_, e)| e.model.clone())
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
