//! Google ID token verification (R03), done by the backend itself.
//!
//! RS256 only, whatever the token's header claims; keys from Google's JWKS (see
//! [`KeySet`] for how they are cached and refetched); `iss` must be Google's, `aud` our
//! client id, and `exp` and `sub` present; expiry is judged by our [`Clock`].

use serde::Deserialize;

use shared::adapters::jwks::{self, Jwk, KeySet, KeysError, Refetch};
use shared::adapters::outbound::LazyClient;
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;

pub const GOOGLE_ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("token is malformed or not RS256")]
    Malformed,
    #[error("token is signed with an unknown key")]
    UnknownKey,
    #[error("token signature or claims are invalid")]
    Invalid,
    #[error("token has expired")]
    Expired,
    /// Google's key endpoint failed; the token may well be fine.
    #[error("could not fetch Google's keys")]
    KeysUnavailable,
}

/// The only data taken from Google: the link (`sub`), the address and the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleIdentity {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    iss: String,
    aud: Audience,
    email: Option<String>,
    #[serde(default, deserialize_with = "bool_or_string")]
    email_verified: bool,
    name: Option<String>,
}

/// Google has sent `email_verified` both as a JSON boolean and as a string.
fn bool_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Str(String),
    }
    Ok(match B::deserialize(d)? {
        B::Bool(b) => b,
        B::Str(s) => s == "true",
    })
}

/// `aud` is one string or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, id: &str) -> bool {
        match self {
            Audience::One(a) => a == id,
            Audience::Many(all) => all.iter().any(|a| a == id),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// An RSA public key: modulus and exponent, big-endian.
#[derive(Clone)]
pub struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

fn rsa_key(jwk: &Jwk) -> Option<RsaKey> {
    (jwk.kty == "RSA").then_some(())?;
    Some(RsaKey {
        n: jwks::b64url(jwk.n.as_deref()?)?,
        e: jwks::b64url(jwk.e.as_deref()?)?,
    })
}

pub struct GoogleVerifier {
    keys: KeySet<RsaKey>,
    client_id: String,
    clock: Clock,
    leeway: i64,
}

impl GoogleVerifier {
    pub fn new(
        http: LazyClient,
        jwks_url: impl Into<String>,
        client_id: impl Into<String>,
        clock: Clock,
        policy: &Policy,
    ) -> Self {
        let refetch = Refetch {
            min_refetch: policy.jwks_min_refetch,
            failure_backoff: policy.jwks_failure_backoff,
            default_max_age: policy.jwks_default_max_age,
            max_age_cap: policy.jwks_max_age_cap,
        };
        Self {
            keys: KeySet::new(http, jwks_url, rsa_key, refetch),
            client_id: client_id.into(),
            clock,
            leeway: policy.id_token_leeway.as_secs() as i64,
        }
    }

    pub async fn verify(&self, token: &str) -> Result<GoogleIdentity, IdTokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(IdTokenError::Malformed);
        };
        let header: Header = jwks::b64url(header)
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(IdTokenError::Malformed)?;
        // The algorithm is fixed by us, never taken from the token ("alg confusion").
        if header.alg != "RS256" {
            return Err(IdTokenError::Malformed);
        }
        let kid = header.kid.ok_or(IdTokenError::Malformed)?;
        let signature = jwks::b64url(signature).ok_or(IdTokenError::Malformed)?;
        let key = self.keys.by_kid(&kid).await.map_err(|e| match e {
            KeysError::Unknown => IdTokenError::UnknownKey,
            KeysError::Unavailable => IdTokenError::KeysUnavailable,
        })?;
        // What is signed: the first two parts as they came, with their dot.
        let signed = &token.as_bytes()[..token.len() - signature_len(token)];
        ring::signature::RsaPublicKeyComponents {
            n: &key.n,
            e: &key.e,
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signed,
            &signature,
        )
        .map_err(|_| IdTokenError::Invalid)?;
        let claims: Claims = jwks::b64url(claims)
            .and_then(|c| serde_json::from_slice(&c).ok())
            .ok_or(IdTokenError::Invalid)?;
        if !GOOGLE_ISSUERS.contains(&claims.iss.as_str()) || !claims.aud.contains(&self.client_id) {
            return Err(IdTokenError::Invalid);
        }
        if claims.exp + self.leeway <= self.clock.epoch_secs() {
            return Err(IdTokenError::Expired);
        }
        if claims.sub.is_empty() {
            return Err(IdTokenError::Invalid);
        }
        Ok(GoogleIdentity {
            sub: claims.sub,
            email: claims.email,
            email_verified: claims.email_verified,
            name: claims.name,
        })
    }
}

/// Length of the token's last part and the dot before it.
fn signature_len(token: &str) -> usize {
    token.rfind('.').map_or(0, |dot| token.len() - dot)
}
