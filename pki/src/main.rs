//! Stand-alone front end of the Maison CA; the bot offers the same commands as
//! `maison-bot pki …`. Handy on a machine where only the agent is built.
#![forbid(unsafe_code)]

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "maison-pki",
    version,
    about = "Create the Maison CA and issue bot and agent certificates"
)]
struct Cli {
    #[command(subcommand)]
    command: maison_pki::PkiCommand,
}

fn main() -> anyhow::Result<()> {
    maison_pki::run(Cli::parse().command)
}
