//! The `reminders` job: loads the situation from the store, has [`crate::core::reminders`]
//! plan the DMs, and queues each one that is due in the same transaction that records it was
//! told, so nobody hears about the same thing twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;
use maison_agent_api::ContainerState;

use super::{JobContext, JobOutcome};
use crate::app::App;
use crate::core::booking::BookingView;
use crate::core::datasets::BookingData;
use crate::core::fleet::{ClaimIndex, ClaimKind, HostStatus};
use crate::core::inventory;
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::reminders::{self, ContainerFacts, ReminderInput, dedupe_key, plan, should_tell};

/// Told-and-done rows older than this are forgotten (a still-true situation is told again).
const FORGET_AFTER_SECS: i64 = 30 * 24 * 3600;

/// Loads, plans, and queues what is due. Returns a summary for the job log.
pub async fn run(app: &App, now: DateTime<Utc>) -> anyhow::Result<String> {
    let now = now.timestamp();
    let input = load(app, now).await?;
    let notices = plan(&input);
    let rows = app.db.told_reminders().await?;
    let mut queued = 0;
    for notice in &notices {
        let prev = rows.get(&notice.subject);
        if !should_tell(prev, notice.episode, now) {
            continue;
        }
        let key = dedupe_key(notice, prev);
        let message = OutgoingMessage {
            to: Recipient::User(notice.recipient.clone()),
            reply: notice.reply.clone(),
            attachment: None,
        };
        if app.db.queue_reminder(notice, &message, &key, now).await? {
            queued += 1;
        }
    }
    app.db
        .forget_reminders(now - FORGET_AFTER_SECS, now)
        .await?;
    Ok(reminders::run_summary(queued, notices.len()))
}

async fn load(app: &App, now: i64) -> anyhow::Result<ReminderInput> {
    let config = &app.config.reports;
    let lead = config.reminder_lead.as_secs() as i64;
    let bookings = app
        .db
        .bookings_overlapping(None, now, now + lead + 1)
        .await?;
    let listed: Vec<String> = app.config.hosts.iter().map(|h| h.name.clone()).collect();
    let statuses: Vec<HostStatus> = app
        .db
        .host_statuses()
        .await?
        .iter()
        .filter(|s| s.reachable && listed.contains(&s.host))
        .cloned()
        .collect();
    let reachable: Vec<&str> = statuses.iter().map(|s| s.host.as_str()).collect();
    let claims = app.db.claims(None).await?;
    let claimed = ClaimIndex::of_kind(&claims, ClaimKind::Container);
    let mut containers = Vec::new();
    for c in app.db.cached_containers(None).await? {
        if !reachable.contains(&c.host.as_str()) {
            continue;
        }
        let owner = inventory::container_owner(&c, &claimed);
        let activity = if c.state == ContainerState::Running && !c.gpus.is_empty() {
            app.db.gpu_activity(&c.host, &c.id).await?
        } else {
            None
        };
        containers.push(ContainerFacts {
            container: c,
            owner,
            activity,
        });
    }
    let users = app.db.known_users().await?;
    let tz_of = users
        .iter()
        .filter_map(|u| Some((u.slack_user_id.clone(), u.tz.parse::<Tz>().ok()?)))
        .collect();
    let lang_of = users
        .iter()
        .map(|u| (u.slack_user_id.clone(), crate::app::lang_of(u)))
        .collect();
    let booking_data = booking_data(app, &bookings).await?;
    Ok(ReminderInput {
        now,
        booking_data,
        lead,
        stale_after: i64::from(config.stale_container_days) * 86_400,
        idle_after: i64::from(config.idle_gpu_hours) * 3600,
        keep_days: app.config.reports.keep_days(),
        bookings,
        statuses,
        containers,
        tz_of,
        lang_of,
        default_tz: app.config.slack.default_tz.parse().unwrap_or(Tz::UTC),
    })
}

/// The dataset of each booking made with `--data`, and whether it is on the booking's host.
async fn booking_data(
    app: &App,
    bookings: &[BookingView],
) -> anyhow::Result<HashMap<i64, BookingData>> {
    let ids: Vec<i64> = bookings.iter().map(|b| b.id).collect();
    let linked = app.db.booking_datasets(&ids).await?;
    if linked.is_empty() {
        return Ok(HashMap::new());
    }
    let catalog = app.db.dataset_catalog().await?;
    Ok(linked
        .into_iter()
        .filter_map(|(booking_id, version_id)| {
            let booking = bookings.iter().find(|b| b.id == booking_id)?;
            let version = catalog.version(version_id)?;
            let data = BookingData {
                label: version.label(),
                readiness: catalog.readiness(version_id, &booking.host),
            };
            Some((booking_id, data))
        })
        .collect())
}

/// The `reminders` job.
pub fn reminders_job(ctx: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    Box::pin(async move {
        let summary = run(&ctx.app, ctx.now).await?;
        Ok(JobOutcome { summary })
    })
}
