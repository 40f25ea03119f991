//! Every function of the service, declared once: its binary name, its crate, its state
//! and how it is triggered. The local stack's router, its queue consumers' handlers,
//! the OpenAPI document's parts and the tests' dispatch by name all come from this one
//! list, so a new function is one line here (plus its crate and its template entry,
//! which the tests compare with this list).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::IntoResponse;
use futures_util::future::BoxFuture;
use shared::adapters::env::{ConfigError, Env};
use shared::edge::wiring::Base;

/// How a function is triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Routes behind API Gateway; `routes` are its method and path pairs.
    Http {
        routes: &'static [(&'static str, &'static str)],
    },
    /// Batches from an SQS queue (the template says which).
    Queue,
    /// A round on a schedule; locally also `POST {local_path}`.
    Schedule { local_path: &'static str },
}

/// One declared function.
#[derive(Debug, Clone, Copy)]
pub struct Declared {
    /// The binary's name, as the template's `BuildProperties`/`Handler` and the
    /// environment tables name it.
    pub name: &'static str,
    pub kind: Kind,
}

/// A queue function's batch handler, as Lambda's SQS event source calls it.
pub type BatchHandler = Arc<dyn Fn(SqsEvent) -> BoxFuture<'static, SqsBatchResponse> + Send + Sync>;

/// Declares the functions: `crate_ident "binary" State => kind;`, where kind is
/// `http`, `queue` or `schedule("/_local/path")`.
macro_rules! functions {
    ($( $krate:ident $name:literal $state:ty => $kind:ident $(($path:literal))? ;)+) => {
        /// Every function's state, each built from its own environment as in Lambda.
        #[derive(Clone)]
        pub struct Functions {
            $(pub $krate: $state,)+
        }

        /// Every function, in declaration order.
        pub const DECLARED: &[Declared] = &[
            $(Declared { name: $name, kind: functions!(@kind $kind $krate $($path)?) },)+
        ];

        impl Functions {
            /// Builds every function from its environment (`env_of` its binary name),
            /// as each Lambda's `main` does; the first that fails is named.
            pub fn build<'a>(
                base: &Base,
                env_of: impl Fn(&str) -> &'a Env,
            ) -> Result<Self, (&'static str, ConfigError)> {
                Ok(Self {
                    $($krate: <$state>::build(base, env_of($name)).map_err(|e| ($name, e))?,)+
                })
            }

            /// Every HTTP function's routes and every scheduled function's local
            /// trigger, each run as its function (its AWS calls are recorded as its own).
            pub fn local_routes(&self) -> Router {
                Router::new()
                    $(.merge(functions!(@local $kind self $krate $name $($path)?)))+
            }

            /// An HTTP function's whole router, as Lambda serves it.
            pub fn lambda_router(&self, name: &str) -> Option<Router> {
                match name {
                    $($name => functions!(@lambda $kind self $krate),)+
                    _ => None,
                }
            }

            /// A queue function's batch handler.
            pub fn batch_handler(&self, name: &str) -> Option<BatchHandler> {
                match name {
                    $($name => functions!(@batch $kind self $krate $name),)+
                    _ => None,
                }
            }

            /// One round of a scheduled function, now.
            pub async fn run_round(&self, name: &str) -> Option<Result<serde_json::Value, String>> {
                match name {
                    $($name => functions!(@round $kind self $krate),)+
                    _ => None,
                }
            }
        }

        /// Whether a function builds from an environment (`None`: no such function).
        pub fn check_build(name: &str, base: &Base, env: &Env) -> Option<Result<(), ConfigError>> {
            match name {
                $($name => Some(<$state>::build(base, env).map(drop)),)+
                _ => None,
            }
        }

        /// Every HTTP function's part of the OpenAPI document, by binary name.
        pub fn openapi_parts() -> Vec<(&'static str, utoipa::openapi::OpenApi)> {
            [$(functions!(@openapi $kind $krate $name),)+]
                .into_iter()
                .flatten()
                .collect()
        }
    };

    (@kind http $krate:ident) => { Kind::Http { routes: $krate::ROUTES } };
    (@kind queue $krate:ident) => { Kind::Queue };
    (@kind schedule $krate:ident $path:literal) => { Kind::Schedule { local_path: $path } };

    (@local http $self:ident $krate:ident $name:literal) => {
        as_function($name, $krate::routes($self.$krate.clone()))
    };
    (@local queue $self:ident $krate:ident $name:literal) => { Router::new() };
    (@local schedule $self:ident $krate:ident $name:literal $path:literal) => {
        as_function($name, round_route($path, $self.$krate.clone()))
    };

    (@lambda http $self:ident $krate:ident) => { Some($krate::router($self.$krate.clone())) };
    (@lambda $other:ident $self:ident $krate:ident) => { None };

    (@batch queue $self:ident $krate:ident $name:literal) => {{
        let state = $self.$krate.clone();
        let handler: BatchHandler = Arc::new(move |event| {
            let state = state.clone();
            Box::pin(shared::adapters::aws_calls::CALLER.scope($name, async move {
                shared::edge::queue_batch::run_batch(&state, event).await
            }))
        });
        Some(handler)
    }};
    (@batch $other:ident $self:ident $krate:ident $name:literal) => { None };

    (@round schedule $self:ident $krate:ident) => {
        Some(shared::edge::schedule::run_round(&$self.$krate).await)
    };
    (@round $other:ident $self:ident $krate:ident) => { None };

    (@openapi http $krate:ident $name:literal) => { Some(($name, $krate::openapi())) };
    (@openapi $other:ident $krate:ident $name:literal) => { None };
}

functions! {
    auth "auth" auth::AuthState => http;
    account "account" account::AccountState => http;
    videos "videos" videos::VideosState => http;
    billing "billing" billing::BillingState => http;
    checkout_webhook "checkout-webhook" checkout_webhook::CheckoutWebhookState => http;
    provider_webhook "provider-webhook" provider_webhook::ProviderWebhookState => http;
    generate "generate" generate::GenerateState => queue;
    stamp "stamp" stamp::StampState => queue;
    deliver "deliver" deliver::DeliverState => queue;
    privacy_requests "privacy-requests" privacy_requests::PrivacyRequestsState => queue;
    sweep "sweep" sweep::SweepState => schedule("/_local/sweep");
    purge_expired "purge-expired" purge_expired::PurgeExpiredState => schedule("/_local/purge");
}

/// The declared function of that binary name.
pub fn declared(name: &str) -> Option<&'static Declared> {
    DECLARED.iter().find(|d| d.name == name)
}

/// The names of the functions of one kind (`Kind::Queue`; any `Http`; any `Schedule`).
pub fn names_where(pick: impl Fn(&Kind) -> bool) -> Vec<&'static str> {
    DECLARED
        .iter()
        .filter(|d| pick(&d.kind))
        .map(|d| d.name)
        .collect()
}

/// Runs a function's routes as that function, so its AWS calls are recorded as its own.
fn as_function(name: &'static str, routes: Router) -> Router {
    routes.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            shared::adapters::aws_calls::CALLER.scope(name, next.run(req))
        },
    ))
}

/// `POST {path}`: one round of a scheduled function now, as its schedule would run it.
fn round_route<S>(path: &str, state: S) -> Router
where
    S: shared::edge::schedule::ScheduledStep + Clone + 'static,
{
    use axum::routing::post;
    Router::new().route(
        path,
        post(move || {
            let state = state.clone();
            async move {
                match shared::edge::schedule::run_round(&state).await {
                    Ok(done) => axum::Json(done).into_response(),
                    Err(reason) => {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, reason).into_response()
                    }
                }
            }
        }),
    )
}
