//! End to end across processes: the bot (real router, signed Slack requests) drives a real
//! `maison-agent` process over mutual TLS, which drives the real Docker engine of this machine.
//!
//! Needs Docker and the test image (`scripts/build-test-image.sh`) and the `maison-agent`
//! binary (built by `cargo test --workspace`, or `cargo build -p maison-agent`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use maison_agent_api::{AgentClient, ClientTls, Timeouts};
use maison_bot::config::HostConfig;
use maison_bot::core::actions;
use maison_bot::fleet;
use maison_tests::{
    Backend, BotTester, agent_binary, buttons, docker, free_port, reply_text, test_config,
};

const IMAGE: &str = "maison-test/busybox:latest";

fn require_test_image() {
    let out = docker(&["image", "inspect", IMAGE]);
    assert!(
        out.status.success(),
        "test image {IMAGE} is missing: run scripts/build-test-image.sh"
    );
}

/// A `maison-agent serve` child process with its own config and certificates.
struct AgentProcess {
    child: Child,
    config: PathBuf,
}

impl AgentProcess {
    fn spawn(config: &Path) -> Self {
        let child = Command::new(agent_binary())
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("maison-agent starts");
        Self {
            child,
            config: config.to_owned(),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.kill();
    }
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

/// Removes an image the test saved, whatever happens to the test.
struct ImageCleanup(String);

impl Drop for ImageCleanup {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

async fn wait_until_up(url: &str, tls: &ClientTls) {
    let client = AgentClient::new(
        url,
        tls,
        Timeouts {
            connect: Duration::from_millis(500),
            request: Duration::from_secs(2),
        },
    )
    .unwrap();
    for _ in 0..300 {
        if client.healthz().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("maison-agent did not come up at {url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_launch_ps_who_stop_rm_claim_and_agent_outage() {
    require_test_image();
    let dir = tempfile::tempdir().unwrap();
    let pki = maison_bot::local::local_pki(&dir.path().join("pki")).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("alice")).unwrap();
    // As on a real host, Alice's work directory is hers: the agent mounts only directories the
    // mapped uid owns. (The test runs as root, like the agent.)
    std::os::unix::fs::chown(work.join("alice"), Some(1000), Some(1000))
        .expect("chown the work directory (the test runs as root)");
    let port = free_port();
    let agent_config = dir.path().join("agent.toml");
    std::fs::write(
        &agent_config,
        format!(
            "listen = \"127.0.0.1:{port}\"\n[tls]\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\n[mounts]\nwork = {:?}\n[gpu]\nprobe = \"simulated\"\ncount = 2\n",
            pki.agent_cert, pki.agent_key, pki.ca, work
        ),
    )
    .unwrap();
    let mut agent = AgentProcess::spawn(&agent_config);
    let url = format!("https://127.0.0.1:{port}");
    let tls = ClientTls {
        ca_pem: std::fs::read_to_string(&pki.ca).unwrap(),
        cert_pem: std::fs::read_to_string(&pki.bot_cert).unwrap(),
        key_pem: std::fs::read_to_string(&pki.bot_key).unwrap(),
    };
    wait_until_up(&url, &tls).await;

    let mut config = test_config();
    config.hosts = vec![HostConfig {
        name: "gpu01".into(),
        gpus: 2,
        agent_url: Some(url.clone()),
    }];
    config.agents.ca = Some(pki.ca.clone());
    config.agents.cert = Some(pki.bot_cert.clone());
    config.agents.key = Some(pki.bot_key.clone());
    config.users = vec![maison_bot::config::UnixUserMapping {
        work: Some(work.join("alice").display().to_string()),
        ..maison_tests::alice_as_uid_1000()
    }];
    let fleet = fleet::from_config(&config.agents, &config.hosts).unwrap();
    let bot = BotTester::start_with_fleet(Backend::Sqlite, config, fleet).await;
    let suffix = std::process::id();
    let name = format!("e2e-alice-{suffix}");
    let plain = format!("e2e-plain-{suffix}");
    let _cleanup = Cleanup(vec![name.clone(), plain.clone()]);

    // No booking: refused (policy "enforce"), with a button that books.
    let refused = bot
        .command(
            "U0ALICE",
            &format!("launch gpu01 {IMAGE} --name {name} -- sleep 600"),
        )
        .await;
    assert!(
        reply_text(&refused).contains("no running booking on `gpu01`"),
        "{refused}"
    );
    assert_eq!(
        buttons(&refused),
        [(actions::BOOK_NOW.to_owned(), "gpu01".to_owned())]
    );
    let booked = bot.click("U0ALICE", actions::BOOK_NOW, "gpu01").await;
    assert!(
        reply_text(&booked).contains("Booked `gpu01` GPU 0"),
        "{booked}"
    );
    bot.slack.expect("chat.postMessage").await;

    // Launch on the booked GPU; the answer follows through response_url once the agent is done.
    // The agent's GPUs are simulated: GPU 0 is assigned and labelled, no device is requested.
    let ack = bot
        .command(
            "U0ALICE",
            &format!("launch gpu01 {IMAGE} --name {name} -- sleep 600"),
        )
        .await;
    assert!(
        reply_text(&ack).contains(&format!("Starting `{name}` on `gpu01`")),
        "{ack}"
    );
    let done = bot.slack.expect("response_url").await;
    let text = reply_text(&done.args);
    assert!(
        text.contains(&format!("`{name}` is running on `gpu01`")),
        "{text}"
    );
    assert!(
        text.contains(&format!("`ssh gpu01` then `maison enter {name}`")),
        "{text}"
    );

    // The labels are on the real container.
    let inspect = docker(&["inspect", "--format", "{{json .Config.Labels}}", &name]);
    let labels: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(labels["maison.owner"], "U0ALICE");
    assert_eq!(labels["maison.booking"], "1");
    assert_eq!(labels["maison.image_source"], "custom");
    assert_eq!(labels["maison.gpus"], "0");
    let mounts = docker(&["inspect", "--format", "{{json .Mounts}}", &name]);
    assert!(
        String::from_utf8_lossy(&mounts.stdout).contains("/work/alice"),
        "work mount"
    );

    let ps = bot.command_text("U0ALICE", "ps").await;
    assert!(ps.contains(&format!("`{name}` on `gpu01`")), "{ps}");
    let who = bot.command_text("U0CAROL", &format!("who {name}")).await;
    assert!(
        who.contains("owner: <@U0ALICE>")
            && who.contains("booking #1")
            && who.contains("launched with Maison"),
        "{who}"
    );

    // Someone else's container is off limits.
    let denied = bot.command_text("U0BOB", &format!("stop {name}")).await;
    assert!(denied.contains("belongs to <@U0ALICE>"), "{denied}");
    let running = docker(&["inspect", "--format", "{{.State.Running}}", &name]);
    assert_eq!(String::from_utf8_lossy(&running.stdout).trim(), "true");

    // Saving the container as an image: only its owner, under a free and well-formed name.
    let saved_as = format!("e2e/tuned-{suffix}:v1");
    let _saved_image = ImageCleanup(saved_as.clone());
    let denied = bot
        .command_text("U0BOB", &format!("image save {name} {saved_as}"))
        .await;
    assert!(
        denied.contains("belongs to <@U0ALICE>") && denied.contains("nothing was saved"),
        "{denied}"
    );
    let bad = bot
        .command_text("U0ALICE", &format!("image save {name} Tuned/Upper"))
        .await;
    assert!(bad.contains("is not an image name"), "{bad}");
    let taken = bot
        .command_text("U0ALICE", &format!("image save {name} {IMAGE}"))
        .await;
    assert!(
        taken.contains("already names an image you did not make here"),
        "{taken}"
    );
    assert!(!docker(&["image", "inspect", &saved_as]).status.success());
    let ack = bot
        .command(
            "U0ALICE",
            &format!("image save {name} {saved_as} for \"e2e tuning\""),
        )
        .await;
    let mut text = reply_text(&ack);
    if text.contains("Working on it") {
        text = reply_text(&bot.slack.expect("response_url").await.args);
    }
    assert!(
        text.contains(&format!("Saved `{name}` on `gpu01` as `{saved_as}`")),
        "{text}"
    );
    let image_labels = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}}",
        &saved_as,
    ]);
    let image_labels: serde_json::Value = serde_json::from_slice(&image_labels.stdout).unwrap();
    assert_eq!(image_labels["maison.owner"], "U0ALICE");
    assert_eq!(image_labels["maison.image.how"], "save");
    assert_eq!(image_labels["maison.image.container"], name.as_str());
    assert_eq!(image_labels["maison.idempotency_key"], "");
    let who = bot
        .command_text("U0CAROL", &format!("who {saved_as}"))
        .await;
    assert!(
        who.contains(&format!(
            "made by saving `{name}` (from `{IMAGE}`) under booking #1"
        )) && who.contains("e2e tuning"),
        "{who}"
    );

    let stopped = bot.command_text("U0ALICE", &format!("stop {name}")).await;
    assert!(stopped.contains(&format!("Stopped `{name}`")), "{stopped}");
    let removed = bot.command_text("U0ALICE", &format!("rm {name}")).await;
    assert!(removed.contains(&format!("Removed `{name}`")), "{removed}");
    assert!(
        !docker(&["inspect", &name]).status.success(),
        "the container is gone"
    );

    // A container made with plain `docker run` is unowned until claimed.
    let run = docker(&["run", "-d", "--name", &plain, IMAGE, "sleep", "600"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut seen = false;
    for _ in 0..150 {
        if bot.command_text("U0BOB", "ps --all").await.contains(&plain) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the agent lists the plain container");
    let who = bot.command_text("U0BOB", &format!("who {plain}")).await;
    assert!(
        who.contains("_unowned_") && who.contains("made outside Maison"),
        "{who}"
    );
    let refused = bot.command_text("U0BOB", &format!("stop {plain}")).await;
    assert!(refused.contains("has no owner"), "{refused}");
    // Bob has no Unix account mapping, so the admin decides; the DM carries the buttons.
    let asked = bot.command_text("U0BOB", &format!("claim {plain}")).await;
    assert!(
        asked.contains(&format!(
            "Asked the admins to approve your claim on the container `{plain}`"
        )),
        "{asked}"
    );
    let dm = bot.slack.expect("chat.postMessage").await;
    assert_eq!(dm.args["channel"], "DU0ADMIN");
    assert_eq!(
        buttons(&dm.args),
        [
            (actions::CLAIM_APPROVE.to_owned(), "1".to_owned()),
            (actions::CLAIM_DENY.to_owned(), "1".to_owned())
        ]
    );
    let approved = bot.click("U0ADMIN", actions::CLAIM_APPROVE, "1").await;
    assert!(
        reply_text(&approved).contains(&format!("<@U0BOB> now owns the container `{plain}`")),
        "{approved}"
    );
    let told = bot.slack.expect("chat.postMessage").await;
    assert_eq!(told.args["channel"], "DU0BOB");
    let again = bot.command_text("U0CAROL", &format!("claim {plain}")).await;
    assert!(again.contains("already belongs to <@U0BOB>"), "{again}");
    assert!(bot.command_text("U0BOB", "ps").await.contains(&plain));

    let audit: Vec<(String, String)> = bot
        .db()
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.actor, a.action))
        .collect();
    let expected: Vec<(String, String)> = [
        ("U0ALICE", "book"),
        ("U0ALICE", "launch"),
        // The save the agent refused (a taken name) is recorded as well as the one it made;
        // the refusals decided before asking it (owner, name) changed nothing.
        ("U0ALICE", "image save"),
        ("U0ALICE", "image save"),
        ("U0ALICE", "stop"),
        ("U0ALICE", "rm"),
        ("U0BOB", "claim request"),
        ("U0ADMIN", "claim"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(audit, expected);

    // The agent dies: after `unreachable_after` (30 s) of silence the host is unreachable,
    // and nothing else changes. The clock is moved rather than slept.
    let poller = bot.poller();
    poller.poll_once().await;
    assert!(
        bot.command_text("U0CAROL", "status gpu01")
            .await
            .contains("agent seen")
    );
    // Admins see the fleet as the poller saw it, and can drain a host.
    let denied = bot.command_text("U0CAROL", "hosts").await;
    assert!(denied.contains("Only Maison admins"), "{denied}");
    let hosts = bot.command_text("U0ADMIN", "hosts").await;
    assert!(
        hosts.contains("*gpu01*") && hosts.contains("2 GPU(s) (simulated)"),
        "{hosts}"
    );
    assert!(hosts.contains(":large_green_circle: agent"), "{hosts}");
    let drained = bot.command_text("U0ADMIN", "host drain gpu01").await;
    assert!(drained.contains("`gpu01` is drained"), "{drained}");
    let refused = bot
        .command_text("U0BOB", &format!("launch gpu01 {IMAGE}"))
        .await;
    assert!(refused.contains("drained for maintenance"), "{refused}");
    let refused = bot.command_text("U0BOB", "book gpu01:1 1h").await;
    assert!(refused.contains("drained for maintenance"), "{refused}");
    let reopened = bot.command_text("U0ADMIN", "host undrain gpu01").await;
    assert!(reopened.contains("open again"), "{reopened}");
    agent.kill();
    poller.poll_once().await;
    bot.clock.advance(chrono::Duration::seconds(31));
    poller.poll_once().await;
    let fleet = bot.command_text("U0CAROL", "status").await;
    assert!(
        fleet.contains("`gpu01` ") && fleet.contains("agent not answering"),
        "{fleet}"
    );
    let board = bot.command_text("U0CAROL", "status gpu01").await;
    assert!(board.contains("agent unreachable"), "{board}");
    assert!(
        board.contains("<@U0ALICE> until"),
        "the booking is untouched: {board}"
    );
    let ps = bot.command_text("U0BOB", "ps").await;
    assert!(
        ps.contains("Not answering") && ps.contains("`gpu01`"),
        "{ps}"
    );

    // It comes back: reachable again, and its containers reconciled (the plain one is still there).
    let _agent = AgentProcess::spawn(&agent.config);
    wait_until_up(&url, &tls).await;
    bot.clock.advance(chrono::Duration::seconds(10));
    poller.poll_once().await;
    let board = bot.command_text("U0CAROL", "status gpu01").await;
    assert!(board.contains("agent seen"), "{board}");
    let cached = bot.db().cached_containers(Some("gpu01")).await.unwrap();
    assert!(
        cached.iter().any(|c| c.name == plain),
        "reconciled cache lists {plain}"
    );
    assert!(
        !cached.iter().any(|c| c.name == name),
        "and no longer the removed one"
    );
    bot.finish().await;
}
