//! Booking commands: `status`, `book`, `book any`, `mine`, `cancel`, `release`, `extend`, and
//! the replies to a refused booking (who holds it, the next free slot, the hosts free now).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use maison_command::{DatasetRef, ReleaseTarget, WaitOptions};

use super::datasets::CopyOutcome;
use super::{App, Ctx};
use crate::core::booking::{BookingError, BookingView, NewBooking};
use crate::core::datasets::{Catalog, DatasetVersion};
use crate::core::fleet::HostState;
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::Block;
use crate::core::render::Reply;
use crate::core::replies;
use crate::core::replies::datasets as data_replies;
use crate::core::rules::{self, GpuWish};
use crate::store::bookings::Announcer;
use crate::store::reports::Refusal;

/// `book any`: what was asked.
pub(super) struct AnyWish<'a> {
    pub(super) length: Duration,
    pub(super) gpus: u32,
    pub(super) start: DateTime<Utc>,
    pub(super) data: Option<&'a DatasetRef>,
    /// `--min-mem`: only hosts whose GPUs have this much memory.
    pub(super) min_mem: Option<u64>,
    /// `--wait`: join the line when nothing fits.
    pub(super) wait: Option<WaitOptions>,
    /// `--project`, already checked.
    pub(super) project: Option<&'a str>,
}

impl App {
    pub(super) async fn status(&self, ctx: &Ctx<'_>, host: Option<&str>) -> anyhow::Result<Reply> {
        let hosts = self.listed_hosts().await?;
        if let Some(name) = host
            && !hosts.iter().any(|h| h.name == name)
        {
            return Ok(replies::unknown_host_in(name, &hosts, ctx.lang));
        }
        let now = ctx.now.timestamp();
        if host.is_none() {
            let bookings = self.db.bookings_overlapping(None, now, now + 1).await?;
            let live = self.db.host_statuses().await?;
            return Ok(replies::fleet_board(
                &hosts, &bookings, &live, now, ctx.tz, ctx.lang,
            ));
        }
        let horizon = now + 24 * 3600;
        let bookings = self.db.bookings_overlapping(host, now, horizon).await?;
        let shown: Vec<_> = hosts
            .into_iter()
            .filter(|h| host.is_none_or(|n| n == h.name))
            .collect();
        let live = self.db.host_statuses().await?;
        let agents: Vec<String> = self.fleet.hosts();
        Ok(replies::status_board(
            &shown, &bookings, &live, &agents, now, ctx.tz, ctx.lang,
        ))
    }

    /// `book`; with `--data`, the dataset is checked first (a typo books nothing), then
    /// copied to the host once the booking is made.
    pub(super) async fn book(
        &self,
        ctx: &Ctx<'_>,
        request: &NewBooking,
        data: Option<&DatasetRef>,
    ) -> anyhow::Result<Reply> {
        let staged = match self.dataset_to_stage(data, ctx.lang).await? {
            Ok(staged) => staged,
            Err(refusal) => return Ok(refusal),
        };
        match self.make_booking(ctx, request).await {
            Ok(booking) => self.booked_with(ctx, &booking, staged.as_ref()).await,
            Err(err) => self.booking_refusal(ctx, err, Some(request)).await,
        }
    }

    /// Tries the hosts with the most free GPUs first (with `--data`, those holding the dataset
    /// before all others); the first that fits wins.
    pub(super) async fn book_any(
        &self,
        ctx: &Ctx<'_>,
        wish: &AnyWish<'_>,
    ) -> anyhow::Result<Reply> {
        let staged = match self.dataset_to_stage(wish.data, ctx.lang).await? {
            Ok(staged) => staged,
            Err(refusal) => return Ok(refusal),
        };
        let gpus = wish.gpus;
        let start = wish.start.timestamp();
        let end = start + wish.length.num_seconds();
        let with_memory = self.hosts_with_memory(wish.min_mem).await?;
        let has_memory = |name: &str| {
            with_memory
                .as_ref()
                .is_none_or(|hosts| hosts.iter().any(|h| h == name))
        };
        // With `--wait`, those already waiting go first: book directly only if nobody waits.
        let line_ahead = wish.wait.is_some()
            && self
                .db
                .open_wait_requests()
                .await?
                .iter()
                .any(|r| r.state == crate::core::waitlist::WaitState::Waiting);
        let mut candidates = Vec::new();
        for host in self.listed_hosts().await? {
            if host.state != HostState::Active
                || host.gpu_count < gpus
                || !has_memory(&host.name)
                || line_ahead
            {
                continue;
            }
            let busy = self.db.busy_from(&host.name, start).await?;
            let free = rules::free_gpus(host.gpu_count, &busy, start, end).len();
            if free >= gpus as usize {
                let holds = staged.as_ref().is_some_and(|(catalog, v)| {
                    catalog
                        .replica(v.id, &host.name)
                        .is_some_and(|r| r.is_complete())
                });
                candidates.push((holds, free, host.name));
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        for (_, _, host) in candidates {
            let request = NewBooking {
                host,
                gpus: GpuWish::Count(gpus),
                start,
                end,
                note: None,
                project: wish.project.map(str::to_owned),
            };
            match self.make_booking(ctx, &request).await {
                Ok(booking) => return self.booked_with(ctx, &booking, staged.as_ref()).await,
                // Someone was faster on this host: try the next one.
                Err(BookingError::Taken { .. }) => continue,
                Err(other) => return self.booking_refusal(ctx, other, None).await,
            }
        }
        if let Some(options) = wish.wait {
            let wait = super::waitlist::WaitWish {
                options,
                min_mem: wish.min_mem,
                data: wish.data,
                project: wish.project,
            };
            return self.join_line(ctx, None, gpus, end - start, &wait).await;
        }
        let hosts = self.listed_hosts().await?;
        let mut next = None;
        for host in hosts
            .iter()
            .filter(|h| h.state == HostState::Active && h.gpu_count >= gpus && has_memory(&h.name))
        {
            let busy = self.db.busy_from(&host.name, start).await?;
            let horizon = start + self.limits.max_ahead;
            if let Some(at) = rules::next_free_start(
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
        let refusal = Refusal {
            slack_user: &ctx.user.slack_user_id,
            host: None,
            gpus,
            start,
            end,
        };
        self.db.record_refusal(refusal, ctx.now.timestamp()).await;
        Ok(replies::nothing_free(
            gpus,
            start,
            end,
            next,
            ctx.now.timestamp(),
            ctx.tz,
            ctx.lang,
        ))
    }

    /// Books `request` as the caller, under the booking limits, with its announcement queued in
    /// the same transaction: the one way a command, `book any`, the wait-list's first try and
    /// the booking form make a booking.
    pub(super) async fn make_booking(
        &self,
        ctx: &Ctx<'_>,
        request: &NewBooking,
    ) -> Result<BookingView, BookingError> {
        let now = ctx.now.timestamp();
        let filled;
        let request = if request.project.is_none()
            && let Some(project) = self.project_or_default(ctx, None).await?
        {
            filled = NewBooking {
                project: Some(project),
                ..request.clone()
            };
            &filled
        } else {
            request
        };
        self.db
            .create_booking_announced(ctx.actor(), request, &self.limits, now, self.announcer(now))
            .await
    }

    /// The dataset a `--data` booking will need, resolved before anything is booked.
    pub(super) async fn dataset_to_stage(
        &self,
        data: Option<&DatasetRef>,
        lang: maison_command::Lang,
    ) -> anyhow::Result<Result<Option<(Catalog, DatasetVersion)>, Reply>> {
        let Some(wanted) = data else {
            return Ok(Ok(None));
        };
        Ok(match self.resolve(wanted, lang).await? {
            Ok((_, version)) if !version.is_ready() => {
                Err(data_replies::still_scanning(&version, lang))
            }
            Ok(resolved) => Ok(Some(resolved)),
            Err(unresolved) => Err(unresolved),
        })
    }

    /// The booking reply; with a dataset, the booking is linked to it (so its copy there is
    /// kept, and its owner hears whether it is ready when the booking starts) and the copy
    /// starts now.
    pub(super) async fn booked_with(
        &self,
        ctx: &Ctx<'_>,
        booking: &BookingView,
        staged: Option<&(Catalog, DatasetVersion)>,
    ) -> anyhow::Result<Reply> {
        let mut reply = replies::booked(booking, ctx.now.timestamp(), ctx.tz, ctx.lang);
        let Some((catalog, version)) = staged else {
            return Ok(reply);
        };
        self.db.link_booking_dataset(booking.id, version.id).await?;
        let line = match self
            .copy_dataset(ctx, catalog, version, &booking.host, Some(booking.id))
            .await?
        {
            CopyOutcome::Started { sources, evicted } => {
                data_replies::copying(version, &booking.host, &sources, &evicted, ctx.lang).text
            }
            CopyOutcome::AlreadyThere => {
                data_replies::already_there(version, &booking.host, ctx.lang).text
            }
            CopyOutcome::AlreadyCopying(transfer) => {
                data_replies::already_copying(version, &transfer, ctx.lang).text
            }
            CopyOutcome::Refused(refusal) => data_replies::not_staged(&refusal.text, ctx.lang),
        };
        reply.blocks.insert(1, Block::Section(line));
        Ok(reply)
    }

    pub(super) async fn mine(
        &self,
        ctx: &Ctx<'_>,
        headline: Option<String>,
    ) -> anyhow::Result<Reply> {
        let bookings = self
            .db
            .upcoming_bookings_of(ctx.user.id, ctx.now.timestamp())
            .await?;
        Ok(replies::my_bookings(
            headline,
            &bookings,
            ctx.now.timestamp(),
            ctx.tz,
            ctx.lang,
        ))
    }

    pub(super) async fn end_booking(&self, ctx: &Ctx<'_>, id: i64) -> anyhow::Result<Reply> {
        match self
            .db
            .end_booking(ctx.actor(), id, ctx.now.timestamp())
            .await
        {
            Ok((booking, ending)) => {
                // Freed GPUs go to the wait-list first.
                self.nudge_matcher();
                Ok(replies::ended(
                    &booking,
                    ending,
                    ctx.now.timestamp(),
                    ctx.tz,
                    ctx.lang,
                ))
            }
            Err(err) => self.booking_refusal(ctx, err, None).await,
        }
    }

    pub(super) async fn release(
        &self,
        ctx: &Ctx<'_>,
        target: Option<ReleaseTarget>,
    ) -> anyhow::Result<Reply> {
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
                        return Ok(replies::unknown_host_in(name, &hosts, ctx.lang));
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
                    [] => return Ok(replies::nothing_to_release(host.as_deref(), ctx.lang)),
                    several => {
                        return Ok(replies::which_to_release(several, now, ctx.tz, ctx.lang));
                    }
                }
            }
        };
        self.end_booking(ctx, id).await
    }

    pub(super) async fn extend(
        &self,
        ctx: &Ctx<'_>,
        id: i64,
        by: Duration,
    ) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        match self
            .db
            .extend_booking(ctx.actor(), id, by.num_seconds(), &self.limits, now)
            .await
        {
            Ok(booking) => Ok(replies::extended(&booking, by, now, ctx.tz, ctx.lang)),
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
                Ok(replies::unknown_host_in(&name, &hosts, ctx.lang))
            }
            BookingError::Taken { holders } => {
                let Some(request) = request else {
                    return Ok(replies::extension_taken(&holders, now, ctx.tz, ctx.lang));
                };
                let hosts = self.listed_hosts().await?;
                let gpu_count = hosts
                    .iter()
                    .find(|h| h.name == request.host)
                    .map_or(0, |h| h.gpu_count);
                let refusal = Refusal {
                    slack_user: &ctx.user.slack_user_id,
                    host: Some(&request.host),
                    gpus: request.gpus.count(gpu_count),
                    start: request.start,
                    end: request.end,
                };
                self.db.record_refusal(refusal, now).await;
                let busy = self.db.busy_from(&request.host, now).await?;
                let length = request.end - request.start;
                let next = rules::next_free_start(
                    &request.gpus,
                    gpu_count,
                    &busy,
                    request.start,
                    length,
                    request.start + self.limits.max_ahead,
                )
                .map(|at| (at, at + length));
                let busy_now = self.db.busy_by_host(now, now + 60).await?;
                let mut free_now = Vec::new();
                for host in hosts
                    .iter()
                    .filter(|h| h.state == HostState::Active && h.name != request.host)
                {
                    let busy = busy_now.get(&host.name).map_or(&[][..], Vec::as_slice);
                    let free = rules::free_gpus(host.gpu_count, busy, now, now + 60).len();
                    if free > 0 {
                        free_now.push((host.name.clone(), free));
                    }
                }
                Ok(replies::taken(
                    request, &holders, next, &free_now, now, ctx.tz, ctx.lang,
                ))
            }
            other => Ok(replies::booking_refused_in(&other, now, ctx.tz, ctx.lang)),
        }
    }

    /// The announcement of a new booking in the configured channel, if there is one. It is
    /// queued in the booking's own transaction, and sent through the outbox, so neither a
    /// crash nor a Slack outage loses it.
    pub(super) fn announcer(&self, now: i64) -> Arc<Announcer> {
        let channel = self.config.slack.announce_channel.clone();
        let tz = self.default_tz;
        let lang = self.config.slack.channel_language;
        Arc::new(move |booking: &BookingView| {
            Some(OutgoingMessage {
                to: Recipient::Channel(channel.clone()?),
                reply: replies::announcement(booking, now, tz, lang),
                attachment: None,
            })
        })
    }
}
