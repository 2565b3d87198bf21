//! Each person is answered in their Slack locale's language (issue 12): a Japanese user books in
//! Japanese words and reads a Japanese reply, and their reminder DMs come in Japanese with
//! Japanese buttons, while an English user and the channel stay English. Each runs on SQLite
//! and on PostgreSQL.

use maison_bot::core::clock::Clock;
use maison_bot::jobs::{reminders, reports};
use maison_command::Lang;
use maison_tests::fake_slack::Call;
use maison_tests::{Backend, BotTester, on_both_databases, reply_text, test_config};

/// Runs the reminders job now and answers the DM it sends whose text contains `wanted`.
async fn reminder(bot: &BotTester, wanted: &str) -> Call {
    reminders::run(&bot.app, bot.clock.now()).await.unwrap();
    bot.slack
        .expect_matching("chat.postMessage", |call| {
            call.args["text"]
                .as_str()
                .is_some_and(|t| t.contains(wanted))
        })
        .await
}

/// A bot whose workspace has Hanako (`U0HANAKO`), whose Slack locale is `ja-JP`.
async fn with_hanako(backend: Backend) -> BotTester {
    let bot = BotTester::start(backend).await;
    bot.slack.add_user("U0HANAKO", "Hanako", "Asia/Tokyo");
    bot.slack.set_locale("U0HANAKO", "ja-JP");
    bot
}

/// The text of the report a job said it `queued` for the `C0FLEET` channel, once posted.
async fn posted_to_fleet(bot: &BotTester, queued: &str) -> String {
    assert!(queued.contains("queued for C0FLEET"), "{queued}");
    let posted = bot
        .slack
        .expect_matching("chat.postMessage", |call| call.args["channel"] == "C0FLEET")
        .await;
    reply_text(&posted.args)
}

/// The labels of a message's buttons, in order (a reply, or a posted message's arguments).
fn button_labels(message: &serde_json::Value) -> Vec<String> {
    message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|block| block["elements"].as_array())
        .flatten()
        .filter_map(|element| element["text"]["text"].as_str())
        .map(str::to_owned)
        .collect()
}

on_both_databases! {
    /// A `ja-JP` user's reminder DM is Japanese, its buttons too (doing what they always do);
    /// after `lang en` the next one is English.
    async fn reminder_dms_follow_the_recipients_language(backend: Backend) {
        let bot = with_hanako(backend).await;
        let now = bot.clock.now();
        let soon = (now + chrono::Duration::minutes(10))
            .with_timezone(&chrono_tz::Asia::Tokyo)
            .format("%H:%M")
            .to_string();
        let text = bot
            .command_text("U0HANAKO", &format!("book gpu01 30分 {soon}"))
            .await;
        assert!(text.contains("予約しました（予約 *#1*）"), "{text}");
        bot.slack.expect("chat.postMessage").await; // the channel's announcement

        let dm = reminder(&bot, "の予約 *#1* は").await;
        let dm_text = dm.args["text"].as_str().unwrap();
        assert!(dm_text.contains("（あと 10 分）に始まり"), "{dm_text}");
        assert_eq!(button_labels(&dm.args), ["1時間延長", "終了"], "{:?}", dm.args);
        let action_ids: Vec<&str> = dm.args["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|block| block["elements"].as_array())
            .flatten()
            .filter_map(|element| element["action_id"].as_str())
            .collect();
        assert_eq!(
            action_ids,
            [
                maison_bot::core::actions::REMIND_EXTEND_1H,
                maison_bot::core::actions::REMIND_RELEASE
            ]
        );

        // English from now on: the next booking's reminder reads English.
        let text = bot.command_text("U0HANAKO", "lang en").await;
        assert!(text.contains("From now on I answer you in English"), "{text}");
        let text = bot
            .command_text("U0HANAKO", &format!("book gpu01:1 30m {soon}"))
            .await;
        assert!(text.contains("Booked `gpu01` GPU 1"), "{text}");
        bot.slack.expect("chat.postMessage").await; // the channel's announcement
        let dm = reminder(&bot, "Your booking *#2*").await;
        assert_eq!(button_labels(&dm.args), ["Extend 1h", "Release"], "{:?}", dm.args);
        bot.finish().await;
    }

    async fn a_japanese_locale_gets_japanese_replies(backend: Backend) {
        let bot = with_hanako(backend).await;

        // Japanese durations and days, English command words.
        let reply = bot.command("U0HANAKO", "book gpu01 2時間 明日 9:00").await;
        let text = reply_text(&reply);
        assert!(
            text.contains("`gpu01` の GPU 0 を 明日 9:00–11:00 で予約しました（予約 *#1*）。"),
            "{text}"
        );
        assert!(!text.contains("Booked"), "{text}");
        let text = bot.command_text("U0HANAKO", "extend 1 30分").await;
        assert!(
            text.contains("予約 #1 を 30分 延長しました。`gpu01` の GPU 0 は 明日 11:30 まで使えます。"),
            "{text}"
        );
        // `mine` lists it with Japanese buttons.
        let mine = bot.command("U0HANAKO", "mine").await;
        assert_eq!(button_labels(&mine), ["終了 #1", "1時間延長 #1"], "{mine}");
        let text = bot.command_text("U0HANAKO", "cancel 1").await;
        assert!(text.contains("予約 #1 を取り消しました"), "{text}");

        // An English locale on the same bot still reads English.
        let text = bot.command_text("U0ALICE", "book gpu01:1 1h").await;
        assert!(text.contains("Booked `gpu01` GPU 1"), "{text}");

        // The channel announcements are not the booker's language: both are English.
        for booker in ["U0HANAKO", "U0ALICE"] {
            let announced = bot
                .slack
                .expect_matching("chat.postMessage", |call| {
                    call.args["text"]
                        .as_str()
                        .is_some_and(|t| t.contains(&format!("<@{booker}> booked")))
                })
                .await;
            assert_eq!(announced.args["channel"], "C0ANNOUNCE");
        }
        bot.finish().await;
    }

    /// `/maison lang` overrides the Slack locale for one person, and `lang auto` gives it back.
    async fn lang_overrides_the_slack_locale_and_auto_restores_it(backend: Backend) {
        let bot = with_hanako(backend).await;

        let text = bot.command_text("U0HANAKO", "lang").await;
        assert!(text.contains("Slack の言語設定に合わせて、日本語でお答えしています"), "{text}");
        let text = bot.command_text("U0HANAKO", "lang en").await;
        assert!(text.contains("From now on I answer you in English"), "{text}");
        let text = bot.command_text("U0HANAKO", "book gpu01 1h").await;
        assert!(text.contains("Booked `gpu01` GPU 0"), "{text}");
        bot.slack.expect("chat.postMessage").await; // the channel's announcement
        let text = bot.command_text("U0HANAKO", "lang").await;
        assert!(text.contains("as you chose with `/maison lang`"), "{text}");

        let text = bot.command_text("U0HANAKO", "lang auto").await;
        assert!(text.contains("Slack の言語設定に合わせます"), "{text}");
        let text = bot.command_text("U0HANAKO", "cancel 1").await;
        assert!(text.contains("予約 #1 を取り消しました"), "{text}");

        // An English locale may choose Japanese too; a language Maison does not speak is refused.
        let text = bot.command_text("U0ALICE", "lang ja").await;
        assert!(text.contains("これからは日本語でお答えします"), "{text}");
        let text = bot.command_text("U0ALICE", "lang fr").await;
        // Alice now reads Japanese, refusals included.
        assert!(
            text.contains("`en`、`ja`、`auto` のいずれかを指定してください（`fr` は使えません）"),
            "{text}"
        );
        bot.finish().await;
    }

    /// The channel follows `[slack] channel_language`, whoever booked: announcements, the daily
    /// report and the weekly capacity report.
    async fn the_channel_follows_its_own_language(backend: Backend) {
        let mut config = test_config();
        config.slack.channel_language = Lang::Ja;
        config.reports.channel = Some("C0FLEET".into());
        let bot = BotTester::start_with(backend, config).await;
        let text = bot.command_text("U0ALICE", "book gpu02 1h").await;
        assert!(text.contains("Booked `gpu02`"), "{text}");
        let announced = bot.slack.expect("chat.postMessage").await;
        assert_eq!(announced.args["channel"], "C0ANNOUNCE");
        let text = announced.args["text"].as_str().unwrap();
        assert!(text.contains("<@U0ALICE> さんが `gpu02` の GPU 0 を 今日 "), "{text}");
        assert!(text.contains("で予約しました"), "{text}");

        // The daily report in the channel is Japanese too, while `report day` follows its
        // reader (English for Alice, whose Slack locale is not Japanese).
        let slot = bot.clock.now().with_timezone(&chrono_tz::UTC) + chrono::Duration::days(1);
        let queued = reports::post_daily(&bot.app, bot.clock.now(), slot).await.unwrap();
        let report = posted_to_fleet(&bot, &queued).await;
        assert!(
            report.contains("GPU フリートレポート") && report.contains("予約"),
            "{report}"
        );
        assert!(!report.contains("booked"), "{report}");
        let chart = bot.slack.expect("files.completeUploadExternal").await;
        let title = chart.args["files"][0]["title"].as_str().unwrap_or_default();
        assert!(title.starts_with("GPU 使用率"), "{title}");
        let mine = bot.command_text("U0ALICE", "report day").await;
        assert!(mine.contains("GPU fleet report"), "{mine}");
        let queued = reports::post_capacity(&bot.app, bot.clock.now(), slot).await.unwrap();
        let report = posted_to_fleet(&bot, &queued).await;
        assert!(report.contains("GPU キャパシティ") && report.contains("予測:"), "{report}");
        let mine = bot.command_text("U0ALICE", "report week").await;
        assert!(mine.contains("GPU capacity"), "{mine}");

        // The monthly report and its chart: the caption names the chart's lines in Japanese
        // (the picture itself carries numbers only).
        let queued = reports::post_monthly(&bot.app, bot.clock.now(), slot).await.unwrap();
        let report = posted_to_fleet(&bot, &queued).await;
        assert!(report.contains("GPU キャパシティ"), "{report}");
        let chart = bot.slack.expect("files.completeUploadExternal").await;
        let title = chart.args["files"][0]["title"].as_str().unwrap_or_default();
        assert!(title.contains("容量（赤の線）"), "{title}");
        bot.finish().await;
    }

    /// `report what-if` answers in its reader's language.
    async fn what_if_follows_its_reader(backend: Backend) {
        let bot = with_hanako(backend).await;
        let text = bot.command_text("U0HANAKO", "report what-if +2 hosts of 8").await;
        assert!(text.contains("試算: GPU 8 基のホスト 2 台を追加したら"), "{text}");
        assert!(text.contains("過去 8 週間"), "{text}");
        for word in ["What if", "GPU-h", "weeks", "Requests"] {
            assert!(!text.contains(word), "{word:?} left in Japanese:\n{text}");
        }
        let text = bot.command_text("U0ALICE", "report what-if +2 hosts of 8").await;
        assert!(text.contains("What if: 2 more hosts of 8 GPUs"), "{text}");
        bot.finish().await;
    }
}

/// `maison-bot try` takes `:lang ja` to try Maison in Japanese, and `:lang en` to go back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_tries_japanese_with_lang() {
    use maison_bot::terminal;
    use maison_tests::TerminalApp;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let TerminalApp {
        db: _db,
        app,
        slack,
    } = TerminalApp::start().await;
    let (mut typing, input) = tokio::io::duplex(4096);
    let (output, mut screen) = tokio::io::duplex(1 << 16);
    let session = tokio::spawn(terminal::run(app, slack, "U0ALICE".into(), input, output));
    typing
        .write_all(":lang ja\n/maison book gpu01 1h\n:lang\n:lang en\nmine\n:quit\n".as_bytes())
        .await
        .unwrap();
    session.await.unwrap().unwrap();
    let mut shown = String::new();
    screen.read_to_string(&mut shown).await.unwrap();
    assert!(shown.contains(":lang ja"), "the banner tells: {shown}");
    assert!(shown.contains("これからは日本語でお答えします"), "{shown}");
    assert!(shown.contains("予約しました（予約 #1）"), "{shown}");
    assert!(shown.contains("/maison lang で選ばれたとおり"), "{shown}");
    assert!(
        shown.contains("From now on I answer you in English"),
        "{shown}"
    );
    assert!(shown.contains("[Release #1]"), "{shown}");
}
