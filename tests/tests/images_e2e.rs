//! Images copied between hosts, end to end: the bot (real router, signed Slack requests)
//! drives two real `maison-agent` processes, each on a Docker engine of its own (the
//! machine's, and one the test starts), which copy an image agent to agent over mutual TLS.
//!
//! The destination already holds the image's base, so only the new layer travels; the copy
//! is the same image (same id) and launches there. A host without room, a name taken by
//! another image there, an image nobody has and a copy that is already there are answered
//! without copying anything.
//!
//! Needs root, Docker, the test image (`scripts/build-test-image.sh`) and the `maison-agent`
//! binary (`scripts/test.sh` builds both).

use maison_bot::config::HostConfig;
use maison_bot::fleet;
use maison_tests::agents::{AgentOptions, AgentProcess, PrivateDocker, bot_tls};
use maison_tests::{Backend, BotTester, docker, reply_text, test_config};

const BASE: &str = "maison-test/busybox:latest";

/// Removes what the test made on the machine's engine, whatever happens.
struct Cleanup {
    containers: Vec<String>,
    images: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.containers {
            let _ = docker(&["rm", "-f", name]);
        }
        for image in &self.images {
            let _ = docker(&["rmi", "-f", image]);
        }
    }
}

fn image_id(output: std::process::Output) -> Option<String> {
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The answer to a command, following `response_url` when the bot answered "working on it".
async fn answer(bot: &BotTester, user: &str, text: &str) -> String {
    let ack = bot.command(user, text).await;
    let first = reply_text(&ack);
    if first.contains("Working on it") {
        return reply_text(&bot.slack.expect("response_url").await.args);
    }
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_an_image_to_another_engine_without_its_base_and_launch_it_there() {
    assert!(
        docker(&["image", "inspect", BASE]).status.success(),
        "test image {BASE} is missing: run scripts/build-test-image.sh"
    );
    let pid = std::process::id();
    let image = format!("maison-e2e/copied:{pid}");
    let maker = format!("e2e-image-maker-{pid}");
    let launched = format!("e2e-copied-{pid}");
    let _cleanup = Cleanup {
        containers: vec![maker.clone()],
        images: vec![image.clone()],
    };
    // The image: the test image plus one layer of 4 MiB of noise and a marker file.
    let made = docker(&[
        "run",
        "--name",
        &maker,
        BASE,
        "sh",
        "-c",
        &format!("head -c 4194304 /dev/urandom > /payload && echo copied-{pid} > /marker"),
    ]);
    assert!(made.status.success(), "{made:?}");
    assert!(docker(&["commit", &maker, &image]).status.success());
    let source_id = image_id(docker(&["image", "inspect", "-f", "{{.Id}}", &image])).unwrap();

    // gpu02 is another engine that has the base image but not ours; gpu03 shares gpu02's
    // engine but must keep all of its disk free, so it has room for nothing.
    let engine = PrivateDocker::start(&[BASE]);
    let dir = tempfile::tempdir().unwrap();
    let pki = maison_bot::local::local_pki(&dir.path().join("pki")).unwrap();
    let tls = bot_tls(&pki);
    let mut gpu01 = AgentProcess::new(dir.path(), &AgentOptions::named("gpu01"), &pki);
    let mut gpu02 = AgentProcess::new(
        dir.path(),
        &AgentOptions {
            docker_socket: Some(engine.socket()),
            ..AgentOptions::named("gpu02")
        },
        &pki,
    );
    let mut gpu03 = AgentProcess::new(
        dir.path(),
        &AgentOptions {
            docker_socket: Some(engine.socket()),
            free_margin: "99.99%".into(),
            ..AgentOptions::named("gpu03")
        },
        &pki,
    );
    gpu01.start(&tls).await;
    gpu02.start(&tls).await;
    gpu03.start(&tls).await;

    let mut config = test_config();
    config.slack.announce_channel = None;
    config.hosts = [("gpu01", &gpu01), ("gpu02", &gpu02), ("gpu03", &gpu03)]
        .into_iter()
        .map(|(name, agent)| HostConfig {
            name: name.into(),
            gpus: 2,
            agent_url: Some(agent.url.clone()),
        })
        .collect();
    config.agents.ca = Some(pki.ca.clone());
    config.agents.cert = Some(pki.bot_cert.clone());
    config.agents.key = Some(pki.bot_key.clone());
    config.users = vec![maison_tests::alice_as_uid_1000()];
    let fleet = fleet::from_config(&config.agents, &config.hosts).unwrap();
    let bot = BotTester::start_with_fleet(Backend::Sqlite, config, fleet).await;

    // Refusals first; none of them copies anything.
    let nobody = answer(&bot, "U0ALICE", "image copy maison-e2e/nothing:1 gpu02").await;
    assert!(
        nobody.contains("No host has an image called `maison-e2e/nothing:1`"),
        "{nobody}"
    );
    let unknown_host = answer(&bot, "U0ALICE", &format!("image copy {image} gpu9")).await;
    assert!(unknown_host.contains("gpu9"), "{unknown_host}");
    let no_room = answer(&bot, "U0ALICE", &format!("image copy {image} gpu03")).await;
    assert!(
        no_room.contains("The agent on `gpu03`")
            && no_room.contains("not enough room for")
            && no_room.contains("must stay free"),
        "{no_room}"
    );
    assert!(image_id(engine.cli(&["image", "inspect", "-f", "{{.Id}}", &image])).is_none());

    // The copy: the same image arrives, and the base layer gpu02 already had stays home.
    let copied = answer(&bot, "U0ALICE", &format!("image copy {image} gpu02")).await;
    assert!(
        copied.contains(&format!("Copied `{image}` from `gpu01` to `gpu02`")),
        "{copied}"
    );
    assert!(
        copied.contains("1 of its 2 layers were already on `gpu02` and were not sent"),
        "{copied}"
    );
    let arrived = image_id(engine.cli(&["image", "inspect", "-f", "{{.Id}}", &image]));
    assert_eq!(
        arrived.as_deref(),
        Some(source_id.as_str()),
        "same image, same id"
    );
    let again = answer(&bot, "U0ALICE", &format!("image copy {image} gpu02")).await;
    assert!(
        again.contains(&format!("`gpu02` already has `{image}`")),
        "{again}"
    );

    // It launches there, with the new layer's files in it.
    let booked = bot.command_text("U0ALICE", "book gpu02 2h").await;
    assert!(booked.contains("Booked `gpu02`"), "{booked}");
    let started = answer(
        &bot,
        "U0ALICE",
        &format!("launch gpu02 {image} --name {launched} -- sleep 600"),
    )
    .await;
    let started = if started.contains("Starting") {
        reply_text(&bot.slack.expect("response_url").await.args)
    } else {
        started
    };
    assert!(
        started.contains(&format!("`{launched}` is running on `gpu02`")),
        "{started}"
    );
    let marker = engine.cli(&["exec", &launched, "cat", "/marker"]);
    assert_eq!(
        String::from_utf8_lossy(&marker.stdout).trim(),
        format!("copied-{pid}")
    );

    // A name gpu02 already gives to another image: asked by name, the bot sees two images
    // and asks which; asked by id, the agent refuses to take the name over.
    let other = format!("maison-e2e/other:{pid}");
    let _cleanup_other = Cleanup {
        containers: vec![],
        images: vec![other.clone()],
    };
    assert!(docker(&["commit", &maker, &other]).status.success());
    assert!(engine.cli(&["tag", BASE, &other]).status.success());
    let other_id = image_id(docker(&["image", "inspect", "-f", "{{.Id}}", &other])).unwrap();
    let which = answer(&bot, "U0ALICE", &format!("image copy {other} gpu02")).await;
    assert!(
        which.contains("names different images on different hosts"),
        "{which}"
    );
    let short = &other_id["sha256:".len().."sha256:".len() + 12];
    let taken = answer(&bot, "U0ALICE", &format!("image copy {short} gpu02")).await;
    assert!(
        taken.contains(&format!("already has an image called {other}")),
        "{taken}"
    );
    let still = image_id(engine.cli(&["image", "inspect", "-f", "{{.Id}}", &other]));
    let base_there = image_id(engine.cli(&["image", "inspect", "-f", "{{.Id}}", BASE]));
    assert_eq!(still, base_there, "gpu02's own image keeps its name");

    bot.finish().await;
}
