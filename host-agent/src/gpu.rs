//! GPUs behind the [`GpuProbe`] trait: NVML on real hosts, a simulated probe for
//! tests and demos, and "no GPUs" when no driver is present.
//!
//! Probes run on a dedicated OS thread ([`ProbeWorker`]): NVML calls block, and a
//! hung driver must never stall the async runtime that serves the API. The async
//! side waits with a deadline and marks readings stale when it passes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maison_agent_api::{GpuInfo, NvidiaInfo};
use tokio::sync::oneshot;

/// One reading of one GPU.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSample {
    pub gpu: u32,
    pub util_pct: f32,
    pub mem_used_bytes: u64,
    pub power_milliwatts: Option<u32>,
    pub temp_celsius: Option<u32>,
    /// Host PIDs of the compute processes on the GPU.
    pub pids: Vec<u32>,
}

/// What a probe knows about the hardware; fixed after start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeInfo {
    pub gpus: Vec<GpuInfo>,
    pub nvidia: Option<NvidiaInfo>,
    pub simulated: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProbeError {
    #[error("no NVIDIA driver found: {0}")]
    NoDriver(String),
    #[error("NVML error: {0}")]
    Nvml(String),
    #[error("GPU probe did not answer within {0:?}")]
    Deadline(Duration),
    #[error("GPU probe thread is gone")]
    Gone,
}

/// A source of GPU readings. Implementations may block; they are only called from
/// the probe thread.
pub trait GpuProbe {
    fn info(&self) -> ProbeInfo;
    fn sample(&mut self) -> Result<Vec<GpuSample>, ProbeError>;
}

/// The probe of a host without GPUs.
#[derive(Debug, Default)]
pub struct NoGpus;

impl GpuProbe for NoGpus {
    fn info(&self) -> ProbeInfo {
        ProbeInfo {
            gpus: Vec::new(),
            nvidia: None,
            simulated: false,
        }
    }

    fn sample(&mut self) -> Result<Vec<GpuSample>, ProbeError> {
        Ok(Vec::new())
    }
}

/// What an idle simulated GPU draws, in milliwatts.
const SIM_IDLE_POWER_MW: u32 = 55_000;

/// A reading forced on a simulated GPU.
#[derive(Debug, Clone, PartialEq)]
pub struct SimReading {
    pub util_pct: f32,
    pub mem_used_bytes: u64,
    pub power_milliwatts: Option<u32>,
    pub temp_celsius: Option<u32>,
    pub pids: Vec<u32>,
}

/// Handle to steer a [`SimulatedProbe`] from a test while the probe thread owns it.
#[derive(Debug, Clone, Default)]
pub struct SimControl {
    forced: Arc<Mutex<HashMap<u32, SimReading>>>,
    hang: Arc<Mutex<Option<Duration>>>,
    /// GPUs a running container holds: only these show activity.
    busy: Arc<Mutex<HashSet<u32>>>,
}

impl SimControl {
    /// Every following sample of `gpu` returns `reading`.
    pub fn set(&self, gpu: u32, reading: SimReading) {
        self.forced.lock().unwrap().insert(gpu, reading);
    }

    pub fn clear(&self, gpu: u32) {
        self.forced.lock().unwrap().remove(&gpu);
    }

    /// The GPUs that running containers hold now: they show work, the others idle. The
    /// sampler keeps this up to date from the container inventory.
    pub fn set_busy(&self, gpus: impl IntoIterator<Item = u32>) {
        *self.busy.lock().unwrap() = gpus.into_iter().collect();
    }

    /// Makes the next samples block for `d`, like a hung driver.
    pub fn hang_for(&self, d: Option<Duration>) {
        *self.hang.lock().unwrap() = d;
    }
}

/// Deterministic fake GPUs: idle, except those a running container holds, whose readings
/// follow a fixed pattern of the sample number; any reading can be forced through
/// [`SimControl`]. Idle while nothing runs, so that `maison-bot try` shows a quiet fleet
/// until something is launched.
#[derive(Debug)]
pub struct SimulatedProbe {
    gpus: Vec<GpuInfo>,
    tick: u64,
    control: SimControl,
}

impl SimulatedProbe {
    pub fn new(count: u32, memory_mib: u64, name: &str) -> SimulatedProbe {
        let gpus = (0..count)
            .map(|index| GpuInfo {
                index,
                uuid: format!("GPU-5153494d-0000-4000-8000-{index:012x}"),
                name: name.to_string(),
                memory_total_bytes: memory_mib * 1024 * 1024,
            })
            .collect();
        SimulatedProbe {
            gpus,
            tick: 0,
            control: SimControl::default(),
        }
    }

    pub fn control(&self) -> SimControl {
        self.control.clone()
    }
}

impl GpuProbe for SimulatedProbe {
    fn info(&self) -> ProbeInfo {
        ProbeInfo {
            gpus: self.gpus.clone(),
            nvidia: None,
            simulated: true,
        }
    }

    fn sample(&mut self) -> Result<Vec<GpuSample>, ProbeError> {
        let hang = *self.control.hang.lock().unwrap();
        if let Some(d) = hang {
            std::thread::sleep(d);
        }
        let t = self.tick;
        self.tick += 1;
        let forced = self.control.forced.lock().unwrap();
        let busy = self.control.busy.lock().unwrap();
        Ok(self
            .gpus
            .iter()
            .map(|g| {
                if let Some(r) = forced.get(&g.index) {
                    return GpuSample {
                        gpu: g.index,
                        util_pct: r.util_pct,
                        mem_used_bytes: r.mem_used_bytes,
                        power_milliwatts: r.power_milliwatts,
                        temp_celsius: r.temp_celsius,
                        pids: r.pids.clone(),
                    };
                }
                if !busy.contains(&g.index) {
                    return GpuSample {
                        gpu: g.index,
                        util_pct: 0.0,
                        mem_used_bytes: 0,
                        power_milliwatts: Some(SIM_IDLE_POWER_MW),
                        temp_celsius: Some(32),
                        pids: Vec::new(),
                    };
                }
                // A saw-tooth between 40 and 100 %, phase-shifted so GPUs differ.
                let util = (40 + (t * 7 + u64::from(g.index) * 17) % 61) as f32;
                GpuSample {
                    gpu: g.index,
                    util_pct: util,
                    mem_used_bytes: g.memory_total_bytes / 100 * (util as u64),
                    power_milliwatts: Some(60_000 + (util as u32) * 3_000),
                    temp_celsius: Some(35 + (util as u32) / 3),
                    pids: Vec::new(),
                }
            })
            .collect())
    }
}

/// NVML, initialised once for the life of the process.
pub struct NvmlProbe {
    nvml: nvml_wrapper::Nvml,
    info: ProbeInfo,
}

impl std::fmt::Debug for NvmlProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvmlProbe")
            .field("info", &self.info)
            .finish()
    }
}

impl NvmlProbe {
    pub fn new() -> Result<NvmlProbe, ProbeError> {
        use nvml_wrapper::error::NvmlError;
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| match e {
            NvmlError::LibloadingError(_) | NvmlError::DriverNotLoaded => {
                ProbeError::NoDriver(e.to_string())
            }
            other => ProbeError::Nvml(other.to_string()),
        })?;
        let nverr = |e: NvmlError| ProbeError::Nvml(e.to_string());
        let count = nvml.device_count().map_err(nverr)?;
        let mut gpus = Vec::new();
        for index in 0..count {
            let d = nvml.device_by_index(index).map_err(nverr)?;
            gpus.push(GpuInfo {
                index,
                uuid: d.uuid().map_err(nverr)?,
                name: d.name().map_err(nverr)?,
                memory_total_bytes: d.memory_info().map_err(nverr)?.total,
            });
        }
        let nvidia = NvidiaInfo {
            driver_version: nvml.sys_driver_version().map_err(nverr)?,
            nvml_version: nvml.sys_nvml_version().map_err(nverr)?,
            cuda_driver_version: nvml.sys_cuda_driver_version().ok(),
        };
        Ok(NvmlProbe {
            nvml,
            info: ProbeInfo {
                gpus,
                nvidia: Some(nvidia),
                simulated: false,
            },
        })
    }
}

impl GpuProbe for NvmlProbe {
    fn info(&self) -> ProbeInfo {
        self.info.clone()
    }

    fn sample(&mut self) -> Result<Vec<GpuSample>, ProbeError> {
        use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
        let mut out = Vec::with_capacity(self.info.gpus.len());
        for g in &self.info.gpus {
            // `Device` borrows `Nvml`, so it is looked up again on every round.
            let d = self
                .nvml
                .device_by_index(g.index)
                .map_err(|e| ProbeError::Nvml(e.to_string()))?;
            let util = d
                .utilization_rates()
                .map_err(|e| ProbeError::Nvml(e.to_string()))?;
            let mem = d
                .memory_info()
                .map_err(|e| ProbeError::Nvml(e.to_string()))?;
            // Power and temperature are optional on some boards; a missing sensor
            // must not drop the utilisation reading.
            let pids = d
                .running_compute_processes()
                .map(|ps| ps.into_iter().map(|p| p.pid).collect())
                .unwrap_or_default();
            out.push(GpuSample {
                gpu: g.index,
                util_pct: util.gpu as f32,
                mem_used_bytes: mem.used,
                power_milliwatts: d.power_usage().ok(),
                temp_celsius: d.temperature(TemperatureSensor::Gpu).ok(),
                pids,
            });
        }
        Ok(out)
    }
}

type SampleReply = oneshot::Sender<(Result<Vec<GpuSample>, ProbeError>, Duration)>;

/// Counters of the probe thread, exported on `/metrics`.
#[derive(Debug, Default)]
pub struct ProbeStats {
    pub samples: AtomicU64,
    pub errors: AtomicU64,
    pub missed_deadlines: AtomicU64,
    pub last_micros: AtomicU64,
    pub max_micros: AtomicU64,
}

/// Owns a probe on its own thread; the async side asks for samples with a deadline.
#[derive(Debug, Clone)]
pub struct ProbeWorker {
    tx: std::sync::mpsc::SyncSender<SampleReply>,
    info: ProbeInfo,
    stats: Arc<ProbeStats>,
    busy: Arc<AtomicBool>,
}

impl ProbeWorker {
    /// Starts the probe thread. `make` runs on that thread, so a probe need not be
    /// `Send` and a slow NVML initialisation is bounded by `init_deadline`.
    pub async fn spawn<F>(make: F, init_deadline: Duration) -> Result<ProbeWorker, ProbeError>
    where
        F: FnOnce() -> Result<Box<dyn GpuProbe>, ProbeError> + Send + 'static,
    {
        // While the thread is stuck in the driver (`busy`), further requests are
        // dropped and counted as missed instead of queueing behind it. The slot
        // of 1 absorbs the moment between a reply and the thread's next `recv`.
        let (tx, rx) = std::sync::mpsc::sync_channel::<SampleReply>(1);
        let busy = Arc::new(AtomicBool::new(false));
        let thread_busy = busy.clone();
        let (info_tx, info_rx) = oneshot::channel();
        let stats = Arc::new(ProbeStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("gpu-probe".into())
            .spawn(move || {
                let mut probe = match make() {
                    Ok(p) => {
                        let _ = info_tx.send(Ok(p.info()));
                        p
                    }
                    Err(e) => {
                        let _ = info_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(reply) = rx.recv() {
                    thread_busy.store(true, Ordering::Release);
                    let start = Instant::now();
                    let result = probe.sample();
                    let took = start.elapsed();
                    let micros = took.as_micros() as u64;
                    thread_stats.last_micros.store(micros, Ordering::Relaxed);
                    thread_stats.max_micros.fetch_max(micros, Ordering::Relaxed);
                    if result.is_err() {
                        thread_stats.errors.fetch_add(1, Ordering::Relaxed);
                    } else {
                        thread_stats.samples.fetch_add(1, Ordering::Relaxed);
                    }
                    thread_busy.store(false, Ordering::Release);
                    let _ = reply.send((result, took));
                }
            })
            .map_err(|e| ProbeError::Nvml(format!("cannot start the probe thread: {e}")))?;
        let info = match tokio::time::timeout(init_deadline, info_rx).await {
            Ok(Ok(r)) => r?,
            Ok(Err(_)) => return Err(ProbeError::Gone),
            Err(_) => return Err(ProbeError::Deadline(init_deadline)),
        };
        Ok(ProbeWorker {
            tx,
            info,
            stats,
            busy,
        })
    }

    pub fn info(&self) -> &ProbeInfo {
        &self.info
    }

    pub fn stats(&self) -> &ProbeStats {
        &self.stats
    }

    /// One sampling round, abandoned after `deadline`.
    pub async fn sample(
        &self,
        deadline: Duration,
    ) -> Result<(Vec<GpuSample>, Duration), ProbeError> {
        if self.busy.load(Ordering::Acquire) {
            self.stats.missed_deadlines.fetch_add(1, Ordering::Relaxed);
            return Err(ProbeError::Deadline(deadline));
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        match self.tx.try_send(reply_tx) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                self.stats.missed_deadlines.fetch_add(1, Ordering::Relaxed);
                return Err(ProbeError::Deadline(deadline));
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return Err(ProbeError::Gone),
        }
        match tokio::time::timeout(deadline, reply_rx).await {
            Ok(Ok((result, took))) => result.map(|s| (s, took)),
            Ok(Err(_)) => Err(ProbeError::Gone),
            Err(_) => {
                self.stats.missed_deadlines.fetch_add(1, Ordering::Relaxed);
                Err(ProbeError::Deadline(deadline))
            }
        }
    }
}

/// Builds the probe chosen in the configuration. `auto` falls back to zero GPUs
/// when NVML cannot start, saying so in the log.
pub async fn probe_from_config(
    config: &crate::config::GpuConfig,
) -> anyhow::Result<(ProbeWorker, Option<SimControl>, Duration)> {
    use crate::config::GpuConfig;
    const INIT_DEADLINE: Duration = Duration::from_secs(20);
    match config {
        GpuConfig::Simulated {
            count,
            memory_mib,
            name,
        } => {
            let probe = SimulatedProbe::new(*count, *memory_mib, name);
            let control = probe.control();
            let worker = ProbeWorker::spawn(
                move || Ok(Box::new(probe) as Box<dyn GpuProbe>),
                INIT_DEADLINE,
            )
            .await?;
            tracing::info!(count, "GPU probe: simulated GPUs (not real hardware)");
            Ok((worker, Some(control), Duration::from_millis(800)))
        }
        GpuConfig::Nvml { deadline_ms } => {
            let worker = ProbeWorker::spawn(
                || Ok(Box::new(NvmlProbe::new()?) as Box<dyn GpuProbe>),
                INIT_DEADLINE,
            )
            .await
            .map_err(|e| {
                anyhow::anyhow!("GPU probe \"nvml\" was configured but cannot start: {e}")
            })?;
            tracing::info!(gpus = worker.info().gpus.len(), "GPU probe: NVML");
            Ok((worker, None, Duration::from_millis(*deadline_ms)))
        }
        GpuConfig::Auto => {
            match ProbeWorker::spawn(
                || Ok(Box::new(NvmlProbe::new()?) as Box<dyn GpuProbe>),
                INIT_DEADLINE,
            )
            .await
            {
                Ok(worker) => {
                    tracing::info!(gpus = worker.info().gpus.len(), "GPU probe: NVML");
                    Ok((worker, None, Duration::from_millis(800)))
                }
                Err(e) => {
                    match &e {
                        ProbeError::NoDriver(detail) => tracing::warn!(
                            %detail,
                            "no NVIDIA driver found: continuing with zero GPUs"
                        ),
                        other => tracing::warn!(
                            error = %other,
                            "no NVIDIA driver found (NVML failed to start): continuing with zero GPUs"
                        ),
                    }
                    let worker = ProbeWorker::spawn(
                        || Ok(Box::new(NoGpus) as Box<dyn GpuProbe>),
                        INIT_DEADLINE,
                    )
                    .await?;
                    Ok((worker, None, Duration::from_millis(800)))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn simulated_probe_is_deterministic_and_controllable() {
        let mut a = SimulatedProbe::new(2, 1024, "Sim");
        let mut b = SimulatedProbe::new(2, 1024, "Sim");
        assert_eq!(a.sample().unwrap(), b.sample().unwrap());
        let control = a.control();
        control.set(
            1,
            SimReading {
                util_pct: 42.0,
                mem_used_bytes: 7,
                power_milliwatts: None,
                temp_celsius: None,
                pids: vec![9],
            },
        );
        let s = a.sample().unwrap();
        assert_eq!(s[1].util_pct, 42.0);
        assert_eq!(s[1].pids, vec![9]);
        assert!(a.info().simulated);
    }

    /// Found trying it: `try` showed busy GPUs while nothing ran.
    #[test]
    fn simulated_gpus_idle_until_a_container_holds_them() {
        let mut probe = SimulatedProbe::new(3, 1024, "Sim");
        let control = probe.control();
        for _ in 0..5 {
            let samples = probe.sample().unwrap();
            assert!(
                samples
                    .iter()
                    .all(|s| s.util_pct == 0.0 && s.mem_used_bytes == 0)
            );
        }
        control.set_busy([2]);
        for _ in 0..100 {
            let samples = probe.sample().unwrap();
            assert_eq!((samples[0].util_pct, samples[1].util_pct), (0.0, 0.0));
            assert!((40.0..=100.0).contains(&samples[2].util_pct), "{samples:?}");
            assert!(samples[2].mem_used_bytes > 0);
        }
        control.set_busy([]);
        assert!(probe.sample().unwrap().iter().all(|s| s.util_pct == 0.0));
    }

    #[tokio::test]
    async fn hung_probe_misses_its_deadline_without_blocking() {
        let probe = SimulatedProbe::new(1, 1024, "Sim");
        let control = probe.control();
        let worker = ProbeWorker::spawn(
            move || Ok(Box::new(probe) as Box<dyn GpuProbe>),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert!(worker.sample(Duration::from_secs(2)).await.is_ok());
        control.hang_for(Some(Duration::from_millis(400)));
        let started = Instant::now();
        let r = worker.sample(Duration::from_millis(50)).await;
        assert!(matches!(r, Err(ProbeError::Deadline(_))), "{r:?}");
        assert!(started.elapsed() < Duration::from_millis(300));
        // The thread is still busy: the next request is dropped, not queued.
        let r = worker.sample(Duration::from_millis(50)).await;
        assert!(matches!(r, Err(ProbeError::Deadline(_))), "{r:?}");
        control.hang_for(None);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(worker.sample(Duration::from_secs(2)).await.is_ok());
        assert!(worker.stats().missed_deadlines.load(Ordering::Relaxed) >= 2);
    }

    #[tokio::test]
    async fn nvml_without_driver_reports_no_driver_and_auto_falls_back() {
        // The build machines have no NVIDIA driver; on a GPU host this test would
        // see real GPUs, which is fine too.
        match NvmlProbe::new() {
            Err(ProbeError::NoDriver(_)) | Ok(_) => {}
            Err(other) => panic!("unexpected NVML failure: {other}"),
        }
        let (worker, control, _) = probe_from_config(&crate::config::GpuConfig::Auto)
            .await
            .unwrap();
        assert!(control.is_none());
        assert!(!worker.info().simulated);
    }
}
