//! Socket Mode, offline: the fake Slack hands out the `ws://` URL of a local websocket server
//! that plays Slack's side — `hello`, then envelopes — and checks that each is acknowledged with
//! its `envelope_id` and, for slash commands, the reply as payload.

#[path = "support/fake_agent.rs"]
mod fake_agent;

use std::sync::Arc;
use std::time::Duration;

use fake_agent::{FakeAgent, container, hex_id, image, settle};
use futures::{SinkExt, StreamExt};
use maison_agent_api::ContainerState;
use maison_bot::core::actions;
use maison_bot::ports::Fleet;
use maison_bot::slack::socket::SocketMode;
use maison_tests::{
    Backend, BotTester, TEAM, buttons, click_payload, reply_text, test_config, test_start,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Slack's side of the socket: sends what it is given, forwards every acknowledgement.
async fn slack_socket() -> (
    String,
    mpsc::UnboundedSender<Value>,
    mpsc::UnboundedReceiver<Value>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/link", listener.local_addr().unwrap());
    let (to_bot, mut outgoing) = mpsc::unbounded_channel::<Value>();
    let (acks, from_bot) = mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let hello = json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0MAISON"}});
        ws.send(Message::text(hello.to_string())).await.unwrap();
        loop {
            tokio::select! {
                Some(envelope) = outgoing.recv() => {
                    ws.send(Message::text(envelope.to_string())).await.unwrap();
                }
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let _ = acks.send(serde_json::from_str(&text).unwrap());
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                },
            }
        }
    });
    (url, to_bot, from_bot)
}

/// The bot connected over Socket Mode to a Slack side of its own: the socket (to shut down),
/// where to send envelopes, and the bot's acknowledgements.
async fn connect(
    bot: &BotTester,
) -> (
    SocketMode,
    mpsc::UnboundedSender<Value>,
    mpsc::UnboundedReceiver<Value>,
) {
    let (url, to_bot, acks) = slack_socket().await;
    bot.slack.set_socket_url(&url);
    let socket = SocketMode::connect(bot.app.clone(), "xapp-test")
        .await
        .expect("socket mode connects");
    (socket, to_bot, acks)
}

async fn next_ack(acks: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(10), acks.recv())
        .await
        .expect("the bot acknowledged within 10 s")
        .expect("socket open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_clicks_arrive_over_socket_mode() {
    let bot = BotTester::start(Backend::Sqlite).await;
    let (socket, to_bot, mut acks) = connect(&bot).await;

    let command = json!({
        "envelope_id": "env-command-1",
        "type": "slash_commands",
        "accepts_response_payload": true,
        "payload": {
            "team_id": TEAM, "team_domain": "maison", "channel_id": "C0GENERAL",
            "channel_name": "general", "user_id": "U0ALICE", "user_name": "alice",
            "command": "/maison", "text": "book gpu01 1h for \"a &lt;b&gt; test\"",
            "response_url": bot.slack.response_url(), "trigger_id": "1.2.3",
        },
    });
    to_bot.send(command).unwrap();
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["envelope_id"], "env-command-1");
    assert_eq!(ack["payload"]["response_type"], "ephemeral");
    let text = reply_text(&ack["payload"]);
    assert!(
        text.contains("Booked `gpu01` GPU 0 for today 09:00–10:00 (booking *#1*)"),
        "{text}"
    );
    let announced = bot.slack.expect("chat.postMessage").await;
    // Slack's HTML escaping was undone before parsing: the note is what Alice typed.
    assert!(
        announced.args["text"]
            .as_str()
            .unwrap()
            .contains("“a <b> test”"),
        "{announced:?}"
    );

    bot.clock.advance(chrono::Duration::minutes(5));
    let click = json!({
        "envelope_id": "env-click-1",
        "type": "interactive",
        "accepts_response_payload": false,
        "payload": {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "maison"},
            "user": {"id": "U0ALICE", "team_id": TEAM},
            "api_app_id": "A0MAISON",
            "container": {"type": "message", "message_ts": "1700000000.000001"},
            "trigger_id": "1.2.4",
            "response_url": bot.slack.response_url(),
            "actions": [{"type": "button", "action_id": actions::RELEASE, "block_id": "b", "value": "1", "action_ts": "1"}],
        },
    });
    to_bot.send(click).unwrap();
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["envelope_id"], "env-click-1");
    let replaced = bot.slack.expect("response_url").await;
    assert_eq!(replaced.args["replace_original"], true);
    assert!(reply_text(&replaced.args).contains("Released booking #1"));
    assert!(bot.db().booking(1).await.unwrap().unwrap().released);
    socket.shutdown().await;
    bot.finish().await;
}

/// A button click as Slack sends it over the socket.
fn click_envelope(
    envelope_id: &str,
    user: &str,
    action_id: &str,
    value: &str,
    response_url: &str,
) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "interactive",
        "accepts_response_payload": false,
        "payload": {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "maison"},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0MAISON",
            "container": {"type": "message", "message_ts": "1700000000.000002"},
            "trigger_id": "1.2.5",
            "response_url": response_url,
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value, "action_ts": "1"}],
        },
    })
}

/// A double click over the socket has one effect, as over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_over_socket_mode_has_one_effect() {
    let bot = BotTester::start(Backend::Sqlite).await;
    bot.command("U0ALICE", "book gpu01 1h").await;
    bot.slack.expect("chat.postMessage").await;
    let end = bot.db().booking(1).await.unwrap().unwrap().end;
    let (socket, to_bot, mut acks) = connect(&bot).await;
    for id in ["env-dbl-1", "env-dbl-2"] {
        let click = click_envelope(
            id,
            "U0ALICE",
            actions::EXTEND_1H,
            "1",
            &bot.slack.response_url(),
        );
        to_bot.send(click).unwrap();
        assert_eq!(next_ack(&mut acks).await["envelope_id"], id);
    }
    let answer = bot.slack.expect("response_url").await;
    assert!(
        reply_text(&answer.args).contains("Extended booking #1 by 1h"),
        "{answer:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        bot.slack
            .unread()
            .iter()
            .all(|c| c.method != "response_url")
    );
    assert_eq!(bot.db().booking(1).await.unwrap().unwrap().end, end + 3600);
    socket.shutdown().await;
    bot.finish().await;
}

/// A click in a channel post (the daily report's Remove) answers the clicker alone and marks
/// only that line, over the socket as over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_in_a_channel_post_marks_one_line_over_socket_mode() {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    agent.edit(|s| {
        s.images = vec![image(
            "old",
            &["old/experiment:1"],
            3,
            None,
            test_start(),
            &[],
        )];
    });
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let bot = BotTester::start_with_fleet(Backend::Sqlite, test_config(), fleet).await;
    bot.poller().poll_once().await;
    let (socket, to_bot, mut acks) = connect(&bot).await;

    let old = format!("gpu01/sha256:{}", hex_id("old"));
    let other = format!("gpu01/sha256:{}", hex_id("other"));
    let remove = |value: &str| {
        json!({"type": "actions", "elements": [{"type": "button", "action_id": actions::REMOVE_IMAGE,
            "text": {"type": "plain_text", "text": "Remove"}, "value": value}]})
    };
    let report = json!({
        "text": "GPU fleet report",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "`old/experiment:1` on gpu01"}},
            remove(&old),
            {"type": "section", "text": {"type": "mrkdwn", "text": "`other:1` on gpu01"}},
            remove(&other),
        ],
    });
    let payload = click_payload(
        "U0ADMIN",
        actions::REMOVE_IMAGE,
        &old,
        &bot.slack.response_url(),
        Some(("C0FLEET", &report)),
    );
    to_bot
        .send(json!({"envelope_id": "env-report-1", "type": "interactive",
            "accepts_response_payload": false, "payload": payload}))
        .unwrap();
    assert_eq!(next_ack(&mut acks).await["envelope_id"], "env-report-1");
    let told = bot.slack.expect("chat.postEphemeral").await;
    assert_eq!(
        (told.args["channel"].as_str(), told.args["user"].as_str()),
        (Some("C0FLEET"), Some("U0ADMIN"))
    );
    assert!(
        reply_text(&told.args).contains("Removed image `old/experiment:1`"),
        "{told:?}"
    );
    let edit = bot.slack.expect("response_url").await;
    assert_eq!(edit.args["replace_original"], true);
    let blocks = edit.args["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 4);
    assert_eq!(blocks[1]["type"], "context");
    assert!(
        reply_text(&edit.args).contains("`old/experiment:1` on `gpu01`: removed by <@U0ADMIN>"),
        "{edit:?}"
    );
    assert_eq!(
        buttons(&edit.args),
        [(actions::REMOVE_IMAGE.to_owned(), other)]
    );
    assert_eq!(agent.calls(), [format!("rmi sha256:{}", hex_id("old"))]);
    socket.shutdown().await;
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_approval_buttons_work_over_socket_mode() {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    agent.edit(|s| {
        s.containers = vec![container(
            "infra-db",
            None,
            ContainerState::Running,
            "Up 2 days",
            test_start(),
            &[],
        )];
    });
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let bot = BotTester::start_with_fleet(Backend::Sqlite, test_config(), fleet).await;
    let (socket, to_bot, mut acks) = connect(&bot).await;

    // Bob has no Unix account mapping: his claim becomes a request to the admin.
    let text = bot.command_text("U0BOB", "claim infra-db").await;
    assert!(text.contains("Asked the admins"), "{text}");
    let asked = settle(&bot).await;
    let dm = asked
        .iter()
        .find(|c| c.method == "chat.postMessage")
        .expect("the admin's DM");
    assert_eq!(dm.args["channel"], "DU0ADMIN");
    assert_eq!(
        buttons(&dm.args),
        [
            (actions::CLAIM_APPROVE.to_owned(), "1".to_owned()),
            (actions::CLAIM_DENY.to_owned(), "1".to_owned())
        ]
    );

    to_bot
        .send(click_envelope(
            "env-claim-1",
            "U0BOB",
            actions::CLAIM_APPROVE,
            "1",
            &bot.slack.response_url(),
        ))
        .unwrap();
    assert_eq!(next_ack(&mut acks).await["envelope_id"], "env-claim-1");
    let refused = bot.slack.expect("response_url").await;
    assert!(
        reply_text(&refused.args).contains("Only Maison admins"),
        "{refused:?}"
    );
    assert!(bot.db().claims(None).await.unwrap().is_empty());

    to_bot
        .send(click_envelope(
            "env-claim-2",
            "U0ADMIN",
            actions::CLAIM_APPROVE,
            "1",
            &bot.slack.response_url(),
        ))
        .unwrap();
    assert_eq!(next_ack(&mut acks).await["envelope_id"], "env-claim-2");
    let approved = bot.slack.expect("response_url").await;
    assert!(
        reply_text(&approved.args)
            .contains("Approved request #1: <@U0BOB> now owns the container `infra-db`"),
        "{approved:?}"
    );
    let claims = bot.db().claims(None).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(
        (claims[0].object_id.clone(), claims[0].owner.as_str()),
        (hex_id("infra-db"), "U0BOB")
    );
    let told = settle(&bot).await;
    let dm = told
        .iter()
        .find(|c| c.method == "chat.postMessage")
        .expect("the requester's DM");
    assert_eq!(dm.args["channel"], "DU0BOB");
    assert!(agent.calls().is_empty(), "{:?}", agent.calls());
    socket.shutdown().await;
    bot.finish().await;
}

/// `image publish` and the admins' Approve over the socket: the same request, DM and decision
/// as over HTTP (`catalogue.rs`), ending with the short name launching the image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_approval_buttons_work_over_socket_mode() {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    agent.edit(|s| {
        s.images = vec![image(
            "resnet",
            &["alice/resnet:v1"],
            3,
            Some("U0ALICE"),
            test_start(),
            &[],
        )];
        s.launch_limits = Some(maison_agent_api::ResourceLimits {
            pids: 4096,
            memory_bytes: 1 << 36,
            cpu_millis: 8000,
            shm_bytes: 1 << 34,
        });
    });
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let mut config = test_config();
    config.users = vec![maison_tests::alice_as_uid_1000()];
    config.launch.require_booking = maison_bot::config::BookingRequirement::Off;
    let bot = BotTester::start_with_fleet(Backend::Sqlite, config, fleet).await;
    let (socket, to_bot, mut acks) = connect(&bot).await;

    to_bot
        .send(command_envelope(
            "env-publish",
            "U0ALICE",
            "image publish alice/resnet:v1 as resnet",
            &bot.slack.response_url(),
        ))
        .unwrap();
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["envelope_id"], "env-publish");
    let asked = reply_text(&ack["payload"]);
    assert!(asked.contains("as `resnet:v1`"), "{asked}");
    let dm = settle(&bot)
        .await
        .into_iter()
        .find(|c| c.method == "chat.postMessage")
        .expect("the admin's DM");
    assert_eq!(dm.args["channel"], "DU0ADMIN");
    let [(approve, id), _] = buttons(&dm.args).try_into().expect("two buttons");
    assert_eq!(approve, actions::PUBLISH_APPROVE);

    to_bot
        .send(click_envelope(
            "env-publish-1",
            "U0ADMIN",
            actions::PUBLISH_APPROVE,
            &id,
            &bot.slack.response_url(),
        ))
        .unwrap();
    assert_eq!(next_ack(&mut acks).await["envelope_id"], "env-publish-1");
    let approved = bot.slack.expect("response_url").await;
    assert!(
        reply_text(&approved.args).contains("Approved `resnet:v1`"),
        "{approved:?}"
    );
    let told = settle(&bot).await;
    assert!(
        told.iter()
            .any(|c| c.method == "chat.postMessage" && c.args["channel"] == "DU0ALICE"),
        "{told:?}"
    );

    to_bot
        .send(command_envelope(
            "env-launch",
            "U0ALICE",
            "launch gpu01 resnet --name trainer",
            &bot.slack.response_url(),
        ))
        .unwrap();
    next_ack(&mut acks).await;
    let started = bot.slack.expect("response_url").await;
    assert!(
        reply_text(&started.args).contains("`trainer` is running on `gpu01`"),
        "{started:?}"
    );
    let launched = agent
        .state
        .lock()
        .unwrap()
        .launches
        .last()
        .cloned()
        .unwrap();
    assert_eq!(launched.image, format!("sha256:{}", hex_id("resnet")));
    socket.shutdown().await;
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_commands_work_over_socket_mode() {
    let agent = Arc::new(FakeAgent::new("gpu01", 2));
    let mut fleet = Fleet::default();
    fleet.insert("gpu01", agent.clone());
    let bot = BotTester::start_with_fleet(Backend::Sqlite, test_config(), fleet).await;
    let (socket, to_bot, mut acks) = connect(&bot).await;

    let command = |id: &str, text: &str| {
        json!({
            "envelope_id": id,
            "type": "slash_commands",
            "accepts_response_payload": true,
            "payload": {
                "team_id": TEAM, "team_domain": "maison", "channel_id": "C0GENERAL",
                "channel_name": "general", "user_id": "U0ADMIN", "user_name": "admin",
                "command": "/maison", "text": text,
                "response_url": bot.slack.response_url(), "trigger_id": "1.2.3",
            },
        })
    };
    to_bot
        .send(command(
            "env-data-1",
            "data add imagenet@v1 gpu01:/srv/datasets/imagenet",
        ))
        .unwrap();
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["envelope_id"], "env-data-1");
    let text = reply_text(&ack["payload"]);
    assert!(
        text.contains("Registering `imagenet@v1` from `gpu01:/srv/datasets/imagenet`"),
        "{text}"
    );
    assert_eq!(
        agent.calls(),
        ["register imagenet@v1 /srv/datasets/imagenet"]
    );

    to_bot.send(command("env-data-2", "data ls")).unwrap();
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["envelope_id"], "env-data-2");
    let text = reply_text(&ack["payload"]);
    assert!(text.contains("`v1` scanning on `gpu01`"), "{text}");

    // An agent slower than Slack waits: acknowledged in time, the answer follows.
    agent.edit(|s| s.register_delay = Some(Duration::from_secs(4)));
    to_bot
        .send(command(
            "env-data-3",
            "data add coco@v1 gpu01:/srv/datasets/coco",
        ))
        .unwrap();
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["envelope_id"], "env-data-3");
    assert!(
        reply_text(&ack["payload"]).contains("Working on it"),
        "{ack}"
    );
    let late = bot.slack.expect("response_url").await;
    assert!(
        reply_text(&late.args).contains("Registering `coco@v1` from `gpu01:/srv/datasets/coco`"),
        "{late:?}"
    );

    // The language choice works over the socket too, and the next answer follows it.
    to_bot.send(command("env-lang-1", "lang ja")).unwrap();
    let ack = next_ack(&mut acks).await;
    assert!(
        reply_text(&ack["payload"]).contains("これからは日本語でお答えします"),
        "{ack}"
    );
    to_bot.send(command("env-lang-2", "lang")).unwrap();
    let ack = next_ack(&mut acks).await;
    assert!(
        reply_text(&ack["payload"]).contains("`/maison lang` で選ばれたとおり"),
        "{ack}"
    );
    socket.shutdown().await;
    bot.finish().await;
}

/// A slash command as Slack sends it over the socket.
fn command_envelope(envelope_id: &str, user: &str, text: &str, response_url: &str) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": true,
        "payload": {
            "team_id": TEAM, "team_domain": "maison", "channel_id": "C0GENERAL",
            "channel_name": "general", "user_id": user, "user_name": user,
            "command": "/maison", "text": text,
            "response_url": response_url, "trigger_id": "1.2.3",
        },
    })
}

/// The wait-list over Socket Mode: `--wait` and `queue` answered on the socket, the offer DM
/// after a release, and its Accept button clicked over the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_list_works_over_socket_mode() {
    let bot = BotTester::start(Backend::Sqlite).await;
    let (socket, to_bot, mut acks) = connect(&bot).await;
    let url = bot.slack.response_url();
    to_bot
        .send(command_envelope(
            "env-w1",
            "U0ALICE",
            "book gpu02:all 1h",
            &url,
        ))
        .unwrap();
    next_ack(&mut acks).await;
    bot.slack.expect("chat.postMessage").await;
    to_bot
        .send(command_envelope(
            "env-w2",
            "U0CAROL",
            "book gpu02 1h --gpus 2 --wait",
            &url,
        ))
        .unwrap();
    let joined = next_ack(&mut acks).await;
    let text = reply_text(&joined["payload"]);
    assert!(
        text.contains("*#1* in line for 2 GPUs on `gpu02`"),
        "{text}"
    );
    to_bot
        .send(command_envelope("env-w3", "U0BOB", "queue", &url))
        .unwrap();
    let line = reply_text(&next_ack(&mut acks).await["payload"]);
    assert!(line.contains("request *1* <@U0CAROL>"), "{line}");

    to_bot
        .send(command_envelope("env-w4", "U0ALICE", "release 1", &url))
        .unwrap();
    next_ack(&mut acks).await;
    let offer = bot
        .slack
        .expect_matching("chat.postMessage", |c| c.args["channel"] == "DU0CAROL")
        .await;
    let offered = buttons(&offer.args);
    assert_eq!(offered[0].0, actions::WAIT_ACCEPT, "{offered:?}");
    to_bot
        .send(click_envelope(
            "env-w5",
            "U0CAROL",
            actions::WAIT_ACCEPT,
            &offered[0].1,
            &url,
        ))
        .unwrap();
    assert_eq!(next_ack(&mut acks).await["envelope_id"], "env-w5");
    let accepted = bot.slack.expect("response_url").await;
    assert!(
        reply_text(&accepted.args).contains("Accepted: `gpu02` GPUs 0,1 is yours"),
        "{accepted:?}"
    );
    let request = bot.db().wait_request(1).await.unwrap().unwrap();
    assert_eq!(request.state.as_str(), "booked");
    let announced = bot
        .slack
        .expect_matching("chat.postMessage", |c| c.args["channel"] == "C0ANNOUNCE")
        .await;
    assert!(reply_text(&announced.args).contains("<@U0CAROL> booked `gpu02`"));
    socket.shutdown().await;
    bot.finish().await;
}

/// App Home and the booking form over Socket Mode: `app_home_opened` arrives as an
/// `events_api` envelope and publishes the tab; a form with a bad field is answered with field
/// errors in the acknowledgement, and a good one books.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_and_the_booking_form_work_over_socket_mode() {
    let bot = BotTester::start(Backend::Sqlite).await;
    let (socket, to_bot, mut acks) = connect(&bot).await;
    to_bot
        .send(json!({
            "envelope_id": "env-home-1",
            "type": "events_api",
            "accepts_response_payload": false,
            "payload": {
                "type": "event_callback", "team_id": TEAM, "api_app_id": "A0MAISON",
                "event_id": "Ev0SOCKET1", "event_time": 1_700_000_000,
                "event": {"type": "app_home_opened", "user": "U0CAROL", "channel": "D0HOME", "tab": "home"},
            },
        }))
        .unwrap();
    assert_eq!(next_ack(&mut acks).await["envelope_id"], "env-home-1");
    let published = bot.slack.expect("views.publish").await;
    assert_eq!(published.args["user_id"], "U0CAROL");
    assert!(reply_text(&json!({"blocks": published.args["view"]["blocks"]})).contains("Fleet"));

    let submission = |envelope: &str, time: &str| {
        json!({
            "envelope_id": envelope,
            "type": "interactive",
            "accepts_response_payload": true,
            "payload": {
                "type": "view_submission",
                "team": {"id": TEAM, "domain": "maison"},
                "user": {"id": "U0CAROL", "team_id": TEAM},
                "api_app_id": "A0MAISON",
                "trigger_id": "1.2.9",
                "view": {
                    "id": "V0FORM", "team_id": TEAM, "hash": "h", "type": "modal",
                    "callback_id": "booking_form",
                    "title": {"type": "plain_text", "text": "Book GPUs"},
                    "blocks": [],
                    "state": {"values": {
                        "host": {"host": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": "gpu03"}, "value": "gpu03"}}},
                        "gpus": {"gpus": {"type": "number_input", "value": "4"}},
                        "date": {"date": {"type": "datepicker", "selected_date": "2026-11-30"}},
                        "time": {"time": {"type": "timepicker", "selected_time": time}},
                        "duration": {"duration": {"type": "plain_text_input", "value": "3h"}},
                        "note": {"note": {"type": "plain_text_input"}},
                    }},
                },
            },
        })
    };
    // Carol is in UTC: 07:00 is an hour ago.
    to_bot.send(submission("env-form-1", "07:00")).unwrap();
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["envelope_id"], "env-form-1");
    assert_eq!(ack["payload"]["response_action"], "errors", "{ack}");
    assert!(
        ack["payload"]["errors"]["time"]
            .as_str()
            .unwrap()
            .contains("already past"),
        "{ack}"
    );
    to_bot.send(submission("env-form-2", "10:00")).unwrap();
    let ack = next_ack(&mut acks).await;
    assert_eq!(ack["envelope_id"], "env-form-2");
    assert!(
        ack["payload"].is_null() || ack["payload"]["response_action"].is_null(),
        "{ack}"
    );
    let booked = bot
        .db()
        .bookings_overlapping(None, 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!((booked.len(), booked[0].gpus.len()), (1, 4));
    bot.slack
        .expect_matching("chat.postMessage", |c| c.args["channel"] == "C0ANNOUNCE")
        .await;
    let dm = bot
        .slack
        .expect_matching("chat.postMessage", |c| c.args["channel"] == "DU0CAROL")
        .await;
    assert!(reply_text(&dm.args).contains("Booked `gpu03` GPUs 0,1,2,3 for today 10:00–13:00"));
    // Her own change refreshed her Home tab.
    let refreshed = bot.slack.expect("views.publish").await;
    let tab = reply_text(&json!({"blocks": refreshed.args["view"]["blocks"]}));
    assert!(
        tab.contains("`gpu03` GPUs 0,1,2,3 · today 10:00–13:00"),
        "{tab}"
    );
    socket.shutdown().await;
    bot.finish().await;
}

/// The booking form's entry points over Socket Mode: `/maison book` alone (its command
/// carries a trigger), the Home tab's button and the global shortcut each open it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booking_form_opens_from_each_entry_point_over_socket_mode() {
    let bot = BotTester::start(Backend::Sqlite).await;
    let (socket, to_bot, mut acks) = connect(&bot).await;
    let url = bot.slack.response_url();
    to_bot
        .send(command_envelope("env-f1", "U0BOB", "book", &url))
        .unwrap();
    let ack = next_ack(&mut acks).await;
    assert!(
        reply_text(&ack["payload"]).contains("Opening the booking form"),
        "{ack}"
    );
    let opened = bot.slack.expect("views.open").await;
    assert_eq!(opened.args["trigger_id"], "1.2.3");
    assert_eq!(opened.args["view"]["callback_id"], "booking_form");

    to_bot
        .send(click_envelope(
            "env-f2",
            "U0BOB",
            actions::HOME_BOOK,
            "",
            &url,
        ))
        .unwrap();
    next_ack(&mut acks).await;
    assert_eq!(
        bot.slack.expect("views.open").await.args["trigger_id"],
        "1.2.5"
    );
    bot.slack.expect("response_url").await;

    to_bot
        .send(json!({
            "envelope_id": "env-f3",
            "type": "interactive",
            "accepts_response_payload": false,
            "payload": {
                "type": "shortcut", "callback_id": "book_gpus", "trigger_id": "1.2.8",
                "team": {"id": TEAM, "domain": "maison"}, "user": {"id": "U0BOB", "team_id": TEAM},
                "api_app_id": "A0MAISON", "token": "x", "action_ts": "1",
            },
        }))
        .unwrap();
    next_ack(&mut acks).await;
    assert_eq!(
        bot.slack.expect("views.open").await.args["trigger_id"],
        "1.2.8"
    );
    socket.shutdown().await;
    bot.finish().await;
}

/// Capacity planning over Socket Mode: projects managed and used in a booking, the monthly
/// report and the what-if answered on the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_and_planning_reports_work_over_socket_mode() {
    let mut config = test_config();
    config.slack.announce_channel = None;
    let bot = BotTester::start_with(Backend::Sqlite, config).await;
    let (socket, to_bot, mut acks) = connect(&bot).await;
    let url = bot.slack.response_url();
    let mut ask = async |id: &str, user: &str, text: &str| {
        to_bot.send(command_envelope(id, user, text, &url)).unwrap();
        let ack = next_ack(&mut acks).await;
        assert_eq!(ack["envelope_id"], id);
        reply_text(&ack["payload"])
    };
    let text = ask("env-p-1", "U0ADMIN", "project add vision").await;
    assert!(text.contains("Added the project `vision`"), "{text}");
    let text = ask("env-p-2", "U0ALICE", "project default vision").await;
    assert!(text.contains("now count for `vision`"), "{text}");
    let text = ask("env-p-3", "U0ALICE", "book gpu01 1h").await;
    assert!(text.contains("Booked `gpu01`"), "{text}");
    let text = ask("env-p-4", "U0ALICE", "report month").await;
    assert!(text.contains("GPU capacity — October 2026"), "{text}");
    let text = ask("env-p-5", "U0ALICE", "report what-if +1 host of 8").await;
    assert!(text.contains("8 GPUs"), "{text}");
    let text = ask("env-p-6", "U0ALICE", "book gpu02 1h --project nope").await;
    assert!(text.contains("There is no project `nope`"), "{text}");
    socket.shutdown().await;
    bot.finish().await;
}
