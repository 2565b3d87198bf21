//! Images built and copied between hosts, end to end: the bot (real router, signed Slack
//! requests) drives real `maison-agent` processes, on two Docker engines (the machine's, and
//! one the test starts), which build from a user's Dockerfile and copy the image agent to
//! agent over mutual TLS.
//!
//! The build reads its context as the user (a file only root can read stops it) and records
//! the Dockerfile's hash. The destination already holds the image's base, so only the new
//! layer travels; the copy is the same image (same id) and launches there. A host without room, a name taken by
//! another image there, an image nobody has and a copy that is already there are answered
//! without copying anything. Published and approved, the image launches by its catalogue
//! name there.
//!
//! Needs root, Docker, the test image (`scripts/build-test-image.sh`) and the `maison-agent`
//! binary (`scripts/test.sh` builds both).

use std::os::unix::fs::PermissionsExt;

use maison_bot::config::{HostConfig, UnixUserMapping};
use maison_bot::fleet;
use maison_testkit::PrivateDocker;
use maison_tests::agents::{AgentOptions, AgentProcess, bot_tls};
use maison_tests::{Backend, BotTester, docker, reply_text, test_config};
use sha2::{Digest, Sha256};

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

/// The answer to a command, following `response_url` when the bot answered "working on it"
/// (or, for a launch, "starting").
async fn answer(bot: &BotTester, user: &str, text: &str) -> String {
    let ack = bot.command(user, text).await;
    let first = reply_text(&ack);
    if first.contains("Working on it") || first.contains("Starting") {
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
    // The maker container, for an image made outside Maison further down.
    let made = docker(&["run", "--name", &maker, BASE, "true"]);
    assert!(made.status.success(), "{made:?}");

    // Alice's work directory, with a Dockerfile whose base is the local test image.
    let dir = tempfile::tempdir().unwrap();
    let work_root = dir.path().join("work");
    let context = work_root.join("alice/build");
    std::fs::create_dir_all(&context).unwrap();
    let dockerfile = context.join("Dockerfile");
    let recipe = format!("FROM {BASE}\nCOPY payload /payload\nRUN echo copied-{pid} > /marker\n");
    std::fs::write(&dockerfile, &recipe).unwrap();
    std::fs::write(context.join("payload"), vec![7u8; 4 << 20]).unwrap();
    // Only root can read this one; tar, running as Alice, cannot.
    let secret = context.join("root-only.txt");
    std::fs::write(&secret, "not Alice's").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    for path in [dir.path(), &work_root] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for path in [
        work_root.join("alice"),
        context.clone(),
        dockerfile.clone(),
        context.join("payload"),
    ] {
        std::os::unix::fs::chown(&path, Some(1000), Some(1000)).unwrap();
    }

    // gpu02 is another engine that has the base image but not ours; gpu03 shares gpu02's
    // engine but must keep all of its disk free, so it has room for nothing.
    let engine = PrivateDocker::start(&[BASE]);
    let pki = maison_bot::local::local_pki(&dir.path().join("pki")).unwrap();
    let tls = bot_tls(&pki);
    let mut gpu01 = AgentProcess::new(
        dir.path(),
        &AgentOptions {
            work_root: Some(work_root.clone()),
            ..AgentOptions::named("gpu01")
        },
        &pki,
    );
    let mut gpu02 = AgentProcess::new(
        dir.path(),
        &AgentOptions {
            docker_socket: Some(engine.socket()),
            // Launches mount Alice's work directory, as on hosts sharing /work.
            work_root: Some(work_root.clone()),
            // Slow enough for the copy to show its progress.
            max_rate: Some("2MiB".into()),
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
    config.agents.progress_every = std::time::Duration::from_millis(400);
    config.users = vec![UnixUserMapping {
        work: Some(work_root.join("alice").display().to_string()),
        ..maison_tests::alice_as_uid_1000()
    }];
    let fleet = fleet::from_config(&config.agents, &config.hosts).unwrap();
    let bot = BotTester::start_with_fleet(Backend::Sqlite, config, fleet).await;

    // The build: refused from outside Alice's directory, and while the context holds a file
    // she cannot read; then built, with its recipe remembered.
    let outside = answer(
        &bot,
        "U0ALICE",
        &format!("image build gpu01 {image} /etc/Dockerfile"),
    )
    .await;
    assert!(
        outside.contains("is not in your own directories") && outside.contains("Nothing was built"),
        "{outside}"
    );
    let build = format!(
        "image build gpu01 {image} {} for \"e2e\"",
        dockerfile.display()
    );
    let unreadable = answer(&bot, "U0ALICE", &build).await;
    assert!(
        unreadable.contains("cannot be read with your permissions")
            && unreadable.contains("root-only.txt"),
        "{unreadable}"
    );
    assert!(image_id(docker(&["image", "inspect", "-f", "{{.Id}}", &image])).is_none());
    std::fs::remove_file(&secret).unwrap();
    let built = answer(&bot, "U0ALICE", &build).await;
    assert!(
        built.contains(&format!("Built `{image}` on `gpu01` from `{BASE}`")),
        "{built}"
    );
    let source_id = image_id(docker(&["image", "inspect", "-f", "{{.Id}}", &image])).unwrap();
    let label = |key: &str| {
        image_id(docker(&[
            "image",
            "inspect",
            "-f",
            &format!("{{{{index .Config.Labels \"{key}\"}}}}"),
            &image,
        ]))
        .unwrap_or_default()
    };
    let recipe_hash = Sha256::digest(recipe.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    assert_eq!(label("maison.image.how"), "build");
    assert_eq!(label("maison.owner"), "U0ALICE");
    assert_eq!(label("maison.image.dockerfile_sha256"), recipe_hash);
    assert_eq!(label("maison.image.parent"), BASE);
    let who = bot.command_text("U0ALICE", &format!("who {image}")).await;
    assert!(
        who.contains(&format!("made by building `{}`", dockerfile.display())),
        "{who}"
    );

    // Refusals of copies; none of them copies anything.
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

    // Launching it on gpu02, which lacks it, offers the copy instead of failing; the button
    // copies it: the same image arrives, and the base layer gpu02 already had stays home.
    bot.poller().poll_once().await;
    let booked = bot.command_text("U0ALICE", "book gpu02 2h").await;
    assert!(booked.contains("Booked `gpu02`"), "{booked}");
    let offer = bot
        .command(
            "U0ALICE",
            &format!("launch gpu02 {image} --name {launched} -- sleep 600"),
        )
        .await;
    let offered = reply_text(&offer);
    assert!(
        offered.contains(&format!("`{image}` is not on `gpu02`"))
            && offered.contains("`gpu01` has it"),
        "{offered}"
    );
    assert_eq!(
        maison_tests::buttons(&offer),
        [(
            maison_bot::core::actions::COPY_IMAGE.to_string(),
            format!("gpu02 {image}")
        )]
    );
    let clicked = bot
        .click(
            "U0ALICE",
            maison_bot::core::actions::COPY_IMAGE,
            &format!("gpu02 {image}"),
        )
        .await;
    let mut copied = reply_text(&clicked);
    if copied.contains("Working on it") {
        copied = reply_text(&bot.slack.expect("response_url").await.args);
    }
    assert!(
        copied.contains(&format!("Copied `{image}` from `gpu01` to `gpu02`")),
        "{copied}"
    );
    assert!(
        copied.contains("1 of its 3 layers were already on `gpu02` and were not sent"),
        "{copied}"
    );
    // While it ran, a DM showed how far it was, then that it was done.
    let shown: Vec<String> = bot
        .slack
        .take_unread()
        .iter()
        .filter(|c| c.method == "chat.postMessage" || c.method == "chat.update")
        .map(|c| c.args["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        shown
            .iter()
            .any(|t| t.contains(&format!("Copying `{image}` to `gpu02`")) && t.contains(" %)")),
        "{shown:?}"
    );
    assert!(
        shown.last().is_some_and(|t| t.contains("is done")),
        "{shown:?}"
    );

    // The audit records the bytes that crossed: the new layers (4 MiB and the marker), not
    // the base gpu02 had.
    let audit = bot.db().audit_log().await.unwrap();
    let outcome = &audit
        .iter()
        .rfind(|a| a.action == "image copy" && a.outcome.starts_with("ok"))
        .expect("the copy is audited")
        .outcome;
    let sent: u64 = outcome["ok: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let base_size: u64 = image_id(docker(&["image", "inspect", "-f", "{{.Size}}", BASE]))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (4 << 20..(4 << 20) + base_size / 2).contains(&sent),
        "sent {sent} bytes; the base is {base_size}"
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
    let started = answer(
        &bot,
        "U0ALICE",
        &format!("launch gpu02 {image} --name {launched} -- sleep 600"),
    )
    .await;
    assert!(
        started.contains(&format!("`{launched}` is running on `gpu02`")),
        "{started}"
    );
    let marker = engine.cli(&["exec", &launched, "cat", "/marker"]);
    assert_eq!(
        String::from_utf8_lossy(&marker.stdout).trim(),
        format!("copied-{pid}")
    );

    // Published to the catalogue and approved by an admin, the image launches by its short
    // name (by id, so a later re-tag cannot change it); the same name and version again is
    // refused.
    let asked = answer(
        &bot,
        "U0ALICE",
        &format!("image publish {image} as e2e-trainer for \"e2e\""),
    )
    .await;
    assert!(asked.contains("as `e2e-trainer:v1`"), "{asked}");
    let asked_admin = bot.slack.expect("chat.postMessage").await;
    assert_eq!(asked_admin.args["channel"], "DU0ADMIN");
    let request = bot
        .db()
        .catalog()
        .await
        .unwrap()
        .versions()
        .iter()
        .find(|v| v.name == "e2e-trainer")
        .map(|v| v.id)
        .expect("the request is recorded");
    let approved = bot
        .click(
            "U0ADMIN",
            maison_bot::core::actions::PUBLISH_APPROVE,
            &request.to_string(),
        )
        .await;
    assert!(
        reply_text(&approved).contains("Approved `e2e-trainer:v1`"),
        "{approved}"
    );
    let told = bot.slack.expect("chat.postMessage").await;
    assert_eq!(told.args["channel"], "DU0ALICE");
    let taken = answer(
        &bot,
        "U0ALICE",
        &format!("image publish {image} as e2e-trainer:v1"),
    )
    .await;
    assert!(taken.contains("is already in the catalogue"), "{taken}");
    let by_name = format!("e2e-catalogue-{pid}");
    let started = answer(
        &bot,
        "U0ALICE",
        &format!("launch gpu02 e2e-trainer --name {by_name} -- sleep 600"),
    )
    .await;
    assert!(
        started.contains(&format!("`{by_name}` is running on `gpu02`")),
        "{started}"
    );
    let runs = image_id(engine.cli(&["inspect", "-f", "{{.Image}}", &by_name]));
    assert_eq!(runs.as_deref(), Some(source_id.as_str()));

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
