//! The video provider interface (R13, R16).
//!
//! A generation is asynchronous everywhere: submit, look at its progress now and then,
//! fetch the output once it is done, then drop the provider's copy. What identifies the
//! request at the provider is an opaque *handle* string that only the provider's module
//! reads; the job stores it between steps. How the known providers fit:
//!
//! - **fal.ai queue API** ([`super::fal`]): submit = `POST {queue}/{model}` (with
//!   `fal_webhook`, the URL fal calls on completion, see [`super::fal_webhook`]) →
//!   handle holds `request_id`, `status_url`, `response_url`, `cancel_url`; progress =
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
//! - **Replicate** ([`super::replicate`]): submit = `POST /v1/models/{owner}/{name}/predictions`
//!   with `webhook` → the handle is the prediction id; progress = `GET
//!   /v1/predictions/{id}`; output = its `output` URL; cancel = `POST
//!   /v1/predictions/{id}/cancel`; delete: Replicate drops an API prediction's inputs
//!   and outputs an hour after it ends and has no call for it, so `delete` says so.
//!
//! Adding one is one new module implementing [`VideoProvider`] with a `from_env`, and
//! one line in [`REGISTRY`]; `VIDEO_PROVIDERS` lists the ones a deployment uses, and
//! the models catalogue says which serves what. Providers receive the prompt, the
//! settings and the image only: never the user's id, name or email (R16).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;

use crate::adapters::env::{ConfigError, Env};
use crate::adapters::outbound::LazyClient;

/// What a provider is given: nothing that identifies the person.
#[derive(Debug, Clone)]
pub struct GenerationRequest<'a> {
    /// The provider's own id of the model (from the catalogue).
    pub model: &'a str,
    /// The model's input, in its own fields and forms (see
    /// [`crate::domain::models::Endpoint::input`]): the prompt, the settings and a
    /// short-lived link to the input image.
    pub input: &'a serde_json::Map<String, serde_json::Value>,
    /// Where the provider should call when the request ends (our webhook, naming our
    /// job's random id, nothing about the person), if it calls back.
    pub callback: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError {
    /// Failing for now (5xx, timeout, network): the provider may be down (R43).
    Unavailable,
    /// Rate-limited (429), with the wait it asked for, if it said.
    Throttled { after: Option<Duration> },
    /// The provider's moderation refuses the request's content: the job is rejected,
    /// and never sent to another provider (R43).
    Refused,
    /// The provider's schema does not take our input (the catalogue no longer matches
    /// the vendor's model): nothing about the person's content, so another provider
    /// may take the job; an operator must fix the catalogue. Carries the vendor's
    /// field names and error types only, never an input's value.
    BadInput(String),
    /// Anything else that will not get better by retrying (credentials, our bug).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Pending,
    Completed,
    /// Ended without a video: the provider failed it.
    Failed,
    /// Ended without a video: the provider's moderation refused it (never retried
    /// elsewhere, R43).
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth retrying later.
    #[error("provider unavailable for now: {0}")]
    Transient(String),
    /// The request ended without a video.
    #[error("provider request failed: {0}")]
    Failed(String),
    /// The request ended without a video: the provider's moderation refused its
    /// content (never retried elsewhere, R43).
    #[error("provider refused the content")]
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub url: String,
    pub content_type: Option<String>,
    pub size: Option<u64>,
}

pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, ProviderError>> + Send>>;

/// A provider's answer, boxed so the provider can be chosen at start-up
/// (`Arc<dyn VideoProvider>`).
pub type Answer<'a, T> = futures_util::future::BoxFuture<'a, T>;

pub trait VideoProvider: Send + Sync {
    /// For logs and the stored object's metadata; the name the catalogue uses.
    fn name(&self) -> &'static str;
    /// Whether the provider calls [`GenerationRequest::callback`] when a request ends.
    fn calls_back(&self) -> bool;
    /// The provider's id of the request a stored handle names, as its completion calls
    /// name it.
    fn request_id(&self, handle: &str) -> Option<String>;
    fn submit<'a>(
        &'a self,
        req: &'a GenerationRequest<'a>,
    ) -> Answer<'a, Result<String, SubmitError>>;
    fn progress<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<Progress, ProviderError>>;
    fn output<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<Output, ProviderError>>;
    /// The output file as a stream of chunks, never whole in memory.
    fn download<'a>(&'a self, output: &'a Output) -> Answer<'a, Result<ByteStream, ProviderError>>;
    /// Stops a request we no longer want (a duplicate submission, a deleted job).
    fn cancel<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<(), ProviderError>>;
    /// Drops the provider's copy of inputs and outputs where its API allows (R16).
    fn delete<'a>(&'a self, handle: &'a str) -> Answer<'a, Result<(), ProviderError>>;
}

/// How a provider is made from its own configuration variables.
pub type Build = fn(&Env, LazyClient) -> Result<Arc<dyn VideoProvider>, ConfigError>;

/// Every provider this build knows, by the names `VIDEO_PROVIDERS` gives.
pub const REGISTRY: &[(&str, Build)] = &[
    ("fal", super::fal::FalClient::from_env),
    ("replicate", super::replicate::ReplicateClient::from_env),
];

/// The providers a deployment uses, each built once from its own variables.
#[derive(Clone)]
pub struct Providers {
    by_name: Vec<(&'static str, Arc<dyn VideoProvider>)>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Providers {
    /// The providers `VIDEO_PROVIDERS` (comma-separated names) lists.
    pub fn from_env(env: &Env, http: LazyClient) -> Result<Self, ConfigError> {
        let listed = env.required("VIDEO_PROVIDERS")?;
        let mut by_name = Vec::new();
        for name in listed.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let (known, build) = REGISTRY
                .iter()
                .find(|(known, _)| *known == name)
                .ok_or_else(|| ConfigError::Invalid {
                    var: "VIDEO_PROVIDERS",
                    reason: format!(
                        "unknown provider {name:?} (known: {})",
                        REGISTRY
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
            if by_name.iter().any(|(n, _)| n == known) {
                continue;
            }
            by_name.push((*known, build(env, http.clone())?));
        }
        if by_name.is_empty() {
            return Err(ConfigError::Invalid {
                var: "VIDEO_PROVIDERS",
                reason: "no provider listed".into(),
            });
        }
        Ok(Self { by_name })
    }

    /// Providers given rather than configured (tests).
    pub fn of_list(list: Vec<Arc<dyn VideoProvider>>) -> Self {
        Self {
            by_name: list.into_iter().map(|p| (p.name(), p)).collect(),
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.by_name.iter().map(|(n, _)| *n).collect()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn VideoProvider>> {
        self.by_name
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p)
    }

    /// The provider a job is (or was) at, if this deployment still has it.
    pub fn of_job(&self, job: &crate::domain::video::Job) -> Option<&Arc<dyn VideoProvider>> {
        self.get(job.provider.as_deref()?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn r16_every_video_provider_is_a_named_processor() {
        for (name, _) in super::REGISTRY {
            assert!(
                crate::domain::inventory::PROCESSORS
                    .iter()
                    .any(|p| p.name == *name),
                "{name} is not in the inventory's processors"
            );
        }
    }
}
