//! The host's bandwidth cap for dataset copies (`[datasets] max_rate`, `night_rate`).
//!
//! A small GCRA ("virtual scheduling") limiter: each `take(n)` reserves `n / rate` seconds
//! after the previous reservation and sleeps until its slot, less a short burst allowance.
//! The schedule is kept in reservations, not in wake-ups, so late timers never lose time, and
//! a request larger than the burst simply waits longer.
//!
//! Why not a crate: `leaky-bucket` 1.1 (async, no background task, accepts requests larger than
//! its bucket) recomputes its next deadline from the wake-up time truncated to whole
//! milliseconds; with tokio's millisecond timer that drops up to a millisecond per refill, and
//! measured here at 20 MiB/s it delivered 17.5 MiB/s with 10 ms refills (−12 %) and 19.6 MiB/s
//! with 100 ms refills (−2 %, and 2 MiB bursts). `governor` refuses (`InsufficientCapacity`)
//! any request above its burst and keeps per-cell intervals in whole nanoseconds, which at
//! byte granularity and 200 MiB/s is off by up to 16 %. Neither holds ±5 % without tricks.
//!
//! Received bytes are paid for as they are read, served bytes before they are sent. The night
//! limiter replaces the day one during `night_hours`, local time.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Timelike;

use crate::config::HourRange;

/// How far ahead of its exact schedule a taker may run: enough to absorb scheduling noise,
/// too little to show in any rate measured over a second.
const BURST: Duration = Duration::from_millis(20);

#[derive(Debug)]
struct Limiter {
    rate: u64,
    /// When the bytes reserved so far would have passed at exactly `rate` ("theoretical
    /// arrival time"); `None` before the first reservation.
    tat: Mutex<Option<Instant>>,
}

impl Limiter {
    fn new(rate: u64) -> Limiter {
        Limiter {
            rate: rate.max(1),
            tat: Mutex::new(None),
        }
    }

    /// Reserves `n` bytes and returns when they may pass.
    fn reserve(&self, n: usize) -> Instant {
        let now = Instant::now();
        let mut tat = self.tat.lock().unwrap();
        // Idle time banks at most the burst allowance.
        let floor = now.checked_sub(BURST).unwrap_or(now);
        let start = tat.map_or(floor, |t| t.max(floor));
        let next = start + Duration::from_secs_f64(n as f64 / self.rate as f64);
        *tat = Some(next);
        next.checked_sub(BURST).unwrap_or(next)
    }

    async fn take(&self, n: usize) {
        let at = self.reserve(n);
        if at > Instant::now() {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        }
    }
}

/// A cap on bytes per second, possibly different at night; no cap when unset.
#[derive(Debug)]
pub struct RateCap {
    day: Option<Limiter>,
    night: Option<(HourRange, Limiter)>,
}

impl RateCap {
    pub fn new(day: Option<u64>, night: Option<(HourRange, u64)>) -> RateCap {
        RateCap {
            day: day.map(Limiter::new),
            night: night.map(|(h, r)| (h, Limiter::new(r))),
        }
    }

    pub fn unlimited() -> RateCap {
        RateCap::new(None, None)
    }

    fn current(&self) -> Option<&Limiter> {
        if let Some((hours, limiter)) = &self.night
            && hours.contains(chrono::Local::now().hour())
        {
            return Some(limiter);
        }
        self.day.as_ref()
    }

    /// The cap now, bytes per second.
    pub fn current_rate(&self) -> Option<u64> {
        self.current().map(|l| l.rate)
    }

    /// Waits until `n` more bytes fit under the cap.
    pub async fn take(&self, n: usize) {
        if n == 0 {
            return;
        }
        if let Some(l) = self.current() {
            l.take(n).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn the_cap_holds_for_pieces_larger_than_the_burst() {
        let cap = RateCap::new(Some(20 << 20), None);
        let t = Instant::now();
        // 10 MiB in 1 MiB pieces at 20 MiB/s: half a second.
        for _ in 0..10 {
            cap.take(1 << 20).await;
        }
        let secs = t.elapsed().as_secs_f64();
        assert!((0.45..0.55).contains(&secs), "{secs}");
        assert_eq!(cap.current_rate(), Some(20 << 20));
        assert_eq!(RateCap::unlimited().current_rate(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_small_takers_share_the_cap_exactly() {
        let cap = std::sync::Arc::new(RateCap::new(Some(20 << 20), None));
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        // 8 streams of 16 KiB pieces (TLS records), 30 MiB in all: 1.5 s.
        for _ in 0..8 {
            let cap = cap.clone();
            tasks.spawn(async move {
                for _ in 0..(30 << 20) / 8 / 16384 {
                    cap.take(16384).await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let rate = 30.0 / t.elapsed().as_secs_f64();
        assert!((19.6..20.8).contains(&rate), "{rate:.2} MiB/s");
    }

    #[test]
    fn night_hours_pick_the_night_rate() {
        let hour = chrono::Local::now().hour();
        let now = HourRange {
            start: hour,
            end: (hour + 1) % 24,
        };
        let cap = RateCap::new(Some(1 << 20), Some((now, 5 << 20)));
        assert_eq!(cap.current_rate(), Some(5 << 20));
        let later = HourRange {
            start: (hour + 2) % 24,
            end: (hour + 3) % 24,
        };
        let cap = RateCap::new(None, Some((later, 5 << 20)));
        assert_eq!(cap.current_rate(), None);
    }
}
