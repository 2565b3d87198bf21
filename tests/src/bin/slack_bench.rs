//! Slash-command acknowledgement benchmark.
//!
//! Starts the real bot router on a SQLite file, with a fake Slack for profile lookups, and fires
//! signed `/maison` commands at a fixed rate (open loop: requests are sent on schedule whether or
//! not earlier ones have finished). Two thirds are `book` (real booking writes, some winning and
//! some "taken"), one third `status`. Prints acknowledgement latency p50 / p99 / max and the
//! achieved throughput. Target (DESIGN.md §5): p99 ≤ 25 ms at 200 requests/s.
//!
//! `cargo run --release -p maison-tests --bin slack-bench -- --rate 200 --seconds 20`

use clap::Parser;
use std::sync::Arc;
use std::time::{Duration, Instant};

use maison_bot::app::App;
use maison_bot::clock::SystemClock;
use maison_bot::config::{Config, Secret};
use maison_bot::db::Db;
use maison_bot::slack::api::SlackWebApi;
use maison_bot::slack::http::HttpFront;
use maison_bot::slack::signature;
use maison_tests::FakeSlack;

/// Slash-command acknowledgement latency at a fixed request rate.
#[derive(Debug, Parser)]
#[command(name = "slack-bench")]
struct Args {
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
    let db_url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());

    let slack = FakeSlack::start().await;
    let mut toml =
        String::from("[slack]\ndefault_tz = \"UTC\"\n[bookings]\nmax_gpus_per_user = 64\n");
    for h in 0..args.hosts {
        toml.push_str(&format!("[[hosts]]\nname = \"gpu{h:02}\"\ngpus = 8\n"));
    }
    let mut config = Config::from_toml(&toml)?;
    config.database.url = Secret::new(db_url.clone());
    let db = Db::connect(&db_url).await?;
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
    tokio::spawn(async move { axum::serve(listener, router).await });

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let url = format!("http://{addr}/slack/commands");
    let total = args.rate * args.seconds;
    println!(
        "slack-bench: {} signed commands at {}/s over {} s, SQLite file, {} hosts x 8 GPUs",
        total, args.rate, args.seconds, args.hosts
    );

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
        "ack latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 <= 25 ms)",
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
