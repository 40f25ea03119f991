//! What a video's content credentials say (R41): that it was created by a trained
//! algorithm, by which service, through which provider and model, and when — and
//! nothing of the person who asked for it. The facts it is made from hold no account,
//! prompt or address, so none can slip in.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The service that signs, as readers show it.
pub const SERVICE: &str = "Sora2 AI";

/// IPTC's digital source type for media made by a trained model.
pub const TRAINED_ALGORITHMIC_MEDIA: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

/// What is known of how one video was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The provider that ran the model (`fal`).
    pub provider: String,
    /// The provider's id of the model.
    pub model: String,
    /// When the provider's file reached us.
    pub created: DateTime<Utc>,
}

/// The manifest definition: one `c2pa.created` action with its source type, software
/// agent and time, signed by our service at its version.
pub fn definition(facts: &Facts) -> Value {
    json!({
        "claim_generator_info": [{
            "name": SERVICE,
            "version": env!("CARGO_PKG_VERSION"),
        }],
        "title": "AI-generated video",
        "format": "video/mp4",
        "assertions": [{
            "label": "c2pa.actions",
            "data": {
                "actions": [{
                    "action": "c2pa.created",
                    "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                    "softwareAgent": {
                        "name": facts.model,
                        "provider": facts.provider,
                    },
                    "when": facts.created.to_rfc3339_opts(SecondsFormat::Secs, true),
                }]
            }
        }]
    })
}

/// How the provider's own content credentials are kept, when its file has them.
pub fn provider_ingredient(facts: &Facts) -> Value {
    json!({
        "title": format!("{} output", facts.provider),
        "relationship": "componentOf",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            provider: "fal".into(),
            model: "fal-ai/veo3".into(),
            created: "2026-12-05T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn r41_the_manifest_says_created_by_a_trained_algorithm_through_provider_and_model() {
        let d = definition(&facts());
        let action = &d["assertions"][0]["data"]["actions"][0];
        assert_eq!(d["assertions"][0]["label"], "c2pa.actions");
        assert_eq!(action["action"], "c2pa.created");
        assert_eq!(action["digitalSourceType"], TRAINED_ALGORITHMIC_MEDIA);
        assert_eq!(action["softwareAgent"]["name"], "fal-ai/veo3");
        assert_eq!(action["softwareAgent"]["provider"], "fal");
        assert_eq!(action["when"], "2026-12-05T10:00:00Z");
        assert_eq!(d["claim_generator_info"][0]["name"], SERVICE);
        // The definition parses as the crate's own type (no field it would reject).
        let parsed: c2pa::ManifestDefinition = serde_json::from_value(d).unwrap();
        assert_eq!(parsed.claim_generator_info[0].name, SERVICE);
    }

    #[test]
    fn r41_the_manifest_holds_only_the_facts_of_the_making() {
        // Every string in the definition is a constant or one of the facts.
        let f = facts();
        let mut strings = Vec::new();
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                Value::Object(o) => o.values().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(&definition(&f), &mut strings);
        walk(&provider_ingredient(&f), &mut strings);
        let allowed = [
            SERVICE.to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
            "AI-generated video".into(),
            "video/mp4".into(),
            "c2pa.actions".into(),
            "c2pa.created".into(),
            TRAINED_ALGORITHMIC_MEDIA.into(),
            f.model.clone(),
            f.provider.clone(),
            "2026-12-05T10:00:00Z".into(),
            "fal output".into(),
            "componentOf".into(),
        ];
        for s in strings {
            assert!(
                allowed.contains(&s),
                "unexpected value in the manifest: {s}"
            );
        }
    }
}
