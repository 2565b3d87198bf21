//! Dataset commands: `data add | ls | where | get | rm | pin | unpin | verify`, and the pieces
//! `launch --data` and `book --data` share with them (which copies to mount, starting a copy).
//!
//! The agents hold the data and enforce the rules again (ownership of registered directories,
//! read-only mounts, no removal while mounted, the free-space margin); the bot decides what goes
//! where: which version a name means, which hosts a copy pulls from, which copies make room. It
//! asks the agent first and records what the agent accepted, so the registry never claims
//! something no agent agreed to.

use std::time::Duration;

use maison_agent_api::datasets::{
    DatasetMount, FetchRequest, PeerSource, RegisterRequest, ReplicaState,
};
use maison_command::{DataCommand, DatasetRef};
use tracing::warn;

use super::fleet::within;
use super::{App, ClickAnswer, Ctx};
use crate::core::datasets::{
    Catalog, DatasetVersion, NEEDED_SOON_SECS, Replica, SYSTEM_ACTOR, Transfer, TransferState,
    is_within, plan_eviction,
};
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::Reply;
use crate::core::replies;
use crate::core::replies::buttons;
use crate::core::replies::datasets::{self as data_replies, OwnersOnly};
use crate::core::replies::fleet as fleet_replies;
use crate::ports::AgentApi;
use crate::store::datasets::{DatasetActor, NewTransfer, NewVersion, Registered, TransferStart};

/// An agent's dataset calls only start work (scans and copies run in the background), but a
/// fetch first reads the manifest from a peer: more than the 3 s of a container listing.
const DATASET_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How a request to copy a version to a host ended.
/// What keeping one host's free-space margin did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginKept {
    pub host: String,
    /// The copies removed (`name@version`).
    pub removed: Vec<String>,
    /// Bytes still missing to the margin: what nothing removable could free.
    pub short_after: u64,
}

pub(super) enum CopyOutcome {
    Started {
        sources: Vec<String>,
        /// Labels of the copies removed to make room.
        evicted: Vec<String>,
    },
    AlreadyThere,
    AlreadyCopying(Transfer),
    /// Refused, with the reply that says why.
    Refused(Reply),
}

impl App {
    pub(super) async fn data(&self, ctx: &Ctx<'_>, command: DataCommand) -> anyhow::Result<Reply> {
        match command {
            DataCommand::Add {
                name,
                version,
                host,
                path,
                note,
            } => {
                let add = Addition {
                    name: &name,
                    version: &version,
                    host: &host,
                    path: &path,
                    note: note.as_deref(),
                };
                self.data_add(ctx, &add).await
            }
            DataCommand::Ls => Ok(data_replies::catalog(
                &self.db.dataset_catalog().await?,
                ctx.lang,
            )),
            DataCommand::Where { dataset } => self.data_where(ctx, &dataset).await,
            DataCommand::Get { dataset, host } => self.data_get(ctx, &dataset, &host).await,
            DataCommand::Rm { dataset, host } => self.data_rm(ctx, &dataset, &host).await,
            DataCommand::Pin { dataset, host } => self.data_pin(ctx, &dataset, &host, true).await,
            DataCommand::Unpin { dataset, host } => {
                self.data_pin(ctx, &dataset, &host, false).await
            }
            DataCommand::Verify { dataset, host } => self.data_verify(ctx, &dataset, &host).await,
        }
    }

    async fn data_add(&self, ctx: &Ctx<'_>, add: &Addition<'_>) -> anyhow::Result<Reply> {
        let hosts = self.listed_hosts().await?;
        if !hosts.iter().any(|h| h.name == add.host) {
            return Ok(replies::unknown_host(add.host, &hosts));
        }
        let Some(agent) = self.fleet.agent(add.host) else {
            return Ok(fleet_replies::no_agent(add.host));
        };
        let owner_uid = if ctx.is_admin {
            None
        } else {
            let work = self
                .unix_mapping(&ctx.user.slack_user_id)
                .map(|m| (m.uid, m.work.as_deref()));
            match work {
                Some((uid, Some(work))) if is_within(add.path, work) => Some(uid),
                Some((_, work)) => {
                    return Ok(data_replies::outside_work_root(add.path, work, ctx.lang));
                }
                None => return Ok(data_replies::outside_work_root(add.path, None, ctx.lang)),
            }
        };
        let catalog = self.db.dataset_catalog().await?;
        let existing = catalog.versions_of(add.name);
        if existing.iter().any(|v| v.version == add.version) {
            return Ok(data_replies::already_registered(
                add.name,
                add.version,
                ctx.lang,
            ));
        }
        if let Some(first) = existing.first()
            && first.owner != ctx.user.slack_user_id
            && !ctx.is_admin
        {
            return Ok(data_replies::not_dataset_owner(
                add.name,
                &first.owner,
                OwnersOnly::AddVersions,
                ctx.lang,
            ));
        }
        let request = RegisterRequest {
            name: add.name.to_owned(),
            version: add.version.to_owned(),
            path: add.path.to_owned(),
            owner_uid,
        };
        let label = format!("{}@{}", add.name, add.version);
        let replica = match within(DATASET_CALL_TIMEOUT, agent.register_dataset(&request)).await {
            Ok(replica) => replica,
            Err(err) => {
                return Ok(data_replies::agent_refused(
                    add.host, &label, &err, ctx.lang,
                ));
            }
        };
        let new = NewVersion {
            name: add.name,
            version: add.version,
            host: add.host,
            path: add.path,
            note: add.note,
            actor: &ctx.user.slack_user_id,
            is_admin: ctx.is_admin,
            request_id: ctx.request_id,
            replica: &replica,
        };
        Ok(
            match self
                .db
                .register_dataset_version(&new, ctx.now.timestamp())
                .await?
            {
                Registered::Added(_) => {
                    data_replies::registering(add.name, add.version, add.host, add.path, ctx.lang)
                }
                Registered::AlreadyRegistered => {
                    data_replies::already_registered(add.name, add.version, ctx.lang)
                }
                Registered::NotOwner { owner } => data_replies::not_dataset_owner(
                    add.name,
                    &owner,
                    OwnersOnly::AddVersions,
                    ctx.lang,
                ),
            },
        )
    }

    async fn data_where(&self, ctx: &Ctx<'_>, wanted: &DatasetRef) -> anyhow::Result<Reply> {
        Ok(match self.resolve(wanted, ctx.lang).await? {
            Ok((catalog, version)) => {
                data_replies::where_is(&catalog, &version, ctx.now.timestamp(), ctx.tz, ctx.lang)
            }
            Err(unresolved) => unresolved,
        })
    }

    async fn data_get(
        &self,
        ctx: &Ctx<'_>,
        wanted: &DatasetRef,
        host: &str,
    ) -> anyhow::Result<Reply> {
        let (catalog, version) = match self.resolve(wanted, ctx.lang).await? {
            Ok(resolved) => resolved,
            Err(unresolved) => return Ok(unresolved),
        };
        if let Some(refusal) = self.check_destination(host).await? {
            return Ok(refusal);
        }
        Ok(
            match self
                .copy_dataset(ctx, &catalog, &version, host, None)
                .await?
            {
                CopyOutcome::Started { sources, evicted } => {
                    data_replies::copying(&version, host, &sources, &evicted, ctx.lang)
                }
                CopyOutcome::AlreadyThere => data_replies::already_there(&version, host, ctx.lang),
                CopyOutcome::AlreadyCopying(transfer) => {
                    data_replies::already_copying(&version, &transfer, ctx.lang)
                }
                CopyOutcome::Refused(reply) => reply,
            },
        )
    }

    /// Why `host` cannot receive a copy, if it cannot: unknown, drained or without an agent.
    pub(super) async fn check_destination(&self, host: &str) -> anyhow::Result<Option<Reply>> {
        let hosts = self.listed_hosts().await?;
        let Some(found) = hosts.iter().find(|h| h.name == host) else {
            return Ok(Some(replies::unknown_host(host, &hosts)));
        };
        if found.is_drained() {
            return Ok(Some(fleet_replies::host_drained(host)));
        }
        if self.fleet.agent(host).is_none() {
            return Ok(Some(fleet_replies::no_agent(host)));
        }
        Ok(None)
    }

    /// Asks `host`'s agent to make a complete copy of `version`, pulling from the best hosts
    /// that hold one, after making room there if its disk is short; records the transfer
    /// with its progress message (a DM to the caller).
    pub(super) async fn copy_dataset(
        &self,
        ctx: &Ctx<'_>,
        catalog: &Catalog,
        version: &DatasetVersion,
        host: &str,
        booking_id: Option<i64>,
    ) -> anyhow::Result<CopyOutcome> {
        let Some(agent) = self.fleet.agent(host) else {
            return Ok(CopyOutcome::Refused(fleet_replies::no_agent(host)));
        };
        let Some(manifest) = version.manifest.clone() else {
            return Ok(CopyOutcome::Refused(data_replies::still_scanning(
                version, ctx.lang,
            )));
        };
        if catalog
            .replica(version.id, host)
            .is_some_and(|r| r.is_complete())
        {
            return Ok(CopyOutcome::AlreadyThere);
        }
        if let Some(transfer) = catalog.running_transfer(version.id, host) {
            return Ok(CopyOutcome::AlreadyCopying(transfer.clone()));
        }
        let usable = self.usable_hosts().await?;
        // Peers pull from a source by its agent URL; a host without one cannot serve.
        let peers: Vec<PeerSource> = catalog
            .choose_sources(version.id, host, &usable)
            .into_iter()
            .filter_map(|source| {
                let url = self.agent_url(&source)?;
                Some(PeerSource { host: source, url })
            })
            .collect();
        let sources: Vec<String> = peers.iter().map(|p| p.host.clone()).collect();
        if sources.is_empty() {
            let holders: Vec<&str> = catalog
                .complete_copies(version.id)
                .iter()
                .map(|r| r.host.as_str())
                .collect();
            return Ok(CopyOutcome::Refused(data_replies::no_source(
                version, host, &holders, ctx.lang,
            )));
        }
        let evicted = match self
            .make_room(ctx, catalog, version, host, agent.as_ref())
            .await?
        {
            Ok(evicted) => evicted,
            Err(refusal) => return Ok(CopyOutcome::Refused(refusal)),
        };
        let request = FetchRequest {
            name: version.dataset.clone(),
            version: version.version.clone(),
            manifest,
            sources: peers,
        };
        let replica = match within(DATASET_CALL_TIMEOUT, agent.fetch_dataset(&request)).await {
            Ok(replica) => replica,
            Err(err) => {
                return Ok(CopyOutcome::Refused(data_replies::agent_refused(
                    host,
                    &version.label(),
                    &err,
                    ctx.lang,
                )));
            }
        };
        let now = ctx.now.timestamp();
        if replica.state == ReplicaState::Complete {
            // Everything was there already (a resumed copy, or hard links from a version the
            // host holds).
            self.db
                .record_replica(version.id, host, &replica, now)
                .await?;
            return Ok(CopyOutcome::AlreadyThere);
        }
        let preview = Transfer {
            id: 0,
            version_id: version.id,
            host: host.to_owned(),
            requested_by: ctx.user.slack_user_id.clone(),
            booking_id,
            sources: sources.clone(),
            state: TransferState::Running,
            total_bytes: version.total_bytes,
            present_bytes: replica.present_bytes,
            rate: replica.rate_bytes_per_sec,
            started_at: now,
            finished_at: None,
            error: None,
        };
        let progress = OutgoingMessage {
            to: Recipient::User(ctx.user.slack_user_id.clone()),
            reply: data_replies::progress_message(&version.label(), &preview, now, ctx.lang),
            attachment: None,
        };
        let new = NewTransfer {
            version,
            host,
            requested_by: &ctx.user.slack_user_id,
            booking_id,
            sources: &sources,
            request_id: ctx.request_id,
            replica: &replica,
            progress: Some(&progress),
        };
        Ok(match self.db.start_transfer(&new, now).await? {
            TransferStart::Started(_) => CopyOutcome::Started { sources, evicted },
            TransferStart::AlreadyRunning(_) => {
                let catalog = self.db.dataset_catalog().await?;
                match catalog.running_transfer(version.id, host) {
                    Some(transfer) => CopyOutcome::AlreadyCopying(transfer.clone()),
                    None => CopyOutcome::Started { sources, evicted },
                }
            }
        })
    }

    /// Removes the least recently used removable copies on `host` until `version` fits above
    /// the agent's free-space margin. Returns the labels removed, or the refusal when even all
    /// removable copies would not make room (then nothing is removed). An agent that cannot
    /// say how much room it has is left to refuse the fetch itself.
    async fn make_room(
        &self,
        ctx: &Ctx<'_>,
        catalog: &Catalog,
        version: &DatasetVersion,
        host: &str,
        agent: &dyn AgentApi,
    ) -> anyhow::Result<Result<Vec<String>, Reply>> {
        let Ok(inventory) = within(DATASET_CALL_TIMEOUT, agent.datasets()).await else {
            return Ok(Ok(Vec::new()));
        };
        let Some(free) = inventory.free_bytes else {
            return Ok(Ok(Vec::new()));
        };
        let present = catalog
            .replica(version.id, host)
            .map_or(0, |r| r.present_bytes);
        let needed = version.total_bytes.saturating_sub(present);
        let available = free.saturating_sub(inventory.free_margin_bytes);
        if needed <= available {
            return Ok(Ok(Vec::new()));
        }
        let now = ctx.now.timestamp();
        let needed_soon = self
            .db
            .datasets_needed_on(host, now, now + NEEDED_SOON_SECS)
            .await?;
        let candidates = catalog.eviction_candidates(host, &needed_soon);
        let Some(victims) = plan_eviction(&candidates, needed - available) else {
            return Ok(Err(data_replies::no_room(
                version, host, needed, available, ctx.lang,
            )));
        };
        let reason = format!(
            "room for {} asked by {}",
            version.label(),
            ctx.user.slack_user_id
        );
        let removed = self
            .evict(catalog, host, agent, &victims, &reason, ctx.request_id, now)
            .await?;
        Ok(Ok(removed))
    }

    /// Removes `victims` from `host` (each through its agent), and forgets the copies that
    /// went, audited with `reason`. Returns their labels.
    #[allow(clippy::too_many_arguments)]
    async fn evict(
        &self,
        catalog: &Catalog,
        host: &str,
        agent: &dyn AgentApi,
        victims: &[&Replica],
        reason: &str,
        request_id: &str,
        now: i64,
    ) -> anyhow::Result<Vec<String>> {
        let mut removed = Vec::new();
        for victim in victims {
            let Some(evicted) = catalog.version(victim.version_id) else {
                continue;
            };
            let Some(manifest) = &evicted.manifest else {
                continue;
            };
            match within(DATASET_CALL_TIMEOUT, agent.remove_dataset(manifest)).await {
                Ok(()) => removed.push(evicted),
                Err(err) => {
                    warn!(host, version = %evicted.label(), error = %err, "could not evict a copy");
                }
            }
        }
        let forgotten: Vec<(&DatasetVersion, &str)> = removed.iter().map(|v| (*v, host)).collect();
        let actor = DatasetActor {
            user: SYSTEM_ACTOR,
            request_id,
        };
        self.db
            .forget_replicas(&forgotten, actor, "data evict", Some(reason), now)
            .await?;
        Ok(removed.iter().map(|v| v.label()).collect())
    }

    /// Keeps every host's free-space margin (`[datasets] free_margin` of its agent): where
    /// free space has fallen below it, the least recently used removable copies go (never a
    /// mounted or pinned one, one a booking needs within 24 h, or the last complete copy).
    /// Returns, per host that needed it, what went and whether the margin is met again.
    pub async fn keep_dataset_margins(&self, now: i64) -> anyhow::Result<Vec<MarginKept>> {
        let mut kept = Vec::new();
        for host in self.fleet.hosts() {
            let Some(agent) = self.fleet.agent(&host) else {
                continue;
            };
            let Ok(inventory) = within(DATASET_CALL_TIMEOUT, agent.datasets()).await else {
                continue;
            };
            let Some(free) = inventory.free_bytes else {
                continue;
            };
            if free >= inventory.free_margin_bytes {
                continue;
            }
            let shortfall = inventory.free_margin_bytes - free;
            // Read again for each host: what an earlier host removed may have left another's
            // copy the last one (read once, two hosts short of room removed a version's last
            // two copies together).
            let catalog = self.db.dataset_catalog().await?;
            let needed_soon = self
                .db
                .datasets_needed_on(&host, now, now + NEEDED_SOON_SECS)
                .await?;
            let candidates = catalog.eviction_candidates(&host, &needed_soon);
            // All that can go, oldest first, when even that does not reach the margin.
            let victims = plan_eviction(&candidates, shortfall).unwrap_or(candidates);
            let freed: u64 = victims.iter().map(|r| r.present_bytes).sum();
            let reason = format!(
                "free space {free} B below the margin {} B",
                inventory.free_margin_bytes
            );
            let removed = self
                .evict(
                    &catalog,
                    &host,
                    agent.as_ref(),
                    &victims,
                    &reason,
                    "dataset_margin",
                    now,
                )
                .await?;
            kept.push(MarginKept {
                host,
                removed,
                short_after: shortfall.saturating_sub(freed),
            });
        }
        Ok(kept)
    }

    async fn data_rm(
        &self,
        ctx: &Ctx<'_>,
        wanted: &DatasetRef,
        host: &str,
    ) -> anyhow::Result<Reply> {
        Ok(self.remove_copy(ctx, wanted, host).await?.0)
    }

    /// Removes a copy if the rules allow: the reply, and whether the copy is gone.
    async fn remove_copy(
        &self,
        ctx: &Ctx<'_>,
        wanted: &DatasetRef,
        host: &str,
    ) -> anyhow::Result<(Reply, bool)> {
        let refused = |reply: Reply| Ok((reply, false));
        let target = match self.copy_on(ctx, wanted, host, OwnersOnly::Remove).await? {
            Ok(target) => target,
            Err(refusal) => return refused(refusal),
        };
        let (version, replica) = (&target.version, &target.replica);
        if replica.is_complete() && target.catalog.complete_copies(version.id).len() == 1 {
            return refused(data_replies::last_copy(version, host, ctx.lang));
        }
        if replica.mounted_count > 0 {
            return refused(data_replies::copy_mounted(
                version,
                host,
                replica.mounted_count,
                ctx.lang,
            ));
        }
        let Some(manifest) = &version.manifest else {
            return refused(data_replies::still_scanning(version, ctx.lang));
        };
        let Some(agent) = self.fleet.agent(host) else {
            return refused(fleet_replies::no_agent(host));
        };
        if let Err(err) = within(DATASET_CALL_TIMEOUT, agent.remove_dataset(manifest)).await {
            return refused(data_replies::agent_refused(
                host,
                &version.label(),
                &err,
                ctx.lang,
            ));
        }
        let actor = DatasetActor {
            user: &ctx.user.slack_user_id,
            request_id: ctx.request_id,
        };
        self.db
            .forget_replicas(
                &[(version, host)],
                actor,
                "data rm",
                None,
                ctx.now.timestamp(),
            )
            .await?;
        let complete = replica.is_complete();
        let reply = data_replies::copy_removed(version, host, replica.origin, complete, ctx.lang);
        Ok((reply, true))
    }

    /// The Remove button of an unused copy in the daily report; the value is
    /// `<name>@<version> <host>`. The same rules as `data rm` apply.
    pub(super) async fn remove_dataset_copy(
        &self,
        ctx: &Ctx<'_>,
        value: &str,
    ) -> anyhow::Result<ClickAnswer> {
        let parsed = value.split_once(' ').and_then(|(label, host)| {
            let (name, version) = label.split_once('@')?;
            let wanted = DatasetRef {
                name: name.to_owned(),
                version: Some(version.to_owned()),
            };
            Some((wanted, host.to_owned()))
        });
        let Some((wanted, host)) = parsed else {
            return Ok(data_replies::no_such_copy_button(value, ctx.lang).into());
        };
        let (reply, removed) = self.remove_copy(ctx, &wanted, &host).await?;
        Ok(ClickAnswer {
            reply,
            settled: removed.then(|| {
                let label = format!(
                    "{}@{}",
                    wanted.name,
                    wanted.version.as_deref().unwrap_or("")
                );
                buttons::settled(
                    &label,
                    &host,
                    buttons::Settled::Removed,
                    &ctx.user.slack_user_id,
                    self.config.slack.channel_language,
                )
            }),
        })
    }

    async fn data_pin(
        &self,
        ctx: &Ctx<'_>,
        wanted: &DatasetRef,
        host: &str,
        pinned: bool,
    ) -> anyhow::Result<Reply> {
        let what = if pinned {
            OwnersOnly::Pin
        } else {
            OwnersOnly::Unpin
        };
        let target = match self.copy_on(ctx, wanted, host, what).await? {
            Ok(target) => target,
            Err(refusal) => return Ok(refusal),
        };
        let actor = DatasetActor {
            user: &ctx.user.slack_user_id,
            request_id: ctx.request_id,
        };
        let changed = self
            .db
            .set_pinned(&target.version, host, pinned, actor, ctx.now.timestamp())
            .await?;
        Ok(if changed {
            data_replies::pinned(&target.version, host, pinned, ctx.lang)
        } else {
            data_replies::no_copy_on(&target.version, host, &target.catalog, ctx.lang)
        })
    }

    async fn data_verify(
        &self,
        ctx: &Ctx<'_>,
        wanted: &DatasetRef,
        host: &str,
    ) -> anyhow::Result<Reply> {
        let (catalog, version) = match self.resolve(wanted, ctx.lang).await? {
            Ok(resolved) => resolved,
            Err(unresolved) => return Ok(unresolved),
        };
        if let Some(refusal) = self.check_host(host).await? {
            return Ok(refusal);
        }
        let Some(replica) = catalog.replica(version.id, host) else {
            return Ok(data_replies::no_copy_on(&version, host, &catalog, ctx.lang));
        };
        let (Some(manifest), true) = (&version.manifest, replica.can_be_verified()) else {
            return Ok(data_replies::not_complete_to_verify(
                &version, host, ctx.lang,
            ));
        };
        let Some(agent) = self.fleet.agent(host) else {
            return Ok(fleet_replies::no_agent(host));
        };
        let replica = match within(DATASET_CALL_TIMEOUT, agent.verify_dataset(manifest)).await {
            Ok(replica) => replica,
            Err(err) => {
                return Ok(data_replies::agent_refused(
                    host,
                    &version.label(),
                    &err,
                    ctx.lang,
                ));
            }
        };
        let actor = DatasetActor {
            user: &ctx.user.slack_user_id,
            request_id: ctx.request_id,
        };
        self.db
            .request_verification(&version, host, &replica, actor, ctx.now.timestamp())
            .await?;
        Ok(data_replies::verifying(&version, host, ctx.lang))
    }

    /// The copy of `wanted` on `host` that the caller may change (the dataset's owner or an
    /// admin), or the reply that says why not.
    async fn copy_on(
        &self,
        ctx: &Ctx<'_>,
        wanted: &DatasetRef,
        host: &str,
        what: OwnersOnly,
    ) -> anyhow::Result<Result<CopyTarget, Reply>> {
        let (catalog, version) = match self.resolve(wanted, ctx.lang).await? {
            Ok(resolved) => resolved,
            Err(unresolved) => return Ok(Err(unresolved)),
        };
        if let Some(refusal) = self.check_host(host).await? {
            return Ok(Err(refusal));
        }
        let Some(replica) = catalog.replica(version.id, host).cloned() else {
            return Ok(Err(data_replies::no_copy_on(
                &version, host, &catalog, ctx.lang,
            )));
        };
        if version.owner != ctx.user.slack_user_id && !ctx.is_admin {
            return Ok(Err(data_replies::not_dataset_owner(
                &version.dataset,
                &version.owner,
                what,
                ctx.lang,
            )));
        }
        Ok(Ok(CopyTarget {
            catalog,
            version,
            replica,
        }))
    }

    /// The catalog and the version `wanted` names, or the reply that says why it names none
    /// (an unknown dataset or version, with suggestions).
    pub(super) async fn resolve(
        &self,
        wanted: &DatasetRef,
        lang: maison_command::Lang,
    ) -> anyhow::Result<Result<(Catalog, DatasetVersion), Reply>> {
        let catalog = self.db.dataset_catalog().await?;
        let version = match catalog.resolve(wanted) {
            Ok(version) => version.clone(),
            Err(unresolved) => return Ok(Err(data_replies::unresolved(&unresolved, lang))),
        };
        Ok(Ok((catalog, version)))
    }

    async fn check_host(&self, host: &str) -> anyhow::Result<Option<Reply>> {
        let hosts = self.listed_hosts().await?;
        Ok((!hosts.iter().any(|h| h.name == host)).then(|| replies::unknown_host(host, &hosts)))
    }

    /// The datasets a launch on `host` mounts, or the reply that says which one is not ready
    /// there and how far its copy has come.
    pub(super) async fn dataset_mounts(
        &self,
        wanted: &[DatasetRef],
        host: &str,
        lang: maison_command::Lang,
    ) -> anyhow::Result<Result<Vec<(DatasetVersion, DatasetMount)>, Reply>> {
        if wanted.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let catalog = self.db.dataset_catalog().await?;
        let mut mounts = Vec::new();
        for dataset in wanted {
            let version = match catalog.resolve(dataset) {
                Ok(version) => version,
                Err(unresolved) => return Ok(Err(data_replies::unresolved(&unresolved, lang))),
            };
            let Some(manifest) = &version.manifest else {
                return Ok(Err(data_replies::still_scanning(version, lang)));
            };
            let replica = catalog.replica(version.id, host);
            if !replica.is_some_and(|r| r.is_complete()) {
                return Ok(Err(data_replies::not_ready_for_launch(
                    version,
                    host,
                    replica,
                    catalog.running_transfer(version.id, host),
                    lang,
                )));
            }
            let mount = DatasetMount {
                name: version.dataset.clone(),
                manifest: manifest.clone(),
            };
            mounts.push((version.clone(), mount));
        }
        Ok(Ok(mounts))
    }

    /// Hosts with an agent that are not known to be unreachable (a host not polled yet gets
    /// the benefit of the doubt: its agent answers the peer's requests, or the copy fails over
    /// to the next source).
    async fn usable_hosts(&self) -> anyhow::Result<Vec<String>> {
        let statuses = self.db.host_statuses().await?;
        Ok(self
            .fleet
            .hosts()
            .into_iter()
            .filter(|h| {
                statuses
                    .iter()
                    .find(|s| &s.host == h)
                    .is_none_or(|s| s.reachable)
            })
            .collect())
    }

    /// The agent URL of a host, which peers use too.
    pub(super) fn agent_url(&self, host: &str) -> Option<String> {
        self.config
            .hosts
            .iter()
            .find(|h| h.name == host)
            .and_then(|h| h.agent_url.clone())
    }
}

/// The words of `data add`.
struct Addition<'a> {
    name: &'a str,
    version: &'a str,
    host: &'a str,
    path: &'a str,
    note: Option<&'a str>,
}

/// A copy someone may change, with what it was found in.
struct CopyTarget {
    catalog: Catalog,
    version: DatasetVersion,
    replica: Replica,
}
