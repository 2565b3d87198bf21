//! `maison-bot`: the command-line entry point. Sub-commands: `serve` (the Slack app, with the
//! scheduler and the outbox sender), `try` (everything locally, no Slack needed), `migrate`,
//! `jobs` (list or run the scheduled jobs), `report export` (CSV for finance) and `pki` (the
//! private CA for the agents).

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use maison_bot::app::App;
use maison_bot::background::Background;
use maison_bot::config::{Config, Secret};
use maison_bot::core::clock::SystemClock;
use maison_bot::core::jobs;
use maison_bot::core::reports::export;
use maison_bot::fleet::{self, Poller};
use maison_bot::jobs::matcher::Matcher;
use maison_bot::jobs::{ManualRun, Scheduler};
use maison_bot::monitoring;
use maison_bot::outbox::Outbox;
use maison_bot::ports::{Fleet, SlackApi};
use maison_bot::schedule;
use maison_bot::slack::api::SlackWebApi;
use maison_bot::slack::http::HttpFront;
use maison_bot::slack::serve::FrontLimits;
use maison_bot::slack::socket::SocketMode;
use maison_bot::store::Db;
use maison_bot::store::planning::load_export;
use maison_bot::terminal::{self, TerminalSlack};
use maison_command::Lang;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};
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
        #[arg(long, default_value = maison_bot::local::TRY_USER)]
        user: String,
    },
    /// Scheduled jobs: list them with their next and last runs, or run one now.
    #[command(subcommand)]
    Jobs(JobsCli),
    /// Reports for use outside Slack.
    #[command(subcommand)]
    Report(ReportCli),
    /// Manage the private certificate authority that secures bot ↔ agent traffic.
    #[command(subcommand)]
    Pki(maison_pki::PkiCommand),
}

#[derive(Debug, Subcommand)]
enum ReportCli {
    /// Write GPU use per day, host, person and project as CSV, for finance: GPU-hours booked
    /// and busy, kWh, and cost at `[reports] price_per_kwh`.
    ///
    /// Days are local days in the company time zone (`[jobs] timezone`), both ends included.
    /// A person's busy time and energy on a host are split over their projects there by
    /// booked hours; an empty `user` is energy drawn with no container on the GPUs.
    Export {
        #[arg(long, short, env = "MAISON_CONFIG")]
        config: PathBuf,
        /// First day, like 2026-11-01.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day, included, like 2026-11-30.
        #[arg(long)]
        to: chrono::NaiveDate,
        /// The output format; CSV is the one there is.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Csv,
}

#[derive(Debug, Subcommand)]
enum JobsCli {
    /// Every job: its schedule, next run (company time zone), last run and outcome; and the
    /// messages waiting in the outbox.
    List {
        #[arg(long, short, env = "MAISON_CONFIG")]
        config: PathBuf,
    },
    /// Run a job now, whatever its schedule. Its messages are queued in the outbox, which a
    /// running `maison-bot serve` sends.
    Run {
        #[arg(long, short, env = "MAISON_CONFIG")]
        config: PathBuf,
        /// The job's name, as `jobs list` shows it.
        job: String,
    },
    /// Put the messages Slack refused for good (parked) back in the outbox queue, after fixing
    /// the cause (e.g. inviting the bot to the channel).
    Requeue {
        #[arg(long, short, env = "MAISON_CONFIG")]
        config: PathBuf,
    },
}

impl JobsCli {
    fn config(&self) -> &Path {
        match self {
            JobsCli::List { config }
            | JobsCli::Run { config, .. }
            | JobsCli::Requeue { config } => config,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    maison_bot::install_crypto_provider();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The chain of causes, one line: what went wrong is for the operator, not a trace.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Serve { config } => {
            init_tracing("info");
            serve(Config::load(&config)?).await
        }
        Cmd::Migrate { config } => {
            init_tracing("info");
            let config = Config::load(&config)?;
            // The whole configuration is checked before the database is created or changed.
            fleet::from_config(&config.agents, &config.hosts)?;
            Db::connect(config.database.url.expose()).await?;
            info!("database is up to date");
            Ok(())
        }
        Cmd::Try { config, dir, user } => {
            init_tracing("warn");
            try_locally(config.as_deref(), &dir, user).await
        }
        Cmd::Jobs(command) => {
            init_tracing("warn");
            jobs_command(command).await
        }
        Cmd::Report(command) => {
            init_tracing("warn");
            report_command(command).await
        }
        Cmd::Pki(command) => maison_pki::run(command),
    }
}

/// `maison-bot report …`.
async fn report_command(command: ReportCli) -> anyhow::Result<()> {
    let ReportCli::Export {
        config,
        from,
        to,
        format: ExportFormat::Csv,
        output,
    } = command;
    if from > to {
        bail!("--from {from} is after --to {to}: nothing to export");
    }
    let config = Config::load(&config)?;
    let db = open_database(&config).await?;
    let input = load_export(&db, &config, from, to, config.company_tz()).await?;
    let rows = match &output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let rows = export::write_csv(&input, std::io::BufWriter::new(file))?;
            eprintln!("wrote {rows} row(s) to {}", path.display());
            rows
        }
        None => export::write_csv(&input, std::io::stdout().lock())?,
    };
    info!(rows, "export written");
    Ok(())
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
    let db = Db::connect_warm(config.database.url.expose(), config.database.pool_size).await?;
    db.sync_config(config, chrono::Utc::now().timestamp())
        .await?;
    Ok(db)
}

/// `maison-bot jobs …`. The job's name, then the whole configuration (agents' certificates
/// included), are checked before the database is opened, created or migrated.
async fn jobs_command(command: JobsCli) -> anyhow::Result<()> {
    if let JobsCli::Run { job, .. } = &command
        && schedule::lookup(job).is_none()
    {
        bail!("{}", jobs::unknown_job(job, Lang::En).text);
    }
    let config = Config::load(command.config())?;
    let fleet = fleet::from_config(&config.agents, &config.hosts)?;
    let db = open_database(&config).await?;
    let now = chrono::Utc::now();
    match command {
        JobsCli::List { .. } => {
            let statuses = jobs::statuses(&config, &db.latest_job_runs().await?, now);
            let outbox = db.outbox_stats().await?;
            let tz = config.company_tz();
            print!("{}", jobs::overview_text(&statuses, &outbox, tz, now));
        }
        JobsCli::Run { job, .. } => {
            // Jobs queue their messages; Slack is only needed for look-ups, if at all.
            let slack: Arc<dyn SlackApi> = match &config.slack.bot_token {
                Some(token) => Arc::new(SlackWebApi::new(&config.slack.api_url, token.expose())?),
                None => Arc::new(TerminalSlack::new(&config.slack.default_tz)),
            };
            let app =
                Arc::new(App::new(config, db, slack, Arc::new(SystemClock)).with_fleet(fleet));
            let ManualRun { run, joined } =
                Scheduler::new(app.clone())?.run_now(&job, "cli").await?;
            if joined {
                println!(
                    "{job} was already started at {} by another request; it ran once.",
                    run.slot_key
                );
            }
            if !run.ok {
                bail!("{job} failed: {}", run.detail);
            }
            println!("{job}: {}", run.detail);
            let waiting = app.db.outbox_stats().await?.pending;
            if waiting > 0 {
                println!(
                    "{waiting} message(s) wait in the outbox; a running `maison-bot serve` sends them."
                );
            }
        }
        JobsCli::Requeue { .. } => {
            let requeued = db.requeue_parked(now.timestamp()).await?;
            println!("{requeued} parked message(s) put back in the outbox queue.");
        }
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bot_token = config.slack.bot_token.clone().context(
        "SLACK_BOT_TOKEN is not set (the bot's xoxb- token, from the Slack app's OAuth page)",
    )?;
    let fleet = fleet::from_config(&config.agents, &config.hosts)?;
    let db = open_database(&config).await?;
    let slack = Arc::new(SlackWebApi::new(&config.slack.api_url, bot_token.expose())?);
    let app_token = config.slack.app_token.clone();
    let signing_secret = config.slack.signing_secret.clone();
    let listen = config.server.listen;
    let lease_timeout = config.server.lease_timeout;
    // Replicas may share the database: the poller and the sender run under leases.
    let poller = Poller::new(
        db.clone(),
        fleet.clone(),
        &config.agents,
        Arc::new(SystemClock),
    )
    .with_slack(slack.clone())
    .with_lease(lease_timeout);
    let stop_polling = CancellationToken::new();
    let mut background = Background::default();
    background.watch("fleet poller", poller.spawn(stop_polling.clone()));
    info!(agents = fleet.hosts().len(), "polling the host agents");
    let outbox = Outbox::new(db.clone(), slack.clone(), Arc::new(SystemClock))
        .with_lease_timeout(lease_timeout);
    let app = Arc::new(App::new(config, db, slack, Arc::new(SystemClock)).with_fleet(fleet));
    let scheduler = Scheduler::new(app.clone())?;
    let stop_jobs = CancellationToken::new();
    watch_jobs(&mut background, &app, outbox, scheduler, &stop_jobs);
    if let Some(listen) = app.config.server.metrics_listen {
        let metrics = monitoring::serve(app.clone(), listen, stop_jobs.clone()).await?;
        background.watch("metrics listener", metrics);
    }

    let socket_mode = match app_token {
        Some(token) => Some(SocketMode::connect(app.clone(), token.expose()).await?),
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
    // Background work that stops stops the bot too (see `background`): the requests in
    // flight are finished first, as on SIGTERM.
    let failed = CancellationToken::new();
    let serving = maison_bot::slack::serve::serve(listener, router, FrontLimits::default(), {
        let failed = failed.clone();
        async move {
            tokio::select! {
                () = shutdown_signal() => {}
                () = failed.cancelled() => {}
            }
        }
    });
    let mut serving = std::pin::pin!(serving);
    let ended = tokio::select! {
        () = &mut serving => None,
        ended = background.first_ended() => Some(ended),
    };
    if let Some(ended) = &ended {
        error!(task = ended.task, why = %ended.why, "background work stopped; stopping the bot so that its service manager restarts it");
        failed.cancel();
        serving.await;
    }
    if let Some(socket) = socket_mode {
        socket.shutdown().await;
    }
    stop_polling.cancel();
    stop_jobs.cancel();
    background.join_all().await;
    if let Some(ended) = ended {
        bail!("{ended}; the bot stopped so that it is restarted");
    }
    info!("stopped");
    Ok(())
}

/// Starts the work that runs beside the requests (queued messages, scheduled jobs, the
/// wait-list), each watched, all stopped by `stop`.
fn watch_jobs(
    background: &mut Background,
    app: &Arc<App>,
    outbox: Outbox,
    scheduler: Scheduler,
    stop: &CancellationToken,
) {
    background.watch("outbox sender", outbox.spawn(stop.clone()));
    background.watch("scheduler", scheduler.spawn(stop.clone()));
    background.watch(
        "wait-list matcher",
        Matcher::new(app.clone()).spawn(stop.clone()),
    );
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
        None => Config::from_toml(maison_bot::local::DEMO_CONFIG)?,
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let db_path = dir.join("maison.db");
    config.database.url = Secret::new(format!("sqlite://{}?mode=rwc", db_path.display()));
    println!(
        "Database: {} (delete the folder to start afresh)",
        db_path.display()
    );

    // The first host is served by an agent on this machine; the others stay bookable only.
    let local = match maison_bot::local::start_local_agent(dir).await {
        Ok(local) => Some(local),
        Err(err) => {
            println!("Local agent not started ({err:#}); bookings work, containers do not.");
            None
        }
    };
    let mut fleet = Fleet::default();
    if let Some(local) = &local {
        for host in &mut config.hosts {
            host.agent_url = None;
        }
        if let Some(first) = config.hosts.first_mut() {
            first.agent_url = Some(local.url.clone());
            if local.gpus > 0 {
                first.gpus = local.gpus;
            }
            let name = first.name.clone();
            config.agents = local.agents.clone();
            fleet = fleet::from_config(&config.agents, &config.hosts)?;
            describe_local_agent(&name, local, &fleet).await;
        }
    }

    let db = open_database(&config).await?;
    let slack = Arc::new(TerminalSlack::new(&config.slack.default_tz));
    let poller = Poller::new(
        db.clone(),
        fleet.clone(),
        &config.agents,
        Arc::new(SystemClock),
    )
    .with_slack(slack.clone());
    let outbox = Outbox::new(db.clone(), slack.clone(), Arc::new(SystemClock));
    let app =
        Arc::new(App::new(config, db, slack.clone(), Arc::new(SystemClock)).with_fleet(fleet));
    let scheduler = Scheduler::new(app.clone())?;
    let stop_polling = CancellationToken::new();
    let mut background = Background::default();
    background.watch("fleet poller", poller.spawn(stop_polling.clone()));
    // Scheduled jobs and queued messages work here too; what they send prints in the terminal.
    watch_jobs(&mut background, &app, outbox, scheduler, &stop_polling);
    let session = terminal::run(app, slack, user, tokio::io::stdin(), tokio::io::stdout());
    let result = tokio::select! {
        result = session => result,
        _ = tokio::signal::ctrl_c() => {
            println!("\nBye.");
            Ok(())
        }
        ended = background.first_ended() => Err(anyhow::anyhow!("{ended}")),
    };
    stop_polling.cancel();
    background.join_all().await;
    if let Some(local) = local {
        local.running.shutdown().await;
    }
    result
}

/// Tells the newcomer what the local agent found: Docker, GPUs, images to launch.
async fn describe_local_agent(host: &str, local: &maison_bot::local::LocalAgent, fleet: &Fleet) {
    let gpus = if local.simulated {
        format!("{} simulated GPUs (no NVIDIA driver here)", local.gpus)
    } else {
        format!("{} GPUs through NVML", local.gpus)
    };
    let Some(agent) = fleet.agent(host) else {
        return;
    };
    let docker = match agent.host().await {
        Ok(info) => match info.docker_version {
            Some(version) => format!("Docker {version}"),
            None => "no Docker engine reachable (containers unavailable)".to_owned(),
        },
        Err(err) => format!("agent not answering: {err}"),
    };
    println!(
        "{host} is served by a maison-agent on this machine ({}): {docker}, {gpus}.",
        local.url
    );
    if let Ok(images) = agent.images().await {
        let tags: Vec<String> = images
            .iter()
            .flat_map(|i| i.tags.iter().cloned())
            .take(5)
            .collect();
        if let Some(first) = tags.first() {
            println!(
                "Images here: {}. Try: /maison book {host} 1h, then /maison launch {host} {first} -- sleep 3600",
                tags.join(", ")
            );
        }
    }
}
