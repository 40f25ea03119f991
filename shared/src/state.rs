//! The one value every handler borrows: configuration, policy, clock and clients,
//! built once per process (in `main`, or by the local stack) and shared by reference.

use std::sync::Arc;

use crate::aws::AwsClients;
use crate::clock::Clock;
use crate::config::Config;
use crate::identity::google::GoogleVerifier;
use crate::mail::Mailer;
use crate::policy::Policy;
use crate::ratelimit::RateLimiter;
use crate::store::accounts::AccountStore;
use crate::store::codes::CodeStore;
use crate::store::sessions::SessionStore;

pub struct Services {
    pub config: Config,
    pub policy: Policy,
    pub clock: Clock,
    pub accounts: AccountStore,
    pub sessions: SessionStore,
    pub codes: CodeStore,
    pub limits: RateLimiter,
    pub mailer: Mailer,
    pub google: GoogleVerifier,
    pub dynamodb: aws_sdk_dynamodb::Client,
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
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        let google = GoogleVerifier::new(
            http,
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
            mailer: Mailer::new(aws.ses.clone(), &config.mail_from),
            dynamodb: aws.dynamodb,
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
