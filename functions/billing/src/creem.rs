//! Creem's checkout API (R08): `POST {CREEM_API_URL}/v1/checkouts` with `x-api-key`.
//! Creem gets the product, our checkout id as `request_id`, and the account id in
//! `metadata` — nothing else about the person (they type their details at Creem).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use shared::adapters::env::{ConfigError, Env};
use shared::adapters::outbound::LazyClient;

pub struct CreemCheckouts {
    http: LazyClient,
    url: String,
    key: shared::domain::secret::Secret,
    success_url: String,
}

#[derive(Debug, Deserialize)]
pub struct CreatedCheckout {
    pub id: String,
    pub checkout_url: String,
}

#[derive(Debug, thiserror::Error)]
#[error("creem checkout: {0}")]
pub struct CheckoutUnavailable(pub String);

impl CreemCheckouts {
    /// `CREEM_API_URL`, `CREEM_API_KEY` (a secret), `CHECKOUT_SUCCESS_URL` (where Creem
    /// sends the customer back; it grants nothing, only the webhook does).
    pub fn from_env(env: &Env, http: LazyClient) -> Result<Self, ConfigError> {
        Ok(Self {
            http,
            url: format!("{}/v1/checkouts", env.url("CREEM_API_URL")?),
            key: env.secret("CREEM_API_KEY", 8)?,
            success_url: env.url("CHECKOUT_SUCCESS_URL")?,
        })
    }

    pub async fn create(
        &self,
        creem_product_id: &str,
        checkout_id: &str,
        account_id: &str,
    ) -> Result<CreatedCheckout, CheckoutUnavailable> {
        let res = self
            .http
            .get()
            .post(&self.url)
            .header("x-api-key", self.key.expose())
            .timeout(Duration::from_secs(8))
            .json(&checkout_body(
                creem_product_id,
                checkout_id,
                account_id,
                &self.success_url,
            ))
            .send()
            .await
            .map_err(|e| CheckoutUnavailable(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(CheckoutUnavailable(format!("answered {}", res.status())));
        }
        res.json()
            .await
            .map_err(|_| CheckoutUnavailable("answer is not a checkout".into()))
    }
}

/// What Creem is sent to start a checkout (R08): the product, one unit, our checkout
/// id, where to come back, and the account id to credit; nothing else about the person.
fn checkout_body(
    creem_product_id: &str,
    checkout_id: &str,
    account_id: &str,
    success_url: &str,
) -> serde_json::Value {
    json!({
        "product_id": creem_product_id,
        "request_id": checkout_id,
        "units": 1,
        "success_url": success_url,
        "metadata": { "account_id": account_id, "checkout_id": checkout_id },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r08_creem_gets_the_product_our_ids_and_nothing_about_the_person() {
        let body = checkout_body(
            "prod_creem_pack",
            "chk_1",
            "acc_1",
            "https://www.example.com/billing?done=1",
        );
        assert_eq!(
            body,
            json!({
                "product_id": "prod_creem_pack",
                "request_id": "chk_1",
                "units": 1,
                "success_url": "https://www.example.com/billing?done=1",
                "metadata": { "account_id": "acc_1", "checkout_id": "chk_1" },
            })
        );
    }
}
