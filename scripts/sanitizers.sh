#!/bin/bash
# Builds gpgseal and its tests with AddressSanitizer and UBSan into build-asan/
# (or $1) and runs the unit and CLI suites. Any sanitizer report fails the run:
# UBSan is built not to recover, ASan halts on the first error, and leaks count.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${1:-$root/build-asan}"
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPGSEAL_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=all"
cmake --build "$build_dir" -j "$(nproc)" --target gpgseal unit_tests cli_tests

# The CLI tests run gpgseal with a bare environment, so these reach only the
# test programs; the binary relies on the build flags above and ASan's defaults.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0"
"$build_dir/tests/unit_tests"
"$build_dir/tests/cli_tests"
