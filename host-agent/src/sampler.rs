//! The 1 Hz sampling loop: asks the probe thread for a reading, attributes GPU
//! processes to containers, and feeds the rollups.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use maison_agent_api::{ContainerState, GpuHolder, GpuReading};

use crate::cgroup::container_of_pid;
use crate::gpu::{GpuSample, ProbeWorker, SimControl};
use crate::inventory::Inventory;
use crate::rollup::{Clock, Rollups};

/// A reading older than this is reported as stale.
const STALE_AFTER: TimeDelta = TimeDelta::seconds(3);

#[derive(Debug, Default)]
struct Latest {
    at: Option<DateTime<Utc>>,
    samples: Vec<GpuSample>,
    holders: HashMap<u32, Vec<GpuHolder>>,
}

/// Shared between the loop and the API handlers.
pub struct Sampler {
    probe: ProbeWorker,
    deadline: Duration,
    clock: Arc<dyn Clock>,
    rollups: Mutex<Rollups>,
    latest: Mutex<Latest>,
    proc_root: PathBuf,
    inventory: Arc<Inventory>,
    /// PID → container id, remembered while the PID stays on a GPU, so /proc is
    /// read once per new process rather than every second.
    pid_cache: Mutex<HashMap<u32, Option<String>>>,
    /// The simulated GPUs, when those are in use: told which GPUs running containers hold.
    simulation: Option<SimControl>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler").finish_non_exhaustive()
    }
}

impl Sampler {
    pub fn new(
        probe: ProbeWorker,
        deadline: Duration,
        clock: Arc<dyn Clock>,
        retention: TimeDelta,
        proc_root: PathBuf,
        inventory: Arc<Inventory>,
    ) -> Sampler {
        Sampler {
            probe,
            deadline,
            clock,
            rollups: Mutex::new(Rollups::new(retention)),
            latest: Mutex::new(Latest::default()),
            proc_root,
            inventory,
            pid_cache: Mutex::new(HashMap::new()),
            simulation: None,
        }
    }

    /// Makes simulated GPUs follow the containers: busy while a running container holds them.
    pub fn with_simulation(mut self, simulation: Option<SimControl>) -> Sampler {
        self.simulation = simulation;
        self
    }

    pub fn probe(&self) -> &ProbeWorker {
        &self.probe
    }

    /// One round: sample, attribute, record. Exposed so tests can step it.
    pub async fn tick_once(&self) {
        if let Some(simulation) = &self.simulation {
            simulation.set_busy(
                self.inventory
                    .containers()
                    .into_iter()
                    .filter(|c| c.state == ContainerState::Running)
                    .flat_map(|c| c.gpus),
            );
        }
        let result = self.probe.sample(self.deadline).await;
        let now = self.clock.now();
        match result {
            Ok((samples, _took)) => {
                let holders = self.attribute(&samples);
                self.rollups.lock().unwrap().record(now, &samples, &holders);
                *self.latest.lock().unwrap() = Latest {
                    at: Some(now),
                    samples,
                    holders,
                };
            }
            Err(e) => {
                tracing::debug!(error = %e, "GPU sample missed");
                self.rollups.lock().unwrap().tick(now);
            }
        }
    }

    /// Runs until `shutdown` fires, one round per second.
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        if self.probe.info().gpus.is_empty() {
            // Nothing to sample: spare the CPU entirely.
            let _ = shutdown.changed().await;
            return;
        }
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = interval.tick() => self.tick_once().await,
                _ = shutdown.changed() => return,
            }
        }
    }

    fn attribute(&self, samples: &[GpuSample]) -> HashMap<u32, Vec<GpuHolder>> {
        let mut out: HashMap<u32, Vec<GpuHolder>> = HashMap::new();
        let mut cache = self.pid_cache.lock().unwrap();
        let mut seen = Vec::new();
        for s in samples {
            for &pid in &s.pids {
                seen.push(pid);
                let id = cache
                    .entry(pid)
                    .or_insert_with(|| container_of_pid(&self.proc_root, pid))
                    .clone();
                let Some(id) = id else { continue };
                let (name, owner) = self.inventory.name_and_owner(&id);
                let holders = out.entry(s.gpu).or_default();
                if !holders.iter().any(|h| h.container_id == id) {
                    holders.push(GpuHolder {
                        container_id: id,
                        container_name: name,
                        owner,
                    });
                }
            }
        }
        cache.retain(|pid, _| seen.contains(pid));
        out
    }

    pub fn rollups_since(&self, since: Option<DateTime<Utc>>) -> Vec<maison_agent_api::GpuMinute> {
        self.rollups.lock().unwrap().since(since)
    }

    pub fn rollup_count(&self) -> usize {
        self.rollups.lock().unwrap().len()
    }

    /// The latest reading of each GPU, marked stale when the probe has not
    /// answered recently.
    pub fn current(&self) -> Vec<GpuReading> {
        let now = self.clock.now();
        let latest = self.latest.lock().unwrap();
        let Some(at) = latest.at else {
            return Vec::new();
        };
        let stale = now - at > STALE_AFTER;
        latest
            .samples
            .iter()
            .map(|s| GpuReading {
                gpu: s.gpu,
                at,
                util_pct: s.util_pct,
                mem_used_bytes: s.mem_used_bytes,
                power_watts: s.power_milliwatts.map(|p| p as f32 / 1000.0),
                temp_celsius: s.temp_celsius,
                stale,
                holders: latest.holders.get(&s.gpu).cloned().unwrap_or_default(),
            })
            .collect()
    }
}
