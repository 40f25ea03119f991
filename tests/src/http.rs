//! Talking to the stack as a client does: requests, their answers (`Reply`), and the
//! patient client that tries a 503 again.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::TestStack;

/// A response: status, headers and the JSON body (`Value::Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts an RFC 9457 problem with the given status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.code(), code, "body: {}", self.body);
        for field in ["type", "title", "status", "detail", "code"] {
            assert!(
                !self.body[field].is_null(),
                "problem lacks {field}: {}",
                self.body
            );
        }
    }
}

impl TestStack {
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let mut req = req;
        for _ in 0..8 {
            let again = req.try_clone();
            let reply = self.send_once(req).await;
            match again {
                Some(next) if self.retry_unavailable && reply.status == 503 => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    req = next;
                }
                _ => return reply,
            }
        }
        self.send_once(req).await
    }

    async fn send_once(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request reaches the local stack");
        if let Ok(mut s) = self.statuses.lock() {
            s.push(res.status().as_u16());
        }
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn put(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.with_body(self.http.put(self.url(path)), body, token)
            .await
    }

    pub async fn patch(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.with_body(self.http.patch(self.url(path)), body, token)
            .await
    }

    /// DELETE with a JSON body (DELETE /v1/me carries its code).
    pub async fn delete_json(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.with_body(self.http.delete(self.url(path)), body, token)
            .await
    }

    async fn with_body(
        &self,
        req: reqwest::RequestBuilder,
        body: Value,
        token: Option<&str>,
    ) -> Reply {
        let mut req = req.json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }
}
