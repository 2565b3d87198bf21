//! The image catalogue in the database: what `launch <host> <short name>` runs.
//!
//! One row per version of a short name. The config's `[[images]]` seed it (`origin = 'config'`,
//! approved, re-read at every start-up); `image publish` adds `origin = 'published'` rows that
//! wait for an admin (`pending` → `approved` or `rejected`). A version is never edited after
//! it is decided, except to deprecate it ("use X instead"), which is what lets the orphan report
//! reclaim a deprecated version nobody uses any more.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `{id}` and `{time}` differ between the two engines; the rest is the same text.
const TABLE: &str = r#"
CREATE TABLE catalog_images (
    id              {id},
    name            TEXT NOT NULL,
    version         TEXT NOT NULL,
    -- What a launch hands to Docker: the registry reference of a config image, the image id
    -- (sha256:…) of a published one, so that a re-tag can never change what a version is.
    reference       TEXT NOT NULL,
    image_id        TEXT,
    -- The name and host the image was published from, for people reading the catalogue.
    source_name     TEXT,
    source_host     TEXT,
    description     TEXT NOT NULL DEFAULT '',
    project         TEXT,
    origin          TEXT NOT NULL CHECK (origin IN ('config', 'published')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_by    TEXT NOT NULL,
    requester_name  TEXT NOT NULL,
    created_at      {time} NOT NULL,
    decided_by      TEXT,
    decided_at      {time},
    deprecated_at   {time},
    -- "Use X instead": another catalogue name or name:version.
    replaced_by     TEXT,
    request_id      TEXT NOT NULL
);
-- A name:version is asked for or granted once; a rejected request frees it again.
CREATE UNIQUE INDEX catalog_images_one_version
    ON catalog_images (name, version) WHERE status <> 'rejected';
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (id, time) = match manager.get_database_backend() {
            DbBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "BIGINT"),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"),
        };
        let sql = TABLE.replace("{id}", id).replace("{time}", time);
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE catalog_images;")
            .await?;
        Ok(())
    }
}
