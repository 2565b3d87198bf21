//! The bot's `/metrics`: served on its own listener, parsed by a Prometheus text-format parser,
//! with the fleet, booking, outbox, job and request series present and their labels bounded;
//! and the shipped Grafana dashboard reads only series the bot exports.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use fake_agent::{FakeAgent, reading};
use maison_bot::jobs::Scheduler;
use maison_bot::monitoring;
use maison_bot::ports::Fleet;
use maison_tests::fake_slack::Failure;
use maison_tests::{Backend, BotTester, on_both_databases, test_config, test_start};
use prometheus_parse::{Sample, Scrape, Value};

/// Label names the bot may use: each has few values (hosts, GPUs, users, states, jobs).
const BOUNDED_LABELS: [&str; 8] = ["host", "gpu", "owner", "user", "state", "job", "kind", "le"];

async fn scrape(bot: &BotTester) -> (String, Scrape) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, monitoring::router(bot.app.clone())).into_future());
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
    (text, parsed)
}

fn value(sample: &Sample) -> f64 {
    match &sample.value {
        Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => *v,
        other => panic!("not a single value: {other:?}"),
    }
}

/// The value of `metric` with exactly these labels.
fn find(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: HashMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && *s.labels == wanted)
        .unwrap_or_else(|| panic!("no {metric}{labels:?} in {:#?}", names(scrape)));
    value(sample)
}

fn names(scrape: &Scrape) -> BTreeSet<String> {
    scrape.samples.iter().map(|s| s.metric.clone()).collect()
}

/// A bot with an agent on gpu01 (GPU 0 busy under Alice's booking, GPU 1 busy with nobody's
/// booking), someone waiting, a job that ran, a Slack call that failed; then one scrape.
async fn busy_fleet(backend: Backend) -> (BotTester, String, Scrape) {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let mut config = test_config();
    config.slack.announce_channel = None;
    let bot = BotTester::start_with_fleet(backend, config, fleet).await;
    bot.command("U0ALICE", "book gpu01:0 2h").await;
    agent.edit(|s| {
        s.current = vec![
            reading(
                test_start(),
                0,
                80.0,
                Some(("alice-train", Some("U0ALICE"))),
            ),
            reading(test_start(), 1, 55.0, Some(("stray", None))),
        ];
    });
    bot.poller().poll_once().await;
    bot.command("U0BOB", "book gpu01 1h --gpus 2 --wait").await;
    Scheduler::new(bot.app.clone())
        .unwrap()
        .run_now("outbox_retention", "test")
        .await
        .unwrap();
    // Dave's first command: Slack refuses his profile lookup (counted), the command goes on.
    bot.slack.fail_next(Failure::ServerError(503));
    bot.command("U0DAVE", "status").await;
    let (text, scrape) = scrape(&bot).await;
    (bot, text, scrape)
}

on_both_databases! {
    async fn metrics_describe_the_fleet_with_bounded_labels(backend: Backend) {
        let (bot, text, scrape) = busy_fleet(backend).await;
        assert_eq!(find(&scrape, "maison_host_gpus", &[("host", "gpu01")]), 2.0);
        assert_eq!(find(&scrape, "maison_host_gpus", &[("host", "gpu03")]), 8.0);
        assert_eq!(find(&scrape, "maison_host_gpus_booked", &[("host", "gpu01")]), 1.0);
        assert_eq!(find(&scrape, "maison_host_gpus_free", &[("host", "gpu01")]), 1.0);
        assert_eq!(find(&scrape, "maison_host_gpus_busy", &[("host", "gpu01")]), 2.0);
        assert_eq!(find(&scrape, "maison_agent_reachable", &[("host", "gpu01")]), 1.0);
        let alice = [("host", "gpu01"), ("gpu", "0"), ("owner", "U0ALICE")];
        assert!((find(&scrape, "maison_gpu_utilization_ratio", &alice) - 0.8).abs() < 1e-9);
        assert_eq!(find(&scrape, "maison_gpu_memory_used_bytes", &alice), (1u64 << 30) as f64);
        assert_eq!(find(&scrape, "maison_gpu_busy_unbooked", &[("host", "gpu01"), ("gpu", "1")]), 1.0);
        assert_eq!(find(&scrape, "maison_gpu_busy_unbooked", &[("host", "gpu01"), ("gpu", "0")]), 0.0);
        assert_eq!(find(&scrape, "maison_user_gpus_booked", &[("user", "U0ALICE")]), 1.0);
        assert_eq!(find(&scrape, "maison_bookings_active", &[]), 1.0);
        assert_eq!(find(&scrape, "maison_waitlist_requests", &[("state", "waiting")]), 1.0);
        assert!(find(&scrape, "maison_outbox_messages", &[("state", "pending")]) >= 0.0);
        assert!(find(&scrape, "maison_outbox_oldest_pending_age_seconds", &[]) >= 0.0);
        let job = find(&scrape, "maison_job_last_success_timestamp_seconds", &[("job", "outbox_retention")]);
        assert!(job >= test_start().timestamp() as f64, "{job}");
        assert!(find(&scrape, "maison_slack_api_errors_total", &[("kind", "Unavailable")]) >= 1.0);
        // Three commands answered, at least: the request histogram counted them.
        assert!(find(&scrape, "maison_request_duration_seconds_count", &[("kind", "Command")]) >= 3.0);

        // Bounded labels only: no container names or ids, whoever runs what.
        for sample in &scrape.samples {
            for (name, value) in sample.labels.iter() {
                assert!(BOUNDED_LABELS.contains(&name.as_str()), "{} has label {name}", sample.metric);
                assert!(!value.contains("stray") && !value.contains("alice-train"), "{sample:?}");
            }
        }
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
        bot.finish().await;
    }
}

/// Every query of `config/grafana-dashboard.json` names series the bot exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_reads_only_exported_series() {
    let (bot, _, scrape) = busy_fleet(Backend::Sqlite).await;
    let exported: BTreeSet<String> = names(&scrape)
        .into_iter()
        .chain(scrape.docs.keys().cloned())
        .collect();
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/grafana-dashboard.json"
    ))
    .unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&raw).expect("valid JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 4, "{} panels", panels.len());
    let mut queries = 0;
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("an expr");
            queries += 1;
            let series: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|word| word.starts_with("maison_"))
                .collect();
            assert!(!series.is_empty(), "{expr} reads no Maison series");
            for name in series {
                // A counter or histogram is declared once (`# HELP name`) and read through
                // its `_total` or `_bucket` series, which exist once something was counted.
                let declared = ["_total", "_bucket", "_sum", "_count"]
                    .iter()
                    .filter_map(|suffix| name.strip_suffix(suffix))
                    .any(|base| exported.contains(base));
                assert!(
                    exported.contains(name) || declared,
                    "{} reads {name}, which the bot does not export: {exported:?}",
                    panel["title"]
                );
            }
        }
    }
    assert!(queries >= 4);
    bot.finish().await;
}
