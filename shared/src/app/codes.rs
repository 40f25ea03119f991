//! Checking an emailed one-time code (R02, R27, R30), the same for a sign-in code and
//! for the codes a signed-in person confirms a change with.
//!
//! Everything is counted before the comparison, atomically, so a burst of concurrent
//! guesses gets no more comparisons than one guess after another:
//! - a place in the subject's budget of wrong codes (at most N an hour), given back if
//!   the code turns out right (or there was no code to compare with);
//! - an attempt on the code itself, with a conditional update that returns the stored
//!   hash only while the code has attempts left, is unexpired and exists.
//!
//! Only then is the hash compared, in constant time. A right code is used up by the
//! caller's transaction ([`Right::consume`]), on the condition that it is still the one
//! compared.

use crate::adapters::dynamo::codes::CodeStore;
use crate::adapters::dynamo::rate_limits::RateLimiter;
use crate::adapters::dynamo::{StoreError, Write};
use crate::domain::crypto::constant_time_eq;
use crate::domain::policy::Limit;

/// The subject whose wrong codes are limited, and its limit.
pub struct FailureBudget<'a> {
    pub scope: &'static str,
    pub subject: &'a str,
    pub limit: Limit,
}

/// A code that was right.
pub struct Right {
    /// The write that uses it up, for the caller's transaction.
    pub consume: Write,
    /// Its stored hash (to give its attempt back if nothing comes of it).
    pub code_hash: String,
    /// What the code confirms, when that is not in its key (a new address).
    pub payload: Option<String>,
}

/// Why a code was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The subject's wrong codes used up its budget: try again after this long.
    TooManyFailures { retry_after_secs: u64 },
    /// No live code with attempts left under this key.
    NoCode,
    /// The code compared and was wrong (counted against the code and the budget).
    Wrong,
}

/// Checks the code whose keyed hash is `given_hash` against the one stored under `key`.
pub async fn check(
    codes: &CodeStore,
    limits: &RateLimiter,
    budget: FailureBudget<'_>,
    key: &str,
    given_hash: &str,
    max_attempts: u32,
    now: i64,
) -> Result<Result<Right, Refused>, StoreError> {
    let place = match limits
        .take(budget.scope, budget.subject, budget.limit, now)
        .await?
    {
        Ok(place) => place,
        Err(retry_after) => {
            return Ok(Err(Refused::TooManyFailures {
                retry_after_secs: retry_after.as_secs(),
            }));
        }
    };
    let Some(stored) = codes.claim_attempt(key, max_attempts, now).await? else {
        limits.release(&place).await?;
        return Ok(Err(Refused::NoCode));
    };
    if !constant_time_eq(given_hash.as_bytes(), stored.code_hash.as_bytes()) {
        return Ok(Err(Refused::Wrong));
    }
    limits.release(&place).await?;
    Ok(Ok(Right {
        consume: codes.consume_write(key, &stored.code_hash, max_attempts, now)?,
        code_hash: stored.code_hash,
        payload: stored.payload,
    }))
}
