//! `privacy-requests` (SQS privacy queue): carries out the rights requests that
//! `account` recorded — the export (R26) and the erasure (R28). Both walk the data
//! inventory (`shared::domain::inventory`), so neither can miss a class; both are
//! idempotent and resumable: a copy of a message, or a retry after a crash at any
//! point, redoes only what is left and changes nothing twice.

mod erase;
mod export;
mod gather;
mod state;

use aws_lambda_events::event::sqs::SqsMessage;
use shared::adapters::sqs::PrivacyMessage;
use shared::domain::privacy::{RequestKind, RequestStatus};
use shared::edge::sqs::{QueueStep, StepError};
use tracing::Instrument;

pub use export::EXPORT_CONTENT_TYPE;
pub use state::PrivacyRequestsState;

impl QueueStep for PrivacyRequestsState {
    const FUNCTION: &'static str = "privacy-requests";

    async fn step(&self, message: &SqsMessage) -> Result<(), StepError> {
        let msg: PrivacyMessage = serde_json::from_str(message.body.as_deref().unwrap_or_default())
            .map_err(|e| StepError::Drop(format!("unreadable message: {e}")))?;
        let span = tracing::info_span!("request", request_id = %msg.request_id);
        let receives = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        async {
            match carry_out(self, &msg).await {
                Err(StepError::Retry(reason)) if !msg.recheck => {
                    give_up_if_due(self, &msg, receives, &reason).await?;
                    Err(StepError::Retry(reason))
                }
                other => other,
            }
        }
        .instrument(span)
        .await
    }
}

/// R30: a request that keeps failing ends, visibly: past the policy's attempts (before
/// the queue's dead-letter queue would take it) or its time, it becomes `failed` with
/// the reason, the person is told by email, and the operators see it.
async fn give_up_if_due(
    state: &PrivacyRequestsState,
    msg: &PrivacyMessage,
    receives: u32,
    reason: &str,
) -> Result<(), StepError> {
    let Some(request) = state
        .privacy
        .request(&msg.account_id, &msg.request_id)
        .await?
    else {
        return Ok(());
    };
    let age = state.clock.epoch_secs()
        - shared::domain::clock::epoch_of(&request.requested_at).unwrap_or(i64::MAX);
    let policy = &state.policy;
    if receives < policy.rights_request_max_attempts
        && age < policy.rights_request_give_up_after.as_secs() as i64
    {
        return Ok(());
    }
    if !state
        .privacy
        .fail(&msg.account_id, &msg.request_id, reason, &state.now())
        .await?
    {
        return Ok(());
    }
    tracing::error!(
        event = "rights_request_failed",
        kind = request.kind.as_str(),
        receives,
        reason,
        "rights request failed; the person is told"
    );
    if let Some(account) = state.accounts.get(&msg.account_id).await? {
        let what = match request.kind {
            RequestKind::Export => "a copy of your data",
            RequestKind::Erasure => "the deletion of your account",
        };
        let text = format!(
            "We could not complete your request for {what}, made on {}.\n\n\
             Our team has been told and will complete it by {}. You can also reply to \
             our support address, or ask again from your account.\n",
            request.requested_at, request.due_by
        );
        let sent = state
            .mailer
            .send(shared::adapters::ses::Email {
                to: &account.email,
                subject: "Your Sora2 AI request could not be completed",
                text: &text,
            })
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "the failure notice could not be sent");
        }
    }
    Ok(())
}

/// Carries out one request, unless it has ended already.
pub async fn carry_out(
    state: &PrivacyRequestsState,
    msg: &PrivacyMessage,
) -> Result<(), StepError> {
    if msg.recheck {
        return erase::recheck(state, msg).await;
    }
    // An erasure that completed has moved its record away: nothing is left to do.
    let Some(request) = state
        .privacy
        .request(&msg.account_id, &msg.request_id)
        .await?
    else {
        tracing::info!("request already carried out");
        return Ok(());
    };
    if !request.status.is_open() {
        return Ok(());
    }
    state
        .privacy
        .advance(
            &msg.account_id,
            &msg.request_id,
            RequestStatus::InProgress,
            &state.now(),
            None,
        )
        .await?;
    match request.kind {
        RequestKind::Export => export::run(state, &request).await,
        RequestKind::Erasure => erase::run(state, &request).await,
    }
}
