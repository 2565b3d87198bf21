//! Slack's own surfaces through signed requests: `app_home_opened` publishes a Home tab that
//! Slack's model accepts (for a user with bookings and containers, and for one with nothing),
//! refreshed when the user's own state changes and at most once a minute otherwise; the
//! booking form opens from each entry point (`/maison book`, the Home button, the shortcut);
//! a submission with bad fields gets field errors and books nothing; a valid one books and
//! DMs the reply. On SQLite and PostgreSQL.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;

use fake_agent::container;
use maison_agent_api::ContainerState;
use maison_bot::core::actions;
use maison_bot::ports::Fleet;
use maison_tests::{
    Backend, BotTester, TEAM, buttons, click_payload, on_both_databases, reply_text, test_config,
    test_start,
};
use serde_json::{Value, json};
use slack_morphism::prelude::SlackView;

/// Alice (or whoever) opens the app's Home tab.
async fn open_home(bot: &BotTester, user: &str, event_id: &str) {
    let body = json!({
        "type": "event_callback", "team_id": TEAM, "api_app_id": "A0MAISON",
        "event_id": event_id, "event_time": 1_700_000_000,
        "event": {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"},
    });
    let (status, text) = bot
        .post_signed("/slack/events", "application/json", &body.to_string())
        .await;
    assert_eq!(status, 200, "{text}");
}

/// The next `views.publish`: whose tab, and its view, checked against Slack's own model.
async fn published(bot: &BotTester) -> (String, Value) {
    let call = bot.slack.expect("views.publish").await;
    let view = call.args["view"].clone();
    serde_json::from_value::<SlackView>(view.clone()).expect("a view Slack accepts");
    assert_eq!(view["type"], "home");
    (call.args["user_id"].as_str().unwrap().to_owned(), view)
}

/// All the text of a view's blocks.
fn view_text(view: &Value) -> String {
    reply_text(&json!({"text": "", "blocks": view["blocks"]}))
}

/// The next `views.open`: its trigger and its (valid) modal.
async fn opened_form(bot: &BotTester) -> (String, Value) {
    let call = bot.slack.expect("views.open").await;
    let view = call.args["view"].clone();
    serde_json::from_value::<SlackView>(view.clone()).expect("a modal Slack accepts");
    assert_eq!(view["type"], "modal");
    assert_eq!(view["callback_id"], "booking_form");
    (call.args["trigger_id"].as_str().unwrap().to_owned(), view)
}

/// Submits the booking form as `user`; returns the HTTP answer's body (`""` to close it).
async fn submit(bot: &BotTester, user: &str, fields: [(&str, &str); 5]) -> String {
    let [host, gpus, date, time, duration] = fields.map(|(_, v)| v);
    let payload = json!({
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "maison"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0MAISON",
        "trigger_id": "1.2.9",
        "view": {
            "id": "V0FORM", "type": "modal", "callback_id": "booking_form",
            "title": {"type": "plain_text", "text": "Book GPUs"},
            "blocks": [],
            "state": {"values": {
                "host": {"host": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": host}, "value": host}}},
                "gpus": {"gpus": {"type": "number_input", "value": gpus}},
                "date": {"date": {"type": "datepicker", "selected_date": date}},
                "time": {"time": {"type": "timepicker", "selected_time": time}},
                "duration": {"duration": {"type": "plain_text_input", "value": duration}},
                "note": {"note": {"type": "plain_text_input", "value": null}},
            }},
        },
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    let (status, text) = bot
        .post_signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    text
}

on_both_databases! {
    async fn the_home_tab_shows_bookings_containers_and_the_fleet(backend: Backend) {
        let agent = Arc::new(fake_agent::FakeAgent::new("gpu01", 2));
        agent.edit(|s| {
            s.containers = vec![container(
                "alice-train", Some("U0ALICE"), ContainerState::Running, "Up 1 hour",
                test_start(), &[0],
            )];
        });
        let mut fleet = Fleet::default();
        fleet.insert("gpu01", agent);
        let mut config = test_config();
        config.slack.announce_channel = None;
        let bot = BotTester::start_with_fleet(backend, config, fleet).await;
        bot.command("U0ALICE", "book gpu01 2h").await;

        open_home(&bot, "U0ALICE", "Ev0001").await;
        let (user, view) = published(&bot).await;
        assert_eq!(user, "U0ALICE");
        let text = view_text(&view);
        assert!(text.contains("Your bookings"), "{text}");
        assert!(text.contains("*#1* `gpu01` GPU 0"), "{text}");
        assert!(text.contains("`alice-train` on `gpu01`"), "{text}");
        assert!(text.contains("`gpu01` ■□ 1/2 booked"), "{text}");
        assert!(text.contains("`gpu03` □□□□□□□□ 0/8 booked"), "{text}");
        let pressable: Vec<String> = buttons(&json!({"blocks": view["blocks"]}))
            .into_iter()
            .map(|(action, _)| action)
            .collect();
        for action in [actions::HOME_BOOK, actions::RELEASE, actions::EXTEND_1H, actions::STOP_CONTAINER] {
            assert!(pressable.iter().any(|a| a == action), "{action} missing: {pressable:?}");
        }

        // Carol has nothing: the tab says so (and still offers the form).
        open_home(&bot, "U0CAROL", "Ev0002").await;
        let (user, view) = published(&bot).await;
        assert_eq!(user, "U0CAROL");
        assert!(view_text(&view).contains("No current or upcoming bookings"));

        // Opened again at once: not published again (Slack's rate limits).
        open_home(&bot, "U0ALICE", "Ev0003").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let unread = bot.slack.unread();
        assert!(unread.iter().all(|c| c.method != "views.publish"), "{unread:#?}");
        // Her own change refreshes it.
        bot.command("U0ALICE", "release 1").await;
        let (user, view) = published(&bot).await;
        assert_eq!(user, "U0ALICE");
        assert!(view_text(&view).contains("No current or upcoming bookings"), "{}", view_text(&view));
        bot.finish().await;
    }

    /// A `ja-JP` user's Home tab, booking form and the form's field errors are Japanese; the
    /// buttons do what they always do.
    async fn a_japanese_user_gets_a_japanese_home_tab_and_form(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.slack.set_locale("U0ALICE", "ja-JP");
        let booked = bot.command_text("U0ALICE", "book gpu01 2h").await;
        assert!(booked.contains("予約しました"), "{booked}");
        // The channel's announcement stays in the channel's language (English here).
        let announced = bot.slack.expect_matching("chat.postMessage", |c| c.args["channel"] == "C0ANNOUNCE").await;
        assert!(reply_text(&announced.args).contains("booked `gpu01`"));
        open_home(&bot, "U0ALICE", "Ev0JA").await;
        let (user, view) = published(&bot).await;
        assert_eq!(user, "U0ALICE");
        let text = view_text(&view);
        for expected in ["あなたの予約", "あなたのコンテナ", "フリート", "予約中、□ 空き"] {
            assert!(text.contains(expected), "{expected:?} missing:\n{text}");
        }
        for english in ["Your bookings", "Fleet", "booked now", "None running"] {
            assert!(!text.contains(english), "{english:?} left:\n{text}");
        }
        assert_eq!(buttons(&json!({"blocks": view["blocks"]}))[0].0, actions::HOME_BOOK);

        let reply = bot.command_text("U0ALICE", "book").await;
        assert!(reply.contains("予約フォームを開いています"), "{reply}");
        let (_, form) = opened_form(&bot).await;
        // The open tab is refreshed after her command, still in Japanese.
        let (_, view) = published(&bot).await;
        assert!(view_text(&view).contains("あなたの予約"));
        assert_eq!(form["title"]["text"], "GPU を予約");
        let options = form["blocks"][0]["element"]["options"].as_array().unwrap();
        assert_eq!(options[1]["text"]["text"], "gpu02 — GPU 2 基中 2 基が空き");
        let answer = submit(&bot, "U0ALICE", [("host", ""), ("gpus", "0"), ("date", "2026-11-30"), ("time", "08:00"), ("duration", "soon")]).await;
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["errors"]["host"], "ホストを選んでください。");
        assert_eq!(answer["errors"]["time"], "その時刻はすでに過ぎています（現在 今日 9:00）。");
        bot.finish().await;
    }

    async fn the_booking_form_opens_everywhere_and_books_or_says_what_is_wrong(backend: Backend) {
        let bot = BotTester::start(backend).await;
        // 1. `/maison book` with nothing after it.
        let reply = bot.command_text("U0ALICE", "book").await;
        assert!(reply.contains("Opening the booking form"), "{reply}");
        let (trigger, form) = opened_form(&bot).await;
        assert_eq!(trigger, "1.2.3");
        let options = form["blocks"][0]["element"]["options"].as_array().unwrap();
        assert_eq!(options[0]["text"]["text"], "gpu01 — 2 of 2 GPUs free now");
        // 2. The Home tab's button.
        let payload = click_payload("U0ALICE", actions::HOME_BOOK, "", &bot.slack.response_url(), None);
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        bot.post_signed("/slack/interactions", "application/x-www-form-urlencoded", &body).await;
        opened_form(&bot).await;
        bot.slack.expect("response_url").await;
        // 3. The global shortcut.
        let shortcut = json!({
            "type": "shortcut", "callback_id": "book_gpus", "trigger_id": "1.2.7",
            "team": {"id": TEAM, "domain": "maison"}, "user": {"id": "U0ALICE", "team_id": TEAM},
            "api_app_id": "A0MAISON", "token": "x", "action_ts": "1",
        });
        let body = serde_urlencoded::to_string([("payload", shortcut.to_string())]).unwrap();
        bot.post_signed("/slack/interactions", "application/x-www-form-urlencoded", &body).await;
        let (trigger, _) = opened_form(&bot).await;
        assert_eq!(trigger, "1.2.7");

        // Bad fields: each told on its own field, nothing booked. Alice is in Paris (08:00 UTC
        // is 09:00 there).
        let answer = submit(&bot, "U0ALICE", [("host", "gpu02"), ("gpus", "0"), ("date", "2026-11-30"), ("time", "08:00"), ("duration", "soon")]).await;
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["response_action"], "errors");
        assert_eq!(answer["errors"]["time"], "That is already past: it is today 09:00 now.");
        assert!(answer["errors"]["gpus"].as_str().unwrap().contains("at least 1"));
        assert!(answer["errors"]["duration"].as_str().unwrap().contains("like 30m"));
        assert!(bot.db().bookings_overlapping(None, 0, i64::MAX).await.unwrap().is_empty());

        // A valid one books, closes the form and DMs the reply.
        let answer = submit(&bot, "U0ALICE", [("host", "gpu02"), ("gpus", "2"), ("date", "2026-11-30"), ("time", "14:00"), ("duration", "2h")]).await;
        assert_eq!(answer, "", "the form closes");
        let booked = bot.db().bookings_overlapping(None, 0, i64::MAX).await.unwrap();
        assert_eq!(booked.len(), 1);
        assert_eq!((booked[0].host.as_str(), booked[0].gpus.clone()), ("gpu02", vec![0, 1]));
        assert_eq!(booked[0].start, test_start().timestamp() + 5 * 3600);
        let announced = bot.slack.expect_matching("chat.postMessage", |c| c.args["channel"] == "C0ANNOUNCE").await;
        assert!(reply_text(&announced.args).contains("booked `gpu02`"));
        let dm = bot.slack.expect_matching("chat.postMessage", |c| c.args["channel"] == "DU0ALICE").await;
        assert!(reply_text(&dm.args).contains("Booked `gpu02` GPUs 0,1 for today 14:00–16:00"), "{dm:?}");

        // The same slot again: refused on the host field, with the command's rules.
        let answer = submit(&bot, "U0BOB", [("host", "gpu02"), ("gpus", "1"), ("date", "2026-11-30"), ("time", "09:00"), ("duration", "1h")]).await;
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["errors"]["host"], "gpu02 is taken then. Pick another host or time.");
        bot.finish().await;
    }
}

#[test]
fn the_booking_form_is_a_view_slack_accepts() {
    use maison_bot::core::replies::home::{FormHost, booking_form};
    for lang in maison_command::Lang::ALL {
        let form = booking_form(
            &[FormHost {
                name: "gpu01".into(),
                gpu_count: 2,
                free_now: 1,
            }],
            test_start().timestamp(),
            chrono_tz::UTC,
            lang,
        );
        if let Err(err) = serde_json::from_value::<SlackView>(form.clone()) {
            panic!("{err}: {form:#}");
        }
        // Slack caps a modal's title at 24 characters.
        assert!(form["title"]["text"].as_str().unwrap().chars().count() <= 24);
    }
}

/// In the terminal there is no form: `book` alone gets the usual answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_trigger_book_alone_explains_itself() {
    let bot = BotTester::start(Backend::Sqlite).await;
    let reply = bot
        .app
        .handle_command(&maison_bot::app::Invocation {
            team_id: TEAM.into(),
            user_id: "U0ALICE".into(),
            text: "book".into(),
            ..Default::default()
        })
        .await;
    assert!(reply.text.contains("host"), "{}", reply.text);
    assert!(bot.slack.unread().iter().all(|c| c.method != "views.open"));
    bot.finish().await;
}
