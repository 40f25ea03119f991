//! AWS clients, built once per process from one configuration.

use aws_config::{BehaviorVersion, Region};

use crate::config::Config;

/// Every AWS client a function may use, cheap to clone (they share one connection pool).
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ses: aws_sdk_sesv2::Client,
}

impl AwsClients {
    /// Loads the SDK configuration once (credentials chain, pinned region, optional
    /// endpoint override for the local AWS endpoint) and derives every client from it.
    pub async fn load(config: &Config) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()));
        if let Some(url) = &config.aws_endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::from_sdk_config(&loader.load().await)
    }

    /// For the local stack and tests: fixed dummy credentials, no credential chain.
    pub async fn load_local(config: &Config) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(aws_credential_types::Credentials::new(
                "local",
                "local",
                None,
                None,
                "local-stack",
            ));
        if let Some(url) = &config.aws_endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::from_sdk_config(&loader.load().await)
    }

    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            ses: aws_sdk_sesv2::Client::new(sdk),
        }
    }
}
