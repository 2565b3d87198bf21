//! Properties: formatted durations parse back, no input panics the parser, and generated `book`
//! (wait-list options included) and `launch` lines parse to the fields they were built from.

mod support;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use maison_command::{
    BookRequest, BookingEnd, Command, GpuSelection, Lang, LaunchGpus, LaunchRequest, WaitOptions,
    format_duration, format_duration_in,
};
use proptest::prelude::*;
use support::{ctx, parse};

/// How a generated start is written, with the local date it names (now is Monday 2026-11-30).
fn day_word() -> impl Strategy<Value = (String, NaiveDate)> {
    let date = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    prop_oneof![
        Just((
            String::new(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        )),
        Just((
            "today ".to_owned(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        )),
        Just(("Tomorrow ".to_owned(), date(1))),
        Just(("wed ".to_owned(), date(2))),
        Just(("Sunday ".to_owned(), date(6))),
        Just(("mon ".to_owned(), date(7))),
        (1u32..=28).prop_map(move |d| (format!("2026-12-{d:02} "), date(d))),
    ]
}

/// A time of day in 24-hour or am/pm form.
fn clock() -> impl Strategy<Value = (String, NaiveTime)> {
    (0u32..24, 0u32..60, any::<bool>()).prop_map(|(h, m, twelve_hour)| {
        let time = NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let text = if twelve_hour {
            let suffix = if h < 12 { "am" } else { "pm" };
            let hour = if h % 12 == 0 { 12 } else { h % 12 };
            format!("{hour}:{m:02}{suffix}")
        } else {
            format!("{h}:{m:02}")
        };
        (text, time)
    })
}

fn paris(date: NaiveDate, time: NaiveTime) -> chrono::DateTime<Utc> {
    // Late November and December in Paris have no DST transition.
    ctx()
        .tz
        .from_local_datetime(&date.and_time(time))
        .unwrap()
        .with_timezone(&Utc)
}

#[derive(Debug, Clone)]
enum Gpus {
    Default,
    Indexes(Vec<u32>),
    All,
    Count(u32),
}

fn gpus() -> impl Strategy<Value = Gpus> {
    prop_oneof![
        Just(Gpus::Default),
        prop::collection::vec(0u32..16, 1..5).prop_map(Gpus::Indexes),
        Just(Gpus::All),
        (1u32..9).prop_map(Gpus::Count),
    ]
}

fn host() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9-]{0,10}"
        .prop_filter("`any` is not a host", |h| !h.eq_ignore_ascii_case("any"))
}

fn note() -> impl Strategy<Value = Option<(String, bool)>> {
    prop::option::of(("[a-zA-Z0-9][a-zA-Z0-9 ,.'!?-]{0,30}", any::<bool>()))
}

#[derive(Debug, Clone)]
enum LaunchGpusArg {
    Indexes(Vec<u32>),
    All,
    None,
}

#[derive(Debug, Clone)]
struct GpusArg {
    value: LaunchGpusArg,
    /// `gpu01:0,1` rather than `--gpus 0,1`.
    on_host: bool,
    /// `--gpus=0,1` rather than `--gpus 0,1`.
    with_equals: bool,
}

fn launch_gpus() -> impl Strategy<Value = Option<GpusArg>> {
    let value = prop_oneof![
        prop::collection::vec(0u32..16, 1..5).prop_map(LaunchGpusArg::Indexes),
        Just(LaunchGpusArg::All),
        Just(LaunchGpusArg::None),
    ];
    prop::option::of((value, any::<bool>(), any::<bool>()).prop_map(
        |(value, on_host, with_equals)| GpusArg {
            value,
            on_host,
            with_equals,
        },
    ))
}

fn image() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,10}(:[0-9]{1,5})?(/[a-z0-9][a-z0-9_.-]{0,8}){0,2}\
     (:[A-Za-z0-9_][A-Za-z0-9_.-]{0,8})?(@sha256:[0-9a-f]{8,16})?"
}

/// A command word and how to quote it: 0 not at all (only possible for a plain non-empty word),
/// then `"…"`, `'…'`, `“…”`, `‘…’`.
fn command_word() -> impl Strategy<Value = (String, usize)> {
    ("[a-zA-Z0-9 _.=/,;:-]{0,12}", 0usize..5).prop_map(|(word, quote)| {
        let needs_quotes = word.is_empty() || word.contains(' ');
        let quote = if needs_quotes && quote == 0 { 1 } else { quote };
        (word, quote)
    })
}

fn render_word((word, quote): &(String, usize)) -> String {
    match quote {
        0 => word.clone(),
        1 => format!("\"{word}\""),
        2 => format!("'{word}'"),
        3 => format!("“{word}”"),
        _ => format!("‘{word}’"),
    }
}

proptest! {
    #[test]
    fn formatted_durations_parse_back(minutes in 1i64..=365 * 24 * 60) {
        let d = Duration::minutes(minutes);
        let text = format!("extend 7 {}", format_duration(d));
        prop_assert_eq!(parse(&text), Ok(Command::Extend { id: 7, by: d }), "{}", text);
    }

    #[test]
    fn formatted_durations_parse_back_in_every_language(minutes in 1i64..=365 * 24 * 60) {
        let d = Duration::minutes(minutes);
        for lang in Lang::ALL {
            let text = format!("extend 7 {}", format_duration_in(d, lang));
            prop_assert_eq!(parse(&text), Ok(Command::Extend { id: 7, by: d }), "{}", text);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
        let _ = parse(&text);
    }

    #[test]
    fn plausible_words_never_panic(words in prop::collection::vec(prop_oneof![
        Just("book"), Just("any"), Just("gpu01:0-3"), Just("gpu01:"), Just("at"), Just("for"),
        Just("--gpus"), Just("--gpus="), Just("2h"), Just("1.5"), Just("h"), Just("9:00-"),
        Just("-18:00"), Just("-"), Just("tomorrow"), Just("mon"), Just("2026-03-29"),
        Just("2:30"), Just("12pm"), Just("\""), Just("“"), Just("”x"), Just("#"), Just("42"),
        Just("extend"), Just("release"), Just("cancel"), Just("help"), Just("status"),
        Just("9999999999999999999999d"), Just("2026-12-01T09:00"), Just("am"),
        Just("launch"), Just("--"), Just("--name"), Just("--name="), Just("--gpus=none"),
        Just("gpu01:none"), Just("'"), Just("‘"), Just("’s"), Just("ps"), Just("-a"),
        Just("stop"), Just("who"), Just("img@"), Just("host"), Just("drain"), Just("hosts"),
        Just("--wait"), Just("--within"), Just("--within="), Just("--auto"), Just("--min-mem"),
        Just("--min-mem="), Just("40G"), Just("40"), Just("GiB"), Just("-5G"), Just(".G"),
        Just("queue"), Just("unwait"), Just("#7"),
    ], 0..8)) {
        let _ = parse(&words.join(" "));
    }

    #[test]
    fn generated_book_lines_parse_to_their_fields(
        host in host(),
        gpus in gpus(),
        minutes in 1i64..=7 * 24 * 60,
        start in prop::option::of((day_word(), clock())),
        note in note(),
        wait in prop::option::of((prop::option::of(0i64..=7 * 24 * 60), any::<bool>())),
        min_mem_gb in prop::option::of(1u64..=200),
    ) {
        // `--wait` takes no start time.
        let start = if wait.is_some() { None } else { start };
        let mut line = match &gpus {
            Gpus::Indexes(list) => {
                let list: Vec<String> = list.iter().map(u32::to_string).collect();
                format!("book {host}:{}", list.join(","))
            }
            Gpus::All => format!("book {host}:all"),
            Gpus::Default | Gpus::Count(_) => format!("book {host}"),
        };
        line.push(' ');
        line.push_str(&format_duration(Duration::minutes(minutes)));
        if let Some(((day, _), (clock, _))) = &start {
            line.push_str(&format!(" at {day}{clock}"));
        }
        if let Gpus::Count(n) = gpus {
            line.push_str(&format!(" --gpus {n}"));
        }
        // `--within` is never shorter than the booking: the extra minutes are added to it.
        let within = wait.and_then(|(extra, _)| extra).map(|extra| Duration::minutes(minutes + extra));
        if let Some((_, auto)) = wait {
            line.push_str(" --wait");
            if let Some(within) = within {
                line.push_str(&format!(" --within {}", format_duration(within)));
            }
            if auto {
                line.push_str(" --auto");
            }
        }
        if let Some(gb) = min_mem_gb {
            line.push_str(&format!(" --min-mem {gb}G"));
        }
        if let Some((text, quoted)) = &note {
            if *quoted {
                line.push_str(&format!(" for “{text}”"));
            } else {
                line.push_str(&format!(" for {text}"));
            }
        }

        let expected = BookRequest {
            host: host.to_lowercase(),
            gpus: match gpus {
                Gpus::Default => GpuSelection::Count(1),
                Gpus::Indexes(mut list) => {
                    list.sort_unstable();
                    list.dedup();
                    GpuSelection::Indexes(list)
                }
                Gpus::All => GpuSelection::All,
                Gpus::Count(n) => GpuSelection::Count(n),
            },
            start: start.map(|((_, date), (_, time))| paris(date, time)),
            end: BookingEnd::After(Duration::minutes(minutes)),
            note: note.map(|(text, _)| text.trim().to_owned()),
            data: None,
            wait: wait.map(|(_, auto)| WaitOptions { within, auto }),
            min_mem: min_mem_gb.map(|gb| gb * 1_000_000_000),
            project: None,
        };
        prop_assert_eq!(parse(&line), Ok(Command::Book(expected)), "{}", line);
    }

    #[test]
    fn generated_ranges_parse_to_their_instants(
        host in host(),
        (day, date) in day_word(),
        (from_text, from) in clock(),
        (to_text, to) in clock(),
    ) {
        prop_assume!(from < to);
        let line = format!("book {host} {day}{from_text}-{to_text}");
        let Ok(Command::Book(request)) = parse(&line) else {
            return Err(TestCaseError::fail(format!("{line} did not parse")));
        };
        prop_assert_eq!(request.start, Some(paris(date, from)), "{}", line);
        prop_assert_eq!(request.end, BookingEnd::At(paris(date, to)), "{}", line);
    }

    #[test]
    fn generated_launch_lines_parse_to_their_fields(
        host in host(),
        image in image(),
        gpus in launch_gpus(),
        name in prop::option::of("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}"),
        name_first in any::<bool>(),
        command in prop::option::of(prop::collection::vec(command_word(), 0..5)),
    ) {
        let gpu_text = |value: &LaunchGpusArg| match value {
            LaunchGpusArg::Indexes(list) => {
                list.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
            }
            LaunchGpusArg::All => "all".to_owned(),
            LaunchGpusArg::None => "none".to_owned(),
        };
        let mut line = format!("launch {host}");
        if let Some(GpusArg { value, on_host: true, .. }) = &gpus {
            line.push_str(&format!(":{}", gpu_text(value)));
        }
        line.push_str(&format!(" {image}"));
        let mut options = Vec::new();
        if let Some(GpusArg { value, on_host: false, with_equals }) = &gpus {
            let separator = if *with_equals { "=" } else { " " };
            options.push(format!("--gpus{separator}{}", gpu_text(value)));
        }
        if let Some(name) = &name {
            options.push(format!("--name {name}"));
        }
        if name_first {
            options.reverse();
        }
        for option in options {
            line.push(' ');
            line.push_str(&option);
        }
        if let Some(words) = &command {
            line.push_str(" --");
            for word in words {
                line.push(' ');
                line.push_str(&render_word(word));
            }
        }

        let expected = LaunchRequest {
            host: host.to_lowercase(),
            image,
            gpus: gpus.and_then(|gpus| match gpus.value {
                LaunchGpusArg::Indexes(mut list) => {
                    list.sort_unstable();
                    list.dedup();
                    Some(LaunchGpus::Indexes(list))
                }
                LaunchGpusArg::All => None,
                LaunchGpusArg::None => Some(LaunchGpus::None),
            }),
            name,
            command: command
                .unwrap_or_default()
                .into_iter()
                .map(|(word, _)| word)
                .collect(),
            datasets: vec![],
        };
        prop_assert_eq!(parse(&line), Ok(Command::Launch(expected)), "{}", line);
    }
}
