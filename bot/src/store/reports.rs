//! Loading what the reports show ([`load_daily`], [`load_capacity`]), and the record of
//! refused bookings they count. Loads take as few queries as possible: the metric tables are large
//! (a day of minute rows for 20 hosts × 8 GPUs is 230,000 rows; a quarter of hourly rollups for
//! 500 hosts is millions), so the reports read the hourly rollups, the sums are done by the
//! database, and only small results travel. Minute rows are read only for booked minutes (the
//! daily report's booked-but-idle, exact per GPU and minute).

use std::collections::HashMap;

use chrono_tz::Tz;
use futures::{StreamExt, TryStreamExt};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};
use tracing::warn;

use super::Db;
use super::sql::{get, stmt};
use crate::config::Config;
use crate::core::booking::BookingView;
use crate::core::fleet::BUSY_UTIL_PCT;
use crate::core::gpus::parse_gpu_list;
use crate::core::inventory;
use crate::core::reports::daily::{DailyData, HostDay, UserDay};
use crate::core::reports::monthly::BookingUse;
use crate::core::reports::weekly::{
    BookedSpan, CapacityInput, HostHours, RefusalRow, WaitEnding, WaitlistInput,
};
use crate::core::waitlist::WaitState;

/// Per-host rollup queries of the capacity report in flight at once.
const PARALLEL_HOST_QUERIES: usize = 4;

/// A booking request turned down for lack of GPUs, for the capacity report.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    pub slack_user: &'a str,
    /// `None` for `book any` (no host had room).
    pub host: Option<&'a str>,
    pub gpus: u32,
    pub start: i64,
    pub end: i64,
}

impl Db {
    /// Records a booking refused for lack of GPUs. Never fails the caller: the reply to the
    /// user matters more than the statistic, so an error is logged.
    pub async fn record_refusal(&self, refusal: Refusal<'_>, now: i64) {
        let result = self
            .connection()
            .execute_raw(stmt(
                self.backend(),
                "INSERT INTO booking_refusals (at, slack_user_id, host, gpus, start_at, end_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    now.into(),
                    refusal.slack_user.into(),
                    refusal.host.map(str::to_owned).into(),
                    (refusal.gpus.min(i32::MAX as u32) as i32).into(),
                    refusal.start.into(),
                    refusal.end.into(),
                ],
            ))
            .await;
        if let Err(err) = result {
            warn!(error = %err, "could not record a refused booking");
        }
    }
}

/// `metric_hosts` ids by host name (hosts the poller has stored metrics for).
pub(super) async fn metric_host_ids(db: &Db) -> Result<HashMap<String, i32>, DbErr> {
    let rows = db
        .connection()
        .query_all_raw(stmt(
            db.backend(),
            "SELECT id, host FROM metric_hosts",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((get::<String>(r, 1)?, get::<i32>(r, 0)?)))
        .collect()
}

pub(super) async fn metric_owner_names(db: &Db) -> Result<HashMap<i32, String>, DbErr> {
    let rows = db
        .connection()
        .query_all_raw(stmt(
            db.backend(),
            "SELECT id, owner FROM metric_owners",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((get::<i32>(r, 0)?, get::<String>(r, 1)?)))
        .collect()
}

/// Seconds of `[start, end)` inside `[from, to)`.
fn overlap(start: i64, end: i64, from: i64, to: i64) -> i64 {
    (end.min(to) - start.max(from)).max(0)
}

/// Loads the day `[from, to)` for the daily report. Hours, utilisation and holders come from
/// the hourly rollups; booked-but-idle is counted per GPU and minute, over the booked minutes
/// only.
pub async fn load_daily(
    db: &Db,
    config: &Config,
    from: i64,
    to: i64,
    tz: Tz,
    now: i64,
) -> anyhow::Result<DailyData> {
    let hosts = db.listed_hosts(&config.hosts).await?;
    let bookings = db.bookings_overlapping(None, from, to).await?;
    let host_ids = metric_host_ids(db).await?;
    let owners = metric_owner_names(db).await?;
    let columns = ((to - from).max(3600) / 3600) as usize;

    let mut users: HashMap<String, UserDay> = HashMap::new();
    for b in &bookings {
        let minutes = overlap(b.start, b.end, from, to) as u64 / 60 * b.gpus.len() as u64;
        let user = users.entry(b.slack_user_id.clone()).or_default();
        user.booked += minutes;
    }

    let mut days = Vec::with_capacity(hosts.len());
    for h in &hosts {
        let mine: Vec<&BookingView> = bookings.iter().filter(|b| b.host == h.name).collect();
        let mut day = HostDay {
            host: h.name.clone(),
            gpus: h.gpu_count,
            booked: mine
                .iter()
                .map(|b| overlap(b.start, b.end, from, to) as u64 / 60 * b.gpus.len() as u64)
                .sum(),
            hourly_util: vec![None; columns],
            ..HostDay::default()
        };
        if let Some(id) = host_ids.get(&h.name) {
            let mut util_sum = vec![0i64; columns];
            let mut util_n = vec![0i64; columns];
            for row in host_hours_by_holder(db, *id, from, to).await? {
                day.observed += row.minutes as u64;
                day.busy += row.busy as u64;
                if let Some(c) = usize::try_from(row.hour).ok().filter(|c| *c < columns) {
                    util_sum[c] += row.util_sum;
                    util_n[c] += row.minutes;
                }
                if let Some(owner) = owners.get(&row.holder) {
                    let user = users.entry(owner.clone()).or_default();
                    user.held += row.minutes as u64;
                    user.busy += row.busy as u64;
                }
            }
            for c in 0..columns {
                if util_n[c] > 0 {
                    day.hourly_util[c] = Some(util_sum[c] as f64 / util_n[c] as f64);
                }
            }
            day.booked_idle = booked_idle_minutes(db, *id, &mine, from, to).await?;
        }
        days.push(day);
    }

    let mut users: Vec<UserDay> = users
        .into_iter()
        .map(|(slack_user, mut u)| {
            u.slack_user = slack_user;
            u
        })
        .collect();
    users.sort_by(|a, b| a.slack_user.cmp(&b.slack_user));

    let images = db.cached_images(None).await?;
    let containers = db.cached_containers(None).await?;
    let claims = db.claims(None).await?;
    let keeps = db.container_keeps(now).await?;
    let listed = |host: &str| hosts.iter().any(|h| h.name == host);
    let images: Vec<_> = images.into_iter().filter(|i| listed(&i.host)).collect();
    let containers: Vec<_> = containers.into_iter().filter(|c| listed(&c.host)).collect();
    let catalog = db.catalog().await?;
    let orphans = inventory::orphan_images(
        &images,
        &claims,
        &catalog,
        now,
        config.reports.orphan_image_days,
    );
    let stale = inventory::stale_containers(
        &containers,
        &claims,
        &keeps,
        now,
        config.reports.stale_container_days,
    );

    Ok(DailyData {
        from,
        to,
        tz,
        now,
        busy_util_pct: BUSY_UTIL_PCT,
        stale_container_days: config.reports.stale_container_days,
        hosts: days,
        users,
        orphans,
        stale,
        datasets: db
            .dataset_catalog()
            .await?
            .report(now, config.reports.unused_dataset_days),
    })
}

/// One host's hourly rollups summed over GPUs, per hour of the window and holder.
struct HourSums {
    hour: i64,
    /// `metric_owners` id; -1 (no container) and 0 (unowned) match no owner.
    holder: i32,
    minutes: i64,
    util_sum: i64,
    busy: i64,
}

async fn host_hours_by_holder(
    db: &Db,
    host_id: i32,
    from: i64,
    to: i64,
) -> Result<Vec<HourSums>, DbErr> {
    let rows = db
        .connection()
        .query_all_raw(stmt(
            db.backend(),
            "SELECT (g.hour - ?) / 3600, g.holder, CAST(SUM(g.minutes) AS BIGINT),              CAST(SUM(g.util_sum) AS BIGINT), CAST(SUM(g.busy_minutes) AS BIGINT)              FROM gpu_hours g WHERE g.host_id = ? AND g.hour >= ? AND g.hour < ?              GROUP BY 1, 2",
            vec![from.into(), host_id.into(), from.into(), to.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HourSums {
                hour: get(r, 0)?,
                holder: get(r, 1)?,
                minutes: get(r, 2)?,
                util_sum: get(r, 3)?,
                busy: get(r, 4)?,
            })
        })
        .collect()
}

/// Minutes below the busy threshold on a booked GPU inside its booking, from the minute rows
/// of the booked span only.
async fn booked_idle_minutes(
    db: &Db,
    host_id: i32,
    bookings: &[&BookingView],
    from: i64,
    to: i64,
) -> Result<u64, DbErr> {
    let mut terms = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for b in bookings {
        let (start, end) = (b.start.max(from), b.end.min(to));
        if end <= start {
            continue;
        }
        first = first.min(start);
        last = last.max(end);
        for gpu in &b.gpus {
            terms.push("(m.gpu = ? AND m.minute >= ? AND m.minute < ?)");
            values.extend([(*gpu as i32).into(), start.into(), end.into()]);
        }
    }
    if terms.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM gpu_minutes m WHERE m.host_id = ? AND m.minute >= ?          AND m.minute < ? AND m.util_avg < ? AND ({})",
        terms.join(" OR ")
    );
    let mut all: Vec<Value> = vec![
        host_id.into(),
        first.into(),
        last.into(),
        i32::from(BUSY_UTIL_PCT).into(),
    ];
    all.extend(values);
    let row = db
        .connection()
        .query_one_raw(stmt(db.backend(), &sql, all))
        .await?;
    Ok(match row {
        Some(r) => get::<i64>(&r, 0)?.max(0) as u64,
        None => 0,
    })
}

/// Loads `[from, to)` for the capacity report.
pub async fn load_capacity(
    db: &Db,
    config: &Config,
    from: i64,
    to: i64,
    tz: Tz,
) -> anyhow::Result<CapacityInput> {
    load_capacity_with_history(db, config, from, to, tz, FORECAST_WEEKS).await
}

/// [`load_capacity`] with `weeks` of weekly peaks (the monthly chart shows a year).
pub async fn load_capacity_with_history(
    db: &Db,
    config: &Config,
    from: i64,
    to: i64,
    tz: Tz,
    weeks: usize,
) -> anyhow::Result<CapacityInput> {
    let hosts = bookable_hosts(db, config).await?;
    let index: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.0.as_str(), i))
        .collect();
    let bookings = booked_spans(db, &index, from, to).await?;
    let n_hours = ((to - from).max(0) / 3600) as usize;
    let ids = host_metric_ids(db, &hosts).await?;
    // Hosts are summed in parallel: each is one range of the rollups' primary key, and SQLite
    // (WAL) and PostgreSQL both serve concurrent readers.
    let usage: Vec<HostHours> = futures::stream::iter(ids.into_iter().map(|id| async move {
        match id {
            Some(id) => host_hours(db, id, from, to, n_hours).await,
            None => Ok(HostHours::default()),
        }
    }))
    .buffered(PARALLEL_HOST_QUERIES)
    .try_collect()
    .await?;
    let refusals = refusals_between(db, from, to).await?;
    let waitlist = waitlist_between(db, from, to).await?;
    let weekly_peaks = weekly_peaks(db, &index, to, weeks).await?;
    Ok(CapacityInput {
        from,
        to,
        tz,
        hosts,
        bookings,
        usage,
        refusals,
        waitlist,
        weekly_peaks,
    })
}

/// The configured hosts that take bookings (drained ones left out) and their GPUs, in the
/// order every capacity figure indexes them by.
pub(super) async fn bookable_hosts(db: &Db, config: &Config) -> Result<Vec<(String, u32)>, DbErr> {
    Ok(db
        .listed_hosts(&config.hosts)
        .await?
        .into_iter()
        .filter(|h| !h.is_drained())
        .map(|h| (h.name, h.gpu_count))
        .collect())
}

/// The `metric_hosts` id of each host, in order (`None`: no metrics stored yet).
pub(super) async fn host_metric_ids(
    db: &Db,
    hosts: &[(String, u32)],
) -> Result<Vec<Option<i32>>, DbErr> {
    let ids = metric_host_ids(db).await?;
    Ok(hosts
        .iter()
        .map(|(name, _)| ids.get(name).copied())
        .collect())
}

/// Weeks of history the capacity forecast reads.
const FORECAST_WEEKS: usize = 26;

/// Peak demand in each of the `weeks` weeks before `to`, oldest first: the most GPUs wanted at
/// once, counting bookings, requests refused for lack of GPUs (over the time they asked for)
/// and wait-list requests (from joining the line until they got GPUs or left). Unmet demand is
/// demand: a fleet that turns people away would otherwise look like it has room. The weeks
/// before the first booking ever are left out (a new install has no history, and empty weeks
/// would read as a trend). One sweep over the edges: two years of a large fleet are hundreds
/// of thousands of bookings.
async fn weekly_peaks(
    db: &Db,
    index: &HashMap<&str, usize>,
    to: i64,
    weeks: usize,
) -> Result<Vec<f64>, DbErr> {
    const WEEK: i64 = 7 * 24 * 3600;
    let from = to - weeks as i64 * WEEK;
    let mut spans = booked_spans(db, index, from, to).await?;
    let unmet = |host, gpus: i32, start, end| BookedSpan {
        host,
        gpus: gpus.max(0) as u32,
        start,
        end,
    };
    for r in refusals_between(db, from, to).await? {
        spans.push(unmet(0, r.gpus as i32, r.start, r.end));
    }
    // Wait-list requests while they waited; a booked one's booking is counted above, and so
    // is the booking holding an open offer.
    let waited = db
        .reader()
        .query_all_raw(stmt(
            db.backend(),
            "SELECT gpus, created_at, COALESCE(resolved_at, ?) FROM wait_requests \
             WHERE created_at < ? AND (resolved_at IS NULL OR resolved_at > ?) \
             AND state <> 'offered'",
            vec![to.into(), to.into(), from.into()],
        ))
        .await?;
    for r in &waited {
        spans.push(unmet(0, get(r, 0)?, get(r, 1)?, get(r, 2)?));
    }
    let first = db
        .connection()
        .query_one_raw(stmt(
            db.backend(),
            "SELECT MIN(start_at) FROM bookings WHERE cancelled_at IS NULL",
            vec![],
        ))
        .await?
        .map(|r| get::<Option<i64>>(&r, 0))
        .transpose()?
        .flatten();
    let Some(first) = first else {
        return Ok(Vec::new());
    };
    Ok(
        crate::core::reports::weekly::weekly_peaks(&spans, from, to, weeks)
            .into_iter()
            .enumerate()
            .filter(|(w, _)| from + (*w as i64 + 1) * WEEK > first)
            .map(|(_, peak)| f64::from(peak))
            .collect(),
    )
}

/// The wait-list's endings, offers and idle GPUs in `[from, to)`.
async fn waitlist_between(db: &Db, from: i64, to: i64) -> Result<WaitlistInput, DbErr> {
    let ended = db
        .wait_requests_resolved(from, to)
        .await?
        .into_iter()
        .filter(|r| r.state != WaitState::Declined)
        .map(|r| WaitEnding {
            gpus: r.gpus,
            length: r.length,
            waited: r.resolved_at.unwrap_or(to) - r.created_at,
            served: r.state == WaitState::Booked,
        })
        .collect();
    let (offers_accepted, offers_declined, offers_expired) = db.offer_outcomes(from, to).await?;
    Ok(WaitlistInput {
        ended,
        offers_accepted,
        offers_declined,
        offers_expired,
        idle_gpu_seconds: db.idle_while_waiting(from, to).await?,
    })
}

/// One host's hourly totals over GPUs and holders (`host_hours`, kept at ingest), per hour. The hours come back
/// packed in one text value (`hour:busy:minutes,…`): a quarter is 2,160 hours per host, and
/// one row per host is far cheaper to move than one per hour.
async fn host_hours(
    db: &Db,
    host_id: i32,
    from: i64,
    to: i64,
    n_hours: usize,
) -> Result<HostHours, DbErr> {
    let aggregate = match db.backend() {
        DbBackend::Postgres => "string_agg",
        _ => "group_concat",
    };
    let sql = format!(
        "SELECT {aggregate}(CAST(t.h AS TEXT) || ':' || CAST(t.b AS TEXT) || ':' || \
         CAST(t.m AS TEXT), ',') FROM (SELECT (g.hour - ?) / 3600 AS h, \
         g.busy_minutes AS b, g.minutes AS m FROM host_hours g \
         WHERE g.host_id = ? AND g.hour >= ? AND g.hour < ?) t"
    );
    let row = db
        .connection()
        .query_one_raw(stmt(
            db.backend(),
            &sql,
            vec![from.into(), host_id.into(), from.into(), to.into()],
        ))
        .await?;
    let packed: Option<String> = match row {
        Some(r) => get(&r, 0)?,
        None => None,
    };
    let mut hours = HostHours {
        busy: vec![0; n_hours],
        observed: vec![0; n_hours],
    };
    for entry in packed.as_deref().unwrap_or_default().split(',') {
        let mut parts = entry.split(':').map(|p| p.parse::<i64>().ok());
        if let (Some(Some(h)), Some(Some(b)), Some(Some(m))) =
            (parts.next(), parts.next(), parts.next())
            && let Some(h) = usize::try_from(h).ok().filter(|h| *h < n_hours)
        {
            hours.busy[h] = b.clamp(0, i64::from(u32::MAX)) as u32;
            hours.observed[h] = m.clamp(0, i64::from(u32::MAX)) as u32;
        }
    }
    Ok(hours)
}

/// Bookings overlapping the window as spans of hosts' GPUs: without their people, as the
/// capacity figures and the weekly peaks (a year of a large fleet) need none.
pub(super) async fn booked_spans(
    db: &Db,
    index: &HashMap<&str, usize>,
    from: i64,
    to: i64,
) -> Result<Vec<BookedSpan>, DbErr> {
    let rows = db
        .reader()
        .query_all_raw(stmt(
            db.backend(),
            "SELECT host, gpus, start_at, end_at FROM bookings \
             WHERE cancelled_at IS NULL AND start_at < ? AND end_at > ?",
            vec![to.into(), from.into()],
        ))
        .await?;
    let mut spans = Vec::with_capacity(rows.len());
    for r in &rows {
        let host: String = get(r, 0)?;
        let Some(host) = index.get(host.as_str()) else {
            continue;
        };
        let gpus: String = get(r, 1)?;
        spans.push(BookedSpan {
            host: *host,
            gpus: parse_gpu_list(&gpus).len() as u32,
            start: get(r, 2)?,
            end: get(r, 3)?,
        });
    }
    Ok(spans)
}

/// Bookings overlapping the window with their booker's Slack id and their project, read
/// straight from `bookings` (a quarter of a large fleet is tens of thousands of bookings, and
/// the reports need neither their notes nor their slots).
pub(super) async fn bookings_with_people(
    db: &Db,
    index: &HashMap<&str, usize>,
    from: i64,
    to: i64,
) -> Result<Vec<BookingUse>, DbErr> {
    let rows = db
        .reader()
        .query_all_raw(stmt(
            db.backend(),
            "SELECT b.host, u.slack_user_id, b.project, b.gpus, b.start_at, b.end_at \
             FROM bookings b JOIN users u ON u.id = b.user_id \
             WHERE b.cancelled_at IS NULL AND b.start_at < ? AND b.end_at > ?",
            vec![to.into(), from.into()],
        ))
        .await?;
    let mut bookings = Vec::with_capacity(rows.len());
    for r in &rows {
        let host: String = get(r, 0)?;
        let Some(host) = index.get(host.as_str()) else {
            continue;
        };
        let gpus: String = get(r, 3)?;
        bookings.push(BookingUse {
            host: *host,
            user: get(r, 1)?,
            project: get(r, 2)?,
            gpus: parse_gpu_list(&gpus).len() as u32,
            start: get(r, 4)?,
            end: get(r, 5)?,
        });
    }
    Ok(bookings)
}

pub(super) async fn refusals_between(
    db: &Db,
    from: i64,
    to: i64,
) -> Result<Vec<RefusalRow>, DbErr> {
    let rows = db
        .connection()
        .query_all_raw(stmt(
            db.backend(),
            "SELECT at, slack_user_id, host, gpus, start_at, end_at FROM booking_refusals \
             WHERE at >= ? AND at < ? ORDER BY at, id",
            vec![from.into(), to.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RefusalRow {
                at: get(r, 0)?,
                slack_user: get(r, 1)?,
                host: get(r, 2)?,
                gpus: get::<i32>(r, 3)?.max(0) as u32,
                start: get(r, 4)?,
                end: get(r, 5)?,
            })
        })
        .collect()
}
