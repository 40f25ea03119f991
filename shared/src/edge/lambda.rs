//! The three `main`s: an HTTP function serves its router through API Gateway, a queue
//! function serves SQS batches, a scheduled function runs a round per event. Each
//! reads the environment once, builds the function's state once, and lends it to
//! every invocation.
//!
//! A start that cannot read its secrets because Parameter Store is throttled or down
//! does not fail the function (Lambda would retry the whole init, and every request
//! meanwhile would get a bare 502): the state is built again on the next invocation.
//! Until then an HTTP function answers 503 problem+json with `Retry-After`, and a
//! queue or scheduled function fails its invocation, so SQS or the schedule brings it
//! back. A wrong configuration still stops the start at once.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use axum::Router;
use axum::response::{IntoResponse, Response};
use lambda_runtime::{LambdaEvent, service_fn};
use tokio::sync::{Mutex, OnceCell};
use tower::ServiceExt;

use crate::adapters::env::{ConfigError, Env};
use crate::edge::problem::ApiError;
use crate::edge::queue_batch::{QueueStep, run_batch};
use crate::edge::schedule::{ScheduledStep, run_round};
use crate::edge::telemetry;
use crate::edge::wiring::Base;

/// How a function's state is made from the shared base and its variables.
pub type Build<S> = fn(&Base, &Env) -> Result<S, ConfigError>;

/// What builds a state from the base and the variables (with its secrets).
type Make<T> = Box<dyn Fn(&Base, &Env) -> Result<T, ConfigError> + Send + Sync>;

/// A function's state, built once: at start, or at the first invocation after a start
/// whose secrets could not be read yet.
pub struct Ready<T> {
    base: Base,
    env: Mutex<Env>,
    make: Make<T>,
    state: OnceCell<T>,
}

impl<T> Ready<T> {
    pub fn new(
        base: Base,
        env: Env,
        make: impl Fn(&Base, &Env) -> Result<T, ConfigError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            base,
            env: Mutex::new(env),
            make: Box::new(make),
            state: OnceCell::new(),
        }
    }

    /// The state, built now if it was not yet (reading the secrets first).
    pub async fn get(&self) -> Result<&T, ConfigError> {
        self.state
            .get_or_try_init(|| async {
                let mut env = self.env.lock().await;
                // Parameter Store only when a secret is named (its client is made on
                // first use).
                if !env.parameter_refs().is_empty() {
                    env.load_parameters(self.base.aws.ssm()).await?;
                }
                (self.make)(&self.base, &env)
            })
            .await
    }
}

async fn start<T>(
    make: impl Fn(&Base, &Env) -> Result<T, ConfigError> + Send + Sync + 'static,
) -> Result<Ready<T>, ConfigError> {
    let env = Env::process();
    telemetry::init(&env);
    let base = Base::from_env(&env).await?;
    let ready = Ready::new(base, env, make);
    match ready.get().await {
        Ok(_) => {}
        Err(e) if e.is_transient() => {
            tracing::warn!(event = "start_deferred", error = %e, "secrets unavailable at start; built at the next invocation");
        }
        Err(e) => return Err(e),
    }
    Ok(ready)
}

/// One HTTP request: to the router once it is built, else 503 with `Retry-After`.
pub async fn serve_http<B>(ready: &Ready<Router>, req: http::Request<B>) -> Response
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    match ready.get().await {
        Ok(router) => match router.clone().oneshot(req.map(axum::body::Body::new)).await {
            Ok(res) => res,
            Err(never) => match never {},
        },
        Err(e) => {
            tracing::warn!(event = "not_ready", error = %e, "state not built; answered 503");
            ApiError::Unavailable.into_response()
        }
    }
}

/// One SQS batch: run once the state is built; else the invocation fails and SQS
/// delivers the batch again.
pub async fn serve_batch<S: QueueStep>(
    ready: &Ready<S>,
    event: SqsEvent,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, lambda_runtime::Error> {
    let state = ready.get().await?;
    Ok(run_batch(state, event).await)
}

/// `main` of an HTTP function.
pub async fn run_http<S: 'static>(
    build: Build<S>,
    router: fn(S) -> Router,
) -> Result<(), lambda_http::Error> {
    let ready = Arc::new(start(move |b, e| build(b, e).map(router)).await?);
    lambda_http::run(lambda_http::service_fn(move |req: lambda_http::Request| {
        let ready = ready.clone();
        async move { Ok::<_, std::convert::Infallible>(serve_http(&ready, req).await) }
    }))
    .await
}

/// `main` of a queue function.
pub async fn run_queue<S: QueueStep + 'static>(
    build: Build<S>,
) -> Result<(), lambda_runtime::Error> {
    let ready = start(build).await?;
    let ready = &ready;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        serve_batch(ready, event.payload).await
    }))
    .await
}

/// `main` of a scheduled function.
pub async fn run_scheduled<S: ScheduledStep + 'static>(
    build: Build<S>,
) -> Result<(), lambda_runtime::Error> {
    let ready = start(build).await?;
    let ready = &ready;
    lambda_runtime::run(service_fn(
        move |_event: LambdaEvent<serde_json::Value>| async move {
            let state = ready.get().await?;
            // Boxed: the round's future is deep, and its size need not be the runtime's.
            Box::pin(run_round(state))
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
