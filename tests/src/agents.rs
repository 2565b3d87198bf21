//! Real `maison-agent` processes, and Docker daemons of a test's own, for the end-to-end
//! scenarios and benchmarks that need two hosts on one machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use maison_agent_api::{AgentClient, ClientTls, Timeouts};
use maison_bot::local::LocalPki;

use crate::{agent_binary, free_port};

/// How one agent differs from the others on the machine.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub name: String,
    /// The Docker engine it drives; `None`: the machine's.
    pub docker_socket: Option<PathBuf>,
    /// `[datasets] max_rate`, e.g. `"24MiB"`.
    pub max_rate: Option<String>,
    /// `[datasets] free_margin`, e.g. `"1MiB"` or `"99%"`.
    pub free_margin: String,
    /// `[mounts] work`: the root of the users' work directories (builds come from there).
    pub work_root: Option<PathBuf>,
}

impl AgentOptions {
    pub fn named(name: &str) -> AgentOptions {
        AgentOptions {
            name: name.into(),
            docker_socket: None,
            max_rate: None,
            free_margin: "1MiB".into(),
            work_root: None,
        }
    }
}

/// One agent process: its own port, datasets directory, staging directory and enter socket,
/// with the bot's CA, its server certificate and its peer identity.
pub struct AgentProcess {
    pub config: PathBuf,
    pub url: String,
    pub datasets: PathBuf,
    child: Option<Child>,
}

impl AgentProcess {
    pub fn new(dir: &Path, options: &AgentOptions, pki: &LocalPki) -> AgentProcess {
        let home = dir.join(&options.name);
        let datasets = home.join("datasets");
        std::fs::create_dir_all(&datasets).unwrap();
        let port = free_port();
        let rate = options
            .max_rate
            .as_ref()
            .map(|r| format!("max_rate = {r:?}\n"))
            .unwrap_or_default();
        let docker = options
            .docker_socket
            .as_ref()
            .map(|s| format!("[docker]\nsocket = {s:?}\n"))
            .unwrap_or_default();
        let work = options
            .work_root
            .as_ref()
            .map(|w| format!("work = {w:?}\n"))
            .unwrap_or_default();
        let config = home.join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\n\
                 [tls]\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\n\
                 {docker}\
                 [mounts]\ndatasets = {datasets:?}\n{work}\
                 [gpu]\nprobe = \"simulated\"\ncount = 2\n\
                 [policy]\nstaging_dir = {:?}\n\
                 [enter]\nsocket = {:?}\n\
                 [datasets]\npeer_cert = {:?}\npeer_key = {:?}\nstreams = 4\nfree_margin = {:?}\n{rate}",
                pki.agent_cert,
                pki.agent_key,
                pki.ca,
                home.join("stage"),
                home.join("enter.sock"),
                pki.peer_cert,
                pki.peer_key,
                options.free_margin,
            ),
        )
        .unwrap();
        AgentProcess {
            config,
            url: format!("https://127.0.0.1:{port}"),
            datasets,
            child: None,
        }
    }

    /// Starts the process and waits until it answers `/healthz`.
    pub async fn start(&mut self, tls: &ClientTls) {
        let child = Command::new(agent_binary())
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("maison-agent starts");
        self.child = Some(child);
        let client = self.client(tls);
        for _ in 0..300 {
            if client.healthz().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("maison-agent did not come up at {}", self.url);
    }

    /// SIGKILL: no chance to tidy up, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn client(&self, tls: &ClientTls) -> AgentClient {
        AgentClient::new(
            &self.url,
            tls,
            Timeouts {
                connect: Duration::from_millis(500),
                request: Duration::from_secs(5),
            },
        )
        .unwrap()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The bot's client identity from a test PKI.
pub fn bot_tls(pki: &LocalPki) -> ClientTls {
    ClientTls {
        ca_pem: std::fs::read_to_string(&pki.ca).unwrap(),
        cert_pem: std::fs::read_to_string(&pki.bot_cert).unwrap(),
        key_pem: std::fs::read_to_string(&pki.bot_key).unwrap(),
    }
}
