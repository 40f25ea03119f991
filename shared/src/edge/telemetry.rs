//! JSON logs without personal data (R37), with spans that follow one request or one
//! message (request id, message id, job id, cold start) through every function.
//!
//! Log lines carry ids, routes, statuses and timings. Emails, prompts, codes, tokens
//! and IPs are never passed to a log macro; the default filter keeps the AWS SDK at
//! `info`, so request bodies it could print at `debug`/`trace` never reach the logs.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;

use crate::adapters::env::Env;

pub const DEFAULT_FILTER: &str = "info";

/// The filter `RUST_LOG` names (`level` or `target=level,…`), or the default. A
/// target filter, not `EnvFilter`: that one brings a regex engine into every binary.
pub fn filter(env: &Env) -> Targets {
    env.optional("RUST_LOG")
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| DEFAULT_FILTER.parse().expect("a valid default filter"))
}

/// Installs the JSON subscriber on standard output, as CloudWatch expects.
pub fn init(env: &Env) {
    init_with_writer(filter(env), std::io::stdout);
}

/// The same subscriber writing elsewhere (tests capture the lines to inspect them).
/// A second call is ignored.
pub fn init_with_writer<W>(filter: Targets, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        // Every enclosing span's fields: the message id and the job id of one line.
        .with_span_list(true)
        .with_ansi(false)
        // The builder's own ceiling is `info`; the target filter below is the only one.
        .with_max_level(tracing::Level::TRACE)
        .with_writer(writer)
        .finish()
        .with(filter)
        .try_init();
}

static WARM: AtomicBool = AtomicBool::new(false);

/// True for the first request or batch this process serves (the one that paid for
/// the init), false afterwards.
pub fn cold_start() -> bool {
    let cold = !WARM.swap(true, Ordering::Relaxed);
    if cold {
        crate::adapters::metrics::count(crate::adapters::metrics::Metric::ColdStarts, &[]);
    }
    cold
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_first_invocation_of_a_process_is_cold() {
        assert!(super::cold_start());
        assert!(!super::cold_start());
        assert!(!super::cold_start());
    }
}
