# shellcheck shell=bash
# Shared by the end-to-end scripts that deliver through a private Dovecot
# (run.sh, deployment_run.sh, gpgit_run.sh). Sourced, never run.
#
# Provides: the PASS/FAIL lines and the one summary line; the root check and
# the bound on the whole run; a mktemp -d directory and a throwaway system
# user (Dovecot refuses uid 0 and runs the filter as the mail user); a
# private Dovecot with no network listeners; delivery through dovecot-lda or
# LMTP; reading keywords from Maildir file names; and a teardown that runs on
# every exit path.
#
# The sourcing script sets SCRIPT (its name), TOTAL_TIMEOUT and CASE_TIMEOUT,
# defines stop_agents (stops the gpg-agents its keyrings may have), may define
# extra_teardown, and calls start_run "$@" first.
: "${SCRIPT:?set SCRIPT before sourcing lib.sh}"
PATH=$PATH:/usr/sbin:/sbin   # dovecot, useradd and runuser; CI's PATH may lack sbin
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO

passed=0
failed=0
summarised=""
tmp=""
e2e_user=""
dovecot_pid=""
LDA=""

die() { echo "$SCRIPT: $*" >&2; exit 1; }
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
  local name=$1; shift
  echo "FAIL $name: $*"
  failed=$((failed + 1))
}
# Not a failure: the check cannot run on this machine.
skip() { echo "SKIP $1: $2"; }
summary() { echo "$passed passed, $failed failed"; summarised=1; }

# --- start and end of a run ---------------------------------------------------

# start_run USAGE "$@": exit 77 (ctest's skip) unless root; check the one
# argument, an executable; re-execute under timeout so that the whole run is
# bounded; install the traps.
start_run() {
  local usage=$1; shift
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: tests/e2e/$SCRIPT needs root (throwaway user, private Dovecot)"
    exit 77
  fi
  [[ $# -eq 1 ]] || die "usage: $SCRIPT $usage"
  [[ -x $1 && -f $1 ]] || die "$1: not an executable file"
  # timeout TERMs our whole process group (Dovecot included), then on_signal
  # reports and the EXIT trap cleans up.
  if [[ -z ${GPGSEAL_E2E_BOUNDED:-} ]]; then
    GPGSEAL_E2E_BOUNDED=1 exec timeout --kill-after=30 "$TOTAL_TIMEOUT" \
      "$BASH" "$0" "$@"
  fi
  LDA=$(find_lda)
  exec 3>&1 4>&2
  trap cleanup EXIT
  trap on_signal INT TERM
  trap 'echo "$SCRIPT: line $LINENO: failed: $BASH_COMMAND" >&2' ERR
}

# The last line of every run: the summary, and the Dovecot log if anything
# failed. Exit status 0 only if nothing failed.
finish_run() {
  if ((failed > 0)); then
    echo "--- dovecot log ---"
    cat "$tmp/dovecot.log"
  fi
  summary
  [[ $failed -eq 0 ]] || exit 1
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
  stop_agents
  if declare -F extra_teardown >/dev/null; then extra_teardown; fi
  kill_leftovers
  [[ -n $e2e_user ]] && userdel "$e2e_user" 2>/dev/null
  if [[ -n ${GPGSEAL_E2E_KEEP:-} ]]; then
    echo "$SCRIPT: kept $tmp for inspection" >&2
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

# --- machine set-up -------------------------------------------------------------

find_lda() {
  local lda
  for lda in "$(command -v dovecot-lda || true)" /usr/lib/dovecot/dovecot-lda; do
    [[ -n $lda && -x $lda ]] && { echo "$lda"; return; }
  done
  die "dovecot-lda not found (package dovecot-core)"
}

# make_tmp PREFIX: $tmp with run/, state/ (Dovecot's), sieve/ and filter-bin/.
make_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  # The mail user must traverse it to reach homes, scripts and the filter.
  chmod 0755 "$tmp"
  mkdir -m 0755 "$tmp/run" "$tmp/state" "$tmp/sieve" "$tmp/filter-bin"
}

# make_user PREFIX HOME: the one uid all our mail users share.
make_user() {
  e2e_user=$1-$$
  useradd --system --no-create-home --home-dir "$2" \
    --shell /usr/sbin/nologin --user-group "$e2e_user"
  as_user test -x "$tmp" ||
    die "$e2e_user cannot reach $tmp; set TMPDIR to a world-traversable dir"
}

as_user() { runuser -u "$e2e_user" -- "$@"; }

# Where an address's things are: its home (server keyring in ~/.gnupg) and
# its client keyring (the secret key). A script may define its own.
local_part() { echo "${1%@*}"; }
home_of() { echo "$tmp/home/$(local_part "$1")"; }
client_of() { echo "$tmp/client/$(local_part "$1")"; }

# make_dirs DIR...: owned by the mail user, mode 0700 (as gpgseal demands of
# a keyring; Dovecot is fine with it for homes).
make_dirs() {
  install -d -m 0700 -o "$e2e_user" -g "$e2e_user" "$@"
}

# make_key CLIENT_GNUPGHOME "Name <address>" PUBLIC_FILE: the secret key
# exists only in the client keyring, like on a user's laptop; the server
# side gets PUBLIC_FILE only.
make_key() {
  local client=$1 uid=$2 public=$3
  [[ -d $client ]] || mkdir -m 0700 "$client"
  GNUPGHOME=$client gpg --batch --quiet --passphrase '' \
    --quick-gen-key "$uid" future-default default never </dev/null 2>/dev/null
  GNUPGHOME=$client gpg --batch --armor --export >"$public"
  chmod 0644 "$public"
}

# make_client_key ADDRESS: make_key for ADDRESS in its client keyring, the
# public key in $(client_of ADDRESS).pub.asc.
make_client_key() {
  make_key "$(client_of "$1")" "$(local_part "$1") <$1>" "$(client_of "$1").pub.asc"
}

# import_key KEYRING PUBLIC_FILE, as the mail user. --no-autostart: any
# gpg-agent of the mail user is then gpgseal's.
import_key() {
  as_user env GNUPGHOME="$1" gpg --batch --quiet --no-autostart --import "$2" \
    </dev/null 2>/dev/null
}

# install_filter BINARY [NAME]: the symlink NAME (default gpgseal) in
# sieve_filter_bin_dir, the only place Pigeonhole runs programs from; Sieve
# scripts call the filter by NAME. The mail user must reach the binary
# through every parent directory.
install_filter() {
  local binary
  binary=$(realpath "$1")
  if ! as_user test -x "$binary"; then
    install -m 0755 "$binary" "$tmp/gpgseal"
    binary=$tmp/gpgseal
  fi
  ln -s "$binary" "$tmp/filter-bin/${2:-gpgseal}"
}

# compile_sieve SCRIPT...: copies shipped scripts into $tmp/sieve and
# compiles them as root, as an admin would (delivery cannot write .svbin).
# They come from $KIT if the script set it (an installed kit), else sieve/.
compile_sieve() {
  local script
  for script in "$@"; do
    cp "${KIT:-$REPO/sieve}/$script" "$tmp/sieve/"
    sievec -c "$tmp/dovecot.conf" "$tmp/sieve/$script"
  done
  chmod 0644 "$tmp/sieve/"*
}

# dovecot_base_config INSTANCE [passwd]: what every private Dovecot has: no
# network listeners, sockets and state in $tmp, passwd-file users in
# $tmp/users (with `passwd`: the system's users instead).
dovecot_base_config() {
  local users="passwd-file
  args = $tmp/users"
  [[ ${2:-} == passwd ]] && users=passwd
  cat <<EOF
base_dir = $tmp/run
state_dir = $tmp/state
instance_name = $1-$$
protocols = lmtp
ssl = no
log_path = $tmp/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $(id -u "$e2e_user")
mail_location = maildir:~/Maildir
passdb {
  driver = $users
}
userdb {
  driver = $users
}
# dovecot-lda runs as the mail user and cannot append to our log file.
protocol lda {
  log_path = /dev/stderr
}
EOF
}

# write_system_config INSTANCE: $tmp/dovecot.conf for system users: the kit's
# 90-gpgseal.conf ($KIT, else sieve/) included as is, then only its paths
# overridden; the global script is $tmp/sieve/gpgseal-before.sieve.
write_system_config() {
  {
    dovecot_base_config "$1"
    cat <<EOF

!include ${KIT:-$REPO/sieve}/90-gpgseal.conf

# These tests' usernames are addresses (passwd-file): keep the domain for LMTP.
protocol lmtp {
  auth_username_format = %Lu
}

plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_before = $tmp/sieve/gpgseal-before.sieve
  sieve_filter_bin_dir = $tmp/filter-bin
}
EOF
  } >"$tmp/dovecot.conf"
}

# sieve_config BEFORE_SCRIPT [PLUGIN_LINE...]: Sieve in both delivery agents,
# the extprograms plugin, `filter` for global scripts, the filter directory,
# and BEFORE_SCRIPT as the global sieve_before; PLUGIN_LINEs go in the plugin
# block too. Appended to a dovecot_base_config.
sieve_config() {
  local before=$1 line; shift
  cat <<EOF

protocol lda {
  mail_plugins = \$mail_plugins sieve
}
protocol lmtp {
  mail_plugins = \$mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_plugins = sieve_extprograms
  sieve_global_extensions = +vnd.dovecot.filter +vnd.dovecot.environment
  sieve_filter_bin_dir = $tmp/filter-bin
  sieve_before = $before
EOF
  for line in "$@"; do echo "  $line"; done
  echo "}"
}

# user_line ADDRESS HOME [EXTRA_FIELD...]: one passwd-file entry
# (user:password:uid:gid:gecos:home:shell:extra) for the shared mail uid.
# Extra fields userdb_NAME=VALUE override plugin setting NAME for this user.
user_line() {
  local address=$1 home=$2; shift 2
  printf '%s:{PLAIN}unused:%s:%s::%s::%s\n' "$address" "$(id -u "$e2e_user")" \
    "$(id -g "$e2e_user")" "$home" "$*"
}

# dovecot-lda -d asks the running auth service for the userdb entry, and the
# LMTP server lives there too. start_dovecot [COMMAND...]: Dovecot run by
# COMMAND (which must exec it, keeping the pid), e.g. in a mount namespace.
start_dovecot() {
  "$@" dovecot -F -c "$tmp/dovecot.conf" </dev/null >>"$tmp/dovecot.log" 2>&1 &
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
  # The next instance must not mistake the old sockets for its own.
  rm -f "$tmp/run/auth-userdb" "$tmp/run/lmtp"
}

# --- teardown helpers -----------------------------------------------------------

# kill_agents OWNER GNUPGHOME...: gpg may start a gpg-agent per GNUPGHOME; it
# outlives the filter. OWNER is root (client keyrings) or user (server ones).
kill_agents() {
  local owner=$1 home; shift
  [[ $owner == root || -n $e2e_user ]] || return 0
  for home in "$@"; do
    [[ -d $home ]] || continue
    if [[ $owner == root ]]; then
      GNUPGHOME=$home gpgconf --kill all 2>/dev/null || true
    else
      as_user env GNUPGHOME="$home" gpgconf --kill all 2>/dev/null || true
    fi
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
    echo "$SCRIPT: killing leftover process: $(ps -o args= -p "$pid" || true)" >&2
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# The filter's children (gpg, gpg-agent) must not outlive delivery; agents
# are stopped the documented way first, anything else is a leak.
check_no_leftovers() {
  stop_dovecot
  stop_agents
  # An agent told to stop may take a moment to exit on a busy machine; what
  # is still alive after 5 s is left behind.
  local pids _
  for _ in $(seq 50); do
    pids=$(user_pids)
    [[ -z $pids ]] && break
    sleep 0.1
  done
  if [[ -n $pids ]]; then
    fail "teardown" "processes left behind:" \
      "$(ps -o pid=,args= -p "${pids//$'\n'/,}" | paste -sd ';')"
  else
    pass "teardown/no-leftover-processes"
  fi
}

# --- delivery and what it stored ------------------------------------------------

# Runs "$@" for at most CASE_TIMEOUT seconds. --foreground keeps it in our
# process group, so the overall timeout's TERM reaches it too; background +
# wait lets that TERM run our trap at once instead of after the command.
# <&0: without job control bash gives a background command /dev/null as stdin.
bounded() {
  timeout --foreground "$CASE_TIMEOUT" "$@" <&0 &
  wait $!
}

# run_cases: the script's run_case TRANSPORT WORD... for each entry of its
# CASES table (words separated by blanks), over dovecot-lda and then LMTP.
run_cases() {
  local transport entry
  for transport in lda lmtp; do
    for entry in "${CASES[@]}"; do
      # shellcheck disable=SC2086  # an entry is the case's words
      run_case "$transport" $entry
    done
  done
}

# deliver lda|lmtp MESSAGE RECIPIENT...: the way an MTA would. dovecot-lda
# takes one recipient per run; LMTP takes them all in one transaction.
deliver() {
  local transport=$1 message=$2 rcpt; shift 2
  case $transport in
    lda)
      for rcpt in "$@"; do
        bounded "$LDA" -c "$tmp/dovecot.conf" -d "$rcpt" -f "$SENDER" \
          <"$message" || return
      done ;;
    lmtp) bounded python3 "$HERE/lmtp_send.py" "$tmp/run/lmtp" "$SENDER" \
            "$@" <"$message" ;;
  esac
}

# check_verdict NAME MODE ORIGINAL STORED CLIENT_GNUPGHOME: PASS NAME if
# check_stored.py MODE agrees (encrypted: decrypting with the secret key in
# CLIENT_GNUPGHOME; unchanged), else FAIL NAME with its reason.
check_verdict() {
  local name=$1 mode=$2 original=$3 stored=$4 why keyring=()
  [[ $mode == encrypted ]] && keyring=("$5")
  if why=$(python3 "$HERE/check_stored.py" "$mode" "$original" "$stored" \
             "${keyring[@]}" 2>&1); then
    pass "$name"
  else
    fail "$name" "$why"
  fi
}

# deliver_and_find LABEL TRANSPORT MESSAGE RCPT MAILDIR LOG: delivers MESSAGE
# to RCPT (output in LOG) and sets $stored to the one message file it added
# to MAILDIR; otherwise reports LABEL as failed and returns 1.
deliver_and_find() {
  local label=$1 transport=$2 message=$3 rcpt=$4 maildir=$5 log=$6 before
  stored=""
  before=$(maildir_files "$maildir")
  if ! deliver "$transport" "$message" "$rcpt" >"$log" 2>&1; then
    fail "$label" "delivery failed: $(tail -n 5 "$log")"
    return 1
  fi
  stored=$(new_file "$before" "$(maildir_files "$maildir")")
  if [[ -z $stored ]]; then
    fail "$label" "expected one new message in $maildir"
    return 1
  fi
}

# maildir_files MAILDIR: every message file of one Maildir folder, sorted.
maildir_files() {
  find "$1/new" "$1/cur" -maxdepth 1 -type f 2>/dev/null | sort || true
}

# new_file BEFORE AFTER: the one line AFTER adds to BEFORE (file lists), or
# nothing if it adds none or several.
new_file() {
  local added
  added=$(comm -13 <(echo "$1") <(echo "$2"))
  [[ -n $added && $added != *$'\n'* ]] && echo "$added"
  return 0
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
