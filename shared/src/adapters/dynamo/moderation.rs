//! Refusals and appeals (R45, R46), in the privacy table's partition of their person
//! (`pk = account#{id}`), so that the export reads them and the erasure deletes them
//! with the rest:
//!
//! - `refusal#{id}`: the id, the kind, the rule (categories), the time and the video it
//!   is about; never the image or the prompt. TTL `refusal_retention`.
//! - `appeal#{id}`: the person's message, its state and the operator's reason. Open
//!   ones are also in the sparse `open_requests` index under `open_queue = appeal`,
//!   by due date, for the operators' list, and under `appeal_untold` once decided
//!   until the person is told. TTL `refusal_retention` from its filing.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::privacy::{OPEN_REQUESTS_INDEX, account_pk};
use super::{Item, StoreError, built, get_s, get_time, opt_s, opt_time, s, time};
use crate::domain::clock::expiry_of;
use crate::domain::ids::{AccountId, JobId};
use crate::domain::moderation::{Appeal, AppealStatus, Refusal, RefusalKind};

/// The index partition of the open appeals.
const OPEN_APPEALS: &str = "appeal";
/// And of the decided ones whose person was not told yet: the operator's command
/// finds them to tell again, so a decision is never left unsent.
const UNTOLD_APPEALS: &str = "appeal_untold";

pub const REFUSAL_PREFIX: &str = "refusal#";
pub const APPEAL_PREFIX: &str = "appeal#";

#[derive(Clone, Debug)]
pub struct ModerationStore {
    client: Client,
    table: String,
}

fn key(account_id: &str, sk: String) -> Item {
    Item::from([
        ("pk".to_owned(), s(account_pk(account_id))),
        ("sk".to_owned(), s(sk)),
    ])
}

impl ModerationStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The write that records a refusal; fails its condition if it was recorded before
    /// (the same cause: a resent submission, a repeated step).
    pub fn refusal_write(
        &self,
        r: &Refusal,
        keep: Duration,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key(&r.account_id, format!("{REFUSAL_PREFIX}{}", r.id));
        item.insert("id".into(), s(&r.id));
        item.insert("account_id".into(), s(r.account_id.as_str()));
        item.insert("kind".into(), s(r.kind.as_str()));
        item.insert(
            "categories".into(),
            AttributeValue::L(r.categories.iter().map(s).collect()),
        );
        item.insert("at".into(), time(r.at));
        item.insert("video_id".into(), s(r.video_id.as_str()));
        item.insert("credits".into(), super::n(r.credits));
        item.extend(super::expiry(expiry_of(r.at, keep)));
        self.new_item(item)
    }

    fn new_item(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    async fn get(&self, account_id: &str, sk: String) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(account_id, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?
            .item)
    }

    /// The refusal, if it is the account's (the key checks the owner).
    pub async fn refusal(&self, account_id: &str, id: &str) -> Result<Option<Refusal>, StoreError> {
        self.get(account_id, format!("{REFUSAL_PREFIX}{id}"))
            .await?
            .as_ref()
            .map(refusal_from_item)
            .transpose()
    }

    /// Files an appeal. `Ok(false)`: this refusal's appeal was filed before.
    pub async fn file(&self, a: &Appeal, keep: Duration) -> Result<bool, StoreError> {
        let mut item = key(&a.account_id, format!("{APPEAL_PREFIX}{}", a.id));
        item.insert("id".into(), s(&a.id));
        item.insert("account_id".into(), s(a.account_id.as_str()));
        item.insert("refusal_id".into(), s(&a.refusal_id));
        item.insert("message".into(), s(&a.message));
        item.insert("status".into(), s(a.status.as_str()));
        item.insert("created_at".into(), time(a.created_at));
        item.insert("due_by".into(), time(a.due_by));
        item.insert("open_queue".into(), s(OPEN_APPEALS));
        item.extend(super::expiry(expiry_of(a.created_at, keep)));
        super::held(super::put(&self.client, &self.table, item, true).await)
    }

    pub async fn appeal(&self, account_id: &str, id: &str) -> Result<Option<Appeal>, StoreError> {
        self.get(account_id, format!("{APPEAL_PREFIX}{id}"))
            .await?
            .as_ref()
            .map(appeal_from_item)
            .transpose()
    }

    /// The account's appeals, newest first.
    pub async fn appeals(&self, account_id: &str) -> Result<Vec<Appeal>, StoreError> {
        let items = super::query_all(
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", s(account_pk(account_id)))
                .expression_attribute_values(":p", s(APPEAL_PREFIX))
                .consistent_read(true),
        )
        .await?;
        let mut all = items
            .iter()
            .map(appeal_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by_key(|a| std::cmp::Reverse(a.created_at));
        Ok(all)
    }

    /// The open appeals, soonest due first (`untold`: the decided ones whose person
    /// was not told yet), from the sparse index: the cost grows with those appeals,
    /// not with the table. (The index is eventually consistent: an appeal filed or
    /// decided this second may show on the next read.)
    pub async fn appeals_in_queue(&self, untold: bool) -> Result<Vec<Appeal>, StoreError> {
        super::query_all(
            self.client
                .query()
                .table_name(&self.table)
                .index_name(OPEN_REQUESTS_INDEX)
                .key_condition_expression("open_queue = :o")
                .expression_attribute_values(
                    ":o",
                    s(if untold { UNTOLD_APPEALS } else { OPEN_APPEALS }),
                ),
        )
        .await?
        .iter()
        .map(appeal_from_item)
        .collect()
    }

    /// Records the decision of an open appeal. `Ok(false)`: it was decided before.
    pub async fn decide(
        &self,
        account_id: &str,
        id: &str,
        status: AppealStatus,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(account_id, format!("{APPEAL_PREFIX}{id}"))))
            .update_expression("SET #st = :st, reason = :r, decided_at = :at, open_queue = :untold")
            .expression_attribute_values(":untold", s(UNTOLD_APPEALS))
            .condition_expression("#st = :open")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":open", s(AppealStatus::Open.as_str()))
            .expression_attribute_values(":r", s(reason))
            .expression_attribute_values(":at", time(at))
            .send()
            .await;
        super::applied(res)
    }

    /// Notes that the person was told of the decision (it leaves the index).
    pub async fn decision_told(&self, account_id: &str, id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(account_id, format!("{APPEAL_PREFIX}{id}"))))
            .update_expression("SET told = :t REMOVE open_queue")
            .condition_expression("attribute_exists(decided_at)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Claims the sending of a refusal's notice (R46): of two attempts, one sends; a
    /// claim older than `stale_before` (epoch seconds) belonged to one that died.
    /// `Ok(false)`: sent before, or claimed by another attempt now.
    pub async fn claim_notice(
        &self,
        account_id: &str,
        refusal_id: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                account_id,
                format!("{REFUSAL_PREFIX}{refusal_id}"),
            )))
            .update_expression("SET notice_claimed_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(told) \
                 AND (attribute_not_exists(notice_claimed_at) OR notice_claimed_at < :stale)",
            )
            .expression_attribute_values(":now", super::n(now))
            .expression_attribute_values(":stale", super::n(stale_before))
            .send()
            .await;
        super::applied(res)
    }

    /// The notice's claim, given back (the send failed) or made good (it was sent).
    pub async fn notice_done(
        &self,
        account_id: &str,
        refusal_id: &str,
        sent: bool,
    ) -> Result<(), StoreError> {
        let expression = if sent {
            "SET told = :t REMOVE notice_claimed_at"
        } else {
            "REMOVE notice_claimed_at"
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                account_id,
                format!("{REFUSAL_PREFIX}{refusal_id}"),
            )))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)");
        if sent {
            update = update.expression_attribute_values(":t", AttributeValue::Bool(true));
        }
        update.send().await.map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

fn refusal_from_item(i: &Item) -> Result<Refusal, StoreError> {
    Ok(Refusal {
        id: get_s(i, "id")?,
        account_id: AccountId::new(get_s(i, "account_id")?),
        kind: RefusalKind::parse(&get_s(i, "kind")?).ok_or(StoreError::Malformed("kind"))?,
        categories: i
            .get("categories")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|c| c.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
        at: get_time(i, "at")?,
        video_id: JobId::new(get_s(i, "video_id")?),
        credits: super::get_i64(i, "credits").unwrap_or(0),
    })
}

fn appeal_from_item(i: &Item) -> Result<Appeal, StoreError> {
    Ok(Appeal {
        id: get_s(i, "id")?,
        account_id: AccountId::new(get_s(i, "account_id")?),
        refusal_id: get_s(i, "refusal_id")?,
        message: get_s(i, "message")?,
        status: AppealStatus::parse(&get_s(i, "status")?).ok_or(StoreError::Malformed("status"))?,
        reason: opt_s(i, "reason"),
        created_at: get_time(i, "created_at")?,
        due_by: get_time(i, "due_by")?,
        decided_at: opt_time(i, "decided_at")?,
    })
}
