//! The capacity report ("when do we buy more?"): over a window of days, from bookings, hourly
//! GPU rollups and refused booking requests: peak concurrent demand, the share of hours when
//! every GPU was booked, refusals, how much booked time was idle, and a one-line verdict.
//!
//! [`summarize`] does the arithmetic on loaded data, [`build`] writes the message; both pure.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Tz;
use maison_command::Lang;

use super::{column_widths, forecast, hours_f, table_line};

/// How far ahead the forecast looks.
const FORECAST_HORIZON_WEEKS: usize = 26;
use crate::core::render::{Block, Reply, Visibility};
use crate::core::replies::{japanese_weekday, sentence_gap, when_in};
use crate::tr;

/// A booking's share of the fleet: `gpus` GPUs of host `host` (index into the hosts) over
/// `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookedSpan {
    pub host: usize,
    pub gpus: u32,
    pub start: i64,
    pub end: i64,
}

/// One host's hourly rollups over the window, indexed by hour from `from`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostHours {
    /// GPU-minutes at or above the busy threshold.
    pub busy: Vec<u32>,
    /// GPU-minutes with a reading.
    pub observed: Vec<u32>,
}

/// A request refused because the GPUs were taken (or, for `book any`, nothing was free).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRow {
    pub at: i64,
    pub slack_user: String,
    /// `None` for `book any`.
    pub host: Option<String>,
    pub gpus: u32,
    pub start: i64,
    pub end: i64,
}

/// What [`summarize`] needs, as the store loads it.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityInput {
    pub from: i64,
    pub to: i64,
    pub tz: Tz,
    /// Bookable hosts (drained ones excluded) and their GPUs.
    pub hosts: Vec<(String, u32)>,
    pub bookings: Vec<BookedSpan>,
    /// By host index; hosts without rollups have empty vectors.
    pub usage: Vec<HostHours>,
    pub refusals: Vec<RefusalRow>,
    pub waitlist: WaitlistInput,
    /// The most GPUs booked at once in each week before `to` (oldest first), for the forecast.
    pub weekly_peaks: Vec<f64>,
}

/// The wait-list over the window: how requests ended, how offers ended, and GPUs left free while
/// someone waited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WaitlistInput {
    /// Requests that ended in the window: GPUs, booking length, seconds from joining the line
    /// to the end, and whether they got GPUs (booked) or not (expired, dropped, withdrawn).
    /// Declined offers are left out: the GPUs were there.
    pub ended: Vec<WaitEnding>,
    pub offers_accepted: u32,
    pub offers_declined: u32,
    pub offers_expired: u32,
    pub idle_gpu_seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitEnding {
    pub gpus: u32,
    pub length: i64,
    pub waited: i64,
    pub served: bool,
}

/// The wait-list numbers of the report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WaitlistSummary {
    /// GPU-hours asked by requests that left the line without GPUs.
    pub unmet_gpu_hours: f64,
    /// Waits of the requests that got GPUs: median and 90th percentile, seconds.
    pub wait_p50: Option<i64>,
    pub wait_p90: Option<i64>,
    pub served: u32,
    pub unserved: u32,
    pub offers: (u32, u32, u32),
    pub idle_gpu_minutes: i64,
}

impl WaitlistSummary {
    fn of(input: &WaitlistInput) -> Self {
        let mut waits: Vec<i64> = input
            .ended
            .iter()
            .filter(|e| e.served)
            .map(|e| e.waited)
            .collect();
        waits.sort_unstable();
        // Nearest rank: the smallest wait with at least p of the waits at or below it.
        let percentile = |p: f64| {
            (!waits.is_empty()).then(|| {
                waits[((p * waits.len() as f64).ceil() as usize).clamp(1, waits.len()) - 1]
            })
        };
        WaitlistSummary {
            unmet_gpu_hours: input
                .ended
                .iter()
                .filter(|e| !e.served)
                .map(|e| f64::from(e.gpus) * e.length as f64 / 3600.0)
                .sum(),
            wait_p50: percentile(0.5),
            wait_p90: percentile(0.9),
            served: waits.len() as u32,
            unserved: input.ended.iter().filter(|e| !e.served).count() as u32,
            offers: (
                input.offers_accepted,
                input.offers_declined,
                input.offers_expired,
            ),
            idle_gpu_minutes: input.idle_gpu_seconds / 60,
        }
    }

    fn is_empty(&self) -> bool {
        self.served + self.unserved == 0 && self.offers == (0, 0, 0) && self.idle_gpu_minutes == 0
    }
}

/// One local day of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct DaySummary {
    pub start: i64,
    /// Hours in which every GPU was booked.
    pub full_hours: u32,
    pub refusals: u32,
    /// Most GPUs booked at once during the day.
    pub peak_booked: u32,
}

impl DaySummary {
    /// Demand exceeded capacity: someone was turned away, or nothing was left to book.
    pub fn over_capacity(&self) -> bool {
        self.refusals > 0 || self.full_hours > 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySummary {
    pub from: i64,
    pub to: i64,
    pub tz: Tz,
    pub hosts: usize,
    pub gpus: u32,
    pub hours: u32,
    /// Most GPUs booked at the same moment, and the first moment it happened.
    pub peak_booked: (u32, Option<i64>),
    /// Most GPUs busy in one hour (hourly average), and that hour.
    pub peak_busy: (f64, Option<i64>),
    pub full_hours: u32,
    pub booked_gpu_hours: f64,
    pub busy_gpu_hours: f64,
    /// Booked GPU-hours whose host measured no matching use, per host and hour.
    pub booked_idle_gpu_hours: f64,
    /// Booked GPU-hours for which readings exist (the base of the idle share).
    pub booked_observed_gpu_hours: f64,
    pub refusals: u32,
    pub refused_gpu_hours: f64,
    pub refused_users: u32,
    pub days: Vec<DaySummary>,
    pub waitlist: WaitlistSummary,
    /// When peak demand is expected to pass the fleet's GPUs.
    pub outlook: forecast::Outlook,
}

/// Works the numbers out. Booked-but-idle is counted per host and hour:
/// `max(0, min(booked, measured) − busy)` GPU-minutes, so a booked idle GPU next to an unbooked
/// busy one on the same host in the same hour is not counted (the daily report counts per GPU
/// and minute).
pub fn summarize(input: &CapacityInput) -> CapacitySummary {
    let n_hours = ((input.to - input.from).max(0) / 3600) as usize;
    let gpus: u32 = input.hosts.iter().map(|h| h.1).sum();

    // Booked GPU-seconds per hour, fleet-wide and per host.
    let mut booked_fleet = vec![0u64; n_hours];
    let mut booked_host: Vec<Vec<u32>> = vec![Vec::new(); input.hosts.len()];
    let mut events: Vec<(i64, i64)> = Vec::with_capacity(input.bookings.len() * 2);
    for b in &input.bookings {
        let start = b.start.max(input.from);
        let end = b.end.min(input.to);
        if end <= start || b.host >= input.hosts.len() {
            continue;
        }
        events.push((start, i64::from(b.gpus)));
        events.push((end, -i64::from(b.gpus)));
        let per_host = &mut booked_host[b.host];
        if per_host.is_empty() {
            per_host.resize(n_hours, 0);
        }
        let first = ((start - input.from) / 3600) as usize;
        let last = ((end - 1 - input.from) / 3600) as usize;
        for h in first..=last.min(n_hours.saturating_sub(1)) {
            let h_start = input.from + h as i64 * 3600;
            let overlap = (end.min(h_start + 3600) - start.max(h_start)).max(0) as u64;
            let seconds = overlap * u64::from(b.gpus);
            booked_fleet[h] += seconds;
            per_host[h] += seconds as u32;
        }
    }

    // Peak concurrency: ends before starts at the same instant ([start, end) intervals).
    events.sort_unstable();
    let mut level = 0i64;
    let mut peak = (0u32, None);
    let mut day_peaks: Vec<(i64, u32)> = Vec::new();
    for (at, delta) in &events {
        level += delta;
        let now = level.max(0) as u32;
        if now > peak.0 {
            peak = (now, Some(*at));
        }
        day_peaks.push((*at, now));
    }

    let full = |h: usize| gpus > 0 && booked_fleet[h] >= u64::from(gpus) * 3600;
    let full_hours = (0..n_hours).filter(|h| full(*h)).count() as u32;

    let mut busy_fleet = vec![0u64; n_hours];
    let mut booked_idle_minutes = 0f64;
    let mut booked_observed_minutes = 0f64;
    for (host, usage) in input.usage.iter().enumerate() {
        for (total, busy) in busy_fleet.iter_mut().zip(&usage.busy) {
            *total += u64::from(*busy);
        }
        let Some(booked) = booked_host.get(host).filter(|b| !b.is_empty()) else {
            continue;
        };
        for (h, seconds) in booked.iter().enumerate() {
            if *seconds == 0 {
                continue;
            }
            let booked_minutes = f64::from(*seconds) / 60.0;
            let observed = f64::from(usage.observed.get(h).copied().unwrap_or(0));
            let busy = f64::from(usage.busy.get(h).copied().unwrap_or(0));
            let measured = booked_minutes.min(observed);
            booked_observed_minutes += measured;
            booked_idle_minutes += (measured - busy).max(0.0);
        }
    }
    let peak_busy = busy_fleet
        .iter()
        .enumerate()
        .map(|(h, m)| (*m as f64 / 60.0, h))
        .fold((0.0, None), |best: (f64, Option<i64>), (gpus, h)| {
            if gpus > best.0 {
                (gpus, Some(input.from + h as i64 * 3600))
            } else {
                best
            }
        });

    let mut users: Vec<&str> = input
        .refusals
        .iter()
        .map(|r| r.slack_user.as_str())
        .collect();
    users.sort_unstable();
    users.dedup();

    let days = day_starts(input.from, input.to, input.tz)
        .into_iter()
        .map(|(start, end)| {
            let hour_range = ((start - input.from) / 3600).max(0) as usize
                ..((end - input.from) / 3600).clamp(0, n_hours as i64) as usize;
            let mut peak_booked = day_peaks
                .iter()
                .filter(|(at, _)| *at >= start && *at < end)
                .map(|(_, level)| *level)
                .max()
                .unwrap_or(0);
            // A booking that began before the day and still runs holds its level all day.
            if let Some((_, carried)) = day_peaks.iter().rev().find(|(at, _)| *at < start) {
                peak_booked = peak_booked.max(*carried);
            }
            DaySummary {
                start,
                full_hours: hour_range.filter(|h| full(*h)).count() as u32,
                refusals: input
                    .refusals
                    .iter()
                    .filter(|r| r.at >= start && r.at < end)
                    .count() as u32,
                peak_booked,
            }
        })
        .collect();

    CapacitySummary {
        from: input.from,
        to: input.to,
        tz: input.tz,
        hosts: input.hosts.len(),
        gpus,
        hours: n_hours as u32,
        peak_booked: peak,
        peak_busy,
        full_hours,
        booked_gpu_hours: booked_fleet.iter().sum::<u64>() as f64 / 3600.0,
        busy_gpu_hours: busy_fleet.iter().sum::<u64>() as f64 / 60.0,
        booked_idle_gpu_hours: booked_idle_minutes / 60.0,
        booked_observed_gpu_hours: booked_observed_minutes / 60.0,
        refusals: input.refusals.len() as u32,
        refused_gpu_hours: input
            .refusals
            .iter()
            .map(|r| f64::from(r.gpus) * (r.end - r.start).max(0) as f64 / 3600.0)
            .sum(),
        refused_users: users.len() as u32,
        days,
        waitlist: WaitlistSummary::of(&input.waitlist),
        outlook: forecast::outlook(&input.weekly_peaks, f64::from(gpus), FORECAST_HORIZON_WEEKS),
    }
}

/// The job's summary of the week's report for `channel`: `queued`, or already queued before.
pub fn queued_summary(channel: &str, summary: &CapacitySummary, queued: bool) -> String {
    if queued {
        format!("capacity report queued for {channel}: {}", verdict(summary))
    } else {
        "capacity report for this week was already queued".to_owned()
    }
}

/// The plain answer: on how many days demand exceeded capacity.
pub fn verdict(s: &CapacitySummary) -> String {
    verdict_in(s, Lang::En)
}

/// [`verdict`] in `lang`.
pub fn verdict_in(s: &CapacitySummary, lang: Lang) -> String {
    let over = s.days.iter().filter(|d| d.over_capacity()).count();
    let days = s.days.len();
    if s.gpus == 0 {
        return tr!(lang, "weekly-no-gpus");
    }
    if over == 0 {
        return tr!(lang, "weekly-enough", days = days);
    }
    let idle_share = share(s.booked_idle_gpu_hours, s.booked_observed_gpu_hours);
    let hint = if idle_share >= 0.3 {
        tr!(
            lang,
            "weekly-over-hint",
            share = format!("{:.0}", idle_share * 100.0)
        )
    } else {
        String::new()
    };
    tr!(lang, "weekly-over", over = over, days = days, hint = hint)
}

pub fn build(s: &CapacitySummary) -> Reply {
    build_in(s, Lang::En)
}

/// [`build`] in `lang`: the channel's report in `[slack] channel_language`, `report week` in
/// the reader's.
pub fn build_in(s: &CapacitySummary, lang: Lang) -> Reply {
    let from_label = day_in(s.from, s.tz, lang);
    let to_label = day_in(s.to - 1, s.tz, lang);
    let verdict = verdict_in(s, lang);
    let mut blocks = vec![
        Block::Header(tr!(
            lang,
            "weekly-header",
            from = from_label.as_str(),
            to = to_label.as_str()
        )),
        Block::Section(format!("*{verdict}*")),
    ];
    let peak_at = |at: Option<i64>| {
        at.map(|t| {
            let when = when_in(t, s.to, s.tz, lang);
            format!(
                "{}{}",
                sentence_gap(lang),
                tr!(lang, "weekly-at", when = when)
            )
        })
        .unwrap_or_default()
    };
    let fleet = [
        tr!(
            lang,
            "weekly-fleet",
            hosts = s.hosts,
            gpus = s.gpus,
            hours = s.hours
        ),
        tr!(
            lang,
            "weekly-peak-demand",
            peak = s.peak_booked.0,
            gpus = s.gpus,
            at = peak_at(s.peak_booked.1)
        ),
        tr!(
            lang,
            "weekly-peak-use",
            busy = format!("{:.1}", s.peak_busy.0),
            at = peak_at(s.peak_busy.1)
        ),
        tr!(
            lang,
            "weekly-full",
            full = s.full_hours,
            hours = s.hours,
            share = pct_f(f64::from(s.full_hours), f64::from(s.hours))
        ),
        tr!(
            lang,
            "weekly-refused",
            refusals = s.refusals,
            users = s.refused_users,
            asked = hours_f(s.refused_gpu_hours)
        ),
        tr!(
            lang,
            "weekly-booked",
            booked = hours_f(s.booked_gpu_hours),
            busy = hours_f(s.busy_gpu_hours),
            idle = hours_f(s.booked_idle_gpu_hours),
            share = pct_f(s.booked_idle_gpu_hours, s.booked_observed_gpu_hours)
        ),
    ];
    blocks.push(Block::Section(fleet.join("\n")));
    // The weekly peaks are counted in weeks that end at the window's end.
    let last_week_start = tz_date(s.to - 7 * 24 * 3600, s.tz);
    blocks.push(Block::Section(tr!(
        lang,
        "weekly-forecast",
        sentence = forecast::sentence_in(&s.outlook, s.gpus, last_week_start, lang)
    )));
    let w = &s.waitlist;
    if !w.is_empty() {
        let wait = |secs: Option<i64>| {
            secs.map_or("–".to_owned(), |s| {
                maison_command::format_duration_in(chrono::Duration::seconds(s / 60 * 60), lang)
            })
        };
        let lines = [
            tr!(lang, "weekly-wait-title"),
            tr!(
                lang,
                "weekly-wait-served",
                served = w.served,
                p50 = wait(w.wait_p50),
                p90 = wait(w.wait_p90)
            ),
            tr!(
                lang,
                "weekly-wait-unserved",
                unserved = w.unserved,
                unmet = hours_f(w.unmet_gpu_hours)
            ),
            tr!(
                lang,
                "weekly-wait-offers",
                accepted = w.offers.0,
                declined = w.offers.1,
                expired = w.offers.2
            ),
            tr!(lang, "weekly-wait-idle", minutes = w.idle_gpu_minutes),
        ];
        blocks.push(Block::Section(lines.join("\n")));
    }
    // One line per day while that fits; a long window (a quarter) is summarised above only.
    if s.days.len() <= 14 {
        let header = [
            tr!(lang, "weekly-column-day"),
            tr!(lang, "weekly-column-refused"),
            tr!(lang, "weekly-column-full"),
            tr!(lang, "weekly-column-peak"),
        ];
        let rows: Vec<([String; 4], bool)> = s
            .days
            .iter()
            .map(|d| {
                let cells = [
                    day_in(d.start, s.tz, lang),
                    d.refusals.to_string(),
                    d.full_hours.to_string(),
                    format!("{}/{}", d.peak_booked, s.gpus),
                ];
                (cells, d.over_capacity())
            })
            .collect();
        let widths = column_widths(&header, rows.iter().map(|(cells, _)| cells), [10, 7, 10, 8]);
        let mut lines = vec![table_line(&header, &widths)];
        for (cells, over) in &rows {
            let arrow = if *over { "  ←" } else { "" };
            lines.push(format!("{}{arrow}", table_line(cells, &widths)));
        }
        blocks.push(Block::Section(format!("```\n{}\n```", lines.join("\n"))));
    }
    blocks.push(Block::Context(tr!(lang, "weekly-legend", tz = s.tz.name())));
    let text = tr!(
        lang,
        "weekly-text",
        from = from_label.as_str(),
        to = to_label.as_str(),
        verdict = verdict.as_str()
    );
    Reply::with_blocks(Visibility::InChannel, text, blocks)
}

/// The most GPUs booked at once in each of the `weeks` 7-day weeks of `[from, to)`, oldest
/// first: one sweep over the bookings' edges (at the same instant an end comes before a
/// start, as `[start, end)` intervals do not overlap).
pub fn weekly_peaks(spans: &[BookedSpan], from: i64, to: i64, weeks: usize) -> Vec<u32> {
    const WEEK: i64 = 7 * 24 * 3600;
    let mut peaks = vec![0u32; weeks];
    let mut edges: Vec<(i64, i64)> = Vec::with_capacity(spans.len() * 2);
    for s in spans {
        let (start, end) = (s.start.max(from), s.end.min(to));
        if start < end {
            edges.push((start, i64::from(s.gpus)));
            edges.push((end, -i64::from(s.gpus)));
        }
    }
    edges.sort_unstable();
    let week_of = |at: i64| (((at - from) / WEEK).max(0) as usize).min(weeks.saturating_sub(1));
    let mut level = 0i64;
    let mut week = 0usize;
    let mut i = 0;
    while i < edges.len() {
        let at = edges[i].0;
        let this_week = week_of(at);
        // Weeks entered since the last change hold the running level, except a week whose
        // first instant is this change itself.
        while week < this_week {
            week += 1;
            if week < this_week || at > from + week as i64 * WEEK {
                peaks[week] = peaks[week].max(level.max(0) as u32);
            }
        }
        while i < edges.len() && edges[i].0 == at {
            level += edges[i].1;
            i += 1;
        }
        peaks[this_week] = peaks[this_week].max(level.max(0) as u32);
    }
    peaks
}

/// The local date of `ts`.
fn tz_date(ts: i64, tz: Tz) -> chrono::NaiveDate {
    tz.from_utc_datetime(&utc(ts).naive_utc()).date_naive()
}

/// `[start, end)` of each local day overlapping the window.
pub fn day_starts(from: i64, to: i64, tz: Tz) -> Vec<(i64, i64)> {
    let mut days = Vec::new();
    let mut date = tz.from_utc_datetime(&utc(from).naive_utc()).date_naive();
    loop {
        let start = super::local_midnight(date, tz).max(from);
        let Some(next) = date.succ_opt() else { break };
        let end = super::local_midnight(next, tz).min(to);
        if start >= to {
            break;
        }
        if end > start {
            days.push((start, end));
        }
        date = next;
    }
    days
}

/// `Tue 24 Nov`, or `11月24日(火)`.
fn day_in(ts: i64, tz: Tz, lang: Lang) -> String {
    let at = tz.from_utc_datetime(&utc(ts).naive_utc());
    match lang {
        Lang::En => at.format("%a %-d %b").to_string(),
        Lang::Ja => format!(
            "{}月{}日({})",
            at.month(),
            at.day(),
            japanese_weekday(at.weekday())
        ),
    }
}

fn share(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 { 0.0 } else { part / whole }
}

fn pct_f(part: f64, whole: f64) -> String {
    if whole <= 0.0 {
        return "—".to_owned();
    }
    format!("{:.0}%", part / whole * 100.0)
}

fn utc(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rules::max_concurrent;

    /// The sweep agrees with counting each week on its own, on random bookings whose edges
    /// often fall exactly on week boundaries.
    #[test]
    fn weekly_peaks_match_a_week_by_week_count() {
        const WEEK: i64 = 7 * 24 * 3600;
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..300 {
            let weeks = rng.usize(1..8);
            let from = 1_000_000;
            let to = from + weeks as i64 * WEEK;
            let at = |rng: &mut fastrand::Rng| {
                let t = from - WEEK + rng.i64(0..(weeks as i64 + 2) * 7) * 24 * 3600;
                if rng.bool() { t } else { t + rng.i64(0..WEEK) }
            };
            let spans: Vec<BookedSpan> = (0..rng.usize(0..12))
                .map(|_| {
                    let (a, b) = (at(&mut rng), at(&mut rng));
                    BookedSpan {
                        host: 0,
                        gpus: rng.u32(1..5),
                        start: a.min(b),
                        end: a.max(b) + 1,
                    }
                })
                .collect();
            let intervals: Vec<(i64, i64)> = spans
                .iter()
                .flat_map(|s| std::iter::repeat_n((s.start, s.end), s.gpus as usize))
                .collect();
            let expected: Vec<u32> = (0..weeks as i64)
                .map(|w| max_concurrent(&intervals, from + w * WEEK, from + (w + 1) * WEEK))
                .collect();
            assert_eq!(weekly_peaks(&spans, from, to, weeks), expected, "{spans:?}");
        }
    }
}
