//! What `account` holds between invocations: built once from its own variables
//! (`ACCOUNTS_TABLE`, `SESSIONS_TABLE`, `LEDGER_TABLE`).

use std::sync::Arc;

use shared::adapters::dynamo::accounts::AccountStore;
use shared::adapters::dynamo::billing::BillingStore;
use shared::adapters::dynamo::ledger::LedgerStore;
use shared::adapters::env::{ConfigError, Env};
use shared::domain::clock::Clock;
use shared::edge::http::session::SessionCheck;
use shared::edge::wiring::Base;

pub struct Services {
    pub clock: Clock,
    pub accounts: AccountStore,
    pub session: SessionCheck,
    pub ledger: LedgerStore,
    pub billing: BillingStore,
}

#[derive(Clone)]
pub struct AccountState(Arc<Services>);

impl std::ops::Deref for AccountState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl AccountState {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Self(Arc::new(Services {
            accounts: w.accounts()?,
            session: w.session_check()?,
            ledger: w.ledger()?,
            billing: w.billing()?,
            clock: base.clock.clone(),
        })))
    }
}

impl AsRef<SessionCheck> for AccountState {
    fn as_ref(&self) -> &SessionCheck {
        &self.session
    }
}
