//! The bot's side of datasets, through the signed HTTP front with fake agents, on SQLite and
//! PostgreSQL: registering (admins anywhere, members under their own work root), the scan's end
//! told by DM, `ls` and `where`, copies between hosts with a progress message edited as the copy
//! moves, removal refused while mounted or for the last copy, room made by removing the least
//! recently used copies, verification told by DM, `launch --data` refused until the copy is
//! complete and then mounting it, `book --data` copying ahead, and unknown names answered with
//! suggestions. The fake agents answer as the agent contract says; the agents themselves are
//! tested against real disks elsewhere.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;

use chrono::Duration;
use fake_agent::{FakeAgent, replica, settle};
use maison_agent_api::datasets::{DatasetMount, ReplicaState, VerifyOutcome};
use maison_agent_api::{ErrorCode, ResourceLimits};
use maison_bot::config::{Config, UnixUserMapping};
use maison_bot::core::actions;
use maison_bot::core::clock::Clock;
use maison_bot::jobs::reminders;
use maison_bot::ports::Fleet;
use maison_tests::fake_slack::Call;
use maison_tests::{Backend, BotTester, on_both_databases, reply_text, test_config, test_start};

const GB: u64 = 1_000_000_000;
const IMAGENET: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const COCO: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const MNIST: &str = "3333333333333333333333333333333333333333333333333333333333333333";

/// Three hosts with agents at known URLs (peers pull from them); Alice is mapped to uid 1000
/// with the work root `/work/alice`, Bob has no mapping; no announcement channel, so every
/// Slack message a test sees comes from datasets.
fn config() -> Config {
    let mut config = test_config();
    config.slack.announce_channel = None;
    for host in &mut config.hosts {
        host.agent_url = Some(format!("https://{}.lan:8443", host.name));
    }
    config.users = vec![UnixUserMapping {
        work: Some("/work/alice".into()),
        ..maison_tests::alice_as_uid_1000()
    }];
    config
}

struct Fixture {
    bot: BotTester,
    gpu01: Arc<FakeAgent>,
    gpu02: Arc<FakeAgent>,
    gpu03: Arc<FakeAgent>,
}

async fn start(backend: Backend) -> Fixture {
    let gpu01 = Arc::new(FakeAgent::new("gpu01", 2));
    let gpu02 = Arc::new(FakeAgent::new("gpu02", 2));
    let gpu03 = Arc::new(FakeAgent::new("gpu03", 8));
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", gpu01.clone());
    fleet.insert("gpu02", gpu02.clone());
    fleet.insert("gpu03", gpu03.clone());
    let bot = BotTester::start_with_fleet(backend, config(), fleet).await;
    Fixture {
        bot,
        gpu01,
        gpu02,
        gpu03,
    }
}

impl Fixture {
    /// The admin registers `name@version` on `agent`'s host and the scan ends with `manifest`;
    /// the admin's DM about it is read.
    async fn registered(
        &self,
        agent: &FakeAgent,
        host: &str,
        name: &str,
        manifest: &str,
        bytes: u64,
    ) {
        let text = self
            .bot
            .command_text(
                "U0ADMIN",
                &format!("data add {name}@v1 {host}:/srv/datasets/{name}"),
            )
            .await;
        assert!(text.contains("is scanning it"), "{text}");
        scan_done(agent, name, "v1", manifest, bytes);
        self.bot.poller().poll_once().await;
        let told = dms(&settle(&self.bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0ADMIN");
        assert!(
            told[0].1.contains(&format!("`{name}@v1` is registered")),
            "{told:?}"
        );
    }
}

/// The agent finishes scanning a registered directory.
fn scan_done(agent: &FakeAgent, name: &str, version: &str, manifest: &str, bytes: u64) {
    agent.edit(|s| {
        let r = s
            .replicas
            .iter_mut()
            .find(|r| r.name == name && r.version == version)
            .expect("a registered copy");
        r.state = ReplicaState::Complete;
        r.manifest = Some(manifest.to_owned());
        r.total_bytes = bytes;
        r.present_bytes = bytes;
    });
}

/// A complete copy the agent made earlier.
fn copied(agent: &FakeAgent, name: &str, manifest: &str, bytes: u64) {
    agent.edit(|s| {
        s.replicas.push(replica(
            name,
            "v1",
            Some(manifest),
            ReplicaState::Complete,
            bytes,
            bytes,
        ))
    });
}

/// The copy of `manifest` on this agent moves to `present` bytes at `rate` bytes/s.
fn progress(agent: &FakeAgent, manifest: &str, present: u64, total: u64, rate: u64) {
    agent.edit(|s| {
        let r = s
            .replicas
            .iter_mut()
            .find(|r| r.manifest.as_deref() == Some(manifest))
            .expect("a copy in progress");
        r.present_bytes = present;
        r.total_bytes = total;
        r.rate_bytes_per_sec = rate;
        if present == total {
            r.state = ReplicaState::Complete;
            r.rate_bytes_per_sec = 0;
        }
    });
}

/// `(channel, text)` of the messages posted among `calls`.
fn dms(calls: &[Call]) -> Vec<(String, String)> {
    calls
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .map(|c| {
            (
                c.args["channel"].as_str().unwrap_or_default().to_owned(),
                c.args["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// `(channel, ts, text)` of the message edits among `calls`.
fn edits(calls: &[Call]) -> Vec<(String, String, String)> {
    calls
        .iter()
        .filter(|c| c.method == "chat.update")
        .map(|c| {
            (
                c.args["channel"].as_str().unwrap_or_default().to_owned(),
                c.args["ts"].as_str().unwrap_or_default().to_owned(),
                c.args["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn audit_trail(bot: &BotTester) -> Vec<(String, String)> {
    bot.db()
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.actor, a.action))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

on_both_databases! {
    /// The poller's DMs go out in their reader's language: a `ja-JP` admin hears about the scan
    /// in Japanese (the registration's answer too), an English one in English.
    async fn the_scan_dm_is_in_the_registrants_language(backend: Backend) {
        let f = start(backend).await;
        f.bot.slack.set_locale("U0ADMIN", "ja-JP");
        let text = f.bot.command_text("U0ADMIN", "data add coco@v1 gpu03:/srv/datasets/coco").await;
        assert!(text.contains("として登録しています"), "{text}");
        scan_done(&f.gpu03, "coco", "v1", COCO, GB);
        f.bot.poller().poll_once().await;
        let told = dms(&settle(&f.bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0ADMIN");
        assert!(told[0].1.contains("`coco@v1` を登録しました"), "{told:?}");
        f.bot.finish().await;
    }

    /// Slack waits 3 s for an answer; an agent slower than that must not lose the reply.
    async fn a_slow_agent_is_answered_in_time_and_the_reply_follows(backend: Backend) {
        let f = start(backend).await;
        f.gpu03.edit(|s| s.register_delay = Some(std::time::Duration::from_secs(4)));
        let text = f.bot.command_text("U0ADMIN", "data add coco@v1 gpu03:/srv/datasets/coco").await;
        assert!(text.contains("Working on it"), "{text}");
        let late = f.bot.slack.expect("response_url").await;
        let late = reply_text(&late.args);
        assert!(late.contains("Registering `coco@v1` from `gpu03:/srv/datasets/coco`"), "{late}");
        assert_eq!(f.gpu03.state.lock().unwrap().registers.len(), 1);
        f.bot.finish().await;
    }

    async fn an_admin_registers_and_hears_when_the_scan_ends(backend: Backend) {
        let f = start(backend).await;
        let text = f.bot.command_text(
            "U0ADMIN",
            "data add ImageNet@v2 gpu03:/srv/datasets/imagenet for \"ILSVRC 2012\"",
        ).await;
        assert!(text.contains("Registering `imagenet@v2` from `gpu03:/srv/datasets/imagenet`"), "{text}");
        assert!(text.contains("I'll DM you when it is ready"), "{text}");
        let registers = f.gpu03.state.lock().unwrap().registers.clone();
        assert_eq!(registers.len(), 1);
        assert_eq!(
            (registers[0].name.as_str(), registers[0].version.as_str(), registers[0].path.as_str()),
            ("imagenet", "v2", "/srv/datasets/imagenet")
        );
        assert_eq!(registers[0].owner_uid, None, "an admin registers under the datasets root");
        let listed = f.bot.command_text("U0CAROL", "data ls").await;
        assert!(listed.contains("`v2` scanning on `gpu03` — “ILSVRC 2012”"), "{listed}");
        let early = f.bot.command_text("U0CAROL", "data get imagenet gpu01").await;
        assert!(early.contains("`imagenet@v2` is still being scanned on `gpu03`"), "{early}");

        scan_done(&f.gpu03, "imagenet", "v2", IMAGENET, 7_400_000_000);
        f.bot.poller().poll_once().await;
        let told = dms(&settle(&f.bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0ADMIN");
        assert!(told[0].1.contains("`imagenet@v2` is registered: 7.4 GB in 1,000 files on `gpu03`"), "{told:?}");
        // Seeing it again tells nobody again.
        f.bot.poller().poll_once().await;
        assert!(f.bot.queued().await.is_empty());

        let listed = f.bot.command_text("U0CAROL", "data ls").await;
        assert!(listed.contains("`v2` 7.4 GB in 1,000 files · 1 copy (`gpu03`)"), "{listed}");
        let catalog = f.bot.db().dataset_catalog().await.unwrap();
        assert_eq!(catalog.versions[0].manifest.as_deref(), Some(IMAGENET));
        assert_eq!(
            audit_trail(&f.bot).await,
            pairs(&[("U0ADMIN", "data add"), ("maison", "data scanned")])
        );

        let again = f.bot.command_text("U0ADMIN", "data add imagenet@v2 gpu01:/srv/datasets/other").await;
        assert!(again.contains("`imagenet@v2` is already registered, and a version never changes"), "{again}");
        assert_eq!(f.gpu01.calls(), Vec::<String>::new());

        // The same files under another name would make copies ambiguous: the scan is refused.
        f.bot.command_text("U0ADMIN", "data add twin@v1 gpu01:/srv/datasets/twin").await;
        scan_done(&f.gpu01, "twin", "v1", IMAGENET, 7_400_000_000);
        f.bot.poller().poll_once().await;
        let told = dms(&settle(&f.bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(
            told[0].1.contains("Registering `twin@v1` from `gpu01:/srv/datasets/twin` failed: its files are exactly those of imagenet@v2"),
            "{told:?}"
        );
        let catalog = f.bot.db().dataset_catalog().await.unwrap();
        assert_eq!(catalog.versions[1].manifest, None);
        f.bot.finish().await;
    }

    async fn members_register_only_their_own_directories(backend: Backend) {
        let f = start(backend).await;
        for path in ["/srv/datasets/x", "/work/alice2/x", "/work"] {
            let text = f.bot.command_text("U0ALICE", &format!("data add mine@v1 gpu01:{path}")).await;
            assert!(text.contains(&format!("`{path}` is not under your work directory `/work/alice`")), "{text}");
        }
        let text = f.bot.command_text("U0BOB", "data add mine@v1 gpu01:/work/bob/x").await;
        assert!(text.contains("You have no work directory in Maison's user mapping"), "{text}");
        assert!(f.gpu01.calls().is_empty(), "{:?}", f.gpu01.calls());
        assert!(f.bot.db().dataset_catalog().await.unwrap().versions.is_empty());
        assert!(audit_trail(&f.bot).await.is_empty());

        // The agent checks ownership again: a directory Alice does not own is refused there.
        f.gpu01.edit(|s| {
            s.refuse_register = Some((403, ErrorCode::PolicyRefused, "/work/alice/shared is owned by uid 0, not 1000".into()))
        });
        let text = f.bot.command_text("U0ALICE", "data add mine@v1 gpu01:/work/alice/shared").await;
        assert!(text.contains("/work/alice/shared is owned by uid 0, not 1000"), "{text}");
        assert!(f.bot.db().dataset_catalog().await.unwrap().versions.is_empty());

        let text = f.bot.command_text("U0ALICE", "data add mine@v1 gpu01:/work/alice/mine").await;
        assert!(text.contains("Registering `mine@v1`"), "{text}");
        let registers = f.gpu01.state.lock().unwrap().registers.clone();
        assert_eq!(registers.last().unwrap().owner_uid, Some(1000));

        // A dataset's versions are its owner's (or an admin's) to add.
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 10 * GB).await;
        let text = f.bot.command_text("U0ALICE", "data add imagenet@v2 gpu01:/work/alice/imagenet").await;
        assert!(text.contains("`imagenet` belongs to <@U0ADMIN>: only its owner or an admin can add versions to it"), "{text}");
        assert_eq!(
            audit_trail(&f.bot).await,
            pairs(&[("U0ALICE", "data add"), ("U0ADMIN", "data add"), ("maison", "data scanned")])
        );
        f.bot.finish().await;
    }

    /// Two people asking for the same copy at the same moment: one copy, and the second asker
    /// hears whose it is, as when they ask one after the other.
    async fn the_same_copy_asked_twice_at_once_is_made_once(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 7_400_000_000).await;
        let (a, b) = futures::join!(
            f.bot.command_text("U0ALICE", "data get imagenet gpu01"),
            f.bot.command_text("U0BOB", "data get imagenet gpu01"),
        );
        let replies = [a, b];
        let started = replies.iter().filter(|r| r.contains("Copying `imagenet@v1` (7.4 GB) to `gpu01`")).count();
        let told = replies.iter().filter(|r| r.contains("is already being copied to `gpu01` for <@")).count();
        assert_eq!((started, told), (1, 1), "{replies:#?}");
        let catalog = f.bot.db().dataset_catalog().await.unwrap();
        assert_eq!(catalog.transfers.len(), 1, "{:?}", catalog.transfers);
        let posted = settle(&f.bot).await;
        assert_eq!(dms(&posted).len(), 1, "one progress message: {posted:?}");
        f.bot.finish().await;
    }

    async fn a_copy_pulls_from_a_holder_and_its_progress_message_follows_it(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 7_400_000_000).await;
        let text = f.bot.command_text("U0ALICE", "data get imagenet gpu01").await;
        assert!(
            text.contains("Copying `imagenet@v1` (7.4 GB) to `gpu01` from `gpu03`. I'll keep a progress message up to date in your DMs."),
            "{text}"
        );
        let fetches = f.gpu01.state.lock().unwrap().fetches.clone();
        assert_eq!(fetches.len(), 1);
        assert_eq!((fetches[0].name.as_str(), fetches[0].version.as_str()), ("imagenet", "v1"));
        assert_eq!(fetches[0].manifest, IMAGENET);
        let sources: Vec<(&str, &str)> =
            fetches[0].sources.iter().map(|s| (s.host.as_str(), s.url.as_str())).collect();
        assert_eq!(sources, [("gpu03", "https://gpu03.lan:8443")]);

        let posted = settle(&f.bot).await;
        let told = dms(&posted);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0ALICE");
        assert!(told[0].1.contains("Copying `imagenet@v1` to `gpu01` from `gpu03`: 0 B of 7.4 GB, 0 %"), "{told:?}");
        let progress_message = f.bot.slack.posted_messages();

        let again = f.bot.command_text("U0BOB", "data get imagenet gpu01").await;
        assert!(again.contains("`imagenet@v1` is already being copied to `gpu01` for <@U0ALICE>"), "{again}");
        assert_eq!(f.gpu01.state.lock().unwrap().fetches.len(), 1);

        progress(&f.gpu01, IMAGENET, 5_920_000_000, 7_400_000_000, 41_000_000);
        f.bot.poller().poll_once().await;
        let shown = edits(&f.bot.slack.take_unread());
        assert_eq!(shown.len(), 1, "{shown:?}");
        let edited = (shown[0].0.clone(), shown[0].1.clone());
        assert_eq!(edited.0, "DU0ALICE");
        assert!(progress_message.contains(&edited), "the posted DM is edited: {progress_message:?}");
        assert!(shown[0].2.contains("5.9 GB of 7.4 GB, 80 %, about 37 s left · 41 MB/s"), "{shown:?}");
        let whereis = f.bot.command_text("U0CAROL", "data where imagenet").await;
        assert!(whereis.contains("*Complete on*\n• `gpu03` (registered at `/srv/datasets/imagenet`)"), "{whereis}");
        assert!(whereis.contains("*In progress*\n• `gpu01` copying from `gpu03`: 80 %, about 37 s left"), "{whereis}");

        // Within ten seconds of the last edit, the message is left alone.
        progress(&f.gpu01, IMAGENET, 6_000_000_000, 7_400_000_000, 41_000_000);
        f.bot.poller().poll_once().await;
        assert!(edits(&f.bot.slack.take_unread()).is_empty());

        f.bot.clock.advance(Duration::seconds(180));
        progress(&f.gpu01, IMAGENET, 7_400_000_000, 7_400_000_000, 0);
        f.bot.poller().poll_once().await;
        let shown = edits(&f.bot.slack.take_unread());
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(shown[0].2.contains("`imagenet@v1` ready on `gpu01` (7.4 GB in 3 min, 41 MB/s)"), "{shown:?}");
        f.bot.clock.advance(Duration::seconds(60));
        f.bot.poller().poll_once().await;
        assert!(edits(&f.bot.slack.take_unread()).is_empty(), "the final state is shown once");

        let whereis = f.bot.command_text("U0CAROL", "data where imagenet").await;
        assert!(whereis.contains("• `gpu01`\n• `gpu03`"), "{whereis}");
        let transfers = f.bot.db().dataset_transfers().await.unwrap();
        assert_eq!(transfers.len(), 1);
        assert_eq!(transfers[0].state.as_str(), "complete");
        let there = f.bot.command_text("U0ALICE", "data get imagenet gpu01").await;
        assert!(there.contains("`gpu01` already has a complete copy of `imagenet@v1`"), "{there}");
        assert_eq!(
            audit_trail(&f.bot).await,
            pairs(&[("U0ADMIN", "data add"), ("maison", "data scanned"), ("U0ALICE", "data get")])
        );
        f.bot.finish().await;
    }

    async fn a_failed_copy_is_told_by_dm(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "coco", COCO, 2 * GB).await;
        f.bot.command_text("U0ALICE", "data get coco gpu02").await;
        settle(&f.bot).await;
        f.gpu02.edit(|s| {
            let r = &mut s.replicas[0];
            r.present_bytes = GB;
            r.state = ReplicaState::Failed;
            r.error = Some("every source failed".into());
        });
        f.bot.poller().poll_once().await;
        let calls = settle(&f.bot).await;
        let shown = edits(&calls);
        assert_eq!(shown.len(), 1, "{calls:?}");
        assert!(shown[0].2.contains("Copying `coco@v1` to `gpu02` failed at 50 %: every source failed"), "{shown:?}");
        let told = dms(&calls);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0ALICE");
        assert!(told[0].1.contains("`/maison data get coco@v1 gpu02` resumes it"), "{told:?}");
        f.bot.poller().poll_once().await;
        assert!(f.bot.queued().await.is_empty(), "told once");
        f.bot.finish().await;
    }

    /// `data rm` of a copy in progress stops it (the agent cancels its streams and deletes
    /// what arrived; tested on real agents in host-agent/tests/datasets.rs).
    async fn removing_a_copy_in_progress_stops_it(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 7_400_000_000).await;
        let text = f.bot.command_text("U0ALICE", "data get imagenet gpu01").await;
        assert!(text.contains("Copying `imagenet@v1`"), "{text}");
        settle(&f.bot).await;
        f.bot.poller().poll_once().await;
        let text = f.bot.command_text("U0ALICE", "data rm imagenet gpu01").await;
        assert!(text.contains("only its owner or an admin"), "{text}");
        let text = f.bot.command_text("U0ADMIN", "data rm imagenet gpu01").await;
        assert!(text.contains("Stopped copying `imagenet@v1` to `gpu01`; what had arrived is deleted"), "{text}");
        assert!(f.gpu01.calls().contains(&format!("rm-data {IMAGENET}")), "{:?}", f.gpu01.calls());
        assert!(f.bot.db().dataset_catalog().await.unwrap().replica(1, "gpu01").is_none());
        settle(&f.bot).await;
        f.bot.finish().await;
    }

    async fn removal_is_refused_while_mounted_or_for_the_last_copy(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 10 * GB).await;
        copied(&f.gpu01, "imagenet", IMAGENET, 10 * GB);
        f.gpu01.edit(|s| s.replicas[0].mounted_by = vec!["alice-train".into()]);
        f.bot.poller().poll_once().await;

        let text = f.bot.command_text("U0ALICE", "data rm imagenet gpu01").await;
        assert!(text.contains("`imagenet` belongs to <@U0ADMIN>: only its owner or an admin can remove its copies"), "{text}");
        let text = f.bot.command_text("U0ADMIN", "data rm imagenet gpu01").await;
        assert!(text.contains("The copy of `imagenet@v1` on `gpu01` is mounted by 1 container(s)"), "{text}");
        assert!(f.gpu01.calls().is_empty(), "{:?}", f.gpu01.calls());

        // Mounted since the last poll: the agent refuses, and says why.
        f.gpu01.edit(|s| s.replicas[0].mounted_by.clear());
        f.bot.poller().poll_once().await;
        f.gpu01.edit(|s| s.replicas[0].mounted_by = vec!["bob-eval".into()]);
        let text = f.bot.command_text("U0ADMIN", "data rm imagenet gpu01").await;
        assert!(
            text.contains("`gpu01` keeps `imagenet@v1`: imagenet@v1 is mounted by 1 container(s): bob-eval; remove them first"),
            "{text}"
        );
        assert!(f.bot.db().dataset_catalog().await.unwrap().replica(1, "gpu01").is_some());

        f.gpu01.edit(|s| s.replicas[0].mounted_by.clear());
        let text = f.bot.command_text("U0ADMIN", "data rm imagenet gpu01").await;
        assert!(text.contains("Removed the copy of `imagenet@v1` from `gpu01`"), "{text}");
        assert_eq!(f.gpu01.calls(), [format!("rm-data {IMAGENET}"), format!("rm-data {IMAGENET}")]);
        assert!(f.bot.db().dataset_catalog().await.unwrap().replica(1, "gpu01").is_none());

        let text = f.bot.command_text("U0ADMIN", "data rm imagenet gpu03").await;
        assert!(text.contains("`gpu03` holds the last complete copy of `imagenet@v1`, so I won't remove it"), "{text}");
        // The daily report's Remove button follows the same rules, for whoever clicks.
        let refused = reply_text(&f.bot.click("U0ALICE", actions::REMOVE_DATASET_COPY, "imagenet@v1 gpu03").await);
        assert!(refused.contains("only its owner or an admin can remove its copies"), "{refused}");
        let refused = reply_text(&f.bot.click("U0ADMIN", actions::REMOVE_DATASET_COPY, "imagenet@v1 gpu03").await);
        assert!(refused.contains("holds the last complete copy"), "{refused}");
        let text = f.bot.command_text("U0ADMIN", "data rm imagenet gpu02").await;
        assert!(text.contains("`gpu02` has no copy of `imagenet@v1`. Its copies are on `gpu03`."), "{text}");
        let text = f.bot.command_text("U0ADMIN", "data rm imagenet gpu9").await;
        assert!(text.contains("There is no host called `gpu9`. Did you mean `gpu01`?"), "{text}");
        assert!(f.gpu03.calls().iter().all(|c| !c.starts_with("rm-data")), "{:?}", f.gpu03.calls());
        assert_eq!(
            audit_trail(&f.bot).await,
            pairs(&[("U0ADMIN", "data add"), ("maison", "data scanned"), ("U0ADMIN", "data rm")])
        );
        f.bot.finish().await;
    }

    async fn room_is_made_from_the_least_recently_used_unpinned_copies(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 4 * GB).await;
        f.registered(&f.gpu03, "gpu03", "coco", COCO, 4 * GB).await;
        f.registered(&f.gpu03, "gpu03", "mnist", MNIST, 5 * GB).await;
        // gpu01 holds imagenet (mounted long ago) and coco (pinned): 2 GB free above the margin.
        copied(&f.gpu01, "imagenet", IMAGENET, 4 * GB);
        copied(&f.gpu01, "coco", COCO, 4 * GB);
        f.gpu01.edit(|s| {
            s.replicas[0].last_mounted = Some(f.bot.clock.now() - Duration::days(40));
            s.free_bytes = Some(12 * GB);
            s.free_margin_bytes = 10 * GB;
        });
        f.bot.poller().poll_once().await;
        let text = f.bot.command_text("U0ADMIN", "data pin coco gpu01").await;
        assert!(text.contains("is pinned: it is never removed to make room"), "{text}");

        let text = f.bot.command_text("U0ALICE", "data get mnist gpu01").await;
        assert!(text.contains("Copying `mnist@v1` (5.0 GB) to `gpu01` from `gpu03`"), "{text}");
        assert!(text.contains("To make room on `gpu01`, I removed the copies there unused for longest: `imagenet@v1`."), "{text}");
        assert_eq!(f.gpu01.calls(), [format!("rm-data {IMAGENET}"), "fetch mnist@v1 from gpu03".to_owned()]);
        settle(&f.bot).await;

        // With the pinned copy the only one left, there is no room for another 5 GB.
        f.gpu01.edit(|s| s.free_bytes = Some(11 * GB));
        f.bot.poller().poll_once().await;
        let text = f.bot.command_text("U0ALICE", "data get imagenet gpu01").await;
        assert!(text.contains("`gpu01` has no room for `imagenet@v1`: it needs 4.0 GB and 1.0 GB is free"), "{text}");
        assert_eq!(f.gpu01.calls().len(), 2, "nothing removed, nothing fetched");
        f.bot.slack.take_unread();
        assert_eq!(
            audit_trail(&f.bot).await,
            pairs(&[
                ("U0ADMIN", "data add"), ("maison", "data scanned"),
                ("U0ADMIN", "data add"), ("maison", "data scanned"),
                ("U0ADMIN", "data add"), ("maison", "data scanned"),
                ("U0ADMIN", "data pin"), ("maison", "data evict"), ("U0ALICE", "data get"),
            ])
        );
        f.bot.finish().await;
    }

    /// The margin is kept even when nobody copies anything: the `dataset_margin` job removes
    /// the least recently used copies that may go, and stops at what must stay.
    async fn the_free_space_margin_is_kept_without_waiting_for_a_copy(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 4 * GB).await;
        f.registered(&f.gpu03, "gpu03", "coco", COCO, 4 * GB).await;
        f.registered(&f.gpu03, "gpu03", "mnist", MNIST, 5 * GB).await;
        // gpu01 holds three copies; something else filled its disk: 7 GB free, 10 GB wanted.
        copied(&f.gpu01, "imagenet", IMAGENET, 4 * GB);
        copied(&f.gpu01, "coco", COCO, 4 * GB);
        copied(&f.gpu01, "mnist", MNIST, 5 * GB);
        let now = f.bot.clock.now();
        f.gpu01.edit(|s| {
            s.replicas[0].last_mounted = Some(now - Duration::days(40));
            s.replicas[1].last_mounted = Some(now - Duration::days(2));
            s.replicas[2].last_mounted = Some(now - Duration::days(20));
            s.free_bytes = Some(7 * GB);
            s.free_margin_bytes = 10 * GB;
        });
        f.bot.poller().poll_once().await;
        f.bot.command("U0ADMIN", "data pin coco gpu01").await;

        let kept = f.bot.app.keep_dataset_margins(f.bot.now_ts()).await.unwrap();
        // 3 GB short: imagenet (4 GB, unused for 40 days) is enough; mnist stays.
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!((kept[0].host.as_str(), kept[0].removed.clone(), kept[0].short_after), ("gpu01", vec!["imagenet@v1".to_owned()], 0));
        assert_eq!(f.gpu01.calls(), [format!("rm-data {IMAGENET}")]);

        // Still short and only the pinned copy and one more left: both rules hold.
        f.gpu01.edit(|s| {
            s.replicas.retain(|r| r.manifest.as_deref() != Some(IMAGENET));
            s.free_bytes = Some(GB);
        });
        f.bot.poller().poll_once().await;
        let kept = f.bot.app.keep_dataset_margins(f.bot.now_ts()).await.unwrap();
        assert_eq!(kept[0].removed, ["mnist@v1"]);
        assert_eq!(kept[0].short_after, 4 * GB, "coco is pinned: 9 GB short, 5 GB freed");
        assert!(f.gpu01.calls().iter().all(|c| !c.contains(COCO)), "{:?}", f.gpu01.calls());
        // Hosts with room are left alone.
        assert!(f.gpu03.calls().iter().all(|c| !c.starts_with("rm-data")));
        f.bot.finish().await;
    }

    /// Two hosts short of room at once, each holding one of the last two complete copies of a
    /// version: one copy goes, and the other, now the last, stays.
    async fn the_margin_job_never_removes_the_last_two_copies_at_once(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 4 * GB).await;
        copied(&f.gpu01, "imagenet", IMAGENET, 4 * GB);
        copied(&f.gpu02, "imagenet", IMAGENET, 4 * GB);
        for agent in [&f.gpu01, &f.gpu02] {
            agent.edit(|s| {
                s.free_bytes = Some(GB);
                s.free_margin_bytes = 10 * GB;
            });
        }
        f.bot.poller().poll_once().await;
        // The registered directory is forgotten: the two copies are the last ones.
        let text = f.bot.command_text("U0ADMIN", "data rm imagenet gpu03").await;
        assert!(text.contains("Maison no longer tracks `imagenet@v1` on `gpu03`"), "{text}");

        let kept = f.bot.app.keep_dataset_margins(f.bot.now_ts()).await.unwrap();
        let removed: Vec<String> = kept.iter().flat_map(|k| k.removed.clone()).collect();
        assert_eq!(removed, ["imagenet@v1"], "{kept:?}");
        let removals = [&f.gpu01, &f.gpu02]
            .iter()
            .flat_map(|a| a.calls())
            .filter(|c| c.starts_with("rm-data"))
            .count();
        assert_eq!(removals, 1);
        f.bot.slack.take_unread();
        f.bot.finish().await;
    }

    async fn a_verification_is_told_by_dm(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 10 * GB).await;
        // Anyone may ask: verifying only reads.
        let text = f.bot.command_text("U0CAROL", "data verify imagenet gpu03").await;
        assert!(text.contains("Verifying the copy of `imagenet@v1` on `gpu03`"), "{text}");
        assert_eq!(f.gpu03.calls().last().unwrap(), &format!("verify {IMAGENET}"));
        f.bot.poller().poll_once().await;
        assert!(f.bot.queued().await.is_empty(), "still verifying");

        let at = f.bot.clock.now() + Duration::seconds(30);
        f.gpu03.edit(|s| {
            let r = &mut s.replicas[0];
            r.state = ReplicaState::Complete;
            r.last_verify = Some(VerifyOutcome {
                at,
                files_checked: 1000,
                bytes_checked: 10 * GB,
                bad_files: vec![],
                bad_count: 0,
            });
        });
        f.bot.poller().poll_once().await;
        let told = dms(&settle(&f.bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0CAROL");
        assert!(told[0].1.contains("The copy of `imagenet@v1` on `gpu03` is intact: 1000 files hashed"), "{told:?}");
        f.bot.poller().poll_once().await;
        assert!(f.bot.queued().await.is_empty(), "told once");
        let whereis = f.bot.command_text("U0CAROL", "data where imagenet").await;
        assert!(whereis.contains("`gpu03` (registered at `/srv/datasets/imagenet`, verified)"), "{whereis}");
        f.bot.finish().await;
    }

    async fn launch_with_data_waits_for_a_complete_copy(backend: Backend) {
        let f = start(backend).await;
        f.gpu01.edit(|s| s.launch_limits = Some(ResourceLimits { pids: 4096, memory_bytes: 1 << 36, cpu_millis: 8000, shm_bytes: 1 << 34 }));
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, 8 * GB).await;
        f.bot.command("U0ALICE", "book gpu01 2h").await;
        let text = f.bot.command_text("U0ALICE", "launch gpu01 pytorch --data imagenet -- python train.py").await;
        assert!(text.contains("`gpu01` has no copy of `imagenet@v1`. `/maison data get imagenet@v1 gpu01` copies it there"), "{text}");

        f.bot.command_text("U0ALICE", "data get imagenet gpu01").await;
        settle(&f.bot).await;
        progress(&f.gpu01, IMAGENET, 4 * GB, 8 * GB, 40_000_000);
        f.bot.poller().poll_once().await;
        f.bot.slack.take_unread();
        let text = f.bot.command_text("U0ALICE", "launch gpu01 pytorch --data imagenet -- python train.py").await;
        assert!(text.contains("`imagenet@v1` is still being copied to `gpu01`: 50 %, about 2 min left"), "{text}");
        assert!(f.gpu01.state.lock().unwrap().launches.is_empty());

        progress(&f.gpu01, IMAGENET, 8 * GB, 8 * GB, 0);
        f.bot.clock.advance(Duration::seconds(100));
        f.bot.poller().poll_once().await;
        let shown = edits(&f.bot.slack.take_unread());
        assert!(shown[0].2.contains("ready on `gpu01`"), "{shown:?}");
        let ack = f.bot.command_text("U0ALICE", "launch gpu01 pytorch --data imagenet -- python train.py").await;
        assert!(ack.contains("Starting"), "{ack}");
        let done = reply_text(&f.bot.slack.expect("response_url").await.args);
        assert!(done.contains("Datasets (read-only): `imagenet@v1` at `/data/imagenet`."), "{done}");
        let launches = f.gpu01.state.lock().unwrap().launches.clone();
        assert_eq!(
            launches[0].datasets,
            [DatasetMount { name: "imagenet".into(), manifest: IMAGENET.into() }]
        );
        let launch = f.bot.db().audit_log().await.unwrap().into_iter().find(|a| a.action == "launch").unwrap();
        assert_eq!(launch.detail.as_deref(), Some("booking #1; datasets imagenet"));
        f.bot.finish().await;
    }

    async fn book_with_data_copies_ahead_and_prefers_hosts_that_hold_it(backend: Backend) {
        let f = start(backend).await;
        f.registered(&f.gpu02, "gpu02", "imagenet", IMAGENET, 8 * GB).await;
        let text = f.bot.command_text("U0ALICE", "book gpu01 2h at 14:00 --data imagenet").await;
        assert!(text.contains("Booked `gpu01`"), "{text}");
        assert!(text.contains("Copying `imagenet@v1` (8.0 GB) to `gpu01` from `gpu02`"), "{text}");
        let transfers = f.bot.db().dataset_transfers().await.unwrap();
        assert_eq!(transfers[0].booking_id, Some(1));
        settle(&f.bot).await;

        // Ten minutes before the booking starts (13:00 UTC), its owner hears how far it is.
        progress(&f.gpu01, IMAGENET, 6 * GB, 8 * GB, 20_000_000);
        f.bot.clock.set(test_start() + Duration::minutes(290));
        f.bot.poller().poll_once().await;
        f.bot.slack.take_unread();
        reminders::run(&f.bot.app, f.bot.clock.now()).await.unwrap();
        let told = dms(&settle(&f.bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0ALICE");
        let reminder = f.bot.slack.all_calls().into_iter().rev()
            .find(|c| c.method == "chat.postMessage").unwrap();
        assert!(
            reply_text(&reminder.args).contains("`imagenet@v1` is still being copied to `gpu01`: 75 %, about 2 min left."),
            "{}", reply_text(&reminder.args)
        );

        // gpu03 has the most free GPUs, but gpu02 holds the dataset.
        let text = f.bot.command_text("U0BOB", "book any 1h --data imagenet").await;
        assert!(text.contains("Booked `gpu02`"), "{text}");
        assert!(text.contains("`gpu02` already has a complete copy of `imagenet@v1`"), "{text}");

        // A typo books nothing.
        let text = f.bot.command_text("U0BOB", "book gpu03 1h --data imagnet").await;
        assert!(text.contains("There is no dataset called `imagnet`. Did you mean `imagenet`?"), "{text}");
        assert!(f.bot.db().booking(3).await.unwrap().is_none());
        f.bot.finish().await;
    }

    async fn unknown_names_get_suggestions(backend: Backend) {
        let f = start(backend).await;
        let text = f.bot.command_text("U0ALICE", "data where imagenet").await;
        assert!(text.contains("There is no dataset called `imagenet`. No dataset is registered yet"), "{text}");
        f.registered(&f.gpu03, "gpu03", "imagenet", IMAGENET, GB).await;
        let text = f.bot.command_text("U0ALICE", "data where imagnet").await;
        assert!(text.contains("There is no dataset called `imagnet`. Did you mean `imagenet`? Datasets: `imagenet`."), "{text}");
        let text = f.bot.command_text("U0ALICE", "data get imagenet@v9 gpu01").await;
        assert!(text.contains("`imagenet` has no version `v9`. Its versions: `imagenet@v1`."), "{text}");
        let text = f.bot.command_text("U0ALICE", "data get imagenet gpu1").await;
        assert!(text.contains("There is no host called `gpu1`. Did you mean `gpu01`?"), "{text}");
        let text = f.bot.command_text("U0ALICE", "launch gpu01 pytorch --data imagnet").await;
        assert!(text.contains("Did you mean `imagenet`?"), "{text}");
        // Grammar mistakes are answered by the parser, with the usage.
        let text = f.bot.command_text("U0ADMIN", "data add imagenet gpu03:/srv/datasets/imagenet").await;
        assert!(text.contains("`imagenet` has no version."), "{text}");
        assert!(text.contains("Usage:\n`/maison data add <name>@<version> <host>:<path>"), "{text}");
        let text = f.bot.command_text("U0ADMIN", "data add imagenet@v2 gpu03:srv/imagenet").await;
        assert!(text.contains("the path is not absolute"), "{text}");
        let text = f.bot.command_text("U0ADMIN", "data whree imagenet").await;
        assert!(text.contains("not `whree`. Did you mean `where`?"), "{text}");
        assert!(f.gpu01.calls().is_empty(), "{:?}", f.gpu01.calls());
        f.bot.finish().await;
    }
}
