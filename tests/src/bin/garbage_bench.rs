//! Garbage input at every decoder (see `maison_tests::garbage`): a million mutated inputs per
//! target by default, then one line per target with the panics, the slowest input and the rate.
//! Exits 1 if anything panicked; timings are printed, never judged.
//!
//! ```text
//! cargo run --release -p maison-tests --bin garbage-bench
//! cargo run --release -p maison-tests --bin garbage-bench -- --inputs 10000 --target config
//! ```

use std::process::ExitCode;

use clap::Parser;
use maison_tests::garbage;

#[derive(Debug, Parser)]
#[command(
    name = "garbage-bench",
    about = "Mutated inputs at every decoder: counts panics and the slowest input"
)]
struct Args {
    /// Inputs per target.
    #[arg(long, default_value_t = 1_000_000)]
    inputs: u64,
    /// Seed of the generator: the same seed gives the same inputs.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Only the targets whose name contains this.
    #[arg(long)]
    target: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // A panic is counted and its input shown below, not printed a million times.
    std::panic::set_hook(Box::new(|_| {}));
    println!(
        "{:<34} {:>10} {:>7} {:>11} {:>12}  slowest input",
        "target", "inputs", "panics", "slowest", "inputs/s"
    );
    let mut panics = 0;
    for target in garbage::targets() {
        if args
            .target
            .as_deref()
            .is_some_and(|t| !target.name.contains(t))
        {
            continue;
        }
        let outcome = garbage::run(&target, args.inputs, args.seed);
        panics += outcome.panics;
        let shown: String = outcome.slowest_input.chars().take(40).collect();
        println!(
            "{:<34} {:>10} {:>7} {:>8.2} ms {:>12.0}  {:?}",
            outcome.name,
            outcome.inputs,
            outcome.panics,
            outcome.slowest.as_secs_f64() * 1000.0,
            outcome.inputs as f64 / outcome.elapsed.as_secs_f64(),
            shown
        );
        if let Some(input) = &outcome.first_panic {
            println!("  first panicking input: {input:?}");
        }
    }
    if panics > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
