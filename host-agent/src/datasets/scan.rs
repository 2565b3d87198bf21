//! Building a manifest from a directory already on the host (`data add`), and checking a copy
//! against its manifest (`data verify`).
//!
//! The walk never follows a link: every directory is opened with `O_NOFOLLOW` from its open
//! parent, every file with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` from the top, so a
//! user renaming things in their work directory during a scan cannot make the root-run agent
//! read (and later serve to peers) anything outside it. Links, devices, FIFOs and sockets are
//! refused, not skipped: a dataset that silently lost files would be worse than a clear "no".
//! Set-uid and set-gid files are refused too; a directory's set-gid bit is dropped (it only
//! steers group inheritance, which a read-only copy never uses).
//!
//! A directory registered in place stays where its owner can write. The walk keeps a [`Stamp`]
//! of every directory and file; the same walk after hashing must find the same stamps (or the
//! hashes may not be of what is there), and a launch walks again before mounting it
//! ([`changed_since`]): a version never changes under the people using it.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use maison_agent_api::datasets::{
    CHUNK_SIZE, MANIFEST_FORMAT, Manifest, ManifestDir, ManifestFile,
};
use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use serde::{Deserialize, Serialize};

use super::fsx;

/// Read size while hashing: divides [`CHUNK_SIZE`], so chunk boundaries fall between reads.
const READ_BLOCK: usize = 1 << 20;

/// Counters a scan or verify updates as it goes; the API reads them.
#[derive(Debug, Default)]
pub struct ScanProgress {
    pub total_bytes: AtomicU64,
    pub total_files: AtomicU64,
    pub bytes: AtomicU64,
    pub files: AtomicU64,
    pub cancel: AtomicBool,
}

/// What a walk saw of one directory or file. Writing a file, adding, removing or renaming an
/// entry of a directory, or changing a mode each sets the status-change time to now, and only
/// root can set it back; the inode tells a file replaced by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub ino: u64,
    pub size: u64,
    pub ctime: i64,
    pub ctime_ns: i64,
}

impl Stamp {
    fn of(st: &FileStat) -> Stamp {
        Stamp {
            ino: st.st_ino,
            size: st.st_size as u64,
            ctime: st.st_ctime,
            ctime_ns: st.st_ctime_nsec,
        }
    }
}

/// Every directory (the top as "") and file of a dataset, by its manifest path.
pub type Stamps = BTreeMap<String, Stamp>;

/// Why a directory cannot become a dataset (or a check stopped). The text is for users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("{0}")]
    Refused(String),
    #[error("cancelled")]
    Cancelled,
}

fn refused(msg: impl Into<String>) -> ScanError {
    ScanError::Refused(msg.into())
}

/// A file's whole hash and its chunk hashes.
type Hashes = (String, Vec<String>);

/// A file found by the walk, before hashing.
struct Found {
    path: String,
    size: u64,
    mode: u32,
}

/// Builds the manifest of the directory `top` (any descriptor of it). `shown` prefixes paths
/// in messages (the path as the user wrote it).
pub fn scan(
    top: &OwnedFd,
    shown: &str,
    progress: &ScanProgress,
) -> Result<(Manifest, Stamps), ScanError> {
    let (mut dirs, found, stamps) = walk(top, shown)?;
    progress
        .total_files
        .store(found.len() as u64, Ordering::Relaxed);
    progress
        .total_bytes
        .store(found.iter().map(|f| f.size).sum(), Ordering::Relaxed);
    let hashed = hash_all(top, shown, &found, progress)?;
    let (_, _, after) = walk(top, shown)?;
    if let Some(what) = first_difference(&stamps, &after) {
        return Err(refused(format!(
            "{shown}/{what} changed while it was scanned; register it again once nothing writes to it"
        )));
    }
    let mut files: Vec<ManifestFile> = found
        .into_iter()
        .zip(hashed)
        .map(|(f, (hash, chunks))| ManifestFile {
            path: f.path,
            size: f.size,
            mode: f.mode,
            hash,
            chunks,
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        chunk_size: CHUNK_SIZE,
        dirs,
        files,
    };
    manifest
        .validate()
        .map_err(|e| refused(format!("{shown}: {e}")))?;
    Ok((manifest, stamps))
}

/// What changed below `top` since `stamps` were taken, as a user reads it; `None` when
/// nothing did.
pub fn changed_since(top: &OwnedFd, stamps: &Stamps) -> Option<String> {
    match walk(top, "") {
        Ok((_, _, now)) => first_difference(stamps, &now),
        Err(e) => Some(e.to_string().trim_start_matches('/').to_string()),
    }
}

/// The first path (in order) that is in one walk and not the other, or stamped differently.
fn first_difference(before: &Stamps, after: &Stamps) -> Option<String> {
    let gone = before
        .iter()
        .find(|(path, stamp)| after.get(*path) != Some(stamp));
    let new = after.keys().find(|path| !before.contains_key(*path));
    let shown = |path: &str| {
        if path.is_empty() {
            ".".to_string()
        } else {
            path.to_string()
        }
    };
    match (gone, new) {
        (Some((a, _)), Some(b)) => Some(shown(a.min(b))),
        (Some((a, _)), None) => Some(shown(a)),
        (None, Some(b)) => Some(shown(b)),
        (None, None) => None,
    }
}

fn name_of<'a>(raw: &'a [u8], parent: &str, shown: &str) -> Result<&'a str, ScanError> {
    std::str::from_utf8(raw).map_err(|_| {
        refused(format!(
            "{shown}/{parent}{}: the name is not UTF-8; rename it",
            String::from_utf8_lossy(raw)
        ))
    })
}

/// Lists every directory and regular file below `top`, refusing anything else.
fn walk(top: &OwnedFd, shown: &str) -> Result<(Vec<ManifestDir>, Vec<Found>, Stamps), ScanError> {
    let cannot =
        |what: &str, e: nix::Error| refused(format!("{shown}/{what}: {}", fsx::describe(e)));
    let first =
        fsx::open_listable_beneath(top.as_fd(), Path::new("")).map_err(|e| cannot("", e))?;
    let mut stamps = Stamps::new();
    let top_stat = nix::sys::stat::fstat(first.as_fd()).map_err(|e| cannot("", e))?;
    stamps.insert(String::new(), Stamp::of(&top_stat));
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    // (open directory, its path relative to the top with a trailing '/', or "" for the top)
    let mut stack: Vec<(OwnedFd, String)> = vec![(first, String::new())];
    while let Some((fd, prefix)) = stack.pop() {
        let dup = fd
            .try_clone()
            .map_err(|e| refused(format!("{shown}/{prefix}: {e}")))?;
        let mut dir = Dir::from_fd(dup).map_err(|e| cannot(&prefix, e))?;
        for entry in dir.iter() {
            let entry = entry.map_err(|e| cannot(&prefix, e))?;
            let raw = entry.file_name().to_bytes();
            if raw == b"." || raw == b".." {
                continue;
            }
            let name = name_of(raw, &prefix, shown)?;
            let rel = format!("{prefix}{name}");
            // The entry's type hint is not trusted: every entry is stat'ed without following it.
            let st = nix::sys::stat::fstatat(fd.as_fd(), raw, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| cannot(&rel, e))?;
            let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
            let mode = st.st_mode & 0o7777;
            stamps.insert(rel.clone(), Stamp::of(&st));
            match kind {
                SFlag::S_IFDIR => {
                    let child = nix::fcntl::openat(
                        fd.as_fd(),
                        raw,
                        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| cannot(&rel, e))?;
                    dirs.push(ManifestDir {
                        path: rel.clone(),
                        mode: mode & 0o777,
                    });
                    stack.push((child, format!("{rel}/")));
                }
                SFlag::S_IFREG => {
                    if mode & 0o6000 != 0 {
                        return Err(refused(format!(
                            "{shown}/{rel} has the set-uid or set-gid bit; a dataset never carries one (chmod ug-s it first)"
                        )));
                    }
                    files.push(Found {
                        path: rel,
                        size: st.st_size as u64,
                        mode: mode & 0o777,
                    });
                }
                other => {
                    let what = match other {
                        SFlag::S_IFLNK => "a symbolic link",
                        SFlag::S_IFCHR | SFlag::S_IFBLK => "a device",
                        SFlag::S_IFIFO => "a FIFO",
                        SFlag::S_IFSOCK => "a socket",
                        _ => "not a regular file",
                    };
                    return Err(refused(format!(
                        "{shown}/{rel} is {what}; a dataset holds regular files and directories only (links are refused, never followed)"
                    )));
                }
            }
        }
    }
    Ok((dirs, files, stamps))
}

/// Hashes every file, on a few threads (one file each at a time).
fn hash_all(
    top: &OwnedFd,
    shown: &str,
    found: &[Found],
    progress: &ScanProgress,
) -> Result<Vec<(String, Vec<String>)>, ScanError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
        .min(found.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Hashes>>> = Mutex::new(vec![None; found.len()]);
    let failure: Mutex<Option<ScanError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= found.len() || failure.lock().unwrap().is_some() {
                        return;
                    }
                    let f = &found[i];
                    match hash_file(top, &f.path, f.size, progress) {
                        Ok(h) => {
                            results.lock().unwrap()[i] = Some(h);
                            progress.files.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            let e = match e {
                                HashError::Cancelled => ScanError::Cancelled,
                                HashError::Changed => refused(format!(
                                    "{shown}/{}: changed while it was being scanned; register it again when it is stable",
                                    f.path
                                )),
                                HashError::Open(errno) => refused(format!(
                                    "{shown}/{}: {}",
                                    f.path,
                                    fsx::describe(errno)
                                )),
                                HashError::Read(e) => {
                                    refused(format!("{shown}/{}: {e}", f.path))
                                }
                            };
                            failure.lock().unwrap().get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    Ok(results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap_or_default())
        .collect())
}

#[derive(Debug)]
pub(crate) enum HashError {
    Open(nix::Error),
    Read(std::io::Error),
    /// Size or content moved under the reader.
    Changed,
    Cancelled,
}

/// The whole-file hash and, for files over one chunk, the chunk hashes of `rel` below `top`,
/// which must be exactly `size` bytes long.
pub(crate) fn hash_file(
    top: &OwnedFd,
    rel: &str,
    size: u64,
    progress: &ScanProgress,
) -> Result<(String, Vec<String>), HashError> {
    let (mut file, actual) =
        fsx::open_file_beneath(top.as_fd(), Path::new(OsStr::from_bytes(rel.as_bytes())))
            .map_err(HashError::Open)?;
    if actual != size {
        return Err(HashError::Changed);
    }
    let chunked = size > CHUNK_SIZE;
    let mut whole = blake3::Hasher::new();
    let mut chunk = blake3::Hasher::new();
    let mut chunk_len = 0u64;
    let mut chunks = Vec::new();
    // No bigger than the file: zeroing a 1 MiB block for each 8 KiB file was most of the CPU
    // of scanning many small files.
    let mut buf = vec![0u8; READ_BLOCK.min(usize::try_from(size).unwrap_or(READ_BLOCK))];
    let mut done = 0u64;
    while done < size {
        if progress.cancel.load(Ordering::Relaxed) {
            return Err(HashError::Cancelled);
        }
        let want = (size - done)
            .min(READ_BLOCK as u64)
            .min(CHUNK_SIZE - chunk_len) as usize;
        let n = read_full(&mut file, &mut buf[..want]).map_err(HashError::Read)?;
        if n < want {
            return Err(HashError::Changed);
        }
        whole.update(&buf[..n]);
        if chunked {
            chunk.update(&buf[..n]);
            chunk_len += n as u64;
            if chunk_len == CHUNK_SIZE {
                chunks.push(chunk.finalize().to_hex().to_string());
                chunk = blake3::Hasher::new();
                chunk_len = 0;
            }
        }
        done += n as u64;
        progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
    if chunked && chunk_len > 0 {
        chunks.push(chunk.finalize().to_hex().to_string());
    }
    // A file that grew while we read it is not the file we hashed.
    let mut probe = [0u8; 1];
    if read_full(&mut file, &mut probe).map_err(HashError::Read)? != 0 {
        return Err(HashError::Changed);
    }
    Ok((whole.finalize().to_hex().to_string(), chunks))
}

/// Reads until `buf` is full or the end of the file.
pub(crate) fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The outcome of checking a copy against its manifest: paths of bad files (all of them).
pub fn verify(
    top: &OwnedFd,
    manifest: &Manifest,
    progress: &ScanProgress,
) -> Result<Vec<String>, ScanError> {
    progress
        .total_files
        .store(manifest.files.len() as u64, Ordering::Relaxed);
    progress
        .total_bytes
        .store(manifest.total_bytes(), Ordering::Relaxed);
    let mut bad = Vec::new();
    for f in &manifest.files {
        match hash_file(top, &f.path, f.size, progress) {
            Ok((hash, chunks)) if hash == f.hash && chunks == f.chunks => {}
            Ok(_) | Err(HashError::Changed | HashError::Open(_) | HashError::Read(_)) => {
                bad.push(f.path.clone())
            }
            Err(HashError::Cancelled) => return Err(ScanError::Cancelled),
        }
        progress.files.fetch_add(1, Ordering::Relaxed);
    }
    Ok(bad)
}

/// [`verify`] for a directory registered in place, which its owner can write to: besides
/// every file's bytes, that it holds nothing else (no file or directory the manifest does not
/// list, every mode as recorded) and that nothing changed while it was read. When all holds,
/// the directory is the version again, and the stamps it was walked with are answered, to
/// check it against from now on.
pub fn verify_in_place(
    top: &OwnedFd,
    shown: &str,
    manifest: &Manifest,
    progress: &ScanProgress,
) -> Result<(Vec<String>, Option<Stamps>), ScanError> {
    let (dirs, found, before) = walk(top, shown)?;
    let mut bad = verify(top, manifest, progress)?;
    bad.extend(not_as_listed(manifest, &dirs, &found));
    let (_, _, after) = walk(top, shown)?;
    if let Some(what) = first_difference(&before, &after) {
        bad.push(format!("{what} (changed while it was verified)"));
    }
    bad.sort();
    bad.dedup();
    let stamps = bad.is_empty().then_some(before);
    Ok((bad, stamps))
}

/// Paths found that the manifest does not list, or lists with another mode (or as the other
/// kind); files the manifest lists and the walk did not find are left to [`verify`].
fn not_as_listed(manifest: &Manifest, dirs: &[ManifestDir], found: &[Found]) -> Vec<String> {
    let listed_dirs: BTreeMap<&str, u32> = manifest
        .dirs
        .iter()
        .map(|d| (d.path.as_str(), d.mode))
        .collect();
    let listed_files: BTreeMap<&str, u32> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.mode))
        .collect();
    let dirs = dirs
        .iter()
        .filter(|d| listed_dirs.get(d.path.as_str()) != Some(&d.mode))
        .map(|d| d.path.clone());
    let files = found
        .iter()
        .filter(|f| listed_files.get(f.path.as_str()) != Some(&f.mode))
        .map(|f| f.path.clone());
    dirs.chain(files).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scan_dir(dir: &Path) -> Result<Manifest, ScanError> {
        let fd = fsx::open_root(dir).unwrap();
        scan(&fd, "ds", &ScanProgress::default()).map(|(m, _)| m)
    }

    /// `ds/sub/a.txt` and `ds/b.txt` in a temporary directory (kept while the first is held),
    /// the path of `ds`, and `ds` opened.
    fn two_files() -> (tempfile::TempDir, std::path::PathBuf, OwnedFd) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ds");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.txt"), "alpha").unwrap();
        std::fs::write(dir.join("b.txt"), "bravo").unwrap();
        let fd = fsx::open_root(&dir).unwrap();
        (tmp, dir, fd)
    }

    #[test]
    fn an_in_place_directory_verifies_again_only_when_it_holds_exactly_the_version() {
        use std::os::unix::fs::PermissionsExt;
        let (_tmp, dir, fd) = two_files();
        let (manifest, stamps) = scan(&fd, "ds", &ScanProgress::default()).unwrap();
        let check = || verify_in_place(&fd, "ds", &manifest, &ScanProgress::default()).unwrap();

        // Rewritten with the same bytes: the stamps differ, the version is intact, and the
        // new stamps are answered.
        std::fs::write(dir.join("sub/a.txt"), "alpha").unwrap();
        assert!(changed_since(&fd, &stamps).is_some());
        let (bad, fresh) = check();
        assert!(bad.is_empty(), "{bad:?}");
        let fresh = fresh.expect("stamps of the intact version");
        assert_eq!(changed_since(&fd, &fresh), None);

        // Other bytes, a file or a directory too many, another mode: not the version.
        std::fs::write(dir.join("sub/a.txt"), "ALPHA").unwrap();
        assert_eq!(check(), (vec!["sub/a.txt".to_string()], None));
        std::fs::write(dir.join("sub/a.txt"), "alpha").unwrap();
        std::fs::write(dir.join("extra.txt"), "").unwrap();
        std::fs::create_dir(dir.join("more")).unwrap();
        assert_eq!(
            check(),
            (vec!["extra.txt".to_string(), "more".to_string()], None)
        );
        std::fs::remove_file(dir.join("extra.txt")).unwrap();
        std::fs::remove_dir(dir.join("more")).unwrap();
        let recorded = std::fs::metadata(dir.join("b.txt")).unwrap().permissions();
        std::fs::set_permissions(dir.join("b.txt"), std::fs::Permissions::from_mode(0o604))
            .unwrap();
        assert_eq!(check(), (vec!["b.txt".to_string()], None));
        std::fs::set_permissions(dir.join("b.txt"), recorded).unwrap();
        assert!(check().0.is_empty());
    }

    #[test]
    fn a_write_an_addition_or_a_replacement_is_seen_as_a_change() {
        let (_tmp, dir, fd) = two_files();
        let (_, stamps) = scan(&fd, "ds", &ScanProgress::default()).unwrap();
        assert_eq!(stamps.len(), 4, "{stamps:?}");
        assert_eq!(changed_since(&fd, &stamps), None);
        // Reading changes nothing.
        std::fs::read(dir.join("sub/a.txt")).unwrap();
        assert_eq!(changed_since(&fd, &stamps), None);

        // The same size, other bytes.
        std::fs::write(dir.join("sub/a.txt"), "ALPHA").unwrap();
        assert_eq!(changed_since(&fd, &stamps).as_deref(), Some("sub/a.txt"));
        let (_, stamps) = scan(&fd, "ds", &ScanProgress::default()).unwrap();

        // A file added: its directory changes, and the new path is not in the stamps.
        std::fs::write(dir.join("sub/new.txt"), "new").unwrap();
        assert_eq!(changed_since(&fd, &stamps).as_deref(), Some("sub"));
        std::fs::remove_file(dir.join("sub/new.txt")).unwrap();
        let (_, stamps) = scan(&fd, "ds", &ScanProgress::default()).unwrap();

        // Replaced by another file of the same content, renamed over it.
        std::fs::write(dir.join("b.tmp"), "bravo").unwrap();
        std::fs::rename(dir.join("b.tmp"), dir.join("b.txt")).unwrap();
        assert_eq!(changed_since(&fd, &stamps).as_deref(), Some("."));
        let (_, stamps) = scan(&fd, "ds", &ScanProgress::default()).unwrap();

        // A link where a file was: the walk refuses it, and says where.
        std::fs::remove_file(dir.join("b.txt")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("b.txt")).unwrap();
        let seen = changed_since(&fd, &stamps).unwrap();
        assert!(seen.contains("b.txt is a symbolic link"), "{seen}");
    }

    #[test]
    fn files_dirs_modes_and_chunks_are_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("b/empty")).unwrap();
        std::fs::write(d.join("a.txt"), b"hello").unwrap();
        std::fs::set_permissions(d.join("a.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
        let big: Vec<u8> = (0..CHUNK_SIZE * 2 + 3).map(|i| (i % 251) as u8).collect();
        std::fs::write(d.join("b/big.bin"), &big).unwrap();
        std::fs::write(d.join("b/zero"), b"").unwrap();
        std::fs::set_permissions(d.join("b"), std::fs::Permissions::from_mode(0o2750)).unwrap();

        let m = scan_dir(d).unwrap();
        let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a.txt", "b/big.bin", "b/zero"]);
        let dirs: Vec<(&str, u32)> = m.dirs.iter().map(|d| (d.path.as_str(), d.mode)).collect();
        // The directory's set-gid bit is dropped, not recorded.
        assert_eq!(dirs, [("b", 0o750), ("b/empty", 0o755 & !umask())]);
        let a = &m.files[0];
        assert_eq!((a.size, a.mode), (5, 0o640));
        assert_eq!(a.hash, blake3::hash(b"hello").to_hex().to_string());
        assert!(a.chunks.is_empty());
        let b = &m.files[1];
        assert_eq!(b.chunks.len(), 3);
        assert_eq!(b.hash, blake3::hash(&big).to_hex().to_string());
        assert_eq!(
            b.chunks[2],
            blake3::hash(&big[2 * CHUNK_SIZE as usize..])
                .to_hex()
                .to_string()
        );
        assert_eq!(m.files[2].hash, blake3::hash(b"").to_hex().to_string());
        m.validate().unwrap();
        // Same content, same id.
        assert_eq!(scan_dir(d).unwrap().id(), m.id());
    }

    fn umask() -> u32 {
        let probe = tempfile::tempdir().unwrap();
        let p = probe.path().join("d");
        std::fs::create_dir(&p).unwrap();
        0o777 & !std::fs::metadata(&p).unwrap().permissions().mode()
    }

    #[test]
    fn links_devices_fifos_and_set_id_files_are_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("sub/link")).unwrap();
        let err = scan_dir(d).unwrap_err().to_string();
        assert!(err.contains("sub/link is a symbolic link"), "{err}");
        std::fs::remove_file(d.join("sub/link")).unwrap();

        nix::unistd::mkfifo(&d.join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let err = scan_dir(d).unwrap_err().to_string();
        assert!(err.contains("fifo is a FIFO"), "{err}");
        std::fs::remove_file(d.join("fifo")).unwrap();

        std::fs::write(d.join("tool"), b"x").unwrap();
        std::fs::set_permissions(d.join("tool"), std::fs::Permissions::from_mode(0o4755)).unwrap();
        let err = scan_dir(d).unwrap_err().to_string();
        assert!(err.contains("tool has the set-uid"), "{err}");
        std::fs::remove_file(d.join("tool")).unwrap();
        assert!(scan_dir(d).is_ok());
    }

    #[test]
    fn a_linked_top_directory_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("real"), tmp.path().join("alias")).unwrap();
        assert!(fsx::open_root(&tmp.path().join("alias")).is_err());
        let root = fsx::open_root(tmp.path()).unwrap();
        assert!(fsx::open_dir_beneath(root.as_fd(), Path::new("alias")).is_err());
        assert!(fsx::open_dir_beneath(root.as_fd(), Path::new("real")).is_ok());
        assert!(fsx::open_dir_beneath(root.as_fd(), Path::new("../")).is_err());
    }

    #[test]
    fn verify_names_damaged_and_missing_files() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("a"), b"aaaa").unwrap();
        std::fs::write(d.join("b"), b"bbbb").unwrap();
        std::fs::write(d.join("c"), b"cccc").unwrap();
        let m = scan_dir(d).unwrap();
        let fd = fsx::open_root(d).unwrap();
        assert!(
            verify(&fd, &m, &ScanProgress::default())
                .unwrap()
                .is_empty()
        );
        std::fs::write(d.join("a"), b"aaab").unwrap();
        std::fs::remove_file(d.join("c")).unwrap();
        assert_eq!(
            verify(&fd, &m, &ScanProgress::default()).unwrap(),
            vec!["a".to_string(), "c".to_string()]
        );
    }
}
