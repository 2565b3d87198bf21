//! Replies of `project …` and of a `--project` that names no project.

use crate::core::datasets::nearest_name;
use crate::core::render::Reply;

/// A project as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectLine {
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
}

/// `project ls`: active projects first, then removed ones, and the caller's default.
pub fn list(projects: &[ProjectLine], default: Option<&str>, is_admin: bool) -> Reply {
    let active: Vec<&ProjectLine> = projects.iter().filter(|p| p.active).collect();
    let mut text = if active.is_empty() {
        let how = if is_admin {
            "Add one with `/maison project add vision for \"image models\"`."
        } else {
            "An admin adds them with `/maison project add`."
        };
        format!("No projects yet. {how}")
    } else {
        let lines: Vec<String> = active
            .iter()
            .map(|p| {
                let mark = if Some(p.name.as_str()) == default {
                    " _(your default)_"
                } else {
                    ""
                };
                match &p.description {
                    Some(description) => format!("• `{}` — {description}{mark}", p.name),
                    None => format!("• `{}`{mark}", p.name),
                }
            })
            .collect();
        format!("*Projects*\n{}", lines.join("\n"))
    };
    let retired: Vec<&str> = projects
        .iter()
        .filter(|p| !p.active)
        .map(|p| p.name.as_str())
        .collect();
    if !retired.is_empty() {
        text.push_str(&format!(
            "\nRemoved (kept in past bookings): {}",
            retired
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match default {
        Some(name) => text.push_str(&format!(
            "\nYour bookings count for `{name}` unless they say `--project`."
        )),
        None if !active.is_empty() => text.push_str(
            "\nYou have no default project: `/maison project default <project>` sets one.",
        ),
        None => {}
    }
    Reply::ephemeral(text)
}

/// `--project` or `project default` naming no active project.
pub fn unknown(name: &str, projects: &[ProjectLine]) -> Reply {
    let active: Vec<String> = projects
        .iter()
        .filter(|p| p.active)
        .map(|p| p.name.clone())
        .collect();
    if projects.iter().any(|p| p.name == name && !p.active) {
        return Reply::ephemeral(format!(
            ":warning: The project `{name}` was removed and takes no new bookings. {}",
            known_list(&active)
        ));
    }
    let guess = nearest_name(name, &active)
        .map(|n| format!(" Did you mean `{n}`?"))
        .unwrap_or_default();
    Reply::ephemeral(format!(
        ":warning: There is no project `{name}`.{guess} {}",
        known_list(&active)
    ))
}

fn known_list(active: &[String]) -> String {
    if active.is_empty() {
        "There are no projects yet; an admin adds them with `/maison project add`.".to_owned()
    } else {
        format!(
            "Projects: {}.",
            active
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

pub fn default_set(name: &str) -> Reply {
    Reply::ephemeral(format!(
        ":white_check_mark: Your bookings now count for `{name}` unless they say `--project`."
    ))
}

pub fn default_cleared() -> Reply {
    Reply::ephemeral(":white_check_mark: You have no default project any more.")
}

pub fn added(name: &str, revived: bool) -> Reply {
    Reply::ephemeral(if revived {
        format!(":white_check_mark: `{name}` is back: it takes bookings again.")
    } else {
        format!(
            ":white_check_mark: Added the project `{name}`. People book for it with `--project {name}`."
        )
    })
}

pub fn already_exists(name: &str) -> Reply {
    Reply::ephemeral(format!(
        "The project `{name}` already exists; nothing changed."
    ))
}

pub fn removed(name: &str) -> Reply {
    Reply::ephemeral(format!(
        ":white_check_mark: Removed `{name}`: it takes no new bookings, and stays in past \
         bookings and reports."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, active: bool) -> ProjectLine {
        ProjectLine {
            name: name.to_owned(),
            description: None,
            active,
        }
    }

    #[test]
    fn unknown_project_suggests_the_nearest_and_lists_the_others() {
        let projects = [
            line("vision", true),
            line("speech", true),
            line("old", false),
        ];
        let reply = unknown("visoin", &projects);
        assert!(
            reply.text.contains("Did you mean `vision`?"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("`speech`"), "{}", reply.text);
        assert!(!reply.text.contains("`old`"), "{}", reply.text);
        let reply = unknown("old", &projects);
        assert!(reply.text.contains("was removed"), "{}", reply.text);
        let reply = unknown("x", &[]);
        assert!(reply.text.contains("no projects yet"), "{}", reply.text);
    }

    #[test]
    fn the_list_marks_the_default_and_keeps_removed_apart() {
        let projects = [
            line("speech", true),
            line("vision", true),
            line("old", false),
        ];
        let reply = list(&projects, Some("vision"), false);
        assert!(
            reply.text.contains("`vision` _(your default)_"),
            "{}",
            reply.text
        );
        assert!(
            reply
                .text
                .contains("Removed (kept in past bookings): `old`")
        );
        assert!(list(&[], None, true).text.contains("project add"));
    }
}
