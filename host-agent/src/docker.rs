//! The Docker engine through bollard: start-up negotiation, the inventory loop
//! (list + events stream), and the few state-changing calls the API offers.
//!
//! Never calls `/system/df` nor lists with `size=true`: both can take minutes on
//! busy hosts. Image sizes come from the image list, free space from statvfs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::RwLock;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, InspectContainerOptions,
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder, StopContainerOptionsBuilder, TopOptionsBuilder,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use maison_agent_api::{
    ContainerProcesses, ContainerState, ContainerSummary, MaisonLabels, labels,
};
use tokio::sync::Mutex as AsyncMutex;

use crate::inventory::{ImageRecord, Inventory};
use crate::mounts::{StageError, Stager};
use crate::policy::{
    LaunchPlan, check_image_maker, check_workdir, neutralise_image_labels, resolve_workdir,
};

/// Errors the API maps to distinct answers.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        rule: Option<&'static str>,
    },
    #[error("Docker: {0}")]
    Docker(String),
    #[error("{0}")]
    Unavailable(String),
    /// A launch the policy accepted but the host cannot carry out safely.
    #[error("{message}")]
    Refused { message: String, rule: &'static str },
}

impl From<crate::policy::PolicyRefusal> for EngineError {
    fn from(refusal: crate::policy::PolicyRefusal) -> Self {
        EngineError::Refused {
            message: refusal.message,
            rule: refusal.rule.as_str(),
        }
    }
}

impl From<BollardError> for EngineError {
    fn from(e: BollardError) -> Self {
        match e {
            BollardError::DockerResponseServerError {
                status_code: 404,
                message,
            } => EngineError::NotFound(message),
            BollardError::DockerResponseServerError {
                status_code: 409,
                message,
            } => EngineError::Conflict {
                message,
                rule: None,
            },
            other => EngineError::Docker(other.to_string()),
        }
    }
}

/// A launch of an image this engine does not have (gone between the check and the create too).
fn missing_image(image: &str) -> EngineError {
    EngineError::NotFound(format!(
        "image {image} is not on this host (the agent never pulls)"
    ))
}

/// Facts about the engine, read when the connection is made.
#[derive(Debug, Clone)]
pub struct EngineInfo {
    pub version: String,
    pub api_version: String,
    pub root_dir: String,
}

pub struct Engine {
    socket: PathBuf,
    timeout_secs: u64,
    /// `None` until the engine has answered once: the agent starts (and serves
    /// GPU data) even while Docker is down, and keeps trying.
    docker: RwLock<Option<Docker>>,
    info: RwLock<Option<EngineInfo>>,
    inventory: Arc<Inventory>,
    /// uuid → index, to read GPU assignments of containers not made by Maison.
    gpu_uuids: HashMap<String, u32>,
    gpu_count: u32,
    /// One lock per idempotency key in flight, so two identical concurrent
    /// launches create one container.
    in_flight: std::sync::Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
    /// Held from counting an owner's containers until the new one exists, so two launches at
    /// once cannot both fit in the same share. One lock for every owner: launches are rare and
    /// the window is a create and a start.
    share_counted: AsyncMutex<()>,
    stager: Arc<Stager>,
    /// Image copies and builds in progress, for `GET /v1/images/progress`.
    pub image_work: crate::image_work::Board,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("socket", &self.socket)
            .field("info", &self.info())
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(
        socket: &Path,
        timeout_secs: u64,
        inventory: Arc<Inventory>,
        gpus: &[maison_agent_api::GpuInfo],
        stager: Arc<Stager>,
    ) -> Engine {
        Engine {
            socket: socket.to_path_buf(),
            timeout_secs,
            docker: RwLock::new(None),
            info: RwLock::new(None),
            inventory,
            gpu_uuids: gpus.iter().map(|g| (g.uuid.clone(), g.index)).collect(),
            gpu_count: gpus.len() as u32,
            in_flight: std::sync::Mutex::new(HashMap::new()),
            share_counted: AsyncMutex::new(()),
            stager,
            image_work: Default::default(),
        }
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    pub fn stager(&self) -> &Stager {
        &self.stager
    }

    /// Connects if not connected yet, negotiating the API version down to what
    /// the engine speaks (bollard defaults to a newer one than e.g. Docker 20.10's 1.41).
    pub async fn try_connect(&self) -> Result<(), EngineError> {
        if self.docker.read().unwrap().is_some() {
            return Ok(());
        }
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            EngineError::Unavailable(format!(
                "Docker at {} is not reachable ({what}: {e})",
                self.socket.display()
            ))
        };
        let socket = self.socket.to_string_lossy();
        let docker =
            Docker::connect_with_unix(&socket, self.timeout_secs, bollard::API_DEFAULT_VERSION)
                .map_err(|e| unavailable("connecting", &e))?
                .negotiate_version()
                .await
                .map_err(|e| unavailable("negotiating the API version", &e))?;
        let version = docker
            .version()
            .await
            .map_err(|e| unavailable("asking its version", &e))?;
        let sysinfo = docker
            .info()
            .await
            .map_err(|e| unavailable("asking its root directory", &e))?;
        let info = EngineInfo {
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            root_dir: sysinfo
                .docker_root_dir
                .unwrap_or_else(|| "/var/lib/docker".into()),
        };
        tracing::info!(version = %info.version, api = %info.api_version, client_api = %docker.client_version(), "connected to Docker");
        *self.info.write().unwrap() = Some(info);
        *self.docker.write().unwrap() = Some(docker);
        Ok(())
    }

    pub fn info(&self) -> Option<EngineInfo> {
        self.info.read().unwrap().clone()
    }

    /// The Docker client, or `Unavailable` before the first successful connection.
    pub fn client(&self) -> Result<Docker, EngineError> {
        self.docker.read().unwrap().clone().ok_or_else(|| {
            EngineError::Unavailable(format!(
                "Docker at {} has not been reachable since the agent started",
                self.socket.display()
            ))
        })
    }

    // ----- inventory -------------------------------------------------------

    /// Keeps the inventory current until `shutdown` fires: full listing, then the
    /// events stream; on any stream error, reconnect with a full re-list.
    pub async fn run_inventory(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(500);
        // Resume point in Docker's clock (Unix nanoseconds) of the last event seen.
        let mut since_nanos: Option<i64> = None;
        loop {
            // Events since just before the listing are replayed, so nothing that
            // happens while we list is lost; handling is idempotent.
            let start = since_nanos.unwrap_or_else(|| {
                (Utc::now() - chrono::TimeDelta::seconds(2))
                    .timestamp_nanos_opt()
                    .unwrap_or(0)
            });
            let relist = tokio::select! {
                r = async { self.try_connect().await?; self.relist().await } => r,
                _ = shutdown.changed() => return,
            };
            if let Err(e) = relist {
                self.inventory.set_live(false);
                tracing::warn!(error = %e, retry_in = ?backoff, "Docker listing failed");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
            let mut filters = HashMap::new();
            filters.insert("type", vec!["container", "image"]);
            let options = EventsOptionsBuilder::new()
                .since(&format_since(start))
                .filters(&filters)
                .build();
            let Ok(docker) = self.client() else { continue };
            let mut stream = docker.events(Some(options));
            self.inventory.set_live(true);
            backoff = Duration::from_millis(500);
            loop {
                let next = tokio::select! {
                    n = stream.next() => n,
                    _ = shutdown.changed() => return,
                };
                match next {
                    Some(Ok(event)) => {
                        if let Some(t) = event.time_nano {
                            since_nanos = Some(since_nanos.map_or(t, |s| s.max(t)));
                        }
                        self.inventory
                            .stats
                            .events
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if let Err(e) = self.apply_event(&event).await {
                            tracing::warn!(error = %e, "applying a Docker event failed; re-listing");
                            break;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "Docker events stream failed; reconnecting");
                        break;
                    }
                    None => {
                        tracing::warn!("Docker events stream ended; reconnecting");
                        break;
                    }
                }
            }
            self.inventory.set_live(false);
            self.inventory
                .stats
                .stream_errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Lists every container and image afresh.
    pub async fn relist(&self) -> Result<(), EngineError> {
        let list = self
            .client()?
            .list_containers(Some(ListContainersOptionsBuilder::new().all(true).build()))
            .await?;
        let stages: std::collections::HashSet<String> = list
            .iter()
            .filter_map(|c| c.labels.as_ref()?.get(labels::MOUNT_STAGE).cloned())
            .filter(|s| !s.is_empty())
            .collect();
        self.stager.sweep(&stages);
        let mut out = Vec::with_capacity(list.len());
        for c in list {
            if let Some(s) = self.summarise(c).await {
                out.push(s);
            }
        }
        self.inventory.replace_containers(out);
        self.relist_images().await?;
        self.inventory
            .stats
            .full_relists
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    pub(crate) async fn relist_images(&self) -> Result<(), EngineError> {
        let images = self
            .client()?
            .list_images(Some(ListImagesOptionsBuilder::new().all(false).build()))
            .await?;
        let records = images
            .into_iter()
            .map(|i| ImageRecord {
                tags: i
                    .repo_tags
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .collect(),
                size_bytes: u64::try_from(i.size).unwrap_or(0),
                created: DateTime::from_timestamp(i.created, 0).unwrap_or_default(),
                labels: i.labels.into_iter().collect::<BTreeMap<_, _>>(),
                id: i.id,
            })
            .collect();
        self.inventory.replace_images(records);
        self.inventory
            .stats
            .image_relists
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    async fn apply_event(&self, event: &EventMessage) -> Result<(), EngineError> {
        let action = event.action.as_deref().unwrap_or("");
        let Some(id) = event.actor.as_ref().and_then(|a| a.id.as_deref()) else {
            return Ok(());
        };
        match event.typ {
            Some(EventMessageTypeEnum::CONTAINER) => {
                // exec_*, health_status, top, attach… do not change what we show.
                let relevant = matches!(
                    action,
                    "create"
                        | "start"
                        | "restart"
                        | "die"
                        | "stop"
                        | "kill"
                        | "pause"
                        | "unpause"
                        | "rename"
                        | "update"
                        | "destroy"
                        | "oom"
                );
                if action == "commit" {
                    // `docker commit` makes an image but reports it as a container event.
                    return self.relist_images().await;
                }
                if !relevant {
                    return Ok(());
                }
                if action == "destroy" {
                    self.inventory.remove_container(id);
                    // Docker copies the container's labels into the event.
                    if let Some(stage) = event
                        .actor
                        .as_ref()
                        .and_then(|a| a.attributes.as_ref())
                        .and_then(|a| a.get(labels::MOUNT_STAGE))
                        .filter(|s| !s.is_empty())
                    {
                        self.stager.release(stage);
                    }
                } else {
                    self.refresh_container(id).await?;
                }
            }
            Some(EventMessageTypeEnum::IMAGE) => {
                self.relist_images().await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Every container, in any state, that Docker's `filter` matches with all of `values`.
    async fn list_matching(
        &self,
        filter: &str,
        values: Vec<&str>,
    ) -> Result<Vec<bollard::models::ContainerSummary>, EngineError> {
        let filters = HashMap::from([(filter, values)]);
        Ok(self
            .client()?
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await?)
    }

    /// Re-reads one container; removes it from the inventory if it is gone.
    pub async fn refresh_container(
        &self,
        id: &str,
    ) -> Result<Option<ContainerSummary>, EngineError> {
        let list = self.list_matching("id", vec![id]).await?;
        let found = list
            .into_iter()
            .find(|c| c.id.as_deref().is_some_and(|cid| cid.starts_with(id)));
        match found {
            Some(c) => {
                let summary = self.summarise(c).await;
                if let Some(s) = &summary {
                    self.inventory.upsert_container(s.clone());
                }
                Ok(summary)
            }
            None => {
                self.inventory.remove_container(id);
                Ok(None)
            }
        }
    }

    async fn summarise(&self, c: bollard::models::ContainerSummary) -> Option<ContainerSummary> {
        let id = c.id?;
        let label_map = c.labels.unwrap_or_default();
        // Trusted on any container, even one made by hand: it only ever keeps a replica from
        // being removed, never grants anything.
        self.inventory.set_container_datasets(
            &id,
            label_map
                .get(labels::DATASETS)
                .map(|l| {
                    l.split(',')
                        .filter(|m| !m.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
        );
        let maison = MaisonLabels::from_labels(&label_map);
        let gpus = match label_map.get(labels::GPUS) {
            Some(list) => parse_gpu_list(list),
            // Containers started by hand may hold GPUs too; only an inspect tells.
            // This runs on listing and events, never on an API read.
            None if self.gpu_count > 0 => self.gpus_from_inspect(&id).await,
            None => Vec::new(),
        };
        Some(ContainerSummary {
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default(),
            image: c.image.unwrap_or_default(),
            image_id: c.image_id.unwrap_or_default(),
            state: c
                .state
                .map(|s| ContainerState::parse(s.as_ref()))
                .unwrap_or(ContainerState::Unknown),
            status: c.status.unwrap_or_default(),
            created: c
                .created
                .and_then(|t| DateTime::from_timestamp(t, 0))
                .unwrap_or_default(),
            gpus,
            owned: maison.is_some(),
            // Only trusted on containers the agent made: it sets the label on every launch,
            // overriding anything an image carries.
            limits: maison
                .as_ref()
                .and(label_map.get(labels::LIMITS))
                .and_then(|l| maison_agent_api::ResourceLimits::from_label(l)),
            maison,
            id,
        })
    }

    async fn gpus_from_inspect(&self, id: &str) -> Vec<u32> {
        let Ok(docker) = self.client() else {
            return Vec::new();
        };
        let Ok(details) = docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
        else {
            return Vec::new();
        };
        let requests = details
            .host_config
            .and_then(|h| h.device_requests)
            .unwrap_or_default();
        let env = details.config.and_then(|c| c.env).unwrap_or_default();
        gpus_of(&requests, &env, &self.gpu_uuids, self.gpu_count)
    }

    // ----- actions ---------------------------------------------------------

    /// Creates and starts a container from an already policy-checked body, once
    /// per idempotency key. Returns whether it was created by this call.
    pub async fn launch(
        &self,
        name: Option<&str>,
        idempotency_key: &str,
        plan: LaunchPlan,
    ) -> Result<(bool, ContainerSummary), EngineError> {
        let lock = {
            let mut map = self.in_flight.lock().unwrap();
            map.entry(idempotency_key.to_string())
                .or_insert_with(|| Arc::new(AsyncMutex::new(())))
                .clone()
        };
        let result = {
            let _guard = lock.lock().await;
            self.launch_locked(name, idempotency_key, plan).await
        };
        {
            let mut map = self.in_flight.lock().unwrap();
            // Two references: the map's and ours. Nobody else waits on this key.
            if Arc::strong_count(&lock) == 2 {
                map.remove(idempotency_key);
            }
        }
        result
    }

    async fn launch_locked(
        &self,
        name: Option<&str>,
        key: &str,
        plan: LaunchPlan,
    ) -> Result<(bool, ContainerSummary), EngineError> {
        if let Some(existing) = self.inventory.find_by_idempotency_key(key) {
            return Ok((false, existing));
        }
        // The inventory may lag (e.g. just after a restart): ask Docker too.
        let label = format!("{}={key}", labels::IDEMPOTENCY_KEY);
        let existing = self.list_matching("label", vec![label.as_str()]).await?;
        if let Some(c) = existing.into_iter().next()
            && let Some(s) = self.summarise(c).await
        {
            self.inventory.upsert_container(s.clone());
            return Ok((false, s));
        }

        let mut body = plan.body;
        let image = body.image.clone().unwrap_or_default();
        let inspected =
            self.client()?
                .inspect_image(&image)
                .await
                .map_err(|e| match EngineError::from(e) {
                    // Docker's own text says it twice ("no such image: x: No such image: x").
                    EngineError::NotFound(_) => missing_image(&image),
                    other => other,
                })?;
        let config = inspected.config.unwrap_or_default();
        let workdir = resolve_workdir("/", config.working_dir.as_deref().unwrap_or_default());
        check_workdir(&workdir, &format!("the image {image}"))?;
        let image_labels = config.labels.unwrap_or_default();
        let launcher = body
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::OWNER))
            .cloned()
            .unwrap_or_default();
        check_image_maker(&image, &image_labels, &launcher)?;
        if let Some(container_labels) = body.labels.as_mut() {
            neutralise_image_labels(container_labels, &image_labels);
        }
        let _counted = self.share_counted.lock().await;
        let live = self
            .live_containers_of(&launcher, &plan.share.agent_label)
            .await?;
        plan.share.check(&live, &plan.gpus, &plan.limits)?;
        let stage = self.stager.stage(&plan.mounts).map_err(|e| match e {
            StageError::Unavailable(_) => EngineError::Refused {
                message: e.to_string(),
                rule: "mounts-unavailable",
            },
            StageError::Mount { .. } => EngineError::Docker(e.to_string()),
        })?;
        // The open directories are pinned now; the descriptors are no longer needed.
        drop(plan.mounts);
        if let Some(stage) = &stage {
            if let Some(l) = body.labels.as_mut() {
                l.insert(labels::MOUNT_STAGE.to_string(), stage.id.clone());
            }
            if let Some(hc) = body.host_config.as_mut() {
                hc.mounts = Some(stage.mounts.clone());
            }
        }
        let result = self.create_and_start(name, body, inspected.id).await;
        if let Some(stage) = &stage {
            match &result {
                Ok(_) => self.stager.settle(&stage.id),
                Err(_) => self.stager.release(&stage.id),
            }
        }
        result
    }

    /// The owner's containers made by this agent that hold resources now (created, running,
    /// paused), asked of Docker rather than the inventory, which may lag behind a launch a
    /// moment ago.
    async fn live_containers_of(
        &self,
        owner: &str,
        agent_label: &str,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        let owned = format!("{}={owner}", labels::OWNER);
        let made_here = format!("{}={agent_label}", labels::AGENT);
        let listed = self
            .list_matching("label", vec![owned.as_str(), made_here.as_str()])
            .await?;
        let mut live = Vec::new();
        for c in listed {
            if let Some(s) = self.summarise(c).await
                && matches!(
                    s.state,
                    ContainerState::Created
                        | ContainerState::Running
                        | ContainerState::Paused
                        | ContainerState::Restarting
                )
            {
                live.push(s);
            }
        }
        Ok(live)
    }

    /// Creates and starts the container, from the image `checked` (its id) if given: should the
    /// name have moved to another image since it was checked, the container is removed again.
    async fn create_and_start(
        &self,
        name: Option<&str>,
        body: ContainerCreateBody,
        checked: Option<String>,
    ) -> Result<(bool, ContainerSummary), EngineError> {
        let mut options = CreateContainerOptionsBuilder::new();
        if let Some(n) = name {
            options = options.name(n);
        }
        let image = body.image.clone().unwrap_or_default();
        let created = self
            .client()?
            .create_container(Some(options.build()), body)
            .await
            .map_err(|e| match EngineError::from(e) {
                EngineError::Conflict { message, .. } => EngineError::Conflict {
                    message: format!("a container with that name already exists: {message}"),
                    rule: Some("name-taken"),
                },
                EngineError::NotFound(_) => missing_image(&image),
                other => other,
            })?;
        if let Some(checked) = checked {
            let used = self
                .client()?
                .inspect_container(&created.id, None::<InspectContainerOptions>)
                .await
                .ok()
                .and_then(|c| c.image);
            if used.as_deref() != Some(checked.as_str()) {
                self.discard_created(&created.id).await;
                return Err(EngineError::Conflict {
                    message: "the image's name moved to another image while the container was made; launch again".into(),
                    rule: Some("image-changed"),
                });
            }
        }
        if let Err(e) = self.client()?.start_container(&created.id, None).await {
            // Nothing half-done: a container that cannot start is removed again.
            self.discard_created(&created.id).await;
            return Err(EngineError::Docker(format!(
                "starting the container failed: {e}"
            )));
        }
        match self.refresh_container(&created.id).await? {
            Some(s) => Ok((true, s)),
            None => Err(EngineError::Docker(
                "the container vanished right after it was started".into(),
            )),
        }
    }

    /// Removes a container this launch created and will not hand over.
    async fn discard_created(&self, id: &str) {
        if let Ok(client) = self.client() {
            let _ = client
                .remove_container(
                    id,
                    Some(RemoveContainerOptionsBuilder::new().force(true).build()),
                )
                .await;
        }
        self.inventory.remove_container(id);
    }

    pub async fn stop(
        &self,
        key: &str,
        timeout: Option<i32>,
    ) -> Result<ContainerSummary, EngineError> {
        let id = self.resolve_container(key);
        let mut options = StopContainerOptionsBuilder::new();
        if let Some(t) = timeout {
            options = options.t(t);
        }
        match self
            .client()?
            .stop_container(&id, Some(options.build()))
            .await
        {
            Ok(()) => {}
            // 304: already stopped, which is what was asked.
            Err(BollardError::DockerResponseServerError {
                status_code: 304, ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
        self.refresh_container(&id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("container {key}")))
    }

    /// The host uids of a container's processes, as Docker's `top` reports them.
    pub async fn processes(&self, key: &str) -> Result<ContainerProcesses, EngineError> {
        let id = self.resolve_container(key);
        let top = self
            .client()?
            .top_processes(
                &id,
                Some(TopOptionsBuilder::new().ps_args("-o pid,uid").build()),
            )
            .await;
        let top = match top {
            Ok(t) => t,
            // 409: the container exists but is not running; nothing runs as anyone.
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => {
                return Ok(ContainerProcesses {
                    container_id: id,
                    running: false,
                    uids: Vec::new(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let column = top
            .titles
            .as_ref()
            .and_then(|t| t.iter().position(|c| c == "UID"))
            .ok_or_else(|| EngineError::Docker("docker top did not report a UID column".into()))?;
        let mut uids: Vec<u32> = top
            .processes
            .unwrap_or_default()
            .iter()
            .filter_map(|row| row.get(column)?.trim().parse().ok())
            .collect();
        uids.sort_unstable();
        uids.dedup();
        Ok(ContainerProcesses {
            container_id: id,
            running: true,
            uids,
        })
    }

    pub async fn remove(&self, key: &str, force: bool) -> Result<(), EngineError> {
        let id = self.resolve_container(key);
        self.client()?
            .remove_container(
                &id,
                Some(RemoveContainerOptionsBuilder::new().force(force).build()),
            )
            .await
            .map_err(|e| match EngineError::from(e) {
                EngineError::Conflict { message, .. } => EngineError::Conflict {
                    message: format!("{message}; stop it first or pass force=true"),
                    rule: Some("container-running"),
                },
                other => other,
            })?;
        if let Some(c) = self.inventory.find_container(&id) {
            self.inventory.remove_container(&c.id);
        }
        Ok(())
    }

    pub fn resolve_container(&self, key: &str) -> String {
        self.inventory
            .find_container(key)
            .map(|c| c.id)
            .unwrap_or_else(|| key.to_string())
    }

    /// Removes an image unless a container (in any state) uses it.
    pub async fn remove_image(&self, key: &str) -> Result<(), EngineError> {
        let Some(image) = self.inventory.find_image(key) else {
            return Err(EngineError::NotFound(format!("image {key}")));
        };
        // Asked live rather than from the inventory: removing an image is rare and
        // must not race with a launch the events stream has not reported yet.
        let containers = self
            .client()?
            .list_containers(Some(ListContainersOptionsBuilder::new().all(true).build()))
            .await?;
        let users: Vec<String> = containers
            .into_iter()
            .filter(|c| c.image_id.as_deref() == Some(image.id.as_str()))
            .map(|c| {
                c.names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_string())
                    .or(c.id)
                    .unwrap_or_default()
            })
            .collect();
        if !users.is_empty() {
            return Err(EngineError::Conflict {
                message: format!(
                    "image {key} is used by {} container(s): {}; remove them first",
                    users.len(),
                    users.join(", ")
                ),
                rule: Some("image-in-use"),
            });
        }
        self.client()?
            .remove_image(
                &image.id,
                Some(RemoveImageOptionsBuilder::new().force(false).build()),
                None,
            )
            .await?;
        self.relist_images().await?;
        Ok(())
    }
}

/// Docker's `since` takes `seconds.nanoseconds`.
fn format_since(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
}

fn parse_gpu_list(s: &str) -> Vec<u32> {
    s.split(',').filter_map(|p| p.trim().parse().ok()).collect()
}

/// GPUs held by a container, from its device requests or, for the legacy NVIDIA
/// runtime, its `NVIDIA_VISIBLE_DEVICES`.
pub fn gpus_of(
    requests: &[bollard::models::DeviceRequest],
    env: &[String],
    uuids: &HashMap<String, u32>,
    gpu_count: u32,
) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    let mut add = |s: &str| {
        let s = s.trim();
        if s == "all" {
            out.extend(0..gpu_count);
        } else if let Ok(i) = s.parse::<u32>() {
            out.push(i);
        } else if let Some(&i) = uuids.get(s) {
            out.push(i);
        }
    };
    for r in requests {
        let is_gpu = r.driver.as_deref() == Some("nvidia")
            || r.capabilities
                .as_ref()
                .is_some_and(|c| c.iter().any(|set| set.iter().any(|x| x == "gpu")));
        if !is_gpu {
            continue;
        }
        match (&r.device_ids, r.count) {
            (Some(ids), _) if !ids.is_empty() => ids.iter().for_each(|i| add(i)),
            (_, Some(-1)) => add("all"),
            (_, Some(n)) if n > 0 => {
                (0..(n as u32).min(gpu_count)).for_each(|i| add(&i.to_string()))
            }
            _ => {}
        }
    }
    for e in env {
        if let Some(v) = e.strip_prefix("NVIDIA_VISIBLE_DEVICES=") {
            v.split(',').for_each(&mut add);
        }
    }
    out.sort_unstable();
    out.dedup();
    out.retain(|g| *g < gpu_count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::DeviceRequest;

    #[test]
    fn since_is_seconds_dot_nanos() {
        assert_eq!(
            format_since(1_700_000_000_123_456_789),
            "1700000000.123456789"
        );
        assert_eq!(format_since(5), "0.000000005");
    }

    #[test]
    fn gpus_from_requests_and_env() {
        let mut uuids = HashMap::new();
        uuids.insert("GPU-abc".to_string(), 3);
        let req = |ids: Option<Vec<&str>>, count: Option<i64>| DeviceRequest {
            driver: Some("nvidia".into()),
            device_ids: ids.map(|v| v.into_iter().map(String::from).collect()),
            count,
            ..Default::default()
        };
        assert_eq!(
            gpus_of(&[req(Some(vec!["1", "GPU-abc"]), None)], &[], &uuids, 4),
            vec![1, 3]
        );
        assert_eq!(gpus_of(&[req(None, Some(-1))], &[], &uuids, 2), vec![0, 1]);
        assert_eq!(gpus_of(&[req(None, Some(1))], &[], &uuids, 2), vec![0]);
        assert_eq!(
            gpus_of(
                &[],
                &["NVIDIA_VISIBLE_DEVICES=0,2".into(), "PATH=/bin".into()],
                &uuids,
                4
            ),
            vec![0, 2]
        );
        assert!(gpus_of(&[], &["NVIDIA_VISIBLE_DEVICES=none".into()], &uuids, 4).is_empty());
        assert_eq!(parse_gpu_list("0, 2,x"), vec![0, 2]);
    }
}
