//! The health of each video provider, shared by every instance of every function
//! (R43): one small item per provider in the rate-limits table, so an outage found by
//! one Lambda is known to all at once instead of being found again by each.
//!
//! A circuit breaker: failed calls are counted in fixed windows; `threshold` of them
//! in one window open the circuit until `open_until`. Once that time passes the
//! circuit is half-open: one caller claims the probe (a conditional write, so
//! exactly one), sends its job there, and closes the circuit on success or opens it
//! again on failure. A probe that never reports (its Lambda died) is claimed again
//! after `probe_timeout`. `opened` and `closed` count transitions, for the operators
//! and the tests. Nothing in the item is about a person.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{Item, StoreError, applied, expiry, get_i64, n};

/// The breaker's numbers (from the policy).
#[derive(Debug, Clone, Copy)]
pub struct Breaker {
    /// Failures in one window that open the circuit.
    pub threshold: u32,
    pub window: Duration,
    /// How long an open circuit stays open before a probe.
    pub open_for: Duration,
    /// When a claimed probe that never reported may be claimed again.
    pub probe_timeout: Duration,
}

/// A provider's health as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Health {
    pub open_until: Option<i64>,
    pub probe_at: Option<i64>,
    pub opened: i64,
    pub closed: i64,
}

/// What a caller may do with a provider now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Closed: send work.
    Use,
    /// Half-open and this caller holds the probe: send one job, then report.
    Probe,
    /// Open, or another caller is probing.
    Avoid,
}

impl Health {
    fn from_item(item: &Item) -> Self {
        Self {
            open_until: get_i64(item, "open_until").ok(),
            probe_at: get_i64(item, "probe_at").ok(),
            opened: get_i64(item, "opened").unwrap_or(0),
            closed: get_i64(item, "closed").unwrap_or(0),
        }
    }

    /// Whether the circuit is anything but closed (open or half-open).
    pub fn tripped(&self) -> bool {
        self.open_until.is_some()
    }
}

#[derive(Clone, Debug)]
pub struct Circuits {
    client: Client,
    table: String,
}

fn pk(provider: &str) -> String {
    format!("circuit#{provider}")
}

impl Circuits {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The provider's health, read eventually consistent: a stale read costs at most a
    /// call to a provider that has just failed, which is counted like any other.
    pub async fn health(&self, provider: &str) -> Result<Health, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(provider)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item.as_ref().map(Health::from_item).unwrap_or_default())
    }

    /// What to do with a provider whose health reads `health` at `now`: use it, hold
    /// its probe (claimed here, one caller only), or avoid it.
    pub async fn verdict(
        &self,
        provider: &str,
        health: &Health,
        now: i64,
        breaker: &Breaker,
    ) -> Result<Verdict, StoreError> {
        match health.open_until {
            None => Ok(Verdict::Use),
            Some(until) if until > now => Ok(Verdict::Avoid),
            Some(_) => {
                let stale = now - breaker.probe_timeout.as_secs() as i64;
                let claimed = applied(
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .key("pk", AttributeValue::S(pk(provider)))
                        .update_expression("SET probe_at = :now")
                        .condition_expression(
                            "open_until <= :now AND (attribute_not_exists(probe_at) OR probe_at <= :stale)",
                        )
                        .expression_attribute_values(":now", n(now))
                        .expression_attribute_values(":stale", n(stale))
                        .send()
                        .await,
                )?;
                Ok(if claimed {
                    Verdict::Probe
                } else {
                    Verdict::Avoid
                })
            }
        }
    }

    /// Counts a failed call. Opens the circuit when the window's count reaches the
    /// threshold, or at once when the call was the probe. `Ok(true)` when this call
    /// opened a closed circuit (once per outage, however many callers fail together).
    pub async fn failed(
        &self,
        provider: &str,
        now: i64,
        probing: bool,
        breaker: &Breaker,
    ) -> Result<bool, StoreError> {
        let until = now + breaker.open_for.as_secs() as i64;
        if probing {
            // The provider is still down: open again, for another period (not a new
            // outage: `opened` stays).
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk(provider)))
                .update_expression("SET open_until = :until REMOVE probe_at")
                .condition_expression("attribute_exists(open_until)")
                .expression_attribute_values(":until", n(until))
                .send()
                .await
                .map(|_| ())
                .or_else(|e| match StoreError::from_sdk(e) {
                    StoreError::ConditionFailed => Ok(()),
                    other => Err(other),
                })?;
            return Ok(false);
        }
        let window = now / breaker.window.as_secs().max(1) as i64;
        let failures = self.count(provider, window, now, breaker).await?;
        if failures < i64::from(breaker.threshold) {
            return Ok(false);
        }
        applied(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk(provider)))
                .update_expression(
                    "SET open_until = :until, opened = if_not_exists(opened, :zero) + :one REMOVE probe_at",
                )
                .condition_expression("attribute_not_exists(open_until)")
                .expression_attribute_values(":until", n(until))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .send()
                .await,
        )
    }

    /// Adds one failure to `window`'s count (a new window starts from one); the count.
    async fn count(
        &self,
        provider: &str,
        window: i64,
        now: i64,
        breaker: &Breaker,
    ) -> Result<i64, StoreError> {
        // The item outlives an idle day; while a provider fails, it is written often.
        let [(ttl, ttl_v), (day, day_v)] = expiry(now + 86_400 + breaker.window.as_secs() as i64);
        // The window's update: its expression and condition, with the window, the
        // expiry and the count of one given.
        let update = |expression: &str, condition: &str| {
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk(provider)))
                .update_expression(expression)
                .condition_expression(condition)
                .expression_attribute_names("#w", "window")
                .expression_attribute_names("#ttl", &ttl)
                .expression_attribute_names("#day", &day)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":w", n(window))
                .expression_attribute_values(":ttl", ttl_v.clone())
                .expression_attribute_values(":day", day_v.clone())
        };
        for _ in 0..3 {
            let same = update("ADD failures :one SET #ttl = :ttl, #day = :day", "#w = :w")
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match same {
                Ok(out) => {
                    return Ok(out
                        .attributes
                        .as_ref()
                        .and_then(|a| get_i64(a, "failures").ok())
                        .unwrap_or(1));
                }
                Err(e) => match StoreError::from_sdk(e) {
                    StoreError::ConditionFailed => {}
                    other => return Err(other),
                },
            }
            let fresh = applied(
                update(
                    "SET #w = :w, failures = :one, #ttl = :ttl, #day = :day",
                    "attribute_not_exists(#w) OR #w < :w",
                )
                .send()
                .await,
            )?;
            if fresh {
                return Ok(1);
            }
            // Another caller started the window meanwhile: count in it.
        }
        Err(StoreError::Backend("circuit window contended".into()))
    }

    /// The probe succeeded: the circuit closes. `Ok(true)` when this call closed it.
    pub async fn recovered(&self, provider: &str) -> Result<bool, StoreError> {
        applied(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk(provider)))
                .update_expression(
                    "SET failures = :zero, closed = if_not_exists(closed, :zero) + :one REMOVE open_until, probe_at",
                )
                .condition_expression("attribute_exists(open_until)")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .send()
                .await,
        )
    }
}
