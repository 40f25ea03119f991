//! Sign-in with Google (R03, R06): the ID token is verified here, its `sub` is the
//! link, and only the address and name are taken from it.

use crate::google_token::IdTokenError;
use crate::state::AuthState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use shared::ApiError;
use shared::adapters::dynamo::Tx;
use shared::domain::account::clean_display_name;
use shared::domain::clock::rfc3339;
use shared::domain::email::EmailAddress;
use shared::edge::http::{ApiJson, ClientIp};
use shared::edge::openapi::Problem;
use shared::edge::problem::unavailable;
use shared::edge::problem::within_limit;
use utoipa::ToSchema;

use crate::signin::{
    SignInError, SignInResponse, add_account_creation, commit_with_session, ensure_active,
    new_account,
};

#[derive(Deserialize, ToSchema)]
pub struct GoogleRequest {
    /// The ID token from Google Identity Services.
    #[schema(min_length = 1, max_length = 8192)]
    id_token: String,
    /// The statement that the person is 13 or older; needed to create an account.
    over_13: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/v1/auth/google",
    tag = "auth",
    request_body(content = GoogleRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = SignInResponse),
        (status = 401, description = "`invalid_id_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`account_suspended`; `account_blocked`: the address's account was terminated for abuse", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_not_verified`: Google has not verified the address; `identity_conflict`: the address's account is linked to another Google account; `account_being_deleted`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`age_confirmation_required` or `invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn sign_in(
    State(state): State<AuthState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<GoogleRequest>,
) -> Result<Json<SignInResponse>, ApiError> {
    if req.id_token.is_empty() || req.id_token.len() > 8192 {
        return Err(ApiError::InvalidField(
            "id_token is missing or too long".into(),
        ));
    }
    let now = state.clock.epoch_secs();
    within_limit(
        &state.limits,
        "google_ip",
        &ip.0.to_string(),
        state.policy.google_signins_per_ip,
        now,
    )
    .await?;
    let identity = state.google.verify(&req.id_token).await.map_err(|e| match e {
        IdTokenError::KeysUnavailable => unavailable("google_jwks", e),
        other => {
            tracing::info!(event = "google_token_refused", reason = %other, "Google ID token refused");
            ApiError::InvalidIdToken
        }
    })?;

    for _ in 0..2 {
        // Known Google identity: sign in.
        if let Some(account) = state.accounts.find_by_google_sub(&identity.sub).await? {
            ensure_active(&account)?;
            match commit(&state, state.transactions.begin(), &account, false, false).await {
                Err(Retry) => continue,
                Ok(res) => return res,
            }
        }
        let email = identity
            .email
            .as_deref()
            .and_then(|e| EmailAddress::parse(e).ok())
            .ok_or(ApiError::InvalidIdToken)?;
        if !identity.email_verified {
            return Err(ApiError::EmailNotVerified);
        }
        let linked_at = rfc3339(state.clock.now());
        let result = match state.accounts.find_by_email(email.as_str()).await? {
            // A verified address that matches an account links to it.
            Some(account) => {
                ensure_active(&account)?;
                if account
                    .google_sub
                    .as_ref()
                    .is_some_and(|s| *s != identity.sub)
                {
                    // Another Google account is linked already; linking a second one
                    // would silently replace it.
                    return Err(ApiError::IdentityConflict);
                }
                let mut tx = state.transactions.begin();
                tx.add_all(
                    "link",
                    state
                        .accounts
                        .link_google_writes(&account, &identity.sub, &linked_at)?,
                );
                commit(&state, tx, &account, false, true).await
            }
            None if req.over_13 == Some(true) => {
                crate::signin::ensure_not_blocked(&state, email.as_str()).await?;
                let name = identity.name.as_deref().and_then(clean_display_name);
                let mut account = new_account(&state, email.as_str(), name);
                account.google_sub = Some(identity.sub.clone());
                account.google_linked_at = Some(linked_at);
                let mut tx = state.transactions.begin();
                add_account_creation(&state, &mut tx, &account)?;
                commit(&state, tx, &account, true, true).await
            }
            None => return Err(ApiError::AgeConfirmationRequired),
        };
        match result {
            Err(Retry) => continue,
            Ok(res) => return res,
        }
    }
    Err(ApiError::Unavailable)
}

/// A lost race with a concurrent sign-in of the same person: look again.
struct Retry;

async fn commit(
    state: &AuthState,
    tx: Tx,
    account: &shared::domain::account::Account,
    is_new: bool,
    writes_guard_account: bool,
) -> Result<Result<Json<SignInResponse>, ApiError>, Retry> {
    match commit_with_session(state, tx, account, is_new, writes_guard_account, "google").await {
        Ok(res) => Ok(Ok(res)),
        Err(SignInError::Conflict(_)) => Err(Retry),
        Err(SignInError::Store(e)) => Ok(Err(e.into())),
    }
}
