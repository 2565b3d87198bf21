//! The sampling loop end to end with a controlled clock and the simulated probe:
//! 1 Hz rounds → 1-minute rollups, GPU processes attributed to containers through
//! a fake /proc, stale readings when the probe hangs. No Docker needed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use maison_agent::gpu::{GpuProbe, ProbeWorker, SimReading, SimulatedProbe};
use maison_agent::inventory::Inventory;
use maison_agent::rollup::{Clock, ManualClock};
use maison_agent::sampler::Sampler;
use maison_agent_api::{ContainerState, ContainerSummary, GpuHolder, MaisonLabels};

const CONTAINER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn one_minute_at_1_hz_becomes_one_rollup_per_gpu_with_holders() {
    let proc_root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(proc_root.path().join("4242")).unwrap();
    std::fs::write(
        proc_root.path().join("4242/cgroup"),
        format!("0::/system.slice/docker-{CONTAINER}.scope\n"),
    )
    .unwrap();
    // A host process on the GPU: not attributed to anyone.
    std::fs::create_dir_all(proc_root.path().join("77")).unwrap();
    std::fs::write(
        proc_root.path().join("77/cgroup"),
        "0::/user.slice/session-1.scope\n",
    )
    .unwrap();

    let inventory = Arc::new(Inventory::new());
    inventory.upsert_container(ContainerSummary {
        id: CONTAINER.into(),
        name: "train".into(),
        image: "img".into(),
        image_id: "sha256:1".into(),
        state: ContainerState::Running,
        status: "Up".into(),
        created: t("2025-05-01T09:00:00Z"),
        gpus: vec![1],
        owned: true,
        limits: None,
        maison: Some(MaisonLabels {
            owner: "U42".into(),
            owner_name: None,
            booking: None,
            image_source: None,
            created_at: None,
            idempotency_key: None,
        }),
    });

    let probe = SimulatedProbe::new(2, 1024, "Sim");
    let control = probe.control();
    let worker = ProbeWorker::spawn(
        move || Ok(Box::new(probe) as Box<dyn GpuProbe>),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let clock = Arc::new(ManualClock::new(t("2025-05-01T10:00:00Z")));
    let sampler = Sampler::new(
        worker,
        Duration::from_secs(2),
        clock.clone(),
        TimeDelta::hours(24),
        proc_root.path().to_path_buf(),
        inventory,
    );

    for i in 0..60u32 {
        // GPU 0: 0, 10, 20, … (a 6-step cycle): avg 25, max 50.
        // GPU 1: fixed 80 % held by the container, power 250 W, temperature 70 + i % 3.
        control.set(
            0,
            SimReading {
                util_pct: ((i % 6) * 10) as f32,
                mem_used_bytes: u64::from(i) * 1_000,
                power_milliwatts: Some(100_000),
                temp_celsius: Some(50),
                pids: vec![],
            },
        );
        control.set(
            1,
            SimReading {
                util_pct: 80.0,
                mem_used_bytes: 40 << 30,
                power_milliwatts: Some(250_000),
                temp_celsius: Some(70 + i % 3),
                pids: vec![4242, 77],
            },
        );
        sampler.tick_once().await;
        clock.advance(TimeDelta::seconds(1));
    }
    assert!(
        sampler.rollups_since(None).is_empty(),
        "10:00 is still open"
    );
    // The first sample of 10:01 closes 10:00.
    sampler.tick_once().await;
    let rollups = sampler.rollups_since(None);
    assert_eq!(rollups.len(), 2);
    let (g0, g1) = (&rollups[0], &rollups[1]);
    assert_eq!(g0.minute, t("2025-05-01T10:00:00Z"));
    assert_eq!((g0.gpu, g0.samples), (0, 60));
    assert!((g0.util_avg_pct - 25.0).abs() < 1e-4, "{}", g0.util_avg_pct);
    assert_eq!(g0.util_max_pct, 50.0);
    assert_eq!(g0.mem_used_max_bytes, 59_000);
    assert_eq!(g0.power_avg_watts, Some(100.0));
    assert!(g0.holders.is_empty());
    assert_eq!(g1.util_avg_pct, 80.0);
    assert_eq!(g1.temp_max_celsius, Some(72));
    assert_eq!(g1.power_avg_watts, Some(250.0));
    assert_eq!(
        g1.holders,
        vec![GpuHolder {
            container_id: CONTAINER.into(),
            container_name: Some("train".into()),
            owner: Some("U42".into()),
        }]
    );
    assert!(
        sampler
            .rollups_since(Some(t("2025-05-01T10:00:01Z")))
            .is_empty()
    );

    // Latest readings are fresh…
    let current = sampler.current();
    assert_eq!(current.len(), 2);
    assert!(current.iter().all(|r| !r.stale));
    assert_eq!(current[1].holders.len(), 1);

    // …until the probe hangs past its deadline and time moves on.
    control.hang_for(Some(Duration::from_secs(3)));
    for _ in 0..4 {
        clock.advance(TimeDelta::seconds(1));
        sampler.tick_once().await;
    }
    assert!(sampler.current().iter().all(|r| r.stale));
    assert!(
        sampler
            .probe()
            .stats()
            .missed_deadlines
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    control.hang_for(None);
    assert_eq!(clock.now(), t("2025-05-01T10:01:04Z"));
}
