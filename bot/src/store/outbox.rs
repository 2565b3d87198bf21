//! The `outbox` table (every proactive message, queued before it is sent): queueing, the
//! queue's state, and what the outbox sender reads and records. Every record the sender makes
//! is fenced by its lease (see [`super::leases`]): a sender that lost the lease records nothing.

use sea_orm::{ConnectionTrait, DbErr, Value};

use super::Db;
use super::leases::{Fence, LeaderWrite};
use super::sql::stmt;
use crate::core::message::{OutboxStats, OutgoingMessage, Recipient};
use crate::core::render::RenderedMessage;

/// One outbox row, without its attachment bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub to: Recipient,
    /// The channel it goes to; for a DM, known once `conversations.open` has answered.
    pub channel_id: Option<String>,
    /// The fallback text.
    pub text: String,
    pub has_attachment: bool,
    pub attachment_sent_at: Option<i64>,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
    /// Failed attempts so far.
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub parked_at: Option<i64>,
    pub last_error: Option<String>,
}

const ENTRY_COLUMNS: &str = "id, recipient_kind, recipient_id, channel_id, fallback_text, \
     CASE WHEN attachment IS NULL THEN 0 ELSE 1 END, attachment_sent_at, dedupe_key, \
     created_at, attempts, next_attempt_at, sent_at, parked_at, last_error";

fn entry_from_row(r: &sea_orm::QueryResult) -> Result<OutboxEntry, DbErr> {
    let kind: String = r.try_get_by_index(1)?;
    Ok(OutboxEntry {
        id: r.try_get_by_index(0)?,
        to: Recipient::from_parts(&kind, r.try_get_by_index(2)?),
        channel_id: r.try_get_by_index(3)?,
        text: r.try_get_by_index(4)?,
        has_attachment: r.try_get_by_index::<i32>(5)? == 1,
        attachment_sent_at: r.try_get_by_index(6)?,
        dedupe_key: r.try_get_by_index(7)?,
        created_at: r.try_get_by_index(8)?,
        attempts: r.try_get_by_index(9)?,
        next_attempt_at: r.try_get_by_index(10)?,
        sent_at: r.try_get_by_index(11)?,
        parked_at: r.try_get_by_index(12)?,
        last_error: r.try_get_by_index(13)?,
    })
}

/// The next message of one recipient, as the sender reads it.
#[derive(Debug, Clone)]
pub struct OutboxHead {
    pub id: i64,
    pub to: Recipient,
    pub channel_id: Option<String>,
    pub slack_json: String,
    pub text: String,
    pub terminal: String,
    pub has_attachment: bool,
    pub attachment_sent_at: Option<i64>,
    pub attempts: i32,
    pub next_attempt_at: i64,
    /// Set when a post of it may have reached Slack without being recorded (the sender died,
    /// or the call's outcome is unknown): since when, Unix seconds. It is looked for in the
    /// channel before it is posted again. While its attachment is not yet recorded as shared,
    /// the mark is the attachment's: the file is looked for before it is shared again.
    pub sending_since: Option<i64>,
}

impl Db {
    /// Durably queues a message; `dedupe_key` (e.g. "remind:booking-ends:42") makes a second
    /// enqueue a no-op → `Ok(false)`.
    pub async fn enqueue(
        &self,
        message: &OutgoingMessage,
        now: i64,
        dedupe_key: Option<&str>,
    ) -> Result<bool, DbErr> {
        Self::enqueue_on(self.connection(), message, now, dedupe_key).await
    }

    /// [`Db::enqueue`] on a connection or inside the caller's transaction, so a message can be
    /// queued atomically with the change it reports.
    pub async fn enqueue_on<C: ConnectionTrait>(
        conn: &C,
        message: &OutgoingMessage,
        now: i64,
        dedupe_key: Option<&str>,
    ) -> Result<bool, DbErr> {
        let backend = conn.get_database_backend();
        let inserted = conn
            .execute_raw(backend.build(&Self::enqueue_statement(message, now, dedupe_key)))
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    /// The statement [`Db::enqueue_on`] runs; also written inline into the booking batch.
    pub fn enqueue_statement(
        message: &OutgoingMessage,
        now: i64,
        dedupe_key: Option<&str>,
    ) -> sea_orm::sea_query::InsertStatement {
        use sea_orm::sea_query::{Alias, OnConflict, Query};
        let rendered = RenderedMessage::from_reply(&message.reply);
        let json = serde_json::json!({"text": rendered.text, "blocks": rendered.blocks});
        let (bytes, filename, title) = match &message.attachment {
            Some(a) => (
                Value::Bytes(Some(a.bytes.clone())),
                Some(a.filename.clone()),
                Some(a.title.clone()),
            ),
            None => (Value::Bytes(None), None, None),
        };
        Query::insert()
            .into_table(Alias::new("outbox"))
            .columns(
                [
                    "recipient_kind",
                    "recipient_id",
                    "slack_json",
                    "fallback_text",
                    "terminal_text",
                    "attachment",
                    "attachment_filename",
                    "attachment_title",
                    "dedupe_key",
                    "created_at",
                    "attempts",
                    "next_attempt_at",
                ]
                .map(Alias::new),
            )
            .values_panic([
                message.to.kind().into(),
                message.to.id().into(),
                json.to_string().into(),
                rendered.text.into(),
                rendered.terminal.into(),
                bytes.into(),
                filename.into(),
                title.into(),
                dedupe_key.map(str::to_owned).into(),
                now.into(),
                0i32.into(),
                now.into(),
            ])
            .on_conflict(
                OnConflict::column(Alias::new("dedupe_key"))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned()
    }

    /// Every outbox row, oldest first (attachments left out).
    pub async fn outbox_entries(&self) -> Result<Vec<OutboxEntry>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!("SELECT {ENTRY_COLUMNS} FROM outbox ORDER BY id"),
                vec![],
            ))
            .await?;
        rows.iter().map(entry_from_row).collect()
    }

    pub async fn outbox_stats(&self) -> Result<OutboxStats, DbErr> {
        let backend = self.backend();
        let conn = self.connection();
        let counts = conn
            .query_one_raw(stmt(
                backend,
                "SELECT \
                 COALESCE(SUM(CASE WHEN sent_at IS NULL AND parked_at IS NULL THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN parked_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
                 MIN(CASE WHEN sent_at IS NULL AND parked_at IS NULL THEN created_at END) \
                 FROM outbox",
                vec![],
            ))
            .await?;
        let mut stats = OutboxStats::default();
        if let Some(r) = counts {
            stats.pending = r.try_get_by_index::<i64>(0)?.max(0) as u64;
            stats.parked = r.try_get_by_index::<i64>(1)?.max(0) as u64;
            stats.oldest_pending_at = r.try_get_by_index(2)?;
        }
        if stats.parked > 0 {
            let last = conn
                .query_one_raw(stmt(
                    backend,
                    "SELECT id, recipient_kind, recipient_id, last_error FROM outbox \
                     WHERE parked_at IS NOT NULL ORDER BY parked_at DESC, id DESC LIMIT 1",
                    vec![],
                ))
                .await?;
            if let Some(r) = last {
                let kind: String = r.try_get_by_index(1)?;
                stats.last_parked = Some((
                    r.try_get_by_index(0)?,
                    Recipient::from_parts(&kind, r.try_get_by_index(2)?),
                    r.try_get_by_index::<Option<String>>(3)?.unwrap_or_default(),
                ));
            }
        }
        Ok(stats)
    }

    /// Puts parked messages back in the queue (after fixing what Slack refused, e.g. inviting
    /// the bot to the channel). Returns how many.
    pub async fn requeue_parked(&self, now: i64) -> Result<u64, DbErr> {
        Ok(self
            .connection()
            .execute_raw(stmt(
                self.backend(),
                "UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = ? \
                 WHERE parked_at IS NOT NULL",
                vec![now.into()],
            ))
            .await?
            .rows_affected())
    }

    /// Deletes messages sent before `sent_before` (Unix seconds); queued and parked ones stay.
    pub async fn prune_sent_messages(&self, sent_before: i64) -> Result<u64, DbErr> {
        Ok(self
            .connection()
            .execute_raw(stmt(
                self.backend(),
                "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?",
                vec![sent_before.into()],
            ))
            .await?
            .rows_affected())
    }

    /// The oldest unsent, unparked message of each recipient, in id order.
    pub async fn outbox_heads(&self) -> Result<Vec<OutboxHead>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT id, recipient_kind, recipient_id, channel_id, slack_json, fallback_text, \
                 terminal_text, CASE WHEN attachment IS NULL THEN 0 ELSE 1 END, \
                 attachment_sent_at, attempts, next_attempt_at, sending_since FROM outbox WHERE id IN \
                 (SELECT MIN(id) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL \
                 GROUP BY recipient_kind, recipient_id) ORDER BY id",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get_by_index(1)?;
                Ok(OutboxHead {
                    id: r.try_get_by_index(0)?,
                    to: Recipient::from_parts(&kind, r.try_get_by_index(2)?),
                    channel_id: r.try_get_by_index(3)?,
                    slack_json: r.try_get_by_index(4)?,
                    text: r.try_get_by_index(5)?,
                    terminal: r.try_get_by_index(6)?,
                    has_attachment: r.try_get_by_index::<i32>(7)? == 1,
                    attachment_sent_at: r.try_get_by_index(8)?,
                    attempts: r.try_get_by_index(9)?,
                    next_attempt_at: r.try_get_by_index(10)?,
                    sending_since: r.try_get_by_index(11)?,
                })
            })
            .collect()
    }

    /// A message's attachment: `(filename, title, bytes)`.
    pub async fn outbox_attachment(&self, id: i64) -> Result<(String, String, Vec<u8>), DbErr> {
        let row = self
            .connection()
            .query_one_raw(stmt(
                self.backend(),
                "SELECT attachment_filename, attachment_title, attachment FROM outbox WHERE id = ?",
                vec![id.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("outbox message {id}")))?;
        Ok((
            row.try_get_by_index::<Option<String>>(0)?
                .unwrap_or_else(|| "attachment".to_owned()),
            row.try_get_by_index::<Option<String>>(1)?
                .unwrap_or_default(),
            row.try_get_by_index::<Option<Vec<u8>>>(2)?
                .unwrap_or_default(),
        ))
    }

    /// One fenced update of a row: `sql` ends with `WHERE id = ?`; the fence's condition is
    /// added, so nothing is written once the sender has lost its lease.
    async fn update_outbox(
        &self,
        fence: &Fence,
        now: i64,
        sql: &str,
        mut values: Vec<Value>,
    ) -> Result<LeaderWrite, DbErr> {
        let backend = self.backend();
        values.extend(fence.values(now));
        let written = self
            .connection()
            .execute_raw(stmt(
                backend,
                &format!("{sql} AND {}", Fence::condition(backend)),
                values,
            ))
            .await?
            .rows_affected();
        // The row is the head the sender just read (only sent rows are ever deleted), so no
        // row written means the fence refused.
        Ok(if written == 1 {
            LeaderWrite::Written
        } else {
            LeaderWrite::FencedOff
        })
    }

    /// Remembers the DM channel a message goes to.
    pub async fn set_outbox_channel(
        &self,
        fence: &Fence,
        id: i64,
        channel: &str,
        now: i64,
    ) -> Result<LeaderWrite, DbErr> {
        self.update_outbox(
            fence,
            now,
            "UPDATE outbox SET channel_id = ? WHERE id = ?",
            vec![channel.into(), id.into()],
        )
        .await
    }

    pub async fn mark_attachment_sent(
        &self,
        fence: &Fence,
        id: i64,
        now: i64,
    ) -> Result<LeaderWrite, DbErr> {
        self.update_outbox(
            fence,
            now,
            // The "sending" mark covered the share; the post sets its own.
            "UPDATE outbox SET attachment_sent_at = ?, sending_since = NULL WHERE id = ?",
            vec![now.into(), id.into()],
        )
        .await
    }

    /// Records that the message is about to be posted, at `now`, unless an earlier attempt
    /// whose outcome is unknown already did (that one's time is kept: a look-up in the channel
    /// must start from the first attempt that may have landed).
    pub async fn mark_outbox_sending(
        &self,
        fence: &Fence,
        id: i64,
        now: i64,
    ) -> Result<LeaderWrite, DbErr> {
        self.update_outbox(
            fence,
            now,
            "UPDATE outbox SET sending_since = COALESCE(sending_since, ?) \
             WHERE sent_at IS NULL AND id = ?",
            vec![now.into(), id.into()],
        )
        .await
    }

    /// Records a delivered message with where it went and its Slack `ts`, which is what a
    /// later `chat.update` of it needs (a transfer's progress message).
    pub async fn mark_outbox_sent(
        &self,
        fence: &Fence,
        id: i64,
        channel: &str,
        ts: &str,
        now: i64,
    ) -> Result<LeaderWrite, DbErr> {
        self.update_outbox(
            fence,
            now,
            "UPDATE outbox SET sent_at = ?, channel_id = ?, message_ts = ?, sending_since = NULL \
             WHERE id = ?",
            vec![now.into(), channel.into(), ts.into(), id.into()],
        )
        .await
    }

    /// Records a failed attempt; the message is tried again from `next_attempt_at` on.
    /// `not_posted` says Slack certainly did not take it (a 429, a refusal), so no look-up is
    /// needed before the next attempt; otherwise an earlier `sending_since` stays.
    #[allow(clippy::too_many_arguments)]
    pub async fn retry_outbox_later(
        &self,
        fence: &Fence,
        id: i64,
        attempts: i32,
        next_attempt_at: i64,
        error: &str,
        not_posted: bool,
        now: i64,
    ) -> Result<LeaderWrite, DbErr> {
        let sql = if not_posted {
            "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, \
             sending_since = NULL WHERE id = ?"
        } else {
            "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?"
        };
        self.update_outbox(
            fence,
            now,
            sql,
            vec![
                attempts.into(),
                next_attempt_at.into(),
                error.into(),
                id.into(),
            ],
        )
        .await
    }

    /// Parks a message Slack refused for good, with its error.
    pub async fn park_outbox_message(
        &self,
        fence: &Fence,
        id: i64,
        attempts: i32,
        now: i64,
        error: &str,
    ) -> Result<LeaderWrite, DbErr> {
        self.update_outbox(
            fence,
            now,
            "UPDATE outbox SET attempts = ?, parked_at = ?, last_error = ?, sending_since = NULL \
             WHERE id = ?",
            vec![attempts.into(), now.into(), error.into(), id.into()],
        )
        .await
    }
}
