#!/usr/bin/env bash
# Inputs where size is a weapon: each is built in a temp folder, given to trident, and its
# outcome (exit code, first error line), trident's own peak memory and the time printed as a
# table (the README's "Limits where input size is a weapon").
#
#   bash fuzz/limits.sh [TRIDENT_BINARY] [CASE...]   (default binary: target/release/trident,
#                                                    built if missing; default: every case)
#
# Cases: nodes100k, chain100k, prompt10mb, deep, yaml, json, io, branch, output, recursion.
# Peak memory is trident's alone (VmHWM of its process, read every 10 ms): the python tools
# and fake Claude CLI that print 100 MB are not counted. Needs python3, and about 1 GB of
# free disk in the temp folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/target/release/trident}"
shift || true
cases="${*:-nodes100k chain100k prompt10mb deep yaml json io branch output recursion}"
if [ ! -x "$bin" ]; then
  (cd "$root" && cargo build --release)
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

python3 - <<'PY'
import json, os
def project(name, manifest, files=None):
    os.makedirs(name, exist_ok=True)
    open(f"{name}/agent.tml", "w").write(manifest)
    for path, text in (files or {}).items():
        os.makedirs(os.path.dirname(f"{name}/{path}"), exist_ok=True)
        open(f"{name}/{path}", "w").write(text)
head = 'trident: "0.1"\nname: big\ndefaults: {model: anthropic/claude-test}\n'
pair = head + "nodes:\n  input: {type: input}\n  output: {type: output}\nedges:\n"
# 100k nodes: an input feeding 100k output nodes; and a chain of 100k (100k levels).
n = 100_000
nodes = "".join(f"  o{i}: {{type: output}}\n" for i in range(n))
edges = "".join(f"  e{i}: {{from: input, to: o{i}, mapping: {{x: x}}}}\n" for i in range(n))
project("nodes100k", head + "nodes:\n  input: {type: input}\n" + nodes + "edges:\n" + edges)
edges = "  e0: {from: input, to: o0, mapping: {x: x}}\n" + "".join(
    f"  e{i}: {{from: o{i - 1}, to: o{i}, mapping: {{x: x}}}}\n" for i in range(1, n))
project("chain100k", head + "nodes:\n  input: {type: input}\n" + nodes + "edges:\n" + edges)
# The same chain where each node maps the previous one's field twice (not a pass-through:
# every gathered map links to the value; links must not chain 100k deep).
edges = "  e0: {from: input, to: o0, mapping: {x: x, y: x}}\n" + "".join(
    f"  e{i}: {{from: o{i - 1}, to: o{i}, mapping: {{x: x, y: x}}}}\n" for i in range(1, n))
project("chainmapped100k", head + "nodes:\n  input: {type: input}\n" + nodes + "edges:\n" + edges)
# A 10 MB prompt template.
project("prompt10mb", pair + "  a: {from: input, to: p, mapping: {x: x}}\n  b: {from: p, to: output}\n",
        {"prompts/p.prompt": "---\nid: p\n---\n" + ("Say {{ x }} and more words. " * 400_000)})
# A condition nested 10k deep.
deep = "(" * 10_000 + "x" + ")" * 10_000
project("deep", pair + f"  a: {{from: input, to: output, condition: \"{deep}\"}}\n")
# YAML nested 100k deep (flow brackets), in a manifest and in a prompt's frontmatter.
project("yaml", pair + "  a: {from: input, to: output, mapping: {x: x}}\nextra: " + "[" * 100_000 + "]" * 100_000 + "\n")
project("yamlprompt", pair + "  a: {from: input, to: p, mapping: {x: x}}\n  b: {from: p, to: output}\n",
        {"prompts/p.prompt": "---\nid: p\nextra: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n---\nSay {{ x }}\n"})
open("deep.json", "w").write('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
project("io", pair + "  a: {from: input, to: output, mapping: {text: text, rows: rows}}\n")
# A pass-through: the output node's inputs are the input's fields, each to itself.
project("pass", pair + "  a: {from: input, to: output, mapping: {rows: rows}}\n")
# 100 MB of JSON: one big string; 44.5 MB: 600k small objects; 101.5 MB: 1.35M of them.
json.dump({"text": "x" * 100_000_000}, open("in100mb.json", "w"))
def rows(n, path):
    json.dump({"rows": [{"id": i, "v": f"value-{i}", "ok": True, "n": i * 0.5, "x": None}
                        for i in range(n)]}, open(path, "w"))
rows(600_000, "rows600k.json")
rows(1_350_000, "rows100mb.json")
json.dump({"text": "x" * 50_000_000}, open("in50mb.json", "w"))
# 100 MB lines from programs nodes run.
N = 100_000_000
def tool_project(name, tool, files=None):
    project(name, pair.replace("edges:\n", f"tools:\n  t: {tool}\nedges:\n")
            + "  a: {from: input, to: t, mapping: {x: x}}\n  b: {from: t, to: output, mapping: {n: output}}\n",
            files)
big = f"head -c {N} /dev/zero | tr '\\\\0' x"
tool_project("sh_stdout", '{type: shell, command: "%s"}' % big)
tool_project("sh_stderr", '{type: shell, command: "%s >&2; echo done"}' % big)
tool_project("sh_event", '{type: shell, command: "python3 tools/ev.py"}',
             {"tools/ev.py": "import os\nwith open(os.environ['TRIDENT_EVENTS'], 'a') as f:\n"
              f"    f.write('{{\"event\": \"big\", \"data\": {{\"x\": \"' + 'x' * {N} + '\"}}}}\\n')\nprint('done')\n"})
py = lambda body: {"tools/big.py": f"import sys, trident_tool\nN = {N}\ndef run(x=None):\n{body}\n"}
tool_project("py_print", "{type: python, module: big, function: run}", py("    print('x' * N)\n    return 'done'"))
tool_project("py_stderr", "{type: python, module: big, function: run}", py("    sys.stderr.write('x' * N + '\\n')\n    return 'done'"))
tool_project("py_result", "{type: python, module: big, function: run}", py("    return 'x' * N"))
tool_project("py_emit", "{type: python, module: big, function: run}", py("    trident_tool.emit('big', x='x' * N)\n    return 'done'"))
# An agent whose fake Claude CLI writes one 100 MB stream-json line, then its result.
claude = ("#!/usr/bin/env python3\nimport json\n"
          "print(json.dumps({'type': 'system', 'subtype': 'init', 'session_id': 's', 'model': 'm'}))\n"
          f"print(json.dumps({{'type': 'assistant', 'session_id': 's', 'message': {{'id': 'm1', 'content': [{{'type': 'text', 'text': 'x' * {N}}}]}}}}))\n"
          "print(json.dumps({'type': 'result', 'subtype': 'success', 'is_error': False, 'result': 'done', 'session_id': 's', 'num_turns': 1}))\n")
project("agent_line", pair.replace("  output:", "  worker: {type: agent, prompt: agent_prompts/worker.prompt}\n  output:")
        + "  a: {from: input, to: worker, mapping: {x: x}}\n  b: {from: worker, to: output, mapping: {text: text}}\n",
        {"agent_prompts/worker.prompt": "---\nid: worker\ninput:\n  x: {type: number}\n---\nSay {{ x }}.\n", "bin/claude": claude})
os.chmod("agent_line/bin/claude", 0o755)
# A branch loop passing 600k small objects through 4 iterations of a sub-workflow (a shell
# step counts, the rows go through untouched; the loop condition reads only the count).
project("branchloop", "trident: \"0.1\"\nname: loop\nnodes:\n  input: {type: input}\n"
        "  again: {type: branch, workflow: ./sub, loop_while: \"n != '4'\", max_iterations: 10}\n"
        "  output: {type: output}\nedges:\n  a: {from: input, to: again, mapping: {rows: rows, n: n}}\n"
        "  b: {from: again, to: output, mapping: {rows: rows, n: n}}\n",
        {"sub/agent.tml": "trident: \"0.1\"\nname: sub\nnodes:\n  input: {type: input}\n"
         "  output: {type: output}\ntools:\n  step: {type: shell, command: \"expr {{n}} + 1\"}\n"
         "edges:\n  a: {from: input, to: step, mapping: {n: n}}\n  b: {from: input, to: output, mapping: {rows: rows}}\n"
         "  c: {from: step, to: output, mapping: {n: output}}\n"})
d = json.load(open("rows600k.json"))
d["n"] = 0
json.dump(d, open("rows600k_n.json", "w"))
# A workflow that fire-and-forget triggers itself.
project("self_trigger", head + "nodes:\n  input: {type: input}\n"
        "  again: {type: trigger, workflow: ., mode: fire-and-forget}\n  output: {type: output}\n"
        "edges:\n  a: {from: input, to: again, mapping: {x: x}}\n  b: {from: again, to: output}\n")
# The same behind a condition that stays true: accepted, bounded at run time.
project("self_trigger_if", head + "nodes:\n  input: {type: input}\n"
        "  again: {type: trigger, workflow: ., mode: fire-and-forget, condition: \"x == 1\"}\n"
        "  output: {type: output}\n"
        "edges:\n  a: {from: input, to: again, mapping: {x: x}}\n  b: {from: again, to: output}\n")
PY

# Trident's own peak RSS (VmHWM, children not counted) and wall time, into peak.txt.
# A process gone before the first look: its rusage (then children would count, but such
# quick cases start none).
cat > peak.py <<'PY'
import os, subprocess, sys, time
start = time.time()
p = subprocess.Popen(sys.argv[1:])
peak = 0
while True:
    pid, status, usage = os.wait4(p.pid, os.WNOHANG)
    if pid:
        break
    try:
        with open(f"/proc/{p.pid}/status") as f:
            peak = max([peak] + [int(l.split()[1]) for l in f if l.startswith("VmHWM:")])
    except OSError:
        pass
    time.sleep(0.01)
peak = peak or usage.ru_maxrss
open("peak.txt", "w").write(f"{peak} {time.time() - start:.2f}\n")
sys.exit(os.waitstatus_to_exitcode(status))
PY

printf '| %-52s | %4s | %7s | %7s | %s\n' case exit "peak MB" seconds outcome
ENVS=(TRIDENT_LIMITS=1)
row() {
  local name="$1"; shift
  local code=0
  env "${ENVS[@]}" TRIDENT_CLAUDE_BIN="$work/agent_line/bin/claude" \
    timeout 900 python3 peak.py "$bin" "$@" >out.txt 2>err.txt || code=$?
  read -r kb secs < peak.txt
  local outcome
  outcome="$(grep -a -m1 -E 'Error|error|✓|refused|more than|over|left out|skipped' err.txt out.txt \
    | cut -c1-110 | sed 's/^[^:]*://' || true)"
  printf '| %-52s | %4s | %7s | %7s | %s\n' "$name" "$code" "$((kb / 1024))" "$secs" "${outcome:-ok}"
  rm -f out.txt err.txt
}
run=(project run --no-artifacts -i '{"x": 1}')
for case in $cases; do
  case "$case" in
    nodes100k)
      row "manifest with 100k nodes: validate" project validate nodes100k
      row "manifest with 100k nodes: dry run" "${run[@]}" nodes100k --dry-run
      row "manifest with 100k nodes: dry run, artifacts on" project run nodes100k --dry-run -i '{"x": 1}'
      row "manifest with 100k nodes: graph" project graph nodes100k ;;
    chain100k)
      row "chain of 100k nodes: validate" project validate chain100k
      row "chain of 100k nodes: dry run, artifacts on" project run chain100k --dry-run -i '{"x": 1}'
      row "chain of 100k nodes, each mapping x twice: dry run, artifacts on" project run chainmapped100k --dry-run -i '{"x": 1}' ;;
    prompt10mb) row "10 MB prompt template: dry run" "${run[@]}" prompt10mb --dry-run ;;
    deep) row "condition nested 10k deep: validate" project validate deep ;;
    yaml)
      row "manifest YAML nested 100k deep: validate" project validate yaml
      row "prompt frontmatter nested 100k deep: validate" project validate yamlprompt ;;
    json) row "JSON input nested 100k deep (-f): run" project run io --dry-run --no-artifacts -f deep.json ;;
    io)
      # Input -> output with every artifact on and telemetry on stdout (the result on stderr).
      row "50 MB JSON input (-f), artifacts on" project run io -f in50mb.json -o json --telemetry
      row "600k small objects, 44.5 MB (-f), artifacts on" project run io -f rows600k.json -o json --telemetry
      row "600k small objects, 44.5 MB, pass-through" project run pass -f rows600k.json -o json --telemetry
      row "100 MB JSON input (-f): default limit" project run io -f in100mb.json -o json
      ENVS=(TRIDENT_MAX_INPUT_SIZE=200MB)
      row "100 MB string (-f), artifacts on, 200MB limit" project run io -f in100mb.json -o json --telemetry
      row "1.35M small objects, 101.5 MB (-f), artifacts on" project run io -f rows100mb.json -o json --telemetry
      row "1.35M small objects, 101.5 MB, pass-through" project run pass -f rows100mb.json -o json --telemetry
      row "100 MB string (-f), --no-artifacts, 200MB limit" project run io -f in100mb.json -o json --no-artifacts
      ENVS=(TRIDENT_LIMITS=1) ;;
    branch)
      row "branch loop, 4 iterations, 600k small objects (44.5 MB)" project run branchloop -f rows600k_n.json -o json
      row "same, --no-artifacts" project run branchloop -f rows600k_n.json -o json --no-artifacts ;;
    output)
      for p in sh_stdout sh_stderr sh_event py_print py_stderr py_result py_emit agent_line; do
        row "100 MB line: $p" "${run[@]}" "$p" -o json
      done ;;
    recursion)
      row "fire-and-forget trigger of itself: run" "${run[@]}" self_trigger
      row "the same behind a condition that stays true: run" project run self_trigger_if -i '{"x": 1}'
      # The detached chain goes on after that run: wait (at most 10 minutes) for all its runs
      # to end, one of them failed at TRIDENT_MAX_TRIGGER_DEPTH.
      python3 - self_trigger_if/.trident/runs/manifest.json <<'PY'
import json, sys, time
for _ in range(6000):
    try:
        runs = json.load(open(sys.argv[1]))["runs"]
    except (OSError, ValueError):
        runs = []
    failed = [r for r in runs if r["status"] == "failed"]
    if failed and all(r["status"] != "running" for r in runs):
        break
    time.sleep(0.1)
last = (failed or [{}])[-1].get("error_summary") or "no run failed: the chain did not stop"
print(f"| {'  its detached chain: ' + str(len(runs)) + ' runs in all':<52} |      |         |         | {last[:110]}")
PY
      ;;
  esac
done
