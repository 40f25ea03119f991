//! `purge-expired` (hourly): videos past their retention are gone (R15).
//!
//! S3's lifecycle rule deletes an output up to a day late (it rounds to midnight), and
//! nothing else would ever remove the prompt of an expired video. Each run reads the
//! ready videos that expired through the sparse `expiring_by_day` index — its cost
//! grows with what expired, not with what is stored — and for each deletes the output
//! and the input, then leaves a tombstone: status `expired`, no prompt. Every effect is
//! idempotent, so two concurrent runs, or a run that stopped half way, do no harm:
//! the video stays in the index until its tombstone is written.
//!
//! A job that ended failed or rejected is in the same index from its end, with a ready
//! video's retention: when it expires, its prompt is removed and its status kept.
//!
//! Each run also finishes what a job's end leaves: the input of a video that is ready,
//! failed, rejected or deleted is deleted at once (not when the bucket's day-rounded
//! lifecycle gets to it), and the provider's copy is deleted, retried every run until
//! the provider confirms, through the sparse `cleanup_by_day` index.
//!
//! Videos are looked for in the last [`DAYS`] days of expiry: one can only be older and
//! still there if the purge did not run for that long. A job whose account is gone is
//! an orphan and is removed whole (R33).
//!
//! It also deletes what DynamoDB's TTL is late with in every table that has one (see
//! `ttl`), hands rights requests that stalled back to `privacy-requests`, and reports
//! those near their due date (R30, R32). Each run's answer, logged with its duration,
//! counts what it did per data class; overdue items are logged as warnings with their
//! class and age, never their content.

mod state;
mod ttl;

use serde_json::json;
use shared::domain::clock::{rfc3339, utc_day};
use shared::domain::policy::Policy;
use shared::domain::privacy::{RequestKind, RightsRequest};
use shared::domain::video::{JobStatus, output_key};
use shared::edge::schedule::ScheduledStep;

pub use state::PurgeExpiredState;

/// How many UTC days of expiries each run reads.
pub const DAYS: i64 = 3;

/// The UTC days a run reads, oldest first.
fn days(now: i64) -> impl Iterator<Item = String> {
    (0..DAYS)
        .rev()
        .map(move |back| utc_day(now - back * 24 * 3600))
}

impl crate::state::Services {
    /// R33: a job whose account is gone (an erasure that an index hid it from) is
    /// removed whole once its files are: nothing would ever show or delete it.
    async fn remove_if_orphan(&self, job: &shared::domain::video::Job) -> Result<bool, String> {
        if self
            .accounts
            .get(&job.account_id)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Ok(false);
        }
        self.videos
            .delete_job(&job.id)
            .await
            .map_err(|e| e.to_string())?;
        tracing::warn!(event = "orphan_job_removed", job_id = %job.id, "job without an account removed");
        Ok(true)
    }

    /// Deletes a job's input, if it had one and no other job still uses its upload
    /// (a video made again from it); how many objects that was.
    async fn delete_input(&self, job: &shared::domain::video::Job) -> Result<u32, String> {
        shared::app::inputs::drop_input(&self.videos, &self.blobs, &self.inputs_bucket, job)
            .await
            .map(u32::from)
            .map_err(|e| e.to_string())
    }
}

impl crate::state::Services {
    /// R30, R32: every open rights request (from the sparse `open_requests` index, so
    /// the cost grows with the open requests): one whose last step is older than the
    /// policy's requeue delay goes back on the privacy queue (a lost message, a run
    /// that died; carrying one out twice does nothing new), and one near or past its
    /// due date is reported. Returns (requeued, near or past due).
    async fn follow_rights_requests(&self, now: i64) -> Result<(u32, u32), String> {
        // Every open request is due within its months (at most 31 days each) of now.
        let horizon = now + i64::from(self.policy.rights_request_due_months) * 31 * 86400 + 86400;
        let open = self
            .privacy
            .open_requests(&rfc3339(shared::domain::clock::from_epoch(horizon)))
            .await
            .map_err(|e| e.to_string())?;
        let (mut requeued, mut near_due) = (0, 0);
        let mut soonest: Option<i64> = None;
        for r in open {
            let follow = follow_up(&r, now, &self.policy);
            soonest = Some(soonest.map_or(follow.due, |s| s.min(follow.due)));
            if follow.requeue {
                let msg = shared::adapters::sqs::PrivacyMessage {
                    request_id: r.id.clone(),
                    account_id: r.account_id.to_string(),
                    recheck: false,
                };
                self.privacy_queue
                    .send(&msg)
                    .await
                    .map_err(|e| e.to_string())?;
                requeued += 1;
            }
            if follow.near_due {
                near_due += 1;
                tracing::warn!(
                    event = "rights_request_near_due",
                    request_id = %r.id,
                    kind = r.kind.as_str(),
                    hours_left = (follow.due - now) / 3600,
                    "rights request open near or past its due date"
                );
            }
        }
        // R48: the days left to the soonest due date (negative when past it), while a
        // request is open; its alarm fires below 3.
        if let Some(due) = soonest {
            shared::adapters::metrics::emit(
                shared::adapters::metrics::Metric::RightsRequestDaysLeft,
                (due - now) as f64 / 86_400.0,
                &[],
            );
        }
        Ok((requeued, near_due))
    }
}

/// R16: how long after its `tries`-th refusal a provider's copy is asked for again: an
/// hour, doubling, at most the policy's cap. Never a cut-off: it is asked until the
/// provider confirms.
fn cleanup_backoff(policy: &Policy, tries: u32) -> i64 {
    let cap = policy.provider_cleanup_backoff_cap.as_secs() as i64;
    3600_i64.saturating_mul(1 << tries.min(20)).min(cap)
}

/// What an open rights request calls for at `now` (R30, R32).
#[derive(Debug, PartialEq, Eq)]
struct FollowUp {
    /// Its last step is older than the requeue delay: queue it again.
    requeue: bool,
    /// When it must be done (epoch seconds).
    due: i64,
    /// It is within the warning period of that, or past it: report it.
    near_due: bool,
}

/// Judges an open request by its last step and its due date.
fn follow_up(r: &RightsRequest, now: i64, policy: &Policy) -> FollowUp {
    // A request has its first step from the start; one without would be requeued.
    let last = r.trail.last().map_or(0, |s| s.at.timestamp());
    let due = match r.kind {
        // R32: what an erasure deletes stays in the tables' point-in-time
        // backups for their recovery period, so it must be done that much
        // before the promise's deadline.
        RequestKind::Erasure => {
            r.requested_at.timestamp()
                + (policy.erasure_deadline - policy.backup_recovery_period).as_secs() as i64
        }
        RequestKind::Export => r.due_by.timestamp(),
    };
    FollowUp {
        requeue: now - last >= policy.rights_request_requeue_after.as_secs() as i64,
        due,
        near_due: due - now <= policy.rights_request_warn_before.as_secs() as i64,
    }
}

/// R15: a failed or rejected job has no video; when its retention ends only its
/// prompt goes, and its status stays to tell what happened.
fn only_prompt_expires(status: JobStatus) -> bool {
    matches!(status, JobStatus::Failed | JobStatus::Rejected)
}

/// Files past their period deleted in one run, at most, per bucket (then the next run
/// carries on).
pub const FILES_BUDGET: usize = 5_000;

impl crate::state::Services {
    /// R15, R26: an upload's file is gone 24 h after it was written, whether or not a
    /// job used it, and an export 72 h after it was built — by this hourly run, so at
    /// most an hour late (S3's lifecycle rules, a day late at worst, stay as the
    /// backstop). Both buckets hold only files younger than that (plus what this run
    /// deletes), so listing them costs what was uploaded or exported lately.
    async fn delete_files_past_their_period(&self, now: i64) -> Result<(u32, u32), String> {
        let mut counts = [0u32; 2];
        for (count, bucket, period) in [
            (0, &self.inputs_bucket, self.policy.input_retention),
            (1, &self.exports_bucket, self.policy.export_link_ttl),
        ] {
            let keys = self
                .blobs
                .keys_older_than(bucket, now - period.as_secs() as i64, FILES_BUDGET)
                .await
                .map_err(|e| e.to_string())?;
            for key in keys {
                self.blobs
                    .delete(bucket, &key)
                    .await
                    .map_err(|e| e.to_string())?;
                counts[count] += 1;
            }
        }
        Ok((counts[0], counts[1]))
    }
}

/// Items the purge deletes in one run, at most (then the next run carries on).
pub const TTL_BUDGET: u64 = 20_000;

impl crate::state::Services {
    /// R22, R31, R33: what DynamoDB's TTL left past the policy's grace, deleted; an
    /// unused upload's input goes with its record. Logged per class, with how overdue
    /// the oldest was: never the content.
    async fn sweep_ttl(&self, now: i64) -> Result<ttl::Swept, String> {
        let grace = self.policy.ttl_grace.as_secs() as i64;
        let lookback = self.policy.purge_lookback.as_secs() as i64 / 86400;
        let swept = ttl::sweep(
            &self.ttl_tables,
            now,
            grace,
            lookback,
            TTL_BUDGET,
            |_, keys| async move {
                if let Some(id) = shared::adapters::dynamo::videos::VideoStore::upload_of(&keys) {
                    self.blobs
                        .delete(&self.inputs_bucket, &id)
                        .await
                        .map_err(|e| {
                            shared::adapters::dynamo::StoreError::Backend(e.to_string())
                        })?;
                }
                Ok(())
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        for (class, age) in &swept.oldest_overdue {
            tracing::warn!(
                event = "ttl_overdue",
                class,
                deleted = swept.deleted.get(class).copied().unwrap_or(0),
                oldest_overdue_hours = age / 3600,
                "items past their retention that DynamoDB's TTL had not deleted"
            );
        }
        Ok(swept)
    }
}

impl ScheduledStep for crate::state::Services {
    const FUNCTION: &'static str = "purge-expired";
    const HEARTBEAT: shared::adapters::metrics::Metric =
        shared::adapters::metrics::Metric::PurgeRound;

    async fn run(&self) -> Result<serde_json::Value, String> {
        let now = self.clock.epoch_secs();
        let at = rfc3339(self.clock.now());
        let (mut expired, mut objects, mut orphans, mut prompts) = (0, 0, 0, 0);
        for day in days(now) {
            let jobs = self
                .videos
                .expiring(&day, now)
                .await
                .map_err(|e| e.to_string())?;
            for job in jobs {
                if only_prompt_expires(job.status) {
                    // Its prompt, kept as long as a ready video's (R15).
                    match self.videos.forget_prompt(&job.id, &at).await {
                        Ok(()) => prompts += 1,
                        Err(e) if e.is_condition_failure() => {}
                        Err(e) => return Err(e.to_string()),
                    }
                    continue;
                }
                self.blobs
                    .delete(&self.outputs_bucket, &output_key(&job.id))
                    .await
                    .map_err(|e| e.to_string())?;
                objects += 1;
                objects += self.delete_input(&job).await?;
                if self.remove_if_orphan(&job).await? {
                    orphans += 1;
                    continue;
                }
                match self.videos.expire(&job.id, &at).await {
                    Ok(()) => {
                        expired += 1;
                        tracing::info!(event = "video_expired", job_id = %job.id, "expired video purged");
                    }
                    // Deleted or expired meanwhile: its own path removed it.
                    Err(e) if e.is_condition_failure() => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        // Finished jobs: their input goes at once, and the provider's copy is deleted,
        // run after run, until the provider confirms it is gone (R15, R16).
        let (mut cleaned, mut provider_pending) = (0, 0);
        for day in days(now) {
            let jobs = self
                .videos
                .to_clean(&day, now)
                .await
                .map_err(|e| e.to_string())?;
            for job in jobs {
                objects += self.delete_input(&job).await?;
                if let Some(handle) = &job.provider_handle
                    && let Err(e) = match self.providers.of_job(&job) {
                        Some(provider) => provider.delete(handle).await,
                        None => Err(shared::adapters::providers::video::ProviderError::Failed(
                            "the job's provider is not configured".into(),
                        )),
                    }
                {
                    provider_pending += 1;
                    let next = now + cleanup_backoff(&self.policy, job.cleanup_tries);
                    let since = job.cleanup_since.unwrap_or(now);
                    if now - since >= self.policy.provider_cleanup_report_after.as_secs() as i64 {
                        tracing::error!(event = "provider_copy_overdue", job_id = %job.id, error = %e, days = (now - since) / 86_400, "the provider has refused to delete its copy for a week or more; still retried");
                    } else {
                        tracing::warn!(event = "provider_copy_kept", job_id = %job.id, error = %e, "provider copy not deleted yet; retried later");
                    }
                    match self.videos.clean_later(&job.id, next, now).await {
                        Ok(()) => {}
                        Err(e) if e.is_condition_failure() => {}
                        Err(e) => return Err(e.to_string()),
                    }
                    continue;
                }
                if self.remove_if_orphan(&job).await? {
                    orphans += 1;
                    continue;
                }
                self.videos
                    .cleaned(&job.id)
                    .await
                    .map_err(|e| e.to_string())?;
                cleaned += 1;
            }
        }
        let (inputs_past, exports_past) = self.delete_files_past_their_period(now).await?;
        let (requeued, near_due) = self.follow_rights_requests(now).await?;
        let late = self.sweep_ttl(now).await?;
        Ok(json!({
            "ttl_late_deleted": late.deleted,
            "more_left": late.more_left,
            "rights_requests_requeued": requeued,
            "rights_requests_near_due": near_due,
            "videos_expired": expired,
            "prompts_of_failed_jobs_removed": prompts,
            "orphan_jobs_removed": orphans,
            "jobs_cleaned": cleaned,
            "provider_copies_pending": provider_pending,
            "objects_deleted": objects,
            "inputs_past_retention_deleted": inputs_past,
            "exports_past_link_deleted": exports_past,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::clock::parse_time;
    use shared::domain::privacy::{RequestStatus, TrailStep};

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn at(t: &str) -> i64 {
        time(t).timestamp()
    }

    fn time(t: &str) -> shared::domain::clock::DateTime<shared::domain::clock::Utc> {
        parse_time(t).unwrap()
    }

    fn request(kind: RequestKind, last_step: Option<&str>) -> RightsRequest {
        RightsRequest {
            id: "req_1".into(),
            account_id: shared::domain::ids::AccountId::new("acc_1"),
            kind,
            status: RequestStatus::InProgress,
            requested_at: time("2026-12-01T00:00:00Z"),
            due_by: time("2026-12-31T00:00:00Z"),
            trail: last_step
                .map(|t| TrailStep {
                    status: RequestStatus::InProgress,
                    at: time(t),
                })
                .into_iter()
                .collect(),
            export_key: None,
            completed_at: None,
            subscriptions_cancelled: None,
            failure: None,
        }
    }

    #[test]
    fn r30_a_request_whose_last_step_is_older_than_the_requeue_delay_is_queued_again() {
        let policy = Policy::default();
        let after = policy.rights_request_requeue_after.as_secs() as i64;
        let step = "2026-12-02T00:00:00Z";
        let r = request(RequestKind::Export, Some(step));
        assert!(!follow_up(&r, at(step) + after - 1, &policy).requeue);
        assert!(follow_up(&r, at(step) + after, &policy).requeue);
        // No step: it is looked at again at once.
        assert!(follow_up(&request(RequestKind::Export, None), at(step), &policy).requeue);
    }

    #[test]
    fn r32_an_erasure_is_due_a_backup_recovery_period_before_its_deadline() {
        let policy = Policy {
            erasure_deadline: std::time::Duration::from_secs(30 * DAY as u64),
            backup_recovery_period: std::time::Duration::from_secs(7 * DAY as u64),
            ..Policy::default()
        };
        // Asked on 1 December, promised by the 31st: done by the 24th, what it deleted
        // is out of the seven-day backups too by the 31st.
        let r = request(RequestKind::Erasure, None);
        assert_eq!(
            follow_up(&r, at("2026-12-02T00:00:00Z"), &policy).due,
            at("2026-12-24T00:00:00Z")
        );
        // An export is due when its record says.
        let export = request(RequestKind::Export, None);
        assert_eq!(
            follow_up(&export, at("2026-12-02T00:00:00Z"), &policy).due,
            at("2026-12-31T00:00:00Z")
        );
    }

    #[test]
    fn r30_a_request_within_the_warning_period_of_its_due_date_or_past_it_is_reported() {
        let policy = Policy::default();
        let warn = policy.rights_request_warn_before.as_secs() as i64;
        let r = request(RequestKind::Export, None);
        let due = r.due_by.timestamp();
        assert!(!follow_up(&r, due - warn - 1, &policy).near_due);
        assert!(follow_up(&r, due - warn, &policy).near_due);
        assert!(follow_up(&r, due + 5 * DAY, &policy).near_due, "overdue");
    }

    #[test]
    fn r15_an_expired_failed_or_rejected_job_loses_only_its_prompt() {
        assert!(only_prompt_expires(JobStatus::Failed));
        assert!(only_prompt_expires(JobStatus::Rejected));
        // A ready video's files go, and it becomes a tombstone.
        assert!(!only_prompt_expires(JobStatus::Ready));
    }

    #[test]
    fn r15_each_run_reads_the_last_three_utc_days_oldest_first() {
        let read: Vec<_> = days(at("2026-12-08T00:30:00Z")).collect();
        assert_eq!(read, ["2026-12-06", "2026-12-07", "2026-12-08"]);
        let just_before_midnight: Vec<_> = days(at("2026-12-07T23:59:59Z")).collect();
        assert_eq!(
            just_before_midnight,
            ["2026-12-05", "2026-12-06", "2026-12-07"]
        );
    }
}
