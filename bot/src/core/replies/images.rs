//! Replies of `image …` and the history line `who <image>` shows.

use std::collections::BTreeMap;

use maison_agent_api::images::{Provenance, ReferenceError, SavedImage};

use crate::core::fleet::{Located, Owner};
use crate::core::render::{Reply, mention};
use crate::core::units::size_text;

pub fn saved(found: &Located, saved: &SavedImage) -> Reply {
    Reply::ephemeral(format!(
        ":floppy_disk: Saved `{}` on `{}` as `{}` ({}, made from `{}`). Launch it with \
         `/maison launch {} {}`; `/maison who {}` shows where it came from.",
        found.container.name,
        found.host,
        saved.reference,
        size_text(saved.size_bytes),
        saved.parent,
        found.host,
        saved.reference,
        saved.reference
    ))
}

pub fn not_yours_to_save(found: &Located, owner: &Owner) -> Reply {
    Reply::ephemeral(format!(
        ":lock: `{}` on `{}` belongs to {}. Only its owner can save it as an image; nothing was saved.",
        found.container.name,
        found.host,
        mention(&owner.slack_user)
    ))
}

pub fn unowned_not_saved(found: &Located) -> Reply {
    Reply::ephemeral(format!(
        ":grey_question: `{}` on `{}` has no owner (made outside Maison), so nobody can save it \
         through Maison. If it is yours, `/maison claim {}` first.",
        found.container.name, found.host, found.container.name
    ))
}

pub fn bad_image_name(err: &ReferenceError) -> Reply {
    Reply::ephemeral(format!(":warning: {err}. Nothing was saved."))
}

/// `made by saving `alice-c1` (from `pytorch:2.3`) under booking #12 · “note”`, for images
/// Maison made; `None` for the others.
pub fn provenance_line(labels: &BTreeMap<String, String>) -> Option<String> {
    let p = Provenance::from_labels(labels)?;
    let how = match (p.how.as_str(), &p.container) {
        ("save", Some(container)) => format!("made by saving `{container}`"),
        (how, _) => format!("made by `{how}`"),
    };
    let parent = p
        .parent
        .map(|parent| format!(" (from `{parent}`)"))
        .unwrap_or_default();
    let booking = p
        .booking
        .map(|b| format!(" under booking #{b}"))
        .unwrap_or_default();
    let note = p.note.map(|n| format!(" · “{n}”")).unwrap_or_default();
    Some(format!("{how}{parent}{booking}{note}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use maison_agent_api::images::provenance;
    use maison_agent_api::labels;

    #[test]
    fn the_history_line_says_how_from_what_and_why() {
        let mut map: BTreeMap<String, String> = [
            (labels::OWNER, "U0ALICE"),
            (labels::BOOKING, "12"),
            (provenance::HOW, "save"),
            (provenance::CONTAINER, "alice-c1"),
            (provenance::PARENT, "pytorch:2.3"),
            (provenance::NOTE, "flash-attn"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            provenance_line(&map).unwrap(),
            "made by saving `alice-c1` (from `pytorch:2.3`) under booking #12 · “flash-attn”"
        );
        map.remove(provenance::HOW);
        assert_eq!(provenance_line(&map), None, "not made by Maison");
    }
}
