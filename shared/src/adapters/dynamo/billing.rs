//! The billing table (R08–R12): checkouts we started (`checkout#{id}`), payments as
//! far as R09 allows (`payment#{order}`), the account of each subscription
//! (`subscription#{id}`), each account's plan (`plan#{account}`), the webhook events
//! already applied (`event#{id}`), refunds that came before their payment
//! (`pending_clawback#{order}`) and payments that came after their account was erased
//! (`refund_due#{order}`, listed for the operators under [`REFUND_DUE`]).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::{Item, StoreError, built, get_i64, get_s, n, opt_s, s};

/// The `account_id` of the records of payments that arrived after their account was
/// erased: one partition of the `by_account` index, so the operators list them with a
/// query, and no record of them names the person.
pub const REFUND_DUE: &str = "refund_due";

/// The `account_id` of a payment record whose account was erased before it arrived
/// and whose pseudonym is not known here.
pub const ERASED: &str = "erased";

/// A refund or dispute that arrived before the payment it takes back: applied in the
/// same transaction as that payment's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingClawback {
    /// `refund:{id}` or `dispute:{id}`: the clawback's cause in the ledger.
    pub cause: String,
    /// The amount refunded, in the payment's minor units (`None`: all of it).
    pub refunded: Option<i64>,
    /// What was paid, on the same basis as `refunded`, where the clawback said.
    pub of: Option<i64>,
}

/// The clawbacks waiting for one order, and the version they were read at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingClawbacks {
    pub version: Option<i64>,
    pub items: Vec<PendingClawback>,
}

/// A payment that arrived for an erased account: what the operators need to refund it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDue {
    pub order_id: String,
    /// The subscription it paid for, if any (cancelled at Creem before it was listed).
    pub subscription_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub product_id: String,
    pub event_type: String,
    pub at: String,
}

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
    /// R10: the credits taken back from this payment so far (refunds, disputes); never
    /// more than it granted.
    pub clawed: i64,
    /// R47: what became of it after it was paid: `refunded`, `partially_refunded` or
    /// `disputed`; none while it stands.
    pub taken_back: Option<String>,
    /// Creem's customer who paid (R09): whose portal the person opens (R47).
    pub customer_id: Option<String>,
}

impl Payment {
    /// Its status as the person sees it (R47).
    pub fn shown_status(&self) -> &str {
        self.taken_back.as_deref().unwrap_or("paid")
    }
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
    /// When it ends, while it is cancelled at its period's end (R47).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub cancel_at: Option<String>,
    /// Creem's customer, whose portal the person opens (R09, R47).
    #[serde(skip)]
    pub customer_id: Option<String>,
    /// The time of the event that set this state (epoch ms): older events change nothing.
    #[serde(skip)]
    pub event_at: i64,
}

impl Plan {
    /// With `cancel_at` as its state says: the period's end, while it still runs and
    /// will not renew.
    pub fn with_cancel_at(mut self) -> Self {
        let running = matches!(
            self.status.as_str(),
            "active" | "trialing" | "scheduled_cancel" | "past_due"
        );
        self.cancel_at = (!self.renews && running)
            .then(|| self.period_end.clone())
            .flatten();
        self
    }
}

fn payment_pk(order_id: &str) -> String {
    format!("payment#{order_id}")
}

fn pending_pk(order_id: &str) -> String {
    format!("pending_clawback#{order_id}")
}

/// The key of an account's plan item.
pub fn plan_pk(account_id: &str) -> String {
    format!("plan#{account_id}")
}

impl BillingStore {
    /// The key prefix of a class kept in this table under the account's id (its
    /// `by_account` index), for the walks over every class (R26, R28).
    pub fn prefix_of(class: crate::domain::inventory::ClassId) -> Option<&'static str> {
        use crate::domain::inventory::ClassId;
        Some(match class {
            ClassId::Payments => "payment#",
            ClassId::Checkouts => "checkout#",
            ClassId::Subscriptions => "subscription#",
            _ => return None,
        })
    }

    /// The Creem subscription a subscription link is about.
    pub fn subscription_of(item: &Item) -> Option<String> {
        super::opt_s(item, "pk").and_then(|pk| pk.strip_prefix("subscription#").map(str::to_owned))
    }

    /// The data class of an expiring item, from its keys, for the purge's report.
    pub fn expiring_class(item: &Item) -> &'static str {
        let pk = super::opt_s(item, "pk").unwrap_or_default();
        match pk.split('#').next().unwrap_or_default() {
            "payment" | "subscription" | "refund_due" => "pseudonymised payments",
            _ => "applied webhook events",
        }
    }

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
    /// order stays. One that names no account (after an erasure) carries the end of its
    /// accounting period, `keep_until` (R28, R33).
    pub fn payment_write(
        &self,
        p: &Payment,
        keep_until: Option<i64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::from([
            ("pk".to_owned(), s(payment_pk(&p.order_id))),
            ("account_id".to_owned(), s(&p.account_id)),
            ("order_id".to_owned(), s(&p.order_id)),
            ("amount".to_owned(), n(p.amount)),
            ("currency".to_owned(), s(&p.currency)),
            ("status".to_owned(), s(&p.status)),
            ("product_id".to_owned(), s(&p.product_id)),
            ("at".to_owned(), s(&p.at)),
            ("clawed".to_owned(), n(p.clawed)),
        ]);
        if let Some(customer) = &p.customer_id {
            item.insert("customer_id".to_owned(), s(customer));
        }
        item.extend(keep_until.map(super::expiry).into_iter().flatten());
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

    pub async fn payment(&self, order_id: &str) -> Result<Option<Payment>, StoreError> {
        let Some(i) = super::get_by_pk(&self.client, &self.table, payment_pk(order_id)).await?
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
            // Payments recorded before clawbacks were counted have none counted.
            clawed: get_i64(&i, "clawed").unwrap_or(0),
            taken_back: opt_s(&i, "taken_back"),
            customer_id: opt_s(&i, "customer_id"),
        }))
    }

    /// R47: the account's payments (from its `by_account` partition: a person's
    /// billing records, a few per payment).
    pub async fn payments(&self, account_id: &str) -> Result<Vec<Payment>, StoreError> {
        self.table()
            .by_index("by_account", "account_id", account_id)
            .await?
            .iter()
            .filter(|i| opt_s(i, "pk").is_some_and(|pk| pk.starts_with("payment#")))
            .map(|i| {
                Ok(Payment {
                    order_id: get_s(i, "order_id")?,
                    account_id: get_s(i, "account_id")?,
                    amount: get_i64(i, "amount")?,
                    currency: get_s(i, "currency")?,
                    status: get_s(i, "status")?,
                    product_id: get_s(i, "product_id")?,
                    at: get_s(i, "at")?,
                    clawed: get_i64(i, "clawed").unwrap_or(0),
                    taken_back: opt_s(i, "taken_back"),
                    customer_id: opt_s(i, "customer_id"),
                })
            })
            .collect()
    }

    /// R47: the Creem customer of the account, whose portal it opens: its plan's, or
    /// the one of its newest payment that names one (a buyer of packs).
    pub async fn customer_of(&self, account_id: &str) -> Result<Option<String>, StoreError> {
        if let Some(c) = self.plan(account_id).await?.and_then(|p| p.customer_id) {
            return Ok(Some(c));
        }
        let mut paid = self.payments(account_id).await?;
        paid.sort_by(|a, b| b.at.cmp(&a.at));
        Ok(paid.into_iter().find_map(|p| p.customer_id))
    }

    /// R10: the credits taken back from the payment `order_id` go from `from` to `to`;
    /// fails its condition if another clawback counted meanwhile (then decided again).
    /// `taken_back` is what the payment now shows (R47).
    pub fn clawed_write(
        &self,
        order_id: &str,
        from: i64,
        to: i64,
        taken_back: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(payment_pk(order_id)))
            .update_expression("SET clawed = :to, taken_back = :tb")
            .expression_attribute_values(":tb", s(taken_back))
            .condition_expression(
                "attribute_exists(pk) AND (clawed = :from OR (attribute_not_exists(clawed) AND :from = :zero))",
            )
            .expression_attribute_values(":to", n(to))
            .expression_attribute_values(":from", n(from))
            .expression_attribute_values(":zero", n(0));
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// Whose a subscription is (its later events may not carry it).
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

    pub async fn plan(&self, account_id: &str) -> Result<Option<Plan>, StoreError> {
        let Some(i) = super::get_by_pk(&self.client, &self.table, plan_pk(account_id)).await?
        else {
            return Ok(None);
        };
        Ok(Some(
            Plan {
                product_id: get_s(&i, "product_id")?,
                subscription_id: get_s(&i, "subscription_id")?,
                status: get_s(&i, "status")?,
                period_end: opt_s(&i, "period_end"),
                renews: i
                    .get("renews")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false),
                cancel_at: None,
                customer_id: opt_s(&i, "customer_id"),
                event_at: get_i64(&i, "event_at")?,
            }
            .with_cancel_at(),
        ))
    }

    /// The write that links a subscription to its account, unless it is linked to
    /// another one (an erased account's link holds its pseudonym and keeps it).
    pub fn link_write(
        &self,
        subscription_id: &str,
        account_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = Item::from([
            (
                "pk".to_owned(),
                s(format!("subscription#{subscription_id}")),
            ),
            ("account_id".to_owned(), s(account_id)),
        ]);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR account_id = :a")
            .expression_attribute_values(":a", s(account_id));
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    /// The write that sets the account's plan from an event at `plan.event_at`; fails
    /// its condition if a later event set it already (events arrive in any order). A
    /// period's end or a customer the event does not carry stays as it was.
    pub fn plan_write(
        &self,
        account_id: &str,
        plan: &Plan,
    ) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .update(built(self.plan_update(account_id, plan).build())?)
            .build())
    }

    /// R47: the plan as Creem answered a change the person asked for, at once.
    pub async fn put_plan(&self, account_id: &str, plan: &Plan) -> Result<(), StoreError> {
        let u = self.plan_update(account_id, plan);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(plan_pk(account_id)))
            .update_expression(u.get_update_expression().clone().unwrap_or_default())
            .condition_expression(u.get_condition_expression().clone().unwrap_or_default())
            .set_expression_attribute_values(u.get_expression_attribute_values().clone())
            .set_expression_attribute_names(u.get_expression_attribute_names().clone())
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    fn plan_update(
        &self,
        account_id: &str,
        plan: &Plan,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        let mut set = vec![
            "product_id = :p",
            "subscription_id = :s",
            "#st = :st",
            "renews = :r",
            "event_at = :t",
        ];
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(plan_pk(account_id)))
            .condition_expression("attribute_not_exists(pk) OR event_at < :t")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":p", s(&plan.product_id))
            .expression_attribute_values(":s", s(&plan.subscription_id))
            .expression_attribute_values(":st", s(&plan.status))
            .expression_attribute_values(":r", AttributeValue::Bool(plan.renews))
            .expression_attribute_values(":t", n(plan.event_at));
        if let Some(end) = &plan.period_end {
            set.push("period_end = :e");
            update = update.expression_attribute_values(":e", s(end));
        }
        if let Some(customer) = &plan.customer_id {
            set.push("customer_id = :c");
            update = update.expression_attribute_values(":c", s(customer));
        }
        update.update_expression(format!("SET {}", set.join(", ")))
    }

    /// The clawbacks waiting for `order_id` (read strongly consistent).
    pub async fn pending_clawbacks(&self, order_id: &str) -> Result<PendingClawbacks, StoreError> {
        let Some(i) = super::get_by_pk(&self.client, &self.table, pending_pk(order_id)).await?
        else {
            return Ok(PendingClawbacks::default());
        };
        let items = i
            .get("refunds")
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_m().ok())
                    .map(|m| {
                        Ok(PendingClawback {
                            cause: get_s(m, "cause")?,
                            refunded: get_i64(m, "refunded").ok(),
                            of: get_i64(m, "of").ok(),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(PendingClawbacks {
            version: Some(get_i64(&i, "version")?),
            items,
        })
    }

    /// The writes that keep a refund for an order not paid yet: only while no payment
    /// of it is recorded (`"payment_absent"`), and once per cause (`"pending"` fails
    /// its condition if this cause waits already).
    pub fn pending_clawback_writes(
        &self,
        order_id: &str,
        clawback: &PendingClawback,
        expires_epoch: i64,
    ) -> Result<[(&'static str, TransactWriteItem); 2], StoreError> {
        let absent = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(payment_pk(order_id)))
            .condition_expression("attribute_not_exists(pk)");
        let mut entry = Item::from([("cause".to_owned(), s(&clawback.cause))]);
        if let Some(r) = clawback.refunded {
            entry.insert("refunded".to_owned(), n(r));
        }
        if let Some(of) = clawback.of {
            entry.insert("of".to_owned(), n(of));
        }
        let [ttl, ttl_day] = super::expiry(expires_epoch);
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pending_pk(order_id)))
            .update_expression(
                "SET refunds = list_append(if_not_exists(refunds, :empty), :one), #ttl = :ttl, ttl_day = :day ADD causes :cause, version :inc",
            )
            .condition_expression("attribute_not_exists(causes) OR NOT contains(causes, :c)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":one", AttributeValue::L(vec![AttributeValue::M(entry)]))
            .expression_attribute_values(":ttl", ttl.1)
            .expression_attribute_values(":day", ttl_day.1)
            .expression_attribute_values(":cause", AttributeValue::Ss(vec![clawback.cause.clone()]))
            .expression_attribute_values(":c", s(&clawback.cause))
            .expression_attribute_values(":inc", n(1));
        Ok([
            (
                "payment_absent",
                TransactWriteItem::builder()
                    .condition_check(built(absent.build())?)
                    .build(),
            ),
            (
                "pending",
                TransactWriteItem::builder()
                    .update(built(update.build())?)
                    .build(),
            ),
        ])
    }

    /// The write that takes the clawbacks read at `pending.version` off the order as
    /// they are applied, or (none read) checks that none came meanwhile.
    pub fn pending_taken_write(
        &self,
        order_id: &str,
        pending: &PendingClawbacks,
    ) -> Result<TransactWriteItem, StoreError> {
        Ok(match pending.version {
            Some(v) => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .key("pk", s(pending_pk(order_id)))
                    .condition_expression("version = :v")
                    .expression_attribute_values(":v", n(v));
                TransactWriteItem::builder()
                    .delete(built(delete.build())?)
                    .build()
            }
            None => {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .key("pk", s(pending_pk(order_id)))
                    .condition_expression("attribute_not_exists(pk)");
                TransactWriteItem::builder()
                    .condition_check(built(check.build())?)
                    .build()
            }
        })
    }

    /// The record of a payment for an erased account, for the operators to refund,
    /// kept as long as the payment's record (`keep_until`).
    pub fn refund_due_write(
        &self,
        r: &RefundDue,
        keep_until: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::from([
            ("pk".to_owned(), s(format!("refund_due#{}", r.order_id))),
            ("account_id".to_owned(), s(REFUND_DUE)),
            ("order_id".to_owned(), s(&r.order_id)),
            ("amount".to_owned(), n(r.amount)),
            ("currency".to_owned(), s(&r.currency)),
            ("product_id".to_owned(), s(&r.product_id)),
            ("event_type".to_owned(), s(&r.event_type)),
            ("at".to_owned(), s(&r.at)),
        ]);
        if let Some(sub) = &r.subscription_id {
            item.insert("subscription_id".to_owned(), s(sub));
        }
        item.extend(super::expiry(keep_until));
        // Listed once per order, whatever resends it.
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    /// R28: a refund due that was refunded (Creem's refund or chargeback of it came):
    /// off the operators' list.
    pub fn refund_done_write(&self, order_id: &str) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(format!("refund_due#{order_id}")));
        Ok(TransactWriteItem::builder()
            .delete(built(delete.build())?)
            .build())
    }

    /// The payments that arrived after their account was erased (operators).
    pub async fn refunds_due(&self) -> Result<Vec<RefundDue>, StoreError> {
        super::query_partition(
            &self.client,
            &self.table,
            "by_account",
            "account_id",
            REFUND_DUE,
            false,
        )
        .await?
        .iter()
        .map(|i| {
            Ok(RefundDue {
                order_id: get_s(i, "order_id")?,
                subscription_id: opt_s(i, "subscription_id"),
                amount: get_i64(i, "amount")?,
                currency: get_s(i, "currency")?,
                product_id: get_s(i, "product_id")?,
                event_type: get_s(i, "event_type")?,
                at: get_s(i, "at")?,
            })
        })
        .collect()
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        super::put_new_write(&self.table, item)
    }
}
