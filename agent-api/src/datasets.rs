//! Datasets on the wire: the manifest that names a dataset version, the replicas an agent
//! holds, and the requests the bot sends to register, fetch, verify and remove them.
//!
//! A version is identified by its manifest's hash ([`Manifest::id`]): the same files with the
//! same bytes and modes always give the same id, on any host, so "is this copy the same
//! dataset?" is a string comparison. Files are addressed by their BLAKE3 hash; a file larger
//! than [`CHUNK_SIZE`] also lists the hash of each chunk, so a transfer verifies (and, after an
//! interruption, resumes) chunk by chunk instead of file by file.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Chunk size of large files: big enough that per-chunk overhead vanishes next to the disk,
/// small enough that an interrupted transfer re-sends little.
pub const CHUNK_SIZE: u64 = 8 * 1024 * 1024;

/// Version of the manifest format; part of the hashed bytes, so a new format never collides.
pub const MANIFEST_FORMAT: u32 = 1;

/// Where a dataset is mounted inside a container: `/data/<name>`.
pub const MOUNT_PARENT: &str = "/data";

/// One regular file of a dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Relative path with `/` separators; never absolute, never `..`.
    pub path: String,
    pub size: u64,
    /// Permission bits (`0o644`…); set-id bits are never recorded.
    pub mode: u32,
    /// BLAKE3 of the whole file, lowercase hex.
    pub hash: String,
    /// BLAKE3 of each [`CHUNK_SIZE`] piece, in order; empty when the file fits in one chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<String>,
}

impl ManifestFile {
    /// Number of pieces a transfer moves for this file (at least one, even when empty).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len().max(1)
    }

    /// Byte range of chunk `index`.
    pub fn chunk_range(&self, index: usize) -> std::ops::Range<u64> {
        if self.chunks.is_empty() {
            return 0..self.size;
        }
        let start = index as u64 * CHUNK_SIZE;
        start..(start + CHUNK_SIZE).min(self.size)
    }

    /// Expected hash of chunk `index` (the file's own hash when it has a single chunk).
    pub fn chunk_hash(&self, index: usize) -> &str {
        if self.chunks.is_empty() {
            &self.hash
        } else {
            &self.chunks[index]
        }
    }
}

/// A directory (kept so empty directories and their modes survive a copy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestDir {
    pub path: String,
    pub mode: u32,
}

/// Every file of a dataset version. Files and directories are sorted by path, so the
/// serialized bytes (and thus [`Manifest::id`]) depend only on the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub chunk_size: u64,
    pub dirs: Vec<ManifestDir>,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    /// The version's identity: BLAKE3 of the manifest's canonical JSON.
    pub fn id(&self) -> String {
        let bytes = serde_json::to_vec(self).expect("a manifest always serializes");
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// The manifest whose id is `id`, from JSON a peer sent or the agent kept, and whether
    /// those bytes are its canonical JSON (then they can be kept as they came). Agents send
    /// and keep the canonical JSON, whose hash is the id: checked on the bytes as they are,
    /// without serializing a large manifest again; other bytes are parsed and their
    /// manifest's id compared.
    pub fn from_json_with_id(bytes: &[u8], id: &str) -> Result<(Manifest, bool), String> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("not a manifest ({e})"))?;
        let canonical = blake3::hash(bytes).to_hex().as_str() == id;
        if !canonical && manifest.id() != id {
            return Err("the manifest does not match its id".into());
        }
        Ok((manifest, canonical))
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Checks what a peer could forge: format, chunk size, sorted unique safe paths, and chunk
    /// lists that match the sizes. A manifest fetched from a peer is checked against the id the
    /// bot gave, then with this, before anything is written.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != MANIFEST_FORMAT {
            return Err(format!("unknown manifest format {}", self.format));
        }
        if self.chunk_size != CHUNK_SIZE {
            return Err(format!("unexpected chunk size {}", self.chunk_size));
        }
        for pair in self.dirs.windows(2) {
            if pair[0].path >= pair[1].path {
                return Err(format!("directories not sorted at {:?}", pair[1].path));
            }
        }
        for pair in self.files.windows(2) {
            if pair[0].path >= pair[1].path {
                return Err(format!("files not sorted at {:?}", pair[1].path));
            }
        }
        for d in &self.dirs {
            check_relative_path(&d.path)?;
        }
        for f in &self.files {
            check_relative_path(&f.path)?;
            if !is_hash(&f.hash) || !f.chunks.iter().all(|c| is_hash(c)) {
                return Err(format!("bad hash for {:?}", f.path));
            }
            let expected = if f.size <= CHUNK_SIZE {
                0
            } else {
                f.size.div_ceil(CHUNK_SIZE)
            };
            if f.chunks.len() as u64 != expected {
                return Err(format!(
                    "{:?}: {} chunk hashes for {} bytes",
                    f.path,
                    f.chunks.len(),
                    f.size
                ));
            }
        }
        self.check_files_are_leaves()
    }

    /// No path is both a file and a directory, and no file sits under a file: a copy of such
    /// a manifest could only fail half-way, after disk space and bandwidth were spent on it.
    fn check_files_are_leaves(&self) -> Result<(), String> {
        let files: std::collections::HashSet<&str> =
            self.files.iter().map(|f| f.path.as_str()).collect();
        let paths = self.dirs.iter().map(|d| (d.path.as_str(), true));
        for (path, is_dir) in paths.chain(self.files.iter().map(|f| (f.path.as_str(), false))) {
            if is_dir && files.contains(path) {
                return Err(format!("{path:?} is both a file and a directory"));
            }
            let mut parents = path.match_indices('/').map(|(at, _)| &path[..at]);
            if let Some(parent) = parents.find(|p| files.contains(p)) {
                return Err(format!("{path:?} lies under {parent:?}, which is a file"));
            }
        }
        Ok(())
    }
}

/// A relative path made of normal components only.
pub fn check_relative_path(path: &str) -> Result<(), String> {
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\0')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!("unsafe path {path:?} in manifest"));
    }
    Ok(())
}

/// 64 lowercase hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A dataset name: what follows `/data/` in a container, so a plain file name.
pub fn is_dataset_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !s.starts_with('.')
}

/// How a replica came to be on its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaOrigin {
    /// Registered where it already was (`data add`); removing it only forgets it.
    InPlace,
    /// Copied by Maison into the agent's datasets directory.
    Copied,
}

/// What a replica is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaState {
    /// Hashing a registered directory to build its manifest.
    Scanning,
    /// Pulling from peers into a partial directory.
    Fetching,
    /// Every file present and verified; mountable.
    Complete,
    /// Re-hashing a complete copy on request; still mountable.
    Verifying,
    /// Stopped with an error (see `error`); a new fetch resumes it.
    Failed,
    #[serde(other)]
    Unknown,
}

/// The outcome of the last `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyOutcome {
    pub at: DateTime<Utc>,
    pub files_checked: u64,
    pub bytes_checked: u64,
    /// Files whose bytes, size or presence differ from the manifest (at most 20 listed).
    pub bad_files: Vec<String>,
    pub bad_count: u64,
}

/// One replica as the agent reports it (`GET /v1/datasets`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaInfo {
    pub name: String,
    pub version: String,
    /// `None` while a registered directory is still being scanned.
    pub manifest: Option<String>,
    /// Directory on the host (the partial directory while fetching).
    pub path: String,
    pub origin: ReplicaOrigin,
    pub state: ReplicaState,
    pub total_bytes: u64,
    /// Bytes verified so far (hashed while scanning, received and checked while fetching).
    pub present_bytes: u64,
    pub total_files: u64,
    pub present_files: u64,
    /// Recent transfer rate, bytes per second (0 when idle).
    pub rate_bytes_per_sec: u64,
    /// Host names the current or last transfer pulled from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Bytes received from peers (including re-sent chunks) and taken from local copies by
    /// hard link, for the current or last transfer.
    #[serde(default)]
    pub bytes_received: u64,
    #[serde(default)]
    pub bytes_linked: u64,
    /// Chunks that failed verification and were fetched again from another source.
    #[serde(default)]
    pub corrupt_chunks: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verify: Option<VerifyOutcome>,
    /// Last time a container was launched with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_mounted: Option<DateTime<Utc>>,
    /// Containers (any state) that mount it now.
    #[serde(default)]
    pub mounted_by: Vec<String>,
}

/// `GET /v1/datasets`: the replicas plus the room left for more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInventory {
    pub replicas: Vec<ReplicaInfo>,
    /// Free and total bytes of the filesystem holding the datasets directory.
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    /// Bytes the agent keeps free; a fetch that would cross it is refused.
    pub free_margin_bytes: u64,
}

/// `POST /v1/datasets/register`: scan a directory already on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub name: String,
    pub version: String,
    /// Absolute path; must lie under the datasets root or, when `owner_uid` is set, under a
    /// work root in a directory that uid owns.
    pub path: String,
    /// The registering user's host uid; `None` for an admin (datasets root only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_uid: Option<u32>,
}

/// A peer to pull from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSource {
    pub host: String,
    /// The peer agent's base URL, e.g. `https://gpu03.lan:8443`.
    pub url: String,
}

/// `POST /v1/datasets/fetch`: make a complete copy of `manifest` here, pulling from `sources`
/// (best first). Idempotent: a complete copy answers at once, a running fetch is reported,
/// a failed or interrupted one resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRequest {
    pub name: String,
    pub version: String,
    pub manifest: String,
    pub sources: Vec<PeerSource>,
}

/// Most blobs one `POST /v1/blobs` may ask for, and what a copy asks for at once: every
/// request costs work on both agents, so many small files go in few requests, but the request
/// must fit the agent's 64 KiB body limit (512 hashes are about 34 KB; 1024 are not).
pub const MAX_BATCH_BLOBS: usize = 512;

/// `POST /v1/blobs`: many small files in one answer, their bytes concatenated in the order
/// asked (sizes come from the manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobBatch {
    pub hashes: Vec<String>,
}

/// A dataset to mount in a launched container: always read-only, at `/data/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetMount {
    pub name: String,
    pub manifest: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64) -> ManifestFile {
        let chunks = if size > CHUNK_SIZE {
            vec!["a".repeat(64); size.div_ceil(CHUNK_SIZE) as usize]
        } else {
            vec![]
        };
        ManifestFile {
            path: path.into(),
            size,
            mode: 0o644,
            hash: "b".repeat(64),
            chunks,
        }
    }

    fn dir(path: &str) -> ManifestDir {
        ManifestDir {
            path: path.into(),
            mode: 0o755,
        }
    }

    fn manifest(files: Vec<ManifestFile>) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            chunk_size: CHUNK_SIZE,
            dirs: vec![],
            files,
        }
    }

    #[test]
    fn id_depends_on_content_only() {
        let a = manifest(vec![file("a", 1), file("b/c", 2)]);
        let same = manifest(vec![file("a", 1), file("b/c", 2)]);
        let other = manifest(vec![file("a", 1), file("b/c", 3)]);
        assert_eq!(a.id(), same.id());
        assert_ne!(a.id(), other.id());
        assert!(is_hash(&a.id()));
    }

    #[test]
    fn a_peers_manifest_is_checked_against_its_id() {
        let m = manifest(vec![file("a", 1), file("b/c", 2)]);
        let id = m.id();
        let canonical = serde_json::to_vec(&m).unwrap();
        assert_eq!(
            Manifest::from_json_with_id(&canonical, &id).map(|(m, _)| m),
            Ok(m.clone())
        );
        // The same manifest written otherwise (pretty) still matches once parsed.
        let pretty = serde_json::to_vec_pretty(&m).unwrap();
        assert_eq!(
            Manifest::from_json_with_id(&pretty, &id).map(|(m, _)| m),
            Ok(m.clone())
        );
        let other = manifest(vec![file("a", 1), file("b/c", 3)]);
        let forged = serde_json::to_vec(&other).unwrap();
        assert_eq!(
            Manifest::from_json_with_id(&forged, &id).map(|(m, _)| m),
            Err("the manifest does not match its id".into())
        );
        assert!(
            Manifest::from_json_with_id(b"{", &id)
                .unwrap_err()
                .starts_with("not a manifest")
        );
    }

    #[test]
    fn validate_refuses_what_a_peer_could_forge() {
        assert_eq!(
            manifest(vec![file("a", 1), file("b", CHUNK_SIZE * 2 + 1)]).validate(),
            Ok(())
        );
        for bad in ["/etc/passwd", "../x", "a/../b", "a//b", "./a", ""] {
            assert!(manifest(vec![file(bad, 1)]).validate().is_err(), "{bad}");
        }
        assert!(
            manifest(vec![file("b", 1), file("a", 1)])
                .validate()
                .is_err()
        );
        assert!(
            manifest(vec![file("a", 1), file("a", 1)])
                .validate()
                .is_err()
        );
        let mut wrong_chunks = file("a", CHUNK_SIZE * 3);
        wrong_chunks.chunks.pop();
        assert!(manifest(vec![wrong_chunks]).validate().is_err());
    }

    #[test]
    fn validate_refuses_a_file_that_is_also_a_directory_or_a_parent() {
        assert_eq!(
            manifest(vec![file("a", 1), file("a/b", 1)]).validate(),
            Err(r#""a/b" lies under "a", which is a file"#.to_string())
        );
        assert!(
            manifest(vec![file("a", 1), file("a/b/c", 1)])
                .validate()
                .is_err()
        );
        let mut clash = manifest(vec![file("a", 1)]);
        clash.dirs = vec![dir("a")];
        assert_eq!(
            clash.validate(),
            Err(r#""a" is both a file and a directory"#.to_string())
        );
        let mut under = manifest(vec![file("a", 1)]);
        under.dirs = vec![dir("a/d")];
        assert!(under.validate().is_err());
        // Names that merely share a prefix are fine.
        let mut fine = manifest(vec![file("a", 1), file("ab/c", 1)]);
        fine.dirs = vec![dir("ab")];
        assert_eq!(fine.validate(), Ok(()));
    }

    #[test]
    fn chunk_ranges_cover_the_file() {
        let f = file("a", CHUNK_SIZE * 2 + 5);
        assert_eq!(f.chunk_count(), 3);
        assert_eq!(f.chunk_range(2), CHUNK_SIZE * 2..CHUNK_SIZE * 2 + 5);
        let small = file("s", 10);
        assert_eq!(small.chunk_count(), 1);
        assert_eq!(small.chunk_range(0), 0..10);
        assert_eq!(small.chunk_hash(0), small.hash);
    }

    #[test]
    fn dataset_names_are_plain_file_names() {
        assert!(is_dataset_name("imagenet"));
        assert!(is_dataset_name("coco-2017_v1.1"));
        for bad in ["", ".hidden", "a/b", "a b", "..", &"x".repeat(65)] {
            assert!(!is_dataset_name(bad), "{bad}");
        }
    }
}
