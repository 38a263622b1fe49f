#!/usr/bin/env bash
# End-to-end test of the deployment kit in sieve/: a real, private Dovecot
# delivers through gpgseal with the shipped snippets and scripts.
#
# Usage: tests/e2e/deployment_run.sh GPGSEAL_BINARY  (as root; 77 = skip otherwise)
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 240 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir (mails, logs) for debugging.
#
# What it proves, through both dovecot-lda and LMTP:
# - virtual users (sieve/90-gpgseal-virtual.conf included, only its paths
#   overridden; sieve/gpgseal-before.sieve compiled with sievec): all users
#   share one vmail uid, and each keyring is found through the --gnupghome
#   template the snippet passes (the keyrings are not in the homes, so $HOME
#   would not find them). Alice's and Bob's keyrings both hold both public
#   keys; a message for both (one LMTP transaction, or one LDA run each) is
#   stored for each encrypted to that user's encryption subkey only, and
#   the other users' secret keys cannot decrypt it;
# - sieve/gpgseal-before-strict.sieve (for Carol, through a userdb
#   override): --on-missing-key fail leaves the original, flagged
#   $FilterFailed, in the folder Unencrypted;
# - --timeout: Dave's keyring hangs gpg (its pubring.kbx is a FIFO that
#   nobody writes), so only gpgseal's deadline (2 s) ends the run, before
#   Dovecot's own (8 s, which would store nothing): the original is stored
#   unflagged (--on-error pass); Erin's 33 MB message meets a 0.2 s deadline
#   under the strict script: stored unchanged, flagged, in Unencrypted;
# - Frank has no keyring directory at all: his mail is stored unchanged and
#   unflagged by the default script;
# - the syslog line (read from our own socket at /dev/log; SKIP if a real
#   syslog owns it): facility mail, severity by outcome, ident gpgseal with
#   pid, the outcome, the fingerprint of the one key used, the keyring that
#   had no key, the timeout; never a Subject;
# - a personal script (sieve/90-gpgseal-personal.conf, Grace's
#   ~/.dovecot.sieve = sieve/personal-example.sieve, compiled by Dovecot):
#   ordinary mail is encrypted, list mail stays in clear in Lists, and a rule
#   after the filter still files an encrypted invoice by its Subject;
# - no process of the mail user is left running afterwards.
#
# Output: one PASS/FAIL (or SKIP) line per case, then exactly one
# "N passed, M failed" line; exit status 0 only if nothing failed.
# Everything lives in one mktemp -d directory, with a throwaway system user;
# the EXIT trap stops Dovecot, gpg-agents and the syslog socket and removes
# user and directory. Needs what run.sh needs.
set -Eeuo pipefail

readonly SCRIPT=deployment_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-240}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DATA=$HERE/data
readonly SENDER=sender@example.com
readonly ALICE=alice@example.org BOB=bob@example.net CAROL=carol@example.org
readonly DAVE=dave@example.org ERIN=erin@example.org FRANK=frank@example.org
readonly GRACE=grace@example.org
readonly WITH_KEYS=("$ALICE" "$BOB" "$ERIN" "$GRACE")
# Dave's deadline and Dovecot's for him; Erin's deadline.
readonly DAVE_TIMEOUT=2 DAVE_DOVECOT_TIMEOUT=8 ERIN_TIMEOUT=0.2
readonly SYSLOG_SOCKET=/dev/log
# shellcheck disable=SC2016  # the IMAP keyword, literally
readonly FLAGGED='$FilterFailed'

sink_pid=""
syslog_unavailable=""   # why the syslog cases are skipped, if they are

# --- where things are ------------------------------------------------------

local_part() { echo "${1%@*}"; }
domain_of() { echo "${1#*@}"; }
home_of() { echo "$tmp/vmail/$(domain_of "$1")/$(local_part "$1")"; }
# Not in the home: only the --gnupghome template can find it.
keyring_of() { echo "$tmp/keyrings/$(domain_of "$1")/$(local_part "$1")"; }
client_of() { echo "$tmp/client/$(local_part "$1")"; }

maildir_of() {
  local folder=${2:-INBOX}
  if [[ $folder == INBOX ]]; then
    echo "$(home_of "$1")/Maildir"
  else
    echo "$(home_of "$1")/Maildir/.$folder"
  fi
}

# --- setup -----------------------------------------------------------------

make_homes() {
  local address
  mkdir -m 0755 "$tmp/vmail" "$tmp/keyrings" "$tmp/client" "$tmp/data"
  for address in "$ALICE" "$BOB" "$CAROL" "$DAVE" "$ERIN" "$FRANK" "$GRACE"; do
    install -d -m 0755 "$(dirname "$(home_of "$address")")" \
      "$(dirname "$(keyring_of "$address")")"
    make_dirs "$(home_of "$address")"
  done
}

make_keys() {
  local address
  for address in "${WITH_KEYS[@]}"; do
    make_client_key "$address"
  done
  # Each keyring also holds the other's key: gpgseal must pick by address.
  make_dirs "$(keyring_of "$ALICE")" "$(keyring_of "$BOB")"
  for address in "$ALICE" "$BOB"; do
    import_key "$(keyring_of "$ALICE")" "$(client_of "$address").pub.asc"
    import_key "$(keyring_of "$BOB")" "$(client_of "$address").pub.asc"
  done
  make_dirs "$(keyring_of "$CAROL")"   # empty: no key
  make_dirs "$(keyring_of "$DAVE")"
  as_user mkfifo -m 0600 "$(keyring_of "$DAVE")/pubring.kbx"
  make_dirs "$(keyring_of "$ERIN")"
  import_key "$(keyring_of "$ERIN")" "$(client_of "$ERIN").pub.asc"
  # Grace's personal script uses the personal snippet's %h/.gnupg.
  make_dirs "$(home_of "$GRACE")/.gnupg"
  import_key "$(home_of "$GRACE")/.gnupg" "$(client_of "$GRACE").pub.asc"
  mkdir -m 0700 "$tmp/empty-gnupg"
}

# userdb fields override plugin settings per user: the strict script for
# Carol and Erin, the deadlines for Dave and Erin.
write_users() {
  local strict=userdb_sieve_before=$tmp/sieve/gpgseal-before-strict.sieve
  {
    user_line "$ALICE" "$(home_of "$ALICE")"
    user_line "$BOB" "$(home_of "$BOB")"
    user_line "$CAROL" "$(home_of "$CAROL")" "$strict"
    user_line "$DAVE" "$(home_of "$DAVE")" \
      "userdb_sieve_env_gpgseal_timeout=$DAVE_TIMEOUT" \
      "userdb_sieve_filter_exec_timeout=${DAVE_DOVECOT_TIMEOUT}s"
    user_line "$ERIN" "$(home_of "$ERIN")" "$strict" \
      "userdb_sieve_env_gpgseal_timeout=$ERIN_TIMEOUT"
    user_line "$FRANK" "$(home_of "$FRANK")"
    user_line "$GRACE" "$(home_of "$GRACE")"
  } >"$tmp/users"
}

# write_config SNIPPET [PLUGIN_LINE...]: the shipped snippet included as is,
# then only its paths overridden.
write_config() {
  local snippet=$1 line; shift
  {
    dovecot_base_config gpgseal-deploy
    echo
    echo "!include $REPO/sieve/$snippet"
    echo "plugin {"
    echo "  sieve = file:~/sieve;active=~/.dovecot.sieve"
    echo "  sieve_filter_bin_dir = $tmp/filter-bin"
    for line in "$@"; do echo "  $line"; done
    echo "}"
  } >"$tmp/dovecot.conf"
}

write_virtual_config() {
  write_config 90-gpgseal-virtual.conf \
    "sieve_before = $tmp/sieve/gpgseal-before.sieve" \
    "sieve_env_gpgseal_gnupghome = $tmp/keyrings/%%d/%%n"
}

# 24 MiB of random bytes as base64 (33 MB; the same every run): gpg needs
# seconds for it, far more than Erin's deadline.
make_large_message() {
  python3 - "$tmp/data/large.eml" <<'PY'
import base64, random, sys
blob = base64.encodebytes(random.Random(3156).randbytes(24 << 20))
head = b"""From: Archive <archive@example.net>
To: erin@example.org
Subject: Disk image
Date: Sun, 17 Nov 2024 03:00:00 +0000
Message-ID: <disk-image-1117@example.net>
MIME-Version: 1.0
Content-Type: application/octet-stream; name="disk.img"
Content-Transfer-Encoding: base64

"""
open(sys.argv[1], "wb").write(head + blob)
PY
}

# syslog(3) writes to /dev/log; these machines have no syslog daemon, so we
# listen there ourselves. A /dev/log that exists belongs to a real syslog:
# leave it alone and skip the syslog cases.
start_syslog_sink() {
  if [[ -e $SYSLOG_SOCKET ]]; then
    syslog_unavailable="$SYSLOG_SOCKET exists (a real syslog); not replaced"
    return
  fi
  python3 "$HERE/syslog_sink.py" "$SYSLOG_SOCKET" "$tmp/syslog" \
    2>"$tmp/syslog_sink.err" &
  sink_pid=$!
  local _
  for _ in $(seq 50); do
    [[ -e $tmp/syslog ]] && return
    kill -0 "$sink_pid" 2>/dev/null || break
    sleep 0.1
  done
  syslog_unavailable="no syslog sink: $(cat "$tmp/syslog_sink.err")"
  sink_pid=""
}

stop_syslog_sink() {
  [[ -n $sink_pid ]] || return 0
  kill -TERM "$sink_pid" 2>/dev/null || true
  wait "$sink_pid" 2>/dev/null || true
  sink_pid=""
  # The sink removes its socket; this is for a sink that could not.
  if [[ -S $SYSLOG_SOCKET && -z $syslog_unavailable ]]; then
    rm -f "$SYSLOG_SOCKET"
  fi
}

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp"/client/* "$tmp/empty-gnupg"
  kill_agents user "$tmp"/keyrings/*/* "$tmp"/vmail/*/*/.gnupg
}

extra_teardown() { stop_syslog_sink; }

# --- checks (each prints what is wrong and returns 1) ----------------------

# The key id of the encryption subkey in ADDRESS's client keyring.
encryption_subkey_of() {
  gpg --homedir "$(client_of "$1")" --batch --with-colons --list-keys "$1" |
    awk -F: '$1 == "sub" && $12 ~ /e/ { print $5 }'
}

primary_fingerprint_of() {
  gpg --homedir "$(client_of "$1")" --batch --with-colons --list-keys "$1" |
    awk -F: '$1 == "fpr" { print $10; exit }'
}

# STORED is encrypted to ADDRESS's encryption subkey and nothing else, and
# no other user's secret key opens it.
check_recipients() {
  local stored=$1 address=$2 armor got want other
  armor=$(mktemp "$tmp/armor.XXXXXX")
  python3 "$HERE/check_stored.py" armor "$stored" >"$armor" || return 1
  got=$(gpg --homedir "$tmp/empty-gnupg" --batch --list-packets --list-only \
          "$armor" 2>/dev/null |
        sed -n 's/^:pubkey enc packet:.* keyid \([0-9A-F]*\).*/\1/p' |
        sort | paste -sd ' ')
  want=$(encryption_subkey_of "$address")
  if [[ $got != "$want" ]]; then
    echo "encrypted to key ids '$got'; want only $address's subkey $want"
    return 1
  fi
  for other in "${WITH_KEYS[@]}"; do
    [[ $other == "$address" ]] && continue
    if gpg --homedir "$(client_of "$other")" --batch --quiet --decrypt \
         "$armor" >/dev/null 2>&1; then
      echo "$other's secret key decrypts $address's message"
      return 1
    fi
  done
}

# check_stored ADDRESS FOLDER BEFORE KEYWORDS MODE MESSAGE: the one message
# delivery added to FOLDER has exactly KEYWORDS, and is MESSAGE encrypted
# (to ADDRESS only) or unchanged.
check_stored() {
  local address=$1 folder=$2 before=$3 keywords=$4 mode=$5 message=$6
  local maildir stored got
  maildir=$(maildir_of "$address" "$folder")
  stored=$(new_file "$before" "$(maildir_files "$maildir")")
  if [[ -z $stored ]]; then
    echo "expected one new message in $maildir; INBOX has:" \
      "$(maildir_files "$(maildir_of "$address")" | paste -sd ' ')"
    return 1
  fi
  got=$(keywords_of "$stored" | paste -sd ' ')
  if [[ $got != "$keywords" ]]; then
    echo "keywords '$got', want '$keywords'"
    return 1
  fi
  if [[ $mode == encrypted ]]; then
    python3 "$HERE/check_stored.py" encrypted "$message" "$stored" \
      "$(client_of "$address")" && check_recipients "$stored" "$address"
  else
    python3 "$HERE/check_stored.py" unchanged "$message" "$stored"
  fi
}

# --- cases -----------------------------------------------------------------

# gpgseal lines in the syslog so far.
syslog_count() {
  [[ -n $syslog_unavailable ]] && { echo 0; return; }
  grep -c ' gpgseal\[' "$tmp/syslog" || true
}

# deliver_case LABEL TRANSPORT MESSAGE RCPT...: delivers, keeping the log in
# $tmp/LABEL.log and the gpgseal syslog lines (one per recipient) in
# $tmp/LABEL.syslog; FAILs LABEL and returns 1 if delivery fails.
deliver_case() {
  local label=$1 transport=$2 message=$3; shift 3
  local log=$tmp/${label//\//-}.log since _
  since=$(syslog_count)
  if ! deliver "$transport" "$message" "$@" >"$log" 2>&1; then
    fail "$label" "delivery failed: $(tail -n 5 "$log"); the mail user's" \
      "processes: $(ps -o pid=,etime=,time=,args= -u "$(id -u "$e2e_user")" |
                    paste -sd ';')"
    return 1
  fi
  [[ -z $syslog_unavailable ]] || return 0
  # gpgseal sent its line before it exited; the sink may lag a little.
  for _ in $(seq 20); do
    (($(syslog_count) >= since + $#)) && break
    sleep 0.1
  done
  grep ' gpgseal\[' "$tmp/syslog" | tail -n +$((since + 1)) \
    >"$tmp/${label//\//-}.syslog" || true
}

# expect LABEL ADDRESS FOLDER BEFORE KEYWORDS MODE MESSAGE
expect() {
  local label=$1 why; shift
  if why=$(check_stored "$@" 2>&1); then
    pass "$label"
  else
    fail "$label" "$why"
  fi
}

# one_case TRANSPORT NAME ADDRESS FOLDER KEYWORDS MODE MESSAGE: one message
# for one user, stored in FOLDER with exactly KEYWORDS, encrypted or unchanged.
one_case() {
  local transport=$1 name=$2 address=$3 folder=$4 keywords=$5 mode=$6 message=$7
  local label=$transport/$name before
  before=$(maildir_files "$(maildir_of "$address" "$folder")")
  deliver_case "$label" "$transport" "$message" "$address" || return 0
  expect "$label" "$address" "$folder" "$before" "$keywords" "$mode" "$message"
}

# One message for Alice and Bob: each copy is encrypted to its user only.
case_own_keys() {
  local transport=$1 message=$DATA/multipart-attachment.eml
  local a b
  a=$(maildir_files "$(maildir_of "$ALICE")")
  b=$(maildir_files "$(maildir_of "$BOB")")
  deliver_case "$transport/own-key" "$transport" "$message" "$ALICE" "$BOB" ||
    return 0
  expect "$transport/own-key/alice" "$ALICE" INBOX "$a" "" encrypted "$message"
  expect "$transport/own-key/bob" "$BOB" INBOX "$b" "" encrypted "$message"
}

# gpg blocks opening the FIFO; without gpgseal's deadline Dovecot would kill
# the filter at DAVE_DOVECOT_TIMEOUT and store nothing.
case_timeout_hung_keyring() {
  local transport=$1 name=timeout-hung-keyring start elapsed
  start=$EPOCHREALTIME
  one_case "$transport" "$name" "$DAVE" INBOX "" unchanged "$DATA/plain-lf.eml"
  elapsed=$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }')
  if awk -v t="$elapsed" -v lo="$DAVE_TIMEOUT" -v hi="$DAVE_DOVECOT_TIMEOUT" \
       'BEGIN { exit !(t >= lo && t < hi - 1) }'; then
    pass "$transport/$name/before-dovecot-timeout (${elapsed}s)"
  else
    fail "$transport/$name/before-dovecot-timeout" "delivery took ${elapsed}s;" \
      "want gpgseal's ${DAVE_TIMEOUT}s deadline, well before Dovecot's" \
      "${DAVE_DOVECOT_TIMEOUT}s"
  fi
}

run_virtual_cases() {
  local t
  for t in lda lmtp; do
    case_own_keys "$t"
    one_case "$t" strict-missing-key "$CAROL" Unencrypted "$FLAGGED" unchanged \
      "$DATA/plain-lf.eml"
    case_timeout_hung_keyring "$t"
    one_case "$t" timeout-large-message-strict "$ERIN" Unencrypted "$FLAGGED" \
      unchanged "$tmp/data/large.eml"
    one_case "$t" no-keyring-directory "$FRANK" INBOX "" unchanged "$DATA/plain-lf.eml"
  done
}

# The personal snippet replaces the virtual one: restart Dovecot with it.
run_personal_cases() {
  stop_dovecot
  write_config 90-gpgseal-personal.conf
  install -m 0600 -o "$e2e_user" -g "$e2e_user" \
    "$REPO/sieve/personal-example.sieve" "$(home_of "$GRACE")/.dovecot.sieve"
  start_dovecot
  local t
  for t in lda lmtp; do
    one_case "$t" personal/encrypted "$GRACE" INBOX "" encrypted "$DATA/plain-lf.eml"
    one_case "$t" personal/list-in-clear "$GRACE" Lists "" unchanged \
      "$DATA/list-announce.eml"
    one_case "$t" personal/invoice-filed-encrypted "$GRACE" Invoices "" encrypted \
      "$DATA/multipart-attachment.eml"
  done
}

# syslog_case NAME PRI ADDRESS PATTERN LABEL...: each delivery LABEL logged
# one gpgseal line for ADDRESS, matching the extended regular expression
# "^<PRI>Mmm dd hh:mm:ss gpgseal[PID]: message for <ADDRESS> PATTERN; N bytes
# in, N bytes out, N ms". PRI is facility mail (2) * 8 + severity
# (RFC 3164 §4.1.1): 22 info, 21 notice, 19 err.
syslog_case() {
  local name=syslog/$1 pri=$2 address=$3 pattern=$4 label lines problem=""
  shift 4
  if [[ -n $syslog_unavailable ]]; then
    skip "$name" "$syslog_unavailable"
    return
  fi
  local line="^<$pri>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} gpgseal\\[[0-9]+\\]: "
  line+="message for <${address//./\\.}> $pattern; "
  line+='[0-9]+ bytes in, [0-9]+ bytes out, [0-9]+ ms$'
  for label in "$@"; do
    lines=$(grep -F "message for <$address>" "$tmp/${label//\//-}.syslog" || true)
    if [[ -z $lines || $lines == *$'\n'* ]]; then
      problem+="$label: want one line for <$address>, got: '$lines'; "
    elif ! grep -Eq -- "$line" <<<"$lines"; then
      problem+="$label: '$lines' does not match '$line'; "
    fi
  done
  if [[ -z $problem ]]; then pass "$name"; else fail "$name" "$problem"; fi
}

# The line names the key (only the user's own), the keyring without a key,
# the timeout; a message is never quoted.
run_syslog_cases() {
  local address keyrings=${tmp//./\\.}/keyrings
  for address in "$ALICE" "$BOB"; do
    syslog_case "encrypted/$(local_part "$address")" 22 "$address" \
      "encrypted to 0x$(primary_fingerprint_of "$address")" lda/own-key lmtp/own-key
  done
  syslog_case strict-missing-key 19 "$CAROL" \
    "failed, nothing written: no usable encryption key for <carol@example\\.org> in $keyrings/example\\.org/carol .*" \
    lda/strict-missing-key lmtp/strict-missing-key
  syslog_case timeout 19 "$DAVE" \
    "passed through UNENCRYPTED: gave up at the --timeout of $DAVE_TIMEOUT s and stopped gpg.*" \
    lda/timeout-hung-keyring lmtp/timeout-hung-keyring
  syslog_case timeout-strict 19 "$ERIN" \
    "failed, nothing written: gave up at the --timeout of $ERIN_TIMEOUT s and stopped gpg.*" \
    lda/timeout-large-message-strict lmtp/timeout-large-message-strict
  syslog_case no-keyring-directory 19 "$FRANK" \
    "passed through UNENCRYPTED: keyring directory $keyrings/example\\.org/frank is unusable: .*" \
    lda/no-keyring-directory lmtp/no-keyring-directory
  local quoted
  if [[ -n $syslog_unavailable ]]; then
    skip syslog/no-content "$syslog_unavailable"
  elif quoted=$(grep -E 'Invoice 2024-117|Lunch on Thursday|Release 3\.1' "$tmp/syslog"); then
    fail syslog/no-content "a Subject reached the syslog: $quoted"
  else
    pass syslog/no-content
  fi
}

main() {
  start_run GPGSEAL_BINARY "$@"
  make_tmp gpgseal-deploy-e2e
  make_user gpgseal-vmail "$tmp/vmail"
  make_homes
  make_keys
  install_filter "$1"
  make_large_message
  write_users
  write_virtual_config
  compile_sieve gpgseal-before.sieve gpgseal-before-strict.sieve
  start_syslog_sink
  start_dovecot
  run_virtual_cases
  run_personal_cases
  run_syslog_cases
  check_no_leftovers
  finish_run
}

main "$@"
