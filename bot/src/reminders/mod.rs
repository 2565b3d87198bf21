//! The `reminders` job and the "Keep" button: [`run`] loads the situation, asks
//! [`crate::core::reminders`] what to tell, and queues each DM in the outbox in the same
//! transaction that records it was told, so nobody hears about the same thing twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maison_agent_api::ContainerState;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use crate::app::App;
use crate::core::fleet::{ClaimIndex, ClaimKind, HostStatus, short_id};
use crate::core::inventory;
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::reminders::{
    ContainerFacts, Notice, ReminderInput, ReminderRow, dedupe_key, plan, should_tell,
};
use crate::core::render::Reply;
use crate::core::replies::when;
use crate::db::entities::user;
use crate::db::{AuditEntry, Db};

/// Told-and-done rows older than this are forgotten (a still-true situation is told again).
const FORGET_AFTER_SECS: i64 = 30 * 24 * 3600;

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
        .query_all_raw(crate::db::sql::stmt(
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
    conn.execute_raw(crate::db::sql::stmt(
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
        .execute_raw(crate::db::sql::stmt(
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
        .query_all_raw(crate::db::sql::stmt(
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
    txn.execute_raw(crate::db::sql::stmt(
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
