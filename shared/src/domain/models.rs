//! The catalogue of video models (R42) and who serves each one (R43). Plain Rust: the
//! catalogue is configuration, a file (`infra/models.json`) built into every function
//! that reads it ([`SHIPPED`]), parsed and checked here once at start, so a bad
//! catalogue stops the function rather than a request. (It outgrew a CloudFormation
//! parameter's 4,096 bytes once each provider's input shape was in it.)
//!
//! A model is ours (`veo-3.1`); each provider that serves it has its own id for it
//! (`fal-ai/veo3.1` at fal, `google/veo-3.1` at Replicate), sometimes one per mode,
//! and its own input: where the image goes, how a length is written, which inputs it
//! has at all. The catalogue says so per provider and mode ([`Endpoint`]), taken from
//! the vendors' published schemas (recorded in `local/vendor-schemas/`, which the
//! local emulators enforce). The order of `providers` is the order of preference: a
//! job goes to the first healthy one and moves down the list when one fails (see
//! `generate`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::video::{ASPECT_RATIOS, Mode, VideoSettings};

/// The catalogue as shipped: `infra/models.json`.
pub const SHIPPED: &str = include_str!("../../../infra/models.json");

/// How a provider's model takes a clip's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthForm {
    /// A JSON number of seconds: `5`.
    Integer,
    /// The seconds as text: `"5"`.
    Text,
    /// The seconds as text with their unit: `"5s"`.
    TextWithUnit,
}

/// The length's field and form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthInput {
    pub field: String,
    pub form: LengthForm,
}

impl LengthInput {
    fn value(&self, seconds: u32) -> Value {
        match self.form {
            LengthForm::Integer => json!(seconds),
            LengthForm::Text => json!(seconds.to_string()),
            LengthForm::TextWithUnit => json!(format!("{seconds}s")),
        }
    }
}

/// One provider's model for one mode, and the shape of its input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// The provider's id of the model.
    pub model: String,
    /// The field the image's link goes in (image-to-video only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub duration: LengthInput,
    /// The aspect ratio's field; none where the model has no such input, or ignores
    /// it (an image's own shape decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// The sound switch's field; none where the model makes no sound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
    /// Inputs always sent as they are: a resolution every length is allowed at, or
    /// the same quality at every provider.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fixed: BTreeMap<String, Value>,
}

impl Endpoint {
    /// The model's input for a request: the prompt, the settings in the model's own
    /// fields and forms, the image's link. Nothing about the person (R16), and
    /// nothing the model does not read.
    pub fn input(
        &self,
        prompt: &str,
        settings: &VideoSettings,
        image_url: Option<&str>,
    ) -> Map<String, Value> {
        let mut input: Map<String, Value> = self
            .fixed
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        input.insert("prompt".into(), json!(prompt));
        input.insert(
            self.duration.field.clone(),
            self.duration.value(settings.seconds),
        );
        if let Some(field) = &self.aspect_ratio {
            input.insert(field.clone(), json!(settings.aspect_ratio));
        }
        if let Some(field) = &self.audio {
            input.insert(field.clone(), json!(settings.audio));
        }
        if let (Some(field), Some(url)) = (&self.image, image_url) {
            input.insert(field.clone(), json!(url));
        }
        input
    }

    /// Why this endpoint cannot serve `mode` of `model`, if it cannot.
    fn check(&self, model: &Model, mode: Mode) -> Result<(), String> {
        let fields: Vec<&str> = std::iter::once("prompt")
            .chain(std::iter::once(self.duration.field.as_str()))
            .chain(self.image.as_deref())
            .chain(self.aspect_ratio.as_deref())
            .chain(self.audio.as_deref())
            .chain(self.fixed.keys().map(String::as_str))
            .collect();
        let distinct: BTreeSet<&str> = fields.iter().copied().collect();
        if self.model.trim().is_empty() || fields.iter().any(|f| f.trim().is_empty()) {
            return Err("a model id and field names are needed".into());
        }
        if distinct.len() != fields.len() {
            return Err(format!("{}: each input in one field", self.model));
        }
        if (mode == Mode::Image) != self.image.is_some() {
            return Err(format!(
                "{}: an image field for image-to-video, and only there",
                self.model
            ));
        }
        if model.audio != self.audio.is_some() {
            return Err(format!(
                "{}: a sound switch exactly when the model makes sound",
                self.model
            ));
        }
        if mode == Mode::Text && model.aspect_ratios.len() > 1 && self.aspect_ratio.is_none() {
            return Err(format!(
                "{}: an aspect ratio field, for the model offers several",
                self.model
            ));
        }
        Ok(())
    }
}

/// One provider's models for a model, per mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serving {
    /// The provider's name, as the provider registry knows it (`fal`, `replicate`).
    pub provider: String,
    /// Its model for text-to-video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Endpoint>,
    /// Its model for image-to-video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Endpoint>,
}

impl Serving {
    /// The provider's model for `mode`, if it serves that mode.
    pub fn endpoint(&self, mode: Mode) -> Option<&Endpoint> {
        match mode {
            Mode::Text => self.text.as_ref(),
            Mode::Image => self.image.as_ref(),
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

    /// The providers that can make `mode`, in order, each with its model.
    pub fn servings(&self, mode: Mode) -> impl Iterator<Item = (&str, &Endpoint)> {
        self.providers
            .iter()
            .filter_map(move |s| Some((s.provider.as_str(), s.endpoint(mode)?)))
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

/// The default model's id in the shipped catalogue, read without checking it against
/// a deployment's providers: for the operators' tool, which names none.
pub fn shipped_default_id() -> Option<String> {
    let models: Vec<serde_json::Value> = serde_json::from_str(SHIPPED).ok()?;
    models
        .iter()
        .find(|m| m["default"].as_bool() == Some(true))
        .and_then(|m| m["id"].as_str())
        .map(str::to_owned)
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
                for mode in [Mode::Text, Mode::Image] {
                    match serving.endpoint(mode) {
                        Some(_) if !m.modes.contains(&mode) => {
                            return bad(format!(
                                "{} serves {}-to-video, which the model does not make",
                                serving.provider,
                                mode.as_str()
                            ));
                        }
                        Some(e) => e
                            .check(m, mode)
                            .map_err(|why| CatalogueError::Invalid(m.id.clone(), why))?,
                        None => {}
                    }
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

    fn shipped() -> String {
        SHIPPED.to_owned()
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
            "providers": [{"provider": "fal", "text": {
                "model": "fal-ai/m", "duration": {"field": "duration", "form": "text"}
            }}]
        }))
        .unwrap()
    }

    #[test]
    fn r42_each_provider_gets_the_settings_in_its_own_fields_and_forms() {
        let c = Catalogue::parse(&shipped(), &["fal", "replicate"]).unwrap();
        let endpoint = |model: &str, provider: &str, mode: Mode| {
            c.get(Some(model))
                .unwrap()
                .servings(mode)
                .find(|(p, _)| *p == provider)
                .unwrap()
                .1
                .clone()
        };
        let ten = VideoSettings {
            seconds: 10,
            aspect_ratio: "16:9".into(),
            audio: false,
        };
        let kling = endpoint("kling-2.1", "replicate", Mode::Image).input("p", &ten, Some("u"));
        assert_eq!(
            Value::Object(kling),
            json!({"prompt": "p", "duration": 10, "start_image": "u"})
        );
        let hailuo = endpoint("hailuo-02", "replicate", Mode::Text).input("p", &ten, None);
        assert_eq!(
            Value::Object(hailuo),
            json!({"prompt": "p", "duration": 10, "resolution": "768p"})
        );
        let fal_kling = endpoint("kling-2.1", "fal", Mode::Text).input("p", &ten, None);
        assert_eq!(fal_kling["duration"], "10");
        let eight = VideoSettings {
            seconds: 8,
            aspect_ratio: "9:16".into(),
            audio: true,
        };
        let veo = endpoint("veo-3.1", "fal", Mode::Image).input("p", &eight, Some("u"));
        assert_eq!(
            Value::Object(veo),
            json!({"prompt": "p", "duration": "8s", "aspect_ratio": "9:16",
                   "generate_audio": true, "image_url": "u", "resolution": "1080p"})
        );
    }

    #[test]
    fn r42_an_endpoint_that_cannot_take_its_mode_is_refused_at_start() {
        let with = |provider: Value| {
            let mut m = serde_json::to_value(model()).unwrap();
            m["providers"] = json!([provider]);
            Catalogue::parse(&json!([m]).to_string(), &["fal"])
        };
        let duration = json!({"field": "duration", "form": "text"});
        // Image-to-video without a field for the image, or text-to-video with one.
        let mut image_model = serde_json::to_value(model()).unwrap();
        image_model["modes"] = json!(["text", "image"]);
        image_model["providers"] = json!([{"provider": "fal",
            "text": {"model": "t", "duration": duration},
            "image": {"model": "i", "duration": duration}}]);
        assert!(Catalogue::parse(&json!([image_model]).to_string(), &["fal"]).is_err());
        assert!(with(json!({"provider": "fal", "text": {"model": "t", "image": "image_url", "duration": duration}})).is_err());
        // A sound switch on a model without sound; a field used twice; an unknown key.
        assert!(with(json!({"provider": "fal", "text": {"model": "t", "audio": "generate_audio", "duration": duration}})).is_err());
        assert!(with(json!({"provider": "fal", "text": {"model": "t", "duration": duration, "fixed": {"duration": "5"}}})).is_err());
        assert!(with(json!({"provider": "fal", "text": {"model": "t", "duration": duration, "seconds": 5}})).is_err());
        // A mode the model does not make.
        assert!(
            with(
                json!({"provider": "fal", "text": {"model": "t", "duration": duration},
            "image": {"model": "i", "image": "image_url", "duration": duration}})
            )
            .is_err()
        );
        assert!(
            with(json!({"provider": "fal", "text": {"model": "t", "duration": duration}})).is_ok()
        );
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
