//! 1 Hz GPU samples folded into 1-minute rollups, kept for a retention window.
//!
//! Pure bookkeeping: the caller passes the time of each sample, so tests drive it
//! with a controlled clock and exact arithmetic.

use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use maison_agent_api::{GpuHolder, GpuMinute};

use crate::gpu::GpuSample;

/// A source of "now", injected so tests control time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(std::sync::Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }

    pub fn advance(&self, by: TimeDelta) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[derive(Debug, Default, Clone)]
struct Acc {
    samples: u32,
    util_sum: f64,
    util_max: f32,
    mem_max: u64,
    power_sum_mw: u64,
    power_n: u32,
    temp_max: Option<u32>,
    holders: BTreeSet<GpuHolder>,
}

/// The rollup store.
#[derive(Debug)]
pub struct Rollups {
    retention: TimeDelta,
    current_minute: Option<DateTime<Utc>>,
    current: HashMap<u32, Acc>,
    done: VecDeque<GpuMinute>,
}

fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

impl Rollups {
    pub fn new(retention: TimeDelta) -> Rollups {
        Rollups {
            retention,
            current_minute: None,
            current: HashMap::new(),
            done: VecDeque::new(),
        }
    }

    /// Adds one sampling round taken at `at`. `holders` maps a GPU index to the
    /// containers running on it. Samples older than the open minute are dropped:
    /// a closed minute is never rewritten, because the bot may already have it.
    pub fn record(
        &mut self,
        at: DateTime<Utc>,
        samples: &[GpuSample],
        holders: &HashMap<u32, Vec<GpuHolder>>,
    ) {
        let minute = minute_of(at);
        match self.current_minute {
            Some(m) if minute < m => return,
            Some(m) if minute > m => self.close_current(),
            _ => {}
        }
        self.current_minute = Some(minute);
        for s in samples {
            let acc = self.current.entry(s.gpu).or_default();
            acc.samples += 1;
            acc.util_sum += f64::from(s.util_pct);
            acc.util_max = acc.util_max.max(s.util_pct);
            acc.mem_max = acc.mem_max.max(s.mem_used_bytes);
            if let Some(p) = s.power_milliwatts {
                acc.power_sum_mw += u64::from(p);
                acc.power_n += 1;
            }
            if let Some(t) = s.temp_celsius {
                acc.temp_max = Some(acc.temp_max.map_or(t, |m| m.max(t)));
            }
            if let Some(h) = holders.get(&s.gpu) {
                acc.holders.extend(h.iter().cloned());
            }
        }
        self.prune(at);
    }

    /// Closes the open minute once `now` is past it, even without new samples
    /// (a stalled probe must not keep a minute open forever).
    pub fn tick(&mut self, now: DateTime<Utc>) {
        if let Some(m) = self.current_minute
            && minute_of(now) > m
        {
            self.close_current();
        }
        self.prune(now);
    }

    fn close_current(&mut self) {
        let Some(minute) = self.current_minute.take() else {
            return;
        };
        let mut gpus: Vec<(u32, Acc)> = self.current.drain().collect();
        gpus.sort_by_key(|(g, _)| *g);
        for (gpu, acc) in gpus {
            if acc.samples == 0 {
                continue;
            }
            let n = f64::from(acc.samples);
            self.done.push_back(GpuMinute {
                minute,
                gpu,
                samples: acc.samples,
                util_avg_pct: (acc.util_sum / n) as f32,
                util_max_pct: acc.util_max,
                mem_used_max_bytes: acc.mem_max,
                power_avg_watts: (acc.power_n > 0)
                    .then(|| (acc.power_sum_mw as f64 / f64::from(acc.power_n) / 1000.0) as f32),
                temp_max_celsius: acc.temp_max,
                holders: acc.holders.into_iter().collect(),
            });
        }
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let oldest = now - self.retention;
        while self.done.front().is_some_and(|r| r.minute < oldest) {
            self.done.pop_front();
        }
    }

    /// Completed minutes starting at or after `since`, oldest first.
    pub fn since(&self, since: Option<DateTime<Utc>>) -> Vec<GpuMinute> {
        let start = match since {
            None => 0,
            Some(s) => self.done.partition_point(|r| r.minute < s),
        };
        self.done.range(start..).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.done.len()
    }

    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn sample(
        gpu: u32,
        util: f32,
        mem: u64,
        power_mw: Option<u32>,
        temp: Option<u32>,
    ) -> GpuSample {
        GpuSample {
            gpu,
            util_pct: util,
            mem_used_bytes: mem,
            power_milliwatts: power_mw,
            temp_celsius: temp,
            pids: Vec::new(),
        }
    }

    fn holder(id: &str, owner: Option<&str>) -> GpuHolder {
        GpuHolder {
            container_id: id.into(),
            container_name: Some(format!("n-{id}")),
            owner: owner.map(Into::into),
        }
    }

    #[test]
    fn one_minute_of_samples_is_averaged_and_maxed() {
        let clock = ManualClock::new(t("2025-05-01T10:00:00Z"));
        let mut r = Rollups::new(TimeDelta::hours(24));
        let none = HashMap::new();
        for i in 0..60u32 {
            // GPU 0: util 0..59 → avg 29.5, max 59; memory peaks at i=30.
            let mem = if i == 30 { 9_000 } else { 1_000 + u64::from(i) };
            r.record(
                clock.now(),
                &[
                    sample(
                        0,
                        i as f32,
                        mem,
                        Some(100_000 + i * 1_000),
                        Some(40 + i % 7),
                    ),
                    sample(1, 100.0, 5, None, None),
                ],
                &none,
            );
            clock.advance(TimeDelta::seconds(1));
        }
        assert!(r.since(None).is_empty(), "the minute is still open");
        r.tick(clock.now());
        let out = r.since(None);
        assert_eq!(out.len(), 2);
        let g0 = &out[0];
        assert_eq!(g0.minute, t("2025-05-01T10:00:00Z"));
        assert_eq!(g0.gpu, 0);
        assert_eq!(g0.samples, 60);
        assert!((g0.util_avg_pct - 29.5).abs() < 1e-4, "{}", g0.util_avg_pct);
        assert_eq!(g0.util_max_pct, 59.0);
        assert_eq!(g0.mem_used_max_bytes, 9_000);
        // power mean of 100..159 W = 129.5 W
        assert!((g0.power_avg_watts.unwrap() - 129.5).abs() < 1e-3);
        assert_eq!(g0.temp_max_celsius, Some(46));
        let g1 = &out[1];
        assert_eq!(g1.util_avg_pct, 100.0);
        assert_eq!(g1.power_avg_watts, None);
        assert_eq!(g1.temp_max_celsius, None);
    }

    #[test]
    fn missed_samples_and_holders_are_recorded_per_minute() {
        let clock = ManualClock::new(t("2025-05-01T10:00:30Z"));
        let mut r = Rollups::new(TimeDelta::hours(24));
        let mut holders = HashMap::new();
        holders.insert(0, vec![holder("a", Some("U1"))]);
        r.record(clock.now(), &[sample(0, 10.0, 1, None, None)], &holders);
        clock.advance(TimeDelta::seconds(10));
        holders.insert(0, vec![holder("b", None), holder("a", Some("U1"))]);
        r.record(clock.now(), &[sample(0, 30.0, 1, None, None)], &holders);
        // Next sample lands in the following minute and closes the first.
        clock.set(t("2025-05-01T10:01:05Z"));
        r.record(
            clock.now(),
            &[sample(0, 50.0, 1, None, None)],
            &HashMap::new(),
        );
        let out = r.since(None);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].samples, 2);
        assert_eq!(out[0].util_avg_pct, 20.0);
        let ids: Vec<&str> = out[0]
            .holders
            .iter()
            .map(|h| h.container_id.as_str())
            .collect();
        assert_eq!(ids, vec!["a", "b"]);
        // A late sample for a closed minute does not rewrite it.
        r.record(
            t("2025-05-01T10:00:59Z"),
            &[sample(0, 99.0, 1, None, None)],
            &HashMap::new(),
        );
        r.tick(t("2025-05-01T10:02:00Z"));
        let out = r.since(None);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].util_max_pct, 30.0);
        assert_eq!(out[1].minute, t("2025-05-01T10:01:00Z"));
        assert!(out[1].holders.is_empty());
    }

    #[test]
    fn since_filters_and_retention_prunes() {
        let clock = ManualClock::new(t("2025-05-01T00:00:00Z"));
        let mut r = Rollups::new(TimeDelta::hours(24));
        // One sample a minute for 25 hours.
        for _ in 0..(25 * 60) {
            r.record(
                clock.now(),
                &[sample(0, 1.0, 1, None, None)],
                &HashMap::new(),
            );
            clock.advance(TimeDelta::minutes(1));
        }
        r.tick(clock.now());
        let all = r.since(None);
        // Minutes older than 24 h before "now" are gone.
        assert_eq!(all.first().unwrap().minute, t("2025-05-01T01:00:00Z"));
        assert_eq!(all.last().unwrap().minute, t("2025-05-02T00:59:00Z"));
        assert_eq!(all.len(), 24 * 60);
        let recent = r.since(Some(t("2025-05-02T00:58:00Z")));
        assert_eq!(recent.len(), 2);
        let mid = r.since(Some(t("2025-05-02T00:57:30Z")));
        assert_eq!(mid.len(), 2);
    }

    #[test]
    fn a_stalled_probe_still_closes_the_minute() {
        let mut r = Rollups::new(TimeDelta::hours(1));
        r.record(
            t("2025-05-01T10:00:10Z"),
            &[sample(3, 5.0, 1, None, None)],
            &HashMap::new(),
        );
        r.tick(t("2025-05-01T10:00:59Z"));
        assert!(r.is_empty());
        r.tick(t("2025-05-01T10:01:00Z"));
        assert_eq!(r.len(), 1);
        assert_eq!(r.since(None)[0].gpu, 3);
    }
}
