//! Queue consumers that do what Lambda's SQS event source does: receive a batch, hand
//! it to the function's handler as an `SqsEvent`, delete what succeeded, and leave the
//! reported failures to come back after the visibility timeout (and, after the
//! queue's `maxReceiveCount`, to go to its dead-letter queue).
//!
//! Which queue feeds which function, and the batch size, come from the template.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use rand::seq::SliceRandom;
use serde_norway::Value;

use crate::functions::{BatchHandler, Functions};
use crate::provision::Refs;
use crate::template::Template;

#[derive(Clone)]
pub struct Consumer {
    /// The function's binary name (`generate`, `deliver`).
    pub function: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: i32,
    handler: BatchHandler,
    sqs: aws_sdk_sqs::Client,
    region: String,
    /// Every message handed over twice, in shuffled order.
    duplicate: bool,
    /// A visibility timeout for the running consumer instead of the queue's own (a
    /// failed message comes back sooner in tests).
    pub visibility: Option<i32>,
    /// How long each invocation took, with how many messages it had (`make bench`).
    pub invocations: std::sync::Arc<std::sync::Mutex<Vec<(usize, std::time::Duration)>>>,
}

/// How one poll went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollOutcome {
    pub received: usize,
    pub failed: usize,
}

impl Consumer {
    /// One receive and one invocation. `ack: false` plays a consumer that crashes
    /// after doing the work: nothing is deleted, so every message comes back after
    /// `visibility` seconds (the queue's own timeout if `None`).
    pub async fn poll_once(
        &self,
        ack: bool,
        visibility: Option<i32>,
        wait_secs: i32,
    ) -> PollOutcome {
        let messages = self.receive(visibility, wait_secs).await;
        self.invoke(messages, ack).await
    }

    /// One receive of up to a batch.
    async fn receive(
        &self,
        visibility: Option<i32>,
        wait_secs: i32,
    ) -> Vec<aws_sdk_sqs::types::Message> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(wait_secs)
            .set_visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        match out {
            Ok(o) => o.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(function = %self.function, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "receive failed");
                Vec::new()
            }
        }
    }

    /// The function invoked with a received batch; what succeeded is deleted.
    async fn invoke(&self, messages: Vec<aws_sdk_sqs::types::Message>, ack: bool) -> PollOutcome {
        if messages.is_empty() {
            return PollOutcome::default();
        }
        let mut receipts = HashMap::new();
        let records = messages
            .into_iter()
            .map(|m| {
                let id = m.message_id.clone().unwrap_or_default();
                receipts.insert(id.clone(), m.receipt_handle.clone().unwrap_or_default());
                let mut record = SqsMessage::default();
                record.message_id = Some(id);
                record.receipt_handle = m.receipt_handle;
                record.body = m.body;
                record.md5_of_body = m.md5_of_body;
                record.attributes = m
                    .attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v))
                    .collect();
                record.event_source = Some("aws:sqs".into());
                record.event_source_arn = Some(self.queue_arn.clone());
                record.aws_region = Some(self.region.clone());
                record
            })
            .collect::<Vec<_>>();
        let received = records.len();
        let mut records = records;
        if self.duplicate {
            records.extend(records.clone());
            records.shuffle(&mut rand::rng());
        }
        let mut event = SqsEvent::default();
        event.records = records;
        let started = std::time::Instant::now();
        let response = (self.handler)(event).await;
        if let Ok(mut took) = self.invocations.lock() {
            took.push((received, started.elapsed()));
        }
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        if ack {
            let entries = receipts
                .iter()
                .filter(|(id, _)| !failed.contains(id))
                .enumerate()
                .filter_map(|(i, (_, receipt))| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .receipt_handle(receipt)
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            if !entries.is_empty() {
                let _ = self
                    .sqs
                    .delete_message_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await;
            }
        }
        PollOutcome {
            received,
            failed: failed.len(),
        }
    }

    /// Polls until the task is aborted, as the event source does.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                // Short polls: the local endpoint serves one request at a time, and a
                // long poll would hold it.
                let outcome = me.poll_once(true, me.visibility, 0).await;
                if outcome.received == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        })
    }
}

/// Every SQS event source the template declares, with its function's handler.
pub fn from_template(
    template: &Template,
    refs: &Refs,
    functions: &Functions,
    aws: &shared::adapters::aws::AwsClients,
    region: &str,
    duplicate: bool,
) -> Result<Vec<Consumer>, String> {
    let mut consumers = Vec::new();
    for f in template.resources_of("AWS::Serverless::Function") {
        let events = f.properties.get("Events").and_then(Value::as_mapping);
        for (_, event) in events.into_iter().flatten() {
            if event.get("Type").and_then(Value::as_str) != Some("SQS") {
                continue;
            }
            let props = &event["Properties"];
            let queue = props
                .get("Queue")
                .and_then(|q| match q {
                    Value::Tagged(t) if t.tag == "!GetAtt" => {
                        t.value.as_str()?.strip_suffix(".Arn")
                    }
                    _ => None,
                })
                .ok_or_else(|| format!("{}: SQS event without a queue", f.logical_id))?;
            let binary = template
                .function_binary(f.logical_id)
                .ok_or_else(|| format!("{}: no binary", f.logical_id))?;
            let handler = functions
                .batch_handler(&binary)
                .ok_or_else(|| format!("{}: no local handler for {binary}", f.logical_id))?;
            consumers.push(Consumer {
                function: binary,
                queue_url: refs.refs.get(queue).cloned().unwrap_or_default(),
                queue_arn: refs.arns.get(queue).cloned().unwrap_or_default(),
                batch_size: props.get("BatchSize").and_then(Value::as_i64).unwrap_or(10) as i32,
                handler,
                sqs: aws.sqs().clone(),
                region: region.to_owned(),
                duplicate,
                visibility: None,
                invocations: Default::default(),
            });
        }
    }
    Ok(consumers)
}
