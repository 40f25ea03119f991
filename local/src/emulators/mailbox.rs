//! `GET /_local/emails?to=ADDRESS`: the mail the service sent, read back from the
//! local AWS endpoint's record of SES messages (`/moto-api/data.json`, `.ses.Message`).
//!
//! The endpoint records no send time, so the mailbox stamps each message the first
//! time it sees it; order is the order of sending.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::domain::clock::rfc3339;
use shared::edge::http::ApiQuery;
use shared::edge::problem::ApiError;

pub struct Mailbox {
    aws_endpoint: String,
    http: reqwest::Client,
    first_seen: Mutex<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct MailQuery {
    to: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedEmail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub sent_at: String,
}

impl Mailbox {
    pub fn new(aws_endpoint: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            aws_endpoint: aws_endpoint.into(),
            http: reqwest::Client::new(),
            first_seen: Mutex::default(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/_local/emails", get(list))
            .with_state(self.clone())
    }

    /// Every message sent to `to` (case-insensitive), oldest first.
    pub async fn messages_to(&self, to: &str) -> Result<Vec<ReceivedEmail>, ApiError> {
        let data: Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.aws_endpoint))
            .send()
            .await
            .map_err(|e| shared::edge::problem::unavailable("local_aws", e))?
            .json()
            .await
            .map_err(|e| shared::edge::problem::unavailable("local_aws", e))?;
        let messages = data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let to = to.trim().to_lowercase();
        let mut seen = self.first_seen.lock().map_err(|_| ApiError::Internal)?;
        let now = rfc3339(chrono::Utc::now());
        Ok(messages
            .iter()
            .filter_map(|m| {
                let recipients: Vec<String> = ["ToAddresses", "CcAddresses", "BccAddresses"]
                    .iter()
                    .flat_map(|k| m["destinations"][k].as_array().cloned().unwrap_or_default())
                    .filter_map(|v| v.as_str().map(str::to_lowercase))
                    .collect();
                if !recipients.contains(&to) {
                    return None;
                }
                let id = m["id"].as_str().unwrap_or_default().to_owned();
                let sent_at = seen.entry(id).or_insert_with(|| now.clone()).clone();
                Some(ReceivedEmail {
                    to: recipients,
                    subject: m["subject"].as_str().unwrap_or_default().to_owned(),
                    body: m["body"].as_str().unwrap_or_default().to_owned(),
                    sent_at,
                })
            })
            .collect())
    }
}

async fn list(
    State(mailbox): State<Arc<Mailbox>>,
    ApiQuery(q): ApiQuery<MailQuery>,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = mailbox
        .messages_to(&q.to)
        .await?
        .into_iter()
        .map(|m| {
            // With both parts the endpoint keeps only the HTML one.
            let is_html = m.body.trim_start().starts_with('<');
            json!({
                "to": m.to.join(", "),
                "subject": m.subject,
                "text": if is_html { Value::Null } else { Value::String(m.body.clone()) },
                "html": if is_html { Value::String(m.body) } else { Value::Null },
                "headers": {},
                "sent_at": m.sent_at,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
