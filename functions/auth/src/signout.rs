//! Sign-out: this session, or with `?all=true` every session of the account (R05).

use crate::state::AuthState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::ApiError;
use shared::edge::http::{ApiQuery, AuthUser};

#[derive(Deserialize)]
pub struct SignOutQuery {
    #[serde(default)]
    all: bool,
}

pub async fn sign_out(
    State(state): State<AuthState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<SignOutQuery>,
) -> Result<StatusCode, ApiError> {
    if q.all {
        let ended = state.sessions.delete_all(&user.account_id).await?;
        tracing::info!(event = "sign_out_all", account_id = %user.account_id, ended, "signed out everywhere");
    } else {
        state.sessions.delete(&user.session_hash).await?;
        tracing::info!(event = "sign_out", account_id = %user.account_id, "signed out");
    }
    Ok(StatusCode::NO_CONTENT)
}
