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

## イメージ

image-saved = :floppy_disk: `{ $host }` の `{ $container }` を `{ $image }` として保存しました（{ $size }、元のイメージは `{ $parent }`）。`/maison launch { $host } { $image }` で起動でき、`/maison who { $image }` で由来を確認できます。
image-not-yours-to-save = :lock: `{ $host }` の `{ $container }` は { $owner } さんのコンテナです。イメージとして保存できるのは持ち主だけなので、何も保存していません。
image-unowned-not-saved = :grey_question: `{ $host }` の `{ $container }` には持ち主がいない（Maison の外で作られた）ため、Maison からは誰も保存できません。ご自身のものなら、先に `/maison claim { $container }` を実行してください。
image-built = :hammer_and_wrench: `{ $host }` で `{ $parent }` をもとに `{ $image }` をビルドしました（{ $seconds } 秒、{ $size }、コンテキスト { $context }）。`/maison launch { $host } { $image }` で起動でき、`/maison who { $image }` で作り方を確認できます。
image-dockerfile-no-directory = :no_entry: `{ $dockerfile }` は使えません。Maison の設定にあなたの work・home ディレクトリがないため、ビルド元にできる場所がありません。管理者に `[[users]]` への追加を依頼してください。何もビルドしていません。
image-dockerfile-not-yours = :no_entry: `{ $dockerfile }` はあなた自身のディレクトリ（{ $roots }）の中にありません。ビルドはそこからのみ行えます。何もビルドしていません。
image-copy-progress = :package: `{ $image }` を `{ $host }` へコピー中: { $seconds } 秒で { $done }（{ $rate }/秒）。
image-copy-progress-share = :package: `{ $image }` を `{ $host }` へコピー中: 約 { $total } のうち { $done }（{ $percent } %）、{ $seconds } 秒経過、{ $rate }/秒。
image-build-progress = :hammer_and_wrench: `{ $host }` で `{ $image }` をビルド中（{ $seconds } 秒経過）。
image-build-progress-step = :hammer_and_wrench: `{ $host }` で `{ $image }` をビルド中（{ $seconds } 秒経過）: `{ $step }`
image-progress-done = :white_check_mark: `{ $host }` の `{ $image }` が完了しました。詳細はコマンドへの返信をご覧ください。
image-progress-failed = :warning: `{ $host }` の `{ $image }` は完了しませんでした。理由はコマンドへの返信にあります。
image-already-had = :white_check_mark: `{ $host }` にはこのイメージがすでにありました。そちらでも `{ $image }` という名前で使えるようにしました。
image-copied = :package: `{ $image }` を `{ $source }` から `{ $host }` へコピーしました: { $seconds } 秒で { $size }（{ $rate }/秒）。`/maison launch { $host } { $image }` で起動できます。
image-copied-reused = { $layers } 層のうち { $reused } 層は `{ $host }` にすでにあったため、送っていません。
image-missing-here = :package: `{ $image }` は `{ $host }` になく、エージェントはイメージを pull しません。{ $holders } にあります。`{ $host }` へコピー（エージェント間）してから、もう一度起動してください。何も起動していません。
button-copy-image = { $host } へコピー
image-nothing-to-copy = :grey_question: `{ $image }` というイメージはどのホストにもないため、何もコピーしていません。一覧は `/maison images` で確認できます。
image-not-asked = （応答がなく確認できなかったホスト: { $hosts }）
image-several-called = :twisted_rightwards_arrows: `{ $image }` はホストごとに別のイメージを指しているため、どれをコピーすればよいか分かりません。何もコピーしていません。ID で指定してください:
image-already-on = :white_check_mark: `{ $host }` にはすでに `{ $image }`（`{ $id }`）があります。コピーは不要です。
image-unnamed-not-copied = :warning: イメージ `{ $image }` には名前がありません。コピー先で見つけられるよう、コピーには名前が必要です。今あるホストで名前を付けてください（コンテナの変更なら `/maison image save`）。
image-bad-name = :warning: { $problem }何も保存していません。
image-name-empty = イメージ名が必要です（例: `alice/tuned:v1`）。
image-name-too-long = `{ $name }` は長すぎます（255 文字まで）。
image-name-malformed = `{ $name }` はイメージ名として使えません。英小文字・数字・`._-` を `/` で区切り、必要なら `:タグ`（英数字と `._-`、128 文字まで）を付けてください（例: `alice/tuned:v1`）。
image-name-digest = `{ $name }` はダイジェストを指しています。代わりに名前とタグを指定してください（例: `alice/tuned:v1`）。
image-history-saved = `{ $container }` を保存して作成
image-history-built = `{ $dockerfile }` からビルド（Dockerfile の sha256 `{ $hash }`）
image-history-other = `{ $how }` で作成
image-history-parent = （元: `{ $parent }`）
image-history-booking = 予約 #{ $booking } の中で

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

fleet-host-drained = :construction: `{ $host }` はメンテナンス中のため、新しいコンテナを起動できません。管理者に相談するか、ほかのホストを使ってください。
fleet-no-agent = :electric_plug: `{ $host }` には Maison のエージェントが設定されていない（ボットの設定の `agent_url`）ため、まだ Slack からコンテナを管理できません。
fleet-gpu-not-booked = :no_entry_sign: GPU { $gpu } は `{ $host }` の予約 #{ $id }（{ $gpus }）に含まれていません。予約した GPU で起動するか、先に `/maison book { $host }:{ $gpu } 2h` で予約してください。
fleet-booking-required = :ticket: `{ $host }` で実行中の予約がありません。知らないうちに GPU を共有することがないよう、起動には予約が必要です。予約してから、もう一度起動してください。
fleet-book-now = { $host } を今すぐ予約（GPU 1 基、2時間）
fleet-no-unix-mapping = :bust_in_silhouette: Unix アカウントが対応付けられていないため、コンテナを起動できません（コンテナは root やイメージのユーザーでは動かしません）。管理者に `maison.toml` へ次の設定を追加してもらってください:
fleet-no-booking-warning = :warning: `{ $host }` の予約がないため、コンテナは GPU なしで動きます。GPU を使うには `/maison book { $host } 2h` で予約してください。
fleet-no-gpu = GPU なし
fleet-launching = :hourglass_flowing_sand: `{ $host }` で `{ $image }` から `{ $name }` を起動しています（{ $gpus }）… 起動したらここでお知らせします。
fleet-launched = :rocket: `{ $name }` が `{ $host }` で動いています（{ $image }、{ $gpus }）。
fleet-launched-already = :recycle: 同じリクエストの `{ $name }` がすでに `{ $host }` にあるため、新しくは起動していません。
fleet-enter-hint = 入り方: `ssh { $host }` のあと `maison enter { $name }` を実行してください（docker グループは不要です）。
fleet-launched-commands = `/maison ps` で自分のコンテナを一覧表示 · `/maison stop { $name }` · `/maison rm { $name }`
fleet-agent-unreachable = :electric_plug: `{ $host }` のエージェントに接続できませんでした（{ $error }）。何も変更していません。1 分ほどしてからもう一度お試しください。
fleet-agent-uncallable = :electric_plug: `{ $host }` のエージェントを呼び出せませんでした（{ $error }）。何も変更していません。
fleet-agent-silent = :electric_plug: `{ $host }` のエージェントから応答がありませんでした（{ $error }）。{ $uncertain }。
fleet-uncertain-changed = そのため `{ $name }` が変更されたかどうかわかりません。`/maison ps` で今の状態を確認できます。同じリクエストで 2 つ目のコンテナが起動することはないので、もう一度実行しても大丈夫です
fleet-policy-refused = :shield: `{ $host }` のエージェントが `{ $name }` を拒否しました（ルール `{ $rule }`）: { $message }
fleet-still-running = :warning: `{ $host }` の `{ $name }` はまだ動いています。先に `/maison stop { $name }` を実行してください。
fleet-host-says = :grey_question: `{ $host }` からの応答: { $message }
fleet-agent-failed = :warning: `{ $host }` のエージェントが処理できませんでした: { $message }

owner-claimed = { $user }（申請で取得）
owner-none = （持ち主なし）
ps-title-all = すべてのコンテナ
ps-title-mine = 自分のコンテナ
ps-none-anywhere = 応答のあるホストにコンテナはありません。
ps-none-mine = コンテナはありません。`/maison launch <host> <image>` で起動でき、`/maison ps --all` で全員のコンテナを表示できます。
ps-line = { $state } `{ $name }`（`{ $host }`）· { $image } · { $gpus } · { $status }{ $owner }
ps-more = … ほか { $count } 件
ps-not-answering = :electric_plug: 応答がないため表示していないホスト: { $hosts }
ps-as-of = { $now } 時点
ps-count = コンテナ { $count } 件
no-such-container = :grey_question: `{ $target }` というコンテナはどのホストにもありません。
container-did-you-mean = `{ $name }` のことですか？
no-such-container-hint = `/maison ps --all` で一覧を表示できます。
hosts-did-not-answer = （{ $hosts } から応答がありませんでした）
nothing-called = :grey_question: `{ $target }` というコンテナやイメージはどのホストにもありません。コンテナの名前、ID（4 文字以上）、またはイメージのタグを指定してください。
ambiguous-containers = :grey_question: `{ $target }` に当てはまるコンテナが複数あります。もっと長い ID を指定してください:
ambiguous-container = • `{ $name }`（`{ $host }`、ID `{ $id }`）
ambiguous-images = :grey_question: `{ $target }` に当てはまるイメージが複数のホストにあります。ID を指定してください:
ambiguous-image = • `{ $id }`（`{ $host }`）
not-your-container = :lock: `{ $host }` の `{ $name }` は { $owner } さんのものです。停止や削除ができるのは持ち主か管理者だけです。スレッドで本人に相談してください。
unowned-container = :grey_question: `{ $host }` の `{ $name }` には持ち主がいません（Maison の外で作られました）。自分のものなら、先に `/maison claim { $name }` を実行してください。
container-stopped = :stop_sign: `{ $host }` の `{ $name }` を停止しました。`/maison rm { $name }` で削除できます。
container-removed = :wastebasket: `{ $host }` から `{ $name }` を削除しました。

who-container = *`{ $name }`*（`{ $host }`）— { $status }
who-owner = • 持ち主: { $owner }
who-created = • 作成: { $when }（{ $how }）
who-made-with-maison = Maison で起動
who-made-outside = Maison の外で作成
who-catalog-image = カタログのイメージ
who-custom-image = カスタムイメージ
who-plain-image = イメージ
who-image-line = • { $source }: `{ $image }`
who-gpus-line = • { $gpus } · ID `{ $id }`
who-booking = 予約 #{ $id }
who-no-booking = 予約なし
who-last-gpu = GPU の最終使用: { $when }
who-no-gpu-use = GPU の使用記録なし
limits = 上限: { $processes } · メモリ { $memory } · { $cpus } · /dev/shm { $shm }
limits-docker-defaults = 上限: Docker の既定値（Maison の外で作成）
limits-processes = プロセス { $count } 個
limits-no-process-limit = プロセス数の上限なし
limits-one-cpu = CPU 1 個
limits-cpus = CPU { $count } 個
who-image = *`{ $name }`*（`{ $host }`）— { $size }
who-image-dangling = タグなし（dangling）
who-image-created = • 作成: { $when } · ID `{ $id }`
who-image-unused = 未使用
who-image-used-by = 使用中: { $containers }
who-image-user = `{ $name }`（{ $owner }）
who-image-catalog = • カタログ: { $versions }
who-image-made-from = • これをもとに作られたイメージ: { $images }

hosts-title = ホスト
hosts-state-drained = :construction: メンテナンス中
hosts-state-active = 稼働中
hosts-no-agent = エージェント未設定
hosts-agent-up = :large_green_circle: エージェント { $version } · Docker { $docker } · GPU { $gpus } 基
hosts-agent-up-simulated = :large_green_circle: エージェント { $version } · Docker { $docker } · GPU { $gpus } 基（模擬）
hosts-docker-unreachable = 接続不可
hosts-agent-down = :red_circle: エージェントが応答しません（{ $error }）
hosts-line = • *{ $host }* — Maison で予約できる GPU { $count } 基 · { $state } · { $agent }
hosts-none = ホストが設定されていません。
hosts-footer = { $now } 時点。`/maison host drain <host>` でそのホストへの新しい予約と起動を止め、`undrain` で再開します。
host-now-drained = :construction: `{ $host }` をメンテナンス中にしました。新しい予約と起動は受け付けません。動いているコンテナと予約はそのままです。
host-open-again = :white_check_mark: `{ $host }` で再び予約と起動ができるようになりました。

claim-kind-container = コンテナ
claim-kind-image = イメージ
already-owned = :lock: `{ $label }` にはすでに持ち主がいます: { $owner }。申請できるのは持ち主のいないものだけです。
claimed = :raising_hand: `{ $host }` の{ $kind } `{ $label }` があなたのものになりました。`ps`、`who`、レポートにあなたのものとして表示されます。この申請は監査ログに記録されています。
claimed-by-uid = :raising_hand: `{ $host }` のコンテナ `{ $label }` があなたのものになりました。プロセスがすべてあなたの uid { $uid } で動いていたためです。`ps`、`who`、レポートにあなたのものとして表示されます。この申請は監査ログに記録されています。
claim-already-requested = :hourglass_flowing_sand: `{ $host }` の{ $kind } `{ $label }` はすでに申請済みです（申請 #{ $id }）。管理者の判断を待っています。決まったら DM でお知らせします。


## プロジェクト

projects-none-admin = プロジェクトはまだありません。`/maison project add vision for "image models"` で追加できます。
projects-none = プロジェクトはまだありません。管理者が `/maison project add` で追加します。
projects-heading = *プロジェクト*
project-your-default = （あなたの既定）
projects-removed = 削除済み（過去の予約には残ります）: { $projects }
projects-default-is = `--project` を付けない予約は `{ $name }` の分として数えます。
projects-no-default = 既定のプロジェクトはありません。`/maison project default <project>` で設定できます。
project-was-removed = :warning: プロジェクト `{ $name }` は削除されたため、新しい予約には使えません。
project-unknown = :warning: `{ $name }` というプロジェクトはありません。
project-did-you-mean = `{ $name }` のことですか？
projects-none-yet = プロジェクトはまだありません。管理者が `/maison project add` で追加します。
projects-known = プロジェクト: { $projects }
project-default-set = :white_check_mark: これからは、`--project` を付けない予約を `{ $name }` の分として数えます。
project-default-cleared = :white_check_mark: 既定のプロジェクトを解除しました。
project-revived = :white_check_mark: `{ $name }` を元に戻しました。また予約に使えます。
project-added = :white_check_mark: プロジェクト `{ $name }` を追加しました。`--project { $name }` を付けて予約できます。
project-exists = プロジェクト `{ $name }` はすでにあります。何も変更していません。
project-removed = :white_check_mark: `{ $name }` を削除しました。新しい予約には使えませんが、過去の予約とレポートには残ります。


## リマインダーと DM

remind-in-minutes = あと { $minutes } 分
remind-booking-starts = :calendar: `{ $host }` { $gpus } の予約 *#{ $id }* は{ $when }（{ $soon }）に始まり、{ $end }までです。
remind-booking-starts-hint = 不要になったら終了してください。ほかの人が GPU を使えるようになります。
remind-booking-ends = :hourglass_flowing_sand: `{ $host }` { $gpus } の予約 *#{ $id }* は{ $when }（{ $soon }）に終わります。
remind-booking-ends-hint = 終了後もコンテナは動き続けますが、GPU はほかの人が予約できるようになります。
remind-data-ready = :white_check_mark: `{ $label }` は `{ $host }` で使えます。`launch { $host } <image> --data { $label }` で `/data/…` に読み取り専用でマウントされます。
remind-data-copying = :truck: `{ $label }` はまだ `{ $host }` へコピー中です: { $progress }。
remind-data-missing = :warning: `{ $label }` は `{ $host }` になく、コピーも動いていません。`/maison data get { $label } { $host }` でコピーを始められます。
remind-container-stopped = :wastebasket: `{ $host }` のコンテナ `{ $name }` は { $days } 日間停止したままです（{ $since } から、イメージ `{ $image }`）。不要なら削除してディスクを空けてください。
remind-container-idle = :stopwatch: `{ $host }` のコンテナ `{ $name }` は { $gpus } を確保していますが、{ $hours } 時間使っていません（{ $since } から）。作業が終わっていれば停止して、GPU をほかの人に回してください。
remind-keep-hint = 「保持」を押すと、{ $days } 日間このコンテナについてお知らせしません。
remind-unbooked = :warning: あなたのコンテナ `{ $name }` が `{ $host }` の GPU { $gpu } を使っていますが、この GPU は誰も予約していません。ほかの人が割り当てられないよう予約してください。
remind-unbooked-hint = `{ $host }` の GPU { $gpu } を今から 2 時間予約します。延長は `/maison extend` でできます。
remind-intrusion-user = :no_entry: あなたのコンテナ `{ $name }` が `{ $host }` の GPU { $gpu } を使っていますが、そこは { $owner } さんの予約 *#{ $id }*（{ $end } まで）の中です。停止するか、空いている GPU に移ってください（`/maison status`）。{ $owner } さんにもお知らせしています。
remind-intrusion-owner = :warning: あなたの予約 *#{ $id }* の間に、{ $user } さんのコンテナ `{ $name }` が `{ $host }` の GPU { $gpu } を使っています。その方にもお知らせしました。
remind-intrusion-owner-unowned = :warning: あなたの予約 *#{ $id }* の間に、持ち主のいないコンテナ `{ $name }` が `{ $host }` の GPU { $gpu } を使っています。管理者が停止できます（`/maison stop { $name }`）。ご自身で `/maison claim` することもできます。
button-remind-extend = 1時間延長
button-remind-release = 終了
button-keep-days = { $days }日間保持
button-remove = 削除
button-stop = 停止
button-book-now = 今すぐ予約
button-stop-mine = 自分のコンテナを停止


## ボタン

button-no-booking-id = このボタンには予約番号がありません（{ $value }）。
button-no-gpu = このボタンには GPU の指定がありません（{ $value }）。
button-no-container = このボタンにはコンテナの指定がありません（{ $value }）。メッセージが古くなっている可能性があります。
button-no-image = このボタンにはイメージの指定がありません（{ $value }）。メッセージが古くなっている可能性があります。
button-no-claim-request = このボタンには引き取り申請の指定がありません（{ $value }）。メッセージが古くなっている可能性があります。
button-unknown = 不明なボタン `{ $action }` です。メッセージが古くなっている可能性があります。
button-container-gone = :grey_question: そのコンテナはもう `{ $host }` にありません。保持するものはありません。
button-keep-not-yours = :lock: `{ $name }` は { $owner } さんのものです。保持できるのは持ち主か管理者だけです。
button-keep-unowned = :lock: `{ $name }` には持ち主がいません。先に `/maison claim { $name }` で引き取るか、管理者に相談してください。
button-kept = :lock: `{ $host }` の `{ $name }` を保持します。{ $until }まではお知らせしません。
button-image-removed = :wastebasket: `{ $host }` からイメージ `{ $name }` を削除しました。
button-image-not-removed = :no_entry: `{ $host }` で `{ $name }` を削除できませんでした: { $error }
button-opening-form = 予約フォームを開いています…


## ウェイトリスト

wait-one-gpu = GPU 1 基
wait-gpus = GPU { $count } 基
wait-any-host = 任意のホスト
wait-named-host = `{ $host }`
wait-wanted = { $host }で { $gpus }、{ $length }{ $memory }
wait-wanted-memory = （各 { $size } 以上）
wait-predicted = 予約が時間どおりに終われば { $when } に `{ $host }` で開始の見込み
wait-no-prediction = 予約できる期間内の開始見込みはまだありません
wait-joined = :hourglass_flowing_sand: 今は空きがないため、{ $wanted } の順番待ちに並びました。現在 *#{ $place }* 番目です（リクエスト *{ $id }*）。
wait-how-auto = GPU が空いたら自動で予約し、DM でお知らせします。
wait-how-offer = GPU が空くと *承諾* / *辞退* ボタン付きの DM が届き、{ $hold } の間、あなたのために確保されます。
wait-start-by = { $when }までに開始できなければ、順番待ちから外れます。
wait-commands = `/maison queue` で順番待ちを確認でき、`/maison unwait { $id }` で抜けられます。
wait-nobody = :white_check_mark: 順番待ちの人はいません。空きがないときは `/maison book any 2h --wait` で並べます。
wait-header = 順番待ち
wait-you = （あなた）
wait-line-offered = :gift: *{ $id }* { $user }{ $you } — { $wanted } · 提供中、{ $when }までに回答
wait-line-waiting = *#{ $place }* · リクエスト *{ $id }* { $user }{ $you } — { $wanted } · 待ち時間 { $waited } · { $predicted }
wait-under-a-minute = 1分未満
wait-order = 順番は待ち時間の長さで決まり、最近使った GPU 時間に応じて少し後ろに下がります。小さなリクエストが先に入れるのは、前の人のために確保した枠より前に終わる場合だけです。
wait-count = { $count } 件が順番待ちしています。
wait-offer = :gift: リクエスト *{ $id }* の GPU が空きました: `{ $host }` { $gpus }、{ $span }。{ $until }まであなたのために確保しています。
wait-offer-hint = 回答がなければ次の人に回り、あなたは列の最後に戻ります（{ $max } 回応答しないと順番待ちから外れます）。
button-accept = 承諾
button-decline = 辞退
wait-auto-booked = :white_check_mark: 順番が来ました: `{ $host }` { $gpus } を { $span } で予約しました（予約 *#{ $id }*、リクエスト { $request } から）。
wait-release-hint = `/maison release { $id }` で早めに返せます。
wait-accepted = :white_check_mark: 承諾しました: `{ $host }` { $gpus } は { $span } の間あなたのものです（予約 *#{ $id }*）。`/maison release { $id }` で早めに返せます。
wait-declined = :wave: 辞退しました。GPU は次の人に回り、リクエスト { $id } は順番待ちから外れました。
wait-withdrawn = :wave: リクエスト { $id }（{ $wanted }）は順番待ちから外れました。
wait-withdrawn-offer = 確保していた GPU は次の人に回ります。
wait-lapsed-dropped = :zzz: リクエスト { $id }（{ $wanted }）に提供した GPU に回答がありませんでした。{ $max } 回応答がなかったため、リクエストは順番待ちから外れました。`/maison book … --wait` で再び並べます。
wait-lapsed = :zzz: リクエスト { $id }（{ $wanted }）に提供した GPU に回答がなかったため、次の人に回しました。あなたは列の最後に戻っています。次の提供も DM でお知らせします。
wait-expired = :hourglass: リクエスト { $id }（{ $wanted }）は指定の期間内に終われる時刻に開始できなかったため、順番待ちから外れました。
wait-no-such = :grey_question: 順番待ちのリクエストや提供 { $id } はありません。`/maison queue` で順番待ちを確認できます。
wait-not-yours = :lock: ほかの人のものです。変更できるのは本人か管理者だけです。
wait-already = :grey_question: それはすでに{ $how }です。
wait-already-accepted = 承諾済み
wait-already-decided = 決定済み
wait-went-wrong = :boom: こちら側で問題が起きたため、何も変更していません。
wait-cannot = :no_entry_sign: { $reason }
wait-by-index = `--wait` で待てるのは GPU の数（`--gpus 2`）で、GPU 番号の指定では待てません。
wait-host-too-small = `{ $host }` には GPU { $gpus } 基を割り当てられません。
wait-no-host-memory = 各 { $size } 以上の GPU を { $gpus } 基持つホストはありません（エージェントの報告による）。
wait-no-host-gpus = GPU を { $gpus } 基持つホストはありません。最大でも { $biggest } 基です。`--gpus` で数を減らしてください。
wait-memory-short = `{ $host }` の GPU はそれぞれ { $have } で、指定の { $want } 以上に足りません。`/maison book any … --min-mem { $flag }` で条件を満たすホストを探せます。
wait-memory-unknown = `{ $host }` のエージェントがまだ GPU メモリを報告していないため、そこでは `--min-mem` を確認できません。


## イメージカタログ

catalog-asked = :inbox_tray: `{ $image }`（`{ $host }` の `{ $id }`）を `{ $label }` としてカタログに追加するよう管理者に依頼しました。判断が出たら DM でお知らせします。それまではこの名前では何も起動しません。
catalog-no-admins = :no_entry: 設定に管理者（`[bookings] admins`）がいないため、`{ $label }` を承認できる人がいません。何も依頼していません。
catalog-house-name = :no_entry: `{ $name }` は Bot の設定にあるハウスイメージで、バージョンは設定だけが決めます。`as <name>` で別の名前を指定してください。何も依頼していません。
catalog-version-exists = :no_entry: `{ $label }` はすでにカタログにあります（公開者: { $owner }）。`as { $name }:<version>` で別のバージョンを指定するか、バージョンを省いて次の番号にしてください。何も依頼していません。
catalog-version-pending = :no_entry: `{ $label }` はすでに管理者の承認待ちです（依頼者: { $owner }）。`as { $name }:<version>` で別のバージョンを指定してください。何も依頼していません。
catalog-name-taken = :no_entry: カタログ名 `{ $name }` は最初に公開した { $owner } さんのもので、バージョンを追加できるのはその人か管理者だけです。`as <name>` で別の名前を指定してください。何も依頼していません。
catalog-not-yours = :lock: `{ $host }` の `{ $image }` は { $owner } さんのイメージです。公開できるのは持ち主か管理者だけなので、何も依頼していません。
catalog-unowned = :grey_question: `{ $host }` の `{ $image }` には持ち主がいない（Maison の外で作られた）ため、Maison からは誰も公開できません。ご自身のものなら、先に `/maison claim { $image }` を実行してください。
catalog-no-image = :grey_question: `{ $image }` というイメージはどのホストにもないため、何も公開していません。一覧は `/maison images` で確認できます。
catalog-several = :twisted_rightwards_arrows: `{ $image }` はホストごとに別のイメージを指しているため、どれを公開すればよいか分かりません。何も依頼していません。ID で指定してください:
catalog-needs-name = :grey_question: `{ $image }` にはカタログ名のもとになる名前がありません。`/maison image publish { $image } as resnet` のように `as <name>` で指定してください。何も依頼していません。
catalog-unknown-project = :grey_question: `{ $project }` というプロジェクトはありません。一覧は `/maison project` で確認できます。何も依頼していません。
catalog-request-for-admins = :inbox_tray: { $requester } さんが `{ $image }`（`{ $host }` の `{ $id }`）を `{ $label }` としてイメージカタログに追加したいと依頼しています。
catalog-request-description = 説明: { $description }
catalog-request-project = プロジェクト `{ $project }` 向けです。
catalog-request-context = 承認すると、誰でも `/maison launch <host> { $name }` で起動できるようになります。公開依頼 #{ $request }。判断はすべて監査ログに残ります。
button-approve = 承認
button-reject = 却下
catalog-approved = :white_check_mark: `{ $label }` を承認しました。`/maison launch <host> { $name }` で起動できます。{ $requester } さんにもお知らせしました。
catalog-rejected = :x: `{ $label }` を却下しました。{ $requester } さんにもお知らせしました。
catalog-already-approved = :information_source: `{ $label }` は { $admin } さんがすでに承認しています。何も変更していません。
catalog-already-rejected = :information_source: `{ $label }` は { $admin } さんがすでに却下しています。何も変更していません。
catalog-no-request = :grey_question: 公開依頼 `{ $value }` は見つかりません。何も変更していません。
catalog-approved-dm = :white_check_mark: { $admin } さんが `{ $label }` を承認しました。`/maison launch <host> { $name }` で、このイメージがあるホストなら起動でき、ないホストではコピーを提案します。
catalog-rejected-dm = :x: { $admin } さんは `{ $label }` をカタログに追加しませんでした。イメージ `{ $image }` 自体はそのままです。
catalog-deprecated = :wastebasket: { $labels } を非推奨にしました。起動は警告付きで続けられます。誰も使っていないコピーは { $days } 日後から孤立イメージとして一覧に載ります。
catalog-deprecated-use = :wastebasket: { $labels } を非推奨にしました。代わりに `{ $replacement }` を使ってください。起動は警告付きで続けられます。誰も使っていないコピーは { $days } 日後から孤立イメージとして一覧に載ります。
catalog-nothing-to-deprecate = :grey_question: `{ $target }` には非推奨にできる承認済みのバージョンがありません。何も変更していません。カタログは `/maison images` で確認できます。
catalog-deprecate-house = :no_entry: `{ $name }` は Bot の設定にあるハウスイメージです。設定で変更・削除すれば、外れたバージョンは次の起動時に非推奨になります。何も変更していません。
catalog-deprecate-not-yours = :lock: `{ $name }` を非推奨にできるのは、管理者か公開した { $owner } さんだけです。何も変更していません。
catalog-unknown-replacement = :grey_question: `{ $replacement }` は承認済みのカタログイメージではないため、`{ $target }` の代わりにできません。何も変更していません。
catalog-launch-deprecated = :warning: `{ $label }` は非推奨です。
catalog-launch-deprecated-use = :warning: `{ $label }` は非推奨です。代わりに `{ $replacement }` を使ってください。
catalog-launch-pending = :hourglass: `{ $name }` はカタログへの追加を管理者が承認するのを待っています。何も起動していません。
catalog-the-config = 設定ファイル

## 日次レポート

daily-header = GPU フリートレポート — { $day }
daily-text = { $day } の GPU フリートレポート: 予約 { $booked }、稼働 { $busy }、予約されたまま空いていた GPU 時間 { $idle }。
daily-fleet = *フリート:* ホスト { $hosts } 台、GPU { $gpus } 基（1 日で { $capacity } GPU 時間）
daily-booked = • 予約 *{ $hours }* GPU 時間（容量の { $share }）
daily-busy = • 稼働 *{ $hours }* GPU 時間（計測時間の { $share }）、空き { $idle } GPU 時間
daily-booked-idle = • 予約されたまま空き *{ $hours }* GPU 時間（予約時間の { $share }）
daily-more-hosts = … ほか { $count } 台は一覧に載せていません。グラフにはすべて表示しています。
daily-legend = 稼働 = 平均使用率 { $pct }% 以上の GPU 分。グラフ: ホスト × 時刻（{ $tz }）、濃いほど稼働、灰色は計測なし。
daily-chart-title = GPU 使用率 { $day }、ホスト × 時刻（色が濃いほど使用率が高く、灰色はデータなし）
daily-table-title = *ホスト別の GPU 時間*
daily-column-host = ホスト
daily-column-gpus = GPU
daily-column-booked = 予約
daily-column-busy = 稼働
daily-column-idle = 空き
daily-column-booked-idle = 予約中の空き
daily-top-none = *よく使った人:* GPU を予約・使用した人はいません。
daily-top-title = *よく使った人*
daily-top-line = { $rank }. { $user } — 予約 { $booked } GPU 時間、使用 { $used } GPU 時間（うち稼働 { $busy }）
daily-and-more = … ほか { $count } 件
daily-and-more-of = … ほか { $count } 件（全 { $total } 件）
daily-datasets-title = *データセット*
daily-datasets-host = • `{ $host }`: コピー { $copies } 件{ $copying }、ディスク使用量 { $size }
daily-datasets-copying = （うちコピー中 { $count } 件）
daily-unused-title = *{ $days } 日以上使われていないコピー*（ほかのコピーは残ります）
daily-unused-line = • `{ $host }` の `{ $label }`、{ $size }、最後の使用 { $when } — { $owner }
button-remove-dataset = { $host } の { $label } を削除
daily-orphans-none = *孤立イメージ:* なし — すべてのイメージが使用中か、持ち主がいるか、新しいものです。
daily-orphans-title = *孤立イメージ:* { $size } を回収できます — { $hosts }
daily-orphan-dangling = タグなし
daily-orphan-unowned = 未使用・持ち主なし
daily-orphan-unused = 未使用、作成から { $days } 日以上
daily-orphan-deprecated = カタログで { $days } 日以上前に非推奨、未使用
daily-orphan-owner = 、持ち主 { $owner }
daily-orphan-line = • `{ $host }` `{ $name }` { $size } — { $why }{ $owner }、作成 { $when }
button-remove-image = { $name } を削除（{ $host }）
daily-orphans-note = 削除は管理者のみです。その後に使われ始めたイメージは、ホストのエージェントが削除を拒否します。
daily-stale-none = *放置コンテナ:* { $days } 日以上停止しているものはありません。
daily-stale-title = *放置コンテナ*（{ $days } 日以上停止）: { $count } 件
daily-stale-unowned = 持ち主なし
daily-stale-kept = 、{ $when } まで保持
daily-stale-line = • `{ $host }` `{ $name }` — { $days } 日間停止、{ $owner }{ $kept }

## 週次キャパシティレポートと予測

weekly-header = GPU キャパシティ — { $from }〜{ $to }
weekly-text = GPU キャパシティ { $from }〜{ $to }: { $verdict }
weekly-no-gpus = 予約できる GPU がないため、判断できません。
weekly-enough = キャパシティは足りていました。{ $days } 日間、予約が断られたことはなく、常にどこかの GPU が空いていました。
weekly-over = { $days } 日のうち { $over } 日は、需要がキャパシティを上回りました{ $hint }。
weekly-over-hint = 。ただし予約時間の { $share }% は空いていたので、購入の前に使われていない予約を見直してください
weekly-at = （{ $when }）
weekly-fleet = • フリート: ホスト { $hosts } 台、GPU { $gpus } 基、{ $hours } 時間
weekly-peak-demand = • 同時需要のピーク: *GPU { $gpus } 基中 { $peak } 基* が同時に予約{ $at }
weekly-peak-use = • 使用のピーク: 1 時間平均で GPU { $busy } 基が稼働{ $at }
weekly-full = • 全 GPU が予約済み: { $hours } 時間中 *{ $full }* 時間（{ $share }）
weekly-refused = • GPU 不足で断った予約: { $users } 人から *{ $refusals }* 件、計 { $asked } GPU 時間
weekly-booked = • 予約 { $booked } GPU 時間、稼働 { $busy } GPU 時間。予約されたまま空き *{ $idle }* GPU 時間（計測した予約時間の { $share }）
weekly-forecast = *予測:* { $sentence }
weekly-wait-title = *待ち行列*
weekly-wait-served = • 待ったあと GPU を得た依頼: *{ $served }* 件、待ち時間の中央値 { $p50 } · 90 パーセンタイル { $p90 }
weekly-wait-unserved = • GPU を得られずに抜けた依頼: *{ $unserved }* 件、満たせなかった需要 *{ $unmet }* GPU 時間
weekly-wait-offers = • 提案の承諾 / 辞退 / 期限切れ: { $accepted } / { $declined } / { $expired }
weekly-wait-idle = • 誰かが待っている間に空いていた GPU 分: *{ $minutes }*
weekly-column-day = 日
weekly-column-refused = 断った数
weekly-column-full = 満杯の時間
weekly-column-peak = ピーク
weekly-legend = 予約を断った日、または全 GPU が予約済みの時間があった日を「需要がキャパシティを上回った日」と数えます。稼働は 1 時間ごとの集計から、予約中の空きはホスト・時間ごとに数えます。日付は { $tz } です。
forecast-not-enough = 予測にはまだ履歴が足りません（データ { $weeks } 週、必要 { $needed } 週）。
forecast-already-over = 需要のピークはすでにフリートの GPU { $capacity } 基に達しています（{ $weeks } 週のデータから）。
forecast-not-expected = 今の傾向では、今後 { $horizon } 週、需要のピークはフリートの GPU { $capacity } 基を下回ります（{ $weeks } 週のデータから）。
forecast-crosses = 今の傾向では、{ $week }の週に需要のピークがフリートの GPU { $capacity } 基を超えます（80 % 区間: { $interval }、{ $weeks } 週のデータから）。
forecast-later = それ以降

## ホームタブと予約フォーム

home-book-button = GPU を予約
home-your-bookings = あなたの予約
home-no-bookings = 現在またはこれからの予約はありません。上の *GPU を予約* か、`/maison book gpu01 2h` で予約できます。
home-waiting = GPU 待ち
home-wait-offered = 提案中: { $when } までに DM で返答してください
home-wait-since = { $when } から待機中
home-wait-line = 依頼 *{ $id }*: { $wanted } · { $state } · `/maison unwait { $id }` で列を抜けます
home-your-containers = あなたのコンテナ
home-no-containers = 実行中のコンテナはありません。`/maison launch gpu01 pytorch` で、予約した GPU 上に起動できます。
home-container-line = `{ $host }` の `{ $name }` · { $image } · { $gpus } · 入るには `ssh { $host }` のあと `maison enter { $name }`
button-stop-container = { $name } を停止
home-fleet = フリート
home-legend = ■ 予約中、□ 空き · 更新 { $when } · GPU ごとの状況は `/maison status <host>`
form-title = GPU を予約
form-submit = 予約
form-close = キャンセル
form-host = ホスト
form-host-option = { $host } — GPU { $total } 基中 { $free } 基が空き
form-pick-host = ホストを選択
form-gpus = GPU 数
form-date = 開始日
form-time = 開始時刻
form-duration = 期間
form-duration-hint = 30m、2時間、1時間30分、1日
form-note = メモ（ほかの人にも表示）
form-error-host = ホストを選んでください。
form-error-gpus = GPU 数は 1 以上の整数で指定してください。
form-error-date = 日付を選んでください。
form-error-time = 14:00 のように時刻を選んでください。
form-error-duration = 30m、2h、2時間、1時間30分、1日 のように期間を指定してください。
form-error-past = その時刻はすでに過ぎています（現在 { $now }）。
form-error-gap = その日のその時刻は存在しません（時計の切り替えのため）。
form-error-internal = こちら側で問題が起きたため、何も予約していません。もう一度お試しください。
form-opening = 予約フォームを開いています…（入力する場合は `/maison book gpu01 2h`、詳しくは `/maison help book`）

## 所有の依頼: 依頼者、管理者への DM と判断

claim-subject = `{ $host }` の{ $kind } `{ $label }`
claim-needs-admins = :lock: `{ $label }` は直接は自分のものにできません（{ $reason }）。管理者の承認が必要ですが、設定に管理者（`bookings.admins`）がいません。
claim-requested = :hourglass_flowing_sand: { $subject } を自分のものにする依頼を管理者に送りました（依頼 #{ $id }）。直接できなかった理由: { $reason }。判断が出たら DM でお知らせします。
claim-request-for-admins = :raising_hand: { $requester } さんが { $subject }（Maison の外で作成、ID `{ $id }`）を自分のものにしたいと依頼しています。直接できなかった理由: { $reason }。
button-deny = 拒否
claim-request-context = 承認すると { $requester } さんが持ち主になり、停止や削除ができるようになります。依頼 #{ $id }。判断はすべて監査ログに残ります。
claim-approved-dm = :white_check_mark: { $admin } さんが依頼を承認しました。{ $subject } はあなたのものになり、`ps`、`who`、レポートにあなたのものとして表示されます。
claim-denied-dm = :no_entry: { $admin } さんが { $subject } の依頼（#{ $id }）を拒否しました。ご自身のものだと思う場合は、その人に確認してください。
claim-superseded-dm = :lock: { $subject } の依頼（#{ $id }）は反映できません。すでに { $holder } さんのものです。
claim-decided-approved = :white_check_mark: 依頼 #{ $id } を承認しました。{ $subject } は { $requester } さんのものになりました。本人にもお知らせしました。
claim-decided-denied = :no_entry: 依頼 #{ $id } を拒否しました。{ $subject } は { $requester } さんのものになりません。本人にもお知らせしました。
claim-decided-superseded = :lock: { $subject } はすでに { $holder } さんのものなので、依頼 #{ $id } は反映せずに閉じました。{ $requester } さんにもお知らせしました。
claim-status-approved = 承認
claim-status-denied = 拒否
claim-an-admin = 管理者
claim-decided-when = （{ $when }）
claim-decided-already = :information_source: 依頼 #{ $id }（{ $requester } さんの { $subject }）は、{ $admin } さんがすでに{ $status }しています{ $when }。何も変更していません。
claim-no-request = :grey_question: 依頼 #{ $id } は見つかりません。このメッセージは古いかもしれません。

## データセット: コピーとその進み具合、起動、DM

data-registering = :hourglass_flowing_sand: `{ $host }:{ $path }` を `{ $label }` として登録しています。`{ $host }` のエージェントがスキャン中です（すべてのファイルをハッシュします）。コピーやマウントができるようになったら DM でお知らせします。
data-copying = :truck: `{ $label }`（{ $size }）を { $sources } から `{ $host }` へコピーしています。進み具合は DM のメッセージで随時お知らせします。
data-copying-evicted = `{ $host }` の空きを作るため、最も長く使われていなかったコピーを削除しました: { $copies }。
data-not-staged = :warning: 予約はそのままですが、データセットはコピーしていません: { $why }
data-progress-left = { $percent } %、残り約 { $left }
data-progress-running = :truck: `{ $label }` を { $sources } から `{ $host }` へコピー中: { $total } のうち { $present }、{ $progress }{ $rate }
data-progress-complete = :white_check_mark: `{ $host }` の `{ $label }` の準備ができました（{ $size }、{ $took }、{ $rate }）
data-progress-failed = :warning: `{ $label }` の `{ $host }` へのコピーが { $percent } % で失敗しました: { $error }。`/maison data get { $label } { $host }` で再開できます。
data-unknown-error = 不明なエラー
data-not-ready-copying = :hourglass_flowing_sand: `{ $label }` はまだ `{ $host }` へコピー中です: { $progress }。準備ができたら（進み具合の DM でお知らせします）もう一度起動してください。
data-not-ready-failed = :warning: `{ $host }` の `{ $label }` のコピーは { $percent } % で止まっています（{ $error }）。`/maison data get { $label } { $host }` で再開できます。
data-not-ready-partial = :hourglass_flowing_sand: `{ $host }` の `{ $label }` のコピーはまだそろっていません: { $progress }。
data-not-ready-none = :no_entry_sign: `{ $host }` には `{ $label }` のコピーがありません。`/maison data get { $label } { $host }` でコピーしてから、もう一度起動してください。
data-mount = `{ $path }` に `{ $label }`
data-mounted = :books: データセット（読み取り専用）: { $mounts }。
data-scanned = :white_check_mark: `{ $label }` を登録しました: `{ $host }` 上の { $files } ファイル、{ $size }。`/maison data get { $label } <host>` でコピー、`launch … --data { $label }` でマウントできます。
data-scan-failed = :warning: `{ $host }:{ $path }` からの `{ $label }` の登録に失敗しました: { $error }。
data-verified-ok = :white_check_mark: `{ $host }` の `{ $label }` のコピーは無傷です: { $checked } ファイルをハッシュし、すべて登録どおりでした。
data-verified-bad = :warning: `{ $host }` の `{ $label }` のコピーには、{ $checked } ファイル中 { $bad } 件の不正なファイルがあります: { $files }。不正なファイルのあるコピーはマウントしません。`/maison data get { $label } { $host }` で取り直せます。

## データセット: 登録簿のそのほかの返答

data-no-copy = 完全なコピーなし
data-copies = コピー { $count } 件
data-already-registered = :no_entry_sign: `{ $label }` はすでに登録されていて、バージョンの中身は変わりません。新しいファイルは `{ $name }@v2` のように新しいバージョンで登録してください。このバージョンの場所は `/maison data where { $label }` で確認できます。
data-not-owner = :lock: `{ $name }` は { $owner } さんのデータセットです。{ $what }ことができるのは持ち主か管理者だけです。
data-to-add-versions = バージョンを追加する
data-to-remove = コピーを削除する
data-to-pin = コピーを固定する
data-to-unpin = コピーの固定を外す
data-outside-work = :lock: `{ $path }` はあなたの作業ディレクトリ `{ $work }` の下にありません。登録できるのはそこにある自分のディレクトリだけです。それ以外（データセットのルートの下）は管理者が登録します。
data-no-work = :lock: Maison のユーザー対応表にあなたの作業ディレクトリがないため、自分ではデータセットを登録できません。管理者に登録を頼むか、`[[users]]` に `work = "…"` を追加してもらってください。
data-no-such-dataset = :grey_question: `{ $name }` というデータセットはありません。{ $hint }{ $listing }
data-did-you-mean = `{ $suggestion }` のことですか？
data-none-registered = データセットはまだ登録されていません。`/maison data add <name>@<version> <host>:<path>` で登録できます。
data-known = データセット: { $names }。
data-no-such-version = :grey_question: `{ $name }` にバージョン `{ $version }` はありません。バージョン: { $versions }。
data-ls-empty = データセットはまだ登録されていません。`/maison data add imagenet@v1 gpu03:/srv/datasets/imagenet` で、ホストにすでにあるディレクトリを登録できます。
data-ls-header = データセット
data-ls-owner = *{ $name }* · 持ち主 { $owner }
data-ls-context = `/maison data where <dataset>` でホストを一覧 · `/maison data get <dataset> <host>` でコピー · `launch … --data <dataset>` で読み取り専用にマウント
data-ls-text = 登録済みのデータセット { $count } 件
data-ls-scanning = • `{ $version }` は `{ $host }` でスキャン中{ $note }
data-ls-being-copied = （うちコピー中 { $count } 件）
data-ls-version = • `{ $version }` { $files } ファイル、{ $size } · { $copies }（{ $hosts }）{ $copying }{ $note }
data-where-head = *{ $label }* · { $files } ファイル、{ $size } · 登録元 `{ $host }:{ $path }`
data-where-head-scanning = *{ $label }* · 登録元 `{ $host }:{ $path }`
data-where-none = 完全なコピーはまだありません。
data-where-complete = *完全なコピー*
data-where-partial = *進行中*
data-where-text = { $label } の場所
data-where-context = `/maison data get { $label } <host>` でコピー · `launch <host> <image> --data { $label }` で `{ $path }` に読み取り専用でマウント
data-note-registered = `{ $path }` で登録
data-note-verifying = 検証中
data-note-mounted = { $count } 個のコンテナがマウント中
data-note-last-mounted = 最後のマウント { $when }
data-note-pinned = :pushpin: 固定
data-note-verified = 検証済み
data-note-bad = :warning: 前回の検証で不正なファイル { $count } 件
data-partial-scanning = `{ $host }` スキャン中: { $progress }
data-partial-failed = `{ $host }` は { $percent } % で失敗: { $error }
data-partial-copying = `{ $host }` へコピー中{ $from }: { $progress }
data-partial-from = （コピー元 { $hosts }）
data-still-scanning = :hourglass_flowing_sand: `{ $label }` はまだ `{ $host }` でスキャン中です。スキャンが終われば（持ち主に DM が届きます）コピーやマウントができます。
data-already-there = :white_check_mark: `{ $host }` にはすでに `{ $label }` の完全なコピーがあります。`launch { $host } <image> --data { $label }` でマウントできます。
data-already-copying = :hourglass_flowing_sand: `{ $label }` はすでに { $user } さんのために `{ $host }` へコピー中です: { $progress }。
data-no-source = :no_entry_sign: `{ $label }` の完全なコピーを持つホストがないため、コピーできません。
data-source-silent = :electric_plug: `{ $label }` の完全なコピーは { $hosts } にしかなく、そのエージェントが今は応答していません。復旧してからもう一度お試しください（エージェントの状態は `/maison hosts` で確認できます）。
data-no-copy-on = :grey_question: `{ $host }` には `{ $label }` のコピーがありません。{ $listing }
data-no-copy-anywhere = コピーはまだどこにもありません。
data-copies-on = コピーがあるのは { $hosts } です。
data-last-copy = :no_entry_sign: `{ $host }` には `{ $label }` の最後の完全なコピーがあるため、削除しません。先にほかのホストへコピーしてください（`/maison data get { $label } <host>`）。
data-copy-mounted = :no_entry_sign: `{ $host }` の `{ $label }` のコピーは { $count } 個のコンテナがマウントしています。先にそれらを削除してください（`/maison ps { $host } --all`）。
data-copy-stopped = :wastebasket: `{ $label }` の `{ $host }` へのコピーを止めました。届いていた分は削除しました。
data-copy-removed = :wastebasket: `{ $host }` から `{ $label }` のコピーを削除しました。
data-copy-untracked = :wastebasket: `{ $host }` の `{ $label }` は Maison で管理しなくなりました。登録したディレクトリ自体はそのままです。
data-no-such-copy-button = :grey_question: このボタンはどのデータセットのコピーも指していません（`{ $value }`）。一覧は `/maison data ls` で確認できます。
data-pinned = :pushpin: `{ $host }` の `{ $label }` のコピーを固定しました。空きを作るために削除されることはありません。
data-unpinned = :white_check_mark: `{ $host }` の `{ $label }` のコピーの固定を外しました。
data-not-complete-to-verify = :hourglass_flowing_sand: `{ $host }` の `{ $label }` のコピーはまだそろっていません。届いたチャンクはその都度検査しています。完全なコピーは改めて検証できます。
data-verifying = :mag: `{ $host }` の `{ $label }` のコピーを検証しています（すべてのファイルをハッシュし直します）。結果は DM でお知らせします。
data-no-room = :no_entry_sign: `{ $host }` には `{ $label }` を置く空きがありません。必要なのは { $needed } で、削除してよいコピーを消しても、ディスクの安全マージンを除いた空きは { $available } です。そのホストで何かを削除するか（`/maison data where …`、`/maison data rm …`）、別のホストを選んでください。
data-agent-no-space = :no_entry_sign: `{ $host }` には `{ $label }` を置く空きがありません: { $message }
data-agent-in-use = :no_entry_sign: `{ $host }` は `{ $label }` を残します: { $message }
data-agent-rule = :shield: `{ $host }` のエージェントが `{ $label }` を拒否しました（ルール `{ $rule }`）: { $message }
data-agent-conflict = :no_entry_sign: `{ $host }` からの `{ $label }` についての返答: { $message }
data-agent-failed = :warning: `{ $host }` のエージェントが `{ $label }` の処理をできませんでした: { $message }

## 月次キャパシティレポート

monthly-header = GPU キャパシティ — { $month }
monthly-text = GPU キャパシティ { $month }: { $verdict }
monthly-waited = 。待ったあと GPU を得た依頼 { $count } 件（待ち時間の中央値 { $median }）
monthly-fleet = • フリート: ホスト { $hosts } 台、GPU { $gpus } 基、容量 { $capacity } GPU 時間
monthly-booked = • 予約 *{ $booked }* GPU 時間（容量の { $share }）、稼働 *{ $busy }* GPU 時間（{ $busy_share }）
monthly-idle = • 予約されたまま空き: *{ $idle }* GPU 時間（計測した予約時間の { $share }）
monthly-peak = • 需要のピーク: *GPU { $gpus } 基中 { $peak } 基* が同時に予約
monthly-unmet = • 満たせなかった需要: *{ $unmet }* GPU 時間（断った予約 { $refused } GPU 時間、GPU を得られず待ち行列を抜けた依頼 { $left } GPU 時間）{ $waited }
monthly-energy = • 電力量: *{ $energy }*{ $cost }（うち GPU にコンテナがない間の消費 { $unattributed }）
monthly-by-project = *プロジェクト別*
monthly-by-person = *人別*
monthly-by-host = *ホスト別*
monthly-column-project = プロジェクト
monthly-column-host = ホスト
monthly-column-booked = 予約 h
monthly-column-busy = 稼働 h
monthly-others = ほか { $count } 件
monthly-no-container-line = • { $name }: コンテナのない GPU が消費した { $energy }{ $cost }
monthly-person-line = • { $name }: 予約 { $booked } GPU 時間、稼働 { $busy } GPU 時間、{ $energy }{ $cost }
monthly-and-more = • ほか { $count } 人
monthly-priced = 電力単価は 1 kWh あたり { $price } { $currency } です。
monthly-unpriced = 費用を表示するには `[reports] price_per_kwh` を設定してください。
monthly-legend = 稼働時間と電力量は GPU 自身の計測値です。ホストでのある人の使用量は、そのホストでの予約時間に応じてその人のプロジェクトに配分しています。{ $pricing }`maison-bot report export` で同じ数値を日ごとの CSV に書き出せます。
monthly-chart-title = { $month }までの週ごとの GPU 需要のピーク（紺の線と点）、容量（赤の線）、予測（青の破線、水色の帯は 80% の範囲）。縦軸は GPU の数
monthly-no-container = コンテナなし
monthly-no-project = プロジェクトなし

## イメージの一覧

images-header = イメージ
images-on-no-host = まだどのホストにもありません
images-on-hosts = { $hosts } にあり
images-published-by = `{ $image }`、公開 { $user }{ $project }
images-project = 、プロジェクト `{ $project }`
images-line = • *{ $name }* { $version } { $made }{ $description }（{ $present }）
images-deprecated-use = 非推奨、代わりに `{ $replacement }`
images-deprecated = 非推奨
images-made-from = ↳ これをもとに作成: { $images }
images-more = ほか { $count } 件
images-other-versions = 。ほかのバージョン: { $versions }
images-catalog-empty = *カタログ*: 空です（Bot の設定の `[[images]]`、または `/maison image publish` で追加できます）。
images-catalog-title = *カタログ* — `/maison launch <host> <name>[:<version>]`
images-waiting = 管理者の承認待ち: { $versions }。
images-custom-none = *使用中のカスタムイメージ*: なし。
images-custom-title = *使用中のカスタムイメージ*
images-custom-line = • `{ $host }` の `{ $name }`（{ $size }）— 使用中: { $owners }{ $history }
images-history = 。{ $line }
images-not-answering = :electric_plug: 応答なし: { $hosts }。
images-derived = `{ $name }`（{ $owner }）
images-derived-unowned = 持ち主なし

## チャンネル投稿のクリックされた行

settled-removed = :white_check_mark: `{ $host }` の `{ $item }`: { $user } さんが削除しました。
settled-kept = :white_check_mark: `{ $host }` の `{ $item }`: { $user } さんが保持しました。
who-image-made-from-item = `{ $name }`（`{ $host }`）

## report what-if: the last weeks' demand replayed on a larger fleet

whatif-addition = GPU { $gpus } 基のホスト { $hosts } 台
whatif-header = 試算: { $addition }を追加したら
whatif-last-weeks = 過去 { $weeks } 週間
whatif-median-same = 待ち時間の中央値は { $now }のままでした
whatif-median-changed = 待ち時間の中央値は { $now }ではなく { $after }でした
whatif-nothing-added = GPU を追加しなければ何も変わりません。{ $weeks }に満たせなかった需要は { $unmet } GPU 時間でした。
whatif-all-met = 今のフリートで{ $weeks }の依頼はすべて満たせました{ $wait }。
whatif-all-met-wait = 。{ $addition }を追加していれば、{ $median }
whatif-unmet = { $addition }を追加していれば、{ $weeks }に満たせなかった需要は { $now } GPU 時間ではなく { $left } GPU 時間でした{ $wait }。
whatif-unmet-none = { $addition }を追加していれば、{ $weeks }に満たせなかった需要 { $now } GPU 時間はすべて満たせていました{ $wait }。
whatif-unmet-wait = 。{ $median }
whatif-gpus = • GPU: 現在 *{ $now }* 基 → *{ $after }* 基
whatif-unmet-line = • 満たせなかった需要: *{ $now }* GPU 時間 → *{ $after }* GPU 時間
whatif-left-line = • GPU を得られなかった依頼: *{ $now }* 件 → *{ $after }* 件
whatif-served-line = • 満たせた依頼: { $now } → { $after }
whatif-served = { $requests } 件中 *{ $served }* 件（{ $share }）
whatif-wait-line = • 待ち行列の待ち時間 中央値: { $now50 } → { $after50 } · 90 パーセンタイル: { $now90 } → { $after90 }
whatif-assumptions = { $weeks }を再現した結果です。実際の予約はそのままの場所に置き、断られた依頼は頼んだ時刻にだけ、待ち行列の依頼は期限までのいちばん早い時刻に、頼まれた順に、指定されたホストか追加したホスト（`book any` はどのホストでも）に GPU を割り当てます。数えていないもの: フリートが満杯に見えたために出されなかった需要、GPU の型とメモリ、待ち行列の公平な順番。
whatif-wait-minutes = { $minutes }分
whatif-wait-hours = { $hours }時間
whatif-wait-days = { $days }日

## Why a claim needs an admin (the requester and each admin read it in their language)

claim-reason-image = イメージにはプロセスがないため、誰のものか確かめられません
claim-reason-no-mapping = { $member } さんの Unix アカウントの対応（`[[users]]`）が設定にないため、プロセスの uid と照らし合わせられません
claim-reason-no-agent = `{ $host }` には問い合わせるエージェントがありません
claim-reason-agent-failed = `{ $host }` のエージェントが、プロセスを動かしているユーザーを返せませんでした（{ $error }）
claim-reason-not-running = 動いていないため、プロセスから誰のものか確かめられません
claim-reason-no-processes = 中にプロセスが見つかりませんでした
claim-reason-other-uids = プロセスは uid { $uids } で動いていて、{ $member } さんの uid { $uid } ではありません

## `/maison jobs`: the scheduled jobs, their runs and the outbox (admins)

job-metrics-retention = 30 日より古い GPU の 1 分ごとの記録を削除します（1 時間ごとの集計は残します）
job-outbox-retention = 送信から 30 日を過ぎた送信待ちキューのメッセージを削除します（未送信と保留中のものは残します）
job-daily-report = 前日の GPU レポートを投稿します（予約・稼働・空きの時間、ヒートマップ、持ち主のいないイメージ、放置されたコンテナ）
job-weekly-capacity = 過去 7 日間のキャパシティレポートを投稿します（需要のピーク、全 GPU が予約済みだった時間、断った予約）
job-monthly-capacity = 毎月最初の平日に前月のキャパシティレポートを投稿します（使用、空き、満たせなかった需要、プロジェクトごとの電力量と費用、予測のグラフ）
job-reminders = 持ち主に DM を送ります: まもなく始まる・終わる予約、放置・アイドルのコンテナ、予約なしで使われている GPU
job-dataset-margin = 各ホストの空き容量の余裕を保ちます: 削除してよいデータセットのコピーを、最近使われていない順に削除します
jobs-header = 定期ジョブ
jobs-next = 次回 { $when }
jobs-not-scheduled = 予定なし
jobs-last-run = 前回: { $last }
jobs-never-run = 未実行
jobs-by-hand = { $when }（手動）
jobs-last-ok = { $when }、成功: { $detail }
jobs-last-failed = { $when }、失敗: { $detail }
jobs-last-unfinished = { $when }、開始後まだ終わっていません
jobs-schedules-in = スケジュールは { $tz } の時刻です。`/maison jobs run <job>` でジョブをすぐに実行できます。
jobs-outbox = *送信待ちキュー*: { $state }
jobs-outbox-state = 送信待ち { $pending } 件、保留 { $parked } 件。
jobs-outbox-state-oldest = 送信待ち { $pending } 件、保留 { $parked } 件。いちばん古いものは { $minutes } 分待っています。
jobs-parked-to-channel = <#{ $id }> 宛て
jobs-parked-to-user = <@{ $id }> さんへの DM
jobs-last-parked = 最後に保留になったメッセージ: #{ $id }（{ $to }）: `{ $error }`。原因を直してから `maison-bot jobs requeue` を実行してください。
jobs-count = 定期ジョブ { $count } 件
jobs-run-requested = `{ $job }` を今から実行します。終わったら結果をお知らせします。
jobs-run-joined = `{ $job }` はこの 1 秒の間にすでに依頼されています。実行は 1 回だけで、結果はここにもお知らせします。
jobs-run-joined-cli = `{ $job }` はこの 1 秒の間にコマンドラインからすでに依頼されています。実行は 1 回だけで、結果はここにもお知らせします。
jobs-run-joined-by = `{ $job }` はこの 1 秒の間に { $user } さんがすでに依頼しています。実行は 1 回だけで、結果はここにもお知らせします。
jobs-ran = `{ $job }` を実行しました: { $detail }
jobs-failed = `{ $job }` が失敗しました: { $detail }
jobs-unknown = `{ $job }` というジョブはありません。ジョブ: { $names }。
jobs-unknown-nearest = `{ $job }` というジョブはありません。`{ $nearest }` のことですか？ ジョブ: { $names }。
