//! Mutual TLS: only bot certificates of the Maison CA get an answer.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{TestAgent, client_for};
use maison_agent_api::{ClientError, ClientTls};
use maison_pki::{Ca, CertSpec, Role};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

fn assert_refused(result: Result<maison_agent_api::Health, ClientError>, what: &str) {
    match result {
        Err(ClientError::Transport(_)) => {}
        other => panic!("{what}: expected a TLS failure, got {other:?}"),
    }
}

#[tokio::test]
async fn only_bot_certificates_of_the_maison_ca_are_accepted() {
    let t = TestAgent::start().await;
    let pki = &t.pki;

    // The bot certificate works (and proves the rejections below are about the certificate).
    let h = t.client.healthz().await.expect("bot certificate accepted");
    assert_eq!(h.status, "ok");

    // A bot certificate from another CA.
    let other = Ca::generate("Someone else's CA").unwrap();
    let foreign = other.issue_bot("maison-bot").unwrap();
    let tls = ClientTls {
        ca_pem: pki.ca.cert_pem().into(),
        cert_pem: foreign.cert_pem,
        key_pem: foreign.key_pem,
    };
    assert_refused(client_for(t.agent.addr, &tls).healthz().await, "other CA");

    // An agent's own certificate (serverAuth only, role agent).
    let agent2 = pki.ca.issue_agent("gpu02", &[]).unwrap();
    assert_refused(
        client_for(t.agent.addr, &pki.client_tls(&agent2))
            .healthz()
            .await,
        "agent certificate",
    );

    // A certificate that passes path validation as a client (clientAuth EKU) but
    // carries the agent role: refused by the role check itself.
    let sneaky = pki
        .ca
        .issue(&CertSpec {
            role: Some(Role::Agent),
            ..CertSpec::bot("gpu03")
        })
        .unwrap();
    assert_refused(
        client_for(t.agent.addr, &pki.client_tls(&sneaky))
            .healthz()
            .await,
        "clientAuth certificate with agent role",
    );

    // No role at all.
    let roleless = pki
        .ca
        .issue(&CertSpec {
            role: None,
            ..CertSpec::bot("anonymous")
        })
        .unwrap();
    assert_refused(
        client_for(t.agent.addr, &pki.client_tls(&roleless))
            .healthz()
            .await,
        "certificate without role",
    );

    // An expired bot certificate.
    let now = SystemTime::now();
    let expired = pki
        .ca
        .issue_bot_with_validity(
            "maison-bot",
            now - Duration::from_secs(10 * 86400),
            now - Duration::from_secs(86400),
        )
        .unwrap();
    assert_refused(
        client_for(t.agent.addr, &pki.client_tls(&expired))
            .healthz()
            .await,
        "expired certificate",
    );

    // Not yet valid.
    let future = pki
        .ca
        .issue_bot_with_validity(
            "maison-bot",
            now + Duration::from_secs(86400),
            now + Duration::from_secs(10 * 86400),
        )
        .unwrap();
    assert_refused(
        client_for(t.agent.addr, &pki.client_tls(&future))
            .healthz()
            .await,
        "not-yet-valid certificate",
    );

    // Still fine afterwards.
    t.client.host().await.expect("bot still accepted");
    t.agent.shutdown().await;
}

#[tokio::test]
async fn a_client_without_certificate_is_refused() {
    let t = TestAgent::start().await;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(t.pki.ca.cert_pem().as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let r = http.get(format!("{}/healthz", t.url())).send().await;
    assert!(r.is_err(), "anonymous client got an answer: {r:?}");
    t.agent.shutdown().await;
}

#[tokio::test]
async fn the_client_refuses_an_agent_from_another_ca_and_plain_http() {
    let t = TestAgent::start().await;
    // The bot trusts only its own CA: an agent signed by another one is refused.
    let other = Ca::generate("Other CA").unwrap();
    let tls = ClientTls {
        ca_pem: other.cert_pem().into(),
        cert_pem: t.pki.bot.cert_pem.clone(),
        key_pem: t.pki.bot.key_pem.clone(),
    };
    assert_refused(
        client_for(t.agent.addr, &tls).healthz().await,
        "agent of another CA",
    );
    let err = maison_agent_api::AgentClient::new(
        &format!("http://127.0.0.1:{}", t.agent.addr.port()),
        &t.pki.client_tls(&t.pki.bot),
        Default::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
    t.agent.shutdown().await;
}
