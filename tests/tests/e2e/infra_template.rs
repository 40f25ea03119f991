//! The template's promises: functions on arm64 with their limits, private encrypted
//! buckets with the policy's lifecycle, queues with dead letters, retention and
//! inventory held to what it declares, what is retained.

use std::collections::BTreeSet;

use e2e_tests::local_stack::template::{Template, Value, yaml_text};
use e2e_tests::{template_yaml, workspace_root as root};

/// The lifecycle days of a bucket's expiry rule in the template.
/// The expiry of the bucket's lifecycle rule for the objects under `prefix` (`""`: the
/// rule without a prefix, for the whole bucket).
pub fn expiry_days(template: &Value, bucket: &str, prefix: &str) -> i64 {
    template["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|r| r["Prefix"].as_str().unwrap_or_default() == prefix)
        .find_map(|r| r["ExpirationInDays"].as_i64())
        .unwrap_or_else(|| panic!("{bucket} has no expiry rule for {prefix:?}"))
}

/// The actions that take no resource of their own, so `*` is the only resource
/// they can be given (Service Authorization Reference, Amazon Rekognition: neither has
/// a resource type without a custom adapter; read 2026-12-07).
const NO_RESOURCE_TYPE: &[&str] = &[
    "rekognition:DetectModerationLabels",
    "rekognition:DetectFaces",
];

#[test]
fn r35_functions_are_arm64_on_provided_al2023_built_with_cargo_lambda() {
    let yaml: Value = e2e_tests::template_yaml();
    let globals = &yaml["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    let template = Template::parse(&yaml_text(&yaml)).unwrap();
    let functions = template.resources_of("AWS::Serverless::Function");
    assert!(functions.len() >= 2);
    for f in functions {
        let resource = &yaml["Resources"][f.logical_id];
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{}",
            f.logical_id
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        assert!(
            root()
                .join("functions")
                .join(binary)
                .join("Cargo.toml")
                .exists(),
            "{binary}"
        );
        // Least privilege: no wildcard actions, and a wildcard resource only for the
        // actions that have no resource type (R45's Rekognition calls).
        let policies = yaml_text(&resource["Properties"]["Policies"]);
        assert!(!policies.contains(":*"), "{}", f.logical_id);
        for statement in resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
        {
            if statement["Resource"].as_str() == Some("*") {
                let actions: Vec<&str> = statement["Action"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str())
                    .collect();
                assert!(
                    !actions.is_empty() && actions.iter().all(|a| NO_RESOURCE_TYPE.contains(a)),
                    "{}: Resource '*' for {actions:?}",
                    f.logical_id
                );
            }
        }
        assert!(
            !policies.contains("dynamodb:Scan"),
            "{}: no Scan on a request path",
            f.logical_id
        );
    }
}

#[test]
fn r15_the_templates_lifecycle_rules_are_the_policys_retention() {
    let t = template_yaml();
    let p = shared::domain::policy::Policy::default();
    use shared::domain::policy::whole_days;
    assert_eq!(
        expiry_days(&t, "InputsBucket", ""),
        whole_days(p.input_retention) as i64
    );
    assert_eq!(
        expiry_days(&t, "OutputsBucket", ""),
        whole_days(p.output_retention) as i64
    );
    assert_eq!(
        expiry_days(&t, "OutputsBucket", "staging/"),
        whole_days(p.staging_retention) as i64
    );
}

#[test]
fn r17_r35_buckets_are_private_encrypted_and_tls_only() {
    let t = template_yaml();
    for bucket in ["InputsBucket", "OutputsBucket"] {
        let props = &t["Resources"][bucket]["Properties"];
        let block = &props["PublicAccessBlockConfiguration"];
        for flag in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(block[flag].as_bool(), Some(true), "{bucket} {flag}");
        }
        assert!(
            props["BucketEncryption"]["ServerSideEncryptionConfiguration"].is_sequence(),
            "{bucket}"
        );
        let policy = t["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .find(|r| {
                r["Type"] == "AWS::S3::BucketPolicy"
                    && yaml_text(&r["Properties"]["Bucket"]).contains(bucket)
            })
            .unwrap_or_else(|| panic!("{bucket} has no bucket policy"));
        let doc = yaml_text(&policy["Properties"]["PolicyDocument"]);
        assert!(
            doc.contains("aws:SecureTransport") && doc.contains("Deny"),
            "{bucket} TLS-only"
        );
    }
    for (id, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] == "AWS::SQS::Queue" {
            assert_eq!(
                r["Properties"]["SqsManagedSseEnabled"].as_bool(),
                Some(true),
                "{id:?} encrypted"
            );
        }
    }
}

#[test]
fn sqs_event_sources_report_batch_item_failures_and_queues_have_dead_letters() {
    let t = template_yaml();
    let mut sources = 0;
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        for (_, e) in r["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if e["Type"] == "SQS" {
                sources += 1;
                let types = yaml_text(&e["Properties"]["FunctionResponseTypes"]);
                assert!(types.contains("ReportBatchItemFailures"));
                let queue = yaml_text(&e["Properties"]["Queue"]);
                let queue = queue
                    .split_whitespace()
                    .last()
                    .unwrap()
                    .trim_end_matches(".Arn");
                let q = &t["Resources"][queue]["Properties"];
                assert!(
                    q["RedrivePolicy"]["maxReceiveCount"].as_u64().is_some(),
                    "{queue} has a DLQ"
                );
                let timeout = r["Properties"]["Timeout"].as_u64().unwrap_or(10);
                assert!(
                    q["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout,
                    "{queue}: 6× the function's timeout"
                );
            }
        }
    }
    assert!(sources >= 2, "generate and deliver at least");
}

/// Every function states its own memory and timeout (chosen for what it does, and the
/// reason written beside them); an HTTP function ends before API Gateway's 30 s.
#[test]
fn every_function_states_its_memory_and_timeout() {
    let t = template_yaml();
    for (id, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let p = &r["Properties"];
        let timeout = p["Timeout"]
            .as_u64()
            .unwrap_or_else(|| panic!("{id:?}: no Timeout"));
        let memory = p["MemorySize"]
            .as_u64()
            .unwrap_or_else(|| panic!("{id:?}: no MemorySize"));
        assert!((128..=1024).contains(&memory), "{id:?}");
        let http = p["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .any(|(_, e)| e["Type"] == "HttpApi");
        if http {
            assert!(timeout < 30, "{id:?}: API Gateway gives up at 30 s");
        }
    }
}

/// The retention map (`shared::domain::retention`) is what the template does: each
/// lifecycle rule expires after the class's period, each TTL class's table has TTL on,
/// and every proof it names is a test that exists.
#[test]
fn r15_r22_the_retention_map_is_the_templates_and_its_proofs_exist() {
    use shared::domain::policy::{Policy, whole_days};
    use shared::domain::retention::{MAP, Mechanism};
    let t = template_yaml();
    let policy = Policy::default();
    let mut sources = String::new();
    for dir in ["tests", "shared", "functions"] {
        let mut stack = vec![root().join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    sources.push_str(&std::fs::read_to_string(&p).unwrap());
                }
            }
        }
    }
    for class in MAP {
        let period = (class.period)(&policy);
        match class.mechanism {
            Mechanism::S3Lifecycle { bucket, prefix }
            | Mechanism::PurgeAndS3Lifecycle { bucket, prefix } => {
                assert_eq!(
                    expiry_days(&t, bucket, prefix),
                    whole_days(period) as i64,
                    "{}",
                    class.name
                )
            }
            Mechanism::TtlAndReadCheck { table } | Mechanism::Ttl { table } => {
                let ttl = &t["Resources"][table]["Properties"]["TimeToLiveSpecification"];
                assert_eq!(ttl["Enabled"].as_bool(), Some(true), "{}", class.name);
                assert_eq!(ttl["AttributeName"], "ttl", "{}", class.name);
            }
            Mechanism::LogRetention => {
                // Every function has its log group, kept exactly that long.
                let template = Template::load().unwrap();
                for (logical_id, _) in template.functions() {
                    let group = t["Resources"]
                        .as_mapping()
                        .unwrap()
                        .values()
                        .find(|r| {
                            r["Type"] == "AWS::Logs::LogGroup"
                                && yaml_text(&r["Properties"]["LogGroupName"])
                                    .contains(&format!("${{{logical_id}}}"))
                        })
                        .unwrap_or_else(|| panic!("{logical_id} has no log group"));
                    assert_eq!(
                        group["Properties"]["RetentionInDays"].as_u64(),
                        Some(whole_days(period)),
                        "{logical_id}"
                    );
                }
            }
            Mechanism::ReadCheckAndPurge { function } => {
                let template = Template::load().unwrap();
                assert!(
                    template.functions().iter().any(|(_, b)| b == function),
                    "{}: no function {function}",
                    class.name
                );
            }
            Mechanism::KeptForPeriod => {}
        }
        for proof in class.proofs {
            assert!(
                sources.contains(&format!("fn {proof}(")),
                "{}: no test named {proof}",
                class.name
            );
        }
    }
    // R29: each effect of a restriction the inventory states has its test too.
    for effect in shared::domain::inventory::RESTRICTION {
        assert!(
            sources.contains(&format!("fn {}(", effect.proof)),
            "{}: no test named {}",
            effect.processing,
            effect.proof
        );
    }
}

/// R26, R28: the record of processing covers every table and bucket the template
/// declares (and names none it does not), so the export and the erasure, which walk
/// it, cannot miss a place where personal data is kept.
#[test]
fn r26_r28_the_inventory_covers_every_table_and_bucket_of_the_template() {
    let template = Template::load().unwrap();
    let covered = shared::domain::inventory::resources();
    let without = shared::domain::inventory::STORES_WITHOUT_PERSONAL_DATA;
    let mut declared = BTreeSet::new();
    for r in template.resources() {
        if ["AWS::DynamoDB::Table", "AWS::S3::Bucket"].contains(&r.kind) {
            declared.insert(r.logical_id.to_owned());
            let exempt = without.iter().any(|(store, _)| *store == r.logical_id);
            assert!(
                covered.contains(r.logical_id) != exempt,
                "{} must be in the data inventory, or (only) among the stores without personal data",
                r.logical_id
            );
        }
    }
    for (store, _) in without {
        assert!(declared.contains(*store), "{store} is not in the template");
    }
    for c in covered {
        assert!(
            declared.contains(c),
            "the inventory names {c}, which the template lacks"
        );
    }
}

/// R32: DynamoDB's point-in-time recovery keeps deleted items restorable for its
/// recovery period; every table's is the policy's, short enough that what an erasure
/// deletes by its own deadline has left the backups within the promised 30 days.
#[test]
fn r32_point_in_time_recovery_keeps_deleted_data_no_longer_than_the_promise_allows() {
    use shared::domain::policy::{Policy, whole_days};
    let t = template_yaml();
    let p = Policy::default();
    let mut tables = 0;
    for (id, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::DynamoDB::Table" {
            continue;
        }
        tables += 1;
        let pitr = &r["Properties"]["PointInTimeRecoverySpecification"];
        assert_eq!(
            pitr["PointInTimeRecoveryEnabled"].as_bool(),
            Some(true),
            "{id:?}"
        );
        assert_eq!(
            pitr["RecoveryPeriodInDays"].as_u64(),
            Some(whole_days(p.backup_recovery_period)),
            "{id:?}"
        );
    }
    assert!(tables >= 8);
    // An erasure is reported if not done by its deadline less the recovery period.
    assert!(p.erasure_deadline > p.backup_recovery_period + p.rights_request_warn_before);
}

/// What the README says of deleting or rolling back the stack: every table is
/// `Retain`ed but the rate-limits one (an hour of data); the data buckets hold files
/// kept hours to days by their lifecycle rules and are not, nor is the site bucket (the
/// built website, uploaded again by each deploy).
#[test]
fn only_short_lived_stores_are_not_retained() {
    let template = Template::load().unwrap();
    let mut not_retained: Vec<&str> = template
        .resources()
        .iter()
        .filter(|r| ["AWS::DynamoDB::Table", "AWS::S3::Bucket"].contains(&r.kind))
        .filter(|r| template.root()["Resources"][r.logical_id]["DeletionPolicy"] != "Retain")
        .map(|r| r.logical_id)
        .collect();
    not_retained.sort();
    assert_eq!(
        not_retained,
        [
            "ExportsBucket",
            "InputsBucket",
            "OutputsBucket",
            "RateLimitsTable",
            "SiteBucket",
        ]
    );
    for bucket in ["ExportsBucket", "InputsBucket", "OutputsBucket"] {
        let rules =
            &template.root()["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"];
        assert!(
            rules.as_sequence().is_some_and(|r| !r.is_empty()),
            "{bucket} has lifecycle rules"
        );
    }
}

/// The statements of a function's inline policies.
fn statements(template: &Value, function: &str) -> Vec<Value> {
    template["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
        .collect()
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        other => other
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
    }
}

/// R41, R35: the content-credentials key signs for `stamp`'s role alone; the account's
/// administrators administer it and cannot sign (no `kms:*`, no `kms:Sign` without the
/// role's condition).
#[test]
fn r41_only_stamps_role_signs_with_the_content_credentials_key() {
    let template = template_yaml();
    let policy = &template["Resources"]["SigningKey"]["Properties"]["KeyPolicy"]["Statement"];
    for s in policy.as_sequence().unwrap() {
        let acts = actions(s);
        assert!(!acts.iter().any(|a| a == "kms:*"), "{acts:?}");
        if acts.iter().any(|a| a == "kms:Sign" || a == "kms:Sign*") {
            let arn = yaml_text(&s["Condition"]["ArnLike"]["aws:PrincipalArn"]);
            assert!(
                arn.contains("StampFunctionRole"),
                "kms:Sign unconditioned: {arn}"
            );
        }
    }
}

/// R41: `generate` writes made videos to `staging/` only; `stamp` alone writes
/// `videos/`, with the content credentials.
#[test]
fn r41_generate_writes_staging_only() {
    let template = template_yaml();
    for s in statements(&template, "GenerateFunction") {
        if actions(&s).iter().any(|a| a == "s3:PutObject") {
            let resource = yaml_text(&s["Resource"]);
            assert!(
                resource.contains("OutputsBucket.Arn}/staging/*"),
                "{resource}"
            );
        }
    }
}

/// R39, R43: `provider-webhook` writes its replay keys only (`seen#…`), never a rate
/// limit, a circuit or a counter of the same table.
#[test]
fn r39_provider_webhook_writes_its_replay_keys_only() {
    let template = template_yaml();
    let writes: Vec<Value> = statements(&template, "ProviderWebhookFunction")
        .into_iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("dynamodb:")))
        .collect();
    assert!(!writes.is_empty());
    for s in writes {
        let keys = yaml_text(&s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]);
        assert!(keys.contains("seen#*"), "{keys}");
    }
}
