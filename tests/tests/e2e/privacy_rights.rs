//! The rights requests (R26, R28, R30, R32): export and erasure, verified by a fresh
//! email code, through the privacy queue to `privacy-requests` exactly as deployed.

use e2e_tests::{TestStack, png_bytes, unique_email};
use serde_json::{Value, json};
use shared::adapters::sqs::PrivacyMessage;
use shared::domain::inventory;
use shared::domain::policy::POLICY_VERSION_CURRENT;

/// A new account, signed in, with a fresh rights code: (email, token, account id, code).
async fn with_rights_code(t: &TestStack, tag: &str) -> (String, String, String, String) {
    let email = unique_email(tag);
    let (token, account) = t.signed_in(&email).await;
    let code = t.rights_code(&token, &email).await;
    (email, token, account, code)
}

/// Waits until a request of a live account has `status`.
async fn wait_request(t: &TestStack, token: &str, id: &str, status: &str) -> Value {
    for _ in 0..150 {
        let r = t.get(&format!("/v1/me/requests/{id}"), Some(token)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] == status {
            return r.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("request {id} never became {status}");
}

/// Waits until an erasure has moved its record away (it completed).
async fn wait_erased(t: &TestStack, account: &str, id: &str) {
    for _ in 0..150 {
        let left = t
            .stack
            .functions
            .privacy_requests
            .privacy
            .request(account, id)
            .await
            .unwrap();
        if left.is_none() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("erasure {id} never completed");
}

/// R26, R28, R30, R31, R32, R23, R09: the whole journey of the issue, over HTTP: data of
/// every kind, an export with a fresh code that holds all of it, then an erasure with a
/// fresh code that ends every session at once and leaves, in every table and bucket of
/// the template, nothing of the person but the pseudonymised payments and ledger.
#[tokio::test(flavor = "multi_thread")]
async fn r26_r28_r32_export_holds_everything_then_erasure_leaves_only_pseudonymised_records() {
    let t = TestStack::start().await;
    let email = unique_email("rights");
    let (token, account) = t.signed_in(&email).await;
    let (other_session, _) = t.signed_in(&email).await;
    let prompt = "a lighthouse keeper paints the storm";
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": prompt, "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    assert_eq!(v.status, 202, "{}", v.body);
    let video = v.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &video, "ready", 30).await;
    let order = t.buy(&token, "pack_10").await["order_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "analytics": true, "marketing": false, "policy_version": POLICY_VERSION_CURRENT }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let support_text = "my invoice shows the wrong company name";
    let r = t
        .post(
            "/v1/support",
            json!({ "subject": "Invoice", "message": support_text }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = t
        .patch(
            "/v1/me",
            json!({ "display_name": "Lighthouse Fan" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The export: a fresh code, then a document with every class of the inventory.
    let code = t.rights_code(&token, &email).await;
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["kind"], "export");
    let export_id = r.body["id"].as_str().unwrap().to_owned();
    // R30: due one calendar month after receipt.
    let time =
        |field: &str| shared::domain::clock::parse_time(r.body[field].as_str().unwrap()).unwrap();
    assert_eq!(
        time("due_by"),
        shared::domain::clock::months_after(time("requested_at"), 1)
    );
    let done = wait_request(&t, &token, &export_id, "completed").await;
    let trail: Vec<&str> = done["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(trail, ["pending", "in_progress", "completed"]);
    let mails = t.wait_emails(&email, "export is ready", 1).await;
    assert!(mails[0]["text"].as_str().unwrap().contains(&export_id));
    let document: Value = t
        .http
        .get(done["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        document["schema_version"],
        shared::domain::privacy::EXPORT_SCHEMA_VERSION
    );
    for (_, name) in inventory::exported() {
        assert!(document["data"].get(name).is_some(), "export lacks {name}");
    }
    let text = document.to_string();
    for expected in [
        &email,
        prompt,
        support_text,
        &order,
        &video,
        &upload,
        "Lighthouse Fan",
    ] {
        assert!(text.contains(expected), "export lacks {expected}");
    }
    for class in [
        "consent_history",
        "usage_data",
        "security_events",
        "sessions",
        "ledger",
        "payments",
    ] {
        assert!(
            !document["data"][class].as_array().unwrap().is_empty(),
            "{class} is empty"
        );
    }

    // The erasure: a fresh code; every session ends in the call itself.
    let code = t.rights_code(&token, &email).await;
    let r = t
        .delete_json("/v1/me", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["kind"], "erasure");
    let erasure_id = r.body["id"].as_str().unwrap().to_owned();
    for session in [&token, &other_session] {
        t.get("/v1/me", Some(session))
            .await
            .assert_problem(401, "unauthorized");
    }
    wait_erased(&t, &account, &erasure_id).await;

    let stored = t.everything_stored().await;
    for trace in [
        &email,
        &account,
        prompt,
        support_text,
        &upload,
        &export_id,
        "Lighthouse Fan",
    ] {
        assert!(
            !stored.contains(trace),
            "{trace} is still stored:\n{stored}"
        );
    }
    // The video's id survives only as the cause of its (pseudonymised) debit, where
    // it leads to nothing: the job, its prompt and its files are gone.
    for section in stored
        .split("== ")
        .filter(|s| !s.starts_with("LedgerTable"))
    {
        assert!(
            !section.contains(&video),
            "{video} is still stored:\n{section}"
        );
    }
    // What the law keeps: the payment and the ledger, under a pseudonym.
    let payment = t
        .stack
        .functions
        .billing
        .billing
        .payment(&order)
        .await
        .unwrap()
        .expect("the payment record is kept (R28)");
    assert!(
        payment
            .account_id
            .starts_with(shared::domain::privacy::PSEUDONYM_PREFIX)
    );
    let ledger = t.table_text("LedgerTable").await;
    assert!(ledger.contains(&payment.account_id));
    // And the erasure's own record, completed, under the same pseudonym.
    let privacy = t.table_text("PrivacyTable").await;
    assert!(privacy.contains(&erasure_id) && privacy.contains("completed"));
    // The address is free again: a new sign-up makes a new account.
    let (_, again) = t.signed_in(&email).await;
    assert_ne!(again, account);
}

/// R26, R28: a request delivered again, or resumed after a failure at any point, does
/// nothing new: the erasure is run under injected AWS faults until it succeeds, then
/// once more, and the end state is the clean one; a repeated export sends no new mail.
#[tokio::test(flavor = "multi_thread")]
async fn r26_r28_repeated_or_resumed_requests_do_nothing_new() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("resume");
    let (token, account) = t.signed_in(&email).await;
    t.buy(&token, "pack_10").await;
    let r = t
        .post(
            "/v1/support",
            json!({ "subject": "Hi", "message": "hello there" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 201);

    // Export, delivered three times.
    let code = t.rights_code(&token, &email).await;
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    let export_id = r.body["id"].as_str().unwrap().to_owned();
    let msg = PrivacyMessage {
        request_id: export_id.clone(),
        account_id: account.clone(),
        recheck: false,
    };
    for _ in 0..3 {
        privacy_requests::carry_out(&t.stack.functions.privacy_requests, &msg)
            .await
            .unwrap();
    }
    wait_request(&t, &token, &export_id, "completed").await;
    assert_eq!(
        t.emails_to(&email)
            .await
            .iter()
            .filter(|m| m["subject"].as_str().unwrap().contains("export is ready"))
            .count(),
        1
    );

    // Erasure, through a proxy that fails a third of the AWS requests.
    let code = t.rights_code(&token, &email).await;
    let r = t
        .delete_json("/v1/me", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let msg = PrivacyMessage {
        request_id: r.body["id"].as_str().unwrap().to_owned(),
        account_id: account.clone(),
        recheck: false,
    };
    let faulty = t.faulty_base(0.3).await;
    let flaky = privacy_requests::PrivacyRequestsState::build(
        &faulty.base,
        &t.stack_env("privacy-requests").await,
    )
    .unwrap();
    let mut failures = 0;
    loop {
        match privacy_requests::carry_out(&flaky, &msg).await {
            Ok(()) => break,
            Err(_) => failures += 1,
        }
        assert!(failures < 200, "the erasure never finished");
    }
    let once = t.everything_stored().await;
    privacy_requests::carry_out(&t.stack.functions.privacy_requests, &msg)
        .await
        .unwrap();
    assert_eq!(
        t.everything_stored().await,
        once,
        "a repeated erasure changed something"
    );
    assert!(!once.contains(&account) && !once.contains(&email));
    assert!(failures > 0, "the faults never interrupted the erasure");
    eprintln!("erasure resumed after {failures} failed attempts");
}

/// R30: export and erasure need a fresh code from POST /v1/me/verification: none, a
/// wrong one, or one already used is refused and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn r30_rights_requests_need_a_fresh_email_code() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("verify");
    let (token, account) = t.signed_in(&email).await;
    t.post("/v1/me/export", json!({ "code": "123456" }), Some(&token))
        .await
        .assert_problem(400, "invalid_code");
    let code = t.rights_code(&token, &email).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    t.delete_json("/v1/me", json!({ "code": wrong }), Some(&token))
        .await
        .assert_problem(400, "invalid_code");
    assert_eq!(
        t.get("/v1/me", Some(&token)).await.status,
        200,
        "a wrong code erases nothing"
    );
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    t.post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await
        .assert_problem(400, "invalid_code");
    let list = t.get("/v1/me/requests", Some(&token)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["status"], "pending");
    // R36: another person's request is not found.
    let (other, _) = t.signed_in(&unique_email("other")).await;
    let id = r.body["id"].as_str().unwrap();
    t.get(&format!("/v1/me/requests/{id}"), Some(&other))
        .await
        .assert_problem(404, "not_found");
    // R22: the request and the wrong code are security events of the account.
    let events = t.privacy_items(&account, "security#").await;
    let names: Vec<String> = events
        .iter()
        .map(|e| e["event"].as_s().unwrap().clone())
        .collect();
    for e in [
        "sign_in_email_code",
        "confirmation_code_wrong",
        "export_requested",
    ] {
        assert!(names.iter().any(|n| n == e), "{e} not in {names:?}");
    }
}

/// R26: an export's download link is given for 72 hours after it is ready, then no more.
#[tokio::test(flavor = "multi_thread")]
async fn r26_an_export_link_is_given_only_for_72_hours() {
    let t = TestStack::start().await;
    let (_, token, _, code) = with_rights_code(&t, "link").await;
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let done = wait_request(&t, &token, &id, "completed").await;
    assert!(done["download_url"].is_string());
    t.clock.advance(std::time::Duration::from_secs(71 * 3600));
    let r = t.get(&format!("/v1/me/requests/{id}"), Some(&token)).await;
    assert!(r.body["download_url"].is_string(), "still within 72 hours");
    t.clock.advance(std::time::Duration::from_secs(2 * 3600));
    let r = t.get(&format!("/v1/me/requests/{id}"), Some(&token)).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("download_url").is_none(), "{}", r.body);
}

/// R30, R32: a request whose message was lost is handed over again by the hourly purge
/// and carried out; one near its due date is reported.
#[tokio::test(flavor = "multi_thread")]
async fn r30_r32_the_purge_requeues_a_lost_request_and_reports_one_near_its_due_date() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (_, token, _, code) = with_rights_code(&t, "lost").await;
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The message is lost.
    t.stack
        .aws
        .sqs()
        .purge_queue()
        .queue_url(t.table("PrivacyQueue"))
        .send()
        .await
        .unwrap();
    let purge = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(
        purge.body["rights_requests_requeued"], 0,
        "too early: {}",
        purge.body
    );
    t.clock.advance(std::time::Duration::from_secs(16 * 60));
    let purge = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(purge.body["rights_requests_requeued"], 1, "{}", purge.body);
    assert_eq!(purge.body["rights_requests_near_due"], 0);
    // Near its due date (the export is stuck again), it is reported.
    t.clock.advance(std::time::Duration::from_secs(28 * 86400));
    let purge = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(purge.body["rights_requests_near_due"], 1, "{}", purge.body);
    // Handed over, it is carried out once, however many copies were queued.
    while t.pump("privacy-requests").await.received > 0 {}
    let done = wait_request(&t, &token, &id, "completed").await;
    assert_eq!(done["status"], "completed");
    let purge = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(
        purge.body["rights_requests_near_due"], 0,
        "done: no longer open"
    );
}

/// R28, R32: an erasure queues its own second pass (15 minutes later); what an index
/// did not yet show the first pass — usage data of a request in flight as the erasure
/// began, a ledger entry just written — is erased or pseudonymised then.
#[tokio::test(flavor = "multi_thread")]
async fn r28_r32_the_erasures_second_pass_finds_what_was_written_as_it_began() {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (_, token, account, code) = with_rights_code(&t, "straggler").await;
    let r = t
        .delete_json("/v1/me", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let request_id = r.body["id"].as_str().unwrap().to_owned();
    while t.pump("privacy-requests").await.received > 0 {}
    assert!(
        t.stack
            .functions
            .account
            .accounts
            .get(&account)
            .await
            .unwrap()
            .is_none()
    );
    let (_, delayed) = t.queue_counts("PrivacyQueue").await;
    assert_eq!(delayed, 1, "the second pass is queued, delayed");

    // Written as the erasure began, missed by the first pass.
    let ddb = &t.stack.aws.dynamodb();
    ddb.put_item()
        .table_name(t.table("PrivacyTable"))
        .item("pk", V::S(format!("account#{account}")))
        .item("sk", V::S("usage#2026-11-30T00:00:00Z#late".into()))
        .item("ip", V::S("198.51.100.7".into()))
        .send()
        .await
        .unwrap();
    ddb.put_item()
        .table_name(t.table("LedgerTable"))
        .item("pk", V::S("entry#debit:vid_late".into()))
        .item("account_id", V::S(account.clone()))
        .item("created_at", V::S("2026-11-30T00:00:00Z".into()))
        .item("amount", V::N("-1".into()))
        .send()
        .await
        .unwrap();
    let second = PrivacyMessage {
        request_id,
        account_id: account.clone(),
        recheck: true,
    };
    privacy_requests::carry_out(&t.stack.functions.privacy_requests, &second)
        .await
        .unwrap();
    assert!(!t.table_text("PrivacyTable").await.contains("198.51.100.7"));
    let ledger = t.table_text("LedgerTable").await;
    assert!(!ledger.contains(&account) && ledger.contains("vid_late"));
}
