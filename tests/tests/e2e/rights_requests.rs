//! Rights requests that always finish (R30): a completed erasure is answered by email
//! before the address goes; a request whose dependency is down is tried until its due
//! date and completes when it comes back; one that cannot be completed by then ends
//! `failed`, visibly: the person is told, their account is theirs again, the operators
//! see it and can retry it at once.

use aws_lambda_events::event::sqs::SqsMessage;
use e2e_tests::{TestStack, unique_email};
use serde_json::json;
use shared::adapters::sqs::PrivacyMessage;
use shared::edge::queue_batch::{QueueStep, StepError};

fn message(msg: &PrivacyMessage, receives: u32) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(format!("m-{receives}"));
    m.body = Some(serde_json::to_string(msg).unwrap());
    m.attributes
        .insert("ApproximateReceiveCount".into(), receives.to_string());
    m
}

/// A rights request as stored.
async fn stored_request(
    t: &TestStack,
    account: &str,
    id: &str,
) -> shared::domain::privacy::RightsRequest {
    t.stack
        .functions
        .privacy_requests
        .privacy
        .request(account, id)
        .await
        .unwrap()
        .expect("the request is stored")
}

async fn request_erasure(t: &TestStack, token: &str, email: &str) -> String {
    let code = t.rights_code(token, email).await;
    let r = t
        .delete_json("/v1/me", json!({ "code": code }), Some(token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// R30: the erasure's answer reaches the address before the address is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn r30_a_completed_erasure_is_answered_by_email() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("answered");
    let (token, account) = t.signed_in(&email).await;
    request_erasure(&t, &token, &email).await;
    t.pump("privacy-requests").await;
    assert!(!t.account_exists(&account).await, "erased");
    let mails = t.emails_to(&email).await;
    let last = mails.last().expect("a mail");
    assert_eq!(last["subject"], "Your Sora2 AI account has been deleted");
    assert!(
        !last["headers"].to_string().contains("List-Unsubscribe"),
        "a service notice, not marketing"
    );
}

/// R30: an erasure that cannot complete (Creem cannot be reached to cancel the plan)
/// is retried, then, past the policy's attempts, ends `failed` with its reason: the
/// person is emailed and the operators' due list shows it.
/// `privacy-requests` as deployed, but with Creem unreachable.
async fn with_creem_down(t: &TestStack) -> privacy_requests::PrivacyRequestsState {
    let mut vars = t.stack.envs["privacy-requests"].clone();
    vars.insert("CREEM_API_URL".into(), "http://127.0.0.1:9".into());
    let env = shared::adapters::env::Env::from_map(vars)
        .with_parameters(t.stack.aws.ssm())
        .await
        .unwrap();
    privacy_requests::PrivacyRequestsState::build(&t.stack.base, &env).unwrap()
}

/// R30: an erasure whose dependency (Creem) is down for a week is tried through the
/// outage, its message put down after its attempts (before the dead-letter queue) and
/// handed over again by the purge, and completes once Creem is back: never `failed`.
#[tokio::test(flavor = "multi_thread")]
async fn r30_a_request_is_retried_through_a_week_long_outage_and_completes() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("outage-week");
    let (token, account) = t.signed_in(&email).await;
    t.buy(&token, "plan_monthly").await;
    let id = request_erasure(&t, &token, &email).await;
    let down = with_creem_down(&t).await;
    let msg = PrivacyMessage {
        request_id: id.clone(),
        account_id: account.clone(),
        recheck: false,
    };
    let first = down.step(&message(&msg, 1)).await;
    assert!(matches!(first, Err(StepError::Retry(_))), "{first:?}");
    // The message's attempts used up: put down, the request still open.
    let max = t.stack.base.policy.rights_request_max_attempts;
    assert!(down.step(&message(&msg, max)).await.is_ok());
    assert!(stored_request(&t, &account, &id).await.status.is_open());
    let queued = t.queue_counts("PrivacyQueue").await.0;
    // A day, and then a week, later: each purge hands it over again.
    for _ in 0..2 {
        t.clock.advance(std::time::Duration::from_secs(3 * 86_400));
        assert!(down.step(&message(&msg, max)).await.is_ok(), "still down");
        t.clock
            .advance(t.stack.base.policy.rights_request_requeue_after);
        assert_eq!(t.post("/_local/purge", json!({}), None).await.status, 200);
    }
    assert_eq!(
        t.queue_counts("PrivacyQueue").await.0,
        queued + 2,
        "handed over again"
    );
    assert!(
        !t.emails_to(&email)
            .await
            .iter()
            .any(|m| m["subject"] == "Your Sora2 AI request could not be completed"),
        "no failure told while it is still being tried"
    );
    // Creem is back: the next hand-over completes the erasure.
    t.pump("privacy-requests").await;
    assert!(!t.account_exists(&account).await, "erased");
}

/// R30: a request still failing at its due date ends `failed`: the person is told what
/// is true, an account whose erasure stopped is theirs again (they sign in), the
/// operators see it, and an operator's `retry-request` carries it out at once.
#[tokio::test(flavor = "multi_thread")]
async fn r30_at_its_due_date_a_failing_request_fails_frees_the_account_and_an_operator_retries_it()
{
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("stuck");
    let (token, account) = t.signed_in(&email).await;
    t.buy(&token, "plan_monthly").await;
    let id = request_erasure(&t, &token, &email).await;
    let down = with_creem_down(&t).await;
    let msg = PrivacyMessage {
        request_id: id.clone(),
        account_id: account.clone(),
        recheck: false,
    };
    t.clock.advance(std::time::Duration::from_secs(32 * 86_400));
    assert!(
        down.step(&message(&msg, 1)).await.is_ok(),
        "put down: ended"
    );
    let failed = stored_request(&t, &account, &id).await;
    assert_eq!(failed.status.as_str(), "failed");
    assert!(
        failed
            .failure
            .as_deref()
            .is_some_and(|f| f.contains("creem"))
    );
    let told = t.emails_to(&email).await;
    let notice = told
        .iter()
        .find(|m| m["subject"] == "Your Sora2 AI request could not be completed")
        .expect("the person is told");
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("Your account is open again"),
        "{notice}"
    );
    // The account is theirs again: a sign-in works.
    let (again, _) = t.sign_in_email(&email).await;
    assert_eq!(t.get("/v1/me", Some(&again)).await.status, 200);
    // Never requeued by the purge; listed for the operators with its reason.
    let queued = t.queue_counts("PrivacyQueue").await.0;
    t.clock.advance(std::time::Duration::from_secs(3600));
    assert_eq!(t.post("/_local/purge", json!({}), None).await.status, 200);
    assert_eq!(t.queue_counts("PrivacyQueue").await.0, queued);
    let operator = t.operator().await;
    let due = operator
        .run(operator::Command::DueRequests { within_days: 0 })
        .await
        .unwrap();
    assert!(
        due.as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str() && r["status"] == "failed" && r["failure"].is_string()),
        "{due}"
    );
    // An operator retries it at once: the account stops again, and the erasure runs.
    let why = operator::Why {
        by: "ops".into(),
        reason: "Creem is back".into(),
    };
    let retried = operator
        .run(operator::Command::RetryRequest {
            request_id: id.clone(),
            why: why.clone(),
        })
        .await
        .unwrap();
    assert_eq!(retried["retried"], true, "{retried}");
    assert_eq!(
        t.get("/v1/me", Some(&again)).await.status,
        401,
        "sessions end as the erasure starts again"
    );
    t.pump("privacy-requests").await;
    assert!(!t.account_exists(&account).await, "erased");
    // A second retry finds nothing failed.
    assert!(matches!(
        operator
            .run(operator::Command::RetryRequest {
                request_id: id,
                why
            })
            .await,
        Err(operator::OpError::NotFound)
    ));
}

/// R16, R28: a provider that will not delete its copy does not block an erasure: our
/// data goes, the erasure completes, and only the provider's handle is kept, under the
/// pseudonym, for the purge to retry until the provider confirms.
#[tokio::test(flavor = "multi_thread")]
async fn r16_r28_a_provider_that_will_not_delete_does_not_block_the_erasure() {
    use std::sync::atomic::Ordering;
    let t = TestStack::start().await;
    let email = unique_email("undeletable");
    let (token, account) = t.signed_in(&email).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a lighthouse at dusk", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;
    t.stack.fal.refuse_deletions.store(true, Ordering::Relaxed);
    request_erasure(&t, &token, &email).await;
    for _ in 0..150 {
        if t.stack
            .functions
            .account
            .accounts
            .get(&account)
            .await
            .unwrap()
            .is_none()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        t.stack
            .functions
            .account
            .accounts
            .get(&account)
            .await
            .unwrap()
            .is_none(),
        "the erasure completed although the provider refused"
    );
    let kept = t.stored_job(&id).await;
    assert!(kept.prompt.is_none() && kept.input_key.is_none());
    assert!(kept.account_id.starts_with("anon_"), "{}", kept.account_id);
    assert!(
        !t.everything_stored().await.contains(&account),
        "nothing names the person"
    );
    let purge = t.post("/_local/purge", json!({}), None).await;
    assert!(
        purge.body["provider_copies_pending"].as_u64().unwrap() >= 1,
        "{}",
        purge.body
    );
    // The provider deletes again: the purge's next attempt (an hour later, its first
    // wait) removes the copy, then the record.
    t.stack.fal.refuse_deletions.store(false, Ordering::Relaxed);
    t.clock.advance(std::time::Duration::from_secs(3600));
    let purge = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(purge.body["provider_copies_pending"], 0, "{}", purge.body);
    assert!(t.stack.fal.requests()[0].payload_deleted);
    assert!(
        t.stack
            .functions
            .videos
            .jobs
            .videos
            .get(&id)
            .await
            .unwrap()
            .is_none(),
        "the record is gone with the copy"
    );
}

/// R30: a request received on 31 January is due on 28 February: one calendar month,
/// ending on the last day the later month has (GDPR Art. 12(3)).
#[tokio::test(flavor = "multi_thread")]
async fn r30_a_request_received_on_31_january_is_due_on_28_february() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    t.clock
        .set(shared::domain::clock::epoch_of("2027-01-31T10:00:00Z").unwrap());
    let email = unique_email("january");
    let (token, _) = t.signed_in(&email).await;
    let code = t.rights_code(&token, &email).await;
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Received a moment after 10:00 on 31 January (the sign-in and the code took it).
    let requested = r.body["requested_at"].as_str().unwrap();
    assert!(requested.starts_with("2027-01-31T10:0"), "{requested}");
    assert_eq!(
        r.body["due_by"].as_str().unwrap(),
        requested.replace("2027-01-31", "2027-02-28")
    );
}

/// R16, R28: an erasure stops a video still being made at its provider before it
/// deletes the provider's payload, so nothing the provider makes later is left there.
#[tokio::test(flavor = "multi_thread")]
async fn r16_r28_an_erasure_stops_an_in_flight_video_at_its_provider_first() {
    let t = TestStack::start().await;
    let email = unique_email("in-flight");
    let (token, account) = t.signed_in(&email).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a long one emulator-hang", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "generating", 30).await;
    let at_fal = || {
        t.stack
            .fal
            .requests()
            .into_iter()
            .find(|q| q.input["prompt"] == "a long one emulator-hang")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while at_fal().is_none() {
        assert!(std::time::Instant::now() < deadline, "submitted to fal");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    request_erasure(&t, &token, &email).await;
    t.wait_account_gone(&account).await;
    let request = at_fal().unwrap();
    assert!(request.cancelled, "stopped at the provider");
    assert!(request.payload_deleted, "and its payload deleted");
}
