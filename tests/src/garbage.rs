//! Garbage input for everything that decodes what a user, Slack or a peer sends: the command
//! parser (and the reply to its errors), the HTTP front's form and JSON payloads, Socket Mode
//! frames, the agent's request bodies (a launch all the way through the policy) and both TOML
//! configurations. Each target starts from valid inputs and mutates them (tokens of its
//! grammar inserted, spans deleted or repeated, odd characters, truncations, splices), so that
//! most inputs get past the first check and reach the code behind it.
//!
//! A run counts inputs, panics and the slowest input; `garbage-bench` runs a million per target,
//! `tests/garbage.rs` a few thousand in the test suite.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use maison_agent::config::{MountRoots, PolicyConfig, ResourceConfig};
use maison_agent::policy::{HostSize, Policy, build_container_config};

/// One decoder under test.
pub struct Target {
    pub name: &'static str,
    /// Valid inputs to start from.
    pub seeds: Vec<String>,
    /// Words of the input's grammar, inserted by mutations.
    pub dictionary: Vec<&'static str>,
    /// Decodes (and acts on what decodes); must never panic, whatever the input.
    pub run: Box<dyn Fn(&str) + Send + Sync>,
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: &'static str,
    pub inputs: u64,
    pub panics: u64,
    /// The first input that panicked.
    pub first_panic: Option<String>,
    pub slowest: Duration,
    pub slowest_input: String,
    pub elapsed: Duration,
}

/// Characters that break naive code: controls, quotes, wide and combining characters, a
/// right-to-left override, a byte-order mark, and a character that is four bytes in UTF-8.
const ODD: &[char] = &[
    '\0', '\t', '\n', '\r', '"', '\'', '\\', '`', '<', '>', '&', '%', '+', '=', '{', '}', '[', ']',
    ':', ',', '-', '@', '/', '.', ' ', 'é', '時', '\u{301}', '\u{202e}', '\u{feff}', '🚀',
    '\u{7f}',
];

/// Applies one to four mutations to a seed (or, now and then, makes a random string).
pub fn mutate(rng: &mut fastrand::Rng, seeds: &[String], dictionary: &[&str]) -> String {
    if seeds.is_empty() || rng.u8(..) < 8 {
        let len = rng.usize(..64);
        return (0..len).map(|_| ODD[rng.usize(..ODD.len())]).collect();
    }
    let mut chars: Vec<char> = seeds[rng.usize(..seeds.len())].chars().collect();
    for _ in 0..rng.usize(1..=4) {
        let at = rng.usize(..=chars.len());
        match rng.u8(..7) {
            0 if !dictionary.is_empty() => {
                let word = dictionary[rng.usize(..dictionary.len())];
                chars.splice(at..at, word.chars());
            }
            1 if at < chars.len() => {
                let end = (at + rng.usize(1..=8)).min(chars.len());
                chars.drain(at..end);
            }
            2 if at < chars.len() => chars[at] = ODD[rng.usize(..ODD.len())],
            3 if at < chars.len() => {
                let end = (at + rng.usize(1..=16)).min(chars.len());
                let span: Vec<char> = chars[at..end].to_vec();
                chars.splice(
                    at..at,
                    span.iter()
                        .copied()
                        .cycle()
                        .take(span.len() * rng.usize(1..=3)),
                );
            }
            4 => chars.truncate(at),
            5 => {
                let other: Vec<char> = seeds[rng.usize(..seeds.len())].chars().collect();
                let from = rng.usize(..=other.len());
                chars.truncate(at);
                chars.extend_from_slice(&other[from..]);
            }
            _ => chars.insert(at, ODD[rng.usize(..ODD.len())]),
        }
    }
    chars.into_iter().collect()
}

/// Runs `inputs` mutated inputs through `target`, from a fixed `seed` (a failure repeats).
pub fn run(target: &Target, inputs: u64, seed: u64) -> Outcome {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut outcome = Outcome {
        name: target.name,
        inputs,
        panics: 0,
        first_panic: None,
        slowest: Duration::ZERO,
        slowest_input: String::new(),
        elapsed: Duration::ZERO,
    };
    let started = Instant::now();
    for i in 0..inputs {
        // The seeds themselves first: a valid input must pass too.
        let input = match target.seeds.get(i as usize) {
            Some(seed) => seed.clone(),
            None => mutate(&mut rng, &target.seeds, &target.dictionary),
        };
        let t = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        let took = t.elapsed();
        if took > outcome.slowest {
            outcome.slowest = took;
            outcome.slowest_input = input.clone();
        }
        if result.is_err() {
            outcome.panics += 1;
            outcome.first_panic.get_or_insert(input);
        }
    }
    outcome.elapsed = started.elapsed();
    outcome
}

/// Every target.
pub fn targets() -> Vec<Target> {
    vec![
        command_parser(),
        slack_command_form(),
        slack_interaction(),
        slack_event(),
        socket_mode_frame(),
        agent_launch(),
        agent_dataset_requests(),
        bot_config(),
        agent_config(),
    ]
}

fn command_parser() -> Target {
    let mut seeds: Vec<String> = Vec::new();
    for spec in maison_command::COMMANDS {
        seeds.extend(spec.examples.iter().map(|e| e.to_string()));
        seeds.extend(spec.usage.lines().map(str::to_owned));
    }
    let context = maison_command::ParseContext {
        now: Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap(),
        tz: chrono_tz::Europe::Paris,
    };
    Target {
        name: "command parser + error reply",
        seeds,
        dictionary: vec![
            "book ",
            "any ",
            "all",
            ":0,1",
            ":0-3",
            "--gpus ",
            "--gpus=",
            "--data ",
            "--wait",
            " at ",
            " for ",
            "\"",
            "tomorrow ",
            "today ",
            "fri ",
            "2026-02-30 ",
            "9:00-18:00",
            "9am",
            "12pm",
            "25:00",
            "2h",
            "1h30m",
            "1.5h",
            "0m",
            "400d",
            "99999999999999h",
            "@v1",
            "imagenet@",
            "gpu01:/srv/data",
            "../",
            "launch ",
            "--",
            "data ",
            "jobs run ",
            "#42",
            "2時間",
            "明日 9:00",
            "\u{202e}",
            " -- ",
            "\\\"",
        ],
        run: Box::new(move |input| {
            if let Err(err) = maison_command::parse(input, &context) {
                for lang in maison_command::Lang::ALL {
                    let reply = maison_bot::core::replies::parse_error(&err, lang);
                    let _ = reply.to_slack_json();
                    let _ = reply.to_terminal();
                }
            }
        }),
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

fn slack_command_form() -> Target {
    let seeds = [
        "book gpu01 2h for \"a &lt;b&gt; test\"",
        "status",
        "",
        "data add x@v1 gpu01:/d",
    ]
    .iter()
    .map(|text| {
        form(&[
            ("token", "x"),
            ("team_id", "T0MAISON"),
            ("team_domain", "maison"),
            ("channel_id", "C0GENERAL"),
            ("user_id", "U0ALICE"),
            ("command", "/maison"),
            ("text", text),
            ("response_url", "https://hooks.slack.com/commands/T0/1/x"),
            ("trigger_id", "1.2.3"),
        ])
    })
    .collect();
    Target {
        name: "Slack slash-command form",
        seeds,
        dictionary: vec![
            "&",
            "=",
            "%",
            "%ZZ",
            "%F0%9F",
            "+",
            "text=",
            "&user_id=",
            "team_id",
        ],
        run: Box::new(|input| {
            let _ = maison_bot::slack::http::decode_command(input.as_bytes());
        }),
    }
}

/// Clicks as Slack sends them: from an ephemeral reply, and from a channel post with blocks.
fn click_seeds() -> Vec<String> {
    let report = serde_json::json!({
        "text": "report",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "`old:1` on gpu01"}},
            {"type": "actions", "elements": [{"type": "button", "action_id": "remove_image",
                "text": {"type": "plain_text", "text": "Remove"}, "value": "gpu01/sha256:aa"}]},
        ],
    });
    vec![
        crate::click_payload("U0ALICE", "release", "7", "https://hooks/x", None).to_string(),
        crate::click_payload(
            "U0ADMIN",
            "remove_image",
            "gpu01/sha256:aa",
            "https://hooks/x",
            Some(("C0FLEET", &report)),
        )
        .to_string(),
    ]
}

const JSON_WORDS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "null",
    "true",
    "1e999",
    "-0",
    "\"type\":",
    "\"blocks\":",
    "\"actions\":[]",
    "\"container\":{}",
    "\"message\":",
    "\"payload\":",
    "\\u0000",
    "\\ud800",
];

fn slack_interaction() -> Target {
    Target {
        name: "Slack interaction payload",
        seeds: click_seeds(),
        dictionary: JSON_WORDS.to_vec(),
        run: Box::new(|payload| {
            let body = form(&[("payload", payload)]);
            if let Ok(clicks) = maison_bot::slack::http::decode_clicks(body.as_bytes()) {
                for click in clicks {
                    if let Some(message) = &click.message {
                        let _ = maison_bot::core::render::settle_line(
                            &message.blocks,
                            &click.action_id,
                            &click.value,
                            "done",
                        );
                    }
                }
            }
        }),
    }
}

fn slack_event() -> Target {
    Target {
        name: "Slack Events API envelope",
        seeds: vec![
            r#"{"type":"url_verification","challenge":"abc","token":"x"}"#.into(),
            r#"{"type":"event_callback","event_id":"Ev1","team_id":"T0","event":{"type":"app_home_opened","user":"U0ALICE","tab":"home"}}"#.into(),
            r#"{"type":"app_rate_limited","minute_rate_limited":1}"#.into(),
        ],
        dictionary: JSON_WORDS.to_vec(),
        run: Box::new(|input| {
            let _ = maison_bot::slack::http::decode_event(input.as_bytes());
        }),
    }
}

fn socket_mode_frame() -> Target {
    let mut seeds = vec![
        r#"{"type":"hello","num_connections":1,"connection_info":{"app_id":"A0MAISON"},"debug_info":{"host":"x"}}"#.to_owned(),
        r#"{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"x"}}"#.to_owned(),
        serde_json::json!({
            "envelope_id": "e1", "type": "slash_commands", "accepts_response_payload": true,
            "payload": {"team_id": "T0", "team_domain": "maison", "channel_id": "C0", "channel_name": "g",
                "user_id": "U0ALICE", "user_name": "alice", "command": "/maison", "text": "book gpu01 1h",
                "response_url": "https://hooks/x", "trigger_id": "1.2.3"},
        })
        .to_string(),
    ];
    for click in click_seeds() {
        let payload: serde_json::Value = serde_json::from_str(&click).unwrap();
        seeds.push(
            serde_json::json!({"envelope_id": "e2", "type": "interactive",
                "accepts_response_payload": false, "payload": payload})
            .to_string(),
        );
    }
    Target {
        name: "Socket Mode frame",
        seeds,
        dictionary: JSON_WORDS.to_vec(),
        run: Box::new(|input| {
            let _ = maison_bot::slack::socket::decode_envelope(input);
        }),
    }
}

fn agent_launch() -> Target {
    let roots = tempfile::tempdir().expect("a temporary directory").keep();
    for dir in ["home/alice", "work/alice", "datasets/imagenet"] {
        std::fs::create_dir_all(roots.join(dir)).unwrap();
    }
    let policy = Policy::new(
        &MountRoots {
            home: Some(roots.join("home")),
            work: Some(roots.join("work")),
            datasets: Some(roots.join("datasets")),
        },
        std::path::Path::new("/var/run/docker.sock"),
        (0..8).map(|i| format!("GPU-{i}")).collect(),
        &PolicyConfig::default(),
        &ResourceConfig::default(),
        HostSize {
            memory_bytes: 64 << 30,
            cpus: 16,
        },
    );
    let work = roots.join("work/alice");
    let seeds = vec![
        serde_json::json!({
            "image": "maison-test/busybox", "owner": "U0ALICE", "gpus": [0, 1], "uid": 1000, "gid": 1000,
            "mounts": [{"source": work, "target": "/work"}], "command": ["sleep", "1"],
            "env": {"A": "b"}, "idempotency_key": "k1", "name": "alice-train",
        })
        .to_string(),
        r#"{"image":"x","owner":"U0BOB","idempotency_key":"k2","privileged":true,"cap_add":["SYS_ADMIN"],"devices":["/dev/sda"],"network_mode":"host"}"#.into(),
        r#"{"image":"x","owner":"U0BOB","idempotency_key":"k3","uid":0,"mounts":[{"source":"/","target":"/host"}],"datasets":[{"name":"imagenet","manifest":"00"}]}"#.into(),
    ];
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    Target {
        name: "agent launch request + policy",
        seeds,
        dictionary: vec![
            "\"/\"",
            "\"..\"",
            "\"/proc\"",
            "\"/var/run/docker.sock\"",
            "\"/work/../../etc\"",
            "\"uid\":0",
            "\"gid\":0",
            "\"gpus\":[99]",
            "\"gpus\":[4294967295]",
            "\"read_only\":false",
            "\"privileged\":true",
            "\"LD_PRELOAD\"",
            "\"security_opt\":[\"seccomp=unconfined\"]",
        ]
        .into_iter()
        .chain(JSON_WORDS.iter().copied())
        .collect(),
        run: Box::new(move |input| {
            if let Ok(spec) = serde_json::from_str::<maison_agent_api::LaunchSpec>(input) {
                let _ = build_container_config(&spec, &policy, now);
            }
        }),
    }
}

fn agent_dataset_requests() -> Target {
    use maison_agent_api::datasets::{BlobBatch, FetchRequest, RegisterRequest};
    Target {
        name: "agent dataset requests + Range",
        seeds: vec![
            r#"{"name":"imagenet","version":"v2","path":"/srv/datasets/imagenet","owner_uid":1000}"#.into(),
            r#"{"name":"imagenet","version":"v2","manifest":"ab","sources":[{"host":"gpu03","url":"https://gpu03:8443"}]}"#.into(),
            r#"{"hashes":["aa","bb"]}"#.into(),
            "bytes=0-8388607".into(),
            "bytes=-5".into(),
            "bytes=100-".into(),
        ],
        dictionary: vec!["bytes=", "-", ",", "18446744073709551615", "0", " "]
            .into_iter()
            .chain(JSON_WORDS.iter().copied())
            .collect(),
        run: Box::new(|input| {
            let _ = serde_json::from_str::<RegisterRequest>(input);
            let _ = serde_json::from_str::<FetchRequest>(input);
            let _ = serde_json::from_str::<BlobBatch>(input);
            for size in [0, 1, 8 << 20, u64::MAX] {
                let _ = maison_agent::datasets::serve::parse_range(input, size);
            }
        }),
    }
}

const TOML_WORDS: &[&str] = &[
    "[",
    "]",
    "[[hosts]]",
    "=",
    "\"",
    "'''",
    "#",
    "\n",
    "gpus = 65",
    "gpus = -1",
    "uid = 0",
    "timezone = \"Mars/Olympus\"",
    "keep_for = \"0s\"",
    "max_length = \"99999999999d\"",
    "schedule = \"* * *\"",
    "agent_url = \"https://x\"",
    "1e308",
    "inf",
    "nan",
];

fn bot_config() -> Target {
    Target {
        name: "bot config (TOML)",
        seeds: vec![
            include_str!("../../config/maison.example.toml").to_owned(),
            maison_bot::local::DEMO_CONFIG.to_owned(),
        ],
        dictionary: TOML_WORDS.to_vec(),
        run: Box::new(|input| {
            let _ = maison_bot::config::Config::from_toml(input);
        }),
    }
}

fn agent_config() -> Target {
    Target {
        name: "agent config (TOML)",
        seeds: vec![include_str!("../../config/agent.example.toml").to_owned()],
        dictionary: TOML_WORDS.to_vec(),
        run: Box::new(|input| {
            if let Ok(config) = maison_agent::config::AgentConfig::from_toml(input) {
                let _ = config.validate();
            }
        }),
    }
}
