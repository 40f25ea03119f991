//! Credits and refusals: R11, R18, R19, R20, R39.

use e2e_tests::{TestStack, unique_email};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn r11_a_new_account_gets_the_signup_grant_once() {
    let t = TestStack::start().await;
    let email = unique_email("grant");
    let (token, account) = t.signed_in(&email).await;
    assert_eq!(t.get("/v1/me", Some(&token)).await.body["credits"], 3);
    t.signed_in(&email).await;
    let entries = t.ledger(&account).await;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].kind.as_str(), entries[0].amount), ("grant", 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn r11_twenty_concurrent_submissions_with_credits_for_five_accept_exactly_five() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("race")).await;
    t.grant(&account, 2).await; // 3 + 2 = 5 four-second videos
    let submissions = (0..20).map(|i| {
        t.submit_video(
            &token,
            json!({ "prompt": format!("race {i}"), "seconds": 4 }),
            None,
        )
    });
    let replies = futures_util::future::join_all(submissions).await;
    let accepted = replies.iter().filter(|r| r.status == 202).count();
    for r in replies.iter().filter(|r| r.status != 202) {
        r.assert_problem(402, "insufficient_credits");
    }
    assert_eq!(accepted, 5);
    assert_eq!(t.balance(&account).await, 0);
    let debits = t
        .ledger(&account)
        .await
        .iter()
        .filter(|e| e.kind == "debit")
        .count();
    assert_eq!(
        debits, 5,
        "one debit per accepted video, none for the refused"
    );
    let sum: i64 = t.ledger(&account).await.iter().map(|e| e.amount).sum();
    assert_eq!(sum, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn r11_a_retried_post_with_the_same_idempotency_key_is_one_job_charged_once() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("idem")).await;
    let body = json!({ "prompt": "once only", "seconds": 4 });
    let first = t.submit_video(&token, body.clone(), Some("key-1")).await;
    assert_eq!(first.status, 202);
    let again = t.submit_video(&token, body.clone(), Some("key-1")).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body, first.body);
    let concurrent = futures_util::future::join_all(
        (0..5).map(|_| t.submit_video(&token, body.clone(), Some("key-2"))),
    )
    .await;
    let ids: std::collections::BTreeSet<_> = concurrent
        .iter()
        .map(|r| r.body["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one job for one key");
    assert_eq!(
        t.balance(&account).await,
        1,
        "two keys, two videos, two credits"
    );
    // Another person's same key is another job.
    let (other, other_id) = t.signed_in(&unique_email("idem-2")).await;
    let theirs = t.submit_video(&other, body, Some("key-1")).await;
    assert_ne!(theirs.body["id"], first.body["id"]);
    assert_eq!(t.balance(&other_id).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn r11_no_credits_no_video() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("broke")).await;
    // 8 s costs 2; 3 credits buy one.
    assert_eq!(
        t.submit_video(&token, json!({ "prompt": "one", "seconds": 8 }), None)
            .await
            .status,
        202
    );
    t.submit_video(&token, json!({ "prompt": "two", "seconds": 8 }), None)
        .await
        .assert_problem(402, "insufficient_credits");
    assert_eq!(t.balance(&account).await, 1);
    assert_eq!(
        t.stack.creem.screened().len(),
        1,
        "no moderation spent on what cannot be paid"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r19_r20_prompts_with_personal_data_are_refused_with_the_kinds_and_cost_nothing() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("pii")).await;
    let cases = [
        ("my card is 4111 1111 1111 1111 please", vec!["card_number"]),
        ("send it to jane@example.org", vec!["email"]),
        ("call +44 20 7946 0958 tonight", vec!["phone"]),
        ("IBAN GB82 WEST 1234 5698 7654 32", vec!["iban"]),
        (
            "ssn 123-45-6789 and ip 10.1.2.3",
            vec!["national_id", "ip_address"],
        ),
    ];
    for (prompt, kinds) in cases {
        let r = t
            .submit_video(&token, json!({ "prompt": prompt, "seconds": 4 }), None)
            .await;
        r.assert_problem(422, "sensitive_data_in_prompt");
        let mut got: Vec<String> = r.body["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        got.sort();
        let mut want: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{prompt}");
        // The data itself is never echoed.
        let text = r.body.to_string();
        for token in prompt
            .split_whitespace()
            .filter(|w| w.len() > 6 && w.chars().any(|c| c.is_ascii_digit() || c == '@'))
        {
            assert!(!text.contains(token), "echoed {token}");
        }
    }
    assert_eq!(t.balance(&account).await, 3, "refusals cost nothing");
    assert!(
        t.stack.creem.screened().is_empty(),
        "personal data never left the service"
    );
    assert!(t.scan("VideosTable").await.is_empty(), "no job was made");
}

#[tokio::test(flavor = "multi_thread")]
async fn r18_r20_moderation_deny_and_flag_refuse_and_cost_nothing() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("mod")).await;
    for prompt in ["something moderation-deny", "something moderation-flag"] {
        t.submit_video(&token, json!({ "prompt": prompt, "seconds": 4 }), None)
            .await
            .assert_problem(422, "prompt_rejected");
    }
    assert_eq!(t.balance(&account).await, 3);
    assert_eq!(t.stack.creem.screened().len(), 2, "both were moderated");
    assert!(t.stack.fal.requests().is_empty(), "no provider called");
    assert!(t.scan("VideosTable").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn r18_unreachable_moderation_refuses_with_503_and_charges_nothing() {
    let dead = format!(
        "http://127.0.0.1:{}",
        e2e_tests::local_stack::moto::free_port()
    );
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.env_overrides.insert("CREEM_API_URL".into(), dead);
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("mod-down")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a calm lake", "seconds": 4 }),
            None,
        )
        .await;
    r.assert_problem(503, "moderation_unavailable");
    assert_eq!(t.balance(&account).await, 3);
    assert!(t.scan("VideosTable").await.is_empty());
    assert!(t.stack.fal.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn r38_bad_video_requests_are_problems_and_change_nothing() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("bad-vid")).await;
    for body in [
        json!({}),
        json!({ "prompt": "" }),
        json!({ "prompt": "   " }),
        json!({ "prompt": "x".repeat(2001) }),
        json!({ "prompt": "ok", "seconds": "four" }),
        json!({ "prompt": "ok", "aspect_ratio": "4:3" }),
        json!({ "prompt": "ok", "audio": "yes" }),
    ] {
        t.submit_video(&token, body, None)
            .await
            .assert_problem(422, "invalid_request");
    }
    // A length the model does not make (R42).
    t.submit_video(&token, json!({ "prompt": "ok", "seconds": 5 }), None)
        .await
        .assert_problem(422, "model_unsupported");
    let long_key = "k".repeat(300);
    t.submit_video(
        &token,
        json!({ "prompt": "ok", "seconds": 4 }),
        Some(&long_key),
    )
    .await
    .assert_problem(422, "invalid_request");
    t.post(
        "/v1/uploads",
        json!({ "content_type": "image/png" }),
        Some(&token),
    )
    .await
    .assert_problem(422, "invalid_request");
    t.post(
        "/v1/uploads",
        json!({ "content_type": "image/png", "size": -1 }),
        Some(&token),
    )
    .await
    .assert_problem(422, "invalid_request");
    assert_eq!(t.balance(&account).await, 3);
    assert!(t.scan("VideosTable").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn r39_generation_is_rate_limited_per_account() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.videos_per_account = shared::domain::policy::Limit::per_hour(2);
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("rl")).await;
    t.grant(&account, 10).await;
    for i in 0..2 {
        assert_eq!(
            t.submit_video(
                &token,
                json!({ "prompt": format!("v{i}"), "seconds": 4 }),
                None
            )
            .await
            .status,
            202
        );
    }
    let r = t
        .submit_video(&token, json!({ "prompt": "v3", "seconds": 4 }), None)
        .await;
    r.assert_problem(429, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(t.balance(&account).await, 11);
}

#[tokio::test(flavor = "multi_thread")]
async fn r20_r05_three_refused_prompts_in_30_days_suspend_the_account_and_end_its_sessions() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("abuse");
    let (token, account) = t.signed_in(&email).await;
    let refuse = |token: String, prompt: String| {
        let t = &t;
        async move {
            t.submit_video(&token, json!({ "prompt": prompt, "seconds": 4 }), None)
                .await
                .assert_problem(422, "prompt_rejected");
        }
    };
    refuse(token.clone(), "bad 1 moderation-deny".into()).await;
    refuse(token.clone(), "bad 2 moderation-deny".into()).await;
    // Two in the window: still fine.
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    // Old violations leave the window (the old session ends with its 30 days too).
    t.clock.advance(std::time::Duration::from_secs(31 * 86400));
    let (token, _) = t.signed_in(&email).await;
    let (other_session, _) = t.signed_in(&email).await;
    refuse(token.clone(), "bad 3 moderation-flag".into()).await;
    assert_eq!(
        t.get("/v1/me", Some(&token)).await.status,
        200,
        "one violation in the window"
    );
    refuse(token.clone(), "worse 1 moderation-deny".into()).await;
    refuse(token.clone(), "worse 2 moderation-deny".into()).await;
    // Three in 30 days: suspended, every session over, no new one.
    t.get("/v1/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");
    t.get("/v1/me", Some(&other_session))
        .await
        .assert_problem(401, "unauthorized");
    t.start_email(&email).await;
    let code = t.latest_code(&email).await;
    t.verify(&email, &code, Some(true))
        .await
        .assert_problem(403, "account_suspended");
    // The action is in the audit log, by the system, with its reason.
    let audit = t.scan("AuditTable").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["action"].as_s().unwrap(), "suspend");
    assert_eq!(audit[0]["account_id"].as_s().unwrap(), &account);
    assert_eq!(audit[0]["actor"].as_s().unwrap(), "system");
    // Refusals cost nothing, before and after.
    assert_eq!(t.balance(&account).await, 3);
}

/// The same race as DynamoDB runs it: transactions on one balance that overlap are
/// cancelled with `TransactionConflict` (the local endpoint's fault mode does so, with
/// latency to make them overlap). The conflicts are retried: no 503, and exactly as
/// many debits as the credits allow.
#[tokio::test(flavor = "multi_thread")]
async fn r11_twenty_concurrent_submissions_through_transaction_conflicts_debit_exactly_five() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.faults = Some(e2e_tests::local_stack::faults::FaultSettings {
            rate: 0.0,
            seed: 11,
            max_latency: std::time::Duration::from_millis(30),
            ..Default::default()
        });
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("conflict")).await;
    t.grant(&account, 2).await;
    let keys: Vec<String> = (0..20).map(|i| format!("key-{i}")).collect();
    let submissions = keys.iter().enumerate().map(|(i, key)| {
        t.submit_video(
            &token,
            json!({ "prompt": format!("conflict {i}"), "seconds": 4 }),
            Some(key),
        )
    });
    let mut replies = futures_util::future::join_all(submissions).await;
    // A conflict that outlives the retries is a 503 that wrote nothing: the client
    // sends the same request again, with the same key, as it would on AWS.
    for (i, key) in keys.iter().enumerate() {
        for _ in 0..10 {
            if replies[i].status != 503 {
                break;
            }
            replies[i] = t
                .submit_video(
                    &token,
                    json!({ "prompt": format!("conflict {i}"), "seconds": 4 }),
                    Some(key),
                )
                .await;
        }
    }
    for r in replies.iter().filter(|r| r.status != 202) {
        r.assert_problem(402, "insufficient_credits");
    }
    assert_eq!(replies.iter().filter(|r| r.status == 202).count(), 5);
    let (_, _, conflicts) = t.stack.faults.as_ref().unwrap().counts.snapshot();
    assert!(conflicts > 0, "the transactions did overlap");
    let entries = t.ledger(&account).await;
    assert_eq!(entries.iter().filter(|e| e.kind == "debit").count(), 5);
    assert_eq!(t.balance(&account).await, 0);
    assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), 0);
    println!("transaction conflicts injected and retried: {conflicts}");
}

/// A moderation answer this service does not know is not a violation: the prompt is
/// refused for now (503, nothing charged) and never counts toward a suspension.
#[tokio::test(flavor = "multi_thread")]
async fn r18_r20_an_unknown_moderation_decision_is_unavailable_not_a_violation() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("unknown-mod")).await;
    for i in 0..4 {
        let r = t
            .submit_video(
                &token,
                json!({ "prompt": format!("a harbour at dawn {i} moderation-unknown"), "seconds": 4 }),
                None,
            )
            .await;
        r.assert_problem(503, "moderation_unavailable");
        assert!(r.headers.get("retry-after").is_some());
    }
    assert_eq!(t.balance(&account).await, 3, "nothing charged");
    // Not suspended: the session still works and a plain prompt goes through.
    let ok = t
        .submit_video(
            &token,
            json!({ "prompt": "a harbour at dawn", "seconds": 4 }),
            None,
        )
        .await;
    assert_eq!(ok.status, 202, "{}", ok.body);
}
