//! Google's side of "Sign in with Google": a JWKS in the shape of
//! `https://www.googleapis.com/oauth2/v3/certs` and an endpoint that mints RS256 ID
//! tokens with Google's claims, signed by the emulator's keys.
//!
//! Routes:
//! - `GET  /_local/google/certs`: the published keys, with `Cache-Control: max-age`.
//! - `POST /_local/google/id-token` `{email, name?, sub?, hd?}`: `{id_token}` (`hd`, the
//!   Google Workspace domain, only when given, as Google sends it). For tests of
//!   refusals it also takes `email_verified`, `aud`, `iss`, `expires_in` (seconds, may be
//!   negative), `signing_key` (`"published"` or `"unpublished"`) and `kid` (a header
//!   kid that need not match the signing key).
//! - `POST /_local/google/keys/{kid}/publish`: adds a key to the JWKS (key rotation).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::edge::problem::ApiError;

const KEY_PEMS: [(&str, &str); 2] = [
    (
        "local-google-1",
        include_str!("../../keys/google-emulator-1.pem"),
    ),
    (
        "local-google-2",
        include_str!("../../keys/google-emulator-2.pem"),
    ),
];
const ISSUER: &str = "https://accounts.google.com";

struct EmulatorKey {
    kid: &'static str,
    signing: EncodingKey,
    n: String,
    e: String,
}

pub struct GoogleEmulator {
    client_id: String,
    keys: Vec<EmulatorKey>,
    published: RwLock<BTreeSet<&'static str>>,
    certs_served: AtomicUsize,
    /// The `max-age` the certs are served with (Google's: about six hours).
    max_age: std::sync::atomic::AtomicU64,
    /// When set, the key endpoint answers 503, as an outage of Google's would.
    down: std::sync::atomic::AtomicBool,
}

impl GoogleEmulator {
    pub fn new(client_id: impl Into<String>) -> Arc<Self> {
        let keys = KEY_PEMS
            .iter()
            .map(|(kid, pem)| {
                let private =
                    rsa::RsaPrivateKey::from_pkcs8_pem(pem).expect("bundled emulator key");
                EmulatorKey {
                    kid,
                    signing: EncodingKey::from_rsa_pem(pem.as_bytes())
                        .expect("bundled emulator key"),
                    n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
                    e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
                }
            })
            .collect::<Vec<_>>();
        Arc::new(Self {
            client_id: client_id.into(),
            published: RwLock::new(BTreeSet::from([keys[0].kid])),
            keys,
            certs_served: AtomicUsize::new(0),
            max_age: std::sync::atomic::AtomicU64::new(3600),
            down: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Takes the key endpoint down (503) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many times the JWKS was asked for (answered or not): tests count refetches.
    /// Serves the certs with this `max-age` from now on (a test of the cache's expiry).
    pub fn set_max_age(&self, secs: u64) {
        self.max_age.store(secs, Ordering::SeqCst);
    }

    pub fn certs_served(&self) -> usize {
        self.certs_served.load(Ordering::SeqCst)
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/_local/google/certs", get(certs))
            .route("/_local/google/id-token", post(id_token))
            .route("/_local/google/keys/{kid}/publish", post(publish))
            .route(
                "/_local/google/chooser",
                get(super::google_chooser::page).post(super::google_chooser::choose),
            )
            .with_state(self.clone())
    }

    fn is_published(&self, kid: &str) -> bool {
        self.published
            .read()
            .map(|p| p.contains(kid))
            .unwrap_or(false)
    }
}

async fn certs(State(g): State<Arc<GoogleEmulator>>) -> axum::response::Response {
    g.certs_served.fetch_add(1, Ordering::SeqCst);
    if g.down.load(Ordering::SeqCst) {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys: Vec<Value> = g
        .keys
        .iter()
        .filter(|k| g.is_published(k.kid))
        .map(|k| json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": k.kid, "n": k.n, "e": k.e}))
        .collect();
    (
        [(
            header::CACHE_CONTROL,
            format!(
                "public, max-age={}, must-revalidate, no-transform",
                g.max_age.load(Ordering::SeqCst)
            ),
        )],
        Json(json!({ "keys": keys })),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub(super) struct TokenRequest {
    email: String,
    name: Option<String>,
    sub: Option<String>,
    hd: Option<String>,
    email_verified: Option<bool>,
    aud: Option<String>,
    iss: Option<String>,
    expires_in: Option<i64>,
    signing_key: Option<String>,
    kid: Option<String>,
}

async fn id_token(
    State(g): State<Arc<GoogleEmulator>>,
    shared::edge::http::ApiJson(req): shared::edge::http::ApiJson<TokenRequest>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "id_token": g.sign(req)? })))
}

impl GoogleEmulator {
    pub(super) fn client_id(&self) -> &str {
        &self.client_id
    }

    /// An ID token for an address chosen on the account chooser page.
    pub(super) fn sign_for(&self, email: &str, name: Option<String>) -> Result<String, ApiError> {
        self.sign(TokenRequest {
            email: email.to_owned(),
            name,
            ..TokenRequest::default()
        })
    }

    /// An ID token with Google's claims for `req`, signed by an emulator key.
    fn sign(&self, req: TokenRequest) -> Result<String, ApiError> {
        let g = self;
        let key = match req.signing_key.as_deref() {
            None | Some("published") => &g.keys[0],
            Some("unpublished") => g
                .keys
                .iter()
                .find(|k| !g.is_published(k.kid))
                .ok_or_else(|| ApiError::InvalidField("every emulator key is published".into()))?,
            Some(_) => {
                return Err(ApiError::InvalidField(
                    "signing_key is published or unpublished".into(),
                ));
            }
        };
        let email = req.email.trim().to_lowercase();
        // Google's sub is a stable numeric id per account: derive one from the address.
        let sub = req.sub.unwrap_or_else(|| {
            let digest = shared::domain::crypto::sha256_hex(&email);
            let digits: String = digest
                .bytes()
                .map(|b| char::from(b'0' + b % 10))
                .take(21)
                .collect();
            format!("1{digits}")
        });
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": req.iss.unwrap_or_else(|| ISSUER.to_owned()),
            "azp": g.client_id,
            "aud": req.aud.unwrap_or_else(|| g.client_id.clone()),
            "sub": sub,
            "email": email,
            "email_verified": req.email_verified.unwrap_or(true),
            "name": req.name,
            "iat": now,
            "exp": now + req.expires_in.unwrap_or(3600),
        });
        if let Some(hd) = req.hd {
            claims["hd"] = json!(hd);
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(req.kid.unwrap_or_else(|| key.kid.to_owned()));
        jsonwebtoken::encode(&header, &claims, &key.signing).map_err(|_| ApiError::Internal)
    }
}

async fn publish(
    State(g): State<Arc<GoogleEmulator>>,
    Path(kid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = g
        .keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or(ApiError::NotFound)?;
    if let Ok(mut p) = g.published.write() {
        p.insert(key.kid);
    }
    Ok(Json(json!({ "published": key.kid })))
}
