#!/usr/bin/env bash
# End-to-end test of README's "Other MTAs: Exim and procmail": the recipes,
# taken from README.md itself, run with Debian's real exim4 and procmail.
#
# Usage: tests/e2e/mta_exim_procmail_run.sh GPGSEAL_BINARY  (as root; 77 = skip)
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 360 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir (mails, logs) for debugging.
#
# What it proves:
# - Exim (a private exim4-daemon-light, tests/e2e/mta/lib_exim.sh): Debian's
#   own local_user router and maildir_home transport, README's
#   transport_filter line added to the transport,
#   stores SMTP mail for a system user encrypted (PGP/MIME that the user's
#   secret key decrypts to the original's Content-* fields and body), with
#   Return-path, Envelope-to, Delivery-date and Received in clear on top;
# - a keyring gpgseal refuses (writable by others) makes Exim defer: nothing
#   is stored, README's `exim4 -bp` lists the message; after the repair,
#   README's `exim4 -qff` delivers it encrypted;
# - without --on-error fail, a refused keyring stores the original, with
#   gpgseal's stderr line appended to the body (README's warning); a
#   message for an address without a key is stored exactly as it came;
# - README's warning: with the tainted $local_part@$domain, Exim bounces;
# - roll back: a deferred message, then the line deleted and SIGHUP: the next
#   retry and new mail are stored unchanged;
# - procmail (Debian's, as delivery agent `procmail -d USER`, as an MTA runs
#   it) with README's ~/.procmailrc stores encrypted; with DEFAULT an mbox,
#   the mbox From_ line procmail adds stays first, outside the encryption;
# - a refused keyring: README's recipe stores the original unchanged
#   (procmail exits 0); with README's `:0 e` block added procmail exits 75
#   and stores nothing, so the MTA keeps the message;
# - no process of the mail user is left running afterwards.
#
# Output: one PASS/FAIL line per case, then exactly one "N passed, M failed"
# line; exit status 0 only if nothing failed.
set -Eeuo pipefail

readonly SCRIPT=mta_exim_procmail_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-360}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/mta/lib_mta.sh
source "$HERE/mta/lib_mta.sh"
readonly DATA=$HERE/data
readonly SENDER=sender@example.com
readonly EXIM_HEADING='### Exim: `transport_filter`'
readonly PROCMAIL_HEADING='### procmail: a `:0 fw` recipe'
readonly README_GPGSEAL=/usr/local/bin/gpgseal

rcpt=""       # the test user's address
maildir=""    # and Maildir
gpgseal=""    # the binary, where the mail user can reach it

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client-gnupg"
  kill_agents user "$tmp/home/.gnupg"
}
extra_teardown() { mta_stop_all; }

readme_block() {
  python3 "$HERE/mta/readme_block.py" "$REPO/README.md" "$1" "$2" |
    sed "s|$README_GPGSEAL|$gpgseal|g"
}

# --- setup -----------------------------------------------------------------

setup() {
  make_tmp gpgseal-mta
  make_user gpgseal-mta "$tmp/home"
  make_dirs "$tmp/home" "$tmp/home/.gnupg"
  rcpt=$e2e_user@example.org
  maildir=$tmp/home/Maildir
  make_key "$tmp/client-gnupg" "Test User <$rcpt>" "$tmp/user.pub.asc"
  import_key "$tmp/home/.gnupg" "$tmp/user.pub.asc"
  install -d -m 0755 "$tmp/bin"
  install -m 0755 "$1" "$tmp/bin/gpgseal"
  gpgseal=$tmp/bin/gpgseal
}

# gpgseal refuses a keyring others can write: any delivery is then an error.
break_keyring() { chmod 0777 "$tmp/home/.gnupg"; }
repair_keyring() { chmod 0700 "$tmp/home/.gnupg"; }

# check_stored NAME MODE ORIGINAL FILE: check_stored.py's verdict on FILE.
check_stored() {
  if [[ -z $4 ]]; then
    fail "$1" "expected one new message in $maildir"
  else
    check_verdict "$@" "$tmp/client-gnupg"
  fi
}

# wait_new BEFORE: the one message added to the Maildir since BEFORE.
wait_new() {
  mta_wait_files "$maildir" $(($(grep -c . <<<"$1") + 1)) 30 || true
  new_file "$1" "$(maildir_files "$maildir")"
}

# --- Exim ------------------------------------------------------------------

# Debian's local_user router and maildir_home transport, as shipped, plus
# README's line.
write_exim_transport() {
  local debian
  debian=$(mta_prefix exim4)/etc/exim4/conf.d
  {
    echo "LOCAL_DELIVERY = maildir_home"
    sed -n '/^local_user:/,$p' "$debian/router/900_exim4-config_local_user"
  } >"$tmp/exim-router.conf"
  {
    sed -n '/^maildir_home:/,$p' "$debian/transport/30_exim4-config_maildir_home"
    readme_block "$EXIM_HEADING" 1
  } >"$tmp/exim-transport.conf"
  grep -q "transport_filter = $gpgseal " "$tmp/exim-transport.conf" ||
    die "README's transport_filter line not found"
}

# README's commands, run against the private configuration.
exim_readme_command() {
  local line
  line=$(readme_block "$EXIM_HEADING" 2 | grep -x "exim4 $1") ||
    die "README has no 'exim4 $1'"
  # shellcheck disable=SC2086  # the command's words
  exim_cmd ${line#exim4 }
}

exim_send() {
  mta_smtp "$EXIM_PORT" "$SENDER" "$rcpt" <"$1" >"$tmp/smtp.log" 2>&1 ||
    fail "$2" "SMTP refused: $(cat "$tmp/smtp.log")"
}

exim_case_encrypted() {
  local before file message=$DATA/multipart-attachment.eml
  before=$(maildir_files "$maildir")
  exim_send "$message" exim/encrypted
  file=$(wait_new "$before")
  check_stored exim/encrypted encrypted "$message" "$file"
  [[ -n $file ]] || return 0
  # Exim's own fields, in clear and in this order, before the original's.
  local top
  top=$(head -n 4 "$file" | cut -d: -f1 | paste -sd' ')
  if [[ $top == "Return-path Envelope-to Delivery-date Received" ]]; then
    pass exim/headers-in-clear
  else
    fail exim/headers-in-clear "stored header starts: $(head -n 6 "$file")"
  fi
}

# The message is deferred: in the queue, not in the Maildir.
expect_deferred() {
  local name=$1 before=$2 queue
  sleep 3
  queue=$(exim_readme_command -bp)
  if [[ $(maildir_files "$maildir") != "$before" ]]; then
    fail "$name" "stored despite the failing filter"
  elif ! grep -q "$rcpt" <<<"$queue"; then
    fail "$name" "not in the queue (exim4 -bp: $queue); $(exim_log)"
  elif ! grep -q "== $rcpt.*T=maildir_home defer" "$(mta_dir exim4)/log/mainlog"; then
    fail "$name" "no defer line in the log: $(exim_log)"
  else
    pass "$name"
  fi
}

# (Not plain-lf.eml: Exim drops the Return-Path it brings, return_path_remove.)
exim_case_defer_then_retry() {
  local before file message=$DATA/latin1-8bit.eml
  break_keyring
  before=$(maildir_files "$maildir")
  exim_send "$message" exim/defers
  expect_deferred exim/defers "$before"
  repair_keyring
  exim_readme_command -qff
  file=$(wait_new "$before")
  check_stored exim/retried-encrypted encrypted "$message" "$file"
  if [[ -n $(exim_readme_command -bp) ]]; then
    fail exim/queue-empty "still queued: $(exim_readme_command -bp)"
  fi
}

# README's warning: the envelope's $local_part@$domain is tainted, and Exim
# bounces the message rather than run the filter with it.
exim_case_tainted() {
  local before line
  line=$(grep 'transport_filter' "$EXIM_CONF")
  sed -i 's|\$local_part_data@\$domain_data|$local_part@$domain|' "$EXIM_CONF"
  before=$(maildir_files "$maildir")
  exim_send "$DATA/cron-no-mime.eml" exim/tainted-bounces
  sleep 3
  if [[ $(maildir_files "$maildir") != "$before" ]]; then
    fail exim/tainted-bounces "stored"
  elif ! grep -q "\*\* $rcpt .*Tainted arg" "$(mta_dir exim4)/log/mainlog"; then
    fail exim/tainted-bounces "no bounce for the tainted argument: $(exim_log)"
  else
    pass exim/tainted-bounces
  fi
  sed -i "s|^.*transport_filter.*\$|$line|" "$EXIM_CONF"
  grep -qF "$line" "$EXIM_CONF" || die "could not restore $EXIM_CONF"
}

# Without --on-error fail, gpgseal passes the original through (exit 0) and
# Exim stores it, but with what gpgseal said on stderr appended to the body:
# Exim gives a transport filter one pipe for stdout and stderr. README warns.
exim_case_fail_open() {
  local before file line message=$DATA/cron-no-mime.eml
  line=$(grep 'transport_filter' "$EXIM_CONF")
  sed -i 's| --on-error fail | |' "$EXIM_CONF"
  break_keyring
  before=$(maildir_files "$maildir")
  exim_send "$message" exim/fail-open
  file=$(wait_new "$before")
  repair_keyring
  sed -i "s|^.*transport_filter.*\$|$line|" "$EXIM_CONF"
  grep -qF "$line" "$EXIM_CONF" || die "could not restore $EXIM_CONF"
  if [[ -z $file ]]; then
    fail exim/fail-open "nothing stored"; return
  fi
  if tail -n 1 "$file" |
      grep -q "^gpgseal: message for <$rcpt> passed through UNENCRYPTED: "; then
    pass exim/fail-open-stderr-appended
  else
    fail exim/fail-open-stderr-appended "last line: $(tail -n 1 "$file")"
  fi
  sed '$d' "$file" >"$tmp/fail-open-stored"
  check_stored exim/fail-open-otherwise-unchanged unchanged "$message" \
    "$tmp/fail-open-stored"
}

# No key (here: a keyring without its public keyring) is policy, not an
# error: nothing on stderr, so Exim stores the message exactly as it came.
exim_case_no_key() {
  local before file message=$DATA/cron-no-mime.eml
  mv "$tmp/home/.gnupg/pubring.kbx" "$tmp/pubring.kbx.aside"
  before=$(maildir_files "$maildir")
  exim_send "$message" exim/no-key
  file=$(wait_new "$before")
  mv "$tmp/pubring.kbx.aside" "$tmp/home/.gnupg/pubring.kbx"
  check_stored exim/no-key-unchanged unchanged "$message" "$file"
}

# Roll back: the deferred message and new mail are stored as they came.
exim_case_rollback() {
  local before file message=$DATA/cron-no-mime.eml
  break_keyring
  before=$(maildir_files "$maildir")
  exim_send "$message" exim/rollback
  expect_deferred exim/rollback-deferred "$before"
  sed -i '/transport_filter/d' "$EXIM_CONF"
  exim_reload
  exim_readme_command -qff
  file=$(wait_new "$before")
  check_stored exim/rollback-retry-unchanged unchanged "$message" "$file"
  before=$(maildir_files "$maildir")
  exim_send "$DATA/plain-crlf.eml" exim/rollback
  file=$(wait_new "$before")
  check_stored exim/rollback-new-unchanged unchanged "$DATA/plain-crlf.eml" "$file"
  repair_keyring
}

run_exim() {
  write_exim_transport
  exim_setup "$tmp/exim-transport.conf" maildir_home "$tmp/exim-router.conf"
  exim_start
  exim_case_encrypted
  exim_case_defer_then_retry
  exim_case_tainted
  exim_case_fail_open
  exim_case_no_key
  exim_case_rollback
  exim_stop
}

# --- procmail --------------------------------------------------------------

# procmail_deliver MESSAGE: as an MTA runs it; prints procmail's status.
procmail_deliver() {
  local status=0
  bounded procmail -f "$SENDER" -d "$e2e_user" <"$1" \
    >>"$tmp/procmail.log" 2>&1 || status=$?
  echo "$status"
}

write_procmailrc() {
  readme_block "$PROCMAIL_HEADING" 1 >"$tmp/home/.procmailrc"
  chown "$e2e_user:" "$tmp/home/.procmailrc"
  chmod 0644 "$tmp/home/.procmailrc"
}

# procmail ends the message with an empty line, as mbox wants, before any
# filter sees it; unfiltered, it drops that line again when it writes into a
# Maildir, but inside the encryption the line stays. What gpgseal encrypts
# is therefore MESSAGE plus one empty line: as_procmail_sees MESSAGE.
as_procmail_sees() {
  local copy
  copy=$tmp/procmail-$(basename "$1")
  { cat "$1"; echo; } >"$copy"
  echo "$copy"
}

procmail_case() {
  local name=$1 mode=$2 message=$3 before file status expected=$3
  [[ $mode == encrypted ]] && expected=$(as_procmail_sees "$message")
  before=$(maildir_files "$maildir")
  status=$(procmail_deliver "$message")
  if [[ $status != 0 ]]; then
    fail "$name" "procmail exited $status: $(tail -n 5 "$tmp/procmail.log")"
    return
  fi
  file=$(new_file "$before" "$(maildir_files "$maildir")")
  check_stored "$name" "$mode" "$expected" "$file"
}

# DEFAULT an mbox: procmail's From_ line stays first, in clear.
procmail_case_mbox() {
  local mbox=$tmp/home/mbox message=$DATA/plain-lf.eml status
  sed -i 's|^DEFAULT=.*|DEFAULT=$HOME/mbox|' "$tmp/home/.procmailrc"
  status=$(procmail_deliver "$message")
  write_procmailrc
  if [[ $status != 0 || ! -f $mbox ]]; then
    fail procmail/mbox "procmail exited $status: $(tail -n 5 "$tmp/procmail.log")"
    return
  fi
  if ! head -n 1 "$mbox" | grep -q "^From $SENDER "; then
    fail procmail/mbox-from-line-first "first line: $(head -n 1 "$mbox")"
    return
  fi
  pass procmail/mbox-from-line-first
  # The message itself: after the From_ line, without mbox's closing blank line.
  tail -n +2 "$mbox" | sed '$ { /^$/d }' >"$tmp/mbox-message"
  check_stored procmail/mbox-encrypted encrypted \
    "$(as_procmail_sees "$message")" "$tmp/mbox-message"
}

procmail_case_strict() {
  local before status
  readme_block "$PROCMAIL_HEADING" 2 >>"$tmp/home/.procmailrc"
  break_keyring
  before=$(maildir_files "$maildir")
  status=$(procmail_deliver "$DATA/plain-lf.eml")
  repair_keyring
  write_procmailrc
  if [[ $status != 75 ]]; then
    fail procmail/strict-tempfail "procmail exited $status, not 75"
  elif [[ $(maildir_files "$maildir") != "$before" ]]; then
    fail procmail/strict-tempfail "stored something; the MTA would deliver twice"
  else
    pass procmail/strict-tempfail
  fi
}

run_procmail() {
  write_procmailrc
  procmail_case procmail/encrypted encrypted "$DATA/multipart-attachment.eml"
  procmail_case procmail/encrypted-crlf encrypted "$DATA/plain-crlf.eml"
  procmail_case_mbox
  break_keyring
  : >"$tmp/procmail.log"
  procmail_case procmail/failure-stores-original unchanged "$DATA/plain-lf.eml"
  repair_keyring
  if grep -q '^procmail: Program failure (75) of ' "$tmp/procmail.log" &&
     grep -q '^procmail: Rescue of unfiltered data succeeded' "$tmp/procmail.log"
  then
    pass procmail/failure-logged
  else
    fail procmail/failure-logged "procmail said: $(cat "$tmp/procmail.log")"
  fi
  procmail_case_strict
}

main() {
  start_run GPGSEAL_BINARY "$@"
  setup "$1"
  run_exim
  run_procmail
  check_no_leftovers
  summary
  [[ $failed -eq 0 ]] || exit 1
}

main "$@"
