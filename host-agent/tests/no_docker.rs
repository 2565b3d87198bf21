//! The agent keeps serving GPU data while Docker is unreachable, and says so.

mod common;

use common::TestAgent;
use maison_agent_api::{ClientError, ErrorCode};

#[tokio::test]
async fn without_docker_the_agent_serves_gpus_and_answers_503_for_containers() {
    let missing = tempfile::tempdir().unwrap();
    let socket = missing.path().join("docker.sock");
    let t = TestAgent::start_with(|c| c.docker.socket = socket.clone()).await;
    let health = t.client.healthz().await.unwrap();
    assert!(!health.inventory_live);
    let host = t.client.host().await.unwrap();
    assert_eq!(host.gpus.len(), 2);
    assert_eq!(host.docker_version, None);
    match t.client.containers().await {
        Err(ClientError::Api { status: 503, error }) => {
            assert_eq!(error.code, ErrorCode::DockerError);
        }
        other => panic!("expected 503, got {other:?}"),
    }
    match t.client.launch(&common::spec("mtest-nodocker", "x")).await {
        Err(ClientError::Api { status: 503, .. }) => {}
        other => panic!("expected 503, got {other:?}"),
    }
    t.agent.shutdown().await;
}
