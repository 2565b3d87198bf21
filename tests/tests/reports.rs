//! The daily and capacity reports: pure builders (snapshots, Block Kit limits, the PNG chart
//! decoded back), then end to end on SQLite and PostgreSQL: a fleet polled from a fake agent,
//! bookings and refusals made through commands, the reports queued in the outbox once per slot,
//! and the admins' Remove button for orphan images.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use fake_agent::{FakeAgent, container, hex_id, image, minute, posted, settle};
use maison_agent_api::ContainerState;
use maison_bot::core::actions;
use maison_bot::core::inventory::{OrphanImage, OrphanReason, StaleContainer};
use maison_bot::core::message::Recipient;
use maison_bot::core::reports::chart::{self, HeatMap, HeatRow};
use maison_bot::core::reports::daily::{self, DailyData, HostDay, UserDay};
use maison_bot::core::reports::weekly::{
    self, BookedSpan, CapacityInput, HostHours, RefusalRow, WaitEnding, WaitlistInput,
};
use maison_bot::jobs::reports;
use maison_bot::ports::Fleet;
use maison_bot::store::reports::{load_capacity, load_daily};
use maison_tests::{
    Backend, BotTester, buttons, on_both_databases, reply_text, test_config, test_start,
};
use sea_orm::{ConnectionTrait, Statement};

const UTC: Tz = chrono_tz::UTC;

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
}

fn ts(d: u32, h: u32) -> i64 {
    at(d, h, 0).timestamp()
}

fn sample_daily() -> DailyData {
    let hourly = |busy_from: usize, busy_to: usize| -> Vec<Option<f64>> {
        (0..24)
            .map(|h| match h {
                h if (busy_from..busy_to).contains(&h) => Some(80.0),
                h if h < 6 => None,
                _ => Some(0.0),
            })
            .collect()
    };
    DailyData {
        from: ts(29, 0),
        to: ts(30, 0),
        tz: UTC,
        now: ts(30, 9),
        busy_util_pct: 5,
        stale_container_days: 7,
        hosts: vec![
            HostDay {
                host: "gpu01".into(),
                gpus: 2,
                booked: 8 * 60,
                observed: 36 * 60,
                busy: 6 * 60,
                booked_idle: 2 * 60,
                hourly_util: hourly(10, 16),
            },
            HostDay {
                host: "gpu02".into(),
                gpus: 2,
                booked: 0,
                observed: 0,
                busy: 0,
                booked_idle: 0,
                hourly_util: vec![None; 24],
            },
            HostDay {
                host: "dgx-a100".into(),
                gpus: 8,
                booked: 48 * 60,
                observed: 8 * 24 * 60,
                busy: 40 * 60,
                booked_idle: 8 * 60 + 30,
                hourly_util: hourly(8, 20),
            },
        ],
        users: vec![
            UserDay {
                slack_user: "U0ALICE".into(),
                booked: 48 * 60,
                held: 44 * 60,
                busy: 40 * 60,
            },
            UserDay {
                slack_user: "U0BOB".into(),
                booked: 8 * 60,
                held: 7 * 60,
                busy: 6 * 60,
            },
            UserDay {
                slack_user: "U0IDLE".into(),
                booked: 0,
                held: 0,
                busy: 0,
            },
        ],
        orphans: vec![
            OrphanImage {
                host: "dgx-a100".into(),
                id: "sha256:aaaa".into(),
                name: "old/experiment:3".into(),
                size_bytes: 18_400_000_000,
                owner: None,
                created_at: ts(1, 12),
                reason: OrphanReason::Unowned,
            },
            OrphanImage {
                host: "gpu01".into(),
                id: "sha256:bbbb".into(),
                name: "bbbbbbbbbbbb".into(),
                size_bytes: 3_100_000_000,
                owner: None,
                created_at: ts(20, 8),
                reason: OrphanReason::Dangling,
            },
            OrphanImage {
                host: "gpu01".into(),
                id: "sha256:cccc".into(),
                name: "bob/tool:1".into(),
                size_bytes: 2_000_000_000,
                owner: Some("U0BOB".into()),
                created_at: ts(2, 8),
                reason: OrphanReason::Unused { days: 30 },
            },
        ],
        stale: vec![StaleContainer {
            host: "gpu01".into(),
            id: "abcd".into(),
            name: "bob-old-run".into(),
            owner: Some("U0BOB".into()),
            stopped_since: ts(18, 9),
            kept_until: None,
        }],
        datasets: Default::default(),
    }
}

#[test]
fn daily_report_snapshot() {
    let reply = daily::build(&sample_daily());
    insta::assert_snapshot!(reply.to_terminal());
    let removes: Vec<(String, String)> = reply
        .buttons()
        .map(|b| (b.action_id.clone(), b.value.clone()))
        .collect();
    assert_eq!(
        removes,
        [
            (
                actions::REMOVE_IMAGE.to_owned(),
                "dgx-a100/sha256:aaaa".to_owned()
            ),
            (
                actions::REMOVE_IMAGE.to_owned(),
                "gpu01/sha256:bbbb".to_owned()
            ),
            (
                actions::REMOVE_IMAGE.to_owned(),
                "gpu01/sha256:cccc".to_owned()
            ),
        ]
    );
    insta::assert_json_snapshot!(reply.to_slack_json());
}

/// The same report in Japanese (the channel's `[slack] channel_language = "ja"`, or `report day`
/// by a Japanese reader), with every section filled: the same buttons, no English words left.
#[test]
fn the_daily_report_reads_in_japanese() {
    use maison_bot::core::datasets::{DatasetsDay, HostDatasets, UnusedCopy};
    use maison_command::Lang;
    let mut data = sample_daily();
    data.orphans[0].reason = OrphanReason::Deprecated { days: 30 };
    data.stale[0].kept_until = Some(ts(30, 18));
    data.datasets = DatasetsDay {
        hosts: vec![HostDatasets {
            host: "gpu01".into(),
            complete: 3,
            in_progress: 1,
            bytes: 25_400_000_000,
        }],
        unused: vec![UnusedCopy {
            label: "imagenet@v1".into(),
            host: "gpu01".into(),
            bytes: 7_400_000_000,
            last_used: ts(2, 9),
            owner: "U0ADMIN".into(),
        }],
        unused_days: 30,
    };
    let english = daily::build(&data);
    let japanese = daily::build_in(&data, Lang::Ja);
    let page = japanese.to_terminal();
    insta::assert_snapshot!("daily_report_ja", page);
    let actions = |reply: &maison_bot::core::render::Reply| -> Vec<(String, String)> {
        reply
            .buttons()
            .map(|b| (b.action_id.clone(), b.value.clone()))
            .collect()
    };
    assert_eq!(actions(&japanese), actions(&english));
    for word in [
        "booked",
        "busy",
        "Orphan",
        "Remove",
        "Stale",
        "Datasets",
        "Top users",
        "days",
    ] {
        assert!(!page.contains(word), "{word:?} left in Japanese:\n{page}");
    }
}

#[test]
fn an_empty_fleet_still_reports_plainly() {
    let mut data = sample_daily();
    data.hosts.clear();
    data.users.clear();
    data.orphans.clear();
    data.stale.clear();
    let text = daily::build(&data).to_terminal();
    assert!(text.contains("nobody booked or used a GPU"), "{text}");
    assert!(text.contains("Orphan images: none"), "{text}");
    assert!(text.contains("Stale containers: none"), "{text}");
}

#[test]
fn daily_report_respects_block_kit_limits() {
    let mut data = sample_daily();
    let template = data.hosts[2].clone();
    data.hosts = (0..500)
        .map(|i| HostDay {
            host: format!("node-{i:03}-with-a-rather-long-name"),
            ..template.clone()
        })
        .collect();
    let orphan = data.orphans[0].clone();
    data.orphans = (0..300)
        .map(|i| OrphanImage {
            id: format!("sha256:{i:064x}"),
            name: format!("registry.internal/some/very/long/repository/name-{i}:tag-{i}"),
            ..orphan.clone()
        })
        .collect();
    let stale = data.stale[0].clone();
    data.stale = (0..200).map(|_| stale.clone()).collect();
    data.users = (0..100)
        .map(|i| UserDay {
            slack_user: format!("U{i:08}"),
            booked: 60,
            held: 60,
            busy: 30,
        })
        .collect();
    let json = daily::build(&data).to_slack_json();
    let blocks = json["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    for block in blocks {
        if let Some(text) = block["text"]["text"].as_str() {
            assert!(
                text.chars().count() <= 3000,
                "section of {} chars",
                text.chars().count()
            );
            // Nothing was cut by the renderer: the builder truncates lists itself.
            assert!(!text.ends_with('…'), "{text}");
        }
        if block["type"] == "actions" {
            assert!(block["elements"].as_array().unwrap().len() <= 25);
            for button in block["elements"].as_array().unwrap() {
                assert!(button["text"]["text"].as_str().unwrap().chars().count() <= 75);
            }
        }
    }
    let text = reply_text(&json);
    assert!(text.contains("and 460 more hosts not listed"), "{text}");
    assert!(text.contains("… and 285 more (300 in all)"), "{text}");
    assert!(text.contains("… and 185 more"), "{text}");
    assert!(text.contains("… and 95 more"), "{text}");
}

fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(png_bytes);
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("PNG pixels");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

#[test]
fn the_heat_map_is_a_png_of_the_expected_size() {
    let data = sample_daily();
    let map = daily::heat_map(&data);
    assert_eq!(map.rows.len(), 3);
    assert_eq!(map.columns.len(), 24);
    assert_eq!(map.columns[0], "00");
    assert_eq!(map.columns[23], "23");
    let bytes = chart::render(&map, maison_command::Lang::En).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let (width, height, pixels) = decode(&bytes);
    assert_eq!((width, height), chart::size(3, 24));
    // The centre of gpu01's 12:00 cell (busy, 80 %) has the ramp's colour for 80 %; its 03:00
    // cell (no readings) is grey.
    let (cell_w, cell_h) = (chart::CELL_W, chart::CELL_H);
    let grid_left = width - 6 - 24 * cell_w;
    let grid_top = height - 3 * cell_h - (5 * 2 + 3 * 6);
    let pixel = |x: u32, y: u32| -> [u8; 3] {
        let at = ((y * width + x) * 3) as usize;
        [pixels[at], pixels[at + 1], pixels[at + 2]]
    };
    let centre = |col: u32, row: u32| {
        pixel(
            grid_left + col * cell_w + cell_w / 2,
            grid_top + row * cell_h + cell_h / 2,
        )
    };
    assert_eq!(centre(12, 0), chart::ramp(80.0));
    assert_eq!(centre(7, 0), chart::ramp(0.0));
    assert_eq!(centre(3, 0), [226, 226, 226]);
    assert_eq!(centre(12, 1), [226, 226, 226]);

    // A DST day has 25 columns; a huge fleet is capped.
    let many = HeatMap {
        rows: (0..1000)
            .map(|i| HeatRow {
                label: format!("h{i}"),
                cells: vec![Some(50.0); 25],
            })
            .collect(),
        columns: (0..25).map(|h| format!("{:02}", h % 24)).collect(),
    };
    let (w, h, _) = decode(&chart::render(&many, maison_command::Lang::En).unwrap());
    assert_eq!((w, h), chart::size(chart::MAX_ROWS, 25));
}

fn capacity_input() -> CapacityInput {
    // Two days, two hosts with 2 GPUs each.
    let from = ts(28, 0);
    let to = ts(30, 0);
    let n = 48;
    let mut usage = vec![
        HostHours {
            busy: vec![0; n],
            observed: vec![120; n],
        },
        HostHours::default(),
    ];
    // Host 0 is busy 10:00–12:00 on the first day on one GPU (60 busy minutes per hour).
    usage[0].busy[10] = 60;
    usage[0].busy[11] = 60;
    CapacityInput {
        from,
        to,
        tz: UTC,
        hosts: vec![("gpu01".into(), 2), ("gpu02".into(), 2)],
        bookings: vec![
            // Day 1: host 0 both GPUs 10:00–14:00 (busy only two of the four hours, one GPU).
            BookedSpan {
                host: 0,
                gpus: 2,
                start: ts(28, 10),
                end: ts(28, 14),
            },
            // Day 1: host 1, one GPU 12:00–13:30: with the next one, every GPU is booked
            // 12:00–13:00 (one full hour).
            BookedSpan {
                host: 1,
                gpus: 1,
                start: ts(28, 12),
                end: ts(28, 12) + 5400,
            },
            // Host 1's other GPU from before the window to late on day 2.
            BookedSpan {
                host: 1,
                gpus: 1,
                start: ts(27, 20),
                end: ts(29, 23),
            },
        ],
        usage,
        refusals: vec![RefusalRow {
            at: ts(28, 12) + 600,
            slack_user: "U0CAROL".into(),
            host: Some("gpu01".into()),
            gpus: 1,
            start: ts(28, 12) + 600,
            end: ts(28, 14) + 600,
        }],
        waitlist: WaitlistInput::default(),
        weekly_peaks: Vec::new(),
    }
}

#[test]
fn capacity_numbers_are_worked_out_exactly() {
    let s = weekly::summarize(&capacity_input());
    assert_eq!(s.gpus, 4);
    assert_eq!(s.hours, 48);
    // 10:00–14:00 (2) + 12:00–13:30 (1) + the long one (1): all 4 at 12:00 on the 28th.
    assert_eq!(s.peak_booked, (4, Some(ts(28, 12))));
    assert_eq!(s.full_hours, 1);
    assert_eq!(s.refusals, 1);
    assert_eq!(s.refused_users, 1);
    assert!((s.refused_gpu_hours - 2.0).abs() < 1e-9);
    // Booked: 8 + 1.5 + 47 GPU-hours (the long one from 00:00 on the 28th to 23:00 on the 29th).
    assert!(
        (s.booked_gpu_hours - 56.5).abs() < 1e-9,
        "{}",
        s.booked_gpu_hours
    );
    // Host 0 booked 2 GPUs for 4 hours, measured, busy 1 GPU for 2 of them: 6 GPU-h idle.
    // Host 1 has no readings: not measured, not counted.
    assert!((s.booked_observed_gpu_hours - 8.0).abs() < 1e-9);
    assert!((s.booked_idle_gpu_hours - 6.0).abs() < 1e-9);
    assert_eq!(s.days.len(), 2);
    assert!(s.days[0].over_capacity());
    assert!(!s.days[1].over_capacity());
    assert_eq!(s.days[0].peak_booked, 4);
    assert_eq!(s.days[1].peak_booked, 1);
    assert_eq!(
        weekly::verdict(&s),
        "Demand exceeded capacity on 1 of 2 days, yet 75% of booked time was idle: reclaim idle bookings before buying."
    );
}

/// The wait-list's part: unmet GPU-hours (requests that left without GPUs), waits of those
/// served (nearest-rank percentiles), offers, and GPUs left free while someone waited.
#[test]
fn capacity_report_counts_the_wait_list() {
    let mut input = capacity_input();
    let served = |waited: i64| WaitEnding {
        gpus: 1,
        length: 3600,
        waited,
        served: true,
    };
    input.waitlist = WaitlistInput {
        ended: vec![
            served(600),
            served(60),
            served(3600),
            served(1800),
            // Two GPUs for 3 h that never came, and one for 30 min.
            WaitEnding {
                gpus: 2,
                length: 3 * 3600,
                waited: 8 * 3600,
                served: false,
            },
            WaitEnding {
                gpus: 1,
                length: 1800,
                waited: 600,
                served: false,
            },
        ],
        offers_accepted: 4,
        offers_declined: 1,
        offers_expired: 2,
        idle_gpu_seconds: 5400,
    };
    let s = weekly::summarize(&input);
    let w = &s.waitlist;
    assert!((w.unmet_gpu_hours - 6.5).abs() < 1e-9, "{w:?}");
    assert_eq!((w.served, w.unserved), (4, 2));
    assert_eq!((w.wait_p50, w.wait_p90), (Some(600), Some(3600)));
    assert_eq!(w.offers, (4, 1, 2));
    assert_eq!(w.idle_gpu_minutes, 90);
    let text = weekly::build(&s).to_terminal();
    assert!(text.contains("Wait-list"), "{text}");
    assert!(text.contains("wait p50 10m · p90 1h"), "{text}");
    assert!(text.contains("6.5 GPU-h unmet"), "{text}");
    assert!(
        text.contains("accepted / declined / expired: 4 / 1 / 2"),
        "{text}"
    );
    // Without a wait-list, no section.
    let quiet = weekly::build(&weekly::summarize(&capacity_input())).to_terminal();
    assert!(!quiet.contains("Wait-list"), "{quiet}");

    // The same week in Japanese (the channel's `channel_language = "ja"`, or `report week` by
    // a Japanese reader), with a forecast: no English left but names and numbers.
    input.weekly_peaks = (0..16).map(|w| 1.0 + w as f64 * 0.125).collect();
    let page = weekly::build_in(&weekly::summarize(&input), maison_command::Lang::Ja).to_terminal();
    insta::assert_snapshot!("capacity_report_ja", page);
    for word in [
        "GPU-h",
        "booked",
        "Forecast",
        "Wait-list",
        "refused",
        "peak",
        "days",
    ] {
        assert!(!page.contains(word), "{word:?} left in Japanese:\n{page}");
    }
}

/// The report ends with the forecast: when peak demand passes the fleet's GPUs.
#[test]
fn capacity_report_forecasts_when_demand_passes_the_fleet() {
    let mut input = capacity_input();
    // Four GPUs; the weekly peak grew by 1/8 a week to 2.875 over 16 weeks: 4 is passed in
    // 9 weeks, counted from the last observed week (from 23 November).
    input.weekly_peaks = (0..16).map(|w| 1.0 + w as f64 * 0.125).collect();
    let s = weekly::summarize(&input);
    let text = weekly::build(&s).to_terminal();
    assert!(
        text.contains("Forecast: At the current trend, peak demand passes the fleet's 4 GPUs in the week of 2027-01-25 (80 % interval: Jan 2027; based on 16 weeks)"),
        "{text}"
    );
    let mut young = capacity_input();
    young.weekly_peaks = vec![2.0, 3.0];
    let text = weekly::build(&weekly::summarize(&young)).to_terminal();
    assert!(
        text.contains("Not enough history for a forecast yet: 2 week(s) of data, 8 needed"),
        "{text}"
    );
}

#[test]
fn capacity_report_snapshot() {
    let s = weekly::summarize(&capacity_input());
    insta::assert_snapshot!(weekly::build(&s).to_terminal());
    let mut quiet = capacity_input();
    quiet.refusals.clear();
    quiet.bookings.truncate(1);
    assert_eq!(
        weekly::verdict(&weekly::summarize(&quiet)),
        "Capacity was enough: no booking was refused and some GPU was always free on all 2 days."
    );
}

/// A fleet for the end-to-end scenarios: gpu01 has an agent with a day of metrics (Sunday
/// 29 November), containers and images; the reports go to `C0FLEET`.
async fn fleet_bot(backend: Backend) -> (BotTester, Arc<FakeAgent>) {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let mut config = test_config();
    config.reports.channel = Some("C0FLEET".into());
    config.slack.announce_channel = None;
    let bot = BotTester::start_with_fleet(backend, config, fleet).await;
    let now = test_start();
    agent.edit(|s| {
        for m in 0..240 {
            let t = at(29, 10, 0) + Duration::minutes(m);
            // GPU 0: Carol's trainer, busy two hours then idle two; GPU 1 idle, nobody on it.
            let util = if m < 120 { 80.0 } else { 2.0 };
            s.rollups
                .push(minute(t, 0, util, Some(("carol-train", Some("U0CAROL")))));
            s.rollups.push(minute(t, 1, 0.0, None));
        }
        s.containers = vec![
            container(
                "carol-train",
                Some("U0CAROL"),
                ContainerState::Running,
                "Up 22 hours",
                now - Duration::hours(22),
                &[0],
            ),
            container(
                "bob-old-run",
                Some("U0BOB"),
                ContainerState::Exited,
                "Exited (0) 10 days ago",
                now - Duration::days(20),
                &[],
            ),
        ];
        s.images = vec![
            image(
                "pytorch",
                &["pytorch:2.4"],
                9,
                None,
                now - Duration::days(60),
                &[hex_id("carol-train"), hex_id("bob-old-run")],
            ),
            image(
                "old",
                &["old/experiment:1"],
                8,
                None,
                now - Duration::days(5),
                &[],
            ),
            image("dangling", &[], 3, None, now - Duration::days(2), &[]),
            image(
                "bobtool",
                &["bob/tool:1"],
                2,
                Some("U0BOB"),
                now - Duration::days(40),
                &[],
            ),
            image(
                "carolnew",
                &["carol/new:1"],
                4,
                Some("U0CAROL"),
                now - Duration::days(2),
                &[],
            ),
        ];
    });
    (bot, agent)
}

fn slot(day: u32, hour: u32) -> DateTime<Tz> {
    UTC.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

async fn outbox_attachment(bot: &BotTester, id: i64) -> Vec<u8> {
    let db = bot.db();
    let row = db
        .connection()
        .query_one_raw(Statement::from_string(
            db.backend(),
            format!("SELECT attachment FROM outbox WHERE id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<Vec<u8>>(0).unwrap()
}

on_both_databases! {
    async fn reports_on_demand_are_shown_to_the_caller_alone(backend: Backend) {
        let bot = BotTester::start(backend).await;
        bot.command("U0CAROL", "book gpu01 1h").await;
        bot.slack.expect("chat.postMessage").await;
        bot.clock.advance(Duration::days(1));
        let day = bot.command("U0CAROL", "report").await;
        assert_eq!(day["response_type"], "ephemeral");
        let text = reply_text(&day);
        assert!(text.contains("GPU fleet report —"), "{text}");
        assert!(text.contains("gpu01"), "{text}");
        let week = bot.command_text("U0CAROL", "report week").await;
        assert!(week.contains("GPU capacity —"), "{week}");
        let wrong = bot.command_text("U0CAROL", "report year").await;
        assert!(wrong.contains("takes `day`, `week`, `month` or `what-if`"), "{wrong}");
        assert!(bot.slack.unread().is_empty(), "nothing was posted to a channel");
        bot.finish().await;
    }

    async fn daily_report_from_the_fleet(backend: Backend) {
        let (bot, _agent) = fleet_bot(backend).await;
        // Carol booked GPU 0 of gpu01 for Sunday 10:00–14:00.
        bot.clock.set(at(29, 9, 0));
        let text = bot.command_text("U0CAROL", "book gpu01:0 4h at 10:00").await;
        assert!(text.contains("Booked `gpu01` GPU 0"), "{text}");
        bot.clock.set(test_start());
        bot.poller().poll_once().await;

        let data = load_daily(bot.db(), &bot.app.config, ts(29, 0), ts(30, 0), UTC, bot.now_ts())
            .await
            .unwrap();
        let gpu01 = &data.hosts[0];
        assert_eq!(gpu01.host, "gpu01");
        assert_eq!(gpu01.booked, 240);
        assert_eq!(gpu01.observed, 480);
        assert_eq!(gpu01.busy, 120);
        assert_eq!(gpu01.idle(), 360);
        assert_eq!(gpu01.booked_idle, 120);
        assert_eq!(gpu01.hourly_util[10], Some(40.0));
        assert_eq!(gpu01.hourly_util[13], Some(1.0));
        assert_eq!(gpu01.hourly_util[9], None);
        assert_eq!(data.hosts[1].observed, 0);
        let carol = data.users.iter().find(|u| u.slack_user == "U0CAROL").unwrap();
        assert_eq!((carol.booked, carol.held, carol.busy), (240, 240, 120));
        let dangling = hex_id("dangling");
        let orphans: Vec<(&str, OrphanReason)> =
            data.orphans.iter().map(|o| (o.name.as_str(), o.reason)).collect();
        assert_eq!(
            orphans,
            [
                ("old/experiment:1", OrphanReason::Unowned),
                (&dangling[..12], OrphanReason::Dangling),
                ("bob/tool:1", OrphanReason::Unused { days: 30 }),
            ]
        );
        assert_eq!(data.stale.len(), 1);
        assert_eq!(data.stale[0].name, "bob-old-run");
        assert_eq!(data.stale[0].owner.as_deref(), Some("U0BOB"));

        // The job queues the report with its chart, once per slot.
        let summary = reports::post_daily(&bot.app, test_start(), slot(30, 9)).await.unwrap();
        assert!(summary.contains("daily report for 2026-11-29 queued for C0FLEET"), "{summary}");
        let again = reports::post_daily(&bot.app, test_start(), slot(30, 9)).await.unwrap();
        assert!(again.contains("already queued"), "{again}");
        let entries = bot.db().outbox_entries().await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].to, Recipient::Channel("C0FLEET".into()));
        assert!(entries[0].has_attachment);
        assert!(entries[0].text.contains("GPU fleet report for Sun 29 Nov 2026"), "{}", entries[0].text);
        let (w, h, _) = decode(&outbox_attachment(&bot, entries[0].id).await);
        assert_eq!((w, h), chart::size(3, 24));
        // The outbox uploads the chart and posts the report to the channel.
        let calls = settle(&bot).await;
        assert!(calls.iter().any(|c| c.method == "files.completeUploadExternal"), "{calls:#?}");
        let posts = posted(&calls);
        assert_eq!(posts.len(), 1, "{posts:?}");
        assert_eq!(posts[0].0, "C0FLEET");
        bot.finish().await;
    }

    async fn capacity_report_counts_refusals_and_full_hours(backend: Backend) {
        let (bot, _agent) = fleet_bot(backend).await;
        // Sunday: Carol takes both GPUs of gpu01 10:00–14:00, Alice is refused, and an
        // admin's `book any` for 9 GPUs finds no host.
        bot.clock.set(at(29, 9, 0));
        bot.command("U0CAROL", "book gpu01:all 4h at 10:00").await;
        let text = bot.command_text("U0ALICE", "book gpu01 1h at 12:00").await;
        assert!(text.contains("is taken"), "{text}");
        let text = bot.command_text("U0ADMIN", "book any 1h --gpus 9").await;
        assert!(text.contains("No host has 9 free GPUs"), "{text}");
        bot.clock.set(test_start());
        bot.poller().poll_once().await;

        let input = load_capacity(bot.db(), &bot.app.config, ts(23, 0), ts(30, 0), UTC)
            .await
            .unwrap();
        assert_eq!(input.hosts.len(), 3);
        assert_eq!(input.refusals.len(), 2);
        assert_eq!(input.refusals[0].host.as_deref(), Some("gpu01"));
        assert_eq!(input.refusals[1].host, None);
        assert_eq!(input.refusals[1].gpus, 9);
        // One week of history (the first booking was on Sunday); the 25 weeks before Maison
        // had any booking are left out. Demand peaked at the admin's refused 9 GPUs: unmet
        // demand counts.
        assert_eq!(input.weekly_peaks, [9.0]);
        let s = weekly::summarize(&input);
        assert_eq!(s.gpus, 12);
        assert!(matches!(s.outlook, maison_bot::core::reports::forecast::Outlook::NotEnoughHistory { weeks: 1, .. }));
        assert_eq!(s.peak_booked.0, 2);
        assert_eq!(s.full_hours, 0);
        assert!((s.booked_gpu_hours - 8.0).abs() < 1e-9);
        // Rollups: GPU 0 busy 10:00–12:00, the rest idle: 6 of 8 booked GPU-hours idle.
        assert!((s.busy_gpu_hours - 2.0).abs() < 1e-9, "{}", s.busy_gpu_hours);
        assert!((s.booked_idle_gpu_hours - 6.0).abs() < 1e-9, "{}", s.booked_idle_gpu_hours);
        assert_eq!(s.days.len(), 7);
        assert_eq!(s.days.iter().filter(|d| d.over_capacity()).count(), 1);
        assert!(weekly::verdict(&s).starts_with("Demand exceeded capacity on 1 of 7 days"));

        let summary = reports::post_capacity(&bot.app, test_start(), slot(30, 9)).await.unwrap();
        assert!(summary.contains("capacity report queued for C0FLEET"), "{summary}");
        let again = reports::post_capacity(&bot.app, test_start(), slot(30, 9)).await.unwrap();
        assert!(again.contains("already queued"), "{again}");
        let entries = bot.db().outbox_entries().await.unwrap();
        assert_eq!(entries.len(), 1);
        assert!(!entries[0].has_attachment);
        assert!(entries[0].text.contains("Demand exceeded capacity on 1 of 7 days"), "{}", entries[0].text);
        let posts = posted(&settle(&bot).await);
        assert_eq!(posts.len(), 1, "{posts:?}");
        assert_eq!(posts[0].0, "C0FLEET");
        bot.finish().await;
    }

    async fn no_channel_no_report(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let summary = reports::post_daily(&bot.app, test_start(), slot(30, 9)).await.unwrap();
        assert!(summary.contains("reports.channel is not set"), "{summary}");
        let summary = reports::post_capacity(&bot.app, test_start(), slot(30, 9)).await.unwrap();
        assert!(summary.contains("reports.channel is not set"), "{summary}");
        assert!(bot.db().outbox_entries().await.unwrap().is_empty());
        bot.finish().await;
    }

    async fn admins_remove_orphan_images_through_the_agent(backend: Backend) {
        let (bot, agent) = fleet_bot(backend).await;
        bot.poller().poll_once().await;
        let old = format!("gpu01/sha256:{}", hex_id("old"));
        let used = format!("gpu01/sha256:{}", hex_id("pytorch"));

        let reply = bot.click("U0BOB", actions::REMOVE_IMAGE, &old).await;
        assert!(reply_text(&reply).contains("Only Maison admins"), "{reply}");
        assert!(agent.calls().is_empty());

        let reply = bot.click("U0ADMIN", actions::REMOVE_IMAGE, &old).await;
        let text = reply_text(&reply);
        assert!(text.contains("Removed image `old/experiment:1` from `gpu01`"), "{text}");
        // Came into use since the report: the agent refuses, and says why.
        let reply = bot.click("U0ADMIN", actions::REMOVE_IMAGE, &used).await;
        let text = reply_text(&reply);
        assert!(text.contains("did not remove `pytorch:2.4`"), "{text}");
        assert!(text.contains("in use"), "{text}");
        assert_eq!(
            agent.calls(),
            [format!("rmi sha256:{}", hex_id("old")), format!("rmi sha256:{}", hex_id("pytorch"))]
        );
        let audit: Vec<(String, String)> = bot
            .db()
            .audit_log()
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.action == "image rm")
            .map(|a| (a.actor, a.outcome))
            .collect();
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[0], ("U0ADMIN".to_owned(), "ok".to_owned()));
        assert!(audit[1].1.starts_with("failed: "), "{:?}", audit[1]);
        bot.finish().await;
    }

    /// Found trying it: Remove in the channel's daily report replaced the whole report, for
    /// everyone, with "Removed image …" (or with the refusal when a non-admin pressed it).
    async fn remove_in_the_channel_report_answers_the_clicker_and_marks_one_line(backend: Backend) {
        let (bot, agent) = fleet_bot(backend).await;
        bot.poller().poll_once().await;
        reports::post_daily(&bot.app, test_start(), slot(30, 9)).await.unwrap();
        let report = settle(&bot)
            .await
            .into_iter()
            .find(|c| c.method == "chat.postMessage")
            .expect("the report was posted");
        let old = format!("gpu01/sha256:{}", hex_id("old"));
        assert!(
            buttons(&report.args).contains(&(actions::REMOVE_IMAGE.to_owned(), old.clone())),
            "{:?}",
            buttons(&report.args)
        );

        // A non-admin is told privately; the report is left alone.
        bot.click_in_channel("U0BOB", actions::REMOVE_IMAGE, &old, "C0FLEET", &report.args).await;
        let told = bot.slack.expect("chat.postEphemeral").await;
        assert_eq!((told.args["channel"].as_str(), told.args["user"].as_str()), (Some("C0FLEET"), Some("U0BOB")));
        assert!(reply_text(&told.args).contains("Only Maison admins"), "{told:?}");

        // An admin: the outcome privately, and only that image's line changes for everyone.
        bot.click_in_channel("U0ADMIN", actions::REMOVE_IMAGE, &old, "C0FLEET", &report.args).await;
        let told = bot.slack.expect("chat.postEphemeral").await;
        assert_eq!(told.args["user"], "U0ADMIN");
        assert!(reply_text(&told.args).contains("Removed image `old/experiment:1`"), "{told:?}");
        let edit = bot.slack.expect("response_url").await;
        assert_eq!(edit.args["replace_original"], true);
        let before = report.args["blocks"].as_array().unwrap();
        let after = edit.args["blocks"].as_array().unwrap();
        // The orphan images share one row of buttons: the pressed one goes, a line follows.
        assert_eq!(after.len(), before.len() + 1);
        let mut left = buttons(&report.args);
        left.retain(|b| b.1 != old);
        assert_eq!(buttons(&edit.args), left);
        let row = before.iter().position(|b| b["type"] == "actions").unwrap();
        assert_eq!(before[..row], after[..row]);
        assert_eq!(before[row + 1..], after[row + 2..]);
        assert_eq!(after[row + 1]["type"], "context");
        assert!(
            reply_text(&edit.args).contains("`old/experiment:1` on `gpu01`: removed by <@U0ADMIN>"),
            "{edit:?}"
        );
        assert_eq!(agent.calls(), [format!("rmi sha256:{}", hex_id("old"))]);
        bot.finish().await;
    }
}
