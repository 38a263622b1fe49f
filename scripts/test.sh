#!/bin/bash
# The whole test suite: installs dependencies, builds, and runs unit, CLI and
# end-to-end (real Dovecot) tests through ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
cd "$root/build"
ctest --output-on-failure --timeout 1200
