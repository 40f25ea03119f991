//! One SQS batch: each message on its own, failures reported per message
//! (ReportBatchItemFailures) so only those come back after the visibility timeout;
//! a message that keeps failing ends in the dead-letter queue.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use shared::VideoState;
use shared::queue::GenerateMessage;

use crate::step::{StepError, run};

pub async fn handle_batch(state: &VideoState, event: SqsEvent) -> SqsBatchResponse {
    let steps = event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let msg: Option<GenerateMessage> = record.body.as_deref().and_then(|b| serde_json::from_str(b).ok());
        let Some(msg) = msg else {
            // Retrying cannot fix a message we cannot read: drop it, loudly.
            tracing::error!(message_id = %id, "unreadable generate message dropped");
            return None;
        };
        match run(state, &msg.job_id).await {
            Ok(()) => None,
            Err(StepError(reason)) => {
                tracing::warn!(message_id = %id, job_id = %msg.job_id, reason, "generate step failed; it will be retried");
                Some(id)
            }
        }
    });
    let failures = futures_util::future::join_all(steps).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
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
