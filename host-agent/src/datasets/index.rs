//! Every file of every complete replica on this host, by BLAKE3 hash: what peers may pull
//! (`/v1/blobs/{hash}`) and what a new copy can hard-link instead of pulling. Rebuilt at start
//! from the replica records and their manifests; nothing of it is persisted.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use maison_agent_api::datasets::Manifest;

use super::fsx;

/// Where one replica's files are.
#[derive(Debug)]
pub struct ReplicaRoot {
    pub key: String,
    /// The configured root the replica lies under (datasets or work), canonical.
    pub base: PathBuf,
    /// The replica's directory below `base`.
    pub rel: PathBuf,
    /// Copied by Maison: root-owned and never changed, so its files may be hard-linked into
    /// another copy. Files registered in place could change under us (or belong to a user,
    /// who could then change the copy through the link): they are copied and re-verified.
    pub copied: bool,
}

/// One file of one replica.
#[derive(Debug, Clone)]
pub struct BlobLocation {
    pub root: Arc<ReplicaRoot>,
    /// The file's path inside the replica (manifest form).
    pub path: String,
    pub size: u64,
    pub mode: u32,
}

impl BlobLocation {
    /// Path below the base root.
    pub fn rel(&self) -> PathBuf {
        self.root.rel.join(OsStr::from_bytes(self.path.as_bytes()))
    }

    /// Opens the file below its root without following any link (a user could have swapped a
    /// directory of an in-place replica for a link to `/etc` since it was scanned). With its
    /// size, read when its type was checked.
    pub fn open(&self) -> nix::Result<(File, u64)> {
        let base = fsx::open_root(&self.root.base)?;
        fsx::open_file_beneath(base.as_fd(), &self.rel())
    }

    /// The absolute path (for hard links of copied replicas, which are root-owned throughout).
    pub fn absolute(&self) -> PathBuf {
        self.root.base.join(self.rel())
    }
}

#[derive(Debug, Default)]
pub struct BlobIndex {
    map: RwLock<HashMap<String, Vec<BlobLocation>>>,
}

impl BlobIndex {
    pub fn add(&self, root: Arc<ReplicaRoot>, manifest: &Manifest) {
        let mut map = self.map.write().unwrap();
        for f in &manifest.files {
            let locations = map.entry(f.hash.clone()).or_default();
            // Copied replicas first: they are the ones that can be hard-linked.
            let loc = BlobLocation {
                root: root.clone(),
                path: f.path.clone(),
                size: f.size,
                mode: f.mode,
            };
            if root.copied {
                locations.insert(0, loc);
            } else {
                locations.push(loc);
            }
        }
    }

    pub fn remove(&self, key: &str) {
        let mut map = self.map.write().unwrap();
        map.retain(|_, locations| {
            locations.retain(|l| l.root.key != key);
            !locations.is_empty()
        });
    }

    /// Where a blob is, preferring copied replicas; `exclude` skips one replica's own files.
    pub fn find(&self, hash: &str, exclude: Option<&str>) -> Option<BlobLocation> {
        self.map
            .read()
            .unwrap()
            .get(hash)?
            .iter()
            .find(|l| Some(l.root.key.as_str()) != exclude)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `rel` made of the manifest path's bytes.
pub fn manifest_path(path: &str) -> &Path {
    Path::new(OsStr::from_bytes(path.as_bytes()))
}
