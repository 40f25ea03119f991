//! What DynamoDB's TTL is late with (R22, R31, R33): every table with a TTL keeps its
//! expiring items in the sparse `expired_by_day` index (the UTC day of `ttl`, then
//! `ttl`). Reads already treat an expired item as gone; here each item the TTL has left
//! longer than the policy's grace is deleted, day by day over the policy's look-back,
//! page by page. Deletes are conditional on the item still being expired, so two runs
//! at once, or a run after one that stopped half way, end in the same state.

use std::collections::BTreeMap;

use shared::adapters::dynamo::table::Table;
use shared::adapters::dynamo::{Item, StoreError};
use shared::domain::clock::utc_day;

/// A table with a TTL, and how its items are named in the report.
/// The data class of an item, from its keys.
pub type ClassOf = fn(&Item) -> &'static str;

pub struct TtlTable {
    pub table: Table,
    pub class_of: ClassOf,
}

// Each store classifies its own items by their key shapes; the tables whose expiring
// items are all of one class are named here.
pub use shared::adapters::dynamo::billing::BillingStore;
pub use shared::adapters::dynamo::privacy::PrivacyStore;
pub use shared::adapters::dynamo::sessions::SessionStore;
pub use shared::adapters::dynamo::videos::VideoStore;

pub fn rate_limits_class(_: &Item) -> &'static str {
    "rate-limit counters"
}

pub fn audit_class(_: &Item) -> &'static str {
    "audit log"
}

/// Only pseudonymised entries expire (R28).
pub fn ledger_class(_: &Item) -> &'static str {
    "pseudonymised ledger entries"
}

/// Only the blocklist expires (R28).
pub fn accounts_class(_: &Item) -> &'static str {
    "blocked address hashes"
}

/// What one sweep did: items deleted per class, the oldest one's age past its expiry
/// per class (seconds), and whether the budget ran out before the end.
#[derive(Debug, Default)]
pub struct Swept {
    pub deleted: BTreeMap<&'static str, u64>,
    pub oldest_overdue: BTreeMap<&'static str, i64>,
    pub more_left: bool,
}

/// Deletes, in `tables`, what expired by `now - grace` on the days of the look-back,
/// at most `budget` items; `on_deleted` follows each deletion (an upload's file).
pub async fn sweep<F, Fut>(
    tables: &[TtlTable],
    now: i64,
    grace: i64,
    lookback_days: i64,
    mut budget: u64,
    mut on_deleted: F,
) -> Result<Swept, StoreError>
where
    F: FnMut(&'static str, Item) -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let by = now - grace;
    let mut swept = Swept::default();
    for t in tables {
        for back in (0..=lookback_days).rev() {
            let day = utc_day(by - back * 86400);
            let mut start = None;
            loop {
                let (keys, next) = t.table.expired_page(&day, by, start).await?;
                for k in keys {
                    if budget == 0 {
                        swept.more_left = true;
                        return Ok(swept);
                    }
                    if !t.table.delete_expired(&k, by).await? {
                        continue;
                    }
                    budget -= 1;
                    let class = (t.class_of)(&k);
                    *swept.deleted.entry(class).or_default() += 1;
                    let ttl = k
                        .get("ttl")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse::<i64>().ok())
                        .unwrap_or(now);
                    let age = swept.oldest_overdue.entry(class).or_default();
                    *age = (*age).max(now - ttl);
                    on_deleted(class, k).await?;
                }
                start = next;
                if start.is_none() {
                    break;
                }
            }
        }
    }
    Ok(swept)
}
