#!/usr/bin/env bash
# shellcheck disable=SC2016  # $Work, $Storm, ... are IMAP keywords, not variables
# End-to-end test of gpgseal-maildir against a real, private Dovecot.
#
# Usage: tests/e2e/maildir_run.sh GPGSEAL_MAILDIR_BINARY   (as root; 77 = skip otherwise)
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 240 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir (Maildirs, logs) for debugging.
#
# What it proves:
# - stored mail: plaintext messages delivered through dovecot-lda (no filter)
#   into INBOX, .Sent and .Archive.2024, some flagged and with keywords (set
#   through doveadm, so dovecot-keywords is Dovecot's own), one already
#   encrypted, all read once through doveadm fetch so that Dovecot has cached
#   them; then gpgseal-maildir runs (as root, like an admin) and
#   - Dovecot fetches every message's text without a single error;
#   - every mailbox keeps its UIDVALIDITY and every message its flags and
#     keywords; changed messages have new UIDs, the encrypted one keeps its;
#   - each stored file decrypts to the original, has the same base name,
#     flags, mode, owner and mtime and right S=/W=; tmp/ is empty;
#   - a second run changes nothing;
# - live server: gpgseal-maildir runs while new mail is delivered, flags are
#   changed on every message again and again and some messages are expunged;
#   afterwards (and a second run) each message is there exactly once (less
#   the expunged ones), Dovecot reads them all, and every file decrypts.
#
# Output: one PASS/FAIL line per case, then exactly one "N passed, M failed"
# line; exit status 0 only if nothing failed. Everything lives in one mktemp
# -d directory with a throwaway system user; the EXIT trap stops Dovecot and
# gpg-agents and removes user and directory.
# Needs: dovecot-core, gnupg, python3 >= 3.9. Shares its set-up and teardown
# with the other Dovecot scripts (lib.sh).
set -Eeuo pipefail

readonly SCRIPT=maildir_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-240}
readonly CASE_TIMEOUT=120
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly TOOLS=$HERE/maildir
readonly SENDER=sender@example.net
readonly ALICE=alice.smith@example.org   # stored mail, nothing else running
readonly BOB=bob.jones@example.org       # the same, on a live server
readonly ENCRYPTED_ID='<doorcode-1113@example.com>'
side_pids=()

# --- setup and teardown ------------------------------------------------------

make_homes() {
  make_user gpgseal-md "$tmp/home"
  mkdir -m 0755 "$tmp/home"
  mkdir -m 0755 "$tmp/originals" "$tmp/logs"
  mkdir -m 0700 "$tmp/client-gnupg" "$tmp/admin-gnupg"
  make_dirs "$tmp/home/alice" "$tmp/home/bob"
}

# Secret keys only in the client keyring; the admin's keyring, which
# gpgseal-maildir uses (it runs as root, like an admin), holds the public keys.
make_keys() {
  make_key "$tmp/client-gnupg" "$ALICE" "$tmp/alice.pub"
  make_key "$tmp/client-gnupg" "$BOB" "$tmp/both.pub"
  GNUPGHOME=$tmp/admin-gnupg gpg --batch --quiet --import "$tmp/both.pub" 2>/dev/null
}

write_config() {
  { user_line "$ALICE" "$tmp/home/alice"; user_line "$BOB" "$tmp/home/bob"; } >"$tmp/users"
  { dovecot_base_config gpgseal-maildir-e2e; echo "lda_mailbox_autocreate = yes"; } \
    >"$tmp/dovecot.conf"
}

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client-gnupg" "$tmp/admin-gnupg"
}

stop_side_jobs() {
  local pid
  [[ -n $tmp ]] && touch "$tmp/stop-side-jobs"
  for pid in "${side_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  side_pids=()
}

extra_teardown() { stop_side_jobs; }

# --- helpers ---------------------------------------------------------------

da() { doveadm -c "$tmp/dovecot.conf" "$@"; }

# deliver_into USER MAILBOX FILE...: through dovecot-lda, no Sieve, no filter.
deliver_into() {
  local user=$1 mailbox=$2 file
  shift 2
  for file in "$@"; do
    "$LDA" -c "$tmp/dovecot.conf" -d "$user" -f "$SENDER" -m "$mailbox" \
      <"$file" 2>>"$tmp/logs/lda.log" || die "delivery of $file to $user failed"
  done
}

make_messages() {
  python3 "$TOOLS/make_messages.py" "$tmp/originals" "$@"
}

# ids PREFIX FROM TO [EXCEPT...]: the Message-IDs as a comma-separated list.
ids() {
  local prefix=$1 from=$2 to=$3 n list=""
  shift 3
  for ((n = from; n <= to; n++)); do
    [[ " $* " == *" $n "* ]] && continue
    list+=$(printf '<%s-%03d@e2e.example>,' "$prefix" "$n")
  done
  echo "${list%,}"
}

originals() {
  local prefix=$1 from=$2 to=$3 n
  for ((n = from; n <= to; n++)); do printf '%s/%s-%03d.eml\n' "$tmp/originals" "$prefix" "$n"; done
}

run_tool() {
  local log=$1
  shift
  bounded "$TOOL" --gnupghome "$tmp/admin-gnupg" "$@" >"$log" 2>&1
}

# Errors Dovecot reported anywhere: its log, LDA's stderr, doveadm's stderr.
dovecot_errors() {
  grep -hiE 'error|panic|fatal|duplicate' "$tmp/dovecot.log" "$tmp"/logs/*.log 2>/dev/null |
    grep -v 'gpgseal-maildir' | head -n 5 || true
}

check() {
  local name=$1 why
  shift
  if why=$("$@" 2>&1); then pass "$name"; else fail "$name" "$why"; fi
}

# --- stored mail, nothing else running ---------------------------------------

prepare_alice() {
  make_messages a 12 1
  make_messages s 6 2
  make_messages r 6 3
  cp "$HERE/data/already-encrypted.eml" "$tmp/originals/a-encrypted.eml"
  mapfile -t inbox < <(originals a 0 11)
  deliver_into "$ALICE" INBOX "${inbox[@]}" "$tmp/originals/a-encrypted.eml"
  mapfile -t sent < <(originals s 0 5)
  deliver_into "$ALICE" Sent "${sent[@]}"
  mapfile -t archive < <(originals r 0 5)
  deliver_into "$ALICE" Archive.2024 "${archive[@]}"
  da flags add -u "$ALICE" '\Flagged $Work Project-X' mailbox INBOX uid 1:4
  da flags add -u "$ALICE" '\Seen \Answered' mailbox INBOX uid 5:8
  da flags add -u "$ALICE" '$Label1' mailbox INBOX uid 13
  da flags add -u "$ALICE" '\Seen' mailbox Sent all
  da flags add -u "$ALICE" '\Flagged $Label1 Tax-2024' mailbox Archive.2024 uid 2:3
  # Read everything once: sizes and headers are now in Dovecot's cache.
  da fetch -u "$ALICE" 'size.physical size.virtual hdr text' mailbox '*' all >/dev/null
}

test_stored_mail() {
  local state=$TOOLS/dovecot_state.py maildir=$tmp/home/alice/Maildir
  prepare_alice
  python3 "$state" snapshot "$tmp/dovecot.conf" "$ALICE" "$tmp/alice-before.json"
  cp -a "$maildir" "$tmp/alice-before"
  if run_tool "$tmp/logs/alice-run.out" --jobs 2 "$maildir" "$ALICE" &&
    grep -q '^encrypted  *24$' "$tmp/logs/alice-run.out" &&
    grep -q '^already encrypted  *1$' "$tmp/logs/alice-run.out"; then
    pass "stored/run"
  else
    fail "stored/run" "$(cat "$tmp/logs/alice-run.out")"
  fi
  check stored/dovecot-fetches-every-text python3 "$state" fetch-all "$tmp/dovecot.conf" "$ALICE"
  check stored/dovecot-state-after \
    python3 "$state" snapshot "$tmp/dovecot.conf" "$ALICE" "$tmp/alice-after.json"
  check stored/flags-keywords-uidvalidity-kept \
    python3 "$state" same "$tmp/alice-before.json" "$tmp/alice-after.json" "$ENCRYPTED_ID"
  check stored/files-decrypt-to-originals \
    python3 "$TOOLS/check_maildir.py" replaced "$tmp/alice-before" "$maildir" "$tmp/client-gnupg"
  local listing
  listing=$(cd "$maildir" && find . -path '*/cur/*' -o -path '*/new/*' | sort)
  if run_tool "$tmp/logs/alice-rerun.out" "$maildir" "$ALICE" &&
    grep -q '^encrypted  *0$' "$tmp/logs/alice-rerun.out" &&
    [[ $(cd "$maildir" && find . -path '*/cur/*' -o -path '*/new/*' | sort) == "$listing" ]]; then
    pass "stored/second-run-changes-nothing"
  else
    fail "stored/second-run-changes-nothing" "$(cat "$tmp/logs/alice-rerun.out")"
  fi
}

# --- a live server -------------------------------------------------------------

# Flag changes on every message, over and over: each renames every file.
flag_storm() {
  local box=$1 keyword=$2
  while [[ ! -e $tmp/stop-side-jobs ]]; do
    da flags add -u "$BOB" "\\Seen $keyword" mailbox "$box" all || true
    da flags remove -u "$BOB" "\\Seen $keyword" mailbox "$box" all || true
  done 2>>"$tmp/logs/flags.log"
}

late_deliveries() {
  local file
  for file in $(originals d 0 19); do
    deliver_into "$BOB" INBOX "$file"
    sleep 0.05
  done
}

expunges() {
  local id
  for id in c-003 c-007 c-011; do
    da expunge -u "$BOB" mailbox INBOX header Message-ID "$id@e2e.example" || true
    sleep 0.2
  done
  da expunge -u "$BOB" mailbox Work header Message-ID "c-035@e2e.example" || true
}

test_live_server() {
  local state=$TOOLS/dovecot_state.py maildir=$tmp/home/bob/Maildir
  make_messages c 40 4
  make_messages d 20 5
  mapfile -t inbox < <(originals c 0 29)
  deliver_into "$BOB" INBOX "${inbox[@]}"
  mapfile -t work < <(originals c 30 39)
  deliver_into "$BOB" Work "${work[@]}"
  da flags add -u "$BOB" '\Flagged $Keep' mailbox INBOX uid 20:25
  da fetch -u "$BOB" 'size.physical size.virtual hdr text' mailbox '*' all >/dev/null
  rm -f "$tmp/stop-side-jobs"
  flag_storm INBOX '$Storm' & side_pids+=($!)
  flag_storm Work '$Storm' & side_pids+=($!)
  late_deliveries 2>>"$tmp/logs/lda.log" & side_pids+=($!)
  expunges 2>>"$tmp/logs/expunge.log" & side_pids+=($!)
  local status=0
  run_tool "$tmp/logs/bob-run.out" --jobs 2 "$maildir" "$BOB" || status=$?
  stop_side_jobs
  if [[ $status -eq 0 ]]; then
    pass "live/run-during-deliveries-flag-changes-expunges"
  else
    fail "live/run-during-deliveries-flag-changes-expunges" "$(cat "$tmp/logs/bob-run.out")"
  fi
  echo "     first run: $(grep -E '^(encrypted|changed underneath|renamed meanwhile) ' \
    "$tmp/logs/bob-run.out" | tr -s ' ' | paste -sd ';')"
  run_tool "$tmp/logs/bob-rerun.out" "$maildir" "$BOB" ||
    fail "live/second-run" "$(cat "$tmp/logs/bob-rerun.out")"
  check live/dovecot-state-after \
    python3 "$state" snapshot "$tmp/dovecot.conf" "$BOB" "$tmp/bob-after.json"
  check live/each-message-once-nothing-lost python3 "$state" expect "$tmp/bob-after.json" \
    "INBOX=$(ids c 0 29 3 7 11),$(ids d 0 19)" "Work=$(ids c 30 39 35)"
  check live/dovecot-fetches-every-text python3 "$state" fetch-all "$tmp/dovecot.conf" "$BOB"
  check live/every-file-decrypts \
    python3 "$TOOLS/check_maildir.py" sealed "$maildir" "$tmp/originals" "$tmp/client-gnupg"
}

check_dovecot_log() {
  local errors
  errors=$(dovecot_errors)
  if [[ -z $errors ]]; then pass "dovecot-logged-no-error"; else fail "dovecot-logged-no-error" "$errors"; fi
}

main() {
  start_run GPGSEAL_MAILDIR_BINARY "$@"
  TOOL=$(realpath "$1")
  make_tmp gpgseal-maildir-e2e
  make_homes
  make_keys
  write_config
  start_dovecot
  test_stored_mail
  test_live_server
  check_dovecot_log
  finish_run
}

main "$@"
