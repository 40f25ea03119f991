//! The SQS batch runner of every queue function (`ReportBatchItemFailures`): each
//! message handled on its own, concurrently, in a span that names it; only the ones
//! whose step asked for a retry are reported, so only those come back after the
//! visibility timeout — and, past the queue's `maxReceiveCount`, go to its dead-letter
//! queue.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

/// How a step that did not finish ends for its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// Could not finish for now (a dependency failed): the message comes back later.
    #[error("retry: {0}")]
    Retry(String),
    /// Retrying cannot help (an unreadable message): it is logged and deleted.
    #[error("dropped: {0}")]
    Drop(String),
}

impl StepError {
    /// A failure of a dependency, to be retried.
    pub fn retry(e: impl std::fmt::Display) -> Self {
        Self::Retry(e.to_string())
    }
}

impl From<crate::adapters::dynamo::StoreError> for StepError {
    fn from(e: crate::adapters::dynamo::StoreError) -> Self {
        Self::retry(e)
    }
}

/// A queue function: its name (for logs) and what it does with one message.
pub trait QueueStep: Send + Sync {
    const FUNCTION: &'static str;
    fn step(&self, message: &SqsMessage) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// Runs the function's step on every message of the batch.
pub async fn run_batch<S: QueueStep>(state: &S, event: SqsEvent) -> SqsBatchResponse {
    let cold_start = super::telemetry::cold_start();
    let runs = event.records.iter().map(|message| {
        let id = message.message_id.clone().unwrap_or_default();
        let span =
            tracing::info_span!("message", function = S::FUNCTION, message_id = %id, cold_start);
        async move {
            match state.step(message).await {
                Ok(()) => None,
                Err(StepError::Drop(reason)) => {
                    tracing::error!(reason, "message dropped: retrying cannot help");
                    None
                }
                Err(StepError::Retry(reason)) => {
                    tracing::warn!(reason, "step failed; the message will be retried");
                    Some(id)
                }
            }
        }
        .instrument(span)
    });
    let failed = futures_util::future::join_all(runs).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .flatten()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}
