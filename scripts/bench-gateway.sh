#!/usr/bin/env bash
# Gateway benchmarks for BENCHMARKS.md: builds the release binaries, then runs the whole
# openclaw-bench suite against a gateway it starts itself (throwaway HOME, loopback only, stopped
# with SIGTERM at the end): exec → listening, idle RSS, handshake latency, and `health` /
# `last-heartbeat` throughput and latency. Prints the human table, one JSON line per metric, and
# a Markdown table comparing with OpenClaw 2026.9.6 (reference Part 2, O6) and our targets.
#
# Usage: scripts/bench-gateway.sh [extra openclaw-bench flags, e.g. --reps 5 --client-threads 2]
# Env:   BENCH_JSON=path   where the JSON lines go (default target/bench-gateway.jsonl)
#        BENCH_WAIT_QUIET=0 do not wait for concurrent rustc/cargo builds to finish first
# Numbers are only comparable on an otherwise idle machine (the client shares the cores with
# the gateway); the tool records in its `machine` line how many build processes were running.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/bench-prelude.sh

json=${BENCH_JSON:-target/bench-gateway.jsonl}
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -srm), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
exec target/release/openclaw-bench \
  --openclaw target/release/openclaw \
  --json-out "$json" \
  --markdown \
  "$@"
