//! `local-stack`: the whole service on 127.0.0.1 for people trying it.
//!
//! `local-stack openapi` prints the API's OpenAPI document instead; `local-stack docs`
//! writes the generated tables of README.md and ARCHITECTURE.md;
//! `local-stack bench [videos]` measures one sign-in, one video and the delivery lag.
//!
//! Environment: `PORT` (default 3000), `LOCAL_AWS_ENDPOINT` (an already running local
//! AWS endpoint; by default one is started), `LOCAL_FAL_SECONDS` (how long the fal
//! emulator takes per video, default 2), `LOCAL_FAULT_RATE` (share of the functions'
//! AWS requests that fail, e.g. `0.1`; off by default), `LOCAL_FAULT_SEED`,
//! `LOCAL_FAULT_LATENCY_MS` (added latency, up to; default 20), `LOCAL_DUPLICATE_DELIVERIES=1`
//! (every queue message handed over twice), `RUST_LOG`.

use std::net::SocketAddr;

use local_stack::{LocalStack, StackOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("openapi") {
        print!("{}", local_stack::openapi::yaml());
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("docs") {
        for (path, text) in local_stack::docs::generated(&local_stack::docs::root())? {
            std::fs::write(&path, text)?;
            println!("wrote {}", path.display());
        }
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("bench") {
        let videos = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20);
        let report = local_stack::bench::run(videos).await?;
        println!("{report}");
        return Ok(());
    }
    shared::edge::telemetry::init(&shared::adapters::env::Env::process());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT is not a port number: {p}"))?,
        Err(_) => 3000,
    };
    let fal_seconds: f64 = match std::env::var("LOCAL_FAL_SECONDS") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("LOCAL_FAL_SECONDS is not a number of seconds: {s}"))?,
        Err(_) => 2.0,
    };
    let fault_rate: f64 = match std::env::var("LOCAL_FAULT_RATE") {
        Ok(r) => r
            .parse()
            .map_err(|_| format!("LOCAL_FAULT_RATE is not a share between 0 and 1: {r}"))?,
        Err(_) => 0.0,
    };
    let faults = (fault_rate > 0.0).then(|| local_stack::faults::FaultSettings {
        rate: fault_rate.min(1.0),
        seed: std::env::var("LOCAL_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        max_latency: std::time::Duration::from_millis(
            std::env::var("LOCAL_FAULT_LATENCY_MS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(20),
        ),
        ..Default::default()
    });
    let stack = LocalStack::start(StackOptions {
        faults,
        duplicate_deliveries: std::env::var("LOCAL_DUPLICATE_DELIVERIES").as_deref() == Ok("1"),
        fal_duration: std::time::Duration::from_secs_f64(fal_seconds.max(0.0)),
        bind: SocketAddr::from(([127, 0, 0, 1], port)),
        aws_endpoint: std::env::var("LOCAL_AWS_ENDPOINT")
            .ok()
            .filter(|v| !v.is_empty()),
        ..StackOptions::default()
    })
    .await?;
    if std::env::var("LOCAL_CREEM_SIGNATURE").as_deref() == Ok("standard") {
        *stack.creem_checkouts.scheme.lock().unwrap() =
            local_stack::emulators::creem_checkout::Scheme::StandardWebhooks;
    }
    if std::env::var("LOCAL_CREEM_DUPLICATES").as_deref() == Ok("1") {
        *stack.creem_checkouts.deliver_twice.lock().unwrap() = true;
    }
    eprintln!(
        "\nSora2 AI local stack on {}\n  local AWS endpoint: {}\n  mailbox: {}/_local/emails?to=ADDRESS\n  Google tokens: POST {}/_local/google/id-token\nCtrl-C to stop.\n",
        stack.base_url, stack.aws_endpoint, stack.base_url, stack.base_url
    );
    tokio::signal::ctrl_c().await?;
    stack.stop().await;
    Ok(())
}
