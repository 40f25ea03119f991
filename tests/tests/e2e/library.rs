//! The library (issue of the library and sharing): how long a video still being made
//! will likely take, from its model's recent times to ready.

use e2e_tests::{TestStack, unique_email};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_video_being_made_shows_the_wait_left_from_its_models_recent_times() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("eta")).await;
    // No history yet: no estimate.
    t.outage("fal", "slow").await;
    t.outage("replicate", "slow").await;
    let first = t
        .submit_video(
            &token,
            json!({ "prompt": "a first wave", "seconds": 4 }),
            None,
        )
        .await;
    assert!(first.body.get("eta_seconds").is_none(), "{}", first.body);
    t.outage("fal", "up").await;
    t.outage("replicate", "up").await;
    let made = t
        .submit_video(
            &token,
            json!({ "prompt": "a second wave", "seconds": 4 }),
            None,
        )
        .await;
    let model = made.body["model"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();
    let ready = t.wait_status(&token, &id, "ready", 30).await;
    assert!(ready.get("eta_seconds").is_none(), "none once ready");
    // The model has a time to ready now: a video of it still waiting shows the wait.
    t.outage("fal", "slow").await;
    t.outage("replicate", "slow").await;
    let waiting = t
        .submit_video(
            &token,
            json!({ "prompt": "a third wave", "seconds": 4, "model": model }),
            None,
        )
        .await;
    // The answer to the submission is the new video as stored; its polls show the wait.
    let seen = t
        .get(
            &format!("/v1/videos/{}", waiting.body["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    let eta = seen.body["eta_seconds"].as_u64().expect("an estimate");
    assert!(eta <= 60, "{eta}");
    let listed = t.get("/v1/videos", Some(&token)).await;
    assert!(
        listed.body["items"][0]["eta_seconds"].as_u64().is_some(),
        "{}",
        listed.body
    );
}
