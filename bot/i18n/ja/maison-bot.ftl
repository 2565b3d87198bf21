# Maison の日本語メッセージ。ID・属性・変数は英語版 (../en/maison-bot.ftl) と完全に一致させること
# (bot/src/core/i18n.rs のテストで双方向に確認しています)。
# 日本語は斜体で読みにくいため、状態の注記は `_…_` を使わず全角括弧だけで書きます。

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

booking-running = （実行中）
booking-offered = （空き待ちから割り当て: { $until } までに DM で承諾してください）
button-release = 終了 #{ $id }
button-extend-1h = 1時間延長 #{ $id }
which-to-release = 実行中の予約が複数あります。終了する予約を指定してください（例: `/maison release 12`）:
my-bookings-none = 現在または今後の予約はありません。`/maison book gpu01 2h` で予約できます。
my-bookings-header = 予約一覧
my-bookings-count = 予約は { $count } 件です。

booking-announcement = :calendar: { $user } さんが `{ $host }` の { $gpus } を { $span } で予約しました{ $note }

## 言語

lang-set = :speech_balloon: これからは日本語でお答えします。`/maison lang auto` で Slack の言語設定に合わせる設定に戻せます。
lang-auto = :speech_balloon: Slack の言語設定に合わせます。今は日本語でお答えします。`/maison lang ja` か `/maison lang en` で固定できます。
lang-current-chosen = :speech_balloon: `/maison lang` で選ばれたとおり、日本語でお答えしています。`/maison lang auto` で Slack の言語設定に合わせられます。
lang-current-auto = :speech_balloon: Slack の言語設定に合わせて、日本語でお答えしています。`/maison lang ja` か `/maison lang en` で固定できます。

## そのほかの不具合

working-on-it = :hourglass_flowing_sand: 処理中です… 結果はこのあとここに表示します。
database-unavailable = :hourglass: データベースが応答していません（再起動中かもしれません）。何も変更していません。1 分ほどしてからもう一度お試しください。
database-disk-full = :floppy_disk: Maison のデータベースを置いているディスクがいっぱいのため、何も変更していません。管理者に空き容量を増やしてもらってください。空きができればそのまま使えます。
internal-error = :boom: こちら側で問題が起きたため、何も変更していません。もう一度お試しください。繰り返し失敗する場合は、このリクエスト ID を管理者に伝えてください: `{ $request_id }`

## ヘルプと入力エラー


## 予約の拒否と管理者向けの返答


## フリート: status, launch, ps, stop, who


## プロジェクト


## リマインダーと DM


## ボタン


## ウェイトリスト

