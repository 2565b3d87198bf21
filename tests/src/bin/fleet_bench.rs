//! Fleet polling and metric storage benchmark. Prints figures; asserts nothing.
//!
//! (a) **Polling.** Starts `--agents` simulated agents on loopback, each a real HTTPS endpoint
//! served by the agent's own mutual-TLS stack (`maison_agent::server::serve_tls`, certificates
//! from a fresh Maison CA, SAN 127.0.0.1). `--silent-pct` of them accept TCP but never answer,
//! not even the TLS handshake. The bot's real [`Poller`] polls them through the real
//! `AgentClient` into a SQLite file, for `--cycles` cycles. Prints the time per cycle, the hosts
//! that answered and the ingest rate (minute rows stored per second of cycle). Target
//! (DESIGN.md §5): 500 agents, 10 % unresponsive, polled within 2 s per cycle.
//!
//! The per-call timeout is `--timeout-ms` (1500 by default): a silent agent costs exactly one
//! timeout per cycle (the poller asks for the host facts first and stops there on failure), and
//! all silent agents wait in parallel, so a cycle lasts about one timeout plus the time to get
//! through the answering agents. 1.5 s leaves ~0.5 s of the 2 s budget for that. Production
//! keeps the longer `agents.request_timeout` (a launch waits for its container) and bounds a
//! host by the poll interval instead.
//!
//! Every agent advances its own clock by `--minutes-per-cycle` minutes per metrics call and the
//! first call returns a backlog of `--backlog-minutes`, so the first cycle measures bulk ingest
//! and later ones the steady state. Agents and bot share the machine's cores: the figures
//! include the agents' TLS and JSON work, which real agents do on their own hosts.
//!
//! (b) **Bytes per minute row.** Stores `--b-hosts` × 8 GPUs × `--b-days` of minute rows into
//! a fresh SQLite file through the same ingest path, runs VACUUM and prints the file size per
//! row and `dbstat` per table, plus the same rows with the host as text instead of a small
//! integer id, and as a rowid table, for comparison. Target: ≤ 30 bytes per stored minute row.
//!
//! `cargo run --release -p maison-tests --bin fleet-bench -- [--agents 500] [--silent-pct 10]
//!  [--cycles 5] [--concurrency 64] [--timeout-ms 1500] [--backlog-minutes 60]
//!  [--minutes-per-cycle 1] [--b-hosts 20] [--b-days 1] [--only a|b]`

use clap::Parser;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, TimeZone, Utc};
use maison_agent_api::datasets::{DatasetInventory, FetchRequest, RegisterRequest, ReplicaInfo};
use maison_agent_api::{
    AgentClient, ClientError, ClientTls, ContainerProcesses, ContainerState, ContainerSummary,
    GpuHolder, GpuInfo, GpuMinute, GpuReading, HostInfo, ImageSummary, LaunchResponse, LaunchSpec,
    MaisonLabels, MetricsResponse, Timeouts,
};
use maison_bot::config::AgentsConfig;
use maison_bot::core::clock::{Clock, ManualClock, SystemClock};
use maison_bot::fleet::Poller;
use maison_bot::ports::{AgentApi, Fleet};
use maison_bot::store::Db;
use maison_pki::Ca;
use sea_orm::{ConnectionTrait, Statement};
use tokio::net::TcpListener;

const GIB: u64 = 1 << 30;

/// (a) one polling cycle over many agents, (b) bytes per stored minute row.
#[derive(Debug, Parser)]
#[command(name = "fleet-bench")]
struct Args {
    /// Simulated agents polled in (a).
    #[arg(long, default_value_t = 500, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    agents: usize,
    /// Share of agents that accept TCP and never answer.
    #[arg(long, default_value_t = 10, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=100))]
    silent_pct: usize,
    /// Polling cycles timed.
    #[arg(long, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    cycles: usize,
    /// Agents polled at the same time.
    #[arg(long, default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    concurrency: usize,
    /// Per-call timeout of the agent client.
    #[arg(long, default_value_t = 1500, value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..))]
    timeout_ms: u64,
    /// GPUs per agent.
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..=64))]
    gpus: u32,
    /// Containers per agent.
    #[arg(long, default_value_t = 5)]
    containers: usize,
    /// Images per agent.
    #[arg(long, default_value_t = 3)]
    images: usize,
    /// Minutes of metrics each agent holds before the first cycle.
    #[arg(long, default_value_t = 60)]
    backlog_minutes: i64,
    /// New minutes each agent reports per cycle.
    #[arg(long, default_value_t = 1)]
    minutes_per_cycle: i64,
    /// Hosts written in (b).
    #[arg(long, default_value_t = 20, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..))]
    b_hosts: u32,
    /// Days of minute rows written in (b).
    #[arg(long, default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<i64>::new().range(1..))]
    b_days: i64,
    /// Run only one part.
    #[arg(long, value_parser = ["a", "b"])]
    only: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    maison_bot::install_crypto_provider();
    let args = Args::parse();
    raise_open_files_limit();
    let dir = std::env::temp_dir().join(format!("maison-fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        if args.only.as_deref() != Some("b") {
            polling(&args, &dir).await?;
        }
        if args.only.as_deref() != Some("a") {
            bytes_per_row(&args, &dir).await?;
        }
        anyhow::Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// 500 agents need ~1 000 descriptors on the agent side and as many on the bot side.
fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

// ---------------------------------------------------------------------------------------------
// (a) polling

/// One simulated agent: canned facts, containers and images, and metrics generated on demand.
struct SimAgent {
    facts: HostInfo,
    containers: Vec<ContainerSummary>,
    images: Vec<ImageSummary>,
    owners: Vec<String>,
    /// Start of the agent's current (open) minute, Unix seconds.
    now: AtomicI64,
    minutes_per_call: i64,
    backlog_minutes: i64,
}

impl SimAgent {
    fn new(host: &str, args: &Args, start: i64) -> Self {
        let owners: Vec<String> = (0..args.containers.max(1))
            .map(|i| format!("U0{host}{i}"))
            .collect();
        let containers = (0..args.containers)
            .map(|i| ContainerSummary {
                id: format!("{:064x}", hash(&format!("{host}-c{i}"))),
                name: format!("{host}-job{i}"),
                image: format!("train:{i}"),
                image_id: format!(
                    "sha256:{:064x}",
                    hash(&format!("{host}-i{}", i % args.images.max(1)))
                ),
                state: ContainerState::Running,
                status: "Up 2 hours".into(),
                created: Utc.timestamp_opt(start - 7200, 0).unwrap(),
                gpus: vec![i as u32 % args.gpus],
                owned: true,
                limits: None,
                maison: Some(MaisonLabels {
                    owner: owners[i].clone(),
                    owner_name: Some(format!("user {i}")),
                    booking: Some(format!("{i}")),
                    image_source: None,
                    created_at: None,
                    idempotency_key: None,
                }),
            })
            .collect();
        let images = (0..args.images)
            .map(|i| ImageSummary {
                id: format!("sha256:{:064x}", hash(&format!("{host}-i{i}"))),
                tags: vec![format!("train:{i}")],
                size_bytes: 8 * GIB,
                created: Utc.timestamp_opt(start - 86_400, 0).unwrap(),
                labels: Default::default(),
                used_by: Vec::new(),
                dangling: false,
            })
            .collect();
        Self {
            facts: facts(host, args.gpus),
            containers,
            images,
            owners,
            now: AtomicI64::new(start),
            minutes_per_call: args.minutes_per_cycle,
            backlog_minutes: args.backlog_minutes,
        }
    }

    fn metrics(&self, since: Option<i64>) -> MetricsResponse {
        let step = 60 * self.minutes_per_call;
        let now = self.now.fetch_add(step, Ordering::Relaxed) + step;
        let from = since.unwrap_or(now - 60 * self.backlog_minutes);
        let from = from - from.rem_euclid(60);
        let gpus = self.facts.gpus.len() as u32;
        let mut rollups = Vec::new();
        let mut minute = from;
        while minute < now {
            for gpu in 0..gpus {
                rollups.push(sim_minute(minute, gpu, &self.containers, &self.owners));
            }
            minute += 60;
        }
        let at = Utc.timestamp_opt(now, 0).unwrap();
        let current = (0..gpus)
            .map(|gpu| GpuReading {
                gpu,
                at,
                util_pct: 50.0,
                mem_used_bytes: 20 * GIB,
                power_watts: Some(300.0),
                temp_celsius: Some(60),
                stale: false,
                holders: Vec::new(),
            })
            .collect();
        MetricsResponse {
            simulated: true,
            rollups,
            current,
        }
    }
}

/// A deterministic mix: some GPUs idle, some busy, most held by a container.
fn sim_minute(
    minute: i64,
    gpu: u32,
    containers: &[ContainerSummary],
    owners: &[String],
) -> GpuMinute {
    let h = hash(&format!("{minute}-{gpu}"));
    let busy = (minute / 3600 + i64::from(gpu)) % 3 != 0;
    let util = if busy { (h % 100) as f32 } else { 0.0 };
    let holders = if busy && !containers.is_empty() {
        let c = &containers[gpu as usize % containers.len()];
        vec![GpuHolder {
            container_id: c.id.clone(),
            container_name: Some(c.name.clone()),
            owner: Some(owners[gpu as usize % owners.len()].clone()),
        }]
    } else {
        Vec::new()
    };
    GpuMinute {
        minute: Utc.timestamp_opt(minute, 0).unwrap(),
        gpu,
        samples: 60,
        util_avg_pct: util,
        util_max_pct: (util + 7.0).min(100.0),
        mem_used_max_bytes: if busy { (20 + h % 60) * GIB } else { 0 },
        power_avg_watts: Some(if busy { 150.0 + util * 4.0 } else { 60.0 }),
        temp_max_celsius: Some(if busy { 55 + (h % 25) as u32 } else { 35 }),
        holders,
    }
}

fn facts(host: &str, gpus: u32) -> HostInfo {
    HostInfo {
        hostname: host.to_owned(),
        cpus: 128,
        memory_total_bytes: 1024 * GIB,
        docker_root_dir: Some("/var/lib/docker".into()),
        docker_root_free_bytes: Some(2000 * GIB),
        docker_root_total_bytes: Some(4000 * GIB),
        docker_version: Some("27.3.1".into()),
        docker_api_version: Some("1.47".into()),
        nvidia: None,
        gpus: (0..gpus)
            .map(|index| GpuInfo {
                index,
                uuid: format!("GPU-{host}-{index}"),
                name: "Simulated H100 80GB".into(),
                memory_total_bytes: 80 * GIB,
            })
            .collect(),
        gpus_simulated: true,
        agent_version: "bench".into(),
    }
}

fn hash(s: &str) -> u64 {
    // FNV-1a: deterministic across runs, unlike the std hasher.
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn sim_router(agent: Arc<SimAgent>) -> Router {
    Router::new()
        .route("/v1/host", get(|State(a): State<Arc<SimAgent>>| async move { Json(a.facts.clone()) }))
        .route(
            "/v1/metrics",
            get(|State(a): State<Arc<SimAgent>>, Query(q): Query<HashMap<String, String>>| async move {
                let since = q
                    .get("since")
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| t.timestamp());
                Json(a.metrics(since))
            }),
        )
        .route("/v1/containers", get(|State(a): State<Arc<SimAgent>>| async move { Json(a.containers.clone()) }))
        .route("/v1/images", get(|State(a): State<Arc<SimAgent>>| async move { Json(a.images.clone()) }))
        .with_state(agent)
}

/// Accepts connections and never says a word; the sockets stay open until the process ends.
async fn silent_listener(listener: TcpListener) {
    let mut held = Vec::new();
    while let Ok((socket, _)) = listener.accept().await {
        held.push(socket);
    }
}

async fn polling(args: &Args, dir: &std::path::Path) -> anyhow::Result<()> {
    let silent_every = 100usize.checked_div(args.silent_pct).unwrap_or(usize::MAX);
    println!(
        "(a) polling {} agents over mutual TLS on loopback, {} % silent, concurrency {}, per-call timeout {} ms, {} GPUs each",
        args.agents, args.silent_pct, args.concurrency, args.timeout_ms, args.gpus
    );
    let ca = Ca::generate("Maison bench CA")?;
    let bot = ca.issue_bot("bench-bot")?;
    let agent_cert = ca.issue_agent("bench-agent", &["127.0.0.1".to_owned()])?;
    let server_tls = Arc::new(maison_agent::tls::server_config_from_pem(
        agent_cert.cert_pem.as_bytes(),
        agent_cert.key_pem.as_bytes(),
        ca.cert_pem().as_bytes(),
    )?);
    let client_tls = ClientTls {
        ca_pem: ca.cert_pem().to_owned(),
        cert_pem: bot.cert_pem.clone(),
        key_pem: bot.key_pem.clone(),
    };
    let timeout = Duration::from_millis(args.timeout_ms);
    let timeouts = Timeouts {
        connect: timeout,
        request: timeout,
    };
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let start = Utc::now().timestamp();
    let start = start - start.rem_euclid(60);
    let mut fleet = Fleet::default();
    let mut silent = 0;
    for i in 0..args.agents {
        let host = format!("gpu{i:03}");
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://127.0.0.1:{}", listener.local_addr()?.port());
        if i % silent_every == silent_every - 1 {
            silent += 1;
            tokio::spawn(silent_listener(listener));
        } else {
            let router = sim_router(Arc::new(SimAgent::new(&host, args, start)));
            tokio::spawn(maison_agent::server::serve_tls(
                listener,
                server_tls.clone(),
                router,
                stop_rx.clone(),
            ));
        }
        let client = AgentClient::new(&url, &client_tls, timeouts)?;
        fleet.insert(host, Arc::new(client) as Arc<dyn AgentApi>);
    }
    let url = format!("sqlite://{}?mode=rwc", dir.join("poll.db").display());
    let db = Db::connect(&url).await?;
    let config = AgentsConfig {
        connect_timeout: timeout,
        request_timeout: timeout,
        poll_interval: Duration::from_secs(10),
        unreachable_after: Duration::from_secs(30),
        poll_concurrency: args.concurrency,
        ..AgentsConfig::default()
    };
    let poller = Poller::new(db.clone(), fleet, &config, Arc::new(SystemClock));
    println!(
        "    {silent} silent agents; database: SQLite file; host deadline {} ms",
        poller.host_deadline().as_millis()
    );
    println!("    cycle  elapsed   answered  failed  minute rows  rows/s");
    let mut steady = Vec::new();
    for cycle in 1..=args.cycles {
        let report = poller.poll_once().await;
        let secs = report.elapsed.as_secs_f64();
        println!(
            "    {cycle:>5}  {:>6.3} s  {:>8}  {:>6}  {:>11}  {:>7.0}{}",
            secs,
            report.answered,
            report.failed + report.store_errors,
            report.minute_rows_ingested,
            report.minute_rows_ingested as f64 / secs,
            if cycle == 1 {
                "   (cold: TLS handshakes, backlog)"
            } else {
                ""
            }
        );
        if cycle > 1 {
            steady.push(secs);
        }
        if let Some((host, error)) = report.failures.first().filter(|_| cycle == 1) {
            println!("           e.g. {host}: {error}");
        }
    }
    if !steady.is_empty() {
        steady.sort_by(f64::total_cmp);
        println!(
            "    steady cycles: median {:.3} s, max {:.3} s (target ≤ 2 s)",
            steady[steady.len() / 2],
            steady[steady.len() - 1]
        );
    }
    let statuses = db.host_statuses().await?;
    println!(
        "    host_status: {} reachable, {} not",
        statuses.iter().filter(|s| s.reachable).count(),
        statuses.iter().filter(|s| !s.reachable).count()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (b) bytes per minute row

/// An in-process agent that returns a fixed set of minutes once.
struct DayAgent {
    facts: HostInfo,
    rollups: Vec<GpuMinute>,
}

#[async_trait]
impl AgentApi for DayAgent {
    async fn host(&self) -> Result<HostInfo, ClientError> {
        Ok(self.facts.clone())
    }
    async fn metrics(&self, since: Option<DateTime<Utc>>) -> Result<MetricsResponse, ClientError> {
        let rollups = self
            .rollups
            .iter()
            .filter(|m| since.is_none_or(|s| m.minute >= s))
            .cloned()
            .collect();
        Ok(MetricsResponse {
            simulated: true,
            rollups,
            current: Vec::new(),
        })
    }
    async fn containers(&self) -> Result<Vec<ContainerSummary>, ClientError> {
        Ok(Vec::new())
    }
    async fn container_processes(&self, _: &str) -> Result<ContainerProcesses, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn launch(&self, _: &LaunchSpec) -> Result<LaunchResponse, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn stop(&self, _: &str) -> Result<ContainerSummary, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn remove(&self, _: &str, _: bool) -> Result<(), ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn images(&self) -> Result<Vec<ImageSummary>, ClientError> {
        Ok(Vec::new())
    }
    async fn save_image(
        &self,
        _request: &maison_agent_api::images::SaveImageRequest,
    ) -> Result<maison_agent_api::images::SavedImage, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn build_image(
        &self,
        _request: &maison_agent_api::images::BuildImageRequest,
        _limit: std::time::Duration,
    ) -> Result<maison_agent_api::images::BuiltImage, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn image_progress(
        &self,
    ) -> Result<Vec<maison_agent_api::images::ImageProgress>, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn fetch_image(
        &self,
        _request: &maison_agent_api::images::FetchImageRequest,
        _limit: std::time::Duration,
    ) -> Result<maison_agent_api::images::FetchedImage, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn remove_image(&self, _: &str) -> Result<(), ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn datasets(&self) -> Result<DatasetInventory, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn register_dataset(&self, _: &RegisterRequest) -> Result<ReplicaInfo, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn fetch_dataset(&self, _: &FetchRequest) -> Result<ReplicaInfo, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn verify_dataset(&self, _: &str) -> Result<ReplicaInfo, ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
    async fn remove_dataset(&self, _: &str) -> Result<(), ClientError> {
        Err(ClientError::Config("not in the benchmark".into()))
    }
}

async fn bytes_per_row(args: &Args, dir: &std::path::Path) -> anyhow::Result<()> {
    let gpus = 8;
    let minutes = args.b_days * 1440;
    println!(
        "(b) bytes per stored minute row: {} hosts × {gpus} GPUs × {} day(s) = {} rows, SQLite",
        args.b_hosts,
        args.b_days,
        i64::from(args.b_hosts) * i64::from(gpus) * minutes
    );
    let path = dir.join("rows.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = Db::connect(&url).await?;
    let end = Utc::now().timestamp();
    let end = end - end.rem_euclid(86_400);
    let start = end - minutes * 60;
    let mut fleet = Fleet::default();
    for h in 0..args.b_hosts {
        let host = format!("gpu{h:02}");
        let containers: Vec<ContainerSummary> = (0..4)
            .map(|i| ContainerSummary {
                id: format!("{:064x}", hash(&format!("{host}-c{i}"))),
                name: format!("job{i}"),
                image: "x".into(),
                image_id: "sha256:x".into(),
                state: ContainerState::Running,
                status: String::new(),
                created: Utc.timestamp_opt(start, 0).unwrap(),
                gpus: vec![],
                owned: true,
                limits: None,
                maison: None,
            })
            .collect();
        let owners: Vec<String> = (0..4)
            .map(|i| format!("U0USER{:03}", (h * 4 + i) % 50))
            .collect();
        let rollups = (0..minutes)
            .flat_map(|m| {
                let (containers, owners) = (&containers, &owners);
                (0..gpus).map(move |g| sim_minute(start + m * 60, g, containers, owners))
            })
            .collect();
        fleet.insert(
            host.clone(),
            Arc::new(DayAgent {
                facts: facts(&host, gpus),
                rollups,
            }) as Arc<dyn AgentApi>,
        );
    }
    let clock = Arc::new(ManualClock::new(Utc.timestamp_opt(end, 0).unwrap()));
    let config = AgentsConfig {
        poll_concurrency: 1,
        ..AgentsConfig::default()
    };
    let poller = Poller::new(db.clone(), fleet, &config, clock.clone() as Arc<dyn Clock>)
        .with_host_deadline(Duration::from_secs(600));
    let started = Instant::now();
    let report = poller.poll_once().await;
    let secs = started.elapsed().as_secs_f64();
    let rows = report.minute_rows_ingested as f64;
    println!(
        "    ingest: {} rows in {secs:.2} s ({:.0} rows/s; one transaction per host)",
        report.minute_rows_ingested,
        rows / secs
    );

    let conn = db.connection();
    let run = |sql: &str| Statement::from_string(conn.get_database_backend(), sql.to_owned());
    // The same rows as they would be with the host name in every row, and as a rowid table.
    conn.execute_raw(run(
        "CREATE TABLE alt_text_host (host TEXT NOT NULL, minute INTEGER NOT NULL, gpu INTEGER NOT NULL, \
         util_avg INTEGER NOT NULL, util_max INTEGER NOT NULL, mem_max_mib INTEGER NOT NULL, \
         power_avg INTEGER, temp_max INTEGER, owner_id INTEGER, PRIMARY KEY (host, minute, gpu)) WITHOUT ROWID",
    ))
    .await?;
    conn.execute_raw(run(
        "INSERT INTO alt_text_host SELECT h.host, m.minute, m.gpu, m.util_avg, m.util_max, m.mem_max_mib, \
         m.power_avg, m.temp_max, m.owner_id FROM gpu_minutes m JOIN metric_hosts h ON h.id = m.host_id \
         ORDER BY h.host, m.minute, m.gpu",
    ))
    .await?;
    conn.execute_raw(run(
        "CREATE TABLE alt_rowid (host_id INTEGER NOT NULL, minute INTEGER NOT NULL, gpu INTEGER NOT NULL, \
         util_avg INTEGER NOT NULL, util_max INTEGER NOT NULL, mem_max_mib INTEGER NOT NULL, \
         power_avg INTEGER, temp_max INTEGER, owner_id INTEGER, PRIMARY KEY (host_id, minute, gpu))",
    ))
    .await?;
    conn.execute_raw(run(
        "INSERT INTO alt_rowid SELECT * FROM gpu_minutes ORDER BY host_id, minute, gpu",
    ))
    .await?;
    conn.execute_unprepared("VACUUM").await?;

    let tables = conn
        .query_all_raw(run(
            "SELECT name, SUM(pgsize), COUNT(*) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC",
        ))
        .await?;
    let mut sizes: HashMap<String, i64> = HashMap::new();
    println!("    dbstat after VACUUM (bytes, pages; single-page tables left out):");
    for t in &tables {
        let name: String = t.try_get_by_index(0)?;
        let bytes: i64 = t.try_get_by_index(1)?;
        let pages: i64 = t.try_get_by_index(2)?;
        if pages > 1 {
            println!("      {name:<32} {bytes:>10} {pages:>6}");
        }
        sizes.insert(name, bytes);
    }
    let per = |names: &[&str]| {
        names
            .iter()
            .map(|n| sizes.get(*n).copied().unwrap_or(0))
            .sum::<i64>() as f64
            / rows
    };
    println!(
        "    gpu_minutes (host id, WITHOUT ROWID):  {:.1} bytes/row   ← the stored table",
        per(&["gpu_minutes"])
    );
    println!(
        "    same with host as text:                {:.1} bytes/row",
        per(&["alt_text_host"])
    );
    println!(
        "    same as a rowid table + PK index:      {:.1} bytes/row",
        per(&["alt_rowid", "sqlite_autoindex_alt_rowid_1"])
    );
    let alt: i64 = ["alt_text_host", "alt_rowid", "sqlite_autoindex_alt_rowid_1"]
        .iter()
        .map(|n| sizes.get(*n).copied().unwrap_or(0))
        .sum();
    conn.execute_raw(run("DROP TABLE alt_text_host")).await?;
    conn.execute_raw(run("DROP TABLE alt_rowid")).await?;
    conn.execute_unprepared("VACUUM").await?;
    conn.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await?;
    let file = std::fs::metadata(&path)?.len();
    let hours = sizes.get("gpu_hours").copied().unwrap_or(0);
    println!(
        "    whole file after VACUUM: {file} bytes = {:.1} bytes per minute row (all tables, incl. {hours} bytes of hourly rollups; {alt} bytes of comparison tables dropped)",
        file as f64 / rows
    );
    Ok(())
}
