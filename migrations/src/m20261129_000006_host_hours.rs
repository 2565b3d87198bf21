//! Per-host hourly totals (GPU-minutes observed and busy), kept beside `gpu_hours` so that
//! capacity reports over months and hundreds of hosts read one row per host-hour instead of one
//! per GPU and holder.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &str = r#"
CREATE TABLE host_hours (
    host_id       INTEGER NOT NULL,
    hour          INTEGER NOT NULL,
    minutes       INTEGER NOT NULL,
    busy_minutes  INTEGER NOT NULL,
    PRIMARY KEY (host_id, hour)
) WITHOUT ROWID;
INSERT INTO host_hours (host_id, hour, minutes, busy_minutes)
    SELECT host_id, hour, SUM(minutes), SUM(busy_minutes) FROM gpu_hours GROUP BY host_id, hour;
"#;

const POSTGRES: &str = r#"
CREATE TABLE host_hours (
    host_id       INTEGER NOT NULL,
    hour          BIGINT NOT NULL,
    minutes       BIGINT NOT NULL,
    busy_minutes  BIGINT NOT NULL,
    PRIMARY KEY (host_id, hour)
);
INSERT INTO host_hours (host_id, hour, minutes, busy_minutes)
    SELECT host_id, hour, SUM(minutes), SUM(busy_minutes) FROM gpu_hours GROUP BY host_id, hour;
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
            .execute_unprepared("DROP TABLE host_hours;")
            .await?;
        Ok(())
    }
}
