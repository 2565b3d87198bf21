//! The hosts table (synced from the config, drained or not) and the fleet as last seen by the
//! poller, read back: host reachability and facts, current GPU readings, the container and
//! image caches, GPU metrics (minute rows and hourly rollups) and retention. The poller's
//! writes are in `ingest.rs`; nothing here calls an agent. See `docs/fleet.md` for the tables.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maison_agent_api::{ContainerState, ImageSource};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryResult,
    TransactionTrait, Value,
};

use super::entities::host;
use super::sql::{get, like_escape, stmt};
use super::{AuditEntry, Db};
use crate::config::HostConfig;
use crate::core::fleet::{
    GpuActivity, GpuNow, Host, HostState, HostStatus, HourRow, MinuteRow, Occupant, PruneReport,
    StoredContainer, StoredImage, is_id_prefix, normalize_reference,
};
use crate::core::gpus::parse_gpu_list;

pub(crate) const MIB: u64 = 1 << 20;

const CONTAINER_COLUMNS: &str = "c.host, c.id, c.name, c.image, c.image_id, c.state, c.status, \
     c.created_at, c.owner, c.owner_name, c.booking, c.image_source, c.gpus, c.first_seen_at, \
     COALESCE(h.last_seen_at, c.first_seen_at)";

const IMAGE_COLUMNS: &str = "i.host, i.id, i.tags, i.size_bytes, i.created_at, i.in_use, \
     i.dangling, i.owner, i.first_seen_at, COALESCE(h.last_seen_at, i.first_seen_at), \
     i.parent_id";

/// How long every host's status, as read for `status`, is reused. The poller rewrites it every
/// few seconds at most, while `status` may be asked hundreds of times a second; on PostgreSQL its
/// two statements were half the command's cost. Writes through this process clear it at once;
/// another replica's writes show within this time.
const FLEET_VIEW_TTL: Duration = Duration::from_secs(1);

/// The last read of every host's status, with when it was read and the generation of writes it
/// saw: a read that started before a write never replaces what the write cleared.
#[derive(Debug, Default)]
pub(super) struct FleetView {
    state: Mutex<FleetViewState>,
}

#[derive(Debug, Default)]
struct FleetViewState {
    generation: u64,
    kept: Option<(Instant, Arc<[HostStatus]>)>,
}

impl FleetView {
    /// The statuses if read less than [`FLEET_VIEW_TTL`] ago, else the generation to read at.
    fn fresh(&self) -> Result<Arc<[HostStatus]>, u64> {
        let state = self.state.lock().unwrap();
        match &state.kept {
            Some((at, statuses)) if at.elapsed() < FLEET_VIEW_TTL => Ok(statuses.clone()),
            _ => Err(state.generation),
        }
    }

    fn keep(&self, generation: u64, statuses: &Arc<[HostStatus]>) {
        let mut state = self.state.lock().unwrap();
        if state.generation == generation {
            state.kept = Some((Instant::now(), statuses.clone()));
        }
    }

    fn clear(&self) {
        let mut state = self.state.lock().unwrap();
        state.generation += 1;
        state.kept = None;
    }
}

impl Db {
    /// What the database keeps of the config, made to match it at start-up: the hosts and
    /// the catalogue's house images.
    pub async fn sync_config(&self, config: &crate::config::Config, now: i64) -> Result<(), DbErr> {
        self.sync_hosts(&config.hosts, now).await?;
        self.seed_catalog(&config.images, now).await
    }

    /// Makes the hosts table match the config: new hosts added, GPU counts and URLs updated.
    /// Hosts removed from the config are kept (bookings refer to them) but stop being listed.
    pub async fn sync_hosts(&self, hosts: &[HostConfig], now: i64) -> Result<(), DbErr> {
        for h in hosts {
            let row = host::ActiveModel {
                name: Set(h.name.clone()),
                gpu_count: Set(h.gpus as i32),
                agent_url: Set(h.agent_url.clone()),
                state: Set(HostState::Active.as_str().to_owned()),
                updated_at: Set(now),
            };
            host::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(host::Column::Name)
                        .update_columns([
                            host::Column::GpuCount,
                            host::Column::AgentUrl,
                            host::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec(&self.conn)
                .await?;
        }
        Ok(())
    }

    /// Every host ever configured, by name.
    pub async fn hosts(&self) -> Result<Vec<Host>, DbErr> {
        Ok(host::Entity::find()
            .order_by_asc(host::Column::Name)
            .all(&self.read)
            .await?
            .into_iter()
            .map(Host::from)
            .collect())
    }

    /// The hosts that are in the config, by name (removed ones keep their rows for history).
    pub async fn listed_hosts(&self, configured: &[HostConfig]) -> Result<Vec<Host>, DbErr> {
        Ok(self
            .hosts()
            .await?
            .into_iter()
            .filter(|h| configured.iter().any(|c| c.name == h.name))
            .collect())
    }

    /// Sets a host active or drained; returns false if the host does not exist.
    pub async fn set_host_state(
        &self,
        name: &str,
        state: HostState,
        actor: &str,
        request_id: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        let txn = self.connection().begin().await?;
        let updated = host::Entity::update_many()
            .filter(host::Column::Name.eq(name))
            .col_expr(host::Column::State, state.as_str().into())
            .col_expr(host::Column::UpdatedAt, now.into())
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Ok(false);
        }
        let action = match state {
            HostState::Drained => "host_drain",
            HostState::Active => "host_undrain",
        };
        Db::audit(
            &txn,
            now,
            AuditEntry {
                actor,
                action,
                target: format!("host {name}"),
                outcome: "ok",
                request_id,
                detail: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Every host the poller has tried, sorted by name, with its latest GPU readings.
    /// Shared, not copied: `status` asks for it on every call.
    pub async fn host_statuses(&self) -> Result<Arc<[HostStatus]>, DbErr> {
        let generation = match self.fleet_view.fresh() {
            Ok(statuses) => return Ok(statuses),
            Err(generation) => generation,
        };
        let statuses: Arc<[HostStatus]> = self.read_host_statuses(None).await?.into();
        self.fleet_view.keep(generation, &statuses);
        Ok(statuses)
    }

    /// The poller wrote what it saw: the next reader reads it.
    pub(super) fn fleet_view_changed(&self) {
        self.fleet_view.clear();
    }

    /// One host's status, if the poller has tried it.
    pub async fn host_status(&self, host: &str) -> Result<Option<HostStatus>, DbErr> {
        Ok(self
            .read_host_statuses(Some(host))
            .await?
            .into_iter()
            .next())
    }

    async fn read_host_statuses(&self, host: Option<&str>) -> Result<Vec<HostStatus>, DbErr> {
        let backend = self.backend();
        let (filter, values): (&str, Vec<Value>) = match host {
            Some(h) => (" WHERE host = ?", vec![h.into()]),
            None => ("", vec![]),
        };
        let rows = self
            .reader()
            .query_all_raw(stmt(
                backend,
                &format!(
                    "SELECT host, reachable, changed_at, last_seen_at, last_polled_at, \
                     failing_since, last_error, facts, gpus_simulated FROM host_status{filter} \
                     ORDER BY host"
                ),
                values.clone(),
            ))
            .await?;
        let readings = self
            .reader()
            .query_all_raw(stmt(
                backend,
                &format!(
                    "SELECT host, gpu, at, util_pct, mem_used_bytes, mem_total_bytes, \
                     power_watts, temp_celsius, stale, holders FROM gpu_readings{filter} \
                     ORDER BY host, gpu"
                ),
                values,
            ))
            .await?;
        let mut by_host: HashMap<String, Vec<GpuNow>> = HashMap::new();
        for r in &readings {
            let holders: String = get(r, 9)?;
            by_host.entry(get(r, 0)?).or_default().push(GpuNow {
                gpu: get::<i32>(r, 1)? as u32,
                at: get(r, 2)?,
                util_pct: get(r, 3)?,
                mem_used_bytes: get::<i64>(r, 4)? as u64,
                mem_total_bytes: get::<Option<i64>>(r, 5)?.map(|b| b as u64),
                power_watts: get(r, 6)?,
                temp_celsius: get::<Option<i32>>(r, 7)?.map(|t| t as u32),
                stale: get(r, 8)?,
                holders: serde_json::from_str(&holders).unwrap_or_default(),
            });
        }
        rows.iter()
            .map(|r| {
                let host: String = get(r, 0)?;
                let facts: Option<String> = get(r, 7)?;
                Ok(HostStatus {
                    readings: by_host.remove(&host).unwrap_or_default(),
                    host,
                    reachable: get(r, 1)?,
                    changed_at: get(r, 2)?,
                    last_seen_at: get(r, 3)?,
                    last_polled_at: get(r, 4)?,
                    failing_since: get(r, 5)?,
                    last_error: get(r, 6)?,
                    facts: facts.and_then(|f| serde_json::from_str(&f).ok()),
                    gpus_simulated: get(r, 8)?,
                })
            })
            .collect()
    }

    /// The cached containers of one host, or of every host; by host, then name.
    pub async fn cached_containers(
        &self,
        host: Option<&str>,
    ) -> Result<Vec<StoredContainer>, DbErr> {
        let (filter, values): (&str, Vec<Value>) = match host {
            Some(h) => (" WHERE c.host = ?", vec![h.into()]),
            None => ("", vec![]),
        };
        self.query_containers(filter, values).await
    }

    /// Containers matching `target` across hosts, resolved like Docker does: an exact id,
    /// else an exact name, else an id prefix of at least 4 hex digits. Several hosts can
    /// match; the caller asks which one is meant.
    pub async fn find_container(&self, target: &str) -> Result<Vec<StoredContainer>, DbErr> {
        let target = target.trim().trim_start_matches('/');
        if target.is_empty() {
            return Ok(Vec::new());
        }
        let exact = self
            .query_containers(
                " WHERE c.id = ? OR c.name = ?",
                vec![target.into(), target.into()],
            )
            .await?;
        let by_id: Vec<StoredContainer> =
            exact.iter().filter(|c| c.id == target).cloned().collect();
        if !by_id.is_empty() {
            return Ok(by_id);
        }
        if !exact.is_empty() {
            return Ok(exact);
        }
        if !is_id_prefix(target) {
            return Ok(Vec::new());
        }
        self.query_containers(
            " WHERE c.id LIKE ? ESCAPE '\\'",
            vec![format!("{}%", like_escape(target)).into()],
        )
        .await
        .map(|all| {
            all.into_iter()
                .filter(|c| c.id.starts_with(target))
                .collect()
        })
    }

    async fn query_containers(
        &self,
        filter: &str,
        values: Vec<Value>,
    ) -> Result<Vec<StoredContainer>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!(
                    "SELECT {CONTAINER_COLUMNS} FROM containers c \
                     LEFT JOIN host_status h ON h.host = c.host{filter} ORDER BY c.host, c.name"
                ),
                values,
            ))
            .await?;
        rows.iter().map(container_from_row).collect()
    }

    /// The cached images of one host, or of every host; by host, then first tag, then id.
    pub async fn cached_images(&self, host: Option<&str>) -> Result<Vec<StoredImage>, DbErr> {
        let (filter, values): (&str, Vec<Value>) = match host {
            Some(h) => (" WHERE i.host = ?", vec![h.into()]),
            None => ("", vec![]),
        };
        let mut images = self.query_images(filter, values).await?;
        images.sort_by(|a, b| {
            (&a.host, a.tags.first(), &a.id).cmp(&(&b.host, b.tags.first(), &b.id))
        });
        Ok(images)
    }

    /// Images matching `target` across hosts: a tag or reference (`ubuntu` means
    /// `ubuntu:latest`, `docker.io/library/` is optional), else an exact id, else an id prefix
    /// of at least 4 hex digits; `sha256:` is optional in ids.
    pub async fn find_image(&self, target: &str) -> Result<Vec<StoredImage>, DbErr> {
        let target = target.trim();
        if target.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = normalize_reference(target);
        let repo = short_repository(target);
        let by_tag: Vec<StoredImage> = self
            .query_images(
                " WHERE i.tags LIKE ? ESCAPE '\\'",
                vec![format!("%{}%", like_escape(repo)).into()],
            )
            .await?
            .into_iter()
            .filter(|i| i.tags.iter().any(|t| normalize_reference(t) == wanted))
            .collect();
        if !by_tag.is_empty() {
            return Ok(by_tag);
        }
        let hex = target.strip_prefix("sha256:").unwrap_or(target);
        if !is_id_prefix(hex) {
            return Ok(Vec::new());
        }
        let candidates = self
            .query_images(
                " WHERE i.id LIKE ? ESCAPE '\\' OR i.id LIKE ? ESCAPE '\\'",
                vec![
                    format!("sha256:{}%", like_escape(hex)).into(),
                    format!("{}%", like_escape(hex)).into(),
                ],
            )
            .await?;
        let bare = |id: &str| id.strip_prefix("sha256:").unwrap_or(id).to_owned();
        let exact: Vec<StoredImage> = candidates
            .iter()
            .filter(|i| bare(&i.id) == hex)
            .cloned()
            .collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        Ok(candidates
            .into_iter()
            .filter(|i| bare(&i.id).starts_with(hex))
            .collect())
    }

    async fn query_images(
        &self,
        filter: &str,
        values: Vec<Value>,
    ) -> Result<Vec<StoredImage>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!(
                    "SELECT {IMAGE_COLUMNS} FROM images i \
                     LEFT JOIN host_status h ON h.host = i.host{filter} ORDER BY i.host, i.id"
                ),
                values,
            ))
            .await?;
        rows.iter().map(image_from_row).collect()
    }

    /// End of the last minute in which the container held a busy GPU, if ever seen.
    pub async fn last_gpu_activity(
        &self,
        host: &str,
        container_id: &str,
    ) -> Result<Option<i64>, DbErr> {
        Ok(self
            .gpu_activity(host, container_id)
            .await?
            .and_then(|a| a.last_active_at))
    }

    /// When the container last held a GPU at all, and last held a busy one.
    pub async fn gpu_activity(
        &self,
        host: &str,
        container_id: &str,
    ) -> Result<Option<GpuActivity>, DbErr> {
        let row = self
            .connection()
            .query_one_raw(stmt(
                self.backend(),
                "SELECT last_held_at, last_active_at FROM container_gpu_activity \
                 WHERE host = ? AND container_id = ?",
                vec![host.into(), container_id.into()],
            ))
            .await?;
        row.map(|r| {
            Ok(GpuActivity {
                last_held_at: get(&r, 0)?,
                last_active_at: get(&r, 1)?,
            })
        })
        .transpose()
    }

    /// One host's minute rows with `from <= minute < to`, by minute then GPU.
    pub async fn gpu_minutes(
        &self,
        host: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<MinuteRow>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT m.minute, m.gpu, m.util_avg, m.util_max, m.mem_max_mib, m.power_avg, \
                 m.temp_max, m.owner_id, o.owner FROM gpu_minutes m \
                 JOIN metric_hosts h ON h.id = m.host_id \
                 LEFT JOIN metric_owners o ON o.id = m.owner_id \
                 WHERE h.host = ? AND m.minute >= ? AND m.minute < ? ORDER BY m.minute, m.gpu",
                vec![host.into(), from.into(), to.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MinuteRow {
                    host: host.to_owned(),
                    minute: get(r, 0)?,
                    gpu: get::<i32>(r, 1)? as u32,
                    util_avg_pct: get::<i32>(r, 2)? as u8,
                    util_max_pct: get::<i32>(r, 3)? as u8,
                    mem_max_bytes: get::<i32>(r, 4)? as u64 * MIB,
                    power_avg_watts: get::<Option<i32>>(r, 5)?.map(|p| p as u32),
                    temp_max_celsius: get::<Option<i32>>(r, 6)?.map(|t| t as u32),
                    holder: holder_of(get(r, 7)?, get(r, 8)?),
                })
            })
            .collect()
    }

    /// Hourly rollups with `from <= hour < to`, of one host or all; by host, hour, GPU, holder.
    pub async fn gpu_hours(
        &self,
        host: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<HourRow>, DbErr> {
        let mut values: Vec<Value> = vec![from.into(), to.into()];
        let filter = match host {
            Some(h) => {
                values.push(h.into());
                " AND mh.host = ?"
            }
            None => "",
        };
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!(
                    "SELECT mh.host, g.hour, g.gpu, g.holder, o.owner, g.minutes, g.busy_minutes, \
                     g.util_sum, g.util_max, g.mem_max_mib, g.power_sum, g.power_minutes, g.temp_max \
                     FROM gpu_hours g JOIN metric_hosts mh ON mh.id = g.host_id \
                     LEFT JOIN metric_owners o ON o.id = g.holder \
                     WHERE g.hour >= ? AND g.hour < ?{filter} \
                     ORDER BY mh.host, g.hour, g.gpu, g.holder"
                ),
                values,
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let holder: i32 = get(r, 3)?;
                let minutes = get::<i32>(r, 5)?.max(0) as u32;
                let util_sum: i64 = get(r, 7)?;
                let power_sum: i64 = get(r, 10)?;
                let power_minutes: i32 = get(r, 11)?;
                Ok(HourRow {
                    host: get(r, 0)?,
                    hour: get(r, 1)?,
                    gpu: get::<i32>(r, 2)? as u32,
                    holder: holder_of((holder >= 0).then_some(holder), get(r, 4)?),
                    minutes,
                    busy_minutes: get::<i32>(r, 6)? as u32,
                    util_avg_pct: if minutes == 0 {
                        0.0
                    } else {
                        util_sum as f64 / f64::from(minutes)
                    },
                    util_max_pct: get::<i32>(r, 8)? as u8,
                    mem_max_bytes: get::<i32>(r, 9)? as u64 * MIB,
                    power_avg_watts: (power_minutes > 0)
                        .then(|| power_sum as f64 / f64::from(power_minutes)),
                    temp_max_celsius: get::<Option<i32>>(r, 12)?.map(|t| t as u32),
                })
            })
            .collect()
    }

    /// Deletes minute rows older than `now - minute_keep` (hourly rollups are kept), and GPU
    /// activity of containers that are gone from the cache and idle that long. Run daily.
    pub async fn prune_metrics(
        &self,
        now: i64,
        minute_keep: Duration,
    ) -> Result<PruneReport, DbErr> {
        let cutoff = now - minute_keep.as_secs() as i64;
        let backend = self.backend();
        let conn = self.connection();
        let host_ids = conn
            .query_all_raw(stmt(
                backend,
                "SELECT id FROM metric_hosts ORDER BY id",
                vec![],
            ))
            .await?;
        let mut report = PruneReport::default();
        // Per host, so each delete is a range of the primary key (host_id, minute, gpu) and no
        // single transaction holds the write lock for long.
        for r in &host_ids {
            let id: i32 = get(r, 0)?;
            report.minute_rows += conn
                .execute_raw(stmt(
                    backend,
                    "DELETE FROM gpu_minutes WHERE host_id = ? AND minute < ?",
                    vec![id.into(), cutoff.into()],
                ))
                .await?
                .rows_affected();
        }
        report.activity_rows = conn
            .execute_raw(stmt(
                backend,
                "DELETE FROM container_gpu_activity WHERE last_held_at < ? AND NOT EXISTS \
                 (SELECT 1 FROM containers c WHERE c.host = container_gpu_activity.host \
                 AND c.id = container_gpu_activity.container_id)",
                vec![cutoff.into()],
            ))
            .await?
            .rows_affected();
        Ok(report)
    }
}

fn holder_of(owner_id: Option<i32>, owner: Option<String>) -> Occupant {
    match (owner_id, owner) {
        (None, _) => Occupant::NoContainer,
        (Some(_), Some(owner)) => Occupant::Owner(owner),
        (Some(_), None) => Occupant::Unowned,
    }
}

fn container_from_row(r: &QueryResult) -> Result<StoredContainer, DbErr> {
    let state: String = get(r, 5)?;
    let source: Option<String> = get(r, 11)?;
    let gpus: String = get(r, 12)?;
    Ok(StoredContainer {
        host: get(r, 0)?,
        id: get(r, 1)?,
        name: get(r, 2)?,
        image: get(r, 3)?,
        image_id: get(r, 4)?,
        state: ContainerState::parse(&state),
        status: get(r, 6)?,
        created_at: get(r, 7)?,
        owner: get(r, 8)?,
        owner_name: get(r, 9)?,
        booking: get(r, 10)?,
        image_source: source.as_deref().and_then(ImageSource::parse),
        gpus: parse_gpu_list(&gpus),
        first_seen_at: get(r, 13)?,
        seen_at: get(r, 14)?,
    })
}

fn image_from_row(r: &QueryResult) -> Result<StoredImage, DbErr> {
    let tags: String = get(r, 2)?;
    Ok(StoredImage {
        host: get(r, 0)?,
        id: get(r, 1)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        size_bytes: get::<i64>(r, 3)? as u64,
        created_at: get(r, 4)?,
        in_use: get::<i32>(r, 5)? as u32,
        dangling: get(r, 6)?,
        owner: get(r, 7)?,
        first_seen_at: get(r, 8)?,
        seen_at: get(r, 9)?,
        parent_id: get(r, 10)?,
    })
}

/// The repository's last path segment without tag or digest, for a coarse SQL filter.
fn short_repository(reference: &str) -> &str {
    let r = reference.split('@').next().unwrap_or(reference);
    let last = r.rsplit('/').next().unwrap_or(r);
    last.split(':').next().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_filter_uses_the_last_path_segment() {
        assert_eq!(short_repository("localhost:5000/acme/x:v1"), "x");
        assert_eq!(short_repository("x@sha256:abcd"), "x");
    }
}
