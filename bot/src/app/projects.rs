//! `project …` and the project a booking serves: `--project` must name an active project;
//! without it, the booker's default applies (if it is still active).
//!
//! Every booking asks which project it serves, and the answer changes rarely, so the active
//! projects and everyone's default are kept in memory for [`PROJECTS_FRESH_FOR`]. A change
//! made here is seen at once; one made through another replica within that time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maison_command::{Lang, ProjectCommand};
use sea_orm::DbErr;

use super::{App, Ctx};
use crate::core::render::Reply;
use crate::core::replies::projects::{self as replies, ProjectLine};
use crate::store::projects::{Added, ProjectRow};

/// How long the projects read from the database are used before being read again.
const PROJECTS_FRESH_FOR: Duration = Duration::from_secs(5);

/// The active projects and each person's default (by user id), as last read.
#[derive(Debug, Default)]
struct Projects {
    active: HashSet<String>,
    defaults: HashMap<i64, String>,
}

/// [`Projects`] and when they were read; empty until first needed.
#[derive(Debug, Default)]
pub(super) struct ProjectCache(Mutex<Option<(Instant, Arc<Projects>)>>);

impl ProjectCache {
    fn fresh(&self) -> Option<Arc<Projects>> {
        let cached = self.0.lock().unwrap();
        cached
            .as_ref()
            .filter(|(read, _)| read.elapsed() < PROJECTS_FRESH_FOR)
            .map(|(_, projects)| projects.clone())
    }

    /// Forgets what was read: the next booking reads the database again.
    fn forget(&self) {
        *self.0.lock().unwrap() = None;
    }
}

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
    /// The active projects and everyone's default, from memory while fresh.
    async fn known_projects(&self) -> Result<Arc<Projects>, DbErr> {
        if let Some(projects) = self.projects.fresh() {
            return Ok(projects);
        }
        let projects = Arc::new(Projects {
            active: self
                .db
                .projects()
                .await?
                .into_iter()
                .filter(ProjectRow::is_active)
                .map(|p| p.name)
                .collect(),
            defaults: self.db.default_projects().await?,
        });
        *self.projects.0.lock().unwrap() = Some((Instant::now(), projects.clone()));
        Ok(projects)
    }

    /// The refusal for a `--project` that names no active project; `None` when it is fine
    /// (or not given).
    pub(super) async fn project_refusal(
        &self,
        typed: Option<&str>,
        lang: Lang,
    ) -> anyhow::Result<Option<Reply>> {
        let Some(name) = typed else {
            return Ok(None);
        };
        if self.known_projects().await?.active.contains(name) {
            return Ok(None);
        }
        Ok(Some(replies::unknown(
            name,
            &lines(&self.db.projects().await?),
            lang,
        )))
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
        let projects = self.known_projects().await?;
        Ok(projects
            .defaults
            .get(&ctx.user.id)
            .filter(|default| projects.active.contains(*default))
            .cloned())
    }

    pub(super) async fn project(
        &self,
        ctx: &Ctx<'_>,
        command: ProjectCommand,
    ) -> anyhow::Result<Reply> {
        let now = ctx.now.timestamp();
        let actor = ctx.user.slack_user_id.as_str();
        // Whatever this changes is seen by this replica's next booking at once.
        let changes = !matches!(command, ProjectCommand::Ls);
        let reply = match command {
            ProjectCommand::Ls => {
                let projects = self.db.projects().await?;
                let default = self.project_or_default(ctx, None).await?;
                replies::list(
                    &lines(&projects),
                    default.as_deref(),
                    ctx.is_admin,
                    ctx.lang,
                )
            }
            ProjectCommand::Default { name: None } => {
                self.db.set_default_project(ctx.user.id, None, now).await?;
                replies::default_cleared(ctx.lang)
            }
            ProjectCommand::Default { name: Some(name) } => {
                if let Some(refusal) = self.project_refusal(Some(&name), ctx.lang).await? {
                    return Ok(refusal);
                }
                self.db
                    .set_default_project(ctx.user.id, Some(&name), now)
                    .await?;
                replies::default_set(&name, ctx.lang)
            }
            ProjectCommand::Add { name, description } => {
                match self
                    .db
                    .add_project(&name, description.as_deref(), actor, ctx.request_id, now)
                    .await?
                {
                    Added::Created => replies::added(&name, false, ctx.lang),
                    Added::Revived => replies::added(&name, true, ctx.lang),
                    Added::AlreadyThere => replies::already_exists(&name, ctx.lang),
                }
            }
            ProjectCommand::Rm { name } => {
                if self
                    .db
                    .retire_project(&name, actor, ctx.request_id, now)
                    .await?
                {
                    replies::removed(&name, ctx.lang)
                } else {
                    replies::unknown(&name, &lines(&self.db.projects().await?), ctx.lang)
                }
            }
        };
        if changes {
            self.projects.forget();
        }
        Ok(reply)
    }
}
