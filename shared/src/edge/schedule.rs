//! Functions run on a schedule (EventBridge): one run does one round of work and says
//! what it did. A run that fails is retried by EventBridge; each round is idempotent,
//! so an extra run or two concurrent ones do no harm.

use std::future::Future;

use tracing::Instrument;

/// A scheduled function: its name (for logs) and one round of its work.
pub trait ScheduledStep: Send + Sync {
    const FUNCTION: &'static str;
    /// The metric each finished round emits: the step's heartbeat, whose absence an
    /// alarm reports (R48).
    const HEARTBEAT: crate::adapters::metrics::Metric;
    /// One round; the answer (counts of what was done) is logged and returned.
    fn run(&self) -> impl Future<Output = Result<serde_json::Value, String>> + Send;
}

/// Runs one round in a span that names the function and the cold start.
pub async fn run_round<S: ScheduledStep>(state: &S) -> Result<serde_json::Value, String> {
    let span = tracing::info_span!(
        "round",
        function = S::FUNCTION,
        cold_start = super::telemetry::cold_start()
    );
    async {
        let started = std::time::Instant::now();
        let result = state.run().await;
        let millis = started.elapsed().as_millis() as u64;
        match &result {
            Ok(done) => {
                tracing::info!(event = "round_done", done = %done, millis, "round done");
                crate::adapters::metrics::count(S::HEARTBEAT, &[]);
            }
            Err(reason) => tracing::error!(reason, "round failed; the schedule retries it"),
        }
        result
    }
    .instrument(span)
    .await
}
