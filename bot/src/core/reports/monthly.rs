//! The monthly capacity report ("what does the fleet cost, who uses it, when do we buy?"):
//! the capacity report's numbers over a calendar month ([`super::weekly::summarize`]), plus
//! unmet demand, energy and cost, the split by project and by person, and the weekly-peak
//! series with its forecast for the chart.
//!
//! Who used what ([`attribute`]), shared with the CSV export:
//! * **booked** GPU-hours come from the bookings, each counted for its own project;
//! * **busy** GPU-hours and **energy** come from the hourly rollups, per host and per holder
//!   (the owner of the container that held the GPU). A person's busy time and energy on a host
//!   are split over their projects on that host by booked GPU-hours there; with no booking on
//!   that host they count for no project. Energy drawn while no container held a GPU (idle
//!   draw, or processes outside containers) counts for no one.
//!
//! Pure: the store loads [`MonthlyInput`]; [`summarize`] does the arithmetic; [`build`] writes
//! the message.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use maison_command::Lang;

use super::forecast::{self, Predicted};
use super::trend_chart::TrendChart;
use super::weekly::{self, CapacityInput, CapacitySummary};
use super::{hours_f, pad};
use crate::core::message::Attachment;
use crate::core::render::{Block, Reply, Visibility};
use crate::tr;

/// How far ahead the chart's forecast goes.
pub const CHART_HORIZON_WEEKS: usize = 12;

/// Rows of the by-person table; the rest are summed in one line.
const TOP_PEOPLE: usize = 10;

/// One booking's share of the month: who, for which project, on which host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingUse {
    /// Index into the hosts of [`CapacityInput::hosts`].
    pub host: usize,
    /// Slack user id.
    pub user: String,
    pub project: Option<String>,
    pub gpus: u32,
    pub start: i64,
    pub end: i64,
}

/// What the rollups measured for one holder on one host over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderUse {
    pub host: usize,
    /// Slack user id of the container's owner; `None` when no container held the GPU.
    pub user: Option<String>,
    pub busy_minutes: u64,
    /// Sum over GPU-minutes of the minute's average draw, in watts (÷ 60 000 = kWh).
    pub watt_minutes: u64,
}

/// The price of energy, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub per_kwh: f64,
    pub currency: String,
}

/// What [`summarize`] needs, as the store loads it.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyInput {
    /// The first day of the month reported.
    pub month: NaiveDate,
    /// The month's capacity figures; `weekly_peaks` covers the chart's months.
    pub capacity: CapacityInput,
    /// The first day (Monday) of the week of the last entry of `capacity.weekly_peaks`.
    pub last_week_start: NaiveDate,
    pub bookings: Vec<BookingUse>,
    pub holders: Vec<HolderUse>,
    /// Watt-minutes per host (index as `capacity.hosts`), idle draw included.
    pub host_watt_minutes: Vec<u64>,
    pub price: Option<Price>,
}

/// One line of the split: a host, a project or a person.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Share {
    pub name: String,
    pub booked_gpu_hours: f64,
    pub busy_gpu_hours: f64,
    pub kwh: f64,
}

/// Usage keyed by host, person and project, before grouping: what [`attribute`] returns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Usage {
    pub booked_gpu_seconds: f64,
    pub busy_minutes: f64,
    pub watt_minutes: f64,
}

/// `(host index, user, project)` → usage.
pub type UsageKey = (usize, Option<String>, Option<String>);

/// Attributes bookings and measured use in `[from, to)` to host, person and project (see the
/// module documentation for the rule).
pub fn attribute(
    from: i64,
    to: i64,
    bookings: &[BookingUse],
    holders: &[HolderUse],
) -> BTreeMap<UsageKey, Usage> {
    let mut usage: BTreeMap<UsageKey, Usage> = BTreeMap::new();
    // Booked GPU-seconds per (host, user), per project: the weights of the split.
    let mut weights: BTreeMap<(usize, &str), BTreeMap<Option<&str>, f64>> = BTreeMap::new();
    for b in bookings {
        let seconds = (b.end.min(to) - b.start.max(from)).max(0) as f64 * f64::from(b.gpus);
        if seconds <= 0.0 {
            continue;
        }
        usage
            .entry((b.host, Some(b.user.clone()), b.project.clone()))
            .or_default()
            .booked_gpu_seconds += seconds;
        *weights
            .entry((b.host, b.user.as_str()))
            .or_default()
            .entry(b.project.as_deref())
            .or_default() += seconds;
    }
    for h in holders {
        let split = h
            .user
            .as_deref()
            .and_then(|user| weights.get(&(h.host, user)));
        match split {
            Some(projects) => {
                let total: f64 = projects.values().sum();
                for (project, weight) in projects {
                    let share = weight / total;
                    let entry = usage
                        .entry((h.host, h.user.clone(), project.map(str::to_owned)))
                        .or_default();
                    entry.busy_minutes += h.busy_minutes as f64 * share;
                    entry.watt_minutes += h.watt_minutes as f64 * share;
                }
            }
            None => {
                let entry = usage.entry((h.host, h.user.clone(), None)).or_default();
                entry.busy_minutes += h.busy_minutes as f64;
                entry.watt_minutes += h.watt_minutes as f64;
            }
        }
    }
    usage
}

/// kWh from watt-minutes.
pub fn kwh(watt_minutes: f64) -> f64 {
    watt_minutes / 60_000.0
}

#[derive(Debug, Clone, PartialEq)]
pub struct MonthlySummary {
    pub month: NaiveDate,
    pub capacity: CapacitySummary,
    /// GPUs × hours of the month.
    pub capacity_gpu_hours: f64,
    /// Refused GPU-hours plus GPU-hours of wait-list requests that left without GPUs.
    pub unmet_gpu_hours: f64,
    pub kwh: f64,
    /// Energy no container was holding the GPUs for (idle draw, processes outside containers).
    pub unattributed_kwh: f64,
    pub by_host: Vec<Share>,
    pub by_project: Vec<Share>,
    pub by_person: Vec<Share>,
    pub price: Option<Price>,
    /// Chart series: observed weekly peaks (oldest first) and the Monday of each week.
    pub week_starts: Vec<NaiveDate>,
    pub weekly_peaks: Vec<f64>,
    pub forecast: Vec<Predicted>,
}

/// The name a split line shows for "no project".
pub const NO_PROJECT: &str = "(no project)";
/// The name a split line shows for energy no container was holding the GPUs for.
pub const NO_CONTAINER: &str = "(no container)";

pub fn summarize(input: &MonthlyInput) -> MonthlySummary {
    let capacity = weekly::summarize(&input.capacity);
    let usage = attribute(
        input.capacity.from,
        input.capacity.to,
        &input.bookings,
        &input.holders,
    );
    let group = |key: &dyn Fn(&UsageKey) -> String| {
        let mut shares: BTreeMap<String, Share> = BTreeMap::new();
        for (k, u) in &usage {
            let name = key(k);
            let share = shares.entry(name.clone()).or_insert_with(|| Share {
                name,
                ..Share::default()
            });
            share.booked_gpu_hours += u.booked_gpu_seconds / 3600.0;
            share.busy_gpu_hours += u.busy_minutes / 60.0;
            share.kwh += kwh(u.watt_minutes);
        }
        let mut shares: Vec<Share> = shares.into_values().collect();
        shares.sort_by(|a, b| {
            b.booked_gpu_hours
                .total_cmp(&a.booked_gpu_hours)
                .then(b.kwh.total_cmp(&a.kwh))
                .then(a.name.cmp(&b.name))
        });
        shares
    };
    let by_project = group(&|(_, user, project)| match (user, project) {
        (None, _) => NO_CONTAINER.to_owned(),
        (Some(_), Some(project)) => project.clone(),
        (Some(_), None) => NO_PROJECT.to_owned(),
    });
    let by_person: Vec<Share> = group(&|(_, user, _)| match user {
        Some(user) => format!("<@{user}>"),
        None => NO_CONTAINER.to_owned(),
    });
    let mut booked_by_host = vec![0.0; input.capacity.hosts.len()];
    for ((host, _, _), u) in &usage {
        if let Some(booked) = booked_by_host.get_mut(*host) {
            *booked += u.booked_gpu_seconds / 3600.0;
        }
    }
    let mut by_host: Vec<Share> = input
        .capacity
        .hosts
        .iter()
        .enumerate()
        .map(|(i, (name, _))| Share {
            name: name.clone(),
            booked_gpu_hours: booked_by_host[i],
            busy_gpu_hours: input.capacity.usage.get(i).map_or(0.0, |u| {
                u.busy.iter().map(|m| f64::from(*m)).sum::<f64>() / 60.0
            }),
            kwh: kwh(input.host_watt_minutes.get(i).copied().unwrap_or(0) as f64),
        })
        .collect();
    by_host.sort_by(|a, b| b.kwh.total_cmp(&a.kwh).then(a.name.cmp(&b.name)));
    let total_kwh: f64 = by_host.iter().map(|h| h.kwh).sum();
    let attributed: f64 = usage
        .iter()
        .filter(|((_, user, _), _)| user.is_some())
        .map(|(_, u)| kwh(u.watt_minutes))
        .sum();

    let peaks = &input.capacity.weekly_peaks;
    let week_starts = (0..peaks.len())
        .map(|i| input.last_week_start - chrono::Duration::weeks((peaks.len() - 1 - i) as i64))
        .collect();
    let forecast = forecast::fit(peaks, CHART_HORIZON_WEEKS)
        .map(|f| f.ahead)
        .unwrap_or_default();
    MonthlySummary {
        month: input.month,
        capacity_gpu_hours: f64::from(capacity.gpus) * f64::from(capacity.hours),
        unmet_gpu_hours: capacity.refused_gpu_hours + capacity.waitlist.unmet_gpu_hours,
        kwh: total_kwh,
        unattributed_kwh: (total_kwh - attributed).max(0.0),
        capacity,
        by_host,
        by_project,
        by_person,
        price: input.price.clone(),
        week_starts,
        weekly_peaks: peaks.clone(),
        forecast,
    }
}

/// `1,234.5 kWh`-style energy: one decimal below 100, none above.
fn energy(kwh: f64) -> String {
    // An empty `f64` sum is -0.0, which would print as "-0.0".
    let kwh = kwh + 0.0;
    if kwh >= 100.0 {
        format!("{kwh:.0} kWh")
    } else {
        format!("{kwh:.1} kWh")
    }
}

fn money(amount: f64, price: &Price) -> String {
    format!("{:.2} {}", amount + 0.0, price.currency)
}

fn pct(part: f64, whole: f64) -> String {
    if whole <= 0.0 {
        "—".to_owned()
    } else {
        format!("{:.0}%", part / whole * 100.0)
    }
}

/// The month as the report names it: `November 2026`.
pub fn month_label(month: NaiveDate) -> String {
    month_label_in(month, Lang::En)
}

/// [`month_label`] in `lang`: `2026年11月`.
pub fn month_label_in(month: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::En => month.format("%B %Y").to_string(),
        Lang::Ja => format!("{}年{}月", month.year(), month.month()),
    }
}

/// The first day of the calendar month before the one `day` is in.
pub fn previous_month(day: NaiveDate) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day);
    let last_of_previous = first.pred_opt().unwrap_or(first);
    last_of_previous.with_day(1).unwrap_or(last_of_previous)
}

/// Whether `day` is the first Monday-to-Friday day of its month: the day the scheduled
/// report goes out.
pub fn is_first_working_day(day: NaiveDate) -> bool {
    let working = |d: NaiveDate| d.weekday().number_from_monday() <= 5;
    working(day) && (1..day.day()).all(|d| !day.with_day(d).is_some_and(working))
}

/// A table of shares in a code block, at most `rows` lines plus one for the rest. Widths are
/// display columns, so Japanese headers keep the table aligned.
fn table(title: &str, shares: &[Share], price: Option<&Price>, rows: usize, lang: Lang) -> String {
    let cost_header = price.map_or(String::new(), |p| {
        format!(" {}", pad(&p.currency, 10, true))
    });
    let mut lines = vec![format!(
        "{} {} {} {}{cost_header}",
        pad(title, 18, false),
        pad(&tr!(lang, "monthly-column-booked"), 9, true),
        pad(&tr!(lang, "monthly-column-busy"), 9, true),
        pad("kWh", 9, true)
    )];
    let line = |name: &str, s: &Share| {
        let cost = match price {
            Some(p) => format!(" {:>10.2}", s.kwh * p.per_kwh + 0.0),
            None => String::new(),
        };
        let name = match name {
            NO_PROJECT => tr!(lang, "monthly-no-project"),
            NO_CONTAINER => tr!(lang, "monthly-no-container"),
            name => name.chars().take(18).collect(),
        };
        format!(
            "{} {:>9} {:>9} {:>9.1}{cost}",
            pad(&name, 18, false),
            hours_f(s.booked_gpu_hours),
            hours_f(s.busy_gpu_hours),
            s.kwh + 0.0
        )
    };
    for s in shares.iter().take(rows) {
        lines.push(line(&s.name, s));
    }
    if shares.len() > rows {
        let rest = shares[rows..].iter().fold(Share::default(), |mut acc, s| {
            acc.booked_gpu_hours += s.booked_gpu_hours;
            acc.busy_gpu_hours += s.busy_gpu_hours;
            acc.kwh += s.kwh;
            acc
        });
        let others = tr!(
            lang,
            "monthly-others",
            count = shares.len().saturating_sub(rows)
        );
        lines.push(line(&others, &rest));
    }
    format!("```\n{}\n```", lines.join("\n"))
}

/// The message. Person lines mention people (`<@U…>`), which Slack shows as names.
pub fn build(s: &MonthlySummary) -> Reply {
    build_in(s, Lang::En)
}

/// [`build`] in `lang`: the channel's report in `[slack] channel_language`, `report month` in
/// the reader's.
pub fn build_in(s: &MonthlySummary, lang: Lang) -> Reply {
    let c = &s.capacity;
    let label = month_label_in(s.month, lang);
    let verdict = weekly::verdict_in(c, lang);
    let mut blocks = vec![
        Block::Header(tr!(lang, "monthly-header", month = label.as_str())),
        Block::Section(format!("*{verdict}*")),
    ];
    let cost = |kwh: f64| {
        let comma = match lang {
            Lang::En => ", ",
            Lang::Ja => "、",
        };
        s.price
            .as_ref()
            .map(|p| format!("{comma}{}", money(kwh * p.per_kwh, p)))
            .unwrap_or_default()
    };
    let waited = if c.waitlist.served > 0 {
        let p50 = c.waitlist.wait_p50.unwrap_or(0);
        tr!(
            lang,
            "monthly-waited",
            count = c.waitlist.served,
            median =
                maison_command::format_duration_in(chrono::Duration::seconds(p50 / 60 * 60), lang)
        )
    } else {
        String::new()
    };
    let summary = [
        tr!(
            lang,
            "monthly-fleet",
            hosts = c.hosts,
            gpus = c.gpus,
            capacity = hours_f(s.capacity_gpu_hours)
        ),
        tr!(
            lang,
            "monthly-booked",
            booked = hours_f(c.booked_gpu_hours),
            share = pct(c.booked_gpu_hours, s.capacity_gpu_hours),
            busy = hours_f(c.busy_gpu_hours),
            busy_share = pct(c.busy_gpu_hours, s.capacity_gpu_hours)
        ),
        tr!(
            lang,
            "monthly-idle",
            idle = hours_f(c.booked_idle_gpu_hours),
            share = pct(c.booked_idle_gpu_hours, c.booked_observed_gpu_hours)
        ),
        tr!(lang, "monthly-peak", peak = c.peak_booked.0, gpus = c.gpus),
        tr!(
            lang,
            "monthly-unmet",
            unmet = hours_f(s.unmet_gpu_hours),
            refused = hours_f(c.refused_gpu_hours),
            left = hours_f(c.waitlist.unmet_gpu_hours),
            waited = waited
        ),
        tr!(
            lang,
            "monthly-energy",
            energy = energy(s.kwh),
            cost = cost(s.kwh),
            unattributed = energy(s.unattributed_kwh)
        ),
    ];
    blocks.push(Block::Section(summary.join("\n")));
    let last_week = s.week_starts.last().copied().unwrap_or(s.month);
    blocks.push(Block::Section(tr!(
        lang,
        "weekly-forecast",
        sentence = forecast::sentence_in(&c.outlook, c.gpus, last_week, lang)
    )));
    let price = s.price.as_ref();
    if !s.by_project.is_empty() {
        blocks.push(Block::Section(format!(
            "{}\n{}",
            tr!(lang, "monthly-by-project"),
            table(
                &tr!(lang, "monthly-column-project"),
                &s.by_project,
                price,
                TOP_PEOPLE,
                lang
            )
        )));
    }
    if !s.by_person.is_empty() {
        // Mentions inside a code block would show raw ids: one line each instead.
        let mut lines: Vec<String> = s
            .by_person
            .iter()
            .take(TOP_PEOPLE)
            .map(|p| {
                if p.name == NO_CONTAINER {
                    return tr!(
                        lang,
                        "monthly-no-container-line",
                        name = tr!(lang, "monthly-no-container"),
                        energy = energy(p.kwh),
                        cost = cost(p.kwh)
                    );
                }
                tr!(
                    lang,
                    "monthly-person-line",
                    name = p.name.as_str(),
                    booked = hours_f(p.booked_gpu_hours),
                    busy = hours_f(p.busy_gpu_hours),
                    energy = energy(p.kwh),
                    cost = cost(p.kwh)
                )
            })
            .collect();
        if s.by_person.len() > TOP_PEOPLE {
            lines.push(tr!(
                lang,
                "monthly-and-more",
                count = s.by_person.len().saturating_sub(TOP_PEOPLE)
            ));
        }
        blocks.push(Block::Section(format!(
            "{}\n{}",
            tr!(lang, "monthly-by-person"),
            lines.join("\n")
        )));
    }
    if !s.by_host.is_empty() {
        blocks.push(Block::Section(format!(
            "{}\n{}",
            tr!(lang, "monthly-by-host"),
            table(
                &tr!(lang, "monthly-column-host"),
                &s.by_host,
                price,
                TOP_PEOPLE,
                lang
            )
        )));
    }
    let pricing = match price {
        Some(p) => tr!(
            lang,
            "monthly-priced",
            price = p.per_kwh.to_string(),
            currency = p.currency.as_str()
        ),
        None => tr!(lang, "monthly-unpriced"),
    };
    blocks.push(Block::Context(tr!(
        lang,
        "monthly-legend",
        pricing = pricing
    )));
    let text = tr!(
        lang,
        "monthly-text",
        month = label.as_str(),
        verdict = verdict.as_str()
    );
    Reply::with_blocks(Visibility::InChannel, text, blocks)
}

/// What the chart draws: the weekly peaks, the fleet's GPUs and the forecast.
pub fn trend(s: &MonthlySummary) -> TrendChart {
    TrendChart {
        week_starts: s.week_starts.clone(),
        peaks: s.weekly_peaks.clone(),
        capacity: f64::from(s.capacity.gpus),
        forecast: s.forecast.clone(),
    }
}

/// The chart as the channel's message carries it, titled in the channel's language.
pub fn chart_attachment(month: NaiveDate, png: Vec<u8>, lang: Lang) -> Attachment {
    Attachment {
        filename: format!("maison-capacity-{}.png", month.format("%Y-%m")),
        title: tr!(
            lang,
            "monthly-chart-title",
            month = month_label_in(month, lang)
        ),
        bytes: png,
    }
}

/// The job's summary of the month's report for `channel`.
pub fn queued_summary(channel: &str, s: &MonthlySummary, queued: bool) -> String {
    if queued {
        format!(
            "monthly capacity report for {} queued for {channel}",
            month_label(s.month)
        )
    } else {
        format!(
            "monthly capacity report for {} was already queued",
            month_label(s.month)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(
        host: usize,
        user: &str,
        project: Option<&str>,
        gpus: u32,
        start: i64,
        end: i64,
    ) -> BookingUse {
        BookingUse {
            host,
            user: user.to_owned(),
            project: project.map(str::to_owned),
            gpus,
            start,
            end,
        }
    }

    #[test]
    fn use_is_split_over_a_persons_projects_by_booked_hours() {
        let bookings = [
            booking(0, "U1", Some("vision"), 2, 0, 3 * 3600),
            booking(0, "U1", Some("speech"), 1, 0, 3 * 3600),
            // Clipped to the window.
            booking(0, "U2", None, 1, -3600, 3600),
        ];
        let holders = [
            HolderUse {
                host: 0,
                user: Some("U1".into()),
                busy_minutes: 300,
                watt_minutes: 600_000,
            },
            HolderUse {
                host: 1,
                user: Some("U1".into()),
                busy_minutes: 60,
                watt_minutes: 60_000,
            },
            HolderUse {
                host: 0,
                user: None,
                busy_minutes: 0,
                watt_minutes: 120_000,
            },
        ];
        let usage = attribute(0, 4 * 3600, &bookings, &holders);
        let get = |host: usize, user: Option<&str>, project: Option<&str>| {
            usage
                .get(&(host, user.map(str::to_owned), project.map(str::to_owned)))
                .cloned()
                .unwrap_or_default()
        };
        let vision = get(0, Some("U1"), Some("vision"));
        assert_eq!(vision.booked_gpu_seconds, 6.0 * 3600.0);
        assert!((vision.busy_minutes - 200.0).abs() < 1e-9);
        assert!((vision.watt_minutes - 400_000.0).abs() < 1e-6);
        let speech = get(0, Some("U1"), Some("speech"));
        assert!((speech.busy_minutes - 100.0).abs() < 1e-9);
        // No booking on host 1: no project.
        assert_eq!(get(1, Some("U1"), None).busy_minutes, 60.0);
        assert_eq!(get(0, Some("U2"), None).booked_gpu_seconds, 3600.0);
        assert_eq!(get(0, None, None).watt_minutes, 120_000.0);
        // Nothing is lost or made up by the split.
        let watts: f64 = usage.values().map(|u| u.watt_minutes).sum();
        assert!((watts - 780_000.0).abs() < 1e-6);
    }

    #[test]
    fn first_working_days_and_previous_months() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // 1 Dec 2026 is a Tuesday; 1 Nov 2026 a Sunday; 1 Aug 2026 a Saturday.
        assert!(is_first_working_day(d(2026, 12, 1)));
        assert!(!is_first_working_day(d(2026, 12, 2)));
        assert!(!is_first_working_day(d(2026, 11, 1)));
        assert!(is_first_working_day(d(2026, 11, 2)));
        assert!(!is_first_working_day(d(2026, 8, 2)));
        assert!(is_first_working_day(d(2026, 8, 3)));
        assert_eq!(previous_month(d(2026, 12, 5)), d(2026, 11, 1));
        assert_eq!(previous_month(d(2027, 1, 1)), d(2026, 12, 1));
    }

    #[test]
    fn energy_reads_naturally() {
        assert_eq!(energy(12.345), "12.3 kWh");
        assert_eq!(energy(1234.4), "1234 kWh");
        assert_eq!(kwh(60_000.0), 1.0);
    }
}
