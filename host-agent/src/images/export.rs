//! The sending side of an image copy: `docker save` of one image, streamed to the peer that
//! asked, without the bottom layers that peer already holds.
//!
//! `docker load` looks a layer up by its chain before it opens the layer's file, so an archive
//! may leave out every layer whose whole stack the receiver has. Docker's archive names layers
//! differently by version: newer engines write `blobs/sha256/<diff id>`, which says at once
//! which layer it is; older ones write `<v1 id>/layer.tar`, where the v1 id is a hash of the
//! layer's `json` (written just before it, in the same directory) with the layer's chain id
//! added. So a legacy layer is recognised by recomputing that hash for each chain the receiver
//! holds, with no need to read the layer itself. Should that recipe ever not match an engine's,
//! the layer is simply sent: a layer sent needlessly costs bytes, never correctness. An
//! archive with nothing to leave out is passed through untouched.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use axum::body::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use maison_agent_api::images::{ExportImageRequest, chain_ids};
use serde_json::value::RawValue;
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
        let skip_chains: Vec<String> = diff_ids
            .iter()
            .zip(chain_ids(&diff_ids))
            .filter(|(diff_id, _)| skip.contains(*diff_id))
            .map(|(_, chain)| chain)
            .collect();
        let archive = docker
            .export_image(&request.image_id)
            .map_err(io::Error::other);
        let body: std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>> =
            if skip.is_empty() {
                Box::pin(archive)
            } else {
                Box::pin(filtered(archive, skip, skip_chains))
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
    skip_chains: Vec<String>,
) -> impl Stream<Item = io::Result<Bytes>> + Send {
    let (sender, receiver) = tokio::io::duplex(4 * PIECE);
    let input = SyncIoBridge::new(StreamReader::new(archive));
    let output = SyncIoBridge::new(sender);
    let work = tokio::task::spawn_blocking(move || {
        let input = BufReader::with_capacity(PIECE, input);
        let output = BufWriter::with_capacity(PIECE, output);
        leave_out_layers(input, output, &skip, &skip_chains)
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

/// Copies a `docker save` archive from `input` to `output`, leaving out the layer files of
/// the layers in `skip` (diff ids), whose chain ids are `skip_chains`.
pub fn leave_out_layers(
    input: impl Read,
    output: impl Write,
    skip: &HashSet<String>,
    skip_chains: &[String],
) -> io::Result<()> {
    let mut archive = tar::Archive::new(input);
    let mut out = tar::Builder::new(output);
    // Legacy directories (`<v1 id>/`) found to hold a layer to leave out.
    let mut skipped_dirs: HashSet<String> = HashSet::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let mut header = entry.header().clone();
        header.set_size(entry.size());
        let text = path.to_str().unwrap_or_default();
        if let Some(hex) = text.strip_prefix("blobs/sha256/")
            && skip.contains(&format!("sha256:{hex}"))
        {
            continue;
        }
        if let Some(dir) = text.strip_suffix("/layer.tar")
            && skipped_dirs.contains(dir)
        {
            continue;
        }
        if let Some(dir) = text.strip_suffix("/json")
            && !dir.contains('/')
            && entry.size() <= MAX_LAYER_JSON
        {
            let mut json = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut json)?;
            if skip_chains
                .iter()
                .any(|chain| legacy_layer_ids(&json, chain).iter().any(|id| id == dir))
            {
                skipped_dirs.insert(dir.to_string());
            }
            out.append_data(&mut header, &path, &json[..])?;
            continue;
        }
        out.append_data(&mut header, &path, &mut entry)?;
    }
    out.into_inner()?.flush()
}

/// A legacy layer's `json` is small; anything bigger is not one.
const MAX_LAYER_JSON: u64 = 1 << 20;

/// The v1 ids Docker may give a layer directory in a legacy archive, from the `json` it writes
/// there and the layer's chain id: the SHA-256 of that JSON without its `id`, with `layer_id`
/// (the chain id) added and `parent` as a full digest, keys sorted, compact. Docker adds `os`
/// to the JSON of a lower layer only after hashing it (the top layer's config has it from the
/// start), so both forms are candidates.
fn legacy_layer_ids(json: &[u8], chain: &str) -> Vec<String> {
    let Ok(mut fields) = serde_json::from_slice::<BTreeMap<String, Box<RawValue>>>(json) else {
        return Vec::new();
    };
    fields.remove("id");
    if let Some(parent) = fields.remove("parent") {
        let Some(full) = serde_json::from_str::<String>(parent.get())
            .ok()
            .and_then(|hex| raw_string(&format!("sha256:{hex}")))
        else {
            return Vec::new();
        };
        fields.insert("parent".into(), full);
    }
    let Some(layer_id) = raw_string(chain) else {
        return Vec::new();
    };
    fields.insert("layer_id".into(), layer_id);
    let mut ids = Vec::with_capacity(2);
    let mut digest = |fields: &BTreeMap<String, Box<RawValue>>| {
        if let Ok(canonical) = serde_json::to_vec(fields) {
            ids.push(hex(&Sha256::digest(&canonical)));
        }
    };
    digest(&fields);
    if fields.remove("os").is_some() {
        digest(&fields);
    }
    ids
}

fn raw_string(text: &str) -> Option<Box<RawValue>> {
    RawValue::from_string(serde_json::to_string(text).ok()?).ok()
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

    /// What Docker 20.10 wrote for the test image's one layer: its directory name is the v1 id
    /// of this JSON with the layer's chain id (= its diff id, for a bottom layer).
    const DOCKER_20_10_DIR: &str =
        "0267b3a5390d0fb0676db1a1c5c378a9691ce78638c1cac60da0f051df8b9eea";
    const DOCKER_20_10_JSON: &str = r#"{"id":"0267b3a5390d0fb0676db1a1c5c378a9691ce78638c1cac60da0f051df8b9eea","comment":"Imported from -","created":"2026-12-05T11:51:46.748509096Z","container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"docker_version":"20.10.24+dfsg1","config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/bin"],"Cmd":["/bin/sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"org.opencontainers.image.title":"maison-test-busybox"}},"architecture":"amd64","os":"linux"}"#;
    const DOCKER_20_10_DIFF_ID: &str =
        "sha256:8c3728e7787ab47f786130ff7c1af65a99364d05683e3ecee0117a545727bf50";

    /// A lower layer as Docker 20.10 wrote it (its `os` added after its id was computed), and
    /// the chain of the two layers up to it.
    const LOWER_DIR: &str = "cf27c1bee9f08d6789fe30c6e1113cb6b53916ee64d5e37afacec00649fede83";
    const LOWER_JSON: &str = r#"{"id":"cf27c1bee9f08d6789fe30c6e1113cb6b53916ee64d5e37afacec00649fede83","parent":"2fe31b2e68df5ac0f5dea6af275072d42ffd2234056c0f15ae7894ff7fef1b81","created":"1970-01-01T00:00:00Z","container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"os":"linux"}"#;
    const LOWER_DIFF_IDS: [&str; 2] = [
        DOCKER_20_10_DIFF_ID,
        "sha256:50bd27799dea3027e0c071b4f8ceee2a4ae372b2c8f56342740323d06b2ea28d",
    ];

    #[test]
    fn a_legacy_layer_is_known_by_its_json_and_chain() {
        let known = |json: &str, chain: &str, dir: &str| {
            legacy_layer_ids(json.as_bytes(), chain)
                .iter()
                .any(|id| id == dir)
        };
        assert!(known(
            DOCKER_20_10_JSON,
            DOCKER_20_10_DIFF_ID,
            DOCKER_20_10_DIR
        ));
        assert!(!known(DOCKER_20_10_JSON, "sha256:00", DOCKER_20_10_DIR));
        let diff_ids = LOWER_DIFF_IDS.map(String::from);
        let chains = chain_ids(&diff_ids);
        assert!(known(LOWER_JSON, &chains[1], LOWER_DIR));
        assert!(!known(LOWER_JSON, &chains[0], LOWER_DIR));
    }

    /// A legacy archive with two layers: the held one is left out, everything else arrives
    /// byte for byte (names too long for a plain header included).
    #[test]
    fn a_legacy_archive_loses_exactly_the_skipped_layer() {
        let top_dir = "d".repeat(120);
        let top_json = format!(r#"{{"id":"{top_dir}","parent":"{DOCKER_20_10_DIR}"}}"#);
        let mut built = tar::Builder::new(Vec::new());
        for (path, data) in [
            (
                format!("{DOCKER_20_10_DIR}/json"),
                DOCKER_20_10_JSON.as_bytes().to_vec(),
            ),
            (
                format!("{DOCKER_20_10_DIR}/layer.tar"),
                b"base".repeat(1000),
            ),
            (format!("{top_dir}/json"), top_json.as_bytes().to_vec()),
            (format!("{top_dir}/layer.tar"), b"top".to_vec()),
            ("manifest.json".to_string(), b"[]".to_vec()),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            built.append_data(&mut header, &path, &data[..]).unwrap();
        }
        let archive = built.into_inner().unwrap();
        let skip = HashSet::from([DOCKER_20_10_DIFF_ID.to_string()]);
        let mut out = Vec::new();
        leave_out_layers(
            &archive[..],
            &mut out,
            &skip,
            &[DOCKER_20_10_DIFF_ID.into()],
        )
        .unwrap();

        let mut read = tar::Archive::new(&out[..]);
        let mut seen = Vec::new();
        for entry in read.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            seen.push((entry.path().unwrap().display().to_string(), data));
        }
        let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
        let (base_json, top_json_path, top_layer) = (
            format!("{DOCKER_20_10_DIR}/json"),
            format!("{top_dir}/json"),
            format!("{top_dir}/layer.tar"),
        );
        assert_eq!(
            names,
            [
                base_json.as_str(),
                top_json_path.as_str(),
                top_layer.as_str(),
                "manifest.json"
            ],
            "only the held layer's file is gone"
        );
        assert_eq!(seen[0].1, DOCKER_20_10_JSON.as_bytes());
        assert_eq!(seen[2].1, b"top");
    }
}
