//! `local-stack bench`: what one sign-in and one video cost in requests, and how long a
//! finished video waits to be marked ready, on the local stack with the policy's own
//! numbers (the provider calls the webhook when it is done). Printed as JSON for
//! `scripts/bench.py`.
//!
//! Requests are counted where they are sent: the functions' AWS clients (every attempt)
//! and the emulated third parties. The queues are pumped by hand, one receive per
//! batch as Lambda's event source does, so a receive that carried messages and its
//! delete are counted per batch; the event source's empty long polls are not, since
//! they cost the same whether videos are made or not.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{LocalStack, StackOptions};

const EMAIL: &str = "bench@example.com";

/// Bytes of the functions' log lines written so far (JSON, as CloudWatch receives them).
pub(crate) static LOG_BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[derive(Clone, Copy)]
struct CountingWriter;

impl std::io::Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG_BYTES.fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn log_bytes() -> u64 {
    LOG_BYTES.load(std::sync::atomic::Ordering::Relaxed)
}

/// Counts the bytes of the lines the functions log, with their own subscriber and
/// filter, and of nothing else (the stack's emulators, the SDK below `info`).
fn count_function_logs() {
    let mut targets = vec!["shared".to_owned()];
    targets.extend(
        crate::functions::names_where(|_| true)
            .into_iter()
            .map(|n| n.replace('-', "_")),
    );
    let filter = targets
        .iter()
        .map(|t| format!("{t}=info"))
        .collect::<Vec<_>>()
        .join(",");
    let filter = shared::edge::telemetry::filter(&shared::adapters::env::Env::from_map(
        [("RUST_LOG".to_owned(), filter)].into_iter().collect(),
    ));
    shared::edge::telemetry::init_with_writer(filter, || CountingWriter);
}

pub async fn run(videos: usize) -> Result<Value, String> {
    count_function_logs();
    let fal = Duration::from_secs(2);
    let stack = start(fal).await?;
    let bench = Bench::new(&stack);
    let (sign_in, token) = sign_in(&bench).await?;
    let video = one_video(&bench, &token).await?;
    let runs = lag_runs(&bench, &token, videos).await?;
    let report = json!({
        "sign_in": sign_in,
        "video": video,
        "delivery_lag_seconds": delivery_lags(&stack, &runs.healthy, fal),
        "delivery_lag_one_at_a_time_seconds": delivery_lags(&stack, &runs.alone, fal),
        "time_to_ready_seconds": time_to_ready(&runs),
        "stamp_invocation_seconds": stamp_invocations(&stack),
        "provider_calls_back": stack.functions.generate.callback.is_some(),
        "provider_poll_interval_seconds": stack.base.policy.provider_poll_interval.as_secs(),
    });
    stack.stop().await;
    let mut report = report;
    report["hot_path"] = crate::hot_path::run().await?;
    Ok(report)
}

/// A stack with the policy's own numbers, its queues pumped by hand, and the functions'
/// AWS requests going through the fault proxy, with no fault and no delay, so that it
/// counts each action.
async fn start(fal: Duration) -> Result<LocalStack, String> {
    LocalStack::start(StackOptions {
        bind: ([127, 0, 0, 1], 0).into(),
        prefix: format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        consumers: false,
        fal_duration: fal,
        faults: Some(crate::faults::FaultSettings::default()),
        // One account, from one address, makes every video of the bench (61): above a
        // person's hourly limits, which are not what is measured here.
        policy: shared::domain::policy::Policy {
            videos_per_account: shared::domain::policy::Limit::per_hour(1000),
            videos_per_ip: shared::domain::policy::Limit::per_hour(1000),
            ..shared::domain::policy::Policy::default()
        },
        ..StackOptions::default()
    })
    .await
    .map_err(|e| e.to_string())
}

/// The stack under measure, and what the bench reads it with.
struct Bench<'a> {
    stack: &'a LocalStack,
    http: reqwest::Client,
    /// The bench's own reads go through the stack's client, not the functions' counted one.
    jobs: shared::adapters::dynamo::videos::VideoStore,
}

impl<'a> Bench<'a> {
    fn new(stack: &'a LocalStack) -> Self {
        Self {
            stack,
            http: crate::http_client(),
            jobs: shared::adapters::dynamo::videos::VideoStore::new(
                stack.aws.dynamodb().clone(),
                stack.envs["videos"]["VIDEOS_TABLE"].clone(),
            ),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stack.base_url)
    }
}

/// What the stack had counted when a measure began: the functions' AWS requests and
/// actions, the third parties' requests and the bytes the functions logged.
struct Mark {
    aws: [u64; 4],
    third_parties: [u64; 4],
    actions: std::collections::BTreeMap<String, u64>,
    log_bytes: u64,
}

impl Mark {
    fn now(stack: &LocalStack) -> Self {
        let (aws, third_parties) = (aws_requests(stack), stack.third_parties.snapshot());
        let (actions, log_bytes) = (aws_actions(stack), log_bytes());
        Self {
            aws,
            third_parties,
            actions,
            log_bytes,
        }
    }

    /// What was counted since the mark, with the event source's requests for `batches`
    /// batches of queue messages.
    fn since(&self, stack: &LocalStack, batches: u64) -> Value {
        let mut counted = counts(
            self.aws,
            aws_requests(stack),
            self.third_parties,
            stack.third_parties.snapshot(),
            batches,
        );
        counted["actions"] = json!(crate::faults::Actions::since(
            &self.actions,
            &aws_actions(stack)
        ));
        counted["log_bytes"] = json!(log_bytes() - self.log_bytes);
        counted
    }
}

/// The functions' AWS requests so far, by service (see [`counts`]).
fn aws_requests(stack: &LocalStack) -> [u64; 4] {
    stack.base.aws.requests.snapshot()
}

/// The AWS actions the fault proxy has passed so far.
fn aws_actions(stack: &LocalStack) -> std::collections::BTreeMap<String, u64> {
    stack
        .faults
        .as_ref()
        .map(|f| f.actions.snapshot())
        .unwrap_or_default()
}

/// One sign-in by email code, start then verify: what it cost, and the session's token.
/// The account then gets the credits for the videos (not counted).
async fn sign_in(bench: &Bench<'_>) -> Result<(Value, String), String> {
    let stack = bench.stack;
    let mark = Mark::now(stack);
    post(
        &bench.http,
        &bench.url("/v1/auth/email/start"),
        json!({ "email": EMAIL }),
        None,
    )
    .await?;
    let code = latest_code(stack).await?;
    let signed = post(
        &bench.http,
        &bench.url("/v1/auth/email/verify"),
        json!({ "email": EMAIL, "code": code, "over_13": true }),
        None,
    )
    .await?;
    let token = signed["token"].as_str().ok_or("no token")?.to_owned();
    let sign_in = mark.since(stack, 0);
    let account = signed["user"]["id"].as_str().ok_or("no user")?.to_owned();
    grant(stack, &account, 200).await?;
    Ok((sign_in, token))
}

/// One video, from submit to ready with its notice sent: its requests, how long it
/// took, and each background function's invocations for it.
async fn one_video(bench: &Bench<'_>, token: &str) -> Result<Value, String> {
    let stack = bench.stack;
    // S3's test events of the notification set-up are not the video's: out of the way.
    for f in ["stamp", "deliver"] {
        while stack.consumer(f).poll_once(true, None, 0).await.received > 0 {}
    }
    let mark = Mark::now(stack);
    let invoked0: Vec<(String, usize)> = stack
        .consumers
        .iter()
        .map(|c| {
            (
                c.function.clone(),
                c.invocations.lock().map(|v| v.len()).unwrap_or(0),
            )
        })
        .collect();
    let submitted = Instant::now();
    let v = post(
        &bench.http,
        &bench.url("/v1/videos"),
        json!({ "prompt": "a lighthouse in a storm", "seconds": 4 }),
        Some(token),
    )
    .await?;
    let id = v["id"].as_str().ok_or("no video id")?.to_owned();
    let mut batches = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        for f in ["generate", "stamp", "deliver"] {
            if stack.consumer(f).poll_once(true, None, 0).await.received > 0 {
                batches += 1;
            }
        }
        let job = bench.jobs.get(&id).await.map_err(|e| e.to_string())?;
        if job.is_some_and(|j| j.notified) {
            break;
        }
        if Instant::now() > deadline {
            return Err("the video did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut video = mark.since(stack, batches);
    video["wall_seconds"] = json!(submitted.elapsed().as_secs_f64());
    video["invocations"] = invocations_since(stack, &invoked0);
    Ok(video)
}

/// Each background function's invocations since `before` (its count of them then), and
/// how long they ran.
fn invocations_since(stack: &LocalStack, before: &[(String, usize)]) -> Value {
    let mut busy = serde_json::Map::new();
    for (c, (function, before)) in stack.consumers.iter().zip(before) {
        let runs: Vec<f64> = c
            .invocations
            .lock()
            .map(|v| {
                v.iter()
                    .skip(*before)
                    .map(|(_, d)| d.as_secs_f64())
                    .collect()
            })
            .unwrap_or_default();
        if !runs.is_empty() {
            busy.insert(
                function.clone(),
                json!({ "invocations": runs.len(), "seconds": runs.iter().sum::<f64>() }),
            );
        }
    }
    Value::Object(busy)
}

/// The videos of the delivery-lag runs, made with the consumers running as Lambda's.
struct Runs {
    /// `videos` videos made at once.
    healthy: Vec<Made>,
    /// As many made one after another.
    alone: Vec<Made>,
    /// `videos` made at once with fal down.
    outage: Vec<Made>,
}

/// Makes the videos of the delivery-lag runs.
async fn lag_runs(bench: &Bench<'_>, token: &str, videos: usize) -> Result<Runs, String> {
    let (stack, http, jobs) = (bench.stack, &bench.http, &bench.jobs);
    let tasks: Vec<_> = stack.consumers.iter().map(|c| c.spawn()).collect();
    let healthy = made_at_once(stack, http, token, jobs, videos, "bench video number").await?;
    // As many videos' lag one after another: what one video waits when the local
    // endpoint (which serves one request at a time, where AWS serves each in parallel)
    // is not also carrying the others' requests.
    let mut alone = Vec::new();
    for i in 0..videos {
        let tag = format!("bench alone video {i} of {videos}");
        alone.extend(made_at_once(stack, http, token, jobs, 1, &tag).await?);
    }
    // The same with fal down (R43): every video fails over to Replicate.
    stack.fal.outage.set(crate::emulators::outage::Mode::Down);
    let outage = made_at_once(stack, http, token, jobs, videos, "bench outage video").await?;
    stack.fal.outage.set(crate::emulators::outage::Mode::Up);
    for t in tasks {
        t.abort();
    }
    Ok(Runs {
        healthy,
        alone,
        outage,
    })
}

/// The time from asking to ready, healthy and with fal down, and how many of the latter
/// Replicate made.
fn time_to_ready(runs: &Runs) -> Value {
    let by_replicate = runs
        .outage
        .iter()
        .filter(|m| m.provider.as_deref() == Some("replicate"))
        .count();
    json!({
        "healthy": percentiles(&runs.healthy),
        "fal_down": percentiles(&runs.outage),
        "fal_down_made_by_replicate": by_replicate,
    })
}

/// `stamp`'s invocations during the lag runs: how long each took, for how many videos.
fn stamp_invocations(stack: &LocalStack) -> Value {
    let mut stamps: Vec<(usize, f64)> = stack
        .consumer("stamp")
        .invocations
        .lock()
        .map(|v| v.iter().map(|(n, d)| (*n, d.as_secs_f64())).collect())
        .unwrap_or_default();
    stamps.retain(|(n, _)| *n > 0);
    stamps.sort_by(|a, b| a.1.total_cmp(&b.1));
    let stamp_pct = |p: f64| {
        stamps
            .get(((stamps.len() as f64 - 1.0) * p).round() as usize)
            .map_or(0.0, |s| s.1)
    };
    let stamped: usize = stamps.iter().map(|s| s.0).sum();
    json!({
        "invocations": stamps.len(),
        "videos": stamped,
        "p50": stamp_pct(0.5),
        "p95": stamp_pct(0.95),
    })
}

/// One video of a run: when it was asked for and when it was ready, and who made it.
struct Made {
    id: String,
    prompt: String,
    submitted: Instant,
    ready: Instant,
    provider: Option<String>,
}

/// Submits `n` videos at once and waits for each to be ready.
async fn made_at_once(
    stack: &LocalStack,
    http: &reqwest::Client,
    token: &str,
    jobs: &shared::adapters::dynamo::videos::VideoStore,
    n: usize,
    tag: &str,
) -> Result<Vec<Made>, String> {
    let mut asked = Vec::new();
    for i in 0..n {
        let prompt = format!("{tag} {i}");
        let v = post(
            http,
            &format!("{}/v1/videos", stack.base_url),
            json!({ "prompt": prompt, "seconds": 4 }),
            Some(token),
        )
        .await?;
        asked.push((
            v["id"].as_str().ok_or("no id")?.to_owned(),
            prompt,
            Instant::now(),
        ));
    }
    let mut made: Vec<Made> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while made.len() < asked.len() {
        for (id, prompt, submitted) in &asked {
            if made.iter().any(|m| &m.id == id) {
                continue;
            }
            let job = jobs.get(id).await.map_err(|e| e.to_string())?;
            if let Some(j) = job.filter(|j| j.status.as_str() == "ready") {
                made.push(Made {
                    id: id.clone(),
                    prompt: prompt.clone(),
                    submitted: *submitted,
                    ready: Instant::now(),
                    provider: j.provider,
                });
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{tag}: videos did not become ready"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(made)
}

/// p50 and p95 of the time from the provider finishing each video (its submission to the
/// fal emulator plus the emulator's `fal` duration) to the video being ready.
fn delivery_lags(stack: &LocalStack, made: &[Made], fal: Duration) -> Value {
    let requests = stack.fal.requests();
    let mut lags: Vec<f64> = made
        .iter()
        .filter_map(|m| {
            let r = requests
                .iter()
                .find(|r| r.input["prompt"] == m.prompt.as_str())?;
            Some(
                m.ready
                    .saturating_duration_since(r.submitted + fal)
                    .as_secs_f64(),
            )
        })
        .collect();
    lags.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lags[((lags.len() as f64 - 1.0) * p).round() as usize];
    json!({ "videos": lags.len(), "p50": pct(0.5), "p95": pct(0.95) })
}

/// p50 and p95 of the time from asking to ready.
fn percentiles(made: &[Made]) -> Value {
    let mut secs: Vec<f64> = made
        .iter()
        .map(|m| m.ready.saturating_duration_since(m.submitted).as_secs_f64())
        .collect();
    secs.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| secs[((secs.len() as f64 - 1.0) * p).round() as usize];
    json!({ "videos": secs.len(), "p50": pct(0.5), "p95": pct(0.95) })
}

fn counts(a0: [u64; 4], a1: [u64; 4], t0: [u64; 4], t1: [u64; 4], batches: u64) -> Value {
    let d = |i: usize| a1[i] - a0[i];
    // Per batch Lambda's event source makes one ReceiveMessage and one DeleteMessageBatch.
    let event_source = 2 * batches;
    json!({
        "aws": {
            "dynamodb": d(0), "s3": d(1), "sqs": d(2) + event_source, "ses": d(3),
            "total": d(0) + d(1) + d(2) + d(3) + event_source,
        },
        "third_parties": {
            "fal": t1[0] - t0[0], "creem": t1[1] - t0[1], "google": t1[2] - t0[2],
            "replicate": t1[3] - t0[3],
        },
    })
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: Value,
    token: Option<&str>,
) -> Result<Value, String> {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("POST {url}: {status} {body}"));
    }
    Ok(body)
}

async fn latest_code(stack: &LocalStack) -> Result<String, String> {
    latest_code_of(stack, EMAIL).await
}

/// The sign-in code last mailed to `email`.
pub(crate) async fn latest_code_of(stack: &LocalStack, email: &str) -> Result<String, String> {
    let mails = stack
        .mailbox
        .messages_to(email)
        .await
        .map_err(|e| e.to_string())?;
    let text = mails.last().ok_or("no sign-in mail")?.body.clone();
    text.split_whitespace()
        .map(|w| w.trim_end_matches('.'))
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .ok_or_else(|| "no code in the mail".to_owned())
}

/// Credits as a purchase would grant them (outside the counted flows).
pub(crate) async fn grant(stack: &LocalStack, account: &str, credits: i64) -> Result<(), String> {
    stack
        .aws
        .give_credits(
            &stack.functions.videos.jobs.ledger,
            account,
            shared::domain::ledger::EntryKind::Purchase,
            credits,
            "order:bench",
            &shared::domain::clock::rfc3339(stack.base.clock.now()),
        )
        .await
        .map_err(|e| e.to_string())
}
