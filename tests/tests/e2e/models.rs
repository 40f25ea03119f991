//! The models catalogue (R42): served without sign-in, chosen per video, priced per
//! model and length; what a model does not make is refused before anything is spent;
//! every model is made in both modes by each of its providers (R43), which receive it
//! as their published schemas say (`vendor_inputs`).

use std::time::{Duration, Instant};

use e2e_tests::{TestStack, png_bytes, unique_email};
use serde_json::{Value, json};
use shared::domain::video::Mode;

#[tokio::test(flavor = "multi_thread")]
async fn r42_models_are_listed_without_sign_in_and_a_video_costs_what_its_model_says() {
    let t = TestStack::start().await;
    let listed = t.get("/v1/models", None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    assert!(items.len() >= 4, "{}", listed.body);
    let defaults: Vec<&str> = items
        .iter()
        .filter(|m| m["default"] == true)
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(defaults, ["veo-3.1"]);
    let kling = items.iter().find(|m| m["id"] == "kling-2.1").unwrap();
    assert_eq!(kling["seconds"], json!([5, 10]));
    assert_eq!(kling["cost"]["10"], 4);
    assert_eq!(kling["audio"], false);
    // Which providers serve a model is ours to know.
    assert!(kling.get("providers").is_none());

    let (token, account) = t.signed_in(&unique_email("models")).await;
    t.grant(&account, 10).await;
    let before = t.balance(&account).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a paper boat on a river", "model": "kling-2.1", "seconds": 10 }),
            None,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["cost"], 4);
    assert_eq!(r.body["model"], "kling-2.1");
    assert_eq!(r.body["audio"], false, "the model's default");
    assert_eq!(t.balance(&account).await, before - 4);
    let id = r.body["id"].as_str().unwrap();
    let ready = t.wait_status(&token, id, "ready", 30).await;
    assert_eq!(ready["model"], "kling-2.1");
    assert_eq!(ready["provider"], "fal");
    // fal was asked for its own id of the model, with the length as fal takes it.
    let asked = t
        .stack
        .fal
        .requests()
        .into_iter()
        .find(|q| q.input["prompt"] == "a paper boat on a river")
        .unwrap();
    assert_eq!(asked.model, "fal-ai/kling-video/v2.1/master/text-to-video");

    // Without a model: the default, at its price.
    let r = t
        .submit_video(&token, json!({ "prompt": "a kite", "seconds": 4 }), None)
        .await;
    assert_eq!(
        (r.body["model"].as_str(), r.body["cost"].as_i64()),
        (Some("veo-3.1"), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r42_what_a_model_does_not_make_is_refused_and_costs_nothing() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("unsupported")).await;
    t.grant(&account, 10).await;
    let before = t.balance(&account).await;
    for (body, code) in [
        (
            json!({ "prompt": "a kite", "model": "sora-9" }),
            "unknown_model",
        ),
        (
            json!({ "prompt": "a kite", "model": "kling-2.1", "seconds": 8 }),
            "model_unsupported",
        ),
        (
            json!({ "prompt": "a kite", "model": "hailuo-02", "aspect_ratio": "9:16" }),
            "model_unsupported",
        ),
        (
            json!({ "prompt": "a kite", "model": "kling-2.1", "audio": true }),
            "model_unsupported",
        ),
        (
            json!({ "prompt": "a kite", "model": "veo-3.1", "aspect_ratio": "1:1" }),
            "model_unsupported",
        ),
    ] {
        let r = t.submit_video(&token, body.clone(), None).await;
        r.assert_problem(422, code);
        assert!(r.body["detail"].as_str().unwrap().len() > 10, "{body}");
    }
    assert_eq!(t.balance(&account).await, before, "nothing was charged");
    let listed = t.get("/v1/videos", Some(&token)).await;
    assert_eq!(listed.body["items"], json!([]), "no job was made");
}

#[tokio::test(flavor = "multi_thread")]
async fn r42_a_video_stored_before_models_existed_reads_as_the_default_model() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("legacy")).await;
    t.grant(&account, 10).await;
    let r = t
        .submit_video(
            &token,
            json!({ "prompt": "a lighthouse", "seconds": 4 }),
            None,
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 30).await;
    // As the job was stored before this release: no model, no provider.
    t.strip_video_item(&format!("job#{id}"), "model, provider")
        .await;
    let got = t.get(&format!("/v1/videos/{id}"), Some(&token)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["model"], "veo-3.1");
    assert_eq!(got.body["provider"], "fal", "its provider was the only one");
    assert!(got.body["download_url"].is_string());
}

/// Makes every model in both modes, each at its shortest length; their ids.
async fn every_model_in_both_modes(t: &TestStack, token: &str, tag: &str) -> Vec<String> {
    let upload = t.upload(token, "image/png", png_bytes()).await;
    let mut ids = Vec::new();
    for m in crate::vendor_inputs::shipped().models() {
        for mode in &m.modes {
            let mut body = json!({
                "prompt": format!("{tag} {} {}", m.id, mode.as_str()),
                "model": m.id,
                "seconds": m.seconds[0],
            });
            if *mode == Mode::Image {
                body["upload_id"] = json!(upload);
            }
            let r = t.submit_video(token, body, None).await;
            assert_eq!(r.status, 202, "{}", r.body);
            ids.push(r.body["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

async fn all_ready(t: &TestStack, token: &str, ids: &[String], provider: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    for id in ids {
        loop {
            let v = t.get(&format!("/v1/videos/{id}"), Some(token)).await.body;
            if v["status"] == "ready" {
                assert_eq!(v["provider"], provider, "{v}");
                break;
            }
            assert!(
                ["queued", "generating"].contains(&v["status"].as_str().unwrap_or_default()),
                "{v}"
            );
            assert!(Instant::now() < deadline, "{v}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// What the provider's emulator received with `tag` in the prompt.
async fn received(t: &TestStack, provider: &str, tag: &str) -> Vec<Value> {
    let r = t
        .get(&format!("/_local/providers/{provider}/requests"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["input"]["prompt"]
                .as_str()
                .is_some_and(|p| p.starts_with(tag))
        })
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn r42_r43_every_model_is_made_in_both_modes_by_fal_and_by_replicate() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("every-model")).await;
    t.grant(&account, 100).await;
    let models = crate::vendor_inputs::shipped();
    let jobs = models.models().iter().map(|m| m.modes.len()).sum::<usize>();

    let at_fal = every_model_in_both_modes(&t, &token, "at-fal").await;
    all_ready(&t, &token, &at_fal, "fal").await;
    t.outage("fal", "down").await;
    let at_replicate = every_model_in_both_modes(&t, &token, "at-replicate").await;
    all_ready(&t, &token, &at_replicate, "replicate").await;
    t.outage("fal", "up").await;

    for (provider, tag) in [("fal", "at-fal"), ("replicate", "at-replicate")] {
        let items = received(&t, provider, tag).await;
        assert_eq!(items.len(), jobs, "{provider}: {items:#?}");
        for item in &items {
            assert_eq!(item["refused"], false, "{item}");
            assert_eq!(item["ignored"], json!([]), "{item}");
        }
        // Each model's request went to that provider's own id of it, per mode, with
        // the image (a link to our inputs bucket) in the model's own field.
        for m in models.models() {
            for &mode in &m.modes {
                let (_, endpoint) = m.servings(mode).find(|(p, _)| *p == provider).unwrap();
                let prompt = format!("{tag} {} {}", m.id, mode.as_str());
                let item = items
                    .iter()
                    .find(|i| i["input"]["prompt"] == prompt.as_str())
                    .unwrap_or_else(|| panic!("{prompt} not received by {provider}"));
                assert_eq!(item["model"], endpoint.model.as_str(), "{item}");
                if let Some(field) = &endpoint.image {
                    assert!(
                        item["input"][field]
                            .as_str()
                            .is_some_and(|u| u.starts_with("http")),
                        "{item}"
                    );
                }
            }
        }
    }
}
