//! What each Creem event does (R09–R12), one function per type. Every effect is keyed
//! by its cause — an order for a pack, a subscription and its period start for a plan,
//! a refund or dispute id for a clawback — and written in one transaction with the
//! event's own "applied" marker (see [`crate::commit`]), so neither a resent event nor a
//! second event about the same money (`checkout.completed` and `subscription.paid` for
//! a first period) takes effect twice, and events arriving in any order end the same.

use shared::adapters::dynamo::StoreError;
use shared::adapters::dynamo::billing::Payment;
use shared::adapters::dynamo::billing::{PendingClawback, Plan};
use shared::domain::billing::{Product, ProductKind};
use shared::domain::ledger::EntryKind;
use shared::domain::policy::{Paid, credits_for};

use crate::creem::{Checkout, Clawback, CreemEvent, Event, Subscription, SubscriptionRef};
use crate::state::Services;

/// What applying an event did, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// This event was applied before (a resend).
    Duplicate,
    /// Its money was accounted for by another event already.
    AlreadyAccounted,
    /// A refund or dispute of an order not paid yet: kept, and applied with the payment.
    Pending,
    /// About an account that is erased or being erased: nothing names it; a payment is
    /// recorded for the operators to refund.
    AfterErasure,
    /// A type with no effect here, or about nothing of ours.
    Ignored,
}

/// A change of credits, keyed by its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credits {
    pub kind: EntryKind,
    pub amount: i64,
    pub cause: String,
}

/// Everything one event changes, decided before anything is written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effect {
    /// Whose credits, plan and subscription these are; it must still exist.
    pub account_id: Option<String>,
    pub payment: Option<Payment>,
    pub credits: Option<Credits>,
    /// The order whose waiting clawbacks this grant takes back with it: its id, the
    /// amount paid and the credits it bought.
    pub takes_pending: Option<(String, i64, i64)>,
    /// The subscription to link to the account.
    pub link: Option<String>,
    pub plan: Option<Plan>,
    /// A clawback of an order not paid yet.
    pub pending: Option<(String, PendingClawback)>,
    /// The pseudonym an erased account's subscription is linked to, when known.
    pub erased_owner: Option<String>,
    /// R10: the credits taken back from a payment: its key, the count before and after,
    /// and what the payment now shows (R47).
    pub clawed: Option<(String, i64, i64, &'static str)>,
    /// The subscription the event names: cancelled at Creem first if its account is
    /// erased or being erased (R28).
    pub subscription: Option<String>,
    /// A refund or dispute: the payment it takes back (off the refunds due, R28).
    pub refunds: Option<String>,
}

impl Effect {
    pub fn is_empty(&self) -> bool {
        self.payment.is_none()
            && self.credits.is_none()
            && self.plan.is_none()
            && self.link.is_none()
            && self.pending.is_none()
    }
}

/// The credits a refund of `refunded` (of `paid`) takes back of the `credits` bought:
/// all of them for a full refund, their share for a partial one. Both amounts must be
/// on one basis (tax included in both: the refund's own transaction says what was
/// paid); the recorded payment's amount is the basis only when the refund does not.
pub fn clawback_credits(credits: i64, paid: i64, refunded: Option<i64>) -> i64 {
    match refunded {
        Some(r) if paid > 0 && r < paid => credits * r.max(0) / paid,
        _ => credits,
    }
}

/// R10: the credits a clawback takes now of a payment that granted `granted` and has
/// had `clawed` taken back already: its share, or (where Creem says how much went back
/// in all) what brings the total to that share; never past what was granted, whatever
/// arrives in whatever order (a full refund then a dispute, cumulative amounts).
pub fn clawback_now(granted: i64, clawed: i64, this_share: i64, total_share: Option<i64>) -> i64 {
    let left = (granted - clawed).max(0);
    match total_share {
        Some(total) => (total.min(granted) - clawed).clamp(0, left),
        None => this_share.clamp(0, left),
    }
}

/// A plan's `credits` for the period a subscription object describes, keyed by the
/// subscription and the period's start.
pub fn period_grant(sub: &Subscription, credits: i64) -> Option<Credits> {
    let start = sub.current_period_start_date.as_deref()?;
    (credits > 0).then(|| Credits {
        kind: EntryKind::Purchase,
        amount: credits,
        cause: format!("sub:{}:{start}", sub.id),
    })
}

/// The credits a payment grants by the policy's rule (`credits_for`); none, logged,
/// when it grants none (unpaid, a trial, nothing paid).
fn granted_or_logged(product: &Product, paid: Paid<'_>) -> i64 {
    match credits_for(product, paid) {
        Ok(n) => n,
        Err(why) => {
            tracing::info!(event = "payment_grants_no_credits", product = %product.id, reason = %why, "no credits for this payment");
            0
        }
    }
}

/// R47: what a payment shows once `clawed` of its `granted` credits were taken back by
/// a refund or a dispute.
fn taken_back(what: &str, clawed: i64, granted: i64) -> &'static str {
    if what == "dispute" {
        "disputed"
    } else if clawed >= granted {
        "refunded"
    } else {
        "partially_refunded"
    }
}

/// The plan's state an event about a subscription sets.
pub fn plan_of(product: &Product, sub: &Subscription, ev: &Event, status: &str) -> Plan {
    let renews = matches!(status, "active" | "trialing")
        && ev.event_type != "subscription.scheduled_cancel"
        && sub.canceled_at.as_ref().is_none_or(|v| v.is_null());
    Plan {
        product_id: product.id.clone(),
        subscription_id: sub.id.clone(),
        period_end: sub.current_period_end_date.clone(),
        renews,
        status: status.to_owned(),
        cancel_at: None,
        customer_id: sub.customer.as_ref().map(|c| c.id().to_owned()),
        event_at: ev.created_at,
    }
    .with_cancel_at()
}

impl Services {
    fn product(&self, creem_product_id: &str) -> Option<&Product> {
        self.catalogue
            .iter()
            .find(|p| p.creem_product_id == creem_product_id)
    }

    /// What `ev` changes; `None` when it is about nothing of ours.
    pub async fn effect(
        &self,
        ev: &Event,
        read: &CreemEvent,
    ) -> Result<Option<Effect>, StoreError> {
        Ok(match read {
            CreemEvent::CheckoutCompleted(c) => self.checkout_completed(ev, c),
            CreemEvent::SubscriptionPaid(sub) => self.subscription_paid(ev, sub).await?,
            CreemEvent::SubscriptionChanged { kind, sub } => {
                self.subscription_changed(ev, kind, sub).await?
            }
            CreemEvent::Refund(c) => self.clawback(c, "refund").await?,
            CreemEvent::Dispute(c) => self.clawback(c, "dispute").await?,
            CreemEvent::Other => None,
        })
    }

    fn checkout_completed(&self, ev: &Event, c: &Checkout) -> Option<Effect> {
        let account_id = c.metadata.as_ref()?.account_id.clone()?;
        let product = self.product(c.product_id()?)?;
        let order = c.order.as_ref()?;
        let amount = order.amount.unwrap_or(0);
        // R11: the credits follow what was paid (the policy's rule).
        let granted = granted_or_logged(
            product,
            Paid {
                status: order.status.as_deref(),
                amount: order.amount,
                trialing: false,
            },
        );
        let mut effect = Effect {
            payment: Some(Payment {
                clawed: 0,
                taken_back: None,
                customer_id: c.customer.as_ref().map(|x| x.id().to_owned()),
                order_id: order.id.clone(),
                account_id: account_id.clone(),
                amount,
                currency: order.currency.clone().unwrap_or_default(),
                status: order.status.clone().unwrap_or_else(|| "paid".into()),
                product_id: product.id.clone(),
                at: self.now(),
            }),
            takes_pending: Some((order.id.clone(), amount, granted)),
            account_id: Some(account_id),
            ..Effect::default()
        };
        match product.kind {
            ProductKind::CreditPack => {
                effect.credits = (granted > 0).then(|| Credits {
                    kind: EntryKind::Purchase,
                    amount: granted,
                    cause: format!("order:{}", order.id),
                });
            }
            ProductKind::Subscription => {
                // A plan's money is its periods' (`subscription.paid`, which Creem sends
                // for the first payment too and names by its transaction): here the
                // subscription is linked and the plan shown, nothing is paid twice.
                let sub = c.subscription.as_ref()?;
                effect.payment = None;
                effect.takes_pending = None;
                effect.link = Some(sub.id().to_owned());
                effect.subscription = Some(sub.id().to_owned());
                if let SubscriptionRef::Object(sub) = sub {
                    effect.plan = Some(plan_of(product, sub, ev, "active"));
                }
            }
        }
        Some(effect)
    }

    /// The account a subscription event is about: our metadata, else the account the
    /// subscription was linked to at checkout (a pseudonym once that one is erased).
    async fn subscription_owner(&self, sub: &Subscription) -> Result<Option<String>, StoreError> {
        if let Some(a) = sub.account_id() {
            return Ok(Some(a.to_owned()));
        }
        self.billing.subscription_owner(&sub.id).await
    }

    async fn subscription_paid(
        &self,
        ev: &Event,
        sub: &Subscription,
    ) -> Result<Option<Effect>, StoreError> {
        let Some(account_id) = self.subscription_owner(sub).await? else {
            return Ok(None);
        };
        let Some(product) = sub.product.as_ref().and_then(|p| self.product(p.id())) else {
            return Ok(None);
        };
        let t = sub.last_transaction.as_ref();
        let granted = granted_or_logged(
            product,
            Paid {
                status: t.and_then(|t| t.status.as_deref()),
                amount: t.and_then(|t| t.amount),
                trialing: sub.status.as_deref() == Some("trialing"),
            },
        );
        let mut effect = Effect {
            link: Some(sub.id.clone()),
            subscription: Some(sub.id.clone()),
            plan: Some(plan_of(product, sub, ev, "active")),
            credits: period_grant(sub, granted),
            ..Effect::default()
        };
        // R09: one payment record per paid period, under its transaction, so a refund
        // of a renewal finds it.
        // A trial period was not paid: it has no payment record either.
        let trialing = sub.status.as_deref() == Some("trialing");
        if let Some(order_id) = sub.period_payment().filter(|_| !trialing) {
            let t = sub.last_transaction.as_ref();
            let amount = t
                .and_then(|t| t.amount_paid.or(t.amount))
                .unwrap_or(product.price_cents);
            effect.payment = Some(Payment {
                clawed: 0,
                taken_back: None,
                customer_id: sub.customer.as_ref().map(|x| x.id().to_owned()),
                order_id: order_id.to_owned(),
                account_id: account_id.clone(),
                amount,
                currency: t
                    .and_then(|t| t.currency.clone())
                    .unwrap_or_else(|| product.currency.clone()),
                status: t
                    .and_then(|t| t.status.clone())
                    .unwrap_or_else(|| "paid".into()),
                product_id: product.id.clone(),
                at: self.now(),
            });
            effect.takes_pending = Some((order_id.to_owned(), amount, granted));
        }
        effect.erased_owner = self.erased_owner(sub, &account_id).await?;
        effect.account_id = Some(account_id);
        Ok(Some(effect))
    }

    async fn subscription_changed(
        &self,
        ev: &Event,
        kind: &str,
        sub: &Subscription,
    ) -> Result<Option<Effect>, StoreError> {
        let Some(account_id) = self.subscription_owner(sub).await? else {
            return Ok(None);
        };
        let Some(product) = sub.product.as_ref().and_then(|p| self.product(p.id())) else {
            return Ok(None);
        };
        let status = sub.status.as_deref().unwrap_or(kind);
        Ok(Some(Effect {
            plan: Some(plan_of(product, sub, ev, status)),
            subscription: Some(sub.id.clone()),
            account_id: Some(account_id),
            ..Effect::default()
        }))
    }

    /// The pseudonym the subscription is linked to, if its account was erased.
    async fn erased_owner(
        &self,
        sub: &Subscription,
        account_id: &str,
    ) -> Result<Option<String>, StoreError> {
        if account_id.starts_with(shared::domain::privacy::PSEUDONYM_PREFIX) {
            return Ok(Some(account_id.to_owned()));
        }
        Ok(self
            .billing
            .subscription_owner(&sub.id)
            .await?
            .filter(|o| o.starts_with(shared::domain::privacy::PSEUDONYM_PREFIX)))
    }

    /// A refund or dispute: the credits of its share of the payment go back; before
    /// the payment is known, it waits for it.
    async fn clawback(&self, c: &Clawback, what: &str) -> Result<Option<Effect>, StoreError> {
        let cause = format!("{what}:{}", c.id);
        let mut found = None;
        for key in c.payment_keys() {
            if let Some(p) = self.billing.payment(key).await? {
                found = Some(p);
                break;
            }
        }
        let Some(paid) = found else {
            let Some(key) = c.waits_for() else {
                return Ok(None);
            };
            return Ok(Some(Effect {
                pending: Some((
                    key.to_owned(),
                    PendingClawback {
                        cause,
                        refunded: c.refunded(),
                        of: c.paid(),
                    },
                )),
                ..Effect::default()
            }));
        };
        let Some(product) = self.catalogue.iter().find(|p| p.id == paid.product_id) else {
            return Ok(None);
        };
        let basis = c.paid().unwrap_or(paid.amount);
        // What the payment granted (a discounted one, less than the product).
        let granted = credits_for(
            product,
            Paid {
                status: None,
                amount: Some(paid.amount),
                trialing: false,
            },
        )
        .unwrap_or(0);
        let amount = clawback_now(
            granted,
            paid.clawed,
            clawback_credits(granted, basis, c.refunded()),
            c.refunded_so_far()
                .map(|so_far| clawback_credits(granted, basis, Some(so_far))),
        );
        if amount == 0 {
            tracing::info!(
                event = "clawback_capped",
                "the order's credits were all taken back already"
            );
            return Ok(None);
        }
        Ok(Some(Effect {
            refunds: Some(paid.order_id.clone()),
            clawed: Some((
                paid.order_id.clone(),
                paid.clawed,
                paid.clawed + amount,
                taken_back(what, paid.clawed + amount, granted),
            )),
            credits: Some(Credits {
                kind: EntryKind::Clawback,
                amount,
                cause,
            }),
            account_id: Some(paid.account_id),
            ..Effect::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn r10_clawbacks_never_take_back_more_than_the_order_granted() {
        // A full refund, then a dispute of the same order: nothing more.
        assert_eq!(clawback_now(10, 0, 10, Some(10)), 10);
        assert_eq!(clawback_now(10, 10, 10, Some(10)), 0);
        assert_eq!(clawback_now(10, 10, 10, None), 0);
        // Two partial refunds of half, the second reported with the cumulative total.
        assert_eq!(clawback_now(10, 0, 5, Some(5)), 5);
        assert_eq!(clawback_now(10, 5, 5, Some(10)), 5);
        // The same, without a total: each takes its share, up to what is left.
        assert_eq!(clawback_now(10, 5, 5, None), 5);
        assert_eq!(clawback_now(10, 8, 5, None), 2);
        // A total that says less than was taken takes nothing back, and gives none.
        assert_eq!(clawback_now(10, 8, 5, Some(5)), 0);
    }

    #[test]
    fn r10_a_partial_refund_takes_back_its_share_and_a_full_one_everything() {
        assert_eq!(clawback_credits(100, 900, Some(450)), 50);
        assert_eq!(clawback_credits(100, 900, Some(900)), 100);
        assert_eq!(clawback_credits(100, 900, None), 100);
        assert_eq!(clawback_credits(100, 0, Some(10)), 100, "nothing paid: all");
        assert_eq!(clawback_credits(100, 900, Some(-5)), 0);
    }

    fn sub(v: serde_json::Value) -> Subscription {
        serde_json::from_value(v).unwrap()
    }

    fn product() -> Product {
        Product {
            id: "plan_monthly".into(),
            creem_product_id: "prod_plan".into(),
            name: "Plan".into(),
            kind: ProductKind::Subscription,
            credits: 40,
            price_cents: 1900,
            currency: "EUR".into(),
            period: Some("month".into()),
        }
    }

    fn event(kind: &str) -> Event {
        Event {
            id: "evt".into(),
            event_type: kind.into(),
            created_at: 7,
            object: json!({}),
        }
    }

    #[test]
    fn r12_each_period_is_its_own_cause_and_a_cancelled_plan_does_not_renew() {
        let s = sub(json!({"id": "sub_1", "current_period_start_date": "2026-12-01"}));
        let g = period_grant(&s, 40).unwrap();
        assert_eq!((g.cause.as_str(), g.amount), ("sub:sub_1:2026-12-01", 40));
        assert!(period_grant(&sub(json!({"id": "sub_1"})), 40).is_none());
        assert!(
            period_grant(&s, 0).is_none(),
            "a period that grants nothing"
        );
        let active = plan_of(&product(), &s, &event("subscription.active"), "active");
        assert!(active.renews && active.event_at == 7);
        let scheduled = plan_of(
            &product(),
            &s,
            &event("subscription.scheduled_cancel"),
            "active",
        );
        assert!(!scheduled.renews);
        let canceled = sub(json!({"id": "sub_1", "canceled_at": "2026-12-02T00:00:00Z"}));
        assert!(
            !plan_of(
                &product(),
                &canceled,
                &event("subscription.update"),
                "active"
            )
            .renews
        );
    }
}
