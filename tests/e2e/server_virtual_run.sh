#!/usr/bin/env bash
# End-to-end test: gpgseal-server over virtual users, with the README's
# --home-template command (only /var/vmail replaced by this test's tree).
#
# Usage: tests/e2e/server_virtual_run.sh GPGSEAL_SERVER_BINARY  (as root; 77 = skip)
#
# What it proves, for four users under one vmail uid (example.org/%n, each
# home 0700 vmail): alice (a key that does not expire), bob (no ~/.gnupg:
# not opted in), dave (a key that expires tomorrow), erin (her only key
# expired in 2020):
# - encrypt: as the vmail uid (every file stays vmail's), alice's and dave's
#   stored mail decrypts to the original, bob's and erin's is untouched,
#   both are named as skipped, one summary, exit 0;
# - report: one line per user: alice's key and "does not expire", bob not
#   opted in, dave WARNING with tomorrow's date, erin NOT ENCRYPTED with
#   "expired"; exit 1; without dave and erin exit 0; erin alone exit 1 (an
#   expired key is never silent).
# Output: PASS/FAIL lines and one "N passed, M failed" line.
set -Eeuo pipefail

readonly SCRIPT=server_virtual_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-180}
readonly CASE_TIMEOUT=90
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DOMAIN=example.org PER_USER=2
# shellcheck disable=SC2016  # the backquotes are the heading's own
readonly HEADING='The whole server: `gpgseal-server`'
SERVER=""

vhome() { echo "$tmp/vmail/$DOMAIN/$1"; }

stop_agents() {
  local name
  for name in alice dave erin; do
    kill_agents root "$tmp/client/$name"
    kill_agents user "$(vhome "$name")/.gnupg"
  done
}

# make_home NAME: the user's directory and Maildir, vmail's, mode 0700.
make_home() {
  local home
  home=$(vhome "$1")
  make_dirs "$home" "$home/Maildir" "$home/Maildir/cur" "$home/Maildir/new" "$home/Maildir/tmp"
}

# give_key NAME EXPIRY [FAKED_TIME]: a key for NAME@DOMAIN in its client
# keyring (made at FAKED_TIME if given), its public half in ~/.gnupg.
give_key() {
  local name=$1 address=$1@$DOMAIN client=$tmp/client/$1 faked=()
  [[ -n ${3:-} ]] && faked=(--faked-system-time "$3")
  install -d -m 0700 "$client"
  GNUPGHOME=$client gpg --batch --quiet --passphrase '' "${faked[@]}" \
    --quick-gen-key "$name <$address>" future-default default "$2" </dev/null 2>/dev/null
  GNUPGHOME=$client gpg --batch --armor --export >"$tmp/$name.asc"
  chmod 0644 "$tmp/$name.asc"
  make_dirs "$(vhome "$name")/.gnupg"
  import_key "$(vhome "$name")/.gnupg" "$tmp/$name.asc"
}

# plant NAME: PER_USER stored plaintext messages (as before gpgseal was on),
# originals kept in $tmp/originals under the same base name.
plant() {
  local name=$1 n base
  for ((n = 1; n <= PER_USER; n++)); do
    base=1700000$n.M$n.planted-$name-$n.example
    sed "s/^Subject: .*/Subject: stored $name $n/" "$HERE/data/multipart-attachment.eml" \
      >"$tmp/originals/$base"
    chmod 0644 "$tmp/originals/$base"
    as_user cp "$tmp/originals/$base" "$(vhome "$name")/Maildir/cur/$base:2,S"
  done
}

# check_planted NAME MODE: each planted message of NAME is MODE
# (encrypted for NAME's key, or unchanged), and still vmail's.
check_planted() {
  local name=$1 mode=$2 file base bad="" count=0 keyring=()
  [[ $mode == encrypted ]] && keyring=("$tmp/client/$name")
  for file in "$(vhome "$name")"/Maildir/cur/*planted*; do
    base=$(basename "$file"); base=${base%%[,:]*}
    count=$((count + 1))
    python3 "$HERE/check_stored.py" "$mode" "$tmp/originals/$base" "$file" "${keyring[@]}" \
      >/dev/null 2>&1 || bad+="$base "
    [[ $(stat -c %U "$file") == "$e2e_user" ]] || bad+="$base(owner $(stat -c %U "$file")) "
  done
  if [[ $count -eq $PER_USER && -z $bad ]]; then
    pass "encrypt/$name-$mode"
  else
    fail "encrypt/$name-$mode" "$count files; wrong: $bad"
  fi
}

# The README's virtual-users command line, with this test's tree.
readme_encrypt() {
  local line
  line=$(python3 "$HERE/doc_blocks.py" "$REPO/README.md" "$HEADING" sh "/var/vmail=$tmp/vmail" |
    grep -- 'encrypt --home-template') || die "README: no encrypt --home-template line"
  line=${line%%#*}
  read -r -a README_ARGS <<<"${line//\'/}"
  [[ ${README_ARGS[0]} == gpgseal-server ]] || die "README line: $line"
  README_ARGS=("${README_ARGS[@]:1}")
}

run_encrypt() {
  local out=$tmp/encrypt.out status=0
  readme_encrypt
  bounded "$SERVER" "${README_ARGS[@]}" --progress never >"$out" 2>&1 || status=$?
  if [[ $status -eq 0 ]] &&
     grep -q '^users: 4; done: 2, skipped (no keyring or key): 2, failed: 0$' "$out" &&
     [[ $(grep -c '^users: ' "$out") -eq 1 ]]; then
    pass encrypt/one-summary-exit-0
  else
    fail encrypt/one-summary-exit-0 "exit $status: $(cat "$out")"
  fi
  if grep -q "<bob@$DOMAIN>: skipped: .*(not opted in)" "$out" &&
     grep -q "<erin@$DOMAIN>: skipped: " "$out"; then
    pass encrypt/keyless-users-skipped
  else
    fail encrypt/keyless-users-skipped "$(cat "$out")"
  fi
  check_planted alice encrypted
  check_planted dave encrypted
  check_planted bob unchanged
  check_planted erin unchanged
}

# report_case NAME EXPECTED_STATUS USER...: gpgseal-server report over the
# template for USER... exits EXPECTED_STATUS; its output is in $tmp/NAME.out.
report_case() {
  local name=$1 want=$2 status=0; shift 2
  bounded "$SERVER" report --home-template "$tmp/vmail/%d/%n" --warn-days 7 "$@" \
    >"$tmp/$name.out" 2>&1 || status=$?
  [[ $status -eq $want ]] || { fail "report/$name" "exit $status, not $want: $(cat "$tmp/$name.out")"; return 1; }
}

run_report() {
  local out=$tmp/all.out tomorrow fpr="0x[0-9A-F]{40}"
  tomorrow=$(date -u -d tomorrow +%F)
  if report_case all 1; then
    local problems=""
    grep -Eq "<alice@$DOMAIN>: encrypted to $fpr, does not expire$" "$out" || problems+="alice "
    grep -Eq "<bob@$DOMAIN>: not encrypted: .*\(not opted in\)$" "$out" || problems+="bob "
    grep -Eq "<dave@$DOMAIN>: WARNING: key expires soon: encrypted to $fpr, expires $tomorrow \(in [01] days?\)$" \
      "$out" || problems+="dave "
    grep -Eq "<erin@$DOMAIN>: NOT ENCRYPTED: .*expired" "$out" || problems+="erin "
    [[ $(grep -c "@$DOMAIN>: " "$out") -eq 4 ]] || problems+="line-count "
    if [[ -z $problems ]]; then
      pass report/every-user
    else
      fail report/every-user "$problems: $(cat "$out")"
    fi
  fi
  report_case nothing-to-attend 0 "alice@$DOMAIN" "bob@$DOMAIN" && pass report/nothing-to-attend
  report_case expired-alone 1 "erin@$DOMAIN" && pass report/expired-key-is-never-silent
}

main() {
  start_run GPGSEAL_SERVER_BINARY "$@"
  SERVER=$(realpath "$1")
  make_tmp gpgseal-server-virtual
  make_user gpgseal-svirt "$tmp/vmail"
  make_dirs "$tmp/vmail" "$tmp/vmail/$DOMAIN"
  mkdir -m 0700 "$tmp/client"
  mkdir -m 0755 "$tmp/originals"
  touch "$tmp/dovecot.log"   # finish_run shows it; this test runs no Dovecot
  local name
  for name in alice bob dave erin; do make_home "$name"; done
  give_key alice never
  give_key dave 1d
  give_key erin 1d 20200101T000000
  for name in alice bob dave erin; do plant "$name"; done
  run_encrypt
  run_report
  finish_run
}

main "$@"
