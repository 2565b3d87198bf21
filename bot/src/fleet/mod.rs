//! The fleet front: the real [`AgentApi`] (`maison_agent_api::AgentClient`, mutual TLS), the
//! [`Fleet`] of the config, and the [`Poller`] that asks every agent for its facts, metrics,
//! containers and images and stores the answers.
//!
//! Layer: a front. It may import `ports`, `store`, `core` and `config`.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use maison_agent_api::datasets::{DatasetInventory, FetchRequest, RegisterRequest, ReplicaInfo};
use maison_agent_api::images::{
    BuildImageRequest, BuiltImage, FetchImageRequest, FetchedImage, ImageProgress,
    SaveImageRequest, SavedImage,
};
use maison_agent_api::{AgentClient, ClientError, ClientTls, Timeouts};
use maison_agent_api::{
    ContainerProcesses, ContainerSummary, HostInfo, ImageSummary, LaunchResponse, LaunchSpec,
    MetricsResponse,
};

use crate::config::{AgentsConfig, HostConfig};
use crate::ports::{AgentApi, Fleet};

pub mod poller;

pub use poller::{CycleReport, Poller};

#[async_trait]
impl AgentApi for AgentClient {
    async fn host(&self) -> Result<HostInfo, ClientError> {
        AgentClient::host(self).await
    }
    async fn metrics(&self, since: Option<DateTime<Utc>>) -> Result<MetricsResponse, ClientError> {
        AgentClient::metrics(self, since).await
    }
    async fn containers(&self) -> Result<Vec<ContainerSummary>, ClientError> {
        AgentClient::containers(self).await
    }
    async fn container_processes(&self, id: &str) -> Result<ContainerProcesses, ClientError> {
        AgentClient::container_processes(self, id).await
    }
    async fn launch(&self, spec: &LaunchSpec) -> Result<LaunchResponse, ClientError> {
        AgentClient::launch(self, spec).await
    }
    async fn stop(&self, id: &str) -> Result<ContainerSummary, ClientError> {
        AgentClient::stop(self, id, None).await
    }
    async fn remove(&self, id: &str, force: bool) -> Result<(), ClientError> {
        AgentClient::remove(self, id, force).await
    }
    async fn images(&self) -> Result<Vec<ImageSummary>, ClientError> {
        AgentClient::images(self).await
    }
    async fn remove_image(&self, id: &str) -> Result<(), ClientError> {
        AgentClient::remove_image(self, id).await
    }
    async fn save_image(&self, request: &SaveImageRequest) -> Result<SavedImage, ClientError> {
        AgentClient::save_image(self, request).await
    }
    async fn build_image(
        &self,
        request: &BuildImageRequest,
        limit: std::time::Duration,
    ) -> Result<BuiltImage, ClientError> {
        AgentClient::build_image(self, request, limit).await
    }
    async fn image_progress(&self) -> Result<Vec<ImageProgress>, ClientError> {
        AgentClient::image_progress(self).await
    }
    async fn fetch_image(
        &self,
        request: &FetchImageRequest,
        limit: std::time::Duration,
    ) -> Result<FetchedImage, ClientError> {
        AgentClient::fetch_image(self, request, limit).await
    }
    async fn datasets(&self) -> Result<DatasetInventory, ClientError> {
        AgentClient::datasets(self).await
    }
    async fn register_dataset(
        &self,
        request: &RegisterRequest,
    ) -> Result<ReplicaInfo, ClientError> {
        AgentClient::register_dataset(self, request).await
    }
    async fn fetch_dataset(&self, request: &FetchRequest) -> Result<ReplicaInfo, ClientError> {
        AgentClient::fetch_dataset(self, request).await
    }
    async fn verify_dataset(&self, id: &str) -> Result<ReplicaInfo, ClientError> {
        AgentClient::verify_dataset(self, id).await
    }
    async fn remove_dataset(&self, id: &str) -> Result<(), ClientError> {
        AgentClient::remove_dataset(self, id).await
    }
}

/// The fleet of the config: a mutual-TLS client for every host that has an `agent_url`.
pub fn from_config(agents: &AgentsConfig, hosts: &[HostConfig]) -> anyhow::Result<Fleet> {
    let with_agent: Vec<&HostConfig> = hosts.iter().filter(|h| h.agent_url.is_some()).collect();
    if with_agent.is_empty() {
        return Ok(Fleet::default());
    }
    let read = |what: &str, path: &Option<std::path::PathBuf>| -> anyhow::Result<String> {
        let path = path.as_ref().with_context(|| {
            format!("agents.{what} is not set: hosts have agent URLs, so the bot needs its certificates (maison-bot pki …)")
        })?;
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read agents.{what} ({})", path.display()))
    };
    let tls = ClientTls {
        ca_pem: read("ca", &agents.ca)?,
        cert_pem: read("cert", &agents.cert)?,
        key_pem: read("key", &agents.key)?,
    };
    let timeouts = Timeouts {
        connect: agents.connect_timeout,
        request: agents.request_timeout,
    };
    let mut fleet = Fleet::default();
    for host in with_agent {
        let url = host.agent_url.as_deref().unwrap_or_default();
        let client = AgentClient::new(url, &tls, timeouts)
            .with_context(|| format!("host {}: cannot set up its agent client", host.name))?;
        fleet.insert(host.name.clone(), Arc::new(client));
    }
    Ok(fleet)
}
