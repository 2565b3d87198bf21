//! Launch safety against the real Docker engine, tried as an attacker would: a user with a
//! shell racing the mount check, an image carrying forged labels, GPU variables and extra
//! groups, a fork bomb, one person launching again and again, idle sockets from the network,
//! and `maison enter` from other users.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bollard::query_parameters::InspectContainerOptions;
use common::{Cleanup, TEST_IMAGE, TEST_UID, TestAgent, docker, docker_names, eventually, spec};
use futures::StreamExt;
use maison_agent::enter::{EnterReply, EnterRequest, Frame};
use maison_agent_api::{ClientError, MountSpec, labels};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
}

fn docker_cli(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The host PID of the container's first process.
async fn host_pid(id: &str) -> i64 {
    docker()
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .unwrap()
        .state
        .and_then(|s| s.pid)
        .expect("a running container has a PID")
}

/// One field of /proc/<pid>/status, e.g. "Uid".
fn proc_status(pid: i64, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[derive(Debug, Default)]
struct RaceTally {
    inside: AtomicU64,
    refused: AtomicU64,
    escaped: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_racing_swapper_never_gets_another_directory_mounted() {
    const LAUNCHES: usize = 200;
    let t = Arc::new(TestAgent::start().await);
    let prefix = common::unique_prefix("race");
    let _cleanup = Cleanup::new(&prefix);
    let ada = t.home.join("ada");
    let dir = ada.join("x");
    let link = ada.join("x.swap");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("marker"), "the checked directory").unwrap();
    chown(&ada, TEST_UID);
    std::os::unix::fs::symlink("/", &link).unwrap();

    // What a user with a shell can do: swap the directory and a link to / as fast as possible.
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps, dir, link) = (stop.clone(), swaps.clone(), dir.clone(), link.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                nix::fcntl::renameat2(
                    nix::fcntl::AT_FDCWD,
                    &dir,
                    nix::fcntl::AT_FDCWD,
                    &link,
                    nix::fcntl::RenameFlags::RENAME_EXCHANGE,
                )
                .unwrap();
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let tally = Arc::new(RaceTally::default());
    futures::stream::iter(0..LAUNCHES)
        .map(|i| {
            let (t, tally, prefix, dir) = (t.clone(), tally.clone(), prefix.clone(), dir.clone());
            async move {
                let mut s = spec(&prefix, &format!("r{i}"));
                // Four launches at a time, each its own person's: one owner's would be held
                // to one share.
                s.owner = format!("U0RACE{i}");
                s.mounts = vec![MountSpec {
                    source: dir.display().to_string(),
                    target: "/mnt/x".into(),
                    read_only: None,
                }];
                match t.client.launch(&s).await {
                    Ok(launched) => {
                        let id = launched.container.id;
                        let pid = host_pid(&id).await;
                        // What the container sees, read through its own root.
                        let seen: Vec<String> =
                            std::fs::read_dir(format!("/proc/{pid}/root/mnt/x"))
                                .unwrap()
                                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                                .collect();
                        if seen == ["marker"] {
                            tally.inside.fetch_add(1, Ordering::Relaxed);
                        } else {
                            eprintln!("launch {i} sees {seen:?}");
                            tally.escaped.fetch_add(1, Ordering::Relaxed);
                        }
                        t.client.remove(&id, true).await.unwrap();
                    }
                    Err(ClientError::Api { status: 403, error }) => {
                        assert_eq!(error.rule.as_deref(), Some("mount-symlink"), "{error}");
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(other) => panic!("launch {i}: {other}"),
                }
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();

    let (inside, refused, escaped) = (
        tally.inside.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.escaped.load(Ordering::Relaxed),
    );
    eprintln!(
        "race: {LAUNCHES} launches during {} swaps: {inside} saw the checked directory, {refused} refused, {escaped} escaped",
        swaps.load(Ordering::Relaxed)
    );
    assert_eq!(escaped, 0);
    assert_eq!(inside + refused, LAUNCHES as u64);
    assert!(inside > 0, "the race never let a launch through");
    assert!(refused > 0, "the swapper never got in the way");
    // Every stage went with its container.
    let gone = eventually(20, || async {
        t.agent
            .state
            .engine
            .stager()
            .stages()
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "stages left behind: {:?}",
        t.agent.state.engine.stager().stages()
    );
}

#[tokio::test]
async fn an_image_cannot_forge_labels_pick_gpus_or_grant_groups() {
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("evil");
    let mut cleanup = Cleanup::new(&prefix);
    let image = format!("maison-test/{prefix}:latest");
    cleanup.images.push(image.clone());
    // An image whose /etc/group puts the container's uid in root's and disk's groups, which
    // labels itself as someone else's booking and asks for every GPU.
    let builder = format!("{prefix}-build");
    let accounts = format!(
        "printf 'root:x:0:0::/:/bin/sh\\nu:x:{TEST_UID}:{TEST_UID}::/:/bin/sh\\n' > /etc/passwd; printf 'root:x:0:u\\ndisk:x:6:u\\n' > /etc/group"
    );
    docker_cli(&["run", "--name", &builder, TEST_IMAGE, "sh", "-c", &accounts]);
    docker_cli(&[
        "commit",
        "-c",
        "LABEL maison.booking=999 maison.owner_name=Mallory maison.owner=UMALLORY maison.mount_stage=s0",
        "-c",
        "ENV NVIDIA_VISIBLE_DEVICES=all",
        "-c",
        "ENV NVIDIA_MOFED=enabled",
        &builder,
        &image,
    ]);
    docker_cli(&["rm", &builder]);

    let mut s = spec(&prefix, "victim");
    s.image = image.clone();
    s.booking = None;
    s.gpus = vec![1];
    let launched = t.client.launch(&s).await.expect("launch");
    let c = &launched.container;
    let m = c.maison.as_ref().unwrap();
    assert_eq!(m.owner, "U0TEST");
    assert_eq!(m.owner_name.as_deref(), Some("test user"));
    assert_eq!(m.booking, None, "the image's booking label leaked");

    let inspect = docker()
        .inspect_container(&c.id, None::<InspectContainerOptions>)
        .await
        .unwrap();
    let config = inspect.config.unwrap();
    let container_labels = config.labels.unwrap();
    assert_eq!(container_labels[labels::BOOKING], "");
    assert_eq!(container_labels[labels::MOUNT_STAGE], "");
    let env = config.env.unwrap();
    let gpu1 = &t.agent.state.sampler.probe().info().gpus[1].uuid;
    assert!(
        env.contains(&format!("NVIDIA_VISIBLE_DEVICES={gpu1}")),
        "{env:?}"
    );
    assert!(!env.contains(&"NVIDIA_VISIBLE_DEVICES=all".to_string()));
    // The container's own setting, not the image's, reaches the NVIDIA toolkit.
    assert!(
        env.contains(&"NVIDIA_MOFED=disabled".to_string()),
        "{env:?}"
    );
    assert!(
        !env.contains(&"NVIDIA_MOFED=enabled".to_string()),
        "{env:?}"
    );
    assert_eq!(config.user.as_deref(), Some("4242:4242"));

    let hc = inspect.host_config.unwrap();
    let limits = c.limits.expect("the agent reports the limits it set");
    assert_eq!(hc.pids_limit, Some(limits.pids));
    assert_eq!(hc.memory, Some(limits.memory_bytes as i64));
    assert_eq!(hc.shm_size, Some(limits.shm_bytes as i64));
    assert_eq!(hc.nano_cpus, Some(limits.cpu_millis as i64 * 1_000_000));
    let logs = hc.log_config.expect("a log configuration");
    assert_eq!(logs.typ.as_deref(), Some("json-file"));
    assert_eq!(
        logs.config.unwrap().get("max-size").map(String::as_str),
        Some("50m")
    );

    // The kernel's view of the running process: the owner's ids, no extra groups, nothing to gain.
    let pid = host_pid(&c.id).await;
    assert_eq!(
        proc_status(pid, "Uid").split_whitespace().next(),
        Some("4242")
    );
    assert_eq!(
        proc_status(pid, "Gid").split_whitespace().next(),
        Some("4242")
    );
    let groups = proc_status(pid, "Groups");
    assert!(
        groups.split_whitespace().all(|g| g == "4242"),
        "supplementary groups {groups:?}"
    );
    assert_eq!(proc_status(pid, "CapEff"), "0000000000000000");
    assert_eq!(proc_status(pid, "NoNewPrivs"), "1");
    t.agent.shutdown().await;
}

/// The pids cgroup directory of a process (cgroup v1 or v2), found once: the container's
/// cgroup outlives any one of its processes.
fn pids_dir(pid: i64) -> String {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    cgroups
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers
                .split(',')
                .any(|c| c == "pids")
                .then(|| format!("/sys/fs/cgroup/pids{path}"))
                .or_else(|| {
                    controllers
                        .is_empty()
                        .then(|| format!("/sys/fs/cgroup{path}"))
                })
        })
        .expect("the process is in a pids cgroup")
}

fn pids_file(dir: &str, file: &str) -> String {
    std::fs::read_to_string(format!("{dir}/{file}"))
        .unwrap_or_else(|e| panic!("reading {dir}/{file}: {e}"))
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_working_in_proc_is_not_launched() {
    let t = TestAgent::start().await;
    t.wait_live().await;
    let prefix = common::unique_prefix("workdir");
    let mut cleanup = Cleanup::new(&prefix);
    // With runc before 1.1.12 (CVE-2024-21626) the first process would start in a directory
    // of the host, outside the container's root.
    let image = format!("maison-test/{prefix}:escape");
    cleanup.images.push(image.clone());
    let builder = format!("{prefix}-build");
    docker_cli(&["create", "--name", &builder, TEST_IMAGE, "true"]);
    docker_cli(&["commit", "-c", "WORKDIR /proc/self/fd/7", &builder, &image]);
    docker_cli(&["rm", &builder]);

    let mut s = spec(&prefix, "escape");
    s.image = image.clone();
    let err = t
        .client
        .launch(&s)
        .await
        .expect_err("a working directory in /proc");
    assert_eq!(err.rule(), Some("image-workdir"), "{err}");
    assert!(err.to_string().contains("/proc/self/fd/7"), "{err}");
    assert!(
        docker_names(&format!("{prefix}-escape")).is_empty(),
        "a refused launch left a container"
    );
    t.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launching_again_does_not_multiply_what_one_person_holds() {
    let t = TestAgent::start().await;
    t.wait_live().await;
    let prefix = common::unique_prefix("share");
    let _cleanup = Cleanup::new(&prefix);
    let on = |suffix: &str, gpus: &[u32]| {
        let mut s = spec(&prefix, suffix);
        s.gpus = gpus.to_vec();
        s
    };
    // A training job and a notebook beside it on the one booked GPU: twice its share.
    t.client.launch(&on("train", &[0])).await.expect("first");
    t.client
        .launch(&on("notebook", &[0]))
        .await
        .expect("second");

    // A third on that GPU, or one without GPUs, would be a third GPU's worth.
    for (suffix, gpus) in [("third", &[0][..]), ("cpu", &[][..])] {
        let err = t
            .client
            .launch(&on(suffix, gpus))
            .await
            .expect_err("a third share");
        assert_eq!(err.rule(), Some("share-used"), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("({prefix}-train, {prefix}-notebook)"))
                || err
                    .to_string()
                    .contains(&format!("({prefix}-notebook, {prefix}-train)")),
            "{err}"
        );
        assert!(
            docker_names(&format!("{prefix}-{suffix}")).is_empty(),
            "a refused launch left a container"
        );
    }
    // Someone else has their own share.
    let mut neighbour = on("neighbour", &[0]);
    neighbour.owner = "U0NEIGHBOUR".into();
    t.client.launch(&neighbour).await.expect("someone else");

    // Another GPU brings its share: with two GPUs used, four GPUs' worth, two of them held.
    // Three launches at once on it: the count and the create are one step, so two fit.
    let racers: Vec<_> = (0..3).map(|i| on(&format!("race{i}"), &[1])).collect();
    let results = futures::future::join_all(racers.iter().map(|s| t.client.launch(s))).await;
    let fitted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(fitted, 2, "{results:?}");
    let refused = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(refused.rule(), Some("share-used"), "{refused}");
    t.agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_bomb_stops_at_the_pids_limit_and_the_host_stays_responsive() {
    let t = TestAgent::start_with(|c| c.resources.pids_limit = 64).await;
    t.wait_live().await;
    let prefix = common::unique_prefix("bomb");
    let _cleanup = Cleanup::new(&prefix);
    let mut bomb = spec(&prefix, "bomb");
    bomb.command = vec![
        "sh".into(),
        "-c".into(),
        // The first process execs instead of forking its sleep: at the limit a fork of its
        // own would fail and end the container before the test has looked.
        "bomb() { bomb | bomb & }; bomb & exec sleep 600".into(),
    ];
    let launched = t.client.launch(&bomb).await.expect("launch");
    let pid = host_pid(&launched.container.id).await;
    let cgroup = pids_dir(pid);
    assert_eq!(pids_file(&cgroup, "pids.max"), "64");
    // The bomb reaches the ceiling and keeps pushing against it.
    let hit = eventually(20, || async {
        let events = pids_file(&cgroup, "pids.events");
        let refused: u64 = events
            .strip_prefix("max ")
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        (refused > 0).then_some(refused)
    })
    .await;
    assert!(hit.is_some(), "the fork bomb never hit the pids limit");
    let current: u64 = pids_file(&cgroup, "pids.current").parse().unwrap();
    assert!(current <= 64, "{current} processes");

    // Meanwhile the agent answers, the host forks, and a neighbour starts and runs.
    t.client.healthz().await.expect("the agent answers");
    assert!(
        std::process::Command::new("true")
            .status()
            .unwrap()
            .success()
    );
    let mut neighbour = spec(&prefix, "neighbour");
    neighbour.owner = "U0NEIGHBOUR".into();
    neighbour.command = vec!["sh".into(), "-c".into(), "echo alive; sleep 300".into()];
    let n = t.client.launch(&neighbour).await.expect("neighbour launch");
    let logs = eventually(20, || async {
        let out = docker_cli(&["logs", &n.container.id]);
        out.contains("alive").then_some(out)
    })
    .await;
    assert!(logs.is_some(), "the neighbour container did not run");
    t.client
        .remove(&launched.container.id, true)
        .await
        .expect("the bomb is removed");
    t.agent.shutdown().await;
}

#[tokio::test]
async fn a_thousand_idle_sockets_do_not_lock_the_bot_out() {
    let t = TestAgent::start_with(|_| {}).await;
    let mut idle = Vec::new();
    // A neighbour on the network (another address) opens sockets and never speaks TLS.
    for _ in 0..1000 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        idle.push(socket.connect(t.agent.addr).await.unwrap());
    }
    let answered = tokio::time::timeout(Duration::from_secs(10), t.client.healthz()).await;
    let health = answered
        .expect("the bot's call timed out")
        .expect("the bot's call failed");
    assert_eq!(health.status, "ok");
    t.client
        .host()
        .await
        .expect("and another call on the same client");
    drop(idle);
    t.agent.shutdown().await;
}

fn enter_socket(t: &TestAgent) -> std::path::PathBuf {
    // Other users must be able to reach the socket inside the test's private directory.
    std::fs::set_permissions(t.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::canonicalize(t.dir.path())
        .unwrap()
        .join("enter.sock")
}

async fn run_enter_as(
    uid: u32,
    socket: &Path,
    container: &str,
    input: &str,
) -> (i32, String, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_maison"))
        .args(["enter", container])
        .env("MAISON_ENTER_SOCKET", socket)
        .uid(uid)
        .gid(uid)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("maison enter did not finish")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn maison_enter_lets_the_owner_in_and_nobody_else_without_the_docker_group() {
    let t = TestAgent::start().await;
    let socket = enter_socket(&t);
    let prefix = common::unique_prefix("enter");
    let _cleanup = Cleanup::new(&prefix);
    let launched = t.client.launch(&spec(&prefix, "shell")).await.unwrap();
    let name = launched.container.name.clone();

    // The owner, an unprivileged user outside the docker group, gets a shell and its exit code.
    let no_docker = std::process::Command::new("sh")
        .args(["-c", "test -w /var/run/docker.sock"])
        .uid(TEST_UID)
        .gid(TEST_UID)
        .status()
        .unwrap();
    assert!(!no_docker.success(), "the test user can reach Docker");
    let (code, out, err) = run_enter_as(
        TEST_UID,
        &socket,
        &name,
        "id -u; echo hello-$((6*7)); exit 7\n",
    )
    .await;
    assert_eq!(code, 7, "stdout {out:?} stderr {err:?}");
    assert!(out.contains("4242\n"), "{out:?}");
    assert!(out.contains("hello-42"), "{out:?}");

    // Anybody else is refused, and nothing runs.
    let (code, out, err) = run_enter_as(4343, &socket, &name, "touch /tmp/intruder\n").await;
    assert_eq!(code, 255);
    assert!(err.contains("not yours"), "{err:?}");
    assert!(out.is_empty());
    let (code, _, err) = run_enter_as(TEST_UID, &socket, "no-such-container", "").await;
    assert_eq!(code, 255);
    assert!(err.contains("no container called"), "{err:?}");
    t.agent.shutdown().await;
}

/// The host PID of the process whose command line contains `marker`.
fn find_process(marker: &str) -> Option<i64> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i64 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        String::from_utf8_lossy(&cmdline)
            .contains(marker)
            .then_some(pid)
    })
}

/// (columns, rows) of the terminal on a process's stdin.
fn terminal_size_of(pid: i64) -> (u16, u16) {
    let tty = std::fs::File::open(format!("/proc/{pid}/fd/0")).unwrap();
    let size = rustix::termios::tcgetwinsize(&tty).unwrap();
    (size.ws_col, size.ws_row)
}

/// Reads frames until `want` appears in the output or the session ends; returns all output.
async fn read_until(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
    want: &str,
    output: &mut String,
) -> Option<i32> {
    loop {
        if output.contains(want) {
            return None;
        }
        match tokio::time::timeout(Duration::from_secs(20), Frame::read_from(reader))
            .await
            .expect("the session went quiet")
            .unwrap()
        {
            Some(Frame::Stdout(b)) | Some(Frame::Stderr(b)) => {
                output.push_str(&String::from_utf8_lossy(&b))
            }
            Some(Frame::Exit(code)) => return Some(code),
            Some(_) => {}
            None => panic!("session ended without an exit code; output {output:?}"),
        }
    }
}

#[tokio::test]
async fn maison_enter_passes_the_terminal_size_and_its_changes() {
    let t = TestAgent::start().await;
    let socket = enter_socket(&t);
    let prefix = common::unique_prefix("tty");
    let _cleanup = Cleanup::new(&prefix);
    let launched = t.client.launch(&spec(&prefix, "tty")).await.unwrap();

    // Root (this test) may enter; the exec still runs as the container's user.
    let stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::new(read_half);
    let request = EnterRequest {
        container: launched.container.name.clone(),
        command: vec![
            "sh".into(),
            "-c".into(),
            "id -u; read x; read y; exit 3".into(),
            "tty-size-probe".into(),
        ],
        tty: true,
        cols: 100,
        rows: 40,
    };
    let mut line = serde_json::to_vec(&request).unwrap();
    line.push(b'\n');
    write_half.write_all(&line).await.unwrap();
    let mut answer = String::new();
    reader.read_line(&mut answer).await.unwrap();
    let reply: EnterReply = serde_json::from_str(&answer).unwrap();
    assert!(reply.ok, "{reply:?}");

    let mut output = String::new();
    assert_eq!(read_until(&mut reader, "4242", &mut output).await, None);
    // The terminal as the kernel sees it, read from the host through the shell's stdin.
    let shell = find_process("tty-size-probe").expect("the exec's shell is running");
    assert_eq!(terminal_size_of(shell), (100, 40));
    Frame::Resize {
        cols: 120,
        rows: 50,
    }
    .write_to(&mut write_half)
    .await
    .unwrap();
    let resized = eventually(10, || async {
        (terminal_size_of(shell) == (120, 50)).then_some(())
    })
    .await;
    assert!(resized.is_some(), "{:?}", terminal_size_of(shell));
    Frame::Stdin(b"a\nb\n".to_vec())
        .write_to(&mut write_half)
        .await
        .unwrap();
    let code = read_until(&mut reader, "\u{0}never", &mut output).await;
    assert_eq!(code, Some(3), "{output:?}");
    assert!(docker_names(&prefix).len() == 1);
    t.agent.shutdown().await;
}
