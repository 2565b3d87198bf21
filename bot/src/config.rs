//! The bot's configuration: built-in defaults, then a strict TOML file, then the environment.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default), secrets are held in
//! [`Secret`] so they never reach a log line, and the shipped example files are parsed by tests.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// Everything `maison-bot serve` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub slack: SlackConfig,
    #[serde(default)]
    pub bookings: BookingPolicy,
    #[serde(default)]
    pub hosts: Vec<HostConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where the HTTP front (Slack requests, `/healthz`) listens.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest Slack request body accepted; Slack's own payloads are a few KiB.
    #[serde(default = "default_body_limit")]
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` (the default, a file beside the bot) or `postgres://…`.
    /// `DATABASE_URL` overrides it.
    #[serde(default = "default_database_url")]
    pub url: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Base URL of the Web API, without a trailing slash (`SLACK_API_URL`). An on-premises proxy
    /// or a test server can stand in for Slack here.
    #[serde(default = "default_slack_api_url")]
    pub api_url: String,
    /// Channel where new bookings are announced; none by default.
    #[serde(default)]
    pub announce_channel: Option<String>,
    /// Used when Slack does not tell a user's time zone.
    #[serde(default = "default_tz")]
    pub default_tz: String,
    /// `xoxb-…` (`SLACK_BOT_TOKEN`).
    #[serde(default)]
    pub bot_token: Option<Secret>,
    /// Signs every request Slack sends (`SLACK_SIGNING_SECRET`).
    #[serde(default)]
    pub signing_secret: Option<Secret>,
    /// `xapp-…` (`SLACK_APP_TOKEN`): when set, the bot connects over Socket Mode.
    #[serde(default)]
    pub app_token: Option<Secret>,
    /// How long a user's Slack profile (time zone, name) is trusted before it is fetched again.
    #[serde(default = "default_profile_ttl", with = "humantime_serde")]
    pub profile_ttl: Duration,
}

/// Limits on bookings; admins are exempt.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingPolicy {
    #[serde(default = "default_max_length", with = "humantime_serde")]
    pub max_length: Duration,
    /// How far in the future a booking may start.
    #[serde(default = "default_max_ahead", with = "humantime_serde")]
    pub max_ahead: Duration,
    /// Most GPUs one user may hold at any moment.
    #[serde(default = "default_max_gpus_per_user")]
    pub max_gpus_per_user: u32,
    /// Slack user ids (`U…`) allowed to act on anyone's booking and exempt from the limits.
    #[serde(default)]
    pub admins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    pub name: String,
    pub gpus: u32,
    /// `https://host:port` of its maison-agent; the fleet issue connects to it.
    #[serde(default)]
    pub agent_url: Option<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 3000))
}
fn default_body_limit() -> usize {
    64 * 1024
}
fn default_database_url() -> Secret {
    Secret::new("sqlite://maison.db?mode=rwc")
}
fn default_slack_api_url() -> String {
    "https://slack.com/api".to_owned()
}
fn default_tz() -> String {
    "UTC".to_owned()
}
fn default_profile_ttl() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_max_length() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_max_ahead() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}
fn default_max_gpus_per_user() -> u32 {
    4
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            max_body_bytes: default_body_limit(),
        }
    }
}
impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: default_database_url(),
        }
    }
}
impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            api_url: default_slack_api_url(),
            announce_channel: None,
            default_tz: default_tz(),
            bot_token: None,
            signing_secret: None,
            app_token: None,
            profile_ttl: default_profile_ttl(),
        }
    }
}
impl Default for BookingPolicy {
    fn default() -> Self {
        Self {
            max_length: default_max_length(),
            max_ahead: default_max_ahead(),
            max_gpus_per_user: default_max_gpus_per_user(),
            admins: Vec::new(),
        }
    }
}

impl Config {
    /// Parses a TOML document (no environment applied); errors name the offending key.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads the file, then applies the conventional environment variables on top.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut config = Self::from_toml(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        config.apply_env(|name| std::env::var(name).ok());
        config.validate()?;
        Ok(config)
    }

    /// Environment overrides, read once at start-up (never inside handlers).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(url) = var("DATABASE_URL") {
            self.database.url = Secret::new(url);
        }
        if let Some(url) = var("SLACK_API_URL") {
            self.slack.api_url = url.trim_end_matches('/').to_owned();
        }
        if let Some(token) = var("SLACK_BOT_TOKEN") {
            self.slack.bot_token = Some(Secret::new(token));
        }
        if let Some(secret) = var("SLACK_SIGNING_SECRET") {
            self.slack.signing_secret = Some(Secret::new(secret));
        }
        if let Some(token) = var("SLACK_APP_TOKEN") {
            self.slack.app_token = Some(Secret::new(token));
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.slack.default_tz.parse::<chrono_tz::Tz>().is_err() {
            bail!(
                "slack.default_tz: unknown time zone {:?} (use an IANA name such as Europe/Paris)",
                self.slack.default_tz
            );
        }
        let mut seen = std::collections::HashSet::new();
        for host in &self.hosts {
            if !is_valid_host_name(&host.name) {
                bail!(
                    "hosts: {:?} is not a valid host name (lower-case letters, digits, '-', '.', '_')",
                    host.name
                );
            }
            if !seen.insert(host.name.as_str()) {
                bail!("hosts: {:?} is listed twice", host.name);
            }
            if host.gpus > 64 {
                bail!(
                    "hosts: {} claims {} GPUs; at most 64 are supported",
                    host.name,
                    host.gpus
                );
            }
        }
        if self.bookings.max_length.is_zero() {
            bail!("bookings.max_length must be longer than zero");
        }
        Ok(())
    }
}

/// Host names are user input in commands too, so the config holds them to the same shape.
pub fn is_valid_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_'))
}

/// A value that must never be printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../config/maison.example.toml");
        let config = Config::from_toml(text).expect("the shipped example must parse");
        assert!(!config.hosts.is_empty());
        assert_eq!(config.hosts[0].name, "gpu01");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Config::from_toml("[bookings]\nmax_lenght = \"2h\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("max_lenght"), "{err:#}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = Config::from_toml("").unwrap();
        config.apply_env(|name| match name {
            "DATABASE_URL" => Some("postgres://db/maison".into()),
            "SLACK_API_URL" => Some("http://127.0.0.1:9/api/".into()),
            "SLACK_SIGNING_SECRET" => Some("s3cret".into()),
            _ => None,
        });
        assert_eq!(config.database.url.expose(), "postgres://db/maison");
        assert_eq!(config.slack.api_url, "http://127.0.0.1:9/api");
        assert_eq!(
            config.slack.signing_secret.as_ref().unwrap().expose(),
            "s3cret"
        );
        assert!(config.slack.app_token.is_none());
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut config = Config::from_toml("").unwrap();
        config.slack.bot_token = Some(Secret::new("xoxb-very-secret"));
        let printed = format!("{config:?}");
        assert!(!printed.contains("very-secret"));
        assert!(printed.contains("Secret(***)"));
    }

    #[test]
    fn bad_values_are_explained() {
        let err = Config::from_toml("[slack]\ndefault_tz = \"Mars/Olympus\"\n").unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"));
        let err = Config::from_toml("[[hosts]]\nname = \"GPU 1\"\ngpus = 1\n").unwrap_err();
        assert!(err.to_string().contains("not a valid host name"));
        let err = Config::from_toml(
            "[[hosts]]\nname = \"a\"\ngpus = 1\n[[hosts]]\nname = \"a\"\ngpus = 2\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("listed twice"));
    }
}
