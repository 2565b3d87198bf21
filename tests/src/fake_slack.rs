//! A stateful fake of the Slack Web API: it answers the methods the bot calls the way Slack does,
//! records every call, and can be told to fail the next calls (429 with `Retry-After`, or 5xx).
//! `response_url`s point at it too (`/response/<id>`), so replies to clicks are recorded.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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
}

#[derive(Debug, Clone, Copy)]
pub enum Failure {
    RateLimited { retry_after_secs: u64 },
    ServerError(u16),
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// Index of the first call not yet read by a test.
    read: usize,
    users: HashMap<String, (String, String)>,
    failures: VecDeque<Failure>,
    next_ts: u64,
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

    /// The next calls fail like this, in order.
    pub fn fail_next(&self, failure: Failure) {
        self.inner.lock().unwrap().failures.push_back(failure);
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Calls not yet taken by [`FakeSlack::take_unread`], excluding `users.info` lookups.
    pub fn unread(&self) -> Vec<Call> {
        let inner = self.inner.lock().unwrap();
        inner.calls[inner.read..]
            .iter()
            .filter(|c| c.method != "users.info")
            .cloned()
            .collect()
    }

    /// Marks every call so far as read and returns the ones not read before.
    pub fn take_unread(&self) -> Vec<Call> {
        let mut inner = self.inner.lock().unwrap();
        let fresh: Vec<Call> = inner.calls[inner.read..]
            .iter()
            .filter(|c| c.method != "users.info")
            .cloned()
            .collect();
        inner.read = inner.calls.len();
        fresh
    }

    /// Waits (up to 5 s) for a call of `method`, marks it read and returns it.
    pub async fn expect(&self, method: &str) -> Call {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let notified = self.changed.notified();
            {
                let mut inner = self.inner.lock().unwrap();
                let start = inner.read;
                if let Some(offset) = inner.calls[start..].iter().position(|c| c.method == method) {
                    let call = inner.calls[start + offset].clone();
                    // Everything before it that is not a user lookup must have been expected.
                    let skipped: Vec<String> = inner.calls[start..start + offset]
                        .iter()
                        .filter(|c| c.method != "users.info")
                        .map(|c| c.method.clone())
                        .collect();
                    assert!(
                        skipped.is_empty(),
                        "unexpected Slack calls before {method}: {skipped:?}"
                    );
                    inner.read = start + offset + 1;
                    return call;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "no {method} call reached the fake Slack within 5 s; calls: {:?}",
                    self.all_calls()
                );
            }
        }
    }

    fn record(&self, method: &str, args: Value) -> Option<Failure> {
        let mut inner = self.inner.lock().unwrap();
        inner.calls.push(Call {
            method: method.to_owned(),
            args,
        });
        let failure = inner.failures.pop_front();
        drop(inner);
        self.changed.notify_waiters();
        failure
    }
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
    if let Some(failure) = fake.record(&method, args.clone()) {
        return failure_response(failure);
    }
    let reply = match method.as_str() {
        "users.info" => {
            let id = args["user"].as_str().unwrap_or_default().to_owned();
            let known = fake.inner.lock().unwrap().users.get(&id).cloned();
            match known {
                Some((name, tz)) => json!({
                    "ok": true,
                    "user": {
                        "id": id, "name": name.to_lowercase(), "real_name": name, "tz": tz,
                        "locale": "en-GB",
                        "profile": {"display_name": name, "real_name": name},
                    }
                }),
                None => json!({"ok": false, "error": "user_not_found"}),
            }
        }
        "chat.postMessage" => {
            let ts = {
                let mut inner = fake.inner.lock().unwrap();
                inner.next_ts += 1;
                format!("1700000000.{:06}", inner.next_ts)
            };
            json!({
                "ok": true,
                "channel": args["channel"],
                "ts": ts,
                "message": {"ts": ts, "text": args["text"]},
            })
        }
        "conversations.open" => {
            let user = args["users"].as_str().unwrap_or_default().to_owned();
            json!({"ok": true, "channel": {"id": format!("D{user}")}})
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    axum::Json(reply).into_response()
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
