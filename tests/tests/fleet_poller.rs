//! The fleet poller against in-process fake agents, on SQLite and PostgreSQL: what one poll
//! stores, incremental metrics, reachability (and what it must not touch), bounded concurrency,
//! the per-host deadline, retention and the size of a stored minute row.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use maison_agent_api::datasets::{DatasetInventory, FetchRequest, RegisterRequest, ReplicaInfo};
use maison_agent_api::{
    ApiError, ClientError, ContainerProcesses, ContainerState, ContainerSummary, ErrorCode,
    GpuHolder, GpuInfo, GpuMinute, GpuReading, HostInfo, ImageSource, ImageSummary, LaunchResponse,
    LaunchSpec, MaisonLabels, MetricsResponse,
};
use maison_bot::config::AgentsConfig;
use maison_bot::core::booking::{Limits, NewBooking};
use maison_bot::core::clock::ManualClock;
use maison_bot::core::fleet::{BUSY_UTIL_PCT, Occupant};
use maison_bot::core::rules::GpuWish;
use maison_bot::fleet::Poller;
use maison_bot::ports::{AgentApi, Fleet};
use maison_bot::store::bookings::Actor;
use maison_bot::store::{Db, UserProfileRow};
use maison_tests::{Backend, TEAM, TestDb, on_both_databases, test_config, test_start};
use sea_orm::{ConnectionTrait, Statement};
use tokio_util::sync::CancellationToken;

const GIB: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
    Hung,
}

/// Counts how many agents are inside `host()` at once.
#[derive(Debug, Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

struct FakeState {
    facts: HostInfo,
    containers: Vec<ContainerSummary>,
    images: Vec<ImageSummary>,
    rollups: Vec<GpuMinute>,
    current: Vec<GpuReading>,
    mode: Mode,
    /// Also return minutes before `since`, like a buggy agent.
    ignore_since: bool,
}

/// A stateful fake agent that can be switched off, hung, or slowed down.
struct FakeAgent {
    state: Mutex<FakeState>,
    sinces: Mutex<Vec<Option<DateTime<Utc>>>>,
    gauge: Option<Arc<Gauge>>,
    delay: StdDuration,
}

impl FakeAgent {
    fn new(host: &str, gpus: u32) -> Self {
        Self {
            state: Mutex::new(FakeState {
                facts: facts(host, gpus),
                containers: Vec::new(),
                images: Vec::new(),
                rollups: Vec::new(),
                current: Vec::new(),
                mode: Mode::Up,
                ignore_since: false,
            }),
            sinces: Mutex::new(Vec::new()),
            gauge: None,
            delay: StdDuration::ZERO,
        }
    }

    fn with_gauge(mut self, gauge: Arc<Gauge>, delay: StdDuration) -> Self {
        self.gauge = Some(gauge);
        self.delay = delay;
        self
    }

    fn edit(&self, f: impl FnOnce(&mut FakeState)) {
        f(&mut self.state.lock().unwrap());
    }

    fn set_mode(&self, mode: Mode) {
        self.edit(|s| s.mode = mode);
    }

    fn sinces(&self) -> Vec<Option<DateTime<Utc>>> {
        self.sinces.lock().unwrap().clone()
    }

    async fn gate(&self) -> Result<(), ClientError> {
        let mode = self.state.lock().unwrap().mode;
        match mode {
            Mode::Up => Ok(()),
            Mode::Down => Err(ClientError::Api {
                status: 503,
                error: ApiError {
                    code: ErrorCode::Internal,
                    message: "fake agent is down".into(),
                    rule: None,
                },
            }),
            Mode::Hung => {
                tokio::time::sleep(StdDuration::from_secs(3600)).await;
                unreachable!("the poller's deadline ends a hung call")
            }
        }
    }
}

#[async_trait]
impl AgentApi for FakeAgent {
    async fn host(&self) -> Result<HostInfo, ClientError> {
        if let Some(g) = &self.gauge {
            let now = g.now.fetch_add(1, Ordering::SeqCst) + 1;
            g.max.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            g.now.fetch_sub(1, Ordering::SeqCst);
        }
        self.gate().await?;
        Ok(self.state.lock().unwrap().facts.clone())
    }
    async fn metrics(&self, since: Option<DateTime<Utc>>) -> Result<MetricsResponse, ClientError> {
        self.gate().await?;
        self.sinces.lock().unwrap().push(since);
        let s = self.state.lock().unwrap();
        Ok(MetricsResponse {
            simulated: true,
            rollups: s
                .rollups
                .iter()
                .filter(|m| s.ignore_since || since.is_none_or(|t| m.minute >= t))
                .cloned()
                .collect(),
            current: s.current.clone(),
        })
    }
    async fn containers(&self) -> Result<Vec<ContainerSummary>, ClientError> {
        self.gate().await?;
        Ok(self.state.lock().unwrap().containers.clone())
    }
    async fn container_processes(&self, _id: &str) -> Result<ContainerProcesses, ClientError> {
        unimplemented!("the poller never asks who runs a container")
    }
    async fn launch(&self, _spec: &LaunchSpec) -> Result<LaunchResponse, ClientError> {
        unimplemented!("the poller never launches")
    }
    async fn stop(&self, _id: &str) -> Result<ContainerSummary, ClientError> {
        unimplemented!("the poller never stops containers")
    }
    async fn remove(&self, _id: &str, _force: bool) -> Result<(), ClientError> {
        unimplemented!("the poller never removes containers")
    }
    async fn images(&self) -> Result<Vec<ImageSummary>, ClientError> {
        self.gate().await?;
        Ok(self.state.lock().unwrap().images.clone())
    }
    async fn save_image(
        &self,
        _request: &maison_agent_api::images::SaveImageRequest,
    ) -> Result<maison_agent_api::images::SavedImage, ClientError> {
        unimplemented!("the poller never saves images")
    }
    async fn build_image(
        &self,
        _request: &maison_agent_api::images::BuildImageRequest,
        _limit: std::time::Duration,
    ) -> Result<maison_agent_api::images::BuiltImage, ClientError> {
        unimplemented!("the poller never builds images")
    }
    async fn image_progress(
        &self,
    ) -> Result<Vec<maison_agent_api::images::ImageProgress>, ClientError> {
        unimplemented!("the poller never asks about image work")
    }
    async fn fetch_image(
        &self,
        _request: &maison_agent_api::images::FetchImageRequest,
        _limit: std::time::Duration,
    ) -> Result<maison_agent_api::images::FetchedImage, ClientError> {
        unimplemented!("the poller never copies images")
    }
    async fn remove_image(&self, _id: &str) -> Result<(), ClientError> {
        unimplemented!("the poller never removes images")
    }
    async fn datasets(&self) -> Result<DatasetInventory, ClientError> {
        self.gate().await?;
        Ok(DatasetInventory {
            replicas: Vec::new(),
            free_bytes: None,
            total_bytes: None,
            free_margin_bytes: 0,
        })
    }
    async fn register_dataset(&self, _: &RegisterRequest) -> Result<ReplicaInfo, ClientError> {
        unimplemented!("the poller never registers datasets")
    }
    async fn fetch_dataset(&self, _: &FetchRequest) -> Result<ReplicaInfo, ClientError> {
        unimplemented!("the poller never copies datasets")
    }
    async fn verify_dataset(&self, _: &str) -> Result<ReplicaInfo, ClientError> {
        unimplemented!("the poller never verifies datasets")
    }
    async fn remove_dataset(&self, _: &str) -> Result<(), ClientError> {
        unimplemented!("the poller never removes datasets")
    }
}

fn facts(host: &str, gpus: u32) -> HostInfo {
    HostInfo {
        hostname: host.to_owned(),
        cpus: 64,
        memory_total_bytes: 512 * GIB,
        docker_root_dir: Some("/var/lib/docker".into()),
        docker_root_free_bytes: Some(100 * GIB),
        docker_root_total_bytes: Some(1000 * GIB),
        docker_version: Some("27.0".into()),
        docker_api_version: Some("1.46".into()),
        nvidia: None,
        gpus: (0..gpus)
            .map(|i| GpuInfo {
                index: i,
                uuid: format!("GPU-{host}-{i}"),
                name: "Simulated H100".into(),
                memory_total_bytes: 80 * GIB,
            })
            .collect(),
        gpus_simulated: true,
        agent_version: "0.1.0".into(),
    }
}

fn hex_id(seed: &str) -> String {
    let mut id = String::new();
    for b in seed.bytes().cycle().take(32) {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

fn container(seed: &str, name: &str, owner: Option<&str>, gpus: &[u32]) -> ContainerSummary {
    ContainerSummary {
        id: hex_id(seed),
        name: name.to_owned(),
        image: "pytorch:2.4".into(),
        image_id: format!("sha256:{}", hex_id("img-pytorch")),
        state: ContainerState::Running,
        status: "Up 3 hours".into(),
        created: test_start() - Duration::hours(3),
        gpus: gpus.to_vec(),
        owned: owner.is_some(),
        limits: None,
        maison: owner.map(|o| MaisonLabels {
            owner: o.to_owned(),
            owner_name: Some(format!("{o}-name")),
            booking: Some("7".into()),
            image_source: Some(ImageSource::Catalog),
            created_at: Some(test_start() - Duration::hours(3)),
            idempotency_key: None,
        }),
    }
}

fn image(seed: &str, tags: &[&str], used_by: usize) -> ImageSummary {
    ImageSummary {
        id: format!("sha256:{}", hex_id(seed)),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        size_bytes: 5 * GIB,
        created: test_start() - Duration::days(10),
        labels: BTreeMap::new(),
        used_by: (0..used_by).map(|i| format!("c{i}")).collect(),
        dangling: tags.is_empty(),
    }
}

fn minute(at: DateTime<Utc>, gpu: u32, util: f32, holders: &[(&str, Option<&str>)]) -> GpuMinute {
    GpuMinute {
        minute: at,
        gpu,
        samples: 60,
        util_avg_pct: util,
        util_max_pct: (util + 10.0).min(100.0),
        mem_used_max_bytes: if holders.is_empty() { 0 } else { 20 * GIB + 1 },
        power_avg_watts: Some(100.0 + util * 3.0),
        temp_max_celsius: Some(40 + util as u32 / 4),
        holders: holders
            .iter()
            .map(|(seed, owner)| GpuHolder {
                container_id: hex_id(seed),
                container_name: Some(seed.to_string()),
                owner: owner.map(str::to_owned),
            })
            .collect(),
    }
}

fn reading(
    at: DateTime<Utc>,
    gpu: u32,
    util: f32,
    holder: Option<(&str, Option<&str>)>,
) -> GpuReading {
    GpuReading {
        gpu,
        at,
        util_pct: util,
        mem_used_bytes: 10 * GIB,
        power_watts: Some(250.0),
        temp_celsius: Some(55),
        stale: false,
        holders: holder
            .map(|(seed, owner)| GpuHolder {
                container_id: hex_id(seed),
                container_name: Some(seed.to_owned()),
                owner: owner.map(str::to_owned),
            })
            .into_iter()
            .collect(),
    }
}

/// The minutes `[from, from + n)` on `gpus` GPUs, with alternating busy / idle GPUs.
fn minutes_from(from: DateTime<Utc>, n: i64, gpus: u32) -> Vec<GpuMinute> {
    let mut out = Vec::new();
    for i in 0..n {
        let at = from + Duration::minutes(i);
        for gpu in 0..gpus {
            out.push(if gpu % 2 == 0 {
                minute(at, gpu, 80.0, &[("alice-train", Some("U0ALICE"))])
            } else {
                minute(at, gpu, 0.0, &[])
            });
        }
    }
    out
}

struct Rig {
    _test_db: TestDb,
    db: Db,
    clock: Arc<ManualClock>,
    agents: BTreeMap<String, Arc<FakeAgent>>,
    poller: Poller,
}

fn config(concurrency: usize) -> AgentsConfig {
    AgentsConfig {
        poll_interval: StdDuration::from_secs(10),
        unreachable_after: StdDuration::from_secs(30),
        poll_concurrency: concurrency,
        ..AgentsConfig::default()
    }
}

impl Rig {
    async fn new(
        backend: Backend,
        agents: Vec<(impl Into<String>, FakeAgent)>,
        concurrency: usize,
    ) -> Self {
        let test_db = TestDb::new(backend).await;
        let clock = Arc::new(ManualClock::new(test_start()));
        let mut fleet = Fleet::default();
        let mut by_name = BTreeMap::new();
        for (name, agent) in agents {
            let name: String = name.into();
            let agent = Arc::new(agent);
            fleet.insert(name.clone(), agent.clone() as Arc<dyn AgentApi>);
            by_name.insert(name, agent);
        }
        let poller = Poller::new(
            test_db.db.clone(),
            fleet,
            &config(concurrency),
            clock.clone(),
        )
        .with_host_deadline(StdDuration::from_millis(300));
        Self {
            db: test_db.db.clone(),
            _test_db: test_db,
            clock,
            agents: by_name,
            poller,
        }
    }

    fn agent(&self, host: &str) -> &FakeAgent {
        &self.agents[host]
    }

    fn at(&self, seconds_after_start: i64) {
        self.clock
            .set(test_start() + Duration::seconds(seconds_after_start));
    }

    async fn count(&self, sql: &str) -> i64 {
        let backend = self.db.backend();
        let row = self
            .db
            .connection()
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }
}

/// Alice books one GPU of gpu01 for an hour; returns the booking id.
async fn book(db: &Db) -> i64 {
    let now = test_start().timestamp();
    db.sync_hosts(&test_config().hosts, now).await.unwrap();
    let user = db
        .upsert_user(&UserProfileRow {
            team_id: TEAM,
            slack_user_id: "U0ALICE",
            display_name: "Alice",
            tz: "UTC",
            locale: None,
            fetched_at: now,
        })
        .await
        .unwrap();
    let actor = Actor {
        user: &user,
        is_admin: false,
        request_id: "r-1",
    };
    let request = NewBooking {
        host: "gpu01".into(),
        gpus: GpuWish::Count(1),
        start: now,
        end: now + 3600,
        note: None,
        project: None,
    };
    let limits = Limits {
        max_length: 7 * 86_400,
        max_ahead: 30 * 86_400,
        max_gpus_per_user: 4,
    };
    db.create_booking(actor, &request, &limits, now)
        .await
        .unwrap()
        .id
}

/// Every booking and booking slot, as text, to compare before and after.
async fn booking_rows(db: &Db) -> Vec<String> {
    let backend = db.backend();
    let mut out = Vec::new();
    for sql in [
        "SELECT CAST(id AS TEXT) || '|' || CAST(user_id AS TEXT) || '|' || host || '|' || gpus || '|' \
         || CAST(start_at AS TEXT) || '|' || CAST(end_at AS TEXT) || '|' \
         || COALESCE(CAST(cancelled_at AS TEXT), '-') || '|' || COALESCE(CAST(released_at AS TEXT), '-') \
         FROM bookings ORDER BY id",
        "SELECT CAST(booking_id AS TEXT) || '|' || CAST(gpu AS TEXT) || '|' || host || '|' \
         || CAST(start_at AS TEXT) || '|' || CAST(end_at AS TEXT) || '|' || CAST(active AS TEXT) \
         FROM booking_slots ORDER BY booking_id, gpu",
    ] {
        for row in db
            .connection()
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
        {
            out.push(row.try_get_by_index::<String>(0).unwrap());
        }
    }
    assert!(!out.is_empty());
    out
}

/// gpu01 with 2 GPUs, one owned container on GPU 0, an unowned one, two images, and the last
/// `minutes` minutes of metrics before the start instant.
fn gpu01(minutes: i64) -> FakeAgent {
    let agent = FakeAgent::new("gpu01", 2);
    agent.edit(|s| {
        s.containers = vec![
            container("alice-train", "alice-train", Some("U0ALICE"), &[0]),
            container("stray", "stray", None, &[]),
        ];
        s.images = vec![
            image(
                "img-pytorch",
                &["pytorch:2.4", "docker.io/library/pytorch:latest"],
                2,
            ),
            image("old", &[], 0),
        ];
        s.rollups = minutes_from(test_start() - Duration::minutes(minutes), minutes, 2);
        s.current = vec![
            reading(
                test_start(),
                0,
                93.0,
                Some(("alice-train", Some("U0ALICE"))),
            ),
            reading(test_start(), 1, 0.0, None),
        ];
    });
    agent
}

fn gpu02() -> FakeAgent {
    let agent = FakeAgent::new("gpu02", 1);
    agent.edit(|s| {
        s.containers = vec![container("bob-eval", "bob-eval", Some("U0BOB"), &[0])];
        s.images = vec![image("img-pytorch", &["pytorch:2.4"], 1)];
    });
    agent
}

on_both_databases! {
    async fn one_poll_stores_facts_readings_caches_and_metrics(backend: Backend) {
        let rig = Rig::new(backend, vec![("gpu01", gpu01(90)), ("gpu02", gpu02())], 4).await;
        let report = rig.poller.poll_once().await;
        assert_eq!((report.hosts, report.answered, report.failed, report.store_errors), (2, 2, 0, 0), "{report:?}");
        assert_eq!(report.minute_rows_ingested, 90 * 2);
        assert_eq!(report.started_at, test_start().timestamp());

        let statuses = rig.db.host_statuses().await.unwrap();
        assert_eq!(statuses.iter().map(|s| s.host.as_str()).collect::<Vec<_>>(), ["gpu01", "gpu02"]);
        let s = &statuses[0];
        assert!(s.reachable && s.gpus_simulated && s.last_error.is_none());
        assert_eq!(s.last_seen_at, Some(test_start().timestamp()));
        assert_eq!(s.facts.as_ref().unwrap().gpus.len(), 2);
        assert_eq!(s.readings.len(), 2);
        let r0 = &s.readings[0];
        assert_eq!((r0.gpu, r0.util_pct, r0.mem_used_bytes, r0.mem_total_bytes, r0.stale), (0, 93.0, 10 * GIB, Some(80 * GIB), false));
        assert_eq!(r0.holders[0].owner.as_deref(), Some("U0ALICE"));
        assert!(statuses[1].readings.is_empty());

        let containers = rig.db.cached_containers(Some("gpu01")).await.unwrap();
        assert_eq!(containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["alice-train", "stray"]);
        let c = &containers[0];
        assert_eq!(c.owner.as_deref(), Some("U0ALICE"));
        assert_eq!(c.owner_name.as_deref(), Some("U0ALICE-name"));
        assert_eq!(c.booking.as_deref(), Some("7"));
        assert_eq!(c.image_source, Some(ImageSource::Catalog));
        assert_eq!(c.state, ContainerState::Running);
        assert_eq!(c.gpus, vec![0]);
        assert_eq!(c.created_at, (test_start() - Duration::hours(3)).timestamp());
        assert_eq!((c.first_seen_at, c.seen_at), (test_start().timestamp(), test_start().timestamp()));
        assert_eq!(containers[1].owner, None);
        assert_eq!(rig.db.cached_containers(None).await.unwrap().len(), 3);

        // Docker-like resolution: exact id, exact name, id prefix of 4+ hex digits.
        let id = hex_id("bob-eval");
        assert_eq!(rig.db.find_container("bob-eval").await.unwrap()[0].host, "gpu02");
        assert_eq!(rig.db.find_container(&id).await.unwrap()[0].name, "bob-eval");
        assert_eq!(rig.db.find_container(&id[..6]).await.unwrap()[0].name, "bob-eval");
        assert!(rig.db.find_container(&id[..3]).await.unwrap().is_empty());
        assert!(rig.db.find_container("nobody").await.unwrap().is_empty());

        let images = rig.db.cached_images(None).await.unwrap();
        assert_eq!(images.len(), 3);
        let old = rig.db.cached_images(Some("gpu01")).await.unwrap();
        let dangling = old.iter().find(|i| i.tags.is_empty()).unwrap();
        assert!(dangling.dangling && dangling.in_use == 0);
        // `pytorch:2.4` is on both hosts; `pytorch` means `pytorch:latest`, tagged on gpu01 only.
        assert_eq!(rig.db.find_image("pytorch:2.4").await.unwrap().len(), 2);
        let latest = rig.db.find_image("pytorch").await.unwrap();
        assert_eq!((latest.len(), latest[0].host.as_str(), latest[0].in_use, latest[0].size_bytes), (1, "gpu01", 2, 5 * GIB));
        let old_id = hex_id("old");
        assert_eq!(rig.db.find_image(&old_id[..8]).await.unwrap().len(), 1);
        assert_eq!(rig.db.find_image(&format!("sha256:{}", &old_id[..8])).await.unwrap().len(), 1);
        assert!(rig.db.find_image("tensorflow").await.unwrap().is_empty());
        // The same image on two hosts: one match per host.
        assert_eq!(rig.db.find_image(&hex_id("img-pytorch")[..12]).await.unwrap().len(), 2);

        // Minute rows: GPU 0 busy and held by Alice, GPU 1 idle and free.
        let from = (test_start() - Duration::minutes(90)).timestamp();
        let rows = rig.db.gpu_minutes("gpu01", from, test_start().timestamp()).await.unwrap();
        assert_eq!(rows.len(), 180);
        let (busy, idle) = (&rows[0], &rows[1]);
        assert_eq!((busy.minute, busy.gpu, busy.util_avg_pct, busy.util_max_pct), (from, 0, 80, 90));
        assert_eq!(busy.mem_max_bytes, 20 * GIB + (1 << 20), "rounded up to whole MiB");
        assert_eq!((busy.power_avg_watts, busy.temp_max_celsius), (Some(340), Some(60)));
        assert_eq!(busy.holder, Occupant::Owner("U0ALICE".into()));
        assert_eq!((idle.gpu, idle.util_avg_pct, idle.mem_max_bytes, &idle.holder), (1, 0, 0, &Occupant::NoContainer));

        // Hourly rollups: 06:30–08:00 is 30 minutes of the 06:00 hour and 60 of the 07:00 hour.
        let hours = rig.db.gpu_hours(Some("gpu01"), 0, i64::MAX).await.unwrap();
        let summary: Vec<(i64, u32, Occupant, u32, u32)> =
            hours.iter().map(|h| (h.hour, h.gpu, h.holder.clone(), h.minutes, h.busy_minutes)).collect();
        let six = (test_start() - Duration::hours(2)).timestamp();
        let alice = Occupant::Owner("U0ALICE".into());
        assert_eq!(summary, [
            (six, 0, alice.clone(), 30, 30),
            (six, 1, Occupant::NoContainer, 30, 0),
            (six + 3600, 0, alice, 60, 60),
            (six + 3600, 1, Occupant::NoContainer, 60, 0),
        ]);
        assert_eq!((hours[0].util_avg_pct, hours[0].util_max_pct, hours[0].power_avg_watts), (80.0, 90, Some(340.0)));
        assert!(rig.db.gpu_hours(None, 0, i64::MAX).await.unwrap().len() == 4);

        // Alice's container was last active at the end of the last minute.
        assert_eq!(rig.db.last_gpu_activity("gpu01", &hex_id("alice-train")).await.unwrap(), Some(test_start().timestamp()));
        assert_eq!(rig.db.last_gpu_activity("gpu01", &hex_id("stray")).await.unwrap(), None);
    }

    async fn metrics_are_polled_incrementally(backend: Backend) {
        let rig = Rig::new(backend, vec![("gpu01", gpu01(10))], 4).await;
        assert_eq!(rig.poller.poll_once().await.minute_rows_ingested, 20);
        // Five more minutes, one of them idle-but-held by an unowned container.
        rig.agent("gpu01").edit(|s| {
            s.rollups.extend(minutes_from(test_start(), 4, 2));
            s.rollups.push(minute(test_start() + Duration::minutes(4), 0, 1.0, &[("stray", None)]));
        });
        rig.at(300);
        let report = rig.poller.poll_once().await;
        assert_eq!(report.minute_rows_ingested, 9);
        // The second poll asked from the minute after the last one stored.
        assert_eq!(rig.agent("gpu01").sinces(), [None, Some(test_start())]);
        // A third poll with nothing new asks from after the new cursor and stores nothing, and an
        // agent that repeats old minutes cannot double-count them.
        rig.agent("gpu01").edit(|s| s.ignore_since = true);
        rig.at(310);
        assert_eq!(rig.poller.poll_once().await.minute_rows_ingested, 0);
        assert_eq!(rig.agent("gpu01").sinces()[2], Some(test_start() + Duration::minutes(5)));
        assert_eq!(rig.count("SELECT COUNT(*) FROM gpu_minutes").await, 29);
        let hours = rig.db.gpu_hours(Some("gpu01"), 0, i64::MAX).await.unwrap();
        assert_eq!(hours.iter().map(|h| i64::from(h.minutes)).sum::<i64>(), 29);
        let stray = hours.iter().find(|h| h.holder == Occupant::Unowned).unwrap();
        assert_eq!((stray.minutes, stray.busy_minutes), (1, 0), "1 % is below the busy threshold of {BUSY_UTIL_PCT} %");
        let minutes = rig.db.gpu_minutes("gpu01", test_start().timestamp(), i64::MAX).await.unwrap();
        assert_eq!(minutes.last().unwrap().holder, Occupant::Unowned);
        // Holding an idle GPU is not activity.
        let stray = rig.db.gpu_activity("gpu01", &hex_id("stray")).await.unwrap().unwrap();
        assert_eq!((stray.last_held_at, stray.last_active_at), ((test_start() + Duration::minutes(5)).timestamp(), None));

        // The statuses are reused for a second between polls, but a poll's writes show at once,
        // whichever way it went.
        rig.agent("gpu01").set_mode(Mode::Down);
        rig.at(10);
        rig.poller.poll_once().await;
        let after = rig.db.host_statuses().await.unwrap();
        assert!(after[0].last_error.as_deref().unwrap_or_default().contains("fake agent is down"), "{:?}", after[0]);
        rig.agent("gpu01").set_mode(Mode::Up);
        rig.at(20);
        rig.poller.poll_once().await;
        assert_eq!(rig.db.host_statuses().await.unwrap()[0].last_error, None);
    }

    async fn unreachable_only_after_the_grace_and_nothing_else_is_touched(backend: Backend) {
        let rig = Rig::new(backend, vec![("gpu01", gpu01(5)), ("gpu02", gpu02())], 4).await;
        let booking = book(&rig.db).await;
        let before = booking_rows(&rig.db).await;
        rig.poller.poll_once().await;
        let cached = (rig.db.cached_containers(None).await.unwrap(), rig.db.cached_images(None).await.unwrap());
        let readings = rig.db.host_status("gpu01").await.unwrap().unwrap().readings;

        rig.agent("gpu01").set_mode(Mode::Down);
        for t in [10, 20] {
            rig.at(t);
            let report = rig.poller.poll_once().await;
            assert_eq!((report.answered, report.failed), (1, 1));
            assert!(report.became_unreachable.is_empty());
            assert!(report.failures[0].1.contains("fake agent is down"), "{report:?}");
            let s = rig.db.host_status("gpu01").await.unwrap().unwrap();
            assert!(s.reachable, "still within unreachable_after at +{t}s");
            assert_eq!((s.failing_since, s.last_seen_at), (Some(test_start().timestamp() + 10), Some(test_start().timestamp())));
            assert!(s.last_error.unwrap().contains("503"));
        }
        rig.at(30);
        let report = rig.poller.poll_once().await;
        assert_eq!(report.became_unreachable, ["gpu01"]);
        let s = rig.db.host_status("gpu01").await.unwrap().unwrap();
        assert!(!s.reachable);
        assert_eq!(s.changed_at, test_start().timestamp() + 30);
        assert!(rig.db.host_status("gpu02").await.unwrap().unwrap().reachable);

        // Nothing else changed: bookings, caches and last readings stay as last seen.
        assert_eq!(booking_rows(&rig.db).await, before);
        let on_gpu01 = |host: &String| host == "gpu01";
        let containers_before: Vec<_> = cached.0.iter().filter(|c| on_gpu01(&c.host)).cloned().collect();
        let images_before: Vec<_> = cached.1.iter().filter(|i| on_gpu01(&i.host)).cloned().collect();
        assert_eq!(rig.db.cached_containers(Some("gpu01")).await.unwrap(), containers_before);
        assert_eq!(rig.db.cached_images(Some("gpu01")).await.unwrap(), images_before);
        assert_eq!(s.readings, readings);
        assert!(rig.db.booking(booking).await.unwrap().is_some());

        // Meanwhile a container and an image were removed and a container created.
        rig.agent("gpu01").edit(|s| {
            s.mode = Mode::Up;
            s.containers.retain(|c| c.name != "stray");
            s.containers.push(container("carol-nb", "carol-nb", Some("U0CAROL"), &[1]));
            s.images.retain(|i| !i.dangling);
        });
        rig.at(40);
        let report = rig.poller.poll_once().await;
        assert_eq!((report.answered, report.became_reachable.as_slice()), (2, ["gpu01".to_owned()].as_slice()));
        let s = rig.db.host_status("gpu01").await.unwrap().unwrap();
        assert!(s.reachable && s.last_error.is_none() && s.failing_since.is_none());
        assert_eq!((s.changed_at, s.last_seen_at), (test_start().timestamp() + 40, Some(test_start().timestamp() + 40)));
        let names: Vec<String> = rig.db.cached_containers(Some("gpu01")).await.unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["alice-train", "carol-nb"]);
        let carol = &rig.db.find_container("carol-nb").await.unwrap()[0];
        assert_eq!(carol.first_seen_at, test_start().timestamp() + 40);
        let alice = &rig.db.find_container("alice-train").await.unwrap()[0];
        assert_eq!((alice.first_seen_at, alice.seen_at), (test_start().timestamp(), test_start().timestamp() + 40));
        assert_eq!(rig.db.cached_images(Some("gpu01")).await.unwrap().len(), 1);
        let gpu02: Vec<String> = rig.db.cached_containers(Some("gpu02")).await.unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(gpu02, ["bob-eval"]);
        assert_eq!(booking_rows(&rig.db).await, before);
    }

    async fn a_host_that_never_answered_is_unreachable_at_once(backend: Backend) {
        let agent = FakeAgent::new("gpu09", 1);
        agent.set_mode(Mode::Down);
        let rig = Rig::new(backend, vec![("gpu09", agent)], 4).await;
        let report = rig.poller.poll_once().await;
        assert_eq!(report.failed, 1);
        let s = rig.db.host_status("gpu09").await.unwrap().unwrap();
        assert!(!s.reachable && s.last_seen_at.is_none() && s.facts.is_none());
        assert!(rig.db.cached_containers(Some("gpu09")).await.unwrap().is_empty());
    }

    async fn a_hung_agent_is_cut_by_the_deadline_and_marked_when_silent(backend: Backend) {
        let rig = Rig::new(backend, vec![("gpu01", gpu01(1)), ("gpu02", gpu02())], 4).await;
        rig.poller.poll_once().await;
        // Not polled since its answer: however long ago that was, it is not "silent".
        rig.at(100);
        assert!(rig.poller.mark_silent_hosts().await.unwrap().is_empty());

        rig.agent("gpu01").set_mode(Mode::Hung);
        rig.at(110);
        // The 300 ms deadline ends the cycle: it returns, with the deadline as gpu01's failure.
        let report = rig.poller.poll_once().await;
        assert_eq!(report.failures, [("gpu01".to_owned(), "no answer within 300 ms".to_owned())]);
        assert_eq!(report.became_unreachable, ["gpu01"], "last answer 110 s ago");
    }

    async fn silent_hosts_are_marked_before_their_poll_fails(backend: Backend) {
        let rig = Rig::new(backend, vec![("gpu01", gpu01(1)), ("gpu02", gpu02())], 4).await;
        rig.poller.poll_once().await;
        rig.agent("gpu01").set_mode(Mode::Down);
        rig.at(10);
        rig.poller.poll_once().await;
        // gpu01 was polled at +10 s and has said nothing since +0 s; gpu02 answered at +10 s.
        rig.at(29);
        assert!(rig.poller.mark_silent_hosts().await.unwrap().is_empty());
        rig.at(30);
        assert_eq!(rig.poller.mark_silent_hosts().await.unwrap(), ["gpu01"]);
        let s = rig.db.host_status("gpu01").await.unwrap().unwrap();
        assert!(!s.reachable && s.last_error.is_some());
        assert!(rig.poller.mark_silent_hosts().await.unwrap().is_empty(), "marked once");
    }

    async fn concurrency_is_bounded(backend: Backend) {
        let gauge = Arc::new(Gauge::default());
        let agents: Vec<(String, FakeAgent)> = (0..12)
            .map(|i| {
                let name = format!("gpu{i:02}");
                let agent = FakeAgent::new(&name, 1).with_gauge(gauge.clone(), StdDuration::from_millis(40));
                (name, agent)
            })
            .collect();
        let rig = Rig::new(backend, agents, 3).await;
        let report = rig.poller.poll_once().await;
        assert_eq!(report.answered, 12);
        let max = gauge.max.load(Ordering::SeqCst);
        assert!((2..=3).contains(&max), "{max} agents polled at once with poll_concurrency = 3");
    }

    async fn retention_deletes_old_minute_rows_only(backend: Backend) {
        let agent = gpu01(0);
        let old = test_start() - Duration::days(40);
        agent.edit(|s| {
            s.rollups = minutes_from(old, 3, 2);
            s.rollups.extend(minutes_from(test_start() - Duration::days(1), 3, 2));
            s.rollups.push(minute(old + Duration::minutes(3), 0, 50.0, &[("gone", Some("U0GONE"))]));
        });
        let rig = Rig::new(backend, vec![("gpu01", agent)], 4).await;
        assert_eq!(rig.poller.poll_once().await.minute_rows_ingested, 13);
        let hours_before = rig.db.gpu_hours(None, 0, i64::MAX).await.unwrap();
        let pruned = rig.db.prune_metrics(test_start().timestamp(), StdDuration::from_secs(30 * 86_400)).await.unwrap();
        assert_eq!((pruned.minute_rows, pruned.activity_rows), (7, 1), "the gone container's activity goes, cached ones stay");
        let left = rig.db.gpu_minutes("gpu01", 0, i64::MAX).await.unwrap();
        let recent = (test_start() - Duration::days(1)).timestamp();
        assert_eq!(left.iter().filter(|m| m.minute >= recent).count(), 6);
        assert_eq!(left.len(), 6);
        assert_eq!(rig.db.gpu_hours(None, 0, i64::MAX).await.unwrap(), hours_before, "hourly rollups are kept");
        assert!(rig.db.gpu_activity("gpu01", &hex_id("alice-train")).await.unwrap().is_some());
    }
}

/// Realistic minutes for `gpus` GPUs over `n` minutes: a mix of idle, busy and held GPUs.
fn mixed_minutes(from: DateTime<Utc>, n: i64, gpus: u32) -> Vec<GpuMinute> {
    let mut out = Vec::new();
    for i in 0..n {
        let at = from + Duration::minutes(i);
        for gpu in 0..gpus {
            let phase = (i / 90 + i64::from(gpu)) % 3;
            let mut m = match phase {
                0 => minute(at, gpu, 0.0, &[]),
                1 => minute(
                    at,
                    gpu,
                    ((i * 7 + i64::from(gpu) * 13) % 100) as f32,
                    &[("train", Some("U0ALICE"))],
                ),
                _ => minute(at, gpu, 2.0, &[("notebook", None)]),
            };
            m.mem_used_max_bytes = if phase == 0 {
                0
            } else {
                (30 + (i % 40) as u64) * GIB
            };
            out.push(m);
        }
    }
    out
}

/// The stored size of a minute row on SQLite stays near the 30-byte target (the benchmark
/// measures it exactly, after VACUUM; this guards against a schema change blowing it up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minute_rows_stay_compact_on_sqlite() {
    let agents: Vec<(String, FakeAgent)> = (0..4)
        .map(|h| {
            let name = format!("gpu{h:02}");
            let agent = FakeAgent::new(&name, 8);
            agent.edit(|s| s.rollups = mixed_minutes(test_start() - Duration::hours(6), 360, 8));
            (name, agent)
        })
        .collect();
    let rig = Rig::new(Backend::Sqlite, agents, 4).await;
    let report = rig.poller.poll_once().await;
    assert_eq!(report.minute_rows_ingested, 4 * 8 * 360);
    let bytes = rig
        .count("SELECT SUM(pgsize) FROM dbstat WHERE name = 'gpu_minutes'")
        .await;
    let per_row = bytes as f64 / report.minute_rows_ingested as f64;
    println!(
        "gpu_minutes: {bytes} bytes for {} rows = {per_row:.1} bytes/row",
        report.minute_rows_ingested
    );
    assert!(per_row <= 40.0, "{per_row:.1} bytes per minute row");
}

/// The spawned poller runs cycles on its own until it is told to stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_poller_runs_until_shut_down() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let agent = Arc::new(gpu02());
    let mut fleet = Fleet::default();
    fleet.insert("gpu02", agent.clone() as Arc<dyn AgentApi>);
    let config = AgentsConfig {
        poll_interval: StdDuration::from_millis(20),
        ..config(4)
    };
    let clock = Arc::new(ManualClock::new(test_start()));
    let shutdown = CancellationToken::new();
    let handle = Poller::new(test_db.db.clone(), fleet, &config, clock).spawn(shutdown.clone());
    let three_polls = async {
        while agent.sinces().len() < 3 {
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(StdDuration::from_secs(10), three_polls)
        .await
        .expect("the poller polls three times");
    assert!(
        test_db
            .db
            .host_status("gpu02")
            .await
            .unwrap()
            .unwrap()
            .reachable
    );
    shutdown.cancel();
    tokio::time::timeout(StdDuration::from_secs(5), handle)
        .await
        .expect("stops when told")
        .unwrap();
}
