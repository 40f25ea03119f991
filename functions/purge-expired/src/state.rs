//! What `purge-expired` holds between runs: built once from its own variables (the
//! videos table and both buckets).

use std::sync::Arc;

use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::s3::Blobs;
use shared::domain::clock::Clock;
use shared::edge::wiring::Base;

pub struct Services {
    pub clock: Clock,
    pub videos: VideoStore,
    pub blobs: Blobs,
    pub inputs_bucket: String,
    pub outputs_bucket: String,
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
            blobs: w.blobs(),
            inputs_bucket: w.bucket("INPUTS_BUCKET")?,
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            clock: base.clock.clone(),
        })))
    }
}
