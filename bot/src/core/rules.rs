//! Booking rules as pure functions over plain numbers (Unix seconds, GPU indexes), so they can
//! be tested exhaustively without a database. The database layer fetches the slots, asks these
//! functions, and writes the result inside one transaction.

/// One GPU held over `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub gpu: u32,
    pub start: i64,
    pub end: i64,
}

/// Which GPUs the caller wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuWish {
    /// Any `n` free GPUs (the lowest indexes that are free).
    Count(u32),
    /// Exactly these.
    Indexes(Vec<u32>),
    /// Every GPU of the host.
    All,
}

impl GpuWish {
    /// How many GPUs the wish asks for on a host with `gpu_count` GPUs.
    pub fn count(&self, gpu_count: u32) -> u32 {
        match self {
            GpuWish::Count(n) => *n,
            GpuWish::Indexes(list) => list.len() as u32,
            GpuWish::All => gpu_count,
        }
    }
}

pub fn overlaps(a_start: i64, a_end: i64, b_start: i64, b_end: i64) -> bool {
    a_start < b_end && b_start < a_end
}

/// GPUs of the host with nothing booked over `[start, end)`, lowest first.
pub fn free_gpus(gpu_count: u32, busy: &[Busy], start: i64, end: i64) -> Vec<u32> {
    (0..gpu_count)
        .filter(|gpu| {
            !busy
                .iter()
                .any(|b| b.gpu == *gpu && overlaps(b.start, b.end, start, end))
        })
        .collect()
}

/// Picks the GPUs for a wish, or `None` if the wish cannot be met over `[start, end)`.
/// Indexes beyond the host's GPUs must be rejected before this is called.
pub fn choose_gpus(
    wish: &GpuWish,
    gpu_count: u32,
    busy: &[Busy],
    start: i64,
    end: i64,
) -> Option<Vec<u32>> {
    let free = free_gpus(gpu_count, busy, start, end);
    match wish {
        GpuWish::Count(n) => {
            let n = *n as usize;
            (n > 0 && free.len() >= n).then(|| free[..n].to_vec())
        }
        GpuWish::Indexes(list) => list.iter().all(|g| free.contains(g)).then(|| list.clone()),
        GpuWish::All => (free.len() == gpu_count as usize && gpu_count > 0).then_some(free),
    }
}

/// The largest number of intervals that overlap at one instant, counting only the parts that
/// fall inside `[window_start, window_end)`. Used for "most GPUs per user at once".
pub fn max_concurrent(intervals: &[(i64, i64)], window_start: i64, window_end: i64) -> u32 {
    let mut edges: Vec<(i64, i32)> = Vec::with_capacity(intervals.len() * 2);
    for &(start, end) in intervals {
        let (s, e) = (start.max(window_start), end.min(window_end));
        if s < e {
            edges.push((s, 1));
            edges.push((e, -1));
        }
    }
    // At the same instant an end (-1) sorts before a start (+1): [a, b) and [b, c) do not overlap.
    edges.sort_unstable();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, delta) in edges {
        now += delta;
        peak = peak.max(now);
    }
    peak as u32
}

/// The earliest start at or after `from` (and before `horizon`) at which the wish fits for
/// `length` seconds. Only a booking's end can make room, so those are the only candidates.
pub fn next_free_start(
    wish: &GpuWish,
    gpu_count: u32,
    busy: &[Busy],
    from: i64,
    length: i64,
    horizon: i64,
) -> Option<i64> {
    let mut candidates: Vec<i64> = std::iter::once(from)
        .chain(busy.iter().map(|b| b.end).filter(|end| *end > from))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    candidates
        .into_iter()
        .take_while(|start| *start < horizon)
        .find(|start| choose_gpus(wish, gpu_count, busy, *start, start + length).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn busy(gpu: u32, start: i64, end: i64) -> Busy {
        Busy { gpu, start, end }
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        assert!(!overlaps(0, 10, 10, 20));
        assert!(overlaps(0, 11, 10, 20));
        assert!(overlaps(5, 6, 0, 100));
    }

    #[test]
    fn count_takes_the_lowest_free_gpus() {
        let held = [busy(0, 0, 100), busy(2, 50, 60)];
        assert_eq!(
            choose_gpus(&GpuWish::Count(1), 4, &held, 0, 10),
            Some(vec![1])
        );
        assert_eq!(
            choose_gpus(&GpuWish::Count(3), 4, &held, 0, 10),
            Some(vec![1, 2, 3])
        );
        assert_eq!(choose_gpus(&GpuWish::Count(3), 4, &held, 0, 55), None);
        assert_eq!(choose_gpus(&GpuWish::Count(0), 4, &held, 0, 10), None);
    }

    #[test]
    fn indexes_and_all_need_every_named_gpu_free() {
        let held = [busy(1, 10, 20)];
        assert_eq!(
            choose_gpus(&GpuWish::Indexes(vec![0, 2]), 3, &held, 0, 30),
            Some(vec![0, 2])
        );
        assert_eq!(
            choose_gpus(&GpuWish::Indexes(vec![1]), 3, &held, 0, 30),
            None
        );
        assert_eq!(
            choose_gpus(&GpuWish::Indexes(vec![1]), 3, &held, 20, 30),
            Some(vec![1])
        );
        assert_eq!(choose_gpus(&GpuWish::All, 3, &held, 0, 30), None);
        assert_eq!(
            choose_gpus(&GpuWish::All, 3, &held, 20, 30),
            Some(vec![0, 1, 2])
        );
        assert_eq!(choose_gpus(&GpuWish::All, 0, &[], 0, 30), None);
    }

    #[test]
    fn peak_concurrency_counts_only_inside_the_window() {
        let intervals = [(0, 10), (5, 15), (10, 20), (30, 40)];
        assert_eq!(max_concurrent(&intervals, 0, 100), 2);
        assert_eq!(max_concurrent(&intervals, 16, 100), 1);
        assert_eq!(max_concurrent(&intervals, 20, 30), 0);
        assert_eq!(max_concurrent(&[(0, 10), (0, 10), (0, 10)], 0, 1), 3);
    }

    #[test]
    fn next_free_start_finds_the_first_gap_long_enough() {
        // GPU 0 busy 0-10 and 12-30: a 5 s slot first fits at 30; a 2 s slot at 10.
        let held = [busy(0, 0, 10), busy(0, 12, 30)];
        let one = GpuWish::Count(1);
        assert_eq!(next_free_start(&one, 1, &held, 0, 5, 1000), Some(30));
        assert_eq!(next_free_start(&one, 1, &held, 0, 2, 1000), Some(10));
        assert_eq!(next_free_start(&one, 1, &held, 0, 5, 20), None);
        // A second GPU is free right away.
        assert_eq!(next_free_start(&one, 2, &held, 0, 5, 1000), Some(0));
    }

    proptest! {
        /// Whatever is chosen is really free and of the right size.
        #[test]
        fn chosen_gpus_are_free(
            held in proptest::collection::vec((0u32..4, 0i64..100, 1i64..50), 0..12),
            start in 0i64..120, len in 1i64..60, n in 1u32..5,
        ) {
            let held: Vec<Busy> = held.into_iter().map(|(g, s, l)| busy(g, s, s + l)).collect();
            if let Some(gpus) = choose_gpus(&GpuWish::Count(n), 4, &held, start, start + len) {
                prop_assert_eq!(gpus.len() as u32, n);
                for g in gpus {
                    prop_assert!(!held.iter().any(|b| b.gpu == g && overlaps(b.start, b.end, start, start + len)));
                }
            } else {
                prop_assert!(free_gpus(4, &held, start, start + len).len() < n as usize);
            }
        }
    }
}
