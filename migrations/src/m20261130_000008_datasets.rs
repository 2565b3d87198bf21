//! The dataset registry.
//!
//! * `datasets`: a name (what follows `/data/` in a container) and who created it; its owner
//!   may add versions and remove copies.
//! * `dataset_versions`: an immutable `name@version`. Its identity is the manifest id (BLAKE3
//!   of the manifest) the agent computes when it has scanned the registered directory, so it is
//!   NULL until that first scan ends; rows are therefore keyed by a plain id.
//! * `dataset_replicas`: one copy of a version on one host, as its agent last reported it,
//!   plus what only the bot knows: whether it is pinned and who asked for a verification.
//! * `dataset_transfers`: each copy the bot asked an agent to make (`data get`, `book --data`):
//!   progress, outcome, and the Slack message that shows it (queued through the outbox, whose
//!   row learns the message's `ts` when it is sent, so later edits can find it).
//! * `booking_datasets`: the dataset a booking made with `--data` needs on its host, so that
//!   copy is not evicted before the booking and its owner hears whether it is ready.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &str = r#"
CREATE TABLE datasets (
    name        TEXT PRIMARY KEY NOT NULL,
    created_by  TEXT NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE dataset_versions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset          TEXT NOT NULL REFERENCES datasets (name),
    version          TEXT NOT NULL,
    manifest         TEXT UNIQUE,
    total_bytes      INTEGER NOT NULL DEFAULT 0,
    total_files      INTEGER NOT NULL DEFAULT 0,
    registered_host  TEXT NOT NULL,
    registered_path  TEXT NOT NULL,
    registered_by    TEXT NOT NULL,
    note             TEXT,
    created_at       INTEGER NOT NULL,
    scanned_at       INTEGER,
    UNIQUE (dataset, version)
);
CREATE TABLE dataset_replicas (
    version_id           INTEGER NOT NULL REFERENCES dataset_versions (id),
    host                 TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN
                         ('scanning', 'fetching', 'complete', 'verifying', 'failed', 'unknown')),
    origin               TEXT NOT NULL CHECK (origin IN ('in_place', 'copied')),
    path                 TEXT NOT NULL,
    present_bytes        INTEGER NOT NULL DEFAULT 0,
    total_bytes          INTEGER NOT NULL DEFAULT 0,
    rate                 INTEGER NOT NULL DEFAULT 0,
    sources              TEXT NOT NULL DEFAULT '',
    error                TEXT,
    last_mounted         INTEGER,
    mounted_count        INTEGER NOT NULL DEFAULT 0,
    pinned               BOOLEAN NOT NULL DEFAULT FALSE,
    last_verified_at     INTEGER,
    verify_bad_count     INTEGER,
    verify_requested_by  TEXT,
    verify_requested_at  INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (version_id, host)
) WITHOUT ROWID;
CREATE TABLE dataset_transfers (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id          INTEGER NOT NULL REFERENCES dataset_versions (id),
    host                TEXT NOT NULL,
    requested_by        TEXT NOT NULL,
    booking_id          INTEGER,
    sources             TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    total_bytes         INTEGER NOT NULL,
    present_bytes       INTEGER NOT NULL DEFAULT 0,
    rate                INTEGER NOT NULL DEFAULT 0,
    started_at          INTEGER NOT NULL,
    finished_at         INTEGER,
    error               TEXT,
    progress_outbox_id  INTEGER,
    last_progress_at    INTEGER,
    progress_final      BOOLEAN NOT NULL DEFAULT FALSE,
    request_id          TEXT NOT NULL
);
CREATE UNIQUE INDEX dataset_transfers_one_running
    ON dataset_transfers (version_id, host) WHERE state = 'running';
CREATE INDEX dataset_transfers_to_show
    ON dataset_transfers (id) WHERE NOT progress_final;
CREATE TABLE booking_datasets (
    booking_id  INTEGER PRIMARY KEY NOT NULL REFERENCES bookings (id),
    version_id  INTEGER NOT NULL REFERENCES dataset_versions (id)
);
ALTER TABLE outbox ADD COLUMN message_ts TEXT;
"#;

const POSTGRES: &str = r#"
CREATE TABLE datasets (
    name        TEXT PRIMARY KEY,
    created_by  TEXT NOT NULL,
    note        TEXT,
    created_at  BIGINT NOT NULL
);
CREATE TABLE dataset_versions (
    id               BIGSERIAL PRIMARY KEY,
    dataset          TEXT NOT NULL REFERENCES datasets (name),
    version          TEXT NOT NULL,
    manifest         TEXT UNIQUE,
    total_bytes      BIGINT NOT NULL DEFAULT 0,
    total_files      BIGINT NOT NULL DEFAULT 0,
    registered_host  TEXT NOT NULL,
    registered_path  TEXT NOT NULL,
    registered_by    TEXT NOT NULL,
    note             TEXT,
    created_at       BIGINT NOT NULL,
    scanned_at       BIGINT,
    UNIQUE (dataset, version)
);
CREATE TABLE dataset_replicas (
    version_id           BIGINT NOT NULL REFERENCES dataset_versions (id),
    host                 TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN
                         ('scanning', 'fetching', 'complete', 'verifying', 'failed', 'unknown')),
    origin               TEXT NOT NULL CHECK (origin IN ('in_place', 'copied')),
    path                 TEXT NOT NULL,
    present_bytes        BIGINT NOT NULL DEFAULT 0,
    total_bytes          BIGINT NOT NULL DEFAULT 0,
    rate                 BIGINT NOT NULL DEFAULT 0,
    sources              TEXT NOT NULL DEFAULT '',
    error                TEXT,
    last_mounted         BIGINT,
    mounted_count        INTEGER NOT NULL DEFAULT 0,
    pinned               BOOLEAN NOT NULL DEFAULT FALSE,
    last_verified_at     BIGINT,
    verify_bad_count     BIGINT,
    verify_requested_by  TEXT,
    verify_requested_at  BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (version_id, host)
);
CREATE TABLE dataset_transfers (
    id                  BIGSERIAL PRIMARY KEY,
    version_id          BIGINT NOT NULL REFERENCES dataset_versions (id),
    host                TEXT NOT NULL,
    requested_by        TEXT NOT NULL,
    booking_id          BIGINT,
    sources             TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    total_bytes         BIGINT NOT NULL,
    present_bytes       BIGINT NOT NULL DEFAULT 0,
    rate                BIGINT NOT NULL DEFAULT 0,
    started_at          BIGINT NOT NULL,
    finished_at         BIGINT,
    error               TEXT,
    progress_outbox_id  BIGINT,
    last_progress_at    BIGINT,
    progress_final      BOOLEAN NOT NULL DEFAULT FALSE,
    request_id          TEXT NOT NULL
);
CREATE UNIQUE INDEX dataset_transfers_one_running
    ON dataset_transfers (version_id, host) WHERE state = 'running';
CREATE INDEX dataset_transfers_to_show
    ON dataset_transfers (id) WHERE NOT progress_final;
CREATE TABLE booking_datasets (
    booking_id  BIGINT PRIMARY KEY REFERENCES bookings (id),
    version_id  BIGINT NOT NULL REFERENCES dataset_versions (id)
);
ALTER TABLE outbox ADD COLUMN message_ts TEXT;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = "DROP TABLE booking_datasets; DROP TABLE dataset_transfers; \
                   DROP TABLE dataset_replicas; DROP TABLE dataset_versions; DROP TABLE datasets; \
                   ALTER TABLE outbox DROP COLUMN message_ts;";
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }
}
