//! Codes a signed-in person confirms something with, sent by email: a new address
//! (R27, sent to that address) and a rights request (R30, sent to the account's
//! address). Kept as keyed hashes, valid for the policy's code lifetime, void after
//! its wrong tries, used once — as sign-in codes are (R02).

use shared::ApiError;
use shared::adapters::dynamo::Write;
use shared::adapters::dynamo::codes::StoredCode;
use shared::adapters::ses::{Email, MailError};
use shared::app::codes::Refused;
use shared::domain::crypto::new_sign_in_code;
use shared::edge::problem::{unavailable, within_limit};

use crate::state::Services;

pub use shared::adapters::dynamo::codes::Confirmation as Purpose;

fn code_hash(state: &Services, key: &str, code: &str) -> String {
    state.keyed_hash("confirm_code", &format!("{key}:{code}"))
}

/// Emails a new code for `purpose` to `to`, within the per-account limit; `payload`
/// is what it will confirm. The code is stored only once sent.
pub async fn send(
    state: &Services,
    purpose: Purpose,
    account_id: &str,
    to: &str,
    what: &str,
    payload: Option<String>,
) -> Result<(), ApiError> {
    let now = state.clock.epoch_secs();
    within_limit(
        &state.limits,
        "confirm_code_account",
        account_id,
        state.policy.codes_per_address,
        now,
    )
    .await?;
    let code = new_sign_in_code();
    let key = purpose.key(account_id);
    let minutes = state.policy.code_ttl.as_secs() / 60;
    let text = format!(
        "Your Sora2 AI confirmation code is {code}.\n\n\
         It confirms {what}. It is valid for {minutes} minutes and can be used once. \
         If you did not ask for it, you can ignore this email.\n"
    );
    state
        .mailer
        .send(Email {
            to,
            subject: "Your Sora2 AI confirmation code",
            text: &text,
        })
        .await
        .map_err(|e| match e {
            MailError::Rejected(_) => ApiError::EmailUndeliverable,
            other => unavailable("ses", other),
        })?;
    state
        .codes
        .put(
            &key,
            &StoredCode {
                code_hash: code_hash(state, &key, &code),
                attempts: 0,
                expires_at: now + state.policy.code_ttl.as_secs() as i64,
                payload,
            },
        )
        .await?;
    Ok(())
}

/// A code that was right: the write that uses it up (to commit with what it
/// confirms, so it confirms once), and its payload.
pub struct Confirmed {
    pub consume: Write,
    pub payload: Option<String>,
}

/// Checks `code` for `purpose`; a wrong one counts against the code and the account.
pub async fn check(
    state: &Services,
    purpose: Purpose,
    account_id: &str,
    code: &str,
) -> Result<Confirmed, ApiError> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::InvalidField("code must be 6 digits".into()));
    }
    let now = state.clock.epoch_secs();
    let policy = &state.policy;
    let key = purpose.key(account_id);
    let checked = shared::app::codes::check(
        &state.codes,
        &state.limits,
        shared::app::codes::FailureBudget {
            scope: "confirm_fail_account",
            subject: account_id,
            limit: policy.failed_verifications_per_address,
        },
        &key,
        &code_hash(state, &key, code),
        policy.code_max_attempts,
        now,
    )
    .await?;
    match checked {
        Ok(right) => Ok(Confirmed {
            consume: right.consume,
            payload: right.payload,
        }),
        Err(Refused::TooManyFailures { retry_after_secs }) => {
            Err(ApiError::RateLimited { retry_after_secs })
        }
        Err(Refused::NoCode) => Err(ApiError::InvalidCode),
        Err(Refused::Wrong) => {
            state
                .privacy
                .record_security(
                    account_id,
                    "confirmation_code_wrong",
                    &state.now(),
                    state.epoch_in(policy.security_event_retention),
                )
                .await?;
            Err(ApiError::InvalidCode)
        }
    }
}
