//! The accounts table: profiles and the unique keys that point at them.
//!
//! - `account#{id}`: the profile.
//! - `email#{address}`: the address's owner (R01: one account per address).
//! - `google#{sub}`: the Google identity's owner (R03).
//!
//! Unique keys are written in the same transaction as the profile, each with
//! `attribute_not_exists`, so two concurrent sign-ups of one address make one account.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, ReturnValue, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use super::{Item, StoreError, built, get_s, get_time, n, opt_s, opt_time, s, time};
use crate::domain::account::{Account, AccountStatus};
use crate::domain::ids::AccountId;

#[derive(Clone, Debug)]
pub struct AccountStore {
    client: Client,
    table: String,
}

fn account_pk(id: &str) -> String {
    format!("account#{id}")
}

fn email_pk(email: &str) -> String {
    format!("email#{email}")
}

fn google_pk(sub: &str) -> String {
    format!("google#{sub}")
}

impl AccountStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The whole table, for the walks over every data class (export, erasure).
    pub fn table(&self) -> super::table::Table {
        super::table::Table::new(self.client.clone(), &self.table)
    }

    async fn get_item(&self, pk: String) -> Result<Option<Item>, StoreError> {
        super::get_by_pk(&self.client, &self.table, pk).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.get_item(account_pk(id))
            .await?
            .map(|i| account_from_item(&i))
            .transpose()
    }

    async fn owner_of(&self, pk: String) -> Result<Option<Account>, StoreError> {
        match self.get_item(pk).await? {
            Some(item) => self.get(&get_s(&item, "account_id")?).await,
            None => Ok(None),
        }
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        self.owner_of(email_pk(email)).await
    }

    pub async fn find_by_google_sub(&self, sub: &str) -> Result<Option<Account>, StoreError> {
        self.owner_of(google_pk(sub)).await
    }

    /// The writes that create an account (profile, email key and, for a Google sign-up,
    /// the Google key). Each fails its condition if the key is taken.
    pub fn create_writes(&self, a: &Account) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut writes = vec![
            self.put_new(profile_item(a))?,
            self.put_new(pointer(email_pk(&a.email), &a.id))?,
        ];
        if let Some(sub) = &a.google_sub {
            writes.push(self.put_new(pointer(google_pk(sub), &a.id))?);
        }
        Ok(writes)
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        super::put_new_write(&self.table, item)
    }

    /// R03: links a Google identity to an existing account (both or neither written).
    /// Carries the sign-in's condition on the account (see [`Self::still_active_write`]),
    /// since a transaction may touch an item once.
    pub fn link_google_writes(
        &self,
        account: &Account,
        sub: &str,
        linked_at: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let account_id = account.id.as_str();
        let (active, values) = still_active(account.session_epoch);
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(account_id)))
            .update_expression("SET google_sub = :sub, google_linked_at = :at")
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists(google_sub) AND {active}"
            ))
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":sub", s(sub))
            .expression_attribute_values(":at", time(linked_at));
        for (k, v) in values {
            update = update.expression_attribute_values(k, v);
        }
        Ok(vec![
            self.put_new(pointer(google_pk(sub), account_id))?,
            TransactWriteItem::builder()
                .update(built(update.build())?)
                .build(),
        ])
    }

    /// R20, R45: the write that records a violation at `now` (epoch seconds), made
    /// in the transaction that records its refusal, so that one is never kept without
    /// the other.
    pub fn violation_write(&self, id: &str, now: i64) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .update_expression(
                "SET violations = list_append(if_not_exists(violations, :empty), :now)",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":now", AttributeValue::L(vec![n(now)]));
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// How many violations the account has had within `window` seconds of `now`.
    /// Older ones are pruned as it goes.
    pub async fn violations_within(
        &self,
        id: &str,
        now: i64,
        window: i64,
    ) -> Result<u32, StoreError> {
        let item = super::get_by_pk(&self.client, &self.table, account_pk(id)).await?;
        let all: Vec<i64> = item
            .as_ref()
            .and_then(|a| a.get("violations"))
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|x| x.as_n().ok()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let recent: Vec<i64> = all.iter().copied().filter(|t| *t > now - window).collect();
        if recent.len() < all.len() {
            // Best effort: a lost prune only keeps a few old numbers a while longer.
            let _ = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(account_pk(id)))
                .update_expression("SET violations = :recent")
                .condition_expression("size(violations) = :seen")
                .expression_attribute_values(
                    ":recent",
                    AttributeValue::L(recent.iter().map(|t| n(*t)).collect()),
                )
                .expression_attribute_values(":seen", n(all.len()))
                .send()
                .await;
        }
        Ok(u32::try_from(recent.len()).unwrap_or(u32::MAX))
    }

    /// R20: suspends an active account. `Ok(false)` if it was not active.
    /// `reason` is kept with the suspension: one for repeated violations may be lifted
    /// by an upheld appeal (R46), one an operator made only by an operator.
    pub async fn suspend(&self, id: &str, at: &str, reason: &str) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            // Moving the epoch on ends every session at once (R05).
            .update_expression(
                "SET #st = :suspended, suspended_at = :at, suspended_for = :why ADD session_epoch :one",
            )
            .expression_attribute_values(":why", s(reason))
            .condition_expression("#st = :active")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":suspended", s(AccountStatus::Suspended.as_str()))
            .expression_attribute_values(":active", s(AccountStatus::Active.as_str()))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        super::applied(res)
    }

    /// R05: ends every session of the account at once by moving its session epoch on.
    pub async fn end_all_sessions(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .update_expression("ADD session_epoch :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// The condition a sign-in commits under: the account is active and its session
    /// epoch is still the one the new session will carry. As a write of its own, for a
    /// transaction that does not otherwise touch the account.
    pub fn still_active_write(&self, a: &Account) -> Result<TransactWriteItem, StoreError> {
        let (expr, values) = still_active(a.session_epoch);
        let mut check = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(&a.id)))
            .condition_expression(expr)
            .expression_attribute_names("#st", "status");
        for (k, v) in values {
            check = check.expression_attribute_values(k, v);
        }
        Ok(TransactWriteItem::builder()
            .condition_check(built(check.build())?)
            .build())
    }

    /// R04: disconnects Google; the email identity is untouched.
    pub async fn unlink_google(&self, account_id: &str, sub: &str) -> Result<(), StoreError> {
        let delete_pointer = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(google_pk(sub)))
            .condition_expression("account_id = :id")
            .expression_attribute_values(":id", s(account_id));
        let clear = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(account_id)))
            .update_expression("REMOVE google_sub, google_linked_at")
            .condition_expression("google_sub = :sub")
            .expression_attribute_values(":sub", s(sub));
        super::Tx::new(&self.client)
            .add(
                "pointer",
                TransactWriteItem::builder()
                    .delete(built(delete_pointer.build())?)
                    .build(),
            )
            .add(
                "account",
                TransactWriteItem::builder()
                    .update(built(clear.build())?)
                    .build(),
            )
            .commit()
            .await
    }
}

impl AccountStore {
    /// The profile as stored, every attribute (for the export, R26).
    pub async fn profile_item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        self.get_item(account_pk(id)).await
    }

    /// R07: sets or clears the display name; the new account.
    pub async fn set_display_name(
        &self,
        id: &str,
        name: Option<&str>,
    ) -> Result<Account, StoreError> {
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew);
        let req = match name {
            Some(n) => req
                .update_expression("SET display_name = :n")
                .expression_attribute_values(":n", s(n)),
            None => req.update_expression("REMOVE display_name"),
        };
        let out = req.send().await.map_err(StoreError::from_sdk)?;
        account_from_item(&out.attributes.unwrap_or_default())
    }

    /// R23, R34: the account's current consents and, if given, the policy version
    /// accepted; to be written with the history entry.
    pub fn consents_write(
        &self,
        id: &str,
        consents: crate::domain::privacy::Consents,
        policy_version: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        // `marketing` was the email consent's name before the three were separate.
        let mut expr = "SET analytics = :a, marketing_cookies = :mc, marketing_email = :me, consents_updated_at = :at REMOVE marketing".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .condition_expression("#st = :active")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":active", s(AccountStatus::Active.as_str()))
            .expression_attribute_values(":a", AttributeValue::Bool(consents.analytics))
            .expression_attribute_values(":mc", AttributeValue::Bool(consents.marketing_cookies))
            .expression_attribute_values(":me", AttributeValue::Bool(consents.marketing_email))
            .expression_attribute_values(":at", time(at));
        if let Some(v) = policy_version {
            expr = expr.replace(" REMOVE", ", policy_version_accepted = :v REMOVE");
            update = update.expression_attribute_values(":v", s(v));
        }
        Ok(TransactWriteItem::builder()
            .update(built(update.update_expression(expr).build())?)
            .build())
    }

    /// R29: records the restriction (or its end).
    pub fn restriction_write(
        &self,
        id: &str,
        restricted: bool,
        at: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .update_expression("SET restricted = :r, restriction_updated_at = :at")
            .condition_expression("#st = :active")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":active", s(AccountStatus::Active.as_str()))
            .expression_attribute_values(":r", AttributeValue::Bool(restricted))
            .expression_attribute_values(":at", s(at));
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// R27: moves the account to `new_email`: the old address's key goes, the new one
    /// must be free, and the profile must still have the old address.
    /// Adds the change of address to `tx`: the new address's key under
    /// `"new_address"` (fails if another account holds it), the old one's release and
    /// the profile's change under `"account"`.
    /// R27: the address changes, the old one is released, and the account's session
    /// epoch moves on (the other sessions end, R05).
    pub fn add_change_email(
        &self,
        tx: &mut super::Tx,
        account: &Account,
        new_email: &str,
    ) -> Result<(), StoreError> {
        let release = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(email_pk(&account.email)))
            .condition_expression("account_id = :id")
            .expression_attribute_values(":id", s(&account.id));
        // The epoch moves on: every session ends at once but the one the caller
        // carries over in the same transaction (`SessionStore::carry_write`).
        let (active, values) = still_active(account.session_epoch);
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(&account.id)))
            .update_expression("SET email = :new ADD session_epoch :one")
            .condition_expression(format!("email = :old AND {active}"))
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":new", s(new_email))
            .expression_attribute_values(":old", s(&account.email))
            .expression_attribute_values(":one", n(1));
        for (k, v) in values {
            update = update.expression_attribute_values(k, v);
        }
        tx.add(
            "new_address",
            self.put_new(pointer(email_pk(new_email), &account.id))?,
        );
        tx.add_all(
            "account",
            [
                TransactWriteItem::builder()
                    .delete(built(release.build())?)
                    .build(),
                TransactWriteItem::builder()
                    .update(built(update.build())?)
                    .build(),
            ],
        );
        Ok(())
    }

    /// R28: the account stops: nothing signs in, every session ends at once (the
    /// epoch moves on). From `active` or `suspended` (an operator's termination).
    /// A condition that the account exists and is not being erased (money for an
    /// erased account must not bring its id back).
    pub fn not_erased_write(&self, id: &str) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .condition_expression("attribute_exists(pk) AND #st <> :erasing")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":erasing", s(AccountStatus::Erasing.as_str()));
        Ok(TransactWriteItem::builder()
            .condition_check(built(check.build())?)
            .build())
    }

    pub fn begin_erasure_write(&self, id: &str) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            // The status it had is kept, to give back if the erasure stops (R30).
            .update_expression("SET before_erasure = #st, #st = :erasing ADD session_epoch :one")
            .condition_expression("attribute_exists(pk) AND #st <> :erasing")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":erasing", s(AccountStatus::Erasing.as_str()))
            .expression_attribute_values(":one", n(1));
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// R30: an erasure that stopped (failed at its due date) gives the account back the
    /// status it had, so nobody is locked out of an account that is not being deleted;
    /// its sessions stay ended. `Ok(false)`: it was not being erased.
    pub async fn end_erasure(&self, id: &str) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .update_expression("SET #st = before_erasure REMOVE before_erasure")
            .condition_expression("#st = :erasing AND attribute_exists(before_erasure)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":erasing", s(AccountStatus::Erasing.as_str()))
            .send()
            .await;
        super::applied(res)
    }

    /// R28: the last writes of an erasure: the profile and the keys that point at it.
    pub fn erase_writes(&self, a: &Account) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut keys = vec![account_pk(&a.id), email_pk(&a.email)];
        if let Some(sub) = &a.google_sub {
            keys.push(google_pk(sub));
        }
        keys.into_iter()
            .map(|pk| {
                let d = Delete::builder().table_name(&self.table).key("pk", s(pk));
                Ok(TransactWriteItem::builder()
                    .delete(built(d.build())?)
                    .build())
            })
            .collect()
    }

    /// R28: the keyed hash of an address terminated for abuse, kept for fraud
    /// prevention; a new sign-up with it is refused.
    /// R28: the keyed hash of a terminated account's address, kept until `keep_until`
    /// (the accounting period's end, then TTL and the purge delete it).
    pub fn block_write(
        &self,
        email_hash: &str,
        at: &str,
        keep_until: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::from([
            ("pk".to_owned(), s(format!("blocked#{email_hash}"))),
            ("at".to_owned(), s(at)),
        ]);
        item.extend(super::expiry(keep_until));
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item));
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    /// Whether the address's hash is blocked at `now` (a block past its period is
    /// gone, whether or not TTL has deleted it yet).
    pub async fn is_blocked(&self, email_hash: &str, now: i64) -> Result<bool, StoreError> {
        Ok(self
            .get_item(format!("blocked#{email_hash}"))
            .await?
            .is_some_and(|i| super::get_i64(&i, "ttl").map_or(true, |ttl| ttl > now)))
    }

    /// R20: an operator lifts a suspension.
    pub async fn reinstate(&self, id: &str) -> Result<bool, StoreError> {
        self.unsuspend(id, ", violations", None).await
    }

    /// Ends a suspension: the account active again, the suspension's attributes (and
    /// `also`, a `, name` list) removed; only if it is suspended, and (`for_reason`) for
    /// that reason.
    async fn unsuspend(
        &self,
        id: &str,
        also: &str,
        for_reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .update_expression(format!(
                "SET #st = :active REMOVE suspended_at, suspended_for{also}"
            ))
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":active", s(AccountStatus::Active.as_str()))
            .expression_attribute_values(":suspended", s(AccountStatus::Suspended.as_str()));
        update = match for_reason {
            Some(why) => update
                .condition_expression("#st = :suspended AND suspended_for = :why")
                .expression_attribute_values(":why", s(why)),
            None => update.condition_expression("#st = :suspended"),
        };
        super::applied(update.send().await)
    }
}

impl AccountStore {
    /// R46: takes back the violation recorded at `at` (epoch seconds), if it is still
    /// counted; returns how many remain within `window` seconds of `now`. One list
    /// element is removed, on the condition that it is still the one read.
    pub async fn forgive_violation(
        &self,
        id: &str,
        at: i64,
        now: i64,
        window: i64,
    ) -> Result<u32, StoreError> {
        for _ in 0..3 {
            let Some(item) = super::get_by_pk(&self.client, &self.table, account_pk(id)).await?
            else {
                return Ok(0);
            };
            let all: Vec<i64> = item
                .get("violations")
                .and_then(|v| v.as_l().ok())
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_n().ok()?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            let recent = |list: &[i64]| list.iter().filter(|t| **t > now - window).count() as u32;
            let Some(index) = all.iter().position(|t| *t == at) else {
                return Ok(recent(&all));
            };
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(account_pk(id)))
                .update_expression(format!("REMOVE violations[{index}]"))
                .condition_expression(format!(
                    "violations[{index}] = :t AND size(violations) = :n"
                ))
                .expression_attribute_values(":t", n(at))
                .expression_attribute_values(":n", n(all.len()))
                .send()
                .await;
            if super::applied(res)? {
                let mut left = all;
                left.remove(index);
                return Ok(recent(&left));
            }
            // Another violation came or went meanwhile: read again.
        }
        // A conflict that did not settle: the caller tries again later.
        Err(StoreError::Backend("violations kept changing".into()))
    }

    /// R46: lifts a suspension that repeated violations caused (never one an operator
    /// made). `Ok(false)`: not suspended for that.
    pub async fn lift_suspension_for(&self, id: &str, reason: &str) -> Result<bool, StoreError> {
        self.unsuspend(id, "", Some(reason)).await
    }
}

/// `status = active` and the session epoch `epoch` (absent counts as 0); uses `#st`.
fn still_active(epoch: i64) -> (String, Vec<(&'static str, AttributeValue)>) {
    let values = vec![
        (":active", s(AccountStatus::Active.as_str())),
        (":epoch", n(epoch)),
    ];
    let epoch_is = if epoch == 0 {
        "(session_epoch = :epoch OR attribute_not_exists(session_epoch))"
    } else {
        "session_epoch = :epoch"
    };
    (format!("#st = :active AND {epoch_is}"), values)
}

fn pointer(pk: String, account_id: &str) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(pk));
    item.insert("account_id".into(), s(account_id));
    item
}

fn profile_item(a: &Account) -> Item {
    let mut p = Item::new();
    p.insert("pk".into(), s(account_pk(&a.id)));
    p.insert("id".into(), s(&a.id));
    p.insert("email".into(), s(&a.email));
    p.insert("created_at".into(), time(a.created_at));
    p.insert("status".into(), s(a.status.as_str()));
    p.insert(
        "policy_version_accepted".into(),
        s(&a.policy_version_accepted),
    );
    p.insert("age_confirmed_at".into(), time(a.age_confirmed_at));
    p.insert("session_epoch".into(), n(a.session_epoch));
    p.insert(
        "analytics".into(),
        AttributeValue::Bool(a.consents.analytics),
    );
    p.insert(
        "marketing_cookies".into(),
        AttributeValue::Bool(a.consents.marketing_cookies),
    );
    p.insert(
        "marketing_email".into(),
        AttributeValue::Bool(a.consents.marketing_email),
    );
    p.insert("restricted".into(), AttributeValue::Bool(a.restricted));
    let optional = [
        ("display_name", &a.display_name),
        ("google_sub", &a.google_sub),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            p.insert(name.into(), s(v));
        }
    }
    let optional_times = [
        ("google_linked_at", a.google_linked_at),
        ("consents_updated_at", a.consents_updated_at),
    ];
    for (name, value) in optional_times {
        if let Some(at) = value {
            p.insert(name.into(), time(at));
        }
    }
    p
}

fn account_from_item(item: &Item) -> Result<Account, StoreError> {
    Ok(Account {
        id: AccountId::new(get_s(item, "id")?),
        email: get_s(item, "email")?,
        display_name: opt_s(item, "display_name"),
        created_at: get_time(item, "created_at")?,
        status: AccountStatus::parse(&get_s(item, "status")?),
        google_sub: opt_s(item, "google_sub"),
        google_linked_at: opt_time(item, "google_linked_at")?,
        policy_version_accepted: get_s(item, "policy_version_accepted")?,
        age_confirmed_at: get_time(item, "age_confirmed_at")?,
        // Accounts made before epochs existed are at epoch 0.
        session_epoch: super::get_i64(item, "session_epoch").unwrap_or(0),
        consents: crate::domain::privacy::Consents {
            analytics: bool_of(item, "analytics"),
            marketing_cookies: bool_of(item, "marketing_cookies"),
            // Profiles written before the consents were separate: `marketing` was email.
            marketing_email: bool_of(item, "marketing_email") || bool_of(item, "marketing"),
        },
        consents_updated_at: opt_time(item, "consents_updated_at")?,
        restricted: bool_of(item, "restricted"),
    })
}

fn bool_of(item: &Item, name: &str) -> bool {
    item.get(name)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}
