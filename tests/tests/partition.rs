//! An agent cut off from the bot by a network partition, made by the test itself: the agent
//! runs in a network namespace of its own, reached over a veth pair with private addresses
//! that exist only for this test, and the cut is a DROP rule inside that namespace. The host is
//! shown unreachable (nothing else changes), a launch whose answer was lost is done once, never
//! twice, and everything is reconciled after the heal.
//!
//! Needs root (namespaces, iptables), Docker and the test image, and the `maison-agent` binary.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use maison_agent_api::{AgentClient, ClientTls, Timeouts};
use maison_bot::config::HostConfig;
use maison_bot::fleet;
use maison_tests::{Backend, BotTester, agent_binary, docker, free_port, reply_text, test_config};

const IMAGE: &str = "maison-test/busybox:latest";

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace joined to this one by a veth pair: `10.231.<n>.1` here, `.2` inside.
struct Island {
    name: String,
    inside: String,
}

impl Island {
    fn make() -> Island {
        let n = std::process::id() % 250 + 1;
        let name = format!("mpart{n}");
        let (outer, inner) = (format!("{name}h"), format!("{name}p"));
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        run(&[
            "ip", "link", "add", &outer, "type", "veth", "peer", "name", &inner,
        ]);
        run(&["ip", "link", "set", &inner, "netns", &name]);
        run(&[
            "ip",
            "addr",
            "add",
            &format!("10.231.{n}.1/30"),
            "dev",
            &outer,
        ]);
        run(&["ip", "link", "set", &outer, "up"]);
        let inside = format!("10.231.{n}.2");
        for args in [
            vec!["ip", "addr", "add", &format!("{inside}/30"), "dev", &inner],
            vec!["ip", "link", "set", &inner, "up"],
            vec!["ip", "link", "set", "lo", "up"],
        ] {
            let mut full = vec!["ip", "netns", "exec", &name];
            full.extend(args.iter().copied());
            run(&full);
        }
        Island { name, inside }
    }

    fn iptables(&self, args: &[&str]) {
        let mut full = vec!["ip", "netns", "exec", &self.name, "iptables"];
        full.extend(args);
        run(&full);
    }

    /// Answers from the island are lost (the requests still arrive).
    fn drop_answers(&self) {
        self.iptables(&["-A", "OUTPUT", "-j", "DROP"]);
    }

    /// Nothing gets in or out.
    fn cut(&self) {
        self.iptables(&["-A", "INPUT", "-j", "DROP"]);
    }

    fn heal(&self) {
        self.iptables(&["-F", "INPUT"]);
        self.iptables(&["-F", "OUTPUT"]);
    }
}

impl Drop for Island {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = docker(&["rm", "-f", name]);
        }
    }
}

fn containers_named(name: &str) -> usize {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{name}$"),
        "--format",
        "{{.ID}}",
    ]);
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_agent_is_shown_unreachable_and_nothing_is_done_twice() {
    assert!(
        docker(&["image", "inspect", IMAGE]).status.success(),
        "test image {IMAGE} is missing: run scripts/build-test-image.sh"
    );
    let island = Island::make();
    let dir = tempfile::tempdir().unwrap();
    let ca = maison_pki::Ca::generate("Maison partition test CA").unwrap();
    let agent_cert = ca
        .issue_agent("gpu01", std::slice::from_ref(&island.inside))
        .unwrap();
    let bot_cert = ca.issue_bot("partition-bot").unwrap();
    let write = |name: &str, text: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ca_path = write("ca.pem", ca.cert_pem());
    let port = free_port();
    let agent_config = write(
        "agent.toml",
        &format!(
            "listen = \"{}:{port}\"\n[tls]\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\n[gpu]\nprobe = \"simulated\"\ncount = 2\n[policy]\nstaging_dir = {:?}\n[enter]\nsocket = {:?}\n",
            island.inside,
            write("agent.pem", &agent_cert.cert_pem),
            write("agent-key.pem", &agent_cert.key_pem),
            ca_path,
            dir.path().join("stage"),
            dir.path().join("enter.sock"),
        ),
    );
    // The agent lives on the island; Docker's socket is a file, so it still reaches the engine.
    let _agent = Agent(
        Command::new("ip")
            .args(["netns", "exec", &island.name])
            .arg(agent_binary())
            .args(["serve", "--config"])
            .arg(&agent_config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("maison-agent starts in the namespace"),
    );
    let url = format!("https://{}:{port}", island.inside);
    let tls = ClientTls {
        ca_pem: ca.cert_pem().to_string(),
        cert_pem: bot_cert.cert_pem.clone(),
        key_pem: bot_cert.key_pem.clone(),
    };
    let probe = AgentClient::new(
        &url,
        &tls,
        Timeouts {
            connect: Duration::from_millis(500),
            request: Duration::from_secs(2),
        },
    )
    .unwrap();
    let mut up = false;
    for _ in 0..300 {
        if probe.healthz().await.is_ok_and(|h| h.inventory_live) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "maison-agent did not come up at {url}");

    let mut config = test_config();
    config.hosts = vec![HostConfig {
        name: "gpu01".into(),
        gpus: 2,
        agent_url: Some(url.clone()),
    }];
    config.agents.ca = Some(ca_path.clone());
    config.agents.cert = Some(write("bot.pem", &bot_cert.cert_pem));
    config.agents.key = Some(write("bot-key.pem", &bot_cert.key_pem));
    config.users = vec![maison_tests::alice_as_uid_1000()];
    // Short waits, so the test does not sit through the production time-outs.
    config.agents.connect_timeout = Duration::from_secs(1);
    config.agents.request_timeout = Duration::from_secs(3);
    let fleet = fleet::from_config(&config.agents, &config.hosts).unwrap();
    let bot = BotTester::start_with_fleet(Backend::Sqlite, config, fleet).await;
    let suffix = std::process::id();
    let (first, second) = (format!("part-a-{suffix}"), format!("part-b-{suffix}"));
    let _cleanup = Cleanup(vec![first.clone(), second.clone()]);

    let booked = bot.command_text("U0ALICE", "book gpu01 2h --gpus 2").await;
    assert!(booked.contains("Booked `gpu01`"), "{booked}");
    bot.slack.expect("chat.postMessage").await; // the booking's announcement
    let launch = |name: &str| format!("launch gpu01:0 {IMAGE} --name {name} -- sleep 600");
    let ack = bot.command("U0ALICE", &launch(&first)).await;
    assert!(reply_text(&ack).contains("Starting"), "{ack}");
    let done = reply_text(&bot.slack.expect("response_url").await.args);
    assert!(done.contains(&format!("`{first}` is running")), "{done}");
    let poller = bot.poller();
    poller.poll_once().await;
    assert!(
        bot.command_text("U0CAROL", "status gpu01")
            .await
            .contains("agent seen")
    );

    // The answer to a launch is lost on its way back: the user is told it failed or may have
    // started, never that it is running.
    island.drop_answers();
    bot.command("U0ALICE", &launch(&second)).await;
    let lost = reply_text(&bot.slack.expect("response_url").await.args);
    assert!(
        lost.contains("did not answer") && lost.contains("cannot tell whether"),
        "{lost}"
    );
    assert!(
        !lost.contains("Nothing was changed"),
        "it may well have been: {lost}"
    );

    // Cut both ways: after `unreachable_after` the host shows as unreachable; nothing else
    // changes (the booking stands, the running container is untouched).
    island.cut();
    poller.poll_once().await;
    bot.clock.advance(chrono::Duration::seconds(31));
    poller.poll_once().await;
    let board = bot.command_text("U0CAROL", "status gpu01").await;
    assert!(board.contains("agent unreachable"), "{board}");
    assert!(
        board.contains("<@U0ALICE> until"),
        "the booking stands: {board}"
    );
    let running = docker(&["inspect", "--format", "{{.State.Running}}", &first]);
    assert_eq!(String::from_utf8_lossy(&running.stdout).trim(), "true");

    // Healed: launching again is the same intent (same idempotency key), so the container the
    // lost answer left behind is reported, not made a second time.
    island.heal();
    bot.clock.advance(chrono::Duration::seconds(10));
    poller.poll_once().await;
    let board = bot.command_text("U0CAROL", "status gpu01").await;
    assert!(
        board.contains("agent seen"),
        "reconciled after the heal: {board}"
    );
    bot.command("U0ALICE", &launch(&second)).await;
    let again = reply_text(&bot.slack.expect("response_url").await.args);
    assert!(
        again.contains(&format!(
            "`{second}` already exists on `gpu01` from the same request"
        )),
        "{again}"
    );
    assert_eq!(containers_named(&second), 1, "done once, never twice");
    let cached = bot.db().cached_containers(Some("gpu01")).await.unwrap();
    assert!(cached.iter().any(|c| c.name == first) && cached.iter().any(|c| c.name == second));
    bot.finish().await;
}
