//! Reminder DMs: each message snapshot-tested, then the `reminders` job end to end on SQLite
//! and PostgreSQL: told once however often it runs, silent while a container is kept and told
//! again when the keep runs out, and every button (Extend, Release, Keep, Stop, Remove, Book it
//! now) through the signed interaction endpoint, audited.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;

use chrono::Duration;
use chrono_tz::Tz;
use fake_agent::{FakeAgent, container, hex_id, minute, posted, reading, settle};
use maison_agent_api::ContainerState;
use maison_bot::core::actions;
use maison_bot::core::booking::BookingView;
use maison_bot::core::clock::Clock;
use maison_bot::core::fleet::StoredContainer;
use maison_bot::core::message::Recipient;
use maison_bot::core::reminders::messages::{self, HeldBy};
use maison_bot::jobs::reminders;
use maison_bot::ports::Fleet;
use maison_command::Lang;
use maison_tests::{
    Backend, BotTester, buttons, on_both_databases, reply_text, test_config, test_start,
};

const PARIS: Tz = chrono_tz::Europe::Paris;

fn now() -> i64 {
    test_start().timestamp()
}

fn booking(id: i64, start: i64, end: i64) -> BookingView {
    BookingView {
        id,
        user_id: 1,
        slack_user_id: "U0ALICE".into(),
        display_name: "Alice".into(),
        host: "gpu01".into(),
        gpus: vec![0, 1],
        start,
        end,
        note: None,
        cancelled: false,
        released: false,
        held_until: None,
    }
}

fn stored(state: ContainerState, status: &str, gpus: &[u32]) -> StoredContainer {
    StoredContainer {
        host: "gpu01".into(),
        id: hex_id("alice-train"),
        name: "alice-train".into(),
        image: "pytorch:2.4".into(),
        image_id: "sha256:1234".into(),
        state,
        status: status.into(),
        created_at: now() - 20 * 86_400,
        owner: Some("U0ALICE".into()),
        owner_name: None,
        booking: None,
        image_source: None,
        gpus: gpus.to_vec(),
        first_seen_at: now() - 20 * 86_400,
        seen_at: now(),
    }
}

fn held(owner: Option<&str>) -> HeldBy {
    HeldBy {
        host: "gpu01".into(),
        gpu: 1,
        container_id: hex_id("alice-train"),
        container_name: "alice-train".into(),
        owner: owner.map(str::to_owned),
    }
}

/// The snapshot's name: the English one as it always was, `_ja` for Japanese.
fn named(base: &str, lang: Lang) -> String {
    match lang {
        Lang::En => base.to_owned(),
        Lang::Ja => format!("{base}_ja"),
    }
}

#[test]
fn booking_reminder_snapshots() {
    for lang in Lang::ALL {
        let starts = messages::booking_starts(
            &booking(12, now() + 600, now() + 7800),
            None,
            now(),
            PARIS,
            lang,
        );
        insta::assert_snapshot!(named("booking_starts", lang), starts.to_terminal());
        let ends =
            messages::booking_ends(&booking(12, now() - 3600, now() + 900), now(), PARIS, lang);
        insta::assert_snapshot!(named("booking_ends", lang), ends.to_terminal());
        // The buttons read in the recipient's language; what they do does not change.
        let pairs: Vec<(&str, &str)> = ends
            .buttons()
            .map(|b| (b.action_id.as_str(), b.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                (actions::REMIND_EXTEND_1H, "12"),
                (actions::REMIND_RELEASE, "12")
            ]
        );
    }
}

#[test]
fn container_reminder_snapshots() {
    for lang in Lang::ALL {
        let stopped = stored(ContainerState::Exited, "Exited (0) 10 days ago", &[]);
        let reply =
            messages::container_stopped(&stopped, now() - 10 * 86_400, 7, now(), PARIS, lang);
        insta::assert_snapshot!(named("container_stopped", lang), reply.to_terminal());
        let running = stored(ContainerState::Running, "Up 3 days", &[0, 1]);
        let reply = messages::container_idle(&running, now() - 5 * 3600, 7, now(), PARIS, lang);
        insta::assert_snapshot!(named("container_idle", lang), reply.to_terminal());
        let pairs: Vec<(&str, String)> = reply
            .buttons()
            .map(|b| (b.action_id.as_str(), b.value.clone()))
            .collect();
        let id = hex_id("alice-train");
        assert_eq!(
            pairs,
            [
                (actions::KEEP_CONTAINER, format!("gpu01/{id}")),
                (actions::STOP_CONTAINER, id.clone()),
                (actions::REMOVE_CONTAINER, id.clone()),
            ]
        );
    }
}

#[test]
fn gpu_use_reminder_snapshots() {
    for lang in Lang::ALL {
        let reply = messages::unbooked_use(&held(Some("U0ALICE")), lang);
        insta::assert_snapshot!(named("unbooked_use", lang), reply.to_terminal());
        assert_eq!(reply.buttons().next().unwrap().value, "gpu01:1");
        let mut bobs = booking(7, now() - 3600, now() + 3600);
        bobs.slack_user_id = "U0BOB".into();
        let reply = messages::intrusion_to_user(&held(Some("U0ALICE")), &bobs, now(), PARIS, lang);
        insta::assert_snapshot!(named("intrusion_to_user", lang), reply.to_terminal());
        let reply = messages::intrusion_to_owner(&held(Some("U0ALICE")), &bobs, lang);
        insta::assert_snapshot!(named("intrusion_to_owner", lang), reply.to_terminal());
        let reply = messages::intrusion_to_owner(&held(None), &bobs, lang);
        insta::assert_snapshot!(
            named("intrusion_to_owner_unowned", lang),
            reply.to_terminal()
        );
    }
}

/// A bot whose gpu01 has a fake agent; no announcement channel, so bookings post nothing.
async fn bot_with_agent(backend: Backend) -> (BotTester, Arc<FakeAgent>) {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let mut config = test_config();
    config.slack.announce_channel = None;
    let bot = BotTester::start_with_fleet(backend, config, fleet).await;
    (bot, agent)
}

/// Runs the job; returns the DMs it queued, as (recipient, text).
async fn remind(bot: &BotTester) -> Vec<(String, String)> {
    let before = bot.db().outbox_entries().await.unwrap().len();
    reminders::run(&bot.app, bot.clock.now()).await.unwrap();
    bot.db()
        .outbox_entries()
        .await
        .unwrap()
        .into_iter()
        .skip(before)
        .map(|e| match e.to {
            Recipient::User(user) => (user, e.text),
            Recipient::Channel(channel) => panic!("a reminder went to channel {channel}"),
        })
        .collect()
}

on_both_databases! {
    async fn booking_reminders_are_told_once_and_buttons_work(backend: Backend) {
        let (bot, _agent) = bot_with_agent(backend).await;
        // 08:00 now; Carol's booking runs 08:10–08:40.
        let text = bot.command_text("U0CAROL", "book gpu02 30m at 08:10").await;
        assert!(text.contains("booking *#1*"), "{text}");
        let told = remind(&bot).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "U0CAROL");
        assert!(told[0].1.contains("Your booking *#1* of `gpu02` GPU 0 starts today 08:10 (in 10 min)"), "{}", told[0].1);
        // Running the job again, every minute, tells nothing new.
        assert!(remind(&bot).await.is_empty());
        bot.clock.advance(Duration::minutes(1));
        assert!(remind(&bot).await.is_empty());

        // 08:30: it ends in 10 minutes.
        bot.clock.set(test_start() + Duration::minutes(30));
        let told = remind(&bot).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].1.contains("ends today 08:40 (in 10 min)"), "{}", told[0].1);
        assert!(remind(&bot).await.is_empty());

        // Extend 1h from the DM: the reply is the outcome alone.
        let reply = bot.click("U0CAROL", actions::REMIND_EXTEND_1H, "1").await;
        let text = reply_text(&reply);
        assert!(text.contains("Extended booking #1 by 1h"), "{text}");
        assert!(buttons(&reply).is_empty());
        // Someone else's button does nothing to it.
        let reply = bot.click("U0BOB", actions::REMIND_RELEASE, "1").await;
        assert!(reply_text(&reply).contains("belongs to <@U0CAROL>"));
        // The new end is a new occurrence: told again when it comes near.
        assert!(remind(&bot).await.is_empty());
        bot.clock.set(test_start() + Duration::minutes(90));
        let told = remind(&bot).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].1.contains("ends today 09:40"), "{}", told[0].1);
        let reply = bot.click("U0CAROL", actions::REMIND_RELEASE, "1").await;
        assert!(reply_text(&reply).contains("Released booking #1"), "{reply}");
        let actions: Vec<String> = bot.db().audit_log().await.unwrap().into_iter().map(|a| a.action).collect();
        assert_eq!(actions, ["book", "extend", "release"]);
        // The outbox delivered the three DMs to Carol.
        let dms = posted(&settle(&bot).await);
        assert_eq!(dms.len(), 3, "{dms:?}");
        assert_eq!(dms.iter().filter(|(channel, _)| channel == "DU0CAROL").count(), 3, "{dms:?}");
        bot.finish().await;
    }

    async fn container_reminders_keep_stop_and_remove(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend).await;
        let start = test_start();
        agent.edit(|s| {
            s.containers = vec![
                container("alice-old", Some("U0ALICE"), ContainerState::Exited, "Exited (0) 10 days ago", start - Duration::days(12), &[]),
                container("bob-idle", Some("U0BOB"), ContainerState::Running, "Up 6 hours", start - Duration::hours(6), &[1]),
                container("nobodys", None, ContainerState::Exited, "Exited (0) 3 weeks ago", start - Duration::days(30), &[]),
                container("carol-fresh", Some("U0CAROL"), ContainerState::Exited, "Exited (0) 2 days ago", start - Duration::days(3), &[]),
            ];
            // Bob's container last used its GPU six hours ago.
            s.rollups = vec![minute(start - Duration::hours(6) - Duration::minutes(1), 1, 90.0, Some(("bob-idle", Some("U0BOB"))))];
        });
        bot.poller().poll_once().await;
        let told = remind(&bot).await;
        let mut who: Vec<&str> = told.iter().map(|(u, _)| u.as_str()).collect();
        who.sort_unstable();
        assert_eq!(who, ["U0ALICE", "U0BOB"], "{told:?}");
        let alice = &told.iter().find(|t| t.0 == "U0ALICE").unwrap().1;
        assert!(alice.contains("`alice-old` on `gpu01` has been stopped for 10 days"), "{alice}");
        let bob = &told.iter().find(|t| t.0 == "U0BOB").unwrap().1;
        assert!(bob.contains("`bob-idle` on `gpu01` holds GPU 1 but has not used them for 6 hours"), "{bob}");
        assert!(remind(&bot).await.is_empty());

        // Keep: only the owner (or an admin); then nothing until the keep runs out.
        let alice_old = format!("gpu01/{}", hex_id("alice-old"));
        let reply = bot.click("U0BOB", actions::KEEP_CONTAINER, &alice_old).await;
        assert!(reply_text(&reply).contains("belongs to <@U0ALICE>"), "{reply}");
        let reply = bot.click("U0ALICE", actions::KEEP_CONTAINER, &alice_old).await;
        let text = reply_text(&reply);
        assert!(text.contains("Keeping `alice-old` on `gpu01`: no reminders about it until Mon 7 Dec 09:00"), "{text}");
        bot.clock.advance(Duration::days(6));
        bot.poller().poll_once().await;
        let told = remind(&bot).await;
        assert_eq!(told.iter().filter(|t| t.0 == "U0ALICE").count(), 0, "{told:?}");
        bot.clock.advance(Duration::days(1) + Duration::minutes(1));
        bot.poller().poll_once().await;
        let told = remind(&bot).await;
        assert_eq!(told.iter().filter(|t| t.0 == "U0ALICE").count(), 1, "{told:?}");
        assert!(remind(&bot).await.is_empty());

        // Stop and Remove go through the agent, owners only, audited.
        let bob_idle = hex_id("bob-idle");
        let reply = bot.click("U0ALICE", actions::STOP_CONTAINER, &bob_idle).await;
        assert!(reply_text(&reply).contains("belongs to"), "{reply}");
        let reply = bot.click("U0BOB", actions::STOP_CONTAINER, &bob_idle).await;
        assert!(reply_text(&reply).to_lowercase().contains("stopped"), "{reply}");
        let reply = bot.click("U0ALICE", actions::REMOVE_CONTAINER, &hex_id("alice-old")).await;
        assert!(reply_text(&reply).to_lowercase().contains("removed"), "{reply}");
        assert_eq!(agent.calls(), [format!("stop {bob_idle}"), format!("rm {}", hex_id("alice-old"))]);
        let audit: Vec<(String, String, String)> = bot
            .db()
            .audit_log()
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.actor, a.action, a.outcome))
            .collect();
        assert_eq!(
            audit,
            [
                ("U0ALICE".to_owned(), "keep".to_owned(), "ok".to_owned()),
                ("U0BOB".to_owned(), "stop".to_owned(), "ok".to_owned()),
                ("U0ALICE".to_owned(), "rm".to_owned(), "ok".to_owned()),
            ]
        );
        let mut dms: Vec<String> = posted(&settle(&bot).await).into_iter().map(|d| d.0).collect();
        dms.sort();
        assert_eq!(dms, ["DU0ALICE", "DU0ALICE", "DU0BOB"]);
        bot.finish().await;
    }

    async fn gpu_use_without_or_inside_a_booking(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend).await;
        let start = test_start();
        // Bob has booked GPU 1 of gpu01; Alice's container runs on GPU 0 (unbooked) and GPU 1.
        let text = bot.command_text("U0BOB", "book gpu01:1 3h").await;
        assert!(text.contains("Booked `gpu01` GPU 1"), "{text}");
        agent.edit(|s| {
            s.containers = vec![container("alice-train", Some("U0ALICE"), ContainerState::Running, "Up 1 minute", start, &[0, 1])];
            s.current = vec![
                reading(start, 0, 90.0, Some(("alice-train", Some("U0ALICE")))),
                reading(start, 1, 90.0, Some(("alice-train", Some("U0ALICE")))),
            ];
        });
        bot.poller().poll_once().await;
        let mut told = remind(&bot).await;
        told.sort();
        assert_eq!(told.len(), 3, "{told:?}");
        assert_eq!(told[0].0, "U0ALICE");
        assert_eq!(told[1].0, "U0ALICE");
        assert_eq!(told[2].0, "U0BOB");
        assert!(told.iter().any(|t| t.1.contains("is using GPU 0 on `gpu01`, which nobody has booked")), "{told:?}");
        assert!(told.iter().any(|t| t.1.contains("inside <@U0BOB>'s booking *#1*")), "{told:?}");
        assert!(told[2].1.contains("<@U0ALICE>'s container `alice-train` is using GPU 1 on `gpu01` during your booking *#1*"), "{}", told[2].1);
        assert!(remind(&bot).await.is_empty());

        // Book it now: GPU 0 for two hours; Alice is then no longer told about GPU 0.
        let reply = bot.click("U0ALICE", actions::BOOK_GPU_NOW, "gpu01:0").await;
        let text = reply_text(&reply);
        assert!(text.contains("Booked `gpu01` GPU 0"), "{text}");
        let booked = bot.db().booking(2).await.unwrap().unwrap();
        assert_eq!((booked.gpus.clone(), booked.end - booked.start), (vec![0], 7200));
        bot.clock.advance(Duration::minutes(1));
        agent.edit(|s| {
            for r in &mut s.current {
                r.at = start + Duration::minutes(1);
            }
        });
        bot.poller().poll_once().await;
        assert!(remind(&bot).await.is_empty());
        let mut dms: Vec<String> = posted(&settle(&bot).await).into_iter().map(|d| d.0).collect();
        dms.sort();
        assert_eq!(dms, ["DU0ALICE", "DU0ALICE", "DU0BOB"]);
        bot.finish().await;
    }

    async fn the_plan_names_each_situation_once(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend).await;
        let start = test_start();
        agent.edit(|s| {
            s.containers = vec![container("ghost", None, ContainerState::Running, "Up 1 hour", start, &[0])];
            s.current = vec![reading(start, 0, 50.0, Some(("ghost", None)))];
        });
        bot.command("U0CAROL", "book gpu01:0 1h").await;
        bot.poller().poll_once().await;
        // An unowned container in Carol's booking: only Carol can be told.
        reminders::run(&bot.app, bot.clock.now()).await.unwrap();
        let rows = bot.db().told_reminders().await.unwrap();
        let mut subjects: Vec<(String, String)> =
            rows.values().map(|r| (r.subject.clone(), r.recipient.clone())).collect();
        subjects.sort();
        assert_eq!(
            subjects,
            [(format!("intrusion:1:0:{}:U0CAROL", hex_id("ghost")), "U0CAROL".to_owned())]
        );
        let dms = posted(&settle(&bot).await);
        assert_eq!(dms.len(), 1, "{dms:?}");
        assert!(dms[0].1.contains("An unowned container, `ghost`"), "{dms:?}");
        bot.finish().await;
    }
}
