//! The bot's configuration: built-in defaults, then a strict TOML file, then the environment.
//! Layer: the bottom, beside `schedule` (which it uses to check `[jobs.schedules]`); it imports
//! nothing else of the crate.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default), secrets are held in
//! [`Secret`] so they never reach a log line, and the shipped example files are parsed by tests.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use maison_command::Lang;
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
    #[serde(default)]
    pub agents: AgentsConfig,
    #[serde(default)]
    pub launch: LaunchConfig,
    /// The curated "house" images, by short name.
    #[serde(default)]
    pub images: Vec<CatalogImage>,
    /// Slack user → Unix user on the hosts (uid/gid, home and work mounts).
    #[serde(default)]
    pub users: Vec<UnixUserMapping>,
    /// Scheduled jobs: time zone, lateness window, schedules (see `docs/jobs.md`).
    #[serde(default)]
    pub jobs: JobsConfig,
    /// Daily and weekly reports, and the reminder DMs.
    #[serde(default)]
    pub reports: ReportsConfig,
    /// The wait-list (`book … --wait`): matching, offers and fair share.
    #[serde(default)]
    pub waitlist: WaitlistConfig,
}

/// How the wait-list serves its line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitlistConfig {
    /// How often the line is matched against free GPUs even when nothing was released (a
    /// booking reaching its end frees GPUs without anyone acting).
    #[serde(default = "default_match_every", with = "humantime_serde")]
    pub match_every: Duration,
    /// How long offered GPUs are held for an answer.
    #[serde(default = "default_offer_for", with = "humantime_serde")]
    pub offer_for: Duration,
    /// Offers a request may miss before it leaves the line.
    #[serde(default = "default_max_missed_offers")]
    pub max_missed_offers: u32,
    /// Waiting time one GPU-hour of recent use costs in the line's order.
    #[serde(default = "default_penalty_per_gpu_hour", with = "humantime_serde")]
    pub penalty_per_gpu_hour: Duration,
    /// Use older than this does not count.
    #[serde(default = "default_fair_share_window", with = "humantime_serde")]
    pub fair_share_window: Duration,
    /// Use counts half as much after this long.
    #[serde(default = "default_fair_share_half_life", with = "humantime_serde")]
    pub fair_share_half_life: Duration,
}

fn default_match_every() -> Duration {
    Duration::from_secs(30)
}
fn default_offer_for() -> Duration {
    Duration::from_secs(600)
}
fn default_max_missed_offers() -> u32 {
    2
}
fn default_penalty_per_gpu_hour() -> Duration {
    Duration::from_secs(600)
}
fn default_fair_share_window() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_fair_share_half_life() -> Duration {
    Duration::from_secs(84 * 3600)
}

impl Default for WaitlistConfig {
    fn default() -> Self {
        Self {
            match_every: default_match_every(),
            offer_for: default_offer_for(),
            max_missed_offers: default_max_missed_offers(),
            penalty_per_gpu_hour: default_penalty_per_gpu_hour(),
            fair_share_window: default_fair_share_window(),
            fair_share_half_life: default_fair_share_half_life(),
        }
    }
}

/// What the reports count and when reminders speak up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// Channel id that gets the daily and weekly reports; none = reports are not posted.
    #[serde(default)]
    pub channel: Option<String>,
    /// An unused image this old is an orphan even when someone owns it.
    #[serde(default = "default_orphan_image_days")]
    pub orphan_image_days: u32,
    /// A dataset copy unused (not mounted) this long is listed in the daily report, with a
    /// Remove button, when other copies of it remain.
    #[serde(default = "default_unused_dataset_days")]
    pub unused_dataset_days: u32,
    /// A container stopped this long is stale (report) and its owner is reminded.
    #[serde(default = "default_stale_container_days")]
    pub stale_container_days: u32,
    /// A running container whose GPUs have been idle this long gets its owner a reminder.
    #[serde(default = "default_idle_gpu_hours")]
    pub idle_gpu_hours: u32,
    /// How long before a booking starts or ends its owner is reminded.
    #[serde(default = "default_reminder_lead", with = "humantime_serde")]
    pub reminder_lead: Duration,
    /// How long "Keep" silences reminders about a container.
    #[serde(default = "default_keep_for", with = "humantime_serde")]
    pub keep_for: Duration,
    /// What a kWh costs; without it the reports show energy but no cost.
    #[serde(default)]
    pub price_per_kwh: Option<f64>,
    /// The currency of `price_per_kwh`, as the reports and the export write it.
    #[serde(default = "default_currency")]
    pub currency: String,
}

impl ReportsConfig {
    /// `keep_for` in whole days, at least one: what the "Keep" button says.
    pub fn keep_days(&self) -> u32 {
        (self.keep_for.as_secs() / 86_400).max(1) as u32
    }
}

fn default_orphan_image_days() -> u32 {
    30
}
fn default_unused_dataset_days() -> u32 {
    30
}
fn default_stale_container_days() -> u32 {
    7
}
fn default_idle_gpu_hours() -> u32 {
    4
}
fn default_reminder_lead() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_keep_for() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_currency() -> String {
    "EUR".to_owned()
}

impl Default for ReportsConfig {
    fn default() -> Self {
        Self {
            channel: None,
            orphan_image_days: default_orphan_image_days(),
            unused_dataset_days: default_unused_dataset_days(),
            stale_container_days: default_stale_container_days(),
            idle_gpu_hours: default_idle_gpu_hours(),
            reminder_lead: default_reminder_lead(),
            keep_for: default_keep_for(),
            price_per_kwh: None,
            currency: default_currency(),
        }
    }
}

/// `[jobs]`: when the scheduled jobs run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// The company time zone schedules are read in (IANA name); defaults to `slack.default_tz`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// A slot missed while the bot was down still runs (once) if it is at most this late.
    #[serde(default = "default_lateness", with = "humantime_serde")]
    pub lateness: Duration,
    /// Job name → cron expression with six fields, seconds first (`"0 0 9 * * Mon-Fri"`), or
    /// `"off"`. Jobs not listed keep their default schedule.
    #[serde(default)]
    pub schedules: std::collections::BTreeMap<String, String>,
}

fn default_lateness() -> Duration {
    Duration::from_secs(30 * 60)
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            timezone: None,
            lateness: default_lateness(),
            schedules: Default::default(),
        }
    }
}

/// How the bot reaches the host agents: mutual TLS with Maison's private CA.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsConfig {
    /// The Maison CA (`maison-bot pki init`); agents' certificates must chain to it.
    #[serde(default)]
    pub ca: Option<std::path::PathBuf>,
    /// The bot's client certificate and key (`maison-bot pki issue-bot`).
    #[serde(default)]
    pub cert: Option<std::path::PathBuf>,
    #[serde(default)]
    pub key: Option<std::path::PathBuf>,
    #[serde(default = "default_agent_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Per call; a launch waits for the container to start.
    #[serde(default = "default_agent_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How often each agent is polled for facts, metrics, containers and images.
    #[serde(default = "default_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// A host is marked unreachable when it has not answered for this long.
    #[serde(default = "default_unreachable_after", with = "humantime_serde")]
    pub unreachable_after: Duration,
    /// Agents polled at the same time.
    #[serde(default = "default_poll_concurrency")]
    pub poll_concurrency: usize,
    /// How often the progress message of a long image copy or build (a DM to whoever asked)
    /// is edited; the first one appears after this long too, so quick work sends none.
    #[serde(default = "default_progress_every", with = "humantime_serde")]
    pub progress_every: Duration,
}

/// Whether `launch` needs a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BookingRequirement {
    /// No booking, no launch (the default).
    #[default]
    Enforce,
    /// Launch anyway (CPU only) with a warning and a Book button.
    Warn,
    /// Launch without GPUs, no remark.
    Off,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LaunchConfig {
    #[serde(default)]
    pub require_booking: BookingRequirement,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogImage {
    /// What users type: `launch gpu01 pytorch`.
    pub name: String,
    /// The image reference on the hosts, e.g. `registry.lan/house/pytorch:2.5-cuda12`.
    pub reference: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixUserMapping {
    pub slack_user: String,
    pub unix_user: String,
    pub uid: u32,
    pub gid: u32,
    /// Mounted read-write at the same path in the container.
    #[serde(default)]
    pub home: Option<String>,
    #[serde(default)]
    pub work: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where the HTTP front (Slack requests, `/healthz`) listens.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where Prometheus scrapes `/metrics` (e.g. `127.0.0.1:9464`), apart from the Slack
    /// routes; none: not served.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// Largest Slack request body accepted; Slack's own payloads are a few KiB.
    #[serde(default = "default_body_limit")]
    pub max_body_bytes: usize,
    /// How long a replica's lease (outbox sender, poller) lasts without renewal: after a
    /// leader dies, another replica takes over within twice this. Leaders renew it every third
    /// of it. Keep it well above a database round trip and a Slack call.
    #[serde(default = "default_lease_timeout", with = "humantime_serde")]
    pub lease_timeout: Duration,
}

fn default_lease_timeout() -> Duration {
    Duration::from_secs(60)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` (the default, a file beside the bot) or `postgres://…`.
    /// `DATABASE_URL` overrides it.
    #[serde(default = "default_database_url")]
    pub url: Secret,
    /// PostgreSQL only: connections opened at start and kept open, also the most the bot uses.
    /// Opening one during a burst (TCP, SCRAM, statements prepared anew) costs the requests
    /// waiting on it tens of milliseconds.
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
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
    /// The language of channel posts (announcements, reports), which many people read: `en`
    /// (the default) or `ja`. A person's own replies follow their Slack locale instead.
    #[serde(default, deserialize_with = "lang_code")]
    pub channel_language: Lang,
}

/// A language code, refused at start-up when Maison does not speak it.
fn lang_code<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Lang, D::Error> {
    let code = String::deserialize(deserializer)?;
    code.parse().map_err(serde::de::Error::custom)
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

fn default_agent_connect_timeout() -> Duration {
    Duration::from_secs(3)
}
fn default_agent_request_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_poll_interval() -> Duration {
    Duration::from_secs(10)
}
fn default_unreachable_after() -> Duration {
    Duration::from_secs(30)
}
fn default_poll_concurrency() -> usize {
    64
}
fn default_progress_every() -> Duration {
    Duration::from_secs(10)
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            ca: None,
            cert: None,
            key: None,
            connect_timeout: default_agent_connect_timeout(),
            request_timeout: default_agent_request_timeout(),
            poll_interval: default_poll_interval(),
            unreachable_after: default_unreachable_after(),
            poll_concurrency: default_poll_concurrency(),
            progress_every: default_progress_every(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 3000))
}
fn default_body_limit() -> usize {
    64 * 1024
}
fn default_pool_size() -> u32 {
    10
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
            metrics_listen: None,
            max_body_bytes: default_body_limit(),
            lease_timeout: default_lease_timeout(),
        }
    }
}
impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: default_database_url(),
            pool_size: default_pool_size(),
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
            channel_language: Lang::default(),
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

    /// The time zone job schedules are read in: `jobs.timezone`, else `slack.default_tz`.
    pub fn company_tz(&self) -> chrono_tz::Tz {
        self.jobs
            .timezone
            .as_deref()
            .unwrap_or(&self.slack.default_tz)
            .parse()
            .unwrap_or(chrono_tz::Tz::UTC)
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
        if let Some(price) = self.reports.price_per_kwh
            && !(price.is_finite() && price >= 0.0)
        {
            bail!(
                "reports.price_per_kwh: {price} is not a price (give a number of at least 0, like 0.25)"
            );
        }
        if self.reports.currency.trim().is_empty() || self.reports.currency.chars().count() > 8 {
            bail!(
                "reports.currency: {:?} is not a currency (give a short code or sign, like \"EUR\" or \"¥\")",
                self.reports.currency
            );
        }
        let mut names = std::collections::HashSet::new();
        for image in &self.images {
            if !names.insert(image.name.as_str()) {
                bail!("images: {:?} is listed twice", image.name);
            }
        }
        for user in &self.users {
            if user.uid == 0 || user.gid == 0 {
                bail!(
                    "users: {} maps to uid/gid 0; containers never run as root",
                    user.slack_user
                );
            }
            if user.uid.max(user.gid) > maison_agent_api::MAX_CONTAINER_ID {
                bail!(
                    "users: {} maps to uid/gid {}:{}; a container runs as 1-{} only",
                    user.slack_user,
                    user.uid,
                    user.gid,
                    maison_agent_api::MAX_CONTAINER_ID
                );
            }
        }
        if let Some(host) = self.hosts.iter().find(|h| h.agent_url.is_some()) {
            let missing: Vec<&str> = [
                ("ca", &self.agents.ca),
                ("cert", &self.agents.cert),
                ("key", &self.agents.key),
            ]
            .iter()
            .filter(|(_, path)| path.is_none())
            .map(|(name, _)| *name)
            .collect();
            if !missing.is_empty() {
                bail!(
                    "hosts: {} has an agent_url, so [agents] needs ca, cert and key (missing: {}); \
                     make them with `maison-bot pki init` and `maison-bot pki issue-bot`",
                    host.name,
                    missing.join(", ")
                );
            }
        }
        if self.server.lease_timeout < Duration::from_secs(1) {
            bail!("server.lease_timeout must be at least 1s");
        }
        if self.database.pool_size == 0 {
            bail!("database.pool_size must be at least 1");
        }
        if self.agents.poll_concurrency == 0 {
            bail!("agents.poll_concurrency must be at least 1");
        }
        if self.reports.keep_for.is_zero() {
            bail!("reports.keep_for must be longer than zero");
        }
        if self.bookings.max_length.is_zero() {
            bail!("bookings.max_length must be longer than zero");
        }
        if let Some(tz) = &self.jobs.timezone
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            bail!(
                "jobs.timezone: unknown time zone {tz:?} (use an IANA name such as Europe/Paris)"
            );
        }
        crate::schedule::check_schedules(&self.jobs.schedules)?;
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
    fn job_schedules_are_checked_by_name() {
        let config = Config::from_toml(
            "[jobs]\ntimezone = \"Europe/Paris\"\nlateness = \"10m\"\n\
             [jobs.schedules]\nmetrics_retention = \"0 15 4 * * Sun\"\n",
        )
        .unwrap();
        assert_eq!(config.jobs.lateness, Duration::from_secs(600));
        let default = Config::from_toml("").unwrap();
        assert_eq!(default.jobs.lateness, Duration::from_secs(1800));
        let err =
            Config::from_toml("[jobs.schedules]\nmetrics_retention = \"0 4 * * *\"\n").unwrap_err();
        assert!(
            err.to_string().contains("jobs.schedules.metrics_retention"),
            "{err}"
        );
        let err = Config::from_toml("[jobs.schedules]\nmetrics_retension = \"off\"\n").unwrap_err();
        assert!(
            err.to_string().contains("jobs.schedules.metrics_retension"),
            "{err}"
        );
        let err = Config::from_toml("[jobs]\ntimezone = \"Paris\"\n").unwrap_err();
        assert!(err.to_string().contains("jobs.timezone"), "{err}");
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
        for ids in ["uid = 0\ngid = 1000", "uid = 4294967295\ngid = 4294967295"] {
            let err = Config::from_toml(&format!(
                "[[users]]\nslack_user = \"U1\"\nunix_user = \"u1\"\n{ids}\n"
            ))
            .unwrap_err();
            assert!(
                err.to_string().contains("users: U1 maps to uid/gid"),
                "{err}"
            );
        }
    }

    #[test]
    fn channel_language_is_english_unless_set() {
        let default = Config::from_toml("").unwrap();
        assert_eq!(default.slack.channel_language, Lang::En);
        let japanese = Config::from_toml("[slack]\nchannel_language = \"ja\"\n").unwrap();
        assert_eq!(japanese.slack.channel_language, Lang::Ja);
        let err = Config::from_toml("[slack]\nchannel_language = \"de\"\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("`de` is not a language"),
            "{err:#}"
        );
    }
}
