//! The scheduler: decides which slots are due, claims them, runs the jobs and records the runs.
//!
//! [`Scheduler::tick`] does one round for a given instant and is what tests call; the task of
//! [`Scheduler::spawn`] sleeps until the next slot (at most [`MAX_SLEEP`], so runs asked for
//! from Slack start within seconds) and ticks.
//!
//! Rules, per job, at each tick:
//! * the slots due are those after the job's cursor and not after `now`; the cursor starts at
//!   the last slot recorded in the database (or `now - lateness` when there is none) and
//!   moves to `now` after each tick;
//! * of the due slots, only the latest runs, and only if it is at most `lateness` late; the
//!   others are skipped and logged (a bot down for a week posts one report, not seven);
//! * a slot runs only if its claim (`INSERT … ON CONFLICT DO NOTHING` on job + slot key) wins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use anyhow::{Context, anyhow};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use maison_command::Lang;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use super::{JobContext, JobOutcome, JobSpec, REGISTRY};
use crate::app::App;
use crate::app::jobs::{Asker, follow_run, tell_outcome};
use crate::core::jobs::{FinishedRun, JOB_TIMEOUT};
use crate::schedule::{self, manual_slot_key, parse_schedule, slot_key};
use crate::store::jobs::{SlotClaim, WaitingRun};

/// The longest the scheduler task sleeps between ticks; also how soon a run asked for from
/// Slack starts.
pub const MAX_SLEEP: StdDuration = StdDuration::from_secs(2);

/// A run asked for by hand.
#[derive(Debug, Clone)]
pub struct ManualRun {
    pub run: FinishedRun,
    /// Another request had started the same run this second; this one waited for it.
    pub joined: bool,
}

/// How far back a scheduler looks for missed slots (to log them) after a long downtime.
const MAX_LOOKBACK: Duration = Duration::days(7);
/// Bound on the slots examined per job and tick (a per-second schedule after a week down).
const MAX_SLOTS_EXAMINED: usize = 100_000;

/// A job with its effective schedule.
struct Entry {
    spec: JobSpec,
    /// `None` when the schedule is `off`.
    schedule: Option<cron::Schedule>,
}

/// Runs the jobs of a registry on their schedules.
pub struct Scheduler {
    app: Arc<App>,
    tz: Tz,
    lateness: Duration,
    entries: Vec<Entry>,
    /// Identifies this scheduler in `job_runs.holder`.
    holder: String,
    /// Per job: every slot up to this instant has been dealt with.
    cursors: Mutex<HashMap<&'static str, DateTime<Utc>>>,
}

/// Slots of one job that were due but not run because they were too late or superseded by a
/// later slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSlots {
    pub job: String,
    pub count: usize,
    /// Slot key of the first skipped slot.
    pub first: String,
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Runs this scheduler claimed and ran.
    pub ran: Vec<FinishedRun>,
    /// Due slots another scheduler (or this one before a restart) had already claimed.
    pub already_claimed: Vec<(String, String)>,
    pub skipped: Vec<SkippedSlots>,
}

impl Scheduler {
    /// The scheduler of the [`REGISTRY`], with the schedules of `app.config.jobs`.
    pub fn new(app: Arc<App>) -> anyhow::Result<Self> {
        Self::with_jobs(app, REGISTRY)
    }

    /// A scheduler of other jobs (tests, tools). `[jobs.schedules]` entries for these jobs
    /// apply; entries for the registry's other jobs are left alone.
    pub fn with_jobs(app: Arc<App>, jobs: &[JobSpec]) -> anyhow::Result<Self> {
        let config = &app.config.jobs;
        let ours: std::collections::BTreeMap<String, String> = config
            .schedules
            .iter()
            .filter(|(name, _)| schedule::lookup(name).is_none())
            .map(|(name, expression)| (name.clone(), expression.clone()))
            .collect();
        let names: Vec<&str> = jobs.iter().map(|spec| spec.name).collect();
        schedule::check_schedules_against(&ours, &names)?;
        let mut entries: Vec<Entry> = Vec::with_capacity(jobs.len());
        for spec in jobs {
            if entries.iter().any(|e| e.spec.name == spec.name) {
                return Err(anyhow!("job {:?} is registered twice", spec.name));
            }
            let expression = config
                .schedules
                .get(spec.name)
                .map(String::as_str)
                .unwrap_or(spec.default_schedule);
            let schedule = parse_schedule(expression)
                .map_err(|e| anyhow!("job {}: schedule {expression:?}: {e}", spec.name))?;
            entries.push(Entry {
                spec: *spec,
                schedule,
            });
        }
        let tz = app.config.company_tz();
        let lateness = Duration::from_std(config.lateness).context("jobs.lateness is too long")?;
        Ok(Self {
            app,
            tz,
            lateness,
            entries,
            holder: uuid::Uuid::new_v4().to_string(),
            cursors: Mutex::new(HashMap::new()),
        })
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Runs what is due at `now`: manual runs asked for from Slack, then every job whose
    /// latest due slot is within the lateness window and can be claimed. Due jobs run
    /// concurrently; the tick returns when they have all finished.
    pub async fn tick(&self, now: DateTime<Utc>) -> TickReport {
        let mut report = TickReport::default();
        let mut runs = Vec::new();
        match self.app.db.waiting_job_runs().await {
            Ok(waiting) => {
                for run in waiting {
                    match self
                        .app
                        .db
                        .start_waiting_run(run.id, &self.holder, now.timestamp())
                        .await
                    {
                        Ok(true) => runs.push(Pending::Requested(run)),
                        Ok(false) => {}
                        Err(err) => {
                            warn!(job = %run.job, error = %err, "cannot start a requested run")
                        }
                    }
                }
            }
            Err(err) => warn!(error = %err, "cannot read the runs asked for"),
        }
        for entry in &self.entries {
            let Some(schedule) = &entry.schedule else {
                continue;
            };
            let name = entry.spec.name;
            let due = match self.due_slot(name, schedule, now, &mut report).await {
                Ok(due) => due,
                Err(err) => {
                    warn!(job = name, error = %format!("{err:#}"), "cannot decide what is due");
                    continue;
                }
            };
            let Some(slot) = due else {
                continue;
            };
            let key = slot_key(&slot);
            let claim = SlotClaim {
                job: name,
                slot_key: &key,
                slot_at: slot.timestamp(),
                manual: false,
                requested_by: None,
                holder: &self.holder,
                now: now.timestamp(),
            };
            match self.app.db.claim_job_slot(claim).await {
                Ok(Some(id)) => runs.push(Pending::Scheduled {
                    id,
                    spec: entry.spec,
                    slot,
                    key,
                }),
                Ok(None) => {
                    info!(job = name, slot = %key, "slot already claimed; not running it again");
                    report.already_claimed.push((name.to_owned(), key));
                }
                Err(err) => warn!(job = name, slot = %key, error = %err, "cannot claim slot"),
            }
        }
        let finished = futures::future::join_all(runs.into_iter().map(|run| self.start(run, now)));
        report.ran = finished.await;
        report
    }

    /// The latest slot of `name` due at `now` and still worth running, after moving the
    /// job's cursor to `now`. Earlier due slots are recorded in `report.skipped` and logged.
    async fn due_slot(
        &self,
        name: &'static str,
        schedule: &cron::Schedule,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> anyhow::Result<Option<DateTime<Tz>>> {
        let known = self.cursors.lock().unwrap().get(name).copied();
        let cursor = match known {
            Some(cursor) => cursor,
            None => {
                let last = self.app.db.last_scheduled_slot(name).await?;
                match last.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)) {
                    Some(last) => last.max(now - MAX_LOOKBACK),
                    None => now - self.lateness,
                }
            }
        };
        {
            let mut cursors = self.cursors.lock().unwrap();
            let stored = cursors.entry(name).or_insert(now);
            *stored = (*stored).max(now);
        }
        if cursor >= now {
            return Ok(None);
        }
        let due: Vec<DateTime<Tz>> = schedule
            .after(&cursor.with_timezone(&self.tz))
            .take_while(|slot| *slot <= now)
            .take(MAX_SLOTS_EXAMINED)
            .collect();
        let Some(latest) = due.last().cloned() else {
            return Ok(None);
        };
        let late = now - latest.with_timezone(&Utc);
        let (run, skipped) = if late <= self.lateness {
            (Some(latest), &due[..due.len() - 1])
        } else {
            (None, &due[..])
        };
        // The two occurrences of a fall-back hour share a key: not a skip worth reporting.
        let run_key = run.as_ref().map(slot_key);
        let skipped: Vec<String> = skipped
            .iter()
            .map(slot_key)
            .filter(|key| Some(key) != run_key.as_ref())
            .collect();
        if let Some(first) = skipped.first() {
            let too_late = due
                .iter()
                .filter(|slot| now - slot.with_timezone(&Utc) > self.lateness)
                .count();
            let last = &skipped[skipped.len() - 1];
            let lateness = self.lateness.to_std().unwrap_or_default();
            if too_late > 0 {
                warn!(job = name, count = skipped.len(), too_late, first = %first, last = %last, ?lateness, "missed slots skipped: too late to run");
            } else {
                info!(job = name, count = skipped.len(), first = %first, last = %last, "due slots superseded by a later slot; running only that one");
            }
            report.skipped.push(SkippedSlots {
                job: name.to_owned(),
                count: skipped.len(),
                first: first.clone(),
            });
        }
        Ok(run)
    }

    /// Runs one claimed or requested run and records its outcome.
    async fn start(&self, run: Pending, now: DateTime<Utc>) -> FinishedRun {
        match run {
            Pending::Scheduled {
                id,
                spec,
                slot,
                key,
            } => self.execute(id, spec, now, slot, key, false).await,
            Pending::Requested(request) => {
                let slot = now.with_timezone(&self.tz);
                let finished = match self.entries.iter().find(|e| e.spec.name == request.job) {
                    Some(entry) => {
                        let key = request.slot_key.clone();
                        self.execute(request.id, entry.spec, now, slot, key, true)
                            .await
                    }
                    None => {
                        let detail = format!("there is no job called {:?}", request.job);
                        self.record(request.id, false, &detail).await;
                        FinishedRun {
                            job: request.job.clone(),
                            slot_key: request.slot_key.clone(),
                            ok: false,
                            detail,
                        }
                    }
                };
                let lang = self.asker_lang(request.requested_by.as_deref()).await;
                let asker = Asker {
                    response_url: request.response_url.as_deref(),
                    user: request.requested_by.as_deref(),
                    dedupe_key: format!("jobs:outcome:{}", request.id),
                    lang,
                };
                let now = self.app.clock.now().timestamp();
                tell_outcome(&self.app.db, &*self.app.slack, now, &finished, asker).await;
                finished
            }
        }
    }

    /// Runs `spec` in a task of its own: a panicking job, or one still running after
    /// [`JOB_TIMEOUT`], is recorded as failed.
    async fn execute(
        &self,
        id: i64,
        spec: JobSpec,
        now: DateTime<Utc>,
        slot: DateTime<Tz>,
        key: String,
        manual: bool,
    ) -> FinishedRun {
        let span = info_span!("job", job = spec.name, slot = %key, run = id);
        let context = JobContext {
            app: self.app.clone(),
            now,
            slot,
            manual,
        };
        let mut task = tokio::spawn((spec.run)(context).instrument(span.clone()));
        let result: anyhow::Result<JobOutcome> =
            match tokio::time::timeout(JOB_TIMEOUT, &mut task).await {
                Ok(Ok(result)) => result,
                Ok(Err(join)) => Err(anyhow!("the job panicked: {join}")),
                Err(_) => {
                    task.abort();
                    Err(anyhow!(
                        "stopped after {} minutes without finishing",
                        JOB_TIMEOUT.as_secs() / 60
                    ))
                }
            };
        let (ok, detail) = match result {
            Ok(outcome) => {
                span.in_scope(|| info!(summary = %outcome.summary, "job done"));
                (true, outcome.summary)
            }
            Err(err) => {
                let detail = format!("{err:#}");
                span.in_scope(|| warn!(error = %detail, "job failed"));
                (false, detail)
            }
        };
        self.record(id, ok, &detail).await;
        FinishedRun {
            job: spec.name.to_owned(),
            slot_key: key,
            ok,
            detail,
        }
    }

    /// The language of whoever asked for a run (English for the command line, or when the
    /// database cannot say).
    async fn asker_lang(&self, requested_by: Option<&str>) -> Lang {
        let Some(user) = requested_by.filter(|user| *user != "cli") else {
            return Lang::En;
        };
        match self.app.db.languages().await {
            Ok(languages) => languages.get(user).copied().unwrap_or_default(),
            Err(err) => {
                warn!(error = %err, "cannot read the asker's language; answering in English");
                Lang::En
            }
        }
    }

    async fn record(&self, id: i64, ok: bool, detail: &str) {
        let finished_at = self.app.clock.now().timestamp();
        if let Err(err) = self
            .app
            .db
            .finish_job_run(id, finished_at, ok, detail)
            .await
        {
            warn!(run = id, error = %err, "cannot record the outcome of a job run");
        }
    }

    /// Runs `job` now, whatever its schedule, under a `manual:` slot: a second start in the same
    /// second runs nothing and waits for the first run's outcome. For `maison-bot jobs run`.
    pub async fn run_now(&self, job: &str, requested_by: &str) -> anyhow::Result<ManualRun> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.spec.name == job)
            .ok_or_else(|| {
                let known: Vec<&str> = self.entries.iter().map(|e| e.spec.name).collect();
                anyhow!(
                    "there is no job called {job:?} (jobs: {})",
                    known.join(", ")
                )
            })?;
        let now = self.app.clock.now();
        let slot = now.with_timezone(&self.tz);
        let key = manual_slot_key(&slot);
        let claim = SlotClaim {
            job: entry.spec.name,
            slot_key: &key,
            slot_at: now.timestamp(),
            manual: true,
            requested_by: Some(requested_by),
            holder: &self.holder,
            now: now.timestamp(),
        };
        let Some(id) = self.app.db.claim_job_slot(claim).await? else {
            // Started by someone else this very second: harmless, that run is ours too.
            let run = follow_run(&self.app.db, job, &key).await?;
            return Ok(ManualRun { run, joined: true });
        };
        let run = self.execute(id, entry.spec, now, slot, key, true).await;
        Ok(ManualRun { run, joined: false })
    }

    /// When the next slot of any job falls, after what has been dealt with so far.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        let cursors = self.cursors.lock().unwrap();
        self.entries
            .iter()
            .filter_map(|entry| {
                let schedule = entry.schedule.as_ref()?;
                let cursor = cursors.get(entry.spec.name)?;
                schedule
                    .after(&cursor.with_timezone(&self.tz))
                    .next()
                    .map(|slot| slot.with_timezone(&Utc))
            })
            .min()
    }

    /// Ticks until `shutdown`, sleeping until the next slot but at most [`MAX_SLEEP`]. A tick
    /// in progress finishes before the task ends.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            info!(
                jobs = self.entries.iter().filter(|e| e.schedule.is_some()).count(),
                tz = %self.tz,
                "scheduler started"
            );
            loop {
                let now = self.app.clock.now();
                self.tick(now).await;
                let wait = self
                    .next_due()
                    .map(|at| (at - self.app.clock.now()).to_std().unwrap_or_default())
                    .unwrap_or(MAX_SLEEP)
                    .min(MAX_SLEEP);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
            info!("scheduler stopped");
        })
    }
}

enum Pending {
    Scheduled {
        id: i64,
        spec: JobSpec,
        slot: DateTime<Tz>,
        key: String,
    },
    Requested(WaitingRun),
}
