//! What a function holds between invocations, one shape for all of them: its own
//! `Services` (stores, clients, settings), built once per process from the base and the
//! function's own variables ([`Wire`]), behind an `Arc` that every handler and step
//! gets a cheap clone of ([`Shared`]). A function crate writes its `Services` and how
//! they are wired; the sharing, and the traits the runners need, are here once.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsMessage;

use crate::adapters::env::{ConfigError, Env};
use crate::edge::http::session::SessionCheck;
use crate::edge::queue_batch::{QueueStep, StepError};
use crate::edge::schedule::ScheduledStep;
use crate::edge::wiring::Base;

/// How a function's services are made: from the process's base (clients, clock,
/// policy) and the function's own variables, each read once, a missing one named.
pub trait Wire: Sized {
    fn wire(base: &Base, env: &Env) -> Result<Self, ConfigError>;
}

/// A function's services, shared by every invocation of the process.
pub struct Shared<S>(Arc<S>);

impl<S> Shared<S> {
    /// Services made otherwise than from the environment (a test's own providers).
    pub fn new(services: S) -> Self {
        Self(Arc::new(services))
    }
}

impl<S: Wire> Shared<S> {
    pub fn build(base: &Base, env: &Env) -> Result<Self, ConfigError> {
        Ok(Self(Arc::new(S::wire(base, env)?)))
    }
}

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S> std::ops::Deref for Shared<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

/// An HTTP function's session check, for the `AuthUser` extractor.
impl<S: AsRef<SessionCheck>> AsRef<SessionCheck> for Shared<S> {
    fn as_ref(&self) -> &SessionCheck {
        self.0.as_ref().as_ref()
    }
}

impl<S: QueueStep> QueueStep for Shared<S> {
    const FUNCTION: &'static str = S::FUNCTION;
    fn step(
        &self,
        message: &SqsMessage,
    ) -> impl std::future::Future<Output = Result<(), StepError>> + Send {
        self.0.step(message)
    }
}

impl<S: ScheduledStep> ScheduledStep for Shared<S> {
    const FUNCTION: &'static str = S::FUNCTION;
    const HEARTBEAT: crate::adapters::metrics::Metric = S::HEARTBEAT;
    fn run(&self) -> impl std::future::Future<Output = Result<serde_json::Value, String>> + Send {
        self.0.run()
    }
}
