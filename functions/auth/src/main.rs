//! Lambda entry point of `auth`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::run_http(auth::AuthState::build, auth::router).await
}
