//! The export (R26): every class of the inventory that holds the person's data, in one
//! JSON document, stored in the private exports bucket (its lifecycle is the link's 72
//! hours) and announced by email. The document's schema (`schema_version`):
//!
//! ```text
//! { "schema_version": "2026-11-30", "generated_at": RFC 3339, "account_id": "acc_…",
//!   "data": { "account": [..], "identities": [..], "consent_history": [..],
//!             "privacy_requests": [..], "support_messages": [..], "usage_data": [..],
//!             "security_events": [..], "sessions": [..], "videos": [..],
//!             "uploads": [..], "ledger": [..], "balance": [..], "payments": [..],
//!             "checkouts": [..], "subscriptions": [..], "plan": [..],
//!             "audit_log": [..] } }
//! ```
//! Each list holds the class's records with every stored attribute (table keys aside);
//! the class names are the inventory's `export_as`.

use bytes::Bytes;
use futures_util::Stream;
use serde_json::Value;
use shared::adapters::dynamo::{Item, StoreError};
use shared::adapters::s3::ObjectMeta;
use shared::adapters::ses::{Email, MailError};
use shared::domain::clock::rfc3339;
use shared::domain::inventory::{ClassId, exported};
use shared::domain::privacy::RightsRequest;
use shared::domain::privacy::{EXPORT_SCHEMA_VERSION, RequestStatus};
use shared::edge::queue_batch::StepError;

use crate::gather;
use crate::state::Services;

pub const EXPORT_CONTENT_TYPE: &str = "application/json";

pub async fn run(state: &Services, request: &RightsRequest) -> Result<(), StepError> {
    let account_id = &request.account_id;
    let Some(account) = state.accounts.get(account_id).await? else {
        // The account was erased meanwhile: nothing left to export.
        return Ok(());
    };
    let key = format!("exports/{}.json", request.id);
    // Written as it is read, a page at a time, in parts: a heavy account's document
    // never sits in memory whole (R26).
    let document = Document::new(state, account_id, rfc3339(state.now())).into_stream();
    let bytes = state
        .blobs
        .upload_stream(
            &state.exports_bucket,
            &key,
            ObjectMeta {
                content_type: EXPORT_CONTENT_TYPE,
                metadata: &[],
            },
            document,
        )
        .await
        .map_err(StepError::retry)?;
    tracing::info!(event = "export_written", bytes, "export document written");
    let hours = state.policy.export_link_ttl.as_secs() / 3600;
    let text = format!(
        "The copy of your Sora2 AI data you asked for is ready.\n\n\
         Download it within {hours} hours from your account: {}/v1/me/requests/{}\n",
        state.public_url, request.id
    );
    match state
        .mailer
        .send(Email {
            to: &account.email,
            subject: "Your Sora2 AI data export is ready",
            text: &text,
        })
        .await
    {
        Ok(_) | Err(MailError::Rejected(_)) => {}
        Err(e) => return Err(StepError::retry(e)),
    }
    // Last, so a crash before it redoes the export rather than losing it.
    state
        .privacy
        .advance(
            account_id,
            &request.id,
            RequestStatus::Completed,
            state.now(),
            Some(&key),
        )
        .await?;
    tracing::info!(event = "export_completed", "export completed");
    shared::adapters::metrics::count(
        shared::adapters::metrics::Metric::RightsRequestsCompleted,
        &[(shared::adapters::metrics::Dim::Outcome, "export")],
    );
    Ok(())
}

/// The records of a shown list, taken out of it (no copy of a page).
fn records_of(shown: Value) -> Vec<Value> {
    match shown {
        Value::Array(records) => records,
        _ => Vec::new(),
    }
}

/// Where the document's writing is.
enum Step {
    Header,
    /// The class at `index` of the exported ones; `start` is where its next page
    /// starts, `written` how many of its records are out.
    Class {
        index: usize,
        start: Option<Item>,
        begun: bool,
        written: usize,
    },
    Done,
}

/// The export document, produced piece by piece: its header, then each class's
/// records a page at a time, then its end.
struct Document<'a> {
    state: &'a Services,
    account_id: &'a str,
    generated_at: String,
    classes: Vec<(ClassId, &'static str)>,
    /// The profile, read first, from which the identities are shown.
    profile: Option<Item>,
    step: Step,
}

impl<'a> Document<'a> {
    fn new(state: &'a Services, account_id: &'a str, generated_at: String) -> Self {
        Self {
            state,
            account_id,
            generated_at,
            classes: exported().collect(),
            profile: None,
            step: Step::Header,
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<Bytes, StoreError>> + Unpin + 'a {
        Box::pin(futures_util::stream::unfold(Some(self), |doc| async move {
            let mut doc = doc?;
            match doc.next_piece().await {
                Ok(Some(piece)) => Some((Ok(Bytes::from(piece)), Some(doc))),
                Ok(None) => None,
                // The upload is aborted; nothing more is read.
                Err(e) => Some((Err(e), None)),
            }
        }))
    }

    /// The next piece of JSON text, or `None` at the end.
    async fn next_piece(&mut self) -> Result<Option<String>, StoreError> {
        let text = |v: &str| Value::String(v.to_owned()).to_string();
        match std::mem::replace(&mut self.step, Step::Done) {
            Step::Done => Ok(None),
            Step::Header => {
                self.step = Step::Class {
                    index: 0,
                    start: None,
                    begun: false,
                    written: 0,
                };
                Ok(Some(format!(
                    "{{\"schema_version\":{},\"generated_at\":{},\"account_id\":{},\"data\":{{",
                    text(EXPORT_SCHEMA_VERSION),
                    text(&self.generated_at),
                    text(self.account_id),
                )))
            }
            Step::Class { index, .. } if index == self.classes.len() => Ok(Some("}}".into())),
            Step::Class {
                index,
                start,
                begun,
                mut written,
            } => {
                let (class, name) = self.classes[index];
                let mut out = String::new();
                if !begun {
                    if index > 0 {
                        out.push(',');
                    }
                    out.push_str(&format!("{}:[", text(name)));
                }
                let (records, next) = if class == ClassId::Identities {
                    let shown = gather::identities(self.profile.as_ref());
                    (records_of(shown), None)
                } else {
                    let (items, next) =
                        gather::page(self.state, class, self.account_id, start).await?;
                    if class == ClassId::Profile {
                        self.profile = items.first().cloned();
                    }
                    let shown = gather::exported(&items, self.state.clock.epoch_secs());
                    (records_of(shown), next)
                };
                for record in records {
                    if written > 0 {
                        out.push(',');
                    }
                    out.push_str(&record.to_string());
                    written += 1;
                }
                self.step = match next {
                    Some(start) => Step::Class {
                        index,
                        start: Some(start),
                        begun: true,
                        written,
                    },
                    None => {
                        out.push(']');
                        Step::Class {
                            index: index + 1,
                            start: None,
                            begun: false,
                            written: 0,
                        }
                    }
                };
                Ok(Some(out))
            }
        }
    }
}
