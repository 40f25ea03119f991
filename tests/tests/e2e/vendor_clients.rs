//! The emulators answer as the vendors do: each is driven by the vendor's own client
//! library (fal-client, replicate and google-auth from PyPI, Creem's SDK from npm), which checks
//! every field of every answer. A field the emulator gets wrong fails here, before it
//! hides a bug the real service would show.

use std::path::PathBuf;

use e2e_tests::TestStack;
use e2e_tests::local_stack::emulators::creem::LOCAL_CREEM_KEY;
use e2e_tests::local_stack::emulators::fal::LOCAL_FAL_KEY;
use e2e_tests::local_stack::stack::LOCAL_GOOGLE_CLIENT_ID;

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vendor-clients")
}

async fn run(program: &std::path::Path, args: &[&str]) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .output()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?}:\n{text}");
    println!("{}", text.trim());
}

async fn python() -> PathBuf {
    e2e_tests::local_stack::moto::python()
        .await
        .expect("python tools")
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_the_fal_emulator_speaks_fals_wire_format_to_fal_client() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.fal_duration = std::time::Duration::from_millis(300);
    })
    .await;
    run(
        &python().await,
        &["fal_check.py", &t.url("/_local/fal"), LOCAL_FAL_KEY],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn r43_the_replicate_emulator_satisfies_replicates_client_and_standard_webhooks() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.fal_duration = std::time::Duration::from_millis(300);
    })
    .await;
    run(
        &python().await,
        &[
            "replicate_check.py",
            &t.url("/_local/replicate/api"),
            e2e_tests::local_stack::emulators::replicate::LOCAL_REPLICATE_TOKEN,
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn r03_the_google_emulators_tokens_verify_with_google_auth() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    run(
        &python().await,
        &["google_check.py", &t.stack.base_url, LOCAL_GOOGLE_CLIENT_ID],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn r18_the_creem_emulator_satisfies_creems_sdk() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let tools = tokio::process::Command::new("bash")
        .arg(clients_dir().join("../../scripts/node-tools.sh"))
        .output()
        .await
        .expect("node tools");
    assert!(
        tools.status.success(),
        "{}",
        String::from_utf8_lossy(&tools.stderr)
    );
    run(
        std::path::Path::new("node"),
        &[
            "creem_check.mjs",
            &t.url("/_local/creem/api"),
            LOCAL_CREEM_KEY,
        ],
    )
    .await;

    // The events the emulator sends (a pack, a plan with a renewal, refunds with tax, a
    // cancellation), as Creem's SDK reads them: signed, and of Creem's schema.
    let (token, _) = t.signed_in(&e2e_tests::unique_email("creem-sdk")).await;
    let pack = t.buy(&token, "pack_10").await;
    let plan = t.buy(&token, "plan_monthly").await;
    let sub = plan["subscription_id"].as_str().unwrap();
    // R47: a cancellation at the period's end, its resumption and the portal's link,
    // through the SDK (their events are checked with the rest below).
    let customer = t.stack.creem_checkouts.customer_of(sub).unwrap();
    run(
        std::path::Path::new("node"),
        &[
            "creem_plan_check.mjs",
            &t.url("/_local/creem/api"),
            LOCAL_CREEM_KEY,
            sub,
            &customer,
        ],
    )
    .await;
    let renewed = t
        .post(
            &format!("/_local/creem/subscriptions/{sub}/renew"),
            serde_json::json!({}),
            None,
        )
        .await;
    for order in [&pack["order_id"], &renewed.body["order_id"]] {
        let r = t
            .post(
                "/_local/creem/refund",
                serde_json::json!({ "order_id": order, "amount": 100 }),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    t.post(
        &format!("/_local/creem/subscriptions/{sub}/cancel"),
        serde_json::json!({}),
        None,
    )
    .await;
    let events: Vec<serde_json::Value> = t
        .stack
        .creem_checkouts
        .sent()
        .into_iter()
        .map(|e| {
            let body = e.to_string();
            let signature = shared::domain::webhook_signatures::creem_signature(
                local_stack::emulators::creem_checkout::LOCAL_CREEM_WEBHOOK_SECRET,
                body.as_bytes(),
            );
            serde_json::json!({ "body": body, "signature": signature })
        })
        .collect();
    let kinds: std::collections::BTreeSet<String> = t
        .stack
        .creem_checkouts
        .sent()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "checkout.completed",
        "subscription.paid",
        "refund.created",
        "subscription.canceled",
    ] {
        assert!(kinds.contains(kind), "{kinds:?}");
    }
    let file = std::env::temp_dir().join(format!("creem-events-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&events).unwrap()).unwrap();
    run(
        std::path::Path::new("node"),
        &[
            "creem_webhooks_check.mjs",
            file.to_str().unwrap(),
            local_stack::emulators::creem_checkout::LOCAL_CREEM_WEBHOOK_SECRET,
        ],
    )
    .await;
    let _ = std::fs::remove_file(&file);
}
