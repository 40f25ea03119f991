//! Sign-in by email one-time code (R01, R02, R06).

use crate::state::AuthState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::app::emailed_codes::Purpose;
use shared::domain::email::EmailAddress;
use shared::edge::http::{ApiJson, ClientIp};
use shared::edge::openapi::{Problem, email_schema};
use utoipa::ToSchema;

use crate::signin::{
    SignInError, SignInResponse, add_account_creation, commit_with_session, ensure_active,
    new_account,
};

#[derive(Deserialize, ToSchema)]
pub struct StartRequest {
    #[schema(schema_with = email_schema)]
    email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyRequest {
    #[schema(schema_with = email_schema)]
    email: String,
    /// The six digits from the email.
    #[schema(pattern = "^[0-9]{6}$")]
    code: String,
    /// The statement that the person is 13 or older; needed to create an account.
    over_13: Option<bool>,
}

/// An empty object.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

fn parse_email(raw: &str) -> Result<EmailAddress, ApiError> {
    EmailAddress::parse(raw)
        .map_err(|_| ApiError::InvalidField("email is not a valid email address".into()))
}

/// POST /v1/auth/email/start — 202 `{}` whether or not an account exists: this path
/// never looks accounts up, so neither its answer nor its timing can tell (R02).
#[utoipa::path(
    post,
    path = "/v1/auth/email/start",
    tag = "auth",
    request_body(content = StartRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "A code was emailed (the same answer for any address)", body = Empty),
        (status = 422, description = "`email_undeliverable`: the mail service refuses this address; or `invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn start(
    State(state): State<AuthState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<StartRequest>,
) -> Result<(StatusCode, Json<Empty>), ApiError> {
    let email = parse_email(&req.email)?;
    let ip = ip.limit_subject();
    state
        .emailed_codes
        .send(
            Purpose::SignIn {
                email: email.as_str(),
                ip: &ip,
            },
            email.as_str(),
            None,
        )
        .await?;
    tracing::info!(event = "sign_in_code_sent", "sign-in code sent");
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

/// POST /v1/auth/email/verify — a session for a right code; a new account only with
/// the over-13 statement, and without it the code stays usable (R06).
#[utoipa::path(
    post,
    path = "/v1/auth/email/verify",
    tag = "auth",
    request_body(content = VerifyRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = SignInResponse),
        (status = 400, description = "`invalid_code` (wrong, expired or used up) or `malformed_json`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`account_suspended`; `account_blocked`: the address's account was terminated for abuse", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`account_being_deleted`: the account is being erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`age_confirmation_required` (a new account needs `over_13: true`; the code stays usable) or `invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit resets"))),
    )
)]
pub async fn verify(
    State(state): State<AuthState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<Json<SignInResponse>, ApiError> {
    let email = parse_email(&req.email)?;
    let ip = ip.limit_subject();
    let purpose = Purpose::SignIn {
        email: email.as_str(),
        ip: &ip,
    };
    let right = state.emailed_codes.check(purpose, &req.code).await?;

    // A concurrent sign-up of the same address can win the race to create the
    // account; then this request signs in to that account instead.
    for _ in 0..2 {
        let existing = state.accounts.find_by_email(email.as_str()).await?;
        let (account, is_new) = match existing {
            Some(a) => {
                ensure_active(&a)?;
                (a, false)
            }
            None if req.over_13 == Some(true) => {
                crate::signin::ensure_not_blocked(&state, email.as_str()).await?;
                (new_account(&state, email.as_str(), None), true)
            }
            None => {
                // R06: nothing is kept of the attempt; the code stays as it was.
                state.emailed_codes.give_back(purpose, &right).await?;
                return Err(ApiError::AgeConfirmationRequired);
            }
        };
        let mut tx = state.transactions.begin();
        tx.add("code", right.consume.clone());
        if is_new {
            add_account_creation(&state, &mut tx, &account)?;
        }
        match commit_with_session(&state, tx, &account, is_new, is_new, "email_code").await {
            Ok(res) => return Ok(res),
            // The code: used by a concurrent request, or voided meanwhile.
            Err(e) if e.failed("code") => return Err(ApiError::InvalidCode),
            Err(SignInError::Conflict(_)) if is_new => continue,
            Err(SignInError::Conflict(_)) => return Err(ApiError::InvalidCode),
            Err(SignInError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r01_an_address_is_normalised_and_a_malformed_one_is_an_invalid_request() {
        let email = parse_email("  Kim@Example.COM\n").unwrap();
        assert_eq!(email.as_str(), "kim@example.com");
        for bad in [
            "",
            "kim",
            "kim@",
            "@example.com",
            "kim@example",
            "kim@@example.com",
        ] {
            let err = parse_email(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{bad:?}");
            assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        }
    }
}
