//! `image …`: images with a history. Saving asks the agent of the container's host to commit
//! it; who may save and which names are free are checked here for a clear answer, and again
//! by the agent, which trusts nobody.

use std::time::Duration;

use maison_agent_api::images::{SaveImageRequest, normalise_reference};
use maison_command::ImageCommand;

use super::fleet::within;
use super::{App, Ctx};
use crate::core::render::Reply;
use crate::core::replies::fleet as fleet_replies;
use crate::core::replies::images as image_replies;
use crate::store::{AuditEntry, Db};

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
        }
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
            Err(err) => return Ok(image_replies::bad_image_name(&err)),
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
            Some(owner) => return Ok(image_replies::not_yours_to_save(&found, owner)),
            None => return Ok(image_replies::unowned_not_saved(&found)),
        }
        let Some(agent) = self.fleet.agent(&found.host) else {
            return Ok(fleet_replies::no_agent(&found.host));
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
            Ok(saved) => image_replies::saved(&found, &saved),
            Err(err) => fleet_replies::agent_refused(&found.host, &found.container.name, &err),
        })
    }
}
