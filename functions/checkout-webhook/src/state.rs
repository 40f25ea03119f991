//! What `checkout-webhook` holds between invocations: built once from its own
//! variables (the billing and ledger tables, the catalogue, the webhook secret).

use std::sync::Arc;

use shared::adapters::dynamo::billing::BillingStore;
use shared::adapters::dynamo::ledger::LedgerStore;
use shared::adapters::env::{ConfigError, Env};
use shared::domain::billing::Product;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::wiring::Base;

pub struct Services {
    pub clock: Clock,
    pub policy: Policy,
    pub billing: BillingStore,
    pub ledger: LedgerStore,
    pub catalogue: Vec<Product>,
    /// Creem's webhook secret (`whsec_…`). A secret: never logged.
    pub secret: String,
}

#[derive(Clone)]
pub struct WebhookState(Arc<Services>);

impl std::ops::Deref for WebhookState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl WebhookState {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Self(Arc::new(Services {
            billing: w.billing()?,
            ledger: w.ledger()?,
            catalogue: w.catalogue()?,
            secret: env.secret("CREEM_WEBHOOK_SECRET", 16)?,
            clock: base.clock.clone(),
            policy: base.policy.clone(),
        })))
    }
}
