//! Images screened like prompts, and every refusal explained and open to appeal (R45,
//! R46): Rekognition through the local AWS endpoint (the SDK as on AWS), refusals with
//! their statement of reasons, appeals decided by an operator.

use e2e_tests::screened_png;
use e2e_tests::{TestStack, unique_email};
use serde_json::{Value, json};

/// An upload of a PNG the local Rekognition reads `screening` from.
async fn image(t: &TestStack, token: &str, screening: Option<&str>) -> String {
    t.upload(token, "image/png", screened_png(screening)).await
}

async fn with_image(
    t: &TestStack,
    token: &str,
    upload: &str,
    extra: Value,
    key: Option<&str>,
) -> e2e_tests::Reply {
    let mut body = json!({ "prompt": "the scene comes alive", "seconds": 4, "upload_id": upload });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    t.submit_video(token, body, key).await
}

async fn operator_run(t: &TestStack, args: &[&str]) -> Result<Value, String> {
    let op = t.operator().await;
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let command = operator::parse(&args)?;
    op.run(command).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn r45_r46_a_refused_image_names_its_rule_is_deleted_counted_once_and_costs_nothing() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("img")).await;
    let upload = image(&t, &token, Some("labels=Explicit Nudity,Violence")).await;
    let r = with_image(&t, &token, &upload, json!({}), Some("k-1")).await;
    r.assert_problem(422, "image_rejected");
    assert_eq!(r.body["categories"], json!(["sexual_content", "violence"]));
    let refusal = r.body["refusal_id"].as_str().unwrap().to_owned();
    assert!(refusal.starts_with("ref_"), "{}", r.body);
    assert_eq!(
        r.body["appeal_url"],
        format!("{}/appeals?refusal={refusal}", t.stack.base_url)
    );
    // The rule in our words: none of the detector's labels, scores or model.
    let text = r.body.to_string();
    for internal in [
        "Explicit Nudity",
        "99.0",
        "Confidence",
        "ModerationModelVersion",
    ] {
        assert!(!text.contains(internal), "{internal}: {text}");
    }
    assert_eq!(t.balance(&account).await, 3, "nothing charged");
    assert!(
        t.scan("VideosTable")
            .await
            .iter()
            .all(|i| i["pk"].as_s().unwrap().starts_with("upload#"))
    );
    assert!(
        !t.object_exists("InputsBucket", &upload).await,
        "deleted at once"
    );
    assert!(t.stack.fal.requests().is_empty(), "no provider saw it");

    // Sent again with the same key: the same refusal, neither screened nor counted again.
    let calls = t.stack.calls.snapshot();
    let again = with_image(&t, &token, &upload, json!({}), Some("k-1")).await;
    again.assert_problem(422, "image_rejected");
    assert_eq!(again.body["refusal_id"], refusal.as_str());
    let screened =
        |c: &std::collections::BTreeMap<String, std::collections::BTreeSet<(String, String)>>| {
            c.get("videos").map_or(0, |s| {
                s.iter()
                    .filter(|(a, _)| a.starts_with("rekognition:"))
                    .count()
            })
        };
    assert_eq!(screened(&calls), 2, "both questions asked once");
    let account_item = t
        .scan("AccountsTable")
        .await
        .into_iter()
        .find(|i| i["pk"].as_s().unwrap() == &format!("account#{account}"))
        .unwrap();
    assert_eq!(account_item["violations"].as_l().unwrap().len(), 1);
    // The refusal is kept without the image or the prompt.
    let kept = t.privacy_items(&account, "refusal#").await;
    assert_eq!(kept.len(), 1);
    let item = format!("{:?}", kept[0]);
    assert!(
        !item.contains("comes alive") && !item.contains(&upload),
        "{item}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r45_a_face_needs_the_likeness_statement_and_a_minor_is_refused_whatever_it_says() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("face")).await;
    let adult = image(&t, &token, Some("faces=34")).await;
    // A face without the statement: asked for it; nothing recorded, nothing deleted.
    let r = with_image(&t, &token, &adult, json!({}), Some("a")).await;
    r.assert_problem(422, "likeness_statement_required");
    assert!(r.body.get("refusal_id").is_none());
    assert!(t.object_exists("InputsBucket", &adult).await);
    assert!(t.privacy_items(&account, "refusal#").await.is_empty());
    // With it, the same request (the same key) is made and charged.
    let made = with_image(
        &t,
        &token,
        &adult,
        json!({ "likeness_confirmed": true }),
        Some("a"),
    )
    .await;
    assert_eq!(made.status, 202, "{}", made.body);

    // Someone who looks 16 (a range of 14 to 18): refused, statement or not.
    let child = image(&t, &token, Some("faces=40,16")).await;
    let r = with_image(
        &t,
        &token,
        &child,
        json!({ "likeness_confirmed": true }),
        None,
    )
    .await;
    r.assert_problem(422, "minor_in_image");
    assert_eq!(r.body["categories"], json!(["minor"]));
    assert!(r.body["refusal_id"].as_str().is_some());
    assert!(!t.object_exists("InputsBucket", &child).await);
    // An image Rekognition cannot read (WebP) cannot be screened, so is not used.
    let webp = t
        .upload(
            &token,
            "image/webp",
            b"RIFF\x10\0\0\0WEBPVP8 \x04\0\0\0abcd".to_vec(),
        )
        .await;
    with_image(&t, &token, &webp, json!({}), None)
        .await
        .assert_problem(422, "invalid_upload");
}

#[tokio::test(flavor = "multi_thread")]
async fn r45_r20_the_third_refused_image_suspends_the_account() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("three")).await;
    for n in 0..3 {
        let upload = image(&t, &token, Some("labels=Hate Symbols")).await;
        with_image(&t, &token, &upload, json!({}), None)
            .await
            .assert_problem(422, "image_rejected");
        let me = t.get("/v1/me", Some(&token)).await.status;
        assert_eq!(me, if n < 2 { 200 } else { 401 }, "after refusal {}", n + 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r45_screening_unavailable_refuses_with_503_never_lets_the_image_through() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.faults = Some(e2e_tests::local_stack::faults::FaultSettings {
            rekognition_down: true,
            ..Default::default()
        });
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("down")).await;
    let upload = image(&t, &token, None).await;
    let r = with_image(&t, &token, &upload, json!({}), Some("k")).await;
    r.assert_problem(503, "moderation_unavailable");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(t.balance(&account).await, 3);
    assert!(
        t.object_exists("InputsBucket", &upload).await,
        "kept for a retry"
    );
    // A text video needs no screening: made as ever.
    let text = t
        .submit_video(&token, json!({ "prompt": "a kite", "seconds": 4 }), None)
        .await;
    assert_eq!(text.status, 202, "{}", text.body);
    // Back up: the same request goes through.
    t.stack
        .faults
        .as_ref()
        .unwrap()
        .rekognition_down
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let r = with_image(&t, &token, &upload, json!({}), Some("k")).await;
    assert_eq!(r.status, 202, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn r46_an_upheld_appeal_takes_back_the_violation_lifts_the_suspension_and_is_emailed() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("appeal");
    let (token, account) = t.signed_in(&email).await;
    let mut refusals = Vec::new();
    for prompt in ["one moderation-deny", "two moderation-deny"] {
        let r = t
            .submit_video(&token, json!({ "prompt": prompt, "seconds": 4 }), None)
            .await;
        r.assert_problem(422, "prompt_rejected");
        refusals.push(r.body["refusal_id"].as_str().unwrap().to_owned());
    }
    // Appealed while two count; then a third suspends.
    let filed = t
        .post(
            "/v1/appeals",
            json!({ "refusal_id": refusals[0], "message": "It was a quote from a film." }),
            Some(&token),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    assert_eq!(filed.body["status"], "open");
    let appeal = filed.body["id"].as_str().unwrap().to_owned();
    let due = shared::domain::clock::parse_time(filed.body["due_by"].as_str().unwrap()).unwrap();
    let filed_at =
        shared::domain::clock::parse_time(filed.body["created_at"].as_str().unwrap()).unwrap();
    assert_eq!((due - filed_at).num_days(), 14);
    // Sent again: the same appeal; with other words: already appealed.
    let again = t
        .post(
            "/v1/appeals",
            json!({ "refusal_id": refusals[0], "message": "It was a quote from a film." }),
            Some(&token),
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), again.body["id"].clone()),
        (201, json!(appeal))
    );
    t.post(
        "/v1/appeals",
        json!({ "refusal_id": refusals[0], "message": "other words" }),
        Some(&token),
    )
    .await
    .assert_problem(409, "already_appealed");
    t.submit_video(
        &token,
        json!({ "prompt": "three moderation-deny", "seconds": 4 }),
        None,
    )
    .await
    .assert_problem(422, "prompt_rejected");
    t.get("/v1/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");

    let listed = operator_run(&t, &["appeals"]).await.unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == appeal.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["status"], "open");
    assert_eq!(row["due_soon"], false);
    let decided = operator_run(
        &t,
        &[
            "decide-appeal",
            &appeal,
            "upheld",
            "a film quote, not a threat",
            "--by",
            "olga",
        ],
    )
    .await
    .unwrap();
    assert_eq!(decided["violation_forgiven"], true);
    assert_eq!(decided["suspension_lifted"], true);
    // Two violations remain in the window: active, and signing in works again.
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    let signed = t.verify(&email, &code, Some(true)).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    let token = signed.body["token"].as_str().unwrap().to_owned();
    let mine = t.get("/v1/appeals", Some(&token)).await;
    assert_eq!(mine.body["items"][0]["status"], "upheld");
    assert_eq!(
        mine.body["items"][0]["reason"],
        "a film quote, not a threat"
    );
    let mail = t.wait_emails(&email, "appeal was decided", 1).await;
    let text = mail[0]["text"].as_str().unwrap();
    assert!(
        text.contains("upheld") && text.contains("a film quote"),
        "{text}"
    );
    // Decided once: a second decision finds nothing open, and the audit has one record.
    assert!(
        operator_run(
            &t,
            &["decide-appeal", &appeal, "rejected", "no", "--by", "olga"]
        )
        .await
        .is_err()
    );
    let audit = t.table_text("AuditTable").await;
    assert_eq!(audit.matches("decide_appeal").count(), 1, "{audit}");
    let _ = account;
}

#[tokio::test(flavor = "multi_thread")]
async fn r46_a_removed_video_is_emailed_and_an_upheld_appeal_returns_its_credits_once() {
    let t = TestStack::start().await;
    let email = unique_email("removed");
    let (token, account) = t.signed_in(&email).await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "a kite over a hill", "seconds": 4 }),
            None,
        )
        .await;
    let video = v.body["id"].as_str().unwrap().to_owned();
    let cost = v.body["cost"].as_i64().unwrap();
    t.wait_status(&token, &video, "ready", 30).await;
    let balance = t.balance(&account).await;
    let removed = operator_run(
        &t,
        &[
            "remove-video",
            &video,
            "--rule",
            "likeness_misuse",
            "--by",
            "ann",
            "--reason",
            "reported by the person shown",
        ],
    )
    .await
    .unwrap();
    assert_eq!(removed["owner_told"], true);
    let mail = t.wait_emails(&email, "About your Sora2 AI video", 1).await;
    let text = mail[0]["text"].as_str().unwrap();
    assert!(text.contains("Rule: likeness_misuse"), "{text}");
    assert!(
        text.contains(&format!("{}/appeals?refusal=", t.stack.base_url)),
        "{text}"
    );
    assert!(!text.contains("kite"), "never the prompt: {text}");
    // Run again: removed before, told before.
    let again = operator_run(
        &t,
        &["remove-video", &video, "--by", "ann", "--reason", "again"],
    )
    .await
    .unwrap();
    assert_eq!(again["owner_told"], false);
    assert_eq!(
        t.wait_emails(&email, "About your Sora2 AI video", 2)
            .await
            .len(),
        1
    );

    // Appealed by the video's id; rejected first would keep the credits, upheld returns them.
    let filed = t
        .post(
            "/v1/appeals",
            json!({ "video_id": video, "message": "That is me in the video." }),
            Some(&token),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let appeal = filed.body["id"].as_str().unwrap().to_owned();
    let decided = operator_run(
        &t,
        &[
            "decide-appeal",
            &appeal,
            "upheld",
            "the owner is the person shown",
            "--by",
            "ann",
        ],
    )
    .await
    .unwrap();
    assert_eq!(decided["credits_returned"], cost);
    assert_eq!(
        decided["violation_forgiven"], false,
        "a removal counts no violation"
    );
    assert_eq!(t.balance(&account).await, balance + cost);
    assert_eq!(t.entries_for(&account, "refund", &video).await, 1);
    // Another person cannot appeal it; an unknown one is not found.
    let (other, _) = t.signed_in(&unique_email("other")).await;
    t.post(
        "/v1/appeals",
        json!({ "video_id": video, "message": "x" }),
        Some(&other),
    )
    .await
    .assert_problem(404, "not_found");
    t.post("/v1/appeals", json!({ "message": "x" }), Some(&other))
        .await
        .assert_problem(422, "invalid_request");
}

#[tokio::test(flavor = "multi_thread")]
async fn r46_a_rejected_appeal_is_emailed_and_restores_nothing() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("rejected");
    let (token, account) = t.signed_in(&email).await;
    let upload = image(&t, &token, Some("labels=Drugs & Tobacco")).await;
    let r = with_image(&t, &token, &upload, json!({}), None).await;
    r.assert_problem(422, "image_rejected");
    assert_eq!(r.body["categories"], json!(["drugs"]));
    let filed = t
        .post(
            "/v1/appeals",
            json!({ "refusal_id": r.body["refusal_id"], "message": "They are vitamins." }),
            Some(&token),
        )
        .await;
    let appeal = filed.body["id"].as_str().unwrap().to_owned();
    let decided = operator_run(
        &t,
        &[
            "decide-appeal",
            &appeal,
            "rejected",
            "the image shows drug use",
            "--by",
            "olga",
        ],
    )
    .await
    .unwrap();
    assert_eq!(decided["status"], "rejected");
    assert_eq!(decided["violation_forgiven"], false);
    let mail = t.wait_emails(&email, "appeal was decided", 1).await;
    assert!(mail[0]["text"].as_str().unwrap().contains("not upheld"));
    let item = t
        .scan("AccountsTable")
        .await
        .into_iter()
        .find(|i| i["pk"].as_s().unwrap() == &format!("account#{account}"))
        .unwrap();
    assert_eq!(item["violations"].as_l().unwrap().len(), 1, "still counted");
    // A decision without who decides is refused (R20).
    assert!(
        operator::parse(&["decide-appeal".into(), appeal, "upheld".into(), "x".into()]).is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r46_a_providers_refusal_is_emailed_with_its_appeal_and_refunded() {
    let t = TestStack::start().await;
    let email = unique_email("provider");
    let (token, account) = t.signed_in(&email).await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "a storm emulator-refuse", "seconds": 4 }),
            None,
        )
        .await;
    let video = v.body["id"].as_str().unwrap().to_owned();
    let seen = t.wait_status(&token, &video, "rejected", 30).await;
    assert_eq!(seen["error"]["code"], "provider_refused");
    assert_eq!(seen["error"]["categories"], json!(["content_policy"]));
    assert_eq!(t.balance(&account).await, 3, "refunded");
    let mail = t.wait_emails(&email, "About your Sora2 AI video", 1).await;
    let text = mail[0]["text"].as_str().unwrap();
    assert!(text.contains("Its credits were returned"), "{text}");
    assert!(text.contains("/appeals?refusal=ref_"), "{text}");
    // Appealed by the video's id; upheld, nothing more to return (refunded already).
    let filed = t
        .post(
            "/v1/appeals",
            json!({ "video_id": video, "message": "Only a storm." }),
            Some(&token),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let decided = operator_run(
        &t,
        &[
            "decide-appeal",
            filed.body["id"].as_str().unwrap(),
            "upheld",
            "harmless",
            "--by",
            "olga",
        ],
    )
    .await
    .unwrap();
    assert_eq!(decided["credits_returned"], 0);
    assert_eq!(t.balance(&account).await, 3);
    // The refusal and the appeal are the person's data: exported, and erased with them.
    let refusals = t.privacy_items(&account, "refusal#").await;
    let appeals = t.privacy_items(&account, "appeal#").await;
    assert_eq!((refusals.len(), appeals.len()), (1, 1));
}
