//! A stateful fake of the Slack Web API: it answers the methods the bot calls the way Slack does,
//! records every call, and can be told to fail the next calls (429 with `Retry-After`, or 5xx)
//! or every call for a while (an outage). `response_url`s point at it too (`/response/<id>`),
//! so replies to clicks are recorded, and so do the upload URLs of `files.getUploadURLExternal`
//! (`/upload/<file id>`), which keep the bytes posted to them. `chat.update` edits only a
//! message that was posted, in its channel. With [`FakeSlack::set_clock`], each call is stamped
//! with the test's clock.
//!
//! Posted messages are kept per channel with their metadata, and `conversations.history`
//! answers from them like Slack: newest first, metadata only with `include_all_metadata`, and
//! (when the fake has a clock) only messages posted at or after `oldest`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use maison_bot::core::clock::Clock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// One call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    /// `chat.postMessage`, `users.info`, … or `response_url` for replies to a response URL.
    pub method: String,
    /// Query parameters merged with the JSON or form body.
    pub args: Value,
    /// The test clock's time when the call arrived (see [`FakeSlack::set_clock`]).
    pub at: Option<DateTime<Utc>>,
    /// How the fake failed this call, if it did.
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    RateLimited {
        retry_after_secs: u64,
    },
    ServerError(u16),
    /// HTTP 200 with `{"ok": false, "error": <code>}`, e.g. `channel_not_found`.
    Refused(&'static str),
    /// The call is carried out (a message is posted), but its answer is lost: HTTP 502.
    AnswerLost,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// Which calls a test has read (same indexes as `calls`).
    read: Vec<bool>,
    users: HashMap<String, (String, String)>,
    /// Slack locales set by tests (`ja-JP`); anyone else reads `en-GB`.
    locales: HashMap<String, String>,
    failures: VecDeque<Failure>,
    next_ts: u64,
    /// What `apps.connections.open` hands out (Socket Mode).
    socket_url: Option<String>,
    /// While set, every call fails like this.
    outage: Option<Failure>,
    /// Channels whose posts are refused with `channel_not_found`.
    missing_channels: Vec<String>,
    clock: Option<Arc<dyn Clock>>,
    next_file: u64,
    /// File id → (declared length, bytes posted to its upload URL).
    uploads: HashMap<String, (usize, Option<Vec<u8>>)>,
    /// File id → the name it was announced with.
    upload_names: HashMap<String, String>,
    /// Files shared by `files.completeUploadExternal`: (channel, id, name, when), for
    /// `files.list`.
    shared_files: Vec<(String, String, String, Option<i64>)>,
    /// `(channel, ts)` of every message posted, which `chat.update` may edit.
    posted: std::collections::HashSet<(String, String)>,
    /// Channel → its messages, oldest first, for `conversations.history`.
    history: HashMap<String, Vec<HistoryEntry>>,
}

struct HistoryEntry {
    ts: String,
    text: Value,
    metadata: Option<Value>,
    /// The fake's clock when it was posted (Unix seconds), if it has one.
    posted_at: Option<i64>,
}

/// Cloneable handle; the server runs until the process ends.
#[derive(Clone)]
pub struct FakeSlack {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
    addr: SocketAddr,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let changed = Arc::new(Notify::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Slack");
        let addr = listener.local_addr().unwrap();
        let fake = Self {
            inner,
            changed,
            addr,
        };
        let router = Router::new()
            .route("/api/{method}", any(api))
            .route("/response/{id}", post(response_url))
            .route("/upload/{file_id}", post(upload))
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("fake Slack server");
        });
        fake
    }

    /// The Web API base URL to configure in the bot.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// A fresh `response_url` that records what is posted to it.
    pub fn response_url(&self) -> String {
        format!(
            "http://{}/response/{}",
            self.addr,
            uuid::Uuid::new_v4().simple()
        )
    }

    /// What `users.info` says about a user.
    pub fn add_user(&self, id: &str, name: &str, tz: &str) {
        self.inner
            .lock()
            .unwrap()
            .users
            .insert(id.to_owned(), (name.to_owned(), tz.to_owned()));
    }

    /// The locale `users.info` gives a user (with `include_locale`), instead of `en-GB`.
    pub fn set_locale(&self, id: &str, locale: &str) {
        self.inner
            .lock()
            .unwrap()
            .locales
            .insert(id.to_owned(), locale.to_owned());
    }

    /// The websocket URL `apps.connections.open` returns, for Socket Mode tests.
    pub fn set_socket_url(&self, url: &str) {
        self.inner.lock().unwrap().socket_url = Some(url.to_owned());
    }

    /// The next calls fail like this, in order.
    pub fn fail_next(&self, failure: Failure) {
        self.inner.lock().unwrap().failures.push_back(failure);
    }

    /// Every call fails like this until `None` is set (an outage).
    pub fn set_outage(&self, failure: Option<Failure>) {
        self.inner.lock().unwrap().outage = failure;
    }

    /// Posts to `channel` are refused with `channel_not_found` from now on.
    pub fn remove_channel(&self, channel: &str) {
        self.inner
            .lock()
            .unwrap()
            .missing_channels
            .push(channel.to_owned());
    }

    /// Stamps each call with this clock's time ([`Call::at`]).
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        self.inner.lock().unwrap().clock = Some(clock);
    }

    /// The bytes posted to the upload URL of `file_id`, if any were.
    pub fn uploaded(&self, file_id: &str) -> Option<Vec<u8>> {
        self.inner
            .lock()
            .unwrap()
            .uploads
            .get(file_id)
            .and_then(|(_, bytes)| bytes.clone())
    }

    /// `(channel, ts)` of every message posted so far, in no particular order.
    pub fn posted_messages(&self) -> Vec<(String, String)> {
        self.inner.lock().unwrap().posted.iter().cloned().collect()
    }

    /// The messages in `channel` that carry Maison's outbox metadata: their outbox ids
    /// (`event_payload.id`), oldest first. A message delivered twice shows up twice.
    pub fn outbox_ids_in(&self, channel: &str) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        inner
            .history
            .get(channel)
            .into_iter()
            .flatten()
            .filter_map(|m| m.metadata.as_ref())
            .filter(|m| m["event_type"] == "maison_outbox")
            .filter_map(|m| m["event_payload"]["id"].as_str().map(str::to_owned))
            .collect()
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Calls not yet read by a test, excluding look-ups (`users.info`, `apps.connections.open`).
    pub fn unread(&self) -> Vec<Call> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .zip(&inner.read)
            .filter(|(c, read)| !**read && !is_lookup(c))
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Marks every call so far as read and returns the ones not read before.
    pub fn take_unread(&self) -> Vec<Call> {
        let fresh = self.unread();
        let mut inner = self.inner.lock().unwrap();
        inner.read.iter_mut().for_each(|r| *r = true);
        fresh
    }

    /// Waits for an unread call of `method`, marks it read and returns it. Calls made
    /// concurrently (a reply and an announcement) may arrive in either order; each must still be
    /// read by the end of the test. The wait is generous (15 s): the outbox paces one message
    /// per second per channel, and CI machines are busy.
    pub async fn expect(&self, method: &str) -> Call {
        self.expect_matching(method, |_| true).await
    }

    /// [`FakeSlack::expect`] for the first unread call of `method` that `wanted` accepts, e.g.
    /// a message to one channel while messages to others go out concurrently.
    pub async fn expect_matching(&self, method: &str, wanted: impl Fn(&Call) -> bool) -> Call {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let notified = self.changed.notified();
            {
                let mut inner = self.inner.lock().unwrap();
                let found = (0..inner.calls.len()).find(|&i| {
                    !inner.read[i] && inner.calls[i].method == method && wanted(&inner.calls[i])
                });
                if let Some(i) = found {
                    inner.read[i] = true;
                    return inner.calls[i].clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "no {method} call reached the fake Slack within 15 s; calls: {:?}",
                    self.all_calls()
                );
            }
        }
    }

    fn record(&self, method: &str, args: Value) -> Option<Failure> {
        let mut inner = self.inner.lock().unwrap();
        let failure = inner.outage.or_else(|| inner.failures.pop_front());
        let at = inner.clock.as_ref().map(|clock| clock.now());
        inner.calls.push(Call {
            method: method.to_owned(),
            args,
            at,
            failure,
        });
        inner.read.push(false);
        drop(inner);
        self.changed.notify_waiters();
        failure
    }
}

/// Calls that only read from Slack or prepare a post; tests need not account for them. (A
/// DM's `chat.postMessage` and a file's `files.completeUploadExternal` are what people see.)
fn is_lookup(call: &Call) -> bool {
    matches!(
        call.method.as_str(),
        "users.info"
            | "apps.connections.open"
            | "conversations.open"
            | "files.getUploadURLExternal"
            | "upload"
            | "conversations.history"
            | "files.list"
    )
}

fn merge_args(query: HashMap<String, String>, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut args = serde_json::Map::new();
    for (k, v) in query {
        args.insert(k, Value::String(v));
    }
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            args.extend(map);
        }
    } else if let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        for (k, v) in form {
            args.insert(k, Value::String(v));
        }
    }
    Value::Object(args)
}

fn failure_response(failure: Failure) -> Response {
    match failure {
        Failure::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
            axum::Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response(),
        Failure::ServerError(code) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "upstream trouble",
        )
            .into_response(),
        Failure::Refused(code) => axum::Json(json!({"ok": false, "error": code})).into_response(),
        Failure::AnswerLost => (StatusCode::BAD_GATEWAY, "answer lost").into_response(),
    }
}

async fn api(
    State(fake): State<FakeSlack>,
    Path(method): Path<String>,
    _http_method: Method,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = merge_args(query, &headers, &body);
    let failure = fake.record(&method, args.clone());
    if let Some(failure) = failure.filter(|f| *f != Failure::AnswerLost) {
        return failure_response(failure);
    }
    let reply = answer(&fake, &method, &args);
    match failure {
        Some(lost) => failure_response(lost),
        None => axum::Json(reply).into_response(),
    }
}

/// What Slack answers to `method` with `args` (the call is carried out).
fn answer(fake: &FakeSlack, method: &str, args: &Value) -> Value {
    match method {
        "users.info" => {
            let id = args["user"].as_str().unwrap_or_default().to_owned();
            let (known, locale) = {
                let inner = fake.inner.lock().unwrap();
                let locale = inner.locales.get(&id).cloned();
                (inner.users.get(&id).cloned(), locale)
            };
            match known {
                Some((name, tz)) => json!({
                    "ok": true,
                    "user": {
                        "id": id, "name": name.to_lowercase(), "real_name": name, "tz": tz,
                        "locale": locale.as_deref().unwrap_or("en-GB"),
                        "profile": {"display_name": name, "real_name": name},
                    }
                }),
                None => json!({"ok": false, "error": "user_not_found"}),
            }
        }
        "chat.postMessage" | "files.completeUploadExternal"
            if fake.inner.lock().unwrap().missing_channels.iter().any(|c| {
                args["channel"].as_str() == Some(c) || args["channel_id"].as_str() == Some(c)
            }) =>
        {
            json!({"ok": false, "error": "channel_not_found"})
        }
        "chat.postMessage" => {
            let ts = {
                let mut inner = fake.inner.lock().unwrap();
                inner.next_ts += 1;
                let ts = format!("1700000000.{:06}", inner.next_ts);
                let channel = args["channel"].as_str().unwrap_or_default().to_owned();
                inner.posted.insert((channel.clone(), ts.clone()));
                // Slack takes metadata as a JSON object, or as a string holding one.
                let metadata = match &args["metadata"] {
                    Value::String(text) => serde_json::from_str(text).ok(),
                    Value::Null => None,
                    other => Some(other.clone()),
                };
                let posted_at = inner.clock.as_ref().map(|c| c.now().timestamp());
                inner
                    .history
                    .entry(channel)
                    .or_default()
                    .push(HistoryEntry {
                        ts: ts.clone(),
                        text: args["text"].clone(),
                        metadata,
                        posted_at,
                    });
                ts
            };
            json!({
                "ok": true,
                "channel": args["channel"],
                "ts": ts,
                "message": {"ts": ts, "text": args["text"]},
            })
        }
        "chat.postEphemeral" => json!({"ok": true, "message_ts": "1700000000.900000"}),
        "conversations.history" => {
            let inner = fake.inner.lock().unwrap();
            let channel = args["channel"].as_str().unwrap_or_default();
            let oldest = args["oldest"]
                .as_str()
                .and_then(|o| o.split('.').next())
                .and_then(|secs| secs.parse::<i64>().ok());
            let with_metadata = args["include_all_metadata"].as_str() == Some("true")
                || args["include_all_metadata"] == true;
            let messages: Vec<Value> = inner
                .history
                .get(channel)
                .into_iter()
                .flatten()
                .rev()
                .filter(|m| match (oldest, m.posted_at) {
                    (Some(oldest), Some(at)) => at >= oldest,
                    _ => true,
                })
                .map(|m| {
                    let mut message = json!({"type": "message", "ts": m.ts, "text": m.text});
                    if let (true, Some(metadata)) = (with_metadata, &m.metadata) {
                        message["metadata"] = metadata.clone();
                    }
                    message
                })
                .collect();
            json!({
                "ok": true,
                "messages": messages,
                "has_more": false,
                "response_metadata": {"next_cursor": ""},
            })
        }
        // The files shared in a channel from `ts_from` on, newest first, as Slack lists them.
        "files.list" => {
            let inner = fake.inner.lock().unwrap();
            let channel = args["channel"].as_str().unwrap_or_default();
            let from = args["ts_from"].as_str().and_then(|t| t.parse::<i64>().ok());
            let files: Vec<Value> = inner
                .shared_files
                .iter()
                .rev()
                .filter(|(c, _, _, at)| {
                    c == channel
                        && match (from, at) {
                            (Some(from), Some(at)) => *at >= from,
                            _ => true,
                        }
                })
                .map(|(_, id, name, _)| json!({"id": id, "name": name}))
                .collect();
            json!({"ok": true, "files": files})
        }
        // Like Slack: only a message that was posted can be edited, in its own channel.
        "chat.update" => {
            let channel = args["channel"].as_str().unwrap_or_default().to_owned();
            let ts = args["ts"].as_str().unwrap_or_default().to_owned();
            if fake.inner.lock().unwrap().posted.contains(&(channel, ts)) {
                json!({
                    "ok": true,
                    "channel": args["channel"],
                    "ts": args["ts"],
                    "text": args["text"],
                    "message": {"text": args["text"]},
                })
            } else {
                json!({"ok": false, "error": "message_not_found"})
            }
        }
        "apps.connections.open" => match fake.inner.lock().unwrap().socket_url.clone() {
            Some(url) => json!({"ok": true, "url": url}),
            None => json!({"ok": false, "error": "not_allowed_token_type"}),
        },
        "conversations.open" => {
            // slack-morphism sends `users` as a JSON array; Slack also takes a comma list.
            let user = match &args["users"] {
                Value::Array(users) => users.first().and_then(Value::as_str).unwrap_or_default(),
                other => other.as_str().unwrap_or_default(),
            };
            json!({"ok": true, "channel": {"id": format!("D{user}")}})
        }
        "files.getUploadURLExternal" => {
            let length = args["length"]
                .as_str()
                .and_then(|l| l.parse().ok())
                .or_else(|| args["length"].as_u64().map(|l| l as usize));
            match (args["filename"].as_str(), length) {
                (Some(name), Some(length)) => {
                    let file_id = {
                        let mut inner = fake.inner.lock().unwrap();
                        inner.next_file += 1;
                        let id = format!("F{:07}", inner.next_file);
                        inner.uploads.insert(id.clone(), (length, None));
                        inner.upload_names.insert(id.clone(), name.to_owned());
                        id
                    };
                    json!({
                        "ok": true,
                        "upload_url": format!("http://{}/upload/{file_id}", fake.addr),
                        "file_id": file_id,
                    })
                }
                _ => json!({"ok": false, "error": "invalid_arguments"}),
            }
        }
        "files.completeUploadExternal" => {
            let files = args["files"].as_array().cloned().unwrap_or_default();
            let mut inner = fake.inner.lock().unwrap();
            // Like Slack: every file must have been uploaded, with the length announced.
            let complete = !files.is_empty()
                && files.iter().all(|f| {
                    f["id"]
                        .as_str()
                        .and_then(|id| inner.uploads.get(id))
                        .is_some_and(|(length, bytes)| {
                            bytes.as_ref().is_some_and(|b| b.len() == *length)
                        })
                });
            if complete {
                let channel = args["channel_id"].as_str().unwrap_or_default().to_owned();
                let at = inner.clock.as_ref().map(|c| c.now().timestamp());
                for id in files.iter().filter_map(|f| f["id"].as_str()) {
                    let name = inner.upload_names.get(id).cloned().unwrap_or_default();
                    inner
                        .shared_files
                        .push((channel.clone(), id.to_owned(), name, at));
                }
                json!({"ok": true, "files": files})
            } else {
                json!({"ok": false, "error": "file_upload_not_complete"})
            }
        }
        // A view must parse as Slack's own model would; the test reads what was sent.
        "views.publish" | "views.open" => {
            match serde_json::from_value::<slack_morphism::prelude::SlackView>(args["view"].clone())
            {
                Ok(_) => {
                    // Slack answers with the view as stored, with its id.
                    let mut view = args["view"].clone();
                    view["id"] = json!("V0VIEW");
                    view["team_id"] = json!(crate::TEAM);
                    view["hash"] = json!("1700000000.abcdef");
                    view["state"] = json!({"values": {}});
                    json!({"ok": true, "view": view})
                }
                Err(_) => json!({"ok": false, "error": "invalid_blocks"}),
            }
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    }
}

async fn response_url(
    State(fake): State<FakeSlack>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut args = merge_args(HashMap::new(), &headers, &body);
    args["response_url_id"] = Value::String(id);
    if let Some(failure) = fake.record("response_url", args) {
        return failure_response(failure);
    }
    (StatusCode::OK, "ok").into_response()
}

/// The upload URL handed out by `files.getUploadURLExternal`: keeps the bytes.
async fn upload(
    State(fake): State<FakeSlack>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let args = json!({"file_id": file_id, "length": body.len(), "content_type": content_type});
    if let Some(failure) = fake.record("upload", args) {
        return failure_response(failure);
    }
    let mut inner = fake.inner.lock().unwrap();
    match inner.uploads.get_mut(&file_id) {
        Some((_, bytes)) => {
            *bytes = Some(body.to_vec());
            (StatusCode::OK, format!("OK - {}", body.len())).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such upload").into_response(),
    }
}
