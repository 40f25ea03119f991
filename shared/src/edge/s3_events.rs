//! S3 event notifications as they arrive in SQS message bodies (`stamp`, `deliver`),
//! read tolerantly: only the fields used, so both real S3's events and the local
//! endpoint's (which lack `userIdentity`, `requestParameters` and a time zone on
//! `eventTime`) are accepted.

use serde::Deserialize;
use tracing::Instrument;

use super::queue_batch::StepError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// Decoded: S3 form-encodes keys in events (`/` as `%2F`, space as `+`).
    pub key: String,
    pub size: Option<u64>,
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
    #[serde(rename = "Event")]
    event: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
    size: Option<u64>,
}

/// The created objects a notification names; none for `s3:TestEvent` (sent when a
/// notification is configured) and for other event kinds.
pub fn parse_notification(body: &str) -> Result<Vec<ObjectCreated>, String> {
    let n: Notification =
        serde_json::from_str(body).map_err(|e| format!("not an S3 notification: {e}"))?;
    if n.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    n.records
        .into_iter()
        .filter(|r| r.event_name.starts_with("ObjectCreated"))
        .map(|r| {
            Ok(ObjectCreated {
                bucket: r.s3.bucket.name,
                key: form_decode(&r.s3.object.key).ok_or("object key is not form-encoded UTF-8")?,
                size: r.s3.object.size,
            })
        })
        .collect()
}

/// Runs `step` on each object the S3 notification in `body` names, one after another,
/// each in a span naming its job (`job_of` reads the job id from the key). An
/// unreadable body is dropped: retrying cannot help.
pub async fn for_each_object<F, Fut>(
    body: Option<&str>,
    job_of: fn(&str) -> Option<&str>,
    mut step: F,
) -> Result<(), StepError>
where
    F: FnMut(ObjectCreated) -> Fut,
    Fut: std::future::Future<Output = Result<(), StepError>>,
{
    let objects = parse_notification(body.unwrap_or_default()).map_err(StepError::Drop)?;
    for object in objects {
        let span = tracing::info_span!("job", job_id = job_of(&object.key).unwrap_or_default());
        step(object).instrument(span).await?;
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
pub fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_form_decoded() {
        assert_eq!(
            form_decode("videos%2Fvid_1.mp4").as_deref(),
            Some("videos/vid_1.mp4")
        );
        assert_eq!(form_decode("a+b%20c").as_deref(), Some("a b c"));
        assert_eq!(form_decode("bad%2"), None);
        assert_eq!(form_decode("%FF"), None);
    }

    #[test]
    fn test_events_and_other_kinds_name_no_objects() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-29T12:00:00.000Z","Bucket":"b","RequestId":"x","HostId":"y"}"#;
        assert_eq!(parse_notification(test).unwrap(), vec![]);
        let removed = r#"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;
        assert_eq!(parse_notification(removed).unwrap(), vec![]);
        assert!(parse_notification("not json").is_err());
    }
}
