//! Ownership claims: Docker cannot relabel an existing container or image, so taking ownership
//! of something made outside Maison is recorded here, keyed by host and Docker id.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &str = r#"
CREATE TABLE claims (
    host        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('container', 'image')),
    object_id   TEXT NOT NULL,
    owner       TEXT NOT NULL,
    owner_name  TEXT NOT NULL,
    claimed_at  INTEGER NOT NULL,
    request_id  TEXT NOT NULL,
    PRIMARY KEY (host, kind, object_id)
) WITHOUT ROWID;
"#;

const POSTGRES: &str = r#"
CREATE TABLE claims (
    host        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('container', 'image')),
    object_id   TEXT NOT NULL,
    owner       TEXT NOT NULL,
    owner_name  TEXT NOT NULL,
    claimed_at  BIGINT NOT NULL,
    request_id  TEXT NOT NULL,
    PRIMARY KEY (host, kind, object_id)
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
            .execute_unprepared("DROP TABLE claims;")
            .await?;
        Ok(())
    }
}
