//! Sessions: R05.

use std::time::Duration;

use e2e_tests::{TestStack, unique_email};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn r05_tokens_are_opaque_256_bit_and_stored_only_as_hashes() {
    let t = TestStack::start().await;
    let (token, _) = t.sign_in_email(&unique_email("hash")).await;
    let raw = token.strip_prefix("s2s_").expect("prefixed token");
    assert!(raw.len() >= 43, "at least 256 bits in base64url");
    let stored = t.table_text("SessionsTable").await;
    assert!(!stored.contains(raw), "token in clear");
    assert!(stored.contains(&shared::domain::crypto::sha256_hex(&token)));
}

#[tokio::test(flavor = "multi_thread")]
async fn r05_a_session_expires_after_30_days() {
    let t = TestStack::start().await;
    let (token, _) = t.sign_in_email(&unique_email("ttl")).await;
    t.clock.advance(Duration::from_secs(29 * 86400));
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    t.clock.advance(Duration::from_secs(86400 + 1));
    t.get("/v1/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread")]
async fn r05_sign_out_ends_one_session_and_all_ends_every_session() {
    let t = TestStack::start().await;
    let email = unique_email("many");
    let (a, _) = t.sign_in_email(&email).await;
    let (b, _) = t.sign_in_email(&email).await;
    let (c, _) = t.sign_in_email(&email).await;
    let (other, _) = t.sign_in_email(&unique_email("other")).await;

    assert_eq!(
        t.post("/v1/auth/signout", json!({}), Some(&a)).await.status,
        204
    );
    t.get("/v1/me", Some(&a))
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(t.get("/v1/me", Some(&b)).await.status, 200);

    let r = t
        .send(
            t.http
                .post(t.url("/v1/auth/signout?all=true"))
                .bearer_auth(&b),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    t.get("/v1/me", Some(&b))
        .await
        .assert_problem(401, "unauthorized");
    t.get("/v1/me", Some(&c))
        .await
        .assert_problem(401, "unauthorized");
    // Another person's session is untouched.
    assert_eq!(t.get("/v1/me", Some(&other)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn r05_sign_out_needs_a_session() {
    let t = TestStack::start().await;
    t.post("/v1/auth/signout", json!({}), None)
        .await
        .assert_problem(401, "unauthorized");
    t.post("/v1/auth/signout", json!({}), Some("s2s_made-up"))
        .await
        .assert_problem(401, "unauthorized");
    let r = t
        .send(
            t.http
                .get(t.url("/v1/me"))
                .header("authorization", "Basic abc"),
        )
        .await;
    r.assert_problem(401, "unauthorized");
}

/// A session's item as stored, to put back as a stale index or a late write would.
async fn session_item(
    t: &TestStack,
    token: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let pk = format!("session#{}", shared::domain::crypto::sha256_hex(token));
    t.stack
        .aws
        .dynamodb()
        .get_item()
        .table_name(t.table("SessionsTable"))
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the session is stored")
}

async fn put_back(
    t: &TestStack,
    item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) {
    t.stack
        .aws
        .dynamodb()
        .put_item()
        .table_name(t.table("SessionsTable"))
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn r05_sign_out_everywhere_ends_even_a_session_the_index_did_not_list() {
    let t = TestStack::start().await;
    let email = unique_email("epoch");
    let (a, _) = t.sign_in_email(&email).await;
    let (b, _) = t.sign_in_email(&email).await;
    // The index is eventually consistent: play that it missed session A.
    let missed = session_item(&t, &a).await;
    let r = t
        .post("/v1/auth/signout?all=true", json!({}), Some(&b))
        .await;
    assert_eq!(r.status, 204);
    put_back(&t, missed).await;
    t.get("/v1/me", Some(&a))
        .await
        .assert_problem(401, "unauthorized");
    t.get("/v1/me", Some(&b))
        .await
        .assert_problem(401, "unauthorized");
    // A new sign-in works, at the new epoch.
    let (c, _) = t.sign_in_email(&email).await;
    assert_eq!(t.get("/v1/me", Some(&c)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn r05_r20_suspension_ends_every_session_and_refuses_new_ones() {
    let t = TestStack::start().await;
    let email = unique_email("suspend");
    let (token, account) = t.sign_in_email(&email).await;
    let left_behind = session_item(&t, &token).await;
    assert!(
        t.stack
            .functions
            .videos
            .enforcement
            .suspend(
                &shared::domain::ids::AccountId::new(account.as_str()),
                "operator",
                "test"
            )
            .await
            .unwrap()
    );
    put_back(&t, left_behind).await;
    t.get("/v1/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    t.verify(&email, &code, None)
        .await
        .assert_problem(403, "account_suspended");
    // R22: the suspension is a security event of the account, kept for its period.
    assert_eq!(
        t.security_events(&account, "suspended").await,
        1,
        "one suspension event"
    );
    let events = t.privacy_items(&account, "security#").await;
    let suspended: Vec<_> = events
        .iter()
        .filter(|e| e["event"].as_s().is_ok_and(|n| n == "suspended"))
        .collect();
    let ttl: i64 = suspended[0]["ttl"].as_n().unwrap().parse().unwrap();
    let kept = ttl - t.clock.epoch_secs();
    let period = t.stack.base.policy.security_event_retention.as_secs() as i64;
    assert!(
        (period - 60..=period).contains(&kept),
        "kept {kept} s of {period}"
    );
}

/// The race itself: a sign-in that read the account before a sign-out everywhere (or a
/// suspension) and commits after it fails its condition instead of making a session.
#[tokio::test(flavor = "multi_thread")]
async fn r05_a_sign_in_that_raced_sign_out_everywhere_makes_no_session() {
    let t = TestStack::start().await;
    let (_, account_id) = t.sign_in_email(&unique_email("race")).await;
    let auth = &t.stack.functions.auth;
    let read_before = auth.accounts.get(&account_id).await.unwrap().unwrap();
    auth.accounts.end_all_sessions(&account_id).await.unwrap();
    let session = shared::adapters::dynamo::sessions::Session {
        token_hash: "0".repeat(64),
        account_id: account_id.clone(),
        expires_at: t.clock.epoch_secs() + 3600,
        epoch: read_before.session_epoch,
        created_at: t.clock.epoch_secs(),
    };
    let err = t
        .stack
        .aws
        .transactions()
        .begin()
        .add(
            "account_active",
            auth.accounts.still_active_write(&read_before).unwrap(),
        )
        .add(
            "session",
            auth.sessions
                .create_write(&session, "2026-11-29T00:00:00Z")
                .unwrap(),
        )
        .commit()
        .await
        .unwrap_err();
    assert!(err.failed("account_active"), "{err:?}");
    assert!(
        auth.sessions
            .get_live(&session.token_hash, t.clock.epoch_secs())
            .await
            .unwrap()
            .is_none()
    );
}
