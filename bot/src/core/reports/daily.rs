//! The daily report: one day of the fleet, per host and in total (GPU-hours booked, busy, idle,
//! booked but idle), the top users, orphan images with Remove buttons for admins, and stale
//! containers. [`build`] turns loaded data into the message; [`heat_map`] into the chart.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::chart::{HeatMap, HeatRow};
use super::{hours, pct};
use crate::core::actions;
use crate::core::datasets::DatasetsDay;
use crate::core::inventory::{OrphanImage, OrphanReason, StaleContainer};
use crate::core::message::Attachment;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::replies::when;
use crate::core::units::size_text;

/// Lines of the per-host table (one section); more hosts are counted, not listed.
const MAX_HOST_LINES: usize = 40;
const MAX_TOP_USERS: usize = 5;
const MAX_ORPHAN_LINES: usize = 15;
/// Remove buttons offered (the largest orphans); the rest can be removed from `/maison images`.
const MAX_REMOVE_BUTTONS: usize = 10;
const MAX_STALE_LINES: usize = 15;
const MAX_UNUSED_DATASET_LINES: usize = 15;

/// Everything the daily report shows, as the store loads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyData {
    /// The day reported on: `[from, to)`, local midnight to midnight.
    pub from: i64,
    pub to: i64,
    pub tz: Tz,
    pub now: i64,
    pub busy_util_pct: u8,
    pub stale_container_days: u32,
    pub hosts: Vec<HostDay>,
    pub users: Vec<UserDay>,
    pub orphans: Vec<OrphanImage>,
    pub stale: Vec<StaleContainer>,
    pub datasets: DatasetsDay,
}

/// One host over the day; all amounts in GPU-minutes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostDay {
    pub host: String,
    pub gpus: u32,
    pub booked: u64,
    /// Minutes with a reading (the rest is unknown: agent down or not polled).
    pub observed: u64,
    pub busy: u64,
    /// Booked minutes whose reading was below the busy threshold.
    pub booked_idle: u64,
    /// Average utilisation per hour of the day (`None`: no readings).
    pub hourly_util: Vec<Option<f64>>,
}

impl HostDay {
    pub fn idle(&self) -> u64 {
        self.observed.saturating_sub(self.busy)
    }
}

/// One person over the day; GPU-minutes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserDay {
    pub slack_user: String,
    pub booked: u64,
    /// Minutes their containers had a process on a GPU.
    pub held: u64,
    /// Of those, minutes the GPU was busy.
    pub busy: u64,
}

/// The message: a fleet summary, the host table, top users, orphans and stale containers.
pub fn build(data: &DailyData) -> Reply {
    let day = day_label(data.from, data.tz);
    let mut blocks = vec![Block::Header(format!("GPU fleet report — {day}"))];

    let gpus: u32 = data.hosts.iter().map(|h| h.gpus).sum();
    let capacity = u64::from(gpus) * ((data.to - data.from).max(0) as u64 / 60);
    let total = |f: fn(&HostDay) -> u64| data.hosts.iter().map(f).sum::<u64>();
    let (booked, observed, busy, booked_idle) = (
        total(|h| h.booked),
        total(|h| h.observed),
        total(|h| h.busy),
        total(|h| h.booked_idle),
    );
    let idle = observed.saturating_sub(busy);
    let summary = format!(
        "*Fleet:* {} hosts, {gpus} GPUs ({} GPU-h in the day)\n\
         • Booked *{}* GPU-h ({} of capacity)\n\
         • Busy *{}* GPU-h ({} of measured time), idle {} GPU-h\n\
         • Booked but idle *{}* GPU-h ({} of booked time)",
        data.hosts.len(),
        hours(capacity),
        hours(booked),
        pct(booked, capacity),
        hours(busy),
        pct(busy, observed),
        hours(idle),
        hours(booked_idle),
        pct(booked_idle, booked),
    );
    blocks.push(Block::Section(summary));
    if !data.hosts.is_empty() {
        blocks.push(Block::Section(host_table(&data.hosts)));
        if data.hosts.len() > MAX_HOST_LINES {
            blocks.push(Block::Context(format!(
                "… and {} more hosts not listed; the chart shows them all.",
                data.hosts.len() - MAX_HOST_LINES
            )));
        }
    }
    blocks.push(Block::Context(format!(
        "Busy = a GPU-minute averaging at least {}% utilisation. Chart: hosts × hours ({}), darker = busier, grey = no readings.",
        data.busy_util_pct,
        data.tz.name()
    )));

    blocks.push(Block::Divider);
    blocks.push(Block::Section(top_users(&data.users)));

    blocks.push(Block::Divider);
    blocks.extend(orphan_blocks(&data.orphans, data.now, data.tz));

    blocks.push(Block::Divider);
    blocks.push(Block::Section(stale_lines(data)));

    if !data.datasets.hosts.is_empty() {
        blocks.push(Block::Divider);
        blocks.extend(dataset_blocks(&data.datasets, data.now, data.tz));
    }

    let text = format!(
        "GPU fleet report for {day}: {} booked, {} busy, {} GPU-h booked but idle.",
        pct(booked, capacity),
        pct(busy, observed),
        hours(booked_idle)
    );
    Reply::with_blocks(Visibility::InChannel, text, blocks)
}

/// The chart's PNG as shared with the channel's report of `day`.
pub fn chart_attachment(day: NaiveDate, png: Vec<u8>) -> Attachment {
    Attachment {
        filename: format!("maison-utilisation-{day}.png"),
        title: format!("GPU utilisation {day}, hosts × hours"),
        bytes: png,
    }
}

/// The job's summary of the report of `day` for `channel`: `queued`, or already queued before.
pub fn queued_summary(day: NaiveDate, channel: &str, data: &DailyData, queued: bool) -> String {
    if queued {
        format!(
            "daily report for {day} queued for {channel} ({} hosts, {} orphan images, {} stale containers)",
            data.hosts.len(),
            data.orphans.len(),
            data.stale.len()
        )
    } else {
        format!("daily report for {day} was already queued")
    }
}

/// The chart's data: one row per host, one column per hour of the day.
pub fn heat_map(data: &DailyData) -> HeatMap {
    let columns = ((data.to - data.from).max(3600) / 3600) as usize;
    let labels = (0..columns)
        .map(|c| {
            data.tz
                .from_utc_datetime(&utc(data.from + c as i64 * 3600).naive_utc())
                .format("%H")
                .to_string()
        })
        .collect();
    let rows = data
        .hosts
        .iter()
        .map(|h| HeatRow {
            label: h.host.clone(),
            cells: (0..columns)
                .map(|c| h.hourly_util.get(c).copied().flatten())
                .collect(),
        })
        .collect();
    HeatMap {
        rows,
        columns: labels,
    }
}

/// `Sun 29 Nov 2026`.
pub fn day_label(from: i64, tz: Tz) -> String {
    tz.from_utc_datetime(&utc(from).naive_utc())
        .format("%a %-d %b %Y")
        .to_string()
}

fn host_table(hosts: &[HostDay]) -> String {
    let width = hosts
        .iter()
        .take(MAX_HOST_LINES)
        .map(|h| h.host.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 24);
    let mut lines = vec![format!(
        "{:<width$} {:>4} {:>7} {:>7} {:>7} {:>11}",
        "host", "GPUs", "booked", "busy", "idle", "booked-idle"
    )];
    for h in hosts.iter().take(MAX_HOST_LINES) {
        let name: String = h.host.chars().take(width).collect();
        lines.push(format!(
            "{name:<width$} {:>4} {:>7} {:>7} {:>7} {:>11}",
            h.gpus,
            hours(h.booked),
            hours(h.busy),
            hours(h.idle()),
            hours(h.booked_idle)
        ));
    }
    format!("*GPU-hours per host*\n```\n{}\n```", lines.join("\n"))
}

fn top_users(users: &[UserDay]) -> String {
    let mut ranked: Vec<&UserDay> = users
        .iter()
        .filter(|u| u.booked > 0 || u.held > 0)
        .collect();
    ranked.sort_by(|a, b| {
        (b.booked.max(b.held), b.busy)
            .cmp(&(a.booked.max(a.held), a.busy))
            .then_with(|| a.slack_user.cmp(&b.slack_user))
    });
    if ranked.is_empty() {
        return "*Top users:* nobody booked or used a GPU.".to_owned();
    }
    let mut lines = vec!["*Top users*".to_owned()];
    for (i, u) in ranked.iter().take(MAX_TOP_USERS).enumerate() {
        lines.push(format!(
            "{}. {} — booked {} GPU-h, used {} GPU-h (busy {})",
            i + 1,
            mention(&u.slack_user),
            hours(u.booked),
            hours(u.held),
            hours(u.busy)
        ));
    }
    if ranked.len() > MAX_TOP_USERS {
        lines.push(format!("… and {} more", ranked.len() - MAX_TOP_USERS));
    }
    lines.join("\n")
}

/// Copies and disk use per host, then the copies unused for a while, with Remove buttons for
/// the largest (the click is refused unless the dataset's owner or an admin presses it).
fn dataset_blocks(day: &DatasetsDay, now: i64, tz: Tz) -> Vec<Block> {
    let mut lines = vec!["*Datasets*".to_owned()];
    for h in &day.hosts {
        let copying = if h.in_progress > 0 {
            format!(", {} being copied", h.in_progress)
        } else {
            String::new()
        };
        lines.push(format!(
            "• `{}`: {} cop{}{copying}, {} on disk",
            h.host,
            h.complete,
            if h.complete == 1 { "y" } else { "ies" },
            size_text(h.bytes)
        ));
    }
    let mut blocks = vec![Block::Section(lines.join("\n"))];
    if day.unused.is_empty() {
        return blocks;
    }
    let mut lines = vec![format!(
        "*Copies unused for {} days or more* (other copies remain)",
        day.unused_days
    )];
    for u in day.unused.iter().take(MAX_UNUSED_DATASET_LINES) {
        lines.push(format!(
            "• `{}` on `{}`, {}, last used {} — {}",
            u.label,
            u.host,
            size_text(u.bytes),
            when(u.last_used, now, tz),
            mention(&u.owner)
        ));
    }
    if day.unused.len() > MAX_UNUSED_DATASET_LINES {
        lines.push(format!(
            "… and {} more",
            day.unused.len() - MAX_UNUSED_DATASET_LINES
        ));
    }
    blocks.push(Block::Section(lines.join("\n")));
    let buttons: Vec<Button> = day
        .unused
        .iter()
        .take(MAX_REMOVE_BUTTONS)
        .map(|u| {
            Button::new(
                format!("Remove {} from {}", u.label, u.host),
                actions::REMOVE_DATASET_COPY,
                format!("{} {}", u.label, u.host),
            )
            .styled(ButtonStyle::Danger)
        })
        .collect();
    blocks.push(Block::Actions(buttons));
    blocks
}

fn orphan_blocks(orphans: &[OrphanImage], now: i64, tz: Tz) -> Vec<Block> {
    if orphans.is_empty() {
        return vec![Block::Section(
            "*Orphan images:* none — every image is in use, owned, or recent.".to_owned(),
        )];
    }
    let total: u64 = orphans.iter().map(|o| o.size_bytes).sum();
    let mut per_host: Vec<(String, u64)> = Vec::new();
    for o in orphans {
        match per_host.iter_mut().find(|(h, _)| *h == o.host) {
            Some((_, bytes)) => *bytes += o.size_bytes,
            None => per_host.push((o.host.clone(), o.size_bytes)),
        }
    }
    per_host.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let reclaim: Vec<String> = per_host
        .iter()
        .map(|(h, b)| format!("`{h}` {}", size_text(*b)))
        .collect();
    let mut lines = vec![format!(
        "*Orphan images:* {} reclaimable — {}",
        size_text(total),
        reclaim.join(", ")
    )];
    for o in orphans.iter().take(MAX_ORPHAN_LINES) {
        let why = match o.reason {
            OrphanReason::Dangling => "dangling".to_owned(),
            OrphanReason::Unowned => "unused, unowned".to_owned(),
            OrphanReason::Unused { days } => format!("unused, older than {days} days"),
            OrphanReason::Deprecated { days } => {
                format!("deprecated in the catalogue over {days} days ago, unused")
            }
        };
        let owner = o
            .owner
            .as_deref()
            .map(|u| format!(", owner {}", mention(u)))
            .unwrap_or_default();
        lines.push(format!(
            "• `{}` `{}` {} — {why}{owner}, built {}",
            o.host,
            o.name,
            size_text(o.size_bytes),
            when(o.created_at, now, tz)
        ));
    }
    if orphans.len() > MAX_ORPHAN_LINES {
        lines.push(format!(
            "… and {} more ({} in all)",
            orphans.len() - MAX_ORPHAN_LINES,
            orphans.len()
        ));
    }
    let buttons: Vec<Button> = orphans
        .iter()
        .take(MAX_REMOVE_BUTTONS)
        .map(|o| {
            let name: String = o.name.chars().take(40).collect();
            Button::new(
                format!("Remove {name} ({})", o.host),
                actions::REMOVE_IMAGE,
                format!("{}/{}", o.host, o.id),
            )
            .styled(ButtonStyle::Danger)
        })
        .collect();
    vec![
        Block::Section(lines.join("\n")),
        Block::Actions(buttons),
        Block::Context(
            "Remove is for admins; the host's agent refuses an image that has come into use since."
                .to_owned(),
        ),
    ]
}

fn stale_lines(data: &DailyData) -> String {
    if data.stale.is_empty() {
        return format!(
            "*Stale containers:* none stopped for {} days or more.",
            data.stale_container_days
        );
    }
    let mut lines = vec![format!(
        "*Stale containers* (stopped {} days or more): {}",
        data.stale_container_days,
        data.stale.len()
    )];
    for s in data.stale.iter().take(MAX_STALE_LINES) {
        let owner = match &s.owner {
            Some(u) => mention(u),
            None => "unowned".to_owned(),
        };
        let kept = s
            .kept_until
            .map(|k| format!(", kept until {}", when(k, data.now, data.tz)))
            .unwrap_or_default();
        lines.push(format!(
            "• `{}` `{}` — stopped {} days, {owner}{kept}",
            s.host,
            s.name,
            (data.now - s.stopped_since).max(0) / 86_400
        ));
    }
    if data.stale.len() > MAX_STALE_LINES {
        lines.push(format!("… and {} more", data.stale.len() - MAX_STALE_LINES));
    }
    lines.join("\n")
}

fn utc(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

#[cfg(test)]
mod dataset_tests {
    use super::*;
    use crate::core::datasets::{HostDatasets, UnusedCopy};

    #[test]
    fn the_datasets_section_offers_to_remove_unused_copies() {
        let now = 1_796_032_800;
        let day = DatasetsDay {
            hosts: vec![
                HostDatasets {
                    host: "gpu01".into(),
                    complete: 3,
                    in_progress: 1,
                    bytes: 25_400_000_000,
                },
                HostDatasets {
                    host: "gpu02".into(),
                    complete: 1,
                    in_progress: 0,
                    bytes: 7_400_000_000,
                },
            ],
            unused: vec![UnusedCopy {
                label: "imagenet@v1".into(),
                host: "gpu01".into(),
                bytes: 7_400_000_000,
                last_used: now - 45 * 86_400,
                owner: "U0ADMIN".into(),
            }],
            unused_days: 30,
        };
        let reply = Reply::with_blocks(
            Visibility::InChannel,
            "datasets",
            dataset_blocks(&day, now, chrono_tz::UTC),
        );
        insta::assert_snapshot!(reply.to_terminal());
        let buttons: Vec<(&str, &str)> = reply
            .buttons()
            .map(|b| (b.action_id.as_str(), b.value.as_str()))
            .collect();
        assert_eq!(
            buttons,
            [(actions::REMOVE_DATASET_COPY, "imagenet@v1 gpu01")]
        );
    }
}
