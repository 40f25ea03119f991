//! fal.ai's queue API, locally: the same wire format as `https://queue.fal.run` (and the
//! payload-deletion call of `https://api.fal.ai/v1`), so the real client works
//! unchanged against it.
//!
//! - `POST /_local/fal/{model_id}` → `{request_id, status_url, response_url, cancel_url}`
//! - `GET  …/requests/{id}/status[?logs=1]` → `{status: IN_QUEUE, queue_position}`,
//!   `{status: IN_PROGRESS, logs}` or `{status: COMPLETED, logs, metrics[, error,
//!   error_type]}` (`logs` is null unless asked for), each with the request's URLs
//! - `GET  …/requests/{id}` → `{video: {url, content_type, file_size}}`
//! - `PUT  …/requests/{id}/cancel`
//! - `DELETE /_local/fal/api/v1/models/requests/{id}/payloads`
//! - `GET  /_local/fal/files/{id}.mp4`: the output, a real small MP4 with audio.
//! - `GET  /_local/fal/.well-known/jwks.json`: the webhook keys (`rest.fal.ai`'s).
//!
//! A request takes `duration` to finish. A submit with `?fal_webhook=URL` is followed,
//! once the request ends, by fal's completion call to that URL: the body
//! `{request_id, gateway_request_id, status: OK|ERROR, payload[, error]}`, signed with
//! ED25519 over `request_id \n user_id \n timestamp \n sha256hex(body)` in the
//! `X-Fal-Webhook-*` headers, with a key the JWKS publishes; an answer other than 2xx
//! is retried, up to 10 times with growing waits, as fal does.
//!
//! Words in the prompt choose a failure: `emulator-fail` ends failed; `emulator-5xx`
//! makes submit answer 503 three times, then work; `emulator-429` makes submit answer
//! 429 with Retry-After once; `emulator-hang` never finishes; `emulator-big` returns a
//! 50 MB file; `emulator-no-webhook` never calls the webhook (a lost call);
//! `emulator-webhook-twice` calls it twice (a resent call); `emulator-not-mp4` serves
//! a file that is not a video; `emulator-c2pa` serves one that carries fal's own content
//! credentials, as a provider that signs its outputs would; `emulator-refuse` is
//! refused by fal's content checker as fal refuses: accepted and queued, its status
//! `COMPLETED` with no error, its result 422 `{detail: [{loc, msg, type:
//! "content_policy_violation", url, input}]}`, its webhook `status: ERROR`, `error:
//! "Invalid status code: 422"` with that detail as the payload (docs.fal.ai/errors and
//! /model-endpoints/webhooks, read 2026-12-07).
//!
//! Every submission is checked against the endpoint's published input schema
//! (`local/vendor-schemas/fal.json`, see [`super::vendor_schema`]): a value outside it
//! is answered 422 `{detail: [{loc: ["body", field], msg, type, input}]}` as fal's
//! pydantic validation answers it; an endpoint without a recorded schema is 404;
//! inputs fal has no field for are accepted and recorded as ignored.
//!
//! The outage switch (`outage`) makes every call answer 503, or accepts work that
//! never finishes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use super::vendor_schema::{Kind, Problem, Received, Violation};

pub const SAMPLE_MP4: &[u8] = include_bytes!("../../assets/sample.mp4");
pub const LOCAL_FAL_KEY: &str = "local-fal-key";
/// Size of the `emulator-big` output.
pub const BIG_OUTPUT_BYTES: u64 = 50 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct FalRequest {
    pub model: String,
    /// The input exactly as received, to check what a provider is given (R16).
    pub input: Value,
    pub submitted: Instant,
    pub cancelled: bool,
    pub payload_deleted: bool,
    /// Whether the input image could be read through the link it was given.
    pub image_ok: Option<bool>,
    /// The `fal_webhook` address given at submission.
    pub webhook: Option<String>,
    /// The status of each completion call made so far (0: no answer).
    pub calls: Vec<u16>,
    /// How many times its status was asked for.
    pub status_looks: u32,
    /// Accepted while the emulator was `slow`: never finishes.
    pub hung: bool,
}

/// The webhook signing key and its id; replaced by [`FalEmulator::rotate_key`].
struct SigningKey {
    kid: String,
    pair: ring::signature::Ed25519KeyPair,
}

/// The seed of the emulator's first signing key: fixed, like the local API key, so a
/// sample event signed once (`events/apigw/provider-webhook-fal.json`) verifies.
pub const LOCAL_FAL_SIGNING_SEED: &[u8; 32] = b"local-fal-webhook-signing-seed-1";

impl SigningKey {
    fn local() -> Self {
        Self {
            kid: "local-1".into(),
            pair: ring::signature::Ed25519KeyPair::from_seed_unchecked(LOCAL_FAL_SIGNING_SEED)
                .expect("a 32-byte seed"),
        }
    }

    fn generate() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("a new key");
        Self {
            kid: uuid::Uuid::new_v4().simple().to_string(),
            pair: ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("its own key"),
        }
    }
}

/// The fal account id the emulator's calls carry.
pub const LOCAL_FAL_USER_ID: &str = "local-fal-user";
/// Waits between a completion call's attempts (fal: 10 retries over two hours).
const CALL_RETRIES: u32 = 10;

pub struct FalEmulator {
    base_url: String,
    schemas: super::vendor_schema::Schemas,
    /// Every submission, oldest first (`GET /_local/providers/fal/requests`).
    pub received: Arc<super::vendor_schema::Log>,
    duration: Duration,
    requests: Mutex<HashMap<String, FalRequest>>,
    /// Refusals already served per prompt, for the 5xx/429 words.
    refusals: super::Refusals,
    http: reqwest::Client,
    key: Mutex<Arc<SigningKey>>,
    /// First wait before a completion call is tried again; doubles each time.
    retry_base: Duration,
    jwks_fetches: std::sync::atomic::AtomicU32,
    /// A test's bad answer: results name this address as the output (a host fal does
    /// not serve from).
    pub output_at: Mutex<Option<String>>,
    /// A test's bad answer: the output file redirects here.
    pub output_redirects_to: Mutex<Option<String>>,
    /// A test's refusal: payload deletions answer 403 while set.
    pub refuse_deletions: std::sync::atomic::AtomicBool,
    /// The outage switch (`POST /_local/providers/fal/outage`).
    pub outage: Arc<super::outage::Switch>,
}

impl FalEmulator {
    pub fn new(base_url: impl Into<String>, duration: Duration) -> Arc<Self> {
        Arc::new(Self {
            base_url: base_url.into(),
            schemas: super::vendor_schema::Schemas::fal(),
            received: Default::default(),
            duration,
            requests: Mutex::default(),
            refusals: Default::default(),
            http: crate::http_client(),
            key: Mutex::new(Arc::new(SigningKey::local())),
            retry_base: Duration::from_millis(500),
            jwks_fetches: Default::default(),
            output_at: Mutex::default(),
            output_redirects_to: Mutex::default(),
            refuse_deletions: Default::default(),
            outage: Default::default(),
        })
    }

    /// A new signing key replaces the published one, as when fal rotates its keys.
    pub fn rotate_key(&self) {
        *self.key.lock().expect("key") = Arc::new(SigningKey::generate());
    }

    /// How many times the key set was fetched.
    pub fn jwks_fetches(&self) -> u32 {
        self.jwks_fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn signing_key(&self) -> Arc<SigningKey> {
        self.key.lock().expect("key").clone()
    }

    /// The headers fal signs a call with, for `body`, at `timestamp` (epoch seconds).
    pub fn sign(
        &self,
        request_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        self.sign_for(LOCAL_FAL_USER_ID, request_id, timestamp, body)
    }

    /// A call as fal signs it for the account `user_id` (fal signs every customer's
    /// calls with the same published keys).
    pub fn sign_for(
        &self,
        user_id: &str,
        request_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        let timestamp = timestamp.to_string();
        let message = shared::adapters::providers::fal_webhook::signed_message(
            request_id, user_id, &timestamp, body,
        );
        let signature = hex::encode(self.signing_key().pair.sign(&message).as_ref());
        vec![
            ("X-Fal-Webhook-Request-Id", request_id.to_owned()),
            ("X-Fal-Webhook-User-Id", user_id.to_owned()),
            ("X-Fal-Webhook-Timestamp", timestamp),
            ("X-Fal-Webhook-Signature", signature),
        ]
    }

    /// The body of the completion call about request `id`, once it has ended.
    fn completion_body(&self, id: &str) -> Option<Value> {
        let body = match outcome(self, id)? {
            Outcome::Pending(_) => return None,
            Outcome::Done => json!({
                "request_id": id,
                "gateway_request_id": id,
                "status": "OK",
                "payload": self.result_payload(id),
            }),
            Outcome::Failed => json!({
                "request_id": id,
                "gateway_request_id": id,
                "status": "ERROR",
                "error": "Invalid status code: 422",
                "payload": { "detail": [{ "msg": "generation failed", "type": "generation_error" }] },
            }),
            Outcome::Refused => json!({
                "request_id": id,
                "gateway_request_id": id,
                "status": "ERROR",
                "error": "Invalid status code: 422",
                "payload": { "detail": content_policy_detail(&self.input_of(id)) },
            }),
        };
        Some(body)
    }

    /// Waits for request `id` to end, then calls its webhook as fal does: signed, and
    /// again after a growing wait while the answer is not 2xx.
    async fn call_back(self: Arc<Self>, id: String, url: String, times: u32) {
        let body = loop {
            if let Some(b) = self.completion_body(&id) {
                break b.to_string();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        for _ in 0..times {
            super::call_until_ok(
                &self.http,
                &url,
                &body,
                (CALL_RETRIES + 1, self.retry_base),
                || {
                    self.sign(&id, chrono::Utc::now().timestamp(), body.as_bytes())
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect()
                },
                |status| {
                    if let Some(r) = self.requests.lock().expect("requests").get_mut(&id) {
                        r.calls.push(status);
                    }
                },
            )
            .await;
        }
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/_local/fal/files/{file}", get(file))
            .route("/_local/fal/.well-known/jwks.json", get(jwks))
            .route(
                "/_local/fal/api/v1/models/requests/{id}/payloads",
                axum::routing::delete(delete_payloads),
            )
            .route("/_local/fal/{*path}", any(queue))
            .with_state(self.clone())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<FalRequest> {
        self.requests
            .lock()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A finished request's result: `{video: {url, content_type, file_name, file_size}}`.
    fn result_payload(&self, id: &str) -> Value {
        let prompt = self.prompt_of(id);
        let size = if prompt.contains("emulator-big") {
            BIG_OUTPUT_BYTES
        } else if prompt.contains("emulator-c2pa") {
            provider_signed_mp4().len() as u64
        } else {
            SAMPLE_MP4.len() as u64
        };
        let url = self
            .output_at
            .lock()
            .ok()
            .and_then(|o| o.clone())
            .unwrap_or_else(|| format!("{}/files/{id}.mp4", self.queue_url()));
        json!({
            "video": {
                "url": url,
                "content_type": "video/mp4",
                "file_name": "output.mp4",
                "file_size": size,
            }
        })
    }

    fn queue_url(&self) -> String {
        format!("{}/_local/fal", self.base_url)
    }

    fn input_of(&self, id: &str) -> Value {
        self.requests
            .lock()
            .ok()
            .and_then(|r| r.get(id).map(|q| q.input.clone()))
            .unwrap_or_default()
    }

    fn prompt_of(&self, id: &str) -> String {
        self.requests
            .lock()
            .ok()
            .and_then(|r| {
                r.get(id)
                    .map(|q| q.input["prompt"].as_str().unwrap_or_default().to_owned())
            })
            .unwrap_or_default()
    }

    /// Serves a refusal for `word` up to `times` times per prompt.
    fn refuse(&self, prompt: &str, word: &str, times: u32) -> bool {
        self.refusals.refuse(prompt, word, times)
    }
}

fn problem(status: StatusCode, detail: &str) -> Response {
    (status, axum::Json(json!({ "detail": detail }))).into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Key {LOCAL_FAL_KEY}"))
}

async fn queue(
    State(fal): State<Arc<FalEmulator>>,
    Path(path): Path<String>,
    method: axum::http::Method,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let with_logs = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .any(|p| p == "logs=1" || p == "logs=true");
    if !authorized(&headers) {
        return problem(StatusCode::UNAUTHORIZED, "missing or wrong API key");
    }
    if fal.outage.down() {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
    }
    // `{model}/requests/{id}[/status|/cancel]` or a submit to `{model}`.
    let parts: Vec<&str> = path.split('/').collect();
    let at = parts.iter().position(|p| *p == "requests");
    let webhook = query_param(query.as_deref(), "fal_webhook");
    match (method.as_str(), at) {
        ("POST", None) => submit(&fal, &path, &body, webhook).await,
        ("GET", Some(i)) if parts.len() == i + 3 && parts[i + 2] == "status" => {
            status(&fal, parts[i + 1], with_logs)
        }
        ("GET", Some(i)) if parts.len() == i + 2 => result(&fal, parts[i + 1]),
        ("PUT", Some(i)) if parts.len() == i + 3 && parts[i + 2] == "cancel" => {
            cancel(&fal, parts[i + 1])
        }
        _ => problem(StatusCode::NOT_FOUND, "no such route"),
    }
}

/// One query parameter, decoded.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The published webhook keys, as a JWKS of Ed25519 keys.
async fn jwks(State(fal): State<Arc<FalEmulator>>) -> Response {
    use base64::Engine;
    use ring::signature::KeyPair;
    fal.jwks_fetches
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let key = fal.signing_key();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.pair.public_key().as_ref());
    (
        [(header::CACHE_CONTROL, "public, max-age=86400")],
        axum::Json(json!({
            "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": key.kid, "use": "sig", "alg": "EdDSA" }]
        })),
    )
        .into_response()
}

async fn submit(
    fal: &Arc<FalEmulator>,
    model: &str,
    body: &[u8],
    webhook: Option<String>,
) -> Response {
    let Some(schema) = fal.schemas.get(model) else {
        return problem(
            StatusCode::NOT_FOUND,
            &format!("Application '{model}' not found"),
        );
    };
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return invalid(&[Violation {
            field: String::new(),
            problem: Problem::WrongType(Kind::String),
            input: None,
        }]);
    };
    let checked = schema.check(&fields);
    let input = Value::Object(fields);
    fal.received.add(Received {
        model: model.to_owned(),
        input: input.clone(),
        at: chrono::Utc::now().to_rfc3339(),
        ignored: checked.clone().unwrap_or_default(),
        refused: checked.is_err(),
    });
    if let Err(violations) = checked {
        return invalid(&violations);
    }
    let prompt = input["prompt"].as_str().unwrap_or_default().to_owned();
    if fal.refuse(&prompt, "emulator-5xx", 3) {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
    }
    if fal.refuse(&prompt, "emulator-429", 1) {
        let mut r = problem(StatusCode::TOO_MANY_REQUESTS, "rate limited");
        r.headers_mut()
            .insert(header::RETRY_AFTER, "1".parse().expect("header"));
        return r;
    }
    // Image-to-video: read the image through the link we were given, as fal would.
    let image_ok = match input["image_url"].as_str() {
        Some(url) => Some(match fal.http.get(url).send().await {
            Ok(r) if r.status().is_success() => {
                r.bytes().await.map(|b| !b.is_empty()).unwrap_or(false)
            }
            _ => false,
        }),
        None => None,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let base = format!("{}/{model}/requests/{id}", fal.queue_url());
    fal.requests.lock().expect("requests").insert(
        id.clone(),
        FalRequest {
            model: model.to_owned(),
            input,
            submitted: Instant::now(),
            cancelled: false,
            payload_deleted: false,
            image_ok,
            webhook: webhook.clone(),
            calls: Vec::new(),
            status_looks: 0,
            hung: fal.outage.slow(),
        },
    );
    let calls = if prompt.contains("emulator-no-webhook") {
        0
    } else if prompt.contains("emulator-webhook-twice") {
        2
    } else {
        1
    };
    if let Some(url) = webhook.filter(|_| calls > 0) {
        tokio::spawn(fal.clone().call_back(id.clone(), url, calls));
    }
    axum::Json(json!({
        "request_id": id,
        "response_url": base,
        "status_url": format!("{base}/status"),
        "cancel_url": format!("{base}/cancel"),
        "queue_position": 0,
    }))
    .into_response()
}

enum Outcome {
    Pending(&'static str),
    Done,
    Failed,
    /// fal's content checker refused it: it ran, and ends without a video.
    Refused,
}

/// fal's pydantic answer to an input outside the endpoint's schema (FastAPI's
/// `RequestValidationError`: 422 `{detail: [{loc, msg, type, input}]}`).
fn invalid(violations: &[Violation]) -> Response {
    let detail: Vec<Value> = violations
        .iter()
        .map(|v| {
            let (msg, kind) = match &v.problem {
                Problem::Missing => ("Field required".to_owned(), "missing"),
                Problem::WrongType(k) => (
                    format!("Input should be a valid {}", k.name()),
                    match k {
                        Kind::String => "string_type",
                        Kind::Integer => "int_type",
                        Kind::Boolean => "bool_type",
                    },
                ),
                Problem::NotOneOf(allowed) => {
                    let names: Vec<String> = allowed
                        .iter()
                        .map(|a| {
                            format!(
                                "'{}'",
                                a.as_str().map_or_else(|| a.to_string(), str::to_owned)
                            )
                        })
                        .collect();
                    (
                        format!("Input should be {}", names.join(", ")),
                        "literal_error",
                    )
                }
                Problem::Below(n) => (
                    format!("Input should be greater than or equal to {n}"),
                    "greater_than_equal",
                ),
                Problem::Above(n) => (
                    format!("Input should be less than or equal to {n}"),
                    "less_than_equal",
                ),
                Problem::NotUri => ("Input should be a valid URL".to_owned(), "url_parsing"),
                Problem::Rule(words) => (words.clone(), "value_error"),
            };
            let mut loc = vec![json!("body")];
            if !v.field.is_empty() {
                loc.push(json!(v.field));
            }
            json!({ "loc": loc, "msg": msg, "type": kind, "input": v.input })
        })
        .collect();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({ "detail": detail })),
    )
        .into_response()
}

/// The detail of a refusal by fal's content checker (docs.fal.ai/errors, read
/// 2026-12-07; the message as fal words it in answers seen in public code).
fn content_policy_detail(input: &Value) -> Value {
    json!([{
        "loc": ["body", "prompt"],
        "msg": "The content could not be processed because it contained material flagged by a content checker.",
        "type": "content_policy_violation",
        "url": "https://docs.fal.ai/errors#content_policy_violation",
        "input": input["prompt"],
    }])
}

fn outcome(fal: &FalEmulator, id: &str) -> Option<Outcome> {
    let requests = fal.requests.lock().ok()?;
    let r = requests.get(id)?;
    let prompt = r.input["prompt"].as_str().unwrap_or_default();
    let elapsed = r.submitted.elapsed();
    Some(if r.cancelled || r.image_ok == Some(false) {
        Outcome::Failed
    } else if prompt.contains("emulator-hang") || r.hung {
        Outcome::Pending("IN_PROGRESS")
    } else if elapsed < fal.duration / 5 {
        Outcome::Pending("IN_QUEUE")
    } else if elapsed < fal.duration {
        Outcome::Pending("IN_PROGRESS")
    } else if prompt.contains("emulator-fail") {
        Outcome::Failed
    } else if prompt.contains("emulator-refuse") {
        Outcome::Refused
    } else {
        Outcome::Done
    })
}

/// fal's status answer: the request's URLs always; `queue_position` while queued;
/// `logs` (null unless asked for) once running; `metrics` once completed.
fn status(fal: &FalEmulator, id: &str, with_logs: bool) -> Response {
    if let Some(r) = fal.requests.lock().expect("requests").get_mut(id) {
        r.status_looks += 1;
    }
    let base = format!("{}/requests/{id}", fal.queue_url());
    let mut answer = json!({
        "request_id": id,
        "response_url": base,
        "status_url": format!("{base}/status"),
        "cancel_url": format!("{base}/cancel"),
    });
    let logs = |lines: &[&str]| {
        if with_logs {
            json!(
                lines
                    .iter()
                    .map(|m| json!({
                        "message": m,
                        "level": "INFO",
                        "source": "user",
                        "timestamp": chrono::Utc::now().to_rfc3339(),
                    }))
                    .collect::<Vec<_>>()
            )
        } else {
            Value::Null
        }
    };
    match outcome(fal, id) {
        None => return problem(StatusCode::NOT_FOUND, "no such request"),
        Some(Outcome::Pending("IN_QUEUE")) => {
            answer["status"] = json!("IN_QUEUE");
            answer["queue_position"] = json!(0);
        }
        Some(Outcome::Pending(s)) => {
            answer["status"] = json!(s);
            answer["logs"] = logs(&["Generating video"]);
        }
        // A refusal's status is a plain completion: the refusal is in its result.
        Some(Outcome::Done | Outcome::Refused) => {
            answer["status"] = json!("COMPLETED");
            answer["logs"] = logs(&["Generating video", "Video ready"]);
            answer["metrics"] = json!({ "inference_time": fal.duration.as_secs_f64() });
        }
        Some(Outcome::Failed) => {
            answer["status"] = json!("COMPLETED");
            answer["logs"] = logs(&["Generating video", "Generation failed"]);
            answer["metrics"] = json!({});
            answer["error"] = json!("generation failed");
            answer["error_type"] = json!("generation_error");
        }
    }
    axum::Json(answer).into_response()
}

fn result(fal: &FalEmulator, id: &str) -> Response {
    match outcome(fal, id) {
        None => problem(StatusCode::NOT_FOUND, "no such request"),
        Some(Outcome::Pending(_)) => {
            problem(StatusCode::BAD_REQUEST, "request is still in progress")
        }
        Some(Outcome::Failed) => problem(StatusCode::UNPROCESSABLE_ENTITY, "generation failed"),
        Some(Outcome::Refused) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "detail": content_policy_detail(&fal.input_of(id)) })),
        )
            .into_response(),
        Some(Outcome::Done) => axum::Json(fal.result_payload(id)).into_response(),
    }
}

fn cancel(fal: &FalEmulator, id: &str) -> Response {
    if matches!(outcome(fal, id), Some(Outcome::Done)) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "status": "ALREADY_COMPLETED" })),
        )
            .into_response();
    }
    let mut requests = fal.requests.lock().expect("requests");
    match requests.get_mut(id) {
        Some(r) => {
            r.cancelled = true;
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({ "status": "CANCELLATION_REQUESTED" })),
            )
                .into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "no such request"),
    }
}

async fn delete_payloads(
    State(fal): State<Arc<FalEmulator>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return problem(StatusCode::UNAUTHORIZED, "missing or wrong API key");
    }
    if fal.outage.down() {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
    }
    if fal
        .refuse_deletions
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return problem(StatusCode::FORBIDDEN, "deletion refused");
    }
    let mut requests = fal.requests.lock().expect("requests");
    match requests.get_mut(&id) {
        Some(r) => {
            r.payload_deleted = true;
            let link = format!("{}/files/{id}.mp4", fal.queue_url());
            axum::Json(json!({ "cdn_delete_results": [{ "link": link, "exception": null }] }))
                .into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "no such request"),
    }
}

/// The output file; the 50 MB one is made on the fly (the sample followed by an MP4
/// `free` box), a chunk at a time.
async fn file(State(fal): State<Arc<FalEmulator>>, Path(file): Path<String>) -> Response {
    let id = file.trim_end_matches(".mp4");
    let deleted = fal
        .requests
        .lock()
        .ok()
        .and_then(|r| r.get(id).map(|q| q.payload_deleted));
    match deleted {
        None | Some(true) => return problem(StatusCode::NOT_FOUND, "no such file"),
        Some(false) => {}
    }
    if let Some(to) = fal.output_redirects_to.lock().ok().and_then(|r| r.clone()) {
        return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
    }
    let headers = [(header::CONTENT_TYPE, "video/mp4")];
    // A broken output: labelled an MP4, but not one.
    if fal.prompt_of(id).contains("emulator-not-mp4") {
        return (headers, b"<html>not a video</html>".as_slice()).into_response();
    }
    if fal.prompt_of(id).contains("emulator-c2pa") {
        return (headers, provider_signed_mp4()).into_response();
    }
    if !fal.prompt_of(id).contains("emulator-big") {
        return (headers, SAMPLE_MP4).into_response();
    }
    let padding = BIG_OUTPUT_BYTES - SAMPLE_MP4.len() as u64;
    let mut free_header = (padding as u32).to_be_bytes().to_vec();
    free_header.extend_from_slice(b"free");
    const CHUNK: u64 = 64 * 1024;
    let zeros = Bytes::from(vec![0u8; CHUNK as usize]);
    let body_len = padding - 8;
    let chunks = futures_util::stream::iter(
        std::iter::once(Bytes::from_static(SAMPLE_MP4))
            .chain(std::iter::once(Bytes::from(free_header)))
            .chain((0..body_len.div_ceil(CHUNK)).map(move |i| {
                let len = CHUNK.min(body_len - i * CHUNK) as usize;
                zeros.slice(..len)
            }))
            .map(Ok::<_, std::io::Error>),
    );
    (
        headers,
        [(header::CONTENT_LENGTH, BIG_OUTPUT_BYTES.to_string())],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// The sample video with the provider's own content credentials (a `c2pa.created`
/// manifest signed by a throwaway certificate), made once.
pub fn provider_signed_mp4() -> &'static [u8] {
    static SIGNED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SIGNED.get_or_init(|| sign_as_provider().expect("the emulator signs its sample"))
}

fn sign_as_provider() -> Result<Vec<u8>, c2pa::Error> {
    let signer = c2pa::EphemeralSigner::new("fal.ai emulator")?;
    let definition = serde_json::json!({
        "claim_generator_info": [{ "name": "fal.ai emulator", "version": "1.0" }],
        "title": "output.mp4",
        "format": "video/mp4",
        "assertions": [{
            "label": "c2pa.actions",
            "data": { "actions": [{
                "action": "c2pa.created",
                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            }]}
        }]
    });
    let mut builder =
        c2pa::Builder::from_context(c2pa::Context::new()).with_definition(definition)?;
    let mut source = std::io::Cursor::new(SAMPLE_MP4);
    let mut signed = std::io::Cursor::new(Vec::new());
    builder.sign(&signer, "video/mp4", &mut source, &mut signed)?;
    Ok(signed.into_inner())
}
