//! Share links (R49): an unlisted link to a ready video, the owner's choice. Plain Rust,
//! no I/O.
//!
//! The link's token is 128 bits that cannot be guessed: a keyed hash (the service's
//! secret) of the video and a random 128-bit nonce kept with the video. Only the token's
//! hash is stored as the key that finds the link, so neither the table nor its backups
//! hold a working link; the service derives the token again with its secret to show the
//! owner their link while it is live.

use crate::domain::crypto::{keyed_hash, sha256_hex};

/// A live link, as kept with its video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareState {
    /// The random nonce the token is derived from.
    pub nonce: String,
    /// The token's hash: the key of the link's record.
    pub hash: String,
    /// Whether the shared page shows the prompt (the owner's choice).
    pub show_prompt: bool,
}

/// Hex characters of a token: 128 bits.
pub const TOKEN_LEN: usize = 32;

/// A new random nonce (128 bits, hex).
pub fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The token of the link `nonce` made for `video_id`.
pub fn token(secret: &[u8], video_id: &str, nonce: &str) -> String {
    keyed_hash(secret, "share", &format!("{video_id}\0{nonce}"))[..TOKEN_LEN].to_owned()
}

/// How a token is kept: its hash.
pub fn token_hash(token: &str) -> String {
    sha256_hex(&format!("share\0{token}"))
}

/// Whether `s` has the shape of a token (anything else names no link).
pub fn is_token(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r49_a_token_is_128_bits_that_only_the_secret_and_the_nonce_give() {
        let a = token(b"secret", "vid_1", "n1");
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(is_token(&a));
        assert_eq!(a, token(b"secret", "vid_1", "n1"));
        assert_ne!(
            a,
            token(b"secret", "vid_1", "n2"),
            "a new link, a new token"
        );
        assert_ne!(a, token(b"other", "vid_1", "n1"), "the secret is needed");
        assert_ne!(token_hash(&a), a, "stored only as a hash");
        assert!(!is_token("../etc") && !is_token(&"G".repeat(TOKEN_LEN)));
        // The nonce itself is random: 128 bits.
        assert_eq!(new_nonce().len(), 32);
        assert_ne!(new_nonce(), new_nonce());
    }
}
