//! The command table: one entry per `/maison` verb.
//!
//! The parser looks command words up here, errors take their usage lines and examples from here,
//! and `help` renders this table, so the three cannot disagree. A test parses every example.

use crate::Lang;

/// One `/maison` verb as users see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The canonical command word, lower case.
    pub name: &'static str,
    /// Other words that mean the same command.
    pub aliases: &'static [&'static str],
    /// Usage line(s), without the `/maison` prefix; several forms are separated by newlines.
    pub usage: &'static str,
    /// One line for the overview.
    pub summary: &'static str,
    /// Longer explanation for `help <command>`, Slack mrkdwn; may be empty.
    pub details: &'static str,
    /// [`summary`](Self::summary) in Japanese, written for Japanese readers rather than
    /// translated word for word; command words and examples stay as typed.
    pub summary_ja: &'static str,
    /// [`details`](Self::details) in Japanese; empty exactly when `details` is.
    pub details_ja: &'static str,
    /// Complete command lines, without the `/maison` prefix; every one of them must parse.
    pub examples: &'static [&'static str],
    /// Listed separately in help; the bot decides who may run it.
    pub admin: bool,
}

pub(crate) const DURATION_FORMS: &str = "Durations look like 30m, 2h, 1h30m or 1d";
pub(crate) const TIME_FORMS: &str =
    "Times look like 14:00, 9am, tomorrow 9:00, fri 14:00 or 2026-12-01 09:00";

impl CommandSpec {
    /// The overview line in `lang`.
    pub fn summary_in(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.summary,
            Lang::Ja => self.summary_ja,
        }
    }

    /// The longer explanation in `lang`; may be empty.
    pub fn details_in(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.details,
            Lang::Ja => self.details_ja,
        }
    }
}

/// Every command the parser understands, in the order help lists them.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "help",
        aliases: &[],
        usage: "help [command]",
        summary: "List the commands, or explain one of them",
        details: "",
        summary_ja: "コマンドの一覧、または 1 つのコマンドの説明を表示します",
        details_ja: "",
        examples: &["help", "help book"],
        admin: false,
    },
    CommandSpec {
        name: "status",
        aliases: &[],
        usage: "status [host]",
        summary: "Show the fleet, one line per host; or each GPU of one host: who holds it until when",
        details: "`status` shows every host on one line: its GPUs as cells (■ booked now, □ free), \
                  how busy they are, and any GPU in use without a booking. `status gpu01` shows \
                  each GPU of that host: free, or booked by whom until when, what is next, and \
                  what it is doing now.",
        summary_ja: "フリート全体を 1 ホスト 1 行で、またはホストを指定して GPU ごとに、誰がいつまで使うかを表示します",
        details_ja: "`status` は全ホストを 1 行ずつ表示します。GPU をマス目で（■ 予約中、□ 空き）、どれだけ使われているか、予約なしで使われている GPU があればそれも示します。`status gpu01` はそのホストの GPU ごとに、空きか、誰がいつまで予約しているか、次の予約、今の使用状況を表示します。",
        examples: &["status", "status gpu01"],
        admin: false,
    },
    CommandSpec {
        name: "book",
        aliases: &[],
        usage: "book <host>[:<gpus>|:all] <duration> [at <time>] [--gpus N] [--data <dataset>] [for \"<note>\"]\n\
                book <host>[:<gpus>] [<day>] <start>-<end> [--data <dataset>] [for \"<note>\"]\n\
                book any <duration> [--gpus N] [at <time>] [--min-mem <size>] [--data <dataset>]\n\
                book <host>|any <duration> [--gpus N] --wait [--within <duration>] [--auto] [--min-mem <size>]\n\
                book … --project <project>",
        summary: "Book GPUs on a host, for a duration or a time range",
        details: "Without GPUs you get one free GPU; `gpu01:0,1` books GPUs 0 and 1, `gpu01:0-3` \
                  GPUs 0 to 3, `gpu01:all` the whole host, `--gpus 2` any two free GPUs. \
                  `book any` picks the best free host for you.\n\
                  Durations look like 30m, 2h, 1h30m, 1.5h or 1d. Without a start time the booking starts now; \
                  `at` before the start is optional, and a day alone starts at 9:00 \
                  (`book gpu01 9h tomorrow`).\n\
                  Times are in your Slack time zone: 14:00, 9am, 2:30pm, today 14:00, \
                  tomorrow 9:00, fri 14:00 (the next Friday), 2026-12-01 09:00. \
                  A day before a range applies to both ends: `tomorrow 9:00-18:00`.\n\
                  A note after `for` is shown to others; quote it, or let it run to the end of the line.\n\
                  `--data imagenet` starts copying the dataset to the host as soon as the booking \
                  is made, and tells you when the booking starts whether it is there; with \
                  `book any`, hosts that already hold it come first.\n\
                  `--wait` puts you in line when nothing is free: the reply gives your place and \
                  a predicted start. When GPUs free up you get a DM with Accept and Decline (the \
                  GPUs are held for you for 10 minutes) or, with `--auto`, the booking is made \
                  for you. A waiting booking starts when the GPUs do, so it takes a duration and \
                  no start time. `--within 8h` drops the request if the booking cannot be over \
                  within 8 hours; `/maison queue` shows the line, `/maison unwait` leaves it.\n\
                  `--min-mem 40G` only takes GPUs with at least that much memory each, with or \
                  without `--wait`. `G` is 10^9 bytes, so `80G` takes an 80 GB card; `GiB` \
                  counts in 2^30.\n\
                  `--project vision` says which project the GPUs serve (reports split GPU-hours, \
                  energy and cost by project); without it your default project applies \
                  (`/maison project default vision`).",
        summary_ja: "ホストの GPU を、時間の長さか時間帯で予約します",
        details_ja: "GPU を指定しなければ、空いている GPU を 1 基予約します。`gpu01:0,1` は GPU 0 と 1、`gpu01:0-3` は GPU 0〜3、`gpu01:all` はホスト全体、`--gpus 2` は空いている任意の 2 基です。`book any` は空いている中から最適なホストを選びます。\n\
                     時間の長さは `30m`、`2h`、`1h30m`、`1.5h`、`1d` のように書きます（`2時間`、`30分` も使えます）。開始時刻を省くと今から始まります。開始時刻の前の `at` は省略でき、日付だけなら 9:00 に始まります（`book gpu01 9h tomorrow`）。\n\
                     時刻は Slack のタイムゾーンで、`14:00`、`9am`、`2:30pm`、`today 14:00`、`tomorrow 9:00`、`fri 14:00`（次の金曜日）、`2026-12-01 09:00` のように書きます（`明日 9:00` も使えます）。時間帯の前の日付は開始と終了の両方に付きます: `tomorrow 9:00-18:00`。\n\
                     `for` のあとのメモはほかの人にも表示されます。引用符で囲むか、行末まで続けて書いてください。\n\
                     `--data imagenet` を付けると、予約した時点でデータセットのホストへのコピーを始め、予約の開始時にそろっているかどうかをお知らせします。`book any` では、すでにそのデータセットがあるホストを優先します。\n\
                     `--wait` を付けると、空きがないときに空き待ちの列に並びます。返答で順番と開始の見込みをお知らせします。GPU が空くと承諾・辞退のボタン付きの DM が届きます（GPU は 10 分間確保されます）。`--auto` を付けると、そのまま予約します。空き待ちの予約は GPU が空いたときに始まるため、時間の長さだけを指定し、開始時刻は指定しません。`--within 8h` を付けると、8 時間以内に終えられない場合はリクエストを取り下げます。`/maison queue` で列を表示し、`/maison unwait` で列から抜けます。\n\
                     `--min-mem 40G` は、1 基あたりのメモリがその量以上の GPU だけを予約します（`--wait` の有無は問いません）。`G` は 10^9 バイトなので、`80G` で 80 GB の GPU が対象になります。`GiB` は 2^30 で数えます。\n\
                     `--project vision` で、GPU をどのプロジェクトに使うかを指定します（レポートで GPU 時間・電力・コストをプロジェクト別に集計します）。指定しなければ既定のプロジェクトになります（`/maison project default vision`）。",
        examples: &[
            "book gpu01 2h",
            "book gpu01:1 3h at 14:00",
            "book gpu01 9h tomorrow",
            "book gpu02:0,1 tomorrow 9:00-18:00",
            "book gpu01:all 1d for \"ablation sweep\"",
            "book gpu01 1h30m --gpus 2",
            "book any 2h --gpus 2 at tomorrow 9:00",
            "book gpu02 1d --data imagenet@v2",
            "book any 2h --gpus 2 --wait --within 8h",
            "book gpu03 4h --wait --auto",
            "book any 1h --min-mem 40G",
            "book gpu01 4h --project vision",
        ],
        admin: false,
    },
    CommandSpec {
        name: "mine",
        aliases: &["bookings"],
        usage: "mine",
        summary: "Show your bookings and containers, with Release and Extend buttons",
        details: "",
        summary_ja: "自分の予約とコンテナを、終了・延長ボタン付きで表示します",
        details_ja: "",
        examples: &["mine", "bookings"],
        admin: false,
    },
    CommandSpec {
        name: "cancel",
        aliases: &[],
        usage: "cancel <id>",
        summary: "Cancel a booking: a future one is removed, an active one ends now",
        details: "The id is the number shown by `mine`, with or without `#`.",
        summary_ja: "予約を取り消します。開始前の予約は削除し、実行中の予約は今すぐ終了します",
        details_ja: "番号は `mine` で表示される予約番号です（`#` は付けても付けなくてもかまいません）。",
        examples: &["cancel 42", "cancel #42"],
        admin: false,
    },
    CommandSpec {
        name: "release",
        aliases: &[],
        usage: "release [<id>|<host>]",
        summary: "End your booking now: one booking, all yours on a host, or all yours",
        details: "A number (with or without `#`) is a booking id; anything else is a host name.",
        summary_ja: "予約を今すぐ終了します。1 件、あるホストの自分の予約すべて、または自分の予約すべてが対象です",
        details_ja: "数字（`#` 付きでも可）は予約番号、それ以外はホスト名として扱います。",
        examples: &["release", "release 42", "release gpu01"],
        admin: false,
    },
    CommandSpec {
        name: "extend",
        aliases: &[],
        usage: "extend <id> <duration>",
        summary: "Make a booking longer, if nothing conflicts",
        details: "Durations look like 30m, 2h, 1h30m, 1.5h or 1d.",
        summary_ja: "重なる予約がなければ、予約を延長します",
        details_ja: "時間の長さは `30m`、`2h`、`1h30m`、`1.5h`、`1d` のように書きます（`1時間` も使えます）。",
        examples: &["extend 42 1h", "extend #42 1h 30m"],
        admin: false,
    },
    CommandSpec {
        name: "queue",
        aliases: &[],
        usage: "queue",
        summary: "Show the wait-list: who waits for what, since when, and when they should get it",
        details: "Join it with `book … --wait`; leave it with `unwait <id>`.",
        summary_ja: "空き待ちの列を表示します: 誰が何をいつから待っていて、いつごろ使えそうか",
        details_ja: "`book … --wait` で列に並び、`unwait <id>` で抜けます。",
        examples: &["queue"],
        admin: false,
    },
    CommandSpec {
        name: "unwait",
        aliases: &[],
        usage: "unwait <id>",
        summary: "Leave the wait-list",
        details: "The id is the number `queue` or the `--wait` reply shows, with or without `#`.",
        summary_ja: "空き待ちの列から抜けます",
        details_ja: "番号は `queue` や `--wait` の返答に表示される番号です（`#` は付けても付けなくてもかまいません）。",
        examples: &["unwait 7", "unwait #7"],
        admin: false,
    },
    CommandSpec {
        name: "launch",
        aliases: &[],
        usage: "launch <host> <image> [--gpus <list>|all|none] [--name <name>] [--data <dataset>[,<dataset>…]] [-- <command…>]",
        summary: "Start a container on GPUs you have booked",
        details: "The image is a catalogue name (`/maison images` lists them) or a reference like \
                  `registry.lan/team/trainer:1.2` or `busybox@sha256:…`.\n\
                  Without `--gpus`, or with `--gpus all`, the container gets every GPU of your \
                  booking on that host; \
                  `--gpus 0,1` or `--gpus 0-3` picks some of them by index, as `status` shows \
                  them, and `--gpus none` starts it without a GPU. `gpu01:0,1` is short for \
                  `gpu01 --gpus 0,1`.\n\
                  `--name` names the container: a letter or digit, then letters, digits, `_`, \
                  `.` or `-`, up to 63 characters.\n\
                  Everything after `--` is the command to run instead of the image's own; quote \
                  words that contain spaces, with \"…\" or '…'.\n\
                  `--data imagenet,coco@v1` mounts datasets read-only at `/data/<name>`; the \
                  host must hold a complete copy (`/maison data get` makes one).\n\
                  The container runs as your Unix account (an admin maps it in the bot's \
                  config), never as root. The reply tells you how to enter it: `maison enter \
                  <name>` on the host.",
        summary_ja: "予約した GPU でコンテナを起動します",
        details_ja: "イメージはカタログの名前（`/maison images` で一覧を表示）か、`registry.lan/team/trainer:1.2` や `busybox@sha256:…` のような参照です。\n\
                     `--gpus` を付けないか `--gpus all` を付けると、そのホストで予約している GPU をすべて使います。`--gpus 0,1` や `--gpus 0-3` は `status` に表示される番号で一部の GPU を選び、`--gpus none` は GPU なしで起動します。`gpu01:0,1` は `gpu01 --gpus 0,1` の短縮形です。\n\
                     `--name` はコンテナの名前です。英字か数字で始まり、英字・数字・`_`・`.`・`-` からなる 63 文字以内の名前にしてください。\n\
                     `--` のあとはすべて、イメージ既定のコマンドの代わりに実行するコマンドです。空白を含む語は \"…\" か '…' で囲んでください。\n\
                     `--data imagenet,coco@v1` はデータセットを `/data/<name>` に読み取り専用でマウントします。ホストに完全なコピーが必要です（`/maison data get` で作れます）。\n\
                     コンテナは root ではなく、あなたの Unix アカウント（管理者がボットの設定で対応付けます）で動きます。返答で入り方をお知らせします: ホスト上で `maison enter <name>` を実行してください。",
        examples: &[
            "launch gpu01 pytorch",
            "launch gpu01 pytorch --gpus 0,1 --name llama-ft -- python train.py --epochs 3",
            "launch gpu02 registry.lan/team/trainer:1.2 --gpus none -- bash -c \"make data\"",
            "launch gpu01 pytorch --data imagenet,coco@2017 -- python train.py",
        ],
        admin: false,
    },
    CommandSpec {
        name: "ps",
        aliases: &[],
        usage: "ps [host] [--all]",
        summary: "List your containers, or everyone's with `--all`",
        details: "With a host, only the containers on that host. `-a` is short for `--all`.",
        summary_ja: "自分のコンテナを一覧表示します。`--all` で全員のコンテナを表示します",
        details_ja: "ホストを指定すると、そのホストのコンテナだけを表示します。`-a` は `--all` の短縮形です。",
        examples: &["ps", "ps gpu01", "ps --all", "ps gpu01 -a"],
        admin: false,
    },
    CommandSpec {
        name: "stop",
        aliases: &[],
        usage: "stop <container>",
        summary: "Stop a container; yours, or any for admins",
        details: "Give the container's name or id as `/maison ps` shows them; the first few \
                  characters of the id are enough. A stopped container is kept until `rm`.",
        summary_ja: "コンテナを停止します。自分のコンテナ、管理者ならどのコンテナでも停止できます",
        details_ja: "`/maison ps` に表示されるコンテナの名前か ID を指定してください。ID は先頭の数文字で足ります。停止したコンテナは `rm` するまで残ります。",
        examples: &["stop llama-ft", "stop 3f2a9c"],
        admin: false,
    },
    CommandSpec {
        name: "rm",
        aliases: &[],
        usage: "rm <container>",
        summary: "Remove a container; yours, or any for admins",
        details: "Give the container's name or id as `/maison ps` shows them; the first few \
                  characters of the id are enough. This cannot be undone.",
        summary_ja: "コンテナを削除します。自分のコンテナ、管理者ならどのコンテナでも削除できます",
        details_ja: "`/maison ps` に表示されるコンテナの名前か ID を指定してください。ID は先頭の数文字で足ります。削除は取り消せません。",
        examples: &["rm llama-ft", "rm 3f2a9c"],
        admin: false,
    },
    CommandSpec {
        name: "who",
        aliases: &[],
        usage: "who <container|image>",
        summary: "Show who owns a container or image, how it was made and when it was last busy",
        details: "For a container: its owner, when and how it was created, its booking, its \
                  image, when its GPUs were last busy and its resource limits. For an image: \
                  where it comes from, its size and who uses it.",
        summary_ja: "コンテナやイメージの持ち主、作られ方、最後に使われた時刻を表示します",
        details_ja: "コンテナなら、持ち主、いつどのように作られたか、予約、イメージ、GPU が最後に使われた時刻、リソースの上限を表示します。イメージなら、出どころ、サイズ、使っている人を表示します。",
        examples: &[
            "who llama-ft",
            "who 3f2a9c",
            "who registry.lan/team/trainer:1.2",
        ],
        admin: false,
    },
    CommandSpec {
        name: "claim",
        aliases: &[],
        usage: "claim <container|image>",
        summary: "Take ownership of a container or image that nobody owns",
        details: "Only things without an owner can be claimed (`/maison who` tells you). A \
                  running container whose processes all run as your Unix uid is yours at once; \
                  anything else (a stopped container, someone else's uid, an image) goes to the \
                  admins, who approve or deny it. Every claim is recorded.",
        summary_ja: "持ち主のいないコンテナやイメージを自分のものにします",
        details_ja: "持ち主のいないものだけが対象です（`/maison who` で確認できます）。実行中のコンテナで、プロセスがすべてあなたの Unix uid で動いているものは、すぐにあなたのものになります。それ以外（停止中のコンテナ、ほかの uid のもの、イメージ）は管理者が承認するか却下します。申請はすべて記録されます。",
        examples: &["claim 3f2a9c", "claim pytorch:2.3"],
        admin: false,
    },
    CommandSpec {
        name: "images",
        aliases: &[],
        usage: "images [host]",
        summary: "Show the image catalogue, which host has which image, and custom images in use",
        details: "",
        summary_ja: "イメージのカタログ、どのホストにどのイメージがあるか、使われているカスタムイメージを表示します",
        details_ja: "",
        examples: &["images", "images gpu01"],
        admin: false,
    },
    CommandSpec {
        name: "lang",
        aliases: &[],
        usage: "lang [en|ja|auto]",
        summary: "Choose the language Maison answers you in (English or Japanese)",
        details: "`lang ja` or `lang en` sets it for you alone; `lang auto` follows your Slack \
                  language again (Japanese for a Japanese Slack, English otherwise), which is \
                  also the default. `lang` alone says which language you get and why. Channel \
                  posts keep the channel's language.",
        summary_ja: "Maison が答える言語（英語か日本語）を選びます",
        details_ja: "`lang ja` か `lang en` で自分だけの言語を設定します。`lang auto` で Slack の言語設定に合わせる状態（日本語の Slack なら日本語、それ以外は英語。これが既定です）に戻ります。`lang` だけなら、今の言語とその理由を表示します。チャンネルへの投稿はチャンネルの言語のままです。",
        examples: &["lang ja", "lang en", "lang auto", "lang"],
        admin: false,
    },
    CommandSpec {
        name: "image",
        aliases: &[],
        usage: "image save <container> <name>[:<tag>] [for \"<note>\"]\n\
                image copy <image> <host>\n\
                image build <host> <name>[:<tag>] <Dockerfile path> [for \"<note>\"]\n\
                image publish <image> [as <name>[:<version>]] [--project <project>] [for \"<description>\"]\n\
                image deprecate <name>[:<version>] [use <name>[:<version>]]",
        summary: "Save, build, copy and publish images that remember where they came from",
        details: "Commits one of your own containers (paused for a moment) into a new image on \
                  the same host. The image records who saved it, the image and container it came \
                  from, the booking, the time and your note; `who <image>` shows it. The tag \
                  defaults to `latest`. A name that already belongs to another image is refused. \
                  `image copy` sends an image from a host that has it straight to another host's \
                  agent; layers that host already has are not sent again, and a host without room \
                  for it is refused. `image build` builds on a host from a Dockerfile in your own \
                  work or home directory: its directory is the context, read with your own \
                  permissions, and the build has no network, so its base image must be on that \
                  host. The image remembers the Dockerfile and its hash.\n\
                  `image publish` asks the admins (a DM with Approve / Reject) to add one of \
                  your images to the catalogue under a short name, by default the image's own \
                  name; once approved, `launch <host> <name>` runs it, and `<name>:<version>` a \
                  given version. Each publish of a name is a new version (`v1`, `v2`, … unless \
                  you name it); a name belongs to whoever first published it, and the house \
                  images of the config are not published over. `image deprecate` marks a \
                  version (or all of a name's) as replaced: launches still work, with a \
                  warning, and once unused for the report's orphan days its copies are listed \
                  as orphans.",
        summary_ja: "出どころを記録したイメージを保存・ビルド・コピー・公開します",
        details_ja: "自分のコンテナ（一瞬だけ一時停止します）を同じホスト上の新しいイメージとして保存します。イメージには、保存した人、元のイメージとコンテナ、予約、日時、メモが記録され、`who <image>` で確認できます。タグを省くと `latest` になります。ほかのイメージが使っている名前は使えません。`image copy` は、イメージを持っているホストから別のホストのエージェントへ直接送ります。送り先にすでにあるレイヤーは送らず、空き容量が足りないホストへは送りません。`image build` は、自分の作業ディレクトリかホームディレクトリにある Dockerfile からホスト上でビルドします。Dockerfile のあるディレクトリをあなたの権限で読み込んでコンテキストにし、ネットワークなしでビルドするため、ベースイメージはそのホストにある必要があります。イメージには Dockerfile とそのハッシュが記録されます。\n\
                     `image publish` は、自分のイメージを短い名前（省略時はイメージ自身の名前）でカタログに載せるよう管理者に依頼します（承認・却下ボタン付きの DM が届きます）。承認されると `launch <host> <name>` で起動でき、`<name>:<version>` で特定のバージョンを指定できます。同じ名前で公開するたびに新しいバージョン（指定しなければ `v1`、`v2`、…）になります。名前は最初に公開した人のもので、設定ファイルのハウスイメージの名前では公開できません。`image deprecate` はバージョン（省略時はその名前の全バージョン）を非推奨にします。起動は警告付きで続けられ、レポートの孤立日数のあいだ使われなければ、そのイメージは孤立イメージとして一覧に載ります。",
        examples: &[
            "image save alice-c1 alice/tuned:v1 for \"cuda 12.4 + flash-attn\"",
            "image copy alice/tuned:v1 gpu02",
            "image build gpu01 alice/tuned:v2 /work/alice/tuned/Dockerfile for \"adds flash-attn\"",
            "image publish alice/tuned:v2 as tuned --project vision for \"PyTorch + flash-attn\"",
            "image deprecate tuned:v1 use tuned:v2",
        ],
        admin: false,
    },
    CommandSpec {
        name: "data",
        aliases: &[],
        usage: "data add <name>@<version> <host>:<path> [for \"<note>\"]\n\
                data ls\n\
                data where <dataset>\n\
                data get <dataset> <host>\n\
                data rm <dataset> <host>\n\
                data pin|unpin <dataset> <host>\n\
                data verify <dataset> <host>",
        summary: "Find, copy and manage datasets: which host has which, copy them, mount them \
                  read-only",
        details: "`data add` registers a directory already on a host as `<name>@<version>`; \
                  the host's agent scans it (every file hashed) and you get a DM when it is \
                  ready. Versions never change. Admins may register anything under the \
                  datasets root; anyone may register a directory they own under their own \
                  work root.\n\
                  A `<dataset>` is a name, meaning its latest version, or `<name>@<version>`.\n\
                  `data where` lists the hosts with a complete copy and copies in progress. \
                  `data get` copies it to a host from the best hosts that hold it (agent to \
                  agent, every chunk checked), with a progress message in your DMs; copies \
                  unused for longest make room if the disk is short. `data rm` removes a \
                  host's copy (the dataset's owner or an admin; never while mounted, never the \
                  last complete copy), `data pin` keeps a copy from being removed to make \
                  room, `data verify` re-hashes a copy and DMs you the result.\n\
                  Use a dataset with `launch … --data <dataset>` (mounted read-only at \
                  `/data/<name>`) or get it copied ahead with `book … --data <dataset>`.",
        summary_ja: "データセットを管理します: どのホストにあるかの確認、コピー、読み取り専用のマウント",
        details_ja: "`data add` は、ホストにすでにあるディレクトリを `<name>@<version>` として登録します。ホストのエージェントが全ファイルのハッシュを取り、終わると DM でお知らせします。バージョンの中身は変わりません。管理者はデータセット用のルート以下のどこでも、ほかの人は自分の作業ルート以下の自分のディレクトリを登録できます。\n\
                     `<dataset>` は名前（最新のバージョン）か `<name>@<version>` です。\n\
                     `data where` は完全なコピーがあるホストとコピー中のホストを表示します。`data get` は、そのデータセットがあるホストの中から最適なものを選んでコピーし（エージェント間で直接、チャンクごとに検証）、進み具合を DM でお知らせします。ディスクが足りなければ、使われていない期間がいちばん長いコピーから削除して場所を空けます。`data rm` はホストのコピーを削除します（データセットの持ち主か管理者のみ。マウント中のコピーと最後の完全なコピーは削除できません）。`data pin` はコピーが場所を空けるために削除されないようにし、`data verify` はコピーのハッシュを取り直して結果を DM でお知らせします。\n\
                     データセットは `launch … --data <dataset>` で使えます（`/data/<name>` に読み取り専用でマウント）。`book … --data <dataset>` で前もってコピーさせることもできます。",
        examples: &[
            "data add imagenet@v2 gpu03:/srv/datasets/imagenet for \"ILSVRC 2012, train+val\"",
            "data ls",
            "data where imagenet",
            "data get imagenet@v2 gpu05",
            "data rm imagenet@v1 gpu05",
            "data pin imagenet gpu05",
            "data verify imagenet gpu05",
        ],
        admin: false,
    },
    CommandSpec {
        name: "hosts",
        aliases: &[],
        usage: "hosts",
        summary: "Show every host, whether its agent is reachable, and its state",
        details: "",
        summary_ja: "全ホストと、エージェントに届くかどうか、その状態を表示します",
        details_ja: "",
        examples: &["hosts"],
        admin: true,
    },
    CommandSpec {
        name: "host",
        aliases: &[],
        usage: "host drain|undrain <host>",
        summary: "Take a host out of service, or put it back",
        details: "A drained host stays on the board but takes no new bookings or containers; \
                  `undrain` puts it back in service.",
        summary_ja: "ホストをメンテナンスのために止める、または戻します",
        details_ja: "`drain` したホストはボードには残りますが、新しい予約もコンテナも受け付けません。`undrain` で戻します。",
        examples: &["host drain gpu03", "host undrain gpu03"],
        admin: true,
    },
    CommandSpec {
        name: "jobs",
        aliases: &[],
        usage: "jobs [list|run <job>]",
        summary: "List the scheduled jobs, or run one now",
        details: "`jobs list` shows each job's schedule, when it runs next and how its last run \
                  went, and the messages waiting to be sent to Slack. \
                  `jobs run <job>` runs a job now, whatever its schedule; you are told the \
                  outcome when it has run.",
        summary_ja: "定期ジョブの一覧を表示するか、1 つを今すぐ実行します",
        details_ja: "`jobs list` は各ジョブのスケジュール、次の実行時刻、前回の結果と、Slack への送信待ちのメッセージを表示します。`jobs run <job>` はスケジュールに関係なくジョブを今すぐ実行し、終わったら結果をお知らせします。",
        examples: &["jobs", "jobs list", "jobs run daily_report"],
        admin: true,
    },
    CommandSpec {
        name: "report",
        aliases: &[],
        usage: "report [day|week|month]\n\
                report what-if +<N> gpus|+<N> hosts of <G> [--weeks <N>]",
        summary: "Show a utilisation or capacity report now, just to you",
        details: "`report` (or `report day`) is yesterday's report: GPU-hours booked, busy and \
                  idle per host, top users, orphan images and stale containers. `report week` \
                  is the capacity report of the last seven days: peak demand, hours fully \
                  booked, refused bookings and a verdict. `report month` is last month's \
                  capacity report: utilisation, booked-but-idle, demand including unmet demand, \
                  energy and cost, by project and by person, and the forecast. The charts come \
                  with the reports posted to the team's channel.\n\
                  `report what-if +4 gpus` (one new host of 4 GPUs) or `+2 hosts of 8` replays \
                  the last 8 weeks of demand (`--weeks 12` for more), refused and waiting \
                  requests included, against the larger fleet, and tells you how many \
                  GPU-hours would still have gone unmet and how long people would have waited.",
        summary_ja: "利用状況やキャパシティのレポートを、今すぐ自分だけに表示します",
        details_ja: "`report`（または `report day`）は昨日のレポートです: ホストごとの予約・稼働・アイドルの GPU 時間、よく使った人、持ち主のいないイメージ、放置されたコンテナ。`report week` は直近 7 日間のキャパシティレポートです: 需要のピーク、すべて予約で埋まっていた時間、断られた予約と判定。`report month` は先月のキャパシティレポートです: 利用率、予約したのに使われなかった分、満たせなかった需要を含む需要、電力とコストをプロジェクト別・人別に、そして予測。グラフはチームのチャンネルに投稿されるレポートに付きます。\n\
                     `report what-if +4 gpus`（4 GPU のホストを 1 台追加）や `+2 hosts of 8` は、直近 8 週間の需要（`--weeks 12` でもっと長く）を、断られたリクエストや待っていたリクエストも含めて大きくしたフリートで再現し、満たせなかった GPU 時間と待ち時間がどれだけ残ったかを示します。",
        examples: &[
            "report",
            "report week",
            "report month",
            "report what-if +4 gpus",
            "report what-if +2 hosts of 8 --weeks 12",
        ],
        admin: false,
    },
    CommandSpec {
        name: "project",
        aliases: &["projects"],
        usage: "project [ls]\n\
                project default <project>|none\n\
                project add <project> [for \"<description>\"]\n\
                project rm <project>",
        summary: "The projects GPUs are booked for; set your default one",
        details: "`project` lists the projects and your default. `project default vision` makes \
                  your bookings count for `vision` unless they say `--project`; `project default \
                  none` clears it. Admins keep the list: `project add` and `project rm` (a \
                  removed project stays in past bookings and reports, but takes no new ones).",
        summary_ja: "GPU を何のプロジェクトに使うかを管理し、自分の既定のプロジェクトを設定します",
        details_ja: "`project` はプロジェクトの一覧と自分の既定を表示します。`project default vision` にすると、`--project` を付けない予約は `vision` の分として数えます。`project default none` で解除します。一覧は管理者が `project add` と `project rm` で管理します（削除したプロジェクトも過去の予約やレポートには残りますが、新しい予約には使えません）。",
        examples: &[
            "project",
            "project default vision",
            "project default none",
            "project add vision for \"image models\"",
            "project rm vision",
        ],
        admin: false,
    },
];

/// Command words of the design that are not built yet, and what they will do: typing one gets
/// "not yet available" rather than "unknown command". Empty while everything designed is built;
/// the parser's tests check the mechanism with a list of their own.
pub const PLANNED: &[(&str, &str)] = &[];

/// The spec whose name or alias is `word` (any case).
pub fn lookup(word: &str) -> Option<&'static CommandSpec> {
    let word = word.to_lowercase();
    COMMANDS
        .iter()
        .find(|spec| spec.name == word || spec.aliases.contains(&word.as_str()))
}

/// The table entry for a canonical name; the parser only passes names taken from the table.
pub(crate) fn spec(name: &str) -> &'static CommandSpec {
    COMMANDS
        .iter()
        .find(|spec| spec.name == name)
        .unwrap_or(&COMMANDS[0])
}

/// The nearest command word to a mistyped one, if it is close enough to be a plausible typo.
pub(crate) fn suggest(word: &str) -> Option<String> {
    let words = COMMANDS
        .iter()
        .flat_map(|spec| std::iter::once(&spec.name).chain(spec.aliases))
        .copied();
    nearest(word, words).map(str::to_owned)
}

/// The word of `candidates` nearest to a mistyped `word`, if close enough to be a typo.
pub(crate) fn nearest(
    word: &str,
    candidates: impl IntoIterator<Item = &'static str>,
) -> Option<&'static str> {
    let word = word.to_lowercase();
    // Two edits catch transpositions and dropped letters ("stauts", "relase") without
    // offering `mine` for every short word.
    let max_distance = if word.chars().count() <= 3 { 1 } else { 2 };
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(&word, candidate), candidate))
        .filter(|(distance, _)| *distance <= max_distance)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}
