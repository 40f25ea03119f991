//! DELETE /v1/me/identities/google (R04): sign-in by email code keeps working.

use axum::extract::State;
use axum::http::StatusCode;
use shared::ApiError;
use shared::edge::http::AuthUser;
use shared::edge::openapi::Problem;

use crate::state::AccountState;

#[utoipa::path(
    delete,
    path = "/v1/me/identities/google",
    tag = "account",
    security(("session" = [])),
    responses(
        (status = 204, description = "Disconnected; sign-in by email code keeps working"),
        (status = 404, description = "`identity_not_linked`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disconnect_google(
    State(state): State<AccountState>,
    user: AuthUser,
) -> Result<StatusCode, ApiError> {
    let account = user.account;
    let sub = account.google_sub.ok_or(ApiError::IdentityNotLinked)?;
    match state.accounts.unlink_google(&account.id, &sub).await {
        Ok(()) => {}
        // Disconnected concurrently: the outcome the caller wanted.
        Err(e) if e.is_condition_failure() => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "google_disconnected", account_id = %account.id, "Google identity disconnected");
    Ok(StatusCode::NO_CONTENT)
}
