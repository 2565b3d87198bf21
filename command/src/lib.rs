//! The `/maison` command grammar: the text after `/maison` becomes a typed [`Command`].
//!
//! Pure and I/O-free: the caller supplies the clock and the user's time zone in a
//! [`ParseContext`], times typed by the user are resolved to UTC here, and whether a host exists
//! or a booking fits is left to the bot. The [`COMMANDS`] table drives command lookup, error
//! messages and [`help_text`], so help cannot drift from what the parser accepts.

mod duration;
mod error;
mod help;
mod lexer;
mod parser;
mod spec;
mod time;

use chrono::{DateTime, Duration, Utc};

pub use duration::format_duration;
pub use error::ParseError;
pub use help::help_text;
pub use spec::{COMMANDS, CommandSpec, lookup};

/// What the parser needs to know about the caller: times are typed in `tz` and relative to `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseContext {
    pub now: DateTime<Utc>,
    pub tz: chrono_tz::Tz,
}

/// One parsed `/maison` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `help [command]`; the topic is the canonical command name (`help bookings` gives `mine`).
    Help { topic: Option<String> },
    /// `status [host]`; the host is lower-cased.
    Status { host: Option<String> },
    /// `book <host>...`
    Book(BookRequest),
    /// `book any <duration> [--gpus N] [at <time>]`; also `book any [<day>] <start>-<end>`.
    BookAny {
        length: Duration,
        gpus: u32,
        start: Option<DateTime<Utc>>,
    },
    /// `mine` or `bookings`.
    Mine,
    /// `cancel 42` or `cancel #42`.
    Cancel { id: i64 },
    /// `release`, `release 42`, `release gpu01`.
    Release { target: Option<ReleaseTarget> },
    /// `extend 42 1h`.
    Extend { id: i64, by: Duration },
}

/// What `release` applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseTarget {
    /// A bare number or `#number`.
    Booking(i64),
    /// Anything else, lower-cased.
    Host(String),
}

/// `book <host>[:<gpus>] ...`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookRequest {
    /// Lower-cased; not checked against the fleet.
    pub host: String,
    pub gpus: GpuSelection,
    /// `None` means now.
    pub start: Option<DateTime<Utc>>,
    pub end: BookingEnd,
    pub note: Option<String>,
}

/// Which GPUs of the host a booking asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuSelection {
    /// This many free GPUs, whichever they are; the default is `Count(1)`.
    Count(u32),
    /// These GPU indexes, sorted and without duplicates.
    Indexes(Vec<u32>),
    /// The whole host.
    All,
}

/// When a booking ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingEnd {
    /// This long after the start.
    After(Duration),
    /// At this instant (from a time range).
    At(DateTime<Utc>),
}

/// Parses the text after `/maison`. Command words and host names are case-insensitive; notes
/// keep their case. Anything the grammar does not expect is refused, never ignored.
///
/// Slack HTML-escapes `&`, `<` and `>` in slash-command text; unescape before parsing.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use maison_command::{BookingEnd, Command, GpuSelection, ParseContext, parse};
///
/// let ctx = ParseContext {
///     now: Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap(),
///     tz: chrono_tz::Europe::Paris,
/// };
/// let Ok(Command::Book(request)) = parse("book gpu02:0,1 tomorrow 9:00-18:00", &ctx) else {
///     panic!("should parse");
/// };
/// assert_eq!(request.gpus, GpuSelection::Indexes(vec![0, 1]));
/// assert_eq!(request.start, Some(Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()));
/// assert_eq!(request.end, BookingEnd::At(Utc.with_ymd_and_hms(2026, 12, 1, 17, 0, 0).unwrap()));
/// ```
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Command, ParseError> {
    parser::parse(text, ctx)
}
