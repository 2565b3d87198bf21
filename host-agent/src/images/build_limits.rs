//! Limits for the containers an image build's steps run in.
//!
//! Each `RUN` step runs as root in a container Docker makes for it. Docker's build API takes
//! memory and CPU limits for those containers, but no process limit, so a fork bomb in a
//! Dockerfile would reach the host's. The agent therefore gives a cgroup of its own a process
//! limit before the build and has Docker place every step's container under it
//! (`cgroupparent`); memory and CPU are set on each step's container. Both are sized like a
//! container holding no GPUs.
//!
//! bollard's typed build options have no `cgroupparent` and take memory as an `i32` (at most
//! 2 GiB), so the three values are added to the build request's query on its way out.

use std::path::Path;
use std::process::Command;

use bollard::Docker;
use bollard::models::{SystemInfo, SystemInfoCgroupDriverEnum, SystemInfoCgroupVersionEnum};

use maison_agent_api::ResourceLimits;

/// Where the kernel's cgroup file systems are mounted on every distribution we know of.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// How the engine's containers are put into cgroups, which decides how the agent makes its
/// own group and what Docker wants to be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// cgroup v1 with Docker's own `cgroupfs` driver: one directory tree per controller.
    V1,
    /// The unified cgroup v2 tree with the `cgroupfs` driver.
    V2,
    /// systemd owns the tree (v1 or v2) and Docker's parents must be slices.
    Systemd,
}

impl CgroupLayout {
    pub fn of(info: &SystemInfo) -> Result<CgroupLayout, String> {
        match (&info.cgroup_driver, &info.cgroup_version) {
            (Some(SystemInfoCgroupDriverEnum::SYSTEMD), _) => Ok(CgroupLayout::Systemd),
            (Some(SystemInfoCgroupDriverEnum::CGROUPFS), Some(SystemInfoCgroupVersionEnum::_2)) => {
                Ok(CgroupLayout::V2)
            }
            // Engines before cgroup v2 support do not report a version.
            (
                Some(SystemInfoCgroupDriverEnum::CGROUPFS),
                Some(SystemInfoCgroupVersionEnum::_1 | SystemInfoCgroupVersionEnum::EMPTY) | None,
            ) => Ok(CgroupLayout::V1),
            (driver, version) => Err(format!(
                "the engine reports cgroup driver {driver:?} and version {version:?}, so the agent cannot bound a build's processes"
            )),
        }
    }
}

/// Makes (or updates) the cgroup `name` with `pids` as the most processes all builds under it
/// may hold at once, and answers what Docker's `cgroupparent` must say to use it.
pub fn prepare_parent(
    layout: CgroupLayout,
    cgroup_root: &Path,
    name: &str,
    pids: i64,
) -> Result<String, String> {
    let write = |path: &Path, value: &str| {
        std::fs::write(path, value)
            .map_err(|e| format!("writing {value:?} to {}: {e}", path.display()))
    };
    // Both cgroupfs layouts end the same way: the group made, its limit written, and Docker
    // told the group's path from the root.
    let group = match layout {
        CgroupLayout::Systemd => return limited_slice(name, pids),
        CgroupLayout::V1 => cgroup_root.join("pids").join(name),
        CgroupLayout::V2 => {
            // A child only has a pids.max when its parent hands the controller down. Docker
            // has usually done so at the root already; writing it again changes nothing.
            let root_control = cgroup_root.join("cgroup.subtree_control");
            let handed_down = std::fs::read_to_string(&root_control)
                .is_ok_and(|s| s.split_whitespace().any(|c| c == "pids"));
            if !handed_down {
                write(&root_control, "+pids")?;
            }
            cgroup_root.join(name)
        }
    };
    std::fs::create_dir_all(&group).map_err(|e| format!("making {}: {e}", group.display()))?;
    write(&group.join("pids.max"), &pids.to_string())?;
    Ok(format!("/{name}"))
}

/// The systemd slice `name.slice` with `pids` as its most tasks; answers the slice's name.
fn limited_slice(name: &str, pids: i64) -> Result<String, String> {
    let slice = format!("{name}.slice");
    systemctl(&[
        "set-property",
        "--runtime",
        &slice,
        &format!("TasksMax={pids}"),
    ])?;
    // Read back, so a systemd that took the call but not the setting is caught here rather
    // than by a fork bomb.
    let set = systemctl(&["show", "--property=TasksMax", "--value", &slice])?;
    if set.trim() != pids.to_string() {
        return Err(format!(
            "systemd reports TasksMax={} for {slice} after it was set to {pids}",
            set.trim()
        ));
    }
    Ok(slice)
}

fn systemctl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| format!("running systemctl {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "systemctl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The query a build request gains: the parent cgroup, and memory (with no swap on top) and
/// CPU for each step's container.
pub fn build_query(parent: &str, limits: &ResourceLimits) -> String {
    // A period of 100 ms, Docker's own default; the quota is the CPU time allowed in it.
    let cpu_quota_us = limits.cpu_millis * 100;
    // The parent is a configured name checked to hold only letters, digits, `-` and `_`,
    // with a `/` or `.slice` added here: nothing in it needs escaping in a query.
    format!(
        "cgroupparent={parent}&memory={memory}&memswap={memory}&cpuperiod=100000&cpuquota={cpu_quota_us}",
        memory = limits.memory_bytes,
    )
}

/// `docker` with `query` added to every build request it sends (and nothing else changed).
pub fn with_build_query(docker: Docker, query: String) -> Docker {
    docker.with_request_modifier(move |mut request| {
        if request.uri().path().ends_with("/build") {
            let uri = request.uri().to_string();
            let joiner = if request.uri().query().is_some() {
                '&'
            } else {
                '?'
            };
            match format!("{uri}{joiner}{query}").parse() {
                Ok(limited) => *request.uri_mut() = limited,
                // The query is made of digits and a checked name, so this cannot happen;
                // if it did, the engine must not build without the limits.
                Err(e) => panic!("the build limits do not fit in {uri}: {e}"),
            }
        }
        request
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(
        driver: SystemInfoCgroupDriverEnum,
        version: Option<SystemInfoCgroupVersionEnum>,
    ) -> SystemInfo {
        SystemInfo {
            cgroup_driver: Some(driver),
            cgroup_version: version,
            ..Default::default()
        }
    }

    #[test]
    fn the_layout_follows_the_engine_driver_and_version() {
        use SystemInfoCgroupDriverEnum as D;
        use SystemInfoCgroupVersionEnum as V;
        assert_eq!(
            CgroupLayout::of(&info(D::CGROUPFS, Some(V::_1))),
            Ok(CgroupLayout::V1)
        );
        assert_eq!(
            CgroupLayout::of(&info(D::CGROUPFS, None)),
            Ok(CgroupLayout::V1)
        );
        assert_eq!(
            CgroupLayout::of(&info(D::CGROUPFS, Some(V::_2))),
            Ok(CgroupLayout::V2)
        );
        assert_eq!(
            CgroupLayout::of(&info(D::SYSTEMD, Some(V::_2))),
            Ok(CgroupLayout::Systemd)
        );
        assert_eq!(
            CgroupLayout::of(&info(D::SYSTEMD, Some(V::_1))),
            Ok(CgroupLayout::Systemd)
        );
        assert!(CgroupLayout::of(&info(D::NONE, Some(V::_2))).is_err());
    }

    #[test]
    fn a_v1_parent_gets_its_process_limit_in_the_pids_tree() {
        let root = tempfile::tempdir().unwrap();
        let parent = prepare_parent(CgroupLayout::V1, root.path(), "maison-build", 512).unwrap();
        assert_eq!(parent, "/maison-build");
        let limit =
            std::fs::read_to_string(root.path().join("pids/maison-build/pids.max")).unwrap();
        assert_eq!(limit, "512");
        // Again with another limit: the group is kept, the limit follows the configuration.
        prepare_parent(CgroupLayout::V1, root.path(), "maison-build", 64).unwrap();
        let limit =
            std::fs::read_to_string(root.path().join("pids/maison-build/pids.max")).unwrap();
        assert_eq!(limit, "64");
    }

    #[test]
    fn a_v2_parent_has_the_pids_controller_handed_down_first() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("cgroup.subtree_control"), "cpu memory").unwrap();
        let parent = prepare_parent(CgroupLayout::V2, root.path(), "maison-build", 512).unwrap();
        assert_eq!(parent, "/maison-build");
        // A real cgroup file adds the controller; a plain file keeps what was written last.
        let control = std::fs::read_to_string(root.path().join("cgroup.subtree_control")).unwrap();
        assert_eq!(control, "+pids");
        let limit = std::fs::read_to_string(root.path().join("maison-build/pids.max")).unwrap();
        assert_eq!(limit, "512");

        // Already handed down: the root's control file is left alone.
        std::fs::write(
            root.path().join("cgroup.subtree_control"),
            "cpu pids memory",
        )
        .unwrap();
        prepare_parent(CgroupLayout::V2, root.path(), "maison-build", 512).unwrap();
        let control = std::fs::read_to_string(root.path().join("cgroup.subtree_control")).unwrap();
        assert_eq!(control, "cpu pids memory");
    }

    #[test]
    fn a_parent_that_cannot_be_made_is_an_error_naming_the_path() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join("pids"),
            "a file where a directory should be",
        )
        .unwrap();
        let e = prepare_parent(CgroupLayout::V1, root.path(), "maison-build", 512).unwrap_err();
        assert!(e.contains("pids/maison-build"), "{e}");
    }

    #[test]
    fn the_query_carries_the_parent_memory_without_swap_and_cpu() {
        let limits = ResourceLimits {
            pids: 4096,
            memory_bytes: 8 << 30,
            cpu_millis: 2500,
            shm_bytes: 0,
        };
        assert_eq!(
            build_query("/maison-build", &limits),
            "cgroupparent=/maison-build&memory=8589934592&memswap=8589934592&cpuperiod=100000&cpuquota=250000"
        );
    }
}
