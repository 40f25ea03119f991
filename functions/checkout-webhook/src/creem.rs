//! Creem's webhook events as typed values: the envelope, and the objects of the event
//! types that move money or a plan (checkout, subscription, refund, dispute). Only the
//! fields the effects read are declared; Creem's other fields are ignored, and a type
//! we do not act on stays raw JSON.

use serde::Deserialize;
use serde_json::Value;

/// Creem's envelope.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "eventType")]
    pub event_type: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub object: Value,
}

/// A product, sent as its id or as the product object.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ProductRef {
    Id(String),
    Object { id: String },
}

impl ProductRef {
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

/// Our metadata, set on the checkout and copied by Creem onto its subscription.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Metadata {
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub product: Option<ProductRef>,
}

/// An order, sent as its id or as the order object.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OrderRef {
    Id(String),
    Object(Order),
}

impl OrderRef {
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) => id,
            Self::Object(o) => &o.id,
        }
    }
}

/// A payment (Creem's transaction): a subscription period's, or a one-time order's.
/// Its `amount` is before tax and `amount_paid` after it (Creem's refund sample:
/// `amount` 1000, `tax_amount` 210, `amount_paid` 1210, `refund_amount` 1210;
/// docs.creem.io/code/webhooks, read 2026-12-07). Its order is only ever an id.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Transaction {
    pub id: String,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub subscription: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub amount_paid: Option<i64>,
    /// Refunded of it so far, all refunds and chargebacks together, tax included.
    #[serde(default)]
    pub refunded_amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub product: Option<ProductRef>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub current_period_start_date: Option<String>,
    #[serde(default)]
    pub current_period_end_date: Option<String>,
    #[serde(default)]
    pub canceled_at: Option<Value>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub last_transaction_id: Option<String>,
    #[serde(default)]
    pub last_transaction: Option<Transaction>,
    /// Creem's customer, as an id or the object (its SDK types allow either; npm
    /// `creem` 1.13.0, `SubscriptionEntity.customer`, read 2026-12-07): the one whose
    /// portal the person opens (R09, R47).
    #[serde(default)]
    pub customer: Option<ProductRef>,
}

impl Subscription {
    pub fn account_id(&self) -> Option<&str> {
        self.metadata.as_ref()?.account_id.as_deref()
    }

    /// The payment of the current period: its transaction. Creem's `subscription.paid`
    /// names it by `last_transaction_id` (its documented sample has no transaction
    /// object; its SDK types allow one, `last_transaction`, whose order is an id).
    pub fn period_payment(&self) -> Option<&str> {
        self.last_transaction
            .as_ref()
            .map(|t| t.id.as_str())
            .or(self.last_transaction_id.as_deref())
    }
}

/// A subscription, sent as its id or as the subscription object (Creem's SDK types
/// `checkout.subscription` as `SubscriptionEntity | string`; npm `creem` 1.13.0,
/// read 2026-12-07).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SubscriptionRef {
    Id(String),
    Object(Box<Subscription>),
}

impl SubscriptionRef {
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) => id,
            Self::Object(s) => &s.id,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Checkout {
    #[serde(default)]
    pub order: Option<Order>,
    #[serde(default)]
    pub product: Option<ProductRef>,
    #[serde(default)]
    pub subscription: Option<SubscriptionRef>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// Creem's customer, as an id or the object: kept with the payment so that a
    /// buyer of packs opens Creem's portal too (R09, R47).
    #[serde(default)]
    pub customer: Option<ProductRef>,
}

impl Checkout {
    /// The product bought: the checkout's, else its order's.
    pub fn product_id(&self) -> Option<&str> {
        self.product
            .as_ref()
            .or_else(|| self.order.as_ref()?.product.as_ref())
            .map(ProductRef::id)
    }
}

/// A refund (`refund_amount`) or a dispute (`amount`) of a payment: its transaction,
/// and the order that transaction belongs to.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Clawback {
    pub id: String,
    #[serde(default)]
    pub refund_amount: Option<i64>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub transaction: Option<Transaction>,
    #[serde(default)]
    pub order: Option<OrderRef>,
    #[serde(default)]
    pub subscription: Option<Value>,
}

impl Clawback {
    /// What went back to the customer, tax included (Creem's refund and dispute
    /// samples: the transaction's `amount_paid`, not the order's `amount`).
    pub fn refunded(&self) -> Option<i64> {
        self.refund_amount.or(self.amount)
    }

    /// What was paid, on the same basis as [`Self::refunded`] (tax included), when the
    /// event says: the share is taken from one event's two amounts, never from an
    /// amount with tax over one without.
    pub fn paid(&self) -> Option<i64> {
        self.transaction.as_ref()?.amount_paid
    }

    /// What went back of the payment so far, this clawback included, where Creem says
    /// (the transaction's cumulative `refunded_amount`).
    pub fn refunded_so_far(&self) -> Option<i64> {
        self.transaction.as_ref()?.refunded_amount
    }

    /// The keys the payment may be recorded under: a subscription period's by its
    /// transaction, a one-time order's by the order.
    pub fn payment_keys(&self) -> Vec<&str> {
        let order = self
            .order
            .as_ref()
            .map(OrderRef::id)
            .or_else(|| self.transaction.as_ref()?.order.as_deref());
        self.transaction
            .as_ref()
            .map(|t| t.id.as_str())
            .into_iter()
            .chain(order)
            .collect()
    }

    /// The key of the payment this clawback waits for, if it came first: the
    /// transaction, for a subscription's (`subscription.paid` records it so), else the
    /// order.
    pub fn waits_for(&self) -> Option<&str> {
        let t = self.transaction.as_ref();
        let of_subscription =
            self.subscription.is_some() || t.is_some_and(|t| t.subscription.is_some());
        match t {
            Some(t) if of_subscription => Some(t.id.as_str()),
            _ => self
                .order
                .as_ref()
                .map(OrderRef::id)
                .or_else(|| t?.order.as_deref()),
        }
    }
}

/// An event of a type that moves money or a plan, with its object read.
#[derive(Debug, Clone, PartialEq)]
pub enum CreemEvent {
    CheckoutCompleted(Checkout),
    SubscriptionPaid(Subscription),
    /// Every other `subscription.*` type: a change of the plan's state.
    SubscriptionChanged {
        kind: String,
        sub: Subscription,
    },
    Refund(Clawback),
    Dispute(Clawback),
    /// A type with no effect here.
    Other,
}

impl CreemEvent {
    /// Reads the event's object by its type. A known type whose object does not read
    /// is an error: it is logged and acknowledged (Creem would resend it unchanged).
    pub fn read(ev: &Event) -> Result<Self, serde_json::Error> {
        let o = ev.object.clone();
        Ok(match ev.event_type.as_str() {
            "checkout.completed" => Self::CheckoutCompleted(serde_json::from_value(o)?),
            "subscription.paid" => Self::SubscriptionPaid(serde_json::from_value(o)?),
            t if t.starts_with("subscription.") => Self::SubscriptionChanged {
                kind: t.trim_start_matches("subscription.").to_owned(),
                sub: serde_json::from_value(o)?,
            },
            "refund.created" => Self::Refund(serde_json::from_value(o)?),
            "dispute.created" => Self::Dispute(serde_json::from_value(o)?),
            _ => Self::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, object: Value) -> Event {
        Event {
            id: "evt_1".into(),
            event_type: kind.into(),
            created_at: 1,
            object,
        }
    }

    #[test]
    fn a_checkout_reads_its_product_from_the_checkout_or_the_order() {
        let e = event(
            "checkout.completed",
            json!({"order": {"id": "ord_1", "product": "prod_a", "amount": 900}, "metadata": {"account_id": "acc_1"}}),
        );
        let CreemEvent::CheckoutCompleted(c) = CreemEvent::read(&e).unwrap() else {
            panic!()
        };
        assert_eq!(c.product_id(), Some("prod_a"));
        let e = event(
            "checkout.completed",
            json!({"order": {"id": "ord_1"}, "product": {"id": "prod_b", "name": "B"}}),
        );
        let CreemEvent::CheckoutCompleted(c) = CreemEvent::read(&e).unwrap() else {
            panic!()
        };
        assert_eq!(c.product_id(), Some("prod_b"));
        assert_eq!(c.metadata, None);
    }

    /// One of Creem's documented samples (`local/vendor-samples/creem/`).
    fn documented(kind: &str) -> Event {
        let text = match kind {
            "checkout.completed" => {
                include_str!("../../../local/vendor-samples/creem/checkout.completed.json")
            }
            "subscription.paid" => {
                include_str!("../../../local/vendor-samples/creem/subscription.paid.json")
            }
            "refund.created" => {
                include_str!("../../../local/vendor-samples/creem/refund.created.json")
            }
            "dispute.created" => {
                include_str!("../../../local/vendor-samples/creem/dispute.created.json")
            }
            _ => unreachable!(),
        };
        let sample: Value = serde_json::from_str(text).unwrap();
        serde_json::from_value(sample["event"].clone()).unwrap()
    }

    #[test]
    fn r09_creems_documented_samples_read_as_they_are() {
        let CreemEvent::CheckoutCompleted(c) =
            CreemEvent::read(&documented("checkout.completed")).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            c.order.as_ref().map(|o| o.id.as_str()),
            Some("ord_4aDwWXjMLpes4Kj4XqNnUA")
        );
        assert_eq!(
            c.subscription.as_ref().map(SubscriptionRef::id),
            Some("sub_6pC2lNB6joCRQIZ1aMrTpi")
        );
        let CreemEvent::SubscriptionPaid(s) =
            CreemEvent::read(&documented("subscription.paid")).unwrap()
        else {
            panic!()
        };
        // A renewal names its payment by the transaction alone.
        assert_eq!(s.period_payment(), Some("tran_5yMaWzAl3jxuGJMCOrYWwk"));
        assert_eq!(
            s.current_period_start_date.as_deref(),
            Some("2024-10-12T11:58:38.000Z")
        );
        let CreemEvent::Refund(r) = CreemEvent::read(&documented("refund.created")).unwrap() else {
            panic!()
        };
        // Tax on both sides: 1210 refunded of 1210 paid (the order's 1000 is before tax).
        assert_eq!((r.refunded(), r.paid()), (Some(1210), Some(1210)));
        assert_eq!(
            r.payment_keys(),
            ["tran_5yMaWzAl3jxuGJMCOrYWwk", "ord_4aDwWXjMLpes4Kj4XqNnUA"]
        );
        assert_eq!(
            r.waits_for(),
            Some("tran_5yMaWzAl3jxuGJMCOrYWwk"),
            "a subscription's payment"
        );
        let CreemEvent::Dispute(d) = CreemEvent::read(&documented("dispute.created")).unwrap()
        else {
            panic!()
        };
        assert_eq!((d.refunded(), d.paid()), (Some(1331), Some(1331)));
    }

    #[test]
    fn r09_a_checkouts_subscription_reads_as_an_id_or_an_object() {
        let mut e = documented("checkout.completed");
        e.object["subscription"] = json!("sub_1");
        let CreemEvent::CheckoutCompleted(c) = CreemEvent::read(&e).unwrap() else {
            panic!()
        };
        assert_eq!(c.subscription, Some(SubscriptionRef::Id("sub_1".into())));
        // A one-time order's refund waits for its order.
        let refund = json!({"id": "ref_1", "refund_amount": 500,
            "transaction": {"id": "tran_9", "order": "ord_9", "amount_paid": 1000},
            "order": {"id": "ord_9"}});
        let CreemEvent::Refund(r) = CreemEvent::read(&event("refund.created", refund)).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.waits_for(), Some("ord_9"));
    }

    #[test]
    fn a_renewal_names_the_payment_of_its_period() {
        let e = event(
            "subscription.paid",
            json!({"id": "sub_1", "last_transaction_id": "tran_1", "last_transaction": {"id": "tran_1", "order": "ord_2"}}),
        );
        let CreemEvent::SubscriptionPaid(s) = CreemEvent::read(&e).unwrap() else {
            panic!()
        };
        assert_eq!(s.period_payment(), Some("tran_1"));
        let e = event(
            "subscription.paid",
            json!({"id": "sub_1", "last_transaction_id": "tran_1"}),
        );
        let CreemEvent::SubscriptionPaid(s) = CreemEvent::read(&e).unwrap() else {
            panic!()
        };
        assert_eq!(s.period_payment(), Some("tran_1"));
    }

    #[test]
    fn types_are_told_apart_and_unknown_ones_stay_raw() {
        let sub = json!({"id": "sub_1", "status": "canceled"});
        assert!(matches!(
            CreemEvent::read(&event("subscription.canceled", sub)).unwrap(),
            CreemEvent::SubscriptionChanged { kind, .. } if kind == "canceled"
        ));
        let refund = json!({"id": "ref_1", "refund_amount": 450, "order": {"id": "ord_1"}});
        let CreemEvent::Refund(r) = CreemEvent::read(&event("refund.created", refund)).unwrap()
        else {
            panic!()
        };
        assert_eq!((r.refunded(), r.order.unwrap().id()), (Some(450), "ord_1"));
        let dispute = json!({"id": "dis_1", "amount": 900, "order": "ord_1"});
        assert!(matches!(
            CreemEvent::read(&event("dispute.created", dispute)).unwrap(),
            CreemEvent::Dispute(_)
        ));
        assert_eq!(
            CreemEvent::read(&event("customer.updated", json!({"x": 1}))).unwrap(),
            CreemEvent::Other
        );
        assert!(CreemEvent::read(&event("refund.created", json!({"no": "id"}))).is_err());
    }
}
