//! The local stack: provisions the template's resources on the local AWS endpoint and
//! serves every function's routes plus the emulators on one port; runs the queue
//! consumers the way Lambda's event sources would.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use shared::aws::AwsClients;
use shared::clock::Clock;
use shared::config::{Config, VideoConfig};
use shared::http::ClientIp;
use shared::policy::Policy;
use shared::{AppState, VideoState};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::consumers::Consumer;
use crate::emulators::creem::{CreemEmulator, LOCAL_CREEM_KEY};
use crate::emulators::fal::{FalEmulator, LOCAL_FAL_KEY};
use crate::emulators::google::GoogleEmulator;
use crate::emulators::mailbox::Mailbox;
use crate::moto::Moto;
use crate::provision::{Refs, provision};
use crate::template::Template;

pub const LOCAL_REGION: &str = "eu-west-1";
pub const LOCAL_GOOGLE_CLIENT_ID: &str = "local-google-client-id.apps.googleusercontent.com";
pub const LOCAL_MAIL_FROM: &str = "no-reply@sora2ai.local";
/// The local stack's hash key. Local data only; a deployment's comes from its parameter.
const LOCAL_HASH_SECRET: &str = "local-stack-hash-secret-never-used-in-a-deployment";

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Moto(#[from] crate::moto::MotoError),
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    #[error(transparent)]
    Config(#[from] shared::config::ConfigError),
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    #[error("queue consumers: {0}")]
    Consumers(String),
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
        }
    }
}

pub struct LocalStack {
    pub base_url: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub videos: VideoState,
    pub aws: AwsClients,
    pub google: Arc<GoogleEmulator>,
    pub mailbox: Arc<Mailbox>,
    pub fal: Arc<FalEmulator>,
    pub creem: Arc<CreemEmulator>,
    pub consumers: Vec<Consumer>,
    pub aws_endpoint: String,
    /// The functions' environment, as the template declares it, resolved locally.
    pub env: BTreeMap<String, String>,
    /// What each resource's `!Ref` and `Arn` resolve to.
    pub refs: Refs,
    pub template: Template,
    shutdown: Option<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
    _moto: Moto,
}

impl LocalStack {
    pub async fn start(opts: StackOptions) -> Result<Self, StackError> {
        let moto = Moto::find_or_start(opts.aws_endpoint.clone(), None).await?;
        let listener = TcpListener::bind(opts.bind)
            .await
            .map_err(|e| StackError::Bind(opts.bind, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StackError::Bind(opts.bind, e))?;
        let base_url = format!("http://{addr}");

        let template = Template::load()?;
        let mut parameters: BTreeMap<String, String> = template
            .parameters()
            .into_iter()
            .filter_map(|p| template.parameter_default(&p).map(|d| (p, d)))
            .collect();
        for (name, value) in [
            ("GoogleClientId", LOCAL_GOOGLE_CLIENT_ID),
            ("MailFrom", LOCAL_MAIL_FROM),
            ("HashSecret", LOCAL_HASH_SECRET),
            ("FalKey", LOCAL_FAL_KEY),
            ("CreemApiKey", LOCAL_CREEM_KEY),
        ] {
            parameters.insert(name.into(), value.into());
        }
        let aws = AwsClients::load_local(LOCAL_REGION, &moto.endpoint).await;
        let refs = provision(&template, &aws, &opts.prefix, &parameters).await?;

        let mut env = template.environment(|id| refs.refs.get(id).cloned())?;
        for (k, v) in [
            ("AWS_REGION", LOCAL_REGION.to_owned()),
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
            ("GOOGLE_JWKS_URL", format!("{base_url}/_local/google/certs")),
            ("FAL_QUEUE_URL", format!("{base_url}/_local/fal")),
            ("FAL_API_URL", format!("{base_url}/_local/fal/api/v1")),
            ("CREEM_API_URL", format!("{base_url}/_local/creem/api")),
        ] {
            env.insert(k.into(), v);
        }
        env.extend(opts.env_overrides.clone());
        let map: HashMap<String, String> = env.clone().into_iter().collect();
        let config = Config::from_map(&map)?;
        let video_config = VideoConfig::from_map(&map)?;

        let state = AppState::new(config, opts.policy, opts.clock, aws.clone());
        let videos = VideoState::new(state.clone(), video_config);
        let google = GoogleEmulator::new(LOCAL_GOOGLE_CLIENT_ID);
        let mailbox = Mailbox::new(moto.endpoint.clone());
        let fal = FalEmulator::new(base_url.clone(), opts.fal_duration);
        let creem = CreemEmulator::new();
        let dump = crate::dump::Dump::new(
            aws.clone(),
            template
                .resources()
                .iter()
                .filter_map(|r| {
                    let local = refs.refs.get(r.logical_id)?;
                    Some((r.kind.to_owned(), r.logical_id.to_owned(), local.clone()))
                })
                .collect(),
        );
        let app = shared::http::finish_router(
            Router::new()
                .merge(auth::routes(state.clone()))
                .merge(account::routes(state.clone()))
                .merge(::videos::routes(videos.clone()))
                .merge(google.router())
                .merge(mailbox.router())
                .merge(fal.router())
                .merge(creem.router())
                .merge(dump.router()),
        )
        .layer(axum::middleware::from_fn(peer_ip));

        let consumers = crate::consumers::from_template(&template, &refs, &videos, LOCAL_REGION)
            .map_err(StackError::Consumers)?;
        let mut tasks = Vec::new();
        if opts.consumers {
            tasks.extend(consumers.iter().map(Consumer::spawn));
        }
        let (tx, rx) = oneshot::channel::<()>();
        tasks.push(tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        }));
        Ok(Self {
            base_url,
            addr,
            state,
            videos,
            aws,
            google,
            mailbox,
            fal,
            creem,
            consumers,
            aws_endpoint: moto.endpoint.clone(),
            env,
            refs,
            template,
            shutdown: Some(tx),
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

/// What API Gateway does in Lambda: tells the function who the peer is.
async fn peer_ip(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(ClientIp(peer.ip()));
    next.run(req).await
}
