//! Bookings as data: what is asked ([`NewBooking`]), what is stored and shown
//! ([`BookingView`]), who is in the way ([`BookingHolder`]), and why a booking operation was
//! refused ([`BookingError`]). The rules that decide are in [`super::rules`].
//!
//! `BookingError::Db` carries the database's own error, so the store's write path can use `?`;
//! it is the one storage type this layer names, as a value, never a connection.

use sea_orm::DbErr;

use super::rules::GpuWish;

/// Length of the booking a "Book … now" button makes.
pub const BOOK_NOW_SECS: i64 = 2 * 3600;

/// What the "Book <host> now" button of a refused launch books: one GPU for
/// [`BOOK_NOW_SECS`], from now.
pub fn book_now(host: &str, now: i64) -> NewBooking {
    NewBooking {
        host: host.to_owned(),
        gpus: GpuWish::Count(1),
        start: now,
        end: now + BOOK_NOW_SECS,
        note: None,
        project: None,
    }
}

/// The limits a booking must respect unless made by an admin (all in seconds).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_length: i64,
    pub max_ahead: i64,
    pub max_gpus_per_user: u32,
}

/// A booking to make.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub host: String,
    pub gpus: GpuWish,
    pub start: i64,
    pub end: i64,
    pub note: Option<String>,
    /// The project it serves; `None` takes the booker's default, if any.
    pub project: Option<String>,
}

/// A booking as replies show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingView {
    pub id: i64,
    pub user_id: i64,
    pub slack_user_id: String,
    pub display_name: String,
    pub host: String,
    pub gpus: Vec<u32>,
    pub start: i64,
    pub end: i64,
    pub note: Option<String>,
    pub cancelled: bool,
    pub released: bool,
    /// A wait-list offer not yet accepted: the GPUs are held for its owner until then.
    pub held_until: Option<i64>,
}

/// Someone else's booking in the way: who holds which GPU of it, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingHolder {
    pub booking_id: i64,
    pub slack_user_id: String,
    pub display_name: String,
    pub gpu: u32,
    pub start: i64,
    pub end: i64,
}

/// How a cancel or release ended the booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It had not started: it is gone.
    Cancelled,
    /// It was running: it ends now.
    Released,
}

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("unknown host {0}")]
    UnknownHost(String),
    #[error("host {0} is drained")]
    HostDrained(String),
    #[error("host {host} has no GPU {gpu}")]
    NoSuchGpu {
        host: String,
        gpu: u32,
        gpu_count: u32,
    },
    #[error("host {host} has {gpu_count} GPUs, {wanted} asked")]
    NotEnoughGpus {
        host: String,
        gpu_count: u32,
        wanted: u32,
    },
    #[error("slot taken")]
    Taken { holders: Vec<BookingHolder> },
    #[error("starts in the past")]
    InPast,
    #[error("longer than allowed")]
    TooLong { max: i64 },
    #[error("starts too far ahead")]
    TooFarAhead { max: i64 },
    #[error("per-user GPU limit")]
    UserLimit { would_hold: u32, max: u32 },
    #[error("no booking #{0}")]
    NotFound(i64),
    #[error("booking #{id} belongs to someone else")]
    NotOwner { id: i64, owner: String },
    #[error("booking #{0} has already ended")]
    AlreadyEnded(i64),
    #[error(transparent)]
    Db(#[from] DbErr),
}
