//! What one video costs in AWS requests, and what streaming a large output costs in
//! memory. Both are measured here and bounded, so a change that makes either grow
//! with the data fails.

use std::time::Duration;

use e2e_tests::{TestStack, unique_email};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn aws_requests_of_one_video_from_submit_to_ready() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.provider_poll_interval = Duration::ZERO;
        o.fal_duration = Duration::ZERO;
    })
    .await;
    let email = unique_email("cost");
    let (token, _) = t.signed_in(&email).await;
    // What the functions sent (not the queue consumers standing in for Lambda).
    let counts = &t.stack.base.aws.requests;
    // Settle the bucket notifications' test events first.
    t.pump("stamp").await;
    t.pump("deliver").await;
    let before = counts.snapshot();
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "count my requests", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let after_submit = counts.snapshot();
    // Drive the steps by hand, and stop pumping as soon as the owner is told.
    let mut generate_polls = 0;
    loop {
        generate_polls += 1;
        t.pump("generate").await;
        t.pump("stamp").await;
        let o = t.pump("deliver").await;
        if o.received > 0 {
            break;
        }
        assert!(generate_polls < 50, "never finished");
    }
    let after = counts.snapshot();
    let job = t.stored_job(&id).await;
    assert_eq!(job.status.as_str(), "ready");
    assert!(job.notified);
    let diff =
        |a: [u64; 4], b: [u64; 4]| -> Vec<u64> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
    let submit = diff(after_submit, before);
    let background = diff(after, after_submit);
    // The background total includes the empty receives of this hand-driven loop.
    println!(
        "AWS requests for one video: POST /v1/videos dynamodb={} s3={} sqs={} ses={}; \
         generate+stamp+deliver (with {generate_polls} rounds of receives) dynamodb={} s3={} sqs={} ses={}",
        submit[0],
        submit[1],
        submit[2],
        submit[3],
        background[0],
        background[1],
        background[2],
        background[3]
    );
    // POST: session, limits ×2, account, balance, transaction; one send.
    assert!(submit[0] <= 7, "dynamodb on submit: {}", submit[0]);
    assert_eq!(submit[1], 0, "no S3 for a text video");
    assert_eq!(submit[2], 1, "one SendMessage");
    assert_eq!(background[3], 1, "one email");
    // `stamp` reads the job once.
    assert!(
        background[0] <= 13,
        "dynamodb in the background: {}",
        background[0]
    );
    // generate: two HEADs (staged? stamped?) and the PUT; stamp: HEAD of the output,
    // GET of the staged file, PUT of the output, DELETE of the staged file.
    assert!(
        background[1] <= 7,
        "s3 in the background: {}",
        background[1]
    );
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn current_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_streams_a_50_mb_output_without_holding_it_in_memory() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.provider_poll_interval = Duration::ZERO;
        o.fal_duration = Duration::ZERO;
    })
    .await;
    let (token, _) = t.signed_in(&unique_email("big")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "emulator-big", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.pump("generate").await; // submit
    t.pump("stamp").await; // the notification set-up's test event
    // Reset the peak to now, then store the file.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let base = current_rss_kib();
    t.pump("generate").await;
    let peak = peak_rss_kib();
    let staged = shared::domain::video::staging_key(&id);
    assert!(t.object_exists("OutputsBucket", &staged).await);
    let grew = (peak - base) / 1024;
    println!(
        "peak memory growth while streaming 50 MB through generate: {grew} MiB (process base {} MiB)",
        base / 1024
    );
    // One 8 MiB part in flight plus copies and buffers: far below the file's 50 MiB.
    assert!(grew < 40, "memory grew by {grew} MiB");

    // R41: `stamp` downloads to and uploads from scratch files a part at a time; the
    // C2PA crate, hashing and rewriting the file, holds up to about twice the file's
    // size besides (measured: 64 to 115 MiB for this 50 MiB file). So its memory grows
    // with the video, not with anything else: the function's 1024 MB leave room for a
    // batch of five of the videos a provider makes (an 8-second 1080p one is 10 to
    // 20 MB).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let base = current_rss_kib();
    let started = std::time::Instant::now();
    t.pump("stamp").await;
    let took = started.elapsed();
    let peak = peak_rss_kib();
    let head = t.head_output(&id).await;
    assert!(head.content_length().unwrap() > 50 * 1024 * 1024, "stamped");
    let grew = (peak - base) / 1024;
    println!(
        "stamping 50 MB: {} ms, peak memory growth {grew} MiB (a debug build)",
        took.as_millis()
    );
    assert!(grew < 3 * 50, "memory grew by {grew} MiB");
}
