//! Calls already received (R13, R38): a signed third-party call is taken once. Its
//! signature stays valid for the timestamp's leeway, so a captured genuine call could
//! be sent again within it; the first one records `(source, id, timestamp)` with a
//! conditional write, and every copy after it finds the record. The records live in
//! the rate-limits table (short-lived counters, with its TTL) and expire after the
//! leeway.

use aws_sdk_dynamodb::Client;

use super::{Item, StoreError, s};

#[derive(Clone, Debug)]
pub struct ReplayGuard {
    client: Client,
    table: String,
}

impl ReplayGuard {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Whether this is the first time the call `id` (of `source`) signed at
    /// `timestamp` is seen; it is remembered until `expires_epoch`.
    pub async fn first_time(
        &self,
        source: &str,
        id: &str,
        timestamp: &str,
        expires_epoch: i64,
    ) -> Result<bool, StoreError> {
        let mut item = Item::from([("pk".to_owned(), s(seen_pk(source, id, timestamp)))]);
        item.extend(super::expiry(expires_epoch));
        match super::put(&self.client, &self.table, item, true).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Forgets the call again: what it was to cause did not happen (its look could
    /// not be queued), so the sender's retry must be taken, not found already seen.
    pub async fn forget(&self, source: &str, id: &str, timestamp: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(seen_pk(source, id, timestamp)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

fn seen_pk(source: &str, id: &str, timestamp: &str) -> String {
    format!("seen#{source}#{id}#{timestamp}")
}
