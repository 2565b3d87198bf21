//! GPU processes are host PIDs; `/proc/<pid>/cgroup` says which container a PID
//! belongs to. Parsing is pure so every format can be tested on sample strings.

use std::path::Path;

/// The Docker container id found in the content of `/proc/<pid>/cgroup`.
///
/// Understands cgroup v1 (`N:controller:/docker/<id>`) and v2 (`0::/…`), with
/// the cgroupfs driver (`/docker/<id>`) and the systemd driver
/// (`/system.slice/docker-<id>.scope`), including rootless paths under
/// `user.slice`. For Docker-in-Docker the outermost container is returned: that
/// is the one the host's Docker knows.
pub fn container_id_from_cgroup(content: &str) -> Option<String> {
    content.lines().find_map(|line| {
        // hierarchy-ID:controller-list:cgroup-path; the path may itself contain ':'.
        let mut parts = line.splitn(3, ':');
        let (_, _, path) = (parts.next()?, parts.next()?, parts.next()?);
        container_id_from_path(path)
    })
}

fn container_id_from_path(path: &str) -> Option<String> {
    let mut previous = "";
    for component in path.split('/') {
        if previous == "docker" && is_container_id(component) {
            return Some(component.to_string());
        }
        if let Some(id) = component
            .strip_prefix("docker-")
            .and_then(|rest| rest.strip_suffix(".scope"))
            && is_container_id(id)
        {
            return Some(id.to_string());
        }
        previous = component;
    }
    None
}

fn is_container_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Reads `/proc/<pid>/cgroup` under `proc_root` (normally `/proc`). A process that
/// has exited meanwhile simply has no container.
pub fn container_of_pid(proc_root: &Path, pid: u32) -> Option<String> {
    let content = std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup")).ok()?;
    container_id_from_cgroup(&content)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211";

    #[test]
    fn cgroup_v1_cgroupfs_driver() {
        let content = format!(
            "12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/system.slice/containerd.service\n"
        );
        assert_eq!(container_id_from_cgroup(&content).as_deref(), Some(ID));
    }

    #[test]
    fn cgroup_v1_systemd_driver() {
        let content = format!(
            "11:devices:/system.slice/docker-{ID}.scope\n4:cpu,cpuacct:/system.slice/docker-{ID}.scope\n"
        );
        assert_eq!(container_id_from_cgroup(&content).as_deref(), Some(ID));
    }

    #[test]
    fn cgroup_v2_systemd_driver() {
        let content = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(container_id_from_cgroup(&content).as_deref(), Some(ID));
    }

    #[test]
    fn cgroup_v2_cgroupfs_driver_and_nested_init_scope() {
        assert_eq!(
            container_id_from_cgroup(&format!("0::/docker/{ID}\n")).as_deref(),
            Some(ID)
        );
        assert_eq!(
            container_id_from_cgroup(&format!("0::/system.slice/docker-{ID}.scope/init.scope\n"))
                .as_deref(),
            Some(ID)
        );
    }

    #[test]
    fn cgroup_v2_rootless() {
        let content = format!(
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/docker-{ID}.scope\n"
        );
        assert_eq!(container_id_from_cgroup(&content).as_deref(), Some(ID));
    }

    #[test]
    fn docker_in_docker_returns_outer_container() {
        let inner = "a".repeat(64);
        let content = format!("0::/docker/{ID}/docker/{inner}\n");
        assert_eq!(container_id_from_cgroup(&content).as_deref(), Some(ID));
    }

    #[test]
    fn host_processes_and_other_runtimes_have_no_container() {
        for content in [
            "0::/user.slice/user-1000.slice/session-3.scope\n",
            "12:memory:/\n0::/\n",
            "0::/system.slice/docker.service\n",
            "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-0123.scope\n",
            "0::/docker/not-an-id\n",
            "0::/docker-ABCDEF.scope\n",
            "",
            "garbage without colons",
        ] {
            assert_eq!(container_id_from_cgroup(content), None, "{content:?}");
        }
    }

    #[test]
    fn reads_from_a_fake_proc_tree() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("42")).unwrap();
        std::fs::write(
            tmp.path().join("42/cgroup"),
            format!("0::/system.slice/docker-{ID}.scope\n"),
        )
        .unwrap();
        assert_eq!(container_of_pid(tmp.path(), 42).as_deref(), Some(ID));
        assert_eq!(container_of_pid(tmp.path(), 43), None);
    }
}
