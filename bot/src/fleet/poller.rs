//! The poller: every `agents.poll_interval` it asks each agent of the [`Fleet`] for its host
//! facts, the metrics since its cursor, its containers, its images and its dataset copies, with
//! at most `agents.poll_concurrency` agents at a time, and stores each answer in one
//! transaction (the dataset copies in a second one: an agent without datasets still counts as
//! answering). After each cycle it edits the progress messages of running dataset copies, at
//! most every [`PROGRESS_EVERY_SECS`] each (best effort: a failed edit is tried next cycle).
//!
//! A host that fails is only marked unreachable once it has not answered for
//! `agents.unreachable_after`; nothing else is written because of it, so its bookings and its
//! cached containers and images stay as last seen. When it answers again it is reachable at
//! once and its caches are reconciled with what it lists.
//!
//! With several replicas ([`Poller::with_lease`], as `serve` runs it), only the holder of the
//! `poller` lease polls, and each answer is stored only while the lease still has the term it
//! was polled under: a replica that lost the lease stores nothing and stands by. A poller
//! without a lease (`try`, tests, benchmarks) always polls.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::DateTime;
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use maison_agent_api::datasets::DatasetInventory;

use crate::config::AgentsConfig;
use crate::core::clock::Clock;
use crate::core::datasets::{PROGRESS_EVERY_SECS, TransferState};
use crate::core::replies::datasets as data_replies;
use crate::ports::{AgentApi, Fleet, SlackApi};
use crate::store::Db;
use crate::store::ingest::HostAnswer;
use crate::store::leases::{Fence, new_holder_id};

/// The lease name in the `leases` table.
pub const LEASE_NAME: &str = "poller";

/// How often a running poller checks for hosts gone silent in the middle of a cycle.
const SILENCE_CHECK_EVERY: Duration = Duration::from_secs(1);

/// What one polling cycle did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleReport {
    /// Unix seconds at the start of the cycle.
    pub started_at: i64,
    /// Hosts polled.
    pub hosts: usize,
    /// Hosts that answered every call and whose answer was stored.
    pub answered: usize,
    /// Hosts that did not answer (error, refusal or deadline).
    pub failed: usize,
    /// Hosts that answered but whose answer could not be stored (database error).
    pub store_errors: usize,
    /// `(host, error)` of the failed hosts, by host.
    pub failures: Vec<(String, String)>,
    /// Hosts marked unreachable during this cycle, by host.
    pub became_unreachable: Vec<String>,
    /// Hosts that answered again after being unreachable, by host.
    pub became_reachable: Vec<String>,
    /// New 1-minute GPU rows stored.
    pub minute_rows_ingested: usize,
    /// Progress messages of dataset copies edited.
    pub progress_edits: usize,
    /// Wall-clock duration of the cycle.
    pub elapsed: Duration,
    /// Another replica holds the poller lease: nothing was polled.
    pub standby: bool,
    /// An answer was refused by the lease's fence (another replica took the lease during the
    /// cycle); this poller stood down.
    pub fenced_off: bool,
}

enum Outcome {
    Answered {
        host: String,
        back_online: bool,
        minute_rows: usize,
    },
    Failed {
        host: String,
        error: String,
        went_unreachable: bool,
    },
    StoreFailed,
    FencedOff,
}

/// The poller lease, for a poller that runs under one.
struct PollerLease {
    holder: String,
    secs: i64,
    /// The fence and end of the lease while held.
    held: Mutex<Option<(Fence, i64)>>,
}

/// Polls the fleet's agents into the database.
pub struct Poller {
    db: Db,
    fleet: Fleet,
    clock: Arc<dyn Clock>,
    interval: Duration,
    unreachable_after: Duration,
    concurrency: usize,
    host_deadline: Duration,
    /// Where progress messages are edited; without it they are not.
    slack: Option<Arc<dyn SlackApi>>,
    /// Set when replicas share the polling: only the lease holder polls.
    lease: Option<PollerLease>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("fleet", &self.fleet)
            .field("interval", &self.interval)
            .field("unreachable_after", &self.unreachable_after)
            .field("concurrency", &self.concurrency)
            .field("host_deadline", &self.host_deadline)
            .finish_non_exhaustive()
    }
}

impl Poller {
    /// The per-host deadline defaults to the poll interval: one hung agent can never make a
    /// cycle last longer than that, whatever the client timeouts (`request_timeout` is long
    /// because a launch waits for its container).
    pub fn new(db: Db, fleet: Fleet, config: &AgentsConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            fleet,
            clock,
            interval: config.poll_interval,
            unreachable_after: config.unreachable_after,
            concurrency: config.poll_concurrency.max(1),
            host_deadline: config.poll_interval.max(Duration::from_millis(100)),
            slack: None,
            lease: None,
        }
    }

    /// Polls only while holding the `poller` lease, which lasts `timeout` unless renewed (it
    /// is renewed every second while held). For replicas sharing one database.
    pub fn with_lease(mut self, timeout: Duration) -> Self {
        self.lease = Some(PollerLease {
            holder: new_holder_id(),
            secs: timeout.as_secs().max(1) as i64,
            held: Mutex::new(None),
        });
        self
    }

    /// Takes or renews the poller lease when due; the fence to write under, `Ok(None)` when
    /// another replica holds it. A poller without a lease always may poll: `Ok(Some(None))`.
    async fn hold_lease(&self) -> Result<Option<Option<Fence>>, sea_orm::DbErr> {
        let Some(lease) = &self.lease else {
            return Ok(Some(None));
        };
        let now = self.clock.now().timestamp();
        if let Some((fence, until)) = &*lease.held.lock().unwrap()
            && until - now > lease.secs * 2 / 3
        {
            return Ok(Some(Some(fence.clone())));
        }
        let term = self
            .db
            .take_lease(LEASE_NAME, &lease.holder, now + lease.secs, now)
            .await?;
        let mut held = lease.held.lock().unwrap();
        match term {
            Some(term) => {
                if held.as_ref().is_none_or(|(f, _)| f.term != term) {
                    tracing::info!(holder = %lease.holder, term, "this replica polls the agents");
                }
                let fence = Fence {
                    lease: LEASE_NAME.to_owned(),
                    holder: lease.holder.clone(),
                    term,
                };
                *held = Some((fence.clone(), now + lease.secs));
                Ok(Some(Some(fence)))
            }
            None => {
                if held.take().is_some() {
                    tracing::info!(holder = %lease.holder, "the poller lease is another replica's now; standing by");
                }
                Ok(None)
            }
        }
    }

    /// An answer was fenced off: another replica took the lease. Stop until it is ours again.
    fn stand_down(&self) {
        if let Some(lease) = &self.lease
            && let Some((fence, _)) = lease.held.lock().unwrap().take()
        {
            tracing::info!(holder = %lease.holder, term = fence.term, "poller fenced off (the lease has a newer term); standing by");
        }
    }

    /// Gives the lease back (on shutdown), so another replica polls at once.
    async fn release_lease(&self) {
        if let Some(lease) = &self.lease
            && let Err(e) = self.db.release_lease(LEASE_NAME, &lease.holder).await
        {
            tracing::warn!(error = %e, "cannot give the poller lease back");
        }
    }

    /// Edits the progress messages of dataset copies through this Slack client.
    pub fn with_slack(mut self, slack: Arc<dyn SlackApi>) -> Self {
        self.slack = Some(slack);
        self
    }

    /// Overrides the overall deadline of one host's calls in a cycle.
    pub fn with_host_deadline(mut self, deadline: Duration) -> Self {
        self.host_deadline = deadline;
        self
    }

    pub fn host_deadline(&self) -> Duration {
        self.host_deadline
    }

    /// Polls every agent once and stores what they said (with a lease: only while holding it).
    pub async fn poll_once(&self) -> CycleReport {
        let fence = match self.hold_lease().await {
            Ok(Some(fence)) => fence,
            Ok(None) => {
                return CycleReport {
                    started_at: self.clock.now().timestamp(),
                    standby: true,
                    ..Default::default()
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the poller lease");
                return CycleReport {
                    started_at: self.clock.now().timestamp(),
                    standby: true,
                    ..Default::default()
                };
            }
        };
        let hosts = self.fleet.hosts();
        let span = tracing::info_span!("poll_cycle", hosts = hosts.len());
        let report = self.cycle(hosts, fence.as_ref()).instrument(span).await;
        if report.fenced_off {
            self.stand_down();
        }
        report
    }

    async fn cycle(&self, hosts: Vec<String>, fence: Option<&Fence>) -> CycleReport {
        let started = Instant::now();
        let started_at = self.clock.now().timestamp();
        let cursors = self.db.metric_cursors().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the metrics cursors; asking for all metrics");
            Default::default()
        });
        if let Err(e) = self.db.mark_polled(&hosts, started_at).await {
            tracing::warn!(error = %e, "cannot record the poll attempt");
        }
        // Hosts that failed last time go first: a silent agent holds its slot for a whole
        // timeout, and started early those timeouts overlap with everyone else's polls instead
        // of adding to the cycle's end.
        let failing = self.db.failing_hosts().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the failing hosts");
            Default::default()
        });
        let mut jobs: Vec<_> = hosts
            .iter()
            .filter_map(|h| self.fleet.agent(h).map(|a| (h.clone(), a)))
            .collect();
        jobs.sort_by_key(|(h, _)| !failing.contains(h));
        // The futures are built up front (they do nothing until polled): a `Stream::map`
        // closure borrowing `self` would not be provably `Send` for `tokio::spawn`.
        let polls: Vec<_> = jobs
            .into_iter()
            .map(|(host, agent)| {
                let cursor = cursors.get(&host).copied();
                let span = tracing::info_span!("poll_host", host = %host);
                self.poll_host(host, agent, cursor, fence).instrument(span)
            })
            .collect();
        let outcomes: Vec<Outcome> = futures::stream::iter(polls)
            .buffer_unordered(self.concurrency)
            .collect()
            .await;

        let mut report = CycleReport {
            started_at,
            hosts: hosts.len(),
            ..Default::default()
        };
        for outcome in outcomes {
            match outcome {
                Outcome::Answered {
                    host,
                    back_online,
                    minute_rows,
                } => {
                    report.answered += 1;
                    report.minute_rows_ingested += minute_rows;
                    if back_online {
                        report.became_reachable.push(host);
                    }
                }
                Outcome::Failed {
                    host,
                    error,
                    went_unreachable,
                } => {
                    report.failed += 1;
                    if went_unreachable {
                        report.became_unreachable.push(host.clone());
                    }
                    report.failures.push((host, error));
                }
                Outcome::StoreFailed => report.store_errors += 1,
                Outcome::FencedOff => report.fenced_off = true,
            }
        }
        match self.mark_silent_hosts().await {
            Ok(silent) => report.became_unreachable.extend(silent),
            Err(e) => tracing::warn!(error = %e, "cannot check for silent hosts"),
        }
        report.progress_edits = self.show_progress().await;
        report.failures.sort();
        report.became_unreachable.sort();
        report.became_unreachable.dedup();
        report.became_reachable.sort();
        report.elapsed = started.elapsed();
        for host in &report.became_unreachable {
            tracing::warn!(host = %host, "host unreachable");
        }
        for host in &report.became_reachable {
            tracing::info!(host = %host, "host reachable again");
        }
        tracing::debug!(
            answered = report.answered,
            failed = report.failed,
            store_errors = report.store_errors,
            minute_rows = report.minute_rows_ingested,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "poll cycle done"
        );
        report
    }

    /// Marks unreachable the hosts that have not answered for `unreachable_after` although
    /// polled since, without waiting for their polls to fail. The poller runs this every second
    /// while a cycle is in flight and at the end of each cycle. Returns the hosts it marked.
    pub async fn mark_silent_hosts(&self) -> Result<Vec<String>, sea_orm::DbErr> {
        let now = self.clock.now().timestamp();
        self.db
            .mark_silent_hosts(now, self.unreachable_after.as_secs() as i64)
            .await
    }

    async fn poll_host(
        &self,
        host: String,
        agent: Arc<dyn AgentApi>,
        cursor: Option<i64>,
        fence: Option<&Fence>,
    ) -> Outcome {
        let attempt_at = self.clock.now().timestamp();
        let since = cursor.and_then(|c| DateTime::from_timestamp(c + 60, 0));
        let error =
            match tokio::time::timeout(self.host_deadline, fetch(agent.as_ref(), since)).await {
                Ok(Ok((answer, datasets))) => {
                    // The fence is checked at the time of the write, not of the poll.
                    let fence = fence.map(|f| (f, self.clock.now().timestamp()));
                    let stored = self
                        .db
                        .store_answer_fenced(&host, &answer, attempt_at, fence)
                        .await;
                    return match stored {
                        Ok(None) => Outcome::FencedOff,
                        Ok(Some(stored)) => {
                            if let Some(inventory) = datasets {
                                self.store_datasets(&host, &inventory, attempt_at).await;
                            }
                            Outcome::Answered {
                                host,
                                back_online: stored.back_online,
                                minute_rows: stored.minute_rows,
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot store the agent's answer");
                            Outcome::StoreFailed
                        }
                    };
                }
                Ok(Err(e)) => e,
                Err(_) => format!("no answer within {} ms", self.host_deadline.as_millis()),
            };
        tracing::debug!(%error, "poll failed");
        let now = self.clock.now().timestamp();
        let unreachable_after = self.unreachable_after.as_secs() as i64;
        match self
            .db
            .record_poll_failure(&host, attempt_at, now, &error, unreachable_after)
            .await
        {
            Ok(failure) => Outcome::Failed {
                host,
                error,
                went_unreachable: failure.went_unreachable,
            },
            Err(e) => {
                tracing::error!(error = %e, "cannot record the failed poll");
                Outcome::Failed {
                    host,
                    error,
                    went_unreachable: false,
                }
            }
        }
    }

    /// Stores one host's dataset copies; what someone must hear about (a scan done, a
    /// verification's result, a failed copy) is queued with them.
    async fn store_datasets(&self, host: &str, inventory: &DatasetInventory, polled_at: i64) {
        let now = self.clock.now().timestamp();
        // Read before the transaction: the DMs it queues go out in their readers' languages.
        let languages = self.db.languages().await.unwrap_or_default();
        let lang_of = |user: &str| languages.get(user).copied().unwrap_or_default();
        let notify = |event: &_| data_replies::event_messages(event, now, &lang_of);
        if let Err(e) = self
            .db
            .store_datasets(host, inventory, polled_at, now, &notify)
            .await
        {
            tracing::error!(error = %e, "cannot store the dataset copies");
        }
    }

    /// Edits the progress message of each dataset copy that moved on since it was last shown
    /// (at most every [`PROGRESS_EVERY_SECS`]), and once more when it ends. Returns the number
    /// of messages edited.
    pub async fn show_progress(&self) -> usize {
        let Some(slack) = &self.slack else { return 0 };
        let shown = match self.db.progress_to_show().await {
            Ok(shown) => shown,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the copies in progress");
                return 0;
            }
        };
        if shown.is_empty() {
            return 0;
        }
        let now = self.clock.now().timestamp();
        // Only when a message may be edited: most ticks have no copy running.
        let languages = self.db.languages().await.unwrap_or_default();
        let mut edits = 0;
        for progress in shown {
            let last = progress.transfer.state != TransferState::Running;
            let due = progress
                .last_progress_at
                .is_none_or(|at| now - at >= PROGRESS_EVERY_SECS);
            if !(last || due) {
                continue;
            }
            let lang = languages
                .get(&progress.transfer.requested_by)
                .copied()
                .unwrap_or_default();
            let reply =
                data_replies::progress_message(&progress.label, &progress.transfer, now, lang);
            let done = match slack
                .update_message(&progress.channel, &progress.ts, &reply)
                .await
            {
                Ok(()) => {
                    edits += 1;
                    last
                }
                // The message is gone or cannot be edited: stop trying.
                Err(e) if !e.is_retryable() => {
                    tracing::warn!(transfer = progress.transfer.id, error = %e, "cannot edit a progress message; giving up on it");
                    true
                }
                Err(e) => {
                    tracing::debug!(transfer = progress.transfer.id, error = %e, "cannot edit a progress message now");
                    continue;
                }
            };
            if let Err(e) = self
                .db
                .progress_shown(progress.transfer.id, now, done)
                .await
            {
                tracing::warn!(error = %e, "cannot record a progress edit");
            }
        }
        edits
    }

    /// Runs a cycle every `poll_interval` (the first at once) until `shutdown` is cancelled. A
    /// cycle that overruns delays the next one; cycles never overlap. A second task checks for
    /// silent hosts every second meanwhile (see [`Poller::mark_silent_hosts`]).
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        let poller = Arc::new(self);
        let span = tracing::info_span!("poller");
        tokio::spawn(
            async move {
                // Its own task, not a `select!` arm beside the cycle: on SQLite the pool has one
                // connection, which a suspended cycle could be holding.
                let watcher = tokio::spawn(
                    poller
                        .clone()
                        .watch_silence(shutdown.clone())
                        .instrument(tracing::Span::current()),
                );
                poller.run_cycles(shutdown).await;
                let _ = watcher.await;
                poller.release_lease().await;
            }
            .instrument(span),
        )
    }

    async fn run_cycles(&self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.poll_once() => {}
            }
        }
    }

    async fn watch_silence(self: Arc<Self>, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(SILENCE_CHECK_EVERY);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            // Renewing here too keeps the lease while a long cycle runs; only the holder
            // marks hosts silent.
            match self.hold_lease().await {
                Ok(Some(_)) => {}
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the poller lease");
                    continue;
                }
            }
            match self.mark_silent_hosts().await {
                Ok(hosts) => {
                    for host in hosts {
                        tracing::warn!(host = %host, "host unreachable (no answer)");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot check for silent hosts"),
            }
        }
    }
}

/// One host's answer: the host facts first (a dead agent fails there, and an HTTP/2 client
/// then has its connection for the others), then metrics, containers, images and dataset copies
/// at once. The copies are optional: an agent that cannot list them (an older version) still
/// answers, and its copies stay as last seen.
async fn fetch(
    agent: &dyn AgentApi,
    since: Option<DateTime<chrono::Utc>>,
) -> Result<(HostAnswer, Option<DatasetInventory>), String> {
    let facts = agent.host().await.map_err(|e| error_chain(&e))?;
    let (answer, datasets) = tokio::join!(
        async { tokio::try_join!(agent.metrics(since), agent.containers(), agent.images()) },
        agent.datasets()
    );
    let (metrics, containers, images) = answer.map_err(|e| error_chain(&e))?;
    let datasets = datasets
        .inspect_err(|e| tracing::debug!(error = %error_chain(e), "no dataset inventory"))
        .ok();
    Ok((
        HostAnswer {
            facts,
            metrics,
            containers,
            images,
        },
        datasets,
    ))
}

/// An error with its causes ("agent unreachable: …: connection refused").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    text
}
