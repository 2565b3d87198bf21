//! Socket Mode: the bot opens a websocket to Slack (`apps.connections.open` with the `xapp-`
//! token) and receives commands and clicks over it, so no public URL is needed — the usual case
//! behind a company firewall. slack-morphism runs the socket, reconnects and acknowledges
//! envelopes; these callbacks hand each one to the same [`App`] the HTTP front uses.

use std::sync::Arc;

use slack_morphism::prelude::*;
use tracing::{info, warn};

use crate::app::{ActionInvocation, App, ClickedMessage, Invocation, Shortcut, Submission};
use crate::core::render::Visibility;
use crate::slack::api::{message_content, new_client};

type Callbacks = SlackSocketModeListenerCallbacks<SlackClientHyperHttpsConnector>;

/// A running Socket Mode connection (slack-morphism reconnects it as needed).
pub struct SocketMode {
    listener: SlackClientSocketModeListener<SlackClientHyperHttpsConnector>,
}

impl SocketMode {
    /// Asks Slack for a socket URL (`apps.connections.open` with the `xapp-` token), connects
    /// and starts handling envelopes in the background.
    pub async fn connect(app: Arc<App>, app_token: &str) -> anyhow::Result<Self> {
        let client = Arc::new(new_client(&app.config.slack.api_url)?);
        let environment = Arc::new(
            SlackClientEventsListenerEnvironment::new(client)
                .with_error_handler(on_error)
                .with_user_state(app),
        );
        let callbacks: Callbacks = SlackSocketModeListenerCallbacks::new()
            .with_command_events(on_command)
            .with_interaction_events(on_interaction)
            .with_push_events(on_push_event);
        let listener = SlackClientSocketModeListener::new(
            &SlackClientSocketModeConfig::new(),
            environment,
            callbacks,
        );
        let token = SlackApiToken::new(SlackApiTokenValue::new(app_token.to_owned()));
        listener.listen_for(&token).await?;
        listener.start().await;
        info!("connected to Slack over Socket Mode");
        Ok(Self { listener })
    }

    pub async fn shutdown(&self) {
        self.listener.shutdown().await;
    }
}

fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackHyperClient>,
    _states: SlackClientEventsUserState,
) -> HttpStatusCode {
    warn!(error = %err, "Socket Mode error");
    HttpStatusCode::OK
}

async fn app_of(states: &SlackClientEventsUserState) -> Option<Arc<App>> {
    states.read().await.get_user_state::<Arc<App>>().cloned()
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let app = app_of(&states).await.ok_or("application state missing")?;
    let invocation = Invocation {
        team_id: event.team_id.to_string(),
        user_id: event.user_id.to_string(),
        channel_id: event.channel_id.to_string(),
        text: crate::slack::unescape_text(&event.text.unwrap_or_default()),
        response_url: Some(event.response_url.0.to_string()),
        trigger_id: Some(event.trigger_id.to_string()),
    };
    let reply = app.answer_command(invocation).await;
    let response_type = match reply.visibility {
        Visibility::Ephemeral => SlackMessageResponseType::Ephemeral,
        Visibility::InChannel => SlackMessageResponseType::InChannel,
    };
    Ok(SlackCommandEventResponse::new(message_content(&reply)).with_response_type(response_type))
}

/// Decodes one Socket Mode frame as the listener does: its `type`, then its payload into
/// slack-morphism's model of that type (the envelope enum itself is not public), then what our
/// callbacks take from it. What garbage on the socket meets before any handler runs.
pub fn decode_envelope(text: &str) -> Result<(), String> {
    let frame: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let payload = frame.get("payload").cloned().unwrap_or_default();
    match frame.get("type").and_then(|t| t.as_str()) {
        Some("interactive") => {
            let event: SlackInteractionEvent =
                serde_json::from_value(payload).map_err(|e| e.to_string())?;
            if let SlackInteractionEvent::BlockActions(click) = event {
                let _ = clicked_message(&click);
            }
        }
        Some("slash_commands") => {
            let event: SlackCommandEvent =
                serde_json::from_value(payload).map_err(|e| e.to_string())?;
            let _ = crate::slack::unescape_text(&event.text.unwrap_or_default());
        }
        Some("events_api") => {
            serde_json::from_value::<SlackPushEventCallback>(payload).map_err(|e| e.to_string())?;
        }
        Some("hello" | "disconnect") => {}
        other => return Err(format!("unknown frame type {other:?}")),
    }
    Ok(())
}

/// The `ts` of the message a button was in.
fn message_ts(click: &SlackInteractionBlockActionsEvent) -> Option<String> {
    match &click.container {
        SlackInteractionActionContainer::Message(container) => {
            Some(container.message_ts.to_string())
        }
        _ => None,
    }
}

/// The message a button was in, from slack-morphism's typed payload.
fn clicked_message(click: &SlackInteractionBlockActionsEvent) -> Option<ClickedMessage> {
    let SlackInteractionActionContainer::Message(container) = &click.container else {
        return None;
    };
    let channel_id = container
        .channel_id
        .as_ref()
        .map(|c| c.to_string())
        .or_else(|| click.channel.as_ref().map(|c| c.id.to_string()))?;
    let message = click.message.as_ref()?;
    let ephemeral = container.is_ephemeral.unwrap_or(false);
    Some(ClickedMessage {
        shared: crate::slack::seen_by_others(&channel_id, ephemeral),
        channel_id,
        text: message.content.text.clone().unwrap_or_default(),
        blocks: serde_json::to_value(message.content.blocks.clone().unwrap_or_default())
            .unwrap_or_default(),
    })
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let app = app_of(&states).await.ok_or("application state missing")?;
    let click = match event {
        SlackInteractionEvent::BlockActions(click) => click,
        SlackInteractionEvent::Shortcut(shortcut) => {
            let shortcut = Shortcut {
                team_id: shortcut.team.id.to_string(),
                user_id: shortcut.user.id.to_string(),
                callback_id: shortcut.callback_id.to_string(),
                trigger_id: shortcut.trigger_id.to_string(),
            };
            app.answer_shortcut(&shortcut).await;
            return Ok(SlackInteractionResponse::Empty);
        }
        SlackInteractionEvent::ViewSubmission(submitted) => {
            // The same fields the HTTP front reads, from the view as Slack sent it.
            let view = serde_json::to_value(&submitted.view).unwrap_or_default();
            let submission = Submission {
                team_id: submitted.team.id.to_string(),
                user_id: submitted.user.id.to_string(),
                callback_id: view["callback_id"].as_str().unwrap_or_default().to_owned(),
                values: view["state"]["values"].clone(),
            };
            let answer = app.answer_submission(&submission).await;
            let Some(answer) = answer else {
                return Ok(SlackInteractionResponse::Empty);
            };
            let response: SlackViewSubmissionResponse = serde_json::from_value(answer)?;
            return Ok(SlackInteractionResponse::ViewSubmission(response));
        }
        _ => return Ok(SlackInteractionResponse::Empty),
    };
    let Some(user) = click.user.clone() else {
        return Ok(SlackInteractionResponse::Empty);
    };
    let response_url = click.response_url.as_ref().map(|u| u.0.to_string());
    let message = clicked_message(&click);
    let ts = message_ts(&click);
    for action in click.actions.unwrap_or_default() {
        let invocation = ActionInvocation {
            team_id: click.team.id.to_string(),
            user_id: user.id.to_string(),
            action_id: action.action_id.to_string(),
            value: action.value.unwrap_or_default(),
            response_url: response_url.clone(),
            message_ts: ts.clone(),
            message: message.clone(),
            trigger_id: Some(click.trigger_id.to_string()),
        };
        app.answer_click(&invocation).await;
    }
    Ok(SlackInteractionResponse::Empty)
}

/// Events pushed over the socket: `app_home_opened` publishes the user's Home tab.
async fn on_push_event(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let SlackEventCallbackBody::AppHomeOpened(opened) = event.event else {
        return Ok(());
    };
    if opened.tab.as_deref() == Some("messages") {
        return Ok(());
    }
    let app = app_of(&states).await.ok_or("application state missing")?;
    let now = app.clock.now().timestamp();
    // Slack may deliver an event twice; the Events API over HTTP is de-duplicated the same way.
    if !app
        .db
        .first_sighting_of_event(event.event_id.as_ref(), now)
        .await?
    {
        return Ok(());
    }
    let (team, user) = (event.team_id.to_string(), opened.user.to_string());
    tokio::spawn(async move { app.home_opened(&team, &user).await });
    Ok(())
}
