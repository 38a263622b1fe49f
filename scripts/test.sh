#!/bin/bash
# The whole test suite: installs dependencies, builds, then runs
#   1. ctest, two at a time: each unit and CLI test as its own ctest test, the
#      include rules, and the end-to-end suites (real Dovecot, one at a time);
#   2. the unit and CLI tests again under AddressSanitizer and UBSan;
#   3. each libFuzzer target for a bounded time (about two minutes in all).
# Every stage runs even if an earlier one failed; the exit status is non-zero
# if any failed.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh" || exit 1
"$root/scripts/build.sh" "$root/build" || exit 1

passed=0
failed=0
stage() {
  local name="$1"
  shift
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "=== $name FAILED" >&2
  fi
}
stage "ctest" bash -c "cd '$root/build' && ctest -j2 --output-on-failure --timeout 1200"
stage "sanitizers" "$root/scripts/sanitizers.sh" "$root/build-asan"
stage "fuzzing" "$root/scripts/fuzz.sh" "$root/build-fuzz"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
