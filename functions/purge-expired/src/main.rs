//! Lambda entry point of `purge-expired`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::run_scheduled(purge_expired::PurgeExpiredState::build).await
}
