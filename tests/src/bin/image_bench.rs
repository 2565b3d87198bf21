//! Copying an image between two hosts' Docker engines on this machine: Maison's agent-to-agent
//! copy against `docker save | docker load` through a pipe, side by side in one run, and the
//! bytes a second copy moves when the destination already has the image's lower layers.
//!
//! The source is this machine's engine; the destination is a Docker daemon the benchmark
//! starts (its own data root, its own network namespace), loaded with the test image. Each
//! round starts with the image absent at the destination. Needs root, Docker, the test image
//! (`scripts/build-test-image.sh`) and a release build of the agent:
//!
//! ```text
//! cargo build --release -p maison-agent -p maison-tests --bin maison-agent --bin image-bench
//! target/release/image-bench            # 1 GiB image, 3 rounds each
//! target/release/image-bench --mib 256 --rounds 1
//! ```
//! Timings are printed, never judged.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use clap::Parser;
use maison_agent_api::datasets::PeerSource;
use maison_agent_api::images::FetchImageRequest;
use maison_testkit::PrivateDocker;
use maison_tests::agents::{AgentOptions, AgentProcess, bot_tls};

const BASE: &str = "maison-test/busybox:latest";

#[derive(Debug, Parser)]
#[command(
    name = "image-bench",
    about = "Image copy between two engines: Maison's agents vs docker save | docker load"
)]
struct Args {
    /// Size of the image's big layer, in MiB.
    #[arg(long, default_value_t = 1024)]
    mib: u64,
    /// Size of the layer the second image adds on top, in MiB.
    #[arg(long, default_value_t = 64)]
    top_mib: u64,
    /// Timed rounds of each tool.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs")
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// An image on this machine's engine: `from` plus a layer of `mib` MiB of noise.
fn make_image(from: &str, name: &str, mib: u64) -> String {
    let maker = format!("image-bench-maker-{}", std::process::id());
    let _ = docker(&["rm", "-f", &maker]);
    ok(
        docker(&[
            "run",
            "--name",
            &maker,
            from,
            "sh",
            "-c",
            &format!("head -c {} /dev/urandom > /noise-{mib}", mib << 20),
        ]),
        "writing the layer",
    );
    ok(docker(&["commit", &maker, name]), "committing");
    let _ = docker(&["rm", "-f", &maker]);
    ok(
        docker(&["image", "inspect", "-f", "{{.Id}}", name]),
        "inspecting",
    )
}

fn size_of(name: &str) -> u64 {
    ok(
        docker(&["image", "inspect", "-f", "{{.Size}}", name]),
        "size",
    )
    .parse()
    .unwrap()
}

/// Removes `names` from the destination and the layers only they used.
fn forget(dest: &PrivateDocker, names: &[&str]) {
    for name in names {
        let _ = dest.cli(&["rmi", "-f", name]);
    }
}

fn pipe_copy(dest: &PrivateDocker, name: &str) -> Duration {
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker save {name} | docker -H unix://{} load -q",
            dest.socket().display()
        ))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "docker save | docker load");
    started.elapsed()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    assert!(
        docker(&["image", "inspect", BASE]).status.success(),
        "{BASE} is missing: run scripts/build-test-image.sh"
    );
    let pid = std::process::id();
    let big = format!("maison-bench/big:{pid}");
    let bigger = format!("maison-bench/bigger:{pid}");
    println!(
        "making {big} ({} MiB layer on {BASE}) and {bigger} (+{} MiB)…",
        args.mib, args.top_mib
    );
    let big_id = make_image(BASE, &big, args.mib);
    let bigger_id = make_image(&big, &bigger, args.top_mib);
    let image_bytes = size_of(&big);
    let new_layer_bytes = size_of(&bigger) - image_bytes;

    let dest = PrivateDocker::start(&[BASE]);
    let dir = tempfile::tempdir().unwrap();
    let pki = maison_bot::local::local_pki(&dir.path().join("pki")).unwrap();
    let tls = bot_tls(&pki);
    let mut source = AgentProcess::new(dir.path(), &AgentOptions::named("gpu01"), &pki);
    let mut destination = AgentProcess::new(
        dir.path(),
        &AgentOptions {
            docker_socket: Some(dest.socket()),
            ..AgentOptions::named("gpu02")
        },
        &pki,
    );
    source.start(&tls).await;
    destination.start(&tls).await;
    let to = destination.client(&tls);
    let request = |id: &str, reference: &str, size: u64| FetchImageRequest {
        image_id: id.into(),
        reference: reference.into(),
        size_bytes: size,
        sources: vec![PeerSource {
            host: "gpu01".into(),
            url: source.url.clone(),
        }],
    };
    let limit = Duration::from_secs(3600);

    let (mut pipe, mut maison) = (Vec::new(), Vec::new());
    let mut sent = 0;
    for round in 1..=args.rounds {
        forget(&dest, &[&big, &bigger]);
        let took = pipe_copy(&dest, &big);
        pipe.push(took.as_secs_f64());
        forget(&dest, &[&big, &bigger]);
        let fetched = to
            .fetch_image(&request(&big_id, &big, image_bytes), limit)
            .await
            .expect("maison copy");
        maison.push(fetched.seconds);
        sent = fetched.bytes_received;
        println!(
            "round {round}: pipe {:.2} s, maison {:.2} s ({} MB sent, {}/{} layers already there)",
            took.as_secs_f64(),
            fetched.seconds,
            fetched.bytes_received / 1_000_000,
            fetched.layers_already_here,
            fetched.layers
        );
    }
    // The big image is at the destination now: the bigger one shares all but its top layer.
    let second = to
        .fetch_image(
            &request(&bigger_id, &bigger, image_bytes + new_layer_bytes),
            limit,
        )
        .await
        .expect("second copy");
    forget(&dest, &[&big, &bigger]);
    let _ = docker(&["rmi", &bigger, &big]);

    let mb = |bytes: u64, secs: f64| bytes as f64 / secs / 1e6;
    let (pipe_s, maison_s) = (median(pipe), median(maison));
    println!();
    println!(
        "image of {} MB, median of {} rounds",
        image_bytes / 1_000_000,
        args.rounds
    );
    println!("{:<34} {:>9} {:>10}", "tool", "seconds", "MB/s");
    println!(
        "{:<34} {:>9.2} {:>10.0}",
        "docker save | docker load (pipe)",
        pipe_s,
        mb(image_bytes, pipe_s)
    );
    println!(
        "{:<34} {:>9.2} {:>10.0}",
        "maison image copy (agent to agent)",
        maison_s,
        mb(image_bytes, maison_s)
    );
    println!(
        "maison / pipe speed: {:.2}× (goal ≥ 0.9×)",
        pipe_s / maison_s
    );
    println!(
        "first copy sent {} MB for a {} MB image",
        sent / 1_000_000,
        image_bytes / 1_000_000
    );
    println!(
        "second copy (shares all but a {} MB layer): sent {} MB = {:.3}× the new layer (goal ≤ 1.1×), {}/{} layers already there",
        new_layer_bytes / 1_000_000,
        second.bytes_received / 1_000_000,
        second.bytes_received as f64 / new_layer_bytes as f64,
        second.layers_already_here,
        second.layers
    );
}
