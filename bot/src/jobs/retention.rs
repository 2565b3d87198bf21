//! Housekeeping jobs: old metric rows and old sent messages.

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
