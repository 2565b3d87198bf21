//! Replies and messages of the dataset registry (`data …`, `launch --data`, `book --data`).

use chrono_tz::Tz;
use maison_agent_api::datasets::{MOUNT_PARENT, ReplicaOrigin, ReplicaState};
use maison_agent_api::{ClientError, ErrorCode};

use super::fleet::thousands;
use super::{listed, when_in};
use crate::core::datasets::{
    Catalog, DatasetEvent, DatasetVersion, Replica, Transfer, TransferState, Unresolved,
    duration_text_in, rate_text,
};
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::{Block, Reply, Visibility, mention};
use crate::core::units::size_text;
use crate::tr;
use maison_command::Lang;

fn copy_count(n: usize, lang: Lang) -> String {
    match n {
        0 => tr!(lang, "data-no-copy"),
        n => tr!(lang, "data-copies", count = n),
    }
}

fn quoted_hosts(hosts: &[&str], lang: Lang) -> String {
    let quoted: Vec<String> = hosts.iter().map(|h| format!("`{h}`")).collect();
    listed(&quoted, lang)
}

/// `data add` accepted: the agent scans; the DM comes later.
pub fn registering(name: &str, version: &str, host: &str, path: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-registering",
        label = format!("{name}@{version}"),
        host = host,
        path = path
    ))
}

pub fn already_registered(name: &str, version: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-already-registered",
        label = format!("{name}@{version}"),
        name = name
    ))
}

/// What only a dataset's owner (or an admin) may do, as a refusal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnersOnly {
    AddVersions,
    Remove,
    Pin,
    Unpin,
}

pub fn not_dataset_owner(name: &str, owner: &str, what: OwnersOnly, lang: Lang) -> Reply {
    let what = match what {
        OwnersOnly::AddVersions => tr!(lang, "data-to-add-versions"),
        OwnersOnly::Remove => tr!(lang, "data-to-remove"),
        OwnersOnly::Pin => tr!(lang, "data-to-pin"),
        OwnersOnly::Unpin => tr!(lang, "data-to-unpin"),
    };
    Reply::ephemeral(tr!(
        lang,
        "data-not-owner",
        name = name,
        owner = mention(owner),
        what = what
    ))
}

/// A member registering something outside their work root.
pub fn outside_work_root(path: &str, work: Option<&str>, lang: Lang) -> Reply {
    Reply::ephemeral(match work {
        Some(work) => tr!(lang, "data-outside-work", path = path, work = work),
        None => tr!(lang, "data-no-work"),
    })
}

pub fn unresolved(unresolved: &Unresolved, lang: Lang) -> Reply {
    Reply::ephemeral(match unresolved {
        Unresolved::NoSuchDataset {
            name,
            suggestion,
            known,
        } => {
            let hint = suggestion
                .as_ref()
                .map(|s| tr!(lang, "data-did-you-mean", suggestion = s.as_str()))
                .unwrap_or_default();
            let listing = if known.is_empty() {
                tr!(lang, "data-none-registered")
            } else {
                let names: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                tr!(lang, "data-known", names = listed(&names, lang))
            };
            tr!(
                lang,
                "data-no-such-dataset",
                name = name.as_str(),
                hint = hint,
                listing = listing
            )
        }
        Unresolved::NoSuchVersion {
            name,
            version,
            versions,
        } => {
            let list: Vec<String> = versions.iter().map(|v| format!("`{name}@{v}`")).collect();
            tr!(
                lang,
                "data-no-such-version",
                name = name.as_str(),
                version = version.as_str(),
                versions = listed(&list, lang)
            )
        }
    })
}

/// `data ls`: each dataset with its versions, size and copies.
pub fn catalog(catalog: &Catalog, lang: Lang) -> Reply {
    let names = catalog.dataset_names();
    if names.is_empty() {
        return Reply::ephemeral(tr!(lang, "data-ls-empty"));
    }
    let mut blocks = vec![Block::Header(tr!(lang, "data-ls-header"))];
    for name in &names {
        let versions = catalog.versions_of(name);
        let owner = versions
            .first()
            .map(|v| v.owner.as_str())
            .unwrap_or_default();
        let mut lines = vec![tr!(
            lang,
            "data-ls-owner",
            name = name.as_str(),
            owner = mention(owner)
        )];
        for v in versions.iter().rev() {
            lines.push(version_line(catalog, v, lang));
        }
        blocks.push(Block::Section(lines.join("\n")));
    }
    blocks.push(Block::Context(tr!(lang, "data-ls-context")));
    Reply::with_blocks(
        Visibility::Ephemeral,
        tr!(lang, "data-ls-text", count = names.len()),
        blocks,
    )
}

fn version_line(catalog: &Catalog, v: &DatasetVersion, lang: Lang) -> String {
    let note = v
        .note
        .as_ref()
        .map(|n| format!(" — “{n}”"))
        .unwrap_or_default();
    if !v.is_ready() {
        return tr!(
            lang,
            "data-ls-scanning",
            version = v.version.as_str(),
            host = v.registered_host.as_str(),
            note = note
        );
    }
    let complete: Vec<&str> = catalog
        .complete_copies(v.id)
        .iter()
        .map(|r| r.host.as_str())
        .collect();
    let copying = catalog
        .replicas_of(v.id)
        .iter()
        .filter(|r| r.state == ReplicaState::Fetching)
        .count();
    let copying = if copying > 0 {
        tr!(lang, "data-ls-being-copied", count = copying)
    } else {
        String::new()
    };
    tr!(
        lang,
        "data-ls-version",
        version = v.version.as_str(),
        size = size_text(v.total_bytes),
        files = thousands(v.total_files),
        copies = copy_count(complete.len(), lang),
        hosts = quoted_hosts(&complete, lang),
        copying = copying,
        note = note
    )
}

/// `data where`: complete copies, copies on their way, and a scan still running.
pub fn where_is(
    catalog: &Catalog,
    version: &DatasetVersion,
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
    let label = version.label();
    let head = if version.is_ready() {
        tr!(
            lang,
            "data-where-head",
            label = label.as_str(),
            size = size_text(version.total_bytes),
            files = thousands(version.total_files),
            host = version.registered_host.as_str(),
            path = version.registered_path.as_str()
        )
    } else {
        tr!(
            lang,
            "data-where-head-scanning",
            label = label.as_str(),
            host = version.registered_host.as_str(),
            path = version.registered_path.as_str()
        )
    };
    let mut lines = vec![head];
    let replicas = catalog.replicas_of(version.id);
    let complete: Vec<&&Replica> = replicas.iter().filter(|r| r.is_complete()).collect();
    if complete.is_empty() {
        lines.push(tr!(lang, "data-where-none"));
    } else {
        lines.push(tr!(lang, "data-where-complete"));
        for r in complete {
            lines.push(format!("• {}", complete_line(r, now, tz, lang)));
        }
    }
    let partial: Vec<&&Replica> = replicas.iter().filter(|r| !r.is_complete()).collect();
    if !partial.is_empty() {
        lines.push(tr!(lang, "data-where-partial"));
        for r in partial {
            let transfer = catalog.running_transfer(version.id, &r.host);
            lines.push(format!("• {}", partial_line(r, transfer, lang)));
        }
    }
    Reply::with_blocks(
        Visibility::Ephemeral,
        tr!(lang, "data-where-text", label = label.as_str()),
        vec![
            Block::Section(lines.join("\n")),
            Block::Context(tr!(
                lang,
                "data-where-context",
                label = label.as_str(),
                path = format!("{MOUNT_PARENT}/{}", version.dataset)
            )),
        ],
    )
}

fn complete_line(r: &Replica, now: i64, tz: Tz, lang: Lang) -> String {
    let mut notes = Vec::new();
    if r.origin == ReplicaOrigin::InPlace {
        notes.push(tr!(lang, "data-note-registered", path = r.path.as_str()));
    }
    if r.state == ReplicaState::Verifying {
        notes.push(tr!(lang, "data-note-verifying"));
    }
    if r.mounted_count > 0 {
        notes.push(tr!(lang, "data-note-mounted", count = r.mounted_count));
    } else if let Some(at) = r.last_mounted {
        notes.push(tr!(
            lang,
            "data-note-last-mounted",
            when = when_in(at, now, tz, lang)
        ));
    }
    if r.pinned {
        notes.push(tr!(lang, "data-note-pinned"));
    }
    match r.verify_bad_count {
        Some(0) => notes.push(tr!(lang, "data-note-verified")),
        Some(bad) => notes.push(tr!(lang, "data-note-bad", count = bad)),
        None => {}
    }
    if notes.is_empty() {
        format!("`{}`", r.host)
    } else {
        match lang {
            Lang::En => format!("`{}` ({})", r.host, listed(&notes, lang)),
            Lang::Ja => format!("`{}`（{}）", r.host, listed(&notes, lang)),
        }
    }
}

fn partial_line(r: &Replica, transfer: Option<&Transfer>, lang: Lang) -> String {
    let host = r.host.as_str();
    match r.state {
        ReplicaState::Scanning => tr!(
            lang,
            "data-partial-scanning",
            host = host,
            progress = r.progress().text_in(lang)
        ),
        ReplicaState::Failed => tr!(
            lang,
            "data-partial-failed",
            host = host,
            percent = r.progress().percent(),
            error = error_text(r.error.as_deref(), lang)
        ),
        _ => {
            let sources = transfer.map_or(&r.sources, |t| &t.sources);
            let from = if sources.is_empty() {
                String::new()
            } else {
                tr!(
                    lang,
                    "data-partial-from",
                    hosts = quoted_hosts_in(sources, lang)
                )
            };
            tr!(
                lang,
                "data-partial-copying",
                host = host,
                from = from,
                progress = r.progress().text_in(lang)
            )
        }
    }
}

pub fn still_scanning(version: &DatasetVersion, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-still-scanning",
        label = version.label(),
        host = version.registered_host.as_str()
    ))
}

pub fn already_there(version: &DatasetVersion, host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-already-there",
        host = host,
        label = version.label()
    ))
}

pub fn already_copying(version: &DatasetVersion, transfer: &Transfer, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-already-copying",
        label = version.label(),
        host = transfer.host.as_str(),
        user = mention(&transfer.requested_by),
        progress = transfer.progress().text_in(lang)
    ))
}

/// No reachable host holds a complete copy to copy from.
pub fn no_source(
    version: &DatasetVersion,
    destination: &str,
    holders: &[&str],
    lang: Lang,
) -> Reply {
    let elsewhere: Vec<&str> = holders
        .iter()
        .copied()
        .filter(|h| *h != destination)
        .collect();
    Reply::ephemeral(if elsewhere.is_empty() {
        tr!(lang, "data-no-source", label = version.label())
    } else {
        tr!(
            lang,
            "data-source-silent",
            label = version.label(),
            hosts = quoted_hosts(&elsewhere, lang)
        )
    })
}

/// The answer to `data get` (and `book --data`): copying has started.
pub fn copying(
    version: &DatasetVersion,
    host: &str,
    sources: &[String],
    evicted: &[String],
    lang: Lang,
) -> Reply {
    let mut text = tr!(
        lang,
        "data-copying",
        label = version.label(),
        size = size_text(version.total_bytes),
        host = host,
        sources = quoted_hosts_in(sources, lang)
    );
    if !evicted.is_empty() {
        text.push('\n');
        text.push_str(&tr!(
            lang,
            "data-copying-evicted",
            host = host,
            copies = quoted_hosts_in(evicted, lang)
        ));
    }
    Reply::ephemeral(text)
}

/// Names in `code`, listed in `lang`.
fn quoted_hosts_in(names: &[String], lang: Lang) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    listed(&quoted, lang)
}

/// A `book --data` whose copy could not start: the booking stands.
pub fn not_staged(why: &str, lang: Lang) -> String {
    tr!(lang, "data-not-staged", why = why)
}

/// The message kept up to date while a copy runs, and its final state, in the language of
/// whoever asked for the copy.
pub fn progress_message(label: &str, transfer: &Transfer, now: i64, lang: Lang) -> Reply {
    let host = transfer.host.as_str();
    let from = quoted_hosts_in(&transfer.sources, lang);
    let text = match transfer.state {
        TransferState::Running => {
            let rate = if transfer.rate > 0 {
                format!(" · {}", rate_text(transfer.rate))
            } else {
                String::new()
            };
            tr!(
                lang,
                "data-progress-running",
                label = label,
                host = host,
                sources = from,
                present = size_text(transfer.present_bytes),
                total = size_text(transfer.total_bytes),
                progress = transfer.progress().text_in(lang),
                rate = rate
            )
        }
        TransferState::Complete => {
            let took = transfer.finished_at.unwrap_or(now) - transfer.started_at;
            let average = (transfer.total_bytes)
                .checked_div(took.max(1) as u64)
                .unwrap_or_default();
            tr!(
                lang,
                "data-progress-complete",
                label = label,
                host = host,
                size = size_text(transfer.total_bytes),
                took = duration_text_in(took.max(1) as u64, lang),
                rate = rate_text(average)
            )
        }
        TransferState::Failed => tr!(
            lang,
            "data-progress-failed",
            label = label,
            host = host,
            percent = transfer.progress().percent(),
            error = error_text(transfer.error.as_deref(), lang)
        ),
    };
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![Block::Section(text)],
    )
}

/// `data rm`, `pin`, `verify` on a host without a copy.
pub fn no_copy_on(version: &DatasetVersion, host: &str, catalog: &Catalog, lang: Lang) -> Reply {
    let holders: Vec<&str> = catalog
        .replicas_of(version.id)
        .iter()
        .map(|r| r.host.as_str())
        .collect();
    let listing = if holders.is_empty() {
        tr!(lang, "data-no-copy-anywhere")
    } else {
        tr!(lang, "data-copies-on", hosts = quoted_hosts(&holders, lang))
    };
    Reply::ephemeral(tr!(
        lang,
        "data-no-copy-on",
        host = host,
        label = version.label(),
        listing = listing
    ))
}

pub fn last_copy(version: &DatasetVersion, host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-last-copy",
        host = host,
        label = version.label()
    ))
}

pub fn copy_mounted(version: &DatasetVersion, host: &str, containers: u32, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-copy-mounted",
        label = version.label(),
        host = host,
        count = containers
    ))
}

pub fn copy_removed(
    version: &DatasetVersion,
    host: &str,
    origin: ReplicaOrigin,
    complete: bool,
    lang: Lang,
) -> Reply {
    let label = version.label();
    Reply::ephemeral(match origin {
        ReplicaOrigin::Copied if !complete => {
            tr!(lang, "data-copy-stopped", label = label, host = host)
        }
        ReplicaOrigin::Copied => tr!(lang, "data-copy-removed", label = label, host = host),
        ReplicaOrigin::InPlace => tr!(lang, "data-copy-untracked", label = label, host = host),
    })
}

/// A Remove button whose value names no copy (an old message).
pub fn no_such_copy_button(value: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(lang, "data-no-such-copy-button", value = value))
}

pub fn pinned(version: &DatasetVersion, host: &str, pinned: bool, lang: Lang) -> Reply {
    let label = version.label();
    Reply::ephemeral(if pinned {
        tr!(lang, "data-pinned", label = label, host = host)
    } else {
        tr!(lang, "data-unpinned", label = label, host = host)
    })
}

pub fn not_complete_to_verify(version: &DatasetVersion, host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-not-complete-to-verify",
        label = version.label(),
        host = host
    ))
}

pub fn verifying(version: &DatasetVersion, host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-verifying",
        label = version.label(),
        host = host
    ))
}

/// Even removing every removable copy would not make room.
pub fn no_room(
    version: &DatasetVersion,
    host: &str,
    needed: u64,
    available: u64,
    lang: Lang,
) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-no-room",
        host = host,
        label = version.label(),
        needed = size_text(needed),
        available = size_text(available)
    ))
}

/// An agent refused or failed a dataset request.
pub fn agent_refused(host: &str, label: &str, err: &ClientError, lang: Lang) -> Reply {
    Reply::ephemeral(match err {
        ClientError::Api { error, .. } => {
            let message = error.message.as_str();
            match (error.code, error.rule.as_deref()) {
                (_, Some("no-space")) => tr!(
                    lang,
                    "data-agent-no-space",
                    host = host,
                    label = label,
                    message = message
                ),
                (_, Some("dataset-in-use")) => tr!(
                    lang,
                    "data-agent-in-use",
                    host = host,
                    label = label,
                    message = message
                ),
                (_, Some(rule)) => tr!(
                    lang,
                    "data-agent-rule",
                    host = host,
                    label = label,
                    rule = rule,
                    message = message
                ),
                (ErrorCode::Conflict, None) => tr!(
                    lang,
                    "data-agent-conflict",
                    host = host,
                    label = label,
                    message = message
                ),
                _ => tr!(
                    lang,
                    "data-agent-failed",
                    host = host,
                    label = label,
                    message = message
                ),
            }
        }
        _ => super::fleet::no_answer(
            host,
            err,
            &format!(
                "it acted on `{label}`. `/maison data where {label}` shows how things stand; \
                 asking again is safe"
            ),
        ),
    })
}

/// An agent's error as it came, or "unknown error" in `lang`.
fn error_text(error: Option<&str>, lang: Lang) -> String {
    error.map_or_else(|| tr!(lang, "data-unknown-error"), str::to_owned)
}

/// `launch --data` on a host without a complete copy: how far it is, and what to do.
pub fn not_ready_for_launch(
    version: &DatasetVersion,
    host: &str,
    replica: Option<&Replica>,
    transfer: Option<&Transfer>,
    lang: Lang,
) -> Reply {
    let label = version.label();
    let text = match (replica, transfer) {
        (_, Some(t)) => tr!(
            lang,
            "data-not-ready-copying",
            label = label,
            host = host,
            progress = t.progress().text_in(lang)
        ),
        (Some(r), None) if r.state == ReplicaState::Failed => tr!(
            lang,
            "data-not-ready-failed",
            label = label,
            host = host,
            percent = r.progress().percent(),
            error = error_text(r.error.as_deref(), lang)
        ),
        (Some(r), None) => tr!(
            lang,
            "data-not-ready-partial",
            label = label,
            host = host,
            progress = r.progress().text_in(lang)
        ),
        (None, None) => tr!(lang, "data-not-ready-none", label = label, host = host),
    };
    Reply::ephemeral(text)
}

/// The line a launch reply gets for its mounted datasets.
pub fn mounted_line(labels: &[(String, String)], lang: Lang) -> String {
    let mounts: Vec<String> = labels
        .iter()
        .map(|(label, name)| {
            tr!(
                lang,
                "data-mount",
                label = label.as_str(),
                path = format!("{MOUNT_PARENT}/{name}")
            )
        })
        .collect();
    tr!(lang, "data-mounted", mounts = listed(&mounts, lang))
}

// ------------------------------------------------------------------------ DMs

/// The DMs an event from the poller becomes, each in its recipient's language.
pub fn event_messages(
    event: &DatasetEvent,
    now: i64,
    lang_of: &dyn Fn(&str) -> Lang,
) -> Vec<OutgoingMessage> {
    let to = match event {
        DatasetEvent::Scanned { version } | DatasetEvent::ScanFailed { version, .. } => {
            &version.registered_by
        }
        DatasetEvent::Verified { requested_by, .. } => requested_by,
        DatasetEvent::TransferFailed { transfer, .. } => &transfer.requested_by,
    };
    let lang = lang_of(to);
    let (to, reply) = match event {
        DatasetEvent::Scanned { version } => (&version.registered_by, scanned_dm(version, lang)),
        DatasetEvent::ScanFailed { version, error } => {
            (&version.registered_by, scan_failed_dm(version, error, lang))
        }
        DatasetEvent::Verified {
            version,
            host,
            requested_by,
            files_checked,
            bad_count,
            bad_files,
            ..
        } => (
            requested_by,
            verified_dm(version, host, *files_checked, *bad_count, bad_files, lang),
        ),
        DatasetEvent::TransferFailed { version, transfer } => (
            &transfer.requested_by,
            transfer_failed_dm(version, transfer, now, lang),
        ),
    };
    vec![OutgoingMessage {
        to: Recipient::User(to.clone()),
        reply,
        attachment: None,
    }]
}

pub fn scanned_dm(version: &DatasetVersion, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-scanned",
        label = version.label(),
        size = size_text(version.total_bytes),
        files = thousands(version.total_files),
        host = version.registered_host.as_str()
    ))
}

pub fn scan_failed_dm(version: &DatasetVersion, error: &str, lang: Lang) -> Reply {
    Reply::ephemeral(tr!(
        lang,
        "data-scan-failed",
        label = version.label(),
        host = version.registered_host.as_str(),
        path = version.registered_path.as_str(),
        error = error
    ))
}

pub fn verified_dm(
    version: &DatasetVersion,
    host: &str,
    checked: u64,
    bad: u64,
    bad_files: &[String],
    lang: Lang,
) -> Reply {
    Reply::ephemeral(if bad == 0 {
        tr!(
            lang,
            "data-verified-ok",
            label = version.label(),
            host = host,
            checked = checked
        )
    } else {
        tr!(
            lang,
            "data-verified-bad",
            label = version.label(),
            host = host,
            bad = bad,
            checked = checked,
            files = quoted_hosts_in(bad_files, lang)
        )
    })
}

pub fn transfer_failed_dm(
    version: &DatasetVersion,
    transfer: &Transfer,
    now: i64,
    lang: Lang,
) -> Reply {
    let mut reply = progress_message(&version.label(), transfer, now, lang);
    reply.visibility = Visibility::Ephemeral;
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: Tz = chrono_tz::Europe::Paris;
    // Monday 30 Nov 2026, 10:00 UTC = 11:00 in Paris.
    const NOW: i64 = 1_796_032_800;

    fn version(id: i64, name: &str, label: &str, ready: bool) -> DatasetVersion {
        DatasetVersion {
            id,
            dataset: name.into(),
            version: label.into(),
            manifest: ready.then(|| format!("{id:064}")),
            total_bytes: 7_400_000_000,
            total_files: 1_281_167,
            registered_host: "gpu03".into(),
            registered_path: format!("/srv/datasets/{name}"),
            registered_by: "U0ADMIN".into(),
            owner: "U0ADMIN".into(),
            note: None,
            created_at: NOW - 86_400 * 30,
        }
    }

    fn replica(version_id: i64, host: &str, state: ReplicaState, present: u64) -> Replica {
        Replica {
            version_id,
            host: host.into(),
            state,
            origin: ReplicaOrigin::Copied,
            path: format!("/var/lib/maison/datasets/{version_id}"),
            present_bytes: present,
            total_bytes: 7_400_000_000,
            rate: 0,
            sources: vec![],
            error: None,
            last_mounted: None,
            mounted_count: 0,
            pinned: false,
            last_verified_at: None,
            verify_bad_count: None,
            created_at: NOW - 86_400,
            updated_at: NOW,
        }
    }

    fn transfer(state: TransferState, present: u64, rate: u64) -> Transfer {
        Transfer {
            id: 7,
            version_id: 2,
            host: "gpu05".into(),
            requested_by: "U0ALICE".into(),
            booking_id: None,
            sources: vec!["gpu03".into(), "gpu01".into()],
            state,
            total_bytes: 7_400_000_000,
            present_bytes: present,
            rate,
            started_at: NOW - 180,
            finished_at: (state != TransferState::Running).then_some(NOW),
            error: (state == TransferState::Failed).then(|| "no source answers".to_owned()),
        }
    }

    fn sample() -> Catalog {
        let mut imagenet_v1 = version(1, "imagenet", "v1", true);
        imagenet_v1.note = Some("ILSVRC 2012".into());
        let mut registered = replica(2, "gpu03", ReplicaState::Complete, 7_400_000_000);
        registered.origin = ReplicaOrigin::InPlace;
        registered.path = "/srv/datasets/imagenet".into();
        registered.verify_bad_count = Some(0);
        let mut mounted = replica(2, "gpu01", ReplicaState::Complete, 7_400_000_000);
        mounted.mounted_count = 2;
        mounted.pinned = true;
        let mut copying = replica(2, "gpu05", ReplicaState::Fetching, 5_920_000_000);
        copying.rate = 41_000_000;
        let mut running = transfer(TransferState::Running, 5_920_000_000, 41_000_000);
        running.sources = vec!["gpu03".into()];
        Catalog {
            versions: vec![
                imagenet_v1,
                version(2, "imagenet", "v2", true),
                version(3, "coco", "2017", false),
            ],
            replicas: vec![
                replica(1, "gpu03", ReplicaState::Complete, 7_400_000_000),
                registered,
                mounted,
                copying,
            ],
            transfers: vec![running],
        }
    }

    #[test]
    fn ls_lists_versions_newest_first_with_their_copies() {
        insta::assert_snapshot!(catalog(&sample(), Lang::En).to_terminal());
        assert!(
            catalog(&Catalog::default(), Lang::En)
                .text
                .contains("No dataset is registered yet")
        );
    }

    #[test]
    fn where_shows_complete_and_partial_copies() {
        let catalog = sample();
        insta::assert_snapshot!(
            where_is(&catalog, &catalog.versions[1], NOW, TZ, Lang::En).to_terminal()
        );
    }

    #[test]
    fn progress_message_while_running_and_at_the_end() {
        let running = progress_message(
            "imagenet@v2",
            &transfer(TransferState::Running, 5_920_000_000, 41_000_000),
            NOW,
            Lang::En,
        );
        assert_eq!(
            running.text,
            ":truck: Copying `imagenet@v2` to `gpu05` from `gpu03`, `gpu01`: 5.9 GB of 7.4 GB, 80 %, about 37 s left · 41 MB/s"
        );
        let done = progress_message(
            "imagenet@v2",
            &transfer(TransferState::Complete, 7_400_000_000, 0),
            NOW,
            Lang::En,
        );
        assert_eq!(
            done.text,
            ":white_check_mark: `imagenet@v2` ready on `gpu05` (7.4 GB in 3 min, 41 MB/s)"
        );
        let failed = progress_message(
            "imagenet@v2",
            &transfer(TransferState::Failed, 3_700_000_000, 0),
            NOW,
            Lang::En,
        );
        insta::assert_snapshot!(failed.text);
    }

    #[test]
    fn unknown_datasets_and_versions_get_suggestions() {
        let catalog = sample();
        let wanted = |name: &str, version: Option<&str>| maison_command::DatasetRef {
            name: name.into(),
            version: version.map(Into::into),
        };
        let typo = unresolved(
            &catalog.resolve(&wanted("imagnet", None)).unwrap_err(),
            Lang::En,
        );
        assert_eq!(
            typo.text,
            ":grey_question: There is no dataset called `imagnet`. Did you mean `imagenet`? Datasets: `coco`, `imagenet`."
        );
        let version = unresolved(
            &catalog
                .resolve(&wanted("imagenet", Some("v3")))
                .unwrap_err(),
            Lang::En,
        );
        assert_eq!(
            version.text,
            ":grey_question: `imagenet` has no version `v3`. Its versions: `imagenet@v1`, `imagenet@v2`."
        );
    }

    #[test]
    fn launch_refusals_say_how_far_the_copy_is() {
        let catalog = sample();
        let v2 = &catalog.versions[1];
        let copying = not_ready_for_launch(
            v2,
            "gpu05",
            catalog.replica(2, "gpu05"),
            catalog.running_transfer(2, "gpu05"),
            Lang::En,
        );
        insta::assert_snapshot!(copying.text);
        let nothing = not_ready_for_launch(v2, "gpu02", None, None, Lang::En);
        assert!(
            nothing
                .text
                .contains("`/maison data get imagenet@v2 gpu02`"),
            "{}",
            nothing.text
        );
    }

    #[test]
    fn direct_messages() {
        let v2 = version(2, "imagenet", "v2", true);
        insta::assert_snapshot!(scanned_dm(&v2, Lang::En).text);
        insta::assert_snapshot!(
            verified_dm(
                &v2,
                "gpu05",
                1000,
                2,
                &["train/a.jpg".into(), "train/b.jpg".into()],
                Lang::En
            )
            .text
        );
    }

    /// The dataset messages people get unasked (DMs, the progress message) and those around a
    /// launch or a copy, in both languages, as one reviewed page each.
    #[test]
    fn dataset_messages_in_both_languages() {
        let sample = sample();
        let wanted = |name: &str, version: Option<&str>| maison_command::DatasetRef {
            name: name.into(),
            version: version.map(Into::into),
        };
        let api_error = |rule: Option<&str>| ClientError::Api {
            status: 409,
            error: maison_agent_api::ApiError {
                code: ErrorCode::Conflict,
                message: "the agent's own words".into(),
                rule: rule.map(Into::into),
            },
        };
        let v2 = &sample.versions[1];
        let mut stopped = replica(2, "gpu02", ReplicaState::Failed, 3_700_000_000);
        stopped.error = Some("no source answers".into());
        let partial = replica(2, "gpu04", ReplicaState::Fetching, 3_700_000_000);
        for lang in Lang::ALL {
            let page = [
                registering("imagenet", "v2", "gpu03", "/srv/datasets/imagenet", lang).text,
                copying(
                    v2,
                    "gpu05",
                    &["gpu03".into(), "gpu01".into()],
                    &["coco@2017".into()],
                    lang,
                )
                .text,
                not_staged("no host has room", lang),
                progress_message(
                    "imagenet@v2",
                    &transfer(TransferState::Running, 5_920_000_000, 41_000_000),
                    NOW,
                    lang,
                )
                .text,
                progress_message(
                    "imagenet@v2",
                    &transfer(TransferState::Complete, 7_400_000_000, 0),
                    NOW,
                    lang,
                )
                .text,
                progress_message(
                    "imagenet@v2",
                    &transfer(TransferState::Failed, 3_700_000_000, 0),
                    NOW,
                    lang,
                )
                .text,
                not_ready_for_launch(
                    v2,
                    "gpu05",
                    sample.replica(2, "gpu05"),
                    sample.running_transfer(2, "gpu05"),
                    lang,
                )
                .text,
                not_ready_for_launch(v2, "gpu02", Some(&stopped), None, lang).text,
                not_ready_for_launch(v2, "gpu04", Some(&partial), None, lang).text,
                not_ready_for_launch(v2, "gpu02", None, None, lang).text,
                mounted_line(
                    &[
                        ("imagenet@v2".into(), "imagenet".into()),
                        ("coco@2017".into(), "coco".into()),
                    ],
                    lang,
                ),
                scanned_dm(v2, lang).text,
                scan_failed_dm(v2, "permission denied", lang).text,
                verified_dm(v2, "gpu05", 1000, 0, &[], lang).text,
                verified_dm(v2, "gpu05", 1000, 1, &["train/a.jpg".into()], lang).text,
                duration_text_in(4_800, lang),
                duration_text_in(183_600, lang),
                catalog(&sample, lang).to_terminal(),
                catalog(&Catalog::default(), lang).text,
                where_is(&sample, v2, NOW, TZ, lang).to_terminal(),
                where_is(&sample, &sample.versions[2], NOW, TZ, lang).to_terminal(),
                unresolved(&sample.resolve(&wanted("imagnet", None)).unwrap_err(), lang).text,
                unresolved(
                    &Catalog::default()
                        .resolve(&wanted("imagnet", None))
                        .unwrap_err(),
                    lang,
                )
                .text,
                unresolved(
                    &sample.resolve(&wanted("imagenet", Some("v3"))).unwrap_err(),
                    lang,
                )
                .text,
                already_registered("imagenet", "v2", lang).text,
                not_dataset_owner("imagenet", "U0ADMIN", OwnersOnly::AddVersions, lang).text,
                not_dataset_owner("imagenet", "U0ADMIN", OwnersOnly::Remove, lang).text,
                not_dataset_owner("imagenet", "U0ADMIN", OwnersOnly::Pin, lang).text,
                not_dataset_owner("imagenet", "U0ADMIN", OwnersOnly::Unpin, lang).text,
                outside_work_root("/etc/data", Some("/work/alice"), lang).text,
                outside_work_root("/etc/data", None, lang).text,
                still_scanning(v2, lang).text,
                already_there(v2, "gpu01", lang).text,
                already_copying(
                    v2,
                    &transfer(TransferState::Running, 5_920_000_000, 41_000_000),
                    lang,
                )
                .text,
                no_source(v2, "gpu05", &[], lang).text,
                no_source(v2, "gpu05", &["gpu03"], lang).text,
                no_copy_on(v2, "gpu02", &sample, lang).text,
                no_copy_on(v2, "gpu02", &Catalog::default(), lang).text,
                last_copy(v2, "gpu03", lang).text,
                copy_mounted(v2, "gpu01", 2, lang).text,
                copy_removed(v2, "gpu05", ReplicaOrigin::Copied, false, lang).text,
                copy_removed(v2, "gpu05", ReplicaOrigin::Copied, true, lang).text,
                copy_removed(v2, "gpu03", ReplicaOrigin::InPlace, true, lang).text,
                no_such_copy_button("x", lang).text,
                pinned(v2, "gpu01", true, lang).text,
                pinned(v2, "gpu01", false, lang).text,
                not_complete_to_verify(v2, "gpu05", lang).text,
                verifying(v2, "gpu01", lang).text,
                no_room(v2, "gpu05", 7_400_000_000, 2_000_000_000, lang).text,
                agent_refused("gpu05", "imagenet@v2", &api_error(Some("no-space")), lang).text,
                agent_refused(
                    "gpu05",
                    "imagenet@v2",
                    &api_error(Some("dataset-in-use")),
                    lang,
                )
                .text,
                agent_refused(
                    "gpu05",
                    "imagenet@v2",
                    &api_error(Some("outside-roots")),
                    lang,
                )
                .text,
                agent_refused("gpu05", "imagenet@v2", &api_error(None), lang).text,
            ]
            .join("\n---\n");
            insta::assert_snapshot!(format!("dataset_messages_{lang}"), page);
        }
    }
}
