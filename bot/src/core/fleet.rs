//! The fleet as data: hosts and their state, what the poller last saw (host status, GPU
//! readings, cached containers and images, GPU metrics), containers and images located on
//! their hosts with their owners, and claims. Plus the rules about them that need no I/O:
//! owner resolution (label, else claim), matching a user's words to containers and images,
//! Docker's spellings of ids and references, default container names.

use std::collections::HashMap;
use std::fmt;

use maison_agent_api::{
    ContainerState, ContainerSummary, GpuHolder, HostInfo, ImageSource, ImageSummary, MaisonLabels,
    MountSpec,
};

use crate::config::UnixUserMapping;

/// What of a person's own is mounted into their containers: home and work, read-write, each at
/// its own path. A mapping may name one directory for both; it is mounted once (two mounts on
/// one target are refused by the agent).
pub fn own_mounts(mapping: &UnixUserMapping) -> Vec<MountSpec> {
    let mut mounts: Vec<MountSpec> = [&mapping.home, &mapping.work]
        .into_iter()
        .flatten()
        .map(|path| MountSpec {
            source: path.clone(),
            target: path.clone(),
            read_only: None,
        })
        .collect();
    mounts.dedup_by(|a, b| a.target == b.target);
    mounts
}

/// Whether a host takes new bookings and launches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostState {
    Active,
    /// Closed for maintenance: no new bookings or launches; what runs is left alone.
    Drained,
}

impl HostState {
    /// How the state is stored.
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Active => "active",
            HostState::Drained => "drained",
        }
    }

    /// The state stored as `text`; anything but `drained` is active.
    pub fn parse(text: &str) -> Self {
        if text == HostState::Drained.as_str() {
            HostState::Drained
        } else {
            HostState::Active
        }
    }
}

/// A host of the fleet, as the hosts table knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    /// GPUs Maison books on it.
    pub gpu_count: u32,
    pub state: HostState,
}

impl Host {
    pub fn is_drained(&self) -> bool {
        self.state == HostState::Drained
    }
}

/// A minute counts as busy (and a container holding the GPU as active) when the GPU's
/// average utilisation over the minute is at least this.
pub const BUSY_UTIL_PCT: u8 = 5;

/// One host as the poller last saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostStatus {
    pub host: String,
    /// False once the host has not answered for `agents.unreachable_after`, and for a host that
    /// has never answered.
    pub reachable: bool,
    /// When `reachable` last changed (Unix seconds).
    pub changed_at: i64,
    /// Start of the last poll the host answered completely.
    pub last_seen_at: Option<i64>,
    /// Start of the last poll attempt.
    pub last_polled_at: Option<i64>,
    /// Start of the first failed poll since the last answer; `None` while it answers.
    pub failing_since: Option<i64>,
    /// Why the last poll failed; `None` after an answer.
    pub last_error: Option<String>,
    pub gpus_simulated: bool,
    /// The host facts of the last answer.
    pub facts: Option<HostInfo>,
    /// Latest reading per GPU, by GPU index; as old as `last_seen_at` when unreachable.
    pub readings: Vec<GpuNow>,
}

/// The latest reading of one GPU.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuNow {
    pub gpu: u32,
    /// When the agent took the reading.
    pub at: i64,
    pub util_pct: f64,
    pub mem_used_bytes: u64,
    /// From the host facts; `None` if the agent did not list this GPU.
    pub mem_total_bytes: Option<u64>,
    pub power_watts: Option<f64>,
    pub temp_celsius: Option<u32>,
    /// The agent's probe has not answered for a while: do not read `util_pct` as "now".
    pub stale: bool,
    /// Containers with processes on the GPU now.
    pub holders: Vec<GpuHolder>,
}

/// A container from the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredContainer {
    pub host: String,
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub state: ContainerState,
    /// Docker's human status at the last poll ("Up 3 hours").
    pub status: String,
    pub created_at: i64,
    /// `maison.owner` (Slack user id); `None` for unowned containers.
    pub owner: Option<String>,
    pub owner_name: Option<String>,
    pub booking: Option<String>,
    pub image_source: Option<ImageSource>,
    pub gpus: Vec<u32>,
    /// When the poller first listed it.
    pub first_seen_at: i64,
    /// When its host last answered (the cache is true as of then).
    pub seen_at: i64,
}

/// An image from the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredImage {
    pub host: String,
    /// `sha256:…`
    pub id: String,
    pub tags: Vec<String>,
    pub size_bytes: u64,
    pub created_at: i64,
    /// Containers (any state) created from it.
    pub in_use: u32,
    pub dangling: bool,
    /// `maison.owner` label of the image, if any.
    pub owner: Option<String>,
    pub first_seen_at: i64,
    pub seen_at: i64,
    /// The image Maison made it from (`maison.image.parent_id`), if Maison made it.
    pub parent_id: Option<String>,
}

/// Who occupied a GPU during a minute (or an hour's share of minutes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Occupant {
    /// No container had a process on the GPU (idle, or host processes only).
    NoContainer,
    /// Only containers without a `maison.owner` label.
    Unowned,
    /// A container owned by this Slack user id.
    Owner(String),
}

/// One GPU over one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct MinuteRow {
    pub host: String,
    /// Start of the minute (Unix seconds).
    pub minute: i64,
    pub gpu: u32,
    /// Whole percent.
    pub util_avg_pct: u8,
    pub util_max_pct: u8,
    /// Rounded up to whole MiB.
    pub mem_max_bytes: u64,
    pub power_avg_watts: Option<u32>,
    pub temp_max_celsius: Option<u32>,
    pub holder: Occupant,
}

/// One GPU over one hour, for the minutes held by one [`Occupant`]. The GPU's whole hour is the
/// sum over holders.
#[derive(Debug, Clone, PartialEq)]
pub struct HourRow {
    pub host: String,
    /// Start of the hour (Unix seconds).
    pub hour: i64,
    pub gpu: u32,
    pub holder: Occupant,
    /// Minutes with a rollup (at most 60).
    pub minutes: u32,
    /// Minutes with `util_avg >= BUSY_UTIL_PCT`.
    pub busy_minutes: u32,
    /// Mean of the minutes' average utilisation.
    pub util_avg_pct: f64,
    pub util_max_pct: u8,
    pub mem_max_bytes: u64,
    pub power_avg_watts: Option<f64>,
    pub temp_max_celsius: Option<u32>,
}

/// When a container last held a GPU, from the minute rollups' holders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuActivity {
    /// End of the last minute it had a process on any GPU.
    pub last_held_at: i64,
    /// End of the last minute it held a busy GPU (`util_avg >= BUSY_UTIL_PCT`).
    pub last_active_at: Option<i64>,
}

/// What pruning the metrics deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneReport {
    pub minute_rows: u64,
    pub activity_rows: u64,
}

/// What can be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    Container,
    Image,
}

impl ClaimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Container => "container",
            ClaimKind::Image => "image",
        }
    }

    /// The kind stored as `text`; anything but `image` is a container.
    pub fn parse(text: &str) -> Self {
        if text == ClaimKind::Image.as_str() {
            ClaimKind::Image
        } else {
            ClaimKind::Container
        }
    }
}

impl fmt::Display for ClaimKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ownership of a container or image made outside Maison, taken with `claim`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub host: String,
    pub kind: ClaimKind,
    pub object_id: String,
    /// Slack user id.
    pub owner: String,
    pub owner_name: String,
    pub claimed_at: i64,
    pub request_id: String,
}

/// A member's request to own something they could not prove is theirs, for an admin to
/// approve or deny.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    pub id: i64,
    pub kind: ClaimKind,
    pub host: String,
    pub object_id: String,
    /// A readable name of the thing (container name or image tag).
    pub label: String,
    pub requester: String,
    pub requester_name: String,
    /// Why it could not be claimed directly, for the admins.
    pub reason: String,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub request_id: String,
}

/// Why a member could not claim a container or image directly, so admins must decide. Kept as
/// a value, not words: the requester and each admin read it in their own language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoProof {
    /// Images run no processes whose uid could be compared.
    Image,
    /// The member has no `[[users]]` entry giving their Unix uid.
    NoUnixMapping {
        member: String,
    },
    /// The host has no agent to ask.
    NoAgent {
        host: String,
    },
    /// The agent could not list the container's processes.
    AgentFailed {
        host: String,
        error: String,
    },
    NotRunning,
    NoProcesses,
    /// Some process runs under another uid than the member's.
    OtherUids {
        member: String,
        uids: Vec<u32>,
        uid: u32,
    },
}

/// What became of a claim request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Recorded; the admins' messages are queued.
    Asked(ClaimRequest),
    /// The requester already has a pending request for it; nothing new was queued.
    AlreadyAsked(ClaimRequest),
    /// Someone owns it meanwhile.
    Owned(Claim),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
}

/// What an admin's decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionOutcome {
    /// The claim is recorded for the requester.
    Approved(ClaimRequest),
    Denied(ClaimRequest),
    /// Approved, but someone had claimed it in between: the request is closed as denied so it
    /// does not wait for ever, and both sides are told who owns it.
    Superseded(ClaimRequest, Claim),
    /// Decided before (the model says by whom); nothing changed.
    AlreadyDecided(ClaimRequest),
    NoSuchRequest,
}

/// Who owns a container or an image: the `maison.owner` label set at launch, else whoever
/// claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub slack_user: String,
    pub name: String,
    /// True when ownership was claimed rather than set at launch.
    pub claimed: bool,
}

impl Owner {
    /// The owner a `maison.owner` label names; `name` is its `maison.owner_name`, if set.
    pub fn labelled(slack_user: &str, name: Option<&str>) -> Self {
        Self {
            slack_user: slack_user.to_owned(),
            name: name.unwrap_or(slack_user).to_owned(),
            claimed: false,
        }
    }

    /// The owner Maison's labels name.
    pub fn of_labels(labels: &MaisonLabels) -> Self {
        Self::labelled(&labels.owner, labels.owner_name.as_deref())
    }

    /// The owner a claim names.
    pub fn of_claim(claim: &Claim) -> Self {
        Self {
            slack_user: claim.owner.clone(),
            name: claim.owner_name.clone(),
            claimed: true,
        }
    }
}

/// The claims of one kind, by `(host, object id)`: where the owners of unlabelled things are
/// looked up. The one place that decides who owns a container or an image.
#[derive(Debug, Clone, Default)]
pub struct ClaimIndex(HashMap<(String, String), Owner>);

impl ClaimIndex {
    pub fn of_kind(claims: &[Claim], kind: ClaimKind) -> Self {
        Self(
            claims
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| ((c.host.clone(), c.object_id.clone()), Owner::of_claim(c)))
                .collect(),
        )
    }

    /// The owner of object `id` on `host`: `labelled` (the owner its labels name) if there is
    /// one, else whoever claimed it.
    pub fn owner(&self, host: &str, id: &str, labelled: Option<Owner>) -> Option<Owner> {
        labelled.or_else(|| self.0.get(&(host.to_owned(), id.to_owned())).cloned())
    }
}

impl StoredContainer {
    /// The owner its `maison.owner` label names, if any.
    pub fn labelled_owner(&self) -> Option<Owner> {
        self.owner
            .as_deref()
            .map(|o| Owner::labelled(o, self.owner_name.as_deref()))
    }
}

impl StoredImage {
    /// The owner its `maison.owner` label names, if any.
    pub fn labelled_owner(&self) -> Option<Owner> {
        self.owner.as_deref().map(|o| Owner::labelled(o, None))
    }
}

/// What `stop` and `rm` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Stop,
    Remove,
}

/// A container somewhere in the fleet, with its owner resolved (label, else claim).
#[derive(Debug, Clone)]
pub struct Located {
    pub host: String,
    pub container: ContainerSummary,
    pub owner: Option<Owner>,
}

/// An image on one host, with its owner resolved and the containers that use it.
#[derive(Debug, Clone)]
pub struct LocatedImage {
    pub host: String,
    pub image: ImageSummary,
    pub owner: Option<Owner>,
    pub users: Vec<Located>,
}

impl LocatedImage {
    /// How lists name it: its first tag, else its short id.
    pub fn name(&self) -> String {
        self.image
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| short_id(&self.image.id))
    }
}

/// `alice-pytorch-b12`: who, what, for which booking; valid as a Docker name.
pub fn default_container_name(login: &str, image: &str, booking: Option<i64>) -> String {
    let base = image.rsplit('/').next().unwrap_or(image);
    let base = base.split(['@', ':']).next().unwrap_or(base);
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches('-')
            .to_owned()
    };
    let mut name = format!("{}-{}", clean(login), clean(base));
    if let Some(id) = booking {
        name.push_str(&format!("-b{id}"));
    }
    name.truncate(60);
    name.trim_matches('-').to_owned()
}

/// The first 12 hex digits of a Docker id, as `docker ps` shows it.
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// A container's image as people read it: a name as it is, an image id (what a launch of a
/// published catalogue version runs) shortened as `docker ps` does.
pub fn image_shown(image: &str) -> String {
    if image.starts_with("sha256:") {
        short_id(image)
    } else {
        image.to_owned()
    }
}

/// By exact name, exact id, or an id prefix of at least 4 characters.
pub fn match_containers<'a>(all: &'a [Located], target: &str) -> Vec<&'a Located> {
    let target = target.trim_start_matches('/');
    let exact: Vec<&Located> = all
        .iter()
        .filter(|c| c.container.name == target || c.container.id == target)
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    if is_id_prefix(target) {
        return all
            .iter()
            .filter(|c| c.container.id.starts_with(target))
            .collect();
    }
    Vec::new()
}

/// By tag (with or without `:latest`), id, or an id prefix of at least 4 characters.
pub fn match_images<'a>(all: &'a [LocatedImage], target: &str) -> Vec<&'a LocatedImage> {
    let with_latest = if target.contains(':') && !target.starts_with("sha256:") {
        target.to_owned()
    } else {
        format!("{target}:latest")
    };
    let by_tag: Vec<&LocatedImage> = all
        .iter()
        .filter(|i| {
            i.image
                .tags
                .iter()
                .any(|t| t == target || *t == with_latest)
        })
        .collect();
    if !by_tag.is_empty() {
        return by_tag;
    }
    let id = target.trim_start_matches("sha256:");
    if is_id_prefix(id) {
        return all
            .iter()
            .filter(|i| i.image.id.trim_start_matches("sha256:").starts_with(id))
            .collect();
    }
    Vec::new()
}

/// At least 4 hex digits: long enough to be read as the start of a Docker id.
pub fn is_id_prefix(s: &str) -> bool {
    s.len() >= 4 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A Docker reference in one spelling: `ubuntu`, `ubuntu:latest`, `library/ubuntu` and
/// `docker.io/library/ubuntu:latest` are the same image.
pub fn normalize_reference(reference: &str) -> String {
    let mut r = reference.trim();
    for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
        if let Some(rest) = r.strip_prefix(prefix) {
            r = rest;
            break;
        }
    }
    let r = r.strip_prefix("library/").unwrap_or(r);
    if r.contains('@') {
        return r.to_owned();
    }
    let last_segment = r.rsplit('/').next().unwrap_or(r);
    if last_segment.contains(':') {
        r.to_owned()
    } else {
        format!("{r}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_and_work_are_mounted_at_their_paths_once_each() {
        let mapping = |home: Option<&str>, work: Option<&str>| UnixUserMapping {
            slack_user: "U1".into(),
            unix_user: "ada".into(),
            uid: 1000,
            gid: 1000,
            home: home.map(str::to_owned),
            work: work.map(str::to_owned),
        };
        let targets = |m: &UnixUserMapping| -> Vec<String> {
            own_mounts(m).into_iter().map(|m| m.target).collect()
        };
        assert_eq!(
            targets(&mapping(Some("/home/ada"), Some("/work/ada"))),
            ["/home/ada", "/work/ada"]
        );
        assert_eq!(
            targets(&mapping(Some("/home/ada"), Some("/home/ada"))),
            ["/home/ada"]
        );
        assert_eq!(targets(&mapping(None, Some("/work/ada"))), ["/work/ada"]);
        assert!(targets(&mapping(None, None)).is_empty());
        let mounts = own_mounts(&mapping(Some("/home/ada"), None));
        assert_eq!(mounts[0].source, "/home/ada");
        assert_eq!(mounts[0].read_only, None);
    }

    #[test]
    fn references_are_compared_in_docker_spelling() {
        assert_eq!(normalize_reference("ubuntu"), "ubuntu:latest");
        assert_eq!(
            normalize_reference("docker.io/library/ubuntu:22.04"),
            "ubuntu:22.04"
        );
        assert_eq!(normalize_reference("library/ubuntu"), "ubuntu:latest");
        assert_eq!(
            normalize_reference("ghcr.io/acme/train"),
            "ghcr.io/acme/train:latest"
        );
        assert_eq!(
            normalize_reference("localhost:5000/x"),
            "localhost:5000/x:latest"
        );
        assert_eq!(
            normalize_reference("localhost:5000/x:v1"),
            "localhost:5000/x:v1"
        );
    }

    #[test]
    fn id_prefixes_need_four_hex_digits() {
        assert!(is_id_prefix("abcd"));
        assert!(!is_id_prefix("abc"));
        assert!(!is_id_prefix("trainer"));
    }

    #[test]
    fn default_names_are_valid_docker_names() {
        assert_eq!(
            default_container_name("alice", "pytorch", Some(12)),
            "alice-pytorch-b12"
        );
        assert_eq!(
            default_container_name("U0BOB", "registry.lan:5000/team/Img_X:1.2", None),
            "u0bob-img-x"
        );
        assert_eq!(
            default_container_name("bob", "busybox@sha256:abcd", Some(3)),
            "bob-busybox-b3"
        );
        let long = default_container_name(&"x".repeat(80), "y", None);
        assert!(long.len() <= 60);
    }
}
