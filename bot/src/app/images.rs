//! `image …`: images with a history. Saving asks the agent of the container's host to commit
//! it; who may save and which names are free are checked here for a clear answer, and again
//! by the agent, which trusts nobody.

use std::time::Duration;

use maison_agent_api::datasets::PeerSource;
use maison_agent_api::images::{
    BuildImageRequest, FetchImageRequest, SaveImageRequest, normalise_reference,
};
use maison_command::ImageCommand;

use super::catalogue::PublishRequest;
use super::fleet::within;
use super::{App, Ctx};
use crate::core::datasets::is_within;
use crate::core::fleet::{LocatedImage, match_images};
use crate::core::render::Reply;
use crate::core::replies::fleet as fleet_replies;
use crate::core::replies::images as image_replies;
use crate::store::{AuditEntry, Db};

/// A copy moves gigabytes at the host's rate cap; an hour covers a large image on a slow
/// link. A slow answer goes to the command's `response_url` like any other.
const COPY_TIMEOUT: Duration = Duration::from_secs(3600);

/// A build runs the Dockerfile's steps: minutes are common, an hour is generous.
const BUILD_TIMEOUT: Duration = Duration::from_secs(3600);

/// A commit writes the container's changes as a layer: seconds for a small one, minutes for a
/// big one. A slow answer goes to the command's `response_url` like any other.
const SAVE_TIMEOUT: Duration = Duration::from_secs(600);

impl App {
    pub(super) async fn image(
        &self,
        ctx: &Ctx<'_>,
        command: ImageCommand,
    ) -> anyhow::Result<Reply> {
        match command {
            ImageCommand::Save {
                container,
                reference,
                note,
            } => self.image_save(ctx, &container, &reference, note).await,
            ImageCommand::Copy { image, host } => self.image_copy(ctx, &image, &host).await,
            ImageCommand::Build {
                host,
                reference,
                dockerfile,
                note,
            } => {
                self.image_build(ctx, &host, &reference, &dockerfile, note)
                    .await
            }
            ImageCommand::Publish {
                image,
                name,
                version,
                project,
                description,
            } => {
                let request = PublishRequest {
                    image,
                    name,
                    version,
                    project,
                    description,
                };
                self.image_publish(ctx, request).await
            }
            ImageCommand::Deprecate {
                name,
                version,
                replaced_by,
            } => {
                self.image_deprecate(ctx, &name, version.as_deref(), replaced_by.as_deref())
                    .await
            }
        }
    }

    /// A launch on `host` of an image it does not have but other hosts do: the agent never
    /// pulls, so instead of failing the launch the answer offers to copy it. Other hosts are
    /// known from the last poll; `host` itself is asked now (a copy may have just landed).
    /// `None` when the host has it, nobody else has it, or the host cannot say (then the
    /// agent answers the launch for itself).
    pub(super) async fn offer_missing_image(
        &self,
        host: &str,
        image: &str,
        lang: maison_command::Lang,
    ) -> anyhow::Result<Option<Reply>> {
        let holders = self.db.find_image(image).await?;
        if holders.is_empty() || holders.iter().any(|i| i.host == host) {
            return Ok(None);
        }
        let Some(agent) = self.fleet.agent(host) else {
            return Ok(None);
        };
        let Ok(here) = agent.images().await else {
            return Ok(None);
        };
        let here: Vec<LocatedImage> = here
            .into_iter()
            .map(|image| LocatedImage {
                host: host.to_string(),
                image,
                owner: None,
                users: Vec::new(),
            })
            .collect();
        if !match_images(&here, image).is_empty() {
            return Ok(None);
        }
        let mut sources: Vec<&str> = holders.iter().map(|i| i.host.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        Ok(Some(image_replies::missing_here(
            image, host, &sources, lang,
        )))
    }

    /// `image build <host> <name> <Dockerfile>`: the host's agent builds from the Dockerfile's
    /// directory, read as the caller's Unix account. Where the Dockerfile may be is checked
    /// here for a clear answer, and again by the agent on the real directories.
    async fn image_build(
        &self,
        ctx: &Ctx<'_>,
        host: &str,
        reference: &str,
        dockerfile: &str,
        note: Option<String>,
    ) -> anyhow::Result<Reply> {
        let reference = match normalise_reference(reference) {
            Ok(reference) => reference,
            Err(err) => return Ok(image_replies::bad_image_name(&err, ctx.lang)),
        };
        if let Some(refusal) = self.check_destination(host).await? {
            return Ok(refusal);
        }
        let me = &ctx.user.slack_user_id;
        let Some(mapping) = self.unix_mapping(me) else {
            return Ok(fleet_replies::no_unix_mapping_in(me, ctx.lang));
        };
        let yours = [mapping.work.as_deref(), mapping.home.as_deref()];
        if !yours
            .iter()
            .flatten()
            .any(|root| is_within(dockerfile, root))
        {
            return Ok(image_replies::dockerfile_not_yours(
                dockerfile, &yours, ctx.lang,
            ));
        }
        let Some(agent) = self.fleet.agent(host) else {
            return Ok(fleet_replies::no_agent_in(host, ctx.lang));
        };
        let request = BuildImageRequest {
            dockerfile: dockerfile.to_string(),
            reference: reference.clone(),
            owner: me.clone(),
            uid: mapping.uid,
            gid: mapping.gid,
            note,
        };
        let result = self
            .with_progress(
                ctx,
                host,
                &reference,
                agent.build_image(&request, BUILD_TIMEOUT),
            )
            .await;
        let (outcome, log) = match &result {
            Ok(built) => (
                format!("ok: {} sha256 {}", built.id, built.dockerfile_sha256),
                Some(built.log_tail.join("\n")),
            ),
            Err(e) => (format!("failed: {e}"), None),
        };
        let entry = AuditEntry {
            actor: me,
            action: "image build",
            target: format!("{dockerfile} on {host} as {reference}"),
            outcome: &outcome,
            request_id: ctx.request_id,
            // The build log's last lines are kept with the record of the build.
            detail: log,
        };
        Db::audit(self.db.connection(), ctx.now.timestamp(), entry).await?;
        Ok(match result {
            Ok(built) => image_replies::built(&built, host, ctx.lang),
            Err(err) => fleet_replies::agent_refused_in(host, &reference, &err, ctx.lang),
        })
    }

    /// `image copy <image> <host>`: the destination's agent pulls the image from a host that
    /// holds it. Which hosts hold it, under which id, is asked of the agents now, not read
    /// from the last poll: a copy made from a stale answer would fail at the source.
    pub(super) async fn image_copy(
        &self,
        ctx: &Ctx<'_>,
        target: &str,
        host: &str,
    ) -> anyhow::Result<Reply> {
        let host = host.to_lowercase();
        if let Some(refusal) = self.check_destination(&host).await? {
            return Ok(refusal);
        }
        let images = self.images_everywhere(None, &[]).await?;
        let found = match_images(&images.items, target);
        let mut ids: Vec<&str> = found.iter().map(|i| i.image.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let image = match ids.as_slice() {
            [] => {
                return Ok(image_replies::no_image_to_copy(
                    target,
                    &images.unreachable,
                    ctx.lang,
                ));
            }
            [_] => found[0],
            _ => {
                return Ok(image_replies::several_images_called(
                    target, &found, ctx.lang,
                ));
            }
        };
        if let Some(here) = found.iter().find(|i| i.host == host) {
            return Ok(image_replies::already_on(target, here, ctx.lang));
        }
        let Some(reference) = copy_reference(target, &image.image.tags) else {
            return Ok(image_replies::unnamed_not_copied(target, ctx.lang));
        };
        let sources: Vec<PeerSource> = found
            .iter()
            .filter_map(|i| {
                let url = self.agent_url(&i.host)?;
                Some(PeerSource {
                    host: i.host.clone(),
                    url,
                })
            })
            .collect();
        let Some(agent) = self.fleet.agent(&host) else {
            return Ok(fleet_replies::no_agent_in(&host, ctx.lang));
        };
        let request = FetchImageRequest {
            image_id: image.image.id.clone(),
            reference: reference.clone(),
            size_bytes: image.image.size_bytes,
            sources,
        };
        let result = self
            .with_progress(
                ctx,
                &host,
                &reference,
                agent.fetch_image(&request, COPY_TIMEOUT),
            )
            .await;
        let outcome = match &result {
            Ok(copied) => format!(
                "ok: {} bytes from {}",
                copied.bytes_received,
                copied.source.as_deref().unwrap_or("-")
            ),
            Err(e) => format!("failed: {e}"),
        };
        let entry = AuditEntry {
            actor: &ctx.user.slack_user_id,
            action: "image copy",
            target: format!("{reference} ({}) to {host}", image.image.id),
            outcome: &outcome,
            request_id: ctx.request_id,
            detail: None,
        };
        Db::audit(self.db.connection(), ctx.now.timestamp(), entry).await?;
        Ok(match result {
            Ok(copied) => image_replies::copied(&copied, &host, ctx.lang),
            Err(err) => fleet_replies::agent_refused_in(&host, &reference, &err, ctx.lang),
        })
    }

    async fn image_save(
        &self,
        ctx: &Ctx<'_>,
        target: &str,
        reference: &str,
        note: Option<String>,
    ) -> anyhow::Result<Reply> {
        let reference = match normalise_reference(reference) {
            Ok(reference) => reference,
            Err(err) => return Ok(image_replies::bad_image_name(&err, ctx.lang)),
        };
        let found = match self.one_container(target).await? {
            Ok(found) => found,
            Err(reply) => return Ok(reply),
        };
        let me = &ctx.user.slack_user_id;
        // Only the owner: an image is a copy of everything in the container, its files included,
        // so not even an admin saves someone else's.
        match &found.owner {
            Some(owner) if &owner.slack_user == me => {}
            Some(owner) => return Ok(image_replies::not_yours_to_save(&found, owner, ctx.lang)),
            None => return Ok(image_replies::unowned_not_saved(&found, ctx.lang)),
        }
        let Some(agent) = self.fleet.agent(&found.host) else {
            return Ok(fleet_replies::no_agent_in(&found.host, ctx.lang));
        };
        let request = SaveImageRequest {
            container: found.container.id.clone(),
            reference: reference.clone(),
            owner: me.clone(),
            owner_name: Some(ctx.user.display_name.clone()),
            note,
        };
        let result = within(SAVE_TIMEOUT, agent.save_image(&request)).await;
        let outcome = match &result {
            Ok(saved) => format!("ok: {}", saved.id),
            Err(e) => format!("failed: {e}"),
        };
        let entry = AuditEntry {
            actor: me,
            action: "image save",
            target: format!(
                "container {} on {} as {reference}",
                found.container.name, found.host
            ),
            outcome: &outcome,
            request_id: ctx.request_id,
            detail: request.note.clone(),
        };
        Db::audit(self.db.connection(), ctx.now.timestamp(), entry).await?;
        Ok(match result {
            Ok(saved) => image_replies::saved(&found, &saved, ctx.lang),
            Err(err) => {
                fleet_replies::agent_refused_in(&found.host, &found.container.name, &err, ctx.lang)
            }
        })
    }
}

impl App {
    /// Runs `work` (a copy to, or a build on, `host`); while it lasts longer than
    /// `[agents] progress_every`, a DM to the caller shows what the agent reports of it, edited
    /// at that pace, and says at the end that the answer is in the command's reply. A progress
    /// message that cannot be sent is only logged: the work and its answer go on regardless.
    async fn with_progress<T, E>(
        &self,
        ctx: &Ctx<'_>,
        host: &str,
        reference: &str,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let every = self.config.agents.progress_every;
        let mut work = std::pin::pin!(work);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut message: Option<(String, String)> = None;
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                _ = ticks.tick() => {
                    let Some(agent) = self.fleet.agent(host) else { continue };
                    let Ok(all) = agent.image_progress().await else { continue };
                    let Some(progress) = all.into_iter().find(|p| p.reference == reference) else {
                        continue;
                    };
                    let reply = image_replies::progress(host, &progress, ctx.lang);
                    message = self.show_progress(ctx, message, &reply).await;
                }
            }
        };
        if message.is_some() {
            let reply = image_replies::progress_done(host, reference, outcome.is_ok(), ctx.lang);
            self.show_progress(ctx, message, &reply).await;
        }
        outcome
    }

    /// Posts the progress DM, or edits it once posted; answers where it is.
    async fn show_progress(
        &self,
        ctx: &Ctx<'_>,
        message: Option<(String, String)>,
        reply: &Reply,
    ) -> Option<(String, String)> {
        let result = match message {
            Some((channel, ts)) => self
                .slack
                .update_message(&channel, &ts, reply)
                .await
                .map(|()| (channel, ts)),
            None => match self.slack.open_dm(&ctx.user.slack_user_id).await {
                Ok(channel) => self
                    .slack
                    .post_message(&channel, reply)
                    .await
                    .map(|ts| (channel, ts)),
                Err(e) => Err(e),
            },
        };
        result
            .map_err(
                |e| tracing::warn!(error = %e, "the image progress message could not be shown"),
            )
            .ok()
    }
}

/// The name the copy gets on the destination: the one typed, when it is one of the image's
/// names; else the image's first name (the user typed an id); `None` for an image without any.
fn copy_reference(typed: &str, tags: &[String]) -> Option<String> {
    let typed = normalise_reference(typed).ok();
    match typed {
        Some(reference) if tags.contains(&reference) => Some(reference),
        _ => tags.first().cloned(),
    }
}
