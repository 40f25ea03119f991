//! Sessions (R05): `session#{sha256(token)}` items in the sessions table. The token
//! itself is never stored. A sparse index on `account_id` finds all of an account's
//! sessions for "sign out everywhere", deletion and suspension.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::{Item, StoreError, built, get_i64, get_s, n, s};

pub const BY_ACCOUNT_INDEX: &str = "by_account";

#[derive(Clone, Debug)]
pub struct SessionStore {
    client: Client,
    table: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub account_id: String,
    /// Epoch seconds.
    pub expires_at: i64,
    /// The account's session epoch when the session was made (R05).
    pub epoch: i64,
    /// When it was made (epoch seconds; 0 when unknown).
    pub created_at: i64,
}

fn session_pk(token_hash: &str) -> String {
    format!("session#{token_hash}")
}

impl SessionStore {
    /// The data class of an expiring item, from its keys, for the purge's report.
    pub fn expiring_class(item: &Item) -> &'static str {
        match super::opt_s(item, "pk") {
            Some(pk) if pk.starts_with("code#") => "sign-in and confirmation codes",
            _ => "sessions",
        }
    }

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

    /// The write that creates a session, to be part of the sign-in transaction.
    pub fn create_write(
        &self,
        session: &Session,
        created_at: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(session_pk(&session.token_hash)));
        item.insert("account_id".into(), s(&session.account_id));
        item.insert("created_at".into(), s(created_at));
        item.insert("expires_at".into(), n(session.expires_at));
        item.insert("epoch".into(), n(session.epoch));
        // DynamoDB TTL removes it eventually; reads decide expiry themselves.
        item.extend(super::expiry(session.expires_at));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    /// The live session for a token hash, or `None` if unknown or expired at `now`.
    pub async fn get_live(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let Some(item) =
            super::get_by_pk(&self.client, &self.table, session_pk(token_hash)).await?
        else {
            return Ok(None);
        };
        let session = Session {
            token_hash: token_hash.to_owned(),
            account_id: get_s(&item, "account_id")?,
            expires_at: get_i64(&item, "expires_at")?,
            epoch: get_i64(&item, "epoch").unwrap_or(0),
            created_at: get_s(&item, "created_at")
                .ok()
                .and_then(|at| crate::domain::clock::epoch_of(&at))
                .unwrap_or(0),
        };
        Ok((session.expires_at > now).then_some(session))
    }

    /// The write that carries a session from the account's epoch `from` to `to`, in
    /// the transaction that moves the account's epoch on: every other session ends,
    /// this one goes on.
    pub fn carry_write(
        &self,
        token_hash: &str,
        from: i64,
        to: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .key("pk", s(session_pk(token_hash)))
            .update_expression("SET epoch = :to")
            .condition_expression("attribute_exists(pk) AND epoch = :from")
            .expression_attribute_values(":from", n(from))
            .expression_attribute_values(":to", n(to));
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    pub async fn delete(&self, token_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(session_pk(token_hash)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Deletes every session item of an account: clean-up after the account's epoch
    /// moved on (which is what ends them). Reads the account's index partition (cost
    /// grows with that account's sessions only; an eventually consistent index may miss
    /// a new one, which the epoch has ended anyway) and deletes in batches of 25.
    pub async fn delete_all(&self, account_id: &str) -> Result<usize, StoreError> {
        let keys: Vec<_> = super::query_partition(
            &self.client,
            &self.table,
            BY_ACCOUNT_INDEX,
            "account_id",
            account_id,
            false,
        )
        .await?
        .into_iter()
        .filter_map(|mut i| i.remove("pk"))
        .map(|pk| Item::from([("pk".to_owned(), pk)]))
        .collect();
        let ended = keys.len();
        // Unprocessed items are sent again: a sign-out must not leave a session alive.
        super::delete_batch(&self.client, &self.table, keys).await?;
        Ok(ended)
    }
}
