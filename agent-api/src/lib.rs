//! The host agent's API v1: wire types shared by the agent and the bot, and the
//! mutual-TLS client the bot uses to call agents.
//!
//! This crate deliberately has no Docker or NVML dependency: the bot links it too.

mod client;
pub mod datasets;
pub mod images;

pub use client::{AgentClient, BlobStream, ClientError, ClientTls, Timeouts, client_tls_config};

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Path prefix of every versioned endpoint.
pub const API_PREFIX: &str = "/v1";

/// The highest uid or gid a container may run as. Docker refuses anything above it ("uids and
/// gids must be in range 0-2147483647"), and `u32::MAX` is `(uid_t)-1`, which set-id calls
/// read as "leave unchanged": a launch must never get that far.
pub const MAX_CONTAINER_ID: u32 = i32::MAX as u32;

/// Label keys Maison puts on everything it creates.
pub mod labels {
    /// Slack user id of the owner.
    pub const OWNER: &str = "maison.owner";
    /// Display name of the owner at creation time (informative only).
    pub const OWNER_NAME: &str = "maison.owner_name";
    /// Booking id the container was launched under.
    pub const BOOKING: &str = "maison.booking";
    /// `catalog` or `custom`.
    pub const IMAGE_SOURCE: &str = "maison.image_source";
    /// RFC 3339 creation time.
    pub const CREATED_AT: &str = "maison.created_at";
    /// Idempotency key of the launch request that created the container.
    pub const IDEMPOTENCY_KEY: &str = "maison.idempotency_key";
    /// GPU indexes given to the container, comma separated.
    pub const GPUS: &str = "maison.gpus";
    /// Resource limits the agent set at launch (see [`crate::ResourceLimits::to_label`]).
    pub const LIMITS: &str = "maison.limits";
    /// Name of the agent's root-owned staging directory that holds this container's bind
    /// mounts; the agent removes it when the container is gone.
    pub const MOUNT_STAGE: &str = "maison.mount_stage";
    /// Manifest ids of the datasets mounted in the container, comma separated; a replica
    /// in use is never removed.
    pub const DATASETS: &str = "maison.datasets";
    /// Which agent made the container: its staging directory, which no two agents on one
    /// Docker engine share. An owner's share counts only the containers of this agent (tests
    /// run many agents against one engine).
    pub const AGENT: &str = "maison.agent";
    /// Prefix shared by every Maison label; clients may not set these themselves.
    pub const PREFIX: &str = "maison.";
}

/// Where a launched image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    /// A house image from the curated catalogue.
    Catalog,
    /// Any other image reference.
    #[default]
    Custom,
}

impl ImageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageSource::Catalog => "catalog",
            ImageSource::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "catalog" => Some(ImageSource::Catalog),
            "custom" => Some(ImageSource::Custom),
            _ => None,
        }
    }
}

/// The Maison labels of a container or image, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaisonLabels {
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_source: Option<ImageSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl MaisonLabels {
    /// Reads the Maison labels from a Docker label map. Without a non-empty
    /// `maison.owner` the object is unowned and `None` is returned; malformed
    /// optional labels are dropped rather than failing the whole listing,
    /// because anyone with Docker access can set labels by hand.
    pub fn from_labels(map: &HashMap<String, String>) -> Option<Self> {
        let owner = map.get(labels::OWNER).filter(|o| !o.trim().is_empty())?;
        let non_empty = |k: &str| map.get(k).filter(|v| !v.is_empty()).cloned();
        Some(MaisonLabels {
            owner: owner.clone(),
            owner_name: non_empty(labels::OWNER_NAME),
            booking: non_empty(labels::BOOKING),
            image_source: map
                .get(labels::IMAGE_SOURCE)
                .and_then(|s| ImageSource::parse(s)),
            created_at: map
                .get(labels::CREATED_AT)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc)),
            idempotency_key: non_empty(labels::IDEMPOTENCY_KEY),
        })
    }

    /// The Docker labels that encode these values.
    pub fn to_labels(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        out.insert(labels::OWNER.to_string(), self.owner.clone());
        if let Some(v) = &self.owner_name {
            out.insert(labels::OWNER_NAME.to_string(), v.clone());
        }
        if let Some(v) = &self.booking {
            out.insert(labels::BOOKING.to_string(), v.clone());
        }
        if let Some(v) = self.image_source {
            out.insert(labels::IMAGE_SOURCE.to_string(), v.as_str().to_string());
        }
        if let Some(v) = self.created_at {
            out.insert(
                labels::CREATED_AT.to_string(),
                v.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        if let Some(v) = &self.idempotency_key {
            out.insert(labels::IDEMPOTENCY_KEY.to_string(), v.clone());
        }
        out
    }
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub agent_version: String,
    /// The container inventory has been listed at least once and the events stream is live.
    pub inventory_live: bool,
}

/// NVIDIA driver information, present only when NVML is in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NvidiaInfo {
    pub driver_version: String,
    pub nvml_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_driver_version: Option<i32>,
}

/// One GPU as seen by the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub index: u32,
    pub uuid: String,
    pub name: String,
    pub memory_total_bytes: u64,
}

/// `GET /v1/host`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    pub cpus: u32,
    pub memory_total_bytes: u64,
    /// The Docker fields are `None` while the engine has not been reachable.
    pub docker_root_dir: Option<String>,
    /// `None` also when the Docker root is not visible from the agent.
    pub docker_root_free_bytes: Option<u64>,
    pub docker_root_total_bytes: Option<u64>,
    pub docker_version: Option<String>,
    pub docker_api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia: Option<NvidiaInfo>,
    pub gpus: Vec<GpuInfo>,
    /// True when the readings come from the simulated probe, never from hardware.
    pub gpus_simulated: bool,
    pub agent_version: String,
}

/// A container that used a GPU during a minute (or holds it now).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GpuHolder {
    pub container_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// `None` for unowned containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// One GPU over one minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuMinute {
    /// Start of the minute (UTC, seconds = 0).
    pub minute: DateTime<Utc>,
    pub gpu: u32,
    /// Number of 1 Hz samples that made it into the rollup (60 when nothing was missed).
    pub samples: u32,
    pub util_avg_pct: f32,
    pub util_max_pct: f32,
    pub mem_used_max_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_avg_watts: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_max_celsius: Option<u32>,
    /// Processes that ran on the GPU during the minute, by container; host processes are not listed.
    #[serde(default)]
    pub holders: Vec<GpuHolder>,
}

/// The latest reading of one GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuReading {
    pub gpu: u32,
    pub at: DateTime<Utc>,
    pub util_pct: f32,
    pub mem_used_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_watts: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_celsius: Option<u32>,
    /// The probe has not answered for a while: do not trust `util_pct` as "now".
    pub stale: bool,
    #[serde(default)]
    pub holders: Vec<GpuHolder>,
}

/// Backwards-compatible alias: a 1-minute rollup.
pub type MinuteRollup = GpuMinute;

/// `GET /v1/metrics?since=<RFC 3339>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsResponse {
    pub simulated: bool,
    /// Completed minutes whose start is at or after `since`, oldest first.
    pub rollups: Vec<GpuMinute>,
    pub current: Vec<GpuReading>,
}

/// Docker's container states, with a catch-all so a newer engine cannot break parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Removing,
    Dead,
    #[serde(other)]
    Unknown,
}

impl ContainerState {
    pub fn parse(s: &str) -> Self {
        match s {
            "created" => Self::Created,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "restarting" => Self::Restarting,
            "exited" => Self::Exited,
            "removing" => Self::Removing,
            "dead" => Self::Dead,
            _ => Self::Unknown,
        }
    }
}

/// One container, from the agent's inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub state: ContainerState,
    /// Docker's human status ("Up 3 hours", "Exited (0) 2 days ago").
    pub status: String,
    pub created: DateTime<Utc>,
    /// GPU indexes the container was given (from the Maison label or its device requests).
    pub gpus: Vec<u32>,
    /// True when the container carries a Maison owner label.
    pub owned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maison: Option<MaisonLabels>,
    /// The limits the agent set when it launched the container; `None` for containers made
    /// outside Maison (Docker's defaults apply to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceLimits>,
}

/// Resource limits of a launched container: agent defaults scaled by the booked GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLimits {
    /// Most processes and threads the container may hold (a fork bomb stops here).
    pub pids: i64,
    /// Memory limit (RAM; swap is not added on top).
    pub memory_bytes: u64,
    /// CPU quota in thousandths of a CPU (2500 = 2.5 CPUs).
    pub cpu_millis: u64,
    /// Size of `/dev/shm` (PyTorch data loaders share tensors through it).
    pub shm_bytes: u64,
}

impl ResourceLimits {
    /// The compact form stored in the `maison.limits` label.
    pub fn to_label(&self) -> String {
        format!(
            "pids={},memory={},cpu_millis={},shm={}",
            self.pids, self.memory_bytes, self.cpu_millis, self.shm_bytes
        )
    }

    /// Parses [`Self::to_label`]; `None` if any part is missing or malformed.
    pub fn from_label(s: &str) -> Option<Self> {
        let mut fields = BTreeMap::new();
        for part in s.split(',') {
            let (k, v) = part.split_once('=')?;
            fields.insert(k.trim(), v.trim());
        }
        Some(ResourceLimits {
            pids: fields.get("pids")?.parse().ok()?,
            memory_bytes: fields.get("memory")?.parse().ok()?,
            cpu_millis: fields.get("cpu_millis")?.parse().ok()?,
            shm_bytes: fields.get("shm")?.parse().ok()?,
        })
    }
}

/// `GET /v1/containers/{id}/processes`: who the container's processes run as, seen from the
/// host. Evidence for `claim`: a container whose processes all run as your Unix uid is yours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerProcesses {
    pub container_id: String,
    pub running: bool,
    /// Distinct host uids of the container's processes, ascending; empty when it is not running.
    pub uids: Vec<u32>,
}

/// A bind mount requested by a launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    /// Absolute host path; must lie under one of the agent's mount roots.
    pub source: String,
    /// Absolute path inside the container.
    pub target: String,
    /// `None`: read-write, except under the datasets root, which is always read-only.
    /// `Some(false)` under the datasets root is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// `POST /v1/containers`: a typed, default-deny launch request.
///
/// The fields after `idempotency_key` are wishes the agent always refuses. They are
/// part of the type, rather than rejected as unknown fields, so that a hostile or
/// buggy client gets a refusal naming the rule it broke, and so the policy tests can
/// express every attack. Any other unknown field is a parse error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LaunchSpec {
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Slack user id of the owner.
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking: Option<String>,
    #[serde(default)]
    pub image_source: ImageSource,
    /// GPU indexes on this host; empty for a CPU-only container.
    #[serde(default)]
    pub gpus: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// Replaces the image's command when non-empty.
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The same key always yields the same container; the first request's spec wins.
    pub idempotency_key: String,
    /// Datasets to mount read-only at `/data/<name>`; refused unless this host holds a
    /// complete copy of each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<datasets::DatasetMount>,

    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
}

/// Answer to `POST /v1/containers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchResponse {
    /// False when the idempotency key matched an existing container.
    pub created: bool,
    pub container: ContainerSummary,
}

/// One image, from the agent's inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSummary {
    pub id: String,
    pub tags: Vec<String>,
    pub size_bytes: u64,
    pub created: DateTime<Utc>,
    pub labels: BTreeMap<String, String>,
    /// Ids of the containers (any state) created from this image.
    pub used_by: Vec<String>,
    /// No tag points at it.
    pub dangling: bool,
}

/// Machine-readable error class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    PolicyRefused,
    NotFound,
    Conflict,
    Forbidden,
    DockerError,
    Internal,
    #[serde(other)]
    Unknown,
}

/// The body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The policy rule that refused the request, for `policy_refused` and some conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{} (rule {rule})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        let l = MaisonLabels {
            owner: "U123".into(),
            owner_name: Some("ada".into()),
            booking: Some("b-7".into()),
            image_source: Some(ImageSource::Catalog),
            created_at: Some("2025-03-01T10:00:00Z".parse().unwrap()),
            idempotency_key: Some("k".into()),
        };
        assert_eq!(MaisonLabels::from_labels(&l.to_labels()), Some(l));
    }

    #[test]
    fn no_owner_means_unowned_and_bad_values_are_dropped() {
        let mut m = HashMap::new();
        m.insert(labels::BOOKING.to_string(), "b".to_string());
        assert_eq!(MaisonLabels::from_labels(&m), None);
        m.insert(labels::OWNER.to_string(), "U1".to_string());
        m.insert(labels::IMAGE_SOURCE.to_string(), "weird".to_string());
        m.insert(labels::CREATED_AT.to_string(), "yesterday".to_string());
        let l = MaisonLabels::from_labels(&m).unwrap();
        assert_eq!(l.image_source, None);
        assert_eq!(l.created_at, None);
    }

    #[test]
    fn launch_spec_rejects_unknown_fields_but_parses_refusable_ones() {
        let ok = r#"{"image":"x","owner":"U1","idempotency_key":"k","privileged":true}"#;
        let spec: LaunchSpec = serde_json::from_str(ok).unwrap();
        assert!(spec.privileged);
        let bad = r#"{"image":"x","owner":"U1","idempotency_key":"k","Binds":["/:/host"]}"#;
        assert!(serde_json::from_str::<LaunchSpec>(bad).is_err());
    }

    #[test]
    fn limits_label_round_trips_and_rejects_garbage() {
        let l = ResourceLimits {
            pids: 4096,
            memory_bytes: 64 << 30,
            cpu_millis: 8000,
            shm_bytes: 16 << 30,
        };
        assert_eq!(ResourceLimits::from_label(&l.to_label()), Some(l));
        assert_eq!(ResourceLimits::from_label("pids=1,memory=x"), None);
        assert_eq!(ResourceLimits::from_label(""), None);
    }

    #[test]
    fn unknown_state_and_error_code_do_not_break_parsing() {
        let s: ContainerState = serde_json::from_str("\"hibernating\"").unwrap();
        assert_eq!(s, ContainerState::Unknown);
        let e: ApiError = serde_json::from_str(r#"{"code":"teapot","message":"m"}"#).unwrap();
        assert_eq!(e.code, ErrorCode::Unknown);
    }
}
