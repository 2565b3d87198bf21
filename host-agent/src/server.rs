//! The HTTPS API: routes, handlers, and the TLS accept loop.
//!
//! Every connection carries the role its client certificate proved ([`ClientRole`]). The bot
//! may call everything; a peer (another agent copying a dataset) only the read-only blob and
//! manifest routes, and gets a 403 naming that rule anywhere else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use maison_agent_api::datasets::{DatasetInventory, FetchRequest, RegisterRequest, ReplicaInfo};
use maison_agent_api::images::{
    BuildImageRequest, BuiltImage, ExportImageRequest, FetchImageRequest, FetchedImage,
    ImageProgress, LAYERS_SKIPPED_HEADER, SaveImageRequest, SavedImage,
};
use maison_agent_api::{
    ApiError, ErrorCode, Health, HostInfo, LaunchResponse, LaunchSpec, MetricsResponse,
};
use maison_pki::Role;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::datasets::{DatasetError, Datasets};
use crate::docker::{Engine, EngineError};
use crate::inventory::Inventory;
use crate::policy::{Policy, build_container_config_with};
use crate::rollup::Clock;
use crate::sampler::Sampler;

/// Launch specs are small; anything bigger is not a launch spec.
const BODY_LIMIT: usize = 64 * 1024;
/// Connections whose client proved a bot certificate.
const MAX_CONNECTIONS: usize = 256;
/// Connections still in their TLS handshake, from anyone; they hold no authenticated slot.
const MAX_HANDSHAKES: usize = 512;
/// Handshakes in progress from one address: a neighbour opening idle sockets only ever
/// competes with itself.
const MAX_HANDSHAKES_PER_ADDRESS: usize = 16;
/// A client that has not finished the handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the handlers share.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub inventory: Arc<Inventory>,
    pub datasets: Arc<Datasets>,
    pub sampler: Arc<Sampler>,
    pub policy: Policy,
    pub clock: Arc<dyn Clock>,
    pub hostname: String,
    pub started: DateTime<Utc>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("hostname", &self.hostname)
            .finish_non_exhaustive()
    }
}

/// A failed request: status plus the JSON error body.
#[derive(Debug)]
pub struct AppError(StatusCode, ApiError);

impl AppError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError(
            status,
            ApiError {
                code,
                message: message.into(),
                rule: None,
            },
        )
    }

    fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> AppError {
        match e {
            EngineError::NotFound(m) => {
                AppError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, m)
            }
            EngineError::Conflict { message, rule } => AppError(
                StatusCode::CONFLICT,
                ApiError {
                    code: ErrorCode::Conflict,
                    message,
                    rule: rule.map(String::from),
                },
            ),
            EngineError::Docker(m) => {
                AppError::new(StatusCode::BAD_GATEWAY, ErrorCode::DockerError, m)
            }
            EngineError::Unavailable(m) => {
                AppError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::DockerError, m)
            }
            EngineError::Refused { message, rule } => AppError(
                StatusCode::FORBIDDEN,
                ApiError {
                    code: ErrorCode::PolicyRefused,
                    message,
                    rule: Some(rule.to_string()),
                },
            ),
        }
    }
}

impl From<DatasetError> for AppError {
    fn from(e: DatasetError) -> AppError {
        let message = e.to_string();
        let (status, code, rule) = match e {
            DatasetError::Disabled => (
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                Some("datasets-disabled"),
            ),
            DatasetError::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest, None),
            DatasetError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound, None),
            DatasetError::Conflict { rule, .. } => {
                (StatusCode::CONFLICT, ErrorCode::Conflict, Some(rule))
            }
            DatasetError::Refused { rule, .. } => {
                (StatusCode::FORBIDDEN, ErrorCode::PolicyRefused, Some(rule))
            }
            DatasetError::Upstream(_) => (StatusCode::BAD_GATEWAY, ErrorCode::NotFound, None),
            DatasetError::Internal(_) => {
                tracing::error!(error = %message, "dataset operation failed");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, None)
            }
        };
        AppError(
            status,
            ApiError {
                code,
                message,
                rule: rule.map(String::from),
            },
        )
    }
}

/// The role the client certificate of a connection proved (set per connection by
/// [`serve_tls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRole(pub Role);

/// Lets only the bot through. A peer certificate reaching a route behind this gets a clear
/// refusal rather than a bare TLS error, so a misrouted call is easy to diagnose.
async fn bot_only(role: Option<Extension<ClientRole>>, req: Request, next: Next) -> Response {
    match role {
        Some(Extension(ClientRole(Role::Bot))) => next.run(req).await,
        other => {
            let who = other.map_or("unknown".to_string(), |Extension(ClientRole(r))| {
                r.to_string()
            });
            tracing::warn!(role = %who, path = %req.uri().path(), "route refused to a non-bot certificate");
            AppError(
                StatusCode::FORBIDDEN,
                ApiError {
                    code: ErrorCode::Forbidden,
                    message: format!(
                        "a {who} certificate may only read blobs and manifests (GET /v1/blobs/{{hash}}, POST /v1/blobs, GET /v1/datasets/{{id}}/manifest)"
                    ),
                    rule: Some("peer-read-only".into()),
                },
            )
            .into_response()
        }
    }
}

type Shared = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    // What a peer agent may read; the bot may too.
    let shared = Router::new()
        .route("/v1/blobs/{hash}", get(get_blob))
        .route("/v1/blobs", post(post_blobs))
        .route("/v1/datasets/{id}/manifest", get(dataset_manifest))
        .route("/v1/images/export", post(export_image));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(prometheus))
        .route("/v1/host", get(host))
        .route("/v1/metrics", get(metrics))
        .route("/v1/containers", get(list_containers).post(launch))
        .route("/v1/containers/{id}/stop", post(stop_container))
        .route("/v1/containers/{id}/processes", get(container_processes))
        .route("/v1/containers/{id}", delete(remove_container))
        .route("/v1/images", get(list_images))
        .route("/v1/images/save", post(save_image))
        .route("/v1/images/fetch", post(fetch_image))
        .route("/v1/images/build", post(build_image))
        .route("/v1/images/progress", get(image_progress))
        .route("/v1/images/{id}", delete(remove_image))
        .route("/v1/datasets", get(list_datasets))
        .route("/v1/datasets/register", post(register_dataset))
        .route("/v1/datasets/fetch", post(fetch_dataset))
        .route("/v1/datasets/{id}/verify", post(verify_dataset))
        .route("/v1/datasets/{id}", delete(remove_dataset))
        .route_layer(axum::middleware::from_fn(bot_only))
        .merge(shared)
        .fallback(|| async {
            AppError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "no such endpoint; the API lives under /v1",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if method == axum::http::Method::GET && status < 400 {
        tracing::debug!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    response
}

async fn healthz(State(s): Shared) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        agent_version: env!("CARGO_PKG_VERSION").into(),
        inventory_live: s.inventory.is_live(),
    })
}

fn require_live(s: &AppState) -> Result<(), AppError> {
    if s.inventory.is_live() {
        Ok(())
    } else {
        Err(AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::DockerError,
            "the container inventory is not in sync with Docker right now; retry shortly",
        ))
    }
}

async fn host(State(s): Shared) -> Json<HostInfo> {
    let info = s.sampler.probe().info();
    let engine = s.engine.info();
    let root_dir = engine.as_ref().map(|e| e.root_dir.clone());
    let (free, total) = root_dir.as_deref().map(disk_space).unwrap_or((None, None));
    Json(HostInfo {
        hostname: s.hostname.clone(),
        cpus: host_cpus(),
        memory_total_bytes: memory_total_bytes().unwrap_or(0),
        docker_root_dir: root_dir,
        docker_root_free_bytes: free,
        docker_root_total_bytes: total,
        docker_version: engine.as_ref().map(|e| e.version.clone()),
        docker_api_version: engine.as_ref().map(|e| e.api_version.clone()),
        nvidia: info.nvidia.clone(),
        gpus: info.gpus.clone(),
        gpus_simulated: info.simulated,
        agent_version: env!("CARGO_PKG_VERSION").into(),
    })
}

// fsblkcnt_t and friends are not u64 on every target.
#[allow(clippy::unnecessary_cast)]
fn disk_space(path: &str) -> (Option<u64>, Option<u64>) {
    match nix::sys::statvfs::statvfs(path) {
        Ok(st) => {
            let frag = st.fragment_size() as u64;
            (
                Some(st.blocks_available() as u64 * frag),
                Some(st.blocks() as u64 * frag),
            )
        }
        Err(_) => (None, None),
    }
}

/// CPUs of the host, not of the agent's own cgroup or affinity mask.
pub(crate) fn host_cpus() -> u32 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN)
        .ok()
        .flatten()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1)
}

pub(crate) fn memory_total_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinceQuery {
    since: Option<DateTime<Utc>>,
}

async fn metrics(
    State(s): Shared,
    query: Result<Query<SinceQuery>, QueryRejection>,
) -> Result<Json<MetricsResponse>, AppError> {
    let Query(q) = query.map_err(|e| {
        AppError::bad_request(format!(
            "{e}; use ?since=<RFC 3339 time>, e.g. ?since=2025-01-31T12:00:00Z"
        ))
    })?;
    Ok(Json(MetricsResponse {
        simulated: s.sampler.probe().info().simulated,
        rollups: s.sampler.rollups_since(q.since),
        current: s.sampler.current(),
    }))
}

async fn list_containers(
    State(s): Shared,
) -> Result<Json<Vec<maison_agent_api::ContainerSummary>>, AppError> {
    require_live(&s)?;
    Ok(Json(s.inventory.containers()))
}

async fn launch(State(s): Shared, body: Bytes) -> Result<Response, AppError> {
    let spec: LaunchSpec = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request(format!("invalid launch spec: {e}")))?;
    let manifests: Vec<String> = spec.datasets.iter().map(|d| d.manifest.clone()).collect();
    // Held until the container exists (and the inventory knows its label): a removal in
    // between would empty a directory the container is about to see.
    let _pin = s.datasets.pin(&manifests);
    let now = s.clock.now();
    // On a blocking thread: the checks open every mount, and a dataset registered in place is
    // walked again to see it has not changed (100,000 files take a noticeable while).
    let (state, checked) = (s.clone(), spec.clone());
    let plan = tokio::task::spawn_blocking(move || {
        build_container_config_with(&checked, &state.policy, now, state.datasets.as_ref())
    })
    .await
    .map_err(|e| {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            format!("checking the launch failed: {e}"),
        )
    })?;
    // The policy's refusals and the engine's (which needs the image) are answered alike.
    let launched = match plan {
        Ok(plan) => {
            s.engine
                .launch(spec.name.as_deref(), &spec.idempotency_key, plan)
                .await
        }
        Err(refusal) => Err(EngineError::from(refusal)),
    };
    let (created, container) = launched.inspect_err(|e| {
        if let EngineError::Refused { rule, message } = e {
            tracing::warn!(owner = %spec.owner, %rule, reason = %message, "launch refused");
        }
    })?;
    if created {
        let datasets: Vec<&str> = spec.datasets.iter().map(|d| d.name.as_str()).collect();
        tracing::info!(owner = %spec.owner, id = %container.id, name = %container.name, gpus = ?spec.gpus, ?datasets, "container launched");
        if !manifests.is_empty() {
            s.datasets.mounted(&manifests);
        }
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(LaunchResponse { created, container })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StopQuery {
    /// Seconds before Docker kills the container.
    timeout: Option<u32>,
}

async fn stop_container(
    State(s): Shared,
    Path(id): Path<String>,
    query: Result<Query<StopQuery>, QueryRejection>,
) -> Result<Json<maison_agent_api::ContainerSummary>, AppError> {
    let Query(q) =
        query.map_err(|e| AppError::bad_request(format!("{e}; use ?timeout=<seconds>")))?;
    let timeout = q.timeout.map(|t| t.min(3600) as i32);
    Ok(Json(s.engine.stop(&id, timeout).await?))
}

async fn container_processes(
    State(s): Shared,
    Path(id): Path<String>,
) -> Result<Json<maison_agent_api::ContainerProcesses>, AppError> {
    Ok(Json(s.engine.processes(&id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveQuery {
    #[serde(default)]
    force: bool,
}

async fn remove_container(
    State(s): Shared,
    Path(id): Path<String>,
    query: Result<Query<RemoveQuery>, QueryRejection>,
) -> Result<StatusCode, AppError> {
    let Query(q) =
        query.map_err(|e| AppError::bad_request(format!("{e}; use ?force=true|false")))?;
    s.engine.remove(&id, q.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_images(
    State(s): Shared,
) -> Result<Json<Vec<maison_agent_api::ImageSummary>>, AppError> {
    require_live(&s)?;
    Ok(Json(s.inventory.images()))
}

async fn save_image(
    State(s): Shared,
    body: Bytes,
) -> Result<(StatusCode, Json<SavedImage>), AppError> {
    let request: SaveImageRequest = parse_json(&body, "save request")?;
    let saved = s.engine.save_image(&request).await?;
    tracing::info!(owner = %request.owner, container = %request.container, image = %saved.reference, id = %saved.id, "container saved as an image");
    Ok((StatusCode::CREATED, Json(saved)))
}

async fn image_progress(State(s): Shared) -> Json<Vec<ImageProgress>> {
    Json(s.engine.image_work.snapshot())
}

/// Builds an image from a Dockerfile in its owner's directory, the context read as the owner.
async fn build_image(
    State(s): Shared,
    body: Bytes,
) -> Result<(StatusCode, Json<BuiltImage>), AppError> {
    let request: BuildImageRequest = parse_json(&body, "image build request")?;
    let (limits, cgroup) = s.policy.build_limits();
    let built = async {
        let context = s
            .policy
            .build_context(&request.dockerfile, request.uid)?;
        s.engine
            .build_image(&request, &context, &limits, cgroup)
            .await
    }
    .await
    .inspect_err(|e| {
        tracing::warn!(owner = %request.owner, dockerfile = %request.dockerfile, error = %e, "image build refused or failed");
    })?;
    tracing::info!(owner = %request.owner, image = %built.reference, id = %built.id, dockerfile = %request.dockerfile, "image built");
    Ok((StatusCode::CREATED, Json(built)))
}

/// Copies an image here from the peers the bot names; answers when it is loaded and tagged.
async fn fetch_image(
    State(s): Shared,
    body: Bytes,
) -> Result<(StatusCode, Json<FetchedImage>), AppError> {
    let request: FetchImageRequest = parse_json(&body, "image fetch request")?;
    let context = crate::images::fetch::FetchContext {
        sources: s.datasets.peer_clients(&request.sources)?,
        recv_cap: s.datasets.recv_cap.clone(),
        free_margin: s.datasets.free_margin(),
    };
    let fetched = s.engine.fetch_image(&request, context).await?;
    Ok((StatusCode::OK, Json(fetched)))
}

/// An image for a peer that is copying it, as a `docker load` archive without the layers the
/// peer says it holds; paced by the same cap as dataset serving.
async fn export_image(State(s): Shared, body: Bytes) -> Result<Response, AppError> {
    let request: ExportImageRequest = parse_json(&body, "image export request")?;
    let export = s
        .engine
        .export_image(&request, s.datasets.serve_cap.clone())
        .await?;
    tracing::info!(image = %request.image_id, layers_skipped = export.layers_skipped, "sending an image to a peer");
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (
                header::HeaderName::from_static(LAYERS_SKIPPED_HEADER),
                export.layers_skipped.to_string(),
            ),
        ],
        axum::body::Body::from_stream(export.body),
    )
        .into_response())
}

async fn remove_image(State(s): Shared, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    s.engine.remove_image(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_datasets(State(s): Shared) -> Result<Json<DatasetInventory>, AppError> {
    Ok(Json(s.datasets.inventory()?))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("invalid {what}: {e}")))
}

async fn register_dataset(
    State(s): Shared,
    body: Bytes,
) -> Result<(StatusCode, Json<ReplicaInfo>), AppError> {
    let req: RegisterRequest = parse_json(&body, "register request")?;
    Ok((StatusCode::ACCEPTED, Json(s.datasets.register(&req)?)))
}

async fn fetch_dataset(
    State(s): Shared,
    body: Bytes,
) -> Result<(StatusCode, Json<ReplicaInfo>), AppError> {
    let req: FetchRequest = parse_json(&body, "fetch request")?;
    Ok((StatusCode::ACCEPTED, Json(s.datasets.fetch(&req).await?)))
}

async fn verify_dataset(
    State(s): Shared,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ReplicaInfo>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(s.datasets.verify(&id)?)))
}

async fn remove_dataset(State(s): Shared, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    s.datasets.remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn dataset_manifest(State(s): Shared, Path(id): Path<String>) -> Result<Response, AppError> {
    let bytes = s.datasets.manifest_bytes(&id)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn get_blob(
    State(s): Shared,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    Ok(s.datasets.blob(hash, headers).await?)
}

async fn post_blobs(State(s): Shared, body: Bytes) -> Result<Response, AppError> {
    Ok(s.datasets.blobs(&body).await?)
}

async fn prometheus(State(s): Shared) -> Response {
    let text = render_prometheus(&s);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

fn render_prometheus(s: &AppState) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let inv = &s.inventory.stats;
    let (containers, owned) = s.inventory.container_count();
    let probe = s.sampler.probe().stats();
    let simulated = s.sampler.probe().info().simulated;
    metric(
        "maison_agent_up",
        "gauge",
        "1 while the agent runs.",
        &[(String::new(), 1.0)],
    );
    metric(
        "maison_agent_inventory_live",
        "gauge",
        "1 while the inventory is in sync with Docker.",
        &[(String::new(), f64::from(u8::from(s.inventory.is_live())))],
    );
    metric(
        "maison_agent_containers",
        "gauge",
        "Containers known, by ownership.",
        &[
            ("{owned=\"true\"}".into(), owned as f64),
            ("{owned=\"false\"}".into(), (containers - owned) as f64),
        ],
    );
    metric(
        "maison_agent_inventory_relists_total",
        "counter",
        "Full container listings (start-up and reconnects).",
        &[(
            String::new(),
            inv.full_relists.load(Ordering::Relaxed) as f64,
        )],
    );
    metric(
        "maison_agent_docker_events_total",
        "counter",
        "Docker events received.",
        &[(String::new(), inv.events.load(Ordering::Relaxed) as f64)],
    );
    metric(
        "maison_agent_gpu_probe_samples_total",
        "counter",
        "Successful GPU sampling rounds.",
        &[(String::new(), probe.samples.load(Ordering::Relaxed) as f64)],
    );
    metric(
        "maison_agent_gpu_probe_errors_total",
        "counter",
        "GPU sampling rounds that failed.",
        &[(String::new(), probe.errors.load(Ordering::Relaxed) as f64)],
    );
    metric(
        "maison_agent_gpu_probe_missed_deadlines_total",
        "counter",
        "GPU sampling rounds abandoned at their deadline (readings went stale).",
        &[(
            String::new(),
            probe.missed_deadlines.load(Ordering::Relaxed) as f64,
        )],
    );
    metric(
        "maison_agent_gpu_probe_last_seconds",
        "gauge",
        "Duration of the last GPU sampling round (all GPUs).",
        &[(
            String::new(),
            probe.last_micros.load(Ordering::Relaxed) as f64 / 1e6,
        )],
    );
    metric(
        "maison_agent_gpu_probe_max_seconds",
        "gauge",
        "Longest GPU sampling round since start.",
        &[(
            String::new(),
            probe.max_micros.load(Ordering::Relaxed) as f64 / 1e6,
        )],
    );
    let current = s.sampler.current();
    let sim = if simulated { "true" } else { "false" };
    let per_gpu = |f: &dyn Fn(&maison_agent_api::GpuReading) -> Option<f64>| -> Vec<(String, f64)> {
        current
            .iter()
            .filter(|r| !r.stale)
            .filter_map(|r| f(r).map(|v| (format!("{{gpu=\"{}\",simulated=\"{sim}\"}}", r.gpu), v)))
            .collect()
    };
    metric(
        "maison_agent_gpu_utilization_percent",
        "gauge",
        "GPU utilisation of the latest fresh sample.",
        &per_gpu(&|r| Some(f64::from(r.util_pct))),
    );
    metric(
        "maison_agent_gpu_memory_used_bytes",
        "gauge",
        "GPU memory used in the latest fresh sample.",
        &per_gpu(&|r| Some(r.mem_used_bytes as f64)),
    );
    metric(
        "maison_agent_gpu_power_watts",
        "gauge",
        "GPU power draw in the latest fresh sample.",
        &per_gpu(&|r| r.power_watts.map(f64::from)),
    );
    metric(
        "maison_agent_gpu_temperature_celsius",
        "gauge",
        "GPU temperature in the latest fresh sample.",
        &per_gpu(&|r| r.temp_celsius.map(f64::from)),
    );
    let ds = s.datasets.gauges();
    metric(
        "maison_agent_dataset_replicas",
        "gauge",
        "Dataset replicas on this host, by state.",
        &ds.by_state
            .iter()
            .map(|(state, n, _)| (format!("{{state=\"{state}\"}}"), *n as f64))
            .collect::<Vec<_>>(),
    );
    metric(
        "maison_agent_dataset_present_bytes",
        "gauge",
        "Bytes of dataset replicas present on this host, by state.",
        &ds.by_state
            .iter()
            .map(|(state, _, b)| (format!("{{state=\"{state}\"}}"), *b as f64))
            .collect::<Vec<_>>(),
    );
    metric(
        "maison_agent_dataset_blobs",
        "gauge",
        "Distinct file hashes this host serves to peers.",
        &[(String::new(), ds.blobs_indexed as f64)],
    );
    let dstats = &s.datasets.stats;
    for (name, help, value) in [
        (
            "maison_agent_dataset_received_bytes_total",
            "Dataset bytes received from peers (including re-sent pieces).",
            &dstats.bytes_received,
        ),
        (
            "maison_agent_dataset_served_bytes_total",
            "Dataset bytes served to peers.",
            &dstats.bytes_served,
        ),
        (
            "maison_agent_dataset_corrupt_chunks_total",
            "Pieces received that did not match their hash (fetched again elsewhere).",
            &dstats.corrupt_chunks,
        ),
    ] {
        metric(
            name,
            "counter",
            help,
            &[(String::new(), value.load(Ordering::Relaxed) as f64)],
        );
    }
    metric(
        "maison_agent_rollup_minutes",
        "gauge",
        "GPU-minute rollups held in memory.",
        &[(String::new(), s.sampler.rollup_count() as f64)],
    );
    out
}

/// Handshakes in progress, per client address; an entry lives while a guard does.
#[derive(Debug, Default)]
struct Handshakes {
    by_address: std::sync::Mutex<HashMap<IpAddr, usize>>,
}

struct HandshakeSlot {
    table: Arc<Handshakes>,
    address: IpAddr,
}

impl Handshakes {
    fn try_enter(self: &Arc<Self>, address: IpAddr) -> Option<HandshakeSlot> {
        let mut map = self.by_address.lock().unwrap();
        let n = map.entry(address).or_default();
        if *n >= MAX_HANDSHAKES_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(HandshakeSlot {
            table: self.clone(),
            address,
        })
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut map = self.table.by_address.lock().unwrap();
        if let Some(n) = map.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// Accepts TLS connections until `shutdown` fires. Each connection is served by
/// hyper (HTTP/1.1 or HTTP/2, chosen by ALPN).
///
/// Before authentication a connection is cheap to refuse and may not last: handshakes are
/// capped per address and in all, and time out after [`HANDSHAKE_TIMEOUT`]. Only a connection
/// that completed mutual TLS takes one of the [`MAX_CONNECTIONS`] slots, so idle sockets from
/// the network cannot lock the bot out.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let per_address = Arc::new(Handshakes::default());
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Typically EMFILE: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Some(address_slot) = per_address.try_enter(peer.ip()) else {
                    tracing::debug!(%peer, "too many handshakes from this address; dropping one");
                    continue;
                };
                let Ok(handshake_slot) = handshakes.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "too many handshakes in progress; dropping one");
                    continue;
                };
                let acceptor = acceptor.clone();
                let app = app.clone();
                let slots = slots.clone();
                conns.spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    drop((address_slot, handshake_slot));
                    // The verifier accepted only bot and peer certificates; read which one
                    // this is, once, for every request on the connection.
                    let role = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .and_then(|cert| maison_pki::role_of_der(cert.as_ref()).ok().flatten());
                    let Some(role) = role else {
                        tracing::warn!(%peer, "a connection without a readable role; closing it");
                        return;
                    };
                    let Ok(_permit) = slots.try_acquire_owned() else {
                        tracing::warn!(%peer, "too many authenticated connections; closing one");
                        return;
                    };
                    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    builder
                        .http1()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30));
                    let app = tower::ServiceExt::map_request(
                        app,
                        move |mut req: Request<hyper::body::Incoming>| {
                            req.extensions_mut().insert(ClientRole(role));
                            req
                        },
                    );
                    let service = TowerToHyperService::new(app);
                    if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    conns.abort_all();
}
