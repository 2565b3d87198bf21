//! `maison enter <container>`: a shell in your own container on this host, without the docker
//! group. Talks to the local `maison-agent` over its Unix socket; the agent checks with the
//! kernel who you are and lets only the container's owner (or root) in.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use maison_agent::config::DEFAULT_ENTER_SOCKET;
use maison_agent::enter::{EnterReply, EnterRequest, Frame};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

#[derive(Debug, Parser)]
#[command(
    name = "maison",
    version,
    about = "Maison on a GPU host: enter your own containers without the docker group"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open a shell (or run a command) in one of your containers on this host.
    ///
    /// Examples: `maison enter ada-pytorch-b12`, `maison enter ada-pytorch-b12 -- nvidia-smi`.
    /// The exit code is the command's.
    Enter {
        /// The container's name (as `/maison ps` shows it) or id.
        container: String,
        /// The command to run instead of a shell.
        #[arg(last = true)]
        command: Vec<String>,
        /// The agent's socket.
        #[arg(long, env = "MAISON_ENTER_SOCKET", default_value = DEFAULT_ENTER_SOCKET)]
        socket: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("maison: cannot start: {e}");
            std::process::exit(255);
        }
    };
    let Command::Enter {
        container,
        command,
        socket,
    } = cli.command;
    let code = match runtime.block_on(enter(container, command, socket)) {
        Ok(code) => u8::try_from(code.rem_euclid(256)).unwrap_or(255),
        Err(message) => {
            eprintln!("maison enter: {message}");
            255
        }
    };
    // The stdin thread may sit in a blocking read; the terminal is restored by now.
    std::process::exit(i32::from(code))
}

/// Puts the terminal in raw mode and restores it when dropped, whatever happens.
struct RawTerminal {
    saved: rustix::termios::Termios,
}

impl RawTerminal {
    fn enable() -> Option<RawTerminal> {
        let stdin = std::io::stdin();
        let saved = rustix::termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, &raw)
            .ok()?;
        Some(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin().as_fd(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

fn terminal_size() -> (u16, u16) {
    rustix::termios::tcgetwinsize(std::io::stdout().as_fd())
        .map(|w| (w.ws_col, w.ws_row))
        .unwrap_or((80, 24))
}

async fn enter(container: String, command: Vec<String>, socket: PathBuf) -> Result<i32, String> {
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let (cols, rows) = if tty { terminal_size() } else { (0, 0) };
    let mut stream = UnixStream::connect(&socket).await.map_err(|e| {
        format!(
            "cannot reach the Maison agent at {} ({e}); is maison-agent running on this host?",
            socket.display()
        )
    })?;
    let request = EnterRequest {
        container,
        command,
        tty,
        cols,
        rows,
    };
    let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .await
        .map_err(|e| format!("sending the request: {e}"))?;
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::new(read_half);
    let mut answer = String::new();
    reader
        .read_line(&mut answer)
        .await
        .map_err(|e| format!("reading the agent's answer: {e}"))?;
    let reply: EnterReply = serde_json::from_str(&answer)
        .map_err(|_| "the agent closed the connection without answering".to_string())?;
    if !reply.ok {
        return Err(reply.error.unwrap_or_else(|| "refused".into()));
    }

    let _raw = tty.then(RawTerminal::enable).flatten();
    let (to_agent, mut frames) = mpsc::channel::<Frame>(64);
    // A plain thread: a blocking read of a terminal cannot be cancelled, and the runtime would
    // wait for it at exit.
    let stdin_frames = to_agent.clone();
    std::thread::spawn(move || forward_stdin(stdin_frames));
    if tty {
        tokio::spawn(forward_resizes(to_agent));
    } else {
        drop(to_agent);
    }
    tokio::spawn(async move {
        while let Some(frame) = frames.recv().await {
            if frame.write_to(&mut write_half).await.is_err() {
                break;
            }
        }
    });

    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    loop {
        match Frame::read_from(&mut reader).await {
            Ok(Some(Frame::Stdout(bytes))) => {
                let _ = stdout.write_all(&bytes);
                let _ = stdout.flush();
            }
            Ok(Some(Frame::Stderr(bytes))) => {
                let _ = stderr.write_all(&bytes);
                let _ = stderr.flush();
            }
            Ok(Some(Frame::Exit(code))) => return Ok(code),
            Ok(Some(_)) => {}
            Ok(None) => return Err("the agent ended the session without an exit code".into()),
            Err(e) => return Err(format!("session broken: {e}")),
        }
    }
}

fn forward_stdin(to_agent: mpsc::Sender<Frame>) {
    use std::io::Read;
    let mut stdin = std::io::stdin();
    let mut buf = vec![0u8; 8192];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = to_agent.blocking_send(Frame::StdinEof);
                return;
            }
            Ok(n) => {
                if to_agent
                    .blocking_send(Frame::Stdin(buf[..n].to_vec()))
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

async fn forward_resizes(to_agent: mpsc::Sender<Frame>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut winch) = signal(SignalKind::window_change()) else {
        return;
    };
    while winch.recv().await.is_some() {
        let (cols, rows) = terminal_size();
        if to_agent.send(Frame::Resize { cols, rows }).await.is_err() {
            return;
        }
    }
}
