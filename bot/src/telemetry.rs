//! Process-wide counters and histograms for Prometheus: how long Slack requests take to answer
//! and how often Slack's Web API fails. They are counted where they happen (the app, the
//! Slack client) and read by the `/metrics` front, which adds the fleet's gauges at scrape
//! time (see `monitoring`).
//!
//! One process-wide instance, like a logger: threading a handle through every layer for two
//! counters would cost more clarity than it buys. Labels are bounded on purpose (a kind, never
//! a user, container or channel).
//!
//! Layer: the bottom, beside `config`; it imports nothing of the crate.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// What kind of Slack request was answered.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum RequestKind {
    Command,
    Click,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: RequestKind,
}

/// How a Web API call failed, as the outbox treats it.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum SlackFailure {
    /// 429: Slack asked us to slow down.
    RateLimited,
    /// 5xx, timeouts, transport: retried.
    Unavailable,
    /// Refused for good (e.g. `channel_not_found`).
    Refused,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    kind: SlackFailure,
}

type HistogramMaker = fn() -> Histogram;

struct Telemetry {
    request_seconds: Family<RequestLabels, Histogram, HistogramMaker>,
    slack_errors: Family<FailureLabels, Counter>,
}

/// Up to Slack's 3 s deadline and past it: the buckets a latency alert needs.
fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0, 10.0,
    ])
}

fn telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(|| Telemetry {
        request_seconds: Family::new_with_constructor(latency_histogram),
        slack_errors: Family::default(),
    })
}

/// A Slack request (command or click) was answered after `took`.
pub fn request_answered(kind: RequestKind, took: Duration) {
    telemetry()
        .request_seconds
        .get_or_create(&RequestLabels { kind })
        .observe(took.as_secs_f64());
}

/// A Slack Web API call failed.
pub fn slack_failed(kind: SlackFailure) {
    telemetry()
        .slack_errors
        .get_or_create(&FailureLabels { kind })
        .inc();
}

/// Adds the process-wide metrics to a scrape's registry (they are shared, not copied).
pub fn register(registry: &mut Registry) {
    let t = telemetry();
    registry.register(
        "maison_request_duration_seconds",
        "Time to answer a Slack command or click, from arrival to reply",
        t.request_seconds.clone(),
    );
    registry.register(
        "maison_slack_api_errors",
        "Slack Web API calls that failed, by kind",
        t.slack_errors.clone(),
    );
}
