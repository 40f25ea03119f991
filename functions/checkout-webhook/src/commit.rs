//! Writes an event's effect in one transaction with its "applied" marker.
//!
//! A cancelled transaction is read by label. Only a failed condition is an answer:
//! - the marker's: this event was applied before (a resend);
//! - the credits' entry: another event accounted for this money (the plan's first
//!   period comes in `checkout.completed` and `subscription.paid`); the rest is written;
//! - the plan's: a later event set the plan already; the rest is written;
//! - the account's: it is erased or being erased; nothing of it is written, and a
//!   payment is recorded for the operators to refund.
//!
//! Anything else (throttling, a conflict that outlived the retries, a clawback that
//! came meanwhile) is an error: the webhook answers 503 with nothing written, and
//! Creem sends the event again.

use shared::adapters::dynamo::billing::{ERASED, Payment, PendingClawbacks, RefundDue};
use shared::adapters::dynamo::{StoreError, Tx};
use shared::adapters::metrics::{self, Metric};
use shared::domain::ledger::EntryKind;

use crate::creem::Event;
use crate::events::{Effect, Outcome, clawback_credits};
use crate::state::Services;

/// How many parts of an effect can turn out to be done already (or be read again),
/// plus one.
const ATTEMPTS: usize = 6;

impl Services {
    pub async fn commit(&self, ev: &Event, mut effect: Effect) -> Result<Outcome, StoreError> {
        // Assumed none, checked in the transaction: a clawback that came first is
        // rare, and is read only then (one request per event otherwise).
        let mut pending = PendingClawbacks::default();
        let mut outcome = if effect.pending.is_some() {
            Outcome::Pending
        } else if effect.is_empty() {
            Outcome::Ignored
        } else {
            Outcome::Applied
        };
        for _ in 0..ATTEMPTS {
            let tx = self.transaction(ev, &effect, &pending)?;
            let cancelled = match tx.commit().await {
                Ok(()) => {
                    counted(&effect, &pending);
                    return Ok(outcome);
                }
                Err(StoreError::Cancelled(c)) if c.only_conditions() => c,
                Err(e) => return Err(e),
            };
            if cancelled.failed("marker") {
                return Ok(Outcome::Duplicate);
            }
            if cancelled.failed("account") {
                return self.after_erasure(ev, &effect).await;
            }
            let mut progressed = false;
            if cancelled.failed("credits") {
                // The money's cause took effect through another event, and so did the
                // clawbacks that waited for it.
                effect.credits = None;
                effect.takes_pending = None;
                outcome = Outcome::AlreadyAccounted;
                progressed = true;
            }
            if cancelled.failed("payment") {
                // The payment was recorded by an earlier event: the first record stays
                // (with the clawbacks counted on it).
                effect.payment = None;
                progressed = true;
            }
            if cancelled.failed("plan") {
                // A later event set the plan: this one's state is older.
                effect.plan = None;
                progressed = true;
            }
            if cancelled.failed("link") {
                tracing::warn!(event_id = %ev.id, "subscription linked to another account; left as it is");
                effect.link = None;
                progressed = true;
            }
            if cancelled.failed("pending") {
                if effect.pending.is_some() {
                    // This clawback waits already (a resend of it).
                    effect.pending = None;
                    progressed = true;
                } else if let Some((order_id, ..)) = &effect.takes_pending {
                    // Clawbacks came before this payment: taken with it.
                    let read = self.billing.pending_clawbacks(order_id).await?;
                    progressed = read != pending;
                    pending = read;
                }
            }
            if !progressed {
                // The payment or a clawback of it came meanwhile: decided again when
                // Creem resends.
                return Err(StoreError::Cancelled(cancelled));
            }
        }
        Err(StoreError::Backend("webhook effect did not settle".into()))
    }

    fn transaction(
        &self,
        ev: &Event,
        effect: &Effect,
        pending: &PendingClawbacks,
    ) -> Result<Tx, StoreError> {
        let at = self.now();
        let keep_until = self.accounting_keep_until();
        let mut tx = self.transactions.begin();
        tx.add("marker", self.billing.event_write(&ev.id, &at, keep_until)?);
        if let Some(p) = &effect.payment {
            // The clawbacks that waited for it are counted on it as it is written (one
            // write per item in a transaction).
            let record = Payment {
                clawed: waited_clawbacks(effect, pending).iter().sum(),
                ..p.clone()
            };
            tx.add("payment", self.billing.payment_write(&record, None)?);
        }
        if let Some((order_id, clawback)) = &effect.pending {
            for (label, write) in self
                .billing
                .pending_clawback_writes(order_id, clawback, keep_until)?
            {
                tx.add(label, write);
            }
        }
        let Some(account_id) = &effect.account_id else {
            return Ok(tx);
        };
        if effect.credits.is_some() || effect.plan.is_some() || effect.link.is_some() {
            tx.add("account", self.accounts.not_erased_write(account_id)?);
        }
        let mut delta = 0;
        if let Some(c) = &effect.credits {
            tx.add(
                "credits",
                self.ledger
                    .entry_write(account_id, c.kind, c.amount, &c.cause, &at)?,
            );
            delta += c.kind.signed(c.amount);
        }
        if let Some((payment, from, to, shown)) = &effect.clawed {
            tx.add(
                "clawed",
                self.billing.clawed_write(payment, *from, *to, shown)?,
            );
        }
        if let Some((order_id, ..)) = &effect.takes_pending {
            for (p, amount) in pending.items.iter().zip(waited_clawbacks(effect, pending)) {
                if amount == 0 {
                    continue;
                }
                tx.add(
                    "pending_entries",
                    self.ledger.entry_write(
                        account_id,
                        EntryKind::Clawback,
                        amount,
                        &p.cause,
                        &at,
                    )?,
                );
                delta += EntryKind::Clawback.signed(amount);
            }
            tx.add(
                "pending",
                self.billing.pending_taken_write(order_id, pending)?,
            );
        }
        if tx.has("credits") || tx.has("pending_entries") {
            tx.add(
                "balance",
                self.ledger.balance_write(account_id, delta, None)?,
            );
        }
        if let Some(sub_id) = &effect.link {
            tx.add("link", self.billing.link_write(sub_id, account_id)?);
        }
        if let Some(plan) = &effect.plan {
            tx.add("plan", self.billing.plan_write(account_id, plan)?);
        }
        Ok(tx)
    }

    /// R28: an event about an account that is erased (or being erased) writes nothing
    /// that names it. A payment is recorded under the pseudonym where the erasure left
    /// one (its subscription's link), and listed for the operators: refund due.
    async fn after_erasure(&self, ev: &Event, effect: &Effect) -> Result<Outcome, StoreError> {
        let mut effect = effect.clone();
        for _ in 0..2 {
            match self.after_erasure_once(ev, &effect).await {
                // The order was recorded before (paid while the account was there): its
                // first record stays, and it is no refund due of this event.
                Err(e) if e.failed("payment") => effect.payment = None,
                done => return done,
            }
        }
        Err(StoreError::Backend("webhook effect did not settle".into()))
    }

    async fn after_erasure_once(&self, ev: &Event, effect: &Effect) -> Result<Outcome, StoreError> {
        // R28: nothing is charged after an erasure. A subscription the event names is
        // cancelled at Creem first, every time (Creem answers a cancelled one as such);
        // until Creem confirms, nothing is written and the event is answered 5xx, so
        // Creem sends it again.
        if let Some(sub) = &effect.subscription {
            let answer = self.creem.cancel(sub).await.map_err(|e| {
                tracing::warn!(event = "subscription_cancel_failed", error = %e, "subscription of an erased account not cancelled yet");
                StoreError::Backend("creem: subscription not cancelled yet".into())
            })?;
            tracing::warn!(event = "subscription_cancelled_after_erasure", event_type = %ev.event_type, answer = ?answer, "subscription of an erased account cancelled at Creem");
        }
        let at = self.now();
        let mut tx = self.transactions.begin();
        tx.add(
            "marker",
            self.billing
                .event_write(&ev.id, &at, self.accounting_keep_until())?,
        );
        if let Some(p) = &effect.payment {
            let mut record = p.clone();
            record.account_id = effect
                .erased_owner
                .clone()
                .unwrap_or_else(|| ERASED.to_owned());
            let keep_until = self.accounting_keep_until();
            tx.add(
                "payment",
                self.billing.payment_write(&record, Some(keep_until))?,
            );
            tx.add(
                "refund_due",
                self.billing.refund_due_write(
                    &RefundDue {
                        subscription_id: effect.subscription.clone(),
                        order_id: p.order_id.clone(),
                        amount: p.amount,
                        currency: p.currency.clone(),
                        product_id: p.product_id.clone(),
                        event_type: ev.event_type.clone(),
                        at: at.clone(),
                    },
                    keep_until,
                )?,
            );
        }
        if let Some(order_id) = &effect.refunds {
            // Refunded at Creem: no longer due.
            tx.add("refunded", self.billing.refund_done_write(order_id)?);
        }
        match tx.commit().await {
            Ok(()) => {}
            Err(e) if e.failed("marker") => return Ok(Outcome::Duplicate),
            Err(e) => return Err(e),
        }
        if effect.payment.is_some() {
            metrics::count(Metric::PaymentsAfterErasure, &[]);
            tracing::warn!(
                event = "payment_after_erasure",
                event_id = %ev.id,
                event_type = %ev.event_type,
                "payment for an erased account: refund due"
            );
        }
        Ok(Outcome::AfterErasure)
    }
}

/// R48: the money's metrics of an effect just committed: credits sold, and taken back
/// (by this event, and by the clawbacks that waited for this payment).
fn counted(effect: &Effect, pending: &PendingClawbacks) {
    if let Some(c) = &effect.credits {
        match c.kind {
            EntryKind::Purchase => metrics::emit(Metric::CreditsSold, c.amount as f64, &[]),
            EntryKind::Clawback => {
                metrics::emit(Metric::CreditsTakenBack, c.amount.abs() as f64, &[])
            }
            _ => {}
        }
    }
    let waited: i64 = waited_clawbacks(effect, pending).iter().sum();
    if waited > 0 {
        metrics::emit(Metric::CreditsTakenBack, waited as f64, &[]);
    }
}

/// R10: what each clawback that waited for this payment takes back with it: its share,
/// in the order they came, never more in all than the payment grants.
fn waited_clawbacks(effect: &Effect, pending: &PendingClawbacks) -> Vec<i64> {
    let Some((_, paid, credits)) = &effect.takes_pending else {
        return Vec::new();
    };
    let mut taken = 0;
    pending
        .items
        .iter()
        .map(|p| {
            let share = clawback_credits(*credits, p.of.unwrap_or(*paid), p.refunded);
            let amount = share.clamp(0, (*credits - taken).max(0));
            taken += amount;
            amount
        })
        .collect()
}
