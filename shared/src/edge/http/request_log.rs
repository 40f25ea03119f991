//! One span and one log line per request: request id, route template, method, status,
//! latency and whether it paid for a cold start. Never the raw path's query, headers,
//! body or the caller's IP (R37).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // The template (`/v1/videos/{id}`), not the concrete path.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let request_id = req
        .extensions()
        .get::<lambda_http::Context>()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        request_id,
        %method,
        route,
        cold_start = crate::edge::telemetry::cold_start()
    );
    let res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request"
        )
    });
    res
}
