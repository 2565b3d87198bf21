//! Booking storage: create, cancel/release and extend, each in one write transaction that also
//! appends the audit record, plus the read models used by replies (my bookings, the board).
//!
//! The guarantee "no two active bookings overlap on a (host, GPU)" comes from the database:
//! SQLite runs every booking write in a `BEGIN IMMEDIATE` transaction, so the check and the write
//! are serialised; PostgreSQL additionally has an exclusion constraint, and a transaction that
//! loses the race gets SQLSTATE 23P01, which is reported as an ordinary "taken".
//!
//! Creating a booking is the hot path: it reads everything it decides on in one statement and
//! writes the booking, its slots, the audit record and the announcement in one batch. On a
//! SQLite file that runs on the group-commit thread (`group_commit.rs`), several bookings to a
//! transaction; on PostgreSQL it is three round trips (facts, writes, commit).

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder, SqliteQueryBuilder};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QueryTrait, Statement,
};

use super::entities::{booking, booking_slot, user};
use super::group_commit::{GroupCommit, WriteJob};
use super::sql::Decides;
use super::{AuditEntry, Db, sqlstate};
use crate::core::booking::{BookingError, BookingHolder, BookingView, Ending, Limits, NewBooking};
use crate::core::fleet::HostState;
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

/// Makes the announcement of a new booking, or `None` when there is nothing to announce. It
/// runs inside the booking's transaction, possibly on the group-commit thread.
pub type Announcer = dyn Fn(&BookingView) -> Option<OutgoingMessage> + Send + Sync;

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
        self.create_booking_announced(actor, request, limits, now, Arc::new(|_| None))
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
        announce: Arc<Announcer>,
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
            let outcome = match &self.group_commit {
                Some(writer) => {
                    create_in_group(writer, actor, request, limits, now, announce.clone()).await
                }
                None if self.backend() == DbBackend::Postgres => {
                    self.create_on_postgres(actor, request, limits, now, &*announce)
                        .await
                }
                None => {
                    self.create_in_transaction(actor, request, limits, now, &*announce)
                        .await
                }
            };
            match outcome {
                Ok(view) => return Ok(view),
                // Someone else's booking is in the way: say whose (read after the write
                // transaction is over, so the writer connection is free again).
                Err(BookingError::Taken { .. }) => {
                    return Err(BookingError::Taken {
                        holders: self.holders_of_wish(request).await?,
                    });
                }
                Err(BookingError::Db(err)) if is_overlap_violation(&err) => {
                    let retry = matches!(request.gpus, GpuWish::Count(_)) && attempt < RACE_RETRIES;
                    if !retry {
                        return Err(BookingError::Taken {
                            holders: self.holders_of_wish(request).await?,
                        });
                    }
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Who holds what the request asked for (for a count: every GPU of the host).
    async fn holders_of_wish(&self, request: &NewBooking) -> Result<Vec<BookingHolder>, DbErr> {
        let holders = self
            .holders(&request.host, request.start, request.end, None)
            .await?;
        Ok(match &request.gpus {
            GpuWish::Indexes(list) => holders
                .into_iter()
                .filter(|h| list.contains(&h.gpu))
                .collect(),
            _ => holders,
        })
    }

    /// In-memory SQLite (tests): one transaction (the facts, the writes, the commit), begun
    /// `IMMEDIATE`, so the check and the write are serialised. PostgreSQL takes the same steps
    /// in two round trips ([`Db::create_on_postgres`]), where the exclusion constraint settles
    /// races.
    async fn create_in_transaction(
        &self,
        actor: Actor<'_>,
        request: &NewBooking,
        limits: &Limits,
        now: i64,
        announce: &Announcer,
    ) -> Result<BookingView, BookingError> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        let (row, gpus) = decide_in(&txn, actor, request, limits, now).await?;
        let view = make_view(row.clone(), Some(actor.user));
        let batch = write_batch(backend, actor, &row, &gpus, now, announce(&view).as_ref());
        txn.execute_unprepared(&batch.join(";\n")).await?;
        txn.commit().await.map_err(|e| self.race_or_error(e))?;
        Ok(view)
    }

    /// [`Db::create_in_transaction`] on PostgreSQL in two round trips instead of four: `BEGIN`
    /// travels with the facts query and `COMMIT` with the writes, each pair as one message of
    /// the simple-query protocol (the values are written into the SQL by sea-query, as for
    /// SQLite's batch). The transaction, and so every guarantee, is the same. A connection
    /// left inside a transaction by an error is rolled back; one dropped half-way (the task
    /// cancelled) is closed rather than handed to the next request.
    async fn create_on_postgres(
        &self,
        actor: Actor<'_>,
        request: &NewBooking,
        limits: &Limits,
        now: i64,
        announce: &Announcer,
    ) -> Result<BookingView, BookingError> {
        use sea_orm::sqlx::{AssertSqlSafe, Row, raw_sql};
        let pool = self.conn.get_postgres_connection_pool();
        let mut conn = InTransaction(Some(pool.acquire().await.map_err(sqlx_error)?));
        // One person's bookings are decided one at a time (see `Decides`).
        let facts_sql = format!(
            "BEGIN; {}; {}",
            Decides::PersonBookings(actor.user.id).lock_statement(),
            facts_query(DbBackend::Postgres, actor.user.id, request)
        );
        let rows = match raw_sql(AssertSqlSafe(facts_sql))
            .fetch_all(conn.connection())
            .await
        {
            Ok(rows) => rows,
            Err(err) => {
                conn.rollback().await;
                return Err(BookingError::Db(sqlx_error(err)));
            }
        };
        let facts = BookingFacts::from_rows(rows.iter().map(|r| {
            Ok((
                r.try_get::<String, _>("kind").map_err(sqlx_error)?,
                r.try_get::<i64, _>("a").map_err(sqlx_error)?,
                r.try_get::<i64, _>("b").map_err(sqlx_error)?,
                r.try_get::<i64, _>("c").map_err(sqlx_error)?,
                r.try_get::<String, _>("s").map_err(sqlx_error)?,
            ))
        }));
        let decided = facts
            .map_err(BookingError::Db)
            .and_then(|facts| decide(facts, actor, request, limits, now));
        let (row, gpus) = match decided {
            Ok(decided) => decided,
            Err(refusal) => {
                conn.rollback().await;
                return Err(refusal);
            }
        };
        let view = make_view(row.clone(), Some(actor.user));
        let mut batch = write_batch(
            DbBackend::Postgres,
            actor,
            &row,
            &gpus,
            now,
            announce(&view).as_ref(),
        );
        batch.push("COMMIT".to_owned());
        match raw_sql(AssertSqlSafe(batch.join(";\n")))
            .execute(conn.connection())
            .await
        {
            Ok(_) => {
                conn.ended();
                Ok(view)
            }
            // A failed statement skips the rest of the message, COMMIT included.
            Err(err) => {
                conn.rollback().await;
                Err(self.race_or_error(sqlx_error(err)))
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
        let (txn, row) = self.open_running_booking(actor, id, now).await?;
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
        let held = row.held_until.is_some();
        active.held_until = Set(None);
        let updated = active.update(&txn).await?;
        if held {
            // Cancelling GPUs offered from the wait-list is declining the offer.
            super::waitlist::decline_offer_of_booking(&txn, id, now).await?;
        }
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
        let (txn, row) = self.open_running_booking(actor, id, now).await?;
        let new_end = row.end_at + by;
        if !actor.is_admin && new_end - row.start_at > limits.max_length {
            return Err(BookingError::TooLong {
                max: limits.max_length,
            });
        }
        let gpus = parse_gpu_list(&row.gpus);
        if !actor.is_admin {
            // Extending adds GPU hours like booking does: otherwise short bookings, extended,
            // would get past the per-person limit.
            Decides::PersonBookings(row.user_id).lock_in(&txn).await?;
            let held = person_intervals(&txn, row.user_id, row.end_at, new_end, id).await?;
            let (extended, added) = ((row.start_at, new_end), (row.end_at, new_end));
            within_person_limit(held, extended, gpus.len() as u32, added, limits)?;
        }
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
            .find_also_related(user::Entity)
            .filter(booking::Column::UserId.eq(user_id))
            .filter(booking::Column::EndAt.gt(now))
            .filter(booking::Column::CancelledAt.is_null())
            .order_by_asc(booking::Column::StartAt)
            .all(self.connection())
            .await?;
        Ok(views_of(rows))
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
            .find_also_related(user::Entity)
            .filter(booking::Column::CancelledAt.is_null())
            .filter(booking::Column::StartAt.lt(to))
            .filter(booking::Column::EndAt.gt(from));
        if let Some(host) = host {
            query = query.filter(booking::Column::Host.eq(host));
        }
        let rows = query
            .order_by_asc(booking::Column::StartAt)
            .all(self.reader())
            .await?;
        Ok(views_of(rows))
    }

    /// Who holds GPUs of a host over `[start, end)`.
    pub async fn holders(
        &self,
        host: &str,
        start: i64,
        end: i64,
        except: Option<i64>,
    ) -> Result<Vec<BookingHolder>, DbErr> {
        holders_on(self.reader(), host, start, end, except).await
    }

    /// Everything booked on a host from `from` on (for next-free-slot search).
    pub async fn busy_from(&self, host: &str, from: i64) -> Result<Vec<Busy>, DbErr> {
        busy_slots(self.reader(), host, from, i64::MAX, None).await
    }

    /// What is booked over `[start, end)` on every host, in one statement (the "free now" list
    /// of a refusal asks about every host at once).
    pub async fn busy_by_host(
        &self,
        start: i64,
        end: i64,
    ) -> Result<HashMap<String, Vec<Busy>>, DbErr> {
        let slots = booking_slot::Entity::find()
            .filter(booking_slot::Column::Active.eq(true))
            .filter(booking_slot::Column::StartAt.lt(end))
            .filter(booking_slot::Column::EndAt.gt(start))
            .all(self.reader())
            .await?;
        let mut by_host: HashMap<String, Vec<Busy>> = HashMap::new();
        for slot in slots {
            by_host.entry(slot.host).or_default().push(Busy {
                gpu: slot.gpu as u32,
                start: slot.start_at,
                end: slot.end_at,
            });
        }
        Ok(by_host)
    }
}

/// What a booking decision reads, fetched in one statement: the host, the caller's bookings and
/// the busy slots in the window, and the id the new booking will get. Every statement is a
/// round trip (to the connection's thread on SQLite, over the network on PostgreSQL); fewer of
/// them is most of the booking path's speed.
#[derive(Debug, Default)]
struct BookingFacts {
    host: Option<(u32, String)>,
    user_intervals: Vec<(i64, i64)>,
    busy: Vec<Busy>,
    next_id: Option<i64>,
}

type FactRow = (String, i64, i64, i64, String);

impl BookingFacts {
    fn from_rows(rows: impl Iterator<Item = Result<FactRow, DbErr>>) -> Result<Self, DbErr> {
        let mut facts = BookingFacts::default();
        for row in rows {
            let (kind, a, b, c, s) = row?;
            match kind.as_str() {
                "h" => facts.host = Some((a as u32, s)),
                "u" => facts
                    .user_intervals
                    .extend(std::iter::repeat_n((a, b), parse_gpu_list(&s).len())),
                "b" => facts.busy.push(Busy {
                    gpu: a as u32,
                    start: b,
                    end: c,
                }),
                "n" => facts.next_id = Some(a),
                _ => {}
            }
        }
        Ok(facts)
    }
}

/// The facts and the booking rules inside the caller's write transaction: the row to write and
/// the GPUs it takes, or why not. The wait-list books this way, so that its own records share
/// the booking's transaction.
pub(super) async fn decide_in(
    txn: &DatabaseTransaction,
    actor: Actor<'_>,
    request: &NewBooking,
    limits: &Limits,
    now: i64,
) -> Result<(booking::Model, Vec<u32>), BookingError> {
    let backend = txn.get_database_backend();
    Decides::PersonBookings(actor.user.id).lock_in(txn).await?;
    let rows = txn
        .query_all_raw(Statement::from_string(
            backend,
            facts_query(backend, actor.user.id, request),
        ))
        .await?;
    let facts = BookingFacts::from_rows(rows.iter().map(|r| {
        Ok((
            r.try_get::<String>("", "kind")?,
            r.try_get::<i64>("", "a")?,
            r.try_get::<i64>("", "b")?,
            r.try_get::<i64>("", "c")?,
            r.try_get::<String>("", "s")?,
        ))
    }))?;
    decide(facts, actor, request, limits, now)
}

/// The facts query, with its values written in (the host name quoted by sea-query, like the
/// write batch; the rest are integers):
/// on SQLite it travels in one batch with `BEGIN IMMEDIATE`, which takes no parameters.
fn facts_query(backend: DbBackend, user_id: i64, request: &NewBooking) -> String {
    let host = sea_orm::sea_query::Value::from(request.host.as_str());
    let host = match backend {
        DbBackend::Postgres => PostgresQueryBuilder.value_to_string(&host),
        _ => SqliteQueryBuilder.value_to_string(&host),
    };
    let (start, end) = (request.start, request.end);
    // The new booking's id, so that its slots and audit record go in the same batch: on SQLite
    // the write lock is held, so MAX(id) + 1 is ours alone; PostgreSQL hands out the next value
    // of the id's sequence.
    let next_id = match backend {
        DbBackend::Postgres => "nextval(pg_get_serial_sequence('bookings', 'id'))",
        _ => "(SELECT COALESCE(MAX(id), 0) + 1 FROM bookings)",
    };
    format!(
        "SELECT 'h' AS kind, gpu_count AS a, 0 AS b, 0 AS c, state AS s FROM hosts WHERE name = {host} \
         UNION ALL SELECT 'u', start_at, end_at, 0, gpus FROM bookings \
         WHERE user_id = {user_id} AND cancelled_at IS NULL AND start_at < {end} AND end_at > {start} \
         UNION ALL SELECT 'b', gpu, start_at, end_at, '' FROM booking_slots \
         WHERE host = {host} AND active AND start_at < {end} AND end_at > {start} \
         UNION ALL SELECT 'n', {next_id}, 0, 0, ''"
    )
}

/// The per-person limit: `held` (one interval per GPU of the person's other bookings) and
/// `gpus` GPUs over `booking` may not overlap more than the limit anywhere in `window` (the
/// time the request adds).
fn within_person_limit(
    mut held: Vec<(i64, i64)>,
    booking: (i64, i64),
    gpus: u32,
    window: (i64, i64),
    limits: &Limits,
) -> Result<(), BookingError> {
    held.extend(std::iter::repeat_n(booking, gpus as usize));
    let would_hold = rules::max_concurrent(&held, window.0, window.1);
    if would_hold > limits.max_gpus_per_user {
        return Err(BookingError::UserLimit {
            would_hold,
            max: limits.max_gpus_per_user,
        });
    }
    Ok(())
}

/// The booking rules on the facts: the row to write and the GPUs it takes, or why not. Pure.
fn decide(
    facts: BookingFacts,
    actor: Actor<'_>,
    request: &NewBooking,
    limits: &Limits,
    now: i64,
) -> Result<(booking::Model, Vec<u32>), BookingError> {
    let (gpu_count, state) = facts
        .host
        .ok_or_else(|| BookingError::UnknownHost(request.host.clone()))?;
    let host = request.host.clone();
    if HostState::parse(&state) == HostState::Drained {
        return Err(BookingError::HostDrained(host));
    }
    if let GpuWish::Indexes(list) = &request.gpus
        && let Some(&gpu) = list.iter().find(|g| **g >= gpu_count)
    {
        return Err(BookingError::NoSuchGpu {
            host,
            gpu,
            gpu_count,
        });
    }
    let wanted = request.gpus.count(gpu_count);
    if wanted > gpu_count || gpu_count == 0 {
        return Err(BookingError::NotEnoughGpus {
            host,
            gpu_count,
            wanted,
        });
    }
    if !actor.is_admin {
        let booked = (request.start, request.end);
        within_person_limit(facts.user_intervals, booked, wanted, booked, limits)?;
    }
    let gpus = rules::choose_gpus(
        &request.gpus,
        gpu_count,
        &facts.busy,
        request.start,
        request.end,
    )
    .ok_or(BookingError::Taken {
        holders: Vec::new(),
    })?;
    let id = facts
        .next_id
        .ok_or_else(|| DbErr::Custom("no id for the new booking".to_owned()))?;
    let row = booking::Model {
        id,
        user_id: actor.user.id,
        host,
        gpus: format_gpu_list(&gpus),
        start_at: request.start.max(now),
        end_at: request.end,
        note: request.note.clone(),
        created_at: now,
        cancelled_at: None,
        released_at: None,
        held_until: None,
        project: request.project.clone(),
    };
    Ok((row, gpus))
}

/// The booking, its slots, the audit record and the announcement (if any) as SQL statements
/// with their values written in by sea-query, which quotes them for the backend.
pub(super) fn write_batch(
    backend: DbBackend,
    actor: Actor<'_>,
    row: &booking::Model,
    gpus: &[u32],
    now: i64,
    announcement: Option<&OutgoingMessage>,
) -> Vec<String> {
    let slots: Vec<booking_slot::ActiveModel> = gpus
        .iter()
        .map(|gpu| booking_slot::ActiveModel {
            booking_id: Set(row.id),
            gpu: Set(*gpu as i32),
            host: Set(row.host.clone()),
            start_at: Set(row.start_at),
            end_at: Set(row.end_at),
            active: Set(true),
        })
        .collect();
    let mut statements = vec![
        booking::Entity::insert(row.clone().into_active_model().reset_all()).into_query(),
        booking_slot::Entity::insert_many(slots).into_query(),
        Db::audit_insert(now, audit_entry(actor, "book", row, row.note.clone())).into_query(),
    ];
    if let Some(message) = announcement {
        let key = format!("announce:booking:{}", row.id);
        statements.push(Db::enqueue_statement(message, now, Some(&key)));
    }
    statements
        .iter()
        .map(|q| match backend {
            DbBackend::Postgres => q.to_string(PostgresQueryBuilder),
            _ => q.to_string(SqliteQueryBuilder),
        })
        .collect()
}

/// Hands a booking to the group-commit thread and waits for the commit that holds it.
async fn create_in_group(
    writer: &GroupCommit,
    actor: Actor<'_>,
    request: &NewBooking,
    limits: &Limits,
    now: i64,
    announce: Arc<Announcer>,
) -> Result<BookingView, BookingError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    writer.submit(Box::new(BookingJob {
        user: actor.user.clone(),
        is_admin: actor.is_admin,
        request_id: actor.request_id.to_owned(),
        request: request.clone(),
        limits: *limits,
        now,
        announce,
        outcome: None,
        reply,
    }));
    answer.await.unwrap_or_else(|_| {
        Err(BookingError::Db(DbErr::Custom(
            "the SQLite writer dropped a booking unanswered".into(),
        )))
    })
}

/// One booking on the group-commit thread: the same facts query, rules and write batch as the
/// other paths, run on the thread's own connection inside the group's transaction.
struct BookingJob {
    user: user::Model,
    is_admin: bool,
    request_id: String,
    request: NewBooking,
    limits: Limits,
    now: i64,
    announce: Arc<Announcer>,
    outcome: Option<Result<BookingView, BookingError>>,
    reply: tokio::sync::oneshot::Sender<Result<BookingView, BookingError>>,
}

impl BookingJob {
    fn decide_and_write(&self, conn: &rusqlite::Connection) -> Result<BookingView, BookingError> {
        let actor = Actor {
            user: &self.user,
            is_admin: self.is_admin,
            request_id: &self.request_id,
        };
        let sql = facts_query(DbBackend::Sqlite, self.user.id, &self.request);
        let mut statement = conn.prepare(&sql).map_err(rusqlite_err)?;
        let rows = statement
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(rusqlite_err)?;
        let facts = BookingFacts::from_rows(rows.map(|r| r.map_err(rusqlite_err)))?;
        let (row, gpus) = decide(facts, actor, &self.request, &self.limits, self.now)?;
        let view = make_view(row.clone(), Some(&self.user));
        let announcement = (self.announce)(&view);
        let batch = write_batch(
            DbBackend::Sqlite,
            actor,
            &row,
            &gpus,
            self.now,
            announcement.as_ref(),
        );
        conn.execute_batch(&batch.join(";\n"))
            .map_err(rusqlite_err)?;
        Ok(view)
    }
}

impl WriteJob for BookingJob {
    fn run(&mut self, conn: &rusqlite::Connection) -> bool {
        let outcome = self.decide_and_write(conn);
        let keep = outcome.is_ok();
        self.outcome = Some(outcome);
        keep
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let outcome = match (committed, self.outcome) {
            (Ok(()), Some(outcome)) => outcome,
            // A refusal wrote nothing: it stands whatever became of the others' commit.
            (Err(_), Some(Err(refusal))) => Err(refusal),
            (Err(e), _) if e == super::SQLITE_DISK_FULL => Err(BookingError::Db(DbErr::Custom(e))),
            (Err(e), _) => Err(BookingError::Db(DbErr::Custom(format!(
                "the booking did not commit: {e}"
            )))),
            (Ok(()), None) => Err(BookingError::Db(DbErr::Custom(
                "the booking was never run".into(),
            ))),
        };
        // The caller may have gone (request cancelled); the booking stands either way.
        let _ = self.reply.send(outcome);
    }
}

fn rusqlite_err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(super::rusqlite_message(&e))
}

impl Db {
    /// The preamble of cancel, release and extend: a write transaction holding the booking,
    /// which must exist, be the actor's (or the actor an admin) and not have ended.
    async fn open_running_booking(
        &self,
        actor: Actor<'_>,
        id: i64,
        now: i64,
    ) -> Result<(DatabaseTransaction, booking::Model), BookingError> {
        let txn = self.begin_write().await?;
        let row = booking::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(BookingError::NotFound(id))?;
        authorise_owner(&txn, actor, &row).await?;
        if row.cancelled_at.is_some() || row.released_at.is_some() || row.end_at <= now {
            return Err(BookingError::AlreadyEnded(id));
        }
        Ok((txn, row))
    }
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

fn sqlx_error(err: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Exec(sea_orm::RuntimeErr::SqlxError(Arc::new(err)))
}

type PgConnection = sea_orm::sqlx::pool::PoolConnection<sea_orm::sqlx::Postgres>;

/// A pooled connection inside a transaction opened by hand. Dropped before the transaction
/// ended (an error path missed, or the task cancelled), it is closed, never handed to the next
/// request with a transaction still open.
struct InTransaction(Option<PgConnection>);

impl InTransaction {
    fn connection(&mut self) -> &mut sea_orm::sqlx::PgConnection {
        self.0
            .as_mut()
            .expect("the connection is held until the transaction ends")
    }

    /// The transaction ended (committed): the connection goes back to the pool.
    fn ended(mut self) {
        self.0.take();
    }

    /// Ends a transaction that will not commit; the connection goes back to the pool only if
    /// that worked.
    async fn rollback(mut self) {
        if sea_orm::sqlx::raw_sql("ROLLBACK")
            .execute(self.connection())
            .await
            .is_ok()
        {
            self.ended();
        }
    }
}

impl Drop for InTransaction {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.0 {
            conn.close_on_drop();
        }
    }
}

pub(super) fn is_overlap_violation(err: &DbErr) -> bool {
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

/// One interval per GPU of `user_id`'s bookings (other than `except`) that overlap
/// `[start, end)`, as the per-person limit counts them.
async fn person_intervals(
    txn: &DatabaseTransaction,
    user_id: i64,
    start: i64,
    end: i64,
    except: i64,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let rows = booking::Entity::find()
        .filter(booking::Column::UserId.eq(user_id))
        .filter(booking::Column::Id.ne(except))
        .filter(booking::Column::CancelledAt.is_null())
        .filter(booking::Column::StartAt.lt(end))
        .filter(booking::Column::EndAt.gt(start))
        .all(txn)
        .await?;
    Ok(rows
        .iter()
        .flat_map(|b| std::iter::repeat_n((b.start_at, b.end_at), parse_gpu_list(&b.gpus).len()))
        .collect())
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
    let users = users_by_id(conn, bookings.values().map(|b| b.user_id)).await?;
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

pub(super) async fn view_of<C: ConnectionTrait>(
    conn: &C,
    row: booking::Model,
) -> Result<BookingView, DbErr> {
    let user = user::Entity::find_by_id(row.user_id).one(conn).await?;
    Ok(make_view(row, user.as_ref()))
}

/// Bookings read with their users (one statement, joined).
fn views_of(rows: Vec<(booking::Model, Option<user::Model>)>) -> Vec<BookingView> {
    rows.into_iter()
        .map(|(row, user)| make_view(row, user.as_ref()))
        .collect()
}

/// The users with these ids, by id.
async fn users_by_id<C: ConnectionTrait>(
    conn: &C,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, user::Model>, DbErr> {
    // One bind parameter per distinct user: SQLite caps a statement's parameters.
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

pub(super) fn make_view(row: booking::Model, user: Option<&user::Model>) -> BookingView {
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
        held_until: row.held_until,
    }
}
