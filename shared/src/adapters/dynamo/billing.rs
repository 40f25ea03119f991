//! The billing table (R08–R12): checkouts we started (`checkout#{id}`), payments as
//! far as R09 allows (`payment#{order}`), the account of each subscription
//! (`subscription#{id}`), each account's plan (`plan#{account}`) and the webhook events
//! already applied (`event#{id}`).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::{Item, StoreError, built, get_i64, get_s, n, opt_s, s};

#[derive(Clone, Debug)]
pub struct BillingStore {
    client: Client,
    table: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub id: String,
    pub account_id: String,
    pub product_id: String,
    pub creem_checkout_id: String,
    pub created_at: String,
}

/// R09: of a payment, only these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub order_id: String,
    pub account_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub product_id: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub product_id: String,
    #[serde(skip)]
    pub subscription_id: String,
    /// Creem's subscription status: `active`, `trialing`, `past_due`, `canceled`, …
    pub status: String,
    #[schema(format = DateTime)]
    pub period_end: Option<String>,
    /// Whether it renews at `period_end`.
    pub renews: bool,
    /// The time of the event that set this state (epoch ms): older events change nothing.
    #[serde(skip)]
    pub event_at: i64,
}

/// The key of an account's plan item.
pub fn plan_pk(account_id: &str) -> String {
    format!("plan#{account_id}")
}

impl BillingStore {
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

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn put_checkout(&self, c: &Checkout) -> Result<(), StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(format!("checkout#{}", c.id))),
            ("account_id".to_owned(), s(&c.account_id)),
            ("product_id".to_owned(), s(&c.product_id)),
            ("creem_checkout_id".to_owned(), s(&c.creem_checkout_id)),
            ("created_at".to_owned(), s(&c.created_at)),
        ]);
        super::put(&self.client, &self.table, item, true).await
    }

    pub async fn checkout(&self, id: &str) -> Result<Option<Checkout>, StoreError> {
        let Some(i) = super::get_by_pk(&self.client, &self.table, format!("checkout#{id}")).await?
        else {
            return Ok(None);
        };
        Ok(Some(Checkout {
            id: id.to_owned(),
            account_id: get_s(&i, "account_id")?,
            product_id: get_s(&i, "product_id")?,
            creem_checkout_id: get_s(&i, "creem_checkout_id")?,
            created_at: get_s(&i, "created_at")?,
        }))
    }

    /// The write that marks a webhook event applied; fails its condition if it was.
    pub fn event_write(
        &self,
        event_id: &str,
        at: &str,
        expires_epoch: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::from([
            ("pk".to_owned(), s(format!("event#{event_id}"))),
            ("applied_at".to_owned(), s(at)),
        ]);
        item.extend(super::expiry(expires_epoch));
        self.put_new(item)
    }

    /// The write that records a payment (R09 fields only); the first record of an
    /// order stays.
    pub fn payment_write(&self, p: &Payment) -> Result<TransactWriteItem, StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(format!("payment#{}", p.order_id))),
            ("account_id".to_owned(), s(&p.account_id)),
            ("order_id".to_owned(), s(&p.order_id)),
            ("amount".to_owned(), n(p.amount)),
            ("currency".to_owned(), s(&p.currency)),
            ("status".to_owned(), s(&p.status)),
            ("product_id".to_owned(), s(&p.product_id)),
            ("at".to_owned(), s(&p.at)),
        ]);
        Ok(TransactWriteItem::builder()
            .put(built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build(),
            )?)
            .build())
    }

    pub async fn payment(&self, order_id: &str) -> Result<Option<Payment>, StoreError> {
        let Some(i) =
            super::get_by_pk(&self.client, &self.table, format!("payment#{order_id}")).await?
        else {
            return Ok(None);
        };
        Ok(Some(Payment {
            order_id: order_id.to_owned(),
            account_id: get_s(&i, "account_id")?,
            amount: get_i64(&i, "amount")?,
            currency: get_s(&i, "currency")?,
            status: get_s(&i, "status")?,
            product_id: get_s(&i, "product_id")?,
            at: get_s(&i, "at")?,
        }))
    }

    /// Remembers whose a subscription is (its later events may not carry it).
    pub async fn link_subscription(
        &self,
        subscription_id: &str,
        account_id: &str,
    ) -> Result<(), StoreError> {
        let item = Item::from([
            (
                "pk".to_owned(),
                s(format!("subscription#{subscription_id}")),
            ),
            ("account_id".to_owned(), s(account_id)),
        ]);
        super::put(&self.client, &self.table, item, false).await
    }

    pub async fn subscription_owner(
        &self,
        subscription_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(super::get_by_pk(
            &self.client,
            &self.table,
            format!("subscription#{subscription_id}"),
        )
        .await?
        .and_then(|i| opt_s(&i, "account_id")))
    }

    /// Sets the account's plan from an event at `plan.event_at`, unless a later event
    /// set it already (events arrive in any order). `Ok(false)`: stale, unchanged.
    pub async fn set_plan(&self, account_id: &str, plan: &Plan) -> Result<bool, StoreError> {
        let mut item = Item::from([
            ("pk".to_owned(), s(plan_pk(account_id))),
            ("product_id".to_owned(), s(&plan.product_id)),
            ("subscription_id".to_owned(), s(&plan.subscription_id)),
            ("status".to_owned(), s(&plan.status)),
            ("renews".to_owned(), AttributeValue::Bool(plan.renews)),
            ("event_at".to_owned(), n(plan.event_at)),
        ]);
        if let Some(end) = &plan.period_end {
            item.insert("period_end".to_owned(), s(end));
        }
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR event_at < :t")
            .expression_attribute_values(":t", n(plan.event_at))
            .send()
            .await;
        match res.map_err(StoreError::from_sdk) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn plan(&self, account_id: &str) -> Result<Option<Plan>, StoreError> {
        let Some(i) = super::get_by_pk(&self.client, &self.table, plan_pk(account_id)).await?
        else {
            return Ok(None);
        };
        Ok(Some(Plan {
            product_id: get_s(&i, "product_id")?,
            subscription_id: get_s(&i, "subscription_id")?,
            status: get_s(&i, "status")?,
            period_end: opt_s(&i, "period_end"),
            renews: i
                .get("renews")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            event_at: get_i64(&i, "event_at")?,
        }))
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        super::put_new_write(&self.table, item)
    }
}
