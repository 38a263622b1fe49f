#!/usr/bin/env bash
# The man pages render without a single troff warning.
#
# Usage: tests/docs/man_run.sh PAGE...   (e.g. packaging/gpgseal.1)
#
# man formats for the width of the terminal, and a line that troff cannot
# fill or break warns at some widths only: each page is formatted at man's
# default width and at common terminal widths from 60 to 200 columns (a
# narrow and a wide terminal of each kind; one man run takes a while on a
# busy machine, so not every width). Prints one
# PASS/FAIL line per page, then "N passed, M failed"; exit status 0 only if
# nothing failed.
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: man_run.sh PAGE..." >&2; exit 2; }
command -v man >/dev/null || { echo "man_run.sh: man not found (man-db)" >&2; exit 1; }

passed=0
failed=0
for page in "$@"; do
  warnings=$(man --warnings -l "$page" 2>&1 >/dev/null || echo "man failed")
  for width in 60 64 67 70 72 75 78 80 90 100 120 132 150 180 200; do
    warnings+=$(MANWIDTH=$width man --warnings -l "$page" 2>&1 >/dev/null |
                sed "s/^/[$width columns] /" || echo "man failed at $width columns")
    warnings+=${warnings:+$'\n'}
  done
  warnings=$(sed '/^$/d' <<<"$warnings")
  if [[ -z $warnings ]]; then
    echo "PASS $(basename "$page")"
    passed=$((passed + 1))
  else
    echo "FAIL $(basename "$page"): $(head -n 5 <<<"$warnings")"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
