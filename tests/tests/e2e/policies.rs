//! R35: least privilege, checked against what the code does. Every flow of the service
//! runs on the local stack, which records each function's AWS calls (action and
//! resource, presigned links included); then each function's IAM policy in the
//! template must allow every call it made, and name no action it never made.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use e2e_tests::local_stack::template::{Value, yaml_text};
use e2e_tests::{TestStack, png_bytes, unique_email};
use serde_json::json;

/// A statement of a function's policy: its actions, and the resources as patterns over
/// the recorded ones (`table/NAME`, `bucket/NAME/` prefixes, …).
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
}

fn matches(pattern: &str, resource: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => resource.starts_with(prefix),
        None => pattern == resource,
    }
}

/// Each function's statements (by binary name), with the template's references made
/// local names.
fn policies(t: &TestStack) -> BTreeMap<String, Vec<Statement>> {
    let yaml: Value = e2e_tests::template_yaml();
    let refs = &t.stack.refs.refs;
    let local = |logical: &str| -> String {
        let r = refs.get(logical).cloned().unwrap_or_default();
        // A queue's ref is its URL; the recorded resource is its name.
        r.rsplit('/').next().unwrap_or_default().to_owned()
    };
    let kind = |logical: &str| -> String {
        yaml["Resources"][logical]["Type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let mail_from = &t.stack.envs["auth"]["MAIL_FROM"];
    let mut out = BTreeMap::new();
    for (_, r) in yaml["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let env = &t.stack.envs[&binary];
        let mut statements = Vec::new();
        for policy in r["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for st in policy["Statement"].as_sequence().into_iter().flatten() {
                let seq = |v: &Value| -> Vec<Value> {
                    match v {
                        Value::Sequence(s) => s.clone(),
                        other => vec![other.clone()],
                    }
                };
                let actions = seq(&st["Action"])
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect();
                let resources = seq(&st["Resource"])
                    .iter()
                    .map(|res| {
                        let text = yaml_text(res);
                        let text = text.trim();
                        if let Some(rest) = text.strip_prefix("!GetAtt ") {
                            let logical = rest.trim_end_matches(".Arn");
                            return match kind(logical).as_str() {
                                "AWS::DynamoDB::Table" => format!("table/{}", local(logical)),
                                "AWS::SQS::Queue" => format!("queue/{}", local(logical)),
                                "AWS::KMS::Key" => format!("key/{}", local(logical)),
                                _ => format!("bucket/{}", local(logical)),
                            };
                        }
                        let sub = text.trim_start_matches("!Sub ").trim_matches(['"', '\'']);
                        if let Some((logical, tail)) =
                            sub.strip_prefix("${").and_then(|s| s.split_once(".Arn}"))
                        {
                            return match kind(logical).as_str() {
                                "AWS::DynamoDB::Table" => format!("table/{}{tail}", local(logical)),
                                _ => format!("bucket/{}{tail}", local(logical)),
                            };
                        }
                        if sub.contains(":identity/${MailFrom}") {
                            return format!("identity/{mail_from}");
                        }
                        if let Some(param) = sub.split(":parameter").nth(1) {
                            let name = param.trim_start_matches("${").trim_end_matches('}');
                            let var = env
                                .iter()
                                .find(|(k, v)| {
                                    k.ends_with("_PARAMETER")
                                        && refs.get(name).is_some_and(|r| r == *v)
                                })
                                .map(|(_, v)| v.clone())
                                .unwrap_or_else(|| refs.get(name).cloned().unwrap_or_default());
                            return format!("parameter{var}");
                        }
                        panic!("{binary}: a resource this test cannot read: {text}");
                    })
                    .collect();
                statements.push(Statement {
                    sid: st["Sid"].as_str().unwrap_or_default().to_owned(),
                    actions,
                    resources,
                });
            }
        }
        out.insert(binary, statements);
    }
    out
}

/// Every flow of the service, once: what each function can be asked to do.
async fn every_flow(t: &TestStack) {
    // auth: email sign-up and sign-in, a wrong code, Google, sign-out (one, all).
    let email = unique_email("flows");
    let (token, account) = t.sign_in_email(&email).await;
    assert_eq!(t.start_email(&email).await.status, 202);
    t.verify(&email, "000000", None).await;
    let google = t.google_token(&email, json!({ "sub": "g-flows" })).await;
    assert_eq!(t.google_sign_in(&google, true).await.status, 200);
    let (other, _) = t.sign_in_email(&email).await;
    t.post("/v1/auth/signout", json!({}), Some(&other)).await;
    let (extra, _) = t.sign_in_email(&email).await;
    t.send(
        t.http
            .post(t.url("/v1/auth/signout?all=true"))
            .bearer_auth(&extra),
    )
    .await;
    let (token2, _) = t.sign_in_email(&email).await;
    let _ = token;
    let token = token2;
    // account
    t.get("/v1/me", Some(&token)).await;
    t.delete("/v1/me/identities/google", Some(&token)).await;
    t.patch("/v1/me", json!({ "display_name": "Flow" }), Some(&token))
        .await;
    let new = unique_email("flows-new");
    t.patch("/v1/me", json!({ "email": new }), Some(&token))
        .await;
    let code = t.latest_code(&new).await;
    assert_eq!(
        t.post("/v1/me/email/verify", json!({ "code": code }), Some(&token))
            .await
            .status,
        200
    );
    let email = new;
    t.put(
        "/v1/me/consents",
        json!({ "analytics": true, "marketing": true }),
        Some(&token),
    )
    .await;
    let mail = t.wait_emails(&email, "subscribed", 1).await.remove(0);
    let link = mail["headers"]["List-Unsubscribe"]
        .as_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    t.get(link.strip_prefix(&t.stack.base_url).unwrap(), None)
        .await;
    t.put(
        "/v1/me/restriction",
        json!({ "restricted": true }),
        Some(&token),
    )
    .await;
    t.put(
        "/v1/me/restriction",
        json!({ "restricted": false }),
        Some(&token),
    )
    .await;
    t.post(
        "/v1/support",
        json!({ "subject": "Hi", "message": "hello" }),
        Some(&token),
    )
    .await;
    // billing: a pack, a plan renewed and canceled, a refund.
    t.get("/v1/billing/products", None).await;
    let pack = t.buy(&token, "pack_10").await;
    let plan = t.buy(&token, "plan_monthly").await;
    let sub = plan["subscription_id"].as_str().unwrap().to_owned();
    t.post(
        &format!("/_local/creem/subscriptions/{sub}/renew"),
        json!({}),
        None,
    )
    .await;
    t.post(
        &format!("/_local/creem/subscriptions/{sub}/cancel"),
        json!({}),
        None,
    )
    .await;
    t.post(
        "/_local/creem/refund",
        json!({ "order_id": pack["order_id"] }),
        None,
    )
    .await;
    // A refund that comes before its payment waits for it, and is taken with it.
    let early = format!("ord_early_{}", uuid::Uuid::new_v4().simple());
    let refund = crate::money::refund(&early, &format!("ref_{early}"), 900);
    assert_eq!(t.post_creem_event(&refund).await, 200);
    let paid = crate::money::pack_checkout(&account, &early);
    assert_eq!(t.post_creem_event(&paid).await, 200);
    t.get("/v1/billing", Some(&token)).await;
    // videos: an upload, an image video and a text one, replayed, listed, read, deleted.
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let image = t
        .submit_video(
            &token,
            json!({ "prompt": "a kite", "upload_id": upload, "seconds": 4 }),
            Some("flow-1"),
        )
        .await;
    t.submit_video(
        &token,
        json!({ "prompt": "a kite", "upload_id": upload, "seconds": 4 }),
        Some("flow-1"),
    )
    .await;
    let text = t
        .submit_video(&token, json!({ "prompt": "a boat", "seconds": 4 }), None)
        .await;
    for v in [&image, &text] {
        t.wait_status(&token, v.body["id"].as_str().unwrap(), "ready", 30)
            .await;
    }
    t.get("/v1/videos", Some(&token)).await;
    t.delete(
        &format!("/v1/videos/{}", text.body["id"].as_str().unwrap()),
        Some(&token),
    )
    .await;
    t.delete(
        &format!("/v1/videos/{}", image.body["id"].as_str().unwrap()),
        Some(&token),
    )
    .await;
    // a video the provider fails: refunded.
    let failed = t
        .submit_video(
            &token,
            json!({ "prompt": "it will emulator-fail", "seconds": 4 }),
            None,
        )
        .await;
    t.wait_status(&token, failed.body["id"].as_str().unwrap(), "failed", 30)
        .await;
    // a file that cannot be stamped: failed, refunded.
    let unstampable = t
        .submit_video(
            &token,
            json!({ "prompt": "broken emulator-not-mp4", "seconds": 4 }),
            None,
        )
        .await;
    t.wait_status(
        &token,
        unstampable.body["id"].as_str().unwrap(),
        "failed",
        30,
    )
    .await;
    // a provider busy at first: `generate` asks again later (its own delayed message).
    let busy = t
        .submit_video(
            &token,
            json!({ "prompt": "busy at first emulator-429", "seconds": 4 }),
            None,
        )
        .await;
    t.wait_status(&token, busy.body["id"].as_str().unwrap(), "ready", 30)
        .await;
    // fal down: the job fails over to Replicate, and fal's shared health is written.
    t.post(
        "/_local/providers/fal/outage",
        json!({ "mode": "down" }),
        None,
    )
    .await;
    let moved = t
        .submit_video(
            &token,
            json!({ "prompt": "made elsewhere", "seconds": 4 }),
            None,
        )
        .await;
    t.wait_status(&token, moved.body["id"].as_str().unwrap(), "ready", 30)
        .await;
    t.post(
        "/_local/providers/fal/outage",
        json!({ "mode": "up" }),
        None,
    )
    .await;
    // one kept, to expire.
    let kept = t
        .submit_video(
            &token,
            json!({ "prompt": "a field of poppies", "seconds": 4 }),
            None,
        )
        .await;
    t.wait_status(&token, kept.body["id"].as_str().unwrap(), "ready", 30)
        .await;
    // rights: a wrong code, then an export, read with its link.
    t.post("/v1/me/verification", json!({}), Some(&token)).await;
    let code = t.latest_code(&email).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    t.post("/v1/me/export", json!({ "code": wrong }), Some(&token))
        .await;
    let export = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    let id = export.body["id"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        let r = t.get(&format!("/v1/me/requests/{id}"), Some(&token)).await;
        if r.body["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    t.get("/v1/me/requests", Some(&token)).await;
    // enforcement: three refused prompts suspend another account.
    let (bad, _) = t.sign_in_email(&unique_email("flows-bad")).await;
    for i in 0..3 {
        t.submit_video(
            &bad,
            json!({ "prompt": format!("bad {i} moderation-deny") }),
            None,
        )
        .await;
    }
    // a job that hangs: the sweep ends it; and the purge, days later.
    t.submit_video(
        &token,
        json!({ "prompt": "never ends emulator-hang", "seconds": 4 }),
        None,
    )
    .await;
    // another account, with data, erased.
    let gone = unique_email("flows-gone");
    let (gone_token, gone_id) = t.sign_in_email(&gone).await;
    let upload = t.upload(&gone_token, "image/png", png_bytes()).await;
    let v = t
        .submit_video(
            &gone_token,
            json!({ "prompt": "a red door", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    t.wait_status(&gone_token, v.body["id"].as_str().unwrap(), "ready", 30)
        .await;
    t.buy(&gone_token, "pack_10").await;
    t.post("/v1/me/verification", json!({}), Some(&gone_token))
        .await;
    let code = t.latest_code(&gone).await;
    let erasure = t
        .delete_json("/v1/me", json!({ "code": code }), Some(&gone_token))
        .await;
    assert_eq!(erasure.status, 202, "{}", erasure.body);
    for _ in 0..150 {
        if t.stack
            .functions
            .account
            .accounts
            .get(&gone_id)
            .await
            .unwrap()
            .is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // an hour later the sweep ends the hanging job; eight days later the purge runs.
    t.clock.advance(Duration::from_secs(3600));
    t.post("/_local/sweep", json!({}), None).await;
    t.clock.advance(Duration::from_secs(8 * 86400));
    t.post("/_local/purge", json!({}), None).await;
}

/// Actions a statement grants for a path the flows above do not take, and why.
const NOT_EXERCISED: &[(&str, &str, &str)] = &[
    // Only when the generate queue refuses a message (proven with a failing queue in
    // `videos_webhook::r13_a_call_whose_look_could_not_be_queued_is_taken_on_the_providers_retry`).
    (
        "provider-webhook",
        "dynamodb:DeleteItem",
        "forgets a call whose look could not be queued",
    ),
    // Without ListBucket, S3 answers a HEAD of a missing key with 403 instead of 404:
    // it is what lets these functions tell "not there" from "not allowed".
    (
        "generate",
        "s3:ListBucket",
        "HEAD of a missing output answers 404",
    ),
    (
        "videos",
        "s3:ListBucket",
        "HEAD of a missing upload answers 404",
    ),
    (
        "stamp",
        "s3:ListBucket",
        "HEAD of a missing output answers 404",
    ),
    // A 50 MB output goes up in parts; one that fails half way is aborted (the same
    // upload as generate's, streamed from its scratch file).
    (
        "stamp",
        "s3:AbortMultipartUpload",
        "videos_costs::generate_streams_a_50_mb_output_without_holding_it_in_memory",
    ),
    // A multipart upload that breaks half way is aborted: generate_step's tests.
    (
        "generate",
        "s3:AbortMultipartUpload",
        "generate_step::r13_a_download_that_breaks_half_way",
    ),
    // An output that lands after its job ended is deleted: videos_delivery's tests.
    (
        "deliver",
        "s3:DeleteObject",
        "an output landing after its job ended",
    ),
    // A job whose message was lost is queued again: sweep's tests.
    (
        "sweep",
        "sqs:SendMessage",
        "sweep::r13_a_job_whose_message_was_never_sent_is_requeued_and_made",
    ),
    // A rights request whose message was lost is handed over again: privacy_rights' tests.
    (
        "purge-expired",
        "sqs:SendMessage",
        "privacy_rights::r30_r32_the_purge_requeues_a_lost_request",
    ),
    // A limit that is full is read, and rewritten without what left the window:
    // limits::r02_r39_five_codes_an_hour_hold_across_the_clock_hour (the same code).
    (
        "videos",
        "dynamodb:GetItem",
        "a full generation limit: limits' tests",
    ),
    (
        "videos",
        "dynamodb:PutItem",
        "a full generation limit: limits' tests",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn r35_each_functions_policy_allows_exactly_the_calls_its_code_makes() {
    let t = TestStack::start_opts(|o| {
        o.fal_duration = Duration::from_millis(300);
        // Every message twice: the paths that meet a copy run too.
        o.duplicate_deliveries = true;
    })
    .await;
    every_flow(&t).await;
    let calls = t.stack.calls.snapshot();
    let policies = policies(&t);
    let mut problems = Vec::new();
    for (function, statements) in &policies {
        let made: BTreeSet<_> = calls.get(function).cloned().unwrap_or_default();
        for (action, resource) in &made {
            let allowed = statements.iter().any(|s| {
                s.actions.iter().any(|a| a == action)
                    && s.resources.iter().any(|p| matches(p, resource))
            });
            if !allowed {
                problems.push(format!(
                    "{function}: calls {action} on {resource}, not allowed"
                ));
            }
        }
        for s in statements {
            for action in &s.actions {
                let used = made
                    .iter()
                    .any(|(a, r)| a == action && s.resources.iter().any(|p| matches(p, r)));
                let excused = NOT_EXERCISED
                    .iter()
                    .any(|(f, a, _)| f == function && a == action);
                if !used && !excused {
                    problems.push(format!(
                        "{function}: statement {} grants {action}, never called",
                        s.sid
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
