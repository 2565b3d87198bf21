//! The copy engine: makes a complete, verified copy of a manifest in the partial directory,
//! then publishes it with one rename.
//!
//! Order of work: what the journal says is done is kept (re-hashed first if the machine
//! rebooted since); empty files are created; files whose bytes are already on this host are
//! hard-linked from a copied replica (or copied and re-verified from one registered in place);
//! the rest comes from peers over `streams` parallel requests: small files in batches
//! (`POST /v1/blobs`), large files chunk by chunk (ranged `GET /v1/blobs/{hash}`). Every chunk
//! is hashed and compared with the manifest *before* it is written; a chunk that does not match
//! is counted, logged with its source, and asked of the next source. A piece no source can
//! provide intact fails the copy, which is then never mountable. Duplicate files within the
//! manifest are fetched once and copied locally.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use maison_agent_api::datasets::{BlobBatch, MAX_BATCH_BLOBS, Manifest, ManifestFile};
use maison_agent_api::{AgentClient, ClientError};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::direct::{self, BufPool};
use super::index::{BlobIndex, manifest_path};
use super::journal::{Journal, Piece, WHOLE_FILE};
use super::rate::RateCap;
use super::{DatasetStats, FetchProgress, Store, fsx, short};

/// Most files in one batch request.
const BATCH_FILES: usize = MAX_BATCH_BLOBS;
/// Most bytes in one batch request.
const BATCH_BYTES: u64 = 16 << 20;
/// Attempts of one piece at one source after transport errors (a corrupt answer is never
/// asked again of the same source).
const TRIES_PER_SOURCE: u8 = 2;

/// A peer to pull from.
#[derive(Debug, Clone)]
pub struct Source {
    pub host: String,
    pub client: AgentClient,
}

#[derive(Debug)]
pub struct FetchJob {
    pub key: String,
    pub id: String,
    pub manifest: Arc<Manifest>,
    pub store: Store,
    pub sources: Vec<Source>,
    pub progress: Arc<FetchProgress>,
    pub cancel: CancellationToken,
    pub streams: usize,
    pub recv_cap: Arc<RateCap>,
    pub index: Arc<BlobIndex>,
    pub stats: Arc<DatasetStats>,
}

#[derive(Debug)]
pub enum FetchError {
    Cancelled,
    Failed(String),
}

fn failed(what: &str, e: impl std::fmt::Display) -> FetchError {
    FetchError::Failed(format!("{what}: {e}"))
}

/// What is already in the partial directory, by the journal.
#[derive(Debug, Default)]
struct Done {
    whole: HashSet<u32>,
    chunks: HashSet<(u32, u32)>,
}

impl Done {
    fn from_pieces(pieces: &[Piece]) -> Done {
        let mut d = Done::default();
        for &(f, c) in pieces {
            if c == WHOLE_FILE {
                d.whole.insert(f);
            } else {
                d.chunks.insert((f, c));
            }
        }
        d
    }

    fn file_complete(&self, i: usize, f: &ManifestFile) -> bool {
        self.whole.contains(&(i as u32))
            || (!f.chunks.is_empty()
                && (0..f.chunks.len() as u32).all(|c| self.chunks.contains(&(i as u32, c))))
    }

    fn present_bytes(&self, i: usize, f: &ManifestFile) -> u64 {
        if self.file_complete(i, f) {
            return f.size;
        }
        (0..f.chunks.len())
            .filter(|&c| self.chunks.contains(&(i as u32, c as u32)))
            .map(|c| {
                let r = f.chunk_range(c);
                r.end - r.start
            })
            .sum()
    }
}

/// Bytes a copy would still add to the disk: what is neither in the partial directory already
/// nor hard-linkable from a copied replica here. Used to refuse a copy that would cross the
/// free-space margin before it starts. `id` is the manifest's, already checked: computing it
/// again would serialize and hash the whole manifest (tens of milliseconds for 100,000 files).
pub fn space_needed(
    store: &Store,
    id: &str,
    manifest: &Manifest,
    index: &BlobIndex,
    key: &str,
) -> u64 {
    let done = Journal::read(&store.journal(id))
        .ok()
        .flatten()
        .map(|r| Done::from_pieces(&r.pieces))
        .unwrap_or_default();
    manifest
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let present = done.present_bytes(i, f);
            let linkable = present == 0
                && index
                    .find(&f.hash, Some(key))
                    .is_some_and(|l| l.root.copied && l.mode == f.mode);
            if linkable { 0 } else { f.size - present }
        })
        .sum()
}

/// One unit of network work.
#[derive(Debug, Clone)]
enum Work {
    /// Small files (indexes into the manifest), fetched in one batch request.
    Batch(Vec<usize>),
    /// One chunk of a large file.
    Chunk(usize, usize),
}

#[derive(Debug)]
struct Item {
    work: Work,
    /// Spreads items over sources: the first source tried is `seq % sources`.
    seq: usize,
    tries: Vec<u8>,
    corrupt: Vec<bool>,
    last_error: Option<String>,
}

impl Item {
    fn new(work: Work, seq: usize, sources: usize) -> Item {
        Item {
            work,
            seq,
            tries: vec![0; sources],
            corrupt: vec![false; sources],
            last_error: None,
        }
    }

    fn retry(&self, work: Work) -> Item {
        Item {
            work,
            seq: self.seq,
            tries: self.tries.clone(),
            corrupt: self.corrupt.clone(),
            last_error: self.last_error.clone(),
        }
    }

    /// The next source worth asking, starting from this item's own, then the others in turn.
    fn next_source(&self) -> Option<usize> {
        let n = self.tries.len();
        // All sources once before any twice.
        for round in 1..=TRIES_PER_SOURCE {
            for k in 0..n {
                let s = (self.seq + k) % n;
                if !self.corrupt[s] && self.tries[s] < round {
                    return Some(s);
                }
            }
        }
        None
    }
}

/// The work queue shared by the streams. It is filled while the copy is planned, so the first
/// batches travel while the rest of a large manifest is still being looked at.
#[derive(Debug, Default)]
struct Queue {
    items: Mutex<VecDeque<Item>>,
    in_flight: AtomicUsize,
    /// Planning is over: an empty queue with nothing in flight means the copy is done.
    planned: AtomicBool,
    /// Items queued so far (each item's `seq`).
    queued: AtomicUsize,
    notify: Notify,
    fatal: Mutex<Option<String>>,
}

impl Queue {
    /// The next item, or `None` when everything is done (or the copy failed).
    async fn next(&self, cancel: &CancellationToken) -> Option<Item> {
        loop {
            let notified = self.notify.notified();
            {
                if self.fatal.lock().unwrap().is_some() {
                    return None;
                }
                let mut q = self.items.lock().unwrap();
                if let Some(item) = q.pop_front() {
                    self.in_flight.fetch_add(1, Ordering::SeqCst);
                    return Some(item);
                }
                if self.in_flight.load(Ordering::SeqCst) == 0 && self.planned.load(Ordering::SeqCst)
                {
                    return None;
                }
            }
            tokio::select! {
                _ = notified => {}
                _ = cancel.cancelled() => return None,
            }
        }
    }

    /// An item is finished; `again` are what must be retried.
    fn finish(&self, again: Vec<Item>) {
        self.items.lock().unwrap().extend(again);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Queues new work (from the planning, which runs while the streams already take items).
    fn push(&self, work: Work, sources: usize) {
        let seq = self.queued.fetch_add(1, Ordering::Relaxed);
        self.items
            .lock()
            .unwrap()
            .push_back(Item::new(work, seq, sources));
        self.notify.notify_waiters();
    }

    /// Nothing more will be planned.
    fn planned(&self) {
        self.planned.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn fail(&self, why: String) {
        self.fatal.lock().unwrap().get_or_insert(why);
        self.notify.notify_waiters();
    }

    /// Items not finished: waiting, or taken and not given back.
    fn left(&self) -> usize {
        self.items.lock().unwrap().len() + self.in_flight.load(Ordering::SeqCst)
    }
}

/// Joins the copy's streams. A stream that panicked took its item with it, never finished:
/// the other streams would wait for that item forever, or, had every stream panicked, the
/// copy would go on to publish. So a panic fails the copy, and the others stop at their next
/// item.
async fn join_streams(queue: &Queue, streams: &mut tokio::task::JoinSet<()>) {
    while let Some(joined) = streams.join_next().await {
        let Err(e) = joined else { continue };
        if !e.is_panic() {
            continue;
        }
        let panic = e.into_panic();
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        tracing::error!(error = %why, "a copy stream panicked");
        queue.fail(format!("an internal error stopped the copy: {why}"));
    }
}

/// Everything the streams share.
struct Ctx {
    job: FetchJob,
    partial: PathBuf,
    journal: Journal,
    queue: Queue,
    /// Chunks still missing per large file (to count a file present when its last arrives).
    remaining: Vec<AtomicU32>,
    /// One write at a time: concurrent writers into one file contend for its inode lock, and
    /// the kernel spins for it, which on a small host costs more CPU than the writes.
    disk: tokio::sync::Semaphore,
    /// Buffers for chunks on their way to disk, one per stream at a time.
    buffers: Arc<BufPool>,
    /// Chunks are written with direct I/O until the file system refuses it.
    direct: AtomicBool,
    /// Batches of small files write distinct files, so they can be written side by side: on
    /// many small files creating inodes is what the copy waits for, and it is CPU in the kernel.
    small_writers: tokio::sync::Semaphore,
    /// Files this run created whole, with their size and mode: publishing need not look at
    /// them again (a `stat` per file was a tenth of a small-file copy).
    created: Vec<AtomicBool>,
}

impl Ctx {
    fn file(&self, i: usize) -> &ManifestFile {
        &self.job.manifest.files[i]
    }

    fn path(&self, i: usize) -> PathBuf {
        self.partial.join(manifest_path(&self.file(i).path))
    }

    fn piece_done(&self, pieces: &[Piece], bytes: u64, files: u64) -> io::Result<()> {
        self.journal.record(pieces)?;
        let p = &self.job.progress;
        p.present_bytes.fetch_add(bytes, Ordering::Relaxed);
        p.present_files.fetch_add(files, Ordering::Relaxed);
        Ok(())
    }
}

/// Runs a copy to completion (or failure, or cancellation).
pub async fn run(job: FetchJob) -> Result<(), FetchError> {
    let started = std::time::Instant::now();
    let partial = job.store.partial(&job.id);
    let journal_path = job.store.journal(&job.id);
    // A fresh copy has nothing stale to clear away (saves a failed unlink per file).
    let fresh = !partial.exists();
    fsx::private_dir(&partial).map_err(|e| failed("creating the partial directory", e))?;
    *job.progress.sources.lock().unwrap() = job.sources.iter().map(|s| s.host.clone()).collect();
    let manifest = job.manifest.clone();
    job.progress
        .total_bytes
        .store(manifest.total_bytes(), Ordering::Relaxed);
    job.progress
        .total_files
        .store(manifest.files.len() as u64, Ordering::Relaxed);

    // What is already here, trusted or re-checked.
    let (done, journal) = {
        let partial = partial.clone();
        let manifest = manifest.clone();
        let journal_path = journal_path.clone();
        blocking(move || recover(&partial, &journal_path, &manifest)).await?
    };
    let ctx = Arc::new(Ctx {
        remaining: manifest
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let missing = (0..f.chunks.len() as u32)
                    .filter(|&c| !done.chunks.contains(&(i as u32, c)))
                    .count();
                AtomicU32::new(missing as u32)
            })
            .collect(),
        job,
        partial,
        journal,
        queue: Queue::default(),
        disk: tokio::sync::Semaphore::new(1),
        buffers: Arc::default(),
        direct: AtomicBool::new(true),
        small_writers: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
        created: manifest
            .files
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect(),
    });
    let p = &ctx.job.progress;
    for (i, f) in manifest.files.iter().enumerate() {
        p.present_bytes
            .fetch_add(done.present_bytes(i, f), Ordering::Relaxed);
        if done.file_complete(i, f) {
            p.present_files.fetch_add(1, Ordering::Relaxed);
        }
    }

    // The streams start first and take the network work as the planning queues it; the
    // planning does the local work itself: directories, empty files, hard links and local
    // copies. (Planning 100,000 small files takes about a tenth of a second: time the network
    // need not wait for.)
    let mut streams = tokio::task::JoinSet::new();
    for _ in 0..ctx.job.streams.max(1) {
        let ctx = ctx.clone();
        streams.spawn(async move { stream(ctx).await });
    }
    let planning = {
        let ctx = ctx.clone();
        blocking(move || prepare(&ctx, &done, fresh)).await
    };
    // Whatever happened, the streams must learn that nothing more comes; they are joined, not
    // dropped, even after a failure, so that no batch is still being written into the partial
    // directory once the copy has returned (a new request may resume it at once).
    ctx.queue.planned();
    let dups = match planning {
        Ok(dups) => dups,
        Err(e) => {
            ctx.queue.fail(match &e {
                FetchError::Failed(why) => why.clone(),
                FetchError::Cancelled => "cancelled".into(),
            });
            join_streams(&ctx.queue, &mut streams).await;
            return Err(e);
        }
    };
    tracing::debug!(replica = %ctx.job.key, pieces = ctx.queue.queued.load(Ordering::Relaxed), duplicates = dups.len(), ms = started.elapsed().as_millis() as u64, "copy planned");
    join_streams(&ctx.queue, &mut streams).await;
    if ctx.job.cancel.is_cancelled() {
        return Err(FetchError::Cancelled);
    }
    if let Some(why) = ctx.queue.fatal.lock().unwrap().clone() {
        return Err(FetchError::Failed(why));
    }
    // The files were made at their full size before their pieces came: one never fetched
    // would be published as a run of zeros.
    let left = ctx.queue.left();
    if left > 0 {
        return Err(FetchError::Failed(format!(
            "the copy stopped with {left} pieces not fetched"
        )));
    }

    tracing::debug!(replica = %ctx.job.key, ms = started.elapsed().as_millis() as u64, "network part done");

    // Duplicates, then publish.
    let ctx2 = ctx.clone();
    blocking(move || {
        for (i, first) in dups {
            std::fs::copy(ctx2.path(first), ctx2.path(i))
                .map_err(|e| failed(&format!("copying {}", ctx2.file(i).path), e))?;
            ctx2.piece_done(&[(i as u32, WHOLE_FILE)], ctx2.file(i).size, 1)
                .map_err(|e| failed("writing the journal", e))?;
        }
        publish(&ctx2)
    })
    .await?;
    tracing::debug!(replica = %ctx.job.key, ms = started.elapsed().as_millis() as u64, "copy published");
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FetchError> + Send + 'static,
) -> Result<T, FetchError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(failed("a copy task crashed", e)))
}

/// Reads the journal. From this boot, it is trusted; from another (or a repair), each piece is
/// re-hashed first, and a file with a bad piece that is linked elsewhere is dropped whole (it
/// must not be written into, another copy shares it).
fn recover(
    partial: &Path,
    journal_path: &Path,
    manifest: &Manifest,
) -> Result<(Done, Journal), FetchError> {
    let boot = fsx::boot_id();
    let recorded = Journal::read(journal_path).map_err(|e| failed("reading the journal", e))?;
    let mut pieces: Vec<Piece> = Vec::new();
    if let Some(r) = recorded {
        let valid = |&(f, c): &Piece| {
            manifest
                .files
                .get(f as usize)
                .is_some_and(|file| c == WHOLE_FILE || (c as usize) < file.chunks.len())
        };
        pieces = r.pieces.into_iter().filter(valid).collect();
        pieces.sort_unstable();
        pieces.dedup();
        // Even a trusted journal is only as good as the files it points at: one deleted or
        // truncated behind the agent's back is fetched again rather than found missing at
        // the end, forever.
        let mut intact: HashMap<u32, bool> = HashMap::new();
        pieces.retain(|&(f, _)| {
            *intact.entry(f).or_insert_with(|| {
                let file = &manifest.files[f as usize];
                std::fs::symlink_metadata(partial.join(manifest_path(&file.path)))
                    .is_ok_and(|m| m.is_file() && m.len() == file.size)
            })
        });
        if r.boot_id != boot {
            let before = pieces.len();
            let mut dropped_files = HashSet::new();
            pieces.retain(|&(f, c)| {
                let file = &manifest.files[f as usize];
                let path = partial.join(manifest_path(&file.path));
                let ok = piece_intact(&path, file, c);
                if !ok {
                    let shared = std::fs::symlink_metadata(&path).is_ok_and(|m| m.nlink() > 1);
                    if shared {
                        dropped_files.insert(f);
                        let _ = std::fs::remove_file(&path);
                    }
                }
                ok
            });
            pieces.retain(|(f, _)| !dropped_files.contains(f));
            tracing::info!(journal = %journal_path.display(), kept = pieces.len(), dropped = before - pieces.len(), "re-checked the pieces of an interrupted copy");
        }
    }
    let journal = Journal::create(journal_path, &boot, &pieces)
        .map_err(|e| failed("writing the journal", e))?;
    Ok((Done::from_pieces(&pieces), journal))
}

fn piece_intact(path: &Path, file: &ManifestFile, chunk: u32) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    if f.metadata().map(|m| m.len()).ok() != Some(file.size) {
        return false;
    }
    let (range, expected) = if chunk == WHOLE_FILE {
        (0..file.size, file.hash.as_str())
    } else {
        (
            file.chunk_range(chunk as usize),
            file.chunk_hash(chunk as usize),
        )
    };
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = range.start;
    while pos < range.end {
        let n = ((range.end - pos) as usize).min(buf.len());
        if f.read_exact_at(&mut buf[..n], pos).is_err() {
            return false;
        }
        hasher.update(&buf[..n]);
        pos += n as u64;
    }
    hasher.finalize().to_hex().as_str() == expected
}

/// Creates directories and empty files, takes what is already on this host, sizes the large
/// files, and queues the network work as it goes; returns the duplicates to copy at the end.
fn prepare(ctx: &Ctx, done: &Done, fresh: bool) -> Result<Vec<(usize, usize)>, FetchError> {
    let m = &ctx.job.manifest;
    let sources = ctx.job.sources.len();
    // Batches of small files, each followed by one chunk of a large file when there are some,
    // so both kinds keep every stream busy.
    let mut chunks: VecDeque<Work> = VecDeque::new();
    let mut batch: Vec<usize> = Vec::new();
    let mut batch_bytes = 0u64;
    let queue_batch = |batch: Vec<usize>, chunks: &mut VecDeque<Work>| {
        ctx.queue.push(Work::Batch(batch), sources);
        if let Some(chunk) = chunks.pop_front() {
            ctx.queue.push(chunk, sources);
        }
    };
    for d in &m.dirs {
        fsx::private_dir(&ctx.partial.join(manifest_path(&d.path)))
            .map_err(|e| failed(&format!("creating directory {}", d.path), e))?;
    }
    let mut first_of_hash: HashMap<&str, usize> = HashMap::new();
    let mut dups = Vec::new();
    let mut empty_files = DirCursor::new(&ctx.partial);
    // Directories made so far: with many small files, asking the kernel for each file's
    // parent again would double the system calls of the whole copy.
    let mut made: HashSet<PathBuf> = HashSet::new();
    for (i, f) in m.files.iter().enumerate() {
        if ctx.job.cancel.is_cancelled() {
            return Err(FetchError::Cancelled);
        }
        let first = *first_of_hash.entry(&f.hash).or_insert(i);
        if done.file_complete(i, f) {
            continue;
        }
        let path = ctx.path(i);
        if let Some(parent) = path.parent()
            && !made.contains(parent)
        {
            fsx::private_dir(parent)
                .map_err(|e| failed(&format!("creating {}", parent.display()), e))?;
            made.insert(parent.to_path_buf());
        }
        let started = (0..f.chunks.len()).any(|c| done.chunks.contains(&(i as u32, c as u32)));
        if !started && !fresh {
            // Whatever is there was never journaled: start clean (it might even be a link to
            // another copy's file, which must never be written into).
            let _ = std::fs::remove_file(&path);
        }
        if f.size == 0 {
            empty_files
                .create_file(&f.path, &[], f.mode)
                .map_err(|e| failed(&format!("creating {}", f.path), e))?;
            ctx.created[i].store(true, Ordering::Relaxed);
            ctx.piece_done(&[(i as u32, WHOLE_FILE)], 0, 1)
                .map_err(|e| failed("writing the journal", e))?;
            continue;
        }
        if first != i {
            dups.push((i, first));
            continue;
        }
        if !started && take_local(ctx, i, f, &path) {
            continue;
        }
        if f.chunks.is_empty() {
            if !batch.is_empty()
                && (batch.len() >= BATCH_FILES || batch_bytes + f.size > BATCH_BYTES)
            {
                queue_batch(std::mem::take(&mut batch), &mut chunks);
                batch_bytes = 0;
            }
            batch.push(i);
            batch_bytes += f.size;
        } else {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .and_then(|file| file.set_len(f.size))
                .map_err(|e| failed(&format!("creating {}", f.path), e));
            file?;
            for c in 0..f.chunks.len() {
                if !done.chunks.contains(&(i as u32, c as u32)) {
                    chunks.push_back(Work::Chunk(i, c));
                }
            }
        }
    }
    if !batch.is_empty() {
        queue_batch(batch, &mut chunks);
    }
    for chunk in chunks {
        ctx.queue.push(chunk, sources);
    }
    Ok(dups)
}

/// The mode a copy gives a file or directory: the manifest's, less write for group and others.
/// A copy belongs to root and is shared by everyone on the host: a directory others could
/// write would let any user swap what the others mount, or plant a link that the agent, as
/// root, would follow when it repairs the copy.
pub fn copy_mode(mode: u32) -> u32 {
    mode & 0o755
}

/// Takes a file from a replica already on this host: a hard link from a copied replica when the
/// mode matches (no bytes move, no space is used), else a copy that is re-hashed (a directory
/// registered in place may have changed since its scan). False when it must come from a peer.
fn take_local(ctx: &Ctx, i: usize, f: &ManifestFile, path: &Path) -> bool {
    let Some(loc) = ctx.job.index.find(&f.hash, Some(&ctx.job.key)) else {
        return false;
    };
    if loc.size != f.size {
        return false;
    }
    if loc.root.copied && loc.mode == f.mode {
        let linked = std::fs::hard_link(loc.absolute(), path).is_ok()
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == f.size);
        if linked {
            return finish_local(ctx, i, f);
        }
        let _ = std::fs::remove_file(path);
    }
    // Copy while hashing: the source is opened below its root without following links.
    let copied = (|| -> io::Result<bool> {
        let (mut src, _) = loc.open().map_err(io::Error::from)?;
        let mut dst = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        let mut hasher = blake3::Hasher::new();
        let mut writer = HashingWriter {
            inner: &mut dst,
            hasher: &mut hasher,
        };
        let n = io::copy(&mut src, &mut writer)?;
        Ok(n == f.size && hasher.finalize().to_hex().as_str() == f.hash)
    })();
    match copied {
        Ok(true) => finish_local(ctx, i, f),
        _ => {
            tracing::warn!(file = %f.path, from = %loc.root.key, "a local copy did not match its hash; fetching it from a peer");
            let _ = std::fs::remove_file(path);
            false
        }
    }
}

fn finish_local(ctx: &Ctx, i: usize, f: &ManifestFile) -> bool {
    if ctx
        .piece_done(&[(i as u32, WHOLE_FILE)], f.size, 1)
        .is_err()
    {
        return false;
    }
    ctx.job
        .progress
        .bytes_linked
        .fetch_add(f.size, Ordering::Relaxed);
    if !f.chunks.is_empty() {
        ctx.remaining[i].store(0, Ordering::Relaxed);
    }
    true
}

struct HashingWriter<'a, W> {
    inner: &'a mut W,
    hasher: &'a mut blake3::Hasher,
}

impl<W: io::Write> io::Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Creates files relative to their directory, kept open from one file to the next: the files
/// of a batch mostly share a directory, and resolving each one's whole path from `/` (the
/// store's own path, then the partial copy's) was a measurable part of copying many small
/// files.
struct DirCursor<'a> {
    partial: &'a Path,
    /// The directory of the last file (manifest form, `""` for the top) and its descriptor.
    current: Option<(&'a str, OwnedFd)>,
}

impl<'a> DirCursor<'a> {
    fn new(partial: &'a Path) -> DirCursor<'a> {
        DirCursor {
            partial,
            current: None,
        }
    }

    /// Creates the small file at manifest path `path` with its final mode (less the umask;
    /// the partial directory is private anyway), so that publishing rarely has to change it.
    fn create_file(&mut self, path: &'a str, bytes: &[u8], mode: u32) -> io::Result<()> {
        use std::io::Write;
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let dir_fd = match &self.current {
            Some((open, fd)) if *open == dir => fd,
            _ => {
                let fd = nix::fcntl::open(
                    &self.partial.join(manifest_path(dir)),
                    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                &self.current.insert((dir, fd)).1
            }
        };
        // The partial directory is the agent's own (0700): no link can be there, and
        // O_NOFOLLOW says so.
        let fd = nix::fcntl::openat(
            dir_fd,
            name,
            OFlag::O_WRONLY
                | OFlag::O_CREAT
                | OFlag::O_TRUNC
                | OFlag::O_CLOEXEC
                | OFlag::O_NOFOLLOW,
            Mode::from_bits_truncate(copy_mode(mode)),
        )?;
        std::fs::File::from(fd).write_all(bytes)
    }
}

/// How one attempt at one source went.
enum Attempt {
    Done,
    /// Some pieces still to do (transport error, or corrupt pieces), and why.
    Again {
        rest: Vec<Work>,
        corrupt: bool,
        /// The source answered that it does not hold the blob.
        absent: bool,
        error: String,
    },
}

/// One of the parallel streams: takes items until none are left.
async fn stream(ctx: Arc<Ctx>) {
    let cancel = ctx.job.cancel.clone();
    while let Some(item) = ctx.queue.next(&cancel).await {
        let Some(s) = item.next_source() else {
            ctx.queue.fail(give_up(&ctx, &item));
            ctx.queue.finish(Vec::new());
            return;
        };
        let attempt = tokio::select! {
            a = attempt(&ctx, &item.work, s) => a,
            _ = cancel.cancelled() => {
                ctx.queue.finish(Vec::new());
                return;
            }
        };
        let again = match attempt {
            Ok(Attempt::Done) => Vec::new(),
            Ok(Attempt::Again {
                rest,
                corrupt,
                absent,
                error,
            }) => {
                let mut next = item.retry(Work::Batch(Vec::new()));
                if corrupt {
                    next.corrupt[s] = true;
                } else if absent {
                    // The source does not have it (404): asking again is pointless.
                    next.tries[s] = TRIES_PER_SOURCE;
                } else {
                    next.tries[s] += 1;
                    // A failing source gets a moment before anyone asks it again.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                next.last_error = Some(format!("{}: {error}", ctx.job.sources[s].host));
                rest.into_iter().map(|w| next.retry(w)).collect()
            }
            Err(fatal) => {
                ctx.queue.fail(fatal);
                Vec::new()
            }
        };
        ctx.queue.finish(again);
    }
}

fn describe_work(ctx: &Ctx, work: &Work) -> String {
    match work {
        Work::Chunk(i, c) => format!("{} (chunk {c})", ctx.file(*i).path),
        Work::Batch(files) => {
            let names: Vec<&str> = files
                .iter()
                .take(3)
                .map(|&i| ctx.file(i).path.as_str())
                .collect();
            let more = if files.len() > 3 {
                format!(" and {} more", files.len() - 3)
            } else {
                String::new()
            };
            format!("{}{more}", names.join(", "))
        }
    }
}

fn give_up(ctx: &Ctx, item: &Item) -> String {
    let bad: Vec<&str> = item
        .corrupt
        .iter()
        .enumerate()
        .filter(|(_, c)| **c)
        .map(|(s, _)| ctx.job.sources[s].host.as_str())
        .collect();
    let what = describe_work(ctx, &item.work);
    if !bad.is_empty() {
        format!(
            "no source has a good copy of {what} of manifest {}: corrupt at {}{}",
            short(&ctx.job.id),
            bad.join(", "),
            item.last_error
                .as_deref()
                .filter(|_| bad.len() < ctx.job.sources.len())
                .map(|e| format!("; others failed ({e})"))
                .unwrap_or_default()
        )
    } else {
        format!(
            "could not get {what} from any source: {}",
            item.last_error.as_deref().unwrap_or("no source answered")
        )
    }
}

/// Reads one response into the right pieces, verifying each before it is kept.
async fn attempt(ctx: &Arc<Ctx>, work: &Work, s: usize) -> Result<Attempt, String> {
    match work {
        Work::Chunk(i, c) => chunk(ctx, *i, *c, s).await,
        Work::Batch(files) if files.is_empty() => Ok(Attempt::Done),
        Work::Batch(files) => batch(ctx, files, s).await,
    }
}

fn again(work: Work, corrupt: bool, error: impl Into<String>) -> Result<Attempt, String> {
    Ok(Attempt::Again {
        rest: vec![work],
        corrupt,
        absent: false,
        error: error.into(),
    })
}

/// A request that failed before any byte: a 404 means the source lacks the blob.
fn refused(work: Work, e: ClientError) -> Result<Attempt, String> {
    let absent = matches!(&e, ClientError::Api { status: 404, .. });
    Ok(Attempt::Again {
        rest: vec![work],
        corrupt: false,
        absent,
        error: e.to_string(),
    })
}

async fn received(ctx: &Ctx, n: usize) {
    ctx.job.recv_cap.take(n).await;
    ctx.job.progress.received(n as u64);
    ctx.job
        .stats
        .bytes_received
        .fetch_add(n as u64, Ordering::Relaxed);
}

fn corrupt_seen(ctx: &Ctx, s: usize, what: &str) {
    ctx.job
        .progress
        .corrupt_chunks
        .fetch_add(1, Ordering::Relaxed);
    ctx.job.stats.corrupt_chunks.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(replica = %ctx.job.key, source = %ctx.job.sources[s].host, piece = %what, "a piece did not match its hash; asking another source");
}

fn client_error(e: ClientError) -> String {
    e.to_string()
}

async fn chunk(ctx: &Arc<Ctx>, i: usize, c: usize, s: usize) -> Result<Attempt, String> {
    let f = ctx.file(i);
    let range = f.chunk_range(c);
    let len = (range.end - range.start) as usize;
    let work = Work::Chunk(i, c);
    let mut body = match ctx.job.sources[s]
        .client
        .blob(&f.hash, Some(range.clone()))
        .await
    {
        Ok(b) => b,
        Err(e) => return again(work, false, client_error(e)),
    };
    // The pieces go into a reused, aligned buffer (hyper gets its buffers back at once) and
    // are written only once the whole chunk has matched its hash.
    let mut buf = ctx.buffers.take(len);
    let mut got = 0usize;
    let mut hasher = blake3::Hasher::new();
    loop {
        let piece = match body.chunk().await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => return again(work, false, client_error(e)),
        };
        received(ctx, piece.len()).await;
        if got + piece.len() > len {
            corrupt_seen(ctx, s, &format!("{} chunk {c}", f.path));
            return again(work, true, "sent more bytes than asked");
        }
        hasher.update(&piece);
        buf.as_mut_slice()[got..got + piece.len()].copy_from_slice(&piece);
        got += piece.len();
    }
    if got < len {
        return again(
            work,
            false,
            format!("the answer ended after {got} of {len} bytes"),
        );
    }
    if hasher.finalize().to_hex().as_str() != f.chunk_hash(c) {
        corrupt_seen(ctx, s, &format!("{} chunk {c}", f.path));
        return again(work, true, "a chunk did not match its hash");
    }
    let path = ctx.path(i);
    let offset = range.start;
    let ctx2 = ctx.clone();
    let _disk = ctx.disk.acquire().await.map_err(|e| e.to_string())?;
    let written = tokio::task::spawn_blocking(move || -> io::Result<()> {
        direct::write_chunk(&path, buf.as_slice(), offset, &ctx2.direct)?;
        // The buffer goes back to the pool before the journal is written.
        drop(buf);
        let complete = ctx2.remaining[i].fetch_sub(1, Ordering::AcqRel) == 1;
        ctx2.piece_done(&[(i as u32, c as u32)], len as u64, u64::from(complete))
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r.map_err(|e| e.to_string()));
    written.map_err(|e| format!("writing {} chunk {c}: {e}", f.path))?;
    Ok(Attempt::Done)
}

async fn batch(ctx: &Arc<Ctx>, files: &[usize], s: usize) -> Result<Attempt, String> {
    let hashes = files.iter().map(|&i| ctx.file(i).hash.clone()).collect();
    let mut body = match ctx.job.sources[s].client.blobs(&BlobBatch { hashes }).await {
        Ok(b) => b,
        Err(e) => return refused(Work::Batch(files.to_vec()), e),
    };
    let mut good: Vec<(usize, Bytes)> = Vec::new();
    let mut corrupt: Vec<usize> = Vec::new();
    let mut cur = 0usize;
    // A file split between two frames is gathered here; one inside a frame is used in place.
    let mut split: Vec<u8> = Vec::new();
    let mut transport: Option<String> = None;
    'read: loop {
        let piece = match body.chunk().await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                transport = Some(client_error(e));
                break;
            }
        };
        received(ctx, piece.len()).await;
        let mut at = 0usize;
        while at < piece.len() {
            let Some(&i) = files.get(cur) else {
                // More than asked: what was verified is kept, the extra is ignored.
                break 'read;
            };
            let f = ctx.file(i);
            let need = f.size as usize - split.len();
            let data = if split.is_empty() && piece.len() - at >= need {
                at += need;
                piece.slice(at - need..at)
            } else {
                let take = need.min(piece.len() - at);
                split.extend_from_slice(&piece[at..at + take]);
                at += take;
                if split.len() as u64 != f.size {
                    continue;
                }
                Bytes::from(std::mem::take(&mut split))
            };
            if blake3::hash(&data).to_hex().as_str() == f.hash {
                good.push((i, data));
            } else {
                corrupt_seen(ctx, s, &f.path);
                corrupt.push(i);
            }
            cur += 1;
        }
    }
    let missing: Vec<usize> = files[cur.min(files.len())..].to_vec();
    if !good.is_empty() {
        let ctx2 = ctx.clone();
        let _writer = ctx
            .small_writers
            .acquire()
            .await
            .map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(move || -> io::Result<()> {
            let mut pieces = Vec::with_capacity(good.len());
            let mut bytes = 0;
            let mut dirs = DirCursor::new(&ctx2.partial);
            for (i, data) in &good {
                let f = ctx2.file(*i);
                dirs.create_file(&f.path, data, f.mode)?;
                ctx2.created[*i].store(true, Ordering::Relaxed);
                pieces.push((*i as u32, WHOLE_FILE));
                bytes += data.len() as u64;
            }
            ctx2.piece_done(&pieces, bytes, pieces.len() as u64)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("writing small files: {e}"))?;
    }
    let mut rest = Vec::new();
    if !corrupt.is_empty() {
        rest.push((Work::Batch(corrupt), true));
    }
    if !missing.is_empty() {
        rest.push((Work::Batch(missing), false));
    }
    match rest.len() {
        0 => Ok(Attempt::Done),
        // Both kinds at once: retry the corrupt files elsewhere and the missing ones too; the
        // source is marked corrupt for all of them (it sent bad bytes in this very answer).
        _ => {
            let corrupt = rest.iter().any(|(_, c)| *c);
            Ok(Attempt::Again {
                absent: false,
                error: if corrupt {
                    "files did not match their hashes".into()
                } else {
                    transport.unwrap_or_else(|| "the answer ended early".into())
                },
                rest: rest.into_iter().map(|(w, _)| w).collect(),
                corrupt,
            })
        }
    }
}

/// Sets modes, syncs, and renames the partial directory to its final name in one step.
fn publish(ctx: &Ctx) -> Result<(), FetchError> {
    let m = &ctx.job.manifest;
    let perm = |mode: u32| std::fs::Permissions::from_mode(copy_mode(mode));
    // Unknown, the umask is taken to have removed every bit.
    let umask = fsx::umask().unwrap_or(0o777);
    for (i, f) in m.files.iter().enumerate() {
        if ctx.created[i].load(Ordering::Relaxed) {
            // Written whole by this run, created with its mode less the umask.
            if copy_mode(f.mode) & umask != 0 {
                std::fs::set_permissions(ctx.path(i), perm(f.mode))
                    .map_err(|e| failed(&format!("chmod {}", f.path), e))?;
            }
            continue;
        }
        let path = ctx.path(i);
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| failed(&format!("{} is missing at the end", f.path), e))?;
        if !meta.is_file() || meta.len() != f.size {
            return Err(FetchError::Failed(format!(
                "{} is not what the manifest says at the end of the copy",
                f.path
            )));
        }
        // Hard-linked files already have this mode (that was the condition to link them).
        if meta.mode() & 0o777 != copy_mode(f.mode) {
            std::fs::set_permissions(&path, perm(f.mode))
                .map_err(|e| failed(&format!("chmod {}", f.path), e))?;
        }
    }
    let listed: HashSet<&str> = m.dirs.iter().map(|d| d.path.as_str()).collect();
    for f in &m.files {
        // Parents the manifest does not list (hand-made manifests) get the usual 0755.
        let mut p = Path::new(&f.path).parent();
        while let Some(dir) = p.filter(|d| !d.as_os_str().is_empty()) {
            let s = dir.to_string_lossy();
            if !listed.contains(s.as_ref()) {
                let _ = std::fs::set_permissions(ctx.partial.join(dir), perm(0o755));
            }
            p = dir.parent();
        }
    }
    for d in &m.dirs {
        std::fs::set_permissions(ctx.partial.join(manifest_path(&d.path)), perm(d.mode))
            .map_err(|e| failed(&format!("chmod {}", d.path), e))?;
    }
    std::fs::set_permissions(&ctx.partial, perm(0o755))
        .map_err(|e| failed("chmod of the copy", e))?;
    let top = std::fs::File::open(&ctx.partial).map_err(|e| failed("opening the copy", e))?;
    let t = std::time::Instant::now();
    nix::unistd::syncfs(top.as_fd()).map_err(|e| failed("syncing the copy to disk", e))?;
    tracing::debug!(replica = %ctx.job.key, ms = t.elapsed().as_millis() as u64, "synced");
    let target = ctx.job.store.complete(&ctx.job.key);
    nix::fcntl::renameat2(
        nix::fcntl::AT_FDCWD,
        &ctx.partial,
        nix::fcntl::AT_FDCWD,
        &target,
        nix::fcntl::RenameFlags::RENAME_NOREPLACE,
    )
    .map_err(|e| match e {
        nix::Error::EEXIST | nix::Error::ENOTEMPTY => FetchError::Failed(format!(
            "{} already exists and is not this copy; move it away, then ask again",
            target.display()
        )),
        other => failed("publishing the copy", other),
    })?;
    if let Ok(root) = std::fs::File::open(&ctx.job.store.root) {
        let _ = root.sync_all();
    }
    let _ = std::fs::remove_file(ctx.job.store.journal(&ctx.job.id));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streams start before the planning: an empty queue is the end of the copy only once
    /// the planning is over, or the first stream to look would end the copy with nothing done.
    #[tokio::test]
    async fn streams_wait_for_the_planning() {
        let queue = Arc::new(Queue::default());
        let cancel = CancellationToken::new();
        let take = |queue: &Arc<Queue>| {
            let (queue, cancel) = (queue.clone(), cancel.clone());
            tokio::spawn(async move { queue.next(&cancel).await.map(|item| item.seq) })
        };

        let first = take(&queue);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!first.is_finished(), "ended while the copy was planned");
        queue.push(Work::Batch(vec![7]), 1);
        assert_eq!(first.await.unwrap(), Some(0));
        queue.push(Work::Chunk(3, 0), 1);
        let second = take(&queue).await.unwrap();
        assert_eq!(second, Some(1), "items keep the order they were planned in");
        queue.finish(Vec::new());
        queue.finish(Vec::new());

        let last = take(&queue);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!last.is_finished(), "ended while the copy was planned");
        queue.planned();
        assert_eq!(last.await.unwrap(), None);
    }

    /// Streams as `stream` runs them, one of which panics on its first item.
    #[tokio::test]
    async fn a_stream_that_panics_fails_the_copy_instead_of_hanging_it() {
        let queue = Arc::new(Queue::default());
        for i in 0..40 {
            queue.push(Work::Chunk(i, 0), 1);
        }
        queue.planned();
        let cancel = CancellationToken::new();
        let mut streams = tokio::task::JoinSet::new();
        for k in 0..4 {
            let (queue, cancel) = (queue.clone(), cancel.clone());
            streams.spawn(async move {
                while let Some(_item) = queue.next(&cancel).await {
                    assert!(k != 0, "a chunk buffer of the wrong size");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    queue.finish(Vec::new());
                }
            });
        }
        // Without the panic failing the copy, the three others finish the queue and then wait
        // for the panicked stream's item for ever.
        tokio::time::timeout(Duration::from_secs(60), join_streams(&queue, &mut streams))
            .await
            .expect("the streams ended");
        let fatal = queue
            .fatal
            .lock()
            .unwrap()
            .clone()
            .expect("the copy failed");
        assert!(
            fatal.contains("a chunk buffer of the wrong size"),
            "the panic is named: {fatal}"
        );
        assert!(
            queue.left() > 0,
            "the panicked stream's item was never finished"
        );
    }
}
