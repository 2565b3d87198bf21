//! The user-facing text: every error message and every help page, as reviewed snapshots.
//!
//! Update after a deliberate wording change with `INSTA_UPDATE=always cargo test -p
//! maison-command --test snapshots`, then review the `.snap` diffs.

mod support;

use maison_command::{COMMANDS, Lang, help_text};
use support::parse;

/// What the user sees for a refused line, with the usage the bot may attach.
fn reply(input: &str) -> String {
    let error = parse(input).expect_err(input);
    format!(
        "input: /maison {input}\n\n{error}\n\nusage:\n{}",
        error.usage().unwrap_or("(none)")
    )
}

/// The same in Japanese, as the bot shows it: the message, then how the command is typed.
fn reply_ja(input: &str) -> String {
    let error = parse(input).expect_err(input);
    let message = error.message_in(Lang::Ja);
    assert_reads_japanese(&message);
    format!(
        "input: /maison {input}\n\n{message}\n\n{}",
        error.right_form_in(Lang::Ja).as_deref().unwrap_or("(none)")
    )
}

/// Words a Japanese engineer writes in Latin letters anyway.
const LATIN_IN_JAPANESE: &[&str] = &[
    "GPU",
    "ID",
    "DM",
    "Slack",
    "Maison",
    "maison",
    "Unix",
    "uid",
    "root",
    "Dockerfile",
    "NUL",
    "GB",
    "MB",
    "TB",
    "GiB",
    "Europe",
    "Paris",
];

/// No English left outside `code` but command words: commands, names and examples are typed as
/// they are, every other word is Japanese.
fn assert_reads_japanese(text: &str) {
    let prose: String = text.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    for word in prose.split(|c: char| !c.is_ascii_alphabetic()) {
        assert!(
            word.len() < 3
                || LATIN_IN_JAPANESE.contains(&word)
                || COMMANDS.iter().any(|spec| spec.name == word),
            "English `{word}` in Japanese text: {text}"
        );
    }
}

macro_rules! error_snapshots {
    ($($name:ident: $input:expr;)*) => {
        $(
            #[test]
            fn $name() {
                insta::assert_snapshot!(reply($input));
                insta::assert_snapshot!(concat!(stringify!($name), "_ja"), reply_ja($input));
            }
        )*
    };
}

error_snapshots! {
    empty_command: "";
    unknown_command_with_suggestion: "boook gpu01 2h";
    unknown_command_without_suggestion: "deploy gpu01 pytorch";
    unknown_help_topic: "help stauts";
    missing_booking_id: "cancel";
    missing_duration: "book gpu01";
    missing_host: "book";
    missing_note: "book gpu01 2h for";
    missing_range_after_day: "book gpu01 tomorrow";
    unexpected_argument_mine: "mine please";
    unexpected_argument_book: "book gpu01 2h tomorrow please";
    unexpected_gpus_twice: "book gpu01:0 2h --gpus 2";
    bad_duration: "book gpu01 2x";
    bad_duration_zero: "extend 42 0m";
    duration_too_long: "book gpu01 400d";
    bad_time_hour: "book gpu01 2h at 25:00";
    bad_time_day_bad_clock: "book gpu01 2h tomorrow 25:00";
    missing_end: "book gpu01 2pm";
    bad_time_no_such_date: "book gpu01 2h at 2026-02-30 09:00";
    bad_gpus: "book gpu01:x 2h";
    bad_gpus_count: "book any 2h --gpus 0";
    bad_booking_id: "cancel abc";
    bad_booking_id_release: "release #x";
    end_before_start: "book gpu01 18:00-9:00";
    unterminated_quote: "book gpu01 2h for “training";
    missing_image: "launch gpu01";
    missing_container: "stop";
    missing_host_verb: "host";
    unexpected_argument_launch: "launch gpu01 pytorch --volume /srv";
    unexpected_argument_ps: "ps gpu01 gpu02";
    bad_gpus_launch: "launch gpu01 pytorch --gpus 0,x";
    bad_container_name: "launch gpu01 pytorch --name my_run!";
    bad_image: "launch gpu01 pytorch:";
    bad_target_stop: "stop llama;ft";
    bad_target_who: "who img@";
    missing_command_separator: "launch gpu01 pytorch --gpus 0 python train.py";
    unknown_subcommand: "host dran gpu03";
    unknown_jobs_subcommand: "jobs start daily_report";
    missing_job: "jobs run";
    unknown_report_period: "report year";
    bad_what_if: "report what-if +4 tpus";
    bad_project: "book gpu01 2h --project a/b";
    wait_option_without_wait: "book any 2h --within 8h";
    wait_with_start_time: "book gpu01 2h at 14:00 --wait";
    within_shorter_than_booking: "book any 1d --wait --within 8h";
    bad_memory_size_no_unit: "book any 1h --min-mem 40";
    bad_memory_size_unknown_unit: "book gpu01 2h --min-mem 40KB";
    unexpected_argument_queue: "queue extra";
    bad_wait_list_id: "unwait abc";
    unterminated_quote_launch: "launch gpu01 pytorch -- bash -c \"echo hi";
    unterminated_quote_elsewhere: "stop \"llama";
    data_missing_version: "data add imagenet gpu03:/srv/datasets/imagenet";
    data_relative_path: "data add imagenet@v2 gpu03:srv/datasets/imagenet";
    data_bad_dataset: "data where image/net";
    data_unknown_verb: "data fecth imagenet gpu05";
    data_missing_host: "data get imagenet";
    launch_same_dataset_twice: "launch gpu01 pytorch --data imagenet,imagenet@v1";
}

#[test]
fn nonexistent_local_time() {
    let ctx = maison_command::ParseContext {
        now: support::utc("2026-03-28 12:00"),
        ..support::ctx()
    };
    let error = maison_command::parse("book gpu01 1h at tomorrow 2:30", &ctx).unwrap_err();
    insta::assert_snapshot!(error.to_string());
    let japanese = error.message_in(Lang::Ja);
    assert_reads_japanese(&japanese);
    insta::assert_snapshot!("nonexistent_local_time_ja", japanese);
}

#[test]
fn help_overview() {
    insta::assert_snapshot!(help_text(None, Lang::En).unwrap());
    let japanese = help_text(None, Lang::Ja).unwrap();
    assert_reads_japanese(&japanese);
    insta::assert_snapshot!("help_overview_ja", japanese);
}

#[test]
fn help_for_each_command() {
    for spec in COMMANDS {
        insta::assert_snapshot!(
            format!("help_{}", spec.name),
            help_text(Some(spec.name), Lang::En).unwrap()
        );
        let japanese = help_text(Some(spec.name), Lang::Ja).unwrap();
        assert_reads_japanese(&japanese);
        insta::assert_snapshot!(format!("help_{}_ja", spec.name), japanese);
    }
}

/// Every command has its Japanese summary, and Japanese details exactly where it has English
/// ones: a new command cannot reach Japanese readers in English.
#[test]
fn every_command_has_japanese_text() {
    for spec in COMMANDS {
        assert!(
            !spec.summary_ja.is_empty(),
            "{}: no Japanese summary",
            spec.name
        );
        assert_eq!(
            spec.details_ja.is_empty(),
            spec.details.is_empty(),
            "{}: Japanese details must exist exactly where English ones do",
            spec.name
        );
        assert_reads_japanese(spec.summary_ja);
        assert_reads_japanese(spec.details_ja);
    }
}

#[test]
fn help_topics_accept_aliases_and_case() {
    for lang in Lang::ALL {
        assert_eq!(
            help_text(Some("Bookings"), lang),
            help_text(Some("mine"), lang)
        );
        assert!(
            help_text(Some("mine"), lang)
                .unwrap()
                .starts_with("*/maison mine*")
        );
    }
}

#[test]
fn help_for_an_unknown_topic() {
    let error = help_text(Some("relase"), Lang::En).unwrap_err();
    insta::assert_snapshot!(error.to_string());
    insta::assert_snapshot!("help_for_an_unknown_topic_ja", error.message_in(Lang::Ja));
}
