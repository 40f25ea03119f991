//! The operators' command: find an account by email; suspend, reinstate, terminate;
//! delete a child's account (R06); remove a video; list rights requests near or past
//! their due date (R30); list payments that came after their account was erased, to
//! refund (R28); move dead letters back to their queue. Every action is written to the audit log with who acted and
//! why (R20). It is a program for people with the stack's AWS access, never deployed.

use serde_json::{Value, json};
use shared::adapters::dynamo::StoreError;
use shared::adapters::dynamo::accounts::AccountStore;
use shared::adapters::dynamo::audit::{AuditEvent, AuditStore};
use shared::adapters::dynamo::privacy::PrivacyStore;
use shared::adapters::dynamo::videos::VideoStore;
use shared::adapters::env::{ConfigError, Env};
use shared::app::enforcement::Enforcement;
use shared::app::removal::{RemovalError, Removed, VideoRemoval};
use shared::app::requests::Requests;
use shared::domain::clock::{Clock, from_epoch, rfc3339};
use shared::domain::email::EmailAddress;
use shared::domain::policy::Policy;
use shared::domain::privacy::{RequestKind, RightsRequest};
use shared::edge::wiring::Base;

pub const USAGE: &str = "\
usage: operator <command>
  find-account <email>
  suspend <account_id> --by <operator> --reason <why>
  reinstate <account_id> --by <operator> --reason <why>
  terminate <account_id> --by <operator> --reason <why>     (erases; keeps a keyed hash of the address)
  delete-child <email> --by <operator> --reason <why>       (R06: erases the account of a child)
  remove-video <video_id> --by <operator> --reason <why>
  due-requests [--within-days N]                            (open rights requests due within N days, 7 by default, and failed ones)
  refunds-due                                               (payments after erasure: refund each at Creem)
  redrive <dead-letter queue URL> <queue URL>               (moves dead letters back once the cause is fixed)

environment: ACCOUNTS_TABLE SESSIONS_TABLE PRIVACY_TABLE AUDIT_TABLE VIDEOS_TABLE
LEDGER_TABLE BILLING_TABLE PRIVACY_QUEUE_URL GENERATE_QUEUE_URL INPUTS_BUCKET OUTPUTS_BUCKET HASH_SECRET_PARAMETER,
as the stack's outputs and parameters give them.";

/// Who acted and why: required of every action that changes something (R20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    FindAccount { email: String },
    Suspend { account_id: String, why: Why },
    Reinstate { account_id: String, why: Why },
    Terminate { account_id: String, why: Why },
    DeleteChild { email: String, why: Why },
    RemoveVideo { video_id: String, why: Why },
    DueRequests { within_days: i64 },
    RefundsDue,
    Redrive { from: String, to: String },
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
}

/// Reads the command line (without the program's name).
pub fn parse(args: &[String]) -> Result<Command, String> {
    let (name, rest) = args.split_first().ok_or("no command")?;
    let mut positional = Vec::new();
    let mut flags = std::collections::BTreeMap::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if let Some(flag) = a.strip_prefix("--") {
            let v = it.next().ok_or(format!("--{flag} needs a value"))?;
            flags.insert(flag.to_owned(), v.clone());
        } else {
            positional.push(a.clone());
        }
    }
    let one = |what: &str| -> Result<String, String> {
        match positional.as_slice() {
            [v] if !v.trim().is_empty() => Ok(v.trim().to_owned()),
            _ => Err(format!("{name} takes one {what}")),
        }
    };
    let why = || -> Result<Why, String> {
        let get = |k: &str| {
            flags
                .get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(format!(
                    "{name} needs --{k} (R20: every action says who and why)"
                ))
        };
        Ok(Why {
            by: get("by")?,
            reason: get("reason")?,
        })
    };
    Ok(match name.as_str() {
        "find-account" => Command::FindAccount {
            email: one("email")?,
        },
        "suspend" => Command::Suspend {
            account_id: one("account id")?,
            why: why()?,
        },
        "reinstate" => Command::Reinstate {
            account_id: one("account id")?,
            why: why()?,
        },
        "terminate" => Command::Terminate {
            account_id: one("account id")?,
            why: why()?,
        },
        "delete-child" => Command::DeleteChild {
            email: one("email")?,
            why: why()?,
        },
        "remove-video" => Command::RemoveVideo {
            video_id: one("video id")?,
            why: why()?,
        },
        "due-requests" => Command::DueRequests {
            within_days: flags
                .get("within-days")
                .map(|v| {
                    v.parse()
                        .map_err(|_| "--within-days takes a number of days")
                })
                .transpose()?
                .unwrap_or(7),
        },
        "refunds-due" => Command::RefundsDue,
        "redrive" => match positional.as_slice() {
            [from, to] => Command::Redrive {
                from: from.clone(),
                to: to.clone(),
            },
            _ => return Err("redrive takes a dead-letter queue URL and a queue URL".into()),
        },
        other => return Err(format!("unknown command {other}")),
    })
}

/// R30: how `due-requests` shows a request: overdue once its due date is before `now`
/// (both RFC 3339 in UTC, which order as text), with why it failed, if it did.
fn due_row(r: &RightsRequest, now: &str) -> Value {
    json!({
        "id": r.id,
        "account_id": r.account_id,
        "kind": r.kind.as_str(),
        "status": r.status.as_str(),
        "requested_at": r.requested_at,
        "due_by": r.due_by,
        "overdue": r.due_by.as_str() < now,
        "failure": r.failure,
    })
}

pub struct Operator {
    accounts: AccountStore,
    audit: AuditStore,
    privacy: PrivacyStore,
    videos: VideoStore,
    billing: shared::adapters::dynamo::billing::BillingStore,
    requests: Requests,
    enforcement: Enforcement,
    removal: VideoRemoval,
    sqs: aws_sdk_sqs::Client,
    clock: Clock,
    policy: Policy,
    hash_secret: Vec<u8>,
}

impl Operator {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        let w = base.wire(env);
        Ok(Self {
            accounts: w.accounts()?,
            audit: w.audit()?,
            privacy: w.privacy()?,
            videos: w.videos()?,
            billing: w.billing()?,
            requests: w.requests()?,
            enforcement: w.enforcement()?,
            removal: w.video_removal()?,
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
                Ok(json!({ "id": a.id, "status": a.status.as_str(), "created_at": a.created_at }))
            }
            Command::Suspend { account_id, why } => {
                self.exists(&account_id).await?;
                let changed = self
                    .enforcement
                    .suspend(&account_id, &why.by, &why.reason)
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
                let hash = shared::domain::crypto::keyed_hash(&self.hash_secret, "email", &a.email);
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
            Command::RemoveVideo { video_id, why } => self.remove_video(&video_id, &why).await,
            Command::DueRequests { within_days } => {
                let by = self.clock.epoch_secs() + within_days * 86400;
                let now = rfc3339(self.clock.now());
                let mut due = self.privacy.open_requests(&rfc3339(from_epoch(by))).await?;
                // R30: the failed ones too, whatever their due date: people finish them.
                due.extend(self.privacy.failed_requests().await?);
                Ok(Value::Array(
                    due.into_iter().map(|r| due_row(&r, &now)).collect(),
                ))
            }
            Command::RefundsDue => self.refunds_due().await,
            Command::Redrive { from, to } => {
                // The steps are idempotent: a message handled before does no harm.
                let moved = shared::adapters::sqs::redrive(&self.sqs, &from, &to).await?;
                Ok(json!({ "moved": moved, "from": from, "to": to }))
            }
        }
    }

    /// R20: removes a video as its owner's `DELETE` does (the provider's request
    /// stopped too), and records who and why.
    async fn remove_video(&self, video_id: &str, why: &Why) -> Result<Value, OpError> {
        // Two tries: the job may move on (generating → ready) between read and write.
        for _ in 0..2 {
            let job = self.videos.get(video_id).await?.ok_or(OpError::NotFound)?;
            let removed = match self.removal.remove(&job).await? {
                Removed::Now | Removed::Already => true,
                Removed::MovedOn => continue,
            };
            self.record(why, &format!("remove_video:{video_id}"), &job.account_id)
                .await?;
            return Ok(json!({ "video_id": video_id, "removed": removed }));
        }
        Err(OpError::Busy)
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
        let request = self.requests.new_request(account_id, RequestKind::Erasure);
        match self.requests.submit(&request, with).await {
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
        for line in [
            "suspend --by kim --reason spam",
            "suspend acc_1 acc_2 --by kim --reason spam",
            "remove-video --by kim --reason spam",
            "find-account",
            "find-account a@example.com b@example.com",
        ] {
            let err = parse(&args(line)).unwrap_err();
            assert!(err.contains("takes one"), "{line}: {err}");
        }
        assert_eq!(
            parse(&args("find-account kim@example.com")),
            Ok(Command::FindAccount {
                email: "kim@example.com".into()
            })
        );
        assert_eq!(
            parse(&args("suspend acc_1 --by")).unwrap_err(),
            "--by needs a value"
        );
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
    fn unknown_or_incomplete_commands_are_refused() {
        assert_eq!(parse(&[]).unwrap_err(), "no command");
        assert_eq!(
            parse(&args("delete acc_1")).unwrap_err(),
            "unknown command delete"
        );
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

    #[test]
    fn r30_a_request_is_overdue_once_its_due_date_has_passed() {
        let mut r = RightsRequest {
            id: "req_1".into(),
            account_id: "acc_1".into(),
            kind: RequestKind::Erasure,
            status: RequestStatus::Failed,
            requested_at: "2026-11-01T00:00:00Z".into(),
            due_by: "2026-12-01T00:00:00Z".into(),
            trail: Vec::new(),
            export_key: None,
            completed_at: None,
            subscriptions_cancelled: None,
            failure: Some("creem: answered 503".into()),
        };
        let row = due_row(&r, "2026-12-01T00:00:01Z");
        assert_eq!(row["overdue"], true);
        assert_eq!(
            (row["kind"].as_str(), row["status"].as_str()),
            (Some("erasure"), Some("failed"))
        );
        assert_eq!(row["failure"], "creem: answered 503");
        assert_eq!(due_row(&r, "2026-12-01T00:00:00Z")["overdue"], false);
        r.failure = None;
        assert_eq!(due_row(&r, "2026-11-30T23:59:59Z")["failure"], Value::Null);
    }
}
