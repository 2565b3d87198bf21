//! Scheduled reports to the fleet channel: the daily report (with its heat-map chart) and the
//! weekly capacity report. Each is loaded by one function ([`load_daily`], [`load_capacity`]),
//! built by the pure functions of [`crate::core::reports`] and queued in the durable outbox by
//! its job.
//!
//! Also here: the record of refused bookings (the capacity report's refused demand) and the
//! admins' "Remove" button for orphan images.

mod data;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;
use sea_orm::ConnectionTrait;
use tracing::warn;

pub use data::{load_capacity, load_daily};

use crate::app::App;
use crate::core::fleet::short_id;
use crate::core::message::{Attachment, OutgoingMessage, Recipient};
use crate::core::render::{Reply, Visibility};
use crate::core::reports::{CAPACITY_DAYS, chart, daily, previous_day, previous_days, weekly};
use crate::db::{AuditEntry, Db};
use crate::jobs::{JobContext, JobOutcome};
use crate::reminders::Clicker;
use maison_command::ReportPeriod;

/// How long the agent may take to remove an image before the click is answered as failed.
const REMOVE_IMAGE_TIMEOUT: StdDuration = StdDuration::from_secs(20);

/// A booking request turned down for lack of GPUs, for the capacity report.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    pub slack_user: &'a str,
    /// `None` for `book any` (no host had room).
    pub host: Option<&'a str>,
    pub gpus: u32,
    pub start: i64,
    pub end: i64,
}

/// Records a refusal. Never fails the caller: the reply to the user matters more than the
/// statistic, so an error is logged.
pub async fn record_refusal(db: &Db, refusal: Refusal<'_>, now: i64) {
    let result = db
        .connection()
        .execute_raw(crate::db::sql::stmt(
            db.backend(),
            "INSERT INTO booking_refusals (at, slack_user_id, host, gpus, start_at, end_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                now.into(),
                refusal.slack_user.into(),
                refusal.host.map(str::to_owned).into(),
                (refusal.gpus.min(i32::MAX as u32) as i32).into(),
                refusal.start.into(),
                refusal.end.into(),
            ],
        ))
        .await;
    if let Err(err) = result {
        warn!(error = %err, "could not record a refused booking");
    }
}

/// Builds the daily report for the day before `slot` and queues it (with its chart) for the
/// reports channel. Returns a one-line summary for the job log.
pub async fn post_daily(
    app: &App,
    now: DateTime<Utc>,
    slot: DateTime<Tz>,
) -> anyhow::Result<String> {
    let Some(channel) = app.config.reports.channel.clone() else {
        return Ok("reports.channel is not set: no report posted".to_owned());
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
        attachment: Some(Attachment {
            filename: format!("maison-utilisation-{day}.png"),
            title: format!("GPU utilisation {day}, hosts × hours"),
            bytes: png,
        }),
    };
    let key = format!("report:daily:{day}:{channel}");
    let queued = app
        .db
        .enqueue(&message, now.timestamp(), Some(&key))
        .await?;
    Ok(if queued {
        format!(
            "daily report for {day} queued for {channel} ({} hosts, {} orphan images, {} stale containers)",
            data.hosts.len(),
            data.orphans.len(),
            data.stale.len()
        )
    } else {
        format!("daily report for {day} was already queued")
    })
}

/// Builds the capacity report for the [`CAPACITY_DAYS`] days before `slot` and queues it.
pub async fn post_capacity(
    app: &App,
    now: DateTime<Utc>,
    slot: DateTime<Tz>,
) -> anyhow::Result<String> {
    let Some(channel) = app.config.reports.channel.clone() else {
        return Ok("reports.channel is not set: no report posted".to_owned());
    };
    let (from, to) = previous_days(slot, CAPACITY_DAYS);
    let input = load_capacity(&app.db, &app.config, from, to, slot.timezone()).await?;
    let summary = weekly::summarize(&input);
    let reply = weekly::build(&summary);
    let verdict = weekly::verdict(&summary);
    let message = OutgoingMessage {
        to: Recipient::Channel(channel.clone()),
        reply,
        attachment: None,
    };
    let key = format!("report:capacity:{}:{channel}", slot.date_naive());
    let queued = app
        .db
        .enqueue(&message, now.timestamp(), Some(&key))
        .await?;
    Ok(if queued {
        format!("capacity report queued for {channel}: {verdict}")
    } else {
        "capacity report for this week was already queued".to_owned()
    })
}

/// `/maison report [day|week]`: the same report as the scheduled one, built now and shown to
/// the caller alone (the chart goes only with the channel's report).
pub async fn on_demand(
    app: &App,
    now: DateTime<Utc>,
    period: ReportPeriod,
) -> anyhow::Result<Reply> {
    let tz = app.config.company_tz();
    let slot = now.with_timezone(&tz);
    let mut reply = match period {
        ReportPeriod::Day => {
            let (from, to) = previous_day(slot);
            let data = load_daily(&app.db, &app.config, from, to, tz, now.timestamp()).await?;
            daily::build(&data)
        }
        ReportPeriod::Week => {
            let (from, to) = previous_days(slot, CAPACITY_DAYS);
            let input = load_capacity(&app.db, &app.config, from, to, tz).await?;
            weekly::build(&weekly::summarize(&input))
        }
    };
    reply.visibility = Visibility::Ephemeral;
    Ok(reply)
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

/// The `reminders` job.
pub fn reminders_job(ctx: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    Box::pin(async move {
        let summary = crate::reminders::run(&ctx.app, ctx.now).await?;
        Ok(JobOutcome { summary })
    })
}

/// The "Remove" button of an orphan image (admins only). The value is `host/image id`; the
/// agent refuses if a container has started using the image since the report. Audited.
pub async fn remove_image(app: &App, who: &Clicker<'_>, value: &str) -> anyhow::Result<Reply> {
    if !who.is_admin {
        return Ok(crate::core::replies::admins_only());
    }
    let Some((host, id)) = value.split_once('/') else {
        return Ok(Reply::ephemeral(format!(
            "That button carries no image ({value:?}); this message may be outdated."
        )));
    };
    let Some(agent) = app.fleet.agent(host) else {
        return Ok(crate::core::replies::fleet::no_agent(host));
    };
    let name = app
        .db
        .cached_images(Some(host))
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .and_then(|i| i.tags.first().cloned())
        .unwrap_or_else(|| short_id(id));
    let result = match tokio::time::timeout(REMOVE_IMAGE_TIMEOUT, agent.remove_image(id)).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            REMOVE_IMAGE_TIMEOUT.as_secs()
        )),
    };
    let outcome = match &result {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("failed: {e}"),
    };
    Db::audit(
        app.db.connection(),
        who.now,
        AuditEntry {
            actor: who.slack_user,
            action: "image rm",
            target: format!("image {name} on {host} ({})", short_id(id)),
            outcome: &outcome,
            request_id: who.request_id,
            detail: Some("orphan image report".to_owned()),
        },
    )
    .await?;
    Ok(match result {
        Ok(()) => Reply::ephemeral(format!(
            ":wastebasket: Removed image `{name}` from `{host}`."
        )),
        Err(err) => Reply::ephemeral(format!(
            ":no_entry: `{host}` did not remove `{name}`: {err}"
        )),
    })
}
