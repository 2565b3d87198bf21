//! The files an admin copies from `config/` must be valid: a broken manifest or example config
//! would be the first thing a new team hits.

use serde_json::Value;

fn manifest() -> Value {
    let text = include_str!("../../config/slack-app-manifest.yaml");
    serde_norway::from_str(text).expect("the Slack app manifest is valid YAML")
}

#[test]
fn manifest_declares_the_command_routes_and_scopes_the_bot_uses() {
    let m = manifest();
    let command = &m["features"]["slash_commands"][0];
    assert_eq!(command["command"], "/maison");
    assert!(
        command["url"]
            .as_str()
            .unwrap()
            .ends_with("/slack/commands")
    );
    assert!(
        m["settings"]["interactivity"]["request_url"]
            .as_str()
            .unwrap()
            .ends_with("/slack/interactions")
    );
    assert!(
        m["settings"]["event_subscriptions"]["request_url"]
            .as_str()
            .unwrap()
            .ends_with("/slack/events")
    );
    assert_eq!(m["settings"]["socket_mode_enabled"], true);
    let scopes: Vec<&str> = m["oauth_config"]["scopes"]["bot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for needed in [
        "commands",
        "chat:write",
        "users:read",
        "im:write",
        "channels:history",
        "groups:history",
        "im:history",
        "files:write",
        "files:read",
    ] {
        assert!(
            scopes.contains(&needed),
            "manifest lacks the {needed} scope"
        );
    }
}

#[test]
fn example_config_parses_with_every_section() {
    let config = maison_bot::config::Config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/maison.example.toml"
    )))
    .expect("config/maison.example.toml parses");
    assert_eq!(config.hosts.len(), 3);
    assert_eq!(config.slack.default_tz, "Europe/Paris");
    assert_eq!(config.bookings.admins, ["U0ADMIN01"]);
    assert_eq!(config.images.len(), 2);
    assert_eq!(config.images[0].name, "pytorch");
    assert_eq!(config.users[0].uid, 1001);
    assert_eq!(
        config.launch.require_booking,
        maison_bot::config::BookingRequirement::Enforce
    );
    assert!(config.agents.ca.is_some());
}

/// `try` launches as its default user: the agent refuses uid/gid 0 and a missing mapping, and
/// mounts only directories the uid owns, so that user needs a non-root mapping without mounts
/// in both configs `try` may read.
#[test]
fn the_try_user_launches_as_a_non_root_account_without_mounts() {
    use maison_bot::local::{DEMO_CONFIG, TRY_USER};
    let example = maison_bot::config::Config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/maison.example.toml"
    )))
    .expect("config/maison.example.toml parses");
    let demo = maison_bot::config::Config::from_toml(DEMO_CONFIG).expect("the demo config parses");
    for (name, config) in [("example", example), ("demo", demo)] {
        let mapping = config
            .users
            .iter()
            .find(|u| u.slack_user == TRY_USER)
            .unwrap_or_else(|| panic!("the {name} config maps no Unix account for {TRY_USER}"));
        assert_ne!(mapping.uid, 0, "{name}");
        assert_ne!(mapping.gid, 0, "{name}");
        assert_eq!((&mapping.home, &mapping.work), (&None, &None), "{name}");
    }
}

#[test]
fn systemd_units_start_the_shipped_binaries() {
    let bot = include_str!("../../config/maison-bot.service");
    assert!(
        bot.contains("ExecStart=/usr/local/bin/maison-bot serve --config /etc/maison/maison.toml")
    );
    let agent = include_str!("../../config/maison-agent.service");
    assert!(
        agent.contains(
            "ExecStart=/usr/local/bin/maison-agent serve --config /etc/maison/agent.toml"
        )
    );
    assert!(agent.contains("check-config"));
}
