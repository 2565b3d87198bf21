//! The image catalogue: the config's house images, the versions people publish, the admins'
//! decisions on them, and deprecations. Every change is audited in its own transaction, with
//! the messages it sends (the admins' Approve / Reject DMs, the requester's answer).

use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use tracing::{info, warn};

use super::sql::{Decides, get, stmt};
use super::{AuditEntry, Db};
use crate::config::CatalogImage;
use crate::core::catalogue::{
    Catalog, CatalogOrigin, CatalogStatus, CatalogVersion, PublishRefusal,
};
use crate::core::fleet::Decision;
use crate::core::message::OutgoingMessage;

const COLUMNS: &str = "id, name, version, reference, image_id, source_name, source_host, \
                       description, project, origin, status, requested_by, requester_name, \
                       created_at, decided_by, decided_at, deprecated_at, replaced_by";

/// A publish to ask the admins for.
#[derive(Debug, Clone)]
pub struct NewPublish<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// The image id (`sha256:…`): what a launch of this version runs.
    pub image_id: &'a str,
    pub source_name: &'a str,
    pub source_host: &'a str,
    pub description: &'a str,
    pub project: Option<&'a str>,
    pub requester: &'a str,
    pub requester_name: &'a str,
    pub is_admin: bool,
    pub request_id: &'a str,
}

/// How `image publish` went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Recorded as pending; the admins were told.
    Asked(CatalogVersion),
    Refused(PublishRefusal),
}

/// What an admin's click did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishDecision {
    Approved(CatalogVersion),
    Rejected(CatalogVersion),
    /// Someone decided it first: nothing changed.
    AlreadyDecided(CatalogVersion),
    NoSuchRequest,
}

impl Db {
    /// Every version not rejected.
    pub async fn catalog(&self) -> Result<Catalog, DbErr> {
        read_catalog(self.reader()).await
    }

    /// One row, whatever its state (a request an admin is deciding).
    pub async fn catalog_version(&self, id: i64) -> Result<Option<CatalogVersion>, DbErr> {
        let row = self
            .reader()
            .query_one_raw(stmt(
                self.backend(),
                &format!("SELECT {COLUMNS} FROM catalog_images WHERE id = ?"),
                vec![id.into()],
            ))
            .await?;
        row.as_ref().map(version_of).transpose()
    }

    /// Makes the catalogue's config rows match the config's `[[images]]`, at start-up: new
    /// entries are added (approved), changed ones updated, and versions that left the config
    /// deprecated, pointing at the name's current config version, so that the orphan report
    /// can reclaim them later rather than forget them at once.
    pub async fn seed_catalog(&self, images: &[CatalogImage], now: i64) -> Result<(), DbErr> {
        let txn = self.begin_write().await?;
        let backend = txn.get_database_backend();
        let catalog = read_catalog(&txn).await?;
        let mut kept = Vec::new();
        for image in images {
            let version = config_version(&image.reference);
            let existing = catalog
                .of(&image.name)
                .find(|v| v.version == version)
                .cloned();
            match existing {
                Some(row) if row.origin == CatalogOrigin::Published => {
                    warn!(name = %image.name, version, published_by = %row.requested_by,
                        "a house image in the config has the name and version of a published one; the published one stays");
                    continue;
                }
                Some(row) => {
                    txn.execute_raw(stmt(
                        backend,
                        "UPDATE catalog_images SET reference = ?, description = ?, \
                         deprecated_at = NULL, replaced_by = NULL WHERE id = ?",
                        vec![
                            image.reference.as_str().into(),
                            image.description.as_str().into(),
                            row.id.into(),
                        ],
                    ))
                    .await?;
                }
                None => {
                    txn.execute_raw(stmt(
                        backend,
                        "INSERT INTO catalog_images (name, version, reference, description, \
                         origin, status, requested_by, requester_name, created_at, decided_by, \
                         decided_at, request_id) \
                         VALUES (?, ?, ?, ?, 'config', 'approved', 'config', 'the config', ?, \
                         'config', ?, 'config')",
                        vec![
                            image.name.as_str().into(),
                            version.as_str().into(),
                            image.reference.as_str().into(),
                            image.description.as_str().into(),
                            now.into(),
                            now.into(),
                        ],
                    ))
                    .await?;
                    info!(name = %image.name, version, "house image added to the catalogue");
                }
            }
            kept.push((image.name.clone(), version));
        }
        for gone in catalog.versions().iter().filter(|v| {
            v.origin == CatalogOrigin::Config
                && v.deprecated_at.is_none()
                && !kept
                    .iter()
                    .any(|(n, ver)| *n == v.name && *ver == v.version)
        }) {
            let successor = kept
                .iter()
                .find(|(name, _)| *name == gone.name)
                .map(|(name, version)| format!("{name}:{version}"));
            txn.execute_raw(stmt(
                backend,
                "UPDATE catalog_images SET deprecated_at = ?, replaced_by = ? WHERE id = ?",
                vec![now.into(), successor.into(), gone.id.into()],
            ))
            .await?;
            info!(version = %gone.label(), "house image left the config: deprecated");
        }
        txn.commit().await
    }

    /// Records a publish request and, in the same transaction, the messages `notify` makes of
    /// it (the admins' Approve / Reject DMs). The rules are checked again inside the
    /// transaction, so two people asking for the same name at once cannot both get it.
    pub async fn request_publish(
        &self,
        new: &NewPublish<'_>,
        now: i64,
        notify: &(dyn Fn(&CatalogVersion) -> Vec<OutgoingMessage> + Sync),
    ) -> Result<PublishOutcome, DbErr> {
        let txn = self.begin_write().await?;
        let backend = txn.get_database_backend();
        Decides::CatalogName(new.name).lock_in(&txn).await?;
        let catalog = read_catalog(&txn).await?;
        if let Some(refusal) =
            catalog.publish_problem(new.name, new.version, new.requester, new.is_admin)
        {
            return Ok(PublishOutcome::Refused(refusal));
        }
        let row = txn
            .query_one_raw(stmt(
                backend,
                &format!(
                    "INSERT INTO catalog_images (name, version, reference, image_id, \
                     source_name, source_host, description, project, origin, status, \
                     requested_by, requester_name, created_at, request_id) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'published', 'pending', ?, ?, ?, ?) \
                     RETURNING {COLUMNS}"
                ),
                vec![
                    new.name.into(),
                    new.version.into(),
                    new.image_id.into(),
                    new.image_id.into(),
                    new.source_name.into(),
                    new.source_host.into(),
                    new.description.into(),
                    new.project.into(),
                    new.requester.into(),
                    new.requester_name.into(),
                    now.into(),
                    new.request_id.into(),
                ],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("catalogue row just written".to_owned()))?;
        let pending = version_of(&row)?;
        for message in notify(&pending) {
            Db::enqueue_on(&txn, &message, now, None).await?;
        }
        Db::audit(
            &txn,
            now,
            AuditEntry {
                actor: new.requester,
                action: "image publish",
                target: format!(
                    "{} ({} on {})",
                    pending.label(),
                    new.source_name,
                    new.source_host
                ),
                outcome: "pending",
                request_id: new.request_id,
                detail: Some(format!("request #{}: {}", pending.id, new.image_id)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(PublishOutcome::Asked(pending))
    }

    /// An admin's Approve or Reject. Only a pending request changes, so two admins pressing
    /// at once decide once; the decision, its audit and the requester's DM are one transaction.
    pub async fn decide_publish(
        &self,
        id: i64,
        decision: Decision,
        admin: &str,
        request_id: &str,
        now: i64,
        notify: &(dyn Fn(&PublishDecision) -> Vec<OutgoingMessage> + Sync),
    ) -> Result<PublishDecision, DbErr> {
        let txn = self.begin_write().await?;
        let backend = txn.get_database_backend();
        let status = match decision {
            Decision::Approve => CatalogStatus::Approved,
            Decision::Deny => CatalogStatus::Rejected,
        };
        let changed = txn
            .execute_raw(stmt(
                backend,
                "UPDATE catalog_images SET status = ?, decided_by = ?, decided_at = ? \
                 WHERE id = ? AND status = 'pending'",
                vec![status.as_str().into(), admin.into(), now.into(), id.into()],
            ))
            .await?
            .rows_affected()
            == 1;
        let row = txn
            .query_one_raw(stmt(
                backend,
                &format!("SELECT {COLUMNS} FROM catalog_images WHERE id = ?"),
                vec![id.into()],
            ))
            .await?;
        let Some(row) = row else {
            return Ok(PublishDecision::NoSuchRequest);
        };
        let version = version_of(&row)?;
        if !changed {
            return Ok(PublishDecision::AlreadyDecided(version));
        }
        Db::audit(
            &txn,
            now,
            AuditEntry {
                actor: admin,
                action: "image publish decide",
                target: version.label(),
                outcome: status.as_str(),
                request_id,
                detail: Some(format!(
                    "request #{id} of {}: {}",
                    version.requested_by, version.reference
                )),
            },
        )
        .await?;
        let outcome = match decision {
            Decision::Approve => PublishDecision::Approved(version),
            Decision::Deny => PublishDecision::Rejected(version),
        };
        for message in notify(&outcome) {
            Db::enqueue_on(&txn, &message, now, None).await?;
        }
        txn.commit().await?;
        Ok(outcome)
    }

    /// Deprecates the approved, not yet deprecated versions of `name` (one, or all), saying
    /// what to use instead; returns those it changed.
    pub async fn deprecate_versions(
        &self,
        name: &str,
        version: Option<&str>,
        replaced_by: Option<&str>,
        actor: &str,
        request_id: &str,
        now: i64,
    ) -> Result<Vec<CatalogVersion>, DbErr> {
        let txn = self.begin_write().await?;
        let backend = txn.get_database_backend();
        let mut sql = "UPDATE catalog_images SET deprecated_at = ?, replaced_by = ? \
                       WHERE name = ? AND status = 'approved' AND deprecated_at IS NULL"
            .to_owned();
        let mut values = vec![now.into(), replaced_by.into(), name.into()];
        if let Some(version) = version {
            sql.push_str(" AND version = ?");
            values.push(version.into());
        }
        sql.push_str(&format!(" RETURNING {COLUMNS}"));
        let rows = txn.query_all_raw(stmt(backend, &sql, values)).await?;
        let mut changed: Vec<CatalogVersion> =
            rows.iter().map(version_of).collect::<Result<_, _>>()?;
        changed.sort_by_key(|v| v.id);
        for v in &changed {
            Db::audit(
                &txn,
                now,
                AuditEntry {
                    actor,
                    action: "image deprecate",
                    target: v.label(),
                    outcome: "ok",
                    request_id,
                    detail: replaced_by.map(|r| format!("use {r}")),
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(changed)
    }
}

/// A config reference's version: its tag (`…/pytorch:2.5-cuda12.4` → `2.5-cuda12.4`), else
/// `latest`, which is what Docker reads a reference without a tag as.
pub fn config_version(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let last = last.split('@').next().unwrap_or(last);
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag.to_owned(),
        _ => "latest".to_owned(),
    }
}

async fn read_catalog<C: ConnectionTrait>(conn: &C) -> Result<Catalog, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            conn.get_database_backend(),
            &format!("SELECT {COLUMNS} FROM catalog_images WHERE status <> 'rejected' ORDER BY id"),
            vec![],
        ))
        .await?;
    Ok(Catalog::new(
        rows.iter().map(version_of).collect::<Result<_, _>>()?,
    ))
}

fn version_of(row: &QueryResult) -> Result<CatalogVersion, DbErr> {
    Ok(CatalogVersion {
        id: get(row, 0)?,
        name: get(row, 1)?,
        version: get(row, 2)?,
        reference: get(row, 3)?,
        image_id: get(row, 4)?,
        source_name: get(row, 5)?,
        source_host: get(row, 6)?,
        description: get(row, 7)?,
        project: get(row, 8)?,
        origin: CatalogOrigin::parse(&get::<String>(row, 9)?),
        status: CatalogStatus::parse(&get::<String>(row, 10)?),
        requested_by: get(row, 11)?,
        requester_name: get(row, 12)?,
        created_at: get(row, 13)?,
        decided_by: get(row, 14)?,
        decided_at: get(row, 15)?,
        deprecated_at: get(row, 16)?,
        replaced_by: get(row, 17)?,
    })
}

#[cfg(test)]
mod tests {
    use super::config_version;

    #[test]
    fn a_config_reference_versions_by_its_tag() {
        assert_eq!(
            config_version("registry.lan:5000/house/pytorch:2.5-cuda12"),
            "2.5-cuda12"
        );
        assert_eq!(config_version("registry.lan:5000/house/pytorch"), "latest");
        assert_eq!(config_version("busybox"), "latest");
        assert_eq!(config_version("busybox:1.36@sha256:abcd"), "1.36");
    }
}
