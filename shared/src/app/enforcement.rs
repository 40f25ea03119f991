//! Content-policy enforcement (R20): prompts refused by moderation count as violations;
//! the policy's number of them within its window suspends the account, which ends
//! every session at once (R05) and is written to the audit log.

use crate::adapters::dynamo::StoreError;
use crate::adapters::dynamo::accounts::AccountStore;
use crate::adapters::dynamo::audit::{AuditEvent, AuditStore};
use crate::adapters::dynamo::sessions::SessionStore;
use crate::domain::clock::{Clock, expiry_of, rfc3339};
use crate::domain::ids::AccountId;
use crate::domain::policy::Policy;

/// Why the service itself suspends an account: the one suspension an upheld appeal
/// may lift (R46).
pub const VIOLATIONS_REASON: &str = "repeated_content_violations";

/// What enforcement needs, held by the functions that enforce.
#[derive(Clone, Debug)]
pub struct Enforcement {
    pub accounts: AccountStore,
    pub sessions: SessionStore,
    pub audit: AuditStore,
    pub privacy: crate::adapters::dynamo::privacy::PrivacyStore,
    pub policy: Policy,
    pub clock: Clock,
}

impl Enforcement {
    /// After a violation was recorded (with its refusal, `app::refusals`): suspends
    /// the account if it has had the policy's number of them within its window.
    /// Returns whether it is suspended by this call. Safe to repeat.
    pub async fn after_violation(&self, account_id: &AccountId) -> Result<bool, StoreError> {
        let now = self.clock.epoch_secs();
        let policy = &self.policy;
        let count = self
            .accounts
            .violations_within(account_id, now, policy.violation_window.as_secs() as i64)
            .await?;
        tracing::info!(event = "content_violation", %account_id, count, "content violation recorded");
        if count < policy.violations_to_suspend {
            return Ok(false);
        }
        self.suspend(account_id, "system", VIOLATIONS_REASON).await
    }

    /// Suspends an account: status, every session ended, an audit record. Safe to repeat.
    pub async fn suspend(
        &self,
        account_id: &AccountId,
        actor: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now_secs();
        let at = rfc3339(now);
        let suspended_now = self.accounts.suspend(account_id, &at, reason).await?;
        // Sessions end even if a previous attempt stopped after the status change.
        let ended = self.sessions.delete_all(account_id).await?;
        if suspended_now {
            self.audit
                .record(&AuditEvent {
                    actor,
                    action: "suspend",
                    account_id,
                    reason,
                    at: &at,
                    expires_epoch: expiry_of(now, self.policy.security_event_retention),
                })
                .await?;
            // R22: a security event of the account, which its export shows.
            self.privacy
                .record_security(
                    account_id,
                    "suspended",
                    now,
                    self.policy.security_event_retention,
                )
                .await?;
            tracing::info!(event = "account_suspended", %account_id, reason, sessions_ended = ended, "account suspended");
        }
        Ok(suspended_now)
    }
}
