//! Accounts and their sign-in identities.
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Suspended,
    /// R28: an erasure was asked for; nothing signs in, the `privacy-requests`
    /// function is deleting it.
    Erasing,
}

impl AccountStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Erasing => "erasing",
        }
    }

    pub fn parse(s: &str) -> Self {
        // Anything unknown is treated as suspended: fail closed.
        match s {
            "active" => Self::Active,
            "erasing" => Self::Erasing,
            _ => Self::Suspended,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: super::ids::AccountId,
    pub email: String,
    pub display_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub status: AccountStatus,
    /// R03: the Google `sub` this account is linked to, if any.
    pub google_sub: Option<String>,
    pub google_linked_at: Option<DateTime<Utc>>,
    /// R34: the policy version accepted at sign-up or later.
    pub policy_version_accepted: String,
    /// R06: when the person stated they are 13 or older.
    pub age_confirmed_at: DateTime<Utc>,
    /// R05: the generation of the account's sessions. A session is valid only while it
    /// carries the account's current epoch; signing out everywhere and suspension move
    /// it on, which ends every session at once, whatever an index still shows.
    pub session_epoch: i64,
    /// R23, R24: the current choices; their history is in the privacy table.
    pub consents: crate::domain::privacy::Consents,
    pub consents_updated_at: Option<DateTime<Utc>>,
    /// R29: processing restricted by the person.
    pub restricted: bool,
}

/// Display names come from the user (R07) or Google's `name`; keep them printable and short.
pub fn clean_display_name(raw: &str) -> Option<String> {
    let name: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    (!name.is_empty()).then_some(name)
}

pub fn new_account_id() -> super::ids::AccountId {
    super::ids::AccountId::new(format!("acc_{}", uuid::Uuid::new_v4().simple()))
}
