//! The "your video is ready" notice: once per video, after the provider's copy is
//! dropped (R16).

use shared::adapters::ses::Email;
use shared::domain::video::Job;
use shared::edge::queue_batch::StepError;

pub async fn notify(state: &crate::state::Services, job: &Job) -> Result<(), StepError> {
    // Claim the notice first: of two concurrent copies, one sends. A claim that is
    // held, not yet sent, may belong to an attempt that died: come back after its lease.
    let now = state.clock.epoch_secs();
    let stale_before = now - state.policy.notice_lease.as_secs() as i64;
    match state.videos.claim_notice(&job.id, now, stale_before).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failure() => {
            let current = state.videos.get(&job.id).await.map_err(StepError::retry)?;
            return after_lost_claim(current.as_ref());
        }
        Err(e) => return Err(StepError::retry(e)),
    }
    send_claimed(state, job).await
}

/// Another attempt holds the notice's claim: done if the notice was sent (or the job
/// is gone); otherwise this copy comes back, so a holder that died is taken over.
fn after_lost_claim(job: Option<&Job>) -> Result<(), StepError> {
    if job.is_none_or(|j| j.notified) {
        Ok(())
    } else {
        Err(StepError::Retry(
            "the notice is claimed by another attempt".into(),
        ))
    }
}

/// The ready notice (R15, R21): until when the video is kept, and that it is
/// AI-generated and must be shared as such.
fn ready_text(expires_at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    format!(
        "Your video is ready.\n\n\
         Sign in to Sora2 AI to watch and download it. It is kept until {} \
         (UTC) and deleted after that; you can delete it sooner yourself.\n\n\
         The video is AI-generated: please say so wherever you share it.\n\n\
         This is a service notice about a video you asked for.\n",
        expires_at.map_or_else(|| "its expiry".to_owned(), shared::domain::clock::rfc3339)
    )
}

/// Sends the notice this attempt holds the claim of (taken by [`notify`], or with the
/// job's move to ready): the provider's copy dropped first, the send recorded after.
pub async fn send_claimed(state: &crate::state::Services, job: &Job) -> Result<(), StepError> {
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
            let text = ready_text(job.expires_at);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::job;
    use shared::domain::video::JobStatus;

    #[test]
    fn r15_r21_the_ready_notice_gives_the_deletion_date_and_says_it_is_ai_generated() {
        let text = ready_text(shared::domain::clock::parse_time("2026-12-08T10:00:00Z"));
        assert!(
            text.contains("kept until 2026-12-08T10:00:00Z (UTC) and deleted after that"),
            "{text}"
        );
        assert!(text.contains("The video is AI-generated"), "{text}");
        assert!(text.contains("service notice"), "{text}");
        // A job without its expiry still gets a notice that makes sense.
        assert!(ready_text(None).contains("kept until its expiry (UTC)"));
    }

    #[test]
    fn r15_a_notice_claimed_by_another_attempt_is_done_only_once_it_was_sent() {
        let mut ready = job(JobStatus::Ready);
        assert!(matches!(
            after_lost_claim(Some(&ready)),
            Err(StepError::Retry(_))
        ));
        ready.notified = true;
        assert_eq!(after_lost_claim(Some(&ready)), Ok(()));
        // The job is gone: there is no one left to tell.
        assert_eq!(after_lost_claim(None), Ok(()));
    }
}
