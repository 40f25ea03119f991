//! Billing: checkouts bought through the Creem emulator, Creem's signed events.

use serde_json::{Value, json};

use crate::TestStack;

impl TestStack {
    /// The checkout the billing function recorded (with Creem's id for it).
    pub async fn recorded_checkout(&self, id: &str) -> shared::adapters::dynamo::billing::Checkout {
        self.stack
            .functions
            .billing
            .billing
            .checkout(id)
            .await
            .unwrap()
            .expect("the checkout is recorded")
    }

    /// Posts one Creem event, signed as Creem signs (`creem-signature`); the status.
    pub async fn post_creem_event(&self, event: &Value) -> u16 {
        let body = event.to_string();
        let sig = shared::domain::webhook_signatures::creem_signature(
            local_stack::emulators::creem_checkout::LOCAL_CREEM_WEBHOOK_SECRET,
            body.as_bytes(),
        );
        self.send(
            self.http
                .post(self.url("/v1/webhooks/creem"))
                .header("content-type", "application/json")
                .header("creem-signature", sig)
                .body(body),
        )
        .await
        .status
        .as_u16()
    }

    /// Starts a checkout of `product` and has the Creem emulator complete it by the
    /// checkout id the API gave; returns the emulator's answer (`order_id`, the
    /// webhooks' statuses).
    pub async fn buy(&self, token: &str, product: &str) -> Value {
        let r = self
            .post(
                "/v1/billing/checkout",
                json!({ "product_id": product }),
                Some(token),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert!(
            r.body["checkout_url"]
                .as_str()
                .unwrap()
                .contains("/_local/creem/checkout/")
        );
        // The id the API gave, as `spec/api.md` documents (Creem's own works too).
        let done = self
            .post(
                &format!(
                    "/_local/creem/checkouts/{}/complete",
                    r.body["checkout_id"].as_str().unwrap()
                ),
                json!({}),
                None,
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        for s in done.body["webhook_statuses"].as_array().unwrap() {
            assert_eq!(s, 200, "{}", done.body);
        }
        done.body
    }
}
