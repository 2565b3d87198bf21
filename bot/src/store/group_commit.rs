//! Group commit for a SQLite file: one thread owns a write connection and runs the jobs sent to
//! it in shared transactions.
//!
//! Why a thread of our own: through sqlx, each statement is a hand-off to the connection's
//! worker thread and back (and one per result row), and each booking paid its own fsync
//! (`synchronous = FULL`). A booking's work inside SQLite is tens of microseconds; the hand-offs
//! and the fsync were the rest. Here a job is one hand-off in and one out. Jobs that arrive
//! while a transaction is committing wait for the next one, where each runs under its own
//! savepoint (a refused or failed job rolls back only itself) and all share one fsync.
//!
//! Nobody hears an outcome before the `COMMIT` that holds it has returned: a crash can lose a
//! job that was never answered, never one that was.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Most jobs in one transaction: bounds how long the first of a group waits for the last.
const MAX_GROUP: usize = 64;

/// One unit of work for the writer thread.
pub(crate) trait WriteJob: Send {
    /// Runs inside the group's transaction, under a savepoint of its own. Returning `false`
    /// rolls back what it wrote (a refusal, or an error it keeps for [`WriteJob::finish`]).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Called once the group's transaction has ended: `Ok` when it committed.
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

/// The handle: jobs go in, the thread answers each through the job itself.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Box<dyn WriteJob>>,
}

impl GroupCommit {
    /// Opens a write connection to `path` with the same settings as the pool's connections and
    /// starts the thread; it ends when the last handle is dropped.
    pub(crate) fn start(path: &Path) -> rusqlite::Result<GroupCommit> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // The same settings as every pooled connection (see `Db::connect_without_migrating`).
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, queue))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(GroupCommit { jobs })
    }

    /// Queues a job. If the thread is gone, the job is finished at once with an error.
    pub(crate) fn submit(&self, job: Box<dyn WriteJob>) {
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            job.finish(Err("the SQLite writer thread has stopped".into()));
        }
    }
}

fn writer_loop(conn: Connection, queue: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let committed = run_group(&conn, &mut group);
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = group.len(), "a group of writes did not commit");
        }
        for job in group {
            job.finish(committed.clone());
        }
    }
}

/// One transaction for the whole group; each job between `SAVEPOINT` and `RELEASE`.
fn run_group(conn: &Connection, group: &mut [Box<dyn WriteJob>]) -> Result<(), String> {
    let fail = |e: rusqlite::Error| super::rusqlite_message(&e);
    conn.execute_batch("BEGIN IMMEDIATE").map_err(fail)?;
    for job in group.iter_mut() {
        let step = conn.execute_batch("SAVEPOINT job").and_then(|()| {
            if job.run(conn) {
                conn.execute_batch("RELEASE job")
            } else {
                conn.execute_batch("ROLLBACK TO job; RELEASE job")
            }
        });
        if let Err(e) = step {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(fail(e));
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(fail(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// What each job heard when its group ended, by value.
    type Heard = Arc<Mutex<Vec<(i64, Result<(), String>)>>>;

    /// Inserts a value, or refuses (rolls back) when asked.
    struct Insert {
        value: i64,
        refuse: bool,
        outcome: Heard,
    }

    impl WriteJob for Insert {
        fn run(&mut self, conn: &Connection) -> bool {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [self.value])
                .is_ok()
                && !self.refuse
        }
        fn finish(self: Box<Self>, committed: Result<(), String>) {
            self.outcome.lock().unwrap().push((self.value, committed));
        }
    }

    #[test]
    fn refused_jobs_roll_back_alone_and_everyone_hears_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
            .unwrap();
        let writer = GroupCommit::start(&path).unwrap();
        let outcome = Arc::new(Mutex::new(Vec::new()));
        for value in 0..200 {
            writer.submit(Box::new(Insert {
                // Every tenth is refused; value 7 twice, so the second breaks UNIQUE.
                value: if value == 8 { 7 } else { value },
                refuse: value % 10 == 9,
                outcome: outcome.clone(),
            }));
        }
        drop(writer);
        // The thread drains the queue, then ends when the last sender is gone.
        let stored: Vec<i64> = loop {
            if outcome.lock().unwrap().len() == 200 {
                let conn = Connection::open(&path).unwrap();
                let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
                break stmt
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let expected: Vec<i64> = (0..200).filter(|v| v % 10 != 9 && *v != 8).collect();
        assert_eq!(stored, expected);
        assert!(outcome.lock().unwrap().iter().all(|(_, c)| c.is_ok()));
    }
}
