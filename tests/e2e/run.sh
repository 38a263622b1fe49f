#!/usr/bin/env bash
# End-to-end test: a real, private Dovecot delivers mail through gpgseal.
#
# Usage: tests/e2e/run.sh GPGSEAL_BINARY      (as root; exits 77 = skip otherwise)
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 300 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir (mails, logs) for debugging.
#
# What it proves, for both dovecot-lda and LMTP delivery:
# - the shipped kit works as shipped: sieve/90-gpgseal.conf is included (only
#   its paths are overridden) and sieve/gpgseal-before.sieve is compiled with
#   sievec and run as the global sieve_before script;
# - Dovecot runs gpgseal as the mail user, with Dovecot's bare environment,
#   and gpgseal finds the user's public key in ~/.gnupg by the username;
# - each message in tests/e2e/data/ is stored as RFC 3156 PGP/MIME that the
#   recipient's secret key (kept in a separate client keyring) decrypts to
#   exactly the original's Content-* fields + blank line + body, while the
#   other header fields (Subject, From, ...) stay outside byte for byte;
# - an already encrypted message, and a message for a user whose keyring has
#   no key for the exact address (only a key for a longer address containing
#   it), are stored unchanged;
# - a 4 MB message, far beyond a pipe buffer, gets through whole both ways;
# - the key choice is remembered in the user's keyring (mode 0600, the mail
#   user's), and a delivery that uses it decrypts;
# - no message gets the $FilterFailed flag (gpgseal exited 0 every time), and
#   no process of the mail user is left running afterwards.
# Line ends are compared as LF: Dovecot stores LF whatever it was given.
# deployment_run.sh covers virtual users, the strict and personal scripts,
# --timeout and the syslog line.
#
# Output: one PASS/FAIL line per case, then exactly one "N passed, M failed"
# line; exit status 0 only if nothing failed.
# Everything lives in one mktemp -d directory, with a throwaway system user;
# the EXIT trap stops Dovecot and gpg-agents and removes user and directory.
# The whole run is bounded by TOTAL_TIMEOUT, each delivery by CASE_TIMEOUT.
# Needs: dovecot-core, dovecot-sieve, dovecot-lmtpd, gnupg, python3 >= 3.9.
set -Eeuo pipefail

readonly SCRIPT=run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-300}
readonly CASE_TIMEOUT=90
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DATA=$HERE/data
readonly SENDER=sender@example.org
readonly ALICE=alice.smith@example.org
# A substring of Alice's address: a keyring holding only Alice's key has no
# key for this exact address, so gpgseal must pass the message through.
readonly SMITH=smith@example.org

# name  message file  recipient  expected outcome
readonly CASES=(
  "plain-lf              $ALICE encrypted"
  "plain-crlf            $ALICE encrypted"
  "multipart-attachment  $ALICE encrypted"
  "latin1-8bit           $ALICE encrypted"
  "cron-no-mime          $ALICE encrypted"
  "large-attachment      $ALICE encrypted"
  "already-encrypted     $ALICE unchanged"
  "no-key                $SMITH unchanged"
)

# --- setup -----------------------------------------------------------------

home_of() {
  case $1 in
    "$ALICE") echo alice ;;
    "$SMITH") echo smith ;;
  esac
}

# Both keyrings get Alice's public key: Smith's then holds only a key whose
# address merely contains his.
make_keys() {
  make_key "$tmp/client-gnupg" "Alice Smith <$ALICE>" "$tmp/alice.pub.asc"
  local home
  for home in alice smith; do
    make_dirs "$tmp/home/$home" "$tmp/home/$home/.gnupg"
    import_key "$tmp/home/$home/.gnupg" "$tmp/alice.pub.asc"
  done
}

write_users() {
  {
    user_line "$ALICE" "$tmp/home/alice"
    user_line "$SMITH" "$tmp/home/smith"
  } >"$tmp/users"
}

# The shipped snippet included as is, then only its paths overridden.
write_config() {
  {
    dovecot_base_config gpgseal-e2e
    cat <<EOF

!include $REPO/sieve/90-gpgseal.conf

plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_before = $tmp/sieve/gpgseal-before.sieve
  sieve_filter_bin_dir = $tmp/filter-bin
}
EOF
  } >"$tmp/dovecot.conf"
}

# 4 MB of base64 (the same bytes every run), far beyond the 64 KiB a pipe
# buffers: gpgseal must read all of stdin or LMTP delivery panics.
make_large_message() {
  python3 - "$tmp/data/large-attachment.eml" <<'PY'
import base64, random, sys
blob = base64.encodebytes(random.Random(3156).randbytes(3 << 20))
head = b"""From: Build Server <ci@example.net>
To: alice.smith@example.org
Subject: Nightly build artefacts
Date: Sat, 16 Nov 2024 02:00:00 +0000
Message-ID: <nightly-20241116@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Build 20241116 passed; artefacts attached.

--b1
Content-Type: application/octet-stream; name="build.tar"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="build.tar"

"""
open(sys.argv[1], "wb").write(head + blob + b"\n--b1--\n")
PY
}

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client-gnupg"
  kill_agents user "$tmp"/home/*/.gnupg
}

# --- cases -----------------------------------------------------------------

run_case() {
  local transport=$1 name=$2 rcpt=$3 expect=$4
  local label=$transport/$name message=$DATA/$name.eml
  [[ -f $message ]] || message=$tmp/data/$name.eml
  local maildir before stored
  maildir=$tmp/home/$(home_of "$rcpt")/Maildir
  local log=$tmp/$transport-$name.log
  before=$(maildir_files "$maildir")
  if ! deliver "$transport" "$message" "$rcpt" >"$log" 2>&1; then
    fail "$label" "delivery failed: $(tail -n 5 "$log")"
    return
  fi
  stored=$(new_file "$before" "$(maildir_files "$maildir")")
  if [[ -z $stored ]]; then
    fail "$label" "expected one new message in $maildir"
    return
  fi
  local keywords
  keywords=$(keywords_of "$stored")
  if [[ -n $keywords ]]; then
    fail "$label" "stored with keywords: $keywords (the filter failed and" \
      "Dovecot stored the original): $(tail -n 5 "$log")"
    return
  fi
  check_verdict "$label" "$expect" "$message" "$stored" "$tmp/client-gnupg"
}

# After the cases, Alice's keyring holds the key choice gpgseal remembered, as
# the mail user's own private file, and a delivery made with it decrypts.
check_key_cache() {
  local cache=$tmp/home/alice/.gnupg/gpgseal-keycache
  # Nothing is remembered from a keyring written in the last two seconds.
  local age=$(($(date +%s) - $(stat -c %Y "$tmp/home/alice/.gnupg/pubring.kbx")))
  ((age > 3)) || sleep $((4 - age))
  run_case lda plain-lf "$ALICE" encrypted
  if [[ ! -f $cache ]]; then
    fail key-cache "no $cache after the deliveries"
  elif [[ $(stat -c '%U %a' "$cache") != "$e2e_user 600" ]]; then
    fail key-cache "$cache is $(stat -c '%U %a' "$cache"), not $e2e_user 600"
  elif ! grep -q "^entry [0-9]* 1 $ALICE [0-9A-F]\{40\}" "$cache"; then
    fail key-cache "$cache does not name Alice's key: $(cat "$cache")"
  else
    run_case lmtp plain-crlf "$ALICE" encrypted  # with the remembered key
    pass key-cache
  fi
}

main() {
  start_run GPGSEAL_BINARY "$@"
  make_tmp gpgseal-e2e
  mkdir -m 0755 "$tmp/home" "$tmp/data"
  make_user gpgseal-e2e "$tmp/home"
  make_keys
  install_filter "$1"
  make_large_message
  write_users
  write_config
  compile_sieve gpgseal-before.sieve
  start_dovecot
  run_cases
  check_key_cache
  check_no_leftovers
  finish_run
}

main "$@"
