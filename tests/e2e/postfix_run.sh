#!/usr/bin/env bash
# End-to-end test of gpgseal-postfix in Debian's real Postfix: a private
# instance (tests/e2e/mta/, its own config_directory and queue_directory,
# `postfix -c DIR start`, SMTP on a loopback port) filters mail through the
# pipe(8) service exactly as README.md's "Postfix content filter" sets it up,
# and virtual(8) delivers to each test address's Maildir.
#
# The README's command blocks (<!-- test: postfix-... --> before each) are
# run as written, with only the paths, the user name and the name of the smtp
# service replaced by the test's own. The filter's binary in the argv is a
# transparent wrapper (wrap_filter) that records its peak RSS, and in the
# reinjection case adds a --sendmail that fails once.
#
# What it proves:
# - three recipients in one SMTP transaction: Alice and Bob (keys in the
#   shared keyring) each get a copy that decrypts with their own key only;
#   Carol (no key) gets the message unchanged; each exactly once;
# - an S/MIME user (malice@, a certificate in the shared keyring imported with
#   gpgseal-import-cert) in one transaction with Alice: Alice's copy is
#   PGP/MIME for her key only, the S/MIME user's is RFC 8551 S/MIME that
#   openssl decrypts to the original;
# - a reinjection that fails at the second of three copies defers the
#   delivery (75); after `postqueue -f` each recipient has the message
#   exactly once: nothing lost, nothing duplicated;
# - a 20 MiB message is encrypted with the filter's peak RSS under 24 MiB;
# - already-encrypted mail passes through unchanged;
# - Dave is in example.net, a domain Postfix delivers but not a
#   --local-domain: unchanged, although the keyring has his key;
# - no loop: every recipient passed the filter once (the mail log's pipe
#   lines), and mail submitted with sendmail is not filtered;
# - the README's rollback: mail arrives unencrypted again, and the gpgseal
#   service is gone.
#
# Usage: tests/e2e/postfix_run.sh GPGSEAL_POSTFIX_BINARY  (as root; 77 = skip)
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir; GPGSEAL_E2E_TIMEOUT bounds
#        the run (default 360 s; 255 s measured at load average 26).
# Output: PASS/FAIL lines, then one "N passed, M failed" line.
set -Eeuo pipefail

readonly SCRIPT=postfix_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-360}
readonly CASE_TIMEOUT=120
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/mta/lib_mta.sh
source "$HERE/mta/lib_mta.sh"
readonly SENDER=sender@example.com
readonly ALICE=alice@example.org BOB=bob@example.org CAROL=carol@example.org
readonly DAVE=dave@example.net
readonly SMIME=malice@example.org  # a test certificate's address (make_test_certs.sh)
readonly KEYED=("$ALICE" "$BOB" "$DAVE")
readonly BIG_MIB=20 RSS_LIMIT_KIB=$((24 * 1024))

filter_runs=0   # recipients that went through the filter successfully

local_part() { echo "${1%@*}"; }
maildir_of() { echo "$tmp/mail/$1/"; }
client_of() { echo "$tmp/client/$(local_part "$1")"; }

stop_agents() {
  local address
  for address in "${KEYED[@]}"; do kill_agents root "$(client_of "$address")"; done
  [[ -n $e2e_user ]] && kill_agents user "$tmp/gpgseal/keys"
  return 0
}
extra_teardown() { mta_stop_all; }

# --- the README's blocks -----------------------------------------------------

# readme_block NAME: the fenced block after "<!-- test: NAME -->".
readme_block() {
  awk -v marker="<!-- test: $1 -->" '
    $0 == marker { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$REPO/README.md"
}

# run_readme NAME [CMD...]: each line of the block, with the test's paths,
# user and smtp service; as root, or through CMD (postfix_cmd).
run_readme() {
  local name=$1 line; shift
  [[ -n $(readme_block "$name") ]] || die "README.md has no block $name"
  while IFS= read -r line; do
    line=${line//\/usr\/local\/bin\/gpgseal-postfix/$tmp/bin/gpgseal-postfix}
    line=${line//\/var\/lib\/gpgseal/$tmp/gpgseal}
    line=${line//users.asc/$tmp/users.asc}
    line=${line//smtp\/inet/127.0.0.1:$POSTFIX_PORT/inet}
    line=$(sed -E "s/(user=|-o |-g |-u )gpgseal\b/\1$e2e_user/g; s/ gpgseal\$/ $e2e_user/" \
      <<<"$line")
    echo "+ $line" >>"$tmp/readme-commands.log"
    "$@" bash -c "$line" >>"$tmp/readme-commands.log" 2>&1 ||
      die "README block $name: '$line' failed: $(tail -5 "$tmp/readme-commands.log")"
  done < <(readme_block "$name")
}

# --- set-up ------------------------------------------------------------------

make_keys() {
  local address
  mkdir -m 0755 "$tmp/client"
  for address in "${KEYED[@]}"; do
    make_client_key "$address"
    cat "$(client_of "$address").pub.asc" >>"$tmp/users.asc"
  done
}

# The binary the README's argv names: a wrapper that runs the real one, logs
# the peak RSS of it and its children, and in the reinjection case points it
# at a sendmail that fails once.
wrap_filter() {
  install -d -m 0755 "$tmp/bin"
  install -d -m 0700 -o "$e2e_user" -g "$e2e_user" "$tmp/run-log"
  install -m 0755 "$1" "$tmp/bin/gpgseal-postfix.real"
  cat >"$tmp/bin/gpgseal-postfix" <<EOF
#!/usr/bin/python3
import os, resource, subprocess, sys
args = ["$tmp/bin/gpgseal-postfix.real"]
if os.path.exists("$tmp/run-log/flaky"):
    args.append("--sendmail=$tmp/bin/flaky-sendmail")
status = subprocess.call(args + sys.argv[1:])
with open("$tmp/run-log/runs", "a") as log:
    log.write("%d %d\n" % (status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(status)
EOF
  # Fails (75, nothing queued) on its second call while the flag is there.
  cat >"$tmp/bin/flaky-sendmail" <<EOF
#!/bin/bash
calls=\$(( \$(cat "$tmp/run-log/calls" 2>/dev/null || echo 0) + 1 ))
echo "\$calls" >"$tmp/run-log/calls"
if [[ \$calls -eq 2 ]]; then echo "flaky-sendmail: refusing copy 2" >&2; exit 75; fi
exec /usr/sbin/sendmail "\$@"
EOF
  chmod 0755 "$tmp/bin/gpgseal-postfix" "$tmp/bin/flaky-sendmail"
}

# virtual(8) delivers every test address to $tmp/mail/ADDRESS/ as the user.
setup_postfix() {
  local address
  # shellcheck disable=SC2119  # no smtpd options: the README's postconf -P adds the filter
  postfix_setup
  install -d -m 0700 -o "$e2e_user" -g "$e2e_user" "$tmp/mail"
  for address in "$ALICE" "$BOB" "$CAROL" "$DAVE" "$SMIME"; do
    echo "$address $address/"
  done >"$tmp/vmailbox"
  postfix_conf "mydestination = localhost" \
    "virtual_mailbox_domains = example.org, example.net" \
    "virtual_mailbox_base = $tmp/mail" \
    "virtual_mailbox_maps = texthash:$tmp/vmailbox" \
    "virtual_uid_maps = static:$(id -u "$e2e_user")" \
    "virtual_gid_maps = static:$(id -g "$e2e_user")" \
    "message_size_limit = $(((BIG_MIB + 5) * 1024 * 1024))"
  postfix_master "virtual unix - n n - - virtual"
}

# --- messages and checks ---------------------------------------------------------

# message NAME [BODY_FILE]: a message whose Subject names the case.
message() {
  printf 'From: Sender <%s>\nTo: %s, %s, %s\nSubject: postfix %s\nDate: %s\nMessage-ID: <%s.%s@example.com>\nContent-Type: text/plain; charset=us-ascii\n\n' \
    "$SENDER" "$ALICE" "$BOB" "$CAROL" "$1" "$(date -R)" "$1" "$$"
  if [[ -n ${2:-} ]]; then cat "$2"; else
    printf 'The body of case %s, long enough to be noticed in clear text.\n' "$1"; fi
}

# send NAME FILE RCPT...: one SMTP transaction; counts the filter runs.
send() {
  local name=$1 file=$2; shift 2
  bounded python3 "$HERE/lmtp_send.py" "smtp:127.0.0.1:$POSTFIX_PORT" "$SENDER" "$@" \
    <"$file" || { fail "$name" "SMTP refused"; return 1; }
}

# copies_of SUBJECT ADDRESS: the files in ADDRESS's Maildir with SUBJECT
# (in the header: a body may be 20 MiB).
copies_of() {
  local file
  for file in $(maildir_files "$(maildir_of "$2")"); do
    awk -v want="Subject: $1" '$0 == "" { exit 1 } $0 == want { exit 0 }' "$file" &&
      echo "$file"
  done
  return 0
}

# wait_copies SUBJECT COUNT ADDRESS...: until each ADDRESS has COUNT copies.
wait_copies() {
  local subject=$1 count=$2 address _; shift 2
  for _ in $(seq 300); do
    for address in "$@"; do
      [[ $(copies_of "$subject" "$address" | grep -c .) -ge $count ]] || continue 2
    done
    sleep 0.5   # anything more that would arrive
    return 0
  done
  return 1
}

# one_copy NAME SUBJECT ADDRESS: prints the one file, or fails the case.
one_copy() {
  local files
  files=$(copies_of "$2" "$3")
  if [[ $(grep -c . <<<"$files") -ne 1 || -z $files ]]; then
    fail "$1" "$3 has $(grep -c . <<<"$files") copies of '$2', not 1"
    return 1
  fi
  echo "$files"
}

check() { python3 "$HERE/check_stored.py" "$@"; }

# decrypts_only_for NAME ORIGINAL STORED ADDRESS: ADDRESS's key decrypts
# it to the original; every other client key fails.
decrypts_only_for() {
  local name=$1 original=$2 stored=$3 owner=$4 other why
  if ! why=$(check encrypted "$original" "$stored" "$(client_of "$owner")"); then
    fail "$name" "$owner's copy: $why"; return 1
  fi
  check armor "$stored" >"$tmp/armor.asc"
  for other in "${KEYED[@]}"; do
    [[ $other == "$owner" ]] && continue
    if GNUPGHOME=$(client_of "$other") gpg --batch --quiet --decrypt "$tmp/armor.asc" \
        >/dev/null 2>&1; then
      fail "$name" "$other's key decrypts $owner's copy"; return 1
    fi
  done
}

unchanged_for() {
  local why
  if ! why=$(check unchanged "$2" "$3"); then fail "$1" "$why"; return 1; fi
}

# --- cases -------------------------------------------------------------------

case_three_recipients() {
  local name=three-recipients subject="postfix three" m="$tmp/three.eml" a b c
  message three >"$m"
  send "$name" "$m" "$ALICE" "$BOB" "$CAROL" || return 0
  filter_runs=$((filter_runs + 3))
  wait_copies "$subject" 1 "$ALICE" "$BOB" "$CAROL" || { fail "$name" "not delivered"; return 0; }
  a=$(one_copy "$name" "$subject" "$ALICE") && b=$(one_copy "$name" "$subject" "$BOB") &&
    c=$(one_copy "$name" "$subject" "$CAROL") || return 0
  decrypts_only_for "$name" "$m" "$a" "$ALICE" && decrypts_only_for "$name" "$m" "$b" "$BOB" &&
    unchanged_for "$name" "$m" "$c" && pass "$name"
  # The README's account of the Received lines: smtpd's, then the reinjection's.
  if [[ $(grep -c '^Received: ' "$a") -eq 2 ]] &&
     grep -q '^Received: by mx.example.org (Postfix, from userid' "$a"; then
    pass "$name/received-lines"
  else
    fail "$name/received-lines" "$(grep -A1 '^Received' "$a")"
  fi
}

# The S/MIME user's certificate, with its CA, into the filter's keyring.
import_smime_cert() {
  "$REPO/tests/support/make_test_certs.sh" "$tmp/certs" >/dev/null
  cat "$tmp/certs/malice.pem" "$tmp/certs/ca.pem" >"$tmp/smime-chain.pem"
  "$REPO/scripts/gpgseal-import-cert" --gnupghome "$tmp/gpgseal/keys" "$SMIME" \
    "$tmp/smime-chain.pem" >/dev/null || die "gpgseal-import-cert failed"
}

case_smime_with_openpgp() {
  local name=smime-and-openpgp subject="postfix smime" m="$tmp/smime.eml" a s why
  message smime >"$m"
  send "$name" "$m" "$ALICE" "$SMIME" || return 0
  filter_runs=$((filter_runs + 2))
  wait_copies "$subject" 1 "$ALICE" "$SMIME" || { fail "$name" "not delivered"; return 0; }
  a=$(one_copy "$name" "$subject" "$ALICE") && s=$(one_copy "$name" "$subject" "$SMIME") ||
    return 0
  decrypts_only_for "$name" "$m" "$a" "$ALICE" || return 0
  if why=$(check smime "$m" "$s" "$tmp/certs/malice"); then
    pass "$name"
  else
    fail "$name" "$SMIME's copy: $why"
  fi
}

case_failed_reinjection() {
  local name=failed-reinjection subject="postfix flaky" m="$tmp/flaky.eml" address files
  message flaky >"$m"
  touch "$tmp/run-log/flaky"
  chown "$e2e_user" "$tmp/run-log/flaky"
  send "$name" "$m" "$ALICE" "$BOB" "$CAROL" || return 0
  # The first copy (Alice's) arrives; the second failed, so Postfix defers.
  wait_copies "$subject" 1 "$ALICE" || { fail "$name" "Alice's copy never came"; return 0; }
  for _ in $(seq 100); do
    grep -q 'relay=gpgseal.*status=deferred' "$(mta_dir postfix)/maillog" && break
    sleep 0.2
  done
  if ! grep -q 'relay=gpgseal.*status=deferred.*refusing copy 2' "$(mta_dir postfix)/maillog"; then
    fail "$name" "no deferral logged: $(grep relay=gpgseal "$(mta_dir postfix)/maillog" | tail -3)"
    return 0
  fi
  files=$(copies_of "$subject" "$BOB")$(copies_of "$subject" "$CAROL")
  [[ -z $files ]] || { fail "$name" "copies 2 or 3 arrived before the retry: $files"; return 0; }
  rm -f "$tmp/run-log/flaky"
  run_readme postfix-queue postfix_cmd
  filter_runs=$((filter_runs + 3))
  wait_copies "$subject" 1 "$BOB" "$CAROL" || { fail "$name" "not delivered after retry"; return 0; }
  for address in "$ALICE" "$BOB" "$CAROL"; do
    one_copy "$name" "$subject" "$address" >/dev/null || return 0
  done
  decrypts_only_for "$name" "$m" "$(copies_of "$subject" "$BOB")" "$BOB" &&
    unchanged_for "$name" "$m" "$(copies_of "$subject" "$CAROL")" && pass "$name"
  if [[ -z $(find "$tmp/gpgseal/postfix" -type f) ]]; then
    pass "$name/journal-emptied"
  else
    fail "$name/journal-emptied" "$(ls "$tmp/gpgseal/postfix")"
  fi
}

case_big_message() {
  local name=big-message subject="postfix big" m="$tmp/big.eml" a rss before
  head -c $((BIG_MIB * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76 >"$tmp/big.body"
  message big "$tmp/big.body" >"$m"
  before=$(grep -c . "$tmp/run-log/runs" || true)
  send "$name" "$m" "$ALICE" || return 0
  filter_runs=$((filter_runs + 1))
  wait_copies "$subject" 1 "$ALICE" || { fail "$name" "not delivered"; return 0; }
  a=$(one_copy "$name" "$subject" "$ALICE") || return 0
  decrypts_only_for "$name" "$m" "$a" "$ALICE" || return 0
  # The filter runs of this case: the lines after those of the cases before.
  rss=$(tail -n +$((before + 1)) "$tmp/run-log/runs" | awk '{ print $2 }' | sort -n | tail -1)
  if [[ -n $rss && $rss -lt $RSS_LIMIT_KIB ]]; then
    pass "$name (peak RSS ${rss} KiB for $(stat -c %s "$m") bytes)"
  else
    fail "$name" "peak RSS ${rss:-unknown} KiB, limit $RSS_LIMIT_KIB KiB"
  fi
}

# The corpus's RFC 3156 message (tests/e2e/data), sent to Alice.
case_already_encrypted() {
  local name=already-encrypted subject="New door code" m="$HERE/data/already-encrypted.eml"
  send "$name" "$m" "$ALICE" || return 0
  filter_runs=$((filter_runs + 1))
  wait_copies "$subject" 1 "$ALICE" || { fail "$name" "not delivered"; return 0; }
  unchanged_for "$name" "$m" "$(one_copy "$name" "$subject" "$ALICE")" && pass "$name"
}

case_outside_local_domains() {
  local name=outside-local-domains subject="postfix outside" m="$tmp/outside.eml"
  message outside >"$m"
  send "$name" "$m" "$DAVE" || return 0
  filter_runs=$((filter_runs + 1))
  wait_copies "$subject" 1 "$DAVE" || { fail "$name" "not delivered"; return 0; }
  unchanged_for "$name" "$m" "$(one_copy "$name" "$subject" "$DAVE")" && pass "$name"
}

# Every recipient passed the pipe service once; locally submitted mail none.
case_no_loop() {
  local name=no-loop subject="postfix local" sent
  message local >"$tmp/local.eml"
  postfix_cmd sendmail -i -f "$SENDER" -- "$ALICE" <"$tmp/local.eml"
  wait_copies "$subject" 1 "$ALICE" || { fail "$name" "local mail not delivered"; return 0; }
  sleep 1
  sent=$(grep -c 'relay=gpgseal.*status=sent' "$(mta_dir postfix)/maillog" || true)
  if [[ $sent -ne $filter_runs ]]; then
    fail "$name" "$sent filter deliveries, expected $filter_runs"
  elif ! unchanged_for "$name" "$tmp/local.eml" "$(one_copy "$name" "$subject" "$ALICE")"; then
    :
  else
    pass "$name ($sent recipients filtered once each)"
  fi
}

case_rollback() {
  local name=rollback subject="postfix rollback" m="$tmp/rollback.eml"
  run_readme postfix-rollback postfix_cmd
  message rollback >"$m"
  send "$name" "$m" "$ALICE" || return 0
  wait_copies "$subject" 1 "$ALICE" || { fail "$name" "not delivered"; return 0; }
  if postfix_cmd postconf -M gpgseal/unix 2>/dev/null | grep -q .; then
    fail "$name" "the gpgseal service is still in master.cf"
  else
    unchanged_for "$name" "$m" "$(one_copy "$name" "$subject" "$ALICE")" && pass "$name"
  fi
}

main() {
  start_run GPGSEAL_POSTFIX_BINARY "$@"
  make_tmp gpgseal-postfix
  e2e_user=gpgseal-pf-$$
  make_keys
  run_readme postfix-host
  id "$e2e_user" >/dev/null || die "the README's useradd made no user"
  import_smime_cert
  wrap_filter "$1"
  setup_postfix
  postfix_start
  run_readme postfix-enable postfix_cmd
  case_three_recipients
  case_smime_with_openpgp
  case_failed_reinjection
  case_big_message
  case_already_encrypted
  case_outside_local_domains
  case_no_loop
  case_rollback
  postfix_stop
  check_no_leftovers
  ((failed == 0)) || postfix_log | tail -40
  summary
  [[ $failed -eq 0 ]] || exit 1
}

main "$@"
