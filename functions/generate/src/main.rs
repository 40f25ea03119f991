//! Lambda entry point of `generate`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::run_queue(generate::GenerateState::build).await
}
