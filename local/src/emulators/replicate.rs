//! Replicate's predictions API, locally: the wire format of `https://api.replicate.com`,
//! so Replicate's own client (`replicate` on PyPI, with its base URL) works unchanged.
//!
//! - `POST /_local/replicate/api/v1/models/{owner}/{name}/predictions` with
//!   `{input, webhook?, webhook_events_filter?}` (and `Prefer: wait[=n]`) → 201, the
//!   prediction;
//! - `GET  …/v1/predictions/{id}` → the prediction: `{id, model, version, input,
//!   output, logs, error, status, created_at, started_at, completed_at, data_removed,
//!   urls: {get, cancel, stream, web}, metrics}`, `status` `starting`, `processing`,
//!   `succeeded` (with `output`, the file's URL), `failed` or `canceled`;
//! - `POST …/v1/predictions/{id}/cancel` → the prediction, canceled;
//! - `GET  …/v1/webhooks/default/secret` → `{key: "whsec_…"}`;
//! - `GET  /_local/replicate/delivery/{id}/output.mp4`: the output (as
//!   `replicate.delivery` serves it), a real small MP4 with audio.
//!
//! A prediction takes `duration`. Once it ends, a `webhook` given at creation is
//! POSTed the prediction, signed with Standard Webhooks (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">` keyed by the secret), and called again while it does
//! not answer 2xx. The words `emulator-fail` (ends failed) and `emulator-refuse` (ends
//! failed with E005, Replicate's "flagged as sensitive") choose a failure;
//! `emulator-replicate-429` is answered 429 once, with the wait in the body's
//! `retry_after` and no `Retry-After` header (as Replicate's throttling was seen to
//! answer, 2026-08); `emulator-replicate-5xx` is answered 503 three times. The outage switch makes every API call
//! answer 503, or accepts work that never finishes.
//!
//! Every creation is checked against the model's published input schema
//! (`local/vendor-schemas/replicate.json`, see [`super::vendor_schema`]): a value outside
//! it is answered 422 `{detail, status, title: "Input validation failed",
//! invalid_fields: [{type, field, description}]}` as Replicate answers it; a model
//! without a recorded schema is 404; inputs the model has no field for (or ignores, as
//! its description says) are accepted and recorded as ignored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::fal::SAMPLE_MP4;
use super::outage::Switch;
use super::vendor_schema::{Problem, Received, Violation};

pub const LOCAL_REPLICATE_TOKEN: &str = "r8_local-replicate-token";
/// The local webhook signing secret, as Replicate's API hands it out.
pub const LOCAL_REPLICATE_WEBHOOK_SECRET: &str = "whsec_bG9jYWwtcmVwbGljYXRlLXdlYmhvb2stc2VjcmV0";

#[derive(Debug, Clone)]
pub struct Prediction {
    pub id: String,
    pub model: String,
    /// The input exactly as received, to check what a provider is given (R16).
    pub input: Value,
    pub webhook: Option<String>,
    pub created: Instant,
    pub created_at: String,
    pub canceled: bool,
    /// Accepted while the emulator was `slow`: never finishes.
    pub hung: bool,
    /// The status of each webhook call made so far (0: no answer).
    pub calls: Vec<u16>,
}

pub struct ReplicateEmulator {
    base_url: String,
    schemas: super::vendor_schema::Schemas,
    /// Every creation, oldest first (`GET /_local/providers/replicate/requests`).
    pub received: Arc<super::vendor_schema::Log>,
    /// Refusals already served per prompt, for the 5xx/429 words.
    refusals: super::Refusals,
    duration: Duration,
    predictions: Mutex<HashMap<String, Prediction>>,
    http: reqwest::Client,
    pub outage: Arc<Switch>,
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn error(status: StatusCode, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({ "title": status.canonical_reason(), "detail": detail, "status": status.as_u16() })),
    )
        .into_response()
}

impl ReplicateEmulator {
    pub fn new(base_url: impl Into<String>, duration: Duration) -> Arc<Self> {
        Arc::new(Self {
            base_url: base_url.into(),
            schemas: super::vendor_schema::Schemas::replicate(),
            received: Default::default(),
            refusals: Default::default(),
            duration,
            predictions: Mutex::default(),
            http: crate::http_client(),
            outage: Default::default(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/_local/replicate/api/v1/models/{owner}/{name}/predictions",
                post(create),
            )
            .route("/_local/replicate/api/v1/predictions/{id}", get(read))
            .route(
                "/_local/replicate/api/v1/predictions/{id}/cancel",
                post(cancel),
            )
            .route(
                "/_local/replicate/api/v1/webhooks/default/secret",
                get(secret),
            )
            .route("/_local/replicate/delivery/{id}/output.mp4", get(file))
            .with_state(self.clone())
    }

    /// Every prediction made so far.
    pub fn predictions(&self) -> Vec<Prediction> {
        self.predictions
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Serves a refusal for `word` up to `times` times per prompt.
    fn refuse(&self, prompt: &str, word: &str, times: u32) -> bool {
        self.refusals.refuse(prompt, word, times)
    }

    fn api(&self) -> String {
        format!("{}/_local/replicate/api", self.base_url)
    }

    /// `(status, output, error)` of a prediction now.
    fn state(&self, p: &Prediction) -> (&'static str, Value, Value) {
        let prompt = p.input["prompt"].as_str().unwrap_or_default();
        let elapsed = p.created.elapsed();
        if p.canceled {
            ("canceled", Value::Null, Value::Null)
        } else if p.hung || elapsed < self.duration / 5 {
            if p.hung && elapsed >= self.duration / 5 {
                ("processing", Value::Null, Value::Null)
            } else {
                ("starting", Value::Null, Value::Null)
            }
        } else if elapsed < self.duration {
            ("processing", Value::Null, Value::Null)
        } else if prompt.contains("emulator-refuse") {
            (
                "failed",
                Value::Null,
                json!(
                    "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
                ),
            )
        } else if prompt.contains("emulator-fail") {
            ("failed", Value::Null, json!("Prediction failed."))
        } else {
            (
                "succeeded",
                json!(format!(
                    "{}/_local/replicate/delivery/{}/output.mp4",
                    self.base_url, p.id
                )),
                Value::Null,
            )
        }
    }

    /// The prediction as Replicate's API shows it.
    fn view(&self, p: &Prediction) -> Value {
        let (status, output, error) = self.state(p);
        let ended = matches!(status, "succeeded" | "failed" | "canceled");
        let started = status != "starting";
        let get = format!("{}/v1/predictions/{}", self.api(), p.id);
        json!({
            "id": p.id,
            "model": p.model,
            "version": "hidden",
            "input": p.input,
            "output": output,
            "logs": if started { json!("") } else { Value::Null },
            "error": error,
            "status": status,
            "source": "api",
            "created_at": p.created_at,
            "started_at": if started { json!(p.created_at) } else { Value::Null },
            "completed_at": if ended { json!(now_text()) } else { Value::Null },
            "data_removed": false,
            "urls": {
                "get": get,
                "cancel": format!("{get}/cancel"),
                "stream": format!("{}/stream/{}", self.api(), p.id),
                "web": format!("https://replicate.com/p/{}", p.id),
            },
            "metrics": if ended {
                json!({ "predict_time": self.duration.as_secs_f64(), "total_time": self.duration.as_secs_f64() })
            } else {
                json!({})
            },
        })
    }

    fn view_of(&self, id: &str) -> Option<Value> {
        let p = self.predictions.lock().ok()?.get(id).cloned()?;
        Some(self.view(&p))
    }

    fn ended(&self, id: &str) -> Option<bool> {
        let p = self.predictions.lock().ok()?.get(id).cloned()?;
        Some(matches!(
            self.state(&p).0,
            "succeeded" | "failed" | "canceled"
        ))
    }

    /// Waits for the prediction to end, then POSTs it to its webhook, signed, and
    /// again after a growing wait while the answer is not 2xx (Replicate retries).
    async fn call_back(self: Arc<Self>, id: String, url: String) {
        while self.ended(&id) != Some(true) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let Some(body) = self.view_of(&id).map(|v| v.to_string()) else {
            return;
        };
        let message = format!("msg_{}", uuid::Uuid::new_v4().simple());
        super::call_until_ok(
            &self.http,
            &url,
            &body,
            (8, Duration::from_millis(500)),
            || {
                let ts = chrono::Utc::now().timestamp();
                vec![
                    ("webhook-id".into(), message.clone()),
                    ("webhook-timestamp".into(), ts.to_string()),
                    (
                        "webhook-signature".into(),
                        shared::domain::webhook_signatures::standard_signature(
                            LOCAL_REPLICATE_WEBHOOK_SECRET,
                            &message,
                            ts,
                            body.as_bytes(),
                        ),
                    ),
                ]
            },
            |status| {
                if let Some(p) = self.predictions.lock().expect("predictions").get_mut(&id) {
                    p.calls.push(status);
                }
            },
        )
        .await;
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {LOCAL_REPLICATE_TOKEN}"))
}

/// Replicate's answer to an input outside the model's schema (seen in answers to
/// Replicate's API quoted in public code, 2026-03: `{detail, status, title,
/// invalid_fields}`).
fn invalid(violations: &[Violation]) -> Response {
    let fields: Vec<Value> = violations
        .iter()
        .map(|v| {
            let name = &v.field;
            let (kind, field, description) = match &v.problem {
                Problem::Missing => (
                    "required",
                    "input".to_owned(),
                    format!("{name} is required"),
                ),
                Problem::WrongType(k) => (
                    "invalid_type",
                    format!("input.{name}"),
                    format!(
                        "Invalid type. Expected: {}, given: {}",
                        k.name(),
                        json_type(v.input.as_ref())
                    ),
                ),
                Problem::NotOneOf(allowed) => (
                    "enum",
                    format!("input.{name}"),
                    format!(
                        "{name} must be one of the following: {}",
                        allowed
                            .iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                Problem::Below(n) => (
                    "number_gte",
                    format!("input.{name}"),
                    format!("Must be greater than or equal to {n}"),
                ),
                Problem::Above(n) => (
                    "number_lte",
                    format!("input.{name}"),
                    format!("Must be less than or equal to {n}"),
                ),
                Problem::NotUri => (
                    "format",
                    format!("input.{name}"),
                    "Does not match format 'uri'".to_owned(),
                ),
                Problem::Rule(words) => ("rule", format!("input.{name}"), words.clone()),
            };
            json!({ "type": kind, "field": field, "description": description })
        })
        .collect();
    let detail: String = fields
        .iter()
        .map(|f| {
            format!(
                "- {}: {}\n",
                f["field"].as_str().unwrap_or_default(),
                f["description"].as_str().unwrap_or_default()
            )
        })
        .collect();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "detail": detail,
            "status": 422,
            "title": "Input validation failed",
            "invalid_fields": fields,
        })),
    )
        .into_response()
}

fn json_type(v: Option<&Value>) -> &'static str {
    match v {
        Some(Value::String(_)) => "string",
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "integer",
        Some(Value::Number(_)) => "number",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
        Some(Value::Null) | None => "null",
    }
}

/// What refuses a call before it is read: a wrong token, or an outage.
fn gate(r: &ReplicateEmulator, headers: &HeaderMap) -> Option<Response> {
    if !authorized(headers) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "You did not pass a valid authentication token",
        ));
    }
    if r.outage.down() {
        return Some(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
        ));
    }
    None
}

/// `Prefer: wait` (60 s) or `Prefer: wait=n`.
fn wait_for(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("prefer")?.to_str().ok()?.trim();
    let rest = v.strip_prefix("wait")?;
    let secs = match rest.strip_prefix('=') {
        Some(n) => n.trim().parse::<u64>().ok()?.clamp(1, 60),
        None if rest.is_empty() => 60,
        None => return None,
    };
    Some(Duration::from_secs(secs))
}

async fn create(
    State(r): State<Arc<ReplicateEmulator>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = gate(&r, &headers) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "The request body is not JSON");
    };
    let model = format!("{owner}/{name}");
    let Some(schema) = r.schemas.get(&model) else {
        return error(
            StatusCode::NOT_FOUND,
            "The requested resource could not be found.",
        );
    };
    let fields = body["input"].as_object().cloned().unwrap_or_default();
    let checked = schema.check(&fields);
    let input = Value::Object(fields);
    r.received.add(Received {
        model: model.clone(),
        input: input.clone(),
        at: now_text(),
        ignored: checked.clone().unwrap_or_default(),
        refused: checked.is_err(),
    });
    if let Err(violations) = checked {
        return invalid(&violations);
    }
    let prompt = input["prompt"].as_str().unwrap_or_default();
    if r.refuse(prompt, "emulator-replicate-5xx", 3) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
    }
    if r.refuse(prompt, "emulator-replicate-429", 1) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({
                "detail": "Request was throttled. Your rate limit resets in ~1s.",
                "status": 429,
                "retry_after": 1,
            })),
        )
            .into_response();
    }
    let webhook = body["webhook"].as_str().map(str::to_owned);
    let id: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(26)
        .collect();
    let p = Prediction {
        id: id.clone(),
        model,
        input,
        webhook: webhook.clone(),
        created: Instant::now(),
        created_at: now_text(),
        canceled: false,
        hung: r.outage.slow(),
        calls: Vec::new(),
    };
    r.predictions
        .lock()
        .expect("predictions")
        .insert(id.clone(), p);
    // Only `completed` events are sent (the filter we use); others are not emulated.
    if let Some(url) = webhook {
        tokio::spawn(r.clone().call_back(id.clone(), url));
    }
    if let Some(wait) = wait_for(&headers) {
        let until = Instant::now() + wait;
        while Instant::now() < until && r.ended(&id) != Some(true) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let view = r.view_of(&id).unwrap_or(Value::Null);
    (StatusCode::CREATED, axum::Json(view)).into_response()
}

async fn read(
    State(r): State<Arc<ReplicateEmulator>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = gate(&r, &headers) {
        return refused;
    }
    match r.view_of(&id) {
        Some(v) => axum::Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not found."),
    }
}

async fn cancel(
    State(r): State<Arc<ReplicateEmulator>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = gate(&r, &headers) {
        return refused;
    }
    {
        let mut predictions = r.predictions.lock().expect("predictions");
        let Some(p) = predictions.get_mut(&id) else {
            return error(StatusCode::NOT_FOUND, "Not found.");
        };
        let done = p.created.elapsed() >= r.duration && !p.hung;
        if !done {
            p.canceled = true;
        }
    }
    match r.view_of(&id) {
        Some(v) => axum::Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not found."),
    }
}

async fn secret(State(r): State<Arc<ReplicateEmulator>>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&r, &headers) {
        return refused;
    }
    axum::Json(json!({ "key": LOCAL_REPLICATE_WEBHOOK_SECRET })).into_response()
}

async fn file(State(r): State<Arc<ReplicateEmulator>>, Path(id): Path<String>) -> Response {
    let ok = r
        .predictions
        .lock()
        .ok()
        .and_then(|p| p.get(&id).cloned())
        .is_some_and(|p| r.state(&p).0 == "succeeded");
    if !ok {
        return error(StatusCode::NOT_FOUND, "Not found.");
    }
    ([(header::CONTENT_TYPE, "video/mp4")], SAMPLE_MP4).into_response()
}
