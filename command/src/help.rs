//! Help replies, rendered from the command table as Slack mrkdwn.

use std::fmt::Write as _;

use crate::ParseError;
use crate::spec::{COMMANDS, CommandSpec, lookup, suggest};

/// The overview (`None`) or one command's detail, as Slack mrkdwn. The topic may be any name or
/// alias, in any case; an unknown one is refused with the nearest command as a suggestion.
pub fn help_text(topic: Option<&str>) -> Result<String, ParseError> {
    match topic {
        None => Ok(overview()),
        Some(topic) => lookup(topic)
            .map(detail)
            .ok_or_else(|| ParseError::UnknownCommand {
                word: topic.to_owned(),
                suggestion: suggest(topic),
            }),
    }
}

fn overview() -> String {
    let mut text = String::from(
        "*Maison books shared GPU servers.* Type `/maison <command>`; \
         times are in your Slack time zone.\n",
    );
    let line = |text: &mut String, spec: &CommandSpec| {
        let usage = spec.usage.lines().next().unwrap_or(spec.name);
        let _ = writeln!(text, "• `{usage}`: {}", spec.summary);
    };
    for spec in COMMANDS.iter().filter(|spec| !spec.admin) {
        line(&mut text, spec);
    }
    if COMMANDS.iter().any(|spec| spec.admin) {
        text.push_str("*Admin*\n");
        for spec in COMMANDS.iter().filter(|spec| spec.admin) {
            line(&mut text, spec);
        }
    }
    text.push_str("`/maison help <command>` explains one command, with examples.");
    text
}

fn detail(spec: &CommandSpec) -> String {
    let mut text = format!("*/maison {}*: {}", spec.name, spec.summary);
    if spec.admin {
        text.push_str(" (admins only)");
    }
    text.push('\n');
    if !spec.aliases.is_empty() {
        let aliases: Vec<String> = spec.aliases.iter().map(|a| format!("`{a}`")).collect();
        let _ = writeln!(text, "Also: {}", aliases.join(", "));
    }
    text.push_str("*Usage*\n");
    for usage in spec.usage.lines() {
        let _ = writeln!(text, "`/maison {usage}`");
    }
    if !spec.details.is_empty() {
        let _ = writeln!(text, "{}", spec.details);
    }
    text.push_str("*Examples*\n");
    let examples: Vec<String> = spec
        .examples
        .iter()
        .map(|example| format!("• `/maison {example}`"))
        .collect();
    text.push_str(&examples.join("\n"));
    text
}
