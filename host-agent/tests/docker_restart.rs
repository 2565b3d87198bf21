//! The Docker daemon restarted under a running agent. The test runs a Docker daemon of its own
//! (its own data root and socket, loaded with the test image), so it can stop and start it
//! without touching the machine's daemon or other tests. While the daemon is down the agent
//! says so instead of serving a stale listing; when it is back the agent reconnects by itself,
//! lists everything again, forgets nothing Maison owns, and follows the events stream again.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TEST_IMAGE, TestAgent, eventually, spec};
use maison_agent_api::ContainerState;

/// A Docker daemon owned by the test.
struct PrivateDocker {
    dir: tempfile::TempDir,
    daemon: Option<Child>,
}

impl PrivateDocker {
    fn start() -> PrivateDocker {
        let dir = tempfile::tempdir().unwrap();
        // An empty configuration: the machine's /etc/docker/daemon.json names its own data root.
        std::fs::write(dir.path().join("daemon.json"), "{}").unwrap();
        let mut docker = PrivateDocker { dir, daemon: None };
        docker.run();
        let loaded = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker save {TEST_IMAGE} | docker -H unix://{} load",
                docker.socket().display()
            ))
            .status()
            .unwrap();
        assert!(
            loaded.success(),
            "loading the test image into the test's daemon"
        );
        docker
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    fn cli(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    }

    /// Starts the daemon and waits until it answers.
    fn run(&mut self) {
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("dockerd.log"))
            .unwrap();
        // In a network namespace of its own: a second daemon in the machine's namespace would
        // manage (and on its way down, delete) the same `docker0` bridge as the machine's.
        let child = Command::new("unshare")
            .arg("--net")
            .arg("dockerd")
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", self.socket().display()))
            .args(["--iptables=false", "--ip6tables=false"])
            .args(["--shutdown-timeout", "2"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd runs under unshare (the test needs root, like the agent)");
        self.daemon = Some(child);
        for _ in 0..300 {
            if self.cli(&["version"]).0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the test's Docker daemon did not start: see {}",
            log_path(d).display()
        );
    }

    /// Stops the daemon as a restart would (SIGTERM, containers stopped), and waits for it.
    fn stop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("dockerd.log")
}

impl Drop for PrivateDocker {
    fn drop(&mut self) {
        if self.daemon.is_some() {
            let (_, ids) = self.cli(&["ps", "-aq"]);
            for id in ids.lines() {
                let _ = self.cli(&["rm", "-f", id]);
            }
        }
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_rides_out_a_docker_restart() {
    common::init();
    let mut engine = PrivateDocker::start();
    let socket = engine.socket();
    let t = TestAgent::start_with(move |c| c.docker.socket = socket).await;
    t.wait_live().await;
    let prefix = common::unique_prefix("restart");

    let kept = t
        .client
        .launch(&spec(&prefix, "kept"))
        .await
        .expect("launch before the restart");
    assert_eq!(kept.container.state, ContainerState::Running);

    engine.stop();
    // Down: the agent says so rather than serving what it saw last, and a launch is refused.
    let noticed = eventually(20, || async {
        match t.client.containers().await {
            Err(e) if e.to_string().contains("not in sync with Docker") => Some(()),
            _ => None,
        }
    })
    .await;
    assert!(noticed.is_some(), "the agent never noticed Docker was gone");
    let refused = t.client.launch(&spec(&prefix, "during")).await;
    assert!(
        refused.is_err(),
        "a launch while Docker is down cannot succeed"
    );

    let relists_before = t.full_relists();
    engine.run();
    // Back: reconnected and re-listed by itself; the container Maison made is still known,
    // with its owner, stopped by the restart.
    let found = eventually(30, || async {
        let containers = t.client.containers().await.ok()?;
        containers.into_iter().find(|c| c.id == kept.container.id)
    })
    .await
    .expect("the container launched before the restart is listed again");
    assert_eq!(found.maison.map(|m| m.owner).as_deref(), Some("U0TEST"));
    assert_ne!(
        found.state,
        ContainerState::Running,
        "the restart stopped it"
    );
    assert!(
        t.full_relists() > relists_before,
        "the agent listed everything again"
    );

    // The events stream follows the daemon again: a container made behind the agent's back
    // appears without another full listing.
    let relists_after = t.full_relists();
    let outsider = format!("{prefix}-outsider");
    let (made, _) = engine.cli(&["create", "--name", &outsider, TEST_IMAGE, "true"]);
    assert!(made);
    let seen = eventually(20, || async {
        let containers = t.client.containers().await.ok()?;
        containers.iter().any(|c| c.name == outsider).then_some(())
    })
    .await;
    assert!(
        seen.is_some(),
        "the agent missed an event after the restart"
    );
    assert_eq!(
        t.full_relists(),
        relists_after,
        "seen through events, not a re-listing"
    );

    // And launching works again.
    let after = t
        .client
        .launch(&spec(&prefix, "after"))
        .await
        .expect("launch after the restart");
    assert_eq!(after.container.state, ContainerState::Running);
    t.agent.shutdown().await;
}
