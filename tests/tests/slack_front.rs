//! The HTTP front as Slack sees it: signatures checked before anything is parsed, bodies capped,
//! malformed requests refused, URL verification, event de-duplication, health.

use maison_bot::slack::signature;
use maison_tests::{Backend, BotTester, SIGNING_SECRET, on_both_databases};

const FORM: &str = "application/x-www-form-urlencoded";

/// Refused requests must leave no trace: no user looked up or stored, no booking.
async fn assert_nothing_happened(bot: &BotTester) {
    assert!(
        bot.db()
            .find_user(maison_tests::TEAM, "U0ALICE")
            .await
            .unwrap()
            .is_none()
    );
    assert!(bot.db().audit_log().await.unwrap().is_empty());
    assert!(
        bot.slack.all_calls().is_empty(),
        "{:?}",
        bot.slack.all_calls()
    );
}

on_both_databases! {
    async fn bad_signatures_are_refused_before_parsing(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let body = bot.command_form("U0ALICE", "book gpu01 2h");
        let now = bot.now_ts();
        let good = signature::sign(SIGNING_SECRET, now, body.as_bytes());
        let cases: Vec<BadRequest> = vec![
            ("stale", headers(now - 301, signature::sign(SIGNING_SECRET, now - 301, body.as_bytes())), body.clone().into()),
            ("future", headers(now + 301, signature::sign(SIGNING_SECRET, now + 301, body.as_bytes())), body.clone().into()),
            ("tampered body", headers(now, good.clone()), body.replace("gpu01", "gpu02").into()),
            ("wrong secret", headers(now, signature::sign("not-the-secret", now, body.as_bytes())), body.clone().into()),
            ("no signature", vec![("x-slack-request-timestamp", now.to_string())], body.clone().into()),
            ("no timestamp", vec![("x-slack-signature", good.clone())], body.clone().into()),
            ("no headers", vec![], body.clone().into()),
            ("garbage signature", headers(now, "v0=nothex".into()), body.clone().into()),
        ];
        for path in ["/slack/commands", "/slack/interactions", "/slack/events"] {
            for (name, hdrs, body) in &cases {
                let mut all: Vec<(&str, &str)> = hdrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                all.push(("content-type", FORM));
                let (status, text) = bot.post_raw(path, &all, body.clone()).await;
                assert_eq!(status, 401, "{path} {name}: {text}");
                assert!(text.contains("invalid Slack signature"), "{path} {name}: {text}");
            }
        }
        assert_nothing_happened(&bot).await;
        bot.finish().await;
    }

    async fn a_replayed_request_is_refused(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let body = bot.command_form("U0CAROL", "help");
        let now = bot.now_ts();
        let hdrs = headers(now, signature::sign(SIGNING_SECRET, now, body.as_bytes()));
        let mut all: Vec<(&str, &str)> = hdrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.push(("content-type", FORM));
        let (first, _) = bot.post_raw("/slack/commands", &all, body.clone().into()).await;
        let (second, text) = bot.post_raw("/slack/commands", &all, body.into()).await;
        assert_eq!(first, 200);
        assert_eq!(second, 401);
        assert!(text.contains("replay"), "{text}");
        bot.finish().await;
    }

    async fn a_replay_with_the_signature_re_cased_is_refused(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let body = bot.command_form("U0ALICE", "book gpu01 1h");
        let now = bot.now_ts();
        let lower = signature::sign(SIGNING_SECRET, now, body.as_bytes());
        let upper = format!("v0={}", lower["v0=".len()..].to_uppercase());
        assert_ne!(lower, upper);
        for (sig, expected) in [(&lower, 200), (&upper, 401)] {
            let hdrs = headers(now, sig.clone());
            let mut all: Vec<(&str, &str)> = hdrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            all.push(("content-type", FORM));
            let (status, text) = bot.post_raw("/slack/commands", &all, body.clone().into()).await;
            assert_eq!(status, expected, "{sig}: {text}");
            if expected == 401 {
                assert!(text.contains("replay"), "{text}");
            }
        }
        bot.slack.expect("chat.postMessage").await;
        assert!(bot.db().booking(1).await.unwrap().is_some());
        assert!(bot.db().booking(2).await.unwrap().is_none(), "the replay booked nothing");
        let audit: Vec<String> = bot.db().audit_log().await.unwrap().into_iter().map(|a| a.action).collect();
        assert_eq!(audit, ["book"]);
        bot.finish().await;
    }

    async fn oversized_and_malformed_bodies_are_refused(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let huge = format!("team_id=T&user_id=U0ALICE&text={}", "x".repeat(70 * 1024));
        let (status, _) = bot.post_signed("/slack/commands", FORM, &huge).await;
        assert_eq!(status, 413);
        // Signed but truncated: the form lacks user_id.
        let (status, text) = bot.post_signed("/slack/commands", FORM, "team_id=T0MAISON&text=book%20gpu01").await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("user_id"), "{text}");
        let (status, text) = bot.post_signed("/slack/interactions", FORM, "payload=%7Bnot-json").await;
        assert_eq!(status, 400, "{text}");
        let (status, _) = bot.post_signed("/slack/events", "application/json", "{\"type\":\"event_callback\"}").await;
        assert_eq!(status, 400);
        assert_nothing_happened(&bot).await;
        bot.finish().await;
    }

    async fn url_verification_and_event_retries(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let (status, body) = bot
            .post_signed("/slack/events", "application/json", r#"{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","token":"x"}"#)
            .await;
        assert_eq!(status, 200);
        assert_eq!(body, r#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#);
        let event = r#"{"type":"event_callback","event_id":"Ev0001","event":{"type":"app_mention"}}"#;
        assert_eq!(bot.post_signed("/slack/events", "application/json", event).await.0, 200);
        // Slack retries with the same event id (and a new signature): accepted, not re-processed.
        bot.clock.advance(chrono::Duration::seconds(1));
        assert_eq!(bot.post_signed("/slack/events", "application/json", event).await.0, 200);
        let now = bot.now_ts();
        assert!(!bot.db().first_sighting_of_event("Ev0001", now).await.unwrap());
        assert!(bot.db().first_sighting_of_event("Ev0002", now).await.unwrap());
        bot.finish().await;
    }

    async fn healthz_reports_the_database(backend: Backend) {
        let bot = BotTester::start(backend).await;
        let body = reqwest::get(format!("http://{}/healthz", bot.addr)).await.unwrap();
        assert_eq!(body.status().as_u16(), 200);
        assert_eq!(body.text().await.unwrap(), "ok\n");
        bot.finish().await;
    }
}

/// A name for the case, the headers sent and the body.
type BadRequest = (&'static str, Vec<(&'static str, String)>, Vec<u8>);

fn headers(ts: i64, sig: String) -> Vec<(&'static str, String)> {
    vec![
        ("x-slack-request-timestamp", ts.to_string()),
        ("x-slack-signature", sig),
    ]
}

/// Guard for the TLS provider trap: building the Slack client and making an HTTPS request
/// must not panic over an ambiguous rustls crypto provider.
#[tokio::test]
async fn slack_client_builds_with_one_crypto_provider() {
    maison_bot::install_crypto_provider();
    let api =
        maison_bot::slack::api::SlackWebApi::new("https://127.0.0.1:9/api", "xoxb-x").unwrap();
    use maison_bot::ports::SlackApi;
    // Nothing listens on port 9: the call fails, but as a connection error, not a panic.
    let err = api.user_profile("U0ALICE").await.unwrap_err();
    assert!(err.to_string().contains("Slack call failed"), "{err}");
}

/// Sends `request` from `from` (any 127.x address) and returns what the front answered before
/// it closed the connection ("" when it closed without answering).
async fn raw_exchange(
    from: &str,
    addr: std::net::SocketAddr,
    request: &[u8],
    close: bool,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    if close {
        tcp.shutdown().await.unwrap();
    }
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_end(&mut answer),
    )
    .await
    .expect("the front closes the connection")
    .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Clients that open connections and never finish a request (slowloris) neither hold them for
/// long nor keep Slack out: every request head and body has a deadline, and one address holds
/// at most its share of the connections.
#[tokio::test]
async fn slow_and_idle_clients_do_not_keep_slack_out() {
    use maison_bot::config::Secret;
    use maison_bot::slack::http::HttpFront;
    use maison_bot::slack::serve::{FrontLimits, serve};
    use std::time::{Duration, Instant};
    use tokio::io::AsyncReadExt;

    let bot = BotTester::start(Backend::Sqlite).await;
    let router = HttpFront::new(bot.app.clone(), Secret::new(SIGNING_SECRET))
        .with_body_timeout(Duration::from_secs(1))
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = FrontLimits {
        head_timeout: Duration::from_secs(1),
        connections: 8,
        per_address: 4,
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let front = tokio::spawn(serve(
        listener,
        router,
        limits,
        stop.clone().cancelled_owned(),
    ));

    // One address takes its four connections and sends nothing.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // Its fifth is closed at once, without an answer.
    let started = Instant::now();
    let mut fifth = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(fifth.read(&mut byte).await.unwrap(), 0);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // Slack, from elsewhere, is answered meanwhile.
    let body = bot.command_form("U0ALICE", "help");
    let ts = bot.now_ts();
    let sig = signature::sign(SIGNING_SECRET, ts, body.as_bytes());
    let request = format!(
        "POST /slack/commands HTTP/1.1\r\nhost: maison\r\ncontent-type: {FORM}\r\n\
         x-slack-request-timestamp: {ts}\r\nx-slack-signature: {sig}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = raw_exchange("127.0.0.2", addr, request.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // The idle connections are closed once the head's deadline passed.
    for mut c in idle {
        let n = tokio::time::timeout(Duration::from_secs(4), c.read(&mut byte)).await;
        assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "{n:?}");
    }

    // A head sent whole, then a body that stalls: 408. A body cut short: 400. Neither reaches
    // the command handler.
    let head = format!(
        "POST /slack/commands HTTP/1.1\r\nhost: maison\r\ncontent-type: {FORM}\r\n\
         x-slack-request-timestamp: {ts}\r\nx-slack-signature: {sig}\r\n\
         content-length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    );
    let answer = raw_exchange("127.0.0.3", addr, head.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let answer = raw_exchange("127.0.0.4", addr, head.as_bytes(), true).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("the body ended before its length"),
        "{answer}"
    );
    // A head that never ends is cut off too.
    let answer = raw_exchange(
        "127.0.0.5",
        addr,
        b"POST /slack/commands HTTP/1.1\r\nhost: m",
        false,
    )
    .await;
    assert!(!answer.contains("200"), "{answer}");

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), front)
        .await
        .expect("the front stops")
        .unwrap();
    bot.finish().await;
}
