//! The end-to-end test harness: a whole local stack per test, in-process, on free
//! ports, against its own local AWS endpoint (or the one named by
//! `SORA_TEST_AWS_ENDPOINT`, with resource names unique to the test), so tests run in
//! parallel and beside a running `make dev`.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_dynamodb::types::AttributeValue;
use local_stack::{LocalStack, StackOptions};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;

pub use local_stack;

/// Every log line the process wrote, for the tests that check what logs contain (R37).
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        // The production subscriber and filter, writing into memory.
        shared::edge::telemetry::init_with_writer(
            shared::edge::telemetry::filter(&shared::adapters::env::Env::process()),
            logs.clone(),
        );
        logs
    })
}

/// All log output so far, one JSON object per line.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&logs().0.lock().map(|v| v.clone()).unwrap_or_default()).into_owned()
}

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

/// A response: status, headers and the JSON body (`Value::Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts an RFC 9457 problem with the given status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.code(), code, "body: {}", self.body);
        for field in ["type", "title", "status", "detail", "code"] {
            assert!(
                !self.body[field].is_null(),
                "problem lacks {field}: {}",
                self.body
            );
        }
    }
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

impl TestStack {
    pub async fn start() -> Self {
        Self::start_opts(|_| {}).await
    }

    pub async fn start_with(policy: Policy) -> Self {
        Self::start_opts(|o| o.policy = policy).await
    }

    /// A stack with test settings: consumers running, fast provider and polling.
    pub async fn start_opts(adjust: impl FnOnce(&mut StackOptions)) -> Self {
        logs();
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

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let mut req = req;
        for _ in 0..8 {
            let again = req.try_clone();
            let reply = self.send_once(req).await;
            match again {
                Some(next) if self.retry_unavailable && reply.status == 503 => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    req = next;
                }
                _ => return reply,
            }
        }
        self.send_once(req).await
    }

    async fn send_once(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request reaches the local stack");
        if let Ok(mut s) = self.statuses.lock() {
            s.push(res.status().as_u16());
        }
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn put(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.with_body(self.http.put(self.url(path)), body, token)
            .await
    }

    pub async fn patch(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.with_body(self.http.patch(self.url(path)), body, token)
            .await
    }

    /// DELETE with a JSON body (DELETE /v1/me carries its code).
    pub async fn delete_json(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.with_body(self.http.delete(self.url(path)), body, token)
            .await
    }

    async fn with_body(
        &self,
        req: reqwest::RequestBuilder,
        body: Value,
        token: Option<&str>,
    ) -> Reply {
        let mut req = req.json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
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

    pub async fn start_email(&self, email: &str) -> Reply {
        self.post("/v1/auth/email/start", json!({ "email": email }), None)
            .await
    }

    /// The mail received by an address, through the local mailbox route.
    pub async fn emails_to(&self, email: &str) -> Vec<Value> {
        let r = self
            .send(
                self.http
                    .get(self.url("/_local/emails"))
                    .query(&[("to", email)]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// The code of the newest sign-in email to `email`.
    pub async fn latest_code(&self, email: &str) -> String {
        let mails = self.emails_to(email).await;
        let text = mails.last().expect("a sign-in email")["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        text.split_whitespace()
            .map(|w| w.trim_end_matches('.'))
            .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .expect("a six-digit code in the email")
            .to_owned()
    }

    pub async fn verify(&self, email: &str, code: &str, over_13: Option<bool>) -> Reply {
        let mut body = json!({ "email": email, "code": code });
        if let Some(o) = over_13 {
            body["over_13"] = json!(o);
        }
        self.post("/v1/auth/email/verify", body, None).await
    }

    /// Signs up (or in) by email code; returns the session token and the user id.
    pub async fn sign_in_email(&self, email: &str) -> (String, String) {
        assert_eq!(self.start_email(email).await.status, 202);
        let code = self.latest_code(email).await;
        let r = self.verify(email, &code, Some(true)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        (
            r.body["token"].as_str().unwrap().to_owned(),
            r.body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// A Google ID token from the local emulator; `extra` adds test knobs.
    pub async fn google_token(&self, email: &str, extra: Value) -> String {
        let mut body = json!({ "email": email, "name": "Test Person" });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self.post("/_local/google/id-token", body, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["id_token"].as_str().unwrap().to_owned()
    }

    pub async fn google_sign_in(&self, id_token: &str, over_13: bool) -> Reply {
        self.post(
            "/v1/auth/google",
            json!({ "id_token": id_token, "over_13": over_13 }),
            None,
        )
        .await
    }

    /// The local name of a table or bucket (the URL of a queue) the template declares.
    pub fn table(&self, logical_id: &str) -> String {
        self.stack.refs.refs[logical_id].clone()
    }

    /// Every item of a table, as a test inspects what is stored (never on a request path).
    pub async fn scan(
        &self,
        logical_id: &str,
    ) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .stack
                .aws
                .dynamodb()
                .scan()
                .table_name(self.table(logical_id))
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// Every stored value of a table as text, to search for what must not be there.
    /// Everything every table and bucket of the template holds, as text.
    pub async fn everything_stored(&self) -> String {
        let mut all = String::new();
        for r in self.stack.template.resources() {
            match r.kind {
                "AWS::DynamoDB::Table" => {
                    all.push_str(&format!("== {}\n", r.logical_id));
                    all.push_str(&self.table_text(r.logical_id).await);
                }
                "AWS::S3::Bucket" => {
                    all.push_str(&format!("== {}\n", r.logical_id));
                    let out = self
                        .stack
                        .aws
                        .s3()
                        .list_objects_v2()
                        .bucket(self.bucket(r.logical_id))
                        .send()
                        .await
                        .unwrap();
                    for o in out.contents() {
                        let key = o.key().unwrap_or_default();
                        all.push_str(key);
                        all.push('\n');
                        let body = self
                            .stack
                            .aws
                            .s3()
                            .get_object()
                            .bucket(self.bucket(r.logical_id))
                            .key(key)
                            .send()
                            .await
                            .unwrap()
                            .body
                            .collect()
                            .await
                            .unwrap()
                            .into_bytes();
                        all.push_str(&String::from_utf8_lossy(&body));
                        all.push('\n');
                    }
                }
                _ => {}
            }
        }
        all
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

    /// The account's stored items of one kind (`usage#`, `security#`, …), oldest first.
    pub async fn privacy_items(
        &self,
        account: &str,
        prefix: &str,
    ) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        self.stack
            .functions
            .privacy_requests
            .privacy
            .items(account, prefix)
            .await
            .unwrap()
    }

    /// A video that the provider will never finish, submitted and handed to the
    /// provider (status `generating`); for a stack whose consumers are off.
    pub async fn generating_video(&self, token: &str) -> String {
        let r = self
            .submit_video(
                token,
                json!({ "prompt": "emulator-hang", "seconds": 4 }),
                None,
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        self.pump("generate").await;
        id
    }

    /// Whether an account signs in with this address.
    pub async fn account_with_email_exists(&self, email: &str) -> bool {
        self.stack
            .functions
            .account
            .accounts
            .find_by_email(email)
            .await
            .unwrap()
            .is_some()
    }

    /// Whether the account's profile is still stored.
    pub async fn account_exists(&self, account: &str) -> bool {
        self.stack
            .functions
            .account
            .accounts
            .get(account)
            .await
            .unwrap()
            .is_some()
    }

    /// How many security events named `event` the account has (R22).
    pub async fn security_events(&self, account: &str, event: &str) -> usize {
        self.stack
            .functions
            .privacy_requests
            .privacy
            .items(account, "security#")
            .await
            .unwrap()
            .iter()
            .filter(|i| {
                i.get("event")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some(event)
            })
            .count()
    }

    /// Waits until `privacy-requests` has erased the account (its profile is gone).
    pub async fn wait_account_gone(&self, account: &str) {
        for _ in 0..150 {
            let left = self
                .stack
                .functions
                .account
                .accounts
                .get(account)
                .await
                .unwrap();
            if left.is_none() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("{account} was not erased");
    }

    /// A fresh rights code, emailed to the account's address.
    pub async fn rights_code(&self, token: &str, email: &str) -> String {
        let r = self
            .post("/v1/me/verification", json!({}), Some(token))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        self.latest_code(email).await
    }

    pub async fn table_text(&self, logical_id: &str) -> String {
        let mut items: Vec<String> = self
            .scan(logical_id)
            .await
            .into_iter()
            .map(|i| {
                let fields: Vec<String> = i
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .iter()
                    .map(|(k, v)| format!("{k:?}: {}", stable_text(v)))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            })
            .collect();
        items.sort();
        items.join("\n")
    }
}

/// Video helpers.
impl TestStack {
    pub async fn submit_video(&self, token: &str, body: Value, key: Option<&str>) -> Reply {
        let mut req = self
            .http
            .post(self.url("/v1/videos"))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        self.send(req).await
    }

    /// The videos table as the tests read it: straight from the local AWS endpoint,
    /// never through the fault mode the functions may be under.
    pub fn videos_store(&self) -> shared::adapters::dynamo::videos::VideoStore {
        shared::adapters::dynamo::videos::VideoStore::new(
            self.stack.aws.dynamodb().clone(),
            self.table("VideosTable"),
        )
    }

    /// The ledger as the tests read and grant it, straight from the local endpoint.
    pub fn ledger_store(&self) -> shared::adapters::dynamo::ledger::LedgerStore {
        shared::adapters::dynamo::ledger::LedgerStore::new(
            self.stack.aws.dynamodb().clone(),
            self.table("LedgerTable"),
        )
    }

    /// `(visible, delayed)` messages of a queue the template declares.
    pub async fn queue_counts(&self, logical_id: &str) -> (u64, u64) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .stack
            .aws
            .sqs()
            .get_queue_attributes()
            .queue_url(self.table(logical_id))
            .attribute_names(A::All)
            .send()
            .await
            .expect("queue attributes");
        let attrs = out.attributes.unwrap_or_default();
        let n = |a: A| attrs.get(&a).and_then(|v| v.parse().ok()).unwrap_or(0);
        (
            n(A::ApproximateNumberOfMessages),
            n(A::ApproximateNumberOfMessagesDelayed),
        )
    }

    /// A job as stored (what no API answer shows, such as a deleted job's record).
    pub async fn stored_job(&self, id: &str) -> shared::domain::video::Job {
        self.videos_store()
            .get(id)
            .await
            .unwrap()
            .expect("the job is stored")
    }

    /// Polls GET /v1/videos/{id} until its status is `want` (or fails after `secs`).
    pub async fn wait_status(&self, token: &str, id: &str, want: &str, secs: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let r = self.get(&format!("/v1/videos/{id}"), Some(token)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            if r.body["status"] == want {
                return r.body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "video {id} is {} after {secs}s, not {want}",
                r.body["status"]
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Waits until `email` has received `n` messages whose subject contains `subject`.
    pub async fn wait_emails(&self, email: &str, subject: &str, n: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let found: Vec<Value> = self
                .emails_to(email)
                .await
                .into_iter()
                .filter(|m| m["subject"].as_str().unwrap_or_default().contains(subject))
                .collect();
            if found.len() >= n || std::time::Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Gives an account credits, as a purchase would.
    pub async fn grant(&self, account_id: &str, credits: i64) {
        let at = shared::domain::clock::rfc3339(self.clock.now());
        let cause = format!("test:{}", uuid::Uuid::new_v4().simple());
        let writes = self
            .ledger_store()
            .effect_writes(
                account_id,
                shared::domain::ledger::EntryKind::Grant,
                credits,
                &cause,
                &at,
            )
            .unwrap();
        shared::adapters::dynamo::Tx::new(self.stack.aws.dynamodb())
            .add_all("grant", writes)
            .commit()
            .await
            .unwrap();
    }

    pub async fn balance(&self, account_id: &str) -> i64 {
        self.ledger_store().balance(account_id).await.unwrap()
    }

    pub async fn ledger(&self, account_id: &str) -> Vec<shared::adapters::dynamo::ledger::Entry> {
        self.ledger_store().entries(account_id).await.unwrap()
    }

    /// Entries of one kind for one cause (a job id).
    pub async fn entries_for(&self, account_id: &str, kind: &str, reference: &str) -> usize {
        self.ledger(account_id)
            .await
            .iter()
            .filter(|e| e.kind == kind && e.reference == reference)
            .count()
    }

    /// With consumers off: polls a function's queue once, as the event source would.
    pub async fn pump(&self, function: &str) -> local_stack::consumers::PollOutcome {
        self.stack.consumer(function).poll_once(true, None, 0).await
    }

    /// Pumps `generate`, `stamp` and `deliver` until the video has the status or time
    /// runs out.
    pub async fn pump_until(&self, token: &str, id: &str, want: &str, secs: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            self.pump("generate").await;
            self.pump("stamp").await;
            self.pump("deliver").await;
            let r = self.get(&format!("/v1/videos/{id}"), Some(token)).await;
            if r.body["status"] == want {
                return r.body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "video {id} is {}",
                r.body["status"]
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// With consumers off: pumps `functions`, in order, round after round, until the
    /// outputs bucket holds `key` (at most `rounds` rounds, 100 ms apart).
    pub async fn pump_until_stored(&self, functions: &[&str], key: &str, rounds: usize) {
        for _ in 0..rounds {
            for f in functions {
                self.pump(f).await;
            }
            if self.object_exists("OutputsBucket", key).await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{key} was never stored");
    }

    pub fn bucket(&self, logical_id: &str) -> String {
        self.table(logical_id)
    }

    pub async fn object_exists(&self, logical_id: &str, key: &str) -> bool {
        self.stack
            .aws
            .s3()
            .head_object()
            .bucket(self.bucket(logical_id))
            .key(key)
            .send()
            .await
            .is_ok()
    }

    /// The stored output of a video job.
    pub async fn head_output(
        &self,
        job_id: &str,
    ) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
        self.stack
            .aws
            .s3()
            .head_object()
            .bucket(self.bucket("OutputsBucket"))
            .key(format!("videos/{job_id}.mp4"))
            .send()
            .await
            .expect("the output is stored")
    }

    /// Creates an upload and PUTs `bytes` to its presigned URL; returns the upload id.
    pub async fn upload(&self, token: &str, content_type: &str, bytes: Vec<u8>) -> String {
        let r = self
            .post(
                "/v1/uploads",
                serde_json::json!({ "content_type": content_type, "size": bytes.len() }),
                Some(token),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let put = self
            .http
            .put(r.body["upload_url"].as_str().unwrap())
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "PUT {}", put.status());
        r.body["id"].as_str().unwrap().to_owned()
    }
}

/// Functions built over a fault proxy, and the proxy kept alive with them.
pub struct FaultyBase {
    pub base: shared::edge::wiring::Base,
    _proxy: local_stack::faults::FaultProxy,
}

/// Billing helpers.
impl TestStack {
    /// The checkout the billing function recorded (with Creem's id for it).
    pub async fn recorded_checkout(&self, id: &str) -> shared::adapters::dynamo::billing::Checkout {
        self.stack
            .functions
            .billing
            .billing
            .checkout(id)
            .await
            .unwrap()
            .expect("the checkout is recorded")
    }

    /// Posts one Creem event, signed as Creem signs (`creem-signature`); the status.
    pub async fn post_creem_event(&self, event: &Value) -> u16 {
        let body = event.to_string();
        let sig = shared::domain::billing::creem_signature(
            local_stack::emulators::creem_checkout::LOCAL_CREEM_WEBHOOK_SECRET,
            body.as_bytes(),
        );
        self.send(
            self.http
                .post(self.url("/v1/webhooks/creem"))
                .header("content-type", "application/json")
                .header("creem-signature", sig)
                .body(body),
        )
        .await
        .status
        .as_u16()
    }

    /// Starts a checkout of `product` and has the Creem emulator complete it by the
    /// checkout id the API gave; returns the emulator's answer (`order_id`, the
    /// webhooks' statuses).
    pub async fn buy(&self, token: &str, product: &str) -> Value {
        let r = self
            .post(
                "/v1/billing/checkout",
                json!({ "product_id": product }),
                Some(token),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert!(
            r.body["checkout_url"]
                .as_str()
                .unwrap()
                .contains("/_local/creem/checkout/")
        );
        // The id the API gave, as `spec/api.md` documents (Creem's own works too).
        let done = self
            .post(
                &format!(
                    "/_local/creem/checkouts/{}/complete",
                    r.body["checkout_id"].as_str().unwrap()
                ),
                json!({}),
                None,
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        for s in done.body["webhook_statuses"].as_array().unwrap() {
            assert_eq!(s, 200, "{}", done.body);
        }
        done.body
    }
}

/// An attribute as `Debug` shows it, with the keys of maps in order (a map's order
/// otherwise changes from one read to the next).
fn stable_text(v: &AttributeValue) -> String {
    match v {
        AttributeValue::M(m) => {
            let fields: Vec<String> = m
                .iter()
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .map(|(k, v)| format!("{k:?}: {}", stable_text(v)))
                .collect();
            format!("M({{{}}})", fields.join(", "))
        }
        AttributeValue::L(l) => format!(
            "L([{}])",
            l.iter().map(stable_text).collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// A small but real PNG header followed by filler: enough for the type check.
/// Where the top-level box `kind` (`b"mdat"`, …) of an MP4 lies, header included.
pub fn mp4_box(mp4: &[u8], kind: &[u8; 4]) -> std::ops::Range<usize> {
    let mut at = 0;
    while at + 8 <= mp4.len() {
        let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
        if &mp4[at + 4..at + 8] == kind {
            return at..at + size;
        }
        assert!(size >= 8, "a box this walk cannot read");
        at += size;
    }
    panic!("no {} box", String::from_utf8_lossy(kind));
}

pub fn png_bytes() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(&[0u8; 64]);
    v
}

/// How long an item is kept: its TTL less the time it was written.
pub fn kept_for(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> i64 {
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    ttl - shared::domain::clock::epoch_of(item["at"].as_s().unwrap()).unwrap()
}

/// The workspace's root folder.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The template as a YAML document, through the one YAML reader.
pub fn template_yaml() -> local_stack::template::Value {
    local_stack::template::Template::load()
        .unwrap()
        .root()
        .clone()
}
