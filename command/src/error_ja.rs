//! [`ParseError`] in Japanese. English stays the errors' `Display` (logs, the fallback); this is
//! what a Japanese reader is shown instead, written as a Japanese engineer would say it.
//!
//! The parser describes what it wanted and why a word is wrong in English phrases (`what`,
//! `reason`, `expected`); they are rendered here phrase by phrase. A phrase without a Japanese
//! form is shown in English rather than dropped, and the snapshot tests of every refused line in
//! both languages catch it.

use crate::Lang;
use crate::ParseError;
use crate::duration::{format_duration, format_duration_in};
use crate::spec;

const DURATION_FORMS: &str =
    "時間の長さは `30m`、`2h`、`1h30m`、`1d`（または `2時間`、`30分`）のように書きます";
const TIME_FORMS: &str = "時刻は `14:00`、`9am`、`tomorrow 9:00`（`明日 9:00`）、`fri 14:00`、\
                          `2026-12-01 09:00` のように書きます";

pub(crate) fn message(error: &ParseError) -> String {
    match error {
        ParseError::EmptyCommand => "`/maison` のあとにコマンドを入力してください（例: \
             `/maison status`）。`/maison help` でコマンドの一覧を表示します。"
            .to_owned(),
        ParseError::UnknownCommand { word, suggestion } => format!(
            "`{word}` というコマンドはありません。{}`/maison help` でコマンドの一覧を表示します。",
            did_you_mean(suggestion.as_deref())
        ),
        ParseError::NotYetAvailable { word, .. } => {
            format!("`{word}` はまだ使えません。`/maison help` で今使えるコマンドを表示します。")
        }
        ParseError::MissingArgument { command, what } => {
            format!("`{command}` には{}が必要です。", wanted(what))
        }
        ParseError::UnexpectedArgument { command, arg } => {
            format!("`/maison {command}` に `{arg}` は指定できません。")
        }
        ParseError::BadDuration { input, .. } => {
            format!("`{input}` は時間の長さとして読めません。{DURATION_FORMS}。")
        }
        ParseError::ZeroDuration { input, .. } => {
            format!(
                "`{input}` では長さがありません。時間の長さは 1m（1分）以上です（例: 30m、2h）。"
            )
        }
        ParseError::DurationTooLong { input, .. } => {
            format!("`{input}` は長すぎます。時間の長さは最大 365d（365日）です。")
        }
        ParseError::BadTime { input, reason, .. } => format!(
            "`{input}` は時刻として読めません（{}）。{TIME_FORMS}。",
            problem(reason)
        ),
        ParseError::BadGpus { command, input } => format!(
            "`{input}` は GPU の指定として読めません。{}",
            gpu_forms(command)
        ),
        ParseError::BadBookingId { command, input } => match *command {
            "unwait" => format!(
                "`{input}` は空き待ちの番号ではありません。番号は `/maison queue` や `--wait` \
                 の返答に表示される `7` や `#7` のような数字です。"
            ),
            _ => format!(
                "`{input}` は予約番号ではありません。予約番号は `/maison mine` に表示される \
                 `42` や `#42` のような数字です。"
            ),
        },
        ParseError::NonexistentLocalTime { time, tz, .. } => format!(
            "{time} は {tz} では存在しない時刻です（夏時間の切り替えで飛ばされます）。\
             その 1 時間を避けて指定してください。"
        ),
        ParseError::EndBeforeStart { range, .. } => format!(
            "`{range}` は終了が開始より前になっています。`9:00-18:00` のように終了を開始より\
             後にしてください。日付をまたぐときは、`8h at 22:00` のように時間の長さと開始時刻で\
             指定してください。"
        ),
        ParseError::UnterminatedQuote { command } => {
            format!("引用符が閉じられていません。{}", quote_hint(command))
        }
        ParseError::BadContainerName { input, reason, .. } => format!(
            "`{input}` はコンテナ名に使えません（{}）。名前は英字か数字で始め、英字・数字・\
             `_`・`.`・`-` で 63 文字以内にしてください（例: `--name llama-ft`）。",
            problem(reason)
        ),
        ParseError::BadImage { input, reason, .. } => format!(
            "`{input}` は使えるイメージではありません（{}）。`pytorch` のようなカタログの名前\
             （`/maison images` で一覧を表示）か、`registry.lan/team/trainer:1.2` のような参照を\
             指定してください。",
            problem(reason)
        ),
        ParseError::BadTarget {
            command,
            input,
            reason,
        } => match *command {
            "stop" | "rm" => format!(
                "`{input}` はコンテナとして読めません（{}）。`llama-ft` や `3f2a9c` のように、\
                 コンテナの名前か ID を指定してください。自分のコンテナは `/maison ps` で\
                 一覧を表示できます。",
                problem(reason)
            ),
            _ => format!(
                "`{input}` はコンテナやイメージとして読めません（{}）。`llama-ft` や `3f2a9c` \
                 のようなコンテナの名前か ID、または `pytorch` や \
                 `registry.lan/team/trainer:1.2` のようなイメージを指定してください。",
                problem(reason)
            ),
        },
        ParseError::MissingCommandSeparator {
            word, corrected, ..
        } => format!(
            "コンテナで `{word}` を実行するには、コマンドを `--` のあとに書いてください: \
             `/maison {corrected}`"
        ),
        ParseError::UnknownSubcommand {
            command,
            word,
            expected,
            suggestion,
        } => format!(
            "`/maison {command}` のあとには {}を指定してください（`{word}` は使えません）。{}",
            choices(expected),
            did_you_mean(*suggestion).trim_end()
        ),
        ParseError::MissingVersion { input, .. } => format!(
            "`{input}` にバージョンがありません。`/maison data add {input}@v1 \
             gpu03:/srv/datasets/{input}` のように、バージョンごとにラベルを付けて登録して\
             ください。登録したバージョンの中身は変わりません。"
        ),
        ParseError::BadDataset { input, reason, .. } => format!(
            "`{input}` はデータセットとして使えません（{}）。データセットは英字・数字・`_`・\
             `.`・`-` からなる名前か、名前とバージョンです（例: `imagenet`、`imagenet@v2`）。",
            problem(reason)
        ),
        ParseError::BadDatasetPath { input, reason, .. } => format!(
            "`{input}` は登録できるディレクトリではありません（{}）。\
             `gpu03:/srv/datasets/imagenet` のように、ホストと絶対パスを指定してください。",
            problem(reason)
        ),
        ParseError::BadDockerfilePath { input, .. } => format!(
            "`{input}` は Dockerfile のパスとして読めません。`/work/alice/tuned/Dockerfile` \
             のように、ホスト上の絶対パスを指定してください。"
        ),
        ParseError::DuplicateDataset { name, .. } => format!(
            "`--data` に `{name}` が 2 回指定されています。`--data imagenet,coco@2017` の\
             ように、各データセットは 1 回だけ指定してください。"
        ),
        ParseError::WaitOptionWithoutWait { option, .. } => format!(
            "`{option}` は `--wait`（空きがないときに空き待ちの列に並ぶ）と一緒にしか使えません。\
             `--wait` を付けるか、`{option}` を外してください。"
        ),
        ParseError::WaitWithStartTime { .. } => "`--wait` は GPU が空きしだい予約するので、\
             開始時刻ではなく時間の長さを指定します。`2h --wait` のように開始時刻を外すか、\
             `--wait` なしでその時刻を予約してください。"
            .to_owned(),
        ParseError::WithinShorterThanBooking { within, length, .. } => {
            let length = format_duration_in(*length, Lang::Ja);
            format!(
                "`--within {}` は予約そのもの（{length}）より短いため、期限内に終わることが\
                 ありません。`--within` を {length}以上にするか、予約を短くしてください。",
                format_duration(*within)
            )
        }
        ParseError::BadMemorySize { input, reason, .. } => format!(
            "`{input}` は GPU メモリの量として読めません（{}）。`--min-mem 40G` のように数値と\
             単位で指定してください。`M`・`G`・`T`（または `MB`・`GB`・`TB`）は 1000 の累乗、\
             `MiB`・`GiB`・`TiB` は 1024 の累乗で数えます。",
            problem(reason)
        ),
        ParseError::BadProject { input, reason, .. } => format!(
            "`{input}` はプロジェクト名に使えません（{}）。プロジェクト名は `vision` のように\
             英字・数字・`_`・`.`・`-` からなる名前です。`/maison project` で一覧を表示します。",
            problem(reason)
        ),
        ParseError::BadCatalogName { input, reason, .. } => format!(
            "`{input}` はカタログ名に使えません（{}）。カタログ名は `resnet` や `resnet:v2` のように、\
             英字・数字・`_`・`.`・`-` からなる名前に、必要なら `:バージョン` を付けたものです。\
             `/maison images` で一覧を表示します。",
            problem(reason)
        ),
        ParseError::BadWhatIf { input } => format!(
            "`{input}` は追加するキャパシティとして読めません。`+4 gpus`（4 GPU のホストを 1 台）\
             のように GPU 数か、`+2 hosts of 8` のようにホスト数と 1 台あたりの GPU 数を指定して\
             ください（合計 4096 GPU まで）。"
        ),
        ParseError::BadWeeks { input } => format!(
            "`{input}` は再現する週数として読めません。`--weeks 12` のように 1〜52 を指定して\
             ください。"
        ),
    }
}

/// `使い方: /maison …` and an example, as [`ParseError::right_form`] gives it in English.
pub(crate) fn right_form(command: &str) -> String {
    let spec = spec::spec(command);
    let usage: Vec<String> = spec
        .usage
        .lines()
        .map(|line| format!("`/maison {line}`"))
        .collect();
    let mut text = match usage.as_slice() {
        [one] => format!("使い方: {one}"),
        several => format!("使い方:\n{}", several.join("\n")),
    };
    if let Some(example) = spec.examples.iter().find(|e| e.contains(' ')) {
        text.push_str(&format!("\n例: `/maison {example}`"));
    }
    text
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|word| format!("`{word}` のことですか？ "))
        .unwrap_or_default()
}

/// "`drain` or `undrain`" → "`drain` か `undrain` "; three or more → "`a`、`b`、`c` のいずれか",
/// ready for the particle that follows.
fn choices(expected: &str) -> String {
    let words: Vec<&str> = expected.split('`').skip(1).step_by(2).collect::<Vec<_>>();
    match words.as_slice() {
        [] => expected.to_owned(),
        [one] => format!("`{one}` "),
        [a, b] => format!("`{a}` か `{b}` "),
        several => {
            let quoted: Vec<String> = several.iter().map(|w| format!("`{w}`")).collect();
            format!("{} のいずれか", quoted.join("、"))
        }
    }
}

fn gpu_forms(command: &str) -> &'static str {
    match command {
        "launch" => {
            "GPU 0 と 1 なら `--gpus 0,1`、GPU 0〜3 なら `--gpus 0-3`、そのホストで予約した GPU \
             すべてなら `--gpus all`、GPU なしなら `--gpus none` と書きます。"
        }
        _ => {
            "GPU 0 と 1 なら `gpu01:0,1`、GPU 0〜3 なら `gpu01:0-3`、ホスト全体なら \
             `gpu01:all`、空いている任意の 2 基なら `--gpus 2` と書きます。"
        }
    }
}

fn quote_hint(command: &str) -> &'static str {
    match command {
        "book" | "data" => "メモは `for \"training run\"` のように書いてください。",
        "launch" => "`-- python -c \"print(42)\"` のように閉じてください。",
        _ => "引用符を閉じるか、引用符なしで書いてください。",
    }
}

/// What the parser wanted, as a noun phrase: "`book` には**予約番号**が必要です".
fn wanted(what: &str) -> String {
    let ja = match what {
        "an end time or a duration: a range like `9:00-18:00`, or a duration and a start like \
         `2h at 9:00`" => {
            "終了時刻か時間の長さ（`9:00-18:00` のような時間帯、または `2h at 9:00` のような\
             時間の長さと開始時刻）"
        }
        "a container name or id" => "コンテナの名前か ID",
        "a container or an image" => "コンテナかイメージ",
        "`drain` or `undrain` and a host" => "`drain` か `undrain` とホスト",
        "a host to drain" => "drain するホスト",
        "a host to undrain" => "undrain するホスト",
        "a job to run, like `daily_report`" => "実行するジョブ（例: `daily_report`）",
        "the capacity to add, like `+4 gpus` or `+2 hosts of 8`" => {
            "追加するキャパシティ（例: `+4 gpus`、`+2 hosts of 8`）"
        }
        "`of` and the GPUs per host, like `+2 hosts of 8`" => {
            "`of` と 1 台あたりの GPU 数（例: `+2 hosts of 8`）"
        }
        "the GPUs per new host, like `+2 hosts of 8`" => {
            "新しいホスト 1 台あたりの GPU 数（例: `+2 hosts of 8`）"
        }
        "a number of weeks after `--weeks`, like `12`" => "`--weeks` のあとに週数（例: `12`）",
        "a project, like `vision`, or `none`" => "プロジェクト（例: `vision`）か `none`",
        "a project name, like `vision`" => "プロジェクト名（例: `vision`）",
        "the project to remove, like `vision`" => "削除するプロジェクト（例: `vision`）",
        "what to do, like `image save <container> <name>[:<tag>]`" => {
            "操作（例: `image save <container> <name>[:<tag>]`）"
        }
        "the container to save, like `alice-c1`" => "保存するコンテナ（例: `alice-c1`）",
        "a name for the image, like `alice/tuned:v1`" => "イメージの名前（例: `alice/tuned:v1`）",
        "the host to build on, like `gpu01`" => "ビルドするホスト（例: `gpu01`）",
        "the Dockerfile's path, like `/work/alice/tuned/Dockerfile`" => {
            "Dockerfile のパス（例: `/work/alice/tuned/Dockerfile`）"
        }
        "the image to copy and a host, like `pytorch:2.3 gpu02`" => {
            "コピーするイメージとホスト（例: `pytorch:2.3 gpu02`）"
        }
        "a host to copy the image to, like `gpu02`" => "イメージのコピー先のホスト（例: `gpu02`）",
        "a dataset, like `imagenet` or `imagenet@v2`" => {
            "データセット（例: `imagenet`、`imagenet@v2`）"
        }
        "a dataset and a host, like `imagenet gpu05`" => {
            "データセットとホスト（例: `imagenet gpu05`）"
        }
        "a host to copy the dataset to, like `gpu05`" => {
            "データセットのコピー先のホスト（例: `gpu05`）"
        }
        "the host whose copy you mean, like `gpu05`" => "対象のコピーがあるホスト（例: `gpu05`）",
        "a dataset and where it is, like `imagenet@v2 gpu03:/srv/datasets/imagenet`" => {
            "データセットとその場所（例: `imagenet@v2 gpu03:/srv/datasets/imagenet`）"
        }
        "the host and the path, like `gpu03:/srv/datasets/imagenet`" => {
            "ホストとパス（例: `gpu03:/srv/datasets/imagenet`）"
        }
        "a GPU list after `--gpus`, like `0,1`" => "`--gpus` のあとに GPU の番号（例: `0,1`）",
        "a container name after `--name`" => "`--name` のあとにコンテナ名",
        "a dataset after `--data`, like `imagenet` or `imagenet,coco@2017`" => {
            "`--data` のあとにデータセット（例: `imagenet`、`imagenet,coco@2017`）"
        }
        "a host name before the `:`" => "`:` の前にホスト名",
        "a host and an image" => "ホストとイメージ",
        "an image, like `pytorch` or `registry.lan/team/trainer:1.2`" => {
            "イメージ（例: `pytorch`、`registry.lan/team/trainer:1.2`）"
        }
        "a booking id" => "予約番号",
        "a wait-list id, like `7` (`/maison queue` shows them)" => {
            "空き待ちの番号（例: `7`。`/maison queue` で表示されます）"
        }
        "a booking id and a duration" => "予約番号と時間の長さ",
        "a duration" => "時間の長さ",
        "a host (or `any`) and a duration" => "ホスト（または `any`）と時間の長さ",
        "a time after `at`" => "`at` のあとに時刻",
        "a number after `--gpus`" => "`--gpus` のあとに数",
        "a dataset after `--data`, like `imagenet`" => {
            "`--data` のあとにデータセット（例: `imagenet`）"
        }
        "a duration after `--within`, like `8h`" => "`--within` のあとに時間の長さ（例: `8h`）",
        "a project after `--project`, like `vision`" => {
            "`--project` のあとにプロジェクト（例: `vision`）"
        }
        "a GPU memory size after `--min-mem`, like `40G`" => {
            "`--min-mem` のあとに GPU メモリの量（例: `40G`）"
        }
        "a duration or a time range" => "時間の長さか時間帯",
        "a time range after the day, like `9:00-18:00`" => "日付のあとに時間帯（例: `9:00-18:00`）",
        "a note after `for`, like `for \"training run\"`" => {
            "`for` のあとにメモ（例: `for \"training run\"`）"
        }
        other => return other.to_owned(),
    };
    ja.to_owned()
}

/// Why a word was refused, as the parser, the name checks and the size and time readers say it.
fn problem(reason: &str) -> String {
    let fixed = match reason {
        "there is no such date" => Some("その日付は存在しません"),
        "write a time of day like 14:00 or 2pm" => Some("`14:00` や `2pm` のように書きます"),
        "minutes go from 00 to 59" => Some("分は 00〜59 です"),
        "with am or pm, hours go from 1 to 12" => Some("am・pm を付けるとき、時は 1〜12 です"),
        "hours go from 0 to 23" => Some("時は 0〜23 です"),
        "is empty" => Some("空です"),
        "contains a space" => Some("空白が含まれています"),
        "does not start with a number" => Some("数値で始まっていません"),
        "has no unit" => Some("単位がありません"),
        "is zero" => Some("0 です"),
        "is negative" => Some("負の値です"),
        "is too large" => Some("大きすぎます"),
        "has no name before the `@`" => Some("`@` の前に名前がありません"),
        "the host is missing" => Some("ホストがありません"),
        "it is not `<host>:<path>`" => Some("`<host>:<path>` の形ではありません"),
        "the path is not absolute (it must start with `/`)" => {
            Some("絶対パスではありません。`/` で始めてください")
        }
        "the path contains `.` or `..`" => Some("パスに `.` か `..` が含まれています"),
        "the path contains a NUL character" => Some("パスに NUL 文字が含まれています"),
        _ => None,
    };
    if let Some(fixed) = fixed {
        return fixed.to_owned();
    }
    if let Some(rest) = reason.strip_prefix("has a version that ") {
        return format!("バージョンが正しくありません: {}", problem(rest));
    }
    if let Some(code) = reason.strip_prefix("contains ") {
        return format!("{code} が含まれています");
    }
    if let Some(code) = reason.strip_prefix("starts with ") {
        return format!("{code} で始まっています");
    }
    if let Some(code) = reason.strip_prefix("ends with ") {
        return format!("{code} で終わっています");
    }
    if let Some(unit) = reason.strip_prefix("has an unknown unit ") {
        return format!("{unit} は使えない単位です");
    }
    if let Some(digits) = reason
        .strip_prefix("has more than ")
        .and_then(|rest| rest.strip_suffix(" decimals"))
    {
        return format!("小数点以下が {digits} 桁を超えています");
    }
    if let Some((len, max)) = reason
        .strip_prefix("is ")
        .and_then(|rest| rest.split_once(" characters long, over the limit of "))
    {
        return format!("{len} 文字あり、上限の {max} 文字を超えています");
    }
    reason.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_read_as_a_japanese_list() {
        assert_eq!(choices("`drain` or `undrain`"), "`drain` か `undrain` ");
        assert_eq!(
            choices("`day`, `week`, `month` or `what-if`"),
            "`day`、`week`、`month`、`what-if` のいずれか"
        );
    }

    #[test]
    fn reasons_with_a_word_in_them() {
        assert_eq!(problem("contains `;`"), "`;` が含まれています");
        assert_eq!(
            problem("has a version that contains a space"),
            "バージョンが正しくありません: 空白が含まれています"
        );
        assert_eq!(
            problem("is 64 characters long, over the limit of 63"),
            "64 文字あり、上限の 63 文字を超えています"
        );
        assert_eq!(
            problem("has more than 3 decimals"),
            "小数点以下が 3 桁を超えています"
        );
        assert_eq!(
            problem("has an unknown unit `KB`"),
            "`KB` は使えない単位です"
        );
    }

    #[test]
    fn english_is_unchanged() {
        let error = ParseError::EmptyCommand;
        assert_eq!(error.message_in(Lang::En), error.to_string());
    }
}
