//! The receiving side of an image copy: pulls the image from a peer that holds it, straight
//! into `docker load`, after saying which layer stacks are already here so they are not sent.
//!
//! Docker checks what arrives: the image id is the hash of its configuration and every layer
//! must hash to the diff id the configuration names, so a changed byte fails the load. The
//! copy is made by id, then tagged here only if the name is free or already this image's.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bollard::Docker;
use bollard::query_parameters::{
    ImportImageOptionsBuilder, ListImagesOptionsBuilder, TagImageOptionsBuilder,
};
use futures::StreamExt;
use maison_agent_api::images::{
    ExportImageRequest, FetchImageRequest, FetchedImage, LAYERS_SKIPPED_HEADER, chain_ids,
};
use maison_agent_api::{BlobStream, ClientError};

use super::image_name;
use crate::config::ByteSize;
use crate::config::FreeMargin;
use crate::datasets::fetch::Source;
use crate::datasets::fsx::disk_space;
use crate::datasets::rate::RateCap;
use crate::docker::{Engine, EngineError};

/// What the copy needs from the rest of the agent.
pub struct FetchContext {
    pub sources: Vec<Source>,
    pub recv_cap: Arc<RateCap>,
    /// Free space the Docker disk must keep (`[datasets] free_margin`).
    pub free_margin: FreeMargin,
}

impl Engine {
    pub async fn fetch_image(
        &self,
        request: &FetchImageRequest,
        context: FetchContext,
    ) -> Result<FetchedImage, EngineError> {
        let started = Instant::now();
        if !is_image_id(&request.image_id) {
            return Err(bad_request(format!(
                "{:?} is not an image id (sha256: and 64 hex digits)",
                request.image_id
            )));
        }
        let reference = image_name(&request.reference)?;
        let docker = self.client()?;
        if let Ok(named) = docker.inspect_image(&reference).await
            && named.id.as_deref() != Some(request.image_id.as_str())
        {
            return Err(EngineError::Conflict {
                message: format!(
                    "this host already has an image called {reference} (a different one, {}); remove or rename it first",
                    short_id(named.id.as_deref().unwrap_or("?")),
                ),
                rule: Some("image-exists"),
            });
        }
        if let Ok(here) = docker.inspect_image(&request.image_id).await {
            tag(&docker, &request.image_id, &reference).await?;
            let layers = here.root_fs.and_then(|r| r.layers).map_or(0, |l| l.len());
            return Ok(FetchedImage {
                id: request.image_id.clone(),
                reference,
                source: None,
                bytes_received: 0,
                layers: layers as u32,
                layers_already_here: layers as u32,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        self.check_room(request, &context)?;
        if context.sources.is_empty() {
            return Err(bad_request("a copy needs at least one source host".into()));
        }
        let have_chains = held_chains(&docker).await?;
        let export = ExportImageRequest {
            image_id: request.image_id.clone(),
            have_chains: have_chains.into_iter().collect(),
        };
        let entry = self
            .image_work
            .start(&reference, "copy", request.size_bytes)
            .map_err(|busy| super::busy_error(busy, &reference))?;
        let mut failures = Vec::new();
        for source in &context.sources {
            entry.work.bytes_done.store(0, Ordering::Relaxed);
            let received = entry.work.bytes_done.clone();
            match load_from(&docker, source, &export, &context.recv_cap, received).await {
                Ok((bytes_received, layers_already_here)) => {
                    let loaded = docker.inspect_image(&request.image_id).await.map_err(|_| {
                        EngineError::Docker(format!(
                            "the archive from {} loaded, but image {} is not among what it held",
                            source.host,
                            short_id(&request.image_id)
                        ))
                    })?;
                    tag(&docker, &request.image_id, &reference).await?;
                    self.relist_images().await?;
                    let layers = loaded.root_fs.and_then(|r| r.layers).map_or(0, |l| l.len());
                    tracing::info!(
                        image = %reference, source = %source.host, bytes_received,
                        layers, layers_already_here, "image copied"
                    );
                    return Ok(FetchedImage {
                        id: request.image_id.clone(),
                        reference,
                        source: Some(source.host.clone()),
                        bytes_received,
                        layers: layers as u32,
                        layers_already_here,
                        seconds: started.elapsed().as_secs_f64(),
                    });
                }
                Err(e) => {
                    tracing::warn!(source = %source.host, error = %e, "image copy from a source failed");
                    failures.push(format!("{}: {e}", source.host));
                }
            }
        }
        Err(EngineError::Docker(format!(
            "no source could send {}: {}",
            short_id(&request.image_id),
            failures.join("; ")
        )))
    }

    /// Refuses a copy the Docker disk here has no room for, keeping the configured margin.
    fn check_room(
        &self,
        request: &FetchImageRequest,
        context: &FetchContext,
    ) -> Result<(), EngineError> {
        let Some(root) = self.info().map(|i| i.root_dir) else {
            return Ok(());
        };
        let Some((free, total)) = disk_space(std::path::Path::new(&root)) else {
            return Ok(());
        };
        let keep = context.free_margin.bytes(total);
        if free.saturating_sub(request.size_bytes) < keep {
            return Err(EngineError::Conflict {
                message: format!(
                    "not enough room for {} on this host's Docker disk: {} free, the image needs {} and {} must stay free",
                    request.reference,
                    ByteSize(free),
                    ByteSize(request.size_bytes),
                    ByteSize(keep)
                ),
                rule: Some("no-space"),
            });
        }
        Ok(())
    }
}

/// One try from one source: the archive streamed into `docker load`. Answers the bytes that
/// crossed the network and how many layers the source left out.
async fn load_from(
    docker: &Docker,
    source: &Source,
    export: &ExportImageRequest,
    recv_cap: &Arc<RateCap>,
    received: Arc<AtomicU64>,
) -> Result<(u64, u32), String> {
    let stream = source
        .client
        .export_image(export)
        .await
        .map_err(|e| describe(&e))?;
    let skipped = stream
        .header(LAYERS_SKIPPED_HEADER)
        .and_then(|h| h.parse().ok())
        .unwrap_or(0);
    let body = archive_body(stream, recv_cap.clone(), received.clone());
    let mut progress = docker.import_image_stream(
        ImportImageOptionsBuilder::new().quiet(true).build(),
        body,
        None,
    );
    while let Some(step) = progress.next().await {
        step.map_err(|e| format!("docker load: {e}"))?;
    }
    Ok((received.load(Ordering::Relaxed), skipped))
}

/// The peer's answer as a body for `docker load`, paced by the host's rate cap and counted.
fn archive_body(
    stream: BlobStream,
    cap: Arc<RateCap>,
    received: Arc<AtomicU64>,
) -> impl futures::Stream<Item = Result<axum::body::Bytes, ClientError>> + Send + 'static {
    futures::stream::try_unfold(stream, move |mut stream| {
        let cap = cap.clone();
        let received = received.clone();
        async move {
            let Some(piece) = stream.chunk().await? else {
                return Ok(None);
            };
            cap.take(piece.len()).await;
            received.fetch_add(piece.len() as u64, Ordering::Relaxed);
            Ok(Some((piece, stream)))
        }
    })
}

/// Every layer stack some image here stands on, by chain id.
async fn held_chains(docker: &Docker) -> Result<BTreeSet<String>, EngineError> {
    let images = docker
        .list_images(Some(ListImagesOptionsBuilder::new().all(true).build()))
        .await?;
    let mut chains = BTreeSet::new();
    for image in images {
        // An image removed since the listing simply adds nothing.
        if let Ok(inspected) = docker.inspect_image(&image.id).await {
            let diff_ids = inspected.root_fs.and_then(|r| r.layers).unwrap_or_default();
            chains.extend(chain_ids(&diff_ids));
        }
    }
    Ok(chains)
}

async fn tag(docker: &Docker, id: &str, reference: &str) -> Result<(), EngineError> {
    let (repo, tag) = reference
        .rsplit_once(':')
        .expect("a normalised reference has a tag");
    docker
        .tag_image(
            id,
            Some(TagImageOptionsBuilder::new().repo(repo).tag(tag).build()),
        )
        .await?;
    Ok(())
}

fn is_image_id(id: &str) -> bool {
    id.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

fn bad_request(message: String) -> EngineError {
    EngineError::Refused {
        message,
        rule: "bad-request",
    }
}

fn describe(e: &ClientError) -> String {
    match e {
        ClientError::Api { error, .. } => error.message.clone(),
        other => other.to_string(),
    }
}
