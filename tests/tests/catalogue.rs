//! The image catalogue through the signed HTTP front, with fake agents, on SQLite and
//! PostgreSQL: the config's house images seed it; `image publish` asks the admins by DM; only an
//! admin's Approve makes the short name launch the published image (by id); a name, a version
//! and a house name are never published over; someone else's or an unowned image is refused;
//! `images` shows each name's current version and the images made from it;
//! `image deprecate` keeps launches working with a warning and, once the orphan days have
//! passed, the daily report lists the unused deprecated version as an orphan. (The real
//! agents and Docker run the same flow in `images_e2e`; Socket Mode in `socket_mode`.)

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;

use chrono::Duration;
use fake_agent::{FakeAgent, container, hex_id, image, settle};
use maison_agent_api::images::provenance;
use maison_agent_api::{ContainerState, ImageSource, ResourceLimits};
use maison_bot::config::{CatalogImage, Config};
use maison_bot::core::actions;
use maison_bot::core::catalogue::CatalogStatus;
use maison_bot::core::clock::Clock;
use maison_bot::core::inventory::OrphanReason;
use maison_bot::ports::Fleet;
use maison_tests::{
    Backend, BotTester, buttons, on_both_databases, reply_text, test_config, test_start,
};

/// gpu01 with Alice's image `alice/resnet:v1`, Bob's `bob/resnet:v1`, an image nobody owns,
/// and the house image; Alice is mapped to uid 1000; no announcement channel.
async fn start(backend: Backend) -> (BotTester, Arc<FakeAgent>) {
    let gpu01 = Arc::new(FakeAgent::new("gpu01", 2));
    let created = test_start() - Duration::days(1);
    // Alice saved her container of `alice/resnet:v1` as `alice/resnet-tuned:1`, which a
    // container of hers runs.
    let mut tuned = image(
        "tuned",
        &["alice/resnet-tuned:1"],
        3,
        Some("U0ALICE"),
        created,
        &[hex_id("alice-c2")],
    );
    for (key, value) in [
        (
            provenance::PARENT_ID,
            format!("sha256:{}", hex_id("resnet1")),
        ),
        (provenance::PARENT, "alice/resnet:v1".to_owned()),
        (provenance::HOW, "save".to_owned()),
        (provenance::CONTAINER, "alice-c1".to_owned()),
    ] {
        tuned.labels.insert(key.into(), value);
    }
    gpu01.edit(|s| {
        s.containers = vec![container(
            "alice-c2",
            Some("U0ALICE"),
            ContainerState::Running,
            "Up 2 hours",
            created,
            &[],
        )];
        s.images = vec![
            tuned,
            image(
                "resnet1",
                &["alice/resnet:v1"],
                3,
                Some("U0ALICE"),
                created,
                &[],
            ),
            image(
                "resnet2",
                &["alice/resnet:v2"],
                3,
                Some("U0ALICE"),
                created,
                &[],
            ),
            image("bobs", &["bob/resnet:v1"], 2, Some("U0BOB"), created, &[]),
            image("stray", &["stray/thing:1"], 1, None, created, &[]),
            image(
                "house",
                &["registry.lan/house/pytorch:2.5"],
                9,
                None,
                created,
                &[],
            ),
        ];
        s.launch_limits = Some(ResourceLimits {
            pids: 4096,
            memory_bytes: 1 << 36,
            cpu_millis: 8000,
            shm_bytes: 1 << 34,
        });
    });
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", gpu01.clone());
    let bot = BotTester::start_with_fleet(backend, config(), fleet).await;
    (bot, gpu01)
}

fn config() -> Config {
    let mut config = test_config();
    config.slack.announce_channel = None;
    config.users = vec![maison_tests::alice_as_uid_1000()];
    config.images = vec![CatalogImage {
        name: "pytorch".into(),
        reference: "registry.lan/house/pytorch:2.5".into(),
        description: "PyTorch 2.5".into(),
    }];
    config
}

/// Launches `image` on gpu01 as Alice and returns the final answer.
async fn launch(bot: &BotTester, image: &str, name: &str) -> String {
    let ack = bot
        .command_text("U0ALICE", &format!("launch gpu01 {image} --name {name}"))
        .await;
    if ack.contains("Starting") {
        return reply_text(&bot.slack.expect("response_url").await.args);
    }
    ack
}

on_both_databases! {
    async fn a_published_image_launches_by_its_short_name_once_an_admin_approves(backend: Backend) {
        let (bot, gpu01) = start(backend).await;
        let booked = bot.command_text("U0ALICE", "book gpu01 4h").await;
        assert!(booked.contains("Booked `gpu01`"), "{booked}");

        let asked = bot
            .command_text("U0ALICE", "image publish alice/resnet:v1 for \"ResNet-50 trainer\"")
            .await;
        assert!(
            asked.contains("Asked the admins to add `alice/resnet:v1`")
                && asked.contains("as `resnet:v1`"),
            "{asked}"
        );
        let dm = settle(&bot)
            .await
            .into_iter()
            .find(|c| c.method == "chat.postMessage")
            .expect("the admin's DM");
        assert_eq!(dm.args["channel"], "DU0ADMIN");
        let text = reply_text(&dm.args);
        assert!(
            text.contains("<@U0ALICE> asks to add `alice/resnet:v1`")
                && text.contains("Description: ResNet-50 trainer"),
            "{text}"
        );
        let id = bot.db().catalog().await.unwrap().resolve("resnet").map(|v| v.id);
        assert_eq!(id, None, "nothing is launchable before the decision");
        let pending = bot.db().catalog().await.unwrap().versions().last().cloned().unwrap();
        assert_eq!(pending.status, CatalogStatus::Pending);
        assert_eq!(
            buttons(&dm.args),
            [
                (actions::PUBLISH_APPROVE.to_owned(), pending.id.to_string()),
                (actions::PUBLISH_REJECT.to_owned(), pending.id.to_string())
            ]
        );

        // Before the decision the name launches nothing, and a member cannot decide.
        let waiting = launch(&bot, "resnet", "early").await;
        assert!(waiting.contains("waiting for an admin"), "{waiting}");
        let refused = bot
            .click("U0BOB", actions::PUBLISH_APPROVE, &pending.id.to_string())
            .await;
        assert!(reply_text(&refused).contains("Only Maison admins"), "{refused}");
        assert!(gpu01.state.lock().unwrap().launches.is_empty());

        let approved = bot
            .click("U0ADMIN", actions::PUBLISH_APPROVE, &pending.id.to_string())
            .await;
        assert!(
            reply_text(&approved).contains("Approved `resnet:v1`"),
            "{approved}"
        );
        let told = settle(&bot).await;
        let dm = told
            .iter()
            .find(|c| c.method == "chat.postMessage")
            .expect("the requester's DM");
        assert_eq!(dm.args["channel"], "DU0ALICE");
        assert!(
            reply_text(&dm.args).contains("<@U0ADMIN> approved `resnet:v1`"),
            "{dm:?}"
        );
        let again = bot
            .click("U0ADMIN", actions::PUBLISH_REJECT, &pending.id.to_string())
            .await;
        assert!(
            reply_text(&again).contains("was already approved by <@U0ADMIN>"),
            "{again}"
        );

        // The short name runs the image by id, as a catalogue image.
        let started = launch(&bot, "resnet", "trainer").await;
        assert!(started.contains("`trainer` is running on `gpu01`"), "{started}");
        let launched = gpu01.state.lock().unwrap().launches.last().cloned().unwrap();
        assert_eq!(launched.image, format!("sha256:{}", hex_id("resnet1")));
        assert_eq!(launched.image_source, ImageSource::Catalog);

        // The listing shows it, with who published it and what it is for.
        let listed = bot.command_text("U0ALICE", "images").await;
        assert!(
            listed.contains("*resnet* v1 `alice/resnet:v1` by <@U0ALICE>")
                && listed.contains("ResNet-50 trainer")
                && listed.contains("↳ made from it: `alice/resnet-tuned:1` (<@U0ALICE>)")
                && listed.contains(
                    "in use by <@U0ALICE>; made by saving `alice-c1` (from `alice/resnet:v1`)"
                )
                && listed.contains("*pytorch* 2.5 `registry.lan/house/pytorch:2.5`"),
            "{listed}"
        );
        let who = bot.command_text("U0BOB", "who alice/resnet:v1").await;
        assert!(
            who.contains("• in the catalogue as `resnet:v1`")
                && who.contains("• made from it: `alice/resnet-tuned:1` (`gpu01`)"),
            "{who}"
        );
        let audit = bot.db().audit_log().await.unwrap();
        assert!(audit.iter().any(|a| a.action == "image publish" && a.outcome == "pending"));
        assert!(audit
            .iter()
            .any(|a| a.action == "image publish decide" && a.outcome == "approved"));
        bot.finish().await;
    }

    /// Two people asking at the same moment for a name nobody has published: the first to
    /// ask owns it, and the other hears so, as when they ask one after the other.
    async fn a_new_name_asked_for_twice_at_once_goes_to_one_person(backend: Backend) {
        let (bot, _gpu01) = start(backend).await;
        let (a, b) = futures::join!(
            bot.command_text("U0ALICE", "image publish alice/resnet:v1 as resnet:v1"),
            bot.command_text("U0BOB", "image publish bob/resnet:v1 as resnet:v2"),
        );
        let replies = [a, b];
        let asked = replies.iter().filter(|r| r.contains("as `resnet:v")).count();
        let refused = replies.iter().filter(|r| r.contains("who first published it")).count();
        assert_eq!((asked, refused), (1, 1), "{replies:#?}");
        assert_eq!(bot.db().catalog().await.unwrap().of("resnet").count(), 1);
        settle(&bot).await;
        bot.finish().await;
    }

    async fn names_versions_and_images_that_are_not_yours_are_refused(backend: Backend) {
        let (bot, _gpu01) = start(backend).await;
        let asked = bot.command_text("U0ALICE", "image publish alice/resnet:v1").await;
        assert!(asked.contains("as `resnet:v1`"), "{asked}");
        let rows = || async { bot.db().catalog().await.unwrap().versions().len() };
        let before = rows().await;

        let cases = [
            // The same name and version again, still waiting.
            ("U0ALICE", "image publish alice/resnet:v2 as resnet:v1", "already waiting for an admin"),
            // Bob's image under Alice's name.
            ("U0BOB", "image publish bob/resnet:v1", "belongs to <@U0ALICE>, who first published it"),
            // A house name of the config.
            ("U0ALICE", "image publish alice/resnet:v2 as pytorch", "house image of the bot's config"),
            // Someone else's image, an unowned one, and one nobody has.
            ("U0ALICE", "image publish bob/resnet:v1 as bobnet", "belongs to <@U0BOB>; only its owner"),
            ("U0ALICE", "image publish stray/thing:1", "has no owner"),
            ("U0ALICE", "image publish nobody/has:1", "No host has an image called `nobody/has:1`"),
            ("U0ALICE", "image publish alice/resnet:v2 --project nowhere", "no project `nowhere`"),
        ];
        for (user, command, expected) in cases {
            let text = bot.command_text(user, command).await;
            assert!(text.contains(expected), "{command}: {text}");
        }
        assert_eq!(rows().await, before, "no refusal wrote anything");

        // Rejected: the version is free again, and the owner adds the next one herself.
        let pending = bot.db().catalog().await.unwrap().versions().last().cloned().unwrap();
        let rejected = bot
            .click("U0ADMIN", actions::PUBLISH_REJECT, &pending.id.to_string())
            .await;
        assert!(reply_text(&rejected).contains("Rejected `resnet:v1`"), "{rejected}");
        let told = settle(&bot).await;
        assert!(
            told.iter().any(|c| c.args["channel"] == "DU0ALICE"
                && reply_text(&c.args).contains("did not add `resnet:v1`")),
            "{told:?}"
        );
        let again = bot.command_text("U0ALICE", "image publish alice/resnet:v2 as resnet").await;
        assert!(again.contains("as `resnet:v1`"), "{again}");
        settle(&bot).await;
        let unknown = bot.click("U0ADMIN", actions::PUBLISH_APPROVE, "#999").await;
        assert!(
            reply_text(&unknown).contains("no publish request `#999`"),
            "{unknown}"
        );
        bot.finish().await;
    }

    async fn a_deprecated_version_warns_at_launch_then_becomes_an_orphan(backend: Backend) {
        let (bot, gpu01) = start(backend).await;
        bot.command_text("U0ALICE", "book gpu01 4h").await;
        for (image, version) in [("alice/resnet:v1", "v1"), ("alice/resnet:v2", "v2")] {
            let asked = bot.command_text("U0ALICE", &format!("image publish {image}")).await;
            assert!(asked.contains(&format!("as `resnet:{version}`")), "{asked}");
            let id = bot.db().catalog().await.unwrap().versions().last().unwrap().id;
            bot.click("U0ADMIN", actions::PUBLISH_APPROVE, &id.to_string()).await;
        }
        settle(&bot).await;

        let bobs = bot.command_text("U0BOB", "image deprecate resnet:v1").await;
        assert!(bobs.contains("Only an admin or <@U0ALICE>"), "{bobs}");
        let house = bot.command_text("U0ADMIN", "image deprecate pytorch").await;
        assert!(house.contains("house image of the bot's config"), "{house}");
        let itself = bot.command_text("U0ALICE", "image deprecate resnet:v1 use resnet:v1").await;
        assert!(itself.contains("cannot replace `resnet:v1`"), "{itself}");
        let done = bot.command_text("U0ALICE", "image deprecate resnet:v1 use resnet:v2").await;
        assert!(
            done.contains("Deprecated `resnet:v1`; use `resnet:v2` instead"),
            "{done}"
        );

        // `resnet` is v2 now; v1 still launches, with the warning.
        launch(&bot, "resnet", "current").await;
        let old = launch(&bot, "resnet:v1", "old").await;
        assert!(
            old.contains("`resnet:v1` is deprecated; use `resnet:v2` instead")
                && old.contains("`old` is running on `gpu01`"),
            "{old}"
        );
        let launched: Vec<String> = gpu01
            .state
            .lock()
            .unwrap()
            .launches
            .iter()
            .map(|l| l.image.clone())
            .collect();
        assert_eq!(
            launched,
            [format!("sha256:{}", hex_id("resnet2")), format!("sha256:{}", hex_id("resnet1"))]
        );

        // Unused: listed as an orphan once deprecated for the report's orphan days (v2 is
        // current), unless an image in use was made from it.
        let orphans = |days: i64| {
            let bot = &bot;
            async move {
                let now = bot.clock.now() + Duration::days(days);
                bot.poller().poll_once().await;
                let images = bot.db().cached_images(None).await.unwrap();
                let catalog = bot.db().catalog().await.unwrap();
                maison_bot::core::inventory::orphan_images(&images, &[], &catalog, now.timestamp(), 30)
                    .into_iter()
                    .filter(|o| o.name.starts_with("alice/resnet:"))
                    .map(|o| (o.name, o.reason))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(orphans(29).await, []);
        assert_eq!(orphans(31).await, [], "alice/resnet-tuned:1, made from it, is in use");
        gpu01.edit(|s| {
            s.containers.clear();
            s.images.iter_mut().for_each(|i| i.used_by.clear());
        });
        assert_eq!(
            orphans(31).await,
            [("alice/resnet:v1".to_owned(), OrphanReason::Deprecated { days: 30 })]
        );
        bot.finish().await;
    }

    /// The config seeds the catalogue at every start: a version dropped from it is deprecated
    /// (pointing at the name's new version), not forgotten.
    async fn the_config_seeds_the_catalogue_and_deprecates_what_it_drops(backend: Backend) {
        let (bot, _gpu01) = start(backend).await;
        let mut config = config();
        config.images[0].reference = "registry.lan/house/pytorch:2.6".into();
        let now = bot.now_ts();
        bot.db().sync_config(&config, now).await.unwrap();
        let catalog = bot.db().catalog().await.unwrap();
        let current = catalog.resolve("pytorch").unwrap();
        assert_eq!(current.reference, "registry.lan/house/pytorch:2.6");
        let old = catalog.resolve("pytorch:2.5").unwrap();
        assert_eq!(old.deprecated_at, Some(now));
        assert_eq!(old.replaced_by.as_deref(), Some("pytorch:2.6"));
        // Seeding again changes nothing.
        bot.db().sync_config(&config, now + 60).await.unwrap();
        assert_eq!(bot.db().catalog().await.unwrap().versions(), catalog.versions());
        bot.finish().await;
    }
}
