#!/bin/bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into
# build-fuzz/ (or $1) and runs each on its seed corpus for a fixed number of
# inputs from a fixed seed, so that a run is repeatable and CI fails only on
# what a rehearsal would find too (FUZZ_SEED, FUZZ_RUNS change that for longer
# exploration; the seconds below cap each target). Prints libFuzzer's
# final line per target (executions, coverage) and exits non-zero if any
# target crashed or broke an invariant; the reproducer is left in
# build-fuzz/findings/. Installs nothing: needs clang and libclang-rt-14-dev.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${1:-$root/build-fuzz}"
# The whole filter runs gpg three times per input, so it gets the most time.
declare -A budget=([detect]=30 [armor_scan]=15 [payload]=25 [filter]=40 [smtpd_protocol]=15)
declare -A inputs=([detect]=20000 [armor_scan]=100000 [payload]=50000 [filter]=300
  [smtpd_protocol]=200000)
fuzz_dir="$root/tests/fuzz"

cmake -S "$root" -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGPGSEAL_SANITIZE=ON -DGPGSEAL_FUZZ=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target fuzz_targets

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$fuzz_dir/lsan.supp:print_suppressions=0"
mkdir -p "$build_dir/findings"
status=0
for target in detect armor_scan payload filter smtpd_protocol; do
  seconds="${FUZZ_SECONDS:-${budget[$target]}}"
  work="$build_dir/corpus/$target"  # new inputs land here; the seeds stay untouched
  mkdir -p "$work"
  seeds=("$fuzz_dir/corpus/$target")
  case $target in armor_scan | smtpd_protocol) ;; *) seeds+=("$root/tests/data") ;; esac
  log="$build_dir/fuzz_$target.log"
  if ! "$build_dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=20 \
      -seed="${FUZZ_SEED:-1}" -runs="${FUZZ_RUNS:-${inputs[$target]}}" \
      -dict="$fuzz_dir/mime.dict" -print_final_stats=1 \
      -artifact_prefix="$build_dir/findings/$target-" "$work" "${seeds[@]}" >"$log" 2>&1; then
    status=1
    echo "fuzz_$target FAILED; log: $log" >&2
    grep -E 'INVARIANT BROKEN|ERROR: |SUMMARY: |Test unit written' "$log" >&2 || tail -n 30 "$log" >&2
  fi
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
  runs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)"
  echo "fuzz_$target: ${runs:-?} executions in ${seconds}s; ${done_line:-no final line}"
done
exit "$status"
