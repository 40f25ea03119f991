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
    /// The Google Workspace domain the account belongs to (`hd`), read only to judge
    /// whether Google is authoritative for the address (R03); never stored.
    pub hosted_domain: Option<String>,
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
    #[serde(default)]
    hd: Option<String>,
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
        let kid = key_id(header)?;
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
        identity_of(
            claims,
            &self.client_id,
            self.clock.epoch_secs(),
            self.leeway,
        )
    }
}

/// The key id from a token's first part, which must be a JSON header naming RS256.
fn key_id(header: &str) -> Result<String, IdTokenError> {
    let header: Header = jwks::b64url(header)
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(IdTokenError::Malformed)?;
    // The algorithm is fixed by us, never taken from the token ("alg confusion").
    if header.alg != "RS256" {
        return Err(IdTokenError::Malformed);
    }
    header.kid.ok_or(IdTokenError::Malformed)
}

/// What the claims of a token with a good signature give: only if Google issued it for
/// our client id, it has not expired at `now` (give or take `leeway` seconds of skew),
/// and it names a subject.
fn identity_of(
    claims: Claims,
    client_id: &str,
    now: i64,
    leeway: i64,
) -> Result<GoogleIdentity, IdTokenError> {
    if !GOOGLE_ISSUERS.contains(&claims.iss.as_str()) || !claims.aud.contains(client_id) {
        return Err(IdTokenError::Invalid);
    }
    if claims.exp + leeway <= now {
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
        hosted_domain: claims.hd,
    })
}

/// Length of the token's last part and the dot before it.
fn signature_len(token: &str) -> usize {
    token.rfind('.').map_or(0, |dot| token.len() - dot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CLIENT: &str = "client-1.apps.googleusercontent.com";
    const NOW: i64 = 1_800_000_000;
    const LEEWAY: i64 = 60;

    /// Base64url without padding, as JWTs are written.
    fn b64url(bytes: &[u8]) -> String {
        const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    fn header(v: serde_json::Value) -> String {
        b64url(v.to_string().as_bytes())
    }

    fn claims(v: serde_json::Value) -> Claims {
        serde_json::from_value(v).unwrap()
    }

    fn good() -> serde_json::Value {
        json!({
            "iss": "https://accounts.google.com",
            "aud": CLIENT,
            "sub": "1234567890",
            "exp": NOW + 600,
            "email": "kim@example.com",
            "email_verified": true,
            "name": "Kim",
        })
    }

    fn with(key: &str, value: serde_json::Value) -> Claims {
        let mut v = good();
        v[key] = value;
        claims(v)
    }

    #[test]
    fn r03_only_an_rs256_header_with_a_key_id_is_read() {
        assert_eq!(
            key_id(&header(json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}))),
            Ok("k1".into())
        );
        for refused in [
            header(json!({"alg": "none", "kid": "k1"})),
            header(json!({"alg": "HS256", "kid": "k1"})),
            header(json!({"alg": "rs256", "kid": "k1"})),
            header(json!({"alg": "RS256"})),
            header(json!({"kid": "k1"})),
            b64url(b"not json"),
            "%%%".to_owned(),
            String::new(),
        ] {
            assert_eq!(key_id(&refused), Err(IdTokenError::Malformed), "{refused}");
        }
    }

    #[test]
    fn r03_only_googles_issuers_and_our_client_id_are_accepted() {
        let id = identity_of(claims(good()), CLIENT, NOW, LEEWAY).unwrap();
        assert_eq!(
            id,
            GoogleIdentity {
                sub: "1234567890".into(),
                email: Some("kim@example.com".into()),
                email_verified: true,
                name: Some("Kim".into()),
                hosted_domain: None,
            }
        );
        for iss in GOOGLE_ISSUERS {
            assert!(identity_of(with("iss", json!(iss)), CLIENT, NOW, LEEWAY).is_ok());
        }
        for iss in [
            "https://evil.example",
            "accounts.google.com.evil.example",
            "",
        ] {
            assert_eq!(
                identity_of(with("iss", json!(iss)), CLIENT, NOW, LEEWAY),
                Err(IdTokenError::Invalid),
                "{iss}"
            );
        }
        // Another client's token, alone or in a list, is not ours.
        assert_eq!(
            identity_of(with("aud", json!("other-client")), CLIENT, NOW, LEEWAY),
            Err(IdTokenError::Invalid)
        );
        assert_eq!(
            identity_of(with("aud", json!(["a", "b"])), CLIENT, NOW, LEEWAY),
            Err(IdTokenError::Invalid)
        );
        assert!(identity_of(with("aud", json!(["a", CLIENT])), CLIENT, NOW, LEEWAY).is_ok());
        assert_eq!(
            identity_of(with("sub", json!("")), CLIENT, NOW, LEEWAY),
            Err(IdTokenError::Invalid)
        );
    }

    #[test]
    fn r03_a_token_expires_at_its_exp_plus_the_leeway() {
        let exp = NOW - LEEWAY;
        assert_eq!(
            identity_of(with("exp", json!(exp)), CLIENT, NOW, LEEWAY),
            Err(IdTokenError::Expired)
        );
        assert!(identity_of(with("exp", json!(exp + 1)), CLIENT, NOW, LEEWAY).is_ok());
    }

    #[test]
    fn r03_email_verified_is_read_as_a_boolean_or_the_string_true() {
        let verified = |v: serde_json::Value| with("email_verified", v).email_verified;
        assert!(verified(json!(true)));
        assert!(verified(json!("true")));
        assert!(!verified(json!(false)));
        assert!(!verified(json!("false")));
        assert!(!verified(json!("yes")));
        let mut absent = good();
        absent.as_object_mut().unwrap().remove("email_verified");
        assert!(!claims(absent).email_verified);
    }

    #[test]
    fn what_is_signed_is_the_token_up_to_its_last_dot() {
        let token = "aGVhZA.Y2xhaW1z.c2ln";
        assert_eq!(
            &token[..token.len() - signature_len(token)],
            "aGVhZA.Y2xhaW1z"
        );
        assert_eq!(signature_len("no-dot"), 0);
    }
}
