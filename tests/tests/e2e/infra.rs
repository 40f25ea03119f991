//! The infrastructure template: it lints clean, the local stack creates exactly what it
//! declares, and it is what the functions' configuration and the API contract need.

use std::collections::BTreeSet;
use std::path::PathBuf;

use e2e_tests::TestStack;
use e2e_tests::local_stack::template::{Template, Value, yaml_text};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread")]
async fn r35_cfn_lint_passes_on_the_template() {
    let python = e2e_tests::local_stack::moto::python()
        .await
        .expect("python tools");
    let cfn_lint = python.with_file_name("cfn-lint");
    let out = tokio::process::Command::new(cfn_lint)
        .arg(root().join("infra/template.yaml"))
        .output()
        .await
        .expect("cfn-lint runs");
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// R35: checkov finds no failed check on the template, parses all of it (it exits 0 on
/// a YAML it cannot read, so its parsing errors are counted), and every check skipped
/// says why, on the resource.
#[tokio::test(flavor = "multi_thread")]
async fn r35_checkov_finds_no_failed_check_and_every_skip_says_why() {
    let script = root().join("scripts/checkov-tools.sh");
    let out = tokio::process::Command::new("bash")
        .arg(script)
        .output()
        .await
        .expect("checkov installs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checkov = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = tokio::process::Command::new(checkov)
        .args([
            "--skip-download",
            "--framework",
            "cloudformation",
            "-o",
            "json",
            "-f",
        ])
        .arg(root().join("infra/template.yaml"))
        .output()
        .await
        .expect("checkov runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's report ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let summary = &report["summary"];
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    assert!(
        summary["resource_count"].as_u64().unwrap() >= 40,
        "{summary}"
    );
    let failed = &report["results"]["failed_checks"];
    assert_eq!(summary["failed"], 0, "failed checks: {failed:#}");
    for skipped in report["results"]["skipped_checks"].as_array().unwrap() {
        let why = skipped["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or("");
        assert!(why.len() > 20, "skipped without a reason: {skipped}");
    }
}

fn names(v: Option<&Value>, field: &str) -> BTreeSet<String> {
    v.and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|x| {
            format!(
                "{}:{}",
                x["AttributeName"].as_str().unwrap_or_default(),
                x[field].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_stack_creates_exactly_the_tables_the_template_declares() {
    let t = TestStack::start().await;
    let template = Template::load().unwrap();
    let ddb = &t.stack.aws.dynamodb();
    let tables = template.resources_of("AWS::DynamoDB::Table");
    assert!(tables.len() >= 3);
    for table in tables {
        let props = table.properties;
        let name = t.table(table.logical_id);
        let d = ddb.describe_table().table_name(&name).send().await.unwrap();
        let d = d.table.unwrap();
        let keys: BTreeSet<String> = d
            .key_schema()
            .iter()
            .map(|k| format!("{}:{}", k.attribute_name(), k.key_type().as_str()))
            .collect();
        assert_eq!(
            keys,
            names(props.get("KeySchema"), "KeyType"),
            "{name} keys"
        );
        let attrs: BTreeSet<String> = d
            .attribute_definitions()
            .iter()
            .map(|a| format!("{}:{}", a.attribute_name(), a.attribute_type().as_str()))
            .collect();
        assert_eq!(
            attrs,
            names(props.get("AttributeDefinitions"), "AttributeType"),
            "{name} attributes"
        );
        let live_gsis: BTreeSet<String> = d
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                let keys: Vec<String> = g
                    .key_schema()
                    .iter()
                    .map(|k| k.attribute_name().to_owned())
                    .collect();
                let projection = g
                    .projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_owned());
                format!(
                    "{}:{}:{}",
                    g.index_name().unwrap_or_default(),
                    keys.join(","),
                    projection.unwrap_or_default()
                )
            })
            .collect();
        let declared_gsis: BTreeSet<String> = props
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|g| {
                let keys: Vec<String> = g["KeySchema"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|k| k["AttributeName"].as_str().unwrap().to_owned())
                    .collect();
                format!(
                    "{}:{}:{}",
                    g["IndexName"].as_str().unwrap(),
                    keys.join(","),
                    g["Projection"]["ProjectionType"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(live_gsis, declared_gsis, "{name} indexes");
        let ttl = ddb
            .describe_time_to_live()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let live_ttl = ttl
            .time_to_live_description()
            .filter(|d| d.time_to_live_status().map(|s| s.as_str()) == Some("ENABLED"))
            .and_then(|d| d.attribute_name().map(str::to_owned));
        let declared_ttl = props
            .get("TimeToLiveSpecification")
            .filter(|s| s["Enabled"].as_bool() == Some(true))
            .and_then(|s| s["AttributeName"].as_str().map(str::to_owned));
        assert_eq!(live_ttl, declared_ttl, "{name} TTL");
        // R35: encrypted at rest, recoverable.
        assert_eq!(
            props["SSESpecification"]["SSEEnabled"].as_bool(),
            Some(true),
            "{name} SSE"
        );
        assert_eq!(
            props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
            Some(true),
            "{name} PITR"
        );
    }
    // The mail identity exists, so SES accepts the sender.
    let from = &t.stack.envs["auth"]["MAIL_FROM"];
    t.stack
        .aws
        .ses()
        .get_email_identity()
        .email_identity(from)
        .send()
        .await
        .unwrap();
}

/// For every function: the variables its code reads are exactly the ones the template
/// gives it (besides `AWS_REGION`, which Lambda sets, and `AWS_ENDPOINT_URL`, which only
/// the local stack sets). `generate` and `deliver` get nothing of auth or moderation,
/// `auth` nothing of fal or Creem.
#[tokio::test(flavor = "multi_thread")]
async fn each_function_reads_exactly_the_variables_the_template_gives_it() {
    use shared::adapters::env::Env;
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let template = Template::load().unwrap();
    let functions = template.functions();
    let mut binaries: Vec<&str> = functions.iter().map(|(_, b)| b.as_str()).collect();
    binaries.sort();
    let mut declared: Vec<&str> = e2e_tests::local_stack::functions::DECLARED
        .iter()
        .map(|d| d.name)
        .collect();
    declared.sort();
    assert_eq!(binaries, declared);
    for (logical_id, binary) in functions {
        let given = template
            .function_environment(&logical_id, |id| t.stack.refs.refs.get(id).cloned())
            .unwrap();
        let mut env = given.clone();
        env.insert("AWS_REGION".into(), "eu-west-1".into());
        for (k, v) in t.stack.envs[&binary].iter() {
            if k.ends_with("_URL") {
                env.insert(k.clone(), v.clone());
            }
        }
        let env = Env::from_map(env)
            .with_parameters(t.stack.aws.ssm())
            .await
            .unwrap_or_else(|e| panic!("{binary}: {e}"));
        shared::edge::telemetry::filter(&env);
        shared::adapters::aws::AwsSettings::from_env(&env).unwrap();
        let base = &t.stack.base;
        let built = e2e_tests::local_stack::functions::check_build(&binary, base, &env)
            .unwrap_or_else(|| panic!("no such function {binary}"));
        built.unwrap_or_else(|e| panic!("{binary}: {e}"));
        // A secret `X` is given as `X_PARAMETER` (its Parameter Store name), never
        // itself: the environment never holds a secret.
        let secrets = env.secrets_read();
        let read: BTreeSet<String> = env
            .read_vars()
            .into_iter()
            .chain(secrets.iter().copied())
            .filter(|v| !["AWS_REGION", "AWS_ENDPOINT_URL"].contains(v))
            .map(|v| {
                if secrets.contains(v) {
                    format!("{v}_PARAMETER")
                } else {
                    v.to_owned()
                }
            })
            .collect();
        let given: BTreeSet<String> = given.into_keys().collect();
        assert_eq!(
            read, given,
            "{binary}: read by the code vs given by the template"
        );
        for secret in &secrets {
            assert!(
                !given.contains(*secret),
                "{binary}: {secret} as a plain variable"
            );
        }
        let secrets_of_others: &[&str] = match binary.as_str() {
            "generate" | "deliver" | "purge-expired" => &[
                "HASH_SECRET_PARAMETER",
                "GOOGLE_CLIENT_ID",
                "CREEM_API_KEY_PARAMETER",
            ],
            "auth" => &[
                "FAL_KEY_PARAMETER",
                "CREEM_API_KEY_PARAMETER",
                "VIDEO_PROVIDER",
            ],
            // It deletes the provider's copies of an erased person's videos (R16, R28),
            // and cancels the person's subscriptions at Creem first (R28).
            "privacy-requests" => &["GOOGLE_CLIENT_ID"],
            _ => &["FAL_KEY_PARAMETER"],
        };
        for s in secrets_of_others {
            assert!(!given.contains(*s), "{binary} is given {s}");
        }
    }
}

#[test]
fn r35_functions_are_arm64_on_provided_al2023_built_with_cargo_lambda() {
    let yaml: Value = Template::load().unwrap().root().clone();
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
        // Least privilege: no wildcard actions or resources.
        let policies = yaml_text(&resource["Properties"]["Policies"]);
        assert!(
            !policies.contains("dynamodb:*") && !policies.contains("Resource: '*'"),
            "{}",
            f.logical_id
        );
        assert!(
            !policies.contains("dynamodb:Scan"),
            "{}: no Scan on a request path",
            f.logical_id
        );
    }
}

fn template_yaml() -> Value {
    Template::load().unwrap().root().clone()
}

/// The lifecycle days of a bucket's expiry rule in the template.
fn expiry_days(template: &Value, bucket: &str) -> i64 {
    template["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|r| r["ExpirationInDays"].as_i64())
        .unwrap_or_else(|| panic!("{bucket} has no expiry rule"))
}

#[test]
fn r15_the_templates_lifecycle_rules_are_the_policys_retention() {
    let t = template_yaml();
    let p = shared::domain::policy::Policy::default();
    use shared::domain::policy::whole_days;
    assert_eq!(
        expiry_days(&t, "InputsBucket"),
        whole_days(p.input_retention) as i64
    );
    assert_eq!(
        expiry_days(&t, "OutputsBucket"),
        whole_days(p.output_retention) as i64
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

#[tokio::test(flavor = "multi_thread")]
async fn the_local_stack_creates_the_buckets_and_queues_the_template_declares() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let yaml = template_yaml();
    let s3 = &t.stack.aws.s3();
    for bucket in ["InputsBucket", "OutputsBucket"] {
        let name = t.bucket(bucket);
        let rules = s3
            .get_bucket_lifecycle_configuration()
            .bucket(&name)
            .send()
            .await
            .unwrap();
        let days: Vec<i32> = rules
            .rules()
            .iter()
            .filter_map(|r| r.expiration().and_then(|e| e.days()))
            .collect();
        assert_eq!(days, vec![expiry_days(&yaml, bucket) as i32], "{bucket}");
    }
    let notification = s3
        .get_bucket_notification_configuration()
        .bucket(t.bucket("OutputsBucket"))
        .send()
        .await
        .unwrap();
    let queues = notification.queue_configurations();
    assert_eq!(queues.len(), 1);
    assert_eq!(queues[0].queue_arn(), t.stack.refs.arns["DeliverQueue"]);
    let sqs = &t.stack.aws.sqs();
    for (queue, dlq) in [
        ("GenerateQueue", "GenerateDeadLetterQueue"),
        ("DeliverQueue", "DeliverDeadLetterQueue"),
    ] {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(t.table(queue))
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = attrs.attributes().unwrap();
        let declared = &yaml["Resources"][queue]["Properties"];
        assert_eq!(
            attrs[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
            declared["VisibilityTimeout"].as_u64().unwrap().to_string()
        );
        let redrive: serde_json::Value =
            serde_json::from_str(&attrs[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
                .unwrap();
        assert_eq!(
            redrive["deadLetterTargetArn"],
            t.stack.refs.arns[dlq].as_str()
        );
        assert_eq!(
            redrive["maxReceiveCount"].as_u64(),
            declared["RedrivePolicy"]["maxReceiveCount"].as_u64()
        );
    }
    // Every function's queue has a local consumer, as Lambda's event sources would.
    let mut functions: Vec<_> = t
        .stack
        .consumers
        .iter()
        .map(|c| c.function.clone())
        .collect();
    functions.sort();
    let template = Template::load().unwrap();
    let mut fed_by_queues: Vec<String> = template
        .functions()
        .into_iter()
        .filter(|(id, _)| {
            yaml["Resources"][id.as_str()]["Properties"]["Events"]
                .as_mapping()
                .into_iter()
                .flatten()
                .any(|(_, e)| e["Type"] == "SQS")
        })
        .map(|(_, binary)| binary)
        .collect();
    fed_by_queues.sort();
    assert_eq!(functions, fed_by_queues);
    assert!(functions.len() >= 2, "generate and deliver at least");
}

/// Every dependency a crate of the workspace lists is used by its code (one fewer crate
/// to build on two cores, and one fewer to audit).
#[test]
fn no_crate_lists_a_dependency_it_does_not_use() {
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members: Vec<String> = workspace
        .split("members = [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    assert!(members.len() >= 8, "{members:?}");
    for member in members {
        let dir = root().join(&member);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let mut in_deps = false;
        let mut deps = Vec::new();
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_deps = line == "[dependencies]" || line == "[dev-dependencies]";
                continue;
            }
            if in_deps
                && let Some(name) = line.split(['.', ' ', '=']).next()
                && !name.is_empty()
                && !name.starts_with('#')
            {
                deps.push(name.to_owned());
            }
        }
        let mut code = String::new();
        for sub in ["src", "tests"] {
            let mut stack = vec![dir.join(sub)];
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in entries {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "rs") {
                        code.push_str(&std::fs::read_to_string(&p).unwrap());
                    }
                }
            }
        }
        for dep in deps {
            let ident = dep.replace('-', "_");
            let used = code.contains(&format!("{ident}::"))
                || code.contains(&format!("use {ident}"))
                || code.contains(&format!("{ident}!"));
            assert!(used, "{member} lists {dep} but never uses it");
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
            Mechanism::S3Lifecycle { bucket } | Mechanism::PurgeAndS3Lifecycle { bucket } => {
                assert_eq!(
                    expiry_days(&t, bucket),
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
    let mut declared = BTreeSet::new();
    for r in template.resources() {
        if ["AWS::DynamoDB::Table", "AWS::S3::Bucket"].contains(&r.kind) {
            declared.insert(r.logical_id.to_owned());
            assert!(
                covered.contains(r.logical_id),
                "{} is not in the data inventory",
                r.logical_id
            );
        }
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
/// `Retain`ed but the rate-limits one (an hour of data); the buckets hold files kept
/// hours to days by their lifecycle rules and are not.
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
            "RateLimitsTable"
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
