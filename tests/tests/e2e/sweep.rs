//! `sweep`: no job waits forever (R11, R13). A job whose message was never sent (the
//! `videos` process died between the debit and the send) or was lost is queued again
//! once it has waited too long, and ended with exactly one refund past its deadline.

use std::path::PathBuf;
use std::time::Duration;

use e2e_tests::{TestStack, unique_email};
use serde_json::{Value, json};

async fn sweep(t: &TestStack) -> Value {
    let r = t.post("/_local/sweep", json!({}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// A job as the `videos` function leaves it when it dies right after the debit: charged,
/// queued, and no message on the queue.
async fn orphan(t: &TestStack, token: &str, prompt: &str) -> String {
    let r = t
        .submit_video(token, json!({ "prompt": prompt, "seconds": 4 }), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    t.stack
        .aws
        .sqs()
        .purge_queue()
        .queue_url(t.table("GenerateQueue"))
        .send()
        .await
        .unwrap();
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_job_whose_message_was_never_sent_is_requeued_and_made() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("orphan")).await;
    let id = orphan(&t, &token, "a lighthouse keeper's cat").await;
    // Too early: it may only be slow.
    assert_eq!(sweep(&t).await["requeued"], 0);
    t.clock
        .advance(t.stack.base.policy.requeue_after + Duration::from_secs(1));
    let round = sweep(&t).await;
    assert_eq!(round["requeued"], 1, "{round}");
    // A second round right after does not queue it twice.
    assert_eq!(sweep(&t).await["requeued"], 0);
    t.pump_until(&token, &id, "ready", 30).await;
    assert_eq!(t.entries_for(&account, "debit", &id).await, 1);
    assert_eq!(t.entries_for(&account, "refund", &id).await, 0);
}

/// A submission whose message cannot be sent (SQS refuses it past the SDK's retries) is
/// stored and charged: it is accepted as it is, and queued later. Ending it instead would
/// answer the client's retry of its key with a failed video.
#[tokio::test(flavor = "multi_thread")]
async fn r13_a_submission_that_could_not_be_queued_is_accepted_and_made_once_queued_again() {
    let t = TestStack::start_refusing_queue_sends().await;
    let (token, account) = t.signed_in(&unique_email("unsent")).await;
    let asked = json!({ "prompt": "a paper boat on a canal", "seconds": 4 });
    let r = t
        .submit_video(&token, asked.clone(), Some("unsent-1"))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "queued", "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.queue_counts("GenerateQueue").await,
        (0, 0),
        "nothing sent"
    );
    assert_eq!(t.entries_for(&account, "debit", &id).await, 1);
    // The client's retry of its key is the same video, still queued.
    let again = t
        .submit_video(&token, asked.clone(), Some("unsent-1"))
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(
        (again.body["id"].as_str(), again.body["status"].as_str()),
        (Some(id.as_str()), Some("queued"))
    );
    t.queue_sends_work();
    // Too early: it may only be slow.
    assert_eq!(sweep(&t).await["requeued"], 0);
    t.clock
        .advance(t.stack.base.policy.requeue_after + Duration::from_secs(1));
    let round = sweep(&t).await;
    assert_eq!(round["requeued"], 1, "{round}");
    t.pump_until(&token, &id, "ready", 30).await;
    assert_eq!(t.entries_for(&account, "debit", &id).await, 1);
    assert_eq!(t.entries_for(&account, "refund", &id).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn r11_r13_a_stuck_job_past_its_deadline_ends_with_one_refund() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("stuck")).await;
    let id = orphan(&t, &token, "a clock tower at noon").await;
    t.clock
        .advance(t.stack.base.policy.generation_deadline + Duration::from_secs(1));
    let (a, b) = tokio::join!(sweep(&t), sweep(&t));
    assert_eq!(
        a["ended"].as_u64().unwrap() + b["ended"].as_u64().unwrap(),
        1,
        "two concurrent rounds end it once: {a} {b}"
    );
    let job = t.stored_job(&id).await;
    assert_eq!(
        (job.status.as_str(), job.error.as_deref()),
        ("failed", Some("timed_out"))
    );
    assert_eq!(t.entries_for(&account, "refund", &id).await, 1);
    assert_eq!(t.balance(&account).await, 3);
    // Ended jobs leave the index: the next round does not see it.
    assert_eq!(sweep(&t).await["active_looked_at"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_schedule_event_starts_a_round() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/schedule/sweep.json");
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    let done = shared::edge::schedule::run_round(&t.stack.functions.sweep)
        .await
        .unwrap();
    assert_eq!(done["ended"], 0);
}
