//! Slash-command benchmark against the real bot router over HTTP, with a fake Slack for profile
//! lookups, on a SQLite file or a fresh PostgreSQL database.
//!
//! * `--mode open` (default): signed `/maison` commands at a fixed rate (requests are sent on
//!   schedule whether or not earlier ones have finished). Two thirds are `book` (real booking
//!   writes, some winning and some "taken"), one third `status`. Prints acknowledgement latency
//!   p50 / p99 / max. Target (DESIGN.md §5): p99 ≤ 5 ms at 200 requests/s.
//! * `--mode closed`: `--clients` clients each send one command, wait for the answer, send the
//!   next, for `--seconds`; `--command book|status|help`. Prints commands per second and p50 /
//!   p99. Bookings never conflict here, so every one is a full write. Targets: ≥ 1,500 bookings/s
//!   on SQLite, ≥ 1,000/s on PostgreSQL, `status` ≥ 3,000/s for 20 hosts × 8 GPUs.
//!
//! `cargo run --release -p maison-tests --bin slack-bench -- --mode closed --command book`
//! `… -- --database postgres` uses `MAISON_TEST_POSTGRES_URL` (a user allowed to create databases).

use clap::{Parser, ValueEnum};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use maison_bot::app::App;
use maison_bot::config::{Config, Secret};
use maison_bot::core::clock::SystemClock;
use maison_bot::slack::api::SlackWebApi;
use maison_bot::slack::http::HttpFront;
use maison_bot::slack::signature;
use maison_bot::store::Db;
use maison_tests::{Backend, FakeSlack, TestDb};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// A fixed request rate, a mix of book and status.
    Open,
    /// Clients that each wait for an answer before sending again.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Database {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Book,
    Status,
    Help,
}

/// Slash-command throughput and acknowledgement latency through the real HTTP front.
#[derive(Debug, Parser)]
#[command(name = "slack-bench")]
struct Args {
    #[arg(long, value_enum, default_value_t = Mode::Open)]
    mode: Mode,
    #[arg(long, value_enum, default_value_t = Database::Sqlite)]
    database: Database,
    /// Closed loop: concurrent clients.
    #[arg(long, default_value_t = 16, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    clients: usize,
    /// Closed loop: the command every client sends.
    #[arg(long, value_enum, default_value_t = Workload::Book)]
    command: Workload,
    /// Requests per second.
    #[arg(long, default_value_t = 200, value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..))]
    rate: u64,
    /// How long to send for.
    #[arg(long, default_value_t = 20, value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..))]
    seconds: u64,
    /// Hosts in the fleet (8 GPUs each).
    #[arg(long, default_value_t = 20, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    hosts: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    maison_bot::install_crypto_provider();
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("maison-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // A PostgreSQL database is created for the run and dropped when `_pg` goes.
    let (db_url, _pg) = match args.database {
        Database::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
            None,
        ),
        Database::Postgres => {
            let pg = TestDb::new(Backend::Postgres).await;
            (pg.url.clone(), Some(pg))
        }
    };

    let slack = FakeSlack::start().await;
    let mut toml =
        String::from("[slack]\ndefault_tz = \"UTC\"\n[bookings]\nmax_gpus_per_user = 64\n");
    for h in 0..args.hosts {
        toml.push_str(&format!("[[hosts]]\nname = \"gpu{h:02}\"\ngpus = 8\n"));
    }
    let mut config = Config::from_toml(&toml)?;
    config.database.url = Secret::new(db_url.clone());
    let db = Db::connect_warm(&db_url, config.database.pool_size).await?;
    db.sync_hosts(&config.hosts, chrono::Utc::now().timestamp())
        .await?;
    let users = 50;
    for u in 0..users {
        slack.add_user(&format!("U0BENCH{u:03}"), &format!("bench{u}"), "UTC");
    }
    let api = SlackWebApi::new(&slack.api_url(), "xoxb-bench")?;
    let app = Arc::new(App::new(config, db, Arc::new(api), Arc::new(SystemClock)));
    let secret = "bench-signing-secret";
    let router = HttpFront::new(app, Secret::new(secret)).router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The bot's own front, with its deadlines and connection limits.
    tokio::spawn(maison_bot::slack::serve::serve(
        listener,
        router,
        maison_bot::slack::serve::FrontLimits::default(),
        std::future::pending(),
    ));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let url = format!("http://{addr}/slack/commands");
    let database = match args.database {
        Database::Sqlite => "SQLite file",
        Database::Postgres => "PostgreSQL",
    };

    // Warm-up: user profiles cached, connections open, SQLite pages hot.
    for u in 0..users {
        send(
            &client,
            &url,
            secret,
            &format!("U0BENCH{u:03}"),
            "status",
            u as u64,
        )
        .await?;
    }

    if args.mode == Mode::Closed {
        closed_loop(&args, &client, &url, secret, users, database).await?;
        std::fs::remove_dir_all(&dir).ok();
        return Ok(());
    }
    let total = args.rate * args.seconds;
    println!(
        "slack-bench: {} signed commands at {}/s over {} s, {database}, {} hosts x 8 GPUs",
        total, args.rate, args.seconds, args.hosts
    );
    let today = chrono::Utc::now().date_naive();
    let interval = Duration::from_nanos(1_000_000_000 / args.rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let url = url.clone();
        let user = format!("U0BENCH{:03}", i % users as u64);
        let text = if i % 3 == 2 {
            "status".to_owned()
        } else {
            // Spread over hosts, GPUs and the next days; every fifth request asks again for
            // the slot booked three requests earlier, so "taken" replies are part of the mix.
            let i = if i % 5 == 0 && i >= 3 { i - 3 } else { i };
            let host = (i / 3) % args.hosts as u64;
            let gpu = (i / 7) % 8;
            let day = (today + chrono::Days::new(1 + (i / 40) % 25)).format("%Y-%m-%d");
            let hour = (i * 7) % 22;
            format!("book gpu{host:02}:{gpu} 1h at {day} {hour:02}:00")
        };
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let outcome = send(&client, &url, secret, &user, &text, 1_000_000 + i).await;
            (sent.elapsed(), outcome)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let (mut errors, mut booked, mut taken, mut other) = (0, 0, 0, 0);
    for task in tasks {
        let (latency, outcome) = task.await?;
        latencies.push(latency);
        match outcome {
            Ok(body) if body.contains("Booked") => booked += 1,
            Ok(body) if body.contains("is taken") => taken += 1,
            Ok(body) if body.contains("went wrong") => errors += 1,
            Ok(_) => other += 1,
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    println!(
        "requests: {} in {:.2} s = {:.1} req/s",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!("outcomes: {booked} booked, {taken} taken, {other} status/other, {errors} errors");
    println!(
        "ack latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 <= 5 ms)",
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap())
    );
    let over_3s = latencies
        .iter()
        .filter(|l| **l > Duration::from_secs(3))
        .count();
    println!("over 3 s: {over_3s}");
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Each client sends, waits for the answer, and sends again until the time is up.
async fn closed_loop(
    args: &Args,
    client: &reqwest::Client,
    url: &str,
    secret: &'static str,
    users: usize,
    database: &str,
) -> anyhow::Result<()> {
    let what = match args.command {
        Workload::Book => "book",
        Workload::Status => "status",
        Workload::Help => "help",
    };
    println!(
        "slack-bench: closed loop, {} clients sending `{what}` for {} s, {database}, {} hosts x 8 GPUs",
        args.clients, args.seconds, args.hosts
    );
    // Every booking gets a slot of its own: host, then GPU, then the hour, from tomorrow on.
    let next_slot = Arc::new(AtomicU64::new(0));
    let hosts = args.hosts as u64;
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, url, next_slot) = (client.clone(), url.to_owned(), next_slot.clone());
        let workload = args.command;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut n = 0u64;
            while Instant::now() < deadline {
                let user = format!("U0BENCH{:03}", (c as u64 * 7 + n) % users as u64);
                let text = match workload {
                    Workload::Book => {
                        let k = next_slot.fetch_add(1, Ordering::Relaxed);
                        let hour_slot = k / (hosts * 8);
                        let day = tomorrow + chrono::Days::new(hour_slot / 24);
                        format!(
                            "book gpu{:02}:{} 1h at {} {:02}:00",
                            k % hosts,
                            (k / hosts) % 8,
                            day.format("%Y-%m-%d"),
                            hour_slot % 24
                        )
                    }
                    Workload::Status => "status".to_owned(),
                    Workload::Help => "help".to_owned(),
                };
                let sent = Instant::now();
                let nonce = 10_000_000 * (c as u64 + 1) + n;
                let outcome = send(&client, &url, secret, &user, &text, nonce).await;
                latencies.push(sent.elapsed());
                match (workload, outcome) {
                    (Workload::Book, Ok(body)) if body.contains("Booked") => ok += 1,
                    (Workload::Book, _) | (_, Err(_)) => failed += 1,
                    (_, Ok(_)) => ok += 1,
                }
                n += 1;
            }
            (latencies, ok, failed)
        }));
    }
    let mut latencies = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        let (l, o, f) = task.await?;
        latencies.extend(l);
        ok += o;
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    println!(
        "{what}: {ok} succeeded, {failed} failed in {elapsed:.2} s = {:.0} {what}/s",
        ok as f64 / elapsed
    );
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    user: &str,
    text: &str,
    nonce: u64,
) -> anyhow::Result<String> {
    let body = serde_urlencoded::to_string([
        ("team_id", "T0BENCH"),
        ("user_id", user),
        ("channel_id", "C0BENCH"),
        ("command", "/maison"),
        ("text", text),
        (
            "response_url",
            &format!("http://127.0.0.1:9/response/{nonce}"),
        ),
    ])?;
    let ts = chrono::Utc::now().timestamp();
    let sig = signature::sign(secret, ts, body.as_bytes());
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(signature::TIMESTAMP_HEADER, ts.to_string())
        .header(signature::SIGNATURE_HEADER, sig)
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "status {}",
        response.status()
    );
    Ok(response.text().await?)
}
