//! `local-stack bench`'s hot path: for each signed-in route, how many AWS requests one
//! call makes and how many of them the caller waits for in sequence (the critical
//! path's depth: the median over the calls, and the most seen), from the fault proxy's record of when each request started and
//! ended; and the route's p50 and p99 with every AWS request held a fixed 5 ms, so the
//! figure counts round trips rather than the local endpoint's speed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::faults::{FaultSettings, Timeline};
use crate::{LocalStack, StackOptions};

/// The fixed latency each AWS request is given.
pub const ROUND_TRIP: Duration = Duration::from_millis(5);
const CALLS: usize = 40;
const EMAIL: &str = "hot-path@example.com";

/// One route's figures.
struct Route {
    name: &'static str,
    /// Per call, averaged: each AWS action, and the bytes the functions logged.
    actions: std::collections::BTreeMap<String, f64>,
    log_bytes: f64,
    requests: usize,
    depth: usize,
    depth_max: usize,
    p50_ms: f64,
    p99_ms: f64,
}

pub async fn run() -> Result<Value, String> {
    let stack = LocalStack::start(StackOptions {
        bind: ([127, 0, 0, 1], 0).into(),
        prefix: format!("hot{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        consumers: false,
        faults: Some(FaultSettings {
            fixed_latency: ROUND_TRIP,
            ..FaultSettings::default()
        }),
        policy: shared::domain::policy::Policy {
            videos_per_account: shared::domain::policy::Limit::per_hour(1000),
            videos_per_ip: shared::domain::policy::Limit::per_hour(1000),
            ..shared::domain::policy::Policy::default()
        },
        ..StackOptions::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let proxy = stack.faults.as_ref().ok_or("no fault proxy")?;
    let (timeline, actions) = (proxy.timeline.clone(), proxy.actions.clone());
    let http = crate::http_client();
    let url = |p: &str| format!("{}{p}", stack.base_url);
    http.post(url("/v1/auth/email/start"))
        .json(&json!({ "email": EMAIL }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let code = crate::bench::latest_code_of(&stack, EMAIL).await?;
    let signed: Value = http
        .post(url("/v1/auth/email/verify"))
        .json(&json!({ "email": EMAIL, "code": code, "over_13": true }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = signed["token"].as_str().ok_or("no token")?.to_owned();
    let account = signed["user"]["id"].as_str().ok_or("no user")?.to_owned();
    crate::bench::grant(&stack, &account, 1000).await?;
    let video: Value = http
        .post(url("/v1/videos"))
        .bearer_auth(&token)
        .json(&json!({ "prompt": "a hot path", "seconds": 4 }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let video_id = video["id"].as_str().ok_or("no video")?.to_owned();

    let reads: [(&'static str, String); 6] = [
        ("GET /v1/me", url("/v1/me")),
        ("GET /v1/videos", url("/v1/videos")),
        (
            "GET /v1/videos/{id}",
            url(&format!("/v1/videos/{video_id}")),
        ),
        ("GET /v1/billing", url("/v1/billing")),
        ("GET /v1/me/requests", url("/v1/me/requests")),
        ("GET /v1/models", url("/v1/models")),
    ];
    let mut routes = Vec::new();
    for (name, u) in &reads {
        routes.push(
            measure(name, &timeline, &actions, || {
                http.get(u).bearer_auth(&token).send()
            })
            .await?,
        );
    }
    let patch = url("/v1/me");
    routes.push(
        measure("PATCH /v1/me", &timeline, &actions, || {
            http.patch(&patch)
                .bearer_auth(&token)
                .json(&json!({ "display_name": "Hot Path" }))
                .send()
        })
        .await?,
    );
    let submit = url("/v1/videos");
    routes.push(
        measure("POST /v1/videos", &timeline, &actions, || {
            http.post(&submit)
                .bearer_auth(&token)
                .json(&json!({ "prompt": "a boat at dusk", "seconds": 4 }))
                .send()
        })
        .await?,
    );
    // R45: a video from an image adds its screening (two Rekognition questions, asked
    // at once beside the prompt's moderation): the same depth, two more requests.
    let image = crate::images::png(None);
    let grant: Value = http
        .post(url("/v1/uploads"))
        .bearer_auth(&token)
        .json(&json!({ "content_type": "image/png", "size": image.len() }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    http.put(grant["upload_url"].as_str().ok_or("no upload url")?)
        .header("content-type", "image/png")
        .body(image)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let upload_id = grant["id"].as_str().ok_or("no upload")?.to_owned();
    routes.push(
        measure("POST /v1/videos (image)", &timeline, &actions, || {
            http.post(&submit)
                .bearer_auth(&token)
                .json(&json!({ "prompt": "the boat sails", "seconds": 4, "upload_id": upload_id }))
                .send()
        })
        .await?,
    );
    stack.stop().await;
    Ok(json!({
        "round_trip_ms": ROUND_TRIP.as_millis() as u64,
        "routes": routes.iter().map(|r| json!({
            "route": r.name,
            "aws_requests": r.requests,
            "depth": r.depth,
            "depth_max": r.depth_max,
            "p50_ms": r.p50_ms,
            "p99_ms": r.p99_ms,
            "actions_per_call": r.actions,
            "log_bytes_per_call": r.log_bytes,
        })).collect::<Vec<_>>(),
    }))
}

/// Calls a route `CALLS` times, one at a time: its AWS requests and depth (the most
/// seen), and its latency percentiles.
async fn measure<F, Fut>(
    name: &'static str,
    timeline: &Timeline,
    actions: &crate::faults::Actions,
    call: F,
) -> Result<Route, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let (mut requests, mut depths, mut took) = (0, Vec::new(), Vec::new());
    let (before, logs) = (actions.snapshot(), crate::bench::log_bytes());
    for _ in 0..CALLS {
        timeline.take();
        let started = Instant::now();
        let res = call().await.map_err(|e| e.to_string())?;
        let status = res.status();
        let _ = res.bytes().await;
        took.push(started.elapsed().as_secs_f64() * 1000.0);
        if !status.is_success() {
            return Err(format!("{name}: {status}"));
        }
        let calls = timeline.take();
        requests = requests.max(calls.len());
        depths.push(Timeline::depth(&calls));
    }
    took.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| took[((took.len() as f64 - 1.0) * p).round() as usize];
    // The median: a loaded machine can start a request a moment after the one beside
    // it ended, which makes one call look deeper than the code is.
    depths.sort_unstable();
    let (depth, depth_max) = (depths[depths.len() / 2], depths[depths.len() - 1]);
    let per_call = crate::faults::Actions::since(&before, &actions.snapshot())
        .into_iter()
        .map(|(k, v)| (k, v as f64 / CALLS as f64))
        .collect();
    Ok(Route {
        name,
        actions: per_call,
        log_bytes: (crate::bench::log_bytes() - logs) as f64 / CALLS as f64,
        requests,
        depth,
        depth_max,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    })
}
