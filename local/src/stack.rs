//! The local stack: provisions the template's resources on the local AWS endpoint and
//! serves every function's routes plus the emulators on one port.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use shared::AppState;
use shared::aws::AwsClients;
use shared::clock::Clock;
use shared::config::Config;
use shared::http::ClientIp;
use shared::policy::Policy;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::emulators::google::GoogleEmulator;
use crate::emulators::mailbox::Mailbox;
use crate::moto::Moto;
use crate::provision::provision;
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
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            aws_endpoint: None,
            prefix: "sora2-local".into(),
            policy: Policy::default(),
            clock: Clock::system(),
        }
    }
}

pub struct LocalStack {
    pub base_url: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub aws: AwsClients,
    pub google: Arc<GoogleEmulator>,
    pub mailbox: Arc<Mailbox>,
    pub aws_endpoint: String,
    /// The functions' environment, as the template declares it, resolved locally.
    pub env: BTreeMap<String, String>,
    /// Physical name of each resource the template declares, by logical id.
    pub physical_names: BTreeMap<String, String>,
    pub template: Template,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
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
        let physical_names: BTreeMap<String, String> = template
            .resources()
            .iter()
            .map(|r| {
                (
                    r.logical_id.to_owned(),
                    format!("{}-{}", opts.prefix, r.logical_id),
                )
            })
            .collect();
        let parameters: HashMap<&str, &str> = HashMap::from([
            ("GoogleClientId", LOCAL_GOOGLE_CLIENT_ID),
            ("MailFrom", LOCAL_MAIL_FROM),
            ("HashSecret", LOCAL_HASH_SECRET),
        ]);
        let resolve = |id: &str| {
            parameters
                .get(id)
                .map(|v| v.to_string())
                .or_else(|| physical_names.get(id).cloned())
        };
        let mut env = template.environment(resolve)?;
        env.insert("AWS_REGION".into(), LOCAL_REGION.into());
        env.insert("AWS_ENDPOINT_URL".into(), moto.endpoint.clone());
        env.insert(
            "GOOGLE_JWKS_URL".into(),
            format!("{base_url}/_local/google/certs"),
        );
        let config = Config::from_map(&env.clone().into_iter().collect())?;
        let aws = AwsClients::load_local(&config).await;
        provision(
            &template,
            &aws.dynamodb,
            &aws.ses,
            &|id| {
                physical_names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.to_owned())
            },
            &resolve,
        )
        .await?;

        let state = AppState::new(config, opts.policy, opts.clock, aws.clone());
        let google = GoogleEmulator::new(LOCAL_GOOGLE_CLIENT_ID);
        let mailbox = Mailbox::new(moto.endpoint.clone());
        let app = shared::http::finish_router(
            Router::new()
                .merge(auth::routes(state.clone()))
                .merge(account::routes(state.clone()))
                .merge(google.router())
                .merge(mailbox.router()),
        )
        .layer(axum::middleware::from_fn(peer_ip));

        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            base_url,
            addr,
            state,
            aws,
            google,
            mailbox,
            aws_endpoint: moto.endpoint.clone(),
            env,
            physical_names,
            template,
            shutdown: Some(tx),
            server: Some(server),
            _moto: moto,
        })
    }

    /// Stops serving and waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
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
