//! The one HTTP client for third parties (Google, fal.ai, Creem), made on first use.
//!
//! Building it loads the system's root certificates, which costs milliseconds of
//! every cold start; `auth` needs it only for Google sign-ins, so the cost is paid
//! by the first request that calls out, not by every start.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[derive(Clone, Debug, Default)]
pub struct LazyClient(Arc<OnceLock<reqwest::Client>>);

impl LazyClient {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self) -> &reqwest::Client {
        self.0.get_or_init(|| {
            install_crypto();
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default()
        })
    }
}

/// Makes ring the process's TLS crypto provider (reqwest is built without one of its
/// own, so that a binary carries one crypto library). Calling it again does nothing.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
