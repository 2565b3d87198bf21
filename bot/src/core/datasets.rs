//! Datasets as data, and the rules about them that need no I/O: which version a user means,
//! where a copy can come from, how far a copy has come (and how long it has left), which
//! copies may be removed to make room, and whether a path lies under a user's work root.
//!
//! A version is immutable and identified by its manifest id (BLAKE3 of the manifest the agent
//! computed when it scanned the registered directory); until that scan ends it has none.

use super::units::size_text;
use maison_agent_api::datasets::{ReplicaOrigin, ReplicaState};
use maison_command::{DatasetRef, Lang};

/// Who the bot itself is in the audit log, for changes nobody typed (a scan ending, a copy
/// removed to make room).
pub const SYSTEM_ACTOR: &str = "maison";

/// How often a progress message is edited at most: often enough to look alive, rarely enough
/// for Slack's `chat.update` limits with many transfers.
pub const PROGRESS_EVERY_SECS: i64 = 10;

/// A copy needed by a booking that starts within this many seconds is never evicted.
pub const NEEDED_SOON_SECS: i64 = 24 * 3600;

/// One registered `name@version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetVersion {
    pub id: i64,
    pub dataset: String,
    pub version: String,
    /// `None` until the agent has scanned the registered directory.
    pub manifest: Option<String>,
    pub total_bytes: u64,
    pub total_files: u64,
    pub registered_host: String,
    pub registered_path: String,
    pub registered_by: String,
    /// Who created the dataset (its first version): may add versions and remove copies.
    pub owner: String,
    pub note: Option<String>,
    pub created_at: i64,
}

impl DatasetVersion {
    /// `imagenet@v2`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.dataset, self.version)
    }

    pub fn is_ready(&self) -> bool {
        self.manifest.is_some()
    }
}

/// One copy of a version on one host, as its agent last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub version_id: i64,
    pub host: String,
    pub state: ReplicaState,
    pub origin: ReplicaOrigin,
    pub path: String,
    pub present_bytes: u64,
    pub total_bytes: u64,
    /// Bytes per second of the running copy; 0 when idle.
    pub rate: u64,
    /// Hosts the current or last copy pulled from.
    pub sources: Vec<String>,
    pub error: Option<String>,
    pub last_mounted: Option<i64>,
    /// Containers mounting it now: such a copy is never removed.
    pub mounted_count: u32,
    /// Kept even when its host needs room.
    pub pinned: bool,
    pub last_verified_at: Option<i64>,
    /// Files found bad by the last verification.
    pub verify_bad_count: Option<u64>,
    /// When the bot first heard of it.
    pub created_at: i64,
    pub updated_at: i64,
}

impl Replica {
    /// Every file present and verified: mountable, and a source for other copies (a copy
    /// being re-verified stays both).
    pub fn is_complete(&self) -> bool {
        matches!(self.state, ReplicaState::Complete | ReplicaState::Verifying)
    }

    /// Worth re-hashing: a complete copy; one a verification found damaged (to see a repair
    /// by hand); and a directory registered in place that failed because it changed (it may
    /// still hold its version, and a verify is how it mounts again). The agent checks again.
    pub fn can_be_verified(&self) -> bool {
        self.is_complete()
            || (self.state == ReplicaState::Failed
                && (self.last_verified_at.is_some() || self.origin == ReplicaOrigin::InPlace))
    }

    /// When it was last useful: last mounted, else when it arrived.
    pub fn last_used(&self) -> i64 {
        self.last_mounted.unwrap_or(self.created_at)
    }

    pub fn progress(&self) -> Progress {
        Progress {
            present: self.present_bytes,
            total: self.total_bytes,
            rate: self.rate,
        }
    }
}

/// How storage spells replica states and origins.
pub fn state_str(state: ReplicaState) -> &'static str {
    match state {
        ReplicaState::Scanning => "scanning",
        ReplicaState::Fetching => "fetching",
        ReplicaState::Complete => "complete",
        ReplicaState::Verifying => "verifying",
        ReplicaState::Failed => "failed",
        ReplicaState::Unknown => "unknown",
    }
}

pub fn parse_state(text: &str) -> ReplicaState {
    match text {
        "scanning" => ReplicaState::Scanning,
        "fetching" => ReplicaState::Fetching,
        "complete" => ReplicaState::Complete,
        "verifying" => ReplicaState::Verifying,
        "failed" => ReplicaState::Failed,
        _ => ReplicaState::Unknown,
    }
}

pub fn origin_str(origin: ReplicaOrigin) -> &'static str {
    match origin {
        ReplicaOrigin::InPlace => "in_place",
        ReplicaOrigin::Copied => "copied",
    }
}

pub fn parse_origin(text: &str) -> ReplicaOrigin {
    match text {
        "in_place" => ReplicaOrigin::InPlace,
        _ => ReplicaOrigin::Copied,
    }
}

/// Where a copy the bot asked for stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    Running,
    Complete,
    Failed,
}

impl TransferState {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Running => "running",
            TransferState::Complete => "complete",
            TransferState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "complete" => TransferState::Complete,
            "failed" => TransferState::Failed,
            _ => TransferState::Running,
        }
    }
}

/// A copy the bot asked an agent to make (`data get`, `book --data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: i64,
    pub version_id: i64,
    /// The destination.
    pub host: String,
    pub requested_by: String,
    pub booking_id: Option<i64>,
    /// The hosts it pulls from, best first.
    pub sources: Vec<String>,
    pub state: TransferState,
    pub total_bytes: u64,
    pub present_bytes: u64,
    pub rate: u64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
}

impl Transfer {
    pub fn progress(&self) -> Progress {
        Progress {
            present: self.present_bytes,
            total: self.total_bytes,
            rate: self.rate,
        }
    }
}

/// Everything the registry knows, as read in one go (datasets are few; the rules below look
/// things up in memory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Oldest first.
    pub versions: Vec<DatasetVersion>,
    pub replicas: Vec<Replica>,
    /// Running transfers only.
    pub transfers: Vec<Transfer>,
}

/// Why a dataset reference matched nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    NoSuchDataset {
        name: String,
        /// The nearest registered name, when it looks like a typo of it.
        suggestion: Option<String>,
        /// Every registered name, sorted.
        known: Vec<String>,
    },
    NoSuchVersion {
        name: String,
        version: String,
        /// The dataset's versions, oldest first.
        versions: Vec<String>,
    },
}

impl Catalog {
    /// The version a user means: the one named, or the latest whose scan has finished (the
    /// latest registered if none has).
    pub fn resolve(&self, wanted: &DatasetRef) -> Result<&DatasetVersion, Unresolved> {
        let versions = self.versions_of(&wanted.name);
        if versions.is_empty() {
            return Err(Unresolved::NoSuchDataset {
                name: wanted.name.clone(),
                suggestion: nearest_name(&wanted.name, &self.dataset_names()),
                known: self.dataset_names(),
            });
        }
        let found = match &wanted.version {
            Some(version) => versions.iter().find(|v| &v.version == version),
            None => versions
                .iter()
                .rev()
                .find(|v| v.is_ready())
                .or(versions.last()),
        };
        found.copied().ok_or_else(|| Unresolved::NoSuchVersion {
            name: wanted.name.clone(),
            version: wanted.version.clone().unwrap_or_default(),
            versions: versions.iter().map(|v| v.version.clone()).collect(),
        })
    }

    /// A dataset's versions, oldest first.
    pub fn versions_of(&self, name: &str) -> Vec<&DatasetVersion> {
        self.versions.iter().filter(|v| v.dataset == name).collect()
    }

    pub fn version(&self, id: i64) -> Option<&DatasetVersion> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// Every dataset name, sorted, once.
    pub fn dataset_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.versions.iter().map(|v| v.dataset.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// A version's copies, by host.
    pub fn replicas_of(&self, version_id: i64) -> Vec<&Replica> {
        let mut replicas: Vec<&Replica> = self
            .replicas
            .iter()
            .filter(|r| r.version_id == version_id)
            .collect();
        replicas.sort_by(|a, b| a.host.cmp(&b.host));
        replicas
    }

    pub fn replica(&self, version_id: i64, host: &str) -> Option<&Replica> {
        self.replicas
            .iter()
            .find(|r| r.version_id == version_id && r.host == host)
    }

    pub fn complete_copies(&self, version_id: i64) -> Vec<&Replica> {
        self.replicas_of(version_id)
            .into_iter()
            .filter(|r| r.is_complete())
            .collect()
    }

    pub fn running_transfer(&self, version_id: i64, host: &str) -> Option<&Transfer> {
        self.transfers
            .iter()
            .find(|t| t.version_id == version_id && t.host == host)
    }

    /// Running transfers that involve `host`, as destination or as a source.
    fn load_of(&self, host: &str) -> usize {
        self.transfers
            .iter()
            .filter(|t| t.host == host || t.sources.iter().any(|s| s == host))
            .count()
    }

    /// Hosts a copy of `version_id` to `destination` may pull from, best first: complete
    /// copies on other hosts that can be reached (`usable`), those with the fewest running
    /// transfers (in or out) first, so one popular host is not asked for everything.
    pub fn choose_sources(
        &self,
        version_id: i64,
        destination: &str,
        usable: &[String],
    ) -> Vec<String> {
        let mut sources: Vec<(usize, String)> = self
            .complete_copies(version_id)
            .into_iter()
            .filter(|r| r.host != destination && usable.contains(&r.host))
            .map(|r| (self.load_of(&r.host), r.host.clone()))
            .collect();
        sources.sort();
        sources.into_iter().map(|(_, host)| host).collect()
    }

    /// Copies on `host` that may be removed to make room there, first to go first: copies
    /// Maison made (removing a registered directory frees nothing), complete or abandoned,
    /// least recently used first. Never a copy that is mounted, pinned, needed by a booking
    /// soon (`needed_soon`: version ids), or the last complete copy of its version.
    pub fn eviction_candidates(&self, host: &str, needed_soon: &[i64]) -> Vec<&Replica> {
        let mut candidates: Vec<&Replica> = self
            .replicas
            .iter()
            .filter(|r| r.host == host && r.origin == ReplicaOrigin::Copied)
            .filter(|r| r.is_complete() || r.state == ReplicaState::Failed)
            .filter(|r| r.mounted_count == 0 && !r.pinned)
            .filter(|r| !needed_soon.contains(&r.version_id))
            .filter(|r| self.running_transfer(r.version_id, host).is_none())
            .filter(|r| {
                !r.is_complete()
                    || self
                        .complete_copies(r.version_id)
                        .iter()
                        .any(|other| other.host != r.host)
            })
            .collect();
        candidates.sort_by_key(|r| (r.last_used(), r.host.clone(), r.version_id));
        candidates
    }
}

/// Something the poller learned from an agent that someone should be told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetEvent {
    /// The first scan of a registered directory ended: the version now has its manifest.
    Scanned { version: DatasetVersion },
    /// The scan failed; the version has no manifest and cannot be copied or mounted.
    ScanFailed {
        version: DatasetVersion,
        error: String,
    },
    /// A verification someone asked for has ended.
    Verified {
        version: DatasetVersion,
        host: String,
        requested_by: String,
        /// When it was asked for: each request is answered once.
        requested_at: i64,
        files_checked: u64,
        bad_count: u64,
        bad_files: Vec<String>,
    },
    /// A copy the bot asked for has failed.
    TransferFailed {
        version: DatasetVersion,
        transfer: Transfer,
    },
}

impl DatasetEvent {
    /// The outbox key that makes each event's message go out once, however many polls see it.
    pub fn dedupe_key(&self) -> String {
        match self {
            DatasetEvent::Scanned { version } => format!("dataset:scanned:{}", version.id),
            DatasetEvent::ScanFailed { version, .. } => {
                format!("dataset:scan-failed:{}", version.id)
            }
            DatasetEvent::Verified {
                version,
                host,
                requested_at,
                ..
            } => format!("dataset:verified:{}:{host}:{requested_at}", version.id),
            DatasetEvent::TransferFailed { transfer, .. } => {
                format!("dataset:transfer-failed:{}", transfer.id)
            }
        }
    }
}

/// Whether a version is on a host, for the owner of a booking made with `--data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// On its way: how far.
    Copying(Progress),
    /// Not there, and no copy running (it failed, was removed, or never started).
    Missing,
}

/// The dataset a booking needs, and whether it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingData {
    pub label: String,
    pub readiness: Readiness,
}

impl Catalog {
    /// Where `version_id` stands on `host`.
    pub fn readiness(&self, version_id: i64, host: &str) -> Readiness {
        let replica = self.replica(version_id, host);
        if replica.is_some_and(Replica::is_complete) {
            return Readiness::Ready;
        }
        match (self.running_transfer(version_id, host), replica) {
            (Some(transfer), _) => Readiness::Copying(transfer.progress()),
            (None, Some(r)) if r.state == ReplicaState::Fetching => {
                Readiness::Copying(r.progress())
            }
            _ => Readiness::Missing,
        }
    }
}

/// The datasets part of the daily report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetsDay {
    /// Per host with copies, by host.
    pub hosts: Vec<HostDatasets>,
    /// Copies nobody has used for a while that could go, largest first.
    pub unused: Vec<UnusedCopy>,
    /// What "a while" is, in days.
    pub unused_days: u32,
}

/// The copies on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDatasets {
    pub host: String,
    pub complete: usize,
    pub in_progress: usize,
    /// Bytes on disk, complete or not.
    pub bytes: u64,
}

/// A copy unused for `unused_days` that `data rm` would remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedCopy {
    /// `imagenet@v2`.
    pub label: String,
    pub host: String,
    pub bytes: u64,
    pub last_used: i64,
    pub owner: String,
}

impl Catalog {
    /// Copies and disk use per host, and the copies unused for `unused_days` that could be
    /// removed: made by Maison, not pinned, not mounted, not the last complete copy.
    pub fn report(&self, now: i64, unused_days: u32) -> DatasetsDay {
        let mut hosts: Vec<HostDatasets> = Vec::new();
        for r in &self.replicas {
            let at = match hosts.iter().position(|h| h.host == r.host) {
                Some(at) => at,
                None => {
                    hosts.push(HostDatasets {
                        host: r.host.clone(),
                        complete: 0,
                        in_progress: 0,
                        bytes: 0,
                    });
                    hosts.len() - 1
                }
            };
            let host = &mut hosts[at];
            if r.is_complete() {
                host.complete += 1;
            } else {
                host.in_progress += 1;
            }
            host.bytes += r.present_bytes;
        }
        hosts.sort_by(|a, b| a.host.cmp(&b.host));
        let cutoff = now - i64::from(unused_days) * 86_400;
        let mut unused: Vec<UnusedCopy> = self
            .replicas
            .iter()
            .filter(|r| r.origin == ReplicaOrigin::Copied && r.is_complete())
            .filter(|r| !r.pinned && r.mounted_count == 0 && r.last_used() < cutoff)
            .filter(|r| self.complete_copies(r.version_id).len() > 1)
            .filter_map(|r| {
                let version = self.version(r.version_id)?;
                Some(UnusedCopy {
                    label: version.label(),
                    host: r.host.clone(),
                    bytes: r.present_bytes,
                    last_used: r.last_used(),
                    owner: version.owner.clone(),
                })
            })
            .collect();
        unused.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.label.cmp(&b.label)));
        DatasetsDay {
            hosts,
            unused,
            unused_days,
        }
    }
}

/// The copies to remove, in order, so that `shortfall` bytes become free; `None` when even
/// all of them would not make enough room (then nothing should be removed).
pub fn plan_eviction<'a>(candidates: &[&'a Replica], shortfall: u64) -> Option<Vec<&'a Replica>> {
    let mut freed = 0;
    let mut victims = Vec::new();
    for replica in candidates {
        if freed >= shortfall {
            break;
        }
        freed += replica.present_bytes;
        victims.push(*replica);
    }
    (freed >= shortfall).then_some(victims)
}

/// The registered name nearest to a mistyped one (`imagnet` → `imagenet`).
pub fn nearest_name(name: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k.clone())
}

/// Whether `path` is `root` or lies under it, compared component by component (so
/// `/work/alice2` is not under `/work/alice`). Both are absolute and free of `.` and `..`,
/// which the parser and the agent check.
pub fn is_within(path: &str, root: &str) -> bool {
    let parts = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (path, root) = (parts(path), parts(root));
    !root.is_empty() && path.len() >= root.len() && path[..root.len()] == root[..]
}

/// How far a copy has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub present: u64,
    pub total: u64,
    /// Bytes per second now.
    pub rate: u64,
}

impl Progress {
    /// Whole percent, never 100 before the last byte.
    pub fn percent(&self) -> u64 {
        if self.total == 0 {
            return 100;
        }
        let pct = self.present.min(self.total) * 100 / self.total;
        if self.present < self.total {
            pct.min(99)
        } else {
            100
        }
    }

    /// Seconds left at the current rate; `None` when nothing is moving.
    pub fn seconds_left(&self) -> Option<u64> {
        let left = self.total.saturating_sub(self.present);
        (self.rate > 0).then(|| left.div_ceil(self.rate))
    }

    /// `80 %, about 4 min left`, or `80 %` when nothing is moving.
    pub fn text(&self) -> String {
        self.text_in(Lang::En)
    }

    /// [`Progress::text`] in `lang`: `80 %、残り約 4 分`.
    pub fn text_in(&self, lang: Lang) -> String {
        match self.seconds_left() {
            Some(secs) if self.present < self.total => crate::tr!(
                lang,
                "data-progress-left",
                percent = self.percent(),
                left = duration_text_in(secs.max(1), lang)
            ),
            _ => format!("{} %", self.percent()),
        }
    }
}

/// `45 s`, `4 min`, `1 h 20 min`, `2 d 3 h`: rounded, for humans.
pub fn duration_text(secs: u64) -> String {
    duration_text_in(secs, Lang::En)
}

/// [`duration_text`] in `lang`: `45 秒`, `4 分`, `1 時間 20 分`, `2 日 3 時間`.
pub fn duration_text_in(secs: u64, lang: Lang) -> String {
    let [s, min, h, d] = match lang {
        Lang::En => ["s", "min", "h", "d"],
        Lang::Ja => ["秒", "分", "時間", "日"],
    };
    match secs {
        0..60 => format!("{secs} {s}"),
        60..3600 => format!("{} {min}", (secs + 30) / 60),
        3600..86_400 => {
            let minutes = (secs + 30) / 60;
            match minutes % 60 {
                0 => format!("{} {h}", minutes / 60),
                m => format!("{} {h} {m} {min}", minutes / 60),
            }
        }
        _ => {
            let hours = (secs + 1800) / 3600;
            match hours % 24 {
                0 => format!("{} {d}", hours / 24),
                rest => format!("{} {d} {rest} {h}", hours / 24),
            }
        }
    }
}

/// `41 MB/s`.
pub fn rate_text(bytes_per_sec: u64) -> String {
    format!("{}/s", size_text(bytes_per_sec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: i64, name: &str, label: &str, ready: bool) -> DatasetVersion {
        DatasetVersion {
            id,
            dataset: name.into(),
            version: label.into(),
            manifest: ready.then(|| format!("{id:064}")),
            total_bytes: 1000,
            total_files: 10,
            registered_host: "gpu01".into(),
            registered_path: "/srv/datasets/x".into(),
            registered_by: "U0ADMIN".into(),
            owner: "U0ADMIN".into(),
            note: None,
            created_at: id,
        }
    }

    fn replica(version_id: i64, host: &str, state: ReplicaState) -> Replica {
        Replica {
            version_id,
            host: host.into(),
            state,
            origin: ReplicaOrigin::Copied,
            path: format!("/var/lib/maison/datasets/{version_id}"),
            present_bytes: 1000,
            total_bytes: 1000,
            rate: 0,
            sources: vec![],
            error: None,
            last_mounted: None,
            mounted_count: 0,
            pinned: false,
            last_verified_at: None,
            verify_bad_count: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn a_failed_copy_is_verified_only_once_complete_or_registered_in_place() {
        assert!(replica(1, "gpu01", ReplicaState::Complete).can_be_verified());
        assert!(replica(1, "gpu01", ReplicaState::Verifying).can_be_verified());
        assert!(!replica(1, "gpu01", ReplicaState::Fetching).can_be_verified());
        // A copy that failed on its way has nothing to verify yet…
        let mut failed = replica(1, "gpu01", ReplicaState::Failed);
        assert!(!failed.can_be_verified());
        // …unlike one a verification found damaged, or a directory registered in place.
        failed.last_verified_at = Some(100);
        assert!(failed.can_be_verified());
        let mut changed = replica(1, "gpu01", ReplicaState::Failed);
        changed.origin = ReplicaOrigin::InPlace;
        assert!(changed.can_be_verified());
    }

    fn transfer(version_id: i64, host: &str, sources: &[&str]) -> Transfer {
        Transfer {
            id: 1,
            version_id,
            host: host.into(),
            requested_by: "U0ALICE".into(),
            booking_id: None,
            sources: sources.iter().map(|s| s.to_string()).collect(),
            state: TransferState::Running,
            total_bytes: 1000,
            present_bytes: 0,
            rate: 0,
            started_at: 0,
            finished_at: None,
            error: None,
        }
    }

    fn wanted(name: &str, version: Option<&str>) -> DatasetRef {
        DatasetRef {
            name: name.into(),
            version: version.map(Into::into),
        }
    }

    #[test]
    fn the_latest_scanned_version_is_meant_without_a_version() {
        let catalog = Catalog {
            versions: vec![
                version(1, "imagenet", "v1", true),
                version(2, "imagenet", "v2", true),
                version(3, "imagenet", "v3", false),
                version(4, "coco", "2017", false),
            ],
            ..Default::default()
        };
        assert_eq!(catalog.resolve(&wanted("imagenet", None)).unwrap().id, 2);
        assert_eq!(
            catalog.resolve(&wanted("imagenet", Some("v3"))).unwrap().id,
            3
        );
        assert_eq!(
            catalog.resolve(&wanted("coco", None)).unwrap().id,
            4,
            "nothing scanned yet: the latest registered"
        );
        assert_eq!(
            catalog.resolve(&wanted("imagnet", None)),
            Err(Unresolved::NoSuchDataset {
                name: "imagnet".into(),
                suggestion: Some("imagenet".into()),
                known: vec!["coco".into(), "imagenet".into()],
            })
        );
        assert_eq!(
            catalog.resolve(&wanted("imagenet", Some("v9"))),
            Err(Unresolved::NoSuchVersion {
                name: "imagenet".into(),
                version: "v9".into(),
                versions: vec!["v1".into(), "v2".into(), "v3".into()],
            })
        );
        assert!(matches!(
            catalog.resolve(&wanted("mnist", None)),
            Err(Unresolved::NoSuchDataset {
                suggestion: None,
                ..
            })
        ));
    }

    #[test]
    fn sources_are_complete_reachable_copies_least_busy_first() {
        let catalog = Catalog {
            versions: vec![version(1, "imagenet", "v1", true)],
            replicas: vec![
                replica(1, "gpu01", ReplicaState::Complete),
                replica(1, "gpu02", ReplicaState::Verifying),
                replica(1, "gpu03", ReplicaState::Complete),
                replica(1, "gpu04", ReplicaState::Fetching),
                replica(1, "gpu05", ReplicaState::Complete),
                replica(1, "gpu06", ReplicaState::Complete),
            ],
            // gpu01 serves one copy and receives another: the busiest.
            transfers: vec![
                transfer(1, "gpu04", &["gpu01"]),
                transfer(2, "gpu01", &["gpu09"]),
            ],
        };
        let usable: Vec<String> = ["gpu01", "gpu02", "gpu03", "gpu04", "gpu05"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            catalog.choose_sources(1, "gpu05", &usable),
            ["gpu02", "gpu03", "gpu01"],
            "not the destination, not partial copies, not unreachable gpu06"
        );
        assert!(catalog.choose_sources(1, "gpu05", &[]).is_empty());
    }

    #[test]
    fn eviction_takes_the_least_recently_used_removable_copies() {
        let mut old = replica(1, "gpu05", ReplicaState::Complete);
        old.last_mounted = Some(100);
        let mut older = replica(2, "gpu05", ReplicaState::Complete);
        older.last_mounted = Some(50);
        let mut mounted = replica(3, "gpu05", ReplicaState::Complete);
        mounted.mounted_count = 1;
        let mut pinned = replica(4, "gpu05", ReplicaState::Complete);
        pinned.pinned = true;
        let last_copy = replica(5, "gpu05", ReplicaState::Complete);
        let needed = replica(6, "gpu05", ReplicaState::Complete);
        let mut in_place = replica(7, "gpu05", ReplicaState::Complete);
        in_place.origin = ReplicaOrigin::InPlace;
        let mut abandoned = replica(8, "gpu05", ReplicaState::Failed);
        abandoned.created_at = 10;
        abandoned.present_bytes = 300;
        let catalog = Catalog {
            versions: (1..=8)
                .map(|id| version(id, &format!("d{id}"), "v1", true))
                .collect(),
            replicas: vec![
                old,
                older,
                mounted,
                pinned,
                last_copy,
                needed,
                in_place,
                abandoned,
                replica(1, "gpu01", ReplicaState::Complete),
                replica(2, "gpu01", ReplicaState::Complete),
                replica(3, "gpu01", ReplicaState::Complete),
                replica(4, "gpu01", ReplicaState::Complete),
                replica(6, "gpu01", ReplicaState::Complete),
                replica(7, "gpu01", ReplicaState::Complete),
                replica(8, "gpu01", ReplicaState::Complete),
            ],
            transfers: vec![],
        };
        let ids = |list: &[&Replica]| list.iter().map(|r| r.version_id).collect::<Vec<_>>();
        let candidates = catalog.eviction_candidates("gpu05", &[6]);
        assert_eq!(ids(&candidates), [8, 2, 1]);
        assert_eq!(ids(&plan_eviction(&candidates, 1).unwrap()), [8]);
        assert_eq!(ids(&plan_eviction(&candidates, 1200).unwrap()), [8, 2]);
        assert_eq!(plan_eviction(&candidates, 5000), None);
        assert_eq!(
            ids(&plan_eviction(&candidates, 0).unwrap()),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn the_report_counts_copies_and_lists_unused_removable_ones() {
        let day = 86_400;
        let mut unused = replica(1, "gpu01", ReplicaState::Complete);
        unused.last_mounted = Some(0);
        let mut pinned = replica(1, "gpu02", ReplicaState::Complete);
        pinned.pinned = true;
        let mut recent = replica(2, "gpu01", ReplicaState::Complete);
        recent.last_mounted = Some(40 * day);
        let mut copying = replica(2, "gpu02", ReplicaState::Fetching);
        copying.present_bytes = 400;
        let catalog = Catalog {
            versions: vec![
                version(1, "imagenet", "v1", true),
                version(2, "coco", "v1", true),
            ],
            replicas: vec![unused, pinned, recent, copying],
            transfers: vec![],
        };
        let report = catalog.report(45 * day, 30);
        let hosts: Vec<(&str, usize, usize, u64)> = report
            .hosts
            .iter()
            .map(|h| (h.host.as_str(), h.complete, h.in_progress, h.bytes))
            .collect();
        assert_eq!(hosts, [("gpu01", 2, 0, 2000), ("gpu02", 1, 1, 1400)]);
        let unused: Vec<(&str, &str)> = report
            .unused
            .iter()
            .map(|u| (u.label.as_str(), u.host.as_str()))
            .collect();
        assert_eq!(
            unused,
            [("imagenet@v1", "gpu01")],
            "not pinned, recent or the last copy"
        );
    }

    #[test]
    fn paths_are_within_a_root_component_by_component() {
        assert!(is_within("/work/alice/data", "/work/alice"));
        assert!(is_within("/work/alice", "/work/alice/"));
        assert!(!is_within("/work/alice2/data", "/work/alice"));
        assert!(!is_within("/work", "/work/alice"));
        assert!(!is_within("/srv/x", "/"), "an empty root allows nothing");
    }

    #[test]
    fn progress_reads_like_a_person_would_say_it() {
        let p = |present, total, rate| Progress {
            present,
            total,
            rate,
        };
        assert_eq!(p(800, 1000, 1).text(), "80 %, about 3 min left");
        assert_eq!(
            p(8_000_000_000, 10_000_000_000, 8_000_000).text(),
            "80 %, about 4 min left"
        );
        assert_eq!(p(999, 1000, 0).text(), "99 %");
        assert_eq!(p(1000, 1000, 5).text(), "100 %");
        assert_eq!(p(0, 0, 0).percent(), 100);
        assert_eq!(duration_text(45), "45 s");
        assert_eq!(duration_text(3600 + 20 * 60), "1 h 20 min");
        assert_eq!(duration_text(7200), "2 h");
        assert_eq!(duration_text(2 * 86_400 + 3 * 3600), "2 d 3 h");
        assert_eq!(rate_text(41_000_000), "41 MB/s");
    }

    #[test]
    fn nearest_names_catch_typos_only() {
        let known = ["imagenet".to_owned(), "coco".to_owned()];
        assert_eq!(nearest_name("imagnet", &known).as_deref(), Some("imagenet"));
        assert_eq!(nearest_name("cocoa", &known).as_deref(), Some("coco"));
        assert_eq!(nearest_name("wikitext", &known), None);
    }
}
