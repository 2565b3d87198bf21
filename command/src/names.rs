//! Checks on the names users type for containers and images.
//!
//! Deliberately loose: they catch typing mistakes with a specific reason, and leave whether the
//! container or image exists, and Docker's finer reference rules, to the bot and the host agent.
//! Each check returns why the input is refused, phrased to follow "it …" in an error message.

/// Longest image reference or target accepted: a 255-character name plus a digest fits.
pub(crate) const MAX_REFERENCE_LEN: usize = 400;

/// Docker's longest container name.
const MAX_CONTAINER_NAME_LEN: usize = 63;

/// Longest dataset name or version label (the agent's limit: a name is a directory name).
const MAX_DATASET_PART_LEN: usize = 64;

/// Why `name` is not a Docker container name (`[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}`).
pub(crate) fn container_name_problem(name: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    common_problem(name, allowed, MAX_CONTAINER_NAME_LEN)
}

/// Why `part` cannot be a dataset name or a version label: both become directory names on
/// the hosts (`/data/<name>` in a container), so they are plain file names.
pub(crate) fn dataset_part_problem(part: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    common_problem(part, allowed, MAX_DATASET_PART_LEN)
}

/// Why `reference` cannot be a container name, a container id (prefix) or an image reference.
pub(crate) fn reference_problem(reference: &str) -> Option<String> {
    if let Some(problem) = common_problem(reference, is_reference_char, MAX_REFERENCE_LEN) {
        return Some(problem);
    }
    if let Some(last) = reference
        .chars()
        .last()
        .filter(|c| matches!(c, ':' | '/' | '@'))
    {
        return Some(format!("ends with `{last}`"));
    }
    None
}

fn is_reference_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '@' | '-')
}

fn common_problem(input: &str, allowed: impl Fn(char) -> bool, max_len: usize) -> Option<String> {
    let Some(first) = input.chars().next() else {
        return Some("is empty".to_owned());
    };
    if let Some(bad) = input.chars().find(|c| !allowed(*c)) {
        return Some(if bad.is_whitespace() {
            "contains a space".to_owned()
        } else {
            format!("contains `{bad}`")
        });
    }
    if !first.is_ascii_alphanumeric() {
        return Some(format!("starts with `{first}`"));
    }
    let len = input.chars().count();
    (len > max_len).then(|| format!("is {len} characters long, over the limit of {max_len}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_follow_dockers_rule() {
        for name in ["a", "llama-ft", "Run_2.b", "0", &"x".repeat(63)] {
            assert_eq!(container_name_problem(name), None, "{name}");
        }
        for (name, problem) in [
            ("", "is empty"),
            ("-x", "starts with `-`"),
            ("_x", "starts with `_`"),
            ("a/b", "contains `/`"),
            ("a b", "contains a space"),
            ("été", "contains `é`"),
        ] {
            assert_eq!(container_name_problem(name).as_deref(), Some(problem));
        }
        assert_eq!(
            container_name_problem(&"x".repeat(64)).as_deref(),
            Some("is 64 characters long, over the limit of 63")
        );
    }

    #[test]
    fn dataset_parts_are_plain_file_names() {
        for part in ["imagenet", "coco-2017_v1.1", "v2", &"x".repeat(64)] {
            assert_eq!(dataset_part_problem(part), None, "{part}");
        }
        for (part, problem) in [
            ("", "is empty"),
            (".hidden", "starts with `.`"),
            ("a/b", "contains `/`"),
            ("a b", "contains a space"),
            ("a,b", "contains `,`"),
        ] {
            assert_eq!(
                dataset_part_problem(part).as_deref(),
                Some(problem),
                "{part}"
            );
        }
        assert!(dataset_part_problem(&"x".repeat(65)).is_some());
    }

    #[test]
    fn references_allow_registries_tags_and_digests() {
        for reference in [
            "pytorch",
            "3f2a",
            "registry.lan:5000/team/img:1.2",
            "busybox@sha256:0123abcd",
            "My_Container.1",
        ] {
            assert_eq!(reference_problem(reference), None, "{reference}");
        }
        for (reference, problem) in [
            ("", "is empty"),
            ("img:", "ends with `:`"),
            ("team/", "ends with `/`"),
            ("img@", "ends with `@`"),
            ("/img", "starts with `/`"),
            ("img;rm", "contains `;`"),
            ("a\tb", "contains a space"),
        ] {
            assert_eq!(reference_problem(reference).as_deref(), Some(problem));
        }
        assert!(reference_problem(&"x".repeat(MAX_REFERENCE_LEN)).is_none());
        assert!(reference_problem(&"x".repeat(MAX_REFERENCE_LEN + 1)).is_some());
    }
}
