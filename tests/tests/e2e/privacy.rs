//! The person's rights: R04, R07, R22–R32, R34. Export and erasure go through the
//! privacy queue to `privacy-requests`, exactly as deployed.

use e2e_tests::{TestStack, png_bytes, unique_email};
use serde_json::{Value, json};
use shared::adapters::sqs::PrivacyMessage;
use shared::domain::inventory;
use shared::domain::policy::POLICY_VERSION_CURRENT;

/// How long an item is kept: its TTL less the time it was written.
fn kept_for(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> i64 {
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    ttl - shared::domain::clock::epoch_of(item["at"].as_s().unwrap()).unwrap()
}

/// A new account, signed in, with a fresh rights code: (email, token, account id, code).
async fn with_rights_code(t: &TestStack, tag: &str) -> (String, String, String, String) {
    let email = unique_email(tag);
    let (token, account) = t.sign_in_email(&email).await;
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
    let (token, account) = t.sign_in_email(&email).await;
    let (other_session, _) = t.sign_in_email(&email).await;
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
    // R30: due one month after receipt.
    let requested =
        shared::domain::clock::epoch_of(r.body["requested_at"].as_str().unwrap()).unwrap();
    let due = shared::domain::clock::epoch_of(r.body["due_by"].as_str().unwrap()).unwrap();
    assert_eq!(due - requested, 30 * 86400);
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
    let (_, again) = t.sign_in_email(&email).await;
    assert_ne!(again, account);
}

/// R26, R28: a request delivered again, or resumed after a failure at any point, does
/// nothing new: the erasure is run under injected AWS faults until it succeeds, then
/// once more, and the end state is the clean one; a repeated export sends no new mail.
#[tokio::test(flavor = "multi_thread")]
async fn r26_r28_repeated_or_resumed_requests_do_nothing_new() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("resume");
    let (token, account) = t.sign_in_email(&email).await;
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
    let (token, account) = t.sign_in_email(&email).await;
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
    let (other, _) = t.sign_in_email(&unique_email("other")).await;
    let id = r.body["id"].as_str().unwrap();
    t.get(&format!("/v1/me/requests/{id}"), Some(&other))
        .await
        .assert_problem(404, "not_found");
    // R22: the request and the wrong code are security events of the account.
    let events = t
        .stack
        .functions
        .privacy_requests
        .privacy
        .items(&account, "security#")
        .await
        .unwrap();
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

/// R07, R27: the display name is changed directly; a new address only with the code
/// sent to it, and the old address is told.
#[tokio::test(flavor = "multi_thread")]
async fn r07_r27_name_and_email_are_rectified_the_new_address_verified() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let old = unique_email("old");
    let new = unique_email("new");
    let (token, account) = t.sign_in_email(&old).await;
    let r = t
        .patch("/v1/me", json!({ "display_name": "  Ada  " }), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["display_name"], "Ada");
    let r = t
        .patch("/v1/me", json!({ "email": new }), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["email"], old, "unchanged until confirmed");
    assert_eq!(r.body["pending_email"], new);
    let code = t.latest_code(&new).await;
    t.post(
        "/v1/me/email/verify",
        json!({ "code": "999999" }),
        Some(&token),
    )
    .await
    .assert_problem(400, "invalid_code");
    let r = t
        .post("/v1/me/email/verify", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["email"], new);
    let told = t.wait_emails(&old, "address was changed", 1).await;
    assert!(
        !told[0]["text"].as_str().unwrap().contains(&new),
        "the old address sees only a mask"
    );
    // Sign-in follows the address.
    let (_, same) = t.sign_in_email(&new).await;
    assert_eq!(same, account);
    // Another account cannot take an address in use.
    let (other, _) = t.sign_in_email(&old).await;
    t.patch("/v1/me", json!({ "email": new }), Some(&other))
        .await
        .assert_problem(409, "email_taken");
}

/// R27, R05: a stolen session token alone cannot move the account to another address:
/// starting a change needs a sign-in within the last 10 minutes (one that proved the
/// current address). When the change is confirmed, every other session ends at once
/// and the one that made it goes on.
#[tokio::test(flavor = "multi_thread")]
async fn r27_r05_an_email_change_needs_a_recent_sign_in_and_ends_the_other_sessions() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let old = unique_email("moved");
    let new = unique_email("moved-to");
    let (stale, account) = t.sign_in_email(&old).await;
    let recent = shared::domain::policy::Policy::default().email_change_recent_sign_in;
    t.clock.advance(recent + std::time::Duration::from_secs(60));
    // An old session (say, a token copied off a machine) cannot start a change.
    t.patch("/v1/me", json!({ "email": new }), Some(&stale))
        .await
        .assert_problem(403, "recent_sign_in_required");
    assert!(t.emails_to(&new).await.is_empty(), "no code was sent");
    // It can still change what needs no proof.
    let r = t
        .patch(
            "/v1/me",
            json!({ "display_name": "Still me" }),
            Some(&stale),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Signing in again (a code to the current address) proves it.
    let (fresh, same) = t.sign_in_email(&old).await;
    assert_eq!(same, account);
    let (other_device, _) = t.sign_in_email(&old).await;
    let r = t
        .patch("/v1/me", json!({ "email": new }), Some(&fresh))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = t.latest_code(&new).await;
    let r = t
        .post("/v1/me/email/verify", json!({ "code": code }), Some(&fresh))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["email"], new);
    // Every other session ended with the change; this one goes on.
    for token in [&stale, &other_device] {
        t.get("/v1/me", Some(token))
            .await
            .assert_problem(401, "unauthorized");
    }
    assert_eq!(t.get("/v1/me", Some(&fresh)).await.status, 200);
    assert_eq!(t.security_events(&account, "email_changed").await, 1);
}

/// R23, R34: consents with their history and the policy version; accepting the current
/// version is one call and `policy_update_available` turns false; withdrawing is as easy.
#[tokio::test(flavor = "multi_thread")]
async fn r23_r34_consents_are_recorded_with_history_and_policy_version() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.sign_in_email(&unique_email("consent")).await;
    let me = t.get("/v1/me", Some(&token)).await;
    assert_eq!(me.body["consents"]["analytics"], false);
    assert_eq!(me.body["policy_version_accepted"], POLICY_VERSION_CURRENT);
    assert_eq!(me.body["policy_update_available"], false);
    // An account that accepted an older version is told, and accepts in one call.
    t.stack
        .aws
        .dynamodb()
        .update_item()
        .table_name(t.table("AccountsTable"))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("account#{account}")),
        )
        .update_expression("SET policy_version_accepted = :v")
        .expression_attribute_values(
            ":v",
            aws_sdk_dynamodb::types::AttributeValue::S("2024-01-01".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.get("/v1/me", Some(&token)).await.body["policy_update_available"],
        true
    );
    t.put(
        "/v1/me/consents",
        json!({ "policy_version": "2024-01-01" }),
        Some(&token),
    )
    .await
    .assert_problem(422, "unknown_policy_version");
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "analytics": true, "policy_version": POLICY_VERSION_CURRENT }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["analytics"], true);
    assert!(r.body["updated_at"].is_string());
    let me = t.get("/v1/me", Some(&token)).await;
    assert_eq!(me.body["policy_update_available"], false);
    assert_eq!(me.body["consents"]["analytics"], true);
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "analytics": false }),
            Some(&token),
        )
        .await;
    assert_eq!(r.body["analytics"], false);
    let history = t
        .stack
        .functions
        .privacy_requests
        .privacy
        .items(&account, "consent#")
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0]["policy_version"].as_s().unwrap(),
        POLICY_VERSION_CURRENT
    );
    assert!(history.iter().all(|h| h.contains_key("at")));
}

/// R23: analytics cookies, marketing cookies and marketing email are three consents,
/// each with its own history; accepting marketing cookies never subscribes anyone to
/// email, and `marketing` is still taken as the old name of `marketing_email`.
#[tokio::test(flavor = "multi_thread")]
async fn r23_three_separate_consents_and_marketing_cookies_never_mean_email() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("three-consents");
    let (token, account) = t.sign_in_email(&email).await;
    let mails = t.emails_to(&email).await.len();
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "marketing_cookies": true }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            &r.body["analytics"],
            &r.body["marketing_cookies"],
            &r.body["marketing_email"]
        ),
        (&json!(false), &json!(true), &json!(false))
    );
    assert_eq!(
        t.emails_to(&email).await.len(),
        mails,
        "no marketing mail for accepting cookies"
    );
    let me = t.get("/v1/me", Some(&token)).await;
    assert_eq!(me.body["consents"]["marketing_cookies"], true);
    assert_eq!(me.body["consents"]["marketing_email"], false);
    // The old name sets the email consent only.
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "marketing": true }),
            Some(&token),
        )
        .await;
    assert_eq!(
        (&r.body["marketing_cookies"], &r.body["marketing_email"]),
        (&json!(true), &json!(true))
    );
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "marketing_cookies": false }),
            Some(&token),
        )
        .await;
    assert_eq!(
        (&r.body["marketing_cookies"], &r.body["marketing_email"]),
        (&json!(false), &json!(true)),
        "withdrawing cookies leaves email as it was"
    );
    // Each change is in the history with all three choices as they then were.
    let history = t
        .stack
        .functions
        .privacy_requests
        .privacy
        .items(&account, "consent#")
        .await
        .unwrap();
    assert_eq!(history.len(), 3);
    let seen: Vec<(bool, bool, bool)> = history
        .iter()
        .map(|h| {
            (
                *h["analytics"].as_bool().unwrap(),
                *h["marketing_cookies"].as_bool().unwrap(),
                *h["marketing_email"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(seen.contains(&(false, true, false)));
    assert!(seen.contains(&(false, true, true)));
    assert!(seen.contains(&(false, false, true)));
}

/// R24: opting in sends a confirmation that is already a marketing mail, with the
/// signed unsubscribe link and the RFC 8058 headers; the link works without a session,
/// any number of times, by GET or one-click POST; a tampered one fails.
#[tokio::test(flavor = "multi_thread")]
async fn r24_marketing_mail_carries_a_one_click_unsubscribe_that_needs_no_session() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("news");
    let (token, _) = t.sign_in_email(&email).await;
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "marketing": true }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mail = t.wait_emails(&email, "subscribed", 1).await.remove(0);
    let headers = &mail["headers"];
    let link = headers["List-Unsubscribe"].as_str().unwrap();
    assert_eq!(
        headers["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    let url = link
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    assert!(
        mail["text"].as_str().unwrap().contains(&url),
        "the link is in the text too"
    );
    let path = url.strip_prefix(&t.stack.base_url).unwrap().to_owned();
    let last = if path.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &path[..path.len() - 1]);
    t.get(&tampered, None)
        .await
        .assert_problem(400, "invalid_token");
    let r = t
        .send(
            t.http
                .post(t.url(&path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["marketing"], false);
    assert_eq!(
        t.get(&path, None).await.status,
        200,
        "again: the same answer"
    );
    assert_eq!(
        t.get("/v1/me", Some(&token)).await.body["consents"]["marketing_email"],
        false
    );
    // Opting in again sends the confirmation again; without consent nothing is sent.
    let before = t.emails_to(&email).await.len();
    t.put(
        "/v1/me/consents",
        json!({ "analytics": true }),
        Some(&token),
    )
    .await;
    assert_eq!(t.emails_to(&email).await.len(), before);
}

/// R29: restriction is recorded and honoured: usage data is flagged and kept out of
/// analytics, no marketing mail goes out even with consent, and sign-in, the API and
/// downloads keep working.
#[tokio::test(flavor = "multi_thread")]
async fn r29_a_restricted_account_is_left_out_of_analytics_and_marketing() {
    let t = TestStack::start().await;
    let email = unique_email("restrict");
    let (token, account) = t.sign_in_email(&email).await;
    t.put(
        "/v1/me/consents",
        json!({ "analytics": true }),
        Some(&token),
    )
    .await;
    let r = t
        .put(
            "/v1/me/restriction",
            json!({ "restricted": true }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["restricted"], true);
    assert_eq!(t.get("/v1/me", Some(&token)).await.body["restricted"], true);
    let before = t.emails_to(&email).await.len();
    t.put(
        "/v1/me/consents",
        json!({ "marketing": true }),
        Some(&token),
    )
    .await;
    assert_eq!(
        t.emails_to(&email).await.len(),
        before,
        "no marketing while restricted"
    );
    // Still works: sign-in, a video and its download.
    let (token, _) = t.sign_in_email(&email).await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "rain on a tin roof", "seconds": 4 }),
            None,
        )
        .await;
    let video = t
        .wait_status(&token, v.body["id"].as_str().unwrap(), "ready", 30)
        .await;
    let file = t
        .http
        .get(video["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(file.status().is_success());
    let usage = t
        .stack
        .functions
        .privacy_requests
        .privacy
        .items(&account, "usage#")
        .await
        .unwrap();
    let last = usage.last().unwrap();
    assert_eq!(last["restricted"].as_bool().unwrap(), &true);
    assert_eq!(
        last["analytics"].as_bool().unwrap(),
        &false,
        "kept out of analytics"
    );
}

/// R29: lifting a restriction brings back what the stored consents allow, from then
/// on: analytics over new usage rows; nothing is sent for the time restricted.
#[tokio::test(flavor = "multi_thread")]
async fn r29_lifting_a_restriction_brings_back_only_what_was_consented() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("unrestrict");
    let (token, account) = t.sign_in_email(&email).await;
    let restrict = |on: bool| {
        let t = &t;
        let token = token.clone();
        async move {
            let r = t
                .put(
                    "/v1/me/restriction",
                    json!({ "restricted": on }),
                    Some(&token),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    restrict(true).await;
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "analytics": true, "marketing_email": true }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mails = t.emails_to(&email).await.len();
    // The usage rows of reading the profile: (restricted, analytics) of each.
    let reads = || async {
        let usage = t
            .stack
            .functions
            .privacy_requests
            .privacy
            .items(&account, "usage#")
            .await
            .unwrap();
        let mut rows: Vec<(bool, bool)> = usage
            .iter()
            .filter(|u| {
                u["route"].as_s().unwrap() == "/v1/me" && u["method"].as_s().unwrap() == "GET"
            })
            .map(|u| {
                (
                    *u["restricted"].as_bool().unwrap(),
                    *u["analytics"].as_bool().unwrap(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    assert_eq!(reads().await, [(true, false)], "restricted: no analytics");
    restrict(false).await;
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    assert_eq!(
        reads().await,
        [(false, true), (true, false)],
        "consented: analytics again"
    );
    assert_eq!(
        t.emails_to(&email).await.len(),
        mails,
        "nothing sent for the time restricted"
    );
}

/// R22, R25: each signed-in request records usage data (IP, user agent, route, action,
/// time, referrer) kept 30 days; Do Not Track changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn r22_r25_each_request_records_usage_data_for_30_days_dnt_or_not() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.sign_in_email(&unique_email("usage")).await;
    let r = t
        .send(
            t.http
                .get(t.url("/v1/me"))
                .bearer_auth(&token)
                .header("user-agent", "TestBrowser/1.0")
                .header("referer", "https://www.sora2ai.info/settings")
                .header("dnt", "1"),
        )
        .await;
    assert_eq!(r.status, 200);
    let usage = t
        .stack
        .functions
        .privacy_requests
        .privacy
        .items(&account, "usage#")
        .await
        .unwrap();
    let u = usage
        .iter()
        .find(|u| u.get("user_agent").is_some())
        .expect("usage recorded");
    assert_eq!(u["ip"].as_s().unwrap(), "127.0.0.1");
    assert_eq!(u["user_agent"].as_s().unwrap(), "TestBrowser/1.0");
    assert_eq!(
        u["referrer"].as_s().unwrap(),
        "https://www.sora2ai.info/settings"
    );
    assert_eq!(u["route"].as_s().unwrap(), "/v1/me");
    assert_eq!(u["method"].as_s().unwrap(), "GET");
    assert_eq!(kept_for(u), 30 * 86400);
    let events = t
        .stack
        .functions
        .privacy_requests
        .privacy
        .items(&account, "security#")
        .await
        .unwrap();
    let e = &events[0];
    assert_eq!(e["event"].as_s().unwrap(), "sign_in_email_code");
    assert_eq!(kept_for(e), 180 * 86400);
}

/// R31: a support message is forwarded to the support address, replies going to the
/// person, and kept 365 days.
#[tokio::test(flavor = "multi_thread")]
async fn r31_support_messages_are_forwarded_and_kept_a_year() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.sign_in_email(&unique_email("help")).await;
    let r = t
        .post(
            "/v1/support",
            json!({ "subject": "Refund", "message": "please refund order 7" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let mails = t
        .wait_emails(
            e2e_tests::local_stack::stack::LOCAL_SUPPORT_EMAIL,
            "Refund",
            1,
        )
        .await;
    assert!(
        mails[0]["text"]
            .as_str()
            .unwrap()
            .contains("please refund order 7")
    );
    let kept = t
        .stack
        .functions
        .privacy_requests
        .privacy
        .items(&account, "support#")
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["id"].as_s().unwrap(), id);
    assert_eq!(kept_for(&kept[0]), 365 * 86400);
    t.post(
        "/v1/support",
        json!({ "subject": " ", "message": "x" }),
        Some(&token),
    )
    .await
    .assert_problem(422, "invalid_request");
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
