//! `generate` (SQS, the generate queue): takes a job from `queued` to its output in the
//! outputs bucket (R13, R16).
//!
//! One message is one look at one job; the job's record says what to do next, so a
//! message delivered twice does no harm. Waiting for the provider is a new message
//! with a delay, never a sleep inside Lambda. The provider has until the policy's
//! deadline; then the job fails and is refunded. Once the file is stored, `deliver`
//! (fed by the bucket's event) takes over.

mod batch;
mod step;

pub use batch::handle_batch;
