//! One small recursive-descent parser per command, over the on-demand lexer.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::duration::{DurationProblem, is_duration_part, parse_duration};
use crate::lexer::{Lexer, Token};
use crate::spec::{lookup, suggest};
use crate::time::{Day, local_to_utc, looks_like_time, parse_clock, parse_date_time, parse_day};
use crate::{
    BookRequest, BookingEnd, Command, GpuSelection, ParseContext, ParseError, ReleaseTarget,
};

/// Highest GPU index accepted; far above any real host, low enough that `0-N` stays small.
const MAX_GPU_INDEX: u32 = 255;

const START_ALONE: &str = "an end time or a duration: a range like `9:00-18:00`, \
                           or a duration and a start like `2h at 9:00`";

pub(crate) fn parse(text: &str, ctx: &ParseContext) -> Result<Command, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseError::EmptyCommand);
    }
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let Some(spec) = lookup(word) else {
        return Err(ParseError::UnknownCommand {
            word: word.to_owned(),
            suggestion: suggest(word),
        });
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
        // A table entry without a parser; the every-example-parses test catches it.
        _ => Err(ParseError::UnknownCommand {
            word: word.to_owned(),
            suggestion: None,
        }),
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

    fn status(mut self) -> Result<Command, ParseError> {
        let host = self.next()?.map(|token| token.text.to_lowercase());
        self.finish()?;
        Ok(Command::Status { host })
    }

    fn cancel(mut self) -> Result<Command, ParseError> {
        let token = self.required("a booking id")?;
        let id = self.booking_id(token.raw)?;
        self.finish()?;
        Ok(Command::Cancel { id })
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
        while let Some(token) = self.next()? {
            let word = token.text.to_lowercase();
            if token.quoted {
                return Err(self.unexpected(token.raw));
            }
            if word == "at" && start.is_none() && matches!(span, Span::Length(_)) {
                start = Some(self.at_time()?);
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
            } else if word == "for" && note.is_none() && !any {
                note = Some(self.note()?);
            } else {
                return Err(self.unexpected(token.raw));
            }
        }

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
        }))
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

    /// The time after `at`: `14:00`, `9 am`, `tomorrow 9:00`, `fri 14:00`, `2026-12-01 09:00`,
    /// `2026-12-01T09:00`.
    fn at_time(&mut self) -> Result<DateTime<Utc>, ParseError> {
        let first = self.required("a time after `at`")?;
        if let Some(local) = parse_date_time(first.text) {
            let local = local.map_err(|reason| self.bad_time(first.raw, reason))?;
            return self.to_utc(local);
        }
        let (day, clock) =
            match parse_day(first.text).map_err(|reason| self.bad_time(first.raw, reason))? {
                Some(day) => {
                    let clock = self.next()?.ok_or_else(|| {
                        self.bad_time(
                            first.raw,
                            format!("add a time of day, like `{} 9:00`", first.text),
                        )
                    })?;
                    (day, clock)
                }
                None => (Day::Today, first),
            };
        let time = self.clock(clock)?;
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
