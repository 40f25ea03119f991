//! Reads every item of one data class of one person, for the export and the erasure.
//! The match is exhaustive over the inventory's classes: a new class does not compile
//! until it says where its items are.

use serde_json::{Value, json};
use shared::adapters::dynamo::billing::BillingStore;
use shared::adapters::dynamo::privacy::PrivacyStore;
use shared::adapters::dynamo::table::item_json;
use shared::adapters::dynamo::{Item, StoreError};
use shared::domain::inventory::ClassId;

use crate::state::Services;

pub const UPLOADS_INDEX: &str = "uploads_by_owner";
pub const BY_ACCOUNT: &str = "by_account";

/// The items of `class` that belong to `account_id`, as stored. `None` for a class
/// that is not kept per person (files come with their records; see the callers).
pub async fn items(
    state: &Services,
    class: ClassId,
    account_id: &str,
) -> Result<Option<Vec<Item>>, StoreError> {
    let privacy =
        |prefix: &'static str| async move { state.privacy.items(account_id, prefix).await };
    let billing = |prefix: &'static str| async move {
        Ok::<_, StoreError>(
            state
                .billing
                .table()
                .by_index(BY_ACCOUNT, "account_id", account_id)
                .await?
                .into_iter()
                .filter(|i| {
                    i.get("pk")
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|pk| pk.starts_with(prefix))
                })
                .collect(),
        )
    };
    let one = |item: Option<Item>| item.into_iter().collect::<Vec<_>>();
    Ok(Some(match class {
        ClassId::Profile => one(state.accounts.profile_item(account_id).await?),
        // Identities are read from the profile (its address and Google subject).
        ClassId::Identities => return Ok(None),
        ClassId::Consents
        | ClassId::RightsRequests
        | ClassId::SupportMessages
        | ClassId::UsageData
        | ClassId::SecurityEvents => match PrivacyStore::prefix_of(class) {
            Some(prefix) => privacy(prefix).await?,
            None => Vec::new(),
        },
        ClassId::Sessions => {
            let keys = state
                .sessions
                .table()
                .by_index(BY_ACCOUNT, "account_id", account_id)
                .await?;
            let mut sessions = Vec::new();
            for k in keys {
                let pk = shared::adapters::dynamo::get_s(&k, "pk")?;
                sessions.extend(state.sessions.table().get(&pk).await?);
            }
            sessions
        }
        ClassId::Videos => {
            state
                .videos
                .table()
                .by_index(BY_ACCOUNT, "account_id", account_id)
                .await?
        }
        ClassId::Uploads => {
            state
                .videos
                .table()
                .by_index(UPLOADS_INDEX, "owner", account_id)
                .await?
        }
        ClassId::LedgerEntries => {
            state
                .ledger
                .table()
                .by_index(BY_ACCOUNT, "account_id", account_id)
                .await?
        }
        ClassId::Balance => one(state
            .ledger
            .table()
            .get(&shared::adapters::dynamo::ledger::balance_pk(account_id))
            .await?),
        ClassId::Payments | ClassId::Checkouts | ClassId::Subscriptions => {
            match BillingStore::prefix_of(class) {
                Some(prefix) => billing(prefix).await?,
                None => Vec::new(),
            }
        }
        ClassId::Plan => one(state
            .billing
            .table()
            .get(&shared::adapters::dynamo::billing::plan_pk(account_id))
            .await?),
        ClassId::AuditLog => {
            state
                .audit
                .table()
                .by_index(BY_ACCOUNT, "account_id", account_id)
                .await?
        }
        // Keyed hashes and files: not items of a person's partition.
        ClassId::Codes
        | ClassId::RateLimits
        | ClassId::InputFiles
        | ClassId::OutputFiles
        | ClassId::StagedFiles
        | ClassId::ExportFiles
        | ClassId::WebhookEvents
        | ClassId::Blocklist
        | ClassId::Logs => return Ok(None),
    }))
}

/// One page of the items of `class`, after `start`, and where the next begins: the
/// classes of the account's partition (usage data above all) page by page, the others
/// whole (they are small: a profile, a balance, a few hundred videos at most).
pub async fn page(
    state: &Services,
    class: ClassId,
    account_id: &str,
    start: Option<Item>,
) -> Result<(Vec<Item>, Option<Item>), StoreError> {
    if let Some(prefix) = PrivacyStore::prefix_of(class) {
        return state
            .privacy
            .items_page(account_id, prefix, start, state.policy.export_page_items)
            .await;
    }
    Ok((
        items(state, class, account_id).await?.unwrap_or_default(),
        None,
    ))
}

/// The items as the export shows them: every attribute but the table's own keys.
/// An item past its retention at `now` is gone, whatever DynamoDB's TTL has done yet.
pub fn exported(items: &[Item], now: i64) -> Value {
    Value::Array(
        items
            .iter()
            .filter(|i| {
                i.get("ttl")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_none_or(|ttl| ttl > now)
            })
            .map(|i| {
                let mut v = item_json(i);
                if let Some(o) = v.as_object_mut() {
                    for internal in ["pk", "sk", "ttl", "open_queue"] {
                        o.remove(internal);
                    }
                }
                v
            })
            .collect(),
    )
}

/// The identities of a profile item.
pub fn identities(profile: Option<&Item>) -> Value {
    let Some(p) = profile else {
        return json!([]);
    };
    let s = |n: &str| p.get(n).and_then(|v| v.as_s().ok()).cloned();
    let mut out =
        vec![json!({"provider": "email", "email": s("email"), "linked_at": s("created_at")})];
    if let Some(sub) = s("google_sub") {
        out.push(json!({"provider": "google", "sub": sub, "linked_at": s("google_linked_at")}));
    }
    Value::Array(out)
}
