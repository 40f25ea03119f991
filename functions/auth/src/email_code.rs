//! Sign-in by email one-time code (R01, R02, R06).

use crate::state::AuthState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::app::codes::{self, Refused};
use shared::domain::email::EmailAddress;
use shared::edge::http::{ApiJson, ClientIp};
use shared::edge::openapi::{Problem, email_schema};
use shared::edge::problem::within_limit;
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
    let now = state.clock.epoch_secs();
    let policy = &state.policy;
    within_limit(
        &state.limits,
        "code_ip",
        &ip.0.to_string(),
        policy.codes_per_ip,
        now,
    )
    .await?;
    within_limit(
        &state.limits,
        "code_email",
        email.as_str(),
        policy.codes_per_address,
        now,
    )
    .await?;

    let email_hash = state.keyed_hash("email", email.as_str());
    let minutes = policy.code_ttl.as_secs() / 60;
    let text = |code: &str| code_mail_text(code, minutes);
    let hash = |code: &str| code_hash(&state, &email_hash, code);
    codes::issue(
        &state.codes,
        &state.mailer,
        codes::Issue {
            key: &email_hash,
            to: email.as_str(),
            subject: "Your Sora2 AI sign-in code",
            text: &text,
            hash: &hash,
            payload: None,
            ttl: policy.code_ttl,
        },
        now,
    )
    .await?;
    tracing::info!(event = "sign_in_code_sent", "sign-in code sent");
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

/// The sign-in code's email: the code, how long it lasts and that it works once (R02).
fn code_mail_text(code: &str, minutes: u64) -> String {
    format!(
        "Your Sora2 AI sign-in code is {code}.\n\n\
         It is valid for {minutes} minutes and can be used once. If you did not ask \
         for it, you can ignore this email.\n"
    )
}

/// Whether a code has the shape of ours (R02): exactly six ASCII digits, refused
/// before it costs an attempt or a rate-limit place.
fn is_code_shape(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

fn code_hash(state: &AuthState, email_hash: &str, code: &str) -> String {
    state.keyed_hash("sign_in_code", &format!("{email_hash}:{code}"))
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
    let code = req.code.as_str();
    if !is_code_shape(code) {
        return Err(ApiError::InvalidField("code must be 6 digits".into()));
    }
    let now = state.clock.epoch_secs();
    let policy = &state.policy;
    within_limit(
        &state.limits,
        "verify_ip",
        &ip.0.to_string(),
        policy.verifications_per_ip,
        now,
    )
    .await?;
    // Counted before compared: a place among the address's wrong codes (whichever
    // code they were for), and an attempt on the code (R02).
    let email_hash = state.keyed_hash("email", email.as_str());
    let checked = codes::check(
        &state.codes,
        &state.limits,
        codes::FailureBudget {
            scope: "verify_fail_email",
            subject: email.as_str(),
            limit: policy.failed_verifications_per_address,
        },
        &email_hash,
        &code_hash(&state, &email_hash, code),
        policy.code_max_attempts,
        now,
    )
    .await?;
    let right = match checked {
        Ok(right) => right,
        Err(Refused::TooManyFailures { retry_after_secs }) => {
            tracing::info!(
                scope = "verify_fail_email",
                retry_after_secs,
                "rate limited"
            );
            return Err(ApiError::RateLimited { retry_after_secs });
        }
        Err(Refused::NoCode) => return Err(ApiError::InvalidCode),
        Err(Refused::Wrong) => {
            tracing::info!(event = "sign_in_code_wrong", "wrong sign-in code");
            // R22: a failed code is a security event of the account it was for, if any.
            if let Some(account) = state.accounts.find_by_email(email.as_str()).await? {
                state
                    .session
                    .privacy
                    .record_security(
                        &account.id,
                        "sign_in_code_wrong",
                        &shared::domain::clock::rfc3339(state.clock.now()),
                        now + policy.security_event_retention.as_secs() as i64,
                    )
                    .await?;
            }
            return Err(ApiError::InvalidCode);
        }
    };

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
                state.codes.unclaim(&email_hash, &right.code_hash).await?;
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

    #[test]
    fn r02_a_code_is_exactly_six_ascii_digits() {
        assert!(is_code_shape("000000"));
        assert!(is_code_shape("123456"));
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            "12 345",
            " 12345",
            "123456 ",
            // Six digits, but not ASCII ones.
            "\u{0661}\u{0662}\u{0663}\u{0664}\u{0665}\u{0666}",
            "\u{FF11}\u{FF12}\u{FF13}\u{FF14}\u{FF15}\u{FF16}",
        ] {
            assert!(!is_code_shape(bad), "{bad:?}");
        }
    }

    #[test]
    fn r02_the_code_mail_names_the_code_its_lifetime_and_its_single_use() {
        let text = code_mail_text("042317", 10);
        assert!(text.contains("sign-in code is 042317."), "{text}");
        assert!(text.contains("valid for 10 minutes"), "{text}");
        assert!(text.contains("can be used once"), "{text}");
        // The lifetime is the one it is given, not a fixed number.
        assert!(code_mail_text("042317", 15).contains("valid for 15 minutes"));
    }
}
