//! Serving blobs to peers: `GET /v1/blobs/{hash}` (one file, or one byte range of it) and
//! `POST /v1/blobs` (many small files, concatenated). Bodies are streamed from a blocking
//! reader through a small channel, so a multi-gigabyte file never sits in memory, and every
//! piece is paid for under the host's serving cap before it goes out.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Seek};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maison_agent_api::datasets::{BlobBatch, MAX_BATCH_BLOBS, is_hash};

use super::index::{BlobLocation, ReplicaRoot, manifest_path};
use super::{DatasetError, Datasets, fsx};

/// Size of the pieces a body is sent in.
const PIECE: u64 = 256 << 10;

/// One open file and the part of it to send.
struct Part {
    file: File,
    start: u64,
    len: u64,
}

/// Opens the blobs of one request below their roots, keeping the roots and the last
/// directory open: the files of a batch mostly share a directory, and resolving each one's
/// whole path below its root again was a measurable part of serving many small files.
#[derive(Default)]
struct Opener {
    roots: HashMap<PathBuf, OwnedFd>,
    /// The replica and directory (manifest form) of the last file, and the directory opened.
    dir: Option<(Arc<ReplicaRoot>, String, OwnedFd)>,
}

/// Why a blob could not be opened: its root, or the file below it.
enum OpenFailure {
    Root(nix::Error),
    File(nix::Error),
}

impl Opener {
    /// The file at `loc` and its size. Each step resolves below the one before without
    /// following any link ([`fsx::open_dir_beneath`], [`fsx::open_file_beneath`]).
    fn open(&mut self, loc: &BlobLocation) -> Result<(File, u64), OpenFailure> {
        let (dir, name) = loc.path.rsplit_once('/').unwrap_or(("", &loc.path));
        let same_dir = self
            .dir
            .as_ref()
            .is_some_and(|(root, open, _)| Arc::ptr_eq(root, &loc.root) && open == dir);
        if !same_dir {
            let base = match self.roots.get(&loc.root.base) {
                Some(fd) => fd,
                None => {
                    let fd = fsx::open_root(&loc.root.base).map_err(OpenFailure::Root)?;
                    self.roots.entry(loc.root.base.clone()).or_insert(fd)
                }
            };
            let fd = fsx::open_dir_beneath(base.as_fd(), &loc.root.rel.join(manifest_path(dir)))
                .map_err(OpenFailure::File)?;
            self.dir = Some((loc.root.clone(), dir.to_string(), fd));
        }
        let (_, _, dir_fd) = self.dir.as_ref().expect("opened above");
        fsx::open_file_beneath(dir_fd.as_fd(), manifest_path(name)).map_err(OpenFailure::File)
    }
}

impl Datasets {
    /// Opens a blob for sending, through `opener` (one per request).
    fn open_blob(&self, hash: &str, opener: &mut Opener) -> Result<(File, u64), DatasetError> {
        if !is_hash(hash) {
            return Err(DatasetError::BadRequest(format!(
                "{hash:?} is not a blob hash (64 lowercase hex digits)"
            )));
        }
        let missing = || DatasetError::NotFound(format!("blob {hash} is not on this host"));
        let loc = self.index.find(hash, None).ok_or_else(missing)?;
        let (file, size) = opener.open(&loc).map_err(|failure| {
            match failure {
                OpenFailure::Root(e) => {
                    tracing::warn!(root = %loc.root.base.display(), error = %fsx::describe(e), "a dataset root cannot be opened");
                }
                OpenFailure::File(e) => {
                    tracing::warn!(blob = %hash, file = %loc.rel().display(), error = %fsx::describe(e), "an indexed blob cannot be opened");
                }
            }
            missing()
        })?;
        if size != loc.size {
            tracing::warn!(blob = %hash, file = %loc.rel().display(), "an indexed blob changed size; not serving it");
            return Err(missing());
        }
        Ok((file, size))
    }

    /// `GET /v1/blobs/{hash}`, with an optional single `Range`.
    pub async fn blob(
        self: &Arc<Self>,
        hash: String,
        headers: HeaderMap,
    ) -> Result<Response, DatasetError> {
        self.store()?;
        let ds = self.clone();
        let h = hash.clone();
        let (file, size) =
            tokio::task::spawn_blocking(move || ds.open_blob(&h, &mut Opener::default()))
                .await
                .map_err(|e| DatasetError::Internal(e.to_string()))??;
        let range = match headers.get(header::RANGE) {
            None => None,
            Some(v) => match parse_range(v.to_str().unwrap_or(""), size) {
                Ok(r) => Some(r),
                Err(RangeError::Unsatisfiable) => {
                    return Ok((
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        [(header::CONTENT_RANGE, format!("bytes */{size}"))],
                    )
                        .into_response());
                }
                Err(RangeError::Malformed) => {
                    return Err(DatasetError::BadRequest(
                        "only one byte range is served: Range: bytes=<first>-<last>".into(),
                    ));
                }
            },
        };
        let (status, start, len) = match range {
            Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
            None => (StatusCode::OK, 0, size),
        };
        let mut response = Response::new(self.stream(vec![Part { file, start, len }]));
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        if status == StatusCode::PARTIAL_CONTENT
            && let Ok(v) =
                HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
        {
            h.insert(header::CONTENT_RANGE, v);
        }
        Ok(response)
    }

    /// `POST /v1/blobs`: every blob is opened (and checked) before the first byte is sent, so
    /// a missing one is a clean 404 rather than a truncated body.
    pub async fn blobs(self: &Arc<Self>, body: &[u8]) -> Result<Response, DatasetError> {
        self.store()?;
        let batch: BlobBatch = serde_json::from_slice(body)
            .map_err(|e| DatasetError::BadRequest(format!("invalid blob batch: {e}")))?;
        if batch.hashes.len() > MAX_BATCH_BLOBS {
            return Err(DatasetError::BadRequest(format!(
                "at most {MAX_BATCH_BLOBS} blobs per batch ({} asked)",
                batch.hashes.len()
            )));
        }
        let ds = self.clone();
        let parts = tokio::task::spawn_blocking(move || {
            let mut opener = Opener::default();
            batch
                .hashes
                .iter()
                .map(|h| {
                    ds.open_blob(h, &mut opener).map(|(file, len)| Part {
                        file,
                        start: 0,
                        len,
                    })
                })
                .collect::<Result<Vec<Part>, DatasetError>>()
        })
        .await
        .map_err(|e| DatasetError::Internal(e.to_string()))??;
        let total: u64 = parts.iter().map(|p| p.len).sum();
        let mut response = Response::new(self.stream(parts));
        let h = response.headers_mut();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        Ok(response)
    }

    /// A body that reads `parts` in order on a blocking thread, a few pieces ahead of the
    /// network, under the serving cap.
    fn stream(&self, parts: Vec<Part>) -> Body {
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
        tokio::task::spawn_blocking(move || {
            // Small files are packed into shared pieces, so a batch of 8 KiB files travels as a
            // few large frames instead of one frame (and one channel message) per file.
            let mut buf = Vec::with_capacity(PIECE as usize);
            for part in parts {
                let end = part.start + part.len;
                let mut pos = part.start;
                // A file just opened reads from its start, and each read continues where the
                // last ended: only a range starting further in needs a seek (saved, it is a
                // system call less per small file).
                if pos != 0
                    && let Err(e) = (&part.file).seek(io::SeekFrom::Start(pos))
                {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
                while pos < end {
                    let room = PIECE - buf.len() as u64;
                    let n = (end - pos).min(room);
                    if let Err(e) = read_piece(&part.file, n, &mut buf) {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                    pos += n;
                    // The receiver is gone when the peer hung up: stop reading.
                    if buf.len() as u64 == PIECE && !send_piece(&tx, &mut buf) {
                        return;
                    }
                }
            }
            if !buf.is_empty() {
                send_piece(&tx, &mut buf);
            }
        });
        let cap = self.serve_cap.clone();
        let stats = self.stats.clone();
        let body = futures::stream::unfold(rx, move |mut rx| {
            let cap = cap.clone();
            let stats = stats.clone();
            async move {
                let item = rx.recv().await?;
                if let Ok(bytes) = &item {
                    cap.take(bytes.len()).await;
                    stats
                        .bytes_served
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                }
                Some((item, rx))
            }
        });
        Body::from_stream(body)
    }
}

/// Appends the next `len` bytes of `file` to `buf`. `read_to_end` fills the spare capacity as
/// it is, where zeroing a fresh buffer for every piece cost a tenth of a small-file copy.
fn read_piece(file: &File, len: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    use std::io::Read;
    let got = file.take(len).read_to_end(buf)?;
    if (got as u64) < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file is shorter than its manifest says",
        ));
    }
    Ok(())
}

/// Hands a full piece to the body; false when the peer is gone.
fn send_piece(tx: &tokio::sync::mpsc::Sender<io::Result<Bytes>>, buf: &mut Vec<u8>) -> bool {
    let piece = std::mem::replace(buf, Vec::with_capacity(PIECE as usize));
    tx.blocking_send(Ok(Bytes::from(piece))).is_ok()
}

/// Why a `Range` header is not served.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeError {
    /// Not one `bytes=<first>-<last>` range.
    Malformed,
    /// Outside the file.
    Unsatisfiable,
}

/// One `bytes=` range of a file of `size` bytes, as inclusive `(first, last)`.
pub fn parse_range(value: &str, size: u64) -> Result<(u64, u64), RangeError> {
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or(RangeError::Malformed)?;
    if spec.contains(',') {
        return Err(RangeError::Malformed);
    }
    let (a, b) = spec.split_once('-').ok_or(RangeError::Malformed)?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| RangeError::Malformed);
    let (first, last) = match (a.trim().is_empty(), b.trim().is_empty()) {
        (false, false) => (num(a)?, num(b)?.min(size.saturating_sub(1))),
        (false, true) => (num(a)?, size.saturating_sub(1)),
        (true, false) => {
            let n = num(b)?;
            if n == 0 {
                return Err(RangeError::Unsatisfiable);
            }
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (true, true) => return Err(RangeError::Malformed),
    };
    if size == 0 || first >= size || first > last {
        return Err(RangeError::Unsatisfiable);
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_only() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Ok((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Ok((90, 99)));
        assert_eq!(parse_range("bytes=95-200", 100), Ok((95, 99)));
        assert_eq!(
            parse_range("bytes=100-", 100),
            Err(RangeError::Unsatisfiable)
        );
        assert_eq!(
            parse_range("bytes=5-3", 100),
            Err(RangeError::Unsatisfiable)
        );
        assert_eq!(
            parse_range("bytes=0-1,5-6", 100),
            Err(RangeError::Malformed)
        );
        assert_eq!(parse_range("items=0-1", 100), Err(RangeError::Malformed));
        assert_eq!(parse_range("bytes=x-1", 100), Err(RangeError::Malformed));
    }
}
