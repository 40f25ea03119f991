//! The outside world behind small typed APIs. Imports [`crate::domain`] only.

pub mod aws;
pub mod aws_calls;
pub mod aws_http;
pub mod creem;
pub mod dynamo;
pub mod env;
pub mod jwks;
pub mod kms;
pub mod metrics;
pub mod outbound;
pub mod providers;
pub mod rekognition;
pub mod s3;
pub mod ses;
pub mod sqs;
