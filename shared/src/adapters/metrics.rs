//! What the service counts (R48), in CloudWatch's embedded metric format: one JSON
//! line per value on standard output, which Lambda sends to CloudWatch Logs and
//! CloudWatch turns into a metric. No AWS call on any path, and nothing to configure.
//! An adapter (to CloudWatch, through the logs) rather than a part of the edge, so that
//! the shared steps of `app/` that end jobs and record refusals emit where they act.
//!
//! Names and dimensions are closed sets ([`Metric`], [`Dim`]): a dimension is a model,
//! a provider or an outcome, never an account, a job or a person, so no value of one
//! can name somebody. The alarms and the dashboard of the template use these names
//! (a test holds the two together). Source of the format: Amazon CloudWatch User
//! Guide, "Specification: Embedded metric format"; read 2026-12-07.

use std::sync::OnceLock;

/// The namespace of every metric of the service.
pub const NAMESPACE: &str = "Sora2AI";

/// A metric the service emits, and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A video accepted and charged (`videos`), by model.
    VideosSubmitted,
    /// A video ready (`deliver`), by model and provider.
    VideosReady,
    /// A video that ended failed (refunded), by model and outcome (the reason).
    VideosFailed,
    /// A video the provider refused (refunded), by model.
    VideosRejected,
    /// Seconds from the request to ready (`deliver`), by model.
    TimeToReady,
    /// A job moved from a failing provider to the next (R43), by model and provider.
    Failovers,
    /// Credits given back for a video that was not made.
    Refunds,
    /// A content refusal (R45, R46), by outcome: prompt, image, minor, output, removal.
    ContentRefusals,
    /// Milliseconds to sign a video's content credentials (`stamp`).
    StampingTime,
    /// A rights request received, by outcome (its kind).
    RightsRequestsOpened,
    /// A rights request completed, by outcome (its kind).
    RightsRequestsCompleted,
    /// A rights request that ended failed at its due date, by outcome (its kind).
    RightsRequestsFailed,
    /// Days left to the due date of the open rights request due soonest (`purge-expired`,
    /// each round, while one is open).
    RightsRequestDaysLeft,
    /// Credits granted for a payment (`checkout-webhook`).
    CreditsSold,
    /// Credits taken back for a refund or a dispute.
    CreditsTakenBack,
    /// A payment that arrived after its account was erased: a refund is due (R28).
    PaymentsAfterErasure,
    /// A provider's circuit opened or closed (R43), by provider.
    CircuitOpened,
    CircuitClosed,
    /// Whether a provider's circuit is open now (1) or not (0), each `sweep` round.
    CircuitOpen,
    /// A round of `purge-expired` finished: its heartbeat (R33).
    PurgeRound,
    /// A round of `sweep` finished: its heartbeat (R13).
    SweepRound,
    /// A process's first invocation (the one that paid for the init).
    ColdStarts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Milliseconds,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Seconds => "Seconds",
            Self::Milliseconds => "Milliseconds",
            Self::None => "None",
        }
    }
}

impl Metric {
    pub const ALL: [Self; 22] = [
        Self::VideosSubmitted,
        Self::VideosReady,
        Self::VideosFailed,
        Self::VideosRejected,
        Self::TimeToReady,
        Self::Failovers,
        Self::Refunds,
        Self::ContentRefusals,
        Self::StampingTime,
        Self::RightsRequestsOpened,
        Self::RightsRequestsCompleted,
        Self::RightsRequestsFailed,
        Self::RightsRequestDaysLeft,
        Self::CreditsSold,
        Self::CreditsTakenBack,
        Self::PaymentsAfterErasure,
        Self::CircuitOpened,
        Self::CircuitClosed,
        Self::CircuitOpen,
        Self::PurgeRound,
        Self::SweepRound,
        Self::ColdStarts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::VideosSubmitted => "VideosSubmitted",
            Self::VideosReady => "VideosReady",
            Self::VideosFailed => "VideosFailed",
            Self::VideosRejected => "VideosRejected",
            Self::TimeToReady => "TimeToReady",
            Self::Failovers => "Failovers",
            Self::Refunds => "Refunds",
            Self::ContentRefusals => "ContentRefusals",
            Self::StampingTime => "StampingTime",
            Self::RightsRequestsOpened => "RightsRequestsOpened",
            Self::RightsRequestsCompleted => "RightsRequestsCompleted",
            Self::RightsRequestsFailed => "RightsRequestsFailed",
            Self::RightsRequestDaysLeft => "RightsRequestDaysLeft",
            Self::CreditsSold => "CreditsSold",
            Self::CreditsTakenBack => "CreditsTakenBack",
            Self::PaymentsAfterErasure => "PaymentsAfterErasure",
            Self::CircuitOpened => "CircuitOpened",
            Self::CircuitClosed => "CircuitClosed",
            Self::CircuitOpen => "CircuitOpen",
            Self::PurgeRound => "PurgeRound",
            Self::SweepRound => "SweepRound",
            Self::ColdStarts => "ColdStarts",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Self::TimeToReady => Unit::Seconds,
            Self::StampingTime => Unit::Milliseconds,
            Self::RightsRequestDaysLeft | Self::CircuitOpen => Unit::None,
            _ => Unit::Count,
        }
    }
}

/// A dimension: the only things a metric is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dim {
    Model,
    Provider,
    Outcome,
}

impl Dim {
    pub fn name(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Provider => "provider",
            Self::Outcome => "outcome",
        }
    }
}

/// Where the lines go: standard output (Lambda), unless the local stack collects them.
static SINK: OnceLock<Sink> = OnceLock::new();

/// A receiver of lines.
pub type Sink = Box<dyn Fn(&str) + Send + Sync>;

/// Sends every line to `sink` instead of standard output (the local stack's
/// `GET /_local/metrics`). Only the first call counts.
pub fn set_sink(sink: Sink) {
    let _ = SINK.set(sink);
}

/// The embedded-metric-format line of one value.
pub fn line(metric: Metric, value: f64, dims: &[(Dim, &str)], at_millis: i64) -> String {
    let names: Vec<&str> = dims.iter().map(|(d, _)| d.name()).collect();
    let mut doc = serde_json::json!({
        "_aws": {
            "Timestamp": at_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // Broken down by its dimensions, and in total (the empty set): the
                // alarms watch the totals, the dashboard the breakdown.
                "Dimensions": if names.is_empty() { vec![names] } else { vec![names, Vec::new()] },
                "Metrics": [{ "Name": metric.name(), "Unit": metric.unit().as_str() }],
            }],
        },
        metric.name(): value,
    });
    for (d, v) in dims {
        // A value is a model id, a provider name or an outcome word: short, and kept
        // short, so a slip cannot put a prompt into a dimension.
        doc[d.name()] = serde_json::Value::from(v.chars().take(64).collect::<String>());
    }
    doc.to_string()
}

/// Emits one value of `metric`, broken down by `dims`.
pub fn emit(metric: Metric, value: f64, dims: &[(Dim, &str)]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let line = line(metric, value, dims, now);
    match SINK.get() {
        Some(sink) => sink(&line),
        None => println!("{line}"),
    }
}

/// One of `metric` (a count).
pub fn count(metric: Metric, dims: &[(Dim, &str)]) {
    emit(metric, 1.0, dims);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r48_a_line_is_cloudwatchs_embedded_metric_format() {
        let line = line(
            Metric::VideosReady,
            1.0,
            &[(Dim::Model, "kling-2.5"), (Dim::Provider, "fal")],
            1_700_000_000_000,
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["model", "provider"], []])
        );
        assert_eq!(directive["Metrics"][0]["Name"], "VideosReady");
        assert_eq!(directive["Metrics"][0]["Unit"], "Count");
        // Each dimension and the metric are members of the root, as the format requires.
        assert_eq!(v["model"], "kling-2.5");
        assert_eq!(v["provider"], "fal");
        assert_eq!(v["VideosReady"], 1.0);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }
}
