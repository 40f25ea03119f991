//! The one source of "now" for every rule that depends on time.
//!
//! The local AWS endpoint never expires items by TTL, so every expiry is decided by the
//! code when it reads an item. Tests move this clock forward to check those decisions.

use chrono::Duration;
pub use chrono::{DateTime, Utc};
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

    /// Now, to the millisecond: the time that also orders a person's videos.
    pub fn now_millis(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.now().timestamp_millis()).unwrap_or_default()
    }

    pub fn epoch_secs(&self) -> i64 {
        self.now().timestamp()
    }

    /// Now, to the second: the precision of every record's time, so a time written and
    /// read back is the same value.
    pub fn now_secs(&self) -> DateTime<Utc> {
        from_epoch(self.epoch_secs())
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

/// When a record stamped `at` is to be gone, `keep` later (epoch seconds). Counted from
/// the record's own time, not from a second reading of the clock: a slow step between
/// the two (a mail sent, a retry) would keep the record a second or more beyond its
/// period. A time is a `DateTime` here, never a string, so an unreadable time is an
/// error where it is read, never silently "now".
pub fn expiry_of(at: DateTime<Utc>, keep: std::time::Duration) -> i64 {
    at.timestamp() + keep.as_secs() as i64
}

/// `months` calendar months after `t`, at the same time of day; a day the later month
/// lacks is its last day (31 January + 1 month = 28 or 29 February).
pub fn months_after(t: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    t.checked_add_months(chrono::Months::new(months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A record's time as read back: RFC 3339, or nothing.
pub fn parse_time(rfc3339: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Serde for a time in the API and in stored documents: RFC 3339 in UTC to the
/// second on the way out; any RFC 3339 on the way in, and nothing else.
pub mod secs {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(d)?;
        super::parse_time(&raw).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 time"))
    }
}

/// [`secs`] for an optional time.
pub mod opt_secs {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::rfc3339(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|raw| {
                super::parse_time(&raw)
                    .ok_or_else(|| serde::de::Error::custom("not an RFC 3339 time"))
            })
            .transpose()
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
        let at = clock.now_secs();
        clock.advance(std::time::Duration::from_secs(3));
        let keep = std::time::Duration::from_secs(365 * 86_400);
        assert_eq!(expiry_of(at, keep) - at.timestamp(), 365 * 86_400);
    }

    #[test]
    fn r30_a_month_after_is_a_calendar_month_ending_on_the_last_day_it_has() {
        let at = |s: &str| parse_time(s).unwrap();
        let after = |s: &str| rfc3339(months_after(at(s), 1));
        assert_eq!(after("2027-01-31T10:00:00Z"), "2027-02-28T10:00:00Z");
        assert_eq!(after("2028-01-31T10:00:00Z"), "2028-02-29T10:00:00Z");
        assert_eq!(after("2026-12-15T08:30:00Z"), "2027-01-15T08:30:00Z");
        assert_eq!(after("2027-03-31T00:00:00Z"), "2027-04-30T00:00:00Z");
    }

    #[test]
    fn a_time_that_does_not_parse_is_refused_not_taken_for_now() {
        #[derive(serde::Deserialize)]
        struct Stamped {
            #[serde(with = "secs")]
            #[allow(dead_code)]
            at: DateTime<Utc>,
        }
        assert!(serde_json::from_str::<Stamped>(r#"{"at":"yesterday"}"#).is_err());
        assert!(serde_json::from_str::<Stamped>(r#"{"at":""}"#).is_err());
        let ok: Stamped = serde_json::from_str(r#"{"at":"2026-12-07T10:00:00+01:00"}"#).unwrap();
        assert_eq!(rfc3339(ok.at), "2026-12-07T09:00:00Z");
        assert_eq!(parse_time("2026-02-30T00:00:00Z"), None);
    }
}
