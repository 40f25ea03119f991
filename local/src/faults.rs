//! The fault mode of the local AWS endpoint: a proxy in front of moto that answers, at
//! a configured rate and seed, the failures real AWS answers and moto never does —
//! throttling (`ThrottlingException`, `ProvisionedThroughputExceededException`, S3
//! `SlowDown`), internal errors (500), dropped connections, added latency — and
//! cancels a DynamoDB transaction with `TransactionConflict` when it touches an item
//! that another transaction in flight touches, as DynamoDB does. On chosen tables it
//! can also cancel a share of the transactions with a per-item reason
//! (`ThrottlingError` or `TransactionConflict`), as a hot partition does on AWS.
//!
//! The functions' clients go through it; the SDK's own retries stay on, so what the
//! code must survive is what gets past them. The stack's own provisioning and the
//! tests' inspection go straight to moto. Presigned requests (a browser's upload or
//! download) are passed through untouched: they are not the code's calls.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;

/// How hard the local endpoint is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultSettings {
    /// Share of the code's AWS requests answered with a failure (0.0 to 1.0).
    pub rate: f64,
    /// Seed of the choice of failures, so a run can be repeated.
    pub seed: u64,
    /// Every request waits up to this long before it is forwarded.
    pub max_latency: Duration,
    /// And this long besides, every time: a fixed round trip, so that a route's
    /// latency shows how many it makes in sequence (`make bench`).
    pub fixed_latency: Duration,
    /// Transactions cancelled by DynamoDB with a reason on one of their items.
    pub cancel_transactions: Option<TransactionFaults>,
    /// Parameter Store throttles every request (until [`FaultProxy::ssm_throttled`]
    /// is switched off).
    pub throttle_ssm: bool,
    /// KMS answers every request with `KMSInternalException` (until
    /// [`FaultProxy::kms_down`] is switched off): an outage of the signing service.
    pub kms_down: bool,
    /// SQS fails every `SendMessage` (until [`FaultProxy::sqs_send_down`] is switched
    /// off): a queue that cannot be written to.
    pub sqs_send_down: bool,
    /// Rekognition answers every request with `ThrottlingException` (until
    /// [`FaultProxy::rekognition_down`] is switched off): screening unavailable.
    pub rekognition_down: bool,
}

/// Which transactions are cancelled, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionFaults {
    /// Share of the transactions touching one of `tables` that are cancelled.
    pub rate: f64,
    /// Table names (or parts of them, such as `Ledger`).
    pub tables: Vec<String>,
}

/// What the proxy has done, for a test to report.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub requests: AtomicU64,
    pub injected: AtomicU64,
    pub conflicts: AtomicU64,
}

impl FaultCounts {
    /// `(requests, injected failures, transaction conflicts)`.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.injected.load(Ordering::Relaxed),
            self.conflicts.load(Ordering::Relaxed),
        )
    }
}

struct Proxy {
    upstream: String,
    settings: FaultSettings,
    rng: Mutex<StdRng>,
    http: reqwest::Client,
    /// Keys of the items that transactions in flight touch.
    in_flight: Mutex<HashMap<u64, HashSet<String>>>,
    next_id: AtomicU64,
    counts: Arc<FaultCounts>,
    ssm_throttled: Arc<std::sync::atomic::AtomicBool>,
    kms_down: Arc<std::sync::atomic::AtomicBool>,
    sqs_send_down: Arc<std::sync::atomic::AtomicBool>,
    rekognition_down: Arc<std::sync::atomic::AtomicBool>,
    timeline: Timeline,
    actions: Actions,
}

/// How many requests of each action went through the proxy (`dynamodb:GetItem`,
/// `s3:PUT`, …), and how many items the DynamoDB transactions wrote
/// (`dynamodb:TransactWriteItems.items`): what the cost model prices.
#[derive(Clone, Debug, Default)]
pub struct Actions(Arc<Mutex<std::collections::BTreeMap<String, u64>>>);

impl Actions {
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn add(&self, action: String, n: u64) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(action).or_default() += n;
        }
    }

    /// What happened between two snapshots.
    pub fn since(
        before: &std::collections::BTreeMap<String, u64>,
        after: &std::collections::BTreeMap<String, u64>,
    ) -> std::collections::BTreeMap<String, u64> {
        after
            .iter()
            .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
            .filter(|(_, v)| *v > 0)
            .collect()
    }
}

/// When each request through the proxy started and ended: which ran side by side and
/// which one after another.
#[derive(Clone, Debug, Default)]
pub struct Timeline(Arc<Mutex<Vec<(std::time::Instant, std::time::Instant)>>>);

impl Timeline {
    /// The requests recorded since the last call, emptied.
    pub fn take(&self) -> Vec<(std::time::Instant, std::time::Instant)> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    /// The longest chain of requests each of which started after the one before it
    /// ended: the round trips a caller waited for in sequence.
    pub fn depth(calls: &[(std::time::Instant, std::time::Instant)]) -> usize {
        let mut calls = calls.to_vec();
        calls.sort();
        let mut chain = vec![1usize; calls.len()];
        for i in 0..calls.len() {
            for j in 0..i {
                if calls[j].1 <= calls[i].0 {
                    chain[i] = chain[i].max(chain[j] + 1);
                }
            }
        }
        chain.into_iter().max().unwrap_or(0)
    }
}

pub struct FaultProxy {
    pub endpoint: String,
    pub counts: Arc<FaultCounts>,
    /// Whether Parameter Store answers `ThrottlingException` to everything now.
    pub ssm_throttled: Arc<std::sync::atomic::AtomicBool>,
    /// Whether KMS fails everything now.
    pub kms_down: Arc<std::sync::atomic::AtomicBool>,
    /// Whether SQS refuses every message sent now.
    pub sqs_send_down: Arc<std::sync::atomic::AtomicBool>,
    /// Whether Rekognition throttles everything now.
    pub rekognition_down: Arc<std::sync::atomic::AtomicBool>,
    pub timeline: Timeline,
    pub actions: Actions,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub async fn start(upstream: &str, settings: FaultSettings) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let counts = Arc::new(FaultCounts::default());
        let ssm_throttled = Arc::new(std::sync::atomic::AtomicBool::new(settings.throttle_ssm));
        let kms_down = Arc::new(std::sync::atomic::AtomicBool::new(settings.kms_down));
        let sqs_send_down = Arc::new(std::sync::atomic::AtomicBool::new(settings.sqs_send_down));
        let rekognition_down = Arc::new(std::sync::atomic::AtomicBool::new(
            settings.rekognition_down,
        ));
        let timeline = Timeline::default();
        let actions = Actions::default();
        let proxy = Arc::new(Proxy {
            timeline: timeline.clone(),
            actions: actions.clone(),
            ssm_throttled: ssm_throttled.clone(),
            kms_down: kms_down.clone(),
            sqs_send_down: sqs_send_down.clone(),
            rekognition_down: rekognition_down.clone(),
            upstream: upstream.trim_end_matches('/').to_owned(),
            rng: Mutex::new(StdRng::seed_from_u64(settings.seed)),
            settings,
            http: crate::http_client(),
            in_flight: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            counts: counts.clone(),
        });
        let app = Router::new().fallback(forward).with_state(proxy);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            endpoint,
            counts,
            ssm_throttled,
            kms_down,
            sqs_send_down,
            rekognition_down,
            timeline,
            actions,
            task,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Service {
    DynamoDb,
    Ssm,
    Kms,
    Sqs,
    Ses,
    S3,
    Rekognition,
}

fn service_of(headers: &HeaderMap, path: &str) -> Service {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if target.starts_with("DynamoDB_") {
        Service::DynamoDb
    } else if target.starts_with("AmazonSSM") {
        Service::Ssm
    } else if target.starts_with("TrentService") {
        Service::Kms
    } else if target.starts_with("RekognitionService") {
        Service::Rekognition
    } else if target.starts_with("AmazonSQS") {
        Service::Sqs
    } else if path.starts_with("/v2/email") {
        Service::Ses
    } else {
        Service::S3
    }
}

/// Notes the request's action: the `X-Amz-Target` operation, or for S3 the method.
fn count_action(
    actions: &Actions,
    service: Service,
    parts: &axum::http::request::Parts,
    body: &[u8],
) {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default();
    let name = match service {
        Service::DynamoDb => "dynamodb",
        Service::Ssm => "ssm",
        Service::Kms => "kms",
        Service::Sqs => "sqs",
        Service::Ses => "ses",
        Service::S3 => "s3",
        Service::Rekognition => "rekognition",
    };
    let action = match service {
        Service::S3 => format!("s3:{}", parts.method),
        Service::Ses => "ses:SendEmail".to_owned(),
        _ => format!("{name}:{target}"),
    };
    if action == "dynamodb:TransactWriteItems" {
        let items = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
            .unwrap_or(0);
        actions.add(format!("{action}.items"), items as u64);
    }
    actions.add(action, 1);
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The service's request-rate refusal (DynamoDB `ThrottlingException`).
    Throttle,
    /// Its capacity refusal (DynamoDB `ProvisionedThroughputExceededException`, S3
    /// `SlowDown`).
    SlowDown,
    Internal,
    Drop,
}

async fn forward(State(proxy): State<Arc<Proxy>>, req: Request) -> Response {
    let started = std::time::Instant::now();
    let res = forward_one(&proxy, req).await;
    if let Ok(mut t) = proxy.timeline.0.lock() {
        t.push((started, std::time::Instant::now()));
    }
    res
}

async fn forward_one(proxy: &Arc<Proxy>, req: Request) -> Response {
    proxy.counts.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let presigned = path_and_query.contains("X-Amz-Signature");
    let service = service_of(&parts.headers, parts.uri.path());
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    count_action(&proxy.actions, service, &parts, &body);
    let (delay, fault, cancel) = {
        let mut rng = proxy.rng.lock().unwrap();
        let delay = if proxy.settings.max_latency.is_zero() {
            Duration::ZERO
        } else {
            proxy.settings.max_latency.mul_f64(rng.random::<f64>())
        };
        let fault = (!presigned && rng.random::<f64>() < proxy.settings.rate).then(|| {
            match rng.random_range(0..4) {
                0 => Fault::Throttle,
                1 => Fault::SlowDown,
                2 => Fault::Internal,
                _ => Fault::Drop,
            }
        });
        let cancel = proxy.settings.cancel_transactions.as_ref().and_then(|t| {
            (rng.random::<f64>() < t.rate).then(|| {
                let reason = if rng.random_bool(0.5) {
                    "ThrottlingError"
                } else {
                    "TransactionConflict"
                };
                (t.tables.clone(), reason)
            })
        });
        (delay, fault, cancel)
    };
    tokio::time::sleep(delay + proxy.settings.fixed_latency).await;
    if service == Service::Ses && refuses_recipient(&body) {
        let mut r = json_error(
            StatusCode::BAD_REQUEST,
            "MessageRejected",
            "Email address is on the account-level suppression list.",
        );
        r.headers_mut().insert(
            "x-amzn-ErrorType",
            HeaderValue::from_static("MessageRejected"),
        );
        return r;
    }
    if service == Service::Ssm && proxy.ssm_throttled.load(Ordering::Relaxed) {
        proxy.counts.injected.fetch_add(1, Ordering::Relaxed);
        return injected(service, Fault::Throttle);
    }
    if service == Service::Rekognition && proxy.rekognition_down.load(Ordering::Relaxed) {
        proxy.counts.injected.fetch_add(1, Ordering::Relaxed);
        return injected(service, Fault::Throttle);
    }
    if service == Service::Kms && proxy.kms_down.load(Ordering::Relaxed) {
        proxy.counts.injected.fetch_add(1, Ordering::Relaxed);
        return injected(service, Fault::Internal);
    }
    if service == Service::Sqs
        && proxy.sqs_send_down.load(Ordering::Relaxed)
        && parts
            .headers
            .get("x-amz-target")
            .is_some_and(|t| t.as_bytes().ends_with(b".SendMessage"))
    {
        proxy.counts.injected.fetch_add(1, Ordering::Relaxed);
        return injected(service, Fault::Internal);
    }
    if let Some(fault) = fault {
        proxy.counts.injected.fetch_add(1, Ordering::Relaxed);
        return injected(service, as_seen_by(&parts.method, fault));
    }
    // A transaction that touches an item another one in flight touches is cancelled.
    let mut guard = None;
    if service == Service::DynamoDb
        && parts
            .headers
            .get("x-amz-target")
            .is_some_and(|t| t.as_bytes().ends_with(b".TransactWriteItems"))
    {
        let keys = transaction_keys(&body);
        if let Some((tables, reason)) = &cancel
            && let Some(hit) = keys
                .iter()
                .position(|k| tables.iter().any(|t| k.contains(t.as_str())))
        {
            proxy.counts.injected.fetch_add(1, Ordering::Relaxed);
            let reasons: Vec<&str> = (0..keys.len())
                .map(|i| if i == hit { *reason } else { "None" })
                .collect();
            return transaction_cancelled(&reasons);
        }
        let id = proxy.next_id.fetch_add(1, Ordering::Relaxed);
        let mut in_flight = proxy.in_flight.lock().unwrap();
        let busy: Vec<bool> = keys
            .iter()
            .map(|k| in_flight.values().any(|set| set.contains(k)))
            .collect();
        if busy.iter().any(|b| *b) {
            proxy.counts.conflicts.fetch_add(1, Ordering::Relaxed);
            return transaction_conflict(&busy);
        }
        in_flight.insert(id, keys.into_iter().collect());
        guard = Some(InFlight {
            proxy: proxy.clone(),
            id,
        });
    }
    let mut out = proxy
        .http
        .request(
            parts.method.clone(),
            format!("{}{path_and_query}", proxy.upstream),
        )
        .body(body);
    for (name, value) in parts.headers.iter() {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let answer = out.send().await;
    drop(guard);
    match answer {
        Ok(res) => {
            let status = res.status();
            let headers = res.headers().clone();
            let bytes = res.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            // A HEAD's answer has no body: its length is the object's, and is kept.
            let head = parts.method == axum::http::Method::HEAD;
            for (name, value) in headers.iter() {
                if (head || name != "content-length") && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// SES refuses some recipients outright (suppressed, malformed for it); in fault mode an
/// address whose local part ends in `+ses-rejects` plays one.
fn refuses_recipient(body: &Bytes) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["Destination"]["ToAddresses"].as_array().map(|to| {
                to.iter()
                    .any(|a| a.as_str().is_some_and(|a| a.contains("+ses-rejects@")))
            })
        })
        .unwrap_or(false)
}

/// Removes a transaction's keys from the in-flight set when it is answered.
struct InFlight {
    proxy: Arc<Proxy>,
    id: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut m) = self.proxy.in_flight.lock() {
            m.remove(&self.id);
        }
    }
}

/// `table/key` of every item a `TransactWriteItems` request touches, in order.
fn transaction_keys(body: &Bytes) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    v["TransactItems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let (op, inner) = item
                .as_object()
                .and_then(|o| o.iter().next())
                .map(|(k, v)| (k.as_str(), v))
                .unwrap_or(("", &serde_json::Value::Null));
            let key = if op == "Put" {
                &inner["Item"]["pk"]
            } else {
                &inner["Key"]["pk"]
            };
            format!("{}/{}", inner["TableName"], key)
        })
        .collect()
}

fn json_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = serde_json::json!({ "__type": kind, "message": message }).to_string();
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    r
}

fn transaction_conflict(busy: &[bool]) -> Response {
    let codes: Vec<&str> = busy
        .iter()
        .map(|b| if *b { "TransactionConflict" } else { "None" })
        .collect();
    transaction_cancelled(&codes)
}

/// DynamoDB's `TransactionCanceledException`, one reason code per item.
fn transaction_cancelled(codes: &[&str]) -> Response {
    let reasons: Vec<serde_json::Value> = codes
        .iter()
        .map(|c| match *c {
            "None" => serde_json::json!({ "Code": "None" }),
            "TransactionConflict" => serde_json::json!({ "Code": c, "Message": "Transaction is ongoing for the item" }),
            _ => serde_json::json!({ "Code": c, "Message": "Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly." }),
        })
        .collect();
    let body = serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        "CancellationReasons": reasons,
    });
    let mut r = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    r
}

/// The fault as a request of this method can meet it. A dropped connection shows as a
/// body that breaks after the headers, but a HEAD's answer has no body: hyper reads
/// the headers of a 200 as the whole answer, and the client would take an object that
/// is not there for one that is, with none of the headers S3 always sends. (`stamp`
/// then deleted a staged file as if its output were stored, leaving the job waiting
/// for the sweep.) A HEAD's connection breaks before its headers, which the client
/// meets as the server's failure and retries.
fn as_seen_by(method: &axum::http::Method, fault: Fault) -> Fault {
    match fault {
        Fault::Drop if method == axum::http::Method::HEAD => Fault::Internal,
        other => other,
    }
}

/// The failure as the service answers it.
fn injected(service: Service, fault: Fault) -> Response {
    match (service, fault) {
        (_, Fault::Drop) => {
            // Headers promise a body that never comes: the connection breaks mid-answer.
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("connection reset"))
            });
            let mut r = Response::new(Body::from_stream(stream));
            r.headers_mut()
                .insert("content-length", HeaderValue::from_static("64"));
            r
        }
        (Service::DynamoDb, Fault::Throttle) => json_error(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        (Service::DynamoDb, Fault::SlowDown) => json_error(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        (Service::DynamoDb, Fault::Internal) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "Internal server error",
        ),
        (Service::Ssm, Fault::Throttle | Fault::SlowDown) => json_error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        ),
        (Service::Ssm, Fault::Internal) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal server error",
        ),
        (Service::Kms, Fault::Throttle | Fault::SlowDown) => json_error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        ),
        (Service::Kms, Fault::Internal) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "KMSInternalException",
            "An internal error occurred.",
        ),
        (Service::Sqs, Fault::Throttle | Fault::SlowDown) => json_error(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.sqs#ThrottlingException",
            "Rate exceeded",
        ),
        (Service::Sqs, Fault::Internal) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "com.amazonaws.sqs#InternalError",
            "We encountered an internal error. Please try again.",
        ),
        // Source: Amazon Rekognition Developer Guide, "Error handling"; read 2026-12-07.
        (Service::Rekognition, Fault::Throttle) => {
            json_error(StatusCode::BAD_REQUEST, "ThrottlingException", "Slow down")
        }
        (Service::Rekognition, Fault::SlowDown) => json_error(
            StatusCode::BAD_REQUEST,
            "ProvisionedThroughputExceededException",
            "Provisioned rate exceeded",
        ),
        (Service::Rekognition, Fault::Internal) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal server error",
        ),
        (Service::Ses, Fault::Throttle | Fault::SlowDown) => (
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"message":"Maximum sending rate exceeded."}"#,
        )
            .into_response(),
        (Service::Ses, Fault::Internal) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal failure"}"#,
        )
            .into_response(),
        (Service::S3, Fault::Throttle | Fault::SlowDown) => s3_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        (Service::S3, Fault::Internal) => s3_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
    }
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>local</RequestId></Error>"
    );
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/xml"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fault a HEAD meets is a failure status: no success without its headers.
    #[test]
    fn a_head_never_meets_a_fault_as_a_success() {
        use axum::http::Method;
        for service in [Service::S3, Service::DynamoDb, Service::Sqs] {
            for fault in [
                Fault::Throttle,
                Fault::SlowDown,
                Fault::Internal,
                Fault::Drop,
            ] {
                let head = injected(service, as_seen_by(&Method::HEAD, fault));
                assert!(!head.status().is_success(), "{service:?} {fault:?}");
            }
        }
        // Other requests still meet a broken body after a 200's headers.
        let get = injected(Service::S3, as_seen_by(&Method::GET, Fault::Drop));
        assert_eq!(get.status(), StatusCode::OK);
    }

    #[test]
    fn a_transactions_items_are_named_by_table_and_key() {
        let body = Bytes::from(
            r#"{"TransactItems":[{"Put":{"TableName":"l","Item":{"pk":{"S":"entry#debit:vid_1"}}}},{"Update":{"TableName":"l","Key":{"pk":{"S":"balance#acc_1"}}}}]}"#,
        );
        assert_eq!(
            transaction_keys(&body),
            [
                r#""l"/{"S":"entry#debit:vid_1"}"#,
                r#""l"/{"S":"balance#acc_1"}"#
            ]
        );
    }
}
