//! A scriptable in-process agent for the report, reminder, fleet-command and dataset scenarios:
//! the poller reads its inventory, metrics and dataset copies; launch, stop, rm, image rm, the
//! process look-ups of `claim` and the dataset calls (register, fetch, verify, remove) are
//! recorded. Dataset copies are plain [`ReplicaInfo`] rows a test edits to move them along.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use maison_agent_api::datasets::{
    DatasetInventory, FetchRequest, RegisterRequest, ReplicaInfo, ReplicaOrigin, ReplicaState,
};
use maison_agent_api::{
    ApiError, ClientError, ContainerProcesses, ContainerState, ContainerSummary, ErrorCode,
    GpuHolder, GpuInfo, GpuMinute, GpuReading, HostInfo, ImageSummary, LaunchResponse, LaunchSpec,
    MaisonLabels, MetricsResponse, ResourceLimits,
};
use maison_bot::ports::AgentApi;

pub const GIB: u64 = 1 << 30;

#[derive(Default)]
pub struct State {
    pub containers: Vec<ContainerSummary>,
    pub images: Vec<ImageSummary>,
    pub rollups: Vec<GpuMinute>,
    pub current: Vec<GpuReading>,
    /// Host uids of each container's processes, by container id (none: no processes).
    pub process_uids: BTreeMap<String, Vec<u32>>,
    /// Calls made: `launch <name>`, `processes <id>`, `stop <id>`, `rm <id>`, `rmi <id>`.
    pub calls: Vec<String>,
    /// Every launch asked for, as sent.
    pub launches: Vec<LaunchSpec>,
    /// With them, a launch starts a running container carrying these limits; without them it
    /// is refused.
    pub launch_limits: Option<ResourceLimits>,
    /// The dataset copies this host lists.
    pub replicas: Vec<ReplicaInfo>,
    /// Free bytes of the datasets filesystem (`None`: the agent does not say).
    pub free_bytes: Option<u64>,
    pub free_margin_bytes: u64,
    /// Every register and fetch asked for, as sent.
    pub registers: Vec<RegisterRequest>,
    pub fetches: Vec<FetchRequest>,
    /// The next register is refused with this (status, code, message).
    pub refuse_register: Option<(u16, ErrorCode, String)>,
    /// Registers answer only after this long (a slow disk or a busy agent).
    pub register_delay: Option<std::time::Duration>,
}

pub struct FakeAgent {
    host: String,
    gpus: u32,
    pub state: Mutex<State>,
}

impl FakeAgent {
    pub fn new(host: &str, gpus: u32) -> Self {
        Self {
            host: host.to_owned(),
            gpus,
            state: Mutex::new(State::default()),
        }
    }

    pub fn edit(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }
}

fn refused(status: u16, code: ErrorCode, message: &str) -> ClientError {
    ClientError::Api {
        status,
        error: ApiError {
            code,
            message: message.to_owned(),
            rule: None,
        },
    }
}

#[async_trait]
impl AgentApi for FakeAgent {
    async fn host(&self) -> Result<HostInfo, ClientError> {
        Ok(HostInfo {
            hostname: self.host.clone(),
            cpus: 32,
            memory_total_bytes: 256 * GIB,
            docker_root_dir: None,
            docker_root_free_bytes: None,
            docker_root_total_bytes: None,
            docker_version: None,
            docker_api_version: None,
            nvidia: None,
            gpus: (0..self.gpus)
                .map(|i| GpuInfo {
                    index: i,
                    uuid: format!("GPU-{}-{i}", self.host),
                    name: "Simulated".into(),
                    memory_total_bytes: 80 * GIB,
                })
                .collect(),
            gpus_simulated: true,
            agent_version: "test".into(),
        })
    }
    async fn metrics(&self, since: Option<DateTime<Utc>>) -> Result<MetricsResponse, ClientError> {
        let s = self.state.lock().unwrap();
        Ok(MetricsResponse {
            simulated: true,
            rollups: s
                .rollups
                .iter()
                .filter(|m| since.is_none_or(|t| m.minute >= t))
                .cloned()
                .collect(),
            current: s.current.clone(),
        })
    }
    async fn containers(&self) -> Result<Vec<ContainerSummary>, ClientError> {
        Ok(self.state.lock().unwrap().containers.clone())
    }
    async fn container_processes(&self, id: &str) -> Result<ContainerProcesses, ClientError> {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("processes {id}"));
        let Some(c) = s.containers.iter().find(|c| c.id == id) else {
            return Err(refused(404, ErrorCode::NotFound, "no such container"));
        };
        let running = c.state == ContainerState::Running;
        let uids = if running {
            s.process_uids.get(id).cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(ContainerProcesses {
            container_id: id.to_owned(),
            running,
            uids,
        })
    }
    async fn launch(&self, spec: &LaunchSpec) -> Result<LaunchResponse, ClientError> {
        let mut s = self.state.lock().unwrap();
        let name = spec.name.clone().unwrap_or_default();
        s.calls.push(format!("launch {name}"));
        s.launches.push(spec.clone());
        let Some(limits) = s.launch_limits else {
            return Err(refused(400, ErrorCode::BadRequest, "no launches here"));
        };
        let mut launched = container(
            &name,
            Some(&spec.owner),
            ContainerState::Running,
            "Up Less than a second",
            Utc::now(),
            &spec.gpus,
        );
        launched.image = spec.image.clone();
        launched.limits = Some(limits);
        s.containers.push(launched.clone());
        Ok(LaunchResponse {
            created: true,
            container: launched,
        })
    }
    async fn stop(&self, id: &str) -> Result<ContainerSummary, ClientError> {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("stop {id}"));
        let Some(c) = s.containers.iter_mut().find(|c| c.id == id) else {
            return Err(refused(404, ErrorCode::NotFound, "no such container"));
        };
        c.state = ContainerState::Exited;
        c.status = "Exited (0) Less than a second ago".into();
        Ok(c.clone())
    }
    async fn remove(&self, id: &str, _force: bool) -> Result<(), ClientError> {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("rm {id}"));
        let before = s.containers.len();
        s.containers.retain(|c| c.id != id);
        if s.containers.len() == before {
            return Err(refused(404, ErrorCode::NotFound, "no such container"));
        }
        Ok(())
    }
    async fn images(&self) -> Result<Vec<ImageSummary>, ClientError> {
        Ok(self.state.lock().unwrap().images.clone())
    }
    async fn datasets(&self) -> Result<DatasetInventory, ClientError> {
        let s = self.state.lock().unwrap();
        Ok(DatasetInventory {
            replicas: s.replicas.clone(),
            free_bytes: s.free_bytes,
            total_bytes: None,
            free_margin_bytes: s.free_margin_bytes,
        })
    }
    async fn register_dataset(&self, req: &RegisterRequest) -> Result<ReplicaInfo, ClientError> {
        let delay = self.state.lock().unwrap().register_delay;
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!(
            "register {}@{} {}",
            req.name, req.version, req.path
        ));
        s.registers.push(req.clone());
        if let Some((status, code, message)) = s.refuse_register.take() {
            return Err(refused(status, code, &message));
        }
        let mut scanning = replica(&req.name, &req.version, None, ReplicaState::Scanning, 0, 0);
        scanning.origin = ReplicaOrigin::InPlace;
        scanning.path = req.path.clone();
        s.replicas.push(scanning.clone());
        Ok(scanning)
    }
    async fn fetch_dataset(&self, req: &FetchRequest) -> Result<ReplicaInfo, ClientError> {
        let mut s = self.state.lock().unwrap();
        let from: Vec<&str> = req.sources.iter().map(|p| p.host.as_str()).collect();
        s.calls.push(format!(
            "fetch {}@{} from {}",
            req.name,
            req.version,
            from.join(",")
        ));
        s.fetches.push(req.clone());
        if let Some(known) = s
            .replicas
            .iter()
            .find(|r| r.manifest.as_deref() == Some(req.manifest.as_str()))
        {
            return Ok(known.clone());
        }
        let mut fetching = replica(
            &req.name,
            &req.version,
            Some(&req.manifest),
            ReplicaState::Fetching,
            0,
            0,
        );
        fetching.sources = from.iter().map(|h| h.to_string()).collect();
        s.replicas.push(fetching.clone());
        Ok(fetching)
    }
    async fn verify_dataset(&self, id: &str) -> Result<ReplicaInfo, ClientError> {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("verify {id}"));
        let Some(r) = s
            .replicas
            .iter_mut()
            .find(|r| r.manifest.as_deref() == Some(id))
        else {
            return Err(refused(404, ErrorCode::NotFound, "no such dataset copy"));
        };
        r.state = ReplicaState::Verifying;
        Ok(r.clone())
    }
    async fn remove_dataset(&self, id: &str) -> Result<(), ClientError> {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("rm-data {id}"));
        let Some(at) = s
            .replicas
            .iter()
            .position(|r| r.manifest.as_deref() == Some(id))
        else {
            return Err(refused(404, ErrorCode::NotFound, "no such dataset copy"));
        };
        if !s.replicas[at].mounted_by.is_empty() {
            let r = &s.replicas[at];
            return Err(ClientError::Api {
                status: 409,
                error: ApiError {
                    code: ErrorCode::Conflict,
                    message: format!(
                        "{}@{} is mounted by {} container(s): {}; remove them first",
                        r.name,
                        r.version,
                        r.mounted_by.len(),
                        r.mounted_by.join(", ")
                    ),
                    rule: Some("dataset-in-use".into()),
                },
            });
        }
        s.replicas.remove(at);
        Ok(())
    }
    async fn save_image(
        &self,
        _request: &maison_agent_api::images::SaveImageRequest,
    ) -> Result<maison_agent_api::images::SavedImage, ClientError> {
        Err(ClientError::Config(
            "the fake agent saves no images (tests/tests/fleet_e2e.rs saves on a real agent)"
                .into(),
        ))
    }
    async fn build_image(
        &self,
        _request: &maison_agent_api::images::BuildImageRequest,
        _limit: std::time::Duration,
    ) -> Result<maison_agent_api::images::BuiltImage, ClientError> {
        Err(ClientError::Config(
            "the fake agent builds no images (tests/tests/images_e2e.rs builds on a real agent)"
                .into(),
        ))
    }
    async fn image_progress(
        &self,
    ) -> Result<Vec<maison_agent_api::images::ImageProgress>, ClientError> {
        Ok(Vec::new())
    }
    async fn fetch_image(
        &self,
        _request: &maison_agent_api::images::FetchImageRequest,
        _limit: std::time::Duration,
    ) -> Result<maison_agent_api::images::FetchedImage, ClientError> {
        Err(ClientError::Config(
            "the fake agent copies no images (tests/tests/images_e2e.rs copies between real agents)"
                .into(),
        ))
    }
    async fn remove_image(&self, id: &str) -> Result<(), ClientError> {
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("rmi {id}"));
        let Some(at) = s.images.iter().position(|i| i.id == id) else {
            return Err(refused(404, ErrorCode::NotFound, "no such image"));
        };
        if !s.images[at].used_by.is_empty() {
            return Err(refused(
                409,
                ErrorCode::Conflict,
                "image is in use by a container",
            ));
        }
        s.images.remove(at);
        Ok(())
    }
}

/// A dataset copy as an agent lists it.
pub fn replica(
    name: &str,
    version: &str,
    manifest: Option<&str>,
    state: ReplicaState,
    present_bytes: u64,
    total_bytes: u64,
) -> ReplicaInfo {
    ReplicaInfo {
        name: name.to_owned(),
        version: version.to_owned(),
        manifest: manifest.map(str::to_owned),
        path: format!("/var/lib/maison/datasets/{name}@{version}"),
        origin: ReplicaOrigin::Copied,
        state,
        total_bytes,
        present_bytes,
        total_files: 1000,
        present_files: 0,
        rate_bytes_per_sec: 0,
        sources: Vec::new(),
        bytes_received: 0,
        bytes_linked: 0,
        corrupt_chunks: 0,
        error: None,
        updated_at: Utc::now(),
        last_verify: None,
        last_mounted: None,
        mounted_by: Vec::new(),
    }
}

pub fn hex_id(seed: &str) -> String {
    let mut id = String::new();
    for b in seed.bytes().cycle().take(32) {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

pub fn container(
    name: &str,
    owner: Option<&str>,
    state: ContainerState,
    status: &str,
    created: DateTime<Utc>,
    gpus: &[u32],
) -> ContainerSummary {
    ContainerSummary {
        id: hex_id(name),
        name: name.to_owned(),
        image: "pytorch:2.4".into(),
        image_id: format!("sha256:{}", hex_id("pytorch")),
        state,
        status: status.to_owned(),
        created,
        gpus: gpus.to_vec(),
        owned: owner.is_some(),
        limits: None,
        maison: owner.map(|o| MaisonLabels {
            owner: o.to_owned(),
            owner_name: None,
            booking: None,
            image_source: None,
            created_at: None,
            idempotency_key: None,
        }),
    }
}

pub fn image(
    seed: &str,
    tags: &[&str],
    size_gb: u64,
    owner: Option<&str>,
    created: DateTime<Utc>,
    used_by: &[String],
) -> ImageSummary {
    let mut labels = BTreeMap::new();
    if let Some(o) = owner {
        labels.insert("maison.owner".to_owned(), o.to_owned());
    }
    ImageSummary {
        id: format!("sha256:{}", hex_id(seed)),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        size_bytes: size_gb * 1_000_000_000,
        created,
        labels,
        used_by: used_by.to_vec(),
        dangling: tags.is_empty(),
    }
}

/// One GPU-minute; `holder` is `(container name, owner)`.
pub fn minute(
    at: DateTime<Utc>,
    gpu: u32,
    util: f32,
    holder: Option<(&str, Option<&str>)>,
) -> GpuMinute {
    GpuMinute {
        minute: at,
        gpu,
        samples: 60,
        util_avg_pct: util,
        util_max_pct: util,
        mem_used_max_bytes: GIB,
        power_avg_watts: None,
        temp_max_celsius: None,
        holders: holder
            .map(|(name, owner)| GpuHolder {
                container_id: hex_id(name),
                container_name: Some(name.to_owned()),
                owner: owner.map(str::to_owned),
            })
            .into_iter()
            .collect(),
    }
}

pub fn reading(
    at: DateTime<Utc>,
    gpu: u32,
    util: f32,
    holder: Option<(&str, Option<&str>)>,
) -> GpuReading {
    GpuReading {
        gpu,
        at,
        util_pct: util,
        mem_used_bytes: GIB,
        power_watts: None,
        temp_celsius: None,
        stale: false,
        holders: holder
            .map(|(name, owner)| GpuHolder {
                container_id: hex_id(name),
                container_name: Some(name.to_owned()),
                owner: owner.map(str::to_owned),
            })
            .into_iter()
            .collect(),
    }
}

/// Waits (bounded) until the outbox sender running in the [`maison_tests::BotTester`] has sent
/// every queued message, then returns (and marks read) what the fake Slack received meanwhile.
/// A message Slack refused for good fails the test.
pub async fn settle(bot: &maison_tests::BotTester) -> Vec<maison_tests::fake_slack::Call> {
    let delivered = async {
        loop {
            let entries = bot.db().outbox_entries().await.unwrap();
            if let Some(parked) = entries.iter().find(|e| e.parked_at.is_some()) {
                panic!("the outbox parked a message: {parked:?}");
            }
            if entries.iter().all(|e| e.sent_at.is_some()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(20), delivered)
        .await
        .is_err()
    {
        let entries = bot.db().outbox_entries().await.unwrap();
        panic!("the outbox did not deliver in time: {entries:#?}");
    }
    bot.slack.take_unread()
}

/// The `chat.postMessage` calls among `calls`, as (channel, text).
pub fn posted(calls: &[maison_tests::fake_slack::Call]) -> Vec<(String, String)> {
    calls
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .map(|c| {
            (
                c.args["channel"].as_str().unwrap_or_default().to_owned(),
                c.args["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
