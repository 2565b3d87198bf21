//! Dataset helpers: deterministic trees of large and small files, polling a replica until it
//! reaches a state, and comparing two trees byte for byte.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use maison_agent_api::AgentClient;
use maison_agent_api::datasets::{
    FetchRequest, PeerSource, RegisterRequest, ReplicaInfo, ReplicaState,
};

pub const MIB: u64 = 1 << 20;

/// Pseudo-random bytes that depend only on `seed` (BLAKE3 as a stream cipher of sorts).
pub fn bytes(seed: &str, len: u64) -> Vec<u8> {
    let mut out = vec![0u8; len as usize];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// `large` files of `large_size` bytes under `big/`, `small` files of `small_size` bytes spread
/// over `small/00` … `small/09`, a README, a file of mode 0600, an empty file and an empty
/// directory.
pub fn make_tree(
    dir: &Path,
    seed: &str,
    large: usize,
    large_size: u64,
    small: usize,
    small_size: u64,
) {
    std::fs::create_dir_all(dir.join("big")).unwrap();
    std::fs::create_dir_all(dir.join("empty-dir")).unwrap();
    for i in 0..large {
        std::fs::write(
            dir.join(format!("big/part-{i}.bin")),
            bytes(&format!("{seed}/big/{i}"), large_size),
        )
        .unwrap();
    }
    for i in 0..small {
        let sub = dir.join(format!("small/{:02}", i % 10));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            sub.join(format!("f{i:05}.dat")),
            bytes(&format!("{seed}/small/{i}"), small_size),
        )
        .unwrap();
    }
    std::fs::write(dir.join("README"), format!("dataset {seed}\n")).unwrap();
    // A mode other than the default, which a copy must keep.
    std::fs::write(dir.join("private.txt"), b"owner only\n").unwrap();
    std::fs::set_permissions(
        dir.join("private.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    // A group-writable file: a copy creates files with their mode less the agent's umask, so
    // this bit (which umask 022 takes away) must be set again before the copy is published.
    if small > 0 {
        std::fs::set_permissions(
            dir.join("small/00/f00000.dat"),
            std::fs::Permissions::from_mode(0o664),
        )
        .unwrap();
    }
}

/// Every file and directory below `dir`: path → (kind, size, mode, BLAKE3).
pub fn digest(dir: &Path) -> BTreeMap<String, (char, u64, u32, String)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel, ('d', 0, mode, String::new()));
                stack.push(p);
            } else {
                let hash = blake3::hash(&std::fs::read(&p).unwrap())
                    .to_hex()
                    .to_string();
                out.insert(rel, ('f', meta.len(), mode, hash));
            }
        }
    }
    out
}

/// What [`digest`] of a copy shows for a source of digest `source`: the same, but no write
/// permission for group or others (copies never give it).
pub fn as_copied(
    source: BTreeMap<String, (char, u64, u32, String)>,
) -> BTreeMap<String, (char, u64, u32, String)> {
    source
        .into_iter()
        .map(|(path, (kind, size, mode, hash))| (path, (kind, size, mode & !0o022, hash)))
        .collect()
}

pub async fn replica(client: &AgentClient, key: &str) -> Option<ReplicaInfo> {
    client
        .datasets()
        .await
        .expect("GET /v1/datasets")
        .replicas
        .into_iter()
        .find(|r| format!("{}@{}", r.name, r.version) == key)
}

/// Polls until the replica is in `state` (panics on `failed` unless that is what is awaited).
pub async fn wait_for(
    client: &AgentClient,
    key: &str,
    state: ReplicaState,
    secs: u64,
) -> ReplicaInfo {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(r) = replica(client, key).await {
            if r.state == state {
                return r;
            }
            if r.state == ReplicaState::Failed {
                panic!("{key} failed while waiting for {state:?}: {:?}", r.error);
            }
            last = Some(r);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{key} did not reach {state:?} within {secs} s; last seen {last:#?}");
}

pub async fn register(client: &AgentClient, name: &str, version: &str, path: &Path) -> ReplicaInfo {
    client
        .register_dataset(&RegisterRequest {
            name: name.into(),
            version: version.into(),
            path: path.display().to_string(),
            owner_uid: None,
        })
        .await
        .expect("register")
}

/// Registers `path` and waits for its manifest; returns the manifest id.
pub async fn register_complete(
    client: &AgentClient,
    name: &str,
    version: &str,
    path: &Path,
) -> String {
    register(client, name, version, path).await;
    let r = wait_for(
        client,
        &format!("{name}@{version}"),
        ReplicaState::Complete,
        120,
    )
    .await;
    r.manifest.expect("a complete replica has a manifest")
}

pub fn fetch_request(
    name: &str,
    version: &str,
    manifest: &str,
    sources: &[(&str, String)],
) -> FetchRequest {
    FetchRequest {
        name: name.into(),
        version: version.into(),
        manifest: manifest.into(),
        sources: sources
            .iter()
            .map(|(host, url)| PeerSource {
                host: host.to_string(),
                url: url.clone(),
            })
            .collect(),
    }
}
