//! The wait-list.
//!
//! * `wait_requests`: one `book … --wait` that did not fit when asked: what it wants, since
//!   when (`created_at`; `in_line_since` is its place, moved to the back by a missed offer), until when, and how it ended (`booked`, `declined`, `expired` past `--within`,
//!   `dropped` after missed offers, `withdrawn` by `unwait`).
//! * `wait_offers`: each time GPUs were held for a request: the held booking, until when the
//!   offer stands and how it ended. A partial unique index allows one open offer per request,
//!   so two matchers racing can never give one request two offers.
//! * `bookings.held_until`: set while a booking is an offer not yet accepted. It holds its
//!   slots like any booking (so, on PostgreSQL, the exclusion constraint still applies).
//! * `waitlist_idle`: GPU-seconds that stood free while someone waited, per matching pass, for
//!   the capacity report.
//!
//! One text serves both backends: only the id and integer types differ.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SCHEMA: &str = r#"
CREATE TABLE wait_requests (
    id              {ID},
    user_id         {BIG} NOT NULL REFERENCES users (id),
    host            TEXT,
    gpus            INTEGER NOT NULL CHECK (gpus > 0),
    length_secs     {BIG} NOT NULL CHECK (length_secs > 0),
    min_mem_bytes   {BIG},
    dataset         TEXT,
    auto_book       BOOLEAN NOT NULL,
    created_at      {BIG} NOT NULL,
    in_line_since   {BIG} NOT NULL,
    start_by        {BIG},
    state           TEXT NOT NULL CHECK (state IN
                        ('waiting', 'offered', 'booked', 'declined', 'expired', 'dropped', 'withdrawn')),
    missed_offers   INTEGER NOT NULL DEFAULT 0,
    booking_id      {BIG} REFERENCES bookings (id),
    resolved_at     {BIG}
);
CREATE INDEX wait_requests_open ON wait_requests (state, in_line_since);
CREATE TABLE wait_offers (
    id              {ID},
    request_id      {BIG} NOT NULL REFERENCES wait_requests (id),
    booking_id      {BIG} NOT NULL REFERENCES bookings (id),
    offered_at      {BIG} NOT NULL,
    expires_at      {BIG} NOT NULL,
    outcome         TEXT CHECK (outcome IN ('accepted', 'declined', 'expired')),
    decided_at      {BIG}
);
CREATE UNIQUE INDEX wait_offers_one_open ON wait_offers (request_id) WHERE outcome IS NULL;
CREATE INDEX wait_offers_by_time ON wait_offers (offered_at);
ALTER TABLE bookings ADD COLUMN held_until {BIG};
CREATE TABLE waitlist_idle (
    at           {BIG} NOT NULL,
    gpu_seconds  {BIG} NOT NULL
);
CREATE INDEX waitlist_idle_by_time ON waitlist_idle (at);
"#;

fn schema(backend: DbBackend) -> String {
    let (id, big) = match backend {
        DbBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "BIGINT"),
        _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"),
    };
    SCHEMA.replace("{ID}", id).replace("{BIG}", big)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = schema(manager.get_database_backend());
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = "DROP TABLE waitlist_idle; ALTER TABLE bookings DROP COLUMN held_until; \
                   DROP TABLE wait_offers; DROP TABLE wait_requests;";
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }
}
