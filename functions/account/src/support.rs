//! POST /v1/support (R31): a message to support, forwarded to the support address
//! through SES with replies going to the person, and kept for the policy's support
//! retention (it is part of the export).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::adapters::ses::Email;
use shared::domain::clock::{expiry_of, rfc3339};
use shared::domain::privacy::new_support_id;
use shared::edge::http::{ApiJson, AuthUser};
use shared::edge::openapi::Problem;
use shared::edge::problem::{unavailable, within_limit};
use utoipa::ToSchema;

use crate::state::AccountState;

const SUBJECT_MAX: usize = 200;
const MESSAGE_MAX: usize = 10_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    subject: String,
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    message: String,
}

#[derive(Serialize, ToSchema)]
pub struct SupportCreated {
    id: String,
}

fn field(name: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::InvalidField(format!("{name} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(ApiError::InvalidField(format!(
            "{name} is longer than {max} characters"
        )));
    }
    Ok(v.to_owned())
}

#[utoipa::path(
    post,
    operation_id = "create_support_message",
    path = "/v1/support",
    tag = "account",
    security(("session" = [])),
    request_body(content = SupportRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Sent to support and kept", body = SupportCreated),
        (status = 422, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn create(
    State(state): State<AccountState>,
    user: AuthUser,
    ApiJson(req): ApiJson<SupportRequest>,
) -> Result<(StatusCode, Json<SupportCreated>), ApiError> {
    let subject: String = field("subject", &req.subject, SUBJECT_MAX)?
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let message = field("message", &req.message, MESSAGE_MAX)?;
    within_limit(
        &state.limits,
        "support_account",
        &user.account_id,
        state.policy.support_messages_per_account,
        state.clock.epoch_secs(),
    )
    .await?;
    let id = new_support_id();
    let now = state.now();
    let at = rfc3339(now);
    let text = format!(
        "Support message {id} from account {account} at {at}.\nReply to this email to answer the person.\n\n\
         Subject: {subject}\n\n{message}\n",
        account = user.account_id,
    );
    state
        .mailer
        .send_with_reply_to(
            Email {
                to: &state.support_address,
                subject: &format!("[support] {subject}"),
                text: &text,
            },
            &user.account.email,
        )
        .await
        .map_err(|e| unavailable("ses", e))?;
    state
        .privacy
        .put_support(
            &user.account_id,
            &id,
            &subject,
            &message,
            &at,
            expiry_of(now, state.policy.support_retention),
        )
        .await?;
    tracing::info!(event = "support_message", account_id = %user.account_id, support_id = %id, "support message forwarded");
    Ok((StatusCode::CREATED, Json(SupportCreated { id })))
}
