//! The `job_runs` table: slot claims and the record of every run.

use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::Db;
use super::sql::{get, stmt};
use crate::core::jobs::JobRun;

/// A run asked for from Slack that no scheduler has started yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingRun {
    pub id: i64,
    pub job: String,
    pub slot_key: String,
    pub requested_by: Option<String>,
    pub response_url: Option<String>,
    pub requested_at: i64,
}

/// A slot about to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotClaim<'a> {
    pub job: &'a str,
    pub slot_key: &'a str,
    pub slot_at: i64,
    pub manual: bool,
    pub requested_by: Option<&'a str>,
    pub holder: &'a str,
    pub now: i64,
}

const RUN_COLUMNS: &str = "id, job, slot_key, slot_at, manual, requested_by, holder, started_at, \
                           finished_at, outcome, detail";

fn run_from_row(r: &QueryResult) -> Result<JobRun, DbErr> {
    Ok(JobRun {
        id: r.try_get_by_index(0)?,
        job: r.try_get_by_index(1)?,
        slot_key: r.try_get_by_index(2)?,
        slot_at: r.try_get_by_index(3)?,
        manual: r.try_get_by_index(4)?,
        requested_by: r.try_get_by_index(5)?,
        holder: r.try_get_by_index(6)?,
        started_at: r.try_get_by_index(7)?,
        finished_at: r.try_get_by_index(8)?,
        outcome: r.try_get_by_index(9)?,
        detail: r.try_get_by_index(10)?,
    })
}

impl Db {
    /// Claims a slot and starts its run: the id of the new run, or `None` when the slot was
    /// already claimed (by this process before a restart, or by another replica).
    pub(crate) async fn claim_job_slot(&self, claim: SlotClaim<'_>) -> Result<Option<i64>, DbErr> {
        let row = self
            .connection()
            .query_one_raw(stmt(
                self.backend(),
                "INSERT INTO job_runs (job, slot_key, slot_at, manual, requested_by, \
                 requested_at, holder, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (job, slot_key) DO NOTHING RETURNING id",
                vec![
                    claim.job.into(),
                    claim.slot_key.into(),
                    claim.slot_at.into(),
                    claim.manual.into(),
                    claim.requested_by.map(str::to_owned).into(),
                    claim.now.into(),
                    claim.holder.into(),
                    claim.now.into(),
                ],
            ))
            .await?;
        row.map(|r| r.try_get_by_index::<i64>(0)).transpose()
    }

    /// Records a manual run asked for from Slack; a scheduler starts it on its next tick.
    /// `false` when the same run was already asked for (a double click).
    pub async fn request_job_run(
        &self,
        job: &str,
        slot_key: &str,
        requested_by: &str,
        response_url: Option<&str>,
        now: i64,
    ) -> Result<bool, DbErr> {
        let inserted = self
            .connection()
            .execute_raw(stmt(
                self.backend(),
                "INSERT INTO job_runs (job, slot_key, slot_at, manual, requested_by, \
                 response_url, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (job, slot_key) DO NOTHING",
                vec![
                    job.into(),
                    slot_key.into(),
                    now.into(),
                    true.into(),
                    requested_by.into(),
                    response_url.map(str::to_owned).into(),
                    now.into(),
                ],
            ))
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    /// Manual runs asked for and not yet started, oldest first.
    pub async fn waiting_job_runs(&self) -> Result<Vec<WaitingRun>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT id, job, slot_key, requested_by, response_url, requested_at \
                 FROM job_runs WHERE started_at IS NULL ORDER BY id",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(WaitingRun {
                    id: r.try_get_by_index(0)?,
                    job: r.try_get_by_index(1)?,
                    slot_key: r.try_get_by_index(2)?,
                    requested_by: r.try_get_by_index(3)?,
                    response_url: r.try_get_by_index(4)?,
                    requested_at: r.try_get_by_index(5)?,
                })
            })
            .collect()
    }

    /// Takes a waiting run for this scheduler; `false` when another one took it first. The
    /// response URL is forgotten once used.
    pub(crate) async fn start_waiting_run(
        &self,
        id: i64,
        holder: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        let updated = self
            .connection()
            .execute_raw(stmt(
                self.backend(),
                "UPDATE job_runs SET started_at = ?, holder = ?, response_url = NULL \
                 WHERE id = ? AND started_at IS NULL",
                vec![now.into(), holder.into(), id.into()],
            ))
            .await?
            .rows_affected();
        Ok(updated == 1)
    }

    pub(crate) async fn finish_job_run(
        &self,
        id: i64,
        now: i64,
        ok: bool,
        detail: &str,
    ) -> Result<(), DbErr> {
        self.connection()
            .execute_raw(stmt(
                self.backend(),
                "UPDATE job_runs SET finished_at = ?, outcome = ?, detail = ? WHERE id = ?",
                vec![
                    now.into(),
                    if ok { "ok" } else { "error" }.into(),
                    detail.into(),
                    id.into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// The latest scheduled (not manual) slot claimed for `job`, Unix seconds.
    pub(crate) async fn last_scheduled_slot(&self, job: &str) -> Result<Option<i64>, DbErr> {
        let row = self
            .connection()
            .query_one_raw(stmt(
                self.backend(),
                "SELECT MAX(slot_at) FROM job_runs WHERE job = ? AND manual = ?",
                vec![job.into(), false.into()],
            ))
            .await?;
        Ok(match row {
            Some(r) => r.try_get_by_index::<Option<i64>>(0)?,
            None => None,
        })
    }

    /// The latest started run of each job.
    pub async fn latest_job_runs(&self) -> Result<Vec<JobRun>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!(
                    "SELECT {RUN_COLUMNS} FROM job_runs WHERE id IN \
                     (SELECT MAX(id) FROM job_runs WHERE started_at IS NOT NULL GROUP BY job) \
                     ORDER BY job"
                ),
                vec![],
            ))
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// When each job last finished well: `(job, finished_at)`.
    pub async fn last_job_successes(&self) -> Result<Vec<(String, i64)>, DbErr> {
        let rows = self
            .reader()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT job, MAX(finished_at) FROM job_runs WHERE outcome = 'ok' \
                 AND finished_at IS NOT NULL GROUP BY job ORDER BY job",
                vec![],
            ))
            .await?;
        rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect()
    }

    /// Every recorded run of `job`, oldest first.
    pub async fn job_runs(&self, job: &str) -> Result<Vec<JobRun>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!("SELECT {RUN_COLUMNS} FROM job_runs WHERE job = ? ORDER BY id"),
                vec![job.into()],
            ))
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// The run that holds `slot_key` of `job`, whatever its state.
    pub async fn job_run_in_slot(
        &self,
        job: &str,
        slot_key: &str,
    ) -> Result<Option<JobRun>, DbErr> {
        let row = self
            .connection()
            .query_one_raw(stmt(
                self.backend(),
                &format!("SELECT {RUN_COLUMNS} FROM job_runs WHERE job = ? AND slot_key = ?"),
                vec![job.into(), slot_key.into()],
            ))
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }
}
