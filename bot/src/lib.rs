//! maison-bot: the control plane of Maison. It receives `/maison` commands and button clicks
//! from Slack (HTTP or Socket Mode), owns the database (bookings, users, audit log) and answers
//! in Block Kit. The binary in `main.rs` is a thin CLI over this library, so tests and the
//! benchmark drive exactly the code that runs in production.

pub mod app;
pub mod config;
pub mod core;
pub mod db;
pub mod fleet;
pub mod jobs;
pub mod local;
pub mod outbox;
pub mod ports;
pub mod schedule;
pub mod slack;
pub mod terminal;

/// Installs rustls' `ring` provider as the process default. Several dependencies build rustls;
/// with more than one provider compiled in, the first TLS client would otherwise panic.
/// Safe to call more than once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
