//! The videos table: jobs (`job#{id}`) and uploads (`upload#{id}`). Jobs are listed
//! per account, newest first, through the `by_account` index; uploads keep their owner
//! under another attribute so they stay out of it.
//!
//! Every change of a job's status is conditioned on the status it was read in, so two
//! copies of one message cannot both move it.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::{
    Item, StoreError, built, get_i64, get_s, get_time, n, opt_s, opt_time, s, time, time_millis,
};
use crate::domain::ids::{AccountId, JobId};
pub use crate::domain::video::{Job, Upload};
use crate::domain::video::{JobStatus, Mode, VideoSettings};

pub const BY_ACCOUNT_INDEX: &str = "by_account";
/// A sparse index of the jobs still being made: `active_day` (the UTC day the job was
/// made) and `created_epoch`. A job leaves it when it ends or is ready, so a sweep
/// reads the active jobs of a few days, whatever the table holds.
pub const ACTIVE_INDEX: &str = "active_by_day";
/// A sparse index of ready videos by the UTC day they expire (`expiry_day`,
/// `expires_epoch`): the purge reads what expired, whatever the table holds.
pub const EXPIRING_INDEX: &str = "expiring_by_day";
/// A sparse index of finished jobs whose input or provider copy may still exist
/// (`cleanup_day`, `final_epoch`): the purge deletes them, retrying until gone.
pub const CLEANUP_INDEX: &str = "cleanup_by_day";

/// The library's filters (`GET /v1/videos?status&model`): three indexes whose
/// partition keys are several of the job's own attributes (DynamoDB's multi-attribute
/// keys), sorted by creation, so a filtered page costs what an unfiltered one does,
/// whatever else the person has stored. No key is derived: every write that sets a
/// job's status files it, and jobs stored before the indexes existed are in them once
/// DynamoDB has backfilled them.
pub const BY_STATUS_INDEX: &str = "by_account_status";
pub const BY_MODEL_INDEX: &str = "by_account_model";
pub const BY_STATUS_MODEL_INDEX: &str = "by_account_status_model";

/// What every filter index projects besides its keys: what a listed video is made of,
/// and none of the steps' bookkeeping, so a poll's write touches none of them. The
/// template's `NonKeyAttributes` are checked against [`projected_attributes`].
pub const LISTED_ATTRIBUTES: [&str; 19] = [
    "id",
    "created_epoch",
    "prompt",
    "mode",
    "provider",
    // Names the provider of a job stored before jobs named theirs.
    "provider_handle",
    "seconds",
    "aspect_ratio",
    "audio",
    "cost",
    "upload_id",
    "completed_at",
    "expires_at",
    "expires_epoch",
    "error",
    "output_key",
    "share_nonce",
    "share_hash",
    "share_prompt",
];

/// What `index` (one of the filters') projects besides its keys: the listed
/// attributes, and whichever of `status` and `model` is not one of its keys.
pub fn projected_attributes(index: &str) -> Vec<&'static str> {
    let mut names = LISTED_ATTRIBUTES.to_vec();
    match index {
        BY_STATUS_INDEX => names.push("model"),
        BY_MODEL_INDEX => names.push("status"),
        _ => {}
    }
    names
}

/// The part of a person's library a listing asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<JobStatus>,
    pub model: Option<String>,
}

/// The partition of the index that serves `filter`, or `None` for the whole library.
fn filter_part(account: &str, filter: &Filter) -> Option<super::IndexPart> {
    let owner = ("account_id", account.to_owned());
    let status = filter.status.map(|s| ("status", s.as_str().to_owned()));
    let model = filter.model.clone().map(|m| ("model", m));
    let index = match (&status, &model) {
        (None, None) => return None,
        (Some(_), None) => BY_STATUS_INDEX,
        (None, Some(_)) => BY_MODEL_INDEX,
        (Some(_), Some(_)) => BY_STATUS_MODEL_INDEX,
    };
    Some(super::IndexPart {
        index,
        keys: [Some(owner), status, model].into_iter().flatten().collect(),
    })
}

#[derive(Clone, Debug)]
pub struct VideoStore {
    client: Client,
    table: String,
}

fn job_pk(id: &str) -> String {
    format!("job#{id}")
}

fn upload_pk(id: &str) -> String {
    format!("upload#{id}")
}

/// A page of a listing, and where the next one starts (an opaque cursor).
pub struct Page {
    pub jobs: Vec<Job>,
    pub next: Option<PageKey>,
}

/// The last key of a page: the job id and its creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    pub job_id: String,
    pub created_at: String,
}

impl VideoStore {
    /// The data class of an expiring item, from its keys, for the purge's report.
    pub fn expiring_class(item: &Item) -> &'static str {
        if opt_s(item, "pk").is_some_and(|pk| pk.starts_with("share#")) {
            "share links"
        } else {
            "upload records"
        }
    }

    /// The upload an expiring item is the record of (its file goes with it).
    pub fn upload_of(item: &Item) -> Option<String> {
        opt_s(item, "pk").and_then(|pk| pk.strip_prefix("upload#").map(str::to_owned))
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

    /// The finished jobs of `day` whose input or provider copy may still exist.
    pub async fn to_clean(&self, day: &str, by: i64) -> Result<Vec<Job>, StoreError> {
        self.query_index(
            CLEANUP_INDEX,
            "cleanup_day = :d AND final_epoch <= :t",
            day,
            by,
        )
        .await
    }

    /// R16: the provider refused to delete its copy (again): the job is looked at again
    /// at `next` (epoch seconds), in that day's part of the cleanup index, so no
    /// lookback ever lets it go; the refusal is counted, and the first one's time kept.
    pub async fn clean_later(&self, id: &str, next: i64, now: i64) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression(
                    "SET cleanup_day = :d, final_epoch = :next, cleanup_since = if_not_exists(cleanup_since, :now) ADD cleanup_tries :one",
                )
                .condition_expression("attribute_exists(cleanup_day)")
                .expression_attribute_values(":d", s(crate::domain::clock::utc_day(next)))
                .expression_attribute_values(":next", n(next))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":one", n(1)),
        )
        .await
    }

    /// Records that a finished job's input and provider copy are gone.
    pub async fn cleaned(&self, id: &str) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression("REMOVE cleanup_day, final_epoch, cleanup_tries, cleanup_since")
                .condition_expression("attribute_exists(pk)"),
        )
        .await
    }

    /// The ready videos that expire on `day` (`YYYY-MM-DD`, UTC) at or before `by`.
    pub async fn expiring(&self, day: &str, by: i64) -> Result<Vec<Job>, StoreError> {
        self.query_index(
            EXPIRING_INDEX,
            "expiry_day = :d AND expires_epoch <= :t",
            day,
            by,
        )
        .await
    }

    /// A ready video past its retention becomes a tombstone: `expired`, its prompt
    /// removed (R15), out of the expiring index. Fails its condition if it is not
    /// ready any more (deleted meanwhile, or expired by another run).
    pub async fn expire(&self, id: &str, at: &str) -> Result<(), StoreError> {
        let (update, from) = Self::only_into(self.update(id), JobStatus::Expired);
        self.run_update(
            update
                .update_expression(
                    "SET #st = :expired, updated_at = :at REMOVE prompt, expiry_day, output_key",
                )
                .condition_expression(from)
                .expression_attribute_values(":expired", s(JobStatus::Expired.as_str()))
                .expression_attribute_values(":at", s(at)),
        )
        .await
    }

    /// R16, R28: what an erasure leaves of a job whose provider copy could not be
    /// deleted yet: nothing of the person (the prompt, the files' keys, the request's
    /// hash go; the account id becomes its pseudonym), only the provider's handle, in
    /// the cleanup index, for the purge to delete the copy and then the record.
    pub async fn keep_for_provider_cleanup(
        &self,
        id: &str,
        pseudonym: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression(
                    "SET account_id = :p, cleanup_day = if_not_exists(cleanup_day, :d), final_epoch = if_not_exists(final_epoch, :t) \
                     REMOVE prompt, input_key, output_key, upload_id, request_hash, poll_token, #err, active_day, expiry_day",
                )
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#err", "error")
                .expression_attribute_values(":p", s(pseudonym))
                .expression_attribute_values(":d", s(crate::domain::clock::utc_day(now)))
                .expression_attribute_values(":t", n(now)),
        )
        .await
    }

    /// R15: a failed or rejected job past a ready video's retention keeps its status
    /// and loses its prompt, and leaves the expiring index. Fails its condition if it
    /// is not such a job any more.
    pub async fn forget_prompt(&self, id: &str, at: &str) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression("SET updated_at = :at REMOVE prompt, expiry_day")
                .condition_expression("#st IN (:failed, :rejected)")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()))
                .expression_attribute_values(":rejected", s(JobStatus::Rejected.as_str()))
                .expression_attribute_values(":at", s(at)),
        )
        .await
    }

    /// The active jobs made on `day` (`YYYY-MM-DD`, UTC) at or before `made_by`.
    pub async fn active_made(&self, day: &str, made_by: i64) -> Result<Vec<Job>, StoreError> {
        self.query_index(
            ACTIVE_INDEX,
            "active_day = :d AND created_epoch <= :t",
            day,
            made_by,
        )
        .await
    }

    /// Every job of one day's partition of a time-bucketed index, up to `until`.
    async fn query_index(
        &self,
        index: &str,
        condition: &str,
        day: &str,
        until: i64,
    ) -> Result<Vec<Job>, StoreError> {
        super::query_all(
            self.client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .expression_attribute_values(":d", s(day))
                .expression_attribute_values(":t", n(until)),
        )
        .await?
        .iter()
        .map(job_from_item)
        .collect()
    }

    pub fn create_write(&self, job: &Job) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(job_item(job)))
            .condition_expression("attribute_not_exists(pk)");
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    pub async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        match super::get_by_pk(&self.client, &self.table, job_pk(id)).await? {
            Some(i) if opt_s(&i, "kind").as_deref() == Some("job") => job_from_item(&i).map(Some),
            _ => Ok(None),
        }
    }

    /// A page of `account_id`'s jobs that `filter` names, newest first. A filter's
    /// index is eventually consistent: a job that changed status a moment ago may
    /// still be listed under its former one, as it was (the caller checks).
    pub async fn list(
        &self,
        account_id: &str,
        filter: &Filter,
        after: Option<&PageKey>,
        limit: i32,
    ) -> Result<Page, StoreError> {
        let after = after.map(|k| (job_pk(&k.job_id), k.created_at.clone()));
        let (items, next) = match filter_part(account_id, filter) {
            None => {
                super::account_page(&self.client, &self.table, account_id, after, limit).await?
            }
            Some(part) => super::index_page(&self.client, &self.table, &part, after, limit).await?,
        };
        let jobs = items
            .iter()
            .map(job_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = next.map(|(pk, created_at)| PageKey {
            job_id: pk.trim_start_matches("job#").to_owned(),
            created_at,
        });
        Ok(Page { jobs, next })
    }

    fn update(&self, id: &str) -> UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(job_pk(id)))
    }

    /// An update built as a transaction's item, sent on its own.
    fn update_request(
        &self,
        update: UpdateBuilder,
    ) -> Result<
        aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
        StoreError,
    > {
        let u = built(update.build())?;
        Ok(self
            .client
            .update_item()
            .table_name(u.table_name())
            .set_key(Some(u.key().clone()))
            .update_expression(u.update_expression())
            .set_condition_expression(u.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(u.expression_attribute_names().cloned())
            .set_expression_attribute_values(u.expression_attribute_values().cloned()))
    }

    async fn run_update(&self, update: UpdateBuilder) -> Result<(), StoreError> {
        self.update_request(update)?
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Conditions `update` on the job being in a state from which it may become `to`
    /// (the state machine of [`JobStatus`], never a list written here).
    fn only_into(update: UpdateBuilder, to: JobStatus) -> (UpdateBuilder, String) {
        let mut names = Vec::new();
        let mut update = update.expression_attribute_names("#st", "status");
        for (i, from) in JobStatus::sources(to).into_iter().enumerate() {
            let name = format!(":from{i}");
            update = update.expression_attribute_values(&name, s(from.as_str()));
            names.push(name);
        }
        (update, format!("#st IN ({})", names.join(", ")))
    }

    /// → generating at `provider`, recording its handle. Fails its condition if another
    /// copy of the message submitted first. A job that moved on from a provider is
    /// generating already, without a handle, and is submitted again the same way.
    pub async fn mark_generating(
        &self,
        job: &Job,
        provider: &str,
        handle: &str,
        at: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        // Only while the job's `tried` is as read: a copy of the step that moved it
        // off this provider meanwhile wins, and this submission is cancelled.
        let tried = if job.tried.is_empty() {
            "(attribute_not_exists(tried) OR size(tried) = :n)"
        } else {
            "size(tried) = :n"
        };
        self.run_update(
            self.update(&job.id)
                .update_expression(
                    "SET #st = :gen, provider = :p, provider_handle = :h, submitted_at = :at, \
                     submitted_epoch = :now, updated_at = :at",
                )
                .condition_expression(format!(
                    "#st IN (:queued, :gen) AND attribute_not_exists(provider_handle) AND {tried}"
                ))
                .expression_attribute_values(":n", n(job.tried.len() as i64))
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
                .expression_attribute_values(":gen", s(JobStatus::Generating.as_str()))
                .expression_attribute_values(":p", s(provider))
                .expression_attribute_values(":h", s(handle))
                .expression_attribute_values(":at", s(at))
                .expression_attribute_values(":now", n(now)),
        )
        .await
    }

    /// Moves `job` (as read) off `provider`, which failed it (R43): the provider joins
    /// the job's `tried` list, its handle goes, the submission count starts again and
    /// the deadline grows by `extra` seconds. Only from the state as read (same handle,
    /// same `tried`), so two copies of the step move it once.
    pub async fn move_on(&self, job: &Job, provider: &str, extra: i64) -> Result<(), StoreError> {
        let mut update = self
            .update(&job.id)
            .update_expression(
                "SET tried = list_append(if_not_exists(tried, :none), :p), \
                 deadline_extra = if_not_exists(deadline_extra, :zero) + :x, submits = :zero \
                 REMOVE provider_handle, submitted_epoch",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":gen", s(JobStatus::Generating.as_str()))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":p", AttributeValue::L(vec![s(provider)]))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":x", n(extra))
            .expression_attribute_values(":n", n(job.tried.len() as i64));
        let handle = match &job.provider_handle {
            Some(h) => {
                update = update.expression_attribute_values(":h", s(h));
                "provider_handle = :h"
            }
            None => "attribute_not_exists(provider_handle)",
        };
        let tried = if job.tried.is_empty() {
            "(attribute_not_exists(tried) OR size(tried) = :n)"
        } else {
            "size(tried) = :n"
        };
        self.run_update(
            update.condition_expression(format!("#st IN (:queued, :gen) AND {handle} AND {tried}")),
        )
        .await
    }

    /// Hands the polling chain on from `from` to `to`. Fails its condition if another
    /// copy of the step handed it on first: that copy's chain is the one that goes on.
    pub async fn pass_poll_token(
        &self,
        id: &str,
        from: &str,
        to: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression("SET poll_token = :to, stepped_epoch = :now")
                .condition_expression("poll_token = :from")
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(to))
                .expression_attribute_values(":now", n(now)),
        )
        .await
    }

    /// Claims the right to queue an active job again at `now`: only if it was last
    /// queued, and last stepped, at or before `not_after` (its chain seems lost). Of
    /// concurrent claims (replays, sweeps), one wins.
    pub async fn claim_requeue(
        &self,
        id: &str,
        now: i64,
        not_after: i64,
    ) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression("SET enqueued_epoch = :now")
                .condition_expression(
                    "#st IN (:queued, :gen) AND enqueued_epoch <= :last \
                     AND (attribute_not_exists(stepped_epoch) OR stepped_epoch <= :last)",
                )
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
                .expression_attribute_values(":gen", s(JobStatus::Generating.as_str()))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":last", n(not_after)),
        )
        .await
    }

    /// Counts a submission attempt the provider refused for now.
    pub async fn count_submit(&self, id: &str) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression("ADD submits :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":one", n(1)),
        )
        .await
    }

    /// The write that moves `job` (as read) to `to` (failed, rejected or deleted), only
    /// from the status it was read in; pair it with the refund's writes. A move the state
    /// machine forbids is refused like a write whose condition failed.
    /// `prompt_until`: when the prompt of a job that ends failed or rejected goes
    /// (the same retention as a ready video's, R15): the job enters the expiring index
    /// then, and the purge removes its prompt.
    pub fn end_write(
        &self,
        job: &Job,
        to: JobStatus,
        error: Option<&str>,
        at: &str,
        now: i64,
        prompt_until: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        if !job.status.can_become(to) {
            return Err(StoreError::ConditionFailed);
        }
        let mut expr = String::from("SET #st = :to, updated_at = :at");
        let mut update = self.update(&job.id);
        if job.input_key.is_some() || job.provider_handle.is_some() {
            // Its input and the provider's copy go now, not a day later (R15, R16).
            expr.push_str(", cleanup_day = :cday, final_epoch = :fin");
            update = update
                .expression_attribute_values(":cday", s(crate::domain::clock::utc_day(now)))
                .expression_attribute_values(":fin", n(now));
        }
        let mut update = update
            .condition_expression("#st = :from")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":from", s(job.status.as_str()))
            .expression_attribute_values(":at", s(at));
        if let Some(e) = error {
            expr.push_str(", #err = :err");
            update = update
                .expression_attribute_names("#err", "error")
                .expression_attribute_values(":err", s(e));
        }
        let keeps_prompt = matches!(to, JobStatus::Failed | JobStatus::Rejected);
        if keeps_prompt {
            // Its prompt stays as long as a ready video's would, then the purge removes
            // it (through the expiring index).
            expr.push_str(", expiry_day = :pday, expires_epoch = :puntil");
            update = update
                .expression_attribute_values(
                    ":pday",
                    s(crate::domain::clock::utc_day(prompt_until)),
                )
                .expression_attribute_values(":puntil", n(prompt_until));
        }
        // Out of the index of active jobs (and of expiring ones, unless kept above).
        expr.push_str(" REMOVE active_day");
        if !keeps_prompt {
            expr.push_str(", expiry_day");
        }
        if to == JobStatus::Deleted {
            // The prompt is the user's content: it goes with the video (R15).
            expr.push_str(", prompt");
        }
        let update = update.update_expression(expr);
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// → ready with its retention (R15), and the owner's notice claimed by this
    /// attempt at `claim_at` (see [`Self::claim_notice`]), in one write; the job as it
    /// now is. Fails its condition if it was not active (done already, or ended).
    pub async fn mark_ready(
        &self,
        id: &str,
        output_key: &str,
        completed_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        claim_at: i64,
    ) -> Result<Job, StoreError> {
        let (ready_epoch, expires_epoch) = (completed_at.timestamp(), expires_at.timestamp());
        let (update, from) = Self::only_into(self.update(id), JobStatus::Ready);
        let request = self.update_request(
            update
                .update_expression(
                    "SET #st = :ready, output_key = :key, completed_at = :done, expires_at = :exp, expires_epoch = :exp_n, expiry_day = :day, updated_at = :done, cleanup_day = :cday, final_epoch = :fin, notice_claimed_at = :claim REMOVE active_day",
                )
                .condition_expression(from)
                // Its input and the provider's copy go now (R15, R16).
                .expression_attribute_values(":cday", s(crate::domain::clock::utc_day(ready_epoch)))
                .expression_attribute_values(":fin", n(ready_epoch))
                .expression_attribute_values(":day", s(crate::domain::clock::utc_day(expires_epoch)))
                .expression_attribute_values(":ready", s(JobStatus::Ready.as_str()))
                .expression_attribute_values(":key", s(output_key))
                .expression_attribute_values(":done", time(completed_at))
                .expression_attribute_values(":exp", time(expires_at))
                .expression_attribute_values(":exp_n", n(expires_epoch))
                .expression_attribute_values(":claim", n(claim_at)),
        )?;
        let out = request
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        job_from_item(&out.attributes.unwrap_or_default())
    }

    /// Claims the sending of the owner's notice at `now`, as a lease: fails its
    /// condition if it was sent, or if another attempt claimed it after `stale_before`
    /// (an attempt that died holding the claim is overtaken once its lease is stale).
    pub async fn claim_notice(
        &self,
        id: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression("SET notice_claimed_at = :now")
                .condition_expression(
                    "attribute_exists(pk) AND notified <> :t \
                     AND (attribute_not_exists(notice_claimed_at) OR notice_claimed_at < :stale)",
                )
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":stale", n(stale_before)),
        )
        .await
    }

    /// Records that the notice was sent.
    pub async fn notice_sent(&self, id: &str) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression("SET notified = :t REMOVE notice_claimed_at")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":t", AttributeValue::Bool(true)),
        )
        .await
    }

    /// Gives back a claim whose notice could not be sent, so the retry may send it.
    pub async fn release_notice(&self, id: &str) -> Result<(), StoreError> {
        self.run_update(
            self.update(id)
                .update_expression("REMOVE notice_claimed_at")
                .condition_expression("attribute_exists(pk)"),
        )
        .await
    }

    pub async fn put_upload(&self, upload: &Upload) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("pk".to_owned(), s(upload_pk(&upload.id))),
            ("kind".to_owned(), s("upload")),
            ("id".to_owned(), s(&upload.id)),
            ("owner".to_owned(), s(&upload.owner)),
            ("key".to_owned(), s(&upload.key)),
            ("content_type".to_owned(), s(&upload.content_type)),
            ("size".to_owned(), n(upload.size)),
            ("created_at".to_owned(), s(&upload.created_at)),
            ("expires_epoch".to_owned(), n(upload.expires_epoch)),
        ]);
        item.extend(super::expiry(upload.retained_until));
        super::put(&self.client, &self.table, item, true).await
    }

    /// The upload, unless it is past its retention at `now` (DynamoDB's TTL deletes
    /// days late).
    /// Deletes a job's record outright (an erasure, an orphan); gone already is fine.
    pub async fn delete_job(&self, id: &str) -> Result<(), StoreError> {
        self.table().delete(&job_pk(id)).await
    }

    /// The write that records that `job` uses the upload `id`, in the transaction that
    /// makes the job: only while the upload is kept (its record is there and no
    /// finished job has let its image go). An upload may serve several jobs (a video
    /// made again while the first is being made); its image goes when the last is done.
    pub fn use_upload_write(&self, id: &str, job: &str) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .update(built(self.use_upload(id, job).build())?)
            .build())
    }

    fn upload_update(&self, id: &str) -> UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(upload_pk(id)))
    }

    fn use_upload(&self, id: &str, job: &str) -> UpdateBuilder {
        self.upload_update(id)
            .update_expression("ADD jobs :job")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(released)")
            .expression_attribute_values(":job", AttributeValue::Ss(vec![job.to_owned()]))
    }

    /// Records, outside a transaction, that `job` uses the upload `id` (the upgrade of
    /// jobs made before uploads kept their jobs); false if the upload is gone or
    /// released. Adding a job already there changes nothing.
    pub async fn join_upload(&self, id: &str, job: &str) -> Result<bool, StoreError> {
        super::held(self.run_update(self.use_upload(id, job)).await)
    }

    /// The ids of the jobs stored without a model (made before models existed). A Scan
    /// of the whole table, for the operators' one-off upgrade (`operator
    /// upgrade-library`), never a request's path.
    pub async fn jobs_without_model(&self) -> Result<Vec<String>, StoreError> {
        let items = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("kind = :job AND attribute_not_exists(model)")
            .projection_expression("id")
            .expression_attribute_values(":job", s("job"))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(StoreError::from_sdk)?;
        items.iter().map(|i| get_s(i, "id")).collect()
    }

    /// Names the model of a job stored without one; false if it has one now.
    pub async fn name_model(&self, id: &str, model: &str) -> Result<bool, StoreError> {
        super::held(
            self.run_update(
                self.update(id)
                    .update_expression("SET model = :m")
                    .condition_expression("attribute_exists(pk) AND attribute_not_exists(model)")
                    .expression_attribute_values(":m", s(model)),
            )
            .await,
        )
    }

    /// Whether the image of upload `id` may be deleted now that `job` (if any) is done
    /// with it: yes once no other job uses it, and from then on no new job may take it
    /// (`released`); no while another does (that job's own end deletes it); yes if its
    /// record is gone (past its retention, R15). Idempotent: a step run twice agrees.
    pub async fn release_upload(&self, id: &str, job: Option<&str>) -> Result<bool, StoreError> {
        if let Some(job) = job {
            let left = self
                .run_update(
                    self.upload_update(id)
                        .update_expression("DELETE jobs :job")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_values(
                            ":job",
                            AttributeValue::Ss(vec![job.to_owned()]),
                        ),
                )
                .await;
            if !super::held(left)? {
                // Its record is gone.
                return Ok(true);
            }
        }
        // Two steps, not one: a job that took the upload between them keeps it.
        let released = self
            .run_update(
                self.upload_update(id)
                    .update_expression("SET released = :t")
                    .condition_expression("attribute_exists(pk) AND attribute_not_exists(jobs)")
                    .expression_attribute_values(":t", AttributeValue::Bool(true)),
            )
            .await;
        if super::held(released)? {
            return Ok(true);
        }
        // Another job uses it, or its record is gone.
        Ok(super::get_by_pk(&self.client, &self.table, upload_pk(id))
            .await?
            .is_none())
    }

    pub async fn get_upload(&self, id: &str, now: i64) -> Result<Option<Upload>, StoreError> {
        let Some(i) = super::get_by_pk(&self.client, &self.table, upload_pk(id)).await? else {
            return Ok(None);
        };
        let retained_until = get_i64(&i, "ttl")?;
        if retained_until <= now {
            return Ok(None);
        }
        Ok(Some(Upload {
            retained_until,
            id: get_s(&i, "id")?,
            owner: get_s(&i, "owner")?,
            key: get_s(&i, "key")?,
            content_type: get_s(&i, "content_type")?,
            size: u64::try_from(get_i64(&i, "size")?).unwrap_or(0),
            created_at: get_s(&i, "created_at")?,
            expires_epoch: get_i64(&i, "expires_epoch")?,
            released: i.get("released").is_some_and(|v| v.as_bool() == Ok(&true)),
        }))
    }
}

fn job_item(job: &Job) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), s(job_pk(&job.id))),
        ("kind".to_owned(), s("job")),
        ("id".to_owned(), s(&job.id)),
        ("account_id".to_owned(), s(&job.account_id)),
        ("created_at".to_owned(), time_millis(job.created_at)),
        ("created_epoch".to_owned(), n(job.created_epoch)),
        ("updated_at".to_owned(), time_millis(job.created_at)),
        ("status".to_owned(), s(job.status.as_str())),
        ("mode".to_owned(), s(job.mode.as_str())),
        ("seconds".to_owned(), n(job.settings.seconds)),
        ("aspect_ratio".to_owned(), s(&job.settings.aspect_ratio)),
        ("audio".to_owned(), AttributeValue::Bool(job.settings.audio)),
        ("cost".to_owned(), n(job.cost)),
        ("submits".to_owned(), n(job.submits)),
        ("notified".to_owned(), AttributeValue::Bool(job.notified)),
        ("enqueued_epoch".to_owned(), n(job.enqueued_epoch)),
    ]);
    if !job.tried.is_empty() {
        item.insert(
            "tried".to_owned(),
            AttributeValue::L(job.tried.iter().map(s).collect()),
        );
    }
    if job.deadline_extra != 0 {
        item.insert("deadline_extra".to_owned(), n(job.deadline_extra));
    }
    if let Some(at) = job.submitted_epoch {
        item.insert("submitted_epoch".to_owned(), n(at));
    }
    if job.status.is_active() {
        item.insert(
            "active_day".to_owned(),
            s(crate::domain::clock::utc_day(job.created_epoch)),
        );
    }
    let optional = [
        ("prompt", &job.prompt),
        ("upload_id", &job.upload_id),
        ("input_key", &job.input_key),
        ("output_key", &job.output_key),
        ("provider_handle", &job.provider_handle),
        ("error", &job.error),
        ("request_hash", &job.request_hash),
        ("poll_token", &job.poll_token),
        ("model", &job.model),
        ("provider", &job.provider),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            item.insert(name.to_owned(), s(v));
        }
    }
    for (name, value) in [
        ("completed_at", job.completed_at),
        ("expires_at", job.expires_at),
    ] {
        if let Some(at) = value {
            item.insert(name.to_owned(), time(at));
        }
    }
    item
}

fn job_from_item(i: &Item) -> Result<Job, StoreError> {
    let bool_of = |name: &str| i.get(name).and_then(|v| v.as_bool().ok()).copied();
    Ok(Job {
        id: JobId::new(get_s(i, "id")?),
        account_id: AccountId::new(get_s(i, "account_id")?),
        created_at: get_time(i, "created_at")?,
        created_epoch: get_i64(i, "created_epoch")?,
        status: JobStatus::parse(&get_s(i, "status")?).ok_or(StoreError::Malformed("status"))?,
        prompt: opt_s(i, "prompt"),
        mode: match get_s(i, "mode")?.as_str() {
            "image" => Mode::Image,
            _ => Mode::Text,
        },
        settings: VideoSettings {
            seconds: u32::try_from(get_i64(i, "seconds")?).unwrap_or(0),
            aspect_ratio: get_s(i, "aspect_ratio")?,
            audio: bool_of("audio").unwrap_or(true),
        },
        cost: get_i64(i, "cost")?,
        upload_id: opt_s(i, "upload_id"),
        input_key: opt_s(i, "input_key"),
        output_key: opt_s(i, "output_key"),
        model: opt_s(i, "model"),
        // A job stored before jobs named their provider was at the only one there was.
        provider: opt_s(i, "provider").or_else(|| {
            i.contains_key("provider_handle")
                .then(|| crate::domain::video::LEGACY_PROVIDER.to_owned())
        }),
        tried: i
            .get("tried")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
        deadline_extra: get_i64(i, "deadline_extra").unwrap_or(0),
        submitted_epoch: get_i64(i, "submitted_epoch").ok(),
        provider_handle: opt_s(i, "provider_handle"),
        submits: u32::try_from(get_i64(i, "submits").unwrap_or(0)).unwrap_or(0),
        completed_at: opt_time(i, "completed_at")?,
        expires_at: opt_time(i, "expires_at")?,
        expires_epoch: get_i64(i, "expires_epoch").ok(),
        error: opt_s(i, "error"),
        notified: bool_of("notified").unwrap_or(false),
        request_hash: opt_s(i, "request_hash"),
        poll_token: opt_s(i, "poll_token"),
        enqueued_epoch: get_i64(i, "enqueued_epoch").unwrap_or(0),
        cleanup_tries: u32::try_from(get_i64(i, "cleanup_tries").unwrap_or(0)).unwrap_or(0),
        cleanup_since: get_i64(i, "cleanup_since").ok(),
        share: match (opt_s(i, "share_nonce"), opt_s(i, "share_hash")) {
            (Some(nonce), Some(hash)) => Some(crate::domain::sharing::ShareState {
                nonce,
                hash,
                show_prompt: bool_of("share_prompt").unwrap_or(false),
            }),
            _ => None,
        },
    })
}

/// The key of a model's recent times to ready.
fn stats_pk(model: &str) -> String {
    format!("stats#{model}")
}

impl VideoStore {
    /// Notes a video's time to ready for its model's estimate: appended, and the list
    /// cut back to the newest [`READY_TIMES_KEPT`] once it is twice that long (a cut
    /// that loses a race only keeps a few more a while).
    ///
    /// [`READY_TIMES_KEPT`]: crate::domain::video::READY_TIMES_KEPT
    pub async fn record_ready_time(&self, model: &str, secs: f64) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(stats_pk(model)))
            .update_expression("SET times = list_append(if_not_exists(times, :empty), :t)")
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":t", AttributeValue::L(vec![n(secs)]))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let times = out
            .attributes
            .as_ref()
            .and_then(|a| a.get("times"))
            .and_then(|v| v.as_l().ok())
            .cloned()
            .unwrap_or_default();
        let keep = crate::domain::video::READY_TIMES_KEPT;
        if times.len() >= 2 * keep {
            let newest = times[times.len() - keep..].to_vec();
            let _ = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(stats_pk(model)))
                .update_expression("SET times = :newest")
                .condition_expression("size(times) = :seen")
                .expression_attribute_values(":newest", AttributeValue::L(newest))
                .expression_attribute_values(":seen", n(times.len()))
                .send()
                .await;
        }
        Ok(())
    }

    /// A model's recent times to ready, in seconds (read eventually consistent: an
    /// estimate).
    pub async fn ready_times(&self, model: &str) -> Result<Vec<f64>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(stats_pk(model)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out
            .item
            .as_ref()
            .and_then(|i| i.get("times"))
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|x| x.as_n().ok()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The key of a share link's record: its token's hash (R49).
fn share_pk(hash: &str) -> String {
    format!("share#{hash}")
}

/// A share link's record: the video it shows and whether with its prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedVideo {
    pub video_id: String,
    pub show_prompt: bool,
}

impl VideoStore {
    /// R49: the writes that share a ready video of `account_id`: the link's record
    /// (keyed by the token's hash, expiring with the video) and the link kept with the
    /// video. Fails its condition if the video is not ready, not the account's, or
    /// shared already.
    pub fn share_writes(
        &self,
        job: &Job,
        share: &crate::domain::sharing::ShareState,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut item = Item::from([
            ("pk".to_owned(), s(share_pk(&share.hash))),
            ("kind".to_owned(), s("share")),
            ("video_id".to_owned(), s(job.id.as_str())),
            (
                "show_prompt".to_owned(),
                AttributeValue::Bool(share.show_prompt),
            ),
        ]);
        if let Some(until) = job.expires_epoch {
            item.extend(super::expiry(until));
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        let update = self
            .update(&job.id)
            .update_expression("SET share_nonce = :n, share_hash = :h, share_prompt = :p")
            .condition_expression(
                "#st = :ready AND account_id = :a AND attribute_not_exists(share_hash)",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":ready", s(JobStatus::Ready.as_str()))
            .expression_attribute_values(":a", s(job.account_id.as_str()))
            .expression_attribute_values(":n", s(&share.nonce))
            .expression_attribute_values(":h", s(&share.hash))
            .expression_attribute_values(":p", AttributeValue::Bool(share.show_prompt));
        Ok(vec![
            TransactWriteItem::builder()
                .put(built(put.build())?)
                .build(),
            TransactWriteItem::builder()
                .update(built(update.build())?)
                .build(),
        ])
    }

    /// R49: the writes that end a video's link: its record, and the link kept with it.
    pub fn unshare_writes(
        &self,
        job: &Job,
        hash: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .key("pk", s(share_pk(hash)));
        let update = self
            .update(&job.id)
            .update_expression("REMOVE share_nonce, share_hash, share_prompt")
            .condition_expression("share_hash = :h")
            .expression_attribute_values(":h", s(hash));
        Ok(vec![
            TransactWriteItem::builder()
                .delete(built(delete.build())?)
                .build(),
            TransactWriteItem::builder()
                .update(built(update.build())?)
                .build(),
        ])
    }

    /// R49: the record of the link whose token hashes to `hash`.
    pub async fn shared(&self, hash: &str) -> Result<Option<SharedVideo>, StoreError> {
        let Some(i) = super::get_by_pk(&self.client, &self.table, share_pk(hash)).await? else {
            return Ok(None);
        };
        Ok(Some(SharedVideo {
            video_id: get_s(&i, "video_id")?,
            show_prompt: i
                .get("show_prompt")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
        }))
    }

    /// R49: removes a link's record (a removed or erased video's); gone is fine.
    pub async fn delete_share(&self, hash: &str) -> Result<(), StoreError> {
        self.table().delete(&share_pk(hash)).await
    }
}
