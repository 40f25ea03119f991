//! The catalogue of video models (R42) and who serves each one (R43). Plain Rust: the
//! catalogue is configuration (`VIDEO_MODELS`, a template parameter), parsed and
//! checked here once at start, so a bad catalogue stops the function rather than a
//! request.
//!
//! A model is ours (`veo-3.1`); each provider that serves it has its own id for it
//! (`fal-ai/veo3.1` at fal, `google/veo-3.1` at Replicate), sometimes one per mode.
//! The order of `providers` is the order of preference: a job goes to the first
//! healthy one and moves down the list when one fails (see `generate`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::video::{ASPECT_RATIOS, Mode};

/// One provider's ids for a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serving {
    /// The provider's name, as the provider registry knows it (`fal`, `replicate`).
    pub provider: String,
    /// Its model id for text-to-video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Its model id for image-to-video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl Serving {
    /// The provider's model id for `mode`, if it serves that mode.
    pub fn model_for(&self, mode: Mode) -> Option<&str> {
        match mode {
            Mode::Text => self.text.as_deref(),
            Mode::Image => self.image.as_deref(),
        }
    }
}

/// One model as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    pub name: String,
    pub modes: Vec<Mode>,
    /// The clip lengths it makes, shortest first; the longest is the default.
    pub seconds: Vec<u32>,
    /// Its aspect ratios; the first is the default.
    pub aspect_ratios: Vec<String>,
    /// Whether it makes synchronized audio.
    pub audio: bool,
    /// Price in credits for each length (R11), keyed by seconds as text (JSON's keys).
    pub cost: BTreeMap<String, i64>,
    #[serde(default)]
    pub default: bool,
    /// Who serves it, most preferred first.
    pub providers: Vec<Serving>,
}

/// Why a request does not fit a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model {0:?}; GET /v1/models lists them")]
    Unknown(String),
    #[error("{model} does not make {what}")]
    Unsupported { model: String, what: String },
}

/// What a request asks of a model, before defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ask<'a> {
    pub mode: Option<Mode>,
    pub seconds: Option<u32>,
    pub aspect_ratio: Option<&'a str>,
    pub audio: Option<bool>,
}

/// A request fitted to a model: the settings with the model's defaults filled in, and
/// the price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    pub seconds: u32,
    pub aspect_ratio: String,
    pub audio: bool,
    pub cost: i64,
}

impl Model {
    /// The price of a clip of `seconds`, if the model makes that length.
    pub fn cost_of(&self, seconds: u32) -> Option<i64> {
        self.cost.get(&seconds.to_string()).copied()
    }

    /// The request with this model's defaults, or why the model cannot make it.
    pub fn fit(&self, ask: Ask<'_>) -> Result<Fitted, ModelError> {
        let unsupported = |what: String| ModelError::Unsupported {
            model: self.id.clone(),
            what,
        };
        let mode = ask.mode.unwrap_or(Mode::Text);
        if !self.modes.contains(&mode) {
            return Err(unsupported(format!("{}-to-video", mode.as_str())));
        }
        let seconds = ask
            .seconds
            .unwrap_or_else(|| self.seconds.last().copied().unwrap_or_default());
        let cost = self
            .cost_of(seconds)
            .filter(|_| self.seconds.contains(&seconds))
            .ok_or_else(|| {
                unsupported(format!(
                    "{seconds}-second clips (it makes {:?})",
                    self.seconds
                ))
            })?;
        let aspect_ratio = ask
            .aspect_ratio
            .unwrap_or_else(|| self.aspect_ratios.first().map_or("16:9", String::as_str));
        if !self.aspect_ratios.iter().any(|a| a == aspect_ratio) {
            return Err(unsupported(format!(
                "the aspect ratio {aspect_ratio} (it makes {:?})",
                self.aspect_ratios
            )));
        }
        let audio = ask.audio.unwrap_or(self.audio);
        if audio && !self.audio {
            return Err(unsupported("audio".into()));
        }
        Ok(Fitted {
            seconds,
            aspect_ratio: aspect_ratio.to_owned(),
            audio,
            cost,
        })
    }

    /// The providers that can make `mode`, in order, each with its model id.
    pub fn servings(&self, mode: Mode) -> impl Iterator<Item = (&str, &str)> {
        self.providers
            .iter()
            .filter_map(move |s| Some((s.provider.as_str(), s.model_for(mode)?)))
    }
}

/// The checked catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    models: Vec<Model>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("the models catalogue is not a JSON list of models: {0}")]
    Unreadable(String),
    #[error("model {0}: {1}")]
    Invalid(String, String),
    #[error("the catalogue needs exactly one default model")]
    Default,
}

impl Catalogue {
    /// Parses and checks the catalogue: unique ids, one default, for each model at
    /// least one mode, length and aspect ratio, a positive price for every length and
    /// for no other, known aspect ratios, and for each mode at least one provider from
    /// `providers` (the ones this deployment is configured for).
    pub fn parse(json: &str, providers: &[&str]) -> Result<Self, CatalogueError> {
        let models: Vec<Model> =
            serde_json::from_str(json).map_err(|e| CatalogueError::Unreadable(e.to_string()))?;
        let mut ids = BTreeSet::new();
        for m in &models {
            let bad = |why: String| Err(CatalogueError::Invalid(m.id.clone(), why));
            let id_ok = (1..=64).contains(&m.id.len())
                && m.id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !id_ok || !ids.insert(m.id.as_str()) {
                return bad("an id of lowercase letters, digits, `-` and `.`, used once".into());
            }
            if m.name.trim().is_empty() || m.modes.is_empty() || m.seconds.is_empty() {
                return bad("a name, modes and lengths are needed".into());
            }
            if m.aspect_ratios.is_empty()
                || m.aspect_ratios
                    .iter()
                    .any(|a| !ASPECT_RATIOS.contains(&a.as_str()))
            {
                return bad(format!("aspect ratios must be some of {ASPECT_RATIOS:?}"));
            }
            if !m.seconds.windows(2).all(|w| w[0] < w[1]) || m.seconds.contains(&0) {
                return bad("lengths are increasing and positive".into());
            }
            let priced: BTreeSet<String> = m.seconds.iter().map(u32::to_string).collect();
            if m.cost.keys().cloned().collect::<BTreeSet<_>>() != priced
                || m.cost.values().any(|&c| c <= 0)
            {
                return bad("a positive price for each length, and for no other".into());
            }
            for serving in &m.providers {
                if !providers.contains(&serving.provider.as_str()) {
                    return bad(format!(
                        "provider {:?} is not configured (configured: {providers:?})",
                        serving.provider
                    ));
                }
            }
            for &mode in &m.modes {
                if m.servings(mode).next().is_none() {
                    return bad(format!("no provider serves {}-to-video", mode.as_str()));
                }
            }
        }
        if models.iter().filter(|m| m.default).count() != 1 {
            return Err(CatalogueError::Default);
        }
        Ok(Self { models })
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    pub fn default_model(&self) -> &Model {
        self.models
            .iter()
            .find(|m| m.default)
            .expect("checked when parsed")
    }

    /// The model `id` names, or the default when none is named (a job stored before
    /// models existed has none: it was made by the default's providers).
    pub fn get(&self, id: Option<&str>) -> Result<&Model, ModelError> {
        match id {
            None => Ok(self.default_model()),
            Some(id) => self
                .models
                .iter()
                .find(|m| m.id == id)
                .ok_or_else(|| ModelError::Unknown(id.to_owned())),
        }
    }

    /// Every provider some model names.
    pub fn providers(&self) -> BTreeSet<&str> {
        self.models
            .iter()
            .flat_map(|m| m.providers.iter().map(|s| s.provider.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template's default catalogue, as deployed.
    fn shipped() -> String {
        let template = include_str!("../../../infra/template.yaml");
        let line = template
            .lines()
            .skip_while(|l| l.trim() != "VideoModels:")
            .find(|l| l.trim_start().starts_with("Default:"))
            .expect("VideoModels has a default");
        let json = line.trim_start().trim_start_matches("Default:").trim();
        json.trim_matches('\'').replace("''", "'")
    }

    #[test]
    fn r42_the_shipped_catalogue_is_valid_and_served_by_two_providers() {
        let c = Catalogue::parse(&shipped(), &["fal", "replicate"]).unwrap();
        assert!(c.models().len() >= 4);
        for m in c.models() {
            for &mode in &m.modes {
                let providers: Vec<_> = m.servings(mode).map(|(p, _)| p).collect();
                assert_eq!(providers, ["fal", "replicate"], "{} {mode:?}", m.id);
            }
        }
        // Without Replicate configured, the catalogue is refused at start.
        assert!(matches!(
            Catalogue::parse(&shipped(), &["fal"]),
            Err(CatalogueError::Invalid(..))
        ));
    }

    fn model() -> Model {
        serde_json::from_value(serde_json::json!({
            "id": "m", "name": "M", "modes": ["text"], "seconds": [5, 10],
            "aspect_ratios": ["16:9"], "audio": false, "cost": {"5": 2, "10": 4},
            "default": true,
            "providers": [{"provider": "fal", "text": "fal-ai/m"}]
        }))
        .unwrap()
    }

    #[test]
    fn r42_a_request_is_fitted_and_priced_by_its_model() {
        let m = model();
        let fitted = m.fit(Ask::default()).unwrap();
        assert_eq!(
            (
                fitted.seconds,
                fitted.aspect_ratio.as_str(),
                fitted.audio,
                fitted.cost
            ),
            (10, "16:9", false, 4)
        );
        let five = m
            .fit(Ask {
                seconds: Some(5),
                ..Ask::default()
            })
            .unwrap();
        assert_eq!(five.cost, 2);
        for ask in [
            Ask {
                seconds: Some(8),
                ..Ask::default()
            },
            Ask {
                aspect_ratio: Some("9:16"),
                ..Ask::default()
            },
            Ask {
                audio: Some(true),
                ..Ask::default()
            },
            Ask {
                mode: Some(Mode::Image),
                ..Ask::default()
            },
        ] {
            assert!(matches!(m.fit(ask), Err(ModelError::Unsupported { .. })));
        }
    }

    #[test]
    fn r42_bad_catalogues_are_refused() {
        let one = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = serde_json::to_value(vec![model()]).unwrap();
            f(&mut v[0]);
            Catalogue::parse(&v.to_string(), &["fal"])
        };
        assert!(one(&|_| {}).is_ok());
        assert!(one(&|m| m["default"] = false.into()).is_err());
        assert!(one(&|m| m["cost"]["10"] = 0.into()).is_err());
        assert!(one(&|m| m["cost"] = serde_json::json!({"5": 2})).is_err());
        assert!(one(&|m| m["seconds"] = serde_json::json!([10, 5])).is_err());
        assert!(one(&|m| m["aspect_ratios"] = serde_json::json!(["4:3"])).is_err());
        assert!(one(&|m| m["providers"][0]["provider"] = "other".into()).is_err());
        assert!(one(&|m| m["modes"] = serde_json::json!(["text", "image"])).is_err());
        assert!(one(&|m| m["id"] = "Bad Id".into()).is_err());
        assert!(Catalogue::parse("{}", &["fal"]).is_err());
    }
}
