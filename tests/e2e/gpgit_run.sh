#!/usr/bin/env bash
# End-to-end test of the drop-in claim: the Sieve lines admins wrote for
# gpgit run unchanged against gpgseal, through a real, private Dovecot.
#
# Usage: tests/e2e/gpgit_run.sh GPGSEAL_BINARY  (as root; 77 = skip otherwise)
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 120 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir (mails, logs) for debugging.
#
# The set-up is a gpgit one, not gpgseal's kit: sieve_filter_bin_dir holds a
# symlink named `gpgit` to the gpgseal under test, the plugin settings are
# the ones gpgit's instructions gave, and each user's public key is in
# ~/.gnupg of their home, with no --gnupghome (gpgit knew no other place).
# Two global sieve_before scripts, one per user, hold the two classic lines:
# - Alice: `if envelope :matches "to" "*" { set "recipient" "${1}"; }
#   filter "gpgit" "${recipient}";` -- gpgit's default mode, so a plain text
#   mail and an HTML mail (multipart/related around a multipart/alternative,
#   with a cid: image) are stored as RFC 3156 PGP/MIME that Alice's secret
#   key (kept in a separate client keyring) decrypts to exactly the
#   original's Content-* fields + blank line + body;
# - Bob: `filter "gpgit" ["--encrypt-mode", "prefer-inline",
#   "--inline-flatten", "${env.vnd.dovecot.username}"];` -- a quoted-printable
#   and a Latin-1 8bit text mail are stored as inline PGP: headers kept,
#   Content-Transfer-Encoding 7bit, and a body that decrypts to the decoded
#   text in its own charset; the HTML mail is flattened to its text part
#   and says X-Gpgit-Flattened-From: multipart/related(multipart/alternative(
#   text/plain,text/html),image/png); a mail with a PDF attachment cannot be
#   flattened and falls back to PGP/MIME.
# Every stored message carries X-Gpgit-Executed: True; each case is
# delivered through dovecot-lda and LMTP; no process of the mail user is
# left running afterwards.
#
# Output: one PASS/FAIL line per case, then exactly one "N passed, M failed"
# line; exit status 0 only if nothing failed.
# Everything lives in one mktemp -d directory, with a throwaway system user;
# the EXIT trap stops Dovecot and gpg-agents and removes user and directory.
# Needs what run.sh needs.
set -Eeuo pipefail

readonly SCRIPT=gpgit_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-120}
readonly CASE_TIMEOUT=30
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly SENDER=sender@example.net
readonly ALICE=alice@example.org   # the classic line: PGP/MIME
readonly BOB=bob@example.org       # gpgit's options: inline, flattened
readonly FLATTENED='multipart/related(multipart/alternative(text/plain,text/html),image/png)'

# name  message (under tests/)  recipient  expected outcome [flattened from]
readonly CASES=(
  "classic/plain-text         data/quoted-printable.eml         $ALICE pgpmime"
  "classic/html-related       data/related-cid-quoted.eml       $ALICE pgpmime"
  "options/plain-text-inline  data/quoted-printable.eml         $BOB inline"
  "options/latin1-inline      e2e/data/latin1-8bit.eml          $BOB inline"
  "options/html-flattened     data/related-cid-quoted.eml       $BOB inline $FLATTENED"
  "options/attachment-pgpmime e2e/data/multipart-attachment.eml $BOB pgpmime"
)

# --- setup -----------------------------------------------------------------

# The secret keys stay in the client keyrings; each server keyring,
# ~/.gnupg, holds its user's public key only.
make_keys() {
  local address
  mkdir -m 0755 "$tmp/client"
  for address in "$ALICE" "$BOB"; do
    make_dirs "$(home_of "$address")" "$(home_of "$address")/.gnupg"
    make_client_key "$address"
    import_key "$(home_of "$address")/.gnupg" "$(client_of "$address").pub.asc"
  done
}

# The two Sieve lines, as admins wrote them for gpgit.
write_sieve() {
  # shellcheck disable=SC2016  # Sieve variables, literally
  printf '%s\n' \
    'require ["vnd.dovecot.filter","variables","envelope"];' \
    'if envelope :matches "to" "*" { set "recipient" "${1}"; }' \
    'filter "gpgit" "${recipient}";' >"$tmp/sieve/gpgit-classic.sieve"
  # shellcheck disable=SC2016
  printf '%s\n' \
    'require ["vnd.dovecot.filter","variables","vnd.dovecot.environment"];' \
    'filter "gpgit" ["--encrypt-mode", "prefer-inline", "--inline-flatten", "${env.vnd.dovecot.username}"];' \
    >"$tmp/sieve/gpgit-inline.sieve"
  local script
  for script in "$tmp"/sieve/*.sieve; do
    sievec -c "$tmp/dovecot.conf" "$script"
  done
  chmod 0644 "$tmp/sieve/"*
}

# A userdb field overrides the global script for Bob.
write_users() {
  {
    user_line "$ALICE" "$(home_of "$ALICE")"
    user_line "$BOB" "$(home_of "$BOB")" \
      "userdb_sieve_before=$tmp/sieve/gpgit-inline.sieve"
  } >"$tmp/users"
}

# What a gpgit installation had: Sieve in both delivery agents, the
# extprograms plugin, `filter` for global scripts, and the directory the
# `gpgit` symlink lives in. Dovecot's default sieve_filter_exec_timeout.
write_config() {
  {
    dovecot_base_config gpgseal-gpgit
    sieve_config "$tmp/sieve/gpgit-classic.sieve"
  } >"$tmp/dovecot.conf"
}

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp"/client/*
  kill_agents user "$tmp"/home/*/.gnupg
}

# --- cases -----------------------------------------------------------------

# run_case TRANSPORT NAME MESSAGE RCPT pgpmime|inline [FLATTENED_FROM]:
# MESSAGE is a path under tests/.
run_case() {
  local transport=$1 name=$2 message=$REPO/tests/$3 rcpt=$4 expect=$5 flattened=${6:-}
  local label=$transport/$name log=$tmp/${transport}-${name//\//-}.log
  local stored keywords why log_text
  deliver_and_find "$label" "$transport" "$message" "$rcpt" "$(home_of "$rcpt")/Maildir" "$log" ||
    return 0
  keywords=$(keywords_of "$stored")
  if [[ -n $keywords ]]; then
    fail "$label" "stored with keywords: $keywords"
    return
  fi
  local check=(encrypted "$message" "$stored" "$(client_of "$rcpt")")
  if [[ $expect == inline ]]; then
    check=(inline "$message" "$stored" "$(client_of "$rcpt")" ${flattened:+"$flattened"})
  fi
  if why=$(python3 "$HERE/check_stored.py" "${check[@]}" 2>&1); then
    pass "$label"
  else
    log_text=$(tail -n 5 "$log")   # LDA's own lines; LMTP logs to dovecot.log
    fail "$label" "$why${log_text:+; delivery said: $log_text}"
  fi
}

main() {
  start_run GPGSEAL_BINARY "$@"
  make_tmp gpgseal-gpgit-e2e
  mkdir -m 0755 "$tmp/home"
  make_user gpgseal-gpgit "$tmp/home"
  make_keys
  install_filter "$1" gpgit
  write_users
  write_config
  write_sieve
  start_dovecot
  run_cases
  check_no_leftovers
  finish_run
}

main "$@"
