//! The bot's side of launch safety (docs/security.md, "Bot-side rules"), through the signed
//! HTTP front with a fake agent, on SQLite and PostgreSQL: no launch without a Unix account
//! mapping, the launch reply says how to enter without the Docker group, `who` shows resource
//! limits, and `claim` needs evidence (the container's processes run as the caller's uid) or an
//! admin's approval from a DM with Approve / Deny buttons.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;

use chrono::Duration;
use fake_agent::{FakeAgent, GIB, container, hex_id, image, settle};
use maison_agent_api::{ContainerState, ResourceLimits};
use maison_bot::config::Config;
use maison_bot::core::actions;
use maison_bot::ports::Fleet;
use maison_tests::fake_slack::Call;
use maison_tests::{
    Backend, BotTester, alice_as_uid_1000, buttons, on_both_databases, reply_text, test_config,
    test_start,
};

const LIMITS: ResourceLimits = ResourceLimits {
    pids: 4096,
    memory_bytes: 64 * GIB,
    cpu_millis: 8000,
    shm_bytes: 16 * GIB,
};

/// Alice is mapped to uid 1000, Bob has no mapping; no announcement channel, so bookings post
/// nothing and every Slack message a test sees comes from the rule under test.
fn config(admins: &[&str]) -> Config {
    let mut config = test_config();
    config.slack.announce_channel = None;
    config.bookings.admins = admins.iter().map(|a| a.to_string()).collect();
    config.users = vec![alice_as_uid_1000()];
    config
}

async fn bot_with_agent(backend: Backend, config: Config) -> (BotTester, Arc<FakeAgent>) {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let bot = BotTester::start_with_fleet(backend, config, fleet).await;
    (bot, agent)
}

/// A container made outside Maison (no owner label), running or not.
fn outside(name: &str, state: ContainerState) -> maison_agent_api::ContainerSummary {
    let status = match state {
        ContainerState::Running => "Up 2 days",
        _ => "Exited (0) 1 day ago",
    };
    container(
        name,
        None,
        state,
        status,
        test_start() - Duration::days(2),
        &[],
    )
}

/// A DM as posted: channel, text, and its buttons as `(action_id, value)`.
type Dm = (String, String, Vec<(String, String)>);

/// The DMs among `calls`, sorted by channel.
fn dms(calls: &[Call]) -> Vec<Dm> {
    let mut dms: Vec<_> = calls
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .map(|c| {
            (
                c.args["channel"].as_str().unwrap_or_default().to_owned(),
                c.args["text"].as_str().unwrap_or_default().to_owned(),
                buttons(&c.args),
            )
        })
        .collect();
    dms.sort();
    dms
}

fn audit_trail(audit: Vec<maison_bot::store::entities::audit::Model>) -> Vec<(String, String)> {
    audit.into_iter().map(|a| (a.actor, a.action)).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

on_both_databases! {
    async fn a_launch_without_a_unix_mapping_never_reaches_the_agent(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend, config(&["U0ADMIN"])).await;
        bot.command("U0BOB", "book gpu01 1h").await;
        let text = bot.command_text("U0BOB", "launch gpu01 maison-test/busybox -- sleep 3600").await;
        assert!(text.contains("You have no Unix account mapping, so Maison cannot launch containers for you"), "{text}");
        assert!(text.contains("never run as root or as the image's user"), "{text}");
        assert!(text.contains("[[users]]\nslack_user = \"U0BOB\"\nunix_user = \"…\"\nuid = …\ngid = …"), "{text}");
        assert!(agent.calls().is_empty(), "{:?}", agent.calls());
        assert_eq!(audit_trail(bot.db().audit_log().await.unwrap()), pairs(&[("U0BOB", "book")]));
        bot.finish().await;
    }

    async fn a_mapped_launch_runs_as_the_uid_and_says_how_to_enter(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend, config(&["U0ADMIN"])).await;
        agent.edit(|s| s.launch_limits = Some(LIMITS));
        bot.command("U0ALICE", "book gpu01 1h").await;
        let ack = bot.command_text("U0ALICE", "launch gpu01 maison-test/busybox -- sleep 3600").await;
        assert!(ack.contains("Starting `alice-busybox-b1` on `gpu01`"), "{ack}");
        let done = reply_text(&bot.slack.expect("response_url").await.args);
        assert!(done.contains("`alice-busybox-b1` is running on `gpu01`"), "{done}");
        assert!(
            done.contains("Enter it: `ssh gpu01` then `maison enter alice-busybox-b1` (no Docker group needed)."),
            "{done}"
        );
        assert!(!done.contains("docker exec"), "{done}");
        let launches = agent.state.lock().unwrap().launches.clone();
        assert_eq!(launches.len(), 1);
        assert_eq!((launches[0].uid, launches[0].gid), (Some(1000), Some(1000)));
        assert!(launches[0].mounts.is_empty());
        bot.finish().await;
    }

    async fn who_shows_the_resource_limits(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend, config(&["U0ADMIN"])).await;
        let mut launched = container("alice-train", Some("U0ALICE"), ContainerState::Running, "Up 1 hour", test_start(), &[0]);
        launched.limits = Some(LIMITS);
        agent.edit(|s| s.containers = vec![launched, outside("infra-db", ContainerState::Running)]);
        let who = bot.command_text("U0CAROL", "who alice-train").await;
        assert!(who.contains("Limits: 4,096 processes · 64 GiB memory · 8 CPUs · /dev/shm 16 GiB"), "{who}");
        let who = bot.command_text("U0CAROL", "who infra-db").await;
        assert!(who.contains("Limits: Docker defaults (made outside Maison)"), "{who}");
        bot.finish().await;
    }

    async fn a_claim_with_evidence_or_by_an_admin_is_direct(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend, config(&["U0ADMIN"])).await;
        let notebook = hex_id("alice-notebook");
        agent.edit(|s| {
            s.containers = vec![
                outside("alice-notebook", ContainerState::Running),
                outside("legacy-web", ContainerState::Exited),
            ];
            s.process_uids.insert(notebook.clone(), vec![1000]);
        });
        let text = bot.command_text("U0ALICE", "claim alice-notebook").await;
        assert!(
            text.contains("You now own the container `alice-notebook` on `gpu01`: it was claimed because its processes run as your uid 1000"),
            "{text}"
        );
        assert_eq!(agent.calls(), [format!("processes {notebook}")]);
        // An admin needs no evidence: the agent is not asked.
        let text = bot.command_text("U0ADMIN", "claim legacy-web").await;
        assert!(text.contains("You now own the container `legacy-web` on `gpu01`"), "{text}");
        assert_eq!(agent.calls().len(), 1);
        let mut owners: Vec<(String, String)> =
            bot.db().claims(None).await.unwrap().into_iter().map(|c| (c.object_id, c.owner)).collect();
        owners.sort();
        let mut expected = vec![(notebook.clone(), "U0ALICE".to_owned()), (hex_id("legacy-web"), "U0ADMIN".to_owned())];
        expected.sort();
        assert_eq!(owners, expected);
        let audit = bot.db().audit_log().await.unwrap();
        assert_eq!(audit_trail(audit.clone()), pairs(&[("U0ALICE", "claim"), ("U0ADMIN", "claim")]));
        assert!(audit[0].detail.as_deref().unwrap_or_default().contains("uid 1000"), "{audit:?}");
        // Nobody was asked to approve anything.
        assert!(bot.db().outbox_entries().await.unwrap().is_empty());
        let stopped = bot.command_text("U0ALICE", "stop alice-notebook").await;
        assert!(stopped.contains("Stopped `alice-notebook`"), "{stopped}");
        bot.finish().await;
    }

    async fn a_claim_on_foreign_processes_waits_for_an_admin(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend, config(&["U0ADMIN", "U0CAROL"])).await;
        let infra = hex_id("infra-db");
        agent.edit(|s| {
            s.containers = vec![outside("infra-db", ContainerState::Running)];
            // One of its processes is Alice's, the others root's: not evidence.
            s.process_uids.insert(infra.clone(), vec![0, 1000]);
        });
        let text = bot.command_text("U0ALICE", "claim infra-db").await;
        assert!(text.contains("Asked the admins to approve your claim on the container `infra-db` on `gpu01` (request #1)"), "{text}");
        assert!(text.contains("its processes run as uid 0, 1000, not as <@U0ALICE>'s uid 1000"), "{text}");
        assert!(bot.db().claims(None).await.unwrap().is_empty());
        let asked = dms(&settle(&bot).await);
        let both = pairs(&[(actions::CLAIM_APPROVE, "1"), (actions::CLAIM_DENY, "1")]);
        assert_eq!(asked.len(), 2, "{asked:?}");
        assert_eq!((asked[0].0.as_str(), &asked[0].2), ("DU0ADMIN", &both));
        assert_eq!((asked[1].0.as_str(), &asked[1].2), ("DU0CAROL", &both));
        assert!(asked[0].1.contains("<@U0ALICE> asks to own the container `infra-db` on `gpu01`"), "{asked:?}");

        // Asking again adds nothing.
        let text = bot.command_text("U0ALICE", "claim infra-db").await;
        assert!(text.contains("You already asked for the container `infra-db` on `gpu01` (request #1)"), "{text}");
        let queued = bot.db().outbox_entries().await.unwrap().len();
        assert_eq!(queued, 2);

        // Neither a bystander nor the requester can approve it.
        for member in ["U0BOB", "U0ALICE"] {
            let reply = bot.click(member, actions::CLAIM_APPROVE, "1").await;
            assert!(reply_text(&reply).contains("Only Maison admins"), "{reply}");
        }
        assert_eq!(bot.db().claim_request(1).await.unwrap().unwrap().status, "pending");
        assert!(bot.db().claims(None).await.unwrap().is_empty());
        assert_eq!(bot.db().outbox_entries().await.unwrap().len(), queued);

        let reply = reply_text(&bot.click("U0ADMIN", actions::CLAIM_APPROVE, "1").await);
        assert!(reply.contains("Approved request #1: <@U0ALICE> now owns the container `infra-db` on `gpu01`"), "{reply}");
        let claims = bot.db().claims(None).await.unwrap();
        assert_eq!(claims.len(), 1);
        assert_eq!((claims[0].object_id.as_str(), claims[0].owner.as_str()), (infra.as_str(), "U0ALICE"));
        let request = bot.db().claim_request(1).await.unwrap().unwrap();
        assert_eq!((request.status.as_str(), request.decided_by.as_deref()), ("approved", Some("U0ADMIN")));
        let told = dms(&settle(&bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0ALICE");
        assert!(told[0].1.contains("<@U0ADMIN> approved your claim: you now own the container `infra-db` on `gpu01`"), "{told:?}");

        // The other admin's copy of the DM is now stale: pressing it changes nothing.
        let reply = reply_text(&bot.click("U0CAROL", actions::CLAIM_DENY, "1").await);
        assert!(reply.contains("Request #1 (the container `infra-db` on `gpu01` for <@U0ALICE>) was already approved by <@U0ADMIN>"), "{reply}");
        assert_eq!(bot.db().claim_request(1).await.unwrap().unwrap().status, "approved");
        assert_eq!(bot.db().outbox_entries().await.unwrap().len(), queued + 1);

        let who = bot.command_text("U0BOB", "who infra-db").await;
        assert!(who.contains("owner: <@U0ALICE> (claimed)"), "{who}");
        assert_eq!(
            audit_trail(bot.db().audit_log().await.unwrap()),
            pairs(&[("U0ALICE", "claim request"), ("U0ADMIN", "claim")])
        );
        bot.finish().await;
    }

    async fn a_denied_claim_leaves_it_unowned(backend: Backend) {
        let (bot, agent) = bot_with_agent(backend, config(&["U0ADMIN"])).await;
        agent.edit(|s| {
            s.containers = vec![
                outside("infra-db", ContainerState::Running),
                outside("old-job", ContainerState::Exited),
            ];
            s.process_uids.insert(hex_id("infra-db"), vec![1000]);
            s.images = vec![image("base", &["team/base:1"], 2, None, test_start(), &[])];
        });
        // Bob has no Unix account, so even a container running as someone's uid is no evidence.
        let text = bot.command_text("U0BOB", "claim infra-db").await;
        assert!(text.contains("(request #1)"), "{text}");
        assert!(text.contains("<@U0BOB> has no Unix account mapping"), "{text}");
        // A stopped container and an image have no processes to show whose they are.
        let text = bot.command_text("U0ALICE", "claim old-job").await;
        assert!(text.contains("(request #2)") && text.contains("it is not running"), "{text}");
        let text = bot.command_text("U0ALICE", "claim team/base:1").await;
        assert!(text.contains("(request #3)") && text.contains("images have no processes"), "{text}");
        assert_eq!(agent.calls(), [format!("processes {}", hex_id("old-job"))]);
        let asked = dms(&settle(&bot).await);
        assert_eq!(asked.len(), 3, "{asked:?}");
        assert_eq!(asked.iter().filter(|d| d.0 == "DU0ADMIN").count(), 3, "{asked:?}");

        let reply = reply_text(&bot.click("U0ADMIN", actions::CLAIM_DENY, "1").await);
        assert!(reply.contains("Denied request #1: <@U0BOB> does not get the container `infra-db` on `gpu01`"), "{reply}");
        let told = dms(&settle(&bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0BOB");
        assert!(told[0].1.contains("<@U0ADMIN> denied your claim on the container `infra-db` on `gpu01` (request #1)"), "{told:?}");
        let request = bot.db().claim_request(1).await.unwrap().unwrap();
        assert_eq!((request.status.as_str(), request.decided_by.as_deref()), ("denied", Some("U0ADMIN")));
        assert!(bot.db().claims(None).await.unwrap().is_empty());
        let refused = bot.command_text("U0BOB", "stop infra-db").await;
        assert!(refused.contains("has no owner"), "{refused}");
        let reply = reply_text(&bot.click("U0ADMIN", actions::CLAIM_APPROVE, "1").await);
        assert!(reply.contains("was already denied by <@U0ADMIN>"), "{reply}");
        assert!(bot.db().claims(None).await.unwrap().is_empty());

        // Approving what someone has claimed meanwhile closes the request without effect.
        let text = bot.command_text("U0ADMIN", "claim team/base:1").await;
        assert!(text.contains("You now own the image `team/base:1`"), "{text}");
        let reply = reply_text(&bot.click("U0ADMIN", actions::CLAIM_APPROVE, "3").await);
        assert!(reply.contains("already belongs to <@U0ADMIN>, so request #3 is closed without effect"), "{reply}");
        let told = dms(&settle(&bot).await);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "DU0ALICE");
        assert!(told[0].1.contains("cannot take effect: it already belongs to <@U0ADMIN>"), "{told:?}");
        assert_eq!(bot.db().claim_request(3).await.unwrap().unwrap().status, "denied");
        let owners: Vec<String> = bot.db().claims(None).await.unwrap().into_iter().map(|c| c.owner).collect();
        assert_eq!(owners, ["U0ADMIN"]);
        assert_eq!(
            audit_trail(bot.db().audit_log().await.unwrap()),
            pairs(&[
                ("U0BOB", "claim request"),
                ("U0ALICE", "claim request"),
                ("U0ALICE", "claim request"),
                ("U0ADMIN", "claim deny"),
                ("U0ADMIN", "claim"),
                ("U0ADMIN", "claim deny"),
            ])
        );
        bot.finish().await;
    }
}
