//! The credit ledger (R11): `balance#{account}` items and append-only
//! `entry#{kind}:{cause}` items. Every change of a balance is written in the same
//! transaction as its entry, and the entry must be new, so each cause takes effect
//! once; a debit holds only while the balance covers it, whatever the concurrency.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use super::{Item, StoreError, built, get_i64, get_s, n, s};
use crate::domain::ledger::{EntryKind, entry_id};

pub const BY_ACCOUNT_INDEX: &str = "by_account";

#[derive(Clone, Debug)]
pub struct LedgerStore {
    client: Client,
    table: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub id: String,
    pub kind: String,
    /// Signed: what the entry did to the balance.
    pub amount: i64,
    pub created_at: String,
    /// The cause: a job id, an order id, `signup`.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// The key of an account's balance item.
pub fn balance_pk(account_id: &str) -> String {
    format!("balance#{account_id}")
}

impl LedgerStore {
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

    /// The writes of one ledger effect: the entry (must be new) and the balance change
    /// (a debit only if the balance covers it).
    pub fn effect_writes(
        &self,
        account_id: &str,
        kind: EntryKind,
        amount: i64,
        cause: &str,
        at: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let covering = (kind == EntryKind::Debit).then_some(amount.abs());
        Ok(vec![
            self.entry_write(account_id, kind, amount, cause, at)?,
            self.balance_write(account_id, kind.signed(amount), covering)?,
        ])
    }

    /// The entry of one cause; fails its condition if that cause took effect already.
    pub fn entry_write(
        &self,
        account_id: &str,
        kind: EntryKind,
        amount: i64,
        cause: &str,
        at: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut entry = Item::new();
        entry.insert("pk".into(), s(format!("entry#{}", entry_id(kind, cause))));
        entry.insert("id".into(), s(entry_id(kind, cause)));
        entry.insert("account_id".into(), s(account_id));
        entry.insert("kind".into(), s(kind.as_str()));
        entry.insert("amount".into(), n(kind.signed(amount)));
        entry.insert("created_at".into(), s(at));
        entry.insert("ref".into(), s(cause));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(entry))
            .condition_expression("attribute_not_exists(pk)");
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    /// The change of an account's balance by `delta` (the sum of the entries written
    /// with it); with `covering`, only while the balance is at least that.
    pub fn balance_write(
        &self,
        account_id: &str,
        delta: i64,
        covering: Option<i64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(balance_pk(account_id)))
            .update_expression(
                "SET credits = if_not_exists(credits, :zero) + :delta, #owner = :owner",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":owner", s(account_id));
        if let Some(cost) = covering {
            // Spending never takes the balance below zero.
            update = update
                .condition_expression("credits >= :cost")
                .expression_attribute_values(":cost", n(cost));
        }
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    pub async fn balance(&self, account_id: &str) -> Result<i64, StoreError> {
        super::get_by_pk(&self.client, &self.table, balance_pk(account_id))
            .await?
            .map(|i| get_i64(&i, "credits"))
            .unwrap_or(Ok(0))
    }

    /// All the account's entries, newest first (the export, the tests).
    pub async fn entries(&self, account_id: &str) -> Result<Vec<Entry>, StoreError> {
        super::query_partition(
            &self.client,
            &self.table,
            BY_ACCOUNT_INDEX,
            "account_id",
            account_id,
            true,
        )
        .await?
        .iter()
        .map(entry_from_item)
        .collect()
    }

    /// One page of the account's entries, newest first, after the entry `after`
    /// (`(id, created_at)` of the last one shown); and where the next page starts.
    pub async fn page(
        &self,
        account_id: &str,
        after: Option<(&str, &str)>,
        limit: i32,
    ) -> Result<(Vec<Entry>, Option<(String, String)>), StoreError> {
        let after = after.map(|(id, at)| (format!("entry#{id}"), at.to_owned()));
        let (items, next) =
            super::account_page(&self.client, &self.table, account_id, after, limit).await?;
        let entries = items
            .iter()
            .map(entry_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = next.map(|(pk, at)| (pk.trim_start_matches("entry#").to_owned(), at));
        Ok((entries, next))
    }
}

fn entry_from_item(item: &Item) -> Result<Entry, StoreError> {
    Ok(Entry {
        id: get_s(item, "id")?,
        kind: get_s(item, "kind")?,
        amount: get_i64(item, "amount")?,
        created_at: get_s(item, "created_at")?,
        reference: get_s(item, "ref")?,
    })
}
