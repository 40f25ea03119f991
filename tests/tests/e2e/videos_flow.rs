//! A video from prompt to download: R13, R14, R15, R16, R17, R21, R36.

use std::time::Duration;

use e2e_tests::local_stack::emulators::fal::SAMPLE_MP4;
use e2e_tests::{TestStack, png_bytes, unique_email};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn r13_r17_r21_text_and_image_videos_go_from_queued_to_ready_and_download() {
    let t = TestStack::start().await;
    let email = unique_email("flow");
    let (token, account) = t.signed_in(&email).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;

    let image = t
        .submit_video(
            &token,
            json!({ "prompt": "the picture comes alive", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    assert_eq!(image.status, 202, "{}", image.body);
    assert_eq!(image.body["status"], "queued");
    assert_eq!(image.body["cost"], 1);
    let text = t
        .submit_video(&token, json!({ "prompt": "a cat surfing at sunset", "seconds": 6, "aspect_ratio": "9:16", "audio": true }), None)
        .await;
    assert_eq!(text.status, 202, "{}", text.body);
    assert_eq!(text.body["cost"], 2);

    for (reply, mode) in [(&image, "image"), (&text, "text")] {
        let id = reply.body["id"].as_str().unwrap();
        let v = t.wait_status(&token, id, "ready", 30).await;
        assert_eq!(v["mode"], mode);
        assert_eq!(v["ai_generated"], true, "R21");
        // R15: kept 7 days after completion, and the API says until when.
        let done =
            chrono::DateTime::parse_from_rfc3339(v["completed_at"].as_str().unwrap()).unwrap();
        let exp = chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap()).unwrap();
        assert_eq!((exp - done).num_seconds(), 7 * 86400);
        // R17: a short-lived presigned link.
        let url = v["download_url"].as_str().unwrap();
        assert!(url.contains("X-Amz-Expires=900"), "15-minute link: {url}");
        let bytes = t.http.get(url).send().await.unwrap().bytes().await.unwrap();
        // The provider's video, its media byte for byte, with content credentials
        // added around it (R41; read by an independent reader in content_credentials).
        let media = &SAMPLE_MP4[e2e_tests::mp4_box(SAMPLE_MP4, b"mdat")];
        assert!(
            bytes.windows(media.len()).any(|w| w == media),
            "the provider's media data, byte for byte"
        );
        assert!(bytes.len() > SAMPLE_MP4.len());
        assert!(bytes.windows(4).any(|w| w == b"c2pa"), "a C2PA manifest");
        // R21: stored with metadata saying it is AI-generated.
        let head = t.head_output(id).await;
        assert_eq!(head.metadata().unwrap()["ai-generated"], "true");
        assert_eq!(head.content_type(), Some("video/mp4"));
    }
    // R11: the balance matches the ledger: 3 (sign-up) − 1 − 2.
    let me = t.get("/v1/me", Some(&token)).await;
    assert_eq!(me.body["credits"], 0);
    let sum: i64 = t.ledger(&account).await.iter().map(|e| e.amount).sum();
    assert_eq!(sum, 0);
    // One "ready" notice per video (a service notice).
    assert_eq!(t.wait_emails(&email, "ready", 2).await.len(), 2);
    // ...and no more, however long one waits.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let all = t.emails_to(&email).await;
    assert_eq!(
        all.iter()
            .filter(|m| m["subject"].as_str().unwrap().contains("ready"))
            .count(),
        2
    );
    // The listing shows both, newest first.
    let list = t.get("/v1/videos", Some(&token)).await;
    let ids: Vec<_> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].clone())
        .collect();
    assert_eq!(ids, vec![text.body["id"].clone(), image.body["id"].clone()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn r16_the_provider_gets_prompt_settings_and_image_only_and_its_copy_is_deleted() {
    let t = TestStack::start().await;
    let email = unique_email("r16");
    let (token, account) = t.signed_in(&email).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "waves", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap();
    t.wait_status(&token, id, "ready", 30).await;
    // The notice goes out after the provider's copy is dropped.
    assert_eq!(t.wait_emails(&email, "ready", 1).await.len(), 1);

    let requests = t.stack.fal.requests();
    assert_eq!(requests.len(), 1);
    let sent = requests[0].input.to_string();
    for personal in [email.as_str(), account.as_str(), id] {
        assert!(
            !sent.contains(personal),
            "the provider was given {personal}"
        );
    }
    let mut keys: Vec<_> = requests[0]
        .input
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "aspect_ratio",
            "duration",
            "generate_audio",
            "image_url",
            "prompt",
            "resolution"
        ]
    );
    // The provider read the image through its short-lived link (R14)...
    assert_eq!(requests[0].image_ok, Some(true));
    // ...and its copy was deleted once ours was stored.
    assert!(requests[0].payload_deleted);
    // Moderation got the prompt and our job id, not the person.
    let screened = t.stack.creem.screened();
    assert_eq!(screened.len(), 1);
    assert_eq!(screened[0]["external_id"], id);
    assert!(!screened[0].to_string().contains(&email));
}

#[tokio::test(flavor = "multi_thread")]
async fn r14_uploads_are_typed_sized_presigned_and_checked() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("up")).await;
    let r = t
        .post(
            "/v1/uploads",
            json!({ "content_type": "image/gif", "size": 10 }),
            Some(&token),
        )
        .await;
    r.assert_problem(422, "invalid_request");
    let r = t
        .post(
            "/v1/uploads",
            json!({ "content_type": "image/png", "size": 10 * 1024 * 1024 + 1 }),
            Some(&token),
        )
        .await;
    r.assert_problem(422, "invalid_request");
    let r = t
        .post(
            "/v1/uploads",
            json!({ "content_type": "image/png", "size": 0 }),
            Some(&token),
        )
        .await;
    r.assert_problem(422, "invalid_request");

    let r = t
        .post(
            "/v1/uploads",
            json!({ "content_type": "image/jpeg", "size": 1234 }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let url = r.body["upload_url"].as_str().unwrap();
    assert_eq!(r.body["method"], "PUT");
    assert_eq!(r.body["headers"]["content-type"], "image/jpeg");
    // Type and size are part of the signature: S3 refuses any other.
    assert!(
        url.contains("content-length%3Bcontent-type")
            || url.contains("content-length;content-type"),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=900"));
    assert!(url.contains(&t.bucket("InputsBucket")));

    // Never uploaded: refused, nothing charged.
    let never = r.body["id"].as_str().unwrap();
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "x", "upload_id": never, "seconds": 4 }),
            None,
        )
        .await;
    v.assert_problem(422, "invalid_upload");
    // Declared a PNG, sent something else.
    let fake = t
        .upload(
            &token,
            "image/png",
            b"GIF89a-not-really-a-png-at-all".to_vec(),
        )
        .await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "x", "upload_id": fake, "seconds": 4 }),
            None,
        )
        .await;
    v.assert_problem(422, "invalid_upload");
    assert_eq!(t.balance(&account).await, 3);
    assert!(t.stack.fal.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn r36_one_user_never_sees_or_touches_anothers_video_or_upload() {
    let t = TestStack::start().await;
    let (a, _) = t.signed_in(&unique_email("a")).await;
    let (b, b_id) = t.signed_in(&unique_email("b")).await;
    let upload = t.upload(&a, "image/png", png_bytes()).await;
    let r = t
        .submit_video(&a, json!({ "prompt": "mine", "seconds": 4 }), None)
        .await;
    let id = r.body["id"].as_str().unwrap();
    t.wait_status(&a, id, "ready", 30).await;

    t.get(&format!("/v1/videos/{id}"), Some(&b))
        .await
        .assert_problem(404, "not_found");
    t.get("/v1/videos/vid_doesnotexist", Some(&b))
        .await
        .assert_problem(404, "not_found");
    t.delete(&format!("/v1/videos/{id}"), Some(&b))
        .await
        .assert_problem(404, "not_found");
    let list = t.get("/v1/videos", Some(&b)).await;
    assert_eq!(list.body["items"], json!([]));
    // A's upload in B's request is "not found", and costs B nothing.
    let v = t
        .submit_video(
            &b,
            json!({ "prompt": "theirs", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    v.assert_problem(404, "not_found");
    assert_eq!(t.balance(&b_id).await, 3);
    // A's video is untouched.
    assert_eq!(
        t.get(&format!("/v1/videos/{id}"), Some(&a)).await.body["status"],
        "ready"
    );
    // Without a session: 401 everywhere.
    t.get(&format!("/v1/videos/{id}"), None)
        .await
        .assert_problem(401, "unauthorized");
    t.post(
        "/v1/uploads",
        json!({ "content_type": "image/png", "size": 1 }),
        None,
    )
    .await
    .assert_problem(401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_delete_removes_input_and_output_at_once() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("del")).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "to be deleted", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;
    let output = format!("videos/{id}.mp4");
    assert!(t.object_exists("OutputsBucket", &output).await);
    assert!(t.object_exists("InputsBucket", &upload).await);

    assert_eq!(
        t.delete(&format!("/v1/videos/{id}"), Some(&token))
            .await
            .status,
        204
    );
    assert!(!t.object_exists("OutputsBucket", &output).await);
    assert!(!t.object_exists("InputsBucket", &upload).await);
    // A deleted video is gone: 404 to its owner, and out of the list.
    t.get(&format!("/v1/videos/{id}"), Some(&token))
        .await
        .assert_problem(404, "not_found");
    let list = t.get("/v1/videos", Some(&token)).await;
    assert!(
        list.body["items"].as_array().unwrap().is_empty(),
        "{}",
        list.body
    );
    let job = t.stored_job(&id).await;
    assert!(job.prompt.is_none(), "the prompt goes with the video");
    // Deleting again is fine and changes nothing.
    assert_eq!(
        t.delete(&format!("/v1/videos/{id}"), Some(&token))
            .await
            .status,
        204
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_r11_deleting_a_video_still_being_made_stops_it_and_refunds_once() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("del-early")).await;
    let id = t.generating_video(&token).await;
    assert_eq!(t.balance(&account).await, 2);
    assert_eq!(
        t.delete(&format!("/v1/videos/{id}"), Some(&token))
            .await
            .status,
        204
    );
    assert_eq!(t.balance(&account).await, 3);
    assert_eq!(
        t.delete(&format!("/v1/videos/{id}"), Some(&token))
            .await
            .status,
        204
    );
    // The poll that follows sees the job deleted and stops.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    t.pump("generate").await;
    assert_eq!(t.entries_for(&account, "refund", &id).await, 1);
    assert_eq!(t.balance(&account).await, 3);
    // R16: the provider was stopped and its copy dropped.
    let request = &t.stack.fal.requests()[0];
    assert!(request.cancelled && request.payload_deleted);
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_a_video_past_its_retention_reads_expired_without_a_link() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("exp")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "short lived", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap();
    t.wait_status(&token, id, "ready", 30).await;
    t.clock.advance(Duration::from_secs(7 * 86400 - 60));
    assert_eq!(
        t.get(&format!("/v1/videos/{id}"), Some(&token)).await.body["status"],
        "ready"
    );
    t.clock.advance(Duration::from_secs(61));
    let v = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(v.body["status"], "expired");
    assert!(v.body.get("download_url").is_none());
}

/// R15: the prompt of a job that failed or was refused is kept as long as a ready
/// video's, not for the account's life: then the purge removes it, and the job keeps
/// its status.
#[tokio::test(flavor = "multi_thread")]
async fn r15_the_prompt_of_a_failed_or_rejected_job_goes_with_a_ready_videos_retention() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("failed-prompt")).await;
    t.grant(&account, 10).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a storm at sea emulator-fail", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "failed", 30).await;
    let prompt_of = |job: &shared::domain::video::Job| job.prompt.clone();
    assert!(
        prompt_of(&t.stored_job(&id).await).is_some(),
        "kept for now"
    );
    t.clock.advance(Duration::from_secs(7 * 86400 - 3600));
    let purge = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(purge.status, 200, "{}", purge.body);
    assert!(
        prompt_of(&t.stored_job(&id).await).is_some(),
        "not before its time"
    );
    t.clock.advance(Duration::from_secs(2 * 3600));
    let purge = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(
        purge.body["prompts_of_failed_jobs_removed"], 1,
        "{}",
        purge.body
    );
    let job = t.stored_job(&id).await;
    assert_eq!(prompt_of(&job), None, "the prompt is gone");
    assert_eq!(job.status.as_str(), "failed", "the job keeps its status");
    let v = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(v.body["status"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn r36_listing_pages_with_a_cursor_that_stays_in_the_callers_videos() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("pages")).await;
    t.grant(&account, 30).await;
    let mut ids = Vec::new();
    for i in 0..23 {
        let r = t
            .submit_video(
                &token,
                json!({ "prompt": format!("clip {i}"), "seconds": 4 }),
                None,
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
        // Distinct creation seconds give a strict order.
        t.clock.advance(Duration::from_secs(1));
    }
    let first = t.get("/v1/videos", Some(&token)).await;
    let page1: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(page1.len(), 20);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = t
        .get(&format!("/v1/videos?cursor={cursor}"), Some(&token))
        .await;
    let page2: Vec<String> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    let mut all = page1.clone();
    all.extend(page2);
    ids.reverse();
    assert_eq!(all, ids, "newest first, nothing twice, nothing missed");
    // Someone else's cursor walks only their own videos.
    let (other, _) = t.signed_in(&unique_email("other")).await;
    let theirs = t
        .get(&format!("/v1/videos?cursor={cursor}"), Some(&other))
        .await;
    assert_eq!(theirs.body["items"], json!([]));
    t.get("/v1/videos?cursor=not-a-cursor", Some(&token))
        .await
        .assert_problem(422, "invalid_request");
}

#[tokio::test(flavor = "multi_thread")]
async fn r21_the_local_dump_shows_what_is_kept_including_the_ai_generated_mark() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("dump")).await;
    let r = t
        .submit_video(&token, json!({ "prompt": "dump me", "seconds": 4 }), None)
        .await;
    let id = r.body["id"].as_str().unwrap();
    t.wait_status(&token, id, "ready", 30).await;
    let d = t.get("/_local/dump", None).await;
    assert_eq!(d.status, 200);
    let outputs = d.body["buckets"]["OutputsBucket"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["key"], format!("videos/{id}.mp4"));
    assert_eq!(outputs[0]["metadata"]["ai-generated"], "true");
    let accounts = d.body["tables"]["AccountsTable"].as_array().unwrap();
    assert!(accounts.iter().any(|i| i["id"] == account.as_str()));
    assert!(d.body["queues"]["GenerateDeadLetterQueue"].is_number());
}

#[tokio::test(flavor = "multi_thread")]
async fn r38_malformed_ids_and_cursors_are_refused_before_storage() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("ids")).await;
    let long = "x".repeat(5000);
    for id in [
        "nope",
        "vid_123",
        long.as_str(),
        "vid_0123456789abcdef0123456789abcdeg",
    ] {
        t.get(&format!("/v1/videos/{id}"), Some(&token))
            .await
            .assert_problem(404, "not_found");
        t.delete(&format!("/v1/videos/{id}"), Some(&token))
            .await
            .assert_problem(404, "not_found");
        let r = t
            .submit_video(
                &token,
                json!({ "prompt": "x", "upload_id": id, "seconds": 4 }),
                None,
            )
            .await;
        r.assert_problem(404, "not_found");
    }
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!([long, "2026-01-01T00:00:00Z"]).to_string());
    t.get(&format!("/v1/videos?cursor={forged}"), Some(&token))
        .await
        .assert_problem(422, "invalid_request");
    assert_eq!(t.balance(&account).await, 3);
}

/// An upload's record lives as long as its input (R15), by TTL, and is read as gone
/// from then on, whatever DynamoDB's TTL has not deleted yet.
#[tokio::test(flavor = "multi_thread")]
async fn r14_r15_an_upload_past_the_input_retention_is_gone() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("old-upload")).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let item = t
        .scan("VideosTable")
        .await
        .into_iter()
        .find(|i| i["pk"].as_s().unwrap() == &format!("upload#{upload}"))
        .unwrap();
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    let retention = t.stack.base.policy.input_retention.as_secs() as i64;
    assert!(
        (ttl - t.clock.epoch_secs() - retention).abs() <= 5,
        "TTL = upload + 24 h"
    );
    t.clock
        .advance(t.stack.base.policy.input_retention + Duration::from_secs(1));
    t.submit_video(
        &token,
        json!({ "prompt": "too late", "upload_id": upload, "seconds": 4 }),
        None,
    )
    .await
    .assert_problem(404, "not_found");
}
