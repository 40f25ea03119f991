//! Lambda entry point of `provider-webhook`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::run_http(
        provider_webhook::ProviderWebhookState::build,
        provider_webhook::router,
    )
    .await
}
