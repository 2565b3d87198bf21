//! Benchmark of dataset copies between two agents on loopback, side by side with `cp -a` (the
//! disk's ceiling) and `rsync -a` over ssh to localhost. Prints one table; asserts nothing.
//!
//! ```text
//! cargo run --release -p maison-agent --bin data-bench -- --help
//! cargo run --release -p maison-agent --bin data-bench -- --scale small
//! ```
//!
//! Both agents run in this process (real mutual TLS, peer certificates, real files). The source
//! datasets are created once under `--dir` and reused by later runs with the same sizes; each
//! tool's copy stays until that tool copies again, and all go at the end. Every copy is made
//! durable before its clock stops: Maison syncs before it publishes a copy, so `cp -a` and
//! `rsync -a` are followed by `sync -f`.
//!
//! The large and small copies are made `--rounds` times, the tools taking turns to go first, and
//! each tool's median is shown with every round's time. On a VM whose free memory goes back to
//! the host (virtio-balloon free page reporting), whoever writes into memory freed minutes ago
//! pays for the host's page faults (3–5× slower here), so every tool frees its own previous
//! copy just before its next one: each writes into memory it freed itself a moment ago.
//!
//! Measured: a large-file dataset and a many-small-files dataset copied by each tool; a copy
//! interrupted at about half (the agent stopped) and resumed by a fresh agent (bytes sent twice
//! against one chunk per stream); a new version with 1 % of its small files changed (bytes moved
//! against the total); and the bandwidth cap (target against measured). Next to the large copy,
//! the least work any copy keeping the design's guarantees does here ([`floor`]): reading the
//! files, mutual TLS over loopback and BLAKE3, with nothing else, spread over every CPU.
#![forbid(unsafe_code)]

mod floor;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use maison_agent::RunningAgent;
use maison_agent::config::{
    AgentConfig, ByteSize, DatasetsConfig, DockerConfig, EnterConfig, FreeMargin, GpuConfig,
    HourRange, MetricsConfig, MountRoots, PolicyConfig, ResourceConfig, TlsConfig,
};
use maison_agent_api::datasets::{
    CHUNK_SIZE, FetchRequest, PeerSource, RegisterRequest, ReplicaInfo, ReplicaState,
};
use maison_agent_api::{AgentClient, ClientTls, Timeouts};
use maison_pki::Ca;

const MIB: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scale {
    /// 4 × 1 GiB and 100,000 × 8 KiB (a few minutes, ~10 GiB of disk at the peak).
    Default,
    /// 4 × 128 MiB and 10,000 × 8 KiB (well under a minute).
    Small,
}

#[derive(Debug, Parser)]
#[command(
    name = "data-bench",
    about = "Copy datasets between two local agents, next to cp -a and rsync -a over ssh"
)]
struct Args {
    /// Working directory: source datasets (kept for later runs), agents' state, copies.
    #[arg(long, default_value = "/tmp/maison-data-bench")]
    dir: PathBuf,
    /// Preset sizes; the options below override them.
    #[arg(long, value_enum, default_value_t = Scale::Default)]
    scale: Scale,
    /// Files of the large-file dataset.
    #[arg(long)]
    large_files: Option<u64>,
    /// Size of each large file (e.g. 1GiB, 256MiB).
    #[arg(long, value_parser = parse_size)]
    large_size: Option<u64>,
    /// Files of the small-files dataset.
    #[arg(long)]
    small_files: Option<u64>,
    /// Size of each small file.
    #[arg(long, value_parser = parse_size)]
    small_size: Option<u64>,
    /// Parallel streams per copy.
    #[arg(long, default_value_t = 8)]
    streams: usize,
    /// Bandwidth cap for the cap test, per second.
    #[arg(long, value_parser = parse_size)]
    rate_cap: Option<u64>,
    /// Rounds of the large and small copies; each tool's median is shown.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Skip the rsync comparison even when rsync and ssh to localhost work.
    #[arg(long)]
    no_rsync: bool,
    /// The remote shell rsync uses to reach localhost (e.g. to add `-p 2222 -i key`).
    #[arg(
        long,
        default_value = "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=3"
    )]
    ssh: String,
}

fn parse_size(s: &str) -> Result<u64, String> {
    ByteSize::parse(s).map(|b| b.0)
}

struct Sizes {
    large_files: u64,
    large_size: u64,
    small_files: u64,
    small_size: u64,
    rate_cap: u64,
    rate_bytes: u64,
}

impl Sizes {
    fn from(args: &Args) -> Sizes {
        let (lf, ls, sf, ss, cap, rb) = match args.scale {
            Scale::Default => (4, 1 << 30, 100_000, 8 << 10, 100 * MIB, 768 * MIB),
            Scale::Small => (4, 128 * MIB, 10_000, 8 << 10, 50 * MIB, 192 * MIB),
        };
        Sizes {
            large_files: args.large_files.unwrap_or(lf),
            large_size: args.large_size.unwrap_or(ls),
            small_files: args.small_files.unwrap_or(sf),
            small_size: args.small_size.unwrap_or(ss),
            rate_cap: args.rate_cap.unwrap_or(cap),
            rate_bytes: rb,
        }
    }
}

fn main() -> anyhow::Result<()> {
    maison_agent::install_crypto_provider();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

/// Certificates of one CA, written as files the agents' configurations name.
struct Pki {
    ca: Ca,
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> anyhow::Result<Pki> {
        std::fs::create_dir_all(dir)?;
        let ca = Ca::generate("Maison bench CA")?;
        std::fs::write(dir.join("ca.pem"), ca.cert_pem())?;
        Ok(Pki {
            ca,
            dir: dir.to_path_buf(),
        })
    }

    fn bot(&self) -> anyhow::Result<ClientTls> {
        let bot = self.ca.issue_bot("bench-bot")?;
        Ok(ClientTls {
            ca_pem: self.ca.cert_pem().into(),
            cert_pem: bot.cert_pem,
            key_pem: bot.key_pem,
        })
    }

    /// The TLS configurations of a source agent (its server side) and of a destination pulling
    /// from it with its peer certificate, as the agents build them.
    fn peer_link(&self) -> anyhow::Result<(rustls::ServerConfig, rustls::ClientConfig)> {
        let agent = self.ca.issue_agent("localhost", &["127.0.0.1".into()])?;
        let peer = self.ca.issue_peer("floor")?;
        let ca = self.ca.cert_pem();
        let server = maison_agent::tls::server_config_from_pem(
            agent.cert_pem.as_bytes(),
            agent.key_pem.as_bytes(),
            ca.as_bytes(),
        )?;
        let client = maison_agent_api::client_tls_config(&ClientTls {
            ca_pem: ca.into(),
            cert_pem: peer.cert_pem,
            key_pem: peer.key_pem,
        })?;
        Ok((server, client))
    }

    /// An agent's configuration with its data under `root`.
    fn agent_config(&self, name: &str, root: &Path, streams: usize) -> anyhow::Result<AgentConfig> {
        let agent = self.ca.issue_agent("localhost", &["127.0.0.1".into()])?;
        let peer = self.ca.issue_peer(name)?;
        let write = |file: &str, text: &str| -> anyhow::Result<PathBuf> {
            let p = self.dir.join(format!("{name}-{file}"));
            std::fs::write(&p, text)?;
            Ok(p)
        };
        std::fs::create_dir_all(root.join("datasets"))?;
        Ok(AgentConfig {
            listen: "127.0.0.1:0".parse()?,
            tls: TlsConfig {
                cert: write("agent.pem", &agent.cert_pem)?,
                key: write("agent-key.pem", &agent.key_pem)?,
                client_ca: self.dir.join("ca.pem"),
            },
            docker: DockerConfig::default(),
            mounts: MountRoots {
                home: None,
                work: None,
                datasets: Some(root.join("datasets")),
            },
            gpu: GpuConfig::Simulated {
                count: 1,
                memory_mib: 1024,
                name: "bench".into(),
            },
            metrics: MetricsConfig::default(),
            policy: PolicyConfig {
                staging_dir: root.join("stage"),
                ..PolicyConfig::default()
            },
            resources: ResourceConfig::default(),
            enter: EnterConfig {
                socket: PathBuf::new(),
            },
            datasets: DatasetsConfig {
                streams,
                free_margin: FreeMargin::Bytes(1 << 30),
                peer_cert: Some(write("peer.pem", &peer.cert_pem)?),
                peer_key: Some(write("peer-key.pem", &peer.key_pem)?),
                ..DatasetsConfig::default()
            },
        })
    }
}

struct Agent {
    running: RunningAgent,
    client: AgentClient,
}

impl Agent {
    async fn start(config: AgentConfig, bot: &ClientTls) -> anyhow::Result<Agent> {
        let running = maison_agent::start(config).await?;
        let client = AgentClient::new(
            &format!("https://127.0.0.1:{}", running.addr.port()),
            bot,
            Timeouts {
                connect: Duration::from_secs(5),
                request: Duration::from_secs(120),
            },
        )?;
        Ok(Agent { running, client })
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.running.addr.port())
    }

    async fn replica(&self, key: &str) -> anyhow::Result<Option<ReplicaInfo>> {
        Ok(self
            .client
            .datasets()
            .await?
            .replicas
            .into_iter()
            .find(|r| format!("{}@{}", r.name, r.version) == key))
    }

    async fn wait(&self, key: &str, state: ReplicaState) -> anyhow::Result<ReplicaInfo> {
        loop {
            if let Some(r) = self.replica(key).await? {
                if r.state == state {
                    return Ok(r);
                }
                if r.state == ReplicaState::Failed {
                    bail!("{key} failed: {}", r.error.unwrap_or_default());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Registers a directory under the datasets root (unless already registered); the id.
    async fn register(&self, name: &str, dir: &Path) -> anyhow::Result<String> {
        let key = format!("{name}@v1");
        if let Some(r) = self.replica(&key).await?
            && r.state == ReplicaState::Complete
            && let Some(id) = r.manifest
        {
            return Ok(id);
        }
        let t = Instant::now();
        self.client
            .register_dataset(&RegisterRequest {
                name: name.into(),
                version: "v1".into(),
                path: dir.display().to_string(),
                owner_uid: None,
            })
            .await?;
        let r = self.wait(&key, ReplicaState::Complete).await?;
        println!(
            "  registered {name}: {} files, {} in {:.1} s (scan + BLAKE3)",
            r.total_files,
            human(r.total_bytes),
            t.elapsed().as_secs_f64()
        );
        r.manifest.context("no manifest")
    }

    /// Copies `id` from `source`; the time to a complete, synced copy: to the moment the agent
    /// marked it complete (its `updated_at`, same clock, same process), not to the poll that
    /// saw it, which added up to 50 ms to maison's figure and nothing to the others'.
    async fn copy(
        &self,
        name: &str,
        id: &str,
        source: &Agent,
    ) -> anyhow::Result<(ReplicaInfo, f64)> {
        let (asked, t) = (chrono::Utc::now(), Instant::now());
        self.client.fetch_dataset(&fetch(name, id, source)).await?;
        let r = self
            .wait(&format!("{name}@v1"), ReplicaState::Complete)
            .await?;
        let secs = (r.updated_at - asked)
            .to_std()
            .map_or_else(|_| t.elapsed().as_secs_f64(), |d| d.as_secs_f64());
        Ok((r, secs))
    }
}

fn fetch(name: &str, id: &str, source: &Agent) -> FetchRequest {
    FetchRequest {
        name: name.into(),
        version: "v1".into(),
        manifest: id.into(),
        sources: vec![PeerSource {
            host: "bench-a".into(),
            url: source.url(),
        }],
    }
}

/// Copies `id` to `dest` and samples the bytes received while the copy runs (the first and
/// last samples bound the measure, so start-up and the final sync are left out): the bytes and
/// seconds between them, `None` if the copy was too quick to sample twice.
async fn capped_copy(
    dest: &Agent,
    source: &Agent,
    name: &str,
    id: &str,
) -> anyhow::Result<Option<(u64, f64)>> {
    dest.client.fetch_dataset(&fetch(name, id, source)).await?;
    let key = format!("{name}@v1");
    let mut samples = Vec::new();
    loop {
        let r = dest.replica(&key).await?.context("replica")?;
        match r.state {
            ReplicaState::Complete => break,
            ReplicaState::Failed => bail!("capped copy failed: {:?}", r.error),
            _ => {}
        }
        if r.bytes_received > 0 && r.bytes_received < r.total_bytes {
            samples.push((Instant::now(), r.bytes_received));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(match (samples.first(), samples.last()) {
        (Some(&(t0, b0)), Some(&(t1, b1))) if t1 > t0 => {
            Some((b1 - b0, t1.duration_since(t0).as_secs_f64()))
        }
        _ => None,
    })
}

/// Deterministic content, fast to make.
fn fill(seed: &str, buf: &mut [u8]) {
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(buf);
}

/// Creates the source datasets unless a previous run made them with the same sizes; true when
/// any was (re)made, so that registrations of an earlier run no longer hold.
fn make_sources(root: &Path, s: &Sizes) -> anyhow::Result<bool> {
    let make = |name: &str, files: u64, size: u64, per_dir: u64| -> anyhow::Result<bool> {
        let dir = root.join(name);
        let marker = root.join(format!(".{name}.done"));
        let want = format!("{files} {size}");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str()) {
            return Ok(false);
        }
        let _ = std::fs::remove_dir_all(&dir);
        println!("  creating {name}: {files} × {}", human(size));
        let mut buf = vec![0u8; size.min(64 * MIB) as usize];
        for i in 0..files {
            let sub = dir.join(format!("{:03}", i / per_dir));
            if i % per_dir == 0 {
                std::fs::create_dir_all(&sub)?;
            }
            let path = sub.join(format!("f{i:06}.bin"));
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
            let mut left = size;
            let mut part = 0;
            while left > 0 {
                let n = left.min(buf.len() as u64) as usize;
                fill(&format!("{name}/{i}/{part}"), &mut buf[..n]);
                std::io::Write::write_all(&mut f, &buf[..n])?;
                left -= n as u64;
                part += 1;
            }
        }
        std::fs::write(&marker, want)?;
        Ok(true)
    };
    let large = make("large", s.large_files, s.large_size, 1000)?;
    let small = make("small", s.small_files, s.small_size, 1000)?;
    let capped = make("capped", 3, s.rate_bytes / 3, 1000)?;
    Ok(large || small || capped)
}

fn sync_fs(path: &Path) {
    let _ = Command::new("sync").arg("-f").arg(path).status();
}

/// CPU time used by the whole machine so far (user + system, all CPUs), in seconds, from
/// `/proc/stat`. Machine-wide on purpose: rsync's far side runs under sshd, not under us, and
/// both agents run inside this process, so only the machine's total compares the tools.
fn machine_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next().and_then(|l| l.strip_prefix("cpu ")) else {
        return 0.0;
    };
    // user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .map(|t| t.parse().unwrap_or(0))
        .collect();
    let busy: u64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .take(8)
        .map(|(_, t)| t)
        .sum();
    busy as f64 / 100.0
}

/// Runs one timed copy and returns (wall seconds, machine CPU seconds).
async fn measured<F: std::future::Future<Output = anyhow::Result<f64>>>(
    copy: F,
) -> anyhow::Result<(f64, f64)> {
    let cpu = machine_cpu_secs();
    let wall = copy.await?;
    Ok((wall, machine_cpu_secs() - cpu))
}

/// Waits until the agent's background deletions under `datasets` are over, then writes out
/// everything still dirty. Each timed copy starts on a quiet disk: otherwise the copy that
/// follows a removal of 100,000 files pays for that removal too, whichever tool it is.
async fn settle(datasets: &Path) {
    let trash = datasets
        .join(maison_agent::datasets::STATE_DIR)
        .join("trash");
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline
        && std::fs::read_dir(&trash).is_ok_and(|mut entries| entries.next().is_some())
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = Command::new("sync").status();
}

/// `cp -a` then `sync -f`; seconds.
fn time_cp(src: &Path, dst: &Path) -> anyhow::Result<f64> {
    let t = Instant::now();
    let ok = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()?
        .success();
    sync_fs(dst);
    let secs = t.elapsed().as_secs_f64();
    if !ok {
        bail!("cp -a failed");
    }
    Ok(secs)
}

/// Why rsync over ssh to localhost cannot run here, if it cannot.
fn rsync_unavailable(ssh: &str) -> Option<String> {
    let works = |cmd: &mut Command| cmd.output().map(|o| o.status.success()).unwrap_or(false);
    if !works(Command::new("rsync").arg("--version")) {
        return Some("rsync is not installed (apt-get install rsync)".into());
    }
    if !works(
        Command::new("sh")
            .arg("-c")
            .arg(format!("{ssh} localhost true")),
    ) {
        return Some(format!(
            "`{ssh} localhost` does not work without a password (needs openssh-server running and a key in ~/.ssh/authorized_keys, or --ssh)"
        ));
    }
    None
}

/// `rsync -a` over ssh to localhost, then `sync -f`; seconds.
fn time_rsync(src: &Path, dst: &Path, ssh: &str) -> anyhow::Result<f64> {
    let t = Instant::now();
    let ok = Command::new("rsync")
        .args(["-a", "-e", ssh])
        .arg(format!("{}/", src.display()))
        .arg(format!("localhost:{}/", dst.display()))
        .status()?
        .success();
    sync_fs(dst);
    let secs = t.elapsed().as_secs_f64();
    if !ok {
        bail!("rsync failed");
    }
    Ok(secs)
}

/// The median of a few timings.
fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Every round's time, for the reader to judge the spread.
fn spread(runs: &[(f64, f64)]) -> String {
    let each: Vec<String> = runs.iter().map(|(wall, _)| format!("{wall:.2}")).collect();
    format!("{} s", each.join(", "))
}

fn median_wall(runs: &[(f64, f64)]) -> f64 {
    median(&runs.iter().map(|(wall, _)| *wall).collect::<Vec<_>>())
}

/// The machine's CPU time for the copy (median over rounds): the cost of a tool, apart from
/// how long it waited. On a real fleet the two ends have their own CPUs; here they share two.
fn cpu_text(runs: &[(f64, f64)]) -> String {
    let cpu = median(&runs.iter().map(|(_, cpu)| *cpu).collect::<Vec<_>>());
    format!("CPU {cpu:.1} s")
}

/// The least work of a copy (see [`floor`]) next to `cp -a`'s time: how close to it any copy
/// that reads, encrypts and verifies every byte could come on this machine's CPUs.
async fn floor_row(pki: &Pki, dataset: &Path, cp_secs: f64) -> anyhow::Result<Row> {
    let (server, client) = pki.peer_link()?;
    let mut files = Vec::new();
    let mut dirs = vec![dataset.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                dirs.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    let f = tokio::task::spawn_blocking(move || {
        floor::measure(&files, server, client, machine_cpu_secs)
    })
    .await??;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let best = f.cpu() / cpus;
    Ok(Row(
        "large: least work (read, TLS, BLAKE3)".into(),
        human(f.bytes),
        format!("{best:.2} s"),
        format!(
            "CPU {:.1} s (read {:.1} + TLS over loopback {:.1} + BLAKE3 {:.1}) over {cpus} CPUs: \
             at best {:.0} % of cp -a, with no HTTP, scheduling or disk write",
            f.cpu(),
            f.read,
            f.tls,
            f.hash,
            cp_secs / best * 100.0
        ),
    ))
}

fn human(n: u64) -> String {
    ByteSize(n).to_string()
}

fn mbps(bytes: u64, secs: f64) -> String {
    format!("{:.0} MB/s", bytes as f64 / secs / 1e6)
}

struct Row(String, String, String, String);

async fn run(args: Args) -> anyhow::Result<()> {
    let sizes = Sizes::from(&args);
    std::fs::create_dir_all(&args.dir)?;
    let dir = std::fs::canonicalize(&args.dir)?;
    println!(
        "data-bench in {} ({} CPUs): large {} × {}, small {} × {}, {} streams",
        dir.display(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        sizes.large_files,
        human(sizes.large_size),
        sizes.small_files,
        human(sizes.small_size),
        args.streams
    );
    if let Some((free, _)) = maison_agent::datasets::fsx::disk_space(&dir) {
        let peak = sizes.large_files * sizes.large_size * 3
            + sizes.small_files * sizes.small_size * 4
            + sizes.rate_bytes * 2;
        if free < peak + (2 << 30) {
            bail!(
                "{} free under {}, the run needs about {}: pick --scale small or smaller sizes",
                human(free),
                dir.display(),
                human(peak)
            );
        }
    }
    // A's store keeps the sources (reused); B's is fresh each run.
    let a_root = dir.join("a");
    let b_root = dir.join("b");
    for d in [
        dir.join("b"),
        dir.join("b2"),
        dir.join("c"),
        dir.join("n"),
        dir.join("d"),
        dir.join("cmp"),
    ] {
        let _ = std::fs::remove_dir_all(d);
    }
    let pki = Pki::new(&dir.join("pki"))?;
    let bot = pki.bot()?;
    let sources = a_root.join("datasets");
    std::fs::create_dir_all(&sources)?;
    std::fs::set_permissions(&sources, std::fs::Permissions::from_mode(0o755))?;
    if make_sources(&sources, &sizes)? {
        let _ = std::fs::remove_dir_all(sources.join(".maison"));
    }
    sync_fs(&sources);
    let a = Agent::start(pki.agent_config("a", &a_root, args.streams)?, &bot).await?;
    let b = Agent::start(pki.agent_config("b", &b_root, args.streams)?, &bot).await?;
    let large_id = a.register("large", &sources.join("large")).await?;
    let small_id = a.register("small", &sources.join("small")).await?;
    let capped_id = a.register("capped", &sources.join("capped")).await?;
    let rsync_why = if args.no_rsync {
        Some("--no-rsync".to_string())
    } else {
        rsync_unavailable(&args.ssh)
    };
    let cmp = dir.join("cmp");
    std::fs::create_dir_all(&cmp)?;
    let mut rows = Vec::new();

    for (name, id) in [("large", &large_id), ("small", &small_id)] {
        let total = match name {
            "large" => sizes.large_files * sizes.large_size,
            _ => sizes.small_files * sizes.small_size,
        };
        println!("copying {name} ({}), {} rounds", human(total), args.rounds);
        let key = format!("{name}@v1");
        let (mut maison, mut cp, mut rsync) = (Vec::new(), Vec::new(), Vec::new());
        let mut received = 0;
        for round in 0..args.rounds.max(1) {
            // Each tool goes first in turn, and each removes its own previous copy just before
            // it copies again (the agent's is removed by the agent): on a VM, memory freed
            // seconds ago is fast to write into and memory freed minutes ago (handed back to
            // the hypervisor) is not, which alone moved `cp -a` between 3.4 s and 12 s here.
            for turn in 0..3 {
                match (round + turn) % 3 {
                    0 => {
                        // The previous round's copy goes first; the last one stays (the new
                        // version below links from it).
                        let _ = b.client.remove_dataset(&key).await;
                        settle(&b_root.join("datasets")).await;
                        maison.push(
                            measured(async {
                                let (r, secs) = b.copy(name, id, &a).await?;
                                received = r.bytes_received;
                                Ok(secs)
                            })
                            .await?,
                        );
                    }
                    1 => {
                        let (src, dst) = (sources.join(name), cmp.join(format!("cp-{name}")));
                        let _ = std::fs::remove_dir_all(&dst);
                        settle(&b_root.join("datasets")).await;
                        cp.push(measured(async { time_cp(&src, &dst) }).await?)
                    }
                    _ if rsync_why.is_none() => {
                        let (src, dst) = (sources.join(name), cmp.join(format!("rsync-{name}")));
                        let _ = std::fs::remove_dir_all(&dst);
                        settle(&b_root.join("datasets")).await;
                        rsync.push(measured(async { time_rsync(&src, &dst, &args.ssh) }).await?)
                    }
                    _ => {}
                }
            }
        }
        let secs = median_wall(&maison);
        let cp_secs = median_wall(&cp);
        rows.push(Row(
            format!("{name}: maison"),
            human(received),
            format!("{secs:.2} s"),
            format!(
                "{}, {} (rounds: {})",
                mbps(total, secs),
                cpu_text(&maison),
                spread(&maison)
            ),
        ));
        rows.push(Row(
            format!("{name}: cp -a"),
            human(total),
            format!("{cp_secs:.2} s"),
            format!(
                "{}, {}; maison at {:.0} % of it (rounds: {})",
                mbps(total, cp_secs),
                cpu_text(&cp),
                cp_secs / secs * 100.0,
                spread(&cp)
            ),
        ));
        if name == "large" {
            rows.push(floor_row(&pki, &sources.join(name), cp_secs).await?);
        }
        match &rsync_why {
            None => {
                let t = median_wall(&rsync);
                rows.push(Row(
                    format!("{name}: rsync -a over ssh"),
                    human(total),
                    format!("{t:.2} s"),
                    format!(
                        "{}, {}; maison {:.1}× faster (rounds: {})",
                        mbps(total, t),
                        cpu_text(&rsync),
                        t / secs,
                        spread(&rsync)
                    ),
                ))
            }
            Some(why) => rows.push(Row(
                format!("{name}: rsync -a over ssh"),
                "skipped".into(),
                String::new(),
                why.clone(),
            )),
        }
    }

    // A new version of the small-files dataset with 1 % of its files changed.
    {
        let v2 = sources.join("small-v2");
        let _ = std::fs::remove_dir_all(&v2);
        let ok = Command::new("cp")
            .arg("-al")
            .arg(sources.join("small"))
            .arg(&v2)
            .status()?
            .success();
        if !ok {
            bail!("cp -al failed");
        }
        let mut changed = 0u64;
        let mut buf = vec![0u8; sizes.small_size as usize];
        for i in (0..sizes.small_files).step_by(100) {
            let path = v2.join(format!("{:03}/f{i:06}.bin", i / 1000));
            // Replace, never write through the hard link into v1.
            std::fs::remove_file(&path)?;
            fill(&format!("v2/{i}"), &mut buf);
            std::fs::write(&path, &buf)?;
            changed += 1;
        }
        let key = "small-v2@v1";
        let _ = a.client.remove_dataset(key).await;
        let id = a.register("small-v2", &v2).await?;
        println!("copying a new version of small ({changed} files changed)");
        let (r, secs) = b.copy("small-v2", &id, &a).await?;
        rows.push(Row(
            "new version, 1 % of files changed".into(),
            format!("{} of {}", human(r.bytes_received), human(r.total_bytes)),
            format!("{secs:.2} s"),
            format!(
                "moved {:.2} % of the bytes ({} linked)",
                r.bytes_received as f64 / r.total_bytes as f64 * 100.0,
                human(r.bytes_linked)
            ),
        ));
        let _ = a.client.remove_dataset(key).await;
        let _ = std::fs::remove_dir_all(&v2);
    }
    b.running.shutdown().await;
    let _ = std::fs::remove_dir_all(&b_root);

    // Resume: stop the destination at about half, start it again on the same store.
    {
        let root = dir.join("b2");
        let config = pki.agent_config("b2", &root, args.streams)?;
        let b2 = Agent::start(config.clone(), &bot).await?;
        let total = sizes.large_files * sizes.large_size;
        println!("copying large, interrupted at ~50 %");
        b2.client
            .fetch_dataset(&fetch("large", &large_id, &a))
            .await?;
        loop {
            let r = b2.replica("large@v1").await?.context("replica")?;
            if r.present_bytes >= total / 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        b2.running.shutdown().await;
        let record: serde_json::Value = serde_json::from_slice(&std::fs::read(
            root.join("datasets/.maison/replicas/large@v1.json"),
        )?)?;
        let first = record["bytes_received"].as_u64().unwrap_or(0);
        let kept = record["present_bytes"].as_u64().unwrap_or(0);
        // A small dataset can finish between the poll and the stop: the restart then has
        // nothing to resume, and the record's bytes would be counted twice as re-sent.
        if record["state"] == "complete" {
            rows.push(Row(
                "resume after a stop at ~50 %".into(),
                "not measured".into(),
                String::new(),
                format!(
                    "the copy ({}) finished before the stop landed: use a larger --large-size",
                    human(total)
                ),
            ));
        } else {
            let t = Instant::now();
            let b2 = Agent::start(config, &bot).await?;
            let r = b2.wait("large@v1", ReplicaState::Complete).await?;
            let secs = t.elapsed().as_secs_f64();
            let resent = (first + r.bytes_received).saturating_sub(total);
            let allowance = args.streams as u64 * CHUNK_SIZE;
            rows.push(Row(
                "resume after a stop at ~50 %".into(),
                format!("{} + {}", human(first), human(r.bytes_received)),
                format!("{secs:.2} s"),
                format!(
                    "re-sent {} (allowance: {} streams × 8 MiB = {}); {} kept at the stop",
                    human(resent),
                    args.streams,
                    human(allowance),
                    human(kept)
                ),
            ));
            b2.running.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    // The bandwidth caps: receiving (day), receiving at night, serving.
    let cap = sizes.rate_cap;
    let target = |what: &str, measured: Option<(u64, f64)>| -> Row {
        match measured {
            Some((bytes, secs)) => {
                let rate = bytes as f64 / secs;
                Row(
                    what.into(),
                    human(bytes),
                    format!("{secs:.2} s"),
                    format!(
                        "target {}/s, measured {}/s ({:+.1} %)",
                        human(cap),
                        human(rate as u64),
                        (rate / cap as f64 - 1.0) * 100.0
                    ),
                )
            }
            None => Row(
                what.into(),
                "-".into(),
                String::new(),
                "too fast to sample".into(),
            ),
        }
    };
    {
        let root = dir.join("c");
        let mut config = pki.agent_config("c", &root, args.streams)?;
        config.datasets.max_rate = Some(ByteSize(cap));
        let c = Agent::start(config, &bot).await?;
        println!("copying capped at {}/s", human(cap));
        let measured = capped_copy(&c, &a, "capped", &capped_id).await?;
        rows.push(target("rate cap, receiving", measured));
        c.running.shutdown().await;
        let _ = std::fs::remove_dir_all(&root);
    }
    {
        // Night now: the night rate applies, the (four times higher) day rate does not.
        let hour = chrono::Timelike::hour(&chrono::Local::now());
        let root = dir.join("n");
        let mut config = pki.agent_config("n", &root, args.streams)?;
        config.datasets.max_rate = Some(ByteSize(cap * 4));
        config.datasets.night_rate = Some(ByteSize(cap));
        config.datasets.night_hours = Some(
            HourRange::parse(&format!("{hour}-{}", (hour + 2) % 24)).map_err(anyhow::Error::msg)?,
        );
        let n = Agent::start(config, &bot).await?;
        println!(
            "copying at the night rate {}/s (day rate {}/s)",
            human(cap),
            human(cap * 4)
        );
        let measured = capped_copy(&n, &a, "capped", &capped_id).await?;
        rows.push(target("night rate, receiving", measured));
        n.running.shutdown().await;
        let _ = std::fs::remove_dir_all(&root);
    }
    // The source itself capped: the same agent restarted with a cap, serving an uncapped copy.
    a.running.shutdown().await;
    let mut config = pki.agent_config("a", &a_root, args.streams)?;
    config.datasets.max_rate = Some(ByteSize(cap));
    let a = Agent::start(config, &bot).await?;
    {
        let root = dir.join("d");
        let d = Agent::start(pki.agent_config("d", &root, args.streams)?, &bot).await?;
        println!("copying from a source that serves at {}/s", human(cap));
        let measured = capped_copy(&d, &a, "capped", &capped_id).await?;
        rows.push(target("rate cap, serving", measured));
        d.running.shutdown().await;
        let _ = std::fs::remove_dir_all(&root);
    }
    a.running.shutdown().await;
    let _ = std::fs::remove_dir_all(&cmp);

    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
    println!();
    println!("{:w0$}  {:w1$}  {:w2$}  result", "measure", "bytes", "time");
    for Row(a, b, c, d) in &rows {
        println!("{a:w0$}  {b:w1$}  {c:w2$}  {d}");
    }
    Ok(())
}
