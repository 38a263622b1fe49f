#!/usr/bin/env bash
# gpgseal-smtpd under Debian's real OpenSMTPD (smtpd 6.8.0p2), started
# privately by tests/e2e/mta/lib_mta.sh on a loopback port, with mail sent by
# Python's smtplib and delivered to a test user's Maildir:
# - a keyed recipient's message arrives encrypted and decrypts to the original;
# - a recipient without a key gets it unchanged, and so does a message to a
#   keyed and an unkeyed recipient together;
# - already-encrypted mail passes through unchanged;
# - a 20 MiB message, with the filter's peak memory bounded;
# - 50 concurrent sessions: every message arrives once, decrypting to its own
#   original;
# - RSET after a recipient, and a connection dropped in mid-DATA;
# - an S/MIME user (a certificate in the same keyring, imported with
#   gpgseal-import-cert) gets RFC 8551 S/MIME that openssl decrypts to the
#   original, after OpenPGP messages from the same filter process, also from
#   10 concurrent sessions;
# - the filter process is the same one from the first message to the last.
#
# Usage: tests/e2e/smtpd_run.sh GPGSEAL_SMTPD_BINARY  (as root; 77 = skip)
set -Eeuo pipefail

readonly SCRIPT=smtpd_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-400}
readonly CASE_TIMEOUT=120
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/mta/lib_mta.sh
source "$HERE/mta/lib_mta.sh"
# shellcheck source=tests/e2e/smtpd/lib_smtpd.sh
source "$HERE/smtpd/lib_smtpd.sh"
readonly SENDER=sender@example.com
readonly KEYED=keyed@example.org NOKEY=nokey@example.org
readonly SMIME=alice@example.org  # the test certificates' address
readonly PEAK_RSS_LIMIT_KIB=$((48 * 1024))

stop_agents() { kill_agents root "$tmp/client"; }
extra_teardown() { mta_stop_all; }

cases() { python3 "$HERE/smtpd/smtp_cases.py" "$OPENSMTPD_PORT" "$@"; }
maildir() { echo "$tmp/home/Maildir"; }

# The filter's pid(s): processes of smtpd's namespace running gpgseal-smtpd.
filter_pids() {
  local pid
  for pid in $(mta_ns_pids opensmtpd); do
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == gpgseal-smtpd ]] && echo "$pid"
  done
  return 0
}

stored_with() { smtpd_stored "$(maildir)" "$@"; }
message() { smtpd_message "$@"; }
# send_check NAME MODE RCPT...: all test addresses are one user's, a copy per
# recipient in one Maildir.
send_check() {
  local name=$1 mode=$2; shift 2
  smtpd_send_check "$OPENSMTPD_PORT" "$(maildir)" "$name" "$mode" "$tmp/client" "$@"
}

setup() {
  make_tmp gpgseal-smtpd
  make_user gpgseal-smtpd "$tmp/home"
  make_dirs "$tmp/home"
  make_key "$tmp/client" "Keyed <$KEYED>" "$tmp/keyed.asc"
  install -m 0755 "$1" "$tmp/gpgseal-smtpd"
  echo "@example.org $e2e_user" >"$tmp/vusers"
  opensmtpd_setup 'filter "gpgseal"' \
    "table vusers file:$tmp/vusers" \
    "filter \"gpgseal\" proc-exec \"$tmp/gpgseal-smtpd --gnupghome $tmp/smtpd-keys --log stderr\"" \
    "action \"vlocal\" maildir \"%{user.directory}/Maildir\" virtual <vusers>" \
    'match from any for domain "example.org" action "vlocal"'
  # The one keyring of the filter, which runs as smtpd's user opensmtpd.
  local owner
  owner=$(awk -F: '$1 == "opensmtpd" { print $3 ":" $4 }' \
    "$(mta_layer opensmtpd)/etc/passwd")
  mkdir -m 0700 "$tmp/smtpd-keys"
  GNUPGHOME=$tmp/smtpd-keys gpg --batch --quiet --import "$tmp/keyed.asc" 2>/dev/null
  "$REPO/tests/support/make_test_certs.sh" "$tmp/certs" >/dev/null
  cat "$tmp/certs/alice-ca.pem" "$tmp/certs/ca.pem" >"$tmp/alice-chain.pem"
  "$REPO/scripts/gpgseal-import-cert" --gnupghome "$tmp/smtpd-keys" "$SMIME" \
    "$tmp/alice-chain.pem" >/dev/null
  GNUPGHOME=$tmp/smtpd-keys gpgconf --kill all
  chown -R "$owner" "$tmp/smtpd-keys"
  opensmtpd_start
}

case_memory() {
  local pid big=$tmp/big.eml file
  python3 - "$big" "$KEYED" <<'PY'
import base64, os, sys
path, rcpt = sys.argv[1], sys.argv[2]
with open(path, "w") as f:
    f.write(f"From: <sender@example.com>\nTo: <{rcpt}>\nSubject: big\n"
            "Date: Fri, 4 Dec 2026 12:00:00 +0000\nMessage-ID: <big@example.com>\n"
            "MIME-Version: 1.0\nContent-Type: application/octet-stream\n"
            "Content-Transfer-Encoding: base64\n\n")
    chunk = base64.encodebytes(os.urandom(57 * 1024)).decode()
    for _ in range(20 * 1024 * 1024 // len(chunk) + 1):
        f.write(chunk)
PY
  mta_smtp "$OPENSMTPD_PORT" "$SENDER" "$KEYED" <"$big" ||
    { fail big "SMTP refused"; return; }
  file=$(stored_with big)
  [[ -n $file ]] || { fail big "not delivered"; return; }
  check_verdict big encrypted "$big" "$file" "$tmp/client"
  pid=$(filter_pids)
  local peak
  peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  if ((peak < PEAK_RSS_LIMIT_KIB)); then
    pass "big/bounded-memory (${peak} KiB peak)"
  else
    fail big/bounded-memory "peak RSS ${peak} KiB"
  fi
  rm -f "$big" "$file"
}

# S/MIME messages, the filter having sealed OpenPGP ones before: two one after
# the other, then 10 sessions at once (each sealed on a thread of its own).
case_smime() {
  local name file why i out=$tmp/smime-concurrent bad=0
  for name in smime smime-again; do
    message "$name" "<$SMIME>" >"$tmp/$name.eml"
    mta_smtp "$OPENSMTPD_PORT" "$SENDER" "$SMIME" <"$tmp/$name.eml" ||
      { fail "$name" "SMTP refused"; continue; }
    file=$(stored_with "$name")
    [[ -n $file ]] || { fail "$name" "not delivered"; continue; }
    if why=$(python3 "$HERE/check_stored.py" smime "$tmp/$name.eml" "$file" \
               "$tmp/certs/alice-ca" 2>&1); then
      pass "$name"
    else
      fail "$name" "$why"
    fi
  done
  mkdir "$out"
  cases concurrent 10 "$SMIME" "$out" "smime concurrent" ||
    { fail smime-concurrent "not all accepted"; return; }
  for ((i = 0; i < 10; i++)); do
    file=$(stored_with "smime concurrent $i")
    if [[ -z $file ]]; then
      bad=1; fail "smime-concurrent/$i" "not delivered"
    elif ! why=$(python3 "$HERE/check_stored.py" smime "$out/$i.eml" "$file" \
                   "$tmp/certs/alice-ca" 2>&1); then
      bad=1; fail "smime-concurrent/$i" "$(head -c 300 <<<"$why")"
    fi
  done
  ((bad)) || pass "smime-concurrent/10-sessions"
}

case_concurrent() {
  local n=50 i file out=$tmp/concurrent bad=0
  mkdir "$out"
  cases concurrent "$n" "$KEYED" "$out" || { fail concurrent "not all accepted"; return; }
  for ((i = 0; i < n; i++)); do
    file=$(stored_with "concurrent $i")
    if [[ -z $file ]]; then
      bad=1; fail "concurrent/$i" "not delivered"
    elif ! python3 "$HERE/check_stored.py" encrypted "$out/$i.eml" "$file" "$tmp/client" \
        >"$out/$i.why"; then
      bad=1; fail "concurrent/$i" "$(head -c 300 "$out/$i.why")"
    fi
  done
  local count
  # shellcheck disable=SC2046  # Maildir file names have no blanks
  count=$(grep -lx 'Subject: concurrent [0-9]*' $(maildir_files "$(maildir)") | wc -l)
  [[ $count -eq $n ]] || { bad=1; fail concurrent/count "$count stored, $n sent"; }
  ((bad)) || pass "concurrent/$n-sessions"
}

case_rset_and_drop() {
  message rset "<$KEYED>" >"$tmp/rset.eml"
  if cases rset "$NOKEY" "$KEYED" <"$tmp/rset.eml"; then
    local file
    file=$(stored_with rset)
    # The first transaction's recipient (no key) must not be in the second.
    check_verdict rset encrypted "$tmp/rset.eml" "$file" "$tmp/client"
  else
    fail rset "SMTP refused"
  fi
  message dropped "<$KEYED>" >"$tmp/dropped.eml"
  cases drop "$KEYED" <"$tmp/dropped.eml" || fail dropped "could not start DATA"
  sleep 1
  send_check after-drop encrypted "$KEYED"
  if [[ -n $(stored_with dropped 1) ]]; then
    fail dropped "a dropped message was delivered"
  fi
}

main() {
  start_run GPGSEAL_SMTPD_BINARY "$@"
  setup "$1"
  local first_pid
  first_pid=$(filter_pids)
  [[ -n $first_pid ]] || die "no filter process: $(opensmtpd_log)"
  send_check keyed encrypted "$KEYED"
  send_check no-key unchanged "$NOKEY"
  send_check keyed-and-no-key unchanged "$KEYED" "$NOKEY"
  # The stored ciphertext, sent again without the fields delivery added.
  grep -v -e '^Return-Path:' -e '^Delivered-To:' "$(stored_with keyed)" |
    sed 's/^Subject: keyed$/Subject: already-encrypted/' >"$tmp/already.eml"
  mta_smtp "$OPENSMTPD_PORT" "$SENDER" "$KEYED" <"$tmp/already.eml" || fail already "refused"
  check_verdict already-encrypted unchanged "$tmp/already.eml" \
    "$(stored_with already-encrypted)"
  case_rset_and_drop
  case_smime
  case_memory
  case_concurrent
  if [[ $(filter_pids) == "$first_pid" ]]; then
    pass filter/never-restarted
  else
    fail filter/never-restarted "pid $first_pid, now: $(filter_pids | paste -sd ' ')"
  fi
  if ((failed > 0)); then opensmtpd_log; fi
  opensmtpd_stop
  check_no_leftovers
  summary
  [[ $failed -eq 0 ]] || exit 1
}

main "$@"
