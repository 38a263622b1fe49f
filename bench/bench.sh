#!/usr/bin/env bash
# bench.sh: gpgseal against `gpg --armor --encrypt` of the same bytes, for a 4 KiB, a 20 MiB
# and a 100 MiB message. Prints wall time (median), each program's own peak RSS and the ratio,
# next to the targets: time <= 1.5x gpg at 4 KiB, <= 1.15x gpg at 20 MiB, peak RSS < 32 MiB
# at 100 MiB. A missed target is reported, not an error. Then, on a 4 KiB message, the
# instructions of gpgseal's own process and of the floors, split into start-up and main().
# Exits non-zero only when a run fails or gpgseal's output is not PGP/MIME that decrypts back
# to the original body.
#
# Usage: bench/bench.sh [GPGSEAL_BINARY]     (default: build/gpgseal in this checkout)
# Needs: gpg, gpgconf, a C compiler (for the peak-RSS shim and the GPGME floor), libgpgme-dev,
# openssl (else /dev/urandom); valgrind for the start-up split in instructions (else not shown).

# Both programs read through a pipe, as Dovecot feeds a filter: every `cat FILE |` is deliberate.
# shellcheck disable=SC2002,SC2016
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly bench_dir
readonly address=bench@example.org
readonly boundary='=_bench_0a1b2c3d4e5f'

die() {
  printf 'bench.sh: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac
[[ $# -le 1 ]] || { usage >&2; exit 64; }
gpgseal=${1:-$bench_dir/../build/gpgseal}
[[ -x $gpgseal ]] || die "$gpgseal is not an executable (build it first or pass its path)"
gpgseal=$(cd "$(dirname "$gpgseal")" && pwd)/$(basename "$gpgseal")
command -v gpg >/dev/null || die "gpg not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpgseal-bench.XXXXXX")
export GNUPGHOME=$tmp/gnupg
cleanup() {
  gpgconf --kill all >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -m 700 "$GNUPGHOME"

# --- the key -------------------------------------------------------------------------------
gpg --batch --quiet --passphrase '' \
  --quick-gen-key "Bench <$address>" future-default default never 2>"$tmp/keygen.err" ||
  { cat "$tmp/keygen.err" >&2; die "key generation failed"; }
fpr=$(gpg --batch --with-colons --list-keys "$address" 2>/dev/null |
  awk -F: '$1 == "fpr" { print $10; exit }')
[[ -n $fpr ]] || die "generated key not found"
gpg --batch --check-trustdb >/dev/null 2>&1 || true  # keep "checking the trustdb" out of runs
# gpgseal remembers key choices only from a keyring not written in the last two seconds
# (src/core/key_cache.hpp); a deployed keyring is older than that.
sleep 3

# compile_c ARGS...: the first C compiler that builds ARGS (output, sources and flags); its
# errors go to $tmp/cc.err. Fails if none does.
compile_c() {
  local cc
  for cc in "${CC:-cc}" gcc clang; do
    command -v "$cc" >/dev/null && "$cc" -O2 "$@" 2>"$tmp/cc.err" && return 0
  done
  return 1
}

# --- the peak-RSS shim (see peak_rss.c for why not GNU time's %M) ---------------------------
shim=$tmp/peak_rss.so
shim_ok=0
compile_c -shared -fPIC -o "$shim" "$bench_dir/peak_rss.c" && shim_ok=1
((shim_ok)) || echo "bench.sh: no C compiler could build peak_rss.c; peak RSS shown as n/a" >&2

# --- the floors (see gpgme_floor.c for why they are floors) ----------------------------------
floor=$tmp/gpgme_floor
floor_gmime=$tmp/gpgme_gmime_floor
floor_ok=0
# shellcheck disable=SC2046  # pkg-config's flags are words
compile_c -o "$floor" "$bench_dir/gpgme_floor.c" $(pkg-config --cflags --libs gpgme) &&
  compile_c -o "$floor_gmime" -DFLOOR_WITH_GMIME "$bench_dir/gpgme_floor.c" \
    $(pkg-config --cflags --libs gpgme gmime-3.0) &&
  floor_ok=1
((floor_ok)) || echo "bench.sh: gpgme_floor.c did not build (libgpgme-dev, libgmime-3.0-dev?);" \
  "floors shown as n/a" >&2

# --- the messages ----------------------------------------------------------------------------
# Deterministic pseudo-random bytes: an AES-CTR keystream, so every run compresses alike.
random_bytes() {
  if command -v openssl >/dev/null; then
    head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt \
      -K 67707373656c2062656e6368206b6579 -iv 00000000000000000000000000000000
  else
    head -c "$1" /dev/urandom
  fi
}

to_crlf() { sed 's/$/\r/'; }  # Dovecot feeds filters CRLF (sieve_filter_input_eol = crlf)

message_head() {  # $1: label, $2: padding
  cat <<EOF
Return-Path: <carol@example.net>
Delivered-To: $address
Received: from mx.example.net (mx.example.net [192.0.2.25])
	by mail.example.org (Postfix) with ESMTPS id 4XbQ7m2kZ9z1
	for <$address>; Thu, 21 Nov 2024 09:12:44 +0000 (UTC)
From: Carol Sender <carol@example.net>
To: Bench <$address>
Subject: Quarterly figures ($1)
Date: Thu, 21 Nov 2024 09:12:41 +0000
Message-ID: <bench-$1.$2@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="$boundary"

This is a multi-part message in MIME format.

--$boundary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hello,

the figures for the quarter are attached. Numbers in the summary
sheet are provisional until the audit closes on Friday.

Regards,
Carol

--$boundary
Content-Type: application/octet-stream; name="figures.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="figures.bin"

EOF
}

message_tail() {
  printf '%s\n' "--$boundary--"
}

# write_message LABEL BYTES FILE: a message of exactly BYTES bytes, made up to size by the
# base64 attachment; the last few bytes base64 cannot fill pad the Message-ID.
write_message() {
  local head=$tmp/head tail=$tmp/tail
  message_head "$1" "" | to_crlf >"$head"
  message_tail | to_crlf >"$tail"
  local room=$(($2 - $(stat -c %s "$head") - $(stat -c %s "$tail")))
  # base64 -w 76 + CRLF: 57 bytes per 78-byte line; a short last line is 4 chars per 3 bytes.
  local lines=$((room / 78)) rest=$((room % 78))
  local quads=$(((rest - 2) / 4))  # 4-char groups that fit the last line, before its CRLF
  ((quads > 0)) || quads=0
  local raw=$((lines * 57 + quads * 3))
  local encoded=$((lines * 78 + (quads > 0 ? quads * 4 + 2 : 0)))
  local pad
  pad=$(printf '%*s' $((room - encoded)) '' | tr ' ' 0)
  message_head "$1" "$pad" | to_crlf >"$head"
  {
    cat "$head"
    random_bytes "$raw" | base64 -w 76 | to_crlf
    cat "$tail"
  } >"$3"
}

# --- measuring -------------------------------------------------------------------------------
gpg_cmd=(gpg --batch --quiet --armor --encrypt --trust-model always -r "$fpr")
seal_cmd=("$gpgseal" --gnupghome "$GNUPGHOME" "$address")
floor_cmd=("$floor" "$fpr")
floor_gmime_cmd=("$floor_gmime" "$fpr")

# fail_run WHAT STATUS: shows the failed program's stderr, then stops the benchmark.
fail_run() {
  sed 's/^/  | /' "$tmp/stderr" >&2
  die "$1 on the $label message exited with status $2"
}

# wall_ns FILE CMD...: one run fed through a pipe, output discarded; prints nanoseconds.
wall_ns() {
  local file=$1 start end
  shift
  start=$(date +%s%N)
  cat "$file" | "$@" >/dev/null 2>"$tmp/stderr" || fail_run "$1" $?
  end=$(date +%s%N)
  echo $((end - start))
}

# peak_rss_kib FILE OUT CMD...: one run under the shim, output kept in OUT; prints KiB or n/a.
peak_rss_kib() {
  local file=$1 out=$2
  shift 2
  rm -f "$tmp/rss"
  if ((shim_ok)); then
    cat "$file" | PEAK_RSS_FILE=$tmp/rss LD_PRELOAD=$shim "$@" >"$out" 2>"$tmp/stderr" ||
      fail_run "$1" $?
  else
    cat "$file" | "$@" >"$out" 2>"$tmp/stderr" || fail_run "$1" $?
  fi
  if [[ -s $tmp/rss ]]; then cat "$tmp/rss"; else echo n/a; fi
}

mib() {
  if [[ $1 == n/a ]]; then echo n/a; else awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; fi
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
minimum() { printf '%s\n' "$@" | sort -n | head -1; }

# --- checking gpgseal's output ---------------------------------------------------------------
unfolded_headers() {  # headers of a message, one per line, continuation lines joined
  awk '{ sub(/\r$/, "") } /^$/ { exit } /^[ \t]/ { h = h " " $0; next }
       { if (h != "") print h; h = $0 } END { if (h != "") print h }' "$1"
}

body_lf() {  # everything after the first empty line, with LF line ends
  tr -d '\r' <"$1" | awk 'body { print; next } /^$/ { body = 1 }'
}

# check_output ORIGINAL ENCRYPTED: RFC 3156 structure, and the decrypted entity's body equals
# the original message's body (line ends aside).
check_output() {
  local orig=$1 enc=$2 ctype
  ctype=$(unfolded_headers "$enc" | grep -i '^content-type:' | sed 's/^[^:]*: *//' || true)
  [[ ${ctype,,} == *multipart/encrypted* && ${ctype,,} == *application/pgp-encrypted* ]] ||
    die "gpgseal did not encrypt the $label message (its Content-Type: ${ctype:-none})"
  sed -n '/^-----BEGIN PGP MESSAGE-----/,/^-----END PGP MESSAGE-----/p' "$enc" >"$tmp/armor"
  [[ -s $tmp/armor ]] || die "no PGP MESSAGE block in gpgseal's output for the $label message"
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' --decrypt \
    --output "$tmp/inner" "$tmp/armor" 2>"$tmp/stderr" || fail_run "decrypting gpgseal's output" $?
  body_lf "$orig" >"$tmp/body.orig"
  body_lf "$tmp/inner" >"$tmp/body.inner"
  cmp -s "$tmp/body.orig" "$tmp/body.inner" ||
    die "gpgseal's output for the $label message decrypts to a different body:" \
      "$(stat -c %s "$tmp/body.inner") bytes, expected $(stat -c %s "$tmp/body.orig")" \
      "($(cmp "$tmp/body.orig" "$tmp/body.inner" 2>&1 | head -1))"
  rm -f "$tmp/armor" "$tmp/inner" "$tmp/body.orig" "$tmp/body.inner"
}

# --- start-up, in instructions -------------------------------------------------------------
# On a 4 KiB message wall time is mostly the gpg runs and this host's noise. The instructions of
# the filter's own process (not of the gpg it starts) are exact and repeat from run to run:
# callgrind counts them in all and inside main(); the rest is the dynamic loader's relocations
# and the libraries' constructors, before main, and their destructors after it.

# instructions FILE CMD...: "TOTAL IN_MAIN" for CMD's own process reading FILE.
instructions() {
  local file=$1 pid
  shift
  valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.%p" "$@" <"$file" >/dev/null \
    2>"$tmp/stderr" &
  pid=$!
  wait "$pid" || { sed 's/^/  | /' "$tmp/stderr" >&2; die "$1 failed under valgrind"; }
  callgrind_annotate --inclusive=yes "$tmp/callgrind.$pid" 2>/dev/null | awk '
    /PROGRAM TOTALS/ { gsub(/,/, "", $1); total = $1 }
    / [^ ]*:main \[/ && !in_main { gsub(/,/, "", $1); in_main = $1 }
    END { print total, in_main }'
  rm -f "$tmp"/callgrind.*
}

print_startup_split() {
  if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
    echo "(no valgrind: the start-up split in instructions is not shown)"
    return
  fi
  local msg=$tmp/split.eml name total in_main
  write_message split 4096 "$msg"
  echo
  echo "start-up on a 4 KiB message: instructions of the filter's own process (callgrind; its gpg"
  echo "runs not counted), in all, outside main() (loader, constructors) and inside main():"
  printf '%-22s %8s %14s %12s\n' program total_M outside_main_M in_main_M
  for name in gpgseal floor +gmime_floor; do
    case $name in
      gpgseal) read -r total in_main < <(instructions "$msg" "${seal_cmd[@]}") ;;
      floor) ((floor_ok)) || continue
        read -r total in_main < <(instructions "$msg" "${floor_cmd[@]}") ;;
      +gmime_floor) ((floor_ok)) || continue
        read -r total in_main < <(instructions "$msg" "${floor_gmime_cmd[@]}") ;;
    esac
    awk -v n="$name" -v t="$total" -v m="$in_main" \
      'BEGIN { printf "%-22s %8.2f %14.2f %12.2f\n", n, t / 1e6, (t - m) / 1e6, m / 1e6 }'
  done
}

# --- the run ---------------------------------------------------------------------------------
sizes=(4096 20971520 104857600)
labels=("4 KiB" "20 MiB" "100 MiB")
runs=(31 5 3)

printf 'gpgseal: %s (%s)\n' "$gpgseal" "$("$gpgseal" --version 2>&1 | head -1)"
printf 'gpg:     %s, %s CPUs, %s\n' "$(gpg --version | head -1)" "$(nproc)" "$(uname -r)"
printf 'key:     %s; both read `cat FILE |`, write to /dev/null\n' "$fpr"
printf 'load:    %s (other work on this host skews the times)\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

rows=()
seal_100m_s=
for i in "${!sizes[@]}"; do
  label=${labels[$i]}
  msg=$tmp/msg-$i.eml
  write_message "${label// /}" "${sizes[$i]}" "$msg"
  printf 'measuring %-7s (%d bytes, %d runs each) ...\n' "$label" "$(stat -c %s "$msg")" \
    "${runs[$i]}" >&2

  # First run of each program: peak RSS, gpgseal's output checked; also the warm-up.
  gpg_rss=$(peak_rss_kib "$msg" /dev/null "${gpg_cmd[@]}")
  seal_rss=$(peak_rss_kib "$msg" "$tmp/out.eml" "${seal_cmd[@]}")
  check_output "$msg" "$tmp/out.eml"
  rm -f "$tmp/out.eml"

  gpg_t=() seal_t=() floor_t=() floor_gmime_t=()
  for ((r = 0; r < runs[i]; r++)); do  # interleaved, so drift hits all alike
    gpg_t+=("$(wall_ns "$msg" "${gpg_cmd[@]}")")
    seal_t+=("$(wall_ns "$msg" "${seal_cmd[@]}")")
    if ((floor_ok)); then
      floor_t+=("$(wall_ns "$msg" "${floor_cmd[@]}")")
      floor_gmime_t+=("$(wall_ns "$msg" "${floor_gmime_cmd[@]}")")
    fi
  done
  floor_ratio=n/a floor_gmime_ratio=n/a
  if ((floor_ok)); then
    floor_ratio=$(awk -v a="$(median "${floor_t[@]}")" -v b="$(median "${gpg_t[@]}")" \
      'BEGIN { printf "%.3f", a / b }')
    floor_gmime_ratio=$(awk -v a="$(median "${floor_gmime_t[@]}")" -v b="$(median "${gpg_t[@]}")" \
      'BEGIN { printf "%.3f", a / b }')
  fi
  gpg_ns=$(median "${gpg_t[@]}")
  seal_ns=$(median "${seal_t[@]}")
  gpg_s=$(awk -v n="$gpg_ns" 'BEGIN { printf "%.3f", n / 1e9 }')
  seal_s=$(awk -v n="$seal_ns" 'BEGIN { printf "%.3f", n / 1e9 }')
  ratio=$(awk -v a="$seal_ns" -v b="$gpg_ns" 'BEGIN { printf "%.3f", a / b }')
  best_ratio=$(awk -v a="$(minimum "${seal_t[@]}")" -v b="$(minimum "${gpg_t[@]}")" \
    'BEGIN { printf "%.3f", a / b }')
  gpg_mib=$(mib "$gpg_rss")
  seal_mib=$(mib "$seal_rss")

  case $i in
    0) target="time <= 1.5x gpg"
       ok=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.5) ? "yes" : "NO" }') ;;
    1) target="time <= 1.15x gpg"
       ok=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.15) ? "yes" : "NO" }') ;;
    2) target="RSS < 32 MiB"
       ok=$(awk -v m="$seal_mib" 'BEGIN { print (m == "n/a") ? "n/a" : (m < 32) ? "yes" : "NO" }')
       seal_100m_s=$seal_s ;;
  esac
  rows+=("$(printf '%-8s %10d %8s %10s %7s %11s %12s %12s %12s %16s  %-18s %s' "$label" \
    "$(stat -c %s "$msg")" "$gpg_s" "$seal_s" "$ratio" "$best_ratio" "$floor_ratio" \
    "$floor_gmime_ratio" "$gpg_mib" "$seal_mib" "$target" "$ok")")
  rm -f "$msg"
done

echo
printf '%-8s %10s %8s %10s %7s %11s %12s %12s %12s %16s  %-18s %s\n' size bytes gpg_s gpgseal_s \
  ratio ratio_best floor_ratio +gmime_ratio gpg_rss_MiB gpgseal_rss_MiB target ok?
printf '%s\n' "${rows[@]}"
echo
echo "times: median wall clock of the runs, including \`cat\`; ratio = gpgseal_s / gpg_s, judged"
echo "against the target; ratio_best = fastest gpgseal run / fastest gpg run (less load noise)."
echo "floor_ratio = bench/gpgme_floor.c (GPGME's version probe + one encryption, nothing else)"
echo "/ gpg_s: no filter that encrypts through GPGME, started per message, can go below it;"
echo "+gmime_ratio: the same program also loading GMime (GLib, GIO), the floor with both libraries."
echo "RSS: VmHWM of that process alone (bench/peak_rss.c), not of the gpg it runs."
awk -v s="$seal_100m_s" 'BEGIN { if (s > 10) printf "note: %s s at 100 MiB exceeds Dovecot'"'"'s default sieve_filter_exec_timeout (10 s).\n", s }'
echo "All gpgseal outputs were RFC 3156 PGP/MIME and decrypted to the original bodies."
print_startup_split
