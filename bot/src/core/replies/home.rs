//! Slack's own surfaces: the App Home tab (your bookings, containers and place in line, the
//! fleet in one line per host, a Book GPUs button) and the booking form (a modal), with the
//! pure reading of what was submitted. Views are Block Kit JSON; Slack's typed model checks
//! them before they are sent, as it does messages.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use maison_command::Lang;
use serde_json::{Value, json};

use super::when_in;
use crate::core::actions;
use crate::core::booking::BookingView;
use crate::core::fleet::{BUSY_UTIL_PCT, Host, HostState, HostStatus, Located, image_shown};
use crate::core::gpus::gpus_text;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility};
use crate::core::replies::waitlist::wanted_in;
use crate::core::waitlist::WaitRow;
use crate::tr;

/// The form's `callback_id`: a submission carrying it is a booking.
pub const BOOKING_FORM: &str = "booking_form";
/// The global shortcut's `callback_id` (declared in the app manifest).
pub const BOOK_SHORTCUT: &str = "book_gpus";
/// Slack caps a modal's field list well above this; a fleet is 10-20 hosts.
const MAX_HOST_OPTIONS: usize = 100;

/// For each GPU of `host`, whether a booking holds it at `now`.
pub fn booked_now(host: &Host, bookings: &[BookingView], now: i64) -> Vec<bool> {
    (0..host.gpu_count)
        .map(|gpu| {
            bookings.iter().any(|b| {
                b.host == host.name && b.gpus.contains(&gpu) && b.start <= now && b.end > now
            })
        })
        .collect()
}

/// One host of the fleet board: `gpu03 ■■□□□□□□ 2/8 booked · 37 % busy`. A GPU busy without a
/// booking is flagged after the counts.
pub fn board_line(
    host: &Host,
    bookings: &[BookingView],
    live: Option<&HostStatus>,
    now: i64,
) -> String {
    board_line_in(host, bookings, live, now, Lang::En)
}

/// [`board_line`] in `lang`.
pub fn board_line_in(
    host: &Host,
    bookings: &[BookingView],
    live: Option<&HostStatus>,
    now: i64,
    lang: Lang,
) -> String {
    let booked = booked_now(host, bookings, now);
    let cells: String = booked.iter().map(|b| if *b { '■' } else { '□' }).collect();
    let counts = crate::tr!(
        lang,
        "board-booked",
        booked = booked.iter().filter(|b| **b).count(),
        total = host.gpu_count
    );
    let mut line = format!("`{}` {cells} {counts}", host.name);
    if let Some(status) = live.filter(|s| s.reachable) {
        let readings: Vec<_> = status.readings.iter().filter(|r| !r.stale).collect();
        if !readings.is_empty() {
            let mean = readings.iter().map(|r| r.util_pct).sum::<f64>() / readings.len() as f64;
            let busy = crate::tr!(lang, "board-busy", pct = format!("{mean:.0}"));
            line.push_str(&format!(" · {busy}"));
        }
        let unbooked: Vec<u32> = readings
            .iter()
            .filter(|r| r.util_pct >= f64::from(BUSY_UTIL_PCT))
            .filter(|r| !booked.get(r.gpu as usize).copied().unwrap_or(true))
            .map(|r| r.gpu)
            .collect();
        if !unbooked.is_empty() {
            let flag = crate::tr!(lang, "board-unbooked", gpus = gpus_text(&unbooked));
            line.push_str(&format!(" · {flag}"));
        }
    } else if live.is_some() {
        line.push_str(&format!(" · {}", crate::tr!(lang, "board-agent-silent")));
    }
    if host.state == HostState::Drained {
        line.push_str(&format!(" · {}", crate::tr!(lang, "board-drained")));
    }
    line
}

/// What the Home tab shows one user.
pub struct HomeInput<'a> {
    pub bookings: &'a [BookingView],
    pub containers: &'a [Located],
    pub waits: &'a [WaitRow],
    pub hosts: &'a [Host],
    pub fleet_bookings: &'a [BookingView],
    pub live: &'a [HostStatus],
}

/// The App Home tab (a `home` view), in its viewer's language.
pub fn home_view(input: &HomeInput<'_>, now: i64, tz: Tz, lang: Lang) -> Value {
    let mut blocks = vec![Block::Actions(vec![
        Button::new(tr!(lang, "home-book-button"), actions::HOME_BOOK, "")
            .styled(ButtonStyle::Primary),
    ])];
    blocks.push(Block::Header(tr!(lang, "home-your-bookings")));
    if input.bookings.is_empty() {
        blocks.push(Block::Context(tr!(lang, "home-no-bookings")));
    }
    for b in input.bookings {
        blocks.extend(super::booking_with_buttons(b, now, tz, lang));
    }
    if !input.waits.is_empty() {
        blocks.push(Block::Header(tr!(lang, "home-waiting")));
        for w in input.waits {
            let state = match &w.offer {
                Some(offer) => tr!(
                    lang,
                    "home-wait-offered",
                    when = when_in(offer.expires_at, now, tz, lang)
                ),
                None => tr!(
                    lang,
                    "home-wait-since",
                    when = when_in(w.created_at, now, tz, lang)
                ),
            };
            blocks.push(Block::Section(tr!(
                lang,
                "home-wait-line",
                id = w.id,
                wanted = wanted_in(w, lang),
                state = state
            )));
        }
    }
    blocks.push(Block::Header(tr!(lang, "home-your-containers")));
    if input.containers.is_empty() {
        blocks.push(Block::Context(tr!(lang, "home-no-containers")));
    }
    for c in input.containers {
        let name = c.container.name.clone();
        blocks.push(Block::Section(tr!(
            lang,
            "home-container-line",
            name = name.as_str(),
            host = c.host.as_str(),
            image = image_shown(&c.container.image),
            gpus = super::fleet::gpus_in(&c.container.gpus, lang)
        )));
        blocks.push(Block::Actions(vec![
            Button::new(
                tr!(lang, "button-stop-container", name = name.as_str()),
                actions::STOP_CONTAINER,
                format!("{}/{}", c.host, c.container.id),
            )
            .styled(ButtonStyle::Danger),
        ]));
    }
    blocks.push(Block::Header(tr!(lang, "home-fleet")));
    let lines: Vec<String> = input
        .hosts
        .iter()
        .map(|h| {
            let live = input.live.iter().find(|s| s.host == h.name);
            board_line_in(h, input.fleet_bookings, live, now, lang)
        })
        .collect();
    // One section per ten hosts keeps each under Slack's text limit.
    for chunk in lines.chunks(10) {
        blocks.push(Block::Section(chunk.join("\n")));
    }
    blocks.push(Block::Context(tr!(
        lang,
        "home-legend",
        when = when_in(now, now, tz, lang)
    )));
    let reply = Reply::with_blocks(Visibility::Ephemeral, "Maison".to_owned(), blocks);
    json!({"type": "home", "blocks": reply.blocks_json()})
}

/// A host as the form offers it.
pub struct FormHost {
    pub name: String,
    pub gpu_count: u32,
    pub free_now: u32,
}

/// The booking form (a modal). Times are in the user's time zone, as Slack's pickers show
/// them; it opens on now, rounded up to the next quarter hour, for 2 h.
pub fn booking_form(hosts: &[FormHost], now: i64, tz: Tz, lang: Lang) -> Value {
    let options: Vec<Value> = hosts
        .iter()
        .take(MAX_HOST_OPTIONS)
        .map(|h| {
            let text = tr!(
                lang,
                "form-host-option",
                host = h.name.as_str(),
                free = h.free_now,
                total = h.gpu_count
            );
            json!({"text": {"type": "plain_text", "text": text}, "value": h.name})
        })
        .collect();
    let text = |value: String| json!({"type": "plain_text", "text": value});
    let start = local(now + (900 - now.rem_euclid(900)) % 900, tz);
    json!({
        "type": "modal",
        "callback_id": BOOKING_FORM,
        "title": text(tr!(lang, "form-title")),
        "submit": text(tr!(lang, "form-submit")),
        "close": text(tr!(lang, "form-close")),
        "blocks": [
            input("host", text(tr!(lang, "form-host")), json!({"type": "static_select", "action_id": "host", "options": options,
                "placeholder": text(tr!(lang, "form-pick-host"))}), false),
            input("gpus", text(tr!(lang, "form-gpus")), json!({"type": "number_input", "action_id": "gpus", "is_decimal_allowed": false,
                "min_value": "1", "initial_value": "1"}), false),
            input("date", text(tr!(lang, "form-date")), json!({"type": "datepicker", "action_id": "date",
                "initial_date": start.format("%Y-%m-%d").to_string()}), false),
            input("time", text(tr!(lang, "form-time")), json!({"type": "timepicker", "action_id": "time",
                "initial_time": start.format("%H:%M").to_string()}), false),
            input("duration", text(tr!(lang, "form-duration")), json!({"type": "plain_text_input", "action_id": "duration",
                "initial_value": "2h", "placeholder": text(tr!(lang, "form-duration-hint"))}), false),
            input("note", text(tr!(lang, "form-note")), json!({"type": "plain_text_input", "action_id": "note"}), true),
        ],
    })
}

fn input(block_id: &str, label: Value, element: Value, optional: bool) -> Value {
    json!({
        "type": "input",
        "block_id": block_id,
        "label": label,
        "element": element,
        "optional": optional,
    })
}

fn local(ts: i64, tz: Tz) -> DateTime<Tz> {
    tz.from_utc_datetime(
        &DateTime::<Utc>::from_timestamp(ts, 0)
            .unwrap_or_default()
            .naive_utc(),
    )
}

/// A valid submission of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormBooking {
    pub host: String,
    pub gpus: u32,
    pub start: i64,
    pub end: i64,
    pub note: Option<String>,
}

/// Field errors, by block id, as `response_action: errors` shows them under each field.
pub type FieldErrors = BTreeMap<String, String>;

/// Reads a submitted form (`view.state.values`) in the user's time zone; the field errors are
/// in their language.
pub fn read_form(values: &Value, now: i64, tz: Tz, lang: Lang) -> Result<FormBooking, FieldErrors> {
    let field = |block: &str| &values[block][block];
    let text = |block: &str| {
        let f = field(block);
        f["value"]
            .as_str()
            .or_else(|| f["selected_option"]["value"].as_str())
            .or_else(|| f["selected_date"].as_str())
            .or_else(|| f["selected_time"].as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut errors = FieldErrors::new();
    let mut fail = |block: &str, message: String| {
        errors.insert(block.to_owned(), message);
    };
    let host = text("host").map(str::to_owned);
    if host.is_none() {
        fail("host", tr!(lang, "form-error-host"));
    }
    let gpus = match text("gpus").map(str::parse::<u32>) {
        Some(Ok(n)) if n >= 1 => Some(n),
        _ => {
            fail("gpus", tr!(lang, "form-error-gpus"));
            None
        }
    };
    let date = text("date").and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    if date.is_none() {
        fail("date", tr!(lang, "form-error-date"));
    }
    let time = text("time").and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok());
    if time.is_none() {
        fail("time", tr!(lang, "form-error-time"));
    }
    let length = text("duration").and_then(maison_command::parse_length);
    if length.is_none() {
        fail("duration", tr!(lang, "form-error-duration"));
    }
    let start = match (date, time) {
        (Some(date), Some(time)) => match tz.from_local_datetime(&date.and_time(time)).earliest() {
            Some(at) if at.timestamp() < now - 60 => {
                fail(
                    "time",
                    tr!(lang, "form-error-past", now = when_in(now, now, tz, lang)),
                );
                None
            }
            Some(at) => Some(at.timestamp().max(now)),
            None => {
                fail("time", tr!(lang, "form-error-gap"));
                None
            }
        },
        _ => None,
    };
    let note = text("note").map(str::to_owned);
    match (host, gpus, start, length) {
        (Some(host), Some(gpus), Some(start), Some(length)) if errors.is_empty() => {
            Ok(FormBooking {
                host,
                gpus,
                start,
                end: start + length.num_seconds(),
                note,
            })
        }
        _ => Err(errors),
    }
}

/// A reply's text as a field error shows it: plain text, without emoji codes or markup.
pub fn plain(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ':' {
            // `:no_entry_sign:` and the like: lower-case words between two colons.
            let code_end = chars[i + 1..]
                .iter()
                .position(|c| !(c.is_ascii_lowercase() || *c == '_' || *c == '-'))
                .map(|n| i + 1 + n);
            if let Some(end) = code_end.filter(|e| *e > i + 1 && chars[*e] == ':') {
                i = end + 1;
                continue;
            }
        }
        let word_edge = |j: usize| chars.get(j).is_none_or(|c| !c.is_alphanumeric());
        let markup = matches!(c, '*' | '`')
            || (c == '_' && (i == 0 || word_edge(i - 1) || word_edge(i + 1)));
        if !markup {
            out.push(c);
        }
        i += 1;
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Shown in the channel where `/maison book` was typed while the form opens.
pub fn form_opening(lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "form-opening"))
}

/// The field error of a form that failed on our side.
pub fn form_internal_error(lang: Lang) -> String {
    tr!(lang, "form-error-internal")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(host: &str, gpus: &str, date: &str, time: &str, duration: &str) -> Value {
        json!({
            "host": {"host": {"type": "static_select", "selected_option": {"value": host}}},
            "gpus": {"gpus": {"type": "number_input", "value": gpus}},
            "date": {"date": {"type": "datepicker", "selected_date": date}},
            "time": {"time": {"type": "timepicker", "selected_time": time}},
            "duration": {"duration": {"type": "plain_text_input", "value": duration}},
            "note": {"note": {"type": "plain_text_input", "value": null}},
        })
    }

    const NOW: i64 = 1_796_025_600; // 2026-11-30 08:00 UTC

    #[test]
    fn a_valid_form_is_read_in_the_users_time_zone() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let form = read_form(
            &values("gpu01", "2", "2026-11-30", "14:00", "1h30m"),
            NOW,
            tz,
            Lang::En,
        )
        .expect("valid");
        assert_eq!(form.host, "gpu01");
        assert_eq!(form.gpus, 2);
        // 14:00 in Paris is 13:00 UTC.
        assert_eq!(form.start, NOW + 5 * 3600);
        assert_eq!(form.end - form.start, 5400);
        assert_eq!(form.note, None);
    }

    #[test]
    fn each_bad_field_gets_its_own_error() {
        let errors = read_form(
            &values("", "0", "", "25:00", "soon"),
            NOW,
            Tz::UTC,
            Lang::En,
        )
        .unwrap_err();
        assert_eq!(
            errors.keys().map(String::as_str).collect::<Vec<_>>(),
            ["date", "duration", "gpus", "host", "time"]
        );
        let past = read_form(
            &values("gpu01", "1", "2026-11-30", "07:00", "1h"),
            NOW,
            Tz::UTC,
            Lang::En,
        )
        .unwrap_err();
        assert_eq!(past["time"], "That is already past: it is today 08:00 now.");
        assert_eq!(past.len(), 1);
    }

    #[test]
    fn field_errors_are_plain_text() {
        assert_eq!(
            plain(":no_entry_sign: `gpu01` is taken for *today 09:00–10:00*."),
            "gpu01 is taken for today 09:00–10:00."
        );
        assert_eq!(plain("at 14:00 sharp"), "at 14:00 sharp");
    }
}
