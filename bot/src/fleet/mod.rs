//! The fleet: one host agent per GPU server, reached over mutual TLS.
//!
//! [`AgentApi`] is the bot's view of an agent (the real one is `maison_agent_api::AgentClient`;
//! tests and benchmarks can stand in). [`Fleet`] maps host names to their agents.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use maison_agent_api::{AgentClient, ClientError, ClientTls, Timeouts};
use maison_agent_api::{
    ContainerProcesses, ContainerSummary, HostInfo, ImageSummary, LaunchResponse, LaunchSpec,
    MetricsResponse,
};

use crate::config::{AgentsConfig, HostConfig};

mod ingest;
pub mod poller;
mod sql;
pub mod store;

pub use poller::{CycleReport, Poller};

/// What the bot asks of a host agent.
#[async_trait]
pub trait AgentApi: Send + Sync {
    async fn host(&self) -> Result<HostInfo, ClientError>;
    /// 1-minute rollups whose minute starts at or after `since`.
    async fn metrics(&self, since: Option<DateTime<Utc>>) -> Result<MetricsResponse, ClientError>;
    async fn containers(&self) -> Result<Vec<ContainerSummary>, ClientError>;
    /// Who a container's processes run as, seen from the host: the evidence `claim` weighs.
    async fn container_processes(&self, id: &str) -> Result<ContainerProcesses, ClientError>;
    async fn launch(&self, spec: &LaunchSpec) -> Result<LaunchResponse, ClientError>;
    async fn stop(&self, id: &str) -> Result<ContainerSummary, ClientError>;
    async fn remove(&self, id: &str, force: bool) -> Result<(), ClientError>;
    async fn images(&self) -> Result<Vec<ImageSummary>, ClientError>;
    async fn remove_image(&self, id: &str) -> Result<(), ClientError>;
}

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
}

/// Host name → its agent. Hosts without an `agent_url` have no agent (bookable, not launchable).
#[derive(Default, Clone)]
pub struct Fleet {
    agents: HashMap<String, Arc<dyn AgentApi>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut hosts: Vec<&String> = self.agents.keys().collect();
        hosts.sort();
        f.debug_struct("Fleet").field("hosts", &hosts).finish()
    }
}

impl Fleet {
    /// Builds mutual-TLS clients for every configured host that has an `agent_url`.
    pub fn from_config(agents: &AgentsConfig, hosts: &[HostConfig]) -> anyhow::Result<Self> {
        let with_agent: Vec<&HostConfig> = hosts.iter().filter(|h| h.agent_url.is_some()).collect();
        if with_agent.is_empty() {
            return Ok(Self::default());
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
        let mut fleet = Self::default();
        for host in with_agent {
            let url = host.agent_url.as_deref().unwrap_or_default();
            let client = AgentClient::new(url, &tls, timeouts)
                .with_context(|| format!("host {}: cannot set up its agent client", host.name))?;
            fleet.agents.insert(host.name.clone(), Arc::new(client));
        }
        Ok(fleet)
    }

    /// Adds or replaces one host's agent (tests, benchmarks, `try`).
    pub fn insert(&mut self, host: impl Into<String>, agent: Arc<dyn AgentApi>) {
        self.agents.insert(host.into(), agent);
    }

    pub fn agent(&self, host: &str) -> Option<Arc<dyn AgentApi>> {
        self.agents.get(host).cloned()
    }

    /// Every host with an agent, sorted by name.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.agents.keys().cloned().collect();
        hosts.sort();
        hosts
    }
}
