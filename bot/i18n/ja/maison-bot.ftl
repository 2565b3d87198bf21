# Maison の日本語メッセージ。ID・属性・変数は英語版 (../en/maison-bot.ftl) と完全に一致させること
# (bot/src/core/i18n.rs のテストで双方向に確認しています)。

## 日付と時刻

day-today = 今日
day-tomorrow = 明日

## 予約

booked = :white_check_mark: `{ $host }` の { $gpus } を { $span } で予約しました（予約 *#{ $id }*）。
    .hint = `/maison release { $id }` で早めに終了、`/maison extend { $id } 1h` で 1 時間延長、`/maison mine` で予約の一覧を表示できます。

booking-cancelled = :wastebasket: 予約 #{ $id } を取り消しました（`{ $host }` の { $gpus }、{ $start } 開始の予定）。
booking-released = :wave: 予約 #{ $id } を終了しました。`{ $host }` の { $gpus } は空きに戻りました。
booking-extended = :stopwatch: 予約 #{ $id } を { $by } 延長しました。`{ $host }` の { $gpus } は { $end } まで使えます。
nothing-to-release-on = `{ $host }` で実行中の予約はありません。`/maison mine` で予約の一覧を表示できます。
nothing-to-release = 実行中の予約はありません。`/maison mine` で予約の一覧を表示できます。
