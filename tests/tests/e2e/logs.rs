//! Logs: R37. Run the sign-in flows, then search every log line for personal data.

use e2e_tests::{TestStack, captured_logs, unique_email};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn r37_no_log_line_carries_an_email_code_token_or_ip() {
    let t = TestStack::start().await;
    let email = unique_email("logs");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    t.verify(&email, wrong, Some(true)).await;
    t.verify(&email, &code, None).await;
    let r = t.verify(&email, &code, Some(true)).await;
    let token = r.body["token"].as_str().unwrap().to_owned();
    t.get("/v1/me", Some(&token)).await;
    t.post("/v1/auth/signout", json!({}), Some(&token)).await;

    let g_email = unique_email("logs-g");
    let id_token = t
        .google_token(&g_email, json!({ "name": "Private Name" }))
        .await;
    let g = t.google_sign_in(&id_token, true).await;
    let g_token = g.body["token"].as_str().unwrap().to_owned();
    let bad = t.google_token(&g_email, json!({ "aud": "x" })).await;
    t.google_sign_in(&bad, true).await;
    for _ in 0..6 {
        t.start_email(&email).await; // reaches the rate limit
    }
    // Videos: prompts are content, never logged.
    let prompt = "a purple elephant juggling teacups";
    let v = t
        .submit_video(&g_token, json!({ "prompt": prompt, "seconds": 4 }), None)
        .await;
    t.wait_status(&g_token, v.body["id"].as_str().unwrap(), "ready", 30)
        .await;
    t.wait_emails(&g_email, "ready", 1).await;
    let denied = "an orange giraffe moderation-deny";
    t.submit_video(&g_token, json!({ "prompt": denied, "seconds": 4 }), None)
        .await;
    let pii = "a card 4111 1111 1111 1111 in a fountain";
    t.submit_video(&g_token, json!({ "prompt": pii, "seconds": 4 }), None)
        .await;

    let logs = captured_logs();
    assert!(logs.contains("sign_in"), "the flows were logged at all");
    assert!(logs.contains("video_ready") && logs.contains("prompt_refused"));
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "JSON lines"
    );
    for secret in [
        email.as_str(),
        g_email.as_str(),
        "@example.com",
        &code,
        wrong,
        &token,
        &g_token,
        &id_token,
        "Private Name",
        "127.0.0.1",
        "purple elephant",
        "orange giraffe",
        "4111 1111",
        "fountain",
    ] {
        assert!(!logs.contains(secret), "a log line contains {secret:?}");
    }
    // Ids are what the logs carry instead.
    assert!(logs.contains(g.body["user"]["id"].as_str().unwrap()));
}
