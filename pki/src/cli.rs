//! `pki init | issue-bot | issue-agent`: writes the CA and certificates as files, so
//! an administrator never needs openssl.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::Ca;

pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca-key.pem";
pub const BOT_CERT_FILE: &str = "bot.pem";
pub const BOT_KEY_FILE: &str = "bot-key.pem";

/// Private CA commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PkiCommand {
    /// Create the Maison CA: writes ca.pem (share it) and ca-key.pem (keep it secret, mode 0600).
    Init {
        /// Directory holding the CA and the issued certificates.
        #[arg(long, default_value = "./pki", env = "MAISON_PKI_DIR")]
        dir: PathBuf,
        /// Replace an existing CA. Every certificate it issued stops being trusted.
        #[arg(long)]
        force: bool,
    },
    /// Issue the bot's client certificate: writes bot.pem and bot-key.pem.
    IssueBot {
        /// Directory holding the CA (from `init`); the certificate is written there.
        #[arg(long, default_value = "./pki", env = "MAISON_PKI_DIR")]
        dir: PathBuf,
        /// Common name of the certificate (informative).
        #[arg(long, default_value = "maison-bot")]
        name: String,
        /// Replace existing bot.pem / bot-key.pem.
        #[arg(long)]
        force: bool,
    },
    /// Issue an agent's server certificate and its peer identity: writes agent-<HOST>.pem,
    /// agent-<HOST>-key.pem, peer-<HOST>.pem and peer-<HOST>-key.pem.
    IssueAgent {
        /// Directory holding the CA (from `init`); the certificate is written there.
        #[arg(long, default_value = "./pki", env = "MAISON_PKI_DIR")]
        dir: PathBuf,
        /// The host name the bot uses to reach the agent; always a subject alternative name.
        host: String,
        /// More DNS names or IP addresses the bot may dial, e.g. --san 10.0.0.5 --san gpu01.lab.
        #[arg(long = "san")]
        san: Vec<String>,
        /// Replace an existing certificate for this host.
        #[arg(long)]
        force: bool,
    },
}

/// Runs one PKI command, printing what it wrote and what to do next.
pub fn run(cmd: PkiCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    run_to(cmd, &mut out)
}

/// [`run`] writing its report to `out` (tests read it).
pub fn run_to(cmd: PkiCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        PkiCommand::Init { dir, force } => {
            let cert = dir.join(CA_CERT_FILE);
            let key = dir.join(CA_KEY_FILE);
            check_free(&[&cert, &key], force)?;
            let ca = Ca::generate("Maison CA").context("generating the CA")?;
            make_dir(&dir)?;
            write_file(&key, ca.key_pem(), true)?;
            write_file(&cert, ca.cert_pem(), false)?;
            writeln!(
                out,
                "wrote {} (CA certificate: give it to the bot and every agent)",
                cert.display()
            )?;
            writeln!(
                out,
                "wrote {} (CA key, mode 0600: keep it on the bot host only, back it up)",
                key.display()
            )?;
            writeln!(
                out,
                "next: issue-bot, then issue-agent <host> for each GPU server"
            )?;
        }
        PkiCommand::IssueBot { dir, name, force } => {
            let ca = load_ca(&dir)?;
            let cert = dir.join(BOT_CERT_FILE);
            let key = dir.join(BOT_KEY_FILE);
            check_free(&[&cert, &key], force)?;
            let issued = ca.issue_bot(&name).context("issuing the bot certificate")?;
            write_file(&key, &issued.key_pem, true)?;
            write_file(&cert, &issued.cert_pem, false)?;
            writeln!(
                out,
                "wrote {} (bot client certificate, role bot)",
                cert.display()
            )?;
            writeln!(out, "wrote {} (bot key, mode 0600)", key.display())?;
            writeln!(
                out,
                "next: point the bot's agent TLS settings at {}, {} and {}",
                cert.display(),
                key.display(),
                dir.join(CA_CERT_FILE).display()
            )?;
        }
        PkiCommand::IssueAgent {
            dir,
            host,
            san,
            force,
        } => {
            let ca = load_ca(&dir)?;
            let (cert, key) = agent_files(&dir, &host)?;
            let (peer_cert, peer_key) = peer_files(&dir, &host)?;
            check_free(&[&cert, &key, &peer_cert, &peer_key], force)?;
            let issued = ca
                .issue_agent(&host, &san)
                .with_context(|| format!("issuing the certificate of agent {host}"))?;
            // The agent's client identity towards other agents (dataset copies): a separate
            // key, so a server key never doubles as a client key.
            let peer = ca
                .issue_peer(&host)
                .with_context(|| format!("issuing the peer certificate of agent {host}"))?;
            write_file(&key, &issued.key_pem, true)?;
            write_file(&cert, &issued.cert_pem, false)?;
            write_file(&peer_key, &peer.key_pem, true)?;
            write_file(&peer_cert, &peer.cert_pem, false)?;
            writeln!(
                out,
                "wrote {} (agent server certificate, role agent)",
                cert.display()
            )?;
            writeln!(out, "wrote {} (agent key, mode 0600)", key.display())?;
            writeln!(
                out,
                "wrote {} (the agent's client certificate towards other agents, role peer)",
                peer_cert.display()
            )?;
            writeln!(out, "wrote {} (peer key, mode 0600)", peer_key.display())?;
            writeln!(
                out,
                "next: copy {}, {}, {}, {} and {} to {host} (e.g. /etc/maison/); set cert, key and client_ca under [tls] and peer_cert, peer_key under [datasets] in its agent.toml",
                cert.display(),
                key.display(),
                peer_cert.display(),
                peer_key.display(),
                dir.join(CA_CERT_FILE).display()
            )?;
        }
    }
    Ok(())
}

/// File names of an agent's certificate and key.
pub fn agent_files(dir: &Path, host: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    check_host_file_name(host)?;
    Ok((
        dir.join(format!("agent-{host}.pem")),
        dir.join(format!("agent-{host}-key.pem")),
    ))
}

/// File names of an agent's peer certificate and key (its identity towards other agents).
pub fn peer_files(dir: &Path, host: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    check_host_file_name(host)?;
    Ok((
        dir.join(format!("peer-{host}.pem")),
        dir.join(format!("peer-{host}-key.pem")),
    ))
}

fn check_host_file_name(host: &str) -> anyhow::Result<()> {
    // The host becomes part of a file name: refuse anything that could walk out of dir.
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':')
        || host.starts_with('.')
    {
        bail!("{host:?} is not a valid host name (letters, digits, '-', '.')");
    }
    Ok(())
}

fn load_ca(dir: &Path) -> anyhow::Result<Ca> {
    let cert = dir.join(CA_CERT_FILE);
    let key = dir.join(CA_KEY_FILE);
    let cert_pem = fs::read_to_string(&cert).with_context(|| {
        format!(
            "reading {} (run `pki init` first to create the CA)",
            cert.display()
        )
    })?;
    let key_pem = fs::read_to_string(&key).with_context(|| format!("reading {}", key.display()))?;
    Ca::from_pem(&cert_pem, &key_pem)
        .with_context(|| format!("loading the CA from {}", dir.display()))
}

fn check_free(paths: &[&Path], force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    for p in paths {
        if p.exists() {
            bail!("{} already exists; pass --force to replace it", p.display());
        }
    }
    Ok(())
}

fn make_dir(dir: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

fn write_file(path: &Path, content: &str, secret: bool) -> anyhow::Result<()> {
    // Remove first so a replaced key never keeps an old, wider mode.
    if path.exists() {
        fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Role, role_of_pem};
    use std::os::unix::fs::PermissionsExt;

    fn init(dir: &Path, force: bool) -> anyhow::Result<String> {
        let mut out = Vec::new();
        run_to(
            PkiCommand::Init {
                dir: dir.to_path_buf(),
                force,
            },
            &mut out,
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn init_issue_and_refuse_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        let report = init(&dir, false).unwrap();
        assert!(
            report.contains("ca.pem") && report.contains("next:"),
            "{report}"
        );
        let mode = fs::metadata(dir.join(CA_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let err = init(&dir, false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        let old = fs::read_to_string(dir.join(CA_CERT_FILE)).unwrap();
        init(&dir, true).unwrap();
        assert_ne!(old, fs::read_to_string(dir.join(CA_CERT_FILE)).unwrap());

        let mut out = Vec::new();
        run_to(
            PkiCommand::IssueBot {
                dir: dir.clone(),
                name: "maison-bot".into(),
                force: false,
            },
            &mut out,
        )
        .unwrap();
        let bot = fs::read_to_string(dir.join(BOT_CERT_FILE)).unwrap();
        assert_eq!(role_of_pem(&bot).unwrap(), Some(Role::Bot));
        let mode = fs::metadata(dir.join(BOT_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        run_to(
            PkiCommand::IssueAgent {
                dir: dir.clone(),
                host: "gpu01".into(),
                san: vec!["10.1.2.3".into()],
                force: false,
            },
            &mut out,
        )
        .unwrap();
        let agent = fs::read_to_string(dir.join("agent-gpu01.pem")).unwrap();
        assert_eq!(role_of_pem(&agent).unwrap(), Some(Role::Agent));
        assert!(dir.join("agent-gpu01-key.pem").exists());
        let peer = fs::read_to_string(dir.join("peer-gpu01.pem")).unwrap();
        assert_eq!(role_of_pem(&peer).unwrap(), Some(Role::Peer));
        let mode = fs::metadata(dir.join("peer-gpu01-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Issuing again refuses to overwrite any of the four files.
        let err = run_to(
            PkiCommand::IssueAgent {
                dir: dir.clone(),
                host: "gpu01".into(),
                san: vec![],
                force: false,
            },
            &mut out,
        )
        .unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
    }

    #[test]
    fn issue_without_ca_says_to_init() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run_to(
            PkiCommand::IssueBot {
                dir: tmp.path().to_path_buf(),
                name: "b".into(),
                force: false,
            },
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("pki init"), "{err:#}");
    }

    #[test]
    fn host_names_cannot_escape_the_directory() {
        assert!(agent_files(Path::new("/x"), "../etc/passwd").is_err());
        assert!(agent_files(Path::new("/x"), "a/b").is_err());
        assert!(agent_files(Path::new("/x"), "gpu-01.lab").is_ok());
        assert!(peer_files(Path::new("/x"), "../x").is_err());
    }
}
