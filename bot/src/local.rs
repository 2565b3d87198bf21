//! A host agent on this machine, for `maison-bot try`: freshly generated certificates, the real
//! Docker engine if there is one, NVML if there is an NVIDIA driver, otherwise simulated GPUs
//! (reported as simulated everywhere). It runs in-process, so `try` is one command.

use std::path::{Path, PathBuf};

use anyhow::Context;
use maison_pki::Ca;

use crate::config::AgentsConfig;

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
}

pub fn local_pki(dir: &Path) -> anyhow::Result<LocalPki> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let paths = LocalPki {
        ca: dir.join("ca.pem"),
        bot_cert: dir.join("bot.pem"),
        bot_key: dir.join("bot-key.pem"),
        agent_cert: dir.join("agent-local.pem"),
        agent_key: dir.join("agent-local-key.pem"),
    };
    if [
        &paths.ca,
        &paths.bot_cert,
        &paths.bot_key,
        &paths.agent_cert,
        &paths.agent_key,
    ]
    .iter()
    .all(|p| p.exists())
    {
        return Ok(paths);
    }
    let ca = Ca::generate("Maison local try-out CA")?;
    let bot = ca.issue_bot("maison-bot (try)")?;
    let agent = ca.issue_agent("localhost", &["127.0.0.1".to_owned()])?;
    write_private(&dir.join("ca-key.pem"), ca.key_pem())?;
    std::fs::write(&paths.ca, ca.cert_pem())?;
    std::fs::write(&paths.bot_cert, &bot.cert_pem)?;
    write_private(&paths.bot_key, &bot.key_pem)?;
    std::fs::write(&paths.agent_cert, &agent.cert_pem)?;
    write_private(&paths.agent_key, &agent.key_pem)?;
    Ok(paths)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// True when an NVIDIA kernel driver is loaded, so NVML is worth trying.
pub fn nvidia_driver_present() -> bool {
    Path::new("/proc/driver/nvidia/version").exists()
}

/// Starts an agent on a free loopback port. `work` becomes its read-write mount root.
pub async fn start_local_agent(dir: &Path) -> anyhow::Result<LocalAgent> {
    let pki = local_pki(&dir.join("pki"))?;
    let work = dir.join("work");
    std::fs::create_dir_all(&work)?;
    let simulated = !nvidia_driver_present();
    let gpu = if simulated {
        format!("probe = \"simulated\"\ncount = {SIMULATED_GPUS}\n")
    } else {
        "probe = \"nvml\"\n".to_owned()
    };
    let text = format!(
        "listen = \"127.0.0.1:0\"\n[tls]\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\n[mounts]\nwork = {:?}\n[gpu]\n{gpu}",
        pki.agent_cert, pki.agent_key, pki.ca, work
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
