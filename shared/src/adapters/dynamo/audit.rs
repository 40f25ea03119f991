//! The audit log (R20): every suspension, reinstatement, termination and removal of
//! content, by whom and why. Kept for the security-event retention (R22).

use aws_sdk_dynamodb::Client;

use super::{Item, StoreError, s};

#[derive(Clone, Debug)]
pub struct AuditStore {
    client: Client,
    table: String,
}

/// One recorded action.
pub struct AuditEvent<'a> {
    /// `system`, or the operator who acted.
    pub actor: &'a str,
    pub action: &'a str,
    pub account_id: &'a str,
    pub reason: &'a str,
    pub at: &'a str,
    /// Epoch seconds after which the record may go.
    pub expires_epoch: i64,
}

impl AuditStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The whole table, for the walks over every data class (export, erasure).
    pub fn table(&self) -> super::table::Table {
        super::table::Table::new(self.client.clone(), &self.table)
    }

    pub async fn record(&self, e: &AuditEvent<'_>) -> Result<(), StoreError> {
        let id = format!("audit_{}", uuid::Uuid::new_v4().simple());
        let mut item = Item::from([
            ("pk".to_owned(), s(format!("audit#{id}"))),
            ("id".to_owned(), s(&id)),
            ("actor".to_owned(), s(e.actor)),
            ("action".to_owned(), s(e.action)),
            ("account_id".to_owned(), s(e.account_id)),
            ("reason".to_owned(), s(e.reason)),
            ("at".to_owned(), s(e.at)),
        ]);
        item.extend(super::expiry(e.expires_epoch));
        super::put(&self.client, &self.table, item, false).await
    }
}
