#!/usr/bin/env bash
# Whole-process figures for BENCHMARKS.md: wall time (hyperfine, median) and max RSS (/usr/bin/time)
# of `openclaw config validate` on a typical config, an invalid one, and generated 64 KiB–1 MiB configs.
# Needs hyperfine (apt-get install hyperfine) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p openclaw-cli >/dev/null
B=target/release/openclaw
export OCRS_TEST_GATEWAY_TOKEN=t OCRS_TEST_OPENROUTER_KEY=k OCRS_TEST_HOME=/tmp OCRS_TEST_PROFILE=p OCRS_TEST_PORT=19001
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen() { # a valid config of about $1 bytes: model providers with three models each
  python3 - "$1" > "$2" <<'PY'
import sys
n = int(sys.argv[1]); out = ['{\n  gateway: { mode: "local", port: 18789, bind: "loopback" },\n  models: {\n    providers: {\n']
size = sum(map(len, out)); i = 0
while size < n:
    block = [f'      p{i}: {{\n        baseUrl: "https://models-{i}.example.com/v1",\n        api: "openai-completions",\n        models: [\n']
    for m in range(3):
        block.append(f'          {{ id: "model-{i}-{m}", name: "Model {i}.{m}", contextWindow: 128000, maxTokens: 8192, reasoning: false, input: ["text"] }},\n')
    block.append('        ],\n      },\n')
    out += block; size += sum(map(len, block)); i += 1
out.append('    },\n  },\n}\n'); sys.stdout.write(''.join(out))
PY
}
for kb in 64 256 1024; do gen $((kb * 1024)) "$tmp/gen-${kb}k.json5"; done
cases=(
  "fixtures/config/valid/full-personal.json5"
  "fixtures/config/invalid/gateway-port-string.json5"
  "$tmp/gen-64k.json5" "$tmp/gen-256k.json5" "$tmp/gen-1024k.json5"
)
printf '| input | bytes | median wall | max RSS |\n|---|---|---|---|\n'
for f in "${cases[@]}"; do
  bytes=$(wc -c < "$f")
  median=$(hyperfine -N -i --warmup 5 --runs 40 --export-json "$tmp/h.json" "$B config validate $f" >/dev/null 2>&1; python3 -c "import json;print('%.2f ms' % (json.load(open('$tmp/h.json'))['results'][0]['median']*1000))")
  rss=$( (for _ in 1 2 3 4 5; do { /usr/bin/time -f '%M' "$B" config validate "$f" 2>&1 >/dev/null || true; } | tail -1; done) | sort -n | sed -n 3p)
  printf '| %s | %s | %s | %s KiB |\n' "$(basename "$f")" "$bytes" "$median" "$rss"
done
