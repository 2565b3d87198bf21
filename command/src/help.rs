//! Help replies, rendered from the command table as Slack mrkdwn, in English or Japanese.

use std::fmt::Write as _;

use crate::spec::{COMMANDS, CommandSpec, lookup, suggest};
use crate::{Lang, ParseError};

/// The overview (`None`) or one command's detail, as Slack mrkdwn in `lang`. The topic may be any
/// name or alias, in any case; an unknown one is refused with the nearest command as a
/// suggestion. Usage lines and examples are what users type, so they are the same in every
/// language.
pub fn help_text(topic: Option<&str>, lang: Lang) -> Result<String, ParseError> {
    match topic {
        None => Ok(overview(lang)),
        Some(topic) => {
            lookup(topic)
                .map(|spec| detail(spec, lang))
                .ok_or_else(|| ParseError::UnknownCommand {
                    word: topic.to_owned(),
                    suggestion: suggest(topic),
                })
        }
    }
}

/// The fixed words around the table's text.
struct Labels {
    intro: &'static str,
    admin_heading: &'static str,
    outro: &'static str,
    admins_only: &'static str,
    also: &'static str,
    usage: &'static str,
    examples: &'static str,
}

fn labels(lang: Lang) -> Labels {
    match lang {
        Lang::En => Labels {
            intro: "*Maison books shared GPU servers.* Type `/maison <command>`; \
                    times are in your Slack time zone.",
            admin_heading: "*Admin*",
            outro: "`/maison help <command>` explains one command, with examples.",
            admins_only: " (admins only)",
            also: "Also: ",
            usage: "*Usage*",
            examples: "*Examples*",
        },
        Lang::Ja => Labels {
            intro: "*Maison で共有 GPU サーバーを予約できます。* `/maison <コマンド>` と入力して\
                    ください。時刻は Slack のタイムゾーンで扱います。",
            admin_heading: "*管理者向け*",
            outro: "`/maison help <コマンド>` で、各コマンドの説明と例を表示します。",
            admins_only: "（管理者のみ）",
            also: "別名: ",
            usage: "*使い方*",
            examples: "*例*",
        },
    }
}

fn overview(lang: Lang) -> String {
    let labels = labels(lang);
    let mut text = format!("{}\n", labels.intro);
    let line = |text: &mut String, spec: &CommandSpec| {
        let usage = spec.usage.lines().next().unwrap_or(spec.name);
        let _ = writeln!(text, "• `{usage}`: {}", spec.summary_in(lang));
    };
    for spec in COMMANDS.iter().filter(|spec| !spec.admin) {
        line(&mut text, spec);
    }
    if COMMANDS.iter().any(|spec| spec.admin) {
        let _ = writeln!(text, "{}", labels.admin_heading);
        for spec in COMMANDS.iter().filter(|spec| spec.admin) {
            line(&mut text, spec);
        }
    }
    text.push_str(labels.outro);
    text
}

fn detail(spec: &CommandSpec, lang: Lang) -> String {
    let labels = labels(lang);
    let mut text = format!("*/maison {}*: {}", spec.name, spec.summary_in(lang));
    if spec.admin {
        text.push_str(labels.admins_only);
    }
    text.push('\n');
    if !spec.aliases.is_empty() {
        let aliases: Vec<String> = spec.aliases.iter().map(|a| format!("`{a}`")).collect();
        let _ = writeln!(text, "{}{}", labels.also, aliases.join(", "));
    }
    let _ = writeln!(text, "{}", labels.usage);
    for usage in spec.usage.lines() {
        let _ = writeln!(text, "`/maison {usage}`");
    }
    let details = spec.details_in(lang);
    if !details.is_empty() {
        let _ = writeln!(text, "{details}");
    }
    let _ = writeln!(text, "{}", labels.examples);
    let examples: Vec<String> = spec
        .examples
        .iter()
        .map(|example| format!("• `/maison {example}`"))
        .collect();
    text.push_str(&examples.join("\n"));
    text
}
