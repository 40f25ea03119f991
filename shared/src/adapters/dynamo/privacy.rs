//! The privacy table: what the person's rights and choices produce, one partition per
//! account (`pk = account#{id}`), sorted by kind (`sk`):
//!
//! - `consent#{at}#{n}`: the history of consent choices (R23, R34);
//! - `request#{id}`: rights requests with their state and trail (R26, R28, R30);
//! - `support#{id}`: support messages (R31), TTL `support_retention`;
//! - `usage#{at}#{n}`: usage data of each signed-in request (R22), TTL `usage_retention`;
//!   repeated polls of one video within a minute share one item,
//!   `usage#{minute}#poll#{video}`, which counts them (`requests`) with the first and
//!   last time;
//! - `security#{at}#{n}`: security events (R22), TTL `security_event_retention`.
//!
//! One partition per person makes the export one query and the erasure one query plus
//! deletes, whatever the table holds. Open requests are also in the sparse
//! `open_requests` index (`open_queue`, `due_by`), for the operators' due list. A
//! completed erasure's record moves to `erased#{pseudonym}`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::clock::{expiry_of, rfc3339};
use crate::domain::ids::AccountId;

use super::{Item, StoreError, built, get_i64, get_s, get_time, n, opt_s, opt_time, s, time};
use crate::domain::inventory::ClassId;
pub use crate::domain::privacy::RightsRequest;
use crate::domain::privacy::{RequestKind, RequestStatus, TrailStep};

pub const OPEN_REQUESTS_INDEX: &str = "open_requests";
const OPEN: &str = "open";
/// The partition of [`OPEN_REQUESTS_INDEX`] that holds the requests that failed: the
/// operators see them with the open ones, and nothing requeues them.
const FAILED: &str = "failed";

#[derive(Clone, Debug)]
pub struct PrivacyStore {
    client: Client,
    table: String,
}

/// Usage data of one signed-in request (R22).
#[derive(Debug, Clone, Default)]
pub struct Usage<'a> {
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
    pub method: &'a str,
    pub route: &'a str,
    pub referrer: Option<&'a str>,
    pub at: &'a str,
    /// R29: restricted accounts are excluded from analytics.
    pub restricted: bool,
    /// R23: whether analytics may use it.
    pub analytics: bool,
    /// A poll of one resource (`GET /v1/videos/{id}`: the video's id): the polls of a
    /// minute are counted in one item instead of one item each.
    pub polled: Option<&'a str>,
}

pub fn account_pk(account_id: &str) -> String {
    format!("account#{account_id}")
}

/// The sort key of a rights request in its account's partition.
pub fn request_sk(id: &str) -> String {
    format!("request#{id}")
}

fn erased_pk(pseudonym: &str) -> String {
    format!("erased#{pseudonym}")
}

/// A sort key that orders by time and never collides.
fn timed(kind: &str, at: &str) -> String {
    format!(
        "{kind}#{at}#{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

impl PrivacyStore {
    /// The data class of an expiring item, from its keys, for the purge's report.
    pub fn expiring_class(item: &Item) -> &'static str {
        let sk = opt_s(item, "sk").unwrap_or_default();
        match sk.split('#').next().unwrap_or_default() {
            "usage" => "usage data",
            "security" => "security events",
            "support" => "support messages",
            "refusal" => "refusals",
            "appeal" => "appeals",
            _ => "privacy records",
        }
    }

    /// The sort-key prefix of a class kept in an account's partition of this table.
    pub fn prefix_of(class: ClassId) -> Option<&'static str> {
        Some(match class {
            ClassId::Consents => "consent#",
            ClassId::RightsRequests => "request#",
            ClassId::SupportMessages => "support#",
            ClassId::UsageData => "usage#",
            ClassId::SecurityEvents => "security#",
            ClassId::Refusals => super::moderation::REFUSAL_PREFIX,
            ClassId::Appeals => super::moderation::APPEAL_PREFIX,
            _ => return None,
        })
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(pk: String, sk: String) -> Item {
        Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    fn put_write(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    /// R23: one entry of the consent history, written with the profile's change.
    pub fn consent_write(
        &self,
        account_id: &str,
        consents: crate::domain::privacy::Consents,
        policy_version: &str,
        source: &str,
        at: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Self::key(account_pk(account_id), timed("consent", at));
        item.insert("analytics".into(), AttributeValue::Bool(consents.analytics));
        item.insert(
            "marketing_cookies".into(),
            AttributeValue::Bool(consents.marketing_cookies),
        );
        item.insert(
            "marketing_email".into(),
            AttributeValue::Bool(consents.marketing_email),
        );
        item.insert("policy_version".into(), s(policy_version));
        item.insert("source".into(), s(source));
        item.insert("at".into(), s(at));
        self.put_write(item)
    }

    /// R22: a security event at `at`, kept `keep` from then, as a transaction write
    /// (with the change it records).
    pub fn security_write(
        &self,
        account_id: &str,
        event: &str,
        at: DateTime<Utc>,
        keep: Duration,
    ) -> Result<TransactWriteItem, StoreError> {
        self.put_write(security_item(account_id, event, at, keep))
    }

    /// R22: a security event on its own.
    pub async fn record_security(
        &self,
        account_id: &str,
        event: &str,
        at: DateTime<Utc>,
        keep: Duration,
    ) -> Result<(), StoreError> {
        super::put(
            &self.client,
            &self.table,
            security_item(account_id, event, at, keep),
            false,
        )
        .await
    }

    /// R22: the usage data of one request, kept until `expires_epoch`.
    pub async fn record_usage(
        &self,
        account_id: &str,
        u: &Usage<'_>,
        expires_epoch: i64,
    ) -> Result<(), StoreError> {
        if let Some(resource) = u.polled {
            return self
                .count_poll(account_id, resource, u, expires_epoch)
                .await;
        }
        let mut item = Self::key(account_pk(account_id), timed("usage", u.at));
        item.insert("ip".into(), s(u.ip));
        item.insert("method".into(), s(u.method));
        item.insert("route".into(), s(u.route));
        item.insert("at".into(), s(u.at));
        item.insert("restricted".into(), AttributeValue::Bool(u.restricted));
        item.insert("analytics".into(), AttributeValue::Bool(u.analytics));
        item.extend(super::expiry(expires_epoch));
        for (name, value) in [("user_agent", u.user_agent), ("referrer", u.referrer)] {
            if let Some(v) = value {
                item.insert(name.into(), s(v));
            }
        }
        super::put(&self.client, &self.table, item, false).await
    }

    /// R22 for polls: one item per resource and minute, `requests` counting the polls,
    /// `at` the first and `last_at` the latest; the rest as of the latest. One write
    /// per poll still, but not one item (a page polled every 2 s for a minute is one
    /// row, not 30).
    async fn count_poll(
        &self,
        account_id: &str,
        resource: &str,
        u: &Usage<'_>,
        expires_epoch: i64,
    ) -> Result<(), StoreError> {
        let minute = u.at.get(..16).unwrap_or(u.at);
        let sk = format!("usage#{minute}:00Z#poll#{resource}");
        // Set as of the latest poll; `at` keeps the first, `requests` counts them.
        let mut latest: Vec<(&str, AttributeValue)> = vec![
            ("ip", s(u.ip)),
            ("method", s(u.method)),
            ("route", s(u.route)),
            ("last_at", s(u.at)),
            ("restricted", AttributeValue::Bool(u.restricted)),
            ("analytics", AttributeValue::Bool(u.analytics)),
        ];
        let expiry = super::expiry(expires_epoch);
        latest.extend(expiry.iter().map(|(k, v)| (k.as_str(), v.clone())));
        latest.extend(
            [("user_agent", u.user_agent), ("referrer", u.referrer)]
                .into_iter()
                .filter_map(|(k, v)| Some((k, s(v?)))),
        );
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(account_pk(account_id), sk)))
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", s(u.at))
            .expression_attribute_names("#requests", "requests")
            .expression_attribute_values(":one", n(1));
        let mut sets = vec!["#at = if_not_exists(#at, :at)".to_owned()];
        for (i, (name, value)) in latest.into_iter().enumerate() {
            sets.push(format!("#a{i} = :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        update
            .update_expression(format!("SET {} ADD #requests :one", sets.join(", ")))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// R31: a support message, kept until `expires_epoch`.
    pub async fn put_support(
        &self,
        account_id: &str,
        id: &str,
        subject: &str,
        message: &str,
        at: &str,
        expires_epoch: i64,
    ) -> Result<(), StoreError> {
        let mut item = Self::key(account_pk(account_id), format!("support#{id}"));
        item.insert("id".into(), s(id));
        item.insert("subject".into(), s(subject));
        item.insert("message".into(), s(message));
        item.insert("at".into(), s(at));
        item.extend(super::expiry(expires_epoch));
        super::put(&self.client, &self.table, item, false).await
    }

    /// R30: the write that records a new request.
    pub fn request_write(&self, r: &RightsRequest) -> Result<TransactWriteItem, StoreError> {
        self.put_write(request_item(account_pk(&r.account_id), r)?)
    }

    /// The request, if it is the account's (the key itself checks the owner, R36).
    pub async fn request(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<RightsRequest>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(account_pk(account_id), request_sk(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item.as_ref().map(request_from_item).transpose()
    }

    /// Every request of the account, newest first.
    pub async fn requests(&self, account_id: &str) -> Result<Vec<RightsRequest>, StoreError> {
        let mut all = self
            .items(account_id, "request#")
            .await?
            .iter()
            .map(request_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        Ok(all)
    }

    /// Moves an open request to `status` with a step of its trail. `Ok(false)` if it
    /// had already ended (a duplicate message): nothing is changed then.
    pub async fn advance(
        &self,
        account_id: &str,
        id: &str,
        status: RequestStatus,
        at: DateTime<Utc>,
        export_key: Option<&str>,
    ) -> Result<bool, StoreError> {
        let step = serde_json::to_string(&TrailStep { status, at })
            .map_err(|_| StoreError::Malformed("trail"))?;
        let mut set = "SET #st = :st, trail = list_append(trail, :step)".to_owned();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(account_pk(account_id), request_sk(id))))
            .condition_expression("#st IN (:pending, :progress)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":step", AttributeValue::L(vec![s(step)]))
            .expression_attribute_values(":pending", s(RequestStatus::Pending.as_str()))
            .expression_attribute_values(":progress", s(RequestStatus::InProgress.as_str()));
        if let Some(key) = export_key {
            set.push_str(", export_key = :key");
            req = req.expression_attribute_values(":key", s(key));
        }
        if !status.is_open() {
            // Out of the operators' due list once it ends.
            set.push_str(", completed_at = :at REMOVE open_queue");
            req = req.expression_attribute_values(":at", time(at));
        }
        super::applied(req.update_expression(set).send().await)
    }

    /// R30: ends an open request as failed, with its reason; it stays listed for the
    /// operators. `Ok(false)`: it had ended already.
    pub async fn fail(
        &self,
        account_id: &str,
        id: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let step = serde_json::to_string(&TrailStep {
            status: RequestStatus::Failed,
            at,
        })
        .map_err(|_| StoreError::Malformed("trail"))?;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(account_pk(account_id), request_sk(id))))
            .update_expression("SET #st = :failed, trail = list_append(trail, :step), completed_at = :at, failure = :why, open_queue = :queue")
            .condition_expression("#st IN (:pending, :progress)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":failed", s(RequestStatus::Failed.as_str()))
            .expression_attribute_values(":step", AttributeValue::L(vec![s(step)]))
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(":why", s(reason))
            .expression_attribute_values(":queue", s(FAILED))
            .expression_attribute_values(":pending", s(RequestStatus::Pending.as_str()))
            .expression_attribute_values(":progress", s(RequestStatus::InProgress.as_str()))
            .send()
            .await;
        super::applied(res)
    }

    /// R30: an operator's retry of a failed request, as a transaction write: open again
    /// (`in_progress`, a step of its trail, back on the open list, its failure kept in
    /// the trail only). Fails its condition unless the request had failed.
    pub fn reopen_write(
        &self,
        r: &RightsRequest,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let step = serde_json::to_string(&TrailStep {
            status: RequestStatus::InProgress,
            at,
        })
        .map_err(|_| StoreError::Malformed("trail"))?;
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(&r.account_id)))
            .key("sk", s(request_sk(&r.id)))
            .update_expression(
                "SET #st = :open, trail = list_append(trail, :step), open_queue = :queue REMOVE completed_at, failure",
            )
            .condition_expression("#st = :failed")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":open", s(RequestStatus::InProgress.as_str()))
            .expression_attribute_values(":step", AttributeValue::L(vec![s(step)]))
            .expression_attribute_values(":queue", s(OPEN))
            .expression_attribute_values(":failed", s(RequestStatus::Failed.as_str()));
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// R30: the requests that failed, for the operators (due date first).
    pub async fn failed_requests(&self) -> Result<Vec<RightsRequest>, StoreError> {
        super::query_all(
            self.client
                .query()
                .table_name(&self.table)
                .index_name(OPEN_REQUESTS_INDEX)
                .key_condition_expression("open_queue = :o")
                .expression_attribute_values(":o", s(FAILED)),
        )
        .await?
        .iter()
        .map(request_from_item)
        .collect()
    }

    /// Records on an erasure that Creem confirmed `count` subscriptions cancelled.
    pub async fn note_subscriptions_cancelled(
        &self,
        account_id: &str,
        id: &str,
        count: u32,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(account_pk(account_id), request_sk(id))))
            .update_expression("SET subscriptions_cancelled = :n")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":n", n(count))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// R28: the erasure's own record, completed, under the account's pseudonym; and
    /// the deletion of the original. Part of the erasure's last transaction.
    pub fn erased_request_writes(
        &self,
        r: &RightsRequest,
        pseudonym: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut done = r.clone();
        done.account_id = AccountId::new(pseudonym);
        done.status = RequestStatus::Completed;
        done.completed_at = Some(at);
        done.trail.push(TrailStep {
            status: RequestStatus::Completed,
            at,
        });
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(
                account_pk(&r.account_id),
                request_sk(&r.id),
            )));
        Ok(vec![
            self.put_write(request_item(erased_pk(pseudonym), &done)?)?,
            TransactWriteItem::builder()
                .delete(built(delete.build())?)
                .build(),
        ])
    }

    /// R30: the open requests due by `due_before` (RFC 3339), soonest first, from the
    /// sparse index: the cost grows with the open requests, not with the table.
    pub async fn open_requests(&self, due_before: &str) -> Result<Vec<RightsRequest>, StoreError> {
        super::query_all(
            self.client
                .query()
                .table_name(&self.table)
                .index_name(OPEN_REQUESTS_INDEX)
                .key_condition_expression("open_queue = :o AND due_by <= :d")
                .expression_attribute_values(":o", s(OPEN))
                .expression_attribute_values(":d", s(due_before)),
        )
        .await?
        .iter()
        .map(request_from_item)
        .collect()
    }

    /// Every item of the account whose sort key starts with `prefix` (`""`: all).
    pub async fn items(&self, account_id: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        super::query_all(self.prefixed(account_id, prefix)).await
    }

    /// The query of the account's items whose sort key begins with `prefix`, read
    /// consistently (a rights request sees what was just written).
    fn prefixed(
        &self,
        account_id: &str,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(account_pk(account_id)))
            .expression_attribute_values(":p", s(prefix))
            .consistent_read(true)
    }

    /// One page of the account's items whose sort key begins with `prefix`, after
    /// `start`; and where the next page starts. For walks over a class that may be
    /// large (usage data), page by page in bounded memory.
    pub async fn items_page(
        &self,
        account_id: &str,
        prefix: &str,
        start: Option<Item>,
        limit: i32,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let out = self
            .prefixed(account_id, prefix)
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// R28: deletes up to `limit` of the account's items whose sort key begins with
    /// `prefix`, in `BatchWriteItem` requests; how many there were (0: none left).
    /// Reads keys only, from the start each time: what was deleted is not read again.
    pub async fn delete_some(
        &self,
        account_id: &str,
        prefix: &str,
        limit: i32,
    ) -> Result<usize, StoreError> {
        let out = self
            .prefixed(account_id, prefix)
            .projection_expression("pk, sk")
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let keys = out.items.unwrap_or_default();
        let n = keys.len();
        super::delete_batch(&self.client, &self.table, keys).await?;
        Ok(n)
    }

    /// Deletes one item of the account's partition. Deleting what is gone succeeds.
    pub async fn delete(&self, account_id: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(account_pk(account_id), sk.to_owned())))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

fn security_item(account_id: &str, event: &str, at: DateTime<Utc>, keep: Duration) -> Item {
    let stamp = rfc3339(at);
    let mut item = PrivacyStore::key(account_pk(account_id), timed("security", &stamp));
    item.insert("event".into(), s(event));
    item.insert("at".into(), s(stamp));
    item.extend(super::expiry(expiry_of(at, keep)));
    item
}

fn request_item(pk: String, r: &RightsRequest) -> Result<Item, StoreError> {
    let trail = r
        .trail
        .iter()
        .map(|t| serde_json::to_string(t).map(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| StoreError::Malformed("trail"))?;
    let mut item = PrivacyStore::key(pk, request_sk(&r.id));
    item.insert("id".into(), s(&r.id));
    item.insert("account_id".into(), s(&r.account_id));
    item.insert("kind".into(), s(r.kind.as_str()));
    item.insert("status".into(), s(r.status.as_str()));
    item.insert("requested_at".into(), time(r.requested_at));
    item.insert("due_by".into(), time(r.due_by));
    item.insert("trail".into(), AttributeValue::L(trail));
    if r.status.is_open() {
        item.insert("open_queue".into(), s(OPEN));
    }
    for (name, value) in [("export_key", &r.export_key), ("failure", &r.failure)] {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    if let Some(at) = r.completed_at {
        item.insert("completed_at".into(), time(at));
    }
    if let Some(n) = r.subscriptions_cancelled {
        item.insert("subscriptions_cancelled".into(), super::n(n));
    }
    Ok(item)
}

fn request_from_item(i: &Item) -> Result<RightsRequest, StoreError> {
    // A step that does not read (a time that does not parse) makes the request
    // unreadable: a trail with a hole would misstate when it was handled (R30).
    let trail = match i.get("trail").and_then(|v| v.as_l().ok()) {
        Some(l) => l
            .iter()
            .map(|v| {
                v.as_s()
                    .ok()
                    .and_then(|raw| serde_json::from_str(raw).ok())
                    .ok_or(StoreError::Malformed("trail"))
            })
            .collect::<Result<Vec<TrailStep>, _>>()?,
        None => Vec::new(),
    };
    Ok(RightsRequest {
        id: get_s(i, "id")?,
        account_id: AccountId::new(get_s(i, "account_id")?),
        kind: RequestKind::parse(&get_s(i, "kind")?).ok_or(StoreError::Malformed("kind"))?,
        status: RequestStatus::parse(&get_s(i, "status")?)
            .ok_or(StoreError::Malformed("status"))?,
        requested_at: get_time(i, "requested_at")?,
        due_by: get_time(i, "due_by")?,
        trail,
        export_key: opt_s(i, "export_key"),
        completed_at: opt_time(i, "completed_at")?,
        failure: opt_s(i, "failure"),
        subscriptions_cancelled: get_i64(i, "subscriptions_cancelled")
            .ok()
            .and_then(|n| u32::try_from(n).ok()),
    })
}
