//! The wait-list's decisions as pure functions: the order of the line (time waited minus a
//! fair-share penalty), and who gets which GPUs now (an offer) or later (a reserved slot).
//!
//! Placement is *conservative backfill*: walking the line in order, every waiter gets the
//! earliest slot that fits around the bookings and around the slots already planned for those
//! ahead of it. A slot that starts now becomes an offer; a later one is a reservation that
//! only shapes the plan (it is recomputed at every matching pass, so an early release moves
//! everyone forward). Because nobody's slot can be taken by someone behind them, a small
//! request may use free GPUs now only when it ends before the slot reserved for those ahead —
//! backfill — and jumping the line gains nothing.
//!
//! [`Policy::FirstComeFirstServed`] is the plain queue a team would write first (arrival
//! order, anyone who fits now gets it, nothing reserved); the simulation bench compares both.

use std::collections::HashMap;

use sea_orm::DbErr;

use super::rules::{self, Busy, GpuWish};

/// One request in the line, as the matcher needs it (Unix seconds throughout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    pub id: i64,
    pub user_id: i64,
    /// `None`: any host.
    pub host: Option<String>,
    pub gpus: u32,
    /// How long the booking lasts once it starts.
    pub length: i64,
    /// Each GPU must have at least this much memory (bytes).
    pub min_mem: Option<u64>,
    /// Its place: when the user joined the line, or last missed an offer.
    pub since: i64,
    /// The latest start that still ends within the user's `--within`.
    pub start_by: Option<i64>,
    /// Hosts to prefer when several can start it as early (those holding its `--data`).
    pub prefer: Vec<String>,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitState {
    Waiting,
    Offered,
    Booked,
    Declined,
    Expired,
    Dropped,
    Withdrawn,
}

impl WaitState {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitState::Waiting => "waiting",
            WaitState::Offered => "offered",
            WaitState::Booked => "booked",
            WaitState::Declined => "declined",
            WaitState::Expired => "expired",
            WaitState::Dropped => "dropped",
            WaitState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "waiting" => WaitState::Waiting,
            "offered" => WaitState::Offered,
            "booked" => WaitState::Booked,
            "declined" => WaitState::Declined,
            "expired" => WaitState::Expired,
            "dropped" => WaitState::Dropped,
            "withdrawn" => WaitState::Withdrawn,
            _ => return None,
        })
    }

    /// Still in line (waiting, or holding an offer).
    pub fn is_open(self) -> bool {
        matches!(self, WaitState::Waiting | WaitState::Offered)
    }
}

/// An offer not yet decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOffer {
    pub id: i64,
    pub booking_id: i64,
    pub offered_at: i64,
    pub expires_at: i64,
}

/// A request as the line, replies and DMs show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitRow {
    pub id: i64,
    pub user_id: i64,
    pub slack_user_id: String,
    pub display_name: String,
    pub tz: String,
    /// The language their DMs are written in (their `lang` choice, else their Slack locale).
    pub lang: maison_command::Lang,
    pub host: Option<String>,
    pub gpus: u32,
    pub length: i64,
    pub min_mem: Option<u64>,
    pub dataset: Option<String>,
    pub auto: bool,
    pub created_at: i64,
    /// Its place in line: when it joined, or when it last missed an offer.
    pub in_line_since: i64,
    pub start_by: Option<i64>,
    pub state: WaitState,
    pub missed_offers: u32,
    pub booking_id: Option<i64>,
    pub resolved_at: Option<i64>,
    pub offer: Option<OpenOffer>,
    /// The project the booking will serve.
    pub project: Option<String>,
}

impl WaitRow {
    /// The request as the matcher sees it.
    pub fn waiter(&self) -> Waiter {
        Waiter {
            id: self.id,
            user_id: self.user_id,
            host: self.host.clone(),
            gpus: self.gpus,
            length: self.length,
            min_mem: self.min_mem,
            since: self.in_line_since,
            start_by: self.start_by,
            prefer: Vec::new(),
        }
    }
}

/// Why an offer could not be accepted, declined or withdrawn.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error("no such offer")]
    NotFound,
    #[error("someone else's")]
    NotYours,
    /// Already accepted, declined or expired (a double click, or too late).
    #[error("already {0}")]
    AlreadyDecided(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A host as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCapacity {
    pub name: String,
    pub gpu_count: u32,
    /// The smallest memory of its GPUs, when the agent has said.
    pub gpu_memory: Option<u64>,
    /// Drained hosts take nobody.
    pub active: bool,
}

impl HostCapacity {
    /// Whether this host could ever take the request, were it empty.
    pub fn suits(&self, waiter: &Waiter) -> bool {
        self.active
            && waiter.host.as_ref().is_none_or(|h| *h == self.name)
            && self.gpu_count >= waiter.gpus
            && waiter
                .min_mem
                .is_none_or(|min| self.gpu_memory.is_some_and(|mem| mem >= min))
    }
}

/// GPUs on one host over `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub host: String,
    pub gpus: Vec<u32>,
    pub start: i64,
    pub end: i64,
}

/// What the matcher decided for one waiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// These GPUs are free now: offer them (or book them, with `--auto`).
    Offer(Placement),
    /// Not now. `planned` is the slot kept for it (its predicted start), if any fits before
    /// the horizon.
    Wait { planned: Option<Placement> },
}

/// How the line is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Fair-share order and conservative backfill (the module's doc).
    Fair,
    /// Arrival order; whoever fits now gets it; nothing reserved.
    FirstComeFirstServed,
}

/// How recent use lowers a waiter's place: `penalty` seconds of waiting per GPU-hour used,
/// each hour weighing half as much every `half_life`, hours older than `window` ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FairShare {
    pub window: i64,
    pub half_life: i64,
    pub penalty_per_gpu_hour: i64,
}

impl Default for FairShare {
    /// A week of memory, halving every 3.5 days; an hour of one GPU costs 10 minutes of
    /// waiting: a user who just had a 4-GPU day waits behind a newcomer for most of a working
    /// day, and is level again after a few days.
    fn default() -> Self {
        FairShare {
            window: 7 * 24 * 3600,
            half_life: 84 * 3600,
            penalty_per_gpu_hour: 600,
        }
    }
}

/// One past booking for fair share: `gpus` GPUs over `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub user_id: i64,
    pub start: i64,
    pub end: i64,
    pub gpus: u32,
}

impl FairShare {
    /// A user's recent GPU-hours, each booking weighted by how long ago it ended (a running
    /// booking counts up to now, at full weight).
    pub fn decayed_gpu_hours(&self, usage: impl IntoIterator<Item = Usage>, now: i64) -> f64 {
        usage
            .into_iter()
            .filter(|u| u.end > now - self.window && u.start < now)
            .map(|u| {
                let used = (u.end.min(now) - u.start.max(now - self.window)).max(0) as f64;
                let age = (now - u.end).max(0) as f64;
                let weight = 0.5f64.powf(age / self.half_life.max(1) as f64);
                used * f64::from(u.gpus) / 3600.0 * weight
            })
            .sum()
    }

    /// Seconds of waiting this usage costs.
    pub fn penalty(&self, gpu_hours: f64) -> f64 {
        gpu_hours * self.penalty_per_gpu_hour as f64
    }
}

/// The line in serving order, with each waiter's score (seconds waited minus the penalty;
/// higher goes first). Ties go to the earlier request.
pub fn rank(
    waiters: &[Waiter],
    usage: &[Usage],
    fair: &FairShare,
    policy: Policy,
    now: i64,
) -> Vec<(Waiter, f64)> {
    let mut hours: HashMap<i64, f64> = HashMap::new();
    if policy == Policy::Fair {
        for waiter in waiters {
            hours.entry(waiter.user_id).or_insert_with(|| {
                fair.decayed_gpu_hours(
                    usage
                        .iter()
                        .copied()
                        .filter(|u| u.user_id == waiter.user_id),
                    now,
                )
            });
        }
    }
    let mut ranked: Vec<(Waiter, f64)> = waiters
        .iter()
        .map(|w| {
            let waited = (now - w.since) as f64;
            let penalty = hours.get(&w.user_id).map_or(0.0, |h| fair.penalty(*h));
            (w.clone(), waited - penalty)
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(a.0.since.cmp(&b.0.since))
            .then(a.0.id.cmp(&b.0.id))
    });
    ranked
}

/// Places the line (already in serving order) on the hosts around the busy slots (bookings,
/// held offers included). Searches up to `horizon` for planned slots.
pub fn place(
    hosts: &[HostCapacity],
    busy: &HashMap<String, Vec<Busy>>,
    line: &[Waiter],
    policy: Policy,
    now: i64,
    horizon: i64,
) -> Vec<(i64, Decision)> {
    let mut planned: HashMap<&str, Vec<Busy>> = hosts
        .iter()
        .map(|h| {
            (
                h.name.as_str(),
                busy.get(&h.name).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let mut decisions = Vec::with_capacity(line.len());
    for waiter in line {
        let best = hosts
            .iter()
            .filter(|h| h.suits(waiter))
            .filter_map(|h| {
                let slots = &planned[h.name.as_str()];
                let wish = GpuWish::Count(waiter.gpus);
                let start = match policy {
                    Policy::Fair => rules::next_free_start(
                        &wish,
                        h.gpu_count,
                        slots,
                        now,
                        waiter.length,
                        horizon,
                    )?,
                    Policy::FirstComeFirstServed => now,
                };
                let gpus =
                    rules::choose_gpus(&wish, h.gpu_count, slots, start, start + waiter.length)?;
                let preferred = waiter.prefer.contains(&h.name);
                Some((start, !preferred, h.gpu_count, h.name.as_str(), gpus))
            })
            // The earliest start; then a host holding its dataset (no copy to wait for); then
            // the smallest host that fits, keeping big hosts for big requests; then the name,
            // so the plan is the same every time.
            .min_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(a.1.cmp(&b.1))
                    .then(a.2.cmp(&b.2))
                    .then(a.3.cmp(b.3))
            });
        let decision = match best {
            Some((start, _, _, host, gpus)) => {
                let placement = Placement {
                    host: host.to_owned(),
                    gpus,
                    start,
                    end: start + waiter.length,
                };
                let slots = planned.get_mut(host).expect("a listed host");
                slots.extend(placement.gpus.iter().map(|gpu| Busy {
                    gpu: *gpu,
                    start: placement.start,
                    end: placement.end,
                }));
                if start <= now {
                    Decision::Offer(placement)
                } else {
                    Decision::Wait {
                        planned: Some(placement),
                    }
                }
            }
            None => Decision::Wait { planned: None },
        };
        decisions.push((waiter.id, decision));
    }
    decisions
}

/// GPUs of active hosts with nothing booked at `now` (held offers count as booked).
pub fn free_now(hosts: &[HostCapacity], busy: &HashMap<String, Vec<Busy>>, now: i64) -> u32 {
    hosts
        .iter()
        .filter(|h| h.active)
        .map(|h| {
            let slots = busy.get(&h.name).map_or(&[][..], Vec::as_slice);
            rules::free_gpus(h.gpu_count, slots, now, now + 1).len() as u32
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn host(name: &str, gpus: u32) -> HostCapacity {
        HostCapacity {
            name: name.to_owned(),
            gpu_count: gpus,
            gpu_memory: Some(80_000_000_000),
            active: true,
        }
    }

    fn waiter(id: i64, host: Option<&str>, gpus: u32, length: i64, since: i64) -> Waiter {
        Waiter {
            id,
            user_id: id,
            host: host.map(str::to_owned),
            gpus,
            length,
            min_mem: None,
            since,
            start_by: None,
            prefer: Vec::new(),
        }
    }

    fn busy(gpu: u32, start: i64, end: i64) -> Busy {
        Busy { gpu, start, end }
    }

    fn offers(decisions: &[(i64, Decision)]) -> Vec<(i64, Vec<u32>)> {
        decisions
            .iter()
            .filter_map(|(id, d)| match d {
                Decision::Offer(p) => Some((*id, p.gpus.clone())),
                Decision::Wait { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_small_request_backfills_only_before_the_head_s_reserved_slot() {
        // 4 GPUs; GPUs 0-2 booked until 100, GPU 3 free. The head wants all 4 (from 100).
        let hosts = [host("gpu01", 4)];
        let held = HashMap::from([(
            "gpu01".to_owned(),
            vec![busy(0, 0, 100), busy(1, 0, 100), busy(2, 0, 100)],
        )]);
        let head = waiter(1, Some("gpu01"), 4, 500, 0);
        let short = waiter(2, Some("gpu01"), 1, 60, 5);
        let long = waiter(3, Some("gpu01"), 1, 200, 6);
        let decisions = place(
            &hosts,
            &held,
            &[head, long.clone(), short.clone()],
            Policy::Fair,
            10,
            10_000,
        );
        // The long one would run into the head's slot: it waits until after it.
        assert_eq!(
            decisions[1].1,
            Decision::Wait {
                planned: Some(Placement {
                    host: "gpu01".into(),
                    gpus: vec![0],
                    start: 600,
                    end: 800
                })
            }
        );
        // The short one ends at 70, before 100: it gets GPU 3 now.
        assert_eq!(offers(&decisions), [(2, vec![3])]);
        // Plain first come, first served gives GPU 3 to whoever is first and fits.
        let fcfs = place(
            &hosts,
            &held,
            &[waiter(1, Some("gpu01"), 4, 500, 0), long, short],
            Policy::FirstComeFirstServed,
            10,
            10_000,
        );
        assert_eq!(offers(&fcfs), [(3, vec![3])]);
    }

    #[test]
    fn any_host_goes_to_the_earliest_then_smallest_host_that_suits() {
        let hosts = [host("big", 8), host("small", 2), host("drained", 2)];
        let mut hosts = hosts.to_vec();
        hosts[2].active = false;
        let decisions = place(
            &hosts,
            &HashMap::new(),
            &[waiter(1, None, 2, 60, 0), waiter(2, None, 4, 60, 0)],
            Policy::Fair,
            0,
            1000,
        );
        match &decisions[0].1 {
            Decision::Offer(p) => assert_eq!(p.host, "small"),
            other => panic!("{other:?}"),
        }
        match &decisions[1].1 {
            Decision::Offer(p) => assert_eq!((p.host.as_str(), p.gpus.len()), ("big", 4)),
            other => panic!("{other:?}"),
        }
        // Nothing suits 16 GPUs, or a host that is drained.
        let none = place(
            &hosts,
            &HashMap::new(),
            &[
                waiter(3, None, 16, 60, 0),
                waiter(4, Some("drained"), 1, 60, 0),
            ],
            Policy::Fair,
            0,
            1000,
        );
        assert!(
            none.iter()
                .all(|(_, d)| *d == Decision::Wait { planned: None })
        );
    }

    #[test]
    fn a_host_holding_the_dataset_comes_first_at_the_same_start() {
        let hosts = [host("big", 8), host("small", 2)];
        let mut wants = waiter(1, None, 1, 60, 0);
        wants.prefer = vec!["big".to_owned()];
        let decisions = place(&hosts, &HashMap::new(), &[wants], Policy::Fair, 0, 1000);
        match &decisions[0].1 {
            Decision::Offer(p) => assert_eq!(p.host, "big"),
            other => panic!("{other:?}"),
        }
        // An earlier start elsewhere still wins: waiting for the copy beats waiting for GPUs.
        let held = HashMap::from([("big".to_owned(), (0..8).map(|g| busy(g, 0, 500)).collect())]);
        let mut wants = waiter(1, None, 1, 60, 0);
        wants.prefer = vec!["big".to_owned()];
        let decisions = place(&hosts, &held, &[wants], Policy::Fair, 0, 1000);
        match &decisions[0].1 {
            Decision::Offer(p) => assert_eq!(p.host, "small"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn memory_filters_hosts() {
        let mut small = host("small", 2);
        small.gpu_memory = Some(24_000_000_000);
        let mut unknown = host("unknown", 2);
        unknown.gpu_memory = None;
        let mut wants = waiter(1, None, 1, 60, 0);
        wants.min_mem = Some(40_000_000_000);
        assert!(!small.suits(&wants) && !unknown.suits(&wants));
        assert!(host("big", 2).suits(&wants));
    }

    #[test]
    fn recent_use_moves_a_user_back_and_fades() {
        let fair = FairShare::default();
        let day = 24 * 3600;
        let now = 10 * day;
        // Four GPUs all of yesterday: 96 GPU-hours, ended now → 96 × 10 min = 16 h of penalty.
        let heavy = Usage {
            user_id: 1,
            start: now - day,
            end: now,
            gpus: 4,
        };
        let fresh = fair.decayed_gpu_hours([heavy], now);
        assert!((fresh - 96.0).abs() < 1e-6, "{fresh}");
        // 3.5 days later it weighs half.
        let later = now + fair.half_life;
        let faded = fair.decayed_gpu_hours([heavy], later);
        assert!((faded - 48.0).abs() < 1e-6, "{faded}");
        // Past the window it is forgotten.
        assert_eq!(fair.decayed_gpu_hours([heavy], now + 8 * day), 0.0);

        let line = [
            waiter(1, None, 1, 60, now - 3600),
            waiter(2, None, 1, 60, now - 60),
        ];
        let ranked = rank(&line, &[heavy], &fair, Policy::Fair, now);
        assert_eq!(ranked[0].0.id, 2, "the newcomer goes first: {ranked:?}");
        let plain = rank(&line, &[heavy], &fair, Policy::FirstComeFirstServed, now);
        assert_eq!(plain[0].0.id, 1);
    }

    /// Whether `waiter` fits now, somewhere it suits, around `taken`.
    fn fits_now(
        hosts: &[HostCapacity],
        taken: &HashMap<String, Vec<Busy>>,
        waiter: &Waiter,
        now: i64,
    ) -> bool {
        hosts.iter().filter(|h| h.suits(waiter)).any(|h| {
            let slots = taken.get(&h.name).map_or(&[][..], Vec::as_slice);
            rules::choose_gpus(
                &GpuWish::Count(waiter.gpus),
                h.gpu_count,
                slots,
                now,
                now + waiter.length,
            )
            .is_some()
        })
    }

    /// Checks one pass's decisions against the rules, walking the line in order: each
    /// placement suits its waiter and overlaps nothing booked or placed before it; a waiter
    /// left waiting did not fit now around those; a waiter given no slot has none before the
    /// horizon (with reservations).
    fn check_pass(
        hosts: &[HostCapacity],
        busy: &HashMap<String, Vec<Busy>>,
        line: &[Waiter],
        decisions: &[(i64, Decision)],
        policy: Policy,
        now: i64,
        horizon: i64,
    ) -> Result<(), String> {
        if decisions.len() != line.len() {
            return Err(format!(
                "{} decisions for {} waiters",
                decisions.len(),
                line.len()
            ));
        }
        let mut taken = busy.clone();
        for ((id, decision), waiter) in decisions.iter().zip(line) {
            if *id != waiter.id {
                return Err(format!("decision for {id} in the place of {}", waiter.id));
            }
            let placement = match decision {
                Decision::Offer(p) if p.start == now => Some(p),
                Decision::Wait { planned: Some(p) } if policy == Policy::Fair && p.start > now => {
                    Some(p)
                }
                Decision::Wait { planned: None } => None,
                other => return Err(format!("unexpected {other:?} at {now} under {policy:?}")),
            };
            if !matches!(decision, Decision::Offer(_)) && fits_now(hosts, &taken, waiter, now) {
                return Err(format!("waiter {} fits now around {taken:?}", waiter.id));
            }
            let Some(p) = placement else {
                if policy == Policy::Fair {
                    let reachable = hosts.iter().filter(|h| h.suits(waiter)).any(|h| {
                        let slots = taken.get(&h.name).map_or(&[][..], Vec::as_slice);
                        rules::next_free_start(
                            &GpuWish::Count(waiter.gpus),
                            h.gpu_count,
                            slots,
                            now,
                            waiter.length,
                            horizon,
                        )
                        .is_some()
                    });
                    if reachable {
                        return Err(format!(
                            "waiter {} has a slot before the horizon",
                            waiter.id
                        ));
                    }
                }
                continue;
            };
            let host = hosts
                .iter()
                .find(|h| h.name == p.host)
                .ok_or("unknown host")?;
            if !host.suits(waiter)
                || p.gpus.len() as u32 != waiter.gpus
                || p.end - p.start != waiter.length
            {
                return Err(format!("{p:?} does not fit {waiter:?}"));
            }
            let slots = taken.entry(p.host.clone()).or_default();
            let free = rules::free_gpus(host.gpu_count, slots, p.start, p.end);
            if !p.gpus.iter().all(|g| free.contains(g)) {
                return Err(format!("{p:?} overlaps {slots:?}"));
            }
            slots.extend(p.gpus.iter().map(|g| busy_slot(*g, p.start, p.end)));
        }
        Ok(())
    }

    fn busy_slot(gpu: u32, start: i64, end: i64) -> Busy {
        Busy { gpu, start, end }
    }

    proptest! {
        /// Whatever the line and the bookings, a pass's decisions pass [`check_pass`].
        #[test]
        fn placement_is_sound(
            held in proptest::collection::vec((0usize..3, 0u32..8, 0i64..400, 1i64..400), 0..20),
            line in proptest::collection::vec((0usize..4, 1u32..6, 1i64..300), 1..10),
            policy in prop_oneof![Just(Policy::Fair), Just(Policy::FirstComeFirstServed)],
        ) {
            let names = ["a", "b", "c"];
            let hosts = [host("a", 2), host("b", 4), host("c", 8)];
            let mut busy: HashMap<String, Vec<Busy>> = HashMap::new();
            for (h, gpu, start, len) in held {
                if gpu < hosts[h].gpu_count {
                    busy.entry(names[h].to_owned()).or_default().push(busy_slot(gpu, start, start + len));
                }
            }
            let line: Vec<Waiter> = line
                .into_iter()
                .enumerate()
                .map(|(i, (h, gpus, len))| waiter(i as i64, names.get(h).copied(), gpus, len, i as i64))
                .collect();
            let (now, horizon) = (100, 100_000);
            let decisions = place(&hosts, &busy, &line, policy, now, horizon);
            let checked = check_pass(&hosts, &busy, &line, &decisions, policy, now, horizon);
            prop_assert!(checked.is_ok(), "{}", checked.unwrap_err());
        }
    }
}
