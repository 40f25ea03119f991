//! The JSON body extractor: content type, size limit and parse errors all answered
//! as problem+json (R38), before a handler runs and so before anything changes.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::domain::policy::MAX_BODY_BYTES;
use crate::edge::problem::ApiError;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_limited(req.into_body()).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Reads a whole body, refusing one over the API's limit without buffering it all.
pub async fn read_limited(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        Category::Data => ApiError::InvalidField(describe_data_error(&e)),
        Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson,
    })
}

/// serde's message without the position suffix; it names the field and the expected
/// type. The answer goes only to the caller who sent the value, never to the logs.
fn describe_data_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}
