//! Mutual TLS for the agent's listener.
//!
//! A client must present a certificate that chains to the Maison CA (webpki path
//! validation, including expiry and the clientAuth key usage) *and* carries the
//! bot or the peer role. The role is checked inside the certificate verifier, so a refused
//! client fails the handshake before a byte of HTTP is read. Which routes each role may call
//! is decided per connection in [`crate::server`]: a peer (another agent pulling dataset
//! blobs) only reads blobs and manifests.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use maison_pki::Role;

#[derive(Debug, thiserror::Error)]
#[error("client certificate refused: {0}")]
struct RoleRefused(String);

/// The Maison role of a client certificate that already passed path validation: the bot, or
/// a peer agent; anything else is refused.
pub fn check_client_role(end_entity: &CertificateDer<'_>) -> Result<Role, String> {
    match maison_pki::role_of_der(end_entity.as_ref()) {
        Ok(Some(role @ (Role::Bot | Role::Peer))) => Ok(role),
        Ok(Some(other)) => Err(format!(
            "certificate has role {other}; only the bot (or a peer agent, for dataset blobs) may call an agent"
        )),
        Ok(None) => Err("certificate carries no Maison role".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Wraps webpki's verifier and adds the role check.
#[derive(Debug)]
struct RoleVerifier {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for RoleVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
            .inspect_err(|e| tracing::warn!(error = %e, "client certificate refused"))?;
        if let Err(reason) = check_client_role(end_entity) {
            tracing::warn!(%reason, "client certificate refused");
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(RoleRefused(reason)))),
            ));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Builds the server configuration from PEM text.
pub fn server_config_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    ca_pem: &[u8],
) -> anyhow::Result<rustls::ServerConfig> {
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_pem) {
        roots
            .add(ca.context("reading the client CA PEM")?)
            .context("the client CA certificate is not usable")?;
    }
    anyhow::ensure!(!roots.is_empty(), "the client CA file holds no certificate");
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .context("building the client certificate verifier")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .context("reading the agent certificate PEM")?;
    anyhow::ensure!(
        !chain.is_empty(),
        "the agent certificate file holds no certificate"
    );
    if let Ok(Some(role)) = maison_pki::role_of_der(chain[0].as_ref())
        && role != Role::Agent
    {
        tracing::warn!(%role, "the agent is serving with a certificate whose role is not agent");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).context("reading the agent key PEM")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_client_cert_verifier(Arc::new(RoleVerifier { inner }))
        .with_single_cert(chain, key)
        .context("the agent certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Builds the server configuration from the configured files.
pub fn server_config(cfg: &crate::config::TlsConfig) -> anyhow::Result<rustls::ServerConfig> {
    let read = |p: &Path, what: &str| {
        std::fs::read(p).with_context(|| format!("reading the {what} {}", p.display()))
    };
    server_config_from_pem(
        &read(&cfg.cert, "agent certificate")?,
        &read(&cfg.key, "agent key")?,
        &read(&cfg.client_ca, "client CA")?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use maison_pki::{Ca, CertSpec};

    fn der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    #[test]
    fn only_bot_and_peer_roles_pass() {
        let ca = Ca::generate("T").unwrap();
        assert_eq!(
            check_client_role(&der(&ca.issue_bot("b").unwrap().cert_pem)),
            Ok(Role::Bot)
        );
        assert_eq!(
            check_client_role(&der(&ca.issue_peer("h").unwrap().cert_pem)),
            Ok(Role::Peer)
        );
        let agent = ca.issue_agent("h", &[]).unwrap();
        assert!(
            check_client_role(&der(&agent.cert_pem))
                .unwrap_err()
                .contains("role agent")
        );
        let roleless = ca
            .issue(&CertSpec {
                role: None,
                ..CertSpec::bot("x")
            })
            .unwrap();
        assert!(
            check_client_role(&der(&roleless.cert_pem))
                .unwrap_err()
                .contains("no Maison role")
        );
    }

    #[test]
    fn server_config_builds_from_pki_output() {
        let ca = Ca::generate("T").unwrap();
        let agent = ca.issue_agent("localhost", &["127.0.0.1".into()]).unwrap();
        server_config_from_pem(
            agent.cert_pem.as_bytes(),
            agent.key_pem.as_bytes(),
            ca.cert_pem().as_bytes(),
        )
        .unwrap();
        let other = Ca::generate("O").unwrap();
        let err = server_config_from_pem(
            agent.cert_pem.as_bytes(),
            other.issue_agent("x", &[]).unwrap().key_pem.as_bytes(),
            ca.cert_pem().as_bytes(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("do not match"), "{err:#}");
    }
}
