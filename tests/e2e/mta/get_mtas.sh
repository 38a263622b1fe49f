#!/usr/bin/env bash
# Gets Debian's real MTAs into a private prefix, one directory per MTA, for
# the end-to-end tests: postfix, exim4 (exim4-daemon-light, exim4-base,
# exim4-config) and opensmtpd.
#
# Usage: tests/e2e/mta/get_mtas.sh [postfix|exim4|opensmtpd]...  (as root)
#   With no name, all three. Prints one line per MTA: NAME PREFIX.
#   GPGSEAL_MTA_CACHE overrides the cache (default /var/cache/gpgseal-tests/mta).
#
# The three packages conflict (each is Debian's one mail-transport-agent), so
# none is installed: `apt-get download` fetches the .debs and `dpkg -x`
# unpacks them into CACHE/NAME, whatever MTA (if any) the system has. Their
# maintainer scripts never run, so nothing outside CACHE changes. The
# libraries they link are ordinary packages that scripts/install-deps.sh
# installs; this script checks with ldd that none is missing.
#
# Idempotent and cached: a prefix is unpacked again only when apt's candidate
# version changed (a security update after `apt-get update`; apt is asked
# only when its package lists are newer than the cache); if the download
# then fails, the cached prefix is kept. Concurrent runs take turns (flock).
# The prefix is laid out like /: lib_mta.sh overlays its usr/ on /usr inside a
# private mount namespace, where the binaries find their helpers and
# libraries at their compiled-in paths.
set -euo pipefail

readonly CACHE=${GPGSEAL_MTA_CACHE:-/var/cache/gpgseal-tests/mta}
readonly ALL=(postfix exim4 opensmtpd)

die() { echo "get_mtas.sh: $*" >&2; exit 1; }

packages_of() {
  case $1 in
    postfix) echo postfix ;;
    exim4) echo exim4-daemon-light exim4-base exim4-config ;;
    opensmtpd) echo opensmtpd ;;
    *) die "unknown MTA '$1' (known: ${ALL[*]})" ;;
  esac
}

# "package=version ..." for every MTA named, as apt would fetch them now
# (one apt-cache run: it takes seconds on a busy machine).
candidates() {
  local names=("$@") packages=() name
  for name in "${names[@]}"; do
    # shellcheck disable=SC2207  # package names have no blanks
    packages+=($(packages_of "$name"))
  done
  apt-cache policy "${packages[@]}" |
    awk '/^[^ ]/ { sub(":$", "", $1); package = $1 }
         $1 == "Candidate:" && $2 != "(none)" { print package "=" $2 }'
}

# The candidates of one MTA, from candidates()' output in $CANDIDATES.
candidates_of() {
  local package line wanted=""
  for package in $(packages_of "$1"); do
    line=$(grep -m1 "^$package=" <<<"$CANDIDATES") ||
      die "apt knows no candidate for $package (run apt-get update)"
    wanted+="$line "
  done
  echo "$wanted"
}

# The shared libraries (sonames) that the ELF files in PREFIX link directly,
# other than the prefix's own (postfix's RUNPATH is /usr/lib/postfix, which
# the overlay provides at run time). Direct ones suffice: an installed
# library package brings its own dependencies.
needed_libraries() {
  local prefix=$1 own file
  own=$(find "$prefix/usr/lib" -name '*.so*' -printf '%f\n' 2>/dev/null)
  find "$prefix/usr" -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
    while IFS= read -r -d '' file; do
      head -c 4 "$file" | grep -q ELF || continue
      readelf -d "$file" 2>/dev/null |
        sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'
    done | sort -u | grep -vxF -e "${own:-/}"
}

# The needed sonames the dynamic linker's cache does not have.
missing_libraries() {
  local known
  known=$(ldconfig -p | awk 'NR > 1 { print $1 }')
  grep -vxF -e "$known" "$1/.gpgseal-needed" || true
}

fetch() {
  local name=$1 wanted=$2 dir=$CACHE/$1 work deb
  work=$(mktemp -d "$CACHE/.$name.XXXXXX")
  # apt fetches as _apt when it can write the directory, else it warns.
  chown _apt "$work" 2>/dev/null || true
  # shellcheck disable=SC2086  # one word per package=version
  if ! (cd "$work" && apt-get download -q $wanted >"$work/apt.log" 2>&1); then
    cat "$work/apt.log" >&2
    rm -rf "$work"
    return 1
  fi
  mkdir "$work/root"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
  needed_libraries "$work/root" >"$work/root/.gpgseal-needed"
  echo "$wanted" >"$work/root/.gpgseal-versions"
  rm -rf "$dir.old"
  [[ -e $dir ]] && mv "$dir" "$dir.old"
  mv "$work/root" "$dir"
  rm -rf "$work" "$dir.old"
}

# True if the cached NAME is as new as apt's package lists: the candidate
# versions cannot have changed since (asking apt takes seconds).
fresh() {
  local stamp=$CACHE/$1/.gpgseal-versions
  [[ -f $stamp ]] || return 1
  [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' \
            -newer "$stamp" -print -quit) ]]
}

get() {
  local name=$1 wanted have="" missing
  if ! fresh "$name"; then
    [[ -n ${CANDIDATES:-} ]] || CANDIDATES=$(candidates "${NAMES[@]}")
    wanted=$(candidates_of "$name")
    [[ -f $CACHE/$name/.gpgseal-versions ]] &&
      have=$(cat "$CACHE/$name/.gpgseal-versions")
    if [[ $have != "$wanted" ]]; then
      if ! fetch "$name" "$wanted"; then
        [[ -n $have ]] || die "could not download $name"
        echo "get_mtas.sh: download failed, keeping cached $have" >&2
      fi
    else
      touch "$CACHE/$name/.gpgseal-versions"
    fi
  fi
  missing=$(missing_libraries "$CACHE/$name")
  # shellcheck disable=SC2086  # one soname per word
  [[ -z $missing ]] || die "$name needs libraries that are not installed" \
    "(run scripts/install-deps.sh):" $missing
  echo "$name $CACHE/$name"
}

main() {
  [[ $(id -u) -eq 0 ]] || die "run as root (apt-get download, dpkg -x)"
  local name
  NAMES=("$@")
  [[ ${#NAMES[@]} -gt 0 ]] || NAMES=("${ALL[@]}")
  for name in "${NAMES[@]}"; do packages_of "$name" >/dev/null; done
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  for name in "${NAMES[@]}"; do get "$name"; done
}

main "$@"
