//! What `stamp` holds between invocations: built once from its own variables (the
//! videos and ledger tables for the job and its refund, the outputs bucket, the KMS
//! key that signs and the certificate chain that names it).

use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::kms::KeySigner;
use shared::adapters::s3::Blobs;
use shared::app::jobs::Jobs;
use shared::domain::clock::Clock;
use shared::edge::wiring::Base;

use crate::signer::CertChain;

pub struct Services {
    pub clock: Clock,
    pub videos: VideoStore,
    pub jobs: Jobs,
    pub blobs: Blobs,
    pub outputs_bucket: String,
    pub key: KeySigner,
    pub certs: CertChain,
    /// Where the files being stamped are written for the moment (Lambda's `/tmp`).
    pub scratch: std::path::PathBuf,
}

/// What every invocation shares: the services, built once per process.
pub type StampState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        // The chain is public, but it is read like the secrets (from Parameter Store at
        // start) so that an operator replaces a certificate without a deployment.
        let certs =
            CertChain::from_pem(env.secret("SIGNING_CERTS", 1)?.expose()).map_err(|reason| {
                ConfigError::Invalid {
                    var: "SIGNING_CERTS",
                    reason,
                }
            })?;
        Ok(Services {
            videos: w.videos()?,
            jobs: w.jobs()?,
            blobs: w.blobs(),
            outputs_bucket: w.bucket("OUTPUTS_BUCKET")?,
            key: w.key_signer()?,
            certs,
            scratch: std::env::temp_dir(),
            clock: base.clock.clone(),
        })
    }
}
