//! The fleet as the bot last saw it: host reachability and facts, current GPU readings, the
//! container and image caches, and GPU metrics (minute rows kept ~30 days, hourly rollups kept
//! long). Written by the poller (`maison_bot::fleet::poller`); see `docs/fleet.md`.
//!
//! Metric tables are built to be small: a host and an owner are small integer ids
//! (`metric_hosts`, `metric_owners`), utilisation is whole percent, memory is MiB, and on
//! SQLite the minute table is `WITHOUT ROWID` so the primary key is the row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &str = r#"
CREATE TABLE host_status (
    host            TEXT PRIMARY KEY NOT NULL,
    reachable       BOOLEAN NOT NULL,
    changed_at      INTEGER NOT NULL,
    last_seen_at    INTEGER,
    last_polled_at  INTEGER,
    failing_since   INTEGER,
    last_error      TEXT,
    facts           TEXT,
    gpus_simulated  BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE gpu_readings (
    host             TEXT NOT NULL,
    gpu              INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    util_pct         REAL NOT NULL,
    mem_used_bytes   INTEGER NOT NULL,
    mem_total_bytes  INTEGER,
    power_watts      REAL,
    temp_celsius     INTEGER,
    stale            BOOLEAN NOT NULL,
    holders          TEXT NOT NULL,
    PRIMARY KEY (host, gpu)
) WITHOUT ROWID;
CREATE TABLE containers (
    host          TEXT NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    image         TEXT NOT NULL,
    image_id      TEXT NOT NULL,
    state         TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    owner         TEXT,
    owner_name    TEXT,
    booking       TEXT,
    image_source  TEXT,
    gpus          TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    PRIMARY KEY (host, id)
);
CREATE INDEX containers_by_name ON containers (name);
CREATE INDEX containers_by_id ON containers (id);
CREATE TABLE images (
    host           TEXT NOT NULL,
    id             TEXT NOT NULL,
    tags           TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    in_use         INTEGER NOT NULL,
    dangling       BOOLEAN NOT NULL,
    owner          TEXT,
    first_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (host, id)
);
CREATE INDEX images_by_id ON images (id);
CREATE TABLE metric_hosts (
    id             INTEGER PRIMARY KEY,
    host           TEXT NOT NULL UNIQUE,
    cursor_minute  INTEGER
);
CREATE TABLE metric_owners (
    id     INTEGER PRIMARY KEY,
    owner  TEXT NOT NULL UNIQUE
);
CREATE TABLE gpu_minutes (
    host_id      INTEGER NOT NULL,
    minute       INTEGER NOT NULL,
    gpu          INTEGER NOT NULL,
    util_avg     INTEGER NOT NULL,
    util_max     INTEGER NOT NULL,
    mem_max_mib  INTEGER NOT NULL,
    power_avg    INTEGER,
    temp_max     INTEGER,
    owner_id     INTEGER,
    PRIMARY KEY (host_id, minute, gpu)
) WITHOUT ROWID;
CREATE TABLE gpu_hours (
    host_id        INTEGER NOT NULL,
    hour           INTEGER NOT NULL,
    gpu            INTEGER NOT NULL,
    holder         INTEGER NOT NULL,
    minutes        INTEGER NOT NULL,
    busy_minutes   INTEGER NOT NULL,
    util_sum       INTEGER NOT NULL,
    util_max       INTEGER NOT NULL,
    mem_max_mib    INTEGER NOT NULL,
    power_sum      INTEGER NOT NULL,
    power_minutes  INTEGER NOT NULL,
    temp_max       INTEGER,
    PRIMARY KEY (host_id, hour, gpu, holder)
) WITHOUT ROWID;
CREATE TABLE container_gpu_activity (
    host            TEXT NOT NULL,
    container_id    TEXT NOT NULL,
    last_held_at    INTEGER NOT NULL,
    last_active_at  INTEGER,
    PRIMARY KEY (host, container_id)
) WITHOUT ROWID;
"#;

const POSTGRES: &str = r#"
CREATE TABLE host_status (
    host            TEXT PRIMARY KEY,
    reachable       BOOLEAN NOT NULL,
    changed_at      BIGINT NOT NULL,
    last_seen_at    BIGINT,
    last_polled_at  BIGINT,
    failing_since   BIGINT,
    last_error      TEXT,
    facts           TEXT,
    gpus_simulated  BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE gpu_readings (
    host             TEXT NOT NULL,
    gpu              INTEGER NOT NULL,
    at               BIGINT NOT NULL,
    util_pct         DOUBLE PRECISION NOT NULL,
    mem_used_bytes   BIGINT NOT NULL,
    mem_total_bytes  BIGINT,
    power_watts      DOUBLE PRECISION,
    temp_celsius     INTEGER,
    stale            BOOLEAN NOT NULL,
    holders          TEXT NOT NULL,
    PRIMARY KEY (host, gpu)
);
CREATE TABLE containers (
    host          TEXT NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    image         TEXT NOT NULL,
    image_id      TEXT NOT NULL,
    state         TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    owner         TEXT,
    owner_name    TEXT,
    booking       TEXT,
    image_source  TEXT,
    gpus          TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    PRIMARY KEY (host, id)
);
CREATE INDEX containers_by_name ON containers (name);
CREATE INDEX containers_by_id ON containers (id text_pattern_ops);
CREATE TABLE images (
    host           TEXT NOT NULL,
    id             TEXT NOT NULL,
    tags           TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    in_use         INTEGER NOT NULL,
    dangling       BOOLEAN NOT NULL,
    owner          TEXT,
    first_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (host, id)
);
CREATE INDEX images_by_id ON images (id text_pattern_ops);
CREATE TABLE metric_hosts (
    id             SERIAL PRIMARY KEY,
    host           TEXT NOT NULL UNIQUE,
    cursor_minute  BIGINT
);
CREATE TABLE metric_owners (
    id     SERIAL PRIMARY KEY,
    owner  TEXT NOT NULL UNIQUE
);
CREATE TABLE gpu_minutes (
    host_id      INTEGER NOT NULL,
    minute       BIGINT NOT NULL,
    gpu          INTEGER NOT NULL,
    util_avg     INTEGER NOT NULL,
    util_max     INTEGER NOT NULL,
    mem_max_mib  INTEGER NOT NULL,
    power_avg    INTEGER,
    temp_max     INTEGER,
    owner_id     INTEGER,
    PRIMARY KEY (host_id, minute, gpu)
);
CREATE TABLE gpu_hours (
    host_id        INTEGER NOT NULL,
    hour           BIGINT NOT NULL,
    gpu            INTEGER NOT NULL,
    holder         INTEGER NOT NULL,
    minutes        INTEGER NOT NULL,
    busy_minutes   INTEGER NOT NULL,
    util_sum       BIGINT NOT NULL,
    util_max       INTEGER NOT NULL,
    mem_max_mib    INTEGER NOT NULL,
    power_sum      BIGINT NOT NULL,
    power_minutes  INTEGER NOT NULL,
    temp_max       INTEGER,
    PRIMARY KEY (host_id, hour, gpu, holder)
);
CREATE TABLE container_gpu_activity (
    host            TEXT NOT NULL,
    container_id    TEXT NOT NULL,
    last_held_at    BIGINT NOT NULL,
    last_active_at  BIGINT,
    PRIMARY KEY (host, container_id)
);
"#;

const DOWN: &str = r#"
DROP TABLE container_gpu_activity;
DROP TABLE gpu_hours;
DROP TABLE gpu_minutes;
DROP TABLE metric_owners;
DROP TABLE metric_hosts;
DROP TABLE images;
DROP TABLE containers;
DROP TABLE gpu_readings;
DROP TABLE host_status;
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
