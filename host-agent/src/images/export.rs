//! The sending side of an image copy: `docker save` of one image, streamed to the peer that
//! asked, without the bottom layers that peer already holds.
//!
//! `docker load` looks a layer up by its chain before it opens the layer's file, so an archive
//! may leave out every layer whose whole stack the receiver has. Docker's archive names layers
//! differently by version: newer engines write `blobs/sha256/<diff id>`, which says at once
//! which layer it is; older ones write `<v1 id>/layer.tar`, whose name says nothing, so such a
//! file is spooled to a temporary file while it is hashed, and sent only if its hash is not
//! one the receiver has. An archive with nothing to leave out is passed through untouched.

use std::collections::HashSet;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use maison_agent_api::images::{ExportImageRequest, chain_ids};
use sha2::{Digest, Sha256};
use tokio_util::io::{ReaderStream, StreamReader, SyncIoBridge};

use crate::datasets::rate::RateCap;
use crate::docker::{Engine, EngineError};

/// Pieces of the answer body: large enough to keep TLS records full.
const PIECE: usize = 256 << 10;

/// An image archive on its way out.
pub struct Export {
    /// How many of the image's bottom layers were left out.
    pub layers_skipped: usize,
    pub body: std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
}

impl Engine {
    /// `request.image_id` as a `docker load` archive without the layers the asker holds,
    /// paced by `cap` (the host's transfer rate cap).
    pub async fn export_image(
        &self,
        request: &ExportImageRequest,
        cap: Arc<RateCap>,
    ) -> Result<Export, EngineError> {
        let docker = self.client()?;
        let image = docker.inspect_image(&request.image_id).await.map_err(|e| {
            match EngineError::from(e) {
                EngineError::NotFound(_) => {
                    EngineError::NotFound(format!("image {}", request.image_id))
                }
                other => other,
            }
        })?;
        // An id prefix or a name resolving to some other image is not what the peer asked for.
        if image.id.as_deref() != Some(request.image_id.as_str()) {
            return Err(EngineError::NotFound(format!("image {}", request.image_id)));
        }
        let diff_ids = image.root_fs.and_then(|r| r.layers).unwrap_or_default();
        let skip = layers_to_leave_out(&diff_ids, &request.have_chains);
        let layers_skipped = diff_ids.iter().filter(|d| skip.contains(*d)).count();
        let archive = docker
            .export_image(&request.image_id)
            .map_err(io::Error::other);
        let body: std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>> =
            if skip.is_empty() {
                Box::pin(archive)
            } else {
                Box::pin(filtered(archive, skip))
            };
        let body = body.then(move |piece| {
            let cap = cap.clone();
            async move {
                if let Ok(bytes) = &piece {
                    cap.take(bytes.len()).await;
                }
                piece
            }
        });
        Ok(Export {
            layers_skipped,
            body: Box::pin(body),
        })
    }
}

/// The diff ids of the image's bottom layers whose whole stack the asker has (its longest
/// prefix with a chain in `have_chains`), less any of them the image uses again higher up:
/// those must travel, since the upper use has no stack on the asker's side.
pub fn layers_to_leave_out(diff_ids: &[String], have_chains: &[String]) -> HashSet<String> {
    let have: HashSet<&str> = have_chains.iter().map(String::as_str).collect();
    let held = chain_ids(diff_ids)
        .iter()
        .rposition(|chain| have.contains(chain.as_str()))
        .map_or(0, |top| top + 1);
    let needed_above: HashSet<&String> = diff_ids[held..].iter().collect();
    diff_ids[..held]
        .iter()
        .filter(|d| !needed_above.contains(d))
        .cloned()
        .collect()
}

/// `archive` re-written without the layers in `skip`, on a blocking thread (the tar reader
/// and writer are synchronous), through a pipe back into a stream.
fn filtered(
    archive: impl Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
    skip: HashSet<String>,
) -> impl Stream<Item = io::Result<Bytes>> + Send {
    let (sender, receiver) = tokio::io::duplex(4 * PIECE);
    let input = SyncIoBridge::new(StreamReader::new(archive));
    let output = SyncIoBridge::new(sender);
    let spool_dir = std::env::temp_dir();
    let work = tokio::task::spawn_blocking(move || {
        let input = BufReader::with_capacity(PIECE, input);
        let output = BufWriter::with_capacity(PIECE, output);
        leave_out_layers(input, output, &skip, &spool_dir)
    });
    // The pipe ends when the writer is dropped; an error of the rewrite then ends the body
    // with that error instead of a clean end, so the receiver never loads a cut archive.
    let failure = futures::stream::once(async move {
        match work.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(Err(e)),
            Err(e) => Some(Err(io::Error::other(e))),
        }
    })
    .filter_map(std::future::ready);
    ReaderStream::with_capacity(receiver, PIECE).chain(failure)
}

/// Copies a `docker save` archive from `input` to `output`, leaving out the layer files whose
/// diff id is in `skip`.
pub fn leave_out_layers(
    input: impl Read,
    output: impl Write,
    skip: &HashSet<String>,
    spool_dir: &Path,
) -> io::Result<()> {
    let mut archive = tar::Archive::new(input);
    let mut out = tar::Builder::new(output);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let mut header = entry.header().clone();
        header.set_size(entry.size());
        let is_file = entry.header().entry_type().is_file();
        match layer_name(&path) {
            Some(LayerName::DiffId(diff_id)) if skip.contains(&diff_id) => continue,
            Some(LayerName::Unnamed) if is_file => {
                let mut spool = tempfile::tempfile_in(spool_dir)?;
                let mut hashing = HashingWriter {
                    inner: &mut spool,
                    hasher: Sha256::new(),
                };
                io::copy(&mut entry, &mut hashing)?;
                let diff_id = format!("sha256:{}", hex(&hashing.hasher.finalize()));
                if skip.contains(&diff_id) {
                    continue;
                }
                spool.rewind()?;
                out.append_data(&mut header, &path, BufReader::with_capacity(PIECE, spool))?;
            }
            _ => out.append_data(&mut header, &path, &mut entry)?,
        }
    }
    out.into_inner()?.flush()
}

enum LayerName {
    /// `blobs/sha256/<hex>`: an OCI-layout blob, named by its digest (for a layer, its diff id).
    DiffId(String),
    /// `<v1 id>/layer.tar`: the legacy layout, whose name does not say which layer it is.
    Unnamed,
}

fn layer_name(path: &Path) -> Option<LayerName> {
    let text = path.to_str()?;
    if let Some(hex) = text.strip_prefix("blobs/sha256/") {
        return Some(LayerName::DiffId(format!("sha256:{hex}")));
    }
    text.ends_with("/layer.tar").then_some(LayerName::Unnamed)
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| format!("sha256:{n}")).collect()
    }

    #[test]
    fn only_the_held_bottom_of_the_stack_is_left_out() {
        let image = ids(&["a", "b", "c"]);
        let chains = chain_ids(&image);
        // The asker has the stack a+b (from some image of its own): a and b stay home.
        let skip = layers_to_leave_out(&image, &chains[..2]);
        assert_eq!(skip, HashSet::from([image[0].clone(), image[1].clone()]));
        // Holding `b` on another base is not holding this image's `b`.
        let elsewhere = chain_ids(&ids(&["z", "b"]));
        assert!(layers_to_leave_out(&image, &elsewhere).is_empty());
        // A layer used again above the held part must travel.
        let repeated = ids(&["a", "b", "a"]);
        let skip = layers_to_leave_out(&repeated, &chain_ids(&repeated)[..1]);
        assert!(skip.is_empty(), "{skip:?}");
    }

    /// An archive in the legacy layout with two layers; the first is left out by its hash,
    /// everything else arrives byte for byte.
    #[test]
    fn a_legacy_archive_loses_exactly_the_skipped_layer() {
        let base = b"base layer bytes".repeat(100);
        let top = b"top".to_vec();
        let mut built = tar::Builder::new(Vec::new());
        let long_dir = "d".repeat(120); // a name only a long-name extension can carry
        for (path, data) in [
            ("manifest.json".to_string(), b"[]".to_vec()),
            ("1111/layer.tar".to_string(), base.clone()),
            ("1111/json".to_string(), b"{}".to_vec()),
            (format!("{long_dir}/layer.tar"), top.clone()),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            built.append_data(&mut header, &path, &data[..]).unwrap();
        }
        let archive = built.into_inner().unwrap();
        let skip = HashSet::from([format!("sha256:{}", hex(&Sha256::digest(&base)))]);
        let mut out = Vec::new();
        leave_out_layers(&archive[..], &mut out, &skip, &std::env::temp_dir()).unwrap();

        let mut read = tar::Archive::new(&out[..]);
        let mut seen = Vec::new();
        for entry in read.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            seen.push((entry.path().unwrap().display().to_string(), data));
        }
        let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
        let long_layer = format!("{long_dir}/layer.tar");
        assert_eq!(
            names,
            ["manifest.json", "1111/json", long_layer.as_str()],
            "only the skipped layer is gone"
        );
        assert_eq!(seen[2].1, top);
    }
}
