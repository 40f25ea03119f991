//! Sign-in with Google: R03, R04, R06.

use e2e_tests::{TestStack, unique_email};
use serde_json::json;
use shared::domain::policy::Policy;

#[tokio::test(flavor = "multi_thread")]
async fn r03_google_sign_up_then_sign_in_to_the_same_account() {
    let t = TestStack::start().await;
    let email = unique_email("g");
    let token = t
        .google_token(&email, json!({ "name": "Grace Hopper" }))
        .await;
    let r = t.google_sign_in(&token, true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["new_account"], true);
    assert_eq!(r.body["user"]["email"], email.as_str());
    assert_eq!(r.body["user"]["display_name"], "Grace Hopper");
    let id = r.body["user"]["id"].clone();

    let again = t
        .google_sign_in(&t.google_token(&email, json!({})).await, false)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["new_account"], false);
    assert_eq!(again.body["user"]["id"], id);

    let me = t.get("/v1/me", again.body["token"].as_str()).await;
    let providers: Vec<_> = me.body["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["provider"].clone())
        .collect();
    assert_eq!(providers, vec![json!("email"), json!("google")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn r03_only_sub_email_and_name_are_kept_from_google() {
    let t = TestStack::start().await;
    let email = unique_email("g-min");
    let token = t.google_token(&email, json!({ "sub": "1234567890" })).await;
    assert_eq!(t.google_sign_in(&token, true).await.status, 200);
    let stored = t.table_text("AccountsTable").await;
    assert!(stored.contains("google#1234567890"));
    for claim in [
        "azp",
        "iat",
        "email_verified",
        "accounts.google.com",
        &token,
    ] {
        assert!(!stored.contains(claim), "stored {claim} from the token");
    }
}

/// Where Google is authoritative for the address (its Workspace domain, `hd`, or a
/// Gmail address), a verified Google sign-in links to the address's account at once.
#[tokio::test(flavor = "multi_thread")]
async fn r03_google_links_an_existing_account_where_it_is_authoritative() {
    let t = TestStack::start().await;
    let email = unique_email("link");
    let (_, id) = t.sign_in_email(&email).await;
    let token = t
        .google_token(&email.to_uppercase(), json!({ "hd": "example.com" }))
        .await;
    let r = t.google_sign_in(&token, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["new_account"], false);
    assert_eq!(r.body["user"]["id"], id.as_str());

    let gmail = unique_email("gmail").replace("@example.com", "@gmail.com");
    let (_, id) = t.sign_in_email(&gmail).await;
    let r = t
        .google_sign_in(&t.google_token(&gmail, json!({})).await, false)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["id"], id.as_str());
}

/// Elsewhere a Google account claiming the address could belong to someone else (the
/// address may have changed hands): nothing is linked until the address is proven by
/// the code emailed to it; then the link is made, and Google signs in from then on.
#[tokio::test(flavor = "multi_thread")]
async fn r03_elsewhere_the_address_is_proven_by_an_emailed_code_before_the_link() {
    let t = TestStack::start().await;
    let email = unique_email("claimed");
    let (_, id) = t.sign_in_email(&email).await;
    let mails_before = t.emails_to(&email).await.len();
    // A Workspace domain that is not the address's own does not count.
    let token = t
        .google_token(&email, json!({ "sub": "claimer-1", "hd": "other.example" }))
        .await;
    t.google_sign_in(&token, false)
        .await
        .assert_problem(409, "email_code_required");
    assert!(
        !t.table_text("AccountsTable")
            .await
            .contains("google#claimer-1")
    );
    assert_eq!(
        t.emails_to(&email).await.len(),
        mails_before + 1,
        "a code was emailed"
    );
    let code = t.latest_code(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let with_code = |code: &str| json!({ "id_token": token, "over_13": false, "code": code });
    t.post("/v1/auth/google", with_code(wrong), None)
        .await
        .assert_problem(400, "invalid_code");
    assert!(
        !t.table_text("AccountsTable")
            .await
            .contains("google#claimer-1")
    );
    let r = t.post("/v1/auth/google", with_code(&code), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["id"], id.as_str());
    assert!(
        t.table_text("AccountsTable")
            .await
            .contains("google#claimer-1")
    );
    // The code worked once; the linked Google account now signs in by itself.
    let again = t.google_sign_in(&token, false).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["user"]["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn r03_an_unverified_google_address_does_not_link() {
    let t = TestStack::start().await;
    let email = unique_email("unverified");
    t.sign_in_email(&email).await;
    let token = t
        .google_token(&email, json!({ "email_verified": false }))
        .await;
    t.google_sign_in(&token, true)
        .await
        .assert_problem(409, "email_not_verified");
    assert!(!t.table_text("AccountsTable").await.contains("google#"));
}

#[tokio::test(flavor = "multi_thread")]
async fn r03_forged_expired_wrong_audience_and_wrong_issuer_tokens_are_refused() {
    let t = TestStack::start().await;
    let email = unique_email("bad");
    let cases = [
        // Signed by a key Google never published, under a published key's kid.
        (
            "forged",
            json!({ "signing_key": "unpublished", "kid": "local-google-1" }),
        ),
        ("expired", json!({ "expires_in": -3600 })),
        (
            "wrong audience",
            json!({ "aud": "someone-else.apps.googleusercontent.com" }),
        ),
        (
            "wrong issuer",
            json!({ "iss": "https://accounts.evil.example" }),
        ),
    ];
    for (what, extra) in cases {
        let token = t.google_token(&email, extra).await;
        let r = t.google_sign_in(&token, true).await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        r.assert_problem(401, "invalid_id_token");
    }
    // A token whose signature was tampered with.
    let good = t.google_token(&email, json!({})).await;
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    t.google_sign_in(&parts.join("."), true)
        .await
        .assert_problem(401, "invalid_id_token");
    // An unsigned token ("alg": "none").
    let none = format!(
        "eyJhbGciOiJub25lIiwia2lkIjoibG9jYWwtZ29vZ2xlLTEifQ.{}.",
        parts[1]
    );
    t.google_sign_in(&none, true)
        .await
        .assert_problem(401, "invalid_id_token");
    t.google_sign_in("not-a-jwt", true)
        .await
        .assert_problem(401, "invalid_id_token");
    assert!(
        t.scan("AccountsTable").await.is_empty(),
        "no refused token made an account"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r03_an_unknown_kid_triggers_one_jwks_refetch_not_one_per_request() {
    let t = TestStack::start().await;
    let email = unique_email("kid");
    // Warm the key cache.
    let ok = t.google_token(&email, json!({})).await;
    assert_eq!(t.google_sign_in(&ok, true).await.status, 200);
    let fetched = t.stack.google.certs_served();
    assert_eq!(fetched, 1);

    let unknown = t
        .google_token(&email, json!({ "signing_key": "unpublished" }))
        .await;
    for _ in 0..5 {
        t.google_sign_in(&unknown, true)
            .await
            .assert_problem(401, "invalid_id_token");
    }
    assert_eq!(
        t.stack.google.certs_served(),
        fetched + 1,
        "one refetch for the unknown kid"
    );
    // Known keys keep working from the cache.
    assert_eq!(t.google_sign_in(&ok, true).await.status, 200);
    assert_eq!(t.stack.google.certs_served(), fetched + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn r03_a_rotated_key_is_picked_up_by_the_refetch() {
    let policy = Policy {
        jwks_min_refetch: std::time::Duration::ZERO,
        ..Policy::default()
    };
    let t = TestStack::start_with(policy).await;
    let email = unique_email("rotate");
    let ok = t.google_token(&email, json!({})).await;
    assert_eq!(t.google_sign_in(&ok, true).await.status, 200);
    let rotated = t
        .google_token(&email, json!({ "signing_key": "unpublished" }))
        .await;
    t.google_sign_in(&rotated, true)
        .await
        .assert_problem(401, "invalid_id_token");
    assert_eq!(
        t.post(
            "/_local/google/keys/local-google-2/publish",
            json!({}),
            None
        )
        .await
        .status,
        200
    );
    let r = t.google_sign_in(&rotated, true).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn r06_google_sign_up_needs_the_over_13_statement() {
    let t = TestStack::start().await;
    let email = unique_email("g-child");
    let token = t.google_token(&email, json!({})).await;
    t.google_sign_in(&token, false)
        .await
        .assert_problem(422, "age_confirmation_required");
    let r = t
        .post("/v1/auth/google", json!({ "id_token": token }), None)
        .await;
    r.assert_problem(422, "age_confirmation_required");
    assert!(t.scan("AccountsTable").await.is_empty());
    assert!(t.scan("SessionsTable").await.is_empty());
    assert_eq!(t.google_sign_in(&token, true).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn r04_disconnecting_google_keeps_email_sign_in() {
    let t = TestStack::start().await;
    let email = unique_email("disc");
    let token = t.google_token(&email, json!({ "sub": "99887766" })).await;
    let r = t.google_sign_in(&token, true).await;
    let session = r.body["token"].as_str().unwrap().to_owned();
    let id = r.body["user"]["id"].clone();

    let d = t.delete("/v1/me/identities/google", Some(&session)).await;
    assert_eq!(d.status, 204, "{}", d.body);
    let me = t.get("/v1/me", Some(&session)).await;
    assert_eq!(me.body["identities"].as_array().unwrap().len(), 1);
    assert!(
        !t.table_text("AccountsTable")
            .await
            .contains("google#99887766")
    );
    t.delete("/v1/me/identities/google", Some(&session))
        .await
        .assert_problem(404, "identity_not_linked");

    let (_, again) = t.sign_in_email(&email).await;
    assert_eq!(json!(again), id);
}

#[tokio::test(flavor = "multi_thread")]
async fn r03_a_second_google_account_for_a_linked_address_is_a_conflict_not_an_outage() {
    let t = TestStack::start().await;
    let email = unique_email("two-googles");
    let first = t
        .google_token(&email, json!({ "sub": "google-sub-first" }))
        .await;
    assert_eq!(t.google_sign_in(&first, true).await.status, 200);
    let second = t
        .google_token(&email, json!({ "sub": "google-sub-second" }))
        .await;
    for _ in 0..2 {
        t.google_sign_in(&second, true)
            .await
            .assert_problem(409, "identity_conflict");
    }
    // The first one still signs in.
    assert_eq!(t.google_sign_in(&first, true).await.status, 200);
}

/// When Google's key endpoint is down, sign-ins that need its keys are refused at once
/// (503 with Retry-After) rather than each waiting behind another fetch; one fetch is
/// tried per back-off period, and sign-in works again once Google is back.
#[tokio::test(flavor = "multi_thread")]
async fn r03_a_google_outage_is_answered_at_once_with_one_fetch_per_backoff() {
    let t = TestStack::start_with(Policy {
        jwks_failure_backoff: std::time::Duration::from_secs(2),
        ..Policy::default()
    })
    .await;
    let email = unique_email("outage");
    let token = t.google_token(&email, json!({})).await;
    t.stack.google.set_down(true);
    let before = t.stack.google.certs_served();
    let tries = (0..10).map(|_| t.google_sign_in(&token, true));
    let replies = futures_util::future::join_all(tries).await;
    for r in &replies {
        r.assert_problem(503, "service_unavailable");
        assert!(r.headers.get("retry-after").is_some());
    }
    assert_eq!(
        t.stack.google.certs_served() - before,
        1,
        "one fetch, not ten"
    );
    t.stack.google.set_down(false);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(t.google_sign_in(&token, true).await.status, 200);
}

/// R03: Google's keys are cached for the `max-age` Google serves them with, and fetched
/// again once it is over (not before, not per sign-in).
#[tokio::test(flavor = "multi_thread")]
async fn r03_the_keys_are_fetched_again_once_their_max_age_is_over() {
    let t = TestStack::start().await;
    t.stack.google.set_max_age(1);
    let email = unique_email("max-age");
    let token = t.google_token(&email, json!({})).await;
    assert_eq!(t.google_sign_in(&token, true).await.status, 200);
    let fetched = t.stack.google.certs_served();
    assert_eq!(t.google_sign_in(&token, false).await.status, 200);
    assert_eq!(
        t.stack.google.certs_served(),
        fetched,
        "cached within max-age"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(t.google_sign_in(&token, false).await.status, 200);
    assert_eq!(
        t.stack.google.certs_served(),
        fetched + 1,
        "fetched again after it"
    );
}

/// R03: a token without a `sub` (the link) is refused.
#[tokio::test(flavor = "multi_thread")]
async fn r03_a_token_without_sub_is_refused() {
    let t = TestStack::start().await;
    let token = t
        .google_token(&unique_email("no-sub"), json!({ "sub": "" }))
        .await;
    t.google_sign_in(&token, true)
        .await
        .assert_problem(401, "invalid_id_token");
}
