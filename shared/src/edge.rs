//! Where Lambda meets the code: wiring from configuration, HTTP plumbing, the SQS batch
//! runner, telemetry, and the `main` helpers every function calls.

pub mod http;
pub mod lambda;
pub mod openapi;
pub mod problem;
pub mod queue_batch;
pub mod s3_events;
pub mod schedule;
pub mod shared_state;
pub mod telemetry;
pub mod wiring;
