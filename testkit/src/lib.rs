//! Test support shared by the agent's own tests and the end-to-end scenarios.
//!
//! [`PrivateDocker`]: a Docker daemon owned by one test, for tests that stop and restart the
//! engine or need a second "host" whose images are its own, without touching the machine's
//! daemon or other tests.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A Docker daemon owned by the test: its own data root and socket, in a network namespace
/// of its own. Stopped (and its containers removed) when dropped. Needs root, like the agent.
#[derive(Debug)]
pub struct PrivateDocker {
    dir: tempfile::TempDir,
    daemon: Option<Child>,
}

impl PrivateDocker {
    /// Starts a daemon and loads `images` from the machine's engine into it.
    pub fn start(images: &[&str]) -> PrivateDocker {
        let dir = tempfile::tempdir().unwrap();
        // An empty configuration: the machine's /etc/docker/daemon.json names its own data root.
        std::fs::write(dir.path().join("daemon.json"), "{}").unwrap();
        let mut docker = PrivateDocker { dir, daemon: None };
        docker.run();
        for image in images {
            let loaded = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "docker save {image} | docker -H unix://{} load",
                    docker.socket().display()
                ))
                .status()
                .unwrap();
            assert!(loaded.success(), "loading {image} into the test's daemon");
        }
        docker
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    /// The docker CLI against this daemon.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .output()
            .unwrap()
    }

    /// Starts the daemon (again, after [`PrivateDocker::stop`]) and waits until it answers.
    pub fn run(&mut self) {
        let d = self.dir.path();
        let log_path = d.join("dockerd.log");
        // Appended: a restarted daemon's log follows the first one's.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
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
            if self.cli(&["version"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the test's Docker daemon did not start: see {}",
            log_path.display()
        );
    }

    /// Stops the daemon as a restart would (SIGTERM, containers stopped), and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateDocker {
    fn drop(&mut self) {
        if self.daemon.is_some() {
            let ids = String::from_utf8_lossy(&self.cli(&["ps", "-aq"]).stdout).into_owned();
            for id in ids.lines() {
                let _ = self.cli(&["rm", "-f", id]);
            }
        }
        self.stop();
    }
}
