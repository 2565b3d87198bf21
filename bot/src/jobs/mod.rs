//! Scheduled jobs: a registry ([`JOBS`]) of named async functions, each with a cron schedule
//! read in the company time zone, run by the [`Scheduler`].
//!
//! Before a job runs, its slot is claimed in the database (`job_runs`, unique on job + slot
//! key), so a restart or a second replica never runs a slot twice. The slot key is the slot's
//! local wall-clock time, so the repeated hour of a DST fall-back is one slot. Jobs that talk
//! to people queue their messages in the [`outbox`](crate::outbox) instead of posting.
//! See `docs/jobs.md`.

mod overview;
mod retention;
pub mod scheduler;
pub(crate) mod sql;
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use overview::{
    Caller, JobStatus, job_statuses, outcome_reply, overview_text, render_overview, slack_command,
};
pub use scheduler::{FinishedRun, Scheduler, SkippedSlots, TickReport};
pub use store::{JobRun, WaitingRun};

use crate::app::App;
use crate::config::Config;

/// What a job gets when it runs.
pub struct JobContext {
    pub app: Arc<App>,
    /// When the run started (the scheduler's clock).
    pub now: DateTime<Utc>,
    /// The slot being run, in the company tz; for a manual run, the moment it was asked for.
    pub slot: DateTime<Tz>,
}

/// What a job reports about a successful run, e.g. "posted daily report (3 hosts)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub summary: String,
}

/// A job: an async function of its context.
pub type JobFn = fn(JobContext) -> futures::future::BoxFuture<'static, anyhow::Result<JobOutcome>>;

/// One entry of the registry.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// Lower-case with underscores; the key in `[jobs.schedules]` and in `jobs run <job>`.
    pub name: &'static str,
    /// One line for `jobs list`.
    pub description: &'static str,
    /// Six-field cron expression, seconds first, in the company time zone; `"off"` for a job
    /// that only runs when asked.
    pub default_schedule: &'static str,
    pub run: JobFn,
}

/// The job registry. Add a row to add a job (see `docs/jobs.md`, "Adding a job").
pub const JOBS: &[JobSpec] = &[
    JobSpec {
        name: "metrics_retention",
        description: "Deletes GPU minute rows older than 30 days (hourly rollups are kept)",
        default_schedule: "0 30 3 * * *",
        run: retention::metrics,
    },
    JobSpec {
        name: "outbox_retention",
        description: "Deletes outbox messages sent more than 30 days ago (queued and parked ones stay)",
        default_schedule: "0 45 3 * * *",
        run: retention::outbox,
    },
    JobSpec {
        name: "daily_report",
        description: "Posts yesterday's GPU report (hours booked/busy/idle, heat map, orphan images, stale containers)",
        default_schedule: "0 0 9 * * Mon-Fri",
        run: crate::reports::daily_report_job,
    },
    JobSpec {
        name: "weekly_capacity",
        description: "Posts the capacity report of the last 7 days (peak demand, fully booked hours, refusals)",
        default_schedule: "0 0 9 * * Mon",
        run: crate::reports::weekly_capacity_job,
    },
    JobSpec {
        name: "reminders",
        description: "DMs owners: bookings starting/ending soon, stale or idle containers, GPUs used without a booking",
        default_schedule: "0 * * * * *",
        run: crate::reports::reminders_job,
    },
];

/// The schedule value that disables a job (it can still be run by hand).
pub const OFF: &str = "off";

/// The registry entry called `name`.
pub fn lookup(name: &str) -> Option<&'static JobSpec> {
    JOBS.iter().find(|spec| spec.name == name)
}

/// The time zone schedules are read in: `jobs.timezone`, else `slack.default_tz`.
pub fn company_tz(config: &Config) -> Tz {
    config
        .jobs
        .timezone
        .as_deref()
        .unwrap_or(&config.slack.default_tz)
        .parse()
        .unwrap_or(Tz::UTC)
}

/// Parses a schedule: `None` for `"off"`, else a six-field cron expression.
pub fn parse_schedule(expression: &str) -> Result<Option<cron::Schedule>, String> {
    let expression = expression.trim();
    if expression.eq_ignore_ascii_case(OFF) {
        return Ok(None);
    }
    let fields = expression.split_whitespace().count();
    if fields == 5 {
        return Err(format!(
            "it has five fields; schedules here have six, seconds first (\"0 {expression}\")"
        ));
    }
    expression
        .parse::<cron::Schedule>()
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Checks `[jobs.schedules]`: every key a known job, every value a schedule.
pub fn check_schedules(schedules: &BTreeMap<String, String>) -> anyhow::Result<()> {
    check_schedules_against(schedules, JOBS)
}

pub(crate) fn check_schedules_against(
    schedules: &BTreeMap<String, String>,
    jobs: &[JobSpec],
) -> anyhow::Result<()> {
    for (name, expression) in schedules {
        if !jobs.iter().any(|spec| spec.name == name) {
            let known: Vec<&str> = jobs.iter().map(|spec| spec.name).collect();
            return Err(anyhow!(
                "jobs.schedules.{name}: there is no job called {name:?} (jobs: {})",
                known.join(", ")
            ));
        }
        parse_schedule(expression).map_err(|e| {
            anyhow!(
                "jobs.schedules.{name}: {expression:?} is not a schedule: {e}. Write six fields, \
                 seconds first, with day names, like \"0 0 9 * * Mon-Fri\", or \"off\""
            )
        })?;
    }
    Ok(())
}

/// The key a slot is claimed under: its local wall-clock time in the company time zone,
/// without offset. Both occurrences of a time repeated by a DST fall-back share one key.
pub fn slot_key(slot: &DateTime<Tz>) -> String {
    slot.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_registry_is_sound() {
        let mut names = std::collections::HashSet::new();
        for spec in JOBS {
            assert!(names.insert(spec.name), "{} is registered twice", spec.name);
            assert!(
                spec.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}: names are lower_snake_case",
                spec.name
            );
            assert!(
                parse_schedule(spec.default_schedule).is_ok(),
                "{}: default schedule {:?} does not parse",
                spec.name,
                spec.default_schedule
            );
            assert!(!spec.description.is_empty());
        }
    }

    #[test]
    fn schedules_have_six_fields_and_day_names() {
        let weekdays = parse_schedule("0 0 9 * * Mon-Fri").unwrap().unwrap();
        let paris = chrono_tz::Europe::Paris;
        // Friday 27 November 2026, 10:00 → next is Monday 30 November 09:00.
        let after = paris.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        let next = weekdays.after(&after).next().unwrap();
        assert_eq!(slot_key(&next), "2026-11-30T09:00:00");
        assert!(parse_schedule("off").unwrap().is_none());
        let five = parse_schedule("0 9 * * Mon-Fri").unwrap_err();
        assert!(five.contains("six"), "{five}");
        assert!(parse_schedule("every day").is_err());
    }

    #[test]
    fn unknown_jobs_and_bad_expressions_name_the_key() {
        let mut map = BTreeMap::new();
        map.insert("daily_reprot".to_owned(), "0 0 9 * * *".to_owned());
        let err = check_schedules(&map).unwrap_err().to_string();
        assert!(err.starts_with("jobs.schedules.daily_reprot:"), "{err}");
        let mut map = BTreeMap::new();
        map.insert("metrics_retention".to_owned(), "0 0 25 * * *".to_owned());
        let err = check_schedules(&map).unwrap_err().to_string();
        assert!(
            err.starts_with("jobs.schedules.metrics_retention:"),
            "{err}"
        );
    }

    #[test]
    fn a_fall_back_hour_is_one_slot_key() {
        let paris = chrono_tz::Europe::Paris;
        // 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
        let first = Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap();
        let second = Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap();
        assert_eq!(
            slot_key(&first.with_timezone(&paris)),
            slot_key(&second.with_timezone(&paris))
        );
    }
}
