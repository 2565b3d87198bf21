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
