//! Loading what capacity planning needs: the monthly report ([`load_monthly`]), the per-day
//! export ([`load_usage`]) and the demand the what-if replays ([`load_demand`]).
//!
//! Like the other reports, sums are done by the database per host (one range of the rollups'
//! primary key each, several hosts in flight), and only small results travel.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;
use futures::{StreamExt, TryStreamExt};
use sea_orm::{ConnectionTrait, DbErr};

use super::Db;
use super::reports::{
    bookable_hosts, bookings_with_people, host_metric_ids, load_capacity_with_history,
    metric_owner_names,
};
use super::sql::{get, stmt};
use crate::config::Config;
use crate::core::gpus::parse_gpu_list;
use crate::core::reports::export::{Day, ExportInput};
use crate::core::reports::local_midnight;
use crate::core::reports::monthly::{BookingUse, HolderUse, MonthlyInput, Price};
use crate::core::reports::whatif::{Demand, DemandKind};

/// Per-host rollup queries in flight at once.
const PARALLEL_HOST_QUERIES: usize = 4;

/// Weeks of weekly peaks the monthly chart shows (and the forecast reads the last 26 of).
pub const CHART_WEEKS: usize = 52;

/// The price of energy, from `[reports]`.
pub fn price(config: &Config) -> Option<Price> {
    config.reports.price_per_kwh.map(|per_kwh| Price {
        per_kwh,
        currency: config.reports.currency.clone(),
    })
}

/// `[from, to)` of the calendar month starting on `month` (its first day), local midnights.
pub fn month_window(month: NaiveDate, tz: Tz) -> (i64, i64) {
    let next = if month.month() == 12 {
        NaiveDate::from_ymd_opt(month.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(month.year(), month.month() + 1, 1)
    }
    .unwrap_or(month);
    (local_midnight(month, tz), local_midnight(next, tz))
}

/// Loads the calendar month starting on `month` for the monthly report.
pub async fn load_monthly(
    db: &Db,
    config: &Config,
    month: NaiveDate,
    tz: Tz,
) -> anyhow::Result<MonthlyInput> {
    let (from, to) = month_window(month, tz);
    let hosts = bookable_hosts(db, config).await?;
    // The capacity figures and the use by holder read different tables: both at once.
    let (capacity, usage) = futures::try_join!(
        load_capacity_with_history(db, config, from, to, tz, CHART_WEEKS),
        load_usage(db, &hosts, from, to)
    )?;
    let last_week_start = tz
        .timestamp_opt(to - 7 * 24 * 3600, 0)
        .single()
        .map_or(month, |t| t.date_naive());
    Ok(MonthlyInput {
        month,
        last_week_start,
        bookings: usage.bookings,
        holders: usage.holders.into_iter().map(|(_, h)| h).collect(),
        host_watt_minutes: usage.host_watt_minutes,
        price: price(config),
        capacity,
    })
}

/// Bookings and measured use over a window, by host, person and (for the export) day.
#[derive(Debug, Clone, Default)]
pub struct LoadedUsage {
    pub bookings: Vec<BookingUse>,
    /// With the index of the day each row's sums belong to (0 when summed over the window).
    pub holders: Vec<(usize, HolderUse)>,
    pub host_watt_minutes: Vec<u64>,
}

/// Bookings with their people and projects, and the rollups summed per host and holder over
/// `[from, to)`.
pub async fn load_usage(
    db: &Db,
    hosts: &[(String, u32)],
    from: i64,
    to: i64,
) -> anyhow::Result<LoadedUsage> {
    load_usage_by(db, hosts, &[from, to]).await
}

/// Bookings and the rollups summed per host, holder and day; `bounds` are the days' edges
/// (`n + 1` instants for `n` days).
async fn load_usage_by(
    db: &Db,
    hosts: &[(String, u32)],
    bounds: &[i64],
) -> anyhow::Result<LoadedUsage> {
    let (Some(&from), Some(&to)) = (bounds.first(), bounds.last()) else {
        return Ok(LoadedUsage::default());
    };
    let index: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.0.as_str(), i))
        .collect();
    let bookings = bookings_with_people(db, &index, from, to).await?;
    let owners = metric_owner_names(db).await?;
    let ids = host_metric_ids(db, hosts).await?;
    let per_host: Vec<(Vec<(usize, HolderUse)>, u64)> =
        futures::stream::iter(ids.into_iter().enumerate().map(|(host, id)| {
            let owners = &owners;
            async move {
                match id {
                    Some(id) => host_use(db, host, id, bounds, owners).await,
                    None => Ok((Vec::new(), 0)),
                }
            }
        }))
        .buffered(PARALLEL_HOST_QUERIES)
        .try_collect()
        .await?;
    let mut usage = LoadedUsage {
        bookings,
        ..LoadedUsage::default()
    };
    for (holders, watts) in per_host {
        usage.holders.extend(holders);
        usage.host_watt_minutes.push(watts);
    }
    Ok(usage)
}

/// One host's busy GPU-minutes and watt-minutes per holder and day (days bounded by
/// `bounds`), and the host's total watt-minutes. The days are told apart in SQL, so a month
/// comes back as one row per holder and day rather than per hour: local days are not all 24
/// hours long, hence the `CASE` over their edges rather than a division.
async fn host_use(
    db: &Db,
    host: usize,
    host_id: i32,
    bounds: &[i64],
    owners: &HashMap<i32, String>,
) -> Result<(Vec<(usize, HolderUse)>, u64), DbErr> {
    let (from, to) = (bounds[0], bounds[bounds.len() - 1]);
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let day = if bounds.len() <= 2 {
        "0".to_owned()
    } else {
        let mut case = "CASE".to_owned();
        for (i, edge) in bounds[1..bounds.len() - 1].iter().enumerate() {
            case.push_str(&format!(" WHEN g.hour < ? THEN {i}"));
            values.push((*edge).into());
        }
        case.push_str(&format!(" ELSE {} END", bounds.len() - 2));
        case
    };
    values.extend([host_id.into(), from.into(), to.into()]);
    let rows = db
        .reader()
        .query_all_raw(stmt(
            db.backend(),
            &format!(
                "SELECT CAST({day} AS BIGINT), g.holder, CAST(SUM(g.busy_minutes) AS BIGINT), \
                 CAST(SUM(g.power_sum) AS BIGINT) FROM gpu_hours g \
                 WHERE g.host_id = ? AND g.hour >= ? AND g.hour < ? GROUP BY 1, 2"
            ),
            values,
        ))
        .await?;
    let mut holders = Vec::with_capacity(rows.len());
    let mut watts = 0u64;
    for r in &rows {
        let day = get::<i64>(r, 0)?.max(0) as usize;
        let holder: i32 = get(r, 1)?;
        let watt_minutes = get::<i64>(r, 3)?.max(0) as u64;
        watts += watt_minutes;
        holders.push((
            day,
            HolderUse {
                host,
                user: owners.get(&holder).cloned(),
                busy_minutes: get::<i64>(r, 2)?.max(0) as u64,
                watt_minutes,
            },
        ));
    }
    Ok((holders, watts))
}

/// The fleet's bookable hosts (GPUs each) and the demand of `[from, to)` for the what-if:
/// bookings that happened (those the wait-list made count as waited demand instead), refused
/// requests and wait-list requests, each with its host as an index into the hosts.
pub async fn load_demand(
    db: &Db,
    config: &Config,
    from: i64,
    to: i64,
) -> anyhow::Result<(Vec<u32>, Vec<Demand>)> {
    let hosts = bookable_hosts(db, config).await?;
    let index: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.0.as_str(), i))
        .collect();
    let backend = db.backend();
    let mut demand = Vec::new();
    let booked = db
        .reader()
        .query_all_raw(stmt(
            backend,
            "SELECT b.host, b.gpus, b.start_at, b.end_at, b.created_at FROM bookings b \
             WHERE b.cancelled_at IS NULL AND b.start_at < ? AND b.end_at > ? \
             AND b.id NOT IN (SELECT booking_id FROM wait_offers) \
             AND b.id NOT IN (SELECT booking_id FROM wait_requests WHERE booking_id IS NOT NULL)",
            vec![to.into(), from.into()],
        ))
        .await?;
    for r in &booked {
        let host: String = get(r, 0)?;
        let Some(host) = index.get(host.as_str()) else {
            continue;
        };
        let gpus: String = get(r, 1)?;
        let (start, end): (i64, i64) = (get(r, 2)?, get(r, 3)?);
        demand.push(Demand {
            kind: DemandKind::Booked { host: *host },
            gpus: parse_gpu_list(&gpus).len() as u32,
            asked_at: get::<i64>(r, 4)?.min(start),
            start,
            length: end - start,
        });
    }
    let refused = db
        .reader()
        .query_all_raw(stmt(
            backend,
            "SELECT at, host, gpus, start_at, end_at FROM booking_refusals \
             WHERE at >= ? AND at < ?",
            vec![from.into(), to.into()],
        ))
        .await?;
    for r in &refused {
        let host: Option<String> = get(r, 1)?;
        let (start, end): (i64, i64) = (get(r, 3)?, get(r, 4)?);
        demand.push(Demand {
            // A host since removed from the fleet: the person would have taken any.
            kind: DemandKind::Refused {
                host: host.and_then(|h| index.get(h.as_str()).copied()),
            },
            gpus: get::<i32>(r, 2)?.max(0) as u32,
            asked_at: get(r, 0)?,
            start,
            length: (end - start).max(0),
        });
    }
    let waited = db
        .reader()
        .query_all_raw(stmt(
            backend,
            "SELECT host, gpus, length_secs, created_at, start_by FROM wait_requests \
             WHERE created_at >= ? AND created_at < ?",
            vec![from.into(), to.into()],
        ))
        .await?;
    for r in &waited {
        let host: Option<String> = get(r, 0)?;
        let length: i64 = get(r, 2)?;
        let asked_at: i64 = get(r, 3)?;
        let start_by: Option<i64> = get(r, 4)?;
        demand.push(Demand {
            kind: DemandKind::Waited {
                host: host.and_then(|h| index.get(h.as_str()).copied()),
                // Without `--within`, the request could wait until the end of the replay.
                within: start_by.map_or(to - asked_at + length, |by| by - asked_at + length),
            },
            gpus: get::<i32>(r, 1)?.max(0) as u32,
            asked_at,
            start: asked_at,
            length,
        });
    }
    Ok((hosts.into_iter().map(|(_, gpus)| gpus).collect(), demand))
}

/// Loads `[first, last]` (local days, both included) for the CSV export.
pub async fn load_export(
    db: &Db,
    config: &Config,
    first: NaiveDate,
    last: NaiveDate,
    tz: Tz,
) -> anyhow::Result<ExportInput> {
    let mut days = Vec::new();
    let mut date = first;
    while date <= last {
        let Some(next) = date.succ_opt() else { break };
        days.push(Day {
            date,
            from: local_midnight(date, tz),
            to: local_midnight(next, tz),
        });
        date = next;
    }
    let (Some(_), Some(to)) = (days.first().map(|d| d.from), days.last().map(|d| d.to)) else {
        anyhow::bail!("--from {first} is after --to {last}: nothing to export");
    };
    // Every configured host, drained ones too: their past use was real.
    let hosts: Vec<(String, u32)> = db
        .listed_hosts(&config.hosts)
        .await?
        .into_iter()
        .map(|h| (h.name, h.gpu_count))
        .collect();
    let bounds: Vec<i64> = days
        .iter()
        .map(|d| d.from)
        .chain(std::iter::once(to))
        .collect();
    let usage = load_usage_by(db, &hosts, &bounds).await?;
    Ok(ExportInput {
        days,
        hosts: hosts.into_iter().map(|(name, _)| name).collect(),
        bookings: usage.bookings,
        daily: usage.holders,
        price: price(config),
    })
}
