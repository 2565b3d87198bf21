//! Help, refused command lines, booking refusals and `status` are read in the asker's language
//! (issue 12): a `ja-JP` Slack locale reads them in Japanese, an English one in English, on the
//! same bot. Each runs on SQLite and on PostgreSQL.

use maison_tests::{Backend, BotTester, on_both_databases};

on_both_databases! {
    async fn a_japanese_locale_reads_help_errors_refusals_and_status_in_japanese(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.slack.add_user("U0HANAKO", "Hanako", "Asia/Tokyo");
        bot.slack.set_locale("U0HANAKO", "ja-JP");

        let text = bot.command_text("U0HANAKO", "help").await;
        assert!(text.contains("*Maison で共有 GPU サーバーを予約できます。*"), "{text}");
        assert!(text.contains("• `cancel <id>`: 予約を取り消します。"), "{text}");
        let text = bot.command_text("U0HANAKO", "help cancel").await;
        assert!(text.contains("*使い方*\n`/maison cancel <id>`"), "{text}");
        assert!(!text.contains("Usage"), "{text}");

        let text = bot.command_text("U0HANAKO", "cancel abc").await;
        assert!(text.contains("`abc` は予約番号ではありません。"), "{text}");
        assert!(text.contains("使い方: `/maison cancel <id>`"), "{text}");
        assert!(!text.contains("is not a booking id"), "{text}");

        let text = bot.command_text("U0HANAKO", "book gpu01:5 1h").await;
        assert!(text.contains("`gpu01` に GPU 5 はありません。GPU の番号は 0〜1 です。"), "{text}");
        let text = bot.command_text("U0HANAKO", "book gpu1 1h").await;
        assert!(text.contains("`gpu1` というホストはありません。`gpu01` のことですか？"), "{text}");
        let text = bot.command_text("U0HANAKO", "hosts").await;
        assert!(text.contains("この操作は Maison の管理者だけができます"), "{text}");

        let text = bot.command_text("U0HANAKO", "status").await;
        assert!(text.contains("GPU フリート: 今空いている GPU は 12 基です。"), "{text}");
        assert!(text.contains("`gpu01` □□ 0/2 予約中"), "{text}");
        assert!(!text.contains("booked"), "{text}");
        let text = bot.command_text("U0HANAKO", "status gpu01").await;
        assert!(text.contains("`GPU 0` :large_green_circle: 空き"), "{text}");
        bot.finish().await;
    }

    async fn an_english_locale_reads_them_in_english(backend: Backend) {
        let bot = BotTester::start(backend).await;

        let text = bot.command_text("U0ALICE", "help").await;
        assert!(text.contains("*Maison books shared GPU servers.*"), "{text}");
        let text = bot.command_text("U0ALICE", "cancel abc").await;
        assert!(text.contains("`abc` is not a booking id."), "{text}");
        assert!(text.contains("Usage: `/maison cancel <id>`"), "{text}");
        let text = bot.command_text("U0ALICE", "book gpu01:5 1h").await;
        assert!(text.contains("`gpu01` has no GPU 5: its GPUs are 0–1."), "{text}");
        let text = bot.command_text("U0ALICE", "hosts").await;
        assert!(text.contains("Only Maison admins can do that."), "{text}");
        let text = bot.command_text("U0ALICE", "status").await;
        assert!(text.contains("GPU fleet: 12 GPU(s) free now."), "{text}");
        assert!(!text.contains("予約"), "{text}");
        bot.finish().await;
    }
}
