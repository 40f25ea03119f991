//! JSON logs without personal data (R37).
//!
//! Log lines carry ids, routes, statuses and timings. Emails, prompts, codes, tokens
//! and IPs are never passed to a log macro; the default filter keeps the AWS SDK at
//! `info`, so request bodies it could print at `debug`/`trace` never reach the logs.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub const DEFAULT_FILTER: &str = "info";

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// Installs the JSON subscriber on standard output, as CloudWatch expects.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same subscriber writing elsewhere (tests capture the lines to inspect them).
/// A second call is ignored.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_ansi(false)
        .with_env_filter(filter())
        .with_writer(writer)
        .try_init();
}
