//! Everything that speaks Slack: request signatures, the HTTP routes, Socket Mode and the Web API
//! client (the real [`crate::ports::SlackApi`]).
//!
//! Layer: a front. It may import `app`, `ports`, `store`, `core` and `config`; it only
//! transports what `app` and `core` decide.

pub mod api;
pub mod http;
pub mod serve;
pub mod signature;
pub mod socket;

/// Slack HTML-escapes `&`, `<` and `>` in the text of slash commands; the grammar wants what
/// the user typed.
pub fn unescape_text(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Whether a message others can see: not an ephemeral reply, and not in a DM (`D…`), where
/// only the user and the bot are.
pub fn seen_by_others(channel_id: &str, ephemeral: bool) -> bool {
    !ephemeral && !channel_id.starts_with('D')
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_channel_posts_are_seen_by_others() {
        assert!(super::seen_by_others("C0REPORTS", false));
        assert!(super::seen_by_others("G0PRIVATE", false));
        assert!(!super::seen_by_others("C0REPORTS", true));
        assert!(!super::seen_by_others("D0DM", false));
    }

    #[test]
    fn slack_escapes_are_undone_once() {
        assert_eq!(
            super::unescape_text("for \"a &lt;b&gt; &amp;amp;\""),
            "for \"a <b> &amp;\""
        );
    }
}
