//! The reports, built from loaded data by pure functions: the daily report ([`daily`]) with
//! its heat-map chart ([`chart`]), the weekly capacity report ([`weekly`]), the days they cover
//! and how their amounts read.

pub mod canvas;
pub mod chart;
pub mod daily;
pub mod export;
pub mod forecast;
pub mod monthly;
pub mod trend_chart;
pub mod weekly;
pub mod whatif;

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;
use unicode_width::UnicodeWidthStr;

/// The weekly report covers this many days before the slot's day.
pub const CAPACITY_DAYS: u32 = 7;

/// What a report job says when there is nowhere to post.
pub const NO_CHANNEL: &str = "reports.channel is not set: no report posted";

/// UTC instant of local midnight starting `date` (the first instant of the day when midnight
/// falls in a DST gap).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) => t.timestamp(),
        chrono::LocalResult::Ambiguous(early, _) => early.timestamp(),
        chrono::LocalResult::None => {
            let one_am = date.and_hms_opt(1, 0, 0).unwrap_or_default();
            tz.from_local_datetime(&one_am)
                .earliest()
                .map_or_else(|| midnight.and_utc().timestamp(), |t| t.timestamp())
        }
    }
}

/// The local day before `slot`'s day: `[yesterday 00:00, today 00:00)`.
pub fn previous_day(slot: DateTime<Tz>) -> (i64, i64) {
    let today = slot.date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    let tz = slot.timezone();
    (local_midnight(yesterday, tz), local_midnight(today, tz))
}

/// The `days` local days before `slot`'s day.
pub fn previous_days(slot: DateTime<Tz>, days: u32) -> (i64, i64) {
    let today = slot.date_naive();
    let first = today - chrono::Duration::days(i64::from(days));
    let tz = slot.timezone();
    (local_midnight(first, tz), local_midnight(today, tz))
}

/// `text` padded to `width` terminal columns (a Japanese character takes two), on the left or
/// the right, so that a report's monospace table lines up in either language.
pub(crate) fn pad(text: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(text.width()));
    if right {
        format!("{fill}{text}")
    } else {
        format!("{text}{fill}")
    }
}

/// Each column's width: its widest cell or header, at least `minimum`.
pub(crate) fn column_widths<'a, const N: usize>(
    header: &'a [String; N],
    rows: impl Iterator<Item = &'a [String; N]>,
    minimum: [usize; N],
) -> [usize; N] {
    let mut widths = minimum;
    for cells in std::iter::once(header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.width());
        }
    }
    widths
}

/// One line of a monospace table: the first column on the left, the others on the right.
pub(crate) fn table_line<const N: usize>(cells: &[String; N], widths: &[usize; N]) -> String {
    cells
        .iter()
        .zip(widths)
        .enumerate()
        .map(|(c, (cell, width))| pad(cell, *width, c > 0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `12.5` GPU-hours from GPU-minutes.
pub fn hours(minutes: u64) -> String {
    hours_f(minutes as f64 / 60.0)
}

pub fn hours_f(hours: f64) -> String {
    // An empty `f64` sum is -0.0, which would print as "-0.0".
    let hours = hours + 0.0;
    if hours >= 100.0 {
        format!("{hours:.0}")
    } else {
        format!("{hours:.1}")
    }
}

/// `42%`, or `—` when there is nothing to divide by.
pub fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{:.0}%", part as f64 / whole as f64 * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_local_midnight_to_midnight() {
        let paris = chrono_tz::Europe::Paris;
        // Monday 30 Nov 2026, 09:00 in Paris.
        let slot = paris.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap();
        let (from, to) = previous_day(slot);
        assert_eq!(to - from, 24 * 3600);
        assert_eq!(
            paris.timestamp_opt(from, 0).unwrap().to_rfc3339(),
            "2026-11-29T00:00:00+01:00"
        );
        // The day DST ends in Europe has 25 hours.
        let slot = paris.with_ymd_and_hms(2026, 10, 26, 9, 0, 0).unwrap();
        let (from, to) = previous_day(slot);
        assert_eq!(to - from, 25 * 3600);
        let (from, to) = previous_days(paris.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap(), 7);
        assert_eq!(to - from, 7 * 24 * 3600);
    }

    #[test]
    fn amounts_read_naturally() {
        assert_eq!(hours(90), "1.5");
        assert_eq!(hours(60 * 250), "250");
        assert_eq!(pct(1, 3), "33%");
        assert_eq!(pct(1, 0), "—");
        assert_eq!(hours_f(std::iter::empty::<f64>().sum()), "0.0");
    }
}
