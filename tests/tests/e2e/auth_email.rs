//! Sign-in by email code: R01, R02, R06, R39.

use std::time::Duration;

use e2e_tests::{TestStack, unique_email};
use shared::domain::policy::Policy;

#[tokio::test(flavor = "multi_thread")]
async fn r02_start_answers_alike_for_known_and_unknown_addresses() {
    let t = TestStack::start().await;
    let known = unique_email("known");
    t.sign_in_email(&known).await;
    let unknown = unique_email("unknown");

    let a = t.start_email(&known).await;
    let b = t.start_email(&unknown).await;
    assert_eq!(a.status, 202);
    assert_eq!(a.status, b.status);
    assert_eq!(a.body, b.body);
    assert_eq!(a.body, serde_json::json!({}));
    assert_eq!(a.content_type(), b.content_type());
    // Both receive a code: the address's owner learns nothing else either way.
    assert_eq!(t.emails_to(&unknown).await.len(), 1);
    assert_eq!(t.emails_to(&known).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn r01_r02_sign_up_read_me_sign_out_and_token_refused_after() {
    let t = TestStack::start().await;
    let email = unique_email("flow");
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    let r = t.verify(&email, &code, Some(true)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["new_account"], true);
    assert_eq!(r.body["user"]["email"], email.as_str());
    assert!(r.body["user"]["display_name"].is_null());
    let token = r.body["token"].as_str().unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.timestamp() - t.clock.epoch_secs()) / 86400;
    assert!((29..=30).contains(&days), "R05: 30-day session, got {days}");

    let me = t.get("/v1/me", Some(token)).await;
    assert_eq!(me.status, 200);
    for field in [
        "id",
        "email",
        "display_name",
        "created_at",
        "credits",
        "plan",
        "identities",
        "consents",
        "restricted",
        "policy_version_accepted",
        "policy_version_current",
    ] {
        assert!(me.body.get(field).is_some(), "GET /v1/me lacks {field}");
    }
    assert_eq!(me.body["id"], r.body["user"]["id"]);

    assert_eq!(
        t.post("/v1/auth/signout", serde_json::json!({}), Some(token))
            .await
            .status,
        204
    );
    t.get("/v1/me", Some(token))
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread")]
async fn r01_one_account_per_address_whatever_its_case_and_spaces() {
    let t = TestStack::start().await;
    let email = unique_email("case");
    let (_, id) = t.sign_in_email(&email.to_uppercase()).await;
    let spaced = format!("  {}  ", email.replace("case", "CaSe"));
    assert_eq!(t.start_email(&spaced).await.status, 202);
    let code = t.latest_code(&email).await;
    let r = t.verify(&spaced, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["new_account"], false);
    assert_eq!(r.body["user"]["id"], id.as_str());
    assert_eq!(r.body["user"]["email"], email.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_a_code_signs_in_once() {
    let t = TestStack::start().await;
    let email = unique_email("once");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    assert_eq!(t.verify(&email, &code, Some(true)).await.status, 200);
    t.verify(&email, &code, Some(true))
        .await
        .assert_problem(400, "invalid_code");
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_concurrent_uses_of_one_code_make_one_session_and_one_account() {
    let t = TestStack::start().await;
    let email = unique_email("race");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    let tries = (0..8).map(|_| t.verify(&email, &code, Some(true)));
    let replies = futures_util::future::join_all(tries).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one sign-in per code");
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_problem(400, "invalid_code");
    }
    let profiles = t
        .scan("AccountsTable")
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("account#"))
        .count();
    assert_eq!(profiles, 1, "R01: one account");
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_five_wrong_tries_void_the_code() {
    let t = TestStack::start().await;
    let email = unique_email("wrong");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        t.verify(&email, wrong, Some(true))
            .await
            .assert_problem(400, "invalid_code");
    }
    // The right code no longer works: it is void.
    t.verify(&email, &code, Some(true))
        .await
        .assert_problem(400, "invalid_code");
    // A fresh code does.
    t.start_email(&email).await;
    let fresh = t.latest_code(&email).await;
    assert_eq!(t.verify(&email, &fresh, Some(true)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_four_wrong_tries_leave_the_code_usable() {
    let t = TestStack::start().await;
    let email = unique_email("four");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        t.verify(&email, wrong, Some(true))
            .await
            .assert_problem(400, "invalid_code");
    }
    assert_eq!(t.verify(&email, &code, Some(true)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_an_expired_code_is_refused() {
    let t = TestStack::start().await;
    let email = unique_email("expired");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    t.clock.advance(Duration::from_secs(10 * 60 + 1));
    t.verify(&email, &code, Some(true))
        .await
        .assert_problem(400, "invalid_code");
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_a_code_is_valid_for_ten_minutes() {
    let t = TestStack::start().await;
    let email = unique_email("nine");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    t.clock.advance(Duration::from_secs(9 * 60 + 30));
    assert_eq!(t.verify(&email, &code, Some(true)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_codes_and_addresses_are_stored_only_as_hashes() {
    let t = TestStack::start().await;
    let email = unique_email("hashed");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    let stored = t.table_text("SessionsTable").await;
    assert!(stored.contains("code#"), "the code item exists");
    assert!(!stored.contains(&code), "R02: code in clear");
    assert!(!stored.contains(&email), "address in clear beside the code");
    let limits = t.table_text("RateLimitsTable").await;
    assert!(!limits.contains(&email) && !limits.contains("127.0.0.1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn r06_no_account_without_the_over_13_statement_and_the_code_stays_usable() {
    let t = TestStack::start().await;
    let email = unique_email("child");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    let before = t.table_text("SessionsTable").await;

    t.verify(&email, &code, None)
        .await
        .assert_problem(422, "age_confirmation_required");
    t.verify(&email, &code, Some(false))
        .await
        .assert_problem(422, "age_confirmation_required");

    // Nothing about the attempt is kept: no account, no session, the code untouched.
    assert!(t.scan("AccountsTable").await.is_empty());
    assert_eq!(t.table_text("SessionsTable").await, before);

    let r = t.verify(&email, &code, Some(true)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["new_account"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_r39_five_codes_an_hour_per_address() {
    let t = TestStack::start().await;
    let email = unique_email("limit");
    for _ in 0..5 {
        assert_eq!(t.start_email(&email).await.status, 202);
    }
    let r = t.start_email(&email).await;
    r.assert_problem(429, "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry));
    assert_eq!(
        t.emails_to(&email).await.len(),
        5,
        "the refused request sent nothing"
    );
    // The window passes; codes can be sent again.
    t.clock.advance(Duration::from_secs(retry));
    assert_eq!(t.start_email(&email).await.status, 202);
}

#[tokio::test(flavor = "multi_thread")]
async fn r02_r39_twenty_codes_an_hour_per_client_ip() {
    let t = TestStack::start().await;
    for i in 0..20 {
        let r = t.start_email(&unique_email(&format!("ip{i}"))).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let r = t.start_email(&unique_email("ip-over")).await;
    r.assert_problem(429, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
}

/// A new code does not give a guesser five more tries: wrong codes are counted per
/// address across codes, and past the cap even the right code waits (429).
#[tokio::test(flavor = "multi_thread")]
async fn r02_r39_wrong_codes_are_capped_per_address_across_codes() {
    let t = TestStack::start_with(Policy {
        failed_verifications_per_address: shared::domain::policy::Limit::per_hour(6),
        ..Policy::default()
    })
    .await;
    let email = unique_email("guesser");
    let mut wrong_total = 0;
    for _ in 0..2 {
        assert_eq!(t.start_email(&email).await.status, 202);
        let code = t.latest_code(&email).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..3 {
            t.verify(&email, wrong, Some(true))
                .await
                .assert_problem(400, "invalid_code");
            wrong_total += 1;
        }
    }
    assert_eq!(wrong_total, 6);
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    let r = t.verify(&email, &code, Some(true)).await;
    r.assert_problem(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
    // Another address is not affected.
    let other = unique_email("innocent");
    t.sign_in_email(&other).await;
}

/// An address SES refuses is the caller's mistake, not an outage: 422, and no code is
/// stored for it (a code is stored only once its email is sent).
#[tokio::test(flavor = "multi_thread")]
async fn r02_an_address_the_mail_service_refuses_is_422_and_stores_no_code() {
    let t = TestStack::start_opts(|o| {
        o.faults = Some(e2e_tests::local_stack::faults::FaultSettings {
            rate: 0.0,
            seed: 1,
            max_latency: Duration::ZERO,
            ..Default::default()
        });
    })
    .await;
    let before = t.scan("SessionsTable").await.len();
    let r = t.start_email("someone+ses-rejects@example.com").await;
    r.assert_problem(422, "email_undeliverable");
    assert_eq!(
        t.scan("SessionsTable").await.len(),
        before,
        "no code stored"
    );
    // Other addresses are served as usual.
    t.sign_in_email(&unique_email("fine")).await;
}
