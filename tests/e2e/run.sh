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
# - no message gets the $FilterFailed flag (gpgseal exited 0 every time), and
#   no process of the mail user is left running afterwards.
# Line ends are compared as LF: Dovecot stores LF whatever it was given.
#
# Output: one PASS/FAIL line per case, then exactly one "N passed, M failed"
# line; exit status 0 only if nothing failed.
# Everything lives in one mktemp -d directory, with a throwaway system user;
# the EXIT trap stops Dovecot and gpg-agents and removes user and directory.
# The whole run is bounded by TOTAL_TIMEOUT, each delivery by CASE_TIMEOUT.
# Needs: dovecot-core, dovecot-sieve, dovecot-lmtpd, gnupg, python3 >= 3.9.
set -Eeuo pipefail
# dovecot, useradd and runuser live in sbin, which CI's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-300}
readonly CASE_TIMEOUT=90
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
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

passed=0
failed=0
summarised=""
tmp=""
e2e_user=""
dovecot_pid=""

die() { echo "run.sh: $*" >&2; exit 1; }

pass() { echo "PASS $1"; passed=$((passed + 1)); }

fail() {
  local name=$1; shift
  echo "FAIL $name: $*"
  failed=$((failed + 1))
}

summary() { echo "$passed passed, $failed failed"; summarised=1; }

# --- setup -----------------------------------------------------------------

check_args() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: tests/e2e/run.sh needs root (throwaway user, private Dovecot)"
    exit 77
  fi
  [[ $# -eq 1 ]] || die "usage: $0 GPGSEAL_BINARY"
  [[ -x $1 && -f $1 ]] || die "$1: not an executable file"
}

find_lda() {
  local lda
  for lda in "$(command -v dovecot-lda || true)" /usr/lib/dovecot/dovecot-lda; do
    [[ -n $lda && -x $lda ]] && { echo "$lda"; return; }
  done
  die "dovecot-lda not found (package dovecot-core)"
}

make_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpgseal-e2e.XXXXXX")
  # The mail user must traverse it to reach homes, scripts and the filter.
  chmod 0755 "$tmp"
  mkdir -m 0755 "$tmp/run" "$tmp/state" "$tmp/home" "$tmp/sieve" "$tmp/filter-bin" \
    "$tmp/data"
  mkdir -m 0700 "$tmp/client-gnupg"
}

# Dovecot refuses uid 0, and each mail user runs the filter as itself.
make_user() {
  e2e_user=gpgseal-e2e-$$
  useradd --system --no-create-home --home-dir "$tmp/home" \
    --shell /usr/sbin/nologin --user-group "$e2e_user"
  as_user test -x "$tmp/home" ||
    die "$e2e_user cannot reach $tmp; set TMPDIR to a world-traversable dir"
}

as_user() { runuser -u "$e2e_user" -- "$@"; }

home_of() {
  case $1 in
    "$ALICE") echo alice ;;
    "$SMITH") echo smith ;;
  esac
}

make_home() {
  local home=$tmp/home/$1
  install -d -m 0700 -o "$e2e_user" -g "$e2e_user" "$home" "$home/.gnupg"
}

# The secret key exists only in the client keyring, like on a user's laptop;
# the server side gets the public key only.
make_keys() {
  GNUPGHOME=$tmp/client-gnupg gpg --batch --quiet --passphrase '' \
    --quick-gen-key "Alice Smith <$ALICE>" future-default default never \
    </dev/null 2>/dev/null
  GNUPGHOME=$tmp/client-gnupg gpg --batch --armor --export "$ALICE" \
    >"$tmp/alice.pub.asc"
  chmod 0644 "$tmp/alice.pub.asc"
  local home
  for home in alice smith; do
    make_home "$home"
    # --no-autostart: any gpg-agent of the mail user is then gpgseal's.
    as_user env GNUPGHOME="$tmp/home/$home/.gnupg" gpg --batch --quiet \
      --no-autostart --import "$tmp/alice.pub.asc" </dev/null 2>/dev/null
  done
}

# Pigeonhole runs programs only from sieve_filter_bin_dir, and the mail user
# must reach the binary through every parent directory.
install_filter() {
  local binary
  binary=$(realpath "$1")
  if ! as_user test -x "$binary"; then
    install -m 0755 "$binary" "$tmp/gpgseal"
    binary=$tmp/gpgseal
  fi
  ln -s "$binary" "$tmp/filter-bin/gpgseal"
}

write_users() {
  local uid gid
  uid=$(id -u "$e2e_user")
  gid=$(id -g "$e2e_user")
  # passwd-file: user:password:uid:gid:gecos:home:shell:extra
  printf '%s:{PLAIN}unused:%s:%s::%s::\n' \
    "$ALICE" "$uid" "$gid" "$tmp/home/alice" \
    "$SMITH" "$uid" "$gid" "$tmp/home/smith" >"$tmp/users"
}

# A Dovecot of our own: no network listeners, sockets and state in $tmp,
# the shipped snippet included as is, then only its paths overridden.
write_config() {
  cat >"$tmp/dovecot.conf" <<EOF
base_dir = $tmp/run
state_dir = $tmp/state
instance_name = gpgseal-e2e-$$
protocols = lmtp
ssl = no
log_path = $tmp/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $(id -u "$e2e_user")
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = $tmp/users
}
userdb {
  driver = passwd-file
  args = $tmp/users
}
# dovecot-lda runs as the mail user and cannot append to our log file.
protocol lda {
  log_path = /dev/stderr
}

!include $REPO/sieve/90-gpgseal.conf

plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_before = $tmp/sieve/gpgseal-before.sieve
  sieve_filter_bin_dir = $tmp/filter-bin
}
EOF
}

compile_sieve() {
  cp "$REPO/sieve/gpgseal-before.sieve" "$tmp/sieve/"
  sievec -c "$tmp/dovecot.conf" "$tmp/sieve/gpgseal-before.sieve"
  chmod 0644 "$tmp/sieve/"*
}

# dovecot-lda -d asks the running auth service for the userdb entry, and the
# LMTP server lives there too.
start_dovecot() {
  dovecot -F -c "$tmp/dovecot.conf" </dev/null >>"$tmp/dovecot.log" 2>&1 &
  dovecot_pid=$!
  local _
  for _ in $(seq 100); do
    [[ -S $tmp/run/auth-userdb && -S $tmp/run/lmtp ]] && return
    kill -0 "$dovecot_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$tmp/dovecot.log" >&2
  die "private dovecot did not start"
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

# --- teardown --------------------------------------------------------------

stop_dovecot() {
  [[ -n $dovecot_pid ]] || return 0
  kill -TERM "$dovecot_pid" 2>/dev/null || true
  local _
  for _ in $(seq 100); do
    kill -0 "$dovecot_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$dovecot_pid" 2>/dev/null || true
  wait "$dovecot_pid" 2>/dev/null || true
  dovecot_pid=""
}

# gpg may start a gpg-agent per GNUPGHOME; it outlives the filter.
kill_agents() {
  [[ -n $tmp ]] || return 0
  GNUPGHOME=$tmp/client-gnupg gpgconf --kill all 2>/dev/null || true
  [[ -n $e2e_user ]] || return 0
  local home
  for home in "$tmp"/home/*/.gnupg; do
    [[ -d $home ]] || continue
    as_user env GNUPGHOME="$home" gpgconf --kill all 2>/dev/null || true
  done
}

# Live (not zombie) processes of our throwaway user: only this test ran any.
user_pids() {
  [[ -n $e2e_user ]] && id -u "$e2e_user" >/dev/null 2>&1 || return 0
  { ps -o pid=,stat= -u "$(id -u "$e2e_user")" || true; } |
    awk '$2 !~ /^Z/ { print $1 }'
}

kill_leftovers() {
  local pid
  for pid in $(user_pids); do
    echo "run.sh: killing leftover process: $(ps -o args= -p "$pid" || true)" >&2
    kill -KILL "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  # timeout signals both us and our process group: a second TERM must not
  # cut the teardown short.
  trap '' INT TERM
  set +e
  if [[ -z $summarised ]]; then
    exec 1>&3 2>&4
    fail "run" "stopped early with status $rc (see the messages above)"
    summary
  fi
  stop_dovecot
  kill_agents
  kill_leftovers
  [[ -n $e2e_user ]] && userdel "$e2e_user" 2>/dev/null
  if [[ -n ${GPGSEAL_E2E_KEEP:-} ]]; then
    echo "run.sh: kept $tmp for inspection" >&2
  elif [[ -n $tmp ]]; then
    rm -rf "$tmp"
  fi
  exit "$rc"
}

on_signal() {
  trap '' INT TERM
  # We may be inside a command's redirection; report on the real stdout.
  exec 1>&3 2>&4
  fail "run" "interrupted (timeout after ${TOTAL_TIMEOUT}s?)"
  summary
  exit 1
}

# --- cases -----------------------------------------------------------------

inbox_files() {
  find "$1/Maildir/new" "$1/Maildir/cur" -maxdepth 1 -type f 2>/dev/null |
    sort || true
}

# Runs "$@" for at most CASE_TIMEOUT seconds. --foreground keeps it in our
# process group, so the overall timeout's TERM reaches it too; background +
# wait lets that TERM run our trap at once instead of after the command.
# <&0: without job control bash gives a background command /dev/null as stdin.
bounded() {
  timeout --foreground "$CASE_TIMEOUT" "$@" <&0 &
  wait $!
}

deliver() {
  local transport=$1 rcpt=$2 message=$3
  case $transport in
    lda) bounded "$LDA" -c "$tmp/dovecot.conf" -d "$rcpt" -f "$SENDER" \
           <"$message" ;;
    lmtp) bounded python3 "$HERE/lmtp_send.py" "$tmp/run/lmtp" "$SENDER" \
            "$rcpt" <"$message" ;;
  esac
}

# Maildir keeps keywords as letters after ":2,", named in dovecot-keywords.
keywords_of() {
  local file=$1 maildir letter
  maildir=$(dirname "$(dirname "$file")")
  [[ $(basename "$file") == *:2,* ]] || return 0
  for letter in $(grep -o '[a-z]' <<<"${file##*:2,}" || true); do
    awk -v i=$(($(printf '%d' "'$letter") - 97)) '$1 == i { print $2 }' \
      "$maildir/dovecot-keywords"
  done
}

run_case() {
  local transport=$1 name=$2 rcpt=$3 expect=$4
  local label=$transport/$name message=$DATA/$name.eml
  [[ -f $message ]] || message=$tmp/data/$name.eml
  local home before after stored
  home=$tmp/home/$(home_of "$rcpt")
  local log=$tmp/$transport-$name.log
  before=$(inbox_files "$home")
  if ! deliver "$transport" "$rcpt" "$message" >"$log" 2>&1; then
    fail "$label" "delivery failed: $(tail -n 5 "$log")"
    return
  fi
  after=$(inbox_files "$home")
  stored=$(comm -13 <(echo "$before") <(echo "$after"))
  if [[ -z $stored || $stored == *$'\n'* ]]; then
    fail "$label" "expected one new message in $home/Maildir, got: '$stored'"
    return
  fi
  local keywords
  keywords=$(keywords_of "$stored")
  if [[ -n $keywords ]]; then
    fail "$label" "stored with keywords: $keywords (the filter failed and" \
      "Dovecot stored the original): $(tail -n 5 "$log")"
    return
  fi
  local why keyring=()
  [[ $expect == encrypted ]] && keyring=("$tmp/client-gnupg")
  if why=$(python3 "$HERE/check_stored.py" "$expect" "$message" "$stored" \
             "${keyring[@]}" 2>&1); then
    pass "$label"
  else
    fail "$label" "$why"
  fi
}

run_cases() {
  local transport entry
  for transport in lda lmtp; do
    for entry in "${CASES[@]}"; do
      # shellcheck disable=SC2086  # entry is "name recipient expectation"
      run_case "$transport" $entry
    done
  done
}

# The filter's children (gpg, gpg-agent) must not outlive delivery; agents
# are stopped the documented way first, anything else is a leak.
check_no_leftovers() {
  stop_dovecot
  kill_agents
  sleep 0.5
  local pids
  pids=$(user_pids)
  if [[ -n $pids ]]; then
    fail "teardown" "processes left behind:" \
      "$(ps -o pid=,args= -p "${pids//$'\n'/,}" | paste -sd ';')"
  else
    pass "teardown/no-leftover-processes"
  fi
}

main() {
  check_args "$@"
  # Bound the whole run: timeout TERMs our whole process group (Dovecot
  # included), then on_signal reports and the EXIT trap cleans up.
  if [[ -z ${GPGSEAL_E2E_BOUNDED:-} ]]; then
    GPGSEAL_E2E_BOUNDED=1 exec timeout --kill-after=30 "$TOTAL_TIMEOUT" \
      "$BASH" "${BASH_SOURCE[0]}" "$@"
  fi
  LDA=$(find_lda)
  exec 3>&1 4>&2
  trap cleanup EXIT
  trap on_signal INT TERM
  trap 'echo "run.sh: line $LINENO: failed: $BASH_COMMAND" >&2' ERR
  make_tmp
  make_user
  make_keys
  install_filter "$1"
  make_large_message
  write_users
  write_config
  compile_sieve
  start_dovecot
  run_cases
  check_no_leftovers
  if ((failed > 0)); then
    echo "--- dovecot log ---"
    cat "$tmp/dovecot.log"
  fi
  summary
  [[ $failed -eq 0 ]] || exit 1
}

main "$@"
