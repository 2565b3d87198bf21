//! Benchmark of the agent on this machine's Docker engine. Prints figures, never
//! asserts them. Build in release mode for meaningful numbers:
//!
//! ```text
//! scripts/build-test-image.sh
//! cargo build --release -p maison-agent
//! target/release/agent-bench --duration-secs 300
//! ```
//!
//! 1. Starts `maison-agent` as a child process with 8 simulated GPUs sampled at
//!    1 Hz while `--containers` containers run, and reports its CPU share (from
//!    `/proc/<pid>/stat`) and peak RSS (`VmHWM`) over the sampling window.
//! 2. Grows the container count to `--list-containers` and compares the latency
//!    of `GET /v1/containers` with `docker ps -a --format json` (and with the raw
//!    engine list call, for reference).
//!
//! All containers it creates are named `mbench-<pid>-…` and removed at the end.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use clap::Parser;
use futures::StreamExt;
use maison_agent_api::{AgentClient, ClientTls, Timeouts};

const IMAGE: &str = "maison-test/busybox:latest";

#[derive(Debug, Parser)]
#[command(
    name = "agent-bench",
    about = "Measure maison-agent's footprint and listing latency"
)]
struct Args {
    /// Length of the CPU/RSS sampling window.
    #[arg(long, default_value_t = 180)]
    duration_secs: u64,
    /// Running containers during the sampling window.
    #[arg(long, default_value_t = 100)]
    containers: usize,
    /// Containers present for the listing latency comparison.
    #[arg(long, default_value_t = 200)]
    list_containers: usize,
    /// Simulated GPUs.
    #[arg(long, default_value_t = 8)]
    gpus: u32,
    /// Timed calls per listing method.
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    /// The agent binary (default: maison-agent next to this binary).
    #[arg(long)]
    agent_bin: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    maison_agent::install_crypto_provider();
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

struct Bench {
    docker: Docker,
    prefix: String,
    dir: PathBuf,
    agent: Option<Child>,
}

impl Bench {
    async fn cleanup(&mut self) {
        if let Some(mut child) = self.agent.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        match self.names().await {
            Ok(names) => {
                let n = names.len();
                futures::stream::iter(names)
                    .for_each_concurrent(8, |name| {
                        let docker = self.docker.clone();
                        async move {
                            let _ = docker
                                .remove_container(
                                    &name,
                                    Some(RemoveContainerOptionsBuilder::new().force(true).build()),
                                )
                                .await;
                        }
                    })
                    .await;
                println!("cleanup: removed {n} benchmark containers");
            }
            Err(e) => eprintln!("cleanup: listing benchmark containers failed: {e}"),
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    async fn names(&self) -> anyhow::Result<Vec<String>> {
        let mut filters = std::collections::HashMap::new();
        let pattern = format!("^/{}", self.prefix);
        filters.insert("name", vec![pattern.as_str()]);
        let list = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
            .map(|n| n.trim_start_matches('/').to_string())
            .collect())
    }

    async fn create(&self, from: usize, to: usize, start: bool) -> anyhow::Result<()> {
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(from..to)
            .map(|i| {
                let docker = self.docker.clone();
                let name = format!("{}-{i:04}", self.prefix);
                async move {
                    let c = docker
                        .create_container(
                            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
                            ContainerCreateBody {
                                image: Some(IMAGE.into()),
                                cmd: Some(vec!["sleep".into(), "100000".into()]),
                                ..Default::default()
                            },
                        )
                        .await?;
                    if start {
                        docker.start_container(&c.id, None).await?;
                    }
                    Ok(())
                }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let docker = Docker::connect_with_unix_defaults()?
        .negotiate_version()
        .await?;
    if docker.inspect_image(IMAGE).await.is_err() {
        bail!("image {IMAGE} is missing: run scripts/build-test-image.sh first");
    }
    let agent_bin = match args.agent_bin.clone() {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .context("no parent directory")?
            .join("maison-agent"),
    };
    if !agent_bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p maison-agent)",
            agent_bin.display()
        );
    }
    let prefix = format!("mbench-{}", std::process::id());
    let dir = std::env::temp_dir().join(&prefix);
    let mut bench = Bench {
        docker,
        prefix,
        dir,
        agent: None,
    };
    // Ctrl-C still cleans up: the containers must not outlive the benchmark.
    let result = tokio::select! {
        r = measure(&args, &agent_bin, &mut bench) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    bench.cleanup().await;
    result
}

async fn measure(
    args: &Args,
    agent_bin: &std::path::Path,
    bench: &mut Bench,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&bench.dir)?;
    // Certificates exactly as an admin would make them, on the fly.
    let ca = maison_pki::Ca::generate("Maison Bench CA")?;
    let agent_cert = ca.issue_agent("localhost", &["127.0.0.1".into()])?;
    let bot = ca.issue_bot("maison-bot")?;
    std::fs::write(bench.dir.join("ca.pem"), ca.cert_pem())?;
    std::fs::write(bench.dir.join("agent.pem"), &agent_cert.cert_pem)?;
    std::fs::write(bench.dir.join("agent-key.pem"), &agent_cert.key_pem)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\n\
         [tls]\ncert = \"agent.pem\"\nkey = \"agent-key.pem\"\nclient_ca = \"ca.pem\"\n\
         [gpu]\nprobe = \"simulated\"\ncount = {}\n",
        args.gpus
    );
    let config_path = bench.dir.join("agent.toml");
    std::fs::write(&config_path, config)?;

    println!("creating {} running containers ...", args.containers);
    let t = Instant::now();
    bench.create(0, args.containers, true).await?;
    println!("  done in {:.1} s", t.elapsed().as_secs_f64());

    let child = Command::new(agent_bin)
        .args(["serve", "--config"])
        .arg(&config_path)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", agent_bin.display()))?;
    let pid = child.id();
    bench.agent = Some(child);
    let client = AgentClient::new(
        &format!("https://127.0.0.1:{port}"),
        &ClientTls {
            ca_pem: ca.cert_pem().into(),
            cert_pem: bot.cert_pem,
            key_pem: bot.key_pem,
        },
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(30),
        },
    )?;
    let ready = Instant::now();
    loop {
        if let Ok(h) = client.healthz().await
            && h.inventory_live
        {
            break;
        }
        if ready.elapsed() > Duration::from_secs(60) {
            bail!("the agent did not become ready within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "agent pid {pid} ready in {:.2} s",
        ready.elapsed().as_secs_f64()
    );

    // Let start-up work (the first listing) settle before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let ticks_per_sec =
        nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?.context("CLK_TCK unknown")? as f64;
    let cpu0 = cpu_ticks(pid)?;
    let t0 = Instant::now();
    println!(
        "sampling for {} s with {} simulated GPUs at 1 Hz and {} running containers; the bot's \
         once-a-minute poll (metrics + containers) is simulated",
        args.duration_secs, args.gpus, args.containers
    );
    let window = Duration::from_secs(args.duration_secs);
    let mut next_poll = Duration::ZERO;
    while t0.elapsed() < window {
        if t0.elapsed() >= next_poll {
            client.metrics(None).await?;
            client.containers().await?;
            next_poll += Duration::from_secs(60);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(pid)? - cpu0) as f64 / ticks_per_sec;
    let (hwm, rss) = memory_kib(pid)?;
    let metrics = client.metrics(None).await?;
    println!("--- footprint ---");
    println!(
        "agent CPU: {:.3} s over {:.0} s = {:.3} % of one core (target <= 0.5 %)",
        cpu,
        wall,
        cpu / wall * 100.0
    );
    println!(
        "agent peak RSS (VmHWM): {:.1} MiB, current RSS {:.1} MiB (target <= 20 MiB)",
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    println!(
        "rollups held: {} GPU-minutes; current readings: {}",
        metrics.rollups.len(),
        metrics.current.len()
    );

    println!("--- listing latency ---");
    println!(
        "growing to {} containers (the extra ones created, not started) ...",
        args.list_containers
    );
    if args.list_containers > args.containers {
        bench
            .create(args.containers, args.list_containers, false)
            .await?;
    }
    let expected = args.list_containers;
    let waited = Instant::now();
    loop {
        let n = client
            .containers()
            .await?
            .iter()
            .filter(|c| c.name.starts_with(&bench.prefix))
            .count();
        if n >= expected {
            break;
        }
        if waited.elapsed() > Duration::from_secs(60) {
            bail!("the agent lists {n} of {expected} benchmark containers after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let total = client.containers().await?.len();
    println!("{total} containers on the engine in all");

    let mut agent_times = Vec::new();
    let mut cli_times = Vec::new();
    let mut api_times = Vec::new();
    for i in 0..(args.iterations + 3) {
        let t = Instant::now();
        let list = client.containers().await?;
        let a = t.elapsed();
        anyhow::ensure!(list.len() >= expected);

        let t = Instant::now();
        let out = Command::new("docker")
            .args(["ps", "-a", "--no-trunc", "--format", "json"])
            .output()
            .context("running docker ps")?;
        let c = t.elapsed();
        anyhow::ensure!(out.status.success(), "docker ps failed");

        let t = Instant::now();
        let raw = bench
            .docker
            .list_containers(Some(ListContainersOptionsBuilder::new().all(true).build()))
            .await?;
        let r = t.elapsed();
        anyhow::ensure!(raw.len() >= expected);
        // The first rounds warm caches and connections on every side.
        if i >= 3 {
            agent_times.push(a);
            cli_times.push(c);
            api_times.push(r);
        }
    }
    report(
        "GET /v1/containers (mTLS, from the agent's inventory)",
        &mut agent_times,
    );
    report("docker ps -a --format json (CLI)", &mut cli_times);
    report(
        "engine GET /containers/json?all=1 (raw socket, reference)",
        &mut api_times,
    );
    let speedup = median(&mut cli_times).as_secs_f64() / median(&mut agent_times).as_secs_f64();
    println!("agent vs docker ps: {speedup:.1}x faster (median)");
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(what: &str, v: &mut [Duration]) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p90 = v[(v.len() * 9 / 10).min(v.len() - 1)];
    println!(
        "{what}: median {:.2} ms, p90 {:.2} ms, min {:.2} ms, max {:.2} ms ({} calls)",
        ms(v[v.len() / 2]),
        ms(p90),
        ms(v[0]),
        ms(v[v.len() - 1]),
        v.len()
    );
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may contain spaces; fields are counted after its ')'.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of the man page, utime 14, stime 15.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

/// (VmHWM, VmRSS) in KiB.
fn memory_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let get = |key: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .with_context(|| format!("{key} missing"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("malformed")?
            .parse()?)
    };
    Ok((get("VmHWM:")?, get("VmRSS:")?))
}
