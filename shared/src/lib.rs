//! The common crate of every Sora2 AI function.
//!
//! - [`policy`], [`domain`] and [`crypto`] are plain Rust: rules, retention numbers and
//!   hashing, with no AWS SDK and no HTTP client.
//! - [`config`], [`aws`], [`store`], [`mail`], [`identity`] and [`ratelimit`] are the
//!   adapters to DynamoDB, SES and Google.
//! - [`http`] and [`problem`] are the HTTP plumbing every API function shares.
//! - [`state`] ties them together into the one value a handler borrows.

pub mod aws;
pub mod blobs;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod enforcement;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod mail;
pub mod outbound;
pub mod policy;
pub mod problem;
pub mod providers;
pub mod queue;
pub mod ratelimit;
pub mod sqs_batch;
pub mod state;
pub mod store;
pub mod telemetry;

pub use problem::ApiError;
pub use state::{AppState, VideoState};
