//! Projects: the list admins keep, each person's default, and the audit of both.

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use super::sql::{get, stmt};
use super::{AuditEntry, Db};

/// One project as `project ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub name: String,
    pub description: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    /// Set once removed: kept so that old bookings and reports still name it.
    pub retired_at: Option<i64>,
}

impl ProjectRow {
    pub fn is_active(&self) -> bool {
        self.retired_at.is_none()
    }
}

/// How `project add` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Created,
    /// It had been removed; it takes bookings again.
    Revived,
    AlreadyThere,
}

impl Db {
    /// Every project, active or not, by name.
    pub async fn projects(&self) -> Result<Vec<ProjectRow>, DbErr> {
        let rows = self
            .reader()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT name, description, created_by, created_at, retired_at FROM projects \
                 ORDER BY name",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ProjectRow {
                    name: get(r, 0)?,
                    description: get(r, 1)?,
                    created_by: get(r, 2)?,
                    created_at: get(r, 3)?,
                    retired_at: get(r, 4)?,
                })
            })
            .collect()
    }

    /// Adds a project (or brings a removed one back), audited in the same transaction.
    pub async fn add_project(
        &self,
        name: &str,
        description: Option<&str>,
        actor: &str,
        request_id: &str,
        now: i64,
    ) -> Result<Added, DbErr> {
        // Read, then write: on SQLite the write lock is taken first, or two of these at once
        // each hold a read lock the other's write waits for ("database is locked").
        let txn = self.begin_write().await?;
        let backend = self.backend();
        let existing = txn
            .query_one_raw(stmt(
                backend,
                "SELECT retired_at FROM projects WHERE name = ?",
                vec![name.into()],
            ))
            .await?
            .map(|r| get::<Option<i64>>(&r, 0))
            .transpose()?;
        // The read above decides nothing on its own: two admins adding the same name at once
        // both read nothing there. Each write says whether it changed a row, and the one that
        // did not finds the project already there (rather than failing on the unique name).
        let added = match existing {
            Some(None) => Added::AlreadyThere,
            Some(Some(_)) => {
                let revived = txn
                    .execute_raw(stmt(
                        backend,
                        "UPDATE projects SET retired_at = NULL, \
                         description = COALESCE(?, description) \
                         WHERE name = ? AND retired_at IS NOT NULL",
                        vec![description.into(), name.into()],
                    ))
                    .await?
                    .rows_affected();
                if revived == 1 {
                    Added::Revived
                } else {
                    Added::AlreadyThere
                }
            }
            None => {
                let inserted = txn
                    .execute_raw(stmt(
                        backend,
                        "INSERT INTO projects (name, description, created_by, created_at) \
                         VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                        vec![name.into(), description.into(), actor.into(), now.into()],
                    ))
                    .await?
                    .rows_affected();
                if inserted == 1 {
                    Added::Created
                } else {
                    Added::AlreadyThere
                }
            }
        };
        if added != Added::AlreadyThere {
            Db::audit(
                &txn,
                now,
                AuditEntry {
                    actor,
                    action: "project.add",
                    target: name.to_owned(),
                    outcome: "ok",
                    request_id,
                    detail: description.map(str::to_owned),
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(added)
    }

    /// Retires a project; `false` when there is no active project of that name.
    pub async fn retire_project(
        &self,
        name: &str,
        actor: &str,
        request_id: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        let txn = self.connection().begin().await?;
        let changed = txn
            .execute_raw(stmt(
                self.backend(),
                "UPDATE projects SET retired_at = ? WHERE name = ? AND retired_at IS NULL",
                vec![now.into(), name.into()],
            ))
            .await?
            .rows_affected()
            > 0;
        if changed {
            Db::audit(
                &txn,
                now,
                AuditEntry {
                    actor,
                    action: "project.rm",
                    target: name.to_owned(),
                    outcome: "ok",
                    request_id,
                    detail: None,
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(changed)
    }

    /// Everyone's default project, by user id.
    pub async fn default_projects(&self) -> Result<std::collections::HashMap<i64, String>, DbErr> {
        let rows = self
            .reader()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT user_id, project FROM project_defaults",
                vec![],
            ))
            .await?;
        rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect()
    }

    /// Sets (or, with `None`, clears) a person's default project.
    pub async fn set_default_project(
        &self,
        user_id: i64,
        project: Option<&str>,
        now: i64,
    ) -> Result<(), DbErr> {
        let statement = match project {
            Some(project) => stmt(
                self.backend(),
                "INSERT INTO project_defaults (user_id, project, updated_at) VALUES (?, ?, ?) \
                 ON CONFLICT (user_id) DO UPDATE SET project = excluded.project, \
                 updated_at = excluded.updated_at",
                vec![user_id.into(), project.into(), now.into()],
            ),
            None => stmt(
                self.backend(),
                "DELETE FROM project_defaults WHERE user_id = ?",
                vec![user_id.into()],
            ),
        };
        self.connection().execute_raw(statement).await?;
        Ok(())
    }
}
