//! Maison's private certificate authority.
//!
//! The bot and every agent authenticate each other with certificates from this CA
//! only. A certificate carries its role twice:
//!
//! * extended key usage: bot and peer certificates are `clientAuth` only, agent
//!   certificates `serverAuth` only, so TLS libraries already refuse an agent certificate
//!   used as a client;
//! * a subject-alternative-name URI `urn:maison:role:bot`, `urn:maison:role:agent` or
//!   `urn:maison:role:peer`, which the agent checks explicitly after path validation. That
//!   check does not depend on EKU handling, and it refuses any certificate profile that is
//!   neither the bot nor a peer.
//!
//! A **peer** certificate is what one agent presents to another when it pulls dataset blobs:
//! it is issued alongside each agent's own, and an agent lets a peer call nothing but the
//! read-only blob and manifest routes.
//!
//! Keys are ECDSA P-256. The library is used by `maison-bot pki …`, by the
//! stand-alone `maison-pki` binary and by tests, which issue certificates on the fly.

mod cli;

pub use cli::{PkiCommand, agent_files, peer_files, run, run_to};

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
};
use time::OffsetDateTime;

/// Prefix of the role URI in the subject alternative names.
pub const ROLE_URI_PREFIX: &str = "urn:maison:role:";

/// How long issued certificates are valid by default. Re-issue to rotate.
pub const DEFAULT_LEAF_VALIDITY: Duration = Duration::from_secs(2 * 365 * 24 * 3600);
/// How long the CA is valid.
pub const DEFAULT_CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Certificates start being valid a little in the past to tolerate clock skew.
const BACKDATE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Bot,
    Agent,
    /// Another agent pulling dataset blobs (read-only routes only).
    Peer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Bot => "bot",
            Role::Agent => "agent",
            Role::Peer => "peer",
        }
    }

    /// The SAN URI that marks this role.
    pub fn uri(self) -> String {
        format!("{ROLE_URI_PREFIX}{}", self.as_str())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot parse certificate: {0}")]
    Parse(String),
    #[error("the CA key does not belong to the CA certificate")]
    KeyMismatch,
    #[error("{0:?} is not a valid host name or IP address for a certificate")]
    BadName(String),
    #[error("certificate has several Maison roles: {0:?}")]
    AmbiguousRole(Vec<String>),
}

/// A certificate and its private key, PEM encoded.
#[derive(Clone)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Everything that can vary in an issued certificate. The `issue_*` helpers cover
/// the normal profiles; tests use this directly to build deliberately wrong ones.
#[derive(Debug, Clone)]
pub struct CertSpec {
    pub common_name: String,
    /// Role URI to embed; `None` issues a certificate without a Maison role.
    pub role: Option<Role>,
    /// DNS names and IP addresses.
    pub names: Vec<String>,
    pub client_auth: bool,
    pub server_auth: bool,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl CertSpec {
    pub fn bot(name: &str) -> Self {
        let now = SystemTime::now();
        CertSpec {
            common_name: name.to_string(),
            role: Some(Role::Bot),
            names: Vec::new(),
            client_auth: true,
            server_auth: false,
            not_before: now - BACKDATE,
            not_after: now + DEFAULT_LEAF_VALIDITY,
        }
    }

    pub fn agent(host: &str, sans: &[String]) -> Self {
        let now = SystemTime::now();
        let mut names = vec![host.to_string()];
        for s in sans {
            if !names.contains(s) {
                names.push(s.clone());
            }
        }
        CertSpec {
            common_name: host.to_string(),
            role: Some(Role::Agent),
            names,
            client_auth: false,
            server_auth: true,
            not_before: now - BACKDATE,
            not_after: now + DEFAULT_LEAF_VALIDITY,
        }
    }
}

impl CertSpec {
    /// The client identity an agent uses to pull from other agents: `clientAuth` only, role
    /// `peer`, no names (it is never a server).
    pub fn peer(host: &str) -> Self {
        let now = SystemTime::now();
        CertSpec {
            common_name: format!("peer-{host}"),
            role: Some(Role::Peer),
            names: Vec::new(),
            client_auth: true,
            server_auth: false,
            not_before: now - BACKDATE,
            not_after: now + DEFAULT_LEAF_VALIDITY,
        }
    }
}

/// The Maison CA: its certificate and signing key.
pub struct Ca {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Creates a new CA with a fresh key.
    pub fn generate(common_name: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name);
        // Path length 0: the CA signs leaves only, never intermediates.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = SystemTime::now();
        params.not_before = OffsetDateTime::from(now - BACKDATE);
        params.not_after = OffsetDateTime::from(now + DEFAULT_CA_VALIDITY);
        let cert = params.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        Ok(Ca {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads an existing CA, checking that the key matches the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        let der = first_pem_der(cert_pem)?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| PkiError::Parse(e.to_string()))?;
        if cert.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(PkiError::KeyMismatch);
        }
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(Ca {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            issuer,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key; write it with mode 0600.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// A client certificate for the bot (`clientAuth`, role `bot`).
    pub fn issue_bot(&self, name: &str) -> Result<IssuedCert, PkiError> {
        self.issue(&CertSpec::bot(name))
    }

    /// A server certificate for an agent (`serverAuth`, role `agent`). The host name
    /// is always a SAN; `sans` adds more names or IP addresses the bot may dial.
    pub fn issue_agent(&self, host: &str, sans: &[String]) -> Result<IssuedCert, PkiError> {
        self.issue(&CertSpec::agent(host, sans))
    }

    /// A client certificate for agent `host` to pull dataset blobs from its peers
    /// (`clientAuth`, role `peer`).
    pub fn issue_peer(&self, host: &str) -> Result<IssuedCert, PkiError> {
        self.issue(&CertSpec::peer(host))
    }

    pub fn issue_bot_with_validity(
        &self,
        name: &str,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Result<IssuedCert, PkiError> {
        self.issue(&CertSpec {
            not_before,
            not_after,
            ..CertSpec::bot(name)
        })
    }

    pub fn issue_agent_with_validity(
        &self,
        host: &str,
        sans: &[String],
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Result<IssuedCert, PkiError> {
        self.issue(&CertSpec {
            not_before,
            not_after,
            ..CertSpec::agent(host, sans)
        })
    }

    /// Issues a certificate exactly as described by `spec`.
    pub fn issue(&self, spec: &CertSpec) -> Result<IssuedCert, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(&spec.common_name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if spec.client_auth {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        if spec.server_auth {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        for name in &spec.names {
            params.subject_alt_names.push(san(name)?);
        }
        if let Some(role) = spec.role {
            params
                .subject_alt_names
                .push(SanType::URI(role.uri().try_into()?));
        }
        params.use_authority_key_identifier_extension = true;
        params.not_before = OffsetDateTime::from(spec.not_before);
        params.not_after = OffsetDateTime::from(spec.not_after);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Maison");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn san(name: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !valid {
        return Err(PkiError::BadName(name.to_string()));
    }
    Ok(SanType::DnsName(
        name.to_string()
            .try_into()
            .map_err(|_| PkiError::BadName(name.to_string()))?,
    ))
}

fn first_pem_der(pem: &str) -> Result<Vec<u8>, PkiError> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| PkiError::Parse(format!("not a PEM certificate: {e}")))?;
    Ok(block.contents)
}

/// The Maison role written in a DER certificate's SAN URIs, if any.
///
/// This does not validate the certificate: call it only on a certificate that
/// path validation has already accepted.
pub fn role_of_der(der: &[u8]) -> Result<Option<Role>, PkiError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| PkiError::Parse(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| PkiError::Parse(e.to_string()))?;
    let mut roles: Vec<String> = Vec::new();
    if let Some(san) = san {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::URI(uri) = name
                && let Some(role) = uri.strip_prefix(ROLE_URI_PREFIX)
            {
                roles.push(role.to_string());
            }
        }
    }
    match roles.as_slice() {
        [] => Ok(None),
        [one] => Ok(match one.as_str() {
            "bot" => Some(Role::Bot),
            "agent" => Some(Role::Agent),
            "peer" => Some(Role::Peer),
            _ => None,
        }),
        _ => Err(PkiError::AmbiguousRole(roles)),
    }
}

/// [`role_of_der`] for a PEM certificate.
pub fn role_of_pem(pem: &str) -> Result<Option<Role>, PkiError> {
    role_of_der(&first_pem_der(pem)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_embedded_and_read_back() {
        let ca = Ca::generate("Test CA").unwrap();
        let bot = ca.issue_bot("maison-bot").unwrap();
        let agent = ca
            .issue_agent("gpu01", &["10.0.0.5".into(), "gpu01.lan".into()])
            .unwrap();
        assert_eq!(role_of_pem(&bot.cert_pem).unwrap(), Some(Role::Bot));
        assert_eq!(role_of_pem(&agent.cert_pem).unwrap(), Some(Role::Agent));
        assert_eq!(role_of_pem(ca.cert_pem()).unwrap(), None);
        let peer = ca.issue_peer("gpu01").unwrap();
        assert_eq!(role_of_pem(&peer.cert_pem).unwrap(), Some(Role::Peer));
    }

    #[test]
    fn peer_certificate_is_a_client_without_names() {
        let ca = Ca::generate("Test CA").unwrap();
        let peer = ca.issue_peer("gpu01").unwrap();
        let der = first_pem_der(&peer.cert_pem).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        let names = &cert.subject_alternative_name().unwrap().unwrap().value;
        // Only the role URI: a peer certificate can never pass as a server.
        assert_eq!(names.general_names.len(), 1);
    }

    #[test]
    fn agent_certificate_has_server_auth_and_names() {
        let ca = Ca::generate("Test CA").unwrap();
        let agent = ca.issue_agent("gpu01", &["10.0.0.5".into()]).unwrap();
        let der = first_pem_der(&agent.cert_pem).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && !eku.client_auth);
        let names: Vec<String> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert!(names.iter().any(|n| n.contains("gpu01")), "{names:?}");
        assert!(names.iter().any(|n| n.contains("0a:00:00:05")), "{names:?}");
    }

    #[test]
    fn ca_round_trips_through_pem_and_keeps_signing() {
        let ca = Ca::generate("Test CA").unwrap();
        let again = Ca::from_pem(ca.cert_pem(), ca.key_pem()).unwrap();
        let bot = again.issue_bot("b").unwrap();
        let der = first_pem_der(&bot.cert_pem).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let ca_der = first_pem_der(ca.cert_pem()).unwrap();
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        assert_eq!(cert.issuer(), ca_cert.subject());
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
    }

    #[test]
    fn mismatched_key_is_refused() {
        let a = Ca::generate("A").unwrap();
        let b = Ca::generate("B").unwrap();
        assert!(matches!(
            Ca::from_pem(a.cert_pem(), b.key_pem()),
            Err(PkiError::KeyMismatch)
        ));
    }

    #[test]
    fn bad_names_are_refused() {
        let ca = Ca::generate("A").unwrap();
        assert!(matches!(
            ca.issue_agent("gpu 01", &[]),
            Err(PkiError::BadName(_))
        ));
        assert!(ca.issue_agent("gpu01", &["::1".into()]).is_ok());
    }
}
