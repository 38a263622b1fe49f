#!/bin/bash
# Builds the Debian package of this tree: writes build-deb/gpgseal_VERSION_ARCH.deb
# (with its .buildinfo, .changes and debug symbols), or into directory $1,
# replacing the gpgseal packages built there before.
#
# The tree is copied (without .git and the build*/ directories) to a temporary
# directory, where packaging/debian becomes debian/, and `dpkg-buildpackage -b`
# builds the binary package there: in the checkout, only the output directory
# is written to. The package's own test run is skipped
# (DEB_BUILD_OPTIONS=nocheck): scripts/test.sh runs the tests. Needs the build
# dependencies in packaging/debian/control, dpkg-dev and debhelper (all
# installed by scripts/install-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/build-deb}" && cd "${1:-$root/build-deb}" && pwd)"

work="$(mktemp -d "${TMPDIR:-/tmp}/gpgseal-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT
src="$work/gpgseal"
mkdir "$src"
tar -C "$root" --anchored --exclude=./.git --exclude='./build*' \
  --exclude=./debian --exclude='./obj-*' -cf - . | tar -C "$src" -xf -
cp -a "$src/packaging/debian" "$src/debian"

(
  cd "$src"
  DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b -Pnocheck -j"$(nproc)"
)

shopt -s nullglob
# A package built before, maybe of another version, must not be taken for this one.
rm -f "$out"/gpgseal_*.deb "$out"/gpgseal-dbgsym_*.*deb "$out"/gpgseal_*.buildinfo \
  "$out"/gpgseal_*.changes
products=("$work"/*.deb "$work"/*.ddeb "$work"/*.buildinfo "$work"/*.changes)
cp "${products[@]}" "$out/"
for deb in "$work"/*.deb; do
  echo "build-deb.sh: $out/$(basename "$deb")"
done
