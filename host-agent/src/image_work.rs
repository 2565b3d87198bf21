//! Image work in progress on this host (copies arriving, builds running), for the bot to show
//! in the progress message it edits while the caller waits; and whose turn it is to build.

use std::collections::{BTreeMap, HashMap};
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
    /// The reference each person is building, by owner: one build at a time per person, since
    /// each build holds a container-without-GPUs' memory and CPUs while it runs.
    builders: Mutex<HashMap<String, String>>,
}

/// Removes its work from the board when the work ends, however it ends (and gives a build's
/// owner their turn back).
pub struct Entry<'a> {
    board: &'a Board,
    reference: String,
    builder: Option<String>,
    pub work: Arc<Work>,
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        self.board.work.lock().unwrap().remove(&self.reference);
        if let Some(owner) = &self.builder {
            self.board.builders.lock().unwrap().remove(owner);
        }
    }
}

impl Board {
    /// Starts `owner`'s build of `reference`, or answers the reference they are building now.
    pub fn start_build(&self, owner: &str, reference: &str) -> Result<Entry<'_>, String> {
        {
            let mut builders = self.builders.lock().unwrap();
            if let Some(running) = builders.get(owner) {
                return Err(running.clone());
            }
            builders.insert(owner.to_string(), reference.to_string());
        }
        let mut entry = self.start(reference, "build", 0);
        entry.builder = Some(owner.to_string());
        Ok(entry)
    }

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
            builder: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_build_at_a_time_per_person() {
        let board = Board::default();
        let first = board.start_build("U0ADA", "ada/a:v1").unwrap();
        assert_eq!(
            board.start_build("U0ADA", "ada/b:v1").err().as_deref(),
            Some("ada/a:v1")
        );
        // Someone else builds meanwhile; both show as work in progress.
        let other = board.start_build("U0BOB", "bob/a:v1").unwrap();
        assert_eq!(board.snapshot().len(), 2);
        drop(first);
        let again = board.start_build("U0ADA", "ada/b:v1").unwrap();
        let shown: Vec<String> = board.snapshot().into_iter().map(|p| p.reference).collect();
        assert_eq!(shown, ["ada/b:v1", "bob/a:v1"]);
        drop((again, other));
        assert!(board.snapshot().is_empty());
        // A copy is not a build: it takes nobody's turn.
        let _copy = board.start("ada/c:v1", "copy", 10);
        board.start_build("U0ADA", "ada/d:v1").unwrap();
    }
}
