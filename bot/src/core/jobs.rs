//! What people see of the scheduled jobs, as data and replies: `jobs list` (Slack and the CLI),
//! the outcome of a run, and the answer to an unknown job name.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::fleet::PruneReport;
use super::message::{OutboxStats, Recipient};
use super::render::{Block, Reply, Visibility, mention};
use crate::config::Config;
use crate::schedule::{JOBS, parse_schedule};

/// A run still going after this long is stopped and recorded as failed, so one stuck job
/// cannot hold up the others for ever.
pub const JOB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// One row of `job_runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    /// Local wall-clock time of the slot (`2026-11-30T09:00:00`), or `manual:…`.
    pub slot_key: String,
    /// The slot (Unix seconds); for a manual run, when it was asked for.
    pub slot_at: i64,
    pub manual: bool,
    /// Who asked for a manual run (a Slack user id, or `cli`).
    pub requested_by: Option<String>,
    /// Which scheduler instance ran it.
    pub holder: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// `ok` or `error`; `None` while running (or if the process died during the run).
    pub outcome: Option<String>,
    /// The job's summary, or the error.
    pub detail: Option<String>,
}

/// A run that finished (or failed) during a tick or a manual run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedRun {
    pub job: String,
    pub slot_key: String,
    pub ok: bool,
    /// The job's summary, or its error.
    pub detail: String,
}

/// One job as `jobs list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    pub name: &'static str,
    pub description: &'static str,
    /// The effective schedule expression, or `off`.
    pub schedule: String,
    pub next_run: Option<DateTime<Tz>>,
    /// The latest run that started.
    pub last: Option<JobRun>,
}

/// Every job of the table with its effective schedule (`[jobs.schedules]`, else the default),
/// its next run after `now` and `latest`'s run of it.
pub fn statuses(config: &Config, latest: &[JobRun], now: DateTime<Utc>) -> Vec<JobStatus> {
    let tz = config.company_tz();
    JOBS.iter()
        .map(|spec| {
            let schedule = config
                .jobs
                .schedules
                .get(spec.name)
                .cloned()
                .unwrap_or_else(|| spec.default_schedule.to_owned());
            let next_run = parse_schedule(&schedule)
                .ok()
                .flatten()
                .and_then(|s| s.after(&now.with_timezone(&tz)).next());
            JobStatus {
                name: spec.name,
                description: spec.description,
                schedule,
                next_run,
                last: latest.iter().find(|run| run.job == spec.name).cloned(),
            }
        })
        .collect()
}

/// The `jobs list` reply: each job, then the outbox. Times are in the company time zone.
pub fn render_overview(
    statuses: &[JobStatus],
    outbox: &OutboxStats,
    tz: Tz,
    now: DateTime<Utc>,
) -> Reply {
    let mut blocks = vec![Block::Header("Scheduled jobs".to_owned())];
    for status in statuses {
        blocks.push(Block::Section(format!(
            "*{}* `{}` — {}\n{}\nLast run: {}",
            status.name,
            status.schedule,
            match &status.next_run {
                Some(at) => format!("next {}", local(at.timestamp(), tz)),
                None => "not scheduled".to_owned(),
            },
            status.description,
            last_run(status, tz)
        )));
    }
    blocks.push(Block::Context(format!(
        "Schedules are in {tz}. `/maison jobs run <job>` runs a job now."
    )));
    blocks.push(Block::Divider);
    let mut queue = format!("*Outbox*: {}", queue_state(outbox, now));
    if let Some((id, to, error)) = &outbox.last_parked {
        let to = match to {
            Recipient::Channel(id) => format!("to <#{id}>"),
            Recipient::User(id) => format!("DM to <@{id}>"),
        };
        queue.push_str(&format!(
            "\nLast parked: message #{id} ({to}): `{error}`. \
             Fix the cause, then run `maison-bot jobs requeue`."
        ));
    }
    blocks.push(Block::Section(queue));
    let text = format!("{} scheduled jobs", statuses.len());
    Reply::with_blocks(Visibility::Ephemeral, text, blocks)
}

/// `maison-bot jobs list`: the same as [`render_overview`], as plain text for a terminal
/// (cron expressions keep their `*`).
pub fn overview_text(
    statuses: &[JobStatus],
    outbox: &OutboxStats,
    tz: Tz,
    now: DateTime<Utc>,
) -> String {
    let mut out = format!("Scheduled jobs (times in {tz})\n");
    for status in statuses {
        out.push_str(&format!(
            "\n{}  [{}]\n  {}\n  next: {}\n  last: {}\n",
            status.name,
            status.schedule,
            status.description,
            next_run(status, tz),
            last_run(status, tz)
        ));
    }
    out.push_str(&format!("\nOutbox: {}\n", queue_state(outbox, now)));
    if let Some((id, to, error)) = &outbox.last_parked {
        out.push_str(&format!(
            "Last parked: message #{id} ({to}): {error}\n\
             Fix the cause, then run `maison-bot jobs requeue`.\n"
        ));
    }
    out
}

fn next_run(status: &JobStatus, tz: Tz) -> String {
    match &status.next_run {
        Some(at) => local(at.timestamp(), tz),
        None => "not scheduled".to_owned(),
    }
}

fn last_run(status: &JobStatus, tz: Tz) -> String {
    let Some(run) = &status.last else {
        return "never run".to_owned();
    };
    let when = local(run.started_at.unwrap_or(run.slot_at), tz);
    let how = if run.manual { " (by hand)" } else { "" };
    let detail = run.detail.as_deref().unwrap_or("");
    match run.outcome.as_deref() {
        Some("ok") => format!("{when}{how}, ok: {detail}"),
        Some(_) => format!("{when}{how}, failed: {detail}"),
        None => format!("{when}{how}, started, not finished"),
    }
}

fn queue_state(outbox: &OutboxStats, now: DateTime<Utc>) -> String {
    let mut text = format!("{} waiting, {} parked.", outbox.pending, outbox.parked);
    if let Some(oldest) = outbox.oldest_pending_at {
        let minutes = (now.timestamp() - oldest).max(0) / 60;
        text.push_str(&format!(" The oldest has waited {minutes} min."));
    }
    text
}

/// The `metrics_retention` job's summary.
pub fn metrics_pruned(pruned: &PruneReport) -> String {
    format!(
        "deleted {} GPU minute rows and {} container activity rows older than 30 days",
        pruned.minute_rows, pruned.activity_rows
    )
}

/// The `outbox_retention` job's summary.
/// The `dataset_margin` job's summary: per host below its margin, the copies removed.
pub fn margins_kept(hosts: &[(String, Vec<String>, u64)]) -> String {
    if hosts.is_empty() {
        return "every host has its free-space margin".to_owned();
    }
    hosts
        .iter()
        .map(|(host, removed, short)| {
            let what = if removed.is_empty() {
                "nothing removable".to_owned()
            } else {
                format!("removed {}", removed.join(", "))
            };
            if *short > 0 {
                format!(
                    "{host}: {what}; still {} short",
                    crate::core::units::size_text(*short)
                )
            } else {
                format!("{host}: {what}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn messages_pruned(deleted: u64) -> String {
    format!("deleted {deleted} messages sent more than 30 days ago")
}

/// The answer to `jobs run <job>`: queued for the scheduler, or already asked for this second.
pub fn run_requested(job: &str) -> Reply {
    Reply::ephemeral(format!(
        "Running `{job}` now; you will see how it went when it is done."
    ))
}

/// The reply to a second `jobs run` of the same job in the same second (a double click, or two
/// admins at once): the job runs once, and both hear how it went.
pub fn run_joined(job: &str, first_asked_by: Option<&str>) -> Reply {
    let by = match first_asked_by {
        Some("cli") => " from the command line".to_owned(),
        Some(user) => format!(" by {}", mention(user)),
        None => String::new(),
    };
    Reply::ephemeral(format!(
        "`{job}` was already asked for this second{by}; it runs once, and you will see how it went here too."
    ))
}

impl JobRun {
    /// How the run went, once it has finished.
    pub fn finished(&self) -> Option<FinishedRun> {
        self.finished_at?;
        Some(FinishedRun {
            job: self.job.clone(),
            slot_key: self.slot_key.clone(),
            ok: self.outcome.as_deref() == Some("ok"),
            detail: self.detail.clone().unwrap_or_default(),
        })
    }
}

/// What a finished run says to whoever asked for it.
pub fn outcome_reply(run: &FinishedRun) -> Reply {
    if run.ok {
        Reply::ephemeral(format!("`{}` ran: {}", run.job, run.detail))
    } else {
        Reply::ephemeral(format!("`{}` failed: {}", run.job, run.detail))
    }
}

/// The reply to `jobs run` of a job that does not exist: the nearest name, and every name.
pub fn unknown_job(job: &str) -> Reply {
    let nearest = JOBS
        .iter()
        .map(|spec| (strsim::damerau_levenshtein(job, spec.name), spec.name))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| format!(" Did you mean `{name}`?"))
        .unwrap_or_default();
    let names: Vec<String> = JOBS.iter().map(|spec| format!("`{}`", spec.name)).collect();
    Reply::ephemeral(format!(
        "There is no job called `{job}`.{nearest} Jobs: {}.",
        names.join(", ")
    ))
}

fn local(ts: i64, tz: Tz) -> String {
    match tz.timestamp_opt(ts, 0).single() {
        Some(at) => at.format("%a %-d %b %H:%M").to_string(),
        None => ts.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overview_names_schedule_next_and_last_run() {
        let tz = chrono_tz::Europe::Paris;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        let statuses = vec![
            JobStatus {
                name: "daily_report",
                description: "Posts the daily report",
                schedule: "0 0 9 * * Mon-Fri".into(),
                next_run: Some(now.with_timezone(&tz)),
                last: Some(JobRun {
                    id: 1,
                    job: "daily_report".into(),
                    slot_key: "2026-11-27T09:00:00".into(),
                    slot_at: now.timestamp() - 3 * 86400,
                    manual: false,
                    requested_by: None,
                    holder: None,
                    started_at: Some(now.timestamp() - 3 * 86400),
                    finished_at: Some(now.timestamp() - 3 * 86400 + 2),
                    outcome: Some("error".into()),
                    detail: Some("database is locked".into()),
                }),
            },
            JobStatus {
                name: "metrics_retention",
                description: "Prunes",
                schedule: "off".into(),
                next_run: None,
                last: None,
            },
        ];
        let outbox = OutboxStats {
            pending: 2,
            parked: 1,
            oldest_pending_at: Some(now.timestamp() - 300),
            last_parked: Some((
                7,
                Recipient::Channel("C0GONE".into()),
                "channel_not_found".into(),
            )),
        };
        let text = render_overview(&statuses, &outbox, tz, now).to_terminal();
        assert!(text.contains("daily_report"), "{text}");
        assert!(text.contains("next Mon 30 Nov 09:00"), "{text}");
        assert!(
            text.contains("Fri 27 Nov 09:00, failed: database is locked"),
            "{text}"
        );
        assert!(text.contains("not scheduled"), "{text}");
        assert!(text.contains("never run"), "{text}");
        assert!(text.contains("2 waiting, 1 parked"), "{text}");
        assert!(text.contains("waited 5 min"), "{text}");
        assert!(text.contains("channel_not_found"), "{text}");
        let plain = overview_text(&statuses, &outbox, tz, now);
        assert!(
            plain.contains("daily_report  [0 0 9 * * Mon-Fri]"),
            "{plain}"
        );
        assert!(plain.contains("next: Mon 30 Nov 09:00"), "{plain}");
        assert!(
            plain.contains("last: Fri 27 Nov 09:00, failed: database is locked"),
            "{plain}"
        );
        assert!(
            plain.contains("(channel C0GONE): channel_not_found"),
            "{plain}"
        );
    }

    #[test]
    fn an_unknown_job_gets_the_nearest_name() {
        let reply = unknown_job("metrics_retension");
        assert!(
            reply.text.contains("Did you mean `metrics_retention`?"),
            "{}",
            reply.text
        );
    }
}
