//! Registering a directory already on the host: where it may be (the path rules), opening it
//! without following links, and the background scan that builds its manifest.

use super::*;

impl Datasets {
    /// Starts scanning a directory already on this host.
    pub fn register(self: &Arc<Self>, req: &RegisterRequest) -> Result<ReplicaInfo, DatasetError> {
        self.store()?;
        check_names(&req.name, &req.version)?;
        let key = replica_key(&req.name, &req.version);
        let (base, rel) = self.register_location(req)?;
        let fd = self.open_location(base, &rel, req.owner_uid, &req.path)?;
        {
            let mut registry = self.registry.lock().unwrap();
            if let Some(existing) = registry.get(&key) {
                let same_place = existing.rec.origin == ReplicaOrigin::InPlace
                    && existing.rec.base == base
                    && existing.rec.rel == rel;
                if !same_place {
                    return Err(conflict(
                        "dataset-exists",
                        format!(
                            "{key} is already on this host at {}; pick another version name",
                            self.display_path(&existing.rec)
                        ),
                    ));
                }
                if existing.rec.state != ReplicaState::Failed || existing.live.is_some() {
                    return Ok(self.info_of(existing));
                }
            }
            let rec = ReplicaRecord {
                name: req.name.clone(),
                version: req.version.clone(),
                manifest: None,
                origin: ReplicaOrigin::InPlace,
                state: ReplicaState::Scanning,
                base,
                rel,
                owner_uid: req.owner_uid,
                total_bytes: 0,
                total_files: 0,
                present_bytes: 0,
                present_files: 0,
                bytes_received: 0,
                bytes_linked: 0,
                corrupt_chunks: 0,
                sources: Vec::new(),
                error: None,
                updated_at: Utc::now(),
                last_verify: None,
                last_mounted: None,
            };
            registry.insert(key.clone(), Entry { rec, live: None });
        }
        if let Some(rec) = self.update(&key, |_| {}) {
            tracing::info!(replica = %key, path = %req.path, owner_uid = ?rec.owner_uid, "registering a dataset in place");
        }
        self.spawn_scan(&key, fd, req.path.clone());
        self.info(&key)
            .ok_or_else(|| DatasetError::Internal("the replica vanished".into()))
    }

    /// The root and relative path of a directory to register, by the rules: admins (no uid)
    /// under the datasets root, users under a work root in a directory they own.
    fn register_location(&self, req: &RegisterRequest) -> Result<(Base, PathBuf), DatasetError> {
        let written = req.path.as_str();
        let path = Path::new(written);
        let refuse = |rule: &'static str, message: String| DatasetError::Refused { message, rule };
        if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
            return Err(refuse(
                "dataset-path",
                format!("{written:?} must be an absolute path without '..'"),
            ));
        }
        let (base, root) = match req.owner_uid {
            None => (Base::Datasets, self.store()?.root.clone()),
            Some(_) => match &self.work_root {
                Some(w) => (Base::Work, w.clone()),
                None => {
                    return Err(refuse(
                        "dataset-outside-roots",
                        format!(
                            "{written:?} refused: this host has no work root, so only admins can register datasets (under the datasets root)"
                        ),
                    ));
                }
            },
        };
        let rel = match path.strip_prefix(&root) {
            Ok(rel) => rel.components().collect::<PathBuf>(),
            Err(_) => {
                let what = match base {
                    Base::Datasets => "the datasets root (only admins register there)",
                    Base::Work => "a work directory of yours",
                };
                return Err(refuse(
                    "dataset-outside-roots",
                    format!("{written:?} is not under {what}: {}", root.display()),
                ));
            }
        };
        let first = rel.components().next();
        match (base, first) {
            (_, None) => Err(refuse(
                "dataset-path",
                format!("{written:?} is a whole root; register a directory inside it"),
            )),
            (Base::Datasets, Some(c)) if c.as_os_str().to_string_lossy().starts_with('.') => {
                Err(refuse(
                    "dataset-path",
                    format!(
                        "{written:?} is inside the agent's own state (hidden directories are not datasets)"
                    ),
                ))
            }
            _ => Ok((base, rel)),
        }
    }

    /// Opens a replica's directory below its root without following links; under a work root
    /// the top-level directory must (still) belong to the owner.
    fn open_location(
        &self,
        base: Base,
        rel: &Path,
        owner: Option<u32>,
        written: &str,
    ) -> Result<OwnedFd, DatasetError> {
        let refuse = |rule: &'static str, message: String| DatasetError::Refused { message, rule };
        let root = self.base_path(base).ok_or_else(|| {
            refuse(
                "dataset-outside-roots",
                format!("{written:?}: its root is not configured on this host any more"),
            )
        })?;
        let cannot = |e: nix::Error| {
            let rule = match e {
                nix::Error::ELOOP | nix::Error::EXDEV => "dataset-symlink",
                _ => "dataset-source-missing",
            };
            refuse(rule, format!("{written:?} {}", fsx::describe(e)))
        };
        let root_fd = fsx::open_root(&root).map_err(cannot)?;
        if base == Base::Work {
            let mut parts = rel.components();
            let first = parts.next().map(|c| c.as_os_str()).unwrap_or_default();
            let own = fsx::open_dir_beneath(root_fd.as_fd(), Path::new(first)).map_err(cannot)?;
            let st = nix::sys::stat::fstat(own.as_fd()).map_err(cannot)?;
            if Some(st.st_uid) != owner {
                return Err(refuse(
                    "dataset-not-owner",
                    format!(
                        "{written:?} is not yours: only a directory in your own work directory can be registered"
                    ),
                ));
            }
            return fsx::open_dir_beneath(own.as_fd(), &parts.collect::<PathBuf>()).map_err(cannot);
        }
        fsx::open_dir_beneath(root_fd.as_fd(), rel).map_err(cannot)
    }

    /// Refuses to mount a replica registered in place whose directory changed since its scan
    /// (a file written, added, removed or replaced): it is no longer the version it names, and
    /// the replica is marked failed.
    pub(super) fn check_unchanged(
        &self,
        rec: &ReplicaRecord,
        dir: &OwnedFd,
    ) -> Result<(), PolicyRefusal> {
        let key = rec.key();
        let changed = |what: String| PolicyRefusal {
            rule: Rule::DatasetChanged,
            message: format!(
                "{key} changed on this host since it was registered ({what}), so it is no longer the version it names; register the directory again as a new version, or copy {key} here from a host whose copy is intact (if its files are as they were, `data verify` finds that out and it mounts again)"
            ),
        };
        let stamps = self
            .store()
            .map_err(|e| e.to_string())
            .and_then(|s| s.load_stamps(&key));
        match stamps {
            Ok(Some(stamps)) => match scan::changed_since(dir, &stamps) {
                None => Ok(()),
                Some(what) => {
                    tracing::warn!(replica = %key, first_change = %what, "a dataset registered in place changed; not mounted, not served");
                    // Failed, like a copy that fails verification: `data where` no longer
                    // lists it as complete, the bot no longer names it as a source, and this
                    // agent no longer serves its files to peers.
                    let refusal = changed(what);
                    self.fail(&key, refusal.message.clone());
                    self.index.remove(&key);
                    Err(refusal)
                }
            },
            Ok(None) => {
                tracing::warn!(replica = %key, "registered before changes were tracked: mounted unchecked (register it again to track them)");
                Ok(())
            }
            Err(e) => Err(changed(format!("what its scan saw cannot be read: {e}"))),
        }
    }

    pub(super) fn open_replica_dir(&self, rec: &ReplicaRecord) -> Result<OwnedFd, DatasetError> {
        let shown = self.display_path(rec);
        self.open_location(rec.base, &rec.rel, rec.owner_uid, &shown)
    }

    pub(super) fn spawn_scan(self: &Arc<Self>, key: &str, fd: OwnedFd, shown: String) {
        let progress = Arc::new(ScanProgress::default());
        let live = Live::new(
            LiveProgress::Scan(progress.clone()),
            self.shutdown.child_token(),
        );
        if let Some(e) = self.registry.lock().unwrap().get_mut(key) {
            e.live = Some(live.clone());
        }
        let ds = self.clone();
        let key = key.to_string();
        let handle = tokio::spawn(async move {
            let p = progress.clone();
            let result = tokio::task::spawn_blocking(move || {
                scan::scan(&fd, shown.trim_end_matches('/'), &p)
            })
            .await
            .unwrap_or_else(|e| Err(scan::ScanError::Refused(format!("scan crashed: {e}"))));
            ds.finish_scan(&key, result, &progress);
        });
        *live.handle.lock().unwrap() = Some(handle);
    }

    fn finish_scan(
        &self,
        key: &str,
        result: Result<(Manifest, scan::Stamps), scan::ScanError>,
        progress: &ScanProgress,
    ) {
        let clear_live = |ds: &Datasets| {
            if let Some(e) = ds.registry.lock().unwrap().get_mut(key) {
                e.live = None;
            }
        };
        let (manifest, stamps) = match result {
            Ok(found) => found,
            Err(scan::ScanError::Cancelled) => return clear_live(self),
            Err(scan::ScanError::Refused(msg)) => {
                clear_live(self);
                return self.fail(key, msg);
            }
        };
        let id = manifest.id();
        let twin = {
            let registry = self.registry.lock().unwrap();
            registry
                .values()
                .find(|e| e.rec.manifest.as_deref() == Some(id.as_str()) && e.rec.key() != key)
                .map(|e| e.rec.key())
        };
        clear_live(self);
        if let Some(twin) = twin {
            return self.fail(
                key,
                format!(
                    "the same files are already on this host as {twin} (manifest {})",
                    short(&id)
                ),
            );
        }
        if let Err(e) = self.store().and_then(|s| {
            s.save_manifest(&id, &manifest)?;
            s.save_stamps(key, &stamps)
        }) {
            return self.fail(key, e.to_string());
        }
        let Some(rec) = self.update(key, |r| {
            r.manifest = Some(id.clone());
            r.state = ReplicaState::Complete;
            r.error = None;
            r.total_bytes = manifest.total_bytes();
            r.total_files = manifest.files.len() as u64;
            r.present_bytes = r.total_bytes;
            r.present_files = r.total_files;
        }) else {
            return;
        };
        self.index.add(self.replica_root(&rec), &manifest);
        tracing::info!(replica = %key, manifest = %id, files = rec.total_files, bytes = rec.total_bytes, hashed = progress.bytes.load(Ordering::Relaxed), "dataset registered");
    }
}
