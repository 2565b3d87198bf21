//! What people see of the scheduled jobs, as data and replies: `jobs list` (Slack and the CLI),
//! the outcome of a run, and the answer to an unknown job name.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Tz;
use maison_command::Lang;

use super::fleet::PruneReport;
use super::message::{OutboxStats, Recipient};
use super::render::{Block, Reply, Visibility, mention};
use super::replies::japanese_weekday;
use crate::config::Config;
use crate::schedule::{JOBS, parse_schedule};
use crate::tr;

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
                schedule,
                next_run,
                last: latest.iter().find(|run| run.job == spec.name).cloned(),
            }
        })
        .collect()
}

/// What a job of the table does, one line for `jobs list`; `None` for a job outside the table
/// (a test's own).
pub fn description(job: &str, lang: Lang) -> Option<String> {
    Some(match job {
        "metrics_retention" => tr!(lang, "job-metrics-retention"),
        "outbox_retention" => tr!(lang, "job-outbox-retention"),
        "daily_report" => tr!(lang, "job-daily-report"),
        "weekly_capacity" => tr!(lang, "job-weekly-capacity"),
        "monthly_capacity" => tr!(lang, "job-monthly-capacity"),
        "reminders" => tr!(lang, "job-reminders"),
        "dataset_margin" => tr!(lang, "job-dataset-margin"),
        _ => return None,
    })
}

/// The `jobs list` reply: each job, then the outbox. Times are in the company time zone.
pub fn render_overview(
    statuses: &[JobStatus],
    outbox: &OutboxStats,
    tz: Tz,
    now: DateTime<Utc>,
    lang: Lang,
) -> Reply {
    let mut blocks = vec![Block::Header(tr!(lang, "jobs-header"))];
    for status in statuses {
        let next = match &status.next_run {
            Some(at) => tr!(lang, "jobs-next", when = local(at.timestamp(), tz, lang)),
            None => tr!(lang, "jobs-not-scheduled"),
        };
        let mut lines = vec![format!("*{}* `{}` — {next}", status.name, status.schedule)];
        lines.extend(description(status.name, lang));
        lines.push(tr!(
            lang,
            "jobs-last-run",
            last = last_run(status, tz, lang)
        ));
        blocks.push(Block::Section(lines.join("\n")));
    }
    blocks.push(Block::Context(tr!(
        lang,
        "jobs-schedules-in",
        tz = tz.to_string()
    )));
    blocks.push(Block::Divider);
    let mut queue = tr!(lang, "jobs-outbox", state = queue_state(outbox, now, lang));
    if let Some((id, to, error)) = &outbox.last_parked {
        let to = match to {
            Recipient::Channel(id) => tr!(lang, "jobs-parked-to-channel", id = id.as_str()),
            Recipient::User(id) => tr!(lang, "jobs-parked-to-user", id = id.as_str()),
        };
        queue.push('\n');
        queue.push_str(&tr!(
            lang,
            "jobs-last-parked",
            id = id.to_string(),
            to = to,
            error = error.as_str()
        ));
    }
    blocks.push(Block::Section(queue));
    let text = tr!(lang, "jobs-count", count = statuses.len());
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
            description(status.name, Lang::En).unwrap_or_default(),
            next_run(status, tz),
            last_run(status, tz, Lang::En)
        ));
    }
    out.push_str(&format!(
        "\nOutbox: {}\n",
        queue_state(outbox, now, Lang::En)
    ));
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
        Some(at) => local(at.timestamp(), tz, Lang::En),
        None => tr!(Lang::En, "jobs-not-scheduled"),
    }
}

fn last_run(status: &JobStatus, tz: Tz, lang: Lang) -> String {
    let Some(run) = &status.last else {
        return tr!(lang, "jobs-never-run");
    };
    let when = local(run.started_at.unwrap_or(run.slot_at), tz, lang);
    let when = if run.manual {
        tr!(lang, "jobs-by-hand", when = when)
    } else {
        when
    };
    let detail = run.detail.as_deref().unwrap_or("");
    match run.outcome.as_deref() {
        Some("ok") => tr!(lang, "jobs-last-ok", when = when, detail = detail),
        Some(_) => tr!(lang, "jobs-last-failed", when = when, detail = detail),
        None => tr!(lang, "jobs-last-unfinished", when = when),
    }
}

fn queue_state(outbox: &OutboxStats, now: DateTime<Utc>, lang: Lang) -> String {
    let (pending, parked) = (outbox.pending, outbox.parked);
    match outbox.oldest_pending_at {
        Some(oldest) => tr!(
            lang,
            "jobs-outbox-state-oldest",
            pending = pending,
            parked = parked,
            minutes = ((now.timestamp() - oldest).max(0) / 60).to_string()
        ),
        None => tr!(
            lang,
            "jobs-outbox-state",
            pending = pending,
            parked = parked
        ),
    }
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
pub fn run_requested(job: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "jobs-run-requested", job = job))
}

/// The reply to a second `jobs run` of the same job in the same second (a double click, or two
/// admins at once): the job runs once, and both hear how it went.
pub fn run_joined(job: &str, first_asked_by: Option<&str>, lang: Lang) -> Reply {
    Reply::ephemeral(match first_asked_by {
        Some("cli") => tr!(lang, "jobs-run-joined-cli", job = job),
        Some(user) => tr!(lang, "jobs-run-joined-by", job = job, user = mention(user)),
        None => tr!(lang, "jobs-run-joined", job = job),
    })
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

/// What a finished run says to whoever asked for it (the job's own summary is a record, kept
/// in English as it was written).
pub fn outcome_reply(run: &FinishedRun, lang: Lang) -> Reply {
    let (job, detail) = (run.job.as_str(), run.detail.as_str());
    Reply::ephemeral(if run.ok {
        tr!(lang, "jobs-ran", job = job, detail = detail)
    } else {
        tr!(lang, "jobs-failed", job = job, detail = detail)
    })
}

/// The reply to `jobs run` of a job that does not exist: the nearest name, and every name.
pub fn unknown_job(job: &str, lang: Lang) -> Reply {
    let nearest = JOBS
        .iter()
        .map(|spec| (strsim::damerau_levenshtein(job, spec.name), spec.name))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name);
    let names: Vec<String> = JOBS.iter().map(|spec| format!("`{}`", spec.name)).collect();
    let names = names.join(", ");
    Reply::ephemeral(match nearest {
        Some(nearest) => tr!(
            lang,
            "jobs-unknown-nearest",
            job = job,
            nearest = nearest,
            names = names
        ),
        None => tr!(lang, "jobs-unknown", job = job, names = names),
    })
}

/// `Mon 30 Nov 09:00`, `11月30日(月) 9:00`.
fn local(ts: i64, tz: Tz, lang: Lang) -> String {
    match tz.timestamp_opt(ts, 0).single() {
        Some(at) if lang == Lang::Ja => format!(
            "{}月{}日({}) {}",
            at.month(),
            at.day(),
            japanese_weekday(at.weekday()),
            at.format("%-H:%M")
        ),
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
        let text = render_overview(&statuses, &outbox, tz, now, Lang::En).to_terminal();
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
        let reply = unknown_job("metrics_retension", Lang::En);
        assert!(
            reply.text.contains("Did you mean `metrics_retention`?"),
            "{}",
            reply.text
        );
    }

    /// Every jobs reply in both languages, and a description for every job of the table.
    #[test]
    fn jobs_replies_in_both_languages() {
        let tz = chrono_tz::Asia::Tokyo;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        let run = |outcome: Option<&str>, manual: bool| JobRun {
            id: 1,
            job: "daily_report".into(),
            slot_key: "2026-11-27T09:00:00".into(),
            slot_at: now.timestamp() - 3 * 86400,
            manual,
            requested_by: None,
            holder: None,
            started_at: Some(now.timestamp() - 3 * 86400),
            finished_at: outcome.map(|_| now.timestamp() - 3 * 86400 + 2),
            outcome: outcome.map(str::to_owned),
            detail: Some("posted daily report (3 hosts)".into()),
        };
        let status = |name: &'static str, last: Option<JobRun>, next: bool| JobStatus {
            name,
            schedule: "0 0 9 * * Mon-Fri".into(),
            next_run: next.then(|| now.with_timezone(&tz)),
            last,
        };
        let statuses = [
            status("daily_report", Some(run(Some("ok"), false)), true),
            status("weekly_capacity", Some(run(Some("error"), true)), true),
            status("reminders", Some(run(None, false)), true),
            status("dataset_margin", None, false),
        ];
        let outbox = OutboxStats {
            pending: 2,
            parked: 1,
            oldest_pending_at: Some(now.timestamp() - 300),
            last_parked: Some((7, Recipient::User("U0GONE".into()), "user_not_found".into())),
        };
        let quiet = OutboxStats {
            last_parked: Some((
                8,
                Recipient::Channel("C0GONE".into()),
                "channel_not_found".into(),
            )),
            oldest_pending_at: None,
            ..outbox.clone()
        };
        let finished = |ok| FinishedRun {
            job: "daily_report".into(),
            slot_key: "manual:1".into(),
            ok,
            detail: "posted daily report (3 hosts)".into(),
        };
        for lang in Lang::ALL {
            for job in JOBS {
                assert!(
                    description(job.name, lang).is_some(),
                    "{}: no description",
                    job.name
                );
            }
            let page = [
                render_overview(&statuses, &outbox, tz, now, lang),
                render_overview(&statuses[..1], &quiet, tz, now, lang),
                run_requested("daily_report", lang),
                run_joined("daily_report", Some("cli"), lang),
                run_joined("daily_report", Some("U0ALICE"), lang),
                run_joined("daily_report", None, lang),
                outcome_reply(&finished(true), lang),
                outcome_reply(&finished(false), lang),
                unknown_job("daily_reprot", lang),
                unknown_job("zzz", lang),
            ]
            .map(|reply| reply.to_terminal())
            .join("\n---\n");
            if lang == Lang::Ja {
                for word in [
                    "Scheduled",
                    "next",
                    "Last run",
                    "waiting",
                    "Running",
                    "failed",
                    "There is no",
                ] {
                    assert!(!page.contains(word), "{word:?} left in Japanese:\n{page}");
                }
            }
            insta::assert_snapshot!(format!("jobs_replies_{lang}"), page);
        }
    }
}
