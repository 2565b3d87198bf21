//! `maison-bot report export --format csv`: for finance, one row per day, host, person and
//! project with GPU-hours booked and busy, energy and cost. The numbers are the monthly
//! report's, attributed the same way ([`monthly::attribute`]), day by day.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::monthly::{self, BookingUse, HolderUse, Price};

/// One local day of the export: its date and `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub from: i64,
    pub to: i64,
}

/// Everything the export needs, as the store loads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportInput {
    pub days: Vec<Day>,
    pub hosts: Vec<String>,
    pub bookings: Vec<BookingUse>,
    /// Measured use per day (an index into `days`) and holder.
    pub daily: Vec<(usize, HolderUse)>,
    pub price: Option<Price>,
}

/// The header line's columns.
pub const COLUMNS: [&str; 9] = [
    "day",
    "host",
    "user",
    "project",
    "booked_gpu_hours",
    "busy_gpu_hours",
    "kwh",
    "cost",
    "currency",
];

/// Writes the CSV: days in order, then host, person and project. A person's empty cell is
/// energy drawn with no container on the GPUs; an empty project is none. Without a price the
/// cost and currency cells are empty.
pub fn write_csv<W: std::io::Write>(input: &ExportInput, out: W) -> Result<usize, csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    let mut rows = 0;
    // One pass to sort bookings and measured use by day, instead of one pass per day.
    let mut bookings_of: Vec<Vec<BookingUse>> = vec![Vec::new(); input.days.len()];
    for b in &input.bookings {
        for (i, day) in input.days.iter().enumerate() {
            if b.start < day.to && b.end > day.from {
                bookings_of[i].push(b.clone());
            }
        }
    }
    let mut held_of: Vec<Vec<&HolderUse>> = vec![Vec::new(); input.days.len()];
    for (day, h) in &input.daily {
        if let Some(held) = held_of.get_mut(*day) {
            held.push(h);
        }
    }
    for (day, (bookings, held)) in input.days.iter().zip(bookings_of.iter().zip(&held_of)) {
        // The day's measured use, summed per host and holder before the split.
        let mut sums: BTreeMap<(usize, Option<&str>), (u64, u64)> = BTreeMap::new();
        for h in held {
            let sum = sums.entry((h.host, h.user.as_deref())).or_default();
            sum.0 += h.busy_minutes;
            sum.1 += h.watt_minutes;
        }
        let holders: Vec<HolderUse> = sums
            .into_iter()
            .map(|((host, user), (busy, watts))| HolderUse {
                host,
                user: user.map(str::to_owned),
                busy_minutes: busy,
                watt_minutes: watts,
            })
            .collect();
        let date = day.date.to_string();
        for ((host, user, project), usage) in
            monthly::attribute(day.from, day.to, bookings, &holders)
        {
            let kwh = monthly::kwh(usage.watt_minutes);
            let (cost, currency) = match &input.price {
                Some(p) => (format!("{:.4}", kwh * p.per_kwh), p.currency.as_str()),
                None => (String::new(), ""),
            };
            writer.write_record([
                date.as_str(),
                input.hosts.get(host).map_or("", String::as_str),
                user.as_deref().unwrap_or(""),
                project.as_deref().unwrap_or(""),
                &format!("{:.4}", usage.booked_gpu_seconds / 3600.0),
                &format!("{:.4}", usage.busy_minutes / 60.0),
                &format!("{kwh:.4}"),
                &cost,
                currency,
            ])?;
            rows += 1;
        }
    }
    writer.flush()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_day_host_person_and_project() {
        let day = |d: u32, from: i64| Day {
            date: NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
            from,
            to: from + 86_400,
        };
        let input = ExportInput {
            days: vec![day(1, 0), day(2, 86_400)],
            hosts: vec!["gpu01".into()],
            // Two hours each side of midnight.
            bookings: vec![BookingUse {
                host: 0,
                user: "U1".into(),
                project: Some("vision".into()),
                gpus: 2,
                start: 86_400 - 7200,
                end: 86_400 + 7200,
            }],
            daily: vec![
                (
                    0,
                    HolderUse {
                        host: 0,
                        user: Some("U1".into()),
                        busy_minutes: 120,
                        watt_minutes: 30_000,
                    },
                ),
                (
                    1,
                    HolderUse {
                        host: 0,
                        user: None,
                        busy_minutes: 0,
                        watt_minutes: 6_000,
                    },
                ),
            ],
            price: Some(Price {
                per_kwh: 0.5,
                currency: "EUR".into(),
            }),
        };
        let mut out = Vec::new();
        let rows = write_csv(&input, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(rows, 3, "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "2026-11-01,gpu01,U1,vision,4.0000,2.0000,0.5000,0.2500,EUR"
        );
        assert_eq!(
            lines[2],
            "2026-11-02,gpu01,,,0.0000,0.0000,0.1000,0.0500,EUR"
        );
        assert_eq!(
            lines[3],
            "2026-11-02,gpu01,U1,vision,4.0000,0.0000,0.0000,0.0000,EUR"
        );
    }
}
