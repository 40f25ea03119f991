//! Appeals against refusals and removals (R46): filed by the person (one per refusal),
//! decided by an operator within the policy's deadline, the decision recorded and
//! emailed; an upheld one restores what the refusal took — the violation it counted
//! (and a suspension it caused), and credits it kept — exactly once.

use crate::adapters::dynamo::ledger::LedgerStore;
use crate::adapters::dynamo::{StoreError, Transactions};
use crate::adapters::ses::{Email, MailError, Mailer};
use crate::app::enforcement::VIOLATIONS_REASON;
use crate::app::refusals::Refusals;
use crate::domain::clock::rfc3339;
use crate::domain::ids::AccountId;
use crate::domain::ledger::EntryKind;
use crate::domain::moderation::{Appeal, AppealStatus, Refusal, appeal_id};

#[derive(Clone, Debug)]
pub struct Appeals {
    pub refusals: Refusals,
    pub ledger: LedgerStore,
    pub transactions: Transactions,
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("no open or untold appeal has this id")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the decision is recorded, but the mail failed ({0}); run the command again to send it"
    )]
    Mail(MailError),
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub appeal: Appeal,
    /// Recorded by this call (false: decided before, and only told now).
    pub now: bool,
    /// Upheld: whether a violation was taken back, a suspension lifted, credits returned.
    pub violation_forgiven: bool,
    pub suspension_lifted: bool,
    pub credits_returned: i64,
}

impl Appeals {
    /// Files the person's appeal against `refusal` (theirs: the caller checked). The
    /// same refusal appealed again is the appeal filed before (`Ok((appeal, false))`).
    pub async fn file(
        &self,
        refusal: &Refusal,
        message: &str,
    ) -> Result<(Appeal, bool), StoreError> {
        let policy = &self.refusals.policy;
        let now = self.refusals.clock.now_secs();
        let appeal = Appeal {
            id: appeal_id(&refusal.id),
            account_id: refusal.account_id.clone(),
            refusal_id: refusal.id.clone(),
            message: message.to_owned(),
            status: AppealStatus::Open,
            reason: None,
            created_at: now,
            due_by: now + chrono::Duration::from_std(policy.appeal_deadline).unwrap_or_default(),
            decided_at: None,
        };
        let moderation = &self.refusals.moderation;
        if moderation.file(&appeal, policy.refusal_retention).await? {
            tracing::info!(event = "appeal_filed", appeal_id = %appeal.id, account_id = %appeal.account_id, "appeal filed");
            return Ok((appeal, true));
        }
        let before = moderation
            .appeal(&refusal.account_id, &appeal.id)
            .await?
            .ok_or(StoreError::Malformed("appeal"))?;
        Ok((before, false))
    }

    /// The appeal `id` among the open ones, or the decided ones not told yet.
    async fn find(&self, id: &str) -> Result<Appeal, DecideError> {
        let moderation = &self.refusals.moderation;
        for untold in [false, true] {
            if let Some(a) = moderation
                .appeals_in_queue(untold)
                .await?
                .into_iter()
                .find(|a| a.id == id)
            {
                return Ok(a);
            }
        }
        Err(DecideError::NotFound)
    }

    /// An operator's decision (R46). Upheld: the refusal's violation is taken back (and
    /// a suspension that violations caused lifted, when fewer remain than suspend) and
    /// credits it kept are returned, each at most once; then the decision is recorded
    /// and emailed. A decision recorded but not told (the mail failed) is told when
    /// the command runs again.
    pub async fn decide(
        &self,
        id: &str,
        upheld: bool,
        reason: &str,
        mailer: &Mailer,
    ) -> Result<Decided, DecideError> {
        let appeal = self.find(id).await?;
        let moderation = &self.refusals.moderation;
        let mut decided = Decided {
            appeal: appeal.clone(),
            now: false,
            violation_forgiven: false,
            suspension_lifted: false,
            credits_returned: 0,
        };
        if appeal.status == AppealStatus::Open {
            let refusal = moderation
                .refusal(&appeal.account_id, &appeal.refusal_id)
                .await?;
            if upheld && let Some(refusal) = &refusal {
                self.restore(refusal, &mut decided).await?;
            }
            let status = if upheld {
                AppealStatus::Upheld
            } else {
                AppealStatus::Rejected
            };
            let at = self.refusals.clock.now_secs();
            decided.now = moderation
                .decide(&appeal.account_id, &appeal.id, status, reason, at)
                .await?;
            decided.appeal.status = status;
            decided.appeal.reason = Some(reason.to_owned());
            decided.appeal.decided_at = Some(at);
            tracing::info!(event = "appeal_decided", appeal_id = %appeal.id, outcome = status.as_str(), "appeal decided");
        }
        self.tell(&decided.appeal, mailer).await?;
        Ok(decided)
    }

    /// Restores what `refusal` took: its violation (and the suspension it caused), and
    /// its credits, each idempotent (a second run finds nothing left to restore).
    async fn restore(&self, refusal: &Refusal, decided: &mut Decided) -> Result<(), StoreError> {
        let refusals = &self.refusals;
        let policy = &refusals.policy;
        let account = &refusal.account_id;
        if refusal.kind.is_violation() {
            let now = refusals.clock.epoch_secs();
            let window = policy.violation_window.as_secs() as i64;
            let before = refusals
                .accounts
                .violations_within(account, now, window)
                .await?;
            let left = refusals
                .accounts
                .forgive_violation(account, refusal.at.timestamp(), now, window)
                .await?;
            decided.violation_forgiven = left < before;
            if left < policy.violations_to_suspend {
                decided.suspension_lifted = refusals
                    .accounts
                    .lift_suspension_for(account, VIOLATIONS_REASON)
                    .await?;
            }
        }
        if refusal.credits > 0 {
            // The refund's entry is keyed by the video, as every refund of it is: it is
            // returned once, whichever way it came back.
            let at = rfc3339(refusals.clock.now());
            let mut tx = self.transactions.begin();
            tx.add_all(
                "refund",
                self.ledger.effect_writes(
                    account,
                    EntryKind::Refund,
                    refusal.credits,
                    &refusal.video_id,
                    &at,
                )?,
            );
            match tx.commit().await {
                Ok(()) => decided.credits_returned = refusal.credits,
                Err(e) if e.is_condition_failure() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn tell(&self, appeal: &Appeal, mailer: &Mailer) -> Result<(), DecideError> {
        let moderation = &self.refusals.moderation;
        let Some(account) = self.refusals.accounts.get(&appeal.account_id).await? else {
            // Erased meanwhile: nobody to tell, and the appeal went with the account.
            return Ok(());
        };
        let text = decision_text(appeal);
        mailer
            .send(Email {
                to: &account.email,
                subject: "Your Sora2 AI appeal was decided",
                text: &text,
            })
            .await
            .map_err(DecideError::Mail)?;
        moderation
            .decision_told(&appeal.account_id, &appeal.id)
            .await?;
        Ok(())
    }

    /// The person's appeals, newest first.
    pub async fn of(&self, account_id: &AccountId) -> Result<Vec<Appeal>, StoreError> {
        self.refusals.moderation.appeals(account_id).await
    }
}

/// The decision as emailed (R46): the outcome, the operator's reason, what was restored.
pub fn decision_text(appeal: &Appeal) -> String {
    let outcome = match appeal.status {
        AppealStatus::Upheld => {
            "Your appeal was upheld: the refusal is withdrawn. It no longer counts against your account, and any credits it kept are returned."
        }
        _ => "Your appeal was not upheld: the refusal stands.",
    };
    format!(
        "{outcome}\n\n\
         Reason: {reason}\n\
         Appeal: {id}\n\n\
         This is a service notice about an appeal you made.\n",
        reason = appeal.reason.as_deref().unwrap_or("-"),
        id = appeal.id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r46_the_decision_mail_says_the_outcome_and_the_reason() {
        let mut appeal = Appeal {
            id: "apl_1".into(),
            account_id: AccountId::new("acc_1"),
            refusal_id: "ref_1".into(),
            message: "it is a painting".into(),
            status: AppealStatus::Upheld,
            reason: Some("a painting, not a photo".into()),
            created_at: crate::domain::clock::from_epoch(0),
            due_by: crate::domain::clock::from_epoch(0),
            decided_at: None,
        };
        let text = decision_text(&appeal);
        assert!(text.contains("was upheld"), "{text}");
        assert!(text.contains("Reason: a painting, not a photo"), "{text}");
        // The person's own message is theirs; it is not sent back.
        assert!(!text.contains("it is a painting"), "{text}");
        appeal.status = AppealStatus::Rejected;
        assert!(decision_text(&appeal).contains("not upheld"));
    }
}
