//! Rights requests (R26, R28, R30), consents (R23, R34) and the records of use (R22):
//! their kinds, states and dates. Plain Rust, no I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a rights request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// R26: a copy of every personal datum, as JSON.
    Export,
    /// R28: deletion of the account.
    Erasure,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Export => "export",
            Self::Erasure => "erasure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "export" => Some(Self::Export),
            "erasure" => Some(Self::Erasure),
            _ => None,
        }
    }
}

/// R30: where a rights request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "in_progress" => Some(Self::InProgress),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// Still owed to the person: listed for the operators until it ends.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::InProgress)
    }
}

/// One step of a request's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrailStep {
    pub status: RequestStatus,
    #[serde(with = "crate::domain::clock::secs")]
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
}

/// What a client may choose about non-essential processing (R23, R24): three separate
/// consents, each with its own history. Accepting marketing cookies never subscribes
/// anyone to email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Consents {
    /// Analytics cookies, and use of usage data for analytics.
    pub analytics: bool,
    /// Marketing cookies on the website.
    pub marketing_cookies: bool,
    /// Marketing email (R24).
    pub marketing_email: bool,
}

/// Prefix of the pseudonyms that replace an erased account's id where the law keeps
/// records (R28): a keyed hash of the id, so the same account always maps to the same
/// pseudonym (a resumed erasure writes the same value) and nothing leads back.
pub const PSEUDONYM_PREFIX: &str = "anon_";

/// The pseudonym of an account id, from its keyed hash (see [`crate::domain::crypto`]).
pub fn pseudonym(keyed_hash_of_id: &str) -> String {
    format!(
        "{PSEUDONYM_PREFIX}{}",
        &keyed_hash_of_id[..keyed_hash_of_id.len().min(32)]
    )
}

/// The version of the export document's schema (`docs/export-schema.md`).
pub const EXPORT_SCHEMA_VERSION: &str = "2026-11-30";

pub fn new_request_id() -> String {
    format!("req_{}", uuid::Uuid::new_v4().simple())
}

pub fn new_support_id() -> String {
    format!("sup_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_round_trip() {
        for k in [RequestKind::Export, RequestKind::Erasure] {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        for s in [
            RequestStatus::Pending,
            RequestStatus::InProgress,
            RequestStatus::Completed,
            RequestStatus::Failed,
        ] {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        }
        assert!(RequestStatus::Pending.is_open());
        assert!(!RequestStatus::Completed.is_open());
    }

    #[test]
    fn pseudonyms_are_short_and_prefixed() {
        let p = pseudonym(&"ab".repeat(32));
        assert_eq!(p.len(), PSEUDONYM_PREFIX.len() + 32);
        assert!(p.starts_with(PSEUDONYM_PREFIX));
    }
}

/// A rights request (R30).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightsRequest {
    pub id: String,
    pub account_id: super::ids::AccountId,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub requested_at: DateTime<Utc>,
    pub due_by: DateTime<Utc>,
    pub trail: Vec<TrailStep>,
    /// An export's document in the exports bucket, once made.
    pub export_key: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    /// An erasure's first step: how many of the person's subscriptions Creem
    /// confirmed cancelled, so nothing is charged after it (R28).
    pub subscriptions_cancelled: Option<u32>,
    /// Why a request failed (R30).
    pub failure: Option<String>,
}
