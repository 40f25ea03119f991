//! `purge-expired`: a video past its retention is gone (R15) — its output and input
//! deleted and its prompt removed, read through an index of what expired, once.

use std::time::Duration;

use e2e_tests::{TestStack, png_bytes, unique_email};
use serde_json::{Value, json};

async fn purge(t: &TestStack) -> Value {
    let r = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_the_purge_deletes_an_expired_videos_files_and_prompt_once() {
    let t = TestStack::start().await;
    let (token, _) = t.sign_in_email(&unique_email("expiring")).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a snowman at the beach", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;
    let output = format!("videos/{id}.mp4");
    // Not yet: nothing to do.
    assert_eq!(purge(&t).await["videos_expired"], 0);
    assert!(t.object_exists("OutputsBucket", &output).await);

    t.clock
        .advance(t.stack.base.policy.output_retention + Duration::from_secs(1));
    let round = purge(&t).await;
    assert_eq!(round["videos_expired"], 1, "{round}");
    assert!(!t.object_exists("OutputsBucket", &output).await);
    assert!(!t.object_exists("InputsBucket", &upload).await);
    let job = t.stored_job(&id).await;
    assert_eq!(job.status.as_str(), "expired");
    assert!(job.prompt.is_none(), "the prompt is removed");
    let v = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(v.body["status"], "expired");
    assert!(v.body["prompt"].is_null() && v.body.get("download_url").is_none());
    // Out of the index: the next run does nothing.
    assert_eq!(purge(&t).await["videos_expired"], 0);
}

/// A finished job's input goes at once, not when the bucket's day-rounded lifecycle
/// gets to it, and the provider's copy is deleted — for failed jobs too (R15, R16).
#[tokio::test(flavor = "multi_thread")]
async fn r15_r16_a_failed_jobs_input_and_provider_copy_are_deleted_by_the_next_purge() {
    let t = TestStack::start().await;
    let (token, _) = t.sign_in_email(&unique_email("failing")).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "this one will emulator-fail", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "failed", 30).await;
    assert!(
        t.object_exists("InputsBucket", &upload).await,
        "still there before the purge"
    );
    let round = purge(&t).await;
    assert!(round["jobs_cleaned"].as_u64().unwrap() >= 1, "{round}");
    assert_eq!(round["provider_copies_pending"], 0);
    assert!(!t.object_exists("InputsBucket", &upload).await);
    let request = t
        .stack
        .fal
        .requests()
        .into_iter()
        .find(|r| {
            r.input["prompt"]
                .as_str()
                .unwrap_or_default()
                .contains("emulator-fail")
        })
        .unwrap();
    assert!(request.payload_deleted, "the provider's copy is deleted");
    assert_eq!(purge(&t).await["jobs_cleaned"], 0, "done once");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_hourly_event_starts_a_purge() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/schedule/purge-expired.json");
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert!(
        event["resources"][0]
            .as_str()
            .unwrap()
            .contains("PurgeExpiredFunction")
    );
    let done = shared::edge::schedule::run_round(&t.stack.functions.purge)
        .await
        .unwrap();
    assert_eq!(done["videos_expired"], 0);
    assert_eq!(done["rights_requests_requeued"], 0);
}
