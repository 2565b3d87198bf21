//! Decisions about the cached inventory, shared by the daily report and the reminders: which
//! images are orphans, which containers are stale, who owns a cached container, and since when
//! a container has been stopped. Pure functions over what the poller stored.

use std::collections::{HashMap, HashSet};

use maison_agent_api::ContainerState;

use super::catalogue::{Catalog, Standing};
use super::fleet::{Claim, ClaimIndex, ClaimKind, StoredContainer, StoredImage, short_id};

const DAY: i64 = 24 * 3600;

/// Why an image is listed as an orphan (the first reason that applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanReason {
    /// No tag: left behind by a rebuild or a pull of a newer tag.
    Dangling,
    /// No container uses it and nobody owns it.
    Unowned,
    /// No container uses it and it is older than this many days.
    Unused { days: u32 },
    /// A catalogue version deprecated at least this many days ago, which no container uses.
    Deprecated { days: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanImage {
    pub host: String,
    pub id: String,
    /// First tag, or the short id for a dangling image.
    pub name: String,
    pub size_bytes: u64,
    /// Slack user id of the owner (label, else claim).
    pub owner: Option<String>,
    pub created_at: i64,
    pub reason: OrphanReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleContainer {
    pub host: String,
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    /// When it stopped (estimated from Docker's status), or was created if it never ran.
    pub stopped_since: i64,
    /// Its owner asked to keep it until then.
    pub kept_until: Option<i64>,
}

/// A container's owner (Slack user id): its `maison.owner` label, else whoever claimed it.
pub fn container_owner(c: &StoredContainer, claims: &ClaimIndex) -> Option<String> {
    claims
        .owner(&c.host, &c.id, c.labelled_owner())
        .map(|o| o.slack_user)
}

/// Images a used image was made from, on its host, all the way up (`parent_id`, recorded by
/// Maison): the history of something in use.
fn ancestors_of_used(images: &[StoredImage]) -> HashSet<(&str, &str)> {
    let parent: HashMap<(&str, &str), &str> = images
        .iter()
        .filter_map(|i| Some(((i.host.as_str(), i.id.as_str()), i.parent_id.as_deref()?)))
        .collect();
    let mut kept = HashSet::new();
    for used in images.iter().filter(|i| i.in_use > 0) {
        let host = used.host.as_str();
        let mut next = parent.get(&(host, used.id.as_str())).copied();
        // `insert` is false on an image already walked: shared history, or a cycle of
        // hand-made labels, is followed once.
        while let Some(id) = next.filter(|id| kept.insert((host, *id))) {
            next = parent.get(&(host, id)).copied();
        }
    }
    kept
}

/// Unused images that are dangling, unowned, older than `unused_days`, or catalogue versions
/// deprecated at least `unused_days` ago. The catalogue's other versions, and images a used
/// image was made from, are never orphans. Largest first.
pub fn orphan_images(
    images: &[StoredImage],
    claims: &[Claim],
    catalog: &Catalog,
    now: i64,
    unused_days: u32,
) -> Vec<OrphanImage> {
    let claimed = ClaimIndex::of_kind(claims, ClaimKind::Image);
    let history_of_used = ancestors_of_used(images);
    let mut orphans: Vec<OrphanImage> = images
        .iter()
        .filter(|i| i.in_use == 0)
        .filter(|i| !history_of_used.contains(&(i.host.as_str(), i.id.as_str())))
        .filter_map(|i| {
            let owner = claimed
                .owner(&i.host, &i.id, i.labelled_owner())
                .map(|o| o.slack_user);
            let reason = match catalog.standing(i, now, unused_days) {
                Standing::Kept => return None,
                Standing::DeprecatedUnused(_) => OrphanReason::Deprecated { days: unused_days },
                Standing::NotListed if i.dangling || i.tags.is_empty() => OrphanReason::Dangling,
                Standing::NotListed if owner.is_none() => OrphanReason::Unowned,
                Standing::NotListed if now - i.created_at >= i64::from(unused_days) * DAY => {
                    OrphanReason::Unused { days: unused_days }
                }
                Standing::NotListed => return None,
            };
            Some(OrphanImage {
                host: i.host.clone(),
                id: i.id.clone(),
                name: i.tags.first().cloned().unwrap_or_else(|| short_id(&i.id)),
                size_bytes: i.size_bytes,
                owner,
                created_at: i.created_at,
                reason,
            })
        })
        .collect();
    orphans.sort_by(|a, b| {
        b.size_bytes
            .cmp(&a.size_bytes)
            .then_with(|| (&a.host, &a.name).cmp(&(&b.host, &b.name)))
    });
    orphans
}

/// Containers stopped for at least `days`, longest stopped first.
pub fn stale_containers(
    containers: &[StoredContainer],
    claims: &[Claim],
    keeps: &HashMap<(String, String), i64>,
    now: i64,
    days: u32,
) -> Vec<StaleContainer> {
    let claimed = ClaimIndex::of_kind(claims, ClaimKind::Container);
    let mut stale: Vec<StaleContainer> = containers
        .iter()
        .filter_map(|c| {
            let since = stopped_since(c)?;
            if now - since < i64::from(days) * DAY {
                return None;
            }
            Some(StaleContainer {
                host: c.host.clone(),
                id: c.id.clone(),
                name: c.name.clone(),
                owner: container_owner(c, &claimed),
                stopped_since: since,
                kept_until: keeps
                    .get(&(c.host.clone(), c.id.clone()))
                    .copied()
                    .filter(|k| *k > now),
            })
        })
        .collect();
    stale.sort_by(|a, b| {
        a.stopped_since
            .cmp(&b.stopped_since)
            .then_with(|| (&a.host, &a.name).cmp(&(&b.host, &b.name)))
    });
    stale
}

/// When a stopped container stopped; `None` while it runs. Docker only tells it in words
/// ("Exited (0) 3 days ago", as of the last poll), so this is a lower bound on how long it has
/// been stopped; a container that was created but never started counts from its creation.
pub fn stopped_since(c: &StoredContainer) -> Option<i64> {
    match c.state {
        ContainerState::Exited | ContainerState::Dead => {
            let ago = docker_ago(&c.status).unwrap_or(0);
            Some((c.seen_at - ago).min(c.seen_at))
        }
        ContainerState::Created => Some(c.created_at),
        _ => None,
    }
}

/// Parses the "… 3 days ago" tail of Docker's status into seconds (go-units' HumanDuration:
/// "Less than a second", "About a minute", "N minutes", "About an hour", "N hours", "N days",
/// "N weeks", "N months", "N years").
pub fn docker_ago(status: &str) -> Option<i64> {
    let text = status.trim().strip_suffix(" ago")?;
    if text.ends_with("Less than a second") {
        return Some(0);
    }
    // Drop "Exited (0) " and similar prefixes: the duration is the last two words.
    let words: Vec<&str> = text.split_whitespace().collect();
    let [.., amount, unit] = words.as_slice() else {
        return None;
    };
    let n: i64 = match amount.to_ascii_lowercase().as_str() {
        "a" | "an" | "about" => 1,
        other => other.parse().ok()?,
    };
    let unit_secs = match unit.trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => DAY,
        "week" => 7 * DAY,
        "month" => 30 * DAY,
        "year" => 365 * DAY,
        _ => return None,
    };
    Some(n * unit_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_statuses_read_as_durations() {
        assert_eq!(docker_ago("Exited (0) 3 days ago"), Some(3 * DAY));
        assert_eq!(docker_ago("Exited (137) 2 weeks ago"), Some(14 * DAY));
        assert_eq!(docker_ago("Exited (1) About an hour ago"), Some(3600));
        assert_eq!(docker_ago("Exited (0) About a minute ago"), Some(60));
        assert_eq!(docker_ago("Exited (0) Less than a second ago"), Some(0));
        assert_eq!(docker_ago("Exited (0) 5 months ago"), Some(150 * DAY));
        assert_eq!(docker_ago("Up 3 hours"), None);
        assert_eq!(docker_ago("Created"), None);
        assert_eq!(docker_ago("Exited (0) 3 fortnights ago"), None);
    }

    fn image(id: &str, parent: Option<&str>, in_use: u32) -> StoredImage {
        StoredImage {
            host: "gpu01".into(),
            id: id.into(),
            tags: vec![format!("alice/{id}:v1")],
            size_bytes: 1,
            created_at: 0,
            in_use,
            dangling: false,
            owner: Some("U0ALICE".into()),
            first_seen_at: 0,
            seen_at: 0,
            parent_id: parent.map(str::to_owned),
        }
    }

    #[test]
    fn the_history_of_a_used_image_is_no_orphan() {
        // base ← tuned ← tuned2 (used); other ← lonely (unused): only the unused line is old
        // enough to go.
        let images = [
            image("base", None, 0),
            image("tuned", Some("base"), 0),
            image("tuned2", Some("tuned"), 1),
            image("other", None, 0),
            image("lonely", Some("other"), 0),
            // Hand-made labels may loop; the walk still ends.
            image("loop-a", Some("loop-b"), 1),
            image("loop-b", Some("loop-a"), 0),
        ];
        let orphans = orphan_images(&images, &[], &Catalog::default(), 400 * DAY, 30);
        let mut names: Vec<&str> = orphans.iter().map(|o| o.id.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["lonely", "other"]);
        // The same ids on another host are that host's business.
        let mut elsewhere = image("base", None, 0);
        elsewhere.host = "gpu02".into();
        let orphans = orphan_images(
            &[images[2].clone(), elsewhere],
            &[],
            &Catalog::default(),
            400 * DAY,
            30,
        );
        assert_eq!(orphans.len(), 1);
        assert_eq!(orphans[0].host, "gpu02");
    }
}
