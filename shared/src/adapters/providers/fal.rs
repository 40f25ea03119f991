//! fal.ai's queue API client (R13, R16).

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use super::output_url::{Downloads, OutputHosts};
use super::video::{
    Answer, ByteStream, GenerationRequest, Output, Progress, ProviderError, SubmitError,
    VideoProvider,
};
use crate::adapters::env::{ConfigError, Env};
use crate::adapters::outbound::LazyClient;

pub struct FalClient {
    http: LazyClient,
    queue_url: String,
    api_url: String,
    key: crate::domain::secret::Secret,
    /// Fetches outputs only from where fal serves them (`FAL_OUTPUT_HOSTS`).
    downloads: Downloads,
}

/// What fal's submit answers, kept as the job's handle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Handle {
    request_id: String,
    status_url: String,
    response_url: String,
    cancel_url: String,
}

impl Handle {
    fn parse(handle: &str) -> Result<Self, ProviderError> {
        serde_json::from_str(handle).map_err(|_| ProviderError::Failed("unreadable handle".into()))
    }
}

fn transient(e: reqwest::Error) -> ProviderError {
    ProviderError::Transient(e.without_url().to_string())
}

impl FalClient {
    /// `FAL_QUEUE_URL` (`https://queue.fal.run`), `FAL_API_URL`
    /// (`https://api.fal.ai/v1`, for deleting payloads), `FAL_OUTPUT_HOSTS` (the
    /// domains fal serves outputs from) and the key. The models are the catalogue's.
    pub fn from_env(env: &Env, http: LazyClient) -> Result<Arc<dyn VideoProvider>, ConfigError> {
        let queue_url = env.url("FAL_QUEUE_URL")?;
        Ok(Arc::new(Self {
            http,
            downloads: Downloads::new(
                "fal",
                OutputHosts::new(&env.required("FAL_OUTPUT_HOSTS")?, &queue_url),
            ),
            queue_url,
            api_url: env.url("FAL_API_URL")?,
            key: env.secret("FAL_KEY", 8)?,
        }))
    }

    /// The stored handle, if every URL in it is on the configured queue host: the key
    /// goes with each request to them, so a handle (stored data) must not be able to
    /// send it anywhere else.
    fn handle(&self, stored: &str) -> Result<Handle, ProviderError> {
        let h = Handle::parse(stored)?;
        let prefix = format!("{}/", self.queue_url);
        let urls_ok = [&h.status_url, &h.response_url, &h.cancel_url]
            .iter()
            .all(|u| u.starts_with(&prefix));
        // The id goes into a path of the API host: no `/` or `..` in it.
        let id_ok = !h.request_id.is_empty()
            && h.request_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if urls_ok && id_ok {
            Ok(h)
        } else {
            Err(ProviderError::Failed(
                "handle points outside the provider's queue".into(),
            ))
        }
    }

    fn auth(&self) -> String {
        format!("Key {}", self.key.expose())
    }
}

fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    res.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

impl FalClient {
    async fn do_submit(&self, req: &GenerationRequest<'_>) -> Result<String, SubmitError> {
        let mut post = self
            .http
            .get()
            .post(format!("{}/{}", self.queue_url, req.model));
        if let Some(url) = req.callback {
            // fal POSTs the result there when the request ends (see `fal_webhook`).
            post = post.query(&[("fal_webhook", url)]);
        }
        let res = post
            .header(reqwest::header::AUTHORIZATION, self.auth())
            // Ask fal not to keep the request's inputs and outputs (R16).
            .header("X-Fal-Store-IO", "0")
            .timeout(Duration::from_secs(20))
            .json(req.input)
            .send()
            .await
            .map_err(|_| SubmitError::Unavailable)?;
        let status = res.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(SubmitError::Throttled {
                after: retry_after(&res),
            });
        }
        if status.is_server_error() {
            return Err(SubmitError::Unavailable);
        }
        if status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST {
            let body = res.bytes().await.unwrap_or_default();
            return Err(match refusal(&body) {
                Refusal::Content => SubmitError::Refused,
                Refusal::Input(why) => SubmitError::BadInput(why),
            });
        }
        if !status.is_success() {
            return Err(SubmitError::Failed(format!("submit answered {status}")));
        }
        let handle: Handle = res
            .json()
            .await
            .map_err(|_| SubmitError::Failed("submit answer is not a queue handle".into()))?;
        serde_json::to_string(&handle).map_err(|e| SubmitError::Failed(e.to_string()))
    }

    async fn do_progress(&self, handle: &str) -> Result<Progress, ProviderError> {
        #[derive(Deserialize)]
        struct Status {
            status: String,
            #[serde(default)]
            error: Option<serde_json::Value>,
            #[serde(default)]
            error_type: Option<String>,
        }
        let h = self.handle(handle)?;
        let res = self
            .http
            .get()
            .get(&h.status_url)
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(transient)?;
        if res.status().is_server_error() || res.status() == StatusCode::TOO_MANY_REQUESTS {
            return Err(ProviderError::Transient(format!(
                "status answered {}",
                res.status()
            )));
        }
        if !res.status().is_success() {
            return Ok(Progress::Failed);
        }
        let s: Status = res.json().await.map_err(transient)?;
        Ok(match s.status.as_str() {
            "IN_QUEUE" | "IN_PROGRESS" => Progress::Pending,
            // fal's moderation: the request is refused, not failed (R43: not retried).
            "COMPLETED" if s.error_type.as_deref() == Some("content_policy_violation") => {
                Progress::Refused
            }
            "COMPLETED" if s.error.as_ref().is_some_and(|e| !e.is_null()) => Progress::Failed,
            "COMPLETED" => Progress::Completed,
            _ => Progress::Failed,
        })
    }

    async fn do_output(&self, handle: &str) -> Result<Output, ProviderError> {
        #[derive(Deserialize)]
        struct Video {
            url: String,
            content_type: Option<String>,
            file_size: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Result_ {
            video: Video,
        }
        let h = self.handle(handle)?;
        let res = self
            .http
            .get()
            .get(&h.response_url)
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .map_err(transient)?;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            return Err(ProviderError::Transient("result answered 429".into()));
        }
        // A finished request that failed answers its error here; fal's content checker
        // refuses here too, after the request was queued and its status completed.
        if res.status() == StatusCode::UNPROCESSABLE_ENTITY {
            let body = res.bytes().await.unwrap_or_default();
            return Err(match refusal(&body) {
                Refusal::Content => ProviderError::Refused,
                Refusal::Input(why) => ProviderError::Failed(why),
            });
        }
        if res.status().is_server_error() {
            return Err(ProviderError::Transient(format!(
                "result answered {}",
                res.status()
            )));
        }
        if !res.status().is_success() {
            return Err(ProviderError::Failed(format!(
                "result answered {}",
                res.status()
            )));
        }
        let r: Result_ = res
            .json()
            .await
            .map_err(|_| ProviderError::Failed("result has no video".into()))?;
        Ok(Output {
            url: r.video.url,
            content_type: r.video.content_type,
            size: r.video.file_size,
        })
    }

    async fn do_cancel(&self, handle: &str) -> Result<(), ProviderError> {
        let h = self.handle(handle)?;
        let res = self
            .http
            .get()
            .put(&h.cancel_url)
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(transient)?;
        // 400 means it already finished; nothing left to stop.
        if res.status().is_success() || res.status() == StatusCode::BAD_REQUEST {
            Ok(())
        } else {
            Err(ProviderError::Transient(format!(
                "cancel answered {}",
                res.status()
            )))
        }
    }

    async fn do_delete(&self, handle: &str) -> Result<(), ProviderError> {
        let h = self.handle(handle)?;
        let res = self
            .http
            .get()
            .delete(format!(
                "{}/models/requests/{}/payloads",
                self.api_url, h.request_id
            ))
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .header("Idempotency-Key", format!("delete-{}", h.request_id))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(transient)?;
        let status = res.status();
        if status.is_success() || status == StatusCode::NOT_FOUND {
            Ok(())
        } else if matches!(status.as_u16(), 400 | 401 | 403 | 410) {
            // Asking again the same way will not change it (our key, or fal's rule).
            Err(ProviderError::Failed(format!("delete answered {status}")))
        } else {
            Err(ProviderError::Transient(format!(
                "delete answered {status}"
            )))
        }
    }
}

/// What a fal 422 says.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// fal's content checker (or the model's own) refused the content.
    Content,
    /// The input does not fit the endpoint: its error types and fields, no values.
    Input(String),
}

/// Reads fal's error body: `{detail: [{loc, msg, type, …}]}`, or `{detail: "…"}`
/// (fal's clients accept both; docs.fal.ai/errors, read 2026-12-07). A refusal for
/// content has `type: "content_policy_violation"`.
fn refusal(body: &[u8]) -> Refusal {
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        loc: Vec<serde_json::Value>,
        #[serde(default, rename = "type")]
        kind: String,
    }
    #[derive(Deserialize)]
    struct Body {
        detail: serde_json::Value,
    }
    let items: Vec<Item> = serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| serde_json::from_value(b.detail).ok())
        .unwrap_or_default();
    if items.iter().any(|i| i.kind == "content_policy_violation") {
        return Refusal::Content;
    }
    let what: Vec<String> = items
        .iter()
        .map(|i| {
            let field = i.loc.last().and_then(|l| l.as_str()).unwrap_or("body");
            format!("{field}: {}", i.kind)
        })
        .collect();
    Refusal::Input(if what.is_empty() {
        "fal refused the input".to_owned()
    } else {
        format!("fal refused the input ({})", what.join(", "))
    })
}

impl VideoProvider for FalClient {
    fn name(&self) -> &'static str {
        "fal"
    }
    fn calls_back(&self) -> bool {
        true
    }
    fn request_id(&self, handle: &str) -> Option<String> {
        Handle::parse(handle).ok().map(|h| h.request_id)
    }
    fn submit<'a>(
        &'a self,
        req: &'a GenerationRequest<'a>,
    ) -> Answer<'a, Result<String, SubmitError>> {
        Box::pin(self.do_submit(req))
    }
    fn progress<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<Progress, ProviderError>> {
        Box::pin(self.do_progress(handle))
    }
    fn output<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<Output, ProviderError>> {
        Box::pin(self.do_output(handle))
    }
    fn download<'a>(&'a self, output: &'a Output) -> Answer<'a, Result<ByteStream, ProviderError>> {
        Box::pin(self.downloads.fetch(&output.url))
    }
    fn cancel<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<(), ProviderError>> {
        Box::pin(self.do_cancel(handle))
    }
    fn delete<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<(), ProviderError>> {
        Box::pin(self.do_delete(handle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r43_a_422_is_a_refusal_only_when_fal_says_content_policy() {
        // fal's refusal as it is answered (docs.fal.ai/errors, read 2026-12-07).
        let content = br#"{"detail":[{"loc":["body","prompt"],"msg":"The content could not be processed because it contained material flagged by a content checker.","type":"content_policy_violation","url":"https://docs.fal.ai/errors#content_policy_violation","input":"x"}]}"#;
        assert_eq!(refusal(content), Refusal::Content);
        let input = br#"{"detail":[{"loc":["body","duration"],"msg":"Input should be '5' or '10'","type":"literal_error","input":"5s"}]}"#;
        assert_eq!(
            refusal(input),
            Refusal::Input("fal refused the input (duration: literal_error)".into())
        );
        // A string detail (fal's clients accept it too), or no body at all.
        assert!(matches!(refusal(br#"{"detail":"bad"}"#), Refusal::Input(_)));
        assert!(matches!(refusal(b""), Refusal::Input(_)));
    }

    fn client() -> Arc<dyn VideoProvider> {
        let env = Env::from_map(
            [
                ("FAL_QUEUE_URL", "https://queue.fal.run"),
                ("FAL_API_URL", "https://api.fal.ai/v1"),
                ("FAL_OUTPUT_HOSTS", "fal.media"),
                ("FAL_KEY", "secret-key"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        );
        FalClient::from_env(&env, LazyClient::new()).unwrap()
    }

    #[tokio::test]
    async fn r16_the_key_is_sent_only_to_the_configured_queue_host() {
        let fal = client();
        for evil in [
            "https://evil.example/requests/1/status",
            "https://queue.fal.run.evil.example/requests/1/status",
            "http://queue.fal.run/requests/1/status",
        ] {
            let handle = serde_json::json!({
                "request_id": "1",
                "status_url": evil,
                "response_url": "https://queue.fal.run/fal-ai/veo3.1/requests/1",
                "cancel_url": "https://queue.fal.run/fal-ai/veo3.1/requests/1/cancel",
            })
            .to_string();
            // Refused before any request is made (no network is reached in this test).
            assert!(
                matches!(fal.progress(&handle).await, Err(ProviderError::Failed(_))),
                "{evil}"
            );
            assert!(
                matches!(fal.cancel(&handle).await, Err(ProviderError::Failed(_))),
                "{evil}"
            );
            assert!(
                matches!(fal.delete(&handle).await, Err(ProviderError::Failed(_))),
                "{evil}"
            );
        }
    }
}
