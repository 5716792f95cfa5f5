#!/usr/bin/env bash
# Fuzz every parser of untrusted text (targets in fuzz_targets/, seeds in corpus/<target>/).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]   run each target SECONDS (default 30); fail on a crash
#   bash fuzz/run.sh --minimize [TARGET...]  shrink corpus/<target>/ to the inputs that matter
#
# libFuzzer needs nightly compiler flags: the stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1. No sanitizer by default (trident is safe Rust; a panic, an overflow
# check, a stack overflow, a timeout or too much memory is what is looked for); set
# TRIDENT_FUZZ_SANITIZER=address for AddressSanitizer. New inputs that reach new code are
# added to corpus/<target>/ (commit them after --minimize); a crash is saved under
# artifacts/<target>/ and reproduced with `cargo fuzz run TARGET artifacts/TARGET/FILE`.
# Prints a table: target, executions, new corpus inputs, crashes.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
sanitizer="${TRIDENT_FUZZ_SANITIZER:-none}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install cargo-fuzz --locked)" >&2
  cargo install cargo-fuzz --locked
fi

minimize=0
if [ "${1:-}" = "--minimize" ]; then
  minimize=1
  shift
fi
seconds=30
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
# -a: debug assertions (integer overflow and other checks) in the fuzzed code.
if [ $# -gt 0 ]; then
  targets=("$@")
  for t in "${targets[@]}"; do cargo fuzz build -s "$sanitizer" -a "$t"; done
else
  mapfile -t targets < <(cargo fuzz list)
  cargo fuzz build -s "$sanitizer" -a
fi

if [ "$minimize" = 1 ]; then
  for t in "${targets[@]}"; do
    cargo fuzz cmin -s "$sanitizer" -a "$t" "corpus/$t"
  done
  du -sh corpus
  exit 0
fi

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed=()
printf '%-14s %12s %8s %8s\n' target executions new crashes
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: over 2 GB is a leak or
  # an input size that is not bounded; -max_len: inputs up to 64 KB.
  if cargo fuzz run -s "$sanitizer" -a "$t" "corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 >"$logs/$t" 2>&1; then
    crashes=0
  else
    crashes=1
    failed+=("$t")
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t" | tail -1)
  new=$(sed -n 's/^stat::new_units_added: *//p' "$logs/$t" | tail -1)
  printf '%-14s %12s %8s %8s\n' "$t" "${runs:-?}" "${new:-?}" "$crashes"
done
if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "== $t crashed:" >&2
    grep -E -A25 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$logs/$t" | head -60 >&2
  done
  exit 1
fi
