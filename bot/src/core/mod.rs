//! The pure core: what Maison decides and says, as functions of data. Booking rules and types,
//! fleet types and owner resolution, datasets (sources, progress, eviction), replies, report building, reminder planning, the chart,
//! rendering to Block Kit, button action ids, roles and the clock trait.
//!
//! Layer: above `config` and `schedule`, below everything else. Code here may import `config`,
//! `schedule` and its own siblings, never `store`, `ports`, `app` or a front; it opens no
//! connection and awaits nothing, so every function can be tested with plain values.

pub mod actions;
pub mod auth;
pub mod booking;
pub mod catalogue;
pub mod clock;
pub mod datasets;
pub mod fleet;
pub mod gpus;
pub mod i18n;
pub mod inventory;
pub mod jobs;
pub mod message;
pub mod reminders;
pub mod render;
pub mod replies;
pub mod reports;
pub mod rules;
pub mod units;
pub mod waitlist;
