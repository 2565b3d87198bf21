//! Wait-list simulation: a simulated week of `--wait` requests on a 20-host fleet, matched by
//! the real matcher (`waitlist::rank` + `waitlist::place`) under `Policy::Fair` and
//! `Policy::FirstComeFirstServed`, each with and without nudges. Pure: no database, no network;
//! the same seed gives the same requests, answers and early releases in every run. Prints one
//! table, a column per run. Panics if the matcher ever offers a GPU that is already held.
//!
//! Model (one tick = `--tick` s of simulated time; events between ticks keep their instant):
//! * Fleet: 8 hosts × 8 GPUs, 6 × 4, 6 × 2 (100 GPUs): big hosts hold most of the capacity, as
//!   in a lab that bought nodes over the years; small ones make "any host" placement matter.
//! * Demand: 30 users, 5 of them heavy (4× the requests of the others). Poisson arrivals, rate
//!   set so the demanded GPU-hours are `--load` × the fleet's. A request: 1, 1, 1, 2, 2, 4 or 8
//!   GPUs (uniform pick), 1-8 h in whole minutes, 10 % pinned to one host that can hold it.
//! * Every request joins the line. A pass ranks the line (usage: bookings that ended within the
//!   last 7 days, `FairShare::default()`) and places it; an offer holds its GPUs from the pass.
//!   90 % of offers are accepted 0-5 min later (the booking keeps the slot from the offer's
//!   start); 10 % get no answer and lapse after 10 min (GPUs freed, the request back in line,
//!   at the end); a request that missed 2 offers is dropped.
//! * 30 % of bookings end early, at a uniform 10-90 % of the time left after acceptance.
//! * Passes: every tick; with nudges also at each arrival and early release (as the bot does
//!   on `book --wait` and `end`). A booking reaching its end is only seen at the next tick.
//!
//! Figures:
//! * release → offer: one sample per booking that ends (at its end or early) at t on host h
//!   while someone in line suits h and asks for no more GPUs than h has free at t; the sample
//!   is the time from t to the next offer on h. Releases never followed by an offer on their
//!   host before the end are counted apart. Lengths are whole minutes and offers are made at
//!   ticks, so most ends fall on a tick; early releases fall anywhere (their own rows).
//! * wait: arrival → acceptance. Requests still in line at the end count with the time they
//!   waited so far (a lower bound, so starvation shows); dropped requests do not count.
//! * Jain index over users of received / demanded GPU-hours (received: accepted bookings'
//!   booked length), and of received / max-min fair share (the received total water-filled
//!   over the users' demands) — the second rewards serving light users before heavy ones.
//! * idle while waiting: after each tick's pass, free GPUs × tick while someone is waiting.
//! * utilisation: GPU-time of accepted bookings (to their real end) over the fleet's.
//! * matcher time: real time of one `rank` + `place` call, averaged over all passes.
//!
//! ```text
//! cargo run --release -p maison-tests --bin waitlist-bench
//! cargo run --release -p maison-tests --bin waitlist-bench -- --days 2 --load 1.5 --seed 7
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use clap::Parser;
use maison_bot::core::rules::{self, Busy};
use maison_bot::core::waitlist::{
    self, Decision, FairShare, HostCapacity, Placement, Policy, Usage, Waiter,
};

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// (hosts, GPUs each).
const FLEET: [(usize, u32); 3] = [(8, 8), (6, 4), (6, 2)];
const USERS: usize = 30;
const HEAVY_USERS: usize = 5;
/// How many times more requests a heavy user sends.
const HEAVY_WEIGHT: f64 = 4.0;
/// GPUs per request, picked uniformly: mostly small, a few whole hosts.
const GPU_CHOICES: [u32; 7] = [1, 1, 1, 2, 2, 4, 8];
/// Request length, whole minutes, uniform.
const LENGTH_MINUTES: (i64, i64) = (60, 480);
const PINNED_SHARE: f64 = 0.1;
const UNANSWERED_SHARE: f64 = 0.1;
const EARLY_RELEASE_SHARE: f64 = 0.3;
/// Answers that come, come within this long (uniform).
const MAX_ANSWER_DELAY: i64 = 5 * MINUTE;
/// The bot's defaults: how long an offer is held, and how many a request may miss.
const OFFER_FOR: i64 = 10 * MINUTE;
const MAX_MISSED: u32 = 2;
/// How far ahead `place` plans, as the bot does (`max_ahead` + a day).
const HORIZON: i64 = 31 * DAY;

/// Wait-list matcher on a simulated week: release→offer latency, waits, fairness, idle GPUs.
#[derive(Debug, Parser)]
#[command(name = "waitlist_bench")]
struct Args {
    /// Simulated days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(i64).range(1..=365))]
    days: i64,
    /// Simulated seconds between two matcher passes (the bot's `match_every`).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=3600))]
    tick: i64,
    /// Demanded GPU-hours over the fleet's GPU-hours.
    #[arg(long, default_value_t = 1.2)]
    load: f64,
    /// Seed of the generator: the same seed gives the same demand.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
}

/// One synthetic request, with everything random about it drawn up front so that every run
/// sees the same user behaviour.
#[derive(Debug, Clone)]
struct Request {
    user: usize,
    host: Option<String>,
    gpus: u32,
    length: i64,
    arrival: i64,
    /// The delay before answering the first and the second offer; `None`: never answers.
    answers: [Option<i64>; 2],
    /// Ends early, at this fraction of the time left after acceptance.
    early: Option<f64>,
}

impl Request {
    /// The request as the matcher sees it, placed in line at `since`.
    fn waiter(&self, id: usize, since: i64) -> Waiter {
        Waiter {
            id: id as i64,
            user_id: self.user as i64,
            host: self.host.clone(),
            gpus: self.gpus,
            length: self.length,
            min_mem: None,
            since,
            start_by: None,
            prefer: Vec::new(),
        }
    }

    fn gpu_seconds(&self) -> f64 {
        f64::from(self.gpus) * self.length as f64
    }
}

fn fleet() -> Vec<HostCapacity> {
    FLEET
        .iter()
        .flat_map(|&(count, gpus)| {
            (1..=count).map(move |i| HostCapacity {
                name: format!("gpu{gpus}-{i:02}"),
                gpu_count: gpus,
                gpu_memory: Some(80_000_000_000),
                active: true,
            })
        })
        .collect()
}

/// Requests over `[0, duration)`, arrivals a Poisson process scaled to `load`.
fn demand(hosts: &[HostCapacity], duration: i64, load: f64, seed: u64) -> Vec<Request> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let capacity: u32 = hosts.iter().map(|h| h.gpu_count).sum();
    let mean_gpus = f64::from(GPU_CHOICES.iter().sum::<u32>()) / GPU_CHOICES.len() as f64;
    let mean_length = (LENGTH_MINUTES.0 + LENGTH_MINUTES.1) as f64 / 2.0 * MINUTE as f64;
    let per_second = load * f64::from(capacity) / (mean_gpus * mean_length);
    let weights: Vec<f64> = (0..USERS)
        .map(|u| if u < HEAVY_USERS { HEAVY_WEIGHT } else { 1.0 })
        .collect();
    let mut requests = Vec::new();
    let mut t = 0.0;
    loop {
        t += -(1.0 - rng.f64()).ln() / per_second;
        if t >= duration as f64 {
            return requests;
        }
        let gpus = GPU_CHOICES[rng.usize(..GPU_CHOICES.len())];
        let host = (rng.f64() < PINNED_SHARE).then(|| {
            let fit: Vec<&HostCapacity> = hosts.iter().filter(|h| h.gpu_count >= gpus).collect();
            fit[rng.usize(..fit.len())].name.clone()
        });
        let mut answer = || (rng.f64() >= UNANSWERED_SHARE).then(|| rng.i64(0..=MAX_ANSWER_DELAY));
        let answers = [answer(), answer()];
        requests.push(Request {
            user: pick(&mut rng, &weights),
            host,
            gpus,
            length: rng.i64(LENGTH_MINUTES.0..=LENGTH_MINUTES.1) * MINUTE,
            arrival: t as i64,
            answers,
            early: (rng.f64() < EARLY_RELEASE_SHARE).then(|| 0.1 + 0.8 * rng.f64()),
        });
    }
}

/// An index drawn with probability proportional to its weight.
fn pick(rng: &mut fastrand::Rng, weights: &[f64]) -> usize {
    let mut x = rng.f64() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

#[derive(Debug, Clone)]
enum State {
    Waiting,
    Offered(Placement),
    Booked { at: i64 },
    Dropped,
}

#[derive(Debug, Clone)]
struct Booking {
    request: usize,
    host: String,
    gpus: Vec<u32>,
    start: i64,
    /// As booked.
    end: i64,
    /// When it is released (the end, or earlier).
    released: i64,
}

/// Things that happen at an instant. At one instant, ticks come last, so a pass sees everything
/// that happened at the same second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrive(usize),
    Answer(usize),
    Lapse(usize),
    Release(usize),
    Tick,
}

/// One request's wait, with what it is broken down by.
#[derive(Debug, Clone, Copy)]
struct Wait {
    seconds: i64,
    big: bool,
    heavy_user: bool,
}

/// What one run counted.
#[derive(Debug, Default)]
struct Outcome {
    release_to_offer: Vec<i64>,
    early_release_to_offer: Vec<i64>,
    never_reoffered: usize,
    offers: u64,
    accepted: u64,
    lapsed: u64,
    dropped: u64,
    idle_gpu_seconds: i64,
    ticks: u64,
    line_total: u64,
    line_max: usize,
    passes: u64,
    matcher: Duration,
    wall: Duration,
    waits: Vec<Wait>,
    left_in_line: usize,
    jain_demand: f64,
    jain_max_min: f64,
    utilisation: f64,
}

struct Sim<'a> {
    hosts: &'a [HostCapacity],
    requests: &'a [Request],
    policy: Policy,
    nudges: bool,
    tick: i64,
    duration: i64,
    /// Held GPU slots per host: bookings and held offers. Slots that ended are pruned.
    busy: HashMap<String, Vec<Busy>>,
    state: Vec<State>,
    missed: Vec<u32>,
    /// Each request's place in line: its arrival, or its last missed offer (as the bot does).
    in_line_since: Vec<i64>,
    /// Requests in `State::Waiting`, by id (so the line is built in the same order each time).
    waiting: BTreeSet<usize>,
    bookings: Vec<Booking>,
    events: BinaryHeap<Reverse<(i64, Event)>>,
    /// Per host: releases (instant, early?) not yet followed by an offer on that host.
    unserved_releases: HashMap<String, Vec<(i64, bool)>>,
    out: Outcome,
}

impl<'a> Sim<'a> {
    fn new(
        hosts: &'a [HostCapacity],
        requests: &'a [Request],
        policy: Policy,
        nudges: bool,
        tick: i64,
        duration: i64,
    ) -> Self {
        let mut events: BinaryHeap<_> = (0..requests.len())
            .map(|i| Reverse((requests[i].arrival, Event::Arrive(i))))
            .collect();
        events.push(Reverse((0, Event::Tick)));
        Sim {
            hosts,
            requests,
            policy,
            nudges,
            tick,
            duration,
            busy: hosts.iter().map(|h| (h.name.clone(), Vec::new())).collect(),
            state: vec![State::Waiting; requests.len()],
            missed: vec![0; requests.len()],
            in_line_since: requests.iter().map(|r| r.arrival).collect(),
            waiting: BTreeSet::new(),
            bookings: Vec::new(),
            events,
            unserved_releases: HashMap::new(),
            out: Outcome::default(),
        }
    }

    fn run(mut self) -> Outcome {
        let started = Instant::now();
        while let Some(Reverse((now, event))) = self.events.pop() {
            if now >= self.duration {
                break;
            }
            match event {
                Event::Arrive(id) => self.arrive(id, now),
                Event::Answer(id) => self.accept(id, now),
                Event::Lapse(id) => self.lapse(id, now),
                Event::Release(booking) => self.release(booking, now),
                Event::Tick => self.tick(now),
            }
        }
        self.out.wall = started.elapsed();
        self.finish()
    }

    fn arrive(&mut self, id: usize, now: i64) {
        self.waiting.insert(id);
        // The bot nudges the matcher when a request joins the line.
        if self.nudges {
            self.pass(now);
        }
    }

    fn tick(&mut self, now: i64) {
        self.pass(now);
        if !self.waiting.is_empty() {
            self.out.idle_gpu_seconds +=
                i64::from(waitlist::free_now(self.hosts, &self.busy, now)) * self.tick;
        }
        self.out.ticks += 1;
        self.out.line_total += self.waiting.len() as u64;
        self.out.line_max = self.out.line_max.max(self.waiting.len());
        self.events.push(Reverse((now + self.tick, Event::Tick)));
    }

    /// One matcher pass, as the bot runs it; its offers are made at once.
    fn pass(&mut self, now: i64) {
        for slots in self.busy.values_mut() {
            slots.retain(|b| b.end > now);
        }
        let waiters: Vec<Waiter> = self
            .waiting
            .iter()
            .map(|&id| self.requests[id].waiter(id, self.in_line_since[id]))
            .collect();
        let usage = self.usage(now);
        let clock = Instant::now();
        let ranked = waitlist::rank(&waiters, &usage, &FairShare::default(), self.policy, now);
        let line: Vec<Waiter> = ranked.into_iter().map(|(w, _)| w).collect();
        let decisions = waitlist::place(
            self.hosts,
            &self.busy,
            &line,
            self.policy,
            now,
            now + HORIZON,
        );
        self.out.matcher += clock.elapsed();
        self.out.passes += 1;
        for (id, decision) in decisions {
            if let Decision::Offer(placement) = decision {
                self.offer(id as usize, placement, now);
            }
        }
    }

    /// Accepted bookings within the fair-share window (held offers are not use yet).
    fn usage(&self, now: i64) -> Vec<Usage> {
        let window = FairShare::default().window;
        self.bookings
            .iter()
            .filter(|b| b.released > now - window)
            .map(|b| Usage {
                user_id: self.requests[b.request].user as i64,
                start: b.start,
                end: b.released.min(now),
                gpus: b.gpus.len() as u32,
            })
            .collect()
    }

    fn host(&self, name: &str) -> &'a HostCapacity {
        let hosts: &'a [HostCapacity] = self.hosts;
        hosts.iter().find(|h| h.name == name).expect("a fleet host")
    }

    fn offer(&mut self, id: usize, placement: Placement, now: i64) {
        let request = &self.requests[id];
        let host = self.host(&placement.host);
        let slots = self.busy.get_mut(&host.name).expect("a fleet host");
        // The matcher's promise, checked on every offer: the GPUs are free for the whole slot.
        let free = rules::free_gpus(host.gpu_count, slots, placement.start, placement.end);
        assert!(
            placement.start == now
                && placement.end == now + request.length
                && placement.gpus.len() == request.gpus as usize
                && host.suits(&request.waiter(id, 0))
                && placement.gpus.iter().all(|g| free.contains(g)),
            "impossible offer for request {id} at {now}: {placement:?}, held: {slots:?}"
        );
        slots.extend(placement.gpus.iter().map(|&gpu| Busy {
            gpu,
            start: placement.start,
            end: placement.end,
        }));
        for (released, early) in self
            .unserved_releases
            .remove(&placement.host)
            .unwrap_or_default()
        {
            self.out.release_to_offer.push(now - released);
            if early {
                self.out.early_release_to_offer.push(now - released);
            }
        }
        let answer = request.answers[self.missed[id] as usize];
        let event = match answer {
            Some(delay) if delay < OFFER_FOR => (now + delay, Event::Answer(id)),
            _ => (now + OFFER_FOR, Event::Lapse(id)),
        };
        self.events.push(Reverse(event));
        self.waiting.remove(&id);
        self.state[id] = State::Offered(placement);
        self.out.offers += 1;
    }

    fn accept(&mut self, id: usize, now: i64) {
        let State::Offered(placement) =
            std::mem::replace(&mut self.state[id], State::Booked { at: now })
        else {
            panic!("request {id} answered an offer it does not hold");
        };
        let released = match self.requests[id].early {
            Some(share) => now + ((placement.end - now) as f64 * share) as i64,
            None => placement.end,
        };
        self.events
            .push(Reverse((released, Event::Release(self.bookings.len()))));
        self.bookings.push(Booking {
            request: id,
            host: placement.host,
            gpus: placement.gpus,
            start: placement.start,
            end: placement.end,
            released,
        });
        self.out.accepted += 1;
    }

    fn lapse(&mut self, id: usize, now: i64) {
        let State::Offered(placement) = std::mem::replace(&mut self.state[id], State::Waiting)
        else {
            panic!("request {id} let an offer lapse that it does not hold");
        };
        let slots = self.busy.get_mut(&placement.host).expect("a fleet host");
        slots.retain(|b| {
            !(b.start == placement.start
                && b.end == placement.end
                && placement.gpus.contains(&b.gpu))
        });
        self.out.lapsed += 1;
        self.missed[id] += 1;
        if self.missed[id] >= MAX_MISSED {
            self.state[id] = State::Dropped;
            self.out.dropped += 1;
        } else {
            // Back in line, at the end: the GPUs go to the next in line.
            self.in_line_since[id] = now;
            self.waiting.insert(id);
        }
    }

    fn release(&mut self, index: usize, now: i64) {
        let booking = &self.bookings[index];
        let early = booking.released < booking.end;
        let host = self.host(&booking.host);
        let slots = self.busy.get_mut(&booking.host).expect("a fleet host");
        if early {
            for slot in slots.iter_mut().filter(|b| {
                b.start == booking.start && b.end == booking.end && booking.gpus.contains(&b.gpu)
            }) {
                slot.end = now;
            }
        }
        // Only releases someone in line could use right away are timed.
        let free = rules::free_gpus(host.gpu_count, slots, now, now + 1).len() as u32;
        let wanted = self.waiting.iter().any(|&id| {
            let request = &self.requests[id];
            request.gpus <= free && host.suits(&request.waiter(id, 0))
        });
        if wanted {
            self.unserved_releases
                .entry(host.name.clone())
                .or_default()
                .push((now, early));
        }
        // The bot nudges the matcher when someone ends a booking.
        if early && self.nudges {
            self.pass(now);
        }
    }

    fn finish(mut self) -> Outcome {
        let mut out = std::mem::take(&mut self.out);
        out.never_reoffered = self.unserved_releases.values().map(Vec::len).sum();
        for (id, request) in self.requests.iter().enumerate() {
            let wait = match self.state[id] {
                State::Booked { at } => at - request.arrival,
                State::Waiting | State::Offered(_) => {
                    out.left_in_line += 1;
                    self.duration - request.arrival
                }
                State::Dropped => continue,
            };
            out.waits.push(Wait {
                seconds: wait,
                big: request.gpus >= 4,
                heavy_user: request.user < HEAVY_USERS,
            });
        }
        let (demanded, received) = self.per_user_gpu_seconds();
        let by_demand: Vec<f64> = received.iter().zip(&demanded).map(|(r, d)| r / d).collect();
        let shares = max_min_shares(&demanded, received.iter().sum());
        let by_share: Vec<f64> = received.iter().zip(&shares).map(|(r, s)| r / s).collect();
        out.jain_demand = jain(&by_demand);
        out.jain_max_min = jain(&by_share);
        let capacity: u32 = self.hosts.iter().map(|h| h.gpu_count).sum();
        let used: f64 = self
            .bookings
            .iter()
            .map(|b| b.gpus.len() as f64 * (b.released.min(self.duration) - b.start) as f64)
            .sum();
        out.utilisation = used / (f64::from(capacity) * self.duration as f64);
        out
    }

    /// GPU-seconds each user asked for and was granted, users who asked for nothing left out.
    fn per_user_gpu_seconds(&self) -> (Vec<f64>, Vec<f64>) {
        let mut demanded = vec![0.0; USERS];
        let mut received = vec![0.0; USERS];
        for request in self.requests {
            demanded[request.user] += request.gpu_seconds();
        }
        for booking in &self.bookings {
            received[self.requests[booking.request].user] +=
                self.requests[booking.request].gpu_seconds();
        }
        (0..USERS)
            .filter(|&u| demanded[u] > 0.0)
            .map(|u| (demanded[u], received[u]))
            .unzip()
    }
}

/// Jain's index: 1 when all equal, 1/n when one takes everything.
fn jain(xs: &[f64]) -> f64 {
    let sum: f64 = xs.iter().sum();
    let squares: f64 = xs.iter().map(|x| x * x).sum();
    if squares == 0.0 {
        return 1.0;
    }
    sum * sum / (xs.len() as f64 * squares)
}

/// Max-min fair split of `total` over `demands`: the smallest demands are met in full, the
/// rest share what is left equally.
fn max_min_shares(demands: &[f64], total: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by(|a, b| demands[*a].total_cmp(&demands[*b]));
    let mut shares = vec![0.0; demands.len()];
    let mut left = total;
    for (served, &i) in order.iter().enumerate() {
        shares[i] = demands[i].min(left / (order.len() - served) as f64);
        left -= shares[i];
    }
    shares
}

/// Nearest-rank percentile of unsorted samples.
fn percentile(samples: &[i64], p: f64) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p * sorted.len() as f64).ceil() as usize).max(1);
    sorted.get(rank - 1).map(|s| *s as f64)
}

fn mean(samples: &[i64]) -> Option<f64> {
    (!samples.is_empty()).then(|| samples.iter().sum::<i64>() as f64 / samples.len() as f64)
}

/// Simulated seconds, in the unit that reads best.
fn span(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".into(),
        Some(s) if s < 120.0 => format!("{s:.0} s"),
        Some(s) if s < 2.0 * HOUR as f64 => format!("{:.0} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / HOUR as f64),
    }
}

/// "median / p90" of simulated seconds.
fn p50_p90(samples: &[i64]) -> String {
    format!(
        "{} / {}",
        span(percentile(samples, 0.5)),
        span(percentile(samples, 0.9))
    )
}

/// "mean / p90" of the waits that pass `keep`.
fn waits(outcome: &Outcome, keep: fn(&Wait) -> bool) -> String {
    let seconds: Vec<i64> = outcome
        .waits
        .iter()
        .filter(|w| keep(w))
        .map(|w| w.seconds)
        .collect();
    format!(
        "{} / {}",
        span(mean(&seconds)),
        span(percentile(&seconds, 0.9))
    )
}

fn main() {
    let args = Args::parse();
    assert!(args.load > 0.0, "--load must be positive");
    let duration = args.days * DAY;
    let hosts = fleet();
    let requests = demand(&hosts, duration, args.load, args.seed);
    let capacity: u32 = hosts.iter().map(|h| h.gpu_count).sum();
    let demanded: f64 = requests.iter().map(Request::gpu_seconds).sum();
    // What would run if every request were served: early releases give back part of it.
    let used: f64 = requests
        .iter()
        .map(|r| r.gpu_seconds() * r.early.unwrap_or(1.0))
        .sum();
    let fleet_seconds = f64::from(capacity) * duration as f64;
    let big = requests.iter().filter(|r| r.gpus >= 4).count();
    println!(
        "fleet: {} hosts, {capacity} GPUs ({}); {} days, tick {} s, seed {}",
        hosts.len(),
        FLEET.map(|(n, g)| format!("{n} × {g}")).join(" + "),
        args.days,
        args.tick,
        args.seed
    );
    println!(
        "demand: {} requests ({big} of ≥ 4 GPUs) from {USERS} users ({HEAVY_USERS} heavy); \
         offered load {:.0} % of capacity ({:.0} % once early releases give GPUs back)",
        requests.len(),
        100.0 * demanded / fleet_seconds,
        100.0 * used / fleet_seconds
    );

    let runs = [
        ("fair", Policy::Fair, true),
        ("fcfs", Policy::FirstComeFirstServed, true),
        ("fair, no nudge", Policy::Fair, false),
        ("fcfs, no nudge", Policy::FirstComeFirstServed, false),
    ];
    // Two runs at a time (one per core of a small machine), so matcher timings stay honest.
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for pair in runs.chunks(2) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = pair
                .iter()
                .map(|&(_, policy, nudges)| {
                    let (hosts, requests) = (&hosts, &requests);
                    scope.spawn(move || {
                        Sim::new(hosts, requests, policy, nudges, args.tick, duration).run()
                    })
                })
                .collect();
            outcomes.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a simulation run")),
            );
        });
    }
    print_table(&runs.map(|(name, _, _)| name), &outcomes);
    println!("total wall time: {:.1} s", started.elapsed().as_secs_f64());
}

fn print_table(names: &[&str], outcomes: &[Outcome]) {
    type Figure = fn(&Outcome) -> String;
    let rows: [(&str, Figure); 22] = [
        ("release→offer p50 / p90", |o| {
            p50_p90(&o.release_to_offer)
        }),
        ("  after early releases", |o| {
            p50_p90(&o.early_release_to_offer)
        }),
        ("  within 60 s", |o| {
            let quick = o.release_to_offer.iter().filter(|s| **s <= 60).count();
            format!(
                "{:.0} %",
                100.0 * quick as f64 / o.release_to_offer.len().max(1) as f64
            )
        }),
        ("  releases timed / never offered", |o| {
            format!("{} / {}", o.release_to_offer.len(), o.never_reoffered)
        }),
        ("wait mean / p90, all", |o| waits(o, |_| true)),
        ("  light users", |o| waits(o, |w| !w.heavy_user)),
        ("  heavy users", |o| waits(o, |w| w.heavy_user)),
        ("  ≥ 4 GPUs", |o| waits(o, |w| w.big)),
        ("  ≥ 4 GPUs, light users", |o| {
            waits(o, |w| w.big && !w.heavy_user)
        }),
        ("still in line at the end", |o| o.left_in_line.to_string()),
        ("line length mean / max", |o| {
            format!(
                "{:.1} / {}",
                o.line_total as f64 / o.ticks.max(1) as f64,
                o.line_max
            )
        }),
        ("Jain, received / demanded", |o| {
            format!("{:.3}", o.jain_demand)
        }),
        ("Jain, received / max-min share", |o| {
            format!("{:.3}", o.jain_max_min)
        }),
        ("GPU-minutes idle while waiting", |o| {
            (o.idle_gpu_seconds / 60).to_string()
        }),
        ("utilisation", |o| format!("{:.1} %", 100.0 * o.utilisation)),
        ("offers made", |o| o.offers.to_string()),
        ("  accepted / lapsed", |o| {
            format!("{} / {}", o.accepted, o.lapsed)
        }),
        ("requests dropped", |o| o.dropped.to_string()),
        ("matcher passes", |o| o.passes.to_string()),
        ("rank + place, mean", |o| {
            format!(
                "{:.1} µs",
                o.matcher.as_secs_f64() * 1e6 / o.passes.max(1) as f64
            )
        }),
        ("rank + place, total", |o| {
            format!("{:.2} s", o.matcher.as_secs_f64())
        }),
        ("simulation wall time", |o| {
            format!("{:.2} s", o.wall.as_secs_f64())
        }),
    ];
    print!("{:<33}", "");
    for name in names {
        print!(" {name:>17}");
    }
    println!();
    for (label, figure) in rows {
        print!("{label:<33}");
        for outcome in outcomes {
            print!(" {:>17}", figure(outcome));
        }
        println!();
    }
}
