#!/usr/bin/env bash
# Load benchmark: a private Dovecot takes LMTP deliveries over 1, 4 and 16
# concurrent sessions, with and without gpgseal, and everything stored is
# checked afterwards. Figures only: no speed is ever judged.
#
# Usage: bench/load.sh [--messages N] [--sessions "1 4 16"] [--seed S] [GPGSEAL]
#        (as root: a throwaway mail user and a private Dovecot; exits 77 otherwise.
#        GPGSEAL defaults to build/gpgseal in this checkout.)
#
# For each session count, the same N messages (default 2,000; about 70% under
# 10 KiB, 25% from 10 KiB to 1 MiB, 5% from 1 to 20 MiB, made from the seed by
# bench/lmtp_load.py) go to four users filtered by the kit's 90-gpgseal.conf
# as shipped, then to four users of the same Dovecot whose sieve_before only
# keeps the message. Printed per run: messages/s, p50 and p99 delivery
# latency (MAIL FROM to the end of DATA's reply), CPU per message (Dovecot's
# cgroup: Dovecot, Sieve, gpgseal, gpg), the highest peak RSS of any gpgseal
# process (VmHWM, bench/peak_rss.c), then the filter's cost as ratios.
# Then every stored message is checked: each one stored once, the filtered
# ones RFC 3156 PGP/MIME that decrypts with the users' secret keys to the
# protected header fields, the original's Content-* fields and body, the
# others the original body.
# Exit status: 0 when all of that holds, 1 otherwise.
# Needs: what tests/e2e/run.sh needs, and a C compiler.
set -Eeuo pipefail

readonly SCRIPT=load.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-7200}
readonly CASE_TIMEOUT=600

# Options travel in the environment: lib.sh's start_run re-executes this
# script with the binary as its only argument.
while [[ $# -gt 0 ]]; do
  case $1 in
    --messages) export LOAD_MESSAGES=$2; shift 2 ;;
    --sessions) export LOAD_SESSIONS=$2; shift 2 ;;
    --seed) export LOAD_SEED=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set /s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    *) break ;;
  esac
done
readonly MESSAGES=${LOAD_MESSAGES:-2000} SESSIONS=${LOAD_SESSIONS:-1 4 16}
readonly SEED=${LOAD_SEED:-3156}
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/lib.sh"
# shellcheck source=tests/e2e/load_lib.sh
source "$REPO/tests/e2e/load_lib.sh"
[[ $# -gt 0 ]] || set -- "$REPO/build/gpgseal"

FILTERED=l0@example.org,l1@example.org,l2@example.org,l3@example.org
PLAIN=p0@example.org,p1@example.org,p2@example.org,p3@example.org
readonly FILTERED PLAIN

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client"
  kill_agents user "$tmp"/home/*/.gnupg
}
extra_teardown() { load_teardown; }

start_run "[--messages N] [--sessions LIST] [--seed S] GPGSEAL" "$@"
load_setup gpgseal-load "$1"
for address in ${FILTERED//,/ }; do add_filtered_user "$address"; done
for address in ${PLAIN//,/ }; do add_plain_user "$address"; done
load_config
load_start
# gpgseal remembers key choices only from a keyring older than two seconds.
sleep 3

# run_one KIND SESSIONS: one run; prints its row and keeps its figures for
# the ratios in $tmp/KIND-SESSIONS.row.
run_one() {
  local kind=$1 sessions=$2 tag=$1$2 rcpts before after
  [[ $kind == gpgseal ]] && rcpts=$FILTERED || rcpts=$PLAIN
  clear_rss
  before=$(cpu_ns)
  load_send "$tag" "$rcpts" "$sessions" --messages "$MESSAGES" --seed "$SEED" ||
    fail "$tag/deliver" "$(tail -n 3 "$tmp/$tag.figures") (see stderr above)"
  after=$(cpu_ns)
  local rate p50 p99 elapsed bytes cpu_ms rss=n/a
  read -r rate p50 p99 elapsed bytes <"$tmp/$tag.figures"
  cpu_ms=$(awk -v a="$before" -v b="$after" -v n="$MESSAGES" \
    'BEGIN { if (a == "n/a") print "n/a"; else printf "%.1f", (b - a) / 1e6 / n }')
  [[ $kind == gpgseal ]] && rss=$(awk -v k="$(peak_rss_kib)" \
    'BEGIN { if (k == "") print "n/a"; else printf "%.1f", k / 1024 }')
  echo "$rate $p50 $p99 $cpu_ms $bytes" >"$tmp/$kind-$sessions.row"
  printf '%-8s %-8s %8s %8s %8s %11s %12s %9s\n' "$sessions" "$kind" "$rate" "$p50" "$p99" \
    "$cpu_ms" "$rss" "$elapsed"
  local verdict plain=() address
  if [[ $kind == none ]]; then
    for address in ${PLAIN//,/ }; do plain+=(--plain "$address"); done
  fi
  if verdict=$(load_verify "$tag" "$rcpts" --messages "$MESSAGES" --seed "$SEED" \
                 "${plain[@]}" 2>&1); then
    pass "$tag/stored: $verdict"
  else
    fail "$tag/stored" "$verdict"
  fi >>"$tmp/verdicts"
  clear_mail
}

# ratio FIELD SESSIONS: gpgseal's figure over the unfiltered one.
ratio() {
  awk -v f="$1" '
    FNR == 1 && NR == 1 { split($0, g) } FNR == 1 && NR > 1 { split($0, p) }
    END { if (g[f] == "n/a" || p[f] == "n/a" || p[f] == 0) print "n/a";
          else printf "%.2f", g[f] / p[f] }' "$tmp/gpgseal-$2.row" "$tmp/none-$2.row"
}

echo "gpgseal: $("$1" --version 2>&1 | head -1); $(gpg --version | head -1); $(nproc) CPUs"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (other work on this host skews the times)"
echo "run:     $MESSAGES messages per run, seed $SEED, sessions: $SESSIONS"
echo
printf '%-8s %-8s %8s %8s %8s %11s %12s %9s\n' sessions filter msgs/s p50_s p99_s \
  cpu_ms/msg gpgseal_MiB elapsed_s
for sessions in $SESSIONS; do
  run_one none "$sessions"
  run_one gpgseal "$sessions"
done
echo
echo "cost of the filter (gpgseal / none):"
printf '%-8s %10s %10s %10s %12s\n' sessions msgs/s p50 p99 cpu/msg
for sessions in $SESSIONS; do
  printf '%-8s %10s %10s %10s %12s\n' "$sessions" "$(ratio 1 "$sessions")" \
    "$(ratio 2 "$sessions")" "$(ratio 3 "$sessions")" "$(ratio 4 "$sessions")"
done
echo
echo "cpu_ms/msg: Dovecot's cgroup (Dovecot, Sieve, gpgseal, gpg) over the messages of the run;"
echo "gpgseal_MiB: the highest VmHWM of any one gpgseal process in the run."
echo
cat "$tmp/verdicts"
check_no_leftovers
finish_run
