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
