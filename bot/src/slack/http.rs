//! HTTP mode: Slack posts slash commands, button clicks and events to these routes.
//!
//! Every `/slack/*` handler verifies the signature over the raw body before interpreting a byte
//! of it; bodies are capped (`server.max_body_bytes`, 413 beyond). A command is answered inline
//! when it finishes within Slack's 3 s; otherwise Slack gets "working on it" and the real answer
//! follows through `response_url`. Button clicks are acknowledged at once and answered through
//! `response_url`, replacing the message that held the button.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use tracing::{debug, warn};

use crate::app::{ActionInvocation, App, ClickedMessage, Invocation};
use crate::config::Secret;
use crate::slack::serve::{BodyDeadline, body_in_time};
use crate::slack::signature::{self, ReplayGuard, SignatureError};

/// Answer inline if the command is done by then; Slack gives up at 3 s.

#[derive(Clone)]
pub struct HttpFront {
    app: Arc<App>,
    signing_secret: Secret,
    replays: Arc<ReplayGuard>,
    body_timeout: Duration,
}

impl HttpFront {
    pub fn new(app: Arc<App>, signing_secret: Secret) -> Self {
        Self {
            app,
            signing_secret,
            replays: Arc::new(ReplayGuard::default()),
            body_timeout: Duration::from_secs(10),
        }
    }

    /// How long a request body may take to arrive after its head (10 s unless set).
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    pub fn router(self) -> Router {
        let limit = self.app.config.server.max_body_bytes;
        let deadline = BodyDeadline {
            timeout: self.body_timeout,
            limit,
        };
        Router::new()
            .route("/slack/commands", post(commands))
            .route("/slack/interactions", post(interactions))
            .route("/slack/events", post(events))
            // `body_in_time` reads every body whole under the cap before a route sees it; the
            // extractors' own limit would only count the same bytes again.
            .layer(DefaultBodyLimit::disable())
            .layer(axum::middleware::from_fn_with_state(deadline, body_in_time))
            .route("/healthz", get(healthz))
            .with_state(self)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejection> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let now = self.app.clock.now().timestamp();
        let verified = signature::verify(
            self.signing_secret.expose(),
            header(signature::TIMESTAMP_HEADER),
            header(signature::SIGNATURE_HEADER),
            body,
            now,
        )?;
        self.replays.check_and_record(&verified, now)?;
        Ok(())
    }
}

/// Why a request was turned away before its body was read.
#[derive(Debug)]
enum Rejection {
    Unsigned(SignatureError),
    Malformed(String),
}

impl From<SignatureError> for Rejection {
    fn from(err: SignatureError) -> Self {
        Rejection::Unsigned(err)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Unsigned(err) => {
                // The reason is logged for operators; the expected signature never is.
                warn!(reason = %err, "refused an unsigned or badly signed Slack request");
                (
                    StatusCode::UNAUTHORIZED,
                    format!("invalid Slack signature: {err}\n"),
                )
                    .into_response()
            }
            Rejection::Malformed(what) => {
                warn!(%what, "refused a malformed Slack request");
                (
                    StatusCode::BAD_REQUEST,
                    format!("malformed request: {what}\n"),
                )
                    .into_response()
            }
        }
    }
}

/// The fields of Slack's slash-command form that we use.
#[derive(Debug, Deserialize)]
struct CommandForm {
    team_id: String,
    user_id: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    trigger_id: Option<String>,
}

/// Decodes a slash command's form body (already authenticated) into the invocation to run.
pub fn decode_command(body: &[u8]) -> Result<Invocation, String> {
    let form: CommandForm = serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())?;
    Ok(Invocation {
        team_id: form.team_id,
        user_id: form.user_id,
        channel_id: form.channel_id,
        text: crate::slack::unescape_text(&form.text),
        response_url: form.response_url,
        trigger_id: form.trigger_id,
    })
}

async fn commands(
    State(front): State<HttpFront>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    front.verify(&headers, &body)?;
    let invocation = decode_command(&body).map_err(Rejection::Malformed)?;
    let reply = front.app.answer_command(invocation).await;
    Ok(axum::Json(reply.to_slack_json()).into_response())
}

#[derive(Debug, Deserialize)]
struct InteractionForm {
    payload: String,
}

/// The parts of a `block_actions` payload that we use.
#[derive(Debug, Deserialize)]
struct BlockActions {
    #[serde(rename = "type")]
    kind: String,
    user: PayloadUser,
    #[serde(default)]
    team: Option<PayloadTeam>,
    #[serde(default)]
    actions: Vec<PayloadAction>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    container: Option<PayloadContainer>,
    #[serde(default)]
    channel: Option<PayloadChannel>,
    /// The message the button was in: absent for an ephemeral one.
    #[serde(default)]
    message: Option<PayloadMessage>,
    #[serde(default)]
    trigger_id: Option<String>,
    /// A shortcut's id.
    #[serde(default)]
    callback_id: Option<String>,
    /// A submitted form (`view_submission`).
    #[serde(default)]
    view: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct PayloadContainer {
    #[serde(default)]
    message_ts: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    is_ephemeral: bool,
}

#[derive(Debug, Deserialize)]
struct PayloadChannel {
    id: String,
}

#[derive(Debug, Deserialize)]
struct PayloadMessage {
    #[serde(default)]
    text: String,
    #[serde(default)]
    blocks: serde_json::Value,
}

impl BlockActions {
    /// The clicked message, when the payload carries one.
    fn clicked_message(&self) -> Option<ClickedMessage> {
        let channel_id = self
            .container
            .as_ref()
            .and_then(|c| c.channel_id.clone())
            .or_else(|| self.channel.as_ref().map(|c| c.id.clone()))?;
        let message = self.message.as_ref()?;
        let ephemeral = self.container.as_ref().is_some_and(|c| c.is_ephemeral);
        Some(ClickedMessage {
            shared: crate::slack::seen_by_others(&channel_id, ephemeral),
            channel_id,
            text: message.text.clone(),
            blocks: message.blocks.clone(),
        })
    }
}

#[derive(Debug, Deserialize)]
struct PayloadUser {
    id: String,
    #[serde(default)]
    team_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PayloadTeam {
    id: String,
}

#[derive(Debug, Deserialize)]
struct PayloadAction {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

/// What an interaction asks of us.
#[derive(Debug, Clone)]
pub enum Interaction {
    /// Buttons pressed (`block_actions`): one invocation per action.
    Clicks(Vec<ActionInvocation>),
    /// A global shortcut: open what it names.
    Shortcut(Shortcut),
    /// A form submitted (`view_submission`): answered in the HTTP response.
    Submission(Submission),
    /// Another interaction type, acknowledged and ignored.
    Other(String),
}

pub use crate::app::{Shortcut, Submission};

/// Decodes an interaction's form body (already authenticated).
pub fn decode_interaction(body: &[u8]) -> Result<Interaction, String> {
    let form: InteractionForm = serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())?;
    let payload: BlockActions =
        serde_json::from_str(&form.payload).map_err(|e| format!("payload: {e}"))?;
    let team_id = payload
        .team
        .as_ref()
        .map(|t| t.id.clone())
        .or(payload.user.team_id.clone())
        .unwrap_or_default();
    match payload.kind.as_str() {
        "block_actions" => {}
        "shortcut" => {
            return Ok(Interaction::Shortcut(Shortcut {
                team_id,
                user_id: payload.user.id,
                callback_id: payload.callback_id.unwrap_or_default(),
                trigger_id: payload.trigger_id.unwrap_or_default(),
            }));
        }
        "view_submission" => {
            let view = payload.view.unwrap_or_default();
            return Ok(Interaction::Submission(Submission {
                team_id,
                user_id: payload.user.id,
                callback_id: view["callback_id"].as_str().unwrap_or_default().to_owned(),
                values: view["state"]["values"].clone(),
            }));
        }
        other => return Ok(Interaction::Other(other.to_owned())),
    }
    let message = payload.clicked_message();
    Ok(Interaction::Clicks(
        payload
            .actions
            .into_iter()
            .map(|action| ActionInvocation {
                team_id: team_id.clone(),
                user_id: payload.user.id.clone(),
                action_id: action.action_id,
                value: action.value.unwrap_or_default(),
                response_url: payload.response_url.clone(),
                message_ts: payload
                    .container
                    .as_ref()
                    .and_then(|c| c.message_ts.clone()),
                message: message.clone(),
                trigger_id: payload.trigger_id.clone(),
            })
            .collect(),
    ))
}

/// The clicks of an interaction body (none for other interaction types).
pub fn decode_clicks(body: &[u8]) -> Result<Vec<ActionInvocation>, String> {
    Ok(match decode_interaction(body)? {
        Interaction::Clicks(clicks) => clicks,
        _ => Vec::new(),
    })
}

async fn interactions(
    State(front): State<HttpFront>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    front.verify(&headers, &body)?;
    match decode_interaction(&body).map_err(Rejection::Malformed)? {
        Interaction::Clicks(clicks) => {
            for click in clicks {
                let app = front.app.clone();
                tokio::spawn(async move { app.answer_click(&click).await });
            }
        }
        // Slack wants the form opened within 3 s of the shortcut: done before answering.
        Interaction::Shortcut(shortcut) => front.app.answer_shortcut(&shortcut).await,
        // The answer to a submission is the HTTP response itself: field errors, or close.
        Interaction::Submission(submission) => {
            let answer = front.app.answer_submission(&submission).await;
            return Ok(match answer {
                Some(body) => axum::Json(body).into_response(),
                None => StatusCode::OK.into_response(),
            });
        }
        Interaction::Other(kind) => debug!(%kind, "ignored interaction type"),
    }
    Ok(StatusCode::OK.into_response())
}

#[derive(Debug, Deserialize)]
struct EventEnvelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    event: Option<serde_json::Value>,
}

/// What an Events API request asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRequest {
    /// Slack checks the URL: answer with the challenge.
    UrlVerification { challenge: String },
    /// An event, identified for de-duplication of Slack's retries.
    Callback { event_id: String, event: PushEvent },
    /// Another envelope type, acknowledged and ignored.
    Other(String),
}

/// The events the bot acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// A user opened the app's Home tab: publish it.
    HomeOpened { team_id: String, user_id: String },
    /// Another event type (recorded, not acted on).
    Other(String),
}

/// Decodes an Events API body (already authenticated).
pub fn decode_event(body: &[u8]) -> Result<EventRequest, String> {
    let envelope: EventEnvelope = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    match envelope.kind.as_str() {
        "url_verification" => envelope
            .challenge
            .map(|challenge| EventRequest::UrlVerification { challenge })
            .ok_or_else(|| "url_verification without challenge".to_owned()),
        "event_callback" => {
            let event_id = envelope
                .event_id
                .ok_or_else(|| "event_callback without event_id".to_owned())?;
            let event = envelope.event.unwrap_or_default();
            let kind = event["type"].as_str().unwrap_or_default();
            let event = match (kind, event["user"].as_str()) {
                ("app_home_opened", Some(user)) if event["tab"].as_str() != Some("messages") => {
                    PushEvent::HomeOpened {
                        team_id: envelope.team_id.unwrap_or_default(),
                        user_id: user.to_owned(),
                    }
                }
                _ => PushEvent::Other(kind.to_owned()),
            };
            Ok(EventRequest::Callback { event_id, event })
        }
        _ => Ok(EventRequest::Other(envelope.kind)),
    }
}

async fn events(
    State(front): State<HttpFront>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    front.verify(&headers, &body)?;
    match decode_event(&body).map_err(Rejection::Malformed)? {
        EventRequest::UrlVerification { challenge } => {
            Ok(axum::Json(json!({ "challenge": challenge })).into_response())
        }
        EventRequest::Callback { event_id, event } => {
            let now = front.app.clock.now().timestamp();
            match front.app.db.first_sighting_of_event(&event_id, now).await {
                Ok(true) => match event {
                    PushEvent::HomeOpened { team_id, user_id } => {
                        let app = front.app.clone();
                        tokio::spawn(async move { app.home_opened(&team_id, &user_id).await });
                    }
                    PushEvent::Other(kind) => debug!(%event_id, %kind, "event not acted on"),
                },
                Ok(false) => debug!(%event_id, "duplicate event ignored (Slack retry)"),
                Err(err) => {
                    warn!(error = %err, "could not record event");
                    return Ok(StatusCode::SERVICE_UNAVAILABLE.into_response());
                }
            }
            Ok(StatusCode::OK.into_response())
        }
        EventRequest::Other(kind) => {
            debug!(%kind, "ignored event envelope");
            Ok(StatusCode::OK.into_response())
        }
    }
}

async fn healthz(State(front): State<HttpFront>) -> Response {
    match front.app.db.connection().ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {err}\n"),
        )
            .into_response(),
    }
}
