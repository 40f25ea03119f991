//! The video vendors' published input schemas, recorded in `local/vendor-schemas/`
//! (each endpoint with its source and the date it was read), and the check the fal and
//! Replicate emulators make of every request against them: a request the real vendor
//! would refuse is refused, in that vendor's shape (each emulator words it); an input
//! the real vendor would ignore is accepted and recorded as ignored.
//!
//! What is checked is the part of JSON Schema those documents use: `type`, `enum`,
//! `minimum`/`maximum`, `format: uri`, `required`; and what their descriptions state
//! beyond it: `ignored_when` (Kling ignores the aspect ratio when given a start image)
//! and `rules` (Hailuo makes 10 s only at 768p).
//!
//! Every request received is kept in a [`Log`], oldest first, for
//! `GET /_local/providers/{name}/requests`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};

const FAL: &str = include_str!("../../vendor-schemas/fal.json");
const REPLICATE: &str = include_str!("../../vendor-schemas/replicate.json");

/// One vendor's recorded schemas, by its id of the model.
#[derive(Debug, Clone, Deserialize)]
pub struct Schemas {
    pub provider: String,
    pub endpoints: BTreeMap<String, EndpointSchema>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSchema {
    /// Where it was read, and when.
    pub source: String,
    pub read: String,
    pub required: Vec<String>,
    pub properties: BTreeMap<String, Property>,
    /// An input the model ignores when the named other one is given.
    #[serde(default)]
    pub ignored_when: BTreeMap<String, String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default, rename = "enum")]
    pub one_of: Option<Vec<Value>>,
    #[serde(default)]
    pub minimum: Option<i64>,
    #[serde(default)]
    pub maximum: Option<i64>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub default: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    String,
    Integer,
    Boolean,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
        }
    }

    fn fits(self, v: &Value) -> bool {
        match self {
            Self::String => v.is_string(),
            Self::Integer => v.is_i64() || v.is_u64(),
            Self::Boolean => v.is_boolean(),
        }
    }
}

/// A limit the vendor states in words: when `when` holds (the values sent, or the
/// defaults), each input of `then` must be one of its values.
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    pub when: Map<String, Value>,
    pub then: BTreeMap<String, Vec<Value>>,
    pub description: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Why one input does not fit.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Missing,
    WrongType(Kind),
    NotOneOf(Vec<Value>),
    Below(i64),
    Above(i64),
    NotUri,
    /// A stated limit (its words).
    Rule(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub field: String,
    pub problem: Problem,
    /// The value sent, if any.
    pub input: Option<Value>,
}

impl Schemas {
    pub fn fal() -> Self {
        Self::parse(FAL)
    }

    pub fn replicate() -> Self {
        Self::parse(REPLICATE)
    }

    fn parse(text: &str) -> Self {
        serde_json::from_str(text).expect("the recorded vendor schemas are valid")
    }

    pub fn get(&self, endpoint: &str) -> Option<&EndpointSchema> {
        self.endpoints.get(endpoint)
    }
}

impl EndpointSchema {
    /// The inputs the vendor would ignore (names it has no field for, and those its
    /// description says it ignores alongside another), or why it refuses the input.
    pub fn check(&self, input: &Map<String, Value>) -> Result<Vec<String>, Vec<Violation>> {
        let mut violations = Vec::new();
        for name in &self.required {
            if input.get(name).is_none_or(Value::is_null) {
                violations.push(Violation {
                    field: name.clone(),
                    problem: Problem::Missing,
                    input: None,
                });
            }
        }
        let mut ignored = Vec::new();
        for (name, value) in input {
            let Some(p) = self.properties.get(name) else {
                ignored.push(name.clone());
                continue;
            };
            if let Some(problem) = p.problem(value) {
                violations.push(Violation {
                    field: name.clone(),
                    problem,
                    input: Some(value.clone()),
                });
            }
        }
        for rule in &self.rules {
            let value_of = |name: &str| {
                input
                    .get(name)
                    .cloned()
                    .or_else(|| self.properties.get(name)?.default.clone())
            };
            let applies = rule
                .when
                .iter()
                .all(|(k, v)| value_of(k).as_ref() == Some(v));
            for (name, allowed) in rule.then.iter().filter(|_| applies) {
                if !value_of(name).is_some_and(|v| allowed.contains(&v)) {
                    violations.push(Violation {
                        field: name.clone(),
                        problem: Problem::Rule(rule.description.clone()),
                        input: input.get(name).cloned(),
                    });
                }
            }
        }
        if !violations.is_empty() {
            return Err(violations);
        }
        for (name, other) in &self.ignored_when {
            if input.contains_key(name) && input.contains_key(other) {
                ignored.push(name.clone());
            }
        }
        Ok(ignored)
    }
}

impl Property {
    fn problem(&self, v: &Value) -> Option<Problem> {
        if !self.kind.fits(v) {
            return Some(Problem::WrongType(self.kind));
        }
        if let Some(allowed) = self.one_of.as_ref().filter(|a| !a.contains(v)) {
            return Some(Problem::NotOneOf(allowed.clone()));
        }
        let n = v.as_i64();
        if let (Some(min), Some(n)) = (self.minimum, n)
            && n < min
        {
            return Some(Problem::Below(min));
        }
        if let (Some(max), Some(n)) = (self.maximum, n)
            && n > max
        {
            return Some(Problem::Above(max));
        }
        let uri = |s: &str| s.starts_with("https://") || s.starts_with("http://");
        if self.format.as_deref() == Some("uri") && !v.as_str().is_some_and(uri) {
            return Some(Problem::NotUri);
        }
        None
    }
}

/// One request as an emulator received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub model: String,
    pub input: Value,
    pub at: String,
    /// Inputs the real vendor would ignore.
    pub ignored: Vec<String>,
    /// Whether it was refused as not fitting the model's schema.
    pub refused: bool,
}

/// The requests an emulator received, oldest first.
#[derive(Debug, Default)]
pub struct Log(Mutex<Vec<Received>>);

impl Log {
    pub fn add(&self, received: Received) {
        self.0.lock().expect("request log").push(received);
    }

    pub fn all(&self) -> Vec<Received> {
        self.0.lock().expect("request log").clone()
    }
}

/// The logs by provider name.
pub type Logs = Arc<Vec<(&'static str, Arc<Log>)>>;

async fn list(State(logs): State<Logs>, Path(name): Path<String>) -> Response {
    let Some((_, log)) = logs.iter().find(|(n, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such provider").into_response();
    };
    let items: Vec<Value> = log
        .all()
        .into_iter()
        .map(|r| {
            json!({
                "model": r.model,
                "input": r.input,
                "at": r.at,
                "ignored": r.ignored,
                "refused": r.refused,
            })
        })
        .collect();
    axum::Json(json!({ "items": items })).into_response()
}

/// `GET /_local/providers/{name}/requests`.
pub fn router(logs: Logs) -> Router {
    Router::new()
        .route("/_local/providers/{name}/requests", get(list))
        .with_state(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_recorded_schemas_name_their_source_and_date() {
        for s in [Schemas::fal(), Schemas::replicate()] {
            assert!(!s.endpoints.is_empty());
            for (id, e) in &s.endpoints {
                assert!(!e.source.trim().is_empty(), "{id}");
                assert!(
                    chrono::NaiveDate::parse_from_str(&e.read, "%Y-%m-%d").is_ok(),
                    "{id}"
                );
                assert!(e.properties.contains_key("prompt"), "{id}");
            }
        }
    }

    #[test]
    fn a_value_outside_the_schema_is_refused_and_an_unknown_input_ignored() {
        let fal = Schemas::fal();
        let kling = fal
            .get("fal-ai/kling-video/v2.1/master/text-to-video")
            .unwrap();
        let v = kling
            .check(&input(json!({"prompt": "p", "duration": "5s", "x": 1})))
            .unwrap_err();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field, "duration");
        assert!(matches!(v[0].problem, Problem::NotOneOf(_)));
        let wrong_type = kling
            .check(&input(json!({"prompt": "p", "duration": 5})))
            .unwrap_err();
        assert_eq!(wrong_type[0].problem, Problem::WrongType(Kind::String));
        assert_eq!(
            kling.check(&input(json!({"prompt": "p", "duration": "10", "seed": 1}))),
            Ok(vec!["seed".to_owned()])
        );
        let image = fal
            .get("fal-ai/kling-video/v2.1/master/image-to-video")
            .unwrap();
        let missing = image.check(&input(json!({"prompt": "p"}))).unwrap_err();
        assert_eq!(
            (missing[0].field.as_str(), &missing[0].problem),
            ("image_url", &Problem::Missing)
        );
    }

    #[test]
    fn stated_limits_hold_with_the_defaults() {
        let replicate = Schemas::replicate();
        let hailuo = replicate.get("minimax/hailuo-02").unwrap();
        // 10 s at the default 1080p is refused; at 768p it is made.
        let refused = hailuo
            .check(&input(json!({"prompt": "p", "duration": 10})))
            .unwrap_err();
        assert!(matches!(refused[0].problem, Problem::Rule(_)));
        assert!(
            hailuo
                .check(&input(
                    json!({"prompt": "p", "duration": 10, "resolution": "768p"})
                ))
                .is_ok()
        );
        let kling = replicate.get("kwaivgi/kling-v2.1-master").unwrap();
        assert_eq!(
            kling.check(&input(json!({
                "prompt": "p", "duration": 5, "aspect_ratio": "1:1",
                "start_image": "https://x/i.png"
            }))),
            Ok(vec!["aspect_ratio".to_owned()])
        );
        let seedance = replicate.get("bytedance/seedance-1-pro").unwrap();
        let short = seedance
            .check(&input(
                json!({"prompt": "p", "duration": 2, "image": "file.png"}),
            ))
            .unwrap_err();
        assert_eq!(short.len(), 2);
    }
}
