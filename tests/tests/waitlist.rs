//! The wait-list end to end: signed Slack requests into the real router, the matcher running
//! as in production (nudged by releases and declines), offer DMs read at the fake Slack, and
//! the database inspected afterwards. Each scenario runs on SQLite and on PostgreSQL.

use chrono::Duration;
use maison_bot::core::actions;
use maison_bot::core::reports::weekly;
use maison_bot::store::reports::load_capacity;
use maison_tests::{Backend, BotTester, buttons, on_both_databases, reply_text};
use serde_json::Value;

/// The next DM the bot sends `user` (through the outbox): its text and buttons.
async fn next_dm(bot: &BotTester, user: &str) -> (String, Vec<(String, String)>) {
    let channel = format!("D{user}");
    let posted = bot
        .slack
        .expect_matching("chat.postMessage", |call| {
            call.args["channel"] == channel.as_str()
        })
        .await;
    (reply_text(&posted.args), buttons(&posted.args))
}

/// Reads the channel announcement of a new booking.
async fn announcement(bot: &BotTester) -> String {
    let posted = bot
        .slack
        .expect_matching("chat.postMessage", |call| {
            call.args["channel"] == "C0ANNOUNCE"
        })
        .await;
    reply_text(&posted.args)
}

fn offer_id(buttons: &[(String, String)]) -> String {
    assert_eq!(
        buttons
            .iter()
            .map(|(action, _)| action.as_str())
            .collect::<Vec<_>>(),
        [actions::WAIT_ACCEPT, actions::WAIT_DECLINE],
        "{buttons:?}"
    );
    buttons[0].1.clone()
}

fn text(reply: &Value) -> String {
    reply_text(reply)
}

on_both_databases! {
    async fn wait_then_release_then_offer_then_accept(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0ALICE", "book gpu01:all 2h").await;
        announcement(&bot).await;

        // Bob asks for both GPUs of gpu01 and waits.
        let reply = bot.command_text("U0BOB", "book gpu01 1h --gpus 2 --wait").await;
        assert!(reply.contains("*#1* in line for 2 GPUs on `gpu01` for 1h (request *1*)"), "{reply}");
        // Bob is in New York: Alice's booking ends at 10:00 UTC, 05:00 there.
        assert!(reply.contains("Predicted start today 05:00 on `gpu01`"), "{reply}");
        let line = bot.command_text("U0CAROL", "queue").await;
        assert!(line.contains("*#1* · request *1* <@U0BOB>"), "{line}");
        assert!(bot.slack.unread().is_empty(), "nothing is offered while gpu01 is taken");

        // Alice releases: the matcher is nudged and Bob gets the offer.
        bot.clock.advance(Duration::minutes(30));
        let released = bot.command_text("U0ALICE", "release 1").await;
        assert!(released.contains("Released"), "{released}");
        let (dm, offer_buttons) = next_dm(&bot, "U0BOB").await;
        assert!(dm.contains("GPUs are free for your request *1*: `gpu01` GPUs 0,1"), "{dm}");
        assert!(dm.contains("held for you until today 03:40"), "{dm}");
        let offer = offer_id(&offer_buttons);

        // The held GPUs are nobody else's meanwhile.
        let taken = bot.command_text("U0CAROL", "book gpu01 1h").await;
        assert!(taken.contains("`gpu01` is taken"), "{taken}");
        // Only Bob may answer his offer.
        let not_carols = bot.click("U0CAROL", actions::WAIT_ACCEPT, &offer).await;
        assert!(text(&not_carols).contains("someone else's"), "{not_carols}");

        let accepted = bot.click("U0BOB", actions::WAIT_ACCEPT, &offer).await;
        let request = bot.db().wait_request(1).await.unwrap().expect("request 1");
        assert_eq!(request.state.as_str(), "booked");
        // (PostgreSQL's id sequence also moved for Carol's refused booking.)
        let id = request.booking_id.expect("the request's booking");
        assert!(
            text(&accepted).contains(&format!("Accepted: `gpu01` GPUs 0,1 is yours for today 03:30–04:30 (booking *#{id}*)")),
            "{accepted}"
        );
        let again = bot.click("U0BOB", actions::WAIT_ACCEPT, &offer).await;
        assert!(text(&again).contains("already accepted"), "{again}");
        // The accepted booking is announced like any other, once.
        let announced = announcement(&bot).await;
        assert!(announced.contains("<@U0BOB> booked `gpu01` GPUs 0,1"), "{announced}");

        let booking = bot.db().booking(id).await.unwrap().expect("the booking");
        assert_eq!((booking.slack_user_id.as_str(), booking.gpus.clone()), ("U0BOB", vec![0, 1]));
        assert_eq!(booking.held_until, None);
        let mine = bot.command_text("U0BOB", "mine").await;
        assert!(mine.contains(&format!("*#{id}* `gpu01` GPUs 0,1")), "{mine}");
        let line = bot.command_text("U0CAROL", "queue").await;
        assert!(line.contains("Nobody is waiting"), "{line}");
        let audit: Vec<String> = bot.db().audit_log().await.unwrap().into_iter().map(|a| a.action).collect();
        for action in ["wait", "offer", "offer_accept"] {
            assert!(audit.iter().any(|a| a == action), "{action} missing from {audit:?}");
        }
        bot.finish().await;
    }

    async fn an_unanswered_offer_goes_to_the_next_waiter(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0ALICE", "book gpu02:all 1h").await;
        announcement(&bot).await;
        bot.command("U0BOB", "book gpu02 1h --gpus 2 --wait").await;
        bot.clock.advance(Duration::minutes(1));
        let carol = bot.command_text("U0CAROL", "book gpu02 1h --gpus 2 --wait").await;
        assert!(carol.contains("*#2* in line"), "{carol}");

        bot.command("U0ALICE", "release 1").await;
        let (dm, _) = next_dm(&bot, "U0BOB").await;
        assert!(dm.contains("request *1*"), "Bob is first: {dm}");

        // Bob never answers: ten minutes later his GPUs go to Carol, and he goes to the back.
        bot.clock.advance(Duration::minutes(11));
        bot.app.nudge_matcher();
        let (lapsed, none) = next_dm(&bot, "U0BOB").await;
        assert!(lapsed.contains("went unanswered") && lapsed.contains("back in line"), "{lapsed}");
        assert!(none.is_empty());
        let (offer, offer_buttons) = next_dm(&bot, "U0CAROL").await;
        assert!(offer.contains("request *2*"), "Carol is next: {offer}");
        let declined = bot.click("U0CAROL", actions::WAIT_DECLINE, &offer_id(&offer_buttons)).await;
        assert!(text(&declined).contains("Declined"), "{declined}");

        // Carol declined: Bob is offered them again; missing that one too drops him.
        let (again, _) = next_dm(&bot, "U0BOB").await;
        assert!(again.contains("request *1*"), "{again}");
        bot.clock.advance(Duration::minutes(11));
        bot.app.nudge_matcher();
        let (dropped, _) = next_dm(&bot, "U0BOB").await;
        assert!(dropped.contains("After 2 missed offers the request has left the line"), "{dropped}");
        let bob = bot.db().wait_request(1).await.unwrap().unwrap();
        assert_eq!((bob.state.as_str(), bob.missed_offers), ("dropped", 2));
        let carol = bot.db().wait_request(2).await.unwrap().unwrap();
        assert_eq!(carol.state.as_str(), "declined");
        // Nothing is held any more: the GPUs are free to book.
        let booked = bot.command_text("U0ADMIN", "book gpu02:all 1h").await;
        assert!(booked.contains("Booked `gpu02` GPUs 0,1"), "{booked}");
        announcement(&bot).await;
        let (accepted, declined, expired) = bot.db().offer_outcomes(0, i64::MAX).await.unwrap();
        assert_eq!((accepted, declined, expired), (0, 1, 2));
        // The capacity report counts them, with Bob's 2 GPU-hours as unmet (Carol declined:
        // the GPUs were there for her).
        let now = bot.now_ts();
        let config = bot.app.config.clone();
        let input = load_capacity(bot.db(), &config, now - 86_400, now + 60, chrono_tz::UTC)
            .await
            .unwrap();
        let summary = weekly::summarize(&input);
        assert_eq!(summary.waitlist.offers, (0, 1, 2));
        assert_eq!((summary.waitlist.served, summary.waitlist.unserved), (0, 1));
        assert!((summary.waitlist.unmet_gpu_hours - 2.0).abs() < 1e-9, "{:?}", summary.waitlist);
        assert!(summary.waitlist.idle_gpu_minutes >= 0);
        bot.finish().await;
    }

    async fn a_short_request_backfills_before_the_slot_kept_for_the_head(backend: Backend) {
        let bot = BotTester::start(backend).await;
        // gpu03 has 8 GPUs: Carol holds 0-3 until 10:00, the admin 4-6 until 09:00; 7 is free.
        bot.command("U0CAROL", "book gpu03 2h --gpus 4").await;
        announcement(&bot).await;
        bot.command("U0ADMIN", "book gpu03 1h --gpus 3").await;
        announcement(&bot).await;

        // Bob needs four GPUs for 4 h: the earliest is 09:00 on GPUs 4-7, kept for him.
        let head = bot.command_text("U0BOB", "book gpu03 4h --gpus 4 --wait").await;
        assert!(head.contains("*#1* in line"), "{head}");
        assert!(head.contains("Predicted start today 04:00 on `gpu03`"), "{head}");
        // Alice's 2-hour job would run into Bob's slot: she waits, though GPU 7 is free.
        bot.clock.advance(Duration::minutes(1));
        let long = bot.command_text("U0ALICE", "book gpu03 2h --wait").await;
        assert!(long.contains("*#2* in line"), "{long}");
        // Alice's 30-minute job ends before 09:00: it gets GPU 7 now.
        bot.clock.advance(Duration::minutes(1));
        bot.command("U0ALICE", "book gpu03 30m --wait --auto").await;
        let (dm, no_buttons) = next_dm(&bot, "U0ALICE").await;
        // A matching pass that started before the second minute may book it from then.
        assert!(
            dm.contains("Your turn came: booked `gpu03` GPU 7 for today 09:02–09:32")
                || dm.contains("Your turn came: booked `gpu03` GPU 7 for today 09:01–09:31"),
            "{dm}"
        );
        assert!(no_buttons.is_empty(), "--auto books without asking: {no_buttons:?}");
        assert!(announcement(&bot).await.contains("<@U0ALICE> booked `gpu03` GPU 7"));

        let line = bot.command_text("U0ALICE", "queue").await;
        assert!(line.contains("*#1* · request *1* <@U0BOB>"), "{line}");
        assert!(line.contains("*#2* · request *2* <@U0ALICE> _(you)_"), "{line}");
        let bob = bot.db().wait_request(1).await.unwrap().unwrap();
        assert_eq!(bob.state.as_str(), "waiting");

        // At 09:00 the admin's booking ends: Bob's slot starts and he gets GPUs 4-7 (7 is
        // free again: Alice's half hour is over).
        bot.clock.advance(Duration::minutes(58));
        bot.app.nudge_matcher();
        let (offer, _) = next_dm(&bot, "U0BOB").await;
        assert!(offer.contains("request *1*: `gpu03` GPUs 4,5,6,7"), "{offer}");
        bot.finish().await;
    }

    async fn waits_that_can_never_be_served_are_refused(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let too_many = bot.command_text("U0BOB", "book any 2h --gpus 16 --wait").await;
        assert!(too_many.contains("No host has 16 GPUs: the largest has 8"), "{too_many}");
        let too_short = bot.command_text("U0BOB", "book any 2h --wait --within 1h").await;
        assert!(too_short.contains("shorter than the booking itself"), "{too_short}");
        bot.command("U0ADMIN", "host drain gpu02").await;
        let drained = bot.command_text("U0BOB", "book gpu02 1h --wait").await;
        assert!(drained.contains("`gpu02` is drained"), "{drained}");
        let memory = bot.command_text("U0BOB", "book gpu01 1h --min-mem 40G").await;
        assert!(memory.contains("has not reported its GPU memory"), "{memory}");
        let unknown = bot.command_text("U0BOB", "unwait 99").await;
        assert!(unknown.contains("no wait-list request or offer 99"), "{unknown}");
        assert!(bot.db().open_wait_requests().await.unwrap().is_empty());
        // Nothing was booked or queued by any of these.
        assert!(bot.db().upcoming_bookings_of(1, bot.now_ts()).await.unwrap().is_empty());
        bot.finish().await;
    }

    async fn within_expires_and_unwait_leaves(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0ALICE", "book gpu01:all 4h").await;
        announcement(&bot).await;
        bot.command("U0ALICE", "book gpu02:all 4h").await;
        announcement(&bot).await;
        let reply = bot.command_text("U0BOB", "book gpu01 1h --wait --within 2h").await;
        assert!(reply.contains("If it cannot start by today 04:00, you leave the line"), "{reply}");
        let carol = bot.command_text("U0CAROL", "book gpu01 1h --wait").await;
        assert!(carol.contains("request *2*"), "{carol}");
        let not_yours = bot.command_text("U0BOB", "unwait 2").await;
        assert!(not_yours.contains("someone else's"), "{not_yours}");
        let left = bot.command_text("U0CAROL", "unwait #2").await;
        assert!(left.contains("Request 2 (1 GPU on `gpu01` for 1h) has left the line"), "{left}");

        bot.clock.advance(Duration::minutes(61));
        bot.app.nudge_matcher();
        let (dm, _) = next_dm(&bot, "U0BOB").await;
        assert!(dm.contains("could not start in time"), "{dm}");
        let bob = bot.db().wait_request(1).await.unwrap().unwrap();
        assert_eq!(bob.state.as_str(), "expired");
        bot.finish().await;
    }
}

/// `maison-bot try`: the offer arrives as a DM in the terminal, and its Accept button can be
/// pressed by typing its label, as a reply's buttons can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_terminal_an_offer_dm_can_be_accepted() {
    use maison_bot::core::clock::SystemClock;
    use maison_bot::jobs::matcher::Matcher;
    use maison_bot::outbox::Outbox;
    use maison_bot::terminal;
    use maison_tests::TerminalApp;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_util::sync::CancellationToken;

    let TerminalApp {
        db: test_db,
        app,
        slack,
    } = TerminalApp::start().await;
    let stop = CancellationToken::new();
    Outbox::new(test_db.db.clone(), slack.clone(), Arc::new(SystemClock)).spawn(stop.clone());
    Matcher::new(app.clone()).spawn(stop.clone());
    let (mut typing, input) = tokio::io::duplex(4096);
    let (output, mut screen) = tokio::io::duplex(1 << 16);
    let session = tokio::spawn(terminal::run(app, slack, "U0ALICE".into(), input, output));
    let shown = Arc::new(Mutex::new(String::new()));
    let reader = {
        let shown = shown.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = screen.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                shown
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let wait_for = |text: &'static str| {
        let shown = shown.clone();
        async move {
            for _ in 0..300 {
                if shown.lock().unwrap().contains(text) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("{text:?} never showed: {}", shown.lock().unwrap());
        }
    };
    for line in [
        "/maison book gpu01:all 1h",
        ":user U0BOB",
        "book gpu01 1h --gpus 2 --wait",
    ] {
        typing
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }
    wait_for("in line for 2 GPUs").await;
    typing.write_all(b":user U0ALICE\nrelease\n").await.unwrap();
    wait_for("[Accept] [Decline]").await;
    typing
        .write_all(b":user U0BOB\nAccept\n:quit\n")
        .await
        .unwrap();
    session.await.unwrap().unwrap();
    stop.cancel();
    reader.await.unwrap();
    let shown = shown.lock().unwrap().clone();
    assert!(
        shown.contains("Accepted: gpu01 GPUs 0,1 is yours"),
        "{shown}"
    );
}
