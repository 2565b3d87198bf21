//! maison-bot: the control plane of Maison. It receives `/maison` commands and button clicks
//! from Slack (HTTP or Socket Mode), owns the database (bookings, users, audit log) and answers
//! in Block Kit. The binary in `main.rs` is a thin CLI over this library, so tests and the
//! benchmark drive exactly the code that runs in production.
//!
//! The modules are layers; each imports only from the layers below it, so the crate has no
//! import cycle (`python3 ../shared/tools/module-cycles.py bot/src` prints `cycles: 0`):
//!
//! | layer | modules | may import |
//! |---|---|---|
//! | fronts | `slack`, `terminal`, `local`, `jobs`, `outbox`, `fleet`, `monitoring` | `app`, `ports`, `store`, `core`, `config`, `schedule`, `telemetry`; never another front |
//! | app | `app` | `ports`, `store`, `core`, `config`, `schedule` |
//! | ports | `ports` | `core` |
//! | store | `store` | `core`, `config` |
//! | core | `core` | `config`, `schedule` (pure: no connection, no `await`) |
//! | bottom | `config`, `schedule`, `telemetry`, `background` | nothing (`config` checks `[jobs.schedules]` with `schedule`) |
//!
//! `main.rs` wires them: config → store → ports (the real Slack and agent clients) → app →
//! fronts. Something below that needs to call upward gets a value or a trait instead.

// Fronts.
pub mod fleet;
pub mod jobs;
pub mod local;
pub mod monitoring;
pub mod outbox;
pub mod slack;
pub mod terminal;

pub mod app;
pub mod ports;
pub mod store;

pub mod core;

pub mod background;
pub mod config;
pub mod schedule;
pub mod telemetry;

/// Installs rustls' `ring` provider as the process default. Several dependencies build rustls;
/// with more than one provider compiled in, the first TLS client would otherwise panic.
/// Safe to call more than once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
