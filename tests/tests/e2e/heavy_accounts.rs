//! R26, R28: an account with a heavy history is exported and erased like any other: the
//! export's document is written a page at a time (bounded memory, measured in a process
//! of its own), the erasure deletes in batches.
//!
//! The page sizes are the policy's (`export_page_items`, `erasure_page_keys`), so a
//! thousand rows cross the same page boundaries that fifty thousand cross with the
//! deployed sizes. Memory is proven by scaling: the export's peak is the same for 1,000
//! rows as for 5,000. Each row carries 12 KB of text, so that even 1,000 rows make a
//! document larger than one 8 MiB part of the upload: an export that held the document
//! (or the rows) would grow with them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use e2e_tests::{TestStack, unique_email};
use serde_json::{Value, json};
use shared::domain::policy::Policy;

/// Records per page, for the export and the erasure alike.
const PAGE: i32 = 100;
/// The text each seeded row carries (bytes).
const ROW_TEXT: usize = 12 * 1024;
/// Where the export's child process finds what it needs, and how it reports.
const CHILD_SPEC: &str = "SORA_HEAVY_EXPORT_SPEC";

fn policy() -> Policy {
    Policy {
        export_page_items: PAGE,
        erasure_page_keys: PAGE,
        ..Policy::default()
    }
}

/// Starts the peak anew from what is resident now (Linux: `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A field of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// `n` copies of one of the account's real usage rows, each its own request, with
/// `ROW_TEXT` bytes of text in an attribute of their own.
async fn seed_usage(t: &TestStack, account: &str, n: usize) {
    let privacy = &t.stack.functions.privacy_requests.privacy;
    let mut model = privacy
        .items(account, "usage#")
        .await
        .unwrap()
        .pop()
        .expect("a real usage row");
    model.insert("padding".into(), AttributeValue::S("x".repeat(ROW_TEXT)));
    let table = t.table("PrivacyTable");
    for first in (0..n).step_by(25) {
        let mut pending: Vec<WriteRequest> = (first..(first + 25).min(n))
            .map(|i| {
                let mut item = model.clone();
                item.insert(
                    "sk".into(),
                    AttributeValue::S(format!("usage#2026-12-01T00:00:00Z#{i:08}")),
                );
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        while !pending.is_empty() {
            let out = t
                .stack
                .aws
                .dynamodb()
                .batch_write_item()
                .request_items(&table, pending)
                .send()
                .await
                .unwrap();
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(&table))
                .unwrap_or_default();
        }
    }
}

/// What the child process needs: where the local AWS endpoint is, `privacy-requests`'
/// environment, and the request to carry out.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChildSpec {
    endpoint: String,
    env: BTreeMap<String, String>,
    message: Value,
    /// Where the child writes its peak (KiB).
    report: std::path::PathBuf,
}

/// Carries out the export of `request` in a process of its own (this test binary, its
/// `export_in_a_process_of_its_own` entry) and returns how far its resident memory
/// rose above where it stood before the export began (KiB): the operation's own peak,
/// whatever else this process runs beside it.
async fn export_in_own_process(t: &TestStack, account: &str, request: &str) -> u64 {
    let spec = ChildSpec {
        endpoint: t.stack.aws_endpoint.clone(),
        env: t.stack.envs["privacy-requests"].clone(),
        message: json!({ "request_id": request, "account_id": account }),
        report: std::env::temp_dir().join(format!("heavy-export-{request}")),
    };
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "heavy_accounts::export_in_a_process_of_its_own",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_SPEC, serde_json::to_string(&spec).unwrap())
        // Large blocks (a part) straight from and back to the kernel: glibc otherwise
        // raises its mmap threshold after the first part is freed and keeps the next
        // ones in its heap, so the resident size would show what the allocator keeps
        // rather than what the export holds.
        .env("MALLOC_MMAP_THRESHOLD_", "1048576")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(&spec.report).expect("the export reported its peak");
    let _ = std::fs::remove_file(&spec.report);
    report.trim().parse().expect("a number of KiB")
}

/// The export's own process: `privacy-requests` built from its environment, as on
/// Lambda, carrying out one request and printing its peak. Run by the test below.
#[tokio::test(flavor = "current_thread")]
#[ignore = "the export of the heavy-account test, run by it in a process of its own"]
async fn export_in_a_process_of_its_own() {
    use shared::edge::queue_batch::QueueStep;
    let spec: ChildSpec = serde_json::from_str(
        &std::env::var(CHILD_SPEC).expect("run by the heavy-account test, which sets the spec"),
    )
    .unwrap();
    // As a function's start does: one crypto library for every HTTPS client.
    shared::adapters::outbound::install_crypto();
    let aws = shared::adapters::aws::AwsClients::load_local(
        e2e_tests::local_stack::stack::LOCAL_REGION,
        &spec.endpoint,
    )
    .await;
    let env = shared::adapters::env::Env::from_map(spec.env)
        .with_parameters(aws.ssm())
        .await
        .unwrap();
    let base =
        shared::edge::wiring::Base::new(aws, shared::domain::clock::Clock::system(), policy());
    let state = privacy_requests::PrivacyRequestsState::build(&base, &env).unwrap();
    let mut message = SqsMessage::default();
    message.body = Some(spec.message.to_string());
    message
        .attributes
        .insert("ApproximateReceiveCount".into(), "1".into());
    reset_peak();
    let before = status_kib("VmRSS:");
    // A step that fails for now (a slow part upload on a loaded machine) is done again,
    // as SQS would deliver it again; the export resumes.
    let mut attempts = 0;
    while let Err(e) = state.step(&message).await {
        attempts += 1;
        assert!(attempts < 5, "the export keeps failing: {e:?}");
    }
    let peak = status_kib("VmHWM:").saturating_sub(before);
    std::fs::write(&spec.report, peak.to_string()).unwrap();
}

/// Signs up an account with `rows` usage rows and exports it in a process of its own;
/// returns the session, the account, and the export's peak (KiB).
async fn exported(t: &TestStack, rows: usize) -> (String, String, String, u64) {
    let email = unique_email("heavy");
    let (token, account) = t.signed_in(&email).await;
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    let seeded = Instant::now();
    seed_usage(t, &account, rows).await;
    eprintln!("seeded {rows} rows in {:?}", seeded.elapsed());

    let code = t.rights_code(&token, &email).await;
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let peak = export_in_own_process(t, &account, &id).await;
    eprintln!(
        "export of {rows} rows: {:?}, peak {} MiB above the start",
        started.elapsed(),
        peak / 1024
    );
    let done = t.get(&format!("/v1/me/requests/{id}"), Some(&token)).await;
    assert_eq!(done.body["status"], "completed", "{}", done.body);
    let document: Value = t
        .http
        .get(done.body["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let usage = document["data"]["usage_data"].as_array().unwrap();
    assert!(
        usage.len() > rows,
        "every row is in the document: {}",
        usage.len()
    );
    assert_eq!(
        usage.iter().filter(|u| u["padding"].is_string()).count(),
        rows,
        "each seeded row once"
    );
    (token, email, account, peak)
}

#[tokio::test(flavor = "multi_thread")]
async fn r26_r28_a_heavy_account_is_exported_in_memory_that_does_not_grow_with_it_and_erased() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.export_page_items = PAGE;
        o.policy.erasure_page_keys = PAGE;
    })
    .await;

    let (token, email, account, small) = exported(&t, 1_000).await;

    // The erasure deletes the thousand rows a page of keys at a time.
    let code = t.rights_code(&token, &email).await;
    let r = t
        .delete_json("/v1/me", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let started = Instant::now();
    let consumer = t.stack.consumer("privacy-requests");
    // Every message handled, and the account gone (a step that failed for now comes
    // back after 2 s and resumes).
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "erasure never finished"
        );
        if consumer.poll_once(true, Some(2), 0).await.received == 0 {
            if !t.account_exists(&account).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    eprintln!("erasure of 1000 rows: {:?}", started.elapsed());
    let left = t.privacy_items(&account, "usage#").await;
    assert!(left.is_empty(), "{} usage rows left", left.len());

    // Five times the rows (a 60 MB document, eight parts): the same peak, within 4 MiB.
    // Held whole, the document alone would add 48 MB.
    let (_, _, _, large) = exported(&t, 5_000).await;
    eprintln!(
        "export peak: {} MiB for 1,000 rows, {} MiB for 5,000",
        small / 1024,
        large / 1024
    );
    assert!(
        large < small + 4 * 1024,
        "the peak grew with the rows: {small} KiB, then {large} KiB"
    );
    // A part (8 MiB) being sent and a page, far inside a 512 MB function.
    assert!(large < 64 * 1024, "peak {large} KiB");
}
