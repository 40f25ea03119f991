//! Rights requests (R26, R28, R30): a fresh email code verifies each export and
//! erasure; each gets a due date one month after receipt, a state and a trail, and is
//! carried out by `privacy-requests` from the privacy queue. An erasure ends every
//! session in this very call.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use shared::ApiError;
use shared::domain::clock::{expiry_of, from_epoch, rfc3339};
use shared::domain::privacy::RightsRequest;
use shared::domain::privacy::{RequestKind, RequestStatus, TrailStep};
use shared::edge::http::{ApiJson, AuthUser, ClientIp};
use shared::edge::openapi::Problem;
use utoipa::ToSchema;

use crate::me::CodeBody;
use crate::state::{AccountState, Services};
use shared::adapters::dynamo::codes::Confirmation;
use shared::app::emailed_codes::Purpose;

/// A rights request as its owner sees it.
#[derive(Serialize, ToSchema)]
pub struct Request {
    id: String,
    kind: RequestKind,
    status: RequestStatus,
    #[schema(format = DateTime)]
    requested_at: String,
    /// One month after receipt (R30).
    #[schema(format = DateTime)]
    due_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    completed_at: Option<String>,
    /// Every state the request went through, and when.
    trail: Vec<TrailStep>,
    /// A completed export's document, a link valid for minutes; asked again, a new
    /// one, for as long as the export is kept (72 hours).
    #[serde(skip_serializing_if = "Option::is_none")]
    download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    download_expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestList {
    items: Vec<Request>,
}

/// An empty object.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

#[utoipa::path(
    post,
    path = "/v1/me/verification",
    tag = "account",
    security(("session" = [])),
    responses(
        (status = 202, description = "A code for a rights request was emailed to the account's address", body = Empty),
        (status = 422, description = "`email_undeliverable`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn send_verification(
    State(state): State<AccountState>,
    ip: ClientIp,
    user: AuthUser,
) -> Result<(StatusCode, Json<Empty>), ApiError> {
    per_ip(&state, &ip).await?;
    state
        .emailed_codes
        .send(
            Purpose::Confirm {
                confirmation: Confirmation::RightsRequest,
                account_id: &user.account_id,
            },
            &user.account.email,
            None,
        )
        .await?;
    tracing::info!(event = "rights_code_sent", account_id = %user.account_id, "rights request code sent");
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

#[utoipa::path(
    post,
    path = "/v1/me/export",
    tag = "account",
    security(("session" = [])),
    request_body(content = CodeBody, content_type = "application/json"),
    responses(
        (status = 202, description = "The export is under way; an email says when it is ready", body = Request),
        (status = 400, description = "`invalid_code`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn export(
    State(state): State<AccountState>,
    ip: ClientIp,
    user: AuthUser,
    ApiJson(req): ApiJson<CodeBody>,
) -> Result<(StatusCode, Json<Request>), ApiError> {
    per_ip(&state, &ip).await?;
    let request = verified_request(&state, &user, &req.code, RequestKind::Export).await?;
    tracing::info!(event = "export_requested", account_id = %user.account_id, request_id = %request.id, "export requested");
    Ok((StatusCode::ACCEPTED, Json(view(&state, request).await?)))
}

#[utoipa::path(
    delete,
    path = "/v1/me",
    tag = "account",
    security(("session" = [])),
    request_body(content = CodeBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Every session has ended; the account and its data are being deleted", body = Request),
        (status = 400, description = "`invalid_code`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn erase(
    State(state): State<AccountState>,
    ip: ClientIp,
    user: AuthUser,
    ApiJson(req): ApiJson<CodeBody>,
) -> Result<(StatusCode, Json<Request>), ApiError> {
    per_ip(&state, &ip).await?;
    // One transaction: the code, the account's stop (its epoch moves on, so every
    // session is refused from this commit on) and the request.
    let request = verified_request(&state, &user, &req.code, RequestKind::Erasure).await?;
    tracing::info!(event = "erasure_requested", account_id = %user.account_id, request_id = %request.id, "erasure requested; sessions ended");
    Ok((StatusCode::ACCEPTED, Json(view(&state, request).await?)))
}

#[utoipa::path(
    get,
    operation_id = "list_requests",
    path = "/v1/me/requests",
    tag = "account",
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's rights requests, newest first", body = RequestList),
    )
)]
pub async fn list(
    State(state): State<AccountState>,
    user: AuthUser,
) -> Result<Json<RequestList>, ApiError> {
    let mut items = Vec::new();
    for r in state.privacy.requests(&user.account_id).await? {
        items.push(view(&state, r).await?);
    }
    Ok(Json(RequestList { items }))
}

#[utoipa::path(
    get,
    path = "/v1/me/requests/{id}",
    tag = "account",
    security(("session" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request; a completed export has `download_url`", body = Request),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<AccountState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Request>, ApiError> {
    if id.len() > 64 {
        return Err(ApiError::NotFound);
    }
    let r = state
        .privacy
        .request(&user.account_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view(&state, r).await?))
}

/// R39: rights requests (and their codes) from one IP, whichever accounts they are for.
async fn per_ip(state: &Services, ip: &ClientIp) -> Result<(), ApiError> {
    shared::edge::problem::within_limit(
        &state.limits,
        "rights_ip",
        &ip.limit_subject(),
        state.policy.rights_requests_per_ip,
        state.clock.epoch_secs(),
    )
    .await
}

/// Checks the code, then records and queues a request of `kind` in one transaction
/// with the code's use, so a code verifies one request.
async fn verified_request(
    state: &Services,
    user: &AuthUser,
    code: &str,
    kind: RequestKind,
) -> Result<RightsRequest, ApiError> {
    let confirmed = state
        .emailed_codes
        .check(
            Purpose::Confirm {
                confirmation: Confirmation::RightsRequest,
                account_id: &user.account_id,
            },
            code,
        )
        .await?;
    let request = state.rights_requests.new_request(&user.account_id, kind);
    state
        .rights_requests
        .submit(&request, [("code", confirmed.consume)])
        .await
        .map_err(|e| {
            // The code used by a concurrent request meanwhile, or the account stopped.
            if e.is_condition_failure() {
                ApiError::InvalidCode
            } else {
                e.into()
            }
        })?;
    Ok(request)
}

async fn view(state: &Services, r: RightsRequest) -> Result<Request, ApiError> {
    let mut download = None;
    if let (RequestStatus::Completed, Some(key), Some(done)) =
        (r.status, &r.export_key, &r.completed_at)
    {
        let kept_until = expiry_of(*done, state.policy.export_link_ttl);
        if kept_until > state.clock.epoch_secs() {
            let ttl = state.policy.download_link_ttl;
            let url = state
                .blobs
                .presign_get(&state.exports_bucket, key, ttl, Some("sora2-export.json"))
                .await?;
            download = Some((url, rfc3339(from_epoch(state.epoch_in(ttl)))));
        }
    }
    let (download_url, download_expires_at) = download.unzip();
    Ok(Request {
        id: r.id,
        kind: r.kind,
        status: r.status,
        requested_at: rfc3339(r.requested_at),
        due_by: rfc3339(r.due_by),
        completed_at: r.completed_at.map(rfc3339),
        trail: r.trail,
        download_url,
        download_expires_at,
    })
}
