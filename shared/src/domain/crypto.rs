//! Random secrets and the hashes they are stored as. Plain Rust, no I/O.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of session tokens, so a leaked one is easy to recognise by secret scanners.
pub const SESSION_TOKEN_PREFIX: &str = "s2s_";

/// A new session token: 256 random bits from the OS-seeded CSPRNG (R05).
pub fn new_session_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    format!("{SESSION_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A six-digit sign-in code, uniformly drawn (R02).
pub fn new_sign_in_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// SHA-256 of a high-entropy secret (a session token). A plain hash is enough because
/// the input cannot be guessed.
pub fn sha256_hex(input: &str) -> String {
    hex::encode(Sha256::digest(input.as_bytes()))
}

/// A keyed hash for low-entropy values (codes, email addresses, IPs): without the key
/// a stolen table cannot be brute-forced back to them. `purpose` separates domains so
/// the same value hashes differently for different uses.
pub fn keyed_hash(key: &[u8], purpose: &str, value: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison; unequal lengths are refused without an early exit on content.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_carry_256_bits_and_differ() {
        // R05
        let a = new_session_token();
        let b = new_session_token();
        assert_ne!(a, b);
        let raw = URL_SAFE_NO_PAD
            .decode(a.trim_start_matches(SESSION_TOKEN_PREFIX))
            .unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn codes_are_six_digits() {
        // R02
        for _ in 0..200 {
            let c = new_sign_in_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn keyed_hashes_depend_on_key_and_purpose() {
        let h = keyed_hash(b"k1", "code", "123456");
        assert_ne!(h, keyed_hash(b"k2", "code", "123456"));
        assert_ne!(h, keyed_hash(b"k1", "email", "123456"));
        assert!(!h.contains("123456"));
        assert!(constant_time_eq(h.as_bytes(), h.as_bytes()));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
