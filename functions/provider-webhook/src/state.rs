//! What `provider-webhook` holds between invocations: built once from its own variables
//! (fal's key set address and account id, the generate queue, the table of calls
//! already taken). It holds no secret: fal's signatures are checked with public keys.

use std::sync::Arc;

use shared::adapters::env::{ConfigError, Env};
use shared::adapters::providers::fal_webhook::FalWebhookVerifier;
use shared::adapters::sqs::Queue;
use shared::domain::clock::Clock;
use shared::edge::wiring::Base;

pub struct Services {
    pub clock: Clock,
    pub fal: FalWebhookVerifier,
    pub queue: Queue,
    /// A captured genuine call sent again is taken once.
    pub replays: shared::adapters::dynamo::replays::ReplayGuard,
}

#[derive(Clone)]
pub struct ProviderWebhookState(Arc<Services>);

impl std::ops::Deref for ProviderWebhookState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl ProviderWebhookState {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Self(Arc::new(Services {
            fal: FalWebhookVerifier::from_env(env, base.http.clone(), &base.policy)?,
            queue: w.generate_queue()?,
            replays: w.replay_guard()?,
            clock: base.clock.clone(),
        })))
    }
}
