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
        | ClassId::SecurityEvents
        | ClassId::Refusals
        | ClassId::Appeals => match PrivacyStore::prefix_of(class) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::dynamo::{n, s};

    const NOW: i64 = 1_800_000_000;

    macro_rules! item {
        ($($k:literal => $v:expr),* $(,)?) => {
            Item::from([$(($k.to_string(), $v)),*])
        };
    }

    #[test]
    fn r26_the_export_shows_every_attribute_but_the_tables_own_keys() {
        let shown = exported(
            &[item! {
                "pk" => s("acc#acc_1"), "sk" => s("usage#1"), "ttl" => n(NOW + 60),
                "open_queue" => s("2026-12-01"), "event" => s("video_made"), "cost" => n(2),
            }],
            NOW,
        );
        assert_eq!(shown, json!([{ "event": "video_made", "cost": 2 }]));
    }

    #[test]
    fn r22_r26_an_item_past_its_retention_is_not_exported_whatever_the_ttl_has_done() {
        let items = [
            item! { "id" => s("expired"), "ttl" => n(NOW) },
            item! { "id" => s("older"), "ttl" => n(NOW - 3600) },
            item! { "id" => s("kept"), "ttl" => n(NOW + 1) },
            item! { "id" => s("forever") },
            // A `ttl` that is no number does not hide the record.
            item! { "id" => s("odd"), "ttl" => s("soon") },
        ];
        let ids: Vec<_> = exported(&items, NOW)
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, ["kept", "forever", "odd"]);
    }

    #[test]
    fn r26_identities_are_the_address_and_a_linked_google_account() {
        assert_eq!(identities(None), json!([]));
        let email_only = item! {
            "email" => s("kim@example.com"), "created_at" => s("2026-12-01T00:00:00Z"),
        };
        assert_eq!(
            identities(Some(&email_only)),
            json!([{ "provider": "email", "email": "kim@example.com", "linked_at": "2026-12-01T00:00:00Z" }])
        );
        let mut linked = email_only.clone();
        linked.insert("google_sub".into(), s("sub-1"));
        linked.insert("google_linked_at".into(), s("2026-12-02T00:00:00Z"));
        let shown = identities(Some(&linked));
        assert_eq!(shown.as_array().unwrap().len(), 2);
        assert_eq!(
            shown[1],
            json!({ "provider": "google", "sub": "sub-1", "linked_at": "2026-12-02T00:00:00Z" })
        );
    }
}
