//! Lambda entry point of `videos`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::run_http(videos::VideosState::build, videos::router).await
}
