//! The JSON body extractor: content type, size limit and parse errors all answered
//! as problem+json (R38), before a handler runs and so before anything changes.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::domain::policy::MAX_BODY_BYTES;
use crate::edge::problem::ApiError;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_limited(req.into_body()).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Reads a whole body, refusing one over the API's limit without buffering it all.
pub async fn read_limited(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))
}

/// Parses a request body, which must be a JSON object: serde would also read a struct
/// from an array of its fields (`[null, null]`), which no body of this API is. The
/// first byte tells, so the body is parsed once.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let classify = |e: serde_json::Error| match e.classify() {
        Category::Data => ApiError::InvalidField(describe_data_error(&e)),
        Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson,
    };
    let first = bytes.iter().find(|b| !b" \t\r\n".contains(b));
    if first != Some(&b'{') {
        // Valid JSON of another kind is the wrong type; anything else is malformed.
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(classify)?;
        return Err(ApiError::InvalidField(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(classify)
}

/// serde's message without the position suffix; it names the field and the expected
/// type. The answer goes only to the caller who sent the value, never to the logs.
fn describe_data_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// A whole number, also when written as a float with no fraction (`14141.0`): JSON
/// Schema's `integer` accepts those, so the API does too.
pub fn whole<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::Deserialize;
    use serde::de::Error;
    let n = serde_json::Number::deserialize(d)?;
    let value = match (n.as_u64(), n.as_f64()) {
        (Some(u), _) => Some(u),
        (None, Some(f)) if f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&f) => {
            Some(f as u64)
        }
        _ => None,
    };
    value
        .and_then(|u| T::try_from(u).ok())
        .ok_or_else(|| D::Error::custom(format!("expected a whole number in range, got {n}")))
}

/// [`whole`] for an optional field (absent or null is `None`).
pub fn whole_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    #[derive(serde::Deserialize)]
    struct Whole<T: TryFrom<u64>>(#[serde(deserialize_with = "whole")] T);
    use serde::Deserialize;
    Ok(Option::<Whole<T>>::deserialize(d)?.map(|Whole(v)| v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Sized {
        #[serde(deserialize_with = "whole")]
        size: u64,
        #[serde(default, deserialize_with = "whole_opt")]
        seconds: Option<u32>,
    }

    #[test]
    fn r38_a_body_must_be_an_object() {
        assert!(matches!(
            parse_json::<Sized>(b" [14141, null]"),
            Err(ApiError::InvalidField(_))
        ));
        assert!(matches!(
            parse_json::<Sized>(b"[14141,"),
            Err(ApiError::MalformedJson)
        ));
        assert!(matches!(
            parse_json::<Sized>(b""),
            Err(ApiError::MalformedJson)
        ));
        assert!(parse_json::<Sized>(b"\n {\"size\": 1}").is_ok());
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats_without_fraction() {
        let s: Sized = parse_json(br#"{"size": 14141.0, "seconds": 6}"#).unwrap();
        assert_eq!((s.size, s.seconds), (14141, Some(6)));
        let s: Sized = parse_json(br#"{"size": 1, "seconds": null}"#).unwrap();
        assert_eq!(s.seconds, None);
        for bad in [
            r#"{"size": 1.5}"#,
            r#"{"size": -1}"#,
            r#"{"size": "1"}"#,
            r#"{"size": 1, "seconds": 5000000000}"#,
        ] {
            assert!(
                matches!(
                    parse_json::<Sized>(bad.as_bytes()),
                    Err(ApiError::InvalidField(_))
                ),
                "{bad}"
            );
        }
    }
}
