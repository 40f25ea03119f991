//! Polling a video's status costs little: an unchanged video answers 304 without a
//! body (and without signing a link), a video still being made says when to ask again,
//! and a page polling every few seconds leaves one usage row per minute, counting its
//! polls (R22 still records that every request happened).

use std::time::Duration;

use e2e_tests::{TestStack, unique_email};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn r22_r17_polling_a_video_answers_304_until_it_changes_and_counts_polls_per_minute() {
    let t = TestStack::start_opts(|o| o.fal_duration = Duration::from_secs(10)).await;
    let (token, account) = t.signed_in(&unique_email("polling")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a slow kite", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/videos/{id}");
    let get = |tag: Option<String>| {
        let mut req = t.http.get(t.url(&path)).bearer_auth(&token);
        if let Some(tag) = tag {
            req = req.header("if-none-match", tag);
        }
        req.send()
    };
    type Items = Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>;
    let polls = |items: Items| {
        items
            .into_iter()
            .filter(|i| i["sk"].as_s().unwrap().ends_with(&format!("#poll#{id}")))
            .map(|i| i["requests"].as_n().unwrap().parse::<u32>().unwrap())
            .collect::<Vec<_>>()
    };
    // Once handed to the provider, nothing the owner sees changes until it is done.
    t.wait_status(&token, &id, "generating", 10).await;
    // Start the polls at the top of a minute of the stack's clock, so that they fall
    // in one minute (the clock is the real one, moved on by the test).
    let into_minute = t.clock.epoch_secs().rem_euclid(60) as u64;
    t.clock.advance(Duration::from_secs(60 - into_minute));
    // The waiting's own polls: a row per minute they fell in.
    let waiting = polls(t.privacy_items(&account, "usage#").await);
    assert!(!waiting.is_empty() && waiting.len() <= 2, "{waiting:?}");
    let first = get(None).await.unwrap();
    assert_eq!(first.status(), 200);
    let tag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["retry-after"], "5", "still being made");
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    // Unchanged: 304, no body, the same tag, and when to ask again.
    for _ in 0..9 {
        let again = get(Some(tag.clone())).await.unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
        assert_eq!(again.headers()["retry-after"], "5");
        assert!(again.bytes().await.unwrap().is_empty());
    }
    // Ten polls in one minute: one row counting ten.
    let mut expected = waiting.clone();
    expected.push(10);
    assert_eq!(polls(t.privacy_items(&account, "usage#").await), expected);
    // The next minute gets its own row.
    t.clock.advance(Duration::from_secs(61));
    assert_eq!(get(Some(tag.clone())).await.unwrap().status(), 304);
    expected.push(1);
    assert_eq!(polls(t.privacy_items(&account, "usage#").await), expected);
    // Once ready, the old tag no longer matches: the video comes with its link.
    t.wait_status(&token, &id, "ready", 60).await;
    let ready = get(Some(tag.clone())).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        ready.headers().get("retry-after").is_none(),
        "nothing to wait for"
    );
    let new_tag = ready.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, tag);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert!(body["download_url"].is_string());
    // And the ready video, unchanged, is 304 again (the link is not part of its tag).
    let weak = format!("W/{new_tag}, \"other\"");
    assert_eq!(get(Some(weak)).await.unwrap().status(), 304);
}
