//! The API's OpenAPI document, assembled from every HTTP function's part. The local
//! stack serves it at `/openapi.json`; `infra/openapi.yaml` is its checked-in copy
//! (`cargo run -p local-stack -- openapi > infra/openapi.yaml` writes it anew).

use axum::Router;
use axum::routing::get;
use utoipa::openapi::OpenApi;

pub fn document() -> OpenApi {
    shared::edge::openapi::document(
        crate::functions::openapi_parts()
            .into_iter()
            .map(|(_, part)| part),
    )
}

/// The document as YAML, as it is checked in.
pub fn yaml() -> String {
    serde_norway::to_string(&document()).unwrap_or_default()
}

pub fn router() -> Router {
    let json = document().to_json().unwrap_or_default();
    Router::new().route(
        "/openapi.json",
        get(move || async move { ([("content-type", "application/json")], json) }),
    )
}
