//! The in-memory inventory of containers and images. The Docker side keeps it
//! current from list calls and the events stream; the API answers from it, which
//! is why `GET /v1/containers` is cheaper than `docker ps -a`.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use maison_agent_api::{ContainerSummary, ImageSummary};

/// An image as listed by Docker, before usage is joined in.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRecord {
    pub id: String,
    pub tags: Vec<String>,
    pub size_bytes: u64,
    pub created: DateTime<Utc>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct State {
    containers: HashMap<String, ContainerSummary>,
    images: HashMap<String, ImageRecord>,
    /// Manifest ids in each container's `maison.datasets` label (containers with none are
    /// absent). Kept beside the summaries, which the API shows as they are.
    datasets: HashMap<String, Vec<String>>,
}

/// Counters exported on `/metrics`; tests read them too.
#[derive(Debug, Default)]
pub struct InventoryStats {
    pub full_relists: AtomicU64,
    pub image_relists: AtomicU64,
    pub events: AtomicU64,
    pub stream_errors: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Inventory {
    state: RwLock<State>,
    live: AtomicBool,
    pub stats: InventoryStats,
}

impl Inventory {
    pub fn new() -> Inventory {
        Inventory::default()
    }

    /// True while the last full listing succeeded and the events stream is open.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Relaxed)
    }

    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Relaxed);
    }

    pub fn replace_containers(&self, containers: Vec<ContainerSummary>) {
        let map: HashMap<String, ContainerSummary> =
            containers.into_iter().map(|c| (c.id.clone(), c)).collect();
        let mut state = self.state.write().unwrap();
        state.datasets.retain(|id, _| map.contains_key(id));
        state.containers = map;
    }

    /// Records the datasets a container mounts (from its `maison.datasets` label).
    pub fn set_container_datasets(&self, id: &str, manifests: Vec<String>) {
        let mut state = self.state.write().unwrap();
        if manifests.is_empty() {
            state.datasets.remove(id);
        } else {
            state.datasets.insert(id.to_string(), manifests);
        }
    }

    /// Names of the containers (any state) that mount the dataset version `manifest`.
    pub fn containers_with_dataset(&self, manifest: &str) -> Vec<String> {
        let state = self.state.read().unwrap();
        let mut names: Vec<String> = state
            .datasets
            .iter()
            .filter(|(_, ids)| ids.iter().any(|m| m == manifest))
            .map(|(id, _)| {
                state
                    .containers
                    .get(id)
                    .map_or_else(|| id.clone(), |c| c.name.clone())
            })
            .collect();
        names.sort();
        names
    }

    pub fn upsert_container(&self, c: ContainerSummary) {
        self.state
            .write()
            .unwrap()
            .containers
            .insert(c.id.clone(), c);
    }

    pub fn remove_container(&self, id: &str) {
        let mut state = self.state.write().unwrap();
        state.containers.remove(id);
        state.datasets.remove(id);
    }

    pub fn replace_images(&self, images: Vec<ImageRecord>) {
        let map = images.into_iter().map(|i| (i.id.clone(), i)).collect();
        self.state.write().unwrap().images = map;
    }

    /// All containers, newest first.
    pub fn containers(&self) -> Vec<ContainerSummary> {
        let state = self.state.read().unwrap();
        let mut out: Vec<ContainerSummary> = state.containers.values().cloned().collect();
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        out
    }

    pub fn container_count(&self) -> (usize, usize) {
        let state = self.state.read().unwrap();
        let owned = state.containers.values().filter(|c| c.owned).count();
        (state.containers.len(), owned)
    }

    /// Finds a container by full id, unique id prefix, or name, as Docker does.
    pub fn find_container(&self, key: &str) -> Option<ContainerSummary> {
        let state = self.state.read().unwrap();
        let name = key.trim_start_matches('/');
        if let Some(c) = state.containers.get(key) {
            return Some(c.clone());
        }
        if let Some(c) = state.containers.values().find(|c| c.name == name) {
            return Some(c.clone());
        }
        let mut prefixed = state
            .containers
            .values()
            .filter(|c| key.len() >= 4 && c.id.starts_with(key));
        match (prefixed.next(), prefixed.next()) {
            (Some(c), None) => Some(c.clone()),
            _ => None,
        }
    }

    pub fn find_by_idempotency_key(&self, key: &str) -> Option<ContainerSummary> {
        let state = self.state.read().unwrap();
        state
            .containers
            .values()
            .find(|c| c.maison.as_ref().and_then(|m| m.idempotency_key.as_deref()) == Some(key))
            .cloned()
    }

    /// Name and owner of a container, for GPU attribution.
    pub fn name_and_owner(&self, id: &str) -> (Option<String>, Option<String>) {
        let state = self.state.read().unwrap();
        match state.containers.get(id) {
            Some(c) => (
                Some(c.name.clone()),
                c.maison.as_ref().map(|m| m.owner.clone()),
            ),
            None => (None, None),
        }
    }

    /// Images with the containers that use them, largest first.
    pub fn images(&self) -> Vec<ImageSummary> {
        let state = self.state.read().unwrap();
        let mut used: HashMap<&str, Vec<String>> = HashMap::new();
        for c in state.containers.values() {
            used.entry(c.image_id.as_str())
                .or_default()
                .push(c.id.clone());
        }
        let mut out: Vec<ImageSummary> = state
            .images
            .values()
            .map(|i| {
                let mut used_by = used.get(i.id.as_str()).cloned().unwrap_or_default();
                used_by.sort();
                ImageSummary {
                    id: i.id.clone(),
                    tags: i.tags.clone(),
                    size_bytes: i.size_bytes,
                    created: i.created,
                    labels: i.labels.clone(),
                    used_by,
                    dangling: i.tags.is_empty(),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.size_bytes
                .cmp(&a.size_bytes)
                .then_with(|| a.id.cmp(&b.id))
        });
        out
    }

    /// Finds an image by id (with or without `sha256:`), unique id prefix, or tag.
    pub fn find_image(&self, key: &str) -> Option<ImageRecord> {
        let state = self.state.read().unwrap();
        let full = if key.starts_with("sha256:") {
            key.to_string()
        } else {
            format!("sha256:{key}")
        };
        if let Some(i) = state.images.get(&full) {
            return Some(i.clone());
        }
        let with_latest = if key.contains(':') && !key.starts_with("sha256:") {
            key.to_string()
        } else {
            format!("{key}:latest")
        };
        if let Some(i) = state
            .images
            .values()
            .find(|i| i.tags.iter().any(|t| t == key || *t == with_latest))
        {
            return Some(i.clone());
        }
        let hex = full.trim_start_matches("sha256:");
        if hex.len() < 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut prefixed = state.images.values().filter(|i| i.id.starts_with(&full));
        match (prefixed.next(), prefixed.next()) {
            (Some(i), None) => Some(i.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maison_agent_api::ContainerState;

    fn container(id: &str, name: &str, image_id: &str, secs: i64) -> ContainerSummary {
        ContainerSummary {
            id: id.into(),
            name: name.into(),
            image: "img".into(),
            image_id: image_id.into(),
            state: ContainerState::Running,
            status: "Up".into(),
            created: DateTime::from_timestamp(secs, 0).unwrap(),
            gpus: vec![],
            owned: false,
            limits: None,
            maison: None,
        }
    }

    fn image(id: &str, tags: &[&str]) -> ImageRecord {
        ImageRecord {
            id: id.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            size_bytes: 10,
            created: DateTime::from_timestamp(0, 0).unwrap(),
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn lookups_by_id_prefix_and_name() {
        let inv = Inventory::new();
        inv.replace_containers(vec![
            container("abcdef01", "one", "sha256:11", 1),
            container("abcdef02", "two", "sha256:11", 2),
        ]);
        assert_eq!(inv.find_container("one").unwrap().id, "abcdef01");
        assert_eq!(inv.find_container("/two").unwrap().id, "abcdef02");
        assert_eq!(inv.find_container("abcdef02").unwrap().name, "two");
        assert!(inv.find_container("abcd").is_none(), "ambiguous prefix");
        assert_eq!(inv.containers()[0].name, "two", "newest first");
    }

    #[test]
    fn dataset_users_follow_the_containers() {
        let inv = Inventory::new();
        inv.set_container_datasets("c1", vec!["m1".into(), "m2".into()]);
        inv.replace_containers(vec![container("c1", "one", "sha256:11", 1)]);
        inv.set_container_datasets("c2", vec!["m2".into()]);
        assert_eq!(inv.containers_with_dataset("m1"), vec!["one".to_string()]);
        assert_eq!(inv.containers_with_dataset("m2").len(), 2);
        inv.remove_container("c1");
        assert!(inv.containers_with_dataset("m1").is_empty());
        inv.replace_containers(vec![]);
        assert!(inv.containers_with_dataset("m2").is_empty());
    }

    #[test]
    fn images_know_their_users_and_tags() {
        let inv = Inventory::new();
        inv.replace_images(vec![
            image("sha256:1111aaaa", &["repo/x:latest"]),
            image("sha256:2222bbbb", &[]),
        ]);
        inv.replace_containers(vec![container("c1", "one", "sha256:1111aaaa", 1)]);
        let images = inv.images();
        let x = images.iter().find(|i| i.id == "sha256:1111aaaa").unwrap();
        assert_eq!(x.used_by, vec!["c1".to_string()]);
        assert!(!x.dangling);
        assert!(
            images
                .iter()
                .find(|i| i.id == "sha256:2222bbbb")
                .unwrap()
                .dangling
        );
        assert_eq!(inv.find_image("repo/x").unwrap().id, "sha256:1111aaaa");
        assert_eq!(
            inv.find_image("repo/x:latest").unwrap().id,
            "sha256:1111aaaa"
        );
        assert_eq!(inv.find_image("2222").unwrap().id, "sha256:2222bbbb");
        assert_eq!(
            inv.find_image("sha256:2222bbbb").unwrap().id,
            "sha256:2222bbbb"
        );
        assert!(inv.find_image("zz").is_none());
    }
}
