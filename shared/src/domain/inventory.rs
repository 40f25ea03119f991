//! The record of processing: every class of data the service stores — where (table and
//! key prefix, or bucket), what personal data it holds, why, on which legal basis, for
//! how long, and what a rights request does with it. The export (R26) and the erasure
//! (R28) walk this list; a test fails when the template declares a table or bucket it
//! does not cover. Plain Rust, no I/O.

/// Where a class lives: a template resource (its logical id) and the part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A DynamoDB table and the key shape of the class's items.
    Table {
        table: &'static str,
        key: &'static str,
    },
    /// An S3 bucket and the key shape of the class's objects.
    Bucket {
        bucket: &'static str,
        key: &'static str,
    },
    /// Every function's CloudWatch log group.
    Logs,
}

/// GDPR art. 6 bases, as the policy names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegalBasis {
    Contract,
    LegitimateInterests,
    Consent,
    LegalObligation,
}

/// What an erasure does with the class (R28).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnErasure {
    Delete,
    /// Kept for the law's period with the account id replaced by a pseudonym.
    Pseudonymise,
    /// Holds nothing that leads to the person (keyed hashes that expire within the hour,
    /// ids of webhook events): left to its own retention.
    NotLinked,
    /// Logs: ids only, kept no longer than the erasure deadline.
    Expires,
}

/// The classes, by name; the export and the erasure match on it exhaustively, so a new
/// class cannot be forgotten by either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClassId {
    Profile,
    Identities,
    Consents,
    RightsRequests,
    SupportMessages,
    UsageData,
    SecurityEvents,
    Refusals,
    Appeals,
    Sessions,
    Codes,
    RateLimits,
    Videos,
    Uploads,
    InputFiles,
    OutputFiles,
    StagedFiles,
    ExportFiles,
    LedgerEntries,
    Balance,
    Payments,
    Checkouts,
    Subscriptions,
    Plan,
    WebhookEvents,
    AuditLog,
    Blocklist,
    Logs,
}

#[derive(Debug, Clone, Copy)]
pub struct Record {
    pub id: ClassId,
    /// The export document's key for the class (R26), or `None` if not exported.
    pub export_as: Option<&'static str>,
    pub place: Place,
    pub personal_data: &'static str,
    pub purpose: &'static str,
    pub basis: LegalBasis,
    /// In words; the numbers are the policy's (see `retention::MAP`).
    pub retention: &'static str,
    pub on_erasure: OnErasure,
}

use ClassId as C;
use LegalBasis as B;
use OnErasure as E;

const fn table(table: &'static str, key: &'static str) -> Place {
    Place::Table { table, key }
}

const fn bucket(bucket: &'static str, key: &'static str) -> Place {
    Place::Bucket { bucket, key }
}

pub const INVENTORY: &[Record] = &[
    Record {
        id: C::Profile,
        export_as: Some("account"),
        place: table("AccountsTable", "account#{account}"),
        personal_data: "email, display name, age statement, consents, restriction, policy version",
        purpose: "the account: sign-in, notices, support replies",
        basis: B::Contract,
        retention: "life of the account",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Identities,
        export_as: Some("identities"),
        place: table("AccountsTable", "email#{address}, google#{sub}"),
        personal_data: "email address, Google subject id",
        purpose: "one account per address and per Google identity",
        basis: B::Contract,
        retention: "life of the account or until disconnected",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Consents,
        export_as: Some("consent_history"),
        place: table("PrivacyTable", "account#{account} / consent#{at}"),
        personal_data: "what was chosen, when, under which policy version",
        purpose: "proof of consent (analytics cookies, marketing cookies, marketing email: three separate consents)",
        basis: B::LegalObligation,
        retention: "life of the account",
        on_erasure: E::Delete,
    },
    Record {
        id: C::RightsRequests,
        export_as: Some("privacy_requests"),
        place: table("PrivacyTable", "account#{account} / request#{id}"),
        personal_data: "kind, dates, status of each rights request",
        purpose: "answering rights requests on time",
        basis: B::LegalObligation,
        retention: "life of the account; an erasure's record stays, pseudonymised",
        on_erasure: E::Pseudonymise,
    },
    Record {
        id: C::SupportMessages,
        export_as: Some("support_messages"),
        place: table("PrivacyTable", "account#{account} / support#{id}"),
        personal_data: "subject and text written by the person",
        purpose: "customer support",
        basis: B::Contract,
        retention: "support_retention (365 days)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::UsageData,
        export_as: Some("usage_data"),
        place: table("PrivacyTable", "account#{account} / usage#{at}"),
        // Polls of one video's status within a minute are one item (`usage#{minute}#poll#{video}`)
        // that counts them (`requests`) with the first and last time: every request is
        // still recorded, not each as its own row.
        personal_data: "IP address, user agent, route, action, time, referrer (a video's status polls: counted per minute)",
        purpose: "security and, with consent, analytics",
        basis: B::LegitimateInterests,
        retention: "usage_retention (30 days)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::SecurityEvents,
        export_as: Some("security_events"),
        place: table("PrivacyTable", "account#{account} / security#{at}"),
        personal_data: "sign-ins, failed codes, suspensions, rights requests",
        purpose: "detecting and answering abuse",
        basis: B::LegitimateInterests,
        retention: "security_event_retention (180 days)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Refusals,
        export_as: Some("refusals"),
        place: table("PrivacyTable", "account#{account} / refusal#{id}"),
        personal_data: "which video was refused or removed, under which rule, and when (never the image or the prompt)",
        purpose: "the statement of reasons and its appeal (R46); counting violations (R20)",
        basis: B::LegitimateInterests,
        retention: "refusal_retention (180 days)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Appeals,
        export_as: Some("appeals"),
        place: table("PrivacyTable", "account#{account} / appeal#{id}"),
        personal_data: "the appeal's message written by the person, and the decision's reason",
        purpose: "answering appeals against refusals and removals (R46)",
        basis: B::LegalObligation,
        retention: "refusal_retention (180 days) from filing",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Sessions,
        export_as: Some("sessions"),
        place: table("SessionsTable", "session#{sha256(token)}"),
        personal_data: "when each session began and ends",
        purpose: "keeping the person signed in",
        basis: B::Contract,
        retention: "session_ttl (30 days)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Codes,
        export_as: None,
        place: table("SessionsTable", "code#{keyed hash}"),
        personal_data: "a pending new address (email change); the rest are keyed hashes",
        purpose: "sign-in and verification codes",
        basis: B::Contract,
        retention: "code_ttl (10 minutes)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::RateLimits,
        export_as: None,
        place: table("RateLimitsTable", "{scope}#{keyed hash}#{window}"),
        personal_data: "none in clear: keyed hashes of addresses, IPs and ids",
        purpose: "abuse limits",
        basis: B::LegitimateInterests,
        retention: "the limit's window (at most a day)",
        on_erasure: E::NotLinked,
    },
    Record {
        id: C::Videos,
        export_as: Some("videos"),
        place: table("VideosTable", "job#{id}"),
        // A share link lives with its video (its nonce and its token's hash, R49), and
        // its record `share#{hash}` names only the video; both end with the video.
        personal_data: "prompts and settings; a live share link's nonce and token hash",
        purpose: "making and delivering the videos asked for",
        basis: B::Contract,
        retention: "output_retention (7 days), then a tombstone without the prompt",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Uploads,
        export_as: Some("uploads"),
        place: table("VideosTable", "upload#{id}"),
        personal_data: "type and size of uploaded images",
        purpose: "image-to-video",
        basis: B::Contract,
        retention: "input_retention (24 hours)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::InputFiles,
        export_as: None,
        place: bucket("InputsBucket", "{upload id}"),
        personal_data: "uploaded images",
        purpose: "image-to-video",
        basis: B::Contract,
        retention: "input_retention (24 hours), or once the video is made",
        on_erasure: E::Delete,
    },
    Record {
        id: C::OutputFiles,
        export_as: None,
        place: bucket("OutputsBucket", "videos/{job id}.mp4"),
        personal_data: "generated videos",
        purpose: "delivery",
        basis: B::Contract,
        retention: "output_retention (7 days)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::StagedFiles,
        export_as: None,
        place: bucket("OutputsBucket", "staging/{job id}.mp4"),
        personal_data: "generated videos before their content credentials are signed (R41)",
        purpose: "delivery",
        basis: B::Contract,
        retention: "until stamped (seconds); staging_retention (1 day) at most",
        on_erasure: E::Delete,
    },
    Record {
        id: C::ExportFiles,
        export_as: None,
        place: bucket("ExportsBucket", "exports/{request id}.json"),
        personal_data: "a copy of everything listed here",
        purpose: "access and portability (R26)",
        basis: B::LegalObligation,
        retention: "export_link_ttl (72 hours)",
        on_erasure: E::Delete,
    },
    Record {
        id: C::LedgerEntries,
        export_as: Some("ledger"),
        place: table("LedgerTable", "entry#{kind}:{cause}"),
        personal_data: "credits granted, spent, refunded",
        purpose: "accounting",
        basis: B::LegalObligation,
        retention: "accounting_years (10 calendar years after the year of the record), pseudonymised after erasure, then deleted",
        on_erasure: E::Pseudonymise,
    },
    Record {
        id: C::Balance,
        export_as: Some("balance"),
        place: table("LedgerTable", "balance#{account}"),
        personal_data: "the credit balance",
        purpose: "spending credits",
        basis: B::Contract,
        retention: "life of the account",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Payments,
        export_as: Some("payments"),
        place: table("BillingTable", "payment#{order}"),
        personal_data: "order id, amount, currency, status, product, time (R09)",
        purpose: "accounting",
        basis: B::LegalObligation,
        retention: "accounting_years (10 calendar years after the year of the record), pseudonymised after erasure, then deleted",
        on_erasure: E::Pseudonymise,
    },
    Record {
        id: C::Checkouts,
        export_as: Some("checkouts"),
        place: table("BillingTable", "checkout#{id}"),
        personal_data: "the product a checkout was started for",
        purpose: "matching Creem's events to the account",
        basis: B::Contract,
        retention: "life of the account",
        on_erasure: E::Delete,
    },
    Record {
        id: C::Subscriptions,
        export_as: Some("subscriptions"),
        place: table("BillingTable", "subscription#{id}"),
        personal_data: "the Creem subscription's owner",
        purpose: "delivering a plan's credits",
        basis: B::Contract,
        retention: "accounting_years (10 calendar years after the year of the record), pseudonymised after erasure, then deleted",
        on_erasure: E::Pseudonymise,
    },
    Record {
        id: C::Plan,
        export_as: Some("plan"),
        place: table("BillingTable", "plan#{account}"),
        personal_data: "the current plan and its period",
        purpose: "delivering purchased features",
        basis: B::Contract,
        retention: "life of the account",
        on_erasure: E::Delete,
    },
    Record {
        id: C::WebhookEvents,
        export_as: None,
        place: table("BillingTable", "event#{creem event id}"),
        personal_data: "none: the ids of Creem events already applied",
        purpose: "applying each payment event once",
        basis: B::LegitimateInterests,
        retention: "accounting_years (10 calendar years after the year of the record)",
        on_erasure: E::NotLinked,
    },
    Record {
        id: C::AuditLog,
        export_as: Some("audit_log"),
        place: table("AuditTable", "audit#{id}"),
        personal_data: "actions taken on the account, by whom, why",
        purpose: "accountability of enforcement (R20)",
        basis: B::LegitimateInterests,
        retention: "security_event_retention (180 days), pseudonymised after erasure",
        on_erasure: E::Pseudonymise,
    },
    Record {
        id: C::Blocklist,
        export_as: None,
        place: table("AccountsTable", "blocked#{keyed hash of email}"),
        personal_data: "a keyed hash of the address of an account terminated for abuse",
        purpose: "fraud prevention (R28)",
        basis: B::LegitimateInterests,
        retention: "accounting_years (10 calendar years after the year of the record)",
        on_erasure: E::NotLinked,
    },
    Record {
        id: C::Logs,
        export_as: None,
        place: Place::Logs,
        personal_data: "account and job ids; never emails, prompts, codes, tokens or IPs",
        purpose: "operating the service",
        basis: B::LegitimateInterests,
        retention: "usage_retention (30 days)",
        on_erasure: E::Expires,
    },
];

/// The record of a class.
/// One processing a restriction (R29) acts on: what it is, what a restricted account
/// gets instead, and the test that proves it.
#[derive(Debug, Clone, Copy)]
pub struct Restricted {
    pub processing: &'static str,
    pub while_restricted: &'static str,
    pub proof: &'static str,
}

/// R29: what a restriction stops, and what it leaves. Nothing else processes personal
/// data beyond the contract, security and the law; no report aggregates usage data
/// (were one added, it would leave out rows flagged `restricted`, and be listed here).
pub const RESTRICTION: &[Restricted] = &[
    Restricted {
        processing: "analytics over usage data (R22, R23)",
        while_restricted: "each usage row is recorded for security with `restricted: true` and `analytics: false`, whatever the analytics consent",
        proof: "r29_a_restricted_account_is_left_out_of_analytics_and_marketing",
    },
    Restricted {
        processing: "marketing email (R24)",
        while_restricted: "nothing is sent, not even the opt-in's confirmation, though the consent is recorded",
        proof: "r29_a_restricted_account_is_left_out_of_analytics_and_marketing",
    },
    Restricted {
        processing: "lifting the restriction",
        while_restricted: "the stored consents apply again from then on; nothing is sent for the time restricted",
        proof: "r29_lifting_a_restriction_brings_back_only_what_was_consented",
    },
    Restricted {
        processing: "the contract, security and legal obligations: sign-in, videos, downloads, billing, rights requests, security events, accounting",
        while_restricted: "unchanged: the person asked for these",
        proof: "r29_a_restricted_account_is_left_out_of_analytics_and_marketing",
    },
];

/// Who else handles personal data for us (processors, R16, R37): what each receives,
/// why, and how its copy goes. `name` is the registry's name for a video provider.
#[derive(Debug, Clone, Copy)]
pub struct Processor {
    pub name: &'static str,
    pub role: &'static str,
    pub receives: &'static str,
    pub deletion: &'static str,
}

pub const PROCESSORS: &[Processor] = &[
    Processor {
        name: "aws",
        role: "Amazon Web Services, in the one region the stack is deployed to: hosting, storage, email sending, image screening (Rekognition)",
        receives: "everything this inventory lists, as our infrastructure; Rekognition reads an uploaded image from our bucket to screen it, and keeps nothing of it",
        deletion: "by the retention of each class of the inventory",
    },
    Processor {
        name: "fal",
        role: "fal.ai: video generation (a provider of the models catalogue)",
        receives: "the prompt, the video settings and a 15-minute link to the input image; never the account, name or email",
        deletion: "asked not to store inputs and outputs (`X-Fal-Store-IO: 0`); the request's payloads are deleted through fal's API once the video is stored, and again by the purge until fal confirms",
    },
    Processor {
        name: "replicate",
        role: "Replicate: video generation (a provider of the models catalogue), used when fal fails a job or is down",
        receives: "the prompt, the video settings and a 15-minute link to the input image; never the account, name or email",
        deletion: "Replicate deletes an API prediction's inputs and outputs one hour after it ends, and has no call to delete them sooner; a job moved away from it is cancelled there",
    },
    Processor {
        name: "creem",
        role: "Creem: payments (merchant of record) and prompt moderation",
        receives: "at checkout, our account id and checkout id (the person gives Creem their own payment details); for moderation, the prompt with the job's random id",
        deletion: "Creem keeps payment records as a merchant of record must; the account's subscriptions are cancelled there on erasure",
    },
    Processor {
        name: "google",
        role: "Google: sign-in with a Google account",
        receives: "nothing from us: we verify the ID token its sign-in gives the person",
        deletion: "disconnecting Google removes the identity here",
    },
];

pub fn record(id: ClassId) -> &'static Record {
    INVENTORY
        .iter()
        .find(|r| r.id == id)
        .expect("every class is in the inventory")
}

/// The classes an export carries, in order.
pub fn exported() -> impl Iterator<Item = (ClassId, &'static str)> {
    INVENTORY
        .iter()
        .filter_map(|r| r.export_as.map(|name| (r.id, name)))
}

/// Every table and bucket (logical ids) the inventory covers.
/// The template's stores that hold nothing of a person, and why: not in the record
/// of processing, and held to that by the test that compares it with the template.
pub const STORES_WITHOUT_PERSONAL_DATA: &[(&str, &str)] = &[(
    "SiteBucket",
    "the website's built files, the same for every visitor; nothing is written to it but by a deploy",
)];

pub fn resources() -> std::collections::BTreeSet<&'static str> {
    INVENTORY
        .iter()
        .filter_map(|r| match r.place {
            Place::Table { table, .. } => Some(table),
            Place::Bucket { bucket, .. } => Some(bucket),
            Place::Logs => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_once_with_a_unique_export_name() {
        let mut ids = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for r in INVENTORY {
            assert!(ids.insert(r.id), "{:?} twice", r.id);
            if let Some(n) = r.export_as {
                assert!(names.insert(n), "{n} twice");
            }
            assert!(!r.purpose.is_empty() && !r.retention.is_empty());
        }
    }
}
