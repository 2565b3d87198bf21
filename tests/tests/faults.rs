//! Faults on the real parts. PostgreSQL going away under the bot (a restart, a failover, a cut
//! connection) is played by a TCP proxy between the bot and the real server, which the test
//! cuts and heals: while it is cut, commands get a clear "try again" at once, nothing is
//! half-written, and the bot recovers by itself when the database is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use maison_bot::app::{App, Invocation};
use maison_bot::core::clock::ManualClock;
use maison_bot::store::Db;
use maison_bot::terminal::TerminalSlack;
use maison_tests::{Backend, TestDb, test_config, test_start};
use sea_orm::{ConnectionTrait, Statement};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A TCP proxy to `upstream` that can be cut (every connection dropped, new ones closed at
/// once) and healed.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(Notify::new());
        let (down_in, cut_in) = (down.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if down_in.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let cut = cut_in.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.notified() => {}
                    }
                });
            }
        });
        Proxy { port, down, cut }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    fn heal(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

fn command(text: &str) -> Invocation {
    Invocation {
        team_id: "T0MAISON".into(),
        user_id: "U0ALICE".into(),
        channel_id: "C0GENERAL".into(),
        text: text.into(),
        response_url: None,
        trigger_id: None,
    }
}

async fn bookings(db: &Db) -> i64 {
    db.connection()
        .query_one_raw(Statement::from_string(
            db.backend(),
            "SELECT COUNT(*) FROM bookings",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_gets_a_clear_try_again_and_the_bot_recovers() {
    maison_bot::install_crypto_provider();
    let test_db = TestDb::new(Backend::Postgres).await;
    let mut url = reqwest::Url::parse(&test_db.url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(upstream).await;
    url.set_port(Some(proxy.port)).unwrap();
    let db = Db::connect(url.as_str()).await.unwrap();
    let config = test_config();
    db.sync_hosts(&config.hosts, test_start().timestamp())
        .await
        .unwrap();
    let app = Arc::new(App::new(
        config,
        db,
        Arc::new(TerminalSlack::new("UTC")),
        Arc::new(ManualClock::new(test_start())),
    ));

    let reply = app.answer_command(command("book gpu01 1h")).await;
    assert!(reply.text.contains("Booked `gpu01`"), "{}", reply.text);

    proxy.cut();
    for text in ["book gpu02 1h", "mine", "status"] {
        // Answered within Slack's time, not "working on it" followed by silence.
        let reply = app.answer_command(command(text)).await;
        assert!(
            reply.text.contains("The database is not answering"),
            "{text}: {}",
            reply.text
        );
        assert!(reply.text.contains("nothing was changed"), "{}", reply.text);
    }

    proxy.heal();
    let reply = app.answer_command(command("book gpu02 1h")).await;
    assert!(reply.text.contains("Booked `gpu02`"), "{}", reply.text);
    // The booking tried during the cut was not half-written: two bookings, each whole.
    assert_eq!(bookings(&test_db.db).await, 2);
    let slots: i64 = test_db
        .db
        .connection()
        .query_one_raw(Statement::from_string(
            test_db.db.backend(),
            "SELECT COUNT(*) FROM booking_slots",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(slots, 2);
}
