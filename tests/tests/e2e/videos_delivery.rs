//! The background steps under at-least-once delivery and provider failures: R11, R13,
//! R15, R16. Consumers are driven by hand here, so every delivery is deliberate.

use std::time::Duration;

use e2e_tests::local_stack::template::yaml_text;
use e2e_tests::{TestStack, unique_email};
use serde_json::json;
use shared::domain::policy::Policy;

fn fast(policy: &mut Policy) {
    policy.provider_poll_interval = Duration::ZERO;
    policy.provider_retry_base = Duration::ZERO;
}

async fn queue_depth(t: &TestStack, logical_id: &str) -> usize {
    let out = t
        .stack
        .aws
        .sqs()
        .get_queue_attributes()
        .queue_url(t.table(logical_id))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        )
        .send()
        .await
        .unwrap();
    out.attributes()
        .unwrap()
        .values()
        .map(|v| v.parse::<usize>().unwrap())
        .sum()
}

async fn send_raw(t: &TestStack, logical_id: &str, body: &str) {
    t.stack
        .aws
        .sqs()
        .send_message()
        .queue_url(t.table(logical_id))
        .message_body(body)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r11_every_provider_failure_ends_failed_with_exactly_one_refund() {
    // Polled: the deadline is `generate`'s to enforce on a request that never ends.
    let t = TestStack::start_opts(|o| {
        e2e_tests::polled(o);
        o.consumers = false;
        fast(&mut o.policy);
        o.policy.generation_deadline = Duration::from_secs(4);
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("fail")).await;
    t.grant(&account, 10).await;
    for prompt in ["emulator-fail", "emulator-hang"] {
        let r = t
            .submit_video(&token, json!({ "prompt": prompt, "seconds": 4 }), None)
            .await;
        let id = r.body["id"].as_str().unwrap().to_owned();
        let v = t.pump_until(&token, &id, "failed", 30).await;
        assert!(v["error"]["code"].is_string(), "{prompt}: {v}");
        assert!(v.get("download_url").is_none());
        assert_eq!(t.entries_for(&account, "debit", &id).await, 1, "{prompt}");
        assert_eq!(t.entries_for(&account, "refund", &id).await, 1, "{prompt}");
        // More messages for the ended job change nothing.
        send_raw(&t, "GenerateQueue", &json!({ "job_id": id }).to_string()).await;
        t.pump("generate").await;
        assert_eq!(t.entries_for(&account, "refund", &id).await, 1, "{prompt}");
    }
    assert_eq!(t.balance(&account).await, 13);
    assert_eq!(t.get("/v1/me", Some(&token)).await.body["credits"], 13);
    let hung = t
        .stack
        .fal
        .requests()
        .into_iter()
        .find(|r| r.input["prompt"] == "emulator-hang")
        .unwrap();
    assert!(hung.cancelled, "the provider was told to stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_busy_provider_is_retried_with_backoff_then_works() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        fast(&mut o.policy);
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("busy")).await;
    for prompt in ["emulator-5xx", "emulator-429"] {
        let r = t
            .submit_video(&token, json!({ "prompt": prompt, "seconds": 4 }), None)
            .await;
        let id = r.body["id"].as_str().unwrap().to_owned();
        t.pump_until(&token, &id, "ready", 30).await;
        assert_eq!(t.entries_for(&account, "refund", &id).await, 0);
    }
    assert_eq!(t.balance(&account).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r11_r43_providers_that_stay_down_fail_the_job_with_one_refund() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        fast(&mut o.policy);
        o.policy.provider_max_submits = 3;
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("down")).await;
    // Both providers of the model answer 503 to everything.
    for provider in ["fal", "replicate"] {
        let r = t
            .post(
                &format!("/_local/providers/{provider}/outage"),
                json!({ "mode": "down" }),
                None,
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a calm lake", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let v = t.pump_until(&token, &id, "failed", 30).await;
    assert_eq!(v["error"]["code"], "provider_unavailable");
    assert_eq!(t.entries_for(&account, "refund", &id).await, 1);
    assert_eq!(t.balance(&account).await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn r11_r15_generate_and_deliver_messages_delivered_twice_make_one_output_one_charge_one_email()
 {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        fast(&mut o.policy);
    })
    .await;
    let email = unique_email("twice");
    let (token, account) = t.signed_in(&email).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "twice delivered", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    // Every generate message arrives twice.
    send_raw(&t, "GenerateQueue", &json!({ "job_id": id }).to_string()).await;
    let v = t.pump_until(&token, &id, "ready", 30).await;
    assert_eq!(v["status"], "ready");
    // And the S3 event arrives again, later.
    let event = json!({ "Records": [{ "eventName": "ObjectCreated:Put", "s3": { "bucket": { "name": t.bucket("OutputsBucket") }, "object": { "key": format!("videos%2F{id}.mp4"), "size": 6083 } } }] });
    send_raw(&t, "DeliverQueue", &event.to_string()).await;
    for _ in 0..5 {
        t.pump("generate").await;
        t.pump("stamp").await;
        t.pump("deliver").await;
    }
    let submitted: Vec<_> = t
        .stack
        .fal
        .requests()
        .into_iter()
        .filter(|r| !r.cancelled)
        .collect();
    assert_eq!(submitted.len(), 1, "one live provider request");
    assert_eq!(t.entries_for(&account, "debit", &id).await, 1);
    assert_eq!(t.entries_for(&account, "refund", &id).await, 0);
    let notices = t
        .emails_to(&email)
        .await
        .into_iter()
        .filter(|m| m["subject"].as_str().unwrap().contains("ready"))
        .count();
    assert_eq!(notices, 1);
    let outputs = t
        .stack
        .aws
        .s3()
        .list_objects_v2()
        .bucket(t.bucket("OutputsBucket"))
        .send()
        .await
        .unwrap();
    assert_eq!(outputs.contents().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_crash_between_steps_is_finished_by_the_redelivered_message() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        fast(&mut o.policy);
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("crash")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "survives a crash", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The consumer does the work, then dies before deleting the message.
    let generate = t.stack.consumer("generate");
    let outcome = generate.poll_once(false, Some(1), 0).await;
    assert_eq!(outcome.received, 1);
    assert_eq!(
        t.get(&format!("/v1/videos/{id}"), Some(&token)).await.body["status"],
        "generating"
    );
    // The visibility timeout passes; the message comes back and the job goes on.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    t.pump_until(&token, &id, "ready", 30).await;
    assert_eq!(t.entries_for(&account, "debit", &id).await, 1);
    assert_eq!(
        t.stack
            .fal
            .requests()
            .iter()
            .filter(|r| !r.cancelled)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_that_keeps_failing_ends_in_the_dead_letter_queue() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    // A job record the step cannot read: every attempt fails.
    t.stack
        .aws
        .dynamodb()
        .put_item()
        .table_name(t.table("VideosTable"))
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("job#vid_broken".into()),
        )
        .item(
            "kind",
            aws_sdk_dynamodb::types::AttributeValue::S("job".into()),
        )
        .send()
        .await
        .unwrap();
    send_raw(&t, "GenerateQueue", r#"{"job_id":"vid_broken"}"#).await;
    let generate = t.stack.consumer("generate");
    let mut failures = 0;
    // Each failure makes the message invisible for a second; poll until it has
    // moved to the dead-letter queue (bounded, in case it never does).
    for _ in 0..20 {
        let o = generate.poll_once(true, Some(1), 0).await;
        failures += o.failed;
        if queue_depth(&t, "GenerateDeadLetterQueue").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    assert_eq!(
        failures, 5,
        "tried maxReceiveCount times, each reported as a batch item failure"
    );
    assert_eq!(queue_depth(&t, "GenerateQueue").await, 0);
    assert_eq!(queue_depth(&t, "GenerateDeadLetterQueue").await, 1);
}

/// A dead letter is visible to the operators (an alarm on every dead-letter queue)
/// and can be re-driven to its queue once the cause is fixed.
#[tokio::test(flavor = "multi_thread")]
async fn r13_dead_letters_raise_an_alarm_and_can_be_redriven() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    send_raw(
        &t,
        "GenerateDeadLetterQueue",
        r#"{"job_id":"vid_00000000000000000000000000000000"}"#,
    )
    .await;
    assert_eq!(queue_depth(&t, "GenerateDeadLetterQueue").await, 1);
    // The operators' command moves it back.
    let op = t.operator().await;
    let moved = op
        .run(
            operator::parse(&[
                "redrive".to_owned(),
                t.table("GenerateDeadLetterQueue"),
                t.table("GenerateQueue"),
            ])
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(moved["moved"], 1);
    assert_eq!(queue_depth(&t, "GenerateDeadLetterQueue").await, 0);
    let o = t.pump("generate").await;
    assert_eq!(
        (o.received, o.failed),
        (1, 0),
        "handled (an unknown job is dropped)"
    );
    // Every dead-letter queue has an alarm that reaches the operators.
    let template: e2e_tests::local_stack::template::Value = e2e_tests::template_yaml();
    let resources = template["Resources"].as_mapping().unwrap();
    // The queues some queue's RedrivePolicy names as its dead-letter target.
    let dead_letter_queues: Vec<&str> = resources
        .iter()
        .filter_map(|(_, r)| {
            let target = &r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"];
            match target {
                e2e_tests::local_stack::template::Value::Tagged(t) if t.tag == "!GetAtt" => {
                    t.value.as_str()?.strip_suffix(".Arn")
                }
                _ => None,
            }
        })
        .collect();
    assert!(dead_letter_queues.len() >= 2);
    for dlq in dead_letter_queues {
        let alarm = resources.iter().find(|(_, r)| {
            r["Type"] == "AWS::CloudWatch::Alarm"
                && yaml_text(&r["Properties"]["Dimensions"]).contains(&format!("{dlq}.QueueName"))
        });
        let (_, alarm) = alarm.unwrap_or_else(|| panic!("no alarm on {dlq}"));
        assert_eq!(
            alarm["Properties"]["MetricName"],
            "ApproximateNumberOfMessagesVisible"
        );
        assert!(
            !alarm["Properties"]["AlarmActions"]
                .as_sequence()
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_an_output_whose_job_was_deleted_failed_or_never_existed_is_removed() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        fast(&mut o.policy);
    })
    .await;
    let bucket = t.bucket("OutputsBucket");
    let put = |key: String| {
        t.stack
            .aws
            .s3()
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
            .send()
    };
    put("videos/vid_00000000000000000000000000000000.mp4".into())
        .await
        .unwrap();
    for _ in 0..3 {
        t.pump("deliver").await;
    }
    assert!(
        !t.object_exists(
            "OutputsBucket",
            "videos/vid_00000000000000000000000000000000.mp4"
        )
        .await
    );
    // A job that failed, whose file lands late anyway.
    let (token, _) = t.signed_in(&e2e_tests::unique_email("late")).await;
    let r = t
        .submit_video(
            &token,
            serde_json::json!({ "prompt": "this will emulator-fail", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.pump_until(&token, &id, "failed", 20).await;
    put(format!("videos/{id}.mp4")).await.unwrap();
    for _ in 0..3 {
        t.pump("deliver").await;
    }
    assert!(
        !t.object_exists("OutputsBucket", &format!("videos/{id}.mp4"))
            .await
    );
    // R41: so is a staged file that lands late: `stamp` removes it, stamps nothing.
    let staged = shared::domain::video::staging_key(&id);
    put(staged.clone()).await.unwrap();
    for _ in 0..3 {
        t.pump("stamp").await;
    }
    assert!(!t.object_exists("OutputsBucket", &staged).await);
    assert!(
        !t.object_exists("OutputsBucket", &format!("videos/{id}.mp4"))
            .await
    );
    assert_eq!(t.stored_job(&id).await.status.as_str(), "failed");
}
