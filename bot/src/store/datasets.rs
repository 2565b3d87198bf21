//! The dataset registry: datasets, their versions, the copies on each host, the copies the bot
//! asked for (transfers) and the datasets bookings need. Commands write here after their agent
//! call succeeded; the poller reconciles the copies with what each agent lists
//! ([`Db::store_datasets`]). Every change a person asked for, and every automatic one (a scan
//! ending, a copy removed to make room), is audited in the same transaction.

use std::collections::HashMap;

use maison_agent_api::datasets::{DatasetInventory, ReplicaInfo, ReplicaState};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, QueryResult};

use super::sql::{get, list_of, stmt};
use super::{AuditEntry, Db};
use crate::core::datasets::{
    Catalog, DatasetEvent, DatasetVersion, Replica, SYSTEM_ACTOR, Transfer, TransferState,
    origin_str, parse_origin, parse_state, state_str,
};
use crate::core::message::OutgoingMessage;

const VERSION_COLUMNS: &str = "v.id, v.dataset, v.version, v.manifest, v.total_bytes, \
     v.total_files, v.registered_host, v.registered_path, v.registered_by, d.created_by, v.note, \
     v.created_at";

const REPLICA_COLUMNS: &str = "version_id, host, state, origin, path, present_bytes, \
     total_bytes, rate, sources, error, last_mounted, mounted_count, pinned, last_verified_at, \
     verify_bad_count, created_at, updated_at";

const TRANSFER_COLUMNS: &str = "t.id, t.version_id, t.host, t.requested_by, t.booking_id, \
     t.sources, t.state, t.total_bytes, t.present_bytes, t.rate, t.started_at, t.finished_at, \
     t.error";

/// A version to register, with the agent's first answer about its directory.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub note: Option<&'a str>,
    pub actor: &'a str,
    /// Admins may add versions to anyone's dataset.
    pub is_admin: bool,
    pub request_id: &'a str,
    pub replica: &'a ReplicaInfo,
}

/// What registering did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The new version's id.
    Added(i64),
    /// `name@version` exists already: versions never change.
    AlreadyRegistered,
    /// The dataset belongs to someone else, who alone (or an admin) adds versions.
    NotOwner { owner: String },
}

/// A copy to start recording, after the destination's agent accepted it.
#[derive(Debug, Clone)]
pub struct NewTransfer<'a> {
    pub version: &'a DatasetVersion,
    pub host: &'a str,
    pub requested_by: &'a str,
    pub booking_id: Option<i64>,
    pub sources: &'a [String],
    pub request_id: &'a str,
    /// The agent's answer to the fetch.
    pub replica: &'a ReplicaInfo,
    /// The message that will show the progress (edited by the poller once it is posted).
    pub progress: Option<&'a OutgoingMessage>,
}

/// What starting a transfer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStart {
    Started(i64),
    /// A copy of this version to this host is already running (its id); nothing was written.
    AlreadyRunning(i64),
}

/// A transfer whose progress message is posted and not yet in its final state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressToShow {
    pub transfer: Transfer,
    pub label: String,
    pub channel: String,
    pub ts: String,
    pub last_progress_at: Option<i64>,
}

/// What a finished first scan found.
struct ScanResult<'a> {
    manifest: &'a str,
    total_bytes: u64,
    total_files: u64,
}

/// Who changes a copy, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct DatasetActor<'a> {
    pub user: &'a str,
    pub request_id: &'a str,
}

impl Db {
    /// The whole registry: versions (oldest first), every copy, the running transfers.
    pub async fn dataset_catalog(&self) -> Result<Catalog, DbErr> {
        catalog(self.reader()).await
    }

    /// Registers `name@version` with its first copy (being scanned) in one transaction: the
    /// dataset row if new, the version, the copy and the audit record. Nothing is written
    /// unless the caller may add versions to the dataset and the version is new.
    pub async fn register_dataset_version(
        &self,
        new: &NewVersion<'_>,
        now: i64,
    ) -> Result<Registered, DbErr> {
        let txn = self.begin_write().await?;
        let backend = txn.get_database_backend();
        // Whoever registers a name first owns it; a concurrent first registration of the same
        // name is then simply not the owner's.
        txn.execute_raw(stmt(
            backend,
            "INSERT INTO datasets (name, created_by, note, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (name) DO NOTHING",
            vec![
                new.name.into(),
                new.actor.into(),
                new.note.map(str::to_owned).into(),
                now.into(),
            ],
        ))
        .await?;
        let owner = txn
            .query_one_raw(stmt(
                backend,
                "SELECT created_by FROM datasets WHERE name = ?",
                vec![new.name.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("dataset just written".to_owned()))?;
        let owner: String = get(&owner, 0)?;
        if owner != new.actor && !new.is_admin {
            return Ok(Registered::NotOwner { owner });
        }
        let inserted = txn
            .query_one_raw(stmt(
                backend,
                "INSERT INTO dataset_versions (dataset, version, registered_host, \
                 registered_path, registered_by, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (dataset, version) DO NOTHING RETURNING id",
                vec![
                    new.name.into(),
                    new.version.into(),
                    new.host.into(),
                    new.path.into(),
                    new.actor.into(),
                    new.note.map(str::to_owned).into(),
                    now.into(),
                ],
            ))
            .await?;
        let Some(row) = inserted else {
            return Ok(Registered::AlreadyRegistered);
        };
        let id: i64 = get(&row, 0)?;
        upsert_replica(&txn, id, new.host, new.replica, now).await?;
        let entry = AuditEntry {
            actor: new.actor,
            action: "data add",
            target: format!(
                "dataset {}@{} on {} ({})",
                new.name, new.version, new.host, new.path
            ),
            outcome: "ok",
            request_id: new.request_id,
            detail: new.note.map(str::to_owned),
        };
        Db::audit(&txn, now, entry).await?;
        txn.commit().await?;
        Ok(Registered::Added(id))
    }

    /// Records a copy the destination's agent has started (or resumed): the transfer, the copy
    /// as the agent described it, the progress message (queued through the outbox, so it is
    /// never lost) and the audit record, in one transaction.
    pub async fn start_transfer(
        &self,
        new: &NewTransfer<'_>,
        now: i64,
    ) -> Result<TransferStart, DbErr> {
        let txn = self.begin_write().await?;
        let backend = txn.get_database_backend();
        let running_sql = "SELECT id FROM dataset_transfers WHERE version_id = ? AND host = ? \
                           AND state = 'running'";
        let running = txn
            .query_one_raw(stmt(
                backend,
                running_sql,
                vec![new.version.id.into(), new.host.into()],
            ))
            .await?;
        if let Some(row) = running {
            return Ok(TransferStart::AlreadyRunning(get(&row, 0)?));
        }
        upsert_replica(&txn, new.version.id, new.host, new.replica, now).await?;
        // On PostgreSQL a concurrent start of the same copy can pass the check above; the
        // one-running index decides, and the later one hears of the earlier (dropping `txn`
        // undoes its replica update).
        let inserted = txn
            .query_one_raw(stmt(
                backend,
                "INSERT INTO dataset_transfers (version_id, host, requested_by, booking_id, \
                 sources, state, total_bytes, present_bytes, rate, started_at, request_id) \
                 VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?) \
                 ON CONFLICT (version_id, host) WHERE state = 'running' DO NOTHING RETURNING id",
                vec![
                    new.version.id.into(),
                    new.host.into(),
                    new.requested_by.into(),
                    new.booking_id.into(),
                    new.sources.join(",").into(),
                    to_db(new.version.total_bytes).into(),
                    to_db(new.replica.present_bytes).into(),
                    to_db(new.replica.rate_bytes_per_sec).into(),
                    now.into(),
                    new.request_id.into(),
                ],
            ))
            .await?;
        let Some(row) = inserted else {
            let earlier = txn
                .query_one_raw(stmt(
                    backend,
                    running_sql,
                    vec![new.version.id.into(), new.host.into()],
                ))
                .await?
                .ok_or_else(|| DbErr::RecordNotFound("the copy that won the race".to_owned()))?;
            return Ok(TransferStart::AlreadyRunning(get(&earlier, 0)?));
        };
        let id: i64 = get(&row, 0)?;
        if let Some(message) = new.progress {
            let key = format!("dataset:progress:{id}");
            Db::enqueue_on(&txn, message, now, Some(&key)).await?;
            txn.execute_raw(stmt(
                backend,
                "UPDATE dataset_transfers SET progress_outbox_id = \
                 (SELECT id FROM outbox WHERE dedupe_key = ?) WHERE id = ?",
                vec![key.into(), id.into()],
            ))
            .await?;
        }
        let entry = AuditEntry {
            actor: new.requested_by,
            action: "data get",
            target: format!("dataset {} to {}", new.version.label(), new.host),
            outcome: "ok",
            request_id: new.request_id,
            detail: Some(match new.booking_id {
                Some(booking) => format!(
                    "from {} for booking #{booking} (transfer #{id})",
                    new.sources.join(", ")
                ),
                None => format!("from {} (transfer #{id})", new.sources.join(", ")),
            }),
        };
        Db::audit(&txn, now, entry).await?;
        txn.commit().await?;
        Ok(TransferStart::Started(id))
    }

    /// Records a copy as its agent describes it (after a fetch that was already complete, or
    /// a verification request), without a transfer.
    pub async fn record_replica(
        &self,
        version_id: i64,
        host: &str,
        replica: &ReplicaInfo,
        now: i64,
    ) -> Result<(), DbErr> {
        upsert_replica(self.connection(), version_id, host, replica, now).await
    }

    /// Forgets copies their agent has removed, with one audit record each: `reason` says why
    /// (`data rm`, or room made for another copy). A running transfer to a removed copy ends
    /// as failed.
    pub async fn forget_replicas(
        &self,
        removed: &[(&DatasetVersion, &str)],
        actor: DatasetActor<'_>,
        action: &str,
        reason: Option<&str>,
        now: i64,
    ) -> Result<(), DbErr> {
        let txn = self.begin_write().await?;
        let backend = txn.get_database_backend();
        for (version, host) in removed {
            txn.execute_raw(stmt(
                backend,
                "DELETE FROM dataset_replicas WHERE version_id = ? AND host = ?",
                vec![version.id.into(), (*host).into()],
            ))
            .await?;
            txn.execute_raw(stmt(
                backend,
                "UPDATE dataset_transfers SET state = 'failed', finished_at = ?, \
                 error = 'the copy was removed' WHERE version_id = ? AND host = ? \
                 AND state = 'running'",
                vec![now.into(), version.id.into(), (*host).into()],
            ))
            .await?;
            let entry = AuditEntry {
                actor: actor.user,
                action,
                target: format!("dataset {} on {host}", version.label()),
                outcome: "ok",
                request_id: actor.request_id,
                detail: reason.map(str::to_owned),
            };
            Db::audit(&txn, now, entry).await?;
        }
        txn.commit().await
    }

    /// Pins or unpins a copy; `false` when there is no such copy.
    pub async fn set_pinned(
        &self,
        version: &DatasetVersion,
        host: &str,
        pinned: bool,
        actor: DatasetActor<'_>,
        now: i64,
    ) -> Result<bool, DbErr> {
        let txn = self.begin_write().await?;
        let updated = txn
            .execute_raw(stmt(
                txn.get_database_backend(),
                "UPDATE dataset_replicas SET pinned = ? WHERE version_id = ? AND host = ?",
                vec![pinned.into(), version.id.into(), host.into()],
            ))
            .await?
            .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        let entry = AuditEntry {
            actor: actor.user,
            action: if pinned { "data pin" } else { "data unpin" },
            target: format!("dataset {} on {host}", version.label()),
            outcome: "ok",
            request_id: actor.request_id,
            detail: None,
        };
        Db::audit(&txn, now, entry).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Records a verification the agent has started, and who is to hear its outcome.
    pub async fn request_verification(
        &self,
        version: &DatasetVersion,
        host: &str,
        replica: &ReplicaInfo,
        actor: DatasetActor<'_>,
        now: i64,
    ) -> Result<(), DbErr> {
        let txn = self.begin_write().await?;
        upsert_replica(&txn, version.id, host, replica, now).await?;
        txn.execute_raw(stmt(
            txn.get_database_backend(),
            "UPDATE dataset_replicas SET verify_requested_by = ?, verify_requested_at = ? \
             WHERE version_id = ? AND host = ?",
            vec![
                actor.user.into(),
                now.into(),
                version.id.into(),
                host.into(),
            ],
        ))
        .await?;
        let entry = AuditEntry {
            actor: actor.user,
            action: "data verify",
            target: format!("dataset {} on {host}", version.label()),
            outcome: "started",
            request_id: actor.request_id,
            detail: None,
        };
        Db::audit(&txn, now, entry).await?;
        txn.commit().await
    }

    /// Reconciles one host's copies with what its agent lists, polled at `polled_at`: each
    /// listed copy of a registered version is stored; copies the agent no longer lists are
    /// forgotten (unless written after the poll began); a first scan that ended gives its
    /// version the manifest; running transfers take the copy's progress and end with it. What
    /// someone should hear about becomes messages (`notify`), queued in the same transaction.
    pub async fn store_datasets(
        &self,
        host: &str,
        inventory: &DatasetInventory,
        polled_at: i64,
        now: i64,
        notify: &(dyn Fn(&DatasetEvent) -> Vec<OutgoingMessage> + Sync),
    ) -> Result<(), DbErr> {
        let txn = self.begin_write().await?;
        let versions = versions(&txn).await?;
        let by_label: HashMap<(&str, &str), &DatasetVersion> = versions
            .iter()
            .map(|v| ((v.dataset.as_str(), v.version.as_str()), v))
            .collect();
        let mut events = Vec::new();
        let mut listed = Vec::new();
        for info in &inventory.replicas {
            let Some(version) = by_label.get(&(info.name.as_str(), info.version.as_str())) else {
                // A copy the registry does not know (registered elsewhere, or a lost
                // database): left alone, never adopted silently.
                continue;
            };
            match (&version.manifest, &info.manifest) {
                (Some(known), Some(reported)) if known != reported => {
                    tracing::warn!(host, version = %version.label(), "a copy with another manifest than its version's; ignored");
                    continue;
                }
                (None, Some(manifest)) if info.state == ReplicaState::Complete => {
                    let scanned = ScanResult {
                        manifest,
                        total_bytes: info.total_bytes,
                        total_files: info.total_files,
                    };
                    events.extend(finish_scan(&txn, version, host, &scanned, now).await?);
                }
                (None, _) if info.state == ReplicaState::Failed => {
                    events.push(DatasetEvent::ScanFailed {
                        version: (*version).clone(),
                        error: info.error.clone().unwrap_or_else(|| "unknown".to_owned()),
                    });
                }
                _ => {}
            }
            upsert_replica(&txn, version.id, host, info, now).await?;
            events.extend(verification_done(&txn, version, host, info).await?);
            listed.push(version.id);
        }
        forget_unlisted(&txn, host, &listed, polled_at).await?;
        events.extend(advance_transfers(&txn, &versions, host, inventory, now).await?);
        for event in &events {
            let key = event.dedupe_key();
            for message in notify(event) {
                Db::enqueue_on(&txn, &message, now, Some(&key)).await?;
            }
        }
        txn.commit().await
    }

    /// Transfers whose progress message has been posted and does not show their end yet.
    pub async fn progress_to_show(&self) -> Result<Vec<ProgressToShow>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!(
                    "SELECT {TRANSFER_COLUMNS}, v.dataset, v.version, o.channel_id, \
                     o.message_ts, t.last_progress_at FROM dataset_transfers t \
                     JOIN dataset_versions v ON v.id = t.version_id \
                     JOIN outbox o ON o.id = t.progress_outbox_id \
                     WHERE NOT t.progress_final AND o.message_ts IS NOT NULL ORDER BY t.id"
                ),
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let dataset: String = get(r, 13)?;
                let version: String = get(r, 14)?;
                Ok(ProgressToShow {
                    transfer: transfer_from_row(r)?,
                    label: format!("{dataset}@{version}"),
                    channel: get(r, 15)?,
                    ts: get(r, 16)?,
                    last_progress_at: get(r, 17)?,
                })
            })
            .collect()
    }

    /// Notes that a transfer's progress message was edited at `at`; `last` when it now shows
    /// the end, after which it is left alone.
    pub async fn progress_shown(&self, transfer_id: i64, at: i64, last: bool) -> Result<(), DbErr> {
        self.connection()
            .execute_raw(stmt(
                self.backend(),
                "UPDATE dataset_transfers SET last_progress_at = ?, progress_final = ? WHERE id = ?",
                vec![at.into(), last.into(), transfer_id.into()],
            ))
            .await?;
        Ok(())
    }

    /// Records the dataset a booking was made with (`book --data`).
    pub async fn link_booking_dataset(
        &self,
        booking_id: i64,
        version_id: i64,
    ) -> Result<(), DbErr> {
        self.connection()
            .execute_raw(stmt(
                self.backend(),
                "INSERT INTO booking_datasets (booking_id, version_id) VALUES (?, ?) \
                 ON CONFLICT (booking_id) DO NOTHING",
                vec![booking_id.into(), version_id.into()],
            ))
            .await?;
        Ok(())
    }

    /// `(booking id, version id)` of those of `bookings` made with `--data`.
    pub async fn booking_datasets(&self, bookings: &[i64]) -> Result<Vec<(i64, i64)>, DbErr> {
        if bookings.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .reader()
            .query_all_raw(stmt(
                self.backend(),
                &format!(
                    "SELECT booking_id, version_id FROM booking_datasets WHERE booking_id IN ({})",
                    list_of(bookings.len())
                ),
                bookings.iter().map(|id| (*id).into()).collect(),
            ))
            .await?;
        rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect()
    }

    /// Versions that bookings on `host` overlapping `from..to` were made with (`--data`):
    /// their copies there must stay.
    pub async fn datasets_needed_on(
        &self,
        host: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<i64>, DbErr> {
        let rows = self
            .reader()
            .query_all_raw(stmt(
                self.backend(),
                "SELECT DISTINCT bd.version_id FROM booking_datasets bd \
                 JOIN bookings b ON b.id = bd.booking_id \
                 WHERE b.host = ? AND b.start_at < ? AND b.end_at > ? \
                 AND b.cancelled_at IS NULL AND b.released_at IS NULL",
                vec![host.into(), to.into(), from.into()],
            ))
            .await?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    /// Every transfer, newest first (for tests and `jobs`-style inspection).
    pub async fn dataset_transfers(&self) -> Result<Vec<Transfer>, DbErr> {
        let rows = self
            .connection()
            .query_all_raw(stmt(
                self.backend(),
                &format!("SELECT {TRANSFER_COLUMNS} FROM dataset_transfers t ORDER BY t.id DESC"),
                vec![],
            ))
            .await?;
        rows.iter().map(transfer_from_row).collect()
    }
}

/// The first scan of `version` ended on `host`: the version gets its manifest and size, unless
/// another version already has the same content (then the scan counts as failed: two names
/// for one content would make copies ambiguous).
async fn finish_scan(
    txn: &DatabaseTransaction,
    version: &DatasetVersion,
    host: &str,
    scanned: &ScanResult<'_>,
    now: i64,
) -> Result<Option<DatasetEvent>, DbErr> {
    let backend = txn.get_database_backend();
    let manifest = scanned.manifest.to_owned();
    let twin = txn
        .query_one_raw(stmt(
            backend,
            "SELECT dataset, version FROM dataset_versions WHERE manifest = ?",
            vec![manifest.clone().into()],
        ))
        .await?;
    if let Some(twin) = twin {
        let (dataset, label): (String, String) = (get(&twin, 0)?, get(&twin, 1)?);
        return Ok(Some(DatasetEvent::ScanFailed {
            version: version.clone(),
            error: format!(
                "its files are exactly those of {dataset}@{label}, which is already registered"
            ),
        }));
    }
    let updated = txn
        .execute_raw(stmt(
            backend,
            "UPDATE dataset_versions SET manifest = ?, total_bytes = ?, total_files = ?, \
             scanned_at = ? WHERE id = ? AND manifest IS NULL",
            vec![
                manifest.clone().into(),
                to_db(scanned.total_bytes).into(),
                to_db(scanned.total_files).into(),
                now.into(),
                version.id.into(),
            ],
        ))
        .await?
        .rows_affected();
    if updated == 0 {
        return Ok(None);
    }
    let entry = AuditEntry {
        actor: SYSTEM_ACTOR,
        action: "data scanned",
        target: format!("dataset {} on {host}", version.label()),
        outcome: "ok",
        request_id: "",
        detail: Some(format!(
            "manifest {manifest}: {} files, {} bytes",
            scanned.total_files, scanned.total_bytes
        )),
    };
    Db::audit(txn, now, entry).await?;
    let mut ready = version.clone();
    ready.manifest = Some(manifest);
    ready.total_bytes = scanned.total_bytes;
    ready.total_files = scanned.total_files;
    Ok(Some(DatasetEvent::Scanned { version: ready }))
}

/// A verification someone asked for whose outcome the agent now reports.
async fn verification_done(
    txn: &DatabaseTransaction,
    version: &DatasetVersion,
    host: &str,
    info: &ReplicaInfo,
) -> Result<Option<DatasetEvent>, DbErr> {
    let Some(outcome) = &info.last_verify else {
        return Ok(None);
    };
    let backend = txn.get_database_backend();
    let asked = txn
        .query_one_raw(stmt(
            backend,
            "SELECT verify_requested_by, verify_requested_at FROM dataset_replicas \
             WHERE version_id = ? AND host = ? AND verify_requested_by IS NOT NULL",
            vec![version.id.into(), host.into()],
        ))
        .await?;
    let Some(asked) = asked else { return Ok(None) };
    let (requested_by, requested_at): (String, i64) = (get(&asked, 0)?, get(&asked, 1)?);
    if outcome.at.timestamp() < requested_at || info.state == ReplicaState::Verifying {
        return Ok(None);
    }
    txn.execute_raw(stmt(
        backend,
        "UPDATE dataset_replicas SET verify_requested_by = NULL, verify_requested_at = NULL \
         WHERE version_id = ? AND host = ?",
        vec![version.id.into(), host.into()],
    ))
    .await?;
    Ok(Some(DatasetEvent::Verified {
        version: version.clone(),
        host: host.to_owned(),
        requested_by,
        requested_at,
        files_checked: outcome.files_checked,
        bad_count: outcome.bad_count,
        bad_files: outcome.bad_files.clone(),
    }))
}

/// Forgets the copies of `host` its agent no longer lists, except those written since the poll
/// began (a `data add` answered meanwhile).
async fn forget_unlisted(
    txn: &DatabaseTransaction,
    host: &str,
    listed: &[i64],
    polled_at: i64,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let rows = txn
        .query_all_raw(stmt(
            backend,
            "SELECT version_id FROM dataset_replicas WHERE host = ? AND updated_at < ?",
            vec![host.into(), polled_at.into()],
        ))
        .await?;
    for row in rows {
        let version_id: i64 = get(&row, 0)?;
        if !listed.contains(&version_id) {
            txn.execute_raw(stmt(
                backend,
                "DELETE FROM dataset_replicas WHERE version_id = ? AND host = ?",
                vec![version_id.into(), host.into()],
            ))
            .await?;
        }
    }
    Ok(())
}

/// Moves the running transfers to `host` along with the copies the agent lists: progress and
/// rate, then complete or failed with the copy.
async fn advance_transfers(
    txn: &DatabaseTransaction,
    versions: &[DatasetVersion],
    host: &str,
    inventory: &DatasetInventory,
    now: i64,
) -> Result<Vec<DatasetEvent>, DbErr> {
    let backend = txn.get_database_backend();
    let rows = txn
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT {TRANSFER_COLUMNS} FROM dataset_transfers t \
                 WHERE t.host = ? AND t.state = 'running'"
            ),
            vec![host.into()],
        ))
        .await?;
    let mut events = Vec::new();
    for row in rows {
        let mut transfer = transfer_from_row(&row)?;
        let Some(version) = versions.iter().find(|v| v.id == transfer.version_id) else {
            continue;
        };
        let Some(info) = inventory.replicas.iter().find(|r| {
            r.name == version.dataset
                && r.version == version.version
                && r.manifest.as_deref() == version.manifest.as_deref()
        }) else {
            continue;
        };
        let (state, finished_at, error) = match info.state {
            ReplicaState::Complete | ReplicaState::Verifying => {
                (TransferState::Complete, Some(now), None)
            }
            ReplicaState::Failed => (
                TransferState::Failed,
                Some(now),
                Some(info.error.clone().unwrap_or_else(|| "unknown".to_owned())),
            ),
            _ => (TransferState::Running, None, None),
        };
        let present = if state == TransferState::Complete {
            transfer.total_bytes.max(info.present_bytes)
        } else {
            info.present_bytes
        };
        txn.execute_raw(stmt(
            backend,
            "UPDATE dataset_transfers SET state = ?, present_bytes = ?, rate = ?, \
             finished_at = ?, error = ? WHERE id = ?",
            vec![
                state.as_str().into(),
                to_db(present).into(),
                to_db(info.rate_bytes_per_sec).into(),
                finished_at.into(),
                error.clone().into(),
                transfer.id.into(),
            ],
        ))
        .await?;
        if state == TransferState::Failed {
            transfer.state = state;
            transfer.present_bytes = present;
            transfer.finished_at = finished_at;
            transfer.error = error;
            events.push(DatasetEvent::TransferFailed {
                version: version.clone(),
                transfer,
            });
        }
    }
    Ok(events)
}

/// Inserts or refreshes one copy as its agent describes it, keeping what only the bot knows
/// (pinned, who asked for a verification, when it first appeared).
async fn upsert_replica<C: ConnectionTrait>(
    conn: &C,
    version_id: i64,
    host: &str,
    info: &ReplicaInfo,
    now: i64,
) -> Result<(), DbErr> {
    let verified = info.last_verify.as_ref();
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "INSERT INTO dataset_replicas (version_id, host, state, origin, path, present_bytes, \
         total_bytes, rate, sources, error, last_mounted, mounted_count, last_verified_at, \
         verify_bad_count, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (version_id, host) DO UPDATE SET state = excluded.state, \
         origin = excluded.origin, path = excluded.path, \
         present_bytes = excluded.present_bytes, total_bytes = excluded.total_bytes, \
         rate = excluded.rate, sources = excluded.sources, error = excluded.error, \
         last_mounted = excluded.last_mounted, mounted_count = excluded.mounted_count, \
         last_verified_at = excluded.last_verified_at, \
         verify_bad_count = excluded.verify_bad_count, updated_at = excluded.updated_at",
        vec![
            version_id.into(),
            host.into(),
            state_str(info.state).into(),
            origin_str(info.origin).into(),
            info.path.clone().into(),
            to_db(info.present_bytes).into(),
            to_db(info.total_bytes).into(),
            to_db(info.rate_bytes_per_sec).into(),
            info.sources.join(",").into(),
            info.error.clone().into(),
            info.last_mounted.map(|t| t.timestamp()).into(),
            (info.mounted_by.len().min(i32::MAX as usize) as i32).into(),
            verified.map(|v| v.at.timestamp()).into(),
            verified.map(|v| to_db(v.bad_count)).into(),
            now.into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

async fn catalog<C: ConnectionTrait>(conn: &C) -> Result<Catalog, DbErr> {
    let backend = conn.get_database_backend();
    let versions = versions(conn).await?;
    let replicas = conn
        .query_all_raw(stmt(
            backend,
            &format!("SELECT {REPLICA_COLUMNS} FROM dataset_replicas ORDER BY version_id, host"),
            vec![],
        ))
        .await?
        .iter()
        .map(replica_from_row)
        .collect::<Result<_, _>>()?;
    let transfers = conn
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT {TRANSFER_COLUMNS} FROM dataset_transfers t WHERE t.state = 'running' \
                 ORDER BY t.id"
            ),
            vec![],
        ))
        .await?
        .iter()
        .map(transfer_from_row)
        .collect::<Result<_, _>>()?;
    Ok(Catalog {
        versions,
        replicas,
        transfers,
    })
}

async fn versions<C: ConnectionTrait>(conn: &C) -> Result<Vec<DatasetVersion>, DbErr> {
    conn.query_all_raw(stmt(
        conn.get_database_backend(),
        &format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions v \
             JOIN datasets d ON d.name = v.dataset ORDER BY v.id"
        ),
        vec![],
    ))
    .await?
    .iter()
    .map(version_from_row)
    .collect()
}

fn version_from_row(r: &QueryResult) -> Result<DatasetVersion, DbErr> {
    Ok(DatasetVersion {
        id: get(r, 0)?,
        dataset: get(r, 1)?,
        version: get(r, 2)?,
        manifest: get(r, 3)?,
        total_bytes: from_db(get(r, 4)?),
        total_files: from_db(get(r, 5)?),
        registered_host: get(r, 6)?,
        registered_path: get(r, 7)?,
        registered_by: get(r, 8)?,
        owner: get(r, 9)?,
        note: get(r, 10)?,
        created_at: get(r, 11)?,
    })
}

fn replica_from_row(r: &QueryResult) -> Result<Replica, DbErr> {
    let state: String = get(r, 2)?;
    let origin: String = get(r, 3)?;
    Ok(Replica {
        version_id: get(r, 0)?,
        host: get(r, 1)?,
        state: parse_state(&state),
        origin: parse_origin(&origin),
        path: get(r, 4)?,
        present_bytes: from_db(get(r, 5)?),
        total_bytes: from_db(get(r, 6)?),
        rate: from_db(get(r, 7)?),
        sources: split_list(&get::<String>(r, 8)?),
        error: get(r, 9)?,
        last_mounted: get(r, 10)?,
        mounted_count: get::<i32>(r, 11)?.max(0) as u32,
        pinned: get(r, 12)?,
        last_verified_at: get(r, 13)?,
        verify_bad_count: get::<Option<i64>>(r, 14)?.map(from_db),
        created_at: get(r, 15)?,
        updated_at: get(r, 16)?,
    })
}

fn transfer_from_row(r: &QueryResult) -> Result<Transfer, DbErr> {
    let state: String = get(r, 6)?;
    Ok(Transfer {
        id: get(r, 0)?,
        version_id: get(r, 1)?,
        host: get(r, 2)?,
        requested_by: get(r, 3)?,
        booking_id: get(r, 4)?,
        sources: split_list(&get::<String>(r, 5)?),
        state: TransferState::parse(&state),
        total_bytes: from_db(get(r, 7)?),
        present_bytes: from_db(get(r, 8)?),
        rate: from_db(get(r, 9)?),
        started_at: get(r, 10)?,
        finished_at: get(r, 11)?,
        error: get(r, 12)?,
    })
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Byte counts are `BIGINT`: far beyond any disk, but stored signed.
fn to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn from_db(n: i64) -> u64 {
    n.max(0) as u64
}
