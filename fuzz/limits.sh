#!/usr/bin/env bash
# Inputs where size is a weapon: each is built in a temp folder, given to trident, and its
# outcome (exit code, first error line), peak memory and time printed as a table.
#
#   bash fuzz/limits.sh [TRIDENT_BINARY]   (default: target/release/trident, built if missing)
#
# Needs GNU time (/usr/bin/time) and python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/target/release/trident}"
if [ ! -x "$bin" ]; then
  (cd "$root" && cargo build --release)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

python3 - <<'PY'
import json, os
def project(name, manifest, prompts=None):
    os.makedirs(f"{name}/prompts", exist_ok=True)
    open(f"{name}/agent.tml", "w").write(manifest)
    for pid, text in (prompts or {}).items():
        open(f"{name}/prompts/{pid}.prompt", "w").write(text)
head = 'trident: "0.1"\nname: big\ndefaults: {model: anthropic/claude-test}\n'
# 100k nodes: an input feeding 100k output nodes.
n = 100_000
nodes = "".join(f"  o{i}: {{type: output}}\n" for i in range(n))
edges = "".join(f"  e{i}: {{from: input, to: o{i}, mapping: {{x: x}}}}\n" for i in range(n))
project("nodes100k", head + "nodes:\n  input: {type: input}\n" + nodes + "edges:\n" + edges)
# A 10 MB prompt template.
project("prompt10mb", head + "nodes:\n  input: {type: input}\n  output: {type: output}\nedges:\n"
        "  a: {from: input, to: p, mapping: {x: x}}\n  b: {from: p, to: output}\n",
        {"p": "---\nid: p\n---\n" + ("Say {{ x }} and more words. " * 400_000)})
# A condition nested 10k deep.
deep = "(" * 10_000 + "x" + ")" * 10_000
project("deep", head + "nodes:\n  input: {type: input}\n  output: {type: output}\nedges:\n"
        f"  a: {{from: input, to: output, condition: \"{deep}\"}}\n")
project("io", head + "nodes:\n  input: {type: input}\n  output: {type: output}\nedges:\n"
        "  a: {from: input, to: output, mapping: {text: text, rows: rows}}\n")
# 100 MB of JSON: one big string; 44.5 MB: 600k small objects; 101.5 MB: 1.35M of them.
json.dump({"text": "x" * 100_000_000}, open("in100mb.json", "w"))
def rows(n, path):
    json.dump({"rows": [{"id": i, "v": f"value-{i}", "ok": True, "n": i * 0.5, "x": None}
                        for i in range(n)]}, open(path, "w"))
rows(600_000, "rows600k.json")
rows(1_350_000, "rows100mb.json")
json.dump({"text": "x" * 50_000_000}, open("in50mb.json", "w"))
PY

printf '| %-46s | %4s | %9s | %8s | %s\n' case exit "peak MB" seconds outcome
row() {
  local name="$1"; shift
  local code=0
  env "${ENVS[@]}" /usr/bin/time -f '%M %e' -o time.txt "$bin" "$@" >out.txt 2>err.txt || code=$?
  read -r kb secs < <(tail -1 time.txt)
  local outcome
  outcome="$(grep -m1 -E 'Error|error|✓|refused|more than' err.txt out.txt | cut -c1-90 | sed 's/^[^:]*://' || true)"
  printf '| %-46s | %4s | %9s | %8s | %s\n' "$name" "$code" "$((kb / 1024))" "$secs" "${outcome:-ok}"
}
ENVS=(TRIDENT_LIMITS=1)
row "manifest with 100k nodes: validate" project validate nodes100k
row "manifest with 100k nodes: dry run" project run nodes100k --dry-run --no-artifacts -i '{"x": 1}'
row "10 MB prompt: dry run" project run prompt10mb --dry-run --no-artifacts -i '{"x": 1}'
row "condition nested 10k deep: validate" project validate deep
# Input -> output with every artifact on and telemetry on stdout (the result on stderr).
row "50 MB JSON input (-f), artifacts on" project run io -f in50mb.json -o json --telemetry
row "600k small objects, 44.5 MB (-f), artifacts on" project run io -f rows600k.json -o json --telemetry
row "100 MB JSON input (-f): default limit" project run io -f in100mb.json -o json
ENVS=(TRIDENT_MAX_INPUT_SIZE=200MB)
row "100 MB string (-f), artifacts on, 200MB limit" project run io -f in100mb.json -o json --telemetry
row "1.35M small objects, 101.5 MB (-f), artifacts on" project run io -f rows100mb.json -o json --telemetry
row "100 MB string (-f), --no-artifacts, 200MB limit" project run io -f in100mb.json -o json --no-artifacts
