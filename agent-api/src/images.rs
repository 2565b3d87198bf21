//! Images with a history: what the agent is asked to make of a container, and the labels that
//! record where an image came from (who made it, how, from what), read back by the bot.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::labels;

/// Provenance label keys, next to the owner labels every Maison object carries.
pub mod provenance {
    /// How the image was made: `save` (a container committed), `build` or `copy`.
    pub const HOW: &str = "maison.image.how";
    /// The reference of the image it was made from, as the user knew it.
    pub const PARENT: &str = "maison.image.parent";
    /// The parent's image id (`sha256:…`): names move, ids do not.
    pub const PARENT_ID: &str = "maison.image.parent_id";
    /// For a save, the container that was committed.
    pub const CONTAINER: &str = "maison.image.container";
    /// The maker's note ("for …").
    pub const NOTE: &str = "maison.image.note";
    /// For a build, the Dockerfile's path on the host it was built on.
    pub const DOCKERFILE: &str = "maison.image.dockerfile";
    /// For a build, the SHA-256 of the Dockerfile's bytes: which recipe made the image.
    pub const DOCKERFILE_SHA256: &str = "maison.image.dockerfile_sha256";
}

/// `POST /v1/images/build`: builds an image from a Dockerfile in the owner's work directory,
/// its directory as the context, read with the owner's own permissions, without network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildImageRequest {
    /// Absolute path of the Dockerfile on the host.
    pub dockerfile: String,
    /// `name[:tag]` of the new image; the tag defaults to `latest`.
    pub reference: String,
    /// Slack user id of whoever asks; the image is theirs.
    pub owner: String,
    /// The Unix account the context is read as: nothing they could not read goes in.
    pub uid: u32,
    pub gid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `POST /v1/images/build` made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltImage {
    pub id: String,
    pub reference: String,
    pub size_bytes: u64,
    /// The image named by the Dockerfile's last `FROM`, as written.
    pub parent: String,
    pub dockerfile_sha256: String,
    /// The last lines of the build's output.
    pub log_tail: Vec<String>,
    pub context_bytes: u64,
    pub seconds: f64,
}

/// The labels of a built image: owner, how (`build`), parent, the Dockerfile and its hash,
/// the note and the time. Every other `maison.*` label the base image carries is blanked, so
/// the base's history (its container, its booking) is not read as this image's.
pub fn built_image_labels(
    parent_labels: &HashMap<String, String>,
    request: &BuildImageRequest,
    parent: &str,
    parent_id: &str,
    dockerfile_sha256: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = parent_labels
        .keys()
        .filter(|k| k.starts_with(labels::PREFIX))
        .map(|k| (k.clone(), String::new()))
        .collect();
    out.extend(
        crate::MaisonLabels {
            owner: request.owner.clone(),
            owner_name: None,
            booking: None,
            image_source: Some(crate::ImageSource::Custom),
            created_at: Some(now),
            idempotency_key: None,
        }
        .to_labels(),
    );
    out.insert(provenance::HOW.into(), "build".into());
    out.insert(provenance::PARENT.into(), parent.into());
    out.insert(provenance::PARENT_ID.into(), parent_id.into());
    out.insert(provenance::DOCKERFILE.into(), request.dockerfile.clone());
    out.insert(
        provenance::DOCKERFILE_SHA256.into(),
        dockerfile_sha256.into(),
    );
    if let Some(note) = &request.note {
        out.insert(
            provenance::NOTE.into(),
            note.chars().take(MAX_NOTE_CHARS).collect(),
        );
    }
    out
}

/// The image a Dockerfile builds on: the last `FROM` (the final stage), without `--platform`
/// and `AS name`. `None` when there is no `FROM` at all.
pub fn dockerfile_base(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|word| word.eq_ignore_ascii_case("FROM"))
        })
        .filter_map(|line| {
            line.split_whitespace()
                .skip(1)
                .find(|word| !word.starts_with("--"))
                .map(str::to_string)
        })
        .next_back()
}

/// `POST /v1/images/save`: commits a Maison container into a new image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveImageRequest {
    /// Container name or id.
    pub container: String,
    /// `name[:tag]` of the new image; the tag defaults to `latest`.
    pub reference: String,
    /// Slack user id of whoever asks: only the container's owner may save it.
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `POST /v1/images/save` made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedImage {
    pub id: String,
    /// `name:tag`, always with its tag.
    pub reference: String,
    pub size_bytes: u64,
    /// The image the container ran, by reference and id.
    pub parent: String,
    pub parent_id: String,
}

/// `POST /v1/images/fetch` (bot → the destination agent): copy an image here from a peer
/// agent that holds it. The destination pulls; layers it already holds are not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchImageRequest {
    /// The image id (`sha256:…`) to copy: what arrives must be exactly this image.
    pub image_id: String,
    /// `name:tag` to give it here, as it is known on the sources.
    pub reference: String,
    /// Its size on the source, to refuse at once when the disk here has no room for it.
    pub size_bytes: u64,
    /// Peers that hold it, best first.
    pub sources: Vec<crate::datasets::PeerSource>,
}

/// `GET /v1/images/progress`: one image copy arriving at, or build running on, the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageProgress {
    pub reference: String,
    /// `copy` or `build`.
    pub kind: String,
    /// Bytes received so far (a copy).
    pub bytes_done: u64,
    /// The image's size on its source (a copy); 0 when unknown.
    pub bytes_total: u64,
    /// The step running (a build), e.g. `Step 2/5 : RUN make`.
    pub step: Option<String>,
    pub seconds: f64,
}

/// What `POST /v1/images/fetch` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchedImage {
    pub id: String,
    pub reference: String,
    /// The peer it came from; `None` when it was already here.
    pub source: Option<String>,
    /// Bytes that crossed the network (the archive, without the layers already here).
    pub bytes_received: u64,
    pub layers: u32,
    /// Layers this host already had, so they were not sent.
    pub layers_already_here: u32,
    pub seconds: f64,
}

/// `POST /v1/images/export` (a peer → the agent that holds the image): the image as a
/// `docker load` archive, without the layers the asker already has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportImageRequest {
    pub image_id: String,
    /// Layer chains (see [`chain_ids`]) the asker holds: a layer is left out only when the
    /// asker has it together with everything under it, which is what `docker load` needs.
    pub have_chains: Vec<String>,
}

/// Response header of `POST /v1/images/export`: how many of the image's bottom layers were
/// left out because the asker has them.
pub const LAYERS_SKIPPED_HEADER: &str = "x-maison-layers-skipped";

/// The chain id of each prefix of an image's layers, bottom first, from their diff ids
/// (`sha256:…` of each uncompressed layer): the first is the first diff id, each next one
/// is `sha256(previous + " " + diff id)`. Docker names a layer stack by it, so two hosts
/// agree on which stacks they share without sending a byte of them.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut chains: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match chains.last() {
            None => diff_id.clone(),
            Some(below) => {
                let digest = Sha256::digest(format!("{below} {diff_id}").as_bytes());
                let mut hex = String::with_capacity(7 + 64);
                hex.push_str("sha256:");
                for byte in digest {
                    hex.push_str(&format!("{byte:02x}"));
                }
                hex
            }
        };
        chains.push(next);
    }
    chains
}

/// Where an image came from, read from its labels (`None` for images Maison did not make).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub owner: String,
    pub how: String,
    pub parent: Option<String>,
    pub parent_id: Option<String>,
    pub container: Option<String>,
    pub booking: Option<String>,
    pub note: Option<String>,
    /// For a build: the Dockerfile's path and the SHA-256 of its bytes.
    pub dockerfile: Option<String>,
    pub dockerfile_sha256: Option<String>,
}

impl Provenance {
    pub fn from_labels(map: &BTreeMap<String, String>) -> Option<Provenance> {
        let get = |k: &str| map.get(k).filter(|v| !v.trim().is_empty()).cloned();
        Some(Provenance {
            owner: get(labels::OWNER)?,
            how: get(provenance::HOW)?,
            parent: get(provenance::PARENT),
            parent_id: get(provenance::PARENT_ID),
            container: get(provenance::CONTAINER),
            booking: get(labels::BOOKING),
            note: get(provenance::NOTE),
            dockerfile: get(provenance::DOCKERFILE),
            dockerfile_sha256: get(provenance::DOCKERFILE_SHA256),
        })
    }
}

/// Longest note kept on an image (Docker labels have no limit; a report line does).
pub const MAX_NOTE_CHARS: usize = 200;

/// Why an image reference is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("an image name is needed, e.g. `alice/tuned:v1`")]
    Empty,
    #[error("`{0}` is too long (at most 255 characters)")]
    TooLong(String),
    #[error(
        "`{0}` is not an image name: use lowercase letters, digits and `._-`, parts separated by `/`, then an optional `:tag` (letters, digits, `._-`, up to 128), e.g. `alice/tuned:v1`"
    )]
    Malformed(String),
    #[error("`{0}` names a digest; give a name and a tag instead, e.g. `alice/tuned:v1`")]
    Digest(String),
}

/// Checks `name[:tag]` and returns it with its tag (`latest` when none was given). Stricter than
/// Docker on purpose: no registry port, no uppercase, no digest, so the name a user types is the
/// name every host shows.
pub fn normalise_reference(reference: &str) -> Result<String, ReferenceError> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(ReferenceError::Empty);
    }
    if reference.len() > 255 {
        return Err(ReferenceError::TooLong(
            reference.chars().take(40).collect(),
        ));
    }
    if reference.contains('@') {
        return Err(ReferenceError::Digest(reference.into()));
    }
    let malformed = || ReferenceError::Malformed(reference.into());
    let (name, tag) = match reference.rsplit_once(':') {
        Some((name, tag)) => (name, tag),
        None => (reference, "latest"),
    };
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    let component_ok = |part: &str| {
        !part.is_empty()
            && part.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if !tag_ok || !name.split('/').all(component_ok) {
        return Err(malformed());
    }
    Ok(format!("{name}:{tag}"))
}

/// The labels a saved image gets: every `maison.*` label of the container blanked (its
/// idempotency key, GPUs or mount stage mean nothing on an image, and Docker would copy them
/// into every container made from it), then the owner and the provenance.
pub fn saved_image_labels(
    container_labels: &HashMap<String, String>,
    request: &SaveImageRequest,
    container_name: &str,
    parent: &str,
    parent_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = container_labels
        .keys()
        .filter(|k| k.starts_with(labels::PREFIX))
        .map(|k| (k.clone(), String::new()))
        .collect();
    let booking = container_labels
        .get(labels::BOOKING)
        .filter(|b| !b.is_empty())
        .cloned();
    out.extend(
        crate::MaisonLabels {
            owner: request.owner.clone(),
            owner_name: request.owner_name.clone(),
            booking,
            image_source: Some(crate::ImageSource::Custom),
            created_at: Some(now),
            idempotency_key: None,
        }
        .to_labels(),
    );
    out.insert(provenance::HOW.into(), "save".into());
    out.insert(provenance::PARENT.into(), parent.into());
    out.insert(provenance::PARENT_ID.into(), parent_id.into());
    out.insert(provenance::CONTAINER.into(), container_name.into());
    if let Some(note) = &request.note {
        out.insert(
            provenance::NOTE.into(),
            note.chars().take(MAX_NOTE_CHARS).collect(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_get_a_tag_and_hostile_ones_are_refused() {
        assert_eq!(
            normalise_reference("alice/tuned").unwrap(),
            "alice/tuned:latest"
        );
        assert_eq!(normalise_reference(" tuned:v1.2 ").unwrap(), "tuned:v1.2");
        for bad in [
            "Alice/tuned",
            "alice//tuned",
            "alice/tuned:",
            "alice/tuned:-x",
            "-alice",
            "alice/tuned:v1 extra",
            "../etc",
            "a:b:c",
        ] {
            assert!(
                matches!(normalise_reference(bad), Err(ReferenceError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(normalise_reference(""), Err(ReferenceError::Empty));
        assert!(matches!(
            normalise_reference("x@sha256:00"),
            Err(ReferenceError::Digest(_))
        ));
    }

    #[test]
    fn a_saved_image_keeps_no_launch_label_of_its_container() {
        let container: HashMap<String, String> = [
            (labels::OWNER, "U0ALICE"),
            (labels::BOOKING, "42"),
            (labels::IDEMPOTENCY_KEY, "k-1"),
            (labels::MOUNT_STAGE, "stage-7"),
            (labels::GPUS, "0,1"),
            ("org.example.keep", "yes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let request = SaveImageRequest {
            container: "alice-c1".into(),
            reference: "alice/tuned:v1".into(),
            owner: "U0ALICE".into(),
            owner_name: Some("alice".into()),
            note: Some("x".repeat(500)),
        };
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let out = saved_image_labels(&container, &request, "alice-c1", "base:1", "sha256:ab", now);
        assert_eq!(out[labels::IDEMPOTENCY_KEY], "");
        assert_eq!(out[labels::MOUNT_STAGE], "");
        assert_eq!(out[labels::GPUS], "");
        assert!(
            !out.contains_key("org.example.keep"),
            "non-Maison labels are Docker's to keep"
        );
        let sorted: BTreeMap<String, String> = out.into_iter().collect();
        let p = Provenance::from_labels(&sorted).unwrap();
        assert_eq!(p.owner, "U0ALICE");
        assert_eq!(p.how, "save");
        assert_eq!(p.parent.as_deref(), Some("base:1"));
        assert_eq!(p.parent_id.as_deref(), Some("sha256:ab"));
        assert_eq!(p.container.as_deref(), Some("alice-c1"));
        assert_eq!(p.booking.as_deref(), Some("42"));
        assert_eq!(p.note.unwrap().chars().count(), MAX_NOTE_CHARS);
    }
}
