//! Wait-list storage: requests, offers (held bookings) and their endings, each change in one
//! write transaction with its audit record and the DM that tells the user.
//!
//! What keeps it right when matchers race (two replicas, or a click during a pass): a request
//! changes state only from the state the writer read (`UPDATE … WHERE state = 'waiting'`,
//! checked by rows affected), an offer is decided only while it is open (`outcome IS NULL`),
//! one open offer per request is a unique index, and a held booking takes its slots like any
//! booking, so the no-overlap guarantee is the bookings' own.

use maison_command::Lang;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, Value};

use super::bookings::{Actor, decide_in, is_overlap_violation, make_view, write_batch};
use super::entities::user;
use super::leases::{Fence, still_leader};
use super::sql::{get, list_of, stmt};
use super::{AuditEntry, Db};
use crate::core::booking::{BookingError, BookingView, Limits, NewBooking};
use crate::core::message::OutgoingMessage;
use crate::core::rules::GpuWish;
use crate::core::waitlist::{OfferError, OpenOffer, Placement, Usage, WaitRow, WaitState};

/// A request to join the line.
#[derive(Debug, Clone)]
pub struct NewWait {
    pub host: Option<String>,
    pub gpus: u32,
    pub length: i64,
    pub min_mem: Option<u64>,
    /// The dataset to copy to the host once booked, as typed (`imagenet@v2`).
    pub dataset: Option<String>,
    pub auto: bool,
    pub start_by: Option<i64>,
    /// The project the booking will serve.
    pub project: Option<String>,
}

/// What the matcher gives a waiting request.
#[derive(Debug, Clone, Copy)]
pub struct OfferTerms<'a> {
    pub request: &'a WaitRow,
    /// The request's owner, who will hold the booking.
    pub user: &'a user::Model,
    pub placement: &'a Placement,
    /// Held for an answer until then; `None` books outright (`--auto`).
    pub held_until: Option<i64>,
}

/// What happened to an offer whose time ran out.
#[derive(Debug, Clone)]
pub struct LapsedOffer {
    pub request: WaitRow,
    /// Missed too often: out of the line.
    pub dropped: bool,
}

/// The message a change sends, made once the row it reports is known (inside the
/// transaction).
pub type Notice<'a> = dyn Fn(&WaitRow) -> OutgoingMessage + Send + Sync + 'a;

/// The message of an offer (or an `--auto` booking), made from the stored request and the
/// booking that holds the GPUs.
pub type OfferNotice<'a> = dyn Fn(&WaitRow, &BookingView) -> OutgoingMessage + Send + Sync + 'a;

const SELECT: &str = "SELECT w.id, w.user_id, u.slack_user_id, u.display_name, u.tz, w.host, \
    w.gpus, w.length_secs, w.min_mem_bytes, w.dataset, w.auto_book, w.created_at, w.start_by, \
    w.state, w.missed_offers, w.booking_id, w.resolved_at, o.id, o.booking_id, o.offered_at, \
    o.expires_at, w.in_line_since, w.project, u.language, u.locale FROM wait_requests w JOIN users u ON u.id = w.user_id \
    LEFT JOIN wait_offers o ON o.request_id = w.id AND o.outcome IS NULL";

fn wait_row(r: &sea_orm::QueryResult) -> Result<WaitRow, DbErr> {
    let offer = match get::<Option<i64>>(r, 17)? {
        Some(id) => Some(OpenOffer {
            id,
            booking_id: get(r, 18)?,
            offered_at: get(r, 19)?,
            expires_at: get(r, 20)?,
        }),
        None => None,
    };
    Ok(WaitRow {
        id: get(r, 0)?,
        user_id: get(r, 1)?,
        slack_user_id: get(r, 2)?,
        display_name: get(r, 3)?,
        tz: get(r, 4)?,
        lang: Lang::chosen_or_slack(
            get::<Option<String>>(r, 23)?.as_deref(),
            get::<Option<String>>(r, 24)?.as_deref(),
        ),
        host: get(r, 5)?,
        gpus: get::<i32>(r, 6)? as u32,
        length: get(r, 7)?,
        min_mem: get::<Option<i64>>(r, 8)?.map(|b| b as u64),
        dataset: get(r, 9)?,
        auto: get(r, 10)?,
        created_at: get(r, 11)?,
        start_by: get(r, 12)?,
        state: {
            let state: String = get(r, 13)?;
            WaitState::parse(&state)
                .ok_or_else(|| DbErr::Custom(format!("unknown wait state {state:?}")))?
        },
        missed_offers: get::<i32>(r, 14)? as u32,
        booking_id: get(r, 15)?,
        resolved_at: get(r, 16)?,
        in_line_since: get(r, 21)?,
        project: get(r, 22)?,
        offer,
    })
}

async fn request_on<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<WaitRow>, DbErr> {
    let backend = conn.get_database_backend();
    conn.query_one_raw(stmt(
        backend,
        &format!("{SELECT} WHERE w.id = ?"),
        vec![id.into()],
    ))
    .await?
    .map(|r| wait_row(&r))
    .transpose()
}

/// A request the transaction has just written or read under its lock: it must be there.
async fn stored(txn: &DatabaseTransaction, id: i64) -> Result<WaitRow, DbErr> {
    request_on(txn, id)
        .await?
        .ok_or_else(|| DbErr::Custom(format!("wait request {id} vanished")))
}

/// Moves a request from `from` to `to`; false when it was no longer in `from`.
async fn move_request(
    txn: &DatabaseTransaction,
    id: i64,
    from: WaitState,
    to: WaitState,
    booking_id: Option<i64>,
    now: i64,
) -> Result<bool, DbErr> {
    let resolved = (!to.is_open()).then_some(now);
    let moved = txn
        .execute_raw(stmt(
            txn.get_database_backend(),
            "UPDATE wait_requests SET state = ?, booking_id = COALESCE(?, booking_id), \
             resolved_at = ? WHERE id = ? AND state = ?",
            vec![
                to.as_str().into(),
                booking_id.into(),
                resolved.into(),
                id.into(),
                from.as_str().into(),
            ],
        ))
        .await?;
    Ok(moved.rows_affected() == 1)
}

/// Ends an open offer with `outcome`; false when it was already decided.
async fn decide_offer(
    txn: &DatabaseTransaction,
    offer_id: i64,
    outcome: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let decided = txn
        .execute_raw(stmt(
            txn.get_database_backend(),
            "UPDATE wait_offers SET outcome = ?, decided_at = ? WHERE id = ? AND outcome IS NULL",
            vec![outcome.into(), now.into(), offer_id.into()],
        ))
        .await?;
    Ok(decided.rows_affected() == 1)
}

/// The offer held by `booking_id`, if open, ends as declined and its request leaves the line:
/// its owner cancelled the held booking instead of pressing Decline.
pub(super) async fn decline_offer_of_booking(
    txn: &DatabaseTransaction,
    booking_id: i64,
    now: i64,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    txn.execute_raw(stmt(
        backend,
        "UPDATE wait_requests SET state = 'declined', resolved_at = ? WHERE state = 'offered' \
         AND id IN (SELECT request_id FROM wait_offers WHERE booking_id = ? AND outcome IS NULL)",
        vec![now.into(), booking_id.into()],
    ))
    .await?;
    txn.execute_raw(stmt(
        backend,
        "UPDATE wait_offers SET outcome = 'declined', decided_at = ? \
         WHERE booking_id = ? AND outcome IS NULL",
        vec![now.into(), booking_id.into()],
    ))
    .await?;
    Ok(())
}

/// Frees a held booking's GPUs: it never started for its owner.
async fn cancel_held(txn: &DatabaseTransaction, booking_id: i64, now: i64) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    txn.execute_raw(stmt(
        backend,
        "UPDATE bookings SET cancelled_at = ?, held_until = NULL WHERE id = ?",
        vec![now.into(), booking_id.into()],
    ))
    .await?;
    txn.execute_raw(stmt(
        backend,
        "UPDATE booking_slots SET active = ? WHERE booking_id = ?",
        vec![false.into(), booking_id.into()],
    ))
    .await?;
    Ok(())
}

async fn audit(
    txn: &DatabaseTransaction,
    now: i64,
    actor: &str,
    action: &str,
    request: &WaitRow,
    request_id: &str,
    detail: Option<String>,
) -> Result<(), DbErr> {
    Db::audit(
        txn,
        now,
        AuditEntry {
            actor,
            action,
            target: format!("wait #{}", request.id),
            outcome: "ok",
            request_id,
            detail,
        },
    )
    .await
}

async fn notify(
    txn: &DatabaseTransaction,
    message: &OutgoingMessage,
    now: i64,
    key: &str,
) -> Result<(), DbErr> {
    Db::enqueue_on(txn, message, now, Some(key)).await?;
    Ok(())
}

impl Db {
    /// Puts a request in line; returns it as stored.
    pub async fn join_waitlist(
        &self,
        user: &user::Model,
        wait: &NewWait,
        request_id: &str,
        now: i64,
    ) -> Result<WaitRow, DbErr> {
        let txn = self.begin_write().await?;
        let backend = txn.get_database_backend();
        let id: i64 = txn
            .query_one_raw(stmt(
                backend,
                "INSERT INTO wait_requests (user_id, host, gpus, length_secs, min_mem_bytes, \
                 dataset, auto_book, created_at, in_line_since, start_by, state, project) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?) RETURNING id",
                vec![
                    user.id.into(),
                    wait.host.clone().into(),
                    (wait.gpus as i32).into(),
                    wait.length.into(),
                    wait.min_mem.map(|b| b as i64).into(),
                    wait.dataset.clone().into(),
                    wait.auto.into(),
                    now.into(),
                    now.into(),
                    wait.start_by.into(),
                    wait.project.clone().into(),
                ],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("INSERT … RETURNING gave no id".into()))
            .and_then(|r| get(&r, 0))?;
        let row = stored(&txn, id).await?;
        let detail = format!(
            "{} GPU(s) on {} for {}s",
            row.gpus,
            row.host.as_deref().unwrap_or("any host"),
            row.length
        );
        audit(
            &txn,
            now,
            &user.slack_user_id,
            "wait",
            &row,
            request_id,
            Some(detail),
        )
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// One request, whatever its state.
    pub async fn wait_request(&self, id: i64) -> Result<Option<WaitRow>, DbErr> {
        request_on(self.connection(), id).await
    }

    /// The line: every request waiting or holding an offer, oldest first.
    pub async fn open_wait_requests(&self) -> Result<Vec<WaitRow>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!("{SELECT} WHERE w.state IN ('waiting', 'offered') ORDER BY w.id"),
                vec![],
            ))
            .await?;
        rows.iter().map(wait_row).collect()
    }

    /// Requests that ended between `from` and `to` (for the capacity report).
    pub async fn wait_requests_resolved(&self, from: i64, to: i64) -> Result<Vec<WaitRow>, DbErr> {
        let rows = self
            .reader()
            .query_all_raw(stmt(
                self.backend(),
                &format!("{SELECT} WHERE w.resolved_at >= ? AND w.resolved_at < ? ORDER BY w.id"),
                vec![from.into(), to.into()],
            ))
            .await?;
        rows.iter().map(wait_row).collect()
    }

    /// How many offers made between `from` and `to` ended each way: accepted, declined,
    /// expired (an offer still open is counted nowhere).
    pub async fn offer_outcomes(&self, from: i64, to: i64) -> Result<(u32, u32, u32), DbErr> {
        let rows = self
            .reader()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT outcome, COUNT(*) FROM wait_offers WHERE offered_at >= ? AND \
                 offered_at < ? AND outcome IS NOT NULL GROUP BY outcome",
                vec![from.into(), to.into()],
            ))
            .await?;
        let mut counts = (0, 0, 0);
        for r in &rows {
            let n = get::<i64>(r, 1)? as u32;
            match get::<String>(r, 0)?.as_str() {
                "accepted" => counts.0 = n,
                "declined" => counts.1 = n,
                _ => counts.2 = n,
            }
        }
        Ok(counts)
    }

    /// Books `placement` for a waiting request: held until `held_until` (an offer), or booked
    /// outright when `None` (`--auto`). In one transaction with the request's new state, the
    /// offer record, the audit record and the DM. `Ok(None)` when the request was no longer
    /// waiting (another pass got there first); a refusal of the booking rules (the GPUs were
    /// just taken, the user's limit) is an error and changes nothing.
    pub async fn offer(
        &self,
        terms: OfferTerms<'_>,
        limits: &Limits,
        now: i64,
        notice: &OfferNotice<'_>,
        fence: Option<&Fence>,
    ) -> Result<Option<BookingView>, BookingError> {
        let OfferTerms {
            request,
            user,
            placement,
            held_until,
        } = terms;
        let txn = self.begin_write().await?;
        if !still_leader(fence, &txn, now).await? {
            // Another replica leads the matching now; it makes this offer if it still stands.
            return Ok(None);
        }
        let to = match held_until {
            Some(_) => WaitState::Offered,
            None => WaitState::Booked,
        };
        if !move_request(&txn, request.id, WaitState::Waiting, to, None, now).await? {
            return Ok(None);
        }
        let actor = Actor {
            user,
            is_admin: false,
            request_id: "waitlist",
        };
        let wish = NewBooking {
            host: placement.host.clone(),
            gpus: GpuWish::Indexes(placement.gpus.clone()),
            start: placement.start,
            end: placement.end,
            note: None,
            project: request.project.clone(),
        };
        let (mut row, gpus) = decide_in(&txn, actor, &wish, limits, now).await?;
        row.held_until = held_until;
        let view = make_view(row.clone(), Some(user));
        let backend = txn.get_database_backend();
        let batch = write_batch(backend, actor, &row, &gpus, now, None);
        let written = txn.execute_unprepared(&batch.join(";\n")).await;
        if let Err(err) = written {
            return Err(if is_overlap_violation(&err) {
                BookingError::Taken {
                    holders: Vec::new(),
                }
            } else {
                err.into()
            });
        }
        txn.execute_raw(stmt(
            backend,
            "UPDATE wait_requests SET booking_id = ? WHERE id = ?",
            vec![row.id.into(), request.id.into()],
        ))
        .await?;
        if let Some(expires_at) = held_until {
            txn.execute_raw(stmt(
                backend,
                "INSERT INTO wait_offers (request_id, booking_id, offered_at, expires_at) \
                 VALUES (?, ?, ?, ?)",
                vec![
                    request.id.into(),
                    row.id.into(),
                    now.into(),
                    expires_at.into(),
                ],
            ))
            .await?;
        }
        let stored = stored(&txn, request.id).await?;
        let action = if held_until.is_some() {
            "offer"
        } else {
            "auto_book"
        };
        audit(
            &txn,
            now,
            "maison",
            action,
            &stored,
            "waitlist",
            Some(format!("booking #{}", row.id)),
        )
        .await?;
        notify(
            &txn,
            &notice(&stored, &view),
            now,
            &format!("waitlist:{action}:{}", row.id),
        )
        .await?;
        match txn.commit().await {
            Ok(()) => Ok(Some(view)),
            Err(err) if is_overlap_violation(&err) => Err(BookingError::Taken {
                holders: Vec::new(),
            }),
            Err(err) => Err(err.into()),
        }
    }

    /// Accepts an open offer: the held booking becomes the user's booking.
    pub async fn accept_offer(
        &self,
        offer_id: i64,
        user: &user::Model,
        now: i64,
        request_id: &str,
    ) -> Result<(WaitRow, BookingView), OfferError> {
        let txn = self.begin_write().await?;
        let (request, booking_id) = self.open_offer_of(&txn, offer_id, user, now).await?;
        if !decide_offer(&txn, offer_id, "accepted", now).await?
            || !move_request(
                &txn,
                request.id,
                WaitState::Offered,
                WaitState::Booked,
                Some(booking_id),
                now,
            )
            .await?
        {
            return Err(OfferError::AlreadyDecided("decided"));
        }
        txn.execute_raw(stmt(
            txn.get_database_backend(),
            "UPDATE bookings SET held_until = NULL WHERE id = ?",
            vec![booking_id.into()],
        ))
        .await?;
        audit(
            &txn,
            now,
            &user.slack_user_id,
            "offer_accept",
            &request,
            request_id,
            Some(format!("booking #{booking_id}")),
        )
        .await?;
        let row = super::entities::booking::Entity::find_by_id(booking_id)
            .one(&txn)
            .await?
            .ok_or_else(|| DbErr::Custom("the held booking vanished".into()))?;
        let view = make_view(row, Some(user));
        txn.commit().await?;
        Ok((request, view))
    }

    /// Declines an open offer: the GPUs go back, and the request leaves the line.
    pub async fn decline_offer(
        &self,
        offer_id: i64,
        user: &user::Model,
        now: i64,
        request_id: &str,
    ) -> Result<WaitRow, OfferError> {
        let txn = self.begin_write().await?;
        let (request, booking_id) = self.open_offer_of(&txn, offer_id, user, now).await?;
        if !decide_offer(&txn, offer_id, "declined", now).await?
            || !move_request(
                &txn,
                request.id,
                WaitState::Offered,
                WaitState::Declined,
                None,
                now,
            )
            .await?
        {
            return Err(OfferError::AlreadyDecided("decided"));
        }
        cancel_held(&txn, booking_id, now).await?;
        audit(
            &txn,
            now,
            &user.slack_user_id,
            "offer_decline",
            &request,
            request_id,
            Some(format!("booking #{booking_id}")),
        )
        .await?;
        txn.commit().await?;
        Ok(request)
    }

    /// The open offer `offer_id` for `user`, with its request and held booking; an offer past
    /// its time counts as expired even before a pass has noted it.
    async fn open_offer_of(
        &self,
        txn: &DatabaseTransaction,
        offer_id: i64,
        user: &user::Model,
        now: i64,
    ) -> Result<(WaitRow, i64), OfferError> {
        let offer = txn
            .query_one_raw(stmt(
                txn.get_database_backend(),
                "SELECT request_id, booking_id, expires_at, outcome FROM wait_offers WHERE id = ?",
                vec![offer_id.into()],
            ))
            .await?
            .ok_or(OfferError::NotFound)?;
        let request_of: i64 = get(&offer, 0)?;
        let booking_id: i64 = get(&offer, 1)?;
        let expires_at: i64 = get(&offer, 2)?;
        let request = request_on(txn, request_of)
            .await?
            .ok_or(OfferError::NotFound)?;
        if request.user_id != user.id {
            return Err(OfferError::NotYours);
        }
        match get::<Option<String>>(&offer, 3)?.as_deref() {
            Some("accepted") => return Err(OfferError::AlreadyDecided("accepted")),
            Some("declined") => return Err(OfferError::AlreadyDecided("declined")),
            Some(_) => return Err(OfferError::AlreadyDecided("expired")),
            None if expires_at <= now => return Err(OfferError::AlreadyDecided("expired")),
            None => {}
        }
        Ok((request, booking_id))
    }

    /// Offers whose time is up, at `now`.
    pub async fn lapsed_offers(&self, now: i64) -> Result<Vec<i64>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT id FROM wait_offers WHERE outcome IS NULL AND expires_at <= ? ORDER BY id",
                vec![now.into()],
            ))
            .await?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    /// Ends an offer whose time is up: its GPUs go back (to the next in line); the request
    /// returns to the back of the line, or is dropped after `max_missed` missed offers. The
    /// DM is queued in the same transaction. `None` when it was decided meanwhile.
    pub async fn lapse_offer(
        &self,
        offer_id: i64,
        max_missed: u32,
        now: i64,
        notice: &Notice<'_>,
        fence: Option<&Fence>,
    ) -> Result<Option<LapsedOffer>, DbErr> {
        let txn = self.begin_write().await?;
        if !still_leader(fence, &txn, now).await? {
            return Ok(None);
        }
        let backend = txn.get_database_backend();
        let Some(offer) = txn
            .query_one_raw(stmt(
                backend,
                "SELECT request_id, booking_id FROM wait_offers WHERE id = ? AND outcome IS NULL",
                vec![offer_id.into()],
            ))
            .await?
        else {
            return Ok(None);
        };
        let (request_id, booking_id): (i64, i64) = (get(&offer, 0)?, get(&offer, 1)?);
        if !decide_offer(&txn, offer_id, "expired", now).await? {
            return Ok(None);
        }
        cancel_held(&txn, booking_id, now).await?;
        txn.execute_raw(stmt(
            backend,
            "UPDATE wait_requests SET missed_offers = missed_offers + 1, in_line_since = ? \
             WHERE id = ?",
            vec![now.into(), request_id.into()],
        ))
        .await?;
        let missed = stored(&txn, request_id).await?.missed_offers;
        let dropped = missed >= max_missed;
        let to = if dropped {
            WaitState::Dropped
        } else {
            WaitState::Waiting
        };
        if !move_request(&txn, request_id, WaitState::Offered, to, None, now).await? {
            return Ok(None);
        }
        let request = stored(&txn, request_id).await?;
        audit(
            &txn,
            now,
            "maison",
            if dropped {
                "offer_expire_drop"
            } else {
                "offer_expire"
            },
            &request,
            "waitlist",
            Some(format!("booking #{booking_id}")),
        )
        .await?;
        notify(
            &txn,
            &notice(&request),
            now,
            &format!("waitlist:lapsed:{offer_id}"),
        )
        .await?;
        txn.commit().await?;
        Ok(Some(LapsedOffer { request, dropped }))
    }

    /// Takes a waiting request past its `--within` out of the line, with its DM. `None` when
    /// it was no longer waiting.
    pub async fn expire_request(
        &self,
        id: i64,
        now: i64,
        notice: &Notice<'_>,
        fence: Option<&Fence>,
    ) -> Result<Option<WaitRow>, DbErr> {
        let txn = self.begin_write().await?;
        if !still_leader(fence, &txn, now).await?
            || !move_request(&txn, id, WaitState::Waiting, WaitState::Expired, None, now).await?
        {
            return Ok(None);
        }
        let request = stored(&txn, id).await?;
        audit(
            &txn,
            now,
            "maison",
            "wait_expire",
            &request,
            "waitlist",
            None,
        )
        .await?;
        notify(
            &txn,
            &notice(&request),
            now,
            &format!("waitlist:expired:{id}"),
        )
        .await?;
        txn.commit().await?;
        Ok(Some(request))
    }

    /// `unwait`: the owner (or an admin) takes a request out of the line; an open offer's
    /// GPUs go back.
    pub async fn withdraw_wait(
        &self,
        id: i64,
        user: &user::Model,
        is_admin: bool,
        now: i64,
        request_id: &str,
    ) -> Result<WaitRow, OfferError> {
        let txn = self.begin_write().await?;
        let request = request_on(&txn, id).await?.ok_or(OfferError::NotFound)?;
        if request.user_id != user.id && !is_admin {
            return Err(OfferError::NotYours);
        }
        if !request.state.is_open() {
            return Err(OfferError::AlreadyDecided(request.state.as_str()));
        }
        if let Some(offer) = &request.offer {
            if !decide_offer(&txn, offer.id, "declined", now).await? {
                return Err(OfferError::AlreadyDecided("decided"));
            }
            cancel_held(&txn, offer.booking_id, now).await?;
        }
        if !move_request(&txn, id, request.state, WaitState::Withdrawn, None, now).await? {
            return Err(OfferError::AlreadyDecided("decided"));
        }
        audit(
            &txn,
            now,
            &user.slack_user_id,
            "unwait",
            &request,
            request_id,
            None,
        )
        .await?;
        txn.commit().await?;
        Ok(request)
    }

    /// GPU-seconds that stood free while someone waited, noted by a matching pass.
    pub async fn record_idle_while_waiting(&self, at: i64, gpu_seconds: i64) -> Result<(), DbErr> {
        if gpu_seconds <= 0 {
            return Ok(());
        }
        self.connection()
            .execute_raw(stmt(
                self.backend(),
                "INSERT INTO waitlist_idle (at, gpu_seconds) VALUES (?, ?)",
                vec![at.into(), gpu_seconds.into()],
            ))
            .await?;
        Ok(())
    }

    /// GPU-seconds noted free while someone waited, between `from` and `to`.
    pub async fn idle_while_waiting(&self, from: i64, to: i64) -> Result<i64, DbErr> {
        let row = self
            .reader()
            .query_one_raw(stmt(
                self.backend(),
                "SELECT CAST(COALESCE(SUM(gpu_seconds), 0) AS BIGINT) FROM waitlist_idle \
                 WHERE at >= ? AND at < ?",
                vec![from.into(), to.into()],
            ))
            .await?;
        Ok(match row {
            Some(r) => get::<i64>(&r, 0)?,
            None => 0,
        })
    }

    /// The users' bookings that overlap `[from, now]`, for fair share (held offers included:
    /// holding GPUs is using them).
    pub async fn usage_of(&self, users: &[i64], from: i64, now: i64) -> Result<Vec<Usage>, DbErr> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut values: Vec<Value> = users.iter().map(|u| (*u).into()).collect();
        values.extend([now.into(), from.into()]);
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!(
                    "SELECT user_id, start_at, end_at, gpus FROM bookings WHERE user_id IN ({}) \
                     AND cancelled_at IS NULL AND start_at < ? AND end_at > ?",
                    list_of(users.len())
                ),
                values,
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Usage {
                    user_id: get(r, 0)?,
                    start: get(r, 1)?,
                    end: get(r, 2)?,
                    gpus: crate::core::gpus::parse_gpu_list(&get::<String>(r, 3)?).len() as u32,
                })
            })
            .collect()
    }
}
