//! The provider's completion call (R13): fal calls `/v1/webhooks/fal` when a request
//! ends, signed with ED25519 under the keys it publishes, and the job is not polled;
//! `sweep` is the fallback. Refused calls change nothing; a lost call is made up for by
//! the sweep; a resent one does nothing twice.

use std::time::{Duration, Instant};

use e2e_tests::{TestStack, unique_email};
use serde_json::json;
use shared::domain::video::output_key;

/// The test stack, where the sweep runs only when a test asks: only the provider's call
/// can make a video ready.
async fn calls_only() -> TestStack {
    TestStack::start().await
}

/// A signed-in account with credits.
async fn member(t: &TestStack, tag: &str) -> (String, String, String) {
    let email = unique_email(tag);
    let (token, account) = t.signed_in(&email).await;
    t.grant(&account, 20).await;
    (token, account, email)
}

async fn submit(t: &TestStack, token: &str, prompt: &str) -> String {
    let r = t
        .submit_video(token, json!({ "prompt": prompt, "seconds": 4 }), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// A call's signature headers.
type Signed = Vec<(&'static str, String)>;

/// POSTs a completion call as fal would, with the given headers.
async fn call(
    t: &TestStack,
    job: Option<&str>,
    headers: &[(&str, String)],
    body: &str,
) -> e2e_tests::Reply {
    let path = match job {
        Some(j) => format!("/v1/webhooks/fal?job={j}"),
        None => "/v1/webhooks/fal".to_owned(),
    };
    let mut req = t
        .http
        .post(t.url(&path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    t.send(req).await
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_finished_video_is_ready_from_the_providers_call_not_from_polling() {
    let t = calls_only().await;
    let (token, _, email) = member(&t, "hook").await;
    let id = submit(&t, &token, "a heron over a misty lake").await;
    t.wait_status(&token, &id, "ready", 20).await;
    let requests = t.stack.fal.requests();
    let r = requests
        .iter()
        .find(|r| r.input["prompt"] == "a heron over a misty lake")
        .unwrap();
    assert_eq!(r.calls, [200], "one call, accepted");
    // Not polled: the only look at its status is the one the call caused.
    assert_eq!(r.status_looks, 1);
    // The address fal was given names our webhook and the job, nothing about the person.
    let hook = r.webhook.as_deref().unwrap();
    assert_eq!(hook, t.url(&format!("/v1/webhooks/fal?job={id}")));
    assert_eq!(t.wait_emails(&email, "ready", 1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_lost_call_is_made_up_for_by_the_sweep() {
    let t = TestStack::start().await;
    let (token, _, _) = member(&t, "lost").await;
    let id = submit(&t, &token, "a fox in snow emulator-no-webhook").await;
    // Submitted and finished, but nobody called: it stays generating.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(got.body["status"], "generating");
    // The sweep's next round finds it waiting longer than `requeue_after`.
    t.clock
        .advance(t.stack.base.policy.requeue_after + Duration::from_secs(1));
    let swept = t.post("/_local/sweep", json!({}), None).await;
    assert_eq!(swept.body["requeued"], 1, "{}", swept.body);
    t.wait_status(&token, &id, "ready", 30).await;
    let requests = t.stack.fal.requests();
    let r = requests
        .iter()
        .find(|r| r.input["prompt"] == "a fox in snow emulator-no-webhook")
        .unwrap();
    assert!(r.calls.is_empty(), "no call was made");
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r11_a_resent_call_stores_one_output_charges_once_and_mails_once() {
    let t = calls_only().await;
    let (token, account, email) = member(&t, "twice").await;
    let id = submit(&t, &token, "a kite on a beach emulator-webhook-twice").await;
    t.wait_status(&token, &id, "ready", 20).await;
    // Wait for the second call to be answered.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let calls = t
            .stack
            .fal
            .requests()
            .into_iter()
            .find(|r| r.input["prompt"] == "a kite on a beach emulator-webhook-twice")
            .unwrap()
            .calls;
        if calls.len() == 2 {
            assert_eq!(calls, [200, 200]);
            break;
        }
        assert!(Instant::now() < deadline, "second call: {calls:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the second look run its course.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(t.object_exists("OutputsBucket", &output_key(&id)).await);
    assert_eq!(t.entries_for(&account, "debit", &id).await, 1);
    assert_eq!(t.entries_for(&account, "refund", &id).await, 0);
    assert_eq!(t.wait_emails(&email, "ready", 1).await.len(), 1);
    let got = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(got.body["status"], "ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r38_unsigned_forged_stale_or_altered_calls_are_refused_and_queue_nothing() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let job = "vid_0123456789abcdef0123456789abcdef";
    let body = json!({
        "request_id": "req-1",
        "gateway_request_id": "req-1",
        "status": "OK",
        "payload": { "video": { "url": "https://example.invalid/v.mp4" } },
    })
    .to_string();
    let now = t.clock.epoch_secs();
    let fal = &t.stack.fal;

    // A correct call is taken: it queues one look at the job.
    let ok = call(
        &t,
        Some(job),
        &fal.sign("req-1", now, body.as_bytes()),
        &body,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["received"], true);
    assert_eq!(t.queue_counts("GenerateQueue").await, (1, 0));
    let purge = || async {
        let _ = t
            .stack
            .aws
            .sqs()
            .purge_queue()
            .queue_url(t.table("GenerateQueue"))
            .send()
            .await;
    };
    purge().await;

    // Signed by a key fal never published.
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let stranger = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let message = shared::adapters::providers::fal_webhook::signed_message(
        "req-1",
        local_stack::emulators::fal::LOCAL_FAL_USER_ID,
        &now.to_string(),
        body.as_bytes(),
    );
    let mut forged = fal.sign("req-1", now, body.as_bytes());
    forged[3].1 = hex::encode(stranger.sign(&message).as_ref());

    let mut other_user = fal.sign("req-1", now, body.as_bytes());
    other_user[1].1 = "someone-else".into();

    // Each is refused with 401 `invalid_signature`.
    let cases: Vec<(&str, Signed, String)> = vec![
        ("unsigned", vec![], body.clone()),
        ("forged", forged, body.clone()),
        (
            "stale",
            fal.sign("req-1", now - 10 * 60, body.as_bytes()),
            body.clone(),
        ),
        (
            "from the future",
            fal.sign("req-1", now + 10 * 60, body.as_bytes()),
            body.clone(),
        ),
        (
            "altered body",
            fal.sign("req-1", now, body.as_bytes()),
            body.replace("OK", "ERROR"),
        ),
        ("a header changed after signing", other_user, body.clone()),
        (
            "signed by fal for another fal account",
            fal.sign_for("another-fal-customer", "req-1", now, body.as_bytes()),
            body.clone(),
        ),
        (
            "signed for another request than the body's",
            fal.sign("req-2", now, body.as_bytes()),
            body.clone(),
        ),
    ];
    for (what, headers, payload) in cases {
        let r = call(&t, Some(job), &headers, &payload).await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        assert_eq!(r.body["code"], "invalid_signature", "{what}");
    }
    for bad_job in [None, Some("..%2Fx"), Some("")] {
        let r = call(&t, bad_job, &fal.sign("req-1", now, body.as_bytes()), &body).await;
        assert_eq!(r.status, 422, "{bad_job:?}: {}", r.body);
        assert_eq!(r.body["code"], "invalid_request");
    }
    assert_eq!(
        t.queue_counts("GenerateQueue").await,
        (0, 0),
        "nothing queued"
    );
}

/// R13, R38: a captured genuine call, sent again a hundred times within its signature's
/// leeway (some at once), queues one look.
#[tokio::test(flavor = "multi_thread")]
async fn r13_r38_a_replayed_genuine_call_queues_at_most_one_look() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let job = "vid_fedcba9876543210fedcba9876543210";
    let body = json!({ "request_id": "req-9", "status": "OK", "payload": {} }).to_string();
    let headers = t
        .stack
        .fal
        .sign("req-9", t.clock.epoch_secs(), body.as_bytes());
    for _ in 0..5 {
        let burst = (0..20).map(|_| call(&t, Some(job), &headers, &body));
        for r in futures_util::future::join_all(burst).await {
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
    assert_eq!(
        t.queue_counts("GenerateQueue").await,
        (1, 0),
        "one look for a hundred copies"
    );
}

/// A genuine call whose look cannot be queued is refused (503), and is not kept as
/// taken: the provider's retry, once the queue takes messages again, queues the look.
/// (Kept as taken, the retry would be answered 200 with nothing queued, and the job
/// would wait for the sweep.)
#[tokio::test(flavor = "multi_thread")]
async fn r13_a_call_whose_look_could_not_be_queued_is_taken_on_the_providers_retry() {
    let t = TestStack::start_refusing_queue_sends().await;
    let job = "vid_0123456789abcdef0123456789abcdef";
    let body = json!({ "request_id": "req-q", "status": "OK", "payload": {} }).to_string();
    let headers = t
        .stack
        .fal
        .sign("req-q", t.clock.epoch_secs(), body.as_bytes());
    call(&t, Some(job), &headers, &body)
        .await
        .assert_problem(503, "service_unavailable");
    assert_eq!(t.queue_counts("GenerateQueue").await, (0, 0));
    t.queue_sends_work();
    let r = call(&t, Some(job), &headers, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        t.queue_counts("GenerateQueue").await,
        (1, 0),
        "the retry's look"
    );
    // And it is taken once from then on.
    let r = call(&t, Some(job), &headers, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(t.queue_counts("GenerateQueue").await, (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_calls_signed_with_a_rotated_key_are_taken_after_one_fetch_of_the_keys() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let job = "vid_0123456789abcdef0123456789abcdef";
    let body = json!({ "request_id": "req-9", "status": "OK", "payload": null }).to_string();
    let fal = &t.stack.fal;
    let jwks_fetches = || fal.jwks_fetches();
    let now = t.clock.epoch_secs();
    let signed_call = || async {
        let r = call(
            &t,
            Some(job),
            &fal.sign("req-9", now, body.as_bytes()),
            &body,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    };
    signed_call().await;
    signed_call().await;
    assert_eq!(jwks_fetches(), 1, "the keys are cached");
    fal.rotate_key();
    signed_call().await;
    assert_eq!(jwks_fetches(), 2, "one fetch for the new key");
    // A forged signature right after does not make us fetch again (at most one a minute).
    let mut forged = fal.sign("req-9", now, body.as_bytes());
    forged[3].1 = "00".repeat(64);
    let r = call(&t, Some(job), &forged, &body).await;
    assert_eq!(r.status, 401);
    assert_eq!(jwks_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r11_a_request_that_never_ends_is_ended_by_the_sweep_refunded_and_stopped() {
    let t = TestStack::start().await;
    let (token, account, _) = member(&t, "hang").await;
    let id = submit(&t, &token, "a clock that never stops emulator-hang").await;
    t.wait_status(&token, &id, "generating", 10).await;
    t.clock
        .advance(t.stack.base.policy.generation_deadline + Duration::from_secs(1));
    let swept = t.post("/_local/sweep", json!({}), None).await;
    assert_eq!(swept.body["ended"], 1, "{}", swept.body);
    t.wait_status(&token, &id, "failed", 10).await;
    assert_eq!(t.entries_for(&account, "refund", &id).await, 1);
    // The sweep asked `generate` to stop fal's request.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !t
        .stack
        .fal
        .requests()
        .iter()
        .any(|r| r.input["prompt"] == "a clock that never stops emulator-hang" && r.cancelled)
    {
        assert!(Instant::now() < deadline, "fal's request was not cancelled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
