//! SQS: the generate queue's messages, sent now or later (the way `generate` waits for
//! a provider without sleeping inside Lambda).

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};

/// SQS's longest delivery delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateMessage {
    pub job_id: String,
    /// The job's polling chain this message belongs to: a step acts only if it is the
    /// job's current `poll_token`, so a copy of a message never starts a second chain.
    #[serde(default)]
    pub token: Option<String>,
    /// Set when the provider called to say this request (its id) ended: one look now,
    /// which starts no polling chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Set by `sweep` for a job it ended at its deadline: stop the provider's request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop: bool,
    /// When the submission sent it (epoch seconds). The submission sends it beside the
    /// commit of its job, so it may arrive first: a step that finds no job looks again
    /// shortly while the message is young (see `generate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_epoch: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
#[error("sqs: {0}")]
pub struct QueueError(pub String);

#[derive(Clone, Debug)]
pub struct Queue {
    client: super::aws::OnDemand<Client>,
    generate_url: String,
}

impl Queue {
    pub fn new(client: super::aws::OnDemand<Client>, generate_url: impl Into<String>) -> Self {
        Self {
            client,
            generate_url: generate_url.into(),
        }
    }

    pub async fn send_generate(
        &self,
        msg: &GenerateMessage,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_string(msg).map_err(|e| QueueError(e.to_string()))?;
        let delay = delay.min(MAX_DELAY).as_secs() as i32;
        self.client
            .send_message()
            .queue_url(&self.generate_url)
            .message_body(body)
            .delay_seconds(delay)
            .send()
            .await
            .map_err(|e| QueueError(e.code().unwrap_or("dispatch_failure").to_owned()))?;
        Ok(())
    }
}

/// A rights request to carry out (R26, R28): which one, and whose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyMessage {
    pub request_id: String,
    pub account_id: String,
    /// A second pass over an erased account, some minutes after it completed: what an
    /// eventually consistent index did not show the first pass (an item written just
    /// as the erasure began) is found and erased then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recheck: bool,
}

/// The queue of rights requests, read by `privacy-requests`.
#[derive(Clone, Debug)]
pub struct PrivacyQueue {
    client: super::aws::OnDemand<Client>,
    url: String,
}

impl PrivacyQueue {
    pub fn new(client: super::aws::OnDemand<Client>, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub async fn send(&self, msg: &PrivacyMessage) -> Result<(), QueueError> {
        self.send_later(msg, Duration::ZERO).await
    }

    /// Sends `msg` to be delivered after `delay` (at most SQS's 15 minutes).
    pub async fn send_later(
        &self,
        msg: &PrivacyMessage,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_string(msg).map_err(|e| QueueError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay.min(MAX_DELAY).as_secs() as i32)
            .send()
            .await
            .map_err(|e| QueueError(e.code().unwrap_or("dispatch_failure").to_owned()))?;
        Ok(())
    }
}

/// Moves every message of `from` (a dead-letter queue) back to `to`, ten at a time:
/// received, sent, then deleted; returns how many moved. A crash between the send and
/// the delete leaves a copy in both, which the idempotent steps absorb. (On AWS,
/// `StartMessageMoveTask` does the same; this works against any endpoint.)
pub async fn redrive(client: &Client, from: &str, to: &str) -> Result<usize, QueueError> {
    let code = |e: &dyn ProvideErrorMetadata| {
        QueueError(e.code().unwrap_or("dispatch_failure").to_owned())
    };
    let mut moved = 0;
    loop {
        let out = client
            .receive_message()
            .queue_url(from)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|e| code(&e))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(moved);
        }
        for m in messages {
            client
                .send_message()
                .queue_url(to)
                .message_body(m.body.unwrap_or_default())
                .send()
                .await
                .map_err(|e| code(&e))?;
            client
                .delete_message()
                .queue_url(from)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .map_err(|e| code(&e))?;
            moved += 1;
        }
    }
}
