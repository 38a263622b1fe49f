#!/usr/bin/env bash
# End-to-end test: faults during a load run. A private Dovecot with the kit's
# 90-gpgseal.conf and the STRICT script (gpgseal-before-strict.sieve: a
# message gpgseal cannot encrypt is stored in clear only in `Unencrypted`,
# flagged $FilterFailed) takes small load runs over 4 LMTP sessions
# (bench/lmtp_load.py) while one fault happens at a time:
# - keyring: a key added and a key revoked while deliveries run;
# - cache: the key cache file truncated and filled with garbage, again and again;
# - gpg-kill: every 20th encrypting gpg SIGKILLed within 2 ms of its start
#   (a wrapper bind-mounted over gpg in Dovecot's own mount namespace);
# - tmpfs: $TMPDIR on a 1 MiB tmpfs, which the spools of any message over
#   about 520 KiB fill on their own (however the deliveries overlap);
# - syslog: /dev/log bound by a daemon that never reads (queue full);
# - clock: gpgseal's wall clock jumping back and forward by hours and a day
#   (libfaketime; file times stay true) while a key is added and one revoked.
# For each: every message stored exactly once (nothing lost, nothing
# duplicated), and nothing in clear outside `Unencrypted`/$FilterFailed;
# every encrypted copy decrypts to the original; with the full tmpfs at least
# one message failed, and gpg really was killed; a revoked key is never
# used, and an added one always, for a delivery that began after the change.
#
# Usage: tests/e2e/faults_run.sh GPGSEAL_BINARY   (as root; exits 77 otherwise)
# Output and exit status as tests/e2e/run.sh. Needs: what run.sh needs,
# util-linux (unshare, mount), faketime, a C compiler.
set -Eeuo pipefail

readonly SCRIPT=faults_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-400}
readonly CASE_TIMEOUT=120
readonly MESSAGES=24
readonly FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/load_lib.sh
source "$HERE/load_lib.sh"

readonly F0=f0@example.org F1=f1@example.org
readonly KADD=kadd@example.org KREV=krev@example.org
readonly CADD=cadd@example.org CREV=crev@example.org
STRICT=""  # the userdb field that gives a user the strict script (setup)
syslog_pid=""
changer_pid=""

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client"
  kill_agents user "$tmp"/home/*/.gnupg
}
extra_teardown() {
  stop_changer
  stop_syslog
  load_teardown
}

# --- set-up ----------------------------------------------------------------

# add_keyless_user ADDRESS: a strict user with a keyring directory but no key
# in it yet; the key exists in the client keyring, its public half in
# $tmp/LOCAL.pub.asc.
add_keyless_user() {
  local home
  home=$(home_of "$1")
  make_key "$tmp/client" "$(local_part "$1") <$1>" "$tmp/$(local_part "$1").pub.asc"
  make_dirs "$home" "$home/.gnupg"
  user_line "$1" "$home" "$STRICT" >>"$tmp/users"
}

# The revocation certificate gpg made with the key, ready to import.
revocation_of() {
  local fpr
  fpr=$(gpg --homedir "$tmp/client" --with-colons --list-keys "<$1>" |
    awk -F: '$1 == "fpr" { print $10; exit }')
  sed 's/^:-----/-----/' "$tmp/client/openpgp-revocs.d/$fpr.rev" >"$tmp/$(local_part "$1").rev.asc"
  chmod 0644 "$tmp/$(local_part "$1").rev.asc"
}

# gpg in Dovecot's namespace: the real one, except that with
# $tmp/faults/gpg-kill present every 20th encrypting run (the 7th, 27th, ...)
# is SIGKILLed 0-2 ms after it started, while it starts up or reads (the pid
# survives exec, so the real gpg is the one hit).
write_gpg_wrapper() {
  cp "$(command -v gpg)" "$tmp/gpg.real"
  install -d -m 0777 "$tmp/faults"
  cat >"$tmp/gpg-wrapper" <<EOF
#!/bin/bash
if [[ -e $tmp/faults/gpg-kill && " \$* " == *" --encrypt "* ]]; then
  n=\$(flock $tmp/faults/count.lock bash -c \\
    'n=\$((\$(cat $tmp/faults/count 2>/dev/null || echo 0) + 1)); echo \$n >$tmp/faults/count; echo \$n')
  if ((n % 20 == 7)); then
    (exec >/dev/null 2>&1; sleep 0.00\$((RANDOM % 3)); kill -KILL \$\$ && echo \$\$ >>$tmp/faults/killed) &
  fi
fi
exec $tmp/gpg.real "\$@"
EOF
  chmod 0755 "$tmp/gpg-wrapper"
}

setup() {
  load_setup gpgseal-faults "$1"
  STRICT=userdb_sieve_before=$tmp/sieve/gpgseal-before-strict.sieve
  local address
  for address in "$F0" "$F1" "$KREV" "$CREV"; do add_filtered_user "$address" "$STRICT"; done
  for address in "$KADD" "$CADD"; do add_keyless_user "$address"; done
  for address in "$KREV" "$CREV"; do revocation_of "$address"; done
  load_config
  write_gpg_wrapper
  install -d -m 0755 "$tmp/small-tmp"
  # Dovecot and the filters it starts see the wrapper as gpg, and a small
  # tmpfs; both mounts vanish with the namespace.
  load_start unshare --mount --propagation private -- bash -c \
    'mount --bind "$1" "$2" && mount -t tmpfs -o size=1m,mode=1777 gpgseal-faults "$3" &&
     shift 3 && exec "$@"' _ "$tmp/gpg-wrapper" "$(command -v gpg)" "$tmp/small-tmp"
  sleep 3  # key choices are remembered only from a keyring older than two seconds
}

# --- the run under a fault ---------------------------------------------------

# wait_progress TAG N: until the run TAG has delivered N messages.
wait_progress() {
  local _
  for _ in $(seq 600); do
    [[ $(cat "$tmp/$1.progress" 2>/dev/null || echo 0) -ge $2 ]] && return 0
    sleep 0.1
  done
  return 1
}

# stop_background PID: stops one helper this script started, if any.
stop_background() {
  [[ -n $1 ]] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
stop_changer() { stop_background "$changer_pid"; changer_pid=""; }
stop_syslog() { stop_background "$syslog_pid"; syslog_pid=""; }

# fault_run NAME RCPTS MIX CHANGER VERIFY_OPTION...: one load run with
# CHANGER (a function, run in the background, stopped at the end) making the
# fault; then the checks. @CHANGED in a VERIFY_OPTION becomes @ the time
# CHANGER wrote to $tmp/NAME.changed (0 if it never did).
fault_run() {
  local name=$1 rcpts=$2 mix=$3 changer=$4; shift 4
  "$changer" "$name" &
  changer_pid=$!
  if ! load_send "$name" "$rcpts" 4 --messages "$MESSAGES" --mix "$mix" \
      --progress "$tmp/$name.progress" 2>"$tmp/$name.err"; then
    fail "$name/deliver" "$(tail -n 5 "$tmp/$name.err")"
  fi
  stop_changer
  rm -f "$tmp/filter.env" "$tmp/faults/gpg-kill"
  local verdict
  local changed
  changed=$(cat "$tmp/$name.changed" 2>/dev/null || echo 0)
  if verdict=$(load_verify "$name" "$rcpts" --messages "$MESSAGES" --mix "$mix" \
                 "${@//@CHANGED/@$changed}" 2>&1); then
    pass "$name: $verdict"
  else
    fail "$name" "$verdict"
  fi
  clear_mail
}

# keyring: a third of the way in, KADD's key is added and KREV's revoked.
change_keyring() {
  wait_progress "$1" $((MESSAGES / 3)) || return 0
  import_key "$(home_of "$KADD")/.gnupg" "$tmp/kadd.pub.asc"
  import_key "$(home_of "$KREV")/.gnupg" "$tmp/krev.rev.asc"
  date +%s.%N >"$tmp/$1.changed"
}

# cache: both keyed users' cache files cut short or overwritten with garbage.
corrupt_cache() {
  local i=0 cache
  while :; do
    for cache in "$(home_of "$F0")/.gnupg/gpgseal-keycache" \
                 "$(home_of "$F1")/.gnupg/gpgseal-keycache"; do
      [[ -f $cache ]] || continue
      if ((i % 2)); then : >"$cache"; else head -c 300 /dev/urandom >"$cache"; fi
    done
    i=$((i + 1))
    sleep 0.05
  done
}

kill_some_gpg() { touch "$tmp/faults/gpg-kill"; }

fill_tmpfs() { echo "export TMPDIR=$tmp/small-tmp" >"$tmp/filter.env"; }

# clock: gpgseal's wall clock jumps every 0.3 s (monotonic time and file
# times stay true), and the keyring changes as in change_keyring.
jump_clock() {
  local offsets=(+2h -2h +1d -1d -30m +0) i=0
  echo +0 >"$tmp/faults/faketime"
  chmod 0644 "$tmp/faults/faketime"
  cat >"$tmp/filter.env" <<EOF
FAULT_PRELOAD=$FAKETIME_LIB
export FAKETIME_TIMESTAMP_FILE=$tmp/faults/faketime FAKETIME_NO_CACHE=1
export FAKETIME_DONT_FAKE_MONOTONIC=1 NO_FAKE_STAT=1
EOF
  local changed=""
  while :; do
    echo "${offsets[i % ${#offsets[@]}]}" >"$tmp/faults/faketime.new"
    mv "$tmp/faults/faketime.new" "$tmp/faults/faketime"
    if [[ -z $changed && $(cat "$tmp/$1.progress" 2>/dev/null || echo 0) -ge $((MESSAGES / 3)) ]]; then
      import_key "$(home_of "$CADD")/.gnupg" "$tmp/cadd.pub.asc"
      import_key "$(home_of "$CREV")/.gnupg" "$tmp/crev.rev.asc"
      date +%s.%N >"$tmp/$1.changed"
      changed=1
    fi
    i=$((i + 1))
    sleep 0.3
  done
}

# The syslog fault needs /dev/log, which other tests bind too: under the
# shared lock, and only if no real syslog owns it.
run_syslog_fault() {
  exec {lock}>/tmp/gpgseal-devlog.lock
  flock "$lock"
  if [[ -e /dev/log ]]; then
    skip syslog "/dev/log exists (a real syslog): not stalling it"
  else
    python3 "$HERE/syslog_sink.py" --stall /dev/log "$tmp/syslog.ready" 2>"$tmp/syslog.err" &
    syslog_pid=$!
    local _
    for _ in $(seq 100); do [[ -e $tmp/syslog.ready ]] && break; sleep 0.1; done
    if [[ -e $tmp/syslog.ready ]]; then
      fault_run syslog "$F0,$F1" small true
    else
      fail syslog "the stalled syslog did not start: $(cat "$tmp/syslog.err")"
    fi
    stop_syslog
  fi
  flock -u "$lock"
}

start_run GPGSEAL_BINARY "$@"
[[ -f $FAKETIME_LIB ]] || die "$FAKETIME_LIB missing (package faketime)"
setup "$1"

fault_run keyring "$F0,$KADD,$KREV" small change_keyring --allow-flagged "$KADD" \
  --allow-flagged "$KREV" \
  --encrypted-after "$KADD@CHANGED" --clear-after "$KREV@CHANGED"
fault_run cache "$F0,$F1" small corrupt_cache
fault_run gpg-kill "$F0,$F1" small kill_some_gpg --allow-flagged "$F0" --allow-flagged "$F1"
# A killed gpg fails its message (flagged), unless it was encrypting to a
# remembered key choice: gpgseal then lists the keyring and encrypts again.
kills=$(cat "$tmp/faults/killed" 2>/dev/null | wc -l)
if ((kills > 0)); then
  pass "gpg-kill/happened: $kills gpg killed"
else
  fail "gpg-kill/happened" "no gpg was killed: the wrapper did not run"
fi
fault_run tmpfs "$F0,$F1" medium fill_tmpfs --allow-flagged "$F0" --allow-flagged "$F1" \
  --min-flagged 1
run_syslog_fault
fault_run clock "$F0,$CADD,$CREV" small jump_clock --allow-flagged "$CADD" \
  --allow-flagged "$CREV" \
  --encrypted-after "$CADD@CHANGED" --clear-after "$CREV@CHANGED"

check_no_leftovers
finish_run
