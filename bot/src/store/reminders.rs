//! The `reminders` table: what each person was told about each subject, and which containers
//! they asked to keep (no reminders until a date).

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use super::entities::user;
use super::sql::stmt;
use super::{AuditEntry, Db};
use crate::core::message::OutgoingMessage;
use crate::core::reminders::{Notice, ReminderRow, container_subject, parse_container_subject};

/// A container someone asked to keep, as the "Keep" button records it.
#[derive(Debug, Clone, Copy)]
pub struct Keep<'a> {
    pub host: &'a str,
    pub id: &'a str,
    /// Who its reminders would go to: its owner (or whoever kept it, if it has none).
    pub recipient: &'a str,
    /// No reminders about it before this (Unix seconds).
    pub until: i64,
    /// Who pressed the button.
    pub actor: &'a str,
    /// The container's name, for the audit log.
    pub name: &'a str,
    pub request_id: &'a str,
}

impl Db {
    /// What was told about every subject.
    pub async fn told_reminders(&self) -> Result<HashMap<String, ReminderRow>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
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

    /// Queues a reminder's DM under `key` and records that `notice` was told, in one
    /// transaction. `true` when the message was queued (not already there).
    pub async fn queue_reminder(
        &self,
        notice: &Notice,
        message: &OutgoingMessage,
        key: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        let txn = self.begin_write().await?;
        let queued = Db::enqueue_on(&txn, message, now, Some(key)).await?;
        txn.execute_raw(stmt(
            txn.get_database_backend(),
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
        txn.commit().await?;
        Ok(queued)
    }

    /// Forgets what was told before `cutoff`, unless a keep still runs at `now`.
    pub async fn forget_reminders(&self, cutoff: i64, now: i64) -> Result<(), DbErr> {
        self.connection()
            .execute_raw(stmt(
                self.backend(),
                "DELETE FROM reminders WHERE told_at < ? AND (keep_until IS NULL OR keep_until < ?)",
                vec![cutoff.into(), now.into()],
            ))
            .await?;
        Ok(())
    }

    /// Containers someone asked to keep, by `(host, id)`, with the date the keep runs out.
    pub async fn container_keeps(&self, now: i64) -> Result<HashMap<(String, String), i64>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT subject, keep_until FROM reminders WHERE keep_until > ?",
                vec![now.into()],
            ))
            .await?;
        let mut keeps = HashMap::new();
        for r in &rows {
            let subject: String = r.try_get_by_index(0)?;
            let until: i64 = r.try_get_by_index(1)?;
            if let Some((host, id)) = parse_container_subject(&subject) {
                keeps.insert((host.to_owned(), id.to_owned()), until);
            }
        }
        Ok(keeps)
    }

    /// Silences reminders about a container until `keep.until`, with its audit record, in one
    /// transaction.
    pub async fn keep_container(&self, keep: &Keep<'_>, now: i64) -> Result<(), DbErr> {
        let txn = self.begin_write().await?;
        txn.execute_raw(stmt(
            txn.get_database_backend(),
            "INSERT INTO reminders (subject, recipient, episode, told_at, keep_until, kept_by) \
             VALUES (?, ?, 0, 0, ?, ?) ON CONFLICT (subject) DO UPDATE SET \
             keep_until = excluded.keep_until, kept_by = excluded.kept_by",
            vec![
                container_subject(keep.host, keep.id).into(),
                keep.recipient.into(),
                keep.until.into(),
                keep.actor.into(),
            ],
        ))
        .await?;
        Db::audit(
            &txn,
            now,
            AuditEntry {
                actor: keep.actor,
                action: "keep",
                target: format!(
                    "container {} on {} ({})",
                    keep.name,
                    keep.host,
                    crate::core::fleet::short_id(keep.id)
                ),
                outcome: "ok",
                request_id: keep.request_id,
                detail: Some(format!("no reminders until {}", keep.until)),
            },
        )
        .await?;
        txn.commit().await
    }

    /// Each known user's time zone, by Slack user id (as stored; not checked).
    /// Everyone the bot knows, for each recipient's time zone and language.
    pub async fn known_users(&self) -> Result<Vec<user::Model>, DbErr> {
        user::Entity::find().all(self.connection()).await
    }
}
