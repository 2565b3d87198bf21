//! What people see of the jobs: `jobs list` (CLI and Slack) and `/maison jobs run`.

use chrono::{DateTime, Utc};
use maison_command::JobsCommand;

use crate::app::App;
use crate::core::jobs::{JobStatus, render_overview, statuses, unknown_job};
use crate::core::render::Reply;
use crate::db::{AuditEntry, Db};
use crate::schedule::{lookup, manual_slot_key};

/// Who runs a jobs command from Slack (or the terminal).
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub user: &'a str,
    /// Where the outcome of `jobs run` is shown; `None` in the terminal (a DM is sent).
    pub response_url: Option<&'a str>,
    pub request_id: &'a str,
    pub now: DateTime<Utc>,
}

/// Every job of the table with its schedule, next run and last run.
pub async fn job_statuses(app: &App, now: DateTime<Utc>) -> anyhow::Result<Vec<JobStatus>> {
    Ok(statuses(&app.config, &app.db.latest_job_runs().await?, now))
}

/// `/maison jobs …` (admins only; checked before dispatch).
pub async fn slack_command(
    app: &App,
    command: JobsCommand,
    caller: Caller<'_>,
) -> anyhow::Result<Reply> {
    match command {
        JobsCommand::List => {
            let statuses = job_statuses(app, caller.now).await?;
            let outbox = app.db.outbox_stats().await?;
            Ok(render_overview(
                &statuses,
                &outbox,
                app.config.company_tz(),
                caller.now,
            ))
        }
        JobsCommand::Run { job } => {
            if lookup(&job).is_none() {
                return Ok(unknown_job(&job));
            }
            let slot = caller.now.with_timezone(&app.config.company_tz());
            let key = manual_slot_key(&slot);
            let now = caller.now.timestamp();
            let queued = app
                .db
                .request_job_run(&job, &key, caller.user, caller.response_url, now)
                .await?;
            Db::audit(
                app.db.connection(),
                now,
                AuditEntry {
                    actor: caller.user,
                    action: "jobs.run",
                    target: job.clone(),
                    outcome: if queued { "queued" } else { "duplicate" },
                    request_id: caller.request_id,
                    detail: None,
                },
            )
            .await?;
            Ok(if queued {
                Reply::ephemeral(format!(
                    "Running `{job}` now; you will see how it went when it is done."
                ))
            } else {
                Reply::ephemeral(format!(
                    "`{job}` was already started this second; you will see how it went."
                ))
            })
        }
    }
}
