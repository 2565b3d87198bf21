//! `maison-bot`: the command-line entry point. Sub-commands: `serve` (the Slack app), `try`
//! (everything locally, no Slack needed), `migrate`, and `pki` (the private CA for the agents).

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use maison_bot::app::App;
use maison_bot::clock::SystemClock;
use maison_bot::config::{Config, Secret};
use maison_bot::db::Db;
use maison_bot::slack::api::SlackWebApi;
use maison_bot::slack::http::HttpFront;
use maison_bot::terminal::{self, TerminalSlack};
use tracing::info;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "maison-bot",
    version,
    about = "Maison: share a fleet of GPU servers from Slack",
    long_about = "Maison's control plane. It receives /maison commands from Slack, keeps the \
                  bookings in its database and drives the host agents.\n\n\
                  New here? Run `maison-bot try` to use it locally without a Slack workspace."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the Slack app: HTTP mode, or Socket Mode when SLACK_APP_TOKEN is set.
    ///
    /// Reads SLACK_SIGNING_SECRET (HTTP mode), SLACK_BOT_TOKEN, SLACK_APP_TOKEN, DATABASE_URL
    /// and SLACK_API_URL from the environment on top of the config file.
    Serve {
        /// Configuration file (see config/maison.example.toml).
        #[arg(long, short, env = "MAISON_CONFIG")]
        config: PathBuf,
    },
    /// Apply pending database migrations, then exit (also done by `serve` at start-up).
    Migrate {
        #[arg(long, short, env = "MAISON_CONFIG")]
        config: PathBuf,
    },
    /// Try Maison locally: SQLite in a local folder and a terminal that takes /maison lines.
    Try {
        /// Configuration to use; defaults to config/maison.example.toml, else a built-in demo fleet.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Folder for the local database.
        #[arg(long, default_value = ".maison-try")]
        dir: PathBuf,
        /// The Slack user id you act as (an admin in the example config is U0ADMIN01).
        #[arg(long, default_value = "U0LOCAL")]
        user: String,
    },
    /// Manage the private certificate authority that secures bot ↔ agent traffic.
    #[command(subcommand)]
    Pki(maison_pki::PkiCommand),
}

/// Used by `try` when no config file is found: a small fleet to play with.
const DEMO_CONFIG: &str = r##"
[slack]
default_tz = "UTC"
announce_channel = "#gpu-bookings"

[[hosts]]
name = "gpu01"
gpus = 2

[[hosts]]
name = "gpu02"
gpus = 2

[[hosts]]
name = "gpu03"
gpus = 8
"##;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    maison_bot::install_crypto_provider();
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve { config } => {
            init_tracing("info");
            serve(Config::load(&config)?).await
        }
        Cmd::Migrate { config } => {
            init_tracing("info");
            let config = Config::load(&config)?;
            Db::connect(config.database.url.expose()).await?;
            info!("database is up to date");
            Ok(())
        }
        Cmd::Try { config, dir, user } => {
            init_tracing("warn");
            try_locally(config.as_deref(), &dir, user).await
        }
        Cmd::Pki(command) => maison_pki::run(command),
    }
}

fn init_tracing(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default},sqlx=warn,hyper=warn,slack_morphism=warn"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(config.database.url.expose()).await?;
    db.sync_hosts(&config.hosts, chrono::Utc::now().timestamp())
        .await?;
    Ok(db)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bot_token = config.slack.bot_token.clone().context(
        "SLACK_BOT_TOKEN is not set (the bot's xoxb- token, from the Slack app's OAuth page)",
    )?;
    let db = open_database(&config).await?;
    let slack = Arc::new(SlackWebApi::new(&config.slack.api_url, bot_token.expose())?);
    let app_token = config.slack.app_token.clone();
    let signing_secret = config.slack.signing_secret.clone();
    let listen = config.server.listen;
    let app = Arc::new(App::new(config, db, slack, Arc::new(SystemClock)));

    let socket_mode = match app_token {
        Some(token) => {
            let app = app.clone();
            Some(tokio::spawn(async move {
                maison_bot::slack::socket::serve(app, token.expose()).await
            }))
        }
        None => None,
    };
    // The HTTP front also serves /healthz, so it runs in Socket Mode too; without a signing
    // secret it refuses every /slack/* request (nothing can be verified).
    let secret = match (&signing_secret, &socket_mode) {
        (Some(secret), _) => secret.clone(),
        (None, Some(_)) => Secret::new(uuid::Uuid::new_v4().to_string()),
        (None, None) => bail!(
            "set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode); see README, \"Slack setup\""
        ),
    };
    let router = HttpFront::new(app, secret).router();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    info!(%listen, socket_mode = socket_mode.is_some(), "maison-bot is serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can install a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn try_locally(config_path: Option<&Path>, dir: &Path, user: String) -> anyhow::Result<()> {
    let example = Path::new("config/maison.example.toml");
    let mut config = match config_path {
        Some(path) => Config::load(path)?,
        None if example.exists() => Config::load(example)?,
        None => Config::from_toml(DEMO_CONFIG)?,
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let db_path = dir.join("maison.db");
    config.database.url = Secret::new(format!("sqlite://{}?mode=rwc", db_path.display()));
    let db = open_database(&config).await?;
    println!(
        "Database: {} (delete the folder to start afresh)",
        db_path.display()
    );
    let slack = Arc::new(TerminalSlack::new(&config.slack.default_tz));
    let app = Arc::new(App::new(config, db, slack.clone(), Arc::new(SystemClock)));
    let session = terminal::run(app, slack, user, tokio::io::stdin(), tokio::io::stdout());
    tokio::select! {
        result = session => result,
        _ = tokio::signal::ctrl_c() => {
            println!("\nBye.");
            Ok(())
        }
    }
}
