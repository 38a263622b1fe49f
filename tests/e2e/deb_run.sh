#!/usr/bin/env bash
# End-to-end test of the Debian package, on this machine, as README.md and
# sieve/README.md tell an admin to use it.
#
# Usage: tests/e2e/deb_run.sh BUILD_DEB_SCRIPT  (scripts/build-deb.sh; as root,
#        77 = skip otherwise)
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 1200 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir (logs, mails) for debugging.
#
# What it proves:
# - `bash scripts/build-deb.sh`, run from the top of the tree, builds
#   build-deb/gpgseal_*.deb, and lintian reports no error and no warning on
#   it but initial-upload-closes-no-bugs;
# - `apt-get install ./build-deb/gpgseal_*.deb` installs it, with both
#   programs in /usr/bin, both man pages, README.md and SECURITY.md in
#   /usr/share/doc/gpgseal and the Sieve kit in its examples/;
# - the steps of sieve/README.md work with the installed files only: the
#   filter linked from /usr/bin/gpgseal, the installed 90-gpgseal.conf
#   included (only its paths overridden), the installed gpgseal-before.sieve
#   compiled with sievec; `doveconf -n` shows the plugin settings and
#   `doveadm reload` keeps Dovecot delivering; mail delivered through
#   dovecot-lda and LMTP is stored encrypted, and the user's secret key
#   decrypts it to the original;
# - /usr/bin/gpgseal-maildir encrypts a message already stored, which then
#   decrypts to the original;
# - `apt-get remove gpgseal` removes both programs and the man pages.
# A machine that already has gpgseal installed is left alone (FAIL). The
# EXIT trap purges the package whenever this run installed it, then stops
# Dovecot and gpg-agents and removes the throwaway user and directory.
# Needs what run.sh needs, and dpkg-dev, debhelper, lintian and the build
# dependencies (scripts/install-deps.sh).
set -Eeuo pipefail

readonly SCRIPT=deb_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-1200}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DATA=$HERE/data
readonly SENDER=sender@example.org
readonly ALICE=alice@example.org
readonly DOC=/usr/share/doc/gpgseal
# The kit compile_sieve takes the Sieve scripts from: the installed one.
readonly KIT=$DOC/examples
# dpkg and apt wait this long for another dpkg run on the machine to end.
readonly APT=(apt-get -y -q -o DPkg::Lock::Timeout=120)

installed_here=""

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client-gnupg"
  kill_agents user "$tmp/home/alice/.gnupg"
}

# The machine is left without the package, whatever happened.
purge_package() {
  [[ -n $installed_here ]] || return 0
  if dpkg-query -W gpgseal >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge gpgseal >/dev/null 2>&1 ||
      dpkg --purge gpgseal >/dev/null 2>&1 || true
  fi
  installed_here=""
}

extra_teardown() { purge_package; }

# check NAME COMMAND...: PASS if COMMAND succeeds, else FAIL with its output.
check() {
  local name=$1 why; shift
  if why=$("$@" 2>&1); then pass "$name"; else fail "$name" "$why"; fi
}

# --- the package -----------------------------------------------------------

not_installed_yet() {
  local status
  status=$(dpkg-query -W -f='${Status}' gpgseal 2>/dev/null || true)
  if [[ -n $status && $status != *not-installed* ]] || [[ -e /usr/bin/gpgseal ]]; then
    echo "gpgseal is already on this machine (dpkg: '$status'); this test" \
      "installs and removes the package, so it leaves that one alone"
    return 1
  fi
}

# The README's command, as written, from the top of the tree.
build_package() {
  local start=$EPOCHSECONDS
  if ! (cd "$REPO" && bash scripts/build-deb.sh) >"$tmp/build-deb.log" 2>&1; then
    fail deb/build "scripts/build-deb.sh failed: $(tail -n 20 "$tmp/build-deb.log")"
    return 1
  fi
  pass "deb/build ($((EPOCHSECONDS - start)) s)"
}

# No E: or W: tag. initial-upload-closes-no-bugs says that the first
# changelog entry closes no ITP bug: there is none to close.
run_lintian() {
  if (cd "$REPO" && lintian --fail-on error,warning \
        --suppress-tags initial-upload-closes-no-bugs build-deb/gpgseal_*.changes) \
       >"$tmp/lintian.log" 2>&1; then
    pass deb/lintian
  else
    fail deb/lintian "$(grep -v '^running with root' "$tmp/lintian.log" | paste -sd ';')"
  fi
}

install_package() {
  installed_here=1
  if ! (cd "$REPO" && DEBIAN_FRONTEND=noninteractive \
          "${APT[@]}" install ./build-deb/gpgseal_*.deb) >"$tmp/install.log" 2>&1; then
    fail deb/install "$(tail -n 20 "$tmp/install.log")"
    return 1
  fi
  pass deb/install
}

installed_files() {
  local file
  for file in /usr/bin/gpgseal /usr/bin/gpgseal-maildir; do
    [[ -x $file ]] || { echo "$file: not an executable"; return 1; }
  done
  [[ $(man -w gpgseal) == /usr/share/man/man1/gpgseal.1.gz ]] ||
    { echo "man -w gpgseal: $(man -w gpgseal 2>&1)"; return 1; }
  [[ $(man -w gpgseal-maildir) == /usr/share/man/man1/gpgseal-maildir.1.gz ]] ||
    { echo "man -w gpgseal-maildir: $(man -w gpgseal-maildir 2>&1)"; return 1; }
  zcmp "$DOC/README.md.gz" "$REPO/README.md" || return 1
  zcmp "$DOC/SECURITY.md.gz" "$REPO/docs/SECURITY.md" || return 1
  for file in "$REPO"/sieve/*; do
    cmp "$file" "$KIT/$(basename "$file")" || return 1
  done
  /usr/bin/gpgseal --version | grep -q '^gpgseal ' ||
    { echo "gpgseal --version: $(/usr/bin/gpgseal --version 2>&1)"; return 1; }
}

# `apt-get remove gpgseal`, as the README says; the trap purges what is left.
remove_package() {
  if ! DEBIAN_FRONTEND=noninteractive "${APT[@]}" remove gpgseal \
         >"$tmp/remove.log" 2>&1; then
    fail deb/remove "$(tail -n 20 "$tmp/remove.log")"
    return
  fi
  local left
  left=$(ls -d /usr/bin/gpgseal /usr/bin/gpgseal-maildir \
           /usr/share/man/man1/gpgseal.1.gz "$KIT" 2>/dev/null || true)
  if [[ -n $left ]]; then
    fail deb/remove "still there: $(paste -sd ' ' <<<"$left")"
  else
    pass deb/remove
  fi
  purge_package
}

# --- sieve/README.md with the installed files ------------------------------

# Alice's keyring is ~/.gnupg (the system-user snippet's %h/.gnupg); her
# secret key stays in the client keyring.
make_alice() {
  make_key "$tmp/client-gnupg" "Alice <$ALICE>" "$tmp/alice.pub.asc"
  make_dirs "$tmp/home/alice" "$tmp/home/alice/.gnupg"
  import_key "$tmp/home/alice/.gnupg" "$tmp/alice.pub.asc"
  user_line "$ALICE" "$tmp/home/alice" >"$tmp/users"
}

# Step 4: doveconf shows the snippet's settings, and a reload keeps Dovecot up.
check_config_and_reload() {
  local plugin
  plugin=$(doveconf -c "$tmp/dovecot.conf" -n | grep -A12 '^plugin')
  if ! grep -q 'sieve_plugins = sieve_extprograms' <<<"$plugin" ||
     ! grep -q "sieve_filter_bin_dir = $tmp/filter-bin" <<<"$plugin"; then
    echo "doveconf -n: $plugin"
    return 1
  fi
  doveadm -c "$tmp/dovecot.conf" reload
}

# deliver_encrypted TRANSPORT MESSAGE: stored for Alice encrypted, and her
# secret key decrypts it to MESSAGE.
deliver_encrypted() {
  local transport=$1 message=$2 label before stored why
  label=$transport/$(basename "$message" .eml)
  before=$(maildir_files "$tmp/home/alice/Maildir")
  if ! deliver "$transport" "$message" "$ALICE" >"$tmp/deliver.log" 2>&1; then
    fail "$label" "delivery failed: $(tail -n 5 "$tmp/deliver.log")"
    return
  fi
  stored=$(new_file "$before" "$(maildir_files "$tmp/home/alice/Maildir")")
  if [[ -z $stored ]]; then
    fail "$label" "no one new message in $tmp/home/alice/Maildir"
  elif why=$(python3 "$HERE/check_stored.py" encrypted "$message" "$stored" \
               "$tmp/client-gnupg"); then
    pass "$label"
  else
    fail "$label" "$why"
  fi
}

# A message stored before the filter was on, encrypted by the installed
# gpgseal-maildir run as the mail user.
case_maildir() {
  local old=$tmp/home/alice/Old message=$DATA/multipart-attachment.eml stored why
  make_dirs "$old" "$old/cur" "$old/new" "$old/tmp"
  install -m 0600 -o "$e2e_user" -g "$e2e_user" "$message" \
    "$old/cur/1700000000.M1P1.host,S=$(stat -c %s "$message"):2,S"
  if ! bounded runuser -u "$e2e_user" -- env HOME="$tmp/home/alice" \
         /usr/bin/gpgseal-maildir "$old" "$ALICE" >"$tmp/maildir.log" 2>&1; then
    fail maildir "gpgseal-maildir failed: $(tail -n 5 "$tmp/maildir.log")"
    return
  fi
  stored=$(maildir_files "$old")
  if [[ -z $stored || $stored == *$'\n'* ]]; then
    fail maildir "want one message in $old, have: $stored"
  elif why=$(python3 "$HERE/check_stored.py" encrypted "$message" "$stored" \
               "$tmp/client-gnupg"); then
    pass maildir
  else
    fail maildir "$why"
  fi
}

main() {
  start_run BUILD_DEB_SCRIPT "$@"
  make_tmp gpgseal-deb-e2e
  : >"$tmp/dovecot.log"   # finish_run shows it on failure, even before Dovecot
  local why
  if ! why=$(not_installed_yet); then
    fail deb/not-installed-before "$why"
    finish_run
  fi
  build_package || finish_run
  run_lintian
  install_package || finish_run
  check deb/installed-files installed_files
  install -d -m 0755 "$tmp/home"
  make_user gpgseal-deb "$tmp/home"
  make_alice
  install_filter /usr/bin/gpgseal
  write_system_config gpgseal-deb
  compile_sieve gpgseal-before.sieve
  start_dovecot
  check dovecot/config-and-reload check_config_and_reload
  local transport
  for transport in lda lmtp; do
    deliver_encrypted "$transport" "$DATA/plain-lf.eml"
    deliver_encrypted "$transport" "$DATA/multipart-attachment.eml"
  done
  case_maildir
  check_no_leftovers
  remove_package
  finish_run
}

main "$@"
