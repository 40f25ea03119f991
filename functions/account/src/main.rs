//! Lambda entry point of `account`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::run_http(account::AccountState::build, account::router).await
}
