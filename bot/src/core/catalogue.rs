//! The image catalogue: the short names people launch (`launch gpu01 pytorch`), each with its
//! versions, where they came from and what the admins decided. Pure rules over the rows the
//! store reads: which version a launch runs, whether a publish may be asked for, which images
//! the catalogue keeps out of the orphan report.

use super::fleet::{StoredImage, normalize_reference};

const DAY: i64 = 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogStatus {
    /// Asked for with `image publish`; an admin has not decided yet.
    Pending,
    Approved,
    Rejected,
}

impl CatalogStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogStatus::Pending => "pending",
            CatalogStatus::Approved => "approved",
            CatalogStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "approved" => CatalogStatus::Approved,
            "rejected" => CatalogStatus::Rejected,
            _ => CatalogStatus::Pending,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogOrigin {
    /// A house image of the config's `[[images]]`: the config decides it.
    Config,
    /// Added with `image publish` and an admin's approval.
    Published,
}

impl CatalogOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogOrigin::Config => "config",
            CatalogOrigin::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "config" => CatalogOrigin::Config,
            _ => CatalogOrigin::Published,
        }
    }
}

/// One version of a catalogue name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogVersion {
    pub id: i64,
    pub name: String,
    pub version: String,
    /// What a launch hands to Docker: a registry reference, or the image id of a published
    /// image (a re-tag can never change what a version is).
    pub reference: String,
    pub image_id: Option<String>,
    /// The image's name and host when it was published.
    pub source_name: Option<String>,
    pub source_host: Option<String>,
    pub description: String,
    pub project: Option<String>,
    pub origin: CatalogOrigin,
    pub status: CatalogStatus,
    pub requested_by: String,
    pub requester_name: String,
    pub created_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub deprecated_at: Option<i64>,
    /// "Use X instead".
    pub replaced_by: Option<String>,
}

impl CatalogVersion {
    /// `name:version`, as a launch may name it.
    pub fn label(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }

    pub fn is_approved(&self) -> bool {
        self.status == CatalogStatus::Approved
    }

    /// Approved and not deprecated: what `launch <host> <name>` prefers.
    pub fn is_current(&self) -> bool {
        self.is_approved() && self.deprecated_at.is_none()
    }

    /// Whether the image with this id and these tags (on some host) is this version: the same
    /// id, or a tag naming the same reference.
    pub fn is_image(&self, id: &str, tags: &[String]) -> bool {
        if self.image_id.as_deref() == Some(id) || self.reference == id {
            return true;
        }
        let wanted = normalize_reference(&self.reference);
        tags.iter().any(|t| normalize_reference(t) == wanted)
    }
}

/// Why a publish cannot be asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishRefusal {
    /// The name is a house image of the config, which the config alone decides.
    HouseName,
    /// This name:version is already in the catalogue, or waiting for an admin.
    VersionExists(CatalogVersion),
    /// The name was first published by someone else (who, and its newest version).
    NameTaken(CatalogVersion),
}

/// The catalogue as the store read it: every version that is not rejected, in the order they
/// were asked for (config versions first).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    versions: Vec<CatalogVersion>,
}

impl Catalog {
    pub fn new(mut versions: Vec<CatalogVersion>) -> Self {
        versions.retain(|v| v.status != CatalogStatus::Rejected);
        versions.sort_by_key(|v| v.id);
        Self { versions }
    }

    pub fn versions(&self) -> &[CatalogVersion] {
        &self.versions
    }

    /// The versions of `name`, oldest first.
    pub fn of<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a CatalogVersion> {
        self.versions.iter().filter(move |v| v.name == name)
    }

    /// Every name, in order, each once.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.versions.iter().map(|v| v.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// What `launch <host> <typed>` runs when `typed` is a catalogue name: `name` is its
    /// newest current version (else, if all are deprecated, the newest approved one, which the
    /// launch warns about); `name:version` is that approved version. `None`: not a catalogue
    /// name (then it is an ordinary image reference).
    pub fn resolve(&self, typed: &str) -> Option<&CatalogVersion> {
        let typed = typed.trim();
        if let Some(found) = self
            .of(&typed.to_lowercase())
            .filter(|v| v.is_approved())
            .max_by_key(|v| (v.is_current(), v.decided_at, v.id))
        {
            return Some(found);
        }
        let (name, version) = typed.split_once(':')?;
        self.of(&name.to_lowercase())
            .find(|v| v.is_approved() && v.version == version)
    }

    /// The version a new publish of `name` gets when none is given: `v<n+1>` after the
    /// highest `v<n>` of the name (counting pending ones), skipping any taken by hand.
    pub fn next_version(&self, name: &str) -> String {
        let highest = self
            .of(name)
            .filter_map(|v| v.version.strip_prefix('v')?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        let taken = |candidate: &str| self.of(name).any(|v| v.version == candidate);
        (highest + 1..)
            .map(|n| format!("v{n}"))
            .find(|candidate| !taken(candidate))
            .expect("an unbounded range has a free number")
    }

    /// Whether `requester` may ask for `name:version`: the config's names are the config's,
    /// a name belongs to whoever first published it (admins may add versions to any), and a
    /// version is asked for once.
    pub fn publish_problem(
        &self,
        name: &str,
        version: &str,
        requester: &str,
        is_admin: bool,
    ) -> Option<PublishRefusal> {
        let mut versions = self.of(name).peekable();
        let first = versions.peek().cloned()?;
        if first.origin == CatalogOrigin::Config {
            return Some(PublishRefusal::HouseName);
        }
        if let Some(same) = self.of(name).find(|v| v.version == version) {
            return Some(PublishRefusal::VersionExists(same.clone()));
        }
        if first.requested_by != requester && !is_admin {
            let newest = self.of(name).last().unwrap_or(first);
            return Some(PublishRefusal::NameTaken(newest.clone()));
        }
        None
    }

    /// Who may deprecate `name`'s versions besides the admins: whoever first published it.
    /// `None` for the config's names (the config decides them) and for unknown names.
    pub fn maintainer(&self, name: &str) -> Option<&str> {
        let first = self.of(name).next()?;
        (first.origin == CatalogOrigin::Published).then_some(first.requested_by.as_str())
    }

    /// How the catalogue sees an unused image: kept (a current version, or one deprecated for
    /// less than `unused_days`), an orphan because it is a version deprecated for longer, or
    /// not in the catalogue.
    pub fn standing(&self, image: &StoredImage, now: i64, unused_days: u32) -> Standing<'_> {
        let versions: Vec<&CatalogVersion> = self
            .versions
            .iter()
            .filter(|v| v.is_approved() && v.is_image(&image.id, &image.tags))
            .collect();
        if versions.is_empty() {
            return Standing::NotListed;
        }
        let recently = |v: &&CatalogVersion| {
            v.deprecated_at
                .is_none_or(|at| now - at < i64::from(unused_days) * DAY)
        };
        match versions.iter().find(|v| !recently(v)) {
            Some(deprecated) if !versions.iter().any(recently) => {
                Standing::DeprecatedUnused(deprecated)
            }
            _ => Standing::Kept,
        }
    }
}

/// See [`Catalog::standing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing<'a> {
    Kept,
    /// Deprecated for at least the orphan days (and no other version is this image).
    DeprecatedUnused(&'a CatalogVersion),
    NotListed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: i64, name: &str, version: &str, by: &str) -> CatalogVersion {
        CatalogVersion {
            id,
            name: name.into(),
            version: version.into(),
            reference: format!("sha256:{id:064x}"),
            image_id: Some(format!("sha256:{id:064x}")),
            source_name: None,
            source_host: None,
            description: String::new(),
            project: None,
            origin: CatalogOrigin::Published,
            status: CatalogStatus::Approved,
            requested_by: by.into(),
            requester_name: by.into(),
            created_at: id * 100,
            decided_by: Some("U0ADMIN".into()),
            decided_at: Some(id * 100 + 10),
            deprecated_at: None,
            replaced_by: None,
        }
    }

    fn image(id: i64, tags: &[&str]) -> StoredImage {
        StoredImage {
            host: "gpu01".into(),
            id: format!("sha256:{id:064x}"),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            size_bytes: 1,
            created_at: 0,
            in_use: 0,
            dangling: false,
            owner: None,
            first_seen_at: 0,
            seen_at: 0,
            parent_id: None,
        }
    }

    #[test]
    fn a_name_runs_its_newest_current_version_and_a_version_runs_itself() {
        let mut v3 = version(3, "resnet", "v3", "U0ALICE");
        v3.deprecated_at = Some(1000);
        let mut pending = version(4, "resnet", "v4", "U0ALICE");
        pending.status = CatalogStatus::Pending;
        let catalog = Catalog::new(vec![
            version(1, "resnet", "v1", "U0ALICE"),
            version(2, "resnet", "v2", "U0ALICE"),
            v3,
            pending,
        ]);
        assert_eq!(catalog.resolve("resnet").map(|v| v.id), Some(2));
        assert_eq!(catalog.resolve("ResNet").map(|v| v.id), Some(2));
        assert_eq!(catalog.resolve("resnet:v3").map(|v| v.id), Some(3));
        assert_eq!(
            catalog.resolve("resnet:v4"),
            None,
            "pending is not launchable"
        );
        assert_eq!(catalog.resolve("alice/resnet:v1"), None);
        assert_eq!(catalog.resolve("jax"), None);
    }

    #[test]
    fn a_name_whose_versions_are_all_deprecated_still_runs_the_newest() {
        let mut old = version(1, "resnet", "v1", "U0ALICE");
        old.deprecated_at = Some(10);
        let mut newer = version(2, "resnet", "v2", "U0ALICE");
        newer.deprecated_at = Some(20);
        let catalog = Catalog::new(vec![old, newer]);
        assert_eq!(catalog.resolve("resnet").map(|v| v.id), Some(2));
    }

    #[test]
    fn new_versions_count_on_from_the_highest() {
        let mut catalog = Catalog::new(vec![]);
        assert_eq!(catalog.next_version("resnet"), "v1");
        catalog = Catalog::new(vec![
            version(1, "resnet", "v1", "U0ALICE"),
            version(2, "resnet", "2024.1", "U0ALICE"),
            version(3, "resnet", "v7", "U0ALICE"),
            version(4, "jax", "v9", "U0BOB"),
        ]);
        assert_eq!(catalog.next_version("resnet"), "v8");
    }

    #[test]
    fn publishing_is_refused_over_house_names_taken_names_and_existing_versions() {
        let mut house = version(1, "pytorch", "2.5", "config");
        house.origin = CatalogOrigin::Config;
        let mut rejected = version(3, "resnet", "v2", "U0ALICE");
        rejected.status = CatalogStatus::Rejected;
        let catalog = Catalog::new(vec![house, version(2, "resnet", "v1", "U0ALICE"), rejected]);
        assert_eq!(
            catalog.publish_problem("pytorch", "v1", "U0ADMIN", true),
            Some(PublishRefusal::HouseName)
        );
        assert!(matches!(
            catalog.publish_problem("resnet", "v1", "U0ALICE", false),
            Some(PublishRefusal::VersionExists(v)) if v.id == 2
        ));
        assert!(matches!(
            catalog.publish_problem("resnet", "v9", "U0BOB", false),
            Some(PublishRefusal::NameTaken(v)) if v.requested_by == "U0ALICE"
        ));
        assert_eq!(
            catalog.publish_problem("resnet", "v2", "U0ALICE", false),
            None
        );
        assert_eq!(
            catalog.publish_problem("resnet", "v9", "U0ADMIN", true),
            None
        );
        assert_eq!(catalog.publish_problem("bert", "v1", "U0BOB", false), None);
        assert_eq!(catalog.maintainer("resnet"), Some("U0ALICE"));
        assert_eq!(catalog.maintainer("pytorch"), None);
    }

    #[test]
    fn a_deprecated_version_is_kept_for_the_orphan_days_then_listed() {
        let now = 100 * DAY;
        let mut deprecated = version(1, "resnet", "v1", "U0ALICE");
        deprecated.deprecated_at = Some(now - 31 * DAY);
        let mut lately = version(2, "resnet", "v2", "U0ALICE");
        lately.deprecated_at = Some(now - 2 * DAY);
        let mut house = version(5, "pytorch", "2.5", "config");
        house.reference = "registry.lan/house/pytorch:2.5".into();
        house.image_id = None;
        let catalog = Catalog::new(vec![
            deprecated,
            lately,
            version(3, "resnet", "v3", "x"),
            house,
        ]);
        assert!(matches!(
            catalog.standing(&image(1, &[]), now, 30),
            Standing::DeprecatedUnused(v) if v.id == 1
        ));
        assert_eq!(catalog.standing(&image(2, &[]), now, 30), Standing::Kept);
        assert_eq!(catalog.standing(&image(3, &[]), now, 30), Standing::Kept);
        assert_eq!(
            catalog.standing(&image(9, &["registry.lan/house/pytorch:2.5"]), now, 30),
            Standing::Kept
        );
        assert_eq!(
            catalog.standing(&image(9, &["other:1"]), now, 30),
            Standing::NotListed
        );
    }
}
