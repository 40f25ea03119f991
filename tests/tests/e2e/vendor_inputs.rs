//! R42, R43: every model runs at every provider as the vendor's published schema says.
//! The catalogue's input shapes (`infra/models.json`) are built for every model ×
//! provider × mode × length × aspect ratio × sound and checked against the schemas
//! recorded from the vendors (`local/vendor-schemas/`): nothing refused, the image in
//! the model's own field, nothing sent that the model ignores. (`models` makes each
//! model in both modes at each provider through the stack, whose emulators enforce
//! the same schemas.)

use local_stack::emulators::vendor_schema::Schemas;
use serde_json::{Value, json};
use shared::domain::models::Catalogue;
use shared::domain::video::{Mode, VideoSettings};

const IMAGE: &str = "https://inputs.example/input.png";

/// Every way the catalogue's requests do not fit the recorded schemas (empty: all fit).
fn unfit(catalogue: &Catalogue) -> Vec<String> {
    let schemas = [("fal", Schemas::fal()), ("replicate", Schemas::replicate())];
    let mut problems = Vec::new();
    for m in catalogue.models() {
        for &mode in &m.modes {
            for (provider, endpoint) in m.servings(mode) {
                let at = format!(
                    "{} {} at {provider} ({})",
                    m.id,
                    mode.as_str(),
                    endpoint.model
                );
                let Some(schema) = schemas
                    .iter()
                    .find(|(p, _)| *p == provider)
                    .and_then(|(_, s)| s.get(&endpoint.model))
                else {
                    problems.push(format!("{at}: no recorded schema"));
                    continue;
                };
                if let Some(field) = &endpoint.image {
                    match schema.properties.get(field) {
                        Some(p)
                            if provider != "replicate" || p.format.as_deref() == Some("uri") => {}
                        _ => problems.push(format!("{at}: {field} is not the model's image field")),
                    }
                }
                for &seconds in &m.seconds {
                    for aspect_ratio in &m.aspect_ratios {
                        for audio in [false, true].into_iter().filter(|a| m.audio || !a) {
                            let settings = VideoSettings {
                                seconds,
                                aspect_ratio: aspect_ratio.clone(),
                                audio,
                            };
                            let image = (mode == Mode::Image).then_some(IMAGE);
                            let input = endpoint.input("a kite over the sea", &settings, image);
                            let case = format!("{at}, {seconds} s, {aspect_ratio}, audio {audio}");
                            match schema.check(&input) {
                                Err(v) => problems.push(format!("{case}: refused {v:?}")),
                                Ok(ignored) if !ignored.is_empty() => {
                                    problems.push(format!("{case}: ignored {ignored:?}"))
                                }
                                Ok(_) => {}
                            }
                            if let Some(field) = &endpoint.image
                                && input.get(field) != Some(&json!(IMAGE))
                            {
                                problems.push(format!("{case}: the image is not in {field}"));
                            }
                        }
                    }
                }
            }
        }
    }
    problems
}

pub(crate) fn shipped() -> Catalogue {
    Catalogue::parse(shared::domain::models::SHIPPED, &["fal", "replicate"]).unwrap()
}

#[test]
fn r42_r43_every_model_provider_mode_and_length_fits_the_vendors_published_schema() {
    let catalogue = shipped();
    let problems = unfit(&catalogue);
    assert!(problems.is_empty(), "{problems:#?}");
    // Every model is served by both providers, in both of its modes.
    for m in catalogue.models() {
        for &mode in &m.modes {
            let providers: Vec<&str> = m.servings(mode).map(|(p, _)| p).collect();
            assert_eq!(providers, ["fal", "replicate"], "{} {mode:?}", m.id);
        }
    }
}

fn kling(models: &mut Value) -> &mut Value {
    models
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["id"] == "kling-2.1")
        .unwrap()
}

#[test]
fn r42_a_model_without_a_recorded_schema_or_in_a_shape_the_vendor_refuses_fails() {
    let edit = |change: &dyn Fn(&mut Value)| {
        let mut models: Value = serde_json::from_str(shared::domain::models::SHIPPED).unwrap();
        change(&mut models);
        unfit(&Catalogue::parse(&models.to_string(), &["fal", "replicate"]).unwrap())
    };
    // A model added with an endpoint nobody recorded.
    let added = edit(&|models| {
        let mut copy = kling(models).clone();
        copy["id"] = json!("kling-9");
        copy["default"] = json!(false);
        copy["providers"][0]["text"]["model"] = json!("fal-ai/kling-video/v9/text-to-video");
        models.as_array_mut().unwrap().push(copy);
    });
    assert!(
        added
            .iter()
            .any(|p| p.contains("kling-9") && p.contains("no recorded schema")),
        "{added:#?}"
    );
    // The shapes this catalogue replaced: "5s" at fal for Kling, and Kling's image in
    // Replicate's `image`, which Replicate would ignore (image-to-video silently made
    // from text alone).
    let fal_seconds = edit(&|models| {
        kling(models)["providers"][0]["text"]["duration"]["form"] = json!("text_with_unit");
    });
    assert!(
        fal_seconds.iter().any(|p| p.contains("refused")),
        "{fal_seconds:#?}"
    );
    let replicate_image = edit(&|models| {
        kling(models)["providers"][1]["image"]["image"] = json!("image");
    });
    assert!(
        replicate_image
            .iter()
            .any(|p| p.contains("not the model's image field")),
        "{replicate_image:#?}"
    );
}
