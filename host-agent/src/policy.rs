//! Default-deny container policy: the only way a launch request becomes a Docker
//! container configuration. Everything not expressible in [`LaunchSpec`] is never
//! set, and every refusal names the rule it enforces.
//!
//! The function is pure apart from resolving bind-mount sources on the
//! filesystem: symlinks must be followed before deciding whether a path lies
//! under a mount root, or `~/link -> /` would escape.

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use bollard::models::{ContainerCreateBody, DeviceRequest, HostConfig, Mount, MountType};
use chrono::{DateTime, Utc};
use maison_agent_api::{LaunchSpec, MaisonLabels, labels};

/// A rule of the policy. Its name is part of the API: the bot shows it to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    NoPrivileged,
    NoHostNetwork,
    NoHostPid,
    NoHostIpc,
    NoHostUserns,
    NoCapAdd,
    NoDevices,
    NoSecurityOpt,
    GpuUnknown,
    GpuDuplicate,
    MountNotAbsolute,
    MountParentDir,
    MountHostRoot,
    MountDockerSocket,
    MountOutsideRoots,
    MountSourceMissing,
    MountTarget,
    DatasetReadOnly,
    InvalidImage,
    InvalidName,
    InvalidOwner,
    InvalidEnv,
    InvalidUser,
    InvalidIdempotencyKey,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoPrivileged => "no-privileged",
            Rule::NoHostNetwork => "no-host-network",
            Rule::NoHostPid => "no-host-pid",
            Rule::NoHostIpc => "no-host-ipc",
            Rule::NoHostUserns => "no-host-userns",
            Rule::NoCapAdd => "no-cap-add",
            Rule::NoDevices => "no-devices",
            Rule::NoSecurityOpt => "no-security-opt",
            Rule::GpuUnknown => "gpu-unknown",
            Rule::GpuDuplicate => "gpu-duplicate",
            Rule::MountNotAbsolute => "mount-not-absolute",
            Rule::MountParentDir => "mount-parent-dir",
            Rule::MountHostRoot => "mount-host-root",
            Rule::MountDockerSocket => "mount-docker-socket",
            Rule::MountOutsideRoots => "mount-outside-roots",
            Rule::MountSourceMissing => "mount-source-missing",
            Rule::MountTarget => "mount-target",
            Rule::DatasetReadOnly => "dataset-read-only",
            Rule::InvalidImage => "invalid-image",
            Rule::InvalidName => "invalid-name",
            Rule::InvalidOwner => "invalid-owner",
            Rule::InvalidEnv => "invalid-env",
            Rule::InvalidUser => "invalid-user",
            Rule::InvalidIdempotencyKey => "invalid-idempotency-key",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (rule {rule})")]
pub struct PolicyRefusal {
    pub rule: Rule,
    pub message: String,
}

fn refuse<T>(rule: Rule, message: impl Into<String>) -> Result<T, PolicyRefusal> {
    Err(PolicyRefusal {
        rule,
        message: message.into(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    Home,
    Work,
    Datasets,
}

/// What the policy needs to know about this host. Roots are canonical paths.
#[derive(Debug, Clone)]
pub struct Policy {
    roots: Vec<(RootKind, PathBuf)>,
    docker_socket: PathBuf,
    gpu_count: u32,
    drop_all_capabilities: bool,
    /// The GPUs are the simulated probe's: they are booked and labelled as usual, but no device
    /// is requested from Docker (there is none to attach, and the engine may lack the runtime).
    simulated_gpus: bool,
}

impl Policy {
    /// Marks the host's GPUs as simulated (see the field).
    pub fn with_simulated_gpus(mut self, simulated: bool) -> Policy {
        self.simulated_gpus = simulated;
        self
    }

    /// Builds the policy, canonicalising the configured roots. A root that does not
    /// exist is skipped with a warning rather than failing the agent: no mount can
    /// be under it anyway.
    pub fn new(
        roots: &crate::config::MountRoots,
        docker_socket: &Path,
        gpu_count: u32,
        drop_all_capabilities: bool,
    ) -> Policy {
        let mut out = Vec::new();
        for (kind, root) in [
            (RootKind::Home, &roots.home),
            (RootKind::Work, &roots.work),
            (RootKind::Datasets, &roots.datasets),
        ] {
            let Some(root) = root else { continue };
            match std::fs::canonicalize(root) {
                Ok(c) if c == Path::new("/") => {
                    tracing::error!(root = %root.display(), "a mount root may not be / itself; ignoring it");
                }
                Ok(c) => out.push((kind, c)),
                Err(e) => {
                    tracing::warn!(root = %root.display(), error = %e, "mount root not usable; mounts under it will be refused");
                }
            }
        }
        Policy {
            roots: out,
            docker_socket: std::fs::canonicalize(docker_socket)
                .unwrap_or_else(|_| docker_socket.to_path_buf()),
            gpu_count,
            drop_all_capabilities,
            simulated_gpus: false,
        }
    }

    pub fn gpu_count(&self) -> u32 {
        self.gpu_count
    }
}

/// Turns a launch request into the Docker container configuration, or refuses it.
///
/// `now` becomes the `maison.created_at` label.
pub fn build_container_config(
    spec: &LaunchSpec,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<ContainerCreateBody, PolicyRefusal> {
    check_host_access(spec)?;
    check_identity(spec)?;
    let gpus = check_gpus(&spec.gpus, policy.gpu_count)?;
    let mounts = spec
        .mounts
        .iter()
        .map(|m| resolve_mount(m, policy))
        .collect::<Result<Vec<_>, _>>()?;
    let env = check_env(spec)?;
    let user = match (spec.uid, spec.gid) {
        // A user mapping that says "root" is a configuration mistake at best: a chat message
        // must never become root on a host, even inside a container with a bind mount.
        (Some(0), _) | (_, Some(0)) => {
            return refuse(
                Rule::InvalidUser,
                "uid/gid 0 (root) is refused; map the Slack user to their own Unix account",
            );
        }
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(_)) => {
            return refuse(
                Rule::InvalidUser,
                "a gid was given without a uid; send both, or neither to use the image's user",
            );
        }
        (None, None) => None,
    };

    let mut label_map: HashMap<String, String> = MaisonLabels {
        owner: spec.owner.clone(),
        owner_name: spec.owner_name.clone(),
        booking: spec.booking.clone(),
        image_source: Some(spec.image_source),
        created_at: Some(now),
        idempotency_key: Some(spec.idempotency_key.clone()),
    }
    .to_labels();
    label_map.insert(
        labels::GPUS.to_string(),
        gpus.iter()
            .map(|g| g.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );

    // Only set when GPUs are asked for: engines without the NVIDIA runtime reject
    // any device request, and CPU-only launches must keep working there.
    let device_requests = (!gpus.is_empty() && !policy.simulated_gpus).then(|| {
        vec![DeviceRequest {
            driver: Some("nvidia".to_string()),
            device_ids: Some(gpus.iter().map(|g| g.to_string()).collect()),
            capabilities: Some(vec![vec!["gpu".to_string()]]),
            ..Default::default()
        }]
    });

    let host_config = HostConfig {
        mounts: (!mounts.is_empty()).then_some(mounts),
        privileged: Some(false),
        security_opt: Some(vec!["no-new-privileges:true".to_string()]),
        cap_drop: policy
            .drop_all_capabilities
            .then(|| vec!["ALL".to_string()]),
        device_requests,
        // A tiny init reaps zombies of long interactive sessions.
        init: Some(true),
        ..Default::default()
    };

    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: (!spec.command.is_empty()).then(|| spec.command.clone()),
        env: (!env.is_empty()).then_some(env),
        user,
        labels: Some(label_map),
        // Like `docker run -dit`: images whose default command is a shell stay up
        // so that users can `docker exec` into them.
        tty: Some(true),
        open_stdin: Some(true),
        host_config: Some(host_config),
        ..Default::default()
    })
}

fn check_host_access(spec: &LaunchSpec) -> Result<(), PolicyRefusal> {
    if spec.privileged {
        return refuse(
            Rule::NoPrivileged,
            "privileged containers are never allowed: they are root on the host",
        );
    }
    if let Some(mode) = &spec.network_mode
        && !matches!(mode.as_str(), "" | "default" | "bridge")
    {
        return refuse(
            Rule::NoHostNetwork,
            format!(
                "network mode {mode:?} is not allowed; containers use the default bridge network"
            ),
        );
    }
    for (value, rule, what) in [
        (&spec.pid_mode, Rule::NoHostPid, "PID"),
        (&spec.ipc_mode, Rule::NoHostIpc, "IPC"),
        (&spec.userns_mode, Rule::NoHostUserns, "user"),
    ] {
        if let Some(mode) = value
            && !mode.is_empty()
        {
            return refuse(
                rule,
                format!(
                    "{what} namespace mode {mode:?} is not allowed; containers get their own namespaces"
                ),
            );
        }
    }
    if !spec.cap_add.is_empty() {
        return refuse(
            Rule::NoCapAdd,
            format!(
                "extra capabilities are not allowed (asked for {})",
                spec.cap_add.join(", ")
            ),
        );
    }
    if !spec.devices.is_empty() {
        return refuse(
            Rule::NoDevices,
            format!(
                "host devices cannot be passed in (asked for {}); GPUs are requested with `gpus`",
                spec.devices.join(", ")
            ),
        );
    }
    if !spec.security_opt.is_empty() {
        return refuse(
            Rule::NoSecurityOpt,
            format!(
                "security options are set by the agent and cannot be changed (asked for {})",
                spec.security_opt.join(", ")
            ),
        );
    }
    Ok(())
}

fn check_identity(spec: &LaunchSpec) -> Result<(), PolicyRefusal> {
    let image = spec.image.as_str();
    if image.is_empty()
        || image.len() > 255
        || image.starts_with('-')
        || image.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return refuse(
            Rule::InvalidImage,
            format!("{image:?} is not an image reference (e.g. pytorch/pytorch:2.3.0-cuda12.1)"),
        );
    }
    if let Some(name) = &spec.name {
        let mut chars = name.chars();
        let ok = name.len() <= 128
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return refuse(
                Rule::InvalidName,
                format!(
                    "{name:?} is not a container name: letters, digits, '_', '.', '-', starting with a letter or digit"
                ),
            );
        }
    }
    if spec.owner.trim().is_empty() || spec.owner.len() > 64 {
        return refuse(
            Rule::InvalidOwner,
            "every launch needs an owner (the Slack user id)",
        );
    }
    let key = spec.idempotency_key.as_str();
    if key.is_empty() || key.len() > 128 || key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return refuse(
            Rule::InvalidIdempotencyKey,
            "the idempotency key must be 1-128 visible characters",
        );
    }
    Ok(())
}

fn check_gpus(gpus: &[u32], count: u32) -> Result<Vec<u32>, PolicyRefusal> {
    let mut seen = BTreeSet::new();
    for &g in gpus {
        if g >= count {
            return refuse(
                Rule::GpuUnknown,
                if count == 0 {
                    format!("GPU {g} does not exist: this host has no GPUs")
                } else {
                    format!("GPU {g} does not exist: this host has GPUs 0-{}", count - 1)
                },
            );
        }
        if !seen.insert(g) {
            return refuse(Rule::GpuDuplicate, format!("GPU {g} is listed twice"));
        }
    }
    Ok(gpus.to_vec())
}

fn check_env(spec: &LaunchSpec) -> Result<Vec<String>, PolicyRefusal> {
    spec.env
        .iter()
        .map(|(k, v)| {
            let key_ok = !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                && !k.starts_with(|c: char| c.is_ascii_digit());
            if !key_ok || v.contains('\0') {
                return refuse(
                    Rule::InvalidEnv,
                    format!("environment variable {k:?} is not valid (letters, digits, '_')"),
                );
            }
            Ok(format!("{k}={v}"))
        })
        .collect()
}

fn lexical_check(path: &str, what: &str, parent_rule: Rule) -> Result<PathBuf, PolicyRefusal> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return refuse(
            Rule::MountNotAbsolute,
            format!("mount {what} {path:?} must be an absolute path"),
        );
    }
    if p.components().any(|c| c == Component::ParentDir) {
        return refuse(
            parent_rule,
            format!("mount {what} {path:?} may not contain '..'"),
        );
    }
    Ok(p.to_path_buf())
}

fn resolve_mount(m: &maison_agent_api::MountSpec, policy: &Policy) -> Result<Mount, PolicyRefusal> {
    let source = lexical_check(&m.source, "source", Rule::MountParentDir)?;
    let target = lexical_check(&m.target, "target", Rule::MountTarget)?;
    if target == Path::new("/") {
        return refuse(
            Rule::MountTarget,
            "a mount cannot replace the container's root directory",
        );
    }
    if source == Path::new("/") {
        return refuse(
            Rule::MountHostRoot,
            "the host's root directory cannot be mounted",
        );
    }
    let canonical = std::fs::canonicalize(&source).map_err(|e| PolicyRefusal {
        rule: Rule::MountSourceMissing,
        message: format!("mount source {:?} cannot be used: {e}", m.source),
    })?;
    if canonical == Path::new("/") {
        return refuse(
            Rule::MountHostRoot,
            format!(
                "mount source {:?} resolves to the host's root directory",
                m.source
            ),
        );
    }
    // Mounting the socket, or any directory above it, hands out root on the host.
    if policy.docker_socket.starts_with(&canonical) {
        return refuse(
            Rule::MountDockerSocket,
            format!(
                "mount source {:?} would expose the Docker socket {}",
                m.source,
                policy.docker_socket.display()
            ),
        );
    }
    let Some((kind, _)) = policy
        .roots
        .iter()
        .find(|(_, root)| canonical.starts_with(root))
    else {
        let allowed: Vec<String> = policy
            .roots
            .iter()
            .map(|(_, r)| r.display().to_string())
            .collect();
        return refuse(
            Rule::MountOutsideRoots,
            if allowed.is_empty() {
                format!(
                    "mount source {:?} refused: this agent allows no mounts",
                    m.source
                )
            } else {
                format!(
                    "mount source {:?} (resolved to {}) is outside the allowed roots: {}",
                    m.source,
                    canonical.display(),
                    allowed.join(", ")
                )
            },
        );
    };
    let read_only = match (kind, m.read_only) {
        (RootKind::Datasets, Some(false)) => {
            return refuse(
                Rule::DatasetReadOnly,
                format!(
                    "datasets are mounted read-only; {:?} was asked read-write",
                    m.source
                ),
            );
        }
        (RootKind::Datasets, _) => true,
        (_, ro) => ro.unwrap_or(false),
    };
    Ok(Mount {
        target: Some(m.target.clone()),
        source: Some(canonical.display().to_string()),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MountRoots;
    use maison_agent_api::MountSpec;

    struct Fixture {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        policy: Policy,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        for d in [
            "home/ada",
            "work/p1",
            "datasets/imagenet",
            "elsewhere",
            "run",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("run/docker.sock"), "").unwrap();
        std::os::unix::fs::symlink("/", root.join("home/ada/escape")).unwrap();
        std::os::unix::fs::symlink(root.join("datasets/imagenet"), root.join("home/ada/data"))
            .unwrap();
        let roots = MountRoots {
            home: Some(root.join("home")),
            work: Some(root.join("work")),
            datasets: Some(root.join("datasets")),
        };
        let policy = Policy::new(&roots, &root.join("run/docker.sock"), 2, false);
        Fixture {
            _tmp: tmp,
            root,
            policy,
        }
    }

    fn spec() -> LaunchSpec {
        LaunchSpec {
            image: "maison-test/busybox:latest".into(),
            owner: "U1".into(),
            idempotency_key: "k1".into(),
            ..Default::default()
        }
    }

    fn now() -> DateTime<Utc> {
        "2025-01-02T03:04:05Z".parse().unwrap()
    }

    fn mount(source: &Path, ro: Option<bool>) -> MountSpec {
        MountSpec {
            source: source.display().to_string(),
            target: "/mnt".into(),
            read_only: ro,
        }
    }

    #[test]
    fn an_explicit_root_user_is_refused() {
        let f = fixture();
        for (uid, gid) in [(Some(0), Some(0)), (Some(0), None), (Some(1000), Some(0))] {
            let mut s = spec();
            s.uid = uid;
            s.gid = gid;
            let refusal = build_container_config(&s, &f.policy, now()).unwrap_err();
            assert_eq!(refusal.rule, Rule::InvalidUser, "{uid:?}:{gid:?}");
            assert!(refusal.message.contains("root"));
        }
    }

    #[test]
    fn simulated_gpus_are_labelled_but_never_requested_from_docker() {
        let f = fixture();
        let policy = f.policy.clone().with_simulated_gpus(true);
        let mut s = spec();
        s.gpus = vec![1];
        let body = build_container_config(&s, &policy, now()).unwrap();
        assert_eq!(body.labels.unwrap()[labels::GPUS], "1");
        assert_eq!(body.host_config.unwrap().device_requests, None);
    }

    #[test]
    fn gpu_less_launch_has_no_device_requests_and_is_hardened() {
        let f = fixture();
        let body = build_container_config(&spec(), &f.policy, now()).unwrap();
        let hc = body.host_config.unwrap();
        assert_eq!(hc.device_requests, None);
        assert_eq!(hc.privileged, Some(false));
        assert_eq!(
            hc.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(hc.network_mode, None);
        assert_eq!(hc.cap_add, None);
        assert_eq!(hc.devices, None);
        let labels = body.labels.unwrap();
        assert_eq!(labels[labels::OWNER], "U1");
        assert_eq!(labels[labels::CREATED_AT], "2025-01-02T03:04:05Z");
        assert_eq!(labels[labels::IMAGE_SOURCE], "custom");
        assert_eq!(labels[labels::IDEMPOTENCY_KEY], "k1");
    }

    #[test]
    fn gpus_become_one_nvidia_device_request() {
        let f = fixture();
        let mut s = spec();
        s.gpus = vec![1, 0];
        s.uid = Some(1000);
        s.gid = Some(100);
        let body = build_container_config(&s, &f.policy, now()).unwrap();
        assert_eq!(body.user.as_deref(), Some("1000:100"));
        let dr = body.host_config.unwrap().device_requests.unwrap();
        assert_eq!(dr.len(), 1);
        assert_eq!(dr[0].driver.as_deref(), Some("nvidia"));
        assert_eq!(dr[0].device_ids, Some(vec!["1".into(), "0".into()]));
        assert_eq!(dr[0].capabilities, Some(vec![vec!["gpu".to_string()]]));
        assert_eq!(body.labels.unwrap()[labels::GPUS], "1,0");
    }

    #[test]
    fn dataset_mounts_are_forced_read_only_and_home_is_writable() {
        let f = fixture();
        let mut s = spec();
        s.mounts = vec![
            mount(&f.root.join("datasets/imagenet"), None),
            MountSpec {
                target: "/home/ada".into(),
                ..mount(&f.root.join("home/ada"), None)
            },
        ];
        let body = build_container_config(&s, &f.policy, now()).unwrap();
        let mounts = body.host_config.unwrap().mounts.unwrap();
        assert_eq!(mounts[0].read_only, Some(true));
        assert_eq!(mounts[1].read_only, Some(false));
        assert_eq!(mounts[0].typ, Some(MountType::BIND));
    }

    #[test]
    fn symlinks_are_followed_before_judging() {
        let f = fixture();
        let mut s = spec();
        s.mounts = vec![mount(&f.root.join("home/ada/escape"), None)];
        let err = build_container_config(&s, &f.policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::MountHostRoot);
        // A link from home into datasets is still a dataset: read-only.
        s.mounts = vec![mount(&f.root.join("home/ada/data"), Some(false))];
        let err = build_container_config(&s, &f.policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::DatasetReadOnly);
    }

    #[test]
    fn refusals_name_their_rule() {
        let f = fixture();
        type Case = (&'static str, Box<dyn Fn(&mut LaunchSpec, &Path)>, Rule);
        let cases: Vec<Case> = vec![
            (
                "privileged",
                Box::new(|s, _| s.privileged = true),
                Rule::NoPrivileged,
            ),
            (
                "host net",
                Box::new(|s, _| s.network_mode = Some("host".into())),
                Rule::NoHostNetwork,
            ),
            (
                "container net",
                Box::new(|s, _| s.network_mode = Some("container:x".into())),
                Rule::NoHostNetwork,
            ),
            (
                "host pid",
                Box::new(|s, _| s.pid_mode = Some("host".into())),
                Rule::NoHostPid,
            ),
            (
                "host ipc",
                Box::new(|s, _| s.ipc_mode = Some("host".into())),
                Rule::NoHostIpc,
            ),
            (
                "host userns",
                Box::new(|s, _| s.userns_mode = Some("host".into())),
                Rule::NoHostUserns,
            ),
            (
                "cap add",
                Box::new(|s, _| s.cap_add = vec!["SYS_ADMIN".into()]),
                Rule::NoCapAdd,
            ),
            (
                "devices",
                Box::new(|s, _| s.devices = vec!["/dev/sda".into()]),
                Rule::NoDevices,
            ),
            (
                "seccomp",
                Box::new(|s, _| s.security_opt = vec!["seccomp=unconfined".into()]),
                Rule::NoSecurityOpt,
            ),
            ("gpu 2", Box::new(|s, _| s.gpus = vec![2]), Rule::GpuUnknown),
            (
                "gpu dup",
                Box::new(|s, _| s.gpus = vec![0, 0]),
                Rule::GpuDuplicate,
            ),
            (
                "relative",
                Box::new(|s, _| s.mounts = vec![mount(Path::new("home/ada"), None)]),
                Rule::MountNotAbsolute,
            ),
            (
                "dotdot",
                Box::new(|s, r| s.mounts = vec![mount(&r.join("home/ada/../../elsewhere"), None)]),
                Rule::MountParentDir,
            ),
            (
                "root",
                Box::new(|s, _| s.mounts = vec![mount(Path::new("/"), None)]),
                Rule::MountHostRoot,
            ),
            (
                "socket",
                Box::new(|s, r| s.mounts = vec![mount(&r.join("run/docker.sock"), None)]),
                Rule::MountDockerSocket,
            ),
            (
                "socket dir",
                Box::new(|s, r| s.mounts = vec![mount(&r.join("run"), None)]),
                Rule::MountDockerSocket,
            ),
            (
                "outside",
                Box::new(|s, r| s.mounts = vec![mount(&r.join("elsewhere"), None)]),
                Rule::MountOutsideRoots,
            ),
            (
                "missing",
                Box::new(|s, r| s.mounts = vec![mount(&r.join("home/nobody"), None)]),
                Rule::MountSourceMissing,
            ),
            (
                "rw dataset",
                Box::new(|s, r| s.mounts = vec![mount(&r.join("datasets/imagenet"), Some(false))]),
                Rule::DatasetReadOnly,
            ),
            (
                "target /",
                Box::new(|s, r| {
                    s.mounts = vec![MountSpec {
                        target: "/".into(),
                        ..mount(&r.join("home/ada"), None)
                    }]
                }),
                Rule::MountTarget,
            ),
            (
                "image",
                Box::new(|s, _| s.image = "bad image".into()),
                Rule::InvalidImage,
            ),
            (
                "name",
                Box::new(|s, _| s.name = Some("../x".into())),
                Rule::InvalidName,
            ),
            (
                "owner",
                Box::new(|s, _| s.owner = " ".into()),
                Rule::InvalidOwner,
            ),
            (
                "env",
                Box::new(|s, _| {
                    s.env.insert("A=B".into(), "x".into());
                }),
                Rule::InvalidEnv,
            ),
            (
                "gid only",
                Box::new(|s, _| s.gid = Some(5)),
                Rule::InvalidUser,
            ),
            (
                "key",
                Box::new(|s, _| s.idempotency_key = String::new()),
                Rule::InvalidIdempotencyKey,
            ),
        ];
        for (what, mutate, rule) in cases {
            let mut s = spec();
            mutate(&mut s, &f.root);
            let err = build_container_config(&s, &f.policy, now()).expect_err(what);
            assert_eq!(err.rule, rule, "{what}: {}", err.message);
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn no_roots_means_no_mounts() {
        let f = fixture();
        let policy = Policy::new(
            &MountRoots::default(),
            Path::new("/var/run/docker.sock"),
            0,
            true,
        );
        let mut s = spec();
        s.mounts = vec![mount(&f.root.join("home/ada"), None)];
        let err = build_container_config(&s, &policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::MountOutsideRoots);
        assert!(err.message.contains("no mounts"), "{}", err.message);
        let body = build_container_config(&spec(), &policy, now()).unwrap();
        assert_eq!(
            body.host_config.unwrap().cap_drop,
            Some(vec!["ALL".to_string()])
        );
    }
}
