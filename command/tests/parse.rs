//! One test per command form and per error kind, asserting the exact values parsed.

mod support;

use chrono::Duration;
use maison_command::{
    BookRequest, BookingEnd, COMMANDS, Command, GpuSelection, ParseContext, ParseError,
    ReleaseTarget,
};
use support::{ctx, parse, utc};

fn book(text: &str) -> BookRequest {
    match parse(text) {
        Ok(Command::Book(request)) => request,
        other => panic!("{text:?} gave {other:?}"),
    }
}

fn err(text: &str) -> ParseError {
    match parse(text) {
        Err(error) => error,
        Ok(command) => panic!("{text:?} parsed as {command:?}"),
    }
}

fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

// ---------------------------------------------------------------- commands

#[test]
fn help_without_and_with_topic() {
    assert_eq!(parse("help"), Ok(Command::Help { topic: None }));
    assert_eq!(
        parse("HELP Book"),
        Ok(Command::Help {
            topic: Some("book".into())
        })
    );
    assert_eq!(
        parse("help bookings"),
        Ok(Command::Help {
            topic: Some("mine".into())
        }),
        "aliases resolve to the canonical name"
    );
}

#[test]
fn status_with_and_without_host() {
    assert_eq!(parse("status"), Ok(Command::Status { host: None }));
    assert_eq!(
        parse("  Status   GPU01 "),
        Ok(Command::Status {
            host: Some("gpu01".into())
        })
    );
}

#[test]
fn book_defaults_to_one_gpu_now() {
    assert_eq!(
        book("book gpu01 2h"),
        BookRequest {
            host: "gpu01".into(),
            gpus: GpuSelection::Count(1),
            start: None,
            end: BookingEnd::After(hours(2)),
            note: None,
        }
    );
}

#[test]
fn book_is_case_insensitive_but_keeps_the_note() {
    let request = book("BOOK GPU01:ALL 2H FOR \"Big Run\"");
    assert_eq!(request.host, "gpu01");
    assert_eq!(request.gpus, GpuSelection::All);
    assert_eq!(request.end, BookingEnd::After(hours(2)));
    assert_eq!(request.note.as_deref(), Some("Big Run"));
}

#[test]
fn book_gpu_indexes_are_sorted_and_deduplicated() {
    assert_eq!(book("book gpu01:1 3h").gpus, GpuSelection::Indexes(vec![1]));
    assert_eq!(
        book("book gpu01:3,1,1,0 3h").gpus,
        GpuSelection::Indexes(vec![0, 1, 3])
    );
    assert_eq!(
        book("book gpu01:5,0-2 3h").gpus,
        GpuSelection::Indexes(vec![0, 1, 2, 5])
    );
}

#[test]
fn book_gpu_count_flag() {
    assert_eq!(book("book gpu01 2h --gpus 2").gpus, GpuSelection::Count(2));
    assert_eq!(book("book gpu01 2h --gpus=3").gpus, GpuSelection::Count(3));
    assert_eq!(book("book gpu01 2h --GPUS all").gpus, GpuSelection::All);
}

#[test]
fn book_at_a_time_today_in_the_users_zone() {
    let request = book("book gpu01:1 3h at 14:00");
    assert_eq!(
        request.start,
        Some(utc("2026-11-30 13:00")),
        "Paris is UTC+1"
    );
    assert_eq!(request.end, BookingEnd::After(hours(3)));
}

#[test]
fn book_at_a_time_already_past_today_stays_today() {
    // Now is 11:00 in Paris; the bot, not the parser, refuses the past.
    assert_eq!(
        book("book gpu01 1h at 9:00").start,
        Some(utc("2026-11-30 08:00"))
    );
}

#[test]
fn book_at_accepts_every_time_form() {
    let cases = [
        ("9am", "2026-11-30 08:00"),
        ("9 AM", "2026-11-30 08:00"),
        ("2:30pm", "2026-11-30 13:30"),
        ("12am", "2026-11-29 23:00"),
        ("today 14:00", "2026-11-30 13:00"),
        ("tomorrow 9:00", "2026-12-01 08:00"),
        ("Tomorrow 9am", "2026-12-01 08:00"),
        ("tue 9:00", "2026-12-01 08:00"),
        ("mon 9:00", "2026-12-07 08:00"),
        ("friday 17:30", "2026-12-04 16:30"),
        ("2026-12-01 09:00", "2026-12-01 08:00"),
        ("2026-12-01T09:00", "2026-12-01 08:00"),
        ("2027-07-01 09:00", "2027-07-01 07:00"),
    ];
    for (time, expected) in cases {
        assert_eq!(
            book(&format!("book gpu01 1h at {time}")).start,
            Some(utc(expected)),
            "at {time}"
        );
    }
}

#[test]
fn book_time_range_today() {
    let request = book("book gpu01 14:00-16:00");
    assert_eq!(request.start, Some(utc("2026-11-30 13:00")));
    assert_eq!(request.end, BookingEnd::At(utc("2026-11-30 15:00")));
    assert_eq!(request.gpus, GpuSelection::Count(1));
}

#[test]
fn book_time_range_on_a_day() {
    let request = book("book gpu02:0,1 tomorrow 9:00-18:00");
    assert_eq!(request.host, "gpu02");
    assert_eq!(request.gpus, GpuSelection::Indexes(vec![0, 1]));
    assert_eq!(request.start, Some(utc("2026-12-01 08:00")));
    assert_eq!(request.end, BookingEnd::At(utc("2026-12-01 17:00")));
}

#[test]
fn book_time_range_forms() {
    let cases = [
        ("9:00 - 18:00", "2026-11-30 08:00", "2026-11-30 17:00"),
        ("9am-5pm", "2026-11-30 08:00", "2026-11-30 16:00"),
        (
            "2026-12-24 10:00-12:00",
            "2026-12-24 09:00",
            "2026-12-24 11:00",
        ),
        ("fri 9:00 -12:00", "2026-12-04 08:00", "2026-12-04 11:00"),
    ];
    for (range, start, end) in cases {
        let request = book(&format!("book gpu01 {range}"));
        assert_eq!(request.start, Some(utc(start)), "{range}");
        assert_eq!(request.end, BookingEnd::At(utc(end)), "{range}");
    }
}

#[test]
fn book_durations_with_spaces_and_decimals() {
    assert_eq!(
        book("book gpu01 1h 30m at 14:00").end,
        BookingEnd::After(Duration::minutes(90))
    );
    assert_eq!(
        book("book gpu01 1.5h").end,
        BookingEnd::After(Duration::minutes(90))
    );
    assert_eq!(book("book gpu01 1d").end, BookingEnd::After(hours(24)));
}

#[test]
fn book_options_in_any_order() {
    let request = book("book gpu01 2h --gpus 2 for \"sweep\" at 14:00");
    assert_eq!(request.gpus, GpuSelection::Count(2));
    assert_eq!(request.note.as_deref(), Some("sweep"));
    assert_eq!(request.start, Some(utc("2026-11-30 13:00")));
}

#[test]
fn book_notes_quoted_smart_quoted_or_unquoted() {
    assert_eq!(
        book("book gpu01 2h for “ablation sweep”").note.as_deref(),
        Some("ablation sweep")
    );
    assert_eq!(
        book("book gpu01 2h for Bob's  \"big\" run ")
            .note
            .as_deref(),
        Some("Bob's  \"big\" run"),
        "an unquoted note is the rest of the line, verbatim"
    );
    assert_eq!(
        book("book gpu01 2h for at 14:00").note.as_deref(),
        Some("at 14:00"),
        "an unquoted note swallows what follows"
    );
}

#[test]
fn book_any() {
    assert_eq!(
        parse("book any 2h"),
        Ok(Command::BookAny {
            length: hours(2),
            gpus: 1,
            start: None
        })
    );
    assert_eq!(
        parse("book ANY 2h --gpus 2 at tomorrow 9:00"),
        Ok(Command::BookAny {
            length: hours(2),
            gpus: 2,
            start: Some(utc("2026-12-01 08:00"))
        })
    );
    assert_eq!(
        parse("book any tomorrow 9:00-11:30"),
        Ok(Command::BookAny {
            length: Duration::minutes(150),
            gpus: 1,
            start: Some(utc("2026-12-01 08:00"))
        }),
        "a range gives the start and the length"
    );
}

#[test]
fn mine_and_its_alias() {
    assert_eq!(parse("mine"), Ok(Command::Mine));
    assert_eq!(parse("Bookings"), Ok(Command::Mine));
}

#[test]
fn cancel_with_and_without_hash() {
    assert_eq!(parse("cancel 42"), Ok(Command::Cancel { id: 42 }));
    assert_eq!(parse("cancel #42"), Ok(Command::Cancel { id: 42 }));
}

#[test]
fn release_everything_a_booking_or_a_host() {
    assert_eq!(parse("release"), Ok(Command::Release { target: None }));
    assert_eq!(
        parse("release 42"),
        Ok(Command::Release {
            target: Some(ReleaseTarget::Booking(42))
        })
    );
    assert_eq!(
        parse("release #7"),
        Ok(Command::Release {
            target: Some(ReleaseTarget::Booking(7))
        })
    );
    assert_eq!(
        parse("release GPU01"),
        Ok(Command::Release {
            target: Some(ReleaseTarget::Host("gpu01".into()))
        })
    );
}

#[test]
fn extend_by_a_duration() {
    assert_eq!(
        parse("extend 42 1h"),
        Ok(Command::Extend {
            id: 42,
            by: hours(1)
        })
    );
    assert_eq!(
        parse("extend #42 1h 30m"),
        Ok(Command::Extend {
            id: 42,
            by: Duration::minutes(90)
        })
    );
}

// ---------------------------------------------------------------- the table

#[test]
fn every_help_example_parses() {
    for spec in COMMANDS {
        assert!(!spec.examples.is_empty(), "{} has no example", spec.name);
        for example in spec.examples {
            let command = parse(example).unwrap_or_else(|e| panic!("{example:?}: {e}"));
            let name = example.split_whitespace().next().unwrap();
            assert!(
                spec.name == name || spec.aliases.contains(&name),
                "{example:?} is listed under {}",
                spec.name
            );
            drop(command);
        }
    }
}

#[test]
fn command_words_are_unique() {
    let mut words: Vec<&str> = COMMANDS
        .iter()
        .flat_map(|spec| std::iter::once(spec.name).chain(spec.aliases.iter().copied()))
        .collect();
    let count = words.len();
    words.sort_unstable();
    words.dedup();
    assert_eq!(words.len(), count);
}

// ---------------------------------------------------------------- errors

#[test]
fn empty_command() {
    assert_eq!(err(""), ParseError::EmptyCommand);
    assert_eq!(err(" \t "), ParseError::EmptyCommand);
    assert_eq!(ParseError::EmptyCommand.usage(), None);
}

#[test]
fn unknown_command_suggests_the_nearest() {
    let unknown = |word: &str, suggestion: Option<&str>| ParseError::UnknownCommand {
        word: word.into(),
        suggestion: suggestion.map(Into::into),
    };
    assert_eq!(err("boook gpu01 2h"), unknown("boook", Some("book")));
    assert_eq!(err("Stauts"), unknown("Stauts", Some("status")));
    assert_eq!(err("relase 42"), unknown("relase", Some("release")));
    assert_eq!(err("launch gpu01 img"), unknown("launch", None));
    assert_eq!(err("x"), unknown("x", None));
    assert_eq!(err("help boo"), unknown("boo", Some("book")));
}

#[test]
fn missing_argument() {
    let missing = |command, what| ParseError::MissingArgument { command, what };
    assert_eq!(err("cancel"), missing("cancel", "a booking id"));
    assert_eq!(
        err("extend"),
        missing("extend", "a booking id and a duration")
    );
    assert_eq!(err("extend 42"), missing("extend", "a duration"));
    assert_eq!(
        err("book"),
        missing("book", "a host (or `any`) and a duration")
    );
    assert_eq!(
        err("book gpu01"),
        missing("book", "a duration or a time range")
    );
    assert_eq!(
        err("book any"),
        missing("book", "a duration or a time range")
    );
    assert_eq!(
        err("book :0 2h"),
        missing("book", "a host name before the `:`")
    );
    assert_eq!(
        err("book gpu01 2h at"),
        missing("book", "a time after `at`")
    );
    assert_eq!(
        err("book gpu01 2h --gpus"),
        missing("book", "a number after `--gpus`")
    );
    assert_eq!(
        err("book gpu01 tomorrow"),
        missing("book", "a time range after the day, like `9:00-18:00`")
    );
    let no_note = missing("book", "a note after `for`, like `for \"training run\"`");
    assert_eq!(err("book gpu01 2h for"), no_note);
    assert_eq!(err("book gpu01 2h for “ ”"), no_note);
    assert_eq!(err("cancel").usage(), Some("cancel <id>"));
}

#[test]
fn unexpected_argument() {
    let unexpected = |command, arg: &str| ParseError::UnexpectedArgument {
        command,
        arg: arg.into(),
    };
    assert_eq!(err("mine please"), unexpected("mine", "please"));
    assert_eq!(err("help book now"), unexpected("help", "now"));
    assert_eq!(err("status gpu01 gpu02"), unexpected("status", "gpu02"));
    assert_eq!(err("cancel 42 43"), unexpected("cancel", "43"));
    assert_eq!(err("release 42 gpu01"), unexpected("release", "gpu01"));
    assert_eq!(err("extend 42 1h now"), unexpected("extend", "now"));
    assert_eq!(
        err("book gpu01 2h tomorrow"),
        unexpected("book", "tomorrow")
    );
    assert_eq!(
        err("book gpu01 2h \"note\""),
        unexpected("book", "\"note\"")
    );
    assert_eq!(
        err("book gpu01 2h at 9:00 at 10:00"),
        unexpected("book", "at")
    );
    assert_eq!(
        err("book gpu01 9:00-10:00 at 9:00"),
        unexpected("book", "at")
    );
    assert_eq!(
        err("book gpu01:0 2h --gpus 2"),
        unexpected("book", "--gpus")
    );
    assert_eq!(
        err("book gpu01 2h --gpus 1 --gpus 2"),
        unexpected("book", "--gpus")
    );
    assert_eq!(
        err("book gpu01 2h for \"a\" for \"b\""),
        unexpected("book", "for")
    );
    assert_eq!(err("book any 2h for x"), unexpected("book", "for"));
    assert_eq!(
        err("book any 2h --min-mem 40G"),
        unexpected("book", "--min-mem")
    );
    assert_eq!(err("mine \"oops"), unexpected("mine", "\"oops"));
    assert_eq!(
        err("mine please").usage(),
        Some("mine"),
        "usage of the command concerned"
    );
}

#[test]
fn bad_duration() {
    for (text, input) in [
        ("book gpu01 2x", "2x"),
        ("book gpu01 soon", "soon"),
        ("book any 2", "2"),
        ("extend 42 0m", "0m"),
        ("extend 42 -2h", "-2h"),
        ("extend 42 1h 1h", "1h 1h"),
        ("extend 42 30s", "30s"),
    ] {
        let command = text.split(' ').next().unwrap();
        assert_eq!(
            err(text),
            ParseError::BadDuration {
                command: if command == "book" { "book" } else { "extend" },
                input: input.into()
            },
            "{text}"
        );
    }
}

#[test]
fn duration_too_long() {
    assert_eq!(
        err("book gpu01 400d"),
        ParseError::DurationTooLong {
            command: "book",
            input: "400d".into()
        }
    );
    assert_eq!(
        err("extend 1 99999999999h"),
        ParseError::DurationTooLong {
            command: "extend",
            input: "99999999999h".into()
        }
    );
}

#[test]
fn bad_time() {
    let bad = |input: &str, reason: &str| ParseError::BadTime {
        command: "book",
        input: input.into(),
        reason: reason.into(),
    };
    assert_eq!(
        err("book gpu01 2h at 25:00"),
        bad("25:00", "hours go from 0 to 23")
    );
    assert_eq!(
        err("book gpu01 2h at 9:75"),
        bad("9:75", "minutes go from 00 to 59")
    );
    assert_eq!(
        err("book gpu01 2h at 13pm"),
        bad("13pm", "with am or pm, hours go from 1 to 12")
    );
    assert_eq!(
        err("book gpu01 2h at noonish"),
        bad("noonish", "write a time of day like 14:00 or 2pm")
    );
    assert_eq!(
        err("book gpu01 2h at tomorrow"),
        bad("tomorrow", "add a time of day, like `tomorrow 9:00`")
    );
    assert_eq!(
        err("book gpu01 2h at 2026-02-30 09:00"),
        bad("2026-02-30", "there is no such date")
    );
    assert_eq!(
        err("book gpu01 2026-02-30T09:00"),
        bad("2026-02-30T09:00", "there is no such date")
    );
    assert_eq!(
        err("book gpu01 25:00-26:00"),
        bad("25:00", "hours go from 0 to 23")
    );
    let start_alone = ParseError::MissingArgument {
        command: "book",
        what: "an end time or a duration: a range like `9:00-18:00`, \
               or a duration and a start like `2h at 9:00`",
    };
    assert_eq!(err("book gpu01 2pm"), start_alone);
    assert_eq!(err("book gpu01 tomorrow 9:00"), start_alone);
    assert_eq!(err("book gpu01 2026-12-01T09:00"), start_alone);
    assert_eq!(
        err("book gpu01 25:00"),
        bad("25:00", "hours go from 0 to 23")
    );
}

#[test]
fn bad_gpus() {
    for (text, input) in [
        ("book gpu01:x 2h", "gpu01:x"),
        ("book gpu01: 2h", "gpu01:"),
        ("book gpu01:0,,1 2h", "gpu01:0,,1"),
        ("book gpu01:3-1 2h", "gpu01:3-1"),
        ("book gpu01:256 2h", "gpu01:256"),
        ("book gpu01:-1 2h", "gpu01:-1"),
        ("book gpu01 2h --gpus 0", "--gpus 0"),
        ("book gpu01 2h --gpus two", "--gpus two"),
        ("book any:2 2h", "any:2"),
        ("book any 2h --gpus all", "--gpus all"),
    ] {
        assert_eq!(
            err(text),
            ParseError::BadGpus {
                command: "book",
                input: input.into()
            },
            "{text}"
        );
    }
}

#[test]
fn bad_booking_id() {
    for (text, command, input) in [
        ("cancel abc", "cancel", "abc"),
        ("cancel #", "cancel", "#"),
        ("cancel 0", "cancel", "0"),
        ("cancel -3", "cancel", "-3"),
        (
            "cancel 99999999999999999999",
            "cancel",
            "99999999999999999999",
        ),
        ("release #x", "release", "#x"),
        ("extend gpu01 1h", "extend", "gpu01"),
    ] {
        assert_eq!(
            err(text),
            ParseError::BadBookingId {
                command,
                input: input.into()
            },
            "{text}"
        );
    }
}

#[test]
fn end_before_start() {
    for range in ["18:00-9:00", "9:00-9:00", "11pm-1am"] {
        assert_eq!(
            err(&format!("book gpu01 {range}")),
            ParseError::EndBeforeStart {
                command: "book",
                range: range.into()
            }
        );
    }
}

#[test]
fn unterminated_quote() {
    assert_eq!(
        err("book gpu01 2h for \"training"),
        ParseError::UnterminatedQuote { command: "book" }
    );
    assert_eq!(
        err("book gpu01 2h for “training"),
        ParseError::UnterminatedQuote { command: "book" }
    );
}

// ---------------------------------------------------------------- daylight saving time

fn paris_at(now: &str) -> ParseContext {
    ParseContext {
        now: utc(now),
        ..ctx()
    }
}

#[test]
fn spring_gap_local_time_does_not_exist() {
    // Europe/Paris skips 02:00-03:00 on Sunday 2026-03-29.
    let ctx = paris_at("2026-03-28 12:00");
    let gap = ParseError::NonexistentLocalTime {
        command: "book",
        time: "2026-03-29 02:30".into(),
        tz: "Europe/Paris".into(),
    };
    assert_eq!(
        maison_command::parse("book gpu01 1h at tomorrow 2:30", &ctx),
        Err(gap.clone())
    );
    assert_eq!(
        maison_command::parse("book gpu01 2026-03-29 02:30-05:00", &ctx),
        Err(gap)
    );
    let across = maison_command::parse("book gpu01 tomorrow 1:00-4:00", &ctx).unwrap();
    let Command::Book(request) = across else {
        panic!("{across:?}")
    };
    assert_eq!(request.start, Some(utc("2026-03-29 00:00")), "01:00 CET");
    assert_eq!(
        request.end,
        BookingEnd::At(utc("2026-03-29 02:00")),
        "04:00 CEST: two real hours"
    );
}

#[test]
fn autumn_fold_takes_the_earlier_instant() {
    // Europe/Paris repeats 02:00-03:00 on Sunday 2026-10-25.
    let ctx = paris_at("2026-10-24 12:00");
    let Ok(Command::Book(request)) = maison_command::parse("book gpu01 1h at tomorrow 2:30", &ctx)
    else {
        panic!("should parse")
    };
    assert_eq!(request.start, Some(utc("2026-10-25 00:30")), "02:30 CEST");
    let Ok(Command::Book(request)) = maison_command::parse("book gpu01 tomorrow 1:00-4:00", &ctx)
    else {
        panic!("should parse")
    };
    assert_eq!(request.start, Some(utc("2026-10-24 23:00")), "01:00 CEST");
    assert_eq!(
        request.end,
        BookingEnd::At(utc("2026-10-25 03:00")),
        "04:00 CET: four real hours"
    );
}
