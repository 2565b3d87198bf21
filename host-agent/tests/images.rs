//! Saving a container as an image, on the real Docker engine: the image carries its
//! provenance and none of the container's launch labels, a container launched from it sees
//! what was saved, and the refusals (someone else's container, a name taken, a bad name)
//! change nothing.

mod common;

use common::{Cleanup, TEST_IMAGE, TestAgent, docker, eventually, require_test_image, spec};
use maison_agent_api::images::{Provenance, SaveImageRequest, provenance};
use maison_agent_api::labels;

fn docker_cli(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

/// Removes the images a test saved, whatever happens to the test.
struct ImageCleanup(Vec<String>);

impl Drop for ImageCleanup {
    fn drop(&mut self) {
        for reference in &self.0 {
            let _ = docker_cli(&["rmi", "-f", reference]);
        }
    }
}

fn save(container: &str, reference: &str, owner: &str) -> SaveImageRequest {
    SaveImageRequest {
        container: container.into(),
        reference: reference.into(),
        owner: owner.into(),
        owner_name: Some("test user".into()),
        note: Some("tuned for the vision runs".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_container_becomes_an_image_with_its_history() {
    common::init();
    let t = TestAgent::start().await;
    t.wait_live().await;
    require_test_image(&docker()).await;
    let prefix = common::unique_prefix("save");
    let _cleanup = Cleanup::new(&prefix);
    let reference = format!("{prefix}/tuned:v1");
    let _images = ImageCleanup(vec![reference.clone()]);

    let mut source = spec(&prefix, "src");
    source.command = vec![
        "sh".into(),
        "-c".into(),
        "echo tuned-by-test > /tmp/state; sleep 300".into(),
    ];
    let launched = t.client.launch(&source).await.expect("launch");
    let written = eventually(20, || async {
        docker_cli(&["exec", &launched.container.id, "cat", "/tmp/state"])
            .1
            .contains("tuned-by-test")
            .then_some(())
    })
    .await;
    assert!(written.is_some(), "the container never wrote its state");

    // Someone else may not save it, and a taken or malformed name is refused; nothing is made.
    let err = t
        .client
        .save_image(&save(&launched.container.name, &reference, "U0MALLORY"))
        .await
        .expect_err("someone else's container");
    assert_eq!(err.rule(), Some("not-owner"), "{err}");
    let err = t
        .client
        .save_image(&save(&launched.container.name, TEST_IMAGE, "U0TEST"))
        .await
        .expect_err("a name that exists");
    assert_eq!(err.rule(), Some("image-exists"), "{err}");
    let err = t
        .client
        .save_image(&save(&launched.container.name, "Bad Name", "U0TEST"))
        .await
        .expect_err("a malformed name");
    assert_eq!(err.rule(), Some("image-name"), "{err}");
    assert!(!docker_cli(&["image", "inspect", &reference]).0);

    let saved = t
        .client
        .save_image(&save(&launched.container.name, &reference, "U0TEST"))
        .await
        .expect("the owner saves it");
    assert_eq!(saved.reference, reference);
    assert_eq!(saved.parent, TEST_IMAGE);
    assert_eq!(saved.parent_id, launched.container.image_id);
    assert!(saved.size_bytes > 0);

    // The image records where it came from, and carries no launch label of the container.
    let image = t
        .client
        .images()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.id == saved.id)
        .expect("the agent's inventory lists the new image");
    assert!(image.tags.contains(&reference), "{:?}", image.tags);
    let history = Provenance::from_labels(&image.labels).expect("provenance labels");
    assert_eq!(history.owner, "U0TEST");
    assert_eq!(history.how, "save");
    assert_eq!(history.parent.as_deref(), Some(TEST_IMAGE));
    assert_eq!(
        history.container.as_deref(),
        Some(launched.container.name.as_str())
    );
    assert_eq!(history.booking.as_deref(), Some("booking-1"));
    assert_eq!(history.note.as_deref(), Some("tuned for the vision runs"));
    for launch_only in [labels::IDEMPOTENCY_KEY, labels::GPUS, labels::LIMITS] {
        assert_eq!(
            image.labels.get(launch_only).map(String::as_str),
            Some(""),
            "{launch_only} must be blanked on the image"
        );
    }
    assert!(image.labels.contains_key(provenance::PARENT_ID));

    // Someone else may not run it by its name (whoever takes a name first on a host would run
    // code as the next person launching that name); by its id, as a published catalogue
    // version is launched, they may. What was saved is there for the next container, which
    // belongs to whoever launches it.
    let mut child = spec(&prefix, "child");
    child.image = reference.clone();
    child.owner = "U0OTHER".into();
    child.command = vec!["sh".into(), "-c".into(), "cat /tmp/state; sleep 300".into()];
    let err = t
        .client
        .launch(&child)
        .await
        .expect_err("someone else's image by its name");
    assert_eq!(err.rule(), Some("image-not-yours"), "{err}");
    assert!(err.to_string().contains("made by <@U0TEST>"), "{err}");
    child.image = saved.id.clone();
    let relaunched = t
        .client
        .launch(&child)
        .await
        .expect("launch from the saved image");
    let logs = eventually(20, || async {
        let (_, out) = docker_cli(&["logs", &relaunched.container.id]);
        out.contains("tuned-by-test").then_some(out)
    })
    .await;
    assert!(
        logs.is_some(),
        "the saved state is not in the new container"
    );
    let owner = relaunched
        .container
        .maison
        .as_ref()
        .map(|m| m.owner.clone());
    assert_eq!(owner.as_deref(), Some("U0OTHER"));

    // Saving again under the same name moves it: it names an image its owner saved.
    let again = t
        .client
        .save_image(&save(&launched.container.name, &reference, "U0TEST"))
        .await
        .expect("re-saving one's own name");
    assert_eq!(again.reference, reference);
    t.agent.shutdown().await;
}

/// A Dockerfile in `dir` (created, owned by `uid`), based on the test image.
fn recipe_in(dir: &std::path::Path, uid: u32, marker: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let dockerfile = dir.join("Dockerfile");
    std::fs::write(
        &dockerfile,
        format!("FROM {TEST_IMAGE}\nRUN echo {marker} > /marker\n"),
    )
    .unwrap();
    for path in [dir, dockerfile.as_path()] {
        std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
    }
    dockerfile.display().to_string()
}

fn build(
    dockerfile: &str,
    reference: &str,
    uid: u32,
) -> maison_agent_api::images::BuildImageRequest {
    maison_agent_api::images::BuildImageRequest {
        dockerfile: dockerfile.into(),
        reference: reference.into(),
        owner: "U0ADA".into(),
        uid,
        gid: uid,
        note: None,
    }
}

/// The agent decides where builds come from on its own: asked directly (no bot to check
/// first), it refuses a Dockerfile outside the work and home roots, in someone else's
/// directory, and a build as root; the owner's own builds, labelled with the recipe's hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_come_only_from_the_owners_own_directory() {
    use std::os::unix::fs::PermissionsExt;
    common::init();
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("build");
    let reference = format!("{prefix}/built:v1");
    let _images = ImageCleanup(vec![reference.clone()]);
    // The tar that packs the context runs as the owner, who must reach the directory.
    for dir in [t.dir.path(), t.work.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let limit = std::time::Duration::from_secs(300);
    let refused_by = |r: Result<_, maison_agent_api::ClientError>| -> String {
        match r {
            Err(e) => e.rule().unwrap_or("none").to_string(),
            Ok(built) => panic!("built: {built:?}"),
        }
    };

    let outside = recipe_in(&t.dir.path().join("elsewhere"), 1000, "x");
    let rule = refused_by(
        t.client
            .build_image(&build(&outside, &reference, 1000), limit)
            .await,
    );
    assert_eq!(rule, "mount-outside-roots");

    let bobs = recipe_in(&t.work.join("bob/proj"), 1001, "x");
    let rule = refused_by(
        t.client
            .build_image(&build(&bobs, &reference, 1000), limit)
            .await,
    );
    assert_eq!(rule, "mount-not-owner");

    let adas = recipe_in(&t.work.join("ada/proj"), 1000, &prefix);
    std::os::unix::fs::chown(t.work.join("ada"), Some(1000), Some(1000)).unwrap();
    let rule = refused_by(
        t.client
            .build_image(&build(&adas, &reference, 0), limit)
            .await,
    );
    assert!(
        rule == "mount-not-owner" || rule == "build-as-root",
        "{rule}"
    );
    assert!(!docker_cli(&["image", "inspect", &reference]).0);

    // A step run in /proc/self/fd/<n> starts outside the build container with runc before
    // 1.1.12, as root; a continued line does not hide it.
    let escape = t.work.join("ada/proj/Dockerfile.escape");
    std::fs::write(
        &escape,
        format!("FROM {TEST_IMAGE}\nWORKDIR /tmp\nWORKDIR \\\n  ../proc/self/fd/8\nRUN cat /etc/shadow\n"),
    )
    .unwrap();
    std::os::unix::fs::chown(&escape, Some(1000), Some(1000)).unwrap();
    let rule = refused_by(
        t.client
            .build_image(
                &build(&escape.display().to_string(), &reference, 1000),
                limit,
            )
            .await,
    );
    assert_eq!(rule, "image-workdir");
    assert!(!docker_cli(&["image", "inspect", &reference]).0);

    let built = t
        .client
        .build_image(&build(&adas, &reference, 1000), limit)
        .await
        .expect("Ada's own build");
    let recipe = std::fs::read(&adas).unwrap();
    let expected_hash: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&recipe)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(built.dockerfile_sha256, expected_hash);
    assert_eq!(built.parent, TEST_IMAGE);
    let (_, how) = docker_cli(&[
        "image",
        "inspect",
        "-f",
        &format!("{{{{index .Config.Labels \"{}\"}}}}", provenance::HOW),
        &reference,
    ]);
    assert_eq!(how, "build");
    let (ran, marker) = docker_cli(&["run", "--rm", &reference, "cat", "/marker"]);
    assert!(ran);
    assert_eq!(marker, prefix);
}

/// A Dockerfile `name` with `steps` on the test image, in Ada's (uid 1000) directory `project`
/// under the agent's work root, reachable by her as the context is packed as her.
fn ada_recipe(t: &TestAgent, project: &str, name: &str, steps: &str) -> String {
    recipe_of(t, ("ada", 1000), project, name, steps)
}

/// [`ada_recipe`] for anyone: `user`'s directory under the work root, owned by `uid`.
fn recipe_of(
    t: &TestAgent,
    (user, uid): (&str, u32),
    project: &str,
    name: &str,
    steps: &str,
) -> String {
    use std::os::unix::fs::PermissionsExt;
    for dir in [t.dir.path(), t.work.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let dir = t.work.join(user).join(project);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("FROM {TEST_IMAGE}\n{steps}\n")).unwrap();
    for owned in [t.work.join(user).as_path(), dir.as_path(), path.as_path()] {
        std::os::unix::fs::chown(owned, Some(uid), Some(uid)).unwrap();
    }
    path.display().to_string()
}

/// A build's steps run as root in containers Docker makes for them, so they get the limits
/// of a container without GPUs: each step sees its memory limit, and a fork bomb in a `RUN`
/// stops at the process limit all builds share instead of the host's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_step_cannot_fork_past_the_process_limit_nor_hold_more_memory() {
    common::init();
    let prefix = common::unique_prefix("buildcap");
    // Its own group, so the small limit here does not meet other tests' builds.
    let group = prefix.clone();
    let t = TestAgent::start_with(|c| {
        c.resources.pids_limit = 32;
        c.resources.memory_per_gpu_mib = Some(300);
        c.resources.build_cgroup = group.clone();
    })
    .await;
    let reference = format!("{prefix}/capped:v1");
    let _images = ImageCleanup(vec![reference.clone()]);
    let recipe = |name: &str, steps: &str| ada_recipe(&t, "capped", name, steps);
    let limit = std::time::Duration::from_secs(300);

    // 60 background processes at once against a limit of 32.
    let bomb = recipe(
        "Dockerfile.bomb",
        "RUN i=0; while [ $i -lt 60 ]; do sleep 3 & i=$((i+1)); done; wait",
    );
    let e = t
        .client
        .build_image(&build(&bomb, &reference, 1000), limit)
        .await
        .expect_err("60 processes under a limit of 32");
    assert_eq!(e.rule(), Some("build-failed"), "{e}");
    assert!(e.to_string().contains("can't fork"), "{e}");
    assert!(!docker_cli(&["image", "inspect", &reference]).0);

    // Each step's own memory limit, as the cgroup v1 or v2 file shows it inside the step,
    // kept in the image to be read back.
    let memory = recipe(
        "Dockerfile.memory",
        "RUN (cat /sys/fs/cgroup/memory/memory.limit_in_bytes || cat /sys/fs/cgroup/memory.max) > /limit",
    );
    t.client
        .build_image(&build(&memory, &reference, 1000), limit)
        .await
        .expect("a step within its limits builds");
    let (ran, seen) = docker_cli(&["run", "--rm", &reference, "cat", "/limit"]);
    assert!(ran);
    assert_eq!(seen, (300u64 << 20).to_string());

    let pids_max = [
        format!("/sys/fs/cgroup/pids/{prefix}/pids.max"),
        format!("/sys/fs/cgroup/{prefix}/pids.max"),
    ]
    .into_iter()
    .find_map(|path| std::fs::read_to_string(path).ok());
    assert_eq!(pids_max.as_deref().map(str::trim), Some("32"));
    for path in [
        format!("/sys/fs/cgroup/pids/{prefix}"),
        format!("/sys/fs/cgroup/{prefix}"),
    ] {
        let _ = std::fs::remove_dir(path);
    }
}

/// One build at a time per person on a host: a second one while the first runs is refused,
/// naming the first, and builds again once it ended. And one build of a name at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_builds_one_image_at_a_time() {
    common::init();
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("buildturn");
    let (slow_ref, next_ref) = (format!("{prefix}/slow:v1"), format!("{prefix}/next:v1"));
    let _images = ImageCleanup(vec![slow_ref.clone(), next_ref.clone()]);
    let slow = ada_recipe(&t, "turns", "Dockerfile.slow", "RUN sleep 4");
    let next = ada_recipe(&t, "turns", "Dockerfile.next", "RUN echo next > /next");
    let limit = std::time::Duration::from_secs(300);

    let first = {
        let client = t.client.clone();
        let request = build(&slow, &slow_ref, 1000);
        tokio::spawn(async move { client.build_image(&request, limit).await })
    };
    eventually(30, || async {
        let work = t.client.image_progress().await.ok()?;
        work.iter().any(|w| w.reference == slow_ref).then_some(())
    })
    .await
    .expect("the first build shows as in progress");
    let e = t
        .client
        .build_image(&build(&next, &next_ref, 1000), limit)
        .await
        .expect_err("a second build while the first runs");
    assert_eq!(e.rule(), Some("build-running"), "{e}");
    assert!(e.to_string().contains(&slow_ref), "{e}");
    assert!(!docker_cli(&["image", "inspect", &next_ref]).0);
    // Nor does anyone else build under the name being made: each would tag over the other.
    let bobs = recipe_of(
        &t,
        ("bob", 1001),
        "turns",
        "Dockerfile",
        "RUN echo bob > /bob",
    );
    let mut as_bob = build(&bobs, &slow_ref, 1001);
    as_bob.owner = "U0BOB".into();
    let e = t
        .client
        .build_image(&as_bob, limit)
        .await
        .expect_err("the same name while it is being built");
    assert_eq!(e.rule(), Some("image-busy"), "{e}");

    first.await.unwrap().expect("the first build");
    let (ran, _) = docker_cli(&["run", "--rm", &slow_ref, "cat", "/bob"]);
    assert!(!ran, "the image under that name is Ada's");
    t.client
        .build_image(&build(&next, &next_ref, 1000), limit)
        .await
        .expect("the next build, once the first ended");
}
