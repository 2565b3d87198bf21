//! The wait-list: joining the line (`book … --wait`), `queue`, `unwait`, the offer buttons, and
//! the matching pass that turns freed GPUs into offers.
//!
//! The pass reads the line and the bookings, lets `core::waitlist` rank and place it, and
//! writes each offer in its own transaction (`store::waitlist`). Every write re-checks what it
//! relies on, so two passes at once (two replicas, or a nudge during a tick) cannot offer a
//! request twice or double-book a GPU. Under the matcher's lease, each write also checks the
//! lease's term in its transaction (fencing): a replica that lost the lease writes nothing.

use std::collections::HashMap;

use maison_command::{DatasetRef, Lang, WaitOptions};
use tracing::{info, warn};

use super::{App, ClickAnswer, Ctx};
use crate::core::booking::{BookingError, BookingView, NewBooking};
use crate::core::fleet::HostState;
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::{Block, Reply};
use crate::core::replies::buttons;
use crate::core::replies::waitlist as wait_replies;
use crate::core::rules::{Busy, GpuWish};
use crate::core::waitlist::{
    self, Decision, FairShare, HostCapacity, OfferError, Policy, WaitRow, WaitState,
};
use crate::store::leases::Fence;
use crate::store::waitlist::{NewWait, OfferTerms};

/// What one matching pass did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MatchPass {
    /// Requests offered GPUs (or booked, with `--auto`), by request id.
    pub offered: Vec<i64>,
    /// Offers that ran out: (request id, dropped from the line).
    pub lapsed: Vec<(i64, bool)>,
    /// Requests past their `--within`.
    pub expired: Vec<i64>,
    /// Waiting requests left in line.
    pub waiting: usize,
}

/// The line as the matcher sees it at one instant.
struct LinePlan {
    /// Waiting requests in serving order, each with its decision.
    waiting: Vec<(WaitRow, Decision)>,
    /// Requests holding an offer.
    offered: Vec<WaitRow>,
    hosts: Vec<HostCapacity>,
    busy: HashMap<String, Vec<Busy>>,
}

/// A `book` asking to wait: what the line needs besides the booking.
pub(super) struct WaitWish<'a> {
    pub(super) options: WaitOptions,
    pub(super) min_mem: Option<u64>,
    pub(super) data: Option<&'a DatasetRef>,
    /// `--project`, already checked; `None` takes the caller's default.
    pub(super) project: Option<&'a str>,
}

impl App {
    /// Wakes the matcher: GPUs may have been freed (release, cancel, decline, undrain) or the
    /// line changed.
    pub fn nudge_matcher(&self) {
        self.waitlist_nudge.notify_one();
    }

    /// The matcher's wake-up call, for the loop that runs passes.
    pub fn matcher_nudges(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.waitlist_nudge.clone()
    }

    fn fair_share(&self) -> FairShare {
        let w = &self.config.waitlist;
        FairShare {
            window: w.fair_share_window.as_secs() as i64,
            half_life: w.fair_share_half_life.as_secs() as i64,
            penalty_per_gpu_hour: w.penalty_per_gpu_hour.as_secs() as i64,
        }
    }

    /// Every listed host with what placement needs: GPUs, state, and the smallest GPU memory
    /// its agent reported.
    async fn capacities(&self) -> anyhow::Result<Vec<HostCapacity>> {
        let statuses = self.db.host_statuses().await?;
        Ok(self
            .listed_hosts()
            .await?
            .into_iter()
            .map(|h| {
                let gpu_memory = statuses
                    .iter()
                    .find(|s| s.host == h.name)
                    .and_then(|s| s.readings.iter().filter_map(|r| r.mem_total_bytes).min());
                HostCapacity {
                    active: h.state == HostState::Active,
                    gpu_memory,
                    gpu_count: h.gpu_count,
                    name: h.name,
                }
            })
            .collect())
    }

    async fn plan_line(&self, now: i64) -> anyhow::Result<LinePlan> {
        let open = self.db.open_wait_requests().await?;
        self.plan_of(open, now).await
    }

    /// [`App::plan_line`] for requests already read.
    async fn plan_of(&self, open: Vec<WaitRow>, now: i64) -> anyhow::Result<LinePlan> {
        let hosts = self.capacities().await?;
        let horizon = now + self.limits.max_ahead + 24 * 3600;
        let busy = self.db.busy_by_host(now, horizon).await?;
        let (offered, waiting): (Vec<WaitRow>, Vec<WaitRow>) = open
            .into_iter()
            .partition(|r| r.state == WaitState::Offered);
        let fair = self.fair_share();
        let mut users: Vec<i64> = waiting.iter().map(|r| r.user_id).collect();
        users.sort_unstable();
        users.dedup();
        let usage = self.db.usage_of(&users, now - fair.window, now).await?;
        let mut waiters: Vec<_> = waiting.iter().map(WaitRow::waiter).collect();
        // `--data`: hosts that already hold a complete copy come first.
        if waiting.iter().any(|r| r.dataset.is_some()) {
            let catalog = self.db.dataset_catalog().await?;
            for (waiter, row) in waiters.iter_mut().zip(&waiting) {
                let Some(version) = row
                    .dataset
                    .as_deref()
                    .and_then(|text| catalog.resolve(&dataset_ref(text)).ok())
                else {
                    continue;
                };
                waiter.prefer = catalog
                    .complete_copies(version.id)
                    .iter()
                    .map(|r| r.host.clone())
                    .collect();
            }
        }
        let ranked = waitlist::rank(&waiters, &usage, &fair, Policy::Fair, now);
        let line: Vec<_> = ranked.into_iter().map(|(w, _)| w).collect();
        let decisions = waitlist::place(&hosts, &busy, &line, Policy::Fair, now, horizon);
        let mut rows: HashMap<i64, WaitRow> = waiting.into_iter().map(|r| (r.id, r)).collect();
        let waiting = decisions
            .into_iter()
            .filter_map(|(id, decision)| rows.remove(&id).map(|row| (row, decision)))
            .collect();
        Ok(LinePlan {
            waiting,
            offered,
            hosts,
            busy,
        })
    }

    /// The waiting requests in serving order, as the next pass would see them at `now`.
    pub async fn waiting_line(&self, now: i64) -> anyhow::Result<Vec<WaitRow>> {
        Ok(self
            .plan_line(now)
            .await?
            .waiting
            .into_iter()
            .map(|(row, _)| row)
            .collect())
    }

    /// `book … --wait` whose booking was refused as taken: checks that the line can ever serve
    /// it, then puts it in line and says where it stands.
    pub(super) async fn join_line(
        &self,
        ctx: &Ctx<'_>,
        host: Option<&str>,
        gpus: u32,
        length: i64,
        wish: &WaitWish<'_>,
    ) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        let hosts = self.capacities().await?;
        let probe = waitlist::Waiter {
            id: 0,
            user_id: ctx.user.id,
            host: host.map(str::to_owned),
            gpus,
            length,
            min_mem: wish.min_mem,
            since: now,
            start_by: None,
            prefer: Vec::new(),
        };
        if !hosts.iter().any(|h| h.suits(&probe)) {
            let biggest = hosts
                .iter()
                .filter(|h| h.active)
                .map(|h| h.gpu_count)
                .max()
                .unwrap_or(0);
            return Ok(wait_replies::cannot_wait(
                &wait_replies::nothing_suits(gpus, wish.min_mem, biggest, host, ctx.lang),
                ctx.lang,
            ));
        }
        let start_by = wish
            .options
            .within
            .map(|within| now + within.num_seconds() - length);
        let new = NewWait {
            host: host.map(str::to_owned),
            gpus,
            length,
            min_mem: wish.min_mem,
            dataset: wish.data.map(ToString::to_string),
            auto: wish.options.auto,
            start_by,
            project: self.project_or_default(ctx, wish.project).await?,
        };
        let row = self
            .db
            .join_waitlist(ctx.user, &new, ctx.request_id, now)
            .await?;
        info!(request = row.id, "joined the wait-list");
        let plan = self.plan_line(now).await?;
        let place = plan
            .waiting
            .iter()
            .position(|(r, _)| r.id == row.id)
            .map_or(plan.waiting.len(), |i| i + 1);
        let planned =
            plan.waiting
                .iter()
                .find(|(r, _)| r.id == row.id)
                .and_then(|(_, d)| match d {
                    Decision::Offer(p) | Decision::Wait { planned: Some(p) } => Some(p.clone()),
                    Decision::Wait { planned: None } => None,
                });
        // It may fit right away (the GPUs freed since the booking was refused).
        self.nudge_matcher();
        Ok(wait_replies::joined(
            &row,
            place,
            planned.as_ref(),
            self.config.waitlist.offer_for.as_secs() as i64,
            now,
            ctx.tz,
            ctx.lang,
        ))
    }

    /// `book <host> … --wait`: books now if it fits, else joins the line for that host.
    pub(super) async fn book_or_wait(
        &self,
        ctx: &Ctx<'_>,
        request: &NewBooking,
        wish: &WaitWish<'_>,
    ) -> anyhow::Result<Reply> {
        let hosts = self.capacities().await?;
        let Some(host) = hosts.iter().find(|h| h.name == request.host) else {
            return self.book(ctx, request, wish.data).await;
        };
        if let Some(refusal) = self.memory_refusal(host, wish.min_mem, ctx.lang) {
            return Ok(refusal);
        }
        if !host.active {
            return Ok(crate::core::replies::booking_refused(
                &BookingError::HostDrained(host.name.clone()),
                ctx.now.timestamp(),
                ctx.tz,
            ));
        }
        let gpus = match &request.gpus {
            GpuWish::Count(n) => *n,
            GpuWish::All => host.gpu_count,
            GpuWish::Indexes(_) => {
                return Ok(wait_replies::cannot_wait_by_index(ctx.lang));
            }
        };
        if gpus > host.gpu_count {
            return Ok(wait_replies::cannot_wait(
                &wait_replies::nothing_suits(
                    gpus,
                    None,
                    host.gpu_count,
                    Some(&host.name),
                    ctx.lang,
                ),
                ctx.lang,
            ));
        }
        // Someone already waiting for this host goes first: a newcomer books directly only
        // when nobody waits for it.
        let ahead = self
            .db
            .open_wait_requests()
            .await?
            .iter()
            .any(|r| r.state == WaitState::Waiting && host.suits(&r.waiter()));
        if !ahead {
            match self.try_book(ctx, request).await? {
                Ok(reply) => return Ok(reply),
                Err(BookingError::Taken { .. }) => {}
                Err(other) => {
                    return Ok(crate::core::replies::booking_refused(
                        &other,
                        ctx.now.timestamp(),
                        ctx.tz,
                    ));
                }
            }
        }
        self.join_line(
            ctx,
            Some(&request.host),
            gpus,
            request.end - request.start,
            wish,
        )
        .await
    }

    /// `--min-mem` on one host: refused when its GPUs have less, or have not said.
    pub(super) fn memory_refusal(
        &self,
        host: &HostCapacity,
        min_mem: Option<u64>,
        lang: Lang,
    ) -> Option<Reply> {
        let want = min_mem?;
        match host.gpu_memory {
            Some(have) if have >= want => None,
            have => Some(wait_replies::memory_short(&host.name, have, want, lang)),
        }
    }

    /// `book <host> --min-mem …` without `--wait`: the host's GPUs must have it.
    pub(super) async fn memory_check(
        &self,
        host: &str,
        min_mem: Option<u64>,
        lang: Lang,
    ) -> anyhow::Result<Option<Reply>> {
        if min_mem.is_none() {
            return Ok(None);
        }
        Ok(self
            .capacities()
            .await?
            .iter()
            .find(|h| h.name == host)
            .and_then(|h| self.memory_refusal(h, min_mem, lang)))
    }

    /// Hosts whose GPUs have at least `min_mem` (all hosts without it).
    pub(super) async fn hosts_with_memory(
        &self,
        min_mem: Option<u64>,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let Some(want) = min_mem else {
            return Ok(None);
        };
        Ok(Some(
            self.capacities()
                .await?
                .into_iter()
                .filter(|h| h.gpu_memory.is_some_and(|m| m >= want))
                .map(|h| h.name)
                .collect(),
        ))
    }

    /// `queue`: the line in serving order with predicted starts, then the open offers.
    pub(super) async fn queue(&self, ctx: &Ctx<'_>) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        let plan = self.plan_line(now).await?;
        let mut entries: Vec<wait_replies::InLine> = plan
            .waiting
            .into_iter()
            .enumerate()
            .map(|(i, (row, decision))| wait_replies::InLine {
                row,
                place: Some(i + 1),
                planned: match decision {
                    Decision::Offer(p) | Decision::Wait { planned: Some(p) } => Some(p),
                    Decision::Wait { planned: None } => None,
                },
            })
            .collect();
        entries.extend(plan.offered.into_iter().map(|row| wait_replies::InLine {
            row,
            place: None,
            planned: None,
        }));
        Ok(wait_replies::line(
            &entries,
            ctx.user.id,
            now,
            ctx.tz,
            ctx.lang,
        ))
    }

    /// `unwait <id>`.
    pub(super) async fn unwait(&self, ctx: &Ctx<'_>, id: i64) -> anyhow::Result<Reply> {
        match self
            .db
            .withdraw_wait(
                id,
                ctx.user,
                ctx.is_admin,
                ctx.now.timestamp(),
                ctx.request_id,
            )
            .await
        {
            Ok(row) => {
                self.nudge_matcher();
                Ok(wait_replies::withdrawn(&row, ctx.lang))
            }
            Err(OfferError::Db(err)) => Err(err.into()),
            Err(refusal) => Ok(wait_replies::offer_refused(&refusal, id, ctx.lang)),
        }
    }

    /// The Accept and Decline buttons of an offer DM.
    pub(super) async fn answer_offer(
        &self,
        ctx: &Ctx<'_>,
        value: &str,
        accept: bool,
    ) -> anyhow::Result<ClickAnswer> {
        let Ok(offer_id) = value.parse::<i64>() else {
            return Ok(buttons::no_booking_id(value, ctx.lang).into());
        };
        let now = ctx.now.timestamp();
        if !accept {
            return match self
                .db
                .decline_offer(offer_id, ctx.user, now, ctx.request_id)
                .await
            {
                Ok(row) => {
                    self.nudge_matcher();
                    Ok(wait_replies::declined(&row, ctx.lang).into())
                }
                Err(OfferError::Db(err)) => Err(err.into()),
                Err(refusal) => {
                    Ok(wait_replies::offer_refused(&refusal, offer_id, ctx.lang).into())
                }
            };
        }
        match self
            .db
            .accept_offer(offer_id, ctx.user, now, ctx.request_id)
            .await
        {
            Ok((row, booking)) => {
                self.announce_booking(&booking, now).await;
                let mut reply = wait_replies::accepted(&booking, now, ctx.tz, ctx.lang);
                if let Some(line) = self.stage_dataset(ctx, &row, &booking).await? {
                    reply.text.push('\n');
                    reply.text.push_str(&line);
                    reply = Reply::ephemeral(reply.text);
                }
                Ok(reply.into())
            }
            Err(OfferError::Db(err)) => Err(err.into()),
            Err(refusal) => Ok(wait_replies::offer_refused(&refusal, offer_id, ctx.lang).into()),
        }
    }

    /// The dataset a waiting request asked for (`--data`), copied to the host it was given;
    /// the line to add to the user's answer.
    async fn stage_dataset(
        &self,
        ctx: &Ctx<'_>,
        row: &WaitRow,
        booking: &BookingView,
    ) -> anyhow::Result<Option<String>> {
        let Some(text) = &row.dataset else {
            return Ok(None);
        };
        let wanted = dataset_ref(text);
        let staged = match self.dataset_to_stage(Some(&wanted), ctx.lang).await? {
            Ok(staged) => staged,
            // Removed or not scanned since the request joined the line: say why.
            Err(refusal) => return Ok(Some(refusal.text)),
        };
        let reply = self.booked_with(ctx, booking, staged.as_ref()).await?;
        // `booked_with` adds the dataset's line as the second block, under the booking's.
        Ok(match reply.blocks.get(1) {
            Some(Block::Section(line)) => Some(line.clone()),
            _ => None,
        })
    }

    /// One matching pass at the clock's now: offers that ran out go back, requests past their
    /// `--within` leave, then whoever the plan places now gets an offer (or a booking, with
    /// `--auto`), each with its DM.
    pub async fn match_waitlist(&self, fence: Option<&Fence>) -> anyhow::Result<MatchPass> {
        let now = self.clock.now().timestamp();
        let config = &self.config.waitlist;
        let mut pass = MatchPass::default();
        let tz_of = |row: &WaitRow| row.tz.parse().unwrap_or(self.default_tz);

        for offer_id in self.db.lapsed_offers(now).await? {
            let max = config.max_missed_offers;
            let lapsed = self
                .db
                .lapse_offer(
                    offer_id,
                    max,
                    now,
                    &|row: &WaitRow| {
                        dm(
                            row,
                            wait_replies::offer_lapsed(row, row.state == WaitState::Dropped, max),
                        )
                    },
                    fence,
                )
                .await?;
            if let Some(lapsed) = lapsed {
                info!(
                    request = lapsed.request.id,
                    dropped = lapsed.dropped,
                    "offer ran out"
                );
                pass.lapsed.push((lapsed.request.id, lapsed.dropped));
            }
        }
        for row in self.db.open_wait_requests().await? {
            if row.state == WaitState::Waiting && row.start_by.is_some_and(|by| by < now) {
                let expired = self
                    .db
                    .expire_request(
                        row.id,
                        now,
                        &|row: &WaitRow| dm(row, wait_replies::expired(row)),
                        fence,
                    )
                    .await?;
                if expired.is_some() {
                    pass.expired.push(row.id);
                }
            }
        }

        // Read once more: the expiries above changed the line.
        let open = self.db.open_wait_requests().await?;
        if !open.iter().any(|r| r.state == WaitState::Waiting) {
            // Nobody waits: nothing to place, and no idle time to note.
            self.last_match.lock().unwrap().replace(now);
            return Ok(pass);
        }
        let plan = self.plan_of(open, now).await?;
        let mut given: HashMap<String, Vec<Busy>> = plan.busy.clone();
        let mut still_waiting = 0;
        for (row, decision) in &plan.waiting {
            let Decision::Offer(placement) = decision else {
                still_waiting += 1;
                continue;
            };
            let Some(user) = self.db.user_by_id(row.user_id).await? else {
                continue;
            };
            let held_until = (!row.auto).then(|| now + config.offer_for.as_secs() as i64);
            let tz = tz_of(row);
            let max = config.max_missed_offers;
            let made = self
                .db
                .offer(
                    OfferTerms {
                        request: row,
                        user: &user,
                        placement,
                        held_until,
                    },
                    &self.limits,
                    now,
                    &|stored: &WaitRow, booking: &BookingView| {
                        let reply = match &stored.offer {
                            Some(offer) => {
                                wait_replies::offer(stored, booking, offer.id, max, now, tz)
                            }
                            None => wait_replies::auto_booked(stored, booking, now, tz),
                        };
                        dm(stored, reply)
                    },
                    fence,
                )
                .await;
            match made {
                Ok(Some(booking)) => {
                    info!(
                        request = row.id,
                        booking = booking.id,
                        held = held_until.is_some(),
                        "wait-list offer"
                    );
                    pass.offered.push(row.id);
                    given.entry(placement.host.clone()).or_default().extend(
                        placement.gpus.iter().map(|gpu| Busy {
                            gpu: *gpu,
                            start: placement.start,
                            end: placement.end,
                        }),
                    );
                    if row.auto {
                        self.announce_booking(&booking, now).await;
                        if row.dataset.is_some() {
                            self.stage_for_auto(&user, row, &booking).await;
                        }
                    }
                }
                Ok(None) => {}
                // The GPUs went to a direct booking a moment ago, or the user is at their
                // limit: the request stays in line for the next pass.
                Err(BookingError::Db(err)) => return Err(err.into()),
                Err(refusal) => {
                    info!(request = row.id, reason = %refusal, "wait-list offer not made");
                    still_waiting += 1;
                }
            }
        }
        pass.waiting = still_waiting;
        self.note_idle_while_waiting(&plan.hosts, &given, still_waiting > 0, now)
            .await;
        Ok(pass)
    }

    /// A booking the wait-list made (accepted, or `--auto`) is announced like any other, once
    /// (the outbox de-duplicates on the booking's key). The booking stands if this fails.
    async fn announce_booking(&self, booking: &BookingView, now: i64) {
        let Some(message) = (self.announcer(now))(booking) else {
            return;
        };
        let key = format!("announce:booking:{}", booking.id);
        if let Err(err) = self.db.enqueue(&message, now, Some(&key)).await {
            warn!(error = %err, booking = booking.id, "could not queue the announcement");
        }
    }

    /// With `--auto` and `--data`, the copy starts as soon as the booking is made.
    async fn stage_for_auto(
        &self,
        user: &crate::store::entities::user::Model,
        row: &WaitRow,
        booking: &BookingView,
    ) {
        let ctx = Ctx {
            user,
            tz: row.tz.parse().unwrap_or(self.default_tz),
            now: self.clock.now(),
            is_admin: false,
            request_id: "waitlist",
            response_url: None,
            lang: super::lang_of(user),
        };
        if let Err(err) = self.stage_dataset(&ctx, row, booking).await {
            warn!(error = %format!("{err:#}"), request = row.id, "could not start the dataset copy of an auto booking");
        }
    }

    /// GPU-seconds left free since the last pass while someone waited: the capacity report's
    /// "idle while waiting". Counted from this pass's free GPUs over the time since the last
    /// one (at most two periods, so a stopped bot does not count its downtime).
    async fn note_idle_while_waiting(
        &self,
        hosts: &[HostCapacity],
        busy: &HashMap<String, Vec<Busy>>,
        someone_waits: bool,
        now: i64,
    ) {
        let previous = self.last_match.lock().unwrap().replace(now);
        let Some(previous) = previous else { return };
        if !someone_waits {
            return;
        }
        let period = self.config.waitlist.match_every.as_secs() as i64;
        let elapsed = (now - previous).clamp(0, 2 * period.max(1));
        let free = waitlist::free_now(hosts, busy, now) as i64;
        if let Err(err) = self.db.record_idle_while_waiting(now, free * elapsed).await {
            warn!(error = %err, "could not note idle GPUs while someone waited");
        }
    }

    /// Tries a booking without replying to a refusal yet (the wait-list decides what to say).
    async fn try_book(
        &self,
        ctx: &Ctx<'_>,
        request: &NewBooking,
    ) -> anyhow::Result<Result<Reply, BookingError>> {
        match self.make_booking(ctx, request).await {
            Ok(booking) => Ok(Ok(crate::core::replies::booked(
                &booking,
                ctx.now.timestamp(),
                ctx.tz,
                ctx.lang,
            ))),
            Err(BookingError::Db(err)) => Err(err.into()),
            Err(refusal) => Ok(Err(refusal)),
        }
    }
}

/// A request's dataset as stored (`name` or `name@version`, as typed).
fn dataset_ref(text: &str) -> DatasetRef {
    match text.split_once('@') {
        Some((name, version)) => DatasetRef {
            name: name.to_owned(),
            version: Some(version.to_owned()),
        },
        None => DatasetRef {
            name: text.to_owned(),
            version: None,
        },
    }
}

/// A DM to the request's owner.
fn dm(row: &WaitRow, reply: Reply) -> OutgoingMessage {
    OutgoingMessage {
        to: Recipient::User(row.slack_user_id.clone()),
        reply,
        attachment: None,
    }
}
