//! Staging of bind mounts: the directories the policy opened are bind-mounted onto a
//! root-owned path that only the agent controls, and Docker is given that path.
//!
//! Docker resolves a bind source by name when it creates the container. If it were given the
//! user's path, a user with a shell could swap a directory of theirs for a link to `/` between
//! the agent's check and Docker's resolution. Here Docker only ever sees
//! `<staging_dir>/<stage>/<n>`, which is a mount of the very directory that was checked (taken
//! through `/proc/self/fd/<fd>` of the open directory, so no name is resolved again).
//!
//! Each launch gets one stage directory, named in the container's `maison.mount_stage` label.
//! A stage is taken down when its container is destroyed, and [`Stager::sweep`] removes stages
//! no container refers to (after a crash, say).

use std::collections::{HashMap, HashSet};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bollard::models::{Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountType};
use nix::mount::{MntFlags, MsFlags};

use crate::policy::CheckedMount;

/// How long a settled stage is protected from sweeps working from an older listing.
const SETTLE_GRACE: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("bind mounts are not available on this agent: {0}")]
    Unavailable(String),
    #[error("could not pin mount source {source_as_written:?}: {reason}")]
    Mount {
        source_as_written: String,
        reason: String,
    },
}

/// Mounts staged for one container.
#[derive(Debug)]
pub struct Stage {
    pub id: String,
    /// What Docker is given: staging paths, never the user's.
    pub mounts: Vec<Mount>,
}

#[derive(Debug)]
pub struct Stager {
    root: PathBuf,
    /// Why mounts cannot be staged, if they cannot (not root, unusable directory).
    unusable: Option<String>,
    /// Stages made recently: `None` while the container is being created, then the time it
    /// settled. A sweep works from a container listing that may predate them, so it leaves
    /// these alone for [`SETTLE_GRACE`].
    recent: Mutex<HashMap<String, Option<Instant>>>,
}

impl Stager {
    /// Prepares the staging directory: created if missing, owned by root, mode 0700, so that no
    /// other user can rename or replace anything in it.
    pub fn new(root: &Path) -> Stager {
        let unusable = prepare(root).err();
        if let Some(why) = &unusable {
            tracing::warn!(dir = %root.display(), reason = %why, "bind mounts disabled: launches asking for mounts will be refused");
        }
        Stager {
            root: root.to_path_buf(),
            unusable,
            recent: Mutex::new(HashMap::new()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Pins each checked directory under a new stage. `Ok(None)` when there is nothing to mount.
    /// On error nothing is left behind.
    pub fn stage(&self, mounts: &[CheckedMount]) -> Result<Option<Stage>, StageError> {
        if mounts.is_empty() {
            return Ok(None);
        }
        if let Some(why) = &self.unusable {
            return Err(StageError::Unavailable(why.clone()));
        }
        let id = new_stage_id();
        let dir = self.root.join(&id);
        self.recent.lock().unwrap().insert(id.clone(), None);
        let result = self.pin_all(&dir, mounts);
        match result {
            Ok(docker_mounts) => Ok(Some(Stage {
                id,
                mounts: docker_mounts,
            })),
            Err(e) => {
                self.release(&id);
                Err(e)
            }
        }
    }

    fn pin_all(&self, dir: &Path, mounts: &[CheckedMount]) -> Result<Vec<Mount>, StageError> {
        let failed = |m: &CheckedMount, what: &str, e: &dyn std::fmt::Display| StageError::Mount {
            source_as_written: m.as_written.clone(),
            reason: format!("{what}: {e}"),
        };
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| StageError::Unavailable(format!("creating {}: {e}", dir.display())))?;
        let mut out = Vec::with_capacity(mounts.len());
        for (n, m) in mounts.iter().enumerate() {
            let point = dir.join(n.to_string());
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&point)
                .map_err(|e| failed(m, "creating the mount point", &e))?;
            // The open directory itself, through its descriptor: no path is resolved again.
            let source = format!("/proc/self/fd/{}", m.dir.as_raw_fd());
            nix::mount::mount(
                Some(source.as_str()),
                &point,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| failed(m, "bind mount", &e))?;
            // Set-uid files and device nodes in a home directory never take effect; a read-only
            // stage stays read-only even if Docker's own flag were lost.
            let mut flags =
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            if m.read_only {
                flags |= MsFlags::MS_RDONLY;
            }
            nix::mount::mount(None::<&str>, &point, None::<&str>, flags, None::<&str>)
                .map_err(|e| failed(m, "restricting the bind mount", &e))?;
            out.push(Mount {
                target: Some(m.target.clone()),
                source: Some(point.display().to_string()),
                typ: Some(MountType::BIND),
                read_only: Some(m.read_only),
                bind_options: Some(MountBindOptions {
                    propagation: Some(MountBindOptionsPropagationEnum::RPRIVATE),
                    non_recursive: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        Ok(out)
    }

    /// The container now exists and carries the stage's id in its labels.
    pub fn settle(&self, id: &str) {
        if let Some(at) = self.recent.lock().unwrap().get_mut(id) {
            *at = Some(Instant::now());
        }
    }

    /// Unmounts and removes one stage. Unknown or malformed ids are ignored.
    pub fn release(&self, id: &str) {
        self.recent.lock().unwrap().remove(id);
        if !is_stage_id(id) {
            return;
        }
        let dir = self.root.join(id);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let point = entry.path();
            // Lazy: a process still holding a file there must not keep the stage alive.
            let _ = nix::mount::umount2(&point, MntFlags::MNT_DETACH);
            if let Err(e) = std::fs::remove_dir(&point) {
                tracing::warn!(point = %point.display(), error = %e, "could not remove a mount point");
            }
        }
        if let Err(e) = std::fs::remove_dir(&dir) {
            tracing::warn!(stage = %dir.display(), error = %e, "could not remove a mount stage");
        } else {
            tracing::debug!(stage = %id, "mount stage released");
        }
    }

    /// Releases every stage that is neither referred to by a container nor being launched.
    pub fn sweep(&self, referenced: &HashSet<String>) -> usize {
        if self.unusable.is_some() {
            return 0;
        }
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        let protected: HashSet<String> = {
            let mut recent = self.recent.lock().unwrap();
            recent.retain(|_, at| at.is_none_or(|t| t.elapsed() < SETTLE_GRACE));
            recent.keys().cloned().collect()
        };
        let mut released = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_stage_id(&name) && !referenced.contains(&name) && !protected.contains(&name) {
                self.release(&name);
                released += 1;
            }
        }
        if released > 0 {
            tracing::info!(released, "removed mount stages of containers that are gone");
        }
        released
    }

    /// Stage ids currently on disk (for tests and diagnostics).
    pub fn stages(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_stage_id(n))
            .collect();
        out.sort();
        out
    }
}

fn prepare(root: &Path) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("the agent is not running as root".into());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|e| format!("creating {}: {e}", root.display()))?;
    let meta = std::fs::symlink_metadata(root).map_err(|e| e.to_string())?;
    if !meta.is_dir() || meta.uid() != 0 {
        return Err(format!(
            "{} must be a directory owned by root",
            root.display()
        ));
    }
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("chmod 0700 {}: {e}", root.display()))?;
    Ok(())
}

fn new_stage_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "s{:x}-{:x}-{:x}",
        nanos,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Stage ids come back from container labels: only names this module makes are acted on.
fn is_stage_id(s: &str) -> bool {
    s.len() <= 64
        && s.starts_with('s')
        && s[1..].chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && s.len() > 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_own_stage_names_are_accepted() {
        let id = new_stage_id();
        assert!(is_stage_id(&id), "{id}");
        for bad in ["", "s", "../etc", "s/../x", "sabc/def", "xabc", "s12 34"] {
            assert!(!is_stage_id(bad), "{bad}");
        }
        assert_ne!(new_stage_id(), new_stage_id());
    }
}
