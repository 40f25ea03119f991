//! What `sweep` holds between runs: built once from its own variables (the videos
//! and ledger tables and the generate queue).

use std::sync::Arc;

use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::sqs::Queue;
use shared::app::jobs::Jobs;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::wiring::Base;

pub struct Services {
    pub policy: Policy,
    pub clock: Clock,
    pub videos: VideoStore,
    pub jobs: Jobs,
    pub queue: Queue,
}

#[derive(Clone)]
pub struct SweepState(Arc<Services>);

impl std::ops::Deref for SweepState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl SweepState {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Self(Arc::new(Services {
            videos: w.videos()?,
            jobs: w.jobs()?,
            queue: w.generate_queue()?,
            policy: base.policy.clone(),
            clock: base.clock.clone(),
        })))
    }
}
