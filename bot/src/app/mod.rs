//! The bot's core: one [`App`] that turns a Slack invocation (a slash command or a button click)
//! into a [`Reply`]. Every front — HTTP, Socket Mode, the terminal of `maison-bot try` — calls
//! the same two methods, so they behave identically.
//!
//! Flow of a command: identify the caller (cached Slack profile, for the time zone) → parse
//! (pure) → check the role (one place, [`crate::core::auth`]) → one handler per verb → render.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use maison_command::{BookingEnd, Command, GpuSelection, ParseContext, ReleaseTarget};
use tracing::{Instrument, info, info_span, warn};

use crate::config::{Config, UnixUserMapping};
use crate::core::actions;
use crate::core::auth::{self, Role};
use crate::core::booking::{BookingError, BookingView, Limits, NewBooking};
use crate::core::clock::Clock;
use crate::core::fleet::{Decision, Host, HostState, Removal};
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::Reply;
use crate::core::replies;
use crate::core::rules::GpuWish;
use crate::db::bookings::Actor;
use crate::db::entities::user;
use crate::db::{Db, UserProfileRow};
use crate::ports::{Fleet, SlackApi, SlackApiError, SlackProfile};

/// A slash command as Slack delivers it (HTTP form or Socket Mode envelope).
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub team_id: String,
    pub user_id: String,
    pub channel_id: String,
    /// The text after `/maison`.
    pub text: String,
    pub response_url: Option<String>,
}

/// A button click.
#[derive(Debug, Clone, Default)]
pub struct ActionInvocation {
    pub team_id: String,
    pub user_id: String,
    pub action_id: String,
    pub value: String,
    pub response_url: Option<String>,
}

mod claims;
pub mod fleet;

/// How long a user lookup may take before we go on with the cached or default time zone:
/// Slack wants an answer within 3 s.
const PROFILE_LOOKUP_TIMEOUT: StdDuration = StdDuration::from_millis(1500);

pub struct App {
    pub config: Config,
    pub db: Db,
    pub slack: Arc<dyn SlackApi>,
    pub clock: Arc<dyn Clock>,
    pub fleet: Fleet,
    limits: Limits,
    default_tz: Tz,
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
        }
    }

    /// The agents to drive; without them fleet commands say the host has no agent.
    pub fn with_fleet(mut self, fleet: Fleet) -> Self {
        self.fleet = fleet;
        self
    }

    /// Runs one slash command and returns the reply to show the caller.
    pub async fn handle_command(&self, invocation: &Invocation) -> Reply {
        let request_id = uuid::Uuid::new_v4().to_string();
        let span = info_span!("command", user = %invocation.user_id, text = %invocation.text, request_id = %request_id);
        async {
            let reply = match self.run_command(invocation, &request_id).await {
                Ok(reply) => reply,
                Err(err) => {
                    warn!(error = %format!("{err:#}"), "command failed");
                    replies::internal_error(&request_id)
                }
            };
            info!("answered");
            reply
        }
        .instrument(span)
        .await
    }

    /// Runs one button click; the reply replaces the message that held the button.
    pub async fn handle_action(&self, action: &ActionInvocation) -> Reply {
        let request_id = uuid::Uuid::new_v4().to_string();
        let span = info_span!("action", user = %action.user_id, action = %action.action_id, value = %action.value, request_id = %request_id);
        async {
            match self.run_action(action, &request_id).await {
                Ok(reply) => reply,
                Err(err) => {
                    warn!(error = %format!("{err:#}"), "action failed");
                    replies::internal_error(&request_id)
                }
            }
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
        let command = match maison_command::parse(&invocation.text, &ParseContext { now, tz }) {
            Ok(command) => command,
            Err(err) => return Ok(replies::parse_error(&err)),
        };
        let is_admin = self.is_admin(&user.slack_user_id);
        if auth::required_role(&command) == Role::Admin && !is_admin {
            return Ok(replies::admins_only());
        }
        let ctx = Ctx {
            user: &user,
            tz,
            now,
            is_admin,
            request_id,
            response_url: invocation.response_url.as_deref(),
        };
        self.dispatch(&ctx, command).await
    }

    async fn dispatch(&self, ctx: &Ctx<'_>, command: Command) -> anyhow::Result<Reply> {
        match command {
            Command::Help { topic } => Ok(replies::help(topic.as_deref())),
            Command::Status { host } => self.status(ctx, host.as_deref()).await,
            Command::Book(request) => {
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
                };
                self.book(ctx, &new).await
            }
            Command::BookAny {
                length,
                gpus,
                start,
            } => {
                self.book_any(ctx, length, gpus, start.unwrap_or(ctx.now))
                    .await
            }
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
            Command::Hosts => self.hosts(ctx).await,
            Command::HostDrain { host } => self.set_host_state(ctx, &host, true).await,
            Command::HostUndrain { host } => self.set_host_state(ctx, &host, false).await,
            Command::Jobs(command) => {
                let caller = crate::jobs::Caller {
                    user: &ctx.user.slack_user_id,
                    response_url: ctx.response_url,
                    request_id: ctx.request_id,
                    now: ctx.now,
                };
                crate::jobs::slack_command(self, command, caller).await
            }
            Command::Report { period } => crate::reports::on_demand(self, ctx.now, period).await,
        }
    }

    async fn status(&self, ctx: &Ctx<'_>, host: Option<&str>) -> anyhow::Result<Reply> {
        let hosts = self.listed_hosts().await?;
        if let Some(name) = host
            && !hosts.iter().any(|h| h.name == name)
        {
            return Ok(replies::unknown_host(name, &hosts));
        }
        let now = ctx.now.timestamp();
        let horizon = now + 24 * 3600;
        let bookings = self.db.bookings_overlapping(host, now, horizon).await?;
        let shown: Vec<_> = hosts
            .into_iter()
            .filter(|h| host.is_none_or(|n| n == h.name))
            .collect();
        let live = self.db.host_statuses().await?;
        let agents: Vec<String> = self.fleet.hosts();
        Ok(replies::status_board(
            &shown, &bookings, &live, &agents, now, ctx.tz,
        ))
    }

    pub(super) async fn book(&self, ctx: &Ctx<'_>, request: &NewBooking) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        let announce = |booking: &BookingView| self.announcement(booking, now);
        match self
            .db
            .create_booking_announced(ctx.actor(), request, &self.limits, now, &announce)
            .await
        {
            Ok(booking) => Ok(replies::booked(&booking, now, ctx.tz)),
            Err(err) => self.booking_refusal(ctx, err, Some(request)).await,
        }
    }

    /// Tries the hosts with the most free GPUs first; the first that fits wins.
    async fn book_any(
        &self,
        ctx: &Ctx<'_>,
        length: Duration,
        gpus: u32,
        start: DateTime<Utc>,
    ) -> anyhow::Result<Reply> {
        let start = start.timestamp();
        let end = start + length.num_seconds();
        let mut candidates = Vec::new();
        for host in self.listed_hosts().await? {
            if host.state != HostState::Active || host.gpu_count < gpus {
                continue;
            }
            let busy = self.db.busy_from(&host.name, start).await?;
            let free = crate::core::rules::free_gpus(host.gpu_count, &busy, start, end).len();
            if free >= gpus as usize {
                candidates.push((free, host.name));
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, host) in candidates {
            let request = NewBooking {
                host,
                gpus: GpuWish::Count(gpus),
                start,
                end,
                note: None,
            };
            let now = ctx.now.timestamp();
            let announce = |booking: &BookingView| self.announcement(booking, now);
            match self
                .db
                .create_booking_announced(ctx.actor(), &request, &self.limits, now, &announce)
                .await
            {
                Ok(booking) => {
                    return Ok(replies::booked(&booking, ctx.now.timestamp(), ctx.tz));
                }
                // Someone was faster on this host: try the next one.
                Err(BookingError::Taken { .. }) => continue,
                Err(other) => return self.booking_refusal(ctx, other, None).await,
            }
        }
        let hosts = self.listed_hosts().await?;
        let mut next = None;
        for host in hosts
            .iter()
            .filter(|h| h.state == HostState::Active && h.gpu_count >= gpus)
        {
            let busy = self.db.busy_from(&host.name, start).await?;
            let horizon = start + self.limits.max_ahead;
            if let Some(at) = crate::core::rules::next_free_start(
                &GpuWish::Count(gpus),
                host.gpu_count,
                &busy,
                start,
                end - start,
                horizon,
            ) && next.as_ref().is_none_or(|(t, _)| at < *t)
            {
                next = Some((at, host.name.clone()));
            }
        }
        let refusal = crate::reports::Refusal {
            slack_user: &ctx.user.slack_user_id,
            host: None,
            gpus,
            start,
            end,
        };
        crate::reports::record_refusal(&self.db, refusal, ctx.now.timestamp()).await;
        Ok(replies::nothing_free(
            gpus,
            start,
            end,
            next,
            ctx.now.timestamp(),
            ctx.tz,
        ))
    }

    async fn mine(&self, ctx: &Ctx<'_>, headline: Option<String>) -> anyhow::Result<Reply> {
        let bookings = self
            .db
            .upcoming_bookings_of(ctx.user.id, ctx.now.timestamp())
            .await?;
        Ok(replies::my_bookings(
            headline,
            &bookings,
            ctx.now.timestamp(),
            ctx.tz,
        ))
    }

    async fn end_booking(&self, ctx: &Ctx<'_>, id: i64) -> anyhow::Result<Reply> {
        match self
            .db
            .end_booking(ctx.actor(), id, ctx.now.timestamp())
            .await
        {
            Ok((booking, ending)) => Ok(replies::ended(
                &booking,
                ending,
                ctx.now.timestamp(),
                ctx.tz,
            )),
            Err(err) => self.booking_refusal(ctx, err, None).await,
        }
    }

    async fn release(&self, ctx: &Ctx<'_>, target: Option<ReleaseTarget>) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        let id = match target {
            Some(ReleaseTarget::Booking(id)) => id,
            target => {
                let host = match target {
                    Some(ReleaseTarget::Host(host)) => Some(host),
                    _ => None,
                };
                if let Some(name) = &host {
                    let hosts = self.listed_hosts().await?;
                    if !hosts.iter().any(|h| &h.name == name) {
                        return Ok(replies::unknown_host(name, &hosts));
                    }
                }
                let running: Vec<_> = self
                    .db
                    .upcoming_bookings_of(ctx.user.id, now)
                    .await?
                    .into_iter()
                    .filter(|b| b.start <= now && host.as_ref().is_none_or(|h| &b.host == h))
                    .collect();
                match running.as_slice() {
                    [one] => one.id,
                    [] => return Ok(replies::nothing_to_release(host.as_deref())),
                    several => return Ok(replies::which_to_release(several, now, ctx.tz)),
                }
            }
        };
        self.end_booking(ctx, id).await
    }

    async fn extend(&self, ctx: &Ctx<'_>, id: i64, by: Duration) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        match self
            .db
            .extend_booking(ctx.actor(), id, by.num_seconds(), &self.limits, now)
            .await
        {
            Ok(booking) => Ok(replies::extended(&booking, by, now, ctx.tz)),
            Err(err) => self.booking_refusal(ctx, err, None).await,
        }
    }

    /// Turns a refused booking operation into a helpful reply; database failures stay errors.
    async fn booking_refusal(
        &self,
        ctx: &Ctx<'_>,
        err: BookingError,
        request: Option<&NewBooking>,
    ) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        match err {
            BookingError::Db(db) => Err(db.into()),
            BookingError::UnknownHost(name) => {
                let hosts = self.listed_hosts().await?;
                Ok(replies::unknown_host(&name, &hosts))
            }
            BookingError::Taken { holders } => {
                let Some(request) = request else {
                    return Ok(replies::extension_taken(&holders, now, ctx.tz));
                };
                let hosts = self.listed_hosts().await?;
                let gpu_count = hosts
                    .iter()
                    .find(|h| h.name == request.host)
                    .map_or(0, |h| h.gpu_count);
                let refusal = crate::reports::Refusal {
                    slack_user: &ctx.user.slack_user_id,
                    host: Some(&request.host),
                    gpus: request.gpus.count(gpu_count),
                    start: request.start,
                    end: request.end,
                };
                crate::reports::record_refusal(&self.db, refusal, now).await;
                let busy = self.db.busy_from(&request.host, now).await?;
                let length = request.end - request.start;
                let next = crate::core::rules::next_free_start(
                    &request.gpus,
                    gpu_count,
                    &busy,
                    request.start,
                    length,
                    request.start + self.limits.max_ahead,
                )
                .map(|at| (at, at + length));
                let mut free_now = Vec::new();
                for host in hosts
                    .iter()
                    .filter(|h| h.state == HostState::Active && h.name != request.host)
                {
                    let busy = self.db.busy_from(&host.name, now).await?;
                    let free =
                        crate::core::rules::free_gpus(host.gpu_count, &busy, now, now + 60).len();
                    if free > 0 {
                        free_now.push((host.name.clone(), free));
                    }
                }
                Ok(replies::taken(
                    request, &holders, next, &free_now, now, ctx.tz,
                ))
            }
            other => Ok(replies::booking_refused(&other, now, ctx.tz)),
        }
    }

    async fn run_action(
        &self,
        action: &ActionInvocation,
        request_id: &str,
    ) -> anyhow::Result<Reply> {
        let user = self.identify(&action.team_id, &action.user_id).await?;
        let tz = user.tz.parse().unwrap_or(self.default_tz);
        let now = self.clock.now();
        let is_admin = self.is_admin(&user.slack_user_id);
        let ctx = Ctx {
            user: &user,
            tz,
            now,
            is_admin,
            request_id,
            response_url: action.response_url.as_deref(),
        };
        let parsed_id = action.value.trim_start_matches('#').parse::<i64>();
        if action.action_id == actions::BOOK_NOW {
            return self.book_now(&ctx, &action.value).await;
        }
        let clicker = crate::reminders::Clicker {
            slack_user: &user.slack_user_id,
            is_admin,
            now: now.timestamp(),
            tz,
            request_id,
        };
        match action.action_id.as_str() {
            actions::KEEP_CONTAINER => {
                return crate::reminders::keep_container(self, &clicker, &action.value).await;
            }
            actions::STOP_CONTAINER => {
                return self
                    .stop_or_remove(&ctx, &action.value, Removal::Stop)
                    .await;
            }
            actions::REMOVE_CONTAINER => {
                return self
                    .stop_or_remove(&ctx, &action.value, Removal::Remove)
                    .await;
            }
            actions::REMOVE_IMAGE => {
                return crate::reports::remove_image(self, &clicker, &action.value).await;
            }
            actions::CLAIM_APPROVE => {
                return self
                    .decide_claim(&ctx, &action.value, Decision::Approve)
                    .await;
            }
            actions::CLAIM_DENY => {
                return self.decide_claim(&ctx, &action.value, Decision::Deny).await;
            }
            actions::BOOK_GPU_NOW => {
                return match crate::core::reminders::gpu_booking(&action.value, now.timestamp()) {
                    Some(request) => self.book(&ctx, &request).await,
                    None => Ok(Reply::ephemeral(format!(
                        "That button carries no GPU ({:?}).",
                        action.value
                    ))),
                };
            }
            _ => {}
        }
        let Ok(id) = parsed_id else {
            return Ok(Reply::ephemeral(format!(
                "That button carries no booking id ({:?}).",
                action.value
            )));
        };
        let outcome = match action.action_id.as_str() {
            actions::RELEASE => self.end_booking(&ctx, id).await?,
            actions::EXTEND_1H => self.extend(&ctx, id, Duration::hours(1)).await?,
            actions::REMIND_EXTEND_1H => return self.extend(&ctx, id, Duration::hours(1)).await,
            actions::REMIND_RELEASE => return self.end_booking(&ctx, id).await,
            other => {
                return Ok(Reply::ephemeral(format!(
                    "Unknown button `{other}`; this message may be outdated."
                )));
            }
        };
        // The click's message was a bookings list: show the outcome above the refreshed list.
        self.mine(&ctx, Some(outcome.text)).await
    }

    /// The caller's cached profile, refreshed from Slack when older than the configured TTL.
    /// If Slack is slow or down we go on with what we have (or the default time zone).
    async fn identify(&self, team_id: &str, slack_user_id: &str) -> anyhow::Result<user::Model> {
        let now = self.clock.now().timestamp();
        let cached = self.db.find_user(team_id, slack_user_id).await?;
        let ttl = self.config.slack.profile_ttl.as_secs() as i64;
        if let Some(user) = &cached
            && now - user.profile_fetched_at < ttl
        {
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
        Ok(user)
    }

    /// The Unix account a Slack user's containers run as, if an admin mapped one.
    pub(super) fn unix_mapping(&self, slack_user_id: &str) -> Option<&UnixUserMapping> {
        self.config
            .users
            .iter()
            .find(|u| u.slack_user == slack_user_id)
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

    /// The announcement of a new booking in the configured channel, if there is one. It is
    /// queued in the booking's own transaction, and sent through the outbox, so neither a
    /// crash nor a Slack outage loses it.
    fn announcement(&self, booking: &BookingView, now: i64) -> Option<OutgoingMessage> {
        let channel = self.config.slack.announce_channel.clone()?;
        Some(OutgoingMessage {
            to: Recipient::Channel(channel),
            reply: replies::announcement(booking, now, self.default_tz),
            attachment: None,
        })
    }
}
