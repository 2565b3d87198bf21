//! Every reply the bot gives, built from data by pure functions (snapshot-tested below).
//! Times are shown in the reader's time zone, relative to today where that reads better.

pub mod buttons;
pub mod catalogue;
pub mod datasets;
pub mod fleet;
pub mod home;
pub mod images;
pub mod projects;
pub mod waitlist;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use maison_command::{Lang, ParseError, format_duration, format_duration_in};

use crate::core::actions;
use crate::core::booking::{BookingError, BookingHolder, BookingView, Ending, NewBooking};
use crate::core::fleet::{Host, HostStatus};
use crate::core::gpus::gpus_label_in;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::units::size_text;

/// `today 14:00`, `tomorrow 09:00`, `Wed 3 Dec 09:00` or `3 Dec 2027 09:00`.
pub fn when(ts: i64, now: i64, tz: Tz) -> String {
    when_in(ts, now, tz, Lang::En)
}

/// [`when`] in `lang`. Japanese reads `今日 14:00`, `明日 9:00`, `12月3日(水) 9:00` or
/// `2027年12月3日(金) 9:00`: the hour is not zero-padded, as Japanese schedules write it.
pub fn when_in(ts: i64, now: i64, tz: Tz, lang: Lang) -> String {
    let at = tz.from_utc_datetime(&utc(ts).naive_utc());
    let today = tz.from_utc_datetime(&utc(now).naive_utc()).date_naive();
    let day = at.date_naive();
    let clock = match lang {
        Lang::En => at.format("%H:%M"),
        Lang::Ja => at.format("%-H:%M"),
    };
    if day == today {
        format!("{} {clock}", crate::tr!(lang, "day-today"))
    } else if Some(day) == today.succ_opt() {
        format!("{} {clock}", crate::tr!(lang, "day-tomorrow"))
    } else {
        let same_year = day.year() == today.year();
        match lang {
            Lang::En if same_year => format!("{} {clock}", at.format("%a %-d %b")),
            Lang::En => format!("{} {clock}", at.format("%-d %b %Y")),
            Lang::Ja => {
                let year = if same_year {
                    String::new()
                } else {
                    format!("{}年", day.year())
                };
                let weekday = japanese_weekday(day.weekday());
                format!("{year}{}月{}日({weekday}) {clock}", day.month(), day.day())
            }
        }
    }
}

/// The one-character weekday Japanese dates carry in brackets: `12月3日(水)`.
pub(crate) fn japanese_weekday(weekday: Weekday) -> char {
    match weekday {
        Weekday::Mon => '月',
        Weekday::Tue => '火',
        Weekday::Wed => '水',
        Weekday::Thu => '木',
        Weekday::Fri => '金',
        Weekday::Sat => '土',
        Weekday::Sun => '日',
    }
}

/// `today 14:00–16:00` or `today 22:00 – tomorrow 02:00`.
pub fn span(start: i64, end: i64, now: i64, tz: Tz) -> String {
    span_in(start, end, now, tz, Lang::En)
}

/// [`span`] in `lang`: `今日 14:00–16:00` or `今日 22:00 – 明日 2:00`.
pub fn span_in(start: i64, end: i64, now: i64, tz: Tz, lang: Lang) -> String {
    let from = when_in(start, now, tz, lang);
    let to = when_in(end, now, tz, lang);
    match (from.rsplit_once(' '), to.rsplit_once(' ')) {
        (Some((day_a, _)), Some((day_b, clock_b))) if day_a == day_b => format!("{from}–{clock_b}"),
        _ => format!("{from} – {to}"),
    }
}

fn utc(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

fn booking_line(b: &BookingView, now: i64, tz: Tz, lang: Lang) -> String {
    let state = match b.held_until {
        Some(until) => format!(
            " {}",
            crate::tr!(
                lang,
                "booking-offered",
                until = when_in(until, now, tz, lang)
            )
        ),
        None if b.start <= now => format!(" {}", crate::tr!(lang, "booking-running")),
        None => String::new(),
    };
    let note = b
        .note
        .as_ref()
        .map(|n| format!(" — “{n}”"))
        .unwrap_or_default();
    format!(
        "*#{}* `{}` {} · {}{}{}",
        b.id,
        b.host,
        gpus_label_in(&b.gpus, lang),
        span_in(b.start, b.end, now, tz, lang),
        state,
        note
    )
}

/// `help [topic]`, generated from the parser's command table in `lang`.
pub fn help(topic: Option<&str>, lang: Lang) -> Reply {
    match maison_command::help_text(topic, lang) {
        Ok(text) => Reply::ephemeral(text),
        Err(err) => parse_error(&err, lang),
    }
}

/// A refused command line: what was wrong, then how the command is typed.
pub fn parse_error(err: &ParseError, lang: Lang) -> Reply {
    let message = err.message_in(lang);
    let mut blocks = vec![Block::Section(format!(":warning: {message}"))];
    if let Some(right_form) = err.right_form_in(lang) {
        blocks.push(Block::Context(right_form));
    }
    Reply::with_blocks(Visibility::Ephemeral, message, blocks)
}

/// [`admins_only_in`] in English, for callers that do not know the reader's language.
pub fn admins_only() -> Reply {
    admins_only_in(Lang::En)
}

/// An admin command asked for by someone who is not one.
pub fn admins_only_in(lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "admins-only"))
}

/// Sentences one after the other: English puts a space between them, Japanese does not.
fn sentences(parts: &[String], lang: Lang) -> String {
    let gap = match lang {
        Lang::En => " ",
        Lang::Ja => "",
    };
    parts.join(gap)
}

/// A DM asking an admin to decide: the question, an approving and a refusing button (both
/// carrying the request's id), and a line saying what approving does.
pub(crate) fn decision_request(
    question: String,
    approve: Button,
    refuse: Button,
    footnote: String,
) -> Reply {
    Reply::with_blocks(
        Visibility::InChannel,
        question.clone(),
        vec![
            Block::Section(question),
            Block::Actions(vec![
                approve.styled(ButtonStyle::Primary),
                refuse.styled(ButtonStyle::Danger),
            ]),
            Block::Context(footnote),
        ],
    )
}

/// Items of a list in a sentence: `a, b` in English, `a、b` in Japanese.
pub(crate) fn listed(items: &[String], lang: Lang) -> String {
    let separator = match lang {
        Lang::En => ", ",
        Lang::Ja => "、",
    };
    items.join(separator)
}

/// What goes between two sentences of one reply: a space in English, nothing after a
/// Japanese `。`.
pub(crate) fn sentence_gap(lang: Lang) -> &'static str {
    match lang {
        Lang::En => " ",
        Lang::Ja => "",
    }
}

/// The answer to a command that takes longer than Slack waits: its reply follows.
pub fn working_on_it(lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "working-on-it"))
}

/// The database could not be reached (down, restarting): nothing happened, and trying again
/// in a moment will work.
pub fn database_unavailable(lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "database-unavailable"))
}

/// The database's disk is full: nothing was written, and only an admin freeing space helps,
/// so the reply says so instead of "try again in a minute".
pub fn database_disk_full(lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "database-disk-full"))
}

/// What `lang` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LanguageAnswer {
    /// A language was chosen.
    Set,
    /// Back to the Slack locale.
    Auto,
    /// `lang` alone, for someone who chose.
    CurrentChosen,
    /// `lang` alone, for someone who follows Slack.
    CurrentAuto,
}

/// The answers of `lang`, each written in the language it announces.
pub fn language(lang: Lang, answer: LanguageAnswer) -> Reply {
    Reply::ephemeral(match answer {
        LanguageAnswer::Set => crate::tr!(lang, "lang-set"),
        LanguageAnswer::Auto => crate::tr!(lang, "lang-auto"),
        LanguageAnswer::CurrentChosen => crate::tr!(lang, "lang-current-chosen"),
        LanguageAnswer::CurrentAuto => crate::tr!(lang, "lang-current-auto"),
    })
}

pub fn internal_error(lang: Lang, request_id: &str) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "internal-error", request_id = request_id))
}

/// [`unknown_host_in`] in English, for callers that do not know the reader's language.
pub fn unknown_host(name: &str, hosts: &[Host]) -> Reply {
    unknown_host_in(name, hosts, Lang::En)
}

/// A host name that is not in the fleet: the nearest one if it looks like a typo, and the list.
pub fn unknown_host_in(name: &str, hosts: &[Host], lang: Lang) -> Reply {
    let mut by_distance: Vec<(usize, &str)> = hosts
        .iter()
        .map(|h| (strsim::levenshtein(name, &h.name), h.name.as_str()))
        .collect();
    by_distance.sort();
    let mut parts = vec![crate::tr!(lang, "unknown-host", name = name)];
    if let Some(&(_, nearest)) = by_distance.first().filter(|(d, _)| *d <= 3) {
        parts.push(crate::tr!(lang, "host-did-you-mean", host = nearest));
    }
    let all: Vec<String> = hosts.iter().map(|h| format!("`{}`", h.name)).collect();
    parts.push(if all.is_empty() {
        crate::tr!(lang, "hosts-none-yet")
    } else {
        crate::tr!(lang, "hosts-listing", hosts = listed(&all, lang))
    });
    Reply::ephemeral(sentences(&parts, lang))
}

pub fn booked(b: &BookingView, now: i64, tz: Tz, lang: Lang) -> Reply {
    let text = crate::tr!(
        lang,
        "booked",
        host = b.host.as_str(),
        gpus = gpus_label_in(&b.gpus, lang),
        span = span_in(b.start, b.end, now, tz, lang),
        id = b.id
    );
    let hint = crate::tr!(lang, "booked", "hint", id = b.id);
    Reply::with_blocks(
        Visibility::Ephemeral,
        text.clone(),
        vec![Block::Section(text), Block::Context(hint)],
    )
}

/// A new booking, in the channel: in the channel's language, not the booker's.
pub fn announcement(b: &BookingView, now: i64, tz: Tz, lang: Lang) -> Reply {
    let note = b
        .note
        .as_ref()
        .map(|n| format!(" — “{n}”"))
        .unwrap_or_default();
    let text = crate::tr!(
        lang,
        "booking-announcement",
        user = mention(&b.slack_user_id),
        host = b.host.as_str(),
        gpus = gpus_label_in(&b.gpus, lang),
        span = span_in(b.start, b.end, now, tz, lang),
        note = note
    );
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![Block::Section(text)],
    )
}

/// A booking refused because its GPUs are held: by whom until when, the next free slot on that
/// host, and which other hosts have a GPU free now.
pub fn taken(
    request: &NewBooking,
    holders: &[BookingHolder],
    next: Option<(i64, i64)>,
    free_now: &[(String, usize)],
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let mut lines = vec![crate::tr!(
        lang,
        "taken",
        host = request.host.as_str(),
        span = span_in(request.start, request.end, now, tz, lang)
    )];
    for h in holders {
        lines.push(crate::tr!(
            lang,
            "taken-holder",
            gpu = h.gpu,
            user = mention(&h.slack_user_id),
            until = when_in(h.end, now, tz, lang),
            id = h.booking_id
        ));
    }
    if holders.is_empty() {
        lines.push(crate::tr!(lang, "taken-a-moment-ago"));
    }
    let mut blocks = vec![Block::Section(lines.join("\n"))];
    let next_line = match next {
        Some((start, end)) => crate::tr!(
            lang,
            "taken-next-slot",
            host = request.host.as_str(),
            span = span_in(start, end, now, tz, lang)
        ),
        None => crate::tr!(lang, "taken-no-slot", host = request.host.as_str()),
    };
    let free_line = if free_now.is_empty() {
        crate::tr!(lang, "free-now-nowhere")
    } else {
        let hosts: Vec<String> = free_now
            .iter()
            .map(|(name, n)| crate::tr!(lang, "free-now-host", host = name.as_str(), count = n))
            .collect();
        crate::tr!(lang, "free-now", hosts = listed(&hosts, lang))
    };
    blocks.push(Block::Context(sentences(&[next_line, free_line], lang)));
    Reply::with_blocks(Visibility::Ephemeral, lines[0].clone(), blocks)
}

/// An extension refused because the GPUs are booked right after: by whom from when.
pub fn extension_taken(holders: &[BookingHolder], now: i64, tz: Tz, lang: Lang) -> Reply {
    let mut lines = vec![crate::tr!(lang, "extension-taken")];
    for h in holders {
        lines.push(crate::tr!(
            lang,
            "extension-holder",
            gpu = h.gpu,
            user = mention(&h.slack_user_id),
            from = when_in(h.start, now, tz, lang),
            id = h.booking_id
        ));
    }
    Reply::ephemeral(lines.join("\n"))
}

/// `book any` with no host free: the earliest fit, typed out as a command to copy.
pub fn nothing_free(
    gpus: u32,
    start: i64,
    end: i64,
    next: Option<(i64, String)>,
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let what = if gpus == 1 {
        crate::tr!(lang, "nothing-free-one")
    } else {
        crate::tr!(lang, "nothing-free-several", count = gpus)
    };
    let mut parts = vec![crate::tr!(
        lang,
        "nothing-free",
        what = what,
        span = span_in(start, end, now, tz, lang)
    )];
    parts.push(match next {
        // The suggestion is a command to type, so its duration and time are the parser's.
        Some((at, host)) => crate::tr!(
            lang,
            "nothing-free-earliest",
            host = host.as_str(),
            from = when_in(at, now, tz, lang),
            length = format_duration(Duration::seconds(end - start)),
            at = tz
                .from_utc_datetime(&utc(at).naive_utc())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        ),
        None => crate::tr!(lang, "nothing-free-ever"),
    });
    Reply::ephemeral(sentences(&parts, lang))
}

/// [`booking_refused_in`] in English, for callers that do not know the reader's language.
pub fn booking_refused(err: &BookingError, now: i64, tz: Tz) -> Reply {
    booking_refused_in(err, now, tz, Lang::En)
}

/// Why the booking rules refused a booking, a cancellation or an extension, and what to do.
pub fn booking_refused_in(err: &BookingError, now: i64, tz: Tz, lang: Lang) -> Reply {
    let most = |seconds: i64| format_duration_in(Duration::seconds(seconds), lang);
    let text = match err {
        BookingError::HostDrained(host) => {
            crate::tr!(lang, "refused-drained", host = host.as_str())
        }
        BookingError::NoSuchGpu {
            host,
            gpu,
            gpu_count,
        } => crate::tr!(
            lang,
            "refused-no-such-gpu",
            host = host.as_str(),
            gpu = gpu,
            last = gpu_count.saturating_sub(1)
        ),
        BookingError::NotEnoughGpus {
            host, gpu_count, ..
        } if *gpu_count == 0 => {
            crate::tr!(lang, "refused-no-gpus", host = host.as_str())
        }
        BookingError::NotEnoughGpus {
            host,
            gpu_count,
            wanted,
        } => crate::tr!(
            lang,
            "refused-not-enough-gpus",
            host = host.as_str(),
            count = gpu_count,
            wanted = wanted
        ),
        BookingError::InPast => crate::tr!(lang, "refused-in-past"),
        BookingError::TooLong { max } => crate::tr!(lang, "refused-too-long", max = most(*max)),
        BookingError::TooFarAhead { max } => {
            crate::tr!(lang, "refused-too-far-ahead", max = most(*max))
        }
        BookingError::UserLimit { would_hold, max } => crate::tr!(
            lang,
            "refused-user-limit",
            would_hold = would_hold,
            max = max
        ),
        BookingError::NotFound(id) => crate::tr!(lang, "refused-not-found", id = id),
        BookingError::NotOwner { id, owner } => {
            crate::tr!(lang, "refused-not-owner", id = id, owner = mention(owner))
        }
        BookingError::AlreadyEnded(id) => crate::tr!(lang, "refused-already-ended", id = id),
        BookingError::UnknownHost(host) => {
            crate::tr!(lang, "refused-unknown-host", host = host.as_str())
        }
        BookingError::Taken { .. } => crate::tr!(lang, "refused-taken"),
        BookingError::Db(_) => crate::tr!(lang, "refused-internal"),
    };
    let _ = (now, tz);
    Reply::ephemeral(text)
}

pub fn ended(b: &BookingView, ending: Ending, now: i64, tz: Tz, lang: Lang) -> Reply {
    let host = b.host.as_str();
    let gpus = gpus_label_in(&b.gpus, lang);
    Reply::ephemeral(match ending {
        Ending::Cancelled => crate::tr!(
            lang,
            "booking-cancelled",
            id = b.id,
            host = host,
            gpus = gpus,
            start = when_in(b.start, now, tz, lang)
        ),
        Ending::Released => crate::tr!(
            lang,
            "booking-released",
            id = b.id,
            host = host,
            gpus = gpus
        ),
    })
}

pub fn extended(b: &BookingView, by: Duration, now: i64, tz: Tz, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "booking-extended",
        id = b.id,
        by = format_duration_in(by, lang),
        host = b.host.as_str(),
        gpus = gpus_label_in(&b.gpus, lang),
        end = when_in(b.end, now, tz, lang)
    ))
}

pub fn nothing_to_release(host: Option<&str>, lang: Lang) -> Reply {
    Reply::ephemeral(match host {
        Some(host) => crate::tr!(lang, "nothing-to-release-on", host = host),
        None => crate::tr!(lang, "nothing-to-release"),
    })
}

pub fn which_to_release(running: &[BookingView], now: i64, tz: Tz, lang: Lang) -> Reply {
    let mut lines = vec![crate::tr!(lang, "which-to-release")];
    lines.extend(
        running
            .iter()
            .map(|b| format!("• {}", booking_line(b, now, tz, lang))),
    );
    Reply::ephemeral(lines.join("\n"))
}

/// One booking's line and its Release and Extend buttons (`mine`, the Home tab).
pub(crate) fn booking_with_buttons(b: &BookingView, now: i64, tz: Tz, lang: Lang) -> [Block; 2] {
    [
        Block::Section(booking_line(b, now, tz, lang)),
        Block::Actions(vec![
            Button::new(
                crate::tr!(lang, "button-release", id = b.id),
                actions::RELEASE,
                b.id.to_string(),
            )
            .styled(ButtonStyle::Danger),
            Button::new(
                crate::tr!(lang, "button-extend-1h", id = b.id),
                actions::EXTEND_1H,
                b.id.to_string(),
            ),
        ]),
    ]
}

/// `mine`: each booking with Release and Extend buttons; `headline` reports a button's effect.
pub fn my_bookings(
    headline: Option<String>,
    bookings: &[BookingView],
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let mut blocks = Vec::new();
    if let Some(headline) = &headline {
        blocks.push(Block::Section(headline.clone()));
        blocks.push(Block::Divider);
    }
    if bookings.is_empty() {
        blocks.push(Block::Section(crate::tr!(lang, "my-bookings-none")));
    } else {
        blocks.push(Block::Header(crate::tr!(lang, "my-bookings-header")));
        for b in bookings {
            blocks.extend(booking_with_buttons(b, now, tz, lang));
        }
    }
    let text =
        headline.unwrap_or_else(|| crate::tr!(lang, "my-bookings-count", count = bookings.len()));
    Reply::with_blocks(Visibility::Ephemeral, text, blocks)
}

/// `status`: the whole fleet, one line per host (GPUs as a row of cells, what is booked now,
/// how busy, a GPU in use without a booking flagged), so 20 hosts of 8 GPUs fit one screen.
pub fn fleet_board(
    hosts: &[Host],
    bookings: &[BookingView],
    live: &[HostStatus],
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    if hosts.is_empty() {
        return Reply::ephemeral(crate::tr!(lang, "hosts-none-configured"));
    }
    let lines: Vec<String> = hosts
        .iter()
        .map(|h| {
            let status = live.iter().find(|s| s.host == h.name);
            home::board_line_in(h, bookings, status, now, lang)
        })
        .collect();
    let mut blocks = vec![Block::Header(crate::tr!(lang, "fleet-header"))];
    // Ten hosts a section keeps each well under Slack's text limit.
    blocks.extend(
        lines
            .chunks(10)
            .map(|chunk| Block::Section(chunk.join("\n"))),
    );
    let free: u32 = hosts
        .iter()
        .filter(|h| h.state == crate::core::fleet::HostState::Active)
        .map(|h| {
            home::booked_now(h, bookings, now)
                .iter()
                .filter(|booked| !**booked)
                .count() as u32
        })
        .sum();
    blocks.push(Block::Context(crate::tr!(
        lang,
        "fleet-legend",
        free = free,
        now = when_in(now, now, tz, lang)
    )));
    Reply::with_blocks(
        Visibility::Ephemeral,
        crate::tr!(lang, "fleet-summary", free = free),
        blocks,
    )
}

/// `status <host>`: each GPU: who holds it until when (or what is next), and what the GPU is
/// really doing now when its host's agent reports it.
pub fn status_board(
    hosts: &[Host],
    bookings: &[BookingView],
    live: &[HostStatus],
    with_agent: &[String],
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let mut blocks = vec![Block::Header(crate::tr!(lang, "fleet-header"))];
    if hosts.is_empty() {
        blocks.push(Block::Section(crate::tr!(lang, "hosts-none-configured")));
    }
    for host in hosts {
        let status = live.iter().find(|s| s.host == host.name);
        let seen = |s: &HostStatus| {
            s.last_seen_at.map_or_else(
                || crate::tr!(lang, "status-never-seen"),
                |t| when_in(t, now, tz, lang),
            )
        };
        let agent = match status {
            _ if !with_agent.contains(&host.name) => String::new(),
            Some(s) if s.reachable => {
                let mut agent = format!(
                    " · {}",
                    crate::tr!(lang, "status-agent-seen", seen = seen(s))
                );
                if s.gpus_simulated {
                    agent.push_str(&format!(" · {}", crate::tr!(lang, "status-simulated")));
                }
                agent
            }
            Some(s) => format!(
                " · {}",
                crate::tr!(lang, "status-agent-unreachable", seen = seen(s))
            ),
            None => format!(" · {}", crate::tr!(lang, "status-agent-not-polled")),
        };
        let gpus = if host.gpu_count == 1 {
            crate::tr!(lang, "status-host-one-gpu", count = host.gpu_count)
        } else {
            crate::tr!(lang, "status-host-gpus", count = host.gpu_count)
        };
        let drained = if host.is_drained() {
            format!(" · {}", crate::tr!(lang, "status-drained"))
        } else {
            String::new()
        };
        let mut lines = vec![format!("*{}* — {gpus}{drained}{agent}", host.name)];
        for gpu in 0..host.gpu_count {
            let on_gpu: Vec<&BookingView> = bookings
                .iter()
                .filter(|b| b.host == host.name && b.gpus.contains(&gpu) && b.end > now)
                .collect();
            let current = on_gpu.iter().find(|b| b.start <= now);
            let next = on_gpu
                .iter()
                .filter(|b| b.start > now)
                .min_by_key(|b| b.start);
            let state = match (current, next) {
                (Some(b), _) => crate::tr!(
                    lang,
                    "status-gpu-held",
                    user = mention(&b.slack_user_id),
                    until = when_in(b.end, now, tz, lang)
                ),
                (None, Some(b)) => crate::tr!(
                    lang,
                    "status-gpu-free-until",
                    until = when_in(b.start, now, tz, lang),
                    user = mention(&b.slack_user_id)
                ),
                (None, None) => crate::tr!(lang, "status-gpu-free"),
            };
            let mut line = format!("`GPU {gpu}` {state}");
            let reading = status
                .filter(|s| s.reachable)
                .and_then(|s| s.readings.iter().find(|r| r.gpu == gpu));
            if let Some(r) = reading {
                let now_doing = if r.stale {
                    crate::tr!(lang, "status-readings-stale")
                } else {
                    let memory = match r.mem_total_bytes {
                        Some(total) if total > 0 => crate::tr!(
                            lang,
                            "status-memory-of",
                            used = size_text(r.mem_used_bytes),
                            total = size_text(total)
                        ),
                        _ => size_text(r.mem_used_bytes),
                    };
                    crate::tr!(
                        lang,
                        "status-in-use",
                        pct = format!("{:.0}", r.util_pct),
                        memory = memory
                    )
                };
                line.push_str(&format!(" · {now_doing}"));
            }
            lines.push(line);
        }
        blocks.push(Block::Section(lines.join("\n")));
    }
    blocks.push(Block::Context(crate::tr!(
        lang,
        "status-as-of",
        now = when_in(now, now, tz, lang),
        tz = tz.name()
    )));
    let free: usize = hosts
        .iter()
        .map(|h| {
            (0..h.gpu_count)
                .filter(|g| {
                    !bookings.iter().any(|b| {
                        b.host == h.name && b.gpus.contains(g) && b.start <= now && b.end > now
                    })
                })
                .count()
        })
        .sum();
    Reply::with_blocks(
        Visibility::Ephemeral,
        crate::tr!(lang, "status-free-summary", free = free),
        blocks,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn when_something_else_is_wrong_in_both_languages() {
        for lang in Lang::ALL {
            let text = [
                working_on_it(lang),
                database_unavailable(lang),
                database_disk_full(lang),
                internal_error(lang, "req-42"),
                language(lang, LanguageAnswer::Set),
                language(lang, LanguageAnswer::Auto),
                language(lang, LanguageAnswer::CurrentChosen),
                language(lang, LanguageAnswer::CurrentAuto),
            ]
            .map(|reply| reply.to_terminal())
            .join("\n");
            insta::assert_snapshot!(format!("something_else_wrong_and_lang_{lang}"), text);
        }
    }

    use super::*;
    use crate::core::rules::GpuWish;

    const TZ: Tz = chrono_tz::Europe::Paris;
    // Monday 30 Nov 2026, 10:00 UTC = 11:00 in Paris.
    const NOW: i64 = 1_796_032_800;

    fn host(name: &str, gpus: u32) -> Host {
        Host {
            name: name.into(),
            gpu_count: gpus,
            state: crate::core::fleet::HostState::Active,
        }
    }

    fn booking(id: i64, user: &str, host: &str, gpus: &[u32], start: i64, end: i64) -> BookingView {
        BookingView {
            id,
            user_id: id,
            slack_user_id: user.into(),
            display_name: user.to_lowercase(),
            host: host.into(),
            gpus: gpus.to_vec(),
            start,
            end,
            note: None,
            cancelled: false,
            released: false,
            held_until: None,
        }
    }

    #[test]
    fn times_read_relative_to_today() {
        assert_eq!(utc(NOW).to_rfc3339(), "2026-11-30T10:00:00+00:00");
        assert_eq!(when(NOW, NOW, TZ), "today 11:00");
        assert_eq!(when(NOW + 86_400, NOW, TZ), "tomorrow 11:00");
        assert_eq!(when(NOW + 3 * 86_400, NOW, TZ), "Thu 3 Dec 11:00");
        assert_eq!(when(NOW + 400 * 86_400, NOW, TZ), "4 Jan 2028 11:00");
        assert_eq!(span(NOW, NOW + 7200, NOW, TZ), "today 11:00–13:00");
        assert_eq!(
            span(NOW + 12 * 3600, NOW + 15 * 3600, NOW, TZ),
            "today 23:00 – tomorrow 02:00"
        );
    }

    #[test]
    fn japanese_times_read_like_a_japanese_schedule() {
        let ja = |ts| when_in(ts, NOW, TZ, Lang::Ja);
        assert_eq!(ja(NOW), "今日 11:00");
        assert_eq!(ja(NOW - 2 * 3600), "今日 9:00");
        assert_eq!(ja(NOW + 86_400), "明日 11:00");
        assert_eq!(ja(NOW + 3 * 86_400), "12月3日(木) 11:00");
        assert_eq!(ja(NOW + 400 * 86_400), "2028年1月4日(火) 11:00");
        assert_eq!(
            span_in(NOW, NOW + 7200, NOW, TZ, Lang::Ja),
            "今日 11:00–13:00"
        );
        assert_eq!(
            span_in(NOW + 12 * 3600, NOW + 15 * 3600, NOW, TZ, Lang::Ja),
            "今日 23:00 – 明日 2:00"
        );
    }

    #[test]
    fn booked_in_both_languages() {
        let b = booking(12, "U1", "gpu01", &[0, 1], NOW + 3 * 3600, NOW + 5 * 3600);
        for lang in Lang::ALL {
            let reply = booked(&b, NOW, TZ, lang);
            insta::assert_snapshot!(format!("booked_{lang}"), reply.to_terminal());
            insta::assert_json_snapshot!(format!("booked_{lang}_slack"), reply.to_slack_json());
        }
        let ja = booked(&b, NOW, TZ, Lang::Ja).to_terminal();
        assert!(
            ja.contains("予約しました") && !ja.contains("Booked"),
            "{ja}"
        );
    }

    #[test]
    fn ending_and_extending_in_both_languages() {
        let upcoming = booking(
            12,
            "U1",
            "gpu01",
            &[0, 1],
            NOW + 3 * 86_400,
            NOW + 4 * 86_400,
        );
        let running = booking(13, "U1", "gpu02", &[3], NOW - 3600, NOW + 3600);
        for lang in Lang::ALL {
            let replies = [
                ended(&upcoming, Ending::Cancelled, NOW, TZ, lang),
                ended(&running, Ending::Released, NOW, TZ, lang),
                extended(&running, Duration::minutes(90), NOW, TZ, lang),
                nothing_to_release(Some("gpu02"), lang),
                nothing_to_release(None, lang),
            ];
            let text: Vec<String> = replies.iter().map(Reply::to_terminal).collect();
            insta::assert_snapshot!(format!("ending_and_extending_{lang}"), text.join("\n"));
        }
        let ja = extended(&running, Duration::minutes(90), NOW, TZ, Lang::Ja).to_terminal();
        assert!(ja.contains("1時間30分") && !ja.contains("Extended"), "{ja}");
    }

    #[test]
    fn announcement_in_both_languages() {
        let mut b = booking(12, "U0ALICE", "gpu01", &[0, 1], NOW + 86_400, NOW + 93_600);
        b.note = Some("bert finetune".to_owned());
        for lang in Lang::ALL {
            let reply = announcement(&b, NOW, TZ, lang);
            insta::assert_snapshot!(format!("announcement_{lang}"), reply.to_terminal());
        }
    }

    #[test]
    fn status_board_snapshot() {
        let hosts = [host("gpu01", 2), host("gpu02", 1), host("gpu03", 0)];
        let bookings = [
            booking(1, "U0ALICE", "gpu01", &[0], NOW - 3600, NOW + 7200),
            booking(2, "U0BOB", "gpu01", &[1], NOW + 3600, NOW + 5 * 3600),
        ];
        let mut busy = reading(0, 87.0);
        busy.mem_used_bytes = 30_000_000_000;
        let live = [reachable_host("gpu01", vec![busy])];
        let with_agent = ["gpu01".to_owned(), "gpu02".to_owned()];
        let reply = status_board(&hosts, &bookings, &live, &with_agent, NOW, TZ, Lang::En);
        assert_eq!(reply.text, "2 GPU(s) free now");
        insta::assert_snapshot!(reply.to_terminal());
    }

    /// A GPU's reading 20 s ago, 1 GB of 80 GB in use.
    fn reading(gpu: u32, util_pct: f64) -> crate::core::fleet::GpuNow {
        crate::core::fleet::GpuNow {
            gpu,
            at: NOW - 20,
            util_pct,
            mem_used_bytes: 1_000_000_000,
            mem_total_bytes: Some(80_000_000_000),
            power_watts: None,
            temp_celsius: None,
            stale: false,
            holders: vec![],
        }
    }

    /// A host whose agent answered 20 s ago with these readings.
    fn reachable_host(name: &str, readings: Vec<crate::core::fleet::GpuNow>) -> HostStatus {
        HostStatus {
            host: name.into(),
            reachable: true,
            changed_at: NOW - 3600,
            last_seen_at: Some(NOW - 20),
            last_polled_at: Some(NOW - 20),
            failing_since: None,
            last_error: None,
            gpus_simulated: false,
            facts: None,
            readings,
        }
    }

    /// 20 hosts of 8 GPUs fit one screen: one line a host, a GPU busy without a booking flagged.
    #[test]
    fn the_fleet_board_is_one_line_per_host() {
        let hosts: Vec<Host> = (1..=20).map(|i| host(&format!("gpu{i:02}"), 8)).collect();
        let bookings = [
            booking(1, "U0ALICE", "gpu01", &[0, 1], NOW - 3600, NOW + 7200),
            booking(2, "U0BOB", "gpu01", &[2], NOW + 3600, NOW + 7200),
        ];
        let live = [reachable_host(
            "gpu01",
            vec![reading(0, 90.0), reading(1, 50.0), reading(5, 60.0)],
        )];
        let reply = fleet_board(&hosts, &bookings, &live, NOW, TZ, Lang::En);
        let text = reply.to_terminal();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("gpu")).count(),
            20,
            "{text}"
        );
        assert!(
            text.contains(
                "gpu01 ■■□□□□□□ 2/8 booked · 67 % busy · ⚠️  GPU 5 in use without a booking"
            ),
            "{text}"
        );
        assert!(text.contains("gpu20 □□□□□□□□ 0/8 booked"), "{text}");
        assert_eq!(reply.text, "GPU fleet: 158 GPU(s) free now.");
        assert!(reply.blocks.len() <= 5, "{} blocks", reply.blocks.len());
    }

    #[test]
    fn conflict_reply_snapshot() {
        let request = NewBooking {
            host: "gpu01".into(),
            gpus: GpuWish::Indexes(vec![0]),
            start: NOW,
            end: NOW + 7200,
            note: None,
            project: None,
        };
        let holders = [BookingHolder {
            booking_id: 7,
            slack_user_id: "U0ALICE".into(),
            display_name: "alice".into(),
            gpu: 0,
            start: NOW - 600,
            end: NOW + 3600,
        }];
        let reply = taken(
            &request,
            &holders,
            Some((NOW + 3600, NOW + 3 * 3600)),
            &[("gpu02".into(), 1)],
            NOW,
            TZ,
            Lang::En,
        );
        insta::assert_snapshot!(reply.to_terminal());
        insta::assert_json_snapshot!(reply.to_slack_json());
    }

    #[test]
    fn my_bookings_have_one_release_and_one_extend_button_each() {
        let bookings = [
            booking(3, "U0ALICE", "gpu01", &[0, 1], NOW - 60, NOW + 3600),
            booking(4, "U0ALICE", "gpu02", &[0], NOW + 86_400, NOW + 90_000),
        ];
        let reply = my_bookings(None, &bookings, NOW, TZ, Lang::En);
        let buttons: Vec<(&str, &str)> = reply
            .buttons()
            .map(|b| (b.action_id.as_str(), b.value.as_str()))
            .collect();
        assert_eq!(
            buttons,
            [
                (actions::RELEASE, "3"),
                (actions::EXTEND_1H, "3"),
                (actions::RELEASE, "4"),
                (actions::EXTEND_1H, "4")
            ]
        );
        insta::assert_snapshot!(reply.to_terminal());
    }

    #[test]
    fn my_bookings_in_both_languages() {
        let mut offered = booking(5, "U0ALICE", "gpu03", &[2], NOW + 7200, NOW + 10_800);
        offered.held_until = Some(NOW + 900);
        offered.note = Some("bert finetune".to_owned());
        let bookings = [
            booking(3, "U0ALICE", "gpu01", &[0, 1], NOW - 60, NOW + 3600),
            booking(4, "U0ALICE", "gpu02", &[0], NOW + 86_400, NOW + 90_000),
            offered,
        ];
        for lang in Lang::ALL {
            let mine = my_bookings(None, &bookings, NOW, TZ, lang);
            insta::assert_snapshot!(format!("my_bookings_{lang}"), mine.to_terminal());
            insta::assert_json_snapshot!(format!("my_bookings_{lang}_slack"), mine.to_slack_json());
            let none = my_bookings(None, &[], NOW, TZ, lang).to_terminal();
            let which = which_to_release(&bookings[..2], NOW, TZ, lang).to_terminal();
            insta::assert_snapshot!(
                format!("no_bookings_and_which_{lang}"),
                format!("{none}\n{which}")
            );
        }
        let labels: Vec<String> = my_bookings(None, &bookings, NOW, TZ, Lang::Ja)
            .buttons()
            .map(|b| b.label.clone())
            .collect();
        assert_eq!(labels[..2], ["終了 #3", "1時間延長 #3"]);
    }

    /// `queue` was "not yet available" before the wait-list: now it is a command, and a typo
    /// of it is told the right word.
    #[test]
    fn queue_is_a_command_now() {
        let context = maison_command::ParseContext {
            now: utc(NOW),
            tz: TZ,
        };
        assert!(maison_command::parse("queue", &context).is_ok());
        let err = maison_command::parse("queu", &context).unwrap_err();
        let text = parse_error(&err, Lang::En).text;
        assert!(!text.contains("not yet available"), "{text}");
        assert!(text.contains("`queue`"), "{text}");
    }

    /// Found trying it: a refused `book` printed its usage twice (in the error and under it).
    #[test]
    fn a_parse_error_shows_the_usage_once() {
        let context = maison_command::ParseContext {
            now: utc(NOW),
            tz: TZ,
        };
        for text in ["book gpu01 9h please", "book", "data frobnicate", "cancel"] {
            let err = maison_command::parse(text, &context).unwrap_err();
            let shown = parse_error(&err, Lang::En).to_terminal();
            assert_eq!(shown.matches("Usage").count(), 1, "{text}: {shown}");
            assert_eq!(shown.matches("Example").count(), 1, "{text}: {shown}");
            let shown = parse_error(&err, Lang::Ja).to_terminal();
            assert_eq!(shown.matches("使い方").count(), 1, "{text}: {shown}");
            assert_eq!(shown.matches("例: ").count(), 1, "{text}: {shown}");
        }
    }

    #[test]
    fn help_and_parse_errors_in_both_languages() {
        let context = maison_command::ParseContext {
            now: utc(NOW),
            tz: TZ,
        };
        for lang in Lang::ALL {
            let mut text = vec![
                help(None, lang).to_terminal(),
                help(Some("cancel"), lang).to_terminal(),
            ];
            for line in ["cancel abc", "boook gpu01 2h", "book gpu01 2h at 25:00"] {
                let err = maison_command::parse(line, &context).unwrap_err();
                text.push(parse_error(&err, lang).to_terminal());
            }
            text.push(help(Some("relase"), lang).to_terminal());
            insta::assert_snapshot!(
                format!("help_and_parse_errors_{lang}"),
                text.join("\n---\n")
            );
        }
    }

    #[test]
    fn refusals_and_admin_answers_in_both_languages() {
        let hosts = [host("gpu01", 2), host("gpu02", 2), host("dgx-a100", 8)];
        let request = NewBooking {
            host: "gpu01".into(),
            gpus: GpuWish::Indexes(vec![0]),
            start: NOW,
            end: NOW + 7200,
            note: None,
            project: None,
        };
        let holders = [BookingHolder {
            booking_id: 7,
            slack_user_id: "U0ALICE".into(),
            display_name: "alice".into(),
            gpu: 0,
            start: NOW + 600,
            end: NOW + 3600,
        }];
        let refusals = [
            BookingError::HostDrained("gpu03".into()),
            BookingError::NoSuchGpu {
                host: "gpu01".into(),
                gpu: 4,
                gpu_count: 2,
            },
            BookingError::NotEnoughGpus {
                host: "gpu03".into(),
                gpu_count: 0,
                wanted: 1,
            },
            BookingError::NotEnoughGpus {
                host: "gpu01".into(),
                gpu_count: 2,
                wanted: 4,
            },
            BookingError::InPast,
            BookingError::TooLong { max: 7 * 86_400 },
            BookingError::TooFarAhead { max: 30 * 86_400 },
            BookingError::UserLimit {
                would_hold: 5,
                max: 4,
            },
            BookingError::NotFound(42),
            BookingError::NotOwner {
                id: 42,
                owner: "U0BOB".into(),
            },
            BookingError::AlreadyEnded(42),
            BookingError::UnknownHost("gpu9".into()),
            BookingError::Taken { holders: vec![] },
        ];
        for lang in Lang::ALL {
            let mut replies = vec![
                admins_only_in(lang),
                unknown_host_in("gpu1", &hosts, lang),
                unknown_host_in("zzzzzzzz", &[], lang),
                taken(
                    &request,
                    &holders,
                    Some((NOW + 3600, NOW + 3 * 3600)),
                    &[("gpu02".into(), 1)],
                    NOW,
                    TZ,
                    lang,
                ),
                taken(&request, &[], None, &[], NOW, TZ, lang),
                extension_taken(&holders, NOW, TZ, lang),
                nothing_free(
                    1,
                    NOW,
                    NOW + 7200,
                    Some((NOW + 86_400, "gpu02".into())),
                    NOW,
                    TZ,
                    lang,
                ),
                nothing_free(2, NOW, NOW + 7200, None, NOW, TZ, lang),
            ];
            replies.extend(
                refusals
                    .iter()
                    .map(|err| booking_refused_in(err, NOW, TZ, lang)),
            );
            let text: Vec<String> = replies.iter().map(Reply::to_terminal).collect();
            insta::assert_snapshot!(format!("refusals_{lang}"), text.join("\n---\n"));
        }
        assert_eq!(
            booking_refused(&refusals[0], NOW, TZ).text,
            booking_refused_in(&refusals[0], NOW, TZ, Lang::En).text,
        );
    }

    #[test]
    fn status_in_both_languages() {
        let hosts = [host("gpu01", 2), host("gpu02", 1), host("gpu03", 0)];
        let bookings = [
            booking(1, "U0ALICE", "gpu01", &[0], NOW - 3600, NOW + 7200),
            booking(2, "U0BOB", "gpu01", &[1], NOW + 3600, NOW + 5 * 3600),
        ];
        let mut busy = reading(0, 87.0);
        busy.mem_used_bytes = 30_000_000_000;
        let mut silent = reachable_host("gpu02", vec![]);
        silent.reachable = false;
        let live = [
            reachable_host("gpu01", vec![busy, reading(1, 95.0)]),
            silent,
        ];
        let with_agent = ["gpu01".to_owned(), "gpu02".to_owned()];
        let mut drained = hosts.to_vec();
        drained[2].state = crate::core::fleet::HostState::Drained;
        for lang in Lang::ALL {
            let board = fleet_board(&drained, &bookings, &live, NOW, TZ, lang);
            let detail = status_board(&hosts, &bookings, &live, &with_agent, NOW, TZ, lang);
            let empty = fleet_board(&[], &[], &[], NOW, TZ, lang);
            insta::assert_snapshot!(
                format!("status_{lang}"),
                [board, detail, empty]
                    .iter()
                    .map(|reply| format!("{}\n{}", reply.text, reply.to_terminal()))
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
        }
    }

    #[test]
    fn unknown_host_suggests_the_nearest_name() {
        let hosts = [host("gpu01", 2), host("gpu02", 2), host("dgx-a100", 8)];
        let reply = unknown_host("gpu1", &hosts);
        assert!(
            reply.text.contains("Did you mean `gpu01`?"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("`dgx-a100`"));
        let far = unknown_host("zzzzzzzz", &hosts);
        assert!(!far.text.contains("Did you mean"));
    }
}
