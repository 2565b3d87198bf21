//! The report jobs: `daily_report`, `weekly_capacity` and `monthly_capacity` load their data
//! from the store, have [`crate::core::reports`] build the message (and the chart), and queue
//! it in the outbox for the reports channel, once per day, week or month whatever the retries.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;

use super::{JobContext, JobOutcome};
use crate::app::App;
use crate::core::message::{Attachment, OutgoingMessage, Recipient};
use crate::core::render::Reply;
use crate::core::reports::{
    self, CAPACITY_DAYS, chart, daily, monthly, previous_day, previous_days, trend_chart, weekly,
};
use crate::store::planning::load_monthly;
use crate::store::reports::{load_capacity, load_daily};

/// Queues a report for `channel` under `key`: once, whatever the retries and replicas.
/// `false` when it was queued before.
async fn queue_for_channel(
    app: &App,
    now: DateTime<Utc>,
    channel: &str,
    reply: Reply,
    attachment: Option<Attachment>,
    key: &str,
) -> anyhow::Result<bool> {
    let message = OutgoingMessage {
        to: Recipient::Channel(channel.to_owned()),
        reply,
        attachment,
    };
    Ok(app.db.enqueue(&message, now.timestamp(), Some(key)).await?)
}

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
    let lang = app.config.slack.channel_language;
    let png = chart::render(&daily::heat_map(&data), lang)?;
    let day = slot.date_naive().pred_opt().unwrap_or(slot.date_naive());
    let queued = queue_for_channel(
        app,
        now,
        &channel,
        daily::build_in(&data, lang),
        Some(daily::chart_attachment(day, png, lang)),
        &format!("report:daily:{day}:{channel}"),
    )
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
    let queued = queue_for_channel(
        app,
        now,
        &channel,
        weekly::build_in(&summary, app.config.slack.channel_language),
        None,
        &format!("report:capacity:{}:{channel}", slot.date_naive()),
    )
    .await?;
    Ok(weekly::queued_summary(&channel, &summary, queued))
}

/// Builds the capacity report of the calendar month before `slot`'s and queues it, with its
/// chart, for the reports channel.
pub async fn post_monthly(
    app: &App,
    now: DateTime<Utc>,
    slot: DateTime<Tz>,
) -> anyhow::Result<String> {
    let Some(channel) = app.config.reports.channel.clone() else {
        return Ok(reports::NO_CHANNEL.to_owned());
    };
    let month = monthly::previous_month(slot.date_naive());
    let input = load_monthly(&app.db, &app.config, month, slot.timezone()).await?;
    let summary = monthly::summarize(&input);
    let lang = app.config.slack.channel_language;
    let png = trend_chart::render(&monthly::trend(&summary), lang)?;
    let queued = queue_for_channel(
        app,
        now,
        &channel,
        monthly::build_in(&summary, lang),
        Some(monthly::chart_attachment(month, png, lang)),
        &format!("report:monthly:{month}:{channel}"),
    )
    .await?;
    Ok(monthly::queued_summary(&channel, &summary, queued))
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

/// The `monthly_capacity` job: scheduled on days 1–3, it posts on the month's first working
/// day only; run by hand, it posts whatever the day.
pub fn monthly_capacity_job(ctx: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    Box::pin(async move {
        let day = ctx.slot.date_naive();
        if !ctx.manual && !monthly::is_first_working_day(day) {
            return Ok(JobOutcome {
                summary: format!("{day} is not the month's first working day: nothing to post"),
            });
        }
        let summary = post_monthly(&ctx.app, ctx.now, ctx.slot).await?;
        Ok(JobOutcome { summary })
    })
}
