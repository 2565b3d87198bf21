//! The reminder DMs, built from data (snapshot-tested in `tests/tests/reminders.rs`). Each says
//! what was noticed, why it matters, and offers the one or two buttons that settle it.

use chrono_tz::Tz;

use crate::core::actions;
use crate::core::booking::BookingView;
use crate::core::datasets::{BookingData, Readiness};
use crate::core::fleet::StoredContainer;
use crate::core::gpus::gpus_label_in;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::replies::when_in;
use crate::tr;
use maison_command::{Lang, format_duration_in};

/// A GPU holder as the reminders see it: a container on a host, maybe owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy {
    pub host: String,
    pub gpu: u32,
    pub container_id: String,
    pub container_name: String,
    pub owner: Option<String>,
}

fn minutes_until(ts: i64, now: i64, lang: Lang) -> String {
    let minutes = ((ts - now).max(0) + 59) / 60;
    tr!(lang, "remind-in-minutes", minutes = minutes)
}

fn dm(text: String, mut extra: Vec<Block>) -> Reply {
    let mut blocks = vec![Block::Section(text.clone())];
    blocks.append(&mut extra);
    Reply::with_blocks(Visibility::InChannel, text, blocks)
}

fn booking_buttons(b: &BookingView, extend_first: bool, lang: Lang) -> Block {
    let extend = Button::new(
        tr!(lang, "button-remind-extend"),
        actions::REMIND_EXTEND_1H,
        b.id.to_string(),
    );
    let release = Button::new(
        tr!(lang, "button-remind-release"),
        actions::REMIND_RELEASE,
        b.id.to_string(),
    )
    .styled(ButtonStyle::Danger);
    Block::Actions(if extend_first {
        vec![extend.styled(ButtonStyle::Primary), release]
    } else {
        vec![extend, release]
    })
}

/// `data`: the dataset the booking was made with (`--data`), and whether it is there.
pub fn booking_starts(
    b: &BookingView,
    data: Option<&BookingData>,
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let mut extra = Vec::new();
    if let Some(data) = data {
        extra.push(Block::Section(dataset_readiness(data, &b.host, lang)));
    }
    extra.push(booking_buttons(b, false, lang));
    extra.push(Block::Context(tr!(lang, "remind-booking-starts-hint")));
    dm(
        tr!(
            lang,
            "remind-booking-starts",
            id = b.id,
            host = b.host.as_str(),
            gpus = gpus_label_in(&b.gpus, lang),
            when = when_in(b.start, now, tz, lang),
            soon = minutes_until(b.start, now, lang),
            end = when_in(b.end, now, tz, lang)
        ),
        extra,
    )
}

/// `imagenet@v2` is ready on the host, or how far its copy is.
fn dataset_readiness(data: &BookingData, host: &str, lang: Lang) -> String {
    let label = data.label.as_str();
    match &data.readiness {
        Readiness::Ready => tr!(lang, "remind-data-ready", label = label, host = host),
        Readiness::Copying(progress) => {
            let how_far = match lang {
                Lang::En => progress.text(),
                Lang::Ja => match progress.seconds_left() {
                    Some(secs) if progress.present < progress.total => format!(
                        "{} %、残り約 {}",
                        progress.percent(),
                        format_duration_in(
                            chrono::Duration::seconds(secs.max(60) as i64),
                            Lang::Ja
                        )
                    ),
                    _ => format!("{} %", progress.percent()),
                },
            };
            tr!(
                lang,
                "remind-data-copying",
                label = label,
                host = host,
                progress = how_far
            )
        }
        Readiness::Missing => tr!(lang, "remind-data-missing", label = label, host = host),
    }
}

pub fn booking_ends(b: &BookingView, now: i64, tz: Tz, lang: Lang) -> Reply {
    dm(
        tr!(
            lang,
            "remind-booking-ends",
            id = b.id,
            host = b.host.as_str(),
            gpus = gpus_label_in(&b.gpus, lang),
            when = when_in(b.end, now, tz, lang),
            soon = minutes_until(b.end, now, lang)
        ),
        vec![
            booking_buttons(b, true, lang),
            Block::Context(tr!(lang, "remind-booking-ends-hint")),
        ],
    )
}

fn keep_button(c: &StoredContainer, keep_days: u32, lang: Lang) -> Button {
    Button::new(
        tr!(lang, "button-keep-days", days = keep_days),
        actions::KEEP_CONTAINER,
        format!("{}/{}", c.host, c.id),
    )
}

fn remove_button(c: &StoredContainer, lang: Lang) -> Button {
    Button::new(
        tr!(lang, "button-remove"),
        actions::REMOVE_CONTAINER,
        c.id.clone(),
    )
    .styled(ButtonStyle::Danger)
}

pub fn container_stopped(
    c: &StoredContainer,
    since: i64,
    keep_days: u32,
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let days = (now - since).max(0) / 86_400;
    dm(
        tr!(
            lang,
            "remind-container-stopped",
            name = c.name.as_str(),
            host = c.host.as_str(),
            days = days,
            since = when_in(since, now, tz, lang),
            image = c.image.as_str()
        ),
        vec![
            Block::Actions(vec![
                keep_button(c, keep_days, lang),
                remove_button(c, lang),
            ]),
            Block::Context(tr!(lang, "remind-keep-hint", days = keep_days)),
        ],
    )
}

pub fn container_idle(
    c: &StoredContainer,
    idle_since: i64,
    keep_days: u32,
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let hours = (now - idle_since).max(0) / 3600;
    dm(
        tr!(
            lang,
            "remind-container-idle",
            name = c.name.as_str(),
            host = c.host.as_str(),
            gpus = gpus_label_in(&c.gpus, lang),
            hours = hours,
            since = when_in(idle_since, now, tz, lang)
        ),
        vec![
            Block::Actions(vec![
                keep_button(c, keep_days, lang),
                Button::new(
                    tr!(lang, "button-stop"),
                    actions::STOP_CONTAINER,
                    c.id.clone(),
                ),
                remove_button(c, lang),
            ]),
            Block::Context(tr!(lang, "remind-keep-hint", days = keep_days)),
        ],
    )
}

pub fn unbooked_use(h: &HeldBy, lang: Lang) -> Reply {
    dm(
        tr!(
            lang,
            "remind-unbooked",
            name = h.container_name.as_str(),
            gpu = h.gpu,
            host = h.host.as_str()
        ),
        vec![
            Block::Actions(vec![
                Button::new(
                    tr!(lang, "button-book-now"),
                    actions::BOOK_GPU_NOW,
                    format!("{}:{}", h.host, h.gpu),
                )
                .styled(ButtonStyle::Primary),
            ]),
            Block::Context(tr!(
                lang,
                "remind-unbooked-hint",
                gpu = h.gpu,
                host = h.host.as_str()
            )),
        ],
    )
}

pub fn intrusion_to_user(h: &HeldBy, b: &BookingView, now: i64, tz: Tz, lang: Lang) -> Reply {
    dm(
        tr!(
            lang,
            "remind-intrusion-user",
            name = h.container_name.as_str(),
            gpu = h.gpu,
            host = h.host.as_str(),
            owner = mention(&b.slack_user_id),
            id = b.id,
            end = when_in(b.end, now, tz, lang)
        ),
        vec![Block::Actions(vec![
            Button::new(
                tr!(lang, "button-stop-mine"),
                actions::STOP_CONTAINER,
                h.container_id.clone(),
            )
            .styled(ButtonStyle::Danger),
        ])],
    )
}

pub fn intrusion_to_owner(h: &HeldBy, b: &BookingView, lang: Lang) -> Reply {
    let text = match &h.owner {
        Some(owner) => tr!(
            lang,
            "remind-intrusion-owner",
            user = mention(owner),
            name = h.container_name.as_str(),
            gpu = h.gpu,
            host = h.host.as_str(),
            id = b.id
        ),
        None => tr!(
            lang,
            "remind-intrusion-owner-unowned",
            name = h.container_name.as_str(),
            gpu = h.gpu,
            host = h.host.as_str(),
            id = b.id
        ),
    };
    dm(text, Vec::new())
}
