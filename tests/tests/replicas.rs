//! Replicas on one database, and what real fleets do to them.
//!
//! * Leases: the term grows when a lease is taken, not when it is renewed, and a write fenced
//!   with a stale term is refused; a sender that lost its lease posts nothing and stands down.
//! * Kills at each step of a delivery (in process: the sender's round is aborted mid-way and
//!   its lease is not given back, as SIGKILL would leave it): after a restart each message is
//!   in Slack exactly once, counted at the fake Slack by the outbox id in its metadata.
//! * Three real `maison-bot serve` processes on one PostgreSQL and one fake Slack: the leader
//!   is SIGKILLed while about 50 messages are being sent; another replica takes over within
//!   twice the lease time-out, nothing is lost or sent twice, and bookings through the
//!   surviving replicas keep working meanwhile.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use chrono::Duration;
use maison_bot::core::clock::{Clock, ManualClock, SystemClock};
use maison_bot::core::message::{Attachment, OutgoingMessage, Recipient};
use maison_bot::core::render::{RenderedMessage, Reply};
use maison_bot::outbox::Outbox;
use maison_bot::ports::{FileUpload, SlackApi, SlackApiError, SlackProfile};
use maison_bot::slack::api::SlackWebApi;
use maison_bot::slack::signature;
use maison_bot::store::Db;
use maison_bot::store::leases::{Fence, LeaderWrite};
use maison_tests::fake_slack::Failure;
use maison_tests::{
    Backend, FakeSlack, SIGNING_SECRET, TEAM, TestDb, bot_binary, free_port, on_both_databases,
    test_start,
};
use sea_orm::ConnectionTrait;

const SENDER_LEASE: &str = "outbox_sender";

async fn enqueue(db: &Db, to: Recipient, text: &str, now: i64) -> i64 {
    enqueue_with(db, to, text, now, None).await
}

async fn enqueue_with(
    db: &Db,
    to: Recipient,
    text: &str,
    now: i64,
    attachment: Option<Attachment>,
) -> i64 {
    let message = OutgoingMessage {
        to,
        reply: Reply::ephemeral(text),
        attachment,
    };
    assert!(db.enqueue(&message, now, None).await.unwrap());
    db.outbox_entries().await.unwrap().last().unwrap().id
}

/// Files Slack shared (`files.completeUploadExternal` carried out).
fn files_shared(slack: &FakeSlack) -> usize {
    slack
        .all_calls()
        .iter()
        .filter(|c| c.method == "files.completeUploadExternal")
        .count()
}

fn channel(id: &str) -> Recipient {
    Recipient::Channel(id.to_owned())
}

fn web_api(slack: &FakeSlack) -> Arc<dyn SlackApi> {
    Arc::new(SlackWebApi::new(&slack.api_url(), "xoxb-test-token").expect("Slack client"))
}

/// `chat.postMessage` calls with this text that Slack carried out (answered or not).
fn posts_of(slack: &FakeSlack, text: &str) -> usize {
    slack
        .all_calls()
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .filter(|c| matches!(c.failure, None | Some(Failure::AnswerLost)))
        .filter(|c| c.args["text"] == text)
        .count()
}

on_both_databases! {
    async fn the_term_grows_on_take_over_not_on_renewal(backend: Backend) {
        let test_db = TestDb::new(backend).await;
        let db = &test_db.db;
        let t = 1_000_000;
        assert_eq!(db.take_lease("poller", "a", t + 10, t).await.unwrap(), Some(1));
        // Renewed in time by its holder: the same term.
        assert_eq!(db.take_lease("poller", "a", t + 15, t + 5).await.unwrap(), Some(1));
        assert_eq!(db.take_lease("poller", "a", t + 20, t + 15).await.unwrap(), Some(1));
        // Held: nobody else gets it, and the term does not move.
        assert_eq!(db.take_lease("poller", "b", t + 25, t + 19).await.unwrap(), None);
        assert_eq!(db.lease("poller").await.unwrap().unwrap().term, 1);
        // Expired: taken over, with a new term.
        assert_eq!(db.take_lease("poller", "b", t + 31, t + 21).await.unwrap(), Some(2));
        assert_eq!(db.take_lease("poller", "a", t + 32, t + 22).await.unwrap(), None);
        // Given back: taken at once, and the term still only grows.
        db.release_lease("poller", "b").await.unwrap();
        assert_eq!(db.take_lease("poller", "a", t + 33, t + 23).await.unwrap(), Some(3));
        // The same holder after its lease lapsed gets a new term too.
        assert_eq!(db.take_lease("poller", "a", t + 50, t + 40).await.unwrap(), Some(4));
        // Leases are independent.
        assert_eq!(db.take_lease("outbox_sender", "a", t + 50, t + 40).await.unwrap(), Some(1));
    }

    async fn a_write_with_a_stale_term_is_refused(backend: Backend) {
        let test_db = TestDb::new(backend).await;
        let db = &test_db.db;
        let t = test_start().timestamp();
        let id = enqueue(db, channel("C0ONE"), "hello", t).await;
        let term = db.take_lease(SENDER_LEASE, "old", t + 10, t).await.unwrap().unwrap();
        let old = Fence { lease: SENDER_LEASE.into(), holder: "old".into(), term };
        assert_eq!(db.mark_outbox_sending(&old, id, t).await.unwrap(), LeaderWrite::Written);
        // The old holder stalls; its lease runs out and another replica takes it.
        let term = db.take_lease(SENDER_LEASE, "new", t + 30, t + 11).await.unwrap().unwrap();
        let new = Fence { lease: SENDER_LEASE.into(), holder: "new".into(), term };
        assert_eq!(new.term, old.term + 1);
        // Every record the old holder tries now is refused, whatever its clock says.
        for now in [t + 5, t + 12] {
            let sent = db.mark_outbox_sent(&old, id, "C0ONE", "1.0", now).await.unwrap();
            assert_eq!(sent, LeaderWrite::FencedOff);
            let retry = db.retry_outbox_later(&old, id, 1, now + 1, "x", true, now).await.unwrap();
            assert_eq!(retry, LeaderWrite::FencedOff);
            let parked = db.park_outbox_message(&old, id, 1, now, "x").await.unwrap();
            assert_eq!(parked, LeaderWrite::FencedOff);
            assert_eq!(db.mark_attachment_sent(&old, id, now).await.unwrap(), LeaderWrite::FencedOff);
            let txn = db.begin_write().await.unwrap();
            assert_eq!(old.check_on(&txn, now).await.unwrap(), LeaderWrite::FencedOff);
            txn.rollback().await.unwrap();
        }
        let entry = &db.outbox_entries().await.unwrap()[0];
        assert!(entry.sent_at.is_none() && entry.parked_at.is_none(), "{entry:?}");
        assert_eq!(entry.attempts, 0);
        // The new holder's records go through; once its own lease has expired, they do not.
        let sent = db.mark_outbox_sent(&new, id, "C0ONE", "1.0", t + 12).await.unwrap();
        assert_eq!(sent, LeaderWrite::Written);
        assert!(db.outbox_entries().await.unwrap()[0].sent_at.is_some());
        assert_eq!(
            db.mark_attachment_sent(&new, id, t + 31).await.unwrap(),
            LeaderWrite::FencedOff
        );
    }

    async fn a_sender_that_lost_its_lease_posts_nothing_and_stands_down(backend: Backend) {
        maison_bot::install_crypto_provider();
        let test_db = TestDb::new(backend).await;
        let db = &test_db.db;
        let slack = FakeSlack::start().await;
        // Two replicas whose clocks disagree: the old leader is paused (its clock is behind),
        // the new one has seen its lease expire.
        let old_clock = Arc::new(ManualClock::new(test_start()));
        let new_clock = Arc::new(ManualClock::new(test_start() + Duration::seconds(61)));
        let old = Outbox::new(db.clone(), web_api(&slack), old_clock.clone());
        let new = Outbox::new(db.clone(), web_api(&slack), new_clock.clone());
        enqueue(db, channel("C0ONE"), "first", old_clock.now().timestamp()).await;
        let report = old.deliver_due(old_clock.now()).await;
        assert!(report.leader && report.sent.len() == 1, "{report:?}");

        let taken = new.deliver_due(new_clock.now()).await;
        assert!(taken.leader, "{taken:?}");
        enqueue(db, channel("C0ONE"), "second", old_clock.now().timestamp()).await;
        // The old leader wakes up believing its lease still runs for 59 s.
        old_clock.advance(Duration::seconds(1));
        let report = old.deliver_due(old_clock.now()).await;
        assert!(report.fenced_off && !report.leader, "{report:?}");
        assert!(report.sent.is_empty());
        assert_eq!(posts_of(&slack, "second"), 0);
        // It has stood down: it tries for the lease again, and does not get it.
        old_clock.advance(Duration::seconds(1));
        assert!(!old.deliver_due(old_clock.now()).await.leader);

        new_clock.advance(Duration::seconds(1));
        let report = new.deliver_due(new_clock.now()).await;
        assert_eq!(report.sent.len(), 1, "{report:?}");
        assert_eq!(posts_of(&slack, "first"), 1);
        assert_eq!(posts_of(&slack, "second"), 1);
    }
}

// ------------------------------------------------------------------ kills at each step

/// Where a sender dies in the middle of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DieAt {
    /// After recording "sending", before the post leaves.
    BeforePost,
    /// After Slack took the post, before it is recorded as sent.
    AfterPost,
    /// After the message's attachment was shared, before that is recorded.
    AfterFileShared,
}

/// The fake Slack, through the real client, except that the post of an outbox message never
/// returns: the process "dies" there (the test aborts the round).
struct DyingSlack {
    inner: SlackWebApi,
    die_at: DieAt,
}

#[async_trait]
impl SlackApi for DyingSlack {
    async fn user_profile(&self, user_id: &str) -> Result<SlackProfile, SlackApiError> {
        self.inner.user_profile(user_id).await
    }
    async fn post_message(&self, channel: &str, reply: &Reply) -> Result<String, SlackApiError> {
        self.inner.post_message(channel, reply).await
    }
    async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError> {
        self.inner.update_message(channel, ts, reply).await
    }
    async fn respond(
        &self,
        response_url: &str,
        reply: &Reply,
        replace_original: bool,
    ) -> Result<(), SlackApiError> {
        self.inner
            .respond(response_url, reply, replace_original)
            .await
    }
    async fn post_ephemeral(
        &self,
        channel: &str,
        user_id: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError> {
        self.inner.post_ephemeral(channel, user_id, reply).await
    }
    async fn replace_original(
        &self,
        response_url: &str,
        message: &RenderedMessage,
    ) -> Result<(), SlackApiError> {
        self.inner.replace_original(response_url, message).await
    }
    async fn open_dm(&self, user_id: &str) -> Result<String, SlackApiError> {
        self.inner.open_dm(user_id).await
    }
    async fn post_rendered(
        &self,
        channel: &str,
        message: &RenderedMessage,
    ) -> Result<String, SlackApiError> {
        self.inner.post_rendered(channel, message).await
    }
    async fn post_outbox(
        &self,
        channel: &str,
        message: &RenderedMessage,
        outbox_id: i64,
    ) -> Result<String, SlackApiError> {
        if self.die_at == DieAt::AfterPost {
            self.inner.post_outbox(channel, message, outbox_id).await?;
        }
        std::future::pending().await
    }
    async fn find_outbox_post(
        &self,
        channel: &str,
        outbox_id: i64,
        since: i64,
    ) -> Result<Option<String>, SlackApiError> {
        self.inner.find_outbox_post(channel, outbox_id, since).await
    }
    async fn find_shared_file(
        &self,
        channel: &str,
        filename: &str,
        since: i64,
    ) -> Result<bool, SlackApiError> {
        self.inner.find_shared_file(channel, filename, since).await
    }
    async fn upload_file(&self, channel: &str, file: &FileUpload<'_>) -> Result<(), SlackApiError> {
        self.inner.upload_file(channel, file).await?;
        if self.die_at == DieAt::AfterFileShared {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
    async fn publish_home(
        &self,
        user_id: &str,
        view: &serde_json::Value,
    ) -> Result<(), SlackApiError> {
        self.inner.publish_home(user_id, view).await
    }
    async fn open_modal(
        &self,
        trigger_id: &str,
        view: &serde_json::Value,
    ) -> Result<(), SlackApiError> {
        self.inner.open_modal(trigger_id, view).await
    }
}

/// `outbox.sending_since` of a row, read directly.
async fn sending_since(db: &Db, id: i64) -> Option<i64> {
    let row = db
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            db.backend(),
            format!("SELECT sending_since FROM outbox WHERE id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// A sender dies at `die_at` while delivering one message; a second sender (the restarted
/// process, or another replica) takes over once the lease has run out. Returns the fake Slack
/// and the message's outbox id.
async fn kill_and_restart(backend: Backend, die_at: Option<DieAt>) -> (FakeSlack, TestDb, i64) {
    maison_bot::install_crypto_provider();
    let test_db = TestDb::new(backend).await;
    let db = test_db.db.clone();
    let slack = FakeSlack::start().await;
    let clock = Arc::new(ManualClock::new(test_start()));
    slack.set_clock(clock.clone());
    let lease = StdDuration::from_secs(3);
    let first = match die_at {
        Some(die_at) => {
            let dying = DyingSlack {
                inner: SlackWebApi::new(&slack.api_url(), "xoxb-test-token").unwrap(),
                die_at,
            };
            Outbox::new(db.clone(), Arc::new(dying), clock.clone())
        }
        None => Outbox::new(db.clone(), web_api(&slack), clock.clone()),
    }
    .with_lease_timeout(lease);
    let id = match die_at {
        Some(die_at) => {
            let id = enqueue_with(
                &db,
                channel("C0REPORTS"),
                "daily report",
                clock.now().timestamp(),
                (die_at == DieAt::AfterFileShared).then(|| Attachment {
                    filename: "report.png".into(),
                    title: "Daily report".into(),
                    bytes: b"not really a PNG".to_vec(),
                }),
            )
            .await;
            let now = clock.now();
            let round = tokio::spawn(async move { first.deliver_due(now).await });
            // Wait until the sender is where it dies, then kill it there.
            let deadline = Instant::now() + StdDuration::from_secs(10);
            loop {
                let there = match die_at {
                    DieAt::BeforePost => sending_since(&db, id).await.is_some(),
                    DieAt::AfterPost => posts_of(&slack, "daily report") == 1,
                    DieAt::AfterFileShared => files_shared(&slack) == 1,
                };
                if there {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the sender never reached {die_at:?}"
                );
                tokio::time::sleep(StdDuration::from_millis(10)).await;
            }
            round.abort();
            assert!(round.await.unwrap_err().is_cancelled());
            id
        }
        None => {
            // The leader takes the lease and dies right after the row is written.
            assert!(first.deliver_due(clock.now()).await.leader);
            let id = enqueue(
                &db,
                channel("C0REPORTS"),
                "daily report",
                clock.now().timestamp(),
            )
            .await;
            drop(first);
            id
        }
    };
    let entry = &db.outbox_entries().await.unwrap()[0];
    assert!(entry.sent_at.is_none(), "{entry:?}");

    // The restarted sender cannot take the lease until it has run out.
    let second = Outbox::new(db.clone(), web_api(&slack), clock.clone()).with_lease_timeout(lease);
    assert!(!second.deliver_due(clock.now()).await.leader);
    clock.advance(Duration::seconds(4));
    for _ in 0..5 {
        let report = second.deliver_due(clock.now()).await;
        assert!(report.leader, "{report:?}");
        clock.advance(Duration::seconds(1));
    }
    (slack, test_db, id)
}

/// The message is in Slack once, tagged with its outbox id, and recorded as sent.
async fn assert_delivered_once(slack: &FakeSlack, db: &Db, id: i64) {
    assert_eq!(
        posts_of(slack, "daily report"),
        1,
        "{:#?}",
        slack.all_calls()
    );
    assert_eq!(slack.outbox_ids_in("C0REPORTS"), [id.to_string()]);
    let entry = &db.outbox_entries().await.unwrap()[0];
    assert!(entry.sent_at.is_some(), "{entry:?}");
    assert_eq!(sending_since(db, id).await, None);
}

on_both_databases! {
    async fn killed_between_writing_and_sending_it_is_sent_once(backend: Backend) {
        let (slack, db, id) = kill_and_restart(backend, None).await;
        assert_delivered_once(&slack, &db.db, id).await;
    }

    async fn killed_after_marking_sending_before_the_post_it_is_sent_once(backend: Backend) {
        let (slack, db, id) = kill_and_restart(backend, Some(DieAt::BeforePost)).await;
        assert_delivered_once(&slack, &db.db, id).await;
        // The restarted sender looked first, found nothing, then posted.
        let methods: Vec<String> = slack.all_calls().into_iter().map(|c| c.method).collect();
        assert_eq!(methods, ["conversations.history", "chat.postMessage"]);
    }

    async fn killed_between_sending_and_marking_it_is_not_sent_again(backend: Backend) {
        let (slack, db, id) = kill_and_restart(backend, Some(DieAt::AfterPost)).await;
        assert_delivered_once(&slack, &db.db, id).await;
        let methods: Vec<String> = slack.all_calls().into_iter().map(|c| c.method).collect();
        assert_eq!(methods, ["chat.postMessage", "conversations.history"]);
    }

    async fn killed_after_sharing_the_attachment_it_is_shared_once(backend: Backend) {
        let (slack, db, id) = kill_and_restart(backend, Some(DieAt::AfterFileShared)).await;
        assert_delivered_once(&slack, &db.db, id).await;
        assert_eq!(files_shared(&slack), 1, "{:#?}", slack.all_calls());
        // The restarted sender looked for the file first and found it.
        let methods: Vec<String> = slack
            .all_calls()
            .into_iter()
            .map(|c| c.method)
            .filter(|m| m != "files.getUploadURLExternal" && m != "upload")
            .collect();
        assert_eq!(
            methods,
            ["files.completeUploadExternal", "files.list", "chat.postMessage"]
        );
    }

    async fn an_answer_lost_after_slack_took_the_post_is_not_sent_again(backend: Backend) {
        maison_bot::install_crypto_provider();
        let test_db = TestDb::new(backend).await;
        let db = &test_db.db;
        let slack = FakeSlack::start().await;
        let clock = Arc::new(ManualClock::new(test_start()));
        slack.set_clock(clock.clone());
        let sender = Outbox::new(db.clone(), web_api(&slack), clock.clone());
        let id = enqueue(db, channel("C0REPORTS"), "daily report", clock.now().timestamp()).await;
        slack.fail_next(Failure::AnswerLost);
        let report = sender.deliver_due(clock.now()).await;
        assert_eq!(report.retrying, 1, "{report:?}");
        clock.advance(Duration::seconds(2));
        let report = sender.deliver_due(clock.now()).await;
        assert_eq!(report.found_posted, [id], "{report:?}");
        assert_delivered_once(&slack, db, id).await;
    }
}

// ------------------------------------------------------------------ three real replicas

/// The lease time-out the replicas run with: short, so the test is quick.
const LEASE_TIMEOUT_SECS: u64 = 3;

/// One `maison-bot serve` process.
struct Replica {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replica(dir: &std::path::Path, n: usize, db_url: &str, slack: &FakeSlack) -> Replica {
    let port = free_port();
    let config = dir.join(format!("replica{n}.toml"));
    std::fs::write(
        &config,
        format!(
            r##"
            [server]
            listen = "127.0.0.1:{port}"
            lease_timeout = "{LEASE_TIMEOUT_SECS}s"

            [database]
            pool_size = 4

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
            name = "gpu03"
            gpus = 8
            "##
        ),
    )
    .unwrap();
    let log = dir.join(format!("replica{n}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(bot_binary())
        .args(["serve", "-c"])
        .arg(&config)
        .env("DATABASE_URL", db_url)
        .env("SLACK_API_URL", slack.api_url())
        .env("SLACK_BOT_TOKEN", "xoxb-test-token")
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("MAISON_CONFIG")
        .env("RUST_LOG", "info,maison_bot::outbox=debug")
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .expect("maison-bot starts");
    Replica { child, port, log }
}

/// The last lines of every replica's log, for failure messages.
fn logs(replicas: &[Replica]) -> String {
    replicas
        .iter()
        .map(|r| {
            let text = std::fs::read_to_string(&r.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(25)..].join("\n");
            format!(
                "--- replica on port {} (pid {}):\n{tail}",
                r.port,
                r.child.id()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `/maison <text>` as `user` through one replica, signed as Slack signs it; the reply text.
async fn command(
    http: &reqwest::Client,
    replica: &Replica,
    slack: &FakeSlack,
    user: &str,
    text: &str,
) -> String {
    let body = serde_urlencoded::to_string([
        ("team_id", TEAM),
        ("team_domain", "maison"),
        ("channel_id", "C0GENERAL"),
        ("channel_name", "general"),
        ("user_id", user),
        ("command", "/maison"),
        ("text", text),
        ("response_url", &slack.response_url()),
        ("trigger_id", "1.2.3"),
    ])
    .unwrap();
    let ts = chrono::Utc::now().timestamp();
    let sig = signature::sign(SIGNING_SECRET, ts, body.as_bytes());
    let response = http
        .post(format!("http://127.0.0.1:{}/slack/commands", replica.port))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(signature::TIMESTAMP_HEADER, ts.to_string())
        .header(signature::SIGNATURE_HEADER, sig)
        .body(body)
        .send()
        .await
        .expect("replica reachable");
    assert_eq!(response.status().as_u16(), 200);
    let reply: serde_json::Value = response.json().await.unwrap();
    maison_tests::reply_text(&reply)
}

/// The process id in a lease holder id (`<pid>:<random>`).
fn holder_pid(holder: &str) -> u32 {
    holder.split(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_survive_a_sigkill_of_the_sender() {
    maison_bot::install_crypto_provider();
    let test_db = TestDb::new(Backend::Postgres).await;
    let db = test_db.db.clone();
    let slack = FakeSlack::start().await;
    slack.set_clock(Arc::new(SystemClock));
    for (id, name) in [
        ("U0ALICE", "Alice"),
        ("U0BOB", "Bob"),
        ("U0CAROL", "Carol"),
        ("U0ADMIN", "Admin"),
    ] {
        slack.add_user(id, name, "UTC");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut replicas: Vec<Replica> = (0..3)
        .map(|n| start_replica(dir.path(), n, &test_db.url, &slack))
        .collect();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + StdDuration::from_secs(60);
    for replica in &replicas {
        loop {
            let url = format!("http://127.0.0.1:{}/healthz", replica.port);
            if http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "replicas did not start:\n{}",
                logs(&replicas)
            );
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }

    // About 50 messages: reports to five channels, DMs to four people.
    let now = chrono::Utc::now().timestamp();
    let mut texts = Vec::new();
    for n in 0..6 {
        for c in 1..=5 {
            let text = format!("report {n} to C0REPORT{c}");
            enqueue(&db, channel(&format!("C0REPORT{c}")), &text, now).await;
            texts.push(text);
        }
    }
    for n in 0..5 {
        for user in ["U0ALICE", "U0BOB", "U0CAROL", "U0ADMIN"] {
            let text = format!("DM {n} to {user}");
            enqueue(&db, Recipient::User(user.into()), &text, now).await;
            texts.push(text);
        }
    }
    assert_eq!(texts.len(), 50);

    // Kill the sender once it is well under way.
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while slack
        .all_calls()
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .count()
        < 10
    {
        assert!(
            Instant::now() < deadline,
            "nothing was sent:\n{}",
            logs(&replicas)
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let before = db
        .lease(SENDER_LEASE)
        .await
        .unwrap()
        .expect("a sender holds the lease");
    let leader = replicas
        .iter()
        .position(|r| r.child.id() == holder_pid(&before.holder))
        .expect("the lease holder is one of the replicas");
    let mut killed = replicas.remove(leader);
    let killed_at = Instant::now();
    killed.child.kill().unwrap(); // SIGKILL: the lease is not given back
    killed.child.wait().unwrap();
    let posted_before_kill = slack
        .all_calls()
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .count();

    // Bookings through the surviving replicas during the switch.
    let bookings = async {
        let mut answers = Vec::new();
        for (n, user) in ["U0ALICE", "U0BOB", "U0CAROL", "U0ADMIN"]
            .iter()
            .cycle()
            .take(8)
            .enumerate()
        {
            let replica = &replicas[n % replicas.len()];
            answers.push(command(&http, replica, &slack, user, "book gpu03 1h").await);
        }
        answers
    };
    let take_over = async {
        loop {
            let lease = db.lease(SENDER_LEASE).await.unwrap().unwrap();
            if lease.holder != before.holder {
                return (killed_at.elapsed(), lease);
            }
            assert!(
                killed_at.elapsed() < StdDuration::from_secs(30),
                "nobody took over"
            );
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    };
    let (answers, (took, after)) = tokio::join!(bookings, take_over);
    for answer in &answers {
        assert!(
            answer.contains("Booked `gpu03`"),
            "{answer}\n{}",
            logs(&replicas)
        );
    }
    eprintln!(
        "sender killed after {posted_before_kill} posts; taken over in {} ms (lease time-out {LEASE_TIMEOUT_SECS} s), term {} -> {}",
        took.as_millis(),
        before.term,
        after.term
    );
    assert!(
        took <= StdDuration::from_secs(2 * LEASE_TIMEOUT_SECS),
        "taken over after {took:?}\n{}",
        logs(&replicas)
    );
    assert!(after.term > before.term);
    assert!(
        replicas
            .iter()
            .any(|r| r.child.id() == holder_pid(&after.holder))
    );

    // Everything queued (the 50, and the bookings' announcements) arrives, each exactly once.
    let deadline = Instant::now() + StdDuration::from_secs(60);
    loop {
        let entries = db.outbox_entries().await.unwrap();
        if entries.iter().all(|e| e.sent_at.is_some()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still queued: {:?}\n{}",
            entries
                .iter()
                .filter(|e| e.sent_at.is_none())
                .collect::<Vec<_>>(),
            logs(&replicas)
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let entries = db.outbox_entries().await.unwrap();
    assert!(entries.len() >= 58, "{} messages", entries.len());
    for entry in &entries {
        assert!(entry.parked_at.is_none(), "{entry:?}");
        let channel = entry
            .channel_id
            .as_deref()
            .expect("sent messages know their channel");
        let copies = slack
            .outbox_ids_in(channel)
            .into_iter()
            .filter(|id| *id == entry.id.to_string())
            .count();
        assert_eq!(
            copies,
            1,
            "message #{} ({}) arrived {copies} times\n{}",
            entry.id,
            entry.text,
            logs(&replicas)
        );
    }
    for text in &texts {
        assert_eq!(posts_of(&slack, text), 1, "{text}");
    }
    let posts = slack
        .all_calls()
        .iter()
        .filter(|c| c.method == "chat.postMessage" && c.failure.is_none())
        .count();
    assert_eq!(
        posts,
        entries.len(),
        "posts at the fake Slack vs messages queued"
    );
}

on_both_databases! {
    /// A matcher that lost its lease (paused past it while another replica took over) makes no
    /// offer, lapses nothing and expires nothing: each of its writes checks the term in its own
    /// transaction. The new holder's pass makes the offer.
    async fn a_matcher_with_a_stale_term_writes_nothing(backend: Backend) {
        use maison_bot::app::{App, Invocation};
        use maison_bot::jobs::matcher::LEASE_NAME;
        use maison_bot::terminal::TerminalSlack;

        let test_db = TestDb::new(backend).await;
        let config = maison_tests::test_config();
        let now = test_start().timestamp();
        test_db.db.sync_hosts(&config.hosts, now).await.unwrap();
        let app = Arc::new(App::new(
            config,
            test_db.db.clone(),
            Arc::new(TerminalSlack::new("UTC")),
            Arc::new(ManualClock::new(test_start())),
        ));
        let say = |user: &str, text: &str| Invocation {
            team_id: TEAM.into(),
            user_id: user.into(),
            channel_id: "C0GENERAL".into(),
            text: text.into(),
            response_url: None,
            trigger_id: None,
        };
        let held = app.handle_command(&say("U0ALICE", "book gpu01:all 2h")).await;
        assert!(held.text.contains("Booked `gpu01`"), "{}", held.text);
        let waits = app.handle_command(&say("U0BOB", "book gpu01 1h --wait")).await;
        assert!(waits.text.contains("in line"), "{}", waits.text);
        let freed = app.handle_command(&say("U0ALICE", "release gpu01")).await;
        assert!(freed.text.contains("Cancelled booking #1"), "{}", freed.text);

        // Replica A held the lease; it ran out and B took it, with a new term.
        let db = &test_db.db;
        let term_a = db.take_lease(LEASE_NAME, "A", now + 30, now).await.unwrap().unwrap();
        let term_b = db.take_lease(LEASE_NAME, "B", now + 600, now + 31).await.unwrap().unwrap();
        assert!(term_b > term_a);
        let stale = Fence { lease: LEASE_NAME.into(), holder: "A".into(), term: term_a };
        let pass = app.match_waitlist(Some(&stale)).await.unwrap();
        assert!(pass.offered.is_empty(), "a stale matcher offered {:?}", pass.offered);
        let open = db.open_wait_requests().await.unwrap();
        assert_eq!(open.len(), 1);
        assert!(open[0].booking_id.is_none(), "nothing was booked for the request");

        let current = Fence { lease: LEASE_NAME.into(), holder: "B".into(), term: term_b };
        let pass = app.match_waitlist(Some(&current)).await.unwrap();
        assert_eq!(pass.offered, vec![open[0].id]);
    }
}
