//! What `checkout-webhook` holds between invocations: built once from its own
//! variables (the billing, ledger and accounts tables, the catalogue, the webhook
//! secret).

use shared::adapters::dynamo::accounts::AccountStore;
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
    pub transactions: shared::adapters::dynamo::Transactions,
    pub ledger: LedgerStore,
    /// Read only to check that an account a payment names still exists.
    pub accounts: AccountStore,
    pub catalogue: Vec<Product>,
    /// Creem's webhook secret (`whsec_…`). A secret: never logged.
    pub secret: shared::domain::secret::Secret,
    /// Creem's subscriptions API: a subscription an event names for an erased account
    /// is cancelled there before anything else (R28).
    pub creem: shared::adapters::creem::CreemSubscriptions,
}

/// What every invocation shares: the services, built once per process.
pub type CheckoutWebhookState = shared::edge::shared_state::Shared<Services>;

impl Services {
    pub fn now(&self) -> String {
        shared::domain::clock::rfc3339(self.clock.now())
    }

    /// When what is kept for the accounts (R33) may go: markers, clawbacks waiting.
    pub fn accounting_keep_until(&self) -> i64 {
        self.policy.accounting_ends(self.clock.epoch_secs())
    }
}

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            billing: w.billing()?,
            transactions: w.transactions(),
            ledger: w.ledger()?,
            accounts: w.accounts()?,
            catalogue: w.catalogue()?,
            secret: env.secret("CREEM_WEBHOOK_SECRET", 16)?,
            creem: shared::adapters::creem::CreemSubscriptions::from_env(env, base.http.clone())?,
            clock: base.clock.clone(),
            policy: base.policy.clone(),
        })
    }
}
