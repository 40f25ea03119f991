//! Replays of a submission and copies of queue messages: R11, R13, R39. SQS and
//! clients both deliver twice; neither may charge twice, skip a limit, or start a
//! second polling chain.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use e2e_tests::{TestStack, unique_email};
use serde_json::json;
use shared::domain::policy::Limit;
use shared::edge::queue_batch::run_batch;

async fn queued(t: &TestStack) -> (u64, u64) {
    t.queue_counts("GenerateQueue").await
}

/// Takes every message now visible on the generate queue off it.
async fn take_all(t: &TestStack) -> Vec<SqsMessage> {
    let mut taken = Vec::new();
    loop {
        let out = t
            .stack
            .aws
            .sqs()
            .receive_message()
            .queue_url(t.table("GenerateQueue"))
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return taken;
        }
        for m in messages {
            t.stack
                .aws
                .sqs()
                .delete_message()
                .queue_url(t.table("GenerateQueue"))
                .receipt_handle(m.receipt_handle.clone().unwrap())
                .send()
                .await
                .unwrap();
            let mut record = SqsMessage::default();
            record.message_id = m.message_id;
            record.body = m.body;
            taken.push(record);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r39_r11_replays_are_limited_like_any_request_and_a_reused_key_is_refused() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.videos_per_account = Limit::per_hour(3);
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("replay")).await;
    let body = json!({ "prompt": "a lantern festival", "seconds": 4 });
    assert_eq!(
        t.submit_video(&token, body.clone(), Some("k1"))
            .await
            .status,
        202
    );
    // The same key with another body is a mistake, not a replay.
    t.submit_video(
        &token,
        json!({ "prompt": "a different thing", "seconds": 4 }),
        Some("k1"),
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    assert_eq!(
        t.submit_video(&token, body.clone(), Some("k1"))
            .await
            .status,
        202
    );
    // Three requests this hour: the fourth, a replay, is limited too.
    t.submit_video(&token, body, Some("k1"))
        .await
        .assert_problem(429, "rate_limited");
    assert_eq!(
        t.ledger(&account)
            .await
            .iter()
            .filter(|e| e.kind == "debit")
            .count(),
        1,
        "charged once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_replay_requeues_a_waiting_job_once_and_only_after_it_waited() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("requeue")).await;
    let body = json!({ "prompt": "a paper boat", "seconds": 4 });
    let r = t.submit_video(&token, body.clone(), Some("k2")).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(queued(&t).await, (1, 0));
    // The message is lost (say, dead-lettered).
    take_all(&t).await;
    // A prompt replay does not queue it again: the message may just be slow.
    assert_eq!(
        t.submit_video(&token, body.clone(), Some("k2"))
            .await
            .status,
        202
    );
    assert_eq!(queued(&t).await, (0, 0));
    // After the wait, a replay queues it once, on the job's own polling chain.
    t.clock
        .advance(t.stack.base.policy.requeue_after + Duration::from_secs(1));
    let replays = (0..3).map(|_| t.submit_video(&token, body.clone(), Some("k2")));
    for r in futures_util::future::join_all(replays).await {
        assert_eq!(r.status, 202, "{}", r.body);
        assert_eq!(r.body["status"], "queued");
    }
    assert_eq!(queued(&t).await, (1, 0), "one message for three replays");
    let message = take_all(&t).await.remove(0);
    let sent: serde_json::Value = serde_json::from_str(message.body.as_deref().unwrap()).unwrap();
    assert_eq!(sent["job_id"], id);
    assert_eq!(
        sent["token"].as_str(),
        t.stored_job(&id).await.poll_token.as_deref()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_copies_of_a_generate_message_keep_one_polling_chain() {
    let t = TestStack::start_opts(|o| {
        e2e_tests::polled(o);
        o.consumers = false;
        o.fal_duration = Duration::from_secs(30);
    })
    .await;
    let (token, _) = t.signed_in(&unique_email("chain")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a slow sunrise", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let generate = &t.stack.functions.generate;
    let deliver_twice = |messages: Vec<SqsMessage>| {
        let mut event = SqsEvent::default();
        event.records = messages.iter().chain(messages.iter()).cloned().collect();
        run_batch(generate, event)
    };
    // The first message, delivered twice at once: one submission.
    let first = take_all(&t).await;
    assert_eq!(first.len(), 1);
    deliver_twice(first).await;
    // Both copies may reach the provider; the one that lost the job's condition
    // cancelled its request at once.
    let kept = t
        .stack
        .fal
        .requests()
        .iter()
        .filter(|r| !r.cancelled)
        .count();
    assert_eq!(kept, 1, "one generation kept");
    // Each round: whatever copies arrive, one message goes on.
    for round in 0..3 {
        tokio::time::sleep(t.stack.base.policy.provider_poll_interval + Duration::from_millis(200))
            .await;
        let messages = take_all(&t).await;
        assert!(!messages.is_empty(), "round {round}: the chain went on");
        deliver_twice(messages).await;
        let (visible, delayed) = queued(&t).await;
        assert!(
            visible + delayed <= 2,
            "round {round}: {visible} + {delayed}"
        );
    }
    // Only messages of the current chain act: after the stale ones are dropped, one is left.
    tokio::time::sleep(t.stack.base.policy.provider_poll_interval + Duration::from_millis(200))
        .await;
    let messages = take_all(&t).await;
    let current = t.stored_job(&id).await.poll_token;
    let live = messages
        .iter()
        .filter(|m| {
            let v: serde_json::Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            v["token"].as_str() == current.as_deref()
        })
        .count();
    assert_eq!(live, 1, "one chain");
}
