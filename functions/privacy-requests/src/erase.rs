//! The erasure (R28, R32): every session already ended when it was asked for (the
//! account's epoch moved on in that call). First, nothing more is charged: each of the
//! person's subscriptions is cancelled at Creem, and only once Creem confirms does
//! anything else happen (a payment Creem makes meanwhile finds the account being
//! erased and is recorded for a refund, naming no one). Then the content goes (inputs, outputs,
//! jobs with their prompts, the provider's copies), then identities, consents, usage
//! data, security events, support messages, codes, the profile and the account; what
//! the law keeps (payments, ledger entries, subscriptions, the audit log) stays with
//! the account id replaced by a pseudonym. The inventory drives it: every class says
//! what an erasure does with it.
//!
//! Each step is idempotent (deleting what is gone succeeds; a pseudonym replaces only
//! the account id it was read with), and the profile and the request's own record go
//! last, in one transaction — so a crash anywhere leaves the request open, and its
//! message, coming back, finishes the rest.

use shared::adapters::dynamo::billing::BillingStore;
use shared::adapters::dynamo::codes::Confirmation;
use shared::adapters::dynamo::privacy::PrivacyStore;
use shared::adapters::dynamo::privacy::{RightsRequest, request_sk};
use shared::adapters::dynamo::{Item, get_s, opt_s};
use shared::adapters::sqs::PrivacyMessage;
use shared::domain::inventory::{ClassId, INVENTORY, OnErasure};
use shared::domain::privacy::pseudonym;
use shared::edge::queue_batch::StepError;

use crate::gather;
use crate::state::Services;

pub async fn run(state: &Services, request: &RightsRequest) -> Result<(), StepError> {
    let account_id = request.account_id.as_str();
    let pseudonym = pseudonym(&state.keyed_hash("pseudonym", account_id));
    let Some(account) = state.accounts.get(account_id).await? else {
        // The last transaction removes the account and this record together.
        return Ok(());
    };
    let mut request = request.clone();
    if request.subscriptions_cancelled.is_none() {
        let n = cancel_subscriptions(state, account_id).await?;
        state
            .privacy
            .note_subscriptions_cancelled(account_id, &request.id, n)
            .await?;
        request.subscriptions_cancelled = Some(n);
    }
    let request = &request;
    let counts = erase_all(
        state,
        &request.id,
        &request.account_id,
        Some(&account.email),
        &pseudonym,
    )
    .await?;
    final_notice(state, &account.email).await?;
    let at = state.now();
    let mut last = state.transactions.begin();
    last.add_all("account", state.accounts.erase_writes(&account)?);
    last.add_all(
        "request",
        state
            .privacy
            .erased_request_writes(request, &pseudonym, at)?,
    );
    last.commit().await?;
    tracing::info!(event = "erasure_completed", counts = ?counts, "account erased");
    shared::adapters::metrics::count(
        shared::adapters::metrics::Metric::RightsRequestsCompleted,
        &[(shared::adapters::metrics::Dim::Outcome, "erasure")],
    );
    // The second pass, once the indexes have caught up with every write made as the
    // erasure began. If it cannot be queued, the erasure is still complete.
    let again = PrivacyMessage {
        request_id: request.id.clone(),
        account_id: account_id.to_owned(),
        recheck: true,
    };
    if let Err(e) = state.queue.send_later(&again, RECHECK_AFTER).await {
        tracing::warn!(error = %e, "the erasure's second pass could not be queued");
    }
    Ok(())
}

/// R30: the answer to the request, by email, the last mail the address gets from us
/// (a service notice, not marketing), sent before the address itself is deleted.
async fn final_notice(state: &Services, email: &str) -> Result<(), StepError> {
    let text = final_notice_text(state.policy.accounting_years);
    match state
        .mailer
        .send(shared::adapters::ses::Email {
            to: email,
            subject: "Your Sora2 AI account has been deleted",
            text: &text,
        })
        .await
    {
        Ok(_) | Err(shared::adapters::ses::MailError::Rejected(_)) => Ok(()),
        Err(e) => Err(StepError::retry(e)),
    }
}

/// The final notice's text (R28, R30): what went, what the law keeps and for how long,
/// and that no more mail follows.
fn final_notice_text(years: i32) -> String {
    format!(
        "Your Sora2 AI account has been deleted, as you asked, with your videos, \
         prompts, uploads and everything else we held about you.\n\n\
         What the law makes us keep - payment records and the credit ledger, for \
         {years} years after the year of each record - is kept under a pseudonym that no longer leads to you.\n\n\
         This is the last email you will receive from us.\n"
    )
}

/// Cancels every subscription of the account at Creem, from its links and its plan;
/// how many Creem confirmed. An unconfirmed one fails the step, which is retried.
async fn cancel_subscriptions(state: &Services, account_id: &str) -> Result<u32, StepError> {
    let mut ids = std::collections::BTreeSet::new();
    for item in gather::items(state, ClassId::Subscriptions, account_id)
        .await?
        .unwrap_or_default()
    {
        ids.extend(BillingStore::subscription_of(&item));
    }
    if let Some(plan) = state.billing.plan(account_id).await?
        && !plan.subscription_id.is_empty()
    {
        ids.insert(plan.subscription_id);
    }
    for id in &ids {
        let answer = state.creem.cancel(id).await.map_err(StepError::retry)?;
        tracing::info!(event = "subscription_cancelled", answer = ?answer, "subscription cancelled at Creem for the erasure");
    }
    Ok(ids.len() as u32)
}

/// How long after an erasure its second pass runs (SQS's longest delay).
pub const RECHECK_AFTER: std::time::Duration = shared::adapters::sqs::MAX_DELAY;

/// R28: the second pass over an erased account: every class again, as the first pass
/// did it; whatever it finds is reported, since it was written as the erasure began.
pub async fn recheck(state: &Services, msg: &PrivacyMessage) -> Result<(), StepError> {
    if state.accounts.get(&msg.account_id).await?.is_some() {
        // Not erased (yet): the first pass's own message will finish it.
        return Ok(());
    }
    let pseudonym = pseudonym(&state.keyed_hash("pseudonym", &msg.account_id));
    let counts = erase_all(state, &msg.request_id, &msg.account_id, None, &pseudonym).await?;
    if counts.is_empty() {
        tracing::info!(
            event = "erasure_rechecked",
            "nothing left of the erased account"
        );
    } else {
        tracing::warn!(event = "erasure_stragglers", counts = ?counts, "the second pass found data written as the erasure began, and erased it");
    }
    Ok(())
}

/// Every class of the inventory, as the erasure treats it; how many items each had.
async fn erase_all(
    state: &Services,
    request_id: &str,
    account_id: &str,
    email: Option<&str>,
    pseudonym: &str,
) -> Result<Vec<(ClassId, usize)>, StepError> {
    let mut counts = Vec::new();
    for record in INVENTORY {
        let n = erase_class(
            state,
            record.id,
            record.on_erasure,
            request_id,
            account_id,
            email,
            pseudonym,
        )
        .await?;
        if n > 0 {
            counts.push((record.id, n));
        }
    }
    Ok(counts)
}

/// What the erasure does with one class; returns how many items it touched.
async fn erase_class(
    state: &Services,
    class: ClassId,
    rule: OnErasure,
    request_id: &str,
    account_id: &str,
    email: Option<&str>,
    pseudonym: &str,
) -> Result<usize, StepError> {
    match class {
        // The last transaction (see `run`).
        ClassId::Profile | ClassId::Identities => return Ok(0),
        ClassId::Codes => {
            // The sign-in code is keyed by the address (known on the first pass only);
            // deleting what is not there succeeds, so this counts nothing.
            let mut keys: Vec<String> = Confirmation::ALL
                .iter()
                .map(|c| c.key(account_id))
                .collect();
            keys.extend(email.map(|e| state.keyed_hash("email", e)));
            for key in keys {
                state.codes.delete(&key).await?;
            }
            return Ok(0);
        }
        // Files go with the records that name them (videos, uploads, exports).
        ClassId::InputFiles
        | ClassId::OutputFiles
        | ClassId::StagedFiles
        | ClassId::ExportFiles => return Ok(0),
        // Not kept per person: keyed hashes that expire within the hour (limits) or are
        // kept on purpose (the blocklist, R28), event ids with no one in them, and logs
        // that expire with their retention (the inventory says which).
        ClassId::RateLimits | ClassId::WebhookEvents | ClassId::Blocklist | ClassId::Logs => {
            return Ok(0);
        }
        // Records in the account's partition that nothing else names: deleted a page
        // of keys at a time in batches, so a heavy account (tens of thousands of usage
        // rows) goes in a few hundred requests and bounded memory.
        ClassId::Consents
        | ClassId::SupportMessages
        | ClassId::UsageData
        | ClassId::SecurityEvents
        | ClassId::Refusals
        | ClassId::Appeals => {
            let prefix = PrivacyStore::prefix_of(class)
                .ok_or_else(|| StepError::Drop(format!("{class:?} has no prefix")))?;
            let mut n = 0;
            loop {
                let deleted = state
                    .privacy
                    .delete_some(account_id, prefix, state.policy.erasure_page_keys)
                    .await?;
                if deleted == 0 {
                    return Ok(n);
                }
                n += deleted;
            }
        }
        // Items of the person's own, erased one by one below. (No `_` arm: a new class
        // does not compile until this match says what its erasure does.)
        ClassId::RightsRequests
        | ClassId::Sessions
        | ClassId::Videos
        | ClassId::Uploads
        | ClassId::LedgerEntries
        | ClassId::Balance
        | ClassId::Payments
        | ClassId::Checkouts
        | ClassId::Subscriptions
        | ClassId::Plan
        | ClassId::AuditLog => {}
    }
    let Some(items) = gather::items(state, class, account_id).await? else {
        return Ok(0);
    };
    let n = items.len();
    for item in items {
        let pk = get_s(&item, "pk")?;
        match (class, rule) {
            (ClassId::Videos, _) => erase_video(state, &item, pseudonym).await?,
            (ClassId::Uploads, _) => {
                if let Some(key) = opt_s(&item, "key") {
                    state
                        .blobs
                        .delete(&state.inputs_bucket, &key)
                        .await
                        .map_err(StepError::retry)?;
                }
                state.videos.table().delete(&pk).await?;
            }
            (ClassId::RightsRequests, _) => {
                let sk = get_s(&item, "sk")?;
                // This erasure's own record goes last, moved under the pseudonym.
                if sk == request_sk(request_id) {
                    continue;
                }
                if let Some(key) = opt_s(&item, "export_key") {
                    state
                        .blobs
                        .delete(&state.exports_bucket, &key)
                        .await
                        .map_err(StepError::retry)?;
                }
                state.privacy.delete(account_id, &sk).await?;
            }
            (ClassId::Sessions, _) => state.sessions.table().delete(&pk).await?,
            (ClassId::Balance, _) => state.ledger.table().delete(&pk).await?,
            (ClassId::LedgerEntries, OnErasure::Pseudonymise) => {
                state
                    .ledger
                    .table()
                    .pseudonymise(&item, account_id, pseudonym, accounting_ends(state, &item))
                    .await?
            }
            (ClassId::Payments | ClassId::Subscriptions, OnErasure::Pseudonymise) => {
                state
                    .billing
                    .table()
                    .pseudonymise(&item, account_id, pseudonym, accounting_ends(state, &item))
                    .await?
            }
            (ClassId::Checkouts | ClassId::Plan, _) => state.billing.table().delete(&pk).await?,
            (ClassId::AuditLog, OnErasure::Pseudonymise) => {
                state
                    .audit
                    .table()
                    // Its TTL is the security events' retention, set when recorded.
                    .pseudonymise(&item, account_id, pseudonym, None)
                    .await?
            }
            (other, rule) => {
                return Err(StepError::Drop(format!(
                    "no erasure for {other:?} ({rule:?})"
                )));
            }
        }
    }
    Ok(n)
}

/// R28, R33: when a pseudonymised accounting record goes: the end of the accounting
/// period counted from when it was made (`created_at` or `at`; a record without
/// either counts from now).
fn accounting_ends(state: &Services, item: &Item) -> Option<i64> {
    let made = made_at(item).unwrap_or_else(|| state.clock.epoch_secs());
    Some(state.policy.accounting_ends(made))
}

/// When an accounting record was made (epoch seconds): its `created_at`, or else its
/// `at`, whichever is first a readable time.
fn made_at(item: &Item) -> Option<i64> {
    ["created_at", "at"]
        .iter()
        .find_map(|a| opt_s(item, a).and_then(|t| shared::domain::clock::epoch_of(&t)))
}

/// A job: its files, then its record with the prompt; and the provider's copy. Our data
/// goes whatever the provider answers: a copy the provider will not delete now (down,
/// or refusing) leaves only its handle, under the pseudonym, in the cleanup index, for
/// the purge to delete every run until the provider confirms (reported to operators as
/// `provider_copy_kept`) — the erasure itself completes.
async fn erase_video(state: &Services, job: &Item, pseudonym: &str) -> Result<(), StepError> {
    let id = get_s(job, "id")?;
    // R49: a share link goes with its video, first (it would show nothing, but its
    // record is the owner's data).
    if let Some(hash) = opt_s(job, "share_hash") {
        state.videos.delete_share(&hash).await?;
    }
    let mut copy_kept = false;
    let provider =
        opt_s(job, "provider").unwrap_or_else(|| shared::domain::video::LEGACY_PROVIDER.to_owned());
    // A job still being made is stopped at the provider first: deleting its payload
    // now would leave the output it makes later behind (R16).
    let in_flight = opt_s(job, "status")
        .and_then(|s| shared::domain::video::JobStatus::parse(&s))
        .is_some_and(|s| s.is_active());
    if in_flight
        && let Some(handle) = opt_s(job, "provider_handle")
        && let Some(p) = state.providers.get(&provider)
        && let Err(e) = p.cancel(&handle).await
    {
        tracing::warn!(event = "provider_cancel_failed", job_id = %id, error = %e, "the in-flight request was not stopped; the purge deletes what it makes");
        copy_kept = true;
    }
    if let Some(handle) = opt_s(job, "provider_handle")
        && let Err(e) = match state.providers.get(&provider) {
            Some(p) => p.delete(&handle).await,
            None => Err(shared::adapters::providers::video::ProviderError::Failed(
                "the job's provider is not configured".into(),
            )),
        }
    {
        tracing::warn!(event = "provider_copy_kept", job_id = %id, error = %e, permanent = matches!(e, shared::adapters::providers::video::ProviderError::Failed(_)), "the provider's copy is left to the purge");
        copy_kept = true;
    }
    if let Some(key) = opt_s(job, "input_key") {
        state
            .blobs
            .delete(&state.inputs_bucket, &key)
            .await
            .map_err(StepError::retry)?;
    }
    state
        .blobs
        .delete_each(
            &state.outputs_bucket,
            &shared::domain::video::outputs_of(&id),
        )
        .await
        .map_err(StepError::retry)?;
    if copy_kept {
        state
            .videos
            .keep_for_provider_cleanup(&id, pseudonym, state.clock.epoch_secs())
            .await?;
    } else {
        state.videos.delete_job(&id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::dynamo::s;
    use shared::domain::clock::epoch_of;

    macro_rules! item {
        ($($k:literal => $v:expr),* $(,)?) => {
            Item::from([$(($k.to_string(), $v)),*])
        };
    }

    #[test]
    fn r28_r33_an_accounting_record_counts_from_when_it_was_made() {
        let created = epoch_of("2026-03-15T09:00:00Z");
        let paid = epoch_of("2026-04-01T00:00:00Z");
        assert_eq!(
            made_at(&item! {
                "created_at" => s("2026-03-15T09:00:00Z"), "at" => s("2026-04-01T00:00:00Z"),
            }),
            created
        );
        assert_eq!(made_at(&item! { "at" => s("2026-04-01T00:00:00Z") }), paid);
        // An unreadable `created_at` does not hide a readable `at`.
        assert_eq!(
            made_at(&item! { "created_at" => s("yesterday"), "at" => s("2026-04-01T00:00:00Z") }),
            paid
        );
        assert_eq!(made_at(&item! { "amount" => s("5") }), None);
    }

    #[test]
    fn r28_r30_the_final_notice_says_what_is_kept_for_how_long_and_that_it_is_the_last() {
        let text = final_notice_text(10);
        assert!(text.contains("has been deleted"), "{text}");
        assert!(
            text.contains(
                "payment records and the credit ledger, for 10 years after the year of each record"
            ),
            "{text}"
        );
        assert!(text.contains("under a pseudonym"), "{text}");
        assert!(text.contains("the last email"), "{text}");
        assert!(final_notice_text(6).contains("for 6 years"));
    }
}
