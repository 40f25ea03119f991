//! What `purge-expired` holds between runs: built once from its own variables (the
//! videos table, both buckets, and the video provider, to delete its copies).

use std::sync::Arc;

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
    pub privacy: shared::adapters::dynamo::privacy::PrivacyStore,
    /// Every table with a TTL, for what the TTL is late with (R33).
    pub ttl_tables: Vec<crate::ttl::TtlTable>,
    pub privacy_queue: shared::adapters::sqs::PrivacyQueue,
    pub policy: shared::domain::policy::Policy,
    /// To delete the provider's copies (R16).
    pub provider: std::sync::Arc<dyn shared::adapters::providers::video::VideoProvider>,
}

#[derive(Clone)]
pub struct PurgeState(Arc<Services>);

impl std::ops::Deref for PurgeState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl PurgeState {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Self(Arc::new(Services {
            videos: w.videos()?,
            accounts: w.accounts()?,
            blobs: w.blobs(),
            inputs_bucket: w.bucket("INPUTS_BUCKET")?,
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            provider: w.video_provider()?,
            privacy: w.privacy()?,
            ttl_tables: {
                use crate::ttl::*;
                vec![
                    TtlTable {
                        table: w.table("SESSIONS_TABLE")?,
                        class_of: sessions_class,
                    },
                    TtlTable {
                        table: w.table("PRIVACY_TABLE")?,
                        class_of: privacy_class,
                    },
                    TtlTable {
                        table: w.table("VIDEOS_TABLE")?,
                        class_of: videos_class,
                    },
                    TtlTable {
                        table: w.table("RATE_LIMITS_TABLE")?,
                        class_of: rate_limits_class,
                    },
                    TtlTable {
                        table: w.table("AUDIT_TABLE")?,
                        class_of: audit_class,
                    },
                    TtlTable {
                        table: w.table("BILLING_TABLE")?,
                        class_of: billing_class,
                    },
                ]
            },
            privacy_queue: w.privacy_queue()?,
            policy: base.policy.clone(),
            clock: base.clock.clone(),
        })))
    }
}
