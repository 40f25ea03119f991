//! What `provider-webhook` holds between invocations: built once from its own variables
//! (fal's key set address and account id, Replicate's webhook secret, the generate
//! queue, the table of calls already taken). fal's signatures are checked with public
//! keys; Replicate's with the secret it gave us.

use shared::adapters::env::{ConfigError, Env};
use shared::adapters::providers::fal_webhook::FalWebhookVerifier;
use shared::adapters::sqs::Queue;
use shared::domain::clock::Clock;
use shared::edge::wiring::Base;

pub struct Services {
    pub clock: Clock,
    pub fal: FalWebhookVerifier,
    /// Replicate's Standard Webhooks secret (`whsec_…`).
    pub replicate_secret: shared::domain::secret::Secret,
    pub queue: Queue,
    /// A captured genuine call sent again is taken once.
    pub replays: shared::adapters::dynamo::replays::ReplayGuard,
}

/// What every invocation shares: the services, built once per process.
pub type ProviderWebhookState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            fal: FalWebhookVerifier::from_env(env, base.http.clone(), &base.policy)?,
            replicate_secret: env.secret("REPLICATE_WEBHOOK_SECRET", 16)?,
            queue: w.generate_queue()?,
            replays: w.replay_guard()?,
            clock: base.clock.clone(),
        })
    }
}
