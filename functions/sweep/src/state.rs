//! What `sweep` holds between runs: built once from its own variables (the videos
//! and ledger tables, the generate queue, and the providers' health for R48's gauge).

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
    /// The providers' circuits, read each round for their gauge (R48).
    pub circuits: shared::adapters::dynamo::circuits::Circuits,
    pub providers: Vec<String>,
}

/// What every invocation shares: the services, built once per process.
pub type SweepState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            videos: w.videos()?,
            jobs: w.jobs()?,
            queue: w.generate_queue()?,
            circuits: w.circuits()?,
            providers: w.provider_names()?,
            policy: base.policy.clone(),
            clock: base.clock.clone(),
        })
    }
}
