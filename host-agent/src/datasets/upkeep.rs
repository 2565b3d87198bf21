//! Verifying a replica (re-hashing it in the background) and removing one (refused while
//! mounted; copies go to the trash, registrations are only forgotten).

use super::*;

impl Datasets {
    /// Starts re-hashing a complete replica.
    pub fn verify(self: &Arc<Self>, key: &str) -> Result<ReplicaInfo, DatasetError> {
        let store = self.store()?.clone();
        let keys = self.resolve(key)?;
        let mut last = None;
        for key in keys {
            let (rec, progress, was) = {
                let mut registry = self.registry.lock().unwrap();
                let Some(e) = registry.get_mut(&key) else {
                    continue;
                };
                if e.live.is_some() {
                    last = Some(self.info_of(e));
                    continue;
                }
                // A copy that failed before it was ever complete has nothing to verify; a
                // directory registered in place that failed at a launch (it changed) may be
                // as it was registered, which is what a verify finds out.
                let never_complete = e.rec.state == ReplicaState::Failed
                    && e.rec.last_verify.is_none()
                    && e.rec.origin != ReplicaOrigin::InPlace;
                if !matches!(e.rec.state, ReplicaState::Complete | ReplicaState::Failed)
                    || e.rec.manifest.is_none()
                    || never_complete
                {
                    return Err(conflict(
                        "dataset-not-ready",
                        format!("{key} is not complete here; only a complete copy can be verified"),
                    ));
                }
                let progress = Arc::new(ScanProgress::default());
                e.live = Some(Live::new(
                    LiveProgress::Verify(progress.clone()),
                    self.shutdown.child_token(),
                ));
                let was = e.rec.state;
                e.rec.state = ReplicaState::Verifying;
                (e.rec.clone(), progress, was)
            };
            self.persist(&rec);
            let opened = store
                .load_manifest(rec.manifest.as_deref().unwrap_or_default())
                .map_err(DatasetError::Internal)
                .and_then(|manifest| Ok((manifest, self.open_replica_dir(&rec)?)));
            let (manifest, fd) = match opened {
                Ok(opened) => opened,
                Err(e) => {
                    // Not left "verifying" with nothing running.
                    self.end_verify(&key, was);
                    return Err(e);
                }
            };
            let ds = self.clone();
            let (k, k2) = (key.clone(), key.clone());
            let in_place = rec.origin == ReplicaOrigin::InPlace;
            let handle = tokio::spawn(async move {
                let p = progress.clone();
                let m = manifest.clone();
                let started = Utc::now();
                let result = tokio::task::spawn_blocking(move || {
                    if in_place {
                        scan::verify_in_place(&fd, &k2, &m, &p)
                    } else {
                        scan::verify(&fd, &m, &p).map(|bad| (bad, None))
                    }
                })
                .await
                .unwrap_or_else(|e| Err(scan::ScanError::Refused(format!("verify crashed: {e}"))));
                ds.finish_verify(&k, &manifest, result, &progress, started, was);
            });
            if let Some(e) = self.registry.lock().unwrap().get_mut(&key)
                && let Some(l) = &e.live
            {
                *l.handle.lock().unwrap() = Some(handle);
            }
            last = self.info(&key);
        }
        last.ok_or_else(|| DatasetError::NotFound(format!("no replica {key} here")))
    }

    fn finish_verify(
        &self,
        key: &str,
        manifest: &Manifest,
        result: Result<(Vec<String>, Option<scan::Stamps>), scan::ScanError>,
        p: &ScanProgress,
        started: DateTime<Utc>,
        was: ReplicaState,
    ) {
        let (mut bad, stamps) = match result {
            Ok(found) => found,
            // Stopped (the agent shutting down): as it was before.
            Err(scan::ScanError::Cancelled) => {
                self.end_verify(key, was);
                return;
            }
            // The directory could not be walked (a link or a device appeared in a directory
            // registered in place, or it became unreadable): it is not the version.
            Err(e) => (vec![e.to_string()], None),
        };
        if let Some(e) = self.registry.lock().unwrap().get_mut(key) {
            e.live = None;
        }
        // A directory registered in place that holds exactly its version is checked against
        // the stamps of this walk from now on.
        if let Some(stamps) = stamps
            && let Err(e) = self.store().and_then(|s| s.save_stamps(key, &stamps))
        {
            tracing::warn!(replica = %key, error = %e, "the verified directory's stamps cannot be kept");
            bad.push(format!("(its stamps cannot be kept: {e})"));
        }
        let outcome = VerifyOutcome {
            at: started,
            files_checked: p.files.load(Ordering::Relaxed),
            bytes_checked: p.bytes.load(Ordering::Relaxed),
            bad_count: bad.len() as u64,
            bad_files: bad.iter().take(20).cloned().collect(),
        };
        let Some(rec) = self.update(key, |r| {
            r.last_verify = Some(outcome.clone());
            if bad.is_empty() {
                r.state = ReplicaState::Complete;
                r.error = None;
            } else {
                // Damaged bytes are never mounted nor served; a new `data get` repairs a copy.
                r.state = ReplicaState::Failed;
                r.error = Some(format!(
                    "verification found {} damaged or missing file(s): {}{}",
                    bad.len(),
                    bad.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                    if bad.len() > 5 { ", …" } else { "" }
                ));
            }
        }) else {
            return;
        };
        self.index.remove(key);
        if bad.is_empty() {
            self.index.add(self.replica_root(&rec), manifest);
            tracing::info!(replica = %key, files = outcome.files_checked, "dataset verified");
        } else {
            tracing::warn!(replica = %key, bad = bad.len(), "dataset verification found damaged files");
        }
    }

    /// A verify that ended without an outcome: the replica is as it was before.
    fn end_verify(&self, key: &str, was: ReplicaState) {
        if let Some(e) = self.registry.lock().unwrap().get_mut(key) {
            e.live = None;
        }
        self.update(key, |r| r.state = was);
    }

    /// Deletes a copy (or forgets a replica registered in place); refused while mounted.
    pub async fn remove(self: &Arc<Self>, key: &str) -> Result<(), DatasetError> {
        let store = self.store()?.clone();
        let keys = self.resolve(key)?;
        for key in &keys {
            let (rec, live) = {
                let registry = self.registry.lock().unwrap();
                let Some(e) = registry.get(key) else { continue };
                (e.rec.clone(), e.live.clone())
            };
            if let Some(id) = &rec.manifest {
                let users = self.inventory.containers_with_dataset(id);
                if !users.is_empty() {
                    return Err(conflict(
                        "dataset-in-use",
                        format!(
                            "{key} is mounted by {} container(s): {}; remove them first",
                            users.len(),
                            users.join(", ")
                        ),
                    ));
                }
                if self.pins.lock().unwrap().get(id).copied().unwrap_or(0) > 0 {
                    return Err(conflict(
                        "dataset-in-use",
                        format!("a container with {key} is being launched; try again in a moment"),
                    ));
                }
            }
            if let Some(l) = live {
                l.cancel();
                l.join().await;
            }
            self.index.remove(key);
            let removed = self.registry.lock().unwrap().remove(key);
            if let Some(e) = removed {
                let _ = std::fs::remove_file(store.record(key));
                let _ = std::fs::remove_file(store.stamps(key));
                if e.rec.origin == ReplicaOrigin::Copied {
                    let mut doomed = vec![store.complete(key)];
                    if let Some(id) = &e.rec.manifest {
                        doomed.push(store.partial(id));
                        let _ = std::fs::remove_file(store.journal(id));
                    }
                    for dir in doomed.into_iter().filter(|d| d.exists()) {
                        self.trash(&store, &dir)?;
                    }
                }
                if let Some(id) = &e.rec.manifest {
                    let still_used = self
                        .registry
                        .lock()
                        .unwrap()
                        .values()
                        .any(|o| o.rec.manifest.as_deref() == Some(id.as_str()));
                    if !still_used {
                        let _ = std::fs::remove_file(store.manifest(id));
                    }
                }
                tracing::info!(replica = %key, origin = ?e.rec.origin, "dataset replica removed");
            }
        }
        Ok(())
    }

    /// Moves a directory out of sight at once, and deletes it in the background.
    pub(super) fn trash(&self, store: &Store, dir: &Path) -> Result<(), DatasetError> {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let target = store.trash().join(format!("{nanos:x}"));
        std::fs::rename(dir, &target).map_err(|e| internal("moving the copy to the trash", e))?;
        tokio::task::spawn_blocking(move || {
            if let Err(e) = std::fs::remove_dir_all(&target) {
                tracing::warn!(dir = %target.display(), error = %e, "could not delete a removed copy");
            }
        });
        Ok(())
    }

    /// Empties the trash left by an earlier run.
    pub fn empty_trash(&self) {
        let Some(store) = &self.store else { return };
        let Ok(entries) = std::fs::read_dir(store.trash()) else {
            return;
        };
        let leftovers: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        if leftovers.is_empty() {
            return;
        }
        tokio::task::spawn_blocking(move || {
            for dir in leftovers {
                let _ = std::fs::remove_dir_all(&dir);
            }
        });
    }
}
