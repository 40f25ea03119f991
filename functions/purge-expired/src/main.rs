//! Lambda entry point of `purge-expired`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::run_scheduled(purge_expired::PurgeState::build).await
}
