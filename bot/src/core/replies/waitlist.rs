//! Replies and DMs of the wait-list: joining the line, the line itself, offers with their
//! Accept / Decline buttons, and every way a request ends, in the reader's language (a DM in
//! its recipient's, [`WaitRow::lang`]).

use chrono::Duration;
use chrono_tz::Tz;
use maison_command::{Lang, format_duration_in};

use super::{span_in, when_in};
use crate::core::actions;
use crate::core::booking::BookingView;
use crate::core::gpus::gpus_label_in;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::units::size_text;
use crate::core::waitlist::{OfferError, Placement, WaitRow};
use crate::tr;

/// One request of the line as `queue` shows it.
#[derive(Debug, Clone)]
pub struct InLine {
    pub row: WaitRow,
    /// 1-based place among those still waiting; `None` while it holds an offer.
    pub place: Option<usize>,
    /// The slot the matcher keeps for it, if any fits within the booking window.
    pub planned: Option<Placement>,
}

/// "2 GPUs on any host for 2h, each with at least 40 GB", in English.
pub fn wanted(row: &WaitRow) -> String {
    wanted_in(row, Lang::En)
}

/// What a request asks for, in `lang`.
pub fn wanted_in(row: &WaitRow, lang: Lang) -> String {
    let gpus = if row.gpus == 1 {
        tr!(lang, "wait-one-gpu")
    } else {
        tr!(lang, "wait-gpus", count = row.gpus)
    };
    let host = match &row.host {
        Some(host) => tr!(lang, "wait-named-host", host = host.as_str()),
        None => tr!(lang, "wait-any-host"),
    };
    let memory = row
        .min_mem
        .map(|m| tr!(lang, "wait-wanted-memory", size = size_text(m)))
        .unwrap_or_default();
    tr!(
        lang,
        "wait-wanted",
        gpus = gpus,
        host = host,
        length = format_duration_in(Duration::seconds(row.length), lang),
        memory = memory
    )
}

fn predicted(planned: Option<&Placement>, now: i64, tz: Tz, lang: Lang) -> String {
    match planned {
        Some(p) => tr!(
            lang,
            "wait-predicted",
            when = when_in(p.start, now, tz, lang),
            host = p.host.as_str()
        ),
        None => tr!(lang, "wait-no-prediction"),
    }
}

/// The answer to `book … --wait` when nothing fits now.
pub fn joined(
    row: &WaitRow,
    place: usize,
    planned: Option<&Placement>,
    offer_for: i64,
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let text = tr!(
        lang,
        "wait-joined",
        place = place,
        wanted = wanted_in(row, lang),
        id = row.id
    );
    let how = if row.auto {
        tr!(lang, "wait-how-auto")
    } else {
        tr!(
            lang,
            "wait-how-offer",
            hold = format_duration_in(Duration::seconds(offer_for), lang)
        )
    };
    let prediction = capitalised(&predicted(planned, now, tz, lang));
    let mut context = match lang {
        Lang::En => format!("{prediction}. {how}"),
        Lang::Ja => format!("{prediction}。{how}"),
    };
    if let Some(start_by) = row.start_by {
        context.push_str(super::sentence_gap(lang));
        context.push_str(&tr!(
            lang,
            "wait-start-by",
            when = when_in(start_by, now, tz, lang)
        ));
    }
    context.push_str(super::sentence_gap(lang));
    context.push_str(&tr!(lang, "wait-commands", id = row.id));
    Reply::with_blocks(
        Visibility::Ephemeral,
        text.clone(),
        vec![Block::Section(text), Block::Context(context)],
    )
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `queue`: the line in serving order, then the open offers.
pub fn line(entries: &[InLine], viewer: i64, now: i64, tz: Tz, lang: Lang) -> Reply {
    if entries.is_empty() {
        return Reply::ephemeral(tr!(lang, "wait-nobody"));
    }
    let mut blocks = vec![Block::Header(tr!(lang, "wait-header"))];
    for entry in entries {
        let row = &entry.row;
        let you = if row.user_id == viewer {
            tr!(lang, "wait-you")
        } else {
            String::new()
        };
        let waited_secs = (now - row.created_at).max(0) / 60 * 60;
        let waited = if waited_secs < 60 {
            tr!(lang, "wait-under-a-minute")
        } else {
            format_duration_in(Duration::seconds(waited_secs), lang)
        };
        let line = match (&entry.place, &row.offer) {
            (_, Some(offer)) => tr!(
                lang,
                "wait-line-offered",
                id = row.id,
                user = mention(&row.slack_user_id),
                you = you,
                wanted = wanted_in(row, lang),
                when = when_in(offer.expires_at, now, tz, lang)
            ),
            (place, None) => tr!(
                lang,
                "wait-line-waiting",
                place = place.unwrap_or(0),
                id = row.id,
                user = mention(&row.slack_user_id),
                you = you,
                wanted = wanted_in(row, lang),
                waited = waited,
                predicted = predicted(entry.planned.as_ref(), now, tz, lang)
            ),
        };
        blocks.push(Block::Section(line));
    }
    blocks.push(Block::Context(tr!(lang, "wait-order")));
    let waiting = entries.iter().filter(|e| e.row.offer.is_none()).count();
    Reply::with_blocks(
        Visibility::Ephemeral,
        tr!(lang, "wait-count", count = waiting),
        blocks,
    )
}

/// The DM of an offer: the held GPUs and the two buttons, in the recipient's language.
pub fn offer(
    row: &WaitRow,
    booking: &BookingView,
    offer_id: i64,
    max_missed: u32,
    now: i64,
    tz: Tz,
) -> Reply {
    let lang = row.lang;
    let until = booking.held_until.unwrap_or(now);
    let text = tr!(
        lang,
        "wait-offer",
        id = row.id,
        host = booking.host.as_str(),
        gpus = gpus_label_in(&booking.gpus, lang),
        span = span_in(booking.start, booking.end, now, tz, lang),
        until = when_in(until, now, tz, lang)
    );
    let id = offer_id.to_string();
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![
            Block::Section(text),
            Block::Actions(vec![
                Button::new(tr!(lang, "button-accept"), actions::WAIT_ACCEPT, id.clone())
                    .styled(ButtonStyle::Primary),
                Button::new(tr!(lang, "button-decline"), actions::WAIT_DECLINE, id)
                    .styled(ButtonStyle::Danger),
            ]),
            Block::Context(tr!(lang, "wait-offer-hint", max = max_missed)),
        ],
    )
}

/// The DM when `--auto` booked for the user, in their language.
pub fn auto_booked(row: &WaitRow, booking: &BookingView, now: i64, tz: Tz) -> Reply {
    let lang = row.lang;
    let text = tr!(
        lang,
        "wait-auto-booked",
        host = booking.host.as_str(),
        gpus = gpus_label_in(&booking.gpus, lang),
        span = span_in(booking.start, booking.end, now, tz, lang),
        id = booking.id,
        request = row.id
    );
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![
            Block::Section(text),
            Block::Context(tr!(lang, "wait-release-hint", id = booking.id)),
        ],
    )
}

/// Accept: the booking is the user's now.
pub fn accepted(booking: &BookingView, now: i64, tz: Tz, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "wait-accepted",
        host = booking.host.as_str(),
        gpus = gpus_label_in(&booking.gpus, lang),
        span = span_in(booking.start, booking.end, now, tz, lang),
        id = booking.id
    ))
}

pub fn declined(row: &WaitRow, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "wait-declined", id = row.id))
}

pub fn withdrawn(row: &WaitRow, lang: Lang) -> Reply {
    let mut text = tr!(
        lang,
        "wait-withdrawn",
        id = row.id,
        wanted = wanted_in(row, lang)
    );
    if row.offer.is_some() {
        text.push_str(super::sentence_gap(lang));
        text.push_str(&tr!(lang, "wait-withdrawn-offer"));
    }
    Reply::ephemeral(text)
}

/// The DM when an offer ran out unanswered, in the recipient's language.
pub fn offer_lapsed(row: &WaitRow, dropped: bool, max_missed: u32) -> Reply {
    let lang = row.lang;
    let wanted = wanted_in(row, lang);
    let text = if dropped {
        tr!(
            lang,
            "wait-lapsed-dropped",
            id = row.id,
            wanted = wanted,
            max = max_missed
        )
    } else {
        tr!(lang, "wait-lapsed", id = row.id, wanted = wanted)
    };
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![Block::Section(text)],
    )
}

/// The DM when a request could not start within its `--within`.
pub fn expired(row: &WaitRow) -> Reply {
    let lang = row.lang;
    let text = tr!(
        lang,
        "wait-expired",
        id = row.id,
        wanted = wanted_in(row, lang)
    );
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![Block::Section(text)],
    )
}

/// A click or `unwait` that cannot act.
pub fn offer_refused(err: &OfferError, id: i64, lang: Lang) -> Reply {
    Reply::ephemeral(match err {
        OfferError::NotFound => tr!(lang, "wait-no-such", id = id),
        OfferError::NotYours => tr!(lang, "wait-not-yours"),
        OfferError::AlreadyDecided(how) => {
            let how = match *how {
                "accepted" => tr!(lang, "wait-already-accepted"),
                _ => tr!(lang, "wait-already-decided"),
            };
            tr!(lang, "wait-already", how = how)
        }
        OfferError::Db(_) => tr!(lang, "wait-went-wrong"),
    })
}

/// `--wait` that can never be served, and `--min-mem` that cannot be met.
pub fn cannot_wait(reason: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "wait-cannot", reason = reason))
}

/// `--wait` with GPUs named by index.
pub fn cannot_wait_by_index(lang: Lang) -> Reply {
    cannot_wait(&tr!(lang, "wait-by-index"), lang)
}

/// Why no host suits a request: GPUs, memory or state, in the user's words.
pub fn nothing_suits(
    gpus: u32,
    min_mem: Option<u64>,
    biggest: u32,
    host: Option<&str>,
    lang: Lang,
) -> String {
    match (host, min_mem) {
        (Some(host), _) => tr!(lang, "wait-host-too-small", host = host, gpus = gpus),
        (None, Some(mem)) if gpus <= biggest => tr!(
            lang,
            "wait-no-host-memory",
            gpus = gpus,
            size = size_text(mem)
        ),
        (None, _) => tr!(lang, "wait-no-host-gpus", gpus = gpus, biggest = biggest),
    }
}

/// A host whose GPUs have too little memory, or have not reported it.
pub fn memory_short(host: &str, have: Option<u64>, want: u64, lang: Lang) -> Reply {
    cannot_wait(
        &match have {
            Some(have) => tr!(
                lang,
                "wait-memory-short",
                host = host,
                have = size_text(have),
                want = size_text(want),
                flag = size_text(want).replace(' ', "")
            ),
            None => tr!(lang, "wait-memory-unknown", host = host),
        },
        lang,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::waitlist::{OpenOffer, WaitState};

    /// The mrkdwn of every text block, as Slack shows it.
    fn mrkdwn(reply: &Reply) -> String {
        reply
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Section(t) | Block::Context(t) | Block::Header(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn row() -> WaitRow {
        WaitRow {
            id: 7,
            user_id: 1,
            slack_user_id: "U0ALICE".into(),
            display_name: "Alice".into(),
            tz: "UTC".into(),
            lang: Lang::En,
            host: None,
            gpus: 2,
            length: 7200,
            min_mem: Some(40_000_000_000),
            dataset: None,
            auto: false,
            created_at: 0,
            in_line_since: 0,
            start_by: Some(3600),
            state: WaitState::Waiting,
            missed_offers: 0,
            booking_id: None,
            resolved_at: None,
            offer: None,
            project: None,
        }
    }

    #[test]
    fn joining_says_place_prediction_and_how_to_leave() {
        let planned = Placement {
            host: "gpu03".into(),
            gpus: vec![0, 1],
            start: 1800,
            end: 9000,
        };
        let reply = joined(&row(), 2, Some(&planned), 600, 0, Tz::UTC, Lang::En);
        let text = mrkdwn(&reply);
        assert!(
            text.contains(
                "*#2* in line for 2 GPUs on any host for 2h, each with at least 40 GB (request *7*)"
            ),
            "{text}"
        );
        assert!(
            text.contains("Predicted start today 00:30 on `gpu03`"),
            "{text}"
        );
        assert!(text.contains("held for you for 10m"), "{text}");
        assert!(text.contains("cannot start by today 01:00"), "{text}");
        assert!(text.contains("`/maison unwait 7`"), "{text}");
    }

    #[test]
    fn the_line_shows_places_and_offers() {
        let mut offered = row();
        offered.id = 8;
        offered.offer = Some(OpenOffer {
            id: 3,
            booking_id: 12,
            offered_at: 60,
            expires_at: 660,
        });
        let entries = [
            InLine {
                row: row(),
                place: Some(1),
                planned: None,
            },
            InLine {
                row: offered,
                place: None,
                planned: None,
            },
        ];
        let text = mrkdwn(&line(&entries, 1, 120, Tz::UTC, Lang::En));
        assert!(
            text.contains("*#1* · request *7* <@U0ALICE> _(you)_"),
            "{text}"
        );
        assert!(text.contains("waiting 2m"), "{text}");
        assert!(text.contains("*8* <@U0ALICE> _(you)_ — 2 GPUs"), "{text}");
        assert!(text.contains("answer by today 00:11"), "{text}");
    }

    /// Every wait-list reply and DM, in both languages, as one reviewed page each; a DM is in
    /// its recipient's language, whatever the reader of the page.
    #[test]
    fn waitlist_replies_in_both_languages() {
        let booking = BookingView {
            id: 12,
            user_id: 1,
            slack_user_id: "U0ALICE".into(),
            display_name: "Alice".into(),
            host: "gpu03".into(),
            gpus: vec![0, 1],
            start: 1800,
            end: 9000,
            note: None,
            cancelled: false,
            released: false,
            held_until: Some(2400),
        };
        let planned = Placement {
            host: "gpu03".into(),
            gpus: vec![0, 1],
            start: 1800,
            end: 9000,
        };
        for lang in Lang::ALL {
            let mut waiting = row();
            waiting.lang = lang;
            let mut offered = waiting.clone();
            offered.id = 8;
            offered.offer = Some(OpenOffer {
                id: 3,
                booking_id: 12,
                offered_at: 60,
                expires_at: 660,
            });
            let mut one_on_host = waiting.clone();
            one_on_host.gpus = 1;
            one_on_host.host = Some("gpu01".into());
            one_on_host.min_mem = None;
            one_on_host.auto = true;
            let entries = [
                InLine {
                    row: waiting.clone(),
                    place: Some(1),
                    planned: Some(planned.clone()),
                },
                InLine {
                    row: one_on_host.clone(),
                    place: Some(2),
                    planned: None,
                },
                InLine {
                    row: offered.clone(),
                    place: None,
                    planned: None,
                },
            ];
            let page = [
                joined(&waiting, 2, Some(&planned), 600, 0, Tz::UTC, lang),
                joined(&one_on_host, 1, None, 600, 0, Tz::UTC, lang),
                line(&[], 1, 120, Tz::UTC, lang),
                line(&entries, 1, 7200, Tz::UTC, lang),
                offer(&waiting, &booking, 3, 3, 0, Tz::UTC),
                auto_booked(&waiting, &booking, 0, Tz::UTC),
                accepted(&booking, 0, Tz::UTC, lang),
                declined(&waiting, lang),
                withdrawn(&offered, lang),
                offer_lapsed(&waiting, true, 3),
                offer_lapsed(&waiting, false, 3),
                expired(&waiting),
                offer_refused(&OfferError::NotFound, 9, lang),
                offer_refused(&OfferError::NotYours, 9, lang),
                offer_refused(&OfferError::AlreadyDecided("accepted"), 9, lang),
                cannot_wait_by_index(lang),
                cannot_wait(&nothing_suits(16, None, 8, None, lang), lang),
                cannot_wait(&nothing_suits(2, Some(80_000_000_000), 8, None, lang), lang),
                cannot_wait(&nothing_suits(4, None, 2, Some("gpu01"), lang), lang),
                memory_short("gpu01", Some(24_000_000_000), 40_000_000_000, lang),
                memory_short("gpu01", None, 40_000_000_000, lang),
            ]
            .map(|reply| mrkdwn(&reply))
            .join("\n---\n");
            insta::assert_snapshot!(format!("waitlist_replies_{lang}"), page);
        }
    }

    #[test]
    fn nothing_suits_names_the_limit() {
        assert_eq!(
            nothing_suits(16, None, 8, None, Lang::En),
            "No host has 16 GPUs: the largest has 8. Ask for fewer with `--gpus`."
        );
        assert!(
            nothing_suits(2, Some(80_000_000_000), 8, None, Lang::En).contains("at least 80 GB")
        );
    }
}
