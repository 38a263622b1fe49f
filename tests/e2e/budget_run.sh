#!/usr/bin/env bash
# End-to-end test: time and memory budgets under load. A private Dovecot with
# the kit's 90-gpgseal.conf takes one 20 MiB delivery, then 16 of them at
# once over 16 LMTP sessions (bench/lmtp_load.py). It passes when:
# - the single one, under the kit's deadlines as shipped
#   (sieve_filter_exec_timeout 60s, gpgseal_timeout 50), is stored encrypted
#   and decrypts to the original;
# - the 16 are all stored, encrypted, and decrypt to the originals. Their
#   user has deadlines of 300 s: on 2 shared cores 16 x 20 MiB at once is
#   what the README's rule says the shipped 60 s is not sized for;
# - every gpgseal process's peak RSS (VmHWM, bench/peak_rss.c) is within
#   32 MiB, and each of the 16 recorded one;
# - the machine did not swap: pswpin/pswpout (/proc/vmstat) and
#   SwapTotal - SwapFree (/proc/meminfo) did not grow.
# It also prints the figures the README's timeout rule rests on: wall time,
# p50/p99 delivery latency, CPU seconds, and MiB encrypted per CPU second.
#
# Usage: tests/e2e/budget_run.sh GPGSEAL_BINARY   (as root; exits 77 otherwise)
# Output and exit status as tests/e2e/run.sh. Needs: what run.sh needs, a C compiler.
set -Eeuo pipefail

readonly SCRIPT=budget_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-400}
readonly CASE_TIMEOUT=300
readonly COUNT=16
readonly LIMIT_KIB=$((32 * 1024))
readonly SINGLE=b0@example.org MANY=b1@example.org
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/load_lib.sh
source "$HERE/load_lib.sh"

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client"
  kill_agents user "$tmp"/home/*/.gnupg
}
extra_teardown() { load_teardown; }

# Pages swapped in and out so far, and swap in use (KiB), as one line.
swap_counters() {
  echo "$(awk '$1 == "pswpin" || $1 == "pswpout" { printf "%s=%s ", $1, $2 }' /proc/vmstat)" \
    "$(awk '$1 == "SwapTotal:" { t = $2 } $1 == "SwapFree:" { f = $2 }
            END { printf "swap_used_kib=%d", t - f }' /proc/meminfo)"
}

start_run GPGSEAL_BINARY "$@"
load_setup gpgseal-budget "$1"
add_filtered_user "$SINGLE"
add_filtered_user "$MANY" userdb_sieve_filter_exec_timeout=300s userdb_sieve_env_gpgseal_timeout=290
load_config
load_start
sleep 3  # key choices are remembered only from a keyring older than two seconds

if load_send single "$SINGLE" 1 --messages 1 --mix huge 2>"$tmp/single.err" &&
   verdict=$(load_verify single "$SINGLE" --messages 1 --mix huge 2>&1); then
  pass "shipped-deadlines/20MiB: $(cut -d' ' -f4 "$tmp/single.figures") s; $verdict"
else
  fail "shipped-deadlines/20MiB" "$(tail -n 5 "$tmp/single.err") ${verdict:-}"
fi
clear_mail
clear_rss

swap_before=$(swap_counters)
cpu_before=$(cpu_ns)
if load_send budget "$MANY" "$COUNT" --messages "$COUNT" --mix huge \
     2>"$tmp/budget.err"; then
  pass "deliver/$COUNT-at-once"
else
  fail "deliver/$COUNT-at-once" "$(tail -n 5 "$tmp/budget.err")"
fi
cpu_after=$(cpu_ns)
swap_after=$(swap_counters)

read -r _ p50 p99 elapsed bytes <"$tmp/budget.figures"
echo "figures: $COUNT x 20 MiB in ${elapsed} s, p50 ${p50} s, p99 ${p99} s;" \
  "$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$bytes" 'BEGIN {
     if (a == "n/a") print "CPU n/a";
     else printf "%.1f CPU s, %.1f MiB per CPU second", (b - a) / 1e9, n / 1048576 / ((b - a) / 1e9) }')"

if verdict=$(load_verify budget "$MANY" --messages "$COUNT" --mix huge 2>&1); then
  pass "stored/encrypted: $verdict"
else
  fail "stored/encrypted" "$verdict"
fi

peak=$(peak_rss_kib)
if [[ $(rss_count) -ne $COUNT ]]; then
  fail "rss/recorded" "$(rss_count) gpgseal processes recorded a peak RSS, expected $COUNT"
elif ((peak > LIMIT_KIB)); then
  fail "rss/within-32MiB" "a gpgseal process peaked at $peak KiB"
else
  pass "rss/within-32MiB: highest $peak KiB"
fi

if [[ $swap_before == "$swap_after" ]]; then
  pass "no-swap: $swap_after"
else
  fail "no-swap" "before: $swap_before; after: $swap_after"
fi

check_no_leftovers
finish_run
