//! Property test over random sequences of book / extend / cancel / release (and time passing):
//! after every step, no two active bookings overlap on any (host, GPU), and every booking the
//! database reported as made is really there. Runs on SQLite and on PostgreSQL.

use maison_bot::core::booking::{BookingError, Limits, NewBooking};
use maison_bot::core::rules::{GpuWish, overlaps};
use maison_bot::store::bookings::Actor;
use maison_bot::store::entities::user;
use maison_bot::store::{Db, UserProfileRow};
use maison_tests::{Backend, TestDb, test_config, test_start};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Book {
        user: usize,
        host: usize,
        wish: Wish,
        start_min: i64,
        len_min: i64,
    },
    Extend {
        booking: usize,
        by_min: i64,
        user: usize,
    },
    End {
        booking: usize,
        user: usize,
    },
    Wait {
        minutes: i64,
    },
}

#[derive(Debug, Clone)]
enum Wish {
    Count(u32),
    Index(u32),
    All,
}

const HOSTS: [&str; 2] = ["gpu01", "gpu02"];

fn op() -> impl Strategy<Value = Op> {
    let wish = prop_oneof![
        (1u32..3).prop_map(Wish::Count),
        (0u32..3).prop_map(Wish::Index),
        Just(Wish::All)
    ];
    prop_oneof![
        4 => (0usize..3, 0usize..2, wish, 0i64..240, 15i64..180)
            .prop_map(|(user, host, wish, start_min, len_min)| Op::Book { user, host, wish, start_min, len_min }),
        2 => (0usize..16, 15i64..120, 0usize..3).prop_map(|(booking, by_min, user)| Op::Extend { booking, by_min, user }),
        1 => (0usize..16, 0usize..3).prop_map(|(booking, user)| Op::End { booking, user }),
        1 => (1i64..90).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

async fn users(db: &Db) -> Vec<user::Model> {
    let mut out = Vec::new();
    for id in ["U0P1", "U0P2", "U0P3"] {
        let row = UserProfileRow {
            team_id: "T",
            slack_user_id: id,
            display_name: id,
            tz: "UTC",
            locale: None,
            fetched_at: 0,
        };
        out.push(db.upsert_user(&row).await.unwrap());
    }
    out
}

async fn check_no_overlap(db: &Db) -> Result<(), String> {
    let all = db
        .bookings_overlapping(None, 0, i64::MAX)
        .await
        .map_err(|e| e.to_string())?;
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            let shared_gpu = a.gpus.iter().any(|g| b.gpus.contains(g));
            if a.host == b.host && shared_gpu && overlaps(a.start, a.end, b.start, b.end) {
                return Err(format!("overlap: {a:?} and {b:?}"));
            }
        }
    }
    Ok(())
}

async fn run_sequence(backend: Backend, ops: Vec<Op>) -> Result<(), String> {
    let test_db = TestDb::new(backend).await;
    let db = &test_db.db;
    db.sync_hosts(&test_config().hosts[..2], 0).await.unwrap();
    let users = users(db).await;
    let limits = Limits {
        max_length: 7 * 86_400,
        max_ahead: 30 * 86_400,
        max_gpus_per_user: 4,
    };
    let mut now = test_start().timestamp();
    let mut made: Vec<i64> = Vec::new();
    for op in ops {
        match op {
            Op::Book {
                user,
                host,
                wish,
                start_min,
                len_min,
            } => {
                let actor = Actor {
                    user: &users[user],
                    is_admin: false,
                    request_id: "prop",
                };
                let start = now + start_min * 60;
                let gpus = match wish {
                    Wish::Count(n) => GpuWish::Count(n),
                    Wish::Index(i) => GpuWish::Indexes(vec![i]),
                    Wish::All => GpuWish::All,
                };
                let request = NewBooking {
                    host: HOSTS[host].into(),
                    gpus,
                    start,
                    end: start + len_min * 60,
                    note: None,
                    project: None,
                };
                match db.create_booking(actor, &request, &limits, now).await {
                    Ok(view) => made.push(view.id),
                    Err(BookingError::Db(e)) => return Err(format!("database error: {e}")),
                    Err(_) => {}
                }
            }
            Op::Extend {
                booking,
                by_min,
                user,
            } => {
                if let Some(id) = made.get(booking) {
                    let actor = Actor {
                        user: &users[user],
                        is_admin: false,
                        request_id: "prop",
                    };
                    if let Err(BookingError::Db(e)) = db
                        .extend_booking(actor, *id, by_min * 60, &limits, now)
                        .await
                    {
                        return Err(format!("database error: {e}"));
                    }
                }
            }
            Op::End { booking, user } => {
                if let Some(id) = made.get(booking) {
                    let actor = Actor {
                        user: &users[user],
                        is_admin: false,
                        request_id: "prop",
                    };
                    if let Err(BookingError::Db(e)) = db.end_booking(actor, *id, now).await {
                        return Err(format!("database error: {e}"));
                    }
                }
            }
            Op::Wait { minutes } => now += minutes * 60,
        }
        check_no_overlap(db).await?;
    }
    for id in made {
        if db.booking(id).await.map_err(|e| e.to_string())?.is_none() {
            return Err(format!("booking #{id} was reported made but is missing"));
        }
    }
    Ok(())
}

fn run_blocking(backend: Backend, ops: Vec<Op>) -> Result<(), String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run_sequence(backend, ops))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_overlap_on_sqlite(ops in proptest::collection::vec(op(), 1..40)) {
        run_blocking(Backend::Sqlite, ops).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    // Each case creates a PostgreSQL database: fewer cases, same sequences.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn no_overlap_on_postgres(ops in proptest::collection::vec(op(), 1..40)) {
        run_blocking(Backend::Postgres, ops).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    // A SQLite file: bookings go through the group-commit thread, the other writes do not.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn no_overlap_on_a_sqlite_file(ops in proptest::collection::vec(op(), 1..40)) {
        run_blocking(Backend::SqliteFile, ops).map_err(TestCaseError::fail)?;
    }
}
