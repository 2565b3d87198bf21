//! Writing one host's answer (or its silence) to the database. Each answer is stored in one
//! write transaction: status, readings, container and image caches, metrics and cursor
//! together or not at all.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use maison_agent_api::{
    ContainerState, ContainerSummary, GpuMinute, HostInfo, ImageSummary, MetricsResponse,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, QueryResult, Value};

use super::Db;
use super::fleet::MIB;
use super::leases::{Fence, LeaderWrite};
use super::sql::{MAX_PARAMS, get, greatest, list_of, rows_of, stmt};
use crate::core::fleet::BUSY_UTIL_PCT;
use crate::core::gpus::format_gpu_list;

/// Everything one host said in one poll.
#[derive(Debug, Clone)]
pub struct HostAnswer {
    pub facts: HostInfo,
    pub metrics: MetricsResponse,
    pub containers: Vec<ContainerSummary>,
    pub images: Vec<ImageSummary>,
}

/// What storing an answer changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stored {
    pub back_online: bool,
    pub minute_rows: usize,
}

/// The reachability a host has after a failed poll.
#[derive(Debug, Clone, Copy, Default)]
pub struct Failure {
    pub went_unreachable: bool,
}

impl Db {
    /// Stores a complete answer, polled at `attempt_at` (Unix seconds).
    pub async fn store_answer(
        &self,
        host: &str,
        answer: &HostAnswer,
        attempt_at: i64,
    ) -> Result<Stored, DbErr> {
        self.store_answer_fenced(host, answer, attempt_at, None)
            .await?
            .ok_or_else(|| DbErr::Custom("an unfenced write was fenced off".to_owned()))
    }

    /// [`Db::store_answer`] as the holder of the poller lease: the transaction first checks
    /// `fence` (at `now`), and stores nothing (`Ok(None)`) once another replica has the lease.
    /// On PostgreSQL the lease row stays locked until the answer is committed, so a take-over
    /// never interleaves with it.
    pub async fn store_answer_fenced(
        &self,
        host: &str,
        answer: &HostAnswer,
        attempt_at: i64,
        fence: Option<(&Fence, i64)>,
    ) -> Result<Option<Stored>, DbErr> {
        let txn = self.begin_write().await?;
        if let Some((fence, now)) = fence
            && fence.check_on(&txn, now).await? == LeaderWrite::FencedOff
        {
            txn.rollback().await?;
            return Ok(None);
        }
        let backend = self.backend();
        let back_online =
            write_status_answered(&txn, backend, host, &answer.facts, attempt_at).await?;
        write_readings(&txn, backend, host, answer).await?;
        reconcile_containers(&txn, backend, host, &answer.containers, attempt_at).await?;
        reconcile_images(&txn, backend, host, &answer.images, attempt_at).await?;
        let minute_rows = ingest_minutes(&txn, backend, host, &answer.metrics.rollups).await?;
        txn.commit().await?;
        self.fleet_view_changed();
        Ok(Some(Stored {
            back_online,
            minute_rows,
        }))
    }

    /// Records a failed poll. The host becomes unreachable once it has not answered for
    /// `unreachable_after` seconds (a host that never answered is unreachable from its first
    /// failure). Nothing but its status row is written.
    pub async fn record_poll_failure(
        &self,
        host: &str,
        attempt_at: i64,
        now: i64,
        error: &str,
        unreachable_after: i64,
    ) -> Result<Failure, DbErr> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        let row = txn
            .query_one_raw(stmt(
                backend,
                "SELECT reachable, changed_at, last_seen_at, failing_since FROM host_status WHERE host = ?",
                vec![host.into()],
            ))
            .await?;
        let failure = match row {
            None => {
                txn.execute_raw(stmt(
                    backend,
                    "INSERT INTO host_status (host, reachable, changed_at, last_polled_at, \
                     failing_since, last_error, gpus_simulated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    vec![
                        host.into(),
                        false.into(),
                        now.into(),
                        attempt_at.into(),
                        attempt_at.into(),
                        error.into(),
                        false.into(),
                    ],
                ))
                .await?;
                Failure {
                    went_unreachable: false,
                }
            }
            Some(r) => {
                let reachable: bool = get(&r, 0)?;
                let changed_at: i64 = get(&r, 1)?;
                let last_seen_at: Option<i64> = get(&r, 2)?;
                let failing_since = get::<Option<i64>>(&r, 3)?.unwrap_or(attempt_at);
                let silent_since = last_seen_at.unwrap_or(failing_since);
                let still_reachable = reachable && now - silent_since < unreachable_after;
                let went_unreachable = reachable && !still_reachable;
                txn.execute_raw(stmt(
                    backend,
                    "UPDATE host_status SET reachable = ?, changed_at = ?, last_polled_at = ?, \
                     failing_since = ?, last_error = ? WHERE host = ?",
                    vec![
                        still_reachable.into(),
                        if went_unreachable { now } else { changed_at }.into(),
                        attempt_at.into(),
                        failing_since.into(),
                        error.into(),
                        host.into(),
                    ],
                ))
                .await?;
                Failure { went_unreachable }
            }
        };
        txn.commit().await?;
        self.fleet_view_changed();
        Ok(failure)
    }

    /// Marks unreachable every host that was polled since it last answered and has not answered
    /// for `unreachable_after` seconds, even if its poll has not failed yet (a hung agent).
    /// Returns those hosts.
    pub async fn mark_silent_hosts(
        &self,
        now: i64,
        unreachable_after: i64,
    ) -> Result<Vec<String>, DbErr> {
        const SILENT: &str = "reachable AND last_seen_at <= ? AND last_polled_at > last_seen_at";
        let backend = self.backend();
        let cutoff = now - unreachable_after;
        // Read first: this runs every second and usually finds nobody, so it takes no write lock.
        let rows = self
            .connection()
            .query_all_raw(stmt(
                backend,
                &format!("SELECT host FROM host_status WHERE {SILENT} ORDER BY host"),
                vec![cutoff.into()],
            ))
            .await?;
        let hosts: Vec<String> = rows.iter().map(|r| get(r, 0)).collect::<Result<_, _>>()?;
        if hosts.is_empty() {
            return Ok(hosts);
        }
        let txn = self.begin_write().await?;
        for chunk in hosts.chunks(MAX_PARAMS / 2) {
            let mut values: Vec<Value> = vec![false.into(), now.into()];
            values.extend(chunk.iter().map(|h| Value::from(h.as_str())));
            values.push(cutoff.into());
            txn.execute_raw(stmt(
                backend,
                &format!(
                    "UPDATE host_status SET reachable = ?, changed_at = ?, \
                     last_error = COALESCE(last_error, 'no answer') WHERE host IN ({}) AND {SILENT}",
                    list_of(chunk.len())
                ),
                values,
            ))
            .await?;
        }
        txn.commit().await?;
        self.fleet_view_changed();
        Ok(hosts)
    }

    /// Notes that a cycle is polling these hosts now (see [`Db::mark_silent_hosts`]).
    pub async fn mark_polled(&self, hosts: &[String], now: i64) -> Result<(), DbErr> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        for chunk in hosts.chunks(MAX_PARAMS / 2) {
            let mut values: Vec<Value> = vec![now.into()];
            values.extend(chunk.iter().map(|h| Value::from(h.as_str())));
            txn.execute_raw(stmt(
                backend,
                &format!(
                    "UPDATE host_status SET last_polled_at = ? WHERE host IN ({})",
                    list_of(chunk.len())
                ),
                values,
            ))
            .await?;
        }
        txn.commit().await?;
        self.fleet_view_changed();
        Ok(())
    }

    /// The metrics cursor of every host: the start of the last minute ingested.
    pub async fn metric_cursors(&self) -> Result<HashMap<String, i64>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT host, cursor_minute FROM metric_hosts WHERE cursor_minute IS NOT NULL",
                vec![],
            ))
            .await?;
        rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect()
    }

    /// Hosts whose last poll failed.
    pub async fn failing_hosts(&self) -> Result<HashSet<String>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT host FROM host_status WHERE failing_since IS NOT NULL",
                vec![],
            ))
            .await?;
        rows.iter().map(|r| get(r, 0)).collect()
    }
}

async fn write_status_answered(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host: &str,
    facts: &HostInfo,
    attempt_at: i64,
) -> Result<bool, DbErr> {
    let previous = txn
        .query_one_raw(stmt(
            backend,
            "SELECT reachable, changed_at FROM host_status WHERE host = ?",
            vec![host.into()],
        ))
        .await?;
    let (back_online, changed_at) = match previous {
        Some(r) if get::<bool>(&r, 0)? => (false, get::<i64>(&r, 1)?),
        Some(_) => (true, attempt_at),
        None => (false, attempt_at),
    };
    let facts_json = serde_json::to_string(facts).unwrap_or_default();
    txn.execute_raw(stmt(
        backend,
        "INSERT INTO host_status (host, reachable, changed_at, last_seen_at, last_polled_at, \
         failing_since, last_error, facts, gpus_simulated) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?) \
         ON CONFLICT (host) DO UPDATE SET reachable = excluded.reachable, \
         changed_at = excluded.changed_at, last_seen_at = excluded.last_seen_at, \
         last_polled_at = excluded.last_polled_at, failing_since = NULL, last_error = NULL, \
         facts = excluded.facts, gpus_simulated = excluded.gpus_simulated",
        vec![
            host.into(),
            true.into(),
            changed_at.into(),
            attempt_at.into(),
            attempt_at.into(),
            facts_json.into(),
            facts.gpus_simulated.into(),
        ],
    ))
    .await?;
    Ok(back_online)
}

async fn write_readings(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host: &str,
    answer: &HostAnswer,
) -> Result<(), DbErr> {
    txn.execute_raw(stmt(
        backend,
        "DELETE FROM gpu_readings WHERE host = ?",
        vec![host.into()],
    ))
    .await?;
    let mut current: Vec<_> = answer.metrics.current.iter().collect();
    current.sort_by_key(|r| r.gpu);
    current.dedup_by_key(|r| r.gpu);
    if current.is_empty() {
        return Ok(());
    }
    let totals: HashMap<u32, u64> = answer
        .facts
        .gpus
        .iter()
        .map(|g| (g.index, g.memory_total_bytes))
        .collect();
    let mut values: Vec<Value> = Vec::with_capacity(current.len() * 10);
    for r in &current {
        let holders = serde_json::to_string(&r.holders).unwrap_or_else(|_| "[]".to_owned());
        values.extend([
            host.into(),
            (r.gpu as i32).into(),
            r.at.timestamp().into(),
            f64::from(r.util_pct).into(),
            (r.mem_used_bytes as i64).into(),
            totals.get(&r.gpu).map(|t| *t as i64).into(),
            r.power_watts.map(f64::from).into(),
            r.temp_celsius.map(|t| t as i32).into(),
            r.stale.into(),
            holders.into(),
        ]);
    }
    txn.execute_raw(stmt(
        backend,
        &format!(
            "INSERT INTO gpu_readings (host, gpu, at, util_pct, mem_used_bytes, mem_total_bytes, \
             power_watts, temp_celsius, stale, holders) VALUES {}",
            rows_of(current.len(), 10)
        ),
        values,
    ))
    .await?;
    Ok(())
}

fn state_str(state: ContainerState) -> &'static str {
    match state {
        ContainerState::Created => "created",
        ContainerState::Running => "running",
        ContainerState::Paused => "paused",
        ContainerState::Restarting => "restarting",
        ContainerState::Exited => "exited",
        ContainerState::Removing => "removing",
        ContainerState::Dead => "dead",
        ContainerState::Unknown => "unknown",
    }
}

/// The cached columns of a container, in table order after `(host, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContainerCols {
    name: String,
    image: String,
    image_id: String,
    state: String,
    status: String,
    created_at: i64,
    owner: Option<String>,
    owner_name: Option<String>,
    booking: Option<String>,
    image_source: Option<String>,
    gpus: String,
}

fn container_cols(c: &ContainerSummary) -> ContainerCols {
    let labels = c.maison.as_ref();
    ContainerCols {
        name: c.name.trim_start_matches('/').to_owned(),
        image: c.image.clone(),
        image_id: c.image_id.clone(),
        state: state_str(c.state).to_owned(),
        status: c.status.clone(),
        created_at: c.created.timestamp(),
        owner: labels.map(|l| l.owner.clone()),
        owner_name: labels.and_then(|l| l.owner_name.clone()),
        booking: labels.and_then(|l| l.booking.clone()),
        image_source: labels
            .and_then(|l| l.image_source)
            .map(|s| s.as_str().to_owned()),
        gpus: format_gpu_list(&c.gpus),
    }
}

/// A per-host copy of one inventory table (`containers`, `images`): its name, the columns
/// after `(host, id)` that the agent reports (`first_seen_at` is written once, on insert), how
/// to read a cached row as `(id, columns)` and how to bind columns in that order.
struct Mirror<T> {
    table: &'static str,
    columns: &'static [&'static str],
    decode: fn(&QueryResult) -> Result<(String, T), DbErr>,
    encode: fn(&T) -> Vec<Value>,
}

const CONTAINERS: Mirror<ContainerCols> = Mirror {
    table: "containers",
    columns: &[
        "name",
        "image",
        "image_id",
        "state",
        "status",
        "created_at",
        "owner",
        "owner_name",
        "booking",
        "image_source",
        "gpus",
    ],
    decode: decode_container,
    encode: encode_container,
};

const IMAGES: Mirror<ImageCols> = Mirror {
    table: "images",
    columns: &[
        "tags",
        "size_bytes",
        "created_at",
        "in_use",
        "dangling",
        "owner",
        "parent_id",
    ],
    decode: decode_image,
    encode: encode_image,
};

/// Writes only what changed: new and changed rows are upserted, vanished ones deleted.
async fn reconcile<T: PartialEq>(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host: &str,
    mirror: &Mirror<T>,
    listed: Vec<(&str, T)>,
    now: i64,
) -> Result<(), DbErr> {
    let Mirror {
        table,
        columns,
        decode,
        encode,
    } = mirror;
    let rows = txn
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT id, {} FROM {table} WHERE host = ?",
                columns.join(", ")
            ),
            vec![host.into()],
        ))
        .await?;
    let cached: HashMap<String, T> = rows.iter().map(decode).collect::<Result<_, _>>()?;
    let mut changed: Vec<(&str, T)> = Vec::new();
    let mut listed_ids: BTreeSet<&str> = BTreeSet::new();
    for (id, cols) in listed {
        if listed_ids.insert(id) && cached.get(id).is_none_or(|old| *old != cols) {
            changed.push((id, cols));
        }
    }
    let width = columns.len() + 3;
    let updates: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    for chunk in changed.chunks(MAX_PARAMS / width) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * width);
        for (id, cols) in chunk {
            values.extend([host.into(), (*id).into()]);
            values.extend(encode(cols));
            values.push(now.into());
        }
        txn.execute_raw(stmt(
            backend,
            &format!(
                "INSERT INTO {table} (host, id, {}, first_seen_at) VALUES {} \
                 ON CONFLICT (host, id) DO UPDATE SET {}",
                columns.join(", "),
                rows_of(chunk.len(), width),
                updates.join(", ")
            ),
            values,
        ))
        .await?;
    }
    let gone: Vec<&String> = cached
        .keys()
        .filter(|id| !listed_ids.contains(id.as_str()))
        .collect();
    delete_ids(txn, backend, table, host, &gone).await
}

async fn reconcile_containers(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host: &str,
    listed: &[ContainerSummary],
    now: i64,
) -> Result<(), DbErr> {
    let listed = listed
        .iter()
        .map(|c| (c.id.as_str(), container_cols(c)))
        .collect();
    reconcile(txn, backend, host, &CONTAINERS, listed, now).await
}

/// The cached columns of an image, in table order after `(host, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImageCols {
    /// JSON array.
    tags: String,
    size_bytes: i64,
    created_at: i64,
    in_use: i32,
    dangling: bool,
    owner: Option<String>,
    /// The `maison.image.parent_id` label: what Maison made the image from.
    parent_id: Option<String>,
}

fn image_cols(i: &ImageSummary) -> ImageCols {
    ImageCols {
        tags: serde_json::to_string(&i.tags).unwrap_or_else(|_| "[]".to_owned()),
        size_bytes: i.size_bytes as i64,
        created_at: i.created.timestamp(),
        in_use: i.used_by.len() as i32,
        dangling: i.dangling,
        owner: i
            .labels
            .get(maison_agent_api::labels::OWNER)
            .filter(|o| !o.trim().is_empty())
            .cloned(),
        parent_id: i
            .labels
            .get(maison_agent_api::images::provenance::PARENT_ID)
            .filter(|p| !p.trim().is_empty())
            .cloned(),
    }
}

async fn reconcile_images(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host: &str,
    listed: &[ImageSummary],
    now: i64,
) -> Result<(), DbErr> {
    let listed = listed
        .iter()
        .map(|i| (i.id.as_str(), image_cols(i)))
        .collect();
    reconcile(txn, backend, host, &IMAGES, listed, now).await
}

fn decode_container(r: &QueryResult) -> Result<(String, ContainerCols), DbErr> {
    Ok((
        get(r, 0)?,
        ContainerCols {
            name: get(r, 1)?,
            image: get(r, 2)?,
            image_id: get(r, 3)?,
            state: get(r, 4)?,
            status: get(r, 5)?,
            created_at: get(r, 6)?,
            owner: get(r, 7)?,
            owner_name: get(r, 8)?,
            booking: get(r, 9)?,
            image_source: get(r, 10)?,
            gpus: get(r, 11)?,
        },
    ))
}

fn encode_container(c: &ContainerCols) -> Vec<Value> {
    vec![
        c.name.clone().into(),
        c.image.clone().into(),
        c.image_id.clone().into(),
        c.state.clone().into(),
        c.status.clone().into(),
        c.created_at.into(),
        c.owner.clone().into(),
        c.owner_name.clone().into(),
        c.booking.clone().into(),
        c.image_source.clone().into(),
        c.gpus.clone().into(),
    ]
}

fn decode_image(r: &QueryResult) -> Result<(String, ImageCols), DbErr> {
    Ok((
        get(r, 0)?,
        ImageCols {
            tags: get(r, 1)?,
            size_bytes: get(r, 2)?,
            created_at: get(r, 3)?,
            in_use: get(r, 4)?,
            dangling: get(r, 5)?,
            owner: get(r, 6)?,
            parent_id: get(r, 7)?,
        },
    ))
}

fn encode_image(c: &ImageCols) -> Vec<Value> {
    vec![
        c.tags.clone().into(),
        c.size_bytes.into(),
        c.created_at.into(),
        c.in_use.into(),
        c.dangling.into(),
        c.owner.clone().into(),
        c.parent_id.clone().into(),
    ]
}

async fn delete_ids(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    table: &str,
    host: &str,
    ids: &[&String],
) -> Result<(), DbErr> {
    for chunk in ids.chunks(MAX_PARAMS) {
        let mut values: Vec<Value> = vec![host.into()];
        values.extend(chunk.iter().map(|id| Value::from(id.as_str())));
        txn.execute_raw(stmt(
            backend,
            &format!(
                "DELETE FROM {table} WHERE host = ? AND id IN ({})",
                list_of(chunk.len())
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

/// One minute row in its stored encoding.
#[derive(Debug, Clone, Copy)]
struct MinuteCols {
    minute: i64,
    gpu: i32,
    util_avg: i32,
    util_max: i32,
    mem_max_mib: i32,
    power_avg: Option<i32>,
    temp_max: Option<i32>,
    /// `None`: no container; `Some(0)`: unowned containers only; `Some(id)`: `metric_owners`.
    owner_id: Option<i32>,
}

fn pct(v: f32) -> i32 {
    if v.is_finite() {
        v.round().clamp(0.0, 100.0) as i32
    } else {
        0
    }
}

fn mib_ceil(bytes: u64) -> i32 {
    bytes.div_ceil(MIB).min(i32::MAX as u64) as i32
}

/// Stores the rollups after the host's cursor, updates the hourly rollups, the containers' GPU
/// activity and the cursor. Returns the number of minute rows stored.
async fn ingest_minutes(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host: &str,
    rollups: &[GpuMinute],
) -> Result<usize, DbErr> {
    let (host_id, cursor) = metric_host(txn, backend, host).await?;
    let fresh: Vec<&GpuMinute> = rollups
        .iter()
        .filter(|m| cursor.is_none_or(|c| m.minute.timestamp() > c))
        .collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    let owners = owner_ids(txn, backend, &fresh).await?;
    let mut rows: BTreeMap<(i64, i32), MinuteCols> = BTreeMap::new();
    // container id → (last held, last active), as ends of minutes.
    let mut activity: BTreeMap<&str, (i64, Option<i64>)> = BTreeMap::new();
    for m in &fresh {
        let minute = m.minute.timestamp() - m.minute.timestamp().rem_euclid(60);
        let util_avg = pct(m.util_avg_pct);
        let owner_id = if m.holders.is_empty() {
            None
        } else {
            Some(
                m.holders
                    .iter()
                    .filter_map(|h| h.owner.as_deref())
                    .min()
                    .and_then(|o| owners.get(o).copied())
                    .unwrap_or(0),
            )
        };
        rows.insert(
            (minute, m.gpu as i32),
            MinuteCols {
                minute,
                gpu: m.gpu as i32,
                util_avg,
                util_max: pct(m.util_max_pct).max(util_avg),
                mem_max_mib: mib_ceil(m.mem_used_max_bytes),
                power_avg: m
                    .power_avg_watts
                    .filter(|p| p.is_finite())
                    .map(|p| p.round().max(0.0) as i32),
                temp_max: m.temp_max_celsius.map(|t| t.min(i32::MAX as u32) as i32),
                owner_id,
            },
        );
        let end = minute + 60;
        let busy = util_avg >= i32::from(BUSY_UTIL_PCT);
        for h in &m.holders {
            let entry = activity
                .entry(h.container_id.as_str())
                .or_insert((end, None));
            entry.0 = entry.0.max(end);
            if busy {
                entry.1 = Some(entry.1.map_or(end, |a| a.max(end)));
            }
        }
    }
    let rows: Vec<MinuteCols> = rows.into_values().collect();
    insert_minutes(txn, backend, host_id, &rows).await?;
    upsert_hours(txn, backend, host_id, &rows).await?;
    upsert_activity(txn, backend, host, &activity).await?;
    let last = rows.iter().map(|r| r.minute).max().unwrap_or_default();
    let new_cursor = cursor.map_or(last, |c| c.max(last));
    txn.execute_raw(stmt(
        backend,
        "UPDATE metric_hosts SET cursor_minute = ? WHERE id = ?",
        vec![new_cursor.into(), host_id.into()],
    ))
    .await?;
    Ok(rows.len())
}

/// The host's small integer id and metrics cursor, creating the id on first use.
async fn metric_host(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host: &str,
) -> Result<(i32, Option<i64>), DbErr> {
    let select = || {
        stmt(
            backend,
            "SELECT id, cursor_minute FROM metric_hosts WHERE host = ?",
            vec![host.into()],
        )
    };
    if let Some(r) = txn.query_one_raw(select()).await? {
        return Ok((get(&r, 0)?, get(&r, 1)?));
    }
    txn.execute_raw(stmt(
        backend,
        "INSERT INTO metric_hosts (host) VALUES (?) ON CONFLICT (host) DO NOTHING",
        vec![host.into()],
    ))
    .await?;
    let r = txn
        .query_one_raw(select())
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("metric host {host} just written")))?;
    Ok((get(&r, 0)?, get(&r, 1)?))
}

/// Small integer ids of the owners named by these minutes' holders, created on first use.
/// Inserted in sorted order so concurrent PostgreSQL transactions cannot deadlock.
async fn owner_ids(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    minutes: &[&GpuMinute],
) -> Result<HashMap<String, i32>, DbErr> {
    let owners: BTreeSet<&str> = minutes
        .iter()
        .flat_map(|m| m.holders.iter().filter_map(|h| h.owner.as_deref()))
        .collect();
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    let owners: Vec<&str> = owners.into_iter().collect();
    let values = || owners.iter().map(|o| Value::from(*o)).collect::<Vec<_>>();
    let select = || {
        stmt(
            backend,
            &format!(
                "SELECT owner, id FROM metric_owners WHERE owner IN ({})",
                list_of(owners.len())
            ),
            values(),
        )
    };
    let mut ids: HashMap<String, i32> = HashMap::new();
    for r in txn.query_all_raw(select()).await? {
        ids.insert(get(&r, 0)?, get(&r, 1)?);
    }
    if ids.len() < owners.len() {
        let missing: Vec<&str> = owners
            .iter()
            .copied()
            .filter(|o| !ids.contains_key(*o))
            .collect();
        txn.execute_raw(stmt(
            backend,
            &format!(
                "INSERT INTO metric_owners (owner) VALUES {} ON CONFLICT (owner) DO NOTHING",
                rows_of(missing.len(), 1)
            ),
            missing.iter().map(|o| Value::from(*o)).collect(),
        ))
        .await?;
        for r in txn.query_all_raw(select()).await? {
            ids.insert(get(&r, 0)?, get(&r, 1)?);
        }
    }
    Ok(ids)
}

async fn insert_minutes(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host_id: i32,
    rows: &[MinuteCols],
) -> Result<(), DbErr> {
    const COLS: usize = 9;
    for chunk in rows.chunks(MAX_PARAMS / COLS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * COLS);
        for r in chunk {
            values.extend([
                host_id.into(),
                r.minute.into(),
                r.gpu.into(),
                r.util_avg.into(),
                r.util_max.into(),
                r.mem_max_mib.into(),
                r.power_avg.into(),
                r.temp_max.into(),
                r.owner_id.into(),
            ]);
        }
        txn.execute_raw(stmt(
            backend,
            &format!(
                "INSERT INTO gpu_minutes (host_id, minute, gpu, util_avg, util_max, mem_max_mib, \
                 power_avg, temp_max, owner_id) VALUES {} ON CONFLICT DO NOTHING",
                rows_of(chunk.len(), COLS)
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

#[derive(Debug, Default)]
struct HourAcc {
    minutes: i32,
    busy_minutes: i32,
    util_sum: i64,
    util_max: i32,
    mem_max_mib: i32,
    power_sum: i64,
    power_minutes: i32,
    temp_max: Option<i32>,
}

/// Adds the new minutes to their hourly rollups. Minutes arrive once (the cursor filters
/// repeats), so the sums are incremented in place rather than recomputed.
async fn upsert_hours(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host_id: i32,
    rows: &[MinuteCols],
) -> Result<(), DbErr> {
    let mut hours: BTreeMap<(i64, i32, i32), HourAcc> = BTreeMap::new();
    for r in rows {
        let hour = r.minute - r.minute.rem_euclid(3600);
        let acc = hours
            .entry((hour, r.gpu, r.owner_id.unwrap_or(-1)))
            .or_default();
        acc.minutes += 1;
        acc.busy_minutes += i32::from(r.util_avg >= i32::from(BUSY_UTIL_PCT));
        acc.util_sum += i64::from(r.util_avg);
        acc.util_max = acc.util_max.max(r.util_max);
        acc.mem_max_mib = acc.mem_max_mib.max(r.mem_max_mib);
        if let Some(p) = r.power_avg {
            acc.power_sum += i64::from(p);
            acc.power_minutes += 1;
        }
        acc.temp_max = acc.temp_max.max(r.temp_max);
    }
    let hours: Vec<_> = hours.into_iter().collect();
    let max = greatest(backend);
    const COLS: usize = 12;
    for chunk in hours.chunks(MAX_PARAMS / COLS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * COLS);
        for ((hour, gpu, holder), a) in chunk {
            values.extend([
                host_id.into(),
                (*hour).into(),
                (*gpu).into(),
                (*holder).into(),
                a.minutes.into(),
                a.busy_minutes.into(),
                a.util_sum.into(),
                a.util_max.into(),
                a.mem_max_mib.into(),
                a.power_sum.into(),
                a.power_minutes.into(),
                a.temp_max.into(),
            ]);
        }
        txn.execute_raw(stmt(
            backend,
            &format!(
                "INSERT INTO gpu_hours (host_id, hour, gpu, holder, minutes, busy_minutes, \
                 util_sum, util_max, mem_max_mib, power_sum, power_minutes, temp_max) VALUES {rows} \
                 ON CONFLICT (host_id, hour, gpu, holder) DO UPDATE SET \
                 minutes = gpu_hours.minutes + excluded.minutes, \
                 busy_minutes = gpu_hours.busy_minutes + excluded.busy_minutes, \
                 util_sum = gpu_hours.util_sum + excluded.util_sum, \
                 util_max = {max}(gpu_hours.util_max, excluded.util_max), \
                 mem_max_mib = {max}(gpu_hours.mem_max_mib, excluded.mem_max_mib), \
                 power_sum = gpu_hours.power_sum + excluded.power_sum, \
                 power_minutes = gpu_hours.power_minutes + excluded.power_minutes, \
                 temp_max = {max}(COALESCE(gpu_hours.temp_max, excluded.temp_max), \
                                  COALESCE(excluded.temp_max, gpu_hours.temp_max))",
                rows = rows_of(chunk.len(), COLS)
            ),
            values,
        ))
        .await?;
    }
    // The same increments summed per hour over GPUs and holders, for capacity reports.
    let mut per_hour: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for ((hour, _, _), a) in &hours {
        let totals = per_hour.entry(*hour).or_default();
        totals.0 += i64::from(a.minutes);
        totals.1 += i64::from(a.busy_minutes);
    }
    let per_hour: Vec<_> = per_hour.into_iter().collect();
    for chunk in per_hour.chunks(MAX_PARAMS / 4) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        for (hour, (minutes, busy)) in chunk {
            values.extend([
                host_id.into(),
                (*hour).into(),
                (*minutes).into(),
                (*busy).into(),
            ]);
        }
        txn.execute_raw(stmt(
            backend,
            &format!(
                "INSERT INTO host_hours (host_id, hour, minutes, busy_minutes) VALUES {rows} \
                 ON CONFLICT (host_id, hour) DO UPDATE SET \
                 minutes = host_hours.minutes + excluded.minutes, \
                 busy_minutes = host_hours.busy_minutes + excluded.busy_minutes",
                rows = rows_of(chunk.len(), 4)
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

async fn upsert_activity(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    host: &str,
    activity: &BTreeMap<&str, (i64, Option<i64>)>,
) -> Result<(), DbErr> {
    if activity.is_empty() {
        return Ok(());
    }
    let max = greatest(backend);
    let entries: Vec<_> = activity.iter().collect();
    for chunk in entries.chunks(MAX_PARAMS / 4) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        for (id, (held, active)) in chunk {
            values.extend([host.into(), (**id).into(), (*held).into(), (*active).into()]);
        }
        txn.execute_raw(stmt(
            backend,
            &format!(
                "INSERT INTO container_gpu_activity (host, container_id, last_held_at, last_active_at) \
                 VALUES {rows} ON CONFLICT (host, container_id) DO UPDATE SET \
                 last_held_at = {max}(container_gpu_activity.last_held_at, excluded.last_held_at), \
                 last_active_at = {max}(COALESCE(container_gpu_activity.last_active_at, excluded.last_active_at), \
                                        COALESCE(excluded.last_active_at, container_gpu_activity.last_active_at))",
                rows = rows_of(chunk.len(), 4)
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_small_and_clamped() {
        assert_eq!(pct(42.4), 42);
        assert_eq!(pct(101.0), 100);
        assert_eq!(pct(f32::NAN), 0);
        assert_eq!(mib_ceil(0), 0);
        assert_eq!(mib_ceil(1), 1);
        assert_eq!(mib_ceil(80 * 1024 * MIB), 81_920);
    }
}
