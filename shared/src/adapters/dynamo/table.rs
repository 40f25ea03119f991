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

    /// Replaces the item's `account_id` by `pseudonym`, if it still holds `account_id`
    /// (so a resumed erasure, or a stale index read, changes nothing twice).
    pub async fn pseudonymise(
        &self,
        pk: &str,
        account_id: &str,
        pseudonym: &str,
    ) -> Result<(), StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.name)
            .key("pk", s(pk))
            .update_expression("SET account_id = :p")
            .condition_expression("account_id = :a")
            .expression_attribute_values(":p", s(pseudonym))
            .expression_attribute_values(":a", s(account_id))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::ConditionFailed => Ok(()),
                other => Err(other),
            },
        }
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
