//! Datasets end to end across processes: the bot (real router, signed Slack requests, real
//! poller) drives two real `maison-agent` processes on this machine, each with its own datasets
//! directory and port, which copy a dataset agent to agent over mutual TLS (peer role) and mount
//! it read-only into a container on the real Docker engine.
//!
//! One scenario, in the order a team meets it: register on gpu01, copy to gpu02, launch with
//! `--data` (a write inside fails), removal refused while mounted; a slow copy whose destination
//! agent is killed half-way, restarted, resumed without re-sending what it had, and verified; a
//! source whose bytes were corrupted after registration: detected, never mounted.
//!
//! Needs Docker, the test image (`scripts/build-test-image.sh`) and the `maison-agent` binary
//! (`scripts/test.sh` builds both).

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::path::{Path, PathBuf};

use std::time::Duration;

use fake_agent::settle;
use maison_agent_api::ClientTls;
use maison_agent_api::datasets::{ReplicaInfo, ReplicaState};
use maison_bot::config::HostConfig;
use maison_bot::fleet;
use maison_tests::agents::{AgentOptions, AgentProcess, bot_tls};
use maison_tests::{Backend, BotTester, docker, reply_text, test_config};

const IMAGE: &str = "maison-test/busybox:latest";
const MIB: usize = 1 << 20;

/// The replica `name` on `agent`, as the agent reports it.
async fn replica(agent: &AgentProcess, tls: &ClientTls, name: &str) -> Option<ReplicaInfo> {
    let inventory = agent.client(tls).datasets().await.ok()?;
    inventory.replicas.into_iter().find(|r| r.name == name)
}

/// Removes the test's containers whatever happens.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = docker(&["rm", "-f", name]);
        }
    }
}

/// Deterministic bytes that differ per file (so no two files share a hash by accident).
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A dataset directory: `large` files of `large_mib` MiB (several chunks each) and `small`
/// files of 4 KiB in a subdirectory.
fn make_dataset(dir: &Path, seed: u64, large: usize, large_mib: usize, small: usize) {
    std::fs::create_dir_all(dir.join("small")).unwrap();
    for i in 0..large {
        std::fs::write(
            dir.join(format!("shard-{i}.bin")),
            content(seed * 1000 + i as u64, large_mib * MIB),
        )
        .unwrap();
    }
    for i in 0..small {
        std::fs::write(
            dir.join(format!("small/{i:05}.txt")),
            content(seed * 1_000_000 + 500 + i as u64, 4096),
        )
        .unwrap();
    }
}

/// Every file under `a` has the same bytes under `b`, and `b` has no others.
fn same_tree(a: &Path, b: &Path) {
    fn files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let (mut left, mut right) = (Vec::new(), Vec::new());
    files(a, a, &mut left);
    files(b, b, &mut right);
    left.sort();
    right.sort();
    assert_eq!(left, right, "the same files");
    for f in &left {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{} differs",
            f.display()
        );
    }
}

/// Polls the bot's poller and the agent until the replica `name` on `agent` satisfies `done`.
async fn wait_for(
    bot: &BotTester,
    agent: &AgentProcess,
    tls: &ClientTls,
    name: &str,
    secs: u64,
    done: impl Fn(&ReplicaInfo) -> bool,
) -> ReplicaInfo {
    for _ in 0..secs * 5 {
        bot.poller().poll_once().await;
        if let Some(r) = replica(agent, tls, name).await
            && done(&r)
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "replica {name} on {} did not get there: {:#?}",
        agent.url,
        replica(agent, tls, name).await
    );
}

/// The texts of the DMs (and their edits) among what the fake Slack received.
fn texts(calls: &[maison_tests::fake_slack::Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.method == "chat.postMessage" || c.method == "chat.update")
        .map(|c| c.args["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_copy_mount_read_only_resume_after_a_kill_and_refuse_corruption() {
    assert!(
        docker(&["image", "inspect", IMAGE]).status.success(),
        "test image {IMAGE} is missing: run scripts/build-test-image.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let pki = maison_bot::local::local_pki(&dir.path().join("pki")).unwrap();
    let tls = bot_tls(&pki);
    let mut gpu01 = AgentProcess::new(dir.path(), &AgentOptions::named("gpu01"), &pki);
    // The destination is capped so the second copy is slow enough to be killed half-way.
    let mut gpu02 = AgentProcess::new(
        dir.path(),
        &AgentOptions {
            max_rate: Some("24MiB".into()),
            ..AgentOptions::named("gpu02")
        },
        &pki,
    );
    gpu01.start(&tls).await;
    gpu02.start(&tls).await;

    let mut config = test_config();
    config.slack.announce_channel = None;
    config.hosts = vec![
        HostConfig {
            name: "gpu01".into(),
            gpus: 2,
            agent_url: Some(gpu01.url.clone()),
        },
        HostConfig {
            name: "gpu02".into(),
            gpus: 2,
            agent_url: Some(gpu02.url.clone()),
        },
    ];
    config.agents.ca = Some(pki.ca.clone());
    config.agents.cert = Some(pki.bot_cert.clone());
    config.agents.key = Some(pki.bot_key.clone());
    config.users = vec![maison_tests::alice_as_uid_1000()];
    let fleet = fleet::from_config(&config.agents, &config.hosts).unwrap();
    let bot = BotTester::start_with_fleet(Backend::Sqlite, config, fleet).await;
    let name = format!("e2e-data-{}", std::process::id());
    let _cleanup = Cleanup(vec![name.clone()]);

    // Register on gpu01: three 12 MiB files (two chunks each) and 300 small ones.
    let source = gpu01.datasets.join("imagenet");
    make_dataset(&source, 1, 3, 12, 300);
    let added = bot
        .command_text(
            "U0ADMIN",
            &format!("data add imagenet@v1 gpu01:{}", source.display()),
        )
        .await;
    assert!(added.contains("scanning"), "{added}");
    let scanned = wait_for(&bot, &gpu01, &tls, "imagenet", 60, |r| {
        r.state == ReplicaState::Complete
    })
    .await;
    assert_eq!(scanned.total_files, 303);
    bot.poller().poll_once().await;
    let told = texts(&settle(&bot).await);
    assert!(
        told.iter()
            .any(|t| t.contains("`imagenet@v1` is registered")),
        "{told:?}"
    );

    // Copy to gpu02, agent to agent; the bytes arrive intact.
    let get = bot.command_text("U0ADMIN", "data get imagenet gpu02").await;
    assert!(get.contains("gpu02"), "{get}");
    let copied = wait_for(&bot, &gpu02, &tls, "imagenet", 60, |r| {
        r.state == ReplicaState::Complete
    })
    .await;
    assert_eq!(
        copied.manifest, scanned.manifest,
        "same version on both hosts"
    );
    assert!(copied.sources.iter().any(|s| s == "gpu01"), "{copied:?}");
    same_tree(&source, &gpu02.datasets.join("imagenet@v1"));
    bot.poller().poll_once().await;
    let where_ = bot.command_text("U0ALICE", "data where imagenet").await;
    assert!(
        where_.contains("gpu01") && where_.contains("gpu02"),
        "{where_}"
    );
    settle(&bot).await;

    // Alice books gpu02 and launches with the dataset: read-only at /data/imagenet.
    let booked = bot.command_text("U0ALICE", "book gpu02 2h").await;
    assert!(booked.contains("Booked `gpu02`"), "{booked}");
    let ack = bot
        .command(
            "U0ALICE",
            &format!("launch gpu02 {IMAGE} --name {name} --data imagenet -- sleep 600"),
        )
        .await;
    assert!(reply_text(&ack).contains("Starting"), "{ack}");
    let done = bot.slack.expect("response_url").await;
    let text = reply_text(&done.args);
    assert!(text.contains("/data/imagenet"), "{text}");
    let read = docker(&["exec", &name, "cat", "/data/imagenet/small/00007.txt"]);
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(read.stdout, content(1_000_000 + 507, 4096));
    let write = docker(&["exec", &name, "sh", "-c", "echo x > /data/imagenet/new.txt"]);
    assert!(
        !write.status.success(),
        "a write inside the dataset must fail"
    );
    assert!(
        String::from_utf8_lossy(&write.stderr).contains("Read-only"),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );

    // Mounted: the copy cannot be removed.
    let rm = bot.command_text("U0ADMIN", "data rm imagenet gpu02").await;
    assert!(rm.contains("mounted") || rm.contains("in use"), "{rm}");
    assert!(gpu02.datasets.join("imagenet@v1").exists());
    settle(&bot).await;

    // A bigger dataset copied at 24 MiB/s; the destination agent is killed half-way.
    let big = gpu01.datasets.join("big");
    make_dataset(&big, 2, 6, 16, 10);
    bot.command_text(
        "U0ADMIN",
        &format!("data add big@v1 gpu01:{}", big.display()),
    )
    .await;
    let big_scanned = wait_for(&bot, &gpu01, &tls, "big", 60, |r| {
        r.state == ReplicaState::Complete
    })
    .await;
    bot.poller().poll_once().await;
    settle(&bot).await;
    bot.command_text("U0ADMIN", "data get big gpu02").await;
    let half = wait_for(&bot, &gpu02, &tls, "big", 60, |r| {
        r.present_bytes * 2 >= r.total_bytes
    })
    .await;
    assert_ne!(half.state, ReplicaState::Complete, "killed before the end");
    gpu02.kill();
    let before_kill = half.present_bytes;
    gpu02.start(&tls).await;
    // Whether the agent resumes by itself or the bot asks again, the copy completes.
    bot.command_text("U0ADMIN", "data get big gpu02").await;
    let resumed = wait_for(&bot, &gpu02, &tls, "big", 90, |r| {
        r.state == ReplicaState::Complete
    })
    .await;
    assert_eq!(resumed.manifest, big_scanned.manifest);
    same_tree(&big, &gpu02.datasets.join("big@v1"));
    // What the restarted agent received: what was missing plus at most the chunks that were in
    // flight at the kill (4 streams x 8 MiB).
    let missing = resumed.total_bytes - before_kill;
    println!(
        "resume: {} bytes present at the kill, {} received after the restart, {} were missing",
        before_kill, resumed.bytes_received, missing
    );
    assert!(
        resumed.bytes_received <= missing + 4 * 8 * MIB as u64,
        "re-sent too much: {resumed:?}"
    );

    // Verify on demand: the copy is whole. The bot verifies only a copy it knows is complete,
    // so it polls once first (the wait above may have seen it on the agent before the bot did).
    bot.poller().poll_once().await;
    let verify = bot.command_text("U0ADMIN", "data verify big gpu02").await;
    assert!(
        verify.contains("Verifying the copy of `big@v1` on `gpu02`"),
        "{verify}"
    );
    let verified = wait_for(&bot, &gpu02, &tls, "big", 60, |r| {
        r.last_verify.is_some() && r.state == ReplicaState::Complete
    })
    .await;
    assert_eq!(verified.last_verify.as_ref().unwrap().bad_count, 0);
    bot.poller().poll_once().await;
    settle(&bot).await;

    // A source whose bytes changed after registration: the copy fails, and is never mounted.
    let bad = gpu01.datasets.join("bad");
    make_dataset(&bad, 3, 1, 12, 5);
    bot.command_text(
        "U0ADMIN",
        &format!("data add bad@v1 gpu01:{}", bad.display()),
    )
    .await;
    wait_for(&bot, &gpu01, &tls, "bad", 60, |r| {
        r.state == ReplicaState::Complete
    })
    .await;
    bot.poller().poll_once().await;
    settle(&bot).await;
    let mut bytes = std::fs::read(bad.join("shard-0.bin")).unwrap();
    bytes[9 * MIB] ^= 0xff;
    std::fs::write(bad.join("shard-0.bin"), bytes).unwrap();
    bot.command_text("U0ADMIN", "data get bad gpu02").await;
    let failed = wait_for(&bot, &gpu02, &tls, "bad", 60, |r| {
        r.state == ReplicaState::Failed
    })
    .await;
    assert!(failed.corrupt_chunks >= 1, "{failed:?}");
    assert!(
        !gpu02.datasets.join("bad@v1").exists(),
        "never appears complete"
    );
    bot.poller().poll_once().await;
    settle(&bot).await;
    let refused = bot
        .command_text(
            "U0ALICE",
            &format!("launch gpu02 {IMAGE} --name {name}-bad --data bad -- sleep 600"),
        )
        .await;
    assert!(
        refused.contains("bad@v1") && !refused.contains("Starting"),
        "{refused}"
    );
    settle(&bot).await;
    bot.finish().await;
}
