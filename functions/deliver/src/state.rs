//! What `deliver` holds between invocations: built once from its own variables (the
//! videos and accounts tables, the outputs bucket, `MAIL_FROM`, and the provider that
//! `VIDEO_PROVIDER` names, to drop its copy).

use shared::adapters::dynamo::accounts::AccountStore;
use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::s3::Blobs;
use shared::adapters::ses::Mailer;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::wiring::Base;

pub struct Services {
    pub policy: Policy,
    pub clock: Clock,
    pub videos: VideoStore,
    pub accounts: AccountStore,
    pub blobs: Blobs,
    pub mailer: Mailer,
    pub providers: shared::adapters::providers::video::Providers,
    pub outputs_bucket: String,
}

/// What every invocation shares: the services, built once per process.
pub type DeliverState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            videos: w.videos()?,
            accounts: w.accounts()?,
            blobs: w.blobs(),
            mailer: w.mailer()?,
            providers: w.video_providers()?,
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            policy: base.policy.clone(),
            clock: base.clock.clone(),
        })
    }
}
