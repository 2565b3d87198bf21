//! `/maison jobs …` (admins only): the jobs with their schedules and last runs, and `jobs run`,
//! which writes a request row that the scheduler (`jobs/`) picks up on its next tick and
//! reports to whoever asked.

use maison_command::JobsCommand;

use super::{App, Ctx};
use crate::core::jobs::{self, render_overview, statuses, unknown_job};
use crate::core::render::Reply;
use crate::schedule::{lookup, manual_slot_key};
use crate::store::{AuditEntry, Db};

impl App {
    pub(super) async fn jobs(&self, ctx: &Ctx<'_>, command: JobsCommand) -> anyhow::Result<Reply> {
        match command {
            JobsCommand::List => {
                let latest = self.db.latest_job_runs().await?;
                let statuses = statuses(&self.config, &latest, ctx.now);
                let outbox = self.db.outbox_stats().await?;
                Ok(render_overview(
                    &statuses,
                    &outbox,
                    self.config.company_tz(),
                    ctx.now,
                ))
            }
            JobsCommand::Run { job } => {
                if lookup(&job).is_none() {
                    return Ok(unknown_job(&job));
                }
                let slot = ctx.now.with_timezone(&self.config.company_tz());
                let key = manual_slot_key(&slot);
                let now = ctx.now.timestamp();
                let user = &ctx.user.slack_user_id;
                let queued = self
                    .db
                    .request_job_run(&job, &key, user, ctx.response_url, now)
                    .await?;
                Db::audit(
                    self.db.connection(),
                    now,
                    AuditEntry {
                        actor: user,
                        action: "jobs.run",
                        target: job.clone(),
                        outcome: if queued { "queued" } else { "duplicate" },
                        request_id: ctx.request_id,
                        detail: None,
                    },
                )
                .await?;
                Ok(jobs::run_requested(&job, queued))
            }
        }
    }
}
