//! Reminder DMs, checked every minute by the `reminders` job: bookings starting or ending soon,
//! containers stopped for days or idling on GPUs for hours, GPUs used without a booking or
//! inside someone else's. [`plan`] decides from loaded data (pure); [`run`] loads, asks
//! [`should_tell`] against the `reminders` table, and queues each DM in the outbox in the same
//! transaction that records it was told, so nobody hears about the same thing twice.
//!
//! A "subject" names what a reminder is about (`booking-end:42`, `container:gpu01:<id>`); the
//! "episode" says which occurrence (the booking's end time, since when a container idles), so a
//! new occurrence is told again. "Keep" silences a container's subject until a date.

pub mod messages;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maison_agent_api::ContainerState;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use crate::app::App;
use crate::core::booking::{BookingView, NewBooking};
use crate::core::fleet::{ClaimIndex, ClaimKind, short_id};
use crate::core::fleet::{GpuActivity, HostStatus, StoredContainer};
use crate::core::inventory;
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::Reply;
use crate::db::entities::user;
use crate::db::{AuditEntry, Db};
use crate::replies::when;
use messages::HeldBy;

/// Readings older than this are not trusted as "in use now".
const FRESH_READING_SECS: i64 = 10 * 60;
/// Told-and-done rows older than this are forgotten (a still-true situation is told again).
const FORGET_AFTER_SECS: i64 = 30 * 24 * 3600;
/// Length of the booking the "Book it now" button makes.
pub const BOOK_NOW_SECS: i64 = 2 * 3600;
/// Episode of a stopped container: one reminder per stop, however long it lasts.
const EPISODE_STOPPED: i64 = 1;

/// What the reminders table holds about one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRow {
    pub subject: String,
    pub recipient: String,
    pub episode: i64,
    pub told_at: i64,
    pub keep_until: Option<i64>,
}

/// A container with what the reminders need to judge it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFacts {
    pub container: StoredContainer,
    pub owner: Option<String>,
    pub activity: Option<GpuActivity>,
}

/// Everything [`plan`] looks at.
#[derive(Debug, Clone)]
pub struct ReminderInput {
    pub now: i64,
    /// Booking reminders this many seconds ahead.
    pub lead: i64,
    pub stale_after: i64,
    pub idle_after: i64,
    pub keep_days: u32,
    /// Bookings overlapping `[now, now + lead]`.
    pub bookings: Vec<BookingView>,
    /// Reachable hosts' statuses (GPU readings with their holders).
    pub statuses: Vec<HostStatus>,
    /// Containers of reachable hosts.
    pub containers: Vec<ContainerFacts>,
    /// Each person's time zone, by Slack user id.
    pub tz_of: HashMap<String, Tz>,
    pub default_tz: Tz,
}

/// One DM to send, if [`should_tell`] agrees.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub subject: String,
    pub recipient: String,
    pub episode: i64,
    pub reply: Reply,
}

/// Whether a notice about `episode` of a subject is due, given what was told before.
pub fn should_tell(prev: Option<&ReminderRow>, episode: i64, now: i64) -> bool {
    let Some(prev) = prev else { return true };
    if prev.keep_until.is_some_and(|until| until > now) {
        return false;
    }
    if prev.episode != episode {
        return true;
    }
    // Same episode: tell again only once a snooze has run out since the last telling.
    prev.keep_until.is_some_and(|until| prev.told_at < until)
}

/// The outbox key of a notice: the same state queues the same message at most once.
pub fn dedupe_key(notice: &Notice, prev: Option<&ReminderRow>) -> String {
    format!(
        "remind:{}:{}:{}:{}",
        notice.subject,
        notice.recipient,
        notice.episode,
        prev.and_then(|p| p.keep_until).unwrap_or(0)
    )
}

/// Every reminder the situation calls for (before de-duplication), in a stable order.
pub fn plan(input: &ReminderInput) -> Vec<Notice> {
    let now = input.now;
    let tz = |user: &str| input.tz_of.get(user).copied().unwrap_or(input.default_tz);
    let mut notices = Vec::new();

    for b in &input.bookings {
        if b.cancelled || b.released {
            continue;
        }
        if b.start > now && b.start <= now + input.lead {
            notices.push(Notice {
                subject: format!("booking-start:{}", b.id),
                recipient: b.slack_user_id.clone(),
                episode: b.start,
                reply: messages::booking_starts(b, now, tz(&b.slack_user_id)),
            });
        }
        if b.start <= now && b.end > now && b.end <= now + input.lead {
            notices.push(Notice {
                subject: format!("booking-end:{}", b.id),
                recipient: b.slack_user_id.clone(),
                episode: b.end,
                reply: messages::booking_ends(b, now, tz(&b.slack_user_id)),
            });
        }
    }

    for facts in &input.containers {
        let c = &facts.container;
        let Some(owner) = &facts.owner else { continue };
        let subject = format!("container:{}:{}", c.host, c.id);
        if let Some(since) = inventory::stopped_since(c) {
            if now - since >= input.stale_after {
                notices.push(Notice {
                    subject,
                    recipient: owner.clone(),
                    episode: EPISODE_STOPPED,
                    reply: messages::container_stopped(c, since, input.keep_days, now, tz(owner)),
                });
            }
            continue;
        }
        if c.state != ContainerState::Running || c.gpus.is_empty() {
            continue;
        }
        let idle_since = facts
            .activity
            .and_then(|a| a.last_active_at)
            .unwrap_or_else(|| c.created_at.max(c.first_seen_at));
        if now - idle_since >= input.idle_after {
            notices.push(Notice {
                subject,
                recipient: owner.clone(),
                episode: idle_since,
                reply: messages::container_idle(c, idle_since, input.keep_days, now, tz(owner)),
            });
        }
    }

    let names: HashMap<(&str, &str), &str> = input
        .containers
        .iter()
        .map(|f| {
            (
                (f.container.host.as_str(), f.container.id.as_str()),
                f.container.name.as_str(),
            )
        })
        .collect();
    for status in input.statuses.iter().filter(|s| s.reachable) {
        for reading in &status.readings {
            if reading.stale || now - reading.at > FRESH_READING_SECS {
                continue;
            }
            let booking = input.bookings.iter().find(|b| {
                b.host == status.host
                    && b.gpus.contains(&reading.gpu)
                    && b.start <= now
                    && b.end > now
                    && !b.cancelled
            });
            for holder in &reading.holders {
                let held = HeldBy {
                    host: status.host.clone(),
                    gpu: reading.gpu,
                    container_id: holder.container_id.clone(),
                    container_name: holder
                        .container_name
                        .clone()
                        .or_else(|| {
                            names
                                .get(&(status.host.as_str(), holder.container_id.as_str()))
                                .map(|n| (*n).to_owned())
                        })
                        .unwrap_or_else(|| short_id(&holder.container_id)),
                    owner: holder.owner.clone(),
                };
                match (booking, &held.owner) {
                    (None, Some(owner)) => notices.push(Notice {
                        subject: format!(
                            "unbooked:{}:{}:{}",
                            held.host, held.gpu, held.container_id
                        ),
                        recipient: owner.clone(),
                        episode: 0,
                        reply: messages::unbooked_use(&held),
                    }),
                    (None, None) => {}
                    (Some(b), owner) if owner.as_deref() != Some(b.slack_user_id.as_str()) => {
                        let subject = |to: &str| {
                            format!("intrusion:{}:{}:{}:{to}", b.id, held.gpu, held.container_id)
                        };
                        if let Some(owner) = owner {
                            notices.push(Notice {
                                subject: subject(owner),
                                recipient: owner.clone(),
                                episode: 0,
                                reply: messages::intrusion_to_user(&held, b, now, tz(owner)),
                            });
                        }
                        notices.push(Notice {
                            subject: subject(&b.slack_user_id),
                            recipient: b.slack_user_id.clone(),
                            episode: 0,
                            reply: messages::intrusion_to_owner(&held, b),
                        });
                    }
                    (Some(_), _) => {}
                }
            }
        }
    }
    notices
}

/// The `reminders` job: loads, plans, and queues what is due. Returns a summary for the log.
pub async fn run(app: &App, now: DateTime<Utc>) -> anyhow::Result<String> {
    let now = now.timestamp();
    let input = load(app, now).await?;
    let notices = plan(&input);
    let rows = told(&app.db).await?;
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
        let txn = app.db.begin_write().await?;
        if Db::enqueue_on(&txn, &message, now, Some(&key)).await? {
            queued += 1;
        }
        record_told(&txn, notice, now).await?;
        txn.commit().await?;
    }
    forget_old(&app.db, now).await?;
    Ok(format!(
        "{queued} reminder(s) queued ({} situation(s) noticed)",
        notices.len()
    ))
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
        .into_iter()
        .filter(|s| s.reachable && listed.contains(&s.host))
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
    let tz_of = user::Entity::find()
        .all(app.db.connection())
        .await?
        .into_iter()
        .filter_map(|u| Some((u.slack_user_id, u.tz.parse::<Tz>().ok()?)))
        .collect();
    Ok(ReminderInput {
        now,
        lead,
        stale_after: i64::from(config.stale_container_days) * 86_400,
        idle_after: i64::from(config.idle_gpu_hours) * 3600,
        keep_days: keep_days(app),
        bookings,
        statuses,
        containers,
        tz_of,
        default_tz: app.config.slack.default_tz.parse().unwrap_or(Tz::UTC),
    })
}

fn keep_days(app: &App) -> u32 {
    (app.config.reports.keep_for.as_secs() / 86_400).max(1) as u32
}

/// What was told about every subject.
pub async fn told(db: &Db) -> Result<HashMap<String, ReminderRow>, DbErr> {
    let rows = db
        .connection()
        .query_all_raw(crate::reports::data_stmt(
            db.backend(),
            "SELECT subject, recipient, episode, told_at, keep_until FROM reminders",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let row = ReminderRow {
                subject: r.try_get_by_index(0)?,
                recipient: r.try_get_by_index(1)?,
                episode: r.try_get_by_index(2)?,
                told_at: r.try_get_by_index(3)?,
                keep_until: r.try_get_by_index(4)?,
            };
            Ok((row.subject.clone(), row))
        })
        .collect()
}

async fn record_told<C: ConnectionTrait>(conn: &C, notice: &Notice, now: i64) -> Result<(), DbErr> {
    conn.execute_raw(crate::reports::data_stmt(
        conn.get_database_backend(),
        "INSERT INTO reminders (subject, recipient, episode, told_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (subject) DO UPDATE SET recipient = excluded.recipient, \
         episode = excluded.episode, told_at = excluded.told_at",
        vec![
            notice.subject.clone().into(),
            notice.recipient.clone().into(),
            notice.episode.into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

async fn forget_old(db: &Db, now: i64) -> Result<(), DbErr> {
    let cutoff = now - FORGET_AFTER_SECS;
    db.connection()
        .execute_raw(crate::reports::data_stmt(
            db.backend(),
            "DELETE FROM reminders WHERE told_at < ? AND (keep_until IS NULL OR keep_until < ?)",
            vec![cutoff.into(), now.into()],
        ))
        .await?;
    Ok(())
}

/// Containers someone asked to keep, by `(host, id)`, with the date the keep runs out.
pub async fn container_keeps(db: &Db, now: i64) -> Result<HashMap<(String, String), i64>, DbErr> {
    let rows = db
        .connection()
        .query_all_raw(crate::reports::data_stmt(
            db.backend(),
            "SELECT subject, keep_until FROM reminders WHERE keep_until > ?",
            vec![now.into()],
        ))
        .await?;
    let mut keeps = HashMap::new();
    for r in &rows {
        let subject: String = r.try_get_by_index(0)?;
        let until: i64 = r.try_get_by_index(1)?;
        let Some(rest) = subject.strip_prefix("container:") else {
            continue;
        };
        if let Some((host, id)) = rest.split_once(':') {
            keeps.insert((host.to_owned(), id.to_owned()), until);
        }
    }
    Ok(keeps)
}

/// Who clicked a button, for the handlers below.
#[derive(Debug, Clone, Copy)]
pub struct Clicker<'a> {
    pub slack_user: &'a str,
    pub is_admin: bool,
    pub now: i64,
    pub tz: Tz,
    pub request_id: &'a str,
}

/// The "Keep N days" button: value `host/container id`. Owners and admins only; audited.
pub async fn keep_container(app: &App, who: &Clicker<'_>, value: &str) -> anyhow::Result<Reply> {
    let Some((host, id)) = value.split_once('/') else {
        return Ok(Reply::ephemeral(format!(
            "That button carries no container ({value:?}); this message may be outdated."
        )));
    };
    let Some(container) = app
        .db
        .cached_containers(Some(host))
        .await?
        .into_iter()
        .find(|c| c.id == id)
    else {
        return Ok(Reply::ephemeral(format!(
            ":grey_question: That container is no longer on `{host}`: nothing to keep."
        )));
    };
    let claims = app.db.claims(Some(host)).await?;
    let owner = inventory::container_owner(
        &container,
        &ClaimIndex::of_kind(&claims, ClaimKind::Container),
    );
    match &owner {
        Some(o) if o == who.slack_user || who.is_admin => {}
        None if who.is_admin => {}
        Some(o) => {
            return Ok(Reply::ephemeral(format!(
                ":lock: `{}` belongs to {}; only they or an admin can keep it.",
                container.name,
                crate::core::render::mention(o)
            )));
        }
        None => {
            return Ok(Reply::ephemeral(format!(
                ":lock: `{}` has no owner; `/maison claim {}` it first, or ask an admin.",
                container.name, container.name
            )));
        }
    }
    let until = who.now + app.config.reports.keep_for.as_secs() as i64;
    let subject = format!("container:{host}:{id}");
    let txn = app.db.begin_write().await?;
    txn.execute_raw(crate::reports::data_stmt(
        txn.get_database_backend(),
        "INSERT INTO reminders (subject, recipient, episode, told_at, keep_until, kept_by) \
         VALUES (?, ?, 0, 0, ?, ?) ON CONFLICT (subject) DO UPDATE SET \
         keep_until = excluded.keep_until, kept_by = excluded.kept_by",
        vec![
            subject.into(),
            owner
                .clone()
                .unwrap_or_else(|| who.slack_user.to_owned())
                .into(),
            until.into(),
            who.slack_user.into(),
        ],
    ))
    .await?;
    Db::audit(
        &txn,
        who.now,
        AuditEntry {
            actor: who.slack_user,
            action: "keep",
            target: format!("container {} on {host} ({})", container.name, short_id(id)),
            outcome: "ok",
            request_id: who.request_id,
            detail: Some(format!("no reminders until {until}")),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Reply::ephemeral(format!(
        ":lock: Keeping `{}` on `{host}`: no reminders about it until {}.",
        container.name,
        when(until, who.now, who.tz)
    )))
}

/// The booking the "Book it now" button asks for: value `host:gpu`, that GPU for
/// [`BOOK_NOW_SECS`] from now.
pub fn gpu_booking(value: &str, now: i64) -> Option<NewBooking> {
    let (host, gpu) = value.rsplit_once(':')?;
    let gpu: u32 = gpu.parse().ok()?;
    Some(NewBooking {
        host: host.to_owned(),
        gpus: crate::core::rules::GpuWish::Indexes(vec![gpu]),
        start: now,
        end: now + BOOK_NOW_SECS,
        note: Some("booked from a reminder".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(episode: i64, told_at: i64, keep_until: Option<i64>) -> ReminderRow {
        ReminderRow {
            subject: "s".into(),
            recipient: "U1".into(),
            episode,
            told_at,
            keep_until,
        }
    }

    #[test]
    fn told_once_per_episode_and_silent_while_kept() {
        assert!(should_tell(None, 5, 100));
        assert!(!should_tell(Some(&row(5, 90, None)), 5, 100));
        assert!(should_tell(Some(&row(5, 90, None)), 6, 100));
        // Kept until 200: nothing, whatever the episode.
        assert!(!should_tell(Some(&row(5, 90, Some(200))), 5, 150));
        assert!(!should_tell(Some(&row(5, 90, Some(200))), 7, 150));
        // The keep ran out: told again, once.
        assert!(should_tell(Some(&row(5, 90, Some(200))), 5, 201));
        assert!(!should_tell(Some(&row(5, 201, Some(200))), 5, 260));
    }

    #[test]
    fn book_now_values_name_host_and_gpu() {
        let b = gpu_booking("gpu01:3", 1000).unwrap();
        assert_eq!(b.host, "gpu01");
        assert_eq!(b.gpus, crate::core::rules::GpuWish::Indexes(vec![3]));
        assert_eq!(b.end - b.start, BOOK_NOW_SECS);
        assert!(gpu_booking("gpu01", 1000).is_none());
        assert!(gpu_booking("gpu01:x", 1000).is_none());
    }
}
