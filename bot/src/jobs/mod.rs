//! Scheduled jobs: a registry ([`REGISTRY`]) pairing each entry of the job table
//! ([`crate::schedule::JOBS`]) with the async function that runs it, run by the [`Scheduler`].
//!
//! Before a job runs, its slot is claimed in the database (`job_runs`, unique on job + slot
//! key), so a restart or a second replica never runs a slot twice. The slot key is the slot's
//! local wall-clock time, so the repeated hour of a DST fall-back is one slot. Jobs that talk
//! to people queue their messages in the outbox (through the store) instead of posting.
//! `/maison jobs run` only writes a request row (see `app`); [`Scheduler::tick`] runs it.
//! See `docs/jobs.md`.
//!
//! Layer: a front. The job bodies ([`reports`], [`reminders`], retention) call `app`, `core`
//! and `store`; nothing below imports this module.

pub mod matcher;
pub mod reminders;
pub mod reports;
mod retention;
pub mod scheduler;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use scheduler::{ManualRun, Scheduler, SkippedSlots, TickReport};

use crate::app::App;
use crate::schedule::{self, JobInfo};

/// What a job gets when it runs.
pub struct JobContext {
    pub app: Arc<App>,
    /// When the run started (the scheduler's clock).
    pub now: DateTime<Utc>,
    /// The slot being run, in the company tz; for a manual run, the moment it was asked for.
    pub slot: DateTime<Tz>,
    /// Asked for by hand (`jobs run`), not by the schedule: a job that picks its days itself
    /// (the monthly report) runs whatever the day.
    pub manual: bool,
}

/// What a job reports about a successful run, e.g. "posted daily report (3 hosts)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub summary: String,
}

/// A job: an async function of its context.
pub type JobFn = fn(JobContext) -> futures::future::BoxFuture<'static, anyhow::Result<JobOutcome>>;

/// One entry of the registry: a job of the table, or a test's own job.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// Lower-case with underscores; the key in `[jobs.schedules]` and in `jobs run <job>`.
    pub name: &'static str,
    /// Six-field cron expression, seconds first, in the company time zone; `"off"` for a job
    /// that only runs when asked.
    pub default_schedule: &'static str,
    pub run: JobFn,
}

impl JobSpec {
    /// The entry of a job of the table.
    pub const fn of(job: JobInfo, run: JobFn) -> Self {
        Self {
            name: job.name,
            default_schedule: job.default_schedule,
            run,
        }
    }
}

/// The job registry: every job of [`schedule::JOBS`], in the same order, with its function.
pub const REGISTRY: &[JobSpec] = &[
    JobSpec::of(schedule::METRICS_RETENTION, retention::metrics),
    JobSpec::of(schedule::OUTBOX_RETENTION, retention::outbox),
    JobSpec::of(schedule::DAILY_REPORT, reports::daily_report_job),
    JobSpec::of(schedule::WEEKLY_CAPACITY, reports::weekly_capacity_job),
    JobSpec::of(schedule::MONTHLY_CAPACITY, reports::monthly_capacity_job),
    JobSpec::of(schedule::REMINDERS, reminders::reminders_job),
    JobSpec::of(schedule::DATASET_MARGIN, retention::dataset_margin),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_runs_every_job_of_the_table() {
        let registered: Vec<JobInfo> = REGISTRY
            .iter()
            .map(|spec| JobInfo {
                name: spec.name,
                default_schedule: spec.default_schedule,
            })
            .collect();
        assert_eq!(registered, schedule::JOBS);
    }
}
