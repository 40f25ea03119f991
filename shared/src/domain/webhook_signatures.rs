//! How a webhook call is authenticated (R10, R13): Creem's own `creem-signature` and
//! Standard Webhooks (which Creem may send, and Replicate sends), checked in constant
//! time on the raw bytes the caller received. Plain Rust: no I/O.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::crypto::constant_time_eq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature")]
    Missing,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
}

/// Headers of a webhook call that sign it.
#[derive(Debug, Default, Clone)]
pub struct SignatureHeaders<'a> {
    /// `creem-signature`: lowercase hex HMAC-SHA256 of the body, keyed by the whole
    /// secret string.
    pub creem: Option<&'a str>,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signatures: Option<&'a str>,
}

/// Standard Webhooks' tolerance for the timestamp, each way.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// Checks a webhook's signature on its raw body, in constant time. Standard Webhooks
/// headers, when present, decide; otherwise `creem-signature` does (no timestamp:
/// replays are answered by the event id's dedup).
pub fn verify(
    secret: &str,
    body: &[u8],
    headers: &SignatureHeaders<'_>,
    now_epoch: i64,
) -> Result<(), SignatureError> {
    if let (Some(id), Some(ts), Some(sigs)) = (headers.id, headers.timestamp, headers.signatures) {
        let ts_n: i64 = ts.trim().parse().map_err(|_| SignatureError::Mismatch)?;
        if (now_epoch - ts_n).abs() > TIMESTAMP_TOLERANCE_SECS {
            return Err(SignatureError::Stale);
        }
        let key = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = STANDARD.decode(key).map_err(|_| SignatureError::Mismatch)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected = STANDARD.encode(mac.finalize().into_bytes());
        let matches = sigs.split_whitespace().any(|s| {
            s.strip_prefix("v1,")
                .is_some_and(|sig| constant_time_eq(sig.as_bytes(), expected.as_bytes()))
        });
        return if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        };
    }
    let given = headers.creem.ok_or(SignatureError::Missing)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    // Unequal lengths (truncated, empty, not hex) fail here without a shortcut on content.
    if constant_time_eq(given.trim().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `creem-signature` of a body (for the emulator and tests).
pub fn creem_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The Standard Webhooks `webhook-signature` of a body (for the emulator and tests).
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .unwrap_or_default();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=";

    #[test]
    fn r10_creem_signatures_match_only_the_exact_body() {
        let body = br#"{"id":"evt_1","eventType":"checkout.completed"}"#;
        let sig = creem_signature(SECRET, body);
        let ok = SignatureHeaders {
            creem: Some(&sig),
            ..Default::default()
        };
        assert_eq!(verify(SECRET, body, &ok, 0), Ok(()));
        assert_eq!(verify(SECRET, b"{}", &ok, 0), Err(SignatureError::Mismatch));
        for bad in ["", "00", &sig[..63], "zz", &format!("{sig}0")] {
            let h = SignatureHeaders {
                creem: Some(bad),
                ..Default::default()
            };
            assert_eq!(
                verify(SECRET, body, &h, 0),
                Err(SignatureError::Mismatch),
                "{bad:?}"
            );
        }
        assert_eq!(
            verify(SECRET, body, &SignatureHeaders::default(), 0),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn r10_standard_webhooks_signatures_and_their_tolerance() {
        let body = br#"{"id":"evt_2"}"#;
        let now = 1_800_000_000;
        let sig = standard_signature(SECRET, "msg_1", now, body);
        let ts = now.to_string();
        let h = SignatureHeaders {
            id: Some("msg_1"),
            timestamp: Some(&ts),
            signatures: Some(&sig),
            creem: None,
        };
        assert_eq!(verify(SECRET, body, &h, now + 10), Ok(()));
        assert_eq!(
            verify(SECRET, body, &h, now + 301),
            Err(SignatureError::Stale)
        );
        let other = SignatureHeaders {
            id: Some("msg_2"),
            ..h.clone()
        };
        assert_eq!(
            verify(SECRET, body, &other, now),
            Err(SignatureError::Mismatch)
        );
        // Several signatures: one valid is enough.
        let many = format!("v1,AAAA {sig}");
        let h2 = SignatureHeaders {
            signatures: Some(&many),
            ..h
        };
        assert_eq!(verify(SECRET, body, &h2, now), Ok(()));
    }
}
