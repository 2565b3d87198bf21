//! The scheduler on SQLite and PostgreSQL, with a manual clock and explicit ticks: a slot runs
//! exactly once across restarts and replicas, a missed slot is caught up once within the
//! lateness window and skipped after it, DST changes give one run per wall-clock slot, and
//! `/maison jobs run` queues a run that the scheduler performs and reports.
//!
//! The test jobs leave their own trace: each run queues an outbox message naming its slot, so
//! the count of runs does not rely on the scheduler's own bookkeeping.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use maison_bot::app::App;
use maison_bot::config::Config;
use maison_bot::core::clock::Clock;
use maison_bot::core::message::{OutgoingMessage, Recipient};
use maison_bot::core::render::Reply;
use maison_bot::jobs::{JobContext, JobOutcome, JobSpec, Scheduler, TickReport};
use maison_bot::schedule::{JOBS, slot_key};
use maison_tests::{Backend, BotTester, on_both_databases, reply_text, test_config};

/// Queues a message naming the slot: one message per run.
fn trace_run(context: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    async move {
        let key = slot_key(&context.slot);
        let message = OutgoingMessage {
            to: Recipient::Channel("C0RUNS".into()),
            reply: Reply::ephemeral(format!("ran {key}")),
            attachment: None,
        };
        context
            .app
            .db
            .enqueue(&message, context.now.timestamp(), None)
            .await?;
        Ok(JobOutcome {
            summary: format!("ran slot {key}"),
        })
    }
    .boxed()
}

fn failing_run(_: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    async move { Err(anyhow::anyhow!("the report database is gone")) }.boxed()
}

fn panicking_run(_: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    async move { panic!("index out of bounds") }.boxed()
}

const DAILY: &[JobSpec] = &[JobSpec {
    name: "test_daily",
    default_schedule: "0 0 9 * * *",
    run: trace_run,
}];

const EVERY_MINUTE: &[JobSpec] = &[JobSpec {
    name: "test_minutely",
    default_schedule: "0 * * * * *",
    run: trace_run,
}];

const DST: &[JobSpec] = &[
    JobSpec {
        name: "test_hourly",
        default_schedule: "0 30 * * * *",
        run: trace_run,
    },
    JobSpec {
        name: "test_at_0230",
        default_schedule: "0 30 2 * * *",
        run: trace_run,
    },
];

/// The test config with the registry's own jobs switched off (so that only test jobs run) and
/// the given company time zone.
fn config(tz: &str) -> Config {
    let mut config = test_config();
    config.jobs.timezone = Some(tz.to_owned());
    for spec in JOBS {
        config
            .jobs
            .schedules
            .insert(spec.name.to_owned(), "off".to_owned());
    }
    config
}

/// The scheduler tests read what jobs queued from the outbox table, so nothing is sent.
async fn bot(backend: Backend, tz: &str) -> BotTester {
    let bot = BotTester::start_with(backend, config(tz)).await;
    bot.stop_outbox_sender().await;
    bot
}

fn scheduler(app: &Arc<App>, jobs: &[JobSpec]) -> Scheduler {
    Scheduler::with_jobs(app.clone(), jobs).expect("scheduler")
}

/// The slots the test jobs ran, as their trace messages say, in order. (With the sender
/// stopped, they all wait in the outbox; reading them here is what `finish` checks.)
async fn traces(bot: &BotTester) -> Vec<String> {
    bot.queued()
        .await
        .into_iter()
        .filter_map(|e| e.text.strip_prefix("ran ").map(str::to_owned))
        .collect()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// Ticks every `step` from `from` to `to` inclusive; returns every report.
async fn tick_through(
    scheduler: &Scheduler,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Duration,
) -> Vec<TickReport> {
    let mut reports = Vec::new();
    let mut now = from;
    while now <= to {
        reports.push(scheduler.tick(now).await);
        now += step;
    }
    reports
}

on_both_databases! {
    async fn a_restart_across_a_slot_runs_it_once(backend: Backend) {
        let bot = bot(backend, "UTC").await;
        let first = scheduler(&bot.app, DAILY);
        assert!(first.tick(utc(2026, 11, 30, 8, 59)).await.ran.is_empty());
        let report = first.tick(utc(2026, 11, 30, 9, 0)).await;
        assert_eq!(report.ran.len(), 1);
        assert!(report.ran[0].ok, "{report:?}");
        assert_eq!(report.ran[0].slot_key, "2026-11-30T09:00:00");
        drop(first);

        // Restarted five minutes later: the 09:00 slot is within lateness, but it has run.
        let restarted = scheduler(&bot.app, DAILY);
        let report = restarted.tick(utc(2026, 11, 30, 9, 5)).await;
        assert!(report.ran.is_empty(), "{report:?}");
        assert_eq!(traces(&bot).await, ["2026-11-30T09:00:00"]);
        let runs = bot.db().job_runs("test_daily").await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].outcome.as_deref(), Some("ok"));
        assert_eq!(runs[0].detail.as_deref(), Some("ran slot 2026-11-30T09:00:00"));
        assert!(runs[0].finished_at.is_some());
        // The next day runs normally.
        let report = restarted.tick(utc(2026, 12, 1, 9, 0)).await;
        assert_eq!(report.ran.len(), 1);
        assert_eq!(traces(&bot).await, ["2026-11-30T09:00:00", "2026-12-01T09:00:00"]);
        bot.finish().await;
    }

    async fn two_replicas_run_each_slot_once(backend: Backend) {
        let bot = bot(backend, "UTC").await;
        let one = scheduler(&bot.app, EVERY_MINUTE);
        let two = scheduler(&bot.app, EVERY_MINUTE);
        let start = utc(2026, 11, 30, 9, 0);
        // Both start up at 08:59:30 (one of them runs 08:59); from then on each considers
        // every slot, and they race for it.
        let (a, b) = tokio::join!(
            one.tick(start - Duration::seconds(30)),
            two.tick(start - Duration::seconds(30))
        );
        assert_eq!(a.ran.len() + b.ran.len(), 1);
        let mut ran = 0;
        for minute in 0..10 {
            // Both replicas tick at the same instants, concurrently.
            let now = start + Duration::minutes(minute) + Duration::seconds(1);
            let (a, b) = tokio::join!(one.tick(now), two.tick(now));
            assert_eq!(a.ran.len() + b.ran.len(), 1, "minute {minute}: {a:?} {b:?}");
            assert_eq!(a.already_claimed.len() + b.already_claimed.len(), 1);
            ran += a.ran.len() + b.ran.len();
        }
        assert_eq!(ran, 10);
        let traces = traces(&bot).await;
        let expected: Vec<String> = std::iter::once("2026-11-30T08:59:00".to_owned())
            .chain((0..10).map(|m| format!("2026-11-30T09:{m:02}:00")))
            .collect();
        let mut sorted = traces.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        bot.finish().await;
    }

    async fn a_slot_missed_while_down_is_caught_up_once_within_lateness(backend: Backend) {
        let bot = bot(backend, "UTC").await;
        // It ran yesterday…
        let before = scheduler(&bot.app, DAILY);
        assert_eq!(before.tick(utc(2026, 11, 29, 9, 0)).await.ran.len(), 1);
        drop(before);
        // …then the bot was down from 08:50 to 09:20 today (lateness is 30 minutes).
        let after = scheduler(&bot.app, DAILY);
        let report = after.tick(utc(2026, 11, 30, 9, 20)).await;
        assert_eq!(report.ran.len(), 1, "{report:?}");
        assert_eq!(report.ran[0].slot_key, "2026-11-30T09:00:00");
        assert!(report.skipped.is_empty());
        for minute in 21..40 {
            assert!(after.tick(utc(2026, 11, 30, 9, minute)).await.ran.is_empty());
        }
        assert_eq!(traces(&bot).await, ["2026-11-29T09:00:00", "2026-11-30T09:00:00"]);
        // The job saw its slot and the run's own time.
        let runs = bot.db().job_runs("test_daily").await.unwrap();
        assert_eq!(runs[1].started_at, Some(utc(2026, 11, 30, 9, 20).timestamp()));
        assert_eq!(runs[1].slot_at, utc(2026, 11, 30, 9, 0).timestamp());
        bot.finish().await;
    }

    async fn a_down_time_over_many_slots_runs_only_the_latest(backend: Backend) {
        let bot = bot(backend, "UTC").await;
        let before = scheduler(&bot.app, EVERY_MINUTE);
        assert_eq!(before.tick(utc(2026, 11, 30, 9, 0)).await.ran.len(), 1);
        drop(before);
        // Down for 20 minutes: 20 slots missed, all within lateness; one run, not twenty.
        let after = scheduler(&bot.app, EVERY_MINUTE);
        let report = after.tick(utc(2026, 11, 30, 9, 20) + Duration::seconds(30)).await;
        assert_eq!(report.ran.len(), 1);
        assert_eq!(report.ran[0].slot_key, "2026-11-30T09:20:00");
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].count, 19);
        assert_eq!(report.skipped[0].first, "2026-11-30T09:01:00");
        assert_eq!(traces(&bot).await, ["2026-11-30T09:00:00", "2026-11-30T09:20:00"]);
        bot.finish().await;
    }

    async fn a_slot_missed_beyond_lateness_is_skipped(backend: Backend) {
        let bot = bot(backend, "UTC").await;
        let before = scheduler(&bot.app, DAILY);
        assert_eq!(before.tick(utc(2026, 11, 29, 9, 0)).await.ran.len(), 1);
        drop(before);
        // Back at 09:45: the 09:00 slot is 45 minutes late, more than the 30 allowed.
        let after = scheduler(&bot.app, DAILY);
        let report = after.tick(utc(2026, 11, 30, 9, 45)).await;
        assert!(report.ran.is_empty(), "{report:?}");
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].first, "2026-11-30T09:00:00");
        assert!(after.tick(utc(2026, 11, 30, 12, 0)).await.ran.is_empty());
        // A fresh install (no history) started late does not run it either.
        let fresh_bot = bot_with_lateness(backend, 10).await;
        let fresh = scheduler(&fresh_bot.app, DAILY);
        assert!(fresh.tick(utc(2026, 11, 30, 9, 11)).await.ran.is_empty());
        assert!(traces(&fresh_bot).await.is_empty());
        // Tomorrow's slot runs as usual.
        assert_eq!(after.tick(utc(2026, 12, 1, 9, 0)).await.ran.len(), 1);
        assert_eq!(traces(&bot).await, ["2026-11-29T09:00:00", "2026-12-01T09:00:00"]);
        fresh_bot.finish().await;
        bot.finish().await;
    }

    async fn a_dst_fall_back_runs_each_wall_clock_slot_once(backend: Backend) {
        let bot = bot(backend, "Europe/Paris").await;
        let jobs = scheduler(&bot.app, DST);
        // Sunday 25 October 2026: at 03:00 CEST the clocks go back to 02:00 CET, so 02:00–02:59
        // happens twice. From 01:00 CEST (23:00 UTC) to 05:00 CET (04:00 UTC), a tick a minute.
        let reports = tick_through(
            &jobs,
            utc(2026, 10, 24, 23, 0),
            utc(2026, 10, 25, 4, 0),
            Duration::minutes(1),
        )
        .await;
        let runs: Vec<(String, String)> = reports
            .iter()
            .flat_map(|r| r.ran.iter().map(|run| (run.job.clone(), run.slot_key.clone())))
            .collect();
        assert_eq!(
            runs,
            [
                ("test_hourly".to_owned(), "2026-10-25T01:30:00".to_owned()),
                ("test_hourly".to_owned(), "2026-10-25T02:30:00".to_owned()),
                ("test_at_0230".to_owned(), "2026-10-25T02:30:00".to_owned()),
                ("test_hourly".to_owned(), "2026-10-25T03:30:00".to_owned()),
                ("test_hourly".to_owned(), "2026-10-25T04:30:00".to_owned()),
            ]
        );
        // 02:30 ran at its first occurrence (CEST, 00:30 UTC); the second one found it claimed.
        let hourly = bot.db().job_runs("test_hourly").await.unwrap();
        assert_eq!(hourly[1].slot_at, utc(2026, 10, 25, 0, 30).timestamp());
        let claimed: Vec<&(String, String)> =
            reports.iter().flat_map(|r| r.already_claimed.iter()).collect();
        assert_eq!(claimed.len(), 2, "{claimed:?}");
        assert_eq!(claimed.iter().filter(|(_, key)| key == "2026-10-25T02:30:00").count(), 2);
        assert_eq!(traces(&bot).await.len(), 5);
        bot.finish().await;
    }

    async fn a_dst_spring_forward_skips_the_missing_hour(backend: Backend) {
        let bot = bot(backend, "Europe/Paris").await;
        let jobs = scheduler(&bot.app, DST);
        // Sunday 29 March 2026: at 02:00 CET the clocks jump to 03:00 CEST; 02:30 never
        // happens. From 01:00 CET (00:00 UTC) on the 28th to 05:00 CEST on the 30th.
        let reports = tick_through(
            &jobs,
            utc(2026, 3, 29, 0, 0),
            utc(2026, 3, 29, 3, 0),
            Duration::minutes(1),
        )
        .await;
        let runs: Vec<(String, String)> = reports
            .iter()
            .flat_map(|r| r.ran.iter().map(|run| (run.job.clone(), run.slot_key.clone())))
            .collect();
        assert_eq!(
            runs,
            [
                ("test_hourly".to_owned(), "2026-03-29T01:30:00".to_owned()),
                ("test_hourly".to_owned(), "2026-03-29T03:30:00".to_owned()),
                ("test_hourly".to_owned(), "2026-03-29T04:30:00".to_owned()),
            ]
        );
        // One tick a minute from 00:00 to 03:00 UTC, none with skipped slots.
        assert_eq!(reports.iter().filter(|r| r.skipped.is_empty()).count(), 181);
        // The 02:30 job had no slot that day; the next day it runs at 02:30 CEST (00:30 UTC).
        let report = jobs.tick(utc(2026, 3, 30, 0, 30)).await;
        let next_day: Vec<(&str, &str)> = report
            .ran
            .iter()
            .map(|run| (run.job.as_str(), run.slot_key.as_str()))
            .collect();
        assert_eq!(
            next_day,
            [
                ("test_hourly", "2026-03-30T02:30:00"),
                ("test_at_0230", "2026-03-30T02:30:00")
            ]
        );
        let at_0230 = bot.db().job_runs("test_at_0230").await.unwrap();
        assert_eq!(at_0230.len(), 1);
        assert_eq!(traces(&bot).await.len(), 5);
        bot.finish().await;
    }

    async fn a_failing_job_is_recorded_and_not_retried(backend: Backend) {
        let bot = bot(backend, "UTC").await;
        const FAILING: &[JobSpec] = &[
            JobSpec {
                name: "test_failing",
                default_schedule: "0 0 9 * * *",
                run: failing_run,
            },
            JobSpec {
                name: "test_panicking",
                default_schedule: "0 0 9 * * *",
                run: panicking_run,
            },
        ];
        let jobs = scheduler(&bot.app, FAILING);
        let report = jobs.tick(utc(2026, 11, 30, 9, 0)).await;
        assert_eq!(report.ran.len(), 2);
        assert_eq!(report.ran.iter().filter(|run| !run.ok).count(), 2);
        assert!(report.ran[0].detail.contains("database is gone"));
        assert!(report.ran[1].detail.contains("panicked"), "{:?}", report.ran[1]);
        assert!(jobs.tick(utc(2026, 11, 30, 9, 10)).await.ran.is_empty());
        for job in ["test_failing", "test_panicking"] {
            let runs = bot.db().job_runs(job).await.unwrap();
            assert_eq!(runs.len(), 1);
            assert_eq!(runs[0].outcome.as_deref(), Some("error"));
        }
        bot.finish().await;
    }

    async fn a_manual_run_claims_its_own_slot(backend: Backend) {
        let bot = bot(backend, "UTC").await;
        let jobs = scheduler(&bot.app, DAILY);
        let first = jobs.run_now("test_daily", "cli").await.unwrap();
        assert!(first.run.ok);
        assert!(!first.joined);
        assert_eq!(first.run.slot_key, "manual:2026-11-30T08:00:00");
        // Started twice in the same second: runs once, and the second start is told how the
        // first went instead of failing (found trying it: it exited 1 with an error).
        let again = jobs.run_now("test_daily", "cli").await.unwrap();
        assert!(again.joined);
        assert!(again.run.ok);
        assert_eq!(again.run.detail, first.run.detail);
        let unknown = jobs.run_now("test_weekly", "cli").await.unwrap_err();
        assert!(unknown.to_string().contains("test_daily"), "{unknown}");
        // A manual run is not a scheduled slot: 09:00 still runs.
        assert_eq!(jobs.tick(utc(2026, 11, 30, 9, 0)).await.ran.len(), 1);
        assert_eq!(traces(&bot).await.len(), 2);
        bot.finish().await;
    }

    async fn jobs_run_from_slack_is_run_by_the_scheduler_and_reported(backend: Backend) {
        let bot = bot(backend, "Europe/Paris").await;
        let text = bot.command_text("U0ALICE", "jobs run metrics_retention").await;
        assert!(text.contains("admin"), "{text}");
        let text = bot.command_text("U0ADMIN", "jobs run metrics_retnetion").await;
        assert!(text.contains("Did you mean `metrics_retention`"), "{text}");
        let text = bot.command_text("U0ADMIN", "jobs run metrics_retention").await;
        assert!(text.contains("Running `metrics_retention` now"), "{text}");

        // Asked again in the same second (found trying it: the second asker never heard back).
        let text = bot.command_text("U0ADMIN", "jobs run metrics_retention").await;
        assert!(text.contains("already asked for this second by <@U0ADMIN>"), "{text}");
        assert!(text.contains("you will see how it went here too"), "{text}");

        let jobs = Scheduler::new(bot.app.clone()).unwrap();
        let report = jobs.tick(bot.clock.now()).await;
        assert_eq!(report.ran.len(), 1, "{report:?}");
        assert!(report.ran[0].ok, "{report:?}");
        // Both askers hear the outcome, each on their own response_url.
        let mut urls = std::collections::HashSet::new();
        for _ in 0..2 {
            let answer = bot.slack.expect("response_url").await;
            urls.insert(answer.args["response_url_id"].as_str().unwrap().to_owned());
            let answer = reply_text(&answer.args);
            assert!(answer.contains("`metrics_retention` ran: deleted 0 GPU minute rows"), "{answer}");
        }
        assert_eq!(urls.len(), 2);
        // Once finished, a third ask in the same second gets the outcome at once.
        let text = bot.command_text("U0ADMIN", "jobs run metrics_retention").await;
        assert!(text.contains("`metrics_retention` ran: deleted 0 GPU minute rows"), "{text}");
        // Taken once: the next tick does not run it again.
        assert!(jobs.tick(bot.clock.now()).await.ran.is_empty());
        let runs = bot.db().job_runs("metrics_retention").await.unwrap();
        assert_eq!(runs.len(), 1);
        assert!(runs[0].manual);
        assert_eq!(runs[0].requested_by.as_deref(), Some("U0ADMIN"));
        let audit = bot.db().audit_log().await.unwrap();
        assert!(audit.iter().any(|a| a.action == "jobs.run" && a.target == "metrics_retention"));

        let list = bot.command_text("U0ADMIN", "jobs list").await;
        assert!(list.contains("metrics_retention"), "{list}");
        assert!(list.contains("ok: deleted 0 GPU minute rows"), "{list}");
        assert!(list.contains("Europe/Paris"), "{list}");
        assert!(list.contains("0 waiting, 0 parked"), "{list}");
        bot.finish().await;
    }
}

/// A bot whose lateness window is `minutes` long.
async fn bot_with_lateness(backend: Backend, minutes: u64) -> BotTester {
    let mut config = config("UTC");
    config.jobs.lateness = std::time::Duration::from_secs(minutes * 60);
    let bot = BotTester::start_with(backend, config).await;
    bot.stop_outbox_sender().await;
    bot
}
