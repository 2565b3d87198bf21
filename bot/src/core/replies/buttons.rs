//! Replies to button clicks that are not a command's reply: a button carrying no usable value,
//! and the "Keep" and "Remove image" buttons of the reminders and the daily report.

use chrono_tz::Tz;

use super::when;
use crate::core::render::{Reply, mention};

pub fn no_booking_id(value: &str) -> Reply {
    Reply::ephemeral(format!("That button carries no booking id ({value:?})."))
}

pub fn no_gpu(value: &str) -> Reply {
    Reply::ephemeral(format!("That button carries no GPU ({value:?})."))
}

pub fn no_container(value: &str) -> Reply {
    Reply::ephemeral(format!(
        "That button carries no container ({value:?}); this message may be outdated."
    ))
}

pub fn no_image(value: &str) -> Reply {
    Reply::ephemeral(format!(
        "That button carries no image ({value:?}); this message may be outdated."
    ))
}

pub fn no_claim_request(value: &str) -> Reply {
    Reply::ephemeral(format!(
        "That button carries no claim request ({value:?}); this message may be outdated."
    ))
}

pub fn unknown(action_id: &str) -> Reply {
    Reply::ephemeral(format!(
        "Unknown button `{action_id}`; this message may be outdated."
    ))
}

pub fn container_gone(host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":grey_question: That container is no longer on `{host}`: nothing to keep."
    ))
}

pub fn keep_not_yours(name: &str, owner: &str) -> Reply {
    Reply::ephemeral(format!(
        ":lock: `{name}` belongs to {}; only they or an admin can keep it.",
        mention(owner)
    ))
}

pub fn keep_unowned(name: &str) -> Reply {
    Reply::ephemeral(format!(
        ":lock: `{name}` has no owner; `/maison claim {name}` it first, or ask an admin."
    ))
}

pub fn kept(name: &str, host: &str, until: i64, now: i64, tz: Tz) -> Reply {
    Reply::ephemeral(format!(
        ":lock: Keeping `{name}` on `{host}`: no reminders about it until {}.",
        when(until, now, tz)
    ))
}

/// The line that takes the place of an item's button in a channel message once someone dealt
/// with it, e.g. "`pytorch:old` on `gpu01`: removed by @alice".
pub fn settled(item: &str, host: &str, done: &str, user_id: &str) -> String {
    format!(
        ":white_check_mark: `{item}` on `{host}`: {done} by {}.",
        mention(user_id)
    )
}

pub fn image_removed(name: &str, host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":wastebasket: Removed image `{name}` from `{host}`."
    ))
}

pub fn image_not_removed(name: &str, host: &str, err: &str) -> Reply {
    Reply::ephemeral(format!(
        ":no_entry: `{host}` did not remove `{name}`: {err}"
    ))
}
