//! Replies to button clicks that are not a command's reply: a button carrying no usable value,
//! and the "Keep" and "Remove image" buttons of the reminders and the daily report, in the
//! clicker's language.

use chrono_tz::Tz;
use maison_command::Lang;

use super::when_in;
use crate::core::render::{Reply, mention};
use crate::tr;

/// A button's value as it arrived, quoted, for the replies that say it is unusable.
fn quoted(value: &str) -> String {
    format!("{value:?}")
}

pub fn no_booking_id(value: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-no-booking-id", value = quoted(value)))
}

pub fn no_gpu(value: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-no-gpu", value = quoted(value)))
}

pub fn no_container(value: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-no-container", value = quoted(value)))
}

pub fn no_image(value: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-no-image", value = quoted(value)))
}

pub fn no_claim_request(value: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-no-claim-request", value = quoted(value)))
}

pub fn unknown(action_id: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-unknown", action = action_id))
}

pub fn container_gone(host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-container-gone", host = host))
}

pub fn keep_not_yours(name: &str, owner: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "button-keep-not-yours",
        name = name,
        owner = mention(owner)
    ))
}

pub fn keep_unowned(name: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-keep-unowned", name = name))
}

pub fn kept(name: &str, host: &str, until: i64, now: i64, tz: Tz, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "button-kept",
        name = name,
        host = host,
        until = when_in(until, now, tz, lang)
    ))
}

pub fn opening_form(lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-opening-form"))
}

/// The line that takes the place of an item's button in a channel message once someone dealt
/// with it, e.g. "`pytorch:old` on `gpu01`: removed by @alice". The channel's message, so in
/// the channel's words (English), whoever clicked.
/// What a click did to one line of a channel post, for everyone who reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Removed,
    Kept,
}

/// The line that replaces the clicked item in a channel post, in the channel's language.
pub fn settled(item: &str, host: &str, done: Settled, user_id: &str, lang: Lang) -> String {
    let user = mention(user_id);
    match done {
        Settled::Removed => tr!(
            lang,
            "settled-removed",
            item = item,
            host = host,
            user = user
        ),
        Settled::Kept => tr!(lang, "settled-kept", item = item, host = host, user = user),
    }
}

pub fn image_removed(name: &str, host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "button-image-removed", name = name, host = host))
}

pub fn image_not_removed(name: &str, host: &str, err: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "button-image-not-removed",
        name = name,
        host = host,
        error = err
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every click reply, in both languages.
    #[test]
    fn button_replies_in_both_languages() {
        // Monday 30 Nov 2026, 10:00 UTC.
        let now = 1_796_032_800;
        for lang in Lang::ALL {
            let page = [
                Reply::ephemeral(settled("alice-c1", "gpu01", Settled::Kept, "U0ALICE", lang)),
                Reply::ephemeral(settled(
                    "old/experiment:3",
                    "gpu01",
                    Settled::Removed,
                    "U0ADMIN",
                    lang,
                )),
                no_booking_id("x", lang),
                no_gpu("gpu01:", lang),
                no_container("", lang),
                no_image("", lang),
                no_claim_request("", lang),
                unknown("frobnicate", lang),
                container_gone("gpu01", lang),
                keep_not_yours("alice-train", "U0ALICE", lang),
                keep_unowned("old-notebook", lang),
                kept(
                    "alice-train",
                    "gpu01",
                    now + 7 * 86_400,
                    now,
                    chrono_tz::Asia::Tokyo,
                    lang,
                ),
                opening_form(lang),
                image_removed("pytorch:old", "gpu01", lang),
                image_not_removed("pytorch:old", "gpu01", "image is in use", lang),
            ]
            .map(|reply| reply.to_terminal())
            .join("\n---\n");
            insta::assert_snapshot!(format!("button_replies_{lang}"), page);
        }
    }
}
