//! Starting an erasure (R28), the same for the person's own request and an operator's
//! (a child's account, R06; a termination, R20): in one transaction the account stops
//! (nothing signs in; its epoch moves on, so every session ends at once) and the
//! request is recorded with its due date; then it is handed to `privacy-requests`.

use crate::adapters::dynamo::accounts::AccountStore;
use crate::adapters::dynamo::privacy::{PrivacyStore, RightsRequest};
use crate::adapters::dynamo::{StoreError, Transactions, Write};
use crate::adapters::sqs::{PrivacyMessage, PrivacyQueue};
use crate::domain::clock::{Clock, months_after};
use crate::domain::ids::AccountId;
use crate::domain::policy::Policy;
use crate::domain::privacy::{RequestKind, RequestStatus, TrailStep, new_request_id};

#[derive(Clone, Debug)]
pub struct RightsRequests {
    pub accounts: AccountStore,
    pub privacy: PrivacyStore,
    pub queue: PrivacyQueue,
    pub transactions: Transactions,
    pub clock: Clock,
    pub policy: Policy,
}

impl RightsRequests {
    /// A new request of `kind`, received now, due one calendar month later (R30).
    pub fn new_request(&self, account_id: &AccountId, kind: RequestKind) -> RightsRequest {
        let at = self.clock.now_secs();
        RightsRequest {
            id: new_request_id(),
            account_id: account_id.clone(),
            kind,
            status: RequestStatus::Pending,
            requested_at: at,
            due_by: months_after(at, self.policy.rights_request_due_months),
            trail: vec![TrailStep {
                status: RequestStatus::Pending,
                at,
            }],
            export_key: None,
            completed_at: None,
            subscriptions_cancelled: None,
            failure: None,
        }
    }

    /// Records `request` with what it commits with (the use of the code that verified
    /// it, an operator's block) and, for an erasure, the account's stop, in one
    /// transaction; then queues it.
    pub async fn submit(
        &self,
        request: &RightsRequest,
        with: impl IntoIterator<Item = (&'static str, Write)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.transactions.begin();
        for (label, write) in with {
            tx.add(label, write);
        }
        if request.kind == RequestKind::Erasure {
            tx.add(
                "account",
                self.accounts.begin_erasure_write(&request.account_id)?,
            );
        }
        tx.add("request", self.privacy.request_write(request)?);
        tx.add(
            "security_event",
            self.privacy.security_write(
                &request.account_id,
                &format!("{}_requested", request.kind.as_str()),
                request.requested_at,
                self.policy.security_event_retention,
            )?,
        );
        tx.commit().await?;
        crate::adapters::metrics::count(
            crate::adapters::metrics::Metric::RightsRequestsOpened,
            &[(
                crate::adapters::metrics::Dim::Outcome,
                request.kind.as_str(),
            )],
        );
        self.enqueue(request).await;
        Ok(())
    }

    /// R30: an operator's retry of a failed request, at once: open again (an erasure
    /// stops the account again, as when it was asked for), then handed over.
    /// `Ok(false)`: it had not failed (open, completed, or retried already).
    pub async fn retry(&self, request: &RightsRequest) -> Result<bool, StoreError> {
        let mut tx = self.transactions.begin();
        tx.add(
            "request",
            self.privacy.reopen_write(request, self.clock.now_secs())?,
        );
        if request.kind == RequestKind::Erasure {
            let erasing = self
                .accounts
                .get(&request.account_id)
                .await?
                .is_some_and(|a| a.status == crate::domain::account::AccountStatus::Erasing);
            if !erasing {
                tx.add(
                    "account",
                    self.accounts.begin_erasure_write(&request.account_id)?,
                );
            }
        }
        match tx.commit().await {
            Ok(()) => {}
            Err(e) if e.failed("request") => return Ok(false),
            Err(e) => return Err(e),
        }
        self.enqueue(request).await;
        Ok(true)
    }

    /// Hands a recorded request to `privacy-requests`. If the queue cannot take it now,
    /// the hourly purge hands over every request still open.
    pub async fn enqueue(&self, r: &RightsRequest) {
        let msg = PrivacyMessage {
            request_id: r.id.clone(),
            account_id: r.account_id.to_string(),
            recheck: false,
        };
        if let Err(e) = self.queue.send(&msg).await {
            tracing::warn!(error = %e, request_id = %r.id, "request recorded but not queued; the purge will queue it");
        }
    }
}
