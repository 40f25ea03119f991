//! Bad input: R38. Every refusal is problem+json with a stable code and changes nothing.

use e2e_tests::{Reply, TestStack, unique_email};
use serde_json::json;

async fn stored(t: &TestStack) -> String {
    format!(
        "{}{}",
        t.table_text("AccountsTable").await,
        t.table_text("SessionsTable").await
    )
}

async fn raw(t: &TestStack, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
    let mut req = t.http.post(t.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    t.send(req).await
}

#[tokio::test(flavor = "multi_thread")]
async fn r38_malformed_missing_mistyped_oversized_and_wrong_type_bodies_are_refused() {
    let t = TestStack::start().await;
    let before = stored(&t).await;
    let json_ct = Some("application/json");
    for path in [
        "/v1/auth/email/start",
        "/v1/auth/email/verify",
        "/v1/auth/google",
    ] {
        raw(&t, path, json_ct, b"{\"email\": ".to_vec())
            .await
            .assert_problem(400, "malformed_json");
        raw(&t, path, json_ct, b"not json".to_vec())
            .await
            .assert_problem(400, "malformed_json");
        raw(&t, path, json_ct, b"".to_vec())
            .await
            .assert_problem(400, "malformed_json");
        raw(&t, path, json_ct, b"{}".to_vec())
            .await
            .assert_problem(422, "invalid_request");
        raw(&t, path, json_ct, b"[1,2]".to_vec())
            .await
            .assert_problem(422, "invalid_request");
        raw(&t, path, Some("text/plain"), b"{}".to_vec())
            .await
            .assert_problem(415, "unsupported_media_type");
        raw(&t, path, None, b"{}".to_vec())
            .await
            .assert_problem(415, "unsupported_media_type");
        let big = format!("{{\"email\":\"{}\"}}", "a".repeat(70 * 1024));
        raw(&t, path, json_ct, big.into_bytes())
            .await
            .assert_problem(413, "payload_too_large");
    }
    t.post("/v1/auth/email/start", json!({ "email": 42 }), None)
        .await
        .assert_problem(422, "invalid_request");
    t.post(
        "/v1/auth/email/start",
        json!({ "email": "not-an-address" }),
        None,
    )
    .await
    .assert_problem(422, "invalid_request");
    let email = unique_email("shape");
    t.post(
        "/v1/auth/email/verify",
        json!({ "email": email, "code": "12ab56" }),
        None,
    )
    .await
    .assert_problem(422, "invalid_request");
    t.post(
        "/v1/auth/email/verify",
        json!({ "email": email, "code": "123456", "over_13": "yes" }),
        None,
    )
    .await
    .assert_problem(422, "invalid_request");
    t.post("/v1/auth/google", json!({ "id_token": "" }), None)
        .await
        .assert_problem(422, "invalid_request");
    assert_eq!(stored(&t).await, before, "refused requests changed nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn r38_a_body_at_the_limit_is_read_and_one_byte_over_is_refused() {
    let t = TestStack::start().await;
    let prefix = "{\"email\":\"";
    let suffix = "\"}";
    let fill = 64 * 1024 - prefix.len() - suffix.len();
    let at_limit = format!("{prefix}{}{suffix}", "a".repeat(fill));
    assert_eq!(at_limit.len(), 64 * 1024);
    // Read and judged on its content (not an address), not refused for its size.
    raw(
        &t,
        "/v1/auth/email/start",
        Some("application/json"),
        at_limit.into_bytes(),
    )
    .await
    .assert_problem(422, "invalid_request");
    let over = format!("{prefix}{}{suffix}", "a".repeat(fill + 1));
    raw(
        &t,
        "/v1/auth/email/start",
        Some("application/json"),
        over.into_bytes(),
    )
    .await
    .assert_problem(413, "payload_too_large");
}

#[tokio::test(flavor = "multi_thread")]
async fn r38_unknown_routes_and_wrong_methods_are_problems() {
    let t = TestStack::start().await;
    t.get("/v1/nothing-here", None)
        .await
        .assert_problem(404, "not_found");
    t.get("/v1/auth/email/start", None)
        .await
        .assert_problem(405, "method_not_allowed");
    t.send(t.http.put(t.url("/v1/me")))
        .await
        .assert_problem(405, "method_not_allowed");
    let r = t
        .send(t.http.post(t.url("/v1/auth/signout?all=maybe")))
        .await;
    assert_eq!(r.content_type(), "application/problem+json");
    assert!(r.status.is_client_error());
}
