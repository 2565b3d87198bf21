//! Claim requests: a member who cannot show that a container is theirs (its processes do not
//! run as their Unix uid, it is stopped, or it is an image) asks the admins instead. The request
//! is durable, so an approval given days later, or after a restart, still takes effect once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &str = r#"
CREATE TABLE claim_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('container', 'image')),
    host            TEXT NOT NULL,
    object_id       TEXT NOT NULL,
    label           TEXT NOT NULL,
    requester       TEXT NOT NULL,
    requester_name  TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by      TEXT,
    created_at      INTEGER NOT NULL,
    decided_at      INTEGER,
    request_id      TEXT NOT NULL
);
CREATE UNIQUE INDEX claim_requests_one_pending
    ON claim_requests (host, kind, object_id, requester) WHERE status = 'pending';
"#;

const POSTGRES: &str = r#"
CREATE TABLE claim_requests (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('container', 'image')),
    host            TEXT NOT NULL,
    object_id       TEXT NOT NULL,
    label           TEXT NOT NULL,
    requester       TEXT NOT NULL,
    requester_name  TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by      TEXT,
    created_at      BIGINT NOT NULL,
    decided_at      BIGINT,
    request_id      TEXT NOT NULL
);
CREATE UNIQUE INDEX claim_requests_one_pending
    ON claim_requests (host, kind, object_id, requester) WHERE status = 'pending';
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
            .execute_unprepared("DROP TABLE claim_requests;")
            .await?;
        Ok(())
    }
}
