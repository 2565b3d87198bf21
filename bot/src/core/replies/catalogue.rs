//! Replies and DMs of the image catalogue (`image publish`, the admins' decision, `image
//! deprecate`, and what a launch of a catalogue name adds), in the reader's language.

use maison_command::Lang;

use crate::core::actions;
use crate::core::catalogue::{CatalogOrigin, CatalogStatus, CatalogVersion, PublishRefusal};
use crate::core::fleet::{LocatedImage, short_id};
use crate::core::render::{Block, Button, Reply, Visibility, mention};
use crate::tr;

/// The image a publish names, as the requester and the admins read it.
pub struct Published<'a> {
    /// As typed, or its first tag.
    pub image: &'a str,
    pub id: &'a str,
    pub host: &'a str,
}

pub fn asked(image: &Published<'_>, pending: &CatalogVersion, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "catalog-asked",
        image = image.image,
        id = short_id(image.id),
        host = image.host,
        label = pending.label()
    ))
}

pub fn refused(refusal: &PublishRefusal, name: &str, lang: Lang) -> Reply {
    Reply::ephemeral(match refusal {
        PublishRefusal::HouseName => tr!(lang, "catalog-house-name", name = name),
        PublishRefusal::VersionExists(v) if v.status == CatalogStatus::Pending => tr!(
            lang,
            "catalog-version-pending",
            label = v.label(),
            name = name,
            owner = mention(&v.requested_by)
        ),
        PublishRefusal::VersionExists(v) => tr!(
            lang,
            "catalog-version-exists",
            label = v.label(),
            name = name,
            owner = publisher(v, lang)
        ),
        PublishRefusal::NameTaken(v) => tr!(
            lang,
            "catalog-name-taken",
            name = name,
            owner = mention(&v.requested_by)
        ),
    })
}

/// Who a version came from: a person, or the config.
fn publisher(v: &CatalogVersion, lang: Lang) -> String {
    match v.origin {
        CatalogOrigin::Config => tr!(lang, "catalog-the-config"),
        CatalogOrigin::Published => mention(&v.requested_by),
    }
}

pub fn no_admins(label: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "catalog-no-admins", label = label))
}

pub fn not_yours(image: &Published<'_>, owner: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "catalog-not-yours",
        image = image.image,
        host = image.host,
        owner = mention(owner)
    ))
}

pub fn unowned(image: &Published<'_>, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "catalog-unowned",
        image = image.image,
        host = image.host
    ))
}

pub fn no_image(target: &str, unreachable: &[(String, String)], lang: Lang) -> Reply {
    let mut text = tr!(lang, "catalog-no-image", image = target);
    if !unreachable.is_empty() {
        let hosts: Vec<String> = unreachable.iter().map(|(h, _)| format!("`{h}`")).collect();
        text.push_str(super::sentence_gap(lang));
        text.push_str(&tr!(lang, "image-not-asked", hosts = hosts.join(", ")));
    }
    Reply::ephemeral(text)
}

pub fn several(target: &str, found: &[&LocatedImage], lang: Lang) -> Reply {
    let mut lines = vec![tr!(lang, "catalog-several", image = target)];
    lines.extend(found.iter().map(|i| {
        tr!(
            lang,
            "ambiguous-image",
            id = short_id(&i.image.id),
            host = i.host.as_str()
        )
    }));
    Reply::ephemeral(lines.join("\n"))
}

pub fn needs_name(image: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "catalog-needs-name", image = image))
}

pub fn unknown_project(project: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "catalog-unknown-project", project = project))
}

/// The DM every admin gets about a publish request, in that admin's language, with Approve
/// and Reject.
pub fn request_for_admins(image: &Published<'_>, pending: &CatalogVersion, lang: Lang) -> Reply {
    let mut text = tr!(
        lang,
        "catalog-request-for-admins",
        requester = mention(&pending.requested_by),
        image = image.image,
        id = short_id(image.id),
        host = image.host,
        label = pending.label()
    );
    if !pending.description.is_empty() {
        text.push('\n');
        text.push_str(&tr!(
            lang,
            "catalog-request-description",
            description = pending.description.as_str()
        ));
    }
    if let Some(project) = &pending.project {
        text.push('\n');
        text.push_str(&tr!(
            lang,
            "catalog-request-project",
            project = project.as_str()
        ));
    }
    let id = pending.id.to_string();
    super::decision_request(
        text,
        Button::new(tr!(lang, "button-approve"), actions::PUBLISH_APPROVE, &id),
        Button::new(tr!(lang, "button-reject"), actions::PUBLISH_REJECT, id),
        tr!(
            lang,
            "catalog-request-context",
            name = pending.name.as_str(),
            request = pending.id
        ),
    )
}

/// What the deciding admin reads in place of the request.
pub fn decided(version: &CatalogVersion, approved: bool, lang: Lang) -> Reply {
    let requester = mention(&version.requested_by);
    Reply::ephemeral(if approved {
        tr!(
            lang,
            "catalog-approved",
            label = version.label(),
            name = version.name.as_str(),
            requester = requester
        )
    } else {
        tr!(
            lang,
            "catalog-rejected",
            label = version.label(),
            requester = requester
        )
    })
}

pub fn already_decided(version: &CatalogVersion, lang: Lang) -> Reply {
    let admin = mention(version.decided_by.as_deref().unwrap_or_default());
    let label = version.label();
    Reply::ephemeral(match version.status {
        CatalogStatus::Rejected => {
            tr!(
                lang,
                "catalog-already-rejected",
                label = label,
                admin = admin
            )
        }
        _ => tr!(
            lang,
            "catalog-already-approved",
            label = label,
            admin = admin
        ),
    })
}

pub fn no_request(value: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "catalog-no-request", value = value))
}

/// The requester's DM about the decision, in the requester's language.
pub fn decision_for_requester(version: &CatalogVersion, approved: bool, lang: Lang) -> Reply {
    let admin = mention(version.decided_by.as_deref().unwrap_or_default());
    let text = if approved {
        tr!(
            lang,
            "catalog-approved-dm",
            admin = admin,
            label = version.label(),
            name = version.name.as_str()
        )
    } else {
        tr!(
            lang,
            "catalog-rejected-dm",
            admin = admin,
            label = version.label(),
            image = version.source_name.as_deref().unwrap_or(&version.reference)
        )
    };
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![Block::Section(text)],
    )
}

pub fn deprecated(
    changed: &[CatalogVersion],
    replacement: Option<&str>,
    days: u32,
    lang: Lang,
) -> Reply {
    let labels: Vec<String> = changed.iter().map(|v| format!("`{}`", v.label())).collect();
    let labels = labels.join(", ");
    Reply::ephemeral(match replacement {
        Some(replacement) => tr!(
            lang,
            "catalog-deprecated-use",
            labels = labels,
            replacement = replacement,
            days = days
        ),
        None => tr!(lang, "catalog-deprecated", labels = labels, days = days),
    })
}

pub fn nothing_to_deprecate(target: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "catalog-nothing-to-deprecate", target = target))
}

pub fn deprecate_house(name: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "catalog-deprecate-house", name = name))
}

pub fn deprecate_not_yours(name: &str, owner: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "catalog-deprecate-not-yours",
        name = name,
        owner = mention(owner)
    ))
}

pub fn unknown_replacement(replacement: &str, target: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "catalog-unknown-replacement",
        replacement = replacement,
        target = target
    ))
}

/// The line a launch of a deprecated version starts with.
pub fn launch_deprecated(version: &CatalogVersion, lang: Lang) -> String {
    match &version.replaced_by {
        Some(replacement) => tr!(
            lang,
            "catalog-launch-deprecated-use",
            label = version.label(),
            replacement = replacement.as_str()
        ),
        None => tr!(lang, "catalog-launch-deprecated", label = version.label()),
    }
}

pub fn launch_pending(name: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "catalog-launch-pending", name = name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catalogue::CatalogOrigin;
    use crate::core::replies::images::tests::image_on;

    fn version(id: i64, version: &str, status: CatalogStatus) -> CatalogVersion {
        CatalogVersion {
            id,
            name: "resnet".into(),
            version: version.into(),
            reference: "sha256:5e1aa0".into(),
            image_id: Some("sha256:5e1aa0".into()),
            source_name: Some("alice/resnet:v1".into()),
            source_host: Some("gpu01".into()),
            description: "ResNet-50 trainer".into(),
            project: Some("vision".into()),
            origin: CatalogOrigin::Published,
            status,
            requested_by: "U0ALICE".into(),
            requester_name: "Alice".into(),
            created_at: 1_796_000_000,
            decided_by: (status != CatalogStatus::Pending).then(|| "U0ADMIN".into()),
            decided_at: None,
            deprecated_at: None,
            replaced_by: None,
        }
    }

    /// Every catalogue reply and DM, in both languages, as one reviewed page each.
    #[test]
    fn catalogue_replies_in_both_languages() {
        let pending = version(7, "v1", CatalogStatus::Pending);
        let approved = version(7, "v1", CatalogStatus::Approved);
        let rejected = version(7, "v1", CatalogStatus::Rejected);
        let mut house = version(1, "2.5", CatalogStatus::Approved);
        house.origin = CatalogOrigin::Config;
        let mut retired = approved.clone();
        retired.deprecated_at = Some(1_796_100_000);
        let mut replaced = retired.clone();
        replaced.replaced_by = Some("resnet:v2".into());
        let image = Published {
            image: "alice/resnet:v1",
            id: "sha256:5e1aa0",
            host: "gpu01",
        };
        let (a, b) = (
            image_on("gpu01", "sha256:5e1aa"),
            image_on("gpu03", "sha256:77bcd"),
        );
        for lang in Lang::ALL {
            let page = [
                asked(&image, &pending, lang),
                refused(&PublishRefusal::HouseName, "pytorch", lang),
                refused(
                    &PublishRefusal::VersionExists(pending.clone()),
                    "resnet",
                    lang,
                ),
                refused(
                    &PublishRefusal::VersionExists(approved.clone()),
                    "resnet",
                    lang,
                ),
                refused(
                    &PublishRefusal::VersionExists(house.clone()),
                    "resnet",
                    lang,
                ),
                refused(&PublishRefusal::NameTaken(approved.clone()), "resnet", lang),
                no_admins("resnet:v1", lang),
                not_yours(&image, "U0BOB", lang),
                unowned(&image, lang),
                no_image("nobody/has:1", &[("gpu04".into(), "timeout".into())], lang),
                several("alice/resnet:v1", &[&a, &b], lang),
                needs_name("5e1aa", lang),
                unknown_project("nowhere", lang),
                request_for_admins(&image, &pending, lang),
                decided(&approved, true, lang),
                decided(&rejected, false, lang),
                already_decided(&approved, lang),
                already_decided(&rejected, lang),
                no_request("#99", lang),
                decision_for_requester(&approved, true, lang),
                decision_for_requester(&rejected, false, lang),
                deprecated(std::slice::from_ref(&approved), Some("resnet:v2"), 30, lang),
                deprecated(std::slice::from_ref(&approved), None, 30, lang),
                nothing_to_deprecate("resnet:v9", lang),
                deprecate_house("pytorch", lang),
                deprecate_not_yours("resnet", "U0ALICE", lang),
                unknown_replacement("resnet:v9", "resnet:v1", lang),
                Reply::ephemeral(launch_deprecated(&retired, lang)),
                Reply::ephemeral(launch_deprecated(&replaced, lang)),
                launch_pending("resnet", lang),
            ]
            .map(|reply| reply.to_terminal())
            .join("\n---\n");
            insta::assert_snapshot!(format!("catalogue_replies_{lang}"), page);
        }
    }
}
