//! The scheduled jobs as data, and the rules of their schedules: the job table ([`JOBS`]:
//! name, description, default schedule), cron parsing and the keys slots are claimed under.
//!
//! Layer: the bottom, beside `config`. It imports nothing of the crate; `config` checks
//! `[jobs.schedules]` against it, and the scheduler (`jobs/`) pairs each entry with the async
//! function that runs it.

use std::collections::BTreeMap;

use anyhow::anyhow;
use chrono::DateTime;
use chrono_tz::Tz;

/// One scheduled job, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobInfo {
    /// Lower-case with underscores; the key in `[jobs.schedules]` and in `jobs run <job>`.
    pub name: &'static str,
    /// Six-field cron expression, seconds first, in the company time zone; `"off"` for a job
    /// that only runs when asked.
    pub default_schedule: &'static str,
}

pub const METRICS_RETENTION: JobInfo = JobInfo {
    name: "metrics_retention",
    default_schedule: "0 30 3 * * *",
};

pub const OUTBOX_RETENTION: JobInfo = JobInfo {
    name: "outbox_retention",
    default_schedule: "0 45 3 * * *",
};

pub const DAILY_REPORT: JobInfo = JobInfo {
    name: "daily_report",
    default_schedule: "0 0 9 * * Mon-Fri",
};

pub const WEEKLY_CAPACITY: JobInfo = JobInfo {
    name: "weekly_capacity",
    default_schedule: "0 0 9 * * Mon",
};

pub const MONTHLY_CAPACITY: JobInfo = JobInfo {
    name: "monthly_capacity",
    // Days 1–3 hold every month's first Monday-to-Friday day; the job skips the others.
    default_schedule: "0 0 9 1-3 * *",
};

pub const REMINDERS: JobInfo = JobInfo {
    name: "reminders",
    default_schedule: "0 * * * * *",
};

pub const DATASET_MARGIN: JobInfo = JobInfo {
    name: "dataset_margin",
    default_schedule: "0 */10 * * * *",
};

/// The job table. Add a row here and its function in `jobs::REGISTRY` to add a job (see
/// `docs/jobs.md`, "Adding a job").
pub const JOBS: &[JobInfo] = &[
    METRICS_RETENTION,
    OUTBOX_RETENTION,
    DAILY_REPORT,
    WEEKLY_CAPACITY,
    MONTHLY_CAPACITY,
    REMINDERS,
    DATASET_MARGIN,
];

/// The schedule value that disables a job (it can still be run by hand).
pub const OFF: &str = "off";

/// The table entry called `name`.
pub fn lookup(name: &str) -> Option<&'static JobInfo> {
    JOBS.iter().find(|job| job.name == name)
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

/// Checks `[jobs.schedules]`: every key a job of the table, every value a schedule.
pub fn check_schedules(schedules: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let names: Vec<&str> = JOBS.iter().map(|job| job.name).collect();
    check_schedules_against(schedules, &names)
}

/// Checks schedules against the jobs called `names`.
pub fn check_schedules_against(
    schedules: &BTreeMap<String, String>,
    names: &[&str],
) -> anyhow::Result<()> {
    for (name, expression) in schedules {
        if !names.contains(&name.as_str()) {
            return Err(anyhow!(
                "jobs.schedules.{name}: there is no job called {name:?} (jobs: {})",
                names.join(", ")
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

/// The slot key of a manual run started at `at`.
pub fn manual_slot_key(at: &DateTime<Tz>) -> String {
    format!("manual:{}", slot_key(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// Days 1–3 at 09:00 hold every month's first working day (see the job).
    #[test]
    fn the_monthly_report_runs_on_the_first_three_days() {
        let schedule = parse_schedule(MONTHLY_CAPACITY.default_schedule)
            .unwrap()
            .unwrap();
        let paris = chrono_tz::Europe::Paris;
        let after = paris.with_ymd_and_hms(2026, 11, 3, 10, 0, 0).unwrap();
        let next: Vec<String> = schedule
            .after(&after)
            .take(4)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .collect();
        assert_eq!(
            next,
            [
                "2026-12-01 09:00",
                "2026-12-02 09:00",
                "2026-12-03 09:00",
                "2027-01-01 09:00"
            ]
        );
    }

    #[test]
    fn the_table_is_sound() {
        assert_eq!(JOBS.len(), 7);
        let mut names = std::collections::HashSet::new();
        for job in JOBS {
            assert!(names.insert(job.name), "{} is listed twice", job.name);
            assert!(!job.name.is_empty());
            assert!(
                job.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}: names are lower_snake_case",
                job.name
            );
            assert!(
                parse_schedule(job.default_schedule).is_ok(),
                "{}: default schedule {:?} does not parse",
                job.name,
                job.default_schedule
            );
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
        assert_eq!(manual_slot_key(&next), "manual:2026-11-30T09:00:00");
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
