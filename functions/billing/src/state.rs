//! What `billing` holds between invocations: built once from its own variables (the
//! sessions, accounts, ledger and billing tables, the catalogue, Creem's API).

use shared::adapters::dynamo::billing::BillingStore;
use shared::adapters::dynamo::ledger::LedgerStore;
use shared::adapters::env::{ConfigError, Env};
use shared::domain::billing::Product;
use shared::domain::clock::Clock;
use shared::edge::http::session::SessionCheck;
use shared::edge::wiring::Base;

use crate::creem::CreemCheckouts;

pub struct Services {
    pub clock: Clock,
    pub session: SessionCheck,
    pub ledger: LedgerStore,
    pub billing: BillingStore,
    pub catalogue: Vec<Product>,
    pub creem: CreemCheckouts,
    /// Creem's subscriptions and customers API (R47).
    pub subscriptions: shared::adapters::creem::CreemSubscriptions,
}

/// What every invocation shares: the services, built once per process.
pub type BillingState = shared::edge::shared_state::Shared<Services>;

impl shared::edge::shared_state::Wire for Services {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Services {
            session: w.session_check()?,
            ledger: w.ledger()?,
            billing: w.billing()?,
            catalogue: w.catalogue()?,
            creem: CreemCheckouts::from_env(env, base.http.clone())?,
            subscriptions: shared::adapters::creem::CreemSubscriptions::from_env(
                env,
                base.http.clone(),
            )?,
            clock: base.clock.clone(),
        })
    }
}

impl AsRef<SessionCheck> for Services {
    fn as_ref(&self) -> &SessionCheck {
        &self.session
    }
}
