//! DynamoDB access, one module per data class. Conditional writes and transactions
//! give the exactly-once effects; reads treat an item past its expiry as gone, since
//! DynamoDB's TTL deletes lazily (and the local endpoint never does).

pub mod accounts;
pub mod audit;
pub mod billing;
pub mod circuits;
pub mod codes;
pub mod ledger;
pub mod moderation;
pub mod privacy;
pub mod rate_limits;
pub mod replays;
pub mod sessions;
pub mod table;
pub mod tx;
pub mod videos;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::domain::clock::{parse_time, rfc3339, rfc3339_millis};

pub use tx::{CancelReason, Cancellation, Transactions, Tx, Write};

pub type Item = HashMap<String, AttributeValue>;

/// The sparse index every table with a TTL has: `ttl_day` (the UTC day of `ttl`) and
/// `ttl`. DynamoDB's TTL deletes days late; `purge-expired` reads through this index
/// what it left, so its cost grows with what expired, not with the table.
pub const EXPIRED_INDEX: &str = "expired_by_day";

/// The attributes of an item that expires at `ttl` (epoch seconds): the TTL itself and
/// its day, which puts the item in [`EXPIRED_INDEX`].
pub fn expiry(ttl: i64) -> [(String, AttributeValue); 2] {
    [
        ("ttl".to_owned(), n(ttl)),
        ("ttl_day".to_owned(), s(crate::domain::clock::utc_day(ttl))),
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition of a write did not hold (the thing already exists, or changed).
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled: each write's label and, where it was a cause, why.
    #[error("transaction cancelled: {0:?}")]
    Cancelled(Cancellation),
    /// DynamoDB failed or could not be reached; carries the error code only, which
    /// never contains item values.
    #[error("dynamodb: {0}")]
    Backend(String),
    /// An item is missing an attribute the code relies on.
    #[error("malformed item: {0}")]
    Malformed(&'static str),
}

impl StoreError {
    pub fn from_sdk<E: ProvideErrorMetadata + std::error::Error, R>(err: SdkError<E, R>) -> Self {
        let code = err
            .as_service_error()
            .and_then(|e| e.code())
            .map(str::to_owned);
        match code.as_deref() {
            Some("ConditionalCheckFailedException") => Self::ConditionFailed,
            Some(c) => Self::Backend(c.to_owned()),
            None => Self::Backend(sdk_failure_kind(&err).to_owned()),
        }
    }

    /// Whether DynamoDB cancelled a transaction only because another one was touching
    /// the same item at the same time: trying again is the documented answer.
    pub fn is_conflict(&self) -> bool {
        match self {
            Self::Cancelled(c) => c.only_conflicts(),
            Self::Backend(code) => code == "TransactionConflictException",
            _ => false,
        }
    }

    /// Whether the write failed only because a condition did not hold: a final answer
    /// (done already, or moved on), never one to retry. A transaction that a condition
    /// and throttling cancelled together is not one.
    pub fn is_condition_failure(&self) -> bool {
        match self {
            Self::ConditionFailed => true,
            Self::Cancelled(c) => c.only_conditions(),
            _ => false,
        }
    }

    /// Whether the write under `label` of a cancelled transaction failed its condition
    /// (and nothing but conditions cancelled it).
    pub fn failed(&self, label: &str) -> bool {
        matches!(self, Self::Cancelled(c) if c.only_conditions() && c.failed(label))
    }
}

/// What kind of failure an SDK call met, when the service answered no code.
pub fn sdk_failure_kind<E, R>(err: &SdkError<E, R>) -> &'static str {
    match err {
        SdkError::ConstructionFailure(_) => "construction_failure",
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch_failure",
        SdkError::ResponseError(_) => "response_error",
        SdkError::ServiceError(_) => "service_error",
        _ => "unknown",
    }
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn get_s(item: &Item, name: &'static str) -> Result<String, StoreError> {
    opt_s(item, name).ok_or(StoreError::Malformed(name))
}

pub fn opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// A stored time (RFC 3339): missing or unreadable is a malformed item, never "now".
pub fn get_time(item: &Item, name: &'static str) -> Result<DateTime<Utc>, StoreError> {
    opt_time(item, name)?.ok_or(StoreError::Malformed(name))
}

/// An optional stored time: absent is `None`; present but unreadable is an error.
pub fn opt_time(item: &Item, name: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
    opt_s(item, name)
        .map(|raw| parse_time(&raw).ok_or(StoreError::Malformed(name)))
        .transpose()
}

/// A time as stored: RFC 3339 in UTC, to the second.
pub fn time(t: DateTime<Utc>) -> AttributeValue {
    s(rfc3339(t))
}

/// A time that also orders items (a sort key's value): to the millisecond.
pub fn time_millis(t: DateTime<Utc>) -> AttributeValue {
    s(rfc3339_millis(t))
}

pub fn get_i64(item: &Item, name: &'static str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or(StoreError::Malformed(name))
}

/// Whether a conditional write took effect: `Ok(false)` when its condition did not
/// hold (it was done already, or the item moved on), an error for anything else.
pub fn applied<O, E: ProvideErrorMetadata + std::error::Error, R>(
    res: Result<O, SdkError<E, R>>,
) -> Result<bool, StoreError> {
    held(res.map_err(StoreError::from_sdk))
}

/// [`applied`], for a write whose error is already a [`StoreError`].
pub fn held<T>(written: Result<T, StoreError>) -> Result<bool, StoreError> {
    match written {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e),
    }
}

/// One item by its key, read strongly consistent (a write just made is seen).
pub async fn get_by_pk(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: String,
) -> Result<Option<Item>, StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(out.item)
}

/// Writes one item; with `only_if_new`, fails with [`StoreError::ConditionFailed`] if
/// an item with its key exists.
pub async fn put(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
    only_if_new: bool,
) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(only_if_new.then(|| "attribute_not_exists(pk)".to_owned()))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

/// Every item of one partition of an index (`attr = value`), page by page. The cost
/// grows with that partition (one person's items), not with the table.
pub async fn query_partition(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    index: &str,
    attr: &str,
    value: &str,
    newest_first: bool,
) -> Result<Vec<Item>, StoreError> {
    query_all(
        client
            .query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attr)
            .expression_attribute_values(":v", s(value))
            .scan_index_forward(!newest_first),
    )
    .await
}

/// Deletes the items of these keys (each the whole key: `pk`, and `sk` where the
/// table has one) with `BatchWriteItem`, 25 to a request; what DynamoDB leaves
/// unprocessed is sent again, with a pause, until nothing is left (or it fails: a
/// deletion must not be half done silently). Deleting what is gone succeeds.
pub async fn delete_batch(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
    for chunk in keys.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|key| {
                built(DeleteRequest::builder().set_key(Some(key.clone())).build())
                    .map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<_, _>>()?;
        for attempt in 0..8u64 {
            let out = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            requests = out
                .unprocessed_items
                .and_then(|mut m| m.remove(table))
                .unwrap_or_default();
            if requests.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(4))).await;
        }
        if !requests.is_empty() {
            return Err(StoreError::Backend("unprocessed_items".into()));
        }
    }
    Ok(())
}

/// Every item a query finds, page after page (its cost grows with what it finds).
pub async fn query_all(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    query
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(StoreError::from_sdk)
}

/// One page of an account's items in its `by_account` index (`account_id`,
/// `created_at`), newest first, after the item `(pk, created_at)`; and the key of the
/// last one when more follow. The cost grows with the page, not with the account.
pub async fn account_page(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    account_id: &str,
    after: Option<(String, String)>,
    limit: i32,
) -> Result<(Vec<Item>, Option<(String, String)>), StoreError> {
    let part = IndexPart {
        index: "by_account",
        keys: vec![("account_id", account_id.to_owned())],
    };
    index_page(client, table, &part, after, limit).await
}

/// One partition of an index sorted by `created_at`: an account's items, or the part
/// of them a filter names.
pub struct IndexPart {
    pub index: &'static str,
    /// The attributes of the index's partition key (one, or several for a
    /// multi-attribute key), each with its value.
    pub keys: Vec<(&'static str, String)>,
}

/// A page of `part`, newest first, after the item (`pk`, `created_at`) that ended the
/// previous page; and the key that ends this one, unless it is the last.
pub async fn index_page(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    part: &IndexPart,
    after: Option<(String, String)>,
    limit: i32,
) -> Result<(Vec<Item>, Option<(String, String)>), StoreError> {
    let start = after.map(|(pk, created_at)| {
        let mut key = Item::from([
            ("pk".to_owned(), s(pk)),
            ("created_at".to_owned(), s(created_at)),
        ]);
        for (name, value) in &part.keys {
            key.insert((*name).to_owned(), s(value));
        }
        key
    });
    let mut query = client.query().table_name(table).index_name(part.index);
    let mut condition = Vec::new();
    for (i, (name, value)) in part.keys.iter().enumerate() {
        condition.push(format!("#k{i} = :k{i}"));
        query = query
            .expression_attribute_names(format!("#k{i}"), *name)
            .expression_attribute_values(format!(":k{i}"), s(value));
    }
    let out = query
        .key_condition_expression(condition.join(" AND "))
        .scan_index_forward(false)
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let next = match &out.last_evaluated_key {
        Some(k) => Some((get_s(k, "pk")?, get_s(k, "created_at")?)),
        None => None,
    };
    Ok((out.items.unwrap_or_default(), next))
}

/// The transaction write that puts `item`, only if no item has its key.
pub fn put_new_write(
    table: &str,
    item: Item,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build();
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .put(built(put)?)
        .build())
}

/// Maps a builder's missing-field error (a bug, not bad input) into the store's error.
pub fn built<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    r.map_err(|_| StoreError::Malformed("builder"))
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn a_stored_time_that_does_not_parse_makes_the_item_malformed_never_now() {
        let item = Item::from([
            ("good".to_owned(), s("2026-12-07T10:00:00Z")),
            ("bad".to_owned(), s("7 December")),
            ("number".to_owned(), n(1_800_000_000)),
        ]);
        let malformed = |r: Result<_, StoreError>| match r {
            Err(StoreError::Malformed(name)) => Some(name),
            _ => None,
        };
        assert_eq!(
            get_time(&item, "good").ok().map(rfc3339).as_deref(),
            Some("2026-12-07T10:00:00Z")
        );
        assert_eq!(malformed(get_time(&item, "bad")), Some("bad"));
        assert_eq!(malformed(get_time(&item, "number")), Some("number"));
        assert_eq!(malformed(get_time(&item, "absent")), Some("absent"));
        assert!(matches!(opt_time(&item, "absent"), Ok(None)));
        assert!(matches!(
            opt_time(&item, "bad"),
            Err(StoreError::Malformed("bad"))
        ));
    }
}
