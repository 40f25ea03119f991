//! The local stack creates exactly what the template declares, and each function
//! reads exactly the variables the template gives it.

use std::collections::BTreeSet;

use e2e_tests::TestStack;
use e2e_tests::local_stack::template::{Template, Value};
use e2e_tests::template_yaml;

use crate::infra_template::expiry_days;

fn names(v: &[&Value], field: &str) -> BTreeSet<String> {
    v.iter()
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
        // What the conditions keep under the parameters' defaults, as on a new stack.
        let kept = |key: &str| {
            props
                .get(key)
                .map(|list| template.list_items(list, &|_| None).unwrap())
                .unwrap_or_default()
        };
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
            names(
                &props["KeySchema"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .collect::<Vec<_>>(),
                "KeyType"
            ),
            "{name} keys"
        );
        let attrs: BTreeSet<String> = d
            .attribute_definitions()
            .iter()
            .map(|a| format!("{}:{}", a.attribute_name(), a.attribute_type().as_str()))
            .collect();
        assert_eq!(
            attrs,
            names(&kept("AttributeDefinitions"), "AttributeType"),
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
                let mut projected: Vec<&str> = g
                    .projection()
                    .map(|p| p.non_key_attributes().iter().map(String::as_str).collect())
                    .unwrap_or_default();
                projected.sort_unstable();
                format!(
                    "{}:{}:{}:{}",
                    g.index_name().unwrap_or_default(),
                    keys.join(","),
                    projection.unwrap_or_default(),
                    projected.join(",")
                )
            })
            .collect();
        let declared_gsis: BTreeSet<String> = kept("GlobalSecondaryIndexes")
            .into_iter()
            .map(|g| {
                let keys: Vec<String> = g["KeySchema"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|k| k["AttributeName"].as_str().unwrap().to_owned())
                    .collect();
                let mut projected: Vec<&str> = g["Projection"]["NonKeyAttributes"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|a| a.as_str().unwrap())
                    .collect();
                projected.sort_unstable();
                format!(
                    "{}:{}:{}:{}",
                    g["IndexName"].as_str().unwrap(),
                    keys.join(","),
                    g["Projection"]["ProjectionType"].as_str().unwrap(),
                    projected.join(",")
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
        for rule in rules.rules() {
            let prefix = rule.filter().and_then(|f| f.prefix()).unwrap_or_default();
            let days = rule.expiration().and_then(|e| e.days());
            assert_eq!(
                days,
                Some(expiry_days(&yaml, bucket, prefix) as i32),
                "{bucket} {prefix}"
            );
        }
        let declared = yaml["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
            .as_sequence()
            .map_or(0, Vec::len);
        assert_eq!(rules.rules().len(), declared, "{bucket}");
    }
    let notification = s3
        .get_bucket_notification_configuration()
        .bucket(t.bucket("OutputsBucket"))
        .send()
        .await
        .unwrap();
    // Staged files go to `stamp`, stamped outputs to `deliver`.
    let routes: Vec<(String, String)> = notification
        .queue_configurations()
        .iter()
        .map(|q| {
            let prefix = q
                .filter()
                .and_then(|f| f.key())
                .map(|k| k.filter_rules())
                .and_then(|rules| rules.first())
                .and_then(|r| r.value())
                .unwrap_or_default()
                .to_owned();
            (prefix, q.queue_arn().to_owned())
        })
        .collect();
    assert_eq!(
        routes,
        vec![
            (
                "staging/".to_owned(),
                t.stack.refs.arns["StampQueue"].clone()
            ),
            (
                "videos/".to_owned(),
                t.stack.refs.arns["DeliverQueue"].clone()
            ),
        ]
    );
    let sqs = &t.stack.aws.sqs();
    for (queue, dlq) in [
        ("GenerateQueue", "GenerateDeadLetterQueue"),
        ("StampQueue", "StampDeadLetterQueue"),
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
                "VIDEO_PROVIDERS",
                "REPLICATE_API_TOKEN_PARAMETER",
            ],
            // It deletes the provider's copies of an erased person's videos (R16, R28),
            // and cancels the person's subscriptions at Creem first (R28).
            "privacy-requests" => &["GOOGLE_CLIENT_ID"],
            _ => &["FAL_KEY_PARAMETER", "REPLICATE_API_TOKEN_PARAMETER"],
        };
        for s in secrets_of_others {
            assert!(!given.contains(*s), "{binary} is given {s}");
        }
    }
}
