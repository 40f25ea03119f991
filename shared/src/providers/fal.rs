//! fal.ai's queue API client (R13, R16).

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::outbound::LazyClient;

use super::video::{
    ByteStream, GenerationRequest, Output, Progress, ProviderError, SubmitError, VideoProvider,
};
use crate::config::ProviderConfig;
use crate::domain::video::Mode;

pub struct FalClient {
    http: LazyClient,
    queue_url: String,
    api_url: String,
    text_model: String,
    image_model: String,
    key: String,
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
    pub fn new(http: LazyClient, config: &ProviderConfig) -> Self {
        Self {
            http,
            queue_url: config.fal_queue_url.trim_end_matches('/').to_owned(),
            api_url: config.fal_api_url.trim_end_matches('/').to_owned(),
            text_model: config.fal_text_model.clone(),
            image_model: config.fal_image_model.clone(),
            key: config.fal_key.clone().unwrap_or_default(),
        }
    }

    fn auth(&self) -> String {
        format!("Key {}", self.key)
    }
}

fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    res.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

impl VideoProvider for FalClient {
    fn name(&self) -> &'static str {
        "fal"
    }

    fn model(&self, mode: Mode) -> &str {
        match mode {
            Mode::Text => &self.text_model,
            Mode::Image => &self.image_model,
        }
    }

    async fn submit(&self, req: &GenerationRequest<'_>) -> Result<String, SubmitError> {
        // The model's input: prompt, settings, image. Nothing about the person (R16).
        let mut input = json!({
            "prompt": req.prompt,
            "duration": format!("{}s", req.settings.seconds),
            "aspect_ratio": req.settings.aspect_ratio,
            "generate_audio": req.settings.audio,
        });
        if let Some(url) = req.image_url {
            input["image_url"] = json!(url);
        }
        let res = self
            .http
            .get()
            .post(format!("{}/{}", self.queue_url, self.model(req.mode)))
            .header(reqwest::header::AUTHORIZATION, self.auth())
            // Ask fal not to keep the request's inputs and outputs (R16).
            .header("X-Fal-Store-IO", "0")
            .timeout(Duration::from_secs(20))
            .json(&input)
            .send()
            .await
            .map_err(|_| SubmitError::Retry { after: None })?;
        let status = res.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(SubmitError::Retry {
                after: retry_after(&res),
            });
        }
        if status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST {
            return Err(SubmitError::Refused);
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

    async fn progress(&self, handle: &str) -> Result<Progress, ProviderError> {
        #[derive(Deserialize)]
        struct Status {
            status: String,
            #[serde(default)]
            error: Option<serde_json::Value>,
        }
        let h = Handle::parse(handle)?;
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
            "COMPLETED" if s.error.as_ref().is_some_and(|e| !e.is_null()) => Progress::Failed,
            "COMPLETED" => Progress::Completed,
            _ => Progress::Failed,
        })
    }

    async fn output(&self, handle: &str) -> Result<Output, ProviderError> {
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
        let h = Handle::parse(handle)?;
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
        // A finished request that failed answers its error here.
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

    async fn download(&self, output: &Output) -> Result<ByteStream, ProviderError> {
        let res = self
            .http
            .get()
            .get(&output.url)
            .send()
            .await
            .map_err(transient)?;
        if !res.status().is_success() {
            return Err(ProviderError::Transient(format!(
                "download answered {}",
                res.status()
            )));
        }
        Ok(Box::pin(res.bytes_stream().map(|r| r.map_err(transient))))
    }

    async fn cancel(&self, handle: &str) -> Result<(), ProviderError> {
        let h = Handle::parse(handle)?;
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

    async fn delete(&self, handle: &str) -> Result<(), ProviderError> {
        let h = Handle::parse(handle)?;
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
        if res.status().is_success() || res.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(ProviderError::Transient(format!(
                "delete answered {}",
                res.status()
            )))
        }
    }
}
