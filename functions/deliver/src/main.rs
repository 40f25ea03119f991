//! Lambda entry point of `deliver`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::run_queue(deliver::DeliverState::build).await
}
