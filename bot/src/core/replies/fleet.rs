//! Replies of the fleet commands (launch, ps, stop, rm, who, claim, images, hosts).

use chrono_tz::Tz;
use maison_agent_api::{
    ClientError, ContainerState, ErrorCode, HostInfo, LaunchResponse, LaunchSpec, ResourceLimits,
};
use maison_command::Lang;

use super::{listed, sentences, when_in};
use crate::core::actions;
use crate::core::booking::BookingView;
use crate::core::catalogue::{Catalog, CatalogOrigin, CatalogVersion};
use crate::core::fleet::{
    ClaimKind, ClaimRequest, DecisionOutcome, Host, Located, LocatedImage, NoProof, Owner, Removal,
    image_shown, short_id,
};
use crate::core::gpus::gpus_text;
use crate::core::render::{Block, Button, ButtonStyle, Reply, Visibility, mention};
use crate::core::units::size_text;

/// Long lists are cut here, with a count of what was left out (Slack caps a message at 50 blocks).
const MAX_LISTED: usize = 40;
/// Images made from one catalogue version named in `images`; the rest are counted.
const MAX_DERIVED: usize = 5;

fn owner_text_in(owner: &Option<Owner>, lang: Lang) -> String {
    match owner {
        Some(o) if o.claimed => crate::tr!(lang, "owner-claimed", user = mention(&o.slack_user)),
        Some(o) => mention(&o.slack_user),
        None => crate::tr!(lang, "owner-none"),
    }
}

/// `GPU 0,2`, or "no GPU" in `lang`: the GPUs a container was given (often none).
pub(crate) fn gpus_in(gpus: &[u32], lang: Lang) -> String {
    if gpus.is_empty() {
        crate::tr!(lang, "fleet-no-gpu")
    } else {
        gpus_text(gpus)
    }
}

/// Host names in `code`, listed in `lang`.
fn host_list(hosts: &[(String, String)], lang: Lang) -> String {
    let names: Vec<String> = hosts.iter().map(|(h, _)| format!("`{h}`")).collect();
    listed(&names, lang)
}

/// [`host_drained_in`] in English, for callers that do not know the reader's language.
pub fn host_drained(host: &str) -> Reply {
    host_drained_in(host, Lang::En)
}

pub fn host_drained_in(host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "fleet-host-drained", host = host))
}

/// [`no_agent_in`] in English, for callers that do not know the reader's language.
pub fn no_agent(host: &str) -> Reply {
    no_agent_in(host, Lang::En)
}

pub fn no_agent_in(host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(lang, "fleet-no-agent", host = host))
}

pub fn gpu_not_booked(gpu: u32, booking: &BookingView, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "fleet-gpu-not-booked",
        gpu = gpu,
        id = booking.id,
        host = booking.host.as_str(),
        gpus = gpus_in(&booking.gpus, lang)
    ))
}

fn book_now_button(host: &str, lang: Lang) -> Button {
    Button::new(
        crate::tr!(lang, "fleet-book-now", host = host),
        actions::BOOK_NOW,
        host,
    )
    .styled(ButtonStyle::Primary)
}

pub fn booking_required(host: &str, lang: Lang) -> Reply {
    let text = crate::tr!(lang, "fleet-booking-required", host = host);
    Reply::with_blocks(
        Visibility::Ephemeral,
        text.clone(),
        vec![
            Block::Section(text),
            Block::Actions(vec![book_now_button(host, lang)]),
        ],
    )
}

/// [`no_unix_mapping_in`] in English, for callers that do not know the reader's language.
pub fn no_unix_mapping(slack_user: &str) -> Reply {
    no_unix_mapping_in(slack_user, Lang::En)
}

/// Containers run as the caller's mapped Unix account, never as root or the image's user, so
/// without a mapping there is nothing to launch as: say exactly what an admin must add.
pub fn no_unix_mapping_in(slack_user: &str, lang: Lang) -> Reply {
    Reply::ephemeral(format!(
        "{}\n```[[users]]\nslack_user = \"{slack_user}\"\nunix_user = \"…\"\nuid = …\ngid = …```",
        crate::tr!(lang, "fleet-no-unix-mapping")
    ))
}

pub fn no_booking_warning(host: &str, lang: Lang) -> String {
    crate::tr!(lang, "fleet-no-booking-warning", host = host)
}

pub fn launching(spec: &LaunchSpec, host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "fleet-launching",
        name = spec.name.as_deref().unwrap_or_default(),
        host = host,
        image = image_shown(&spec.image),
        gpus = gpus_in(&spec.gpus, lang)
    ))
}

/// `datasets`: `(label, name)` of each dataset mounted read-only.
pub fn launched(
    host: &str,
    response: &LaunchResponse,
    warning: Option<&str>,
    datasets: &[(String, String)],
    lang: Lang,
) -> Reply {
    let c = &response.container;
    let name = c.name.as_str();
    let headline = if response.created {
        crate::tr!(
            lang,
            "fleet-launched",
            name = name,
            host = host,
            image = image_shown(&c.image),
            gpus = gpus_in(&c.gpus, lang)
        )
    } else {
        crate::tr!(lang, "fleet-launched-already", name = name, host = host)
    };
    let mut blocks = vec![
        Block::Section(headline.clone()),
        Block::Section(crate::tr!(
            lang,
            "fleet-enter-hint",
            host = host,
            name = name
        )),
    ];
    if !datasets.is_empty() {
        blocks.push(Block::Section(super::datasets::mounted_line(
            datasets, lang,
        )));
    }
    if let Some(warning) = warning {
        blocks.push(Block::Section(warning.to_owned()));
        blocks.push(Block::Actions(vec![book_now_button(host, lang)]));
    }
    blocks.push(Block::Context(crate::tr!(
        lang,
        "fleet-launched-commands",
        name = name
    )));
    Reply::with_blocks(Visibility::Ephemeral, headline, blocks)
}

/// [`no_answer_in`] in English.
pub(crate) fn no_answer(host: &str, err: &ClientError, uncertain: &str) -> String {
    no_answer_in(host, err, uncertain, Lang::En)
}

/// An agent call that got no usable answer. Whether the request can have been carried out
/// decides what the user is told: never "nothing was changed" when only the answer was lost.
/// `uncertain`, in `lang`, says what may have happened and how to check: in English it ends
/// "…so I cannot tell whether …", in Japanese it is a sentence of its own.
pub(crate) fn no_answer_in(host: &str, err: &ClientError, uncertain: &str, lang: Lang) -> String {
    let error = err.to_string();
    match err {
        // No connection was made: the request never left.
        ClientError::Transport(e) if e.is_connect() => {
            crate::tr!(lang, "fleet-agent-unreachable", host = host, error = error)
        }
        ClientError::Config(_) => {
            crate::tr!(lang, "fleet-agent-uncallable", host = host, error = error)
        }
        // The request may have arrived and been carried out, with only the answer lost.
        _ => crate::tr!(
            lang,
            "fleet-agent-silent",
            host = host,
            error = error,
            uncertain = uncertain
        ),
    }
}

/// [`agent_refused_in`] in English, for callers that do not know the reader's language.
pub fn agent_refused(host: &str, name: &str, err: &ClientError) -> Reply {
    agent_refused_in(host, name, err, Lang::En)
}

/// What the agent said when it refused or failed, in words a user can act on. The agent's own
/// message is passed on as it wrote it.
pub fn agent_refused_in(host: &str, name: &str, err: &ClientError, lang: Lang) -> Reply {
    let text = match err {
        ClientError::Api { error, .. } => {
            let message = error.message.as_str();
            match (error.code, error.rule.as_deref()) {
                (ErrorCode::PolicyRefused, Some(rule)) => crate::tr!(
                    lang,
                    "fleet-policy-refused",
                    host = host,
                    name = name,
                    rule = rule,
                    message = message
                ),
                (ErrorCode::Conflict, Some("container-running")) => {
                    crate::tr!(lang, "fleet-still-running", name = name, host = host)
                }
                (ErrorCode::NotFound, _) => {
                    crate::tr!(lang, "fleet-host-says", host = host, message = message)
                }
                _ => crate::tr!(lang, "fleet-agent-failed", host = host, message = message),
            }
        }
        ClientError::Transport(_) | ClientError::Config(_) | ClientError::Decode { .. } => {
            no_answer_in(
                host,
                err,
                &crate::tr!(lang, "fleet-uncertain-changed", name = name),
                lang,
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
    lang: Lang,
) -> Reply {
    let title = if all {
        crate::tr!(lang, "ps-title-all")
    } else {
        crate::tr!(lang, "ps-title-mine")
    };
    let mut blocks = vec![Block::Header(title)];
    if containers.is_empty() {
        blocks.push(Block::Section(if all {
            crate::tr!(lang, "ps-none-anywhere")
        } else {
            crate::tr!(lang, "ps-none-mine")
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
            format!(" · {}", owner_text_in(&c.owner, lang))
        } else {
            String::new()
        };
        lines.push(crate::tr!(
            lang,
            "ps-line",
            state = state,
            name = c.container.name.as_str(),
            host = c.host.as_str(),
            image = image_shown(&c.container.image),
            gpus = gpus_in(&c.container.gpus, lang),
            status = c.container.status.as_str(),
            owner = owner
        ));
    }
    if containers.len() > MAX_LISTED {
        let more = containers.len() - MAX_LISTED;
        lines.push(crate::tr!(lang, "ps-more", count = more));
    }
    if !lines.is_empty() {
        blocks.push(Block::Section(lines.join("\n")));
    }
    if !unreachable.is_empty() {
        blocks.push(Block::Context(crate::tr!(
            lang,
            "ps-not-answering",
            hosts = host_list(unreachable, lang)
        )));
    }
    blocks.push(Block::Context(crate::tr!(
        lang,
        "ps-as-of",
        now = when_in(now, now, tz, lang)
    )));
    Reply::with_blocks(
        Visibility::Ephemeral,
        crate::tr!(lang, "ps-count", count = containers.len()),
        blocks,
    )
}

fn did_not_answer(unreachable: &[(String, String)], lang: Lang) -> Option<String> {
    (!unreachable.is_empty()).then(|| {
        crate::tr!(
            lang,
            "hosts-did-not-answer",
            hosts = host_list(unreachable, lang)
        )
    })
}

pub fn no_such_container(
    target: &str,
    all: &[Located],
    unreachable: &[(String, String)],
    lang: Lang,
) -> Reply {
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
    let mut parts = vec![crate::tr!(lang, "no-such-container", target = target)];
    if let Some(&(_, name)) = nearest.first().filter(|(d, _)| *d <= 3) {
        parts.push(crate::tr!(lang, "container-did-you-mean", name = name));
    }
    parts.push(crate::tr!(lang, "no-such-container-hint"));
    parts.extend(did_not_answer(unreachable, lang));
    Reply::ephemeral(sentences(&parts, lang))
}

pub fn nothing_called(target: &str, unreachable: &[(String, String)], lang: Lang) -> Reply {
    let mut parts = vec![crate::tr!(lang, "nothing-called", target = target)];
    parts.extend(did_not_answer(unreachable, lang));
    Reply::ephemeral(sentences(&parts, lang))
}

pub fn ambiguous(target: &str, found: &[&Located], lang: Lang) -> Reply {
    let mut lines = vec![crate::tr!(lang, "ambiguous-containers", target = target)];
    lines.extend(found.iter().take(MAX_LISTED).map(|c| {
        crate::tr!(
            lang,
            "ambiguous-container",
            name = c.container.name.as_str(),
            host = c.host.as_str(),
            id = short_id(&c.container.id)
        )
    }));
    Reply::ephemeral(lines.join("\n"))
}

pub fn ambiguous_images(target: &str, found: &[&LocatedImage], lang: Lang) -> Reply {
    let mut lines = vec![crate::tr!(lang, "ambiguous-images", target = target)];
    lines.extend(found.iter().take(MAX_LISTED).map(|i| {
        crate::tr!(
            lang,
            "ambiguous-image",
            id = short_id(&i.image.id),
            host = i.host.as_str()
        )
    }));
    Reply::ephemeral(lines.join("\n"))
}

pub fn not_your_container(found: &Located, owner: &Owner, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "not-your-container",
        name = found.container.name.as_str(),
        host = found.host.as_str(),
        owner = mention(&owner.slack_user)
    ))
}

pub fn unowned_container(found: &Located, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "unowned-container",
        name = found.container.name.as_str(),
        host = found.host.as_str()
    ))
}

pub fn removed(found: &Located, removal: Removal, lang: Lang) -> Reply {
    let name = found.container.name.as_str();
    let host = found.host.as_str();
    Reply::ephemeral(match removal {
        Removal::Stop => crate::tr!(lang, "container-stopped", name = name, host = host),
        Removal::Remove => crate::tr!(lang, "container-removed", name = name, host = host),
    })
}

pub fn who_container(c: &Located, last_gpu: Option<i64>, now: i64, tz: Tz, lang: Lang) -> Reply {
    let labels = c.container.maison.as_ref();
    let how = match labels {
        Some(_) => crate::tr!(lang, "who-made-with-maison"),
        None => crate::tr!(lang, "who-made-outside"),
    };
    let created = labels
        .and_then(|l| l.created_at)
        .unwrap_or(c.container.created)
        .timestamp();
    let source = match labels.and_then(|l| l.image_source) {
        Some(maison_agent_api::ImageSource::Catalog) => crate::tr!(lang, "who-catalog-image"),
        Some(maison_agent_api::ImageSource::Custom) => crate::tr!(lang, "who-custom-image"),
        None => crate::tr!(lang, "who-plain-image"),
    };
    let booking = labels
        .and_then(|l| l.booking.clone())
        .map(|id| crate::tr!(lang, "who-booking", id = id))
        .unwrap_or_else(|| crate::tr!(lang, "who-no-booking"));
    let gpu = match last_gpu {
        Some(at) => crate::tr!(lang, "who-last-gpu", when = when_in(at, now, tz, lang)),
        None => crate::tr!(lang, "who-no-gpu-use"),
    };
    let lines = [
        crate::tr!(
            lang,
            "who-container",
            name = c.container.name.as_str(),
            host = c.host.as_str(),
            status = c.container.status.as_str()
        ),
        crate::tr!(lang, "who-owner", owner = owner_text_in(&c.owner, lang)),
        crate::tr!(
            lang,
            "who-created",
            when = when_in(created, now, tz, lang),
            how = how
        ),
        crate::tr!(
            lang,
            "who-image-line",
            source = source,
            image = image_shown(&c.container.image)
        ),
        crate::tr!(
            lang,
            "who-gpus-line",
            gpus = gpus_in(&c.container.gpus, lang),
            id = short_id(&c.container.id)
        ),
        format!("• {booking} · {gpu}"),
        format!("• {}", limits_text_in(c.container.limits.as_ref(), lang)),
    ];
    Reply::ephemeral(lines.join("\n"))
}

/// `Limits: 4,096 processes · 64 GiB memory · 8 CPUs · /dev/shm 16 GiB`.
pub fn limits_text(limits: Option<&ResourceLimits>) -> String {
    limits_text_in(limits, Lang::En)
}

/// [`limits_text`] in `lang`.
pub fn limits_text_in(limits: Option<&ResourceLimits>, lang: Lang) -> String {
    match limits {
        Some(l) => crate::tr!(
            lang,
            "limits",
            processes = processes_text(l.pids, lang),
            memory = binary_size(l.memory_bytes),
            cpus = cpus_text(l.cpu_millis, lang),
            shm = binary_size(l.shm_bytes)
        ),
        None => crate::tr!(lang, "limits-docker-defaults"),
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
fn processes_text(pids: i64, lang: Lang) -> String {
    match u64::try_from(pids) {
        Ok(n) if n > 0 => crate::tr!(lang, "limits-processes", count = thousands(n)),
        _ => crate::tr!(lang, "limits-no-process-limit"),
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

fn cpus_text(millis: u64, lang: Lang) -> String {
    let cpus = if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{:.2}", millis as f64 / 1000.0)
            .trim_end_matches('0')
            .to_owned()
    };
    if millis == 1000 {
        crate::tr!(lang, "limits-one-cpu")
    } else {
        crate::tr!(lang, "limits-cpus", count = cpus)
    }
}

/// What `who <image>` says about where an image stands: the fleet's images (to find those
/// made from it) and the catalogue (to name the versions it is).
pub struct Lineage<'a> {
    pub images: &'a [LocatedImage],
    pub catalog: &'a Catalog,
}

impl Lineage<'_> {
    /// The catalogue versions an image is, as `name:version`.
    fn versions_of(&self, image: &LocatedImage) -> Vec<String> {
        self.catalog
            .versions()
            .iter()
            .filter(|v| v.is_approved() && v.is_image(&image.image.id, &image.image.tags))
            .map(|v| format!("`{}`", v.label()))
            .collect()
    }

    /// The images Maison made from it (its id as their `parent_id`), on any host.
    fn made_from(&self, image: &LocatedImage, lang: Lang) -> Vec<String> {
        let mut made: Vec<String> = self
            .images
            .iter()
            .filter(|i| {
                i.image
                    .labels
                    .get(maison_agent_api::images::provenance::PARENT_ID)
                    .is_some_and(|parent| *parent == image.image.id)
            })
            .map(|i| {
                crate::tr!(
                    lang,
                    "who-image-made-from-item",
                    name = i.name(),
                    host = i.host.as_str()
                )
            })
            .collect();
        made.sort();
        made.dedup();
        made
    }
}

pub fn who_images(
    found: &[&LocatedImage],
    lineage: &Lineage<'_>,
    now: i64,
    tz: Tz,
    lang: Lang,
) -> Reply {
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
            .map(|c| {
                crate::tr!(
                    lang,
                    "who-image-user",
                    name = c.container.name.as_str(),
                    owner = owner_text_in(&c.owner, lang)
                )
            })
            .collect();
        let used = if users.is_empty() {
            crate::tr!(lang, "who-image-unused")
        } else {
            crate::tr!(lang, "who-image-used-by", containers = listed(&users, lang))
        };
        let history = super::images::provenance_line(&i.image.labels, lang)
            .map(|line| format!("\n• {line}"))
            .unwrap_or_default();
        let mut heading = crate::tr!(
            lang,
            "who-image",
            name = name,
            host = i.host.as_str(),
            size = size_text(i.image.size_bytes)
        );
        if i.image.dangling {
            heading.push_str(&format!(" · {}", crate::tr!(lang, "who-image-dangling")));
        }
        let owner = crate::tr!(lang, "who-owner", owner = owner_text_in(&i.owner, lang));
        let created = crate::tr!(
            lang,
            "who-image-created",
            when = when_in(i.image.created.timestamp(), now, tz, lang),
            id = short_id(&i.image.id)
        );
        let mut section = format!("{heading}\n{owner}\n{created}{history}\n• {used}");
        let versions = lineage.versions_of(i);
        if !versions.is_empty() {
            section.push('\n');
            section.push_str(&crate::tr!(
                lang,
                "who-image-catalog",
                versions = listed(&versions, lang)
            ));
        }
        let made = lineage.made_from(i, lang);
        if !made.is_empty() {
            section.push('\n');
            section.push_str(&crate::tr!(
                lang,
                "who-image-made-from",
                images = listed(&made, lang)
            ));
        }
        sections.push(section);
    }
    Reply::ephemeral(sections.join("\n\n"))
}

fn kind_in(kind: ClaimKind, lang: Lang) -> String {
    match kind {
        ClaimKind::Container => crate::tr!(lang, "claim-kind-container"),
        ClaimKind::Image => crate::tr!(lang, "claim-kind-image"),
    }
}

pub fn already_owned(label: &str, owner: &Owner, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "already-owned",
        label = label,
        owner = owner_text_in(&Some(owner.clone()), lang)
    ))
}

pub fn claimed(kind: ClaimKind, label: &str, host: &str, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "claimed",
        kind = kind_in(kind, lang),
        label = label,
        host = host
    ))
}

pub fn claimed_by_uid(label: &str, host: &str, uid: u32, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "claimed-by-uid",
        label = label,
        host = host,
        uid = uid
    ))
}

/// Why a claim needs an admin, in `lang`.
pub fn no_proof(reason: &NoProof, lang: Lang) -> String {
    match reason {
        NoProof::Image => crate::tr!(lang, "claim-reason-image"),
        NoProof::NoUnixMapping { member } => {
            crate::tr!(lang, "claim-reason-no-mapping", member = mention(member))
        }
        NoProof::NoAgent { host } => {
            crate::tr!(lang, "claim-reason-no-agent", host = host.as_str())
        }
        NoProof::AgentFailed { host, error } => crate::tr!(
            lang,
            "claim-reason-agent-failed",
            host = host.as_str(),
            error = error.as_str()
        ),
        NoProof::NotRunning => crate::tr!(lang, "claim-reason-not-running"),
        NoProof::NoProcesses => crate::tr!(lang, "claim-reason-no-processes"),
        NoProof::OtherUids { member, uids, uid } => crate::tr!(
            lang,
            "claim-reason-other-uids",
            uids = uids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            member = mention(member),
            uid = uid.to_string()
        ),
    }
}

pub fn claim_needs_admins(label: &str, reason: &NoProof, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "claim-needs-admins",
        label = label,
        reason = no_proof(reason, lang)
    ))
}

/// `the container `x` on `gpu01`` (or `` `gpu01` のコンテナ `x` ``).
fn request_subject(r: &ClaimRequest, lang: Lang) -> String {
    crate::tr!(
        lang,
        "claim-subject",
        kind = kind_in(r.kind, lang),
        label = r.label.as_str(),
        host = r.host.as_str()
    )
}

pub fn claim_requested(r: &ClaimRequest, reason: &NoProof, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "claim-requested",
        subject = request_subject(r, lang),
        id = r.id,
        reason = no_proof(reason, lang)
    ))
}

pub fn claim_already_requested(r: &ClaimRequest, lang: Lang) -> Reply {
    Reply::ephemeral(crate::tr!(
        lang,
        "claim-already-requested",
        kind = kind_in(r.kind, lang),
        label = r.label.as_str(),
        host = r.host.as_str(),
        id = r.id
    ))
}

/// The DM every admin gets about a pending claim request, with its two buttons, in that
/// admin's language (the reason too).
pub fn claim_request_for_admins(r: &ClaimRequest, reason: &NoProof, lang: Lang) -> Reply {
    let text = crate::tr!(
        lang,
        "claim-request-for-admins",
        requester = mention(&r.requester),
        subject = request_subject(r, lang),
        id = short_id(&r.object_id),
        reason = no_proof(reason, lang)
    );
    let id = r.id.to_string();
    super::decision_request(
        text,
        Button::new(
            crate::tr!(lang, "button-approve"),
            actions::CLAIM_APPROVE,
            &id,
        ),
        Button::new(crate::tr!(lang, "button-deny"), actions::CLAIM_DENY, id),
        crate::tr!(
            lang,
            "claim-request-context",
            requester = mention(&r.requester),
            id = r.id
        ),
    )
}

/// The requester's DM about an admin's decision, in the requester's language: `(requester,
/// message)`, or nothing when the click changed nothing.
pub fn claim_decision_for_requester(
    outcome: &DecisionOutcome,
    lang: Lang,
) -> Option<(String, Reply)> {
    let admin = |r: &ClaimRequest| mention(r.decided_by.as_deref().unwrap_or_default());
    let (r, text) = match outcome {
        DecisionOutcome::Approved(r) => (
            r,
            crate::tr!(
                lang,
                "claim-approved-dm",
                admin = admin(r),
                subject = request_subject(r, lang)
            ),
        ),
        DecisionOutcome::Denied(r) => (
            r,
            crate::tr!(
                lang,
                "claim-denied-dm",
                admin = admin(r),
                subject = request_subject(r, lang),
                id = r.id
            ),
        ),
        DecisionOutcome::Superseded(r, holder) => (
            r,
            crate::tr!(
                lang,
                "claim-superseded-dm",
                subject = request_subject(r, lang),
                id = r.id,
                holder = mention(&holder.owner)
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
pub fn claim_decided(id: i64, outcome: &DecisionOutcome, now: i64, tz: Tz, lang: Lang) -> Reply {
    Reply::ephemeral(match outcome {
        DecisionOutcome::Approved(r) => crate::tr!(
            lang,
            "claim-decided-approved",
            id = id,
            requester = mention(&r.requester),
            subject = request_subject(r, lang)
        ),
        DecisionOutcome::Denied(r) => crate::tr!(
            lang,
            "claim-decided-denied",
            id = id,
            requester = mention(&r.requester),
            subject = request_subject(r, lang)
        ),
        DecisionOutcome::Superseded(r, holder) => crate::tr!(
            lang,
            "claim-decided-superseded",
            subject = request_subject(r, lang),
            holder = mention(&holder.owner),
            id = id,
            requester = mention(&r.requester)
        ),
        DecisionOutcome::AlreadyDecided(r) => {
            let status = if r.status == "approved" {
                crate::tr!(lang, "claim-status-approved")
            } else {
                crate::tr!(lang, "claim-status-denied")
            };
            let admin = r
                .decided_by
                .as_deref()
                .map(mention)
                .unwrap_or_else(|| crate::tr!(lang, "claim-an-admin"));
            let when = r
                .decided_at
                .map(|at| {
                    crate::tr!(
                        lang,
                        "claim-decided-when",
                        when = when_in(at, now, tz, lang)
                    )
                })
                .unwrap_or_default();
            crate::tr!(
                lang,
                "claim-decided-already",
                id = id,
                subject = request_subject(r, lang),
                requester = mention(&r.requester),
                status = status,
                admin = admin,
                when = when
            )
        }
        DecisionOutcome::NoSuchRequest => crate::tr!(lang, "claim-no-request", id = id),
    })
}

pub fn images(
    catalog: &Catalog,
    images: &[LocatedImage],
    unreachable: &[(String, String)],
    lang: Lang,
) -> Reply {
    let mut blocks = vec![Block::Header(crate::tr!(lang, "images-header"))];
    let mut house = Vec::new();
    let mut waiting = Vec::new();
    for name in catalog.names() {
        let Some(current) = catalog.resolve(name) else {
            waiting.extend(catalog.of(name).map(|v| format!("`{}`", v.label())));
            continue;
        };
        let mut hosts: Vec<String> = images
            .iter()
            .filter(|i| current.is_image(&i.image.id, &i.image.tags))
            .map(|i| i.host.clone())
            .collect();
        hosts.sort();
        hosts.dedup();
        let present = if hosts.is_empty() {
            crate::tr!(lang, "images-on-no-host")
        } else {
            crate::tr!(lang, "images-on-hosts", hosts = listed(&hosts, lang))
        };
        let description = if current.description.is_empty() {
            String::new()
        } else {
            format!(" — {}", current.description)
        };
        let made = match current.origin {
            CatalogOrigin::Config => format!("`{}`", current.reference),
            CatalogOrigin::Published => crate::tr!(
                lang,
                "images-published-by",
                image = current.source_name.as_deref().unwrap_or(&current.reference),
                user = mention(&current.requested_by),
                project = current
                    .project
                    .as_deref()
                    .map(|p| crate::tr!(lang, "images-project", project = p))
                    .unwrap_or_default()
            ),
        };
        let mut line = crate::tr!(
            lang,
            "images-line",
            name = name,
            version = current.version.as_str(),
            made = made,
            description = description,
            present = present
        );
        if let Some(replacement) = &current.replaced_by {
            let deprecated = crate::tr!(
                lang,
                "images-deprecated-use",
                replacement = replacement.as_str()
            );
            line.push_str(&format!(" — {deprecated}"));
        } else if current.deprecated_at.is_some() {
            line.push_str(&format!(" — {}", crate::tr!(lang, "images-deprecated")));
        }
        let derived = derived_from(current, images, lang);
        if !derived.is_empty() {
            let made = crate::tr!(lang, "images-made-from", images = listed(&derived, lang));
            line.push_str(&format!("\n      {made}"));
        }
        let older: Vec<String> = catalog
            .of(name)
            .filter(|v| v.id != current.id && v.is_approved())
            .map(|v| match v.deprecated_at {
                Some(_) => format!("~{}~", v.version),
                None => v.version.clone(),
            })
            .collect();
        if !older.is_empty() {
            line.push_str(&crate::tr!(
                lang,
                "images-other-versions",
                versions = listed(&older, lang)
            ));
        }
        let asked: Vec<String> = catalog
            .of(name)
            .filter(|v| !v.is_approved())
            .map(|v| format!("`{}`", v.label()))
            .collect();
        waiting.extend(asked);
        house.push(line);
    }
    blocks.push(Block::Section(if house.is_empty() {
        crate::tr!(lang, "images-catalog-empty")
    } else {
        format!(
            "{}\n{}",
            crate::tr!(lang, "images-catalog-title"),
            house.join("\n")
        )
    }));
    if !waiting.is_empty() {
        blocks.push(Block::Context(crate::tr!(
            lang,
            "images-waiting",
            versions = listed(&waiting, lang)
        )));
    }
    let custom: Vec<String> = images
        .iter()
        .filter(|i| !i.users.is_empty())
        .filter(|i| {
            !catalog
                .versions()
                .iter()
                .any(|v| v.is_approved() && v.is_image(&i.image.id, &i.image.tags))
        })
        .take(MAX_LISTED)
        .map(|i| {
            let mut owners: Vec<String> = i
                .users
                .iter()
                .map(|c| owner_text_in(&c.owner, lang))
                .collect();
            owners.sort();
            owners.dedup();
            let history = super::images::provenance_line(&i.image.labels, lang)
                .map(|line| crate::tr!(lang, "images-history", line = line))
                .unwrap_or_default();
            crate::tr!(
                lang,
                "images-custom-line",
                name = i.name(),
                host = i.host.as_str(),
                size = size_text(i.image.size_bytes),
                owners = listed(&owners, lang),
                history = history
            )
        })
        .collect();
    blocks.push(Block::Section(if custom.is_empty() {
        crate::tr!(lang, "images-custom-none")
    } else {
        format!(
            "{}\n{}",
            crate::tr!(lang, "images-custom-title"),
            custom.join("\n")
        )
    }));
    if !unreachable.is_empty() {
        blocks.push(Block::Context(crate::tr!(
            lang,
            "images-not-answering",
            hosts = host_list(unreachable, lang)
        )));
    }
    Reply::with_blocks(
        Visibility::Ephemeral,
        crate::tr!(lang, "images-header"),
        blocks,
    )
}

/// The images Maison made from a catalogue version (saved from a container of it, or built
/// on it), by name and who made them, each once however many hosts hold it.
fn derived_from(version: &CatalogVersion, images: &[LocatedImage], lang: Lang) -> Vec<String> {
    let ids: Vec<&str> = images
        .iter()
        .filter(|i| version.is_image(&i.image.id, &i.image.tags))
        .map(|i| i.image.id.as_str())
        .collect();
    let mut made: Vec<String> = images
        .iter()
        .filter(|i| {
            i.image
                .labels
                .get(maison_agent_api::images::provenance::PARENT_ID)
                .is_some_and(|parent| ids.contains(&parent.as_str()))
        })
        .map(|i| {
            let owner = match &i.owner {
                Some(_) => owner_text_in(&i.owner, lang),
                None => crate::tr!(lang, "images-derived-unowned"),
            };
            crate::tr!(lang, "images-derived", name = i.name(), owner = owner)
        })
        .collect();
    made.sort();
    made.dedup();
    if made.len() > MAX_DERIVED {
        let more = made.len() - MAX_DERIVED;
        made.truncate(MAX_DERIVED);
        made.push(crate::tr!(lang, "images-more", count = more));
    }
    made
}

type HostRow<'a> = (&'a Host, Option<Result<HostInfo, String>>);

pub fn hosts(rows: &[HostRow<'_>], now: i64, tz: Tz, lang: Lang) -> Reply {
    let mut lines = Vec::new();
    for (host, probe) in rows {
        let state = if host.is_drained() {
            crate::tr!(lang, "hosts-state-drained")
        } else {
            crate::tr!(lang, "hosts-state-active")
        };
        let agent = match probe {
            None => crate::tr!(lang, "hosts-no-agent"),
            Some(Ok(info)) => {
                let docker = info
                    .docker_version
                    .clone()
                    .unwrap_or_else(|| crate::tr!(lang, "hosts-docker-unreachable"));
                let version = info.agent_version.as_str();
                let gpus = info.gpus.len();
                if info.gpus_simulated {
                    crate::tr!(
                        lang,
                        "hosts-agent-up-simulated",
                        version = version,
                        docker = docker,
                        gpus = gpus
                    )
                } else {
                    crate::tr!(
                        lang,
                        "hosts-agent-up",
                        version = version,
                        docker = docker,
                        gpus = gpus
                    )
                }
            }
            Some(Err(err)) => crate::tr!(lang, "hosts-agent-down", error = err.as_str()),
        };
        lines.push(crate::tr!(
            lang,
            "hosts-line",
            host = host.name.as_str(),
            count = host.gpu_count,
            state = state,
            agent = agent
        ));
    }
    let title = crate::tr!(lang, "hosts-title");
    let mut blocks = vec![Block::Header(title.clone())];
    blocks.push(Block::Section(if lines.is_empty() {
        crate::tr!(lang, "hosts-none")
    } else {
        lines.join("\n")
    }));
    blocks.push(Block::Context(crate::tr!(
        lang,
        "hosts-footer",
        now = when_in(now, now, tz, lang)
    )));
    Reply::with_blocks(Visibility::Ephemeral, title, blocks)
}

pub fn host_state_changed(host: &str, drained: bool, lang: Lang) -> Reply {
    Reply::ephemeral(if drained {
        crate::tr!(lang, "host-now-drained", host = host)
    } else {
        crate::tr!(lang, "host-open-again", host = host)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use chrono::{DateTime, Utc};
    use maison_agent_api::{ApiError, ContainerSummary, ImageSummary, MaisonLabels};

    const TZ: Tz = chrono_tz::Europe::Paris;
    // Monday 30 Nov 2026, 10:00 UTC = 11:00 in Paris.
    const NOW: i64 = 1_796_032_800;

    fn at(ts: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ts, 0).unwrap()
    }

    pub(crate) fn alice() -> Owner {
        Owner {
            slack_user: "U0ALICE".into(),
            name: "alice".into(),
            claimed: false,
        }
    }

    /// A container on gpu01 (Alice's when `launched`), for the replies' snapshots.
    pub(crate) fn container(name: &str, gpus: &[u32], launched: bool) -> Located {
        Located {
            host: "gpu01".into(),
            container: ContainerSummary {
                id: "3f2a9c0d1e2f".into(),
                name: name.into(),
                image: "pytorch:2.3".into(),
                image_id: "sha256:abc".into(),
                state: ContainerState::Running,
                status: "Up 2 hours".into(),
                created: at(NOW - 7200),
                gpus: gpus.to_vec(),
                owned: launched,
                maison: launched.then(|| MaisonLabels {
                    owner: "U0ALICE".into(),
                    owner_name: None,
                    booking: Some("12".into()),
                    image_source: Some(maison_agent_api::ImageSource::Catalog),
                    created_at: Some(at(NOW - 7200)),
                    idempotency_key: None,
                }),
                limits: launched.then_some(ResourceLimits {
                    pids: 4096,
                    memory_bytes: 64 << 30,
                    cpu_millis: 8000,
                    shm_bytes: 16 << 30,
                }),
            },
            owner: launched.then(alice),
        }
    }

    /// Every fleet reply a user can get, in both languages, as one reviewed page each.
    #[test]
    fn fleet_replies_in_both_languages() {
        let mine = container("llama-ft", &[0, 1], true);
        let stray = container("old-notebook", &[], false);
        let booking = BookingView {
            id: 12,
            user_id: 1,
            slack_user_id: "U0ALICE".into(),
            display_name: "alice".into(),
            host: "gpu01".into(),
            gpus: vec![0, 1],
            start: NOW - 3600,
            end: NOW + 3600,
            note: None,
            cancelled: false,
            released: false,
            held_until: None,
        };
        let spec = LaunchSpec {
            name: Some("llama-ft".into()),
            image: "pytorch:2.3".into(),
            gpus: vec![0, 1],
            ..LaunchSpec::default()
        };
        let started = LaunchResponse {
            created: true,
            container: mine.container.clone(),
        };
        let again = LaunchResponse {
            created: false,
            container: mine.container.clone(),
        };
        let refused = |code, rule: Option<&str>| ClientError::Api {
            status: 409,
            error: ApiError {
                code,
                message: "the agent's own words".into(),
                rule: rule.map(str::to_owned),
            },
        };
        let lost = ClientError::Decode {
            status: 502,
            body: "bad gateway".into(),
        };
        let image = LocatedImage {
            host: "gpu01".into(),
            image: ImageSummary {
                id: "sha256:0123456789ab".into(),
                tags: vec!["pytorch:2.3".into()],
                size_bytes: 9_000_000_000,
                created: at(NOW - 3 * 86_400),
                labels: Default::default(),
                used_by: vec![],
                dangling: false,
            },
            owner: None,
            users: vec![mine.clone()],
        };
        // `pytorch:2.3` is a house image, and Alice saved an image from it on gpu02.
        let mut derived = image.clone();
        derived.host = "gpu02".into();
        derived.image.id = "sha256:fedcba987654".into();
        derived.image.tags = vec!["alice/tuned:v1".into()];
        derived.image.labels.insert(
            maison_agent_api::images::provenance::PARENT_ID.into(),
            image.image.id.clone(),
        );
        let catalog = Catalog::new(vec![crate::core::catalogue::CatalogVersion {
            id: 1,
            name: "pytorch".into(),
            version: "2.3".into(),
            reference: "pytorch:2.3".into(),
            image_id: None,
            source_name: None,
            source_host: None,
            description: String::new(),
            project: None,
            origin: CatalogOrigin::Config,
            status: crate::core::catalogue::CatalogStatus::Approved,
            requested_by: "config".into(),
            requester_name: "the config".into(),
            created_at: 0,
            decided_by: None,
            decided_at: None,
            deprecated_at: None,
            replaced_by: None,
        }]);
        let fleet_images = [image.clone(), derived];
        let lineage = Lineage {
            images: &fleet_images,
            catalog: &catalog,
        };
        let down = [("gpu02".to_owned(), "timeout".to_owned())];
        let host = |name: &str, drained: bool| Host {
            name: name.into(),
            gpu_count: 2,
            state: if drained {
                crate::core::fleet::HostState::Drained
            } else {
                crate::core::fleet::HostState::Active
            },
        };
        let (gpu01, gpu02, gpu03) = (
            host("gpu01", false),
            host("gpu02", true),
            host("gpu03", false),
        );
        let info = HostInfo {
            hostname: "gpu01".into(),
            cpus: 64,
            memory_total_bytes: 512 << 30,
            docker_root_dir: None,
            docker_root_free_bytes: None,
            docker_root_total_bytes: None,
            docker_version: Some("27.1".into()),
            docker_api_version: None,
            nvidia: None,
            gpus: vec![],
            gpus_simulated: true,
            agent_version: "0.1.0".into(),
        };
        let rows: Vec<HostRow<'_>> = vec![
            (&gpu01, Some(Ok(info))),
            (&gpu02, Some(Err("connection refused".into()))),
            (&gpu03, None),
        ];
        let request = ClaimRequest {
            id: 3,
            kind: ClaimKind::Container,
            host: "gpu01".into(),
            object_id: "3f2a9c0d1e2f".into(),
            label: "old-notebook".into(),
            requester: "U0ALICE".into(),
            requester_name: "alice".into(),
            reason: "it is stopped".into(),
            status: "pending".into(),
            decided_by: None,
            created_at: NOW,
            decided_at: None,
            request_id: "req-1".into(),
        };
        let other_uids = NoProof::OtherUids {
            member: "U0ALICE".into(),
            uids: vec![0, 1001],
            uid: 1000,
        };
        let claimed_owner = Owner {
            claimed: true,
            ..alice()
        };
        let decided = ClaimRequest {
            status: "approved".into(),
            decided_by: Some("U0ADMIN".into()),
            decided_at: Some(NOW - 3600),
            ..request.clone()
        };
        let denied = ClaimRequest {
            status: "denied".into(),
            ..decided.clone()
        };
        let superseded = DecisionOutcome::Superseded(
            decided.clone(),
            crate::core::fleet::Claim {
                host: "gpu01".into(),
                kind: ClaimKind::Container,
                object_id: "3f2a9c0d1e2f".into(),
                owner: "U0BOB".into(),
                owner_name: "bob".into(),
                claimed_at: NOW - 60,
                request_id: "req-2".into(),
            },
        );
        for lang in Lang::ALL {
            let replies = [
                host_drained_in("gpu02", lang),
                no_agent_in("gpu03", lang),
                gpu_not_booked(3, &booking, lang),
                booking_required("gpu01", lang),
                no_unix_mapping_in("U0ALICE", lang),
                Reply::ephemeral(no_booking_warning("gpu01", lang)),
                launching(&spec, "gpu01", lang),
                launched(
                    "gpu01",
                    &started,
                    Some(&no_booking_warning("gpu01", lang)),
                    &[],
                    lang,
                ),
                launched("gpu01", &again, None, &[], lang),
                agent_refused_in(
                    "gpu01",
                    "llama-ft",
                    &refused(ErrorCode::PolicyRefused, Some("no-privileged")),
                    lang,
                ),
                agent_refused_in(
                    "gpu01",
                    "llama-ft",
                    &refused(ErrorCode::Conflict, Some("container-running")),
                    lang,
                ),
                agent_refused_in(
                    "gpu01",
                    "llama-ft",
                    &refused(ErrorCode::NotFound, None),
                    lang,
                ),
                agent_refused_in(
                    "gpu01",
                    "llama-ft",
                    &refused(ErrorCode::Internal, None),
                    lang,
                ),
                agent_refused_in("gpu01", "llama-ft", &lost, lang),
                ps(&[&mine], false, &[], NOW, TZ, lang),
                ps(&[&mine, &stray], true, &down, NOW, TZ, lang),
                ps(&[], false, &[], NOW, TZ, lang),
                ps(&[], true, &[], NOW, TZ, lang),
                no_such_container("llama-fx", std::slice::from_ref(&mine), &down, lang),
                nothing_called("zzz", &down, lang),
                ambiguous("3f2a", &[&mine, &stray], lang),
                ambiguous_images("pytorch", &[&image, &image], lang),
                not_your_container(&mine, &alice(), lang),
                unowned_container(&stray, lang),
                removed(&mine, Removal::Stop, lang),
                removed(&mine, Removal::Remove, lang),
                who_container(&mine, Some(NOW - 600), NOW, TZ, lang),
                who_container(&stray, None, NOW, TZ, lang),
                who_images(&[&image], &lineage, NOW, TZ, lang),
                images(&catalog, &fleet_images, &down, lang),
                images(&Catalog::default(), &[], &[], lang),
                hosts(&rows, NOW, TZ, lang),
                host_state_changed("gpu02", true, lang),
                host_state_changed("gpu02", false, lang),
                already_owned("old-notebook", &claimed_owner, lang),
                claimed(ClaimKind::Image, "pytorch:2.3", "gpu01", lang),
                claimed_by_uid("old-notebook", "gpu01", 1000, lang),
                claim_already_requested(&request, lang),
                claim_needs_admins("old-notebook", &NoProof::NotRunning, lang),
                claim_requested(&request, &other_uids, lang),
                claim_request_for_admins(&request, &other_uids, lang),
                claim_decision_for_requester(&DecisionOutcome::Approved(decided.clone()), lang)
                    .unwrap()
                    .1,
                claim_decision_for_requester(&DecisionOutcome::Denied(denied.clone()), lang)
                    .unwrap()
                    .1,
                claim_decision_for_requester(&superseded, lang).unwrap().1,
                claim_decided(
                    3,
                    &DecisionOutcome::Approved(decided.clone()),
                    NOW,
                    TZ,
                    lang,
                ),
                claim_decided(3, &DecisionOutcome::Denied(denied.clone()), NOW, TZ, lang),
                claim_decided(3, &superseded, NOW, TZ, lang),
                claim_decided(
                    3,
                    &DecisionOutcome::AlreadyDecided(decided.clone()),
                    NOW,
                    TZ,
                    lang,
                ),
                claim_decided(3, &DecisionOutcome::NoSuchRequest, NOW, TZ, lang),
            ];
            let text: Vec<String> = replies.iter().map(Reply::to_terminal).collect();
            insta::assert_snapshot!(format!("fleet_replies_{lang}"), text.join("\n---\n"));
        }
    }

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
        assert_eq!(cpus_text(1000, Lang::En), "1 CPU");
        assert_eq!(cpus_text(250, Lang::En), "0.25 CPUs");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(processes_text(-1, Lang::En), "no process limit");
        assert_eq!(
            limits_text(None),
            "Limits: Docker defaults (made outside Maison)"
        );
    }

    /// Every reason a claim needs an admin, as the requester and the admins read it.
    #[test]
    fn claim_reasons_in_both_languages() {
        let reasons = [
            NoProof::Image,
            NoProof::NoUnixMapping {
                member: "U0ALICE".into(),
            },
            NoProof::NoAgent {
                host: "gpu09".into(),
            },
            NoProof::AgentFailed {
                host: "gpu01".into(),
                error: "timed out after 10 s".into(),
            },
            NoProof::NotRunning,
            NoProof::NoProcesses,
            NoProof::OtherUids {
                member: "U0ALICE".into(),
                uids: vec![0, 1001],
                uid: 1000,
            },
        ];
        for lang in Lang::ALL {
            let page = reasons
                .iter()
                .map(|reason| no_proof(reason, lang))
                .collect::<Vec<_>>()
                .join("\n");
            if lang == Lang::Ja {
                for word in ["process", "agent", "running", "mapping"] {
                    assert!(!page.contains(word), "{word:?} left in Japanese:\n{page}");
                }
            }
            insta::assert_snapshot!(format!("claim_reasons_{lang}"), page);
        }
    }
}
