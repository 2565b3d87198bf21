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
    #[serde(default)]
    pub datasets: DatasetsConfig,
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
    /// What one person's containers on this host may hold together, in times the limits of one
    /// container holding every GPU they use: 2 lets a notebook run beside a training job on
    /// the same booking, and stops a third (limits are ceilings, rarely all used at once).
    #[serde(default = "default_owner_overcommit")]
    pub owner_overcommit: u32,
    /// The cgroup every image build's step containers are placed under, which holds the
    /// builds' processes to `pids_limit` together (Docker's build API has no process limit).
    /// A slice of this name where Docker uses systemd's cgroup driver.
    #[serde(default = "default_build_cgroup")]
    pub build_cgroup: String,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        ResourceConfig {
            pids_limit: default_pids_limit(),
            memory_per_gpu_mib: None,
            cpus_per_gpu: None,
            cpu_only_share_gpus: default_cpu_only_share(),
            shm_percent: default_shm_percent(),
            owner_overcommit: default_owner_overcommit(),
            build_cgroup: default_build_cgroup(),
        }
    }
}

fn default_pids_limit() -> i64 {
    4096
}

fn default_cpu_only_share() -> u32 {
    1
}

fn default_build_cgroup() -> String {
    "maison-build".into()
}

fn default_owner_overcommit() -> u32 {
    2
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

/// The agent's own directory under the datasets root (manifests, records, partial copies).
pub const DATASET_STATE_DIR: &str = ".maison";

/// Dataset copies between agents. The store is the `[mounts] datasets` root: complete copies
/// at `<root>/<name>@<version>/`, the agent's own state under `<root>/.maison/`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatasetsConfig {
    /// Most bytes per second this host receives from peers, and (separately) serves to them;
    /// unset = no cap. An integer, or a size such as `"200MiB"` (per second).
    #[serde(default)]
    pub max_rate: Option<ByteSize>,
    /// The cap during `night_hours` (local time), when the network is quieter.
    #[serde(default)]
    pub night_rate: Option<ByteSize>,
    /// `"22-07"`: from 22:00 to 07:00 local time.
    #[serde(default)]
    pub night_hours: Option<HourRange>,
    /// Free space a copy must leave on the datasets filesystem: bytes (`"10GiB"`) or a share
    /// of the filesystem (`"5%"`).
    #[serde(default)]
    pub free_margin: FreeMargin,
    /// Parallel ranged streams per copy.
    #[serde(default = "default_streams")]
    pub streams: usize,
    /// This agent's client identity towards other agents (`pki issue-agent` writes
    /// `peer-<host>.pem` and `peer-<host>-key.pem`). Without it, copies to this host are
    /// refused; serving blobs to others needs nothing.
    #[serde(default)]
    pub peer_cert: Option<PathBuf>,
    #[serde(default)]
    pub peer_key: Option<PathBuf>,
}

impl Default for DatasetsConfig {
    fn default() -> Self {
        DatasetsConfig {
            max_rate: None,
            night_rate: None,
            night_hours: None,
            free_margin: FreeMargin::default(),
            streams: default_streams(),
            peer_cert: None,
            peer_key: None,
        }
    }
}

fn default_streams() -> usize {
    8
}

/// A byte count written as an integer or with a unit: `"512MiB"`, `"1.5GB"`, `"200M"`.
/// `K`, `M`, `G`, `T` alone are binary (like `KiB`…); `KB`, `MB`… are decimal. A trailing
/// `/s` is allowed, so rates read naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let t = text.trim();
        let t = t.strip_suffix("/s").unwrap_or(t).trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size (e.g. 200MiB, 10GiB, 1048576)"))?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "t" | "tib" => 1 << 40,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            other => {
                return Err(format!(
                    "unknown unit {other:?} in {text:?} (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
                ));
            }
        };
        let bytes = number * factor as f64;
        if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
            return Err(format!("{text:?} is out of range"));
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

/// 1.5 GB, 300 MB… (decimal units, like disk tools; [`ByteSize::parse`] reads them back).
impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"];
        let mut v = self.0 as f64;
        let mut u = 0;
        while v >= 1000.0 && u < units.len() - 1 {
            v /= 1000.0;
            u += 1;
        }
        if u == 0 {
            write!(f, "{} B", self.0)
        } else {
            write!(f, "{v:.1} {}", units[u])
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(t) => ByteSize::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// Free space to keep: a byte count or a percentage of the filesystem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FreeMargin {
    Bytes(u64),
    Percent(f64),
}

impl Default for FreeMargin {
    fn default() -> Self {
        FreeMargin::Bytes(10 << 30)
    }
}

impl FreeMargin {
    /// The margin in bytes on a filesystem of `total` bytes.
    pub fn bytes(&self, total: u64) -> u64 {
        match *self {
            FreeMargin::Bytes(b) => b,
            FreeMargin::Percent(p) => (total as f64 * p / 100.0) as u64,
        }
    }
}

impl<'de> Deserialize<'de> for FreeMargin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(FreeMargin::Bytes(n)),
            Raw::Text(t) => match t.trim().strip_suffix('%') {
                Some(p) => {
                    let p: f64 = p.trim().parse().map_err(|_| {
                        serde::de::Error::custom(format!("{t:?} is not a percentage (e.g. 5%)"))
                    })?;
                    if !(0.0..100.0).contains(&p) {
                        return Err(serde::de::Error::custom(format!(
                            "free_margin {t:?} must be between 0 % and 100 %"
                        )));
                    }
                    Ok(FreeMargin::Percent(p))
                }
                None => ByteSize::parse(&t)
                    .map(|b| FreeMargin::Bytes(b.0))
                    .map_err(serde::de::Error::custom),
            },
        }
    }
}

/// Hours of the local day, `"22-07"`: the start hour included, the end hour excluded; a range
/// may wrap over midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRange {
    pub start: u32,
    pub end: u32,
}

impl HourRange {
    pub fn parse(text: &str) -> Result<HourRange, String> {
        let bad = || format!("{text:?} is not an hour range like \"22-07\" (local time)");
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let hour = |s: &str| -> Result<u32, String> {
            let s = s.trim();
            let s = s.strip_suffix(":00").unwrap_or(s);
            match s.parse::<u32>() {
                Ok(h) if h <= 24 => Ok(h % 24),
                _ => Err(bad()),
            }
        };
        let (start, end) = (hour(a)?, hour(b)?);
        if start == end {
            return Err(format!("{text:?} is an empty hour range"));
        }
        Ok(HourRange { start, end })
    }

    pub fn contains(&self, hour: u32) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&hour)
        } else {
            hour >= self.start || hour < self.end
        }
    }
}

impl<'de> Deserialize<'de> for HourRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        HourRange::parse(&text).map_err(serde::de::Error::custom)
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
        if let Some(p) = self.datasets.peer_cert.as_mut() {
            fix(p);
        }
        if let Some(p) = self.datasets.peer_key.as_mut() {
            fix(p);
        }
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
            (1..=64).contains(&r.owner_overcommit),
            "resources.owner_overcommit must be 1-64, not {}",
            r.owner_overcommit
        );
        anyhow::ensure!(
            !r.build_cgroup.is_empty()
                && r.build_cgroup.len() <= 64
                && r.build_cgroup
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "resources.build_cgroup = {:?} must be 1-64 letters, digits, '-' or '_' (a cgroup and a systemd slice name)",
            r.build_cgroup
        );
        anyhow::ensure!(
            !self.policy.supplementary_groups.contains(&0),
            "policy.supplementary_groups may not contain 0 (root)"
        );
        anyhow::ensure!(
            self.policy.staging_dir.is_absolute(),
            "policy.staging_dir must be an absolute path"
        );
        self.validate_datasets()
    }

    fn validate_datasets(&self) -> anyhow::Result<()> {
        let d = &self.datasets;
        anyhow::ensure!(
            (1..=64).contains(&d.streams),
            "datasets.streams must be 1-64, not {}",
            d.streams
        );
        for (name, rate) in [("max_rate", d.max_rate), ("night_rate", d.night_rate)] {
            if let Some(r) = rate {
                // Below this the cap's 10 ms refill would round to nothing.
                anyhow::ensure!(
                    r.0 >= 1024,
                    "datasets.{name} = {} B/s is too small (at least 1KiB)",
                    r.0
                );
            }
        }
        anyhow::ensure!(
            d.night_rate.is_some() == d.night_hours.is_some(),
            "datasets.night_rate and datasets.night_hours go together: set both or neither"
        );
        anyhow::ensure!(
            d.peer_cert.is_some() == d.peer_key.is_some(),
            "datasets.peer_cert and datasets.peer_key go together: set both or neither"
        );
        if self.mounts.datasets.is_none() {
            anyhow::ensure!(
                d.peer_cert.is_none() && d.max_rate.is_none() && d.night_rate.is_none(),
                "[datasets] is set but [mounts] datasets is not: the dataset store lives under that root"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_disk_tools() {
        assert_eq!(ByteSize(999).to_string(), "999 B");
        assert_eq!(ByteSize(3_100_000_000).to_string(), "3.1 GB");
        assert_eq!(ByteSize(7_400_000_000).to_string(), "7.4 GB");
    }

    #[test]
    fn shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/agent.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let config = AgentConfig::from_toml(&text).unwrap();
        assert_eq!(config.docker.socket, PathBuf::from(DEFAULT_DOCKER_SOCKET));
        assert_eq!(config.gpu, GpuConfig::Auto);
        assert!(config.mounts.datasets.is_some());
        assert_eq!(config.metrics.retention_hours, 24);
        config.validate().unwrap();
        assert_eq!(config.datasets.streams, 8);
        assert_eq!(config.datasets.free_margin, FreeMargin::Bytes(10 << 30));
        assert!(config.datasets.peer_cert.is_some());
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

    const BASE: &str = "listen = \"127.0.0.1:1\"\n[tls]\ncert = \"a\"\nkey = \"k\"\nclient_ca = \"c\"\n[mounts]\ndatasets = \"/d\"\n";

    #[test]
    fn datasets_section_parses_sizes_rates_and_hours() {
        let c = AgentConfig::from_toml(&format!(
            "{BASE}[datasets]\nmax_rate = \"200MiB/s\"\nnight_rate = 1048576\nnight_hours = \"22-07\"\nfree_margin = \"5%\"\nstreams = 4\npeer_cert = \"p.pem\"\npeer_key = \"pk.pem\"\n"
        ))
        .unwrap();
        c.validate().unwrap();
        let d = &c.datasets;
        assert_eq!(d.max_rate, Some(ByteSize(200 << 20)));
        assert_eq!(d.night_rate, Some(ByteSize(1 << 20)));
        assert_eq!(d.night_hours, Some(HourRange { start: 22, end: 7 }));
        assert_eq!(d.free_margin, FreeMargin::Percent(5.0));
        assert_eq!(d.free_margin.bytes(1000), 50);
        assert_eq!(d.streams, 4);
        let defaults = AgentConfig::from_toml(BASE).unwrap();
        assert_eq!(defaults.datasets, DatasetsConfig::default());
        assert_eq!(defaults.datasets.free_margin.bytes(1 << 40), 10 << 30);
    }

    #[test]
    fn sizes_and_hour_ranges() {
        assert_eq!(ByteSize::parse("1.5GB"), Ok(ByteSize(1_500_000_000)));
        assert_eq!(ByteSize::parse("20 MiB"), Ok(ByteSize(20 << 20)));
        assert_eq!(ByteSize::parse("512k"), Ok(ByteSize(512 << 10)));
        assert!(ByteSize::parse("fast").is_err());
        assert!(ByteSize::parse("10 parsecs").is_err());
        let night = HourRange::parse("22-07").unwrap();
        assert!(night.contains(23) && night.contains(0) && night.contains(6));
        assert!(!night.contains(7) && !night.contains(12) && !night.contains(21));
        let lunch = HourRange::parse("12:00-14:00").unwrap();
        assert!(lunch.contains(13) && !lunch.contains(14));
        assert!(HourRange::parse("7-7").is_err());
        assert!(HourRange::parse("25-3").is_err());
    }

    #[test]
    fn a_build_cgroup_name_that_is_not_a_plain_name_is_refused() {
        let named = |name: &str| {
            AgentConfig::from_toml(&format!("{BASE}[resources]\nbuild_cgroup = {name:?}\n"))
                .unwrap()
                .validate()
        };
        named("maison-build_2").unwrap();
        assert_eq!(
            AgentConfig::from_toml(BASE).unwrap().resources.build_cgroup,
            "maison-build"
        );
        for bad in [
            "",
            "../docker",
            "a/b",
            "x.slice",
            "a&memory=0",
            &"n".repeat(65),
        ] {
            let e = named(bad).unwrap_err().to_string();
            assert!(e.contains("build_cgroup"), "{bad}: {e}");
        }
    }

    #[test]
    fn datasets_settings_that_make_no_sense_are_refused() {
        for (extra, why) in [
            ("streams = 0\n", "streams"),
            ("night_rate = \"1MiB\"\n", "night_hours"),
            ("peer_cert = \"p.pem\"\n", "peer_key"),
            ("max_rate = 10\n", "too small"),
        ] {
            let c = AgentConfig::from_toml(&format!("{BASE}[datasets]\n{extra}")).unwrap();
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(why), "{extra}: {err}");
        }
        assert!(
            AgentConfig::from_toml(&format!("{BASE}[datasets]\nfree_margin = \"150%\"\n")).is_err()
        );
        let no_root = AgentConfig::from_toml(
            "listen = \"127.0.0.1:1\"\n[tls]\ncert = \"a\"\nkey = \"k\"\nclient_ca = \"c\"\n[datasets]\nmax_rate = \"1MiB\"\n",
        )
        .unwrap();
        assert!(
            no_root
                .validate()
                .unwrap_err()
                .to_string()
                .contains("[mounts] datasets")
        );
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
