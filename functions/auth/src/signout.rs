//! Sign-out: this session, or with `?all=true` every session of the account (R05).

use crate::state::AuthState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::ApiError;
use shared::edge::http::{ApiQuery, AuthUser};
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignOutQuery {
    /// End every session of the account, not only this one.
    #[serde(default)]
    all: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/v1/auth/signout",
    tag = "auth",
    params(SignOutQuery),
    security(("session" = [])),
    responses(
        (status = 204, description = "Signed out"),
    )
)]
pub async fn sign_out(
    State(state): State<AuthState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<SignOutQuery>,
) -> Result<StatusCode, ApiError> {
    if q.all == Some(true) {
        // Moving the epoch on ends them all at once; deleting the items is clean-up.
        state.accounts.end_all_sessions(&user.account_id).await?;
        let ended = state.sessions.delete_all(&user.account_id).await?;
        tracing::info!(event = "sign_out_all", account_id = %user.account_id, ended, "signed out everywhere");
    } else {
        state.sessions.delete(&user.session_hash).await?;
        tracing::info!(event = "sign_out", account_id = %user.account_id, "signed out");
    }
    Ok(StatusCode::NO_CONTENT)
}
