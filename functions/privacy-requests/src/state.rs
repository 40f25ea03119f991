//! What `privacy-requests` holds between invocations: built once from its own
//! variables (every table and bucket a person's data lives in, mail, the hash key for
//! pseudonyms, the video provider to delete its copies, the public URL for links).

use shared::adapters::dynamo::Transactions;

use shared::adapters::dynamo::accounts::AccountStore;
use shared::adapters::dynamo::audit::AuditStore;
use shared::adapters::dynamo::billing::BillingStore;
use shared::adapters::dynamo::codes::CodeStore;
use shared::adapters::dynamo::ledger::LedgerStore;
use shared::adapters::dynamo::privacy::PrivacyStore;
use shared::adapters::dynamo::sessions::SessionStore;
use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::s3::Blobs;
use shared::adapters::ses::Mailer;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::wiring::Base;

pub struct Services {
    pub clock: Clock,
    pub policy: Policy,
    pub transactions: Transactions,
    pub accounts: AccountStore,
    pub sessions: SessionStore,
    pub codes: CodeStore,
    pub privacy: PrivacyStore,
    pub videos: VideoStore,
    pub ledger: LedgerStore,
    pub billing: BillingStore,
    pub audit: AuditStore,
    pub blobs: Blobs,
    pub inputs_bucket: String,
    pub outputs_bucket: String,
    pub exports_bucket: String,
    pub mailer: Mailer,
    /// For the erasure's second pass, queued to itself.
    pub queue: shared::adapters::sqs::PrivacyQueue,
    pub public_url: String,
    /// To delete the provider's copies of the person's videos (R16, R28).
    pub providers: shared::adapters::providers::video::Providers,
    /// To cancel the person's subscriptions before anything is erased (R28).
    pub creem: shared::adapters::creem::CreemSubscriptions,
    hash_secret: shared::domain::secret::Secret,
}

/// What every invocation shares: the services, built once per process.
pub type PrivacyRequestsState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            accounts: w.accounts()?,
            sessions: w.sessions()?,
            codes: w.codes()?,
            privacy: w.privacy()?,
            videos: w.videos()?,
            ledger: w.ledger()?,
            billing: w.billing()?,
            audit: w.audit()?,
            blobs: w.blobs(),
            inputs_bucket: w.bucket("INPUTS_BUCKET")?,
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            exports_bucket: w.bucket("EXPORTS_BUCKET")?,
            mailer: w.mailer()?,
            queue: w.privacy_queue()?,
            public_url: w.public_url()?,
            providers: w.video_providers()?,
            creem: w.creem_subscriptions()?,
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
}
