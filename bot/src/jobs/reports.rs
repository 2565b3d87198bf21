//! The report jobs: `daily_report` and `weekly_capacity` load their data from the store, have
//! [`crate::core::reports`] build the message (and the chart), and queue it in the outbox for
//! the reports channel, once per day or week whatever the retries.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;

use super::{JobContext, JobOutcome};
use crate::app::App;
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::reports::{
    self, CAPACITY_DAYS, chart, daily, previous_day, previous_days, weekly,
};
use crate::store::reports::{load_capacity, load_daily};

/// Builds the daily report for the day before `slot` and queues it (with its chart) for the
/// reports channel. Returns a one-line summary for the job log.
pub async fn post_daily(
    app: &App,
    now: DateTime<Utc>,
    slot: DateTime<Tz>,
) -> anyhow::Result<String> {
    let Some(channel) = app.config.reports.channel.clone() else {
        return Ok(reports::NO_CHANNEL.to_owned());
    };
    let (from, to) = previous_day(slot);
    let data = load_daily(
        &app.db,
        &app.config,
        from,
        to,
        slot.timezone(),
        now.timestamp(),
    )
    .await?;
    let reply = daily::build(&data);
    let png = chart::render(&daily::heat_map(&data))?;
    let day = slot.date_naive().pred_opt().unwrap_or(slot.date_naive());
    let message = OutgoingMessage {
        to: Recipient::Channel(channel.clone()),
        reply,
        attachment: Some(daily::chart_attachment(day, png)),
    };
    let key = format!("report:daily:{day}:{channel}");
    let queued = app
        .db
        .enqueue(&message, now.timestamp(), Some(&key))
        .await?;
    Ok(daily::queued_summary(day, &channel, &data, queued))
}

/// Builds the capacity report for the [`CAPACITY_DAYS`] days before `slot` and queues it.
pub async fn post_capacity(
    app: &App,
    now: DateTime<Utc>,
    slot: DateTime<Tz>,
) -> anyhow::Result<String> {
    let Some(channel) = app.config.reports.channel.clone() else {
        return Ok(reports::NO_CHANNEL.to_owned());
    };
    let (from, to) = previous_days(slot, CAPACITY_DAYS);
    let input = load_capacity(&app.db, &app.config, from, to, slot.timezone()).await?;
    let summary = weekly::summarize(&input);
    let message = OutgoingMessage {
        to: Recipient::Channel(channel.clone()),
        reply: weekly::build(&summary),
        attachment: None,
    };
    let key = format!("report:capacity:{}:{channel}", slot.date_naive());
    let queued = app
        .db
        .enqueue(&message, now.timestamp(), Some(&key))
        .await?;
    Ok(weekly::queued_summary(&channel, &summary, queued))
}

/// The `daily_report` job.
pub fn daily_report_job(ctx: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    Box::pin(async move {
        let summary = post_daily(&ctx.app, ctx.now, ctx.slot).await?;
        Ok(JobOutcome { summary })
    })
}

/// The `weekly_capacity` job.
pub fn weekly_capacity_job(ctx: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    Box::pin(async move {
        let summary = post_capacity(&ctx.app, ctx.now, ctx.slot).await?;
        Ok(JobOutcome { summary })
    })
}
