//! `maison-agent`: the host agent. It runs as root next to the Docker engine of a
//! GPU server and serves a small mutual-TLS API to the bot: inventory of
//! containers and images, default-deny launches, and 1-minute GPU rollups.
//!
//! Layout: [`config`] (TOML), [`tls`] (mutual TLS, role check), [`server`] (API),
//! [`docker`] + [`inventory`] (engine and its in-memory mirror), [`policy`]
//! (launch spec → container config) + [`mounts`] (pinned bind-mount sources),
//! [`datasets`] (registered and copied datasets, blobs for peers),
//! [`enter`] (`maison enter` over a local socket), [`gpu`] + [`sampler`] + [`rollup`]
//! (GPU probe, 1 Hz sampling, rollups), [`cgroup`] (PID → container).

pub mod cgroup;
pub mod config;
pub mod datasets;
pub mod docker;
pub mod enter;
pub mod gpu;
pub mod image_work;
pub mod images;
pub mod inventory;
pub mod mounts;
pub mod policy;
pub mod rollup;
pub mod sampler;
pub mod server;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use chrono::TimeDelta;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::AgentConfig;
use crate::docker::Engine;
use crate::gpu::SimControl;
use crate::inventory::Inventory;
use crate::mounts::Stager;
use crate::policy::{HostSize, Policy};
use crate::rollup::{Clock, SystemClock};
use crate::sampler::Sampler;
use crate::server::AppState;

/// Installs ring as the process-wide rustls provider. Every configuration in this
/// workspace names its provider explicitly; this only protects third-party code
/// that asks for the default.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running agent: its address, shared state, and its tasks.
pub struct RunningAgent {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    /// Present when the simulated probe is in use.
    pub sim: Option<SimControl>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for RunningAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningAgent")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningAgent {
    /// Stops accepting connections and ends the background loops.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Waits until a task ends on its own (which only happens on a fatal error).
    pub async fn wait(&mut self) {
        self.tasks.join_next().await;
    }
}

/// Starts every part of the agent with the system clock.
pub async fn start(config: AgentConfig) -> anyhow::Result<RunningAgent> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// Starts the agent; `clock` drives GPU rollups (tests pass a manual one).
pub async fn start_with_clock(
    config: AgentConfig,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningAgent> {
    config.validate()?;
    // TLS first: a broken certificate should fail before anything else starts.
    let tls = Arc::new(tls::server_config(&config.tls)?);
    let (probe, sim, deadline) = gpu::probe_from_config(&config.gpu).await?;
    let inventory = Arc::new(Inventory::new());
    let hostname = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into());
    // Before the policy: it may create the datasets root, which the policy then resolves.
    let datasets = datasets::Datasets::open(&config, inventory.clone(), &hostname)?;
    let stager = Arc::new(Stager::new(&config.policy.staging_dir));
    let engine = Arc::new(Engine::new(
        &config.docker.socket,
        config.docker.timeout_secs,
        inventory.clone(),
        &probe.info().gpus,
        stager,
    ));
    // Docker being down is not fatal: GPU data is still served, and the
    // inventory loop keeps trying to connect.
    if let Err(e) = engine.try_connect().await {
        tracing::error!(error = %e, "Docker is not reachable; container endpoints answer 503 until it is");
    }
    let policy = Policy::new(
        &config.mounts,
        &config.docker.socket,
        probe.info().gpus.iter().map(|g| g.uuid.clone()).collect(),
        &config.policy,
        &config.resources,
        HostSize {
            memory_bytes: server::memory_total_bytes().unwrap_or(8 << 30),
            cpus: server::host_cpus(),
        },
    )
    .with_simulated_gpus(probe.info().simulated);
    let sampler = Arc::new(
        Sampler::new(
            probe,
            deadline,
            clock.clone(),
            TimeDelta::hours(i64::from(config.metrics.retention_hours)),
            config.metrics.proc_root.clone(),
            inventory.clone(),
        )
        .with_simulation(sim.clone()),
    );
    let state = Arc::new(AppState {
        engine: engine.clone(),
        inventory,
        datasets: datasets.clone(),
        sampler: sampler.clone(),
        policy,
        started: clock.now(),
        clock,
        hostname,
    });

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding the HTTPS listener on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    if config.enter.socket.as_os_str().is_empty() {
        tracing::info!("maison enter is disabled (enter.socket is empty)");
    } else {
        match enter::bind(&config.enter.socket) {
            Ok(listener) => {
                tracing::info!(socket = %config.enter.socket.display(), "maison enter listening");
                tasks.spawn(enter::serve(listener, engine.clone(), rx.clone()));
            }
            // Not fatal: launches and the API work without it.
            Err(e) => tracing::error!(error = %format!("{e:#}"), "maison enter is unavailable"),
        }
    }
    tasks.spawn(engine.run_inventory(rx.clone()));
    datasets.empty_trash();
    datasets.resume();
    {
        // Copies in progress stop cleanly on shutdown and resume at the next start.
        let mut rx = rx.clone();
        tasks.spawn(async move {
            let _ = rx.changed().await;
            datasets.shutdown().await;
        });
    }
    tasks.spawn(sampler.run(rx.clone()));
    tasks.spawn(server::serve_tls(
        listener,
        tls,
        server::router(state.clone()),
        rx,
    ));
    tracing::info!(%addr, "maison-agent listening (HTTPS, mutual TLS, bot certificates only)");
    Ok(RunningAgent {
        addr,
        state,
        sim,
        shutdown,
        tasks,
    })
}
