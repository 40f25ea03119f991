//! The three `main`s: an HTTP function serves its router through API Gateway, a queue
//! function serves SQS batches, a scheduled function runs a round per event. Each
//! reads the environment once, builds the function's state once, and lends it to
//! every invocation.

use aws_lambda_events::event::sqs::SqsEvent;
use axum::Router;
use lambda_runtime::{LambdaEvent, service_fn};

use crate::adapters::env::{ConfigError, Env};
use crate::edge::schedule::{ScheduledStep, run_round};
use crate::edge::sqs::{QueueStep, run_batch};
use crate::edge::telemetry;
use crate::edge::wiring::Base;

/// How a function's state is made from the shared base and its variables.
pub type Build<S> = fn(&Base, &Env) -> Result<S, ConfigError>;

async fn start<S>(build: Build<S>) -> Result<S, ConfigError> {
    let env = Env::process();
    telemetry::init(&env);
    let base = Base::from_env(&env).await?;
    // Parameter Store only when a secret is named (the client is made on first use).
    let env = if env.parameter_refs().is_empty() {
        env
    } else {
        env.with_parameters(base.aws.ssm()).await?
    };
    build(&base, &env)
}

/// `main` of an HTTP function.
pub async fn run_http<S>(
    build: Build<S>,
    router: fn(S) -> Router,
) -> Result<(), lambda_http::Error> {
    let state = start(build).await?;
    lambda_http::run(router(state)).await
}

/// `main` of a queue function.
pub async fn run_queue<S: QueueStep>(build: Build<S>) -> Result<(), lambda_runtime::Error> {
    let state = start(build).await?;
    let state = &state;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(run_batch(state, event.payload).await)
    }))
    .await
}

/// `main` of a scheduled function.
pub async fn run_scheduled<S: ScheduledStep>(build: Build<S>) -> Result<(), lambda_runtime::Error> {
    let state = start(build).await?;
    let state = &state;
    lambda_runtime::run(service_fn(
        move |_event: LambdaEvent<serde_json::Value>| async move {
            // Boxed: the round's future is deep, and its size need not be the runtime's.
            Box::pin(run_round(state))
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
