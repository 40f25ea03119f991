//! Replicate's predictions API client (R13, R16, R43).
//!
//! - submit: `POST {api}/v1/models/{owner}/{name}/predictions` with
//!   `{input, webhook, webhook_events_filter: ["completed"]}` → the prediction; the
//!   handle is its id;
//! - progress and output: `GET {api}/v1/predictions/{id}` (`starting`, `processing`,
//!   `succeeded` with `output` a URL, `failed` with `error`, `canceled`, `aborted`);
//! - cancel: `POST {api}/v1/predictions/{id}/cancel`;
//! - delete: Replicate removes a prediction's inputs and outputs an hour after it
//!   ends when it was made through the API, and has no call to do it sooner, so
//!   there is nothing to call (R16: the retention map and the policy say so).
//!
//! Its completion calls are signed with Standard Webhooks (see `provider-webhook`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::output_url::{Downloads, OutputHosts};
use super::video::{
    Answer, ByteStream, GenerationRequest, Output, Progress, ProviderError, SubmitError,
    VideoProvider,
};
use crate::adapters::env::{ConfigError, Env};
use crate::adapters::outbound::LazyClient;

pub struct ReplicateClient {
    http: LazyClient,
    api_url: String,
    token: crate::domain::secret::Secret,
    downloads: Downloads,
}

/// The part of a prediction we read.
#[derive(Debug, Deserialize)]
struct Prediction {
    id: String,
    status: String,
    #[serde(default)]
    output: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

fn transient(e: reqwest::Error) -> ProviderError {
    ProviderError::Transient(e.without_url().to_string())
}

/// A prediction id goes into a path: letters and digits only.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `owner/name`, each part as Replicate allows them.
fn valid_model(model: &str) -> bool {
    let mut parts = model.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            p.starts_with(|c: char| c.is_ascii_alphanumeric())
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// The fields and error types of Replicate's 422 (`invalid_fields: [{type, field,
/// description}]`), without the descriptions, which may quote a value.
fn invalid_fields(body: &[u8]) -> String {
    let fields: Vec<String> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|b| b.get("invalid_fields")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["field"].as_str().unwrap_or("input"),
                f["type"].as_str().unwrap_or("invalid")
            )
        })
        .collect();
    format!("replicate refused the input ({})", fields.join(", "))
}

/// Replicate's moderation refuses with error E005 ("flagged as sensitive").
fn refused_for_content(error: &serde_json::Value) -> bool {
    let text = error
        .as_str()
        .map_or_else(|| error.to_string(), str::to_owned);
    text.contains("E005") || text.to_ascii_lowercase().contains("flagged as sensitive")
}

impl ReplicateClient {
    /// `REPLICATE_API_URL` (`https://api.replicate.com`), `REPLICATE_OUTPUT_HOSTS`
    /// (`replicate.delivery`) and the API token.
    pub fn from_env(env: &Env, http: LazyClient) -> Result<Arc<dyn VideoProvider>, ConfigError> {
        let api_url = env.url("REPLICATE_API_URL")?;
        Ok(Arc::new(Self {
            http,
            downloads: Downloads::new(
                "replicate",
                OutputHosts::new(&env.required("REPLICATE_OUTPUT_HOSTS")?, &api_url),
            ),
            token: env.secret("REPLICATE_API_TOKEN", 8)?,
            api_url,
        }))
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token.expose())
    }

    async fn prediction(&self, id: &str) -> Result<Prediction, ProviderError> {
        if !valid_id(id) {
            return Err(ProviderError::Failed("unreadable handle".into()));
        }
        let res = self
            .http
            .get()
            .get(format!("{}/v1/predictions/{id}", self.api_url))
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(transient)?;
        let status = res.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(ProviderError::Transient(format!(
                "prediction answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(ProviderError::Failed(format!(
                "prediction answered {status}"
            )));
        }
        res.json()
            .await
            .map_err(|_| ProviderError::Transient("unreadable prediction".into()))
    }

    async fn do_submit(&self, req: &GenerationRequest<'_>) -> Result<String, SubmitError> {
        if !valid_model(req.model) {
            return Err(SubmitError::Failed("model is not owner/name".into()));
        }
        let mut body = json!({ "input": req.input });
        if let Some(url) = req.callback {
            body["webhook"] = json!(url);
            body["webhook_events_filter"] = json!(["completed"]);
        }
        let res = self
            .http
            .get()
            .post(format!(
                "{}/v1/models/{}/predictions",
                self.api_url, req.model
            ))
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .timeout(Duration::from_secs(20))
            .json(&body)
            .send()
            .await
            .map_err(|_| SubmitError::Unavailable)?;
        let status = res.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Replicate does not document `Retry-After`; its clients read it when
            // present, and its throttling answers were seen carrying the wait in the
            // body's `retry_after` (seconds) instead (2026-08).
            let header = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = res.bytes().await.unwrap_or_default();
            let after = header
                .or_else(|| {
                    serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()?
                        .get("retry_after")?
                        .as_u64()
                })
                .map(Duration::from_secs);
            return Err(SubmitError::Throttled { after });
        }
        if status.is_server_error() {
            return Err(SubmitError::Unavailable);
        }
        // Replicate refuses content in the prediction (E005), never here: a 422 is
        // the model's schema refusing our input.
        if status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST {
            let body = res.bytes().await.unwrap_or_default();
            return Err(SubmitError::BadInput(invalid_fields(&body)));
        }
        if !status.is_success() {
            return Err(SubmitError::Failed(format!("submit answered {status}")));
        }
        let p: Prediction = res
            .json()
            .await
            .map_err(|_| SubmitError::Failed("submit answer is not a prediction".into()))?;
        if !valid_id(&p.id) {
            return Err(SubmitError::Failed("prediction id is not an id".into()));
        }
        Ok(p.id)
    }

    async fn do_progress(&self, handle: &str) -> Result<Progress, ProviderError> {
        let p = self.prediction(handle).await?;
        Ok(match p.status.as_str() {
            "starting" | "processing" => Progress::Pending,
            "succeeded" => Progress::Completed,
            "failed" if p.error.as_ref().is_some_and(refused_for_content) => Progress::Refused,
            _ => Progress::Failed,
        })
    }

    async fn do_output(&self, handle: &str) -> Result<Output, ProviderError> {
        let p = self.prediction(handle).await?;
        // A video model's output is one URL; some models answer a list of them.
        let url = match p.output {
            Some(serde_json::Value::String(url)) => Some(url),
            Some(serde_json::Value::Array(list)) => {
                list.into_iter().find_map(|v| v.as_str().map(str::to_owned))
            }
            _ => None,
        };
        match (p.status.as_str(), url) {
            ("succeeded", Some(url)) => Ok(Output {
                url,
                content_type: None,
                size: None,
            }),
            _ => Err(ProviderError::Failed("the prediction has no video".into())),
        }
    }

    async fn do_cancel(&self, handle: &str) -> Result<(), ProviderError> {
        if !valid_id(handle) {
            return Err(ProviderError::Failed("unreadable handle".into()));
        }
        let res = self
            .http
            .get()
            .post(format!("{}/v1/predictions/{handle}/cancel", self.api_url))
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(transient)?;
        // Cancelling a prediction that has ended changes nothing and is not an error.
        if res.status().is_success() || res.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(ProviderError::Transient(format!(
                "cancel answered {}",
                res.status()
            )))
        }
    }
}

impl VideoProvider for ReplicateClient {
    fn name(&self) -> &'static str {
        "replicate"
    }
    fn calls_back(&self) -> bool {
        true
    }
    fn request_id(&self, handle: &str) -> Option<String> {
        valid_id(handle).then(|| handle.to_owned())
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
    /// Nothing to call: an API prediction's inputs and outputs are removed by
    /// Replicate an hour after it ends (R16).
    fn delete<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            if valid_id(handle) {
                Ok(())
            } else {
                Err(ProviderError::Failed("unreadable handle".into()))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r16_only_ids_and_model_names_reach_a_path() {
        assert!(valid_id("q5n2mzkbx9rm80ct5wcbh1g6qr"));
        assert!(!valid_id("../x"));
        assert!(!valid_id(""));
        assert!(valid_model("google/veo-3.1"));
        for bad in ["google", "google/veo/x", "../veo", "google/", "a b/c"] {
            assert!(!valid_model(bad), "{bad}");
        }
    }

    #[test]
    fn r43_a_moderation_refusal_is_told_from_a_failure() {
        assert!(refused_for_content(&json!(
            "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
        )));
        assert!(!refused_for_content(&json!("CUDA out of memory")));
    }
}
