//! The accounts table: profiles and the unique keys that point at them.
//!
//! - `account#{id}`: the profile.
//! - `email#{address}`: the address's owner (R01: one account per address).
//! - `google#{sub}`: the Google identity's owner (R03).
//!
//! Unique keys are written in the same transaction as the profile, each with
//! `attribute_not_exists`, so two concurrent sign-ups of one address make one account.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::{Item, StoreError, built, get_s, opt_s, s};
use crate::domain::account::{Account, AccountStatus};

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

    async fn get_item(&self, pk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item)
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
        Ok(TransactWriteItem::builder()
            .put(built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build(),
            )?)
            .build())
    }

    /// R03: links a Google identity to an existing account (both or neither written).
    pub fn link_google_writes(
        &self,
        account_id: &str,
        sub: &str,
        linked_at: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(account_id)))
            .update_expression("SET google_sub = :sub, google_linked_at = :at")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(google_sub)")
            .expression_attribute_values(":sub", s(sub))
            .expression_attribute_values(":at", s(linked_at));
        Ok(vec![
            self.put_new(pointer(google_pk(sub), account_id))?,
            TransactWriteItem::builder()
                .update(built(update.build())?)
                .build(),
        ])
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
        super::transact(
            &self.client,
            vec![
                TransactWriteItem::builder()
                    .delete(built(delete_pointer.build())?)
                    .build(),
                TransactWriteItem::builder()
                    .update(built(clear.build())?)
                    .build(),
            ],
        )
        .await
    }
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
    p.insert("created_at".into(), s(&a.created_at));
    p.insert("status".into(), s(a.status.as_str()));
    p.insert(
        "policy_version_accepted".into(),
        s(&a.policy_version_accepted),
    );
    p.insert("age_confirmed_at".into(), s(&a.age_confirmed_at));
    let optional = [
        ("display_name", &a.display_name),
        ("google_sub", &a.google_sub),
        ("google_linked_at", &a.google_linked_at),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            p.insert(name.into(), s(v));
        }
    }
    p
}

fn account_from_item(item: &Item) -> Result<Account, StoreError> {
    Ok(Account {
        id: get_s(item, "id")?,
        email: get_s(item, "email")?,
        display_name: opt_s(item, "display_name"),
        created_at: get_s(item, "created_at")?,
        status: AccountStatus::parse(&get_s(item, "status")?),
        google_sub: opt_s(item, "google_sub"),
        google_linked_at: opt_s(item, "google_linked_at"),
        policy_version_accepted: get_s(item, "policy_version_accepted")?,
        age_confirmed_at: get_s(item, "age_confirmed_at")?,
    })
}
