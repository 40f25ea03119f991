//! The local stack: provisions the template's resources on the local AWS endpoint and
//! serves every function's routes plus the emulators on one port; runs the queue
//! consumers the way Lambda's event sources would.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use shared::adapters::aws::AwsClients;
use shared::adapters::env::Env;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::http::ClientIp;
use shared::edge::wiring::Base;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::consumers::Consumer;
use crate::emulators::creem::{CreemEmulator, LOCAL_CREEM_KEY};
use crate::emulators::fal::{FalEmulator, LOCAL_FAL_KEY};
use crate::emulators::google::GoogleEmulator;
use crate::emulators::mailbox::Mailbox;
pub use crate::functions::Functions;
use crate::moto::Moto;
use crate::provision::{Refs, provision};
use crate::template::Template;

pub const LOCAL_REGION: &str = "eu-west-1";
pub const LOCAL_GOOGLE_CLIENT_ID: &str = "local-google-client-id.apps.googleusercontent.com";
pub const LOCAL_MAIL_FROM: &str = "no-reply@sora2ai.local";
/// Where the local stack forwards support messages; read them at `/_local/emails`.
pub const LOCAL_SUPPORT_EMAIL: &str = "support@sora2ai.local";
/// The local stack's hash key. Local data only; a deployment's comes from its parameter.
pub const LOCAL_HASH_SECRET: &str = "local-stack-hash-secret-never-used-in-a-deployment";

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Moto(#[from] crate::moto::MotoError),
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    #[error("{function}: {error}")]
    Config {
        function: String,
        error: shared::adapters::env::ConfigError,
    },
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    #[error("queue consumers: {0}")]
    Consumers(String),
    #[error("secrets: {0}")]
    Secrets(String),
    #[error("could not listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

pub struct StackOptions {
    /// Where to serve; port 0 picks a free one.
    pub bind: SocketAddr,
    /// An already running local AWS endpoint; `None` starts one on a free port.
    pub aws_endpoint: Option<String>,
    /// Prefix of every resource name, so several stacks can share one endpoint.
    pub prefix: String,
    pub policy: Policy,
    pub clock: Clock,
    /// Run the queue consumers in the background (tests may drive them by hand).
    pub consumers: bool,
    /// How long the fal emulator takes to finish a video.
    pub fal_duration: Duration,
    /// Settings that win over the template's and the stack's (e.g. a dead base URL).
    pub env_overrides: BTreeMap<String, String>,
    /// The fault mode of the local AWS endpoint, for the functions' requests.
    pub faults: Option<crate::faults::FaultSettings>,
    /// Hand every queue message to its function twice, in shuffled batches, as SQS's
    /// at-least-once delivery may.
    pub duplicate_deliveries: bool,
    /// The running consumers' visibility timeout (seconds) instead of the queues' own.
    pub consumer_visibility: Option<i32>,
    /// The built website served at `/`.
    pub site_dir: std::path::PathBuf,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            aws_endpoint: None,
            prefix: "sora2-local".into(),
            policy: Policy::default(),
            clock: Clock::system(),
            consumers: true,
            fal_duration: Duration::from_secs(2),
            env_overrides: BTreeMap::new(),
            faults: None,
            duplicate_deliveries: false,
            consumer_visibility: None,
            site_dir: crate::site::default_dir(),
        }
    }
}

pub struct LocalStack {
    pub base_url: String,
    pub addr: SocketAddr,
    pub functions: Functions,
    pub base: Base,
    pub aws: crate::raw_aws::RawAws,
    pub google: Arc<GoogleEmulator>,
    pub mailbox: Arc<Mailbox>,
    pub fal: Arc<FalEmulator>,
    pub replicate: Arc<crate::emulators::replicate::ReplicateEmulator>,
    pub creem: Arc<CreemEmulator>,
    pub creem_checkouts: Arc<crate::emulators::creem_checkout::CreemCheckouts>,
    pub consumers: Vec<Consumer>,
    /// The AWS actions each function has called, on which resources.
    pub calls: shared::adapters::aws_calls::CallLog,
    /// Requests the emulated third parties have served.
    pub third_parties: Arc<ThirdPartyCounts>,
    pub aws_endpoint: String,
    /// The fault proxy the functions' AWS requests go through, when on.
    pub faults: Option<crate::faults::FaultProxy>,
    /// Each function's environment (by binary name), as the template declares it,
    /// resolved locally.
    pub envs: BTreeMap<String, BTreeMap<String, String>>,
    /// What each resource's `!Ref` and `Arn` resolve to.
    pub refs: Refs,
    pub template: Template,
    /// The throwaway CA of this start's content-credentials certificate.
    pub signing: crate::signing::LocalSigning,
    shutdown: Option<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
    _moto: Moto,
}

impl LocalStack {
    pub async fn start(opts: StackOptions) -> Result<Self, StackError> {
        // The emulators' and the functions' HTTP clients use ring, as in Lambda.
        shared::adapters::outbound::install_crypto();
        let moto = Moto::find_or_start(opts.aws_endpoint.clone(), None).await?;
        let (listener, addr) = listen(opts.bind).await?;
        let base_url = format!("http://{addr}");

        let template = Template::load()?;
        let parameters = local_parameters(&template, &opts.prefix, &base_url);
        let aws = crate::raw_aws::RawAws::load_local(LOCAL_REGION, &moto.endpoint).await;
        let refs = provision(&template, &aws, &opts.prefix, &parameters).await?;
        // The functions reach AWS through the fault proxy when it is on.
        let faults = fault_proxy(&moto.endpoint, opts.faults.as_ref(), opts.bind).await?;
        let functions_endpoint = faults
            .as_ref()
            .map_or(moto.endpoint.clone(), |f| f.endpoint.clone());
        let (functions_aws, calls) = functions_aws(&functions_endpoint).await;

        let envs = function_envs(
            &template,
            &refs,
            &base_url,
            &functions_endpoint,
            &opts.env_overrides,
        )?;
        let signing = local_signing(&aws, &refs).await?;
        store_secrets(&aws, &envs, &signing).await?;
        let base = Base::new(functions_aws, opts.clock, opts.policy);
        let functions = build_functions(&base, &envs, aws.ssm()).await?;
        note_secret_reads(&calls, &envs);

        let emitted = crate::metrics::Emitted::start();
        let emulators = Emulators::new(&base_url, &moto.endpoint, opts.fal_duration, &parameters);
        let third_parties = Arc::new(ThirdPartyCounts::default());
        let routes = functions
            .local_routes()
            .merge(emulators.router())
            .merge(dump(&aws, &template, &refs).router())
            .merge(emitted.router())
            .merge(crate::openapi::router());
        let site = site(opts.site_dir.clone(), &functions_endpoint);
        let app = app(routes, site, third_parties.clone());

        let consumers = consumers(
            &template,
            &refs,
            &functions,
            &aws,
            opts.duplicate_deliveries,
            opts.consumer_visibility,
        )?;
        let mut tasks = Vec::new();
        if opts.consumers {
            tasks.extend(consumers.iter().map(Consumer::spawn));
        }
        let (shutdown, server) = serve(listener, app);
        tasks.push(server);
        let Emulators {
            google,
            mailbox,
            fal,
            replicate,
            creem,
            creem_checkouts,
        } = emulators;
        Ok(Self {
            base_url,
            addr,
            functions,
            base,
            aws,
            google,
            mailbox,
            fal,
            replicate,
            creem,
            creem_checkouts,
            consumers,
            calls,
            third_parties,
            aws_endpoint: moto.endpoint.clone(),
            faults,
            envs,
            refs,
            template,
            signing,
            shutdown: Some(shutdown),
            tasks,
            _moto: moto,
        })
    }

    /// The consumer of a function's queue (`generate`, `deliver`).
    pub fn consumer(&self, function: &str) -> &Consumer {
        self.consumers
            .iter()
            .find(|c| c.function == function)
            .unwrap_or_else(|| panic!("no consumer for {function}"))
    }

    /// Stops serving and consuming.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The third parties the functions call, played locally on the stack's own port under
/// `/_local/…`. Made together so that the stack's start is one step for all of them,
/// and their routes (with the switch that takes a provider down) are one router.
struct Emulators {
    google: Arc<GoogleEmulator>,
    mailbox: Arc<Mailbox>,
    fal: Arc<FalEmulator>,
    replicate: Arc<crate::emulators::replicate::ReplicateEmulator>,
    creem: Arc<CreemEmulator>,
    creem_checkouts: Arc<crate::emulators::creem_checkout::CreemCheckouts>,
}

impl Emulators {
    /// Every emulator, as the stack at `base_url` on the local endpoint at
    /// `aws_endpoint` serves them: the providers finish a video in `fal_duration`, and
    /// the checkout sells the products of the template's `BillingProducts`.
    fn new(
        base_url: &str,
        aws_endpoint: &str,
        fal_duration: Duration,
        parameters: &BTreeMap<String, String>,
    ) -> Self {
        let catalogue = shared::domain::billing::parse_catalogue(
            parameters
                .get("BillingProducts")
                .map(String::as_str)
                .unwrap_or("[]"),
        )
        .unwrap_or_default();
        Self {
            google: GoogleEmulator::new(LOCAL_GOOGLE_CLIENT_ID),
            mailbox: Mailbox::new(aws_endpoint.to_owned()),
            fal: FalEmulator::new(base_url.to_owned(), fal_duration),
            replicate: crate::emulators::replicate::ReplicateEmulator::new(
                base_url.to_owned(),
                fal_duration,
            ),
            creem: CreemEmulator::new(),
            creem_checkouts: crate::emulators::creem_checkout::CreemCheckouts::new(
                base_url.to_owned(),
                catalogue,
            ),
        }
    }

    /// Every emulator's routes, and the switch that takes a provider down or up.
    fn router(&self) -> axum::Router {
        let outages = crate::emulators::outage::router(Arc::new(vec![
            ("fal", self.fal.outage.clone()),
            ("replicate", self.replicate.outage.clone()),
        ]));
        let received = crate::emulators::vendor_schema::router(Arc::new(vec![
            ("fal", self.fal.received.clone()),
            ("replicate", self.replicate.received.clone()),
        ]));
        self.google
            .router()
            .merge(self.mailbox.router())
            .merge(self.fal.router())
            .merge(self.replicate.router())
            .merge(outages)
            .merge(received)
            .merge(self.creem.router())
            .merge(self.creem_checkouts.router())
    }
}

/// Listens on `bind` (port 0: a free one), and says where.
async fn listen(bind: SocketAddr) -> Result<(TcpListener, SocketAddr), StackError> {
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| StackError::Bind(bind, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StackError::Bind(bind, e))?;
    Ok((listener, addr))
}

/// The fault proxy in front of the local endpoint, when the options ask for one.
async fn fault_proxy(
    endpoint: &str,
    settings: Option<&crate::faults::FaultSettings>,
    bind: SocketAddr,
) -> Result<Option<crate::faults::FaultProxy>, StackError> {
    match settings {
        Some(settings) => Ok(Some(
            crate::faults::FaultProxy::start(endpoint, settings.clone())
                .await
                .map_err(|e| StackError::Bind(bind, e))?,
        )),
        None => Ok(None),
    }
}

/// The functions' AWS clients on `endpoint`, with the log of the actions each function
/// calls (for the policy test), which is set before any client is made.
async fn functions_aws(endpoint: &str) -> (AwsClients, shared::adapters::aws_calls::CallLog) {
    let mut aws = AwsClients::load_local(LOCAL_REGION, endpoint).await;
    let calls = shared::adapters::aws_calls::CallLog::default();
    aws.calls = Some(calls.clone());
    (aws, calls)
}

/// `/_local/dump` over the template's resources as the stack named them locally: what
/// the stack stores, for a person to see.
fn dump(aws: &crate::raw_aws::RawAws, template: &Template, refs: &Refs) -> Arc<crate::dump::Dump> {
    crate::dump::Dump::new(
        aws.clone(),
        template
            .resources()
            .iter()
            .filter_map(|r| {
                let local = refs.refs.get(r.logical_id)?;
                Some((r.kind.to_owned(), r.logical_id.to_owned(), local.clone()))
            })
            .collect(),
    )
}

/// The built website in `dir` as the local stack serves it: its API on the same origin,
/// Google's emulator for sign-in, and the buckets at `storage_origin` allowed by its
/// Content-Security-Policy.
fn site(dir: std::path::PathBuf, storage_origin: &str) -> Arc<crate::site::Site> {
    crate::site::Site::new(
        dir,
        crate::site::config_json("", LOCAL_GOOGLE_CLIENT_ID, "emulator"),
        storage_origin,
    )
}

/// What the stack serves: `routes`, the website for any other path, each request told
/// its peer's address as API Gateway tells a function, and the third parties' requests
/// counted.
fn app(
    routes: axum::Router,
    site: Arc<crate::site::Site>,
    third_parties: Arc<ThirdPartyCounts>,
) -> axum::Router {
    shared::edge::http::finish_router(routes)
        .fallback(move |req| crate::site::Site::serve(site.clone(), req))
        .layer(axum::middleware::from_fn(peer_ip))
        .layer(axum::middleware::from_fn_with_state(
            third_parties,
            count_third_party,
        ))
}

/// The template's queue consumers, with the stack's visibility timeout when it sets one.
fn consumers(
    template: &Template,
    refs: &Refs,
    functions: &Functions,
    aws: &crate::raw_aws::RawAws,
    duplicate_deliveries: bool,
    visibility: Option<i32>,
) -> Result<Vec<Consumer>, StackError> {
    let consumers = crate::consumers::from_template(
        template,
        refs,
        functions,
        aws,
        LOCAL_REGION,
        duplicate_deliveries,
    )
    .map_err(StackError::Consumers)?;
    Ok(consumers
        .into_iter()
        .map(|mut c| {
            c.visibility = visibility;
            c
        })
        .collect())
}

/// Serves `app` on `listener` until the sender is used (or dropped).
fn serve(listener: TcpListener, app: axum::Router) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    (tx, server)
}

/// Requests served by each emulated third party: what one flow costs in calls to
/// vendors (`make bench`).
#[derive(Debug, Default)]
pub struct ThirdPartyCounts {
    pub fal: std::sync::atomic::AtomicU64,
    pub replicate: std::sync::atomic::AtomicU64,
    pub creem: std::sync::atomic::AtomicU64,
    pub google: std::sync::atomic::AtomicU64,
}

impl ThirdPartyCounts {
    /// `(fal, creem, google, replicate)` so far.
    pub fn snapshot(&self) -> [u64; 4] {
        use std::sync::atomic::Ordering::Relaxed;
        [
            self.fal.load(Relaxed),
            self.creem.load(Relaxed),
            self.google.load(Relaxed),
            self.replicate.load(Relaxed),
        ]
    }
}

async fn count_third_party(
    axum::extract::State(counts): axum::extract::State<Arc<ThirdPartyCounts>>,
    req: Request,
    next: Next,
) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    let path = req.uri().path();
    let counter = if path.starts_with("/_local/fal/") {
        Some(&counts.fal)
    } else if path.starts_with("/_local/replicate/") {
        Some(&counts.replicate)
    } else if path.starts_with("/_local/creem/api/") {
        Some(&counts.creem)
    } else if path.starts_with("/_local/google/certs") {
        Some(&counts.google)
    } else {
        None
    };
    if let Some(c) = counter {
        c.fetch_add(1, Relaxed);
    }
    next.run(req).await
}

/// What API Gateway does in Lambda: tells the function who the peer is.
async fn peer_ip(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(ClientIp(peer.ip()));
    next.run(req).await
}

/// The template's parameters as the local stack gives them: the defaults, local
/// identities, and the stack's own Parameter Store names for the secrets.
fn local_parameters(template: &Template, prefix: &str, base_url: &str) -> BTreeMap<String, String> {
    let mut parameters: BTreeMap<String, String> = template
        .parameters()
        .into_iter()
        .filter_map(|p| template.parameter_default(&p).map(|d| (p, d)))
        .collect();
    for (name, value) in [
        ("GoogleClientId", LOCAL_GOOGLE_CLIENT_ID),
        ("FalUserId", crate::emulators::fal::LOCAL_FAL_USER_ID),
        ("MailFrom", LOCAL_MAIL_FROM),
        ("SupportEmail", LOCAL_SUPPORT_EMAIL),
        // The website is served by the stack itself.
        ("AllowedOrigin", base_url),
    ] {
        parameters.insert(name.into(), value.into());
    }
    // Secrets live in Parameter Store, as in a deployment; the names are the stack's own.
    for (name, path) in [
        ("HashSecretParameter", "hash-secret"),
        ("FalKeyParameter", "fal-key"),
        ("CreemApiKeyParameter", "creem-api-key"),
        ("CreemWebhookSecretParameter", "creem-webhook-secret"),
        ("SigningCertsParameter", "signing-certs"),
        ("ReplicateApiTokenParameter", "replicate-api-token"),
        (
            "ReplicateWebhookSecretParameter",
            "replicate-webhook-secret",
        ),
    ] {
        parameters.insert(name.into(), format!("/{prefix}/{path}"));
    }
    parameters
}

/// Each function's environment (by binary name), as the template declares it: what
/// the stack itself provides instead — Lambda's region, the local endpoint, the
/// emulators in place of the third parties (a function gets an emulator's URL only if
/// the template gives it that variable) — and the caller's overrides.
fn function_envs(
    template: &Template,
    refs: &Refs,
    base_url: &str,
    functions_endpoint: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, StackError> {
    let local: BTreeMap<&str, String> = [
        ("GOOGLE_JWKS_URL", format!("{base_url}/_local/google/certs")),
        ("FAL_QUEUE_URL", format!("{base_url}/_local/fal")),
        ("FAL_API_URL", format!("{base_url}/_local/fal/api/v1")),
        (
            "FAL_JWKS_URL",
            format!("{base_url}/_local/fal/.well-known/jwks.json"),
        ),
        ("PROVIDER_WEBHOOK_URL", format!("{base_url}/v1/webhooks")),
        (
            "REPLICATE_API_URL",
            format!("{base_url}/_local/replicate/api"),
        ),
        ("CREEM_API_URL", format!("{base_url}/_local/creem/api")),
        ("PUBLIC_API_URL", base_url.to_owned()),
        ("SITE_URL", base_url.to_owned()),
        (
            "CHECKOUT_SUCCESS_URL",
            format!("{base_url}/billing/success"),
        ),
    ]
    .into_iter()
    .collect();
    let mut envs = BTreeMap::new();
    for (logical_id, binary) in template.functions() {
        let mut env =
            template.function_environment(&logical_id, |id| refs.refs.get(id).cloned())?;
        for (k, v) in env.iter_mut() {
            if let Some(url) = local.get(k.as_str()) {
                *v = url.clone();
            }
            if let Some(v2) = overrides.get(k) {
                *v = v2.clone();
            }
        }
        env.insert("AWS_REGION".into(), LOCAL_REGION.to_owned());
        env.insert("AWS_ENDPOINT_URL".into(), functions_endpoint.to_owned());
        envs.insert(binary, env);
    }
    Ok(envs)
}

/// Notes that each function's start read its secrets from Parameter Store.
fn note_secret_reads(
    calls: &shared::adapters::aws_calls::CallLog,
    envs: &BTreeMap<String, BTreeMap<String, String>>,
) {
    for (function, env) in envs {
        calls.note(
            function,
            Env::from_map(env.clone())
                .parameter_refs()
                .into_iter()
                .map(|(_, param)| ("ssm:GetParameters".to_owned(), format!("parameter{param}"))),
        );
    }
}

/// Builds every function from its own environment, as its Lambda `main` would.
async fn build_functions(
    base: &Base,
    envs: &BTreeMap<String, BTreeMap<String, String>>,
    ssm: &aws_sdk_ssm::Client,
) -> Result<Functions, StackError> {
    // Each function's environment with its secrets read from Parameter Store, as its
    // Lambda `main` does. (Read past the fault mode: a failed start is Lambda's to retry.)
    let mut resolved = BTreeMap::new();
    for (function, env) in envs {
        let env = Env::from_map(env.clone())
            .with_parameters(ssm)
            .await
            .map_err(|error| StackError::Config {
                function: function.clone(),
                error,
            })?;
        resolved.insert(function.clone(), env);
    }
    let empty = Env::from_map(BTreeMap::new());
    Functions::build(base, |function| resolved.get(function).unwrap_or(&empty)).map_err(
        |(function, error)| StackError::Config {
            function: function.to_owned(),
            error,
        },
    )
}

/// A throwaway CA and a certificate for the public key of the template's signing key,
/// as the stack created it (see `signing`).
async fn local_signing(
    aws: &AwsClients,
    refs: &Refs,
) -> Result<crate::signing::LocalSigning, StackError> {
    let key_id = refs
        .refs
        .get("SigningKey")
        .ok_or_else(|| StackError::Secrets("the template declares no SigningKey".into()))?;
    let public = shared::adapters::kms::KeySigner::new(
        shared::adapters::aws::OnDemand::new(aws, AwsClients::kms),
        key_id.clone(),
    )
    .public_key()
    .await
    .map_err(|e| StackError::Secrets(format!("the signing key's public key: {e}")))?;
    crate::signing::issue(&public).map_err(StackError::Secrets)
}

/// Puts the local secrets into the local Parameter Store under the names the
/// functions' environments give (`X_PARAMETER`).
async fn store_secrets(
    aws: &AwsClients,
    envs: &BTreeMap<String, BTreeMap<String, String>>,
    signing: &crate::signing::LocalSigning,
) -> Result<(), StackError> {
    let local = |var: &str| match var {
        "HASH_SECRET" => Some(LOCAL_HASH_SECRET),
        "FAL_KEY" => Some(LOCAL_FAL_KEY),
        "CREEM_API_KEY" => Some(LOCAL_CREEM_KEY),
        "CREEM_WEBHOOK_SECRET" => {
            Some(crate::emulators::creem_checkout::LOCAL_CREEM_WEBHOOK_SECRET)
        }
        "SIGNING_CERTS" => Some(signing.chain_pem.as_str()),
        "REPLICATE_API_TOKEN" => Some(crate::emulators::replicate::LOCAL_REPLICATE_TOKEN),
        "REPLICATE_WEBHOOK_SECRET" => {
            Some(crate::emulators::replicate::LOCAL_REPLICATE_WEBHOOK_SECRET)
        }
        _ => None,
    };
    let mut stored = std::collections::BTreeSet::new();
    for env in envs.values() {
        for (var, name) in Env::from_map(env.clone()).parameter_refs() {
            let Some(value) = local(&var) else {
                return Err(StackError::Secrets(format!(
                    "no local value for the secret {var}"
                )));
            };
            if !stored.insert(name.clone()) {
                continue;
            }
            aws.ssm()
                .put_parameter()
                .name(&name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .overwrite(true)
                .send()
                .await
                .map_err(|e| {
                    StackError::Secrets(format!(
                        "parameter {name}: {}",
                        aws_sdk_ssm::error::DisplayErrorContext(e)
                    ))
                })?;
        }
    }
    Ok(())
}
