//! Replies of the fleet commands (launch, ps, stop, rm, who, claim, images, hosts).

use chrono_tz::Tz;
use maison_agent_api::{
    ClientError, ContainerState, ErrorCode, HostInfo, LaunchResponse, LaunchSpec, ResourceLimits,
};

use super::when;
use crate::config::CatalogImage;
use crate::core::actions;
use crate::core::booking::BookingView;
use crate::core::fleet::{
    ClaimKind, ClaimRequest, DecisionOutcome, Host, Located, LocatedImage, Owner, Removal, short_id,
};
use crate::core::gpus::gpus_text;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::units::size_text;

/// Long lists are cut here, with a count of what was left out (Slack caps a message at 50 blocks).
const MAX_LISTED: usize = 40;

fn owner_text(owner: &Option<Owner>) -> String {
    match owner {
        Some(o) if o.claimed => format!("{} (claimed)", mention(&o.slack_user)),
        Some(o) => mention(&o.slack_user),
        None => "_unowned_".to_owned(),
    }
}

pub fn host_drained(host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":construction: `{host}` is drained for maintenance: no new launches. Ask an admin, or use another host."
    ))
}

pub fn no_agent(host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":electric_plug: `{host}` has no Maison agent configured (`agent_url` in the bot's config), so containers there cannot be managed from Slack yet."
    ))
}

pub fn gpu_not_booked(gpu: u32, booking: &BookingView) -> Reply {
    Reply::ephemeral(format!(
        ":no_entry_sign: GPU {gpu} is not in your booking #{} on `{}` ({}). Launch on the GPUs you booked, or `/maison book {}:{gpu} 2h` first.",
        booking.id,
        booking.host,
        gpus_text(&booking.gpus),
        booking.host
    ))
}

pub fn booking_required(host: &str) -> Reply {
    let text = format!(
        ":ticket: You have no running booking on `{host}`, and launching needs one so GPUs are never shared by surprise. Book first, then launch again."
    );
    Reply::with_blocks(
        Visibility::Ephemeral,
        text.clone(),
        vec![
            Block::Section(text),
            Block::Actions(vec![
                Button::new(
                    format!("Book {host} now (1 GPU, 2h)"),
                    actions::BOOK_NOW,
                    host,
                )
                .styled(ButtonStyle::Primary),
            ]),
        ],
    )
}

/// Containers run as the caller's mapped Unix account, never as root or the image's user, so
/// without a mapping there is nothing to launch as: say exactly what an admin must add.
pub fn no_unix_mapping(slack_user: &str) -> Reply {
    Reply::ephemeral(format!(
        ":bust_in_silhouette: You have no Unix account mapping, so Maison cannot launch containers for you (they never run as root or as the image's user). Ask an admin to add to `maison.toml`:\n```[[users]]\nslack_user = \"{slack_user}\"\nunix_user = \"…\"\nuid = …\ngid = …```"
    ))
}

pub fn no_booking_warning(host: &str) -> String {
    format!(
        ":warning: You have no booking on `{host}`: the container runs without GPUs. `/maison book {host} 2h` to get some."
    )
}

pub fn launching(spec: &LaunchSpec, host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":hourglass_flowing_sand: Starting `{}` on `{host}` from `{}` with {}… I'll post here when it is up.",
        spec.name.as_deref().unwrap_or_default(),
        spec.image,
        gpus_text(&spec.gpus)
    ))
}

/// `datasets`: `(label, name)` of each dataset mounted read-only.
pub fn launched(
    host: &str,
    response: &LaunchResponse,
    warning: Option<&str>,
    datasets: &[(String, String)],
) -> Reply {
    let c = &response.container;
    let headline = if response.created {
        format!(
            ":rocket: `{}` is running on `{host}` ({}, {}).",
            c.name,
            c.image,
            gpus_text(&c.gpus)
        )
    } else {
        format!(
            ":recycle: `{}` already exists on `{host}` from the same request: nothing new was started.",
            c.name
        )
    };
    let mut blocks = vec![
        Block::Section(headline.clone()),
        Block::Section(format!(
            "Enter it: `ssh {host}` then `maison enter {}` (no Docker group needed).",
            c.name
        )),
    ];
    if !datasets.is_empty() {
        blocks.push(Block::Section(super::datasets::mounted_line(datasets)));
    }
    if let Some(warning) = warning {
        blocks.push(Block::Section(warning.to_owned()));
        blocks.push(Block::Actions(vec![
            Button::new(
                format!("Book {host} now (1 GPU, 2h)"),
                actions::BOOK_NOW,
                host,
            )
            .styled(ButtonStyle::Primary),
        ]));
    }
    blocks.push(Block::Context(format!(
        "`/maison ps` lists your containers · `/maison stop {}` · `/maison rm {}`",
        c.name, c.name
    )));
    Reply::with_blocks(Visibility::Ephemeral, headline, blocks)
}

/// An agent call that got no usable answer. Whether the request can have been carried out
/// decides what the user is told: never "nothing was changed" when only the answer was lost.
/// `uncertain` ends "…so I cannot tell whether …": what may have happened and how to check.
pub(crate) fn no_answer(host: &str, err: &ClientError, uncertain: &str) -> String {
    match err {
        // No connection was made: the request never left.
        ClientError::Transport(e) if e.is_connect() => format!(
            ":electric_plug: The agent on `{host}` could not be reached ({err}). Nothing was changed; try again in a minute."
        ),
        ClientError::Config(_) => format!(
            ":electric_plug: The agent on `{host}` could not be called ({err}). Nothing was changed."
        ),
        // The request may have arrived and been carried out, with only the answer lost.
        _ => format!(
            ":electric_plug: The agent on `{host}` did not answer ({err}), so I cannot tell whether {uncertain}."
        ),
    }
}

/// What the agent said when it refused or failed, in words a user can act on.
pub fn agent_refused(host: &str, name: &str, err: &ClientError) -> Reply {
    let text = match err {
        ClientError::Api { error, .. } => match (error.code, error.rule.as_deref()) {
            (ErrorCode::PolicyRefused, Some(rule)) => format!(
                ":shield: The agent on `{host}` refused `{name}` (rule `{rule}`): {}",
                error.message
            ),
            (ErrorCode::Conflict, Some("container-running")) => format!(
                ":warning: `{name}` on `{host}` is still running: `/maison stop {name}` first."
            ),
            (ErrorCode::NotFound, _) => format!(":grey_question: `{host}` says: {}", error.message),
            _ => format!(
                ":warning: The agent on `{host}` could not do it: {}",
                error.message
            ),
        },
        ClientError::Transport(_) | ClientError::Config(_) | ClientError::Decode { .. } => {
            no_answer(
                host,
                err,
                &format!(
                    "`{name}` was changed. `/maison ps` shows how things stand; asking again is \
                     safe (the same request never starts a second container)"
                ),
            )
        }
    };
    Reply::ephemeral(text)
}

pub fn ps(
    containers: &[&Located],
    all: bool,
    unreachable: &[(String, String)],
    now: i64,
    tz: Tz,
) -> Reply {
    let title = if all {
        "All containers"
    } else {
        "Your containers"
    };
    let mut blocks = vec![Block::Header(title.to_owned())];
    if containers.is_empty() {
        blocks.push(Block::Section(if all {
            "No containers on the reachable hosts.".to_owned()
        } else {
            "You have no containers. `/maison launch <host> <image>` starts one; `/maison ps --all` shows everyone's.".to_owned()
        }));
    }
    let mut lines = Vec::new();
    for c in containers.iter().take(MAX_LISTED) {
        let state = match c.container.state {
            ContainerState::Running => ":large_green_circle:",
            ContainerState::Exited | ContainerState::Dead => ":black_circle:",
            _ => ":white_circle:",
        };
        let owner = if all {
            format!(" · {}", owner_text(&c.owner))
        } else {
            String::new()
        };
        lines.push(format!(
            "{state} `{}` on `{}` · {} · {} · {}{owner}",
            c.container.name,
            c.host,
            c.container.image,
            gpus_text(&c.container.gpus),
            c.container.status
        ));
    }
    if containers.len() > MAX_LISTED {
        lines.push(format!("… and {} more", containers.len() - MAX_LISTED));
    }
    if !lines.is_empty() {
        blocks.push(Block::Section(lines.join("\n")));
    }
    if !unreachable.is_empty() {
        let names: Vec<String> = unreachable.iter().map(|(h, _)| format!("`{h}`")).collect();
        blocks.push(Block::Context(format!(
            ":electric_plug: Not answering, so not listed: {}.",
            names.join(", ")
        )));
    }
    blocks.push(Block::Context(format!("As of {}.", when(now, now, tz))));
    Reply::with_blocks(
        Visibility::Ephemeral,
        format!("{} container(s)", containers.len()),
        blocks,
    )
}

pub fn no_such_container(target: &str, all: &[Located], unreachable: &[(String, String)]) -> Reply {
    let mut nearest: Vec<(usize, &str)> = all
        .iter()
        .map(|c| {
            (
                strsim::levenshtein(target, &c.container.name),
                c.container.name.as_str(),
            )
        })
        .collect();
    nearest.sort();
    let hint = nearest
        .first()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, n)| format!(" Did you mean `{n}`?"))
        .unwrap_or_default();
    let down = if unreachable.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = unreachable.iter().map(|(h, _)| format!("`{h}`")).collect();
        format!(" ({} did not answer.)", names.join(", "))
    };
    Reply::ephemeral(format!(
        ":grey_question: No container called `{target}` on any host.{hint} `/maison ps --all` lists them.{down}"
    ))
}

pub fn nothing_called(target: &str, unreachable: &[(String, String)]) -> Reply {
    let down = if unreachable.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = unreachable.iter().map(|(h, _)| format!("`{h}`")).collect();
        format!(" ({} did not answer.)", names.join(", "))
    };
    Reply::ephemeral(format!(
        ":grey_question: No container or image called `{target}` on any host. Use a container name, an id (at least 4 characters) or an image tag.{down}"
    ))
}

pub fn ambiguous(target: &str, found: &[&Located]) -> Reply {
    let lines: Vec<String> = found
        .iter()
        .take(MAX_LISTED)
        .map(|c| {
            format!(
                "• `{}` on `{}` (id `{}`)",
                c.container.name,
                c.host,
                short_id(&c.container.id)
            )
        })
        .collect();
    Reply::ephemeral(format!(
        ":grey_question: `{target}` matches several containers; use a longer id:\n{}",
        lines.join("\n")
    ))
}

pub fn ambiguous_images(target: &str, found: &[&LocatedImage]) -> Reply {
    let lines: Vec<String> = found
        .iter()
        .take(MAX_LISTED)
        .map(|i| format!("• `{}` on `{}`", short_id(&i.image.id), i.host))
        .collect();
    Reply::ephemeral(format!(
        ":grey_question: `{target}` matches images on several hosts; use the id:\n{}",
        lines.join("\n")
    ))
}

pub fn not_your_container(found: &Located, owner: &Owner) -> Reply {
    Reply::ephemeral(format!(
        ":lock: `{}` on `{}` belongs to {}. Only its owner or an admin can stop or remove it — ask them in a thread.",
        found.container.name,
        found.host,
        mention(&owner.slack_user)
    ))
}

pub fn unowned_container(found: &Located) -> Reply {
    Reply::ephemeral(format!(
        ":grey_question: `{}` on `{}` has no owner (made outside Maison). If it is yours, `/maison claim {}` first.",
        found.container.name, found.host, found.container.name
    ))
}

pub fn removed(found: &Located, removal: Removal) -> Reply {
    Reply::ephemeral(match removal {
        Removal::Stop => format!(
            ":stop_sign: Stopped `{}` on `{}`. `/maison rm {}` removes it.",
            found.container.name, found.host, found.container.name
        ),
        Removal::Remove => format!(
            ":wastebasket: Removed `{}` from `{}`.",
            found.container.name, found.host
        ),
    })
}

pub fn who_container(c: &Located, last_gpu: Option<i64>, now: i64, tz: Tz) -> Reply {
    let labels = c.container.maison.as_ref();
    let how = match labels {
        Some(_) => "launched with Maison",
        None => "made outside Maison",
    };
    let created = labels
        .and_then(|l| l.created_at)
        .unwrap_or(c.container.created)
        .timestamp();
    let source = match labels.and_then(|l| l.image_source) {
        Some(maison_agent_api::ImageSource::Catalog) => "catalogue image",
        Some(maison_agent_api::ImageSource::Custom) => "custom image",
        None => "image",
    };
    let booking = labels
        .and_then(|l| l.booking.clone())
        .map(|b| format!("booking #{b}"))
        .unwrap_or_else(|| "no booking".to_owned());
    let gpu = match last_gpu {
        Some(at) => format!("last used a GPU {}", when(at, now, tz)),
        None => "no GPU use recorded".to_owned(),
    };
    let text = format!(
        "*`{}`* on `{}` — {}\n• owner: {}\n• created {} ({how})\n• {source}: `{}`\n• {} · id `{}`\n• {booking} · {gpu}\n• {}",
        c.container.name,
        c.host,
        c.container.status,
        owner_text(&c.owner),
        when(created, now, tz),
        c.container.image,
        gpus_text(&c.container.gpus),
        short_id(&c.container.id),
        limits_text(c.container.limits.as_ref()),
    );
    Reply::ephemeral(text)
}

/// `Limits: 4,096 processes · 64 GiB memory · 8 CPUs · /dev/shm 16 GiB`.
pub fn limits_text(limits: Option<&ResourceLimits>) -> String {
    match limits {
        Some(l) => format!(
            "Limits: {} · {} memory · {} · /dev/shm {}",
            processes_text(l.pids),
            binary_size(l.memory_bytes),
            cpus_text(l.cpu_millis),
            binary_size(l.shm_bytes)
        ),
        None => "Limits: Docker defaults (made outside Maison)".to_owned(),
    }
}

pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Docker reads a pids limit of 0 or -1 as none.
fn processes_text(pids: i64) -> String {
    match u64::try_from(pids) {
        Ok(n) if n > 0 => format!("{} processes", thousands(n)),
        _ => "no process limit".to_owned(),
    }
}

/// Limits are set in binary units, so they are shown in them: 64 GiB, not 68.7 GB.
fn binary_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB")];
    for (size, unit) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if bytes.is_multiple_of(size) {
                format!("{value:.0} {unit}")
            } else {
                format!("{value:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

fn cpus_text(millis: u64) -> String {
    let cpus = if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{:.2}", millis as f64 / 1000.0)
            .trim_end_matches('0')
            .to_owned()
    };
    if millis == 1000 {
        "1 CPU".to_owned()
    } else {
        format!("{cpus} CPUs")
    }
}

pub fn who_images(found: &[&LocatedImage], now: i64, tz: Tz) -> Reply {
    let mut sections = Vec::new();
    for i in found.iter().take(10) {
        let name = i
            .image
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| format!("<none> {}", short_id(&i.image.id)));
        let users: Vec<String> = i
            .users
            .iter()
            .map(|c| format!("`{}` ({})", c.container.name, owner_text(&c.owner)))
            .collect();
        let used = if users.is_empty() {
            "unused".to_owned()
        } else {
            format!("used by {}", users.join(", "))
        };
        let history = super::images::provenance_line(&i.image.labels)
            .map(|line| format!("\n• {line}"))
            .unwrap_or_default();
        sections.push(format!(
            "*`{name}`* on `{}` — {}{}\n• owner: {}\n• created {} · id `{}`{history}\n• {used}",
            i.host,
            size_text(i.image.size_bytes),
            if i.image.dangling { " · dangling" } else { "" },
            owner_text(&i.owner),
            when(i.image.created.timestamp(), now, tz),
            short_id(&i.image.id),
        ));
    }
    Reply::ephemeral(sections.join("\n\n"))
}

pub fn already_owned(label: &str, owner: &Owner) -> Reply {
    Reply::ephemeral(format!(
        ":lock: `{label}` already belongs to {}{}. Only unowned things can be claimed.",
        mention(&owner.slack_user),
        if owner.claimed { " (claimed)" } else { "" }
    ))
}

pub fn claimed(kind: ClaimKind, label: &str, host: &str) -> Reply {
    Reply::ephemeral(format!(
        ":raising_hand: You now own the {} `{label}` on `{host}`. It shows as yours in `ps`, `who` and the reports; the claim is in the audit log.",
        kind.as_str()
    ))
}

pub fn claimed_by_uid(label: &str, host: &str, uid: u32) -> Reply {
    Reply::ephemeral(format!(
        ":raising_hand: You now own the container `{label}` on `{host}`: it was claimed because its processes run as your uid {uid}. It shows as yours in `ps`, `who` and the reports; the claim is in the audit log."
    ))
}

pub fn claim_needs_admins(label: &str, reason: &str) -> Reply {
    Reply::ephemeral(format!(
        ":lock: `{label}` cannot be claimed directly: {reason}. An admin would have to approve it, but none is configured (`bookings.admins`)."
    ))
}

fn request_subject(r: &ClaimRequest) -> String {
    format!("the {} `{}` on `{}`", r.kind, r.label, r.host)
}

pub fn claim_requested(r: &ClaimRequest) -> Reply {
    Reply::ephemeral(format!(
        ":hourglass_flowing_sand: Asked the admins to approve your claim on {} (request #{}): it could not be claimed directly because {}. You will get a DM when one of them decides.",
        request_subject(r),
        r.id,
        r.reason
    ))
}

pub fn claim_already_requested(r: &ClaimRequest) -> Reply {
    Reply::ephemeral(format!(
        ":hourglass_flowing_sand: You already asked for {} (request #{}); it is waiting for an admin. You will get a DM when one of them decides.",
        request_subject(r),
        r.id
    ))
}

/// The DM every admin gets about a pending claim request, with its two buttons.
pub fn claim_request_for_admins(r: &ClaimRequest) -> Reply {
    let text = format!(
        ":raising_hand: {} asks to own {} (made outside Maison, id `{}`). It could not be claimed directly because {}.",
        mention(&r.requester),
        request_subject(r),
        short_id(&r.object_id),
        r.reason
    );
    let id = r.id.to_string();
    Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![
            Block::Section(text),
            Block::Actions(vec![
                Button::new("Approve", actions::CLAIM_APPROVE, id.clone())
                    .styled(ButtonStyle::Primary),
                Button::new("Deny", actions::CLAIM_DENY, id).styled(ButtonStyle::Danger),
            ]),
            Block::Context(format!(
                "Approving makes {} its owner: they can then stop and remove it. Claim request #{}; every decision is audited.",
                mention(&r.requester),
                r.id
            )),
        ],
    )
}

/// The requester's DM about an admin's decision: `(requester, message)`, or nothing when the
/// click changed nothing.
pub fn claim_decision_for_requester(outcome: &DecisionOutcome) -> Option<(String, Reply)> {
    let (r, text) = match outcome {
        DecisionOutcome::Approved(r) => (
            r,
            format!(
                ":white_check_mark: {} approved your claim: you now own {}. It shows as yours in `ps`, `who` and the reports.",
                mention(r.decided_by.as_deref().unwrap_or_default()),
                request_subject(r)
            ),
        ),
        DecisionOutcome::Denied(r) => (
            r,
            format!(
                ":no_entry: {} denied your claim on {} (request #{}). Ask them if you think it is yours.",
                mention(r.decided_by.as_deref().unwrap_or_default()),
                request_subject(r),
                r.id
            ),
        ),
        DecisionOutcome::Superseded(r, holder) => (
            r,
            format!(
                ":lock: Your claim on {} (request #{}) cannot take effect: it already belongs to {}.",
                request_subject(r),
                r.id,
                mention(&holder.owner)
            ),
        ),
        DecisionOutcome::AlreadyDecided(_) | DecisionOutcome::NoSuchRequest => return None,
    };
    let dm = Reply::with_blocks(
        Visibility::InChannel,
        text.clone(),
        vec![Block::Section(text)],
    );
    Some((r.requester.clone(), dm))
}

/// What the admin who pressed Approve or Deny sees in place of the request.
pub fn claim_decided(id: i64, outcome: &DecisionOutcome, now: i64, tz: Tz) -> Reply {
    Reply::ephemeral(match outcome {
        DecisionOutcome::Approved(r) => format!(
            ":white_check_mark: Approved request #{id}: {} now owns {}. They have been told.",
            mention(&r.requester),
            request_subject(r)
        ),
        DecisionOutcome::Denied(r) => format!(
            ":no_entry: Denied request #{id}: {} does not get {}. They have been told.",
            mention(&r.requester),
            request_subject(r)
        ),
        DecisionOutcome::Superseded(r, holder) => format!(
            ":lock: {} already belongs to {}, so request #{id} is closed without effect. {} has been told.",
            request_subject(r),
            mention(&holder.owner),
            mention(&r.requester)
        ),
        DecisionOutcome::AlreadyDecided(r) => format!(
            ":information_source: Request #{id} ({} for {}) was already {} by {}{}. Nothing changed.",
            request_subject(r),
            mention(&r.requester),
            r.status,
            r.decided_by
                .as_deref()
                .map(mention)
                .unwrap_or_else(|| "an admin".to_owned()),
            r.decided_at
                .map(|at| format!(" {}", when(at, now, tz)))
                .unwrap_or_default()
        ),
        DecisionOutcome::NoSuchRequest => format!(
            ":grey_question: There is no claim request #{id}; this message may be outdated."
        ),
    })
}

pub fn images(
    catalog: &[CatalogImage],
    images: &[LocatedImage],
    unreachable: &[(String, String)],
) -> Reply {
    let mut blocks = vec![Block::Header("Images".to_owned())];
    let mut house = Vec::new();
    for entry in catalog {
        let with_latest = if entry.reference.contains(':') {
            entry.reference.clone()
        } else {
            format!("{}:latest", entry.reference)
        };
        let mut hosts: Vec<&str> = images
            .iter()
            .filter(|i| {
                i.image
                    .tags
                    .iter()
                    .any(|t| *t == entry.reference || *t == with_latest)
            })
            .map(|i| i.host.as_str())
            .collect();
        hosts.sort();
        hosts.dedup();
        let present = if hosts.is_empty() {
            "on no host yet".to_owned()
        } else {
            format!("on {}", hosts.join(", "))
        };
        let description = if entry.description.is_empty() {
            String::new()
        } else {
            format!(" — {}", entry.description)
        };
        house.push(format!(
            "• *{}* `{}`{description} ({present})",
            entry.name, entry.reference
        ));
    }
    blocks.push(Block::Section(if house.is_empty() {
        "*House images*: none configured (`[[images]]` in the bot's config).".to_owned()
    } else {
        format!(
            "*House images* — `/maison launch <host> <name>`\n{}",
            house.join("\n")
        )
    }));
    let catalog_refs: Vec<&str> = catalog.iter().map(|c| c.reference.as_str()).collect();
    let custom: Vec<String> = images
        .iter()
        .filter(|i| !i.users.is_empty())
        .filter(|i| {
            !i.image.tags.iter().any(|t| {
                catalog_refs
                    .iter()
                    .any(|r| t == r || t.strip_suffix(":latest") == Some(r))
            })
        })
        .take(MAX_LISTED)
        .map(|i| {
            let name = i
                .image
                .tags
                .first()
                .cloned()
                .unwrap_or_else(|| short_id(&i.image.id));
            let mut owners: Vec<String> = i.users.iter().map(|c| owner_text(&c.owner)).collect();
            owners.sort();
            owners.dedup();
            format!(
                "• `{name}` on `{}` ({}) — in use by {}",
                i.host,
                size_text(i.image.size_bytes),
                owners.join(", ")
            )
        })
        .collect();
    blocks.push(Block::Section(if custom.is_empty() {
        "*Custom images in use*: none.".to_owned()
    } else {
        format!("*Custom images in use*\n{}", custom.join("\n"))
    }));
    if !unreachable.is_empty() {
        let names: Vec<String> = unreachable.iter().map(|(h, _)| format!("`{h}`")).collect();
        blocks.push(Block::Context(format!(
            ":electric_plug: Not answering: {}.",
            names.join(", ")
        )));
    }
    Reply::with_blocks(Visibility::Ephemeral, "Images".to_owned(), blocks)
}

type HostRow<'a> = (&'a Host, Option<Result<HostInfo, String>>);

pub fn hosts(rows: &[HostRow<'_>], now: i64, tz: Tz) -> Reply {
    let mut lines = Vec::new();
    for (host, probe) in rows {
        let state = if host.is_drained() {
            ":construction: drained"
        } else {
            "active"
        };
        let agent = match probe {
            None => "no agent configured".to_owned(),
            Some(Ok(info)) => format!(
                ":large_green_circle: agent {} · Docker {} · {} GPU(s){}",
                info.agent_version,
                info.docker_version.as_deref().unwrap_or("unreachable"),
                info.gpus.len(),
                if info.gpus_simulated {
                    " (simulated)"
                } else {
                    ""
                }
            ),
            Some(Err(err)) => format!(":red_circle: agent not answering ({err})"),
        };
        lines.push(format!(
            "• *{}* — {} GPUs booked by Maison · {state} · {agent}",
            host.name, host.gpu_count
        ));
    }
    let mut blocks = vec![Block::Header("Hosts".to_owned())];
    blocks.push(Block::Section(if lines.is_empty() {
        "No hosts configured.".to_owned()
    } else {
        lines.join("\n")
    }));
    blocks.push(Block::Context(format!(
        "As of {}. `/maison host drain <host>` stops new bookings and launches there; `undrain` reopens it.",
        when(now, now, tz)
    )));
    Reply::with_blocks(Visibility::Ephemeral, "Hosts".to_owned(), blocks)
}

pub fn host_state_changed(host: &str, drained: bool) -> Reply {
    Reply::ephemeral(if drained {
        format!(
            ":construction: `{host}` is drained: no new bookings or launches. Running containers and bookings are untouched."
        )
    } else {
        format!(":white_check_mark: `{host}` is open again for bookings and launches.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_in_the_units_they_were_set_in() {
        let limits = ResourceLimits {
            pids: 4096,
            memory_bytes: 64 << 30,
            cpu_millis: 8000,
            shm_bytes: 16 << 30,
        };
        assert_eq!(
            limits_text(Some(&limits)),
            "Limits: 4,096 processes · 64 GiB memory · 8 CPUs · /dev/shm 16 GiB"
        );
        let odd = ResourceLimits {
            pids: 512,
            memory_bytes: 1536 << 20,
            cpu_millis: 2500,
            shm_bytes: 64 << 20,
        };
        assert_eq!(
            limits_text(Some(&odd)),
            "Limits: 512 processes · 1.5 GiB memory · 2.5 CPUs · /dev/shm 64 MiB"
        );
        assert_eq!(cpus_text(1000), "1 CPU");
        assert_eq!(cpus_text(250), "0.25 CPUs");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(processes_text(-1), "no process limit");
        assert_eq!(
            limits_text(None),
            "Limits: Docker defaults (made outside Maison)"
        );
    }
}
