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

admins-only = :no_entry: この操作は Maison の管理者だけができます。管理者（ボットの設定に載っています）に依頼してください。
unknown-host = :grey_question: `{ $name }` というホストはありません。
host-did-you-mean = `{ $host }` のことですか？
hosts-listing = ホスト: { $hosts }
hosts-none-yet = ホストはまだ設定されていません。

taken = :no_entry_sign: `{ $host }` は { $span } に空きがありません。
taken-holder = • GPU { $gpu } — { $user } さんが { $until } まで使用中（#{ $id }）
taken-a-moment-ago = • 直前にほかの人が予約しました。
taken-next-slot = `{ $host }` の次の空きは { $span } です。
taken-no-slot = `{ $host }` には、予約できる期間内にこの長さの空きがありません。
free-now = 今空いているホスト: { $hosts }
free-now-host = `{ $host }`（{ $count } 基空き）
free-now-nowhere = ほかのホストにも今空いている GPU はありません。
extension-taken = :no_entry_sign: 延長できません。この予約のすぐあとに GPU が予約されています。
extension-holder = • GPU { $gpu } — { $user } さんが { $from } から使用（#{ $id }）

nothing-free = :no_entry_sign: { $span } に{ $what }あるホストはありません。
nothing-free-one = 空いている GPU が
nothing-free-several = 空いている GPU が { $count } 基
nothing-free-earliest = いちばん早いのは `{ $host }` の { $from } からです: `/maison book { $host } { $length } at { $at }`
nothing-free-ever = 予約できる期間内にも空きはありません。

refused-drained = :construction: `{ $host }` はメンテナンス中のため、新しい予約を受け付けていません。`/maison book any …` かほかのホストをお試しください。
refused-no-such-gpu = :grey_question: `{ $host }` に GPU { $gpu } はありません。GPU の番号は 0〜{ $last } です。例: `/maison book { $host }:0 2h`
refused-no-gpus = :grey_question: `{ $host }` には予約できる GPU がありません。
refused-not-enough-gpus = :grey_question: `{ $host }` の GPU は { $count } 基ですが、{ $wanted } 基を指定しています。
refused-in-past = :hourglass: その時刻はもう過ぎています。予約は今以降から始めてください（例: `/maison book gpu01 2h`、`… at 14:00`）。
refused-too-long = :straight_ruler: 予約できるのは最長 { $max } です。まずその長さで予約し、必要ならあとで `/maison extend` で延長してください。
refused-too-far-ahead = :calendar: 予約を始められるのは最大 { $max } 先までです。
refused-user-limit = :scales: この予約で同時に使う GPU が { $would_hold } 基になります。上限は 1 人 { $max } 基です。先にどれかを終了してください（`/maison mine`）。
refused-not-found = :grey_question: 予約 #{ $id } はありません。自分の予約は `/maison mine` で表示できます。
refused-not-owner = :lock: 予約 #{ $id } は { $owner } さんの予約です。変更できるのは本人か管理者だけです。
refused-already-ended = :grey_question: 予約 #{ $id } はすでに終了したか、取り消されています。
refused-unknown-host = :grey_question: `{ $host }` というホストはありません。
refused-taken = :no_entry_sign: その時間帯はすでに予約されています。
refused-internal = :boom: こちら側で問題が起きたため、何も変更していません。


## フリート: status, launch, ps, stop, who

hosts-none-configured = ホストがまだ設定されていません。ボットの設定に `[[hosts]]` を追加してください。
fleet-header = GPU フリート
fleet-legend = ■ 予約中、□ 空き · 今空いている GPU: { $free } 基 · { $now } · `/maison status <host>` で GPU ごとに、誰がいつまで使うかを表示します
fleet-summary = GPU フリート: 今空いている GPU は { $free } 基です。
board-booked = { $booked }/{ $total } 予約中
board-busy = 使用率 { $pct } %
board-unbooked = :warning: { $gpus } が予約なしで使われています
board-agent-silent = エージェントが応答しません
board-drained = （メンテナンス中）
status-agent-seen = :large_green_circle: エージェント応答あり（{ $seen }）
status-simulated = 模擬 GPU
status-agent-unreachable = :red_circle: エージェントに接続できません（最終応答 { $seen }）
status-agent-not-polled = :white_circle: エージェントはまだ確認していません
status-never-seen = なし
status-host-one-gpu = GPU { $count } 基
status-host-gpus = GPU { $count } 基
status-drained = :construction: メンテナンス中
status-gpu-held = :red_circle: { $user } さんが { $until } まで使用
status-gpu-free-until = :large_green_circle: { $until } まで空き（その後 { $user } さん）
status-gpu-free = :large_green_circle: 空き
status-readings-stale = 計測値が古くなっています
status-in-use = 現在の使用率 { $pct }%、メモリ { $memory }
status-memory-of = { $used } / { $total }
status-as-of = { $now } 時点（{ $tz }）
status-free-summary = 今空いている GPU は { $free } 基です


## プロジェクト


## リマインダーと DM


## ボタン


## ウェイトリスト

