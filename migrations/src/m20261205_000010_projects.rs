//! Projects, for capacity planning by project.
//!
//! * `projects`: the list admins keep (`project add` / `project rm`); a removed project is
//!   retired, not deleted, so old bookings and reports still name it.
//! * `bookings.project` and `wait_requests.project`: the project a booking serves (by name, as
//!   the reports group by it); a wait-list request passes it on to the booking it becomes.
//! * `project_defaults`: each person's default project (`project default <name>`), kept apart
//!   from `users`, which is rewritten whenever the Slack profile is refreshed.
//!
//! Energy needs no new column: `gpu_hours.power_sum` already keeps watt-minutes per host, hour,
//! GPU and holder.
//!
//! One text serves both backends: only the id and integer types differ.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SCHEMA: &str = r#"
CREATE TABLE projects (
    id            {ID},
    name          TEXT NOT NULL UNIQUE,
    description   TEXT,
    created_by    TEXT NOT NULL,
    created_at    {BIG} NOT NULL,
    retired_at    {BIG}
);
CREATE TABLE project_defaults (
    user_id       {BIG} PRIMARY KEY REFERENCES users (id),
    project       TEXT NOT NULL,
    updated_at    {BIG} NOT NULL
);
ALTER TABLE bookings ADD COLUMN project TEXT;
ALTER TABLE wait_requests ADD COLUMN project TEXT;
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
        let sql = "ALTER TABLE wait_requests DROP COLUMN project; \
                   ALTER TABLE bookings DROP COLUMN project; \
                   DROP TABLE project_defaults; DROP TABLE projects;";
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }
}
