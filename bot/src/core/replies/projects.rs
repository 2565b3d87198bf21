//! Replies of `project …` and of a `--project` that names no project.

use maison_command::Lang;

use super::{listed, sentences};
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
pub fn list(projects: &[ProjectLine], default: Option<&str>, is_admin: bool, lang: Lang) -> Reply {
    let active: Vec<&ProjectLine> = projects.iter().filter(|p| p.active).collect();
    let mut lines = Vec::new();
    if active.is_empty() {
        lines.push(if is_admin {
            crate::tr!(lang, "projects-none-admin")
        } else {
            crate::tr!(lang, "projects-none")
        });
    } else {
        lines.push(crate::tr!(lang, "projects-heading"));
        for p in &active {
            let mut line = match &p.description {
                Some(description) => format!("• `{}` — {description}", p.name),
                None => format!("• `{}`", p.name),
            };
            if Some(p.name.as_str()) == default {
                line = sentences(&[line, crate::tr!(lang, "project-your-default")], lang);
            }
            lines.push(line);
        }
    }
    let retired: Vec<String> = projects
        .iter()
        .filter(|p| !p.active)
        .map(|p| format!("`{}`", p.name))
        .collect();
    if !retired.is_empty() {
        lines.push(crate::tr!(
            lang,
            "projects-removed",
            projects = listed(&retired, lang)
        ));
    }
    match default {
        Some(name) => lines.push(crate::tr!(lang, "projects-default-is", name = name)),
        None if !active.is_empty() => lines.push(crate::tr!(lang, "projects-no-default")),
        None => {}
    }
    Reply::ephemeral(lines.join("\n"))
}

/// `--project` or `project default` naming no active project.
pub fn unknown(name: &str, projects: &[ProjectLine], lang: Lang) -> Reply {
    let active: Vec<String> = projects
        .iter()
        .filter(|p| p.active)
        .map(|p| p.name.clone())
        .collect();
    let mut parts = Vec::new();
    if projects.iter().any(|p| p.name == name && !p.active) {
        parts.push(crate::tr!(lang, "project-was-removed", name = name));
    } else {
        parts.push(crate::tr!(lang, "project-unknown", name = name));
        if let Some(nearest) = nearest_name(name, &active) {
            parts.push(crate::tr!(lang, "project-did-you-mean", name = nearest));
        }
    }
    parts.push(known_list(&active, lang));
    Reply::ephemeral(sentences(&parts, lang))
}

fn known_list(active: &[String], lang: Lang) -> String {
    if active.is_empty() {
        crate::tr!(lang, "projects-none-yet")
    } else {
        let names: Vec<String> = active.iter().map(|n| format!("`{n}`")).collect();
        crate::tr!(lang, "projects-known", projects = listed(&names, lang))
    }
}

pub fn default_set(name: &str, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "project-default-set", name = name))
}

pub fn default_cleared(lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "project-default-cleared"))
}

pub fn added(name: &str, revived: bool, lang: Lang) -> Reply {
    Reply::ephemeral(if revived {
        crate::tr!(lang, "project-revived", name = name)
    } else {
        crate::tr!(lang, "project-added", name = name)
    })
}

pub fn already_exists(name: &str, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "project-exists", name = name))
}

pub fn removed(name: &str, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "project-removed", name = name))
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
        let reply = unknown("visoin", &projects, Lang::En);
        assert!(
            reply.text.contains("Did you mean `vision`?"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("`speech`"), "{}", reply.text);
        assert!(!reply.text.contains("`old`"), "{}", reply.text);
        let reply = unknown("old", &projects, Lang::En);
        assert!(reply.text.contains("was removed"), "{}", reply.text);
        let reply = unknown("x", &[], Lang::En);
        assert!(reply.text.contains("no projects yet"), "{}", reply.text);
    }

    #[test]
    fn the_list_marks_the_default_and_keeps_removed_apart() {
        let projects = [
            line("speech", true),
            line("vision", true),
            line("old", false),
        ];
        let reply = list(&projects, Some("vision"), false, Lang::En);
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
        assert!(list(&[], None, true, Lang::En).text.contains("project add"));
    }

    #[test]
    fn project_replies_in_both_languages() {
        let mut vision = line("vision", true);
        vision.description = Some("image models".to_owned());
        let projects = [line("speech", true), vision, line("old", false)];
        for lang in Lang::ALL {
            let replies = [
                list(&projects, Some("vision"), false, lang),
                list(&projects[..2], None, false, lang),
                list(&[], None, true, lang),
                list(&[], None, false, lang),
                unknown("visoin", &projects, lang),
                unknown("old", &projects, lang),
                unknown("x", &[], lang),
                default_set("vision", lang),
                default_cleared(lang),
                added("vision", false, lang),
                added("vision", true, lang),
                already_exists("vision", lang),
                removed("vision", lang),
            ];
            let text: Vec<String> = replies.iter().map(Reply::to_terminal).collect();
            insta::assert_snapshot!(format!("projects_{lang}"), text.join("\n---\n"));
        }
    }
}
