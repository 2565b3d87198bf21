//! The durable outbox against the fake Slack, on SQLite and PostgreSQL, with a manual clock and
//! no sleeps: a long outage loses nothing and keeps the order, `Retry-After` is honoured, a
//! channel never gets more than one message a second, DMs open a conversation first, a PNG
//! goes through the three upload calls intact, refusals are parked (not dropped), a dedupe key
//! makes a second enqueue a no-op, and only one of two senders sends.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use maison_bot::core::clock::{Clock, ManualClock};
use maison_bot::core::message::{Attachment, OutgoingMessage, Recipient};
use maison_bot::core::render::Reply;
use maison_bot::outbox::{DeliveryReport, Outbox};
use maison_bot::slack::api::SlackWebApi;
use maison_tests::fake_slack::{Call, Failure};
use maison_tests::{Backend, FakeSlack, TestDb, on_both_databases, test_start};

struct Rig {
    db: TestDb,
    slack: FakeSlack,
    clock: Arc<ManualClock>,
    outbox: Outbox,
}

impl Rig {
    async fn new(backend: Backend) -> Self {
        maison_bot::install_crypto_provider();
        let db = TestDb::new(backend).await;
        let slack = FakeSlack::start().await;
        let clock = Arc::new(ManualClock::new(test_start()));
        slack.set_clock(clock.clone());
        let outbox = Self::sender(&db, &slack, &clock);
        Self {
            db,
            slack,
            clock,
            outbox,
        }
    }

    fn sender(db: &TestDb, slack: &FakeSlack, clock: &Arc<ManualClock>) -> Outbox {
        let api = SlackWebApi::new(&slack.api_url(), "xoxb-test-token").expect("Slack client");
        Outbox::new(db.db.clone(), Arc::new(api), clock.clone())
    }

    async fn enqueue(&self, to: Recipient, text: &str) {
        let message = OutgoingMessage {
            to,
            reply: Reply::ephemeral(text),
            attachment: None,
        };
        let queued = self
            .db
            .db
            .enqueue(&message, self.now().timestamp(), None)
            .await
            .unwrap();
        assert!(queued);
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn deliver(&self) -> DeliveryReport {
        self.outbox.deliver_due(self.now()).await
    }

    /// Delivers, then moves the clock by `step`, until `until` (inclusive).
    async fn run_until(&self, until: DateTime<Utc>, step: Duration) {
        while self.now() <= until {
            self.deliver().await;
            self.clock.advance(step);
        }
    }

    /// Successful `chat.postMessage` calls: `(channel, text, at)`.
    fn posts(&self) -> Vec<(String, String, DateTime<Utc>)> {
        self.slack
            .all_calls()
            .into_iter()
            .filter(|c| c.method == "chat.postMessage" && c.failure.is_none())
            .map(|c| {
                (
                    c.args["channel"].as_str().unwrap_or_default().to_owned(),
                    c.args["text"].as_str().unwrap_or_default().to_owned(),
                    c.at.expect("stamped"),
                )
            })
            .collect()
    }

    fn calls_to(&self, method: &str) -> Vec<Call> {
        self.slack
            .all_calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }
}

fn channel(id: &str) -> Recipient {
    Recipient::Channel(id.to_owned())
}

fn texts_to(posts: &[(String, String, DateTime<Utc>)], channel: &str) -> Vec<String> {
    posts
        .iter()
        .filter(|(c, _, _)| c == channel)
        .map(|(_, t, _)| t.clone())
        .collect()
}

/// The gaps between consecutive posts to `channel`.
fn gaps(posts: &[(String, String, DateTime<Utc>)], channel: &str) -> Vec<Duration> {
    let times: Vec<DateTime<Utc>> = posts
        .iter()
        .filter(|(c, _, _)| c == channel)
        .map(|(_, _, at)| *at)
        .collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

on_both_databases! {
    async fn a_ten_minute_outage_loses_nothing_and_keeps_the_order(backend: Backend) {
        let rig = Rig::new(backend).await;
        for n in 1..=5 {
            rig.enqueue(channel("C0REPORTS"), &format!("report {n}")).await;
        }
        rig.enqueue(Recipient::User("U0ALICE".into()), "dm 1").await;
        rig.enqueue(Recipient::User("U0ALICE".into()), "dm 2").await;

        let start = rig.now();
        rig.slack.set_outage(Some(Failure::ServerError(503)));
        rig.run_until(start + Duration::minutes(10), Duration::seconds(1)).await;
        let during = rig.slack.all_calls();
        assert!(rig.posts().is_empty());
        // Backoff (1 s doubling to 60 s): two queues, about 15 tries each in ten minutes.
        assert!(
            (10..=40).contains(&during.len()),
            "{} calls during the outage",
            during.len()
        );
        let failed = during.iter().filter(|c| c.failure == Some(Failure::ServerError(503)));
        assert_eq!(failed.count(), during.len());
        let entries = rig.db.db.outbox_entries().await.unwrap();
        let waiting = entries.iter().filter(|e| e.sent_at.is_none() && e.parked_at.is_none());
        assert_eq!(waiting.count(), 7, "{entries:?}");
        assert!(entries[0].last_error.as_deref().unwrap().contains("503"), "{entries:?}");

        rig.slack.set_outage(None);
        let end = rig.now();
        rig.run_until(end + Duration::seconds(90), Duration::seconds(1)).await;
        let posts = rig.posts();
        assert_eq!(
            texts_to(&posts, "C0REPORTS"),
            ["report 1", "report 2", "report 3", "report 4", "report 5"]
        );
        assert_eq!(texts_to(&posts, "DU0ALICE"), ["dm 1", "dm 2"]);
        let entries = rig.db.db.outbox_entries().await.unwrap();
        assert_eq!(entries.iter().filter(|e| e.sent_at.is_some()).count(), 7, "{entries:?}");
        // Nothing was waiting more than a backoff step once Slack was back.
        let prompt = posts.iter().filter(|(_, _, at)| *at <= end + Duration::seconds(61 + 5));
        assert_eq!(prompt.count(), 7, "{posts:?}");
        assert_eq!(rig.db.db.outbox_stats().await.unwrap().pending, 0);
    }

    async fn a_429_holds_the_channel_for_retry_after(backend: Backend) {
        let rig = Rig::new(backend).await;
        for n in 1..=3 {
            rig.enqueue(channel("C0ONE"), &format!("message {n}")).await;
        }
        // Start half-way through a second, so a rounding error would show.
        rig.clock.advance(Duration::milliseconds(500));
        let limited_at = rig.now();
        rig.slack.fail_next(Failure::RateLimited { retry_after_secs: 2 });
        let report = rig.deliver().await;
        assert_eq!(report.retrying, 1);
        rig.run_until(limited_at + Duration::seconds(10), Duration::milliseconds(100)).await;

        let calls = rig.calls_to("chat.postMessage");
        assert_eq!(
            calls[0].failure,
            Some(Failure::RateLimited { retry_after_secs: 2 })
        );
        assert_eq!(calls[0].at, Some(limited_at));
        let next = calls[1].at.unwrap();
        assert!(
            next - limited_at >= Duration::seconds(2),
            "retried {} ms after the 429",
            (next - limited_at).num_milliseconds()
        );
        assert!(next - limited_at <= Duration::seconds(3), "waited too long");
        assert_eq!(
            texts_to(&rig.posts(), "C0ONE"),
            ["message 1", "message 2", "message 3"]
        );
        let first = &rig.db.db.outbox_entries().await.unwrap()[0];
        assert_eq!(first.attempts, 1);
        assert!(first.last_error.as_deref().unwrap().contains("rate limit"));
    }

    async fn never_more_than_one_message_a_second_per_channel(backend: Backend) {
        let rig = Rig::new(backend).await;
        for n in 1..=5 {
            rig.enqueue(channel("C0ONE"), &format!("one {n}")).await;
            rig.enqueue(channel("C0TWO"), &format!("two {n}")).await;
        }
        let start = rig.now();
        rig.run_until(start + Duration::seconds(10), Duration::milliseconds(100)).await;
        let posts = rig.posts();
        assert_eq!(posts.len(), 10);
        for name in ["C0ONE", "C0TWO"] {
            let gaps = gaps(&posts, name);
            assert_eq!(gaps.len(), 4);
            let paced = gaps.iter().filter(|g| **g >= Duration::seconds(1));
            assert_eq!(paced.count(), 4, "{name}: {gaps:?}");
            // Paced, not stalled: each next message goes within a tick of being allowed.
            let prompt = gaps.iter().filter(|g| **g <= Duration::milliseconds(1100));
            assert_eq!(prompt.count(), 4, "{name}: {gaps:?}");
        }
        assert_eq!(texts_to(&posts, "C0ONE"), ["one 1", "one 2", "one 3", "one 4", "one 5"]);
        // The two channels go side by side: both start at once.
        assert_eq!(posts[0].2, start);
        assert_eq!(posts[1].2, start);
    }

    async fn a_dm_opens_a_conversation_first(backend: Backend) {
        let rig = Rig::new(backend).await;
        rig.enqueue(Recipient::User("U0BOB".into()), "your booking ends in 15 minutes").await;
        let report = rig.deliver().await;
        assert_eq!(report.sent.len(), 1);
        let calls = rig.slack.all_calls();
        let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
        assert_eq!(methods, ["conversations.open", "chat.postMessage"]);
        assert_eq!(calls[0].args["users"], serde_json::json!(["U0BOB"]));
        assert_eq!(calls[1].args["channel"], "DU0BOB");
        let entry = &rig.db.db.outbox_entries().await.unwrap()[0];
        assert_eq!(entry.channel_id.as_deref(), Some("DU0BOB"));
        let read = rig.slack.take_unread();
        assert_eq!(read.len(), 1, "{read:?}");
    }

    async fn a_png_goes_through_the_three_upload_calls_intact(backend: Backend) {
        let rig = Rig::new(backend).await;
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend((0..4096u32).map(|i| (i * 7 % 256) as u8));
        let message = OutgoingMessage {
            to: channel("C0REPORTS"),
            reply: Reply::ephemeral("Daily report"),
            attachment: Some(Attachment {
                filename: "report.png".into(),
                title: "GPU use, hosts × hours".into(),
                bytes: png.clone(),
            }),
        };
        assert!(rig.db.db.enqueue(&message, rig.now().timestamp(), None).await.unwrap());
        let start = rig.now();
        let first = rig.deliver().await;
        assert_eq!(first.files, 1);
        assert!(first.sent.is_empty(), "the message waits for the next second");
        // The post after the upload fails once: the file must not be shared twice.
        rig.slack.fail_next(Failure::ServerError(502));
        rig.run_until(start + Duration::seconds(10), Duration::milliseconds(250)).await;

        let calls = rig.slack.all_calls();
        let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
        assert_eq!(
            methods,
            [
                "files.getUploadURLExternal",
                "upload",
                "files.completeUploadExternal",
                "chat.postMessage",
                // After a 5xx the post may have landed: the sender looks before posting again.
                "conversations.history",
                "chat.postMessage"
            ]
        );
        // Named after its outbox row, so a share that landed before a crash is found, not repeated.
        assert!(
            calls[0].args["filename"]
                .as_str()
                .is_some_and(|name| name.starts_with("report-m") && name.ends_with(".png")),
            "{}",
            calls[0].args["filename"]
        );
        assert_eq!(calls[0].args["length"], png.len().to_string());
        assert_eq!(calls[1].args["content_type"], "image/png");
        let file_id = calls[1].args["file_id"].as_str().unwrap();
        assert_eq!(rig.slack.uploaded(file_id).as_deref(), Some(png.as_slice()));
        assert_eq!(calls[2].args["channel_id"], "C0REPORTS");
        assert_eq!(calls[2].args["files"][0]["id"], file_id);
        assert_eq!(calls[2].args["files"][0]["title"], "GPU use, hosts × hours");
        assert_eq!(calls[3].failure, Some(Failure::ServerError(502)));
        assert_eq!(calls[5].args["text"], "Daily report");
        assert!(calls[5].at.unwrap() - calls[2].at.unwrap() >= Duration::seconds(1));
        let entry = &rig.db.db.outbox_entries().await.unwrap()[0];
        assert!(entry.sent_at.is_some() && entry.attachment_sent_at.is_some());
    }

    async fn a_dedupe_key_makes_the_second_enqueue_a_no_op(backend: Backend) {
        let rig = Rig::new(backend).await;
        let message = OutgoingMessage {
            to: Recipient::User("U0ALICE".into()),
            reply: Reply::ephemeral("Booking #42 ends in 15 minutes"),
            attachment: None,
        };
        let db = &rig.db.db;
        let now = rig.now().timestamp();
        assert!(db.enqueue(&message, now, Some("remind:booking-ends:42")).await.unwrap());
        assert!(!db.enqueue(&message, now + 60, Some("remind:booking-ends:42")).await.unwrap());
        assert!(db.enqueue(&message, now, Some("remind:booking-ends:43")).await.unwrap());
        // Without a key nothing is deduplicated.
        assert!(db.enqueue(&message, now, None).await.unwrap());
        assert!(db.enqueue(&message, now, None).await.unwrap());
        let keys: Vec<Option<String>> = db
            .outbox_entries()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.dedupe_key)
            .collect();
        assert_eq!(
            keys,
            [
                Some("remind:booking-ends:42".to_owned()),
                Some("remind:booking-ends:43".to_owned()),
                None,
                None
            ]
        );
        // Even once sent, the key still blocks a repeat.
        rig.run_until(rig.now() + Duration::seconds(5), Duration::seconds(1)).await;
        assert_eq!(rig.posts().len(), 4);
        assert!(!db.enqueue(&message, now + 120, Some("remind:booking-ends:42")).await.unwrap());
    }

    async fn a_refused_message_is_parked_not_dropped(backend: Backend) {
        let rig = Rig::new(backend).await;
        rig.slack.remove_channel("C0GONE");
        rig.enqueue(channel("C0GONE"), "lost 1").await;
        rig.enqueue(channel("C0GONE"), "lost 2").await;
        rig.enqueue(channel("C0OK"), "fine").await;
        rig.run_until(rig.now() + Duration::seconds(5), Duration::seconds(1)).await;
        assert_eq!(texts_to(&rig.posts(), "C0OK"), ["fine"]);
        let entries = rig.db.db.outbox_entries().await.unwrap();
        let parked: Vec<&str> = entries
            .iter()
            .filter(|e| e.parked_at.is_some())
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(parked, ["lost 1", "lost 2"]);
        assert!(entries[0].last_error.as_deref().unwrap().contains("channel_not_found"));
        // A parked message is not retried.
        let tries = rig.calls_to("chat.postMessage").len();
        rig.run_until(rig.now() + Duration::minutes(5), Duration::seconds(10)).await;
        assert_eq!(rig.calls_to("chat.postMessage").len(), tries);
        let stats = rig.db.db.outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.parked), (0, 2));
        let (_, to, error) = stats.last_parked.unwrap();
        assert_eq!(to, channel("C0GONE"));
        assert!(error.contains("channel_not_found"));
        // Requeued (after fixing the channel), they are tried again, in order.
        assert_eq!(rig.db.db.requeue_parked(rig.now().timestamp()).await.unwrap(), 2);
        assert_eq!(rig.db.db.outbox_stats().await.unwrap().pending, 2);
        rig.deliver().await;
        let retried = rig.calls_to("chat.postMessage");
        assert_eq!(retried.len(), tries + 1);
        assert_eq!(retried.last().unwrap().args["text"], "lost 1");
    }

    async fn only_one_of_two_senders_sends(backend: Backend) {
        let rig = Rig::new(backend).await;
        let second = Rig::sender(&rig.db, &rig.slack, &rig.clock);
        for n in 1..=4 {
            rig.enqueue(channel("C0ONE"), &format!("message {n}")).await;
        }
        let start = rig.now();
        while rig.now() <= start + Duration::seconds(6) {
            let now = rig.now();
            let (a, b) = tokio::join!(rig.outbox.deliver_due(now), second.deliver_due(now));
            assert!(a.leader != b.leader, "exactly one sender leads");
            rig.clock.advance(Duration::milliseconds(500));
        }
        assert_eq!(
            texts_to(&rig.posts(), "C0ONE"),
            ["message 1", "message 2", "message 3", "message 4"]
        );
        // The leader stops (a crash: no hand-over). The other takes over once the lease ends.
        rig.enqueue(channel("C0ONE"), "after the crash").await;
        let crash = rig.now();
        let mut taken_over = None;
        while rig.now() <= crash + Duration::seconds(90) {
            if second.deliver_due(rig.now()).await.leader && taken_over.is_none() {
                taken_over = Some(rig.now());
            }
            rig.clock.advance(Duration::seconds(1));
        }
        let taken_over = taken_over.expect("the second sender took over");
        assert!(taken_over - crash <= Duration::seconds(61), "{taken_over}");
        assert_eq!(texts_to(&rig.posts(), "C0ONE").last().unwrap(), "after the crash");
    }
}
