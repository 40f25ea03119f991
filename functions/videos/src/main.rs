//! Lambda entry point of `videos`: builds the clients once, then serves the router.

use shared::VideoState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = VideoState::from_env().await?;
    state.config.require_moderation_key()?;
    lambda_http::run(videos::router(state)).await
}
