//! One DynamoDB transaction: labelled writes, committed all or nothing.
//!
//! Every write is added under a label that says what it is for (`"debit"`, `"job"`,
//! `"marker"`), so a cancellation is reported by label and reason, and a caller tells
//! "this was done already" (its condition failed) from "DynamoDB could not do it now"
//! (throttling, a conflict that outlived the retries) without counting positions in a
//! list. Only the first answer means nothing changed for a reason the caller can act
//! on; the others must be retried by whoever sent the cause (a 503, a failed batch).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::StoreError;

/// One write of a transaction, as a store builds it.
pub type Write = TransactWriteItem;

/// How many times a transaction is tried in all while DynamoDB cancels it only for a
/// conflict with another one in flight.
pub const TRANSACTION_ATTEMPTS: u32 = 8;

/// Why DynamoDB cancelled one write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelReason {
    /// Its condition did not hold: the thing exists already, or changed.
    ConditionalCheckFailed,
    /// The item's partition was throttled (`ThrottlingError`,
    /// `ProvisionedThroughputExceeded`).
    Throttled,
    /// Another transaction was touching the item (`TransactionConflict`).
    Conflict,
    /// Anything else (`ValidationError`, `ItemCollectionSizeLimitExceeded`, …).
    Other(String),
}

impl CancelReason {
    /// The reason for one of DynamoDB's cancellation codes; `None` for `"None"`.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "None" | "" => return None,
            "ConditionalCheckFailed" => Self::ConditionalCheckFailed,
            "ThrottlingError" | "ProvisionedThroughputExceeded" => Self::Throttled,
            "TransactionConflict" => Self::Conflict,
            other => Self::Other(other.to_owned()),
        })
    }
}

/// A cancelled transaction: each write's label and, where it was a cause, its reason,
/// in the order the writes were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cancellation {
    pub writes: Vec<(&'static str, Option<CancelReason>)>,
}

impl Cancellation {
    fn reasons(&self) -> impl Iterator<Item = &CancelReason> {
        self.writes.iter().filter_map(|(_, r)| r.as_ref())
    }

    /// The reason of the first write under `label` that has one.
    pub fn reason(&self, label: &str) -> Option<&CancelReason> {
        self.writes
            .iter()
            .filter(|(l, _)| *l == label)
            .find_map(|(_, r)| r.as_ref())
    }

    /// Whether a write under `label` failed its condition.
    pub fn failed(&self, label: &str) -> bool {
        self.writes
            .iter()
            .any(|(l, r)| *l == label && *r == Some(CancelReason::ConditionalCheckFailed))
    }

    /// The labels of the writes whose condition failed.
    pub fn failed_labels(&self) -> Vec<&'static str> {
        self.writes
            .iter()
            .filter(|(_, r)| *r == Some(CancelReason::ConditionalCheckFailed))
            .map(|(l, _)| *l)
            .collect()
    }

    /// Whether conditions, and nothing else, cancelled it: the answer is final.
    pub fn only_conditions(&self) -> bool {
        let mut reasons = self.reasons().peekable();
        reasons.peek().is_some() && reasons.all(|r| *r == CancelReason::ConditionalCheckFailed)
    }

    /// Whether conflicts with transactions in flight, and nothing else, cancelled it:
    /// trying again is DynamoDB's documented answer.
    pub fn only_conflicts(&self) -> bool {
        let mut reasons = self.reasons().peekable();
        reasons.peek().is_some() && reasons.all(|r| *r == CancelReason::Conflict)
    }
}

/// Where transactions begin: the one DynamoDB client, held by the code that commits
/// the writes of several stores together, so it never holds the SDK's client itself.
#[derive(Clone, Debug)]
pub struct Transactions {
    client: Client,
}

impl Transactions {
    pub fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
        }
    }

    /// An empty transaction.
    pub fn begin(&self) -> Tx {
        Tx::new(&self.client)
    }
}

/// A transaction being put together.
#[derive(Debug, Clone)]
pub struct Tx {
    client: Client,
    writes: Vec<(&'static str, Write)>,
}

impl Tx {
    /// Only where the client is held (`Transactions::begin`): code above the adapters
    /// begins a transaction from `Transactions`, never from a client of its own.
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            writes: Vec::new(),
        }
    }

    /// Adds one write under `label`.
    pub fn add(&mut self, label: &'static str, write: Write) -> &mut Self {
        self.writes.push((label, write));
        self
    }

    /// Adds several writes under one label (the entry and balance of a ledger effect).
    pub fn add_all(
        &mut self,
        label: &'static str,
        writes: impl IntoIterator<Item = Write>,
    ) -> &mut Self {
        self.writes.extend(writes.into_iter().map(|w| (label, w)));
        self
    }

    /// Removes every write under `label` (a part that turned out to be done already).
    pub fn remove(&mut self, label: &str) -> &mut Self {
        self.writes.retain(|(l, _)| *l != label);
        self
    }

    pub fn has(&self, label: &str) -> bool {
        self.writes.iter().any(|(l, _)| *l == label)
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Commits every write or none. A cancellation caused only by conflicts with
    /// transactions in flight is tried again after a short, jittered wait (the writes
    /// and their conditions are the same, so a retry cannot apply anything twice);
    /// anything else is returned at once, as [`StoreError::Cancelled`] with the labels.
    pub async fn commit(&self) -> Result<(), StoreError> {
        let items: Vec<Write> = self.writes.iter().map(|(_, w)| w.clone()).collect();
        let mut attempt = 1;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.error(e));
            match result {
                Err(e) if e.is_conflict() && attempt < TRANSACTION_ATTEMPTS => {
                    tokio::time::sleep(conflict_backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn error<R>(&self, err: SdkError<TransactWriteItemsError, R>) -> StoreError {
        match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                let mut codes = c.cancellation_reasons().iter().map(|r| r.code());
                StoreError::Cancelled(Cancellation {
                    writes: self
                        .writes
                        .iter()
                        .map(|(label, _)| {
                            (
                                *label,
                                codes.next().flatten().and_then(CancelReason::from_code),
                            )
                        })
                        .collect(),
                })
            }
            _ => StoreError::from_sdk(err),
        }
    }
}

/// "Full jitter": a random wait up to 10 ms × 2^attempt, so the transactions that
/// collided do not collide again in step.
fn conflict_backoff(attempt: u32) -> std::time::Duration {
    use rand::Rng;
    let cap_ms = 10u64 << attempt.min(6);
    std::time::Duration::from_millis(rand::rng().random_range(1..=cap_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cancelled(writes: &[(&'static str, Option<&str>)]) -> Cancellation {
        Cancellation {
            writes: writes
                .iter()
                .map(|(l, c)| (*l, c.and_then(CancelReason::from_code)))
                .collect(),
        }
    }

    #[test]
    fn a_condition_is_final_only_when_nothing_else_cancelled() {
        let c = cancelled(&[
            ("marker", None),
            ("credits", Some("ConditionalCheckFailed")),
        ]);
        assert!(c.only_conditions());
        assert!(c.failed("credits") && !c.failed("marker"));
        assert_eq!(c.failed_labels(), ["credits"]);
        let mixed = cancelled(&[
            ("marker", Some("ThrottlingError")),
            ("credits", Some("ConditionalCheckFailed")),
        ]);
        assert!(!mixed.only_conditions(), "throttling is not an answer");
        assert_eq!(mixed.reason("marker"), Some(&CancelReason::Throttled));
        let none = cancelled(&[("marker", Some("None"))]);
        assert!(!none.only_conditions() && !none.only_conflicts());
    }

    #[test]
    fn only_pure_conflicts_are_retried() {
        let c = cancelled(&[("a", Some("TransactionConflict")), ("b", None)]);
        assert!(StoreError::Cancelled(c).is_conflict());
        let c = cancelled(&[
            ("a", Some("TransactionConflict")),
            ("b", Some("ConditionalCheckFailed")),
        ]);
        assert!(!StoreError::Cancelled(c.clone()).is_conflict());
        assert!(!StoreError::Cancelled(c).is_condition_failure());
    }
}
