//! `/maison report what-if +4 gpus`: the last weeks' demand replayed against the fleet as it is
//! and against a larger one, to say what more GPUs would have changed.
//!
//! The replay's rules (the model the answer rests on):
//! * **Bookings that happened** are placed first, where and when they happened, and never
//!   dropped (they fitted in reality, even if the fleet has shrunk since).
//! * Then **refused requests** and **wait-list requests**, in the order they were asked (ties:
//!   by start, then as given). A request for one host may use that host or any *added* host (a
//!   person refused on gpu03 would have taken the new machine), never another existing host:
//!   the replay answers "what would more GPUs have done", not "what would better placement
//!   have done". `book any` may use any host.
//! * A **refused** request wanted its start and would not wait: it is served only if it fits
//!   at exactly that start for its whole length.
//! * A **wait-list** request could start any time from when it asked until its `--within`
//!   deadline less its length; it takes the earliest start that fits, and its wait is that
//!   start less when it asked.
//! * Among allowed hosts the earliest start wins; then the host left with the fewest free GPUs
//!   (best fit, keeping big holes for big requests); then the first host.
//! * A request fits when, at every instant of its span, the GPUs already placed on the host
//!   plus its own are at most the host's. A request larger than every allowed host is unmet.
//!
//! Pure: the store loads the demand; [`what_if`] replays it twice; [`build`] writes the reply.

use super::hours_f;
use crate::core::render::{Block, Reply, Visibility};

/// Capacity added in the what-if: `hosts` new hosts of `gpus_per_host` GPUs each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addition {
    pub hosts: u32,
    pub gpus_per_host: u32,
}

/// What a demand was, which decides how the replay may place it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandKind {
    /// A booking that happened on host index `host` (its start and length are facts).
    Booked { host: usize },
    /// A request refused for lack of GPUs; `host` `None` is `book any`. It wanted to start at
    /// its start and would not wait.
    Refused { host: Option<usize> },
    /// A wait-list request: it could start any time from `asked_at` until
    /// `asked_at + within - length`.
    Waited { host: Option<usize>, within: i64 },
}

/// One request for GPUs, as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    pub kind: DemandKind,
    pub gpus: u32,
    pub asked_at: i64,
    pub start: i64,
    pub length: i64,
}

/// One replay's result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replay {
    /// GPU-hours of the refused and waiting requests that found no room.
    pub unmet_gpu_hours: f64,
    pub unmet_requests: u32,
    /// Refused and waiting requests that got GPUs.
    pub served_requests: u32,
    /// Seconds each served wait-list request waited, sorted (for percentiles).
    pub waits: Vec<i64>,
}

impl Replay {
    /// The wait at or below which a share `p` of the served wait-list requests started
    /// (nearest rank); `None` when none was served.
    pub fn wait_percentile(&self, p: f64) -> Option<i64> {
        let n = self.waits.len();
        (n > 0).then(|| self.waits[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
    }
}

/// GPU intervals placed on one host: `(start, end, gpus)`.
#[derive(Debug, Clone, Default)]
struct HostLoad {
    gpus: u32,
    placed: Vec<(i64, i64, u32)>,
}

impl HostLoad {
    /// The most GPUs in use at once during `[start, end)`.
    fn peak(&self, start: i64, end: i64) -> u32 {
        let mut edges: Vec<(i64, i64)> = Vec::new();
        for &(s, e, g) in &self.placed {
            let (s, e) = (s.max(start), e.min(end));
            if s < e {
                edges.push((s, i64::from(g)));
                edges.push((e, -i64::from(g)));
            }
        }
        edges.sort_unstable();
        let (mut level, mut peak) = (0i64, 0i64);
        for (_, delta) in edges {
            level += delta;
            peak = peak.max(level);
        }
        peak.max(0) as u32
    }

    fn fits(&self, gpus: u32, start: i64, length: i64) -> bool {
        gpus <= self.gpus && self.peak(start, start + length) + gpus <= self.gpus
    }

    /// The earliest start in `[earliest, latest]` at which `gpus` fit for `length`: only the
    /// end of something placed can make room, so those are the only candidates after
    /// `earliest`.
    fn earliest_fit(&self, gpus: u32, length: i64, earliest: i64, latest: i64) -> Option<i64> {
        if gpus > self.gpus || latest < earliest {
            return None;
        }
        let mut candidates: Vec<i64> = std::iter::once(earliest)
            .chain(
                self.placed
                    .iter()
                    .map(|p| p.1)
                    .filter(|end| *end > earliest && *end <= latest),
            )
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .find(|start| self.fits(gpus, *start, length))
    }
}

/// Replays `demand` on hosts of the given GPU counts; hosts from index `existing` on are the
/// added ones.
fn replay_on(hosts: &[u32], existing: usize, demand: &[Demand]) -> Replay {
    placed_on(hosts, existing, demand).0
}

/// [`replay_on`], with what ended up on each host.
fn placed_on(hosts: &[u32], existing: usize, demand: &[Demand]) -> (Replay, Vec<HostLoad>) {
    let mut loads: Vec<HostLoad> = hosts
        .iter()
        .map(|gpus| HostLoad {
            gpus: *gpus,
            placed: Vec::new(),
        })
        .collect();
    for d in demand {
        if let DemandKind::Booked { host } = d.kind
            && let Some(load) = loads.get_mut(host)
        {
            load.placed
                .push((d.start, d.start + d.length.max(0), d.gpus));
        }
    }
    let mut asked: Vec<(usize, &Demand)> = demand
        .iter()
        .enumerate()
        .filter(|(_, d)| !matches!(d.kind, DemandKind::Booked { .. }))
        .collect();
    asked.sort_by_key(|(i, d)| (d.asked_at, d.start, *i));

    let mut result = Replay::default();
    for (_, d) in asked {
        let (host, earliest, latest) = match d.kind {
            DemandKind::Refused { host } => (host, d.start, d.start),
            DemandKind::Waited { host, within } => (
                host,
                d.asked_at.max(d.start),
                d.asked_at.saturating_add(within).saturating_sub(d.length),
            ),
            DemandKind::Booked { .. } => continue,
        };
        let allowed = |i: usize| match host {
            None => true,
            Some(h) => i == h || i >= existing,
        };
        // Earliest start, then best fit (fewest GPUs left free), then the first host.
        let best = loads
            .iter()
            .enumerate()
            .filter(|(i, _)| allowed(*i))
            .filter_map(|(i, load)| {
                let start = load.earliest_fit(d.gpus, d.length, earliest, latest)?;
                let left = load.gpus - load.peak(start, start + d.length) - d.gpus;
                Some((start, left, i))
            })
            .min();
        match best {
            Some((start, _, i)) => {
                loads[i].placed.push((start, start + d.length, d.gpus));
                result.served_requests += 1;
                if matches!(d.kind, DemandKind::Waited { .. }) {
                    result.waits.push(start - d.asked_at);
                }
            }
            None => {
                result.unmet_requests += 1;
                result.unmet_gpu_hours += f64::from(d.gpus) * d.length.max(0) as f64 / 3600.0;
            }
        }
    }
    result.waits.sort_unstable();
    (result, loads)
}

/// Replays `demand` on the fleet `hosts` (GPUs per host).
pub fn replay(hosts: &[u32], demand: &[Demand]) -> Replay {
    replay_on(hosts, hosts.len(), demand)
}

/// The same demand replayed on the fleet as it is and with the addition.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIf {
    pub weeks: u32,
    pub addition: Addition,
    pub capacity_now: u32,
    pub capacity_after: u32,
    /// Asked requests (refused and waiting) in the replay.
    pub requests: u32,
    pub now: Replay,
    pub after: Replay,
}

pub fn what_if(hosts: &[u32], addition: Addition, demand: &[Demand], weeks: u32) -> WhatIf {
    let mut larger = hosts.to_vec();
    larger.extend(std::iter::repeat_n(
        addition.gpus_per_host,
        addition.hosts as usize,
    ));
    let now = replay(hosts, demand);
    let after = replay_on(&larger, hosts.len(), demand);
    WhatIf {
        weeks,
        addition,
        capacity_now: hosts.iter().sum(),
        capacity_after: larger.iter().sum(),
        requests: now.served_requests + now.unmet_requests,
        now,
        after,
    }
}

/// `2 more hosts of 8 GPUs` / `1 more host of 4 GPUs`.
fn addition_words(a: Addition) -> String {
    let hosts = if a.hosts == 1 {
        "1 more host".to_owned()
    } else {
        format!("{} more hosts", a.hosts)
    };
    format!("{hosts} of {} GPUs", a.gpus_per_host)
}

fn wait_words(seconds: Option<i64>) -> String {
    match seconds {
        None => "–".to_owned(),
        Some(s) if s < 60 => "0 min".to_owned(),
        Some(s) => maison_command::format_duration(chrono::Duration::seconds(s / 60 * 60)),
    }
}

/// The reply: the comparison, the assumptions, and one sentence.
pub fn build(w: &WhatIf) -> Reply {
    let added = addition_words(w.addition);
    let header = format!("What if: {added}");
    if w.requests == 0 {
        let text = format!(
            "In the last {} weeks no request was refused or waited for GPUs, so {added} would \
             have changed nothing: demand always fitted the {} GPUs there are.",
            w.weeks, w.capacity_now
        );
        return Reply::with_blocks(
            Visibility::Ephemeral,
            text.clone(),
            vec![Block::Header(header), Block::Section(text)],
        );
    }
    let line =
        |label: &str, now: String, after: String| format!("{label:<26} {now:>10} {after:>10}");
    let table = [
        line(
            "",
            format!("{} GPUs", w.capacity_now),
            format!("{} GPUs", w.capacity_after),
        ),
        line(
            "unmet GPU-hours",
            hours_f(w.now.unmet_gpu_hours),
            hours_f(w.after.unmet_gpu_hours),
        ),
        line(
            "requests left without",
            w.now.unmet_requests.to_string(),
            w.after.unmet_requests.to_string(),
        ),
        line(
            "wait p50 (wait-list)",
            wait_words(w.now.wait_percentile(0.5)),
            wait_words(w.after.wait_percentile(0.5)),
        ),
        line(
            "wait p90 (wait-list)",
            wait_words(w.now.wait_percentile(0.9)),
            wait_words(w.after.wait_percentile(0.9)),
        ),
    ]
    .join("\n");
    let median = |r: &Replay| wait_words(r.wait_percentile(0.5));
    let mut conclusion = format!(
        "With {added}, the last {} weeks would have left *{}* GPU-hours unmet instead of {}",
        w.weeks,
        hours_f(w.after.unmet_gpu_hours),
        hours_f(w.now.unmet_gpu_hours)
    );
    if !w.now.waits.is_empty() || !w.after.waits.is_empty() {
        conclusion.push_str(&format!(
            ", and the median wait would have been {} instead of {}",
            median(&w.after),
            median(&w.now)
        ));
    }
    conclusion.push('.');
    let blocks = vec![
        Block::Header(header),
        Block::Section(conclusion.clone()),
        Block::Section(format!("```\n{table}\n```")),
        Block::Context(format!(
            "Replayed: {} refused or waiting request(s) of the last {} weeks, around the \
             bookings that were made. A request for one host may take a new host, not another \
             existing one; refused requests wanted their start time, wait-list requests could \
             start until their --within deadline.",
            w.requests, w.weeks
        )),
    ];
    Reply::with_blocks(Visibility::Ephemeral, conclusion, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    fn booked(host: usize, gpus: u32, start: i64, hours: i64) -> Demand {
        Demand {
            kind: DemandKind::Booked { host },
            gpus,
            asked_at: start,
            start,
            length: hours * H,
        }
    }

    fn refused(host: Option<usize>, gpus: u32, start: i64, hours: i64) -> Demand {
        Demand {
            kind: DemandKind::Refused { host },
            gpus,
            asked_at: start,
            start,
            length: hours * H,
        }
    }

    fn waited(host: Option<usize>, gpus: u32, asked_at: i64, hours: i64, within: i64) -> Demand {
        Demand {
            kind: DemandKind::Waited { host, within },
            gpus,
            asked_at,
            start: asked_at,
            length: hours * H,
        }
    }

    const GROW: Addition = Addition {
        hosts: 1,
        gpus_per_host: 2,
    };

    #[test]
    fn an_added_host_serves_what_was_refused() {
        let demand = [
            booked(0, 2, 0, 4),
            refused(Some(0), 1, H, 2),
            refused(Some(0), 2, 0, 3),
        ];
        let w = what_if(&[2], GROW, &demand, 8);
        assert_eq!(w.now.unmet_requests, 2);
        assert!((w.now.unmet_gpu_hours - 8.0).abs() < 1e-9);
        // The new host of 2 takes the 2-GPU request at 0–3; the 1-GPU one at 1–3 no longer fits.
        assert!(
            (w.after.unmet_gpu_hours - 2.0).abs() < 1e-9,
            "{:?}",
            w.after
        );
        assert_eq!((w.after.served_requests, w.after.unmet_requests), (1, 1));
        assert_eq!((w.capacity_now, w.capacity_after), (2, 4));
    }

    #[test]
    fn a_waiting_request_starts_when_a_booking_ends() {
        let demand = [booked(0, 2, 0, 3), waited(Some(0), 2, H, 1, 6 * H)];
        let r = replay(&[2], &demand);
        assert_eq!(r.waits, [2 * H]);
        assert_eq!(r.served_requests, 1);
        // Within too short to be over in time: unmet.
        let r = replay(&[2], &[booked(0, 2, 0, 3), waited(Some(0), 2, H, 1, 2 * H)]);
        assert_eq!(r.unmet_requests, 1);
        assert!((r.unmet_gpu_hours - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_host_request_never_moves_to_another_existing_host() {
        let demand = [booked(0, 2, 0, 4), refused(Some(0), 1, 0, 1)];
        assert_eq!(replay(&[2, 8], &demand).unmet_requests, 1);
        // `book any` takes the free host.
        assert_eq!(
            replay(&[2, 8], &[booked(0, 2, 0, 4), refused(None, 1, 0, 1)]).unmet_requests,
            0
        );
        // An added host is allowed.
        let w = what_if(&[2, 8], GROW, &demand, 8);
        assert_eq!(w.after.unmet_requests, 0);
    }

    #[test]
    fn too_big_for_any_host_stays_unmet_and_overfull_bookings_do_not_panic() {
        let w = what_if(&[2], GROW, &[refused(None, 3, 0, 1)], 8);
        assert_eq!(w.after.unmet_requests, 1);
        // A booking on a host that has shrunk since: kept, nothing else fits beside it.
        let r = replay(&[1], &[booked(0, 4, 0, 2), refused(Some(0), 1, 0, 1)]);
        assert_eq!(r.unmet_requests, 1);
        let r = replay(&[1], &[booked(7, 1, 0, 2)]);
        assert_eq!(r, Replay::default());
    }

    #[test]
    fn best_fit_keeps_the_big_hole() {
        // Host 0 has 1 free GPU, host 1 has 8: a 1-GPU request goes to host 0, so a later
        // 8-GPU request still fits on host 1.
        let demand = [
            booked(0, 1, 0, 4),
            refused(None, 1, 0, 1),
            refused(None, 8, 0, 1),
        ];
        assert_eq!(replay(&[2, 8], &demand).unmet_requests, 0);
    }

    #[test]
    fn adding_nothing_changes_nothing() {
        let demand = [
            booked(0, 2, 0, 4),
            refused(Some(0), 1, H, 2),
            waited(None, 2, 0, 1, 3 * H),
        ];
        let w = what_if(
            &[2],
            Addition {
                hosts: 0,
                gpus_per_host: 8,
            },
            &demand,
            8,
        );
        assert_eq!(w.now, w.after);
    }

    #[test]
    fn the_reply_states_the_numbers() {
        let demand = [
            booked(0, 2, 0, 4),
            refused(Some(0), 2, 0, 3),
            waited(Some(0), 2, 0, 1, 10 * H),
        ];
        let reply = build(&what_if(&[2], GROW, &demand, 8));
        assert!(
            reply.text.starts_with(
                "With 1 more host of 2 GPUs, the last 8 weeks would have left *0.0* GPU-hours \
                 unmet instead of 6.0, and the median wait would have been 3h instead of 4h"
            ),
            "{}",
            reply.text
        );
        let table = reply.to_terminal();
        assert!(table.contains("2 GPUs"), "{table}");
        assert!(table.contains("4 GPUs"), "{table}");
        let quiet = build(&what_if(&[2], GROW, &[booked(0, 1, 0, 1)], 4));
        assert!(
            quiet.text.contains("would have changed nothing"),
            "{}",
            quiet.text
        );
    }

    /// Random demand: every asked request is served or unmet, and no host is ever over its
    /// GPUs except where real bookings already were.
    #[test]
    fn replays_respect_capacity_on_random_demand() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..300 {
            let hosts: Vec<u32> = (0..rng.usize(1..4)).map(|_| rng.u32(1..9)).collect();
            let mut demand = Vec::new();
            for _ in 0..rng.usize(0..25) {
                let host = rng.usize(0..hosts.len());
                let gpus = rng.u32(1..10);
                let start = rng.i64(0..48) * H / 2;
                let hours = rng.i64(1..6);
                demand.push(match rng.u8(0..3) {
                    0 => booked(host, gpus.min(hosts[host]), start, hours),
                    1 => refused(rng.bool().then_some(host), gpus, start, hours),
                    _ => waited(
                        rng.bool().then_some(host),
                        gpus,
                        start,
                        hours,
                        rng.i64(1..30) * H,
                    ),
                });
            }
            let asked = demand
                .iter()
                .filter(|d| !matches!(d.kind, DemandKind::Booked { .. }))
                .count() as u32;
            let w = what_if(&hosts, GROW, &demand, 1);
            for r in [&w.now, &w.after] {
                assert_eq!(r.served_requests + r.unmet_requests, asked);
                assert!(r.unmet_gpu_hours >= 0.0);
                assert!(r.waits.iter().all(|w| *w >= 0));
            }
            // Real bookings may over-fill a host; what the replay adds never does: over the
            // span of every request it placed, the host holds at most its GPUs.
            let mut larger = hosts.clone();
            larger.push(GROW.gpus_per_host);
            for fleet in [&hosts, &larger] {
                let (replayed, loads) = placed_on(fleet, hosts.len(), &demand);
                assert_eq!(replayed.served_requests + replayed.unmet_requests, asked);
                for (i, load) in loads.iter().enumerate() {
                    let booked = demand
                        .iter()
                        .filter(|d| d.kind == DemandKind::Booked { host: i })
                        .count();
                    for &(start, end, _) in &load.placed[booked..] {
                        assert!(load.peak(start, end) <= load.gpus, "{load:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn five_thousand_requests_replay() {
        let mut rng = fastrand::Rng::with_seed(9);
        let hosts = vec![8u32; 100];
        let demand: Vec<Demand> = (0..5_000)
            .map(|i| {
                let start = i64::from(i) * 120;
                match rng.u8(0..4) {
                    0 | 1 => booked(rng.usize(0..100), rng.u32(1..5), start, rng.i64(1..8)),
                    2 => refused(Some(rng.usize(0..100)), rng.u32(1..9), start, rng.i64(1..4)),
                    _ => waited(None, rng.u32(1..9), start, rng.i64(1..4), 12 * H),
                }
            })
            .collect();
        let w = what_if(
            &hosts,
            Addition {
                hosts: 2,
                gpus_per_host: 8,
            },
            &demand,
            4,
        );
        assert_eq!(w.requests, w.after.served_requests + w.after.unmet_requests);
    }
}
