//! Creates on the local AWS endpoint every table and mail identity the template
//! declares, with the same keys, indexes and TTL. Safe to run again: what exists is kept.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use std::collections::{BTreeMap, HashMap};

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, Event, ExpirationStatus, FilterRule, FilterRuleName,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_norway::Value;
use shared::adapters::aws::AwsClients;

use crate::template::Template;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{resource}: {message}")]
    Resource { resource: String, message: String },
}

fn err(resource: &str, message: impl std::fmt::Display) -> ProvisionError {
    ProvisionError::Resource {
        resource: resource.to_owned(),
        message: message.to_string(),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn key_schema(v: &Value) -> Vec<KeySchemaElement> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(str_of(k, "AttributeName")?)
                .key_type(KeyType::from(str_of(k, "KeyType")?))
                .build()
                .ok()
        })
        .collect()
}

/// A table's attribute definitions and indexes, as the template's conditions keep them.
pub struct Chosen<'a> {
    pub attributes: Vec<&'a Value>,
    pub indexes: Vec<&'a Value>,
}

/// Creates one table from its template properties under `name`.
pub async fn create_table(
    ddb: &aws_sdk_dynamodb::Client,
    logical_id: &str,
    name: &str,
    props: &Value,
    chosen: &Chosen<'_>,
) -> Result<(), ProvisionError> {
    let attributes = chosen
        .attributes
        .iter()
        .filter_map(|a| {
            AttributeDefinition::builder()
                .attribute_name(str_of(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(str_of(a, "AttributeType")?))
                .build()
                .ok()
        })
        .collect::<Vec<_>>();
    let mut req = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(
            props.get("KeySchema").unwrap_or(&Value::Null),
        )));
    for gsi in chosen.indexes.iter().copied() {
        let projection = gsi.get("Projection");
        let projected = projection
            .and_then(|p| p.get("NonKeyAttributes"))
            .and_then(Value::as_sequence)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            });
        let projection = projection
            .and_then(|p| str_of(p, "ProjectionType"))
            .unwrap_or("ALL");
        let index = GlobalSecondaryIndex::builder()
            .index_name(str_of(gsi, "IndexName").unwrap_or_default())
            .set_key_schema(Some(key_schema(
                gsi.get("KeySchema").unwrap_or(&Value::Null),
            )))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(projection))
                    .set_non_key_attributes(projected)
                    .build(),
            )
            .build()
            .map_err(|e| err(logical_id, e))?;
        req = req.global_secondary_indexes(index);
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => {
            return Err(err(
                logical_id,
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            ));
        }
    }
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(str_of(ttl, "AttributeName").unwrap_or("ttl"))
            .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
            .build()
            .map_err(|e| err(logical_id, e))?;
        // Setting the same TTL twice is refused by DynamoDB; that is fine here.
        let _ = ddb
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await;
    }
    Ok(())
}

/// What a `!Ref` or `!GetAtt X.Arn` of a resource gives locally.
#[derive(Debug, Clone, Default)]
pub struct Refs {
    /// `!Ref`: a table's or bucket's name, a queue's URL, a parameter's value.
    pub refs: BTreeMap<String, String>,
    /// `!GetAtt X.Arn`.
    pub arns: BTreeMap<String, String>,
}

impl Refs {
    pub fn resolve(&self, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Tagged(t) if t.tag == "!Ref" => self.refs.get(t.value.as_str()?).cloned(),
            Value::Tagged(t) if t.tag == "!GetAtt" => {
                let target = t.value.as_str()?;
                self.arns.get(target.strip_suffix(".Arn")?).cloned()
            }
            _ => None,
        }
    }
}

/// The physical name of a resource: `{prefix}-{LogicalId}`, lower-cased for buckets
/// (S3 allows nothing else).
pub fn physical_name(prefix: &str, kind: &str, logical_id: &str) -> String {
    let name = format!("{prefix}-{logical_id}");
    if kind == "AWS::S3::Bucket" {
        name.to_lowercase()
    } else {
        name
    }
}

/// Creates everything the template declares (tables, queues, buckets, mail
/// identities), under names from [`physical_name`]; `parameters` gives the local value
/// of each template parameter. Returns what each resource's `!Ref` and `Arn` resolve to.
pub async fn provision(
    template: &Template,
    aws: &crate::raw_aws::RawAws,
    prefix: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<Refs, ProvisionError> {
    let mut refs = Refs {
        refs: parameters.clone(),
        arns: BTreeMap::new(),
    };
    for table in template.resources_of("AWS::DynamoDB::Table") {
        let name = physical_name(prefix, table.kind, table.logical_id);
        // The definitions and indexes the template's conditions keep, under the local
        // parameters.
        let param = |p: &str| parameters.get(p).cloned();
        let list = |key: &str| match table.properties.get(key) {
            None => Ok(Vec::new()),
            Some(list) => template.list_items(list, &param).ok_or_else(|| {
                err(
                    table.logical_id,
                    format!("a condition of {key} cannot be read"),
                )
            }),
        };
        let chosen = Chosen {
            attributes: list("AttributeDefinitions")?,
            indexes: list("GlobalSecondaryIndexes")?,
        };
        create_table(
            aws.dynamodb(),
            table.logical_id,
            &name,
            table.properties,
            &chosen,
        )
        .await?;
        refs.refs.insert(table.logical_id.to_owned(), name);
    }
    let queues = template.resources_of("AWS::SQS::Queue");
    for queue in &queues {
        let name = physical_name(prefix, queue.kind, queue.logical_id);
        let url = aws
            .sqs()
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .map_err(|e| err(queue.logical_id, aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .queue_url
            .unwrap_or_default();
        let arn = aws
            .sqs()
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| err(queue.logical_id, aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .unwrap_or_default();
        refs.refs.insert(queue.logical_id.to_owned(), url);
        refs.arns.insert(queue.logical_id.to_owned(), arn);
    }
    // Attributes second: a redrive policy names another queue's ARN.
    for queue in &queues {
        let mut attributes = HashMap::new();
        for (prop, attr) in [
            ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
            (
                "MessageRetentionPeriod",
                QueueAttributeName::MessageRetentionPeriod,
            ),
        ] {
            if let Some(v) = queue.properties.get(prop).and_then(Value::as_u64) {
                attributes.insert(attr, v.to_string());
            }
        }
        if let Some(redrive) = queue.properties.get("RedrivePolicy") {
            let target = redrive
                .get("deadLetterTargetArn")
                .and_then(|v| refs.resolve(v))
                .ok_or_else(|| err(queue.logical_id, "deadLetterTargetArn has no local value"))?;
            let max = redrive
                .get("maxReceiveCount")
                .and_then(Value::as_u64)
                .unwrap_or(5);
            attributes.insert(
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({ "deadLetterTargetArn": target, "maxReceiveCount": max })
                    .to_string(),
            );
        }
        if !attributes.is_empty() {
            aws.sqs()
                .set_queue_attributes()
                .queue_url(&refs.refs[queue.logical_id])
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(|e| err(queue.logical_id, aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        }
    }
    for bucket in template.resources_of("AWS::S3::Bucket") {
        let name = physical_name(prefix, bucket.kind, bucket.logical_id);
        create_bucket(aws, bucket.logical_id, &name, bucket.properties, &refs).await?;
        refs.arns
            .insert(bucket.logical_id.to_owned(), format!("arn:aws:s3:::{name}"));
        refs.refs.insert(bucket.logical_id.to_owned(), name);
    }
    // Signing keys (ECC, SIGN_VERIFY): the local endpoint signs as KMS does.
    for key in template.resources_of("AWS::KMS::Key") {
        let spec = str_of(key.properties, "KeySpec").unwrap_or("SYMMETRIC_DEFAULT");
        let usage = str_of(key.properties, "KeyUsage").unwrap_or("ENCRYPT_DECRYPT");
        let made = aws
            .kms()
            .create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::from(spec))
            .key_usage(aws_sdk_kms::types::KeyUsageType::from(usage))
            .description(physical_name(prefix, key.kind, key.logical_id))
            .send()
            .await
            .map_err(|e| err(key.logical_id, aws_sdk_kms::error::DisplayErrorContext(e)))?
            .key_metadata
            .ok_or_else(|| err(key.logical_id, "no key metadata"))?;
        refs.refs
            .insert(key.logical_id.to_owned(), made.key_id().to_owned());
        refs.arns.insert(
            key.logical_id.to_owned(),
            made.arn().unwrap_or_default().to_owned(),
        );
    }
    for identity in template.resources_of("AWS::SES::EmailIdentity") {
        let address = identity
            .properties
            .get("EmailIdentity")
            .and_then(|v| refs.resolve(v))
            .ok_or_else(|| err(identity.logical_id, "EmailIdentity has no local value"))?;
        match aws
            .ses()
            .create_email_identity()
            .email_identity(address)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) => {}
            Err(e) => {
                return Err(err(
                    identity.logical_id,
                    aws_sdk_sesv2::error::DisplayErrorContext(e),
                ));
            }
        }
    }
    Ok(refs)
}

async fn create_bucket(
    aws: &AwsClients,
    logical_id: &str,
    name: &str,
    props: &Value,
    refs: &Refs,
) -> Result<(), ProvisionError> {
    let region = aws
        .s3()
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let mut create = aws.s3().create_bucket().bucket(name);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) => {}
        Err(e) => return Err(err(logical_id, aws_sdk_s3::error::DisplayErrorContext(e))),
    }
    let rules = props
        .get("LifecycleConfiguration")
        .and_then(|l| l.get("Rules"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|r| {
            let mut rule = LifecycleRule::builder()
                .id(str_of(r, "Id").unwrap_or("rule"))
                .status(ExpirationStatus::from(
                    str_of(r, "Status").unwrap_or("Enabled"),
                ))
                .filter(
                    LifecycleRuleFilter::builder()
                        .prefix(str_of(r, "Prefix").unwrap_or_default())
                        .build(),
                );
            if let Some(days) = r.get("ExpirationInDays").and_then(Value::as_i64) {
                rule = rule.expiration(LifecycleExpiration::builder().days(days as i32).build());
            }
            if let Some(days) = r
                .get("AbortIncompleteMultipartUpload")
                .and_then(|a| a.get("DaysAfterInitiation"))
                .and_then(Value::as_i64)
            {
                rule = rule.abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(days as i32)
                        .build(),
                );
            }
            rule.build().map_err(|e| err(logical_id, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !rules.is_empty() {
        aws.s3()
            .put_bucket_lifecycle_configuration()
            .bucket(name)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .map_err(|e| err(logical_id, e))?,
            )
            .send()
            .await
            .map_err(|e| err(logical_id, aws_sdk_s3::error::DisplayErrorContext(e)))?;
    }
    put_cors(aws, logical_id, name, props, refs).await?;
    let queue_configs = props
        .get("NotificationConfiguration")
        .and_then(|n| n.get("QueueConfigurations"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|q| {
            let arn = q
                .get("Queue")
                .and_then(|v| refs.resolve(v))
                .ok_or_else(|| err(logical_id, "notification queue has no local value"))?;
            let mut config = QueueConfiguration::builder()
                .queue_arn(arn)
                .events(Event::from(
                    str_of(q, "Event").unwrap_or("s3:ObjectCreated:*"),
                ));
            let key_rules = q
                .get("Filter")
                .and_then(|f| f.get("S3Key"))
                .and_then(|k| k.get("Rules"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(|r| {
                    FilterRule::builder()
                        .name(FilterRuleName::from(str_of(r, "Name").unwrap_or("prefix")))
                        .value(str_of(r, "Value").unwrap_or_default())
                        .build()
                })
                .collect::<Vec<_>>();
            if !key_rules.is_empty() {
                config = config.filter(
                    NotificationConfigurationFilter::builder()
                        .key(
                            S3KeyFilter::builder()
                                .set_filter_rules(Some(key_rules))
                                .build(),
                        )
                        .build(),
                );
            }
            config.build().map_err(|e| err(logical_id, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !queue_configs.is_empty() {
        aws.s3()
            .put_bucket_notification_configuration()
            .bucket(name)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .set_queue_configurations(Some(queue_configs))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| err(logical_id, aws_sdk_s3::error::DisplayErrorContext(e)))?;
    }
    Ok(())
}

/// The bucket's `CorsConfiguration`, origins resolved (the site's, locally the stack's
/// own URL): what lets a page PUT an upload straight to the bucket.
async fn put_cors(
    aws: &AwsClients,
    logical_id: &str,
    name: &str,
    props: &Value,
    refs: &Refs,
) -> Result<(), ProvisionError> {
    let Some(rules) = props
        .get("CorsConfiguration")
        .and_then(|c| c.get("CorsRules"))
        .and_then(Value::as_sequence)
    else {
        return Ok(());
    };
    let strings = |rule: &Value, key: &str| -> Vec<String> {
        rule.get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|v| refs.resolve(v))
            .collect()
    };
    let mut cors = aws_sdk_s3::types::CorsConfiguration::builder();
    for rule in rules {
        let mut r = aws_sdk_s3::types::CorsRule::builder()
            .set_allowed_methods(Some(strings(rule, "AllowedMethods")))
            .set_allowed_origins(Some(strings(rule, "AllowedOrigins")))
            .set_allowed_headers(Some(strings(rule, "AllowedHeaders")));
        if let Some(age) = rule.get("MaxAge").and_then(Value::as_i64) {
            r = r.max_age_seconds(age as i32);
        }
        cors = cors.cors_rules(r.build().map_err(|e| err(logical_id, e))?);
    }
    aws.s3()
        .put_bucket_cors()
        .bucket(name)
        .cors_configuration(cors.build().map_err(|e| err(logical_id, e))?)
        .send()
        .await
        .map_err(|e| err(logical_id, aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}
