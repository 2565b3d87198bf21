//! Images made through Maison: a container saved (committed) into an image that records who
//! made it, from which image and container, under which booking, and why; and images copied
//! between hosts, agent to agent ([`export`] sends, [`fetch`] receives); and images [`build`]
//! from a Dockerfile in their owner's directory.

pub mod build;
pub mod build_limits;
pub mod export;
pub mod fetch;

use bollard::models::ContainerConfig;
use bollard::query_parameters::CommitContainerOptionsBuilder;
use maison_agent_api::images::{
    SaveImageRequest, SavedImage, normalise_reference, saved_image_labels,
};
use maison_agent_api::labels;

use crate::docker::{Engine, EngineError};
use crate::image_work::Busy;
use crate::policy::image_maker;

impl Engine {
    /// Commits the requester's own container into `request.reference`. Refused for a
    /// container Maison did not make or someone else owns, and for a name that already
    /// belongs to another image (re-saving one's own saved name moves it).
    pub async fn save_image(&self, request: &SaveImageRequest) -> Result<SavedImage, EngineError> {
        let reference = image_name(&request.reference)?;
        let docker = self.client()?;
        let container = docker
            .inspect_container(&request.container, None)
            .await
            .map_err(|e| match EngineError::from(e) {
                EngineError::NotFound(_) => {
                    EngineError::NotFound(format!("container {}", request.container))
                }
                other => other,
            })?;
        let name = container
            .name
            .as_deref()
            .unwrap_or(&request.container)
            .trim_start_matches('/')
            .to_string();
        let container_labels = container
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        match container_labels
            .get(labels::OWNER)
            .filter(|o| !o.is_empty())
        {
            None => {
                return Err(EngineError::Refused {
                    message: format!(
                        "container {name} was not made by Maison, so it has no owner who could save it"
                    ),
                    rule: "not-maison",
                });
            }
            Some(owner) if *owner != request.owner => {
                return Err(EngineError::Refused {
                    message: format!(
                        "container {name} belongs to {owner}; only its owner can save it"
                    ),
                    rule: "not-owner",
                });
            }
            Some(_) => {}
        }
        self.check_name_free(&reference, &request.owner).await?;
        let parent = container
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .unwrap_or_default();
        let parent_id = container.image.clone().unwrap_or_default();
        let labels = saved_image_labels(
            &container_labels,
            request,
            &name,
            &parent,
            &parent_id,
            chrono::Utc::now(),
        );
        let (repo, tag) = reference
            .rsplit_once(':')
            .expect("a normalised reference has a tag");
        let author = request.owner_name.as_deref().unwrap_or(&request.owner);
        let mut options = CommitContainerOptionsBuilder::new()
            .container(container.id.as_deref().unwrap_or(&request.container))
            .repo(repo)
            .tag(tag)
            .author(author)
            // A consistent snapshot: the processes are frozen while the layer is written.
            .pause(true);
        if let Some(note) = &request.note {
            options = options.comment(note);
        }
        let committed = docker
            .commit_container(
                options.build(),
                ContainerConfig {
                    labels: Some(labels),
                    ..Default::default()
                },
            )
            .await?;
        self.relist_images().await?;
        let image = docker.inspect_image(&committed.id).await?;
        Ok(SavedImage {
            id: committed.id,
            reference,
            size_bytes: image.size.unwrap_or(0).max(0) as u64,
            parent,
            parent_id,
        })
    }
}

impl Engine {
    /// Refuses `reference` when it already names an image that is not `owner`'s own earlier
    /// save or build: a new image must not take over someone else's name.
    pub(crate) async fn check_name_free(
        &self,
        reference: &str,
        owner: &str,
    ) -> Result<(), EngineError> {
        let Ok(existing) = self.client()?.inspect_image(reference).await else {
            return Ok(());
        };
        let existing_labels = existing.config.and_then(|c| c.labels).unwrap_or_default();
        if image_maker(&existing_labels) == Some(owner) {
            return Ok(());
        }
        Err(EngineError::Conflict {
            message: format!(
                "{reference} already names an image you did not make here; pick another name or tag"
            ),
            rule: Some("image-exists"),
        })
    }
}

/// `name[:tag]` as every host will show it, or the refusal saying what is wrong with it.
pub(crate) fn image_name(reference: &str) -> Result<String, EngineError> {
    normalise_reference(reference).map_err(|e| EngineError::Refused {
        message: e.to_string(),
        rule: "image-name",
    })
}

/// Why a build or copy cannot start now, as the caller reads it.
pub(crate) fn busy_error(busy: Busy, reference: &str) -> EngineError {
    let (message, rule) = match busy {
        Busy::OwnerBuilding(running) => (
            format!(
                "you are already building {running} on this host; one build at a time per person, so this one starts once that one ends"
            ),
            "build-running",
        ),
        Busy::NameInWork(kind) => (
            format!(
                "{reference} is being made on this host right now (an image {kind}); ask again once it is done, or pick another name"
            ),
            "image-busy",
        ),
    };
    EngineError::Conflict {
        message,
        rule: Some(rule),
    }
}
