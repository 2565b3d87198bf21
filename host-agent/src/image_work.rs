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

/// Why image work cannot start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Busy {
    /// The owner is building this reference.
    OwnerBuilding(String),
    /// The name is being made by work of this kind (`build`, `copy`).
    NameInWork(&'static str),
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
    /// Starts `owner`'s build of `reference`, or says why not: they are building another image,
    /// or that name is being built or copied here now.
    pub fn start_build(&self, owner: &str, reference: &str) -> Result<Entry<'_>, Busy> {
        let mut builders = self.builders.lock().unwrap();
        if let Some(running) = builders.get(owner) {
            return Err(Busy::OwnerBuilding(running.clone()));
        }
        let mut entry = self.start(reference, "build", 0)?;
        builders.insert(owner.to_string(), reference.to_string());
        entry.builder = Some(owner.to_string());
        Ok(entry)
    }

    /// Starts work that makes `reference`, unless other work is making that name now: two
    /// at once would each tag over the other.
    pub fn start(
        &self,
        reference: &str,
        kind: &'static str,
        bytes_total: u64,
    ) -> Result<Entry<'_>, Busy> {
        let mut work = self.work.lock().unwrap();
        if let Some(other) = work.get(reference) {
            return Err(Busy::NameInWork(other.kind));
        }
        let started = Arc::new(Work {
            kind,
            started: Instant::now(),
            bytes_total,
            bytes_done: Arc::new(AtomicU64::new(0)),
            step: Mutex::new(None),
        });
        work.insert(reference.to_string(), started.clone());
        Ok(Entry {
            board: self,
            reference: reference.to_string(),
            builder: None,
            work: started,
        })
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
    fn one_build_at_a_time_per_person_and_one_work_per_name() {
        let board = Board::default();
        let first = board.start_build("U0ADA", "ada/a:v1").unwrap();
        assert_eq!(
            board.start_build("U0ADA", "ada/b:v1").err(),
            Some(Busy::OwnerBuilding("ada/a:v1".into()))
        );
        // Someone else builds meanwhile, under another name; both show as work in progress.
        let other = board.start_build("U0BOB", "bob/a:v1").unwrap();
        assert_eq!(board.snapshot().len(), 2);
        // Not under a name being made: a build or a copy of it would tag over the other.
        assert_eq!(
            board.start_build("U0CY", "ada/a:v1").err(),
            Some(Busy::NameInWork("build"))
        );
        assert_eq!(
            board.start("bob/a:v1", "copy", 10).err(),
            Some(Busy::NameInWork("build"))
        );
        drop(first);
        let again = board.start_build("U0ADA", "ada/b:v1").unwrap();
        let shown: Vec<String> = board.snapshot().into_iter().map(|p| p.reference).collect();
        assert_eq!(shown, ["ada/b:v1", "bob/a:v1"]);
        drop((again, other));
        assert!(board.snapshot().is_empty());
        // A copy takes nobody's turn to build, only its name.
        let _copy = board.start("ada/c:v1", "copy", 10).unwrap();
        assert_eq!(
            board.start_build("U0ADA", "ada/c:v1").err(),
            Some(Busy::NameInWork("copy"))
        );
        // A refused build did not take Ada's turn either.
        board.start_build("U0ADA", "ada/d:v1").unwrap();
    }
}
