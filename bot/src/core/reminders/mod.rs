//! Reminder DMs, decided from loaded data: bookings starting or ending soon, containers stopped
//! for days or idling on GPUs for hours, GPUs used without a booking or inside someone else's.
//! [`plan`] lists what the situation calls for, [`should_tell`] says whether it is due given
//! what was told before, and [`messages`] words each DM.
//!
//! A "subject" names what a reminder is about (`booking-end:42`, `container:gpu01:<id>`); the
//! "episode" says which occurrence (the booking's end time, since when a container idles), so a
//! new occurrence is told again. "Keep" silences a container's subject until a date.

pub mod messages;

use std::collections::HashMap;

use chrono_tz::Tz;
use maison_agent_api::ContainerState;
use maison_command::Lang;

use super::booking::{BOOK_NOW_SECS, BookingView, NewBooking};
use super::datasets::BookingData;
use super::fleet::{GpuActivity, HostStatus, StoredContainer, short_id};
use super::inventory;
use super::render::Reply;
use super::rules::GpuWish;
use messages::HeldBy;

/// Readings older than this are not trusted as "in use now".
const FRESH_READING_SECS: i64 = 10 * 60;
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
    /// Each person's language (their `lang` choice, else their Slack locale); English for
    /// anyone not in it.
    pub lang_of: HashMap<String, Lang>,
    /// The dataset each booking made with `--data` needs, by booking id, and whether it is
    /// on the booking's host yet.
    pub booking_data: HashMap<i64, BookingData>,
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

/// The `reminders` job's summary for its log.
pub fn run_summary(queued: usize, noticed: usize) -> String {
    format!("{queued} reminder(s) queued ({noticed} situation(s) noticed)")
}

/// The subject of reminders about a container.
pub fn container_subject(host: &str, id: &str) -> String {
    format!("container:{host}:{id}")
}

/// The `(host, id)` a container's subject names; `None` for other subjects.
pub fn parse_container_subject(subject: &str) -> Option<(&str, &str)> {
    subject.strip_prefix("container:")?.split_once(':')
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
    let lang = |user: &str| input.lang_of.get(user).copied().unwrap_or(Lang::En);
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
                reply: messages::booking_starts(
                    b,
                    input.booking_data.get(&b.id),
                    now,
                    tz(&b.slack_user_id),
                    lang(&b.slack_user_id),
                ),
            });
        }
        if b.start <= now && b.end > now && b.end <= now + input.lead {
            notices.push(Notice {
                subject: format!("booking-end:{}", b.id),
                recipient: b.slack_user_id.clone(),
                episode: b.end,
                reply: messages::booking_ends(b, now, tz(&b.slack_user_id), lang(&b.slack_user_id)),
            });
        }
    }

    for facts in &input.containers {
        let c = &facts.container;
        let Some(owner) = &facts.owner else { continue };
        let subject = container_subject(&c.host, &c.id);
        if let Some(since) = inventory::stopped_since(c) {
            if now - since >= input.stale_after {
                notices.push(Notice {
                    subject,
                    recipient: owner.clone(),
                    episode: EPISODE_STOPPED,
                    reply: messages::container_stopped(
                        c,
                        since,
                        input.keep_days,
                        now,
                        tz(owner),
                        lang(owner),
                    ),
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
                reply: messages::container_idle(
                    c,
                    idle_since,
                    input.keep_days,
                    now,
                    tz(owner),
                    lang(owner),
                ),
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
                        reply: messages::unbooked_use(&held, lang(owner)),
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
                                reply: messages::intrusion_to_user(
                                    &held,
                                    b,
                                    now,
                                    tz(owner),
                                    lang(owner),
                                ),
                            });
                        }
                        notices.push(Notice {
                            subject: subject(&b.slack_user_id),
                            recipient: b.slack_user_id.clone(),
                            episode: 0,
                            reply: messages::intrusion_to_owner(&held, b, lang(&b.slack_user_id)),
                        });
                    }
                    (Some(_), _) => {}
                }
            }
        }
    }
    notices
}

/// The booking the "Book it now" button asks for: value `host:gpu`, that GPU for
/// [`BOOK_NOW_SECS`] from now.
pub fn gpu_booking(value: &str, now: i64) -> Option<NewBooking> {
    let (host, gpu) = value.rsplit_once(':')?;
    let gpu: u32 = gpu.parse().ok()?;
    Some(NewBooking {
        host: host.to_owned(),
        gpus: GpuWish::Indexes(vec![gpu]),
        start: now,
        end: now + BOOK_NOW_SECS,
        note: Some("booked from a reminder".to_owned()),
        project: None,
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
    fn container_subjects_round_trip() {
        let subject = container_subject("gpu01", "abc123");
        assert_eq!(subject, "container:gpu01:abc123");
        assert_eq!(parse_container_subject(&subject), Some(("gpu01", "abc123")));
        assert_eq!(parse_container_subject("booking-end:4"), None);
    }

    #[test]
    fn book_now_values_name_host_and_gpu() {
        let b = gpu_booking("gpu01:3", 1000).unwrap();
        assert_eq!(b.host, "gpu01");
        assert_eq!(b.gpus, GpuWish::Indexes(vec![3]));
        assert_eq!(b.end - b.start, BOOK_NOW_SECS);
        assert!(gpu_booking("gpu01", 1000).is_none());
        assert!(gpu_booking("gpu01:x", 1000).is_none());
    }
}
