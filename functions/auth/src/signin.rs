//! What every successful sign-in ends with: one transaction that applies the method's
//! own writes (use up the code, create or link the account) and creates the session,
//! so a failure leaves nothing half-done.

use axum::Json;
use serde::Serialize;
use shared::ApiError;
use shared::adapters::dynamo::sessions::Session;
use shared::adapters::dynamo::{Cancellation, StoreError, Tx};
use shared::domain::account::{Account, AccountStatus, new_account_id};
use shared::domain::clock::{from_epoch, rfc3339};
use shared::domain::crypto::{new_session_token, sha256_hex};
use shared::domain::ledger::EntryKind;
use shared::domain::policy::POLICY_VERSION_CURRENT;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SignInResponse {
    /// The session token, for `Authorization: Bearer`.
    token: String,
    #[schema(format = DateTime)]
    expires_at: String,
    new_account: bool,
    user: PublicUser,
}

/// The `user` object of the auth answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct PublicUser {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
}

impl From<&Account> for PublicUser {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.to_string(),
            email: a.email.clone(),
            display_name: a.display_name.clone(),
        }
    }
}

/// A new account for an address, with the over-13 statement made now (R06) and the
/// current policy version accepted (R34).
pub fn new_account(
    state: &crate::state::Services,
    email: &str,
    display_name: Option<String>,
) -> Account {
    let now = state.clock.now_secs();
    Account {
        id: new_account_id(),
        email: email.to_owned(),
        display_name,
        created_at: now,
        status: AccountStatus::Active,
        google_sub: None,
        google_linked_at: None,
        policy_version_accepted: POLICY_VERSION_CURRENT.to_owned(),
        age_confirmed_at: now,
        session_epoch: 0,
        consents: Default::default(),
        consents_updated_at: None,
        restricted: false,
    }
}

/// Adds the writes that create `account` to `tx`: profile, unique keys, and the
/// sign-up grant of credits (R11), all or nothing.
pub fn add_account_creation(
    state: &crate::state::Services,
    tx: &mut Tx,
    account: &Account,
) -> Result<(), StoreError> {
    tx.add_all("account", state.accounts.create_writes(account)?);
    tx.add_all(
        "signup_grant",
        state.ledger.effect_writes(
            &account.id,
            EntryKind::Grant,
            state.policy.signup_grant_credits,
            &format!("signup:{}", account.id),
            &rfc3339(account.created_at),
        )?,
    );
    Ok(())
}

/// R28: an address whose account was terminated for abuse makes no new account (its
/// keyed hash is kept for fraud prevention).
pub async fn ensure_not_blocked(
    state: &crate::state::Services,
    email: &str,
) -> Result<(), ApiError> {
    if state
        .accounts
        .is_blocked(&state.keyed_hash("email", email), state.clock.epoch_secs())
        .await?
    {
        return Err(ApiError::AccountBlocked);
    }
    Ok(())
}

/// A suspended account gets no new session (R05).
pub fn ensure_active(account: &Account) -> Result<(), ApiError> {
    match account.status {
        AccountStatus::Active => Ok(()),
        AccountStatus::Suspended => Err(ApiError::AccountSuspended),
        AccountStatus::Erasing => Err(ApiError::AccountBeingDeleted),
    }
}

/// Commits `tx` plus a new session for `account` in one transaction, under the
/// condition that the account is still active at the epoch the session carries (R05):
/// a suspension or a sign-out everywhere that lands first makes it fail, never leaves
/// a session behind. `writes_guard_account`: the writes already carry that condition
/// (creating the account, or linking Google to it), since a transaction may touch an
/// item once.
pub async fn commit_with_session(
    state: &crate::state::Services,
    mut tx: Tx,
    account: &Account,
    new_account: bool,
    writes_guard_account: bool,
    method: &'static str,
) -> Result<Json<SignInResponse>, SignInError> {
    let token = new_session_token(&account.id);
    let expires_at = state.clock.epoch_secs() + state.policy.session_ttl.as_secs() as i64;
    let session = Session {
        token_hash: sha256_hex(&token),
        account_id: account.id.to_string(),
        expires_at,
        epoch: account.session_epoch,
        created_at: state.clock.epoch_secs(),
    };
    if !writes_guard_account {
        tx.add(
            "account_active",
            state.accounts.still_active_write(account)?,
        );
    }
    let now = state.clock.now_secs();
    tx.add(
        "session",
        state.sessions.create_write(&session, &rfc3339(now))?,
    );
    // R22: the sign-in is a security event of the account, written with the session.
    tx.add(
        "security_event",
        state.session.privacy.security_write(
            &account.id,
            &format!("sign_in_{method}"),
            now,
            state.policy.security_event_retention,
        )?,
    );
    tx.commit().await?;
    tracing::info!(
        event = "sign_in",
        method,
        account_id = %account.id,
        new_account,
        "signed in"
    );
    Ok(Json(SignInResponse {
        token,
        expires_at: rfc3339(from_epoch(expires_at)),
        new_account,
        user: PublicUser::from(account),
    }))
}

/// Why a sign-in transaction failed: a condition (raced with another request), or the
/// store itself.
#[derive(Debug)]
pub enum SignInError {
    Conflict(Cancellation),
    Store(StoreError),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Cancelled(c) if c.only_conditions() => Self::Conflict(c),
            StoreError::ConditionFailed => Self::Conflict(Cancellation::default()),
            other => Self::Store(other),
        }
    }
}

impl SignInError {
    /// Whether the write under `label` is one whose condition failed.
    pub fn failed(&self, label: &str) -> bool {
        match self {
            Self::Conflict(c) => c.failed(label),
            Self::Store(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::dynamo::CancelReason;

    fn account(status: AccountStatus) -> Account {
        Account {
            id: shared::domain::ids::AccountId::new("acc_0123456789abcdef0123456789abcdef"),
            email: "kim@example.com".into(),
            display_name: Some("Kim".into()),
            created_at: shared::domain::clock::parse_time("2026-12-01T00:00:00Z").unwrap(),
            status,
            google_sub: Some("google-sub-1".into()),
            google_linked_at: shared::domain::clock::parse_time("2026-12-01T00:00:00Z"),
            policy_version_accepted: POLICY_VERSION_CURRENT.into(),
            age_confirmed_at: shared::domain::clock::parse_time("2026-12-01T00:00:00Z").unwrap(),
            session_epoch: 3,
            consents: Default::default(),
            consents_updated_at: None,
            restricted: false,
        }
    }

    #[test]
    fn r05_r28_only_an_active_account_gets_a_session() {
        assert!(ensure_active(&account(AccountStatus::Active)).is_ok());
        let suspended = ensure_active(&account(AccountStatus::Suspended)).unwrap_err();
        assert_eq!(
            (suspended.code(), suspended.status().as_u16()),
            ("account_suspended", 403)
        );
        let erasing = ensure_active(&account(AccountStatus::Erasing)).unwrap_err();
        assert_eq!(
            (erasing.code(), erasing.status().as_u16()),
            ("account_being_deleted", 409)
        );
    }

    #[test]
    fn a_sign_in_cancelled_by_conditions_alone_is_a_lost_race_and_otherwise_a_store_failure() {
        // A used-up code: the race the handlers answer with `invalid_code`.
        let lost = SignInError::from(StoreError::Cancelled(Cancellation {
            writes: vec![
                ("code", Some(CancelReason::ConditionalCheckFailed)),
                ("session", None),
            ],
        }));
        assert!(matches!(lost, SignInError::Conflict(_)));
        assert!(lost.failed("code"));
        assert!(!lost.failed("session"));
        assert!(matches!(
            SignInError::from(StoreError::ConditionFailed),
            SignInError::Conflict(_)
        ));
        // Throttling beside a failed condition is DynamoDB's trouble, not a race: it
        // must not be told to the person as a wrong code.
        let throttled = SignInError::from(StoreError::Cancelled(Cancellation {
            writes: vec![
                ("code", Some(CancelReason::ConditionalCheckFailed)),
                ("session", Some(CancelReason::Throttled)),
            ],
        }));
        assert!(matches!(throttled, SignInError::Store(_)));
        assert!(!throttled.failed("code"));
        assert!(matches!(
            SignInError::from(StoreError::Backend("InternalServerError".into())),
            SignInError::Store(_)
        ));
    }

    #[test]
    fn the_user_object_shows_the_id_address_and_name_and_nothing_else() {
        let shown =
            serde_json::to_value(PublicUser::from(&account(AccountStatus::Active))).unwrap();
        assert_eq!(
            shown,
            serde_json::json!({
                "id": "acc_0123456789abcdef0123456789abcdef",
                "email": "kim@example.com",
                "display_name": "Kim",
            })
        );
    }
}
