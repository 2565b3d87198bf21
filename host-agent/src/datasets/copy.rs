//! Copies requested by the bot: deciding whether one is needed, the manifest from a source,
//! the free-space check, and running [`super::fetch`] as a background job whose progress is
//! checkpointed into the replica's record.

use super::*;

impl Datasets {
    /// Starts, resumes or reports a copy of `req.manifest` pulled from peers.
    pub async fn fetch(self: &Arc<Self>, req: &FetchRequest) -> Result<ReplicaInfo, DatasetError> {
        let store = self.store()?.clone();
        check_names(&req.name, &req.version)?;
        if !is_hash(&req.manifest) {
            return Err(DatasetError::BadRequest(format!(
                "{:?} is not a manifest id (64 lowercase hex digits)",
                req.manifest
            )));
        }
        let sources = self.peer_clients(&req.sources)?;
        let _gate = self.fetch_gate.lock().await;
        let key = replica_key(&req.name, &req.version);
        {
            let registry = self.registry.lock().unwrap();
            if let Some(e) = registry.get(&key) {
                if e.rec.manifest.as_deref() != Some(req.manifest.as_str()) {
                    return Err(conflict(
                        "dataset-exists",
                        format!(
                            "{key} on this host is another version of the files (manifest {}); remove it first",
                            e.rec
                                .manifest
                                .as_deref()
                                .map(short)
                                .unwrap_or("not yet known")
                        ),
                    ));
                }
                let busy = e.live.is_some();
                let done = matches!(
                    e.rec.state,
                    ReplicaState::Complete | ReplicaState::Verifying
                );
                if busy || done {
                    return Ok(self.info_of(e));
                }
                if e.rec.origin == ReplicaOrigin::InPlace {
                    return Err(conflict(
                        "dataset-in-place",
                        format!(
                            "{key} is registered in place here and failed: {}; register it again",
                            e.rec.error.as_deref().unwrap_or("unknown error")
                        ),
                    ));
                }
            }
            if let Some(e) = registry.values().find(|e| {
                e.rec.manifest.as_deref() == Some(req.manifest.as_str())
                    && matches!(
                        e.rec.state,
                        ReplicaState::Complete | ReplicaState::Verifying
                    )
            }) {
                return Ok(self.info_of(e));
            }
            // The same files under another name: both copies would fill one partial directory
            // (it is named after the manifest), each truncating what the other wrote.
            if let Some(e) = registry.values().find(|e| {
                e.rec.key() != key
                    && e.rec.manifest.as_deref() == Some(req.manifest.as_str())
                    && e.live.is_some()
            }) {
                return Err(conflict(
                    "copy-in-progress",
                    format!(
                        "the same files are being copied to this host as {}; ask again once that copy is done",
                        e.rec.key()
                    ),
                ));
            }
        }
        if req.sources.is_empty() {
            return Err(DatasetError::BadRequest(
                "a copy needs at least one source host".into(),
            ));
        }
        let (manifest, sent) = match store.load_manifest(&req.manifest) {
            Ok(m) => (m, None),
            Err(_) => fetch_manifest(&sources, &req.manifest).await?,
        };
        let plan_needs = fetch::space_needed(&store, &req.manifest, &manifest, &self.index, &key);
        self.check_space(&store, plan_needs)?;
        match sent {
            Some(canonical) => store.save_manifest_bytes(&req.manifest, &canonical)?,
            None => store.save_manifest(&req.manifest, &manifest)?,
        }

        let (rec, previous) = {
            let mut registry = self.registry.lock().unwrap();
            let previous = registry.get(&key).map(|e| e.rec.clone());
            let rec = ReplicaRecord {
                name: req.name.clone(),
                version: req.version.clone(),
                manifest: Some(req.manifest.clone()),
                origin: ReplicaOrigin::Copied,
                state: ReplicaState::Fetching,
                base: Base::Datasets,
                rel: PathBuf::from(&key),
                owner_uid: None,
                total_bytes: manifest.total_bytes(),
                total_files: manifest.files.len() as u64,
                present_bytes: previous.as_ref().map_or(0, |p| p.present_bytes),
                present_files: previous.as_ref().map_or(0, |p| p.present_files),
                bytes_received: 0,
                bytes_linked: 0,
                corrupt_chunks: 0,
                sources: req.sources.clone(),
                error: None,
                updated_at: Utc::now(),
                last_verify: previous.as_ref().and_then(|p| p.last_verify.clone()),
                last_mounted: previous.as_ref().and_then(|p| p.last_mounted),
            };
            registry.insert(
                key.clone(),
                Entry {
                    rec: rec.clone(),
                    live: None,
                },
            );
            (rec, previous)
        };
        self.persist(&rec);
        self.prepare_repair(&store, previous.as_ref(), &rec, &manifest)?;
        self.spawn_fetch(&key, &req.manifest, Arc::new(manifest), sources);
        tracing::info!(replica = %key, manifest = %req.manifest, sources = ?req.sources.iter().map(|s| &s.host).collect::<Vec<_>>(), "dataset copy started");
        self.info(&key)
            .ok_or_else(|| DatasetError::Internal("the replica vanished".into()))
    }

    /// A copy whose files failed verification lies at its final place: move it back to the
    /// partial directory with a journal that lists every piece as a candidate, so the resumed
    /// copy re-hashes them and fetches only what is damaged.
    ///
    /// Only a copy this agent made and found damaged is taken back (not a directory that merely
    /// sits at that path), and only if nobody but root could have changed it: the copy then
    /// works in it as root, by path, as in its own private directory. A copy with a link, or
    /// anything others could write (a copy made before copies dropped those bits), is thrown
    /// away and made again whole.
    fn prepare_repair(
        &self,
        store: &Store,
        previous: Option<&ReplicaRecord>,
        rec: &ReplicaRecord,
        manifest: &Manifest,
    ) -> Result<(), DatasetError> {
        let Some(id) = &rec.manifest else {
            return Ok(());
        };
        let damaged_copy = previous.is_some_and(|p| {
            p.origin == ReplicaOrigin::Copied
                && p.state == ReplicaState::Failed
                && p.manifest.as_deref() == Some(id.as_str())
        });
        let complete = store.complete(&rec.key());
        let partial = store.partial(id);
        if !damaged_copy || partial.exists() || !complete.exists() {
            return Ok(());
        }
        if let Some(why) = untrusted_entry(&complete) {
            tracing::warn!(replica = %rec.key(), entry = %why, "the damaged copy holds something others could have changed; it is thrown away and copied again whole");
            return self.trash(store, &complete);
        }
        std::fs::rename(&complete, &partial)
            .map_err(|e| internal("moving the damaged copy back for repair", e))?;
        let pieces: Vec<journal::Piece> = manifest
            .files
            .iter()
            .enumerate()
            .flat_map(|(i, f)| {
                if f.chunks.is_empty() {
                    vec![(i as u32, journal::WHOLE_FILE)]
                } else {
                    (0..f.chunks.len() as u32).map(|c| (i as u32, c)).collect()
                }
            })
            .collect();
        journal::Journal::create(&store.journal(id), "repair", &pieces)
            .map_err(|e| internal("writing the repair journal", e))?;
        Ok(())
    }

    /// Clients towards `sources` with this host's peer identity, for any transfer between
    /// agents (dataset files, image layers); refused when this host has no peer certificate.
    pub fn peer_clients(&self, sources: &[PeerSource]) -> Result<Vec<fetch::Source>, DatasetError> {
        let Some(tls) = self.peer_tls.clone() else {
            return Err(conflict(
                "no-peer-identity",
                format!(
                    "{} has no peer certificate, so it cannot pull from other hosts: issue one with `maison-bot pki issue-agent {}` and set [datasets] peer_cert and peer_key",
                    self.hostname, self.hostname
                ),
            ));
        };
        self.clients(&tls, sources)
    }

    /// The free space to keep on a disk (`[datasets] free_margin`).
    pub fn free_margin(&self) -> crate::config::FreeMargin {
        self.free_margin
    }

    fn clients(
        &self,
        tls: &ClientTls,
        sources: &[PeerSource],
    ) -> Result<Vec<fetch::Source>, DatasetError> {
        sources
            .iter()
            .map(|s| {
                AgentClient::for_transfers(
                    &s.url,
                    tls,
                    Timeouts {
                        connect: Duration::from_secs(5),
                        request: Duration::from_secs(900),
                    },
                )
                .map(|client| fetch::Source {
                    host: s.host.clone(),
                    client,
                })
                .map_err(|e| DatasetError::BadRequest(format!("source {}: {e}", s.host)))
            })
            .collect()
    }

    fn check_space(&self, store: &Store, needed: u64) -> Result<(), DatasetError> {
        let Some((free, total)) = fsx::disk_space(&store.root) else {
            return Ok(());
        };
        let margin = self.free_margin.bytes(total);
        if free.saturating_sub(needed) < margin {
            return Err(conflict(
                "no-space",
                format!(
                    "not enough room on {}: {} free, the copy needs {} more and {} must stay free",
                    self.hostname,
                    ByteSize(free),
                    ByteSize(needed),
                    ByteSize(margin)
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn resume_fetch(self: &Arc<Self>, rec: &ReplicaRecord) -> Result<(), DatasetError> {
        let store = self.store()?.clone();
        let id = rec
            .manifest
            .clone()
            .ok_or_else(|| DatasetError::Internal("a copy without a manifest".into()))?;
        let manifest = store.load_manifest(&id).map_err(DatasetError::Internal)?;
        let tls = self.peer_tls.clone().ok_or_else(|| {
            conflict(
                "no-peer-identity",
                "no peer certificate is configured any more",
            )
        })?;
        let sources = self.clients(&tls, &rec.sources)?;
        self.spawn_fetch(&rec.key(), &id, Arc::new(manifest), sources);
        Ok(())
    }

    /// Runs the copy of `manifest` (whose id is `id`) as a background job.
    fn spawn_fetch(
        self: &Arc<Self>,
        key: &str,
        id: &str,
        manifest: Arc<Manifest>,
        sources: Vec<fetch::Source>,
    ) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let progress = Arc::new(FetchProgress::default());
        let cancel = self.shutdown.child_token();
        let live = Live::new(LiveProgress::Fetch(progress.clone()), cancel.clone());
        {
            let mut registry = self.registry.lock().unwrap();
            let Some(e) = registry.get_mut(key) else {
                return;
            };
            e.live = Some(live.clone());
        }
        let job = fetch::FetchJob {
            key: key.to_string(),
            id: id.to_string(),
            manifest: manifest.clone(),
            store,
            sources,
            progress: progress.clone(),
            cancel: cancel.clone(),
            streams: self.streams,
            recv_cap: self.recv_cap.clone(),
            index: self.index.clone(),
            stats: self.stats.clone(),
        };
        let ds = self.clone();
        let key = key.to_string();
        let handle = tokio::spawn(async move {
            let run = fetch::run(job);
            tokio::pin!(run);
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.tick().await;
            let result = loop {
                tokio::select! {
                    r = &mut run => break r,
                    _ = tick.tick() => ds.checkpoint(&key, &progress),
                }
            };
            ds.finish_fetch(&key, result, &progress, &manifest);
        });
        *live.handle.lock().unwrap() = Some(handle);
    }

    fn checkpoint(&self, key: &str, p: &FetchProgress) {
        self.update(key, |r| copy_progress(r, p));
    }

    fn finish_fetch(
        &self,
        key: &str,
        result: Result<(), fetch::FetchError>,
        p: &FetchProgress,
        manifest: &Manifest,
    ) {
        if let Some(e) = self.registry.lock().unwrap().get_mut(key) {
            e.live = None;
        }
        match result {
            Ok(()) => {
                let Some(rec) = self.update(key, |r| {
                    copy_progress(r, p);
                    r.state = ReplicaState::Complete;
                    r.error = None;
                    r.present_bytes = r.total_bytes;
                    r.present_files = r.total_files;
                }) else {
                    return;
                };
                // The copy's own manifest, in memory: reading it back from disk would parse
                // and hash it again.
                self.index.add(self.replica_root(&rec), manifest);
                tracing::info!(replica = %key, received = rec.bytes_received, linked = rec.bytes_linked, corrupt = rec.corrupt_chunks, "dataset copy complete");
            }
            // Stopped by a shutdown (resumed at the next start) or by a removal (which cleans
            // up itself): only the progress is kept.
            Err(fetch::FetchError::Cancelled) => {
                self.update(key, |r| copy_progress(r, p));
            }
            Err(fetch::FetchError::Failed(msg)) => {
                self.update(key, |r| copy_progress(r, p));
                self.fail(key, msg);
            }
        }
    }

    /// The bytes of a manifest this host holds (complete or being copied), for peers.
    pub fn manifest_bytes(&self, id: &str) -> Result<Vec<u8>, DatasetError> {
        let store = self.store()?;
        if !is_hash(id) {
            return Err(DatasetError::BadRequest(format!(
                "{id:?} is not a manifest id"
            )));
        }
        let known = self
            .registry
            .lock()
            .unwrap()
            .values()
            .any(|e| e.rec.manifest.as_deref() == Some(id));
        if !known {
            return Err(DatasetError::NotFound(format!(
                "manifest {} is not on this host",
                short(id)
            )));
        }
        std::fs::read(store.manifest(id)).map_err(|e| internal("reading the manifest", e))
    }
}

/// Asks each source in turn for the manifest and checks it against its id; the manifest, and
/// the bytes it came as when they are its canonical JSON.
async fn fetch_manifest(
    sources: &[fetch::Source],
    id: &str,
) -> Result<(Manifest, Option<bytes::Bytes>), DatasetError> {
    let mut why = Vec::new();
    for s in sources {
        let bytes = match s.client.manifest_bytes(id).await {
            Ok(bytes) => bytes,
            Err(e) => {
                why.push(format!("{}: {e}", s.host));
                continue;
            }
        };
        match Manifest::from_json_with_id(&bytes, id).and_then(|(m, canonical)| {
            m.validate()?;
            Ok((m, canonical.then_some(bytes.clone())))
        }) {
            Ok(found) => return Ok(found),
            Err(e) => why.push(format!("{}: invalid manifest ({e})", s.host)),
        }
    }
    Err(DatasetError::Upstream(format!(
        "no source could provide manifest {}: {}",
        short(id),
        why.join("; ")
    )))
}

/// The first entry of the copy at `top` that someone other than this agent's user could have
/// changed, or that is neither a file nor a directory; `None` when there is none. Directories
/// are looked at before their entries, and without following links, so nothing is trusted that
/// lies below a directory others can write.
fn untrusted_entry(top: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    let mut stack = vec![top.to_path_buf()];
    while let Some(path) = stack.pop() {
        let shown = || path.display().to_string();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Some(format!("{} cannot be read", shown()));
        };
        if meta.uid() != me {
            return Some(format!("{} belongs to uid {}", shown(), meta.uid()));
        }
        if meta.mode() & 0o022 != 0 {
            return Some(format!("{} can be written by others", shown()));
        }
        if meta.is_dir() {
            let Ok(entries) = std::fs::read_dir(&path) else {
                return Some(format!("{} cannot be listed", shown()));
            };
            stack.extend(entries.flatten().map(|e| e.path()));
        } else if !meta.is_file() {
            return Some(format!("{} is not a file or a directory", shown()));
        }
    }
    None
}
