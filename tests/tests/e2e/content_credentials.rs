//! R41: every video a user can download carries content credentials — a C2PA manifest,
//! signed by the service, saying it was made by a trained algorithm — read here by an
//! independent reader (the C2PA SDK's Python binding), not by our own code.

use std::path::PathBuf;

use e2e_tests::{TestStack, png_bytes, unique_email};
use serde_json::{Value, json};

const TRAINED: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

/// What c2pa-python reads from `video`, with the stack's CA as the trust anchor.
async fn read_credentials(t: &TestStack, video: &[u8]) -> Value {
    let dir = std::env::temp_dir().join(format!("c2pa-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("video.mp4");
    let anchors = dir.join("ca.pem");
    std::fs::write(&file, video).unwrap();
    std::fs::write(&anchors, &t.stack.signing.ca_pem).unwrap();
    let python = e2e_tests::local_stack::moto::python()
        .await
        .expect("python tools");
    let out = tokio::process::Command::new(python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vendor-clients/c2pa_read.py"))
        .arg(&file)
        .arg(&anchors)
        .output()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The video a user downloads: through its presigned link.
async fn download(t: &TestStack, token: &str, id: &str) -> Vec<u8> {
    let v = t.get(&format!("/v1/videos/{id}"), Some(token)).await;
    let url = v.body["download_url"].as_str().expect("a link").to_owned();
    let r = t.http.get(url).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn r41_every_video_carries_signed_content_credentials_read_by_an_independent_reader() {
    let t = TestStack::start().await;
    let email = unique_email("credentials");
    let (token, account) = t.signed_in(&email).await;
    t.grant(&account, 20).await;
    let upload = t.upload(&token, "image/png", png_bytes()).await;
    let prompts = ["a lighthouse keeper's cat", "the lighthouse wakes up"];
    let bodies = [
        json!({ "prompt": prompts[0], "seconds": 4 }),
        json!({ "prompt": prompts[1], "seconds": 4, "upload_id": upload }),
    ];
    for (body, prompt) in bodies.into_iter().zip(prompts) {
        let r = t.submit_video(&token, body, None).await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let v = t.wait_status(&token, &id, "ready", 60).await;
        assert_eq!(v["ai_generated"], true);
        let video = download(&t, &token, &id).await;
        let read = read_credentials(&t, &video).await;
        assert_eq!(read["state"], "Trusted", "{read}");
        let active = &read["active"];
        let generator = &active["claim_generator_info"][0];
        assert_eq!(generator["name"], "Sora2 AI", "{active}");
        let actions = active["assertions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["label"]
                    .as_str()
                    .is_some_and(|l| l.starts_with("c2pa.actions"))
            })
            .unwrap_or_else(|| panic!("no actions: {active}"));
        let created = &actions["data"]["actions"][0];
        assert_eq!(created["action"], "c2pa.created");
        assert_eq!(created["digitalSourceType"], TRAINED);
        let stored = t.head_output(&id).await;
        let meta = stored.metadata().unwrap();
        assert_eq!(created["softwareAgent"]["name"], meta["model"].as_str());
        assert_eq!(meta["ai-generated"], "true");
        assert_eq!(meta["content-credentials"], "c2pa");
        // Nothing of the person: not in the manifest, not anywhere in the file.
        let store = read["store"].to_string();
        for personal in [email.as_str(), account.as_str(), prompt, "lighthouse"] {
            assert!(!store.contains(personal), "{personal:?} in the manifest");
            assert!(
                !video
                    .windows(personal.len())
                    .any(|w| w == personal.as_bytes()),
                "{personal:?} in the file"
            );
        }
        // The staging copy is gone once stamped.
        assert!(
            !t.object_exists("OutputsBucket", &shared::domain::video::staging_key(&id))
                .await
        );
        // One changed byte of the media makes the hard binding fail.
        let mut changed = video.clone();
        let at = e2e_tests::mp4_box(&changed, b"mdat").start + 8 + 16;
        changed[at] ^= 0x01;
        let read = read_credentials(&t, &changed).await;
        assert_eq!(read["state"], "Invalid", "{read}");
        let failures = read["failures"].to_string();
        assert!(failures.contains("mismatch"), "{read}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r41_a_file_that_cannot_be_stamped_fails_its_job_with_one_refund() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("unstampable")).await;
    t.grant(&account, 5).await;
    let before = t.balance(&account).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a kite emulator-not-mp4", "seconds": 4 }),
            None,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let v = t.wait_status(&token, &id, "failed", 60).await;
    assert_eq!(v["error"]["code"], stamp::UNSTAMPABLE, "{v}");
    assert_eq!(t.entries_for(&account, "refund", &id).await, 1);
    assert_eq!(
        t.balance(&account).await,
        before,
        "charged nothing in the end"
    );
    for key in shared::domain::video::outputs_of(&id) {
        assert!(!t.object_exists("OutputsBucket", &key).await, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r41_a_signing_outage_is_retried_and_the_video_still_arrives_stamped() {
    let t = TestStack::start_opts(|o| {
        o.faults = Some(Default::default());
        // A failed message comes back after 2 s here, not the queue's 6 minutes.
        o.consumer_visibility = Some(2);
    })
    .await;
    let proxy = t.stack.faults.as_ref().unwrap();
    proxy
        .kms_down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (token, account) = t.signed_in(&unique_email("kms-outage")).await;
    t.grant(&account, 5).await;
    let r = t
        .submit_video(&token, json!({ "prompt": "a kite", "seconds": 4 }), None)
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The file waits, staged, while KMS is down; the job is still generating.
    let staged = shared::domain::video::staging_key(&id);
    let waited = std::time::Instant::now();
    while !t.object_exists("OutputsBucket", &staged).await {
        assert!(waited.elapsed().as_secs() < 30, "never staged");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let v = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(v.body["status"], "generating", "{}", v.body);
    assert!(
        proxy
            .counts
            .injected
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    );
    proxy
        .kms_down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    t.wait_status(&token, &id, "ready", 60).await;
    let read = read_credentials(&t, &download(&t, &token, &id).await).await;
    assert_eq!(read["state"], "Trusted", "{read}");
    assert_eq!(t.entries_for(&account, "refund", &id).await, 0);
}

/// A staged file whose event never reached `stamp` (a dead letter, a lost event) is
/// announced again when `sweep` has the job looked at: the video that was made is
/// delivered, not refunded at the deadline.
#[tokio::test(flavor = "multi_thread")]
async fn r41_r13_a_staged_file_whose_event_was_lost_is_announced_again_and_delivered() {
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.provider_poll_interval = std::time::Duration::ZERO;
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("lost-stamp")).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a lost kite", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let staged = shared::domain::video::staging_key(&id);
    t.pump_until_stored(&["generate"], &staged, 40).await;
    // The event is lost.
    t.stack
        .aws
        .sqs()
        .purge_queue()
        .queue_url(t.table("StampQueue"))
        .send()
        .await
        .unwrap();
    assert_eq!(t.pump("stamp").await.received, 0);
    // Past the time `sweep` gives a lost message, it has the job looked at.
    t.clock
        .advance(t.stack.base.policy.requeue_after + std::time::Duration::from_secs(1));
    assert_eq!(t.post("/_local/sweep", json!({}), None).await.status, 200);
    let v = t.pump_until(&token, &id, "ready", 30).await;
    assert_eq!(v["status"], "ready");
    assert!(!t.object_exists("OutputsBucket", &staged).await);
    assert_eq!(t.entries_for(&account, "refund", &id).await, 0);
}

/// R41, R21: a provider's file that already carries content credentials keeps them, as
/// an ingredient of ours: the reader sees our manifest, and the provider's inside it.
#[tokio::test(flavor = "multi_thread")]
async fn r41_r21_the_providers_own_credentials_are_kept_as_an_ingredient() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("provider-c2pa")).await;
    t.grant(&account, 5).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a signed kite emulator-c2pa", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 60).await;
    let read = read_credentials(&t, &download(&t, &token, &id).await).await;
    let active = &read["active"];
    assert_eq!(
        active["claim_generator_info"][0]["name"], "Sora2 AI",
        "{read}"
    );
    let ingredients = active["ingredients"].as_array().expect("ingredients");
    assert_eq!(ingredients.len(), 1, "{active}");
    assert_eq!(ingredients[0]["relationship"], "componentOf");
    // The provider's manifest travels in the file, beside ours.
    let manifests = read["store"]["manifests"].as_object().unwrap();
    assert_eq!(manifests.len(), 2, "{read}");
    assert!(
        manifests
            .values()
            .any(|m| m["claim_generator_info"][0]["name"] == "fal.ai emulator"),
        "{read}"
    );
    // Our signature is as trusted as ever, and nothing of ours fails; the file reads
    // "Valid" rather than "Trusted" only because the provider's signer is not on the
    // reader's trust list (a throwaway certificate here).
    let ours = &read["store"]["validation_results"]["activeManifest"];
    assert!(
        ours["success"]
            .to_string()
            .contains("signingCredential.trusted"),
        "{read}"
    );
    assert_eq!(read["failures"], json!([]), "{read}");
    let deltas = read["store"]["validation_results"]["ingredientDeltas"].to_string();
    assert!(deltas.contains("signingCredential.untrusted"), "{read}");
    assert_eq!(read["state"], "Valid", "{read}");
}
