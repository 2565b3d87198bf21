//! One test per command form and per error kind, asserting the exact values parsed.

mod support;

use chrono::Duration;
use maison_command::{
    BookRequest, BookingEnd, COMMANDS, Command, DataCommand, DatasetRef, GpuSelection,
    ImageCommand, JobsCommand, LaunchGpus, LaunchRequest, ParseContext, ParseError, ProjectCommand,
    ReleaseTarget, ReportPeriod, WaitOptions, WhatIfRequest,
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
            data: None,
            wait: None,
            min_mem: None,
            project: None,
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

/// Japanese users type durations and days in Japanese; the command words stay English.
#[test]
fn book_accepts_japanese_durations_and_days() {
    let cases = [
        ("book gpu01 2時間 明日 9:00", 2 * 60, "2026-12-01 08:00"),
        ("book gpu01 30分 今日 14:00", 30, "2026-11-30 13:00"),
        ("book gpu01 2時間30分 at 明日 9:00", 150, "2026-12-01 08:00"),
        ("book gpu01 1時間 30分 金曜 17:30", 90, "2026-12-04 16:30"),
        ("book gpu01 1日 明日", 24 * 60, "2026-12-01 08:00"),
    ];
    for (text, minutes, start) in cases {
        let request = book(text);
        assert_eq!(
            request.end,
            BookingEnd::After(Duration::minutes(minutes)),
            "{text}"
        );
        assert_eq!(request.start, Some(utc(start)), "{text}");
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

/// Found trying it: `book gpu01 9h tomorrow` was refused ("didn't expect `tomorrow`").
#[test]
fn book_start_without_at() {
    let start = |text: &str| book(text).start;
    // A day alone starts at 9:00 local (08:00 UTC in Paris in winter).
    assert_eq!(
        start("book gpu01 9h tomorrow"),
        Some(utc("2026-12-01 08:00"))
    );
    assert_eq!(
        start("book gpu01 2h at tomorrow"),
        Some(utc("2026-12-01 08:00"))
    );
    assert_eq!(
        start("book gpu01 9h tomorrow 14:00"),
        Some(utc("2026-12-01 13:00"))
    );
    assert_eq!(start("book gpu01 2h 14:00"), Some(utc("2026-11-30 13:00")));
    assert_eq!(
        start("book gpu01 2h fri 2pm"),
        Some(utc("2026-12-04 13:00"))
    );
    assert_eq!(
        start("book gpu01 2h 2026-12-03"),
        Some(utc("2026-12-03 08:00"))
    );
    assert_eq!(
        start("book gpu01 2h 2026-12-03T10:30 for \"sweep\""),
        Some(utc("2026-12-03 09:30"))
    );
    assert_eq!(
        book("book gpu01 9h tomorrow").end,
        BookingEnd::After(hours(9))
    );
    assert_eq!(
        parse("book any 3h --gpus 2 tomorrow"),
        Ok(Command::BookAny {
            length: hours(3),
            gpus: 2,
            start: Some(utc("2026-12-01 08:00")),
            data: None,
            wait: None,
            min_mem: None,
            project: None,
        })
    );
    // One start only; a bad date is named as such.
    assert!(matches!(
        err("book gpu01 2h tomorrow at 10:00"),
        ParseError::UnexpectedArgument { .. }
    ));
    assert!(matches!(
        err("book gpu01 2h 2026-02-30"),
        ParseError::BadTime { .. }
    ));
}

#[test]
fn book_any() {
    assert_eq!(
        parse("book any 2h"),
        Ok(Command::BookAny {
            length: hours(2),
            gpus: 1,
            start: None,
            data: None,
            wait: None,
            min_mem: None,
            project: None,
        })
    );
    assert_eq!(
        parse("book ANY 2h --gpus 2 at tomorrow 9:00"),
        Ok(Command::BookAny {
            length: hours(2),
            gpus: 2,
            start: Some(utc("2026-12-01 08:00")),
            data: None,
            wait: None,
            min_mem: None,
            project: None,
        })
    );
    assert_eq!(
        parse("book any tomorrow 9:00-11:30"),
        Ok(Command::BookAny {
            length: Duration::minutes(150),
            gpus: 1,
            start: Some(utc("2026-12-01 08:00")),
            data: None,
            wait: None,
            min_mem: None,
            project: None,
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

// ---------------------------------------------------------------- fleet commands

fn launch(text: &str) -> LaunchRequest {
    match parse(text) {
        Ok(Command::Launch(request)) => request,
        other => panic!("{text:?} gave {other:?}"),
    }
}

#[test]
fn launch_defaults_to_the_whole_booking_and_the_images_command() {
    assert_eq!(
        launch("launch GPU01 PyTorch"),
        LaunchRequest {
            host: "gpu01".into(),
            image: "PyTorch".into(),
            gpus: None,
            name: None,
            command: vec![],
            datasets: vec![],
        },
        "the host is lower-cased, the image kept as typed"
    );
}

#[test]
fn launch_with_every_option() {
    assert_eq!(
        launch("launch gpu01 pytorch --gpus 1,0 --name Llama-FT -- python train.py --epochs 3"),
        LaunchRequest {
            host: "gpu01".into(),
            image: "pytorch".into(),
            gpus: Some(LaunchGpus::Indexes(vec![0, 1])),
            name: Some("Llama-FT".into()),
            command: vec![
                "python".into(),
                "train.py".into(),
                "--epochs".into(),
                "3".into()
            ],
            datasets: vec![],
        }
    );
}

#[test]
fn launch_image_references_are_kept_as_typed() {
    for image in [
        "registry.lan/team/Trainer:1.2",
        "registry.lan:5000/img",
        "busybox@sha256:0123456789abcdef",
        "ghcr.io/org/img:v1.0-rc_2",
    ] {
        assert_eq!(launch(&format!("launch gpu01 {image}")).image, image);
    }
}

#[test]
fn launch_gpu_forms() {
    let gpus = |text: &str| launch(text).gpus;
    let indexes = |list: &[u32]| Some(LaunchGpus::Indexes(list.to_vec()));
    assert_eq!(gpus("launch gpu01 img --gpus 2"), indexes(&[2]));
    assert_eq!(gpus("launch gpu01 img --gpus 3,1,1"), indexes(&[1, 3]));
    assert_eq!(
        gpus("launch gpu01 img --gpus 5,0-2"),
        indexes(&[0, 1, 2, 5])
    );
    assert_eq!(gpus("launch gpu01 img --gpus=0-1"), indexes(&[0, 1]));
    assert_eq!(gpus("launch gpu01 img --GPUS NONE"), Some(LaunchGpus::None));
    assert_eq!(
        gpus("launch gpu01 img --gpus all"),
        None,
        "same as no --gpus"
    );
    assert_eq!(gpus("launch gpu01:0,1 img"), indexes(&[0, 1]));
    assert_eq!(gpus("launch gpu01:ALL img"), None);
    assert_eq!(gpus("launch gpu01:none img"), Some(LaunchGpus::None));
    assert_eq!(launch("launch gpu01:0,1 img").host, "gpu01");
}

#[test]
fn launch_options_in_any_order_before_the_command() {
    let expected = launch("launch gpu01 img --gpus 0 --name run1 -- sleep 60");
    for text in [
        "launch --name run1 gpu01 --gpus 0 img -- sleep 60",
        "launch gpu01 img --name=run1 --gpus=0 -- sleep 60",
        "LAUNCH gpu01 img --NAME run1 --gpus 0 --   sleep   60  ",
    ] {
        assert_eq!(launch(text), expected, "{text}");
    }
}

#[test]
fn launch_command_words_respect_quotes() {
    let command = |text: &str| launch(text).command;
    assert_eq!(
        command("launch gpu01 img -- bash -c \"echo 'hi there'; sleep 1\""),
        ["bash", "-c", "echo 'hi there'; sleep 1"]
    );
    assert_eq!(
        command("launch gpu01 img -- python -c ‘print(“a b”)’"),
        ["python", "-c", "print(“a b”)"]
    );
    assert_eq!(
        command("launch gpu01 img -- echo “smart quotes” --flag=\"x y\""),
        ["echo", "smart quotes", "--flag=x y"]
    );
    assert_eq!(
        command("launch gpu01 img -- env -- --gpus 0 --name x"),
        ["env", "--", "--gpus", "0", "--name", "x"],
        "everything after the first `--` belongs to the command"
    );
    assert_eq!(command("launch gpu01 img --"), Vec::<String>::new());
    assert_eq!(command("launch gpu01 img -- echo \"\""), ["echo", ""]);
}

#[test]
fn ps_for_me_or_everyone_on_a_host_or_all() {
    let ps = |host: Option<&str>, all| Command::Ps {
        host: host.map(Into::into),
        all,
    };
    assert_eq!(parse("ps"), Ok(ps(None, false)));
    assert_eq!(parse("ps GPU01"), Ok(ps(Some("gpu01"), false)));
    assert_eq!(parse("ps --all"), Ok(ps(None, true)));
    assert_eq!(parse("ps -a gpu01"), Ok(ps(Some("gpu01"), true)));
    assert_eq!(parse("PS gpu01 --ALL"), Ok(ps(Some("gpu01"), true)));
}

#[test]
fn stop_a_container_by_name_or_id() {
    assert_eq!(
        parse("stop Llama-FT"),
        Ok(Command::Stop {
            container: "Llama-FT".into()
        }),
        "kept as typed"
    );
    assert_eq!(
        parse("STOP 3f2a"),
        Ok(Command::Stop {
            container: "3f2a".into()
        })
    );
}

#[test]
fn rm_a_container_by_name_or_id() {
    assert_eq!(
        parse("rm 3f2a9c0b1d2e"),
        Ok(Command::Rm {
            container: "3f2a9c0b1d2e".into()
        })
    );
    assert_eq!(
        parse("rm \"llama-ft\""),
        Ok(Command::Rm {
            container: "llama-ft".into()
        })
    );
}

#[test]
fn who_owns_a_container_or_an_image() {
    for target in [
        "llama-ft",
        "3f2a",
        "registry.lan/team/trainer:1.2",
        "img@sha256:ab",
    ] {
        assert_eq!(
            parse(&format!("who {target}")),
            Ok(Command::Who {
                target: target.into()
            })
        );
    }
}

#[test]
fn claim_a_container_or_an_image() {
    assert_eq!(
        parse("claim pytorch:2.3"),
        Ok(Command::Claim {
            target: "pytorch:2.3".into()
        })
    );
    assert_eq!(
        parse("claim 3F2A9C"),
        Ok(Command::Claim {
            target: "3F2A9C".into()
        })
    );
}

#[test]
fn images_everywhere_or_on_a_host() {
    assert_eq!(parse("images"), Ok(Command::Images { host: None }));
    assert_eq!(
        parse("images GPU01"),
        Ok(Command::Images {
            host: Some("gpu01".into())
        })
    );
}

#[test]
fn hosts_is_an_admin_command() {
    assert_eq!(parse("hosts"), Ok(Command::Hosts));
    assert_eq!(parse("HOSTS"), Ok(Command::Hosts));
    assert!(maison_command::lookup("hosts").unwrap().admin);
}

#[test]
fn host_drain_and_undrain() {
    assert_eq!(
        parse("host drain GPU03"),
        Ok(Command::HostDrain {
            host: "gpu03".into()
        })
    );
    assert_eq!(
        parse("Host UNDRAIN gpu03"),
        Ok(Command::HostUndrain {
            host: "gpu03".into()
        })
    );
    assert!(maison_command::lookup("host").unwrap().admin);
}

#[test]
fn jobs_list_and_run() {
    let list = Ok(Command::Jobs(JobsCommand::List));
    assert_eq!(parse("jobs"), list);
    assert_eq!(parse("JOBS List"), list);
    assert_eq!(
        parse("jobs run Daily_Report"),
        Ok(Command::Jobs(JobsCommand::Run {
            job: "daily_report".into()
        }))
    );
    assert!(maison_command::lookup("jobs").unwrap().admin);
}

#[test]
fn jobs_errors() {
    assert_eq!(
        err("jobs run"),
        ParseError::MissingArgument {
            command: "jobs",
            what: "a job to run, like `daily_report`",
        }
    );
    let unexpected = |arg: &str| ParseError::UnexpectedArgument {
        command: "jobs",
        arg: arg.into(),
    };
    assert_eq!(err("jobs list all"), unexpected("all"));
    assert_eq!(err("jobs run a b"), unexpected("b"));
    assert_eq!(err("jobs run --now"), unexpected("--now"));
    assert_eq!(
        err("jobs start daily_report"),
        ParseError::UnknownSubcommand {
            command: "jobs",
            word: "start".into(),
            expected: "`list` or `run`",
            suggestion: None,
        }
    );
    assert_eq!(err("jobs run").usage(), Some("jobs [list|run <job>]"));
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
    assert_eq!(err("deploy gpu01 img"), unknown("deploy", None));
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
        err("book gpu01 2h tomorrow please"),
        unexpected("book", "please")
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
        err("book any 2h --memory 40G"),
        unexpected("book", "--memory")
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
    assert_eq!(
        err("extend 42 0m"),
        ParseError::ZeroDuration {
            command: "extend",
            input: "0m".into()
        }
    );
    assert_eq!(
        err("extend 42 0m").to_string(),
        "`0m` is no time at all: a duration is at least 1m, like 30m or 2h."
    );
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

#[test]
fn missing_argument_to_fleet_commands() {
    let missing = |command, what| ParseError::MissingArgument { command, what };
    assert_eq!(err("launch"), missing("launch", "a host and an image"));
    let no_image = missing(
        "launch",
        "an image, like `pytorch` or `registry.lan/team/trainer:1.2`",
    );
    assert_eq!(err("launch gpu01"), no_image);
    assert_eq!(err("launch gpu01 --gpus 0"), no_image);
    assert_eq!(err("launch gpu01 -- python"), no_image);
    assert_eq!(
        err("launch :0 img"),
        missing("launch", "a host name before the `:`")
    );
    let no_gpus = missing("launch", "a GPU list after `--gpus`, like `0,1`");
    assert_eq!(err("launch gpu01 img --gpus"), no_gpus);
    assert_eq!(err("launch gpu01 img --gpus="), no_gpus);
    assert_eq!(err("launch gpu01 img --gpus -- sh"), no_gpus);
    assert_eq!(
        err("launch gpu01 img --name --gpus 0"),
        missing("launch", "a container name after `--name`")
    );
    assert_eq!(err("stop"), missing("stop", "a container name or id"));
    assert_eq!(err("rm"), missing("rm", "a container name or id"));
    assert_eq!(err("who"), missing("who", "a container or an image"));
    assert_eq!(err("claim"), missing("claim", "a container or an image"));
    assert_eq!(
        err("host"),
        missing("host", "`drain` or `undrain` and a host")
    );
    assert_eq!(err("host drain"), missing("host", "a host to drain"));
    assert_eq!(err("host undrain"), missing("host", "a host to undrain"));
}

#[test]
fn unexpected_argument_to_fleet_commands() {
    let unexpected = |command, arg: &str| ParseError::UnexpectedArgument {
        command,
        arg: arg.into(),
    };
    assert_eq!(
        err("launch gpu01 img --volume /x"),
        unexpected("launch", "--volume")
    );
    assert_eq!(
        err("launch gpu01 img --data a --data b"),
        unexpected("launch", "--data")
    );
    assert_eq!(
        err("launch gpu01 img --gpus 0 --gpus 1"),
        unexpected("launch", "--gpus")
    );
    assert_eq!(
        err("launch gpu01:0 img --gpus 1"),
        unexpected("launch", "--gpus")
    );
    assert_eq!(
        err("launch --gpus 1 gpu01:0 img"),
        unexpected("launch", "gpu01:0")
    );
    assert_eq!(
        err("launch gpu01 img --name a --name b"),
        unexpected("launch", "--name")
    );
    assert_eq!(err("ps gpu01 gpu02"), unexpected("ps", "gpu02"));
    assert_eq!(err("ps --all --all"), unexpected("ps", "--all"));
    assert_eq!(err("ps --mine"), unexpected("ps", "--mine"));
    assert_eq!(err("stop a b"), unexpected("stop", "b"));
    assert_eq!(err("stop --force a"), unexpected("stop", "--force"));
    assert_eq!(err("rm a --force"), unexpected("rm", "--force"));
    assert_eq!(err("who a b"), unexpected("who", "b"));
    assert_eq!(err("claim a b"), unexpected("claim", "b"));
    assert_eq!(err("images gpu01 gpu02"), unexpected("images", "gpu02"));
    assert_eq!(err("hosts gpu01"), unexpected("hosts", "gpu01"));
    assert_eq!(err("host drain gpu01 gpu02"), unexpected("host", "gpu02"));
    assert_eq!(err("hosts gpu01").usage(), Some("hosts"));
}

#[test]
fn bad_gpus_for_launch() {
    for (text, input) in [
        ("launch gpu01 img --gpus x", "--gpus x"),
        ("launch gpu01 img --gpus=2-1", "--gpus 2-1"),
        ("launch gpu01 img --gpus 256", "--gpus 256"),
        ("launch gpu01 img --gpus 0,,1", "--gpus 0,,1"),
        ("launch gpu01:x img", "gpu01:x"),
        ("launch gpu01: img", "gpu01:"),
    ] {
        assert_eq!(
            err(text),
            ParseError::BadGpus {
                command: "launch",
                input: input.into()
            },
            "{text}"
        );
    }
    assert!(
        err("launch gpu01 img --gpus x")
            .to_string()
            .contains("`--gpus none` for no GPU"),
        "launch explains its own GPU forms"
    );
}

#[test]
fn bad_container_name() {
    let long = "x".repeat(64);
    for (text, input, reason) in [
        ("launch gpu01 img --name _x", "_x", "starts with `_`"),
        ("launch gpu01 img --name=-x", "-x", "starts with `-`"),
        ("launch gpu01 img --name a/b", "a/b", "contains `/`"),
        ("launch gpu01 img --name \"a b\"", "a b", "contains a space"),
        ("launch gpu01 img --name \"\"", "", "is empty"),
        (
            &format!("launch gpu01 img --name {long}"),
            &long,
            "is 64 characters long, over the limit of 63",
        ),
    ] {
        assert_eq!(
            err(text),
            ParseError::BadContainerName {
                command: "launch",
                input: input.into(),
                reason: reason.into()
            },
            "{text}"
        );
    }
}

#[test]
fn bad_image() {
    for (text, input, reason) in [
        ("launch gpu01 img!", "img!", "contains `!`"),
        ("launch gpu01 pytorch:", "pytorch:", "ends with `:`"),
        ("launch gpu01 /img", "/img", "starts with `/`"),
        (
            "launch gpu01 \"my image\"",
            "\"my image\"",
            "contains a space",
        ),
        ("launch gpu01 ”” --gpus 0", "””", "is empty"),
    ] {
        assert_eq!(
            err(text),
            ParseError::BadImage {
                command: "launch",
                input: input.into(),
                reason: reason.into()
            },
            "{text}"
        );
    }
}

#[test]
fn bad_target() {
    for (text, input, reason) in [
        ("stop llama;ft", "llama;ft", "contains `;`"),
        ("rm \"\"", "\"\"", "is empty"),
        ("rm “-x”", "“-x”", "starts with `-`"),
        ("who img@", "img@", "ends with `@`"),
        ("claim ./img", "./img", "starts with `.`"),
        ("claim *", "*", "contains `*`"),
    ] {
        let command = text.split(' ').next().unwrap();
        assert_eq!(
            err(text),
            ParseError::BadTarget {
                command,
                input: input.into(),
                reason: reason.into()
            },
            "{text}"
        );
    }
    assert!(
        err("stop a;b")
            .to_string()
            .starts_with("`a;b` is not a container:")
    );
    assert!(
        err("who a;b")
            .to_string()
            .starts_with("`a;b` is not a container or an image:")
    );
}

#[test]
fn missing_command_separator() {
    assert_eq!(
        err("launch gpu01 pytorch --gpus 0 python  train.py \"a b\""),
        ParseError::MissingCommandSeparator {
            command: "launch",
            word: "python".into(),
            corrected: "launch gpu01 pytorch --gpus 0 -- python  train.py \"a b\"".into(),
        }
    );
}

#[test]
fn unknown_subcommand() {
    for (text, word, suggestion) in [
        ("host dran gpu01", "dran", Some("drain")),
        ("host gpu01 drain", "gpu01", None),
    ] {
        assert_eq!(
            err(text),
            ParseError::UnknownSubcommand {
                command: "host",
                word: word.into(),
                expected: "`drain` or `undrain`",
                suggestion,
            }
        );
    }
    assert_eq!(err("host x").usage(), Some("host drain|undrain <host>"));
}

#[test]
fn unterminated_quote_in_fleet_commands() {
    for (text, command) in [
        ("launch gpu01 img -- bash -c \"echo hi", "launch"),
        ("launch gpu01 img -- echo ‘hi", "launch"),
        ("launch gpu01 \"img", "launch"),
        ("stop \"abc", "stop"),
    ] {
        assert_eq!(
            err(text),
            ParseError::UnterminatedQuote { command },
            "{text}"
        );
    }
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

#[test]
fn report_day_and_week() {
    let day = Ok(Command::Report {
        period: ReportPeriod::Day,
    });
    assert_eq!(parse("report"), day);
    assert_eq!(parse("Report DAY"), day);
    assert_eq!(parse("report daily"), day);
    assert_eq!(
        parse("report week"),
        Ok(Command::Report {
            period: ReportPeriod::Week
        })
    );
    assert!(!maison_command::lookup("report").unwrap().admin);
    assert_eq!(
        parse("report month"),
        Ok(Command::Report {
            period: ReportPeriod::Month
        })
    );
    assert_eq!(
        err("report year"),
        ParseError::UnknownSubcommand {
            command: "report",
            word: "year".into(),
            expected: "`day`, `week`, `month` or `what-if`",
            suggestion: None,
        }
    );
    assert_eq!(
        err("report week now"),
        ParseError::UnexpectedArgument {
            command: "report",
            arg: "now".into()
        }
    );
}

#[test]
fn not_yet_available_names_the_feature_without_usage() {
    // The parser's unit tests check that planned words give this error; here, what it says.
    let e = ParseError::NotYetAvailable {
        word: "frobnicate".into(),
        what: "Frobnication",
    };
    assert_eq!(
        e.to_string(),
        "Frobnication is not yet available. `/maison help` lists what works today."
    );
    assert_eq!(e.usage(), None);
    assert_eq!(e.right_form(), None);
}

// ---------------------------------------------------------------- datasets

fn data(text: &str) -> DataCommand {
    match parse(text) {
        Ok(Command::Data(command)) => command,
        other => panic!("{text:?} gave {other:?}"),
    }
}

fn dataset(name: &str, version: Option<&str>) -> DatasetRef {
    DatasetRef {
        name: name.into(),
        version: version.map(Into::into),
    }
}

#[test]
fn data_add_with_and_without_a_note() {
    assert_eq!(
        data("data add ImageNet@V2 GPU03:/srv/datasets/ImageNet/"),
        DataCommand::Add {
            name: "imagenet".into(),
            version: "v2".into(),
            host: "gpu03".into(),
            path: "/srv/datasets/ImageNet".into(),
            note: None,
        },
        "names, versions and hosts are lower-cased; the path keeps its case, not its last `/`"
    );
    assert_eq!(
        data("data add coco@2017 \"gpu01:/work/alice/my coco\" for \"COCO, train only\""),
        DataCommand::Add {
            name: "coco".into(),
            version: "2017".into(),
            host: "gpu01".into(),
            path: "/work/alice/my coco".into(),
            note: Some("COCO, train only".into()),
        },
    );
    assert!(matches!(
        data("data add a@1 h:/x for just a test"),
        DataCommand::Add { note: Some(note), .. } if note == "just a test"
    ));
}

#[test]
fn data_listing_and_locating() {
    assert_eq!(data("data"), DataCommand::Ls);
    assert_eq!(data("data ls"), DataCommand::Ls);
    assert_eq!(data("DATA List"), DataCommand::Ls);
    assert_eq!(
        data("data where imagenet"),
        DataCommand::Where {
            dataset: dataset("imagenet", None)
        }
    );
    assert_eq!(
        data("data where imagenet@v1"),
        DataCommand::Where {
            dataset: dataset("imagenet", Some("v1"))
        }
    );
}

#[test]
fn data_verbs_on_a_host() {
    let on = |verb: &str| data(&format!("data {verb} ImageNet@v2 GPU05"));
    let (d, host) = (dataset("imagenet", Some("v2")), "gpu05".to_owned());
    assert_eq!(
        on("get"),
        DataCommand::Get {
            dataset: d.clone(),
            host: host.clone()
        }
    );
    assert_eq!(
        on("rm"),
        DataCommand::Rm {
            dataset: d.clone(),
            host: host.clone()
        }
    );
    assert_eq!(
        on("pin"),
        DataCommand::Pin {
            dataset: d.clone(),
            host: host.clone()
        }
    );
    assert_eq!(
        on("unpin"),
        DataCommand::Unpin {
            dataset: d.clone(),
            host: host.clone()
        }
    );
    assert_eq!(on("verify"), DataCommand::Verify { dataset: d, host });
    assert_eq!(
        data("data get imagenet gpu05"),
        DataCommand::Get {
            dataset: dataset("imagenet", None),
            host: "gpu05".into()
        },
        "without a version: the latest"
    );
}

#[test]
fn data_errors() {
    assert_eq!(
        err("data add imagenet gpu03:/srv/imagenet"),
        ParseError::MissingVersion {
            command: "data",
            input: "imagenet".into()
        }
    );
    let bad_path = |input: &str, reason: &str| ParseError::BadDatasetPath {
        command: "data",
        input: input.into(),
        reason: reason.into(),
    };
    assert_eq!(
        err("data add a@1 gpu03:srv/a"),
        bad_path(
            "gpu03:srv/a",
            "the path is not absolute (it must start with `/`)"
        )
    );
    assert_eq!(
        err("data add a@1 /srv/a"),
        bad_path("/srv/a", "the host is missing")
    );
    assert_eq!(
        err("data add a@1 :/srv/a"),
        bad_path(":/srv/a", "the host is missing")
    );
    assert_eq!(
        err("data add a@1 gpu03"),
        bad_path("gpu03", "it is not `<host>:<path>`")
    );
    assert_eq!(
        err("data add a@1 gpu03:/srv/../etc"),
        bad_path("gpu03:/srv/../etc", "the path contains `.` or `..`")
    );
    let bad = |input: &str, reason: &str| ParseError::BadDataset {
        command: "data",
        input: input.into(),
        reason: reason.into(),
    };
    assert_eq!(
        err("data where image/net"),
        bad("image/net", "contains `/`")
    );
    assert_eq!(
        err("data where imagenet@"),
        bad("imagenet@", "ends with `@`")
    );
    assert_eq!(
        err("data where @v2"),
        bad("@v2", "has no name before the `@`")
    );
    assert_eq!(err("data where .x"), bad(".x", "starts with `.`"));
    assert_eq!(
        err("data get imagenet@v/2 gpu01"),
        bad("imagenet@v/2", "has a version that contains `/`")
    );
    let missing = |what| ParseError::MissingArgument {
        command: "data",
        what,
    };
    assert_eq!(
        err("data add"),
        missing("a dataset and where it is, like `imagenet@v2 gpu03:/srv/datasets/imagenet`")
    );
    assert_eq!(
        err("data add a@1"),
        missing("the host and the path, like `gpu03:/srv/datasets/imagenet`")
    );
    assert_eq!(
        err("data where"),
        missing("a dataset, like `imagenet` or `imagenet@v2`")
    );
    assert_eq!(
        err("data get"),
        missing("a dataset and a host, like `imagenet gpu05`")
    );
    assert_eq!(
        err("data get imagenet"),
        missing("a host to copy the dataset to, like `gpu05`")
    );
    assert_eq!(
        err("data rm imagenet"),
        missing("the host whose copy you mean, like `gpu05`")
    );
    let unexpected = |arg: &str| ParseError::UnexpectedArgument {
        command: "data",
        arg: arg.into(),
    };
    assert_eq!(err("data ls imagenet"), unexpected("imagenet"));
    assert_eq!(err("data get imagenet gpu01 gpu02"), unexpected("gpu02"));
    assert_eq!(err("data rm imagenet --force"), unexpected("--force"));
    assert_eq!(err("data add a@1 h:/x because"), unexpected("because"));
    assert_eq!(
        err("data fetch imagenet gpu01"),
        ParseError::UnknownSubcommand {
            command: "data",
            word: "fetch".into(),
            expected: "`add`, `ls`, `where`, `get`, `rm`, `pin`, `unpin` or `verify`",
            suggestion: None,
        }
    );
    assert!(matches!(
        err("data whree imagenet"),
        ParseError::UnknownSubcommand {
            suggestion: Some("where"),
            ..
        }
    ));
    assert!(matches!(
        err("data verfy imagenet gpu01"),
        ParseError::UnknownSubcommand {
            suggestion: Some("verify"),
            ..
        }
    ));
}

#[test]
fn launch_mounts_datasets() {
    assert_eq!(
        launch("launch gpu01 pytorch --data ImageNet,coco@2017 -- python train.py").datasets,
        [dataset("imagenet", None), dataset("coco", Some("2017"))]
    );
    assert_eq!(
        launch("launch gpu01 pytorch --data=imagenet@v2").datasets,
        [dataset("imagenet", Some("v2"))]
    );
    assert_eq!(
        err("launch gpu01 pytorch --data a,b,a@v1"),
        ParseError::DuplicateDataset {
            command: "launch",
            name: "a".into()
        }
    );
    assert_eq!(
        err("launch gpu01 pytorch --data a,,b"),
        ParseError::BadDataset {
            command: "launch",
            input: "".into(),
            reason: "is empty".into()
        }
    );
    assert_eq!(
        err("launch gpu01 pytorch --data"),
        ParseError::MissingArgument {
            command: "launch",
            what: "a dataset after `--data`, like `imagenet` or `imagenet,coco@2017`"
        }
    );
}

#[test]
fn book_stages_a_dataset() {
    assert_eq!(
        book("book gpu01 2h --data imagenet@v2 for \"fine-tune\"").data,
        Some(dataset("imagenet", Some("v2")))
    );
    assert_eq!(
        book("book gpu01 9:00-18:00 --data=coco").data,
        Some(dataset("coco", None))
    );
    assert_eq!(
        parse("book any 2h --data imagenet"),
        Ok(Command::BookAny {
            length: hours(2),
            gpus: 1,
            start: None,
            data: Some(dataset("imagenet", None)),
            wait: None,
            min_mem: None,
            project: None,
        })
    );
    assert_eq!(
        err("book gpu01 2h --data a --data b"),
        ParseError::UnexpectedArgument {
            command: "book",
            arg: "--data".into()
        }
    );
    assert!(matches!(
        err("book gpu01 2h --data a,b"),
        ParseError::BadDataset { reason, .. } if reason == "contains `,`"
    ));
}

// ---------------------------------------------------------------- the wait-list

fn wait(within: Option<Duration>, auto: bool) -> Option<WaitOptions> {
    Some(WaitOptions { within, auto })
}

#[test]
fn book_wait_on_a_host() {
    assert_eq!(
        book("book gpu03 4h --wait"),
        BookRequest {
            host: "gpu03".into(),
            gpus: GpuSelection::Count(1),
            start: None,
            end: BookingEnd::After(hours(4)),
            note: None,
            data: None,
            wait: wait(None, false),
            min_mem: None,
            project: None,
        }
    );
    assert_eq!(book("book gpu03 4h --wait --auto").wait, wait(None, true));
    assert_eq!(
        book("book GPU03:0,1 1h 30m --AUTO --Within=8h --WAIT for \"sweep\""),
        BookRequest {
            host: "gpu03".into(),
            gpus: GpuSelection::Indexes(vec![0, 1]),
            start: None,
            end: BookingEnd::After(Duration::minutes(90)),
            note: Some("sweep".into()),
            data: None,
            wait: wait(Some(hours(8)), true),
            min_mem: None,
            project: None,
        },
        "options in any order and any case"
    );
}

#[test]
fn book_any_wait() {
    assert_eq!(
        parse("book any 2h --gpus 2 --wait --within 8h"),
        Ok(Command::BookAny {
            length: hours(2),
            gpus: 2,
            start: None,
            data: None,
            wait: wait(Some(hours(8)), false),
            min_mem: None,
            project: None,
        })
    );
    assert_eq!(
        parse("book any 2h --within 1h 30m --wait --data imagenet --auto --min-mem 40G"),
        Err(ParseError::WithinShorterThanBooking {
            command: "book",
            within: Duration::minutes(90),
            length: hours(2),
        }),
        "`--within` takes a duration in several words"
    );
    assert_eq!(
        parse("book any 2h --within 2h 30m --wait --data imagenet --auto --min-mem 40G"),
        Ok(Command::BookAny {
            length: hours(2),
            gpus: 1,
            start: None,
            data: Some(DatasetRef {
                name: "imagenet".into(),
                version: None
            }),
            wait: wait(Some(Duration::minutes(150)), true),
            min_mem: Some(40_000_000_000),
            project: None,
        })
    );
}

#[test]
fn within_may_equal_the_booking() {
    assert_eq!(
        book("book gpu01 8h --wait --within 8h").wait,
        wait(Some(hours(8)), false),
        "it must start at once, which the bot may still manage"
    );
    assert_eq!(
        book("book gpu01 1d --wait --within=1.5d").wait,
        wait(Some(hours(36)), false)
    );
}

#[test]
fn min_mem_with_and_without_wait() {
    let gb = 1_000_000_000u64;
    let min_mem = |text: &str| book(text).min_mem;
    assert_eq!(min_mem("book gpu01 2h --min-mem 40G"), Some(40 * gb));
    assert_eq!(min_mem("book gpu01 2h --min-mem=80GiB"), Some(80 << 30));
    assert_eq!(
        min_mem("book gpu01 2h --MIN-MEM 40.5gb"),
        Some(40_500_000_000)
    );
    assert_eq!(min_mem("book gpu01 2h --min-mem 24000M"), Some(24 * gb));
    assert_eq!(
        min_mem("book gpu01 2h --min-mem 24000mib"),
        Some(24000 << 20)
    );
    assert_eq!(min_mem("book gpu01 2h --min-mem 1T"), Some(1000 * gb));
    assert_eq!(min_mem("book gpu01 2h --min-mem 1TiB"), Some(1 << 40));
    assert_eq!(min_mem("book gpu01 2h --min-mem 2TB"), Some(2000 * gb));
    assert_eq!(min_mem("book gpu01 2h --min-mem 512MB"), Some(512_000_000));
    assert_eq!(
        min_mem("book gpu01 2h --min-mem 40 GB at 14:00"),
        Some(40 * gb),
        "the unit may be a word of its own"
    );
    assert_eq!(
        min_mem("book gpu01 tomorrow 9:00-18:00 --min-mem 40G"),
        Some(40 * gb)
    );
    let request = book("book gpu01 2h --min-mem 40G --wait");
    assert_eq!(
        (request.min_mem, request.wait),
        (Some(40 * gb), wait(None, false))
    );
    assert_eq!(
        parse("book any 1h --min-mem 40G"),
        Ok(Command::BookAny {
            length: hours(1),
            gpus: 1,
            start: None,
            data: None,
            wait: None,
            min_mem: Some(40 * gb),
            project: None,
        })
    );
    assert!(matches!(
        parse("book any 1h --gpus 4 at tomorrow 9:00 --min-mem=80GB"),
        Ok(Command::BookAny {
            min_mem: Some(80_000_000_000),
            project: None,
            start: Some(_),
            ..
        })
    ));
}

#[test]
fn wait_options_need_wait() {
    let alone = |option| ParseError::WaitOptionWithoutWait {
        command: "book",
        option,
    };
    assert_eq!(err("book gpu01 2h --within 8h"), alone("--within"));
    assert_eq!(err("book any 2h --auto"), alone("--auto"));
    assert_eq!(err("book any 2h --auto --within 8h"), alone("--within"));
    assert_eq!(err("book gpu01 2h at 14:00 --auto"), alone("--auto"));
    assert_eq!(
        err("book any 2h --within 8h").to_string(),
        "`--within` only applies with `--wait`, which puts you on the wait-list when nothing \
         is free. Add `--wait`, or leave `--within` out."
    );
}

#[test]
fn wait_takes_no_start_time() {
    let refused = ParseError::WaitWithStartTime { command: "book" };
    for text in [
        "book gpu01 2h --wait at 14:00",
        "book gpu01 2h at 14:00 --wait",
        "book gpu01 9h tomorrow --wait",
        "book gpu01 2h --wait fri 2pm",
        "book gpu01 2h --wait 2026-12-03T10:30",
        "book gpu01 14:00-16:00 --wait",
        "book gpu01:0,1 tomorrow 9:00-18:00 --wait --auto",
        "book any tomorrow 9:00-11:30 --wait",
        "book any 2h --gpus 2 at tomorrow 9:00 --wait --within 1d",
    ] {
        assert_eq!(err(text), refused, "{text}");
    }
    assert!(
        refused
            .to_string()
            .starts_with("`--wait` books as soon as GPUs free up, so it takes a duration")
    );
}

#[test]
fn within_shorter_than_the_booking() {
    assert_eq!(
        err("book gpu01 8h --wait --within 7h 59m"),
        ParseError::WithinShorterThanBooking {
            command: "book",
            within: Duration::minutes(479),
            length: hours(8),
        }
    );
    assert_eq!(
        err("book any 1d --wait --within=8h").to_string(),
        "`--within 8h` is shorter than the booking itself (1d), so it could never be over in \
         time. Give `--within` at least 1d, or book for less."
    );
}

#[test]
fn bad_within() {
    let missing = ParseError::MissingArgument {
        command: "book",
        what: "a duration after `--within`, like `8h`",
    };
    assert_eq!(err("book gpu01 2h --wait --within"), missing);
    assert_eq!(err("book gpu01 2h --wait --within="), missing);
    assert_eq!(err("book gpu01 2h --within --wait"), missing);
    assert_eq!(
        err("book gpu01 2h --wait --within soon"),
        ParseError::BadDuration {
            command: "book",
            input: "soon".into()
        }
    );
    assert_eq!(
        err("book gpu01 2h --wait --within=0m"),
        ParseError::ZeroDuration {
            command: "book",
            input: "0m".into()
        }
    );
    assert_eq!(
        err("book gpu01 2h --wait --within 400d"),
        ParseError::DurationTooLong {
            command: "book",
            input: "400d".into()
        }
    );
}

#[test]
fn bad_min_mem() {
    let bad = |input: &str, reason: &str| ParseError::BadMemorySize {
        command: "book",
        input: input.into(),
        reason: reason.into(),
    };
    for (text, input, reason) in [
        ("book gpu01 2h --min-mem 40", "40", "has no unit"),
        ("book any 2h --min-mem 40.5 --wait", "40.5", "has no unit"),
        ("book gpu01 2h --min-mem 0G", "0G", "is zero"),
        ("book gpu01 2h --min-mem=0.0GiB", "0.0GiB", "is zero"),
        ("book gpu01 2h --min-mem -5G", "-5G", "is negative"),
        (
            "book gpu01 2h --min-mem 40X",
            "40X",
            "has an unknown unit `X`",
        ),
        ("book gpu01 2h --min-mem 40 KB", "40", "has no unit"),
        (
            "book gpu01 2h --min-mem 4OG",
            "4OG",
            "has an unknown unit `OG`",
        ),
        (
            "book gpu01 2h --min-mem G",
            "G",
            "does not start with a number",
        ),
        (
            "book gpu01 2h --min-mem lots",
            "lots",
            "does not start with a number",
        ),
        (
            "book gpu01 2h --min-mem 99999999999T",
            "99999999999T",
            "is too large",
        ),
    ] {
        assert_eq!(err(text), bad(input, reason), "{text}");
    }
    assert!(
        err("book gpu01 2h --min-mem 40")
            .to_string()
            .contains("like `--min-mem 40G`")
    );
    let missing = ParseError::MissingArgument {
        command: "book",
        what: "a GPU memory size after `--min-mem`, like `40G`",
    };
    assert_eq!(err("book gpu01 2h --min-mem"), missing);
    assert_eq!(err("book gpu01 2h --min-mem="), missing);
    assert_eq!(err("book gpu01 2h --min-mem --wait"), missing);
}

#[test]
fn wait_options_once_each() {
    let unexpected = |arg: &str| ParseError::UnexpectedArgument {
        command: "book",
        arg: arg.into(),
    };
    assert_eq!(err("book gpu01 2h --wait --wait"), unexpected("--wait"));
    assert_eq!(
        err("book gpu01 2h --wait --auto --auto"),
        unexpected("--auto")
    );
    assert_eq!(
        err("book any 2h --wait --within 8h --within 9h"),
        unexpected("--within")
    );
    assert_eq!(
        err("book any 2h --wait --within=8h --within=9h"),
        unexpected("--within=9h")
    );
    assert_eq!(
        err("book gpu01 2h --min-mem 40G --min-mem=80G"),
        unexpected("--min-mem=80G")
    );
    assert_eq!(err("book gpu01 2h --wait=yes"), unexpected("--wait=yes"));
    assert_eq!(
        err("book gpu01 2h --wait \"--auto\""),
        unexpected("\"--auto\"")
    );
}

#[test]
fn queue_and_unwait() {
    assert_eq!(parse("queue"), Ok(Command::Queue));
    assert_eq!(parse("Queue"), Ok(Command::Queue));
    assert_eq!(parse("unwait 7"), Ok(Command::Unwait { id: 7 }));
    assert_eq!(parse("UNWAIT #7"), Ok(Command::Unwait { id: 7 }));
    assert_eq!(
        err("queue extra"),
        ParseError::UnexpectedArgument {
            command: "queue",
            arg: "extra".into()
        }
    );
    assert_eq!(err("queue extra").usage(), Some("queue"));
    assert_eq!(
        err("unwait"),
        ParseError::MissingArgument {
            command: "unwait",
            what: "a wait-list id, like `7` (`/maison queue` shows them)",
        }
    );
    for input in ["abc", "#", "0", "-3", "#x", "99999999999999999999"] {
        assert_eq!(
            err(&format!("unwait {input}")),
            ParseError::BadBookingId {
                command: "unwait",
                input: input.into()
            },
            "{input}"
        );
    }
    assert_eq!(
        err("unwait abc").to_string(),
        "`abc` is not a wait-list id. Ids are the numbers `/maison queue` and the `--wait` \
         reply show, like `7` or `#7`."
    );
    assert_eq!(
        err("unwait 7 8"),
        ParseError::UnexpectedArgument {
            command: "unwait",
            arg: "8".into()
        }
    );
    assert!(!maison_command::lookup("queue").unwrap().admin);
    assert!(!maison_command::lookup("unwait").unwrap().admin);
}

#[test]
fn what_if_takes_gpus_or_hosts_and_weeks() {
    let what_if = |hosts, gpus_per_host, weeks| {
        Ok(Command::WhatIf(WhatIfRequest {
            hosts,
            gpus_per_host,
            weeks,
        }))
    };
    assert_eq!(parse("report what-if +4 gpus"), what_if(1, 4, 8));
    assert_eq!(parse("report what-if +4gpus"), what_if(1, 4, 8));
    assert_eq!(parse("report whatif 4 GPU"), what_if(1, 4, 8));
    assert_eq!(parse("report what-if +1 host of 8"), what_if(1, 8, 8));
    assert_eq!(
        parse("report what-if +2 hosts of 8 --weeks 12"),
        what_if(2, 8, 12)
    );
    assert_eq!(
        parse("report what-if +2hosts of 8gpus --weeks=3"),
        what_if(2, 8, 3)
    );
    for bad in [
        "report what-if +0 gpus",
        "report what-if four gpus",
        "report what-if +4 tpus",
        "report what-if +2 hosts with 8",
        "report what-if +2 hosts of eight",
        "report what-if +5000 gpus",
        "report what-if +-4 gpus",
    ] {
        assert!(
            matches!(err(bad), ParseError::BadWhatIf { .. }),
            "{bad}: {:?}",
            err(bad)
        );
    }
    assert_eq!(
        err("report what-if +4 gpus --weeks 53"),
        ParseError::BadWeeks { input: "53".into() }
    );
    assert!(matches!(
        err("report what-if"),
        ParseError::MissingArgument {
            command: "report",
            ..
        }
    ));
    assert!(matches!(
        err("report what-if +4 gpus now"),
        ParseError::UnexpectedArgument { .. }
    ));
    assert!(
        err("report what-if +4 tpus")
            .to_string()
            .contains("`+2 hosts of 8`")
    );
}

#[test]
fn projects_on_bookings_and_their_own_command() {
    let Ok(Command::Book(request)) = parse("book gpu01 2h --project Vision") else {
        panic!("should parse");
    };
    assert_eq!(request.project.as_deref(), Some("vision"));
    let Ok(Command::Book(request)) = parse("book gpu01 2h --wait --project=nlp-2") else {
        panic!("should parse");
    };
    assert_eq!(request.project.as_deref(), Some("nlp-2"));
    let Ok(Command::BookAny { project, .. }) = parse("book any 1h --gpus 2 --project vision")
    else {
        panic!("should parse");
    };
    assert_eq!(project.as_deref(), Some("vision"));
    assert!(matches!(
        err("book gpu01 2h --project a/b"),
        ParseError::BadProject {
            command: "book",
            ..
        }
    ));
    assert!(matches!(
        err("book gpu01 2h --project"),
        ParseError::MissingArgument { .. }
    ));
    assert!(matches!(
        err("book gpu01 2h --project x --project y"),
        ParseError::UnexpectedArgument { .. }
    ));

    assert_eq!(parse("project"), Ok(Command::Project(ProjectCommand::Ls)));
    assert_eq!(
        parse("projects ls"),
        Ok(Command::Project(ProjectCommand::Ls))
    );
    assert_eq!(
        parse("project default Vision"),
        Ok(Command::Project(ProjectCommand::Default {
            name: Some("vision".into())
        }))
    );
    assert_eq!(
        parse("project default none"),
        Ok(Command::Project(ProjectCommand::Default { name: None }))
    );
    assert_eq!(
        parse("project add vision for \"image models\""),
        Ok(Command::Project(ProjectCommand::Add {
            name: "vision".into(),
            description: Some("image models".into())
        }))
    );
    assert_eq!(
        parse("project rm vision"),
        Ok(Command::Project(ProjectCommand::Rm {
            name: "vision".into()
        }))
    );
    assert!(matches!(
        err("project add .hidden"),
        ParseError::BadProject {
            command: "project",
            ..
        }
    ));
    assert!(matches!(
        err("project rename a b"),
        ParseError::UnknownSubcommand {
            command: "project",
            ..
        }
    ));
    assert!(matches!(
        err("project default"),
        ParseError::MissingArgument {
            command: "project",
            ..
        }
    ));
}

#[test]
fn image_save_with_and_without_a_note() {
    assert_eq!(
        parse("image save alice-c1 alice/tuned:v1 for \"cuda 12.4\""),
        Ok(Command::Image(ImageCommand::Save {
            container: "alice-c1".into(),
            reference: "alice/tuned:v1".into(),
            note: Some("cuda 12.4".into()),
        }))
    );
    assert_eq!(
        parse("IMAGE Save 3f2a9c tuned"),
        Ok(Command::Image(ImageCommand::Save {
            container: "3f2a9c".into(),
            reference: "tuned".into(),
            note: None,
        }))
    );
}

#[test]
fn image_copy_names_an_image_and_a_host() {
    assert_eq!(
        parse("image copy alice/tuned:v1 GPU02"),
        Ok(Command::Image(ImageCommand::Copy {
            image: "alice/tuned:v1".into(),
            host: "gpu02".into(),
        }))
    );
    assert!(matches!(
        err("image copy alice/tuned:v1"),
        ParseError::MissingArgument { what, .. } if what.contains("a host to copy the image to")
    ));
    assert!(matches!(
        err("image copy alice/tuned:v1 gpu02 gpu03"),
        ParseError::UnexpectedArgument { arg, .. } if arg == "gpu03"
    ));
}

#[test]
fn image_errors_are_specific() {
    assert!(matches!(
        err("image save alice-c1"),
        ParseError::MissingArgument { what, .. } if what.contains("a name for the image")
    ));
    assert!(matches!(err("image"), ParseError::MissingArgument { .. }));
    assert!(matches!(
        err("image save alice-c1 tuned extra"),
        ParseError::UnexpectedArgument { arg, .. } if arg == "extra"
    ));
    assert!(matches!(
        err("image save alice-c1 'bad name!'"),
        ParseError::BadTarget { .. }
    ));
    assert!(matches!(
        err("image build gpu01 x Dockerfile"),
        ParseError::BadDockerfilePath { input, .. } if input == "Dockerfile"
    ));
    assert!(matches!(
        err("image publish"),
        ParseError::MissingArgument { what, .. } if what.contains("the image to publish")
    ));
    assert_eq!(
        parse("image build GPU01 alice/tuned:v2 /work/alice/t/Dockerfile for \"v2\""),
        Ok(Command::Image(ImageCommand::Build {
            host: "gpu01".into(),
            reference: "alice/tuned:v2".into(),
            dockerfile: "/work/alice/t/Dockerfile".into(),
            note: Some("v2".into()),
        }))
    );
    assert!(matches!(
        err("image frobnicate"),
        ParseError::UnknownSubcommand { expected, .. } if expected.contains("`publish`")
    ));
    assert!(matches!(
        err("image pubish x"),
        ParseError::UnknownSubcommand { suggestion: Some(word), .. } if word == "publish"
    ));
}

#[test]
fn image_publish_names_the_image_and_maybe_its_catalogue_name() {
    assert_eq!(
        parse("image publish alice/resnet:v1"),
        Ok(Command::Image(ImageCommand::Publish {
            image: "alice/resnet:v1".into(),
            name: None,
            version: None,
            project: None,
            description: None,
        }))
    );
    assert_eq!(
        parse("image publish 3f2a9c AS ResNet:2024.1 --project=Vision for \"ResNet-50 trainer\""),
        Ok(Command::Image(ImageCommand::Publish {
            image: "3f2a9c".into(),
            name: Some("resnet".into()),
            version: Some("2024.1".into()),
            project: Some("vision".into()),
            description: Some("ResNet-50 trainer".into()),
        }))
    );
    assert_eq!(
        parse("image publish alice/resnet:v1 for ResNet as a service"),
        Ok(Command::Image(ImageCommand::Publish {
            image: "alice/resnet:v1".into(),
            name: None,
            version: None,
            project: None,
            description: Some("ResNet as a service".into()),
        }))
    );
    assert!(matches!(
        err("image publish alice/resnet:v1 as res/net"),
        ParseError::BadCatalogName { input, reason, .. } if input == "res/net" && reason.contains("`/`")
    ));
    assert!(matches!(
        err("image publish alice/resnet:v1 as"),
        ParseError::MissingArgument { what, .. } if what.contains("after `as`")
    ));
    assert!(matches!(
        err("image publish alice/resnet:v1 as a as b"),
        ParseError::UnexpectedArgument { arg, .. } if arg == "as"
    ));
}

#[test]
fn image_deprecate_names_versions_and_what_replaces_them() {
    assert_eq!(
        parse("image deprecate resnet:v1 use resnet:v2"),
        Ok(Command::Image(ImageCommand::Deprecate {
            name: "resnet".into(),
            version: Some("v1".into()),
            replaced_by: Some("resnet:v2".into()),
        }))
    );
    assert_eq!(
        parse("image deprecate ResNet"),
        Ok(Command::Image(ImageCommand::Deprecate {
            name: "resnet".into(),
            version: None,
            replaced_by: None,
        }))
    );
    assert!(matches!(
        err("image deprecate resnet instead"),
        ParseError::UnexpectedArgument { arg, .. } if arg == "instead"
    ));
    assert!(matches!(
        err("image deprecate resnet:"),
        ParseError::BadCatalogName { reason, .. } if reason == "is empty"
    ));
}

#[test]
fn lang_alone_or_with_a_language() {
    use maison_command::{Lang, LangChoice};
    assert_eq!(parse("lang"), Ok(Command::Lang { choice: None }));
    assert_eq!(
        parse("lang JA"),
        Ok(Command::Lang {
            choice: Some(LangChoice::Fixed(Lang::Ja))
        })
    );
    assert_eq!(
        parse("lang auto"),
        Ok(Command::Lang {
            choice: Some(LangChoice::Auto)
        })
    );
    assert!(matches!(
        err("lang fr"),
        ParseError::UnknownSubcommand { word, .. } if word == "fr"
    ));
    assert!(matches!(
        err("lang en now"),
        ParseError::UnexpectedArgument { .. }
    ));
}
