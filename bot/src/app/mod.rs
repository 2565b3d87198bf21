//! The app: one [`App`] that turns a Slack invocation (a slash command or a button click) into
//! a [`Reply`]. Every front — HTTP, Socket Mode, the terminal of `maison-bot try` — calls the
//! same two methods, so they behave identically.
//!
//! Flow of a command: identify the caller (cached Slack profile, for the time zone) → parse
//! (`maison-command`, pure) → check the role (one place, [`crate::core::auth`]) → dispatch →
//! one handler per verb (`bookings`, `fleet`, `claims`, `datasets`, `reports`, `jobs`;
//! clicks in `buttons`) → a [`Reply`] that `core` words.
//!
//! Layer: above `ports`, `store` and `core`; it may import those and `config`/`schedule`,
//! never a front (`slack`, `terminal`, `local`, `jobs`, `outbox`, `fleet`).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maison_command::{BookingEnd, Command, GpuSelection, Lang, ParseContext};
use tracing::{Instrument, info, info_span, warn};

use crate::config::{Config, UnixUserMapping};
use crate::core::auth::{self, Role};
use crate::core::booking::{Limits, NewBooking};
use crate::core::clock::Clock;
use crate::core::fleet::{Host, Removal};
use crate::core::render::Reply;
use crate::core::replies;
use crate::core::rules::GpuWish;
use crate::ports::{Fleet, SlackApi, SlackApiError, SlackProfile};
use crate::store::bookings::Actor;
use crate::store::entities::user;
use crate::store::{Db, UserProfileRow};
use crate::telemetry::{self, RequestKind};

/// A slash command as Slack delivers it (HTTP form or Socket Mode envelope).
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub team_id: String,
    pub user_id: String,
    pub channel_id: String,
    /// The text after `/maison`.
    pub text: String,
    pub response_url: Option<String>,
    /// Lets the bot open a form for this command, within 3 s (`views.open`).
    pub trigger_id: Option<String>,
}

/// A button click.
#[derive(Debug, Clone, Default)]
pub struct ActionInvocation {
    pub team_id: String,
    pub user_id: String,
    pub action_id: String,
    pub value: String,
    pub response_url: Option<String>,
    /// The `ts` of the message the button was in (Slack always says; the terminal does not).
    pub message_ts: Option<String>,
    /// The message the button was in, when the click says (the terminal has none).
    pub message: Option<ClickedMessage>,
    /// Lets the bot open a form for this click, within 3 s (`views.open`).
    pub trigger_id: Option<String>,
}

/// The message a clicked button was in, as the click delivered it.
#[derive(Debug, Clone, Default)]
pub struct ClickedMessage {
    pub channel_id: String,
    /// Seen by others: a channel post, not an ephemeral reply or the DM with the bot.
    pub shared: bool,
    /// Its fallback text and Block Kit blocks, to change one line of it.
    pub text: String,
    pub blocks: serde_json::Value,
}

/// What a click comes to.
#[derive(Debug, Clone)]
pub struct ClickAnswer {
    /// For the clicker.
    pub reply: Reply,
    /// When the click dealt with the item its button stood for: the line that replaces the
    /// item's buttons in a shared message, for everyone (e.g. "Removed by @alice").
    pub settled: Option<String>,
}

impl From<Reply> for ClickAnswer {
    fn from(reply: Reply) -> Self {
        ClickAnswer {
            reply,
            settled: None,
        }
    }
}

mod bookings;

use bookings::AnyWish;
mod buttons;
mod catalogue;
mod claims;
mod datasets;
mod fleet;
mod home;
mod images;
pub mod jobs;

pub use datasets::MarginKept;
pub use home::{Shortcut, Submission};
mod projects;
mod reports;
pub mod waitlist;

/// How long a command may take before Slack is told "working on it" (it wants an answer
/// within 3 s) and the reply follows on the command's `response_url`.
pub const INLINE_BUDGET: StdDuration = StdDuration::from_millis(2500);

/// How long a user lookup may take before we go on with the cached or default time zone:
/// Slack wants an answer within 3 s.
const PROFILE_LOOKUP_TIMEOUT: StdDuration = StdDuration::from_millis(1500);
/// How long a user's row is kept in memory before it is read again (the Slack profile in it is
/// refreshed far less often, by `[slack] profile_ttl`).
const PROFILE_MEMORY: StdDuration = StdDuration::from_secs(5);

pub struct App {
    pub config: Config,
    pub db: Db,
    pub slack: Arc<dyn SlackApi>,
    pub clock: Arc<dyn Clock>,
    pub fleet: Fleet,
    limits: Limits,
    default_tz: Tz,
    /// Profiles read or refreshed within their TTL, by (team, Slack user): most commands then
    /// need no statement to know who is asking. Only `identify` writes profiles; `lang` drops
    /// its own user's entry. Each entry is kept [`PROFILE_MEMORY`] at most, so a choice made
    /// through another replica shows here within that time.
    profiles: std::sync::Mutex<
        std::collections::HashMap<(String, String), (std::time::Instant, user::Model)>,
    >,
    /// Wakes the wait-list matcher when GPUs may have been freed.
    waitlist_nudge: Arc<tokio::sync::Notify>,
    /// When the last matching pass ran (for the idle-while-waiting count).
    last_match: std::sync::Mutex<Option<i64>>,
    /// When each user's Home tab was last published, by Slack user id: it is refreshed when
    /// their own state changes and at most once a minute otherwise.
    home_published: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// The projects and everyone's default, read at most every few seconds (see `projects`).
    projects: projects::ProjectCache,
}

/// Everything a handler needs about the request at hand.
pub(crate) struct Ctx<'a> {
    user: &'a user::Model,
    tz: Tz,
    now: DateTime<Utc>,
    is_admin: bool,
    request_id: &'a str,
    /// Where a slow answer (a launch) is delivered; `None` in the terminal, which just waits.
    response_url: Option<&'a str>,
    /// The language replies to this user are written in: see [`lang_of`].
    lang: Lang,
}

impl App {
    /// `lang [en|ja|auto]`: the answer is written in the language the user gets from now on.
    async fn set_language(
        &self,
        ctx: &Ctx<'_>,
        choice: Option<maison_command::LangChoice>,
    ) -> anyhow::Result<Reply> {
        use maison_command::LangChoice;
        use replies::LanguageAnswer;
        let from_slack = slack_lang(ctx.user);
        Ok(match choice {
            None if ctx.user.language.is_some() => {
                replies::language(ctx.lang, LanguageAnswer::CurrentChosen)
            }
            None => replies::language(ctx.lang, LanguageAnswer::CurrentAuto),
            Some(LangChoice::Fixed(lang)) => {
                self.db
                    .set_user_language(ctx.user.id, Some(lang.code()))
                    .await?;
                self.forget_profile(ctx.user);
                replies::language(lang, LanguageAnswer::Set)
            }
            Some(LangChoice::Auto) => {
                self.db.set_user_language(ctx.user.id, None).await?;
                self.forget_profile(ctx.user);
                replies::language(from_slack, LanguageAnswer::Auto)
            }
        })
    }

    /// The language of a user this process has seen, without asking the database (which may be
    /// what failed); English for anyone not seen yet.
    fn remembered_lang(&self, team_id: &str, slack_user_id: &str) -> Lang {
        self.profiles
            .lock()
            .unwrap()
            .get(&(team_id.to_owned(), slack_user_id.to_owned()))
            .map_or(Lang::En, |(_, user)| lang_of(user))
    }

    /// Drops a user's row from memory after this process changed it.
    fn forget_profile(&self, user: &user::Model) {
        self.profiles
            .lock()
            .unwrap()
            .remove(&(user.team_id.clone(), user.slack_user_id.clone()));
    }
}

/// The language a user is answered in: the one they chose with `/maison lang`, else their Slack
/// locale (`ja-*` reads Japanese, anything else or none English), as cached with their profile.
pub(crate) fn lang_of(user: &user::Model) -> Lang {
    Lang::chosen_or_slack(user.language.as_deref(), user.locale.as_deref())
}

/// The language of a user's Slack locale, whatever they chose with `lang`.
fn slack_lang(user: &user::Model) -> Lang {
    Lang::from_slack_locale(user.locale.as_deref().unwrap_or_default())
}

impl Ctx<'_> {
    fn actor(&self) -> Actor<'_> {
        Actor {
            user: self.user,
            is_admin: self.is_admin,
            request_id: self.request_id,
        }
    }
}

impl App {
    pub fn new(config: Config, db: Db, slack: Arc<dyn SlackApi>, clock: Arc<dyn Clock>) -> Self {
        let limits = Limits {
            max_length: config.bookings.max_length.as_secs() as i64,
            max_ahead: config.bookings.max_ahead.as_secs() as i64,
            max_gpus_per_user: config.bookings.max_gpus_per_user,
        };
        let default_tz = config.slack.default_tz.parse().unwrap_or(Tz::UTC);
        Self {
            config,
            db,
            slack,
            clock,
            fleet: Fleet::default(),
            limits,
            default_tz,
            profiles: Default::default(),
            waitlist_nudge: Default::default(),
            last_match: Default::default(),
            home_published: Default::default(),
            projects: Default::default(),
        }
    }

    /// The agents to drive; without them fleet commands say the host has no agent.
    pub fn with_fleet(mut self, fleet: Fleet) -> Self {
        self.fleet = fleet;
        self
    }

    /// Answers a slash command in time for Slack, which wants it within 3 s over HTTP and Socket
    /// Mode alike: the reply if it is ready within [`INLINE_BUDGET`]; otherwise a short "working
    /// on it", and the reply follows on the command's `response_url` when it is ready.
    pub async fn answer_command(self: &Arc<Self>, invocation: Invocation) -> Reply {
        let response_url = invocation.response_url.clone();
        // Only the rare answers given here (a crash, a slow command) need the language.
        let asker = (invocation.team_id.clone(), invocation.user_id.clone());
        let app = self.clone();
        let mut work = tokio::spawn(async move {
            let reply = app.handle_command(&invocation).await;
            // The caller's Home tab, if open, shows what the command changed.
            tokio::spawn(async move {
                app.refresh_home_of(&invocation.team_id, &invocation.user_id)
                    .await
            });
            reply
        });
        match tokio::time::timeout(INLINE_BUDGET, &mut work).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(join_error)) => {
                warn!(error = %join_error, "command task failed");
                replies::internal_error(self.remembered_lang(&asker.0, &asker.1), "-")
            }
            Err(_) => {
                let slack = self.slack.clone();
                tokio::spawn(async move {
                    let Ok(reply) = work.await else { return };
                    let Some(url) = response_url else {
                        warn!("a late reply had no response_url to go to");
                        return;
                    };
                    if let Err(err) = slack.respond(&url, &reply, false).await {
                        warn!(error = %err, "could not deliver a late reply");
                    }
                });
                replies::working_on_it(self.remembered_lang(&asker.0, &asker.1))
            }
        }
    }

    /// Runs one slash command and returns the reply to show the caller.
    pub async fn handle_command(&self, invocation: &Invocation) -> Reply {
        let started = std::time::Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let span = info_span!("command", user = %invocation.user_id, text = %invocation.text, request_id = %request_id);
        async {
            let reply = match self.run_command(invocation, &request_id).await {
                Ok(reply) => reply,
                Err(err) => {
                    warn!(error = %format!("{err:#}"), "command failed");
                    let lang = self.remembered_lang(&invocation.team_id, &invocation.user_id);
                    database_fault(&err, lang)
                        .unwrap_or_else(|| replies::internal_error(lang, &request_id))
                }
            };
            info!("answered");
            telemetry::request_answered(RequestKind::Command, started.elapsed());
            reply
        }
        .instrument(span)
        .await
    }

    /// Runs one button click; the reply replaces the message that held the button.
    pub async fn handle_action(&self, action: &ActionInvocation) -> ClickAnswer {
        let started = std::time::Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let span = info_span!("action", user = %action.user_id, action = %action.action_id, value = %action.value, request_id = %request_id);
        async {
            let answer = match self.run_action(action, &request_id).await {
                Ok(answer) => answer,
                Err(err) => {
                    warn!(error = %format!("{err:#}"), "action failed");
                    let lang = self.remembered_lang(&action.team_id, &action.user_id);
                    database_fault(&err, lang)
                        .unwrap_or_else(|| replies::internal_error(lang, &request_id))
                        .into()
                }
            };
            telemetry::request_answered(RequestKind::Click, started.elapsed());
            answer
        }
        .instrument(span)
        .await
    }

    async fn run_command(
        &self,
        invocation: &Invocation,
        request_id: &str,
    ) -> anyhow::Result<Reply> {
        let user = self
            .identify(&invocation.team_id, &invocation.user_id)
            .await?;
        let tz = user.tz.parse().unwrap_or(self.default_tz);
        let now = self.clock.now();
        if invocation.text.trim().eq_ignore_ascii_case("book")
            && let Some(trigger) = &invocation.trigger_id
            && self.open_booking_form(&user, trigger).await
        {
            return Ok(replies::home::form_opening(lang_of(&user)));
        }
        let lang = lang_of(&user);
        let command = match maison_command::parse(&invocation.text, &ParseContext { now, tz }) {
            Ok(command) => command,
            Err(err) => return Ok(replies::parse_error(&err, lang)),
        };
        let is_admin = self.is_admin(&user.slack_user_id);
        if auth::required_role(&command) == Role::Admin && !is_admin {
            return Ok(replies::admins_only_in(lang));
        }
        let ctx = Ctx {
            user: &user,
            tz,
            now,
            is_admin,
            request_id,
            response_url: invocation.response_url.as_deref(),
            lang,
        };
        self.dispatch(&ctx, command).await
    }

    async fn dispatch(&self, ctx: &Ctx<'_>, command: Command) -> anyhow::Result<Reply> {
        match command {
            Command::Help { topic } => Ok(replies::help(topic.as_deref(), ctx.lang)),
            Command::Status { host } => self.status(ctx, host.as_deref()).await,
            Command::Book(request) => {
                if let Some(refusal) = self
                    .project_refusal(request.project.as_deref(), ctx.lang)
                    .await?
                {
                    return Ok(refusal);
                }
                let start = request.start.unwrap_or(ctx.now);
                let end = match request.end {
                    BookingEnd::After(length) => start + length,
                    BookingEnd::At(end) => end,
                };
                let wish = match request.gpus {
                    GpuSelection::Count(n) => GpuWish::Count(n),
                    GpuSelection::Indexes(list) => GpuWish::Indexes(list),
                    GpuSelection::All => GpuWish::All,
                };
                let new = NewBooking {
                    host: request.host,
                    gpus: wish,
                    start: start.timestamp(),
                    end: end.timestamp(),
                    note: request.note,
                    project: request.project.clone(),
                };
                match request.wait {
                    Some(options) => {
                        let wait = waitlist::WaitWish {
                            options,
                            min_mem: request.min_mem,
                            data: request.data.as_ref(),
                            project: request.project.as_deref(),
                        };
                        self.book_or_wait(ctx, &new, &wait).await
                    }
                    None => {
                        if let Some(refusal) = self
                            .memory_check(&new.host, request.min_mem, ctx.lang)
                            .await?
                        {
                            return Ok(refusal);
                        }
                        self.book(ctx, &new, request.data.as_ref()).await
                    }
                }
            }
            Command::BookAny {
                length,
                gpus,
                start,
                data,
                wait,
                min_mem,
                project,
            } => {
                if let Some(refusal) = self.project_refusal(project.as_deref(), ctx.lang).await? {
                    return Ok(refusal);
                }
                let wish = AnyWish {
                    length,
                    gpus,
                    start: start.unwrap_or(ctx.now),
                    data: data.as_ref(),
                    min_mem,
                    wait,
                    project: project.as_deref(),
                };
                self.book_any(ctx, &wish).await
            }
            Command::Queue => self.queue(ctx).await,
            Command::Unwait { id } => self.unwait(ctx, id).await,
            Command::Mine => self.mine(ctx, None).await,
            Command::Cancel { id } => self.end_booking(ctx, id).await,
            Command::Release { target } => self.release(ctx, target).await,
            Command::Extend { id, by } => self.extend(ctx, id, by).await,
            Command::Launch(request) => self.launch(ctx, request).await,
            Command::Ps { host, all } => self.ps(ctx, host.as_deref(), all).await,
            Command::Stop { container } => {
                self.stop_or_remove(ctx, &container, Removal::Stop).await
            }
            Command::Rm { container } => {
                self.stop_or_remove(ctx, &container, Removal::Remove).await
            }
            Command::Who { target } => self.who(ctx, &target).await,
            Command::Claim { target } => self.claim(ctx, &target).await,
            Command::Images { host } => self.images(ctx, host.as_deref()).await,
            Command::Image(command) => self.image(ctx, command).await,
            Command::Lang { choice } => self.set_language(ctx, choice).await,
            Command::Hosts => self.hosts(ctx).await,
            Command::HostDrain { host } => self.set_host_state(ctx, &host, true).await,
            Command::HostUndrain { host } => self.set_host_state(ctx, &host, false).await,
            Command::Jobs(command) => self.jobs(ctx, command).await,
            Command::Report { period } => self.report(ctx, period).await,
            Command::WhatIf(request) => self.what_if(ctx, request).await,
            Command::Project(command) => self.project(ctx, command).await,
            Command::Data(command) => self.data(ctx, command).await,
        }
    }

    /// The caller's cached profile, refreshed from Slack when older than the configured TTL.
    /// If Slack is slow or down we go on with what we have (or the default time zone).
    async fn identify(&self, team_id: &str, slack_user_id: &str) -> anyhow::Result<user::Model> {
        let now = self.clock.now().timestamp();
        let ttl = self.config.slack.profile_ttl.as_secs() as i64;
        let key = (team_id.to_owned(), slack_user_id.to_owned());
        if let Some((kept_at, user)) = self.profiles.lock().unwrap().get(&key)
            && now - user.profile_fetched_at < ttl
            && kept_at.elapsed() < PROFILE_MEMORY
        {
            return Ok(user.clone());
        }
        let cached = self.db.find_user(team_id, slack_user_id).await?;
        if let Some(user) = &cached
            && now - user.profile_fetched_at < ttl
        {
            self.profiles
                .lock()
                .unwrap()
                .insert(key, (std::time::Instant::now(), user.clone()));
            return Ok(user.clone());
        }
        let fetched = tokio::time::timeout(
            PROFILE_LOOKUP_TIMEOUT,
            self.slack.user_profile(slack_user_id),
        )
        .await
        .unwrap_or_else(|_| {
            Err(SlackApiError::Unavailable(
                "users.info timed out".to_owned(),
            ))
        });
        let fetched_ok = fetched.is_ok();
        let profile = match fetched {
            Ok(profile) => profile,
            Err(err) => {
                warn!(user = slack_user_id, error = %err, "users.info failed; using the cached profile");
                if let Some(user) = cached {
                    return Ok(user);
                }
                // A first-time user while Slack is down: served in the default time zone, and
                // looked up again next time (the stored profile is marked as never fetched).
                SlackProfile {
                    display_name: slack_user_id.to_owned(),
                    tz: None,
                    locale: None,
                }
            }
        };
        let tz = profile
            .tz
            .clone()
            .filter(|tz| tz.parse::<Tz>().is_ok())
            .unwrap_or_else(|| self.default_tz.name().to_owned());
        let user = self
            .db
            .upsert_user(&UserProfileRow {
                team_id,
                slack_user_id,
                display_name: &profile.display_name,
                tz: &tz,
                locale: profile.locale.as_deref(),
                fetched_at: if fetched_ok { now } else { 0 },
            })
            .await?;
        self.profiles
            .lock()
            .unwrap()
            .insert(key, (std::time::Instant::now(), user.clone()));
        Ok(user)
    }

    /// The Unix account a Slack user's containers run as, if an admin mapped one.
    pub(super) fn unix_mapping(&self, slack_user_id: &str) -> Option<&UnixUserMapping> {
        self.config
            .users
            .iter()
            .find(|u| u.slack_user == slack_user_id)
    }

    /// The language of a member who is not the caller (an admin to DM, a requester to answer):
    /// their choice or Slack locale as last cached, English if they never used Maison.
    pub(super) async fn lang_of_member(&self, team_id: &str, slack_user_id: &str) -> Lang {
        match self.db.find_user(team_id, slack_user_id).await {
            Ok(Some(user)) => lang_of(&user),
            _ => Lang::En,
        }
    }

    /// Every admin with the language their DMs are written in.
    pub(super) async fn admins_with_languages(&self, team_id: &str) -> Vec<(String, Lang)> {
        let mut admins = Vec::with_capacity(self.config.bookings.admins.len());
        for admin in &self.config.bookings.admins {
            admins.push((admin.clone(), self.lang_of_member(team_id, admin).await));
        }
        admins
    }

    pub(super) fn is_admin(&self, slack_user_id: &str) -> bool {
        self.config
            .bookings
            .admins
            .iter()
            .any(|a| a == slack_user_id)
    }

    /// Hosts that are in the config (removed ones keep their rows for history).
    pub(super) async fn listed_hosts(&self) -> anyhow::Result<Vec<Host>> {
        Ok(self.db.listed_hosts(&self.config.hosts).await?)
    }
}

/// The answer for a handler that failed because of the database itself (not reachable, or
/// its disk full) rather than a bug: what happened and when trying again will work.
fn database_fault(err: &anyhow::Error, lang: Lang) -> Option<Reply> {
    let mut causes = err
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sea_orm::DbErr>());
    causes.find_map(|db_err| {
        if crate::store::is_unavailable(db_err) {
            Some(replies::database_unavailable(lang))
        } else if crate::store::is_disk_full(db_err) {
            Some(replies::database_disk_full(lang))
        } else {
            None
        }
    })
}
