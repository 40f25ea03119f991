//! What `generate` holds between invocations: built once from its own variables (the
//! videos and ledger tables, both buckets, the generate queue, the providers that
//! `VIDEO_PROVIDERS` lists with each one's variables, the models catalogue, the
//! providers' shared health, and our webhook for them).

use shared::adapters::dynamo::circuits::{Breaker, Circuits};
use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::providers::video::Providers;
use shared::adapters::s3::Blobs;
use shared::adapters::sqs::Queue;
use shared::app::jobs::Jobs;
use shared::domain::clock::Clock;
use shared::domain::models::Catalogue;
use shared::domain::policy::Policy;
use shared::edge::wiring::Base;

pub struct Services {
    pub policy: Policy,
    pub clock: Clock,
    pub videos: VideoStore,
    pub blobs: Blobs,
    pub queue: Queue,
    pub providers: Providers,
    pub catalogue: Catalogue,
    pub circuits: Circuits,
    pub breaker: Breaker,
    pub jobs: Jobs,
    /// A provider's refusal: recorded, and told to the owner with its appeal (R46).
    pub refusals: shared::app::refusals::Refusals,
    pub mailer: shared::adapters::ses::Mailer,
    pub inputs_bucket: String,
    pub outputs_bucket: String,
    /// `PROVIDER_WEBHOOK_URL`: the base of our webhooks for the providers' completion
    /// calls (`{base}/{provider}`), for those that make them; the job's id is added.
    pub callback: Option<String>,
}

/// What every invocation shares: the services, built once per process.
pub type GenerateState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let providers = base.wire(env).video_providers()?;
        Self::with_providers(base, env, providers)
    }
}

impl Services {
    /// The services with providers given rather than configured (the step's tests use
    /// scripted ones).
    pub fn with_providers(
        base: &Base,
        env: &Env,
        providers: Providers,
    ) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        let p = &base.policy;
        Ok(Services {
            videos: w.videos()?,
            blobs: w.blobs(),
            queue: w.generate_queue()?,
            jobs: w.jobs()?,
            refusals: w.refusals()?,
            mailer: w.mailer()?,
            catalogue: w.models()?,
            circuits: w.circuits()?,
            breaker: Breaker {
                threshold: p.circuit_failures,
                window: p.circuit_window,
                open_for: p.circuit_open_for,
                probe_timeout: p.circuit_probe_timeout,
            },
            inputs_bucket: w.bucket("INPUTS_BUCKET")?,
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            callback: match env.optional("PROVIDER_WEBHOOK_URL") {
                Some(_) => Some(env.url("PROVIDER_WEBHOOK_URL")?),
                None => None,
            },
            policy: base.policy.clone(),
            clock: base.clock.clone(),
            providers,
        })
    }
}
