//! `provider-webhook`: the video providers' completion calls (R13), one route per
//! provider. A provider calls the address given at submission when a request ends;
//! the call's signature is checked on the raw body before anything is read — fal's
//! ED25519 against its published keys (see `fal_webhook`), Replicate's Standard
//! Webhooks HMAC with our secret (the same check as Creem's) — and the job gets one
//! look now through the generate queue. The function answers at once (the providers
//! retry a call that fails); what the job becomes is decided by `generate`, with the
//! provider's API, exactly as for a poll: a call is "look at job X now", never a
//! result taken on its word.

mod state;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use shared::ApiError;
use shared::adapters::providers::fal_webhook::{SignedCall, WebhookError};
use shared::adapters::sqs::GenerateMessage;
use shared::domain::webhook_signatures::{SignatureHeaders, verify};
use shared::edge::http::ApiQuery;
use shared::edge::http::json::read_limited;
use shared::edge::openapi::{Problem, Received};
use utoipa::IntoParams;

pub use state::ProviderWebhookState;

shared::http_routes!(ProviderWebhookState {
    post "/v1/webhooks/fal" => fal_completed,
    post "/v1/webhooks/replicate" => replicate_completed,
});

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Target {
    /// The job the call is about, as given to fal at submission.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)]
    job: String,
}

/// A job id as `videos` makes them: letters, digits, `-` and `_`.
fn valid_job_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// fal's completion call: `{request_id, gateway_request_id, status, payload}`, signed.
#[utoipa::path(
    post,
    path = "/v1/webhooks/fal",
    tag = "videos",
    params(
        Target,
        ("X-Fal-Webhook-Request-Id" = Option<String>, Header, description = "fal's request id"),
        ("X-Fal-Webhook-User-Id" = Option<String>, Header, description = "fal's account id"),
        ("X-Fal-Webhook-Timestamp" = Option<String>, Header, description = "Epoch seconds"),
        ("X-Fal-Webhook-Signature" = Option<String>, Header, description = "Hex ED25519 signature"),
    ),
    request_body(content = Object, description = "fal's result: {request_id, gateway_request_id, status, payload}", content_type = "application/json"),
    responses(
        (status = 200, description = "Received: the job is looked at now", body = Received),
        (status = 422, description = "`invalid_request`: no valid `job`; nothing was done", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_signature`: missing, stale or wrong signature; nothing was done", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: fal's keys or the queue could not be reached; fal retries", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn fal_completed(
    State(state): State<ProviderWebhookState>,
    ApiQuery(target): ApiQuery<Target>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Received>, ApiError> {
    completed(&state, "fal", target, &headers, body, verify_fal).await
}

/// fal's check: its ED25519 signature against its published keys. The call is known by
/// its request id, at its timestamp.
async fn verify_fal(
    state: &crate::state::Services,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, ApiError> {
    let call = SignedCall {
        request_id: header(headers, "x-fal-webhook-request-id"),
        user_id: header(headers, "x-fal-webhook-user-id"),
        timestamp: header(headers, "x-fal-webhook-timestamp"),
        signature: header(headers, "x-fal-webhook-signature"),
    };
    let completion = match state
        .fal
        .verify(&call, body, state.clock.epoch_secs())
        .await
    {
        Ok(c) => c,
        Err(WebhookError::KeysUnavailable) => {
            tracing::warn!(
                event = "provider_webhook_unverified",
                "fal's keys unavailable"
            );
            return Err(ApiError::Unavailable);
        }
        Err(e) => {
            tracing::warn!(event = "provider_webhook_refused", reason = %e, "webhook signature refused");
            return Err(ApiError::InvalidSignature);
        }
    };
    Ok(Verified {
        request_id: completion.request_id.clone(),
        call_id: completion.request_id,
        timestamp: call.timestamp.unwrap_or_default().to_owned(),
        ok: Some(completion.ok),
    })
}

/// Replicate's completion call: the prediction, signed with Standard Webhooks.
#[utoipa::path(
    post,
    path = "/v1/webhooks/replicate",
    tag = "videos",
    params(
        Target,
        ("webhook-id" = Option<String>, Header, description = "Standard Webhooks: the call's id"),
        ("webhook-timestamp" = Option<String>, Header, description = "Standard Webhooks: epoch seconds"),
        ("webhook-signature" = Option<String>, Header, description = "Standard Webhooks: `v1,<base64 HMAC-SHA256>`"),
    ),
    request_body(content = Object, description = "The prediction: {id, status, output, error, …}", content_type = "application/json"),
    responses(
        (status = 200, description = "Received: the job is looked at now", body = Received),
        (status = 422, description = "`invalid_request`: no valid `job`, or no prediction id; nothing was done", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_signature`: missing, stale or wrong signature; nothing was done", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: the queue could not be reached; Replicate retries", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replicate_completed(
    State(state): State<ProviderWebhookState>,
    ApiQuery(target): ApiQuery<Target>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Received>, ApiError> {
    completed(
        &state,
        "replicate",
        target,
        &headers,
        body,
        verify_replicate,
    )
    .await
}

/// Replicate's check: its Standard Webhooks HMAC with our secret. The body must then be
/// a prediction with an id, the request the call is about; the call is known by its
/// `webhook-id`, at its timestamp.
async fn verify_replicate(
    state: &crate::state::Services,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, ApiError> {
    let signed = SignatureHeaders {
        creem: None,
        id: header(headers, "webhook-id"),
        timestamp: header(headers, "webhook-timestamp"),
        signatures: header(headers, "webhook-signature"),
    };
    if signed.id.is_none() || signed.timestamp.is_none() || signed.signatures.is_none() {
        return Err(ApiError::InvalidSignature);
    }
    if let Err(e) = verify(
        state.replicate_secret.expose(),
        body,
        &signed,
        state.clock.epoch_secs(),
    ) {
        tracing::warn!(event = "provider_webhook_refused", provider = "replicate", reason = %e, "webhook signature refused");
        return Err(ApiError::InvalidSignature);
    }
    #[derive(Deserialize)]
    struct Prediction {
        id: String,
    }
    let prediction: Prediction = serde_json::from_slice(body)
        .map_err(|_| ApiError::InvalidField("the body is not a prediction".into()))?;
    if !(1..=64).contains(&prediction.id.len())
        || !prediction.id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ApiError::InvalidField(
            "the prediction id is not an id".into(),
        ));
    }
    Ok(Verified {
        request_id: prediction.id,
        call_id: signed.id.unwrap_or_default().to_owned(),
        timestamp: signed.timestamp.unwrap_or_default().to_owned(),
        ok: None,
    })
}

/// What a provider's own check of a signed call yields.
struct Verified {
    /// The provider's id of the request that ended.
    request_id: String,
    /// The call's id and timestamp, by which a repeat of the same call is known.
    call_id: String,
    timestamp: String,
    /// Whether the request ended well, when the call says (for the log only).
    ok: Option<bool>,
}

/// The shape every provider's completion call shares: the job's id from the address,
/// the raw body checked by the provider's own `check` before anything is read from
/// it, and one look at the job queued. Only the check differs from one provider to
/// another; the answer, and what is queued, are the same for all.
async fn completed(
    state: &crate::state::Services,
    provider: &str,
    target: Target,
    headers: &HeaderMap,
    body: Body,
    check: impl AsyncFnOnce(&crate::state::Services, &HeaderMap, &[u8]) -> Result<Verified, ApiError>,
) -> Result<Json<Received>, ApiError> {
    if !valid_job_id(&target.job) {
        return Err(ApiError::InvalidField("job: not a job id".into()));
    }
    let body = read_limited(body).await?;
    let call = check(state, headers, &body).await?;
    tracing::info!(
        event = "provider_webhook_received",
        job_id = %target.job,
        provider,
        ok = call.ok,
        "provider completion received"
    );
    look_now(
        state,
        provider,
        target.job,
        call.request_id,
        &call.call_id,
        &call.timestamp,
    )
    .await
}

/// Queues one look at `job` for the provider's request `request_id`, once per signed
/// call (`call_id` at `timestamp`): the same call again — a provider's retry after a
/// lost answer, or a replay — finds its look queued already. A call whose look could
/// not be queued is not kept as taken: the provider's retry queues it.
async fn look_now(
    state: &crate::state::Services,
    provider: &str,
    job: String,
    request_id: String,
    call_id: &str,
    timestamp: &str,
) -> Result<Json<Received>, ApiError> {
    let first = state
        .replays
        .first_time(
            provider,
            call_id,
            timestamp,
            state.clock.epoch_secs() + 2 * state.fal.leeway_secs(),
        )
        .await?;
    if !first {
        tracing::info!(event = "provider_webhook_repeated", job_id = %job, provider, "call already taken");
        return Ok(Json(Received::YES));
    }
    let message = GenerateMessage {
        job_id: job,
        token: None,
        completed: Some(request_id),
        stop: false,
        // How old the call is when `generate` looks: a young call about a job whose
        // handle is not written yet is looked at again, not submitted anew.
        sent_epoch: Some(state.clock.epoch_secs()),
    };
    if let Err(e) = state
        .queue
        .send_generate(&message, std::time::Duration::ZERO)
        .await
    {
        tracing::error!(event = "provider_webhook_unqueued", job_id = %message.job_id, error = %e, "could not queue the look");
        // The provider retries a failed call: that retry must queue the look, so the
        // call is not kept as taken. (Should forgetting fail too, the sweep's look at
        // jobs whose call has not come is what remains.)
        if let Err(e) = state.replays.forget(provider, call_id, timestamp).await {
            tracing::error!(event = "provider_webhook_unforgotten", job_id = %message.job_id, error = %e, "a retry of this call will be taken as seen");
        }
        return Err(ApiError::Unavailable);
    }
    Ok(Json(Received::YES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r38_only_job_ids_are_taken_from_the_address() {
        assert!(valid_job_id("vid_0123abcd-ef"));
        assert!(!valid_job_id(""));
        assert!(!valid_job_id("../x"));
        assert!(!valid_job_id(&"a".repeat(65)));
    }
}
