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
pub use state::PrivacyState;

impl QueueStep for PrivacyState {
    const FUNCTION: &'static str = "privacy-requests";

    async fn step(&self, message: &SqsMessage) -> Result<(), StepError> {
        let msg: PrivacyMessage = serde_json::from_str(message.body.as_deref().unwrap_or_default())
            .map_err(|e| StepError::Drop(format!("unreadable message: {e}")))?;
        let span = tracing::info_span!("request", request_id = %msg.request_id);
        carry_out(self, &msg).instrument(span).await
    }
}

/// Carries out one request, unless it has ended already.
pub async fn carry_out(state: &PrivacyState, msg: &PrivacyMessage) -> Result<(), StepError> {
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
