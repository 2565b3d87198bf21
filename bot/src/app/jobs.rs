//! `/maison jobs …` (admins only): the jobs with their schedules and last runs, and `jobs run`,
//! which writes a request row that the scheduler (`jobs/`) picks up on its next tick and
//! reports to whoever asked.

use std::time::Duration;

use anyhow::Context;
use maison_command::{JobsCommand, Lang};
use tracing::warn;

use super::{App, Ctx};
use crate::core::jobs::{
    self, FinishedRun, JOB_TIMEOUT, JobRun, render_overview, statuses, unknown_job,
};
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::{Reply, Visibility};
use crate::ports::SlackApi;
use crate::schedule::{lookup, manual_slot_key};
use crate::store::{AuditEntry, Db};

/// How often a joined run is looked at: a person is waiting, the row is one indexed read.
const RUN_POLL: Duration = Duration::from_millis(500);
/// How long a requested run may wait for a scheduler tick before it starts.
const RUN_PICK_UP: Duration = Duration::from_secs(120);

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
                    ctx.lang,
                ))
            }
            JobsCommand::Run { job } => {
                if lookup(&job).is_none() {
                    return Ok(unknown_job(&job, ctx.lang));
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
                if queued {
                    return Ok(jobs::run_requested(&job, ctx.lang));
                }
                self.join_run(ctx, &job, &key).await
            }
        }
    }

    /// A second request for a run already asked for this second: the first one's outcome, now
    /// if it has finished, else when it does (on the command's `response_url`, or as a DM).
    async fn join_run(&self, ctx: &Ctx<'_>, job: &str, key: &str) -> anyhow::Result<Reply> {
        let run = self.db.job_run_in_slot(job, key).await?;
        if let Some(finished) = run.as_ref().and_then(JobRun::finished) {
            return Ok(jobs::outcome_reply(&finished, ctx.lang));
        }
        let first_asked_by = run.as_ref().and_then(|r| r.requested_by.as_deref());
        let joined = jobs::run_joined(job, first_asked_by, ctx.lang);
        let (db, slack, clock) = (self.db.clone(), self.slack.clone(), self.clock.clone());
        let (job, key) = (job.to_owned(), key.to_owned());
        let user = ctx.user.slack_user_id.clone();
        let lang = ctx.lang;
        let response_url = ctx.response_url.map(str::to_owned);
        tokio::spawn(async move {
            let finished = match follow_run(&db, &job, &key).await {
                Ok(finished) => finished,
                Err(err) => {
                    warn!(%job, error = %format!("{err:#}"), "cannot follow a run asked for twice");
                    return;
                }
            };
            let asker = Asker {
                response_url: response_url.as_deref(),
                user: Some(&user),
                dedupe_key: format!("jobs:outcome:{job}:{key}:{user}"),
                lang,
            };
            tell_outcome(&db, &*slack, clock.now().timestamp(), &finished, asker).await;
        });
        Ok(joined)
    }
}

/// Who asked for a run, and how to reach them.
pub struct Asker<'a> {
    /// The command's `response_url`, if it came from Slack.
    pub response_url: Option<&'a str>,
    /// Their Slack user id, for a DM when there is no URL or it fails.
    pub user: Option<&'a str>,
    /// The DM is queued once under this key.
    pub dedupe_key: String,
    /// The language they read.
    pub lang: Lang,
}

/// Shows a run's outcome to whoever asked for it: on their command's `response_url`
/// (ephemeral), else (the terminal, or the URL failed) as a DM through the outbox.
pub async fn tell_outcome(
    db: &Db,
    slack: &dyn SlackApi,
    now: i64,
    finished: &FinishedRun,
    asker: Asker<'_>,
) {
    let reply = jobs::outcome_reply(finished, asker.lang);
    if let Some(url) = asker.response_url {
        match slack.respond(url, &reply, false).await {
            Ok(()) => return,
            Err(err) => {
                warn!(job = %finished.job, error = %err, "cannot answer on response_url; sending a DM")
            }
        }
    }
    let Some(user) = asker.user else {
        return;
    };
    let message = OutgoingMessage {
        to: Recipient::User(user.to_owned()),
        reply: Reply {
            visibility: Visibility::InChannel,
            ..reply
        },
        attachment: None,
    };
    if let Err(err) = db.enqueue(&message, now, Some(&asker.dedupe_key)).await {
        warn!(job = %finished.job, error = %err, "cannot queue the outcome of a run");
    }
}

/// Waits for the run in `key` of `job` to finish (whoever runs it), and says how it went.
/// Gives up after the longest a job may run, plus the scheduler's pick-up time.
pub async fn follow_run(db: &Db, job: &str, key: &str) -> anyhow::Result<FinishedRun> {
    let deadline = tokio::time::Instant::now() + JOB_TIMEOUT + RUN_PICK_UP;
    loop {
        let run = db
            .job_run_in_slot(job, key)
            .await?
            .with_context(|| format!("the run {key} of {job} has disappeared"))?;
        if let Some(finished) = run.finished() {
            return Ok(finished);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("the run {key} of {job} has not finished in time");
        }
        tokio::time::sleep(RUN_POLL).await;
    }
}
