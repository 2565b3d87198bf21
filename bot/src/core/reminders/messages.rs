//! The reminder DMs, built from data (snapshot-tested in `tests/tests/reminders.rs`). Each says
//! what was noticed, why it matters, and offers the one or two buttons that settle it.

use chrono_tz::Tz;

use crate::core::actions;
use crate::core::booking::BookingView;
use crate::core::datasets::{BookingData, Readiness};
use crate::core::fleet::StoredContainer;
use crate::core::gpus::gpus_label;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::replies::when;

/// A GPU holder as the reminders see it: a container on a host, maybe owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy {
    pub host: String,
    pub gpu: u32,
    pub container_id: String,
    pub container_name: String,
    pub owner: Option<String>,
}

fn minutes_until(ts: i64, now: i64) -> String {
    let minutes = ((ts - now).max(0) + 59) / 60;
    format!("in {minutes} min")
}

fn dm(text: String, mut extra: Vec<Block>) -> Reply {
    let mut blocks = vec![Block::Section(text.clone())];
    blocks.append(&mut extra);
    Reply::with_blocks(Visibility::InChannel, text, blocks)
}

fn booking_buttons(b: &BookingView, extend_first: bool) -> Block {
    let extend = Button::new("Extend 1h", actions::REMIND_EXTEND_1H, b.id.to_string());
    let release = Button::new("Release", actions::REMIND_RELEASE, b.id.to_string())
        .styled(ButtonStyle::Danger);
    Block::Actions(if extend_first {
        vec![extend.styled(ButtonStyle::Primary), release]
    } else {
        vec![extend, release]
    })
}

/// `data`: the dataset the booking was made with (`--data`), and whether it is there.
pub fn booking_starts(b: &BookingView, data: Option<&BookingData>, now: i64, tz: Tz) -> Reply {
    let mut extra = Vec::new();
    if let Some(data) = data {
        extra.push(Block::Section(dataset_readiness(data, &b.host)));
    }
    extra.push(booking_buttons(b, false));
    extra.push(Block::Context(
        "Not needed any more? Release it so someone else can have the GPUs.".to_owned(),
    ));
    dm(
        format!(
            ":calendar: Your booking *#{}* of `{}` {} starts {} ({}), until {}.",
            b.id,
            b.host,
            gpus_label(&b.gpus),
            when(b.start, now, tz),
            minutes_until(b.start, now),
            when(b.end, now, tz)
        ),
        extra,
    )
}

/// `imagenet@v2` is ready on the host, or how far its copy is.
fn dataset_readiness(data: &BookingData, host: &str) -> String {
    let label = &data.label;
    match &data.readiness {
        Readiness::Ready => format!(
            ":white_check_mark: `{label}` is ready on `{host}`: `launch {host} <image> --data \
             {label}` mounts it at `/data/…`, read-only."
        ),
        Readiness::Copying(progress) => format!(
            ":truck: `{label}` is still being copied to `{host}`: {}.",
            progress.text()
        ),
        Readiness::Missing => format!(
            ":warning: `{label}` is not on `{host}`, and no copy is running: `/maison data get \
             {label} {host}` starts one."
        ),
    }
}

pub fn booking_ends(b: &BookingView, now: i64, tz: Tz) -> Reply {
    dm(
        format!(
            ":hourglass_flowing_sand: Your booking *#{}* of `{}` {} ends {} ({}).",
            b.id,
            b.host,
            gpus_label(&b.gpus),
            when(b.end, now, tz),
            minutes_until(b.end, now)
        ),
        vec![
            booking_buttons(b, true),
            Block::Context(
                "After the end your containers keep running, but the GPUs can be booked by others."
                    .to_owned(),
            ),
        ],
    )
}

fn keep_button(c: &StoredContainer, keep_days: u32) -> Button {
    Button::new(
        format!("Keep {keep_days} days"),
        actions::KEEP_CONTAINER,
        format!("{}/{}", c.host, c.id),
    )
}

pub fn container_stopped(
    c: &StoredContainer,
    since: i64,
    keep_days: u32,
    now: i64,
    tz: Tz,
) -> Reply {
    let days = (now - since).max(0) / 86_400;
    dm(
        format!(
            ":wastebasket: Your container `{}` on `{}` has been stopped for {days} days (since {}, image `{}`). If you no longer need it, remove it to free the disk.",
            c.name,
            c.host,
            when(since, now, tz),
            c.image
        ),
        vec![
            Block::Actions(vec![
                keep_button(c, keep_days),
                Button::new("Remove", actions::REMOVE_CONTAINER, c.id.clone())
                    .styled(ButtonStyle::Danger),
            ]),
            Block::Context(format!(
                "Keep: no more reminders about it for {keep_days} days."
            )),
        ],
    )
}

pub fn container_idle(
    c: &StoredContainer,
    idle_since: i64,
    keep_days: u32,
    now: i64,
    tz: Tz,
) -> Reply {
    let hours = (now - idle_since).max(0) / 3600;
    dm(
        format!(
            ":stopwatch: Your container `{}` on `{}` holds {} but has not used them for {hours} hours (since {}). Stop it if you are done, so the GPUs can go to someone else.",
            c.name,
            c.host,
            gpus_label(&c.gpus),
            when(idle_since, now, tz)
        ),
        vec![
            Block::Actions(vec![
                keep_button(c, keep_days),
                Button::new("Stop", actions::STOP_CONTAINER, c.id.clone()),
                Button::new("Remove", actions::REMOVE_CONTAINER, c.id.clone())
                    .styled(ButtonStyle::Danger),
            ]),
            Block::Context(format!(
                "Keep: no more reminders about it for {keep_days} days."
            )),
        ],
    )
}

pub fn unbooked_use(h: &HeldBy) -> Reply {
    dm(
        format!(
            ":warning: Your container `{}` is using GPU {} on `{}`, which nobody has booked. Book it so that nobody else is scheduled onto it.",
            h.container_name, h.gpu, h.host
        ),
        vec![
            Block::Actions(vec![
                Button::new(
                    "Book it now",
                    actions::BOOK_GPU_NOW,
                    format!("{}:{}", h.host, h.gpu),
                )
                .styled(ButtonStyle::Primary),
            ]),
            Block::Context(format!(
                "Books GPU {} of `{}` for 2 hours from now; `/maison extend` adds time.",
                h.gpu, h.host
            )),
        ],
    )
}

pub fn intrusion_to_user(h: &HeldBy, b: &BookingView, now: i64, tz: Tz) -> Reply {
    dm(
        format!(
            ":no_entry: Your container `{}` is using GPU {} on `{}`, inside {}'s booking *#{}* (until {}). Please stop it or move to a free GPU (`/maison status`); {} has been told.",
            h.container_name,
            h.gpu,
            h.host,
            mention(&b.slack_user_id),
            b.id,
            when(b.end, now, tz),
            mention(&b.slack_user_id)
        ),
        vec![Block::Actions(vec![
            Button::new(
                "Stop my container",
                actions::STOP_CONTAINER,
                h.container_id.clone(),
            )
            .styled(ButtonStyle::Danger),
        ])],
    )
}

pub fn intrusion_to_owner(h: &HeldBy, b: &BookingView) -> Reply {
    let who = match &h.owner {
        Some(owner) => format!(
            "{}'s container `{}` is using GPU {} on `{}` during your booking *#{}*. They have been told.",
            mention(owner),
            h.container_name,
            h.gpu,
            h.host,
            b.id
        ),
        None => format!(
            "An unowned container, `{}`, is using GPU {} on `{}` during your booking *#{}*. An admin can stop it (`/maison stop {}`), or you can `/maison claim` it.",
            h.container_name, h.gpu, h.host, b.id, h.container_name
        ),
    };
    dm(format!(":warning: {who}"), Vec::new())
}
