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

use crate::datasets::{
    BlobBatch, DatasetInventory, FetchRequest, Manifest, RegisterRequest, ReplicaInfo,
};
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

/// The most of an answer that is read: an agent is trusted to answer, not to size its answers,
/// and an endless body from a broken or hostile one would otherwise take all the memory of the
/// bot or of the agent pulling from it.
const MAX_ANSWER: usize = 256 << 20;
/// The most of a dataset manifest that is read (one of 100,000 files takes 12 MB).
pub const MAX_MANIFEST: usize = 1 << 30;

/// The longest a container's commit into an image is waited for.
const SAVE_LIMIT: Duration = Duration::from_secs(600);

/// A client bound to one agent.
#[derive(Clone, Debug)]
pub struct AgentClient {
    base: Url,
    http: reqwest::Client,
}

/// A blob body arriving from a peer, read piece by piece as it comes off the wire (never
/// buffered whole: a blob can be gigabytes).
#[derive(Debug)]
pub struct BlobStream {
    resp: reqwest::Response,
}

impl BlobStream {
    /// Bytes the peer announced (`Content-Length`), when it did.
    pub fn len(&self) -> Option<u64> {
        self.resp.content_length()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// A response header the peer sent, if it is there and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.resp.headers().get(name)?.to_str().ok()
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, ClientError> {
        self.resp.chunk().await.map_err(ClientError::Transport)
    }
}

impl AgentClient {
    /// `base_url` is the agent's root, e.g. `https://gpu01.lan:8443`.
    pub fn new(base_url: &str, tls: &ClientTls, timeouts: Timeouts) -> Result<Self, ClientError> {
        Self::build(base_url, tls, timeouts, false)
    }

    /// A client for bulk transfers between agents (dataset blobs): HTTP/1.1 only, so that
    /// parallel requests travel on parallel TLS connections (decrypted on as many cores)
    /// instead of being multiplexed over one; `timeouts.request` bounds each whole request
    /// and a stalled body fails after `timeouts.connect` × 10 without a byte.
    pub fn for_transfers(
        base_url: &str,
        tls: &ClientTls,
        timeouts: Timeouts,
    ) -> Result<Self, ClientError> {
        Self::build(base_url, tls, timeouts, true)
    }

    fn build(
        base_url: &str,
        tls: &ClientTls,
        timeouts: Timeouts,
        bulk: bool,
    ) -> Result<Self, ClientError> {
        let base = Url::parse(base_url)
            .map_err(|e| ClientError::Config(format!("bad agent URL {base_url:?}: {e}")))?;
        if base.scheme() != "https" {
            return Err(ClientError::Config(format!(
                "agent URL {base_url:?} must use https: agents have no plaintext listener"
            )));
        }
        let mut config = client_tls_config(tls)?;
        let mut builder = reqwest::Client::builder();
        if bulk {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            builder = builder
                .http1_only()
                .read_timeout(timeouts.connect * 10)
                .pool_max_idle_per_host(64);
        }
        let http = builder
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

    /// Commits the owner's container into a new image labelled with where it came from.
    pub async fn save_image(
        &self,
        request: &crate::images::SaveImageRequest,
    ) -> Result<crate::images::SavedImage, ClientError> {
        // A commit writes the container's changes as a layer: minutes for a big container,
        // longer than the client's timeout for quick calls.
        self.post_within(&["v1", "images", "save"], request, SAVE_LIMIT)
            .await
    }

    /// Builds an image from a Dockerfile in its owner's directory; answers when the build is
    /// done. `limit` bounds the whole build.
    pub async fn build_image(
        &self,
        request: &crate::images::BuildImageRequest,
        limit: Duration,
    ) -> Result<crate::images::BuiltImage, ClientError> {
        self.post_within(&["v1", "images", "build"], request, limit)
            .await
    }

    /// The image copies arriving and builds running on this host.
    pub async fn image_progress(&self) -> Result<Vec<crate::images::ImageProgress>, ClientError> {
        self.call(Method::GET, &["v1", "images", "progress"], &[], None::<&()>)
            .await
    }

    /// Copies an image here from peers that hold it; answers when the copy is complete.
    /// `limit` bounds the whole copy (the client's usual request timeout is for quick calls).
    pub async fn fetch_image(
        &self,
        request: &crate::images::FetchImageRequest,
        limit: Duration,
    ) -> Result<crate::images::FetchedImage, ClientError> {
        self.post_within(&["v1", "images", "fetch"], request, limit)
            .await
    }

    /// An image as a `docker load` archive without the layers the asker holds, streamed. A
    /// peer certificate may call this.
    pub async fn export_image(
        &self,
        request: &crate::images::ExportImageRequest,
    ) -> Result<BlobStream, ClientError> {
        let resp = self
            .request(
                Method::POST,
                &["v1", "images", "export"],
                &[],
                Some(request),
            )?
            .send()
            .await
            .map_err(ClientError::Transport)?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.map_err(ClientError::Transport)?;
            return Err(api_error(status, &body));
        }
        Ok(BlobStream { resp })
    }

    /// Removes an image (id or reference); refused while any container uses it.
    pub async fn remove_image(&self, id: &str) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &["v1", "images", id], &[])
            .await
    }

    /// The dataset replicas on this host and the room left.
    pub async fn datasets(&self) -> Result<DatasetInventory, ClientError> {
        self.call(Method::GET, &["v1", "datasets"], &[], None::<&()>)
            .await
    }

    /// Starts scanning a directory already on the host; the replica appears as `scanning`.
    pub async fn register_dataset(
        &self,
        req: &RegisterRequest,
    ) -> Result<ReplicaInfo, ClientError> {
        self.call(
            Method::POST,
            &["v1", "datasets", "register"],
            &[],
            Some(req),
        )
        .await
    }

    /// Starts (or resumes, or reports) a copy pulled from peers.
    pub async fn fetch_dataset(&self, req: &FetchRequest) -> Result<ReplicaInfo, ClientError> {
        self.call(Method::POST, &["v1", "datasets", "fetch"], &[], Some(req))
            .await
    }

    /// The manifest of a version this host holds (complete, or being fetched).
    pub async fn manifest(&self, id: &str) -> Result<Manifest, ClientError> {
        let bytes = self.manifest_bytes(id).await?;
        parse_json(StatusCode::OK, &bytes)
    }

    /// The manifest's bytes as the host sent them, for a caller that checks them against the
    /// id before parsing ([`Manifest::from_json_with_id`]).
    pub async fn manifest_bytes(&self, id: &str) -> Result<bytes::Bytes, ClientError> {
        let resp = self
            .request(
                Method::GET,
                &["v1", "datasets", id, "manifest"],
                &[],
                None::<&()>,
            )?
            .send()
            .await
            .map_err(ClientError::Transport)?;
        success_body(resp, MAX_MANIFEST).await
    }

    /// Starts re-hashing a replica; the outcome lands in its `last_verify`.
    pub async fn verify_dataset(&self, id: &str) -> Result<ReplicaInfo, ClientError> {
        self.call(
            Method::POST,
            &["v1", "datasets", id, "verify"],
            &[],
            None::<&()>,
        )
        .await
    }

    /// Removes a copied replica (or forgets a registered one); refused while mounted.
    pub async fn remove_dataset(&self, id: &str) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &["v1", "datasets", id], &[])
            .await
    }

    /// A blob (a dataset file, by its BLAKE3 hash) or a byte range of it, streamed. A peer
    /// certificate may call this. With a range the agent answers 206 with exactly that range.
    pub async fn blob(
        &self,
        hash: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<BlobStream, ClientError> {
        let mut req = self.request(Method::GET, &["v1", "blobs", hash], &[], None::<&()>)?;
        if let Some(r) = &range {
            if r.start >= r.end {
                return Err(ClientError::Config(format!(
                    "empty byte range {}..{}",
                    r.start, r.end
                )));
            }
            req = req.header(
                reqwest::header::RANGE,
                format!("bytes={}-{}", r.start, r.end - 1),
            );
        }
        let resp = req.send().await.map_err(ClientError::Transport)?;
        let status = resp.status();
        let expected = if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        if status != expected {
            let body = resp.text().await.map_err(ClientError::Transport)?;
            return Err(api_error(status, &body));
        }
        Ok(BlobStream { resp })
    }

    /// Many small blobs in one answer: their bytes concatenated in the order asked; the
    /// caller splits them by the sizes its manifest gives. A peer certificate may call this.
    pub async fn blobs(&self, batch: &BlobBatch) -> Result<BlobStream, ClientError> {
        let resp = self
            .request(Method::POST, &["v1", "blobs"], &[], Some(batch))?
            .send()
            .await
            .map_err(ClientError::Transport)?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.map_err(ClientError::Transport)?;
            return Err(api_error(status, &body));
        }
        Ok(BlobStream { resp })
    }

    /// The Prometheus text exposition.
    pub async fn prometheus(&self) -> Result<String, ClientError> {
        let resp = self
            .request(Method::GET, &["metrics"], &[], None::<&()>)?
            .send()
            .await
            .map_err(ClientError::Transport)?;
        let body = success_body(resp, MAX_ANSWER).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
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
        decode(resp).await
    }

    /// A POST whose answer may take long (a build, a copy): bounded by `limit` rather than by
    /// the client's timeout for quick calls.
    async fn post_within<T: DeserializeOwned, B: Serialize>(
        &self,
        segments: &[&str],
        body: &B,
        limit: Duration,
    ) -> Result<T, ClientError> {
        let resp = self
            .request(Method::POST, segments, &[], Some(body))?
            .timeout(limit)
            .send()
            .await
            .map_err(ClientError::Transport)?;
        decode(resp).await
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

/// The body of a successful answer, read up to `limit` bytes (refused beyond, announced or
/// not), or the agent's error.
async fn success_body(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<bytes::Bytes, ClientError> {
    let status = resp.status();
    let too_big = || ClientError::Decode {
        status: status.as_u16(),
        body: format!(
            "an answer of more than {} MiB, the most this client reads",
            limit >> 20
        ),
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(piece) = resp.chunk().await.map_err(ClientError::Transport)? {
        if body.len() + piece.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&piece);
    }
    let bytes = body.freeze();
    if !status.is_success() {
        return Err(api_error(status, &String::from_utf8_lossy(&bytes)));
    }
    Ok(bytes)
}

/// A JSON answer, or the agent's error.
async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, ClientError> {
    let status = resp.status();
    let bytes = success_body(resp, MAX_ANSWER).await?;
    parse_json(status, &bytes)
}

/// A successful answer's JSON, or what was unreadable in it.
fn parse_json<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(bytes).map_err(|_| ClientError::Decode {
        status: status.as_u16(),
        body: truncate(&String::from_utf8_lossy(bytes)),
    })
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
    let mut provider = rustls::crypto::ring::default_provider();
    // AES-128-GCM first (the server follows the client's order): a dataset copy encrypts and
    // decrypts every byte, and with four fewer AES rounds than AES-256 it costs less CPU, for
    // a key size TLS 1.3 requires every implementation to offer.
    provider
        .cipher_suites
        .sort_by_key(|suite| suite.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Config(format!("TLS versions: {e}")))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| ClientError::Config(format!("client certificate and key: {e}")))
}
