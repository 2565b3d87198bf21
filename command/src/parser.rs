//! One small recursive-descent parser per command, over the on-demand lexer.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::duration::{DurationProblem, is_duration_part, parse_duration};
use crate::lexer::{Lexer, Token, command_words};
use crate::names::{container_name_problem, dataset_part_problem, reference_problem};
use crate::size::{is_size_unit, parse_size};
use crate::spec::{PLANNED, lookup, nearest, suggest};
use crate::time::{Day, local_to_utc, looks_like_time, parse_clock, parse_date_time, parse_day};
use crate::{
    BookRequest, BookingEnd, Command, DataCommand, DatasetRef, GpuSelection, ImageCommand,
    JobsCommand, Lang, LangChoice, LaunchGpus, LaunchRequest, ParseContext, ParseError,
    ProjectCommand, ReleaseTarget, ReportPeriod, WaitOptions, WhatIfRequest,
};

/// Highest GPU index accepted; far above any real host, low enough that `0-N` stays small.
const MAX_GPU_INDEX: u32 = 255;

/// The sub-commands of `data`, as help and "did you mean" know them.
const DATA_VERBS: [&str; 9] = [
    "add", "ls", "list", "where", "get", "rm", "pin", "unpin", "verify",
];

/// Where a day named without a time of day starts (`book gpu01 9h tomorrow`).
pub const DAY_START: NaiveTime = NaiveTime::from_hms_opt(9, 0, 0).expect("a valid time");

/// Whether a word after a duration begins a start time without `at`: a day (`tomorrow`, `fri`,
/// `2026-12-01`, or a date that does not exist, to be told so), a date and time in one word, or
/// a clock time (`14:00`, `9am`; a range there is not a start, it is refused later).
fn starts_a_time(word: &str) -> bool {
    !matches!(parse_day(word), Ok(None))
        || parse_date_time(word).is_some()
        || (looks_like_time(word) && !word.contains('-'))
}

fn starts_with_digit(word: &str) -> bool {
    word.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

const START_ALONE: &str = "an end time or a duration: a range like `9:00-18:00`, \
                           or a duration and a start like `2h at 9:00`";

pub(crate) fn parse(text: &str, ctx: &ParseContext) -> Result<Command, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseError::EmptyCommand);
    }
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let Some(spec) = lookup(word) else {
        return Err(unknown(word, PLANNED));
    };
    let parser = Parser {
        lexer: Lexer::new(rest),
        command: spec.name,
        ctx,
    };
    match spec.name {
        "help" => parser.help(),
        "status" => parser.status(),
        "book" => parser.book(),
        "mine" => parser.finish().map(|()| Command::Mine),
        "cancel" => parser.cancel(),
        "release" => parser.release(),
        "extend" => parser.extend(),
        "queue" => parser.finish().map(|()| Command::Queue),
        "unwait" => parser.unwait(),
        "launch" => parser.launch(),
        "ps" => parser.ps(),
        "stop" => parser
            .target("a container name or id")
            .map(|container| Command::Stop { container }),
        "rm" => parser
            .target("a container name or id")
            .map(|container| Command::Rm { container }),
        "who" => parser
            .target("a container or an image")
            .map(|target| Command::Who { target }),
        "claim" => parser
            .target("a container or an image")
            .map(|target| Command::Claim { target }),
        "images" => parser.optional_host().map(|host| Command::Images { host }),
        "hosts" => parser.finish().map(|()| Command::Hosts),
        "host" => parser.host(),
        "jobs" => parser.jobs(),
        "report" => parser.report(),
        "data" => parser.data(),
        "image" => parser.image(),
        "lang" => parser.lang(),
        "project" => parser.project(),
        // A table entry without a parser; the every-example-parses test catches it.
        _ => Err(ParseError::UnknownCommand {
            word: word.to_owned(),
            suggestion: None,
        }),
    }
}

/// Why `word` is not a command: one of `planned`, not built yet, or unknown.
fn unknown(word: &str, planned: &[(&str, &'static str)]) -> ParseError {
    match planned.iter().find(|(w, _)| w.eq_ignore_ascii_case(word)) {
        Some((_, what)) => ParseError::NotYetAvailable {
            word: word.to_lowercase(),
            what,
        },
        None => ParseError::UnknownCommand {
            word: word.to_owned(),
            suggestion: suggest(word),
        },
    }
}

/// How long a booking lasts: a duration from its start, or an explicit range.
enum Span {
    Length(Duration),
    Range(DateTime<Utc>, DateTime<Utc>),
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    command: &'static str,
    ctx: &'a ParseContext,
}

impl<'a> Parser<'a> {
    fn next(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        self.lexer
            .next_token()
            .map_err(|_| ParseError::UnterminatedQuote {
                command: self.command,
            })
    }

    fn peek(&self) -> Result<Option<Token<'a>>, ParseError> {
        self.lexer
            .peek()
            .map_err(|_| ParseError::UnterminatedQuote {
                command: self.command,
            })
    }

    fn required(&mut self, what: &'static str) -> Result<Token<'a>, ParseError> {
        self.next()?.ok_or(ParseError::MissingArgument {
            command: self.command,
            what,
        })
    }

    fn missing(&self, what: &'static str) -> ParseError {
        ParseError::MissingArgument {
            command: self.command,
            what,
        }
    }

    fn unexpected(&self, arg: &str) -> ParseError {
        ParseError::UnexpectedArgument {
            command: self.command,
            arg: arg.to_owned(),
        }
    }

    fn bad_time(&self, input: &str, reason: impl Into<String>) -> ParseError {
        ParseError::BadTime {
            command: self.command,
            input: input.to_owned(),
            reason: reason.into(),
        }
    }

    fn unknown_subcommand(
        &self,
        word: &str,
        expected: &'static str,
        accepted: impl IntoIterator<Item = &'static str>,
    ) -> ParseError {
        ParseError::UnknownSubcommand {
            command: self.command,
            word: word.to_owned(),
            expected,
            suggestion: nearest(word, accepted),
        }
    }

    /// Refuses whatever is left, naming the first leftover word.
    fn finish(mut self) -> Result<(), ParseError> {
        match self.lexer.peek() {
            Ok(None) => Ok(()),
            Ok(Some(token)) => Err(self.unexpected(token.raw)),
            Err(_) => {
                let rest = self.lexer.rest();
                Err(self.unexpected(rest))
            }
        }
    }

    fn help(mut self) -> Result<Command, ParseError> {
        let topic = self.next()?;
        self.finish()?;
        let Some(topic) = topic else {
            return Ok(Command::Help { topic: None });
        };
        let spec = lookup(topic.text).ok_or_else(|| ParseError::UnknownCommand {
            word: topic.text.to_owned(),
            suggestion: suggest(topic.text),
        })?;
        Ok(Command::Help {
            topic: Some(spec.name.to_owned()),
        })
    }

    fn status(self) -> Result<Command, ParseError> {
        self.optional_host().map(|host| Command::Status { host })
    }

    /// `[host]`, lower-cased, and nothing after it.
    fn optional_host(mut self) -> Result<Option<String>, ParseError> {
        let host = self.next()?.map(|token| token.text.to_lowercase());
        self.finish()?;
        Ok(host)
    }

    /// The one container, container id or image a command applies to, as typed.
    fn target(mut self, what: &'static str) -> Result<String, ParseError> {
        let target = self.reference_arg(what)?;
        self.finish()?;
        Ok(target)
    }

    fn ps(mut self) -> Result<Command, ParseError> {
        let mut host = None;
        let mut all = false;
        while let Some(token) = self.next()? {
            let word = token.text.to_lowercase();
            if !token.quoted && (word == "--all" || word == "-a") && !all {
                all = true;
            } else if (!token.quoted && word.starts_with('-')) || host.is_some() {
                return Err(self.unexpected(token.raw));
            } else {
                host = Some(word);
            }
        }
        Ok(Command::Ps { host, all })
    }

    fn host(mut self) -> Result<Command, ParseError> {
        let verb = self.required("`drain` or `undrain` and a host")?;
        let drain = match verb.text.to_lowercase().as_str() {
            "drain" => true,
            "undrain" => false,
            _ => {
                return Err(self.unknown_subcommand(
                    verb.raw,
                    "`drain` or `undrain`",
                    ["drain", "undrain"],
                ));
            }
        };
        let host = self
            .required(if drain {
                "a host to drain"
            } else {
                "a host to undrain"
            })?
            .text
            .to_lowercase();
        self.finish()?;
        Ok(if drain {
            Command::HostDrain { host }
        } else {
            Command::HostUndrain { host }
        })
    }

    fn jobs(mut self) -> Result<Command, ParseError> {
        let Some(verb) = self.next()? else {
            return Ok(Command::Jobs(JobsCommand::List));
        };
        match verb.text.to_lowercase().as_str() {
            "list" => {
                self.finish()?;
                Ok(Command::Jobs(JobsCommand::List))
            }
            "run" => {
                let job = self.required("a job to run, like `daily_report`")?;
                if !job.quoted && job.text.starts_with('-') {
                    return Err(self.unexpected(job.raw));
                }
                let job = job.text.to_lowercase();
                self.finish()?;
                Ok(Command::Jobs(JobsCommand::Run { job }))
            }
            _ => Err(self.unknown_subcommand(verb.raw, "`list` or `run`", ["list", "run"])),
        }
    }

    fn report(mut self) -> Result<Command, ParseError> {
        let Some(period) = self.next()? else {
            return Ok(Command::Report {
                period: ReportPeriod::Day,
            });
        };
        let period = match period.text.to_lowercase().as_str() {
            "day" | "daily" => ReportPeriod::Day,
            "week" | "weekly" => ReportPeriod::Week,
            "month" | "monthly" => ReportPeriod::Month,
            "what-if" | "whatif" => return self.what_if(),
            _ => {
                return Err(self.unknown_subcommand(
                    period.raw,
                    "`day`, `week`, `month` or `what-if`",
                    ["day", "week", "month", "what-if"],
                ));
            }
        };
        self.finish()?;
        Ok(Command::Report { period })
    }

    /// `what-if +4 gpus`, `+1 host of 8`, `+2 hosts of 8`, then `[--weeks N]`.
    fn what_if(mut self) -> Result<Command, ParseError> {
        const WHAT: &str = "the capacity to add, like `+4 gpus` or `+2 hosts of 8`";
        let first = self.required(WHAT)?;
        // `+4`, `+4gpus`, `+2hosts`: the number and the unit may be one word or two.
        let mut input = first.text.to_lowercase();
        let digits_end = input
            .trim_start_matches('+')
            .find(|c: char| !c.is_ascii_digit())
            .map_or(input.len(), |i| i + usize::from(input.starts_with('+')));
        let unit_inline = input.split_off(digits_end);
        let bad = |input: String| ParseError::BadWhatIf { input };
        let count: u32 = input
            .trim_start_matches('+')
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad(first.raw.to_owned()))?;
        let unit = if unit_inline.is_empty() {
            self.required(WHAT)?.text.to_lowercase()
        } else {
            unit_inline
        };
        let typed = |rest: &str| format!("+{count} {rest}");
        let (hosts, gpus_per_host) = match unit.as_str() {
            "gpu" | "gpus" => (1, count),
            "host" | "hosts" => {
                let of = self.required("`of` and the GPUs per host, like `+2 hosts of 8`")?;
                if !of.text.eq_ignore_ascii_case("of") {
                    return Err(bad(typed(&format!("{unit} {}", of.raw))));
                }
                let size = self.required("the GPUs per new host, like `+2 hosts of 8`")?;
                let gpus = size
                    .text
                    .trim_end_matches(|c: char| c.is_ascii_alphabetic())
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| bad(typed(&format!("{unit} of {}", size.raw))))?;
                (count, gpus)
            }
            other => return Err(bad(typed(other))),
        };
        if u64::from(hosts) * u64::from(gpus_per_host) > u64::from(WhatIfRequest::MAX_GPUS) {
            return Err(bad(typed(&unit)));
        }
        let mut weeks = WhatIfRequest::DEFAULT_WEEKS;
        if let Some(token) = self.next()? {
            let word = token.text.to_lowercase();
            if token.quoted || !(word == "--weeks" || word.starts_with("--weeks=")) {
                return Err(self.unexpected(token.raw));
            }
            let inline = token.text.split_once('=').map(|(_, value)| value);
            let value =
                self.option_token(inline, "a number of weeks after `--weeks`, like `12`")?;
            weeks = value
                .text
                .parse::<u32>()
                .ok()
                .filter(|w| (1..=WhatIfRequest::MAX_WEEKS).contains(w))
                .ok_or_else(|| ParseError::BadWeeks {
                    input: value.raw.to_owned(),
                })?;
        }
        self.finish()?;
        Ok(Command::WhatIf(WhatIfRequest {
            hosts,
            gpus_per_host,
            weeks,
        }))
    }

    /// `project [ls]`, `project default <name>|none`, `project add <name> [for "…"]`,
    /// `project rm <name>`.
    fn project(mut self) -> Result<Command, ParseError> {
        let Some(verb) = self.next()? else {
            return Ok(Command::Project(ProjectCommand::Ls));
        };
        let command = match verb.text.to_lowercase().as_str() {
            "ls" | "list" => ProjectCommand::Ls,
            "default" => {
                let name = self.required("a project, like `vision`, or `none`")?;
                if name.text.eq_ignore_ascii_case("none") {
                    ProjectCommand::Default { name: None }
                } else {
                    ProjectCommand::Default {
                        name: Some(self.project_name(name.text)?),
                    }
                }
            }
            "add" => {
                let name = self.required("a project name, like `vision`")?;
                let name = self.project_name(name.text)?;
                let description = match self.next()? {
                    None => None,
                    Some(token) if !token.quoted && token.text.eq_ignore_ascii_case("for") => {
                        Some(self.note()?)
                    }
                    Some(token) => return Err(self.unexpected(token.raw)),
                };
                return Ok(Command::Project(ProjectCommand::Add { name, description }));
            }
            "rm" | "remove" => {
                let name = self.required("the project to remove, like `vision`")?;
                ProjectCommand::Rm {
                    name: self.project_name(name.text)?,
                }
            }
            _ => {
                return Err(self.unknown_subcommand(
                    verb.raw,
                    "`ls`, `default`, `add` or `rm`",
                    ["ls", "default", "add", "rm"],
                ));
            }
        };
        self.finish()?;
        Ok(Command::Project(command))
    }

    /// A project name: lower-cased, the same plain-name rule as datasets (it is shown in
    /// reports and written in CSV exports).
    fn project_name(&self, text: &str) -> Result<String, ParseError> {
        let name = text.to_lowercase();
        match dataset_part_problem(&name) {
            Some(reason) => Err(ParseError::BadProject {
                command: self.command,
                input: text.to_owned(),
                reason,
            }),
            None => Ok(name),
        }
    }

    /// `data [ls]`, `data add …`, `data where <dataset>`, `data <verb> <dataset> <host>`.
    fn lang(mut self) -> Result<Command, ParseError> {
        let Some(word) = self.next()? else {
            return Ok(Command::Lang { choice: None });
        };
        let choice = if word.text.eq_ignore_ascii_case("auto") {
            LangChoice::Auto
        } else {
            match word.text.parse::<Lang>() {
                Ok(lang) => LangChoice::Fixed(lang),
                Err(_) => {
                    return Err(ParseError::UnknownSubcommand {
                        command: self.command,
                        word: word.raw.to_owned(),
                        expected: "`en`, `ja` or `auto`",
                        suggestion: None,
                    });
                }
            }
        };
        self.finish()?;
        Ok(Command::Lang {
            choice: Some(choice),
        })
    }

    fn image(mut self) -> Result<Command, ParseError> {
        let verb = self.required("what to do, like `image save <container> <name>[:<tag>]`")?;
        match verb.text.to_lowercase().as_str() {
            "save" => {
                let container = self.reference_arg("the container to save, like `alice-c1`")?;
                let reference =
                    self.reference_arg("a name for the image, like `alice/tuned:v1`")?;
                let note = match self.next()? {
                    None => None,
                    Some(token) if !token.quoted && token.text.eq_ignore_ascii_case("for") => {
                        Some(self.note()?)
                    }
                    Some(token) => return Err(self.unexpected(token.raw)),
                };
                Ok(Command::Image(ImageCommand::Save {
                    container,
                    reference,
                    note,
                }))
            }
            "build" => {
                let host = self.data_host("the host to build on, like `gpu01`")?;
                let reference =
                    self.reference_arg("a name for the image, like `alice/tuned:v1`")?;
                let dockerfile =
                    self.required("the Dockerfile's path, like `/work/alice/tuned/Dockerfile`")?;
                if !dockerfile.text.starts_with('/') {
                    return Err(ParseError::BadDockerfilePath {
                        command: self.command,
                        input: dockerfile.text.to_owned(),
                    });
                }
                let dockerfile = dockerfile.text.to_owned();
                let note = match self.next()? {
                    None => None,
                    Some(token) if !token.quoted && token.text.eq_ignore_ascii_case("for") => {
                        Some(self.note()?)
                    }
                    Some(token) => return Err(self.unexpected(token.raw)),
                };
                Ok(Command::Image(ImageCommand::Build {
                    host,
                    reference,
                    dockerfile,
                    note,
                }))
            }
            "copy" => {
                let image =
                    self.reference_arg("the image to copy and a host, like `pytorch:2.3 gpu02`")?;
                let host = self.data_host("a host to copy the image to, like `gpu02`")?;
                self.finish()?;
                Ok(Command::Image(ImageCommand::Copy { image, host }))
            }
            "publish" => self.image_publish(),
            "deprecate" => {
                let (name, version) =
                    self.catalog_name("a catalogue name, like `resnet` or `resnet:v1`")?;
                let replaced_by = match self.next()? {
                    None => None,
                    Some(token) if !token.quoted && token.text.eq_ignore_ascii_case("use") => {
                        let (name, version) =
                            self.catalog_name("what to use instead after `use`, like `resnet:v2`")?;
                        Some(match version {
                            Some(version) => format!("{name}:{version}"),
                            None => name,
                        })
                    }
                    Some(token) => return Err(self.unexpected(token.raw)),
                };
                self.finish()?;
                Ok(Command::Image(ImageCommand::Deprecate {
                    name,
                    version,
                    replaced_by,
                }))
            }
            _ => Err(self.unknown_subcommand(
                verb.raw,
                "`save`, `build`, `copy`, `publish` or `deprecate`",
                ["save", "build", "copy", "publish", "deprecate"],
            )),
        }
    }

    /// `image publish <image> [as <name>[:<version>]] [--project <p>] [for "<description>"]`.
    fn image_publish(mut self) -> Result<Command, ParseError> {
        let image = self.reference_arg("the image to publish, like `alice/resnet:v1`")?;
        let (mut name, mut version, mut project, mut description) = (None, None, None, None);
        while let Some(token) = self.next()? {
            let word = token.text.to_lowercase();
            if token.quoted {
                return Err(self.unexpected(token.raw));
            } else if word == "as" && name.is_none() {
                let (short, tag) =
                    self.catalog_name("a catalogue name after `as`, like `resnet`")?;
                name = Some(short);
                version = tag;
            } else if (word == "--project" || word.starts_with("--project=")) && project.is_none() {
                let inline = token.text.split_once('=').map(|(_, value)| value);
                let value =
                    self.option_token(inline, "a project after `--project`, like `vision`")?;
                project = Some(self.project_name(value.text)?);
            } else if word == "for" && description.is_none() {
                description = Some(self.note()?);
            } else {
                return Err(self.unexpected(token.raw));
            }
        }
        Ok(Command::Image(ImageCommand::Publish {
            image,
            name,
            version,
            project,
            description,
        }))
    }

    /// `resnet` or `resnet:v2`: a catalogue name (lower-cased) and maybe a version, both plain
    /// names, as they are typed after `launch <host>`.
    fn catalog_name(&mut self, what: &'static str) -> Result<(String, Option<String>), ParseError> {
        let token = self.required(what)?;
        let (name, version) = match token.text.split_once(':') {
            Some((name, version)) => (name.to_lowercase(), Some(version.to_owned())),
            None => (token.text.to_lowercase(), None),
        };
        let problem = dataset_part_problem(&name)
            .or_else(|| version.as_deref().and_then(dataset_part_problem));
        match problem {
            Some(reason) => Err(ParseError::BadCatalogName {
                command: self.command,
                input: token.raw.to_owned(),
                reason,
            }),
            None => Ok((name, version)),
        }
    }

    /// One container or image reference, checked for shape, with more arguments to follow.
    fn reference_arg(&mut self, what: &'static str) -> Result<String, ParseError> {
        let token = self.required(what)?;
        if !token.quoted && token.text.starts_with('-') {
            return Err(self.unexpected(token.raw));
        }
        if let Some(reason) = reference_problem(token.text) {
            return Err(ParseError::BadTarget {
                command: self.command,
                input: token.raw.to_owned(),
                reason,
            });
        }
        Ok(token.text.to_owned())
    }

    fn data(mut self) -> Result<Command, ParseError> {
        let Some(verb) = self.next()? else {
            return Ok(Command::Data(DataCommand::Ls));
        };
        let word = verb.text.to_lowercase();
        let command = match word.as_str() {
            "add" => return self.data_add(),
            "ls" | "list" => DataCommand::Ls,
            "where" => DataCommand::Where {
                dataset: self.dataset("a dataset, like `imagenet` or `imagenet@v2`")?,
            },
            "get" | "rm" | "pin" | "unpin" | "verify" => {
                let dataset = self.dataset("a dataset and a host, like `imagenet gpu05`")?;
                let host = self.data_host(match word.as_str() {
                    "get" => "a host to copy the dataset to, like `gpu05`",
                    _ => "the host whose copy you mean, like `gpu05`",
                })?;
                match word.as_str() {
                    "get" => DataCommand::Get { dataset, host },
                    "rm" => DataCommand::Rm { dataset, host },
                    "pin" => DataCommand::Pin { dataset, host },
                    "unpin" => DataCommand::Unpin { dataset, host },
                    _ => DataCommand::Verify { dataset, host },
                }
            }
            _ => {
                return Err(self.unknown_subcommand(
                    verb.raw,
                    "`add`, `ls`, `where`, `get`, `rm`, `pin`, `unpin` or `verify`",
                    DATA_VERBS,
                ));
            }
        };
        self.finish()?;
        Ok(Command::Data(command))
    }

    /// `data add <name>@<version> <host>:<absolute path> [for "<note>"]`
    fn data_add(mut self) -> Result<Command, ParseError> {
        let what = "a dataset and where it is, like `imagenet@v2 gpu03:/srv/datasets/imagenet`";
        let token = self.required(what)?;
        let dataset = self.dataset_token(token)?;
        let version = dataset.version.ok_or_else(|| ParseError::MissingVersion {
            command: self.command,
            input: dataset.name.clone(),
        })?;
        let location =
            self.required("the host and the path, like `gpu03:/srv/datasets/imagenet`")?;
        let (host, path) = self.dataset_location(location.text)?;
        let note = match self.next()? {
            None => None,
            Some(token) if !token.quoted && token.text.eq_ignore_ascii_case("for") => {
                Some(self.note()?)
            }
            Some(token) => return Err(self.unexpected(token.raw)),
        };
        Ok(Command::Data(DataCommand::Add {
            name: dataset.name,
            version,
            host,
            path,
            note,
        }))
    }

    /// The next word as a dataset reference.
    fn dataset(&mut self, what: &'static str) -> Result<DatasetRef, ParseError> {
        let token = self.required(what)?;
        self.dataset_token(token)
    }

    fn dataset_token(&self, token: Token<'_>) -> Result<DatasetRef, ParseError> {
        if !token.quoted && token.text.starts_with('-') {
            return Err(self.unexpected(token.raw));
        }
        self.dataset_ref(token.text)
    }

    /// `name` or `name@version`, lower-cased.
    fn dataset_ref(&self, text: &str) -> Result<DatasetRef, ParseError> {
        let lower = text.to_lowercase();
        let (name, version) = match lower.split_once('@') {
            Some((name, version)) => (name, Some(version)),
            None => (lower.as_str(), None),
        };
        let bad = |reason: String| ParseError::BadDataset {
            command: self.command,
            input: text.to_owned(),
            reason,
        };
        if let Some(reason) = dataset_part_problem(name) {
            return Err(bad(if name.is_empty() && version.is_some() {
                "has no name before the `@`".to_owned()
            } else {
                reason
            }));
        }
        if let Some(version) = version
            && let Some(reason) = dataset_part_problem(version)
        {
            return Err(bad(if version.is_empty() {
                "ends with `@`".to_owned()
            } else {
                format!("has a version that {reason}")
            }));
        }
        Ok(DatasetRef {
            name: name.to_owned(),
            version: version.map(str::to_owned),
        })
    }

    /// `--data a,b@v1`: each name once.
    fn dataset_list(&self, value: &str) -> Result<Vec<DatasetRef>, ParseError> {
        let mut datasets: Vec<DatasetRef> = Vec::new();
        for item in value.split(',') {
            let dataset = self.dataset_ref(item)?;
            if datasets.iter().any(|d| d.name == dataset.name) {
                return Err(ParseError::DuplicateDataset {
                    command: self.command,
                    name: dataset.name,
                });
            }
            datasets.push(dataset);
        }
        Ok(datasets)
    }

    /// The host a `data` verb applies to, lower-cased.
    fn data_host(&mut self, what: &'static str) -> Result<String, ParseError> {
        let token = self.required(what)?;
        if !token.quoted && token.text.starts_with('-') {
            return Err(self.unexpected(token.raw));
        }
        Ok(token.text.to_lowercase())
    }

    /// `gpu03:/srv/datasets/imagenet`: the host lower-cased, the path absolute and without
    /// `.` or `..` (the agent resolves it again; this catches typing mistakes early).
    fn dataset_location(&self, input: &str) -> Result<(String, String), ParseError> {
        let bad = |reason: &str| ParseError::BadDatasetPath {
            command: self.command,
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let Some((host, path)) = input.split_once(':') else {
            return Err(bad(if input.starts_with('/') {
                "the host is missing"
            } else {
                "it is not `<host>:<path>`"
            }));
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        if !path.starts_with('/') {
            return Err(bad("the path is not absolute (it must start with `/`)"));
        }
        if path.split('/').any(|part| part == "." || part == "..") {
            return Err(bad("the path contains `.` or `..`"));
        }
        if path.contains('\0') {
            return Err(bad("the path contains a NUL character"));
        }
        let trimmed = path.trim_end_matches('/');
        let path = if trimmed.is_empty() { "/" } else { trimmed };
        Ok((host.to_lowercase(), path.to_owned()))
    }

    fn launch(mut self) -> Result<Command, ParseError> {
        let mut host: Option<String> = None;
        let mut image: Option<String> = None;
        // `Some(None)` once `--gpus all` (or `host:all`) has been given.
        let mut gpus: Option<Option<LaunchGpus>> = None;
        let mut name = None;
        let mut datasets = Vec::new();
        let mut command = Vec::new();
        loop {
            let (read, left) = self.lexer.split_here();
            let Some(token) = self.next()? else { break };
            let word = token.text.to_lowercase();
            if !token.quoted && word == "--" {
                command = command_words(self.lexer.rest()).map_err(|_| {
                    ParseError::UnterminatedQuote {
                        command: self.command,
                    }
                })?;
                break;
            }
            if !token.quoted && word.starts_with('-') {
                let (flag, inline) = match word.split_once('=') {
                    Some((flag, _)) => (flag, token.text.split_once('=').map(|(_, v)| v)),
                    None => (word.as_str(), None),
                };
                match flag {
                    "--gpus" if gpus.is_none() => {
                        let value =
                            self.option_value(inline, "a GPU list after `--gpus`, like `0,1`")?;
                        let input = format!("--gpus {value}");
                        gpus = Some(self.launch_gpus(&value.to_lowercase(), &input)?);
                    }
                    "--name" if name.is_none() => {
                        let value = self.option_value(inline, "a container name after `--name`")?;
                        if let Some(reason) = container_name_problem(&value) {
                            return Err(ParseError::BadContainerName {
                                command: self.command,
                                input: value,
                                reason,
                            });
                        }
                        name = Some(value);
                    }
                    "--data" if datasets.is_empty() => {
                        let value = self.option_value(
                            inline,
                            "a dataset after `--data`, like `imagenet` or `imagenet,coco@2017`",
                        )?;
                        datasets = self.dataset_list(&value)?;
                    }
                    _ => return Err(self.unexpected(token.raw)),
                }
                continue;
            }
            if host.is_none() {
                let (text, selector) = match word.split_once(':') {
                    Some((text, selector)) => (text, Some(selector)),
                    None => (word.as_str(), None),
                };
                if text.is_empty() {
                    return Err(self.missing("a host name before the `:`"));
                }
                if let Some(selector) = selector {
                    if gpus.is_some() {
                        return Err(self.unexpected(token.raw));
                    }
                    gpus = Some(self.launch_gpus(selector, token.raw)?);
                }
                host = Some(text.to_owned());
            } else if image.is_none() {
                if let Some(reason) = reference_problem(token.text) {
                    return Err(ParseError::BadImage {
                        command: self.command,
                        input: token.raw.to_owned(),
                        reason,
                    });
                }
                image = Some(token.text.to_owned());
            } else {
                return Err(ParseError::MissingCommandSeparator {
                    command: self.command,
                    word: token.raw.to_owned(),
                    corrected: format!("launch {read} -- {left}"),
                });
            }
        }
        let host = host.ok_or_else(|| self.missing("a host and an image"))?;
        let image = image.ok_or_else(|| {
            self.missing("an image, like `pytorch` or `registry.lan/team/trainer:1.2`")
        })?;
        Ok(Command::Launch(LaunchRequest {
            host,
            image,
            gpus: gpus.flatten(),
            name,
            command,
            datasets,
        }))
    }

    /// The value of an option: after `=` when given that way, else the next word.
    fn option_value(
        &mut self,
        inline: Option<&str>,
        what: &'static str,
    ) -> Result<String, ParseError> {
        match inline {
            Some("") => return Err(self.missing(what)),
            Some(value) => return Ok(value.to_owned()),
            None => {}
        }
        match self.peek()? {
            Some(token) if token.quoted || !token.text.starts_with("--") => {
                self.next()?;
                Ok(token.text.to_owned())
            }
            _ => Err(self.missing(what)),
        }
    }

    /// `0,1`, `0-3`, `all` (`None`: the whole booking) or `none`, lower case.
    fn launch_gpus(&self, value: &str, input: &str) -> Result<Option<LaunchGpus>, ParseError> {
        match value {
            "all" => Ok(None),
            "none" => Ok(Some(LaunchGpus::None)),
            list => match parse_gpu_list(list) {
                Some(GpuSelection::Indexes(indexes)) => Ok(Some(LaunchGpus::Indexes(indexes))),
                _ => Err(ParseError::BadGpus {
                    command: self.command,
                    input: input.to_owned(),
                }),
            },
        }
    }

    fn cancel(mut self) -> Result<Command, ParseError> {
        let token = self.required("a booking id")?;
        let id = self.booking_id(token.raw)?;
        self.finish()?;
        Ok(Command::Cancel { id })
    }

    /// `unwait 7` or `unwait #7`: a wait-list id follows the booking id rules.
    fn unwait(mut self) -> Result<Command, ParseError> {
        let token = self.required("a wait-list id, like `7` (`/maison queue` shows them)")?;
        let id = self.booking_id(token.raw)?;
        self.finish()?;
        Ok(Command::Unwait { id })
    }

    fn release(mut self) -> Result<Command, ParseError> {
        let target = match self.next()? {
            None => None,
            Some(token)
                if token.text.starts_with('#')
                    || token.text.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(ReleaseTarget::Booking(self.booking_id(token.raw)?))
            }
            Some(token) => Some(ReleaseTarget::Host(token.text.to_lowercase())),
        };
        self.finish()?;
        Ok(Command::Release { target })
    }

    fn extend(mut self) -> Result<Command, ParseError> {
        let token = self.required("a booking id and a duration")?;
        let id = self.booking_id(token.raw)?;
        let first = self.required("a duration")?;
        let by = self.duration(first)?;
        self.finish()?;
        Ok(Command::Extend { id, by })
    }

    fn booking_id(&self, input: &str) -> Result<i64, ParseError> {
        let digits = input.strip_prefix('#').unwrap_or(input);
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse::<i64>().ok())
            .flatten()
            .filter(|id| *id > 0)
            .ok_or_else(|| ParseError::BadBookingId {
                command: self.command,
                input: input.to_owned(),
            })
    }

    /// A duration starting with `first`, taking following words that continue it (`1h 30m`).
    fn duration(&mut self, first: Token<'a>) -> Result<Duration, ParseError> {
        let mut input = first.raw.to_owned();
        while let Some(token) = self.peek()? {
            if token.quoted || !is_duration_part(token.text) {
                break;
            }
            self.next()?;
            input.push(' ');
            input.push_str(token.raw);
        }
        parse_duration(&input).map_err(|problem| match problem {
            DurationProblem::Malformed => ParseError::BadDuration {
                command: self.command,
                input,
            },
            DurationProblem::Zero => ParseError::ZeroDuration {
                command: self.command,
                input,
            },
            DurationProblem::TooLong => ParseError::DurationTooLong {
                command: self.command,
                input,
            },
        })
    }

    fn book(mut self) -> Result<Command, ParseError> {
        let target = self.required("a host (or `any`) and a duration")?;
        let target_text = target.text.to_lowercase();
        let (host, selector) = match target_text.split_once(':') {
            Some((host, selector)) => (host, Some(selector)),
            None => (target_text.as_str(), None),
        };
        if host.is_empty() {
            return Err(ParseError::MissingArgument {
                command: self.command,
                what: "a host name before the `:`",
            });
        }
        let any = host == "any";
        let bad_gpus = |input: &str| ParseError::BadGpus {
            command: "book",
            input: input.to_owned(),
        };
        let selected = match selector {
            Some(_) if any => return Err(bad_gpus(target.raw)),
            Some(selector) => Some(parse_gpu_list(selector).ok_or_else(|| bad_gpus(target.raw))?),
            None => None,
        };

        let span = self.span()?;
        let mut start = None;
        let mut count = None;
        let mut note = None;
        let mut data = None;
        let mut wait = false;
        let mut within = None;
        let mut auto = false;
        let mut min_mem = None;
        let mut project = None;
        while let Some(token) = self.next()? {
            let word = token.text.to_lowercase();
            if token.quoted {
                return Err(self.unexpected(token.raw));
            }
            let length_without_start = start.is_none() && matches!(span, Span::Length(_));
            if word == "at" && length_without_start {
                let first = self.required("a time after `at`")?;
                start = Some(self.start_time(first)?);
            } else if length_without_start && starts_a_time(&word) {
                // `book gpu01 9h tomorrow` and `9h fri 14:00`: `at` is optional.
                start = Some(self.start_time(token)?);
            } else if (word == "--gpus" || word.starts_with("--gpus=")) && count.is_none() {
                if selected.is_some() {
                    return Err(self.unexpected(token.raw));
                }
                let value = match word.strip_prefix("--gpus=") {
                    Some(value) => value.to_owned(),
                    None => self
                        .required("a number after `--gpus`")?
                        .text
                        .to_lowercase(),
                };
                let input = format!("--gpus {value}");
                count = Some(match value.as_str() {
                    "all" if !any => GpuSelection::All,
                    _ => value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .map(GpuSelection::Count)
                        .ok_or_else(|| bad_gpus(&input))?,
                });
            } else if (word == "--data" || word.starts_with("--data=")) && data.is_none() {
                let value = match token.text.split_once('=') {
                    Some((_, value)) => value.to_owned(),
                    None => self
                        .required("a dataset after `--data`, like `imagenet`")?
                        .text
                        .to_owned(),
                };
                data = Some(self.dataset_ref(&value)?);
            } else if word == "--wait" && !wait {
                wait = true;
            } else if word == "--auto" && !auto {
                auto = true;
            } else if (word == "--within" || word.starts_with("--within=")) && within.is_none() {
                let inline = token.text.split_once('=').map(|(_, value)| value);
                let first = self.option_token(inline, "a duration after `--within`, like `8h`")?;
                within = Some(self.duration(first)?);
            } else if (word == "--min-mem" || word.starts_with("--min-mem=")) && min_mem.is_none() {
                let inline = token.text.split_once('=').map(|(_, value)| value);
                min_mem = Some(self.memory_size(inline)?);
            } else if (word == "--project" || word.starts_with("--project=")) && project.is_none() {
                let inline = token.text.split_once('=').map(|(_, value)| value);
                let value =
                    self.option_token(inline, "a project after `--project`, like `vision`")?;
                project = Some(self.project_name(value.text)?);
            } else if word == "for" && note.is_none() && !any {
                note = Some(self.note()?);
            } else {
                return Err(self.unexpected(token.raw));
            }
        }

        let wait_option_alone = |option| ParseError::WaitOptionWithoutWait {
            command: self.command,
            option,
        };
        if !wait && within.is_some() {
            return Err(wait_option_alone("--within"));
        }
        if !wait && auto {
            return Err(wait_option_alone("--auto"));
        }
        let wait = match (wait, &span) {
            (false, _) => None,
            // A waiting booking starts whenever GPUs free up, which no start time can say.
            (true, Span::Range(..)) => return Err(self.wait_with_start()),
            (true, Span::Length(_)) if start.is_some() => return Err(self.wait_with_start()),
            (true, Span::Length(length)) => {
                if let Some(within) = within
                    && within < *length
                {
                    return Err(ParseError::WithinShorterThanBooking {
                        command: self.command,
                        within,
                        length: *length,
                    });
                }
                Some(WaitOptions { within, auto })
            }
        };

        if any {
            let gpus = match count {
                Some(GpuSelection::Count(n)) => n,
                _ => 1,
            };
            let (length, start) = match span {
                Span::Length(length) => (length, start),
                Span::Range(from, to) => (to - from, Some(from)),
            };
            return Ok(Command::BookAny {
                length,
                gpus,
                start,
                data,
                wait,
                min_mem,
                project,
            });
        }
        let (start, end) = match span {
            Span::Length(length) => (start, BookingEnd::After(length)),
            Span::Range(from, to) => (Some(from), BookingEnd::At(to)),
        };
        Ok(Command::Book(BookRequest {
            host: host.to_owned(),
            gpus: selected.or(count).unwrap_or(GpuSelection::Count(1)),
            start,
            end,
            note,
            data,
            wait,
            min_mem,
            project,
        }))
    }

    fn wait_with_start(&self) -> ParseError {
        ParseError::WaitWithStartTime {
            command: self.command,
        }
    }

    /// The value of an option as a word: after `=` when given that way, else the next word
    /// unless it is another option.
    fn option_token(
        &mut self,
        inline: Option<&'a str>,
        what: &'static str,
    ) -> Result<Token<'a>, ParseError> {
        match inline {
            Some("") => Err(self.missing(what)),
            Some(text) => Ok(Token {
                text,
                raw: text,
                quoted: false,
            }),
            None => match self.peek()? {
                Some(token) if token.quoted || !token.text.starts_with("--") => {
                    self.next()?;
                    Ok(token)
                }
                _ => Err(self.missing(what)),
            },
        }
    }

    /// The value of `--min-mem`, in bytes: `40G`, `24GiB`, or `40 GB` in two words.
    fn memory_size(&mut self, inline: Option<&str>) -> Result<u64, ParseError> {
        let mut input =
            self.option_value(inline, "a GPU memory size after `--min-mem`, like `40G`")?;
        if let Some(next) = self.peek()?
            && !next.quoted
            && is_size_unit(next.text)
            && input.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            self.next()?;
            input.push(' ');
            input.push_str(next.text);
        }
        parse_size(&input).map_err(|problem| ParseError::BadMemorySize {
            command: self.command,
            input,
            reason: problem.reason(),
        })
    }

    /// `2h`, `9:00-18:00` or `<day> 9:00-18:00`.
    fn span(&mut self) -> Result<Span, ParseError> {
        let first = self.required("a duration or a time range")?;
        if let Some(day) =
            parse_day(first.text).map_err(|reason| self.bad_time(first.raw, reason))?
        {
            let range = self.next()?.ok_or(ParseError::MissingArgument {
                command: self.command,
                what: "a time range after the day, like `9:00-18:00`",
            })?;
            return self.range(day, range);
        }
        if let Some(local) = parse_date_time(first.text) {
            return Err(match local {
                Ok(_) => self.missing(START_ALONE),
                Err(reason) => self.bad_time(first.raw, reason),
            });
        }
        if !first.quoted && looks_like_time(first.text) {
            return self.range(Day::Today, first);
        }
        self.duration(first).map(Span::Length)
    }

    fn range(&mut self, day: Day, first: Token<'a>) -> Result<Span, ParseError> {
        // Accept spaces around the dash: `9:00 - 18:00`.
        let mut input = first.raw.to_owned();
        while let Some(token) = self.peek()? {
            let continues = token.text.starts_with('-') && !token.text.starts_with("--");
            if !(input.ends_with('-') || continues) {
                break;
            }
            self.next()?;
            input.push_str(token.raw);
        }
        let Some((from, to)) = input.split_once('-') else {
            return Err(match parse_clock(&input) {
                Ok(_) => self.missing(START_ALONE),
                Err(reason) => self.bad_time(&input, reason),
            });
        };
        let from = parse_clock(from).map_err(|reason| self.bad_time(from, reason))?;
        let to = parse_clock(to).map_err(|reason| self.bad_time(to, reason))?;
        let date = day.resolve(self.today());
        let end_before_start = || ParseError::EndBeforeStart {
            command: self.command,
            range: input.clone(),
        };
        if to <= from {
            return Err(end_before_start());
        }
        let from = self.to_utc(date.and_time(from))?;
        let to = self.to_utc(date.and_time(to))?;
        if to <= from {
            return Err(end_before_start());
        }
        Ok(Span::Range(from, to))
    }

    /// A start time, after `at` or right after the duration: `14:00`, `9 am`, `tomorrow 9:00`,
    /// `fri 14:00`, `2026-12-01 09:00`, `2026-12-01T09:00`. A day alone (`tomorrow`) starts at
    /// [`DAY_START`] that day: someone booking "9h tomorrow" means the working day.
    fn start_time(&mut self, first: Token<'a>) -> Result<DateTime<Utc>, ParseError> {
        if let Some(local) = parse_date_time(first.text) {
            let local = local.map_err(|reason| self.bad_time(first.raw, reason))?;
            return self.to_utc(local);
        }
        let (day, time) =
            match parse_day(first.text).map_err(|reason| self.bad_time(first.raw, reason))? {
                Some(day) => match self.peek()? {
                    Some(next) if starts_with_digit(next.text) => {
                        let clock = self.next()?.expect("peeked");
                        (day, self.clock(clock)?)
                    }
                    _ => (day, DAY_START),
                },
                None => (Day::Today, self.clock(first)?),
            };
        self.to_utc(day.resolve(self.today()).and_time(time))
    }

    /// A time of day, joining a separate `am`/`pm` word (`9 am`).
    fn clock(&mut self, token: Token<'a>) -> Result<NaiveTime, ParseError> {
        let mut input = token.raw.to_owned();
        if let Some(next) = self.peek()?
            && matches!(next.text.to_lowercase().as_str(), "am" | "pm")
        {
            self.next()?;
            input.push_str(next.text);
        }
        parse_clock(&input).map_err(|reason| self.bad_time(&input, reason))
    }

    /// The note after `for`: one quoted word, or the rest of the line verbatim.
    fn note(&mut self) -> Result<String, ParseError> {
        let note = match self.peek()? {
            Some(token) if token.quoted => {
                self.next()?;
                token.text.trim().to_owned()
            }
            _ => self.lexer.rest().to_owned(),
        };
        if note.is_empty() {
            return Err(ParseError::MissingArgument {
                command: self.command,
                what: "a note after `for`, like `for \"training run\"`",
            });
        }
        Ok(note)
    }

    fn today(&self) -> NaiveDate {
        self.ctx.now.with_timezone(&self.ctx.tz).date_naive()
    }

    fn to_utc(&self, local: NaiveDateTime) -> Result<DateTime<Utc>, ParseError> {
        local_to_utc(local, self.ctx.tz).map_err(|local| ParseError::NonexistentLocalTime {
            command: self.command,
            time: local.format("%Y-%m-%d %H:%M").to_string(),
            tz: self.ctx.tz.name().to_owned(),
        })
    }
}

/// `0,1`, `0-3`, `0,2-3` or `all`.
fn parse_gpu_list(input: &str) -> Option<GpuSelection> {
    if input == "all" {
        return Some(GpuSelection::All);
    }
    let index = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse::<u32>().ok())
            .flatten()
            .filter(|i| *i <= MAX_GPU_INDEX)
    };
    let mut indexes = Vec::new();
    for item in input.split(',') {
        match item.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (index(low)?, index(high)?);
                if low > high {
                    return None;
                }
                indexes.extend(low..=high);
            }
            None => indexes.push(index(item)?),
        }
    }
    indexes.sort_unstable();
    indexes.dedup();
    Some(GpuSelection::Indexes(indexes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PLANNED` may be empty; the mechanism is checked against a list of its own.
    #[test]
    fn planned_words_are_not_yet_available() {
        let planned = [("frobnicate", "Frobnication (`frobnicate`)")];
        assert_eq!(
            unknown("Frobnicate", &planned),
            ParseError::NotYetAvailable {
                word: "frobnicate".into(),
                what: "Frobnication (`frobnicate`)",
            }
        );
        assert_eq!(
            unknown("boook", &planned),
            ParseError::UnknownCommand {
                word: "boook".into(),
                suggestion: Some("book".into()),
            }
        );
    }

    #[test]
    fn planned_words_are_not_commands_yet() {
        for (word, _) in PLANNED {
            assert!(
                lookup(word).is_none(),
                "{word} is built: drop it from PLANNED"
            );
        }
    }
}
