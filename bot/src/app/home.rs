//! Slack's own surfaces: the App Home tab and the booking form (from the Home button, from
//! `/maison book` with nothing after it, and from the global shortcut). A submitted form books
//! through the same rules as the command, and a refusal is shown on the form's fields.

use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use tracing::warn;

use super::{App, Ctx};
use crate::core::booking::{BookingError, NewBooking};
use crate::core::fleet::HostState;
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::replies;
use crate::core::replies::home::{self as home_replies, FieldErrors, FormHost, HomeInput};
use crate::core::rules::{self, GpuWish};
use crate::store::entities::user;

/// At most one Home refresh a minute per user, unless their own state changed.
const HOME_MIN_INTERVAL_SECS: i64 = 60;
/// How long the agents may take to list containers for the Home tab.
const HOME_CONTAINERS_TIMEOUT: StdDuration = StdDuration::from_secs(2);

/// A global shortcut, as an interaction delivers it.
#[derive(Debug, Clone)]
pub struct Shortcut {
    pub team_id: String,
    pub user_id: String,
    pub callback_id: String,
    pub trigger_id: String,
}

/// A submitted form: its `callback_id` and `view.state.values`.
#[derive(Debug, Clone)]
pub struct Submission {
    pub team_id: String,
    pub user_id: String,
    pub callback_id: String,
    pub values: Value,
}

impl App {
    /// `app_home_opened`: publishes the user's Home tab, unless it was published less than a
    /// minute ago (Slack sends the event at every visit).
    pub async fn home_opened(&self, team_id: &str, user_id: &str) {
        let now = self.clock.now().timestamp();
        let recent = self
            .home_published
            .lock()
            .unwrap()
            .get(user_id)
            .is_some_and(|at| now - at < HOME_MIN_INTERVAL_SECS);
        if !recent {
            self.publish_home(team_id, user_id).await;
        }
    }

    /// After a user's own command or click: their Home tab, if they have one open, shows it.
    pub async fn refresh_home_of(&self, team_id: &str, user_id: &str) {
        let seen = self.home_published.lock().unwrap().contains_key(user_id);
        if seen {
            self.publish_home(team_id, user_id).await;
        }
    }

    async fn publish_home(&self, team_id: &str, user_id: &str) {
        let view = match self.home_view(team_id, user_id).await {
            Ok(view) => view,
            Err(err) => {
                warn!(error = %format!("{err:#}"), user = user_id, "cannot build the Home tab");
                return;
            }
        };
        match self.slack.publish_home(user_id, &view).await {
            Ok(()) => {
                let now = self.clock.now().timestamp();
                self.home_published
                    .lock()
                    .unwrap()
                    .insert(user_id.to_owned(), now);
            }
            Err(err) => warn!(error = %err, user = user_id, "views.publish failed"),
        }
    }

    async fn home_view(&self, team_id: &str, user_id: &str) -> anyhow::Result<Value> {
        let user = self.identify(team_id, user_id).await?;
        let tz = user.tz.parse().unwrap_or(self.default_tz);
        let now = self.clock.now().timestamp();
        let bookings = self.db.upcoming_bookings_of(user.id, now).await?;
        let hosts = self.listed_hosts().await?;
        let fleet_bookings = self.db.bookings_overlapping(None, now, now + 1).await?;
        let live = self.db.host_statuses().await?;
        let waits: Vec<_> = self
            .db
            .open_wait_requests()
            .await?
            .into_iter()
            .filter(|w| w.user_id == user.id)
            .collect();
        // Containers come from the agents; a slow one leaves the list out rather than the tab.
        let containers =
            match tokio::time::timeout(HOME_CONTAINERS_TIMEOUT, self.containers_everywhere(None))
                .await
            {
                Ok(Ok(inventory)) => inventory
                    .items
                    .into_iter()
                    .filter(|c| c.owner.as_ref().is_some_and(|o| o.slack_user == user_id))
                    .collect(),
                _ => Vec::new(),
            };
        Ok(home_replies::home_view(
            &HomeInput {
                bookings: &bookings,
                containers: &containers,
                waits: &waits,
                hosts: &hosts,
                fleet_bookings: &fleet_bookings,
                live: &live,
            },
            now,
            tz,
            super::lang_of(&user),
        ))
    }

    /// Opens the booking form for `user`; false when Slack would not (the trigger expired, or
    /// a terminal), so the caller can answer otherwise.
    pub(super) async fn open_booking_form(&self, user: &user::Model, trigger_id: &str) -> bool {
        let tz = user.tz.parse().unwrap_or(self.default_tz);
        let now = self.clock.now().timestamp();
        let form = match self.form_hosts(now).await {
            Ok(hosts) => home_replies::booking_form(&hosts, now, tz, super::lang_of(user)),
            Err(err) => {
                warn!(error = %format!("{err:#}"), "cannot build the booking form");
                return false;
            }
        };
        match self.slack.open_modal(trigger_id, &form).await {
            Ok(()) => true,
            Err(err) => {
                warn!(error = %err, "views.open failed");
                false
            }
        }
    }

    /// Active hosts with how many GPUs are free now.
    async fn form_hosts(&self, now: i64) -> anyhow::Result<Vec<FormHost>> {
        let busy = self.db.busy_by_host(now, now + 60).await?;
        Ok(self
            .listed_hosts()
            .await?
            .into_iter()
            .filter(|h| h.state == HostState::Active)
            .map(|h| {
                let slots = busy.get(&h.name).map_or(&[][..], Vec::as_slice);
                FormHost {
                    free_now: rules::free_gpus(h.gpu_count, slots, now, now + 60).len() as u32,
                    gpu_count: h.gpu_count,
                    name: h.name,
                }
            })
            .collect())
    }

    /// The Home tab's "Book GPUs" button.
    pub(super) async fn book_from_home(&self, ctx: &Ctx<'_>, trigger_id: Option<&str>) {
        if let Some(trigger) = trigger_id {
            self.open_booking_form(ctx.user, trigger).await;
        }
    }

    /// A global shortcut: the booking form is the one there is.
    pub async fn answer_shortcut(&self, shortcut: &Shortcut) {
        if shortcut.callback_id != home_replies::BOOK_SHORTCUT {
            warn!(callback = %shortcut.callback_id, "unknown shortcut");
            return;
        }
        match self.identify(&shortcut.team_id, &shortcut.user_id).await {
            Ok(user) => {
                self.open_booking_form(&user, &shortcut.trigger_id).await;
            }
            Err(err) => warn!(error = %format!("{err:#}"), "shortcut from an unknown user"),
        }
    }

    /// A submitted form. `Some(body)` is the HTTP answer (field errors); `None` closes the
    /// form. A booking made is told by DM, as the command would reply.
    pub async fn answer_submission(&self, submission: &Submission) -> Option<Value> {
        if submission.callback_id != home_replies::BOOKING_FORM {
            warn!(callback = %submission.callback_id, "unknown form submitted");
            return None;
        }
        let errors = match self.submit_booking(submission).await {
            Ok(None) => return None,
            Ok(Some(errors)) => errors,
            Err(err) => {
                warn!(error = %format!("{err:#}"), "booking form failed");
                let lang = self
                    .lang_of_member(&submission.team_id, &submission.user_id)
                    .await;
                FieldErrors::from([("host".to_owned(), home_replies::form_internal_error(lang))])
            }
        };
        Some(json!({"response_action": "errors", "errors": errors}))
    }

    async fn submit_booking(&self, submission: &Submission) -> anyhow::Result<Option<FieldErrors>> {
        let user = self
            .identify(&submission.team_id, &submission.user_id)
            .await?;
        let tz = user.tz.parse().unwrap_or(self.default_tz);
        let now = self.clock.now();
        let lang = super::lang_of(&user);
        let form = match home_replies::read_form(&submission.values, now.timestamp(), tz, lang) {
            Ok(form) => form,
            Err(errors) => return Ok(Some(errors)),
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let ctx = Ctx {
            user: &user,
            tz,
            now,
            is_admin: self.is_admin(&user.slack_user_id),
            request_id: &request_id,
            response_url: None,
            lang,
        };
        let request = NewBooking {
            host: form.host,
            gpus: GpuWish::Count(form.gpus),
            start: form.start,
            end: form.end,
            note: form.note,
            project: None,
        };
        match self.make_booking(&ctx, &request).await {
            Ok(booking) => {
                let message = OutgoingMessage {
                    to: Recipient::User(user.slack_user_id.clone()),
                    reply: replies::booked(&booking, now.timestamp(), tz, ctx.lang),
                    attachment: None,
                };
                let key = format!("form:booking:{}", booking.id);
                self.db
                    .enqueue(&message, now.timestamp(), Some(&key))
                    .await?;
                self.refresh_home_of(&submission.team_id, &submission.user_id)
                    .await;
                Ok(None)
            }
            Err(BookingError::Db(err)) => Err(err.into()),
            // The same refusal as the command's, on the field it is about.
            Err(refusal) => {
                let field = match &refusal {
                    BookingError::InPast | BookingError::TooFarAhead { .. } => "time",
                    BookingError::TooLong { .. } => "duration",
                    BookingError::UserLimit { .. } | BookingError::NotEnoughGpus { .. } => "gpus",
                    _ => "host",
                };
                let text = match &refusal {
                    BookingError::Taken { .. } => {
                        format!("{} is taken then. Pick another host or time.", request.host)
                    }
                    other => replies::booking_refused(other, now.timestamp(), tz).text,
                };
                Ok(Some(FieldErrors::from([(
                    field.to_owned(),
                    home_replies::plain(&text),
                )])))
            }
        }
    }
}
