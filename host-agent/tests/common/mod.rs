//! Test harness: certificates issued on the fly, an in-process agent on a random
//! port talking to the machine's real Docker engine, and clean-up by name prefix
//! so tests running in parallel never touch each other's containers.

#![allow(dead_code)]

pub mod data;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bollard::Docker;
use maison_agent::RunningAgent;
use maison_agent::config::{
    AgentConfig, DatasetsConfig, DockerConfig, EnterConfig, GpuConfig, MetricsConfig, MountRoots,
    PolicyConfig, ResourceConfig, TlsConfig,
};
use maison_agent_api::{AgentClient, ClientTls, LaunchSpec, Timeouts};
use maison_pki::{Ca, IssuedCert};

pub const TEST_IMAGE: &str = "maison-test/busybox:latest";

/// The unprivileged user test containers run as (no such account needs to exist).
pub const TEST_UID: u32 = 4242;

pub fn init() {
    maison_agent::install_crypto_provider();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A name prefix unique to this test run and test, e.g. `mtest-4711-3-idem`.
pub fn unique_prefix(test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "mtest-{}-{}-{test}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn docker() -> Docker {
    Docker::connect_with_unix_defaults()
        .expect("the Docker socket must be reachable for these tests")
}

/// Fails (never skips) when the test image is missing, saying how to build it.
pub async fn require_test_image(docker: &Docker) {
    if docker.inspect_image(TEST_IMAGE).await.is_err() {
        panic!(
            "Docker image {TEST_IMAGE} is missing: run scripts/build-test-image.sh first \
             (it builds the image from Debian's busybox-static with `docker import`)"
        );
    }
}

/// Removes every container (and image tag) whose name starts with the prefix,
/// also when the test panics.
pub struct Cleanup {
    pub prefix: String,
    pub images: Vec<String>,
}

impl Cleanup {
    pub fn new(prefix: &str) -> Cleanup {
        Cleanup {
            prefix: prefix.to_string(),
            images: Vec::new(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let out = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("name=^/{}", self.prefix))
            .output();
        if let Ok(out) = out {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect();
            if !ids.is_empty() {
                let _ = std::process::Command::new("docker")
                    .args(["rm", "-f"])
                    .args(&ids)
                    .output();
            }
        }
        for image in &self.images {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", image])
                .output();
        }
    }
}

/// A CA with a bot, an agent and the agent's peer certificate.
pub struct TestPki {
    pub ca: Ca,
    pub bot: IssuedCert,
    pub agent: IssuedCert,
    pub peer: IssuedCert,
}

impl TestPki {
    pub fn new() -> TestPki {
        TestPki::with_ca(Ca::generate("Maison Test CA").unwrap())
    }

    fn with_ca(ca: Ca) -> TestPki {
        let bot = ca.issue_bot("maison-bot").unwrap();
        let agent = ca
            .issue_agent("localhost", &["127.0.0.1".to_string()])
            .unwrap();
        let peer = ca.issue_peer("localhost").unwrap();
        TestPki {
            ca,
            bot,
            agent,
            peer,
        }
    }

    /// Certificates for another agent of the same CA (agents of one fleet trust each other).
    pub fn sibling(&self) -> TestPki {
        TestPki::with_ca(Ca::from_pem(self.ca.cert_pem(), self.ca.key_pem()).unwrap())
    }

    pub fn client_tls(&self, cert: &IssuedCert) -> ClientTls {
        ClientTls {
            ca_pem: self.ca.cert_pem().to_string(),
            cert_pem: cert.cert_pem.clone(),
            key_pem: cert.key_pem.clone(),
        }
    }
}

pub struct TestAgent {
    pub agent: RunningAgent,
    pub pki: TestPki,
    pub dir: tempfile::TempDir,
    /// Canonical paths of the mount roots.
    pub home: PathBuf,
    pub work: PathBuf,
    pub datasets: PathBuf,
    pub client: AgentClient,
}

impl TestAgent {
    /// An agent with two simulated GPUs and mount roots in a temporary directory.
    pub async fn start() -> TestAgent {
        init();
        require_test_image(&docker()).await;
        let t = TestAgent::start_with(|_| {}).await;
        t.wait_live().await;
        t
    }

    /// Like [`TestAgent::start`], with the configuration adjusted by `adjust`,
    /// without waiting for Docker.
    pub async fn start_with(adjust: impl FnOnce(&mut AgentConfig)) -> TestAgent {
        TestAgent::start_with_pki(TestPki::new(), adjust).await
    }

    /// Like [`TestAgent::start_with`], with certificates of a given CA.
    pub async fn start_with_pki(pki: TestPki, adjust: impl FnOnce(&mut AgentConfig)) -> TestAgent {
        init();
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&pki, dir.path());
        adjust(&mut config);
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let agent = maison_agent::start(config).await.expect("agent starts");
        let client = client_for(agent.addr, &pki.client_tls(&pki.bot));
        TestAgent {
            agent,
            pki,
            dir,
            home: root.join("home"),
            work: root.join("work"),
            datasets: root.join("datasets"),
            client,
        }
    }
}

/// The configuration of a test agent whose files live in `dir`: two simulated GPUs, mount roots,
/// its own staging directory and enter socket, and its peer identity.
pub fn test_config(pki: &TestPki, dir: &std::path::Path) -> AgentConfig {
    let root = std::fs::canonicalize(dir).unwrap();
    let write = |name: &str, content: &str| {
        let p = root.join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    let tls = TlsConfig {
        cert: write("agent.pem", &pki.agent.cert_pem),
        key: write("agent-key.pem", &pki.agent.key_pem),
        client_ca: write("ca.pem", pki.ca.cert_pem()),
    };
    let (home, work, datasets) = (root.join("home"), root.join("work"), root.join("datasets"));
    for d in [&home, &work, &datasets] {
        std::fs::create_dir_all(d).unwrap();
    }
    AgentConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls,
        docker: DockerConfig::default(),
        mounts: MountRoots {
            home: Some(home.clone()),
            work: Some(work.clone()),
            datasets: Some(datasets.clone()),
        },
        gpu: GpuConfig::Simulated {
            count: 2,
            memory_mib: 1024,
            name: "Test GPU".into(),
        },
        metrics: MetricsConfig::default(),
        // Each agent its own staging directory and socket: agents sweep stages they do not
        // know, and tests run side by side.
        policy: PolicyConfig {
            staging_dir: root.join("stage"),
            ..PolicyConfig::default()
        },
        resources: ResourceConfig::default(),
        enter: EnterConfig {
            socket: root.join("enter.sock"),
        },
        datasets: DatasetsConfig {
            peer_cert: Some(write("peer.pem", &pki.peer.cert_pem)),
            peer_key: Some(write("peer-key.pem", &pki.peer.key_pem)),
            // The test machine's disk is what it is: keep no margin beyond 100 MiB.
            free_margin: maison_agent::config::FreeMargin::Bytes(100 << 20),
            ..DatasetsConfig::default()
        },
    }
}

impl TestAgent {
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.agent.addr.port())
    }

    pub async fn wait_live(&self) {
        for _ in 0..100 {
            if let Ok(h) = self.client.healthz().await
                && h.inventory_live
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the agent's inventory did not become live within 10 s");
    }

    pub fn full_relists(&self) -> u64 {
        self.agent
            .state
            .inventory
            .stats
            .full_relists
            .load(Ordering::Relaxed)
    }
}

pub fn client_for(addr: std::net::SocketAddr, tls: &ClientTls) -> AgentClient {
    AgentClient::new(
        &format!("https://127.0.0.1:{}", addr.port()),
        tls,
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(60),
        },
    )
    .unwrap()
}

/// A valid, minimal launch spec named `<prefix>-<suffix>`.
pub fn spec(prefix: &str, suffix: &str) -> LaunchSpec {
    LaunchSpec {
        image: TEST_IMAGE.into(),
        name: Some(format!("{prefix}-{suffix}")),
        owner: "U0TEST".into(),
        owner_name: Some("test user".into()),
        booking: Some("booking-1".into()),
        command: vec!["sleep".into(), "300".into()],
        uid: Some(TEST_UID),
        gid: Some(TEST_UID),
        idempotency_key: format!("{prefix}-{suffix}-key"),
        ..Default::default()
    }
}

/// Polls `f` until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Names of Docker containers (any state) whose name starts with `prefix`.
pub fn docker_names(prefix: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}}", "--filter"])
        .arg(format!("name=^/{prefix}"))
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect()
}
