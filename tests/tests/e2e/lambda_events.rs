//! The Lambda entry path: each sample API Gateway v2 event in `events/apigw/` goes
//! through `lambda_http`'s adapter (what `lambda_http::run` does with every
//! invocation) to the function's router, against the local AWS endpoint.

use std::path::PathBuf;

use axum::Router;
use e2e_tests::TestStack;
use e2e_tests::local_stack::functions::{self, Kind};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::Value;
use shared::edge::queue_batch::run_batch;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/apigw")
}

const SAMPLE_JOB: &str = "vid_0123456789abcdef0123456789abcdef";

/// A sample SQS event with the test's bucket and job put in.
fn sqs_event(file: &str, bucket: &str, job: &str) -> aws_lambda_events::event::sqs::SqsEvent {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/sqs")
        .join(file);
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("OUTPUTS_BUCKET", bucket)
        .replace(SAMPLE_JOB, job);
    serde_json::from_str(&text).expect("an SQS event")
}

/// The function a sample event is for: the declared name its file name begins with
/// (the longest, so `provider-webhook-…` is not `provider`'s).
fn function_of(file: &str) -> &'static str {
    functions::DECLARED
        .iter()
        .map(|d| d.name)
        .filter(|name| {
            file.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['-', '.']))
        })
        .max_by_key(|name| name.len())
        .unwrap_or_else(|| panic!("{file}: its name names no function"))
}

/// The Lambda router of the HTTP function a sample event is for.
fn router_for(t: &TestStack, file: &str) -> Router {
    let function = function_of(file);
    t.stack
        .functions
        .lambda_router(function)
        .unwrap_or_else(|| panic!("{file}: {function} is not an HTTP function"))
}

async fn invoke(router: Router, file: &str) -> Value {
    let text = std::fs::read_to_string(events_dir().join(file)).expect("event file");
    let request: LambdaRequest = serde_json::from_str(&text).expect("an API Gateway event");
    let mut adapter = Adapter::from(router);
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("the handler answers");
    serde_json::to_value(&response).expect("a Lambda response")
}

#[tokio::test(flavor = "multi_thread")]
async fn r38_every_sample_event_reaches_its_handler_through_lambda_http() {
    let t = TestStack::start().await;
    // (event, status, problem code); the file's name begins with its function's.
    let cases: &[(&str, u16, Option<&str>)] = &[
        ("auth-email-start.json", 202, None),
        ("auth-email-start-base64.json", 202, None),
        (
            "auth-email-start-malformed.json",
            400,
            Some("malformed_json"),
        ),
        (
            "auth-email-start-wrong-content-type.json",
            415,
            Some("unsupported_media_type"),
        ),
        ("auth-email-verify.json", 400, Some("invalid_code")),
        ("auth-google.json", 401, Some("invalid_id_token")),
        ("auth-signout.json", 401, Some("unauthorized")),
        ("auth-signout-all.json", 401, Some("unauthorized")),
        ("account-me.json", 401, Some("unauthorized")),
        ("account-disconnect-google.json", 401, Some("unauthorized")),
        ("account-patch-me.json", 401, Some("unauthorized")),
        ("account-delete-me.json", 401, Some("unauthorized")),
        ("account-export.json", 401, Some("unauthorized")),
        ("account-support.json", 401, Some("unauthorized")),
        // No session needed; a link whose signature is wrong is refused.
        ("account-unsubscribe.json", 400, Some("invalid_token")),
        // Signed with the local webhook secret; about an order we never sold: taken,
        // and nothing changes.
        ("checkout-webhook-creem.json", 200, None),
        ("videos-submit.json", 401, Some("unauthorized")),
        ("videos-get.json", 401, Some("unauthorized")),
        // The catalogue needs no session.
        ("billing-products.json", 200, None),
        ("billing-checkout.json", 401, Some("unauthorized")),
        // The models catalogue needs no session either (R42).
        ("videos-models.json", 200, None),
    ];
    for (file, status, code) in cases {
        let res = invoke(router_for(&t, file), file).await;
        assert_eq!(res["statusCode"], *status, "{file}: {res}");
        if let Some(code) = code {
            let body: Value = serde_json::from_str(res["body"].as_str().unwrap_or("{}")).unwrap();
            assert_eq!(body["code"], *code, "{file}");
            assert_eq!(
                res["headers"]["content-type"], "application/problem+json",
                "{file}"
            );
        }
    }
    // The start events really sent their codes.
    assert_eq!(t.emails_to("someone@example.com").await.len(), 1);
    assert_eq!(t.emails_to("someone.else@example.com").await.len(), 1);

    // Every HTTP function has a sample event (fal's is signed at a fixed time: its own
    // test below sets the clock to it).
    for name in functions::names_where(|k| matches!(k, Kind::Http { .. })) {
        assert!(
            cases
                .iter()
                .map(|c| c.0)
                .chain([FAL_EVENT])
                .any(|file| function_of(file) == name),
            "no sample event of {name}"
        );
    }
    // Every sample event is covered here.
    let mut on_disk: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut covered: Vec<String> = cases.iter().map(|c| c.0.to_owned()).collect();
    // Signed at a fixed time: their own test below sets the clock to it.
    covered.push(FAL_EVENT.to_owned());
    covered.push(REPLICATE_EVENT.to_owned());
    covered.sort();
    assert_eq!(on_disk, covered);
}

/// Each queue function has a sample SQS event and each scheduled function a sample
/// schedule event, named for it; every file in those folders names a function of that
/// kind.
#[test]
fn every_queue_and_scheduled_function_has_its_sample_event() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");
    for (folder, is_kind) in [
        ("sqs", (|k: &Kind| *k == Kind::Queue) as fn(&Kind) -> bool),
        ("schedule", |k: &Kind| matches!(k, Kind::Schedule { .. })),
    ] {
        let files: Vec<String> = std::fs::read_dir(dir.join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        for file in &files {
            let function = functions::declared(function_of(file)).unwrap();
            assert!(
                is_kind(&function.kind),
                "{folder}/{file}: {}",
                function.name
            );
        }
        for name in functions::names_where(is_kind) {
            assert!(
                files.iter().any(|f| function_of(f) == name),
                "no sample event of {name} in {folder}/"
            );
        }
    }
}

const FAL_EVENT: &str = "provider-webhook-fal.json";
const REPLICATE_EVENT: &str = "provider-webhook-replicate.json";

/// The event with its body changed after signing.
fn tampered(file: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(events_dir().join(file)).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    let body = event["body"].as_str().unwrap().replace(from, to);
    event["body"] = Value::String(body);
    let path = std::env::temp_dir().join(format!("{}-{file}", uuid::Uuid::new_v4()));
    std::fs::write(&path, event.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_r38_the_signed_webhook_events_are_verified_through_lambda_http() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    // fal's call, signed by the local emulator's key at its fixed time: one look queued.
    let text = std::fs::read_to_string(events_dir().join(FAL_EVENT)).unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    let at: i64 = event["headers"]["x-fal-webhook-timestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    t.clock.set(at);
    let res = invoke(router_for(&t, FAL_EVENT), FAL_EVENT).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(t.queue_counts("GenerateQueue").await, (1, 0));
    // The same call with its body changed: refused, nothing more queued.
    let altered = tampered(FAL_EVENT, "\"OK\"", "\"ERROR\"");
    let res = invoke(router_for(&t, FAL_EVENT), &altered).await;
    assert_eq!(res["statusCode"], 401, "{res}");
    // Replayed a day later: stale.
    t.clock.set(at + 24 * 3600);
    let res = invoke(router_for(&t, FAL_EVENT), FAL_EVENT).await;
    assert_eq!(res["statusCode"], 401, "{res}");
    assert_eq!(t.queue_counts("GenerateQueue").await, (1, 0));
    // Replicate's call (Standard Webhooks), at its own fixed time: one look more.
    let text = std::fs::read_to_string(events_dir().join(REPLICATE_EVENT)).unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    let at: i64 = event["headers"]["webhook-timestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    t.clock.set(at);
    let res = invoke(router_for(&t, REPLICATE_EVENT), REPLICATE_EVENT).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(t.queue_counts("GenerateQueue").await, (2, 0));
    let altered = tampered(REPLICATE_EVENT, "succeeded", "failed");
    let res = invoke(router_for(&t, REPLICATE_EVENT), &altered).await;
    assert_eq!(res["statusCode"], 401, "{res}");
    // The same call again: taken once.
    let res = invoke(router_for(&t, REPLICATE_EVENT), REPLICATE_EVENT).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(t.queue_counts("GenerateQueue").await, (2, 0));
    // Creem's event with its body changed: refused.
    let altered = tampered("checkout-webhook-creem.json", "1200", "9999");
    let res = invoke(router_for(&t, "checkout-webhook-creem.json"), &altered).await;
    assert_eq!(res["statusCode"], 401, "{res}");
}

/// The status `auth`'s sign-in start answers an API Gateway event with.
async fn email_start_status(t: &TestStack, event: serde_json::Value) -> u64 {
    let request: LambdaRequest = serde_json::from_value(event).unwrap();
    let mut adapter = Adapter::from(router_for(t, "auth-email-start.json"));
    let res = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    serde_json::to_value(&res).unwrap()["statusCode"]
        .as_u64()
        .unwrap()
}

/// The sample sign-in start for another address (`tag`), as a JSON event.
fn email_start_event(tag: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(events_dir().join("auth-email-start.json")).unwrap();
    serde_json::from_str(&text.replace("someone@example.com", &format!("{tag}@example.com")))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn r39_the_gateways_source_ip_is_the_rate_limited_client() {
    let t = TestStack::start().await;
    let mut statuses = Vec::new();
    for i in 0..21 {
        // Same sourceIp, different addresses: only the per-IP limit can refuse.
        statuses.push(email_start_status(&t, email_start_event(&format!("p{i}"))).await);
    }
    assert!(statuses[..20].iter().all(|s| *s == 202), "{statuses:?}");
    assert_eq!(statuses[20], 429);
    // A different client IP is not limited.
    let mut other = email_start_event("p-other");
    other["requestContext"]["http"]["sourceIp"] = serde_json::json!("198.51.100.9");
    assert_eq!(email_start_status(&t, other).await, 202);
}

/// R44: behind the website, as anywhere, the per-IP limit keys on API Gateway's own
/// view of the peer: a forwarding header the client forges, different on every
/// request, neither spreads one client over many keys nor is trusted at all.
#[tokio::test(flavor = "multi_thread")]
async fn r44_a_forged_forwarding_header_never_moves_the_rate_limit_key() {
    let t = TestStack::start().await;
    let mut statuses = Vec::new();
    for i in 0..21 {
        let mut event = email_start_event(&format!("f{i}"));
        for (name, value) in [
            ("x-forwarded-for", format!("198.51.100.{i}")),
            ("x-real-ip", format!("198.51.100.{i}")),
            ("cloudfront-viewer-address", format!("198.51.100.{i}:443")),
        ] {
            event["headers"][name] = serde_json::json!(value);
        }
        statuses.push(email_start_status(&t, event).await);
    }
    assert!(statuses[..20].iter().all(|s| *s == 202), "{statuses:?}");
    assert_eq!(statuses[20], 429, "one client, whatever its headers say");
}

/// A stack whose queues are left to the test, and a video submitted on it: the stack,
/// its owner's address and token, and the video's id.
async fn video_with_consumers_off() -> (TestStack, String, String, String) {
    let t = e2e_tests::TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.provider_poll_interval = std::time::Duration::ZERO;
    })
    .await;
    let email = e2e_tests::unique_email("events");
    let (token, _) = t.signed_in(&email).await;
    let r = t
        .submit_video(
            &token,
            serde_json::json!({ "prompt": "from events", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    (t, email, token, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_deliver_takes_s3_events_in_both_shapes_and_the_test_event_and_acts_once() {
    let (t, email, token, id) = video_with_consumers_off().await;
    // generate and stamp run; the bucket's notifications to deliver are left unread.
    t.pump_until_stored(&["generate", "stamp"], &format!("videos/{id}.mp4"), 40)
        .await;
    let bucket = t.bucket("OutputsBucket");
    for file in [
        "deliver-test-event.json",
        "deliver-aws-shape.json",
        "deliver-local-shape.json",
    ] {
        let res = run_batch(&t.stack.functions.deliver, sqs_event(file, &bucket, &id)).await;
        assert!(res.batch_item_failures.is_empty(), "{file}");
    }
    let v = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(v.body["status"], "ready");
    let notices = t
        .emails_to(&email)
        .await
        .into_iter()
        .filter(|m| m["subject"].as_str().unwrap().contains("ready"))
        .count();
    assert_eq!(notices, 1, "two events, one notice");
}

/// R41: `stamp` takes the sample event of a staged file, twice, and stamps it once.
#[tokio::test(flavor = "multi_thread")]
async fn r41_stamp_takes_its_sample_event_and_stamps_once() {
    let (t, _, _, id) = video_with_consumers_off().await;
    let staged = shared::domain::video::staging_key(&id);
    t.pump_until_stored(&["generate"], &staged, 40).await;
    let bucket = t.bucket("OutputsBucket");
    let stamp = &t.stack.functions.stamp;
    let first = run_batch(stamp, sqs_event("stamp.json", &bucket, &id)).await;
    assert!(first.batch_item_failures.is_empty());
    let output = t.head_output(&id).await;
    let written = output.last_modified().copied();
    assert!(!t.object_exists("OutputsBucket", &staged).await);
    // A copy of the event finds the work done: the output is not written again.
    let again = run_batch(stamp, sqs_event("stamp.json", &bucket, &id)).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(t.head_output(&id).await.last_modified().copied(), written);
    // The sample's own job id names no job: acknowledged, nothing done.
    let none = run_batch(stamp, sqs_event("stamp.json", &bucket, SAMPLE_JOB)).await;
    assert!(none.batch_item_failures.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_drops_unreadable_and_unknown_messages_without_retrying_them() {
    let t = e2e_tests::TestStack::start_opts(|o| o.consumers = false).await;
    for file in ["generate.json", "generate-unreadable.json"] {
        let res = run_batch(&t.stack.functions.generate, sqs_event(file, "", SAMPLE_JOB)).await;
        assert!(res.batch_item_failures.is_empty(), "{file}");
    }
}

/// R26: the sample privacy-queue event, with a real request's ids put in, is carried
/// out through the batch runner; unreadable or unknown ones are dropped, not retried.
#[tokio::test(flavor = "multi_thread")]
async fn r26_privacy_requests_takes_its_sample_event_and_acts_once() {
    let t = e2e_tests::TestStack::start_opts(|o| o.consumers = false).await;
    let email = e2e_tests::unique_email("event");
    let (token, account) = t.signed_in(&email).await;
    assert_eq!(
        t.post("/v1/me/verification", serde_json::json!({}), Some(&token))
            .await
            .status,
        202
    );
    let code = t.latest_code(&email).await;
    let r = t
        .post(
            "/v1/me/export",
            serde_json::json!({ "code": code }),
            Some(&token),
        )
        .await;
    let id = r.body["id"].as_str().unwrap();
    let event = |request: &str, account: &str| {
        let text = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/sqs/privacy-requests.json"),
        )
        .unwrap()
        .replace("req_0123456789abcdef0123456789abcdef", request)
        .replace("acc_0123456789abcdef0123456789abcdef", account);
        serde_json::from_str::<aws_lambda_events::event::sqs::SqsEvent>(&text).unwrap()
    };
    let privacy = &t.stack.functions.privacy_requests;
    for _ in 0..2 {
        let res = run_batch(privacy, event(id, &account)).await;
        assert!(res.batch_item_failures.is_empty());
    }
    let r = t.get(&format!("/v1/me/requests/{id}"), Some(&token)).await;
    assert_eq!(r.body["status"], "completed", "{}", r.body);
    let ready = t
        .emails_to(&email)
        .await
        .iter()
        .filter(|m| m["subject"].as_str().unwrap().contains("export is ready"))
        .count();
    assert_eq!(ready, 1, "twice delivered, once done");
    // The sample's own ids name no request: acknowledged, nothing done.
    let res = run_batch(
        privacy,
        event(
            "req_0123456789abcdef0123456789abcdef",
            "acc_0123456789abcdef0123456789abcdef",
        ),
    )
    .await;
    assert!(res.batch_item_failures.is_empty());
}
