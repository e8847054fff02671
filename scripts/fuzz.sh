#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/) for a bounded time over its seed corpus:
#   scripts/fuzz.sh [seconds-per-target] [target...]
# Default 10 s per target (the CI stage); `scripts/fuzz.sh 600` is the longer
# local campaign recorded in docs/fuzzing.md. Builds the fuzz preset first,
# unless TESSERA_FUZZ_BIN_DIR names already built targets. A crash, leak,
# sanitizer report, timeout or out-of-memory fails the run; its reproducer is
# written to $OUT/artifacts/. New inputs found go to $OUT/corpus/<target>
# (the checked-in seeds under fuzz/corpus/ are only read), so re-runs with
# the same TESSERA_FUZZ_OUT continue from what earlier runs reached.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-10}
shift || true
OUT=${TESSERA_FUZZ_OUT:-build/fuzz/runs}

if [[ -z ${TESSERA_FUZZ_BIN_DIR:-} ]]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz
  BIN_DIR=build/fuzz/fuzz
else
  BIN_DIR=$TESSERA_FUZZ_BIN_DIR
fi
if (($#)); then
  TARGETS=("$@")
else
  mapfile -t TARGETS <"$BIN_DIR/fuzzers.txt"
fi

mkdir -p "$OUT/artifacts" "$OUT/logs"
# Leaks and undefined behaviour are findings too; libFuzzer's own -error_exitcode
# marks every finding (77 for UBSan, set here so it is not mistaken for success).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
printf '%-24s %12s %10s %8s %8s %10s %s\n' target executions exec/s cov ft corpus result
for target in "${TARGETS[@]}"; do
  name=${target#fuzz_}
  seeds=fuzz/corpus/$name
  corpus=$OUT/corpus/$name
  log=$OUT/logs/$name.log
  mkdir -p "$corpus"
  options=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$OUT/artifacts/$name-")
  if [[ -f fuzz/dict/$name.dict ]]; then
    options+=(-dict="fuzz/dict/$name.dict")
  fi
  result=ok
  if ! "$BIN_DIR/$target" "${options[@]}" "$corpus" "$seeds" >"$log" 2>&1; then
    result="FAILED (see $log)"
    failed+=("$target")
  fi
  # The last status line ("#N ... cov: C ft: F corp: U/S ...") and the final stats.
  status=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[A-Za-z]*).*/\1/p' <<<"$status")
  runs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log")
  speed=$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)/\1/p' "$log")
  printf '%-24s %12s %10s %8s %8s %10s %s\n' "$name" "${runs:--}" "${speed:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$result"
  if [[ $result != ok ]]; then
    # The finding itself: the sanitizer's or libFuzzer's report.
    grep -E -A30 '^==[0-9]+==ERROR|runtime error|fuzz finding|deadly signal|timeout after|out-of-memory' "$log" | head -60 || true
  fi
done

if ((${#failed[@]})); then
  echo "fuzzing found problems in: ${failed[*]} (reproducers in $OUT/artifacts/)" >&2
  exit 1
fi
echo "fuzzing: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET}s each, no findings"
