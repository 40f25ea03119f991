//! `generate` (SQS, the generate queue): takes a job from `queued` to its output in the
//! outputs bucket (R13, R16).
//!
//! One message is one look at one job; the job's record says what to do next, so a
//! message delivered twice does no harm. Waiting for the provider is a new message
//! with a delay, never a sleep inside Lambda. The provider has until the policy's
//! deadline; then the job fails and is refunded. Once the file is stored, `deliver`
//! (fed by the bucket's event) takes over.

mod state;
mod step;

use aws_lambda_events::event::sqs::SqsMessage;
use shared::adapters::sqs::GenerateMessage;
use shared::edge::queue_batch::{QueueStep, StepError};
use tracing::Instrument;

pub use state::{GenerateState, Services};

impl QueueStep for crate::state::Services {
    const FUNCTION: &'static str = "generate";

    async fn step(&self, message: &SqsMessage) -> Result<(), StepError> {
        let msg: GenerateMessage = message
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .ok_or_else(|| StepError::Drop("unreadable generate message".into()))?;
        let span = tracing::info_span!("job", job_id = %msg.job_id);
        let look = match (&msg.completed, msg.stop) {
            (Some(request_id), _) => step::Look::Completed(request_id),
            (None, true) => step::Look::Stop,
            (None, false) => step::Look::Chain(msg.token.as_deref()),
        };
        step::run(self, &msg.job_id, look, msg.sent_epoch)
            .instrument(span)
            .await
    }
}
