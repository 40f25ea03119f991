//! fal's completion webhook (R13): fal POSTs the result of a queued request to the URL
//! given at submission (`fal_webhook`), and signs each call with ED25519.
//!
//! The signed message is four lines: the `X-Fal-Webhook-Request-Id`, `-User-Id` and
//! `-Timestamp` headers, then the hex SHA-256 of the raw body; the hex signature is in
//! `X-Fal-Webhook-Signature`. The public keys are the JWKS fal publishes
//! (`https://rest.fal.ai/.well-known/jwks.json`, cached at most 24 hours), and a call
//! whose timestamp is more than five minutes from our clock is a replay. The signing
//! user must be our own fal account (`FAL_USER_ID`): fal signs every customer's calls
//! with the same keys, so a call from another account is refused. A call that
//! passes says only "look at request X now": what the job becomes is still read from
//! fal's API with our key, so even a genuine call about someone else's request, sent
//! to one of our job's addresses, changes nothing.

use ring::signature::{ED25519, UnparsedPublicKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::adapters::env::{ConfigError, Env};
use crate::adapters::jwks::{self, Jwk, KeySet, KeysError, Refetch};
use crate::adapters::outbound::LazyClient;
use crate::domain::policy::Policy;

/// The signature headers of one call, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignedCall<'a> {
    pub request_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("a signature header is missing")]
    MissingHeader,
    #[error("signed for another fal account")]
    OtherAccount,
    #[error("the timestamp is not within the leeway")]
    Stale,
    #[error("no published key accepts the signature")]
    BadSignature,
    #[error("the body is not a completion of the signed request")]
    Unreadable,
    /// fal's keys could not be fetched: the call may be genuine, so it should come back.
    #[error("the webhook keys could not be fetched")]
    KeysUnavailable,
}

/// What a verified call says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The queue request it is about (the `request_id` of our handle).
    pub request_id: String,
    /// `OK` (a result) or `ERROR`.
    pub ok: bool,
}

/// The body fal sends: `{request_id, gateway_request_id, status, payload, error?}`.
#[derive(Deserialize)]
struct Body {
    request_id: String,
    #[serde(default)]
    gateway_request_id: Option<String>,
    status: String,
}

/// The bytes fal signs.
pub fn signed_message(request_id: &str, user_id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "{request_id}\n{user_id}\n{timestamp}\n{}",
        hex::encode(Sha256::digest(body))
    )
    .into_bytes()
}

/// An Ed25519 public key from the set (`kty: OKP`, `crv: Ed25519`).
fn ed25519_key(jwk: &Jwk) -> Option<Vec<u8>> {
    let ok = jwk.kty == "OKP" && jwk.crv.as_deref() == Some("Ed25519");
    let x = jwks::b64url(jwk.x.as_deref().filter(|_| ok)?)?;
    (x.len() == 32).then_some(x)
}

pub struct FalWebhookVerifier {
    keys: KeySet<Vec<u8>>,
    leeway: i64,
    user_id: String,
}

impl FalWebhookVerifier {
    /// `FAL_JWKS_URL` (`https://rest.fal.ai/.well-known/jwks.json`), `FAL_USER_ID`
    /// (our fal account, as its calls name it).
    pub fn from_env(env: &Env, http: LazyClient, policy: &Policy) -> Result<Self, ConfigError> {
        let refetch = Refetch {
            min_refetch: policy.jwks_min_refetch,
            failure_backoff: policy.jwks_failure_backoff,
            default_max_age: policy.jwks_max_age_cap,
            max_age_cap: policy.jwks_max_age_cap,
        };
        Ok(Self {
            keys: KeySet::new(http, env.url("FAL_JWKS_URL")?, ed25519_key, refetch),
            leeway: policy.provider_webhook_leeway.as_secs() as i64,
            user_id: env.required("FAL_USER_ID")?,
        })
    }

    /// How long a signed call stays valid: its timestamp's leeway either way.
    pub fn leeway_secs(&self) -> i64 {
        self.leeway
    }

    /// Checks the call's signature on its raw body, then reads the body. `now`: epoch
    /// seconds.
    pub async fn verify(
        &self,
        call: &SignedCall<'_>,
        body: &[u8],
        now: i64,
    ) -> Result<Completion, WebhookError> {
        let (Some(request_id), Some(user_id), Some(timestamp), Some(signature)) = (
            call.request_id,
            call.user_id,
            call.timestamp,
            call.signature,
        ) else {
            return Err(WebhookError::MissingHeader);
        };
        if !crate::domain::crypto::constant_time_eq(user_id.as_bytes(), self.user_id.as_bytes()) {
            return Err(WebhookError::OtherAccount);
        }
        let at: i64 = timestamp.parse().map_err(|_| WebhookError::Stale)?;
        if now.abs_diff(at) > self.leeway.unsigned_abs() {
            return Err(WebhookError::Stale);
        }
        let signature = hex::decode(signature).map_err(|_| WebhookError::BadSignature)?;
        let message = signed_message(request_id, user_id, timestamp, body);
        self.keys
            .find(|keys| {
                keys.iter()
                    .any(|(_, key)| {
                        UnparsedPublicKey::new(&ED25519, key)
                            .verify(&message, &signature)
                            .is_ok()
                    })
                    .then_some(())
            })
            .await
            .map_err(|e| match e {
                KeysError::Unknown => WebhookError::BadSignature,
                KeysError::Unavailable => WebhookError::KeysUnavailable,
            })?;
        let body: Body = serde_json::from_slice(body).map_err(|_| WebhookError::Unreadable)?;
        // The signed header names the request the body is about.
        if body.request_id != request_id && body.gateway_request_id.as_deref() != Some(request_id) {
            return Err(WebhookError::Unreadable);
        }
        Ok(Completion {
            request_id: body.request_id,
            ok: body.status == "OK",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r13_the_signed_message_is_four_lines_ending_in_the_bodys_hash() {
        let m = signed_message("req-1", "user-1", "1700000000", b"{}");
        assert_eq!(
            String::from_utf8(m).unwrap(),
            "req-1\nuser-1\n1700000000\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn r13_only_ed25519_keys_of_32_bytes_are_taken() {
        let jwk = |kty: &str, crv: Option<&str>, x: &str| Jwk {
            kid: None,
            kty: kty.into(),
            crv: crv.map(Into::into),
            n: None,
            e: None,
            x: Some(x.into()),
        };
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        assert!(ed25519_key(&jwk("OKP", Some("Ed25519"), x)).is_some());
        assert!(ed25519_key(&jwk("OKP", Some("X25519"), x)).is_none());
        assert!(ed25519_key(&jwk("RSA", None, x)).is_none());
        assert!(ed25519_key(&jwk("OKP", Some("Ed25519"), "AAAA")).is_none());
    }
}
