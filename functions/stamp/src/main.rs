//! Lambda entry point of `stamp`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::run_queue(stamp::StampState::build).await
}
