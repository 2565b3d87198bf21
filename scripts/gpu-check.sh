#!/usr/bin/env bash
# Checks maison-agent against real NVIDIA GPUs. Run on a machine with the NVIDIA
# driver, from the repository root:
#
#   scripts/gpu-check.sh                # builds in release mode if needed
#   MAISON_AGENT_BIN=/path/maison-agent MAISON_PKI_BIN=/path/maison-pki scripts/gpu-check.sh
#   METRICS_SECONDS=30 scripts/gpu-check.sh
#
# It prints: nvidia-smi's view, per-call NVML latency (`maison-agent probe-gpus`),
# then starts the agent with probe = "nvml" and prints /v1/host, one minute of
# /v1/metrics (the first completed rollup, with current readings) and the probe
# timings from /metrics. Docker is optional: without it the agent still serves
# GPU data and answers 503 for containers.
set -euo pipefail

cd "$(dirname "$0")/.."
METRICS_SECONDS="${METRICS_SECONDS:-70}"
PORT="${PORT:-18443}"

section() { printf '\n===== %s =====\n' "$*"; }

AGENT="${MAISON_AGENT_BIN:-}"
PKI="${MAISON_PKI_BIN:-}"
if [ -z "$AGENT" ] || [ -z "$PKI" ]; then
    if [ ! -x target/release/maison-agent ] || [ ! -x target/release/maison-pki ]; then
        section "building (release)"
        cargo build --release -p maison-agent -p maison-pki
    fi
    AGENT="${AGENT:-target/release/maison-agent}"
    PKI="${PKI:-target/release/maison-pki}"
fi

section "nvidia-smi"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=index,uuid,name,driver_version,memory.total,utilization.gpu,power.draw,temperature.gpu --format=csv || true
else
    echo "nvidia-smi not found (the agent only needs libnvidia-ml.so)"
fi

section "NVML per-call latency (maison-agent probe-gpus)"
"$AGENT" probe-gpus --rounds 10

WORK="$(mktemp -d)"
AGENT_PID=""
cleanup() {
    if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

section "certificates"
"$PKI" init --dir "$WORK/pki"
"$PKI" issue-bot --dir "$WORK/pki"
"$PKI" issue-agent --dir "$WORK/pki" localhost --san 127.0.0.1

cat >"$WORK/agent.toml" <<TOML
listen = "127.0.0.1:$PORT"
[tls]
cert = "pki/agent-localhost.pem"
key = "pki/agent-localhost-key.pem"
client_ca = "pki/ca.pem"
[gpu]
probe = "nvml"
TOML

section "starting the agent (probe = nvml)"
RUST_LOG="${RUST_LOG:-info}" "$AGENT" serve --config "$WORK/agent.toml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!

CURL=(curl -sS --fail-with-body --cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/bot.pem" --key "$WORK/pki/bot-key.pem")
BASE="https://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    if "${CURL[@]}" "$BASE/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$AGENT_PID" 2>/dev/null; then
        echo "the agent exited:"; cat "$WORK/agent.log"; exit 1
    fi
    sleep 0.2
done
"${CURL[@]}" "$BASE/healthz"; echo

pretty() { if command -v python3 >/dev/null 2>&1; then python3 -m json.tool; else cat; fi; }

section "GET /v1/host"
"${CURL[@]}" "$BASE/v1/host" | pretty

section "sampling for $METRICS_SECONDS s (1 Hz, 1-minute rollups)"
sleep "$METRICS_SECONDS"

section "GET /v1/metrics"
"${CURL[@]}" "$BASE/v1/metrics" | pretty

section "probe timings (GET /metrics)"
"${CURL[@]}" "$BASE/metrics" | grep -E '^maison_agent_gpu_' || true

section "an anonymous client must be refused"
if curl -sS --max-time 5 --cacert "$WORK/pki/ca.pem" "$BASE/healthz" >/dev/null 2>&1; then
    echo "FAIL: the agent answered a client without certificate"; exit 1
else
    echo "ok: refused"
fi

section "agent log"
cat "$WORK/agent.log"
