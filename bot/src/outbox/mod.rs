//! The durable outbox: every proactive Slack message (reports, reminders, job outcomes) is
//! written to the `outbox` table first, by [`crate::store::Db::enqueue`], and a single [`Outbox`]
//! sender delivers it. A Slack outage, a rate limit or a restart delays messages; it never
//! loses them.
//!
//! Guarantees (see `docs/jobs.md`):
//! * per recipient, messages go out in the order they were queued (id order);
//! * at most one message per second per channel; a 429's `Retry-After` is honoured;
//! * 5xx and transport errors are retried with exponential backoff (1 s doubling to 60 s), for
//!   ever;
//! * a message Slack refuses for good (`channel_not_found`, `not_in_channel`…) is *parked*: kept
//!   with its error, logged, counted in `maison-bot jobs list`, and no longer holds up the
//!   messages queued after it. `maison-bot jobs requeue` puts parked messages back in the queue;
//! * delivery is at least once: a message is sent again only if Slack took it but its answer
//!   never came back.
//!
//! Layer: a front. It may import `ports` (the Slack client), `store` (the queue) and `core`.

mod sender;

pub use sender::{DeliveryReport, Outbox};
