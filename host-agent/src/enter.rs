//! `maison enter`: an interactive shell in one's own container, without the docker group.
//!
//! Membership of the docker group is root on the host, which would make the launch policy moot.
//! Instead the agent (already root) listens on a local Unix socket that any user may connect to,
//! asks the kernel who is calling (`SO_PEERCRED`: the caller cannot lie about it), and only runs
//! an exec for the container's owner — the uid the container runs as — or for root. The exec
//! runs as the container's own user, never as root.
//!
//! Wire format: the client sends one JSON line ([`EnterRequest`]), the agent answers one JSON
//! line ([`EnterReply`]); then both sides exchange frames `[kind: u8][length: u32 BE][payload]`
//! (see [`Frame`]) until the agent sends the exit code.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::{InspectContainerOptions, ResizeExecOptionsBuilder};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::docker::Engine;

/// The first line a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterRequest {
    /// Container name or id (a unique id prefix works too).
    pub container: String,
    /// The command to run; empty: the container's `bash`, else `sh`.
    #[serde(default)]
    pub command: Vec<String>,
    /// Allocate a terminal (the client's stdin and stdout are terminals).
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub cols: u16,
    #[serde(default)]
    pub rows: u16,
}

/// The agent's answer line: the session starts, or why it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterReply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// One frame of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Client → agent: bytes for the process's stdin.
    Stdin(Vec<u8>),
    /// Client → agent: stdin is at its end.
    StdinEof,
    /// Client → agent: the terminal's new size.
    Resize { cols: u16, rows: u16 },
    /// Agent → client: the process's output (all of it, when there is a terminal).
    Stdout(Vec<u8>),
    /// Agent → client: the process's standard error (no terminal only).
    Stderr(Vec<u8>),
    /// Agent → client: the process ended with this code; the last frame.
    Exit(i32),
}

/// Frames larger than this are refused: nobody types a megabyte at once.
const MAX_FRAME: usize = 1 << 20;

impl Frame {
    fn kind(&self) -> u8 {
        match self {
            Frame::Stdin(_) => 0,
            Frame::StdinEof => 1,
            Frame::Resize { .. } => 2,
            Frame::Stdout(_) => 3,
            Frame::Stderr(_) => 4,
            Frame::Exit(_) => 5,
        }
    }

    pub async fn write_to<W: AsyncWrite + Unpin>(&self, w: &mut W) -> std::io::Result<()> {
        let payload: Vec<u8> = match self {
            Frame::Stdin(b) | Frame::Stdout(b) | Frame::Stderr(b) => b.clone(),
            Frame::StdinEof => Vec::new(),
            Frame::Resize { cols, rows } => [cols.to_be_bytes(), rows.to_be_bytes()].concat(),
            Frame::Exit(code) => code.to_be_bytes().to_vec(),
        };
        let mut buf = Vec::with_capacity(5 + payload.len());
        buf.push(self.kind());
        buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        buf.extend_from_slice(&payload);
        w.write_all(&buf).await?;
        w.flush().await
    }

    /// `Ok(None)` at a clean end of stream.
    pub async fn read_from<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        match r.read_exact(&mut head).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_FRAME {
            return Err(invalid(format!("frame of {len} bytes is too large")));
        }
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload).await?;
        let frame = match (head[0], payload.len()) {
            (0, _) => Frame::Stdin(payload),
            (1, 0) => Frame::StdinEof,
            (2, 4) => Frame::Resize {
                cols: u16::from_be_bytes([payload[0], payload[1]]),
                rows: u16::from_be_bytes([payload[2], payload[3]]),
            },
            (3, _) => Frame::Stdout(payload),
            (4, _) => Frame::Stderr(payload),
            (5, 4) => Frame::Exit(i32::from_be_bytes([
                payload[0], payload[1], payload[2], payload[3],
            ])),
            (kind, len) => return Err(invalid(format!("bad frame: kind {kind}, {len} bytes"))),
        };
        Ok(Some(frame))
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

/// Binds the socket, replacing a stale one from an earlier run. Mode 0666: anyone may ask; the
/// kernel tells the agent who asked.
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {} for the enter socket", dir.display()))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing stale {}", path.display())),
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .with_context(|| format!("chmod 0666 {}", path.display()))?;
    Ok(listener)
}

/// Serves `maison enter` sessions until `shutdown` fires.
pub async fn serve(
    listener: UnixListener,
    engine: Arc<Engine>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "enter socket: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let engine = engine.clone();
                sessions.spawn(async move {
                    if let Err(e) = session(stream, engine).await {
                        tracing::debug!(error = %e, "enter session ended with an error");
                    }
                });
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    sessions.abort_all();
}

/// Who may enter a container, decided from the caller's kernel-reported uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Run the exec as this `uid:gid` (the container's own user).
    Allowed {
        user: String,
    },
    Refused(String),
}

/// The container's owner is the uid it runs as; root may enter any Maison container. Containers
/// made outside Maison (no owner label, or running as root) are for root alone.
pub fn admit(caller_uid: u32, container_user: Option<&str>, maison_owned: bool) -> Admission {
    let user = container_user.unwrap_or("").trim();
    let uid = user.split(':').next().and_then(|u| u.parse::<u32>().ok());
    match uid {
        Some(owner) if maison_owned && owner != 0 && (caller_uid == owner || caller_uid == 0) => {
            Admission::Allowed {
                user: user.to_string(),
            }
        }
        _ if !maison_owned || uid.is_none_or(|u| u == 0) => Admission::Refused(
            "this container was not launched through Maison as a user's own; ask an admin".into(),
        ),
        _ => Admission::Refused(format!(
            "this container is not yours (your uid is {caller_uid}); only its owner can enter it"
        )),
    }
}

async fn reply(stream: &mut UnixStream, reply: &EnterReply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(|e| invalid(e.to_string()))?;
    line.push(b'\n');
    stream.write_all(&line).await
}

async fn refuse(stream: &mut UnixStream, message: String) -> std::io::Result<()> {
    reply(
        stream,
        &EnterReply {
            ok: false,
            error: Some(message),
            container: None,
        },
    )
    .await
}

async fn session(mut stream: UnixStream, engine: Arc<Engine>) -> std::io::Result<()> {
    let caller = stream.peer_cred()?.uid();
    let request = {
        let mut reader = BufReader::new(&mut stream).take(64 * 1024);
        let mut line = String::new();
        match tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Ok(()),
        }
        serde_json::from_str::<EnterRequest>(&line)
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => return refuse(&mut stream, format!("unreadable request: {e}")).await,
    };
    let Some(found) = engine.inventory().find_container(&request.container) else {
        return refuse(
            &mut stream,
            format!("no container called {:?} on this host", request.container),
        )
        .await;
    };
    let docker = match engine.client() {
        Ok(d) => d,
        Err(e) => return refuse(&mut stream, e.to_string()).await,
    };
    let details = match docker
        .inspect_container(&found.id, None::<InspectContainerOptions>)
        .await
    {
        Ok(d) => d,
        Err(e) => return refuse(&mut stream, format!("Docker: {e}")).await,
    };
    let container_user = details.config.as_ref().and_then(|c| c.user.clone());
    let user = match admit(caller, container_user.as_deref(), found.owned) {
        Admission::Allowed { user } => user,
        Admission::Refused(why) => {
            tracing::warn!(caller, container = %found.name, "enter refused");
            return refuse(&mut stream, why).await;
        }
    };
    let running = details
        .state
        .as_ref()
        .and_then(|s| s.running)
        .unwrap_or(false);
    if !running {
        return refuse(
            &mut stream,
            format!(
                "{} is not running; start a new one with /maison launch",
                found.name
            ),
        )
        .await;
    }
    let command = if request.command.is_empty() {
        vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi".to_string(),
        ]
    } else {
        request.command.clone()
    };
    let exec = docker
        .create_exec(
            &found.id,
            ExecConfig {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(request.tty),
                console_size: (request.tty && request.rows > 0 && request.cols > 0)
                    .then(|| vec![usize::from(request.rows), usize::from(request.cols)]),
                cmd: Some(command),
                user: Some(user.clone()),
                env: request.tty.then(|| vec!["TERM=xterm-256color".to_string()]),
                privileged: Some(false),
                ..Default::default()
            },
        )
        .await;
    let exec_id = match exec {
        Ok(e) => e.id,
        Err(e) => return refuse(&mut stream, format!("Docker: {e}")).await,
    };
    let started = docker
        .start_exec(
            &exec_id,
            Some(StartExecOptions {
                detach: false,
                tty: request.tty,
                output_capacity: None,
            }),
        )
        .await;
    let (mut output, mut input) = match started {
        Ok(StartExecResults::Attached { output, input }) => (output, input),
        Ok(StartExecResults::Detached) => {
            return refuse(&mut stream, "Docker detached the session".into()).await;
        }
        Err(e) => return refuse(&mut stream, format!("Docker: {e}")).await,
    };
    // Docker applies the create-time console size on some API versions only; say it again.
    if request.tty && request.rows > 0 && request.cols > 0 {
        resize(&docker, &exec_id, request.cols, request.rows).await;
    }
    tracing::info!(caller, container = %found.name, %user, tty = request.tty, "enter session started");
    reply(
        &mut stream,
        &EnterReply {
            ok: true,
            error: None,
            container: Some(found.name.clone()),
        },
    )
    .await?;

    let (mut from_client, mut to_client) = stream.into_split();
    let mut client_open = true;
    loop {
        tokio::select! {
            frame = Frame::read_from(&mut from_client), if client_open => match frame {
                Ok(Some(Frame::Stdin(bytes))) => {
                    if input.write_all(&bytes).await.is_err() {
                        client_open = false;
                    }
                    let _ = input.flush().await;
                }
                Ok(Some(Frame::Resize { cols, rows })) if request.tty => {
                    resize(&docker, &exec_id, cols, rows).await;
                }
                Ok(Some(Frame::StdinEof)) => {
                    let _ = input.shutdown().await;
                }
                Ok(Some(_)) => {}
                // The client went away: the process sees its input end (a shell exits).
                Ok(None) | Err(_) => {
                    client_open = false;
                    let _ = input.shutdown().await;
                }
            },
            chunk = output.next() => match chunk {
                Some(Ok(log)) => {
                    use bollard::container::LogOutput;
                    let frame = match log {
                        LogOutput::StdErr { message } => Frame::Stderr(message.to_vec()),
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            Frame::Stdout(message.to_vec())
                        }
                        LogOutput::StdIn { .. } => continue,
                    };
                    if frame.write_to(&mut to_client).await.is_err() {
                        client_open = false;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "enter: output stream failed");
                    break;
                }
                None => break,
            },
        }
    }
    let code = exit_code(&docker, &exec_id).await;
    tracing::info!(caller, container = %found.name, code, "enter session ended");
    Frame::Exit(code).write_to(&mut to_client).await
}

/// Passes a terminal size on; a failure only leaves the old size, so it is not an error.
async fn resize(docker: &bollard::Docker, exec_id: &str, cols: u16, rows: u16) {
    let size = ResizeExecOptionsBuilder::new()
        .w(i32::from(cols))
        .h(i32::from(rows))
        .build();
    if let Err(e) = docker.resize_exec(exec_id, size).await {
        tracing::debug!(error = %e, "enter: resize failed");
    }
}

/// The exec's exit code; Docker may need a moment to record it after the output ends.
async fn exit_code(docker: &bollard::Docker, exec_id: &str) -> i32 {
    for _ in 0..50 {
        match docker.inspect_exec(exec_id).await {
            Ok(i) if i.running != Some(true) => {
                return i
                    .exit_code
                    .and_then(|c| i32::try_from(c).ok())
                    .unwrap_or(255);
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(_) => return 255,
        }
    }
    255
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_or_root_gets_in_and_never_as_root() {
        assert_eq!(
            admit(1000, Some("1000:1000"), true),
            Admission::Allowed {
                user: "1000:1000".into()
            }
        );
        assert_eq!(
            admit(0, Some("1000:1000"), true),
            Admission::Allowed {
                user: "1000:1000".into()
            }
        );
        assert!(matches!(
            admit(1001, Some("1000:1000"), true),
            Admission::Refused(m) if m.contains("not yours")
        ));
        for (user, owned) in [
            (Some("1000:1000"), false),
            (None, true),
            (Some(""), true),
            (Some("0:0"), true),
            (Some("root"), true),
        ] {
            assert!(
                matches!(admit(1000, user, owned), Admission::Refused(_)),
                "{user:?} {owned}"
            );
            assert!(
                matches!(admit(0, user, owned), Admission::Refused(_)),
                "root {user:?} {owned}"
            );
        }
    }

    #[tokio::test]
    async fn frames_round_trip() {
        let frames = vec![
            Frame::Stdin(b"ls\n".to_vec()),
            Frame::StdinEof,
            Frame::Resize {
                cols: 120,
                rows: 40,
            },
            Frame::Stdout(b"out".to_vec()),
            Frame::Stderr(Vec::new()),
            Frame::Exit(-3),
        ];
        let mut buf = Vec::new();
        for f in &frames {
            f.write_to(&mut buf).await.unwrap();
        }
        let mut reader = buf.as_slice();
        let mut back = Vec::new();
        while let Some(f) = Frame::read_from(&mut reader).await.unwrap() {
            back.push(f);
        }
        assert_eq!(back, frames);
        let mut huge = vec![0u8];
        huge.extend_from_slice(&(MAX_FRAME as u32 + 1).to_be_bytes());
        assert!(Frame::read_from(&mut huge.as_slice()).await.is_err());
    }
}
