//! Decisions about the cached inventory, shared by the daily report and the reminders: which
//! images are orphans, which containers are stale, who owns a cached container, and since when
//! a container has been stopped. Pure functions over what the poller stored.

use std::collections::HashMap;

use maison_agent_api::ContainerState;

use super::fleet::{
    Claim, ClaimIndex, ClaimKind, StoredContainer, StoredImage, normalize_reference, short_id,
};
use crate::config::CatalogImage;

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

/// Unused images that are dangling, unowned, or older than `unused_days`; the house images of
/// the catalogue are never orphans. Largest first.
pub fn orphan_images(
    images: &[StoredImage],
    claims: &[Claim],
    catalog: &[CatalogImage],
    now: i64,
    unused_days: u32,
) -> Vec<OrphanImage> {
    let claimed = ClaimIndex::of_kind(claims, ClaimKind::Image);
    let house: Vec<String> = catalog
        .iter()
        .map(|c| normalize_reference(&c.reference))
        .collect();
    let mut orphans: Vec<OrphanImage> = images
        .iter()
        .filter(|i| i.in_use == 0)
        .filter(|i| {
            !i.tags
                .iter()
                .any(|t| house.contains(&normalize_reference(t)))
        })
        .filter_map(|i| {
            let owner = claimed
                .owner(&i.host, &i.id, i.labelled_owner())
                .map(|o| o.slack_user);
            let reason = if i.dangling || i.tags.is_empty() {
                OrphanReason::Dangling
            } else if owner.is_none() {
                OrphanReason::Unowned
            } else if now - i.created_at >= i64::from(unused_days) * DAY {
                OrphanReason::Unused { days: unused_days }
            } else {
                return None;
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
}
