//! The erasure (R28, R32): every session already ended when it was asked for (the
//! account's epoch moved on in that call); here the content goes (inputs, outputs,
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

use shared::adapters::dynamo::privacy::RightsRequest;
use shared::adapters::dynamo::{Item, get_s, opt_s, transact};
use shared::domain::inventory::{ClassId, INVENTORY, OnErasure};
use shared::domain::privacy::pseudonym;
use shared::edge::sqs::StepError;

use crate::gather;
use crate::state::Services;

pub async fn run(state: &Services, request: &RightsRequest) -> Result<(), StepError> {
    let account_id = request.account_id.as_str();
    let pseudonym = pseudonym(&state.keyed_hash("pseudonym", account_id));
    let Some(account) = state.accounts.get(account_id).await? else {
        // The last transaction removes the account and this record together.
        return Ok(());
    };
    let mut counts = Vec::new();
    for record in INVENTORY {
        let n = erase_class(
            state,
            record.id,
            record.on_erasure,
            request,
            &account.email,
            &pseudonym,
        )
        .await?;
        counts.push((record.id, n));
    }
    let at = state.now();
    let mut last = state.accounts.erase_writes(&account)?;
    last.extend(
        state
            .privacy
            .erased_request_writes(request, &pseudonym, &at)?,
    );
    transact(&state.dynamodb, last).await?;
    tracing::info!(event = "erasure_completed", counts = ?counts, "account erased");
    Ok(())
}

/// What the erasure does with one class; returns how many items it touched.
async fn erase_class(
    state: &Services,
    class: ClassId,
    rule: OnErasure,
    request: &RightsRequest,
    email: &str,
    pseudonym: &str,
) -> Result<usize, StepError> {
    let account_id = request.account_id.as_str();
    match class {
        // The last transaction (see `run`).
        ClassId::Profile | ClassId::Identities => return Ok(0),
        ClassId::Codes => {
            for key in [
                format!("email_change:{account_id}"),
                format!("rights:{account_id}"),
                state.keyed_hash("email", email),
            ] {
                state.codes.delete(&key).await?;
            }
            return Ok(3);
        }
        // Files go with the records that name them (videos, uploads, exports).
        ClassId::InputFiles | ClassId::OutputFiles | ClassId::ExportFiles => return Ok(0),
        _ => {}
    }
    let Some(items) = gather::items(state, class, account_id).await? else {
        return Ok(0);
    };
    let n = items.len();
    for item in items {
        let pk = get_s(&item, "pk")?;
        match (class, rule) {
            (ClassId::Videos, _) => erase_video(state, &item).await?,
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
                if sk == format!("request#{}", request.id) {
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
            (
                ClassId::Consents
                | ClassId::SupportMessages
                | ClassId::UsageData
                | ClassId::SecurityEvents,
                _,
            ) => {
                state
                    .privacy
                    .delete(account_id, &get_s(&item, "sk")?)
                    .await?
            }
            (ClassId::Sessions, _) => state.sessions.table().delete(&pk).await?,
            (ClassId::Balance, _) => state.ledger.table().delete(&pk).await?,
            (ClassId::LedgerEntries, OnErasure::Pseudonymise) => {
                state
                    .ledger
                    .table()
                    .pseudonymise(&item, account_id, pseudonym)
                    .await?
            }
            (ClassId::Payments | ClassId::Subscriptions, OnErasure::Pseudonymise) => {
                state
                    .billing
                    .table()
                    .pseudonymise(&item, account_id, pseudonym)
                    .await?
            }
            (ClassId::Checkouts | ClassId::Plan, _) => state.billing.table().delete(&pk).await?,
            (ClassId::AuditLog, OnErasure::Pseudonymise) => {
                state
                    .audit
                    .table()
                    .pseudonymise(&item, account_id, pseudonym)
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

/// A job: the provider's copy (retried until gone), its files, then its record with
/// the prompt.
async fn erase_video(state: &Services, job: &Item) -> Result<(), StepError> {
    let id = get_s(job, "id")?;
    if let Some(handle) = opt_s(job, "provider_handle") {
        state
            .provider
            .delete(&handle)
            .await
            .map_err(StepError::retry)?;
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
        .delete(
            &state.outputs_bucket,
            &shared::domain::video::output_key(&id),
        )
        .await
        .map_err(StepError::retry)?;
    state.videos.table().delete(&format!("job#{id}")).await?;
    Ok(())
}
