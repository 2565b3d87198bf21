//! Maison's database schema, as append-only migrations.
//!
//! A migration that has landed is never edited: schema changes are new files. The bot applies
//! them at start-up (`Migrator::up`) and on `maison-bot migrate`. Only one process migrates at a
//! time (sea-orm-migration takes no lock), which is why replicas are started after `migrate`.
//!
//! Times are stored as Unix seconds (`BIGINT`): one representation on SQLite and PostgreSQL,
//! compact, and directly usable in PostgreSQL's `int8range` exclusion constraint.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_bookings;
mod m20261129_000002_fleet;
mod m20261129_000003_claims;
mod m20261129_000004_jobs_outbox;
mod m20261129_000005_reminders;
mod m20261129_000006_host_hours;
mod m20261129_000007_claim_requests;
mod m20261130_000008_datasets;
mod m20261201_000009_waitlist;
mod m20261205_000010_projects;
mod m20261205_000011_lease_terms;
mod m20261205_000020_image_parents;
mod m20261205_000021_user_language;
mod m20261205_000022_image_catalogue;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_bookings::Migration),
            Box::new(m20261129_000002_fleet::Migration),
            Box::new(m20261129_000003_claims::Migration),
            Box::new(m20261129_000004_jobs_outbox::Migration),
            Box::new(m20261129_000005_reminders::Migration),
            Box::new(m20261129_000006_host_hours::Migration),
            Box::new(m20261129_000007_claim_requests::Migration),
            Box::new(m20261130_000008_datasets::Migration),
            Box::new(m20261201_000009_waitlist::Migration),
            Box::new(m20261205_000010_projects::Migration),
            Box::new(m20261205_000011_lease_terms::Migration),
            Box::new(m20261205_000020_image_parents::Migration),
            Box::new(m20261205_000021_user_language::Migration),
            Box::new(m20261205_000022_image_catalogue::Migration),
        ]
    }
}
