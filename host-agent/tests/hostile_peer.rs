//! A source that answers what a healthy agent never would, played by a small TLS server of the
//! test's own with an agent certificate of the fleet's CA: the agent pulling from it refuses
//! the answer, by name, without taking it into memory.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::data::{fetch_request, make_tree, register_complete};
use common::{TestAgent, TestPki, client_for};
use maison_agent_api::ClientError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `answer` (then as many zeros as `endless` asks) to each connection, after reading
/// its request's head, as an agent of `pki`'s CA.
async fn scripted_source(pki: &TestPki, answer: &'static [u8], endless: bool) -> SocketAddr {
    let chain = CertificateDer::pem_slice_iter(pki.agent.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.agent.key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                if tls.write_all(answer).await.is_err() {
                    return;
                }
                let zeros = vec![b'0'; 1 << 20];
                while endless && tls.write_all(&zeros).await.is_ok() {}
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_source_announcing_an_enormous_manifest_is_refused_before_it_is_read() {
    let t = TestAgent::start().await;
    // A real dataset, so that the manifest id is one the bot could really ask for.
    let src = t.datasets.join("huge");
    make_tree(&src, "huge", 0, 0, 3, 100);
    let id = register_complete(&t.client, "huge", "v1", &src).await;
    let source = scripted_source(
        &t.pki,
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000000000\r\n\r\n{",
        true,
    )
    .await;
    let peer = client_for(source, &t.pki.client_tls(&t.pki.peer));
    match peer.manifest_bytes(&id).await {
        Err(ClientError::Decode { body, .. }) => {
            assert!(body.contains("the most this client reads"), "{body}")
        }
        other => panic!("expected a refusal of the size, got {other:?}"),
    }

    // The agent asked to copy from it says why it cannot, and has no copy under way.
    let sibling = t.pki.sibling();
    let b = TestAgent::start_with_pki(sibling, |_| {}).await;
    let url = format!("https://127.0.0.1:{}", source.port());
    let err = b
        .client
        .fetch_dataset(&fetch_request("huge", "v1", &id, &[("gpu-evil", url)]))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the most this client reads"),
        "{err}"
    );
    assert!(b.client.datasets().await.unwrap().replicas.is_empty());
    t.agent.shutdown().await;
    b.agent.shutdown().await;
}

#[tokio::test]
async fn a_source_sending_an_endless_unannounced_body_is_cut_off() {
    let pki = TestPki::new();
    // No length, closed by the connection's end that never comes: the client must stop
    // reading at its limit on its own.
    let source = scripted_source(
        &pki,
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n",
        true,
    )
    .await;
    let bot = client_for(source, &pki.client_tls(&pki.bot));
    match bot.prometheus().await {
        Err(ClientError::Decode { body, .. }) => {
            assert!(body.contains("more than 256 MiB"), "{body}")
        }
        other => panic!("expected the body to be cut off, got {other:?}"),
    }
}
