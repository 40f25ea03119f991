//! Which AWS actions each function calls, on which resources: recorded by the local
//! stack (never in Lambda) so that a test can hold every function's IAM policy to what
//! its code does — no action it does not call, and every action it calls.
//!
//! The caller is the function whose handler runs: the local stack runs each one inside
//! [`CALLER`]'s scope. Calls are recorded when signed, so presigned links count too
//! (they act with the signer's permissions).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

tokio::task_local! {
    /// The function (binary name) whose handler is running.
    pub static CALLER: &'static str;
}

/// One IAM action on one resource: `("dynamodb:PutItem", "table/NAME")`,
/// `("s3:GetObject", "bucket/NAME/KEY")`, `("sqs:SendMessage", "queue/NAME")`, …
pub type Call = (String, String);

#[derive(Clone, Debug, Default)]
pub struct CallLog(Arc<Mutex<BTreeMap<String, BTreeSet<Call>>>>);

impl CallLog {
    /// Every function's calls so far.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeSet<Call>> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Notes calls made on a function's behalf outside its handlers (the secrets its
    /// start reads from Parameter Store).
    pub fn note(&self, caller: &str, calls: impl IntoIterator<Item = Call>) {
        if let Ok(mut m) = self.0.lock() {
            m.entry(caller.to_owned()).or_default().extend(calls);
        }
    }

    fn record(&self, calls: Vec<Call>) {
        let Ok(caller) = CALLER.try_with(|c| *c) else {
            return;
        };
        if let Ok(mut m) = self.0.lock() {
            m.entry(caller.to_owned()).or_default().extend(calls);
        }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_signing(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if CALLER.try_with(|_| ()).is_err() {
            return Ok(());
        }
        let r = context.request();
        let target = r.headers().get("x-amz-target").unwrap_or_default();
        let body: serde_json::Value = r
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        self.record(calls_of(r.method(), r.uri(), target, &body));
        Ok(())
    }
}

/// The IAM actions and resources of one request.
fn calls_of(method: &str, uri: &str, target: &str, body: &serde_json::Value) -> Vec<Call> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    if let Some(op) = target.strip_prefix("DynamoDB_20120810.") {
        if op == "TransactWriteItems" {
            return body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let (kind, inner) = item.as_object()?.iter().next()?;
                    let action = match kind.as_str() {
                        "Put" => "PutItem",
                        "Update" => "UpdateItem",
                        "Delete" => "DeleteItem",
                        _ => "ConditionCheckItem",
                    };
                    Some((
                        format!("dynamodb:{action}"),
                        format!("table/{}", s(&inner["TableName"])),
                    ))
                })
                .collect();
        }
        if op == "BatchWriteItem" {
            return body["RequestItems"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(t, _)| ("dynamodb:BatchWriteItem".to_owned(), format!("table/{t}")))
                .collect();
        }
        let mut resource = format!("table/{}", s(&body["TableName"]));
        if let Some(index) = body["IndexName"].as_str() {
            resource.push_str(&format!("/index/{index}"));
        }
        return vec![(format!("dynamodb:{op}"), resource)];
    }
    if let Some(op) = target.strip_prefix("AmazonSQS.") {
        let queue = s(&body["QueueUrl"])
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let action = if op == "DeleteMessageBatch" {
            "DeleteMessage"
        } else {
            op
        };
        return vec![(format!("sqs:{action}"), format!("queue/{queue}"))];
    }
    if let Some(op) = target.strip_prefix("TrentService.") {
        return vec![(format!("kms:{op}"), format!("key/{}", s(&body["KeyId"])))];
    }
    if let Some(op) = target.strip_prefix("RekognitionService.") {
        // No resource of its own (`*`); the image is read from S3 with the caller's
        // own permission, so that read is the caller's too.
        let object = &body["Image"]["S3Object"];
        let mut calls = vec![(format!("rekognition:{op}"), "*".to_owned())];
        if object.is_object() {
            calls.push((
                "s3:GetObject".to_owned(),
                format!("bucket/{}/{}", s(&object["Bucket"]), s(&object["Name"])),
            ));
        }
        return calls;
    }
    if let Some(op) = target.strip_prefix("AmazonSSM.") {
        return body["Names"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| (format!("ssm:{op}"), format!("parameter{}", s(n))))
            .collect();
    }
    let (path, query) = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p))
        .split_once('?')
        .map_or((uri_path(uri), ""), |(p, q)| (p, q));
    if path.starts_with("v2/email/outbound-emails") {
        return vec![(
            "ses:SendEmail".to_owned(),
            format!("identity/{}", s(&body["FromEmailAddress"])),
        )];
    }
    // S3, path-style (the local endpoint): bucket/key.
    let action = match (method, query) {
        ("DELETE", q) if q.contains("uploadId") => "s3:AbortMultipartUpload",
        ("DELETE", _) => "s3:DeleteObject",
        // ListObjectsV2 is allowed by `s3:ListBucket` on the bucket.
        ("GET", q) if q.contains("list-type=2") => "s3:ListBucket",
        ("GET" | "HEAD", _) => "s3:GetObject",
        _ => "s3:PutObject",
    };
    // A listing names the bucket alone (`GET /NAME/?list-type=2`).
    let path = if action == "s3:ListBucket" {
        path.trim_end_matches('/')
    } else {
        path
    };
    vec![(action.to_owned(), format!("bucket/{path}"))]
}

fn uri_path(uri: &str) -> &str {
    uri.split_once("://")
        .map_or(uri, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_map_to_iam_actions_and_resources() {
        let t = calls_of(
            "POST",
            "http://x/",
            "DynamoDB_20120810.TransactWriteItems",
            &json!({"TransactItems": [{"Put": {"TableName": "a"}}, {"ConditionCheck": {"TableName": "b"}}]}),
        );
        assert_eq!(t[0], ("dynamodb:PutItem".into(), "table/a".into()));
        assert_eq!(
            t[1],
            ("dynamodb:ConditionCheckItem".into(), "table/b".into())
        );
        let q = calls_of(
            "POST",
            "http://x/",
            "DynamoDB_20120810.Query",
            &json!({"TableName": "v", "IndexName": "by_account"}),
        );
        assert_eq!(q[0].1, "table/v/index/by_account");
        let s3 = calls_of("HEAD", "http://x/bucket/videos/a.mp4", "", &json!(null));
        assert_eq!(
            s3[0],
            ("s3:GetObject".into(), "bucket/bucket/videos/a.mp4".into())
        );
        let up = calls_of(
            "PUT",
            "http://x/b/k?partNumber=1&uploadId=9",
            "",
            &json!(null),
        );
        assert_eq!(up[0].0, "s3:PutObject");
        let screened = calls_of(
            "POST",
            "http://x/",
            "RekognitionService.DetectFaces",
            &json!({"Image": {"S3Object": {"Bucket": "in", "Name": "uploads/a"}}}),
        );
        assert_eq!(
            screened,
            vec![
                ("rekognition:DetectFaces".into(), "*".into()),
                ("s3:GetObject".into(), "bucket/in/uploads/a".into())
            ]
        );
    }
}
