//! Housekeeping jobs: old metric rows, old sent messages, and the hosts' free-space margins.

use std::time::Duration;

use anyhow::Context;
use futures::FutureExt;
use futures::future::BoxFuture;

use super::{JobContext, JobOutcome};
use crate::core::jobs;

/// How long GPU minute rows and sent outbox messages are kept.
const KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// `metrics_retention`: minute rows older than 30 days go; hourly rollups stay.
pub(super) fn metrics(context: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    async move {
        let pruned = context
            .app
            .db
            .prune_metrics(context.now.timestamp(), KEEP)
            .await
            .context("cannot prune GPU metrics")?;
        Ok(JobOutcome {
            summary: jobs::metrics_pruned(&pruned),
        })
    }
    .boxed()
}

/// `outbox_retention`: messages sent more than 30 days ago go; queued and parked ones stay.
pub(super) fn outbox(context: JobContext) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    async move {
        let cutoff = context.now.timestamp() - KEEP.as_secs() as i64;
        let deleted = context
            .app
            .db
            .prune_sent_messages(cutoff)
            .await
            .context("cannot prune the outbox")?;
        Ok(JobOutcome {
            summary: jobs::messages_pruned(deleted),
        })
    }
    .boxed()
}

/// `dataset_margin`: on each host below its free-space margin, the least recently used
/// removable dataset copies go (never mounted, pinned, needed by a booking within 24 h, or the
/// last complete copy).
pub(super) fn dataset_margin(
    context: JobContext,
) -> BoxFuture<'static, anyhow::Result<JobOutcome>> {
    async move {
        let kept = context
            .app
            .keep_dataset_margins(context.now.timestamp())
            .await
            .context("cannot keep the free-space margins")?;
        let lines: Vec<(String, Vec<String>, u64)> = kept
            .into_iter()
            .map(|k| (k.host, k.removed, k.short_after))
            .collect();
        Ok(JobOutcome {
            summary: jobs::margins_kept(&lines),
        })
    }
    .boxed()
}
