//! File-system helpers of the dataset store: opening below a root without ever following a
//! link (the same `openat2` discipline as bind mounts, see [`crate::policy`]), atomic small
//! writes, free space, and the boot id that tells whether the page cache survived.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{Mode, SFlag};

/// The resolution rules of every open below a root: never above the starting directory,
/// never through a symbolic or magic link.
fn beneath(flags: OFlag) -> OpenHow {
    OpenHow::new().flags(flags | OFlag::O_CLOEXEC).resolve(
        ResolveFlag::RESOLVE_BENEATH
            | ResolveFlag::RESOLVE_NO_SYMLINKS
            | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    )
}

/// `rel` as `openat2` wants it: the starting directory itself when empty.
fn or_dot(rel: &Path) -> &Path {
    if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    }
}

/// Opens a configured root (itself not a link) as an `O_PATH` directory.
pub fn open_root(path: &Path) -> nix::Result<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
}

/// A directory below `root`, as an `O_PATH` descriptor (for bind mounts and further opens).
pub fn open_dir_beneath(root: BorrowedFd<'_>, rel: &Path) -> nix::Result<OwnedFd> {
    nix::fcntl::openat2(
        root,
        or_dot(rel),
        beneath(OFlag::O_PATH | OFlag::O_DIRECTORY),
    )
}

/// A directory below `root`, readable (to list it).
pub fn open_listable_beneath(root: BorrowedFd<'_>, rel: &Path) -> nix::Result<OwnedFd> {
    nix::fcntl::openat2(
        root,
        or_dot(rel),
        beneath(OFlag::O_RDONLY | OFlag::O_DIRECTORY),
    )
}

/// A regular file below `root`, opened for reading, with its size (from the `fstat` that
/// checks its type: serving many small files, a second one per file was measurable).
/// `O_NONBLOCK` so that a FIFO swapped in after a check cannot block the agent; anything but a
/// regular file is `EINVAL`.
pub fn open_file_beneath(root: BorrowedFd<'_>, rel: &Path) -> nix::Result<(File, u64)> {
    let fd = nix::fcntl::openat2(root, rel, beneath(OFlag::O_RDONLY | OFlag::O_NONBLOCK))?;
    let st = nix::sys::stat::fstat(fd.as_fd())?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(Errno::EINVAL);
    }
    Ok((File::from(fd), u64::try_from(st.st_size).unwrap_or(0)))
}

/// Writes a small file so that readers see the old or the new content, never a mix, and a
/// crash leaves one of them: temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("no parent directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

/// Creates a directory (and its parents) owned by the agent, mode 0700.
pub fn private_dir(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// Free and total bytes of the filesystem holding `path`.
// fsblkcnt_t and friends are not u64 on every target.
#[allow(clippy::unnecessary_cast)]
pub fn disk_space(path: &Path) -> Option<(u64, u64)> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    let frag = st.fragment_size() as u64;
    Some((
        st.blocks_available() as u64 * frag,
        st.blocks() as u64 * frag,
    ))
}

/// This boot's id: data written (not yet synced) before a crash of the agent is still in the
/// page cache unless the machine itself went down, which changes this id.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Has the kernel start writing `len` bytes of `file` from `offset` to disk now, without
/// waiting for it. A copy written faster than the disk otherwise piles up in the page cache
/// until the kernel's background threshold (a tenth of memory) and then all of it waits for
/// the final sync; started as each chunk lands, the disk works while the network does, the
/// final sync has little left, and a GPU host's memory does not fill with dirty pages that
/// would stall its other writers.
///
/// `sync_file_range` would say it directly but is not in our safe wrappers (the workspace
/// forbids `unsafe`); Linux's `POSIX_FADV_DONTNEED` starts the same non-blocking writeback
/// of the range's dirty pages first, then drops what is already clean (pages still being
/// written stay cached; a copy nobody reads yet can spare them). Advisory: an error only
/// means the final sync does the work.
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    if let Err(e) = nix::fcntl::posix_fadvise(
        file,
        offset,
        len,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    ) {
        tracing::debug!(error = %e, "could not start writeback early");
    }
}

/// `errno` as a short phrase for messages.
pub fn describe(e: Errno) -> &'static str {
    match e {
        Errno::ELOOP | Errno::EXDEV => "goes through a symbolic link",
        Errno::ENOENT => "does not exist",
        Errno::ENOTDIR => "is not a directory",
        Errno::EINVAL => "is not a regular file",
        Errno::EACCES | Errno::EPERM => "is not readable by the agent",
        other => other.desc(),
    }
}

/// The process's umask (from `/proc/self/status`, read once: `umask(2)` can only be read by
/// setting it, which would race with other threads creating files). `None` when unknown.
pub fn umask() -> Option<u32> {
    static UMASK: std::sync::LazyLock<Option<u32>> = std::sync::LazyLock::new(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let value = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(value.trim(), 8).ok()
    });
    *UMASK
}
