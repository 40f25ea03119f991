//! Lambda entry point of `checkout-webhook`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::run_http(
        checkout_webhook::CheckoutWebhookState::build,
        checkout_webhook::router,
    )
    .await
}
