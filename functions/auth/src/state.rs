//! What `auth` holds between invocations: built once from its own variables
//! (`ACCOUNTS_TABLE`, `SESSIONS_TABLE`, `RATE_LIMITS_TABLE`, `LEDGER_TABLE`,
//! `HASH_SECRET`, `MAIL_FROM`, `GOOGLE_CLIENT_ID`, `GOOGLE_JWKS_URL`).

use shared::adapters::dynamo::Transactions;

use shared::adapters::dynamo::accounts::AccountStore;
use shared::adapters::dynamo::ledger::LedgerStore;
use shared::adapters::dynamo::rate_limits::RateLimiter;
use shared::adapters::dynamo::sessions::SessionStore;
use shared::adapters::env::{ConfigError, Env};
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::http::session::SessionCheck;
use shared::edge::wiring::Base;

use crate::google_token::GoogleVerifier;

pub struct Services {
    pub policy: Policy,
    pub clock: Clock,
    pub accounts: AccountStore,
    pub sessions: SessionStore,
    pub session: SessionCheck,
    pub limits: RateLimiter,
    pub ledger: LedgerStore,
    /// Sign-in codes (R02), sent and checked.
    pub emailed_codes: shared::app::emailed_codes::EmailedCodes,
    pub google: GoogleVerifier,
    pub transactions: Transactions,
    /// Key of the keyed hashes of codes and addresses. A secret: never logged.
    hash_secret: shared::domain::secret::Secret,
}

/// What every invocation shares: the services, built once per process.
pub type AuthState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        let google = GoogleVerifier::new(
            base.http.clone(),
            &env.url("GOOGLE_JWKS_URL")?,
            &env.required("GOOGLE_CLIENT_ID")?,
            base.clock.clone(),
            &base.policy,
        );
        Ok(Services {
            accounts: w.accounts()?,
            sessions: w.sessions()?,
            session: w.session_check()?,
            limits: w.rate_limiter()?,
            ledger: w.ledger()?,
            emailed_codes: w.emailed_codes()?,
            hash_secret: w.hash_secret()?,
            transactions: w.transactions(),
            google,
            policy: base.policy.clone(),
            clock: base.clock.clone(),
        })
    }
}

impl Services {
    /// Keyed hash of a value under this deployment's secret.
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        shared::domain::crypto::keyed_hash(self.hash_secret.expose().as_bytes(), purpose, value)
    }
}

impl AsRef<SessionCheck> for Services {
    fn as_ref(&self) -> &SessionCheck {
        &self.session
    }
}
