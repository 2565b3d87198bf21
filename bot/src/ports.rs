//! The traits the app needs from the outside world, and their error types: [`SlackApi`] (the
//! Slack Web API) and [`AgentApi`] (one host agent), with [`Fleet`] mapping host names to
//! agents. The real implementations are fronts (`slack::api::SlackWebApi`, the agent client in
//! `fleet/`); `maison-bot try` and the tests stand in with their own.
//!
//! Layer: above `core` and `store`, below `app`. It may import `core` (what a message says),
//! never `app` or a front.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use maison_agent_api::datasets::{DatasetInventory, FetchRequest, RegisterRequest, ReplicaInfo};
use maison_agent_api::images::{
    BuildImageRequest, BuiltImage, FetchImageRequest, FetchedImage, ImageProgress,
    SaveImageRequest, SavedImage,
};
use maison_agent_api::{
    ClientError, ContainerProcesses, ContainerSummary, HostInfo, ImageSummary, LaunchResponse,
    LaunchSpec, MetricsResponse,
};

use crate::core::render::{RenderedMessage, Reply};

/// What the bot needs to know about a Slack user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackProfile {
    pub display_name: String,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub tz: Option<String>,
    pub locale: Option<String>,
}

/// Why a Slack call failed, as far as a caller that retries needs to know.
#[derive(Debug, thiserror::Error)]
pub enum SlackApiError {
    /// HTTP 429: wait at least `Retry-After` before the next call.
    #[error("Slack is rate limiting us (retry after {0:?})")]
    RateLimited(Option<Duration>),
    /// A 5xx, a transport error, a time-out or one of Slack's own "try again" errors
    /// (`internal_error`, `service_unavailable`…): worth retrying with backoff.
    #[error("Slack call failed (Slack unavailable, worth retrying): {0}")]
    Unavailable(String),
    /// Slack refused the call (`channel_not_found`, `not_in_channel`, `invalid_blocks`…) or the
    /// answer made no sense: retrying the same call will not help.
    #[error("Slack call failed: {0}")]
    Failed(String),
}

impl SlackApiError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, SlackApiError::Failed(_))
    }
}

/// The metadata event type of the messages the outbox posts (see [`SlackApi::post_outbox`]).
pub const OUTBOX_EVENT_TYPE: &str = "maison_outbox";

/// A file to share in a channel (Slack's external upload).
#[derive(Debug, Clone, Copy)]
pub struct FileUpload<'a> {
    pub filename: &'a str,
    pub title: &'a str,
    pub bytes: &'a [u8],
}

#[async_trait]
pub trait SlackApi: Send + Sync {
    /// `users.info` (with locale).
    async fn user_profile(&self, user_id: &str) -> Result<SlackProfile, SlackApiError>;
    /// `chat.postMessage` to a channel id (or a user id, which Slack treats as a DM); returns
    /// the message's `ts`, which identifies it for [`SlackApi::update_message`].
    async fn post_message(&self, channel: &str, reply: &Reply) -> Result<String, SlackApiError>;
    /// `chat.update`: replaces the message `ts` in `channel` (a channel id, not a user id).
    async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError>;
    /// Posts to an interaction's or command's `response_url`.
    async fn respond(
        &self,
        response_url: &str,
        reply: &Reply,
        replace_original: bool,
    ) -> Result<(), SlackApiError>;
    /// `chat.postEphemeral`: a message in `channel` that only `user_id` sees.
    async fn post_ephemeral(
        &self,
        channel: &str,
        user_id: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError>;
    /// Replaces the message an interaction came from, for everyone who sees it, with already
    /// rendered blocks (its `response_url`, `replace_original: true`).
    async fn replace_original(
        &self,
        response_url: &str,
        message: &RenderedMessage,
    ) -> Result<(), SlackApiError>;
    /// `conversations.open` with `users: [user_id]`: the id of the DM channel with that user.
    async fn open_dm(&self, user_id: &str) -> Result<String, SlackApiError>;
    /// `chat.postMessage` of an already rendered message to a channel id; returns its `ts`.
    async fn post_rendered(
        &self,
        channel: &str,
        message: &RenderedMessage,
    ) -> Result<String, SlackApiError>;
    /// `chat.postMessage` of outbox message `outbox_id`, tagged so that
    /// [`SlackApi::find_outbox_post`] can find it again (Slack's message metadata: event type
    /// [`OUTBOX_EVENT_TYPE`], payload `{"id": "<outbox_id>"}`); returns its `ts`. Slack has no
    /// idempotency key for posts, so this tag is how a sender that does not know whether an
    /// earlier attempt landed avoids posting twice.
    async fn post_outbox(
        &self,
        channel: &str,
        message: &RenderedMessage,
        outbox_id: i64,
    ) -> Result<String, SlackApiError> {
        let _ = outbox_id;
        self.post_rendered(channel, message).await
    }
    /// The `ts` of outbox message `outbox_id` if [`SlackApi::post_outbox`] posted it in
    /// `channel` at or after `since` (Unix seconds): `conversations.history` with metadata.
    /// `Ok(None)` from a front that cannot look (the terminal): the message is posted again.
    async fn find_outbox_post(
        &self,
        channel: &str,
        outbox_id: i64,
        since: i64,
    ) -> Result<Option<String>, SlackApiError> {
        let _ = (channel, outbox_id, since);
        Ok(None)
    }
    /// Whether a file named `filename` was shared in `channel` at or after `since` (Unix
    /// seconds): `files.list`. The outbox names each attachment after its row, so a share that
    /// landed before a crash is found instead of made twice. `Ok(false)` from a front that
    /// cannot look (the terminal): the file is shared again.
    async fn find_shared_file(
        &self,
        channel: &str,
        filename: &str,
        since: i64,
    ) -> Result<bool, SlackApiError> {
        let _ = (channel, filename, since);
        Ok(false)
    }
    /// Shares a file in a channel: `files.getUploadURLExternal`, a POST of the bytes to the URL
    /// it returns, then `files.completeUploadExternal` with the channel.
    async fn upload_file(&self, channel: &str, file: &FileUpload<'_>) -> Result<(), SlackApiError>;
    /// `views.publish`: `view` (a `home` view, Block Kit JSON) becomes the user's App Home tab.
    async fn publish_home(
        &self,
        user_id: &str,
        view: &serde_json::Value,
    ) -> Result<(), SlackApiError>;
    /// `views.open`: shows the modal `view` to whoever gave `trigger_id` (a click, a command or
    /// a shortcut, within 3 s of it).
    async fn open_modal(
        &self,
        trigger_id: &str,
        view: &serde_json::Value,
    ) -> Result<(), SlackApiError>;
}

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
    /// Commits a container into an image labelled with its provenance (`image save`).
    async fn save_image(&self, request: &SaveImageRequest) -> Result<SavedImage, ClientError>;
    /// Builds an image from a Dockerfile in its owner's directory (`image build`); answers when
    /// the build is done, or after `limit`.
    async fn build_image(
        &self,
        request: &BuildImageRequest,
        limit: std::time::Duration,
    ) -> Result<BuiltImage, ClientError>;
    /// The image copies arriving and builds running on this host.
    async fn image_progress(&self) -> Result<Vec<ImageProgress>, ClientError>;
    /// Copies an image to this host from peers that hold it (`image copy`); answers when the
    /// copy is loaded, or after `limit`.
    async fn fetch_image(
        &self,
        request: &FetchImageRequest,
        limit: std::time::Duration,
    ) -> Result<FetchedImage, ClientError>;
    /// The dataset copies on the host and the room left for more.
    async fn datasets(&self) -> Result<DatasetInventory, ClientError>;
    /// Starts scanning a directory already on the host (`data add`).
    async fn register_dataset(&self, request: &RegisterRequest)
    -> Result<ReplicaInfo, ClientError>;
    /// Starts, resumes or reports a copy pulled from peers (`data get`).
    async fn fetch_dataset(&self, request: &FetchRequest) -> Result<ReplicaInfo, ClientError>;
    /// Starts re-hashing the copy of manifest `id`; the outcome lands in its `last_verify`.
    async fn verify_dataset(&self, id: &str) -> Result<ReplicaInfo, ClientError>;
    /// Removes the copy of manifest `id` (a registered directory is only forgotten); refused
    /// while mounted.
    async fn remove_dataset(&self, id: &str) -> Result<(), ClientError>;
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
