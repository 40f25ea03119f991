//! One-time email codes, in the sessions table: sign-in codes (R02) as
//! `code#{keyed_hash(email)}`, where neither the address nor the code is stored in
//! clear; and the codes a signed-in person confirms a change with (a new address,
//! R27; a rights request, R30) as `code#{purpose}:{account}`. One live code per key;
//! a new one replaces the old.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use super::{Item, StoreError, built, get_i64, get_s, n, s};

#[derive(Clone, Debug)]
pub struct CodeStore {
    client: Client,
    table: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub code_hash: String,
    pub attempts: u32,
    pub expires_at: i64,
    /// What the code confirms, when that is not in its key (a new address, R27).
    pub payload: Option<String>,
}

/// What a signed-in person's code confirms; part of its key, so one kind of code
/// cannot confirm another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// A new address (R27).
    EmailChange,
    /// An export or an erasure (R30).
    RightsRequest,
}

impl Confirmation {
    pub const ALL: [Self; 2] = [Self::EmailChange, Self::RightsRequest];

    /// The key of an account's code for this purpose.
    pub fn key(self, account_id: &str) -> String {
        let purpose = match self {
            Self::EmailChange => "email_change",
            Self::RightsRequest => "rights",
        };
        format!("{purpose}:{account_id}")
    }
}

fn code_pk(email_hash: &str) -> String {
    format!("code#{email_hash}")
}

impl CodeStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub async fn put(&self, email_hash: &str, code: &StoredCode) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(code_pk(email_hash)));
        item.insert("code_hash".into(), s(&code.code_hash));
        item.insert("attempts".into(), n(code.attempts));
        item.insert("expires_at".into(), n(code.expires_at));
        item.extend(super::expiry(code.expires_at));
        if let Some(p) = &code.payload {
            item.insert("payload".into(), s(p));
        }
        super::put(&self.client, &self.table, item, false).await
    }

    pub async fn get(&self, email_hash: &str) -> Result<Option<StoredCode>, StoreError> {
        super::get_by_pk(&self.client, &self.table, code_pk(email_hash))
            .await?
            .map(|i| {
                Ok(StoredCode {
                    code_hash: get_s(&i, "code_hash")?,
                    attempts: u32::try_from(get_i64(&i, "attempts")?).unwrap_or(u32::MAX),
                    expires_at: get_i64(&i, "expires_at")?,
                    payload: super::opt_s(&i, "payload"),
                })
            })
            .transpose()
    }

    /// Deletes the code under `key`, if any (an erasure).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(code_pk(key)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Counts a wrong try against the code that was read (not a newer one), atomically,
    /// so concurrent guesses cannot exceed the limit between them. Returns the new count.
    pub async fn record_wrong_attempt(
        &self,
        email_hash: &str,
        code_hash: &str,
        max_attempts: u32,
    ) -> Result<u32, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(code_pk(email_hash)))
            .update_expression("ADD attempts :one")
            .condition_expression("code_hash = :h AND attempts < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":h", s(code_hash))
            .expression_attribute_values(":max", n(max_attempts))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let attempts = out
            .attributes
            .as_ref()
            .map(|a| get_i64(a, "attempts"))
            .transpose()?
            .unwrap_or(i64::from(max_attempts));
        Ok(u32::try_from(attempts).unwrap_or(u32::MAX))
    }

    /// The write that uses up a code, part of the sign-in transaction: it holds only if
    /// the code is still the one checked, unexpired and not void, so a code signs in once.
    pub fn consume_write(
        &self,
        email_hash: &str,
        code_hash: &str,
        max_attempts: u32,
        now: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(code_pk(email_hash)))
            .condition_expression("code_hash = :h AND attempts < :max AND expires_at > :now")
            .expression_attribute_values(":h", s(code_hash))
            .expression_attribute_values(":max", n(max_attempts))
            .expression_attribute_values(":now", n(now));
        Ok(TransactWriteItem::builder()
            .delete(built(delete.build())?)
            .build())
    }
}
