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

/// One video can be followed through the logs of every function that touched it: each
/// line of `generate` and `deliver` carries the job id and the SQS message id in its
/// spans, each request line its route, and each says whether it paid for a cold start
/// (in the local stack all functions share one process, so only one line can).
#[tokio::test(flavor = "multi_thread")]
async fn r37_one_video_is_followed_through_the_logs_by_its_job_id() {
    let t = TestStack::start().await;
    let (token, _) = t.sign_in_email(&unique_email("trace")).await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "a kite over dunes", "seconds": 4 }),
            None,
        )
        .await;
    let id = v.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;

    let lines: Vec<serde_json::Value> = captured_logs()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let spans = |l: &serde_json::Value| l["spans"].as_array().cloned().unwrap_or_default();
    let of_job: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| spans(l).iter().any(|s| s["job_id"] == id.as_str()))
        .collect();
    for function in ["generate", "deliver"] {
        let mine: Vec<_> = of_job
            .iter()
            .filter(|l| spans(l).iter().any(|s| s["function"] == function))
            .collect();
        assert!(!mine.is_empty(), "no {function} line names the job");
        for l in mine {
            let message = spans(l)
                .into_iter()
                .find(|s| s["name"] == "message")
                .unwrap();
            assert!(
                message["message_id"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{l}"
            );
            assert!(message["cold_start"].is_boolean(), "{l}");
        }
    }
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "video_ready"
                && spans(l).iter().any(|s| s["job_id"] == id.as_str())),
        "the ready line is in the job's span"
    );
    let requests: Vec<_> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert!(requests.iter().any(|l| {
        spans(l)
            .iter()
            .any(|s| s["route"] == "/v1/videos" && s["cold_start"].is_boolean())
    }));
}

/// R35, R37: no log line carries a secret: the providers' keys and tokens, Creem's API
/// key, the webhook secrets, the key of the keyed hashes; through a purchase, a video
/// at fal (with its signed completion call) and one at Replicate.
#[tokio::test(flavor = "multi_thread")]
async fn r35_no_log_line_carries_a_secret() {
    use local_stack::emulators::{creem, creem_checkout, fal, replicate};
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("secrets")).await;
    t.buy(&token, "pack_10").await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a lighthouse at dusk", "seconds": 4 }),
            None,
        )
        .await;
    t.wait_status(&token, r.body["id"].as_str().unwrap(), "ready", 30)
        .await;
    let down = t
        .post(
            "/_local/providers/fal/outage",
            json!({ "mode": "down" }),
            None,
        )
        .await;
    assert_eq!(down.status, 200);
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a lighthouse at dawn", "seconds": 4 }),
            None,
        )
        .await;
    let v = t
        .wait_status(&token, r.body["id"].as_str().unwrap(), "ready", 60)
        .await;
    assert_eq!(v["provider"], "replicate");
    let logs = captured_logs();
    assert!(logs.contains("video_ready") && logs.contains("webhook_received"));
    let replicate_secret = replicate::LOCAL_REPLICATE_WEBHOOK_SECRET;
    let creem_secret = creem_checkout::LOCAL_CREEM_WEBHOOK_SECRET;
    for secret in [
        fal::LOCAL_FAL_KEY,
        replicate::LOCAL_REPLICATE_TOKEN,
        replicate_secret,
        replicate_secret.trim_start_matches("whsec_"),
        creem::LOCAL_CREEM_KEY,
        creem_secret,
        creem_secret.trim_start_matches("whsec_"),
        local_stack::stack::LOCAL_HASH_SECRET,
    ] {
        assert!(!logs.contains(secret), "a log line contains a secret");
    }
}
