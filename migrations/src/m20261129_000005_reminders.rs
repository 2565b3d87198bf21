//! Reminder state and refused bookings.
//!
//! `reminders`: what each person was told about what (a booking ending, a stopped container…),
//! and until when they asked not to hear about it again ("Keep 7 days"), so the minute-by-minute
//! reminder job never nags twice. `booking_refusals`: requests turned down because the GPUs were
//! taken, the "refused demand" of the capacity report.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &str = r#"
CREATE TABLE reminders (
    subject     TEXT PRIMARY KEY NOT NULL,
    recipient   TEXT NOT NULL,
    episode     INTEGER NOT NULL,
    told_at     INTEGER NOT NULL,
    keep_until  INTEGER,
    kept_by     TEXT
) WITHOUT ROWID;
CREATE TABLE booking_refusals (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    slack_user_id  TEXT NOT NULL,
    host           TEXT,
    gpus           INTEGER NOT NULL,
    start_at       INTEGER NOT NULL,
    end_at         INTEGER NOT NULL
);
CREATE INDEX booking_refusals_by_time ON booking_refusals (at);
"#;

const POSTGRES: &str = r#"
CREATE TABLE reminders (
    subject     TEXT PRIMARY KEY,
    recipient   TEXT NOT NULL,
    episode     BIGINT NOT NULL,
    told_at     BIGINT NOT NULL,
    keep_until  BIGINT,
    kept_by     TEXT
);
CREATE TABLE booking_refusals (
    id             BIGSERIAL PRIMARY KEY,
    at             BIGINT NOT NULL,
    slack_user_id  TEXT NOT NULL,
    host           TEXT,
    gpus           INTEGER NOT NULL,
    start_at       BIGINT NOT NULL,
    end_at         BIGINT NOT NULL
);
CREATE INDEX booking_refusals_by_time ON booking_refusals (at);
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
            .execute_unprepared("DROP TABLE booking_refusals; DROP TABLE reminders;")
            .await?;
        Ok(())
    }
}
