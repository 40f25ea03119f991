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
        for day in days_back(by, lookback_days) {
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
                    let age = swept.oldest_overdue.entry(class).or_default();
                    *age = (*age).max(overdue(&k, now));
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

/// The UTC days of expiry read for items expired by `by`: that day and the
/// `lookback_days` before it, oldest first.
fn days_back(by: i64, lookback_days: i64) -> impl Iterator<Item = String> {
    (0..=lookback_days)
        .rev()
        .map(move |back| utc_day(by - back * 86400))
}

/// How long past its expiry an item is at `now` (seconds); 0 without a readable `ttl`.
fn overdue(item: &Item, now: i64) -> i64 {
    let ttl = item
        .get("ttl")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(now);
    now - ttl
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::dynamo::{n, s};
    use shared::domain::clock::epoch_of;

    #[test]
    fn r33_the_look_back_ends_on_the_day_of_now_minus_the_grace() {
        // Eight days for a week's look-back, ending on the day of `now` less the
        // grace: what expired within the grace is left to DynamoDB's TTL.
        let now = epoch_of("2026-12-08T00:30:00Z").unwrap();
        let by = now - 24 * 3600;
        let days: Vec<_> = days_back(by, 7).collect();
        assert_eq!(days.len(), 8);
        assert_eq!(days.first().unwrap(), "2026-11-30");
        assert_eq!(days.last().unwrap(), "2026-12-07");
        assert!(days.windows(2).all(|w| w[0] < w[1]), "oldest first");
        assert_eq!(days_back(by, 0).collect::<Vec<_>>(), ["2026-12-07"]);
    }

    #[test]
    fn r33_how_overdue_an_item_is_is_read_from_its_ttl() {
        let item = |ttl| Item::from([("ttl".to_string(), ttl)]);
        assert_eq!(overdue(&item(n(1_000)), 4_600), 3_600);
        assert_eq!(overdue(&item(n(4_600)), 4_600), 0);
        // No readable `ttl`: no age to report, rather than a made-up one.
        assert_eq!(overdue(&item(s("soon")), 4_600), 0);
        assert_eq!(overdue(&Item::new(), 4_600), 0);
    }
}
