//! The end-to-end test harness: a whole local stack per test, in-process, on free
//! ports, against its own local AWS endpoint (or the one named by
//! `SORA_TEST_AWS_ENDPOINT`, with resource names unique to the test), so tests run in
//! parallel and beside a running `make dev`.

mod billing;
pub mod calls;
mod fixtures;
mod http;
mod logs;
mod sign_in;
mod storage;
mod videos;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use local_stack::{LocalStack, StackOptions};
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;

pub use fixtures::{kept_for, mp4_box, png_bytes, screened_png, template_yaml, workspace_root};
pub use http::Reply;
pub use local_stack;
pub use logs::{CapturedLogs, captured_logs};

pub struct TestStack {
    pub stack: LocalStack,
    pub http: reqwest::Client,
    pub clock: Clock,
    /// Play a patient client: a 503 is tried again after its `Retry-After` (shortened),
    /// up to a few times, as the API asks. Off by default: most tests want to see it.
    pub retry_unavailable: bool,
    /// Every status the stack answered, for tests that check none was a 500.
    pub statuses: Arc<Mutex<Vec<u16>>>,
}

/// Stack options for a provider that does not call back: `generate` polls it (the
/// tests of the polling chain and of its deadline).
pub fn polled(o: &mut StackOptions) {
    o.env_overrides
        .insert("PROVIDER_WEBHOOK_URL".into(), String::new());
}

pub fn unique_email(tag: &str) -> String {
    format!(
        "{tag}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Starting a stack, and functions built beside it.
impl TestStack {
    pub async fn start() -> Self {
        Self::start_opts(|_| {}).await
    }

    pub async fn start_with(policy: Policy) -> Self {
        Self::start_opts(|o| o.policy = policy).await
    }

    /// A stack whose queues refuse every message sent to them (SQS `SendMessage` fails
    /// past the SDK's retries) until [`Self::queue_sends_work`], with no consumers.
    pub async fn start_refusing_queue_sends() -> Self {
        Self::start_opts(|o| {
            o.consumers = false;
            o.faults = Some(local_stack::faults::FaultSettings {
                sqs_send_down: true,
                ..Default::default()
            });
        })
        .await
    }

    /// The queues of [`Self::start_refusing_queue_sends`] take messages again.
    pub fn queue_sends_work(&self) {
        self.stack
            .faults
            .as_ref()
            .expect("a stack started with faults")
            .sqs_send_down
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// A stack with test settings: consumers running, fast provider and polling.
    pub async fn start_opts(adjust: impl FnOnce(&mut StackOptions)) -> Self {
        logs::logs();
        let clock = Clock::system();
        let mut opts = StackOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            aws_endpoint: std::env::var("SORA_TEST_AWS_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty()),
            prefix: format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            policy: Policy {
                provider_poll_interval: std::time::Duration::from_secs(1),
                provider_retry_base: std::time::Duration::from_secs(1),
                ..Policy::default()
            },
            clock: clock.clone(),
            consumers: true,
            fal_duration: std::time::Duration::from_millis(500),
            env_overrides: Default::default(),
            faults: None,
            duplicate_deliveries: false,
            consumer_visibility: None,
            site_dir: local_stack::site::default_dir(),
        };
        adjust(&mut opts);
        let stack = LocalStack::start(opts).await.expect("local stack starts");
        Self {
            stack,
            http: local_stack::http_client(),
            clock,
            retry_unavailable: false,
            statuses: Arc::default(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.stack.base_url, path)
    }

    /// The base of functions whose AWS requests go through a proxy that fails a share
    /// `rate` of them (throttling, 500s, dropped connections), past the SDK's retries.
    pub async fn faulty_base(&self, rate: f64) -> FaultyBase {
        let proxy = local_stack::faults::FaultProxy::start(
            &self.stack.aws_endpoint,
            local_stack::faults::FaultSettings {
                rate,
                seed: 7,
                max_latency: std::time::Duration::ZERO,
                ..Default::default()
            },
        )
        .await
        .expect("fault proxy starts");
        let aws = shared::adapters::aws::AwsClients::load_local(
            local_stack::stack::LOCAL_REGION,
            &proxy.endpoint,
        )
        .await;
        FaultyBase {
            base: shared::edge::wiring::Base::new(
                aws,
                self.stack.base.clock.clone(),
                self.stack.base.policy.clone(),
            ),
            _proxy: proxy,
        }
    }

    /// A function's environment as its Lambda would read it (secrets resolved).
    pub async fn stack_env(&self, function: &str) -> shared::adapters::env::Env {
        shared::adapters::env::Env::from_map(self.stack.envs[function].clone())
            .with_parameters(self.stack.aws.ssm())
            .await
            .expect("the function's parameters resolve")
    }

    /// The operators' command as an operator runs it, with the stack's names.
    pub async fn operator(&self) -> operator::Operator {
        let mut vars = std::collections::BTreeMap::new();
        for env in self.stack.envs.values() {
            vars.extend(env.clone());
        }
        let env = shared::adapters::env::Env::from_map(vars)
            .with_parameters(self.stack.aws.ssm())
            .await
            .unwrap();
        operator::Operator::build(&self.stack.base, &env).unwrap()
    }
}

/// Functions built over a fault proxy, and the proxy kept alive with them.
pub struct FaultyBase {
    pub base: shared::edge::wiring::Base,
    _proxy: local_stack::faults::FaultProxy,
}

/// A stack that ends leaves its AWS calls for the least-privilege test, when the run
/// gathers them (`calls`).
impl Drop for TestStack {
    fn drop(&mut self) {
        calls::save(&self.stack);
    }
}
