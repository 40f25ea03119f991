//! Per-IP and per-account rate limits (R02, R39): "at most N an hour" holds over every
//! hour, not per clock hour.
//!
//! Each subject of a scope has one item, named by the scope and a keyed hash of the
//! subject (never the raw IP or address), holding the times of the events it allowed
//! (`events`, oldest first) and a version. A check appends its event in one update on
//! the condition that fewer than N are listed: with fewer than N listed, fewer than N
//! happened in any window, so that is exact, and concurrent checks serialize on the
//! item. Only when N are listed is the item read, the events that left the window
//! dropped, and the event added on the condition that the version is the one read. So
//! no burst, and no pair of windows around a clock hour, lets more than N through; a
//! check costs one write while the subject is under its limit. The item expires a
//! window after its last event.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{Item, StoreError, get_i64, n, s};
use crate::domain::crypto::keyed_hash;
use crate::domain::policy::Limit;

/// How many times a check reads again after losing a race with another check; past
/// them, the subject is sending many requests at once, and is told to slow down.
const ATTEMPTS: u32 = 10;

#[derive(Clone, Debug)]
pub struct RateLimiter {
    client: Client,
    table: String,
    key: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: Duration },
}

impl Decision {
    /// Allowed, or refused with the seconds until a place frees; a refusal is logged
    /// with its scope (never its subject, which may be an address or an IP).
    pub fn checked(self, scope: &str) -> Result<(), u64> {
        match self {
            Decision::Allowed => Ok(()),
            Decision::Limited { retry_after } => {
                tracing::info!(
                    scope,
                    retry_after_secs = retry_after.as_secs(),
                    "rate limited"
                );
                Err(retry_after.as_secs())
            }
        }
    }
}

/// An event a check allowed and counted; it can be given back ([`RateLimiter::release`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pk: String,
    id: String,
}

/// The events of one subject, as read: `(time, id)`.
struct Log {
    version: i64,
    events: Vec<(i64, String)>,
    /// The item's expiry attributes, kept as they are by a release.
    expiry: Option<(AttributeValue, AttributeValue)>,
}

fn event_text(at: i64, id: &str) -> String {
    format!("{at}:{id}")
}

fn parse_event(text: &str) -> Option<(i64, String)> {
    let (at, id) = text.split_once(':')?;
    Some((at.parse().ok()?, id.to_owned()))
}

/// The events that still count at `now`, and when the oldest of them leaves the window.
fn live(events: &[(i64, String)], window: i64, now: i64) -> (Vec<(i64, String)>, i64) {
    let mut live: Vec<(i64, String)> = events
        .iter()
        .filter(|(t, _)| *t > now - window)
        .cloned()
        .collect();
    live.sort();
    let frees_at = live.first().map_or(now, |(t, _)| t + window);
    (live, frees_at)
}

/// How long until a place frees at `frees_at` (at least a second).
fn wait(frees_at: i64, now: i64) -> Duration {
    Duration::from_secs((frees_at - now).max(1) as u64)
}

fn limited(frees_at: i64, now: i64) -> Decision {
    Decision::Limited {
        retry_after: wait(frees_at, now),
    }
}

impl RateLimiter {
    pub fn new(client: Client, table: impl Into<String>, key: Vec<u8>) -> Self {
        Self {
            client,
            table: table.into(),
            key,
        }
    }

    fn pk(&self, scope: &str, subject: &str) -> String {
        format!("{scope}#{}", keyed_hash(&self.key, "ratelimit", subject))
    }

    async fn read(&self, pk: &str) -> Result<Option<Log>, StoreError> {
        let Some(item) = super::get_by_pk(&self.client, &self.table, pk.to_owned()).await? else {
            return Ok(None);
        };
        let events = item
            .get("events")
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|v| parse_event(v.as_s().ok()?))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(Log {
            version: get_i64(&item, "v").unwrap_or(0),
            events,
            expiry: item.get("ttl").cloned().zip(item.get("ttl_day").cloned()),
        }))
    }

    /// Decides without counting: whether `subject` has used up `limit` at `now`.
    pub async fn peek(
        &self,
        scope: &str,
        subject: &str,
        limit: Limit,
        now: i64,
    ) -> Result<Decision, StoreError> {
        let window = limit.window.as_secs().max(1) as i64;
        let events = self
            .read(&self.pk(scope, subject))
            .await?
            .map(|l| l.events)
            .unwrap_or_default();
        let (live, frees_at) = live(&events, window, now);
        Ok(if live.len() >= limit.max as usize {
            limited(frees_at, now)
        } else {
            Decision::Allowed
        })
    }

    /// Counts one event for `subject` in `scope` at `now` (epoch seconds) if fewer than
    /// `limit.max` happened in the window before it; else how long until one leaves it.
    pub async fn take(
        &self,
        scope: &str,
        subject: &str,
        limit: Limit,
        now: i64,
    ) -> Result<Result<Counted, Duration>, StoreError> {
        let pk = self.pk(scope, subject);
        let window = limit.window.as_secs().max(1) as i64;
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let [ttl, ttl_day] = super::expiry(now + window);
        // Under the limit (fewer than N listed, old or not): one append.
        let appended = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression(
                "SET events = list_append(if_not_exists(events, :empty), :one), v = if_not_exists(v, :zero) + :inc, #ttl = :ttl, ttl_day = :day",
            )
            .condition_expression("attribute_not_exists(events) OR size(events) < :max")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":one", AttributeValue::L(vec![s(event_text(now, &id))]))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":inc", n(1))
            .expression_attribute_values(":ttl", ttl.1.clone())
            .expression_attribute_values(":day", ttl_day.1.clone())
            .expression_attribute_values(":max", n(limit.max))
            .send()
            .await;
        if super::applied(appended)? {
            return Ok(Ok(Counted { pk, id }));
        }
        // N listed: drop what left the window, and add this one if there is room.
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let cap_ms = 5u64 << attempt.min(6);
                let wait = {
                    use rand::Rng;
                    Duration::from_millis(rand::rng().random_range(1..=cap_ms))
                };
                tokio::time::sleep(wait).await;
            }
            let Some(log) = self.read(&pk).await? else {
                continue;
            };
            let (mut events, frees_at) = live(&log.events, window, now);
            if events.len() >= limit.max as usize {
                return Ok(Err(wait(frees_at, now)));
            }
            events.push((now, id.clone()));
            if self
                .rewrite(&pk, &events, log.version, ttl.1.clone(), ttl_day.1.clone())
                .await?
            {
                return Ok(Ok(Counted { pk, id }));
            }
        }
        tracing::info!(scope, "rate limit contended: told to slow down");
        Ok(Err(wait(now + 1, now)))
    }

    /// Writes the events read at `version`; `false` if another check wrote meanwhile.
    async fn rewrite(
        &self,
        pk: &str,
        events: &[(i64, String)],
        version: i64,
        ttl: AttributeValue,
        ttl_day: AttributeValue,
    ) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(pk)),
            (
                "events".to_owned(),
                AttributeValue::L(events.iter().map(|(t, id)| s(event_text(*t, id))).collect()),
            ),
            ("v".to_owned(), n(version + 1)),
            ("ttl".to_owned(), ttl),
            ("ttl_day".to_owned(), ttl_day),
        ]);
        super::applied(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("v = :v")
                .expression_attribute_values(":v", n(version))
                .send()
                .await,
        )
    }

    /// Counts one event and decides (see [`Self::take`]).
    pub async fn hit(
        &self,
        scope: &str,
        subject: &str,
        limit: Limit,
        now: i64,
    ) -> Result<Decision, StoreError> {
        Ok(match self.take(scope, subject, limit, now).await? {
            Ok(_) => Decision::Allowed,
            Err(retry_after) => Decision::Limited { retry_after },
        })
    }

    /// Gives a counted event back (it turned out not to be what the limit counts, such
    /// as a code that was right).
    pub async fn release(&self, counted: &Counted) -> Result<(), StoreError> {
        for _ in 0..ATTEMPTS {
            let Some(log) = self.read(&counted.pk).await? else {
                return Ok(());
            };
            let before = log.events.len();
            let events: Vec<(i64, String)> = log
                .events
                .into_iter()
                .filter(|(_, id)| *id != counted.id)
                .collect();
            let Some((ttl, day)) = log.expiry else {
                return Ok(());
            };
            if events.len() == before {
                return Ok(());
            }
            if self
                .rewrite(&counted.pk, &events, log.version, ttl, day)
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::Backend("rate limit release contended".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r39_only_events_within_the_window_count_and_the_oldest_frees_a_place() {
        let events: Vec<(i64, String)> = [(3000, "b"), (100, "a"), (3700, "c")]
            .into_iter()
            .map(|(t, k)| (t, k.to_owned()))
            .collect();
        let (l, frees_at) = live(&events, 3600, 3750);
        assert_eq!(l.len(), 2, "a left the window at 3700");
        assert_eq!(frees_at, 3000 + 3600);
        let (l, frees_at) = live(&[], 3600, 10);
        assert!(l.is_empty());
        assert_eq!(frees_at, 10);
        assert_eq!(
            limited(6600, 3750),
            Decision::Limited {
                retry_after: Duration::from_secs(2850)
            }
        );
        assert_eq!(
            parse_event(&event_text(42, "ab12")),
            Some((42, "ab12".into()))
        );
        assert_eq!(parse_event("garbage"), None);
    }
}
