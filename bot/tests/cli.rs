//! The `maison-bot` binary as an operator meets it: a bad configuration or a mistyped job is
//! refused before anything is created, and errors are one readable line, not a stack trace.

use std::path::Path;
use std::process::{Command, Output};

fn maison_bot(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maison-bot"))
        .args(args)
        .current_dir(dir)
        // A trace would be printed on error if the binary returned its error from `main`.
        .env("RUST_BACKTRACE", "1")
        .env_remove("MAISON_CONFIG")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("DATABASE_URL")
        .output()
        .expect("maison-bot runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A host with an agent URL but no `[agents]` certificates, and a SQLite file in `dir`.
fn config_without_agents(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("maison.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{}/maison.db?mode=rwc\"\n\n\
             [[hosts]]\nname = \"gpu01\"\ngpus = 2\nagent_url = \"https://127.0.0.1:9\"\n",
            dir.display()
        ),
    )
    .unwrap();
    path
}

/// Found trying it: such a config was refused only after the database had been created and
/// migrated.
#[test]
fn a_config_missing_agent_certificates_is_refused_before_the_database_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_without_agents(dir.path());
    let config = config.to_str().unwrap();
    for args in [
        vec!["migrate", "--config", config],
        vec!["jobs", "list", "--config", config],
        vec!["jobs", "run", "daily_report", "--config", config],
        vec!["serve", "--config", config],
    ] {
        let output = maison_bot(&args, dir.path());
        let err = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(err.contains("gpu01 has an agent_url"), "{args:?}: {err}");
        assert!(err.contains("missing: ca, cert, key"), "{args:?}: {err}");
        assert!(!err.contains("stack backtrace"), "{args:?}: {err}");
        assert!(
            !dir.path().join("maison.db").exists(),
            "{args:?} created the database before refusing the config"
        );
    }
}

/// Found trying it: `jobs run <typo>` reported the agents' configuration first.
#[test]
fn a_mistyped_job_is_named_before_the_config_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_without_agents(dir.path());
    let output = maison_bot(
        &[
            "jobs",
            "run",
            "daily_reprot",
            "--config",
            config.to_str().unwrap(),
        ],
        dir.path(),
    );
    let err = stderr(&output);
    assert!(!output.status.success());
    assert!(
        err.contains("There is no job called `daily_reprot`"),
        "{err}"
    );
    assert!(err.contains("Did you mean `daily_report`?"), "{err}");
    assert!(!err.contains("agent"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line, no trace: {err}");
    assert!(!dir.path().join("maison.db").exists());
}

/// Found trying it: a second `jobs run` in the same second exited 1 with an error. Two runs
/// started together both succeed, and the job runs once or twice (once when they share the
/// second), never failing the second.
#[test]
fn two_cli_runs_of_one_job_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maison.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{}/maison.db?mode=rwc\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let config = path.to_str().unwrap();
    // Created and migrated first, so the two runs race on the job, not on the schema.
    assert!(
        maison_bot(&["migrate", "--config", config], dir.path())
            .status
            .success()
    );
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_maison-bot"))
            .args(["jobs", "run", "metrics_retention", "--config", config])
            .current_dir(dir.path())
            .env_remove("MAISON_CONFIG")
            .env_remove("SLACK_BOT_TOKEN")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{out}{}", stderr(&output));
        assert!(out.contains("metrics_retention: deleted"), "{out}");
    }
}

/// `report export`: the CSV for finance, from a database with one booking in it, to a file or
/// to standard output; a reversed range is refused in one line.
#[test]
fn report_export_writes_csv_for_the_days_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maison.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{}/maison.db?mode=rwc\"\n\n\
             [reports]\nprice_per_kwh = 0.3\ncurrency = \"JPY\"\n\n\
             [[hosts]]\nname = \"gpu01\"\ngpus = 2\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let config = path.to_str().unwrap();
    assert!(
        maison_bot(&["migrate", "--config", config], dir.path())
            .status
            .success()
    );
    // A booking of both GPUs on 29 November, 10:00–13:00 UTC, for `vision`.
    let db = dir.path().join("maison.db");
    let sql = "INSERT INTO users (id, team_id, slack_user_id, display_name, tz, profile_fetched_at) \
               VALUES (1, 'T0', 'U0CAROL', 'Carol', 'UTC', 0); \
               INSERT INTO hosts (name, gpu_count, state, updated_at) \
               VALUES ('gpu01', 2, 'active', 0); \
               INSERT INTO bookings (id, user_id, host, gpus, start_at, end_at, created_at, project) \
               VALUES (1, 1, 'gpu01', '0,1', 1795946400, 1795957200, 0, 'vision');";
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);

    let out = dir.path().join("november.csv");
    let output = maison_bot(
        &[
            "report",
            "export",
            "--config",
            config,
            "--from",
            "2026-11-29",
            "--to",
            "2026-11-30",
            "--format",
            "csv",
            "--output",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("wrote 1 row(s)"),
        "{}",
        stderr(&output)
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "day,host,user,project,booked_gpu_hours,busy_gpu_hours,kwh,cost,currency",
            "2026-11-29,gpu01,U0CAROL,vision,6.0000,0.0000,0.0000,0.0000,JPY",
        ]
    );

    // To standard output, a day without use: the header alone.
    let output = maison_bot(
        &[
            "report",
            "export",
            "--config",
            config,
            "--from",
            "2026-11-30",
            "--to",
            "2026-11-30",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "day,host,user,project,booked_gpu_hours,busy_gpu_hours,kwh,cost,currency\n"
    );

    let output = maison_bot(
        &[
            "report",
            "export",
            "--config",
            config,
            "--from",
            "2026-12-01",
            "--to",
            "2026-11-01",
        ],
        dir.path(),
    );
    let err = stderr(&output);
    assert!(!output.status.success());
    assert!(
        err.contains("--from 2026-12-01 is after --to 2026-11-01"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
