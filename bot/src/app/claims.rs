//! `claim`: taking ownership of a container or image made outside Maison.
//!
//! Ownership decides who may stop and remove a thing, infrastructure included, so it is not
//! handed to whoever asks first. An admin claims directly. A member claims directly only with
//! evidence: the container is running and every one of its processes runs as the member's mapped
//! Unix uid. Anything else (no mapping, a stopped container, someone else's uid, an image, an
//! agent that cannot tell) becomes a durable request that the admins approve or deny from a DM.

use maison_command::Lang;

use super::fleet::timed;
use super::{App, Ctx};
use crate::core::fleet::{
    ClaimKind, ClaimRequest, Decision, DecisionOutcome, Located, LocatedImage, NoProof, Owner,
    RequestOutcome, match_containers, match_images,
};
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::Reply;
use crate::core::replies::fleet as fleet_replies;
use crate::core::replies::{self, buttons};
use crate::store::claims::{NewClaim, NewClaimRequest};

/// The one thing a `claim` names.
struct Target {
    host: String,
    kind: ClaimKind,
    object_id: String,
    label: String,
    owner: Option<Owner>,
}

impl Target {
    fn container(c: &Located) -> Self {
        Self {
            host: c.host.clone(),
            kind: ClaimKind::Container,
            object_id: c.container.id.clone(),
            label: c.container.name.clone(),
            owner: c.owner.clone(),
        }
    }

    fn image(i: &LocatedImage) -> Self {
        Self {
            host: i.host.clone(),
            kind: ClaimKind::Image,
            object_id: i.image.id.clone(),
            label: i.name(),
            owner: i.owner.clone(),
        }
    }
}

/// Why a claim may be recorded without asking anyone.
enum Grounds {
    Admin,
    /// Every process of the running container runs as the caller's mapped uid.
    OwnUid(u32),
}

impl App {
    pub(super) async fn claim(&self, ctx: &Ctx<'_>, target: &str) -> anyhow::Result<Reply> {
        let containers = self.containers_everywhere(None).await?;
        let found = match_containers(&containers.items, target);
        let target = match found.as_slice() {
            [one] => Target::container(one),
            [] => {
                let images = self.images_everywhere(None, &containers.items).await?;
                let found = match_images(&images.items, target);
                match found.as_slice() {
                    [one] => Target::image(one),
                    [] => {
                        return Ok(fleet_replies::nothing_called(
                            target,
                            &containers.unreachable,
                            ctx.lang,
                        ));
                    }
                    _ => return Ok(fleet_replies::ambiguous_images(target, &found, ctx.lang)),
                }
            }
            many => return Ok(fleet_replies::ambiguous(target, many, ctx.lang)),
        };
        if let Some(owner) = &target.owner {
            return Ok(fleet_replies::already_owned(&target.label, owner, ctx.lang));
        }
        let grounds = if ctx.is_admin {
            Ok(Grounds::Admin)
        } else {
            self.evidence(ctx, &target).await
        };
        match grounds {
            Ok(grounds) => self.claim_directly(ctx, &target, grounds).await,
            Err(reason) => self.ask_admins(ctx, &target, &reason).await,
        }
    }

    /// The caller's proof that the container is theirs, or why there is none.
    async fn evidence(&self, ctx: &Ctx<'_>, target: &Target) -> Result<Grounds, NoProof> {
        let me = &ctx.user.slack_user_id;
        if target.kind == ClaimKind::Image {
            return Err(NoProof::Image);
        }
        let Some(mapping) = self.unix_mapping(me) else {
            return Err(NoProof::NoUnixMapping { member: me.clone() });
        };
        let Some(agent) = self.fleet.agent(&target.host) else {
            return Err(NoProof::NoAgent {
                host: target.host.clone(),
            });
        };
        let processes = timed(agent.container_processes(&target.object_id))
            .await
            .map_err(|err| NoProof::AgentFailed {
                host: target.host.clone(),
                error: err.to_string(),
            })?;
        if !processes.running {
            return Err(NoProof::NotRunning);
        }
        if processes.uids.is_empty() {
            return Err(NoProof::NoProcesses);
        }
        if processes.uids.iter().all(|uid| *uid == mapping.uid) {
            return Ok(Grounds::OwnUid(mapping.uid));
        }
        Err(NoProof::OtherUids {
            member: me.clone(),
            uids: processes.uids.clone(),
            uid: mapping.uid,
        })
    }

    async fn claim_directly(
        &self,
        ctx: &Ctx<'_>,
        target: &Target,
        grounds: Grounds,
    ) -> anyhow::Result<Reply> {
        let audited = match grounds {
            Grounds::Admin => "claimed by an admin".to_owned(),
            Grounds::OwnUid(uid) => format!("its processes run as the owner's uid {uid}"),
        };
        let claim = NewClaim {
            host: &target.host,
            kind: target.kind,
            object_id: &target.object_id,
            label: &target.label,
            owner: &ctx.user.slack_user_id,
            owner_name: &ctx.user.display_name,
            actor: &ctx.user.slack_user_id,
            grounds: audited,
            request_id: ctx.request_id,
        };
        Ok(match self.db.claim(&claim, ctx.now.timestamp()).await? {
            Ok(()) => match grounds {
                Grounds::Admin => {
                    fleet_replies::claimed(target.kind, &target.label, &target.host, ctx.lang)
                }
                Grounds::OwnUid(uid) => {
                    fleet_replies::claimed_by_uid(&target.label, &target.host, uid, ctx.lang)
                }
            },
            Err(existing) => {
                fleet_replies::already_owned(&target.label, &Owner::of_claim(&existing), ctx.lang)
            }
        })
    }

    /// Records a pending request and DMs every admin, in one transaction.
    async fn ask_admins(
        &self,
        ctx: &Ctx<'_>,
        target: &Target,
        reason: &NoProof,
    ) -> anyhow::Result<Reply> {
        let admins = &self.config.bookings.admins;
        if admins.is_empty() {
            return Ok(fleet_replies::claim_needs_admins(
                &target.label,
                reason,
                ctx.lang,
            ));
        }
        // The stored reason is the audit's record, in English; people read it in their own.
        let recorded = fleet_replies::no_proof(reason, Lang::En);
        let request = NewClaimRequest {
            host: &target.host,
            kind: target.kind,
            object_id: &target.object_id,
            label: &target.label,
            requester: &ctx.user.slack_user_id,
            requester_name: &ctx.user.display_name,
            reason: &recorded,
            request_id: ctx.request_id,
        };
        let admin_langs = self.admins_with_languages(&ctx.user.team_id).await;
        let notify = |pending: &ClaimRequest| {
            admin_langs
                .iter()
                .map(|(admin, lang)| OutgoingMessage {
                    to: Recipient::User(admin.clone()),
                    reply: fleet_replies::claim_request_for_admins(pending, reason, *lang),
                    attachment: None,
                })
                .collect()
        };
        Ok(
            match self
                .db
                .request_claim(&request, ctx.now.timestamp(), &notify)
                .await?
            {
                RequestOutcome::Asked(pending) => {
                    fleet_replies::claim_requested(&pending, reason, ctx.lang)
                }
                RequestOutcome::AlreadyAsked(pending) => {
                    fleet_replies::claim_already_requested(&pending, ctx.lang)
                }
                RequestOutcome::Owned(existing) => fleet_replies::already_owned(
                    &target.label,
                    &Owner::of_claim(&existing),
                    ctx.lang,
                ),
            },
        )
    }

    /// The Approve / Deny buttons of the admins' DM; the value is the request id.
    pub(super) async fn decide_claim(
        &self,
        ctx: &Ctx<'_>,
        value: &str,
        decision: Decision,
    ) -> anyhow::Result<Reply> {
        if !ctx.is_admin {
            return Ok(replies::admins_only_in(ctx.lang));
        }
        let Ok(id) = value.trim_start_matches('#').parse::<i64>() else {
            return Ok(buttons::no_claim_request(value, ctx.lang));
        };
        let admin = &ctx.user.slack_user_id;
        // The requester's language is read before the transaction that queues their DM.
        let requester_lang = match self.db.claim_request(id).await? {
            Some(request) => {
                self.lang_of_member(&ctx.user.team_id, &request.requester)
                    .await
            }
            None => ctx.lang,
        };
        let notify = |outcome: &DecisionOutcome| {
            fleet_replies::claim_decision_for_requester(outcome, requester_lang)
                .map(|(requester, reply)| OutgoingMessage {
                    to: Recipient::User(requester),
                    reply,
                    attachment: None,
                })
                .into_iter()
                .collect()
        };
        let outcome = self
            .db
            .decide_claim_request(
                id,
                decision,
                admin,
                ctx.request_id,
                ctx.now.timestamp(),
                &notify,
            )
            .await?;
        Ok(fleet_replies::claim_decided(
            id,
            &outcome,
            ctx.now.timestamp(),
            ctx.tz,
            ctx.lang,
        ))
    }
}
