//! What `videos` holds between invocations: built once from its own variables (the
//! accounts, sessions, ledger, audit, rate-limit and videos tables, `HASH_SECRET`,
//! both buckets, the generate queue, and Creem's moderation).

use shared::adapters::dynamo::Transactions;

use shared::adapters::dynamo::accounts::AccountStore;
use shared::adapters::dynamo::ledger::LedgerStore;
use shared::adapters::dynamo::rate_limits::RateLimiter;
use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::s3::Blobs;
use shared::adapters::sqs::Queue;
use shared::app::enforcement::Enforcement;
use shared::app::jobs::Jobs;
use shared::app::removal::VideoRemoval;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::http::session::SessionCheck;
use shared::edge::wiring::Base;

use crate::moderation::Moderation;

pub struct Services {
    pub policy: Policy,
    pub clock: Clock,
    pub accounts: AccountStore,
    pub session: SessionCheck,
    pub jobs: Jobs,
    pub enforcement: Enforcement,
    pub limits: RateLimiter,
    pub ledger: LedgerStore,
    pub videos: VideoStore,
    pub blobs: Blobs,
    pub queue: Queue,
    pub moderation: Moderation,
    /// Rekognition's screening of uploaded images (R45).
    pub screening: shared::adapters::rekognition::ImageScreening,
    /// Refusals and their statements (R46), and the appeals against them.
    pub refusals: shared::app::refusals::Refusals,
    pub appeals: shared::app::appeals::Appeals,
    pub inputs_bucket: String,
    pub outputs_bucket: String,
    pub removal: VideoRemoval,
    /// The models catalogue (R42).
    pub catalogue: shared::domain::models::Catalogue,
    pub transactions: Transactions,
    /// Each model's recent times to ready, for the wait shown (read a minute at most).
    pub recent_times: crate::view::RecentTimes,
    /// The service's secret: share links' tokens are derived with it (R49).
    pub hash_secret: shared::domain::secret::Secret,
}

/// What every invocation shares: the services, built once per process.
pub type VideosState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            accounts: w.accounts()?,
            session: w.session_check()?,
            jobs: w.jobs()?,
            enforcement: w.enforcement()?,
            limits: w.rate_limiter()?,
            ledger: w.ledger()?,
            videos: w.videos()?,
            blobs: w.blobs(),
            queue: w.generate_queue()?,
            moderation: Moderation::from_env(env, base.http.clone())?,
            screening: w.image_screening()?,
            refusals: w.refusals()?,
            appeals: w.appeals()?,
            inputs_bucket: w.bucket("INPUTS_BUCKET")?,
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            removal: w.video_removal()?,
            catalogue: w.models()?,
            transactions: w.transactions(),
            hash_secret: w.hash_secret()?,
            recent_times: Default::default(),
            policy: base.policy.clone(),
            clock: base.clock.clone(),
        })
    }
}

impl AsRef<SessionCheck> for Services {
    fn as_ref(&self) -> &SessionCheck {
        &self.session
    }
}
