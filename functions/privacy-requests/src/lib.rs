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
use shared::domain::clock::rfc3339;
use shared::domain::policy::Policy;
use shared::domain::privacy::{RequestKind, RequestStatus, RightsRequest};
use shared::edge::queue_batch::{QueueStep, StepError};
use tracing::Instrument;

pub use export::EXPORT_CONTENT_TYPE;
pub use state::PrivacyRequestsState;

impl QueueStep for crate::state::Services {
    const FUNCTION: &'static str = "privacy-requests";

    async fn step(&self, message: &SqsMessage) -> Result<(), StepError> {
        let msg: PrivacyMessage = serde_json::from_str(message.body.as_deref().unwrap_or_default())
            .map_err(|e| StepError::Drop(format!("unreadable message: {e}")))?;
        let span = tracing::info_span!("request", request_id = %msg.request_id);
        let receives = receives_of(message);
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

/// How many times SQS has handed this message over, this time included (1 when SQS
/// does not say).
fn receives_of(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1)
}

/// R30: whether a request that failed again ends now: at the policy's attempts, or
/// once it is as old as the policy allows.
fn gives_up(
    policy: &Policy,
    receives: u32,
    requested_at: shared::domain::clock::DateTime<shared::domain::clock::Utc>,
    now: i64,
) -> bool {
    let age = now - requested_at.timestamp();
    !(receives < policy.rights_request_max_attempts
        && age < policy.rights_request_give_up_after.as_secs() as i64)
}

/// R30: the email that tells the person their request failed, what it was, when they
/// made it, and by when it will be completed.
fn failure_text(request: &RightsRequest) -> String {
    let what = match request.kind {
        RequestKind::Export => "a copy of your data",
        RequestKind::Erasure => "the deletion of your account",
    };
    format!(
        "We could not complete your request for {what}, made on {}.\n\n\
         Our team has been told and will complete it by {}. You can also reply to \
         our support address, or ask again from your account.\n",
        rfc3339(request.requested_at),
        rfc3339(request.due_by)
    )
}

/// R30: a request that keeps failing ends, visibly: past the policy's attempts (before
/// the queue's dead-letter queue would take it) or its time, it becomes `failed` with
/// the reason, the person is told by email, and the operators see it.
async fn give_up_if_due(
    state: &crate::state::Services,
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
    if !gives_up(
        &state.policy,
        receives,
        request.requested_at,
        state.clock.epoch_secs(),
    ) {
        return Ok(());
    }
    if !state
        .privacy
        .fail(&msg.account_id, &msg.request_id, reason, state.now())
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
        let text = failure_text(&request);
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
    state: &crate::state::Services,
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
            state.now(),
            None,
        )
        .await?;
    match request.kind {
        RequestKind::Export => export::run(state, &request).await,
        RequestKind::Erasure => erase::run(state, &request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::clock::parse_time;

    fn at(t: &str) -> shared::domain::clock::DateTime<shared::domain::clock::Utc> {
        parse_time(t).unwrap()
    }

    fn asked_at() -> shared::domain::clock::DateTime<shared::domain::clock::Utc> {
        at("2026-12-01T10:00:00Z")
    }

    fn asked() -> i64 {
        asked_at().timestamp()
    }

    fn request(kind: RequestKind) -> RightsRequest {
        RightsRequest {
            id: "req_1".into(),
            account_id: shared::domain::ids::AccountId::new("acc_1"),
            kind,
            status: RequestStatus::InProgress,
            requested_at: asked_at(),
            due_by: at("2026-12-31T10:00:00Z"),
            trail: Vec::new(),
            export_key: None,
            completed_at: None,
            subscriptions_cancelled: None,
            failure: None,
        }
    }

    #[test]
    fn r30_a_request_past_its_attempts_gives_up() {
        let policy = Policy::default();
        let max = policy.rights_request_max_attempts;
        let young = asked() + 60;
        assert!(!gives_up(&policy, 1, asked_at(), young));
        assert!(!gives_up(&policy, max - 1, asked_at(), young));
        assert!(gives_up(&policy, max, asked_at(), young));
        assert!(gives_up(&policy, max + 1, asked_at(), young));
    }

    #[test]
    fn r30_a_request_past_its_time_gives_up_whatever_its_attempts() {
        let policy = Policy::default();
        let limit = policy.rights_request_give_up_after.as_secs() as i64;
        assert!(!gives_up(&policy, 1, asked_at(), asked() + limit - 1));
        assert!(gives_up(&policy, 1, asked_at(), asked() + limit));
    }

    #[test]
    fn r30_the_receive_count_comes_from_sqs_and_is_one_when_unsaid() {
        let mut message = SqsMessage::default();
        assert_eq!(receives_of(&message), 1);
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), "8".into());
        assert_eq!(receives_of(&message), 8);
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), "eight".into());
        assert_eq!(receives_of(&message), 1);
    }

    #[test]
    fn r30_the_failure_notice_names_the_request_its_date_and_its_new_due_date() {
        let export = failure_text(&request(RequestKind::Export));
        assert!(
            export.contains("your request for a copy of your data, made on 2026-12-01T10:00:00Z."),
            "{export}"
        );
        assert!(
            export.contains("complete it by 2026-12-31T10:00:00Z"),
            "{export}"
        );
        let erasure = failure_text(&request(RequestKind::Erasure));
        assert!(
            erasure.contains("your request for the deletion of your account"),
            "{erasure}"
        );
        assert!(!erasure.contains("a copy of your data"), "{erasure}");
    }
}
