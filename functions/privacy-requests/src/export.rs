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

use serde_json::{Map, Value, json};
use shared::adapters::dynamo::privacy::RightsRequest;
use shared::adapters::ses::{Email, MailError};
use shared::domain::inventory::{ClassId, exported};
use shared::domain::privacy::{EXPORT_SCHEMA_VERSION, RequestStatus};
use shared::edge::sqs::StepError;

use crate::gather;
use crate::state::Services;

pub const EXPORT_CONTENT_TYPE: &str = "application/json";

pub async fn run(state: &Services, request: &RightsRequest) -> Result<(), StepError> {
    let account_id = &request.account_id;
    let Some(account) = state.accounts.get(account_id).await? else {
        // The account was erased meanwhile: nothing left to export.
        return Ok(());
    };
    let mut data = Map::new();
    let mut profile = None;
    for (class, name) in exported() {
        let value = match class {
            ClassId::Identities => gather::identities(profile.as_ref()),
            _ => {
                let items = gather::items(state, class, account_id)
                    .await?
                    .unwrap_or_default();
                if class == ClassId::Profile {
                    profile = items.first().cloned();
                }
                gather::exported(&items, state.clock.epoch_secs())
            }
        };
        data.insert(name.to_owned(), value);
    }
    let document = json!({
        "schema_version": EXPORT_SCHEMA_VERSION,
        "generated_at": state.now(),
        "account_id": account_id,
        "data": Value::Object(data),
    });
    let key = format!("exports/{}.json", request.id);
    let body = serde_json::to_vec_pretty(&document).map_err(|e| StepError::Drop(e.to_string()))?;
    state
        .blobs
        .put_bytes(
            &state.exports_bucket,
            &key,
            body,
            super::EXPORT_CONTENT_TYPE,
        )
        .await
        .map_err(StepError::retry)?;
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
            &state.now(),
            Some(&key),
        )
        .await?;
    tracing::info!(event = "export_completed", "export completed");
    Ok(())
}
