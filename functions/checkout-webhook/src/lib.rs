//! `checkout-webhook`: Creem's signed events (R08–R12). The signature is checked on the
//! raw body, in constant time, before anything is parsed or written; then the event
//! takes effect exactly once (see [`events`] and [`commit`]). It answers at once:
//! Creem waits for it, and sends again whatever was not answered 2xx.

mod commit;
pub mod creem;
pub mod events;
mod state;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use shared::ApiError;
use shared::domain::webhook_signatures::{SignatureHeaders, verify};
use shared::edge::http::json::read_limited;
use shared::edge::openapi::{Problem, Received};

pub use creem::{CreemEvent, Event};
pub use events::Outcome;
pub use state::CheckoutWebhookState;

shared::http_routes!(CheckoutWebhookState {
    post "/v1/webhooks/creem" => receive,
});

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Creem's event, signed with `creem-signature` or Standard Webhooks headers.
#[utoipa::path(
    post,
    path = "/v1/webhooks/creem",
    tag = "billing",
    request_body(content = Object, description = "Creem's event: {id, eventType, created_at, object}", content_type = "application/json"),
    params(
        ("creem-signature" = Option<String>, Header, description = "Hex HMAC-SHA256 of the body"),
        ("webhook-id" = Option<String>, Header, description = "Standard Webhooks"),
        ("webhook-timestamp" = Option<String>, Header, description = "Standard Webhooks"),
        ("webhook-signature" = Option<String>, Header, description = "Standard Webhooks"),
    ),
    responses(
        (status = 200, description = "Received (applied now or before, or of no concern)", body = Received),
        (status = 401, description = "`invalid_signature`: nothing was read or written", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    State(state): State<CheckoutWebhookState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Received>, ApiError> {
    let body = read_limited(body).await?;
    let signed = SignatureHeaders {
        creem: header(&headers, "creem-signature"),
        id: header(&headers, "webhook-id"),
        timestamp: header(&headers, "webhook-timestamp"),
        signatures: header(&headers, "webhook-signature"),
    };
    if let Err(e) = verify(
        state.secret.expose(),
        &body,
        &signed,
        state.clock.epoch_secs(),
    ) {
        tracing::warn!(event = "webhook_refused", reason = %e, "webhook signature refused");
        return Err(ApiError::InvalidSignature);
    }
    let event: Event = shared::edge::http::json::parse_json(&body)?;
    let outcome = match CreemEvent::read(&event) {
        Ok(read) => match state.effect(&event, &read).await? {
            Some(effect) => state.commit(&event, effect).await?,
            None => state.commit(&event, Default::default()).await?,
        },
        Err(e) => {
            // Sending it again would not change it: acknowledged, and logged.
            tracing::warn!(event = "webhook_unreadable", event_id = %event.id, event_type = %event.event_type, error = %e, "event object unreadable");
            Outcome::Ignored
        }
    };
    tracing::info!(
        event = "webhook_received",
        event_id = %event.id,
        event_type = %event.event_type,
        outcome = ?outcome,
        "webhook received"
    );
    Ok(Json(Received::YES))
}
