//! Opaque page cursors: the last key of a page (two strings), as URL-safe base64 of a
//! JSON pair. A cursor names a position only; each listing checks what it decodes and
//! always queries the caller's own partition, so a cursor reaches nobody else's data.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::edge::problem::ApiError;

pub fn encode(first: &str, second: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!([first, second]).to_string())
}

/// The pair a cursor holds, or the API's refusal of a cursor it did not give out.
pub fn decode(cursor: &str) -> Result<(String, String), ApiError> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| not_ours())?;
    serde_json::from_slice(&raw).map_err(|_| not_ours())
}

pub fn not_ours() -> ApiError {
    ApiError::InvalidField("cursor is not one this API gave out".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let c = encode("vid_1", "2026-11-29T12:00:00.000Z");
        assert_eq!(
            decode(&c).unwrap(),
            ("vid_1".into(), "2026-11-29T12:00:00.000Z".into())
        );
        assert!(decode("not-a-cursor").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode("[1,2]")).is_err());
    }
}
