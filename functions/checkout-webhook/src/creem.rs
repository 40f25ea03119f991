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

/// The payment of one subscription period.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Transaction {
    pub id: String,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
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
}

impl Subscription {
    pub fn account_id(&self) -> Option<&str> {
        self.metadata.as_ref()?.account_id.as_deref()
    }

    /// The order that paid the current period, where the event says: the last
    /// transaction's order, else the transaction itself.
    pub fn period_order(&self) -> Option<&str> {
        let t = self.last_transaction.as_ref();
        t.and_then(|t| t.order.as_deref())
            .or_else(|| t.map(|t| t.id.as_str()))
            .or(self.last_transaction_id.as_deref())
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Checkout {
    #[serde(default)]
    pub order: Option<Order>,
    #[serde(default)]
    pub product: Option<ProductRef>,
    #[serde(default)]
    pub subscription: Option<Subscription>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
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

/// A refund (`refund_amount`) or a dispute (`amount`) of an order.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Clawback {
    pub id: String,
    #[serde(default)]
    pub refund_amount: Option<i64>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub order: Option<OrderRef>,
}

impl Clawback {
    pub fn refunded(&self) -> Option<i64> {
        self.refund_amount.or(self.amount)
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

    #[test]
    fn a_renewal_names_the_order_of_its_period() {
        let e = event(
            "subscription.paid",
            json!({"id": "sub_1", "last_transaction_id": "tran_1", "last_transaction": {"id": "tran_1", "order": "ord_2"}}),
        );
        let CreemEvent::SubscriptionPaid(s) = CreemEvent::read(&e).unwrap() else {
            panic!()
        };
        assert_eq!(s.period_order(), Some("ord_2"));
        let e = event(
            "subscription.paid",
            json!({"id": "sub_1", "last_transaction_id": "tran_1"}),
        );
        let CreemEvent::SubscriptionPaid(s) = CreemEvent::read(&e).unwrap() else {
            panic!()
        };
        assert_eq!(s.period_order(), Some("tran_1"));
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
