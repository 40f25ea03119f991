//! What `account` holds between invocations: built once from its own variables
//! (tables, the privacy queue, the exports bucket, mail, the hash key, the support
//! address and the public URL).

use shared::adapters::dynamo::Transactions;

use shared::adapters::dynamo::accounts::AccountStore;
use shared::adapters::dynamo::billing::BillingStore;
use shared::adapters::dynamo::ledger::LedgerStore;
use shared::adapters::dynamo::privacy::PrivacyStore;
use shared::adapters::dynamo::rate_limits::RateLimiter;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::s3::Blobs;
use shared::adapters::ses::Mailer;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::http::session::SessionCheck;
use shared::edge::wiring::Base;

pub struct Services {
    pub clock: Clock,
    pub policy: Policy,
    pub transactions: Transactions,
    pub accounts: AccountStore,
    pub session: SessionCheck,
    pub ledger: LedgerStore,
    pub billing: BillingStore,
    pub privacy: PrivacyStore,
    pub limits: RateLimiter,
    pub mailer: Mailer,
    /// Confirmation codes (R27, R30), sent and checked.
    pub emailed_codes: shared::app::emailed_codes::EmailedCodes,
    pub rights_requests: shared::app::rights_requests::RightsRequests,
    pub blobs: Blobs,
    pub exports_bucket: String,
    /// Where support messages are forwarded (R31).
    pub support_address: String,
    /// The API's public base URL, for links in mail (unsubscribe, R24).
    pub public_url: String,
    /// The website's origin, for the unsubscribe page's link in mail.
    pub site_url: String,
    hash_secret: shared::domain::secret::Secret,
}

/// What every invocation shares: the services, built once per process.
pub type AccountState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            accounts: w.accounts()?,
            session: w.session_check()?,
            ledger: w.ledger()?,
            billing: w.billing()?,
            privacy: w.privacy()?,
            limits: w.rate_limiter()?,
            mailer: w.mailer()?,
            emailed_codes: w.emailed_codes()?,
            rights_requests: w.rights_requests()?,
            blobs: w.blobs(),
            exports_bucket: w.bucket("EXPORTS_BUCKET")?,
            support_address: env.email("SUPPORT_EMAIL")?,
            public_url: w.public_url()?,
            site_url: env.url("SITE_URL")?.trim_end_matches('/').to_owned(),
            hash_secret: w.hash_secret()?,
            transactions: w.transactions(),
            policy: base.policy.clone(),
            clock: base.clock.clone(),
        })
    }
}

impl Services {
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        shared::domain::crypto::keyed_hash(self.hash_secret.expose().as_bytes(), purpose, value)
    }

    /// Now, to the second: every record's time.
    pub fn now(&self) -> shared::domain::clock::DateTime<shared::domain::clock::Utc> {
        self.clock.now_secs()
    }

    /// Epoch seconds `d` from now.
    pub fn epoch_in(&self, d: std::time::Duration) -> i64 {
        self.clock.epoch_secs() + d.as_secs() as i64
    }
}

impl AsRef<SessionCheck> for Services {
    fn as_ref(&self) -> &SessionCheck {
        &self.session
    }
}
