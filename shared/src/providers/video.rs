//! The video provider interface (R13, R16).
//!
//! A generation is asynchronous everywhere: submit, look at its progress now and then,
//! fetch the output once it is done, then drop the provider's copy. What identifies the
//! request at the provider is an opaque *handle* string that only the provider's module
//! reads; the job stores it between steps. How the known providers fit:
//!
//! - **fal.ai queue API** ([`super::fal`]): submit = `POST {queue}/{model}` → handle
//!   holds `request_id`, `status_url`, `response_url`, `cancel_url`; progress =
//!   `GET status_url` (`IN_QUEUE`, `IN_PROGRESS`, `COMPLETED`); output =
//!   `GET response_url` → `video.url`; cancel = `PUT cancel_url`; delete =
//!   `DELETE {api}/models/requests/{id}/payloads`.
//! - **Google Veo** (Gemini API `models/{model}:predictLongRunning`, or Vertex AI's
//!   `…:predictLongRunning`): submit returns a long-running operation → the handle is
//!   the operation name; progress = `GET {operation}` (`done`, `error`); output =
//!   `response.generateVideoResponse.generatedSamples[0].video.uri` (Vertex: the
//!   `gcsUri` or bytes of `response.videos[0]`); cancel = `POST {operation}:cancel`;
//!   delete: the Gemini API drops generated files after two days and has no call for
//!   it, so `delete` is a no-op that says so (on Vertex, delete the GCS object).
//! - **Runway** (`POST /v1/text_to_video` or `/v1/image_to_video`): the handle is the
//!   task id; progress = `GET /v1/tasks/{id}` (`PENDING`, `THROTTLED`, `RUNNING`,
//!   `SUCCEEDED`, `FAILED`); output = `output[0]`; cancel and delete =
//!   `DELETE /v1/tasks/{id}`.
//!
//! Each is one new module implementing [`VideoProvider`] and one arm of
//! [`AnyProvider`]. Providers receive the prompt, the settings and the image only:
//! never the user's id, name or email (R16).

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;

use crate::domain::video::{Mode, VideoSettings};

/// What a provider is given: nothing that identifies the person.
#[derive(Debug, Clone)]
pub struct GenerationRequest<'a> {
    pub prompt: &'a str,
    pub mode: Mode,
    pub settings: &'a VideoSettings,
    /// A short-lived link to the input image (image-to-video only).
    pub image_url: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError {
    /// Busy or failing for now (429, 5xx, network): try again after a while.
    Retry { after: Option<Duration> },
    /// The provider will not take this request (its input rules): the job is rejected.
    Refused,
    /// Anything else that will not get better by retrying (credentials, our bug).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Pending,
    Completed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth retrying later.
    #[error("provider unavailable for now: {0}")]
    Transient(String),
    /// The request ended without a video.
    #[error("provider request failed: {0}")]
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub url: String,
    pub content_type: Option<String>,
    pub size: Option<u64>,
}

pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, ProviderError>> + Send>>;

pub trait VideoProvider: Send + Sync {
    /// For logs and the stored object's metadata.
    fn name(&self) -> &'static str;
    /// The model that serves this mode.
    fn model(&self, mode: Mode) -> &str;
    fn submit(
        &self,
        req: &GenerationRequest<'_>,
    ) -> impl Future<Output = Result<String, SubmitError>> + Send;
    fn progress(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Progress, ProviderError>> + Send;
    fn output(&self, handle: &str) -> impl Future<Output = Result<Output, ProviderError>> + Send;
    /// The output file as a stream of chunks, never whole in memory.
    fn download(
        &self,
        output: &Output,
    ) -> impl Future<Output = Result<ByteStream, ProviderError>> + Send;
    /// Stops a request we no longer want (a duplicate submission, a deleted job).
    fn cancel(&self, handle: &str) -> impl Future<Output = Result<(), ProviderError>> + Send;
    /// Drops the provider's copy of inputs and outputs where its API allows (R16).
    fn delete(&self, handle: &str) -> impl Future<Output = Result<(), ProviderError>> + Send;
}

/// The provider chosen by configuration.
pub enum AnyProvider {
    Fal(super::fal::FalClient),
}

impl VideoProvider for AnyProvider {
    fn name(&self) -> &'static str {
        match self {
            Self::Fal(p) => p.name(),
        }
    }
    fn model(&self, mode: Mode) -> &str {
        match self {
            Self::Fal(p) => p.model(mode),
        }
    }
    async fn submit(&self, req: &GenerationRequest<'_>) -> Result<String, SubmitError> {
        match self {
            Self::Fal(p) => p.submit(req).await,
        }
    }
    async fn progress(&self, handle: &str) -> Result<Progress, ProviderError> {
        match self {
            Self::Fal(p) => p.progress(handle).await,
        }
    }
    async fn output(&self, handle: &str) -> Result<Output, ProviderError> {
        match self {
            Self::Fal(p) => p.output(handle).await,
        }
    }
    async fn download(&self, output: &Output) -> Result<ByteStream, ProviderError> {
        match self {
            Self::Fal(p) => p.download(output).await,
        }
    }
    async fn cancel(&self, handle: &str) -> Result<(), ProviderError> {
        match self {
            Self::Fal(p) => p.cancel(handle).await,
        }
    }
    async fn delete(&self, handle: &str) -> Result<(), ProviderError> {
        match self {
            Self::Fal(p) => p.delete(handle).await,
        }
    }
}
