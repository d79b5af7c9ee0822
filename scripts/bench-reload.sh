#!/usr/bin/env bash
# Hot-reload benchmarks for BENCHMARKS.md ("Hot reload"): builds the release binaries, then runs
# openclaw-bench's `reload` suite against gateways it starts itself (throwaway HOME, loopback
# only, stopped with SIGTERM, SIGKILL after 5 s):
#   * config save → `config.changed` with the new file's sha256, over --reload-edits edits (saved
#     alternately by temp file + rename and in place), with the default debounce (300 ms) and each
#     --reload-debounce-ms value set in the file (default 0,50);
#   * SIGUSR1 in-process restart: `shutdown` → port accepting / first new hello-ok, one fresh
#     gateway per sample (--restart-samples; restarts have a 30 s cooldown per process).
# Prints the human lines, one JSON line per metric and a Markdown comparison table.
#
# Usage: scripts/bench-reload.sh [extra openclaw-bench flags, e.g. --reload-edits 60]
# Env:   BENCH_JSON=path   where the JSON lines go (default target/bench-reload.jsonl)
#        BENCH_WAIT_QUIET=0 do not wait for concurrent rustc/cargo builds to finish first
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/bench-prelude.sh

json=${BENCH_JSON:-target/bench-reload.jsonl}
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -srm), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
exec target/release/openclaw-bench \
  --openclaw target/release/openclaw \
  --only reload \
  --json-out "$json" \
  --markdown \
  "$@"
