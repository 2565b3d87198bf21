//! Why a command line was refused.
//!
//! A closed set the bot can branch on; each variant's `Display` is the reply shown to the user in
//! Slack: what was wrong and what the right form looks like, with an example.

use chrono::Duration;

use crate::duration::format_duration;
use crate::spec::{self, DURATION_FORMS, TIME_FORMS};
use crate::{Lang, error_ja};

/// A command line that does not parse. `Display` is the user-facing text (Slack mrkdwn).
///
/// `command` fields hold the canonical command word from [`COMMANDS`](crate::COMMANDS).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(
        "Type a command after `/maison`, for example `/maison status`. \
         `/maison help` lists them all."
    )]
    EmptyCommand,

    #[error("I don't know the command `{word}`.{} `/maison help` lists them all.", did_you_mean(.suggestion))]
    UnknownCommand {
        word: String,
        suggestion: Option<String>,
    },

    /// A command of the design that is not built yet (see [`spec::PLANNED`]).
    #[error("{what} is not yet available. `/maison help` lists what works today.")]
    NotYetAvailable { word: String, what: &'static str },

    #[error("`{command}` needs {what}.")]
    MissingArgument {
        command: &'static str,
        what: &'static str,
    },

    #[error("I didn't expect `{arg}` in `/maison {command}`.")]
    UnexpectedArgument { command: &'static str, arg: String },

    #[error("`{input}` is not a duration I understand. {DURATION_FORMS}.")]
    BadDuration {
        command: &'static str,
        input: String,
    },

    #[error("`{input}` is no time at all: a duration is at least 1m, like 30m or 2h.")]
    ZeroDuration {
        command: &'static str,
        input: String,
    },

    #[error("`{input}` is too long: a duration can be at most 365d.")]
    DurationTooLong {
        command: &'static str,
        input: String,
    },

    #[error("`{input}` is not a time I understand: {reason}. {TIME_FORMS}.")]
    BadTime {
        command: &'static str,
        input: String,
        reason: String,
    },

    #[error("`{input}` is not a GPU selection. {}", gpu_forms(.command))]
    BadGpus {
        command: &'static str,
        input: String,
    },

    /// Also a wait-list id, for `unwait`: the same rules, its own wording.
    #[error("{}", bad_id(.command, .input))]
    BadBookingId {
        command: &'static str,
        input: String,
    },

    #[error(
        "{time} does not exist in {tz}: the clocks skip it for daylight saving time. \
         Pick a time outside the skipped hour."
    )]
    NonexistentLocalTime {
        command: &'static str,
        time: String,
        tz: String,
    },

    #[error(
        "`{range}` ends before it starts. Give the end after the start, like `9:00-18:00`; \
         to run past midnight, give a duration and a start, like `8h at 22:00`."
    )]
    EndBeforeStart {
        command: &'static str,
        range: String,
    },

    #[error("A quote is opened but never closed. {}", quote_hint(.command))]
    UnterminatedQuote { command: &'static str },

    #[error(
        "`{input}` can't be a container name: it {reason}. A name starts with a letter or digit, \
         then letters, digits, `_`, `.` or `-`, up to 63 characters, like `--name llama-ft`."
    )]
    BadContainerName {
        command: &'static str,
        input: String,
        reason: String,
    },

    #[error(
        "`{input}` is not an image I can use: it {reason}. Give a catalogue name like `pytorch` \
         (`/maison images` lists them) or a reference like `registry.lan/team/trainer:1.2`."
    )]
    BadImage {
        command: &'static str,
        input: String,
        reason: String,
    },

    #[error("`{input}` is not {}: it {reason}. {}", target_kind(.command), target_forms(.command))]
    BadTarget {
        command: &'static str,
        input: String,
        reason: String,
    },

    #[error("To run `{word}` in the container, put the command after `--`: `/maison {corrected}`")]
    MissingCommandSeparator {
        command: &'static str,
        word: String,
        /// The line with `--` inserted, without `/maison`.
        corrected: String,
    },

    #[error(
        "`/maison {command}` takes {expected}, not `{word}`.{}",
        did_you_mean_word(.suggestion)
    )]
    UnknownSubcommand {
        command: &'static str,
        word: String,
        /// The sub-commands accepted, as a phrase: "`drain` or `undrain`".
        expected: &'static str,
        /// The accepted sub-command nearest to `word`, when it looks like a typo of one.
        suggestion: Option<&'static str>,
    },

    #[error(
        "`{input}` has no version. Register each version under its own label, like \
         `/maison data add {input}@v1 gpu03:/srv/datasets/{input}`: a version never changes \
         once registered."
    )]
    MissingVersion {
        command: &'static str,
        input: String,
    },

    #[error(
        "`{input}` is not a dataset I can use: it {reason}. A dataset is a name, or a name and \
         a version, made of letters, digits, `_`, `.` and `-`, like `imagenet` or `imagenet@v2`."
    )]
    BadDataset {
        command: &'static str,
        input: String,
        reason: String,
    },

    #[error(
        "`{input}` is not a directory I can register: {reason}. Give the host and the \
         absolute path, like `gpu03:/srv/datasets/imagenet`."
    )]
    BadDatasetPath {
        command: &'static str,
        input: String,
        reason: String,
    },

    #[error(
        "`{input}` is not a Dockerfile path: give its absolute path on the host, like \
         `/work/alice/tuned/Dockerfile`."
    )]
    BadDockerfilePath {
        command: &'static str,
        input: String,
    },

    #[error(
        "`{name}` is given twice after `--data`. Give each dataset once, like \
         `--data imagenet,coco@2017`."
    )]
    DuplicateDataset { command: &'static str, name: String },

    /// `--within` or `--auto` given without `--wait`.
    #[error(
        "`{option}` only applies with `--wait`, which puts you on the wait-list when nothing \
         is free. Add `--wait`, or leave `{option}` out."
    )]
    WaitOptionWithoutWait {
        command: &'static str,
        /// `--within` or `--auto`.
        option: &'static str,
    },

    /// `--wait` with `at …`, a start without `at`, or a time range.
    #[error(
        "`--wait` books as soon as GPUs free up, so it takes a duration, not a start time. \
         Leave the start out, like `2h --wait`, or book that time without `--wait`."
    )]
    WaitWithStartTime { command: &'static str },

    /// `--within` shorter than the booking: it could never be over in time.
    #[error(
        "`--within {}` is shorter than the booking itself ({}), so it could never be over in \
         time. Give `--within` at least {}, or book for less.",
        format_duration(*.within),
        format_duration(*.length),
        format_duration(*.length)
    )]
    WithinShorterThanBooking {
        command: &'static str,
        within: Duration,
        length: Duration,
    },

    #[error(
        "`{input}` is not a GPU memory size: it {reason}. Give a number and a unit, like \
         `--min-mem 40G`: `M`, `G` and `T` (or `MB`, `GB`, `TB`) count in powers of 1000, \
         `MiB`, `GiB` and `TiB` in powers of 1024."
    )]
    BadMemorySize {
        command: &'static str,
        input: String,
        reason: String,
    },

    #[error(
        "`{input}` is not a project name: it {reason}. A project is a name made of letters, \
         digits, `_`, `.` and `-`, like `vision`; `/maison project` lists them."
    )]
    BadProject {
        command: &'static str,
        input: String,
        reason: String,
    },

    #[error(
        "`{input}` is not a catalogue name: it {reason}. A catalogue name is a plain name made \
         of letters, digits, `_`, `.` and `-`, optionally with `:version`, like `resnet` or \
         `resnet:v2`; `/maison images` lists them."
    )]
    BadCatalogName {
        command: &'static str,
        input: String,
        reason: String,
    },

    /// `report what-if` with an addition it cannot read.
    #[error(
        "`{input}` is not capacity I can add. Say how many GPUs, like `+4 gpus` (one new host \
         of 4), or hosts and their size, like `+2 hosts of 8` (at most 4096 GPUs in all)."
    )]
    BadWhatIf { input: String },

    #[error("`{input}` is not a number of weeks I can replay: give 1 to 52, like `--weeks 12`.")]
    BadWeeks { input: String },
}

impl ParseError {
    /// The usage line(s) of the command concerned, newline-separated, without `/maison`.
    pub fn usage(&self) -> Option<&'static str> {
        self.command().map(|name| spec::spec(name).usage)
    }

    /// How the command is typed, shown once under every error about it: its usage line(s) with
    /// `/maison`, and an example. The error's own text never repeats it.
    pub fn right_form(&self) -> Option<String> {
        self.command().map(right_form)
    }

    /// The text shown to a reader of `lang`; `Display` is the English one (and what logs get).
    pub fn message_in(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::Ja => error_ja::message(self),
        }
    }

    /// [`right_form`](Self::right_form) in `lang`.
    pub fn right_form_in(&self, lang: Lang) -> Option<String> {
        self.command().map(|command| match lang {
            Lang::En => right_form(command),
            Lang::Ja => error_ja::right_form(command),
        })
    }

    /// The canonical name of the command concerned, when the command word was recognised.
    pub fn command(&self) -> Option<&'static str> {
        match self {
            ParseError::EmptyCommand
            | ParseError::UnknownCommand { .. }
            | ParseError::NotYetAvailable { .. } => None,
            ParseError::MissingArgument { command, .. }
            | ParseError::UnexpectedArgument { command, .. }
            | ParseError::BadDuration { command, .. }
            | ParseError::ZeroDuration { command, .. }
            | ParseError::DurationTooLong { command, .. }
            | ParseError::BadTime { command, .. }
            | ParseError::BadGpus { command, .. }
            | ParseError::BadBookingId { command, .. }
            | ParseError::NonexistentLocalTime { command, .. }
            | ParseError::EndBeforeStart { command, .. }
            | ParseError::UnterminatedQuote { command }
            | ParseError::BadContainerName { command, .. }
            | ParseError::BadImage { command, .. }
            | ParseError::BadTarget { command, .. }
            | ParseError::MissingCommandSeparator { command, .. }
            | ParseError::UnknownSubcommand { command, .. }
            | ParseError::MissingVersion { command, .. }
            | ParseError::BadDataset { command, .. }
            | ParseError::BadDatasetPath { command, .. }
            | ParseError::BadDockerfilePath { command, .. }
            | ParseError::DuplicateDataset { command, .. }
            | ParseError::WaitOptionWithoutWait { command, .. }
            | ParseError::WaitWithStartTime { command }
            | ParseError::WithinShorterThanBooking { command, .. }
            | ParseError::BadMemorySize { command, .. }
            | ParseError::BadProject { command, .. }
            | ParseError::BadCatalogName { command, .. } => Some(command),
            ParseError::BadWhatIf { .. } | ParseError::BadWeeks { .. } => Some("report"),
        }
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(word) => format!(" Did you mean `{word}`?"),
        None => String::new(),
    }
}

fn did_you_mean_word(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(word) => format!(" Did you mean `{word}`?"),
        None => String::new(),
    }
}

fn bad_id(command: &str, input: &str) -> String {
    match command {
        "unwait" => format!(
            "`{input}` is not a wait-list id. Ids are the numbers `/maison queue` and the \
             `--wait` reply show, like `7` or `#7`."
        ),
        _ => format!(
            "`{input}` is not a booking id. Ids are the numbers `/maison mine` shows, \
             like `42` or `#42`."
        ),
    }
}

fn gpu_forms(command: &str) -> &'static str {
    match command {
        "launch" => {
            "Write `--gpus 0,1` for GPUs 0 and 1, `--gpus 0-3` for GPUs 0 to 3, `--gpus all` \
             for every GPU you booked on the host, or `--gpus none` for no GPU."
        }
        _ => {
            "Write `gpu01:0,1` for GPUs 0 and 1, `gpu01:0-3` for GPUs 0 to 3, `gpu01:all` for \
             the whole host, or `--gpus 2` for any two free GPUs."
        }
    }
}

fn quote_hint(command: &str) -> &'static str {
    match command {
        "book" | "data" => "Write the note like `for \"training run\"`.",
        "launch" => "Close it, like `-- python -c \"print(42)\"`.",
        _ => "Close it, or leave the quotes out.",
    }
}

fn target_kind(command: &str) -> &'static str {
    match command {
        "stop" | "rm" => "a container",
        _ => "a container or an image",
    }
}

fn target_forms(command: &str) -> &'static str {
    match command {
        "stop" | "rm" => {
            "Give the container's name or id, like `llama-ft` or `3f2a9c`; \
             `/maison ps` lists yours."
        }
        _ => {
            "Give a container name or id, like `llama-ft` or `3f2a9c`, or an image, \
             like `pytorch` or `registry.lan/team/trainer:1.2`."
        }
    }
}

fn right_form(command: &str) -> String {
    let spec = spec::spec(command);
    let usage: Vec<String> = spec
        .usage
        .lines()
        .map(|line| format!("`/maison {line}`"))
        .collect();
    let mut text = match usage.as_slice() {
        [one] => format!("Usage: {one}"),
        several => format!("Usage:\n{}", several.join("\n")),
    };
    if let Some(example) = spec.examples.iter().find(|e| e.contains(' ')) {
        text.push_str(&format!("\nExample: `/maison {example}`"));
    }
    text
}
