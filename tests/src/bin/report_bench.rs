//! Report benchmark. Prints figures; asserts nothing.
//!
//! (a) **Daily report.** A SQLite file with `--hosts` hosts × `--gpus` GPUs and one day of
//! minute rows (20 × 8 × 1,440 = 230,400 rows by default), a few bookings per host, and cached
//! containers and images. Times loading the day (`load_daily`), building the message and
//! rendering the PNG chart, each run on the same data. Target (DESIGN.md §5): ≤ 100 ms.
//!
//! (b) **Capacity report.** A SQLite file with `--c-hosts` hosts × `--c-gpus` GPUs and
//! `--c-days` days of hourly rollups (500 × 8 × 2,160 = 8.6 million rows by default), one
//! booking per host and day, and some refused requests. Times `load_capacity` + `summarize` +
//! `build` over the whole window. Target: ≤ 1 s for 90 days over 500 hosts.
//!
//! (c) **Monthly report and export.** A SQLite file with `--m-hosts` hosts × `--c-gpus` GPUs,
//! `--m-days` days of bookings (500 hosts × 730 days = 365,000 bookings by default, each for
//! one of six projects; two years are the forecast's and the chart's input) and the last 60
//! days of hourly rollups with power (older rollups are never read: every query is a range of
//! the rollups' primary key). Times `load_monthly` + `summarize` + `build` + the PNG chart for
//! November, and the CSV export of November (`load_export` + `write_csv`). Targets: ≤ 2 s and
//! ≤ 5 s.
//!
//! Rows are written with plain multi-row INSERTs in the fleet store's schema (the poller's
//! ingest path is measured by `fleet-bench`); the reports read them exactly as in production.
//!
//! `cargo run --release -p maison-tests --bin report-bench -- [--hosts 20] [--gpus 8]
//!  [--c-hosts 500] [--c-gpus 8] [--c-days 90] [--m-hosts 500] [--m-days 730] [--runs 5]
//!  [--only a|b|c]`

use clap::Parser;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use maison_bot::config::{Config, HostConfig};
use maison_bot::core::reports::{chart, daily, export, monthly, trend_chart, weekly};
use maison_bot::store::{Db, UserProfileRow};
use maison_bot::store::{planning, reports};
use maison_command::Lang;
use sea_orm::ConnectionTrait;

/// (a) the daily report, (b) the 90-day capacity report, (c) the monthly report and the CSV
/// export, all on SQLite.
#[derive(Debug, Parser)]
#[command(name = "report-bench")]
struct Args {
    /// Hosts in (a).
    #[arg(long, default_value_t = 20, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..))]
    hosts: u32,
    /// GPUs per host in (a).
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..=64))]
    gpus: u32,
    /// Hosts in (b).
    #[arg(long, default_value_t = 500, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..))]
    c_hosts: u32,
    /// GPUs per host in (b).
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..=64))]
    c_gpus: u32,
    /// Days of hourly rollups in (b).
    #[arg(long, default_value_t = 90, value_parser = clap::builder::RangedU64ValueParser::<i64>::new().range(1..))]
    c_days: i64,
    /// Hosts in (c).
    #[arg(long, default_value_t = 500, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..))]
    m_hosts: u32,
    /// Days of bookings in (c); the last 60 also have hourly rollups.
    #[arg(long, default_value_t = 730, value_parser = clap::builder::RangedU64ValueParser::<i64>::new().range(60..))]
    m_days: i64,
    /// Timed runs of each report.
    #[arg(long, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    runs: usize,
    /// Run only one part.
    #[arg(long, value_parser = ["a", "b", "c"])]
    only: Option<String>,
}

/// A small deterministic generator, so every run measures the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn config(hosts: u32, gpus: u32) -> Config {
    let mut config = Config::from_toml("").expect("empty config");
    config.hosts = (0..hosts)
        .map(|i| HostConfig {
            name: format!("gpu{i:03}"),
            gpus,
            agent_url: None,
        })
        .collect();
    config
}

async fn fresh_db(dir: &std::path::Path, name: &str) -> Db {
    let path = dir.join(name);
    Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("SQLite file")
}

/// Users 1..=n, with the ids the bookings refer to.
async fn users(db: &Db, n: usize, now: i64) {
    for i in 0..n {
        let id = format!("U{i:06}");
        db.upsert_user(&UserProfileRow {
            team_id: "T0BENCH",
            slack_user_id: &id,
            display_name: &id,
            tz: "UTC",
            locale: None,
            fetched_at: now,
        })
        .await
        .expect("user");
    }
}

/// Runs `sql_prefix` + rows in batches inside one transaction per call.
async fn insert_rows(db: &Db, sql_prefix: &str, rows: &[String]) {
    for chunk in rows.chunks(5000) {
        let sql = format!("{sql_prefix} {}", chunk.join(","));
        db.connection()
            .execute_unprepared(&sql)
            .await
            .expect("bench insert");
    }
}

/// Projects the bookings of (c) are spread over.
const PROJECTS: [&str; 6] = ["vision", "speech", "nlp", "rl", "infra", "robotics"];

#[allow(clippy::too_many_arguments)]
async fn bookings(
    db: &Db,
    hosts: u32,
    gpus: u32,
    users: usize,
    days: i64,
    from: i64,
    rng: &mut Lcg,
    with_projects: bool,
) {
    let mut booking_rows = Vec::new();
    let mut slot_rows = Vec::new();
    let mut id = 0i64;
    for h in 0..hosts {
        for d in 0..days {
            // One booking per host and day: a random block of GPUs for 2–10 hours.
            id += 1;
            let n = 1 + rng.below(u64::from(gpus)) as u32;
            let first = rng.below(u64::from(gpus - n + 1)) as u32;
            let start = from + d * 86_400 + (7 + rng.below(8) as i64) * 3600;
            let end = start + (2 + rng.below(9) as i64) * 3600;
            let list: Vec<String> = (first..first + n).map(|g| g.to_string()).collect();
            let user = 1 + rng.below(users as u64);
            let project = if with_projects {
                format!("'{}'", PROJECTS[rng.below(PROJECTS.len() as u64) as usize])
            } else {
                "NULL".to_owned()
            };
            booking_rows.push(format!(
                "({id}, {user}, 'gpu{h:03}', '{}', {start}, {end}, NULL, {}, NULL, NULL, {project})",
                list.join(","),
                start - 3600
            ));
            for g in first..first + n {
                slot_rows.push(format!("({id}, {g}, 'gpu{h:03}', {start}, {end}, 1)"));
            }
        }
    }
    insert_rows(
        db,
        "INSERT INTO bookings (id, user_id, host, gpus, start_at, end_at, note, created_at, \
         cancelled_at, released_at, project) VALUES",
        &booking_rows,
    )
    .await;
    insert_rows(
        db,
        "INSERT INTO booking_slots (booking_id, gpu, host, start_at, end_at, active) VALUES",
        &slot_rows,
    )
    .await;
}

/// What ingest keeps beside `gpu_hours`: the per-host hourly totals capacity reports read.
async fn fill_host_hours(db: &Db) {
    db.connection()
        .execute_unprepared(
            "DELETE FROM host_hours; INSERT INTO host_hours (host_id, hour, minutes, busy_minutes) \
             SELECT host_id, hour, SUM(minutes), SUM(busy_minutes) FROM gpu_hours GROUP BY host_id, hour",
        )
        .await
        .expect("host_hours");
}

async fn metric_hosts(db: &Db, hosts: u32, owners: usize) {
    let rows: Vec<String> = (0..hosts)
        .map(|h| format!("({}, 'gpu{h:03}', NULL)", h + 1))
        .collect();
    insert_rows(
        db,
        "INSERT INTO metric_hosts (id, host, cursor_minute) VALUES",
        &rows,
    )
    .await;
    let rows: Vec<String> = (0..owners)
        .map(|o| format!("({}, 'U{o:06}')", o + 1))
        .collect();
    insert_rows(db, "INSERT INTO metric_owners (id, owner) VALUES", &rows).await;
}

/// Hourly rollups for every GPU of every host over `hours` from `from`: a random share of
/// each hour busy, held by a random user, drawing 300 W (60 W when idle).
async fn rollups(
    db: &Db,
    hosts: u32,
    gpus: u32,
    n_users: usize,
    from: i64,
    hours: i64,
    rng: &mut Lcg,
) {
    let mut rows = Vec::with_capacity((hours * i64::from(gpus)) as usize);
    for h in 0..hosts {
        rows.clear();
        for hour in 0..hours {
            let at = from + hour * 3600;
            for g in 0..gpus {
                let busy = rng.below(61);
                let (holder, util) = if busy > 0 {
                    ((1 + rng.below(n_users as u64)) as i64, 40 * busy)
                } else {
                    (-1, 0)
                };
                let watts = if busy > 0 { 300 * 60 } else { 60 * 60 };
                rows.push(format!(
                    "({}, {at}, {g}, {holder}, 60, {busy}, {util}, 95, 20480, {watts}, 60, 70)",
                    h + 1
                ));
            }
        }
        insert_rows(
            db,
            "INSERT INTO gpu_hours (host_id, hour, gpu, holder, minutes, busy_minutes, util_sum, \
             util_max, mem_max_mib, power_sum, power_minutes, temp_max) VALUES",
            &rows,
        )
        .await;
    }
}

fn summarise(label: &str, mut times: Vec<Duration>, target_ms: f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = times[times.len() / 2];
    println!(
        "  {label:<34} min {:>8.1} ms   median {:>8.1} ms   max {:>8.1} ms   (target ≤ {target_ms:.0} ms)",
        ms(times[0]),
        ms(median),
        ms(*times.last().unwrap_or(&median))
    );
}

async fn bench_daily(args: &Args, dir: &std::path::Path) {
    println!(
        "(a) daily report: {} hosts × {} GPUs × 1 day of minute rows ({} rows), SQLite",
        args.hosts,
        args.gpus,
        u64::from(args.hosts) * u64::from(args.gpus) * 1440
    );
    let db = fresh_db(dir, "daily.db").await;
    let config = config(args.hosts, args.gpus);
    let day = Utc
        .with_ymd_and_hms(2026, 11, 29, 0, 0, 0)
        .unwrap()
        .timestamp();
    let now = day + 86_400 + 9 * 3600;
    db.sync_hosts(&config.hosts, now).await.expect("hosts");
    let n_users = 40;
    users(&db, n_users, now).await;
    let mut rng = Lcg(7);
    let started = Instant::now();
    bookings(&db, args.hosts, args.gpus, n_users, 1, day, &mut rng, false).await;
    metric_hosts(&db, args.hosts, n_users).await;
    let mut rows = Vec::new();
    for h in 0..args.hosts {
        rows.clear();
        // The hourly rollups the poller keeps beside the minute rows:
        // (hour, gpu, holder) → (minutes, busy minutes, utilisation sum).
        let mut hours: std::collections::BTreeMap<(i64, u32, i64), (i64, i64, i64)> =
            std::collections::BTreeMap::new();
        for m in 0..1440i64 {
            let minute = day + m * 60;
            for g in 0..args.gpus {
                let busy = (m / 60 + i64::from(g) + i64::from(h)) % 3 != 0;
                let util = if busy {
                    40 + rng.below(60)
                } else {
                    rng.below(4)
                } as i64;
                // One person per GPU for the day, as with long trainings.
                let owner = (h as usize * 8 + g as usize) % n_users + 1;
                let holder = if busy { owner as i64 } else { -1 };
                let owner_id = if busy {
                    owner.to_string()
                } else {
                    "NULL".to_owned()
                };
                rows.push(format!(
                    "({}, {minute}, {g}, {util}, {}, 20480, 300, 60, {owner_id})",
                    h + 1,
                    (util + 5).min(100)
                ));
                let hour = minute - minute.rem_euclid(3600);
                let entry = hours.entry((hour, g, holder)).or_default();
                entry.0 += 1;
                entry.1 += i64::from(util >= 5);
                entry.2 += util;
            }
        }
        insert_rows(
            &db,
            "INSERT INTO gpu_minutes (host_id, minute, gpu, util_avg, util_max, mem_max_mib, \
             power_avg, temp_max, owner_id) VALUES",
            &rows,
        )
        .await;
        let hour_rows: Vec<String> = hours
            .iter()
            .map(|((hour, g, holder), (minutes, busy, util))| {
                format!(
                    "({}, {hour}, {g}, {holder}, {minutes}, {busy}, {util}, 100, 20480, 0, 0, NULL)",
                    h + 1
                )
            })
            .collect();
        insert_rows(
            &db,
            "INSERT INTO gpu_hours (host_id, hour, gpu, holder, minutes, busy_minutes, util_sum, \
             util_max, mem_max_mib, power_sum, power_minutes, temp_max) VALUES",
            &hour_rows,
        )
        .await;
    }
    // The inventory caches: 10 containers and 15 images per host.
    let mut status = Vec::new();
    let mut containers = Vec::new();
    let mut images = Vec::new();
    for h in 0..args.hosts {
        status.push(format!(
            "('gpu{h:03}', TRUE, {now}, {now}, {now}, NULL, NULL, NULL, FALSE)"
        ));
        for c in 0..10 {
            let (state, text) = if c % 3 == 0 {
                ("exited", "Exited (0) 12 days ago")
            } else {
                ("running", "Up 2 days")
            };
            containers.push(format!(
                "('gpu{h:03}', '{h:04}{c:060}', 'c{h}-{c}', 'img:{c}', 'sha256:{c:064}', '{state}', \
                 '{text}', {}, 'U{:06}', NULL, NULL, NULL, '{}', {})",
                now - 20 * 86_400,
                c % n_users,
                c % 8,
                now - 20 * 86_400
            ));
        }
        for i in 0..15 {
            let tags = if i % 5 == 0 {
                "[]".to_owned()
            } else {
                format!("[\"team/img{i}:v1\"]")
            };
            let owner = if i % 2 == 0 {
                "NULL".to_owned()
            } else {
                format!("'U{i:06}'")
            };
            images.push(format!(
                "('gpu{h:03}', 'sha256:{h:04}{i:060}', '{tags}', {}, {}, {}, {}, {owner}, {})",
                (1 + i) * 1_000_000_000u64,
                now - (i as i64) * 5 * 86_400,
                i32::from(i < 4),
                i % 5 == 0,
                now - 60 * 86_400
            ));
        }
    }
    insert_rows(
        &db,
        "INSERT INTO host_status (host, reachable, changed_at, last_seen_at, last_polled_at, \
         failing_since, last_error, facts, gpus_simulated) VALUES",
        &status,
    )
    .await;
    insert_rows(
        &db,
        "INSERT INTO containers (host, id, name, image, image_id, state, status, created_at, \
         owner, owner_name, booking, image_source, gpus, first_seen_at) VALUES",
        &containers,
    )
    .await;
    insert_rows(
        &db,
        "INSERT INTO images (host, id, tags, size_bytes, created_at, in_use, dangling, owner, \
         first_seen_at) VALUES",
        &images,
    )
    .await;
    db.connection()
        .execute_unprepared("ANALYZE")
        .await
        .expect("ANALYZE");
    println!("  data written in {:.1} s", started.elapsed().as_secs_f64());

    let tz = chrono_tz::UTC;
    let (mut load, mut build, mut render, mut total) = (vec![], vec![], vec![], vec![]);
    let mut last = None;
    for _ in 0..args.runs {
        let t0 = Instant::now();
        let data = reports::load_daily(&db, &config, day, day + 86_400, tz, now)
            .await
            .expect("load_daily");
        let t1 = Instant::now();
        let reply = daily::build(&data);
        let t2 = Instant::now();
        let png = chart::render(&daily::heat_map(&data), Lang::En).expect("chart");
        let t3 = Instant::now();
        load.push(t1 - t0);
        build.push(t2 - t1);
        render.push(t3 - t2);
        total.push(t3 - t0);
        last = Some((data, reply, png));
    }
    summarise("load_daily", load, 100.0);
    summarise("daily::build", build, 100.0);
    summarise("chart::render (PNG)", render, 100.0);
    summarise("total", total, 100.0);
    if let Some((data, reply, png)) = last {
        println!(
            "  report: {} hosts, {} users, {} orphan images, {} stale containers, {} blocks, chart {} bytes",
            data.hosts.len(),
            data.users.len(),
            data.orphans.len(),
            data.stale.len(),
            reply.blocks.len(),
            png.len()
        );
    }
}

/// People in (b) and (c).
const N_USERS: usize = 60;

/// A SQLite file for (b) and (c): `hosts` × GPUs, [`N_USERS`] people, one booking per host
/// and day over the `days` before `to` (with projects when asked), and the metric ids the
/// rollups refer to. Returns the database, its config, the first day, and the generator to
/// go on with.
async fn booked_fleet(
    path: std::path::PathBuf,
    (hosts, gpus): (u32, u32),
    days: i64,
    to: i64,
    mut rng: Lcg,
    with_projects: bool,
) -> (Db, Config, i64, Lcg) {
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("SQLite file");
    let config = config(hosts, gpus);
    let from = to - days * 86_400;
    db.sync_hosts(&config.hosts, from).await.expect("hosts");
    users(&db, N_USERS, from).await;
    bookings(
        &db,
        hosts,
        gpus,
        N_USERS,
        days,
        from,
        &mut rng,
        with_projects,
    )
    .await;
    metric_hosts(&db, hosts, N_USERS).await;
    (db, config, from, rng)
}

async fn bench_capacity(args: &Args, dir: &std::path::Path) {
    let hours = args.c_days * 24;
    let rows_total = i64::from(args.c_hosts) * i64::from(args.c_gpus) * hours;
    println!(
        "(b) capacity report: {} hosts × {} GPUs × {} days of hourly rollups ({rows_total} rows), SQLite",
        args.c_hosts, args.c_gpus, args.c_days
    );
    let to = Utc
        .with_ymd_and_hms(2026, 11, 30, 0, 0, 0)
        .unwrap()
        .timestamp();
    let started = Instant::now();
    let (db, config, from, mut rng) = booked_fleet(
        dir.join("capacity.db"),
        (args.c_hosts, args.c_gpus),
        args.c_days,
        to,
        Lcg(11),
        false,
    )
    .await;
    rollups(
        &db,
        args.c_hosts,
        args.c_gpus,
        N_USERS,
        from,
        hours,
        &mut rng,
    )
    .await;
    let refusals: Vec<String> = (0..args.c_days * 3)
        .map(|i| {
            let at = from + i * 8 * 3600 + 600;
            format!(
                "({at}, 'U{:06}', 'gpu{:03}', 2, {at}, {})",
                i % N_USERS as i64,
                i % i64::from(args.c_hosts),
                at + 7200
            )
        })
        .collect();
    insert_rows(
        &db,
        "INSERT INTO booking_refusals (at, slack_user_id, host, gpus, start_at, end_at) VALUES",
        &refusals,
    )
    .await;
    db.connection()
        .execute_unprepared("ANALYZE")
        .await
        .expect("ANALYZE");
    fill_host_hours(&db).await;
    println!("  data written in {:.1} s", started.elapsed().as_secs_f64());

    let tz = chrono_tz::UTC;
    let (mut load, mut compute, mut total) = (vec![], vec![], vec![]);
    let mut verdict = String::new();
    let runs = args.runs.min(3);
    for _ in 0..runs {
        let t0 = Instant::now();
        let input = reports::load_capacity(&db, &config, from, to, tz)
            .await
            .expect("load_capacity");
        let t1 = Instant::now();
        let summary = weekly::summarize(&input);
        let reply = weekly::build(&summary);
        let t2 = Instant::now();
        load.push(t1 - t0);
        compute.push(t2 - t1);
        total.push(t2 - t0);
        verdict = format!(
            "{} ({} blocks)",
            weekly::verdict(&summary),
            reply.blocks.len()
        );
    }
    summarise("load_capacity", load, 1000.0);
    summarise("summarize + build", compute, 1000.0);
    summarise("total", total, 1000.0);
    println!("  verdict: {verdict}");
}

async fn bench_monthly(args: &Args, dir: &std::path::Path) {
    const ROLLUP_DAYS: i64 = 60;
    println!(
        "(c) monthly report and export: {} hosts × {} GPUs, {} days of bookings, the last {ROLLUP_DAYS} days of hourly rollups, SQLite",
        args.m_hosts, args.c_gpus, args.m_days
    );
    let to = Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let started = Instant::now();
    let (db, config, _, mut rng) = booked_fleet(
        dir.join("monthly.db"),
        (args.m_hosts, args.c_gpus),
        args.m_days,
        to,
        Lcg(13),
        true,
    )
    .await;
    let rollups_from = to - ROLLUP_DAYS * 86_400;
    rollups(
        &db,
        args.m_hosts,
        args.c_gpus,
        N_USERS,
        rollups_from,
        ROLLUP_DAYS * 24,
        &mut rng,
    )
    .await;
    fill_host_hours(&db).await;
    db.connection()
        .execute_unprepared("ANALYZE")
        .await
        .expect("ANALYZE");
    println!("  data written in {:.1} s", started.elapsed().as_secs_f64());

    let tz = chrono_tz::UTC;
    let november = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
    let runs = args.runs.min(3);
    let (mut report, mut export_times) = (vec![], vec![]);
    let mut said = String::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let input = planning::load_monthly(&db, &config, november, tz)
            .await
            .expect("load_monthly");
        let summary = monthly::summarize(&input);
        let reply = monthly::build(&summary);
        let png = trend_chart::render(&monthly::trend(&summary), Lang::En).expect("chart");
        report.push(t0.elapsed());
        said = format!(
            "{} weeks of peaks, {:.0} kWh, {} projects, {} blocks, chart {} bytes",
            summary.weekly_peaks.len(),
            summary.kwh,
            summary.by_project.len(),
            reply.blocks.len(),
            png.len()
        );

        let t0 = Instant::now();
        let last = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date");
        let input = planning::load_export(&db, &config, november, last, tz)
            .await
            .expect("load_export");
        let rows = export::write_csv(&input, std::io::sink()).expect("csv");
        export_times.push(t0.elapsed());
        said.push_str(&format!(", export {rows} rows"));
    }
    summarise("monthly report (load → PNG)", report, 2000.0);
    // Where the report's time goes, once.
    let (from, to) = planning::month_window(november, tz);
    let t0 = Instant::now();
    let input =
        reports::load_capacity_with_history(&db, &config, from, to, tz, planning::CHART_WEEKS)
            .await
            .expect("capacity");
    let t1 = Instant::now();
    planning::load_usage(&db, &input.hosts, from, to)
        .await
        .expect("usage");
    println!(
        "    of which: capacity figures and 52 weekly peaks {:.0} ms, use by holder {:.0} ms",
        (t1 - t0).as_secs_f64() * 1e3,
        t1.elapsed().as_secs_f64() * 1e3
    );
    summarise("export of one month (CSV)", export_times, 5000.0);
    println!("  {said}");
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("maison-report-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    if args.only.is_none() || args.only.as_deref() == Some("a") {
        bench_daily(&args, &dir).await;
    }
    if args.only.is_none() || args.only.as_deref() == Some("b") {
        bench_capacity(&args, &dir).await;
    }
    if args.only.is_none() || args.only.as_deref() == Some("c") {
        bench_monthly(&args, &dir).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
