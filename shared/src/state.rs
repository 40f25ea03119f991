//! The one value every handler borrows: configuration, policy, clock and clients,
//! built once per process (in `main`, or by the local stack) and shared by reference.

use std::sync::Arc;

use crate::aws::AwsClients;
use crate::blobs::Blobs;
use crate::clock::Clock;
use crate::config::Config;
use crate::config::{ConfigError, VideoConfig};
use crate::identity::google::GoogleVerifier;
use crate::mail::Mailer;
use crate::outbound::LazyClient;
use crate::policy::Policy;
use crate::providers::fal::FalClient;
use crate::providers::moderation::Moderation;
use crate::providers::video::AnyProvider;
use crate::queue::Queue;
use crate::ratelimit::RateLimiter;
use crate::store::accounts::AccountStore;
use crate::store::audit::AuditStore;
use crate::store::codes::CodeStore;
use crate::store::ledger::LedgerStore;
use crate::store::sessions::SessionStore;
use crate::store::videos::VideoStore;

pub struct Services {
    pub config: Config,
    pub policy: Policy,
    pub clock: Clock,
    pub accounts: AccountStore,
    pub sessions: SessionStore,
    pub codes: CodeStore,
    pub limits: RateLimiter,
    pub ledger: LedgerStore,
    pub audit: AuditStore,
    pub mailer: Mailer,
    pub google: GoogleVerifier,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub aws: AwsClients,
    /// One HTTP client (one connection pool) for every third party.
    pub http: LazyClient,
}

#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl AppState {
    pub fn new(config: Config, policy: Policy, clock: Clock, aws: AwsClients) -> Self {
        let http = LazyClient::new();
        let google = GoogleVerifier::new(
            http.clone(),
            &config.google_jwks_url,
            &config.google_client_id,
            clock.clone(),
            &policy,
        );
        Self(Arc::new(Services {
            accounts: AccountStore::new(aws.dynamodb.clone(), &config.accounts_table),
            sessions: SessionStore::new(aws.dynamodb.clone(), &config.sessions_table),
            codes: CodeStore::new(aws.dynamodb.clone(), &config.sessions_table),
            limits: RateLimiter::new(
                aws.dynamodb.clone(),
                &config.rate_limits_table,
                config.hash_secret.clone(),
            ),
            ledger: LedgerStore::new(aws.dynamodb.clone(), &config.ledger_table),
            audit: AuditStore::new(aws.dynamodb.clone(), &config.audit_table),
            mailer: Mailer::new(aws.ses.clone(), &config.mail_from),
            dynamodb: aws.dynamodb.clone(),
            aws,
            http,
            google,
            config,
            policy,
            clock,
        }))
    }

    /// What a Lambda `main` does: configuration from the environment, clients from the
    /// default credential chain, the system clock.
    pub async fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let aws = AwsClients::load(&config).await;
        Ok(Self::new(config, Policy::default(), Clock::system(), aws))
    }

    /// Keyed hash of a value under this deployment's secret.
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        crate::crypto::keyed_hash(&self.config.hash_secret, purpose, value)
    }
}

/// Gives the extractors and helpers shared by every function the core services.
pub trait HasCore {
    fn core(&self) -> &AppState;
}

impl HasCore for AppState {
    fn core(&self) -> &AppState {
        self
    }
}

/// What the video functions (`videos`, `generate`, `deliver`) use besides the core.
pub struct VideoServices {
    pub core: AppState,
    pub config: VideoConfig,
    pub videos: VideoStore,
    pub blobs: Blobs,
    pub queue: Queue,
    pub provider: AnyProvider,
    pub moderation: Moderation,
}

#[derive(Clone)]
pub struct VideoState(Arc<VideoServices>);

impl std::ops::Deref for VideoState {
    type Target = VideoServices;
    fn deref(&self) -> &VideoServices {
        &self.0
    }
}

impl HasCore for VideoState {
    fn core(&self) -> &AppState {
        &self.core
    }
}

impl VideoState {
    pub fn new(core: AppState, config: VideoConfig) -> Self {
        let aws = &core.aws;
        let provider = AnyProvider::Fal(FalClient::new(core.http.clone(), &config.provider));
        Self(Arc::new(VideoServices {
            videos: VideoStore::new(aws.dynamodb.clone(), &config.videos_table),
            blobs: Blobs::new(aws.s3.clone()),
            queue: Queue::new(aws.sqs.clone(), &config.generate_queue_url),
            moderation: Moderation::new(core.http.clone(), &config.moderation),
            provider,
            config,
            core,
        }))
    }

    /// What a video function's `main` does: the core from the environment, plus the
    /// video configuration.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let core = AppState::from_env().await?;
        Ok(Self::new(core, VideoConfig::from_env()?))
    }
}
