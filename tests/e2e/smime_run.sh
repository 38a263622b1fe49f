#!/usr/bin/env bash
# End-to-end test of S/MIME users: a real, private Dovecot delivers through
# gpgseal to users whose keyrings hold an X.509 certificate, made usable with
# the README's command (gpgseal-import-cert, run by root as an admin would).
#
# Usage: tests/e2e/smime_run.sh GPGSEAL_BINARY  (as root; 77 = skip otherwise)
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 240 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir (mails, logs) for debugging.
#
# Users, all with ~/.gnupg as the keyring and one global Sieve script that
# calls `filter "gpgseal" ["--prefer=smime", "${env.vnd.dovecot.username}"]`:
# - Alice has a certificate issued by a test CA and no OpenPGP key: S/MIME;
# - Bob has a certificate and an OpenPGP key, and --prefer=smime: S/MIME;
# - Carol has an OpenPGP key only: PGP/MIME, as before.
# Each stored S/MIME message must be RFC 8551 application/pkcs7-mime whose
# content `openssl cms -decrypt` (not gpgsm) turns into exactly the original's
# Content-* fields and body, with the outer header kept (check_stored.py
# smime). gpgseal's own S/MIME output delivered again is stored unchanged.
# Every case goes through dovecot-lda and LMTP; no process of the mail user
# is left running afterwards.
#
# Output: one PASS/FAIL line per case, then "N passed, M failed".
set -Eeuo pipefail

readonly SCRIPT=smime_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-240}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly SENDER=sender@example.net
readonly ALICE=alice@example.org  # certificate only
readonly BOB=bob@example.org      # certificate and OpenPGP key
readonly CAROL=carol@example.org  # OpenPGP key only

# name  message (under tests/, or in $tmp)  recipient  expected outcome
readonly CASES=(
  "alice/attachment-smime     e2e/data/multipart-attachment.eml $ALICE smime"
  "alice/quoted-printable     data/quoted-printable.eml         $ALICE smime"
  "alice/crlf-smime           e2e/data/plain-crlf.eml           $ALICE smime"
  "bob/prefers-smime          e2e/data/multipart-attachment.eml $BOB smime"
  "carol/openpgp-only         data/quoted-printable.eml         $CAROL pgpmime"
  "alice/own-output-unchanged TMP/already-smime.eml             $ALICE unchanged"
)

# --- setup -----------------------------------------------------------------

make_keys() {
  certs=$tmp/certs
  "$REPO/tests/support/make_test_certs.sh" "$certs" >/dev/null
  chmod -R a+rX "$certs"
  mkdir -m 0755 "$tmp/client"
  local address
  for address in "$ALICE" "$BOB" "$CAROL"; do
    make_dirs "$(home_of "$address")" "$(home_of "$address")/.gnupg"
  done
  # The README's command, as written there: the user's certificate with the
  # CA above it in one PEM file.
  local who
  for who in alice bob; do
    cat "$certs/$who-ca.pem" "$certs/ca.pem" >"$tmp/$who-chain.pem"
    "$REPO/scripts/gpgseal-import-cert" --gnupghome "$tmp/home/$who/.gnupg" \
      "$who@example.org" "$tmp/$who-chain.pem" >/dev/null
  done
  for address in "$BOB" "$CAROL"; do
    make_client_key "$address"
    import_key "$(home_of "$address")/.gnupg" "$(client_of "$address").pub.asc"
  done
}

write_sieve() {
  # shellcheck disable=SC2016  # Sieve variables, literally
  printf '%s\n' \
    'require ["vnd.dovecot.filter","variables","vnd.dovecot.environment","imap4flags"];' \
    'if not filter "gpgseal" ["--prefer=smime", "${env.vnd.dovecot.username}"] {' \
    '  addflag "$FilterFailed";' \
    '}' >"$tmp/sieve/gpgseal-smime.sieve"
  sievec -c "$tmp/dovecot.conf" "$tmp/sieve/gpgseal-smime.sieve"
  chmod 0644 "$tmp/sieve/"*
}

write_users() {
  {
    user_line "$ALICE" "$(home_of "$ALICE")"
    user_line "$BOB" "$(home_of "$BOB")"
    user_line "$CAROL" "$(home_of "$CAROL")"
  } >"$tmp/users"
}

# The first delivery to an S/MIME user starts gpg-agent (gpgsm asks it
# whether the root is trusted): on a loaded machine that is slow, so the
# filter gets more than Dovecot's default 10 s.
write_config() {
  {
    dovecot_base_config gpgseal-smime
    sieve_config "$tmp/sieve/gpgseal-smime.sieve" "sieve_filter_exec_timeout = 50s"
  } >"$tmp/dovecot.conf"
}

# gpgseal's own S/MIME output for Alice, made by the binary under test as
# the mail user, to deliver again.
make_already_smime() {
  as_user env HOME="$(home_of "$ALICE")" "$tmp/filter-bin/gpgseal" --log=none "$ALICE" \
    <"$REPO/tests/e2e/data/plain-lf.eml" >"$tmp/already-smime.eml"
  grep -q '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data;' \
    "$tmp/already-smime.eml" || die "could not make an S/MIME message for Alice"
}

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp"/client/*
  kill_agents user "$tmp"/home/*/.gnupg
}

# --- cases -----------------------------------------------------------------

# run_case TRANSPORT NAME MESSAGE RCPT smime|pgpmime|unchanged
run_case() {
  local transport=$1 name=$2 message=$3 rcpt=$4 expect=$5
  local label=$transport/$name log=$tmp/${transport}-${name//\//-}.log
  local stored keywords why check
  if [[ $message == TMP/* ]]; then message=$tmp/${message#TMP/}; else message=$REPO/tests/$message; fi
  deliver_and_find "$label" "$transport" "$message" "$rcpt" "$(home_of "$rcpt")/Maildir" "$log" ||
    return 0
  keywords=$(keywords_of "$stored")
  if [[ -n $keywords ]]; then
    fail "$label" "stored with keywords: $keywords ($(tail -n 3 "$tmp/dovecot.log"))"
    return
  fi
  case $expect in
    smime) check=(smime "$message" "$stored" "$certs/$(local_part "$rcpt")-ca") ;;
    pgpmime) check=(encrypted "$message" "$stored" "$(client_of "$rcpt")") ;;
    unchanged) check=(unchanged "$message" "$stored") ;;
  esac
  if why=$(python3 "$HERE/check_stored.py" "${check[@]}" 2>&1); then
    pass "$label"
  else
    fail "$label" "$why"
  fi
}

main() {
  start_run GPGSEAL_BINARY "$@"
  make_tmp gpgseal-smime-e2e
  mkdir -m 0755 "$tmp/home"
  make_user gpgseal-smime "$tmp/home"
  make_keys
  install_filter "$1"
  write_users
  write_config
  write_sieve
  make_already_smime
  start_dovecot
  run_cases
  check_no_leftovers
  finish_run
}

main "$@"
