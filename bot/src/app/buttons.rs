//! Button clicks: each action id (see [`crate::core::actions`]) goes to its handler, with the
//! value the button carries. Booking buttons answer with the refreshed bookings list.

use std::time::Duration as StdDuration;

use chrono::Duration;

use tracing::{info, warn};

use super::{ActionInvocation, App, ClickAnswer, Ctx};
use crate::core::actions;
use crate::core::booking::book_now;
use crate::core::fleet::{ClaimIndex, ClaimKind, Decision, Removal, short_id};
use crate::core::inventory;
use crate::core::reminders::gpu_booking;
use crate::core::render::{RenderedMessage, Reply, Visibility, settle_line};
use crate::core::replies::{self, buttons};
use crate::store::reminders::Keep;
use crate::store::{AuditEntry, Db};

/// Clicks on the same button of the same message by the same person this close together (in
/// whole seconds) are one double click: only the first has an effect.
const DOUBLE_CLICK_SECS: i64 = 2;

/// How long the agent may take to remove an image before the click is answered as failed.
const REMOVE_IMAGE_TIMEOUT: StdDuration = StdDuration::from_secs(20);

impl App {
    /// Handles a click and answers it. In a message others see (a channel post such as the
    /// daily report), the outcome goes to the clicker alone and only the clicked item's line
    /// changes, for everyone; in a private one (an ephemeral reply, the DM with the bot), the
    /// outcome replaces the message. The same for HTTP and Socket Mode.
    pub async fn answer_click(&self, click: &ActionInvocation) {
        if self.is_repeat_click(click).await {
            info!(user = %click.user_id, action = %click.action_id, value = %click.value, "second click of a double click ignored");
            return;
        }
        let answer = self.handle_action(click).await;
        self.deliver_click_answer(click, answer).await;
        // A click in the Home tab (Release, Extend) changes what it shows.
        self.refresh_home_of(&click.team_id, &click.user_id).await;
    }

    async fn deliver_click_answer(&self, click: &ActionInvocation, answer: ClickAnswer) {
        let Some(url) = &click.response_url else {
            // The Home tab's buttons have none: the tab is refreshed instead.
            info!(action = %click.action_id, "a click without response_url (Home tab)");
            return;
        };
        let Some(message) = click.message.as_ref().filter(|m| m.shared) else {
            if let Err(err) = self.slack.respond(url, &answer.reply, true).await {
                warn!(error = %err, "could not answer a button click");
            }
            return;
        };
        let reply = Reply {
            visibility: Visibility::Ephemeral,
            ..answer.reply
        };
        if let Err(err) = self
            .slack
            .post_ephemeral(&message.channel_id, &click.user_id, &reply)
            .await
        {
            warn!(error = %err, "could not answer a button click");
        }
        let Some(line) = &answer.settled else {
            return;
        };
        let Some(blocks) = settle_line(&message.blocks, &click.action_id, &click.value, line)
        else {
            return;
        };
        let settled = RenderedMessage {
            text: message.text.clone(),
            blocks,
            terminal: String::new(),
        };
        if let Err(err) = self.slack.replace_original(url, &settled).await {
            warn!(error = %err, "could not mark the clicked item in its message");
        }
    }

    /// Whether this click repeats one made on the same button of the same message by the same
    /// person within [`DOUBLE_CLICK_SECS`]: "Extend 1h" pressed twice in a hurry extends once.
    /// If the record cannot be written, the click goes ahead (better twice than lost).
    async fn is_repeat_click(&self, click: &ActionInvocation) -> bool {
        let Some(ts) = &click.message_ts else {
            return false;
        };
        let key = format!(
            "click:{}:{}:{}:{ts}:{}",
            click.team_id, click.user_id, click.action_id, click.value
        );
        let now = self.clock.now().timestamp();
        match self
            .db
            .first_click_within(&key, now, DOUBLE_CLICK_SECS)
            .await
        {
            Ok(first) => !first,
            Err(err) => {
                warn!(error = %err, "cannot record a click; handling it anyway");
                false
            }
        }
    }

    pub(super) async fn run_action(
        &self,
        action: &ActionInvocation,
        request_id: &str,
    ) -> anyhow::Result<ClickAnswer> {
        let user = self.identify(&action.team_id, &action.user_id).await?;
        let tz = user.tz.parse().unwrap_or(self.default_tz);
        let now = self.clock.now();
        let is_admin = self.is_admin(&user.slack_user_id);
        let ctx = Ctx {
            user: &user,
            tz,
            now,
            is_admin,
            request_id,
            response_url: action.response_url.as_deref(),
            lang: super::lang_of(&user),
        };
        let parsed_id = action.value.trim_start_matches('#').parse::<i64>();
        match action.action_id.as_str() {
            actions::BOOK_NOW => {
                let request = book_now(&action.value, now.timestamp());
                return self.book(&ctx, &request, None).await.map(Into::into);
            }
            actions::KEEP_CONTAINER => {
                return self.keep_container(&ctx, &action.value).await;
            }
            actions::STOP_CONTAINER => {
                return self
                    .stop_or_remove(&ctx, &action.value, Removal::Stop)
                    .await
                    .map(Into::into);
            }
            actions::REMOVE_CONTAINER => {
                return self
                    .stop_or_remove(&ctx, &action.value, Removal::Remove)
                    .await
                    .map(Into::into);
            }
            actions::COPY_IMAGE => {
                return match action.value.split_once(' ') {
                    Some((host, image)) => self.image_copy(&ctx, image, host).await.map(Into::into),
                    None => Ok(buttons::no_image(&action.value, ctx.lang).into()),
                };
            }
            actions::REMOVE_IMAGE => {
                return self.remove_image(&ctx, &action.value).await;
            }
            actions::REMOVE_DATASET_COPY => {
                return self.remove_dataset_copy(&ctx, &action.value).await;
            }
            actions::CLAIM_APPROVE => {
                return self
                    .decide_claim(&ctx, &action.value, Decision::Approve)
                    .await
                    .map(Into::into);
            }
            actions::CLAIM_DENY => {
                return self
                    .decide_claim(&ctx, &action.value, Decision::Deny)
                    .await
                    .map(Into::into);
            }
            actions::PUBLISH_APPROVE => {
                return self
                    .decide_publish(&ctx, &action.value, Decision::Approve)
                    .await;
            }
            actions::PUBLISH_REJECT => {
                return self
                    .decide_publish(&ctx, &action.value, Decision::Deny)
                    .await;
            }
            actions::HOME_BOOK => {
                self.book_from_home(&ctx, action.trigger_id.as_deref())
                    .await;
                return Ok(buttons::opening_form(ctx.lang).into());
            }
            actions::WAIT_ACCEPT | actions::WAIT_DECLINE => {
                let accept = action.action_id == actions::WAIT_ACCEPT;
                return self.answer_offer(&ctx, &action.value, accept).await;
            }
            actions::BOOK_GPU_NOW => {
                return match gpu_booking(&action.value, now.timestamp()) {
                    Some(request) => self.book(&ctx, &request, None).await.map(Into::into),
                    None => Ok(buttons::no_gpu(&action.value, ctx.lang).into()),
                };
            }
            _ => {}
        }
        let Ok(id) = parsed_id else {
            return Ok(buttons::no_booking_id(&action.value, ctx.lang).into());
        };
        let outcome = match action.action_id.as_str() {
            actions::RELEASE => self.end_booking(&ctx, id).await?,
            actions::EXTEND_1H => self.extend(&ctx, id, Duration::hours(1)).await?,
            actions::REMIND_EXTEND_1H => {
                return self
                    .extend(&ctx, id, Duration::hours(1))
                    .await
                    .map(Into::into);
            }
            actions::REMIND_RELEASE => return self.end_booking(&ctx, id).await.map(Into::into),
            other => return Ok(buttons::unknown(other, ctx.lang).into()),
        };
        // The click's message was a bookings list: show the outcome above the refreshed list.
        self.mine(&ctx, Some(outcome.text)).await.map(Into::into)
    }

    /// The "Keep N days" button: value `host/container id`. Owners and admins only; audited.
    async fn keep_container(&self, ctx: &Ctx<'_>, value: &str) -> anyhow::Result<ClickAnswer> {
        let Some((host, id)) = value.split_once('/') else {
            return Ok(buttons::no_container(value, ctx.lang).into());
        };
        let Some(container) = self
            .db
            .cached_containers(Some(host))
            .await?
            .into_iter()
            .find(|c| c.id == id)
        else {
            return Ok(buttons::container_gone(host, ctx.lang).into());
        };
        let claims = self.db.claims(Some(host)).await?;
        let owner = inventory::container_owner(
            &container,
            &ClaimIndex::of_kind(&claims, ClaimKind::Container),
        );
        let me = ctx.user.slack_user_id.as_str();
        match &owner {
            Some(o) if o == me || ctx.is_admin => {}
            None if ctx.is_admin => {}
            Some(o) => return Ok(buttons::keep_not_yours(&container.name, o, ctx.lang).into()),
            None => return Ok(buttons::keep_unowned(&container.name, ctx.lang).into()),
        }
        let now = ctx.now.timestamp();
        let until = now + self.config.reports.keep_for.as_secs() as i64;
        let keep = Keep {
            host,
            id,
            recipient: owner.as_deref().unwrap_or(me),
            until,
            actor: me,
            name: &container.name,
            request_id: ctx.request_id,
        };
        self.db.keep_container(&keep, now).await?;
        Ok(ClickAnswer {
            reply: buttons::kept(&container.name, host, until, now, ctx.tz, ctx.lang),
            settled: Some(buttons::settled(
                &container.name,
                host,
                buttons::Settled::Kept,
                me,
                self.config.slack.channel_language,
            )),
        })
    }

    /// The "Remove" button of an orphan image (admins only). The value is `host/image id`; the
    /// agent refuses if a container has started using the image since the report. Audited.
    async fn remove_image(&self, ctx: &Ctx<'_>, value: &str) -> anyhow::Result<ClickAnswer> {
        if !ctx.is_admin {
            return Ok(replies::admins_only().into());
        }
        let Some((host, id)) = value.split_once('/') else {
            return Ok(buttons::no_image(value, ctx.lang).into());
        };
        let Some(agent) = self.fleet.agent(host) else {
            return Ok(replies::fleet::no_agent(host).into());
        };
        let name = self
            .db
            .cached_images(Some(host))
            .await?
            .into_iter()
            .find(|i| i.id == id)
            .and_then(|i| i.tags.first().cloned())
            .unwrap_or_else(|| short_id(id));
        let result = match tokio::time::timeout(REMOVE_IMAGE_TIMEOUT, agent.remove_image(id)).await
        {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "no answer within {} s",
                REMOVE_IMAGE_TIMEOUT.as_secs()
            )),
        };
        let outcome = match &result {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("failed: {e}"),
        };
        Db::audit(
            self.db.connection(),
            ctx.now.timestamp(),
            AuditEntry {
                actor: &ctx.user.slack_user_id,
                action: "image rm",
                target: format!("image {name} on {host} ({})", short_id(id)),
                outcome: &outcome,
                request_id: ctx.request_id,
                detail: Some("orphan image report".to_owned()),
            },
        )
        .await?;
        Ok(match result {
            Ok(()) => ClickAnswer {
                reply: buttons::image_removed(&name, host, ctx.lang),
                settled: Some(buttons::settled(
                    &name,
                    host,
                    buttons::Settled::Removed,
                    &ctx.user.slack_user_id,
                    self.config.slack.channel_language,
                )),
            },
            Err(err) => buttons::image_not_removed(&name, host, &err, ctx.lang).into(),
        })
    }
}
