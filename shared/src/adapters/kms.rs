//! Signing with an asymmetric KMS key (ECC P-256, `SIGN_VERIFY`): the content
//! credentials' key never leaves AWS (R41). The key signs; what is signed, and the
//! certificate that names the key, are the caller's.

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use sha2::Digest;

/// The longest message KMS signs as it is; a longer one is sent as its SHA-256 digest,
/// which gives the same ECDSA_SHA_256 signature.
pub const RAW_MESSAGE_LIMIT: usize = 4096;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    /// KMS did not sign (throttled, unreachable, key disabled): worth trying again.
    #[error("kms: {0}")]
    Unavailable(String),
    /// KMS answered with something that is not a P-256 ECDSA signature.
    #[error("not a P-256 ECDSA signature: {0}")]
    Malformed(&'static str),
}

#[derive(Clone, Debug)]
pub struct KeySigner {
    kms: super::aws::OnDemand<aws_sdk_kms::Client>,
    key_id: String,
}

impl KeySigner {
    pub fn new(kms: super::aws::OnDemand<aws_sdk_kms::Client>, key_id: String) -> Self {
        Self { kms, key_id }
    }

    /// An ES256 signature of `message` as COSE wants it: r and s, 32 bytes each.
    pub async fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let (body, kind) = if message.len() <= RAW_MESSAGE_LIMIT {
            (message.to_vec(), MessageType::Raw)
        } else {
            (sha2::Sha256::digest(message).to_vec(), MessageType::Digest)
        };
        let out = self
            .kms
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(body))
            .message_type(kind)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| SignError::Unavailable(e.code().unwrap_or("unreachable").to_owned()))?;
        let der = out.signature.ok_or(SignError::Malformed("no signature"))?;
        der_to_raw_p256(der.as_ref())
    }

    /// The key's public half (SubjectPublicKeyInfo, DER): what its certificate names.
    pub async fn public_key(&self) -> Result<Vec<u8>, SignError> {
        let out = self
            .kms
            .get_public_key()
            .key_id(&self.key_id)
            .send()
            .await
            .map_err(|e| SignError::Unavailable(e.code().unwrap_or("unreachable").to_owned()))?;
        out.public_key
            .map(Blob::into_inner)
            .ok_or(SignError::Malformed("no public key"))
    }
}

/// KMS gives ECDSA signatures in DER (`SEQUENCE { INTEGER r, INTEGER s }`); COSE's
/// ES256 is the two integers as 32 big-endian bytes each (RFC 8152 §8.1).
pub fn der_to_raw_p256(der: &[u8]) -> Result<[u8; 64], SignError> {
    let body = der_element(der, 0x30)
        .filter(|(_, rest)| rest.is_empty())
        .ok_or(SignError::Malformed("not one DER sequence"))?
        .0;
    let (r, rest) = der_element(body, 0x02).ok_or(SignError::Malformed("no r"))?;
    let (s, rest) = der_element(rest, 0x02).ok_or(SignError::Malformed("no s"))?;
    if !rest.is_empty() {
        return Err(SignError::Malformed("trailing bytes"));
    }
    let mut out = [0u8; 64];
    let (r_half, s_half) = out.split_at_mut(32);
    for (integer, half) in [(r, r_half), (s, s_half)] {
        // A DER integer has a leading zero when its top bit is set; no more than that.
        let magnitude = match integer {
            [0, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => rest,
            other => other,
        };
        if magnitude.is_empty() || magnitude.len() > 32 {
            return Err(SignError::Malformed("integer out of range"));
        }
        half[32 - magnitude.len()..].copy_from_slice(magnitude);
    }
    Ok(out)
}

/// One DER element of `tag` at the start of `input`: its content and what follows.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = match len {
        n if n < 0x80 => (usize::from(n), rest),
        0x81 => {
            let (&n, rest) = rest.split_first()?;
            (usize::from(n), rest)
        }
        _ => return None,
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(r: &[u8], s: &[u8]) -> Vec<u8> {
        let mut body = vec![0x02, r.len() as u8];
        body.extend_from_slice(r);
        body.extend_from_slice(&[0x02, s.len() as u8]);
        body.extend_from_slice(s);
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    #[test]
    fn r41_a_der_signature_becomes_r_and_s_of_32_bytes_each() {
        // r with its top bit set (a leading zero in DER), s short (left-padded).
        let mut r = vec![0u8];
        r.extend([0xffu8; 32]);
        let s = [0x01u8, 0x02];
        let raw = der_to_raw_p256(&der(&r, &s)).unwrap();
        assert_eq!(&raw[..32], &[0xff; 32]);
        assert_eq!(&raw[32..62], &[0; 30]);
        assert_eq!(&raw[62..], &[1, 2]);
    }

    #[test]
    fn r41_anything_but_a_p256_signature_is_refused() {
        assert!(der_to_raw_p256(&[]).is_err());
        assert!(der_to_raw_p256(&der(&[1; 33], &[1])).is_err(), "r too long");
        assert!(der_to_raw_p256(&der(&[], &[1])).is_err(), "empty r");
        let mut trailing = der(&[1], &[1]);
        trailing.push(0);
        assert!(der_to_raw_p256(&trailing).is_err());
        assert!(der_to_raw_p256(&[0x31, 0x00]).is_err(), "not a sequence");
    }
}
