//! The Docker daemon restarted under a running agent. The test runs a Docker daemon of its own
//! (its own data root and socket, loaded with the test image), so it can stop and start it
//! without touching the machine's daemon or other tests. While the daemon is down the agent
//! says so instead of serving a stale listing; when it is back the agent reconnects by itself,
//! lists everything again, forgets nothing Maison owns, and follows the events stream again.

mod common;

use common::{TEST_IMAGE, TestAgent, eventually, spec};
use maison_agent_api::ContainerState;
use maison_testkit::PrivateDocker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_rides_out_a_docker_restart() {
    common::init();
    let mut engine = PrivateDocker::start(&[TEST_IMAGE]);
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
    let made = engine.cli(&["create", "--name", &outsider, TEST_IMAGE, "true"]);
    assert!(made.status.success());
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
