//! AWS clients, built once per process from one configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::adapters::env::{ConfigError, Env};

/// Where the clients point: the one region everything lives in (R40), and a local
/// endpoint in the local stack only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: String,
    pub endpoint_url: Option<String>,
}

impl AwsSettings {
    /// `AWS_REGION` (set by Lambda) and `AWS_ENDPOINT_URL` (local stack only).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            region: env.required("AWS_REGION")?,
            endpoint_url: env.optional("AWS_ENDPOINT_URL"),
        })
    }
}

/// Every AWS client a function may use, cheap to clone (they share one connection pool).
/// Each is made the first time it is asked for, so a function builds only the clients
/// its wiring uses (making one costs about 0.15 ms of a cold start).
#[derive(Clone, Debug)]
pub struct AwsClients {
    sdk: SdkConfig,
    dynamodb: Arc<OnceLock<aws_sdk_dynamodb::Client>>,
    ses: Arc<OnceLock<aws_sdk_sesv2::Client>>,
    s3: Arc<OnceLock<aws_sdk_s3::Client>>,
    sqs: Arc<OnceLock<aws_sdk_sqs::Client>>,
    ssm: Arc<OnceLock<aws_sdk_ssm::Client>>,
    kms: Arc<OnceLock<aws_sdk_kms::Client>>,
    rekognition: Arc<OnceLock<aws_sdk_rekognition::Client>>,
    /// How many requests each client has sent (every attempt counts): the cost of a
    /// flow, measured by the tests.
    pub requests: RequestCounts,
    /// The local stack's record of each function's calls (see `aws_calls`).
    pub calls: Option<super::aws_calls::CallLog>,
}

#[derive(Clone, Debug, Default)]
pub struct RequestCounts {
    pub dynamodb: Counter,
    pub ses: Counter,
    pub s3: Counter,
    pub sqs: Counter,
    pub rekognition: Counter,
}

impl RequestCounts {
    /// `(dynamodb, s3, sqs, ses)` so far.
    pub fn snapshot(&self) -> [u64; 4] {
        [
            self.dynamodb.get(),
            self.s3.get(),
            self.sqs.get(),
            self.ses.get(),
        ]
    }
}

#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Amazon Trust Services' root certificates (Amazon Root CA 1–4 and the Starfield
/// Services root that cross-signs them): every AWS service endpoint's certificate chains
/// to one of them. Trusting these alone, instead of loading and parsing the system's
/// whole store, takes about 3 ms off every cold start.
const AWS_ROOTS: &[u8] = include_bytes!("../../certs/amazon-trust-services.pem");

/// The HTTPS client of every AWS client (see `aws_http`): AWS's roots only.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    super::aws_http::client(AWS_ROOTS, CONNECT_TIMEOUT)
}

const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Every AWS call has a deadline well below the functions' timeouts: a connection that
/// hangs fails its attempt (which the SDK retries) instead of the whole invocation.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(std::time::Duration::from_secs(15))
        .build()
}

/// The credentials Lambda gives every function as environment variables; they last as
/// long as its process.
fn environment_credentials() -> Option<Credentials> {
    let key = std::env::var("AWS_ACCESS_KEY_ID").ok()?;
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
    let token = std::env::var("AWS_SESSION_TOKEN").ok();
    Some(Credentials::new(key, secret, token, None, "environment"))
}

/// The configuration every client is made from: region, credentials, deadlines,
/// retries, and the one HTTPS client; a local endpoint in the local stack only.
fn sdk_config(region: &str, endpoint: Option<&str>, credentials: Option<Credentials>) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .http_client(https_client());
    if let Some(credentials) = credentials {
        builder.set_credentials_provider(Some(SharedCredentialsProvider::new(credentials)));
    }
    if let Some(url) = endpoint {
        builder.set_endpoint_url(Some(url.to_owned()));
    }
    builder.build()
}

impl AwsClients {
    /// The SDK configuration, made once. In Lambda the region and the credentials are
    /// plain environment variables, so they are taken as such: no provider chain
    /// (profiles, IMDS, SSO, STS), which is also code a function's binary does not
    /// carry.
    pub async fn load(settings: &AwsSettings) -> Self {
        let endpoint = settings.endpoint_url.as_deref();
        let sdk = match environment_credentials() {
            Some(credentials) => sdk_config(&settings.region, endpoint, Some(credentials)),
            None => without_credentials(&settings.region, endpoint),
        };
        Self::from_sdk_config(&sdk)
    }

    /// For the local stack and tests: a local endpoint, fixed dummy credentials.
    pub async fn load_local(region: &str, endpoint: &str) -> Self {
        let credentials = Credentials::new("local", "local", None, None, "local-stack");
        Self::from_sdk_config(&sdk_config(region, Some(endpoint), Some(credentials)))
    }

    /// The configuration the clients are made from (region, endpoint, credentials,
    /// HTTPS client): for the local stack's own tools, which make tables and seed them.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            dynamodb: Arc::default(),
            ses: Arc::default(),
            s3: Arc::default(),
            sqs: Arc::default(),
            ssm: Arc::default(),
            kms: Arc::default(),
            rekognition: Arc::default(),
            requests: RequestCounts::default(),
            calls: None,
        }
    }

    /// A client's configuration with the call log, when the local stack keeps one.
    fn recorded<B: WithInterceptor>(&self, builder: B) -> B {
        match &self.calls {
            Some(log) => builder.with(log.clone()),
            None => builder,
        }
    }

    /// The raw DynamoDB client, for the stores and `Transactions` alone: the shared
    /// crate's own, so no function, `app/` step or operator command can reach around
    /// the stores (which own every key shape) to the tables.
    pub(crate) fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb.get_or_init(|| {
            aws_sdk_dynamodb::Client::from_conf(
                self.recorded(aws_sdk_dynamodb::config::Builder::from(&self.sdk))
                    .interceptor(self.requests.dynamodb.clone())
                    .build(),
            )
        })
    }

    pub fn ses(&self) -> &aws_sdk_sesv2::Client {
        self.ses.get_or_init(|| {
            aws_sdk_sesv2::Client::from_conf(
                self.recorded(aws_sdk_sesv2::config::Builder::from(&self.sdk))
                    .interceptor(self.requests.ses.clone())
                    .build(),
            )
        })
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            aws_sdk_s3::Client::from_conf(
                self.recorded(aws_sdk_s3::config::Builder::from(&self.sdk))
                    .interceptor(self.requests.s3.clone())
                    // A local endpoint has no per-bucket DNS names.
                    .force_path_style(self.sdk.endpoint_url().is_some())
                    .build(),
            )
        })
    }

    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| {
            aws_sdk_sqs::Client::from_conf(
                self.recorded(aws_sdk_sqs::config::Builder::from(&self.sdk))
                    .interceptor(self.requests.sqs.clone())
                    .build(),
            )
        })
    }

    /// KMS, for `stamp`'s signatures (R41).
    pub fn kms(&self) -> &aws_sdk_kms::Client {
        self.kms.get_or_init(|| {
            aws_sdk_kms::Client::from_conf(
                self.recorded(aws_sdk_kms::config::Builder::from(&self.sdk))
                    .build(),
            )
        })
    }

    /// Rekognition, for `videos`' screening of uploaded images (R45).
    pub fn rekognition(&self) -> &aws_sdk_rekognition::Client {
        self.rekognition.get_or_init(|| {
            aws_sdk_rekognition::Client::from_conf(
                self.recorded(aws_sdk_rekognition::config::Builder::from(&self.sdk))
                    .interceptor(self.requests.rekognition.clone())
                    .build(),
            )
        })
    }

    /// Parameter Store, read once at start for the secrets.
    pub fn ssm(&self) -> &aws_sdk_ssm::Client {
        self.ssm.get_or_init(|| {
            aws_sdk_ssm::Client::from_conf(aws_sdk_ssm::config::Builder::from(&self.sdk).build())
        })
    }
}

/// Without Lambda's variables a function's calls fail, each saying that no credentials
/// were found: its binary has no provider chain (profiles, IMDS, SSO, STS). The
/// operator's command, run from a shell, builds its configuration with the chain
/// itself (`operator/src/main.rs`).
fn without_credentials(region: &str, endpoint: Option<&str>) -> SdkConfig {
    tracing::error!(
        event = "no_aws_credentials",
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
    );
    sdk_config(region, endpoint, None)
}

/// A client that is made when first used, not when the function is wired: a route or
/// step that never sends mail does not pay for an SES client at its cold start.
#[derive(Clone)]
pub struct OnDemand<C: 'static> {
    aws: AwsClients,
    get: fn(&AwsClients) -> &C,
}

impl<C> OnDemand<C> {
    pub fn new(aws: &AwsClients, get: fn(&AwsClients) -> &C) -> Self {
        Self {
            aws: aws.clone(),
            get,
        }
    }

    pub fn client(&self) -> &C {
        (self.get)(&self.aws)
    }
}

impl<C> std::ops::Deref for OnDemand<C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.client()
    }
}

impl<C> std::fmt::Debug for OnDemand<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnDemand")
    }
}

/// The services' configuration builders, which each take interceptors their own way.
trait WithInterceptor {
    fn with(self, log: super::aws_calls::CallLog) -> Self;
}

macro_rules! with_interceptor {
    ($($builder:ty),*) => {$(
        impl WithInterceptor for $builder {
            fn with(self, log: super::aws_calls::CallLog) -> Self {
                self.interceptor(log)
            }
        }
    )*};
}

with_interceptor!(
    aws_sdk_dynamodb::config::Builder,
    aws_sdk_sesv2::config::Builder,
    aws_sdk_s3::config::Builder,
    aws_sdk_sqs::config::Builder,
    aws_sdk_ssm::config::Builder,
    aws_sdk_kms::config::Builder,
    aws_sdk_rekognition::config::Builder
);

#[cfg(test)]
mod tests {
    #[test]
    fn the_trust_store_holds_the_five_amazon_roots() {
        let pem = std::str::from_utf8(super::AWS_ROOTS).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert_eq!(pem.matches("-----END CERTIFICATE-----").count(), 5);
    }
}
