//! Fleet commands: launch, ps, stop, rm, who, images, hosts, host drain/undrain (`claim` is in
//! `claims.rs`).
//!
//! They ask the agents live (each call bounded by [`AGENT_CALL_TIMEOUT`]), so what the user sees
//! is what Docker says now; a host that does not answer is named in the reply, never guessed.

use std::sync::Arc;
use std::time::Duration;

use maison_agent_api::{ClientError, ImageSource, LaunchSpec};
use maison_command::{Lang, LaunchGpus, LaunchRequest};
use tracing::warn;

use super::catalogue::LaunchImage;
use super::{App, Ctx};
use crate::config::BookingRequirement;
use crate::core::booking::BookingView;
use crate::core::fleet::{
    ClaimIndex, ClaimKind, HostState, Located, LocatedImage, Owner, Removal,
    default_container_name, match_containers, match_images, own_mounts, short_id,
};
use crate::core::render::Reply;
use crate::core::replies;
use crate::core::replies::catalogue as catalog_replies;
use crate::core::replies::fleet as fleet_replies;
use crate::ports::AgentApi;
use crate::store::{AuditEntry, Db};

/// A live agent call from a command may take this long before the host is reported as not
/// answering (launch has its own, longer budget: it waits for the container to start).
const AGENT_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// What the live inventory gathered, and which hosts did not answer.
pub(super) struct Inventory<T> {
    pub(super) items: Vec<T>,
    pub(super) unreachable: Vec<(String, String)>,
}

impl App {
    pub(super) async fn launch(
        &self,
        ctx: &Ctx<'_>,
        request: LaunchRequest,
    ) -> anyhow::Result<Reply> {
        let hosts = self.listed_hosts().await?;
        let Some(host) = hosts.iter().find(|h| h.name == request.host) else {
            return Ok(replies::unknown_host_in(&request.host, &hosts, ctx.lang));
        };
        if host.is_drained() {
            return Ok(fleet_replies::host_drained_in(&host.name, ctx.lang));
        }
        let Some(agent) = self.fleet.agent(&host.name) else {
            return Ok(fleet_replies::no_agent_in(&host.name, ctx.lang));
        };
        let Some(mapping) = self.unix_mapping(&ctx.user.slack_user_id) else {
            return Ok(fleet_replies::no_unix_mapping_in(
                &ctx.user.slack_user_id,
                ctx.lang,
            ));
        };
        let datasets = match self
            .dataset_mounts(&request.datasets, &host.name, ctx.lang)
            .await?
        {
            Ok(datasets) => datasets,
            Err(not_ready) => return Ok(not_ready),
        };
        let now = ctx.now.timestamp();
        let mut notes = Vec::new();
        let (image, image_source) = match self.launch_image(&request.image).await? {
            LaunchImage::Catalog(version) => {
                if version.deprecated_at.is_some() {
                    notes.push(catalog_replies::launch_deprecated(&version, ctx.lang));
                }
                (version.reference, ImageSource::Catalog)
            }
            LaunchImage::Pending => {
                return Ok(catalog_replies::launch_pending(&request.image, ctx.lang));
            }
            LaunchImage::Custom => (request.image.clone(), ImageSource::Custom),
        };
        if let Some(offer) = self
            .offer_missing_image(&host.name, &image, ctx.lang)
            .await?
        {
            return Ok(offer);
        }
        let running: Vec<BookingView> = self
            .db
            .upcoming_bookings_of(ctx.user.id, now)
            .await?
            .into_iter()
            .filter(|b| b.host == host.name && b.start <= now)
            .collect();
        let booking = running.iter().max_by_key(|b| b.gpus.len());
        let mut warning = None;
        let (gpus, booking_id) = match (booking, &request.gpus) {
            (_, Some(LaunchGpus::None)) => (Vec::new(), booking.map(|b| b.id)),
            (Some(b), None) => (b.gpus.clone(), Some(b.id)),
            (Some(b), Some(LaunchGpus::Indexes(wanted))) => {
                if let Some(outside) = wanted.iter().find(|g| !b.gpus.contains(g)) {
                    return Ok(fleet_replies::gpu_not_booked(*outside, b, ctx.lang));
                }
                (wanted.clone(), Some(b.id))
            }
            (None, wanted) => match self.config.launch.require_booking {
                BookingRequirement::Enforce => {
                    return Ok(fleet_replies::booking_required(&host.name, ctx.lang));
                }
                BookingRequirement::Warn => {
                    warning = Some(fleet_replies::no_booking_warning(&host.name, ctx.lang));
                    (explicit_gpus(wanted), None)
                }
                BookingRequirement::Off => (explicit_gpus(wanted), None),
            },
        };
        notes.extend(warning);
        let warning = (!notes.is_empty()).then(|| notes.join("\n"));
        let mounts = own_mounts(mapping);
        let login = mapping.unix_user.clone();
        let name = request
            .name
            .clone()
            .unwrap_or_else(|| default_container_name(&login, &request.image, booking_id));
        let spec = LaunchSpec {
            image,
            name: Some(name.clone()),
            owner: ctx.user.slack_user_id.clone(),
            owner_name: Some(ctx.user.display_name.clone()),
            booking: booking_id.map(|id| id.to_string()),
            image_source,
            gpus,
            uid: Some(mapping.uid),
            gid: Some(mapping.gid),
            mounts,
            command: request.command.clone(),
            // The same user launching the same name on the same host is one intent: a
            // double-submitted command must not start two containers.
            idempotency_key: format!("{}/{}/{}", ctx.user.slack_user_id, host.name, name),
            datasets: datasets.iter().map(|(_, mount)| mount.clone()).collect(),
            ..LaunchSpec::default()
        };
        let job = LaunchJob {
            db: self.db.clone(),
            agent,
            host: host.name.clone(),
            spec,
            actor: ctx.user.slack_user_id.clone(),
            request_id: ctx.request_id.to_owned(),
            now,
            warning,
            lang: ctx.lang,
            datasets: datasets
                .iter()
                .map(|(version, mount)| (version.label(), mount.name.clone()))
                .collect(),
        };
        match ctx.response_url {
            // Slack: answer now, deliver the outcome when the agent has started the container.
            Some(url) => {
                let (url, slack) = (url.to_owned(), self.slack.clone());
                let starting = fleet_replies::launching(&job.spec, &job.host, ctx.lang);
                tokio::spawn(async move {
                    let reply = job.run().await;
                    if let Err(err) = slack.respond(&url, &reply, false).await {
                        warn!(error = %err, "could not deliver the launch result");
                    }
                });
                Ok(starting)
            }
            None => Ok(job.run().await),
        }
    }

    pub(super) async fn ps(
        &self,
        ctx: &Ctx<'_>,
        host: Option<&str>,
        all: bool,
    ) -> anyhow::Result<Reply> {
        if let Some(reply) = self.check_host_argument(host, ctx.lang).await? {
            return Ok(reply);
        }
        let inventory = self.containers_everywhere(host).await?;
        let me = &ctx.user.slack_user_id;
        let shown: Vec<&Located> = inventory
            .items
            .iter()
            .filter(|c| all || c.owner.as_ref().is_some_and(|o| &o.slack_user == me))
            .collect();
        Ok(fleet_replies::ps(
            &shown,
            all,
            &inventory.unreachable,
            ctx.now.timestamp(),
            ctx.tz,
            ctx.lang,
        ))
    }

    pub(super) async fn stop_or_remove(
        &self,
        ctx: &Ctx<'_>,
        target: &str,
        removal: Removal,
    ) -> anyhow::Result<Reply> {
        let found = match self.one_container_in(target, ctx.lang).await? {
            Ok(found) => found,
            Err(reply) => return Ok(reply),
        };
        let me = &ctx.user.slack_user_id;
        match &found.owner {
            Some(owner) if &owner.slack_user == me || ctx.is_admin => {}
            None if ctx.is_admin => {}
            Some(owner) => return Ok(fleet_replies::not_your_container(&found, owner, ctx.lang)),
            None => return Ok(fleet_replies::unowned_container(&found, ctx.lang)),
        }
        let Some(agent) = self.fleet.agent(&found.host) else {
            return Ok(fleet_replies::no_agent_in(&found.host, ctx.lang));
        };
        let id = found.container.id.clone();
        let result = match removal {
            Removal::Stop => timed(agent.stop(&id)).await.map(|_| ()),
            Removal::Remove => timed(agent.remove(&id, false)).await,
        };
        let (action, outcome) = match (&removal, &result) {
            (Removal::Stop, Ok(())) => ("stop", "ok".to_owned()),
            (Removal::Remove, Ok(())) => ("rm", "ok".to_owned()),
            (Removal::Stop, Err(e)) => ("stop", format!("failed: {e}")),
            (Removal::Remove, Err(e)) => ("rm", format!("failed: {e}")),
        };
        let entry = AuditEntry {
            actor: me,
            action,
            target: format!(
                "container {} on {} ({})",
                found.container.name,
                found.host,
                short_id(&id)
            ),
            outcome: &outcome,
            request_id: ctx.request_id,
            detail: None,
        };
        Db::audit(self.db.connection(), ctx.now.timestamp(), entry).await?;
        Ok(match result {
            Ok(()) => fleet_replies::removed(&found, removal, ctx.lang),
            Err(err) => {
                fleet_replies::agent_refused_in(&found.host, &found.container.name, &err, ctx.lang)
            }
        })
    }

    /// The one container `target` names on any host, or the reply saying there is none (with
    /// the hosts that did not answer) or several.
    /// [`one_container_in`](Self::one_container_in), answered in English.
    pub(super) async fn one_container(
        &self,
        target: &str,
    ) -> anyhow::Result<Result<Located, Reply>> {
        self.one_container_in(target, Lang::En).await
    }

    /// The one container `target` names, or the reply saying why there is none or several.
    pub(super) async fn one_container_in(
        &self,
        target: &str,
        lang: Lang,
    ) -> anyhow::Result<Result<Located, Reply>> {
        let inventory = self.containers_everywhere(None).await?;
        Ok(
            match match_containers(&inventory.items, target).as_slice() {
                [] => Err(fleet_replies::no_such_container(
                    target,
                    &inventory.items,
                    &inventory.unreachable,
                    lang,
                )),
                [one] => Ok((*one).clone()),
                many => Err(fleet_replies::ambiguous(target, many, lang)),
            },
        )
    }

    pub(super) async fn who(&self, ctx: &Ctx<'_>, target: &str) -> anyhow::Result<Reply> {
        let containers = self.containers_everywhere(None).await?;
        let found = match_containers(&containers.items, target);
        if let [one] = found.as_slice() {
            let last_gpu = self.last_gpu_activity(&one.host, &one.container.id).await;
            return Ok(fleet_replies::who_container(
                one,
                last_gpu,
                ctx.now.timestamp(),
                ctx.tz,
                ctx.lang,
            ));
        }
        if found.len() > 1 {
            return Ok(fleet_replies::ambiguous(target, &found, ctx.lang));
        }
        let images = self.images_everywhere(None, &containers.items).await?;
        let found = match_images(&images.items, target);
        match found.as_slice() {
            [] => Ok(fleet_replies::nothing_called(
                target,
                &containers.unreachable,
                ctx.lang,
            )),
            many => Ok(fleet_replies::who_images(
                many,
                &fleet_replies::Lineage {
                    images: &images.items,
                    catalog: &self.db.catalog().await?,
                },
                ctx.now.timestamp(),
                ctx.tz,
                ctx.lang,
            )),
        }
    }

    pub(super) async fn images(&self, ctx: &Ctx<'_>, host: Option<&str>) -> anyhow::Result<Reply> {
        if let Some(reply) = self.check_host_argument(host, ctx.lang).await? {
            return Ok(reply);
        }
        let containers = self.containers_everywhere(host).await?;
        let images = self.images_everywhere(host, &containers.items).await?;
        Ok(fleet_replies::images(
            &self.db.catalog().await?,
            &images.items,
            &images.unreachable,
            ctx.lang,
        ))
    }

    /// The fleet as the poller last saw it: no agent is asked again here.
    pub(super) async fn hosts(&self, ctx: &Ctx<'_>) -> anyhow::Result<Reply> {
        let hosts = self.listed_hosts().await?;
        let statuses = self.db.host_statuses().await?;
        let rows: Vec<_> = hosts
            .iter()
            .map(|h| {
                let state = self.fleet.agent(&h.name).map(|_| {
                    match statuses.iter().find(|s| s.host == h.name) {
                        Some(s) if s.reachable => {
                            s.facts.clone().ok_or_else(|| "no facts yet".to_owned())
                        }
                        Some(s) => Err(s.last_error.clone().unwrap_or_else(|| "silent".to_owned())),
                        None => Err("not polled yet".to_owned()),
                    }
                });
                (h, state)
            })
            .collect();
        Ok(fleet_replies::hosts(
            &rows,
            ctx.now.timestamp(),
            ctx.tz,
            ctx.lang,
        ))
    }

    pub(super) async fn set_host_state(
        &self,
        ctx: &Ctx<'_>,
        host: &str,
        drain: bool,
    ) -> anyhow::Result<Reply> {
        let hosts = self.listed_hosts().await?;
        if !hosts.iter().any(|h| h.name == host) {
            return Ok(replies::unknown_host_in(host, &hosts, ctx.lang));
        }
        let state = if drain {
            HostState::Drained
        } else {
            HostState::Active
        };
        self.db
            .set_host_state(
                host,
                state,
                &ctx.user.slack_user_id,
                ctx.request_id,
                ctx.now.timestamp(),
            )
            .await?;
        if !drain {
            self.nudge_matcher();
        }
        Ok(fleet_replies::host_state_changed(host, drain, ctx.lang))
    }

    async fn check_host_argument(
        &self,
        host: Option<&str>,
        lang: Lang,
    ) -> anyhow::Result<Option<Reply>> {
        let Some(name) = host else { return Ok(None) };
        let hosts = self.listed_hosts().await?;
        Ok((!hosts.iter().any(|h| h.name == name))
            .then(|| replies::unknown_host_in(name, &hosts, lang)))
    }

    /// Asks every agent (or one host's) the same question in parallel, each bounded by
    /// [`AGENT_CALL_TIMEOUT`]; answers come back per host, in host-name order.
    async fn ask_agents<T, F, Fut>(
        &self,
        only: Option<&str>,
        call: F,
    ) -> Vec<(String, Result<T, ClientError>)>
    where
        F: Fn(Arc<dyn AgentApi>) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let hosts: Vec<String> = self
            .fleet
            .hosts()
            .into_iter()
            .filter(|h| only.is_none_or(|o| o == h))
            .collect();
        let answers = futures::future::join_all(hosts.iter().map(|h| {
            let question = self.fleet.agent(h).map(&call);
            async move {
                match question {
                    Some(question) => timed(question).await,
                    None => Err(ClientError::Config("no agent configured".to_owned())),
                }
            }
        }))
        .await;
        hosts.into_iter().zip(answers).collect()
    }

    /// Every container of the fleet (or one host), asked of the agents in parallel.
    pub(super) async fn containers_everywhere(
        &self,
        only: Option<&str>,
    ) -> anyhow::Result<Inventory<Located>> {
        let answers = self
            .ask_agents(only, |agent| async move { agent.containers().await })
            .await;
        let claims = ClaimIndex::of_kind(&self.db.claims(only).await?, ClaimKind::Container);
        let mut inventory = Inventory {
            items: Vec::new(),
            unreachable: Vec::new(),
        };
        for (host, answer) in answers {
            match answer {
                Ok(containers) => inventory
                    .items
                    .extend(containers.into_iter().map(|container| {
                        let labelled = container.maison.as_ref().map(Owner::of_labels);
                        let owner = claims.owner(&host, &container.id, labelled);
                        Located {
                            host: host.clone(),
                            container,
                            owner,
                        }
                    })),
                Err(err) => inventory.unreachable.push((host, err.to_string())),
            }
        }
        inventory
            .items
            .sort_by(|a, b| (&a.host, &a.container.name).cmp(&(&b.host, &b.container.name)));
        Ok(inventory)
    }

    pub(super) async fn images_everywhere(
        &self,
        only: Option<&str>,
        containers: &[Located],
    ) -> anyhow::Result<Inventory<LocatedImage>> {
        let answers = self
            .ask_agents(only, |agent| async move { agent.images().await })
            .await;
        let claims = ClaimIndex::of_kind(&self.db.claims(only).await?, ClaimKind::Image);
        let mut inventory = Inventory {
            items: Vec::new(),
            unreachable: Vec::new(),
        };
        for (host, answer) in answers {
            match answer {
                Ok(images) => inventory.items.extend(images.into_iter().map(|image| {
                    let labels: std::collections::HashMap<String, String> = image
                        .labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    let labelled = maison_agent_api::MaisonLabels::from_labels(&labels)
                        .map(|l| Owner::of_labels(&l));
                    let owner = claims.owner(&host, &image.id, labelled);
                    let users = containers
                        .iter()
                        .filter(|c| c.host == host && image.used_by.contains(&c.container.id))
                        .cloned()
                        .collect();
                    LocatedImage {
                        host: host.clone(),
                        image,
                        owner,
                        users,
                    }
                })),
                Err(err) => inventory.unreachable.push((host, err.to_string())),
            }
        }
        Ok(inventory)
    }

    /// When the container last used a GPU, from the metrics history (if the poller stored any).
    async fn last_gpu_activity(&self, host: &str, container_id: &str) -> Option<i64> {
        match self.db.last_gpu_activity(host, container_id).await {
            Ok(at) => at,
            Err(err) => {
                warn!(error = %err, "could not read GPU activity");
                None
            }
        }
    }
}

/// Starts one container and reports how it went; runs inline or behind a `response_url`.
struct LaunchJob {
    db: Db,
    agent: Arc<dyn AgentApi>,
    host: String,
    spec: LaunchSpec,
    actor: String,
    request_id: String,
    now: i64,
    warning: Option<String>,
    /// `(label, name)` of each dataset mounted, for the reply.
    datasets: Vec<(String, String)>,
    /// The launcher's, for the outcome delivered later.
    lang: Lang,
}

impl LaunchJob {
    async fn run(self) -> Reply {
        let result = self.agent.launch(&self.spec).await;
        let outcome = match &result {
            Ok(response) if response.created => "ok".to_owned(),
            Ok(_) => "ok (already running: same request)".to_owned(),
            Err(err) => match err.rule() {
                Some(rule) => format!("refused: {rule}"),
                None => format!("failed: {err}"),
            },
        };
        let entry = AuditEntry {
            actor: &self.actor,
            action: "launch",
            target: format!(
                "container {} on {} ({})",
                self.spec.name.as_deref().unwrap_or_default(),
                self.host,
                self.spec.image
            ),
            outcome: &outcome,
            request_id: &self.request_id,
            detail: launch_detail(&self.spec),
        };
        if let Err(err) = Db::audit(self.db.connection(), self.now, entry).await {
            warn!(error = %err, "could not audit a launch");
        }
        match result {
            Ok(response) => fleet_replies::launched(
                &self.host,
                &response,
                self.warning.as_deref(),
                &self.datasets,
                self.lang,
            ),
            Err(err) => fleet_replies::agent_refused_in(
                &self.host,
                self.spec.name.as_deref().unwrap_or_default(),
                &err,
                self.lang,
            ),
        }
    }
}

/// The booking and the datasets of a launch, for the audit log.
fn launch_detail(spec: &LaunchSpec) -> Option<String> {
    let booking = spec.booking.as_ref().map(|b| format!("booking #{b}"));
    let datasets = (!spec.datasets.is_empty()).then(|| {
        let names: Vec<&str> = spec.datasets.iter().map(|d| d.name.as_str()).collect();
        format!("datasets {}", names.join(", "))
    });
    let parts: Vec<String> = booking.into_iter().chain(datasets).collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn explicit_gpus(wanted: &Option<LaunchGpus>) -> Vec<u32> {
    match wanted {
        Some(LaunchGpus::Indexes(list)) => list.clone(),
        _ => Vec::new(),
    }
}

/// An agent call from a command, given [`AGENT_CALL_TIMEOUT`] to answer.
pub(super) async fn timed<T>(
    call: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    within(AGENT_CALL_TIMEOUT, call).await
}

/// An agent call given `limit` to answer; past it, the host is reported as not answering.
pub(super) async fn within<T>(
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(ClientError::Config(format!(
            "no answer within {} s",
            limit.as_secs()
        ))),
    }
}
