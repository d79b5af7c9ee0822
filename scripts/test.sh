#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls it). Works on a fresh machine
# that has the Rust toolchain: cargo fetches every dependency from crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."

export CI=true            # insta: never write snapshots, fail on a mismatch
export INSTA_UPDATE=no
export CARGO_TERM_COLOR=never

rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
