//! Every booking command end to end: signed Slack requests into the real router, replies read
//! back, Slack calls checked on the fake, the database inspected afterwards. Each runs on SQLite
//! and on PostgreSQL.

use chrono::Duration;
use maison_bot::core::actions;
use maison_tests::{Backend, BotTester, buttons, on_both_databases, reply_text};

/// The harness itself: a message nobody read fails the scenario when it reached Slack…
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "the bot sent Slack messages that no test read")]
async fn finish_fails_on_an_unread_slack_message() {
    let bot = BotTester::start(Backend::Sqlite).await;
    // The announcement goes out through the outbox; nobody reads it.
    bot.command("U0ALICE", "book gpu02 1h").await;
    bot.finish().await;
}

/// A scenario that forgets `finish` fails too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "dropped without `finish().await`")]
async fn a_scenario_without_finish_fails() {
    let bot = BotTester::start(Backend::Sqlite).await;
    bot.command("U0ALICE", "mine").await;
}

/// …and when it still waits in the outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "messages still queued in the outbox that no test read")]
async fn finish_fails_on_a_message_left_in_the_outbox() {
    let bot = BotTester::start(Backend::Sqlite).await;
    bot.stop_outbox_sender().await;
    bot.command("U0ALICE", "book gpu02 1h").await;
    bot.finish().await;
}

on_both_databases! {
    async fn the_announcement_is_queued_with_the_booking(backend: Backend) {
        let bot = BotTester::start(backend).await;
        // With no sender running, what a crash would leave behind is the queue itself.
        bot.stop_outbox_sender().await;
        bot.command("U0ALICE", "book gpu02 1h").await;
        let queued = bot.queued().await;
        assert_eq!(queued.len(), 1, "{queued:?}");
        assert_eq!(queued[0].dedupe_key.as_deref(), Some("announce:booking:1"));
        assert!(queued[0].text.contains("booked `gpu02`"), "{}", queued[0].text);
        assert!(queued[0].sent_at.is_none());
        // A refused booking queues nothing.
        bot.command("U0BOB", "book gpu02:0 1h").await;
        assert_eq!(bot.db().outbox_entries().await.unwrap().len(), 1);
        bot.finish().await;
    }

    async fn book_then_status_then_mine(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let reply = bot.command("U0ALICE", "book gpu01 2h for \"bert finetune\"").await;
        assert_eq!(reply["response_type"], "ephemeral");
        let text = reply_text(&reply);
        // Alice is in Paris: 08:00 UTC is 09:00 there.
        assert!(text.contains("Booked `gpu01` GPU 0 for today 09:00–11:00 (booking *#1*)"), "{text}");

        // The booking is announced in the configured channel, mentioning Alice.
        let announced = bot.slack.expect("chat.postMessage").await;
        assert_eq!(announced.args["channel"], "C0ANNOUNCE");
        assert!(announced.args["text"].as_str().unwrap().contains("<@U0ALICE> booked `gpu01` GPU 0"));

        let board = bot.command_text("U0CAROL", "status").await;
        assert!(board.contains("`gpu01` ■□ 1/2 booked"), "{board}");
        assert!(board.contains("`gpu03` □□□□□□□□ 0/8 booked"), "{board}");
        assert!(board.contains("11 GPU(s) free now"), "{board}");
        let detail = bot.command_text("U0CAROL", "status gpu01").await;
        assert!(detail.contains("`GPU 0` :red_circle: <@U0ALICE> until today 10:00"), "{detail}");
        assert!(detail.contains("`GPU 1` :large_green_circle: free"), "{detail}");
        let one_host = bot.command_text("U0CAROL", "status gpu02").await;
        assert!(one_host.contains("*gpu02*") && !one_host.contains("*gpu01*"), "{one_host}");

        let mine = bot.command("U0ALICE", "mine").await;
        assert_eq!(
            buttons(&mine),
            [(actions::RELEASE.to_owned(), "1".to_owned()), (actions::EXTEND_1H.to_owned(), "1".to_owned())]
        );
        assert!(reply_text(&mine).contains("“bert finetune”"));
        let audit = bot.db().audit_log().await.unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!((audit[0].actor.as_str(), audit[0].action.as_str(), audit[0].outcome.as_str()), ("U0ALICE", "book", "ok"));
        bot.finish().await;
    }

    async fn conflict_reply_names_holder_next_slot_and_free_hosts(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0ALICE", "book gpu01:all 2h").await;
        bot.slack.expect("chat.postMessage").await;
        let text = bot.command_text("U0BOB", "book gpu01:1 1h").await;
        // Bob is in New York (UTC-5): Alice holds it until 05:00 his time.
        assert!(text.contains("`gpu01` is taken"), "{text}");
        assert!(text.contains("GPU 1 — <@U0ALICE> until today 05:00 (#1)"), "{text}");
        assert!(text.contains("Next free slot on `gpu01`: today 05:00–06:00"), "{text}");
        assert!(text.contains("Free now: `gpu02` (2 free), `gpu03` (8 free)"), "{text}");
        assert_eq!(bot.db().audit_log().await.unwrap().len(), 1, "a refused booking changes nothing");
        bot.finish().await;
    }

    async fn explicit_times_ranges_and_book_any(backend: Backend) {
        let bot = BotTester::start(backend).await;
        // Bob types New York times: 14:00 there is 19:00 UTC.
        let text = bot.command_text("U0BOB", "book gpu02:0,1 3h at 14:00").await;
        assert!(text.contains("GPUs 0,1 for today 14:00–17:00"), "{text}");
        bot.slack.expect("chat.postMessage").await;
        let booking = bot.db().booking(1).await.unwrap().unwrap();
        assert_eq!(booking.start, chrono::DateTime::parse_from_rfc3339("2026-11-30T19:00:00Z").unwrap().timestamp());
        let text = bot.command_text("U0CAROL", "book gpu03:4 tomorrow 9:00-18:00").await;
        assert!(text.contains("GPU 4 for tomorrow 09:00–18:00"), "{text}");
        bot.slack.expect("chat.postMessage").await;
        // book any prefers the host with the most free GPUs.
        let text = bot.command_text("U0CAROL", "book any 1h --gpus 2").await;
        assert!(text.contains("Booked `gpu03` GPUs 0,1"), "{text}");
        bot.slack.expect("chat.postMessage").await;
        let text = bot.command_text("U0ADMIN", "book any 1h --gpus 9").await;
        assert!(text.contains("No host has 9 free GPUs"), "{text}");
        bot.finish().await;
    }

    async fn release_cancel_and_extend(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0CAROL", "book gpu01 2h").await;
        bot.command("U0CAROL", "book gpu02 1h at 12:00").await;
        bot.slack.expect("chat.postMessage").await;
        bot.slack.expect("chat.postMessage").await;
        bot.clock.advance(Duration::minutes(30));

        let text = bot.command_text("U0CAROL", "extend 1 1h30m").await;
        assert!(text.contains("Extended booking #1 by 1h 30m"), "{text}");
        assert!(text.contains("until today 11:30"), "{text}");

        // Someone else cannot touch it.
        let text = bot.command_text("U0BOB", "release 1").await;
        assert!(text.contains("Booking #1 belongs to <@U0CAROL>"), "{text}");
        let text = bot.command_text("U0BOB", "extend 1 1h").await;
        assert!(text.contains("belongs to <@U0CAROL>"), "{text}");

        // A future booking is cancelled, a running one released.
        let text = bot.command_text("U0CAROL", "cancel 2").await;
        assert!(text.contains("Cancelled booking #2"), "{text}");
        let text = bot.command_text("U0CAROL", "release gpu01").await;
        assert!(text.contains("Released booking #1: `gpu01` GPU 0 is free again"), "{text}");
        let text = bot.command_text("U0CAROL", "release").await;
        assert!(text.contains("You have no running booking"), "{text}");
        let text = bot.command_text("U0CAROL", "extend 1 1h").await;
        assert!(text.contains("already ended"), "{text}");
        let text = bot.command_text("U0CAROL", "cancel 99").await;
        assert!(text.contains("There is no booking #99"), "{text}");

        let released = bot.db().booking(1).await.unwrap().unwrap();
        assert!(released.released);
        assert_eq!(released.end, bot.now_ts());
        // The GPU is free for someone else at once.
        let text = bot.command_text("U0BOB", "book gpu01:0 1h").await;
        assert!(text.contains("Booked `gpu01` GPU 0"), "{text}");
        bot.slack.expect("chat.postMessage").await;
        let actions: Vec<String> = bot.db().audit_log().await.unwrap().into_iter().map(|a| a.action).collect();
        assert_eq!(actions, ["book", "book", "extend", "cancel", "release", "book"]);
        bot.finish().await;
    }

    /// Extending counts against the per-person limit like booking: four GPUs 09:00–10:00 and
    /// four 10:00–11:00 are within a limit of four, the first four extended past 10:00 are not.
    async fn extending_stays_within_the_per_person_limit(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let text = bot.command_text("U0ALICE", "book gpu03:0,1,2,3 1h at 09:00").await;
        assert!(text.contains("Booked `gpu03`"), "{text}");
        let text = bot.command_text("U0ALICE", "book gpu03:4,5,6,7 1h at 10:00").await;
        assert!(text.contains("Booked `gpu03`"), "{text}");
        bot.slack.expect("chat.postMessage").await;
        bot.slack.expect("chat.postMessage").await;
        let first = bot.db().booking(1).await.unwrap().unwrap();

        let text = bot.command_text("U0ALICE", "extend 1 1h").await;
        assert!(text.contains("That would give you 8 GPUs at once; the limit is 4 per person"), "{text}");
        assert_eq!(bot.db().booking(1).await.unwrap().unwrap().end, first.end, "unchanged");
        // The later one may grow: nothing else of hers is held after 11:00.
        let text = bot.command_text("U0ALICE", "extend 2 1h").await;
        assert!(text.contains("Extended booking #2 by 1h"), "{text}");
        let actions: Vec<String> = bot.db().audit_log().await.unwrap().into_iter().map(|a| a.action).collect();
        assert_eq!(actions, ["book", "book", "extend"]);
        bot.finish().await;
    }

    async fn admins_may_act_on_any_booking_and_skip_limits(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0ALICE", "book gpu01 1h").await;
        bot.slack.expect("chat.postMessage").await;
        let text = bot.command_text("U0ADMIN", "extend 1 1h").await;
        assert!(text.contains("Extended booking #1"), "{text}");
        let text = bot.command_text("U0ADMIN", "book gpu03:all 10d").await;
        assert!(text.contains("Booked `gpu03` GPUs 0,1,2,3,4,5,6,7"), "{text}");
        bot.slack.expect("chat.postMessage").await;
        bot.clock.advance(Duration::minutes(10));
        let text = bot.command_text("U0ADMIN", "release 1").await;
        assert!(text.contains("Released booking #1"), "{text}");
        bot.finish().await;
    }

    async fn limits_and_past_times_are_explained(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let text = bot.command_text("U0CAROL", "book gpu03 8d").await;
        assert!(text.contains("Bookings can last at most 7d"), "{text}");
        let text = bot.command_text("U0CAROL", "book gpu03 1h at 2027-03-01 09:00").await;
        assert!(text.contains("at most 30d ahead"), "{text}");
        let text = bot.command_text("U0CAROL", "book gpu03:all 1h").await;
        assert!(text.contains("That would give you 8 GPUs at once; the limit is 4"), "{text}");
        let text = bot.command_text("U0CAROL", "book gpu03 1h at 07:00").await;
        assert!(text.contains("already past"), "{text}");
        let text = bot.command_text("U0CAROL", "book gpu01:5 1h").await;
        assert!(text.contains("`gpu01` has no GPU 5: its GPUs are 0–1"), "{text}");
        let text = bot.command_text("U0CAROL", "book gpu1 1h").await;
        assert!(text.contains("There is no host called `gpu1`. Did you mean `gpu01`?"), "{text}");
        let text = bot.command_text("U0CAROL", "status gpu9").await;
        assert!(text.contains("no host called `gpu9`"), "{text}");
        let text = bot.command_text("U0CAROL", "book gpu01 2x").await;
        assert!(text.contains("Durations look like 30m, 2h, 1h30m or 1d"), "{text}");
        let text = bot.command_text("U0CAROL", "bok gpu01 2h").await;
        assert!(text.contains("I don't know the command `bok`"), "{text}");
        assert!(bot.db().audit_log().await.unwrap().is_empty(), "refusals change nothing");
        bot.finish().await;
    }

    async fn buttons_release_and_extend_through_the_interaction_endpoint(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0ALICE", "book gpu01 1h").await;
        bot.slack.expect("chat.postMessage").await;
        let updated = bot.click("U0ALICE", actions::EXTEND_1H, "1").await;
        assert_eq!(updated["replace_original"], true);
        let text = reply_text(&updated);
        assert!(text.contains("Extended booking #1 by 1h"), "{text}");
        assert_eq!(buttons(&updated).len(), 2, "the refreshed list keeps its buttons");
        // Bob clicking Alice's button (a forwarded message) is refused.
        let refused = bot.click("U0BOB", actions::RELEASE, "1").await;
        assert!(reply_text(&refused).contains("belongs to <@U0ALICE>"));
        bot.clock.advance(Duration::minutes(5));
        let released = bot.click("U0ALICE", actions::RELEASE, "1").await;
        let text = reply_text(&released);
        assert!(text.contains("Released booking #1"), "{text}");
        assert!(text.contains("You have no current or upcoming bookings"), "{text}");
        assert!(buttons(&released).is_empty());
        bot.finish().await;
    }

    /// A double click on "Extend 1h" extends once (found looking for effects done twice).
    async fn a_double_click_has_one_effect(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0ALICE", "book gpu01 1h").await;
        bot.slack.expect("chat.postMessage").await;
        let end = bot.db().booking(1).await.unwrap().unwrap().end;
        let answer = bot.double_click("U0ALICE", actions::EXTEND_1H, "1").await;
        assert!(reply_text(&answer).contains("Extended booking #1 by 1h"), "{answer}");
        // Both clicks were taken in (each answered 200 before it was handled): give the second
        // time to do what it would do.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(bot.slack.unread().iter().all(|c| c.method != "response_url"), "{:?}", bot.slack.unread());
        assert_eq!(bot.db().booking(1).await.unwrap().unwrap().end, end + 3600);
        // The same button pressed again later is a new click.
        bot.clock.advance(Duration::seconds(5));
        bot.double_click("U0ALICE", actions::EXTEND_1H, "1").await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(bot.db().booking(1).await.unwrap().unwrap().end, end + 7200);
        bot.finish().await;
    }

    async fn help_is_generated_from_the_grammar(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let text = bot.command_text("U0CAROL", "help").await;
        for command in maison_command::COMMANDS {
            assert!(text.contains(command.name), "help lacks {}: {text}", command.name);
        }
        let text = bot.command_text("U0CAROL", "help book").await;
        assert!(text.contains("book gpu01 2h"), "{text}");
        let text = bot.command_text("U0CAROL", "").await;
        assert!(text.contains("Type a command after `/maison`"), "{text}");
        bot.finish().await;
    }

    async fn slack_outage_does_not_block_commands(backend: Backend) {
        let bot = BotTester::start(backend).await;
        // users.info fails: the user is served in the default time zone, and retried later.
        bot.slack.fail_next(maison_tests::fake_slack::Failure::ServerError(503));
        let text = bot.command_text("U0ALICE", "book gpu01 1h at 12:00").await;
        assert!(text.contains("today 12:00–13:00"), "{text}");
        // The announcement still goes out.
        bot.slack.expect("chat.postMessage").await;
        let stored = bot.db().find_user(maison_tests::TEAM, "U0ALICE").await.unwrap().unwrap();
        assert_eq!(stored.tz, "UTC");
        // Slack is back: the next command looks her up again and shows her own time zone
        // (12:00 UTC is 13:00 in Paris).
        let text = bot.command_text("U0ALICE", "mine").await;
        assert!(text.contains("today 13:00–14:00"), "{text}");
        let stored = bot.db().find_user(maison_tests::TEAM, "U0ALICE").await.unwrap().unwrap();
        assert_eq!(stored.tz, "Europe/Paris");
        bot.finish().await;
    }

    async fn sixty_four_concurrent_bookings_one_winner(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let users: Vec<String> = (0..64).map(|i| format!("U0RACER{i:02}")).collect();
        for user in &users {
            bot.slack.add_user(user, user, "UTC");
        }
        // Overlapping windows on the same GPU: every pair conflicts.
        let requests = users.iter().enumerate().map(|(i, user)| {
            let text = format!("book gpu01:1 2h at {:02}:{:02}", 9 + i / 60, i % 60);
            let bot = &bot;
            async move { bot.command_text(user, &text).await }
        });
        let replies = futures::future::join_all(requests).await;
        let won = replies.iter().filter(|r| r.contains("Booked `gpu01` GPU 1")).count();
        let taken = replies.iter().filter(|r| r.contains("is taken")).count();
        assert_eq!((won, taken), (1, 63), "{replies:#?}");
        assert_eq!(replies.iter().filter(|r| !r.contains("went wrong")).count(), 64);
        let active = bot.db().bookings_overlapping(Some("gpu01"), 0, i64::MAX).await.unwrap();
        assert_eq!(active.len(), 1);
        bot.slack.expect("chat.postMessage").await;
        bot.finish().await;
    }

    /// One person asking for eight GPUs at once, one request per GPU (no two want the same
    /// GPU): the per-person limit (4) holds however the requests interleave.
    async fn concurrent_bookings_of_one_person_stay_within_the_limit(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let requests = (0..8).map(|gpu| {
            let bot = &bot;
            async move { bot.command_text("U0ALICE", &format!("book gpu03:{gpu} 2h at 09:00")).await }
        });
        let replies = futures::future::join_all(requests).await;
        let won = replies.iter().filter(|r| r.contains("Booked `gpu03`")).count();
        let limited = replies.iter().filter(|r| r.contains("the limit is 4 per person")).count();
        assert_eq!((won, limited), (4, 4), "{replies:#?}");
        let active = bot.db().bookings_overlapping(Some("gpu03"), 0, i64::MAX).await.unwrap();
        assert_eq!(active.len(), 4);
        for _ in 0..4 {
            bot.slack.expect("chat.postMessage").await;
        }
        bot.finish().await;
    }
}

/// The same race on a SQLite file, where bookings are decided and committed in groups by the
/// writer thread: still exactly one winner, and every loser hears who holds the GPU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_bookings_one_winner_on_a_sqlite_file() {
    sixty_four_concurrent_bookings_one_winner::scenario(Backend::SqliteFile).await
}
