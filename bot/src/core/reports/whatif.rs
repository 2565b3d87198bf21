//! The what-if report (`/maison report what-if +2 hosts of 8`): would more GPUs have helped?
//! It replays the last weeks' GPU demand — bookings that happened, booking requests refused for
//! lack of GPUs, and wait-list requests — against the fleet as it is and against the fleet grown
//! by an [`Addition`], and compares the GPU-hours and waits each would have left.
//!
//! [`replay`] and [`what_if`] do the arithmetic, [`build`] writes the message; all pure.
//!
//! # The model
//!
//! A replay re-runs the demand greedily, without hindsight, in this order:
//!
//! 1. **Bookings that happened** ([`DemandKind::Booked`]) are placed first, at their real start
//!    on their real host. They are facts: never moved and never dropped, even where they add up
//!    to more GPUs than the host has now (they did fit in reality). A booking on a host index
//!    outside the fleet is ignored.
//! 2. **Refused and wait-list requests** follow in the order they were asked (`asked_at`; ties
//!    by the start they wanted, then by their place in the input). A request that named a host
//!    may use that host or any *added* host — someone refused on gpu03 would have taken the new
//!    machine, but not gpu04, which they did not ask for; a named host outside the fleet leaves
//!    only the added ones. `book any` may use any host. Among the hosts it may use, the replay
//!    takes the one where it can start earliest; at the same start, the one with the fewest
//!    free GPUs that still fit (best fit, keeping roomy hosts for big requests, as the wait-list
//!    does); then the lower index (added hosts come after the fleet's).
//! 3. A **refused** request is served only if it fits at exactly the start it wanted, for its
//!    whole length: it would not have waited.
//! 4. A **wait-list** request takes the earliest start in
//!    `[max(asked_at, start), asked_at + within − length]` where it fits. The only starts worth
//!    trying are the window's first instant and the ends of intervals placed on the host inside
//!    the window: a fit that is not possible at an instant only becomes possible where GPUs are
//!    given back. Its wait is `start − asked_at`.
//! 5. **Fits** means: at every instant of `[start, start + length)`, the GPUs placed on the host
//!    plus the request's are at most the host's GPUs. A request bigger than every host it may
//!    use is never served.
//!
//! A request not served counts as unmet: `gpus × length` GPU-hours.
//!
//! What the model leaves out, and the reply says so: demand nobody expressed because the fleet
//! looked full, GPU models and memory (any GPU suits any request), and the wait-list's fair-share
//! order (the replay serves in arrival order).
//!
//! Each host keeps its load as a step function (a sorted map from instant to GPUs placed from
//! then on), so checking or placing a request costs a logarithm plus the steps it crosses on
//! that host; a `book any` request looks at every host once, stopping early on hosts that cannot
//! beat the best start found so far. Both replays of 50,000 pieces of demand (eight weeks of a
//! 500-host fleet, a fifth of the requests `book any`) took under 6 s together in a debug build.

use std::collections::BTreeMap;
use std::ops::Bound;

use maison_command::Lang;

use super::{hours_f, pct};
use crate::core::render::{Block, Reply, Visibility};
use crate::tr;

/// Capacity added in the what-if: `hosts` new hosts of `gpus_per_host` GPUs each. The question
/// a buyer asks ("two more 8-GPU machines?"); `+4 gpus` is one host of 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addition {
    /// New hosts; requests that named a host may use them too.
    pub hosts: u32,
    /// GPUs of each new host: what the biggest request it can take is.
    pub gpus_per_host: u32,
}

impl Addition {
    /// The GPUs added in all, for the fleet's size after.
    pub fn gpus(&self) -> u32 {
        self.hosts.saturating_mul(self.gpus_per_host)
    }

    /// The addition as the reply names it: `2 more hosts of 8 GPUs`, `GPU 8 基のホスト 2 台`.
    pub fn label(&self, lang: Lang) -> String {
        tr!(
            lang,
            "whatif-addition",
            hosts = self.hosts,
            gpus = self.gpus_per_host
        )
    }
}

/// What a piece of demand was, which decides whether the replay may move or drop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandKind {
    /// A booking that happened on host index `host` (its start and length are facts). Bookings
    /// made from a wait-list offer belong to their [`DemandKind::Waited`] request instead, or
    /// the demand would be counted twice.
    Booked { host: usize },
    /// A request refused for lack of GPUs; `host` None = `book any`. It wanted to start at
    /// `start` and would not wait.
    Refused { host: Option<usize> },
    /// A wait-list request: could start any time from `asked_at` (or its `start`, if later)
    /// until `asked_at + within - length`. `host` None = any host.
    Waited { host: Option<usize>, within: i64 },
}

/// One piece of past demand: `gpus` GPUs for `length` seconds, asked for at `asked_at`, wanted
/// from `start` (Unix seconds). Host indices point into the fleet given to [`replay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// Whether it happened, was refused or waited: how the replay may place it.
    pub kind: DemandKind,
    /// GPUs wanted, all on one host.
    pub gpus: u32,
    /// When it was asked for: the replay's order, and where a wait starts counting.
    pub asked_at: i64,
    /// When it wanted (or, for a booking, did) start.
    pub start: i64,
    /// Seconds it holds the GPUs once started.
    pub length: i64,
}

impl Demand {
    /// GPU-seconds asked: what an unmet request costs.
    fn gpu_seconds(&self) -> i128 {
        i128::from(self.gpus) * i128::from(self.length.max(0))
    }
}

/// One replay's result: what a fleet would have left unmet of the refused and wait-list
/// demand, and how long wait-list requests would have waited.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replay {
    /// GPU-hours of the requests not served.
    pub unmet_gpu_hours: f64,
    /// Refused and wait-list requests not served.
    pub unmet_requests: u32,
    /// Refused + waited requests that got GPUs.
    pub served_requests: u32,
    /// Wait (`start − asked_at`, seconds) of each wait-list request served, sorted ascending,
    /// so any percentile can be read off ([`Replay::wait_percentile`]).
    pub waits: Vec<i64>,
}

impl Replay {
    /// Refused and wait-list requests replayed: the base of the served share.
    pub fn requests(&self) -> u32 {
        self.served_requests + self.unmet_requests
    }

    /// The nearest-rank percentile of the waits (the smallest wait with at least `p` of them at
    /// or below it), as the weekly report reads the wait-list's; `None` when nobody waited.
    pub fn wait_percentile(&self, p: f64) -> Option<i64> {
        let n = self.waits.len();
        (n > 0).then(|| self.waits[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
    }

    /// The median wait, the headline of the comparison.
    pub fn wait_p50(&self) -> Option<i64> {
        self.wait_percentile(0.5)
    }

    /// The 90th-percentile wait: how long the unlucky ones waited.
    pub fn wait_p90(&self) -> Option<i64> {
        self.wait_percentile(0.9)
    }
}

/// Replays `demand` on the fleet as it is: `hosts` holds each host's GPUs, indexed as the
/// demand's hosts are. The rules are the module's.
pub fn replay(hosts: &[u32], demand: &[Demand]) -> Replay {
    replay_with(hosts, NO_ADDITION, demand)
}

/// Replays `demand` on the fleet grown by `addition`: its hosts come after `hosts` (indices
/// `hosts.len()..`) and any request may use them.
pub fn replay_with(hosts: &[u32], addition: Addition, demand: &[Demand]) -> Replay {
    replay_placing(hosts, addition, demand).0
}

/// The what-if's answer: the same demand replayed on the fleet now and with the addition.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIf {
    /// How many weeks of demand were replayed, for the reply's wording.
    pub weeks: u32,
    /// The capacity asked about.
    pub addition: Addition,
    /// GPUs in the fleet now, and with the addition.
    pub capacity_now: u32,
    pub capacity_after: u32,
    /// The demand replayed on the fleet as it is: the baseline.
    pub now: Replay,
    /// The same demand on the grown fleet: what the addition would have bought.
    pub after: Replay,
}

/// Replays `demand` (the last `weeks` weeks) on the fleet `hosts` now and grown by `addition`.
pub fn what_if(hosts: &[u32], addition: Addition, demand: &[Demand], weeks: u32) -> WhatIf {
    let capacity_now = hosts
        .iter()
        .fold(0u32, |sum, gpus| sum.saturating_add(*gpus));
    WhatIf {
        weeks,
        addition,
        capacity_now,
        capacity_after: capacity_now.saturating_add(addition.gpus()),
        now: replay(hosts, demand),
        after: replay_with(hosts, addition, demand),
    }
}

/// The ephemeral Slack reply: one header, a short comparison (unmet GPU-hours now → with the
/// addition, requests left unserved, p50/p90 wait), what the replay assumed, and a one-sentence
/// conclusion.
pub fn build(w: &WhatIf) -> Reply {
    build_in(w, Lang::En)
}

/// [`build`] in `lang`: `report what-if` answers in the reader's language.
pub fn build_in(w: &WhatIf, lang: Lang) -> Reply {
    let conclusion = conclusion(w, lang);
    let requests = w.now.requests();
    let served = |r: &Replay| {
        tr!(
            lang,
            "whatif-served",
            served = r.served_requests,
            requests = requests,
            share = pct(u64::from(r.served_requests), u64::from(requests))
        )
    };
    let wait = |seconds: Option<i64>| wait_label(seconds, lang);
    let comparison = [
        tr!(
            lang,
            "whatif-gpus",
            now = w.capacity_now,
            after = w.capacity_after
        ),
        tr!(
            lang,
            "whatif-unmet-line",
            now = hours_f(w.now.unmet_gpu_hours),
            after = hours_f(w.after.unmet_gpu_hours)
        ),
        tr!(
            lang,
            "whatif-left-line",
            now = w.now.unmet_requests,
            after = w.after.unmet_requests
        ),
        tr!(
            lang,
            "whatif-served-line",
            now = served(&w.now),
            after = served(&w.after)
        ),
        tr!(
            lang,
            "whatif-wait-line",
            now50 = wait(w.now.wait_p50()),
            after50 = wait(w.after.wait_p50()),
            now90 = wait(w.now.wait_p90()),
            after90 = wait(w.after.wait_p90())
        ),
    ];
    let blocks = vec![
        Block::Header(tr!(
            lang,
            "whatif-header",
            addition = w.addition.label(lang)
        )),
        Block::Section(format!("*{conclusion}*")),
        Block::Section(comparison.join("\n")),
        Block::Context(tr!(
            lang,
            "whatif-assumptions",
            weeks = last_weeks(w.weeks, lang)
        )),
    ];
    Reply::with_blocks(Visibility::Ephemeral, conclusion, blocks)
}

/// The one-sentence answer.
fn conclusion(w: &WhatIf, lang: Lang) -> String {
    let weeks = last_weeks(w.weeks, lang);
    let addition = w.addition.label(lang);
    let median = w
        .now
        .wait_p50()
        .zip(w.after.wait_p50())
        .map(|(now, after)| {
            let (now, after) = (wait_label(Some(now), lang), wait_label(Some(after), lang));
            if now == after {
                tr!(lang, "whatif-median-same", now = now)
            } else {
                tr!(lang, "whatif-median-changed", now = now, after = after)
            }
        });
    if w.addition.gpus() == 0 {
        return tr!(
            lang,
            "whatif-nothing-added",
            weeks = weeks,
            unmet = hours_f(w.now.unmet_gpu_hours)
        );
    }
    if w.now.unmet_requests == 0 {
        let wait = median.map_or(String::new(), |median| {
            tr!(
                lang,
                "whatif-all-met-wait",
                addition = addition.as_str(),
                median = median
            )
        });
        return tr!(lang, "whatif-all-met", weeks = weeks, wait = wait);
    }
    let wait = median.map_or(String::new(), |median| {
        tr!(lang, "whatif-unmet-wait", median = median)
    });
    let now = hours_f(w.now.unmet_gpu_hours);
    if w.after.unmet_requests == 0 {
        tr!(
            lang,
            "whatif-unmet-none",
            addition = addition,
            weeks = weeks,
            now = now,
            wait = wait
        )
    } else {
        tr!(
            lang,
            "whatif-unmet",
            addition = addition,
            weeks = weeks,
            left = hours_f(w.after.unmet_gpu_hours),
            now = now,
            wait = wait
        )
    }
}

/// `the last 8 weeks`, `the last week`, `過去 8 週間`.
fn last_weeks(weeks: u32, lang: Lang) -> String {
    tr!(lang, "whatif-last-weeks", weeks = weeks)
}

/// A wait as people say it: `12 min` under an hour, `2.1 h` under two days, `3.5 d` beyond
/// (`12分`, `2.1時間`, `3.5日`); `–` when there is none.
fn wait_label(seconds: Option<i64>, lang: Lang) -> String {
    let Some(seconds) = seconds else {
        return "–".to_owned();
    };
    let minutes = (seconds as f64 / 60.0).round();
    if minutes < 60.0 {
        tr!(
            lang,
            "whatif-wait-minutes",
            minutes = format!("{minutes:.0}")
        )
    } else if minutes < 48.0 * 60.0 {
        tr!(
            lang,
            "whatif-wait-hours",
            hours = format!("{:.1}", minutes / 60.0)
        )
    } else {
        tr!(
            lang,
            "whatif-wait-days",
            days = format!("{:.1}", minutes / (24.0 * 60.0))
        )
    }
}

/// The fleet as it is.
const NO_ADDITION: Addition = Addition {
    hosts: 0,
    gpus_per_host: 0,
};

/// Where the replay put a piece of demand: host index and start. Kept so tests can check the
/// placements against the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placed {
    demand: usize,
    host: usize,
    start: i64,
}

/// The replay, with where each placed piece of demand went (bookings included).
fn replay_placing(hosts: &[u32], addition: Addition, demand: &[Demand]) -> (Replay, Vec<Placed>) {
    let existing = hosts.len();
    let added = (0..addition.hosts).map(|_| addition.gpus_per_host);
    let mut loads: Vec<HostLoad> = hosts
        .iter()
        .copied()
        .chain(added)
        .map(HostLoad::new)
        .collect();
    let mut placed = Vec::with_capacity(demand.len());

    for (index, d) in demand.iter().enumerate() {
        if let DemandKind::Booked { host } = d.kind
            && let Some(load) = loads.get_mut(host)
        {
            load.place(d.start, d.start.saturating_add(d.length), d.gpus);
            placed.push(Placed {
                demand: index,
                host,
                start: d.start,
            });
        }
    }

    let mut asked: Vec<usize> = demand
        .iter()
        .enumerate()
        .filter(|(_, d)| !matches!(d.kind, DemandKind::Booked { .. }))
        .map(|(index, _)| index)
        .collect();
    asked.sort_unstable_by_key(|&index| (demand[index].asked_at, demand[index].start, index));

    let mut unmet_gpu_seconds: i128 = 0;
    let mut replay = Replay::default();
    for index in asked {
        let d = &demand[index];
        let (named, earliest, latest, waits) = match d.kind {
            DemandKind::Booked { .. } => continue,
            DemandKind::Refused { host } => (host, d.start, d.start, false),
            DemandKind::Waited { host, within } => (
                host,
                d.asked_at.max(d.start),
                d.asked_at.saturating_add(within).saturating_sub(d.length),
                true,
            ),
        };
        let mut best: Option<(Fit, usize)> = None;
        let mut consider = |host: usize| {
            let Some(load) = loads.get(host) else { return };
            // A host that can only start later than the best so far cannot win: stop there.
            let latest = best.map_or(latest, |(fit, _)| latest.min(fit.start));
            if let Some(fit) = load.earliest_fit(d.gpus, d.length, earliest, latest) {
                let better = best.is_none_or(|(old, old_host)| {
                    (fit.start, fit.free, host) < (old.start, old.free, old_host)
                });
                if better {
                    best = Some((fit, host));
                }
            }
        };
        match named {
            Some(host) => {
                if host < existing {
                    consider(host);
                }
                (existing..loads.len()).for_each(&mut consider);
            }
            None => (0..loads.len()).for_each(&mut consider),
        }
        match best {
            Some((fit, host)) => {
                loads[host].place(fit.start, fit.start.saturating_add(d.length), d.gpus);
                placed.push(Placed {
                    demand: index,
                    host,
                    start: fit.start,
                });
                replay.served_requests += 1;
                if waits {
                    replay.waits.push(fit.start - d.asked_at);
                }
            }
            None => {
                replay.unmet_requests += 1;
                unmet_gpu_seconds += d.gpu_seconds();
            }
        }
    }
    replay.waits.sort_unstable();
    replay.unmet_gpu_hours = unmet_gpu_seconds as f64 / 3600.0;
    (replay, placed)
}

/// Where a request fits on one host: its start, and the GPUs left free there at the busiest
/// instant of its window before it is placed (for best fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fit {
    start: i64,
    free: u64,
}

/// One host's GPUs and what is placed on it, as a step function: `steps[t]` is the number of
/// GPUs placed from `t` until the next key (nothing before the first key; the last key's level
/// is what runs forever, so 0 once every interval has ended). Levels are `u64` so that bookings
/// over-filling a host cannot overflow.
struct HostLoad {
    gpus: u32,
    steps: BTreeMap<i64, u64>,
}

impl HostLoad {
    fn new(gpus: u32) -> Self {
        Self {
            gpus,
            steps: BTreeMap::new(),
        }
    }

    /// GPUs placed at instant `at`.
    fn level_at(&self, at: i64) -> u64 {
        self.steps
            .range(..=at)
            .next_back()
            .map_or(0, |(_, level)| *level)
    }

    /// Adds `gpus` over `[start, end)`, without checking they fit (bookings may over-fill).
    fn place(&mut self, start: i64, end: i64, gpus: u32) {
        if end <= start || gpus == 0 {
            return;
        }
        // Steps at both ends first, so the levels between them are the only ones that change.
        for at in [end, start] {
            let level = self.level_at(at);
            self.steps.entry(at).or_insert(level);
        }
        for (_, level) in self.steps.range_mut(start..end) {
            *level += u64::from(gpus);
        }
    }

    /// The earliest start in `[earliest, latest]` where `gpus` GPUs fit for `length` seconds.
    ///
    /// One sweep over the steps from `earliest`: while the window from the candidate start is
    /// clear, it grows; a step too full for the request moves the candidate to the next step
    /// (where GPUs are given back — the only starts worth trying). Stops as soon as the window
    /// is clear for `length`, or the candidate passes `latest`.
    fn earliest_fit(&self, gpus: u32, length: i64, earliest: i64, latest: i64) -> Option<Fit> {
        if earliest > latest {
            return None;
        }
        let most = u64::from(self.gpus).checked_sub(u64::from(gpus))?;
        let mut start = earliest;
        let mut peak = 0u64;
        let mut blocked = false;
        let first = (earliest, self.level_at(earliest));
        let later = self
            .steps
            .range((Bound::Excluded(earliest), Bound::Unbounded))
            .map(|(at, level)| (*at, *level));
        for (at, level) in std::iter::once(first).chain(later) {
            if blocked {
                if at > latest {
                    return None;
                }
                start = at;
                peak = 0;
                blocked = false;
            } else if at >= start.saturating_add(length) {
                break;
            }
            if level > most {
                blocked = true;
            } else {
                peak = peak.max(level);
            }
        }
        (!blocked).then(|| Fit {
            start,
            free: u64::from(self.gpus) - peak,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3600;

    fn booked(host: usize, gpus: u32, start: i64, length: i64) -> Demand {
        Demand {
            kind: DemandKind::Booked { host },
            gpus,
            asked_at: start,
            start,
            length,
        }
    }

    fn refused(host: Option<usize>, gpus: u32, start: i64, length: i64) -> Demand {
        Demand {
            kind: DemandKind::Refused { host },
            gpus,
            asked_at: start,
            start,
            length,
        }
    }

    fn waited(host: Option<usize>, gpus: u32, asked_at: i64, length: i64, within: i64) -> Demand {
        Demand {
            kind: DemandKind::Waited { host, within },
            gpus,
            asked_at,
            start: asked_at,
            length,
        }
    }

    fn hosts_of(hosts: u32, gpus_per_host: u32) -> Addition {
        Addition {
            hosts,
            gpus_per_host,
        }
    }

    /// Where demand `index` went, if it was placed.
    fn placement(placed: &[Placed], index: usize) -> Option<(usize, i64)> {
        placed
            .iter()
            .find(|p| p.demand == index)
            .map(|p| (p.host, p.start))
    }

    /// One 4-GPU host, full for 10 hours; three refusals inside that time.
    fn refusals_on_a_full_host() -> (Vec<u32>, Vec<Demand>) {
        let demand = vec![
            booked(0, 4, 0, 10 * H),
            // 2 GPUs × 3 h on the full host: 6 GPU-h.
            refused(Some(0), 2, 2 * H, 3 * H),
            // All 4 of any host × 1 h while the first would hold 2 of a new one: 4 GPU-h.
            refused(None, 4, 3 * H, H),
            // All 4 of any host × 2 h from when the first would have ended: 8 GPU-h.
            refused(None, 4, 5 * H, 2 * H),
        ];
        (vec![4], demand)
    }

    #[test]
    fn refusals_become_served_with_one_added_host() {
        let (hosts, demand) = refusals_on_a_full_host();
        let w = what_if(&hosts, hosts_of(1, 4), &demand, 8);
        assert_eq!(w.now.unmet_requests, 3);
        assert_eq!(w.now.served_requests, 0);
        assert_eq!(w.now.unmet_gpu_hours, 18.0);
        // The new host takes the first and the third; the second overlaps the first.
        assert_eq!(w.after.unmet_requests, 1);
        assert_eq!(w.after.served_requests, 2);
        assert_eq!(w.after.unmet_gpu_hours, 4.0);
        assert_eq!((w.capacity_now, w.capacity_after), (4, 8));
        let (_, placed) = replay_placing(&hosts, hosts_of(1, 4), &demand);
        assert_eq!(placement(&placed, 1), Some((1, 2 * H)));
        assert_eq!(placement(&placed, 2), None);
        assert_eq!(placement(&placed, 3), Some((1, 5 * H)));
    }

    #[test]
    fn a_waited_request_starts_when_a_booking_ends() {
        // Both GPUs booked until 3 h, one more until 4 h; one GPU asked at 1 h for 1 h.
        let demand = [
            booked(0, 2, 0, 3 * H),
            booked(0, 1, 3 * H, H),
            waited(Some(0), 1, H, H, 5 * H),
        ];
        let r = replay(&[2], &demand);
        assert_eq!(r.served_requests, 1);
        assert_eq!(r.waits, [2 * H]);
        assert_eq!(r.wait_p50(), Some(2 * H));
        assert_eq!(r.unmet_gpu_hours, 0.0);
        // Two GPUs must wait for the second booking to end too.
        let demand = [
            booked(0, 2, 0, 3 * H),
            booked(0, 1, 3 * H, H),
            waited(Some(0), 2, H, H, 5 * H),
        ];
        assert_eq!(replay(&[2], &demand).waits, [3 * H]);
    }

    #[test]
    fn a_within_too_short_leaves_the_request_unmet() {
        let full_until_3h = booked(0, 2, 0, 3 * H);
        // Latest start 1 h + 2 h − 1 h = 2 h, before the GPUs are back at 3 h.
        let r = replay(&[2], &[full_until_3h, waited(Some(0), 1, H, H, 2 * H)]);
        assert_eq!((r.served_requests, r.unmet_requests), (0, 1));
        assert_eq!(r.unmet_gpu_hours, 1.0);
        assert!(r.waits.is_empty());
        // Exactly long enough: starting at the latest start is allowed.
        let r = replay(&[2], &[full_until_3h, waited(Some(0), 1, H, H, 3 * H)]);
        assert_eq!((r.served_requests, r.unmet_requests), (1, 0));
        assert_eq!(r.waits, [2 * H]);
    }

    #[test]
    fn a_named_host_excludes_the_other_existing_hosts_but_not_added_ones() {
        let hosts = [2, 2];
        let demand = [booked(0, 2, 0, 10 * H), refused(Some(0), 1, H, H)];
        let r = replay(&hosts, &demand);
        assert_eq!(r.unmet_requests, 1, "host 1 was free but not asked for");
        let (r, placed) = replay_placing(&hosts, hosts_of(1, 2), &demand);
        assert_eq!(r.unmet_requests, 0);
        assert_eq!(placement(&placed, 1), Some((2, H)));
        // The same goes for a wait-list request.
        let demand = [booked(0, 2, 0, 10 * H), waited(Some(0), 1, H, H, 2 * H)];
        assert_eq!(replay(&hosts, &demand).unmet_requests, 1);
        assert_eq!(replay_with(&hosts, hosts_of(1, 2), &demand).waits, [0]);
    }

    #[test]
    fn book_any_uses_any_host_the_earliest_then_the_fullest() {
        let hosts = [2, 2];
        let demand = [booked(0, 2, 0, 10 * H), refused(None, 1, H, H)];
        let (r, placed) = replay_placing(&hosts, NO_ADDITION, &demand);
        assert_eq!(r.served_requests, 1);
        assert_eq!(placement(&placed, 1), Some((1, H)));
        // Best fit: the small host, then (the big one half used) the big one.
        let hosts = [8, 2, 8];
        let demand = [
            booked(2, 4, 0, 10 * H),
            refused(None, 2, H, H),
            refused(None, 4, H, H),
        ];
        let (_, placed) = replay_placing(&hosts, NO_ADDITION, &demand);
        assert_eq!(placement(&placed, 1), Some((1, H)));
        assert_eq!(placement(&placed, 2), Some((2, H)));
        // An earlier start beats a better fit.
        let hosts = [2, 8];
        let demand = [booked(0, 2, 0, H), waited(None, 2, 0, H, 10 * H)];
        let (r, placed) = replay_placing(&hosts, NO_ADDITION, &demand);
        assert_eq!(placement(&placed, 1), Some((1, 0)));
        assert_eq!(r.waits, [0]);
    }

    #[test]
    fn a_request_bigger_than_any_host_stays_unmet() {
        let demand = [refused(None, 8, 0, H), waited(None, 8, 0, 2 * H, 100 * H)];
        let w = what_if(&[4, 4], hosts_of(3, 4), &demand, 1);
        for r in [&w.now, &w.after] {
            assert_eq!((r.served_requests, r.unmet_requests), (0, 2));
            assert_eq!(r.unmet_gpu_hours, 24.0);
        }
        // A big enough new host serves both.
        assert_eq!(
            replay_with(&[4, 4], hosts_of(1, 8), &demand).unmet_requests,
            0
        );
    }

    #[test]
    fn bookings_over_filling_a_host_are_kept() {
        let demand = [
            booked(0, 3, 0, 2 * H),
            booked(0, 3, H, 2 * H),
            booked(7, 1, 0, H), // A host no longer in the fleet.
            refused(Some(0), 1, 2 * H, H),
            waited(Some(0), 2, 0, H, 10 * H),
        ];
        let r = replay(&[2], &demand);
        assert_eq!(r.unmet_requests, 1);
        assert_eq!(r.unmet_gpu_hours, 1.0);
        assert_eq!(r.waits, [3 * H]);
    }

    #[test]
    fn adding_nothing_changes_nothing() {
        let mut rng = fastrand::Rng::with_seed(7);
        let demand = random_demand(&mut rng, 500, 5);
        let hosts = [8, 4, 8, 2, 8];
        for addition in [hosts_of(0, 8), hosts_of(0, 0)] {
            let w = what_if(&hosts, addition, &demand, 8);
            assert_eq!(w.after, w.now);
            assert_eq!(w.capacity_after, w.capacity_now);
        }
        // The demand is not trivial: something is unmet, and more GPUs change that.
        let w = what_if(&hosts, hosts_of(2, 8), &demand, 8);
        assert!(w.now.unmet_requests > 0 && w.after.unmet_gpu_hours < w.now.unmet_gpu_hours);
    }

    #[test]
    fn the_reply_compares_the_numbers_and_concludes() {
        let (hosts, demand) = refusals_on_a_full_host();
        let reply = build(&what_if(&hosts, hosts_of(1, 4), &demand, 8));
        assert_eq!(reply.visibility, Visibility::Ephemeral);
        assert_eq!(
            reply.text,
            "With 1 more host of 4 GPUs, the last 8 weeks would have left 4.0 GPU-hours unmet \
             instead of 18.0."
        );
        let shown = reply.to_terminal();
        for expected in [
            "== What if: 1 more host of 4 GPUs ==",
            "GPUs: 4 now → 8",
            "Unmet: 18.0 GPU-h → 4.0 GPU-h",
            "Requests left without GPUs: 3 → 1",
            "Requests served: 0 of 3 (0%) → 2 of 3 (67%)",
            "Wait-list wait p50: – → – · p90: – → –",
            "Replays the last 8 weeks",
        ] {
            assert!(shown.contains(expected), "{expected:?} not in\n{shown}");
        }

        // Waits: two hours with the fleet as it is, none with a second host.
        let demand = [booked(0, 2, 0, 3 * H), waited(Some(0), 1, H, H, 5 * H)];
        let reply = build(&what_if(&[2], hosts_of(2, 8), &demand, 1));
        assert_eq!(
            reply.text,
            "The fleet as it is met every request of the last week; with 2 more hosts of 8 GPUs \
             the median wait would have been 0 min instead of 2.0 h."
        );
        let shown = reply.to_terminal();
        assert!(
            shown.contains("Wait-list wait p50: 2.0 h → 0 min · p90: 2.0 h → 0 min"),
            "{shown}"
        );
        let demand = [
            booked(0, 2, 0, 3 * H),
            waited(Some(0), 1, H, H, 5 * H),
            refused(Some(0), 2, 0, 30 * H),
        ];
        assert_eq!(
            build(&what_if(&[2], hosts_of(1, 2), &demand, 8)).text,
            "With 1 more host of 2 GPUs, the last 8 weeks would have left no GPU-hours unmet \
             instead of 60.0, and the median wait would have stayed at 2.0 h."
        );
    }

    /// Every shape of the answer, in both languages: unmet demand left, all of it met, the
    /// fleet already enough (with and without waits), and nothing added.
    #[test]
    fn what_if_answers_in_both_languages() {
        let (hosts, full) = refusals_on_a_full_host();
        let waited_demand = [booked(0, 2, 0, 3 * H), waited(Some(0), 1, H, H, 5 * H)];
        let mixed = [
            booked(0, 2, 0, 3 * H),
            waited(Some(0), 1, H, H, 5 * H),
            refused(Some(0), 2, 0, 30 * H),
        ];
        let cases = [
            what_if(&hosts, hosts_of(1, 4), &full, 8),
            what_if(&[2], hosts_of(2, 8), &waited_demand, 1),
            what_if(&[2], hosts_of(1, 2), &mixed, 8),
            what_if(&[2], hosts_of(1, 1), &mixed, 8),
            what_if(&hosts, hosts_of(0, 8), &full, 8),
            what_if(&[8], hosts_of(1, 8), &[booked(0, 2, 0, H)], 8),
        ];
        for lang in Lang::ALL {
            let page = cases
                .iter()
                .map(|w| build_in(w, lang).to_terminal())
                .collect::<Vec<_>>()
                .join("\n---\n");
            if lang == Lang::Ja {
                for word in [
                    "What if", "GPU-h", "weeks", "Requests", "wait", "min", "Replays",
                ] {
                    assert!(!page.contains(word), "{word:?} left in Japanese:\n{page}");
                }
            }
            insta::assert_snapshot!(format!("what_if_{lang}"), page);
        }
    }

    #[test]
    fn waits_read_naturally() {
        let en = |seconds| wait_label(seconds, Lang::En);
        assert_eq!(en(None), "–");
        assert_eq!(en(Some(0)), "0 min");
        assert_eq!(en(Some(12 * 60 + 10)), "12 min");
        assert_eq!(en(Some(2 * H + 6 * 60)), "2.1 h");
        assert_eq!(en(Some(84 * H)), "3.5 d");
        let ja = |seconds| wait_label(seconds, Lang::Ja);
        assert_eq!(ja(None), "–");
        assert_eq!(ja(Some(12 * 60 + 10)), "12分");
        assert_eq!(ja(Some(2 * H + 6 * 60)), "2.1時間");
        assert_eq!(ja(Some(84 * H)), "3.5日");
    }

    #[test]
    fn a_large_fleet_replays() {
        // 20,000 requests over 100 hosts, a fifth of them `book any`: runs in reasonable time
        // even in a debug build (not timed here, the run itself is the check).
        let mut rng = fastrand::Rng::with_seed(42);
        let demand = random_demand(&mut rng, 20_000, 100);
        let hosts: Vec<u32> = (0..100).map(|i| if i % 4 == 0 { 4 } else { 8 }).collect();
        let w = what_if(&hosts, hosts_of(10, 8), &demand, 8);
        let asked = demand
            .iter()
            .filter(|d| !matches!(d.kind, DemandKind::Booked { .. }))
            .count() as u32;
        assert_eq!(w.now.requests(), asked);
        assert_eq!(w.after.requests(), asked);
    }

    /// `n` pieces of demand over 8 weeks on `hosts` hosts: half bookings, a quarter refusals,
    /// a quarter wait-list requests, a fifth of the requests for any host.
    fn random_demand(rng: &mut fastrand::Rng, n: usize, hosts: usize) -> Vec<Demand> {
        let weeks = 8 * 7 * 24 * H;
        (0..n)
            .map(|_| {
                let asked_at = rng.i64(0..weeks);
                let start = asked_at + rng.i64(0..4) * H;
                let length = rng.i64(1..48) * H / 2;
                let gpus = [1, 1, 2, 4, 8][rng.usize(0..5)];
                let host = rng.usize(0..hosts);
                let named = (rng.u8(0..5) > 0).then_some(host);
                let kind = match rng.u8(0..4) {
                    0 | 1 => DemandKind::Booked { host },
                    2 => DemandKind::Refused { host: named },
                    _ => DemandKind::Waited {
                        host: named,
                        within: length + rng.i64(0..72) * H,
                    },
                };
                Demand {
                    kind,
                    gpus,
                    asked_at,
                    start,
                    length,
                }
            })
            .collect()
    }

    /// The rules read literally, with plain interval lists and no cleverness: what the replay
    /// must agree with. Returns the served requests' placements, in placing order.
    fn reference(hosts: &[u32], addition: Addition, demand: &[Demand]) -> Vec<Placed> {
        let existing = hosts.len();
        let gpus: Vec<u32> = hosts
            .iter()
            .copied()
            .chain((0..addition.hosts).map(|_| addition.gpus_per_host))
            .collect();
        // Per host: (start, end, gpus).
        let mut intervals: Vec<Vec<(i64, i64, u32)>> = vec![Vec::new(); gpus.len()];
        for d in demand {
            if let DemandKind::Booked { host } = d.kind
                && host < gpus.len()
            {
                intervals[host].push((d.start, d.start + d.length, d.gpus));
            }
        }
        // The most GPUs placed at once during [start, end): the level only rises at a start.
        let peak = |list: &[(i64, i64, u32)], start: i64, end: i64| {
            std::iter::once(start)
                .chain(list.iter().map(|i| i.0).filter(|s| *s > start && *s < end))
                .map(|at| {
                    list.iter()
                        .filter(|i| i.0 <= at && at < i.1)
                        .map(|i| u64::from(i.2))
                        .sum::<u64>()
                })
                .max()
                .unwrap_or(0)
        };
        let mut order: Vec<usize> = (0..demand.len())
            .filter(|i| !matches!(demand[*i].kind, DemandKind::Booked { .. }))
            .collect();
        order.sort_by_key(|i| (demand[*i].asked_at, demand[*i].start, *i));
        let mut served = Vec::new();
        for index in order {
            let d = demand[index];
            let (named, lo, hi) = match d.kind {
                DemandKind::Booked { .. } => unreachable!(),
                DemandKind::Refused { host } => (host, d.start, d.start),
                DemandKind::Waited { host, within } => (
                    host,
                    d.asked_at.max(d.start),
                    d.asked_at + within - d.length,
                ),
            };
            let allowed: Vec<usize> = match named {
                Some(h) => (h < existing)
                    .then_some(h)
                    .into_iter()
                    .chain(existing..gpus.len())
                    .collect(),
                None => (0..gpus.len()).collect(),
            };
            let best = allowed
                .into_iter()
                .filter_map(|h| {
                    let list = &intervals[h];
                    let mut candidates: Vec<i64> = std::iter::once(lo)
                        .chain(list.iter().map(|i| i.1).filter(|e| *e > lo && *e <= hi))
                        .filter(|s| *s <= hi)
                        .collect();
                    candidates.sort_unstable();
                    candidates.into_iter().find_map(|s| {
                        let used = peak(list, s, s + d.length);
                        (used + u64::from(d.gpus) <= u64::from(gpus[h]))
                            .then(|| (s, u64::from(gpus[h]) - used, h))
                    })
                })
                .min();
            if let Some((start, _, host)) = best {
                intervals[host].push((start, start + d.length, d.gpus));
                served.push(Placed {
                    demand: index,
                    host,
                    start,
                });
            }
        }
        served
    }

    fn demand_strategy(hosts: usize) -> impl Strategy<Value = Demand> {
        (
            0u8..3,
            prop::option::weighted(0.7, 0..hosts + 1),
            1u32..10,
            0i64..40,
            0i64..6,
            1i64..12,
            0i64..15,
        )
            .prop_map(move |(kind, host, gpus, asked_at, delay, length, slack)| {
                let kind = match kind {
                    // Bookings may name a host outside the fleet, and over-fill theirs.
                    0 => DemandKind::Booked {
                        host: host.unwrap_or(0),
                    },
                    1 => DemandKind::Refused { host },
                    // Some windows are too short even to start.
                    _ => DemandKind::Waited {
                        host,
                        within: length + slack - 2,
                    },
                };
                Demand {
                    kind,
                    gpus: gpus.min(8),
                    asked_at,
                    start: asked_at + delay,
                    length,
                }
            })
    }

    proptest! {
        /// Whatever the demand: every request is served or unmet, unmet GPU-hours add up, the
        /// placements agree with the rules read literally, and no instant of a served request
        /// has its host over capacity (recounted from the placements).
        #[test]
        fn replays_keep_the_rules(
            hosts in prop::collection::vec(1u32..9, 1..4),
            added in 0u32..3,
            added_gpus in 1u32..9,
            demand in prop::collection::vec(demand_strategy(3), 0..40),
        ) {
            let addition = hosts_of(added, added_gpus);
            let (r, placed) = replay_placing(&hosts, addition, &demand);
            let requests = demand
                .iter()
                .filter(|d| !matches!(d.kind, DemandKind::Booked { .. }))
                .count() as u32;
            prop_assert_eq!(r.served_requests + r.unmet_requests, requests);
            prop_assert!(r.unmet_gpu_hours >= 0.0);

            let served: Vec<Placed> = placed
                .iter()
                .copied()
                .filter(|p| !matches!(demand[p.demand].kind, DemandKind::Booked { .. }))
                .collect();
            prop_assert_eq!(&served, &reference(&hosts, addition, &demand));
            prop_assert_eq!(served.len() as u32, r.served_requests);
            let unmet: i128 = (0..demand.len())
                .filter(|i| !matches!(demand[*i].kind, DemandKind::Booked { .. }))
                .filter(|i| served.iter().all(|p| p.demand != *i))
                .map(|i| demand[i].gpu_seconds())
                .sum();
            prop_assert_eq!(r.unmet_gpu_hours, unmet as f64 / 3600.0);

            let capacity = |host: usize| {
                if host < hosts.len() { hosts[host] } else { added_gpus }
            };
            let mut waits = Vec::new();
            for p in &served {
                let d = demand[p.demand];
                match d.kind {
                    DemandKind::Booked { .. } => unreachable!(),
                    DemandKind::Refused { host } | DemandKind::Waited { host, .. } => {
                        prop_assert!(
                            host.is_none_or(|h| h == p.host) || p.host >= hosts.len(),
                            "{:?} placed on {}", d, p.host
                        );
                    }
                }
                match d.kind {
                    DemandKind::Refused { .. } => prop_assert_eq!(p.start, d.start),
                    DemandKind::Waited { within, .. } => {
                        prop_assert!(p.start >= d.asked_at.max(d.start));
                        prop_assert!(p.start + d.length <= d.asked_at + within);
                        waits.push(p.start - d.asked_at);
                    }
                    DemandKind::Booked { .. } => {}
                }
                // Every instant of its window where the level can rise: its start and the
                // starts of others inside it.
                let on_host: Vec<(i64, i64, u32)> = placed
                    .iter()
                    .filter(|q| q.host == p.host)
                    .map(|q| (q.start, q.start + demand[q.demand].length, demand[q.demand].gpus))
                    .collect();
                let end = p.start + d.length;
                for at in std::iter::once(p.start)
                    .chain(on_host.iter().map(|q| q.0).filter(|s| *s > p.start && *s < end))
                {
                    let level: u32 = on_host
                        .iter()
                        .filter(|q| q.0 <= at && at < q.1)
                        .map(|q| q.2)
                        .sum();
                    prop_assert!(
                        level <= capacity(p.host),
                        "host {} holds {} GPUs at {}: {:?}", p.host, level, at, on_host
                    );
                }
            }
            waits.sort_unstable();
            prop_assert_eq!(&r.waits, &waits);
        }
    }
}
