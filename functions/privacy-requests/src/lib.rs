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
use shared::adapters::metrics::{self, Dim, Metric};
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
                    after_failure(self, &msg, receives, reason).await
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

/// What a failed attempt at a request leads to (R30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Tried again soon, by this message (SQS's visibility timeout).
    Again,
    /// This message has had its attempts: it is put down before the dead-letter queue
    /// would take it, and the request stays open; the hourly purge hands it over again
    /// once its last step is `rights_request_requeue_after` old. So a request is tried
    /// through an outage of days, with pauses.
    Later,
    /// Its due date has come: it ends `failed`, visibly.
    GiveUp,
}

/// R30: a request that failed again is retried until its due date, never given up on
/// because a dependency is down for a while.
fn next_after_failure(
    policy: &Policy,
    receives: u32,
    due_by: shared::domain::clock::DateTime<shared::domain::clock::Utc>,
    now: i64,
) -> Next {
    if now >= due_by.timestamp() {
        Next::GiveUp
    } else if receives >= policy.rights_request_max_attempts {
        Next::Later
    } else {
        Next::Again
    }
}

/// R30: the email that tells the person their request failed, what it was, when they
/// made it, and what is true now.
fn failure_text(request: &RightsRequest) -> String {
    let made = rfc3339(request.requested_at);
    match request.kind {
        RequestKind::Export => format!(
            "We could not prepare the copy of your data that you asked for on {made}.\n\n\
             Our team has been told and is looking into it. You can ask again from your \
             account at any time, or reply to our support address.\n"
        ),
        RequestKind::Erasure => format!(
            "We could not finish deleting your account, as you asked on {made}.\n\n\
             Our team has been told and is looking into it. Your account is open again in \
             the meantime: you can sign in, and ask again from your account at any time, \
             or reply to our support address.\n"
        ),
    }
}

async fn after_failure(
    state: &crate::state::Services,
    msg: &PrivacyMessage,
    receives: u32,
    reason: String,
) -> Result<(), StepError> {
    let Some(request) = state
        .privacy
        .request(&msg.account_id, &msg.request_id)
        .await?
    else {
        return Ok(());
    };
    match next_after_failure(
        &state.policy,
        receives,
        request.due_by,
        state.clock.epoch_secs(),
    ) {
        Next::Again => Err(StepError::Retry(reason)),
        Next::Later => {
            tracing::warn!(
                event = "rights_request_retry_later",
                kind = request.kind.as_str(),
                receives,
                reason,
                "rights request still failing; tried again later"
            );
            Ok(())
        }
        Next::GiveUp => give_up(state, &request, &reason).await,
    }
}

/// R30: a request whose due date came ends `failed` with its reason; the operators see
/// it (and can retry it at once), the person is told, and an account whose erasure
/// stopped is theirs again.
async fn give_up(
    state: &crate::state::Services,
    request: &RightsRequest,
    reason: &str,
) -> Result<(), StepError> {
    if !state
        .privacy
        .fail(&request.account_id, &request.id, reason, state.now())
        .await?
    {
        return Ok(());
    }
    metrics::count(
        Metric::RightsRequestsFailed,
        &[(Dim::Outcome, request.kind.as_str())],
    );
    tracing::error!(
        event = "rights_request_failed",
        kind = request.kind.as_str(),
        reason,
        "rights request failed at its due date; the person is told"
    );
    if request.kind == RequestKind::Erasure {
        state.accounts.end_erasure(&request.account_id).await?;
    }
    if let Some(account) = state.accounts.get(&request.account_id).await? {
        let text = failure_text(request);
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
    fn r30_a_failing_request_is_retried_until_its_due_date_then_given_up() {
        let policy = Policy::default();
        let max = policy.rights_request_max_attempts;
        let due = at("2026-12-31T10:00:00Z");
        let week_later = asked() + 7 * 86_400;
        assert_eq!(
            next_after_failure(&policy, 1, due, asked() + 60),
            Next::Again
        );
        assert_eq!(
            next_after_failure(&policy, max - 1, due, asked() + 60),
            Next::Again
        );
        // Its message's attempts used up: put down, and handed over again later.
        assert_eq!(
            next_after_failure(&policy, max, due, asked() + 60),
            Next::Later
        );
        assert_eq!(
            next_after_failure(&policy, max, due, week_later),
            Next::Later
        );
        // Only its due date ends it, whatever its attempts.
        assert_eq!(
            next_after_failure(&policy, 1, due, due.timestamp()),
            Next::GiveUp
        );
        assert_eq!(
            next_after_failure(&policy, 1, due, due.timestamp() - 1),
            Next::Again
        );
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
    fn r30_the_failure_notice_says_what_is_true_now() {
        let export = failure_text(&request(RequestKind::Export));
        assert!(
            export.contains("the copy of your data that you asked for on 2026-12-01T10:00:00Z"),
            "{export}"
        );
        assert!(export.contains("ask again from your account"), "{export}");
        let erasure = failure_text(&request(RequestKind::Erasure));
        assert!(
            erasure.contains("finish deleting your account"),
            "{erasure}"
        );
        assert!(erasure.contains("Your account is open again"), "{erasure}");
        assert!(!erasure.contains("a copy of your data"), "{erasure}");
    }
}
