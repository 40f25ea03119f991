//! The website on the local stack: the built `web/dist` at `/`, beside the API, with
//! the response headers CloudFront adds in a deployment (the same Content-Security-Policy
//! directives, with local origins), and the runtime `config.json` that `make deploy`
//! uploads in a deployment.
//!
//! Paths under `/v1/` and `/_local/` are never the site's: an unknown one stays a
//! problem+json 404. Any other path that names no file is a page of the app
//! (`index.html`), as CloudFront's custom error response makes it in a deployment.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::edge::problem::ApiError;

/// Where `npm run build` leaves the site (`SITE_DIR` wins, e.g. for a watch build).
pub fn default_dir() -> PathBuf {
    std::env::var_os("SITE_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist"),
        PathBuf::from,
    )
}

/// Where the website's shared-video pages are (`/s/{token}`, R49).
pub const SHARED_PAGES: &str = "/s/";
/// The page every shared video's address serves.
pub const SHARED_PAGE_FILE: &str = "share.html";

pub struct Site {
    dir: PathBuf,
    config: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// What the app reads at start: where the API is and how "Sign in with Google" works.
pub fn config_json(api_base: &str, google_client_id: &str, google_mode: &str) -> String {
    serde_json::json!({
        "api_base": api_base,
        "google": { "client_id": google_client_id, "mode": google_mode },
    })
    .to_string()
}

/// The site's Content-Security-Policy: only the site's own scripts and styles (no
/// inline ones), the API and the buckets' origins for requests and media, no framing.
/// `storage` is where presigned uploads and downloads go.
pub fn content_security_policy(storage: &str) -> String {
    [
        "default-src 'self'".to_owned(),
        "script-src 'self'".to_owned(),
        "style-src 'self'".to_owned(),
        "img-src 'self' data: blob:".to_owned(),
        format!("media-src 'self' {storage}"),
        format!("connect-src 'self' {storage}"),
        "font-src 'self'".to_owned(),
        "object-src 'none'".to_owned(),
        "base-uri 'self'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

impl Site {
    pub fn new(dir: PathBuf, config: String, storage_origin: &str) -> Arc<Self> {
        let headers = [
            (
                header::CONTENT_SECURITY_POLICY,
                content_security_policy(storage_origin),
            ),
            (
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=63072000; includeSubDomains; preload".to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::REFERRER_POLICY,
                "strict-origin-when-cross-origin".to_owned(),
            ),
            (header::X_FRAME_OPTIONS, "DENY".to_owned()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, HeaderValue::from_str(&v).ok()?)))
        .collect();
        Arc::new(Self {
            dir,
            config,
            headers,
        })
    }

    /// The router's fallback: a file of the site, a page of the app, or the API's 404.
    pub async fn serve(site: Arc<Self>, req: Request) -> Response {
        let path = req.uri().path().to_owned();
        if path.starts_with("/v1/") || path == "/v1" || path.starts_with("/_local/") {
            return ApiError::NotFound.into_response();
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return ApiError::MethodNotAllowed.into_response();
        }
        let mut response = if path == "/config.json" {
            (
                [(header::CONTENT_TYPE, "application/json")],
                site.config.clone(),
            )
                .into_response()
        } else {
            site.file(&path).await
        };
        for (k, v) in &site.headers {
            response.headers_mut().insert(k.clone(), v.clone());
        }
        if path.starts_with(SHARED_PAGES) {
            // R49: a shared video's page, whose address is the link itself: sent to no
            // one, and not indexed (CloudFront's `/s/*` behavior in a deployment).
            let headers = response.headers_mut();
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
        }
        response
    }

    async fn file(&self, path: &str) -> Response {
        let Some(relative) = safe_relative(path) else {
            return ApiError::NotFound.into_response();
        };
        let candidate = self.dir.join(&relative);
        // A shared video's page has a head of its own (its link preview, R49), as
        // CloudFront's `/s/*` function makes it in a deployment.
        let page = self.dir.join(if path.starts_with(SHARED_PAGES) {
            SHARED_PAGE_FILE
        } else {
            "index.html"
        });
        let found = tokio::task::spawn_blocking(move || {
            if candidate.is_file() {
                std::fs::read(&candidate).ok().map(|b| (candidate, b))
            } else if candidate.extension().is_none() {
                // A page of the app (`/videos`, `/account`): the app routes it.
                std::fs::read(&page).ok().map(|b| (page, b))
            } else {
                None
            }
        })
        .await
        .ok()
        .flatten();
        let Some((file, body)) = found else {
            return (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Not found. (Is the site built? `make dev` builds it.)",
            )
                .into_response();
        };
        // Hashed assets never change; pages and the policy are asked for anew.
        let cache = if relative.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        (
            [
                (header::CONTENT_TYPE, content_type(&file)),
                (header::CACHE_CONTROL, cache),
            ],
            body,
        )
            .into_response()
    }
}

/// The request path as a path inside the site's folder, or `None` if it would leave it.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let trimmed = path.trim_start_matches('/');
    let relative = if trimmed.is_empty() {
        PathBuf::from("index.html")
    } else {
        PathBuf::from(trimmed)
    };
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(relative)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_leave_the_site_folder() {
        assert_eq!(safe_relative("/"), Some(PathBuf::from("index.html")));
        assert_eq!(
            safe_relative("/assets/app.js"),
            Some(PathBuf::from("assets/app.js"))
        );
        assert_eq!(safe_relative("/../Cargo.toml"), None);
        assert_eq!(safe_relative("/assets/../../x"), None);
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_framing() {
        let csp = content_security_policy("http://127.0.0.1:5000");
        assert!(csp.contains("script-src 'self';"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("connect-src 'self' http://127.0.0.1:5000"));
    }
}
