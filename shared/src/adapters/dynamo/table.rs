//! One table's generic item operations, for the work that walks every data class the
//! same way — the export copies items, the erasure deletes or pseudonymises them
//! (R26, R28) — while each store keeps the operations of its own class.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use super::{Item, StoreError, s};

#[derive(Clone, Debug)]
pub struct Table {
    pub(super) client: Client,
    pub(super) name: String,
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// Every item whose index `index` has `attr = value` (one person's partition).
    pub async fn by_index(
        &self,
        index: &str,
        attr: &str,
        value: &str,
    ) -> Result<Vec<Item>, StoreError> {
        super::query_partition(&self.client, &self.name, index, attr, value, false).await
    }

    pub async fn get(&self, pk: &str) -> Result<Option<Item>, StoreError> {
        super::get_by_pk(&self.client, &self.name, pk.to_owned()).await
    }

    /// Deletes the item; deleting what is gone succeeds (a resumed erasure).
    pub async fn delete(&self, pk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .key("pk", s(pk))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Replaces every mention of `account_id` in the item (its `account_id`, and ids
    /// made from it such as the cause `signup:{account}` of a ledger entry, even in the
    /// key) by `pseudonym`. Only an item that still names the account is rewritten, so a
    /// resumed erasure, or a stale index read, changes nothing twice. `keep_until`
    /// (epoch seconds), when given, is when the record may go: it gets its TTL and its
    /// place in the index of what expired (R28, R33).
    pub async fn pseudonymise(
        &self,
        item: &Item,
        account_id: &str,
        pseudonym: &str,
        keep_until: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut renamed: Item = item
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    AttributeValue::S(text) if text.contains(account_id) => {
                        AttributeValue::S(text.replace(account_id, pseudonym))
                    }
                    other => other.clone(),
                };
                (k.clone(), v)
            })
            .collect();
        if &renamed == item {
            return Ok(());
        }
        renamed.extend(keep_until.map(super::expiry).into_iter().flatten());
        let old_pk = super::get_s(item, "pk")?;
        let new_pk = super::get_s(&renamed, "pk")?;
        let res = if old_pk == new_pk {
            super::applied(
                self.client
                    .put_item()
                    .table_name(&self.name)
                    .set_item(Some(renamed))
                    .condition_expression("account_id = :a")
                    .expression_attribute_values(":a", s(account_id))
                    .send()
                    .await,
            )
            .map(drop)
        } else {
            // The key names the account: the record moves to a key that does not.
            let put = aws_sdk_dynamodb::types::Put::builder()
                .table_name(&self.name)
                .set_item(Some(renamed));
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.name)
                .key("pk", s(old_pk))
                .condition_expression("attribute_exists(pk)");
            super::Tx::new(&self.client)
                .add(
                    "renamed",
                    aws_sdk_dynamodb::types::TransactWriteItem::builder()
                        .put(super::built(put.build())?)
                        .build(),
                )
                .add(
                    "old",
                    aws_sdk_dynamodb::types::TransactWriteItem::builder()
                        .delete(super::built(delete.build())?)
                        .build(),
                )
                .commit()
                .await
        };
        match res {
            Err(e) if e.is_condition_failure() => Ok(()),
            other => other,
        }
    }
}

impl Table {
    /// The keys of one page of items of `day` (see [`super::EXPIRED_INDEX`]) whose TTL
    /// is at or before `by`, and where the next page starts.
    pub async fn expired_page(
        &self,
        day: &str,
        by: i64,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(super::EXPIRED_INDEX)
            .key_condition_expression("ttl_day = :d AND #ttl <= :by")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":d", s(day))
            .expression_attribute_values(":by", super::n(by))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Deletes the item with this key (its `pk`, and `sk` where the table has one) if
    /// it is still expired by `by`; `Ok(false)` if it is gone already (TTL, another
    /// run) or was renewed.
    pub async fn delete_expired(&self, keys: &Item, by: i64) -> Result<bool, StoreError> {
        let key: Item = keys
            .iter()
            .filter(|(k, _)| *k == "pk" || *k == "sk")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        super::applied(
            self.client
                .delete_item()
                .table_name(&self.name)
                .set_key(Some(key))
                .condition_expression("#ttl <= :by")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":by", super::n(by))
                .send()
                .await,
        )
    }
}

/// An item as plain JSON (numbers as numbers where they are whole), for the export.
pub fn item_json(item: &Item) -> Value {
    let mut out = Map::new();
    let mut keys: Vec<&String> = item.keys().collect();
    keys.sort();
    for k in keys {
        out.insert(k.clone(), value_json(&item[k]));
    }
    Value::Object(out)
}

fn value_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| n.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(n.clone())),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(l) => Value::Array(l.iter().map(value_json).collect()),
        AttributeValue::M(m) => {
            let item: Item = m.clone();
            item_json(&item)
        }
        AttributeValue::Ss(l) => Value::Array(l.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(l) => Value::Array(l.iter().cloned().map(Value::String).collect()),
        _ => Value::Null,
    }
}
