//! Lambda entry point of `sweep`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::run_scheduled(sweep::SweepState::build).await
}
