//! Hosts, users, bookings with per-GPU slots, the audit log and Slack event de-duplication.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Written once per backend so that each gets its natural types and its own overlap guarantee.
const SQLITE: &str = r#"
CREATE TABLE hosts (
    name        TEXT PRIMARY KEY NOT NULL,
    gpu_count   INTEGER NOT NULL CHECK (gpu_count >= 0),
    agent_url   TEXT,
    state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'drained')),
    updated_at  INTEGER NOT NULL
);
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id             TEXT NOT NULL,
    slack_user_id       TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    tz                  TEXT NOT NULL,
    locale              TEXT,
    profile_fetched_at  INTEGER NOT NULL,
    UNIQUE (team_id, slack_user_id)
);
CREATE TABLE bookings (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    host          TEXT NOT NULL REFERENCES hosts (name),
    gpus          TEXT NOT NULL,
    start_at      INTEGER NOT NULL,
    end_at        INTEGER NOT NULL,
    note          TEXT,
    created_at    INTEGER NOT NULL,
    cancelled_at  INTEGER,
    released_at   INTEGER,
    CHECK (end_at > start_at)
);
CREATE INDEX bookings_user ON bookings (user_id, end_at);
CREATE TABLE booking_slots (
    booking_id  INTEGER NOT NULL REFERENCES bookings (id),
    gpu         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    start_at    INTEGER NOT NULL,
    end_at      INTEGER NOT NULL,
    active      BOOLEAN NOT NULL,
    PRIMARY KEY (booking_id, gpu),
    CHECK (end_at > start_at)
) WITHOUT ROWID;
CREATE INDEX booking_slots_by_gpu ON booking_slots (host, gpu, end_at);
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    detail      TEXT
);
CREATE TABLE slack_events (
    event_id     TEXT PRIMARY KEY NOT NULL,
    received_at  INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// On PostgreSQL the exclusion constraint is the real no-double-booking guarantee: concurrent
/// transactions that both passed the application's check still cannot both commit.
const POSTGRES: &str = r#"
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE hosts (
    name        TEXT PRIMARY KEY,
    gpu_count   INTEGER NOT NULL CHECK (gpu_count >= 0),
    agent_url   TEXT,
    state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'drained')),
    updated_at  BIGINT NOT NULL
);
CREATE TABLE users (
    id                  BIGSERIAL PRIMARY KEY,
    team_id             TEXT NOT NULL,
    slack_user_id       TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    tz                  TEXT NOT NULL,
    locale              TEXT,
    profile_fetched_at  BIGINT NOT NULL,
    UNIQUE (team_id, slack_user_id)
);
CREATE TABLE bookings (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    host          TEXT NOT NULL REFERENCES hosts (name),
    gpus          TEXT NOT NULL,
    start_at      BIGINT NOT NULL,
    end_at        BIGINT NOT NULL,
    note          TEXT,
    created_at    BIGINT NOT NULL,
    cancelled_at  BIGINT,
    released_at   BIGINT,
    CHECK (end_at > start_at)
);
CREATE INDEX bookings_user ON bookings (user_id, end_at);
CREATE TABLE booking_slots (
    booking_id  BIGINT NOT NULL REFERENCES bookings (id),
    gpu         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    start_at    BIGINT NOT NULL,
    end_at      BIGINT NOT NULL,
    active      BOOLEAN NOT NULL,
    PRIMARY KEY (booking_id, gpu),
    CHECK (end_at > start_at),
    CONSTRAINT booking_slots_no_overlap EXCLUDE USING gist (
        host WITH =,
        gpu WITH =,
        int8range(start_at, end_at, '[)') WITH &&
    ) WHERE (active)
);
CREATE INDEX booking_slots_by_gpu ON booking_slots (host, gpu, end_at);
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    detail      TEXT
);
CREATE TABLE slack_events (
    event_id     TEXT PRIMARY KEY,
    received_at  BIGINT NOT NULL
);
"#;

const DOWN: &str = r#"
DROP TABLE slack_events;
DROP TABLE audit_log;
DROP TABLE booking_slots;
DROP TABLE bookings;
DROP TABLE users;
DROP TABLE hosts;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES,
            DbBackend::Sqlite => SQLITE,
            other => {
                return Err(DbErr::Migration(format!(
                    "{other:?} is not supported: use SQLite or PostgreSQL"
                )));
            }
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
