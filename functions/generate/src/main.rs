//! Lambda entry point of `generate`: builds the clients once, then serves SQS batches.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use shared::VideoState;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let state = VideoState::from_env().await?;
    state.config.require_provider_key()?;
    let state = &state;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(generate::handle_batch(state, event.payload).await)
    }))
    .await
}
