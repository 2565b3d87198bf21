//! A host agent on this machine, for `maison-bot try`: freshly generated certificates, the real
//! Docker engine if there is one, NVML if there is an NVIDIA driver, otherwise simulated GPUs
//! (reported as simulated everywhere). It runs in-process, so `try` is one command.
//!
//! Layer: a front, used by `main.rs` only; it may import `config`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use maison_pki::PkiCommand;

use crate::config::AgentsConfig;

/// The Slack user id `try` acts as unless told otherwise. The example config and
/// [`DEMO_CONFIG`] map it to a non-root Unix account, without mounts, so that its launches work.
pub const TRY_USER: &str = "U0LOCAL";

/// Used by `try` when no config file is found: a small fleet to play with.
pub const DEMO_CONFIG: &str = r##"
[slack]
default_tz = "UTC"
announce_channel = "#gpu-bookings"

[[hosts]]
name = "gpu01"
gpus = 2

[[hosts]]
name = "gpu02"
gpus = 2

[[hosts]]
name = "gpu03"
gpus = 8

# Containers run as a mapped Unix account, never as root: this is the `try` user's.
[[users]]
slack_user = "U0LOCAL"
unix_user = "local"
uid = 1000
gid = 1000
"##;

/// GPUs the local agent simulates when the machine has no NVIDIA driver.
pub const SIMULATED_GPUS: u32 = 2;

/// The running local agent and how the bot reaches it.
pub struct LocalAgent {
    pub running: maison_agent::RunningAgent,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// Client certificate paths for the bot.
    pub agents: AgentsConfig,
    /// GPU count the agent reports.
    pub gpus: u32,
    pub simulated: bool,
}

/// Certificates for one bot and one agent on loopback, written under `dir` (kept between runs).
pub struct LocalPki {
    pub ca: PathBuf,
    pub bot_cert: PathBuf,
    pub bot_key: PathBuf,
    pub agent_cert: PathBuf,
    pub agent_key: PathBuf,
    /// The agent's identity towards other agents (dataset copies).
    pub peer_cert: PathBuf,
    pub peer_key: PathBuf,
}

/// Runs the same `pki init`, `pki issue-bot` and `pki issue-agent localhost --san 127.0.0.1`
/// an admin would, unless `dir` already holds their files from an earlier run.
pub fn local_pki(dir: &Path) -> anyhow::Result<LocalPki> {
    const AGENT_HOST: &str = "localhost";
    let (agent_cert, agent_key) = maison_pki::agent_files(dir, AGENT_HOST)?;
    let (peer_cert, peer_key) = maison_pki::peer_files(dir, AGENT_HOST)?;
    let paths = LocalPki {
        ca: dir.join("ca.pem"),
        bot_cert: dir.join("bot.pem"),
        bot_key: dir.join("bot-key.pem"),
        agent_cert,
        agent_key,
        peer_cert,
        peer_key,
    };
    let all = [
        &paths.ca,
        &paths.bot_cert,
        &paths.bot_key,
        &paths.agent_cert,
        &paths.agent_key,
        &paths.peer_cert,
        &paths.peer_key,
    ];
    if all.iter().all(|p| p.exists()) {
        return Ok(paths);
    }
    let dir = dir.to_path_buf();
    // What the commands print is for an admin at a shell; `try` says what it needs itself.
    let mut quiet = std::io::sink();
    for command in [
        PkiCommand::Init {
            dir: dir.clone(),
            force: true,
        },
        PkiCommand::IssueBot {
            dir: dir.clone(),
            name: "maison-bot (try)".to_owned(),
            force: true,
        },
        PkiCommand::IssueAgent {
            dir: dir.clone(),
            host: AGENT_HOST.to_owned(),
            san: vec!["127.0.0.1".to_owned()],
            force: true,
        },
    ] {
        maison_pki::run_to(command, &mut quiet)?;
    }
    Ok(paths)
}

/// True when an NVIDIA kernel driver is loaded, so NVML is worth trying.
pub fn nvidia_driver_present() -> bool {
    Path::new("/proc/driver/nvidia/version").exists()
}

/// Starts an agent on a free loopback port. `work` becomes its read-write mount root.
pub async fn start_local_agent(dir: &Path) -> anyhow::Result<LocalAgent> {
    // The agent wants absolute paths for its stage and socket.
    let dir = &std::path::absolute(dir).context("resolving the try directory")?;
    let pki = local_pki(&dir.join("pki"))?;
    let work = dir.join("work");
    std::fs::create_dir_all(&work)?;
    // `data add try@v1 local:<dir>/datasets/<name>` registers a directory put there.
    let datasets = dir.join("datasets");
    std::fs::create_dir_all(&datasets)?;
    let simulated = !nvidia_driver_present();
    let gpu = if simulated {
        format!("probe = \"simulated\"\ncount = {SIMULATED_GPUS}\n")
    } else {
        "probe = \"nvml\"\n".to_owned()
    };
    // Stage and socket under the try directory: a real agent on this machine keeps its own.
    let text = format!(
        "listen = \"127.0.0.1:0\"\n[tls]\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\n[mounts]\nwork = {:?}\ndatasets = {:?}\n[policy]\nstaging_dir = {:?}\n[enter]\nsocket = {:?}\n[datasets]\npeer_cert = {:?}\npeer_key = {:?}\n[gpu]\n{gpu}",
        pki.agent_cert,
        pki.agent_key,
        pki.ca,
        work,
        datasets,
        dir.join("stage"),
        dir.join("enter.sock"),
        pki.peer_cert,
        pki.peer_key,
    );
    let config =
        maison_agent::config::AgentConfig::from_toml(&text).context("local agent config")?;
    let running = maison_agent::start(config)
        .await
        .context("cannot start the local agent")?;
    let gpus = running.state.sampler.probe().info().gpus.len() as u32;
    let url = format!("https://127.0.0.1:{}", running.addr.port());
    let agents = AgentsConfig {
        ca: Some(pki.ca),
        cert: Some(pki.bot_cert),
        key: Some(pki.bot_key),
        ..AgentsConfig::default()
    };
    Ok(LocalAgent {
        running,
        url,
        agents,
        gpus,
        simulated,
    })
}
