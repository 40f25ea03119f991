//! Refusals and their statement of reasons (R45, R46): recorded once per cause, counted
//! toward suspension when what the person sent was refused, and told by email when the
//! refusal comes after the answer (a provider's refusal, an operator's removal).

use crate::adapters::dynamo::moderation::ModerationStore;
use crate::adapters::dynamo::{StoreError, Transactions};
use crate::adapters::ses::{Email, Mailer};
use crate::app::enforcement::Enforcement;
use crate::domain::ids::{AccountId, JobId};
use crate::domain::moderation::{Refusal, RefusalKind, refusal_id};

/// What recording and telling refusals needs.
#[derive(Clone, Debug)]
pub struct Refusals {
    pub moderation: ModerationStore,
    pub accounts: crate::adapters::dynamo::accounts::AccountStore,
    pub policy: crate::domain::policy::Policy,
    pub clock: crate::domain::clock::Clock,
    pub transactions: Transactions,
    /// The website's base URL: a refusal's appeal page is there.
    pub site_url: String,
}

/// A refusal as recorded, and whether this call recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub refusal: Refusal,
    /// False: the same cause was refused before (a resent submission), and neither
    /// recorded nor counted again.
    pub new: bool,
}

impl Refusals {
    /// The page where a refusal is appealed.
    pub fn appeal_url(&self, refusal_id: &str) -> String {
        format!("{}/appeals?refusal={refusal_id}", self.site_url)
    }

    /// A refusal of `video_id` (what the person sent for it), made now.
    pub fn new_refusal(
        &self,
        account_id: &AccountId,
        video_id: &JobId,
        kind: RefusalKind,
        categories: Vec<String>,
        credits: i64,
    ) -> Refusal {
        Refusal {
            id: refusal_id(video_id),
            account_id: account_id.clone(),
            kind,
            categories,
            at: self.clock.now_secs(),
            video_id: video_id.clone(),
            credits,
        }
    }

    /// Records a refusal at submission: the refusal and, for what the person sent, its
    /// violation in one transaction (never one without the other); then suspends the
    /// account if that makes too many (R20). The same cause again (a resent
    /// submission) finds the refusal recorded before and counts nothing.
    pub async fn record(
        &self,
        refusal: Refusal,
        enforcement: &Enforcement,
    ) -> Result<Recorded, StoreError> {
        let keep = self.policy.refusal_retention;
        let mut tx = self.transactions.begin();
        tx.add("refusal", self.moderation.refusal_write(&refusal, keep)?);
        if refusal.kind.is_violation() {
            tx.add(
                "violation",
                self.accounts
                    .violation_write(&refusal.account_id, refusal.at.timestamp())?,
            );
        }
        match tx.commit().await {
            Ok(()) => {}
            Err(e) if e.failed("refusal") => {
                let before = self
                    .moderation
                    .refusal(&refusal.account_id, &refusal.id)
                    .await?
                    .ok_or(StoreError::Malformed("refusal"))?;
                return Ok(Recorded {
                    refusal: before,
                    new: false,
                });
            }
            Err(e) => return Err(e),
        }
        tracing::info!(event = "content_refused", refusal_id = %refusal.id, kind = refusal.kind.as_str(), account_id = %refusal.account_id, "content refused");
        crate::adapters::metrics::count(
            crate::adapters::metrics::Metric::ContentRefusals,
            &[(
                crate::adapters::metrics::Dim::Outcome,
                refusal.kind.as_str(),
            )],
        );
        if refusal.kind.is_violation() {
            enforcement.after_violation(&refusal.account_id).await?;
        }
        Ok(Recorded { refusal, new: true })
    }

    /// R46: tells the person of a refusal that came after the answer, once: which rule,
    /// what happened to their credits, and how to appeal. `Ok(false)`: told before,
    /// or another attempt is telling now.
    pub async fn tell(
        &self,
        mailer: &Mailer,
        to: &str,
        refusal: &Refusal,
        lease_secs: i64,
    ) -> Result<bool, TellError> {
        let now = self.clock.epoch_secs();
        let claimed = self
            .moderation
            .claim_notice(&refusal.account_id, &refusal.id, now, now - lease_secs)
            .await?;
        if !claimed {
            return Ok(false);
        }
        let days = self.policy.appeal_deadline.as_secs() / 86_400;
        let text = notice_text(refusal, &self.appeal_url(&refusal.id), days);
        let sent = mailer
            .send(Email {
                to,
                subject: "About your Sora2 AI video",
                text: &text,
            })
            .await;
        self.moderation
            .notice_done(&refusal.account_id, &refusal.id, sent.is_ok())
            .await?;
        sent.map_err(TellError::Mail)?;
        tracing::info!(event = "refusal_notice_sent", refusal_id = %refusal.id, "refusal notice sent");
        Ok(true)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TellError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mail: {0}")]
    Mail(crate::adapters::ses::MailError),
}

/// The statement of reasons of a refusal told by email (R46): what was refused, the
/// rule (categories), what it cost, and where to appeal. Never the prompt.
pub fn notice_text(refusal: &Refusal, appeal_url: &str, appeal_days: u64) -> String {
    let what = match refusal.kind {
        RefusalKind::Output => {
            "The video provider refused to make your video under its content rules, so it was not made. Its credits were returned."
        }
        RefusalKind::Removal => "We removed your video because it breaks our content rules.",
        RefusalKind::Prompt | RefusalKind::Image | RefusalKind::Minor => {
            "We refused your video request because it breaks our content rules. Nothing was charged."
        }
    };
    let credits = if refusal.credits > 0 {
        format!(
            " If your appeal is upheld, its {} credits are returned.",
            refusal.credits
        )
    } else {
        String::new()
    };
    format!(
        "{what}\n\n\
         Video: {video}\n\
         Rule: {rules}\n\
         Reference: {id}\n\n\
         If you think this is a mistake, appeal here: {appeal_url}\n\
         An operator answers every appeal within {appeal_days} days.{credits}\n\n\
         This is a service notice about a video you asked for.\n",
        video = refusal.video_id,
        rules = refusal.categories.join(", "),
        id = refusal.id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r46_a_later_refusal_is_told_with_its_rule_its_id_and_where_to_appeal() {
        let refusal = Refusal {
            id: "ref_1".into(),
            account_id: AccountId::new("acc_1"),
            kind: RefusalKind::Removal,
            categories: vec!["likeness_misuse".into()],
            at: crate::domain::clock::from_epoch(0),
            video_id: JobId::new("vid_1"),
            credits: 4,
        };
        let text = notice_text(&refusal, "https://site/appeals?refusal=ref_1", 14);
        for part in [
            "We removed your video",
            "Rule: likeness_misuse",
            "Reference: ref_1",
            "https://site/appeals?refusal=ref_1",
            "its 4 credits are returned",
            "within 14 days",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
