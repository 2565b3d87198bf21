//! The daily report: one day of the fleet, per host and in total (GPU-hours booked, busy, idle,
//! booked but idle), the top users, orphan images with Remove buttons for admins, and stale
//! containers. [`build`] turns loaded data into the message; [`heat_map`] into the chart.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use maison_command::Lang;

use super::chart::{HeatMap, HeatRow};
use super::{column_widths, hours, pct, table_line};
use crate::core::actions;
use crate::core::datasets::DatasetsDay;
use crate::core::inventory::{OrphanImage, OrphanReason, StaleContainer};
use crate::core::message::Attachment;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::replies::{japanese_weekday, listed, when_in};
use crate::core::units::size_text;
use crate::tr;

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
    build_in(data, Lang::En)
}

/// [`build`] in `lang`: the channel's report in `[slack] channel_language`, `report day` in the
/// reader's.
pub fn build_in(data: &DailyData, lang: Lang) -> Reply {
    let day = day_label_in(data.from, data.tz, lang);
    let mut blocks = vec![Block::Header(tr!(lang, "daily-header", day = day.as_str()))];

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
    let summary = [
        tr!(
            lang,
            "daily-fleet",
            hosts = data.hosts.len(),
            gpus = gpus,
            capacity = hours(capacity)
        ),
        tr!(
            lang,
            "daily-booked",
            hours = hours(booked),
            share = pct(booked, capacity)
        ),
        tr!(
            lang,
            "daily-busy",
            hours = hours(busy),
            share = pct(busy, observed),
            idle = hours(idle)
        ),
        tr!(
            lang,
            "daily-booked-idle",
            hours = hours(booked_idle),
            share = pct(booked_idle, booked)
        ),
    ];
    blocks.push(Block::Section(summary.join("\n")));
    if !data.hosts.is_empty() {
        blocks.push(Block::Section(host_table(&data.hosts, lang)));
        if data.hosts.len() > MAX_HOST_LINES {
            blocks.push(Block::Context(tr!(
                lang,
                "daily-more-hosts",
                count = data.hosts.len().saturating_sub(MAX_HOST_LINES)
            )));
        }
    }
    blocks.push(Block::Context(tr!(
        lang,
        "daily-legend",
        pct = data.busy_util_pct,
        tz = data.tz.name()
    )));

    blocks.push(Block::Divider);
    blocks.push(Block::Section(top_users(&data.users, lang)));

    blocks.push(Block::Divider);
    blocks.extend(orphan_blocks(&data.orphans, data.now, data.tz, lang));

    blocks.push(Block::Divider);
    blocks.push(Block::Section(stale_lines(data, lang)));

    if !data.datasets.hosts.is_empty() {
        blocks.push(Block::Divider);
        blocks.extend(dataset_blocks(&data.datasets, data.now, data.tz, lang));
    }

    let text = tr!(
        lang,
        "daily-text",
        day = day.as_str(),
        booked = pct(booked, capacity),
        busy = pct(busy, observed),
        idle = hours(booked_idle)
    );
    Reply::with_blocks(Visibility::InChannel, text, blocks)
}

/// The chart's PNG as shared with the channel's report of `day`. The chart itself holds only
/// host names and numbers (its font is ASCII); its title is in the channel's language.
pub fn chart_attachment(day: NaiveDate, png: Vec<u8>, lang: Lang) -> Attachment {
    Attachment {
        filename: format!("maison-utilisation-{day}.png"),
        title: tr!(lang, "daily-chart-title", day = day.to_string()),
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
    day_label_in(from, tz, Lang::En)
}

/// [`day_label`] in `lang`: `2026年11月29日(日)` in Japanese.
pub fn day_label_in(from: i64, tz: Tz, lang: Lang) -> String {
    let at = tz.from_utc_datetime(&utc(from).naive_utc());
    match lang {
        Lang::En => at.format("%a %-d %b %Y").to_string(),
        Lang::Ja => format!(
            "{}年{}月{}日({})",
            at.year(),
            at.month(),
            at.day(),
            japanese_weekday(at.weekday())
        ),
    }
}

fn host_table(hosts: &[HostDay], lang: Lang) -> String {
    let header = [
        tr!(lang, "daily-column-host"),
        tr!(lang, "daily-column-gpus"),
        tr!(lang, "daily-column-booked"),
        tr!(lang, "daily-column-busy"),
        tr!(lang, "daily-column-idle"),
        tr!(lang, "daily-column-booked-idle"),
    ];
    let rows: Vec<[String; 6]> = hosts
        .iter()
        .take(MAX_HOST_LINES)
        .map(|h| {
            [
                h.host.chars().take(24).collect(),
                h.gpus.to_string(),
                hours(h.booked),
                hours(h.busy),
                hours(h.idle()),
                hours(h.booked_idle),
            ]
        })
        .collect();
    // The columns are at least as wide as the English table always was.
    let widths = column_widths(&header, rows.iter(), [4, 4, 7, 7, 7, 11]);
    let mut lines = vec![table_line(&header, &widths)];
    lines.extend(rows.iter().map(|cells| table_line(cells, &widths)));
    format!(
        "{}\n```\n{}\n```",
        tr!(lang, "daily-table-title"),
        lines.join("\n")
    )
}

fn top_users(users: &[UserDay], lang: Lang) -> String {
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
        return tr!(lang, "daily-top-none");
    }
    let mut lines = vec![tr!(lang, "daily-top-title")];
    for (i, u) in ranked.iter().take(MAX_TOP_USERS).enumerate() {
        lines.push(tr!(
            lang,
            "daily-top-line",
            rank = i.saturating_add(1),
            user = mention(&u.slack_user),
            booked = hours(u.booked),
            used = hours(u.held),
            busy = hours(u.busy)
        ));
    }
    if ranked.len() > MAX_TOP_USERS {
        lines.push(tr!(
            lang,
            "daily-and-more",
            count = ranked.len().saturating_sub(MAX_TOP_USERS)
        ));
    }
    lines.join("\n")
}

/// Copies and disk use per host, then the copies unused for a while, with Remove buttons for
/// the largest (the click is refused unless the dataset's owner or an admin presses it).
fn dataset_blocks(day: &DatasetsDay, now: i64, tz: Tz, lang: Lang) -> Vec<Block> {
    let mut lines = vec![tr!(lang, "daily-datasets-title")];
    for h in &day.hosts {
        let copying = if h.in_progress > 0 {
            tr!(lang, "daily-datasets-copying", count = h.in_progress)
        } else {
            String::new()
        };
        lines.push(tr!(
            lang,
            "daily-datasets-host",
            host = h.host.as_str(),
            copies = h.complete,
            copying = copying,
            size = size_text(h.bytes)
        ));
    }
    let mut blocks = vec![Block::Section(lines.join("\n"))];
    if day.unused.is_empty() {
        return blocks;
    }
    let mut lines = vec![tr!(lang, "daily-unused-title", days = day.unused_days)];
    for u in day.unused.iter().take(MAX_UNUSED_DATASET_LINES) {
        lines.push(tr!(
            lang,
            "daily-unused-line",
            label = u.label.as_str(),
            host = u.host.as_str(),
            size = size_text(u.bytes),
            when = when_in(u.last_used, now, tz, lang),
            owner = mention(&u.owner)
        ));
    }
    if day.unused.len() > MAX_UNUSED_DATASET_LINES {
        lines.push(tr!(
            lang,
            "daily-and-more",
            count = day.unused.len().saturating_sub(MAX_UNUSED_DATASET_LINES)
        ));
    }
    blocks.push(Block::Section(lines.join("\n")));
    let buttons: Vec<Button> = day
        .unused
        .iter()
        .take(MAX_REMOVE_BUTTONS)
        .map(|u| {
            Button::new(
                tr!(
                    lang,
                    "button-remove-dataset",
                    label = u.label.as_str(),
                    host = u.host.as_str()
                ),
                actions::REMOVE_DATASET_COPY,
                format!("{} {}", u.label, u.host),
            )
            .styled(ButtonStyle::Danger)
        })
        .collect();
    blocks.push(Block::Actions(buttons));
    blocks
}

fn orphan_blocks(orphans: &[OrphanImage], now: i64, tz: Tz, lang: Lang) -> Vec<Block> {
    if orphans.is_empty() {
        return vec![Block::Section(tr!(lang, "daily-orphans-none"))];
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
    let mut lines = vec![tr!(
        lang,
        "daily-orphans-title",
        size = size_text(total),
        hosts = listed(&reclaim, lang)
    )];
    for o in orphans.iter().take(MAX_ORPHAN_LINES) {
        let why = match o.reason {
            OrphanReason::Dangling => tr!(lang, "daily-orphan-dangling"),
            OrphanReason::Unowned => tr!(lang, "daily-orphan-unowned"),
            OrphanReason::Unused { days } => tr!(lang, "daily-orphan-unused", days = days),
            OrphanReason::Deprecated { days } => {
                tr!(lang, "daily-orphan-deprecated", days = days)
            }
        };
        let owner = o
            .owner
            .as_deref()
            .map(|u| tr!(lang, "daily-orphan-owner", owner = mention(u)))
            .unwrap_or_default();
        lines.push(tr!(
            lang,
            "daily-orphan-line",
            host = o.host.as_str(),
            name = o.name.as_str(),
            size = size_text(o.size_bytes),
            why = why,
            owner = owner,
            when = when_in(o.created_at, now, tz, lang)
        ));
    }
    if orphans.len() > MAX_ORPHAN_LINES {
        lines.push(tr!(
            lang,
            "daily-and-more-of",
            count = orphans.len().saturating_sub(MAX_ORPHAN_LINES),
            total = orphans.len()
        ));
    }
    let buttons: Vec<Button> = orphans
        .iter()
        .take(MAX_REMOVE_BUTTONS)
        .map(|o| {
            let name: String = o.name.chars().take(40).collect();
            Button::new(
                tr!(
                    lang,
                    "button-remove-image",
                    name = name.as_str(),
                    host = o.host.as_str()
                ),
                actions::REMOVE_IMAGE,
                format!("{}/{}", o.host, o.id),
            )
            .styled(ButtonStyle::Danger)
        })
        .collect();
    vec![
        Block::Section(lines.join("\n")),
        Block::Actions(buttons),
        Block::Context(tr!(lang, "daily-orphans-note")),
    ]
}

fn stale_lines(data: &DailyData, lang: Lang) -> String {
    if data.stale.is_empty() {
        return tr!(lang, "daily-stale-none", days = data.stale_container_days);
    }
    let mut lines = vec![tr!(
        lang,
        "daily-stale-title",
        days = data.stale_container_days,
        count = data.stale.len()
    )];
    for s in data.stale.iter().take(MAX_STALE_LINES) {
        let owner = match &s.owner {
            Some(u) => mention(u),
            None => tr!(lang, "daily-stale-unowned"),
        };
        let kept = s
            .kept_until
            .map(|k| {
                tr!(
                    lang,
                    "daily-stale-kept",
                    when = when_in(k, data.now, data.tz, lang)
                )
            })
            .unwrap_or_default();
        lines.push(tr!(
            lang,
            "daily-stale-line",
            host = s.host.as_str(),
            name = s.name.as_str(),
            days = (data.now - s.stopped_since).max(0).div_euclid(86_400),
            owner = owner,
            kept = kept
        ));
    }
    if data.stale.len() > MAX_STALE_LINES {
        lines.push(tr!(
            lang,
            "daily-and-more",
            count = data.stale.len().saturating_sub(MAX_STALE_LINES)
        ));
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
            dataset_blocks(&day, now, chrono_tz::UTC, Lang::En),
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
