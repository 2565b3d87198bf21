//! The `/maison` command grammar: the text after `/maison` becomes a typed [`Command`].
//!
//! Pure and I/O-free: the caller supplies the clock and the user's time zone in a
//! [`ParseContext`], times typed by the user are resolved to UTC here, and whether a host exists
//! or a booking fits is left to the bot. The [`COMMANDS`] table drives command lookup, error
//! messages and [`help_text`], so help cannot drift from what the parser accepts.

mod duration;
mod error;
mod error_ja;
mod help;
mod lang;
mod lexer;
mod names;
mod parser;
mod size;
mod spec;
mod time;

use chrono::{DateTime, Duration, Utc};

pub use duration::{format_duration, format_duration_in};
pub use error::ParseError;
pub use help::help_text;
pub use lang::{Lang, UnknownLang};
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
    Help {
        topic: Option<String>,
    },
    /// `status [host]`; the host is lower-cased.
    Status {
        host: Option<String>,
    },
    /// `book <host>...`
    Book(BookRequest),
    /// `book any <duration> [--gpus N] [at <time>] [--min-mem <size>] [--data <dataset>]`; also
    /// `book any [<day>] <start>-<end>`, and `book any <duration> --wait …`.
    BookAny {
        length: Duration,
        gpus: u32,
        /// `None` means now; always `None` with `wait`.
        start: Option<DateTime<Utc>>,
        /// Prefer hosts that hold it, and copy it to the chosen host.
        data: Option<DatasetRef>,
        /// `--wait`: join the wait-list when nothing fits now.
        wait: Option<WaitOptions>,
        /// `--min-mem 40G`: only GPUs with at least this much memory each, in bytes.
        min_mem: Option<u64>,
        /// `--project vision`: the project the GPUs serve; lower-cased, not checked against
        /// the project list.
        project: Option<String>,
    },
    /// `mine` or `bookings`.
    Mine,
    /// `cancel 42` or `cancel #42`.
    Cancel {
        id: i64,
    },
    /// `release`, `release 42`, `release gpu01`.
    Release {
        target: Option<ReleaseTarget>,
    },
    /// `extend 42 1h`.
    Extend {
        id: i64,
        by: Duration,
    },
    /// `queue`: the wait-list.
    Queue,
    /// `unwait 7` or `unwait #7`: leave the wait-list; the id is the request's, as `queue` and
    /// the `--wait` reply show it.
    Unwait {
        id: i64,
    },
    /// `launch <host> <image> [--gpus <list>|all] [--name <name>] [-- <command…>]`
    Launch(LaunchRequest),
    /// `ps [host] [--all]`: your containers (all users' with --all).
    Ps {
        host: Option<String>,
        all: bool,
    },
    /// `stop <container>`
    Stop {
        container: String,
    },
    /// `rm <container>`
    Rm {
        container: String,
    },
    /// `who <container|image>`
    Who {
        target: String,
    },
    /// `claim <container|image>`
    Claim {
        target: String,
    },
    /// `images [host]`
    Images {
        host: Option<String>,
    },
    /// `hosts` (admin): the fleet with agent reachability and state.
    Hosts,
    /// `host drain <host>` / `host undrain <host>` (admin).
    HostDrain {
        host: String,
    },
    HostUndrain {
        host: String,
    },
    /// `jobs [list]` / `jobs run <job>` (admin): the scheduled jobs.
    Jobs(JobsCommand),
    /// `report [day|week|month]`: yesterday's utilisation report, or the capacity report of
    /// the last week or the last calendar month, for the caller alone.
    Report {
        period: ReportPeriod,
    },
    /// `report what-if +4 gpus [--weeks N]`: the last weeks' demand replayed against a larger
    /// fleet.
    WhatIf(WhatIfRequest),
    /// `project …`: the projects bookings serve.
    Project(ProjectCommand),
    /// `data …`: the dataset registry.
    Data(DataCommand),
    /// `image …`: images with a history.
    Image(ImageCommand),
    /// `lang [en|ja|auto]`: the language replies are written in; alone, which one and why.
    Lang {
        choice: Option<LangChoice>,
    },
}

/// What `lang` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LangChoice {
    /// Follow the Slack locale.
    Auto,
    Fixed(Lang),
}

/// `image …`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageCommand {
    /// `image save <container> <name>[:<tag>] [for "<note>"]`: commits one's own container into
    /// an image that records where it came from.
    Save {
        container: String,
        reference: String,
        note: Option<String>,
    },
    /// `image copy <image> <host>`: copies an image to a host from one that holds it, agent
    /// to agent, without the layers the destination already has.
    Copy { image: String, host: String },
    /// `image build <host> <name>[:<tag>] <Dockerfile path> [for "<note>"]`: builds on that host
    /// from a Dockerfile in one's own directory, without network.
    Build {
        host: String,
        reference: String,
        dockerfile: String,
        note: Option<String>,
    },
    /// `image publish <image> [as <name>[:<version>]] [--project <p>] [for "<description>"]`:
    /// asks the admins to add the image to the catalogue, so that `launch <host> <name>` runs it.
    Publish {
        image: String,
        /// The short name; `None`: the image's own name, without registry, path and tag.
        name: Option<String>,
        /// `None`: the next `vN` of that name.
        version: Option<String>,
        project: Option<String>,
        description: Option<String>,
    },
    /// `image deprecate <name>[:<version>] [use <name>[:<version>]]`: marks catalogue versions
    /// as no longer recommended (the admins, or whoever published the name).
    Deprecate {
        name: String,
        /// `None`: every version of the name.
        version: Option<String>,
        replaced_by: Option<String>,
    },
}

/// A dataset as typed: `imagenet` (the latest version) or `imagenet@v2`. Both parts are
/// lower-cased and checked to be plain file names (`/data/<name>` in a container).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatasetRef {
    pub name: String,
    /// `None`: the latest registered version.
    pub version: Option<String>,
}

impl std::fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.version {
            Some(version) => write!(f, "{}@{version}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// `data …`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataCommand {
    /// `data add <name>@<version> <host>:<absolute path> [for "<note>"]`: register a
    /// directory already on a host.
    Add {
        name: String,
        version: String,
        /// Lower-cased; not checked against the fleet.
        host: String,
        /// Absolute, without `.` or `..` components; kept as typed otherwise.
        path: String,
        note: Option<String>,
    },
    /// `data ls`: every dataset, its versions, sizes and copies.
    Ls,
    /// `data where <dataset>`: the hosts holding it, complete or partial.
    Where { dataset: DatasetRef },
    /// `data get <dataset> <host>`: copy it there.
    Get { dataset: DatasetRef, host: String },
    /// `data rm <dataset> <host>`: remove that host's copy.
    Rm { dataset: DatasetRef, host: String },
    /// `data pin <dataset> <host>`: never evict that copy.
    Pin { dataset: DatasetRef, host: String },
    /// `data unpin <dataset> <host>`.
    Unpin { dataset: DatasetRef, host: String },
    /// `data verify <dataset> <host>`: re-hash that copy.
    Verify { dataset: DatasetRef, host: String },
}

/// Which report `report` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportPeriod {
    /// Yesterday, in the company time zone (the default).
    Day,
    /// The last seven days.
    Week,
    /// The last complete calendar month.
    Month,
}

/// `report what-if +2 hosts of 8 [--weeks 12]`: capacity added, and how much history to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhatIfRequest {
    /// New hosts; `+4 gpus` is one new host of 4 GPUs.
    pub hosts: u32,
    pub gpus_per_host: u32,
    /// Weeks of demand replayed (default [`WhatIfRequest::DEFAULT_WEEKS`]).
    pub weeks: u32,
}

impl WhatIfRequest {
    pub const DEFAULT_WEEKS: u32 = 8;
    /// A year: longer replays describe a fleet and a team that no longer exist.
    pub const MAX_WEEKS: u32 = 52;
    /// Far above any real purchase; keeps the replay's arithmetic small.
    pub const MAX_GPUS: u32 = 4096;
}

/// `project …`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectCommand {
    /// `project` or `project ls`: the projects, and your default.
    Ls,
    /// `project default <name>`, or `project default none` to clear it (`None`).
    Default { name: Option<String> },
    /// `project add <name> [for "<description>"]` (admin).
    Add {
        name: String,
        description: Option<String>,
    },
    /// `project rm <name>` (admin): retired, kept in old bookings and reports.
    Rm { name: String },
}

/// `jobs …` (admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobsCommand {
    /// `jobs` or `jobs list`: every job with its schedule, next and last run.
    List,
    /// `jobs run <job>`: run a job now. Lower-cased; not checked against the job registry.
    Run { job: String },
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
    /// `--data <dataset>`: copy it to the host as soon as the booking is made.
    pub data: Option<DatasetRef>,
    /// `--wait`: join the wait-list when nothing fits now. With it, `start` is `None` and `end`
    /// is `BookingEnd::After`: the booking starts whenever GPUs free up.
    pub wait: Option<WaitOptions>,
    /// `--min-mem 40G`: only GPUs with at least this much memory each, in bytes.
    pub min_mem: Option<u64>,
    /// `--project vision`: lower-cased, not checked against the project list.
    pub project: Option<String>,
}

/// `--wait`: when nothing fits now, join the wait-list instead of being refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// `--within 8h`: the booking must be over within this long of asking (so it must start
    /// by then minus its length); the request leaves the line after that. `None`: no limit.
    /// Never shorter than the booking.
    pub within: Option<Duration>,
    /// `--auto`: book directly when GPUs free up, instead of offering with Accept/Decline.
    pub auto: bool,
}

/// `launch <host> <image> ...`: a container to start on GPUs the caller has booked.
///
/// Targets of the other container commands (`stop`, `rm`, `who`, `claim`) are kept as typed: a
/// container name, an id or id prefix, or an image reference; the bot resolves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchRequest {
    /// Lower-cased; not checked against the fleet.
    pub host: String,
    /// As typed, case kept: a catalogue short name (`pytorch`) or a reference
    /// (`registry.lan/team/img:1.2`, `busybox@sha256:…`); only its characters are checked.
    pub image: String,
    /// `None` (no `--gpus`, or `--gpus all`): every GPU of the caller's booking on the host.
    pub gpus: Option<LaunchGpus>,
    /// The container name, checked against Docker's rule `[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}`.
    pub name: Option<String>,
    /// The words after `--`, quotes removed; empty when the image's own command should run.
    pub command: Vec<String>,
    /// `--data a,b@v1`: datasets to mount read-only at `/data/<name>`, in the order given,
    /// each name once.
    pub datasets: Vec<DatasetRef>,
}

/// Which GPUs a launched container gets, when not all of the booking's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchGpus {
    /// These GPU indexes, sorted and without duplicates.
    Indexes(Vec<u32>),
    /// `--gpus none`: no GPU at all.
    None,
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

/// A booking length as the parser reads it (`2h`, `1h30m`, `1.5h`, `1d`), for a form that
/// takes the duration in a field of its own; `None` if it is not one.
pub fn parse_length(text: &str) -> Option<Duration> {
    duration::parse_duration(text.trim()).ok()
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
