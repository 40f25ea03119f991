//! The operators' command: find an account by email; suspend, reinstate, terminate;
//! delete a child's account (R06); remove a video; list rights requests near or past
//! their due date (R30); list payments that came after their account was erased, to
//! refund (R28); list and decide appeals (R46); move dead letters back to their queue. Every action is written to the audit log with who acted and
//! why (R20). It is a program for people with the stack's AWS access, never deployed.

use serde_json::{Value, json};
use shared::adapters::dynamo::StoreError;
use shared::adapters::dynamo::accounts::AccountStore;
use shared::adapters::dynamo::audit::{AuditEvent, AuditStore};
use shared::adapters::dynamo::privacy::PrivacyStore;
use shared::adapters::env::{ConfigError, Env};
use shared::app::appeals::{Appeals, DecideError};
use shared::app::enforcement::Enforcement;
use shared::app::removal::{RemovalError, RemovedBy, VideoRemoval};
use shared::app::rights_requests::RightsRequests;
use shared::domain::clock::{Clock, from_epoch, rfc3339};
use shared::domain::clock::{DateTime, Utc};
use shared::domain::email::EmailAddress;
use shared::domain::ids::{AccountId, JobId};
use shared::domain::moderation::{AppealStatus, RefusalKind};
use shared::domain::policy::Policy;
use shared::domain::privacy::{RequestKind, RightsRequest};
use shared::domain::video::JobStatus;
use shared::edge::wiring::Base;

/// What the command needs of the environment, shown under `--help`.
const ENVIRONMENT: &str = "\
environment: ACCOUNTS_TABLE SESSIONS_TABLE PRIVACY_TABLE AUDIT_TABLE VIDEOS_TABLE
LEDGER_TABLE BILLING_TABLE PRIVACY_QUEUE_URL GENERATE_QUEUE_URL INPUTS_BUCKET OUTPUTS_BUCKET
HASH_SECRET_PARAMETER MAIL_FROM SITE_URL, as the stack's outputs and parameters give them, and AWS_REGION;
AWS_ENDPOINT_URL for a local endpoint. Every action that changes something is written to
the audit log with who acted (--by) and why (--reason) (R20).";

/// The operators' command line, as people type it (`operator <command> --help`).
#[derive(clap::Parser, Debug)]
#[command(
    name = "operator",
    about = "The operators' command: accounts, videos, rights requests, refunds due and dead letters.",
    after_help = ENVIRONMENT
)]
struct Cli {
    #[command(subcommand)]
    command: CliCommand,
}

/// Who acts and why, as given; checked (present, not blank) by [`parse`] so the refusal
/// names R20 rather than a bare missing flag.
#[derive(clap::Args, Debug)]
struct WhyArgs {
    /// Who acts (written to the audit log).
    #[arg(long, value_name = "OPERATOR")]
    by: Option<String>,
    /// Why (written to the audit log).
    #[arg(long, value_name = "WHY")]
    reason: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
enum CliCommand {
    /// Finds the account that signs in with an address.
    FindAccount { email: String },
    /// Suspends an account: every session ends, no new one starts (R05, R20).
    Suspend {
        account_id: String,
        #[command(flatten)]
        why: WhyArgs,
    },
    /// Lifts a suspension.
    Reinstate {
        account_id: String,
        #[command(flatten)]
        why: WhyArgs,
    },
    /// Erases an account and keeps a keyed hash of its address, so it cannot sign up again.
    Terminate {
        account_id: String,
        #[command(flatten)]
        why: WhyArgs,
    },
    /// Erases the account of a child (R06).
    DeleteChild {
        email: String,
        #[command(flatten)]
        why: WhyArgs,
    },
    /// Removes a video as its owner's delete does, the provider's request stopped too;
    /// the owner is emailed the rule broken and how to appeal (R46).
    RemoveVideo {
        video_id: String,
        /// The rule the video breaks, one of the policy's content restrictions.
        #[arg(long, value_name = "RULE", default_value = "content_policy",
              value_parser = clap::builder::PossibleValuesParser::new(shared::domain::moderation::category::REMOVAL_RULES))]
        rule: String,
        #[command(flatten)]
        why: WhyArgs,
    },
    /// Lists open appeals, soonest due first (those due within 3 days flagged), and the
    /// decided ones whose person was not told yet (R46).
    Appeals,
    /// Decides an appeal: upheld restores what the refusal took (its violation, a
    /// suspension it caused, credits it kept); either way the person is emailed (R46).
    DecideAppeal {
        appeal_id: String,
        #[arg(value_parser = ["upheld", "rejected"])]
        outcome: String,
        /// Why, sent to the person.
        decision: String,
        /// Who decides (written to the audit log).
        #[arg(long, value_name = "OPERATOR")]
        by: Option<String>,
    },
    /// Once, after the deploy that adds the library's filters: names the model of every
    /// job stored before models existed (the default, as the API already shows it), so
    /// the model filter lists it; and records each job still being made as a user of
    /// its upload, so a video made again from it cannot delete its image. Reads the
    /// whole videos table (a Scan); safe to run again.
    UpgradeLibrary,
    /// Lists open rights requests due within N days (overdue ones flagged) and failed ones (R30).
    DueRequests {
        #[arg(long, value_name = "N", default_value_t = 7)]
        within_days: i64,
    },
    /// Retries a failed rights request at once (R30): open again, and handed over.
    RetryRequest {
        request_id: String,
        #[command(flatten)]
        why: WhyArgs,
    },
    /// Lists payments made after their account was erased: refund each at Creem (R28).
    RefundsDue,
    /// Moves dead letters back to their queue, once their cause is fixed.
    Redrive {
        /// The dead-letter queue's URL.
        from: String,
        /// The queue's URL.
        to: String,
    },
}

/// Why a command line was refused.
#[derive(Debug)]
pub enum ParseError {
    /// The line itself (an unknown command, a missing or extra argument), or a request
    /// for help or the version: clap prints it as it should and exits with its code.
    Line(clap::Error),
    /// An action without who or why (R20).
    Why(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(e) => write!(f, "{e}"),
            Self::Why(m) => f.write_str(m),
        }
    }
}

/// Who acted and why: required of every action that changes something (R20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    FindAccount {
        email: String,
    },
    Suspend {
        account_id: String,
        why: Why,
    },
    Reinstate {
        account_id: String,
        why: Why,
    },
    Terminate {
        account_id: String,
        why: Why,
    },
    DeleteChild {
        email: String,
        why: Why,
    },
    RemoveVideo {
        video_id: String,
        rule: String,
        why: Why,
    },
    Appeals,
    DecideAppeal {
        appeal_id: String,
        upheld: bool,
        why: Why,
    },
    DueRequests {
        within_days: i64,
    },
    RetryRequest {
        request_id: String,
        why: Why,
    },
    RefundsDue,
    Redrive {
        from: String,
        to: String,
    },
    UpgradeLibrary,
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("no account has this address")]
    NoSuchAccount,
    #[error("no such account or video")]
    NotFound,
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("storage: {0}")]
    Blob(#[from] shared::adapters::s3::BlobError),
    #[error("removing the video: {0}")]
    Removal(#[from] RemovalError),
    #[error("queue: {0}")]
    Queue(#[from] shared::adapters::sqs::QueueError),
    #[error("the video kept changing; try again")]
    Busy,
    #[error("mail: {0}; run the command again to send it")]
    Mail(String),
}

/// Reads the command line (without the program's name).
pub fn parse(args: &[String]) -> Result<Command, String> {
    parse_line(args).map_err(|e| e.to_string())
}

/// Reads the command line (without the program's name), keeping clap's own errors so
/// `--help` prints and exits as it should.
pub fn parse_line(args: &[String]) -> Result<Command, ParseError> {
    use clap::Parser;
    let cli =
        Cli::try_parse_from(std::iter::once("operator").chain(args.iter().map(String::as_str)))
            .map_err(ParseError::Line)?;
    let trimmed = |v: String| v.trim().to_owned();
    let why = |name: &str, w: WhyArgs| -> Result<Why, ParseError> {
        let get = |flag: &str, v: Option<String>| {
            v.map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ParseError::Why(format!(
                        "{name} needs --{flag} (R20: every action says who and why)"
                    ))
                })
        };
        Ok(Why {
            by: get("by", w.by)?,
            reason: get("reason", w.reason)?,
        })
    };
    Ok(match cli.command {
        CliCommand::FindAccount { email } => Command::FindAccount {
            email: trimmed(email),
        },
        CliCommand::Suspend { account_id, why: w } => Command::Suspend {
            account_id: trimmed(account_id),
            why: why("suspend", w)?,
        },
        CliCommand::Reinstate { account_id, why: w } => Command::Reinstate {
            account_id: trimmed(account_id),
            why: why("reinstate", w)?,
        },
        CliCommand::Terminate { account_id, why: w } => Command::Terminate {
            account_id: trimmed(account_id),
            why: why("terminate", w)?,
        },
        CliCommand::DeleteChild { email, why: w } => Command::DeleteChild {
            email: trimmed(email),
            why: why("delete-child", w)?,
        },
        CliCommand::Appeals => Command::Appeals,
        CliCommand::DecideAppeal {
            appeal_id,
            outcome,
            decision,
            by,
        } => Command::DecideAppeal {
            appeal_id: trimmed(appeal_id),
            upheld: outcome == "upheld",
            why: why(
                "decide-appeal",
                WhyArgs {
                    by,
                    reason: Some(decision),
                },
            )?,
        },
        CliCommand::RemoveVideo {
            video_id,
            rule,
            why: w,
        } => Command::RemoveVideo {
            video_id: trimmed(video_id),
            rule,
            why: why("remove-video", w)?,
        },
        CliCommand::DueRequests { within_days } => Command::DueRequests { within_days },
        CliCommand::RetryRequest { request_id, why: w } => Command::RetryRequest {
            request_id: trimmed(request_id),
            why: why("retry-request", w)?,
        },
        CliCommand::RefundsDue => Command::RefundsDue,
        CliCommand::Redrive { from, to } => Command::Redrive { from, to },
        CliCommand::UpgradeLibrary => Command::UpgradeLibrary,
    })
}

/// R30: how `due-requests` shows a request: overdue once its due date is before `now`,
/// with why it failed, if it did.
fn due_row(r: &RightsRequest, now: DateTime<Utc>) -> Value {
    json!({
        "id": r.id,
        "account_id": r.account_id,
        "kind": r.kind.as_str(),
        "status": r.status.as_str(),
        "requested_at": rfc3339(r.requested_at),
        "due_by": rfc3339(r.due_by),
        "overdue": r.due_by < now,
        "failure": r.failure,
    })
}

pub struct Operator {
    accounts: AccountStore,
    audit: AuditStore,
    privacy: PrivacyStore,
    billing: shared::adapters::dynamo::billing::BillingStore,
    rights_requests: RightsRequests,
    enforcement: Enforcement,
    removal: VideoRemoval,
    appeals: Appeals,
    mailer: shared::adapters::ses::Mailer,
    sqs: aws_sdk_sqs::Client,
    clock: Clock,
    policy: Policy,
    hash_secret: shared::domain::secret::Secret,
}

impl Operator {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Self {
            accounts: w.accounts()?,
            audit: w.audit()?,
            privacy: w.privacy()?,
            billing: w.billing()?,
            rights_requests: w.rights_requests()?,
            enforcement: w.enforcement()?,
            removal: w.video_removal()?,
            appeals: w.appeals()?,
            mailer: w.mailer()?,
            sqs: base.aws.sqs().clone(),
            hash_secret: w.hash_secret()?,
            clock: base.clock.clone(),
            policy: base.policy.clone(),
        })
    }

    pub async fn run(&self, command: Command) -> Result<Value, OpError> {
        match command {
            Command::FindAccount { email } => {
                let a = self.by_email(&email).await?;
                Ok(
                    json!({ "id": a.id, "status": a.status.as_str(), "created_at": rfc3339(a.created_at) }),
                )
            }
            Command::Suspend { account_id, why } => {
                self.exists(&account_id).await?;
                let changed = self
                    .enforcement
                    .suspend(&AccountId::new(account_id.as_str()), &why.by, &why.reason)
                    .await?;
                Ok(json!({ "account_id": account_id, "suspended": changed }))
            }
            Command::Reinstate { account_id, why } => {
                self.exists(&account_id).await?;
                let changed = self.accounts.reinstate(&account_id).await?;
                if changed {
                    self.record(&why, "reinstate", &account_id).await?;
                }
                Ok(json!({ "account_id": account_id, "reinstated": changed }))
            }
            Command::Terminate { account_id, why } => {
                let a = self
                    .accounts
                    .get(&account_id)
                    .await?
                    .ok_or(OpError::NotFound)?;
                // R28: the address's keyed hash stays, for fraud prevention.
                let hash = shared::domain::crypto::keyed_hash(
                    self.hash_secret.expose().as_bytes(),
                    "email",
                    &a.email,
                );
                let block = self.accounts.block_write(
                    &hash,
                    &rfc3339(self.clock.now()),
                    self.policy.accounting_ends(self.clock.epoch_secs()),
                )?;
                self.erase(&a.id, &why, "terminate", Some(("block", block)))
                    .await
            }
            Command::DeleteChild { email, why } => {
                let a = self.by_email(&email).await?;
                self.erase(&a.id, &why, "delete_child_account", None).await
            }
            Command::RemoveVideo {
                video_id,
                rule,
                why,
            } => self.remove_video(&video_id, &rule, &why).await,
            Command::Appeals => self.appeals().await,
            Command::DecideAppeal {
                appeal_id,
                upheld,
                why,
            } => self.decide_appeal(&appeal_id, upheld, &why).await,
            Command::DueRequests { within_days } => {
                let by = self.clock.epoch_secs() + within_days * 86400;
                let now = self.clock.now_secs();
                let mut due = self.privacy.open_requests(&rfc3339(from_epoch(by))).await?;
                // R30: the failed ones too, whatever their due date: people finish them.
                due.extend(self.privacy.failed_requests().await?);
                Ok(Value::Array(
                    due.into_iter().map(|r| due_row(&r, now)).collect(),
                ))
            }
            Command::RetryRequest { request_id, why } => {
                let Some(request) = self
                    .privacy
                    .failed_requests()
                    .await?
                    .into_iter()
                    .find(|r| r.id == request_id)
                else {
                    return Err(OpError::NotFound);
                };
                self.record(&why, "retry_rights_request", &request.account_id)
                    .await?;
                let retried = self.rights_requests.retry(&request).await?;
                Ok(json!({ "id": request.id, "kind": request.kind.as_str(), "retried": retried }))
            }
            Command::RefundsDue => self.refunds_due().await,
            Command::UpgradeLibrary => self.upgrade_library().await,
            Command::Redrive { from, to } => {
                // The steps are idempotent: a message handled before does no harm.
                let moved = shared::adapters::sqs::redrive(&self.sqs, &from, &to).await?;
                Ok(json!({ "moved": moved, "from": from, "to": to }))
            }
        }
    }

    /// `upgrade-library`: see its help. Counts what it changed; a second run changes
    /// nothing.
    async fn upgrade_library(&self) -> Result<Value, OpError> {
        let videos = &self.removal.jobs.videos;
        let mut named = 0;
        if let Some(default) = shared::domain::models::shipped_default_id() {
            for id in videos.jobs_without_model().await? {
                named += u32::from(videos.name_model(&id, &default).await?);
            }
        }
        // Jobs still being made were made within a job's deadline; a week covers it.
        let now = self.clock.epoch_secs();
        let mut joined = 0;
        for days_ago in 0..7 {
            let day = shared::domain::clock::utc_day(now - days_ago * 86_400);
            for job in videos.active_made(&day, now).await? {
                if let Some(upload) = &job.upload_id {
                    joined += u32::from(videos.join_upload(upload, job.id.as_str()).await?);
                }
            }
        }
        Ok(json!({ "models_named": named, "uploads_joined": joined }))
    }

    /// R46: the open appeals, soonest due first, and the decided ones not told yet.
    async fn appeals(&self) -> Result<Value, OpError> {
        let now = self.clock.now_secs();
        let soon = from_epoch(self.clock.epoch_secs() + 3 * 86_400);
        let moderation = &self.appeals.refusals.moderation;
        let mut open = moderation.appeals_in_queue(false).await?;
        open.sort_by_key(|a| a.due_by);
        let untold = moderation.appeals_in_queue(true).await?;
        Ok(Value::Array(
            open.iter()
                .chain(untold.iter())
                .map(|a| {
                    json!({
                        "id": a.id,
                        "account_id": a.account_id,
                        "refusal_id": a.refusal_id,
                        "status": a.status.as_str(),
                        "message": a.message,
                        "created_at": rfc3339(a.created_at),
                        "due_by": rfc3339(a.due_by),
                        "due_soon": a.status == AppealStatus::Open && a.due_by <= soon,
                        "overdue": a.status == AppealStatus::Open && a.due_by < now,
                        // Decided, and the person not told yet: run decide-appeal again.
                        "untold": a.status != AppealStatus::Open,
                    })
                })
                .collect(),
        ))
    }

    /// R46: an appeal decided, its effects, the person told; audited.
    async fn decide_appeal(&self, id: &str, upheld: bool, why: &Why) -> Result<Value, OpError> {
        let decided = match self
            .appeals
            .decide(id, upheld, &why.reason, &self.mailer)
            .await
        {
            Ok(d) => d,
            Err(DecideError::NotFound) => return Err(OpError::NotFound),
            Err(DecideError::Store(e)) => return Err(e.into()),
            Err(DecideError::Mail(e)) => return Err(OpError::Mail(e.to_string())),
        };
        if decided.now {
            let outcome = if upheld { "upheld" } else { "rejected" };
            self.record(
                why,
                &format!("decide_appeal:{id}:{outcome}"),
                &decided.appeal.account_id,
            )
            .await?;
        }
        Ok(json!({
            "id": decided.appeal.id,
            "status": decided.appeal.status.as_str(),
            "decided_now": decided.now,
            "violation_forgiven": decided.violation_forgiven,
            "suspension_lifted": decided.suspension_lifted,
            "credits_returned": decided.credits_returned,
            "told": true,
        }))
    }

    /// R20: removes a video as its owner's `DELETE` does (the provider's request
    /// stopped too), and records who and why; R46: the owner is told which rule it
    /// broke and how to appeal, and what it cost is returned if the appeal is upheld.
    async fn remove_video(&self, video_id: &str, rule: &str, why: &Why) -> Result<Value, OpError> {
        let id = JobId::parse(video_id).ok_or(OpError::NotFound)?;
        // Read first: the refusal keeps what the video cost if it was ready (a video
        // still being made is refunded by its removal).
        let before = self
            .removal
            .jobs
            .videos
            .get(&id)
            .await?
            .ok_or(OpError::NotFound)?;
        let removed = match self.removal.remove(&id, RemovedBy::Operator).await {
            Ok(removed) => removed,
            Err(RemovalError::NotFound) => return Err(OpError::NotFound),
            Err(RemovalError::Busy) => return Err(OpError::Busy),
            Err(e) => return Err(e.into()),
        };
        self.record(
            why,
            &format!("remove_video:{video_id}"),
            &removed.account_id,
        )
        .await?;
        let refusals = &self.appeals.refusals;
        let kept = if before.status.is_active() || before.status == JobStatus::Deleted {
            0
        } else {
            before.cost
        };
        let refusal = refusals.new_refusal(
            &before.account_id,
            &id,
            RefusalKind::Removal,
            vec![rule.to_owned()],
            kept,
        );
        // Recorded once (a second run finds it), told once.
        let refusal = refusals.record(refusal, &self.enforcement).await?.refusal;
        let told = match self.accounts.get(&before.account_id).await? {
            Some(owner) => refusals
                .tell(
                    &self.mailer,
                    &owner.email,
                    &refusal,
                    self.policy.notice_lease.as_secs() as i64,
                )
                .await
                .map_err(|e| OpError::Mail(e.to_string()))?,
            None => false,
        };
        Ok(
            json!({ "video_id": video_id, "removed": true, "refusal_id": refusal.id, "owner_told": told }),
        )
    }

    /// R28: payments Creem made after their account was erased; none names anyone.
    async fn refunds_due(&self) -> Result<Value, OpError> {
        Ok(Value::Array(
            self.billing
                .refunds_due()
                .await?
                .into_iter()
                .map(|r| {
                    json!({
                        "what": "payment after erasure — refund due",
                        "order_id": r.order_id,
                        "subscription_id": r.subscription_id,
                        "amount": r.amount,
                        "currency": r.currency,
                        "product_id": r.product_id,
                        "event_type": r.event_type,
                        "at": r.at,
                    })
                })
                .collect(),
        ))
    }

    async fn by_email(&self, email: &str) -> Result<shared::domain::account::Account, OpError> {
        let email = EmailAddress::parse(email).map_err(|_| OpError::NoSuchAccount)?;
        self.accounts
            .find_by_email(email.as_str())
            .await?
            .ok_or(OpError::NoSuchAccount)
    }

    async fn exists(&self, account_id: &str) -> Result<(), OpError> {
        self.accounts
            .get(account_id)
            .await?
            .map(drop)
            .ok_or(OpError::NotFound)
    }

    /// Starts the erasure of an account (its sessions end at once) and records why.
    async fn erase(
        &self,
        account_id: &str,
        why: &Why,
        action: &str,
        with: Option<(&'static str, shared::adapters::dynamo::Write)>,
    ) -> Result<Value, OpError> {
        // Recorded first: the erasure pseudonymises the account's audit records too.
        self.record(why, action, account_id).await?;
        let request = self
            .rights_requests
            .new_request(&AccountId::new(account_id), RequestKind::Erasure);
        match self.rights_requests.submit(&request, with).await {
            Ok(()) => {}
            // Already being erased: nothing new to start.
            Err(e) if e.is_condition_failure() => {
                return Ok(json!({ "account_id": account_id, "erasure": "already under way" }));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(json!({ "account_id": account_id, "erasure_request": request.id }))
    }

    async fn record(&self, why: &Why, action: &str, account_id: &str) -> Result<(), OpError> {
        self.audit
            .record(&AuditEvent {
                actor: &why.by,
                action,
                account_id,
                reason: &why.reason,
                at: &rfc3339(self.clock.now()),
                expires_epoch: self.clock.epoch_secs()
                    + self.policy.security_event_retention.as_secs() as i64,
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::privacy::RequestStatus;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    fn why(by: &str, reason: &str) -> Why {
        Why {
            by: by.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn r20_every_action_that_changes_something_says_who_and_why() {
        assert_eq!(
            parse(&args("suspend acc_1 --by kim --reason spam")),
            Ok(Command::Suspend {
                account_id: "acc_1".into(),
                why: why("kim", "spam"),
            })
        );
        for command in [
            "suspend acc_1",
            "reinstate acc_1",
            "terminate acc_1",
            "delete-child kid@example.com",
            "remove-video vid_1",
        ] {
            let name = command.split(' ').next().unwrap();
            for missing in [
                command.to_owned(),
                format!("{command} --by kim"),
                format!("{command} --reason spam"),
            ] {
                let err = parse(&args(&missing)).unwrap_err();
                assert!(
                    err.contains(&format!("{name} needs --")),
                    "{missing}: {err}"
                );
                assert!(err.contains("R20"), "{err}");
            }
            assert!(parse(&args(&format!("{command} --by kim --reason spam"))).is_ok());
        }
    }

    #[test]
    fn r20_a_blank_name_or_reason_is_no_name_or_reason() {
        let blank = vec![
            "terminate".to_owned(),
            "acc_1".to_owned(),
            "--by".to_owned(),
            "  ".to_owned(),
            "--reason".to_owned(),
            "fraud".to_owned(),
        ];
        assert_eq!(
            parse(&blank).unwrap_err(),
            "terminate needs --by (R20: every action says who and why)"
        );
        let padded = vec![
            "reinstate".to_owned(),
            " acc_1 ".to_owned(),
            "--by".to_owned(),
            " kim ".to_owned(),
            "--reason".to_owned(),
            " appeal upheld ".to_owned(),
        ];
        assert_eq!(
            parse(&padded),
            Ok(Command::Reinstate {
                account_id: "acc_1".into(),
                why: why("kim", "appeal upheld"),
            })
        );
    }

    #[test]
    fn an_action_names_exactly_one_account_or_video() {
        for (line, says) in [
            ("suspend --by kim --reason spam", "<ACCOUNT_ID>"),
            ("suspend acc_1 acc_2 --by kim --reason spam", "acc_2"),
            ("remove-video --by kim --reason spam", "<VIDEO_ID>"),
            ("find-account", "<EMAIL>"),
            ("find-account a@example.com b@example.com", "b@example.com"),
        ] {
            let err = parse(&args(line)).unwrap_err();
            assert!(err.contains(says), "{line}: {err}");
        }
        assert_eq!(
            parse(&args("find-account kim@example.com")),
            Ok(Command::FindAccount {
                email: "kim@example.com".into()
            })
        );
        let err = parse(&args("suspend acc_1 --by")).unwrap_err();
        assert!(err.contains("--by"), "{err}");
    }

    #[test]
    fn r30_due_requests_looks_seven_days_ahead_unless_told() {
        assert_eq!(
            parse(&args("due-requests")),
            Ok(Command::DueRequests { within_days: 7 })
        );
        assert_eq!(
            parse(&args("due-requests --within-days 30")),
            Ok(Command::DueRequests { within_days: 30 })
        );
        assert!(parse(&args("due-requests --within-days soon")).is_err());
    }

    #[test]
    fn help_is_given_for_the_whole_and_for_each_command() {
        match parse_line(&args("--help")) {
            Err(ParseError::Line(e)) => {
                assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
                let text = e.to_string();
                for command in ["find-account", "terminate", "due-requests", "redrive"] {
                    assert!(text.contains(command), "{text}");
                }
                assert!(text.contains("HASH_SECRET_PARAMETER"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        match parse_line(&args("terminate --help")) {
            Err(ParseError::Line(e)) => {
                let text = e.to_string();
                assert!(
                    text.contains("--by <OPERATOR>") && text.contains("--reason <WHY>"),
                    "{text}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_or_incomplete_commands_are_refused() {
        assert!(parse(&[]).unwrap_err().contains("Usage"));
        let err = parse(&args("delete acc_1")).unwrap_err();
        assert!(err.contains("unrecognized subcommand 'delete'"), "{err}");
        assert!(parse(&args("redrive https://sqs/dlq")).is_err());
        assert_eq!(
            parse(&args("redrive https://sqs/dlq https://sqs/q")),
            Ok(Command::Redrive {
                from: "https://sqs/dlq".into(),
                to: "https://sqs/q".into(),
            })
        );
        assert_eq!(parse(&args("refunds-due")), Ok(Command::RefundsDue));
    }

    fn time(t: &str) -> DateTime<Utc> {
        shared::domain::clock::parse_time(t).unwrap()
    }

    #[test]
    fn r30_a_request_is_overdue_once_its_due_date_has_passed() {
        let mut r = RightsRequest {
            id: "req_1".into(),
            account_id: AccountId::new("acc_1"),
            kind: RequestKind::Erasure,
            status: RequestStatus::Failed,
            requested_at: time("2026-11-01T00:00:00Z"),
            due_by: time("2026-12-01T00:00:00Z"),
            trail: Vec::new(),
            export_key: None,
            completed_at: None,
            subscriptions_cancelled: None,
            failure: Some("creem: answered 503".into()),
        };
        let row = due_row(&r, time("2026-12-01T00:00:01Z"));
        assert_eq!(row["overdue"], true);
        assert_eq!(
            (row["kind"].as_str(), row["status"].as_str()),
            (Some("erasure"), Some("failed"))
        );
        assert_eq!(row["failure"], "creem: answered 503");
        assert_eq!(due_row(&r, time("2026-12-01T00:00:00Z"))["overdue"], false);
        r.failure = None;
        assert_eq!(
            due_row(&r, time("2026-11-30T23:59:59Z"))["failure"],
            Value::Null
        );
    }
}
