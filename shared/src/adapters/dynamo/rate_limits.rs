//! Per-IP and per-account rate limits (R02, R39): "at most N an hour" holds over every
//! hour, not per clock hour.
//!
//! Each subject of a scope has one item, named by the scope and a keyed hash of the
//! subject (never the raw IP or address): a small map of the times of the events it
//! allowed within the window, and a version. A check reads it (strongly consistent),
//! drops what left the window, refuses if N remain, and otherwise writes the map with
//! the new event, on the condition that the version is the one read; a concurrent
//! check that won makes this one read again. So no burst, and no pair of windows
//! around a clock hour, lets more than N through. The item expires a window after its
//! last event. It costs a read and a write per check, against one write for a fixed
//! window that could let 2N through around the hour.

use std::collections::HashMap;
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

/// An event a check allowed and counted; it can be given back ([`RateLimiter::release`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pk: String,
    id: String,
}

/// The events of one subject within the window, as read.
struct Log {
    version: Option<i64>,
    /// Event id → epoch seconds.
    events: HashMap<String, i64>,
}

/// Which events still count at `now`, and when the oldest of them leaves the window.
fn live(events: &HashMap<String, i64>, window: i64, now: i64) -> (HashMap<String, i64>, i64) {
    let live: HashMap<String, i64> = events
        .iter()
        .filter(|(_, t)| **t > now - window)
        .map(|(k, t)| (k.clone(), *t))
        .collect();
    let frees_at = live.values().min().map_or(now, |t| t + window);
    (live, frees_at)
}

fn limited(frees_at: i64, now: i64) -> Decision {
    Decision::Limited {
        retry_after: Duration::from_secs((frees_at - now).max(1) as u64),
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

    async fn read(&self, pk: &str) -> Result<Log, StoreError> {
        let item = super::get_by_pk(&self.client, &self.table, pk.to_owned()).await?;
        let Some(item) = item else {
            return Ok(Log {
                version: None,
                events: HashMap::new(),
            });
        };
        let events = item
            .get("events")
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_n().ok()?.parse().ok()?)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Log {
            version: Some(get_i64(&item, "v")?),
            events,
        })
    }

    /// Decides without counting: whether `subject` has used up `limit` at `now`.
    pub async fn peek(
        &self,
        scope: &str,
        subject: &str,
        limit: Limit,
        now: i64,
    ) -> Result<Decision, StoreError> {
        let log = self.read(&self.pk(scope, subject)).await?;
        let window = limit.window.as_secs().max(1) as i64;
        let (live, frees_at) = live(&log.events, window, now);
        Ok(if live.len() >= limit.max as usize {
            limited(frees_at, now)
        } else {
            Decision::Allowed
        })
    }

    /// Counts one event for `subject` in `scope` at `now` (epoch seconds) if fewer than
    /// `limit.max` happened in the window before it; else says when one leaves it.
    pub async fn take(
        &self,
        scope: &str,
        subject: &str,
        limit: Limit,
        now: i64,
    ) -> Result<Result<Counted, Decision>, StoreError> {
        let pk = self.pk(scope, subject);
        let window = limit.window.as_secs().max(1) as i64;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                // Jittered, so the checks that collided do not collide again in step.
                let cap_ms = 5u64 << attempt.min(6);
                let wait = {
                    use rand::Rng;
                    Duration::from_millis(rand::rng().random_range(1..=cap_ms))
                };
                tokio::time::sleep(wait).await;
            }
            let log = self.read(&pk).await?;
            let (mut events, frees_at) = live(&log.events, window, now);
            if events.len() >= limit.max as usize {
                return Ok(Err(limited(frees_at, now)));
            }
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
            events.insert(id.clone(), now);
            let expires = now + window;
            let mut item = Item::from([
                ("pk".to_owned(), s(&pk)),
                (
                    "events".to_owned(),
                    AttributeValue::M(events.iter().map(|(k, t)| (k.clone(), n(t))).collect()),
                ),
                ("v".to_owned(), n(log.version.unwrap_or(0) + 1)),
            ]);
            item.extend(super::expiry(expires));
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item));
            let put = match log.version {
                Some(v) => put
                    .condition_expression("v = :v")
                    .expression_attribute_values(":v", n(v)),
                None => put.condition_expression("attribute_not_exists(pk)"),
            };
            match super::applied(put.send().await) {
                Ok(true) => return Ok(Ok(Counted { pk, id })),
                // Another check wrote first: read again.
                Ok(false) => continue,
                Err(e) => return Err(e),
            }
        }
        tracing::info!(scope, "rate limit contended: told to slow down");
        Ok(Err(limited(now + 1, now)))
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
            Err(limited) => limited,
        })
    }

    /// Gives a counted event back (it turned out not to be what the limit counts, such
    /// as a code that was right).
    pub async fn release(&self, counted: &Counted) -> Result<(), StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&counted.pk))
            .update_expression("REMOVE events.#id ADD v :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#id", &counted.id)
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        super::applied(res).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r39_only_events_within_the_window_count_and_the_oldest_frees_a_place() {
        let events: HashMap<String, i64> = [("a", 100), ("b", 3000), ("c", 3700)]
            .into_iter()
            .map(|(k, t)| (k.to_owned(), t))
            .collect();
        let (l, frees_at) = live(&events, 3600, 3750);
        assert_eq!(l.len(), 2, "a left the window at 3700");
        assert_eq!(frees_at, 3000 + 3600);
        let (l, frees_at) = live(&HashMap::new(), 3600, 10);
        assert!(l.is_empty());
        assert_eq!(frees_at, 10);
        assert_eq!(
            limited(6600, 3750),
            Decision::Limited {
                retry_after: Duration::from_secs(2850)
            }
        );
    }
}
