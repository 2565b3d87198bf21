//! Property test of the wait-list over random interleavings of book (with and without `--wait`),
//! release, accept, decline (sometimes by the wrong person, sometimes two accepts at once),
//! unwait and time passing, each followed by a matching pass. After every step:
//! * no two active bookings (held offers included) overlap on a (host, GPU);
//! * no request holds two open offers, and a request is "offered" exactly when it holds one,
//!   whose held booking is live;
//! * the head of the line does not fit in the GPUs free now (it would have been offered).
//!
//! And two accepts of one offer at once give one booking. Runs on SQLite and PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use maison_bot::app::{ActionInvocation, App, Invocation};
use maison_bot::core::actions;
use maison_bot::core::clock::{Clock, ManualClock};
use maison_bot::core::rules::{self, GpuWish, overlaps};
use maison_bot::core::waitlist::WaitState;
use maison_bot::terminal::TerminalSlack;
use maison_tests::{Backend, TestDb, test_config, test_start};
use proptest::prelude::*;

const USERS: [&str; 3] = ["U0P1", "U0P2", "U0P3"];
const HOSTS: [&str; 3] = ["gpu01", "gpu02", "any"];

#[derive(Debug, Clone)]
enum Op {
    Book {
        user: usize,
        host: usize,
        gpus: u32,
        minutes: i64,
        wait: bool,
    },
    /// Ends one of the user's bookings (cancel or release).
    End {
        user: usize,
        booking: usize,
    },
    /// Answers an open offer; `as_owner` false: someone else clicks it.
    Answer {
        offer: usize,
        accept: bool,
        as_owner: bool,
    },
    /// Two accepts of one offer at the same moment.
    AcceptTwice {
        offer: usize,
    },
    Unwait {
        request: usize,
    },
    Tick {
        minutes: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..3, 0usize..3, 1u32..3, 15i64..180, any::<bool>())
            .prop_map(|(user, host, gpus, minutes, wait)| Op::Book { user, host, gpus, minutes, wait }),
        2 => (0usize..3, 0usize..4).prop_map(|(user, booking)| Op::End { user, booking }),
        2 => (0usize..3, any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(offer, accept, as_owner)| Op::Answer { offer, accept, as_owner }),
        1 => (0usize..3).prop_map(|offer| Op::AcceptTwice { offer }),
        1 => (0usize..4).prop_map(|request| Op::Unwait { request }),
        2 => (1i64..40).prop_map(|minutes| Op::Tick { minutes }),
    ]
}

struct World {
    app: Arc<App>,
    clock: Arc<ManualClock>,
    _db: TestDb,
}

impl World {
    async fn new(backend: Backend) -> Self {
        let test_db = TestDb::new(backend).await;
        let mut config = test_config();
        config.hosts.truncate(2);
        let clock = Arc::new(ManualClock::new(test_start()));
        test_db
            .db
            .sync_hosts(&config.hosts, clock.now().timestamp())
            .await
            .unwrap();
        let slack = Arc::new(TerminalSlack::new("UTC"));
        let app = Arc::new(App::new(config, test_db.db.clone(), slack, clock.clone()));
        World {
            app,
            clock,
            _db: test_db,
        }
    }

    async fn command(&self, user: &str, text: &str) -> String {
        let invocation = Invocation {
            team_id: "T0PROP".into(),
            user_id: user.into(),
            channel_id: "C0PROP".into(),
            text: text.into(),
            response_url: None,
            trigger_id: None,
        };
        self.app.handle_command(&invocation).await.text
    }

    async fn click(&self, user: &str, action_id: &str, value: &str) -> String {
        let click = ActionInvocation {
            team_id: "T0PROP".into(),
            user_id: user.into(),
            action_id: action_id.into(),
            value: value.into(),
            ..Default::default()
        };
        self.app.handle_action(&click).await.reply.text
    }

    /// Open offers: (offer id, owner's Slack id).
    async fn offers(&self) -> Vec<(i64, String)> {
        let mut offers: Vec<(i64, String)> = self
            .app
            .db
            .open_wait_requests()
            .await
            .unwrap()
            .into_iter()
            .filter_map(|r| r.offer.map(|o| (o.id, r.slack_user_id)))
            .collect();
        offers.sort();
        offers
    }
}

async fn step(world: &World, op: &Op) -> Result<(), String> {
    match op {
        Op::Book {
            user,
            host,
            gpus,
            minutes,
            wait,
        } => {
            let wait = if *wait { " --wait" } else { "" };
            let text = format!("book {} {minutes}m --gpus {gpus}{wait}", HOSTS[*host]);
            world.command(USERS[*user], &text).await;
        }
        Op::End { user, booking } => {
            let now = world.clock.now().timestamp();
            let db = &world.app.db;
            let Some(me) = db.find_user("T0PROP", USERS[*user]).await.unwrap() else {
                return Ok(());
            };
            let mine = db.upcoming_bookings_of(me.id, now).await.unwrap();
            if let Some(b) = mine.get(*booking) {
                world
                    .command(USERS[*user], &format!("cancel {}", b.id))
                    .await;
            }
        }
        Op::Answer {
            offer,
            accept,
            as_owner,
        } => {
            let offers = world.offers().await;
            if let Some((id, owner)) = offers.get(*offer) {
                let clicker = if *as_owner {
                    owner.as_str()
                } else {
                    USERS.iter().find(|u| **u != owner).unwrap()
                };
                let action = if *accept {
                    actions::WAIT_ACCEPT
                } else {
                    actions::WAIT_DECLINE
                };
                world.click(clicker, action, &id.to_string()).await;
            }
        }
        Op::AcceptTwice { offer } => {
            let offers = world.offers().await;
            if let Some((id, owner)) = offers.get(*offer) {
                let value = id.to_string();
                let (a, b) = tokio::join!(
                    world.click(owner, actions::WAIT_ACCEPT, &value),
                    world.click(owner, actions::WAIT_ACCEPT, &value)
                );
                let accepted = [&a, &b].iter().filter(|t| t.contains("Accepted")).count();
                if accepted != 1 {
                    return Err(format!(
                        "two accepts of offer {id} gave {accepted} bookings: {a:?} / {b:?}"
                    ));
                }
            }
        }
        Op::Unwait { request } => {
            let open = world.app.db.open_wait_requests().await.unwrap();
            if let Some(r) = open.get(*request) {
                world
                    .command(&r.slack_user_id, &format!("unwait {}", r.id))
                    .await;
            }
        }
        Op::Tick { minutes } => world.clock.advance(Duration::minutes(*minutes)),
    }
    world
        .app
        .match_waitlist(None)
        .await
        .map_err(|e| format!("matching pass failed: {e:#}"))?;
    check(world).await
}

async fn check(world: &World) -> Result<(), String> {
    let db = &world.app.db;
    let now = world.clock.now().timestamp();
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
    let open = db.open_wait_requests().await.map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    for r in &open {
        if !seen.insert(r.id) {
            return Err(format!("request {} holds two open offers", r.id));
        }
        if (r.state == WaitState::Offered) != r.offer.is_some() {
            return Err(format!(
                "request {} is {:?} with offer {:?}",
                r.id, r.state, r.offer
            ));
        }
        if let Some(offer) = &r.offer {
            let held = all.iter().find(|b| b.id == offer.booking_id);
            if !held.is_some_and(|b| b.held_until == Some(offer.expires_at) && !b.cancelled) {
                return Err(format!(
                    "offer {offer:?} without its held booking: {held:?}"
                ));
            }
        }
    }
    // The head of the line fits nowhere now, or it would have been offered (its user's own
    // limit aside, which keeps it waiting on purpose).
    let line = world
        .app
        .waiting_line(now)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(head) = line.first() {
        let busy = db
            .busy_by_host(now, now + head.length)
            .await
            .map_err(|e| e.to_string())?;
        let held_by_user: u32 = all
            .iter()
            .filter(|b| b.user_id == head.user_id && b.start <= now && b.end > now && !b.cancelled)
            .map(|b| b.gpus.len() as u32)
            .sum();
        let within_limit = held_by_user + head.gpus <= 4;
        for host in world.app.config.hosts.iter() {
            if head.host.as_ref().is_some_and(|h| *h != host.name) {
                continue;
            }
            let slots = busy.get(&host.name).map_or(&[][..], Vec::as_slice);
            let fits = rules::choose_gpus(
                &GpuWish::Count(head.gpus),
                host.gpus,
                slots,
                now,
                now + head.length,
            )
            .is_some();
            if fits && within_limit {
                return Err(format!(
                    "request {} heads the line and fits `{}` now, but was not offered",
                    head.id, host.name
                ));
            }
        }
    }
    Ok(())
}

fn run(backend: Backend, ops: Vec<Op>) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let world = World::new(backend).await;
            for op in &ops {
                step(&world, op)
                    .await
                    .map_err(|e| format!("after {op:?}: {e}"))?;
            }
            Ok(())
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_wait_list_keeps_its_promises_on_sqlite(ops in proptest::collection::vec(op(), 1..30)) {
        run(Backend::Sqlite, ops).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    // Each case creates a PostgreSQL database: fewer cases, same sequences.
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn the_wait_list_keeps_its_promises_on_postgres(ops in proptest::collection::vec(op(), 1..30)) {
        run(Backend::Postgres, ops).map_err(TestCaseError::fail)?;
    }
}
