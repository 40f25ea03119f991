//! Per-IP and per-account rate limits (R39), as fixed-window counters in DynamoDB.
//!
//! One atomic `ADD` per check, on an item named by the scope, a keyed hash of the
//! subject (never the raw IP or address) and the window's index; the item expires with
//! its window. A fixed window can let up to twice the limit through across a boundary;
//! that is accepted for its cost of one write per request.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use super::{StoreError, get_i64, n, s};
use crate::domain::crypto::keyed_hash;
use crate::domain::policy::Limit;

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

impl RateLimiter {
    pub fn new(client: Client, table: impl Into<String>, key: Vec<u8>) -> Self {
        Self {
            client,
            table: table.into(),
            key,
        }
    }

    /// Decides without counting: whether `subject` has used up `limit` in the current
    /// window (a strongly consistent read of its counter).
    pub async fn peek(
        &self,
        scope: &str,
        subject: &str,
        limit: Limit,
        now: i64,
    ) -> Result<Decision, StoreError> {
        let (pk, window_end) = self.counter(scope, subject, limit, now);
        let hits = super::get_by_pk(&self.client, &self.table, pk)
            .await?
            .map(|i| get_i64(&i, "hits"))
            .transpose()?
            .unwrap_or(0);
        Ok(decide(hits >= i64::from(limit.max), window_end, now))
    }

    /// The counter's key and the end of its window.
    fn counter(&self, scope: &str, subject: &str, limit: Limit, now: i64) -> (String, i64) {
        let window = limit.window.as_secs().max(1) as i64;
        let index = now.div_euclid(window);
        let subject_hash = keyed_hash(&self.key, "ratelimit", subject);
        (
            format!("{scope}#{subject_hash}#{index}"),
            (index + 1) * window,
        )
    }

    /// Counts one event for `subject` in `scope` at `now` (epoch seconds) and decides.
    pub async fn hit(
        &self,
        scope: &str,
        subject: &str,
        limit: Limit,
        now: i64,
    ) -> Result<Decision, StoreError> {
        let (pk, window_end) = self.counter(scope, subject, limit, now);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .update_expression(
                "ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl), ttl_day = if_not_exists(ttl_day, :day)",
            )
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(window_end))
            .expression_attribute_values(":day", s(crate::domain::clock::utc_day(window_end)))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let hits = out
            .attributes
            .as_ref()
            .map(|a| get_i64(a, "hits"))
            .transpose()?
            .unwrap_or(1);
        Ok(decide(hits > i64::from(limit.max), window_end, now))
    }
}

fn decide(over: bool, window_end: i64, now: i64) -> Decision {
    if over {
        Decision::Limited {
            retry_after: Duration::from_secs((window_end - now).max(1) as u64),
        }
    } else {
        Decision::Allowed
    }
}
