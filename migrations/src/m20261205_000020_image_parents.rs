//! `images.parent_id`: the image an image was made from, as Maison recorded it on the image
//! (`maison.image.parent_id`). The orphan report follows it: an unused image that a used one
//! was made from is not an orphan (removing it would fail anyway, and it is the used one's
//! history).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE images ADD COLUMN parent_id TEXT;")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE images DROP COLUMN parent_id;")
            .await?;
        Ok(())
    }
}
