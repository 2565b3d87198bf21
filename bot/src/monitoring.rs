//! `/metrics` for Prometheus, served on its own address (`[server] metrics_listen`), apart from
//! the Slack routes: a scraper needs no Slack signature and Slack never sees the metrics.
//!
//! Fleet gauges are read from the store at scrape time (the poller keeps them fresh; the fleet
//! view caches host statuses for a second), so a scrape costs a handful of reads and nothing is
//! kept twice. Labels stay bounded: host, GPU index, the booking holder's Slack id, job name —
//! never a container id or a channel. The process-wide counters come from `telemetry`.
//!
//! Layer: a front, like `slack`: it reads through `app`'s store and config.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::app::App;
use crate::core::fleet::{BUSY_UTIL_PCT, HostState};
use crate::core::waitlist::WaitState;
use crate::telemetry;

/// The OpenMetrics text format, which Prometheus negotiates and parses.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// A gauge family filled for one scrape.
struct Gauges {
    family: Family<Labels, FloatGauge>,
}

/// A gauge without labels, filled for one scrape.
fn single(registry: &mut Registry, name: &str, help: &str) -> FloatGauge {
    let gauge = FloatGauge::default();
    registry.register(name, help, gauge.clone());
    gauge
}

impl Gauges {
    fn new(registry: &mut Registry, name: &str, help: &str) -> Self {
        let family = Family::<Labels, FloatGauge>::default();
        registry.register(name, help, family.clone());
        Gauges { family }
    }

    fn set(&self, labels: &[(&'static str, &str)], value: f64) {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        self.family.get_or_create(&labels).set(value);
    }
}

/// Every series, as one OpenMetrics text document.
pub async fn render(app: &App) -> anyhow::Result<String> {
    let now = app.clock.now().timestamp();
    let mut registry = Registry::default();
    let host_gpus = Gauges::new(
        &mut registry,
        "maison_host_gpus",
        "GPUs Maison books on the host",
    );
    let host_booked = Gauges::new(
        &mut registry,
        "maison_host_gpus_booked",
        "GPUs of the host booked now (wait-list offers included)",
    );
    let host_busy = Gauges::new(
        &mut registry,
        "maison_host_gpus_busy",
        "GPUs of the host busy now, as its agent last read them",
    );
    let host_free = Gauges::new(
        &mut registry,
        "maison_host_gpus_free",
        "GPUs of the host with no booking now",
    );
    let drained = Gauges::new(
        &mut registry,
        "maison_host_drained",
        "1 while the host is drained",
    );
    let reachable = Gauges::new(
        &mut registry,
        "maison_agent_reachable",
        "1 while the host's agent answers the poller",
    );
    let utilisation = Gauges::new(
        &mut registry,
        "maison_gpu_utilization_ratio",
        "GPU utilisation (0-1) at the agent's last reading; owner is the booking's holder",
    );
    let memory = Gauges::new(
        &mut registry,
        "maison_gpu_memory_used_bytes",
        "GPU memory in use at the agent's last reading; owner is the booking's holder",
    );
    let unbooked_use = Gauges::new(
        &mut registry,
        "maison_gpu_busy_unbooked",
        "1 while a GPU is busy without a booking",
    );
    let user_gpus = Gauges::new(
        &mut registry,
        "maison_user_gpus_booked",
        "GPUs booked now, per Slack user",
    );
    let bookings = single(
        &mut registry,
        "maison_bookings_active",
        "Bookings running now",
    );
    let waiting = Gauges::new(
        &mut registry,
        "maison_waitlist_requests",
        "Wait-list requests by state",
    );
    let outbox = Gauges::new(
        &mut registry,
        "maison_outbox_messages",
        "Outbox messages by state",
    );
    let outbox_age = single(
        &mut registry,
        "maison_outbox_oldest_pending_age_seconds",
        "Age of the oldest message waiting to be sent (0 when none)",
    );
    let job_success = Gauges::new(
        &mut registry,
        "maison_job_last_success_timestamp_seconds",
        "When each scheduled job last finished well (Unix seconds)",
    );
    telemetry::register(&mut registry);

    let hosts = app.db.listed_hosts(&app.config.hosts).await?;
    let statuses = app.db.host_statuses().await?;
    let running = app.db.bookings_overlapping(None, now, now + 1).await?;
    let mut per_user: std::collections::BTreeMap<&str, u32> = Default::default();
    for b in &running {
        *per_user.entry(b.slack_user_id.as_str()).or_default() += b.gpus.len() as u32;
    }
    for host in &hosts {
        let name = host.name.as_str();
        let holder = |gpu: u32| {
            running
                .iter()
                .find(|b| b.host == host.name && b.gpus.contains(&gpu))
                .map(|b| b.slack_user_id.as_str())
        };
        let booked = (0..host.gpu_count).filter(|g| holder(*g).is_some()).count();
        host_gpus.set(&[("host", name)], f64::from(host.gpu_count));
        host_booked.set(&[("host", name)], booked as f64);
        host_free.set(&[("host", name)], (host.gpu_count as usize - booked) as f64);
        drained.set(
            &[("host", name)],
            f64::from(u8::from(host.state == HostState::Drained)),
        );
        let Some(status) = statuses.iter().find(|s| s.host == host.name) else {
            continue;
        };
        reachable.set(&[("host", name)], f64::from(u8::from(status.reachable)));
        let mut busy = 0;
        for reading in status.readings.iter().filter(|r| !r.stale) {
            let gpu = reading.gpu.to_string();
            let owner = holder(reading.gpu).unwrap_or("");
            let is_busy = reading.util_pct >= f64::from(BUSY_UTIL_PCT);
            busy += usize::from(is_busy);
            let labels = [("host", name), ("gpu", gpu.as_str()), ("owner", owner)];
            utilisation.set(&labels, reading.util_pct / 100.0);
            memory.set(&labels, reading.mem_used_bytes as f64);
            unbooked_use.set(
                &[("host", name), ("gpu", gpu.as_str())],
                f64::from(u8::from(is_busy && holder(reading.gpu).is_none())),
            );
        }
        host_busy.set(&[("host", name)], busy as f64);
    }
    for (user, gpus) in per_user {
        user_gpus.set(&[("user", user)], f64::from(gpus));
    }
    bookings.set(running.iter().filter(|b| b.held_until.is_none()).count() as f64);
    let open = app.db.open_wait_requests().await?;
    for state in [WaitState::Waiting, WaitState::Offered] {
        let n = open.iter().filter(|r| r.state == state).count();
        waiting.set(&[("state", state.as_str())], n as f64);
    }
    let stats = app.db.outbox_stats().await?;
    outbox.set(&[("state", "pending")], stats.pending as f64);
    outbox.set(&[("state", "parked")], stats.parked as f64);
    outbox_age.set(stats.oldest_pending_at.map_or(0, |at| (now - at).max(0)) as f64);
    for (job, at) in app.db.last_job_successes().await? {
        job_success.set(&[("job", job.as_str())], at as f64);
    }
    let mut text = String::with_capacity(8192);
    encode(&mut text, &registry).context("encoding the metrics")?;
    Ok(text)
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    match render(&app).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(err) => {
            warn!(error = %format!("{err:#}"), "cannot render /metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable\n").into_response()
        }
    }
}

/// The metrics routes: `/metrics` only.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(app)
}

/// Serves `/metrics` on `listen` until `shutdown`.
pub async fn serve(
    app: Arc<App>,
    listen: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen for metrics on {listen}"))?;
    info!(%listen, "serving Prometheus metrics at /metrics");
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, router(app))
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(err) = served {
            warn!(error = %err, "the metrics server stopped");
        }
    }))
}
