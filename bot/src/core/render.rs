//! What the bot says, as data: a [`Reply`] of a few block kinds, rendered to Slack Block Kit
//! JSON for Slack and to plain text for the terminal front-end (`maison-bot try`).
//!
//! Handlers build replies; they never touch JSON. That keeps replies snapshot-testable and lets
//! both fronts show the same thing, buttons included.

use serde_json::{Value, json};

/// Slack limits a section's text to 3,000 characters; longer text is cut with a marker.
const SECTION_TEXT_LIMIT: usize = 3000;
/// Slack limits a message to 50 blocks.
const MAX_BLOCKS: usize = 50;
/// Slack limits a header's text to 150 characters and a button's to 75. Slack counts
/// characters, not bytes: a Japanese character is one, though UTF-8 spends three on it.
const HEADER_TEXT_LIMIT: usize = 150;
const BUTTON_TEXT_LIMIT: usize = 75;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Only the caller sees it.
    Ephemeral,
    /// Everyone in the channel sees it.
    InChannel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub visibility: Visibility,
    /// Fallback text for notifications and clients that cannot show blocks.
    pub text: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Header(String),
    /// Slack mrkdwn.
    Section(String),
    /// Small grey text.
    Context(String),
    Divider,
    Actions(Vec<Button>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    /// Which handler the click goes to (see `actions`).
    pub action_id: String,
    /// What it acts on, e.g. a booking id.
    pub value: String,
    pub style: ButtonStyle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Default,
    Primary,
    Danger,
}

impl Reply {
    /// A one-paragraph private answer.
    pub fn ephemeral(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            visibility: Visibility::Ephemeral,
            blocks: vec![Block::Section(text.clone())],
            text,
        }
    }

    pub fn with_blocks(
        visibility: Visibility,
        text: impl Into<String>,
        blocks: Vec<Block>,
    ) -> Self {
        Self {
            visibility,
            text: text.into(),
            blocks,
        }
    }

    /// Block Kit JSON as sent in a slash-command response or to `chat.postMessage`.
    /// The blocks as Slack JSON, within Slack's count limit (a view's blocks, or a message's).
    pub fn blocks_json(&self) -> Vec<Value> {
        let mut blocks: Vec<Value> = self.blocks.iter().map(Block::to_slack_json).collect();
        if blocks.len() > MAX_BLOCKS {
            let dropped = blocks.len() - (MAX_BLOCKS - 1);
            blocks.truncate(MAX_BLOCKS - 1);
            // Written without words: the reply's language is not known here, and the mark
            // reads the same in English and Japanese.
            blocks.push(Block::Context(format!("… +{dropped}")).to_slack_json());
        }
        blocks
    }

    pub fn to_slack_json(&self) -> Value {
        let blocks = self.blocks_json();
        json!({
            "response_type": match self.visibility {
                Visibility::Ephemeral => "ephemeral",
                Visibility::InChannel => "in_channel",
            },
            "text": self.text,
            "blocks": blocks,
        })
    }

    /// Readable text for a terminal: buttons are shown as `[Label]`, to be typed to press them.
    pub fn to_terminal(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Header(text) => {
                    out.push_str(&format!("== {} ==\n", text));
                }
                Block::Section(text) => {
                    out.push_str(&mrkdwn_to_plain(text));
                    out.push('\n');
                }
                Block::Context(text) => {
                    out.push_str(&format!("  ({})\n", mrkdwn_to_plain(text)));
                }
                Block::Divider => out.push_str("----\n"),
                Block::Actions(buttons) => {
                    let labels: Vec<String> =
                        buttons.iter().map(|b| format!("[{}]", b.label)).collect();
                    out.push_str(&format!("  {}\n", labels.join(" ")));
                }
            }
        }
        out
    }

    /// Every button in the reply, in order.
    pub fn buttons(&self) -> impl Iterator<Item = &Button> {
        self.blocks.iter().flat_map(|block| match block {
            Block::Actions(buttons) => buttons.as_slice(),
            _ => &[],
        })
    }
}

/// A message already rendered for both fronts: what the outbox stores and sends.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedMessage {
    /// Fallback text for notifications.
    pub text: String,
    /// Block Kit blocks (a JSON array).
    pub blocks: serde_json::Value,
    /// What the terminal of `maison-bot try` prints.
    pub terminal: String,
}

impl RenderedMessage {
    pub fn from_reply(reply: &Reply) -> Self {
        Self {
            text: reply.text.clone(),
            blocks: reply.to_slack_json()["blocks"].clone(),
            terminal: reply.to_terminal(),
        }
    }
}

impl Block {
    fn to_slack_json(&self) -> Value {
        match self {
            Block::Header(text) => json!({
                "type": "header",
                "text": {"type": "plain_text", "text": truncate(text, HEADER_TEXT_LIMIT), "emoji": true},
            }),
            Block::Section(text) => json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)},
            }),
            Block::Context(text) => json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}],
            }),
            Block::Divider => json!({"type": "divider"}),
            Block::Actions(buttons) => json!({
                "type": "actions",
                "elements": buttons.iter().map(Button::to_slack_json).collect::<Vec<_>>(),
            }),
        }
    }
}

impl Button {
    pub fn new(
        label: impl Into<String>,
        action_id: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            label: label.into(),
            action_id: action_id.into(),
            value: value.into(),
            style: ButtonStyle::Default,
        }
    }

    pub fn styled(mut self, style: ButtonStyle) -> Self {
        self.style = style;
        self
    }

    fn to_slack_json(&self) -> Value {
        let mut button = json!({
            "type": "button",
            "text": {"type": "plain_text", "text": truncate(&self.label, BUTTON_TEXT_LIMIT)},
            "action_id": self.action_id,
            "value": self.value,
        });
        match self.style {
            ButtonStyle::Default => {}
            ButtonStyle::Primary => button["style"] = json!("primary"),
            ButtonStyle::Danger => button["style"] = json!("danger"),
        }
        button
    }
}

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let kept: String = text.chars().take(limit - 1).collect();
    format!("{kept}…")
}

/// Emoji short codes the bot uses, and what a terminal shows instead.
const TERMINAL_EMOJI: &[(&str, &str)] = &[
    (":white_check_mark:", "✅"),
    (":no_entry_sign:", "🚫"),
    (":no_entry:", "⛔"),
    (":warning:", "⚠️ "),
    (":grey_question:", "❔"),
    (":calendar:", "📅"),
    (":red_circle:", "🔴"),
    (":large_green_circle:", "🟢"),
    (":construction:", "🚧"),
    (":stopwatch:", "⏱️ "),
    (":wave:", "👋"),
    (":wastebasket:", "🗑️ "),
    (":lock:", "🔒"),
    (":boom:", "💥"),
    (":hourglass:", "⌛"),
    (":hourglass_flowing_sand:", "⏳"),
    (":gift:", "🎁"),
    (":zzz:", "💤"),
    (":scales:", "⚖️ "),
    (":straight_ruler:", "📏"),
    (":white_circle:", "⚪"),
    (":black_circle:", "⚫"),
    (":electric_plug:", "🔌"),
    (":rocket:", "🚀"),
    (":recycle:", "♻️ "),
    (":shield:", "🛡️ "),
    (":ticket:", "🎫"),
    (":stop_sign:", "🛑"),
    (":raising_hand:", "🙋"),
    (":bust_in_silhouette:", "👤"),
    (":information_source:", "ℹ️ "),
    (":truck:", "🚚"),
    (":pushpin:", "📌"),
    (":mag:", "🔍"),
    (":books:", "📚"),
];

/// Turns Slack mrkdwn into terminal text: no `*bold*` or backticks, mentions as `@U123`,
/// emoji short codes as emoji.
fn mrkdwn_to_plain(text: &str) -> String {
    // Bold markers go, but not inside `code` (a cron schedule is all asterisks).
    let mut in_code = false;
    let text: String = text
        .chars()
        .filter(|c| match c {
            '`' => {
                in_code = !in_code;
                false
            }
            '*' => in_code,
            _ => true,
        })
        .collect();
    let text = text
        .replace("<!here>", "@here")
        .replace("_(", "(")
        .replace(")_", ")");
    // Mentions `<@U123>` become `@U123`.
    let mut plain = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(open) = rest.find("<@") {
        let after = &rest[open + 2..];
        let id_len = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        if id_len > 0 && after[id_len..].starts_with('>') {
            plain.push_str(&rest[..open]);
            plain.push('@');
            plain.push_str(&after[..id_len]);
            rest = &after[id_len + 1..];
        } else {
            plain.push_str(&rest[..open + 2]);
            rest = after;
        }
    }
    plain.push_str(rest);
    for (code, emoji) in TERMINAL_EMOJI {
        plain = plain.replace(code, emoji);
    }
    plain
}

/// A message's blocks with the pressed button (`action_id` with `value`) taken out and the line
/// `note` shown in its place: after its actions block, or instead of it when it held no other
/// button. How a channel message shows that one of its items was dealt with, leaving the rest
/// as it was. `None` when no such button is in the blocks (the message changed since), so that
/// nothing else is touched.
pub fn settle_line(blocks: &Value, action_id: &str, value: &str, note: &str) -> Option<Value> {
    let mut blocks = blocks.as_array()?.clone();
    let is_pressed = |e: &Value| e["action_id"] == action_id && e["value"] == value;
    let at = blocks.iter().position(|block| {
        block["type"] == "actions"
            && block["elements"]
                .as_array()
                .is_some_and(|elements| elements.iter().any(is_pressed))
    })?;
    let note = Block::Context(note.to_owned()).to_slack_json();
    let elements = blocks[at]["elements"].as_array_mut()?;
    elements.retain(|e| !is_pressed(e));
    if elements.is_empty() {
        blocks[at] = note;
    } else {
        blocks.insert(at + 1, note);
    }
    Some(Value::Array(blocks))
}

/// Mentions a Slack user so the client shows their name.
pub fn mention(user_id: &str) -> String {
    format!("<@{user_id}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_json_has_every_block_kind() {
        let reply = Reply::with_blocks(
            Visibility::InChannel,
            "fallback",
            vec![
                Block::Header("Fleet".into()),
                Block::Section("*gpu01* free".into()),
                Block::Context("as of now".into()),
                Block::Divider,
                Block::Actions(vec![
                    Button::new("Release", "release", "7").styled(ButtonStyle::Danger),
                    Button::new("Extend 1h", "extend_1h", "7"),
                ]),
            ],
        );
        insta::assert_json_snapshot!(reply.to_slack_json());
        insta::assert_snapshot!(reply.to_terminal());
    }

    #[test]
    fn long_text_and_many_blocks_respect_slack_limits() {
        let long = "x".repeat(5000);
        let mut blocks = vec![Block::Section(long)];
        blocks.extend((0..60).map(|i| Block::Section(format!("line {i}"))));
        let json = Reply::with_blocks(Visibility::Ephemeral, "t", blocks).to_slack_json();
        let blocks = json["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), MAX_BLOCKS);
        assert_eq!(
            blocks[0]["text"]["text"].as_str().unwrap().chars().count(),
            SECTION_TEXT_LIMIT
        );
        assert_eq!(blocks[49]["elements"][0]["text"], "… +12");
    }

    /// Japanese text is measured as Slack measures it, in characters: a section of 3,000
    /// Japanese characters (9,000 bytes) is sent whole, one more is cut; headers and button
    /// labels likewise.
    #[test]
    fn japanese_text_is_counted_in_characters() {
        let whole = "予".repeat(SECTION_TEXT_LIMIT);
        let over = "約".repeat(SECTION_TEXT_LIMIT + 1);
        let label = "削".repeat(BUTTON_TEXT_LIMIT + 5);
        let blocks = vec![
            Block::Header("表".repeat(HEADER_TEXT_LIMIT + 1)),
            Block::Section(whole.clone()),
            Block::Section(over),
            Block::Actions(vec![Button::new(label, "a", "v")]),
        ];
        let json = Reply::with_blocks(Visibility::Ephemeral, "t", blocks).to_slack_json();
        let text = |i: usize| {
            json["blocks"][i]["text"]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(text(0).chars().count(), HEADER_TEXT_LIMIT);
        assert_eq!(text(1), whole);
        assert_eq!(text(2).chars().count(), SECTION_TEXT_LIMIT);
        assert!(text(2).ends_with('…'));
        let button = json["blocks"][3]["elements"][0]["text"]["text"]
            .as_str()
            .unwrap();
        assert_eq!(button.chars().count(), BUTTON_TEXT_LIMIT);
    }

    #[test]
    fn settling_a_line_takes_out_only_the_pressed_button() {
        let remove = |value: &str| Button::new("Remove", "remove_image", value);
        let reply = Reply::with_blocks(
            Visibility::InChannel,
            "report",
            vec![
                Block::Section("`old:1` on gpu01".into()),
                Block::Actions(vec![remove("gpu01/sha1")]),
                Block::Section("`old:2`, `old:3` on gpu02".into()),
                Block::Actions(vec![remove("gpu02/sha2"), remove("gpu02/sha3")]),
            ],
        );
        let blocks = reply.to_slack_json()["blocks"].clone();
        let original = blocks.as_array().unwrap();

        // The only button of its block: the block becomes the note.
        let settled = settle_line(&blocks, "remove_image", "gpu01/sha1", "Removed by <@U1>")
            .expect("the button is there");
        let settled = settled.as_array().unwrap();
        assert_eq!(settled.len(), 4);
        assert_eq!(settled[1]["type"], "context");
        assert_eq!(settled[1]["elements"][0]["text"], "Removed by <@U1>");
        assert_eq!(
            (&settled[0], &settled[2], &settled[3]),
            (&original[0], &original[2], &original[3])
        );

        // One of several: the others stay, the note follows them.
        let settled = settle_line(&blocks, "remove_image", "gpu02/sha2", "Removed by <@U1>")
            .expect("the button is there");
        let settled = settled.as_array().unwrap();
        assert_eq!(settled.len(), 5);
        assert_eq!(settled[..3], original[..3]);
        let left: Vec<&Value> = settled[3]["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["value"])
            .collect();
        assert_eq!(left, [&json!("gpu02/sha3")]);
        assert_eq!(settled[4]["type"], "context");

        // A button that is not there (already settled, or another value) changes nothing.
        assert_eq!(
            settle_line(&blocks, "remove_image", "gpu03/sha4", "x"),
            None
        );
        assert_eq!(
            settle_line(&json!("not blocks"), "remove_image", "gpu02/sha2", "x"),
            None
        );
    }

    #[test]
    fn terminal_text_shows_mentions_and_emoji_plainly() {
        assert_eq!(
            mrkdwn_to_plain(":wave: *hi* <@U1> and <@U2>, `code` <not a mention> <@"),
            "👋 hi @U1 and @U2, code <not a mention> <@"
        );
        assert_eq!(
            mrkdwn_to_plain("*daily* `0 0 9 * * Mon-Fri`"),
            "daily 0 0 9 * * Mon-Fri"
        );
    }
}
