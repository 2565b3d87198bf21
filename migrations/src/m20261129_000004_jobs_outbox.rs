//! Scheduled jobs and the durable outbox (see `docs/jobs.md`).
//!
//! * `job_runs`: one row per run of a scheduled job. The row *is* the claim: it is inserted with
//!   `ON CONFLICT (job, slot_key) DO NOTHING` before the job runs, so a slot runs at most once
//!   whatever the number of replicas or restarts. `slot_key` is the slot's local wall-clock time
//!   in the company time zone (a DST fall-back hour maps to one key). Manual runs use
//!   `manual:…` keys; one asked for from Slack is a row with `started_at` still NULL until a
//!   scheduler picks it up.
//! * `outbox`: every proactive Slack message, written before it is sent. A sender delivers them
//!   in id order per recipient; nothing is deleted, sent rows keep `sent_at`, rows Slack refused
//!   for good keep `parked_at` and `last_error`.
//! * `leases`: named, expiring leases; the outbox sender holds `outbox_sender` so that only one
//!   replica sends.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &str = r#"
CREATE TABLE job_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job           TEXT NOT NULL,
    slot_key      TEXT NOT NULL,
    slot_at       INTEGER NOT NULL,
    manual        BOOLEAN NOT NULL,
    requested_by  TEXT,
    response_url  TEXT,
    requested_at  INTEGER NOT NULL,
    holder        TEXT,
    started_at    INTEGER,
    finished_at   INTEGER,
    outcome       TEXT CHECK (outcome IN ('ok', 'error')),
    detail        TEXT,
    UNIQUE (job, slot_key)
);
CREATE INDEX job_runs_by_job ON job_runs (job, slot_at);
CREATE INDEX job_runs_waiting ON job_runs (requested_at) WHERE started_at IS NULL;
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient_kind      TEXT NOT NULL CHECK (recipient_kind IN ('channel', 'user')),
    recipient_id        TEXT NOT NULL,
    channel_id          TEXT,
    slack_json          TEXT NOT NULL,
    fallback_text       TEXT NOT NULL,
    terminal_text       TEXT NOT NULL,
    attachment          BLOB,
    attachment_filename TEXT,
    attachment_title    TEXT,
    attachment_sent_at  INTEGER,
    dedupe_key          TEXT UNIQUE,
    created_at          INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    sent_at             INTEGER,
    parked_at           INTEGER,
    last_error          TEXT
);
CREATE INDEX outbox_pending ON outbox (recipient_kind, recipient_id, id)
    WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
"#;

const POSTGRES: &str = r#"
CREATE TABLE job_runs (
    id            BIGSERIAL PRIMARY KEY,
    job           TEXT NOT NULL,
    slot_key      TEXT NOT NULL,
    slot_at       BIGINT NOT NULL,
    manual        BOOLEAN NOT NULL,
    requested_by  TEXT,
    response_url  TEXT,
    requested_at  BIGINT NOT NULL,
    holder        TEXT,
    started_at    BIGINT,
    finished_at   BIGINT,
    outcome       TEXT CHECK (outcome IN ('ok', 'error')),
    detail        TEXT,
    UNIQUE (job, slot_key)
);
CREATE INDEX job_runs_by_job ON job_runs (job, slot_at);
CREATE INDEX job_runs_waiting ON job_runs (requested_at) WHERE started_at IS NULL;
CREATE TABLE outbox (
    id                  BIGSERIAL PRIMARY KEY,
    recipient_kind      TEXT NOT NULL CHECK (recipient_kind IN ('channel', 'user')),
    recipient_id        TEXT NOT NULL,
    channel_id          TEXT,
    slack_json          TEXT NOT NULL,
    fallback_text       TEXT NOT NULL,
    terminal_text       TEXT NOT NULL,
    attachment          BYTEA,
    attachment_filename TEXT,
    attachment_title    TEXT,
    attachment_sent_at  BIGINT,
    dedupe_key          TEXT UNIQUE,
    created_at          BIGINT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT NOT NULL,
    sent_at             BIGINT,
    parked_at           BIGINT,
    last_error          TEXT
);
CREATE INDEX outbox_pending ON outbox (recipient_kind, recipient_id, id)
    WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
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
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE leases; DROP TABLE outbox; DROP TABLE job_runs;")
            .await?;
        Ok(())
    }
}
