//! Provider failover (R43): a model served by fal and Replicate keeps making videos
//! when fal is down or hangs; each job goes to a provider at most once, is charged
//! once and refunded once if every provider fails; the providers' health is shared
//! through a circuit breaker; a refusal for content is never retried elsewhere.

use std::time::{Duration, Instant};

use e2e_tests::{TestStack, unique_email};
use serde_json::json;
use shared::adapters::dynamo::circuits::{Circuits, Health};

async fn health(t: &TestStack, provider: &str) -> Health {
    Circuits::new(t.stack.aws.dynamodb().clone(), t.table("RateLimitsTable"))
        .health(provider)
        .await
        .unwrap()
}

async fn member(t: &TestStack, tag: &str, credits: i64) -> (String, String) {
    let (token, account) = t.signed_in(&unique_email(tag)).await;
    t.grant(&account, credits).await;
    (token, account)
}

async fn submit(t: &TestStack, token: &str, prompt: &str) -> String {
    let r = t
        .submit_video(token, json!({ "prompt": prompt, "seconds": 4 }), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Waits until every job has left the active states.
async fn settled(t: &TestStack, ids: &[String], secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let mut active = Vec::new();
        for id in ids {
            let job = t.stored_job(id).await;
            if job.status.is_active() {
                active.push(format!("{id} {:?} tried={:?}", job.status, job.tried));
            }
        }
        if active.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still active: {active:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r43_with_fal_down_twenty_videos_are_made_by_replicate_charged_once_and_the_circuit_opens_once()
 {
    let t = TestStack::start().await;
    let (token, account) = member(&t, "outage", 30).await;
    t.outage("fal", "down").await;
    let healthy_before = t.stack.replicate.predictions().len();
    assert_eq!(healthy_before, 0);
    let ids: Vec<String> = futures_util::future::join_all((0..20).map(|i| {
        let (t, token) = (&t, &token);
        async move { submit(t, token, &format!("harbour at dawn {i}")).await }
    }))
    .await;
    settled(&t, &ids, 90).await;
    for id in &ids {
        let v = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
        assert_eq!(v.body["status"], "ready", "{}", v.body);
        assert_eq!(v.body["provider"], "replicate", "{}", v.body);
        assert_eq!(t.entries_for(&account, "debit", id).await, 1, "{id}");
        assert_eq!(t.entries_for(&account, "refund", id).await, 0, "{id}");
        // fal never had it (it refused, or its circuit was open): nothing to stop there.
        assert!(t.stored_job(id).await.tried.iter().all(|p| p == "fal"));
    }
    assert_eq!(t.stack.replicate.predictions().len(), 20, "one each");
    assert_eq!(t.balance(&account).await, 30 + 3 - 20);
    let during = health(&t, "fal").await;
    assert_eq!(during.opened, 1, "one outage, one opening: {during:?}");
    assert!(during.tripped());
    // While the circuit is open, a new video goes straight to Replicate: fal is not
    // called at all.
    let fal_calls = || t.stack.third_parties.snapshot()[0];
    let calls_before = fal_calls();
    let id = submit(&t, &token, "the harbour at dusk").await;
    let v = t.wait_status(&token, &id, "ready", 30).await;
    assert_eq!(v["provider"], "replicate");
    assert_eq!(
        fal_calls(),
        calls_before,
        "no call to a provider known to be down"
    );

    // fal recovers; once the circuit's time is up, one probe finds it and closes it.
    t.outage("fal", "up").await;
    t.clock
        .advance(t.stack.base.policy.circuit_open_for + Duration::from_secs(1));
    let id = submit(&t, &token, "the harbour at noon").await;
    let v = t.wait_status(&token, &id, "ready", 30).await;
    assert_eq!(v["provider"], "fal", "the probe went to fal");
    let after = health(&t, "fal").await;
    assert_eq!((after.opened, after.closed), (1, 1), "{after:?}");
    assert!(!after.tripped());
}

#[tokio::test(flavor = "multi_thread")]
async fn r43_a_job_fal_accepts_and_then_hangs_moves_once_to_replicate_and_completes() {
    let t = TestStack::start_opts(|o| {
        // Short enough to pass by the clock without staling the providers' signatures.
        o.policy.provider_attempt_deadline = Duration::from_secs(120);
    })
    .await;
    let (token, account) = member(&t, "hang", 5).await;
    t.outage("fal", "slow").await;
    let id = submit(&t, &token, "a slow train through fog").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while t.stored_job(&id).await.provider_handle.is_none() {
        assert!(Instant::now() < deadline, "never accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(t.stored_job(&id).await.provider.as_deref(), Some("fal"));
    t.outage("fal", "up").await;
    // Past fal's time: the sweep's look finds it still pending there.
    t.clock
        .advance(t.stack.base.policy.provider_attempt_deadline + Duration::from_secs(1));
    let swept = t.post("/_local/sweep", json!({}), None).await;
    assert_eq!(swept.body["requeued"], 1, "{}", swept.body);
    let v = t.wait_status(&token, &id, "ready", 30).await;
    assert_eq!(v["provider"], "replicate");
    let job = t.stored_job(&id).await;
    assert_eq!(job.tried, ["fal"], "moved once");
    assert_eq!(
        job.deadline_extra,
        t.stack.base.policy.failover_extension.as_secs() as i64,
        "its deadline grew by the stated amount"
    );
    // The output names the provider and model that made it (and so do its content
    // credentials, R41).
    let head = t.head_output(&id).await;
    let meta = head.metadata().unwrap();
    assert_eq!(meta["generator"], "replicate");
    assert_eq!(meta["model"], "google/veo-3.1");
    // fal's request was stopped and its copy dropped.
    let at_fal = t.stack.fal.requests();
    assert_eq!(at_fal.len(), 1);
    assert!(
        at_fal[0].cancelled && at_fal[0].payload_deleted,
        "{at_fal:?}"
    );
    assert_eq!(t.stack.replicate.predictions().len(), 1);
    assert_eq!(t.entries_for(&account, "debit", &id).await, 1);
    assert_eq!(t.entries_for(&account, "refund", &id).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn r43_with_both_providers_down_every_job_fails_with_exactly_one_refund() {
    let t = TestStack::start_opts(|o| {
        o.policy.provider_retry_base = Duration::from_millis(200);
        o.policy.provider_max_submits = 3;
    })
    .await;
    let (token, account) = member(&t, "both", 5).await;
    t.outage("fal", "down").await;
    t.outage("replicate", "down").await;
    let before = t.balance(&account).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(submit(&t, &token, &format!("a storm at sea {i}")).await);
    }
    settled(&t, &ids, 60).await;
    for id in &ids {
        let job = t.stored_job(id).await;
        assert_eq!(job.status, shared::domain::video::JobStatus::Failed, "{id}");
        assert_eq!(job.error.as_deref(), Some("provider_unavailable"));
        assert_eq!(t.entries_for(&account, "debit", id).await, 1);
        assert_eq!(t.entries_for(&account, "refund", id).await, 1, "{id}");
    }
    assert_eq!(t.balance(&account).await, before, "every credit came back");
    // The same messages again refund nothing more.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in &ids {
        assert_eq!(t.entries_for(&account, "refund", id).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r43_a_refusal_for_content_is_not_retried_at_another_provider() {
    let t = TestStack::start().await;
    let (token, account) = member(&t, "refused", 5).await;
    // fal takes the request; its content checker refuses it in the result, as fal
    // does (a completed status, then 422 `content_policy_violation`).
    let id = submit(&t, &token, "a crowd scene emulator-refuse").await;
    settled(&t, std::slice::from_ref(&id), 30).await;
    let job = t.stored_job(&id).await;
    assert_eq!(job.status, shared::domain::video::JobStatus::Rejected);
    assert_eq!(job.error.as_deref(), Some("provider_refused"));
    assert!(job.tried.is_empty());
    assert_eq!(
        job.provider.as_deref(),
        Some("fal"),
        "accepted by fal first"
    );
    assert!(
        t.stack.replicate.predictions().is_empty(),
        "never sent elsewhere"
    );
    assert_eq!(t.entries_for(&account, "refund", &id).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn r43_a_refusal_after_the_provider_accepted_rejects_the_job_and_goes_nowhere_else() {
    let t = TestStack::start().await;
    let (token, account) = member(&t, "refused-late", 5).await;
    // fal is down, so Replicate takes the job; its moderation then refuses the output.
    t.outage("fal", "down").await;
    let id = submit(&t, &token, "a crowd scene emulator-refuse").await;
    settled(&t, std::slice::from_ref(&id), 30).await;
    let job = t.stored_job(&id).await;
    assert_eq!(job.status, shared::domain::video::JobStatus::Rejected);
    assert_eq!(job.error.as_deref(), Some("provider_refused"));
    assert_eq!(job.provider.as_deref(), Some("replicate"));
    assert_eq!(t.stack.replicate.predictions().len(), 1);
    t.outage("fal", "up").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(t.stack.fal.requests().is_empty(), "not retried at fal");
    assert_eq!(t.entries_for(&account, "refund", &id).await, 1);
}
