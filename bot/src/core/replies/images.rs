//! Replies of `image …` and the history line `who <image>` shows.

use std::collections::BTreeMap;

use maison_agent_api::images::{
    BuiltImage, FetchedImage, ImageProgress, Provenance, ReferenceError, SavedImage,
};

use crate::core::fleet::{Located, LocatedImage, Owner, short_id};
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

pub fn copied(copied: &FetchedImage, host: &str) -> Reply {
    let Some(source) = &copied.source else {
        return Reply::ephemeral(format!(
            ":white_check_mark: `{host}` already had this image; it is now also called `{}` there.",
            copied.reference
        ));
    };
    let rate = copied.bytes_received as f64 / copied.seconds.max(0.001);
    let reused = match copied.layers_already_here {
        0 => String::new(),
        n => format!(
            " {n} of its {} layers were already on `{host}` and were not sent.",
            copied.layers
        ),
    };
    Reply::ephemeral(format!(
        ":package: Copied `{}` from `{source}` to `{host}`: {} in {:.0} s ({}/s).{reused} \
         Launch it with `/maison launch {host} {}`.",
        copied.reference,
        size_text(copied.bytes_received),
        copied.seconds.ceil(),
        size_text(rate as u64),
        copied.reference
    ))
}

pub fn built(built: &BuiltImage, host: &str) -> Reply {
    let tail = built
        .log_tail
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    Reply::ephemeral(format!(
        ":hammer_and_wrench: Built `{}` on `{host}` from `{}` in {:.0} s ({}, context {}). \
         Launch it with `/maison launch {host} {}`; `/maison who {}` shows how it was made.\n```{tail}```",
        built.reference,
        built.parent,
        built.seconds.ceil(),
        size_text(built.size_bytes),
        size_text(built.context_bytes),
        built.reference,
        built.reference,
    ))
}

pub fn dockerfile_not_yours(dockerfile: &str, yours: &[Option<&str>]) -> Reply {
    let roots: Vec<String> = yours.iter().flatten().map(|r| format!("`{r}`")).collect();
    let text = if roots.is_empty() {
        format!(
            ":no_entry: `{dockerfile}` refused: you have no work or home directory in Maison's \
             config, so there is nowhere you can build from. Ask an admin to add one to your \
             `[[users]]` entry. Nothing was built."
        )
    } else {
        format!(
            ":no_entry: `{dockerfile}` is not in your own directories ({}), where builds come \
             from. Nothing was built.",
            roots.join(", ")
        )
    };
    Reply::ephemeral(text)
}

/// The progress DM of a long copy or build: bytes, rate and how far for a copy; the step
/// running for a build.
pub fn progress(host: &str, progress: &ImageProgress) -> Reply {
    let elapsed = progress.seconds.max(0.001);
    let text = match progress.kind.as_str() {
        "copy" => {
            let rate = progress.bytes_done as f64 / elapsed;
            let share = match progress.bytes_total {
                0 => String::new(),
                total => format!(
                    " of about {} ({:.0} %)",
                    size_text(total),
                    (progress.bytes_done as f64 * 100.0 / total as f64).min(100.0)
                ),
            };
            format!(
                ":package: Copying `{}` to `{host}`: {}{share} in {:.0} s, {}/s.",
                progress.reference,
                size_text(progress.bytes_done),
                elapsed,
                size_text(rate as u64)
            )
        }
        _ => format!(
            ":hammer_and_wrench: Building `{}` on `{host}` for {:.0} s{}",
            progress.reference,
            elapsed,
            progress
                .step
                .as_deref()
                .map(|step| format!(": `{step}`"))
                .unwrap_or_else(|| ".".into())
        ),
    };
    Reply::ephemeral(text)
}

/// The progress DM's last edit: the outcome itself is the command's answer.
pub fn progress_done(host: &str, reference: &str, succeeded: bool) -> Reply {
    Reply::ephemeral(if succeeded {
        format!(
            ":white_check_mark: `{reference}` on `{host}` is done; the details are in the command's answer."
        )
    } else {
        format!(
            ":warning: `{reference}` on `{host}` did not finish; the command's answer says why."
        )
    })
}

pub fn no_image_to_copy(target: &str, unreachable: &[(String, String)]) -> Reply {
    let mut text = format!(
        ":grey_question: No host has an image called `{target}`, so nothing was copied. \
         `/maison images` lists them."
    );
    if !unreachable.is_empty() {
        let hosts: Vec<String> = unreachable.iter().map(|(h, _)| format!("`{h}`")).collect();
        text.push_str(&format!(" (Not asked, unreachable: {}.)", hosts.join(", ")));
    }
    Reply::ephemeral(text)
}

pub fn several_images_called(target: &str, found: &[&LocatedImage]) -> Reply {
    let lines: Vec<String> = found
        .iter()
        .map(|i| format!("• `{}` on `{}`", short_id(&i.image.id), i.host))
        .collect();
    Reply::ephemeral(format!(
        ":twisted_rightwards_arrows: `{target}` names different images on different hosts, so I \
         do not know which to copy; nothing was copied. Name one by its id:\n{}",
        lines.join("\n")
    ))
}

pub fn already_on(target: &str, here: &LocatedImage) -> Reply {
    Reply::ephemeral(format!(
        ":white_check_mark: `{}` already has `{target}` (`{}`); nothing to copy.",
        here.host,
        short_id(&here.image.id)
    ))
}

pub fn unnamed_not_copied(target: &str) -> Reply {
    Reply::ephemeral(format!(
        ":warning: Image `{target}` has no name, and a copy needs one to be found on the other \
         host. Give it one where it is (for a container's changes, `/maison image save`)."
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
        ("build", _) => match (&p.dockerfile, &p.dockerfile_sha256) {
            (Some(file), Some(hash)) => format!(
                "made by building `{file}` (Dockerfile sha256 `{}`)",
                &hash[..hash.len().min(12)]
            ),
            _ => "made by `build`".to_string(),
        },
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
