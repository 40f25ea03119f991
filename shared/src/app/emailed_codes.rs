//! Emailed one-time codes (R02, R27, R30), the same for a sign-in code and for the
//! codes a signed-in person confirms a change with, told apart by their [`Purpose`]:
//! [`EmailedCodes::send`] sends one and stores its keyed hash; [`EmailedCodes::check`]
//! compares a given one. Everything that differs by purpose lives here once: the key,
//! the hash, the mail's text, the limits, and the security event of a wrong code.
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

use crate::adapters::dynamo::accounts::AccountStore;
use crate::adapters::dynamo::codes::{CodeStore, Confirmation, StoredCode};
use crate::adapters::dynamo::privacy::PrivacyStore;
use crate::adapters::dynamo::rate_limits::RateLimiter;
use crate::adapters::dynamo::{StoreError, Write};
use crate::adapters::ses::{Email, MailError, Mailer};
use crate::domain::clock::Clock;
use crate::domain::crypto::{constant_time_eq, keyed_hash, new_sign_in_code};
use crate::domain::ids::AccountId;
use crate::domain::policy::{Limit, Policy};
use crate::domain::secret::Secret;

/// What a code is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// Signing in by email (R02), for the address (normalised), asked from `ip` (whose
    /// codes and verifications are limited too: one client trying many addresses).
    SignIn { email: &'a str, ip: &'a str },
    /// Confirming a change of a signed-in account: a new address (R27) or a rights
    /// request (R30).
    Confirm {
        confirmation: Confirmation,
        account_id: &'a AccountId,
    },
}

impl<'a> Purpose<'a> {
    /// The security event a wrong code is recorded as (R22).
    fn wrong_event(self) -> &'static str {
        match self {
            Self::SignIn { .. } => "sign_in_code_wrong",
            Self::Confirm { .. } => "confirmation_code_wrong",
        }
    }

    /// The limits of this purpose: codes sent per subject, wrong codes per subject.
    fn scopes(self) -> (&'static str, &'static str) {
        match self {
            Self::SignIn { .. } => ("code_email", "verify_fail_email"),
            Self::Confirm { .. } => ("confirm_code_account", "confirm_fail_account"),
        }
    }

    /// Whom the limits count: the address signing in, or the account.
    fn subject(self) -> &'a str {
        match self {
            Self::SignIn { email, .. } => email,
            Self::Confirm { account_id, .. } => account_id,
        }
    }

    /// The client's own limit on sending codes or on verifying them, when signing in.
    fn client_limit(
        self,
        policy: &Policy,
        sending: bool,
    ) -> Option<(&'static str, &'a str, Limit)> {
        match self {
            Self::SignIn { ip, .. } if sending => Some(("code_ip", ip, policy.codes_per_ip)),
            Self::SignIn { ip, .. } => Some(("verify_ip", ip, policy.verifications_per_ip)),
            Self::Confirm { .. } => None,
        }
    }
}

/// Counts one event against a limit; refused once it is used up.
async fn within(
    limits: &RateLimiter,
    (scope, subject, limit): (&'static str, &str, Limit),
    now: i64,
) -> Result<(), CodeError> {
    limits
        .hit(scope, subject, limit, now)
        .await?
        .checked(scope)
        .map_err(|retry_after_secs| CodeError::RateLimited { retry_after_secs })
}

/// What a confirmation code confirms, in the mail's words.
fn confirms(confirmation: Confirmation) -> &'static str {
    match confirmation {
        Confirmation::EmailChange => "the change of your Sora2 AI sign-in address to this one",
        Confirmation::RightsRequest => {
            "a request about your personal data (a copy of it, or deleting your account)"
        }
    }
}

/// The mail that carries a code: its subject and text. It says what the code is for,
/// how long it lasts and that it works once (R02, R27, R30), and nothing else.
pub fn mail(purpose: Purpose<'_>, code: &str, minutes: u64) -> (&'static str, String) {
    match purpose {
        Purpose::SignIn { .. } => (
            "Your Sora2 AI sign-in code",
            format!(
                "Your Sora2 AI sign-in code is {code}.\n\n\
                 It is valid for {minutes} minutes and can be used once. If you did not ask \
                 for it, you can ignore this email.\n"
            ),
        ),
        Purpose::Confirm { confirmation, .. } => (
            "Your Sora2 AI confirmation code",
            format!(
                "Your Sora2 AI confirmation code is {code}.\n\n\
                 It confirms {}. It is valid for {minutes} minutes and can be used once. \
                 If you did not ask for it, you can ignore this email.\n",
                confirms(confirmation)
            ),
        ),
    }
}

/// Whether a code has the shape of ours (R02): exactly six ASCII digits, refused
/// before it costs an attempt or a place in a limit.
pub fn is_code_shape(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Why a code was not sent or not taken.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("code must be 6 digits")]
    Malformed,
    /// Too many codes sent, or too many wrong ones: try again after this long.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// No live code with attempts left, or a wrong one (counted).
    #[error("invalid code")]
    Invalid,
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A code that was right.
pub struct Right {
    /// The write that uses it up, for the caller's transaction (so it confirms once).
    pub consume: Write,
    /// Its stored hash (to give its attempt back if nothing comes of it).
    pub code_hash: String,
    /// What the code confirms, when that is not in its key (a new address).
    pub payload: Option<String>,
}

/// The emailed codes of every purpose.
#[derive(Clone, Debug)]
pub struct EmailedCodes {
    pub codes: CodeStore,
    pub limits: RateLimiter,
    pub mailer: Mailer,
    pub accounts: AccountStore,
    pub privacy: PrivacyStore,
    pub clock: Clock,
    pub policy: Policy,
    pub hash_secret: Secret,
}

impl EmailedCodes {
    /// Where a purpose's one live code is stored: under the address's keyed hash for a
    /// sign-in (no account need exist), under the account and purpose otherwise.
    pub fn key(&self, purpose: Purpose<'_>) -> String {
        match purpose {
            Purpose::SignIn { email, .. } => self.hash("email", email),
            Purpose::Confirm {
                confirmation,
                account_id,
            } => confirmation.key(account_id),
        }
    }

    fn hash(&self, what: &str, value: &str) -> String {
        keyed_hash(self.hash_secret.expose().as_bytes(), what, value)
    }

    fn code_hash(&self, purpose: Purpose<'_>, key: &str, code: &str) -> String {
        let what = match purpose {
            Purpose::SignIn { .. } => "sign_in_code",
            Purpose::Confirm { .. } => "confirm_code",
        };
        self.hash(what, &format!("{key}:{code}"))
    }

    /// Emails a new code for `purpose` to `to`, within the purpose's limit of codes,
    /// then stores its hash in place of the earlier code (a failed send leaves the
    /// earlier one). `payload` is what it will confirm, when that is not in its key.
    pub async fn send(
        &self,
        purpose: Purpose<'_>,
        to: &str,
        payload: Option<String>,
    ) -> Result<(), CodeError> {
        let now = self.clock.epoch_secs();
        if let Some(client) = purpose.client_limit(&self.policy, true) {
            within(&self.limits, client, now).await?;
        }
        let (sent_scope, _) = purpose.scopes();
        within(
            &self.limits,
            (sent_scope, purpose.subject(), self.policy.codes_per_address),
            now,
        )
        .await?;
        let key = self.key(purpose);
        let new = new_sign_in_code();
        let (subject, text) = mail(purpose, &new, self.policy.code_ttl.as_secs() / 60);
        self.mailer
            .send(Email {
                to,
                subject,
                text: &text,
            })
            .await?;
        self.codes
            .put(
                &key,
                &StoredCode {
                    code_hash: self.code_hash(purpose, &key, &new),
                    attempts: 0,
                    expires_at: now + self.policy.code_ttl.as_secs() as i64,
                    payload,
                },
            )
            .await?;
        Ok(())
    }

    /// Checks `code` for `purpose`. A wrong one counts against the code and the
    /// subject's budget of wrong codes, and is a security event of the account it was
    /// for, if there is one (R22).
    pub async fn check(&self, purpose: Purpose<'_>, code: &str) -> Result<Right, CodeError> {
        if !is_code_shape(code) {
            return Err(CodeError::Malformed);
        }
        let now = self.clock.epoch_secs();
        if let Some(client) = purpose.client_limit(&self.policy, false) {
            within(&self.limits, client, now).await?;
        }
        // Counted before compared: a place among the subject's wrong codes (whichever
        // code they were for), and an attempt on the code (R02).
        let (_, failed_scope) = purpose.scopes();
        let key = self.key(purpose);
        let checked = compare(
            &self.codes,
            &self.limits,
            FailureBudget {
                scope: failed_scope,
                subject: purpose.subject(),
                limit: self.policy.failed_verifications_per_address,
            },
            &key,
            &self.code_hash(purpose, &key, code),
            self.policy.code_max_attempts,
            now,
        )
        .await?;
        match checked {
            Ok(right) => Ok(right),
            Err(Refused::TooManyFailures { retry_after_secs }) => {
                tracing::info!(scope = failed_scope, retry_after_secs, "rate limited");
                Err(CodeError::RateLimited { retry_after_secs })
            }
            Err(Refused::NoCode) => Err(CodeError::Invalid),
            Err(Refused::Wrong) => {
                tracing::info!(event = purpose.wrong_event(), "wrong code");
                let account = match purpose {
                    Purpose::SignIn { email, .. } => {
                        self.accounts.find_by_email(email).await?.map(|a| a.id)
                    }
                    Purpose::Confirm { account_id, .. } => Some(account_id.clone()),
                };
                if let Some(account_id) = account {
                    // Kept from the event's own time (R22).
                    self.privacy
                        .record_security(
                            &account_id,
                            purpose.wrong_event(),
                            self.clock.now_secs(),
                            self.policy.security_event_retention,
                        )
                        .await?;
                }
                Err(CodeError::Invalid)
            }
        }
    }

    /// Gives back the attempt a right code took, when nothing came of it (a sign-up
    /// without the age statement keeps its code usable, R06).
    pub async fn give_back(&self, purpose: Purpose<'_>, right: &Right) -> Result<(), StoreError> {
        self.codes
            .unclaim(&self.key(purpose), &right.code_hash)
            .await
    }
}

/// The subject whose wrong codes are limited, and its limit.
struct FailureBudget<'a> {
    scope: &'static str,
    subject: &'a str,
    limit: Limit,
}

/// Why a code was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// The subject's wrong codes used up its budget: try again after this long.
    TooManyFailures { retry_after_secs: u64 },
    /// No live code with attempts left under this key.
    NoCode,
    /// The code compared and was wrong (counted against the code and the budget).
    Wrong,
}

/// Checks the code whose keyed hash is `given_hash` against the one stored under `key`.
#[allow(clippy::too_many_arguments)]
async fn compare(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r02_a_code_is_exactly_six_ascii_digits() {
        assert!(is_code_shape("012345"));
        for bad in ["12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345", ""] {
            assert!(!is_code_shape(bad), "{bad:?}");
        }
    }

    #[test]
    fn r02_the_sign_in_mail_names_the_code_its_lifetime_and_its_single_use() {
        let (subject, text) = mail(
            Purpose::SignIn {
                email: "a@example.com",
                ip: "192.0.2.1",
            },
            "482913",
            10,
        );
        assert_eq!(subject, "Your Sora2 AI sign-in code");
        assert!(text.contains("482913"), "{text}");
        assert!(text.contains("valid for 10 minutes"), "{text}");
        assert!(text.contains("used once"), "{text}");
        // Nothing of the person: not even the address it goes to.
        assert!(!text.contains("a@example.com"), "{text}");
    }

    #[test]
    fn r27_r30_a_confirmation_mail_says_what_it_confirms() {
        for (confirmation, says) in [
            (Confirmation::EmailChange, "sign-in address"),
            (Confirmation::RightsRequest, "personal data"),
        ] {
            let (subject, text) = mail(
                Purpose::Confirm {
                    confirmation,
                    account_id: &AccountId::new("acc_1"),
                },
                "000111",
                10,
            );
            assert_eq!(subject, "Your Sora2 AI confirmation code");
            assert!(text.contains("000111") && text.contains(says), "{text}");
            assert!(!text.contains("acc_1"), "{text}");
        }
    }

    #[test]
    fn each_purpose_has_its_own_limits_and_event() {
        let sign_in = Purpose::SignIn {
            email: "a@example.com",
            ip: "192.0.2.1",
        };
        let confirm = Purpose::Confirm {
            confirmation: Confirmation::RightsRequest,
            account_id: &AccountId::new("acc_1"),
        };
        assert_eq!(sign_in.scopes(), ("code_email", "verify_fail_email"));
        assert_eq!(
            confirm.scopes(),
            ("confirm_code_account", "confirm_fail_account")
        );
        assert_eq!(sign_in.subject(), "a@example.com");
        assert_eq!(confirm.subject(), "acc_1");
        assert_eq!(sign_in.wrong_event(), "sign_in_code_wrong");
        assert_eq!(confirm.wrong_event(), "confirmation_code_wrong");
        // R02: a client signing in is limited on its own, both ways.
        let p = Policy::default();
        assert_eq!(
            sign_in.client_limit(&p, true),
            Some(("code_ip", "192.0.2.1", p.codes_per_ip))
        );
        assert_eq!(
            sign_in.client_limit(&p, false),
            Some(("verify_ip", "192.0.2.1", p.verifications_per_ip))
        );
        assert_eq!(confirm.client_limit(&p, true), None);
    }
}
