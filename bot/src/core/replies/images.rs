//! Replies of `image …` and the history line `who <image>` shows, in the reader's language.

use std::collections::BTreeMap;

use maison_agent_api::images::{
    BuiltImage, FetchedImage, ImageProgress, Provenance, ReferenceError, SavedImage,
};
use maison_command::Lang;

use crate::core::actions;
use crate::core::fleet::{Located, LocatedImage, Owner, short_id};
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::units::size_text;
use crate::tr;

/// Whole seconds, rounded up: "0 s" would read as "did nothing".
fn seconds(s: f64) -> String {
    format!("{:.0}", s.max(0.0).ceil())
}

fn per_second(bytes: u64, seconds: f64) -> String {
    size_text((bytes as f64 / seconds.max(0.001)) as u64)
}

pub fn saved(found: &Located, saved: &SavedImage, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "image-saved",
        container = found.container.name.as_str(),
        host = found.host.as_str(),
        image = saved.reference.as_str(),
        size = size_text(saved.size_bytes),
        parent = saved.parent.as_str()
    ))
}

pub fn not_yours_to_save(found: &Located, owner: &Owner, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "image-not-yours-to-save",
        container = found.container.name.as_str(),
        host = found.host.as_str(),
        owner = mention(&owner.slack_user)
    ))
}

pub fn unowned_not_saved(found: &Located, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "image-unowned-not-saved",
        container = found.container.name.as_str(),
        host = found.host.as_str()
    ))
}

pub fn built(built: &BuiltImage, host: &str, lang: Lang) -> Reply {
    let tail = built
        .log_tail
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    let text = tr!(
        lang,
        "image-built",
        image = built.reference.as_str(),
        host = host,
        parent = built.parent.as_str(),
        seconds = seconds(built.seconds),
        size = size_text(built.size_bytes),
        context = size_text(built.context_bytes)
    );
    Reply::ephemeral(format!("{text}\n```{tail}```"))
}

pub fn dockerfile_not_yours(dockerfile: &str, yours: &[Option<&str>], lang: Lang) -> Reply {
    let roots: Vec<String> = yours.iter().flatten().map(|r| format!("`{r}`")).collect();
    Reply::ephemeral(if roots.is_empty() {
        tr!(
            lang,
            "image-dockerfile-no-directory",
            dockerfile = dockerfile
        )
    } else {
        tr!(
            lang,
            "image-dockerfile-not-yours",
            dockerfile = dockerfile,
            roots = roots.join(", ")
        )
    })
}

/// The progress DM of a long copy or build: bytes, rate and how far for a copy; the step
/// running for a build.
pub fn progress(host: &str, progress: &ImageProgress, lang: Lang) -> Reply {
    let image = progress.reference.as_str();
    let elapsed = seconds(progress.seconds);
    let text = match (progress.kind.as_str(), progress.bytes_total, &progress.step) {
        ("copy", 0, _) => tr!(
            lang,
            "image-copy-progress",
            image = image,
            host = host,
            done = size_text(progress.bytes_done),
            seconds = elapsed,
            rate = per_second(progress.bytes_done, progress.seconds)
        ),
        ("copy", total, _) => tr!(
            lang,
            "image-copy-progress-share",
            image = image,
            host = host,
            done = size_text(progress.bytes_done),
            total = size_text(total),
            percent = format!(
                "{:.0}",
                (progress.bytes_done as f64 * 100.0 / total as f64).min(100.0)
            ),
            seconds = elapsed,
            rate = per_second(progress.bytes_done, progress.seconds)
        ),
        (_, _, Some(step)) => tr!(
            lang,
            "image-build-progress-step",
            image = image,
            host = host,
            seconds = elapsed,
            step = step.as_str()
        ),
        (_, _, None) => tr!(
            lang,
            "image-build-progress",
            image = image,
            host = host,
            seconds = elapsed
        ),
    };
    Reply::ephemeral(text)
}

/// The progress DM's last edit: the outcome itself is the command's answer.
pub fn progress_done(host: &str, reference: &str, succeeded: bool, lang: Lang) -> Reply {
    Reply::ephemeral(if succeeded {
        tr!(lang, "image-progress-done", image = reference, host = host)
    } else {
        tr!(
            lang,
            "image-progress-failed",
            image = reference,
            host = host
        )
    })
}

pub fn copied(copied: &FetchedImage, host: &str, lang: Lang) -> Reply {
    let image = copied.reference.as_str();
    let Some(source) = &copied.source else {
        return Reply::ephemeral(tr!(lang, "image-already-had", host = host, image = image));
    };
    let mut text = tr!(
        lang,
        "image-copied",
        image = image,
        source = source.as_str(),
        host = host,
        size = size_text(copied.bytes_received),
        seconds = seconds(copied.seconds),
        rate = per_second(copied.bytes_received, copied.seconds)
    );
    if copied.layers_already_here > 0 {
        text.push_str(super::sentence_gap(lang));
        text.push_str(&tr!(
            lang,
            "image-copied-reused",
            reused = copied.layers_already_here,
            layers = copied.layers,
            host = host
        ));
    }
    Reply::ephemeral(text)
}

/// A launch's image is not on the host, but other hosts have it: a button copies it there.
pub fn missing_here(image: &str, host: &str, sources: &[&str], lang: Lang) -> Reply {
    let holders: Vec<String> = sources.iter().map(|h| format!("`{h}`")).collect();
    let text = tr!(
        lang,
        "image-missing-here",
        image = image,
        host = host,
        holders = holders.join(", ")
    );
    Reply::with_blocks(
        Visibility::Ephemeral,
        text.clone(),
        vec![
            Block::Section(text),
            Block::Actions(vec![
                Button::new(
                    tr!(lang, "button-copy-image", host = host),
                    actions::COPY_IMAGE,
                    format!("{host} {image}"),
                )
                .styled(ButtonStyle::Primary),
            ]),
        ],
    )
}

pub fn no_image_to_copy(target: &str, unreachable: &[(String, String)], lang: Lang) -> Reply {
    let mut text = tr!(lang, "image-nothing-to-copy", image = target);
    if !unreachable.is_empty() {
        let hosts: Vec<String> = unreachable.iter().map(|(h, _)| format!("`{h}`")).collect();
        text.push_str(super::sentence_gap(lang));
        text.push_str(&tr!(lang, "image-not-asked", hosts = hosts.join(", ")));
    }
    Reply::ephemeral(text)
}

pub fn several_images_called(target: &str, found: &[&LocatedImage], lang: Lang) -> Reply {
    let lines: Vec<String> = found
        .iter()
        .map(|i| format!("• `{}` · `{}`", short_id(&i.image.id), i.host))
        .collect();
    Reply::ephemeral(format!(
        "{}\n{}",
        tr!(lang, "image-several-called", image = target),
        lines.join("\n")
    ))
}

pub fn already_on(target: &str, here: &LocatedImage, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "image-already-on",
        host = here.host.as_str(),
        image = target,
        id = short_id(&here.image.id)
    ))
}

pub fn unnamed_not_copied(target: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "image-unnamed-not-copied", image = target))
}

pub fn bad_image_name(err: &ReferenceError, lang: Lang) -> Reply {
    let problem = match err {
        ReferenceError::Empty => tr!(lang, "image-name-empty"),
        ReferenceError::TooLong(name) => tr!(lang, "image-name-too-long", name = name.as_str()),
        ReferenceError::Malformed(name) => {
            tr!(lang, "image-name-malformed", name = name.as_str())
        }
        ReferenceError::Digest(name) => tr!(lang, "image-name-digest", name = name.as_str()),
    };
    Reply::ephemeral(tr!(lang, "image-bad-name", problem = problem))
}

/// `made by saving `alice-c1` (from `pytorch:2.3`) under booking #12 · “note”`, for images
/// Maison made; `None` for the others.
pub fn provenance_line(labels: &BTreeMap<String, String>, lang: Lang) -> Option<String> {
    let p = Provenance::from_labels(labels)?;
    let how = match (
        p.how.as_str(),
        &p.container,
        &p.dockerfile,
        &p.dockerfile_sha256,
    ) {
        ("save", Some(container), _, _) => {
            tr!(lang, "image-history-saved", container = container.as_str())
        }
        ("build", _, Some(file), Some(hash)) => {
            let short = hash.get(..12).unwrap_or(hash);
            tr!(
                lang,
                "image-history-built",
                dockerfile = file.as_str(),
                hash = short
            )
        }
        (how, _, _, _) => tr!(lang, "image-history-other", how = how),
    };
    let parent = p
        .parent
        .map(|parent| tr!(lang, "image-history-parent", parent = parent.as_str()));
    let booking = p
        .booking
        .map(|b| tr!(lang, "image-history-booking", booking = b.as_str()));
    let note = p.note.map(|n| format!(" · “{n}”")).unwrap_or_default();
    // English says how first ("made by saving x (from y) under booking #12"); Japanese sets
    // the booking first ("予約 #12 の中で x を保存して作成（元: y）").
    let line = match lang {
        Lang::En => [Some(how), parent, booking]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        Lang::Ja => format!(
            "{}{}{}",
            booking.map(|b| format!("{b} ")).unwrap_or_default(),
            how,
            parent.unwrap_or_default()
        ),
    };
    Some(format!("{line}{note}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::replies::fleet::tests::{alice, container};
    use maison_agent_api::images::provenance;
    use maison_agent_api::{ImageSummary, labels};

    /// `alice/tuned:v1` on `host`, with id `id`.
    pub(crate) fn image_on(host: &str, id: &str) -> LocatedImage {
        LocatedImage {
            host: host.into(),
            image: ImageSummary {
                id: id.into(),
                tags: vec!["alice/tuned:v1".into()],
                size_bytes: 9_400_000_000,
                created: chrono::DateTime::from_timestamp(1_796_000_000, 0).unwrap(),
                labels: Default::default(),
                used_by: vec![],
                dangling: false,
            },
            owner: None,
            users: vec![],
        }
    }

    /// Every image reply, in both languages, as one reviewed page each.
    #[test]
    fn image_replies_in_both_languages() {
        let mine = container("alice-c1", &[0], true);
        let stray = container("old-notebook", &[], false);
        let saved_image = SavedImage {
            id: "sha256:5e1".into(),
            reference: "alice/tuned:v1".into(),
            size_bytes: 9_400_000_000,
            parent: "pytorch:2.3".into(),
            parent_id: "sha256:0ff".into(),
        };
        let built_image = BuiltImage {
            id: "sha256:b11".into(),
            reference: "alice/tuned:v2".into(),
            size_bytes: 9_500_000_000,
            parent: "pytorch:2.3".into(),
            dockerfile_sha256: "3f2a9c0d1e2f".repeat(5),
            log_tail: vec![
                "Step 3/3 : RUN pip install flash-attn".into(),
                "Successfully built b11".into(),
                "Successfully tagged alice/tuned:v2".into(),
            ],
            context_bytes: 12_000,
            seconds: 94.2,
        };
        let fetched = FetchedImage {
            id: "sha256:5e1".into(),
            reference: "alice/tuned:v1".into(),
            source: Some("gpu01".into()),
            bytes_received: 1_200_000_000,
            layers: 12,
            layers_already_here: 10,
            seconds: 19.5,
        };
        let already = FetchedImage {
            source: None,
            ..fetched.clone()
        };
        let copy = ImageProgress {
            reference: "alice/tuned:v1".into(),
            kind: "copy".into(),
            bytes_done: 600_000_000,
            bytes_total: 1_200_000_000,
            step: None,
            seconds: 10.0,
        };
        let build = ImageProgress {
            kind: "build".into(),
            bytes_total: 0,
            step: Some("Step 2/3 : COPY . /src".into()),
            ..copy.clone()
        };
        let history: BTreeMap<String, String> = [
            (labels::OWNER, "U0ALICE"),
            (labels::BOOKING, "12"),
            (provenance::HOW, "build"),
            (provenance::PARENT, "pytorch:2.3"),
            (provenance::DOCKERFILE, "/work/alice/tuned/Dockerfile"),
            (provenance::DOCKERFILE_SHA256, "3f2a9c0d1e2f3f2a"),
            (provenance::NOTE, "flash-attn"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (a, b) = (
            image_on("gpu01", "sha256:5e1aa"),
            image_on("gpu03", "sha256:77bcd"),
        );
        for lang in Lang::ALL {
            let mut page = [
                saved(&mine, &saved_image, lang),
                not_yours_to_save(&mine, &alice(), lang),
                unowned_not_saved(&stray, lang),
                built(&built_image, "gpu01", lang),
                dockerfile_not_yours("/etc/Dockerfile", &[Some("/work/alice"), None], lang),
                dockerfile_not_yours("/etc/Dockerfile", &[None, None], lang),
                progress("gpu02", &copy, lang),
                progress(
                    "gpu02",
                    &ImageProgress {
                        bytes_total: 0,
                        ..copy.clone()
                    },
                    lang,
                ),
                progress("gpu01", &build, lang),
                progress(
                    "gpu01",
                    &ImageProgress {
                        step: None,
                        ..build.clone()
                    },
                    lang,
                ),
                progress_done("gpu02", "alice/tuned:v1", true, lang),
                progress_done("gpu02", "alice/tuned:v1", false, lang),
                copied(&fetched, "gpu02", lang),
                copied(&already, "gpu02", lang),
                no_image_to_copy("alice/nothing", &[("gpu04".into(), "timeout".into())], lang),
                several_images_called("alice/tuned:v1", &[&a, &b], lang),
                already_on("alice/tuned:v1", &a, lang),
                unnamed_not_copied("5e1aa", lang),
                bad_image_name(&ReferenceError::Empty, lang),
                bad_image_name(&ReferenceError::TooLong("x".repeat(8)), lang),
                bad_image_name(&ReferenceError::Malformed("Tuned/Upper".into()), lang),
                bad_image_name(&ReferenceError::Digest("a@sha256:1".into()), lang),
                missing_here("alice/tuned:v1", "gpu02", &["gpu01", "gpu03"], lang),
            ]
            .map(|reply| reply.to_terminal())
            .join("\n---\n");
            page.push_str("\n---\n");
            page.push_str(&provenance_line(&history, lang).unwrap());
            insta::assert_snapshot!(format!("image_replies_{lang}"), page);
        }
    }

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
            provenance_line(&map, Lang::En).unwrap(),
            "made by saving `alice-c1` (from `pytorch:2.3`) under booking #12 · “flash-attn”"
        );
        map.remove(provenance::HOW);
        assert_eq!(provenance_line(&map, Lang::En), None, "not made by Maison");
    }
}
