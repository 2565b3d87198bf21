//! Booking storage: create, cancel/release and extend, each in one write transaction that also
//! appends the audit record, plus the read models used by replies (my bookings, the board).
//!
//! The guarantee "no two active bookings overlap on a (host, GPU)" comes from the database:
//! SQLite runs every booking write in a `BEGIN IMMEDIATE` transaction, so the check and the write
//! are serialised; PostgreSQL additionally has an exclusion constraint, and a transaction that
//! loses the race gets SQLSTATE 23P01, which is reported as an ordinary "taken".

use std::collections::HashMap;

use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, TransactionTrait,
};

use super::entities::{booking, booking_slot, host, user};
use super::{AuditEntry, Db, sqlstate};
use crate::core::booking::{BookingError, BookingHolder, BookingView, Ending, Limits, NewBooking};
use crate::core::gpus::{format_gpu_list, parse_gpu_list};
use crate::core::message::OutgoingMessage;
use crate::core::rules::{self, Busy, GpuWish};

/// Who asks, for authorisation and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user: &'a user::Model,
    pub is_admin: bool,
    pub request_id: &'a str,
}

/// Makes the announcement of a new booking, or `None` when there is nothing to announce.
pub type Announcer<'a> = dyn Fn(&BookingView) -> Option<OutgoingMessage> + Sync + 'a;

/// Grace for "now": a booking for "now" parsed a moment ago must not count as in the past.
const PAST_GRACE_SECS: i64 = 60;
/// How many times a `Count` booking retries after losing a PostgreSQL race to other GPUs.
const RACE_RETRIES: usize = 3;

impl Db {
    /// Books GPUs. A lost race is `Taken`, never a database error.
    pub async fn create_booking(
        &self,
        actor: Actor<'_>,
        request: &NewBooking,
        limits: &Limits,
        now: i64,
    ) -> Result<BookingView, BookingError> {
        self.create_booking_announced(actor, request, limits, now, &|_| None)
            .await
    }

    /// Books GPUs and, in the same transaction, queues the message `announce` makes of the
    /// booking (if any): a crash can lose neither one without the other.
    pub async fn create_booking_announced(
        &self,
        actor: Actor<'_>,
        request: &NewBooking,
        limits: &Limits,
        now: i64,
        announce: &Announcer<'_>,
    ) -> Result<BookingView, BookingError> {
        if request.start < now - PAST_GRACE_SECS || request.end <= now {
            return Err(BookingError::InPast);
        }
        if !actor.is_admin {
            if request.end - request.start > limits.max_length {
                return Err(BookingError::TooLong {
                    max: limits.max_length,
                });
            }
            if request.start - now > limits.max_ahead {
                return Err(BookingError::TooFarAhead {
                    max: limits.max_ahead,
                });
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let txn = self.begin_write().await?;
            match create_in(&txn, actor, request, limits, now).await {
                Ok(view) => {
                    if let Some(message) = announce(&view) {
                        let key = format!("announce:booking:{}", view.id);
                        Db::enqueue_on(&txn, &message, now, Some(&key)).await?;
                    }
                    txn.commit().await.map_err(|e| self.race_or_error(e))?;
                    return Ok(view);
                }
                Err(BookingError::Db(err)) if is_overlap_violation(&err) => {
                    drop(txn);
                    let retry = matches!(request.gpus, GpuWish::Count(_)) && attempt < RACE_RETRIES;
                    if !retry {
                        let holders = self
                            .holders(&request.host, request.start, request.end, None)
                            .await?;
                        return Err(BookingError::Taken { holders });
                    }
                }
                Err(other) => return Err(other),
            }
        }
    }

    fn race_or_error(&self, err: DbErr) -> BookingError {
        if is_overlap_violation(&err) {
            BookingError::Taken {
                holders: Vec::new(),
            }
        } else {
            BookingError::Db(err)
        }
    }

    /// Cancels a future booking or releases a running one (ends it now).
    pub async fn end_booking(
        &self,
        actor: Actor<'_>,
        id: i64,
        now: i64,
    ) -> Result<(BookingView, Ending), BookingError> {
        let txn = self.begin_write().await?;
        let found = booking::Entity::find_by_id(id).one(&txn).await?;
        let Some(row) = found else {
            return Err(BookingError::NotFound(id));
        };
        authorise_owner(&txn, actor, &row).await?;
        if row.cancelled_at.is_some() || row.released_at.is_some() || row.end_at <= now {
            return Err(BookingError::AlreadyEnded(id));
        }
        // A booking that starts this very second has not run: cancelling it leaves no empty interval.
        let ending = if row.start_at >= now {
            Ending::Cancelled
        } else {
            Ending::Released
        };
        let mut active = row.clone().into_active_model();
        let slots =
            booking_slot::Entity::update_many().filter(booking_slot::Column::BookingId.eq(id));
        match ending {
            Ending::Cancelled => {
                active.cancelled_at = Set(Some(now));
                slots
                    .col_expr(booking_slot::Column::Active, false.into())
                    .exec(&txn)
                    .await?;
            }
            Ending::Released => {
                active.released_at = Set(Some(now));
                active.end_at = Set(now);
                slots
                    .col_expr(booking_slot::Column::EndAt, now.into())
                    .exec(&txn)
                    .await?;
            }
        }
        let updated = active.update(&txn).await?;
        let action = match ending {
            Ending::Cancelled => "cancel",
            Ending::Released => "release",
        };
        Db::audit(&txn, now, audit_entry(actor, action, &updated, None)).await?;
        let view = view_of(&txn, updated).await?;
        txn.commit().await?;
        Ok((view, ending))
    }

    /// Moves a booking's end later by `by` seconds if nothing else holds those GPUs then.
    pub async fn extend_booking(
        &self,
        actor: Actor<'_>,
        id: i64,
        by: i64,
        limits: &Limits,
        now: i64,
    ) -> Result<BookingView, BookingError> {
        let txn = self.begin_write().await?;
        let found = booking::Entity::find_by_id(id).one(&txn).await?;
        let Some(row) = found else {
            return Err(BookingError::NotFound(id));
        };
        authorise_owner(&txn, actor, &row).await?;
        if row.cancelled_at.is_some() || row.released_at.is_some() || row.end_at <= now {
            return Err(BookingError::AlreadyEnded(id));
        }
        let new_end = row.end_at + by;
        if !actor.is_admin && new_end - row.start_at > limits.max_length {
            return Err(BookingError::TooLong {
                max: limits.max_length,
            });
        }
        let gpus = parse_gpu_list(&row.gpus);
        let busy = busy_slots(&txn, &row.host, row.end_at, new_end, Some(id)).await?;
        let in_the_way: Vec<&Busy> = busy.iter().filter(|b| gpus.contains(&b.gpu)).collect();
        if !in_the_way.is_empty() {
            drop(txn);
            let holders = self
                .holders(&row.host, row.end_at, new_end, Some(id))
                .await?;
            let holders = holders
                .into_iter()
                .filter(|h| gpus.contains(&h.gpu))
                .collect();
            return Err(BookingError::Taken { holders });
        }
        let old_end = row.end_at;
        let mut active = row.into_active_model();
        active.end_at = Set(new_end);
        let updated = active.update(&txn).await?;
        let extended = booking_slot::Entity::update_many()
            .filter(booking_slot::Column::BookingId.eq(id))
            .col_expr(booking_slot::Column::EndAt, new_end.into())
            .exec(&txn)
            .await;
        if let Err(err) = extended {
            return Err(if is_overlap_violation(&err) {
                BookingError::Taken {
                    holders: Vec::new(),
                }
            } else {
                err.into()
            });
        }
        let detail = format!("end {old_end} -> {new_end}");
        Db::audit(
            &txn,
            now,
            audit_entry(actor, "extend", &updated, Some(detail)),
        )
        .await?;
        let view = view_of(&txn, updated).await?;
        txn.commit().await.map_err(|e| self.race_or_error(e))?;
        Ok(view)
    }

    /// A user's bookings that have not ended, soonest first.
    pub async fn upcoming_bookings_of(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Vec<BookingView>, DbErr> {
        let rows = booking::Entity::find()
            .filter(booking::Column::UserId.eq(user_id))
            .filter(booking::Column::EndAt.gt(now))
            .filter(booking::Column::CancelledAt.is_null())
            .order_by_asc(booking::Column::StartAt)
            .all(self.connection())
            .await?;
        views_of(self.connection(), rows).await
    }

    pub async fn booking(&self, id: i64) -> Result<Option<BookingView>, DbErr> {
        match booking::Entity::find_by_id(id)
            .one(self.connection())
            .await?
        {
            Some(row) => Ok(Some(view_of(self.connection(), row).await?)),
            None => Ok(None),
        }
    }

    /// Active bookings overlapping `[from, to)` on a host (or every host), for the board.
    pub async fn bookings_overlapping(
        &self,
        host: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<BookingView>, DbErr> {
        let mut query = booking::Entity::find()
            .filter(booking::Column::CancelledAt.is_null())
            .filter(booking::Column::StartAt.lt(to))
            .filter(booking::Column::EndAt.gt(from));
        if let Some(host) = host {
            query = query.filter(booking::Column::Host.eq(host));
        }
        let rows = query
            .order_by_asc(booking::Column::StartAt)
            .all(self.connection())
            .await?;
        views_of(self.connection(), rows).await
    }

    /// Who holds GPUs of a host over `[start, end)`.
    pub async fn holders(
        &self,
        host: &str,
        start: i64,
        end: i64,
        except: Option<i64>,
    ) -> Result<Vec<BookingHolder>, DbErr> {
        holders_on(self.connection(), host, start, end, except).await
    }

    /// Everything booked on a host from `from` on (for next-free-slot search).
    pub async fn busy_from(&self, host: &str, from: i64) -> Result<Vec<Busy>, DbErr> {
        busy_slots(self.connection(), host, from, i64::MAX, None).await
    }
}

async fn create_in(
    txn: &DatabaseTransaction,
    actor: Actor<'_>,
    request: &NewBooking,
    limits: &Limits,
    now: i64,
) -> Result<BookingView, BookingError> {
    let host = host::Entity::find_by_id(request.host.clone())
        .one(txn)
        .await?
        .ok_or_else(|| BookingError::UnknownHost(request.host.clone()))?;
    if host.state == "drained" {
        return Err(BookingError::HostDrained(host.name));
    }
    let gpu_count = host.gpu_count as u32;
    if let GpuWish::Indexes(list) = &request.gpus
        && let Some(&gpu) = list.iter().find(|g| **g >= gpu_count)
    {
        return Err(BookingError::NoSuchGpu {
            host: host.name,
            gpu,
            gpu_count,
        });
    }
    let wanted = request.gpus.count(gpu_count);
    if wanted > gpu_count || gpu_count == 0 {
        return Err(BookingError::NotEnoughGpus {
            host: host.name,
            gpu_count,
            wanted,
        });
    }
    if !actor.is_admin {
        let held = user_intervals(txn, actor.user.id, request.start, request.end).await?;
        let mut with_new = held;
        with_new.extend(std::iter::repeat_n(
            (request.start, request.end),
            wanted as usize,
        ));
        let would_hold = rules::max_concurrent(&with_new, request.start, request.end);
        if would_hold > limits.max_gpus_per_user {
            return Err(BookingError::UserLimit {
                would_hold,
                max: limits.max_gpus_per_user,
            });
        }
    }
    let busy = busy_slots(txn, &host.name, request.start, request.end, None).await?;
    let Some(gpus) =
        rules::choose_gpus(&request.gpus, gpu_count, &busy, request.start, request.end)
    else {
        // Report who is in the way of what was asked (for a count: of every GPU).
        let asked: Vec<u32> = match &request.gpus {
            GpuWish::Indexes(list) => list.clone(),
            _ => (0..gpu_count).collect(),
        };
        let holders = holders_on(txn, &host.name, request.start, request.end, None)
            .await?
            .into_iter()
            .filter(|h| asked.contains(&h.gpu))
            .collect();
        return Err(BookingError::Taken { holders });
    };

    let inserted = booking::Entity::insert(booking::ActiveModel {
        user_id: Set(actor.user.id),
        host: Set(host.name.clone()),
        gpus: Set(format_gpu_list(&gpus)),
        start_at: Set(request.start.max(now)),
        end_at: Set(request.end),
        note: Set(request.note.clone()),
        created_at: Set(now),
        cancelled_at: Set(None),
        released_at: Set(None),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    let id = inserted.last_insert_id;
    let slots = gpus.iter().map(|gpu| booking_slot::ActiveModel {
        booking_id: Set(id),
        gpu: Set(*gpu as i32),
        host: Set(host.name.clone()),
        start_at: Set(request.start.max(now)),
        end_at: Set(request.end),
        active: Set(true),
    });
    booking_slot::Entity::insert_many(slots)
        .exec_without_returning(txn)
        .await?;
    let row = booking::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("booking {id} just written")))?;
    Db::audit(txn, now, audit_entry(actor, "book", &row, row.note.clone())).await?;
    view_of(txn, row).await.map_err(Into::into)
}

async fn authorise_owner(
    txn: &DatabaseTransaction,
    actor: Actor<'_>,
    row: &booking::Model,
) -> Result<(), BookingError> {
    if row.user_id == actor.user.id || actor.is_admin {
        return Ok(());
    }
    let owner = user::Entity::find_by_id(row.user_id).one(txn).await?;
    Err(BookingError::NotOwner {
        id: row.id,
        owner: owner.map(|u| u.slack_user_id).unwrap_or_default(),
    })
}

fn audit_entry<'a>(
    actor: Actor<'a>,
    action: &'a str,
    row: &booking::Model,
    detail: Option<String>,
) -> AuditEntry<'a> {
    AuditEntry {
        actor: &actor.user.slack_user_id,
        action,
        target: format!(
            "booking #{} {}:{} [{}, {})",
            row.id, row.host, row.gpus, row.start_at, row.end_at
        ),
        outcome: "ok",
        request_id: actor.request_id,
        detail,
    }
}

fn is_overlap_violation(err: &DbErr) -> bool {
    // 23P01: exclusion_violation (the booking_slots_no_overlap constraint).
    sqlstate(err).as_deref() == Some("23P01")
}

async fn overlapping_slots<C: ConnectionTrait>(
    conn: &C,
    host: &str,
    start: i64,
    end: i64,
    except: Option<i64>,
) -> Result<Vec<booking_slot::Model>, DbErr> {
    let mut query = booking_slot::Entity::find()
        .filter(booking_slot::Column::Host.eq(host))
        .filter(booking_slot::Column::Active.eq(true))
        .filter(booking_slot::Column::StartAt.lt(end))
        .filter(booking_slot::Column::EndAt.gt(start));
    if let Some(id) = except {
        query = query.filter(booking_slot::Column::BookingId.ne(id));
    }
    query.all(conn).await
}

async fn busy_slots<C: ConnectionTrait>(
    conn: &C,
    host: &str,
    start: i64,
    end: i64,
    except: Option<i64>,
) -> Result<Vec<Busy>, DbErr> {
    Ok(overlapping_slots(conn, host, start, end, except)
        .await?
        .into_iter()
        .map(|s| Busy {
            gpu: s.gpu as u32,
            start: s.start_at,
            end: s.end_at,
        })
        .collect())
}

/// Who holds GPUs of a host over `[start, end)`, on the pool or inside a transaction.
async fn holders_on<C: ConnectionTrait>(
    conn: &C,
    host: &str,
    start: i64,
    end: i64,
    except: Option<i64>,
) -> Result<Vec<BookingHolder>, DbErr> {
    let slots = overlapping_slots(conn, host, start, end, except).await?;
    let ids: Vec<i64> = slots.iter().map(|s| s.booking_id).collect();
    let bookings: HashMap<i64, booking::Model> = booking::Entity::find()
        .filter(booking::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    let user_ids: Vec<i64> = bookings.values().map(|b| b.user_id).collect();
    let users: HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut holders: Vec<BookingHolder> = slots
        .into_iter()
        .filter_map(|slot| {
            let b = bookings.get(&slot.booking_id)?;
            let user = users.get(&b.user_id);
            Some(BookingHolder {
                booking_id: b.id,
                slack_user_id: user.map(|u| u.slack_user_id.clone()).unwrap_or_default(),
                display_name: user.map(|u| u.display_name.clone()).unwrap_or_default(),
                gpu: slot.gpu as u32,
                start: slot.start_at,
                end: slot.end_at,
            })
        })
        .collect();
    holders.sort_by_key(|h| (h.gpu, h.start));
    Ok(holders)
}

/// A user's active GPU-intervals overlapping a window (one per GPU per booking).
async fn user_intervals(
    txn: &DatabaseTransaction,
    user_id: i64,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let bookings = booking::Entity::find()
        .filter(booking::Column::UserId.eq(user_id))
        .filter(booking::Column::CancelledAt.is_null())
        .filter(booking::Column::StartAt.lt(end))
        .filter(booking::Column::EndAt.gt(start))
        .all(txn)
        .await?;
    Ok(bookings
        .iter()
        .flat_map(|b| {
            let n = parse_gpu_list(&b.gpus).len();
            std::iter::repeat_n((b.start_at, b.end_at), n)
        })
        .collect())
}

async fn view_of<C: ConnectionTrait>(conn: &C, row: booking::Model) -> Result<BookingView, DbErr> {
    let user = user::Entity::find_by_id(row.user_id).one(conn).await?;
    Ok(make_view(row, user.as_ref()))
}

async fn views_of<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    rows: Vec<booking::Model>,
) -> Result<Vec<BookingView>, DbErr> {
    // One bind parameter per distinct user: SQLite caps a statement's parameters.
    let mut ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let users: HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let user = users.get(&row.user_id);
            make_view(row, user)
        })
        .collect())
}

fn make_view(row: booking::Model, user: Option<&user::Model>) -> BookingView {
    BookingView {
        id: row.id,
        user_id: row.user_id,
        slack_user_id: user.map(|u| u.slack_user_id.clone()).unwrap_or_default(),
        display_name: user.map(|u| u.display_name.clone()).unwrap_or_default(),
        host: row.host,
        gpus: parse_gpu_list(&row.gpus),
        start: row.start_at,
        end: row.end_at,
        note: row.note,
        cancelled: row.cancelled_at.is_some(),
        released: row.released_at.is_some(),
    }
}
