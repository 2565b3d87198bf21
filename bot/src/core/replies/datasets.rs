//! Replies and messages of the dataset registry (`data …`, `launch --data`, `book --data`).

use chrono_tz::Tz;
use maison_agent_api::datasets::{MOUNT_PARENT, ReplicaOrigin, ReplicaState};
use maison_agent_api::{ClientError, ErrorCode};

use super::fleet::thousands;
use super::{listed, when};
use crate::core::datasets::{
    Catalog, DatasetEvent, DatasetVersion, Replica, Transfer, TransferState, Unresolved,
    duration_text_in, rate_text,
};
use crate::core::message::{OutgoingMessage, Recipient};
use crate::core::render::{Block, Reply, Visibility, mention};
use crate::core::units::size_text;
use crate::tr;
use maison_command::Lang;

fn copy_count(n: usize) -> String {
    match n {
        0 => "no complete copy".to_owned(),
        1 => "1 copy".to_owned(),
        n => format!("{n} copies"),
    }
}

fn quoted_hosts(hosts: &[&str]) -> String {
    hosts
        .iter()
        .map(|h| format!("`{h}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

pub fn already_registered(name: &str, version: &str) -> Reply {
    Reply::ephemeral(format!(
        ":no_entry_sign: `{name}@{version}` is already registered, and a version never changes. \
         Register the new files under a new version, like `{name}@v2`; `/maison data where \
         {name}@{version}` shows where this one is."
    ))
}

pub fn not_dataset_owner(name: &str, owner: &str, what: &str) -> Reply {
    Reply::ephemeral(format!(
        ":lock: `{name}` belongs to {}: only its owner or an admin can {what}.",
        mention(owner)
    ))
}

/// A member registering something outside their work root.
pub fn outside_work_root(path: &str, work: Option<&str>) -> Reply {
    Reply::ephemeral(match work {
        Some(work) => format!(
            ":lock: `{path}` is not under your work directory `{work}`. You can register \
             directories you own there; an admin registers anything else (under the datasets \
             root)."
        ),
        None => ":lock: You have no work directory in Maison's user mapping, so you can't \
                 register datasets yourself. Ask an admin to register it, or to add `work = \
                 \"…\"` to your `[[users]]` entry."
            .to_owned(),
    })
}

pub fn unresolved(unresolved: &Unresolved) -> Reply {
    Reply::ephemeral(match unresolved {
        Unresolved::NoSuchDataset {
            name,
            suggestion,
            known,
        } => {
            let hint = suggestion
                .as_ref()
                .map(|s| format!(" Did you mean `{s}`?"))
                .unwrap_or_default();
            let listing = if known.is_empty() {
                "No dataset is registered yet: `/maison data add <name>@<version> \
                 <host>:<path>` registers one."
                    .to_owned()
            } else {
                let names: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                format!("Datasets: {}.", names.join(", "))
            };
            format!(":grey_question: There is no dataset called `{name}`.{hint} {listing}")
        }
        Unresolved::NoSuchVersion {
            name,
            version,
            versions,
        } => {
            let list: Vec<String> = versions.iter().map(|v| format!("`{name}@{v}`")).collect();
            format!(
                ":grey_question: `{name}` has no version `{version}`. Its versions: {}.",
                list.join(", ")
            )
        }
    })
}

/// `data ls`: each dataset with its versions, size and copies.
pub fn catalog(catalog: &Catalog) -> Reply {
    let names = catalog.dataset_names();
    if names.is_empty() {
        return Reply::ephemeral(
            "No dataset is registered yet. `/maison data add imagenet@v1 \
             gpu03:/srv/datasets/imagenet` registers a directory that is already on a host.",
        );
    }
    let mut blocks = vec![Block::Header("Datasets".to_owned())];
    for name in &names {
        let versions = catalog.versions_of(name);
        let owner = versions
            .first()
            .map(|v| v.owner.as_str())
            .unwrap_or_default();
        let mut lines = vec![format!("*{name}* · owner {}", mention(owner))];
        for v in versions.iter().rev() {
            lines.push(version_line(catalog, v));
        }
        blocks.push(Block::Section(lines.join("\n")));
    }
    blocks.push(Block::Context(
        "`/maison data where <dataset>` lists its hosts · `/maison data get <dataset> <host>` \
         copies it · `launch … --data <dataset>` mounts it read-only"
            .to_owned(),
    ));
    Reply::with_blocks(
        Visibility::Ephemeral,
        format!("{} dataset(s) registered", names.len()),
        blocks,
    )
}

fn version_line(catalog: &Catalog, v: &DatasetVersion) -> String {
    let note = v
        .note
        .as_ref()
        .map(|n| format!(" — “{n}”"))
        .unwrap_or_default();
    if !v.is_ready() {
        return format!(
            "• `{}` scanning on `{}`{note}",
            v.version, v.registered_host
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
        format!(", {copying} being copied")
    } else {
        String::new()
    };
    format!(
        "• `{}` {} in {} files · {} ({}){copying}{note}",
        v.version,
        size_text(v.total_bytes),
        thousands(v.total_files),
        copy_count(complete.len()),
        quoted_hosts(&complete)
    )
}

/// `data where`: complete copies, copies on their way, and a scan still running.
pub fn where_is(catalog: &Catalog, version: &DatasetVersion, now: i64, tz: Tz) -> Reply {
    let label = version.label();
    let mut lines = vec![format!(
        "*{label}* · {} in {} files · registered from `{}:{}`",
        size_text(version.total_bytes),
        thousands(version.total_files),
        version.registered_host,
        version.registered_path
    )];
    let replicas = catalog.replicas_of(version.id);
    if !version.is_ready() {
        lines[0] = format!(
            "*{label}* · registered from `{}:{}`",
            version.registered_host, version.registered_path
        );
    }
    let complete: Vec<&&Replica> = replicas.iter().filter(|r| r.is_complete()).collect();
    if complete.is_empty() {
        lines.push("No complete copy yet.".to_owned());
    } else {
        lines.push("*Complete on*".to_owned());
        for r in complete {
            lines.push(format!("• {}", complete_line(r, now, tz)));
        }
    }
    let partial: Vec<&&Replica> = replicas.iter().filter(|r| !r.is_complete()).collect();
    if !partial.is_empty() {
        lines.push("*In progress*".to_owned());
        for r in partial {
            let transfer = catalog.running_transfer(version.id, &r.host);
            lines.push(format!("• {}", partial_line(r, transfer)));
        }
    }
    Reply::with_blocks(
        Visibility::Ephemeral,
        format!("Where {label} is"),
        vec![
            Block::Section(lines.join("\n")),
            Block::Context(format!(
                "`/maison data get {label} <host>` copies it · `launch <host> <image> --data \
                 {label}` mounts it read-only at `{MOUNT_PARENT}/{}`",
                version.dataset
            )),
        ],
    )
}

fn complete_line(r: &Replica, now: i64, tz: Tz) -> String {
    let mut notes = Vec::new();
    if r.origin == ReplicaOrigin::InPlace {
        notes.push(format!("registered at `{}`", r.path));
    }
    if r.state == ReplicaState::Verifying {
        notes.push("verifying now".to_owned());
    }
    if r.mounted_count > 0 {
        notes.push(format!("mounted by {} container(s)", r.mounted_count));
    } else if let Some(at) = r.last_mounted {
        notes.push(format!("last mounted {}", when(at, now, tz)));
    }
    if r.pinned {
        notes.push(":pushpin: pinned".to_owned());
    }
    match r.verify_bad_count {
        Some(0) => notes.push("verified".to_owned()),
        Some(bad) => notes.push(format!(
            ":warning: {bad} bad file(s) at the last verification"
        )),
        None => {}
    }
    if notes.is_empty() {
        format!("`{}`", r.host)
    } else {
        format!("`{}` ({})", r.host, notes.join(", "))
    }
}

fn partial_line(r: &Replica, transfer: Option<&Transfer>) -> String {
    match r.state {
        ReplicaState::Scanning => format!("`{}` scanning: {}", r.host, r.progress().text()),
        ReplicaState::Failed => format!(
            "`{}` failed at {} %: {}",
            r.host,
            r.progress().percent(),
            r.error.as_deref().unwrap_or("unknown error")
        ),
        _ => {
            let sources = transfer.map_or(&r.sources, |t| &t.sources);
            let from = if sources.is_empty() {
                String::new()
            } else {
                let hosts: Vec<&str> = sources.iter().map(String::as_str).collect();
                format!(" from {}", quoted_hosts(&hosts))
            };
            format!("`{}` copying{from}: {}", r.host, r.progress().text())
        }
    }
}

pub fn still_scanning(version: &DatasetVersion) -> Reply {
    Reply::ephemeral(format!(
        ":hourglass_flowing_sand: `{}` is still being scanned on `{}`; it can be copied and \
         mounted once the scan is done (its owner gets a DM).",
        version.label(),
        version.registered_host
    ))
}

pub fn already_there(version: &DatasetVersion, host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":white_check_mark: `{host}` already has a complete copy of `{}`: `launch {host} <image> \
         --data {}` mounts it.",
        version.label(),
        version.label()
    ))
}

pub fn already_copying(version: &DatasetVersion, transfer: &Transfer) -> Reply {
    Reply::ephemeral(format!(
        ":hourglass_flowing_sand: `{}` is already being copied to `{}` for {}: {}.",
        version.label(),
        transfer.host,
        mention(&transfer.requested_by),
        transfer.progress().text()
    ))
}

/// No reachable host holds a complete copy to copy from.
pub fn no_source(version: &DatasetVersion, destination: &str, holders: &[&str]) -> Reply {
    let elsewhere: Vec<&str> = holders
        .iter()
        .copied()
        .filter(|h| *h != destination)
        .collect();
    Reply::ephemeral(if elsewhere.is_empty() {
        format!(
            ":no_entry_sign: No host has a complete copy of `{}` to copy from.",
            version.label()
        )
    } else {
        format!(
            ":electric_plug: `{}` is complete only on {}, whose agent is not answering now. \
             Try again when it is back (`/maison hosts` shows the agents).",
            version.label(),
            quoted_hosts(&elsewhere)
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
pub fn no_copy_on(version: &DatasetVersion, host: &str, catalog: &Catalog) -> Reply {
    let holders: Vec<&str> = catalog
        .replicas_of(version.id)
        .iter()
        .map(|r| r.host.as_str())
        .collect();
    let listing = if holders.is_empty() {
        "It has no copy anywhere yet.".to_owned()
    } else {
        format!("Its copies are on {}.", quoted_hosts(&holders))
    };
    Reply::ephemeral(format!(
        ":grey_question: `{host}` has no copy of `{}`. {listing}",
        version.label()
    ))
}

pub fn last_copy(version: &DatasetVersion, host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":no_entry_sign: `{host}` holds the last complete copy of `{}`, so I won't remove it. \
         Copy it elsewhere first (`/maison data get {} <host>`).",
        version.label(),
        version.label()
    ))
}

pub fn copy_mounted(version: &DatasetVersion, host: &str, containers: u32) -> Reply {
    Reply::ephemeral(format!(
        ":no_entry_sign: The copy of `{}` on `{host}` is mounted by {containers} container(s); \
         remove them first (`/maison ps {host} --all`).",
        version.label()
    ))
}

pub fn copy_removed(
    version: &DatasetVersion,
    host: &str,
    origin: ReplicaOrigin,
    complete: bool,
) -> Reply {
    Reply::ephemeral(match origin {
        ReplicaOrigin::Copied if !complete => format!(
            ":wastebasket: Stopped copying `{}` to `{host}`; what had arrived is deleted.",
            version.label()
        ),
        ReplicaOrigin::Copied => format!(
            ":wastebasket: Removed the copy of `{}` from `{host}`.",
            version.label()
        ),
        ReplicaOrigin::InPlace => format!(
            ":wastebasket: Maison no longer tracks `{}` on `{host}`; the registered directory \
             itself is left as it was.",
            version.label()
        ),
    })
}

/// A Remove button whose value names no copy (an old message).
pub fn no_such_copy_button(value: &str) -> Reply {
    Reply::ephemeral(format!(
        ":grey_question: This button names no dataset copy (`{value}`); `/maison data ls` shows \
         what there is."
    ))
}

pub fn pinned(version: &DatasetVersion, host: &str, pinned: bool) -> Reply {
    Reply::ephemeral(if pinned {
        format!(
            ":pushpin: The copy of `{}` on `{host}` is pinned: it is never removed to make room.",
            version.label()
        )
    } else {
        format!(
            ":white_check_mark: The copy of `{}` on `{host}` is no longer pinned.",
            version.label()
        )
    })
}

pub fn not_complete_to_verify(version: &DatasetVersion, host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":hourglass_flowing_sand: The copy of `{}` on `{host}` is not complete yet; every chunk \
         is checked as it arrives, and a complete copy can be verified again.",
        version.label()
    ))
}

pub fn verifying(version: &DatasetVersion, host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":mag: Verifying the copy of `{}` on `{host}`: every file is hashed again. I'll DM you \
         the result.",
        version.label()
    ))
}

/// Even removing every removable copy would not make room.
pub fn no_room(version: &DatasetVersion, host: &str, needed: u64, available: u64) -> Reply {
    Reply::ephemeral(format!(
        ":no_entry_sign: `{host}` has no room for `{}`: it needs {} and {} is free above the \
         disk's safety margin, even after removing the copies that may go. Remove something \
         there (`/maison data where …`, `/maison data rm …`), or pick another host.",
        version.label(),
        size_text(needed),
        size_text(available)
    ))
}

/// An agent refused or failed a dataset request.
pub fn agent_refused(host: &str, label: &str, err: &ClientError) -> Reply {
    Reply::ephemeral(match err {
        ClientError::Api { error, .. } => match (error.code, error.rule.as_deref()) {
            (_, Some("no-space")) => format!(
                ":no_entry_sign: `{host}` has no room for `{label}`: {}",
                error.message
            ),
            (_, Some("dataset-in-use")) => format!(
                ":no_entry_sign: `{host}` keeps `{label}`: {}",
                error.message
            ),
            (_, Some(rule)) => format!(
                ":shield: The agent on `{host}` refused `{label}` (rule `{rule}`): {}",
                error.message
            ),
            (ErrorCode::Conflict, None) => {
                format!(
                    ":no_entry_sign: `{host}` says about `{label}`: {}",
                    error.message
                )
            }
            _ => format!(
                ":warning: The agent on `{host}` could not do it for `{label}`: {}",
                error.message
            ),
        },
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
        insta::assert_snapshot!(catalog(&sample()).to_terminal());
        assert!(
            catalog(&Catalog::default())
                .text
                .contains("No dataset is registered yet")
        );
    }

    #[test]
    fn where_shows_complete_and_partial_copies() {
        let catalog = sample();
        insta::assert_snapshot!(where_is(&catalog, &catalog.versions[1], NOW, TZ).to_terminal());
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
        let typo = unresolved(&catalog.resolve(&wanted("imagnet", None)).unwrap_err());
        assert_eq!(
            typo.text,
            ":grey_question: There is no dataset called `imagnet`. Did you mean `imagenet`? Datasets: `coco`, `imagenet`."
        );
        let version = unresolved(
            &catalog
                .resolve(&wanted("imagenet", Some("v3")))
                .unwrap_err(),
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
        let catalog = sample();
        let v2 = &catalog.versions[1];
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
                    catalog.replica(2, "gpu05"),
                    catalog.running_transfer(2, "gpu05"),
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
            ]
            .join("\n---\n");
            insta::assert_snapshot!(format!("dataset_messages_{lang}"), page);
        }
    }
}
