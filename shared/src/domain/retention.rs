//! The retention map: every class of data the service stores, how long the policy lets
//! it live, what deletes it, and the tests that prove it. The purge and the privacy
//! export/erasure read this table; a test checks each mechanism against the template
//! (lifecycle days, TTL attributes) and that each named proof exists.
//!
//! DynamoDB's TTL deletes days late and the local endpoint never does, so a class kept
//! by TTL is also checked when read: an item past its expiry is treated as gone.

use std::time::Duration;

use super::policy::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// An S3 lifecycle expiry rule of the bucket (logical id in the template). S3 rounds
    /// to the next midnight (UTC), so objects can outlive the period by up to a day.
    S3Lifecycle {
        bucket: &'static str,
        /// The rule's key prefix (`""`: the whole bucket).
        prefix: &'static str,
    },
    /// Deleted by the hourly `purge-expired` once past the period (at most an hour
    /// late), with the bucket's lifecycle rule as the backstop.
    PurgeAndS3Lifecycle {
        bucket: &'static str,
        prefix: &'static str,
    },
    /// DynamoDB TTL on the table's `ttl` attribute, plus a check when read.
    TtlAndReadCheck { table: &'static str },
    /// DynamoDB TTL alone: the service never reads the class back, so a late
    /// deletion changes no answer.
    Ttl { table: &'static str },
    /// Checked when read, and deleted by the scheduled function `function` through an
    /// index of what expired.
    ReadCheckAndPurge { function: &'static str },
    /// Kept for the whole period on purpose (the law's accounting duty): to the end of
    /// the accounting period (`Policy::accounting_ends`), then deleted by TTL and, what
    /// TTL is late with, by the purge.
    KeptForPeriod,
    /// CloudWatch Logs retention of every function's log group.
    LogRetention,
}

#[derive(Debug, Clone, Copy)]
pub struct DataClass {
    pub name: &'static str,
    /// The requirement ids the class's period comes from.
    pub requirements: &'static str,
    pub period: fn(&Policy) -> Duration,
    pub mechanism: Mechanism,
    /// Names of the test functions that prove the period is enforced.
    pub proofs: &'static [&'static str],
}

pub const MAP: &[DataClass] = &[
    DataClass {
        name: "sign-in codes",
        requirements: "R02",
        period: |p| p.code_ttl,
        mechanism: Mechanism::TtlAndReadCheck {
            table: "SessionsTable",
        },
        proofs: &[
            "r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after",
            "r02_an_expired_code_is_refused",
            "r02_a_code_is_valid_for_ten_minutes",
        ],
    },
    DataClass {
        name: "sessions",
        requirements: "R05",
        period: |p| p.session_ttl,
        mechanism: Mechanism::TtlAndReadCheck {
            table: "SessionsTable",
        },
        proofs: &[
            "r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after",
            "r05_a_session_expires_after_30_days",
        ],
    },
    DataClass {
        name: "rate-limit counters",
        requirements: "R39",
        period: |p| p.codes_per_ip.window,
        mechanism: Mechanism::TtlAndReadCheck {
            table: "RateLimitsTable",
        },
        proofs: &[
            "r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after",
            "r02_r39_five_codes_an_hour_per_address",
        ],
    },
    DataClass {
        name: "upload records",
        requirements: "R14, R15",
        period: |p| p.input_retention,
        mechanism: Mechanism::TtlAndReadCheck {
            table: "VideosTable",
        },
        proofs: &[
            "r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after",
            "r14_uploads_are_typed_sized_presigned_and_checked",
        ],
    },
    DataClass {
        name: "input images",
        requirements: "R14, R15",
        period: |p| p.input_retention,
        mechanism: Mechanism::PurgeAndS3Lifecycle {
            bucket: "InputsBucket",
            prefix: "",
        },
        proofs: &[
            "r15_r26_unused_uploads_go_by_25_hours_and_exports_at_72_hours",
            "r15_the_templates_lifecycle_rules_are_the_policys_retention",
            "r15_delete_removes_input_and_output_at_once",
        ],
    },
    DataClass {
        name: "output videos",
        requirements: "R15",
        period: |p| p.output_retention,
        mechanism: Mechanism::S3Lifecycle {
            bucket: "OutputsBucket",
            prefix: "",
        },
        proofs: &[
            "r15_the_templates_lifecycle_rules_are_the_policys_retention",
            "r15_a_video_past_its_retention_reads_expired_without_a_link",
        ],
    },
    DataClass {
        name: "output videos before their content credentials",
        requirements: "R15, R41",
        period: |p| p.staging_retention,
        mechanism: Mechanism::S3Lifecycle {
            bucket: "OutputsBucket",
            prefix: "staging/",
        },
        proofs: &[
            "r15_the_templates_lifecycle_rules_are_the_policys_retention",
            "r41_every_video_carries_signed_content_credentials_read_by_an_independent_reader",
        ],
    },
    DataClass {
        name: "video jobs (prompt and settings)",
        requirements: "R15",
        period: |p| p.output_retention,
        mechanism: Mechanism::ReadCheckAndPurge {
            function: "purge-expired",
        },
        proofs: &[
            "r15_a_video_past_its_retention_reads_expired_without_a_link",
            "r15_the_prompt_of_a_failed_or_rejected_job_goes_with_a_ready_videos_retention",
            "r15_the_purge_deletes_an_expired_videos_files_and_prompt_once",
        ],
    },
    DataClass {
        name: "security events (audit log)",
        requirements: "R20, R22",
        period: |p| p.security_event_retention,
        mechanism: Mechanism::Ttl {
            table: "AuditTable",
        },
        proofs: &[
            "r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after",
            "r20_r05_three_refused_prompts_in_30_days_suspend_the_account_and_end_its_sessions",
        ],
    },
    DataClass {
        name: "function logs (ids, routes, statuses; no personal data)",
        requirements: "R22, R37",
        period: |p| p.usage_retention,
        mechanism: Mechanism::LogRetention,
        proofs: &["r15_r22_the_retention_map_is_the_templates_and_its_proofs_exist"],
    },
    DataClass {
        name: "usage data (per account)",
        requirements: "R22",
        period: |p| p.usage_retention,
        mechanism: Mechanism::TtlAndReadCheck {
            table: "PrivacyTable",
        },
        proofs: &[
            "r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after",
            "r22_r25_each_request_records_usage_data_for_30_days_dnt_or_not",
        ],
    },
    DataClass {
        name: "security events (per account)",
        requirements: "R22",
        period: |p| p.security_event_retention,
        mechanism: Mechanism::TtlAndReadCheck {
            table: "PrivacyTable",
        },
        proofs: &[
            "r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after",
            "r22_r25_each_request_records_usage_data_for_30_days_dnt_or_not",
            "r30_rights_requests_need_a_fresh_email_code",
        ],
    },
    DataClass {
        name: "support messages",
        requirements: "R31",
        period: |p| p.support_retention,
        mechanism: Mechanism::TtlAndReadCheck {
            table: "PrivacyTable",
        },
        proofs: &[
            "r22_r31_r33_every_ttl_class_is_present_before_its_period_and_gone_after",
            "r31_support_messages_are_forwarded_and_kept_a_year",
        ],
    },
    DataClass {
        name: "export documents",
        requirements: "R26",
        period: |p| p.export_link_ttl,
        mechanism: Mechanism::PurgeAndS3Lifecycle {
            bucket: "ExportsBucket",
            prefix: "",
        },
        proofs: &[
            "r15_r26_unused_uploads_go_by_25_hours_and_exports_at_72_hours",
            "r26_r28_r32_export_holds_everything_then_erasure_leaves_only_pseudonymised_records",
            "r26_an_export_link_is_given_only_for_72_hours",
        ],
    },
    DataClass {
        name: "payments and pseudonymised accounting records",
        requirements: "R09, R28, R33",
        period: |p| p.accounting_longest(),
        mechanism: Mechanism::KeptForPeriod,
        proofs: &[
            "r28_r33_pseudonymised_accounting_records_go_when_their_ten_calendar_years_end",
            "r26_r28_r32_export_holds_everything_then_erasure_leaves_only_pseudonymised_records",
        ],
    },
    DataClass {
        name: "credit ledger",
        requirements: "R11, R28, R33",
        period: |p| p.accounting_longest(),
        mechanism: Mechanism::KeptForPeriod,
        proofs: &[
            "r15_r11_deleting_a_video_still_being_made_stops_it_and_refunds_once",
            "r28_r33_pseudonymised_accounting_records_go_when_their_ten_calendar_years_end",
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_period_and_a_proof_and_a_unique_name() {
        let p = Policy::default();
        let mut names = std::collections::BTreeSet::new();
        for class in MAP {
            assert!((class.period)(&p) > Duration::ZERO, "{}", class.name);
            assert!(!class.proofs.is_empty(), "{}", class.name);
            assert!(names.insert(class.name), "{} twice", class.name);
        }
    }
}
