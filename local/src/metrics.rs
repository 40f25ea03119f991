//! `GET /_local/metrics`: what the functions emitted as CloudWatch embedded-metric-format
//! lines since the stack started, read back from the lines themselves (so a test of the
//! metrics is a test of the format CloudWatch reads, R48).

use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

/// Every line emitted in this process, in order.
fn lines() -> &'static Mutex<Vec<String>> {
    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LINES.get_or_init(|| {
        shared::adapters::metrics::set_sink(Box::new(|line| {
            if let Ok(mut all) = lines().lock() {
                all.push(line.to_owned());
            }
        }));
        Mutex::new(Vec::new())
    })
}

/// The lines of one stack: those emitted since it started.
#[derive(Clone, Debug)]
pub struct Emitted {
    from: usize,
}

impl Emitted {
    /// Starts collecting (once per process), from now.
    pub fn start() -> Arc<Self> {
        let from = lines().lock().map(|l| l.len()).unwrap_or(0);
        Arc::new(Self { from })
    }

    /// Every value emitted since the stack started, one item each.
    pub fn items(&self) -> Vec<Value> {
        let all = lines().lock().map(|l| l.clone()).unwrap_or_default();
        all.iter()
            .skip(self.from)
            .flat_map(|l| items_of(l))
            .collect()
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/_local/metrics", get(list))
            .with_state(self.clone())
    }
}

async fn list(State(emitted): State<Arc<Emitted>>) -> axum::Json<Value> {
    axum::Json(json!({ "items": emitted.items() }))
}

/// The values of one embedded-metric-format line, as CloudWatch reads it: each metric
/// of each directive, with the dimensions of its first (fullest) set.
pub fn items_of(line: &str) -> Vec<Value> {
    let Ok(doc) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    let at = doc["_aws"]["Timestamp"].clone();
    let mut out = Vec::new();
    for directive in doc["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let dims: serde_json::Map<String, Value> = directive["Dimensions"][0]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str())
            .map(|d| (d.to_owned(), doc[d].clone()))
            .collect();
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let name = metric["Name"].as_str().unwrap_or_default();
            out.push(json!({
                "namespace": directive["Namespace"],
                "name": name,
                "unit": metric["Unit"],
                "value": doc[name],
                "dimensions": dims,
                "at": at,
            }));
        }
    }
    out
}
