//! The outbox sender: takes the oldest queued message of each recipient and delivers it,
//! pacing each channel and backing off when Slack is unwell.
//!
//! [`Outbox::deliver_due`] does one round at a given instant, without sleeping (tests drive it
//! with a manual clock); [`Outbox::spawn`] runs rounds until shut down. Only the holder of the
//! `outbox_sender` lease sends, so several replicas never post the same message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::core::clock::Clock;
use crate::core::message::Recipient;
use crate::core::render::RenderedMessage;
use crate::ports::{FileUpload, SlackApi, SlackApiError};
use crate::store::Db;
use crate::store::outbox::OutboxHead;

/// At most one message per channel per this interval (Slack's own limit for posting).
pub const PER_CHANNEL_INTERVAL: StdDuration = StdDuration::from_secs(1);
/// The first retry after a 5xx or transport error; it doubles with each failure…
pub const BACKOFF_FIRST: StdDuration = StdDuration::from_secs(1);
/// … up to this.
pub const BACKOFF_MAX: StdDuration = StdDuration::from_secs(60);
/// The wait after a 429 that came without `Retry-After`.
const DEFAULT_RETRY_AFTER: StdDuration = StdDuration::from_secs(30);
/// One Slack call (or the three of an upload) gets this long before it counts as failed.
const CALL_TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// The sender lease lasts this long and is renewed when less than `LEASE_RENEW_BELOW` is left.
const LEASE_SECS: i64 = 60;
const LEASE_RENEW_BELOW: i64 = 40;
const LEASE_NAME: &str = "outbox_sender";
/// How often an idle sender looks for new messages, and a non-holder for the lease.
const IDLE_POLL: StdDuration = StdDuration::from_secs(1);
const STANDBY_POLL: StdDuration = StdDuration::from_secs(10);

/// Delivers the outbox to Slack.
pub struct Outbox {
    db: Db,
    slack: Arc<dyn SlackApi>,
    clock: Arc<dyn Clock>,
    /// Identifies this sender in the lease.
    holder: String,
    /// One round at a time.
    round: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per channel id: no call before this instant (pacing and `Retry-After`).
    not_before: HashMap<String, DateTime<Utc>>,
    /// User id → DM channel id, from `conversations.open`.
    dm_channels: HashMap<String, String>,
    /// The lease is ours until then (Unix seconds); 0 when not held.
    lease_until: i64,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Whether this sender holds the lease; when it does not, nothing was attempted.
    pub leader: bool,
    /// Ids of the messages sent in this round.
    pub sent: Vec<i64>,
    /// Attachments shared in this round (their message follows in a later round).
    pub files: usize,
    /// Calls that failed and will be retried (429, 5xx, transport).
    pub retrying: usize,
    /// Ids of messages Slack refused for good in this round.
    pub parked: Vec<i64>,
    /// Messages next in line but not attempted: pacing, `Retry-After` or backoff.
    pub waiting: usize,
    /// The earliest instant something may be attempted again; `None` when the queue is empty.
    pub next_due: Option<DateTime<Utc>>,
}

enum Step {
    Sent(i64),
    FileShared(DateTime<Utc>),
    Retry(DateTime<Utc>),
    Parked(i64),
    Waiting(DateTime<Utc>),
}

impl Outbox {
    pub fn new(db: Db, slack: Arc<dyn SlackApi>, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            slack,
            clock,
            holder: uuid::Uuid::new_v4().to_string(),
            round: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
        }
    }

    /// One round at `now`: for each recipient, its oldest queued message gets at most one
    /// step (open the DM, share the attachment, or post), if its channel's pacing and its own
    /// retry time allow. Recipients are served concurrently.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> DeliveryReport {
        let _round = self.round.lock().await;
        let mut report = DeliveryReport::default();
        match self.hold_lease(now).await {
            Ok(true) => report.leader = true,
            Ok(false) => return report,
            Err(err) => {
                warn!(error = %err, "outbox: cannot take the sender lease");
                return report;
            }
        }
        let heads = match self.db.outbox_heads().await {
            Ok(heads) => heads,
            Err(err) => {
                warn!(error = %err, "outbox: cannot read the queue");
                report.next_due = Some(now + PER_CHANNEL_INTERVAL);
                return report;
            }
        };
        let steps = futures::future::join_all(heads.into_iter().map(|h| self.step(h, now))).await;
        let mut next_due: Option<DateTime<Utc>> = None;
        let mut due_at = |at: DateTime<Utc>| {
            next_due = Some(next_due.map_or(at, |n| n.min(at)));
        };
        for step in steps {
            match step {
                Step::Sent(id) => {
                    report.sent.push(id);
                    // The recipient may have more queued behind it.
                    due_at(now + PER_CHANNEL_INTERVAL);
                }
                Step::FileShared(at) => {
                    report.files += 1;
                    due_at(at);
                }
                Step::Retry(at) => {
                    report.retrying += 1;
                    due_at(at);
                }
                Step::Parked(id) => {
                    report.parked.push(id);
                    due_at(now);
                }
                Step::Waiting(at) => {
                    report.waiting += 1;
                    due_at(at);
                }
            }
        }
        report.next_due = next_due;
        report
    }

    /// Sends until `shutdown`: a round, then a sleep until the next thing is due (at most a
    /// second, so new messages go out promptly). Gives the lease back when it stops.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            info!("outbox sender started");
            loop {
                let now = self.clock.now();
                let report = self.deliver_due(now).await;
                let wait = if !report.leader {
                    STANDBY_POLL
                } else {
                    report
                        .next_due
                        .map(|at| (at - self.clock.now()).to_std().unwrap_or_default())
                        .unwrap_or(IDLE_POLL)
                        .clamp(StdDuration::from_millis(50), IDLE_POLL)
                };
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
            if let Err(err) = self.release_lease().await {
                warn!(error = %err, "outbox: cannot give the sender lease back");
            }
            info!("outbox sender stopped");
        })
    }

    async fn step(&self, head: OutboxHead, now: DateTime<Utc>) -> Step {
        if head.next_attempt_at > now.timestamp() {
            return Step::Waiting(instant(head.next_attempt_at));
        }
        let channel = match &head.to {
            Recipient::Channel(id) => id.clone(),
            Recipient::User(user) => {
                let known = head
                    .channel_id
                    .clone()
                    .or_else(|| self.state.lock().unwrap().dm_channels.get(user).cloned());
                match known {
                    Some(channel) => channel,
                    None => match within_timeout(self.slack.open_dm(user)).await {
                        Ok(channel) => {
                            self.state
                                .lock()
                                .unwrap()
                                .dm_channels
                                .insert(user.clone(), channel.clone());
                            if let Err(err) = self.db.set_outbox_channel(head.id, &channel).await {
                                warn!(id = head.id, error = %err, "outbox: cannot store DM channel");
                            }
                            channel
                        }
                        Err(err) => return self.failed(&head, None, err, now).await,
                    },
                }
            }
        };
        {
            let mut state = self.state.lock().unwrap();
            if let Some(not_before) = state.not_before.get(&channel)
                && *not_before > now
            {
                return Step::Waiting(*not_before);
            }
            state
                .not_before
                .insert(channel.clone(), now + PER_CHANNEL_INTERVAL);
        }
        if head.has_attachment && head.attachment_sent_at.is_none() {
            let (filename, title, bytes) = match self.db.outbox_attachment(head.id).await {
                Ok(file) => file,
                Err(err) => {
                    warn!(id = head.id, error = %err, "outbox: cannot read attachment");
                    return Step::Retry(now + PER_CHANNEL_INTERVAL);
                }
            };
            let file = FileUpload {
                filename: &filename,
                title: &title,
                bytes: &bytes,
            };
            return match within_timeout(self.slack.upload_file(&channel, &file)).await {
                Ok(()) => {
                    debug!(id = head.id, %channel, bytes = bytes.len(), "outbox: file shared");
                    if let Err(err) = self.db.mark_attachment_sent(head.id, now.timestamp()).await {
                        warn!(id = head.id, error = %err, "outbox: cannot record shared file");
                    }
                    Step::FileShared(now + PER_CHANNEL_INTERVAL)
                }
                Err(err) => self.failed(&head, Some(&channel), err, now).await,
            };
        }
        let json: serde_json::Value = serde_json::from_str(&head.slack_json).unwrap_or_default();
        let message = RenderedMessage {
            text: head.text.clone(),
            blocks: json["blocks"].clone(),
            terminal: head.terminal.clone(),
        };
        match within_timeout(self.slack.post_rendered(&channel, &message)).await {
            Ok(ts) => {
                debug!(id = head.id, %channel, %ts, "outbox: sent");
                if let Err(err) = self
                    .db
                    .mark_outbox_sent(head.id, &channel, &ts, now.timestamp())
                    .await
                {
                    // Slack has it; if this is not recorded it will be sent again.
                    warn!(id = head.id, error = %err, "outbox: cannot record a sent message");
                }
                Step::Sent(head.id)
            }
            Err(err) => self.failed(&head, Some(&channel), err, now).await,
        }
    }

    /// Records a failed call: retry later (429, 5xx, transport) or park (a refusal).
    async fn failed(
        &self,
        head: &OutboxHead,
        channel: Option<&str>,
        err: SlackApiError,
        now: DateTime<Utc>,
    ) -> Step {
        let attempts = head.attempts + 1;
        let error = err.to_string();
        let retry_at = match &err {
            SlackApiError::RateLimited(after) => {
                let wait = after
                    .unwrap_or(DEFAULT_RETRY_AFTER)
                    .max(PER_CHANNEL_INTERVAL);
                let until = now + wait;
                if let Some(channel) = channel {
                    let mut state = self.state.lock().unwrap();
                    let slot = state.not_before.entry(channel.to_owned()).or_insert(until);
                    *slot = (*slot).max(until);
                }
                Some(until)
            }
            SlackApiError::Unavailable(_) => Some(now + backoff(attempts)),
            SlackApiError::Failed(_) => None,
        };
        match retry_at {
            Some(until) => {
                warn!(id = head.id, to = %head.to, attempts, retry_at = %until, error = %error, "outbox: delivery failed; will retry");
                if let Err(db) = self
                    .db
                    .retry_outbox_later(head.id, attempts, ceil_secs(until), &error)
                    .await
                {
                    warn!(id = head.id, error = %db, "outbox: cannot record the failure");
                }
                Step::Retry(until)
            }
            None => {
                warn!(id = head.id, to = %head.to, error = %error, "outbox: Slack refused the message; parked (see `maison-bot jobs list`)");
                if let Err(db) = self
                    .db
                    .park_outbox_message(head.id, attempts, now.timestamp(), &error)
                    .await
                {
                    warn!(id = head.id, error = %db, "outbox: cannot park the message");
                }
                Step::Parked(head.id)
            }
        }
    }

    // ------------------------------------------------------------------ the lease

    async fn hold_lease(&self, now: DateTime<Utc>) -> Result<bool, DbErr> {
        let now = now.timestamp();
        if self.state.lock().unwrap().lease_until - now > LEASE_RENEW_BELOW {
            return Ok(true);
        }
        let won = self
            .db
            .take_lease(LEASE_NAME, &self.holder, now + LEASE_SECS, now)
            .await?;
        let mut state = self.state.lock().unwrap();
        if won {
            if state.lease_until == 0 {
                info!(holder = %self.holder, "outbox: this process is the sender");
            }
            state.lease_until = now + LEASE_SECS;
        } else {
            state.lease_until = 0;
        }
        Ok(won)
    }

    async fn release_lease(&self) -> Result<(), DbErr> {
        self.db.release_lease(LEASE_NAME, &self.holder).await?;
        self.state.lock().unwrap().lease_until = 0;
        Ok(())
    }
}

/// A Slack call that gives up after [`CALL_TIMEOUT`].
async fn within_timeout<T>(
    call: impl Future<Output = Result<T, SlackApiError>>,
) -> Result<T, SlackApiError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(SlackApiError::Unavailable(format!(
            "no answer within {} s",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

/// The wait before attempt `attempts + 1` after `attempts` failures: 1 s, 2 s, 4 s … 60 s.
pub fn backoff(attempts: i32) -> StdDuration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    (BACKOFF_FIRST * 2u32.pow(doublings)).min(BACKOFF_MAX)
}

/// `at` rounded up to whole seconds, so "not before" is never early.
fn ceil_secs(at: DateTime<Utc>) -> i64 {
    if at.timestamp_subsec_nanos() > 0 {
        at.timestamp() + 1
    } else {
        at.timestamp()
    }
}

fn instant(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let secs: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(0), BACKOFF_FIRST);
        assert_eq!(backoff(i32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn retry_times_round_up() {
        let at = DateTime::from_timestamp(100, 500_000_000).unwrap();
        assert_eq!(ceil_secs(at), 101);
        assert_eq!(ceil_secs(instant(100)), 100);
    }
}
