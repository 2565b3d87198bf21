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

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Drop every Linux capability in launched containers (stricter than Docker's
    /// default set; breaks `apt-get` as root inside the container).
    #[serde(default)]
    pub drop_all_capabilities: bool,
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
