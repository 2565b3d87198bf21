//! Capacity planning end to end, on SQLite and PostgreSQL: projects on bookings (typed, by
//! default, through the wait-list), the monthly report's energy, cost and split by project
//! and person from a fleet polled off a fake agent, its chart queued once per month, the CSV
//! export agreeing with it, and the what-if replay of refused demand against a larger fleet.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use fake_agent::{FakeAgent, minute, posted, settle};
use maison_bot::core::reports::export;
use maison_bot::core::reports::monthly::{
    self, BookingUse, HolderUse, MonthlyInput, NO_CONTAINER, Price,
};
use maison_bot::core::reports::trend_chart;
use maison_bot::core::reports::weekly::{
    BookedSpan, CapacityInput, HostHours, RefusalRow, WaitEnding, WaitlistInput,
};
use maison_bot::core::reports::whatif::{self, Addition};
use maison_bot::jobs::reports;
use maison_bot::ports::Fleet;
use maison_bot::store::planning::{load_demand, load_export, load_monthly};
use maison_command::Lang;
use maison_tests::{Backend, BotTester, on_both_databases, test_config};
use sea_orm::{ConnectionTrait, Statement};

const UTC: Tz = chrono_tz::UTC;

fn at(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
}

/// The project of every booking, in the order they were made.
async fn booking_projects(bot: &BotTester) -> Vec<Option<String>> {
    let db = bot.db();
    db.connection()
        .query_all_raw(Statement::from_string(
            db.backend(),
            "SELECT project FROM bookings ORDER BY id",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect()
}

/// A bot with a fake agent on gpu01 (2 GPUs) and a price for energy.
async fn fleet_bot(backend: Backend) -> (BotTester, Arc<FakeAgent>) {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let mut config = test_config();
    config.reports.channel = Some("C0FLEET".into());
    config.reports.price_per_kwh = Some(0.5);
    config.slack.announce_channel = None;
    (
        BotTester::start_with_fleet(backend, config, fleet).await,
        agent,
    )
}

/// November 2026 on two hosts of 4 GPUs: two projects, three people, a refusal, a wait-list
/// request that left without GPUs, and 20 weeks of peaks rising by a quarter GPU a week.
fn month_input() -> MonthlyInput {
    let from = at(11, 1, 0).timestamp();
    let to = at(12, 1, 0).timestamp();
    let hours = ((to - from) / 3600) as usize;
    let hour = |d: u32, h: u32| at(11, d, h).timestamp();
    // gpu01: three of Alice's four GPUs busy while she holds them.
    let mut busy = vec![0u32; hours];
    for b in busy.iter_mut().take(24 * 12 + 9).skip(24 * 2 + 9) {
        *b = 180;
    }
    let bookings = vec![
        BookingUse {
            host: 0,
            user: "U0ALICE".into(),
            project: Some("vision".into()),
            gpus: 4,
            start: hour(3, 9),
            end: hour(13, 9),
        },
        BookingUse {
            host: 1,
            user: "U0BOB".into(),
            project: Some("speech".into()),
            gpus: 2,
            start: hour(5, 9),
            end: hour(8, 9),
        },
        BookingUse {
            host: 1,
            user: "U0ALICE".into(),
            project: Some("speech".into()),
            gpus: 1,
            start: hour(10, 0),
            end: hour(12, 0),
        },
        BookingUse {
            host: 1,
            user: "U0CAROL".into(),
            project: None,
            gpus: 2,
            start: hour(20, 9),
            end: hour(21, 9),
        },
    ];
    MonthlyInput {
        month: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        last_week_start: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        capacity: CapacityInput {
            from,
            to,
            tz: UTC,
            hosts: vec![("gpu01".into(), 4), ("gpu02".into(), 4)],
            bookings: bookings
                .iter()
                .map(|b| BookedSpan {
                    host: b.host,
                    gpus: b.gpus,
                    start: b.start,
                    end: b.end,
                })
                .collect(),
            usage: vec![
                HostHours {
                    busy: busy.clone(),
                    observed: vec![240; hours],
                },
                HostHours {
                    busy: vec![30; hours],
                    observed: vec![240; hours],
                },
            ],
            refusals: vec![RefusalRow {
                at: hour(6, 10),
                slack_user: "U0CAROL".into(),
                host: Some("gpu02".into()),
                gpus: 3,
                start: hour(6, 10),
                end: hour(6, 14),
            }],
            waitlist: WaitlistInput {
                ended: vec![WaitEnding {
                    gpus: 2,
                    length: 7200,
                    waited: 8 * 3600,
                    served: false,
                }],
                ..WaitlistInput::default()
            },
            weekly_peaks: (0..20).map(|w| 1.0 + 0.25 * f64::from(w)).collect(),
        },
        bookings,
        holders: vec![
            HolderUse {
                host: 0,
                user: Some("U0ALICE".into()),
                busy_minutes: 10 * 24 * 180,
                watt_minutes: 10 * 24 * 60 * 4 * 250,
            },
            HolderUse {
                host: 1,
                user: Some("U0BOB".into()),
                busy_minutes: 3 * 24 * 60,
                watt_minutes: 3 * 24 * 60 * 2 * 200,
            },
            HolderUse {
                host: 1,
                user: Some("U0ALICE".into()),
                busy_minutes: 60,
                watt_minutes: 2 * 60 * 150,
            },
            HolderUse {
                host: 0,
                user: None,
                busy_minutes: 0,
                watt_minutes: 20 * 24 * 60 * 4 * 60,
            },
            HolderUse {
                host: 1,
                user: None,
                busy_minutes: 0,
                watt_minutes: 27 * 24 * 60 * 2 * 60,
            },
        ],
        host_watt_minutes: vec![
            10 * 24 * 60 * 4 * 250 + 20 * 24 * 60 * 4 * 60,
            3 * 24 * 60 * 2 * 200 + 2 * 60 * 150 + 27 * 24 * 60 * 2 * 60,
        ],
        price: Some(Price {
            per_kwh: 0.3,
            currency: "EUR".into(),
        }),
    }
}

#[test]
fn monthly_report_snapshot() {
    let s = monthly::summarize(&month_input());
    insta::assert_snapshot!(monthly::build(&s).to_terminal());
    // Without a price: energy only, and how to get costs.
    let mut unpriced = month_input();
    unpriced.price = None;
    let text = monthly::build(&monthly::summarize(&unpriced)).to_terminal();
    assert!(!text.contains("EUR"), "{text}");
    assert!(
        text.contains("Set [reports] price_per_kwh to see costs."),
        "{text}"
    );
    // The same month in Japanese (the channel's `channel_language = "ja"`, or `report month`
    // by a Japanese reader): no English left but names, units and numbers.
    let page = monthly::build_in(&s, maison_command::Lang::Ja).to_terminal();
    insta::assert_snapshot!("monthly_report_ja", page);
    for word in [
        "Booked",
        "busy",
        "Energy",
        "Forecast",
        "By person",
        "others",
        "project",
    ] {
        assert!(!page.contains(word), "{word:?} left in Japanese:\n{page}");
    }
}

#[test]
fn monthly_numbers_add_up() {
    let s = monthly::summarize(&month_input());
    let sum = |shares: &[monthly::Share]| shares.iter().map(|x| x.kwh).sum::<f64>();
    // The splits by project and by person account for the same energy as the hosts.
    assert!(
        (sum(&s.by_project) - s.kwh).abs() < 1e-6,
        "{} vs {}",
        sum(&s.by_project),
        s.kwh
    );
    assert!((sum(&s.by_person) - s.kwh).abs() < 1e-6);
    let booked = |shares: &[monthly::Share]| shares.iter().map(|x| x.booked_gpu_hours).sum::<f64>();
    assert!((booked(&s.by_project) - s.capacity.booked_gpu_hours).abs() < 1e-6);
    assert!((booked(&s.by_person) - s.capacity.booked_gpu_hours).abs() < 1e-6);
    // 3 GPUs × 4 h refused + 2 GPUs × 2 h that left the line.
    assert!(
        (s.unmet_gpu_hours - 16.0).abs() < 1e-9,
        "{}",
        s.unmet_gpu_hours
    );
    assert_eq!(s.forecast.len(), monthly::CHART_HORIZON_WEEKS);
    assert_eq!(s.week_starts.len(), 20);
    assert_eq!(
        s.week_starts[19],
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    );
}

#[test]
fn the_monthly_chart_is_a_png_of_the_weeks() {
    let s = monthly::summarize(&month_input());
    let png = trend_chart::render(&monthly::trend(&s), Lang::En).unwrap();
    let decoder = png::Decoder::new(png.as_slice());
    let reader = decoder.read_info().expect("a PNG header");
    let info = reader.info();
    assert!(
        info.width >= 600 && info.height >= 240,
        "{}×{}",
        info.width,
        info.height
    );
}

on_both_databases! {
    /// Admins adding the same project at once: one adds it, the others are told it exists;
    /// nobody gets an error from the unique name.
    async fn the_same_project_added_at_once_is_added_once(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let replies = futures::future::join_all(
            (0..8).map(|_| bot.command_text("U0ADMIN", "project add vision")),
        )
        .await;
        let added = replies.iter().filter(|r| r.contains("Added the project `vision`")).count();
        let there = replies.iter().filter(|r| r.contains("already exists")).count();
        assert_eq!((added, there), (1, 7), "{replies:#?}");
        let audited = bot.db().audit_log().await.unwrap();
        assert_eq!(audited.iter().filter(|a| a.action == "project.add").count(), 1);
        bot.finish().await;
    }

    async fn projects_are_kept_typed_by_default_and_through_the_wait_list(backend: Backend) {
        let mut config = test_config();
        config.slack.announce_channel = None;
        let bot = BotTester::start_with(backend, config).await;
        let text = bot.command_text("U0ALICE", "book gpu01 1h --project vision").await;
        assert!(text.contains("There is no project `vision`"), "{text}");
        assert!(text.contains("no projects yet"), "{text}");
        let text = bot.command_text("U0ALICE", "project add vision").await;
        assert!(text.contains("Only Maison admins"), "{text}");
        let text = bot.command_text("U0ADMIN", "project add vision for \"image models\"").await;
        assert!(text.contains("Added the project `vision`"), "{text}");
        let text = bot.command_text("U0ADMIN", "project add speech").await;
        assert!(text.contains("Added the project `speech`"), "{text}");
        let text = bot.command_text("U0ADMIN", "project add speech").await;
        assert!(text.contains("already exists"), "{text}");
        assert!(booking_projects(&bot).await.is_empty(), "nothing booked yet");

        // A typo is refused with the nearest name, and books nothing.
        let text = bot.command_text("U0ALICE", "book gpu01 1h --project visoin").await;
        assert!(text.contains("Did you mean `vision`?"), "{text}");
        assert!(booking_projects(&bot).await.is_empty());

        let text = bot.command_text("U0ALICE", "book gpu01 1h --project speech").await;
        assert!(text.contains("Booked `gpu01`"), "{text}");
        let text = bot.command_text("U0ALICE", "project default vision").await;
        assert!(text.contains("now count for `vision`"), "{text}");
        let text = bot.command_text("U0ALICE", "book gpu02 1h").await;
        assert!(text.contains("Booked `gpu02`"), "{text}");
        let text = bot.command_text("U0BOB", "book any 1h").await;
        assert!(text.contains("Booked"), "{text}");
        let list = bot.command_text("U0ALICE", "project").await;
        assert!(list.contains("`vision` — image models _(your default)_"), "{list}");
        assert_eq!(
            booking_projects(&bot).await,
            [Some("speech".to_owned()), Some("vision".to_owned()), None]
        );

        // Alice's default passes through the wait-list to the booking it becomes.
        let text = bot.command_text("U0ADMIN", "book gpu03 2h --gpus 7").await;
        assert!(text.contains("Booked `gpu03`"), "{text}");
        let text = bot.command_text("U0ALICE", "book gpu03 1h --gpus 2 --wait --auto").await;
        assert!(text.contains("in line"), "{text}");
        bot.command("U0ADMIN", "release").await;
        let mut booked = Vec::new();
        for _ in 0..100 {
            booked = booking_projects(&bot).await;
            if booked.len() == 5 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(booked.len(), 5, "the matcher booked for Alice: {booked:?}");
        assert_eq!(booked[4].as_deref(), Some("vision"));
        let dm = bot
            .slack
            .expect_matching("chat.postMessage", |call| call.args["channel"] == "DU0ALICE")
            .await;
        assert!(maison_tests::reply_text(&dm.args).contains("gpu03"), "{:?}", dm.args);

        // A removed project takes no new bookings and no longer counts as a default.
        let text = bot.command_text("U0ADMIN", "project rm vision").await;
        assert!(text.contains("Removed `vision`"), "{text}");
        let text = bot.command_text("U0ALICE", "book gpu02 1h at 18:00 --project vision").await;
        assert!(text.contains("was removed"), "{text}");
        let text = bot.command_text("U0ALICE", "book gpu02 1h at 20:00").await;
        assert!(text.contains("Booked"), "{text}");
        assert_eq!(booking_projects(&bot).await.last(), Some(&None));
        let list = bot.command_text("U0ALICE", "projects").await;
        assert!(list.contains("Removed (kept in past bookings): `vision`"), "{list}");
        let text = bot.command_text("U0ADMIN", "project add vision").await;
        assert!(text.contains("`vision` is back"), "{text}");
        let audit: Vec<String> = bot
            .db()
            .audit_log()
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.action.starts_with("project."))
            .map(|a| format!("{} {}", a.action, a.target))
            .collect();
        assert_eq!(
            audit,
            ["project.add vision", "project.add speech", "project.rm vision", "project.add vision"]
        );
        bot.finish().await;
    }

    async fn the_monthly_report_counts_energy_cost_and_projects(backend: Backend) {
        let (bot, agent) = fleet_bot(backend).await;
        bot.command_text("U0ADMIN", "project add vision").await;
        // Sunday 29 November: Carol books GPU 0 of gpu01 10:00–14:00 for `vision`.
        bot.clock.set(at(11, 29, 9));
        let text = bot.command_text("U0CAROL", "book gpu01:0 4h at 10:00 --project vision").await;
        assert!(text.contains("Booked `gpu01` GPU 0"), "{text}");
        agent.edit(|s| {
            for m in 0..240 {
                let t = at(11, 29, 10) + Duration::minutes(m);
                // GPU 0: Carol's trainer at 300 W, busy the first two hours; GPU 1 idle at
                // 60 W with no container.
                let mut busy = minute(t, 0, if m < 120 { 80.0 } else { 2.0 }, Some(("carol-train", Some("U0CAROL"))));
                busy.power_avg_watts = Some(300.0);
                let mut idle = minute(t, 1, 0.0, None);
                idle.power_avg_watts = Some(60.0);
                s.rollups.push(busy);
                s.rollups.push(idle);
            }
        });
        // Tuesday 1 December, the month's first working day.
        bot.clock.set(at(12, 1, 9));
        bot.poller().poll_once().await;

        let november = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let input = load_monthly(bot.db(), &bot.app.config, november, UTC).await.unwrap();
        let s = monthly::summarize(&input);
        // 240 min × 300 W = 1.2 kWh; 240 min × 60 W = 0.24 kWh.
        assert!((s.kwh - 1.44).abs() < 1e-9, "{}", s.kwh);
        assert!((s.unattributed_kwh - 0.24).abs() < 1e-9, "{}", s.unattributed_kwh);
        let vision = s.by_project.iter().find(|p| p.name == "vision").unwrap();
        assert!((vision.booked_gpu_hours - 4.0).abs() < 1e-9);
        assert!((vision.busy_gpu_hours - 2.0).abs() < 1e-9);
        assert!((vision.kwh - 1.2).abs() < 1e-9);
        let none = s.by_project.iter().find(|p| p.name == NO_CONTAINER).unwrap();
        assert!((none.kwh - 0.24).abs() < 1e-9);
        let carol = s.by_person.iter().find(|p| p.name == "<@U0CAROL>").unwrap();
        assert!((carol.kwh - 1.2).abs() < 1e-9);
        assert!(s.by_person.iter().any(|p| p.name == NO_CONTAINER));
        // 12 GPUs × 720 hours.
        assert!((s.capacity_gpu_hours - 8640.0).abs() < 1e-9);
        assert_eq!(s.weekly_peaks.last(), Some(&1.0));

        let text = bot.command_text("U0ALICE", "report month").await;
        assert!(text.contains("GPU capacity — November 2026"), "{text}");
        assert!(text.contains("Energy: *1.4 kWh*, 0.72 EUR"), "{text}");
        assert!(text.contains("vision"), "{text}");
        assert!(text.contains("Energy priced at 0.5 EUR per kWh"), "{text}");

        // The job: queued once for the month, with its chart.
        let summary = reports::post_monthly(&bot.app, at(12, 1, 9), UTC.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap())
            .await
            .unwrap();
        assert!(summary.contains("for November 2026 queued for C0FLEET"), "{summary}");
        let again = reports::post_monthly(&bot.app, at(12, 1, 9), UTC.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap())
            .await
            .unwrap();
        assert!(again.contains("already queued"), "{again}");
        let entries = bot.db().outbox_entries().await.unwrap();
        let report: Vec<_> = entries.iter().filter(|e| e.text.contains("November 2026")).collect();
        assert_eq!(report.len(), 1, "{entries:?}");
        assert!(report[0].has_attachment);

        // The export gives the same energy, day by day.
        let input = load_export(
            bot.db(),
            &bot.app.config,
            november,
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            UTC,
        )
        .await
        .unwrap();
        let mut csv = Vec::new();
        let rows = export::write_csv(&input, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(rows, 2, "{csv}");
        assert!(csv.contains("2026-11-29,gpu01,,,0.0000,0.0000,0.2400,0.1200,EUR"), "{csv}");
        assert!(csv.contains("2026-11-29,gpu01,U0CAROL,vision,4.0000,2.0000,1.2000,0.6000,EUR"), "{csv}");

        // The outbox uploads the chart and posts the report to the channel.
        let calls = settle(&bot).await;
        assert!(calls.iter().any(|c| c.method == "files.completeUploadExternal"), "{calls:#?}");
        let posts = posted(&calls);
        assert_eq!(posts.len(), 1, "{posts:?}");
        assert_eq!(posts[0].0, "C0FLEET");
        bot.finish().await;
    }

    async fn what_if_replays_refused_and_waiting_demand_on_a_larger_fleet(backend: Backend) {
        let mut config = test_config();
        config.slack.announce_channel = None;
        let bot = BotTester::start_with(backend, config).await;
        // gpu01 is full for two hours: Bob is refused one GPU for an hour, and Carol waits
        // for two GPUs on gpu01 within 90 minutes, which it cannot give her.
        let text = bot.command_text("U0ALICE", "book gpu01:all 2h").await;
        assert!(text.contains("Booked `gpu01`"), "{text}");
        let text = bot.command_text("U0BOB", "book gpu01 1h").await;
        assert!(text.contains("is taken"), "{text}");
        let text = bot
            .command_text("U0CAROL", "book gpu01 1h --gpus 2 --wait --within 90m")
            .await;
        assert!(text.contains("in line"), "{text}");
        bot.clock.advance(Duration::minutes(1));

        let to = bot.now_ts();
        let from = to - 8 * 7 * 24 * 3600;
        let (hosts, demand) = load_demand(bot.db(), &bot.app.config, from, to).await.unwrap();
        assert_eq!(hosts, [2, 2, 8]);
        assert_eq!(demand.len(), 3, "{demand:?}");
        let grown = whatif::what_if(&hosts, Addition { hosts: 1, gpus_per_host: 4 }, &demand, 8);
        // Now: Bob's 1 GPU-hour and Carol's 2 are unmet; a new host of 4 serves both at once.
        assert!((grown.now.unmet_gpu_hours - 3.0).abs() < 1e-9, "{:?}", grown.now);
        assert_eq!(grown.now.unmet_requests, 2);
        assert!(grown.after.unmet_gpu_hours.abs() < 1e-9, "{:?}", grown.after);
        assert_eq!(grown.after.served_requests, 2);
        let reply = bot.command_text("U0ALICE", "report what-if +1 host of 4").await;
        assert!(reply.contains("3.0"), "{reply}");
        bot.finish().await;
    }
}
