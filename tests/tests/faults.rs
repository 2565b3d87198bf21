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

/// The rows of `table` (a fixed name from the test).
async fn count(db: &Db, table: &str) -> i64 {
    db.connection()
        .query_one_raw(Statement::from_string(
            db.backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap()
}

/// An app whose database is `db` on one of the backends, at `test_start()`.
async fn app_on(db: Db) -> Arc<App> {
    let config = test_config();
    db.sync_hosts(&config.hosts, test_start().timestamp())
        .await
        .unwrap();
    Arc::new(App::new(
        config,
        db,
        Arc::new(TerminalSlack::new("UTC")),
        Arc::new(ManualClock::new(test_start())),
    ))
}

/// A PostgreSQL test database, and an app that reaches it through a proxy the test can cut.
async fn app_behind_proxy() -> (TestDb, Arc<Proxy>, Arc<App>) {
    let test_db = TestDb::new(Backend::Postgres).await;
    let mut url = reqwest::Url::parse(&test_db.url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Arc::new(Proxy::start(upstream).await);
    url.set_port(Some(proxy.port)).unwrap();
    let app = app_on(Db::connect(url.as_str()).await.unwrap()).await;
    (test_db, proxy, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_gets_a_clear_try_again_and_the_bot_recovers() {
    maison_bot::install_crypto_provider();
    let (test_db, proxy, app) = app_behind_proxy().await;

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
    assert_eq!(count(&test_db.db, "bookings").await, 2);
    let slots = count(&test_db.db, "booking_slots").await;
    assert_eq!(slots, 2);
}

/// A small tmpfs mounted for one test, unmounted (lazily, so a leftover open file cannot keep
/// it) when the test ends, even by a panic.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "maison-test"])
            .arg(dir.path())
            .status()
            .expect("mount(8) runs");
        assert!(
            status.success(),
            "mounting a {size} tmpfs failed: this fault test plays a full disk on a real \
             filesystem and needs root (CI runs as root)"
        );
        SmallDisk { dir }
    }

    /// Writes a file until the filesystem refuses with "no space left"; its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0xa5u8; 64 << 10];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        // Whatever tail still fits, byte by byte coarse steps, so no page is left over.
        for step in [4096usize, 512, 1] {
            while file.write_all(&block[..step]).is_ok() {}
        }
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sqlite_disk_refuses_bookings_clearly_and_recovers() {
    let disk = SmallDisk::mount("16m");
    let file = disk.dir.path().join("maison.db");
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", file.display()))
        .await
        .unwrap();
    let app = app_on(db.clone()).await;
    let reply = app.answer_command(command("book gpu01 1h")).await;
    assert!(reply.text.contains("Booked `gpu01`"), "{}", reply.text);
    // An empty write-ahead log: from here on every write needs new space on the disk (a long
    // log from the migrations could otherwise take a few commits without growing).
    db.connection()
        .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .unwrap();

    let filler = disk.fill();
    let mut booked = 0;
    let mut refused = 0;
    // test_start() is 08:00: each try asks a later hour of the same day.
    for hour in 10..16 {
        let reply = app
            .answer_command(command(&format!("book gpu02 1h at {hour:02}:00")))
            .await;
        if reply.text.contains("Booked `gpu02`") {
            booked += 1;
        } else {
            assert!(
                reply
                    .text
                    .contains("The disk that holds Maison's database is full")
                    && reply.text.contains("nothing was changed"),
                "a booking on a full disk got: {}",
                reply.text
            );
            refused += 1;
        }
    }
    assert!(refused > 0, "no booking was refused on a full disk");

    std::fs::remove_file(&filler).unwrap();
    let reply = app.answer_command(command("book gpu03 1h")).await;
    assert!(reply.text.contains("Booked `gpu03`"), "{}", reply.text);
    // Nothing half-written: each booking has its slot, and the file is sound.
    assert_eq!(count(&db, "bookings").await, 2 + booked);
    let slots = count(&db, "booking_slots").await;
    assert_eq!(slots, 2 + booked);
    let check: String = db
        .connection()
        .query_one_raw(Statement::from_string(
            db.backend(),
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(check, "ok");
}

/// A PostgreSQL server of the test's own (its own data directory and port, trust
/// authentication on loopback), so it can be restarted without touching the machine's server
/// or other tests.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    /// A server tool: from `pg_config --bindir`, else Debian's newest `/usr/lib/postgresql/<v>`.
    fn bin(tool: &str) -> std::path::PathBuf {
        let from_pg_config = std::process::Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        let dir = from_pg_config
            .filter(|dir| dir.join(tool).exists())
            .or_else(|| {
                let mut versions: Vec<std::path::PathBuf> =
                    std::fs::read_dir("/usr/lib/postgresql")
                        .ok()?
                        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                        .filter(|bin| bin.join(tool).exists())
                        .collect();
                versions.sort();
                versions.pop()
            })
            .unwrap_or_else(|| {
                panic!("PostgreSQL's {tool} is not installed (apt-get install postgresql)")
            });
        dir.join(tool)
    }

    /// Runs a PostgreSQL tool as the `postgres` user (the server refuses to run as root).
    fn as_postgres(args: &[&str]) {
        let out = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .args(args)
            .output()
            .expect("runuser");
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start() -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(postgres_uid()), None).unwrap();
        let data = dir.path().join("data");
        let initdb = Self::bin("initdb");
        Self::as_postgres(&[
            initdb.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-U",
            "maison",
            "--auth=trust",
        ]);
        let server = PrivatePostgres {
            dir,
            port: maison_tests::free_port(),
        };
        server.pg_ctl(&["start"]);
        server
    }

    fn pg_ctl(&self, action: &[&str]) {
        let data = self.dir.path().join("data");
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let pg_ctl = Self::bin("pg_ctl");
        let mut args = vec![
            pg_ctl.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-o",
            &options,
            "-l",
            log.to_str().unwrap(),
            "-w",
        ];
        args.extend(action);
        Self::as_postgres(&args);
    }

    fn url(&self) -> String {
        format!("postgres://maison@127.0.0.1:{}/postgres", self.port)
    }
}

fn postgres_uid() -> u32 {
    let out = std::process::Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a postgres user (Debian's postgresql package makes it)")
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Self::bin("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

/// PostgreSQL restarted in the middle of a steady 200 bookings a second: every request gets a
/// booking or a clear "try again", none an internal error; what the replies say was booked is
/// exactly what the database holds, each booking whole; the bot goes on by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_200_bookings_a_second() {
    maison_bot::install_crypto_provider();
    let server = std::sync::Arc::new(PrivatePostgres::start());
    let db = Db::connect(&server.url()).await.unwrap();
    let app = app_on(db.clone()).await;

    // 1,000 bookings over 5 s, each of one GPU of gpu03 for an hour of its own (8 people, one
    // GPU each, so no rule refuses any); after the first second the server is stopped ("fast":
    // sessions ended, transactions rolled back) and started again 2.5 s later.
    const RATE: u64 = 200;
    const TOTAL: u64 = 1000;
    let first_day = test_start().date_naive().succ_opt().unwrap();
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(1000 / RATE));
    let mut requests = tokio::task::JoinSet::new();
    let mut restart = None;
    let started = std::time::Instant::now();
    for n in 0..TOTAL {
        ticker.tick().await;
        if n == RATE {
            let server = server.clone();
            // Down for longer than a request waits for a connection (2 s), as a slow restart
            // or a fail-over is: a quick `pg_ctl restart` (about 0.2 s here) goes unnoticed,
            // each request just waiting for a fresh connection.
            restart = Some(tokio::task::spawn_blocking(move || {
                let t = std::time::Instant::now();
                server.pg_ctl(&["-m", "fast", "stop"]);
                std::thread::sleep(std::time::Duration::from_millis(2500));
                server.pg_ctl(&["start"]);
                t.elapsed()
            }));
        }
        let gpu = n % 8;
        let hour = n / 8;
        let day = first_day + chrono::Days::new(hour / 24);
        let mut invocation = command(&format!("book gpu03:{gpu} 1h at {day} {:02}:00", hour % 24));
        invocation.user_id = format!("U0LOAD{gpu}");
        let app = app.clone();
        requests.spawn(async move {
            let asked = std::time::Instant::now();
            let reply = app.handle_command(&invocation).await;
            (reply.text, asked.elapsed())
        });
    }
    let (mut booked, mut try_again, mut slowest) = (0i64, 0, std::time::Duration::ZERO);
    while let Some(done) = requests.join_next().await {
        let (text, took) = done.unwrap();
        slowest = slowest.max(took);
        if text.contains("Booked `gpu03`") {
            booked += 1;
        } else {
            assert!(
                text.contains("The database is not answering")
                    && text.contains("nothing was changed"),
                "a booking got neither a booking nor a clear try-again: {text}"
            );
            try_again += 1;
        }
    }
    let restart_took = restart.unwrap().await.unwrap();
    println!(
        "{TOTAL} bookings at {RATE}/s in {:.1} s: {booked} booked, {try_again} told to try again, slowest answer {} ms; the restart took {} ms",
        started.elapsed().as_secs_f64(),
        slowest.as_millis(),
        restart_took.as_millis()
    );
    assert!(try_again > 0, "the restart was not felt");
    assert!(booked > 0, "nothing was booked around the cut");

    // Recovered without a restart, and nothing half-written.
    let reply = app.answer_command(command("book gpu01 1h")).await;
    assert!(reply.text.contains("Booked `gpu01`"), "{}", reply.text);
    assert_eq!(count(&db, "bookings").await, booked + 1);
    let slots = count(&db, "booking_slots").await;
    assert_eq!(slots, booked + 1);
}
