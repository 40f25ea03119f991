//! Random secrets and the hashes they are stored as. Plain Rust, no I/O.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of session tokens, so a leaked one is easy to recognise by secret scanners.
pub const SESSION_TOKEN_PREFIX: &str = "s2s_";

/// A new session token for `account_id`: 256 random bits from the OS-seeded CSPRNG
/// (R05), after the account's id. The id is not a secret (the holder is that account)
/// and grants nothing: it lets the session and its account be read at once, and the
/// session's own record must name the same account.
pub fn new_session_token(account_id: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    format!(
        "{SESSION_TOKEN_PREFIX}{account_id}.{}",
        URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The account a session token names, if it names one (tokens made before they did
/// name none).
pub fn account_of_token(token: &str) -> Option<&str> {
    let (account, _) = token.strip_prefix(SESSION_TOKEN_PREFIX)?.split_once('.')?;
    let hex = account.strip_prefix("acc_")?;
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(account)
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
        let account = "acc_0123456789abcdef0123456789abcdef";
        let a = new_session_token(account);
        let b = new_session_token(account);
        assert_ne!(a, b);
        assert_eq!(account_of_token(&a), Some(account));
        let raw = URL_SAFE_NO_PAD
            .decode(a.rsplit_once('.').unwrap().1)
            .unwrap();
        assert_eq!(raw.len(), 32);
        // An older token, or one whose prefix is not an account id, names none.
        assert_eq!(account_of_token("s2s_AAAA"), None);
        assert_eq!(account_of_token("s2s_acc_x.AAAA"), None);
        assert_eq!(
            account_of_token("acc_0123456789abcdef0123456789abcdef.AAAA"),
            None
        );
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
