//! Creem's API, locally (as `https://api.creem.io`, under `/_local/creem/api`): the
//! prompt moderation call. Decisions: `deny` for a prompt containing
//! `moderation-deny`, `flag` for `moderation-flag`, an unknown `review` for
//! `moderation-unknown`, `allow` otherwise.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

pub const LOCAL_CREEM_KEY: &str = "local-creem-key";

#[derive(Default)]
pub struct CreemEmulator {
    /// Every moderation request body received, to check what left the service.
    screened: Mutex<Vec<Value>>,
}

impl CreemEmulator {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/_local/creem/api/v1/moderation/prompt", post(moderate))
            .with_state(self.clone())
    }

    pub fn screened(&self) -> Vec<Value> {
        self.screened.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

async fn moderate(
    State(creem): State<Arc<CreemEmulator>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(LOCAL_CREEM_KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "Unauthorized" })),
        )
            .into_response();
    }
    let Some(prompt) = body["prompt"].as_str().map(str::to_owned) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "prompt is required" })),
        )
            .into_response();
    };
    if let Ok(mut s) = creem.screened.lock() {
        s.push(body.clone());
    }
    let decision = if prompt.contains("moderation-deny") {
        "deny"
    } else if prompt.contains("moderation-flag") {
        "flag"
    } else if prompt.contains("moderation-unknown") {
        // A decision this client does not know (a value Creem may add later).
        "review"
    } else {
        "allow"
    };
    let mut answer = json!({
        "id": format!("mod_{}", uuid::Uuid::new_v4().simple()),
        "object": "moderation_result",
        "prompt": prompt,
        "decision": decision,
        "usage": { "units": 1 },
    });
    // Creem leaves out what was not given (its SDK refuses a null here).
    if let Some(external_id) = body["external_id"].as_str() {
        answer["external_id"] = json!(external_id);
    }
    Json(answer).into_response()
}
