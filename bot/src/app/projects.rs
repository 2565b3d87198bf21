//! `project …` and the project a booking serves: `--project` must name an active project;
//! without it, the booker's default applies (if it is still active).

use maison_command::ProjectCommand;
use sea_orm::DbErr;

use super::{App, Ctx};
use crate::core::render::Reply;
use crate::core::replies::projects::{self as replies, ProjectLine};
use crate::store::projects::{Added, ProjectRow};

fn lines(rows: &[ProjectRow]) -> Vec<ProjectLine> {
    rows.iter()
        .map(|p| ProjectLine {
            name: p.name.clone(),
            description: p.description.clone(),
            active: p.is_active(),
        })
        .collect()
}

impl App {
    /// The refusal for a `--project` that names no active project; `None` when it is fine
    /// (or not given).
    pub(super) async fn project_refusal(
        &self,
        typed: Option<&str>,
    ) -> anyhow::Result<Option<Reply>> {
        let Some(name) = typed else {
            return Ok(None);
        };
        let projects = self.db.projects().await?;
        if projects.iter().any(|p| p.name == name && p.is_active()) {
            return Ok(None);
        }
        Ok(Some(replies::unknown(name, &lines(&projects))))
    }

    /// The project a booking of the caller serves: the one typed (already checked), else
    /// their default while it is active.
    pub(super) async fn project_or_default(
        &self,
        ctx: &Ctx<'_>,
        typed: Option<&str>,
    ) -> Result<Option<String>, DbErr> {
        if let Some(name) = typed {
            return Ok(Some(name.to_owned()));
        }
        let Some(default) = self.db.default_project(ctx.user.id).await? else {
            return Ok(None);
        };
        let active = self
            .db
            .projects()
            .await?
            .iter()
            .any(|p| p.name == default && p.is_active());
        Ok(active.then_some(default))
    }

    pub(super) async fn project(
        &self,
        ctx: &Ctx<'_>,
        command: ProjectCommand,
    ) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        let actor = ctx.user.slack_user_id.as_str();
        Ok(match command {
            ProjectCommand::Ls => {
                let projects = self.db.projects().await?;
                let default = self.project_or_default(ctx, None).await?;
                replies::list(&lines(&projects), default.as_deref(), ctx.is_admin)
            }
            ProjectCommand::Default { name: None } => {
                self.db.set_default_project(ctx.user.id, None, now).await?;
                replies::default_cleared()
            }
            ProjectCommand::Default { name: Some(name) } => {
                if let Some(refusal) = self.project_refusal(Some(&name)).await? {
                    return Ok(refusal);
                }
                self.db
                    .set_default_project(ctx.user.id, Some(&name), now)
                    .await?;
                replies::default_set(&name)
            }
            ProjectCommand::Add { name, description } => {
                match self
                    .db
                    .add_project(&name, description.as_deref(), actor, ctx.request_id, now)
                    .await?
                {
                    Added::Created => replies::added(&name, false),
                    Added::Revived => replies::added(&name, true),
                    Added::AlreadyThere => replies::already_exists(&name),
                }
            }
            ProjectCommand::Rm { name } => {
                if self
                    .db
                    .retire_project(&name, actor, ctx.request_id, now)
                    .await?
                {
                    replies::removed(&name)
                } else {
                    replies::unknown(&name, &lines(&self.db.projects().await?))
                }
            }
        })
    }
}
