//! The agent's TOML configuration. Unknown keys are errors: a misspelt mount root
//! must not silently widen or narrow what containers can see.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Address of the HTTPS listener. There is no plaintext listener.
    pub listen: SocketAddr,
    pub tls: TlsConfig,
    #[serde(default)]
    pub docker: DockerConfig,
    #[serde(default)]
    pub mounts: MountRoots,
    #[serde(default)]
    pub gpu: GpuConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub resources: ResourceConfig,
    #[serde(default)]
    pub enter: EnterConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The agent's certificate (`pki issue-agent <host>`).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The Maison CA; only bot certificates it signed may call the agent.
    pub client_ca: PathBuf,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DockerConfig {
    #[serde(default = "default_socket")]
    pub socket: PathBuf,
    /// Seconds before a Docker call is abandoned.
    #[serde(default = "default_docker_timeout")]
    pub timeout_secs: u64,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            socket: default_socket(),
            timeout_secs: default_docker_timeout(),
        }
    }
}

fn default_socket() -> PathBuf {
    PathBuf::from(DEFAULT_DOCKER_SOCKET)
}

fn default_docker_timeout() -> u64 {
    120
}

/// Host directories containers may bind-mount from. A missing root means no
/// mounts of that kind are allowed.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct MountRoots {
    /// Users' home directories (read-write).
    pub home: Option<PathBuf>,
    /// Scratch / project space (read-write).
    pub work: Option<PathBuf>,
    /// Cached datasets (always read-only).
    pub datasets: Option<PathBuf>,
}

/// Which GPU probe to use. `simulated` must be chosen explicitly and is reported
/// as such in `/v1/host` and `/v1/metrics`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(tag = "probe", rename_all = "lowercase", deny_unknown_fields)]
pub enum GpuConfig {
    /// NVML when the driver is present, otherwise zero GPUs.
    #[default]
    Auto,
    /// NVML or fail at start-up.
    Nvml {
        /// Milliseconds one sampling round may take before readings are marked stale.
        #[serde(default = "default_probe_deadline")]
        deadline_ms: u64,
    },
    /// Deterministic fake GPUs for tests, demos and benchmarks.
    Simulated {
        count: u32,
        #[serde(default = "default_sim_memory")]
        memory_mib: u64,
        #[serde(default = "default_sim_name")]
        name: String,
    },
}

fn default_probe_deadline() -> u64 {
    800
}

fn default_sim_memory() -> u64 {
    81_920
}

fn default_sim_name() -> String {
    "Simulated GPU".to_string()
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// How long 1-minute rollups are kept in memory.
    #[serde(default = "default_retention")]
    pub retention_hours: u32,
    /// Where `/proc` is; only changed by tests.
    #[serde(default = "default_proc")]
    pub proc_root: PathBuf,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            retention_hours: default_retention(),
            proc_root: default_proc(),
        }
    }
}

fn default_retention() -> u32 {
    24
}

fn default_proc() -> PathBuf {
    PathBuf::from("/proc")
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Supplementary groups every container's user gets (e.g. `video` on hosts whose device
    /// nodes need it). Nothing else: groups from the image's `/etc/group` never apply, because
    /// containers always run as an explicit `uid:gid`.
    #[serde(default)]
    pub supplementary_groups: Vec<u32>,
    /// Root-owned directory where bind-mount sources are pinned for Docker: each launch gets a
    /// sub-directory holding bind mounts of the directories that were checked, so renaming
    /// things in a home directory afterwards cannot change what the container sees.
    #[serde(default = "default_staging_dir")]
    pub staging_dir: PathBuf,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            supplementary_groups: Vec::new(),
            staging_dir: default_staging_dir(),
        }
    }
}

fn default_staging_dir() -> PathBuf {
    PathBuf::from("/run/maison/mounts")
}

/// Limits every launched container gets. Memory and CPU scale with the booked GPUs: a
/// container holding 2 of 8 GPUs gets a quarter of the host's memory and CPUs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// Most processes and threads per container: a fork bomb stops here, not at the host's limit.
    #[serde(default = "default_pids_limit")]
    pub pids_limit: i64,
    /// Memory per booked GPU; default: 90 % of the host's memory divided by its GPUs.
    #[serde(default)]
    pub memory_per_gpu_mib: Option<u64>,
    /// CPUs per booked GPU; default: the host's CPUs divided by its GPUs.
    #[serde(default)]
    pub cpus_per_gpu: Option<f64>,
    /// A container without GPUs is sized like one holding this many.
    #[serde(default = "default_cpu_only_share")]
    pub cpu_only_share_gpus: u32,
    /// `/dev/shm` as a percentage of the memory limit (Docker's 64 MB breaks PyTorch loaders).
    #[serde(default = "default_shm_percent")]
    pub shm_percent: u32,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        ResourceConfig {
            pids_limit: default_pids_limit(),
            memory_per_gpu_mib: None,
            cpus_per_gpu: None,
            cpu_only_share_gpus: default_cpu_only_share(),
            shm_percent: default_shm_percent(),
        }
    }
}

fn default_pids_limit() -> i64 {
    4096
}

fn default_cpu_only_share() -> u32 {
    1
}

fn default_shm_percent() -> u32 {
    50
}

/// `maison enter`: interactive shells in one's own containers over a local Unix socket.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnterConfig {
    /// The socket `maison enter` connects to; any local user may connect, the kernel tells the
    /// agent who they are. Remove the key's value (`socket = ""`) to disable.
    #[serde(default = "default_enter_socket")]
    pub socket: PathBuf,
}

impl Default for EnterConfig {
    fn default() -> Self {
        EnterConfig {
            socket: default_enter_socket(),
        }
    }
}

/// Where `maison enter` looks for the agent unless told otherwise.
pub const DEFAULT_ENTER_SOCKET: &str = "/run/maison/enter.sock";

fn default_enter_socket() -> PathBuf {
    PathBuf::from(DEFAULT_ENTER_SOCKET)
}

impl AgentConfig {
    pub fn from_toml(text: &str) -> Result<AgentConfig, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn load(path: &Path) -> anyhow::Result<AgentConfig> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading agent config {}", path.display()))?;
        let mut config = AgentConfig::from_toml(&text)
            .with_context(|| format!("parsing agent config {}", path.display()))?;
        // Relative paths are relative to the config file, not to the working directory
        // of whoever started the agent.
        if let Some(base) = path.parent() {
            config.resolve_relative(base);
        }
        Ok(config)
    }

    fn resolve_relative(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.tls.cert);
        fix(&mut self.tls.key);
        fix(&mut self.tls.client_ca);
    }

    /// Checks what serde cannot: values that parse but make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        let r = &self.resources;
        anyhow::ensure!(
            r.pids_limit >= 16,
            "resources.pids_limit = {} is too small for any shell (at least 16)",
            r.pids_limit
        );
        anyhow::ensure!(
            (1..=100).contains(&r.shm_percent),
            "resources.shm_percent must be 1-100, not {}",
            r.shm_percent
        );
        if let Some(c) = r.cpus_per_gpu {
            anyhow::ensure!(c > 0.0, "resources.cpus_per_gpu must be positive");
        }
        anyhow::ensure!(
            !self.policy.supplementary_groups.contains(&0),
            "policy.supplementary_groups may not contain 0 (root)"
        );
        anyhow::ensure!(
            self.policy.staging_dir.is_absolute(),
            "policy.staging_dir must be an absolute path"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/agent.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let config = AgentConfig::from_toml(&text).unwrap();
        assert_eq!(config.docker.socket, PathBuf::from(DEFAULT_DOCKER_SOCKET));
        assert_eq!(config.gpu, GpuConfig::Auto);
        assert!(config.mounts.datasets.is_some());
        assert_eq!(config.metrics.retention_hours, 24);
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = AgentConfig::from_toml(
            "listen = \"127.0.0.1:8443\"\n[tls]\ncert = \"a.pem\"\nkey = \"k.pem\"\nclient_ca = \"ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(c.gpu, GpuConfig::Auto);
        assert_eq!(c.mounts, MountRoots::default());
    }

    #[test]
    fn simulated_probe_is_explicit() {
        let c = AgentConfig::from_toml(
            "listen = \"127.0.0.1:8443\"\n[tls]\ncert = \"a\"\nkey = \"k\"\nclient_ca = \"c\"\n[gpu]\nprobe = \"simulated\"\ncount = 8\n",
        )
        .unwrap();
        assert!(matches!(c.gpu, GpuConfig::Simulated { count: 8, .. }));
    }

    #[test]
    fn unknown_keys_are_errors() {
        for bad in [
            "listen = \"127.0.0.1:1\"\nplaintext = true\n[tls]\ncert = \"a\"\nkey = \"k\"\nclient_ca = \"c\"\n",
            "listen = \"127.0.0.1:1\"\n[tls]\ncert = \"a\"\nkey = \"k\"\nclient_ca = \"c\"\n[mounts]\nhomes = \"/home\"\n",
            "listen = \"127.0.0.1:1\"\n[tls]\ncert = \"a\"\nkey = \"k\"\nclient_ca = \"c\"\n[gpu]\nprobe = \"simulated\"\ncount = 1\ncolour = \"red\"\n",
            "listen = \"127.0.0.1:1\"\n[tls]\ncert = \"a\"\nkey = \"k\"\nclient_ca = \"c\"\n[gpu]\nprobe = \"cuda\"\n",
        ] {
            assert!(AgentConfig::from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_tls_paths_follow_the_config_file() {
        let mut c = AgentConfig::from_toml(
            "listen = \"127.0.0.1:1\"\n[tls]\ncert = \"a.pem\"\nkey = \"/abs/k.pem\"\nclient_ca = \"c.pem\"\n",
        )
        .unwrap();
        c.resolve_relative(Path::new("/etc/maison"));
        assert_eq!(c.tls.cert, PathBuf::from("/etc/maison/a.pem"));
        assert_eq!(c.tls.key, PathBuf::from("/abs/k.pem"));
    }
}
