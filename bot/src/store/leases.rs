//! The `leases` table: named, expiring leases that elect one replica for a task (the outbox
//! sender, the poller, the wait-list matcher), each with a **term** for fencing.
//!
//! A lease is taken or renewed in one statement that returns its term. The term grows whenever
//! the lease is *taken* (another holder, or the same holder after it lapsed) and stays the same
//! while its holder renews it in time. A leader's writes as leader carry its [`Fence`] and are
//! conditional on the lease still having that holder and term and not having expired, in the
//! same statement (or transaction) as the write: a replica that was paused or cut off while
//! another took over cannot write as leader any more, it gets [`LeaderWrite::FencedOff`].
//!
//! On PostgreSQL the check locks the lease row `FOR SHARE`, so a take-over waits for the
//! leader's write in flight to commit and, once it has happened, no write of the old term can
//! commit after it. No session-level advisory lock is used, so PgBouncer in transaction mode
//! is fine.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};

use super::Db;
use super::sql::stmt;

/// A lease as its holder holds it: what a fenced write names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub lease: String,
    pub holder: String,
    pub term: i64,
}

/// What a fenced write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum LeaderWrite {
    Written,
    /// Nothing was written: the lease has another holder or term now, or has expired. The
    /// task must stop acting as leader until it takes the lease again.
    FencedOff,
}

/// One row of `leases`, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub name: String,
    pub holder: String,
    pub term: i64,
    pub expires_at: i64,
}

/// A holder id for this process: its process id first (so an operator reading `leases` can
/// tell which process leads), then a random part (so two tasks, or a restarted process that
/// got the same pid, never share an id).
pub fn new_holder_id() -> String {
    format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

impl Fence {
    /// A SQL condition, true only while this fence's lease is held: append it to a write's
    /// `WHERE` with `AND`, and its values ([`Fence::values`]) after the write's own.
    pub fn condition(backend: DbBackend) -> &'static str {
        match backend {
            DbBackend::Postgres => {
                "EXISTS (SELECT 1 FROM leases WHERE name = ? AND holder = ? AND term = ? \
                 AND expires_at >= ? FOR SHARE)"
            }
            _ => {
                "EXISTS (SELECT 1 FROM leases WHERE name = ? AND holder = ? AND term = ? \
                 AND expires_at >= ?)"
            }
        }
    }

    /// The values of [`Fence::condition`], at `now` (Unix seconds).
    pub fn values(&self, now: i64) -> [Value; 4] {
        [
            self.lease.clone().into(),
            self.holder.clone().into(),
            self.term.into(),
            now.into(),
        ]
    }

    /// Checks, inside the caller's write transaction, that the lease is still held; on
    /// PostgreSQL the lease row stays locked until the transaction ends, so no take-over can
    /// commit in between.
    pub async fn check_on<C: ConnectionTrait>(
        &self,
        conn: &C,
        now: i64,
    ) -> Result<LeaderWrite, DbErr> {
        let backend = conn.get_database_backend();
        let held = conn
            .query_one_raw(stmt(
                backend,
                &format!("SELECT 1 WHERE {}", Self::condition(backend)),
                self.values(now).into(),
            ))
            .await?;
        Ok(if held.is_some() {
            LeaderWrite::Written
        } else {
            LeaderWrite::FencedOff
        })
    }
}

/// Whether a write under `fence` may go on, asked inside the write's own transaction (`conn`):
/// always without a fence (a write made outside any leader task), else while the lease holds.
pub async fn still_leader<C: ConnectionTrait>(
    fence: Option<&Fence>,
    conn: &C,
    now: i64,
) -> Result<bool, DbErr> {
    match fence {
        None => Ok(true),
        Some(fence) => Ok(fence.check_on(conn, now).await? == LeaderWrite::Written),
    }
}

impl Db {
    /// Takes or renews the lease `name` for `holder` until `expires_at`, unless another holder
    /// has it and it has not expired at `now`. Returns its term when `holder` has it: the same
    /// term when renewed in time, a new one when taken. One statement, so two replicas taking
    /// it at once cannot both win.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Option<i64>, DbErr> {
        let row = self
            .connection()
            .query_one_raw(stmt(
                self.backend(),
                "INSERT INTO leases (name, holder, expires_at, term) VALUES (?, ?, ?, 1) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                 expires_at = excluded.expires_at, \
                 term = CASE WHEN leases.holder = excluded.holder AND leases.expires_at >= ? \
                 THEN leases.term ELSE leases.term + 1 END \
                 WHERE leases.holder = excluded.holder OR leases.expires_at < ? \
                 RETURNING term",
                vec![
                    name.into(),
                    holder.into(),
                    expires_at.into(),
                    now.into(),
                    now.into(),
                ],
            ))
            .await?;
        row.map(|r| r.try_get_by_index::<i64>(0)).transpose()
    }

    /// Gives the lease `name` back, if `holder` has it, so another replica can take it at once.
    /// The row stays (expired), so the next term is still higher than every earlier one.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), DbErr> {
        self.connection()
            .execute_raw(stmt(
                self.backend(),
                "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?",
                vec![name.into(), holder.into()],
            ))
            .await?;
        Ok(())
    }

    /// The lease `name` as stored, held or not.
    pub async fn lease(&self, name: &str) -> Result<Option<LeaseRow>, DbErr> {
        let row = self
            .connection()
            .query_one_raw(stmt(
                self.backend(),
                "SELECT name, holder, term, expires_at FROM leases WHERE name = ?",
                vec![name.into()],
            ))
            .await?;
        row.map(|r| {
            Ok(LeaseRow {
                name: r.try_get_by_index(0)?,
                holder: r.try_get_by_index(1)?,
                term: r.try_get_by_index(2)?,
                expires_at: r.try_get_by_index(3)?,
            })
        })
        .transpose()
    }
}
