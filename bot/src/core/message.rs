//! Messages the bot sends on its own (reports, reminders, announcements, job outcomes), as
//! data: who each is for and what it says. The store queues them; the outbox sender delivers.

use super::render::Reply;

/// Who a message is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// A channel id (`C…`).
    Channel(String),
    /// A Slack user id: the message goes to the DM with the bot, opened with
    /// `conversations.open`.
    User(String),
}

impl Recipient {
    /// How the kind is stored: `channel` or `user`.
    pub fn kind(&self) -> &'static str {
        match self {
            Recipient::Channel(_) => "channel",
            Recipient::User(_) => "user",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Recipient::Channel(id) | Recipient::User(id) => id,
        }
    }

    /// The recipient stored as `kind` and `id`.
    pub fn from_parts(kind: &str, id: String) -> Self {
        match kind {
            "user" => Recipient::User(id),
            _ => Recipient::Channel(id),
        }
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::Channel(id) => write!(f, "channel {id}"),
            Recipient::User(id) => write!(f, "DM to {id}"),
        }
    }
}

/// A file shared with the message (a report's PNG chart), uploaded before the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub title: String,
    pub bytes: Vec<u8>,
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub to: Recipient,
    pub reply: Reply,
    pub attachment: Option<Attachment>,
}

/// The state of the queue, for `jobs list` and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Queued, not yet sent.
    pub pending: u64,
    /// Refused by Slack for good, kept with their error.
    pub parked: u64,
    pub oldest_pending_at: Option<i64>,
    /// The most recently parked message: `(id, recipient, error)`.
    pub last_parked: Option<(i64, Recipient, String)>,
}
