//! `maison-agent serve --config agent.toml`
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use maison_agent::config::AgentConfig;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "maison-agent",
    version,
    about = "Maison host agent: Docker and GPUs behind a mutual-TLS API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTPS API (mutual TLS; bot certificates of the Maison CA, and peer
    /// certificates for the read-only blob routes).
    Serve {
        /// Configuration file (see config/agent.example.toml).
        #[arg(
            long,
            env = "MAISON_AGENT_CONFIG",
            default_value = "/etc/maison/agent.toml"
        )]
        config: PathBuf,
        /// Override the listen address of the configuration file.
        #[arg(long, env = "MAISON_AGENT_LISTEN")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Parse the configuration and exit; non-zero with the reason if it is wrong.
    CheckConfig {
        #[arg(
            long,
            env = "MAISON_AGENT_CONFIG",
            default_value = "/etc/maison/agent.toml"
        )]
        config: PathBuf,
    },
    /// Time NVML calls on this host (diagnostics for GPU servers).
    ProbeGpus {
        /// Sampling rounds to time.
        #[arg(long, default_value_t = 10)]
        rounds: u32,
    },
}

fn main() -> anyhow::Result<()> {
    maison_agent::install_crypto_provider();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,hyper=warn,bollard=warn,rustls=warn")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // The agent is mostly idle; two workers keep its footprint small.
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async_main(cli))
}

async fn async_main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config, listen } => {
            let mut cfg = AgentConfig::load(&config)?;
            if let Some(l) = listen {
                cfg.listen = l;
            }
            let mut agent = maison_agent::start(cfg).await?;
            tokio::select! {
                _ = agent.wait() => anyhow::bail!("an agent task stopped unexpectedly"),
                _ = shutdown_signal() => {
                    tracing::info!("shutting down");
                    agent.shutdown().await;
                }
            }
            Ok(())
        }
        Command::CheckConfig { config } => {
            let cfg = AgentConfig::load(&config)?;
            cfg.validate()
                .with_context(|| format!("checking {}", config.display()))?;
            maison_agent::tls::server_config(&cfg.tls)?;
            if maison_agent::datasets::peer_tls(&cfg)?.is_none() && cfg.mounts.datasets.is_some() {
                println!(
                    "{}: note: no [datasets] peer_cert/peer_key, so copies to this host will be refused",
                    config.display()
                );
            }
            println!("{}: ok", config.display());
            Ok(())
        }
        Command::ProbeGpus { rounds } => probe_gpus(rounds),
    }
}

fn probe_gpus(rounds: u32) -> anyhow::Result<()> {
    use maison_agent::gpu::{GpuProbe, NvmlProbe};
    let t0 = Instant::now();
    let mut probe = NvmlProbe::new().context("starting NVML")?;
    println!("nvml init: {:.1} ms", t0.elapsed().as_secs_f64() * 1000.0);
    let info = probe.info();
    println!("{}", serde_json::to_string_pretty(&info.nvidia)?);
    for g in &info.gpus {
        println!(
            "gpu {}: {} {} {} MiB",
            g.index,
            g.uuid,
            g.name,
            g.memory_total_bytes >> 20
        );
    }
    let mut times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let samples = probe.sample()?;
        times.push(t.elapsed());
        for s in &samples {
            println!(
                "gpu {} util {:.0}% mem {} MiB power {:?} mW temp {:?} C pids {:?}",
                s.gpu,
                s.util_pct,
                s.mem_used_bytes >> 20,
                s.power_milliwatts,
                s.temp_celsius,
                s.pids
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    times.sort();
    let per_gpu = info.gpus.len().max(1) as f64;
    if let (Some(min), Some(max)) = (times.first(), times.last()) {
        let median = times[times.len() / 2];
        println!(
            "sampling round (all GPUs): min {:.2} ms, median {:.2} ms, max {:.2} ms; per GPU median {:.2} ms",
            min.as_secs_f64() * 1000.0,
            median.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0,
            median.as_secs_f64() * 1000.0 / per_gpu
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
