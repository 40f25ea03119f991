//! The "your video is ready" notice: once per video, after the provider's copy is
//! dropped (R16).

use shared::adapters::ses::Email;
use shared::domain::video::Job;
use shared::edge::sqs::StepError;

use crate::state::DeliverState;

pub async fn notify(state: &DeliverState, job: &Job) -> Result<(), StepError> {
    // Claim the notice first: of two concurrent copies, one sends. A claim that is
    // held, not yet sent, may belong to an attempt that died: come back after its lease.
    let now = state.clock.epoch_secs();
    let stale_before = now - state.policy.notice_lease.as_secs() as i64;
    match state.videos.claim_notice(&job.id, now, stale_before).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failure() => {
            let sent = state
                .videos
                .get(&job.id)
                .await
                .map_err(StepError::retry)?
                .is_none_or(|j| j.notified);
            return if sent {
                Ok(())
            } else {
                Err(StepError::Retry(
                    "the notice is claimed by another attempt".into(),
                ))
            };
        }
        Err(e) => return Err(StepError::retry(e)),
    }
    send_claimed(state, job).await
}

/// Sends the notice this attempt holds the claim of (taken by [`notify`], or with the
/// job's move to ready): the provider's copy dropped first, the send recorded after.
pub async fn send_claimed(state: &DeliverState, job: &Job) -> Result<(), StepError> {
    if let Some(handle) = &job.provider_handle
        && let Some(provider) = state.providers.of_job(job)
    {
        // Best effort: our copy is safe; a provider that cannot delete now keeps only
        // what its own retention allows.
        match provider.delete(handle).await {
            Ok(()) => {
                tracing::info!(event = "provider_copy_deleted", job_id = %job.id, "provider copy deleted")
            }
            Err(e) => {
                tracing::warn!(event = "provider_copy_kept", job_id = %job.id, error = %e, "provider copy not deleted")
            }
        }
    }
    let sent = match state
        .accounts
        .get(&job.account_id)
        .await
        .map_err(StepError::retry)?
    {
        Some(account) => {
            let text = format!(
                "Your video is ready.\n\n\
                 Sign in to Sora2 AI to watch and download it. It is kept until {} \
                 (UTC) and deleted after that; you can delete it sooner yourself.\n\n\
                 The video is AI-generated: please say so wherever you share it.\n\n\
                 This is a service notice about a video you asked for.\n",
                job.expires_at.as_deref().unwrap_or("its expiry")
            );
            state
                .mailer
                .send(Email {
                    to: &account.email,
                    subject: "Your Sora2 AI video is ready",
                    text: &text,
                })
                .await
        }
        None => return Ok(()),
    };
    if let Err(e) = sent {
        // Give the claim back so the retry sends it (if this fails too, the lease ends).
        let _ = state.videos.release_notice(&job.id).await;
        return Err(StepError::retry(e));
    }
    tracing::info!(event = "video_ready_notice_sent", job_id = %job.id, "ready notice sent");
    // Sent: record it. If this write fails, the person has their one email; the claim
    // stays held until its lease ends, and only a retry after that would send again.
    state
        .videos
        .notice_sent(&job.id)
        .await
        .map_err(StepError::retry)?;
    Ok(())
}
