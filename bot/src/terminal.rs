//! Layer: a front (it may import `app`, `ports` and `core`).
//!
//! `maison-bot try`: Maison without a Slack workspace. A terminal front-end takes `/maison …`
//! lines as Slack would send them (for a chosen user id), runs them through the same [`App`] as
//! the Slack fronts and prints the replies readably. Buttons show as `[Label]`; typing a label
//! presses it. Messages the bot would post to channels are printed too, marked as such.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::app::{ActionInvocation, App, Invocation};
use crate::core::render::RenderedMessage;
use crate::core::render::{Button, Reply};
use crate::ports::{FileUpload, SlackApi, SlackApiError, SlackProfile};

pub const LOCAL_TEAM: &str = "T0LOCAL";

/// Stands in for Slack in `try`: profiles come from the config's default time zone, and what
/// would be posted is printed.
pub struct TerminalSlack {
    tz: String,
    printed: Mutex<Vec<String>>,
    /// Woken when something is posted, so the terminal prints messages the outbox sends while
    /// it waits for input.
    posted: tokio::sync::Notify,
    /// Messages posted so far, for their `ts`.
    posts: std::sync::atomic::AtomicU64,
    /// Buttons of the messages posted since the last call to [`TerminalSlack::take_buttons`]
    /// (a DM's Accept, a reminder's Extend), so they can be pressed like a reply's.
    buttons: Mutex<Vec<Button>>,
}

impl TerminalSlack {
    pub fn new(tz: &str) -> Self {
        Self {
            tz: tz.to_owned(),
            printed: Mutex::new(Vec::new()),
            posted: tokio::sync::Notify::new(),
            posts: Default::default(),
            buttons: Mutex::new(Vec::new()),
        }
    }

    /// Messages posted since the last call, for the terminal loop to print.
    pub fn take_posted(&self) -> Vec<String> {
        std::mem::take(&mut self.printed.lock().unwrap())
    }

    /// Buttons of the messages posted since the last call.
    pub fn take_buttons(&self) -> Vec<Button> {
        std::mem::take(&mut self.buttons.lock().unwrap())
    }

    /// Resolves once something has been posted (since the last wait).
    pub async fn wait_posted(&self) {
        self.posted.notified().await
    }

    /// A message id in Slack's `seconds.sequence` shape, unique in this process.
    fn next_ts(&self) -> String {
        let n = self
            .posts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        format!("1700000000.{n:06}")
    }

    fn print(&self, text: String) {
        self.printed.lock().unwrap().push(text);
        self.posted.notify_one();
    }
}

#[async_trait]
impl SlackApi for TerminalSlack {
    async fn user_profile(&self, user_id: &str) -> Result<SlackProfile, SlackApiError> {
        Ok(SlackProfile {
            display_name: user_id.to_owned(),
            tz: Some(self.tz.clone()),
            locale: None,
        })
    }

    async fn post_message(&self, channel: &str, reply: &Reply) -> Result<String, SlackApiError> {
        self.buttons
            .lock()
            .unwrap()
            .extend(reply.buttons().cloned());
        self.print(format!("[posted to {channel}]\n{}", reply.to_terminal()));
        Ok(self.next_ts())
    }

    async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError> {
        self.print(format!(
            "[updated message {ts} in {channel}]\n{}",
            reply.to_terminal()
        ));
        Ok(())
    }

    async fn respond(
        &self,
        _response_url: &str,
        reply: &Reply,
        _replace: bool,
    ) -> Result<(), SlackApiError> {
        self.print(reply.to_terminal());
        Ok(())
    }

    async fn post_ephemeral(
        &self,
        _channel: &str,
        _user_id: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError> {
        self.print(reply.to_terminal());
        Ok(())
    }

    async fn replace_original(
        &self,
        _response_url: &str,
        _message: &RenderedMessage,
    ) -> Result<(), SlackApiError> {
        // The terminal has no earlier message to change; clicks here carry no message.
        Ok(())
    }

    /// DMs show as posts to `D<user>`, the way the fake Slack names them.
    async fn open_dm(&self, user_id: &str) -> Result<String, SlackApiError> {
        Ok(format!("D{user_id}"))
    }

    async fn post_rendered(
        &self,
        channel: &str,
        message: &RenderedMessage,
    ) -> Result<String, SlackApiError> {
        self.buttons
            .lock()
            .unwrap()
            .extend(buttons_in(&message.blocks));
        self.print(format!("[posted to {channel}]\n{}", message.terminal));
        Ok(self.next_ts())
    }

    async fn upload_file(&self, channel: &str, file: &FileUpload<'_>) -> Result<(), SlackApiError> {
        self.print(format!(
            "[uploaded {} to {channel}, {} bytes]\n",
            file.filename,
            file.bytes.len()
        ));
        Ok(())
    }

    /// The terminal has no Home tab; `status` and `mine` show the same.
    async fn publish_home(
        &self,
        _user_id: &str,
        _view: &serde_json::Value,
    ) -> Result<(), SlackApiError> {
        Ok(())
    }

    /// The terminal has no forms: the command's reply says how to type the booking instead.
    async fn open_modal(
        &self,
        _trigger_id: &str,
        _view: &serde_json::Value,
    ) -> Result<(), SlackApiError> {
        Err(SlackApiError::Failed(
            "forms need Slack: type the booking instead".to_owned(),
        ))
    }
}

const BANNER: &str = "\
Maison — local try-out. Type commands as in Slack, e.g.
  /maison help
  /maison book gpu01 2h
  /maison mine
Type a button's label (e.g. Release #1) to press it, `:user U0BOB` to act as someone else,
`:lang ja` (or `en`, `auto`) to read Maison in Japanese or English, `:quit` (or Ctrl-D) to leave.";

/// The buttons of Block Kit `blocks` (as the outbox stores a message).
fn buttons_in(blocks: &serde_json::Value) -> Vec<Button> {
    let elements = blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().into_iter().flatten());
    elements
        .filter_map(|e| {
            Some(Button::new(
                e["text"]["text"].as_str()?,
                e["action_id"].as_str()?,
                e["value"].as_str().unwrap_or_default(),
            ))
        })
        .collect()
}

/// Reads lines from `input` until it ends or `:quit`, writing replies to `output`.
pub async fn run<R, W>(
    app: Arc<App>,
    slack: Arc<TerminalSlack>,
    mut user_id: String,
    input: R,
    mut output: W,
) -> anyhow::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    output
        .write_all(format!("{BANNER}\nYou are {user_id}.\n").as_bytes())
        .await?;
    let mut lines = BufReader::new(input).lines();
    let mut buttons: Vec<Button> = Vec::new();
    loop {
        output.write_all(format!("{user_id}> ").as_bytes()).await?;
        output.flush().await?;
        // Messages the outbox sends while we wait for input are printed as they come.
        // (`next_line` is cancel-safe: a partly typed line is kept.)
        let line = loop {
            tokio::select! {
                line = lines.next_line() => break line?,
                () = slack.wait_posted() => {
                    let posted = slack.take_posted();
                    if posted.is_empty() {
                        continue;
                    }
                    output.write_all(b"\n").await?;
                    for message in posted {
                        output.write_all(message.as_bytes()).await?;
                    }
                    buttons.extend(slack.take_buttons());
                    output.write_all(format!("{user_id}> ").as_bytes()).await?;
                    output.flush().await?;
                }
            }
        };
        let Some(line) = line else {
            break;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == ":quit" || line == ":q" {
            break;
        }
        if let Some(who) = line.strip_prefix(":user") {
            let who = who.trim();
            if who.is_empty() {
                output.write_all(b"Usage: :user U0SOMEONE\n").await?;
            } else {
                user_id = who.to_owned();
                output
                    .write_all(format!("You are now {user_id}.\n").as_bytes())
                    .await?;
            }
            continue;
        }
        // `:lang ja` is `/maison lang ja` for whoever is typing: the same stored choice a
        // Slack user makes, so everything after it (replies, DMs, buttons) reads that way.
        let line = match line.strip_prefix(":lang") {
            Some(choice) if choice.trim().is_empty() => "lang",
            Some(_) => line.trim_start_matches(':'),
            None => line,
        };
        let pressed = buttons
            .iter()
            .find(|b| b.label.eq_ignore_ascii_case(line))
            .cloned();
        let reply = match pressed {
            Some(button) => {
                let action = ActionInvocation {
                    team_id: LOCAL_TEAM.to_owned(),
                    user_id: user_id.clone(),
                    action_id: button.action_id,
                    value: button.value,
                    response_url: None,
                    message_ts: None,
                    message: None,
                    trigger_id: None,
                };
                app.handle_action(&action).await.reply
            }
            None => {
                let text = line.strip_prefix("/maison").unwrap_or(line).trim();
                let invocation = Invocation {
                    team_id: LOCAL_TEAM.to_owned(),
                    user_id: user_id.clone(),
                    channel_id: "C0TERMINAL".to_owned(),
                    text: text.to_owned(),
                    response_url: None,
                    trigger_id: None,
                };
                app.handle_command(&invocation).await
            }
        };
        buttons = reply.buttons().cloned().collect();
        output.write_all(reply.to_terminal().as_bytes()).await?;
        // Announcements are posted from a task; give it a moment so they print in order.
        tokio::task::yield_now().await;
        for posted in slack.take_posted() {
            output.write_all(posted.as_bytes()).await?;
        }
        buttons.extend(slack.take_buttons());
    }
    output.write_all(b"Bye.\n").await?;
    Ok(())
}
