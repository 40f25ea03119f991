//! `purge-expired`: a video past its retention is gone (R15) — its output and input
//! deleted and its prompt removed, read through an index of what expired, once.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e_tests::{TestStack, png_bytes, unique_email};
use serde_json::{Value, json};

async fn purge(t: &TestStack) -> Value {
    let r = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_the_purge_deletes_an_expired_videos_files_and_prompt_once() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("expiring")).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a snowman at the beach", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;
    let output = format!("videos/{id}.mp4");
    // Not yet: nothing to do.
    assert_eq!(purge(&t).await["videos_expired"], 0);
    assert!(t.object_exists("OutputsBucket", &output).await);

    t.clock
        .advance(t.stack.base.policy.output_retention + Duration::from_secs(1));
    let round = purge(&t).await;
    assert_eq!(round["videos_expired"], 1, "{round}");
    assert!(!t.object_exists("OutputsBucket", &output).await);
    assert!(!t.object_exists("InputsBucket", &upload).await);
    let job = t.stored_job(&id).await;
    assert_eq!(job.status.as_str(), "expired");
    assert!(job.prompt.is_none(), "the prompt is removed");
    let v = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(v.body["status"], "expired");
    assert!(v.body["prompt"].is_null() && v.body.get("download_url").is_none());
    // Out of the index: the next run does nothing.
    assert_eq!(purge(&t).await["videos_expired"], 0);
}

/// A finished job's input goes at once, not when the bucket's day-rounded lifecycle
/// gets to it, and the provider's copy is deleted — for failed jobs too (R15, R16).
#[tokio::test(flavor = "multi_thread")]
async fn r15_r16_a_failed_jobs_input_and_provider_copy_are_deleted_by_the_next_purge() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("failing")).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "this one will emulator-fail", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "failed", 30).await;
    assert!(
        t.object_exists("InputsBucket", &upload).await,
        "still there before the purge"
    );
    let round = purge(&t).await;
    assert!(round["jobs_cleaned"].as_u64().unwrap() >= 1, "{round}");
    assert_eq!(round["provider_copies_pending"], 0);
    assert!(!t.object_exists("InputsBucket", &upload).await);
    let request = t
        .stack
        .fal
        .requests()
        .into_iter()
        .find(|r| {
            r.input["prompt"]
                .as_str()
                .unwrap_or_default()
                .contains("emulator-fail")
        })
        .unwrap();
    assert!(request.payload_deleted, "the provider's copy is deleted");
    assert_eq!(purge(&t).await["jobs_cleaned"], 0, "done once");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_hourly_event_starts_a_purge() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/schedule/purge-expired.json");
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert!(
        event["resources"][0]
            .as_str()
            .unwrap()
            .contains("PurgeExpiredFunction")
    );
    let done = shared::edge::schedule::run_round(&t.stack.functions.purge_expired)
        .await
        .unwrap();
    assert_eq!(done["videos_expired"], 0);
    assert_eq!(done["rights_requests_requeued"], 0);
}

type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// Which items of a table belong to a data class.
type Which = Box<dyn Fn(&Item) -> bool>;

fn s_of(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// How many items of a table match `class` (a test's view; never a request path).
async fn count(t: &TestStack, table: &str, class: impl Fn(&Item) -> bool) -> usize {
    t.scan(table).await.iter().filter(|i| class(i)).count()
}

/// R02, R05, R14, R15, R20, R22, R31, R33, R39: every class kept by a TTL is there just
/// before its period ends, and gone after it once the purge has run, though the local
/// endpoint (like a late DynamoDB) never runs the TTL — the clock is moved across each
/// period in turn.
#[tokio::test(flavor = "multi_thread")]
async fn r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("periods");
    let (token, _) = t.signed_in(&email).await;
    assert_eq!(t.start_email(&email).await.status, 202); // a code left unused
    let upload = t.upload(&token, "image/png", png_bytes()).await; // never used
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200); // usage data
    let r = t
        .post(
            "/v1/support",
            json!({ "subject": "Hi", "message": "a question" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 201);
    // An audit record, of another account (a suspension ends its sessions).
    let (_, other) = t.signed_in(&unique_email("suspended")).await;
    t.stack
        .functions
        .videos
        .enforcement
        .suspend(
            &shared::domain::ids::AccountId::new(other.as_str()),
            "ops",
            "test",
        )
        .await
        .unwrap();
    let p = t.stack.base.policy.clone();
    let pk_starts = |prefix: &'static str| move |i: &Item| s_of(i, "pk").starts_with(prefix);
    let sk_starts = |prefix: &'static str| move |i: &Item| s_of(i, "sk").starts_with(prefix);
    // (class, period, table, which items)
    let classes: Vec<(&str, Duration, &str, Which)> = vec![
        (
            "sign-in code",
            p.code_ttl,
            "SessionsTable",
            Box::new(pk_starts("code#")),
        ),
        (
            "rate-limit counters",
            p.codes_per_ip.window,
            "RateLimitsTable",
            Box::new(|_: &Item| true),
        ),
        (
            "upload record",
            p.input_retention,
            "VideosTable",
            Box::new(pk_starts("upload#")),
        ),
        (
            "usage data",
            p.usage_retention,
            "PrivacyTable",
            Box::new(sk_starts("usage#")),
        ),
        (
            "session",
            p.session_ttl,
            "SessionsTable",
            Box::new(pk_starts("session#")),
        ),
        (
            "security events",
            p.security_event_retention,
            "PrivacyTable",
            Box::new(sk_starts("security#")),
        ),
        (
            "audit log",
            p.security_event_retention,
            "AuditTable",
            Box::new(|_: &Item| true),
        ),
        (
            "support messages",
            p.support_retention,
            "PrivacyTable",
            Box::new(sk_starts("support#")),
        ),
    ];
    let started = t.clock.epoch_secs();
    let grace = p.ttl_grace.as_secs() as i64;
    // Each class is checked just before its first item expires (present) and once the
    // last is past the TTL's grace (gone), in the order of those times.
    let mut checks = Vec::new();
    for (i, (name, period, table, which)) in classes.iter().enumerate() {
        let items: Vec<Item> = t
            .scan(table)
            .await
            .into_iter()
            .filter(|i| which(i))
            .collect();
        assert!(!items.is_empty(), "{name}: nothing to test");
        let ttls: Vec<i64> = items
            .iter()
            .map(|i| i["ttl"].as_n().unwrap().parse().unwrap())
            .collect();
        let (first, last) = (*ttls.iter().min().unwrap(), *ttls.iter().max().unwrap());
        assert!(
            last <= started + period.as_secs() as i64 + 60,
            "{name}: kept longer than its period"
        );
        checks.push((first - 60, i, Some(items.len())));
        checks.push((last + grace + 120, i, None));
    }
    checks.sort();
    for (at, i, present) in checks {
        let (name, _, table, which) = &classes[i];
        advance_to(&t, at);
        let round = purge(&t).await;
        let left = count(&t, table, which).await;
        match present {
            Some(n) => assert_eq!(left, n, "{name}: gone too early: {round}"),
            None => assert_eq!(left, 0, "{name}: still there: {round}"),
        }
    }
    assert!(
        !t.object_exists("InputsBucket", &upload).await,
        "the unused upload's file"
    );
}

/// Moves the test's clock forward to `epoch` (never back).
fn advance_to(t: &TestStack, epoch: i64) {
    let now = t.clock.epoch_secs();
    if epoch > now {
        t.clock.advance(Duration::from_secs((epoch - now) as u64));
    }
}

/// A real ready video's item and a real session's, to copy.
async fn models(t: &TestStack) -> (Item, Item) {
    let (token, _) = t.signed_in(&unique_email("model")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a paper boat", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.pump_until(&token, &id, "ready", 30).await;
    // Whatever the first purge has to finish with these (the job's input and provider
    // copy) is done first, so the copies are plain ready videos.
    shared::edge::schedule::run_round(&t.stack.functions.purge_expired)
        .await
        .unwrap();
    let items = t.scan("VideosTable").await;
    let job = items
        .iter()
        .find(|i| s_of(i, "pk") == format!("job#{id}"))
        .unwrap()
        .clone();
    assert!(!job.contains_key("cleanup_day"), "{job:?}");
    let session = t
        .scan("SessionsTable")
        .await
        .into_iter()
        .find(|i| s_of(i, "pk").starts_with("session#"))
        .unwrap();
    (job, session)
}

/// Writes `n` copies of a ready video expiring at `expires`, and `n` copies of a
/// session expiring at `ttl`, 25 to a request.
async fn copies(t: &TestStack, models: &(Item, Item), n: usize, expires: i64, ttl: i64) {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    let num = |v: i64| AttributeValue::N(v.to_string());
    let text = |v: String| AttributeValue::S(v);
    let mut jobs = Vec::new();
    let mut sessions = Vec::new();
    for _ in 0..n {
        let id = format!("vid_{}", uuid::Uuid::new_v4().simple());
        let mut job = models.0.clone();
        job.insert("pk".into(), text(format!("job#{id}")));
        job.insert("id".into(), text(id));
        job.insert("expires_epoch".into(), num(expires));
        job.insert(
            "expiry_day".into(),
            text(shared::domain::clock::utc_day(expires)),
        );
        jobs.push(job);
        let mut session = models.1.clone();
        session.insert(
            "pk".into(),
            text(format!("session#{}", uuid::Uuid::new_v4().simple())),
        );
        session.extend(shared::adapters::dynamo::expiry(ttl));
        session.insert("expires_at".into(), num(ttl));
        sessions.push(session);
    }
    for (table, items) in [("VideosTable", jobs), ("SessionsTable", sessions)] {
        for chunk in items.chunks(25) {
            let writes = chunk
                .iter()
                .map(|i| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(i.clone()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            let out = t
                .stack
                .aws
                .dynamodb()
                .batch_write_item()
                .request_items(t.table(table), writes)
                .send()
                .await
                .unwrap();
            assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
        }
    }
}

/// One purge: its answer, the DynamoDB requests it made, what it read (each read's
/// action and table or index) and how long it took.
async fn measured_purge(t: &TestStack) -> (Value, u64, BTreeSet<(String, String)>, Duration) {
    use shared::adapters::aws_calls::CALLER;
    let counter = &t.stack.base.aws.requests.dynamodb;
    let before = counter.get();
    let started = std::time::Instant::now();
    // As the local stack runs a handler: the calls are recorded as the purge's.
    let done = CALLER
        .scope(
            "purge-expired",
            shared::edge::schedule::run_round(&t.stack.functions.purge_expired),
        )
        .await
        .unwrap();
    let took = started.elapsed();
    // Every read the purge has made in this test so far.
    let reads = t
        .stack
        .calls
        .snapshot()
        .remove("purge-expired")
        .unwrap_or_default()
        .into_iter()
        .filter(|(action, _)| ["dynamodb:Query", "dynamodb:Scan"].contains(&action.as_str()))
        .collect::<BTreeSet<_>>();
    (done, counter.get() - before, reads, took)
}

/// The sparse indexes the purge may read: what expired, what is due for cleanup, the
/// open rights requests. Each holds only items with something to do.
const SPARSE_INDEXES: &[&str] = &[
    "expiring_by_day",
    "cleanup_by_day",
    "expired_by_day",
    "open_requests",
];

/// R33: the purge's cost grows with what expired, not with what is stored: 10 expired
/// videos and 10 expired sessions among 10 live ones of each, then among 100, take the
/// same number of DynamoDB requests, and every read is a query of a sparse index of
/// what is due (no scan, no read of a table's own keys), so no number of live items
/// can change it.
#[tokio::test(flavor = "multi_thread")]
async fn r33_the_purges_requests_are_the_same_among_10_or_100_live_items() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let m = models(&t).await;
    let now = t.clock.epoch_secs();
    let grace = t.stack.base.policy.ttl_grace.as_secs() as i64;
    // Expired this morning; live ones expire later today and in ten days.
    let (expired_video, expired_session) = (now - 60, now - grace - 3600);
    copies(&t, &m, 10, expired_video, expired_session).await;
    copies(&t, &m, 5, now + 3600, now + 10 * 86400).await;
    copies(&t, &m, 5, now + 3 * 86400, now + 20 * 86400).await;
    let (small, small_requests, small_reads, small_time) = measured_purge(&t).await;
    assert_eq!(small["videos_expired"], 10, "{small}");
    assert_eq!(small["ttl_late_deleted"]["sessions"], 10, "{small}");

    copies(&t, &m, 10, expired_video, expired_session).await;
    copies(&t, &m, 45, now + 3600, now + 10 * 86400).await;
    copies(&t, &m, 45, now + 3 * 86400, now + 20 * 86400).await;
    let (large, large_requests, large_reads, large_time) = measured_purge(&t).await;
    assert_eq!(large["videos_expired"], 10, "{large}");
    assert_eq!(large["ttl_late_deleted"]["sessions"], 10, "{large}");
    eprintln!(
        "purge among 10 live: {small_requests} DynamoDB requests, {small_time:?}; \
         among 100 live: {large_requests} requests, {large_time:?}; reads: {large_reads:?}"
    );
    assert_eq!(small_requests, large_requests);
    assert!(!large_reads.is_empty(), "the purge's reads were recorded");
    for (action, resource) in small_reads.iter().chain(&large_reads) {
        let index = resource.split("/index/").nth(1).unwrap_or_default();
        assert!(
            action == "dynamodb:Query" && SPARSE_INDEXES.contains(&index),
            "the purge read {action} {resource}"
        );
    }
}

/// R33: two purges at once end in the state one leaves: each expired video tombstoned
/// once, each late item deleted, every live one kept, and nothing left for a third.
#[tokio::test(flavor = "multi_thread")]
async fn r33_two_purges_at_once_end_as_one() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let m = models(&t).await;
    let now = t.clock.epoch_secs();
    let grace = t.stack.base.policy.ttl_grace.as_secs() as i64;
    copies(&t, &m, 10, now - 60, now - grace - 3600).await;
    copies(&t, &m, 10, now + 3600, now + 86400).await;
    let purge = &t.stack.functions.purge_expired;
    let (a, b) = tokio::join!(
        shared::edge::schedule::run_round(purge),
        shared::edge::schedule::run_round(purge)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let tombstoned = a["videos_expired"].as_u64().unwrap() + b["videos_expired"].as_u64().unwrap();
    assert_eq!(tombstoned, 10, "{a} {b}");
    let deleted = a["ttl_late_deleted"]["sessions"].as_u64().unwrap_or(0)
        + b["ttl_late_deleted"]["sessions"].as_u64().unwrap_or(0);
    assert_eq!(deleted, 10, "{a} {b}");
    let jobs = t.scan("VideosTable").await;
    let expired: Vec<&Item> = jobs
        .iter()
        .filter(|j| s_of(j, "status") == "expired")
        .collect();
    assert_eq!(expired.len(), 10);
    assert!(expired.iter().all(|j| !j.contains_key("prompt")));
    assert_eq!(
        jobs.iter().filter(|j| s_of(j, "status") == "ready").count(),
        11
    );
    assert_eq!(
        count(&t, "SessionsTable", |i| s_of(i, "pk")
            .starts_with("session#"))
        .await,
        11
    );
    let third = shared::edge::schedule::run_round(purge).await.unwrap();
    assert_eq!(third["videos_expired"], 0);
    assert_eq!(third["ttl_late_deleted"], json!({}));
}

/// R33: a job whose account is gone (an erasure's index did not show it) is an orphan:
/// the purge removes it whole, with its files, when it expires.
#[tokio::test(flavor = "multi_thread")]
async fn r33_the_purge_removes_a_job_whose_account_is_gone() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("orphan")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a red balloon", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;
    t.stack
        .aws
        .dynamodb()
        .delete_item()
        .table_name(t.table("AccountsTable"))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("account#{account}")),
        )
        .send()
        .await
        .unwrap();
    t.clock
        .advance(t.stack.base.policy.output_retention + Duration::from_secs(1));
    let round = purge(&t).await;
    assert_eq!(round["orphan_jobs_removed"], 1, "{round}");
    assert!(!t.table_text("VideosTable").await.contains(&id));
    assert!(
        !t.object_exists("OutputsBucket", &format!("videos/{id}.mp4"))
            .await
    );
}

/// R15, R26, R33: an upload nobody used is gone 24 h after it was written, and an
/// export 72 h after it was built, by the hourly purge — at most an hour late, not up
/// to a day late as S3's day-rounded lifecycle rules would be. Just before, both are
/// still there.
#[tokio::test(flavor = "multi_thread")]
async fn r15_r26_unused_uploads_go_by_25_hours_and_exports_at_72_hours() {
    let t = TestStack::start().await;
    let email = unique_email("files");
    let (token, _) = t.signed_in(&email).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let code = t.rights_code(&token, &email).await;
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let export = r.body["id"].as_str().unwrap().to_owned();
    t.wait_emails(&email, "export is ready", 1).await;
    let export_key = format!("exports/{export}.json");
    assert!(t.object_exists("ExportsBucket", &export_key).await);
    let p = shared::domain::policy::Policy::default();
    let start = t.clock.epoch_secs();

    // An hour before the upload's day is over: kept.
    advance_to(&t, start + p.input_retention.as_secs() as i64 - 3600);
    purge(&t).await;
    assert!(t.object_exists("InputsBucket", &upload).await);
    // The first run past it (the purge is hourly): gone.
    advance_to(&t, start + p.input_retention.as_secs() as i64 + 3600);
    let round = purge(&t).await;
    assert!(!t.object_exists("InputsBucket", &upload).await, "{round}");
    assert!(round["inputs_past_retention_deleted"].as_u64() >= Some(1));

    advance_to(&t, start + p.export_link_ttl.as_secs() as i64 - 3600);
    purge(&t).await;
    assert!(t.object_exists("ExportsBucket", &export_key).await);
    advance_to(&t, start + p.export_link_ttl.as_secs() as i64 + 3600);
    let round = purge(&t).await;
    assert!(
        !t.object_exists("ExportsBucket", &export_key).await,
        "{round}"
    );
    assert_eq!(round["exports_past_link_deleted"], 1);
}

/// R28, R33: what an erasure keeps for the accounts — the payment and the ledger
/// entries, under the pseudonym — is kept for ten calendar years after the end of the
/// year it was made in (not 3,650 days), then deleted by the purge (DynamoDB's TTL may
/// be days late, and the local endpoint never runs it).
#[tokio::test(flavor = "multi_thread")]
async fn r28_r33_pseudonymised_accounting_records_go_when_their_ten_calendar_years_end() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let t = TestStack::start().await;
    let email = unique_email("ten-years");
    let (token, account) = t.signed_in(&email).await;
    let order = t.buy(&token, "pack_10").await["order_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = t.rights_code(&token, &email).await;
    let r = t
        .delete_json("/v1/me", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    t.wait_account_gone(&account).await;
    let payment_pk = format!("payment#{order}");
    let payment = t
        .scan("BillingTable")
        .await
        .into_iter()
        .find(|i| s_of(i, "pk") == payment_pk)
        .expect("the payment is kept");
    let pseudonym = s_of(&payment, "account_id");
    assert_ne!(pseudonym, account);
    let ttl_of = |i: &Item| -> i64 { i["ttl"].as_n().unwrap().parse().unwrap() };
    // Made this year: kept through the tenth year after it, gone on 1 January after.
    let p = shared::domain::policy::Policy::default();
    let ends = p.accounting_ends(t.clock.epoch_secs());
    let year_now: i32 = shared::domain::clock::utc_day(t.clock.epoch_secs())[..4]
        .parse()
        .unwrap();
    assert_eq!(
        shared::domain::clock::utc_day(ends),
        format!("{}-01-01", year_now + 11)
    );
    assert_eq!(ttl_of(&payment), ends);
    let entries = |items: Vec<Item>| -> Vec<Item> {
        items
            .into_iter()
            .filter(
                |i| matches!(i.get("account_id"), Some(AttributeValue::S(a)) if *a == pseudonym),
            )
            .collect()
    };
    let kept = entries(t.scan("LedgerTable").await);
    assert!(kept.len() >= 2, "the sign-up grant and the purchase");
    assert!(kept.iter().all(|i| ttl_of(i) == ends), "{kept:?}");

    // A day before the end: all kept.
    advance_to(&t, ends - 86400);
    purge(&t).await;
    assert_eq!(entries(t.scan("LedgerTable").await).len(), kept.len());
    assert!(
        t.scan("BillingTable")
            .await
            .iter()
            .any(|i| s_of(i, "pk") == payment_pk)
    );
    // Past the end (and the TTL's grace): gone.
    advance_to(&t, ends + p.ttl_grace.as_secs() as i64 + 3600);
    let round = purge(&t).await;
    assert!(entries(t.scan("LedgerTable").await).is_empty(), "{round}");
    assert!(
        !t.scan("BillingTable")
            .await
            .iter()
            .any(|i| s_of(i, "pk") == payment_pk),
        "{round}"
    );
    assert!(round["ttl_late_deleted"]["pseudonymised ledger entries"].as_u64() >= Some(2));
    assert!(round["ttl_late_deleted"]["pseudonymised payments"].as_u64() >= Some(1));
}

/// R16: a provider's copy the provider refuses to delete is asked for again, with a
/// growing wait, for as long as it takes (not only while it is within the purge's
/// days of lookback); refusals for a week are reported; once the provider deletes it,
/// the job is clean.
#[tokio::test(flavor = "multi_thread")]
async fn r16_a_provider_copy_is_asked_for_until_the_provider_deletes_it() {
    use std::sync::atomic::Ordering;
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("kept-copy")).await;
    t.stack.fal.refuse_deletions.store(true, Ordering::Relaxed);
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a copy fal keeps", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;
    let copy = || {
        t.stack
            .fal
            .requests()
            .into_iter()
            .find(|q| q.input["prompt"] == "a copy fal keeps")
            .unwrap()
    };
    // Ten days of hourly purges (one a day is enough: the wait is a day at most).
    for _ in 0..10 {
        t.clock.advance(Duration::from_secs(86_400));
        let round = purge(&t).await;
        assert_eq!(round["provider_copies_pending"], 1, "{round}");
    }
    assert!(!copy().payload_deleted);
    assert!(
        e2e_tests::captured_logs().contains("provider_copy_overdue"),
        "a week of refusals is reported"
    );
    t.stack.fal.refuse_deletions.store(false, Ordering::Relaxed);
    t.clock.advance(Duration::from_secs(86_400));
    let round = purge(&t).await;
    assert_eq!(round["provider_copies_pending"], 0, "{round}");
    assert!(copy().payload_deleted, "asked until it was deleted");
}
