//! Claims (ownership taken of things made outside Maison) and host administration.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, TransactionTrait};

use super::entities::{claim, host};
use super::{AuditEntry, Db};

/// What can be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    Container,
    Image,
}

impl ClaimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Container => "container",
            ClaimKind::Image => "image",
        }
    }
}

/// A claim to record.
#[derive(Debug, Clone)]
pub struct NewClaim<'a> {
    pub host: &'a str,
    pub kind: ClaimKind,
    pub object_id: &'a str,
    /// For the audit log: a readable name of the thing.
    pub label: &'a str,
    pub owner: &'a str,
    pub owner_name: &'a str,
    pub request_id: &'a str,
}

impl Db {
    /// Records a claim unless someone already holds one; returns the holder's claim otherwise.
    pub async fn claim(
        &self,
        new: &NewClaim<'_>,
        now: i64,
    ) -> Result<Result<(), claim::Model>, DbErr> {
        let txn = self.begin_write().await?;
        let existing = claim::Entity::find_by_id((
            new.host.to_owned(),
            new.kind.as_str().to_owned(),
            new.object_id.to_owned(),
        ))
        .one(&txn)
        .await?;
        if let Some(existing) = existing {
            return Ok(Err(existing));
        }
        let row = claim::ActiveModel {
            host: Set(new.host.to_owned()),
            kind: Set(new.kind.as_str().to_owned()),
            object_id: Set(new.object_id.to_owned()),
            owner: Set(new.owner.to_owned()),
            owner_name: Set(new.owner_name.to_owned()),
            claimed_at: Set(now),
            request_id: Set(new.request_id.to_owned()),
        };
        claim::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    claim::Column::Host,
                    claim::Column::Kind,
                    claim::Column::ObjectId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        let entry = AuditEntry {
            actor: new.owner,
            action: "claim",
            target: format!(
                "{} {} on {} ({})",
                new.kind.as_str(),
                new.label,
                new.host,
                new.object_id
            ),
            outcome: "ok",
            request_id: new.request_id,
            detail: None,
        };
        Db::audit(&txn, now, entry).await?;
        txn.commit().await?;
        Ok(Ok(()))
    }

    /// Claims on one host (or all hosts), for resolving owners of listed things.
    pub async fn claims(&self, host: Option<&str>) -> Result<Vec<claim::Model>, DbErr> {
        let mut query = claim::Entity::find();
        if let Some(host) = host {
            query = query.filter(claim::Column::Host.eq(host));
        }
        query.all(self.connection()).await
    }

    /// Sets a host `active` or `drained`; returns false if the host does not exist.
    pub async fn set_host_state(
        &self,
        name: &str,
        state: &str,
        actor: &str,
        request_id: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        let txn = self.connection().begin().await?;
        let updated = host::Entity::update_many()
            .filter(host::Column::Name.eq(name))
            .col_expr(host::Column::State, state.into())
            .col_expr(host::Column::UpdatedAt, now.into())
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Ok(false);
        }
        let action = if state == "drained" {
            "host_drain"
        } else {
            "host_undrain"
        };
        Db::audit(
            &txn,
            now,
            AuditEntry {
                actor,
                action,
                target: format!("host {name}"),
                outcome: "ok",
                request_id,
                detail: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }
}
