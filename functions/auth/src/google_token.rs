//! Google ID token verification (R03), done by the backend itself.
//!
//! RS256 only, whatever the token's header claims; keys from Google's JWKS, cached for
//! the `max-age` of its answer; an unknown `kid` triggers a refetch at most once per
//! `jwks_min_refetch`, so forged key ids cannot make us hammer Google. `iss` must be
//! Google's, `aud` our client id, and `exp` and `sub` present; expiry is judged by our
//! [`Clock`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use shared::adapters::outbound::LazyClient;
use tokio::sync::{Mutex, RwLock};

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

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fresh_until: Option<Instant>,
    /// When a token with a `kid` missing from fresh keys last caused a fetch.
    last_unknown_kid_fetch: Option<Instant>,
    /// When a fetch last failed.
    last_failure: Option<Instant>,
}

impl KeyCache {
    fn is_fresh(&self) -> bool {
        self.fresh_until.is_some_and(|t| Instant::now() < t)
    }
}

pub struct GoogleVerifier {
    http: LazyClient,
    jwks_url: String,
    client_id: String,
    clock: Clock,
    min_refetch: Duration,
    failure_backoff: Duration,
    default_max_age: Duration,
    leeway: i64,
    cache: RwLock<KeyCache>,
    /// Serialises fetches: concurrent requests wait for one fetch instead of each making one.
    fetching: Mutex<()>,
}

impl GoogleVerifier {
    pub fn new(
        http: LazyClient,
        jwks_url: impl Into<String>,
        client_id: impl Into<String>,
        clock: Clock,
        policy: &Policy,
    ) -> Self {
        Self {
            http,
            jwks_url: jwks_url.into(),
            client_id: client_id.into(),
            clock,
            min_refetch: policy.jwks_min_refetch,
            failure_backoff: policy.jwks_failure_backoff,
            default_max_age: policy.jwks_default_max_age,
            leeway: policy.id_token_leeway.as_secs() as i64,
            cache: RwLock::default(),
            fetching: Mutex::new(()),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<GoogleIdentity, IdTokenError> {
        let header = decode_header(token).map_err(|_| IdTokenError::Malformed)?;
        // The algorithm is fixed by us, never taken from the token ("alg confusion").
        if header.alg != Algorithm::RS256 {
            return Err(IdTokenError::Malformed);
        }
        let kid = header.kid.ok_or(IdTokenError::Malformed)?;
        let key = self.key_for(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.client_id]);
        validation.set_issuer(&GOOGLE_ISSUERS);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        // Expiry is checked below against our clock, the one every rule uses.
        validation.validate_exp = false;
        let claims = decode::<Claims>(token, &key, &validation)
            .map_err(|_| IdTokenError::Invalid)?
            .claims;
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

    async fn key_for(&self, kid: &str) -> Result<DecodingKey, IdTokenError> {
        if let Some(found) = self.cached_key(kid).await {
            return found;
        }
        // Google is failing: answer at once rather than queue behind the fetch lock.
        if self.failed_lately().await {
            return Err(IdTokenError::KeysUnavailable);
        }
        let _guard = self.fetching.lock().await;
        if self.failed_lately().await {
            return Err(IdTokenError::KeysUnavailable);
        }
        // Another request may have fetched while this one waited.
        if let Some(found) = self.cached_key(kid).await {
            return found;
        }
        let unknown_kid = self.cache.read().await.is_fresh();
        let fetched = self.fetch().await;
        let mut cache = self.cache.write().await;
        match fetched {
            Ok((keys, max_age)) => {
                let now = Instant::now();
                cache.keys = keys;
                cache.fresh_until = Some(now + max_age);
                if unknown_kid {
                    cache.last_unknown_kid_fetch = Some(now);
                }
                cache.keys.get(kid).cloned().ok_or(IdTokenError::UnknownKey)
            }
            // Stale keys stay usable while Google is unreachable.
            Err(()) => {
                cache.last_failure = Some(Instant::now());
                cache
                    .keys
                    .get(kid)
                    .cloned()
                    .ok_or(IdTokenError::KeysUnavailable)
            }
        }
    }

    async fn failed_lately(&self) -> bool {
        self.cache
            .read()
            .await
            .last_failure
            .is_some_and(|t| t.elapsed() < self.failure_backoff)
    }

    /// The answer the cache alone can give: the key, or a refusal because an unknown
    /// `kid` already caused a refetch within `min_refetch`. `None`: fetch.
    async fn cached_key(&self, kid: &str) -> Option<Result<DecodingKey, IdTokenError>> {
        let cache = self.cache.read().await;
        if !cache.is_fresh() {
            return None;
        }
        if let Some(k) = cache.keys.get(kid) {
            return Some(Ok(k.clone()));
        }
        let refetched_lately = cache
            .last_unknown_kid_fetch
            .is_some_and(|t| t.elapsed() < self.min_refetch);
        refetched_lately.then_some(Err(IdTokenError::UnknownKey))
    }

    async fn fetch(&self) -> Result<(HashMap<String, DecodingKey>, Duration), ()> {
        let res = self
            .http
            .get()
            .get(&self.jwks_url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| tracing::warn!(error = %e.without_url(), "JWKS fetch failed"))?;
        let max_age = res
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(self.default_max_age);
        let jwks: Jwks = res
            .json()
            .await
            .map_err(|_| tracing::warn!("JWKS answer is not a key set"))?;
        let keys = jwks
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA")
            .filter_map(|k| {
                let key =
                    DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
                Some((k.kid?, key))
            })
            .collect::<HashMap<_, _>>();
        tracing::info!(
            keys = keys.len(),
            max_age_secs = max_age.as_secs(),
            "JWKS fetched"
        );
        Ok((keys, max_age))
    }
}

/// `max-age` of a Cache-Control header value.
pub fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|d| {
        let (name, value) = d.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| value.trim().parse().ok().map(Duration::from_secs))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r03_max_age_is_read_from_googles_cache_control() {
        assert_eq!(
            max_age("public, max-age=19845, must-revalidate, no-transform"),
            Some(Duration::from_secs(19845))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }
}
