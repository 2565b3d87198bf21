//! Test support for Maison's end-to-end scenarios and benchmarks:
//!
//! * [`TestDb`]: a fresh, migrated database per test, on SQLite or on PostgreSQL
//!   (`MAISON_TEST_POSTGRES_URL`; missing PostgreSQL fails the test, it never skips);
//! * [`fake_slack::FakeSlack`]: a stateful fake of the Slack Web API;
//! * [`BotTester`]: the real bot router on a loopback port, driven with correctly signed
//!   requests, reading what the bot sent to the fake Slack. Every scenario ends with
//!   [`BotTester::finish`], which fails on messages nobody read: sent to Slack, or still
//!   waiting in the outbox. So no reply goes unchecked.

pub mod agents;
pub mod fake_slack;
pub mod garbage;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, TimeZone, Utc};
use maison_bot::app::App;
use maison_bot::config::{Config, Secret, UnixUserMapping};
use maison_bot::core::clock::{Clock, ManualClock};
use maison_bot::fleet::poller::Poller;
use maison_bot::jobs::matcher::Matcher;
use maison_bot::outbox::Outbox;
use maison_bot::ports::Fleet;
use maison_bot::slack::api::SlackWebApi;
use maison_bot::slack::http::HttpFront;
use maison_bot::slack::serve::{FrontLimits, serve};
use maison_bot::slack::signature;
use maison_bot::store::Db;
use maison_bot::store::outbox::OutboxEntry;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use fake_slack::FakeSlack;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In memory: fast, and what most tests use.
    Sqlite,
    /// A SQLite file, as a real install has: bookings go through the group-commit thread.
    SqliteFile,
    Postgres,
}

/// A fresh database for one test; a PostgreSQL one is dropped again when the test ends.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    drop_on_exit: Option<(String, String)>,
    /// Holds a SQLite file's directory until the test ends.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let url = "sqlite::memory:".to_owned();
                let db = Db::connect(&url).await.expect("in-memory SQLite");
                Self {
                    db,
                    url,
                    drop_on_exit: None,
                    _dir: None,
                }
            }
            Backend::SqliteFile => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("maison.db").display()
                );
                let db = Db::connect(&url).await.expect("SQLite file");
                Self {
                    db,
                    url,
                    drop_on_exit: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => Self::postgres().await,
        }
    }

    async fn postgres() -> Self {
        let admin_url = std::env::var("MAISON_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "MAISON_TEST_POSTGRES_URL is not set. Database tests run on PostgreSQL too: \
                 run ./scripts/test.sh (it starts one), or point the variable at a server \
                 where the user may CREATE DATABASE."
            )
        });
        let name = format!("maison_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at MAISON_TEST_POSTGRES_URL: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE (does the user have CREATEDB?)");
        admin.close().await.ok();
        let url = replace_database(&admin_url, &name);
        let db = Db::connect(&url)
            .await
            .expect("connect to the test database");
        Self {
            db,
            url,
            drop_on_exit: Some((admin_url, name)),
            _dir: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.drop_on_exit.take() else {
            return;
        };
        // Dropping needs async I/O; do it on a thread of its own so it works from any runtime
        // (even a blocked current-thread one). The test's own pool is not closed from here: its
        // connection tasks live on the test's runtime. `WITH (FORCE)` ends those sessions.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok();
                admin.close().await.ok()
            })
        })
        .join();
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host_part = match path_start {
        Some(i) => &base[..i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{database}?{q}"),
        None => format!("{host_part}/{database}"),
    }
}

/// The instant every scenario starts at: Monday 30 November 2026, 08:00 UTC.
pub fn test_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap()
}

pub const SIGNING_SECRET: &str = "test-signing-secret-0123456789";
pub const TEAM: &str = "T0MAISON";

/// Config for scenarios: three hosts, an announcement channel, one admin.
/// Alice (`U0ALICE`) as Unix user `alice`, uid and gid 1000, with no home or work mount; set
/// `work` with `UnixUserMapping { work: …, ..alice_as_uid_1000() }`.
pub fn alice_as_uid_1000() -> UnixUserMapping {
    UnixUserMapping {
        slack_user: "U0ALICE".into(),
        unix_user: "alice".into(),
        uid: 1000,
        gid: 1000,
        home: None,
        work: None,
    }
}

pub fn test_config() -> Config {
    Config::from_toml(
        r##"
        [slack]
        default_tz = "UTC"
        announce_channel = "C0ANNOUNCE"

        [bookings]
        max_length = "7d"
        max_ahead = "30d"
        max_gpus_per_user = 4
        admins = ["U0ADMIN"]

        [[hosts]]
        name = "gpu01"
        gpus = 2

        [[hosts]]
        name = "gpu02"
        gpus = 2

        [[hosts]]
        name = "gpu03"
        gpus = 8
        "##,
    )
    .expect("test config")
}

/// The real bot router on a loopback port, talking to a fake Slack.
pub struct BotTester {
    pub app: Arc<App>,
    pub slack: FakeSlack,
    pub clock: Arc<ManualClock>,
    pub addr: SocketAddr,
    http: reqwest::Client,
    stop_outbox: CancellationToken,
    stop_matcher: CancellationToken,
    outbox_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Outbox messages the test has read while they waited (see [`BotTester::queued`]).
    read_queued: std::sync::Mutex<HashSet<i64>>,
    finished: bool,
    _db: TestDb,
}

/// How long [`BotTester::finish`] lets the outbox sender deliver what is queued: it paces one
/// message per second per channel, and CI machines are busy.
const DRAIN_TIMEOUT: StdDuration = StdDuration::from_secs(15);

/// A manual clock that also moves with real time (see [`BotTester::start_with_fleet`]).
struct SteppingClock {
    base: Arc<ManualClock>,
    started: std::time::Instant,
}

impl Clock for SteppingClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.base.now() + elapsed
    }
}

impl BotTester {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, test_config()).await
    }

    pub async fn start_with(backend: Backend, config: Config) -> Self {
        Self::start_with_fleet(backend, config, Fleet::default()).await
    }

    /// With host agents: `fleet` maps host names to agents (real clients or fakes).
    pub async fn start_with_fleet(backend: Backend, mut config: Config, fleet: Fleet) -> Self {
        maison_bot::install_crypto_provider();
        let slack = FakeSlack::start().await;
        for (id, name, tz) in [
            ("U0ALICE", "Alice", "Europe/Paris"),
            ("U0BOB", "Bob", "America/New_York"),
            ("U0CAROL", "Carol", "UTC"),
            ("U0ADMIN", "Admin", "UTC"),
        ] {
            slack.add_user(id, name, tz);
        }
        config.slack.api_url = slack.api_url();
        let test_db = TestDb::new(backend).await;
        let clock = Arc::new(ManualClock::new(test_start()));
        test_db
            .db
            .sync_config(&config, clock.now().timestamp())
            .await
            .expect("hosts and catalogue");
        let api = SlackWebApi::new(&slack.api_url(), "xoxb-test-token").expect("Slack client");
        let app = Arc::new(
            App::new(config, test_db.db.clone(), Arc::new(api), clock.clone()).with_fleet(fleet),
        );
        let router = HttpFront::new(app.clone(), Secret::new(SIGNING_SECRET)).router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(
            listener,
            router,
            FrontLimits::default(),
            std::future::pending(),
        ));
        // The outbox sender runs as in production. Its clock is the test's manual clock plus
        // the real time elapsed, so pacing (1 message/s per channel) still moves forward while
        // the test stands still.
        let outbox_clock = Arc::new(SteppingClock {
            base: clock.clone(),
            started: std::time::Instant::now(),
        });
        let stop_outbox = CancellationToken::new();
        let outbox_task = Outbox::new(test_db.db.clone(), app.slack.clone(), outbox_clock)
            .spawn(stop_outbox.clone());
        // The wait-list matcher runs as in production too, on the test's clock: nudged by
        // releases and declines, and every `[waitlist] match_every`.
        let stop_matcher = CancellationToken::new();
        Matcher::new(app.clone()).spawn(stop_matcher.clone());
        Self {
            app,
            slack,
            clock,
            addr,
            http: reqwest::Client::new(),
            stop_outbox,
            stop_matcher,
            outbox_task: std::sync::Mutex::new(Some(outbox_task)),
            read_queued: std::sync::Mutex::new(HashSet::new()),
            finished: false,
            _db: test_db,
        }
    }

    pub fn db(&self) -> &Db {
        &self.app.db
    }

    /// Stops the background outbox sender and waits until it has stopped, for tests that
    /// inspect the queue itself.
    pub async fn stop_outbox_sender(&self) {
        self.stop_outbox.cancel();
        let task = self.outbox_task.lock().unwrap().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// The messages waiting in the outbox (queued, not yet sent or parked), oldest first. The
    /// test has read them: [`BotTester::finish`] does not count them as unread.
    pub async fn queued(&self) -> Vec<OutboxEntry> {
        let waiting: Vec<OutboxEntry> = self
            .db()
            .outbox_entries()
            .await
            .expect("outbox entries")
            .into_iter()
            .filter(|e| e.sent_at.is_none() && e.parked_at.is_none())
            .collect();
        self.read_queued
            .lock()
            .unwrap()
            .extend(waiting.iter().map(|e| e.id));
        waiting
    }

    /// Ends the scenario. If the outbox sender still runs, it first gets the time to deliver
    /// what is queued; then the test fails on any message nobody read: one the bot sent to
    /// Slack, or one still waiting in the outbox (unless the test read it with
    /// [`BotTester::queued`]). A check in `Drop` could not wait for the outbox, so every
    /// scenario calls this last; dropping a `BotTester` without it fails the test.
    pub async fn finish(mut self) {
        self.finished = true;
        let sending = self.outbox_task.lock().unwrap().is_some();
        if sending {
            let drained = async {
                while !self.unread_queue().await.is_empty() {
                    tokio::time::sleep(StdDuration::from_millis(50)).await;
                }
            };
            // What is still queued after the wait is reported below.
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
            self.stop_outbox_sender().await;
        }
        let waiting = self.unread_queue().await;
        assert!(
            waiting.is_empty(),
            "messages still queued in the outbox that no test read: {waiting:#?}"
        );
        let unread = self.slack.unread();
        assert!(
            unread.is_empty(),
            "the bot sent Slack messages that no test read: {unread:#?}"
        );
    }

    /// Queued messages the test has not read.
    async fn unread_queue(&self) -> Vec<OutboxEntry> {
        let read = self.read_queued.lock().unwrap().clone();
        self.db()
            .outbox_entries()
            .await
            .expect("outbox entries")
            .into_iter()
            .filter(|e| e.sent_at.is_none() && e.parked_at.is_none() && !read.contains(&e.id))
            .collect()
    }

    /// A poller over the bot's database, fleet, clock and Slack client (for progress
    /// messages); tests call `poll_once` themselves.
    pub fn poller(&self) -> Poller {
        Poller::new(
            self.app.db.clone(),
            self.app.fleet.clone(),
            &self.app.config.agents,
            self.clock.clone(),
        )
        .with_slack(self.app.slack.clone())
    }

    /// The app's current time, Unix seconds.
    pub fn now_ts(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// POSTs a body signed the way Slack signs it, at the app's current time.
    pub async fn post_signed(&self, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let ts = self.clock.now().timestamp();
        let sig = signature::sign(SIGNING_SECRET, ts, body.as_bytes());
        self.post_raw(
            path,
            &[
                ("content-type", content_type),
                (signature::TIMESTAMP_HEADER, &ts.to_string()),
                (signature::SIGNATURE_HEADER, &sig),
            ],
            body.as_bytes().to_vec(),
        )
        .await
    }

    /// POSTs exactly these headers and body.
    pub async fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, String) {
        let mut request = self
            .http
            .post(format!("http://{}{path}", self.addr))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("bot reachable");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// The form Slack sends for `/maison <text>` by `user`.
    pub fn command_form(&self, user: &str, text: &str) -> String {
        serde_urlencoded::to_string([
            ("token", "deprecated"),
            ("team_id", TEAM),
            ("team_domain", "maison"),
            ("channel_id", "C0GENERAL"),
            ("channel_name", "general"),
            ("user_id", user),
            ("user_name", "deprecated"),
            ("command", "/maison"),
            ("text", text),
            ("response_url", &self.slack.response_url()),
            ("trigger_id", "1.2.3"),
        ])
        .unwrap()
    }

    /// Runs `/maison <text>` as `user` and returns the reply JSON (panics on a non-200).
    pub async fn command(&self, user: &str, text: &str) -> Value {
        let (status, body) = self
            .post_signed(
                "/slack/commands",
                "application/x-www-form-urlencoded",
                &self.command_form(user, text),
            )
            .await;
        assert_eq!(status, 200, "/maison {text}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {body}"))
    }

    /// Runs a command and returns all the text of its reply, blocks included.
    pub async fn command_text(&self, user: &str, text: &str) -> String {
        reply_text(&self.command(user, text).await)
    }

    /// Clicks a button as `user` in a private message (an ephemeral reply or a DM); returns
    /// the message that replaced the original.
    pub async fn click(&self, user: &str, action_id: &str, value: &str) -> Value {
        let payload = click_payload(user, action_id, value, &self.slack.response_url(), None);
        self.post_click(action_id, &payload).await;
        let call = self.slack.expect("response_url").await;
        call.args
    }

    /// Clicks a button as `user` in a message posted to `channel` for everyone, such as the
    /// daily report; `message` holds the `chat.postMessage` arguments it was posted with.
    /// The answers are left for the test to read (`chat.postEphemeral`, `response_url`).
    pub async fn click_in_channel(
        &self,
        user: &str,
        action_id: &str,
        value: &str,
        channel: &str,
        message: &Value,
    ) {
        let url = self.slack.response_url();
        let payload = click_payload(user, action_id, value, &url, Some((channel, message)));
        self.post_click(action_id, &payload).await;
    }

    /// Clicks a button twice in a hurry (the same message, a moment apart), as a double click
    /// sends it; returns the answer to the first. The test then checks that nothing else came.
    pub async fn double_click(&self, user: &str, action_id: &str, value: &str) -> Value {
        let ts = "1700000099.000001";
        for _ in 0..2 {
            let payload =
                click_on_message(user, action_id, value, &self.slack.response_url(), None, ts);
            self.post_click(action_id, &payload).await;
        }
        self.slack.expect("response_url").await.args
    }

    async fn post_click(&self, action_id: &str, payload: &Value) {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        let (status, text) = self
            .post_signed(
                "/slack/interactions",
                "application/x-www-form-urlencoded",
                &body,
            )
            .await;
        assert_eq!(status, 200, "click {action_id}: {text}");
    }
}

/// A `block_actions` payload as Slack sends it (HTTP form field or Socket Mode envelope). With
/// `in_channel`, the click comes from `message` (the `chat.postMessage` arguments it was posted
/// with) in that channel; without, from an ephemeral reply, which Slack does not echo.
pub fn click_payload(
    user: &str,
    action_id: &str,
    value: &str,
    response_url: &str,
    in_channel: Option<(&str, &Value)>,
) -> Value {
    // Every click is on a message of its own, unless a test means a double click.
    static NEXT_TS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let ts = format!(
        "1700000000.{:06}",
        NEXT_TS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    click_on_message(user, action_id, value, response_url, in_channel, &ts)
}

/// [`click_payload`] on the message `ts`: the same `ts` twice is a double click.
pub fn click_on_message(
    user: &str,
    action_id: &str,
    value: &str,
    response_url: &str,
    in_channel: Option<(&str, &Value)>,
    ts: &str,
) -> Value {
    let mut payload = serde_json::json!({
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM},
        "team": {"id": TEAM, "domain": "maison"},
        "api_app_id": "A0MAISON",
        "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": ts, "is_ephemeral": true},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value, "action_ts": "1"}],
    });
    if let Some((channel, message)) = in_channel {
        payload["container"] = serde_json::json!({
            "type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false,
        });
        payload["channel"] = serde_json::json!({"id": channel, "name": "fleet"});
        payload["message"] = serde_json::json!({
            "type": "message", "ts": ts, "user": "U0MAISONBOT",
            "text": message["text"], "blocks": message["blocks"],
        });
    }
    payload
}

impl Drop for BotTester {
    fn drop(&mut self) {
        self.stop_outbox.cancel();
        self.stop_matcher.cancel();
        if std::thread::panicking() {
            return;
        }
        assert!(
            self.finished,
            "a BotTester was dropped without `finish().await`: unread messages went unchecked"
        );
    }
}

/// All human-readable text of a reply or message: the fallback and every block's text.
pub fn reply_text(reply: &Value) -> String {
    let mut out = vec![reply["text"].as_str().unwrap_or_default().to_owned()];
    for block in reply["blocks"].as_array().into_iter().flatten() {
        if let Some(text) = block["text"]["text"].as_str() {
            out.push(text.to_owned());
        }
        for element in block["elements"].as_array().into_iter().flatten() {
            if let Some(text) = element["text"]
                .as_str()
                .or(element["text"]["text"].as_str())
            {
                out.push(text.to_owned());
            }
        }
    }
    out.join("\n")
}

/// Button `(action_id, value)` pairs of a reply, in order.
pub fn buttons(reply: &Value) -> Vec<(String, String)> {
    reply["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["action_id"].as_str().unwrap_or_default().to_owned(),
                e["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The `maison-agent` binary built beside the running test (`scripts/test.sh` builds it), for
/// the end-to-end scenarios that start agents as real processes.
pub fn agent_binary() -> std::path::PathBuf {
    // Integration tests run from target/<profile>/deps, where the workspace's binaries sit one
    // up; benchmarks run from target/<profile> itself, beside them.
    let exe = std::env::current_exe().unwrap();
    let here = exe.parent().unwrap();
    let beside = here.join("maison-agent");
    let bin = if beside.exists() {
        beside
    } else {
        here.parent().unwrap().join("maison-agent")
    };
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p maison-agent` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// The `maison-bot` binary built beside the running test (`scripts/test.sh` builds it), for
/// the scenarios that run replicas of `maison-bot serve` as real processes.
pub fn bot_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(std::path::Path::parent).unwrap();
    let bin = dir.join("maison-bot");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p maison-bot --bin maison-bot` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// Runs the docker CLI against this machine's engine.
pub fn docker(args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

/// A TCP port free on loopback a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Declares one async test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($(#[$attr:meta])* async fn $name:ident($backend:ident: $backend_type:ty) $body:block)*) => {
        $(
            $(#[$attr])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                pub(super) async fn scenario($backend: $backend_type) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    scenario($crate::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    scenario($crate::Backend::Postgres).await
                }
            }
        )*
    };
}

/// What `maison-bot try` runs on: the real app on a fresh SQLite database with the test config's
/// hosts, answering through a [`maison_bot::terminal::TerminalSlack`] (UTC).
pub struct TerminalApp {
    pub db: TestDb,
    pub app: Arc<App>,
    pub slack: Arc<maison_bot::terminal::TerminalSlack>,
}

impl TerminalApp {
    pub async fn start() -> TerminalApp {
        let db = TestDb::new(Backend::Sqlite).await;
        let config = test_config();
        db.db
            .sync_config(&config, Utc::now().timestamp())
            .await
            .unwrap();
        let slack = Arc::new(maison_bot::terminal::TerminalSlack::new("UTC"));
        let app = Arc::new(App::new(
            config,
            db.db.clone(),
            slack.clone(),
            Arc::new(maison_bot::core::clock::SystemClock),
        ));
        TerminalApp { db, app, slack }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_swapped_in_urls() {
        assert_eq!(
            replace_database("postgres://u:p@h:5432/postgres", "t1"),
            "postgres://u:p@h:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u@h/postgres?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://u@h:1", "t1"),
            "postgres://u@h:1/t1"
        );
    }
}
