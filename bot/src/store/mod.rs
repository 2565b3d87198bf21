//! The store: the one database façade, [`Db`], owning the connection, with methods that work
//! on the pool or inside a transaction. SQLite (embedded default) and PostgreSQL are both
//! first-class. Every SQL statement of the bot lives here, one file per table family, written
//! with the one statement helper (`sql.rs`); the rows come back as `core` types.
//!
//! Layer: above `core`, below `ports` and `app`. It may import `core` and `config`, never
//! `ports`, `app` or a front.

pub mod bookings;
pub mod catalogue;
pub mod claims;
pub mod datasets;
pub mod entities;
pub mod fleet;
mod group_commit;
pub mod ingest;
pub mod jobs;
pub mod leases;
pub mod outbox;
pub mod planning;
pub mod projects;
pub mod reminders;
pub mod reports;
pub(crate) mod sql;
pub mod waitlist;

use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use maison_command::Lang;
use maison_migrations::{Migrator, MigratorTrait};
use sea_orm::sea_query::OnConflict;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, RuntimeErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use entities::{audit, slack_event, user};
use group_commit::GroupCommit;

#[derive(Clone, Debug)]
pub struct Db {
    /// Every write, and reads inside write transactions. On SQLite a single connection, so
    /// writers queue in-process instead of sleeping in SQLite's busy handler.
    conn: DatabaseConnection,
    /// Reads outside transactions. On a SQLite file a pool of its own (WAL lets readers run
    /// beside the writer); elsewhere the same pool as `conn`.
    read: DatabaseConnection,
    /// On a SQLite file, the thread that creates bookings in grouped transactions (see
    /// `group_commit`); `None` elsewhere, where bookings use `conn`.
    group_commit: Option<Arc<GroupCommit>>,
    /// Every host as the poller last saw it, for a moment (see [`fleet::FleetView`]).
    fleet_view: Arc<fleet::FleetView>,
}

/// The most connections to PostgreSQL when fewer are asked to be opened at start (sqlx's
/// default).
const PG_MAX_CONNECTIONS: u32 = 10;

/// How long a PostgreSQL request waits for a connection. A busy pool hands one over in
/// milliseconds; waiting longer only means the server is gone, and the caller should hear so
/// within Slack's 3 seconds.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `err` means the database could not be reached (down, restarting, connections cut)
/// rather than that it refused a statement: the caller is told to try again in a moment.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                // `Protocol`: the server's answer stopped making sense, as when a
                // connection is cut in the middle of its start-up.
                Error::Io(_)
                | Error::Tls(_)
                | Error::Protocol(_)
                | Error::PoolTimedOut
                | Error::PoolClosed
                | Error::WorkerCrashed => true,
                // SQLSTATE class 08 (connection exception) and 57P (the server is shutting
                // down or restarting).
                Error::Database(db) => db
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether `err` means the database's disk is full: SQLite's `SQLITE_FULL` (13) or
/// PostgreSQL's `disk_full` (53100). The statement was refused whole (its transaction rolled
/// back), and the same request works again once space is freed.
pub fn is_disk_full(err: &DbErr) -> bool {
    match err {
        DbErr::Custom(message) => message == SQLITE_DISK_FULL,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sea_orm::sqlx::Error::Database(db) => db
                    .code()
                    .is_some_and(|code| code == "13" || code == "53100"),
                _ => false,
            }
        }
        _ => false,
    }
}

/// How the SQLite writer thread reports `SQLITE_FULL`: a rusqlite error cannot travel inside a
/// `DbErr`, so this exact text stands for it and `is_disk_full` knows it.
pub(crate) const SQLITE_DISK_FULL: &str = "SQLite: database or disk is full (SQLITE_FULL)";

/// A rusqlite error as the writer thread reports it (see `SQLITE_DISK_FULL`).
pub(crate) fn rusqlite_message(e: &rusqlite::Error) -> String {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        SQLITE_DISK_FULL.to_string()
    } else {
        format!("SQLite: {e}")
    }
}

/// Readers of a SQLite file: enough to keep both cores busy while the writer commits.
const SQLITE_READERS: u32 = 4;

/// One audit record: who did what to what, and how it ended.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: String,
    pub outcome: &'a str,
    pub request_id: &'a str,
    pub detail: Option<String>,
}

impl Db {
    /// Connects (creating the SQLite file if needed) and applies pending migrations. On
    /// PostgreSQL, connections open as they are needed (tests, tools).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_warm(url, 0).await
    }

    /// [`Db::connect`] for a server: on PostgreSQL, `warm` connections are opened at start
    /// (`[database] pool_size`), so that no burst waits for one to open.
    pub async fn connect_warm(url: &str, warm: u32) -> anyhow::Result<Self> {
        let db = Self::open(url, warm).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub async fn connect_without_migrating(url: &str) -> anyhow::Result<Self> {
        Self::open(url, 0).await
    }

    async fn open(url: &str, warm: u32) -> anyhow::Result<Self> {
        let sqlite = url.starts_with("sqlite:");
        let in_memory = sqlite && url.contains(":memory:");
        let options = |max: Option<u32>| {
            let mut options = ConnectOptions::new(url.to_owned());
            options
                .connect_timeout(Duration::from_secs(10))
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            if let Some(max) = max {
                options.max_connections(max);
            }
            if !sqlite {
                // Opening a PostgreSQL connection (TCP, SCRAM, preparing statements anew) in
                // the middle of a burst made the slowest acknowledgements: once open, a
                // connection stays open, and `warm` of them are opened at start.
                // A server that is down or restarting is answered at once: the caller's
                // reply ("try again") must come before Slack gives up (3 s), never after.
                options
                    .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                    .min_connections(warm)
                    .max_connections(warm.max(PG_MAX_CONNECTIONS))
                    .idle_timeout(None::<Duration>)
                    .max_lifetime(None::<Duration>);
            }
            if sqlite {
                // Set on every connection the pool opens, not once on whichever ran a PRAGMA:
                // WAL lets readers proceed during a write; foreign keys are off by default in
                // SQLite; busy_timeout makes another process wait for the lock instead of
                // failing; FULL makes every commit durable (fsync of the WAL).
                options.map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(5))
                        .synchronous(SqliteSynchronous::Full)
                });
            }
            options
        };
        let open = |options: ConnectOptions| async move {
            Database::connect(options)
                .await
                .with_context(|| format!("cannot open the database at {}", redact_url(url)))
        };
        let conn = open(options(sqlite.then_some(1))).await?;
        // Each connection to `:memory:` is a database of its own: readers must share the writer's.
        let read = if sqlite && !in_memory {
            open(options(Some(SQLITE_READERS))).await?
        } else {
            conn.clone()
        };
        let group_commit = if sqlite && !in_memory {
            let path = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("reading the SQLite URL {}", redact_url(url)))?
                .get_filename()
                .to_owned();
            let writer = GroupCommit::start(&path)
                .with_context(|| format!("opening the booking writer on {}", path.display()))?;
            Some(Arc::new(writer))
        } else {
            None
        };
        Ok(Self {
            conn,
            read,
            group_commit,
            fleet_view: Arc::default(),
        })
    }

    /// The pool for reads outside a transaction (see the field).
    pub fn reader(&self) -> &DatabaseConnection {
        &self.read
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.conn, None)
            .await
            .context("database migration failed")
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// A write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken up front,
    /// so two bookings can never both read "free" and both write (and no spurious "database is
    /// locked" from lock upgrades). PostgreSQL relies on its exclusion constraint instead.
    pub async fn begin_write(&self) -> Result<sea_orm::DatabaseTransaction, DbErr> {
        self.conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    pub async fn find_user(
        &self,
        team_id: &str,
        slack_user_id: &str,
    ) -> Result<Option<user::Model>, DbErr> {
        user::Entity::find()
            .filter(user::Column::TeamId.eq(team_id))
            .filter(user::Column::SlackUserId.eq(slack_user_id))
            .one(&self.read)
            .await
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<user::Model>, DbErr> {
        user::Entity::find_by_id(id).one(&self.conn).await
    }

    /// Inserts or refreshes a user's cached Slack profile.
    pub async fn upsert_user(&self, profile: &UserProfileRow<'_>) -> Result<user::Model, DbErr> {
        let row = user::ActiveModel {
            team_id: Set(profile.team_id.to_owned()),
            slack_user_id: Set(profile.slack_user_id.to_owned()),
            display_name: Set(profile.display_name.to_owned()),
            tz: Set(profile.tz.to_owned()),
            locale: Set(profile.locale.map(str::to_owned)),
            profile_fetched_at: Set(profile.fetched_at),
            ..Default::default()
        };
        user::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([user::Column::TeamId, user::Column::SlackUserId])
                    .update_columns([
                        user::Column::DisplayName,
                        user::Column::Tz,
                        user::Column::Locale,
                        user::Column::ProfileFetchedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.conn)
            .await?;
        self.find_user(profile.team_id, profile.slack_user_id)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("user just written".to_owned()))
    }

    /// Each known member's language (their choice, else their Slack locale), by Slack user id:
    /// for what is sent outside a request of theirs (the poller's DMs). Members are few.
    pub async fn languages(&self) -> Result<std::collections::HashMap<String, Lang>, DbErr> {
        let rows = self
            .reader()
            .query_all_raw(sql::stmt(
                self.backend(),
                "SELECT slack_user_id, language, locale FROM users",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let language: Option<String> = sql::get(r, 1)?;
                let locale: Option<String> = sql::get(r, 2)?;
                let lang = Lang::chosen_or_slack(language.as_deref(), locale.as_deref());
                Ok((sql::get(r, 0)?, lang))
            })
            .collect()
    }

    /// Sets the language a user chose (`None`: follow the Slack locale again).
    pub async fn set_user_language(&self, user_id: i64, code: Option<&str>) -> Result<(), DbErr> {
        self.conn
            .execute_raw(sql::stmt(
                self.backend(),
                "UPDATE users SET language = ? WHERE id = ?",
                vec![code.map(str::to_owned).into(), user_id.into()],
            ))
            .await?;
        Ok(())
    }

    /// Appends one audit record, on the pool or inside the caller's transaction.
    pub async fn audit<C: ConnectionTrait>(
        conn: &C,
        at: i64,
        entry: AuditEntry<'_>,
    ) -> Result<(), DbErr> {
        Self::audit_insert(at, entry)
            .exec_without_returning(conn)
            .await?;
        Ok(())
    }

    /// The statement that appends one audit record.
    pub fn audit_insert(at: i64, entry: AuditEntry<'_>) -> sea_orm::Insert<audit::ActiveModel> {
        let row = audit::ActiveModel {
            at: Set(at),
            actor: Set(entry.actor.to_owned()),
            action: Set(entry.action.to_owned()),
            target: Set(entry.target),
            outcome: Set(entry.outcome.to_owned()),
            request_id: Set(entry.request_id.to_owned()),
            detail: Set(entry.detail),
            ..Default::default()
        };
        audit::Entity::insert(row)
    }

    pub async fn audit_log(&self) -> Result<Vec<audit::Model>, DbErr> {
        audit::Entity::find()
            .order_by_asc(audit::Column::Id)
            .all(&self.conn)
            .await
    }

    /// Records a Slack event id; `false` when it was already seen (Slack retried it).
    pub async fn first_sighting_of_event(&self, event_id: &str, now: i64) -> Result<bool, DbErr> {
        let row = slack_event::ActiveModel {
            event_id: Set(event_id.to_owned()),
            received_at: Set(now),
        };
        let inserted = slack_event::Entity::insert(row)
            .on_conflict(
                OnConflict::column(slack_event::Column::EventId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.conn)
            .await?;
        Ok(inserted == 1)
    }
}

impl Db {
    /// Records a click under `key` unless the same key was recorded within the last `window`
    /// seconds: false for the second click of a double click (or a click Slack delivered twice),
    /// which must have no effect of its own. Shares `slack_events` with the Events API's
    /// de-duplication, under keys of their own shape.
    pub async fn first_click_within(
        &self,
        key: &str,
        now: i64,
        window: i64,
    ) -> Result<bool, DbErr> {
        let changed = self
            .conn
            .execute_raw(sql::stmt(
                self.backend(),
                "INSERT INTO slack_events (event_id, received_at) VALUES (?, ?) \
                 ON CONFLICT (event_id) DO UPDATE SET received_at = excluded.received_at \
                 WHERE slack_events.received_at <= ?",
                vec![key.into(), now.into(), (now - window).into()],
            ))
            .await?
            .rows_affected();
        Ok(changed == 1)
    }
}

/// A Slack profile as cached in `users`.
#[derive(Debug, Clone, Copy)]
pub struct UserProfileRow<'a> {
    pub team_id: &'a str,
    pub slack_user_id: &'a str,
    pub display_name: &'a str,
    pub tz: &'a str,
    pub locale: Option<&'a str>,
    pub fetched_at: i64,
}

/// PostgreSQL's SQLSTATE of a failed statement, if that is what failed.
pub fn sqlstate(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.deref() {
                sea_orm::sqlx::Error::Database(db_err) => db_err.code().map(|c| c.into_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Hides the password of a database URL for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pooled connection gets the settings, not only the one that happened to run a
    /// PRAGMA: two connections are held at once, so the second is a different one.
    #[tokio::test]
    async fn sqlite_settings_hold_on_every_pooled_connection() {
        use sea_orm::sqlx::{self, Row};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
        let db = Db::connect(&url).await.unwrap();
        let pool = db.reader().get_sqlite_connection_pool();
        let mut first = pool.acquire().await.unwrap();
        let mut second = pool.acquire().await.unwrap();
        for conn in [&mut first, &mut second] {
            let mut setting = async |pragma: &'static str| -> String {
                let row = sqlx::query(pragma).fetch_one(&mut **conn).await.unwrap();
                row.try_get::<String, _>(0)
                    .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
                    .unwrap()
            };
            assert_eq!(setting("PRAGMA journal_mode").await, "wal");
            assert_eq!(setting("PRAGMA foreign_keys").await, "1");
            assert_eq!(setting("PRAGMA busy_timeout").await, "5000");
            // 2 = FULL: every commit is on disk.
            assert_eq!(setting("PRAGMA synchronous").await, "2");
        }
        let writer = db.connection().get_sqlite_connection_pool();
        let mut conn = writer.acquire().await.unwrap();
        let row = sqlx::query("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(row.try_get::<i64, _>(0).unwrap(), 1);
    }

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact_url("postgres://maison:pw@db:5432/m"),
            "postgres://***@db:5432/m"
        );
        assert_eq!(
            redact_url("sqlite://maison.db?mode=rwc"),
            "sqlite://maison.db?mode=rwc"
        );
    }
}
