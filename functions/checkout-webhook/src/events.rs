//! What each Creem event does (R09–R12). Every effect is keyed by its cause — an order
//! for a pack, a subscription and its period start for a plan, a refund or dispute id
//! for a clawback — and written in one transaction with the event's own "applied"
//! marker, so neither a resent event nor a second event about the same money
//! (`checkout.completed` and `subscription.paid` for a first period) takes effect twice.

use serde_json::Value;
use shared::adapters::dynamo::billing::{Payment, Plan};
use shared::adapters::dynamo::{StoreError, transact};
use shared::domain::billing::{Product, ProductKind};
use shared::domain::clock::rfc3339;
use shared::domain::ledger::EntryKind;

use crate::state::WebhookState;

/// Creem's envelope.
#[derive(Debug, serde::Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "eventType")]
    pub event_type: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub object: Value,
}

/// What applying an event did, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// This event was applied before (a resend).
    Duplicate,
    /// Its money was accounted for by another event already.
    AlreadyAccounted,
    /// A type with no effect here, or about nothing of ours.
    Ignored,
}

/// A change of credits, keyed by its cause.
struct Credits {
    account_id: String,
    kind: EntryKind,
    amount: i64,
    cause: String,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// A product field that Creem sends as an id or as the product object.
fn product_id(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v.get("id")?.as_str())
}

impl WebhookState {
    fn product(&self, creem_product_id: &str) -> Option<&Product> {
        self.catalogue
            .iter()
            .find(|p| p.creem_product_id == creem_product_id)
    }

    /// The account a subscription event is about: our metadata, else the account
    /// the subscription was linked to at checkout.
    async fn subscription_account(&self, sub: &Value) -> Result<Option<String>, StoreError> {
        if let Some(a) = str_at(sub, &["metadata", "account_id"]) {
            return Ok(Some(a.to_owned()));
        }
        match sub.get("id").and_then(Value::as_str) {
            Some(id) => self.billing.subscription_owner(id).await,
            None => Ok(None),
        }
    }

    pub async fn apply(&self, ev: &Event) -> Result<Outcome, StoreError> {
        let o = &ev.object;
        let at = rfc3339(self.clock.now());
        let mut payment = None;
        let mut plan: Option<(String, Plan)> = None;
        let credits: Option<Credits> = match ev.event_type.as_str() {
            "checkout.completed" => {
                let Some(account_id) = str_at(o, &["metadata", "account_id"]) else {
                    return Ok(Outcome::Ignored);
                };
                let product = o
                    .get("product")
                    .and_then(product_id)
                    .or_else(|| {
                        o.get("order")
                            .and_then(|ord| ord.get("product"))
                            .and_then(product_id)
                    })
                    .and_then(|id| self.product(id));
                let (Some(product), Some(order_id)) = (product, str_at(o, &["order", "id"])) else {
                    return Ok(Outcome::Ignored);
                };
                payment = Some(Payment {
                    order_id: order_id.to_owned(),
                    account_id: account_id.to_owned(),
                    amount: o["order"]["amount"].as_i64().unwrap_or(0),
                    currency: str_at(o, &["order", "currency"])
                        .unwrap_or_default()
                        .to_owned(),
                    status: str_at(o, &["order", "status"]).unwrap_or("paid").to_owned(),
                    product_id: product.id.clone(),
                    at: at.clone(),
                });
                match product.kind {
                    ProductKind::CreditPack => Some(Credits {
                        account_id: account_id.to_owned(),
                        kind: EntryKind::Purchase,
                        amount: product.credits,
                        cause: format!("order:{order_id}"),
                    }),
                    ProductKind::Subscription => {
                        let sub = &o["subscription"];
                        let Some(sub_id) = sub.get("id").and_then(Value::as_str) else {
                            return Ok(Outcome::Ignored);
                        };
                        self.billing.link_subscription(sub_id, account_id).await?;
                        plan = Some((account_id.to_owned(), plan_of(product, sub, ev, "active")));
                        period_grant(product, account_id, sub_id, sub)
                    }
                }
            }
            "subscription.paid" => {
                let Some(account_id) = self.subscription_account(o).await? else {
                    return Ok(Outcome::Ignored);
                };
                let (Some(product), Some(sub_id)) = (
                    o.get("product")
                        .and_then(product_id)
                        .and_then(|id| self.product(id)),
                    o.get("id").and_then(Value::as_str),
                ) else {
                    return Ok(Outcome::Ignored);
                };
                self.billing.link_subscription(sub_id, &account_id).await?;
                plan = Some((account_id.clone(), plan_of(product, o, ev, "active")));
                period_grant(product, &account_id, sub_id, o)
            }
            t if t.starts_with("subscription.") => {
                let Some(account_id) = self.subscription_account(o).await? else {
                    return Ok(Outcome::Ignored);
                };
                let Some(product) = o
                    .get("product")
                    .and_then(product_id)
                    .and_then(|id| self.product(id))
                else {
                    return Ok(Outcome::Ignored);
                };
                let status = o
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| t.trim_start_matches("subscription."));
                plan = Some((account_id, plan_of(product, o, ev, status)));
                None
            }
            "refund.created" | "dispute.created" => {
                let order_id =
                    str_at(o, &["order", "id"]).or_else(|| o.get("order").and_then(Value::as_str));
                let Some(paid) = (match order_id {
                    Some(id) => self.billing.payment(id).await?,
                    None => None,
                }) else {
                    return Ok(Outcome::Ignored);
                };
                let Some(product) = self.catalogue.iter().find(|p| p.id == paid.product_id) else {
                    return Ok(Outcome::Ignored);
                };
                let refunded = o
                    .get("refund_amount")
                    .or_else(|| o.get("amount"))
                    .and_then(Value::as_i64)
                    .unwrap_or(paid.amount);
                // A partial refund takes back its share of the credits.
                let amount = if paid.amount > 0 && refunded < paid.amount {
                    product.credits * refunded / paid.amount
                } else {
                    product.credits
                };
                let Some(id) = o.get("id").and_then(Value::as_str) else {
                    return Ok(Outcome::Ignored);
                };
                let what = ev.event_type.trim_end_matches(".created");
                Some(Credits {
                    account_id: paid.account_id,
                    kind: EntryKind::Clawback,
                    amount,
                    cause: format!("{what}:{id}"),
                })
            }
            _ => None,
        };

        let touches_anything = credits.is_some() || payment.is_some() || plan.is_some();
        let outcome = self.commit(ev, credits, payment.as_ref(), &at).await?;
        if outcome != Outcome::Duplicate
            && let Some((account_id, plan)) = &plan
        {
            self.billing.set_plan(account_id, plan).await?;
        }
        Ok(if outcome == Outcome::Applied && !touches_anything {
            Outcome::Ignored
        } else {
            outcome
        })
    }

    /// The event's marker, its credits and its payment record, in one transaction.
    async fn commit(
        &self,
        ev: &Event,
        credits: Option<Credits>,
        payment: Option<&Payment>,
        at: &str,
    ) -> Result<Outcome, StoreError> {
        let keep_until =
            self.clock.epoch_secs() + self.policy.accounting_retention.as_secs() as i64;
        let marker = || self.billing.event_write(&ev.id, at, keep_until);
        let mut writes = vec![marker()?];
        if let Some(p) = payment {
            writes.push(self.billing.payment_write(p)?);
        }
        let with_credits = credits.is_some();
        if let Some(c) = &credits {
            writes.extend(self.ledger.effect_writes(
                &c.account_id,
                c.kind,
                c.amount,
                &c.cause,
                at,
            )?);
        }
        match transact(self.billing.client(), writes).await {
            Ok(()) => Ok(Outcome::Applied),
            Err(StoreError::Cancelled(reasons)) => {
                let failed = |i: usize| {
                    reasons.get(i).and_then(|r| r.as_deref()) == Some("ConditionalCheckFailed")
                };
                if failed(0) {
                    return Ok(Outcome::Duplicate);
                }
                if !with_credits {
                    return Err(StoreError::Cancelled(reasons));
                }
                // The credits' cause took effect through another event: mark this one.
                let mut writes = vec![marker()?];
                if let Some(p) = payment {
                    writes.push(self.billing.payment_write(p)?);
                }
                match transact(self.billing.client(), writes).await {
                    Ok(()) => Ok(Outcome::AlreadyAccounted),
                    Err(e) if e.is_condition_failure() => Ok(Outcome::Duplicate),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// A plan's credits for the period a subscription object describes, keyed by the
/// subscription and the period's start.
fn period_grant(product: &Product, account_id: &str, sub_id: &str, sub: &Value) -> Option<Credits> {
    let start = sub
        .get("current_period_start_date")
        .and_then(Value::as_str)?;
    Some(Credits {
        account_id: account_id.to_owned(),
        kind: EntryKind::Purchase,
        amount: product.credits,
        cause: format!("sub:{sub_id}:{start}"),
    })
}

fn plan_of(product: &Product, sub: &Value, ev: &Event, status: &str) -> Plan {
    let status = status.to_owned();
    let renews = matches!(status.as_str(), "active" | "trialing")
        && ev.event_type != "subscription.scheduled_cancel"
        && sub.get("canceled_at").is_none_or(Value::is_null);
    Plan {
        product_id: product.id.clone(),
        subscription_id: sub
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        period_end: sub
            .get("current_period_end_date")
            .and_then(Value::as_str)
            .map(str::to_owned),
        renews,
        status,
        event_at: ev.created_at,
    }
}
