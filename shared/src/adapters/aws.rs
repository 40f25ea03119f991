//! AWS clients, built once per process from one configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

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
    sdk: aws_config::SdkConfig,
    dynamodb: Arc<OnceLock<aws_sdk_dynamodb::Client>>,
    ses: Arc<OnceLock<aws_sdk_sesv2::Client>>,
    s3: Arc<OnceLock<aws_sdk_s3::Client>>,
    sqs: Arc<OnceLock<aws_sdk_sqs::Client>>,
    ssm: Arc<OnceLock<aws_sdk_ssm::Client>>,
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

/// The HTTPS client of every AWS client: rustls over aws-lc, AWS's roots only.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    let context = tls::TlsContext::builder()
        .with_trust_store(tls::TrustStore::empty().with_pem_certificate(AWS_ROOTS))
        .build()
        .expect("a fixed, valid trust store");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https()
}

/// Every AWS call has a deadline well below the functions' timeouts: a connection that
/// hangs fails its attempt (which the SDK retries) instead of the whole invocation.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(15))
        .build()
}

impl AwsClients {
    /// The SDK configuration, made once. In Lambda the region and the credentials are
    /// plain environment variables, so they are taken as such, without the default
    /// provider chain's machinery (profiles, IMDS, SSO, …); elsewhere (an operator's
    /// shell) the default chain finds them. Either way every client shares one HTTPS
    /// client that trusts only the roots AWS endpoints chain to.
    pub async fn load(settings: &AwsSettings) -> Self {
        let region = Region::new(settings.region.clone());
        // Lambda sets these for every function; they last as long as its process.
        let lambda_credentials = std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
            && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some();
        let sdk = if lambda_credentials && settings.endpoint_url.is_none() {
            aws_config::SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(region)
                .credentials_provider(SharedCredentialsProvider::new(
                    aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new(),
                ))
                .timeout_config(timeouts())
                .retry_config(aws_config::retry::RetryConfig::standard())
                .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
                .time_source(aws_smithy_async::time::SystemTimeSource::new())
                .http_client(https_client())
                .build()
        } else {
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .region(region)
                .timeout_config(timeouts())
                .http_client(https_client());
            if let Some(url) = &settings.endpoint_url {
                loader = loader.endpoint_url(url);
            }
            loader.load().await
        };
        Self::from_sdk_config(&sdk)
    }

    /// For the local stack and tests: a local endpoint, fixed dummy credentials, no
    /// credential chain.
    pub async fn load_local(region: &str, endpoint: &str) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .timeout_config(timeouts())
            .endpoint_url(endpoint)
            .http_client(https_client())
            .credentials_provider(aws_credential_types::Credentials::new(
                "local",
                "local",
                None,
                None,
                "local-stack",
            ))
            .load()
            .await;
        Self::from_sdk_config(&sdk)
    }

    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            dynamodb: Arc::default(),
            ses: Arc::default(),
            s3: Arc::default(),
            sqs: Arc::default(),
            ssm: Arc::default(),
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

    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
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

    /// Parameter Store, read once at start for the secrets.
    pub fn ssm(&self) -> &aws_sdk_ssm::Client {
        self.ssm.get_or_init(|| {
            aws_sdk_ssm::Client::from_conf(aws_sdk_ssm::config::Builder::from(&self.sdk).build())
        })
    }
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
    aws_sdk_ssm::config::Builder
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
