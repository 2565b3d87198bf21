//! HTTP mode: Slack posts slash commands, button clicks and events to these routes.
//!
//! Every `/slack/*` handler verifies the signature over the raw body before interpreting a byte
//! of it; bodies are capped (`server.max_body_bytes`, 413 beyond). A command is answered inline
//! when it finishes within Slack's 3 s; otherwise Slack gets "working on it" and the real answer
//! follows through `response_url`. Button clicks are acknowledged at once and answered through
//! `response_url`, replacing the message that held the button.

use std::sync::Arc;

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
use crate::slack::signature::{self, ReplayGuard, SignatureError};

/// Answer inline if the command is done by then; Slack gives up at 3 s.

#[derive(Clone)]
pub struct HttpFront {
    app: Arc<App>,
    signing_secret: Secret,
    replays: Arc<ReplayGuard>,
}

impl HttpFront {
    pub fn new(app: Arc<App>, signing_secret: Secret) -> Self {
        Self {
            app,
            signing_secret,
            replays: Arc::new(ReplayGuard::default()),
        }
    }

    pub fn router(self) -> Router {
        let limit = self.app.config.server.max_body_bytes;
        Router::new()
            .route("/slack/commands", post(commands))
            .route("/slack/interactions", post(interactions))
            .route("/slack/events", post(events))
            .layer(DefaultBodyLimit::max(limit))
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

/// Decodes an interaction's form body (already authenticated) into the clicks it carries: one
/// per action of a `block_actions` payload, none for the interaction types we do not handle.
pub fn decode_clicks(body: &[u8]) -> Result<Vec<ActionInvocation>, String> {
    let form: InteractionForm = serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())?;
    let payload: BlockActions =
        serde_json::from_str(&form.payload).map_err(|e| format!("payload: {e}"))?;
    if payload.kind != "block_actions" {
        debug!(kind = %payload.kind, "ignored interaction type");
        return Ok(Vec::new());
    }
    let message = payload.clicked_message();
    let team_id = payload
        .team
        .map(|t| t.id)
        .or(payload.user.team_id)
        .unwrap_or_default();
    Ok(payload
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
        })
        .collect())
}

async fn interactions(
    State(front): State<HttpFront>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    front.verify(&headers, &body)?;
    for click in decode_clicks(&body).map_err(Rejection::Malformed)? {
        let app = front.app.clone();
        tokio::spawn(async move { app.answer_click(&click).await });
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
}

/// What an Events API request asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRequest {
    /// Slack checks the URL: answer with the challenge.
    UrlVerification { challenge: String },
    /// An event, identified for de-duplication of Slack's retries.
    Callback { event_id: String },
    /// Another envelope type, acknowledged and ignored.
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
        "event_callback" => envelope
            .event_id
            .map(|event_id| EventRequest::Callback { event_id })
            .ok_or_else(|| "event_callback without event_id".to_owned()),
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
        EventRequest::Callback { event_id } => {
            let now = front.app.clock.now().timestamp();
            match front.app.db.first_sighting_of_event(&event_id, now).await {
                Ok(true) => debug!(%event_id, "event received (no event handlers yet)"),
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
