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

    /// Counts one attempt on the code under `key` before it is compared, and returns
    /// it: only while it exists, is unexpired and has attempts left (`None` else). The
    /// count and the read are one conditional update, so concurrent guesses each use
    /// up an attempt and no more than `max_attempts` comparisons happen.
    pub async fn claim_attempt(
        &self,
        key: &str,
        max_attempts: u32,
        now: i64,
    ) -> Result<Option<StoredCode>, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(code_pk(key)))
            .update_expression("ADD attempts :one")
            .condition_expression("attribute_exists(pk) AND attempts < :max AND expires_at > :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max_attempts))
            .expression_attribute_values(":now", n(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let item = match res.map_err(StoreError::from_sdk) {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(StoreError::ConditionFailed) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(StoredCode {
            code_hash: get_s(&item, "code_hash")?,
            attempts: u32::try_from(get_i64(&item, "attempts")?).unwrap_or(u32::MAX),
            expires_at: get_i64(&item, "expires_at")?,
            payload: super::opt_s(&item, "payload"),
        }))
    }

    /// Gives back the attempt a right code used when nothing came of it (a sign-up
    /// refused for want of the age statement leaves the code as it was, R06).
    pub async fn unclaim(&self, key: &str, code_hash: &str) -> Result<(), StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(code_pk(key)))
            .update_expression("ADD attempts :minus")
            .condition_expression("code_hash = :h AND attempts > :zero")
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":h", s(code_hash))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        super::applied(res).map(drop)
    }

    /// The write that uses up a code, part of the caller's transaction: it holds only if
    /// the code is still the one checked (whose attempt was counted), unexpired and not
    /// void, so a code is used once.
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
            .condition_expression("code_hash = :h AND attempts <= :max AND expires_at > :now")
            .expression_attribute_values(":h", s(code_hash))
            .expression_attribute_values(":max", n(max_attempts))
            .expression_attribute_values(":now", n(now));
        Ok(TransactWriteItem::builder()
            .delete(built(delete.build())?)
            .build())
    }
}
