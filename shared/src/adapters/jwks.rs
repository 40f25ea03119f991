//! A published JSON Web Key Set, fetched over HTTPS and cached: Google's sign-in keys
//! (R03) and fal's webhook keys (R13).
//!
//! Keys are kept for the `max-age` of the publisher's answer (never longer than the
//! cap the publisher documents). A signature that no cached key accepts refetches the
//! set at most once per `min_refetch`, so forged key ids cannot make us hammer the
//! publisher; a failed fetch is not tried again for `failure_backoff`, and the stale
//! keys stay usable meanwhile. Concurrent misses wait for one fetch instead of each
//! making one.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::adapters::outbound::LazyClient;

/// One key of the set, as published (RFC 7517); each user reads the members of its kind.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kid: Option<String>,
    pub kty: String,
    /// `OKP` keys: the curve (`Ed25519`).
    pub crv: Option<String>,
    /// RSA modulus and exponent, base64url.
    pub n: Option<String>,
    pub e: Option<String>,
    /// `OKP` public key, base64url.
    pub x: Option<String>,
}

#[derive(Deserialize)]
struct Set {
    keys: Vec<Jwk>,
}

/// How often the set may be fetched.
#[derive(Debug, Clone, Copy)]
pub struct Refetch {
    /// At most one refetch per this long for a signature no fresh key accepts.
    pub min_refetch: Duration,
    /// After a failed fetch, none for this long.
    pub failure_backoff: Duration,
    /// Freshness when the answer has no `max-age`.
    pub default_max_age: Duration,
    /// Freshness never exceeds this, whatever `max-age` says.
    pub max_age_cap: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    #[error("no published key accepts it")]
    Unknown,
    /// The publisher could not be reached and no cached key accepts it.
    #[error("the key set could not be fetched")]
    Unavailable,
}

struct Cache<K> {
    keys: Vec<(Option<String>, K)>,
    fresh_until: Option<Instant>,
    /// When a miss among fresh keys last caused a fetch.
    last_miss_fetch: Option<Instant>,
    last_failure: Option<Instant>,
}

impl<K> Cache<K> {
    fn is_fresh(&self) -> bool {
        self.fresh_until.is_some_and(|t| Instant::now() < t)
    }
}

pub struct KeySet<K> {
    http: LazyClient,
    url: String,
    /// The key a JWK gives, or `None` for keys of another kind.
    parse: fn(&Jwk) -> Option<K>,
    refetch: Refetch,
    cache: RwLock<Cache<K>>,
    fetching: Mutex<()>,
}

impl<K: Send + Sync> KeySet<K> {
    pub fn new(
        http: LazyClient,
        url: impl Into<String>,
        parse: fn(&Jwk) -> Option<K>,
        refetch: Refetch,
    ) -> Self {
        Self {
            http,
            url: url.into(),
            parse,
            refetch,
            cache: RwLock::new(Cache {
                keys: Vec::new(),
                fresh_until: None,
                last_miss_fetch: None,
                last_failure: None,
            }),
            fetching: Mutex::new(()),
        }
    }

    /// What `pick` finds among the keys (each with its `kid`): from the cache while it
    /// is fresh, else after one fetch (see the module's rules).
    pub async fn find<T>(
        &self,
        pick: impl Fn(&[(Option<String>, K)]) -> Option<T>,
    ) -> Result<T, KeysError> {
        if let Some(found) = self.cached(&pick).await {
            return found;
        }
        // The publisher is failing: answer at once rather than queue behind the fetch.
        if self.failed_lately().await {
            return self.stale(&pick).await.ok_or(KeysError::Unavailable);
        }
        let _guard = self.fetching.lock().await;
        if self.failed_lately().await {
            return self.stale(&pick).await.ok_or(KeysError::Unavailable);
        }
        // Another caller may have fetched while this one waited.
        if let Some(found) = self.cached(&pick).await {
            return found;
        }
        let miss_among_fresh = self.cache.read().await.is_fresh();
        let fetched = self.fetch().await;
        let mut cache = self.cache.write().await;
        match fetched {
            Ok((keys, max_age)) => {
                let now = Instant::now();
                cache.keys = keys;
                cache.fresh_until = Some(now + max_age);
                if miss_among_fresh {
                    cache.last_miss_fetch = Some(now);
                }
                pick(&cache.keys).ok_or(KeysError::Unknown)
            }
            Err(()) => {
                cache.last_failure = Some(Instant::now());
                pick(&cache.keys).ok_or(KeysError::Unavailable)
            }
        }
    }

    /// The key with this `kid`.
    pub async fn by_kid(&self, kid: &str) -> Result<K, KeysError>
    where
        K: Clone,
    {
        self.find(|keys| {
            keys.iter()
                .find(|(k, _)| k.as_deref() == Some(kid))
                .map(|(_, key)| key.clone())
        })
        .await
    }

    async fn failed_lately(&self) -> bool {
        self.cache
            .read()
            .await
            .last_failure
            .is_some_and(|t| t.elapsed() < self.refetch.failure_backoff)
    }

    async fn stale<T>(&self, pick: &impl Fn(&[(Option<String>, K)]) -> Option<T>) -> Option<T> {
        pick(&self.cache.read().await.keys)
    }

    /// The answer the cache alone can give: found, or refused because a miss already
    /// caused a refetch within `min_refetch`. `None`: fetch.
    async fn cached<T>(
        &self,
        pick: &impl Fn(&[(Option<String>, K)]) -> Option<T>,
    ) -> Option<Result<T, KeysError>> {
        let cache = self.cache.read().await;
        if !cache.is_fresh() {
            return None;
        }
        if let Some(found) = pick(&cache.keys) {
            return Some(Ok(found));
        }
        let refetched_lately = cache
            .last_miss_fetch
            .is_some_and(|t| t.elapsed() < self.refetch.min_refetch);
        refetched_lately.then_some(Err(KeysError::Unknown))
    }

    #[allow(clippy::type_complexity)]
    async fn fetch(&self) -> Result<(Vec<(Option<String>, K)>, Duration), ()> {
        let res = self
            .http
            .get()
            .get(&self.url)
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
            .unwrap_or(self.refetch.default_max_age)
            .min(self.refetch.max_age_cap);
        let set: Set = res
            .json()
            .await
            .map_err(|_| tracing::warn!("JWKS answer is not a key set"))?;
        let keys: Vec<_> = set
            .keys
            .iter()
            .filter_map(|jwk| Some((jwk.kid.clone(), (self.parse)(jwk)?)))
            .collect();
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

/// A base64url member of a key (`n`, `e`, `x`), padded or not.
pub fn b64url(value: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r03_max_age_is_read_from_the_publishers_cache_control() {
        assert_eq!(
            max_age("public, max-age=19845, must-revalidate, no-transform"),
            Some(Duration::from_secs(19845))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }
}
