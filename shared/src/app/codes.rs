//! Emailed one-time codes (R02, R27, R30), the same for a sign-in code and for the
//! codes a signed-in person confirms a change with: [`issue`] sends one and stores its
//! keyed hash; [`check`] compares a given one.
//!
//! A code is stored only once sent: a failed send leaves the earlier code in place.
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

use crate::adapters::dynamo::codes::{CodeStore, StoredCode};
use crate::adapters::dynamo::rate_limits::RateLimiter;
use crate::adapters::dynamo::{StoreError, Write};
use crate::adapters::ses::{Email, MailError, Mailer};
use crate::domain::crypto::{constant_time_eq, new_sign_in_code};
use crate::domain::policy::Limit;

/// A code to send.
pub struct Issue<'a> {
    /// Where it is stored (one live code per key).
    pub key: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    /// The mail's text, given the code.
    pub text: &'a (dyn Fn(&str) -> String + Sync),
    /// The keyed hash of a code under this key.
    pub hash: &'a (dyn Fn(&str) -> String + Sync),
    /// What the code will confirm, when that is not in its key (a new address).
    pub payload: Option<String>,
    pub ttl: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Emails a new code, then stores its hash in place of the key's earlier code.
pub async fn issue(
    codes: &CodeStore,
    mailer: &Mailer,
    code: Issue<'_>,
    now: i64,
) -> Result<(), IssueError> {
    let new = new_sign_in_code();
    mailer
        .send(Email {
            to: code.to,
            subject: code.subject,
            text: &(code.text)(&new),
        })
        .await?;
    codes
        .put(
            code.key,
            &StoredCode {
                code_hash: (code.hash)(&new),
                attempts: 0,
                expires_at: now + code.ttl.as_secs() as i64,
                payload: code.payload,
            },
        )
        .await?;
    Ok(())
}

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
