//! Lambda entry point of `privacy-requests`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::run_queue(privacy_requests::PrivacyRequestsState::build).await
}
