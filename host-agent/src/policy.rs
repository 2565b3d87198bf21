//! Default-deny container policy: the only way a launch request becomes a Docker
//! container configuration. Everything not expressible in [`LaunchSpec`] is never
//! set, and every refusal names the rule it enforces.
//!
//! Bind-mount sources are not judged by name: each is *opened* beneath its mount root without
//! following any symbolic link, and the open directory is what the container gets (see
//! [`crate::mounts`]). A path checked by name and resolved again later by Docker could be
//! swapped for a link to `/` in between; an open directory cannot.
//!
//! Refusals quote paths as the user wrote them, never as they resolve on the host.

use std::collections::{BTreeSet, HashMap};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use bollard::models::{ContainerCreateBody, DeviceRequest, HostConfig, HostConfigLogConfig};
use chrono::{DateTime, Utc};
use maison_agent_api::datasets::{DatasetMount, MOUNT_PARENT, is_dataset_name, is_hash};
use maison_agent_api::{
    ContainerSummary, LaunchSpec, MAX_CONTAINER_ID, MaisonLabels, ResourceLimits, labels,
};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use crate::config::{ByteSize, MountRoots, PolicyConfig, ResourceConfig};

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
    GpuEnv,
    MountNotAbsolute,
    MountParentDir,
    MountHostRoot,
    MountDockerSocket,
    MountOutsideRoots,
    MountSourceMissing,
    MountSymlink,
    MountNotOwner,
    MountContainsDatasets,
    MountTarget,
    TooManyMounts,
    MountsUnavailable,
    DatasetReadOnly,
    DatasetNotReady,
    DatasetChanged,
    InvalidDataset,
    InvalidImage,
    ImageNotYours,
    ImageWorkdir,
    ShareUsed,
    InvalidName,
    InvalidOwner,
    InvalidEnv,
    InvalidCommand,
    InvalidUser,
    MissingUser,
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
            Rule::GpuEnv => "gpu-env",
            Rule::MountNotAbsolute => "mount-not-absolute",
            Rule::MountParentDir => "mount-parent-dir",
            Rule::MountHostRoot => "mount-host-root",
            Rule::MountDockerSocket => "mount-docker-socket",
            Rule::MountOutsideRoots => "mount-outside-roots",
            Rule::MountSourceMissing => "mount-source-missing",
            Rule::MountSymlink => "mount-symlink",
            Rule::MountNotOwner => "mount-not-owner",
            Rule::MountContainsDatasets => "mount-contains-datasets",
            Rule::MountTarget => "mount-target",
            Rule::TooManyMounts => "too-many-mounts",
            Rule::MountsUnavailable => "mounts-unavailable",
            Rule::DatasetReadOnly => "dataset-read-only",
            Rule::DatasetNotReady => "dataset-not-ready",
            Rule::DatasetChanged => "dataset-changed",
            Rule::InvalidDataset => "invalid-dataset",
            Rule::InvalidImage => "invalid-image",
            Rule::ImageNotYours => "image-not-yours",
            Rule::ImageWorkdir => "image-workdir",
            Rule::ShareUsed => "share-used",
            Rule::InvalidName => "invalid-name",
            Rule::InvalidOwner => "invalid-owner",
            Rule::InvalidEnv => "invalid-env",
            Rule::InvalidCommand => "invalid-command",
            Rule::InvalidUser => "invalid-user",
            Rule::MissingUser => "missing-user",
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

impl RootKind {
    fn as_str(self) -> &'static str {
        match self {
            RootKind::Home => "home",
            RootKind::Work => "work",
            RootKind::Datasets => "datasets",
        }
    }
}

/// A configured mount root, by the name the admin wrote and by its real path.
#[derive(Debug, Clone)]
struct MountRoot {
    kind: RootKind,
    configured: PathBuf,
    canonical: PathBuf,
}

/// The size of the host, for limits that scale with the booked GPUs.
#[derive(Debug, Clone, Copy)]
pub struct HostSize {
    pub memory_bytes: u64,
    pub cpus: u32,
}

/// What the policy needs to know about this host.
#[derive(Debug, Clone)]
pub struct Policy {
    roots: Vec<MountRoot>,
    /// The socket's real path, and the name it was configured by.
    docker_socket: PathBuf,
    docker_socket_configured: PathBuf,
    /// UUID of each GPU, by index.
    gpu_uuids: Vec<String>,
    /// The GPUs are the simulated probe's: they are booked and labelled as usual, but no device
    /// is requested from Docker (there is none to attach, and the engine may lack the runtime).
    simulated_gpus: bool,
    supplementary_groups: Vec<u32>,
    resources: ResourceConfig,
    host: HostSize,
    /// The value of the `maison.agent` label on this agent's containers.
    agent_label: String,
}

impl Policy {
    /// Builds the policy, canonicalising the configured roots. A root that does not
    /// exist is skipped with a warning rather than failing the agent: no mount can
    /// be under it anyway.
    pub fn new(
        roots: &MountRoots,
        docker_socket: &Path,
        gpu_uuids: Vec<String>,
        policy: &PolicyConfig,
        resources: &ResourceConfig,
        host: HostSize,
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
                Ok(canonical) => out.push(MountRoot {
                    kind,
                    configured: root.clone(),
                    canonical,
                }),
                Err(e) => {
                    tracing::warn!(root = %root.display(), error = %e, "mount root not usable; mounts under it will be refused");
                }
            }
        }
        Policy {
            roots: out,
            docker_socket: std::fs::canonicalize(docker_socket)
                .unwrap_or_else(|_| docker_socket.to_path_buf()),
            docker_socket_configured: docker_socket.to_path_buf(),
            gpu_uuids,
            simulated_gpus: false,
            supplementary_groups: policy.supplementary_groups.clone(),
            resources: resources.clone(),
            host,
            agent_label: policy.staging_dir.display().to_string(),
        }
    }

    /// Marks the host's GPUs as simulated (see the field).
    pub fn with_simulated_gpus(mut self, simulated: bool) -> Policy {
        self.simulated_gpus = simulated;
        self
    }

    pub fn gpu_count(&self) -> u32 {
        self.gpu_uuids.len() as u32
    }

    /// The limits of a container holding `gpus` of this host's GPUs.
    pub fn limits_for(&self, gpus: usize) -> ResourceLimits {
        let r = &self.resources;
        let share = if gpus == 0 {
            u64::from(r.cpu_only_share_gpus.max(1))
        } else {
            gpus as u64
        };
        let host_gpus = u64::from(self.gpu_count().max(1));
        let memory_per_gpu = r
            .memory_per_gpu_mib
            .map(|mib| mib << 20)
            .unwrap_or(self.host.memory_bytes / 10 * 9 / host_gpus);
        let host_cpu_millis = u64::from(self.host.cpus.max(1)) * 1000;
        let cpu_per_gpu = r
            .cpus_per_gpu
            .map(|c| (c * 1000.0) as u64)
            .unwrap_or(host_cpu_millis / host_gpus);
        // Never more than the host has, never so little that a shell cannot start.
        let memory_bytes = (memory_per_gpu * share)
            .min(self.host.memory_bytes.max(256 << 20))
            .max(256 << 20);
        let cpu_millis = (cpu_per_gpu * share).clamp(100, host_cpu_millis);
        ResourceLimits {
            pids: r.pids_limit,
            memory_bytes,
            cpu_millis,
            shm_bytes: memory_bytes / 100 * u64::from(r.shm_percent),
        }
    }

    /// What each step of an image build runs within, sized like a container without GPUs (a
    /// build needs CPUs and memory, not a GPU's share), and the cgroup whose process limit
    /// all builds share.
    pub fn build_limits(&self) -> (ResourceLimits, &str) {
        (self.limits_for(0), &self.resources.build_cgroup)
    }

    /// The directory a Dockerfile is built from (the one it sits in), checked as a read-only
    /// mount of it would be for `uid`: under the home or work root, in `uid`'s own directory,
    /// no link on the way. Answers the directory's real path. The context is then read as
    /// `uid`, so this check is about where builds may come from, not about what may be read.
    pub fn build_context(&self, dockerfile: &str, uid: u32) -> Result<PathBuf, PolicyRefusal> {
        let path = lexical_check(dockerfile, "Dockerfile", Rule::MountParentDir)?;
        let Some(dir) = path.parent().filter(|d| *d != Path::new("/")) else {
            return refuse(
                Rule::MountHostRoot,
                format!("{dockerfile:?} is not in a directory of yours"),
            );
        };
        match self.root_for(dir) {
            Some((root, _)) if root.kind != RootKind::Datasets => {}
            _ => {
                return refuse(
                    Rule::MountOutsideRoots,
                    format!(
                        "{dockerfile:?} is not under your work or home directory on this host, where builds come from"
                    ),
                );
            }
        }
        let checked = open_mount(
            &maison_agent_api::MountSpec {
                source: dir.display().to_string(),
                target: "/context".into(),
                read_only: Some(true),
            },
            uid,
            self,
        )?;
        std::fs::read_link(format!("/proc/self/fd/{}", checked.dir.as_raw_fd())).map_err(|e| {
            PolicyRefusal {
                rule: Rule::MountSourceMissing,
                message: format!("the directory of {dockerfile:?} cannot be resolved: {e}"),
            }
        })
    }

    /// The root a path lies under (the most specific one when roots nest) and the rest of it.
    fn root_for<'a>(&self, path: &'a Path) -> Option<(&MountRoot, &'a Path)> {
        self.roots
            .iter()
            .flat_map(|root| {
                [&root.configured, &root.canonical]
                    .into_iter()
                    .filter_map(move |form| path.strip_prefix(form).ok().map(|rest| (root, rest)))
            })
            .min_by_key(|(_, rest)| rest.components().count())
    }
}

/// A bind mount whose source directory is open: the container gets exactly this directory.
#[derive(Debug)]
pub struct CheckedMount {
    pub dir: OwnedFd,
    pub target: String,
    pub read_only: bool,
    /// The source as the user wrote it, for messages.
    pub as_written: String,
}

/// A launch the policy accepted: the container body (without mounts, which are staged by
/// [`crate::mounts::Stager`] and added then), the open mount sources, and the limits set.
#[derive(Debug)]
pub struct LaunchPlan {
    pub body: ContainerCreateBody,
    pub mounts: Vec<CheckedMount>,
    pub limits: ResourceLimits,
    /// The GPUs the container is given.
    pub gpus: Vec<u32>,
    /// What one owner's containers on this host may hold together.
    pub share: OwnerShare,
}

/// What one owner's live containers on a host may hold together: `resources.owner_overcommit`
/// times the limits of a single container holding every GPU they use. Each container's limits
/// alone do not bound a person: without this, ten launches on one booked GPU would hold ten
/// GPUs' worth of memory and CPUs, and the host's out-of-memory killer would pick among
/// everyone's jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerShare {
    /// Index: GPUs held (0 for containers without GPUs), up to every GPU of the host.
    by_gpus: Vec<ResourceLimits>,
    /// The `maison.agent` label of the containers that count.
    pub agent_label: String,
    overcommit: u64,
}

impl OwnerShare {
    pub fn of(policy: &Policy) -> OwnerShare {
        OwnerShare {
            by_gpus: (0..=policy.gpu_count() as usize)
                .map(|g| policy.limits_for(g))
                .collect(),
            agent_label: policy.agent_label.clone(),
            overcommit: u64::from(policy.resources.owner_overcommit.max(1)),
        }
    }

    /// Refuses a container with `gpus` and `limits` when, with the owner's `live` containers
    /// (the others of theirs that are created, running or paused here), more would be held
    /// than the share of all the GPUs they use together.
    pub fn check(
        &self,
        live: &[ContainerSummary],
        gpus: &[u32],
        limits: &ResourceLimits,
    ) -> Result<(), PolicyRefusal> {
        let held: Vec<(&ContainerSummary, &ResourceLimits)> = live
            .iter()
            .filter_map(|c| c.limits.as_ref().map(|l| (c, l)))
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        let mut used: BTreeSet<u32> = gpus.iter().copied().collect();
        used.extend(held.iter().flat_map(|(c, _)| c.gpus.iter().copied()));
        let one = &self.by_gpus[used.len().min(self.by_gpus.len() - 1)];
        let (share_memory, share_cpu) = (
            one.memory_bytes * self.overcommit,
            one.cpu_millis * self.overcommit,
        );
        let memory: u64 = held.iter().map(|(_, l)| l.memory_bytes).sum();
        let cpu_millis: u64 = held.iter().map(|(_, l)| l.cpu_millis).sum();
        if memory + limits.memory_bytes <= share_memory
            && cpu_millis + limits.cpu_millis <= share_cpu
        {
            return Ok(());
        }
        let names: Vec<&str> = held.iter().map(|(c, _)| c.name.as_str()).collect();
        let whose = match used.len() {
            0 => "containers without GPUs".to_string(),
            1 => "the one GPU they would use".to_string(),
            n => format!("the {n} GPUs they would use together"),
        };
        refuse(
            Rule::ShareUsed,
            format!(
                "your containers here ({}) already hold {} of memory and {} CPUs; this one would add {} and {} CPUs, past what one person's containers may hold for {whose} ({} and {} CPUs). Stop one of them first, or give this one GPUs you booked and do not use yet",
                names.join(", "),
                ByteSize(memory),
                cpus(cpu_millis),
                ByteSize(limits.memory_bytes),
                cpus(limits.cpu_millis),
                ByteSize(share_memory),
                cpus(share_cpu),
            ),
        )
    }
}

fn cpus(millis: u64) -> String {
    format!("{:.1}", millis as f64 / 1000.0)
}

/// Where a launch's datasets come from: the host's complete replicas (the datasets module).
/// A refusal says how far a copy that is not complete has got.
pub trait DatasetSource {
    fn open_dataset(&self, mount: &DatasetMount) -> Result<CheckedMount, PolicyRefusal>;
}

/// A host without datasets.
#[derive(Debug)]
pub struct NoDatasets;

impl DatasetSource for NoDatasets {
    fn open_dataset(&self, mount: &DatasetMount) -> Result<CheckedMount, PolicyRefusal> {
        refuse(
            Rule::DatasetNotReady,
            format!("{} is not on this host: it keeps no datasets", mount.name),
        )
    }
}

/// Turns a launch request into the Docker container configuration, or refuses it.
///
/// `now` becomes the `maison.created_at` label.
pub fn build_container_config(
    spec: &LaunchSpec,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<LaunchPlan, PolicyRefusal> {
    build_container_config_with(spec, policy, now, &NoDatasets)
}

/// [`build_container_config`] on a host whose datasets are `datasets`.
pub fn build_container_config_with(
    spec: &LaunchSpec,
    policy: &Policy,
    now: DateTime<Utc>,
    datasets: &dyn DatasetSource,
) -> Result<LaunchPlan, PolicyRefusal> {
    check_host_access(spec)?;
    check_identity(spec)?;
    let (uid, gid) = check_user(spec)?;
    let gpus = check_gpus(&spec.gpus, policy.gpu_count())?;
    let mut env = check_env(spec)?;
    check_command(spec)?;
    check_mount_list(spec)?;
    check_datasets(spec)?;
    let mut mounts = spec
        .mounts
        .iter()
        .map(|m| open_mount(m, uid, policy))
        .collect::<Result<Vec<_>, _>>()?;
    for d in &spec.datasets {
        mounts.push(datasets.open_dataset(d)?);
    }
    let limits = policy.limits_for(gpus.len());

    let booked_uuids: Vec<String> = gpus
        .iter()
        .map(|&g| policy.gpu_uuids[g as usize].clone())
        .collect();
    // Always set by Maison: CUDA images set it to `all` themselves, and with the NVIDIA runtime
    // as Docker's default that would hand the container every GPU of the host.
    env.push(format!(
        "NVIDIA_VISIBLE_DEVICES={}",
        if booked_uuids.is_empty() {
            "void".to_string()
        } else {
            booked_uuids.join(",")
        }
    ));
    // The NVIDIA toolkit reads these from the container's environment too, where an image may
    // set them, and each adds devices of the host that nobody booked: InfiniBand, NVSwitch,
    // GPUDirect RDMA and storage, and IMEX channels (shared between tenants). The container's
    // own settings win over the image's.
    env.extend(NVIDIA_DEVICES_OFF.iter().map(|v| v.to_string()));

    let mut label_map = agent_labels(spec, now);
    label_map.insert(
        labels::GPUS.to_string(),
        gpus.iter()
            .map(|g| g.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    label_map.insert(labels::LIMITS.to_string(), limits.to_label());
    label_map.insert(labels::AGENT.to_string(), policy.agent_label.clone());
    label_map.insert(
        labels::DATASETS.to_string(),
        spec.datasets
            .iter()
            .map(|d| d.manifest.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );

    // Only set when GPUs are asked for: engines without the NVIDIA runtime reject
    // any device request, and CPU-only launches must keep working there.
    let device_requests = (!gpus.is_empty() && !policy.simulated_gpus).then(|| {
        vec![DeviceRequest {
            driver: Some("nvidia".to_string()),
            device_ids: Some(booked_uuids.clone()),
            capabilities: Some(vec![vec!["gpu".to_string()]]),
            ..Default::default()
        }]
    });

    let memory = i64::try_from(limits.memory_bytes).unwrap_or(i64::MAX);
    let host_config = HostConfig {
        privileged: Some(false),
        security_opt: Some(vec!["no-new-privileges:true".to_string()]),
        cap_drop: Some(vec!["ALL".to_string()]),
        group_add: (!policy.supplementary_groups.is_empty()).then(|| {
            policy
                .supplementary_groups
                .iter()
                .map(|g| g.to_string())
                .collect()
        }),
        device_requests,
        pids_limit: Some(limits.pids),
        memory: Some(memory),
        // Equal to the memory limit: no swap on top of it.
        memory_swap: Some(memory),
        nano_cpus: Some(i64::try_from(limits.cpu_millis).unwrap_or(i64::MAX) * 1_000_000),
        shm_size: Some(i64::try_from(limits.shm_bytes).unwrap_or(i64::MAX)),
        // A tiny init reaps zombies of long interactive sessions.
        init: Some(true),
        log_config: Some(bounded_logs()),
        ..Default::default()
    };

    Ok(LaunchPlan {
        body: ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: (!spec.command.is_empty()).then(|| spec.command.clone()),
            env: Some(env),
            user: Some(format!("{uid}:{gid}")),
            labels: Some(label_map),
            // Like `docker run -dit`: images whose default command is a shell stay up
            // so that `maison enter` has something to enter.
            tty: Some(true),
            open_stdin: Some(true),
            host_config: Some(host_config),
            ..Default::default()
        },
        mounts,
        limits,
        gpus,
        share: OwnerShare::of(policy),
    })
}

/// Every `maison.*` label the agent knows, set by the agent. Absent values are written empty, so
/// an image's own `LABEL maison.booking=…` (which Docker would otherwise copy onto the
/// container) cannot fill them in.
fn agent_labels(spec: &LaunchSpec, now: DateTime<Utc>) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = [
        labels::OWNER,
        labels::OWNER_NAME,
        labels::BOOKING,
        labels::IMAGE_SOURCE,
        labels::CREATED_AT,
        labels::IDEMPOTENCY_KEY,
        labels::GPUS,
        labels::LIMITS,
        labels::MOUNT_STAGE,
        labels::DATASETS,
        labels::AGENT,
    ]
    .into_iter()
    .map(|k| (k.to_string(), String::new()))
    .collect();
    map.extend(
        MaisonLabels {
            owner: spec.owner.clone(),
            owner_name: spec.owner_name.clone(),
            booking: spec.booking.clone(),
            image_source: Some(spec.image_source),
            created_at: Some(now),
            idempotency_key: Some(spec.idempotency_key.clone()),
        }
        .to_labels(),
    );
    map
}

/// The container's output, kept in files of at most 50 MB, three of them. Containers run with
/// a terminal and for days; without a bound one `yes` (or a chatty training loop) fills the
/// disk Docker keeps its logs on, for every user of the host.
fn bounded_logs() -> HostConfigLogConfig {
    HostConfigLogConfig {
        typ: Some("json-file".into()),
        config: Some(
            [("max-size", "50m"), ("max-file", "3")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
    }
}

/// Gated NVIDIA devices, switched off in every container (only `enabled` switches one on; no
/// IMEX channel is an empty list).
const NVIDIA_DEVICES_OFF: [&str; 5] = [
    "NVIDIA_MOFED=disabled",
    "NVIDIA_NVSWITCH=disabled",
    "NVIDIA_GDRCOPY=disabled",
    "NVIDIA_GDS=disabled",
    "NVIDIA_IMEX_CHANNELS=",
];

/// Refuses to run, by its name, an image that Maison built or saved here for someone other than
/// `launcher`. Names on a host go to whoever takes them first: a user who builds under a name
/// others launch (a catalogue reference not yet on this host, `pytorch/pytorch:latest`) would
/// have their code run as whoever launches it next, with that person's home mounted. Named by
/// its id, as published catalogue versions are launched, the image is the one its publisher
/// and an admin agreed on, whoever made it; images Maison did not make (pulled by an admin)
/// carry no maker.
pub fn check_image_maker(
    image: &str,
    image_labels: &HashMap<String, String>,
    launcher: &str,
) -> Result<(), PolicyRefusal> {
    match image_maker(image_labels) {
        Some(maker) if maker != launcher && !image.starts_with("sha256:") => refuse(
            Rule::ImageNotYours,
            format!(
                "{image} on this host was made by <@{maker}> (an image build or save), not by you: it runs under your account only once it is in the catalogue (`/maison image publish`, approved by an admin)"
            ),
        ),
        _ => Ok(()),
    }
}

/// Where a working directory lands once `.` and `..` are resolved as the kernel would at the
/// top (`/..` is `/`), from `base` when it is relative.
pub fn resolve_workdir(base: &str, workdir: &str) -> String {
    let start = if workdir.starts_with('/') { "" } else { base };
    let mut parts: Vec<&str> = Vec::new();
    for part in start.split('/').chain(workdir.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Refuses a working directory in `/proc` (`whose` says where it came from). With runc before
/// 1.1.12 (CVE-2024-21626) a container whose first process starts in `/proc/self/fd/<n>` starts
/// in a directory of the host, outside its root, and as root in a build; no real image works
/// there, and the agent cannot tell which runc a host has.
pub fn check_workdir(resolved: &str, whose: &str) -> Result<(), PolicyRefusal> {
    if resolved == "/proc" || resolved.starts_with("/proc/") {
        return refuse(
            Rule::ImageWorkdir,
            format!(
                "{whose} sets its working directory to {resolved}: a working directory in /proc can reach the host's files through the container runtime (CVE-2024-21626); set another WORKDIR"
            ),
        );
    }
    Ok(())
}

/// Who Maison built or saved an image for, from its labels: its owner, when it also says how it
/// was made (an owner label alone, as a container's labels carry, makes no maker).
pub fn image_maker(image_labels: &HashMap<String, String>) -> Option<&str> {
    let made_here = image_labels
        .get(maison_agent_api::images::provenance::HOW)
        .is_some_and(|how| !how.is_empty());
    image_labels
        .get(labels::OWNER)
        .map(String::as_str)
        .filter(|maker| made_here && !maker.is_empty())
}

/// Blanks every `maison.*` label of the image that the agent did not set itself: Docker merges
/// image labels into the container's, so an image could otherwise forge ownership.
pub fn neutralise_image_labels(
    container_labels: &mut HashMap<String, String>,
    image_labels: &HashMap<String, String>,
) {
    for key in image_labels.keys() {
        if key.starts_with(labels::PREFIX) {
            container_labels.entry(key.clone()).or_default();
        }
    }
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

/// Every container runs as its owner's own uid **and** gid. Without a gid Docker would pick the
/// image's group for that uid (often 0) and the groups the image's `/etc/group` lists for it;
/// without a uid, the image's user (often root).
fn check_user(spec: &LaunchSpec) -> Result<(u32, u32), PolicyRefusal> {
    match (spec.uid, spec.gid) {
        // A user mapping that says "root" is a configuration mistake at best: a chat message
        // must never become root on a host, even inside a container with a bind mount.
        (Some(0), _) | (_, Some(0)) => refuse(
            Rule::InvalidUser,
            "uid/gid 0 (root) is refused; map the Slack user to their own Unix account",
        ),
        (Some(uid), Some(gid)) if uid.max(gid) > MAX_CONTAINER_ID => refuse(
            Rule::InvalidUser,
            format!(
                "uid/gid {uid}:{gid} is outside 1-{MAX_CONTAINER_ID}, the ids a container can run as"
            ),
        ),
        (Some(uid), Some(gid)) => Ok((uid, gid)),
        (Some(_), None) | (None, Some(_)) => refuse(
            Rule::MissingUser,
            "containers run as their owner's uid and gid: send both (an admin maps Slack users to Unix accounts in [[users]])",
        ),
        (None, None) => refuse(
            Rule::MissingUser,
            "containers never run as the image's user: the launch needs the owner's uid and gid (an admin maps Slack users to Unix accounts in [[users]])",
        ),
    }
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

/// Variables that choose GPUs: only the agent sets them, from the booking.
fn selects_gpus(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    upper.starts_with("NVIDIA_") || upper == "CUDA_VISIBLE_DEVICES"
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
            if selects_gpus(k) {
                return refuse(
                    Rule::GpuEnv,
                    format!(
                        "{k} is set by Maison from your booking; ask for GPUs with `--gpus` instead"
                    ),
                );
            }
            Ok(format!("{k}={v}"))
        })
        .collect()
}

/// A command's arguments reach `execve`, which ends each at its first NUL byte: Docker would
/// make the container, which then could not start.
fn check_command(spec: &LaunchSpec) -> Result<(), PolicyRefusal> {
    match spec.command.iter().position(|arg| arg.contains('\0')) {
        Some(n) => refuse(
            Rule::InvalidCommand,
            format!("argument {} of the command holds a NUL byte", n + 1),
        ),
        None => Ok(()),
    }
}

/// Dataset names are file names under `/data`, each once, with a manifest id, and no manual
/// mount may sit on (or above, or below) the place a dataset is mounted.
fn check_datasets(spec: &LaunchSpec) -> Result<(), PolicyRefusal> {
    let mut seen = BTreeSet::new();
    for d in &spec.datasets {
        if !is_dataset_name(&d.name) {
            return refuse(
                Rule::InvalidDataset,
                format!(
                    "{:?} is not a dataset name (letters, digits, '-', '_', '.'; mounted at {MOUNT_PARENT}/<name>)",
                    d.name
                ),
            );
        }
        if !is_hash(&d.manifest) {
            return refuse(
                Rule::InvalidDataset,
                format!("dataset {} has no valid manifest id", d.name),
            );
        }
        if !seen.insert(d.name.as_str()) {
            return refuse(
                Rule::InvalidDataset,
                format!("dataset {} is listed twice", d.name),
            );
        }
        let at = Path::new(MOUNT_PARENT).join(&d.name);
        if let Some(m) = spec.mounts.iter().find(|m| {
            let target: PathBuf = Path::new(&m.target).components().collect();
            target.starts_with(&at) || at.starts_with(&target)
        }) {
            return refuse(
                Rule::MountTarget,
                format!(
                    "mount target {:?} collides with dataset {} at {}; pick another target",
                    m.target,
                    d.name,
                    at.display()
                ),
            );
        }
    }
    Ok(())
}

/// Mounts and datasets a launch may ask for together. Each one is an open directory and a
/// bind mount on the host until its container is gone; people get their home, their work
/// directory and a few datasets, so this only stops a request that would hold hundreds.
const MAX_MOUNTS: usize = 16;

/// The mounts as a list: not too many, and no two on the same target (Docker would refuse
/// the container only after every source was opened and pinned).
fn check_mount_list(spec: &LaunchSpec) -> Result<(), PolicyRefusal> {
    let asked = spec.mounts.len() + spec.datasets.len();
    if asked > MAX_MOUNTS {
        return refuse(
            Rule::TooManyMounts,
            format!("{asked} mounts and datasets asked; a launch takes at most {MAX_MOUNTS}"),
        );
    }
    let mut targets = BTreeSet::new();
    for m in &spec.mounts {
        // Compared as components (`/x/` is `/x`); a malformed target is refused with the
        // rest of its mount.
        let target: PathBuf = Path::new(&m.target).components().collect();
        if !targets.insert(target) {
            return refuse(
                Rule::MountTarget,
                format!("two mounts target {:?}; give each its own", m.target),
            );
        }
    }
    Ok(())
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
    Ok(p.components().collect())
}

/// How every step below a root is opened: a directory, by no symbolic or magic link, never
/// leaving the directory it starts from. (No `O_NOFOLLOW`: with `O_PATH` it would open a final
/// symlink itself instead of failing with `ELOOP`.)
fn beneath() -> OpenHow {
    OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        )
}

fn open_failed(errno: Errno, written: &str) -> PolicyRefusal {
    match errno {
        Errno::ELOOP | Errno::EXDEV => PolicyRefusal {
            rule: Rule::MountSymlink,
            message: format!(
                "mount source {written:?} goes through a symbolic link; give the real directory"
            ),
        },
        Errno::ENOENT => PolicyRefusal {
            rule: Rule::MountSourceMissing,
            message: format!("mount source {written:?} does not exist"),
        },
        Errno::ENOTDIR => PolicyRefusal {
            rule: Rule::MountSourceMissing,
            message: format!("mount source {written:?} is not a directory"),
        },
        other => PolicyRefusal {
            rule: Rule::MountSourceMissing,
            message: format!(
                "mount source {written:?} cannot be opened ({})",
                other.desc()
            ),
        },
    }
}

fn open_mount(
    m: &maison_agent_api::MountSpec,
    uid: u32,
    policy: &Policy,
) -> Result<CheckedMount, PolicyRefusal> {
    let written = m.source.as_str();
    let source = lexical_check(written, "source", Rule::MountParentDir)?;
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
    // Named before anything else: mounting the socket, or a directory above it, is root on the
    // host, and the refusal should say so rather than "outside the roots".
    if policy.docker_socket.starts_with(&source)
        || policy.docker_socket_configured.starts_with(&source)
    {
        return refuse(
            Rule::MountDockerSocket,
            format!("mount source {written:?} would expose the Docker socket"),
        );
    }
    let Some((root, rest)) = policy.root_for(&source) else {
        let allowed: Vec<String> = policy
            .roots
            .iter()
            .map(|r| r.configured.display().to_string())
            .collect();
        return refuse(
            Rule::MountOutsideRoots,
            if allowed.is_empty() {
                format!("mount source {written:?} refused: this agent allows no mounts")
            } else {
                format!(
                    "mount source {written:?} is outside the allowed roots: {}",
                    allowed.join(", ")
                )
            },
        );
    };
    // The agent's own state (partial, unverified copies) is never mounted by hand.
    if root.kind == RootKind::Datasets
        && rest
            .components()
            .next()
            .is_some_and(|c| c.as_os_str() == crate::config::DATASET_STATE_DIR)
    {
        return refuse(
            Rule::MountOutsideRoots,
            format!(
                "mount source {written:?} is the agent's own dataset state; mount a dataset with launch --data"
            ),
        );
    }
    let real = root.canonical.join(rest);
    // The same below a root whose configured name differs from its real path.
    if policy.docker_socket.starts_with(&real) {
        return refuse(
            Rule::MountDockerSocket,
            format!("mount source {written:?} would expose the Docker socket"),
        );
    }
    // Whatever the nesting of roots, a dataset is only ever seen read-only.
    if root.kind != RootKind::Datasets
        && policy
            .roots
            .iter()
            .any(|r| r.kind == RootKind::Datasets && r.canonical.starts_with(&real))
    {
        return refuse(
            Rule::MountContainsDatasets,
            format!(
                "mount source {written:?} contains the datasets directory, which is mounted read-only on its own (launch --data)"
            ),
        );
    }
    let read_only = match (root.kind, m.read_only) {
        (RootKind::Datasets, Some(false)) => {
            return refuse(
                Rule::DatasetReadOnly,
                format!("datasets are mounted read-only; {written:?} was asked read-write"),
            );
        }
        (RootKind::Datasets, _) => true,
        (_, ro) => ro.unwrap_or(false),
    };

    let root_dir = nix::fcntl::open(
        &root.canonical,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| PolicyRefusal {
        rule: Rule::MountSourceMissing,
        message: format!(
            "the {} root for {written:?} cannot be opened on this host ({})",
            root.kind.as_str(),
            e.desc()
        ),
    })?;
    let mut parts = rest.components();
    let dir = match root.kind {
        RootKind::Datasets if rest.as_os_str().is_empty() => root_dir,
        RootKind::Datasets => nix::fcntl::openat2(root_dir.as_fd(), rest, beneath())
            .map_err(|e| open_failed(e, written))?,
        RootKind::Home | RootKind::Work => {
            // Only the owner's own directory: the first level below the root must belong to
            // the uid the container runs as. Checked on the open directory, not on its name.
            let Some(first) = parts.next() else {
                return refuse(
                    Rule::MountNotOwner,
                    format!(
                        "mount source {written:?} is the whole {} directory; mount your own directory in it",
                        root.kind.as_str()
                    ),
                );
            };
            let own = nix::fcntl::openat2(root_dir.as_fd(), first.as_os_str(), beneath())
                .map_err(|e| open_failed(e, written))?;
            let owner = nix::sys::stat::fstat(own.as_fd())
                .map_err(|e| open_failed(e, written))?
                .st_uid;
            if owner != uid {
                return refuse(
                    Rule::MountNotOwner,
                    format!(
                        "mount source {written:?} is not yours: only your own {} directory can be mounted",
                        root.kind.as_str()
                    ),
                );
            }
            let below: PathBuf = parts.collect();
            if below.as_os_str().is_empty() {
                own
            } else {
                nix::fcntl::openat2(own.as_fd(), &below, beneath())
                    .map_err(|e| open_failed(e, written))?
            }
        }
    };
    Ok(CheckedMount {
        dir,
        target: target.display().to_string(),
        read_only,
        as_written: written.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use maison_agent_api::MountSpec;

    #[test]
    fn an_image_someone_else_made_here_runs_only_by_its_id() {
        use maison_agent_api::images::provenance;
        let made_by = |owner: &str, how: &str| -> HashMap<String, String> {
            [
                (labels::OWNER.to_string(), owner.to_string()),
                (provenance::HOW.to_string(), how.to_string()),
            ]
            .into()
        };
        let squat = made_by("U0MALLORY", "build");
        let err = check_image_maker("registry.lan/house/pytorch:2.5", &squat, "U0BOB").unwrap_err();
        assert_eq!(err.rule, Rule::ImageNotYours);
        assert!(
            err.message.contains("made by <@U0MALLORY>"),
            "{}",
            err.message
        );
        assert!(
            check_image_maker(
                "registry.lan/house/pytorch:2.5",
                &made_by("U0MALLORY", "save"),
                "U0BOB"
            )
            .is_err()
        );
        // Its maker, or anyone by its id (a published catalogue version), may run it.
        assert!(check_image_maker("registry.lan/house/pytorch:2.5", &squat, "U0MALLORY").is_ok());
        assert!(check_image_maker("sha256:0123abcd", &squat, "U0BOB").is_ok());
        // Images Maison did not make have no maker: an owner label alone (copied from a
        // container's labels, say) is not one.
        assert!(check_image_maker("busybox:1", &HashMap::new(), "U0BOB").is_ok());
        assert!(check_image_maker("busybox:1", &made_by("U0MALLORY", ""), "U0BOB").is_ok());
    }

    const ADA: u32 = 1000;
    const BOB: u32 = 1001;

    struct Fixture {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        policy: Policy,
    }

    fn uuids(n: u32) -> Vec<String> {
        (0..n).map(|i| format!("GPU-test-{i}")).collect()
    }

    fn host() -> HostSize {
        HostSize {
            memory_bytes: 100 << 30,
            cpus: 16,
        }
    }

    fn policy_with(roots: &MountRoots, socket: &Path, gpus: u32) -> Policy {
        Policy::new(
            roots,
            socket,
            uuids(gpus),
            &PolicyConfig::default(),
            &ResourceConfig::default(),
            host(),
        )
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        for d in [
            "home/ada/project",
            "home/bob",
            "work/ada",
            "datasets/imagenet",
            "elsewhere",
            "run",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for (dir, uid) in [
            ("home/ada", ADA),
            ("home/ada/project", ADA),
            ("home/bob", BOB),
            ("work/ada", ADA),
        ] {
            std::os::unix::fs::chown(root.join(dir), Some(uid), Some(uid)).unwrap();
        }
        std::fs::write(root.join("run/docker.sock"), "").unwrap();
        std::os::unix::fs::symlink("/", root.join("home/ada/escape")).unwrap();
        std::os::unix::fs::symlink(root.join("home/bob"), root.join("home/ada/bobs")).unwrap();
        let roots = MountRoots {
            home: Some(root.join("home")),
            work: Some(root.join("work")),
            datasets: Some(root.join("datasets")),
        };
        let policy = policy_with(&roots, &root.join("run/docker.sock"), 2);
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
            uid: Some(ADA),
            gid: Some(ADA),
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

    fn env_of(plan: &LaunchPlan) -> Vec<String> {
        plan.body.env.clone().unwrap_or_default()
    }

    #[test]
    fn root_missing_or_half_identities_are_refused() {
        let f = fixture();
        for (uid, gid, rule) in [
            (Some(0), Some(0), Rule::InvalidUser),
            (Some(0), None, Rule::InvalidUser),
            (Some(1000), Some(0), Rule::InvalidUser),
            (None, None, Rule::MissingUser),
            (Some(1000), None, Rule::MissingUser),
            (None, Some(1000), Rule::MissingUser),
            (Some(u32::MAX), Some(u32::MAX), Rule::InvalidUser),
            (Some(1000), Some(MAX_CONTAINER_ID + 1), Rule::InvalidUser),
        ] {
            let mut s = spec();
            s.uid = uid;
            s.gid = gid;
            let refusal = build_container_config(&s, &f.policy, now()).unwrap_err();
            assert_eq!(refusal.rule, rule, "{uid:?}:{gid:?}");
        }
        // The highest id Docker runs as is still a valid owner.
        let mut s = spec();
        (s.uid, s.gid) = (Some(MAX_CONTAINER_ID), Some(MAX_CONTAINER_ID));
        let plan = build_container_config(&s, &f.policy, now()).unwrap();
        assert_eq!(
            plan.body.user,
            Some(format!("{MAX_CONTAINER_ID}:{MAX_CONTAINER_ID}"))
        );
    }

    #[test]
    fn every_container_is_hardened_and_runs_as_its_owner() {
        let f = fixture();
        let plan = build_container_config(&spec(), &f.policy, now()).unwrap();
        assert_eq!(plan.body.user.as_deref(), Some("1000:1000"));
        let hc = plan.body.host_config.clone().unwrap();
        assert_eq!(hc.device_requests, None);
        assert_eq!(hc.privileged, Some(false));
        assert_eq!(
            hc.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(hc.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(hc.group_add, None);
        assert_eq!(hc.network_mode, None);
        assert_eq!(hc.cap_add, None);
        assert_eq!(hc.devices, None);
        assert_eq!(hc.pids_limit, Some(4096));
        let logs = hc.log_config.clone().expect("a log configuration");
        assert_eq!(logs.typ.as_deref(), Some("json-file"));
        let logs = logs.config.unwrap();
        assert_eq!(
            (logs["max-size"].as_str(), logs["max-file"].as_str()),
            ("50m", "3")
        );
        assert!(env_of(&plan).contains(&"NVIDIA_VISIBLE_DEVICES=void".to_string()));
        // Devices an image's environment could switch on are switched off by the container's.
        for off in [
            "NVIDIA_MOFED=disabled",
            "NVIDIA_NVSWITCH=disabled",
            "NVIDIA_GDRCOPY=disabled",
            "NVIDIA_GDS=disabled",
            "NVIDIA_IMEX_CHANNELS=",
        ] {
            assert!(env_of(&plan).contains(&off.to_string()), "{off} missing");
        }
        let labels = plan.body.labels.unwrap();
        assert_eq!(labels[labels::OWNER], "U1");
        assert_eq!(labels[labels::CREATED_AT], "2025-01-02T03:04:05Z");
        assert_eq!(labels[labels::IMAGE_SOURCE], "custom");
        assert_eq!(labels[labels::IDEMPOTENCY_KEY], "k1");
        // Absent values are written empty so that an image cannot supply them.
        assert_eq!(labels[labels::BOOKING], "");
        assert_eq!(labels[labels::OWNER_NAME], "");
        assert_eq!(
            ResourceLimits::from_label(&labels[labels::LIMITS]),
            Some(plan.limits)
        );
    }

    #[test]
    fn configured_supplementary_groups_are_the_only_ones() {
        let f = fixture();
        let config = PolicyConfig {
            supplementary_groups: vec![44],
            ..PolicyConfig::default()
        };
        let policy = Policy::new(
            &MountRoots::default(),
            &f.root.join("run/docker.sock"),
            uuids(1),
            &config,
            &ResourceConfig::default(),
            host(),
        );
        let plan = build_container_config(&spec(), &policy, now()).unwrap();
        assert_eq!(
            plan.body.host_config.unwrap().group_add,
            Some(vec!["44".to_string()])
        );
    }

    fn live(name: &str, gpus: &[u32], policy: &Policy) -> ContainerSummary {
        ContainerSummary {
            id: format!("id-{name}"),
            name: name.into(),
            image: "img".into(),
            image_id: "sha256:img".into(),
            state: maison_agent_api::ContainerState::Running,
            status: "Up".into(),
            created: now(),
            gpus: gpus.to_vec(),
            owned: true,
            maison: None,
            limits: Some(policy.limits_for(gpus.len())),
        }
    }

    #[test]
    fn an_owner_holds_at_most_twice_the_share_of_the_gpus_their_containers_use() {
        let f = fixture();
        let share = OwnerShare::of(&f.policy);
        let one_gpu = f.policy.limits_for(1);
        let no_gpu = f.policy.limits_for(0);
        assert_eq!(share.check(&[], &[0], &one_gpu), Ok(()));
        let on_0 = [live("train", &[0], &f.policy)];
        // A notebook beside the training job on the same GPU: twice the share.
        assert_eq!(share.check(&on_0, &[0], &one_gpu), Ok(()));
        assert_eq!(share.check(&on_0, &[], &no_gpu), Ok(()));
        // A third would hold three GPUs' worth for one.
        let pair = [
            live("train", &[0], &f.policy),
            live("notebook", &[0], &f.policy),
        ];
        let refusal = share.check(&pair, &[0], &one_gpu).unwrap_err();
        assert_eq!(refusal.rule, Rule::ShareUsed);
        assert!(
            refusal.message.contains("(train, notebook)"),
            "{}",
            refusal.message
        );
        assert!(
            refusal.message.contains("for the one GPU they would use"),
            "{}",
            refusal.message
        );
        assert_eq!(
            share.check(&pair, &[], &no_gpu).unwrap_err().rule,
            Rule::ShareUsed
        );
        // Another GPU brings its own share.
        assert_eq!(share.check(&pair, &[1], &one_gpu), Ok(()));
        // Containers the agent did not size (made outside Maison) are not counted.
        let mut by_hand = pair.clone();
        for c in &mut by_hand {
            c.limits = None;
        }
        assert_eq!(share.check(&by_hand, &[0], &one_gpu), Ok(()));

        // Configured to one share, a second container on the same GPU is refused.
        let strict = ResourceConfig {
            owner_overcommit: 1,
            ..ResourceConfig::default()
        };
        let policy = Policy::new(
            &MountRoots::default(),
            &f.root.join("run/docker.sock"),
            uuids(2),
            &PolicyConfig::default(),
            &strict,
            host(),
        );
        assert_eq!(
            OwnerShare::of(&policy)
                .check(&on_0, &[0], &one_gpu)
                .unwrap_err()
                .rule,
            Rule::ShareUsed
        );
    }

    #[test]
    fn a_working_directory_in_proc_is_refused_however_it_is_written() {
        assert_eq!(resolve_workdir("/", "/workspace"), "/workspace");
        assert_eq!(resolve_workdir("/srv", "data/./x"), "/srv/data/x");
        for (base, dir) in [
            ("/", "/proc/self/fd/7"),
            ("/", "/../proc/self/fd/8"),
            ("/workspace", "../proc/1/cwd"),
            ("/", "//proc//self/cwd"),
            ("/proc/self", "fd/7"),
            ("/", "/proc"),
        ] {
            let resolved = resolve_workdir(base, dir);
            let refusal = check_workdir(&resolved, "the image").unwrap_err();
            assert_eq!(refusal.rule, Rule::ImageWorkdir, "{base} {dir}");
        }
        for fine in ["/", "/workspace", "/processing", "/home/proc"] {
            assert_eq!(check_workdir(fine, "the image"), Ok(()), "{fine}");
        }
    }

    #[test]
    fn limits_scale_with_the_booked_gpus() {
        let f = fixture();
        // 2 GPUs on a 100 GiB, 16-CPU host: one GPU is 45 GiB and 8 CPUs.
        let one = f.policy.limits_for(1);
        assert_eq!(one.memory_bytes, (100u64 << 30) / 10 * 9 / 2);
        assert_eq!(one.cpu_millis, 8000);
        assert_eq!(one.shm_bytes, one.memory_bytes / 100 * 50);
        let two = f.policy.limits_for(2);
        assert_eq!(two.cpu_millis, 16000);
        assert_eq!(two.memory_bytes, one.memory_bytes * 2);
        // CPU-only containers are sized like one GPU by default.
        assert_eq!(f.policy.limits_for(0), one);
        let mut s = spec();
        s.gpus = vec![0, 1];
        let hc = build_container_config(&s, &f.policy, now())
            .unwrap()
            .body
            .host_config
            .unwrap();
        assert_eq!(hc.nano_cpus, Some(16_000_000_000));
        assert_eq!(hc.memory, hc.memory_swap);
        assert_eq!(hc.memory, Some(two.memory_bytes as i64));
        assert_eq!(hc.shm_size, Some(two.shm_bytes as i64));
    }

    #[test]
    fn simulated_gpus_are_labelled_but_never_requested_from_docker() {
        let f = fixture();
        let policy = f.policy.clone().with_simulated_gpus(true);
        let mut s = spec();
        s.gpus = vec![1];
        let plan = build_container_config(&s, &policy, now()).unwrap();
        assert!(env_of(&plan).contains(&"NVIDIA_VISIBLE_DEVICES=GPU-test-1".to_string()));
        assert_eq!(plan.body.labels.unwrap()[labels::GPUS], "1");
        assert_eq!(plan.body.host_config.unwrap().device_requests, None);
    }

    #[test]
    fn gpus_become_one_nvidia_device_request_and_the_same_visible_devices() {
        let f = fixture();
        let mut s = spec();
        s.gpus = vec![1, 0];
        let plan = build_container_config(&s, &f.policy, now()).unwrap();
        assert!(
            env_of(&plan).contains(&"NVIDIA_VISIBLE_DEVICES=GPU-test-1,GPU-test-0".to_string())
        );
        let dr = plan.body.host_config.unwrap().device_requests.unwrap();
        assert_eq!(dr.len(), 1);
        assert_eq!(dr[0].driver.as_deref(), Some("nvidia"));
        assert_eq!(
            dr[0].device_ids,
            Some(vec!["GPU-test-1".into(), "GPU-test-0".into()])
        );
        assert_eq!(dr[0].capabilities, Some(vec![vec!["gpu".to_string()]]));
        assert_eq!(plan.body.labels.unwrap()[labels::GPUS], "1,0");
    }

    #[test]
    fn gpu_selecting_variables_are_refused() {
        let f = fixture();
        for key in [
            "NVIDIA_VISIBLE_DEVICES",
            "nvidia_visible_devices",
            "NVIDIA_DRIVER_CAPABILITIES",
            "CUDA_VISIBLE_DEVICES",
        ] {
            let mut s = spec();
            s.env.insert(key.into(), "all".into());
            let err = build_container_config(&s, &f.policy, now()).unwrap_err();
            assert_eq!(err.rule, Rule::GpuEnv, "{key}");
        }
    }

    #[test]
    fn image_labels_cannot_forge_ownership() {
        let f = fixture();
        let mut labels_set = build_container_config(&spec(), &f.policy, now())
            .unwrap()
            .body
            .labels
            .unwrap();
        let image: HashMap<String, String> = [
            ("maison.booking", "999"),
            ("maison.owner_name", "Mallory"),
            ("maison.future_key", "x"),
            ("org.opencontainers.image.title", "t"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        neutralise_image_labels(&mut labels_set, &image);
        assert_eq!(labels_set[labels::BOOKING], "");
        assert_eq!(labels_set[labels::OWNER_NAME], "");
        assert_eq!(labels_set["maison.future_key"], "");
        assert_eq!(labels_set[labels::OWNER], "U1");
        assert!(!labels_set.contains_key("org.opencontainers.image.title"));
    }

    #[test]
    fn own_home_and_work_mount_read_write_and_datasets_read_only() {
        let f = fixture();
        let mut s = spec();
        s.mounts = [
            mount(&f.root.join("datasets/imagenet"), None),
            mount(&f.root.join("home/ada"), None),
            mount(&f.root.join("home/ada/project"), Some(true)),
            mount(&f.root.join("work/ada"), None),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, m)| MountSpec {
            target: format!("/mnt/{n}"),
            ..m
        })
        .collect();
        let plan = build_container_config(&s, &f.policy, now()).unwrap();
        let ro: Vec<bool> = plan.mounts.iter().map(|m| m.read_only).collect();
        assert_eq!(ro, vec![true, false, true, false]);
        // The open directory is the one named.
        let ino = |p: &Path| std::fs::metadata(p).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
        let opened = nix::sys::stat::fstat(plan.mounts[1].dir.as_fd())
            .unwrap()
            .st_ino;
        assert_eq!(opened, ino(&f.root.join("home/ada")).unwrap());
    }

    #[test]
    fn symlinks_are_refused_not_followed() {
        let f = fixture();
        for link in ["home/ada/escape", "home/ada/bobs"] {
            let mut s = spec();
            s.mounts = vec![mount(&f.root.join(link), None)];
            let err = build_container_config(&s, &f.policy, now()).unwrap_err();
            assert_eq!(err.rule, Rule::MountSymlink, "{link}");
            // The path as written, never what it resolves to.
            assert!(err.message.contains(link), "{}", err.message);
            assert!(!err.message.contains("home/bob\""), "{}", err.message);
        }
    }

    #[test]
    fn foreign_homes_and_whole_roots_are_refused() {
        let f = fixture();
        for (path, rule) in [
            ("home/bob", Rule::MountNotOwner),
            ("home", Rule::MountNotOwner),
            ("work", Rule::MountNotOwner),
        ] {
            let mut s = spec();
            s.mounts = vec![mount(&f.root.join(path), None)];
            let err = build_container_config(&s, &f.policy, now()).unwrap_err();
            assert_eq!(err.rule, rule, "{path}: {}", err.message);
        }
    }

    #[test]
    fn datasets_stay_read_only_whatever_the_nesting_of_roots() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir_all(root.join("srv/ada/datasets/imagenet")).unwrap();
        std::fs::create_dir_all(root.join("srv/ada/code")).unwrap();
        std::os::unix::fs::chown(root.join("srv/ada"), Some(ADA), Some(ADA)).unwrap();
        // The datasets root sits inside a work directory.
        let roots = MountRoots {
            home: None,
            work: Some(root.join("srv")),
            datasets: Some(root.join("srv/ada/datasets")),
        };
        let policy = policy_with(&roots, Path::new("/var/run/docker.sock"), 0);
        let mut s = spec();
        s.mounts = vec![mount(&root.join("srv/ada/datasets/imagenet"), None)];
        let plan = build_container_config(&s, &policy, now()).unwrap();
        assert!(plan.mounts[0].read_only, "the most specific root decides");
        s.mounts = vec![mount(&root.join("srv/ada/datasets/imagenet"), Some(false))];
        let err = build_container_config(&s, &policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::DatasetReadOnly);
        s.mounts = vec![mount(&root.join("srv/ada"), None)];
        let err = build_container_config(&s, &policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::MountContainsDatasets);
        s.mounts = vec![mount(&root.join("srv/ada/code"), None)];
        assert!(build_container_config(&s, &policy, now()).is_ok());
    }

    /// A dataset source that has every dataset, at one directory.
    struct AllHere(PathBuf);

    impl DatasetSource for AllHere {
        fn open_dataset(&self, m: &DatasetMount) -> Result<CheckedMount, PolicyRefusal> {
            Ok(CheckedMount {
                dir: nix::fcntl::open(
                    &self.0,
                    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .unwrap(),
                target: format!("{MOUNT_PARENT}/{}", m.name),
                read_only: true,
                as_written: m.name.clone(),
            })
        }
    }

    #[test]
    fn datasets_need_a_complete_copy_and_a_place_of_their_own() {
        let f = fixture();
        let here = AllHere(f.root.join("datasets/imagenet"));
        let ds = |name: &str, manifest: &str| DatasetMount {
            name: name.into(),
            manifest: manifest.into(),
        };
        let id = "a".repeat(64);
        let mut s = spec();
        s.datasets = vec![ds("imagenet", &id)];
        // A host without the dataset refuses, naming it.
        let err = build_container_config(&s, &f.policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::DatasetNotReady);
        assert!(err.message.contains("imagenet"), "{}", err.message);
        // With it: read-only at /data/<name>, and the manifest in the label.
        let plan = build_container_config_with(&s, &f.policy, now(), &here).unwrap();
        assert_eq!(plan.mounts.len(), 1);
        assert_eq!(plan.mounts[0].target, "/data/imagenet");
        assert!(plan.mounts[0].read_only);
        assert_eq!(plan.body.labels.unwrap()[labels::DATASETS], id);
        // Without datasets the label is there, empty (an image cannot fill it in).
        let plain = build_container_config(&spec(), &f.policy, now()).unwrap();
        assert_eq!(plain.body.labels.unwrap()[labels::DATASETS], "");

        let cases: Vec<(Vec<DatasetMount>, Vec<MountSpec>, Rule)> = vec![
            (vec![ds("../etc", &id)], vec![], Rule::InvalidDataset),
            (vec![ds(".hidden", &id)], vec![], Rule::InvalidDataset),
            (vec![ds("imagenet", "v2")], vec![], Rule::InvalidDataset),
            (
                vec![ds("imagenet", &id), ds("imagenet", &id)],
                vec![],
                Rule::InvalidDataset,
            ),
            (
                vec![ds("imagenet", &id)],
                vec![MountSpec {
                    target: "/data/imagenet".into(),
                    ..mount(&f.root.join("home/ada"), None)
                }],
                Rule::MountTarget,
            ),
            (
                vec![ds("imagenet", &id)],
                vec![MountSpec {
                    target: "/data".into(),
                    ..mount(&f.root.join("home/ada"), None)
                }],
                Rule::MountTarget,
            ),
            (
                vec![ds("imagenet", &id)],
                vec![MountSpec {
                    target: "/data/imagenet/extra".into(),
                    ..mount(&f.root.join("home/ada"), None)
                }],
                Rule::MountTarget,
            ),
        ];
        for (datasets, mounts, rule) in cases {
            let mut s = spec();
            s.datasets = datasets.clone();
            s.mounts = mounts;
            let err = build_container_config_with(&s, &f.policy, now(), &here).unwrap_err();
            assert_eq!(err.rule, rule, "{datasets:?}: {}", err.message);
        }
        // Another dataset next to a manual mount elsewhere under /data is fine.
        let mut s = spec();
        s.datasets = vec![ds("imagenet", &id)];
        s.mounts = vec![MountSpec {
            target: "/data/other".into(),
            ..mount(&f.root.join("home/ada"), None)
        }];
        assert!(build_container_config_with(&s, &f.policy, now(), &here).is_ok());
    }

    #[test]
    fn the_agents_own_dataset_state_is_never_mounted_by_hand() {
        let f = fixture();
        std::fs::create_dir_all(f.root.join("datasets/.maison/partial/x")).unwrap();
        for path in ["datasets/.maison", "datasets/.maison/partial/x"] {
            let mut s = spec();
            s.mounts = vec![mount(&f.root.join(path), None)];
            let err = build_container_config(&s, &f.policy, now()).unwrap_err();
            assert_eq!(err.rule, Rule::MountOutsideRoots, "{path}");
        }
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
                Box::new(|s, r| s.mounts = vec![mount(&r.join("home/ada/nothing"), None)]),
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
                "same target twice",
                Box::new(|s, r| {
                    s.mounts = vec![
                        mount(&r.join("home/ada"), None),
                        MountSpec {
                            target: "/mnt/".into(),
                            ..mount(&r.join("work/ada"), None)
                        },
                    ]
                }),
                Rule::MountTarget,
            ),
            (
                "hundreds of mounts",
                Box::new(|s, r| {
                    s.mounts = (0..=MAX_MOUNTS)
                        .map(|n| MountSpec {
                            target: format!("/mnt/{n}"),
                            ..mount(&r.join("home/ada"), None)
                        })
                        .collect()
                }),
                Rule::TooManyMounts,
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
                "command",
                Box::new(|s, _| s.command = vec!["echo".into(), "a\0b".into()]),
                Rule::InvalidCommand,
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
    fn a_launch_takes_up_to_its_share_of_mounts_each_on_its_own_target() {
        let f = fixture();
        let mut s = spec();
        s.mounts = (0..MAX_MOUNTS)
            .map(|n| MountSpec {
                target: format!("/mnt/{n}"),
                ..mount(&f.root.join("home/ada"), None)
            })
            .collect();
        let plan = build_container_config(&s, &f.policy, now()).unwrap();
        assert_eq!(plan.mounts.len(), MAX_MOUNTS);
        // One more, as a dataset, goes past the limit too.
        s.datasets = vec![DatasetMount {
            name: "imagenet".into(),
            manifest: "a".repeat(64),
        }];
        let err = build_container_config(&s, &f.policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::TooManyMounts, "{}", err.message);
        assert!(err.message.contains("17 mounts"), "{}", err.message);
    }

    #[test]
    fn a_root_holding_the_docker_socket_cannot_be_mounted() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir_all(root.join("data/run")).unwrap();
        std::fs::write(root.join("data/run/docker.sock"), "").unwrap();
        let roots = MountRoots {
            datasets: Some(root.join("data")),
            ..MountRoots::default()
        };
        let policy = policy_with(&roots, &root.join("data/run/docker.sock"), 0);
        let mut s = spec();
        s.mounts = vec![mount(&root.join("data/run"), None)];
        let err = build_container_config(&s, &policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::MountDockerSocket);
        assert!(!err.message.contains("docker.sock"), "{}", err.message);
    }

    #[test]
    fn no_roots_means_no_mounts() {
        let f = fixture();
        let policy = policy_with(&MountRoots::default(), Path::new("/var/run/docker.sock"), 0);
        let mut s = spec();
        s.mounts = vec![mount(&f.root.join("home/ada"), None)];
        let err = build_container_config(&s, &policy, now()).unwrap_err();
        assert_eq!(err.rule, Rule::MountOutsideRoots);
        assert!(err.message.contains("no mounts"), "{}", err.message);
    }
}
