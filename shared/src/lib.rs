//! The common crate of every Sora2 AI function, in four layers. A layer imports only
//! the layers above it in this list (a test reads the `use crate::…` lines to keep it so):
//!
//! - [`domain`]: rules and numbers — accounts, videos and their state machine, the
//!   ledger, the sensitive-data detector, the privacy policy's periods and limits, the
//!   retention map, hashing. Plain Rust: no AWS SDK, no HTTP, no environment.
//! - [`adapters`]: the outside world behind small typed APIs — the process
//!   environment, DynamoDB stores, S3, SQS, SES, the outbound HTTP client and the video
//!   providers. They return typed results, never HTTP answers.
//! - [`app`]: steps several functions share — ending a job with its refund, recording
//!   a content violation.
//! - [`edge`]: where Lambda meets the code — the per-function wiring from configuration,
//!   HTTP extractors and problem+json, the SQS batch runner, telemetry and the two
//!   `main` helpers.
//!
//! Code one function alone uses lives in that function's crate.

pub mod domain;

pub mod adapters;

pub mod app;

pub mod edge;

pub use edge::problem::ApiError;

/// For `http_routes!`, which describes each route with utoipa-axum's `routes!`.
#[doc(hidden)]
pub use utoipa_axum as __utoipa_axum;
