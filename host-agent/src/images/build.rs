//! Building an image from a Dockerfile in its owner's directory.
//!
//! The context (the Dockerfile's directory) is packed by `tar` running as the owner's Unix
//! account, so nothing they could not read themselves goes into the image, whatever links or
//! permissions the directory holds; the agent, which runs as root, never reads it. The build
//! runs without network (the base image must already be on the host) and the image is
//! labelled with who built it, from which Dockerfile (path and hash) and from which base.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek};
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use axum::body::Bytes;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures::StreamExt;
use maison_agent_api::ResourceLimits;
use maison_agent_api::images::{
    BuildImageRequest, BuiltImage, built_image_labels, dockerfile_base,
};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::build_limits::{
    CGROUP_ROOT, CgroupLayout, build_query, prepare_parent, with_build_query,
};
use super::{busy_error, image_name};
use crate::docker::{Engine, EngineError};
use crate::policy::{check_workdir, resolve_workdir};

/// The largest context packed: a build needs its recipe and a few files, not a dataset
/// (datasets are mounted with `launch --data`).
pub const MAX_CONTEXT_BYTES: u64 = 2 << 30;
/// The largest Dockerfile read.
const MAX_DOCKERFILE_BYTES: u64 = 1 << 20;
/// Lines of build output kept for the answer.
const LOG_TAIL_LINES: usize = 15;

fn refused(rule: &'static str, message: String) -> EngineError {
    EngineError::Refused { message, rule }
}

impl Engine {
    /// Builds `request.dockerfile` from `context` (its directory, already checked to be the
    /// owner's), reading it as `request.uid`. Every step runs within `limits`, its processes
    /// counted with all builds' under the cgroup `cgroup`.
    pub async fn build_image(
        &self,
        request: &BuildImageRequest,
        context: &Path,
        limits: &ResourceLimits,
        cgroup: &str,
    ) -> Result<BuiltImage, EngineError> {
        let started = Instant::now();
        let reference = image_name(&request.reference)?;
        if request.uid == 0 || request.gid == 0 {
            return Err(refused(
                "build-as-root",
                "a build context is never read as root; the owner needs a Unix account".into(),
            ));
        }
        let file_name = Path::new(&request.dockerfile)
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                refused(
                    "dockerfile-path",
                    format!("{:?} does not name a file", request.dockerfile),
                )
            })?
            .to_string();
        let docker = self.client()?;
        self.check_name_free(&reference, &request.owner).await?;
        // Held to the end, packing included: it shows the build in progress and keeps the
        // owner's turn.
        let entry = self
            .image_work
            .start_build(&request.owner, &reference)
            .map_err(|busy| busy_error(busy, &reference))?;

        let (archive, context_bytes) = pack_as(context, request.uid, request.gid).await?;
        let (recipe, archive) = tokio::task::spawn_blocking(move || {
            let recipe = read_member(&archive, &file_name);
            (recipe, archive)
        })
        .await
        .map_err(|e| EngineError::Docker(format!("reading the context: {e}")))?;
        let recipe = recipe.map_err(|e| refused("dockerfile-unreadable", e))?;
        let dockerfile_sha256 = hex(&Sha256::digest(&recipe.bytes));
        let text = String::from_utf8_lossy(&recipe.bytes);
        let parent = dockerfile_base(&text).ok_or_else(|| {
            refused(
                "dockerfile-no-from",
                format!("{} has no FROM line", request.dockerfile),
            )
        })?;
        let (parent_id, parent_labels) = match docker.inspect_image(&parent).await {
            Ok(image) => (
                image.id.unwrap_or_default(),
                image.config.and_then(|c| c.labels).unwrap_or_default(),
            ),
            // `FROM builder` may name an earlier stage of the same Dockerfile.
            Err(_) if stage_names(&text).contains(&parent.to_lowercase()) => {
                (String::new(), HashMap::new())
            }
            Err(_) => {
                return Err(refused(
                    "base-missing",
                    format!(
                        "the base image {parent} is not on this host, and builds have no network; copy it here first (`image copy`)"
                    ),
                ));
            }
        };
        check_build_workdirs(&docker, &text, &request.dockerfile).await?;
        let docker = confined(docker, cgroup, limits).await?;
        let labels = built_image_labels(
            &parent_labels,
            request,
            &parent,
            &parent_id,
            &dockerfile_sha256,
            chrono::Utc::now(),
        );
        let options = BuildImageOptionsBuilder::new()
            .dockerfile(&recipe.name)
            .t(&reference)
            .labels(&labels)
            .networkmode("none")
            .rm(true)
            .forcerm(true)
            .build();
        let mut output = docker.build_image(
            options,
            None,
            Some(bollard::body_full(Bytes::from(archive))),
        );
        let mut tail: Vec<String> = Vec::new();
        while let Some(step) = output.next().await {
            match step {
                Ok(info) => {
                    for line in info.stream.iter().flat_map(|s| s.lines()) {
                        let line = line.trim_end();
                        if line.is_empty() {
                            continue;
                        }
                        if line.starts_with("Step ") {
                            *entry.work.step.lock().unwrap() = Some(line.to_string());
                        }
                        if tail.len() == LOG_TAIL_LINES {
                            tail.remove(0);
                        }
                        tail.push(line.to_string());
                    }
                }
                Err(e) => {
                    let why = match e {
                        bollard::errors::Error::DockerStreamError { error } => error,
                        other => other.to_string(),
                    };
                    return Err(refused(
                        "build-failed",
                        format!("the build failed: {why}\n{}", tail.join("\n")),
                    ));
                }
            }
        }
        let image = docker.inspect_image(&reference).await?;
        self.relist_images().await?;
        Ok(BuiltImage {
            id: image.id.unwrap_or_default(),
            reference,
            size_bytes: image.size.unwrap_or(0).max(0) as u64,
            parent,
            dockerfile_sha256,
            log_tail: tail,
            context_bytes,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// `docker` with its build requests placed under the cgroup `cgroup` (made or updated here
/// with the process limit) and with memory and CPU limits for each step. A build that cannot
/// be bounded does not start.
async fn confined(
    docker: bollard::Docker,
    cgroup: &str,
    limits: &ResourceLimits,
) -> Result<bollard::Docker, EngineError> {
    let unconfined = |why: String| {
        refused(
            "build-unconfined",
            format!("the build was not started because its processes could not be limited: {why}"),
        )
    };
    let info = docker.info().await?;
    let layout = CgroupLayout::of(&info).map_err(unconfined)?;
    let (name, pids) = (cgroup.to_string(), limits.pids);
    let parent = tokio::task::spawn_blocking(move || {
        prepare_parent(layout, Path::new(CGROUP_ROOT), &name, pids)
    })
    .await
    .map_err(|e| EngineError::Docker(format!("preparing the build's cgroup: {e}")))?
    .map_err(unconfined)?;
    tracing::debug!(?layout, %parent, pids, memory = limits.memory_bytes, cpu_millis = limits.cpu_millis, "build confined");
    Ok(with_build_query(docker, build_query(&parent, limits)))
}

/// The context as a tar archive, made by `tar` running as `uid`:`gid` (no supplementary
/// groups), so the kernel, not the agent, decides what may be read.
async fn pack_as(context: &Path, uid: u32, gid: u32) -> Result<(Vec<u8>, u64), EngineError> {
    let mut child = tokio::process::Command::new("tar")
        .arg("--create")
        .arg("--file=-")
        .arg("--directory")
        .arg(context)
        .arg(".")
        .env_clear()
        .current_dir("/")
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| EngineError::Docker(format!("running tar for the build context: {e}")))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut archive = Vec::new();
    let mut piece = vec![0u8; 256 << 10];
    loop {
        let n = stdout
            .read(&mut piece)
            .await
            .map_err(|e| EngineError::Docker(format!("reading the build context: {e}")))?;
        if n == 0 {
            break;
        }
        if archive.len() as u64 + n as u64 > MAX_CONTEXT_BYTES {
            let _ = child.kill().await;
            return Err(refused(
                "context-too-large",
                format!(
                    "the build context {} is over {} GiB; keep only what the build needs next to the Dockerfile",
                    context.display(),
                    MAX_CONTEXT_BYTES >> 30
                ),
            ));
        }
        archive.extend_from_slice(&piece[..n]);
    }
    let status = child
        .wait()
        .await
        .map_err(|e| EngineError::Docker(format!("waiting for tar: {e}")))?;
    let errors = errors.await.unwrap_or_default();
    if !status.success() {
        let first: Vec<&str> = errors.lines().take(3).collect();
        return Err(refused(
            "context-unreadable",
            format!(
                "the build context cannot be read with your permissions: {}",
                first.join("; ")
            ),
        ));
    }
    let size = archive.len() as u64;
    Ok((archive, size))
}

struct Recipe {
    /// Its name in the context, as `docker build` wants it.
    name: String,
    bytes: Vec<u8>,
}

/// The Dockerfile `name` at the top of the packed context.
fn read_member(archive: &[u8], name: &str) -> Result<Recipe, String> {
    let mut cursor = std::io::Cursor::new(archive);
    let mut tar = tar::Archive::new(&mut cursor);
    let entries = tar.entries().map_err(|e| e.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let relative = path.strip_prefix(".").unwrap_or(&path);
        if relative != Path::new(name) {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err(format!("{name} is not a regular file"));
        }
        if entry.size() > MAX_DOCKERFILE_BYTES {
            return Err(format!("{name} is over 1 MiB; is it really a Dockerfile?"));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        return Ok(Recipe {
            name: relative.display().to_string(),
            bytes,
        });
    }
    let _ = cursor.rewind();
    Err(format!(
        "{name} is not in its directory (or you cannot read it)"
    ))
}

/// Stage names (`FROM x AS name`), lower-cased.
/// Refuses a build any step of which would run in `/proc` ([`check_workdir`]): a build's steps
/// run as root, so there a working directory in `/proc` is a way out of the build container.
/// Checked: the working directory and `ONBUILD WORKDIR`s of every base image, and every
/// `WORKDIR` of the Dockerfile as it resolves. A stage named as a base is followed from `/`,
/// which is at least as strict: the `..` that climb out of its directory are no-ops there.
async fn check_build_workdirs(
    docker: &bollard::Docker,
    text: &str,
    dockerfile: &str,
) -> Result<(), EngineError> {
    let mut current = String::from("/");
    for line in logical_lines(text) {
        let mut words = line.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        if keyword.eq_ignore_ascii_case("WORKDIR") {
            current = check_workdir_step(&current, &line, dockerfile)?;
            continue;
        }
        if !keyword.eq_ignore_ascii_case("FROM") {
            continue;
        }
        let base = words.find(|w| !w.starts_with("--")).unwrap_or_default();
        let Ok(image) = docker.inspect_image(base).await else {
            current = String::from("/");
            continue;
        };
        let config = image.config.unwrap_or_default();
        let whose = format!("the base image {base}");
        current = resolve_workdir("/", config.working_dir.as_deref().unwrap_or_default());
        check_workdir(&current, &whose)?;
        for trigger in config.on_build.unwrap_or_default() {
            check_workdir_step(&current, &trigger, &whose)?;
        }
    }
    Ok(())
}

/// Where a `WORKDIR …` step (any other step is let through) leaves a build that was in
/// `current`; refused in `/proc`, or written with a variable, which only the builder expands.
fn check_workdir_step(current: &str, step: &str, whose: &str) -> Result<String, EngineError> {
    let mut words = step.trim_start().splitn(2, char::is_whitespace);
    if !words
        .next()
        .is_some_and(|k| k.eq_ignore_ascii_case("WORKDIR"))
    {
        return Ok(current.to_string());
    }
    let dir = words.next().unwrap_or_default().trim();
    if dir.contains('$') {
        return Err(refused(
            "image-workdir",
            format!(
                "{whose}: WORKDIR {dir} uses a variable, which the agent cannot check before the build runs; write the path out"
            ),
        ));
    }
    let resolved = resolve_workdir(current, dir);
    check_workdir(&resolved, whose)?;
    Ok(resolved)
}

/// The Dockerfile's instructions, each on one line: continued lines (ending in `\`, or in
/// `` ` `` under that escape directive) joined, comments and blank lines left out.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        if pending.is_empty() && (line.trim_start().starts_with('#') || line.trim().is_empty()) {
            continue;
        }
        match line.strip_suffix('\\').or_else(|| line.strip_suffix('`')) {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    if !pending.trim().is_empty() {
        out.push(pending);
    }
    out
}

fn stage_names(text: &str) -> HashSet<String> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let from = words.first()?.eq_ignore_ascii_case("FROM");
            let at = words.iter().position(|w| w.eq_ignore_ascii_case("AS"))?;
            from.then(|| words.get(at + 1).map(|w| w.to_lowercase()))?
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdir_steps_are_followed_through_continued_lines() {
        let text = "# escape=`\nFROM base AS one\nWORKDIR /tmp\nRUN echo \\\n  WORKDIR /proc\nWORKDIR `\n  ../proc/self/fd/8\n";
        let lines = logical_lines(text);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[2].starts_with("RUN echo"), "{lines:?}");
        let mut current = String::from("/");
        let mut refused_at = None;
        for line in &lines {
            match check_workdir_step(&current, line, "Dockerfile") {
                Ok(next) => current = next,
                Err(e) => {
                    refused_at = Some(e.to_string());
                    break;
                }
            }
        }
        let refused_at = refused_at.expect("the continued WORKDIR");
        assert!(refused_at.contains("/proc/self/fd/8"), "{refused_at}");
        assert_eq!(
            check_workdir_step("/", "WORKDIR /srv/$HOME", "x")
                .unwrap_err()
                .to_string(),
            "x: WORKDIR /srv/$HOME uses a variable, which the agent cannot check before the build runs; write the path out"
        );
        assert_eq!(
            check_workdir_step("/srv", "workdir data", "x").unwrap(),
            "/srv/data"
        );
        assert_eq!(
            check_workdir_step("/srv", "RUN cd /proc", "x").unwrap(),
            "/srv"
        );
    }

    #[test]
    fn stages_are_known_by_name() {
        let text = "FROM base:1 AS Builder\nRUN make\nFROM builder\n";
        assert_eq!(stage_names(text), HashSet::from(["builder".to_string()]));
        assert_eq!(dockerfile_base(text).as_deref(), Some("builder"));
        assert_eq!(
            dockerfile_base("from --platform=linux/amd64 img:2 as x").as_deref(),
            Some("img:2")
        );
        assert_eq!(dockerfile_base("# nothing\nRUN x"), None);
    }
}
