//! One SQS batch for a Lambda with `ReportBatchItemFailures`: every message handled on
//! its own (concurrently), and only the ones whose step failed reported, so only those
//! come back after the visibility timeout — and, past the queue's `maxReceiveCount`,
//! go to its dead-letter queue.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

/// Runs `step` on every message; an `Err` (its reason is logged) marks that message
/// failed. A message the step cannot read should be dropped with `Ok`, since retrying
/// cannot fix it.
pub async fn run_batch<F, Fut>(event: SqsEvent, step: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let runs = event.records.into_iter().map(|message| {
        let id = message.message_id.clone().unwrap_or_default();
        let fut = step(message);
        async move {
            match fut.await {
                Ok(()) => None,
                Err(reason) => {
                    tracing::warn!(message_id = %id, reason, "step failed; the message will be retried");
                    Some(id)
                }
            }
        }
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
