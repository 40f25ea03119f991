//! Every retention period and limit the privacy policy promises, in one place.
//!
//! The numbers are the defaults of `requirements.md`. The infrastructure template
//! (`infra/template.yaml`) is checked against this module by a test, so the two cannot
//! drift apart. Plain Rust: no I/O here.

use std::time::Duration;

/// The version of the privacy policy in force (its "Last updated" date). R34.
pub const POLICY_VERSION_CURRENT: &str = "2025-10-26";

/// Largest request body any endpoint accepts (the API contract: 64 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A rate limit: at most `max` events per `window` for one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per_hour(max: u32) -> Self {
        Self { max, window: HOUR }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// R02: how long an email sign-in code is valid.
    pub code_ttl: Duration,
    /// R27: changing the sign-in address needs a sign-in this recent (which proved the
    /// current address or Google account), so a stolen session alone cannot move it.
    pub email_change_recent_sign_in: Duration,
    /// R02: wrong tries after which a code is void.
    pub code_max_attempts: u32,
    /// R02: sign-in codes sent to one address.
    pub codes_per_address: Limit,
    /// R02, R39: sign-in codes requested from one client IP.
    pub codes_per_ip: Limit,
    /// R39: code verifications from one client IP (guessing across many addresses).
    pub verifications_per_ip: Limit,
    /// R02, R39: wrong codes for one address, across all its codes: a new code does not
    /// give a guesser five more tries.
    pub failed_verifications_per_address: Limit,
    /// R39: Google sign-ins from one client IP.
    pub google_signins_per_ip: Limit,
    /// R05: how long a session lives.
    pub session_ttl: Duration,
    /// R03: the shortest gap between two JWKS fetches caused by unknown key ids, so a
    /// flood of tokens with made-up `kid`s costs one fetch, not one per request.
    pub jwks_min_refetch: Duration,
    /// R03: after Google's key endpoint failed, sign-ins that need a key not held are
    /// refused at once (503) for this long instead of each waiting on another fetch.
    pub jwks_failure_backoff: Duration,
    /// R03: how long JWKS keys are kept when Google's answer has no usable max-age.
    pub jwks_default_max_age: Duration,
    /// R03, R13: the longest a published key set is kept, whatever its max-age says
    /// (fal documents 24 hours; keys rotate).
    pub jwks_max_age_cap: Duration,
    /// R03: clock skew tolerated on a Google ID token's `exp`.
    pub id_token_leeway: Duration,
    /// R14: largest accepted upload.
    pub upload_max_bytes: u64,
    /// R14, R17: lifetime of a presigned upload link.
    pub upload_link_ttl: Duration,
    /// R39: uploads and generations per account, and generations per client IP.
    pub uploads_per_account: Limit,
    pub videos_per_account: Limit,
    pub videos_per_ip: Limit,
    /// R49: openings of shared links per IP.
    pub shared_views_per_ip: Limit,
    /// R11: credits a new account starts with, so the product can be tried.
    pub signup_grant_credits: i64,
    /// R13: how long `generate` waits between looks at a provider that does not call
    /// our webhook on completion. One that does is not polled: `sweep` looks at a job
    /// that waited longer than `requeue_after`, which is the fallback for a lost call.
    pub provider_poll_interval: Duration,
    /// R13: how far a provider webhook's signed timestamp may be from our clock (fal
    /// documents ±5 minutes); older calls are replays.
    pub provider_webhook_leeway: Duration,
    /// R13: a generation not finished this long after submission fails (and refunds).
    pub generation_deadline: Duration,
    /// R13: first wait after the provider refused a submission (5xx, 429); doubles.
    pub provider_retry_base: Duration,
    /// R13: submission attempts before a job fails.
    pub provider_max_submits: u32,
    /// R43: how long a provider has to finish a job it accepted before the job moves
    /// to the next provider of its model (if one is left). No vendor publishes its
    /// models' generation times (fal's and Replicate's model pages, read 2026-12-07);
    /// one third party measured Hailuo 02 at 8–9 minutes for 10 s. Moving a job that is
    /// only slow pays twice, so a slow model gets 20 minutes, and the next provider
    /// still has the rest of the deadline and the failover extension.
    pub provider_attempt_deadline: Duration,
    /// R43: what a move to another provider adds to the job's generation deadline.
    pub failover_extension: Duration,
    /// R43: the longest wait a provider's 429 may ask for before it counts as a
    /// failure (a longer wait is an outage for our users).
    pub provider_throttle_budget: Duration,
    /// R43: the providers' circuit breaker: `circuit_failures` failed calls within
    /// `circuit_window` open the circuit for `circuit_open_for`; then one probe.
    pub circuit_failures: u32,
    pub circuit_window: Duration,
    pub circuit_open_for: Duration,
    /// R43: a probe that has not reported in this long may be claimed by another.
    pub circuit_probe_timeout: Duration,
    /// R13: a replayed submission (same `Idempotency-Key`) of a job still waiting for
    /// its first step queues it again only after it has waited this long since it was
    /// last queued: a lost message is replaced, a slow one is not doubled.
    pub requeue_after: Duration,
    /// R15: how long a claim to send a video's ready notice holds before another
    /// attempt may take it over (the holder may have died before sending).
    pub notice_lease: Duration,
    /// R13: the whole download of an output, from its first byte to its last, must end
    /// within this; `generate` runs for at most 60 s (see the template), and a stalled
    /// download must not take the other messages of its batch down with it.
    pub provider_download_deadline: Duration,
    /// R15: inputs are deleted this long after upload.
    pub input_retention: Duration,
    /// R15: outputs are deleted this long after completion.
    pub output_retention: Duration,
    /// A provider's file waiting for its content credentials (R41): `stamp` deletes it
    /// within seconds; the bucket's lifecycle rule on `staging/` is the backstop.
    pub staging_retention: Duration,
    /// How soon a client polling a video that is still being made is told to ask
    /// again (`Retry-After` of `GET /v1/videos/{id}`).
    pub status_poll_hint: Duration,
    /// R17: lifetime of a presigned download link.
    pub download_link_ttl: Duration,
    /// R20: refused prompts within `violation_window` that suspend an account.
    pub violations_to_suspend: u32,
    pub violation_window: Duration,
    /// R45: how images are screened (the refused categories, the confidence acted on,
    /// the age below which a face is taken for a minor's).
    pub screening: crate::domain::moderation::ScreeningRules,
    /// R46: an appeal is answered by an operator within this.
    pub appeal_deadline: Duration,
    /// R46: how long a refusal (id, rule, time) and its appeal are kept: as long as
    /// the security events, which suspensions are among.
    pub refusal_retention: Duration,
    /// R22: usage data retention.
    pub usage_retention: Duration,
    /// R22: security event retention.
    pub security_event_retention: Duration,
    /// R26: lifetime of an export's download link.
    pub export_link_ttl: Duration,
    /// R28, R33: payment records, ledger entries and subscription links are kept,
    /// pseudonymised after an erasure, for this many calendar years after the end of
    /// the year they were made in (as accounting law counts), then deleted.
    pub accounting_years: i32,
    /// R31, R39: support messages one account may send.
    /// R39: rights-request codes sent and requests made from one IP, over every account.
    pub rights_requests_per_ip: Limit,
    pub support_messages_per_account: Limit,
    /// R31: support messages retention.
    pub support_retention: Duration,
    /// R32: after deletion, what remains is gone or pseudonymised within this time.
    pub erasure_deadline: Duration,
    /// R30: an open rights request whose last step is this old is handed to
    /// `privacy-requests` again (its message was lost, or its run died).
    pub rights_request_requeue_after: Duration,
    /// R16: the longest wait between two attempts at deleting a provider's copy the
    /// provider refused (the wait doubles from an hour up to this); it is retried until
    /// the provider confirms, and reported once it has been refused this long:
    pub provider_cleanup_backoff_cap: Duration,
    pub provider_cleanup_report_after: Duration,
    /// R30: a rights request's message is tried this many times (before the queue's
    /// dead-letter queue would take it); then it is put down and the request, still
    /// open, is handed over again by the purge after `rights_request_requeue_after`.
    /// Only its due date ends it `failed`.
    pub rights_request_max_attempts: u32,
    /// R30, R32: an open rights request this close to its due date is reported.
    pub rights_request_warn_before: Duration,
    /// R32: how long DynamoDB's point-in-time recovery keeps deleted items restorable
    /// (the tables' `RecoveryPeriodInDays`). An erasure must be done this long before
    /// `erasure_deadline`, so that its data is gone from the backups too by then.
    pub backup_recovery_period: Duration,
    /// R33: an item DynamoDB's TTL has left this long past its expiry is deleted by
    /// `purge-expired` (TTL usually acts within two days, at no cost; the purge pays a
    /// write per item, so it takes only what TTL is late with).
    pub ttl_grace: Duration,
    /// R33: how many days back of expiries each purge reads.
    pub purge_lookback: Duration,
    /// R30: a rights request is due this many calendar months after receipt (GDPR
    /// Art. 12(3): received 31 January, due 28 February; see [`super::clock::months_after`]).
    pub rights_request_due_months: u32,
    /// R26: records an export asks for at a time from a class that may be large (a
    /// heavy account's usage rows). DynamoDB ends a page at 1 MB first (about 2,000
    /// usage rows), which bounds a page's memory whatever this says.
    pub export_page_items: i32,
    /// R28: keys an erasure asks for (then deletes in batches of 25) at a time from a
    /// class deleted by page; DynamoDB ends a page at 1 MB of keys first.
    pub erasure_page_keys: i32,
}

impl Policy {
    /// R28, R33: when an accounting record made at `recorded` (epoch seconds) may
    /// go: the start of the year after the last of its `accounting_years` full calendar
    /// years. A record of 15 March 2026 is kept through 2036 and goes on 1 January 2037.
    pub fn accounting_ends(&self, recorded: i64) -> i64 {
        use chrono::{Datelike, TimeZone, Utc};
        let year = Utc
            .timestamp_opt(recorded, 0)
            .single()
            .map_or(1970, |t| t.year());
        Utc.with_ymd_and_hms(year + self.accounting_years + 1, 1, 1, 0, 0, 0)
            .single()
            .map_or(i64::MAX, |t| t.timestamp())
    }

    /// The longest an accounting record lives: its `accounting_years` and the rest of
    /// the year it was made in.
    pub fn accounting_longest(&self) -> Duration {
        Duration::from_secs((self.accounting_years as u64 + 1) * 366 * 86400)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            code_ttl: 10 * MINUTE,
            email_change_recent_sign_in: 10 * MINUTE,
            code_max_attempts: 5,
            codes_per_address: Limit::per_hour(5),
            codes_per_ip: Limit::per_hour(20),
            verifications_per_ip: Limit::per_hour(60),
            failed_verifications_per_address: Limit::per_hour(10),
            google_signins_per_ip: Limit::per_hour(60),
            session_ttl: 30 * DAY,
            jwks_min_refetch: MINUTE,
            jwks_failure_backoff: Duration::from_secs(10),
            jwks_default_max_age: HOUR,
            jwks_max_age_cap: DAY,
            id_token_leeway: MINUTE,
            upload_max_bytes: 10 * 1024 * 1024,
            upload_link_ttl: 15 * MINUTE,
            uploads_per_account: Limit::per_hour(60),
            videos_per_account: Limit::per_hour(30),
            videos_per_ip: Limit::per_hour(60),
            shared_views_per_ip: Limit::per_hour(120),
            signup_grant_credits: 3,
            provider_poll_interval: Duration::from_secs(10),
            provider_webhook_leeway: 5 * MINUTE,
            generation_deadline: 30 * MINUTE,
            provider_retry_base: Duration::from_secs(2),
            provider_max_submits: 6,
            provider_attempt_deadline: 20 * MINUTE,
            failover_extension: 10 * MINUTE,
            provider_throttle_budget: Duration::from_secs(30),
            circuit_failures: 3,
            circuit_window: MINUTE,
            circuit_open_for: Duration::from_secs(30),
            circuit_probe_timeout: Duration::from_secs(60),
            provider_download_deadline: Duration::from_secs(40),
            requeue_after: Duration::from_secs(60),
            notice_lease: Duration::from_secs(60),
            input_retention: DAY,
            output_retention: 7 * DAY,
            staging_retention: DAY,
            status_poll_hint: Duration::from_secs(5),
            download_link_ttl: 15 * MINUTE,
            violations_to_suspend: 3,
            violation_window: 30 * DAY,
            screening: crate::domain::moderation::ScreeningRules {
                // Rekognition answers every label from 50 %; at 75 % a refusal is
                // likely right, and a wrong one can be appealed (R46).
                min_confidence: 75,
                adult_age: 18,
                refused: crate::domain::moderation::REFUSED_LABELS,
            },
            appeal_deadline: 14 * DAY,
            refusal_retention: 180 * DAY,
            usage_retention: 30 * DAY,
            security_event_retention: 180 * DAY,
            export_link_ttl: 72 * HOUR,
            accounting_years: 10,
            support_messages_per_account: Limit::per_hour(10),
            rights_requests_per_ip: Limit::per_hour(20),
            support_retention: 365 * DAY,
            erasure_deadline: 30 * DAY,
            rights_request_due_months: 1,
            backup_recovery_period: 7 * DAY,
            ttl_grace: DAY,
            purge_lookback: 7 * DAY,
            rights_request_requeue_after: 15 * MINUTE,
            // Below the privacy queue's maxReceiveCount (10), so no request ends in the
            // dead-letter queue unanswered; a week leaves three for the operators.
            rights_request_max_attempts: 8,
            provider_cleanup_backoff_cap: DAY,
            provider_cleanup_report_after: 7 * DAY,
            rights_request_warn_before: 3 * DAY,
            export_page_items: 10_000,
            erasure_page_keys: 20_000,
        }
    }
}

/// R14: the image types accepted for image-to-video.
pub const UPLOAD_CONTENT_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];

/// Whole days of a duration, for S3 lifecycle rules (which count in days).
pub fn whole_days(d: Duration) -> u64 {
    d.as_secs().div_ceil(24 * 3600)
}

/// What Creem says was paid for a product, as far as an event says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paid<'a> {
    /// The order's or transaction's status (`paid`, `pending`, …), if the event says.
    pub status: Option<&'a str>,
    /// The amount before tax (a discount lowers it), if the event says.
    pub amount: Option<i64>,
    /// The subscription is in its trial: nothing was charged.
    pub trialing: bool,
}

/// Why a payment event grants no credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoCredits {
    #[error("the order is not paid")]
    Unpaid,
    #[error("the subscription is in its trial")]
    Trial,
    #[error("nothing was paid (a full discount)")]
    NothingPaid,
}

/// R08, R11, R12: the credits a payment grants, from what was paid. The rule:
/// - only a paid order or period grants (`pending` and the like grant nothing; an event
///   that names no status is a payment Creem reports as made, `subscription.paid`);
/// - a trial grants nothing: the credits come with the first paid period;
/// - a discount grants the credits in proportion to what was paid, rounded down, so a
///   100 % discount grants none; an amount at or above the price grants them all.
pub fn credits_for(product: &super::billing::Product, paid: Paid<'_>) -> Result<i64, NoCredits> {
    if paid.trialing {
        return Err(NoCredits::Trial);
    }
    if paid.status.is_some_and(|s| s != "paid") {
        return Err(NoCredits::Unpaid);
    }
    let amount = paid.amount.unwrap_or(product.price_cents);
    if amount <= 0 {
        return Err(NoCredits::NothingPaid);
    }
    if amount >= product.price_cents || product.price_cents <= 0 {
        return Ok(product.credits);
    }
    match product.credits * amount / product.price_cents {
        0 => Err(NoCredits::NothingPaid),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r11_credits_follow_what_was_paid() {
        use crate::domain::billing::{Product, ProductKind};
        let pack = Product {
            id: "pack_10".into(),
            creem_product_id: "prod_pack_10".into(),
            name: "10 credits".into(),
            kind: ProductKind::CreditPack,
            credits: 10,
            price_cents: 900,
            currency: "EUR".into(),
            period: None,
        };
        let paid = |status, amount, trialing| {
            credits_for(
                &pack,
                Paid {
                    status,
                    amount,
                    trialing,
                },
            )
        };
        assert_eq!(paid(Some("paid"), Some(900), false), Ok(10));
        assert_eq!(
            paid(None, None, false),
            Ok(10),
            "subscription.paid names no status"
        );
        assert_eq!(
            paid(Some("pending"), Some(900), false),
            Err(NoCredits::Unpaid)
        );
        assert_eq!(paid(Some("paid"), Some(900), true), Err(NoCredits::Trial));
        assert_eq!(
            paid(Some("paid"), Some(0), false),
            Err(NoCredits::NothingPaid)
        );
        assert_eq!(
            paid(Some("paid"), Some(450), false),
            Ok(5),
            "half off: half the credits"
        );
        assert_eq!(
            paid(Some("paid"), Some(80), false),
            Err(NoCredits::NothingPaid)
        );
        assert_eq!(
            paid(Some("paid"), Some(1000), false),
            Ok(10),
            "never more than the product"
        );
    }

    #[test]
    fn r28_accounting_records_are_kept_ten_calendar_years_after_their_year() {
        use chrono::{TimeZone, Utc};
        let p = Policy::default();
        let at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().timestamp();
        // Made any day of 2026: kept through 2036, gone on 1 January 2037.
        assert_eq!(p.accounting_ends(at(2026, 3, 15, 12)), at(2037, 1, 1, 0));
        assert_eq!(p.accounting_ends(at(2026, 12, 31, 23)), at(2037, 1, 1, 0));
        assert_eq!(p.accounting_ends(at(2027, 1, 1, 0)), at(2038, 1, 1, 0));
        // Never shorter than ten years, nor longer than eleven.
        let made = at(2026, 12, 31, 23);
        assert!(p.accounting_ends(made) - made < p.accounting_longest().as_secs() as i64);
    }

    #[test]
    fn defaults_match_the_requirements() {
        let p = Policy::default();
        // R02
        assert_eq!(p.code_ttl, Duration::from_secs(600));
        assert_eq!(p.code_max_attempts, 5);
        assert_eq!(p.codes_per_address, Limit::per_hour(5));
        assert_eq!(p.codes_per_ip, Limit::per_hour(20));
        // R05
        assert_eq!(p.session_ttl, Duration::from_secs(30 * 86400));
        // R11
        assert_eq!(p.signup_grant_credits, 3);
        // R14, R15, R17
        assert_eq!(p.upload_max_bytes, 10 * 1024 * 1024);
        assert_eq!(whole_days(p.input_retention), 1);
        assert_eq!(whole_days(p.output_retention), 7);
        assert_eq!(p.download_link_ttl, Duration::from_secs(900));
        // R22, R26, R28, R31, R32
        assert_eq!(whole_days(p.usage_retention), 30);
        assert_eq!(whole_days(p.security_event_retention), 180);
        assert_eq!(p.export_link_ttl, Duration::from_secs(72 * 3600));
        assert_eq!(p.accounting_years, 10);
        assert_eq!(whole_days(p.support_retention), 365);
        assert_eq!(whole_days(p.erasure_deadline), 30);
        // R32: what an erasure deletes leaves the backups before the deadline.
        assert!(p.backup_recovery_period < p.erasure_deadline);
    }
}
