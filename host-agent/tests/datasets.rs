//! Datasets between real agents: real mutual TLS (bot and peer certificates of one CA), real
//! files under temporary data roots, the real Docker engine for launches, and a real agent
//! process killed mid-copy for the resume test.

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::data::{
    MIB, as_copied, digest, fetch_request, make_tree, register, register_complete, replica,
    wait_for,
};
use common::{Cleanup, TestAgent, TestPki, client_for, unique_prefix};
use maison_agent_api::datasets::{
    CHUNK_SIZE, DatasetMount, Manifest, RegisterRequest, ReplicaInfo, ReplicaOrigin, ReplicaState,
};
use maison_agent_api::{AgentClient, ClientError};

fn url(t: &TestAgent) -> String {
    t.url()
}

fn rule_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, String, String) {
    match r {
        Err(ClientError::Api { status, error }) => {
            (status, error.rule.unwrap_or_default(), error.message)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Two agents of one fleet: `a` holds datasets, `b` copies them.
async fn pair(
    adjust_b: impl FnOnce(&mut maison_agent::config::AgentConfig),
) -> (TestAgent, TestAgent) {
    let a = TestAgent::start_with(|_| {}).await;
    let b = TestAgent::start_with_pki(a.pki.sibling(), adjust_b).await;
    (a, b)
}

#[tokio::test]
async fn a_registered_dataset_is_copied_to_another_agent_byte_for_byte() {
    let (a, b) = pair(|_| {}).await;
    let src = a.datasets.join("imagenet-src");
    // 3 × 20 MiB (three chunks each) and 300 small files.
    make_tree(&src, "imagenet", 3, 20 * MIB, 300, 5000);
    let id = register_complete(&a.client, "imagenet", "v1", &src).await;
    let on_a = replica(&a.client, "imagenet@v1").await.unwrap();
    assert_eq!(on_a.origin, ReplicaOrigin::InPlace);
    assert_eq!(on_a.total_files, 3 + 300 + 3);
    assert_eq!(on_a.present_bytes, on_a.total_bytes);

    let t0 = Instant::now();
    let started = b
        .client
        .fetch_dataset(&fetch_request("imagenet", "v1", &id, &[("gpu-a", url(&a))]))
        .await
        .expect("fetch accepted");
    assert_eq!(started.state, ReplicaState::Fetching);
    let done = wait_for(&b.client, "imagenet@v1", ReplicaState::Complete, 120).await;
    println!(
        "copied {} bytes in {:.2} s",
        done.total_bytes,
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(done.manifest.as_deref(), Some(id.as_str()));
    assert_eq!(done.origin, ReplicaOrigin::Copied);
    assert_eq!(done.present_bytes, done.total_bytes);
    assert_eq!(done.present_files, done.total_files);
    assert_eq!(done.corrupt_chunks, 0);
    assert_eq!(done.bytes_received, done.total_bytes, "nothing sent twice");
    assert_eq!(done.sources, vec!["gpu-a".to_string()]);
    let copy = b.datasets.join("imagenet@v1");
    assert_eq!(done.path, copy.display().to_string());
    // Same files, bytes and modes; the same manifest read back on B.
    assert_eq!(digest(&copy), as_copied(digest(&src)));
    assert_eq!(b.client.manifest(&id).await.unwrap().id(), id);
    // Nothing left behind, and the copy is owned by root.
    assert!(!b.datasets.join(".maison/partial").join(&id).exists());
    assert!(
        !b.datasets
            .join(format!(".maison/partial/{id}.journal"))
            .exists()
    );
    assert_eq!(std::fs::metadata(&copy).unwrap().uid(), 0);

    // Asking again answers at once; B now serves the blobs too.
    let again = b
        .client
        .fetch_dataset(&fetch_request("imagenet", "v1", &id, &[("gpu-a", url(&a))]))
        .await
        .unwrap();
    assert_eq!(again.state, ReplicaState::Complete);
    let peer_b = client_for(b.agent.addr, &b.pki.client_tls(&b.pki.peer));
    let m = b.client.manifest(&id).await.unwrap();
    let mut s = peer_b.blob(&m.files[0].hash, None).await.unwrap();
    let mut n = 0;
    while let Some(p) = s.chunk().await.unwrap() {
        n += p.len() as u64;
    }
    assert_eq!(n, m.files[0].size);

    // A verify of the copy finds nothing wrong.
    b.client.verify_dataset(&id).await.unwrap();
    let verified = wait_for(&b.client, "imagenet@v1", ReplicaState::Complete, 60).await;
    let v = verified.last_verify.expect("verify outcome");
    assert_eq!((v.bad_count, v.files_checked), (0, 306));

    // Removing the copy deletes it; removing A's in-place registration only forgets it.
    b.client.remove_dataset(&id).await.unwrap();
    assert!(replica(&b.client, "imagenet@v1").await.is_none());
    assert!(!copy.exists(), "the copy is moved away at once");
    a.client.remove_dataset("imagenet@v1").await.unwrap();
    assert!(replica(&a.client, "imagenet@v1").await.is_none());
    assert!(
        src.join("big/part-0.bin").exists(),
        "an in-place dataset is never deleted"
    );
    a.agent.shutdown().await;
    b.agent.shutdown().await;
}

#[tokio::test]
async fn registration_follows_the_path_rules() {
    let t = TestAgent::start_with(|_| {}).await;
    const ADA: u32 = 4243;
    std::fs::create_dir_all(t.work.join("ada/data")).unwrap();
    std::fs::create_dir_all(t.work.join("bob/data")).unwrap();
    std::os::unix::fs::chown(t.work.join("ada"), Some(ADA), Some(ADA)).unwrap();
    std::fs::write(t.work.join("ada/data/x"), b"x").unwrap();
    std::os::unix::fs::symlink(t.work.join("bob"), t.work.join("ada/bobs")).unwrap();
    std::fs::create_dir_all(t.dir.path().join("elsewhere")).unwrap();
    let reg = |path: std::path::PathBuf, uid: Option<u32>| RegisterRequest {
        name: "ds".into(),
        version: "v1".into(),
        path: path.display().to_string(),
        owner_uid: uid,
    };
    for (req, rule) in [
        (
            reg(t.dir.path().join("elsewhere"), None),
            "dataset-outside-roots",
        ),
        (reg(t.work.join("ada/data"), None), "dataset-outside-roots"),
        (reg(t.datasets.clone(), None), "dataset-path"),
        (reg(t.datasets.join(".maison"), None), "dataset-path"),
        (reg(t.work.join("bob/data"), Some(ADA)), "dataset-not-owner"),
        (
            reg(t.work.join("ada/bobs/data"), Some(ADA)),
            "dataset-symlink",
        ),
        (
            reg(t.work.join("ada/nothing"), Some(ADA)),
            "dataset-source-missing",
        ),
        (reg(t.datasets.join("x/../y"), None), "dataset-path"),
    ] {
        let (status, got, message) = rule_of(t.client.register_dataset(&req).await);
        assert_eq!(
            (status, got.as_str()),
            (403, rule),
            "{}: {message}",
            req.path
        );
        // Refusals quote the path as written.
        assert!(message.contains(&req.path), "{message}");
    }
    // A user's own directory in the work root is fine.
    t.client
        .register_dataset(&reg(t.work.join("ada/data"), Some(ADA)))
        .await
        .unwrap();
    let r = wait_for(&t.client, "ds@v1", ReplicaState::Complete, 30).await;
    assert_eq!(r.origin, ReplicaOrigin::InPlace);
    assert_eq!(r.total_files, 1);

    // A link inside a dataset is refused by name, not followed.
    std::fs::create_dir_all(t.datasets.join("linked")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", t.datasets.join("linked/shadow")).unwrap();
    register(&t.client, "linked", "v1", &t.datasets.join("linked")).await;
    let failed = wait_for(&t.client, "linked@v1", ReplicaState::Failed, 30).await;
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or("")
            .contains("shadow is a symbolic link"),
        "{:?}",
        failed.error
    );
    t.agent.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_source_is_detected_and_a_good_one_completes_the_copy() {
    let pki = TestPki::new();
    let a = TestAgent::start_with_pki(pki.sibling(), |_| {}).await;
    let b = TestAgent::start_with_pki(pki.sibling(), |_| {}).await;
    let c = TestAgent::start_with_pki(pki.sibling(), |_| {}).await;
    // The same files on A and C, registered on each.
    for t in [&a, &c] {
        make_tree(&t.datasets.join("coco"), "coco", 1, 20 * MIB, 20, 3000);
    }
    let id = register_complete(&a.client, "coco", "v1", &a.datasets.join("coco")).await;
    assert_eq!(
        register_complete(&c.client, "coco", "v1", &c.datasets.join("coco")).await,
        id
    );
    // A's large file rots after registration: one byte flipped in each of its chunks.
    let rotten = a.datasets.join("coco/big/part-0.bin");
    let mut bytes = std::fs::read(&rotten).unwrap();
    for chunk in 0..3u64 {
        bytes[(chunk * CHUNK_SIZE + 12345) as usize] ^= 0x40;
    }
    std::fs::write(&rotten, &bytes).unwrap();

    // From A alone: detected, the copy fails and is never mountable.
    b.client
        .fetch_dataset(&fetch_request("coco", "v1", &id, &[("gpu-a", url(&a))]))
        .await
        .unwrap();
    let failed = wait_for(&b.client, "coco@v1", ReplicaState::Failed, 60).await;
    let error = failed.error.clone().unwrap_or_default();
    assert!(
        error.contains("no source has a good copy") && error.contains("gpu-a"),
        "{error}"
    );
    assert!(failed.corrupt_chunks >= 1);
    assert!(!b.datasets.join("coco@v1").exists());
    let mut launch = common::spec(&unique_prefix("corrupt"), "x");
    launch.datasets = vec![DatasetMount {
        name: "coco".into(),
        manifest: id.clone(),
    }];
    let (status, rule, message) = rule_of(b.client.launch(&launch).await);
    assert_eq!(
        (status, rule.as_str()),
        (403, "dataset-not-ready"),
        "{message}"
    );
    assert!(message.contains("coco@v1"), "{message}");

    // With a good second source the copy completes; the bad chunks were fetched again.
    b.client
        .fetch_dataset(&fetch_request(
            "coco",
            "v1",
            &id,
            &[("gpu-a", url(&a)), ("gpu-c", url(&c))],
        ))
        .await
        .unwrap();
    let done = wait_for(&b.client, "coco@v1", ReplicaState::Complete, 60).await;
    assert!(done.corrupt_chunks >= 1, "{done:#?}");
    assert_eq!(
        digest(&b.datasets.join("coco@v1")),
        as_copied(digest(&c.datasets.join("coco")))
    );
    println!(
        "corrupt chunks seen: {} (first run) + {} (second run)",
        failed.corrupt_chunks, done.corrupt_chunks
    );
    for t in [a, b, c] {
        t.agent.shutdown().await;
    }
}

#[tokio::test]
async fn a_new_version_moves_only_the_changed_files() {
    let (a, b) = pair(|_| {}).await;
    let v1 = a.datasets.join("wiki-v1");
    make_tree(&v1, "wiki", 2, 20 * MIB, 200, 8192);
    let id1 = register_complete(&a.client, "wiki", "v1", &v1).await;
    b.client
        .fetch_dataset(&fetch_request("wiki", "v1", &id1, &[("gpu-a", url(&a))]))
        .await
        .unwrap();
    wait_for(&b.client, "wiki@v1", ReplicaState::Complete, 120).await;

    // v2: the same tree with two small files and one large file changed.
    let v2 = a.datasets.join("wiki-v2");
    make_tree(&v2, "wiki", 2, 20 * MIB, 200, 8192);
    std::fs::write(v2.join("small/03/f00003.dat"), b"changed three").unwrap();
    std::fs::write(v2.join("small/07/f00007.dat"), b"changed seven").unwrap();
    std::fs::write(
        v2.join("big/part-1.bin"),
        common::data::bytes("new", 20 * MIB),
    )
    .unwrap();
    let changed = 13 + 13 + 20 * MIB;
    let id2 = register_complete(&a.client, "wiki", "v2", &v2).await;
    assert_ne!(id1, id2);
    b.client
        .fetch_dataset(&fetch_request("wiki", "v2", &id2, &[("gpu-a", url(&a))]))
        .await
        .unwrap();
    let done = wait_for(&b.client, "wiki@v2", ReplicaState::Complete, 120).await;
    println!(
        "new version: {} bytes total, {} received, {} linked",
        done.total_bytes, done.bytes_received, done.bytes_linked
    );
    assert_eq!(done.bytes_received, changed);
    assert_eq!(done.bytes_linked, done.total_bytes - changed);
    assert_eq!(digest(&b.datasets.join("wiki@v2")), as_copied(digest(&v2)));
    // Unchanged files are the same inode as in v1 (hard links, no space used).
    let ino = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().ino();
    assert_eq!(
        ino(b.datasets.join("wiki@v1/big/part-0.bin")),
        ino(b.datasets.join("wiki@v2/big/part-0.bin"))
    );
    // Removing v1 leaves v2 whole.
    b.client.remove_dataset(&id1).await.unwrap();
    assert_eq!(digest(&b.datasets.join("wiki@v2")), as_copied(digest(&v2)));
    a.agent.shutdown().await;
    b.agent.shutdown().await;
}

#[tokio::test]
async fn the_rate_cap_holds() {
    let cap = 20 * MIB;
    let (a, b) = pair(|c| {
        c.datasets.max_rate = Some(maison_agent::config::ByteSize(cap));
    })
    .await;
    let src = a.datasets.join("capped");
    make_tree(&src, "capped", 3, 20 * MIB, 0, 0);
    let id = register_complete(&a.client, "capped", "v1", &src).await;
    b.client
        .fetch_dataset(&fetch_request("capped", "v1", &id, &[("gpu-a", url(&a))]))
        .await
        .unwrap();
    // (time, bytes received) while the transfer runs, excluding its first and last moments.
    let mut samples: Vec<(Instant, u64)> = Vec::new();
    let mut seen_rate = 0;
    loop {
        let r = replica(&b.client, "capped@v1").await.unwrap();
        if r.state == ReplicaState::Complete {
            break;
        }
        assert_ne!(r.state, ReplicaState::Failed, "{:?}", r.error);
        if r.bytes_received > 0 && r.bytes_received < r.total_bytes {
            samples.push((Instant::now(), r.bytes_received));
            seen_rate = seen_rate.max(r.rate_bytes_per_sec);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (t0, b0) = samples
        .first()
        .copied()
        .expect("samples during the transfer");
    let (t1, b1) = samples.last().copied().unwrap();
    let measured = (b1 - b0) as f64 / t1.duration_since(t0).as_secs_f64();
    let off = (measured / cap as f64 - 1.0) * 100.0;
    println!(
        "rate cap {:.1} MiB/s, measured {:.2} MiB/s ({off:+.1} %) over {} MiB; reported rate {:.1} MiB/s",
        cap as f64 / MIB as f64,
        measured / MIB as f64,
        (b1 - b0) / MIB,
        seen_rate as f64 / MIB as f64
    );
    assert!(off.abs() <= 10.0, "the cap did not hold: {off:+.1} %");
    a.agent.shutdown().await;
    b.agent.shutdown().await;
}

/// The same files asked for under a second name while the first copy runs: both would fill one
/// partial directory (named after the manifest), so the second waits for the first.
#[tokio::test]
async fn the_same_files_under_two_names_are_not_copied_twice_at_once() {
    let (a, b) = pair(|c| {
        c.datasets.max_rate = Some(maison_agent::config::ByteSize(4 * MIB));
    })
    .await;
    let src = a.datasets.join("twins");
    make_tree(&src, "twins", 2, 20 * MIB, 0, 0);
    let id = register_complete(&a.client, "twins", "v1", &src).await;
    let sources = [("gpu-a", url(&a))];
    b.client
        .fetch_dataset(&fetch_request("twins", "v1", &id, &sources))
        .await
        .unwrap();
    let (status, rule, message) = rule_of(
        b.client
            .fetch_dataset(&fetch_request("twins-again", "v1", &id, &sources))
            .await,
    );
    assert_eq!((status, rule.as_str()), (409, "copy-in-progress"));
    assert!(message.contains("twins@v1"), "{message}");
    assert!(replica(&b.client, "twins-again@v1").await.is_none());
    // Once the first is gone, the second name may be copied.
    b.client.remove_dataset("twins@v1").await.unwrap();
    b.client
        .fetch_dataset(&fetch_request("twins-again", "v1", &id, &sources))
        .await
        .expect("the second name once the first copy is gone");
    a.agent.shutdown().await;
    b.agent.shutdown().await;
}

#[tokio::test]
async fn a_dataset_is_mounted_read_only_and_kept_while_mounted() {
    common::require_test_image(&common::docker()).await;
    let prefix = unique_prefix("data");
    let _cleanup = Cleanup::new(&prefix);
    let (a, b) = pair(|c| {
        // Slow enough to launch while the copy is partial.
        c.datasets.max_rate = Some(maison_agent::config::ByteSize(8 * MIB));
    })
    .await;
    b.wait_live().await;
    let src = a.datasets.join("mnist");
    make_tree(&src, "mnist", 2, 12 * MIB, 10, 100);
    let id = register_complete(&a.client, "mnist", "v1", &src).await;
    let mut spec = common::spec(&prefix, "train");
    spec.command = vec![
        "sh".into(),
        "-c".into(),
        "cat /data/mnist/README; if touch /data/mnist/new 2>/dev/null; then echo WRITABLE; else echo READ-ONLY; fi; sleep 300".into(),
    ];
    spec.datasets = vec![DatasetMount {
        name: "mnist".into(),
        manifest: id.clone(),
    }];

    // Not here at all, then partial: refused with the progress.
    let (status, rule, message) = rule_of(b.client.launch(&spec).await);
    assert_eq!((status, rule.as_str()), (403, "dataset-not-ready"));
    assert!(message.contains("not on this host"), "{message}");
    b.client
        .fetch_dataset(&fetch_request("mnist", "v1", &id, &[("gpu-a", url(&a))]))
        .await
        .unwrap();
    let (status, rule, message) = rule_of(b.client.launch(&spec).await);
    assert_eq!((status, rule.as_str()), (403, "dataset-not-ready"));
    assert!(
        message.contains("mnist@v1 is") && message.contains("% here"),
        "{message}"
    );
    println!("while copying: {message}");
    assert!(common::docker_names(&prefix).is_empty(), "nothing created");

    // Complete: mounted read-only at /data/mnist.
    wait_for(&b.client, "mnist@v1", ReplicaState::Complete, 60).await;
    let launched = b.client.launch(&spec).await.expect("launch with a dataset");
    let id_c = launched.container.id.clone();
    let logs = common::eventually(20, || async {
        let out = std::process::Command::new("docker")
            .args(["logs", &id_c])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (text.contains("READ-ONLY") || text.contains("WRITABLE")).then_some(text)
    })
    .await
    .expect("container output");
    assert!(logs.contains("dataset mnist"), "{logs}");
    assert!(logs.contains("READ-ONLY"), "{logs}");
    let label = std::process::Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{index .Config.Labels \"maison.datasets\"}}",
            &id_c,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&label.stdout).trim(), id);
    let r = replica(&b.client, "mnist@v1").await.unwrap();
    assert!(r.last_mounted.is_some());
    assert_eq!(r.mounted_by, vec![format!("{prefix}-train")]);

    // A manual mount on the same place is refused.
    let mut clash = common::spec(&prefix, "clash");
    clash.datasets = spec.datasets.clone();
    std::fs::create_dir_all(b.datasets.join("other")).unwrap();
    clash.mounts = vec![maison_agent_api::MountSpec {
        source: b.datasets.join("other").display().to_string(),
        target: "/data/mnist".into(),
        read_only: None,
    }];
    let (status, rule, _) = rule_of(b.client.launch(&clash).await);
    assert_eq!((status, rule.as_str()), (403, "mount-target"));

    // Removal is refused while any container (even stopped) has it.
    b.client
        .stop(&id_c, Some(Duration::from_secs(0)))
        .await
        .unwrap();
    let (status, rule, message) = rule_of(b.client.remove_dataset(&id).await);
    assert_eq!(
        (status, rule.as_str()),
        (409, "dataset-in-use"),
        "{message}"
    );
    assert!(message.contains(&format!("{prefix}-train")), "{message}");
    b.client.remove(&id_c, true).await.unwrap();
    common::eventually(10, || async {
        replica(&b.client, "mnist@v1")
            .await
            .filter(|r| r.mounted_by.is_empty())
    })
    .await
    .expect("the inventory forgets the container");
    b.client.remove_dataset(&id).await.unwrap();
    assert!(!b.datasets.join("mnist@v1").exists());
    a.agent.shutdown().await;
    b.agent.shutdown().await;
}

#[tokio::test]
async fn a_dataset_registered_in_place_is_not_mounted_once_its_directory_changed() {
    common::require_test_image(&common::docker()).await;
    let prefix = unique_prefix("inplace");
    let _cleanup = Cleanup::new(&prefix);
    let (a, _b) = pair(|_| {}).await;
    a.wait_live().await;
    let src = a.datasets.join("coco");
    make_tree(&src, "coco", 1, MIB, 5, 100);
    let id = register_complete(&a.client, "coco", "v1", &src).await;
    let with_coco = |suffix: &str| {
        let mut spec = common::spec(&prefix, suffix);
        spec.datasets = vec![DatasetMount {
            name: "coco".into(),
            manifest: id.clone(),
        }];
        spec
    };
    let first = a
        .client
        .launch(&with_coco("before"))
        .await
        .expect("mounted as registered");
    a.client.remove(&first.container.id, true).await.unwrap();
    let peer = client_for(a.agent.addr, &a.pki.client_tls(&a.pki.peer));
    let served = a.client.manifest(&id).await.unwrap().files[0].hash.clone();
    assert!(
        peer.blob(&served, None).await.is_ok(),
        "served as registered"
    );

    // Its owner rewrites one file in place, same size: the version is no longer what it names.
    let file = src.join("small/03/f00003.dat");
    let registered = std::fs::read(&file).unwrap();
    std::fs::write(&file, vec![b'x'; registered.len()]).unwrap();
    let (status, rule, message) = rule_of(a.client.launch(&with_coco("after")).await);
    assert_eq!(
        (status, rule.as_str()),
        (403, "dataset-changed"),
        "{message}"
    );
    assert!(message.contains("coco@v1 changed"), "{message}");
    assert!(message.contains("small/03/f00003.dat"), "{message}");
    assert!(
        common::docker_names(&format!("{prefix}-after")).is_empty(),
        "nothing created"
    );
    // No longer listed as complete, so the bot neither offers it nor copies from it.
    let listed = replica(&a.client, "coco@v1").await.expect("still listed");
    assert_eq!(listed.state, ReplicaState::Failed);
    let error = listed.error.unwrap_or_default();
    assert!(error.contains("small/03/f00003.dat"), "{error}");
    // Nor does a peer get any of its files any more.
    match peer.blob(&served, None).await {
        Err(ClientError::Api { status: 404, .. }) => {}
        other => panic!("a changed replica is still served: {other:?}"),
    }

    // A verify finds the other bytes, and the replica stays failed.
    let asked = chrono::Utc::now();
    a.client.verify_dataset(&id).await.unwrap();
    let verified = verified_since(&a.client, "coco@v1", asked).await;
    assert_eq!(verified.state, ReplicaState::Failed);
    let bad = verified.last_verify.unwrap().bad_files;
    assert_eq!(bad, ["small/03/f00003.dat"]);
    // The owner puts the registered bytes back (the file is still not the one scanned): a
    // verify finds the version again, and it mounts and is served again.
    std::fs::write(&file, &registered).unwrap();
    let asked = chrono::Utc::now();
    a.client.verify_dataset(&id).await.unwrap();
    let verified = verified_since(&a.client, "coco@v1", asked).await;
    assert_eq!(verified.state, ReplicaState::Complete);
    let again = a
        .client
        .launch(&with_coco("again"))
        .await
        .expect("mounted once verified");
    a.client.remove(&again.container.id, true).await.unwrap();
    assert!(peer.blob(&served, None).await.is_ok(), "served again");
    a.agent.shutdown().await;
}

/// The replica `key` once a verify asked at `asked` has ended (at most 60 s).
async fn verified_since(
    client: &AgentClient,
    key: &str,
    asked: chrono::DateTime<chrono::Utc>,
) -> ReplicaInfo {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(r) = replica(client, key).await
            && r.state != ReplicaState::Verifying
            && r.last_verify.as_ref().is_some_and(|v| v.at >= asked)
        {
            return r;
        }
        assert!(Instant::now() < deadline, "{key}: no verify ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_damaged_copy_fails_verification_and_a_new_fetch_repairs_only_the_damage() {
    let (a, b) = pair(|_| {}).await;
    let src = a.datasets.join("repair");
    make_tree(&src, "repair", 2, 20 * MIB, 50, 2000);
    let id = register_complete(&a.client, "repair", "v1", &src).await;
    let sources = [("gpu-a", url(&a))];
    b.client
        .fetch_dataset(&fetch_request("repair", "v1", &id, &sources))
        .await
        .unwrap();
    wait_for(&b.client, "repair@v1", ReplicaState::Complete, 120).await;
    let copy = b.datasets.join("repair@v1");
    // One byte of one chunk of one large file, and one small file.
    let big = copy.join("big/part-1.bin");
    let mut bytes = std::fs::read(&big).unwrap();
    bytes[(CHUNK_SIZE + 7) as usize] ^= 1;
    std::fs::write(&big, &bytes).unwrap();
    std::fs::write(copy.join("small/02/f00002.dat"), vec![0u8; 2000]).unwrap();

    b.client.verify_dataset(&id).await.unwrap();
    let failed = wait_for(&b.client, "repair@v1", ReplicaState::Failed, 60).await;
    let v = failed.last_verify.clone().unwrap();
    assert_eq!(v.bad_count, 2);
    assert!(v.bad_files.contains(&"big/part-1.bin".to_string()), "{v:?}");

    b.client
        .fetch_dataset(&fetch_request("repair", "v1", &id, &sources))
        .await
        .unwrap();
    let done = wait_for(&b.client, "repair@v1", ReplicaState::Complete, 60).await;
    println!("repair received {} bytes", done.bytes_received);
    assert_eq!(
        done.bytes_received,
        CHUNK_SIZE + 2000,
        "one chunk and one small file"
    );
    assert_eq!(digest(&copy), as_copied(digest(&src)));
    a.agent.shutdown().await;
    b.agent.shutdown().await;
}

/// A copy belongs to root and is shared by the host's users: nothing in it may be writable by
/// them, whatever the source's modes. And a repair works in the damaged copy as root: a copy
/// that others could have changed (as copies made before this rule could be) is not repaired
/// in place but made again whole, or a link planted in it would take the agent's writes
/// anywhere on the host.
#[tokio::test]
async fn copies_are_never_writable_by_others_and_a_tampered_copy_is_made_again_whole() {
    use std::os::unix::fs::PermissionsExt;
    let (a, b) = pair(|_| {}).await;
    let src = a.datasets.join("shared-src");
    make_tree(&src, "shared", 1, 9 * MIB, 3, 1000);
    let open = src.join("open/inner");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::write(
        open.join("note.txt"),
        b"anyone may write me at the source\n",
    )
    .unwrap();
    let chmod = |p: &std::path::Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    chmod(&open.join("note.txt"), 0o666);
    chmod(&open, 0o777);
    chmod(&src.join("open"), 0o777);
    let id = register_complete(&a.client, "shared", "v1", &src).await;
    let sources = [("gpu-a", url(&a))];
    b.client
        .fetch_dataset(&fetch_request("shared", "v1", &id, &sources))
        .await
        .unwrap();
    wait_for(&b.client, "shared@v1", ReplicaState::Complete, 120).await;
    let copy = b.datasets.join("shared@v1");
    let mode = |p: std::path::PathBuf| std::fs::symlink_metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(copy.join("open")), 0o755);
    assert_eq!(mode(copy.join("open/inner")), 0o755);
    assert_eq!(mode(copy.join("open/inner/note.txt")), 0o644);
    assert_eq!(digest(&copy), as_copied(digest(&src)));

    // A copy as an older agent left it (others may write `open/inner`), where a user swapped
    // that directory for a link to a directory of their choosing.
    let elsewhere = tempfile::tempdir().unwrap();
    let elsewhere_mode = mode(elsewhere.path().to_path_buf());
    chmod(&copy.join("open/inner"), 0o777);
    std::fs::rename(copy.join("open/inner"), copy.join("open/inner.old")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), copy.join("open/inner")).unwrap();
    b.client.verify_dataset(&id).await.unwrap();
    let failed = wait_for(&b.client, "shared@v1", ReplicaState::Failed, 60).await;
    assert!(
        failed
            .last_verify
            .unwrap()
            .bad_files
            .contains(&"open/inner/note.txt".to_string())
    );

    b.client
        .fetch_dataset(&fetch_request("shared", "v1", &id, &sources))
        .await
        .unwrap();
    let done = wait_for(&b.client, "shared@v1", ReplicaState::Complete, 120).await;
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "the agent wrote through the planted link"
    );
    assert_eq!(
        mode(elsewhere.path().to_path_buf()),
        elsewhere_mode,
        "the agent changed the mode of the link's target"
    );
    assert_eq!(
        done.bytes_received, done.total_bytes,
        "the tampered copy was made again whole"
    );
    assert!(!copy.join("open/inner.old").exists());
    assert_eq!(digest(&copy), as_copied(digest(&src)));
    a.agent.shutdown().await;
    b.agent.shutdown().await;
}

/// The destination as a real process, so it can be killed (SIGKILL) in the middle of a copy.
struct AgentProcess {
    child: std::process::Child,
    client: AgentClient,
}

fn spawn_agent(config_path: &std::path::Path, port: u16, pki: &TestPki) -> AgentProcess {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_maison-agent"))
        .args(["serve", "--config"])
        .arg(config_path)
        .env("RUST_LOG", "warn,maison_agent=info")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start maison-agent");
    let client = client_for(
        format!("127.0.0.1:{port}").parse().unwrap(),
        &pki.client_tls(&pki.bot),
    );
    AgentProcess { child, client }
}

async fn wait_up(p: &AgentProcess) {
    for _ in 0..200 {
        if p.client.healthz().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the agent process did not come up");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Bytes of the pieces the journal of an interrupted copy lists.
fn journaled_bytes(journal: &std::path::Path, m: &Manifest) -> u64 {
    let bytes = std::fs::read(journal).unwrap();
    let start = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    bytes[start..]
        .chunks_exact(8)
        .map(|r| {
            let f = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) as usize;
            let c = u32::from_le_bytes([r[4], r[5], r[6], r[7]]);
            let file = &m.files[f];
            if c == u32::MAX {
                file.size
            } else {
                let range = file.chunk_range(c as usize);
                range.end - range.start
            }
        })
        .sum()
}

#[tokio::test]
async fn a_killed_agent_resumes_its_copy_and_resends_at_most_the_pieces_in_flight() {
    let a = TestAgent::start_with(|_| {}).await;
    let src = a.datasets.join("resume");
    make_tree(&src, "resume", 6, 20 * MIB, 100, 10_000);
    let id = register_complete(&a.client, "resume", "v1", &src).await;
    let manifest = a.client.manifest(&id).await.unwrap();
    let total = manifest.total_bytes();

    // B: its own directory, certificates of the same CA, a cap so that it is mid-way when killed.
    let pki = a.pki.sibling();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut config = common::test_config(&pki, dir.path());
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let streams = config.datasets.streams as u64;
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let datasets = root.join("datasets");
    let toml = format!(
        "listen = \"127.0.0.1:{port}\"\n\
         [tls]\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\n\
         [mounts]\ndatasets = {:?}\n\
         [gpu]\nprobe = \"simulated\"\ncount = 1\n\
         [policy]\nstaging_dir = {:?}\n\
         [enter]\nsocket = \"\"\n\
         [datasets]\nmax_rate = \"40MiB\"\nfree_margin = \"100MiB\"\npeer_cert = {:?}\npeer_key = {:?}\n",
        config.tls.cert,
        config.tls.key,
        config.tls.client_ca,
        datasets,
        root.join("stage"),
        config.datasets.peer_cert.as_ref().unwrap(),
        config.datasets.peer_key.as_ref().unwrap(),
    );
    let config_path = root.join("agent.toml");
    std::fs::write(&config_path, toml).unwrap();

    let mut b = spawn_agent(&config_path, port, &pki);
    wait_up(&b).await;
    b.client
        .fetch_dataset(&fetch_request("resume", "v1", &id, &[("gpu-a", url(&a))]))
        .await
        .unwrap();
    common::eventually(60, || async {
        replica(&b.client, "resume@v1")
            .await
            .filter(|r| r.present_bytes > total * 2 / 5)
    })
    .await
    .expect("the copy gets under way");
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let journal = datasets.join(format!(".maison/partial/{id}.journal"));
    let kept = journaled_bytes(&journal, &manifest);
    let remaining = total - kept;

    // Restarted, it resumes on its own and re-fetches only what the journal lacks.
    let mut b = spawn_agent(&config_path, port, &pki);
    wait_up(&b).await;
    let done = wait_for(&b.client, "resume@v1", ReplicaState::Complete, 120).await;
    let allowance = remaining + streams * CHUNK_SIZE;
    println!(
        "resume: {total} bytes in all, {kept} kept at the kill, {} received after the restart (remaining {remaining}, allowance {allowance})",
        done.bytes_received
    );
    assert!(kept > 0 && remaining > 0, "killed mid-way");
    assert!(
        done.bytes_received <= allowance,
        "re-sent too much: {} > {allowance}",
        done.bytes_received
    );
    assert_eq!(digest(&datasets.join("resume@v1")), as_copied(digest(&src)));
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    a.agent.shutdown().await;
}

#[tokio::test]
async fn copies_are_refused_without_room_or_without_a_peer_identity() {
    let a = TestAgent::start_with(|_| {}).await;
    let src = a.datasets.join("tiny");
    make_tree(&src, "tiny", 0, 0, 5, 100);
    let id = register_complete(&a.client, "tiny", "v1", &src).await;
    let request = fetch_request("tiny", "v1", &id, &[("gpu-a", url(&a))]);

    // A margin larger than the disk: refused before anything is written, naming the sizes.
    let full = TestAgent::start_with_pki(a.pki.sibling(), |c| {
        c.datasets.free_margin = maison_agent::config::FreeMargin::Bytes(1 << 60);
    })
    .await;
    let (status, rule, message) = rule_of(full.client.fetch_dataset(&request).await);
    assert_eq!((status, rule.as_str()), (409, "no-space"), "{message}");
    assert!(
        message.contains("free") && message.contains("needs") && message.contains("must stay free"),
        "{message}"
    );
    assert!(replica(&full.client, "tiny@v1").await.is_none());

    // No peer certificate configured: says what to do.
    let lonely = TestAgent::start_with_pki(a.pki.sibling(), |c| {
        c.datasets.peer_cert = None;
        c.datasets.peer_key = None;
    })
    .await;
    let (status, rule, message) = rule_of(lonely.client.fetch_dataset(&request).await);
    assert_eq!(
        (status, rule.as_str()),
        (409, "no-peer-identity"),
        "{message}"
    );
    assert!(message.contains("pki issue-agent"), "{message}");

    // A manifest no source has: 502, naming each source's answer.
    let b = TestAgent::start_with_pki(a.pki.sibling(), |_| {}).await;
    let unknown = fetch_request("ghost", "v1", &"f".repeat(64), &[("gpu-a", url(&a))]);
    match b.client.fetch_dataset(&unknown).await {
        Err(ClientError::Api { status: 502, error }) => {
            assert!(error.message.contains("gpu-a"), "{}", error.message)
        }
        other => panic!("expected 502, got {other:?}"),
    }
    for t in [a, full, lonely, b] {
        t.agent.shutdown().await;
    }
}

/// `data rm` of a copy still in progress stops it: nothing more arrives, nothing is left.
#[tokio::test]
async fn removing_a_copy_in_progress_cancels_it() {
    let (a, b) = pair(|c| {
        // Slow enough to be caught half-way.
        c.datasets.max_rate = Some(maison_agent::config::ByteSize(4 * MIB));
    })
    .await;
    let src = a.datasets.join("coco");
    make_tree(&src, "coco", 2, 16 * MIB, 10, 100);
    let id = register_complete(&a.client, "coco", "v1", &src).await;
    b.client
        .fetch_dataset(&fetch_request("coco", "v1", &id, &[("gpu-a", url(&a))]))
        .await
        .unwrap();
    let partial = b.datasets.join(".maison/partial").join(&id);
    let under_way = common::eventually(20, || async {
        let r = replica(&b.client, "coco@v1").await?;
        (r.present_bytes > 0 && r.state == ReplicaState::Fetching).then_some(r)
    })
    .await
    .expect("the copy got under way");
    assert!(under_way.present_bytes < under_way.total_bytes);
    assert!(partial.exists());

    b.client
        .remove_dataset("coco@v1")
        .await
        .expect("removed while copying");
    assert!(replica(&b.client, "coco@v1").await.is_none());
    assert!(!partial.exists(), "the partial copy is moved away at once");
    // The streams were stopped: a second later nothing has come back.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(replica(&b.client, "coco@v1").await.is_none());
    assert!(!partial.exists());
    assert!(!b.datasets.join("coco@v1").exists());
    a.agent.shutdown().await;
    b.agent.shutdown().await;
}
