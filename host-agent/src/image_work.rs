//! Image work in progress on this host (copies arriving, builds running), for the bot to show
//! in the progress message it edits while the caller waits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use maison_agent_api::images::ImageProgress;

/// One piece of work: bytes counted by the transfer, the build's current step.
#[derive(Debug)]
pub struct Work {
    kind: &'static str,
    started: Instant,
    pub bytes_total: u64,
    pub bytes_done: Arc<AtomicU64>,
    pub step: Mutex<Option<String>>,
}

/// The work in progress, by image reference.
#[derive(Debug, Default)]
pub struct Board {
    work: Mutex<BTreeMap<String, Arc<Work>>>,
}

/// Removes its work from the board when the work ends, however it ends.
pub struct Entry<'a> {
    board: &'a Board,
    reference: String,
    pub work: Arc<Work>,
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        self.board.work.lock().unwrap().remove(&self.reference);
    }
}

impl Board {
    pub fn start(&self, reference: &str, kind: &'static str, bytes_total: u64) -> Entry<'_> {
        let work = Arc::new(Work {
            kind,
            started: Instant::now(),
            bytes_total,
            bytes_done: Arc::new(AtomicU64::new(0)),
            step: Mutex::new(None),
        });
        self.work
            .lock()
            .unwrap()
            .insert(reference.to_string(), work.clone());
        Entry {
            board: self,
            reference: reference.to_string(),
            work,
        }
    }

    pub fn snapshot(&self) -> Vec<ImageProgress> {
        self.work
            .lock()
            .unwrap()
            .iter()
            .map(|(reference, work)| ImageProgress {
                reference: reference.clone(),
                kind: work.kind.to_string(),
                bytes_done: work.bytes_done.load(Ordering::Relaxed),
                bytes_total: work.bytes_total,
                step: work.step.lock().unwrap().clone(),
                seconds: work.started.elapsed().as_secs_f64(),
            })
            .collect()
    }
}
