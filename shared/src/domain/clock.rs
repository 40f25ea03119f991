//! The one source of "now" for every rule that depends on time.
//!
//! The local AWS endpoint never expires items by TTL, so every expiry is decided by the
//! code when it reads an item. Tests move this clock forward to check those decisions.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Seconds added to the system time; only tests ever change it.
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset.load(Ordering::Relaxed))
    }

    pub fn epoch_secs(&self) -> i64 {
        self.now().timestamp()
    }

    /// When a record stamped `at` (RFC 3339) is to be gone, `keep` later. Counted from
    /// the record's own time, not from a second reading of the clock: a slow step
    /// between the two (a mail sent, a retry) would keep the record a second or more
    /// beyond its period.
    pub fn expiry_of(&self, at: &str, keep: std::time::Duration) -> i64 {
        epoch_of(at).unwrap_or_else(|| self.epoch_secs()) + keep.as_secs() as i64
    }

    /// Sets this clock (and every clone of it) to `epoch_secs`, forward or back: a
    /// test replaying an event signed at a fixed time.
    pub fn set(&self, epoch_secs: i64) {
        self.offset
            .store(epoch_secs - Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.offset
            .fetch_add(by.as_secs() as i64, Ordering::Relaxed);
    }
}

/// RFC 3339 in UTC with second precision, the API's time format.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// RFC 3339 in UTC with milliseconds: for times that also order items (two videos
/// made in the same second still list in the order they were made).
pub fn rfc3339_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The UTC day of an instant, `YYYY-MM-DD`: the time bucket of indexes read by day.
pub fn utc_day(epoch_secs: i64) -> String {
    from_epoch(epoch_secs).format("%Y-%m-%d").to_string()
}

/// Epoch seconds of an RFC 3339 time, if it is one.
pub fn epoch_of(rfc3339: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp())
}

pub fn from_epoch(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

#[cfg(test)]
mod expiry_tests {
    use super::*;

    #[test]
    fn an_expiry_counts_from_the_records_own_time() {
        let clock = Clock::system();
        clock.set(1_800_000_000);
        let at = rfc3339(clock.now());
        clock.advance(std::time::Duration::from_secs(3));
        let keep = std::time::Duration::from_secs(365 * 86_400);
        assert_eq!(
            clock.expiry_of(&at, keep) - epoch_of(&at).unwrap(),
            365 * 86_400
        );
    }
}
