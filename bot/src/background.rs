//! The bot's background work (the fleet poller, the outbox sender, the scheduler, the
//! wait-list matcher, the metrics listener), watched as one.
//!
//! Each of them runs until shutdown, so one that ends before then has failed, most likely by
//! a panic, which tokio keeps to that one task. The bot would go on answering Slack with its
//! fleet view frozen, or its DMs queued and never sent, and `/healthz` would still say "ok".
//! So the first to end stops the bot with an error naming it, and the service manager starts
//! it again (the units in `config/` restart on failure). Nothing is lost on the way: what the
//! stopped task had still to do is in the database, and is picked up after the restart.

use tokio::task::{JoinError, JoinHandle, JoinSet};

/// Long-running tasks, each with the name the logs and the error give it.
#[derive(Default)]
pub struct Background {
    tasks: JoinSet<(&'static str, Result<(), JoinError>)>,
}

/// A task that ended: which, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub task: &'static str,
    pub why: String,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} stopped: {}", self.task, self.why)
    }
}

impl Background {
    /// Watches `task`, already running.
    pub fn watch(&mut self, name: &'static str, task: JoinHandle<()>) {
        self.tasks.spawn(async move { (name, task.await) });
    }

    /// The first task to end, and how. Never returns while none is watched, so it can sit in
    /// a `select!` beside the work that must go on.
    pub async fn first_ended(&mut self) -> Ended {
        let Some(joined) = self.tasks.join_next().await else {
            return std::future::pending().await;
        };
        let (task, result) = joined.unwrap_or_else(|watcher| {
            // The watcher only awaits a handle; it cannot panic, and is never aborted.
            ("background watcher", Err(watcher))
        });
        let why = match result {
            Ok(()) => "it returned before the bot was asked to stop".to_string(),
            Err(e) if e.is_panic() => {
                let panic = e.into_panic();
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                format!("it panicked ({message})")
            }
            Err(e) => format!("it was cancelled ({e})"),
        };
        Ended { task, why }
    }

    /// Waits for every task to end (once they were told to stop).
    pub async fn join_all(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_first_task_to_end_is_named_with_its_panic() {
        let mut background = Background::default();
        background.watch("outbox sender", tokio::spawn(std::future::pending::<()>()));
        background.watch(
            "fleet poller",
            tokio::spawn(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                panic!("index out of bounds: the len is 3 but the index is 3");
            }),
        );
        let ended = background.first_ended().await;
        assert_eq!(ended.task, "fleet poller");
        assert_eq!(
            ended.to_string(),
            "the fleet poller stopped: it panicked (index out of bounds: the len is 3 but the index is 3)"
        );
    }

    #[tokio::test]
    async fn a_task_that_returns_early_has_stopped_too() {
        let mut background = Background::default();
        background.watch("scheduler", tokio::spawn(async {}));
        let ended = background.first_ended().await;
        assert_eq!(
            ended,
            Ended {
                task: "scheduler",
                why: "it returned before the bot was asked to stop".into()
            }
        );
    }

    #[tokio::test]
    async fn with_nothing_watched_nothing_ends() {
        let mut background = Background::default();
        let waited =
            tokio::time::timeout(Duration::from_millis(50), background.first_ended()).await;
        assert!(waited.is_err(), "reported an end with no task: {waited:?}");
    }

    #[tokio::test]
    async fn join_all_waits_for_every_task() {
        let mut background = Background::default();
        let (tx, rx) = tokio::sync::oneshot::channel();
        background.watch(
            "matcher",
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tx.send(());
            }),
        );
        background.join_all().await;
        assert!(rx.await.is_ok(), "join_all returned before the task ended");
    }
}
