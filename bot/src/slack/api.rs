//! The Slack Web API as the bot needs it, behind a small trait so that `maison-bot try` and the
//! tests can stand in for Slack. The real implementation uses slack-morphism.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::render::Reply;

/// What the bot needs to know about a Slack user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackProfile {
    pub display_name: String,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub tz: Option<String>,
    pub locale: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SlackApiError {
    #[error("Slack is rate limiting us (retry after {0:?})")]
    RateLimited(Option<Duration>),
    #[error("Slack call failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait SlackApi: Send + Sync {
    /// `users.info` (with locale).
    async fn user_profile(&self, user_id: &str) -> Result<SlackProfile, SlackApiError>;
    /// `chat.postMessage` to a channel id (or a user id, which Slack treats as a DM).
    async fn post_message(&self, channel: &str, reply: &Reply) -> Result<(), SlackApiError>;
    /// Posts to an interaction's or command's `response_url`.
    async fn respond(
        &self,
        response_url: &str,
        reply: &Reply,
        replace_original: bool,
    ) -> Result<(), SlackApiError>;
}

/// Slack through slack-morphism's hyper client.
pub struct SlackWebApi {
    client: Arc<SlackHyperClient>,
    token: SlackApiToken,
}

impl SlackWebApi {
    /// `api_url` is the Web API base, e.g. `https://slack.com/api`. A plain `http://` base is
    /// accepted so an on-premises proxy or a local fake can stand in for Slack.
    pub fn new(api_url: &str, bot_token: &str) -> anyhow::Result<Self> {
        let client = Arc::new(new_client(api_url)?);
        let token = SlackApiToken::new(SlackApiTokenValue::new(bot_token.to_owned()));
        Ok(Self { client, token })
    }

    pub fn client(&self) -> Arc<SlackHyperClient> {
        self.client.clone()
    }
}

/// A slack-morphism client whose API base is `api_url`.
pub fn new_client(api_url: &str) -> anyhow::Result<SlackHyperClient> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_native_roots()?;
    let connector = if api_url.starts_with("http://") {
        builder.https_or_http().enable_http1().build()
    } else {
        builder.https_only().enable_http1().enable_http2().build()
    };
    let connector = SlackClientHyperConnector::with_connector(connector)
        .with_slack_api_url(api_url.trim_end_matches('/'));
    Ok(SlackClient::new(connector))
}

pub fn message_content(reply: &Reply) -> SlackMessageContent {
    let json = reply.to_slack_json();
    // Our blocks are a subset of Block Kit, so slack-morphism's model always accepts them.
    let blocks: Vec<SlackBlock> =
        serde_json::from_value(json["blocks"].clone()).unwrap_or_default();
    SlackMessageContent::new()
        .with_text(reply.text.clone())
        .with_blocks(blocks)
}

fn map_error(err: SlackClientError) -> SlackApiError {
    match err {
        SlackClientError::RateLimitError(e) => SlackApiError::RateLimited(e.retry_after),
        other => SlackApiError::Failed(other.to_string()),
    }
}

#[async_trait]
impl SlackApi for SlackWebApi {
    async fn user_profile(&self, user_id: &str) -> Result<SlackProfile, SlackApiError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiUsersInfoRequest::new(SlackUserId::new(user_id.to_owned()))
            .with_include_locale(true);
        let user = session.users_info(&request).await.map_err(map_error)?.user;
        let profile_name = user.profile.as_ref().and_then(|p| {
            p.display_name
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| p.real_name.clone())
        });
        Ok(SlackProfile {
            display_name: profile_name
                .or(user.real_name.clone())
                .or(user.name.clone())
                .unwrap_or_else(|| user_id.to_owned()),
            tz: user.tz.clone(),
            locale: user.locale.as_ref().map(|l| l.to_string()),
        })
    }

    async fn post_message(&self, channel: &str, reply: &Reply) -> Result<(), SlackApiError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiChatPostMessageRequest::new(
            SlackChannelId::new(channel.to_owned()),
            message_content(reply),
        );
        session
            .chat_post_message(&request)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn respond(
        &self,
        response_url: &str,
        reply: &Reply,
        replace_original: bool,
    ) -> Result<(), SlackApiError> {
        let url: url::Url = response_url
            .parse()
            .map_err(|e| SlackApiError::Failed(format!("bad response_url: {e}")))?;
        let request = SlackApiPostWebhookMessageRequest::new(message_content(reply))
            .with_replace_original(replace_original);
        self.client
            .respond_to_event(&SlackResponseUrl::new(url), &request)
            .await
            .map_err(map_error)?;
        Ok(())
    }
}
