//! Mutual-TLS client of the agent API, used by the bot.
//!
//! Trust is pinned to the Maison CA: no system roots, no skip-verify switch. The
//! crypto provider is passed explicitly so this works whatever the process-wide
//! default is (or is not).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode, Url};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    ApiError, ContainerProcesses, ContainerSummary, ErrorCode, Health, HostInfo, ImageSummary,
    LaunchResponse, LaunchSpec, MetricsResponse,
};

/// PEM material of the client identity (a bot certificate) and the CA that signs agents.
#[derive(Clone)]
pub struct ClientTls {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Timeouts for every call. Agents are on the LAN: a slow agent should be marked
/// unreachable rather than hold up a polling cycle.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            request: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("agent client configuration: {0}")]
    Config(String),
    #[error("agent unreachable or TLS failure: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("agent answered {status}: {error}")]
    Api { status: u16, error: ApiError },
    #[error("agent answered {status} with an unreadable body: {body}")]
    Decode { status: u16, body: String },
}

impl ClientError {
    /// The policy rule behind a refusal, if this is one.
    pub fn rule(&self) -> Option<&str> {
        match self {
            ClientError::Api { error, .. } => error.rule.as_deref(),
            _ => None,
        }
    }
}

/// A client bound to one agent.
#[derive(Clone, Debug)]
pub struct AgentClient {
    base: Url,
    http: reqwest::Client,
}

impl AgentClient {
    /// `base_url` is the agent's root, e.g. `https://gpu01.lan:8443`.
    pub fn new(base_url: &str, tls: &ClientTls, timeouts: Timeouts) -> Result<Self, ClientError> {
        let base = Url::parse(base_url)
            .map_err(|e| ClientError::Config(format!("bad agent URL {base_url:?}: {e}")))?;
        if base.scheme() != "https" {
            return Err(ClientError::Config(format!(
                "agent URL {base_url:?} must use https: agents have no plaintext listener"
            )));
        }
        let config = client_tls_config(tls)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .https_only(true)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .build()
            .map_err(|e| ClientError::Config(format!("building HTTP client: {e}")))?;
        Ok(AgentClient { base, http })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub async fn healthz(&self) -> Result<Health, ClientError> {
        self.call(Method::GET, &["healthz"], &[], None::<&()>).await
    }

    pub async fn host(&self) -> Result<HostInfo, ClientError> {
        self.call(Method::GET, &["v1", "host"], &[], None::<&()>)
            .await
    }

    pub async fn metrics(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<MetricsResponse, ClientError> {
        let query: Vec<(&str, String)> = since
            .map(|s| {
                (
                    "since",
                    s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
            })
            .into_iter()
            .collect();
        self.call(Method::GET, &["v1", "metrics"], &query, None::<&()>)
            .await
    }

    pub async fn containers(&self) -> Result<Vec<ContainerSummary>, ClientError> {
        self.call(Method::GET, &["v1", "containers"], &[], None::<&()>)
            .await
    }

    pub async fn launch(&self, spec: &LaunchSpec) -> Result<LaunchResponse, ClientError> {
        self.call(Method::POST, &["v1", "containers"], &[], Some(spec))
            .await
    }

    /// Stops a container, killing it after `timeout` (Docker's default when `None`).
    pub async fn stop(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<ContainerSummary, ClientError> {
        let query: Vec<(&str, String)> = timeout
            .map(|t| ("timeout", t.as_secs().to_string()))
            .into_iter()
            .collect();
        self.call(
            Method::POST,
            &["v1", "containers", id, "stop"],
            &query,
            None::<&()>,
        )
        .await
    }

    /// The host uids the container's processes run as (evidence for `claim`).
    pub async fn container_processes(&self, id: &str) -> Result<ContainerProcesses, ClientError> {
        self.call(
            Method::GET,
            &["v1", "containers", id, "processes"],
            &[],
            None::<&()>,
        )
        .await
    }

    /// Removes a container; a running one only with `force`.
    pub async fn remove(&self, id: &str, force: bool) -> Result<(), ClientError> {
        let query = [("force", force.to_string())];
        self.call_empty(Method::DELETE, &["v1", "containers", id], &query)
            .await
    }

    pub async fn images(&self) -> Result<Vec<ImageSummary>, ClientError> {
        self.call(Method::GET, &["v1", "images"], &[], None::<&()>)
            .await
    }

    /// Removes an image (id or reference); refused while any container uses it.
    pub async fn remove_image(&self, id: &str) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &["v1", "images", id], &[])
            .await
    }

    /// The Prometheus text exposition.
    pub async fn prometheus(&self) -> Result<String, ClientError> {
        let resp = self
            .request(Method::GET, &["metrics"], &[], None::<&()>)?
            .send()
            .await
            .map_err(ClientError::Transport)?;
        let status = resp.status();
        let body = resp.text().await.map_err(ClientError::Transport)?;
        if !status.is_success() {
            return Err(api_error(status, &body));
        }
        Ok(body)
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        {
            // Path segments are percent-encoded here, so an image reference such
            // as `repo/name:tag` stays one segment.
            let mut path = url
                .path_segments_mut()
                .map_err(|()| ClientError::Config("agent URL cannot be a base".into()))?;
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    fn request<B: Serialize>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let mut req = self.http.request(method, self.url(segments, query)?);
        if let Some(b) = body {
            req = req.json(b);
        }
        Ok(req)
    }

    async fn call<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let resp = self
            .request(method, segments, query, body)?
            .send()
            .await
            .map_err(ClientError::Transport)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(ClientError::Transport)?;
        if !status.is_success() {
            return Err(api_error(status, &String::from_utf8_lossy(&bytes)));
        }
        serde_json::from_slice(&bytes).map_err(|_| ClientError::Decode {
            status: status.as_u16(),
            body: truncate(&String::from_utf8_lossy(&bytes)),
        })
    }

    async fn call_empty(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<(), ClientError> {
        let resp = self
            .request(method, segments, query, None::<&()>)?
            .send()
            .await
            .map_err(ClientError::Transport)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp.text().await.map_err(ClientError::Transport)?;
        Err(api_error(status, &body))
    }
}

fn api_error(status: StatusCode, body: &str) -> ClientError {
    match serde_json::from_str::<ApiError>(body) {
        Ok(error) => ClientError::Api {
            status: status.as_u16(),
            error,
        },
        Err(_) if body.is_empty() => ClientError::Api {
            status: status.as_u16(),
            error: ApiError {
                code: ErrorCode::Unknown,
                message: status.to_string(),
                rule: None,
            },
        },
        Err(_) => ClientError::Decode {
            status: status.as_u16(),
            body: truncate(body),
        },
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(500).collect()
}

/// The rustls client configuration: Maison CA as the only root, the bot identity
/// as client certificate, ring as the provider.
pub fn client_tls_config(tls: &ClientTls) -> Result<rustls::ClientConfig, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    let mut n = 0;
    for cert in CertificateDer::pem_slice_iter(tls.ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| ClientError::Config(format!("reading CA PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| ClientError::Config(format!("CA certificate rejected: {e}")))?;
        n += 1;
    }
    if n == 0 {
        return Err(ClientError::Config(
            "the CA PEM holds no certificate".into(),
        ));
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| ClientError::Config(format!("reading client certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(ClientError::Config(
            "the client certificate PEM holds no certificate".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| ClientError::Config(format!("reading client key PEM: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Config(format!("TLS versions: {e}")))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| ClientError::Config(format!("client certificate and key: {e}")))
}
