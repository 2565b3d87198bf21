//! The bot's side of launch safety, through the signed HTTP front with a fake agent, on SQLite
//! and PostgreSQL: no launch without a Unix account mapping, the launch reply says how to enter
//! without the Docker group, and `who` shows resource limits.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;

use chrono::Duration;
use fake_agent::{FakeAgent, GIB, container};
use maison_agent_api::{ContainerState, ResourceLimits};
use maison_bot::config::{Config, UnixUserMapping};
use maison_bot::fleet::Fleet;
use maison_tests::{Backend, BotTester, on_both_databases, reply_text, test_config, test_start};

const LIMITS: ResourceLimits = ResourceLimits {
    pids: 4096,
    memory_bytes: 64 * GIB,
    cpu_millis: 8000,
    shm_bytes: 16 * GIB,
};

fn alice_as_uid_1000() -> UnixUserMapping {
    UnixUserMapping {
        slack_user: "U0ALICE".into(),
        unix_user: "alice".into(),
        uid: 1000,
        gid: 1000,
        home: None,
        work: None,
    }
}

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

fn audit_trail(audit: Vec<maison_bot::db::entities::audit::Model>) -> Vec<(String, String)> {
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
    }
}
