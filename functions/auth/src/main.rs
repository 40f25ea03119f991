//! Lambda entry point of `auth`: builds the clients once, then serves the router.

use shared::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = AppState::from_env().await?;
    lambda_http::run(auth::router(state)).await
}
