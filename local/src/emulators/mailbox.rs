//! `GET /_local/emails?to=ADDRESS`: the mail the service sent, read back from the
//! local AWS endpoint's record of SES messages (`/moto-api/data.json`, `.ses.Message`).
//!
//! The endpoint records no send time, so the mailbox stamps each message the first
//! time it sees it; order is the order of sending. Raw MIME messages (marketing mail,
//! whose headers are ours) are read from `.ses.RawMessage` and show their headers.

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
    first_seen: Mutex<HashMap<String, (String, usize)>>,
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
    /// The message's own headers (raw messages only).
    pub headers: Vec<(String, String)>,
}

/// Splits a raw MIME message (a single text part) into its headers and body.
fn parse_raw(raw: &str) -> (Vec<(String, String)>, String) {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    (headers, body.trim_end().to_owned())
}

impl Mailbox {
    pub fn new(aws_endpoint: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            aws_endpoint: aws_endpoint.into(),
            http: crate::http_client(),
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
            // SES's records alone (local/moto_server.py); a plain moto ignores the
            // query and dumps every service, SES's among them.
            .get(format!(
                "{}/moto-api/data.json?service=ses",
                self.aws_endpoint
            ))
            .send()
            .await
            .map_err(|e| shared::edge::problem::unavailable("local_aws", e))?
            .json()
            .await
            .map_err(|e| shared::edge::problem::unavailable("local_aws", e))?;
        let to = to.trim().to_lowercase();
        let mut seen = self.first_seen.lock().map_err(|_| ApiError::Internal)?;
        let now = rfc3339(chrono::Utc::now());
        let mut found = Vec::new();
        let simple = data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for m in &simple {
            let recipients: Vec<String> = ["ToAddresses", "CcAddresses", "BccAddresses"]
                .iter()
                .flat_map(|k| m["destinations"][k].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_str().map(str::to_lowercase))
                .collect();
            found.push((
                m["id"].as_str().unwrap_or_default().to_owned(),
                recipients,
                m["subject"].as_str().unwrap_or_default().to_owned(),
                m["body"].as_str().unwrap_or_default().to_owned(),
                Vec::new(),
            ));
        }
        let raw = data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for m in &raw {
            let mut recipients: Vec<String> = m["destinations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_lowercase))
                .collect();
            recipients.dedup();
            let (headers, body) = parse_raw(m["raw_data"].as_str().unwrap_or_default());
            let subject = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("subject"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            found.push((
                m["id"].as_str().unwrap_or_default().to_owned(),
                recipients,
                subject,
                body,
                headers,
            ));
        }
        // Stamped in the order first seen; a counter keeps that order within a stamp.
        let mut out = Vec::new();
        for (id, recipients, subject, body, headers) in found {
            let n = seen.len();
            let (sent_at, order) = seen.entry(id).or_insert_with(|| (now.clone(), n)).clone();
            if recipients.contains(&to) {
                out.push((
                    order,
                    ReceivedEmail {
                        to: recipients,
                        subject,
                        body,
                        sent_at,
                        headers,
                    },
                ));
            }
        }
        out.sort_by_key(|(order, _)| *order);
        Ok(out.into_iter().map(|(_, m)| m).collect())
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
                "headers": m.headers.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<serde_json::Map<String, Value>>(),
                "sent_at": m.sent_at,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
