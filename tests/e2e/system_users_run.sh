#!/usr/bin/env bash
# End-to-end test: system users (useradd) on Dovecot's Debian default
# configuration, with the shipped system kit, and gpgseal-server over them.
#
# Usage: tests/e2e/system_users_run.sh BUILD_DIR   (as root; 77 = skip otherwise)
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir for debugging.
#
# What it proves:
# - /etc/dovecot as dovecot-core installs it is copied to a private dir and
#   only what sieve/README.md says is changed (sieve/90-gpgseal.conf with its
#   one setting, the mail domain), plus the private instance's paths
#   (base_dir, state_dir, log, Maildir location, no SSL, LMTP only);
# - over dovecot-lda -d LOGIN (with and without -a) and LMTP RCPT TO the full
#   address, with the shipped gpgseal-before.sieve unedited:
#   a user with a key gets it encrypted; a user without ~/.gnupg (opt-in)
#   gets it as it came, unflagged, with no Error line in Dovecot's log; a
#   broken keyring (mode 0777) stores it unflagged with an Error logged; under
#   LMTP each delivery leaves its one gpgseal line in Dovecot's log;
# - gpgseal-server encrypt over three users, one without a keyring, while
#   LMTP deliveries go on: every stored message decrypts, the keyless user's
#   mail is untouched, one summary, exit 0; a second run changes nothing;
# - gpgseal-server report: a key that expires tomorrow makes it exit 1 and
#   names the date; without that user it exits 0;
# - the README's single-user gpgseal-maildir example, run as root, encrypts
#   with the Maildir owner's ~/.gnupg.
# Output: PASS/FAIL lines and one "N passed, M failed" line.
set -Eeuo pipefail

readonly SCRIPT=system_users_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-240}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DATA=$HERE/data
readonly SENDER=sender@example.net DOMAIN=example.org
logins=()
feeder_pid=""

login_of() { echo "gs$1$$"; }
home_of() { echo "$tmp/home/$1"; }

stop_agents() {
  local name
  for name in alice dave; do
    [[ -d $tmp/client-$name ]] && GNUPGHOME=$tmp/client-$name gpgconf --kill all 2>/dev/null
  done
  return 0
}

extra_teardown() {
  [[ -n $feeder_pid ]] && { kill "$feeder_pid" 2>/dev/null; wait "$feeder_pid" 2>/dev/null; }
  local login
  for login in "${logins[@]}"; do
    pkill -KILL -u "$login" 2>/dev/null   # by uid: only this test's users
    userdel "$login" 2>/dev/null
  done
  return 0
}

# make_system_user NAME: a real Unix account with its home, as an admin adds one.
make_system_user() {
  local login
  login=$(login_of "$1")
  useradd --create-home --home-dir "$(home_of "$1")" --shell /usr/sbin/nologin "$login"
  logins+=("$login")
}

# make_user_key NAME EXPIRY: the secret key in a client keyring, the public
# key imported into ~/.gnupg by the user, as README says.
make_user_key() {
  local name=$1 login address
  login=$(login_of "$name")
  address=$login@$DOMAIN
  mkdir -m 0700 "$tmp/client-$name"
  GNUPGHOME=$tmp/client-$name gpg --batch --quiet --passphrase '' \
    --quick-gen-key "$address" future-default default "$2" </dev/null 2>/dev/null
  GNUPGHOME=$tmp/client-$name gpg --batch --armor --export >"$tmp/$name.pub.asc"
  chmod 0644 "$tmp/$name.pub.asc"
  runuser -u "$login" -- env HOME="$(home_of "$name")" gpg --batch --quiet --no-autostart \
    --import "$tmp/$name.pub.asc" </dev/null 2>/dev/null
}

# Debian's /etc/dovecot, the kit as the README installs it, private paths.
write_config() {
  cp -a /etc/dovecot "$tmp/etc"
  # No certificate on a fresh container; the private instance has no TLS.
  sed -i -e 's/^ssl = yes/ssl = no/' -e 's/^ssl_cert = </#&/' -e 's/^ssl_key = </#&/' \
    "$tmp/etc/conf.d/10-ssl.conf"
  sed -e "s|^  sieve_env_gpgseal_domain = .*|  sieve_env_gpgseal_domain = $DOMAIN|" \
    -e "s|/etc/dovecot/sieve/|$tmp/etc/sieve/|" \
    -e "s|/usr/lib/dovecot/sieve-filter|$tmp/filter-bin|" \
    "$REPO/sieve/90-gpgseal.conf" >"$tmp/etc/conf.d/90-gpgseal.conf"
  cat >"$tmp/etc/local.conf" <<CONF
base_dir = $tmp/run
state_dir = $tmp/state
instance_name = gpgseal-system-$$
protocols = lmtp
log_path = $tmp/dovecot.log
mail_location = maildir:~/Maildir
CONF
  # lib.sh's deliver and start_dovecot read $tmp/dovecot.conf.
  echo "!include $tmp/etc/dovecot.conf" >"$tmp/dovecot.conf"
  install -d -m 0755 "$tmp/etc/sieve"
  install -m 0644 "$REPO/sieve/gpgseal-before.sieve" "$tmp/etc/sieve/"
  sievec -c "$tmp/dovecot.conf" "$tmp/etc/sieve/gpgseal-before.sieve"
  chmod 0644 "$tmp/etc/sieve/"*
}

# --- deliveries ------------------------------------------------------------

# deliver_to HOW NAME: HOW is lda, lda-a (with -a ADDRESS) or lmtp.
deliver_to() {
  local how=$1 login address
  login=$(login_of "$2")
  address=$login@$DOMAIN
  case $how in
    lda) bounded "$LDA" -c "$tmp/dovecot.conf" -d "$login" -f "$SENDER" ;;
    lda-a) bounded "$LDA" -c "$tmp/dovecot.conf" -d "$login" -a "$address" -f "$SENDER" ;;
    lmtp) bounded python3 "$HERE/lmtp_send.py" "$tmp/run/lmtp" "$SENDER" "$address" ;;
  esac
}

# delivery_case HOW NAME EXPECT: EXPECT is encrypted or unchanged; never flagged.
delivery_case() {
  local how=$1 name=$2 expect=$3 label=$1/$2 maildir before stored
  maildir=$(home_of "$name")/Maildir
  before=$(maildir_files "$maildir")
  if ! deliver_to "$how" "$name" <"$DATA/plain-lf.eml" >"$tmp/$how-$name.log" 2>&1; then
    fail "$label" "delivery failed: $(tail -n 5 "$tmp/$how-$name.log")"
    return
  fi
  stored=$(new_file "$before" "$(maildir_files "$maildir")")
  [[ -n $stored ]] || { fail "$label" "no new message in $maildir"; return; }
  if [[ -n $(keywords_of "$stored") ]]; then
    fail "$label" "flagged $(keywords_of "$stored"): $(cat "$tmp/$how-$name.log")"
    return
  fi
  check_verdict "$label" "$expect" "$DATA/plain-lf.eml" "$stored" "$tmp/client-$name"
}

# log_case NAME PATTERN [no-error]: Dovecot's log has a gpgseal line for NAME
# matching PATTERN; with no-error, no Error line names NAME.
log_case() {
  local name=$1 pattern=$2 address
  address=$(login_of "$name")@$DOMAIN
  if ! grep -Eq "gpgseal: message for <$address> $pattern" "$tmp/dovecot.log"; then
    fail "log/$name" "no line 'gpgseal: message for <$address> $pattern' in Dovecot's log"
  elif [[ ${3:-} == no-error ]] && grep -F "$address" "$tmp/dovecot.log" | grep -q 'Error:'; then
    fail "log/$name" "an Error line for $address: $(grep -F "$address" "$tmp/dovecot.log" | grep Error:)"
  else
    pass "log/$name"
  fi
}

run_delivery_cases() {
  local how
  for how in lda lda-a lmtp; do
    delivery_case "$how" alice encrypted
    delivery_case "$how" bob unchanged
    delivery_case "$how" carol unchanged
  done
  log_case alice "encrypted to 0x[0-9A-F]{40}" no-error
  log_case bob "passed through UNENCRYPTED: no keyring directory: .*" no-error
  if grep -F "$(login_of carol)@$DOMAIN" "$tmp/dovecot.log" | grep -q 'Error: .*writable by group or others'; then
    pass log/carol-broken-keyring-is-an-error
  else
    fail log/carol-broken-keyring-is-an-error "no Error line for the broken keyring"
  fi
}

# --- gpgseal-server ------------------------------------------------------------

# plant NAME COUNT [PREFIX]: plaintext messages stored straight into the user's
# Maildir (as before the filter was on), originals kept by base name.
plant() {
  local name=$1 count=$2 prefix=${3:-1700000} n base new
  new=$(home_of "$name")/Maildir/new
  runuser -u "$(login_of "$name")" -- mkdir -p -m 0700 "$new" "${new%/new}/cur" "${new%/new}/tmp"
  for ((n = 1; n <= count; n++)); do
    base=$prefix$n.M$n.planted-$name-$n.example
    sed "s/^Subject: .*/Subject: stored $name $n/" "$DATA/multipart-attachment.eml" \
      >"$tmp/originals/$base"
    runuser -u "$(login_of "$name")" -- cp "$tmp/originals/$base" "$new/$base"
  done
}

# Keeps LMTP deliveries going while the batch runs.
feed() {
  while [[ ! -e $tmp/stop-feeding ]]; do
    python3 "$HERE/lmtp_send.py" "$tmp/run/lmtp" "$SENDER" \
      "$(login_of alice)@$DOMAIN" "$(login_of dave)@$DOMAIN" \
      <"$DATA/plain-lf.eml" >/dev/null 2>&1 || true
    sleep 0.2
  done
}

# check_planted NAME EXPECT [PREFIX]: every planted message of NAME is
# stored EXPECT (encrypted, or unchanged).
check_planted() {
  local name=$1 expect=$2 prefix=${3:-1700000} file base problems="" count=0
  for file in $(find "$(home_of "$name")"/Maildir/{new,cur} -name "$prefix*"); do
    base=$(basename "$file"); base=${base%%[,:]*}
    count=$((count + 1))
    local keyring=()
    [[ $expect == encrypted ]] && keyring=("$tmp/client-$name")
    python3 "$HERE/check_stored.py" "$expect" "$tmp/originals/$base" "$file" \
      "${keyring[@]}" >/dev/null 2>&1 || problems+="$base "
  done
  if [[ $count -ne 5 || -n $problems ]]; then
    fail "planted-$prefix-$name-$expect" "$count planted files; not $expect: $problems"
  else
    pass "planted-$prefix-$name-$expect"
  fi
}

run_server_cases() {
  local server=$BUILD/gpgseal-server out status=0
  mkdir -m 0755 "$tmp/originals"
  plant alice 5; plant bob 5; plant dave 5
  feed & feeder_pid=$!
  out=$tmp/server-encrypt.out
  bounded "$server" encrypt --domain "$DOMAIN" --progress always \
    "$(login_of alice)" "$(login_of bob)" "$(login_of dave)" >"$out" 2>"$tmp/server.err" || status=$?
  touch "$tmp/stop-feeding"; wait "$feeder_pid" || true; feeder_pid=""
  if [[ $status -eq 0 ]] && grep -q '^users: 3; done: 2, skipped (no keyring or key): 1, failed: 0$' "$out" &&
     grep -q 'messages: .* 0 failed$' "$out"; then
    pass server/encrypt-summary
  else
    fail server/encrypt-summary "exit $status: $(cat "$out" "$tmp/server.err")"
  fi
  grep -q "$(login_of bob) .*skipped: no keyring directory" "$out" && pass server/keyless-skipped ||
    fail server/keyless-skipped "$(cat "$out")"
  check_planted alice encrypted; check_planted dave encrypted; check_planted bob unchanged
  status=0
  bounded "$server" encrypt --domain "$DOMAIN" --progress never \
    "$(login_of alice)" "$(login_of bob)" "$(login_of dave)" >"$out" 2>&1 || status=$?
  if [[ $status -eq 0 ]] && grep -q 'messages: .* 0 encrypted, ' "$out"; then
    pass server/second-run-changes-nothing
  else
    fail server/second-run-changes-nothing "exit $status: $(cat "$out")"
  fi
}

# The README's single-user example, as root with root's environment: it
# works as the Maildir's owner with the owner's ~/.gnupg.
run_maildir_as_root_case() {
  local status=0
  plant dave 5 1800000
  env -u GNUPGHOME HOME=/root "$BUILD/gpgseal-maildir" "$(home_of dave)/Maildir" \
    "$(login_of dave)@$DOMAIN" >"$tmp/maildir-root.out" 2>&1 || status=$?
  if [[ $status -eq 0 ]]; then
    check_planted dave encrypted 1800000
  else
    fail maildir-as-root "exit $status: $(cat "$tmp/maildir-root.out")"
  fi
}

run_report_cases() {
  local server=$BUILD/gpgseal-server out=$tmp/report.out status=0 tomorrow
  tomorrow=$(date -u -d tomorrow +%F)
  bounded "$server" report --domain "$DOMAIN" --warn-days 7 \
    "$(login_of alice)" "$(login_of bob)" "$(login_of dave)" >"$out" 2>&1 || status=$?
  if [[ $status -eq 1 ]] &&
     grep -q "^$(login_of dave) <.*>: WARNING: key expires soon: encrypted to 0x[0-9A-F]*, expires $tomorrow" "$out" &&
     grep -q "^$(login_of alice) <.*>: encrypted to 0x[0-9A-F]*, does not expire" "$out" &&
     grep -q "^$(login_of bob) <.*>: not encrypted: no keyring directory" "$out"; then
    pass report/expires-tomorrow
  else
    fail report/expires-tomorrow "exit $status: $(cat "$out")"
  fi
  status=0
  bounded "$server" report --domain "$DOMAIN" --warn-days 7 \
    "$(login_of alice)" "$(login_of bob)" >"$out" 2>&1 || status=$?
  [[ $status -eq 0 ]] && pass report/nothing-to-attend || fail report/nothing-to-attend "exit $status: $(cat "$out")"
}

main() {
  start_run BUILD_DIR/gpgseal "$@"
  BUILD=$(dirname "$(realpath "$1")")
  make_tmp gpgseal-system-e2e
  mkdir -m 0755 "$tmp/home"
  local name
  for name in alice bob carol dave; do make_system_user "$name"; done
  e2e_user=$(login_of alice)   # lib.sh checks reachability as this user
  make_user_key alice never
  make_user_key dave 1d
  # carol's keyring exists but anyone could plant keys in it.
  install -d -m 0777 -o "$(login_of carol)" "$(home_of carol)/.gnupg"
  chmod 0777 "$(home_of carol)/.gnupg"
  install_filter "$1"
  write_config
  start_dovecot
  run_delivery_cases
  run_server_cases
  run_maildir_as_root_case
  run_report_cases
  stop_dovecot
  finish_run
}

main "$@"
