//! Lambda entry point of `billing`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::run_http(billing::BillingState::build, billing::router).await
}
