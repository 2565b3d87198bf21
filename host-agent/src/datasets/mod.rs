//! Datasets on this host: registering a directory already here, copying a version from peers,
//! serving blobs to peers, verifying, removing, and handing a complete copy to a launch.
//!
//! The store is the `[mounts] datasets` root:
//!
//! ```text
//! <root>/<name>@<version>/            complete copies (root-owned, modes from the manifest)
//! <root>/.maison/                     the agent's state, mode 0700
//!     manifests/<id>.json             every manifest this host knows
//!     replicas/<name>@<version>.json  one record per replica, written atomically
//!     partial/<id>/                   a copy in progress (same filesystem: finishing is a rename)
//!     partial/<id>.journal            pieces of it already verified (see [`journal`])
//!     trash/                          copies being deleted in the background
//! ```
//!
//! A replica is either registered **in place** (`data add`: a directory under the datasets root,
//! or under a work root in a directory its owner owns; Maison never deletes it) or **copied**
//! (`data get`: pulled from peers into the store). Its identity is its manifest's hash.
//!
//! Layout: this module (records, the registry, launches), `register` (path rules, scans),
//! `copy` (copy requests as background jobs), `upkeep` (verify, remove); [`scan`] (manifest
//! building and checking), [`fetch`] (the copy engine), [`serve`] (blobs to peers), [`index`]
//! (hash → file), [`journal`], [`rate`] (bandwidth cap), [`fsx`].

mod copy;
mod direct;
pub mod fetch;
pub mod fsx;
pub mod index;
pub mod journal;
pub mod rate;
mod register;
pub mod scan;
pub mod serve;
mod upkeep;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use maison_agent_api::datasets::{
    DatasetInventory, DatasetMount, FetchRequest, Manifest, PeerSource, RegisterRequest,
    ReplicaInfo, ReplicaOrigin, ReplicaState, VerifyOutcome, is_dataset_name, is_hash,
};
use maison_agent_api::{AgentClient, ClientTls, Timeouts};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::{AgentConfig, ByteSize, DatasetsConfig};
use crate::inventory::Inventory;
use crate::policy::{CheckedMount, DatasetSource, PolicyRefusal, Rule};
use index::{BlobIndex, ReplicaRoot};
use rate::RateCap;
use scan::ScanProgress;

/// Name of the agent's own directory under the datasets root.
pub const STATE_DIR: &str = crate::config::DATASET_STATE_DIR;

/// How often a running copy writes its progress to its record.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// Errors the API maps to distinct answers; every message is meant for users.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(
        "datasets are not enabled on this host: set [mounts] datasets in the agent configuration"
    )]
    Disabled,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { message: String, rule: &'static str },
    /// A path rule refused a registration (403, like a launch refusal).
    #[error("{message}")]
    Refused { message: String, rule: &'static str },
    /// No peer could provide what was asked.
    #[error("{0}")]
    Upstream(String),
    #[error("{0}")]
    Internal(String),
}

fn conflict(rule: &'static str, message: impl Into<String>) -> DatasetError {
    DatasetError::Conflict {
        message: message.into(),
        rule,
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> DatasetError {
    DatasetError::Internal(format!("{what}: {e}"))
}

/// Which configured root an in-place replica lies under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    Datasets,
    Work,
}

/// What the agent remembers about a replica across restarts (`replicas/<name>@<version>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaRecord {
    pub name: String,
    pub version: String,
    pub manifest: Option<String>,
    pub origin: ReplicaOrigin,
    pub state: ReplicaState,
    pub base: Base,
    /// The replica's directory below its base root (for copies: `<name>@<version>`).
    pub rel: PathBuf,
    /// For in-place replicas under a work root: the uid owning the top directory.
    #[serde(default)]
    pub owner_uid: Option<u32>,
    pub total_bytes: u64,
    pub total_files: u64,
    pub present_bytes: u64,
    pub present_files: u64,
    #[serde(default)]
    pub bytes_received: u64,
    #[serde(default)]
    pub bytes_linked: u64,
    #[serde(default)]
    pub corrupt_chunks: u64,
    #[serde(default)]
    pub sources: Vec<PeerSource>,
    #[serde(default)]
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub last_verify: Option<VerifyOutcome>,
    #[serde(default)]
    pub last_mounted: Option<DateTime<Utc>>,
}

impl ReplicaRecord {
    pub fn key(&self) -> String {
        replica_key(&self.name, &self.version)
    }
}

pub fn replica_key(name: &str, version: &str) -> String {
    format!("{name}@{version}")
}

/// Counters of a copy in progress.
#[derive(Debug, Default)]
pub struct FetchProgress {
    pub total_bytes: AtomicU64,
    pub total_files: AtomicU64,
    pub present_bytes: AtomicU64,
    pub present_files: AtomicU64,
    pub bytes_received: AtomicU64,
    pub bytes_linked: AtomicU64,
    pub corrupt_chunks: AtomicU64,
    pub sources: Mutex<Vec<String>>,
    /// (time, bytes received) samples, for a rate over the last few seconds.
    window: Mutex<VecDeque<(Instant, u64)>>,
}

/// The window the reported rate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(5);

impl FetchProgress {
    pub fn received(&self, n: u64) {
        let total = self.bytes_received.fetch_add(n, Ordering::Relaxed) + n;
        // A sample every 100 ms is plenty; contention here must never slow the transfer.
        if let Ok(mut w) = self.window.try_lock() {
            let now = Instant::now();
            if w.back()
                .is_none_or(|(t, _)| now.duration_since(*t) >= Duration::from_millis(100))
            {
                w.push_back((now, total));
                while w
                    .front()
                    .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
                {
                    w.pop_front();
                }
            }
        }
    }

    /// Bytes per second received over the last [`RATE_WINDOW`]; 0 when idle.
    pub fn rate(&self) -> u64 {
        let now = Instant::now();
        let total = self.bytes_received.load(Ordering::Relaxed);
        let w = self.window.lock().unwrap();
        let Some((t0, b0)) = w
            .iter()
            .find(|(t, _)| now.duration_since(*t) <= RATE_WINDOW)
        else {
            return 0;
        };
        let secs = now.duration_since(*t0).as_secs_f64();
        if secs < 0.2 {
            return 0;
        }
        ((total - b0) as f64 / secs) as u64
    }
}

/// A background job on a replica.
#[derive(Debug)]
enum LiveProgress {
    Scan(Arc<ScanProgress>),
    Fetch(Arc<FetchProgress>),
    Verify(Arc<ScanProgress>),
}

#[derive(Debug)]
struct Live {
    progress: LiveProgress,
    cancel: CancellationToken,
    /// Set once the job's task is spawned; awaited by whoever cancels it.
    handle: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Live {
    fn new(progress: LiveProgress, cancel: CancellationToken) -> Arc<Live> {
        Arc::new(Live {
            progress,
            cancel,
            handle: Mutex::new(None),
        })
    }

    fn cancel(&self) {
        self.cancel.cancel();
        if let LiveProgress::Scan(p) | LiveProgress::Verify(p) = &self.progress {
            p.cancel.store(true, Ordering::Relaxed);
        }
    }

    async fn join(&self) {
        let handle = self.handle.lock().unwrap().take();
        if let Some(h) = handle {
            let _ = h.await;
        }
    }
}

#[derive(Debug)]
struct Entry {
    rec: ReplicaRecord,
    live: Option<Arc<Live>>,
}

/// Paths of the store under the datasets root.
#[derive(Debug, Clone)]
pub struct Store {
    /// The datasets root, canonical.
    pub root: PathBuf,
}

impl Store {
    fn state(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }
    pub fn manifest(&self, id: &str) -> PathBuf {
        self.state().join("manifests").join(format!("{id}.json"))
    }
    fn record(&self, key: &str) -> PathBuf {
        self.state().join("replicas").join(format!("{key}.json"))
    }
    /// What the scan saw of a replica registered in place ([`scan::Stamps`]); it goes with the
    /// replica's record.
    fn stamps(&self, key: &str) -> PathBuf {
        self.state().join("stamps").join(format!("{key}.json"))
    }
    pub fn partial(&self, id: &str) -> PathBuf {
        self.state().join("partial").join(id)
    }
    pub fn journal(&self, id: &str) -> PathBuf {
        self.state().join("partial").join(format!("{id}.journal"))
    }
    fn trash(&self) -> PathBuf {
        self.state().join("trash")
    }
    pub fn complete(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn prepare(&self) -> anyhow::Result<()> {
        for sub in ["manifests", "replicas", "stamps", "partial", "trash"] {
            let dir = self.state().join(sub);
            fsx::private_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        // Partial copies are unverified: nobody but the agent may look into them, even if
        // the datasets root itself is mounted into a container.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.state(), std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("chmod 0700 {}", self.state().display()))?;
        Ok(())
    }

    fn load_manifest(&self, id: &str) -> Result<Manifest, String> {
        let path = self.manifest(id);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // Kept manifests are canonical JSON, so hashing the bytes read checks them without
        // serializing a large manifest again.
        Manifest::from_json_with_id(&bytes, id)
            .map(|(m, _)| m)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Keeps manifest `id` (already checked to be `m`'s: serializing a large manifest again
    /// to hash it costs as much as parsing it).
    fn save_manifest(&self, id: &str, m: &Manifest) -> Result<(), DatasetError> {
        let path = self.manifest(id);
        if path.exists() {
            return Ok(());
        }
        let bytes = serde_json::to_vec(m).map_err(|e| internal("encoding a manifest", e))?;
        fsx::write_atomic(&path, &bytes).map_err(|e| internal("writing a manifest", e))
    }

    fn save_stamps(&self, key: &str, stamps: &scan::Stamps) -> Result<(), DatasetError> {
        let bytes = serde_json::to_vec(stamps).map_err(|e| internal("encoding stamps", e))?;
        fsx::write_atomic(&self.stamps(key), &bytes).map_err(|e| internal("writing stamps", e))
    }

    /// `None` for a replica registered before stamps were kept.
    fn load_stamps(&self, key: &str) -> Result<Option<scan::Stamps>, String> {
        let path = self.stamps(key);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Keeps manifest `id` as `bytes`, its canonical JSON as a peer sent it (no need to
    /// serialize it again).
    fn save_manifest_bytes(&self, id: &str, bytes: &[u8]) -> Result<(), DatasetError> {
        let path = self.manifest(id);
        if path.exists() {
            return Ok(());
        }
        fsx::write_atomic(&path, bytes).map_err(|e| internal("writing a manifest", e))
    }
}

/// Process-lifetime counters for `/metrics`.
#[derive(Debug, Default)]
pub struct DatasetStats {
    pub bytes_received: AtomicU64,
    pub bytes_served: AtomicU64,
    pub corrupt_chunks: AtomicU64,
}

/// Gauges for `/metrics`.
#[derive(Debug, Default)]
pub struct DatasetGauges {
    /// (state, replicas, bytes present)
    pub by_state: Vec<(&'static str, u64, u64)>,
    pub blobs_indexed: u64,
}

/// The datasets of this host. Exists (disabled) even without a datasets root, so the API can
/// say why nothing works.
pub struct Datasets {
    store: Option<Store>,
    work_root: Option<PathBuf>,
    streams: usize,
    free_margin: crate::config::FreeMargin,
    peer_tls: Option<ClientTls>,
    pub index: Arc<BlobIndex>,
    pub recv_cap: Arc<RateCap>,
    pub serve_cap: Arc<RateCap>,
    pub stats: Arc<DatasetStats>,
    registry: Mutex<BTreeMap<String, Entry>>,
    /// Launches in progress, by manifest id: a replica being mounted is not removed.
    pins: Mutex<HashMap<String, usize>>,
    /// One fetch request decided at a time (they are rare; this keeps "is it already here?"
    /// and "start it" together).
    fetch_gate: tokio::sync::Mutex<()>,
    inventory: Arc<Inventory>,
    hostname: String,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Datasets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Datasets")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The peer identity from the configuration, or `None` when none is configured.
pub fn peer_tls(config: &AgentConfig) -> anyhow::Result<Option<ClientTls>> {
    let d = &config.datasets;
    let (Some(cert), Some(key)) = (&d.peer_cert, &d.peer_key) else {
        return Ok(None);
    };
    let read = |p: &Path, what: &str| {
        std::fs::read_to_string(p).with_context(|| format!("reading the {what} {}", p.display()))
    };
    let tls = ClientTls {
        ca_pem: read(&config.tls.client_ca, "Maison CA")?,
        cert_pem: read(cert, "datasets.peer_cert")?,
        key_pem: read(key, "datasets.peer_key")?,
    };
    maison_agent_api::client_tls_config(&tls).context("the datasets peer certificate and key")?;
    match maison_pki::role_of_pem(&tls.cert_pem) {
        Ok(Some(maison_pki::Role::Peer)) => {}
        Ok(other) => anyhow::bail!(
            "datasets.peer_cert {} is not a peer certificate (role {}); `pki issue-agent` writes peer-<host>.pem",
            cert.display(),
            other.map_or("none".to_string(), |r| r.to_string())
        ),
        Err(e) => anyhow::bail!("datasets.peer_cert {}: {e}", cert.display()),
    }
    Ok(Some(tls))
}

fn rate_caps(d: &DatasetsConfig) -> RateCap {
    RateCap::new(
        d.max_rate.map(|r| r.0),
        d.night_hours.zip(d.night_rate.map(|r| r.0)),
    )
}

impl Datasets {
    /// Opens (creating if needed) the store and loads every replica record. Copies that were
    /// running resume when [`Datasets::resume`] is called.
    pub fn open(
        config: &AgentConfig,
        inventory: Arc<Inventory>,
        hostname: &str,
    ) -> anyhow::Result<Arc<Datasets>> {
        let peer_tls = peer_tls(config)?;
        let store = match &config.mounts.datasets {
            None => None,
            Some(root) => {
                if !root.exists() {
                    fsx::private_dir(root).with_context(|| {
                        format!("creating the datasets root {}", root.display())
                    })?;
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
                }
                let root = std::fs::canonicalize(root)
                    .with_context(|| format!("the datasets root {}", root.display()))?;
                let store = Store { root };
                store.prepare()?;
                Some(store)
            }
        };
        let work_root = config
            .mounts
            .work
            .as_ref()
            .and_then(|w| std::fs::canonicalize(w).ok());
        let ds = Datasets {
            store,
            work_root,
            streams: config.datasets.streams,
            free_margin: config.datasets.free_margin,
            peer_tls,
            index: Arc::new(BlobIndex::default()),
            recv_cap: Arc::new(rate_caps(&config.datasets)),
            serve_cap: Arc::new(rate_caps(&config.datasets)),
            stats: Arc::new(DatasetStats::default()),
            registry: Mutex::new(BTreeMap::new()),
            pins: Mutex::new(HashMap::new()),
            fetch_gate: tokio::sync::Mutex::new(()),
            inventory,
            hostname: hostname.to_string(),
            shutdown: CancellationToken::new(),
        };
        ds.load_records();
        Ok(Arc::new(ds))
    }

    pub fn enabled(&self) -> bool {
        self.store.is_some()
    }

    fn store(&self) -> Result<&Store, DatasetError> {
        self.store.as_ref().ok_or(DatasetError::Disabled)
    }

    fn load_records(&self) {
        let Some(store) = &self.store else { return };
        let dir = store.state().join("replicas");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut registry = self.registry.lock().unwrap();
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let rec: ReplicaRecord = match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(record = %path.display(), error = %e, "unreadable replica record; ignoring it");
                    continue;
                }
            };
            let mut rec = rec;
            if rec.state == ReplicaState::Verifying {
                // A verify cut short by a restart proves nothing either way.
                rec.state = ReplicaState::Complete;
            }
            if rec.state == ReplicaState::Complete {
                let manifest = rec
                    .manifest
                    .as_deref()
                    .ok_or_else(|| "no manifest id".to_string())
                    .and_then(|id| store.load_manifest(id));
                match manifest {
                    Ok(m) => self.index.add(self.replica_root(&rec), &m),
                    Err(e) => {
                        rec.state = ReplicaState::Failed;
                        rec.error = Some(format!("the manifest is missing or damaged: {e}"));
                    }
                }
            }
            registry.insert(rec.key(), Entry { rec, live: None });
        }
        tracing::info!(
            replicas = registry.len(),
            blobs = self.index.len(),
            "dataset replicas loaded"
        );
    }

    fn replica_root(&self, rec: &ReplicaRecord) -> Arc<ReplicaRoot> {
        Arc::new(ReplicaRoot {
            key: rec.key(),
            base: self.base_path(rec.base).unwrap_or_default(),
            rel: rec.rel.clone(),
            copied: rec.origin == ReplicaOrigin::Copied,
        })
    }

    fn base_path(&self, base: Base) -> Option<PathBuf> {
        match base {
            Base::Datasets => self.store.as_ref().map(|s| s.root.clone()),
            Base::Work => self.work_root.clone(),
        }
    }

    /// Restarts what a restart interrupted: scans of registered directories and copies.
    pub fn resume(self: &Arc<Self>) {
        let pending: Vec<ReplicaRecord> = self
            .registry
            .lock()
            .unwrap()
            .values()
            .filter(|e| matches!(e.rec.state, ReplicaState::Scanning | ReplicaState::Fetching))
            .map(|e| e.rec.clone())
            .collect();
        for rec in pending {
            let key = rec.key();
            let result = match rec.state {
                ReplicaState::Scanning => self
                    .open_replica_dir(&rec)
                    .map_err(|e| e.to_string())
                    .map(|fd| self.spawn_scan(&key, fd, rec.rel.display().to_string())),
                _ => self.resume_fetch(&rec).map_err(|e| e.to_string()),
            };
            match result {
                Ok(()) => tracing::info!(replica = %key, state = ?rec.state, "resuming"),
                Err(e) => self.fail(&key, format!("could not resume after a restart: {e}")),
            }
        }
    }

    /// Cancels every job and waits for them (the agent is stopping).
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        let lives: Vec<Arc<Live>> = self
            .registry
            .lock()
            .unwrap()
            .values()
            .filter_map(|e| e.live.clone())
            .collect();
        for l in lives {
            l.cancel();
            l.join().await;
        }
    }

    // ----- records ---------------------------------------------------------

    fn persist(&self, rec: &ReplicaRecord) {
        let Some(store) = &self.store else { return };
        let result = serde_json::to_vec_pretty(rec)
            .map_err(std::io::Error::other)
            .and_then(|bytes| fsx::write_atomic(&store.record(&rec.key()), &bytes));
        if let Err(e) = result {
            tracing::error!(replica = %rec.key(), error = %e, "could not save the replica record");
        }
    }

    /// Changes a record under the lock and saves it.
    fn update(&self, key: &str, f: impl FnOnce(&mut ReplicaRecord)) -> Option<ReplicaRecord> {
        let rec = {
            let mut registry = self.registry.lock().unwrap();
            let entry = registry.get_mut(key)?;
            f(&mut entry.rec);
            entry.rec.updated_at = Utc::now();
            entry.rec.clone()
        };
        self.persist(&rec);
        Some(rec)
    }

    fn fail(&self, key: &str, error: String) {
        tracing::warn!(replica = %key, %error, "dataset replica failed");
        self.update(key, |r| {
            r.state = ReplicaState::Failed;
            r.error = Some(error);
        });
    }

    fn info_of(&self, entry: &Entry) -> ReplicaInfo {
        let rec = &entry.rec;
        let mut info = ReplicaInfo {
            name: rec.name.clone(),
            version: rec.version.clone(),
            manifest: rec.manifest.clone(),
            path: self.display_path(rec),
            origin: rec.origin,
            state: rec.state,
            total_bytes: rec.total_bytes,
            present_bytes: rec.present_bytes,
            total_files: rec.total_files,
            present_files: rec.present_files,
            rate_bytes_per_sec: 0,
            sources: rec.sources.iter().map(|s| s.host.clone()).collect(),
            bytes_received: rec.bytes_received,
            bytes_linked: rec.bytes_linked,
            corrupt_chunks: rec.corrupt_chunks,
            error: rec.error.clone(),
            updated_at: rec.updated_at,
            last_verify: rec.last_verify.clone(),
            last_mounted: rec.last_mounted,
            mounted_by: rec
                .manifest
                .as_deref()
                .map(|id| self.inventory.containers_with_dataset(id))
                .unwrap_or_default(),
        };
        if let Some(live) = &entry.live {
            match &live.progress {
                LiveProgress::Scan(p) => {
                    info.total_bytes = p.total_bytes.load(Ordering::Relaxed);
                    info.total_files = p.total_files.load(Ordering::Relaxed);
                    info.present_bytes = p.bytes.load(Ordering::Relaxed);
                    info.present_files = p.files.load(Ordering::Relaxed);
                }
                LiveProgress::Fetch(p) => {
                    info.present_bytes = p.present_bytes.load(Ordering::Relaxed);
                    info.present_files = p.present_files.load(Ordering::Relaxed);
                    info.bytes_received = p.bytes_received.load(Ordering::Relaxed);
                    info.bytes_linked = p.bytes_linked.load(Ordering::Relaxed);
                    info.corrupt_chunks = p.corrupt_chunks.load(Ordering::Relaxed);
                    info.rate_bytes_per_sec = p.rate();
                    let sources = p.sources.lock().unwrap();
                    if !sources.is_empty() {
                        info.sources = sources.clone();
                    }
                }
                LiveProgress::Verify(_) => {}
            }
        }
        info
    }

    fn display_path(&self, rec: &ReplicaRecord) -> String {
        let Some(store) = &self.store else {
            return String::new();
        };
        let path = match (rec.origin, rec.state, &rec.manifest) {
            (ReplicaOrigin::Copied, ReplicaState::Fetching, Some(id)) => store.partial(id),
            (ReplicaOrigin::Copied, ReplicaState::Failed, Some(id))
                if store.partial(id).exists() =>
            {
                store.partial(id)
            }
            _ => self.base_path(rec.base).unwrap_or_default().join(&rec.rel),
        };
        path.display().to_string()
    }

    /// Every replica, and the room left.
    pub fn inventory(&self) -> Result<DatasetInventory, DatasetError> {
        let store = self.store()?;
        let replicas = {
            let registry = self.registry.lock().unwrap();
            registry.values().map(|e| self.info_of(e)).collect()
        };
        let space = fsx::disk_space(&store.root);
        Ok(DatasetInventory {
            replicas,
            free_bytes: space.map(|s| s.0),
            total_bytes: space.map(|s| s.1),
            free_margin_bytes: space.map_or(0, |(_, total)| self.free_margin.bytes(total)),
        })
    }

    fn info(&self, key: &str) -> Option<ReplicaInfo> {
        let registry = self.registry.lock().unwrap();
        registry.get(key).map(|e| self.info_of(e))
    }

    /// Finds replicas by manifest id or by `name@version`.
    fn resolve(&self, key: &str) -> Result<Vec<String>, DatasetError> {
        let registry = self.registry.lock().unwrap();
        if registry.contains_key(key) {
            return Ok(vec![key.to_string()]);
        }
        if !is_hash(key) {
            return Err(DatasetError::BadRequest(format!(
                "{key:?} is neither a manifest id (64 hex digits) nor a name@version held here"
            )));
        }
        let keys: Vec<String> = registry
            .values()
            .filter(|e| e.rec.manifest.as_deref() == Some(key))
            .map(|e| e.rec.key())
            .collect();
        if keys.is_empty() {
            return Err(DatasetError::NotFound(format!(
                "no replica of manifest {} on this host",
                short(key)
            )));
        }
        Ok(keys)
    }

    // ----- launches ----------------------------------------------------------

    /// Keeps replicas of these manifests from being removed until the guard is dropped.
    pub fn pin(self: &Arc<Self>, ids: &[String]) -> PinGuard {
        let mut pins = self.pins.lock().unwrap();
        for id in ids {
            *pins.entry(id.clone()).or_default() += 1;
        }
        PinGuard {
            ds: self.clone(),
            ids: ids.to_vec(),
        }
    }

    /// Records that containers were launched with these manifests.
    pub fn mounted(&self, ids: &[String]) {
        let keys: Vec<String> = {
            let registry = self.registry.lock().unwrap();
            registry
                .values()
                .filter(|e| e.rec.manifest.as_ref().is_some_and(|m| ids.contains(m)))
                .map(|e| e.rec.key())
                .collect()
        };
        let now = Utc::now();
        for k in keys {
            self.update(&k, |r| r.last_mounted = Some(now));
        }
    }

    pub fn gauges(&self) -> DatasetGauges {
        let mut by: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
        for s in ["scanning", "fetching", "complete", "verifying", "failed"] {
            by.insert(s, (0, 0));
        }
        for e in self.registry.lock().unwrap().values() {
            let info = self.info_of(e);
            let state = match info.state {
                ReplicaState::Scanning => "scanning",
                ReplicaState::Fetching => "fetching",
                ReplicaState::Complete => "complete",
                ReplicaState::Verifying => "verifying",
                _ => "failed",
            };
            let slot = by.entry(state).or_default();
            slot.0 += 1;
            slot.1 += info.present_bytes;
        }
        DatasetGauges {
            by_state: by.into_iter().map(|(s, (n, b))| (s, n, b)).collect(),
            blobs_indexed: self.index.len() as u64,
        }
    }
}

/// Holds launches' manifests; see [`Datasets::pin`].
#[derive(Debug)]
pub struct PinGuard {
    ds: Arc<Datasets>,
    ids: Vec<String>,
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let mut pins = self.ds.pins.lock().unwrap();
        for id in &self.ids {
            if let Some(n) = pins.get_mut(id) {
                *n -= 1;
                if *n == 0 {
                    pins.remove(id);
                }
            }
        }
    }
}

impl DatasetSource for Datasets {
    /// A complete replica of the manifest, opened below its root, or a refusal that says how
    /// far the copy here has got.
    fn open_dataset(&self, mount: &DatasetMount) -> Result<CheckedMount, PolicyRefusal> {
        let not_ready = |message: String| PolicyRefusal {
            rule: Rule::DatasetNotReady,
            message,
        };
        let name = &mount.name;
        let (complete, partial) = {
            let registry = self.registry.lock().unwrap();
            let of_manifest: Vec<&Entry> = registry
                .values()
                .filter(|e| e.rec.manifest.as_deref() == Some(mount.manifest.as_str()))
                .collect();
            let complete = of_manifest
                .iter()
                .find(|e| {
                    matches!(
                        e.rec.state,
                        ReplicaState::Complete | ReplicaState::Verifying
                    )
                })
                .map(|e| e.rec.clone());
            let partial = of_manifest.first().map(|e| self.info_of(e));
            (complete, partial)
        };
        let Some(rec) = complete else {
            return Err(not_ready(match partial {
                None => format!("{name} is not on this host: copy it here first"),
                Some(p) if p.state == ReplicaState::Failed => format!(
                    "{}@{} is not usable here: {}",
                    p.name,
                    p.version,
                    p.error.as_deref().unwrap_or("its copy failed")
                ),
                Some(p) => {
                    let pct = (p.present_bytes * 100)
                        .checked_div(p.total_bytes)
                        .unwrap_or(0);
                    format!(
                        "{}@{} is {pct} % here ({} of {}); launch when the copy is complete",
                        p.name,
                        p.version,
                        ByteSize(p.present_bytes),
                        ByteSize(p.total_bytes)
                    )
                }
            }));
        };
        let dir = self
            .open_replica_dir(&rec)
            .map_err(|e| not_ready(format!("{}: {e}", rec.key())))?;
        if rec.origin == ReplicaOrigin::InPlace {
            self.check_unchanged(&rec, &dir)?;
        }
        Ok(CheckedMount {
            dir,
            target: format!("{}/{name}", maison_agent_api::datasets::MOUNT_PARENT),
            read_only: true,
            as_written: rec.key(),
        })
    }
}

fn copy_progress(r: &mut ReplicaRecord, p: &FetchProgress) {
    r.present_bytes = p.present_bytes.load(Ordering::Relaxed);
    r.present_files = p.present_files.load(Ordering::Relaxed);
    r.bytes_received = p.bytes_received.load(Ordering::Relaxed);
    r.bytes_linked = p.bytes_linked.load(Ordering::Relaxed);
    r.corrupt_chunks = p.corrupt_chunks.load(Ordering::Relaxed);
}

fn check_names(name: &str, version: &str) -> Result<(), DatasetError> {
    for (what, value) in [("name", name), ("version", version)] {
        if !is_dataset_name(value) {
            return Err(DatasetError::BadRequest(format!(
                "{value:?} is not a valid dataset {what}: letters, digits, '-', '_', '.', at most 64, not starting with '.'"
            )));
        }
    }
    Ok(())
}

/// The first 12 hex digits of an id, for messages.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_manifest_that_changed_on_disk_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store {
            root: dir.path().to_path_buf(),
        };
        store.prepare().unwrap();
        let m = Manifest {
            format: maison_agent_api::datasets::MANIFEST_FORMAT,
            chunk_size: 8 << 20,
            dirs: vec![],
            files: vec![],
        };
        let id = m.id();
        store.save_manifest(&id, &m).unwrap();
        assert_eq!(store.load_manifest(&id), Ok(m.clone()));

        let mut edited = m.clone();
        edited.chunk_size = 4 << 20;
        std::fs::write(store.manifest(&id), serde_json::to_vec(&edited).unwrap()).unwrap();
        let refused = store.load_manifest(&id).unwrap_err();
        assert!(refused.contains("does not match its id"), "{refused}");

        // The same manifest written differently (pretty-printed) is still the same version.
        std::fs::write(store.manifest(&id), serde_json::to_vec_pretty(&m).unwrap()).unwrap();
        assert_eq!(store.load_manifest(&id), Ok(m));
    }
}
