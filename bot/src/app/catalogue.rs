//! The image catalogue: `image publish` asks the admins, their Approve / Reject decides,
//! `image deprecate` retires versions, and a launch of a catalogue name runs its version.

use super::{App, ClickAnswer, Ctx};
use crate::core::catalogue::{CatalogOrigin, CatalogVersion};
use crate::core::fleet::{Decision, LocatedImage, match_images};
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::Reply;
use crate::core::replies::catalogue::{self as replies, Published};
use crate::store::catalogue::{NewPublish, PublishDecision, PublishOutcome};

/// What `image publish` was asked.
pub(super) struct PublishRequest {
    pub(super) image: String,
    pub(super) name: Option<String>,
    pub(super) version: Option<String>,
    pub(super) project: Option<String>,
    pub(super) description: Option<String>,
}

/// What a launch names, once the catalogue has read it.
pub(super) enum LaunchImage {
    /// An approved version: run its reference, warning first if it is deprecated.
    Catalog(Box<CatalogVersion>),
    /// A catalogue name nobody has approved yet: nothing to run.
    Pending,
    /// Not a catalogue name: an image reference, run as typed.
    Custom,
}

impl App {
    pub(super) async fn launch_image(&self, typed: &str) -> anyhow::Result<LaunchImage> {
        let catalog = self.db.catalog().await?;
        if let Some(version) = catalog.resolve(typed) {
            return Ok(LaunchImage::Catalog(Box::new(version.clone())));
        }
        if catalog.of(&typed.to_lowercase()).next().is_some() {
            return Ok(LaunchImage::Pending);
        }
        Ok(LaunchImage::Custom)
    }

    /// `image publish`: the image must be the caller's (or the caller an admin), on some host,
    /// and one image wherever it is; the request and every admin's DM are written together.
    pub(super) async fn image_publish(
        &self,
        ctx: &Ctx<'_>,
        request: PublishRequest,
    ) -> anyhow::Result<Reply> {
        let images = self.images_everywhere(None, &[]).await?;
        let found = match_images(&images.items, &request.image);
        let Some(first) = found.first() else {
            return Ok(replies::no_image(
                &request.image,
                &images.unreachable,
                ctx.lang,
            ));
        };
        if found.iter().any(|i| i.image.id != first.image.id) {
            return Ok(replies::several(&request.image, &found, ctx.lang));
        }
        let shown = first
            .image
            .tags
            .iter()
            .find(|t| **t == request.image || t.starts_with(&format!("{}:", request.image)))
            .or(first.image.tags.first())
            .cloned()
            .unwrap_or_else(|| request.image.clone());
        let published = Published {
            image: &shown,
            id: &first.image.id,
            host: &first.host,
        };
        // Any copy that shows an owner speaks for the image (the id is the same everywhere).
        let owner = found.iter().find_map(|i| i.owner.as_ref());
        match owner {
            Some(owner) if owner.slack_user == ctx.user.slack_user_id || ctx.is_admin => {}
            Some(owner) => return Ok(replies::not_yours(&published, &owner.slack_user, ctx.lang)),
            None if ctx.is_admin => {}
            None => return Ok(replies::unowned(&published, ctx.lang)),
        }
        let Some(name) = request.name.clone().or_else(|| name_from(first)) else {
            return Ok(replies::needs_name(&request.image, ctx.lang));
        };
        let project = match request.project {
            Some(project) => {
                let known = self.db.projects().await?;
                if !known.iter().any(|p| p.name == project && p.is_active()) {
                    return Ok(replies::unknown_project(&project, ctx.lang));
                }
                Some(project)
            }
            None => self.db.default_projects().await?.remove(&ctx.user.id),
        };
        let version = match request.version {
            Some(version) => version,
            None => self.db.catalog().await?.next_version(&name),
        };
        let admins = &self.config.bookings.admins;
        if admins.is_empty() {
            return Ok(replies::no_admins(&format!("{name}:{version}"), ctx.lang));
        }
        let admin_langs = self.admins_with_languages(&ctx.user.team_id).await;
        let new = NewPublish {
            name: &name,
            version: &version,
            image_id: &first.image.id,
            source_name: &shown,
            source_host: &first.host,
            description: request.description.as_deref().unwrap_or_default(),
            project: project.as_deref(),
            requester: &ctx.user.slack_user_id,
            requester_name: &ctx.user.display_name,
            is_admin: ctx.is_admin,
            request_id: ctx.request_id,
        };
        let notify = |pending: &CatalogVersion| {
            admin_langs
                .iter()
                .map(|(admin, lang)| OutgoingMessage {
                    to: Recipient::User(admin.clone()),
                    reply: replies::request_for_admins(&published, pending, *lang),
                    attachment: None,
                })
                .collect()
        };
        Ok(
            match self
                .db
                .request_publish(&new, ctx.now.timestamp(), &notify)
                .await?
            {
                PublishOutcome::Asked(pending) => replies::asked(&published, &pending, ctx.lang),
                PublishOutcome::Refused(refusal) => replies::refused(&refusal, &name, ctx.lang),
            },
        )
    }

    /// The Approve / Reject buttons of the admins' DM; the value is the request id.
    pub(super) async fn decide_publish(
        &self,
        ctx: &Ctx<'_>,
        value: &str,
        decision: Decision,
    ) -> anyhow::Result<ClickAnswer> {
        if !ctx.is_admin {
            return Ok(crate::core::replies::admins_only_in(ctx.lang).into());
        }
        let Ok(id) = value.trim_start_matches('#').parse::<i64>() else {
            return Ok(replies::no_request(value, ctx.lang).into());
        };
        // The requester's language is read before the transaction that queues their DM.
        let requester_lang = match self.db.catalog_version(id).await? {
            Some(v) => {
                self.lang_of_member(&ctx.user.team_id, &v.requested_by)
                    .await
            }
            None => return Ok(replies::no_request(value, ctx.lang).into()),
        };
        let notify = |outcome: &PublishDecision| {
            let (version, approved) = match outcome {
                PublishDecision::Approved(v) => (v, true),
                PublishDecision::Rejected(v) => (v, false),
                _ => return Vec::new(),
            };
            vec![OutgoingMessage {
                to: Recipient::User(version.requested_by.clone()),
                reply: replies::decision_for_requester(version, approved, requester_lang),
                attachment: None,
            }]
        };
        let outcome = self
            .db
            .decide_publish(
                id,
                decision,
                &ctx.user.slack_user_id,
                ctx.request_id,
                ctx.now.timestamp(),
                &notify,
            )
            .await?;
        Ok(match outcome {
            PublishDecision::Approved(v) => replies::decided(&v, true, ctx.lang),
            PublishDecision::Rejected(v) => replies::decided(&v, false, ctx.lang),
            PublishDecision::AlreadyDecided(v) => replies::already_decided(&v, ctx.lang),
            PublishDecision::NoSuchRequest => replies::no_request(value, ctx.lang),
        }
        .into())
    }

    /// `image deprecate <name>[:<version>] [use <other>]`: admins, or whoever published the
    /// name; the config's names are the config's.
    pub(super) async fn image_deprecate(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        version: Option<&str>,
        replaced_by: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let target = match version {
            Some(version) => format!("{name}:{version}"),
            None => name.to_owned(),
        };
        let catalog = self.db.catalog().await?;
        let Some(first) = catalog.of(name).next() else {
            return Ok(replies::nothing_to_deprecate(&target, ctx.lang));
        };
        if first.origin == CatalogOrigin::Config {
            return Ok(replies::deprecate_house(name, ctx.lang));
        }
        if !ctx.is_admin && first.requested_by != ctx.user.slack_user_id {
            return Ok(replies::deprecate_not_yours(
                name,
                &first.requested_by,
                ctx.lang,
            ));
        }
        if let Some(replacement) = replaced_by
            && catalog
                .resolve(replacement)
                .is_none_or(|r| r.name == name && version.is_none_or(|v| v == r.version))
        {
            return Ok(replies::unknown_replacement(replacement, &target, ctx.lang));
        }
        let changed = self
            .db
            .deprecate_versions(
                name,
                version,
                replaced_by,
                &ctx.user.slack_user_id,
                ctx.request_id,
                ctx.now.timestamp(),
            )
            .await?;
        if changed.is_empty() {
            return Ok(replies::nothing_to_deprecate(&target, ctx.lang));
        }
        Ok(replies::deprecated(
            &changed,
            replaced_by,
            self.config.reports.orphan_image_days,
            ctx.lang,
        ))
    }
}

/// A catalogue name from an image's own name: `registry.lan/alice/resnet:v1` → `resnet`, if
/// that is a plain name.
fn name_from(image: &LocatedImage) -> Option<String> {
    let tag = image.image.tags.first()?;
    let repository = tag.rsplit('/').next()?;
    let name = repository.split(':').next()?.to_lowercase();
    let plain = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    plain.then_some(name)
}
