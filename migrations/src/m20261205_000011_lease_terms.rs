//! Fencing for the replicas' leases, and exactly-once delivery of the outbox.
//!
//! * `leases.term`: a number that grows each time a lease is *taken* (a new holder, or the
//!   same holder after its lease lapsed) and stays while it is renewed. Every write a leader
//!   makes as leader names its term and only happens while the lease still has that term, so a
//!   replica that lost its lease (paused, partitioned, slow) cannot write as leader any more.
//!   A lease given back is expired, not deleted, so its term never goes back.
//! * `outbox.sending_since`: set (Unix seconds) just before a message is posted, cleared when
//!   its outcome is known. A row found with it set may already be in Slack: the sender looks
//!   for it in the channel's history (by the message's metadata) before posting again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let big = match manager.get_database_backend() {
            DbBackend::Postgres => "BIGINT",
            _ => "INTEGER",
        };
        let sql = format!(
            "ALTER TABLE leases ADD COLUMN term {big} NOT NULL DEFAULT 0;\n\
             ALTER TABLE outbox ADD COLUMN sending_since {big};"
        );
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE outbox DROP COLUMN sending_since; ALTER TABLE leases DROP COLUMN term;",
            )
            .await?;
        Ok(())
    }
}
