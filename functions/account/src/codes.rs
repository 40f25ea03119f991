//! Codes a signed-in person confirms something with, sent by email: a new address
//! (R27, sent to that address) and a rights request (R30, sent to the account's
//! address). Kept as keyed hashes, valid for the policy's code lifetime, void after
//! its wrong tries, used once — as sign-in codes are (R02).

use shared::ApiError;
use shared::adapters::dynamo::Write;
use shared::app::codes::Refused;
use shared::edge::problem::within_limit;

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
    let key = purpose.key(account_id);
    let minutes = state.policy.code_ttl.as_secs() / 60;
    let text = |code: &str| {
        format!(
            "Your Sora2 AI confirmation code is {code}.\n\n\
             It confirms {what}. It is valid for {minutes} minutes and can be used once. \
             If you did not ask for it, you can ignore this email.\n"
        )
    };
    let hash = |code: &str| code_hash(state, &key, code);
    shared::app::codes::issue(
        &state.codes,
        &state.mailer,
        shared::app::codes::Issue {
            key: &key,
            to,
            subject: "Your Sora2 AI confirmation code",
            text: &text,
            hash: &hash,
            payload,
            ttl: state.policy.code_ttl,
        },
        now,
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
            let at = state.now();
            state
                .privacy
                .record_security(
                    account_id,
                    "confirmation_code_wrong",
                    &at,
                    state.expiry_of(&at, policy.security_event_retention),
                )
                .await?;
            Err(ApiError::InvalidCode)
        }
    }
}
