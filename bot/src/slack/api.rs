//! The Slack Web API through slack-morphism: the real [`SlackApi`] (the trait is in
//! [`crate::ports`], so `maison-bot try` and the tests can stand in for Slack).

use crate::telemetry::{self, SlackFailure};
use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::core::render::{RenderedMessage, Reply};
use crate::ports::{FileUpload, OUTBOX_EVENT_TYPE, SlackApi, SlackApiError, SlackProfile};

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

    /// `chat.postMessage` of ready content; the new message's `ts`.
    async fn post_content(
        &self,
        channel: &str,
        content: SlackMessageContent,
    ) -> Result<String, SlackApiError> {
        let request =
            SlackApiChatPostMessageRequest::new(SlackChannelId::new(channel.to_owned()), content);
        let response = self
            .client
            .open_session(&self.token)
            .chat_post_message(&request)
            .await
            .map_err(map_error)?;
        Ok(response.ts.to_string())
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

/// An already rendered message as slack-morphism's content.
fn rendered_content(message: &RenderedMessage) -> Result<SlackMessageContent, SlackApiError> {
    let blocks: Vec<SlackBlock> = serde_json::from_value(message.blocks.clone())
        .map_err(|e| SlackApiError::Failed(format!("the blocks do not parse: {e}")))?;
    Ok(SlackMessageContent::new()
        .with_text(message.text.clone())
        .with_blocks(blocks))
}

/// `conversations.history` pages read when looking for an outbox message, and their size
/// (Slack advises at most 200): enough for everything posted in a channel since an attempt.
const HISTORY_PAGES: usize = 5;
const HISTORY_PAGE_SIZE: u16 = 200;

/// The part of a `conversations.history` answer that the outbox's look-up reads.
#[derive(Debug, serde::Deserialize)]
struct HistoryPage {
    #[serde(default)]
    messages: Vec<HistoryMessage>,
    response_metadata: Option<HistoryCursor>,
}

#[derive(Debug, serde::Deserialize)]
struct HistoryMessage {
    ts: String,
    metadata: Option<serde_json::Value>,
}

#[derive(Debug, serde::Deserialize)]
struct HistoryCursor {
    next_cursor: Option<String>,
}

/// Slack's `ok: false` error codes that mean "try again later" rather than "never".
const TRANSIENT_API_ERRORS: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
    "team_added_to_org",
];

/// A view as Slack's typed model: the same check as a message's blocks, before anything is
/// sent (an invalid view is our bug, refused here rather than by Slack).
fn typed_view(view: &serde_json::Value) -> Result<SlackView, SlackApiError> {
    serde_json::from_value(view.clone())
        .map_err(|e| SlackApiError::Failed(format!("the view does not parse: {e}")))
}

fn map_error(err: SlackClientError) -> SlackApiError {
    let mapped = classify(err);
    telemetry::slack_failed(match &mapped {
        SlackApiError::RateLimited(_) => SlackFailure::RateLimited,
        SlackApiError::Unavailable(_) => SlackFailure::Unavailable,
        _ => SlackFailure::Refused,
    });
    mapped
}

fn classify(err: SlackClientError) -> SlackApiError {
    match err {
        SlackClientError::RateLimitError(e) => SlackApiError::RateLimited(e.retry_after),
        SlackClientError::HttpError(e)
            if e.status_code.is_server_error() || e.status_code.as_u16() == 408 =>
        {
            SlackApiError::Unavailable(format!("HTTP {}", e.status_code))
        }
        SlackClientError::ApiError(e) if TRANSIENT_API_ERRORS.contains(&e.code.as_str()) => {
            SlackApiError::Unavailable(e.code)
        }
        SlackClientError::ApiError(e) => SlackApiError::Failed(e.code),
        e @ (SlackClientError::HttpProtocolError(_)
        | SlackClientError::SystemError(_)
        | SlackClientError::EndOfStream(_)) => SlackApiError::Unavailable(e.to_string()),
        other => SlackApiError::Failed(other.to_string()),
    }
}

/// The content type announced when uploading `filename`.
fn content_type_of(filename: &str) -> &'static str {
    let lower = filename.to_ascii_lowercase();
    match lower.rsplit_once('.').map(|(_, ext)| ext) {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("csv") => "text/csv",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        _ => "application/octet-stream",
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

    async fn post_message(&self, channel: &str, reply: &Reply) -> Result<String, SlackApiError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiChatPostMessageRequest::new(
            SlackChannelId::new(channel.to_owned()),
            message_content(reply),
        );
        let response = session
            .chat_post_message(&request)
            .await
            .map_err(map_error)?;
        Ok(response.ts.to_string())
    }

    async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiChatUpdateRequest::new(
            SlackChannelId::new(channel.to_owned()),
            message_content(reply),
            SlackTs::new(ts.to_owned()),
        );
        session.chat_update(&request).await.map_err(map_error)?;
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

    async fn post_ephemeral(
        &self,
        channel: &str,
        user_id: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId::new(channel.to_owned()),
            SlackUserId::new(user_id.to_owned()),
            message_content(reply),
        );
        session
            .chat_post_ephemeral(&request)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn replace_original(
        &self,
        response_url: &str,
        message: &RenderedMessage,
    ) -> Result<(), SlackApiError> {
        let url: url::Url = response_url
            .parse()
            .map_err(|e| SlackApiError::Failed(format!("bad response_url: {e}")))?;
        let request = SlackApiPostWebhookMessageRequest::new(rendered_content(message)?)
            .with_replace_original(true);
        self.client
            .respond_to_event(&SlackResponseUrl::new(url), &request)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn open_dm(&self, user_id: &str) -> Result<String, SlackApiError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiConversationsOpenRequest::new()
            .with_users(vec![SlackUserId::new(user_id.to_owned())]);
        let response = session
            .conversations_open(&request)
            .await
            .map_err(map_error)?;
        Ok(response.channel.id.to_string())
    }

    async fn post_rendered(
        &self,
        channel: &str,
        message: &RenderedMessage,
    ) -> Result<String, SlackApiError> {
        self.post_content(channel, rendered_content(message)?).await
    }

    async fn post_outbox(
        &self,
        channel: &str,
        message: &RenderedMessage,
        outbox_id: i64,
    ) -> Result<String, SlackApiError> {
        let payload = HashMap::from([("id".to_owned(), outbox_id.to_string())]);
        let content = rendered_content(message)?.with_metadata(
            SlackMessageMetadata::new(OUTBOX_EVENT_TYPE.to_owned()).with_event_payload(payload),
        );
        self.post_content(channel, content).await
    }

    async fn find_outbox_post(
        &self,
        channel: &str,
        outbox_id: i64,
        since: i64,
    ) -> Result<Option<String>, SlackApiError> {
        let session = self.client.open_session(&self.token);
        let id = outbox_id.to_string();
        let oldest = format!("{since}.000000");
        let mut cursor: Option<String> = None;
        for _ in 0..HISTORY_PAGES {
            let mut params = vec![
                ("channel", Some(channel.to_owned())),
                ("oldest", Some(oldest.clone())),
                ("inclusive", Some("true".to_owned())),
                // Without it Slack leaves the metadata out of the history.
                ("include_all_metadata", Some("true".to_owned())),
                ("limit", Some(HISTORY_PAGE_SIZE.to_string())),
            ];
            if let Some(cursor) = &cursor {
                params.push(("cursor", Some(cursor.clone())));
            }
            // Read as loose JSON, not slack-morphism's model: another app's metadata in the
            // channel may have payload values that are not strings, which that model refuses.
            let page: HistoryPage = session
                .http_session_api
                .http_get("conversations.history", &params, None)
                .await
                .map_err(map_error)?;
            let found = page.messages.iter().find(|m| {
                m.metadata.as_ref().is_some_and(|meta| {
                    meta["event_type"] == OUTBOX_EVENT_TYPE
                        && meta["event_payload"]["id"].as_str() == Some(id.as_str())
                })
            });
            if let Some(message) = found {
                return Ok(Some(message.ts.clone()));
            }
            cursor = page
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    async fn find_shared_file(
        &self,
        channel: &str,
        filename: &str,
        since: i64,
    ) -> Result<bool, SlackApiError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiFilesListRequest::new()
            .with_channel(SlackChannelId::new(channel.to_owned()))
            .with_ts_from(since)
            .with_count(100);
        let listed = session.files_list(&request).await.map_err(map_error)?;
        // Newest first; a report's attachments are few, so one page of 100 covers any retry.
        Ok(listed
            .files
            .iter()
            .any(|f| f.name.as_deref() == Some(filename)))
    }

    async fn upload_file(&self, channel: &str, file: &FileUpload<'_>) -> Result<(), SlackApiError> {
        let session = self.client.open_session(&self.token);
        let target = session
            .get_upload_url_external(&SlackApiFilesGetUploadUrlExternalRequest::new(
                file.filename.to_owned(),
                file.bytes.len(),
            ))
            .await
            .map_err(map_error)?;
        session
            .files_upload_via_url(&SlackApiFilesUploadViaUrlRequest::new(
                target.upload_url,
                file.bytes.to_vec(),
                content_type_of(file.filename).to_owned(),
            ))
            .await
            .map_err(map_error)?;
        let complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(target.file_id).with_title(file.title.to_owned()),
        ])
        .with_channel_id(SlackChannelId::new(channel.to_owned()));
        session
            .files_complete_upload_external(&complete)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn publish_home(
        &self,
        user_id: &str,
        view: &serde_json::Value,
    ) -> Result<(), SlackApiError> {
        let request = SlackApiViewsPublishRequest::new(
            SlackUserId::new(user_id.to_owned()),
            typed_view(view)?,
        );
        let session = self.client.open_session(&self.token);
        session.views_publish(&request).await.map_err(map_error)?;
        Ok(())
    }

    async fn open_modal(
        &self,
        trigger_id: &str,
        view: &serde_json::Value,
    ) -> Result<(), SlackApiError> {
        let request = SlackApiViewsOpenRequest::new(
            SlackTriggerId::new(trigger_id.to_owned()),
            typed_view(view)?,
        );
        let session = self.client.open_session(&self.token);
        session.views_open(&request).await.map_err(map_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_announce_a_content_type() {
        assert_eq!(content_type_of("report.PNG"), "image/png");
        assert_eq!(content_type_of("usage.csv"), "text/csv");
        assert_eq!(content_type_of("blob"), "application/octet-stream");
    }

    #[test]
    fn only_refusals_are_final() {
        assert!(SlackApiError::RateLimited(None).is_retryable());
        assert!(SlackApiError::Unavailable("HTTP 503".into()).is_retryable());
        assert!(!SlackApiError::Failed("channel_not_found".into()).is_retryable());
        let api = |code: &str| {
            SlackClientError::ApiError(slack_morphism::errors::SlackClientApiError::new(
                code.to_owned(),
            ))
        };
        assert!(map_error(api("internal_error")).is_retryable());
        assert!(!map_error(api("channel_not_found")).is_retryable());
    }
}
