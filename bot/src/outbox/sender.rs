//! The outbox sender: takes the oldest queued message of each recipient and delivers it,
//! pacing each channel and backing off when Slack is unwell.
//!
//! [`Outbox::deliver_due`] does one round at a given instant, without sleeping (tests drive it
//! with a manual clock); [`Outbox::spawn`] runs rounds until shut down. Only the holder of the
//! `outbox_sender` lease sends, and every record it makes is fenced by the lease's term: a
//! sender that lost the lease (paused, cut off) records nothing, and stands down.
//!
//! Exactly once: Slack's `chat.postMessage` has no idempotency key, so before posting the
//! sender records that the message is being sent (`sending_since`), and posts it tagged with
//! its outbox id (message metadata). A message found still "sending" (its sender died after the
//! post but before recording it, or the call's outcome was unknown) is first looked for in its
//! channel; if it is there, its `ts` is recorded and it is not posted again. A post is given no
//! longer than the lease still has to run, so a replica that takes the lease over never looks
//! while the previous holder's post may still land.

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
use crate::store::leases::{Fence, LeaderWrite, new_holder_id};
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
/// The sender lease's default length (`[server] lease_timeout`).
pub const DEFAULT_LEASE: StdDuration = StdDuration::from_secs(60);
/// The lease name in the `leases` table.
pub const LEASE_NAME: &str = "outbox_sender";
/// How often an idle sender looks for new messages, and at most how often a non-holder
/// tries for the lease (more often with a short lease, see [`Outbox::standby_poll`]).
const IDLE_POLL: StdDuration = StdDuration::from_secs(1);
const STANDBY_POLL: StdDuration = StdDuration::from_secs(10);

/// Delivers the outbox to Slack.
pub struct Outbox {
    db: Db,
    slack: Arc<dyn SlackApi>,
    clock: Arc<dyn Clock>,
    /// Identifies this sender in the lease.
    holder: String,
    /// The lease's length, whole seconds (the `leases` table counts in seconds).
    lease_secs: i64,
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
    /// The lease while this sender holds it: its fence, and until when (Unix seconds).
    lease: Option<(Fence, i64)>,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Whether this sender holds the lease; when it does not, nothing was attempted.
    pub leader: bool,
    /// Ids of the messages sent in this round (found already posted included).
    pub sent: Vec<i64>,
    /// Ids of those found already posted by an earlier attempt, and recorded, not posted.
    pub found_posted: Vec<i64>,
    /// Attachments shared in this round (their message follows in a later round).
    pub files: usize,
    /// Calls that failed and will be retried (429, 5xx, transport).
    pub retrying: usize,
    /// Ids of messages Slack refused for good in this round.
    pub parked: Vec<i64>,
    /// Messages next in line but not attempted: pacing, `Retry-After` or backoff.
    pub waiting: usize,
    /// A record was refused by the lease's fence: another replica took the lease during this
    /// round, and this sender stood down.
    pub fenced_off: bool,
    /// The earliest instant something may be attempted again; `None` when the queue is empty.
    pub next_due: Option<DateTime<Utc>>,
}

enum Step {
    Sent(i64),
    FoundPosted(i64),
    FileShared(DateTime<Utc>),
    Retry(DateTime<Utc>),
    Parked(i64),
    Waiting(DateTime<Utc>),
    /// A fenced record was refused: the lease is someone else's now.
    FencedOff,
}

/// A fenced record's outcome, for `?` in [`Outbox::step`]: a database error is logged and
/// the step goes on (as a sender always did: the row is retried next round), a refusal by the
/// fence ends the step.
fn recorded(result: Result<LeaderWrite, DbErr>, id: i64, what: &'static str) -> Result<(), Step> {
    match result {
        Ok(LeaderWrite::Written) => Ok(()),
        Ok(LeaderWrite::FencedOff) => Err(Step::FencedOff),
        Err(err) => {
            warn!(id, error = %err, "outbox: cannot record {what}");
            Ok(())
        }
    }
}

impl Outbox {
    pub fn new(db: Db, slack: Arc<dyn SlackApi>, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            slack,
            clock,
            holder: new_holder_id(),
            lease_secs: DEFAULT_LEASE.as_secs() as i64,
            round: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
        }
    }

    /// The lease lasts `timeout` (`[server] lease_timeout`; at least a second): another
    /// replica takes over within about twice that after this one dies.
    pub fn with_lease_timeout(mut self, timeout: StdDuration) -> Self {
        self.lease_secs = timeout.as_secs().max(1) as i64;
        self
    }

    /// This sender's id in the `leases` table.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The lease is renewed once less than two thirds of it is left: a leader renews about
    /// every third of the lease, so a slow round or two never lets it lapse.
    fn renew_below(&self) -> i64 {
        self.lease_secs * 2 / 3
    }

    /// How often a replica that does not hold the lease tries for it: a quarter of the lease
    /// (at most 10 s), so it takes over soon after the lease ends.
    fn standby_poll(&self) -> StdDuration {
        (StdDuration::from_secs(self.lease_secs as u64) / 4)
            .clamp(StdDuration::from_millis(250), STANDBY_POLL)
    }

    /// One round at `now`: for each recipient, its oldest queued message gets at most one
    /// step (open the DM, share the attachment, or post), if its channel's pacing and its own
    /// retry time allow. Recipients are served concurrently.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> DeliveryReport {
        let _round = self.round.lock().await;
        let mut report = DeliveryReport::default();
        let (fence, lease_until) = match self.hold_lease(now).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return report,
            Err(err) => {
                warn!(error = %err, "outbox: cannot take the sender lease");
                return report;
            }
        };
        report.leader = true;
        let heads = match self.db.outbox_heads().await {
            Ok(heads) => heads,
            Err(err) => {
                warn!(error = %err, "outbox: cannot read the queue");
                report.next_due = Some(now + PER_CHANNEL_INTERVAL);
                return report;
            }
        };
        let steps = futures::future::join_all(
            heads
                .into_iter()
                .map(|h| self.step(h, now, &fence, lease_until)),
        )
        .await;
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
                Step::FoundPosted(id) => {
                    report.sent.push(id);
                    report.found_posted.push(id);
                    due_at(now);
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
                Step::FencedOff => report.fenced_off = true,
            }
        }
        if report.fenced_off {
            self.stand_down();
            report.leader = false;
        }
        report.next_due = next_due;
        report
    }

    /// Sends until `shutdown`: a round, then a sleep until the next thing is due (at most a
    /// second, so new messages go out promptly). Gives the lease back when it stops.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            info!(holder = %self.holder, lease_secs = self.lease_secs, "outbox sender started");
            loop {
                let now = self.clock.now();
                let report = self.deliver_due(now).await;
                let wait = if !report.leader {
                    self.standby_poll()
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

    async fn step(
        &self,
        head: OutboxHead,
        now: DateTime<Utc>,
        fence: &Fence,
        lease_until: i64,
    ) -> Step {
        match self.try_step(head, now, fence, lease_until).await {
            Ok(step) | Err(step) => step,
        }
    }

    async fn try_step(
        &self,
        head: OutboxHead,
        now: DateTime<Utc>,
        fence: &Fence,
        lease_until: i64,
    ) -> Result<Step, Step> {
        let ts_now = now.timestamp();
        if head.next_attempt_at > ts_now {
            return Ok(Step::Waiting(instant(head.next_attempt_at)));
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
                            recorded(
                                self.db
                                    .set_outbox_channel(fence, head.id, &channel, ts_now)
                                    .await,
                                head.id,
                                "the DM channel",
                            )?;
                            channel
                        }
                        Err(err) => return Err(self.failed(&head, None, err, now, fence).await),
                    },
                }
            }
        };
        {
            let mut state = self.state.lock().unwrap();
            if let Some(not_before) = state.not_before.get(&channel)
                && *not_before > now
            {
                return Ok(Step::Waiting(*not_before));
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
                    return Ok(Step::Retry(now + PER_CHANNEL_INTERVAL));
                }
            };
            // Named after its row, so that a share which landed before a crash can be found.
            let filename = shared_file_name(&filename, head.id);
            let shared_before = match head.sending_since {
                Some(since) => match looked_up(
                    within_timeout(self.slack.find_shared_file(&channel, &filename, since)).await,
                    head.id,
                    &channel,
                ) {
                    Ok(found) => found,
                    Err(err) => {
                        return Err(self.failed(&head, Some(&channel), err, now, fence).await);
                    }
                },
                None => false,
            };
            if shared_before {
                info!(id = head.id, %channel, %filename, "outbox: file found already shared; recorded, not shared again");
            } else {
                recorded(
                    self.db.mark_outbox_sending(fence, head.id, ts_now).await,
                    head.id,
                    "a file about to be shared",
                )?;
                let file = FileUpload {
                    filename: &filename,
                    title: &title,
                    bytes: &bytes,
                };
                if let Err(err) = within_timeout(self.slack.upload_file(&channel, &file)).await {
                    return Err(self.failed(&head, Some(&channel), err, now, fence).await);
                }
                debug!(id = head.id, %channel, bytes = bytes.len(), "outbox: file shared");
            }
            recorded(
                self.db.mark_attachment_sent(fence, head.id, ts_now).await,
                head.id,
                "a shared file",
            )?;
            return Ok(Step::FileShared(now + PER_CHANNEL_INTERVAL));
        }
        if let Some(since) = head.sending_since {
            // An earlier attempt may have landed: look before posting again.
            match looked_up(
                within_timeout(self.slack.find_outbox_post(&channel, head.id, since)).await,
                head.id,
                &channel,
            ) {
                Ok(Some(ts)) => {
                    info!(id = head.id, %channel, %ts, "outbox: found already posted; recorded, not sent again");
                    recorded(
                        self.db
                            .mark_outbox_sent(fence, head.id, &channel, &ts, ts_now)
                            .await,
                        head.id,
                        "a sent message",
                    )?;
                    return Ok(Step::FoundPosted(head.id));
                }
                Ok(None) => {}
                Err(err) => return Err(self.failed(&head, Some(&channel), err, now, fence).await),
            }
        }
        // The post gets no longer than the lease has left: a replica taking the lease over
        // after it ends can be sure this post is no longer in flight when it looks.
        let lease_left = (instant(lease_until) - now).to_std().unwrap_or_default();
        if lease_left.is_zero() {
            return Err(Step::FencedOff);
        }
        recorded(
            self.db.mark_outbox_sending(fence, head.id, ts_now).await,
            head.id,
            "an attempt",
        )?;
        let json: serde_json::Value = serde_json::from_str(&head.slack_json).unwrap_or_default();
        let message = RenderedMessage {
            text: head.text.clone(),
            blocks: json["blocks"].clone(),
            terminal: head.terminal.clone(),
        };
        let post = self.slack.post_outbox(&channel, &message, head.id);
        match within(lease_left.min(CALL_TIMEOUT), post).await {
            Ok(ts) => {
                debug!(id = head.id, %channel, %ts, "outbox: sent");
                // Fenced off here, the message is in Slack all the same: the next holder
                // finds it "sending", looks for it in the channel and records it.
                recorded(
                    self.db
                        .mark_outbox_sent(fence, head.id, &channel, &ts, ts_now)
                        .await,
                    head.id,
                    "a sent message",
                )?;
                Ok(Step::Sent(head.id))
            }
            Err(err) => Err(self.failed(&head, Some(&channel), err, now, fence).await),
        }
    }

    /// Records a failed call: retry later (429, 5xx, transport) or park (a refusal).
    async fn failed(
        &self,
        head: &OutboxHead,
        channel: Option<&str>,
        err: SlackApiError,
        now: DateTime<Utc>,
        fence: &Fence,
    ) -> Step {
        let attempts = head.attempts + 1;
        let error = err.to_string();
        // A 429 or a refusal means Slack did not take the message; after a 5xx, a transport
        // error or a time-out it may have.
        let not_posted = !matches!(err, SlackApiError::Unavailable(_));
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
        let ts_now = now.timestamp();
        let (step, record) = match retry_at {
            Some(until) => {
                warn!(id = head.id, to = %head.to, attempts, retry_at = %until, error = %error, "outbox: delivery failed; will retry");
                let record = self
                    .db
                    .retry_outbox_later(
                        fence,
                        head.id,
                        attempts,
                        ceil_secs(until),
                        &error,
                        not_posted && head.sending_since.is_none(),
                        ts_now,
                    )
                    .await;
                (Step::Retry(until), record)
            }
            None => {
                warn!(id = head.id, to = %head.to, error = %error, "outbox: Slack refused the message; parked (see `maison-bot jobs list`)");
                let record = self
                    .db
                    .park_outbox_message(fence, head.id, attempts, ts_now, &error)
                    .await;
                (Step::Parked(head.id), record)
            }
        };
        match recorded(record, head.id, "the failure") {
            Ok(()) => step,
            Err(fenced) => fenced,
        }
    }

    // ------------------------------------------------------------------ the lease

    /// The lease's fence and end when this sender holds it (renewing it when due), `None`
    /// when another replica does.
    async fn hold_lease(&self, now: DateTime<Utc>) -> Result<Option<(Fence, i64)>, DbErr> {
        let now = now.timestamp();
        if let Some((fence, until)) = &self.state.lock().unwrap().lease
            && until - now > self.renew_below()
        {
            return Ok(Some((fence.clone(), *until)));
        }
        let until = now + self.lease_secs;
        let term = self
            .db
            .take_lease(LEASE_NAME, &self.holder, until, now)
            .await?;
        let mut state = self.state.lock().unwrap();
        let held = match term {
            Some(term) => {
                if state.lease.as_ref().is_none_or(|(f, _)| f.term != term) {
                    info!(holder = %self.holder, term, "outbox: this replica is the sender");
                }
                let fence = Fence {
                    lease: LEASE_NAME.to_owned(),
                    holder: self.holder.clone(),
                    term,
                };
                Some((fence, until))
            }
            None => {
                if state.lease.is_some() {
                    info!(holder = %self.holder, "outbox: the sender lease is another replica's now; standing by");
                }
                None
            }
        };
        state.lease = held.clone();
        Ok(held)
    }

    /// A fenced record was refused: another replica holds the lease now. This one stops
    /// sending until it takes the lease again.
    fn stand_down(&self) {
        let mut state = self.state.lock().unwrap();
        if let Some((fence, _)) = state.lease.take() {
            info!(holder = %self.holder, term = fence.term, "outbox: fenced off (the lease has a newer term); standing by");
        }
    }

    async fn release_lease(&self) -> Result<(), DbErr> {
        self.db.release_lease(LEASE_NAME, &self.holder).await?;
        self.state.lock().unwrap().lease = None;
        Ok(())
    }
}

/// A Slack call that gives up after [`CALL_TIMEOUT`].
/// The outcome of looking for an earlier attempt in Slack. Where Slack will not let us look
/// (a refusal such as a missing `*:history` or `files:read` scope) the answer is "not found":
/// acting again is then the only way to deliver, at the risk of a duplicate.
fn looked_up<T: Default>(
    looked: Result<T, SlackApiError>,
    id: i64,
    channel: &str,
) -> Result<T, SlackApiError> {
    match looked {
        Err(SlackApiError::Failed(code)) => {
            warn!(id, %channel, error = %code, "outbox: cannot look for an earlier attempt; sending again");
            Ok(T::default())
        }
        other => other,
    }
}

async fn within_timeout<T>(
    call: impl Future<Output = Result<T, SlackApiError>>,
) -> Result<T, SlackApiError> {
    within(CALL_TIMEOUT, call).await
}

/// A Slack call that gives up after `limit`.
async fn within<T>(
    limit: StdDuration,
    call: impl Future<Output = Result<T, SlackApiError>>,
) -> Result<T, SlackApiError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(SlackApiError::Unavailable(format!(
            "no answer within {} ms",
            limit.as_millis()
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

/// `report.png` of outbox row 42 is shared as `report-m42.png`: unique to the row, so the
/// sender can tell whether an earlier attempt already shared it.
fn shared_file_name(filename: &str, outbox_id: i64) -> String {
    match filename.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}-m{outbox_id}.{ext}"),
        _ => format!("{filename}-m{outbox_id}"),
    }
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
