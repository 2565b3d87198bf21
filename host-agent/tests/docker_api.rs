//! The API against the machine's real Docker engine. Needs the image built by
//! scripts/build-test-image.sh; fails (does not skip) without it.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, InspectContainerOptions,
    ListContainersOptionsBuilder,
};
use common::{Cleanup, TEST_IMAGE, TestAgent, docker, docker_names, eventually, spec};
use maison_agent_api::{
    ClientError, ContainerState, ErrorCode, ImageSource, LaunchSpec, MountSpec, labels,
};

fn api_error(r: Result<impl std::fmt::Debug, ClientError>) -> (u16, maison_agent_api::ApiError) {
    match r {
        Err(ClientError::Api { status, error }) => (status, error),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn launch_with_labels_and_bind_mount_then_list_stop_remove() {
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("life");
    let _cleanup = Cleanup::new(&prefix);
    let home = t.home.join("ada");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("hello.txt"), "hello from the host\n").unwrap();
    // The container runs as its owner, who owns this home directory.
    std::os::unix::fs::chown(&home, Some(common::TEST_UID), Some(common::TEST_UID)).unwrap();
    let mut s = spec(&prefix, "a");
    s.image_source = ImageSource::Catalog;
    s.mounts = vec![MountSpec {
        source: home.display().to_string(),
        target: "/home/ada".into(),
        read_only: None,
    }];
    s.env.insert("GREETING".into(), "bonjour".into());
    s.command = vec![
        "sh".into(),
        "-c".into(),
        "cat /home/ada/hello.txt > /home/ada/copy.txt; echo $GREETING >> /home/ada/copy.txt; sleep 300".into(),
    ];

    let launched = t.client.launch(&s).await.expect("launch");
    assert!(launched.created);
    let c = &launched.container;
    assert_eq!(c.name, format!("{prefix}-a"));
    assert_eq!(c.state, ContainerState::Running);
    assert!(c.owned);
    let m = c.maison.as_ref().unwrap();
    assert_eq!(m.owner, "U0TEST");
    assert_eq!(m.owner_name.as_deref(), Some("test user"));
    assert_eq!(m.booking.as_deref(), Some("booking-1"));
    assert_eq!(m.image_source, Some(ImageSource::Catalog));
    assert!(m.created_at.is_some());
    assert!(c.gpus.is_empty());

    // The bind mount is live and writable: the container copied the file.
    let copied = eventually(10, || async {
        std::fs::read_to_string(home.join("copy.txt"))
            .ok()
            .filter(|s| s.contains("bonjour"))
    })
    .await
    .expect("the container wrote through the bind mount");
    assert!(copied.starts_with("hello from the host"));

    // What Docker really got.
    let d = docker();
    let inspect = d
        .inspect_container(&c.id, None::<InspectContainerOptions>)
        .await
        .unwrap();
    let hc = inspect.host_config.unwrap();
    assert_eq!(hc.privileged, Some(false));
    assert!(
        hc.security_opt
            .unwrap()
            .contains(&"no-new-privileges:true".to_string())
    );
    assert!(hc.cap_add.unwrap_or_default().is_empty());
    assert!(hc.device_requests.unwrap_or_default().is_empty());
    let docker_labels = inspect.config.unwrap().labels.unwrap();
    for key in [
        labels::OWNER,
        labels::OWNER_NAME,
        labels::BOOKING,
        labels::IMAGE_SOURCE,
        labels::CREATED_AT,
    ] {
        assert!(docker_labels.contains_key(key), "label {key} missing");
    }

    let listed = t.client.containers().await.unwrap();
    let mine = listed.iter().find(|x| x.id == c.id).expect("listed");
    assert_eq!(mine.maison, c.maison);

    let stopped = t
        .client
        .stop(&c.id, Some(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(stopped.state, ContainerState::Exited);
    // Stopping again is not an error.
    t.client
        .stop(&c.name, Some(Duration::from_secs(1)))
        .await
        .unwrap();

    t.client.remove(&c.name, false).await.unwrap();
    assert!(
        !t.client
            .containers()
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == c.id)
    );
    assert!(docker_names(&prefix).is_empty());
    let (status, err) = api_error(t.client.remove(&c.id, false).await);
    assert_eq!((status, err.code), (404, ErrorCode::NotFound));
    t.agent.shutdown().await;
}

#[tokio::test]
async fn a_running_container_is_removed_only_with_force() {
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("force");
    let _cleanup = Cleanup::new(&prefix);
    let c = t
        .client
        .launch(&spec(&prefix, "f"))
        .await
        .unwrap()
        .container;
    let (status, err) = api_error(t.client.remove(&c.id, false).await);
    assert_eq!(status, 409);
    assert_eq!(err.rule.as_deref(), Some("container-running"));
    t.client.remove(&c.id, true).await.unwrap();
    assert!(docker_names(&prefix).is_empty());
    t.agent.shutdown().await;
}

#[tokio::test]
async fn the_same_idempotency_key_gives_the_same_container() {
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("idem");
    let _cleanup = Cleanup::new(&prefix);
    let s = spec(&prefix, "once");
    // Two identical requests at once (a double click), then a retry.
    let (a, b) = tokio::join!(t.client.launch(&s), t.client.launch(&s));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.container.id, b.container.id);
    assert_eq!(
        u8::from(a.created) + u8::from(b.created),
        1,
        "exactly one of the two created it"
    );
    let again = t.client.launch(&s).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.container.id, a.container.id);

    let mut filters = HashMap::new();
    let label = format!("{}={}", labels::IDEMPOTENCY_KEY, s.idempotency_key);
    filters.insert("label", vec![label.as_str()]);
    let found = docker()
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);

    // A different key is a different container.
    let other = t.client.launch(&spec(&prefix, "twice")).await.unwrap();
    assert!(other.created);
    assert_ne!(other.container.id, a.container.id);
    t.agent.shutdown().await;
}

#[tokio::test]
async fn images_show_usage_and_removal_is_refused_while_used() {
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("img");
    let mut cleanup = Cleanup::new(&prefix);
    let d = docker();
    // A private image (distinct id) so other tests' containers do not use it.
    let repo = format!("maison-test/{prefix}");
    let tag = format!("{repo}:latest");
    cleanup.images.push(tag.clone());
    d.create_container(
        Some(
            CreateContainerOptionsBuilder::new()
                .name(&format!("{prefix}-base"))
                .build(),
        ),
        ContainerCreateBody {
            image: Some(TEST_IMAGE.into()),
            cmd: Some(vec!["true".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    d.commit_container(
        CommitContainerOptionsBuilder::new()
            .container(&format!("{prefix}-base"))
            .repo(&repo)
            .tag("latest")
            .comment(&prefix)
            .build(),
        bollard::models::ContainerConfig::default(),
    )
    .await
    .unwrap();
    d.remove_container(&format!("{prefix}-base"), None)
        .await
        .unwrap();

    let image = eventually(10, || async {
        t.client
            .images()
            .await
            .ok()?
            .into_iter()
            .find(|i| i.tags.contains(&tag))
    })
    .await
    .expect("the committed image appears through the events stream");
    assert!(image.used_by.is_empty());
    assert!(!image.dangling);
    assert!(image.size_bytes > 0);

    let mut s = spec(&prefix, "user");
    s.image = tag.clone();
    let c = t.client.launch(&s).await.unwrap().container;
    assert_eq!(c.image_id, image.id);
    let images = t.client.images().await.unwrap();
    let listed = images.iter().find(|i| i.id == image.id).unwrap();
    assert_eq!(listed.used_by, vec![c.id.clone()]);

    let (status, err) = api_error(t.client.remove_image(&tag).await);
    assert_eq!(status, 409);
    assert_eq!(err.rule.as_deref(), Some("image-in-use"));
    assert!(err.message.contains(&c.name), "{}", err.message);
    // Still there.
    assert!(d.inspect_image(&tag).await.is_ok());

    // Stopped containers count as users too.
    t.client
        .stop(&c.id, Some(Duration::from_secs(1)))
        .await
        .unwrap();
    let (status, _) = api_error(t.client.remove_image(&image.id).await);
    assert_eq!(status, 409);

    t.client.remove(&c.id, false).await.unwrap();
    t.client
        .remove_image(&tag)
        .await
        .expect("unused image removed");
    assert!(d.inspect_image(&tag).await.is_err());
    assert!(
        !t.client
            .images()
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == image.id)
    );
    let (status, _) = api_error(t.client.remove_image(&tag).await);
    assert_eq!(status, 404);
    t.agent.shutdown().await;
}

#[tokio::test]
async fn a_container_made_outside_maison_appears_unowned_through_events() {
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("plain");
    let _cleanup = Cleanup::new(&prefix);
    let relists_before = t.full_relists();
    let name = format!("{prefix}-byhand");
    // Plain `docker run` equivalent, straight on the engine.
    let d = docker();
    let created = d
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
            ContainerCreateBody {
                image: Some(TEST_IMAGE.into()),
                cmd: Some(vec!["sleep".into(), "300".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    d.start_container(&created.id, None).await.unwrap();

    let seen = eventually(10, || async {
        t.client
            .containers()
            .await
            .ok()?
            .into_iter()
            .find(|c| c.name == name && c.state == ContainerState::Running)
    })
    .await
    .expect("the hand-made container shows up");
    assert!(!seen.owned);
    assert!(seen.maison.is_none());
    assert_eq!(seen.image, TEST_IMAGE);
    assert_eq!(
        t.full_relists(),
        relists_before,
        "seen through the events stream, not a re-list"
    );

    // Removal by hand disappears the same way.
    d.remove_container(
        &created.id,
        Some(
            bollard::query_parameters::RemoveContainerOptionsBuilder::new()
                .force(true)
                .build(),
        ),
    )
    .await
    .unwrap();
    let gone = eventually(10, || async {
        let list = t.client.containers().await.ok()?;
        (!list.iter().any(|c| c.id == created.id)).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the removed container leaves the inventory");
    assert_eq!(t.full_relists(), relists_before);
    t.agent.shutdown().await;
}

#[tokio::test]
async fn a_container_that_cannot_start_leaves_nothing_behind() {
    // This engine has no NVIDIA runtime: a GPU launch is created, fails to start,
    // and must be removed again.
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("nogpu");
    let _cleanup = Cleanup::new(&prefix);
    let mut s = spec(&prefix, "gpu");
    s.gpus = vec![1];
    let r = t.client.launch(&s).await;
    if r.is_ok() {
        // A machine with the NVIDIA runtime can start it; nothing to check here.
        return;
    }
    let (status, err) = api_error(r);
    assert_eq!(status, 502, "{err:?}");
    assert_eq!(err.code, ErrorCode::DockerError);
    assert!(
        docker_names(&prefix).is_empty(),
        "a failed launch left a container"
    );
    t.agent.shutdown().await;
}

#[tokio::test]
async fn a_launch_of_an_image_this_host_lacks_says_so_once_and_creates_nothing() {
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("noimage");
    let _cleanup = Cleanup::new(&prefix);
    let mut s = spec(&prefix, "a");
    s.image = "maison-test/absent:1".into();
    let (status, err) = api_error(t.client.launch(&s).await);
    assert_eq!((status, err.code), (404, ErrorCode::NotFound), "{err:?}");
    assert_eq!(
        err.message,
        "image maison-test/absent:1 is not on this host (the agent never pulls)"
    );
    assert!(docker_names(&prefix).is_empty());
    t.agent.shutdown().await;
}

#[tokio::test]
async fn hostile_specs_are_refused_with_their_rule_and_create_nothing() {
    let t = TestAgent::start().await;
    let prefix = common::unique_prefix("hostile");
    let _cleanup = Cleanup::new(&prefix);
    std::fs::create_dir_all(t.home.join("eve")).unwrap();
    std::os::unix::fs::chown(
        t.home.join("eve"),
        Some(common::TEST_UID),
        Some(common::TEST_UID),
    )
    .unwrap();
    std::fs::create_dir_all(t.home.join("mallory")).unwrap();
    std::fs::create_dir_all(t.datasets.join("imagenet")).unwrap();
    let outside = t.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink("/etc", t.home.join("eve/etc-link")).unwrap();
    let home = t.home.clone();
    let datasets = t.datasets.clone();
    fn mount(source: String, read_only: Option<bool>) -> MountSpec {
        MountSpec {
            source,
            target: "/mnt/x".into(),
            read_only,
        }
    }

    type Mutation = Box<dyn Fn(&mut LaunchSpec)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "privileged",
            Box::new(|s| s.privileged = true),
            "no-privileged",
        ),
        (
            "host network",
            Box::new(|s| s.network_mode = Some("host".into())),
            "no-host-network",
        ),
        (
            "host pid",
            Box::new(|s| s.pid_mode = Some("host".into())),
            "no-host-pid",
        ),
        (
            "host ipc",
            Box::new(|s| s.ipc_mode = Some("host".into())),
            "no-host-ipc",
        ),
        (
            "host userns",
            Box::new(|s| s.userns_mode = Some("host".into())),
            "no-host-userns",
        ),
        (
            "root mounted",
            Box::new(|s| s.mounts = vec![mount("/".into(), Some(true))]),
            "mount-host-root",
        ),
        (
            "docker socket mounted",
            Box::new(|s| s.mounts = vec![mount("/var/run/docker.sock".into(), None)]),
            "mount-docker-socket",
        ),
        (
            "docker socket dir mounted",
            Box::new(|s| s.mounts = vec![mount("/var/run".into(), None)]),
            "mount-docker-socket",
        ),
        (
            "path outside roots",
            Box::new(move |s| s.mounts = vec![mount(outside.display().to_string(), None)]),
            "mount-outside-roots",
        ),
        (
            "symlink out of home",
            {
                let home = home.clone();
                Box::new(move |s| {
                    s.mounts = vec![mount(home.join("eve/etc-link").display().to_string(), None)]
                })
            },
            "mount-symlink",
        ),
        (
            "someone else's home",
            {
                let home = home.clone();
                Box::new(move |s| {
                    s.mounts = vec![mount(home.join("mallory").display().to_string(), None)]
                })
            },
            "mount-not-owner",
        ),
        (
            "every home at once",
            {
                let home = home.clone();
                Box::new(move |s| s.mounts = vec![mount(home.display().to_string(), None)])
            },
            "mount-not-owner",
        ),
        (
            "no uid: the image's user",
            Box::new(|s| {
                s.uid = None;
                s.gid = None;
            }),
            "missing-user",
        ),
        (
            "uid without gid",
            Box::new(|s| s.gid = None),
            "missing-user",
        ),
        ("root uid", Box::new(|s| s.uid = Some(0)), "invalid-user"),
        (
            "uid -1, which set-id calls read as unchanged",
            Box::new(|s| (s.uid, s.gid) = (Some(u32::MAX), Some(u32::MAX))),
            "invalid-user",
        ),
        (
            "all GPUs through the environment",
            Box::new(|s| {
                s.env.insert("NVIDIA_VISIBLE_DEVICES".into(), "all".into());
            }),
            "gpu-env",
        ),
        (
            "CUDA devices through the environment",
            Box::new(|s| {
                s.env.insert("CUDA_VISIBLE_DEVICES".into(), "0,1".into());
            }),
            "gpu-env",
        ),
        (
            "dot-dot escape",
            {
                let home = home.clone();
                Box::new(move |s| {
                    s.mounts = vec![mount(format!("{}/eve/../../../etc", home.display()), None)]
                })
            },
            "mount-parent-dir",
        ),
        (
            "writable dataset",
            Box::new(move |s| {
                s.mounts = vec![mount(
                    datasets.join("imagenet").display().to_string(),
                    Some(false),
                )]
            }),
            "dataset-read-only",
        ),
        (
            "cap_add",
            Box::new(|s| s.cap_add = vec!["SYS_ADMIN".into()]),
            "no-cap-add",
        ),
        (
            "extra devices",
            Box::new(|s| s.devices = vec!["/dev/mem".into()]),
            "no-devices",
        ),
        (
            "unconfined seccomp",
            Box::new(|s| s.security_opt = vec!["seccomp=unconfined".into()]),
            "no-security-opt",
        ),
        (
            "unconfined apparmor",
            Box::new(|s| s.security_opt = vec!["apparmor=unconfined".into()]),
            "no-security-opt",
        ),
        ("unknown gpu", Box::new(|s| s.gpus = vec![7]), "gpu-unknown"),
        (
            "a NUL byte in the command",
            Box::new(|s| s.command = vec!["echo".into(), "a\0b".into()]),
            "invalid-command",
        ),
        {
            let eve = t.home.join("eve").display().to_string();
            (
                "one's own home twice on one target",
                Box::new(move |s| s.mounts = vec![mount(eve.clone(), None); 2]),
                "mount-target",
            )
        },
        {
            let eve = t.home.join("eve").display().to_string();
            (
                "one's own home on a hundred targets",
                Box::new(move |s| {
                    s.mounts = (0..100)
                        .map(|n| MountSpec {
                            target: format!("/mnt/{n}"),
                            ..mount(eve.clone(), None)
                        })
                        .collect()
                }),
                "too-many-mounts",
            )
        },
        (
            "no owner",
            Box::new(|s| s.owner = String::new()),
            "invalid-owner",
        ),
    ];
    for (i, (what, mutate, rule)) in cases.iter().enumerate() {
        let mut s = spec(&prefix, &format!("case{i}"));
        mutate(&mut s);
        let (status, err) = api_error(t.client.launch(&s).await);
        assert_eq!(status, 403, "{what}");
        assert_eq!(err.code, ErrorCode::PolicyRefused, "{what}");
        assert_eq!(err.rule.as_deref(), Some(*rule), "{what}: {}", err.message);
        assert!(!err.message.is_empty(), "{what}");
    }
    assert!(
        docker_names(&prefix).is_empty(),
        "a refused launch created a container: {:?}",
        docker_names(&prefix)
    );

    // Fields outside the typed spec are not silently dropped: the request is rejected.
    let raw = serde_json::json!({
        "image": TEST_IMAGE, "owner": "U1", "idempotency_key": "k",
        "HostConfig": {"Binds": ["/:/host"]}
    });
    let resp = raw_post(&t, "/v1/containers", &raw).await;
    assert_eq!(resp.0, 400, "{}", resp.1);
    assert!(resp.1.contains("HostConfig"), "{}", resp.1);
    t.agent.shutdown().await;
}

async fn raw_post(t: &TestAgent, path: &str, body: &serde_json::Value) -> (u16, String) {
    let tls = t.pki.client_tls(&t.pki.bot);
    let config = maison_agent_api::client_tls_config(&tls).unwrap();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap();
    let r = http
        .post(format!("{}{path}", t.url()))
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn host_metrics_and_health_report_the_simulated_gpus() {
    let t = TestAgent::start().await;
    let host = t.client.host().await.unwrap();
    assert!(host.gpus_simulated);
    assert_eq!(host.gpus.len(), 2);
    assert!(host.nvidia.is_none());
    assert!(!host.docker_version.unwrap().is_empty());
    assert!(host.docker_root_free_bytes.unwrap() > 0);
    assert!(host.memory_total_bytes > 0 && host.cpus > 0);

    let current = eventually(5, || async {
        let m = t.client.metrics(None).await.ok()?;
        (m.current.len() == 2).then_some(m)
    })
    .await
    .expect("simulated readings within a few seconds");
    assert!(current.simulated);
    assert!(current.current.iter().all(|r| !r.stale));

    let text = t.client.prometheus().await.unwrap();
    assert!(text.contains("maison_agent_up 1"), "{text}");
    assert!(text.contains("maison_agent_inventory_live 1"), "{text}");
    assert!(
        text.contains("maison_agent_gpu_utilization_percent{gpu=\"0\",simulated=\"true\"}"),
        "{text}"
    );

    // Errors are JSON with a code, even for unknown paths and bad queries.
    let (status, body) = raw_post(&t, "/v2/containers", &serde_json::json!({})).await;
    assert_eq!(status, 404, "{body}");
    let err: maison_agent_api::ApiError = serde_json::from_str(&body).unwrap();
    assert_eq!(err.code, ErrorCode::NotFound);
    t.agent.shutdown().await;
}
