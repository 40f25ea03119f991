//! `GET /_local/dump`: everything the local stack stores, as plain JSON, so a person can
//! see what is kept (and what is not). Local only: it scans every table.

use std::sync::Arc;

use crate::raw_aws::RawAws;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use shared::edge::problem::{ApiError, unavailable};

pub struct Dump {
    aws: RawAws,
    /// (kind, logical id, local name or URL) of every declared resource.
    resources: Vec<(String, String, String)>,
}

impl Dump {
    pub fn new(aws: RawAws, resources: Vec<(String, String, String)>) -> Arc<Self> {
        Arc::new(Self { aws, resources })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/_local/dump", get(dump))
            .with_state(self.clone())
    }
}

fn plain(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!(s),
        AttributeValue::N(n) => n.parse::<f64>().map(|f| json!(f)).unwrap_or(json!(n)),
        AttributeValue::Bool(b) => json!(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(l) => Value::Array(l.iter().map(plain).collect()),
        AttributeValue::M(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        }
        AttributeValue::Ss(s) => json!(s),
        AttributeValue::Ns(n) => json!(n),
        other => json!(format!("{other:?}")),
    }
}

async fn dump(State(d): State<Arc<Dump>>) -> Result<Json<Value>, ApiError> {
    let mut tables = Map::new();
    let mut buckets = Map::new();
    let mut queues = Map::new();
    for (kind, logical, name) in &d.resources {
        match kind.as_str() {
            "AWS::DynamoDB::Table" => {
                let mut items = Vec::new();
                let mut start = None;
                loop {
                    let out = d
                        .aws
                        .dynamodb()
                        .scan()
                        .table_name(name)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(|e| {
                            unavailable(
                                "local_aws",
                                aws_sdk_dynamodb::error::DisplayErrorContext(e),
                            )
                        })?;
                    items.extend(out.items().iter().map(|i| {
                        Value::Object(i.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
                    }));
                    start = out.last_evaluated_key;
                    if start.is_none() {
                        break;
                    }
                }
                tables.insert(logical.clone(), Value::Array(items));
            }
            "AWS::S3::Bucket" => {
                let out = d
                    .aws
                    .s3()
                    .list_objects_v2()
                    .bucket(name)
                    .send()
                    .await
                    .map_err(|e| {
                        unavailable("local_aws", aws_sdk_s3::error::DisplayErrorContext(e))
                    })?;
                let mut objects = Vec::new();
                for o in out.contents() {
                    let key = o.key().unwrap_or_default();
                    let head = d
                        .aws
                        .s3()
                        .head_object()
                        .bucket(name)
                        .key(key)
                        .send()
                        .await
                        .ok();
                    objects.push(json!({
                        "key": key,
                        "size": o.size(),
                        "metadata": head.and_then(|h| h.metadata().cloned()).unwrap_or_default(),
                    }));
                }
                buckets.insert(logical.clone(), Value::Array(objects));
            }
            "AWS::SQS::Queue" => {
                let attrs = d
                    .aws
                    .sqs()
                    .get_queue_attributes()
                    .queue_url(name)
                    .attribute_names(
                        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        unavailable("local_aws", aws_sdk_sqs::error::DisplayErrorContext(e))
                    })?;
                let count = attrs
                    .attributes()
                    .and_then(|a| a.values().next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                queues.insert(logical.clone(), json!(count));
            }
            _ => {}
        }
    }
    Ok(Json(
        json!({ "tables": tables, "buckets": buckets, "queues": queues }),
    ))
}
