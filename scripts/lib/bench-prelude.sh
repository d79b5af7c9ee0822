# Sourced by the bench-*.sh scripts: builds the release binaries, then (unless BENCH_WAIT_QUIET=0)
# waits at most 10 minutes for other rustc/cargo processes on this machine to finish, so their CPU
# use does not land in the figures.
cargo build --release -p openclaw-cli -p openclaw-bench >&2

if [ "${BENCH_WAIT_QUIET:-1}" = 1 ]; then
  for _ in $(seq 1 120); do
    busy=0
    for name in rustc cargo clippy-driver; do
      pgrep -x "$name" >/dev/null && busy=1
    done
    [ "$busy" = 0 ] && break
    echo "waiting for concurrent rustc/cargo to finish…" >&2
    sleep 5
  done
fi
