//! R13, R42, R43: every class of answer of fal and Replicate, as our adapters read it,
//! against the emulators, which answer in the vendors' shapes (`docs/provider-answers.md`
//! tables each answer, its reading and its test). A refusal for content is a refusal
//! wherever the vendor puts it; an input outside the model's schema is bad input (the
//! catalogue's fault, not the person's); a 429 is a wait, read from wherever the vendor
//! puts it; a 5xx is an outage.

use std::time::{Duration, Instant};

use e2e_tests::TestStack;
use serde_json::{Map, Value, json};
use shared::adapters::providers::video::{
    GenerationRequest, Progress, ProviderError, Providers, SubmitError, VideoProvider,
};

async fn providers(t: &TestStack) -> Providers {
    let env = t.stack_env("generate").await;
    Providers::from_env(&env, t.stack.base.http.clone()).unwrap()
}

fn input(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn submit(
    provider: &dyn VideoProvider,
    model: &str,
    input: &Map<String, Value>,
) -> Result<String, SubmitError> {
    provider
        .submit(&GenerationRequest {
            model,
            input,
            callback: None,
        })
        .await
}

/// The request's progress once it is no longer pending.
async fn ended(provider: &dyn VideoProvider, handle: &str) -> Result<Progress, ProviderError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = provider.progress(handle).await;
        if p != Ok(Progress::Pending) {
            return p;
        }
        assert!(Instant::now() < deadline, "still pending");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const VEO_FAL: &str = "fal-ai/veo3.1";
const VEO_REPLICATE: &str = "google/veo-3.1";

#[tokio::test(flavor = "multi_thread")]
async fn r43_fal_refuses_content_after_queueing_it_in_the_result_and_we_read_a_refusal() {
    let t = TestStack::start().await;
    let p = providers(&t).await;
    let fal = p.get("fal").unwrap();
    let asked = input(json!({"prompt": "a crowd emulator-refuse", "duration": "4s"}));
    // Accepted: fal's checker runs on the queued request, not at submission.
    let handle = submit(fal.as_ref(), VEO_FAL, &asked).await.unwrap();
    // Its status completes like any other; the refusal is in the result.
    assert_eq!(ended(fal.as_ref(), &handle).await, Ok(Progress::Completed));
    assert_eq!(fal.output(&handle).await, Err(ProviderError::Refused));
}

#[tokio::test(flavor = "multi_thread")]
async fn r43_replicate_refuses_content_as_a_failed_prediction_with_e005() {
    let t = TestStack::start().await;
    let p = providers(&t).await;
    let replicate = p.get("replicate").unwrap();
    let asked = input(json!({"prompt": "a crowd emulator-refuse", "duration": 4}));
    let handle = submit(replicate.as_ref(), VEO_REPLICATE, &asked)
        .await
        .unwrap();
    assert_eq!(
        ended(replicate.as_ref(), &handle).await,
        Ok(Progress::Refused)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r42_an_input_outside_the_models_schema_is_bad_input_at_both_vendors() {
    let t = TestStack::start().await;
    let p = providers(&t).await;
    // Kling at fal takes "5" or "10", not "5s" (what every model was sent before).
    let fal = p.get("fal").unwrap();
    let kling = input(json!({"prompt": "a kite", "duration": "5s"}));
    match submit(
        fal.as_ref(),
        "fal-ai/kling-video/v2.1/master/text-to-video",
        &kling,
    )
    .await
    {
        Err(SubmitError::BadInput(why)) => {
            assert_eq!(why, "fal refused the input (duration: literal_error)");
        }
        other => panic!("{other:?}"),
    }
    // Hailuo at Replicate makes 10 s only at 768p; its default is 1080p.
    let replicate = p.get("replicate").unwrap();
    let hailuo = input(json!({"prompt": "a kite", "duration": 10}));
    match submit(replicate.as_ref(), "minimax/hailuo-02", &hailuo).await {
        Err(SubmitError::BadInput(why)) => {
            assert_eq!(why, "replicate refused the input (input.resolution: rule)");
        }
        other => panic!("{other:?}"),
    }
    // Both were received and refused, as the vendors' request logs show.
    for provider in ["fal", "replicate"] {
        let log = t
            .get(&format!("/_local/providers/{provider}/requests"), None)
            .await;
        let items = log.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{}", log.body);
        assert_eq!(items[0]["refused"], true);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r13_a_429_is_a_wait_read_from_the_header_at_fal_and_from_the_body_at_replicate() {
    let t = TestStack::start().await;
    let p = providers(&t).await;
    let one = Some(Duration::from_secs(1));
    let fal = p.get("fal").unwrap();
    let asked = input(json!({"prompt": "a kite emulator-429", "duration": "4s"}));
    assert_eq!(
        submit(fal.as_ref(), VEO_FAL, &asked).await,
        Err(SubmitError::Throttled { after: one })
    );
    // Once the wait is over, the same request is taken.
    assert!(submit(fal.as_ref(), VEO_FAL, &asked).await.is_ok());
    let replicate = p.get("replicate").unwrap();
    let asked = input(json!({"prompt": "a kite emulator-replicate-429", "duration": 4}));
    assert_eq!(
        submit(replicate.as_ref(), VEO_REPLICATE, &asked).await,
        Err(SubmitError::Throttled { after: one })
    );
    assert!(
        submit(replicate.as_ref(), VEO_REPLICATE, &asked)
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r43_a_5xx_is_an_outage_and_a_failed_request_is_a_failure_at_both_vendors() {
    let t = TestStack::start().await;
    let p = providers(&t).await;
    for (name, model, seconds, word) in [
        ("fal", VEO_FAL, json!("4s"), "emulator-5xx"),
        (
            "replicate",
            VEO_REPLICATE,
            json!(4),
            "emulator-replicate-5xx",
        ),
    ] {
        let provider = p.get(name).unwrap();
        let busy = input(json!({"prompt": format!("a kite {word}"), "duration": seconds}));
        assert_eq!(
            submit(provider.as_ref(), model, &busy).await,
            Err(SubmitError::Unavailable),
            "{name}"
        );
        let failing = input(json!({"prompt": "a kite emulator-fail", "duration": seconds}));
        let handle = submit(provider.as_ref(), model, &failing).await.unwrap();
        assert_eq!(
            ended(provider.as_ref(), &handle).await,
            Ok(Progress::Failed),
            "{name}"
        );
    }
}
