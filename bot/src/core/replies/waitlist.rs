//! Replies and DMs of the wait-list: joining the line, the line itself, offers with their
//! Accept / Decline buttons, and every way a request ends.

use chrono::Duration;
use chrono_tz::Tz;
use maison_command::format_duration;

use super::{span, when};
use crate::core::actions;
use crate::core::booking::BookingView;
use crate::core::gpus::gpus_label;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::units::size_text;
use crate::core::waitlist::{OfferError, Placement, WaitRow};

/// One request of the line as `queue` shows it.
#[derive(Debug, Clone)]
pub struct InLine {
    pub row: WaitRow,
    /// 1-based place among those still waiting; `None` while it holds an offer.
    pub place: Option<usize>,
    /// The slot the matcher keeps for it, if any fits within the booking window.
    pub planned: Option<Placement>,
}

/// "2 GPUs on any host for 2h, each with at least 40 GB"
pub fn wanted(row: &WaitRow) -> String {
    let gpus = if row.gpus == 1 {
        "1 GPU".to_owned()
    } else {
        format!("{} GPUs", row.gpus)
    };
    let host = match &row.host {
        Some(host) => format!("`{host}`"),
        None => "any host".to_owned(),
    };
    let memory = row
        .min_mem
        .map(|m| format!(", each with at least {}", size_text(m)))
        .unwrap_or_default();
    format!(
        "{gpus} on {host} for {}{memory}",
        format_duration(Duration::seconds(row.length))
    )
}

fn predicted(planned: Option<&Placement>, now: i64, tz: Tz) -> String {
    match planned {
        Some(p) => format!(
            "predicted start {} on `{}` (if bookings end on time)",
            when(p.start, now, tz),
            p.host
        ),
        None => "no predicted start within the booking window yet".to_owned(),
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
) -> Reply {
    let text = format!(
        ":hourglass_flowing_sand: Nothing fits now, so you are *#{place}* in line for {} (request *{}*).",
        wanted(row),
        row.id
    );
    let how = if row.auto {
        "When GPUs free up I book them for you and send you a DM.".to_owned()
    } else {
        format!(
            "When GPUs free up you get a DM with *Accept* / *Decline*; they are held for you for {}.",
            format_duration(Duration::seconds(offer_for))
        )
    };
    let mut context = format!("{}. {how}", capitalised(&predicted(planned, now, tz)));
    if let Some(start_by) = row.start_by {
        context.push_str(&format!(
            " If it cannot start by {}, you leave the line.",
            when(start_by, now, tz)
        ));
    }
    context.push_str(&format!(
        " `/maison queue` shows the line · `/maison unwait {}` leaves it.",
        row.id
    ));
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
pub fn line(entries: &[InLine], viewer: i64, now: i64, tz: Tz) -> Reply {
    if entries.is_empty() {
        return Reply::ephemeral(
            ":white_check_mark: Nobody is waiting. `/maison book any 2h --wait` joins the line when nothing is free.",
        );
    }
    let mut blocks = vec![Block::Header("Wait-list".to_owned())];
    for entry in entries {
        let row = &entry.row;
        let yours = if row.user_id == viewer {
            " _(you)_"
        } else {
            ""
        };
        let waited = format_duration(Duration::seconds((now - row.created_at).max(0) / 60 * 60));
        let line = match (&entry.place, &row.offer) {
            (_, Some(offer)) => format!(
                ":gift: *{}* {}{yours} — {} · offered, answer by {}",
                row.id,
                mention(&row.slack_user_id),
                wanted(row),
                when(offer.expires_at, now, tz)
            ),
            (place, None) => format!(
                "*#{}* · request *{}* {}{yours} — {} · waiting {} · {}",
                place.unwrap_or(0),
                row.id,
                mention(&row.slack_user_id),
                wanted(row),
                if waited == "0m" {
                    "<1m".to_owned()
                } else {
                    waited
                },
                predicted(entry.planned.as_ref(), now, tz)
            ),
        };
        blocks.push(Block::Section(line));
    }
    blocks.push(Block::Context(
        "The line is ordered by time waited, less a penalty for GPU-hours used in the last days; \
         a smaller request may go first only if it ends before the slot kept for those ahead."
            .to_owned(),
    ));
    let waiting = entries.iter().filter(|e| e.row.offer.is_none()).count();
    Reply::with_blocks(
        Visibility::Ephemeral,
        format!("{waiting} request(s) waiting."),
        blocks,
    )
}

/// The DM of an offer: the held GPUs and the two buttons.
pub fn offer(
    row: &WaitRow,
    booking: &BookingView,
    offer_id: i64,
    max_missed: u32,
    now: i64,
    tz: Tz,
) -> Reply {
    let until = booking.held_until.unwrap_or(now);
    let text = format!(
        ":gift: GPUs are free for your request *{}*: `{}` {} for {}. They are held for you until {}.",
        row.id,
        booking.host,
        gpus_label(&booking.gpus),
        span(booking.start, booking.end, now, tz),
        when(until, now, tz)
    );
    let id = offer_id.to_string();
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![
            Block::Section(text),
            Block::Actions(vec![
                Button::new("Accept", actions::WAIT_ACCEPT, id.clone())
                    .styled(ButtonStyle::Primary),
                Button::new("Decline", actions::WAIT_DECLINE, id).styled(ButtonStyle::Danger),
            ]),
            Block::Context(format!(
                "Without an answer they go to the next in line and you go to the back of the line (after {max_missed} missed offers you leave it)."
            )),
        ],
    )
}

/// The DM when `--auto` booked for the user.
pub fn auto_booked(row: &WaitRow, booking: &BookingView, now: i64, tz: Tz) -> Reply {
    let text = format!(
        ":white_check_mark: Your turn came: booked `{}` {} for {} (booking *#{}*, from request {}).",
        booking.host,
        gpus_label(&booking.gpus),
        span(booking.start, booking.end, now, tz),
        booking.id,
        row.id
    );
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![
            Block::Section(text),
            Block::Context(format!(
                "`/maison release {}` gives them back early.",
                booking.id
            )),
        ],
    )
}

/// Accept: the booking is the user's now.
pub fn accepted(booking: &BookingView, now: i64, tz: Tz) -> Reply {
    Reply::ephemeral(format!(
        ":white_check_mark: Accepted: `{}` {} is yours for {} (booking *#{}*). `/maison release {}` gives it back early.",
        booking.host,
        gpus_label(&booking.gpus),
        span(booking.start, booking.end, now, tz),
        booking.id,
        booking.id
    ))
}

pub fn declined(row: &WaitRow) -> Reply {
    Reply::ephemeral(format!(
        ":wave: Declined: the GPUs go to the next in line, and request {} has left the line.",
        row.id
    ))
}

pub fn withdrawn(row: &WaitRow) -> Reply {
    let offer = if row.offer.is_some() {
        " The GPUs held for you go to the next in line."
    } else {
        ""
    };
    Reply::ephemeral(format!(
        ":wave: Request {} ({}) has left the line.{offer}",
        row.id,
        wanted(row)
    ))
}

/// The DM when an offer ran out unanswered.
pub fn offer_lapsed(row: &WaitRow, dropped: bool, max_missed: u32) -> Reply {
    let text = if dropped {
        format!(
            ":zzz: The GPUs offered for request {} ({}) went unanswered. After {max_missed} missed offers the request has left the line; `/maison book … --wait` joins it again.",
            row.id,
            wanted(row)
        )
    } else {
        format!(
            ":zzz: The GPUs offered for request {} ({}) went unanswered and went to the next in line. You are back in line, at the end; the next offer comes as a DM too.",
            row.id,
            wanted(row)
        )
    };
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![Block::Section(text)],
    )
}

/// The DM when a request could not start within its `--within`.
pub fn expired(row: &WaitRow) -> Reply {
    let text = format!(
        ":hourglass: Request {} ({}) could not start in time to end within what you asked, so it has left the line.",
        row.id,
        wanted(row)
    );
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![Block::Section(text)],
    )
}

/// A click or `unwait` that cannot act.
pub fn offer_refused(err: &OfferError, id: i64) -> Reply {
    Reply::ephemeral(match err {
        OfferError::NotFound => format!(
            ":grey_question: There is no wait-list request or offer {id}. `/maison queue` shows the line."
        ),
        OfferError::NotYours => {
            ":lock: That is someone else's; only they or an admin can change it.".to_owned()
        }
        OfferError::AlreadyDecided(how) => format!(":grey_question: That is already {how}."),
        OfferError::Db(_) => {
            ":boom: Something went wrong on our side and nothing was changed.".to_owned()
        }
    })
}

/// `--wait` that can never be served, and `--min-mem` that cannot be met.
pub fn cannot_wait(reason: &str) -> Reply {
    Reply::ephemeral(format!(":no_entry_sign: {reason}"))
}

/// Why no host suits a request: GPUs, memory or state, in the user's words.
pub fn nothing_suits(gpus: u32, min_mem: Option<u64>, biggest: u32, host: Option<&str>) -> String {
    match (host, min_mem) {
        (Some(host), _) => format!("`{host}` cannot take {gpus} GPUs."),
        (None, Some(mem)) if gpus <= biggest => format!(
            "No host has {gpus} GPUs with at least {} each (as their agents report them).",
            size_text(mem)
        ),
        (None, _) => format!(
            "No host has {gpus} GPUs: the largest has {biggest}. Ask for fewer with `--gpus`."
        ),
    }
}

/// A host whose GPUs have too little memory, or have not reported it.
pub fn memory_short(host: &str, have: Option<u64>, want: u64) -> Reply {
    cannot_wait(&match have {
        Some(have) => format!(
            "`{host}`'s GPUs have {} each; you asked for at least {}. `/maison book any … --min-mem {}` finds a host that has it.",
            size_text(have),
            size_text(want),
            size_text(want).replace(' ', "")
        ),
        None => format!(
            "`{host}`'s agent has not reported its GPU memory yet, so `--min-mem` cannot be checked there."
        ),
    })
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
        let reply = joined(&row(), 2, Some(&planned), 600, 0, Tz::UTC);
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
        let text = mrkdwn(&line(&entries, 1, 120, Tz::UTC));
        assert!(
            text.contains("*#1* · request *7* <@U0ALICE> _(you)_"),
            "{text}"
        );
        assert!(text.contains("waiting 2m"), "{text}");
        assert!(text.contains("*8* <@U0ALICE> _(you)_ — 2 GPUs"), "{text}");
        assert!(text.contains("answer by today 00:11"), "{text}");
    }

    #[test]
    fn nothing_suits_names_the_limit() {
        assert_eq!(
            nothing_suits(16, None, 8, None),
            "No host has 16 GPUs: the largest has 8. Ask for fewer with `--gpus`."
        );
        assert!(nothing_suits(2, Some(80_000_000_000), 8, None).contains("at least 80 GB"));
    }
}
