//! What `purge-expired` holds between runs: built once from its own variables (the
//! videos table, the three buckets, and the video provider, to delete its copies).

use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::s3::Blobs;
use shared::domain::clock::Clock;
use shared::edge::wiring::Base;

pub struct Services {
    pub clock: Clock,
    pub videos: VideoStore,
    /// To find jobs whose account is gone (R33).
    pub accounts: shared::adapters::dynamo::accounts::AccountStore,
    pub blobs: Blobs,
    pub inputs_bucket: String,
    pub outputs_bucket: String,
    pub exports_bucket: String,
    pub privacy: shared::adapters::dynamo::privacy::PrivacyStore,
    /// Every table with a TTL, for what the TTL is late with (R33).
    pub ttl_tables: Vec<crate::ttl::TtlTable>,
    pub privacy_queue: shared::adapters::sqs::PrivacyQueue,
    pub policy: shared::domain::policy::Policy,
    /// To delete the provider's copies (R16).
    pub providers: shared::adapters::providers::video::Providers,
}

/// What every invocation shares: the services, built once per process.
pub type PurgeExpiredState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            videos: w.videos()?,
            accounts: w.accounts()?,
            blobs: w.blobs(),
            inputs_bucket: w.bucket("INPUTS_BUCKET")?,
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            exports_bucket: w.bucket("EXPORTS_BUCKET")?,
            providers: w.video_providers()?,
            privacy: w.privacy()?,
            ttl_tables: {
                use crate::ttl::*;
                let tables: [(&'static str, ClassOf); 8] = [
                    ("SESSIONS_TABLE", SessionStore::expiring_class),
                    ("PRIVACY_TABLE", PrivacyStore::expiring_class),
                    ("VIDEOS_TABLE", VideoStore::expiring_class),
                    ("RATE_LIMITS_TABLE", rate_limits_class),
                    ("AUDIT_TABLE", audit_class),
                    ("BILLING_TABLE", BillingStore::expiring_class),
                    ("LEDGER_TABLE", ledger_class),
                    ("ACCOUNTS_TABLE", accounts_class),
                ];
                tables
                    .into_iter()
                    .map(|(var, class_of)| {
                        Ok(TtlTable {
                            table: w.table(var)?,
                            class_of,
                        })
                    })
                    .collect::<Result<_, ConfigError>>()?
            },
            privacy_queue: w.privacy_queue()?,
            policy: base.policy.clone(),
            clock: base.clock.clone(),
        })
    }
}
