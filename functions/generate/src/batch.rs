//! One SQS batch of generate messages.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shared::VideoState;
use shared::queue::GenerateMessage;
use shared::sqs_batch::run_batch;

use crate::step::{StepError, run};

pub async fn handle_batch(state: &VideoState, event: SqsEvent) -> SqsBatchResponse {
    run_batch(event, |message| async move {
        let msg: Option<GenerateMessage> = message
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok());
        let Some(msg) = msg else {
            tracing::error!(message_id = ?message.message_id, "unreadable generate message dropped");
            return Ok(());
        };
        run(state, &msg.job_id)
            .await
            .map_err(|StepError(reason)| format!("job {}: {reason}", msg.job_id))
    })
    .await
}
