//! What `generate` holds between invocations: built once from its own variables (the
//! videos and ledger tables, both buckets, the generate queue, the provider that
//! `VIDEO_PROVIDER` names with that provider's variables, and our webhook for it).

use std::sync::Arc;

use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::providers::video::VideoProvider;
use shared::adapters::s3::Blobs;
use shared::adapters::sqs::Queue;
use shared::app::jobs::Jobs;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::wiring::Base;

pub struct Services {
    pub policy: Policy,
    pub clock: Clock,
    pub videos: VideoStore,
    pub blobs: Blobs,
    pub queue: Queue,
    pub provider: Arc<dyn VideoProvider>,
    pub jobs: Jobs,
    pub inputs_bucket: String,
    pub outputs_bucket: String,
    /// `PROVIDER_WEBHOOK_URL`: our webhook for the provider's completion calls, if the
    /// provider makes them; the job's id is added to it.
    pub callback: Option<String>,
}

#[derive(Clone)]
pub struct GenerateState(Arc<Services>);

impl std::ops::Deref for GenerateState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl GenerateState {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let provider = base.wire(env).video_provider()?;
        Self::with_provider(base, env, provider)
    }

    /// The state with a provider given rather than configured (the step's tests use a
    /// scripted one).
    pub fn with_provider(
        base: &Base,
        env: &Env,
        provider: Arc<dyn VideoProvider>,
    ) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Self(Arc::new(Services {
            videos: w.videos()?,
            blobs: w.blobs(),
            queue: w.generate_queue()?,
            jobs: w.jobs()?,
            inputs_bucket: w.bucket("INPUTS_BUCKET")?,
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            callback: match env.optional("PROVIDER_WEBHOOK_URL") {
                Some(_) => Some(env.url("PROVIDER_WEBHOOK_URL")?),
                None => None,
            }
            .filter(|_| provider.calls_back()),
            policy: base.policy.clone(),
            clock: base.clock.clone(),
            provider,
        })))
    }
}
