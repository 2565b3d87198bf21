//! The wait-list matcher's loop: a pass every `[waitlist] match_every`, and at once when the app
//! says GPUs may have been freed (a release, a cancel, a declined offer, an undrain).
//!
//! Passes run under the `waitlist_matcher` lease, so with several replicas one of them
//! matches at a time. Every write of a pass names the lease's term and checks it inside its own
//! transaction (fencing): a replica paused past its lease, whose successor already matches,
//! writes nothing. Correctness does not rest on the lease alone either: every write re-checks
//! the state it relies on (see `app::waitlist`), and a partial unique index allows one open
//! offer per request, so two matchers racing can never give a request two offers.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration as StdDuration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::app::App;
use crate::store::leases::Fence;

/// The lease name in the `leases` table.
pub const LEASE_NAME: &str = "waitlist_matcher";

/// Runs matching passes for `app` until cancelled.
pub struct Matcher {
    app: Arc<App>,
    /// Identifies this process in the lease.
    holder: String,
    /// The term of the lease while this matcher holds it; 0 when it does not.
    term: AtomicI64,
}

impl Matcher {
    pub fn new(app: Arc<App>) -> Self {
        Self {
            app,
            holder: crate::store::leases::new_holder_id(),
            term: AtomicI64::new(0),
        }
    }

    /// One pass if this process holds (or can take) the lease; `false` when another has it.
    pub async fn pass(&self) -> bool {
        let now = self.app.clock.now().timestamp();
        let every = self.app.config.waitlist.match_every.as_secs().max(1) as i64;
        let fence = match self
            .app
            .db
            .take_lease(LEASE_NAME, &self.holder, now + 3 * every, now)
            .await
        {
            Ok(Some(term)) => {
                if self.term.swap(term, Ordering::Relaxed) != term {
                    info!(holder = %self.holder, term, "wait-list: this replica matches");
                }
                Fence {
                    lease: LEASE_NAME.to_string(),
                    holder: self.holder.clone(),
                    term,
                }
            }
            Ok(None) => {
                if self.term.swap(0, Ordering::Relaxed) != 0 {
                    info!(holder = %self.holder, "wait-list: the matcher lease is another replica's now; standing by");
                }
                return false;
            }
            Err(err) => {
                warn!(error = %err, "wait-list: cannot take the matcher lease");
                return false;
            }
        };
        match self.app.match_waitlist(Some(&fence)).await {
            Ok(pass)
                if pass.offered.is_empty() && pass.lapsed.is_empty() && pass.expired.is_empty() => {
            }
            Ok(pass) => info!(
                offered = ?pass.offered,
                lapsed = ?pass.lapsed,
                expired = ?pass.expired,
                waiting = pass.waiting,
                "wait-list pass"
            ),
            Err(err) => warn!(error = %format!("{err:#}"), "wait-list pass failed"),
        }
        true
    }

    /// Passes until `shutdown`; gives the lease back when it stops.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            let nudges = self.app.matcher_nudges();
            let every = self
                .app
                .config
                .waitlist
                .match_every
                .max(StdDuration::from_secs(1));
            info!(every = ?every, "wait-list matcher started");
            loop {
                self.pass().await;
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = nudges.notified() => {}
                    _ = tokio::time::sleep(every) => {}
                }
            }
            if let Err(err) = self.app.db.release_lease(LEASE_NAME, &self.holder).await {
                warn!(error = %err, "wait-list: could not give the matcher lease back");
            }
        })
    }
}
